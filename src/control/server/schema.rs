//! Projects' schemas on a local cluster's nodes: [`create`] makes a project's database and its
//! type's tables (`ddl::project_schema`) on every node — on a cluster of more than one node,
//! `<table>_local` on each plus `Distributed` tables over them, so inserts through any node
//! spread over the shards — and [`drop`] removes the database again. Both connect to each node
//! as the cluster's schema user with the library's `Connection`, so the DDL follows what the
//! nodes' version supports.

use super::ControlError;
use super::provider::{CLUSTER_NAME, LocalNode, LocalRuntime, SCHEMA_USER};
use crate::secrets::Password;
use crate::source::clickhouse::ddl::{self, Placement, ProjectType, TierDays};
use crate::source::clickhouse::{Connection, ConnectionProfile};

async fn connect(node: &LocalNode, runtime: &LocalRuntime) -> Result<Connection, ControlError> {
    if runtime.schema_password.is_empty() {
        return Err(ControlError::Conflict(
            "this cluster was made before projects created their schema; its nodes have no \
             schema user. Create a new cluster for projects with tables"
                .into(),
        ));
    }
    let mut profile = ConnectionProfile::new(
        format!("http://127.0.0.1:{}", node.http_port),
        "default",
        SCHEMA_USER,
    );
    profile.connect_timeout_secs = 10.0;
    profile.query_timeout_secs = 60.0;
    Connection::open(
        profile,
        Some(Password::new(runtime.schema_password.clone())),
    )
    .await
    .map_err(|e| node_error(node, &e))
}

fn node_error(node: &LocalNode, error: &dyn std::fmt::Display) -> ControlError {
    ControlError::Provider(format!("node s{}r{}: {error}", node.shard, node.replica))
}

/// Make `database` with `kind`'s tables on every node; the notes say what the nodes' version
/// allowed. A database of that name on any node is refused (`conflict`) and left alone; when a
/// statement fails, what this call made is dropped again, so a retry starts clean.
pub async fn create(
    runtime: &LocalRuntime,
    database: &str,
    kind: &ProjectType,
) -> Result<Vec<String>, ControlError> {
    let mut connections = Vec::with_capacity(runtime.nodes.len());
    for node in &runtime.nodes {
        let connection = connect(node, runtime).await?;
        let query = connection
            .client()
            .query("SELECT count() FROM system.databases WHERE name = ?")
            .bind(database);
        let existing: Vec<u64> = connection
            .fetch_all(query)
            .await
            .map_err(|e| node_error(node, &e))?;
        if existing.iter().sum::<u64>() > 0 {
            return Err(ControlError::Conflict(format!(
                "a database `{database}` already exists on node s{}r{}; Lyceum leaves it alone — \
                 name the project differently",
                node.shard, node.replica
            )));
        }
        connections.push((node, connection));
    }
    let placement = if runtime.nodes.len() > 1 {
        Placement::Sharded {
            cluster: CLUSTER_NAME,
        }
    } else {
        Placement::Single
    };
    let mut notes = Vec::new();
    let mut failure = None;
    'nodes: for (node, connection) in &connections {
        let plan = ddl::project_schema(
            database,
            kind,
            connection.capabilities(),
            TierDays::default(),
            placement,
        )
        .map_err(|e| ControlError::Invalid(e.to_string()))?;
        notes = plan.notes;
        for statement in &plan.statements {
            if let Err(e) = connection.execute(&statement.sql).await {
                failure = Some(node_error(
                    node,
                    &format!("creating {} failed: {e}", statement.object),
                ));
                break 'nodes;
            }
        }
    }
    if let Some(failure) = failure {
        // Checked above: no node had this database, so all of it is ours to remove.
        if let Err(e) = drop_with(&connections, database).await {
            tracing::error!(%database, error = %e, "cannot remove a half-made project schema");
        }
        return Err(failure);
    }
    Ok(notes)
}

/// Drop `database` (made by [`create`]) on every node.
pub async fn drop(runtime: &LocalRuntime, database: &str) -> Result<(), ControlError> {
    let mut connections = Vec::with_capacity(runtime.nodes.len());
    for node in &runtime.nodes {
        connections.push((node, connect(node, runtime).await?));
    }
    drop_with(&connections, database).await
}

async fn drop_with(
    connections: &[(&LocalNode, Connection)],
    database: &str,
) -> Result<(), ControlError> {
    crate::source::clickhouse::insert::check_plain_identifier("database", database)
        .map_err(|e| ControlError::Invalid(e.to_string()))?;
    for (node, connection) in connections {
        connection
            .execute(&format!(
                "DROP DATABASE IF EXISTS {}",
                crate::source::clickhouse::insert::quote_identifier(database)
            ))
            .await
            .map_err(|e| node_error(node, &e))?;
    }
    Ok(())
}
