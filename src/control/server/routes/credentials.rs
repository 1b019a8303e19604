//! A cluster's ClickHouse credentials ([`Credential`]): metadata, issue, rotate, revoke. Only
//! hashes are stored; a password is shown once ([`IssuedCredential`]), and every change is
//! pushed to the cluster's nodes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::params;

use super::{
    ApiJson, ApiPath, ApiResult, Caller, ClusterId, RequestId, Shared, WRITE, audit_record,
    authorize, authorize_change, check_name, take_back,
};
use crate::control::api::{Action, Credential, IssuedCredential, NewCredential, paths};
use crate::control::server::ControlError;
use crate::control::server::auth::{new_secret, sha256_hex};
use crate::control::server::lifecycle::apply_credentials;
use crate::control::server::store::{now, optional, sql};

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

/// Credential metadata
#[utoipa::path(
    get,
    path = paths::CREDENTIALS,
    params(ClusterId),
    responses((status = 200, description = "Credentials, without secrets", body = Vec<Credential>))
)]
pub(super) async fn list_credentials(
    State(state): Shared,
    Caller(principal): Caller,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
) -> ApiResult<Vec<Credential>> {
    authorize(&state, &principal, id, Action::View)?;
    state.db.read(|c| {
        let mut statement = sql(c.prepare(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM assets WHERE cluster_id = ? AND kind = 'credential' ORDER BY id"
        )))?;
        let rows = sql(statement.query_map(params![id], credential))?;
        Ok(Json(sql(rows.collect())?))
    })
}

/// Issue a ClickHouse credential (password shown once)
#[utoipa::path(
    post,
    path = paths::CREDENTIALS,
    params(ClusterId),
    request_body = NewCredential,
    responses((status = 201, description = "The credential and its password", body = IssuedCredential))
)]
pub(super) async fn issue_credential(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
    ApiJson(body): ApiJson<NewCredential>,
) -> Result<(StatusCode, Json<IssuedCredential>), ControlError> {
    let (cluster, _) = authorize_change(&state, &principal, &rid, id, Action::IssueCredential)?;
    check_name("ClickHouse user", &body.user, '_')?;
    if body.user.starts_with("lyceum_") || body.user == "default" {
        return Err(ControlError::Invalid(format!(
            "`{}` is reserved",
            body.user
        )));
    }
    let password = new_secret("");
    let target = format!("cluster {} user {}", cluster.config.name, body.user);
    let issued = state.db.mutate(&audit_record(&principal, "issue_credential", target.clone(), &rid, Some(id)), |tx| {
        // A revoked credential's name is issued again in its row.
        let reissued = sql(tx.execute(
            "UPDATE assets SET secret_hash = ?, created_at = ?, rotated_at = NULL, revoked_at = NULL
             WHERE cluster_id = ? AND kind = 'credential' AND name = ? AND revoked_at IS NOT NULL",
            params![sha256_hex(&password), now(), id, body.user],
        ))?;
        if reissued == 0 {
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
        }
        sql(tx.query_row(
            &format!("SELECT {CREDENTIAL_COLUMNS} FROM assets WHERE cluster_id = ? AND kind = 'credential' AND name = ?"),
            params![id, body.user],
            credential,
        ))
    })?;
    if let Err(e) = apply_credentials(&state, &cluster).await {
        // The nodes never got it: it is not issued (a later issue of the name starts afresh).
        take_back(
            &state,
            &principal,
            &rid,
            id,
            "issue_credential_failed",
            &format!("{target}: {e}"),
            |tx| sql(tx.execute("DELETE FROM assets WHERE id = ?", params![issued.id])),
        );
        return Err(e);
    }
    Ok((
        StatusCode::CREATED,
        Json(IssuedCredential {
            credential: issued,
            password,
        }),
    ))
}

/// Rotate a credential (new password shown once)
#[utoipa::path(
    post,
    path = paths::ROTATE_CREDENTIAL,
    params(ClusterId, ("credential" = i64, Path, description = "The credential's id")),
    responses((status = 200, description = "The credential and its new password", body = IssuedCredential))
)]
pub(super) async fn rotate_credential(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath((id, credential_id)): ApiPath<(i64, i64)>,
) -> ApiResult<IssuedCredential> {
    let (cluster, _) = authorize_change(&state, &principal, &rid, id, Action::ManageCredentials)?;
    let password = new_secret("");
    let target = format!("cluster {} credential {credential_id}", cluster.config.name);
    let mut before: Option<(String, Option<String>)> = None;
    let rotated = state.db.mutate(&audit_record(&principal, "rotate_credential", target.clone(), &rid, Some(id)), |tx| {
        before = optional(tx.query_row(
            "SELECT secret_hash, rotated_at FROM assets WHERE id = ? AND cluster_id = ? AND kind = 'credential'",
            params![credential_id, id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ))?;
        let changed = sql(tx.execute(
            "UPDATE assets SET secret_hash = ?, rotated_at = ? WHERE id = ? AND cluster_id = ? AND kind = 'credential' AND revoked_at IS NULL",
            params![sha256_hex(&password), now(), credential_id, id],
        ))?;
        if changed == 0 {
            return Err(ControlError::NotFound(format!("no active credential {credential_id}")));
        }
        sql(tx.query_row(&format!("SELECT {CREDENTIAL_COLUMNS} FROM assets WHERE id = ?"), params![credential_id], credential))
    })?;
    if let Err(e) = apply_credentials(&state, &cluster).await {
        // The nodes still take the old password: so does the record.
        if let Some((hash, rotated_at)) = before {
            take_back(
                &state,
                &principal,
                &rid,
                id,
                "rotate_credential_failed",
                &format!("{target}: {e}"),
                |tx| {
                    sql(tx.execute(
                        "UPDATE assets SET secret_hash = ?, rotated_at = ? WHERE id = ?",
                        params![hash, rotated_at, credential_id],
                    ))
                },
            );
        }
        return Err(e);
    }
    Ok(Json(IssuedCredential {
        credential: rotated,
        password,
    }))
}

/// Revoke a credential
#[utoipa::path(
    delete,
    path = paths::CREDENTIAL,
    params(ClusterId, ("credential" = i64, Path, description = "The credential's id")),
    responses((status = 204, description = "Revoked"))
)]
pub(super) async fn revoke_credential(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath((id, credential_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ControlError> {
    let (cluster, _) = authorize_change(&state, &principal, &rid, id, Action::ManageCredentials)?;
    let target = format!("cluster {} credential {credential_id}", cluster.config.name);
    state.db.mutate(&audit_record(&principal, "revoke_credential", target.clone(), &rid, Some(id)), |tx| {
        let changed = sql(tx.execute(
            "UPDATE assets SET revoked_at = ? WHERE id = ? AND cluster_id = ? AND kind = 'credential' AND revoked_at IS NULL",
            params![now(), credential_id, id],
        ))?;
        if changed == 0 {
            return Err(ControlError::NotFound(format!("no active credential {credential_id}")));
        }
        Ok(())
    })?;
    if let Err(e) = apply_credentials(&state, &cluster).await {
        // The nodes still take it: it is not revoked.
        take_back(
            &state,
            &principal,
            &rid,
            id,
            "revoke_credential_failed",
            &format!("{target}: {e}"),
            |tx| {
                sql(tx.execute(
                    "UPDATE assets SET revoked_at = NULL WHERE id = ?",
                    params![credential_id],
                ))
            },
        );
        return Err(e);
    }
    Ok(StatusCode::NO_CONTENT)
}
