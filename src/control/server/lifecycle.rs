//! A cluster's life beyond the request that changes it: the stored row ([`ClusterRow`]), state
//! changes ([`set_state`]), provisioning in the background ([`provision`]), the credentials its
//! nodes accept ([`node_users`], [`apply_credentials`]), and the [`monitor`] that keeps states
//! in line with what the nodes report. Background failures are logged (`tracing`), since no
//! client is waiting for them.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::params;
use tokio_util::sync::CancellationToken;

use super::provider::{LocalRuntime, NodeUser};
use super::store::{Db, now, sql};
use super::{AppState, ControlError};
use crate::control::api::{Cluster, ClusterConfig, ClusterState, NodeStatus, ProviderKind, Role};

/// A cluster row as stored.
pub struct ClusterRow {
    pub id: i64,
    pub config: ClusterConfig,
    pub state: ClusterState,
    pub state_reason: Option<String>,
    pub runtime: Option<LocalRuntime>,
    created_at: String,
    updated_at: String,
}

/// A cluster's columns as read: id, config, state, reason, runtime, created, updated.
pub type RawCluster = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

/// The columns [`cluster_row`] reads, from `clusters c`.
pub const CLUSTER_COLUMNS: &str =
    "c.id, c.config, c.state, c.state_reason, c.runtime, c.created_at, c.updated_at";

pub fn cluster_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawCluster> {
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

pub fn decode_cluster(raw: RawCluster) -> Result<ClusterRow, ControlError> {
    let (id, config, state, state_reason, runtime, created_at, updated_at) = raw;
    let bad =
        |what: &str| ControlError::Internal(format!("cluster {id}: stored {what} is unreadable"));
    Ok(ClusterRow {
        id,
        config: serde_json::from_str(&config).map_err(|_| bad("configuration"))?,
        state: ClusterState::parse(&state).ok_or_else(|| bad("state"))?,
        state_reason,
        runtime: runtime
            .map(|r| serde_json::from_str::<LocalRuntime>(&r))
            .transpose()
            .map_err(|_| bad("runtime"))?
            .map(|mut runtime| {
                if let Err(e) = runtime.load_secrets() {
                    tracing::warn!(cluster_id = id, error = %e, "node secrets missing: the nodes cannot be monitored");
                }
                runtime
            }),
        created_at,
        updated_at,
    })
}

impl ClusterRow {
    /// The cluster as the API shows it to a member with `role`.
    pub fn api(&self, role: Role) -> Cluster {
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

/// Rows stored before node secrets moved out of the database: the secrets go to each
/// cluster's private folder (when it still exists) and the row is written again without
/// them; deleted content is overwritten (`secure_delete`) and the WAL truncated, so the old
/// text is gone from the files too.
pub fn move_node_secrets_out_of_database(db: &Db) -> Result<(), ControlError> {
    let moved = db.system(|tx| {
        let rows: Vec<(i64, String)> = {
            let mut statement = sql(tx.prepare(
                "SELECT id, runtime FROM clusters WHERE instr(runtime, '\"monitor_password\"') > 0",
            ))?;
            let rows = sql(statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?))))?;
            sql(rows.collect())?
        };
        for (id, json) in &rows {
            let runtime: LocalRuntime = serde_json::from_str(json).map_err(|_| {
                ControlError::Internal(format!("cluster {id}: stored runtime is unreadable"))
            })?;
            if runtime.dir.exists() {
                runtime.save_secrets()?;
            }
            let stripped = serde_json::to_string(&runtime)
                .map_err(|e| ControlError::Internal(e.to_string()))?;
            sql(tx.execute(
                "UPDATE clusters SET runtime = ? WHERE id = ?",
                params![stripped, id],
            ))?;
        }
        Ok(rows.len())
    })?;
    if moved > 0 {
        tracing::info!(clusters = moved, "node secrets moved out of the database");
        db.checkpoint()?;
    }
    Ok(())
}

/// Move cluster `id` to `new` if it is now in one of `from` (checked and written in one
/// statement, so a concurrent change cannot be overwritten); `runtime`, when given, is stored
/// with it. Whether it moved.
pub fn transition(
    state: &AppState,
    id: i64,
    from: &[ClusterState],
    new: ClusterState,
    reason: Option<&str>,
    runtime: Option<&LocalRuntime>,
) -> Result<bool, ControlError> {
    let runtime = runtime
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| ControlError::Internal(e.to_string()))?;
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let from = serde_json::to_string(&from).map_err(|e| ControlError::Internal(e.to_string()))?;
    let moved = state.db.system(|tx| {
        sql(tx.execute(
            "UPDATE clusters SET state = ?, state_reason = ?, runtime = coalesce(?, runtime), updated_at = ?
             WHERE id = ? AND state IN (SELECT value FROM json_each(?))",
            params![new.as_str(), reason, runtime, now(), id, from],
        ))
    })?;
    Ok(moved == 1)
}

/// Cluster `id` as stored now, whatever its state (deleted included).
pub fn current(state: &AppState, id: i64) -> Result<ClusterRow, ControlError> {
    let raw = state.db.read(|c| {
        sql(c.query_row(
            &format!("SELECT {CLUSTER_COLUMNS} FROM clusters c WHERE c.id = ?"),
            params![id],
            cluster_row,
        ))
    })?;
    decode_cluster(raw)
}

/// The issued, unrevoked credentials of a cluster, as its nodes need them.
pub fn node_users(state: &AppState, id: i64) -> Result<Vec<NodeUser>, ControlError> {
    state.db.read(|c| {
        let mut statement = sql(c.prepare(
            "SELECT name, secret_hash FROM assets WHERE cluster_id = ? AND kind = 'credential' AND revoked_at IS NULL ORDER BY id",
        ))?;
        let rows = sql(statement.query_map(params![id], |r| Ok(NodeUser { name: r.get(0)?, password_sha256: r.get(1)? })))?;
        sql(rows.collect())
    })
}

/// Push the cluster's current credentials to its nodes (local provider).
pub async fn apply_credentials(state: &AppState, cluster: &ClusterRow) -> Result<(), ControlError> {
    if let (Some(local), Some(runtime)) = (state.local.as_ref(), cluster.runtime.as_ref()) {
        let _guard = state.provisioning.lock().await;
        local.write_users(runtime, &node_users(state, cluster.id)?)?;
    }
    Ok(())
}

/// Per node: up or down and what it reports (none for clusters without local nodes).
pub async fn node_statuses(state: &AppState, cluster: &ClusterRow) -> Vec<NodeStatus> {
    match (state.local.as_ref(), cluster.runtime.as_ref()) {
        (Some(local), Some(runtime)) => local.status(runtime).await,
        _ => Vec::new(),
    }
}

/// Provision in the background: provisioning → running, or failed with the reason. A delete
/// claims the cluster first (state `deleting`) and cancels `cancel`: provisioning that has not
/// begun never begins, nodes being started are stopped, and nothing here moves a cluster that
/// is no longer `provisioning` (the delete removes what was laid out).
pub async fn provision(
    state: Arc<AppState>,
    id: i64,
    config: ClusterConfig,
    cancel: CancellationToken,
) {
    const FROM: &[ClusterState] = &[ClusterState::Provisioning];
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
                if cancel.is_cancelled() || current(&state, id)?.state != ClusterState::Provisioning
                {
                    return Err(ControlError::Conflict(
                        "deleted before it was provisioned".into(),
                    ));
                }
                let mut runtime = local.plan(id, &config, &node_users(&state, id)?)?;
                if !transition(
                    &state,
                    id,
                    FROM,
                    ClusterState::Provisioning,
                    None,
                    Some(&runtime),
                )? {
                    return Err(ControlError::Conflict(
                        "deleted while being laid out".into(),
                    ));
                }
                let started = tokio::select! {
                    started = local.start(&mut runtime) => Some(started),
                    () = cancel.cancelled() => None,
                };
                match started {
                    Some(Ok(())) => Ok((ClusterState::Running, None, Some(runtime))),
                    Some(Err(e)) => {
                        local.stop(&mut runtime).await;
                        transition(
                            &state,
                            id,
                            FROM,
                            ClusterState::Failed,
                            Some(&e.to_string()),
                            Some(&runtime),
                        )?;
                        Err(e)
                    }
                    None => {
                        local.stop(&mut runtime).await;
                        // Stored with no pids, for the delete to remove the folders.
                        transition(
                            &state,
                            id,
                            &[ClusterState::Deleting],
                            ClusterState::Deleting,
                            None,
                            Some(&runtime),
                        )?;
                        Err(ControlError::Conflict(
                            "deleted while its nodes started".into(),
                        ))
                    }
                }
            }
        }
    }
    .await;
    state.forget_provisioning(id);
    // The cluster's state tells clients what happened; the log tells the operator.
    let outcome = match result {
        Ok((new, reason, mut runtime)) => {
            match transition(&state, id, FROM, new, reason.as_deref(), runtime.as_ref()) {
                Ok(true) => Ok(()),
                // Deleted the moment it came up: its nodes go too.
                Ok(false) => {
                    if let (Some(local), Some(runtime)) = (state.local.as_ref(), runtime.as_mut()) {
                        local.stop(runtime).await;
                        transition(
                            &state,
                            id,
                            &[ClusterState::Deleting],
                            ClusterState::Deleting,
                            None,
                            Some(runtime),
                        )
                        .map(|_| ())
                    } else {
                        Ok(())
                    }
                }
                Err(e) => Err(e),
            }
        }
        Err(ControlError::Conflict(why)) => {
            tracing::info!(cluster_id = id, cluster = %config.name, why, "provisioning stopped");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(cluster_id = id, cluster = %config.name, error = %e, "provisioning failed");
            transition(
                &state,
                id,
                FROM,
                ClusterState::Failed,
                Some(&e.to_string()),
                None,
            )
            .map(|_| ())
        }
    };
    if let Err(e) = outcome {
        tracing::error!(
            cluster_id = id,
            cluster = %config.name,
            error = %e,
            "cannot record the provisioning outcome; the cluster keeps its last stored state"
        );
    }
}

/// Bring the stored clusters in line with what really exists, when the server starts: a
/// cluster left `provisioning` by a control plane that died has its nodes (found by their
/// config files, recorded or not) stopped and is `failed`, to be deleted or created again; one
/// left `deleting` is deleted; every other local cluster's nodes get the credentials the
/// database holds (a change is written there first, so a crash before the nodes' files were
/// rewritten is finished here).
pub async fn reconcile_on_start(state: &AppState) -> Result<(), ControlError> {
    let Some(local) = state.local.as_ref() else {
        return Ok(());
    };
    let rows = state.db.read(|c| {
        let mut statement = sql(c.prepare(&format!(
            "SELECT {CLUSTER_COLUMNS} FROM clusters c WHERE c.state != 'deleted' AND c.runtime IS NOT NULL"
        )))?;
        let rows = sql(statement.query_map([], cluster_row))?;
        sql(rows.collect::<Result<Vec<_>, _>>())
    })?;
    let _guard = state.provisioning.lock().await;
    for raw in rows {
        let id = raw.0;
        // One unreadable row must not keep the server from starting.
        let cluster = match decode_cluster(raw) {
            Ok(cluster) => cluster,
            Err(e) => {
                tracing::error!(cluster_id = id, error = %e, "cannot reconcile a cluster");
                continue;
            }
        };
        let name = cluster.config.name.clone();
        let Some(mut runtime) = cluster.runtime else {
            continue;
        };
        match cluster.state {
            ClusterState::Provisioning => {
                local.stop(&mut runtime).await;
                let reason =
                    "the control plane stopped while provisioning it: delete it, or start it again";
                transition(
                    state,
                    id,
                    &[ClusterState::Provisioning],
                    ClusterState::Failed,
                    Some(reason),
                    Some(&runtime),
                )?;
                tracing::warn!(cluster_id = id, cluster = %name, "interrupted provisioning: nodes stopped, cluster failed");
            }
            ClusterState::Deleting => {
                local.delete(&mut runtime).await?;
                transition(
                    state,
                    id,
                    &[ClusterState::Deleting],
                    ClusterState::Deleted,
                    None,
                    None,
                )?;
                tracing::info!(cluster_id = id, cluster = %name, "interrupted delete finished");
            }
            _ => local.write_users(&runtime, &node_users(state, id)?)?,
        }
    }
    Ok(())
}

/// At most one usage sample per cluster a minute: bytes on disk and node uptime, as reported.
fn record_usage(state: &AppState, id: i64, nodes: &[NodeStatus]) -> Result<(), ControlError> {
    let bytes: u64 = nodes.iter().filter_map(|n| n.bytes_on_disk).sum();
    let uptime: u64 = nodes.iter().filter_map(|n| n.uptime_secs).sum();
    let minute_ago = (chrono::Utc::now() - chrono::Duration::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    state.db.system(|tx| {
        sql(tx.execute(
            "INSERT INTO usage (cluster_id, at, bytes_on_disk, node_uptime_secs)
             SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM usage WHERE cluster_id = ?1 AND at > ?5)",
            params![id, now(), i64::try_from(bytes).unwrap_or(i64::MAX), i64::try_from(uptime).unwrap_or(i64::MAX), minute_ago],
        ))
    })?;
    Ok(())
}

/// Keep states in line with the nodes: a running cluster with a node down is degraded, a
/// degraded one with every node up is running again. Runs every 2 s; on a restarted server
/// its first pass re-attaches to the nodes that kept running. Failures are logged and the
/// next pass tries again (a busy database must not stop monitoring).
pub async fn monitor(state: Arc<AppState>) {
    loop {
        let clusters = state.db.read(|c| {
            let mut statement = sql(c.prepare(&format!(
                "SELECT {CLUSTER_COLUMNS} FROM clusters c WHERE c.state IN ('running', 'degraded')"
            )))?;
            let rows = sql(statement.query_map([], cluster_row))?;
            sql(rows.collect::<Result<Vec<_>, _>>())
        });
        let clusters = clusters.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "monitor: cannot read the running clusters");
            Vec::new()
        });
        for raw in clusters {
            let id = raw.0;
            match decode_cluster(raw) {
                Ok(cluster) => check_nodes(&state, &cluster).await,
                Err(e) => tracing::warn!(cluster_id = id, error = %e, "monitor: skipping cluster"),
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// One monitor pass over one cluster: record usage, then running ↔ degraded.
async fn check_nodes(state: &AppState, cluster: &ClusterRow) {
    let nodes = node_statuses(state, cluster).await;
    if nodes.is_empty() {
        return;
    }
    let (id, name) = (cluster.id, &cluster.config.name);
    if let Err(e) = record_usage(state, id, &nodes) {
        tracing::warn!(cluster_id = id, cluster = %name, error = %e, "monitor: cannot record usage");
    }
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
        let updated = state.db.system(|tx| {
            sql(tx.execute(
                "UPDATE clusters SET state = ?, state_reason = ?, updated_at = ? WHERE id = ? AND state IN ('running', 'degraded')",
                params![new.as_str(), reason, now(), id],
            ))
        });
        match updated {
            Ok(_) => tracing::info!(
                cluster_id = id,
                cluster = %name,
                state = new.as_str(),
                reason = reason.as_deref().unwrap_or(""),
                "monitor: cluster state changed"
            ),
            Err(e) => tracing::warn!(
                cluster_id = id,
                cluster = %name,
                state = new.as_str(),
                error = %e,
                "monitor: cannot record the cluster's state"
            ),
        }
    }
}
