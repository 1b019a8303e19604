//! Clusters ([`Cluster`]): list, create (provisioned in the background), read, change
//! (configuration, start, stop) and delete (confirmed by name).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rusqlite::params;

use super::{
    ApiJson, ApiResult, Caller, ClusterId, RequestId, Shared, WRITE, audit_record, authorize,
    membership, validate_config,
};
use crate::control::api::{
    Action, Cluster, ClusterConfig, ClusterState, ClusterUpdate, DeleteRequest, Role, paths,
};
use crate::control::server::ControlError;
use crate::control::server::lifecycle::{
    CLUSTER_COLUMNS, cluster_row, decode_cluster, provision, set_state,
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
    tokio::spawn(provision(Arc::clone(&state), id, config));
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
    Path(ClusterId { id }): Path<ClusterId>,
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
    Path(ClusterId { id }): Path<ClusterId>,
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
        &audit_record(
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
    Path(ClusterId { id }): Path<ClusterId>,
    ApiJson(body): ApiJson<DeleteRequest>,
) -> Result<StatusCode, ControlError> {
    let (mut cluster, _) = authorize(&state, &principal, id, Action::Delete)?;
    if body.confirm_name != cluster.config.name {
        return Err(ControlError::Invalid(format!(
            "deleting removes all data: repeat the cluster's name (`{}`) in `confirm_name`",
            cluster.config.name
        )));
    }
    state.db.mutate(
        &audit_record(
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
