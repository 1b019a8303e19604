//! The `lyceum` binary: a thin CLI ([`cli`]) over the library. With no subcommand it opens the
//! desktop app on the embedded default (the demo plant, no server needed).

mod cli;

fn main() -> anyhow::Result<()> {
    cli::main()
}
