//! `--url`, `--user`, … shared by every command that talks to ClickHouse, and passwords from
//! the keychain or standard input.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use clap::Args;
use lyceum::secrets::{self, Password};
use lyceum::source::clickhouse::connection::CompressionChoice;
use lyceum::source::clickhouse::{Connection, ConnectionProfile};

#[derive(Args, Clone, Debug)]
pub(crate) struct ConnectArgs {
    /// Server URL, e.g. http://localhost:8123 or https://host:8443.
    #[arg(long, env = "LYCEUM_URL")]
    pub(crate) url: String,
    #[arg(long, default_value = "default", env = "LYCEUM_USER")]
    pub(crate) user: String,
    /// The database to work in (default: lyceum_demo, where `seed` puts the demo plant).
    #[arg(long)]
    pub(crate) database: Option<String>,
    /// Read the password from standard input instead of the keychain.
    #[arg(long)]
    pub(crate) password_stdin: bool,
    #[arg(long, default_value_t = 10.0)]
    pub(crate) connect_timeout_secs: f64,
    #[arg(long, default_value_t = 600.0)]
    pub(crate) query_timeout_secs: f64,
    /// PEM file of the certificate authority that signed the server's HTTPS certificate
    /// (a plant's own CA), trusted besides the public roots.
    #[arg(long, env = "LYCEUM_CA_FILE")]
    pub(crate) ca_file: Option<std::path::PathBuf>,
    /// LZ4 on the wire: auto (off for loopback and LAN addresses), off, or lz4.
    #[arg(long, value_enum, default_value_t = Compression::Auto)]
    pub(crate) compression: Compression,
}

/// `--compression`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Compression {
    Auto,
    Off,
    Lz4,
}

impl From<Compression> for CompressionChoice {
    fn from(choice: Compression) -> Self {
        match choice {
            Compression::Auto => Self::Auto,
            Compression::Off => Self::Off,
            Compression::Lz4 => Self::Lz4,
        }
    }
}

pub(crate) fn read_password_from_stdin() -> anyhow::Result<Password> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(Password::new(line.trim_end_matches(['\r', '\n'])))
}

/// The database when `--database` is not given.
pub(crate) const DEFAULT_DATABASE: &str = "lyceum_demo";

impl ConnectArgs {
    pub(crate) fn database(&self) -> &str {
        self.database.as_deref().unwrap_or(DEFAULT_DATABASE)
    }

    pub(crate) fn profile(&self) -> ConnectionProfile {
        ConnectionProfile {
            connect_timeout_secs: self.connect_timeout_secs,
            query_timeout_secs: self.query_timeout_secs,
            ca_file: self.ca_file.clone(),
            compression: self.compression.into(),
            ..ConnectionProfile::new(&self.url, self.database(), &self.user)
        }
    }

    pub(crate) async fn connect(&self) -> anyhow::Result<Connection> {
        let profile = self.profile();
        let password = if self.password_stdin {
            Some(read_password_from_stdin()?)
        } else {
            match secrets::use_platform_store()
                .and_then(|_store| secrets::load_password(&profile.keychain_account()))
            {
                Ok(password) => password,
                Err(e) => {
                    eprintln!("note: {e}; connecting without a password");
                    None
                }
            }
        };
        Ok(Connection::open(profile, password).await?)
    }
}
