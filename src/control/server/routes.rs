//! The handlers: authentication, tokens, reference data, clusters and everything under one
//! (members, credentials, projects, status, usage, manifest), audit; and the state monitor.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::{Connection, params};
use serde::de::DeserializeOwned;

use super::auth::{self, Principal, new_secret, sha256_hex};
use super::provider::{self, LocalRuntime, NodeUser};
use super::store::{AuditRecord, insert_audit, now, optional, sql};
use super::{AppState, ControlError, MAX_BODY_BYTES, cost};
use crate::control::api::{
    Action, AuditEntry, Cluster, ClusterConfig, ClusterState, ClusterStatus, ClusterUpdate,
    Credential, Credentials, DeleteRequest, IssuedCredential, IssuedToken, Member, NewCredential,
    NewProject, NewToken, Project, ProviderKind, ReferenceData, Region, Role, Session, Tier,
    TokenInfo, Usage,
};

type Shared = State<Arc<AppState>>;
type ApiResult<T> = Result<Json<T>, ControlError>;

/// JSON bodies with our error shape for malformed input.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ControlError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ControlError::TooLarge(format!(
                    "the request body is larger than {MAX_BODY_BYTES} bytes"
                )))
            }
            Err(rejection) => Err(ControlError::Invalid(format!(
                "malformed request: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The authenticated caller, resolved before any body is read (so a request without a token
/// is 401 whatever its body).
pub struct Caller(pub Principal);

/// [`Caller`] with a token that may change things.
pub struct Writer(pub Principal);

impl axum::extract::FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ControlError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        caller(state, &parts.headers).map(Self)
    }
}

impl axum::extract::FromRequestParts<Arc<AppState>> for Writer {
    type Rejection = ControlError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        writer(state, &parts.headers).map(Self)
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/auth/bootstrap", post(bootstrap))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/users", post(create_user))
        .route("/api/tokens", get(list_tokens).post(create_token))
        .route("/api/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/api/reference", get(reference))
        .route("/api/estimate", post(estimate))
        .route("/api/audit", get(list_audit))
        .route("/api/clusters", get(list_clusters).post(create_cluster))
        .route(
            "/api/clusters/{id}",
            get(get_cluster)
                .patch(update_cluster)
                .delete(delete_cluster),
        )
        .route(
            "/api/clusters/{id}/members",
            get(list_members).post(put_member),
        )
        .route(
            "/api/clusters/{id}/members/{user}",
            axum::routing::delete(remove_member),
        )
        .route(
            "/api/clusters/{id}/credentials",
            get(list_credentials).post(issue_credential),
        )
        .route(
            "/api/clusters/{id}/credentials/{credential}/rotate",
            post(rotate_credential),
        )
        .route(
            "/api/clusters/{id}/credentials/{credential}",
            axum::routing::delete(revoke_credential),
        )
        .route(
            "/api/clusters/{id}/projects",
            get(list_projects).post(create_project),
        )
        .route("/api/clusters/{id}/status", get(status))
        .route("/api/clusters/{id}/usage", get(usage))
        .route("/api/clusters/{id}/manifest", get(manifest))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map_or_else(|| new_secret("req_")[..24].to_owned(), str::to_owned)
}

fn caller(state: &AppState, headers: &HeaderMap) -> Result<Principal, ControlError> {
    auth::principal(
        &state.db,
        headers.get("authorization").and_then(|v| v.to_str().ok()),
    )
}

/// The caller, who must be allowed to change things (not a read-only token).
fn writer(state: &AppState, headers: &HeaderMap) -> Result<Principal, ControlError> {
    let principal = caller(state, headers)?;
    if principal.can_write {
        Ok(principal)
    } else {
        Err(ControlError::Forbidden("this token is read-only".into()))
    }
}

fn audit<'a>(
    principal: &'a Principal,
    action: &'a str,
    target: String,
    request_id: &'a str,
    cluster_id: Option<i64>,
) -> AuditRecord<'a> {
    AuditRecord {
        actor: &principal.user,
        action,
        target,
        request_id,
        cluster_id,
    }
}

/// Plain names: lower-case letters, digits and `-` (clusters) or `_` (users), 2–63 long,
/// starting with a letter — nothing that could leave a folder or break a config file.
fn check_name(what: &str, name: &str, extra: char) -> Result<(), ControlError> {
    let mut chars = name.chars();
    let ok = (2..=63).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == extra);
    if ok {
        Ok(())
    } else {
        Err(ControlError::Invalid(format!(
            "{what} `{name}` must be 2–63 lower-case letters, digits or `{extra}`, starting with a letter"
        )))
    }
}

fn check_password(password: &str) -> Result<(), ControlError> {
    if password.chars().count() < 10 {
        return Err(ControlError::Invalid(
            "passwords need at least 10 characters".into(),
        ));
    }
    Ok(())
}

fn session(
    state: &AppState,
    user_id: i64,
    user: &str,
    request_id: &str,
    action: &str,
) -> Result<Session, ControlError> {
    let token = new_secret("lys_");
    let expires_at = (chrono::Utc::now() + chrono::Duration::hours(auth::SESSION_HOURS))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let record = AuditRecord {
        actor: user,
        action,
        target: format!("user {user}"),
        request_id,
        cluster_id: None,
    };
    state.db.mutate(&record, |tx| {
        sql(tx.execute(
            "INSERT INTO tokens (user_id, name, kind, token_hash, scopes, created_at, expires_at) VALUES (?, 'session', 'session', ?, 'read,write', ?, ?)",
            params![user_id, sha256_hex(&token), now(), expires_at],
        ))
    })?;
    Ok(Session { token, expires_at })
}

/// First run: create the owner account. Refused once any user exists.
async fn bootstrap(
    State(state): Shared,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<(StatusCode, Json<Session>), ControlError> {
    check_name("user", &body.user, '_')?;
    check_password(&body.password)?;
    let hash = auth::hash_password(&body.password)?;
    let rid = request_id(&headers);
    let record = AuditRecord {
        actor: &body.user,
        action: "bootstrap",
        target: format!("user {}", body.user),
        request_id: &rid,
        cluster_id: None,
    };
    let user_id = state.db.mutate(&record, |tx| {
        let users: i64 = sql(tx.query_row("SELECT count(*) FROM users", [], |r| r.get(0)))?;
        if users > 0 {
            return Err(ControlError::Conflict(
                "already bootstrapped: log in instead".into(),
            ));
        }
        sql(tx.execute(
            "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)",
            params![body.user, hash, now()],
        ))?;
        Ok(tx.last_insert_rowid())
    })?;
    Ok((
        StatusCode::CREATED,
        Json(session(&state, user_id, &body.user, &rid, "login")?),
    ))
}

async fn login(
    State(state): Shared,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Session> {
    state.limiter.check(&body.user)?;
    let row = state.db.read(|c| {
        optional(c.query_row(
            "SELECT id, password_hash FROM users WHERE name = ?",
            params![body.user],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        ))
    })?;
    // Hash checking runs off the async workers (Argon2 is slow on purpose).
    let password = body.password.clone();
    let verified = match row {
        Some((id, hash)) => tokio::task::spawn_blocking(move || {
            auth::verify_password(&password, &hash).then_some(id)
        })
        .await
        .map_err(|e| ControlError::Internal(e.to_string()))?,
        None => None,
    };
    let Some(user_id) = verified else {
        state.limiter.failed(&body.user);
        return Err(ControlError::Unauthenticated(
            "wrong user name or password".into(),
        ));
    };
    state.limiter.succeeded(&body.user);
    Ok(Json(session(
        &state,
        user_id,
        &body.user,
        &request_id(&headers),
        "login",
    )?))
}

async fn logout(State(state): Shared, headers: HeaderMap) -> Result<StatusCode, ControlError> {
    let principal = caller(&state, &headers)?;
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let rid = request_id(&headers);
    state.db.mutate(
        &audit(
            &principal,
            "logout",
            format!("user {}", principal.user),
            &rid,
            None,
        ),
        |tx| {
            sql(tx.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_hash = ?",
                params![now(), sha256_hex(&token)],
            ))
        },
    )?;
    Ok(StatusCode::NO_CONTENT)
}

/// New accounts are made by the instance owner (the bootstrapped first user).
async fn create_user(
    State(state): Shared,
    headers: HeaderMap,
    Writer(principal): Writer,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<StatusCode, ControlError> {
    let first: i64 = state
        .db
        .read(|c| sql(c.query_row("SELECT min(id) FROM users", [], |r| r.get(0))))?;
    if principal.user_id != first {
        return Err(ControlError::Forbidden(
            "only the instance owner creates accounts".into(),
        ));
    }
    check_name("user", &body.user, '_')?;
    check_password(&body.password)?;
    let hash = auth::hash_password(&body.password)?;
    let rid = request_id(&headers);
    state.db.mutate(
        &audit(
            &principal,
            "create_user",
            format!("user {}", body.user),
            &rid,
            None,
        ),
        |tx| match tx.execute(
            "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)",
            params![body.user, hash, now()],
        ) {
            Ok(_) => Ok(()),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                Err(ControlError::Conflict(format!(
                    "user `{}` exists",
                    body.user
                )))
            }
            Err(e) => sql(Err(e)),
        },
    )?;
    Ok(StatusCode::CREATED)
}

fn token_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        scopes: r
            .get::<_, String>(2)?
            .split(',')
            .map(str::to_owned)
            .collect(),
        created_at: r.get(3)?,
        expires_at: r.get(4)?,
        revoked_at: r.get(5)?,
    })
}

async fn list_tokens(State(state): Shared, headers: HeaderMap) -> ApiResult<Vec<TokenInfo>> {
    let principal = caller(&state, &headers)?;
    state.db.read(|c| {
        let mut statement = sql(c.prepare(
            "SELECT id, name, scopes, created_at, expires_at, revoked_at FROM tokens WHERE user_id = ? AND kind = 'api' ORDER BY id",
        ))?;
        let rows = sql(statement.query_map(params![principal.user_id], token_info))?;
        Ok(Json(sql(rows.collect())?))
    })
}

async fn create_token(
    State(state): Shared,
    headers: HeaderMap,
    Writer(principal): Writer,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ControlError> {
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(ControlError::Invalid(
            "a token needs a name of 1–100 characters".into(),
        ));
    }
    if body.scopes.is_empty() || body.scopes.iter().any(|s| s != "read" && s != "write") {
        return Err(ControlError::Invalid(
            "scopes are `read` and/or `write`".into(),
        ));
    }
    if !(1..=365).contains(&body.expires_in_days) {
        return Err(ControlError::Invalid("tokens expire in 1–365 days".into()));
    }
    let token = new_secret("lyt_");
    let expires_at = (chrono::Utc::now() + chrono::Duration::days(i64::from(body.expires_in_days)))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let rid = request_id(&headers);
    let scopes = body.scopes.join(",");
    let info = state.db.mutate(&audit(&principal, "create_token", format!("token {}", body.name), &rid, None), |tx| {
        sql(tx.execute(
            "INSERT INTO tokens (user_id, name, kind, token_hash, scopes, created_at, expires_at) VALUES (?, ?, 'api', ?, ?, ?, ?)",
            params![principal.user_id, body.name, sha256_hex(&token), scopes, now(), expires_at],
        ))?;
        sql(tx.query_row(
            "SELECT id, name, scopes, created_at, expires_at, revoked_at FROM tokens WHERE id = ?",
            params![tx.last_insert_rowid()],
            token_info,
        ))
    })?;
    Ok((StatusCode::CREATED, Json(IssuedToken { info, token })))
}

async fn revoke_token(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<StatusCode, ControlError> {
    let principal = writer(&state, &headers)?;
    let rid = request_id(&headers);
    state.db.mutate(&audit(&principal, "revoke_token", format!("token {id}"), &rid, None), |tx| {
        let changed = sql(tx.execute(
            "UPDATE tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND kind = 'api' AND revoked_at IS NULL",
            params![now(), id, principal.user_id],
        ))?;
        if changed == 0 {
            return Err(ControlError::NotFound(format!("no active token {id}")));
        }
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT)
}

fn names(c: &Connection, table: &str) -> Result<Vec<String>, ControlError> {
    let mut statement = sql(c.prepare(&format!("SELECT name FROM {table} ORDER BY name")))?;
    let rows = sql(statement.query_map([], |r| r.get(0)))?;
    sql(rows.collect())
}

async fn reference(State(state): Shared, headers: HeaderMap) -> ApiResult<ReferenceData> {
    caller(&state, &headers)?;
    let (regions, cluster_types, project_types) = state.db.read(|c| {
        let mut statement = sql(c.prepare("SELECT code, name FROM regions ORDER BY code"))?;
        let rows = sql(statement.query_map([], |r| {
            Ok(Region {
                code: r.get(0)?,
                name: r.get(1)?,
            })
        }))?;
        Ok((
            sql(rows.collect::<Result<Vec<_>, _>>())?,
            names(c, "cluster_types")?,
            names(c, "project_types")?,
        ))
    })?;
    Ok(Json(ReferenceData {
        regions,
        cluster_types,
        project_types,
        tiers: Tier::ALL.to_vec(),
        prices: cost::prices(&state.db)?,
        currency: cost::CURRENCY.to_owned(),
    }))
}

fn validate_config(state: &AppState, config: &ClusterConfig) -> Result<(), ControlError> {
    check_name("cluster name", &config.name, '-')?;
    let known = |table: &str, value: &str| {
        state.db.read(|c| {
            let column = if table == "regions" { "code" } else { "name" };
            Ok(optional(c.query_row(
                &format!("SELECT 1 FROM {table} WHERE {column} = ?"),
                params![value],
                |_| Ok(()),
            ))?
            .is_some())
        })
    };
    if !known("regions", &config.region)? {
        return Err(ControlError::Invalid(format!(
            "unknown region `{}`",
            config.region
        )));
    }
    if !known("cluster_types", &config.cluster_type)? {
        return Err(ControlError::Invalid(format!(
            "unknown cluster type `{}`",
            config.cluster_type
        )));
    }
    let checks = [
        ((1..=16).contains(&config.shards), "shards must be 1–16"),
        ((1..=3).contains(&config.replicas), "replicas must be 1–3"),
        (
            (1..=256).contains(&config.cpu_per_node),
            "CPU per node must be 1–256",
        ),
        (
            (1..=4096).contains(&config.memory_gib_per_node),
            "memory per node must be 1–4096 GiB",
        ),
        (
            config.tiers.iter().any(|t| t.tier == Tier::Hot),
            "a hot tier is needed",
        ),
        (
            config.tiers.iter().all(|t| t.size_gib > 0),
            "tier sizes must be positive",
        ),
        (
            Tier::ALL
                .iter()
                .all(|tier| config.tiers.iter().filter(|t| t.tier == *tier).count() <= 1),
            "each tier at most once",
        ),
        (
            config.provider != ProviderKind::Local || config.shards * config.replicas <= 8,
            "a local cluster runs at most 8 nodes",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, problem)) => Err(ControlError::Invalid((*problem).to_owned())),
        None => Ok(()),
    }
}

async fn estimate(
    State(state): Shared,
    Caller(_): Caller,
    ApiJson(config): ApiJson<ClusterConfig>,
) -> ApiResult<crate::control::api::CostEstimate> {
    validate_config(&state, &config)?;
    Ok(Json(cost::estimate(&state.db, &config)?))
}

/// A cluster row as stored.
struct ClusterRow {
    id: i64,
    config: ClusterConfig,
    state: ClusterState,
    state_reason: Option<String>,
    runtime: Option<LocalRuntime>,
    created_at: String,
    updated_at: String,
}

/// A cluster's columns as read: id, config, state, reason, runtime, created, updated.
type RawCluster = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

fn cluster_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawCluster> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

const CLUSTER_COLUMNS: &str =
    "c.id, c.config, c.state, c.state_reason, c.runtime, c.created_at, c.updated_at";

fn decode_cluster(raw: RawCluster) -> Result<ClusterRow, ControlError> {
    let (id, config, state, state_reason, runtime, created_at, updated_at) = raw;
    let bad =
        |what: &str| ControlError::Internal(format!("cluster {id}: stored {what} is unreadable"));
    Ok(ClusterRow {
        id,
        config: serde_json::from_str(&config).map_err(|_| bad("configuration"))?,
        state: ClusterState::parse(&state).ok_or_else(|| bad("state"))?,
        state_reason,
        runtime: runtime
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(|_| bad("runtime"))?,
        created_at,
        updated_at,
    })
}

impl ClusterRow {
    fn api(&self, role: Role) -> Cluster {
        Cluster {
            id: self.id,
            config: self.config.clone(),
            state: self.state,
            state_reason: self.state_reason.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            role,
        }
    }
}

/// The cluster and the caller's role in it; "not found" for non-members and deleted clusters.
fn membership(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<(ClusterRow, Role), ControlError> {
    let found = state.db.read(|c| {
        optional(c.query_row(
            &format!(
                "SELECT {CLUSTER_COLUMNS}, m.role FROM clusters c JOIN memberships m ON m.cluster_id = c.id
                 WHERE c.id = ? AND m.user_id = ? AND c.state != 'deleted'"
            ),
            params![id, principal.user_id],
            |r| Ok((cluster_row(r)?, r.get::<_, String>(7)?)),
        ))
    })?;
    let Some((raw, role)) = found else {
        return Err(ControlError::NotFound(format!("no cluster {id}")));
    };
    let role = Role::parse(&role)
        .ok_or_else(|| ControlError::Internal(format!("unknown role `{role}`")))?;
    Ok((decode_cluster(raw)?, role))
}

/// [`membership`], then the permission check.
fn authorize(
    state: &AppState,
    principal: &Principal,
    id: i64,
    action: Action,
) -> Result<(ClusterRow, Role), ControlError> {
    let (cluster, role) = membership(state, principal, id)?;
    if !role.may(action) {
        return Err(ControlError::Forbidden(format!(
            "a {} of this cluster may not do this ({action:?})",
            role.as_str()
        )));
    }
    Ok((cluster, role))
}

async fn list_clusters(State(state): Shared, Caller(principal): Caller) -> ApiResult<Vec<Cluster>> {
    let rows = state.db.read(|c| {
        let mut statement = sql(c.prepare(&format!(
            "SELECT {CLUSTER_COLUMNS}, m.role FROM clusters c JOIN memberships m ON m.cluster_id = c.id
             WHERE m.user_id = ? AND c.state != 'deleted' ORDER BY c.id"
        )))?;
        let rows = sql(statement.query_map(params![principal.user_id], |r| Ok((cluster_row(r)?, r.get::<_, String>(7)?))))?;
        sql(rows.collect::<Result<Vec<_>, _>>())
    })?;
    rows.into_iter()
        .map(|(raw, role)| {
            let role = Role::parse(&role).unwrap_or(Role::Viewer);
            Ok(decode_cluster(raw)?.api(role))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Json)
}

fn set_state(
    state: &AppState,
    id: i64,
    new: ClusterState,
    reason: Option<&str>,
    runtime: Option<&LocalRuntime>,
) -> Result<(), ControlError> {
    let runtime = runtime
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| ControlError::Internal(e.to_string()))?;
    state.db.system(|tx| {
        sql(tx.execute(
            "UPDATE clusters SET state = ?, state_reason = ?, runtime = coalesce(?, runtime), updated_at = ? WHERE id = ?",
            params![new.as_str(), reason, runtime, now(), id],
        ))
    })?;
    Ok(())
}

/// The issued, unrevoked credentials of a cluster, as its nodes need them.
fn node_users(state: &AppState, id: i64) -> Result<Vec<NodeUser>, ControlError> {
    state.db.read(|c| {
        let mut statement = sql(c.prepare(
            "SELECT name, secret_hash FROM assets WHERE cluster_id = ? AND kind = 'credential' AND revoked_at IS NULL ORDER BY id",
        ))?;
        let rows = sql(statement.query_map(params![id], |r| Ok(NodeUser { name: r.get(0)?, password_sha256: r.get(1)? })))?;
        sql(rows.collect())
    })
}

/// Provision in the background: provisioning → running, or failed with the reason.
async fn provision(state: Arc<AppState>, id: i64, config: ClusterConfig) {
    let result = async {
        match config.provider {
            ProviderKind::Kubernetes => Ok((
                ClusterState::Stopped,
                Some("rendered, not applied: download the manifest".to_owned()),
                None,
            )),
            ProviderKind::Local => {
                let local = state.local.as_ref().ok_or_else(|| {
                    ControlError::Provider(
                        "clickhouse-server is not installed on the control-plane host".into(),
                    )
                })?;
                let _guard = state.provisioning.lock().await;
                let mut runtime = local.plan(id, &config, &node_users(&state, id)?)?;
                set_state(&state, id, ClusterState::Provisioning, None, Some(&runtime))?;
                if let Err(e) = local.start(&mut runtime).await {
                    local.stop(&mut runtime).await;
                    set_state(
                        &state,
                        id,
                        ClusterState::Failed,
                        Some(&e.to_string()),
                        Some(&runtime),
                    )?;
                    return Err(e);
                }
                Ok((ClusterState::Running, None, Some(runtime)))
            }
        }
    }
    .await;
    let outcome = match result {
        Ok((new, reason, runtime)) => {
            set_state(&state, id, new, reason.as_deref(), runtime.as_ref())
        }
        Err(e) => set_state(&state, id, ClusterState::Failed, Some(&e.to_string()), None),
    };
    // Nothing to tell a client here; the state says what happened.
    drop(outcome);
}

async fn create_cluster(
    State(state): Shared,
    headers: HeaderMap,
    Writer(principal): Writer,
    ApiJson(config): ApiJson<ClusterConfig>,
) -> Result<(StatusCode, Json<Cluster>), ControlError> {
    validate_config(&state, &config)?;
    let rid = request_id(&headers);
    let json = serde_json::to_string(&config).map_err(|e| ControlError::Internal(e.to_string()))?;
    let id = state.db.system(|tx| {
        let created = now();
        match tx.execute(
            "INSERT INTO clusters (name, config, state, created_at, updated_at) VALUES (?, ?, 'provisioning', ?, ?)",
            params![config.name, json, created, created],
        ) {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                return Err(ControlError::Conflict(format!("a cluster named `{}` exists", config.name)));
            }
            Err(e) => return sql(Err(e)),
        }
        let id = tx.last_insert_rowid();
        sql(tx.execute(
            "INSERT INTO memberships (cluster_id, user_id, role) VALUES (?, ?, 'owner')",
            params![id, principal.user_id],
        ))?;
        // The audit row needs the new id, so it is written here, in the same transaction.
        insert_audit(tx, &audit(&principal, "create_cluster", format!("cluster {}", config.name), &rid, Some(id)))?;
        Ok(id)
    })?;
    tokio::spawn(provision(Arc::clone(&state), id, config));
    let (cluster, role) = membership(&state, &principal, id)?;
    Ok((StatusCode::ACCEPTED, Json(cluster.api(role))))
}

async fn get_cluster(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Cluster> {
    let principal = caller(&state, &headers)?;
    let (cluster, role) = authorize(&state, &principal, id, Action::View)?;
    Ok(Json(cluster.api(role)))
}

async fn update_cluster(
    State(state): Shared,
    headers: HeaderMap,
    Writer(principal): Writer,
    Path(id): Path<i64>,
    ApiJson(update): ApiJson<ClusterUpdate>,
) -> ApiResult<Cluster> {
    let (mut cluster, role) = authorize(&state, &principal, id, Action::Operate)?;
    let mut config = cluster.config.clone();
    if let Some(cpu) = update.cpu_per_node {
        config.cpu_per_node = cpu;
    }
    if let Some(memory) = update.memory_gib_per_node {
        config.memory_gib_per_node = memory;
    }
    if let Some(tiers) = update.tiers.clone() {
        config.tiers = tiers;
    }
    validate_config(&state, &config)?;
    let rid = request_id(&headers);
    let action = match update.state {
        Some(ClusterState::Running) => "start_cluster",
        Some(ClusterState::Stopped) => "stop_cluster",
        Some(other) => {
            return Err(ControlError::Invalid(format!(
                "a cluster cannot be set to `{}`",
                other.as_str()
            )));
        }
        None => "update_cluster",
    };
    let json = serde_json::to_string(&config).map_err(|e| ControlError::Internal(e.to_string()))?;
    state.db.mutate(
        &audit(
            &principal,
            action,
            format!("cluster {}", cluster.config.name),
            &rid,
            Some(id),
        ),
        |tx| {
            sql(tx.execute(
                "UPDATE clusters SET config = ?, updated_at = ? WHERE id = ?",
                params![json, now(), id],
            ))
        },
    )?;
    if let (Some(wanted), Some(local), Some(runtime)) =
        (update.state, state.local.as_ref(), cluster.runtime.as_mut())
    {
        let _guard = state.provisioning.lock().await;
        if wanted == ClusterState::Running {
            local.start(runtime).await?;
        } else {
            local.stop(runtime).await;
        }
        set_state(&state, id, wanted, None, Some(runtime))?;
    }
    let (cluster, _) = membership(&state, &principal, id)?;
    Ok(Json(cluster.api(role)))
}

async fn delete_cluster(
    State(state): Shared,
    headers: HeaderMap,
    Writer(principal): Writer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DeleteRequest>,
) -> Result<StatusCode, ControlError> {
    let (mut cluster, _) = authorize(&state, &principal, id, Action::Delete)?;
    if body.confirm_name != cluster.config.name {
        return Err(ControlError::Invalid(format!(
            "deleting removes all data: repeat the cluster's name (`{}`) in `confirm_name`",
            cluster.config.name
        )));
    }
    let rid = request_id(&headers);
    state.db.mutate(
        &audit(
            &principal,
            "delete_cluster",
            format!("cluster {}", cluster.config.name),
            &rid,
            Some(id),
        ),
        |tx| {
            sql(tx.execute(
                "UPDATE clusters SET state = 'deleting', updated_at = ? WHERE id = ?",
                params![now(), id],
            ))
        },
    )?;
    if let (Some(local), Some(runtime)) = (state.local.as_ref(), cluster.runtime.as_mut()) {
        let _guard = state.provisioning.lock().await;
        if let Err(e) = local.delete(runtime).await {
            set_state(
                &state,
                id,
                ClusterState::Failed,
                Some(&e.to_string()),
                Some(runtime),
            )?;
            return Err(e);
        }
    }
    set_state(&state, id, ClusterState::Deleted, None, None)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_members(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Vec<Member>> {
    let principal = caller(&state, &headers)?;
    authorize(&state, &principal, id, Action::View)?;
    state.db.read(|c| {
        let mut statement = sql(c.prepare(
            "SELECT u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.cluster_id = ? ORDER BY u.name",
        ))?;
        let rows = sql(statement.query_map(params![id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))))?;
        let rows = sql(rows.collect::<Result<Vec<_>, _>>())?;
        Ok(Json(
            rows.into_iter()
                .filter_map(|(user, role)| Role::parse(&role).map(|role| Member { user, role }))
                .collect(),
        ))
    })
}

/// Add a member or change a role. Admins manage engineers and viewers; only owners make or
/// unmake owners and admins.
async fn put_member(
    State(state): Shared,
    headers: HeaderMap,
    Writer(principal): Writer,
    Path(id): Path<i64>,
    ApiJson(member): ApiJson<Member>,
) -> Result<StatusCode, ControlError> {
    let (cluster, role) = authorize(&state, &principal, id, Action::ManageMembers)?;
    let rid = request_id(&headers);
    state.db.mutate(
        &audit(
            &principal,
            "put_member",
            format!(
                "cluster {} member {} as {}",
                cluster.config.name,
                member.user,
                member.role.as_str()
            ),
            &rid,
            Some(id),
        ),
        |tx| {
            let user_id: Option<i64> = optional(tx.query_row(
                "SELECT id FROM users WHERE name = ?",
                params![member.user],
                |r| r.get(0),
            ))?;
            let user_id = user_id
                .ok_or_else(|| ControlError::NotFound(format!("no user `{}`", member.user)))?;
            let current: Option<String> = optional(tx.query_row(
                "SELECT role FROM memberships WHERE cluster_id = ? AND user_id = ?",
                params![id, user_id],
                |r| r.get(0),
            ))?;
            let current = current.and_then(|r| Role::parse(&r));
            if role < Role::Owner
                && (member.role >= Role::Admin || current.is_some_and(|r| r >= Role::Admin))
            {
                return Err(ControlError::Forbidden(
                    "only owners manage owners and admins".into(),
                ));
            }
            if current == Some(Role::Owner) && member.role < Role::Owner {
                let owners: i64 = sql(tx.query_row(
                    "SELECT count(*) FROM memberships WHERE cluster_id = ? AND role = 'owner'",
                    params![id],
                    |r| r.get(0),
                ))?;
                if owners <= 1 {
                    return Err(ControlError::Conflict(
                        "a cluster keeps at least one owner".into(),
                    ));
                }
            }
            sql(tx.execute(
                "INSERT INTO memberships (cluster_id, user_id, role) VALUES (?, ?, ?)
             ON CONFLICT (cluster_id, user_id) DO UPDATE SET role = excluded.role",
                params![id, user_id, member.role.as_str()],
            ))
        },
    )?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): Shared,
    headers: HeaderMap,
    Path((id, user)): Path<(i64, String)>,
) -> Result<StatusCode, ControlError> {
    let principal = writer(&state, &headers)?;
    let (cluster, role) = authorize(&state, &principal, id, Action::ManageMembers)?;
    let rid = request_id(&headers);
    state.db.mutate(&audit(&principal, "remove_member", format!("cluster {} member {user}", cluster.config.name), &rid, Some(id)), |tx| {
        let current: Option<String> = optional(tx.query_row(
            "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.cluster_id = ? AND u.name = ?",
            params![id, user],
            |r| r.get(0),
        ))?;
        let current = current.and_then(|r| Role::parse(&r)).ok_or_else(|| ControlError::NotFound(format!("`{user}` is not a member")))?;
        if current >= Role::Admin && role < Role::Owner {
            return Err(ControlError::Forbidden("only owners remove owners and admins".into()));
        }
        if current == Role::Owner {
            let owners: i64 = sql(tx.query_row("SELECT count(*) FROM memberships WHERE cluster_id = ? AND role = 'owner'", params![id], |r| r.get(0)))?;
            if owners <= 1 {
                return Err(ControlError::Conflict("a cluster keeps at least one owner".into()));
            }
        }
        sql(tx.execute(
            "DELETE FROM memberships WHERE cluster_id = ? AND user_id = (SELECT id FROM users WHERE name = ?)",
            params![id, user],
        ))
    })?;
    Ok(StatusCode::NO_CONTENT)
}

fn credential(r: &rusqlite::Row<'_>) -> rusqlite::Result<Credential> {
    Ok(Credential {
        id: r.get(0)?,
        user: r.get(1)?,
        created_at: r.get(2)?,
        rotated_at: r.get(3)?,
        revoked_at: r.get(4)?,
    })
}

const CREDENTIAL_COLUMNS: &str = "id, name, created_at, rotated_at, revoked_at";

async fn list_credentials(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Vec<Credential>> {
    let principal = caller(&state, &headers)?;
    authorize(&state, &principal, id, Action::View)?;
    state.db.read(|c| {
        let mut statement = sql(c.prepare(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM assets WHERE cluster_id = ? AND kind = 'credential' ORDER BY id"
        )))?;
        let rows = sql(statement.query_map(params![id], credential))?;
        Ok(Json(sql(rows.collect())?))
    })
}

/// Push the cluster's current credentials to its nodes (local provider).
async fn apply_credentials(state: &AppState, cluster: &ClusterRow) -> Result<(), ControlError> {
    if let (Some(local), Some(runtime)) = (state.local.as_ref(), cluster.runtime.as_ref()) {
        let _guard = state.provisioning.lock().await;
        local.write_users(runtime, &node_users(state, cluster.id)?)?;
    }
    Ok(())
}

async fn issue_credential(
    State(state): Shared,
    headers: HeaderMap,
    Writer(principal): Writer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NewCredential>,
) -> Result<(StatusCode, Json<IssuedCredential>), ControlError> {
    let (cluster, _) = authorize(&state, &principal, id, Action::IssueCredential)?;
    check_name("ClickHouse user", &body.user, '_')?;
    if body.user.starts_with("lyceum_") || body.user == "default" {
        return Err(ControlError::Invalid(format!(
            "`{}` is reserved",
            body.user
        )));
    }
    let password = new_secret("");
    let rid = request_id(&headers);
    let issued = state.db.mutate(&audit(&principal, "issue_credential", format!("cluster {} user {}", cluster.config.name, body.user), &rid, Some(id)), |tx| {
        match tx.execute(
            "INSERT INTO assets (cluster_id, kind, name, secret_hash, created_at) VALUES (?, 'credential', ?, ?, ?)",
            params![id, body.user, sha256_hex(&password), now()],
        ) {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                return Err(ControlError::Conflict(format!("credential `{}` exists: rotate it instead", body.user)));
            }
            Err(e) => return sql(Err(e)),
        }
        sql(tx.query_row(&format!("SELECT {CREDENTIAL_COLUMNS} FROM assets WHERE id = ?"), params![tx.last_insert_rowid()], credential))
    })?;
    apply_credentials(&state, &cluster).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedCredential {
            credential: issued,
            password,
        }),
    ))
}

async fn rotate_credential(
    State(state): Shared,
    headers: HeaderMap,
    Path((id, credential_id)): Path<(i64, i64)>,
) -> ApiResult<IssuedCredential> {
    let principal = writer(&state, &headers)?;
    let (cluster, _) = authorize(&state, &principal, id, Action::ManageCredentials)?;
    let password = new_secret("");
    let rid = request_id(&headers);
    let rotated = state.db.mutate(&audit(&principal, "rotate_credential", format!("cluster {} credential {credential_id}", cluster.config.name), &rid, Some(id)), |tx| {
        let changed = sql(tx.execute(
            "UPDATE assets SET secret_hash = ?, rotated_at = ? WHERE id = ? AND cluster_id = ? AND kind = 'credential' AND revoked_at IS NULL",
            params![sha256_hex(&password), now(), credential_id, id],
        ))?;
        if changed == 0 {
            return Err(ControlError::NotFound(format!("no active credential {credential_id}")));
        }
        sql(tx.query_row(&format!("SELECT {CREDENTIAL_COLUMNS} FROM assets WHERE id = ?"), params![credential_id], credential))
    })?;
    apply_credentials(&state, &cluster).await?;
    Ok(Json(IssuedCredential {
        credential: rotated,
        password,
    }))
}

async fn revoke_credential(
    State(state): Shared,
    headers: HeaderMap,
    Path((id, credential_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ControlError> {
    let principal = writer(&state, &headers)?;
    let (cluster, _) = authorize(&state, &principal, id, Action::ManageCredentials)?;
    let rid = request_id(&headers);
    state.db.mutate(&audit(&principal, "revoke_credential", format!("cluster {} credential {credential_id}", cluster.config.name), &rid, Some(id)), |tx| {
        let changed = sql(tx.execute(
            "UPDATE assets SET revoked_at = ? WHERE id = ? AND cluster_id = ? AND kind = 'credential' AND revoked_at IS NULL",
            params![now(), credential_id, id],
        ))?;
        if changed == 0 {
            return Err(ControlError::NotFound(format!("no active credential {credential_id}")));
        }
        Ok(())
    })?;
    apply_credentials(&state, &cluster).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_projects(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<Vec<Project>> {
    let principal = caller(&state, &headers)?;
    authorize(&state, &principal, id, Action::View)?;
    state.db.read(|c| {
        let mut statement = sql(c.prepare("SELECT id, name, project_type, created_at FROM projects WHERE cluster_id = ? ORDER BY id"))?;
        let rows = sql(statement.query_map(params![id], |r| {
            Ok(Project { id: r.get(0)?, name: r.get(1)?, project_type: r.get(2)?, created_at: r.get(3)? })
        }))?;
        Ok(Json(sql(rows.collect())?))
    })
}

async fn create_project(
    State(state): Shared,
    headers: HeaderMap,
    Writer(principal): Writer,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NewProject>,
) -> Result<(StatusCode, Json<Project>), ControlError> {
    let (cluster, _) = authorize(&state, &principal, id, Action::CreateProject)?;
    check_name("project name", &body.name, '-')?;
    let rid = request_id(&headers);
    let project = state.db.mutate(
        &audit(
            &principal,
            "create_project",
            format!("cluster {} project {}", cluster.config.name, body.name),
            &rid,
            Some(id),
        ),
        |tx| {
            let known: Option<i64> = optional(tx.query_row(
                "SELECT 1 FROM project_types WHERE name = ?",
                params![body.project_type],
                |r| r.get(0),
            ))?;
            if known.is_none() {
                return Err(ControlError::Invalid(format!(
                    "unknown project type `{}`",
                    body.project_type
                )));
            }
            match tx.execute(
            "INSERT INTO projects (cluster_id, name, project_type, created_at) VALUES (?, ?, ?, ?)",
            params![id, body.name, body.project_type, now()],
        ) {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                return Err(ControlError::Conflict(format!("project `{}` exists", body.name)));
            }
            Err(e) => return sql(Err(e)),
        }
            sql(tx.query_row(
                "SELECT id, name, project_type, created_at FROM projects WHERE id = ?",
                params![tx.last_insert_rowid()],
                |r| {
                    Ok(Project {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        project_type: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                },
            ))
        },
    )?;
    Ok((StatusCode::CREATED, Json(project)))
}

async fn node_statuses(
    state: &AppState,
    cluster: &ClusterRow,
) -> Vec<crate::control::api::NodeStatus> {
    match (state.local.as_ref(), cluster.runtime.as_ref()) {
        (Some(local), Some(runtime)) => local.status(runtime).await,
        _ => Vec::new(),
    }
}

async fn status(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<ClusterStatus> {
    let principal = caller(&state, &headers)?;
    let (cluster, _) = authorize(&state, &principal, id, Action::View)?;
    let nodes = node_statuses(&state, &cluster).await;
    let (cluster, _) = membership(&state, &principal, id)?;
    Ok(Json(ClusterStatus {
        state: cluster.state,
        state_reason: cluster.state_reason,
        nodes,
    }))
}

async fn usage(State(state): Shared, headers: HeaderMap, Path(id): Path<i64>) -> ApiResult<Usage> {
    let principal = caller(&state, &headers)?;
    let (cluster, _) = authorize(&state, &principal, id, Action::View)?;
    let nodes = node_statuses(&state, &cluster).await;
    let bytes_on_disk: u64 = nodes.iter().filter_map(|n| n.bytes_on_disk).sum();
    let node_uptime_hours = nodes.iter().filter_map(|n| n.uptime_secs).sum::<u64>() as f64 / 3600.0;
    Ok(Json(Usage {
        estimate: cost::estimate(&state.db, &cluster.config)?,
        bytes_on_disk,
        node_uptime_hours,
        actual_to_date: cost::actual(&state.db, &cluster.config, node_uptime_hours, bytes_on_disk)?,
    }))
}

async fn manifest(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ControlError> {
    let principal = caller(&state, &headers)?;
    let (cluster, _) = authorize(&state, &principal, id, Action::Operate)?;
    let users = node_users(&state, id)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/yaml")],
        provider::kubernetes_manifest(&cluster.config, &users),
    ))
}

/// Audit rows the caller may see: of clusters they administer, and their own actions.
async fn audit_list(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<AuditEntry>, ControlError> {
    state.db.read(|c| {
        let mut statement = sql(c.prepare(
            "SELECT a.id, a.at, a.actor, a.action, a.target, a.request_id, a.cluster_id FROM audit a
             WHERE a.actor = ?1 OR a.cluster_id IN
               (SELECT cluster_id FROM memberships WHERE user_id = ?2 AND role IN ('owner', 'admin'))
             ORDER BY a.id DESC LIMIT 1000",
        ))?;
        let rows = sql(statement.query_map(params![principal.user, principal.user_id], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                request_id: r.get(5)?,
                cluster_id: r.get(6)?,
            })
        }))?;
        sql(rows.collect())
    })
}

async fn list_audit(State(state): Shared, headers: HeaderMap) -> ApiResult<Vec<AuditEntry>> {
    let principal = caller(&state, &headers)?;
    Ok(Json(audit_list(&state, &principal).await?))
}

/// At most one usage sample per cluster a minute: bytes on disk and node uptime, as reported.
fn record_usage(state: &AppState, id: i64, nodes: &[crate::control::api::NodeStatus]) {
    let bytes: u64 = nodes.iter().filter_map(|n| n.bytes_on_disk).sum();
    let uptime: u64 = nodes.iter().filter_map(|n| n.uptime_secs).sum();
    let minute_ago = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // Monitoring must not stop on a busy database; the next pass records again.
    let _ = state.db.system(|tx| {
        sql(tx.execute(
            "INSERT INTO usage (cluster_id, at, bytes_on_disk, node_uptime_secs)
             SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM usage WHERE cluster_id = ?1 AND at > ?5)",
            params![id, now(), i64::try_from(bytes).unwrap_or(i64::MAX), i64::try_from(uptime).unwrap_or(i64::MAX), minute_ago],
        ))
    });
}

/// Keep states in line with the nodes: a running cluster with a node down is degraded, a
/// degraded one with every node up is running again. Runs every 2 s; on a restarted server
/// its first pass re-attaches to the nodes that kept running.
pub async fn monitor(state: Arc<AppState>) {
    loop {
        let clusters = state.db.read(|c| {
            let mut statement = sql(c.prepare(&format!(
                "SELECT {CLUSTER_COLUMNS} FROM clusters c WHERE c.state IN ('running', 'degraded')"
            )))?;
            let rows = sql(statement.query_map([], cluster_row))?;
            sql(rows.collect::<Result<Vec<_>, _>>())
        });
        for raw in clusters.unwrap_or_default() {
            let Ok(cluster) = decode_cluster(raw) else {
                continue;
            };
            let nodes = node_statuses(&state, &cluster).await;
            if nodes.is_empty() {
                continue;
            }
            record_usage(&state, cluster.id, &nodes);
            let down: Vec<String> = nodes
                .iter()
                .filter(|n| !n.up)
                .map(|n| format!("s{}r{}", n.shard, n.replica))
                .collect();
            let (new, reason) = if down.is_empty() {
                (ClusterState::Running, None)
            } else {
                (
                    ClusterState::Degraded,
                    Some(format!("node(s) down: {}", down.join(", "))),
                )
            };
            // A concurrent stop or delete has the provisioning lock; its state wins.
            if let Ok(_guard) = state.provisioning.try_lock()
                && (new != cluster.state || reason != cluster.state_reason)
            {
                let _ = state.db.system(|tx| {
                    sql(tx.execute(
                        "UPDATE clusters SET state = ?, state_reason = ?, updated_at = ? WHERE id = ? AND state IN ('running', 'degraded')",
                        params![new.as_str(), reason, now(), cluster.id],
                    ))
                });
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_a_folder_or_break_a_config_are_refused() {
        for bad in [
            "../etc",
            "a/b",
            "A",
            "x",
            "has space",
            "<xml>",
            "-lead",
            "ünï",
        ] {
            assert!(check_name("cluster name", bad, '-').is_err(), "{bad}");
        }
        for good in ["line-1", "press-fit-2026"] {
            assert!(check_name("cluster name", good, '-').is_ok(), "{good}");
        }
    }

    #[test]
    fn the_permission_table_is_ordered_by_role() {
        use Action::*;
        assert!(Role::Viewer.may(View) && !Role::Viewer.may(IssueCredential));
        assert!(Role::Engineer.may(IssueCredential) && !Role::Engineer.may(ManageCredentials));
        assert!(Role::Admin.may(ManageMembers) && !Role::Admin.may(Delete));
        assert!(Role::Owner.may(Delete));
    }
}
