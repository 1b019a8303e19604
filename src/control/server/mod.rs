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
            Self::Provider(_) => (StatusCode::BAD_GATEWAY, "provider"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = api::ApiError {
            code: code.to_owned(),
            message: self.to_string(),
        };
        (status, axum::Json(body)).into_response()
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
    let app = router(state);
    let task = tokio::spawn(async move {
        // Serving ends only with the process or an abort; an error is the listener failing.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(%addr, error = %e, "the control-plane server stopped");
        }
    });
    Ok(RunningServer {
        addr,
        task,
        monitor,
    })
}
