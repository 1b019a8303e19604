//! How a cluster is doing: state and per-node health ([`ClusterStatus`]), cost estimate and
//! actuals ([`Usage`]), and its Kubernetes manifest (YAML).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, header};

use super::{ApiPath, ApiResult, Caller, ClusterId, Shared, authorize, membership};
use chrono::Datelike;
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
    let now = chrono::Utc::now();
    let stamp =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let month_start = now
        .date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(now, |t| t.and_utc());
    let week_ago = stamp(now - chrono::Duration::days(7));
    let readings: Vec<(String, i64, i64)> = state.db.read(|c| {
        let mut statement = sql(c.prepare(
            "SELECT at, bytes_on_disk, node_uptime_secs FROM usage WHERE cluster_id = ? AND at >= ? ORDER BY at",
        ))?;
        let rows = sql(statement.query_map(params![id, stamp(month_start)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))?;
        sql(rows.collect())
    })?;
    // The plot's samples: the last week's, every k-th (a sample a minute makes 10,080), and
    // the last; the cost of each counts the node-hours of the month up to it.
    let recent = readings.iter().filter(|(at, ..)| *at > week_ago).count();
    let step = recent.div_ceil(HISTORY_SAMPLES).max(1);
    let last = readings.len().saturating_sub(1);
    let mut history = Vec::with_capacity(HISTORY_SAMPLES + 1);
    let mut run = NodeHours::default();
    for (i, (at, bytes, uptime_secs)) in readings.into_iter().enumerate() {
        run.read(uptime_secs);
        let position = (i + recent).checked_sub(last + 1);
        let shown = position.is_some_and(|p| p % step == 0) || (i == last && recent > 0);
        if !shown {
            continue;
        }
        let bytes = u64::try_from(bytes).unwrap_or(0);
        history.push(UsageSample {
            at,
            bytes_on_disk: bytes,
            node_uptime_hours: run.hours(),
            cost_to_date: cost::actual(&state.db, &cluster.config, run.hours(), bytes)?,
        });
    }
    // What the nodes report now counts too (the last sample may be a minute old).
    run.read(
        nodes
            .iter()
            .filter_map(|n| n.uptime_secs)
            .sum::<u64>()
            .try_into()
            .unwrap_or(i64::MAX),
    );
    Ok(Json(Usage {
        estimate: cost::estimate(&state.db, &cluster.config)?,
        bytes_on_disk,
        node_uptime_hours,
        actual_to_date: cost::actual(&state.db, &cluster.config, run.hours(), bytes_on_disk)?,
        history,
    }))
}

/// Node-hours run this month, from readings of the running nodes' summed uptimes (about one a
/// minute): a rise is time run; a drop means a node restarted or the cluster stopped, and
/// counting goes on from the new reading — a restart never takes back hours already run, and
/// the other nodes' uptimes are never counted twice (at most the minute around a restart is
/// missed).
#[derive(Default)]
struct NodeHours {
    secs: i64,
    last: i64,
}

impl NodeHours {
    fn read(&mut self, uptime_secs: i64) {
        let uptime_secs = uptime_secs.max(0);
        self.secs += (uptime_secs - self.last).max(0);
        self.last = uptime_secs;
    }

    fn hours(&self) -> f64 {
        self.secs as f64 / 3600.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn restarts_never_take_back_hours_run() {
        let mut run = super::NodeHours::default();
        // Two hours up, stopped (0), an hour up again, a node restarted (drop), 30 min more.
        for reading in [3_600, 7_200, 0, 3_600, 1_800, 3_600] {
            run.read(reading);
        }
        assert!(
            (run.hours() - (2.0 + 1.0 + 0.5)).abs() < 1e-9,
            "{}",
            run.hours()
        );
    }
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
