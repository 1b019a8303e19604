//! A cluster's members and their roles ([`Member`]): list, add or change, remove. Admins manage
//! engineers and viewers; only owners make or unmake owners and admins, and a cluster keeps at
//! least one owner.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::params;

use super::{
    ApiJson, ApiPath, ApiResult, Caller, ClusterId, RequestId, Shared, WRITE, audit_outcome,
    audit_record, authorize, authorize_change,
};
use crate::control::api::{Action, Member, Role, paths};
use crate::control::server::ControlError;
use crate::control::server::store::{optional, sql};

/// Members and roles
#[utoipa::path(
    get,
    path = paths::MEMBERS,
    params(ClusterId),
    responses((status = 200, description = "Members by name", body = Vec<Member>))
)]
pub(super) async fn list_members(
    State(state): Shared,
    Caller(principal): Caller,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
) -> ApiResult<Vec<Member>> {
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

/// Add a member or change a role
#[utoipa::path(
    post,
    path = paths::MEMBERS,
    params(ClusterId),
    request_body = Member,
    responses((status = 204, description = "Added or changed"))
)]
pub(super) async fn put_member(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
    ApiJson(member): ApiJson<Member>,
) -> Result<StatusCode, ControlError> {
    let (cluster, role) = authorize_change(&state, &principal, &rid, id, Action::ManageMembers)?;
    // Adding by name tells an admin whether the account exists; every refusal is audited, so
    // an admin probing names shows in the trail.
    let outcome = state.db.mutate(
        &audit_record(
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
            let user_id = user_id.ok_or_else(|| {
                ControlError::NotFound(format!("no account `{}` to add", member.user))
            })?;
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
                keep_an_owner(tx, id)?;
            }
            sql(tx.execute(
                "INSERT INTO memberships (cluster_id, user_id, role) VALUES (?, ?, ?)
             ON CONFLICT (cluster_id, user_id) DO UPDATE SET role = excluded.role",
                params![id, user_id, member.role.as_str()],
            ))
        },
    );
    if let Err(e) = &outcome {
        let refused = format!(
            "cluster {} member {}: {e}",
            cluster.config.name, member.user
        );
        audit_outcome(&state, &principal, &rid, id, "put_member_refused", &refused);
    }
    outcome?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member
#[utoipa::path(
    delete,
    path = paths::MEMBER,
    params(ClusterId, ("user" = String, Path, description = "The member's user name")),
    responses((status = 204, description = "Removed"))
)]
pub(super) async fn remove_member(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath((id, user)): ApiPath<(i64, String)>,
) -> Result<StatusCode, ControlError> {
    let (cluster, role) = authorize_change(&state, &principal, &rid, id, Action::ManageMembers)?;
    state.db.mutate(&audit_record(&principal, "remove_member", format!("cluster {} member {user}", cluster.config.name), &rid, Some(id)), |tx| {
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
            keep_an_owner(tx, id)?;
        }
        sql(tx.execute(
            "DELETE FROM memberships WHERE cluster_id = ? AND user_id = (SELECT id FROM users WHERE name = ?)",
            params![id, user],
        ))
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Refuse to take away an owner when it is the cluster's last one.
fn keep_an_owner(tx: &rusqlite::Transaction<'_>, id: i64) -> Result<(), ControlError> {
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
    Ok(())
}
