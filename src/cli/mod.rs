//! The CLI (clap): argument types, one module per command, each a thin layer over the library.
//! No subcommand opens the app.

#[cfg(feature = "bench")]
mod bench;
mod connect;
mod control;
mod dataset;
mod demo;
mod fetch;
mod output;
mod quality;
mod render;
mod server;

use clap::{Parser, Subcommand};
use lyceum::source::demo::PlantConfig;

use connect::ConnectArgs;

#[derive(Parser, Debug)]
#[command(
    name = "lyceum",
    version,
    about = "Analytics workstation for manufacturing curves in ClickHouse"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    /// The window's curve renderer: `auto` (the CPU on a software adapter, else the GPU),
    /// `gpu` (the compute pipeline, where the driver runs it; else the CPU) or `cpu` (the
    /// same pixels, drawn on the CPU). Default: as last chosen in View, else `auto`.
    #[arg(long, value_enum)]
    pub(crate) renderer: Option<WindowRenderer>,
}

/// `--renderer` for the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum WindowRenderer {
    Auto,
    Gpu,
    Cpu,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Summarise the embedded demo plant (the default when no subcommand is given).
    Demo(demo::DemoArgs),
    /// Show the server's version and the features Lyceum will use.
    Caps(ConnectArgs),
    /// Store the password for --url/--user in the OS keychain (read from standard input).
    Login(ConnectArgs),
    /// Remove the stored password for --url/--user from the OS keychain.
    Logout(ConnectArgs),
    /// List databases, the tables of --database, or the columns of --table.
    Schema(server::SchemaArgs),
    /// Create the manufacturing schema and load the demo plant into it.
    Seed(server::SeedArgs),
    /// Import a CSV file (long or wide format) into a table.
    Import(server::ImportArgs),
    /// Run one SQL statement (read-only unless --allow-changes) and print the result, or
    /// write it to a CSV / Parquet file.
    Sql(server::SqlArgs),
    /// Fetch curves into the columnar store and report counts and speed.
    Fetch(fetch::FetchArgs),
    /// Draw curves into a PNG (the demo plant, a dataset or ClickHouse): a whole plot on the
    /// GPU (any wgpu adapter, lavapipe without a GPU), or the curves alone on the CPU.
    Render(render::RenderArgs),
    /// Teach a reference and its envelope from curves (a dataset or the demo plant) and write
    /// them as CSV or JSON.
    Reference(quality::ReferenceArgs),
    /// Judge curves by a recipe (JSON): a verdict per curve as CSV, the yield on stdout.
    Evaluate(quality::EvaluateArgs),
    /// The control plane: serve it, or manage clusters through it.
    #[command(subcommand)]
    Control(control::ControlCommand),
    /// Offline datasets: save, import, inspect, verify, export.
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
    /// Benchmark the curve engine and print a table (each case beside its baseline).
    #[cfg(feature = "bench")]
    Bench(bench::BenchArgs),
}

pub(crate) fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        None => {
            // The window has no terminal: its log goes to a daily file in the data folder.
            let logs = lyceum::control::embedded::default_data_dir().join("logs");
            let _guard = init_file_log(&logs);
            open_app(cli.renderer)
        }
        Some(command) => {
            init_stderr_log();
            runtime.block_on(run(command))
        }
    }
}

/// The `RUST_LOG` filter, or `default` (e.g. `warn`).
pub(crate) fn log_filter(default: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
}

/// Commands log to stderr.
pub(crate) fn init_stderr_log() {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter("warn"))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// The app logs to `dir/lyceum.log.YYYY-MM-DD` (a week kept); where the folder cannot be
/// made, to stderr. The guard flushes the file when dropped.
pub(crate) fn init_file_log(
    dir: &std::path::Path,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    // The appender prunes old files before it creates the folder: make it first.
    let appender = std::fs::create_dir_all(dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("lyceum.log")
                .max_log_files(7)
                .build(dir)
                .map_err(|e| e.to_string())
        });
    match appender {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            tracing_subscriber::fmt()
                .with_env_filter(log_filter("info"))
                .with_writer(writer)
                .with_ansi(false)
                .init();
            tracing::info!("Lyceum {} started", env!("CARGO_PKG_VERSION"));
            Some(guard)
        }
        Err(e) => {
            init_stderr_log();
            tracing::warn!(folder = %dir.display(), error = %e, "no log file; logging to stderr");
            None
        }
    }
}

/// The desktop window on the embedded demo plant (no server needed).
pub(crate) fn open_app(renderer: Option<WindowRenderer>) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Lyceum")
            .with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Lyceum",
        options,
        Box::new(move |creation| {
            let app = lyceum::app::LyceumApp::new(
                creation,
                PlantConfig::default(),
                lyceum::control::embedded::default_data_dir(),
            );
            use lyceum::app::CurveRenderer;
            Ok(Box::new(match renderer {
                None => app,
                Some(WindowRenderer::Auto) => app.with_curve_renderer(CurveRenderer::Automatic),
                Some(WindowRenderer::Gpu) => app.with_curve_renderer(CurveRenderer::Gpu),
                Some(WindowRenderer::Cpu) => app.with_curve_renderer(CurveRenderer::Cpu),
            }))
        }),
    )
    .map_err(|e| {
        let message = match e {
            // No adapter, or none that can present to the window: say what would. A
            // backend forced by `WGPU_BACKEND` is the likelier cause where it is set.
            eframe::Error::Wgpu(e) => {
                let install = std::env::var("WGPU_BACKEND").map_or_else(
                    |_| "Install one".to_owned(),
                    |backend| {
                        format!(
                            "WGPU_BACKEND={backend} allows that backend only: unset it to let \
                             Lyceum try every driver, or install one"
                        )
                    },
                );
                format!(
                    "no graphics driver can show the Lyceum window. {install}: on Linux Mesa's \
                     software Vulkan (`mesa-vulkan-drivers`, lavapipe) or its OpenGL (`libegl1 \
                     libgl1-mesa-dri`); without a GPU the app then draws its curves on the CPU. \
                     Without a window, `lyceum render --out curves.png` draws the demo plant to \
                     a PNG and `lyceum demo` summarises it. (wgpu: {e})"
                )
            }
            e => format!(
                "cannot open the Lyceum window: {e} (headless? try `lyceum demo` or `lyceum render`)"
            ),
        };
        tracing::error!("{message}");
        anyhow::anyhow!(message)
    })
}

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => demo::demo(&args.plant),
        Command::Caps(args) => server::caps(&args).await,
        Command::Login(args) => server::login(&args).await,
        Command::Logout(args) => server::logout(&args),
        Command::Schema(args) => server::schema(args).await,
        Command::Seed(args) => server::seed(args).await,
        Command::Sql(args) => server::sql(args).await,
        Command::Import(args) => server::import(args).await,
        Command::Fetch(args) => fetch::fetch(args).await,
        Command::Render(args) => render::render(&args).await,
        Command::Reference(args) => quality::reference(&args),
        Command::Evaluate(args) => quality::evaluate(&args).await,
        Command::Dataset(command) => dataset::dataset_command(command).await,
        Command::Control(command) => control::control_command(command).await,
        #[cfg(feature = "bench")]
        Command::Bench(args) => bench::bench(args),
    }
}
