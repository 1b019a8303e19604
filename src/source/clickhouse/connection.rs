//! [`ConnectionProfile`] (where and who, never the password) and [`Connection`] (a live
//! client plus the server's detected [`Capabilities`]).
//!
//! Every request goes through [`Connection::run`], which applies the profile's timeout,
//! honours a [`CancellationToken`], and on either one asks the server to `KILL QUERY` by id so
//! an abandoned query stops using the server too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::capabilities::{Capabilities, POLICIES_SQL, PROBE_SQL, ProbeRow};
use super::error::{ClickHouseError, Result};
use crate::secrets::{self, Password};

/// Where to connect and as whom. Safe to save and to show: it holds no secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionProfile {
    /// A name for people (`plant-a production`).
    pub name: String,
    /// `http://host:8123` or `https://host:8443`.
    pub url: String,
    /// The database Lyceum works in. Every query names it explicitly rather than sending it
    /// as the session default, so seeding and import can create it.
    pub database: String,
    pub user: String,
    /// Limit for connecting and for small metadata queries.
    pub connect_timeout_secs: f64,
    /// Limit for one whole query, streaming included.
    pub query_timeout_secs: f64,
    /// A PEM file of the certificate authority that signed an HTTPS server's certificate
    /// (a plant's own CA), trusted besides the public roots.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Whether answers travel compressed.
    #[serde(default)]
    pub compression: CompressionChoice,
}

/// Whether a connection's answers travel LZ4-compressed. Compressing costs both ends CPU and
/// pays only where the network is slower than that: off on loopback and LAN, on elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompressionChoice {
    /// Off for loopback and private (LAN) addresses, LZ4 for any other host.
    #[default]
    Auto,
    Off,
    Lz4,
}

impl CompressionChoice {
    pub const ALL: [Self; 3] = [Self::Auto, Self::Off, Self::Lz4];

    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto (off on LAN)",
            Self::Off => "off",
            Self::Lz4 => "LZ4",
        }
    }

    /// Whether answers from `host` are compressed.
    pub fn compresses(self, host: Option<url::Host<&str>>) -> bool {
        match self {
            Self::Off => false,
            Self::Lz4 => true,
            Self::Auto => !host.is_some_and(is_local_host),
        }
    }
}

/// Loopback, private (RFC 1918, unique-local, link-local) addresses and `localhost` / `.local`
/// names: a LAN, where compression costs more than it saves.
fn is_local_host(host: url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => {
            let name = name.to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local")
        }
        url::Host::Ipv4(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        url::Host::Ipv6(ip) => {
            ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local()
        }
    }
}

impl ConnectionProfile {
    /// A profile with default timeouts (10 s to connect, 300 s per query).
    pub fn new(
        url: impl Into<String>,
        database: impl Into<String>,
        user: impl Into<String>,
    ) -> Self {
        let url = url.into();
        Self {
            name: url.clone(),
            url,
            database: database.into(),
            user: user.into(),
            connect_timeout_secs: 10.0,
            query_timeout_secs: 300.0,
            ca_file: None,
            compression: CompressionChoice::Auto,
        }
    }

    /// Check the URL and names before any network traffic.
    pub fn validate(&self) -> Result<url::Url> {
        if !self.url.contains("://") {
            return Err(ClickHouseError::InvalidProfile(format!(
                "URL `{}` has no scheme: write http://{} (or https:// for TLS)",
                self.url, self.url
            )));
        }
        let parsed = url::Url::parse(&self.url)
            .map_err(|e| ClickHouseError::InvalidProfile(format!("URL `{}`: {e}", self.url)))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ClickHouseError::InvalidProfile(format!(
                "URL `{}` must start with http:// or https://",
                self.url
            )));
        }
        if parsed.password().is_some() {
            return Err(ClickHouseError::InvalidProfile(
                "the URL holds a password; store it in the keychain with `lyceum login` instead"
                    .to_owned(),
            ));
        }
        if self.user.is_empty() {
            return Err(ClickHouseError::InvalidProfile(
                "the user name is empty".to_owned(),
            ));
        }
        for (what, value) in [
            ("connect", self.connect_timeout_secs),
            ("query", self.query_timeout_secs),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ClickHouseError::InvalidProfile(format!(
                    "the {what} timeout must be a positive number of seconds, not {value}"
                )));
            }
        }
        Ok(parsed)
    }

    /// The keychain account under which this profile's password is stored: `user@host:port`.
    pub fn keychain_account(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(u) => format!(
                "{}@{}:{}",
                self.user,
                u.host_str().unwrap_or_default(),
                u.port_or_known_default().unwrap_or_default()
            ),
            Err(_) => format!("{}@{}", self.user, self.url),
        }
    }

    fn connect_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.connect_timeout_secs)
    }

    fn query_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.query_timeout_secs)
    }
}

/// A connection to one server: the profile, a configured client and the capabilities.
#[derive(Clone, Debug)]
pub struct Connection {
    profile: ConnectionProfile,
    client: clickhouse::Client,
    capabilities: Capabilities,
}

/// How long a request may take: metadata (connect timeout) or data (query timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    Metadata,
    Data,
}

static QUERY_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh query id, so a running query can be found and killed on the server.
pub fn new_query_id() -> String {
    format!(
        "lyceum-{}-{}",
        std::process::id(),
        QUERY_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Connection {
    /// Connect with the password stored in the OS keychain for this profile (none: no password).
    pub async fn open_with_keychain(profile: ConnectionProfile) -> Result<Self> {
        let password = secrets::load_password(&profile.keychain_account())?;
        Self::open(profile, password).await
    }

    /// Connect, authenticate and detect the server's capabilities.
    pub async fn open(profile: ConnectionProfile, password: Option<Password>) -> Result<Self> {
        let url = profile.validate()?;
        let compression = if profile.compression.compresses(url.host()) {
            clickhouse::Compression::Lz4
        } else {
            clickhouse::Compression::None
        };
        let client = match &profile.ca_file {
            Some(ca_file) => super::tls::client_with_ca(ca_file)?,
            None => clickhouse::Client::default(),
        };
        let mut client = client
            .with_url(profile.url.as_str())
            .with_user(profile.user.as_str())
            .with_compression(compression)
            .with_validation(false);
        if let Some(password) = &password {
            client = client.with_password(password.expose());
        }
        let mut connection = Self {
            profile,
            client,
            capabilities: Capabilities::baseline(super::capabilities::ServerVersion {
                major: 0,
                minor: 0,
                patch: 0,
            }),
        };
        connection.capabilities = connection.detect_capabilities().await?;
        if connection.capabilities.row_binary_with_names_and_types {
            connection.client = connection.client.with_validation(true);
        }
        Ok(connection)
    }

    pub fn profile(&self) -> &ConnectionProfile {
        &self.profile
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The underlying client, for building queries; run them through [`Self::run`].
    pub fn client(&self) -> &clickhouse::Client {
        &self.client
    }

    /// A query with a fresh query id; returns the id too, for [`Self::run`].
    pub fn query(&self, sql: &str) -> (clickhouse::query::Query, String) {
        let id = new_query_id();
        (
            self.client.query(sql).with_setting("query_id", id.as_str()),
            id,
        )
    }

    pub(crate) fn map_error(&self, error: clickhouse::error::Error) -> ClickHouseError {
        ClickHouseError::from_client(error, &self.profile.url, &self.profile.user)
    }

    /// Run `work` under the budget's timeout and `cancel`; on timeout or cancellation the
    /// server is asked to kill `query_id` (best effort, in the background).
    pub async fn run<T>(
        &self,
        budget: Budget,
        query_id: Option<&str>,
        cancel: Option<&CancellationToken>,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let timeout = match budget {
            Budget::Metadata => self.profile.connect_timeout(),
            Budget::Data => self.profile.query_timeout(),
        };
        let never = CancellationToken::new();
        let cancel = cancel.unwrap_or(&never);
        let outcome = tokio::select! {
            result = tokio::time::timeout(timeout, work) => match result {
                Ok(inner) => return inner,
                Err(_) => ClickHouseError::Timeout { timeout },
            },
            () = cancel.cancelled() => ClickHouseError::Cancelled,
        };
        if let Some(id) = query_id {
            self.kill_in_background(id.to_owned());
        }
        Err(outcome)
    }

    fn kill_in_background(&self, query_id: String) {
        let client = self.client.clone();
        let timeout = self.profile.connect_timeout();
        tokio::spawn(async move {
            let kill = client
                .query("KILL QUERY WHERE query_id = ? ASYNC")
                .bind(query_id.as_str())
                .execute();
            // The query may have ended already; the server then has nothing to kill.
            match tokio::time::timeout(timeout, kill).await {
                Ok(Ok(())) => tracing::debug!(%query_id, "abandoned query killed"),
                Ok(Err(error)) => {
                    tracing::warn!(%query_id, %error, "KILL QUERY for an abandoned query failed");
                }
                Err(_) => tracing::warn!(%query_id, "KILL QUERY for an abandoned query timed out"),
            }
        });
    }

    /// Run a statement with bound values that returns no rows, with room for long literals
    /// (a recipe's envelope limits).
    pub(super) async fn execute_bound(&self, sql: &super::plan::BoundSql) -> Result<()> {
        let id = new_query_id();
        let query = super::verdicts::with_room(sql.to_query(self.client()))
            .with_setting("query_id", id.as_str());
        self.execute_query(query, &id).await
    }

    /// Run a statement that returns no rows (DDL, `INSERT … SELECT`).
    pub async fn execute(&self, sql: &str) -> Result<()> {
        let (query, id) = self.query(sql);
        self.execute_query(query, &id).await
    }

    /// Run a prepared statement (with bound values) that returns no rows.
    pub async fn execute_query(
        &self,
        query: clickhouse::query::Query,
        query_id: &str,
    ) -> Result<()> {
        self.run(Budget::Data, Some(query_id), None, async {
            query.execute().await.map_err(|e| self.map_error(e))
        })
        .await
    }

    /// Fetch a small result whole (metadata, counts, batch ids) within the query timeout.
    pub async fn fetch_all<T>(&self, query: clickhouse::query::Query) -> Result<Vec<T>>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        self.fetch_all_within(Budget::Data, query).await
    }

    async fn fetch_all_within<T>(
        &self,
        budget: Budget,
        query: clickhouse::query::Query,
    ) -> Result<Vec<T>>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        self.run(budget, None, None, async {
            query.fetch_all::<T>().await.map_err(|e| self.map_error(e))
        })
        .await
    }

    async fn detect_capabilities(&self) -> Result<Capabilities> {
        // Reaching the server is judged by the connect timeout (an unresponsive server fails
        // fast); the probe over system tables, which a loaded server may answer slowly, by the
        // query timeout.
        self.fetch_all_within::<u8>(Budget::Metadata, self.client.query("SELECT 1"))
            .await?;
        let probe: Vec<ProbeRow> = self
            .fetch_all_within(Budget::Data, self.client.query(PROBE_SQL))
            .await?;
        let probe = probe
            .into_iter()
            .next()
            .ok_or_else(|| ClickHouseError::Decode {
                detail: "the capability probe returned no row".to_owned(),
            })?;
        let policies = if probe.storage_policies_table > 0 {
            self.fetch_all::<(String, String)>(self.client.query(POLICIES_SQL))
                .await?
        } else {
            Vec::new()
        };
        // No system table lists query-parameter support: ask the server to parse one.
        let query_parameters = self
            .fetch_all::<u8>(
                self.client
                    .query("SELECT {probe:UInt8}")
                    .param("probe", 1u8),
            )
            .await
            .is_ok_and(|rows| rows == [1]);
        Ok(probe.into_capabilities(query_parameters, policies))
    }
}

#[cfg(test)]
mod tests {
    use super::CompressionChoice;

    #[test]
    fn auto_compression_is_off_on_this_machine_and_the_lan_only() {
        let compresses = |url: &str| {
            let url = url::Url::parse(url).unwrap_or_else(|e| panic!("{e}"));
            CompressionChoice::Auto.compresses(url.host())
        };
        for local in [
            "http://127.0.0.1:8123",
            "http://localhost:8123",
            "http://[::1]:8123",
            "http://10.1.2.3:8123",
            "http://192.168.0.9:8123",
            "http://172.20.0.2:8123",
            "http://plant-db.local:8123",
            "http://[fd00::5]:8123",
        ] {
            assert!(!compresses(local), "{local}");
        }
        for remote in ["https://ch.example.com:8443", "http://8.8.8.8:8123"] {
            assert!(compresses(remote), "{remote}");
        }
        let loopback = url::Url::parse("http://127.0.0.1").unwrap_or_else(|e| panic!("{e}"));
        assert!(CompressionChoice::Lz4.compresses(loopback.host()));
        assert!(!CompressionChoice::Off.compresses(None));
    }
}
