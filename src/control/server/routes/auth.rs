//! Accounts and tokens: first-run bootstrap, login (rate-limited), logout, accounts made by
//! the instance owner, and the caller's API tokens ([`TokenInfo`], [`IssuedToken`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::params;

use super::{
    ApiJson, ApiPath, ApiResult, Caller, ClientAddress, RequestId, Shared, WRITE, audit_record,
};
use super::{check_name, check_password};
use crate::control::api::{Credentials, IssuedToken, NewToken, Session, TokenInfo, paths};
use crate::control::server::auth::{self, new_secret, sha256_hex};
use crate::control::server::store::{AuditRecord, now, optional, sql};
use crate::control::server::{AppState, ControlError};

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

/// First run: create the owner account
///
/// Refused once any user exists.
#[utoipa::path(
    post,
    path = paths::BOOTSTRAP,
    security(()),
    request_body = Credentials,
    responses((status = 201, description = "The owner's session", body = Session))
)]
pub(super) async fn bootstrap(
    State(state): Shared,
    RequestId(rid): RequestId,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<(StatusCode, Json<Session>), ControlError> {
    check_name("user", &body.user, '_')?;
    check_password(&body.password)?;
    let hash = state.hasher.hash(body.password.clone()).await?;
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

/// Log in (rate-limited per user name and client address)
#[utoipa::path(
    post,
    path = paths::LOGIN,
    security(()),
    request_body = Credentials,
    responses((status = 200, description = "A new session", body = Session))
)]
pub(super) async fn login(
    State(state): Shared,
    ClientAddress(address): ClientAddress,
    RequestId(rid): RequestId,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Session> {
    // A name no account can have is refused before anything is counted or hashed.
    check_name("user", &body.user, '_')?;
    let attempt = state.limiter.begin(&body.user, address)?;
    let row = state.db.read(|c| {
        optional(c.query_row(
            "SELECT id, password_hash FROM users WHERE name = ?",
            params![body.user],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        ))
    })?;
    let (user_id, hash) = row.unzip();
    // An unknown user is checked against a dummy hash: as slow as a wrong password.
    let verified = state
        .hasher
        .verify(body.password.clone(), hash, attempt.known_address)
        .await?;
    let Some(user_id) = user_id.filter(|_| verified) else {
        return Err(ControlError::Unauthenticated(
            "wrong user name or password".into(),
        ));
    };
    state.limiter.succeeded(attempt);
    Ok(Json(session(&state, user_id, &body.user, &rid, "login")?))
}

/// Revoke the calling session
#[utoipa::path(
    post,
    path = paths::LOGOUT,
    responses((status = 204, description = "Revoked"))
)]
pub(super) async fn logout(
    State(state): Shared,
    Caller(principal): Caller,
    RequestId(rid): RequestId,
) -> Result<StatusCode, ControlError> {
    state.db.mutate(
        &audit_record(
            &principal,
            "logout",
            format!("user {}", principal.user),
            &rid,
            None,
        ),
        |tx| {
            sql(tx.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ?",
                params![now(), principal.token_id],
            ))
        },
    )?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an account (instance owner only)
///
/// New accounts are made by the instance owner (the bootstrapped first user).
#[utoipa::path(
    post,
    path = paths::USERS,
    request_body = Credentials,
    responses((status = 201, description = "Created"))
)]
pub(super) async fn create_user(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
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
    let hash = state.hasher.hash(body.password.clone()).await?;
    state.db.mutate(
        &audit_record(
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
        kind: r.get(6)?,
    })
}

/// The caller's sessions and API tokens
///
/// Sessions (logins, one per device) are listed too, so one left on a lost laptop can be
/// revoked without logging out everywhere.
#[utoipa::path(
    get,
    path = paths::TOKENS,
    responses((status = 200, description = "Sessions and API tokens, oldest first", body = Vec<TokenInfo>))
)]
pub(super) async fn list_tokens(
    State(state): Shared,
    Caller(principal): Caller,
) -> ApiResult<Vec<TokenInfo>> {
    state.db.read(|c| {
        let mut statement = sql(c.prepare(
            "SELECT id, name, scopes, created_at, expires_at, revoked_at, kind FROM tokens WHERE user_id = ? ORDER BY id",
        ))?;
        let rows = sql(statement.query_map(params![principal.user_id], token_info))?;
        Ok(Json(sql(rows.collect())?))
    })
}

/// Create an API token (shown once)
#[utoipa::path(
    post,
    path = paths::TOKENS,
    request_body = NewToken,
    responses((status = 201, description = "The token, with its secret", body = IssuedToken))
)]
pub(super) async fn create_token(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ControlError> {
    // A token minted by a token could outlive the revocation of its maker.
    if !principal.session {
        return Err(ControlError::Forbidden(
            "API tokens are created from a login session, not with another token".into(),
        ));
    }
    if body.name.trim().is_empty()
        || body.name.chars().count() > 100
        || body.name.chars().any(char::is_control)
    {
        return Err(ControlError::Invalid(
            "a token needs a name of 1–100 characters, without control characters".into(),
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
    let scopes = body.scopes.join(",");
    let info = state.db.mutate(&audit_record(&principal, "create_token", format!("token {}", body.name), &rid, None), |tx| {
        sql(tx.execute(
            "INSERT INTO tokens (user_id, name, kind, token_hash, scopes, created_at, expires_at) VALUES (?, ?, 'api', ?, ?, ?, ?)",
            params![principal.user_id, body.name, sha256_hex(&token), scopes, now(), expires_at],
        ))?;
        sql(tx.query_row(
            "SELECT id, name, scopes, created_at, expires_at, revoked_at, kind FROM tokens WHERE id = ?",
            params![tx.last_insert_rowid()],
            token_info,
        ))
    })?;
    Ok((StatusCode::CREATED, Json(IssuedToken { info, token })))
}

/// Revoke one of the caller's sessions or API tokens
#[utoipa::path(
    delete,
    path = paths::TOKEN,
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"))
)]
pub(super) async fn revoke_token(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ControlError> {
    state.db.mutate(
        &audit_record(
            &principal,
            "revoke_token",
            format!("token {id}"),
            &rid,
            None,
        ),
        |tx| {
            let changed = sql(tx.execute(
            "UPDATE tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
            params![now(), id, principal.user_id],
        ))?;
            if changed == 0 {
                return Err(ControlError::NotFound(format!("no active token {id}")));
            }
            Ok(())
        },
    )?;
    Ok(StatusCode::NO_CONTENT)
}
