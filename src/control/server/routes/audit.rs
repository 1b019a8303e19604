//! The audit log as a caller may read it ([`AuditEntry`]): rows of the clusters they own or
//! administer, and their own actions.

use axum::Json;
use axum::extract::State;
use rusqlite::params;

use super::{ApiResult, Caller, Shared};
use crate::control::api::{AuditEntry, paths};
use crate::control::server::store::sql;

/// Audit rows of administered clusters and own actions
///
/// Newest first, at most 1000.
#[utoipa::path(
    get,
    path = paths::AUDIT,
    responses((status = 200, description = "Audit rows", body = Vec<AuditEntry>))
)]
pub(super) async fn list_audit(
    State(state): Shared,
    Caller(principal): Caller,
) -> ApiResult<Vec<AuditEntry>> {
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
        Ok(Json(sql(rows.collect())?))
    })
}
