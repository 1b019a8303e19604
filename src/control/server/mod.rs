//! The control-plane server (axum on tokio): JSON under `/api`, its OpenAPI document at
//! `/api/openapi.json`. [`router`] builds the routes (`routes`, one module per resource, one
//! route table for the router and the document) over an [`AppState`] (the SQLite
//! [`store::Db`], the login limiter, the provider); [`spawn`] binds and runs it, and the
//! monitor (`lifecycle`) keeps cluster states in line with what the nodes report (running ↔
//! degraded), which is also how a restarted server re-attaches to nodes that kept running.
//!
//! Every route authenticates (bearer token) and authorizes on the server ([`api::Role::may`]);
//! a cluster the caller is not a member of is "not found", never "forbidden", so membership of
//! other clusters does not leak. Every mutation writes its audit row in the same transaction.

pub mod auth;
pub mod cost;
mod lifecycle;
pub mod openapi;
pub mod provider;
mod routes;
pub mod schema;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

use crate::control::api::{self, paths};

/// Request bodies above this are refused (413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Over a bound on concurrent work (password checks): try again shortly.
    #[error("{0}")]
    Busy(String),
    #[error("provisioning failed: {0}")]
    Provider(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ControlError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Provider(_) => (StatusCode::BAD_GATEWAY, "provider"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        // When to come back: a second for a busy hasher, the login window for a limit.
        let retry_after = match &self {
            Self::Busy(_) => Some("1"),
            Self::TooManyRequests(_) => Some("60"),
            _ => None,
        };
        let body = api::ApiError {
            code: code.to_owned(),
            message: self.to_string(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(seconds),
            );
        }
        response
    }
}

/// Where and how the server keeps things.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub db_path: PathBuf,
    /// Local clusters' folders.
    pub clusters_dir: PathBuf,
    /// `clickhouse-server` for the local provider (none: local clusters fail with a reason).
    pub clickhouse_binary: Option<PathBuf>,
    /// Serve HTTPS with this certificate and key (none: plain HTTP, for loopback or a VPN).
    pub tls: Option<TlsFiles>,
}

/// A PEM certificate chain and its private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug)]
pub struct AppState {
    pub db: store::Db,
    pub limiter: auth::LoginLimiter,
    pub hasher: auth::Hasher,
    pub local: Option<provider::LocalProvider>,
    /// Serialises provisioning work per server (start/stop/delete/credential rewrites).
    pub provisioning: tokio::sync::Mutex<()>,
    /// Provisioning in flight, per cluster: a delete cancels it.
    pub provisioning_jobs: std::sync::Mutex<std::collections::HashMap<i64, CancellationToken>>,
}

impl AppState {
    /// A cancel switch for cluster `id`'s provisioning, kept until it ends.
    pub fn start_provisioning(&self, id: i64) -> CancellationToken {
        let token = CancellationToken::new();
        self.provisioning_jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, token.clone());
        token
    }

    /// Stop cluster `id`'s provisioning, if any is in flight.
    pub fn cancel_provisioning(&self, id: i64) {
        if let Some(token) = self
            .provisioning_jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id)
        {
            token.cancel();
        }
    }

    fn forget_provisioning(&self, id: i64) {
        self.provisioning_jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }
}

impl AppState {
    pub fn new(config: &ServerConfig) -> Result<Arc<Self>, ControlError> {
        if let Some(parent) = config
            .db_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            store::create_private_dirs(parent)?;
        }
        if config.clickhouse_binary.is_some() {
            store::private_dir(&config.clusters_dir)?;
        }
        let db = store::Db::open(&config.db_path)?;
        lifecycle::move_node_secrets_out_of_database(&db)?;
        Ok(Arc::new(Self {
            db,
            limiter: auth::LoginLimiter::default(),
            hasher: auth::Hasher::default(),
            local: config
                .clickhouse_binary
                .clone()
                .map(|binary| provider::LocalProvider {
                    root: config.clusters_dir.clone(),
                    binary,
                }),
            provisioning: tokio::sync::Mutex::new(()),
            provisioning_jobs: std::sync::Mutex::default(),
        }))
    }
}

/// The API's routes over `state`, and the OpenAPI document of exactly those routes.
pub fn router(state: Arc<AppState>) -> axum::Router {
    let (api, document) = routes::api().split_for_parts();
    let document = axum::Json(openapi::complete(document));
    api.route(
        paths::OPENAPI,
        axum::routing::get(move || async move { document }),
    )
    .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
    .with_state(state)
}

/// Single-user embedded mode: make sure `user` exists as the instance owner (with a password
/// nobody knows) and mint a session for it straight in the database.
pub fn local_session(config: &ServerConfig, user: &str) -> Result<String, ControlError> {
    let state = AppState::new(config)?;
    let token = auth::new_secret("lys_");
    let expires_at = (chrono::Utc::now() + chrono::Duration::hours(auth::SESSION_HOURS))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let unusable = auth::hash_password(&auth::new_secret(""))?;
    let record = store::AuditRecord {
        actor: user,
        action: "local_session",
        target: format!("user {user}"),
        request_id: "embedded",
        cluster_id: None,
    };
    state.db.mutate(&record, |tx| {
        store::sql(tx.execute(
            "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
            rusqlite::params![user, unusable, store::now()],
        ))?;
        store::sql(tx.execute(
            "INSERT INTO tokens (user_id, name, kind, token_hash, scopes, created_at, expires_at)
             SELECT id, 'embedded', 'session', ?, 'read,write', ?, ? FROM users WHERE name = ?",
            rusqlite::params![auth::sha256_hex(&token), store::now(), expires_at, user],
        ))
    })?;
    Ok(token)
}

/// A running server: its address, the serving task (await it to run until the end) and the
/// state monitor. Dropping it, or [`RunningServer::stop`], ends both.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<()>,
    monitor: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    pub fn stop(&self) {
        self.task.abort();
        self.monitor.abort();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connections open at once at most; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 1024;
/// Connections open at once per client address; more are closed at once, so one client
/// cannot take every slot.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 256;
/// A client has this long to send a request's headers (slow-header attacks).
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// A connection is closed after this long whatever it does (a slow body holds a slot no
/// longer than this).
pub const CONNECTION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);

/// A connection's place in the per-address count, given back when it closes.
struct AddressSlot {
    counts: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    address: std::net::IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// Accept and serve HTTP/1 connections (over TLS when `tls` is given) with bounds:
/// [`MAX_CONNECTIONS`] in all, [`MAX_CONNECTIONS_PER_ADDRESS`] per client, the TLS handshake
/// and the headers each within [`HEADER_TIMEOUT`], each connection at most
/// [`CONNECTION_LIFETIME`]. Ends only with the process or an abort.
async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let counts = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: let some connections close.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let address = remote.ip();
        {
            let mut open = counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = open.entry(address).or_insert(0);
            if *count >= MAX_CONNECTIONS_PER_ADDRESS {
                tracing::debug!(%address, "too many connections from one address: closed");
                continue;
            }
            *count += 1;
        }
        let slot = AddressSlot {
            counts: Arc::clone(&counts),
            address,
        };
        let service = hyper_util::service::TowerToHyperService::new(
            app.clone()
                .layer(axum::Extension(axum::extract::ConnectInfo(remote))),
        );
        let tls = tls.clone();
        tokio::spawn(async move {
            let (_permit, _slot) = (permit, slot);
            match tls {
                None => serve_connection(stream, service, address).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, service, address).await,
                        Ok(Err(e)) => tracing::debug!(%address, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%address, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// One HTTP/1 connection over `io`, headers within [`HEADER_TIMEOUT`], closed after
/// [`CONNECTION_LIFETIME`].
async fn serve_connection<I, S>(io: I, service: S, address: std::net::IpAddr)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send,
    S::Future: Send,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(hyper_util::rt::TokioIo::new(io), service);
    match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(%address, error = %e, "connection ended"),
        Err(_) => tracing::debug!(%address, "connection closed at the end of its lifetime"),
    }
}

/// Bind `addr` and serve in the background (with the state monitor).
pub async fn spawn(addr: SocketAddr, config: &ServerConfig) -> Result<RunningServer, ControlError> {
    let state = AppState::new(config)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ControlError::Internal(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ControlError::Internal(e.to_string()))?;
    lifecycle::reconcile_on_start(&state).await?;
    let monitor = tokio::spawn(lifecycle::monitor(Arc::clone(&state)));
    let tls = match &config.tls {
        Some(files) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(
            crate::tls::server_config(&files.cert, &files.key)
                .map_err(|e| ControlError::Internal(e.to_string()))?,
        ))),
        None => None,
    };
    let task = tokio::spawn(serve(listener, router(state), tls));
    Ok(RunningServer {
        addr,
        task,
        monitor,
    })
}
