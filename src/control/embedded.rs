//! Embedded mode: the app runs the control-plane server in-process on a local SQLite file, for
//! a single user — the default when no remote control plane is configured. The process already
//! owns the database file, so instead of a password it mints a session for the local owner
//! directly in the store ([`super::server::local_session`]); nothing secret is kept anywhere.

use std::path::PathBuf;

use super::client::ControlClient;
use super::server::{
    ControlError, RunningServer, ServerConfig, local_session, provider::LocalProvider, spawn,
};

/// The local single user's account name.
pub const LOCAL_USER: &str = "local";

/// A control plane running inside this process (stopped when dropped).
#[derive(Debug)]
pub struct Embedded {
    pub server: RunningServer,
    pub client: ControlClient,
    pub db_path: PathBuf,
}

impl Embedded {
    /// Start on a free loopback port with the database under `data_dir` (must run inside a
    /// tokio runtime).
    pub async fn start(data_dir: PathBuf) -> Result<Self, ControlError> {
        let config = ServerConfig {
            db_path: data_dir.join("control.db"),
            clusters_dir: data_dir.join("clusters"),
            clickhouse_binary: LocalProvider::find_binary(),
            tls: None,
        };
        let token = local_session(&config, LOCAL_USER)?;
        let server = spawn(([127, 0, 0, 1], 0).into(), &config).await?;
        let client = ControlClient::new(format!("http://{}", server.addr)).with_token(token);
        Ok(Self {
            server,
            client,
            db_path: config.db_path,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }
}

/// Where the app keeps its local data: `$XDG_DATA_HOME/lyceum` or `~/.local/share/lyceum`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("lyceum")
}
