//! Clusters ([`Cluster`]): list, create (provisioned in the background), read, change
//! (configuration, start, stop) and delete (confirmed by name).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::params;

use super::{
    ApiJson, ApiPath, ApiResult, Caller, ClusterId, RequestId, Shared, WRITE, audit_outcome,
    audit_record, authorize, authorize_change, membership, validate_config,
};
use crate::control::api::{
    Action, Cluster, ClusterConfig, ClusterState, ClusterUpdate, DeleteRequest, Role, paths,
};
use crate::control::server::ControlError;
use crate::control::server::lifecycle::{
    CLUSTER_COLUMNS, cluster_row, current, decode_cluster, provision, transition,
};
use crate::control::server::store::{insert_audit, now, sql};

/// Clusters the caller is a member of
#[utoipa::path(
    get,
    path = paths::CLUSTERS,
    responses((status = 200, description = "The caller's clusters", body = Vec<Cluster>))
)]
pub(super) async fn list_clusters(
    State(state): Shared,
    Caller(principal): Caller,
) -> ApiResult<Vec<Cluster>> {
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

/// Create and provision a cluster
///
/// Answers at once; the cluster's state follows provisioning.
#[utoipa::path(
    post,
    path = paths::CLUSTERS,
    request_body = ClusterConfig,
    responses((status = 202, description = "Created, provisioning", body = Cluster))
)]
pub(super) async fn create_cluster(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiJson(config): ApiJson<ClusterConfig>,
) -> Result<(StatusCode, Json<Cluster>), ControlError> {
    validate_config(&state, &config)?;
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
        insert_audit(tx, &audit_record(&principal, "create_cluster", format!("cluster {}", config.name), &rid, Some(id)))?;
        Ok(id)
    })?;
    let cancel = state.start_provisioning(id);
    tokio::spawn(provision(Arc::clone(&state), id, config, cancel));
    let (cluster, role) = membership(&state, &principal, id)?;
    Ok((StatusCode::ACCEPTED, Json(cluster.api(role))))
}

/// One cluster
#[utoipa::path(
    get,
    path = paths::CLUSTER,
    params(ClusterId),
    responses((status = 200, description = "The cluster", body = Cluster))
)]
pub(super) async fn get_cluster(
    State(state): Shared,
    Caller(principal): Caller,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
) -> ApiResult<Cluster> {
    let (cluster, role) = authorize(&state, &principal, id, Action::View)?;
    Ok(Json(cluster.api(role)))
}

/// Change configuration, start or stop
#[utoipa::path(
    patch,
    path = paths::CLUSTER,
    params(ClusterId),
    request_body = ClusterUpdate,
    responses((status = 200, description = "The changed cluster", body = Cluster))
)]
pub(super) async fn update_cluster(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
    ApiJson(update): ApiJson<ClusterUpdate>,
) -> ApiResult<Cluster> {
    let (cluster, role) = authorize_change(&state, &principal, &rid, id, Action::Operate)?;
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
    let name = cluster.config.name.clone();
    let _guard = match update.state {
        // Start and stop are provisioning work: one at a time, and after any delete in flight.
        Some(_) => Some(state.provisioning.lock().await),
        None => None,
    };
    // Checked against the state as it is now (a delete may have claimed the cluster since it
    // was read), in the same transaction as the change and its audit row.
    let from: &[ClusterState] = match update.state {
        // Starting a degraded cluster restarts its nodes that are down.
        Some(ClusterState::Running) => &[
            ClusterState::Stopped,
            ClusterState::Running,
            ClusterState::Degraded,
            ClusterState::Failed,
        ],
        Some(_) => &[
            ClusterState::Running,
            ClusterState::Degraded,
            ClusterState::Stopped,
        ],
        None => &[
            ClusterState::Provisioning,
            ClusterState::Running,
            ClusterState::Degraded,
            ClusterState::Stopped,
            ClusterState::Failed,
        ],
    };
    let check_and_write = |tx: &rusqlite::Transaction<'_>| {
        let now_state: String = sql(tx.query_row(
            "SELECT state FROM clusters WHERE id = ?",
            params![id],
            |r| r.get(0),
        ))?;
        let now_state = ClusterState::parse(&now_state).unwrap_or(ClusterState::Failed);
        if now_state == ClusterState::Deleted {
            return Err(ControlError::NotFound(format!("no cluster {id}")));
        }
        if !from.contains(&now_state) {
            return Err(ControlError::Conflict(format!(
                "cluster `{name}` is {}: it cannot be {}",
                now_state.as_str(),
                match update.state {
                    Some(ClusterState::Running) => "started",
                    Some(_) => "stopped",
                    None => "changed",
                }
            )));
        }
        sql(tx.execute(
            "UPDATE clusters SET config = ?, updated_at = ? WHERE id = ?",
            params![json, now(), id],
        ))
    };
    let changes_config = update.cpu_per_node.is_some()
        || update.memory_gib_per_node.is_some()
        || update.tiers.is_some();
    if changes_config {
        let record = audit_record(
            &principal,
            "update_cluster",
            format!("cluster {name}"),
            &rid,
            Some(id),
        );
        state.db.mutate(&record, check_and_write)?;
    } else {
        state.db.system(check_and_write)?;
    }
    // A start or stop is audited once it happened, or as the failure it was.
    if let Some(wanted) = update.state {
        let outcome = async {
            if let (Some(local), Some(mut runtime)) =
                (state.local.as_ref(), current(&state, id)?.runtime)
            {
                if wanted == ClusterState::Running {
                    local.start(&mut runtime).await?;
                } else {
                    local.stop(&mut runtime).await;
                }
                if !transition(&state, id, from, wanted, None, Some(&runtime))? {
                    return Err(ControlError::Conflict(format!(
                        "cluster `{name}` changed meanwhile"
                    )));
                }
            }
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => audit_outcome(
                &state,
                &principal,
                &rid,
                id,
                action,
                &format!("cluster {name}"),
            ),
            Err(e) => {
                let failed = format!("{action}_failed");
                audit_outcome(
                    &state,
                    &principal,
                    &rid,
                    id,
                    &failed,
                    &format!("cluster {name}: {e}"),
                );
                return Err(e);
            }
        }
    }
    let (cluster, _) = membership(&state, &principal, id)?;
    Ok(Json(cluster.api(role)))
}

/// Delete a cluster and its data (confirm by name)
#[utoipa::path(
    delete,
    path = paths::CLUSTER,
    params(ClusterId),
    request_body = DeleteRequest,
    responses((status = 204, description = "Deleted"))
)]
pub(super) async fn delete_cluster(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
    ApiJson(body): ApiJson<DeleteRequest>,
) -> Result<StatusCode, ControlError> {
    let (cluster, _) = authorize_change(&state, &principal, &rid, id, Action::Delete)?;
    if body.confirm_name != cluster.config.name {
        return Err(ControlError::Invalid(format!(
            "deleting removes all data: repeat the cluster's name (`{}`) in `confirm_name`",
            cluster.config.name
        )));
    }
    // Claimed in one transaction against the current state: of two deletes one wins, the
    // other finds it gone; every later change is refused.
    state.db.mutate(
        &audit_record(
            &principal,
            "delete_cluster",
            format!("cluster {}", cluster.config.name),
            &rid,
            Some(id),
        ),
        |tx| {
            let claimed = sql(tx.execute(
                "UPDATE clusters SET state = 'deleting', state_reason = NULL, updated_at = ?
                 WHERE id = ? AND state NOT IN ('deleting', 'deleted')",
                params![now(), id],
            ))?;
            if claimed == 1 {
                Ok(())
            } else {
                Err(ControlError::NotFound(format!("no cluster {id}")))
            }
        },
    )?;
    // Provisioning stops (or never starts); then, after any start or stop in flight, the
    // nodes and data go, as the provisioning left them.
    state.cancel_provisioning(id);
    let _guard = state.provisioning.lock().await;
    let deleting = [ClusterState::Deleting];
    if let (Some(local), Some(mut runtime)) = (state.local.as_ref(), current(&state, id)?.runtime)
        && let Err(e) = local.delete(&mut runtime).await
    {
        let reason = e.to_string();
        transition(
            &state,
            id,
            &deleting,
            ClusterState::Failed,
            Some(&reason),
            Some(&runtime),
        )?;
        return Err(e);
    }
    transition(&state, id, &deleting, ClusterState::Deleted, None, None)?;
    Ok(StatusCode::NO_CONTENT)
}
