//! How a cluster is doing: state and per-node health ([`ClusterStatus`]), cost estimate and
//! actuals ([`Usage`]), and its Kubernetes manifest (YAML).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, header};

use super::{ApiPath, ApiResult, Caller, ClusterId, Shared, authorize, membership};
use crate::control::api::{Action, ClusterStatus, Usage, paths};
use crate::control::server::lifecycle::{node_statuses, node_users};
use crate::control::server::{ControlError, cost, provider};

/// State and per-node health
#[utoipa::path(
    get,
    path = paths::STATUS,
    params(ClusterId),
    responses((status = 200, description = "The cluster's state and nodes", body = ClusterStatus))
)]
pub(super) async fn status(
    State(state): Shared,
    Caller(principal): Caller,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
) -> ApiResult<ClusterStatus> {
    let (cluster, _) = authorize(&state, &principal, id, Action::View)?;
    let nodes = node_statuses(&state, &cluster).await;
    // Read again: asking the nodes takes a while, and the monitor may have moved the state.
    let (cluster, _) = membership(&state, &principal, id)?;
    Ok(Json(ClusterStatus {
        state: cluster.state,
        state_reason: cluster.state_reason,
        nodes,
    }))
}

/// Cost estimate and actuals
#[utoipa::path(
    get,
    path = paths::USAGE,
    params(ClusterId),
    responses((status = 200, description = "Estimate and use to date", body = Usage))
)]
pub(super) async fn usage(
    State(state): Shared,
    Caller(principal): Caller,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
) -> ApiResult<Usage> {
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

/// Altinity ClickHouseInstallation manifest (YAML)
#[utoipa::path(
    get,
    path = paths::MANIFEST,
    params(ClusterId),
    responses((status = 200, description = "The manifest", body = String, content_type = "application/yaml"))
)]
pub(super) async fn manifest(
    State(state): Shared,
    Caller(principal): Caller,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
) -> Result<([(HeaderName, &'static str); 1], String), ControlError> {
    let (cluster, _) = authorize(&state, &principal, id, Action::Operate)?;
    let users = node_users(&state, id)?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml")],
        provider::kubernetes_manifest(&cluster.config, &users),
    ))
}
