//! How a cluster is doing: state and per-node health ([`ClusterStatus`]), cost estimate and
//! actuals ([`Usage`]), and its Kubernetes manifest (YAML).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, header};

use super::{ApiPath, ApiResult, Caller, ClusterId, Shared, authorize, membership};
use rusqlite::params;

use crate::control::api::{Action, ClusterStatus, Usage, UsageSample, paths};
use crate::control::server::lifecycle::{node_statuses, node_users};
use crate::control::server::store::sql;
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

/// Samples of use history returned at most.
const HISTORY_SAMPLES: usize = 500;

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
    let week_ago = (chrono::Utc::now() - chrono::Duration::days(7))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let readings: Vec<(String, i64, i64)> = state.db.read(|c| {
        let mut statement = sql(c.prepare(
            "SELECT at, bytes_on_disk, node_uptime_secs FROM usage WHERE cluster_id = ? AND at > ? ORDER BY at",
        ))?;
        let rows = sql(statement.query_map(params![id, week_ago], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))?;
        sql(rows.collect())
    })?;
    // A sample a minute makes 10,080 a week: every k-th keeps the plot's shape, and the last.
    let step = readings.len().div_ceil(HISTORY_SAMPLES).max(1);
    let last = readings.len().saturating_sub(1);
    let mut history = Vec::with_capacity(HISTORY_SAMPLES + 1);
    for (i, (at, bytes, uptime_secs)) in readings.into_iter().enumerate() {
        if i % step != 0 && i != last {
            continue;
        }
        let bytes = u64::try_from(bytes).unwrap_or(0);
        let hours = uptime_secs.max(0) as f64 / 3600.0;
        history.push(UsageSample {
            at,
            bytes_on_disk: bytes,
            node_uptime_hours: hours,
            cost_to_date: cost::actual(&state.db, &cluster.config, hours, bytes)?,
        });
    }
    Ok(Json(Usage {
        estimate: cost::estimate(&state.db, &cluster.config)?,
        bytes_on_disk,
        node_uptime_hours,
        actual_to_date: cost::actual(&state.db, &cluster.config, node_uptime_hours, bytes_on_disk)?,
        history,
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
