//! Where a database's data lives: per table its rows, bytes on disk and uncompressed, parts,
//! and per partition the same with its time span and — on servers that have them (19.15+) —
//! the disk each part is on; the table's storage policy and TTL rules as the server reports
//! them. Read from `system.parts` (active parts) and `system.tables`, asking only for the
//! columns this server's tables have, so 18.16 gets sizes and says what it lacks.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::connection::Connection;
use super::error::Result;
use super::plan::{BindValue, BoundSql};

/// One partition of a table, summed over its active parts (per disk where known).
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionStorage {
    pub partition: String,
    /// The id `ALTER … PARTITION ID` names it by (empty where the server does not say).
    pub partition_id: String,
    /// The disk its parts are on (none: the server does not say).
    pub disk: Option<String>,
    pub parts: u64,
    pub rows: u64,
    pub bytes_on_disk: u64,
    /// Epoch seconds of the oldest and newest row time the parts record (0: none recorded).
    pub min_time: i64,
    pub max_time: i64,
}

/// One table.
#[derive(Clone, Debug, PartialEq)]
pub struct TableStorage {
    pub table: String,
    pub engine: String,
    pub rows: u64,
    pub bytes_on_disk: u64,
    pub uncompressed_bytes: u64,
    pub parts: u64,
    pub partitions: Vec<PartitionStorage>,
    /// The storage policy (none: the server's default, or a server without policies).
    pub policy: Option<String>,
    /// The table's TTL clause as the server reports it (none: no TTL).
    pub ttl: Option<String>,
}

/// A database's storage, and what this server cannot tell.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageReport {
    pub tables: Vec<TableStorage>,
    /// Whether parts say which disk they are on (storage policies, 19.15+).
    pub disks_known: bool,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct PartRow {
    table: String,
    partition: String,
    part_id: String,
    disk: String,
    parts: u64,
    part_rows: u64,
    disk_bytes: u64,
    uncompressed: u64,
    first_time: i64,
    last_time: i64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct TableRow {
    name: String,
    engine: String,
    engine_full: String,
}

/// The columns of `system.parts` the query needs, as this server names them.
struct PartColumns {
    bytes: &'static str,
    disk: Option<&'static str>,
}

/// The parts query for a server whose `system.parts` has `columns`.
pub fn parts_sql(database: &str, columns: &[String]) -> BoundSql {
    let has = |name: &str| columns.iter().any(|c| c == name);
    let names = PartColumns {
        bytes: if has("bytes_on_disk") {
            "bytes_on_disk"
        } else {
            "bytes"
        },
        disk: has("disk_name").then_some("disk_name"),
    };
    let time = |column: &str| {
        if has(column) {
            format!("toInt64(toUInt32({column}))")
        } else {
            "toInt64(0)".to_owned()
        }
    };
    let mut sql = BoundSql::default();
    sql.push(&format!(
        // Aliases differ from column names: an alias naming its own column loops.
        "SELECT table, partition, {} AS part_id, {} AS disk, toUInt64(count()) AS parts, \
         toUInt64(sum(rows)) AS part_rows, toUInt64(sum({})) AS disk_bytes, \
         toUInt64(sum(data_uncompressed_bytes)) AS uncompressed, min({}) AS first_time, \
         max({}) AS last_time FROM system.parts WHERE active AND database = ",
        if has("partition_id") {
            "toString(any(partition_id))"
        } else {
            "''"
        },
        names
            .disk
            .map_or_else(|| "''".to_owned(), |d| format!("toString({d})")),
        names.bytes,
        time("min_time"),
        time("max_time"),
    ))
    .bind(BindValue::Str(database.to_owned()))
    .push(" GROUP BY table, partition, disk ORDER BY table, partition, disk");
    sql
}

/// The TTL clause of a table's full engine text, if it has one.
fn ttl_of(engine_full: &str) -> Option<String> {
    let start = engine_full.find(" TTL ")? + 1;
    let rest = &engine_full[start..];
    let end = rest.find(" SETTINGS ").unwrap_or(rest.len());
    Some(rest[..end].trim().to_owned())
}

/// The storage policy of a table's full engine text, if named.
fn policy_of(engine_full: &str) -> Option<String> {
    let rest = &engine_full[engine_full.find("storage_policy = '")? + "storage_policy = '".len()..];
    Some(rest[..rest.find('\'')?].to_owned())
}

/// `ALTER TABLE database.table MOVE PARTITION ID 'id' TO VOLUME 'volume'`.
pub fn move_partition_sql(
    database: &str,
    table: &str,
    partition_id: &str,
    volume: &str,
) -> BoundSql {
    let mut sql = BoundSql::default();
    sql.push("ALTER TABLE ")
        .bind(BindValue::Identifier(database.to_owned()))
        .push(".")
        .bind(BindValue::Identifier(table.to_owned()))
        .push(" MOVE PARTITION ID ")
        .bind(BindValue::Str(partition_id.to_owned()))
        .push(" TO VOLUME ")
        .bind(BindValue::Str(volume.to_owned()));
    sql
}

/// `ALTER TABLE database.table MODIFY TTL toDateTime(time) + INTERVAL d DAY TO VOLUME 'v', …`:
/// rows move to each volume `d` days after their time. The days must grow from volume to
/// volume (a row cannot go back), and at least one move is needed.
pub fn tier_ttl_sql(
    database: &str,
    table: &str,
    time_column: &str,
    moves: &[(u32, String)],
) -> std::result::Result<BoundSql, String> {
    if moves.is_empty() {
        return Err("no move: set the days for at least one volume".into());
    }
    if moves.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err("each volume's days must be more than the one before".into());
    }
    let mut sql = BoundSql::default();
    sql.push("ALTER TABLE ")
        .bind(BindValue::Identifier(database.to_owned()))
        .push(".")
        .bind(BindValue::Identifier(table.to_owned()))
        .push(" MODIFY TTL ");
    for (i, (days, volume)) in moves.iter().enumerate() {
        sql.push(if i > 0 { ", " } else { "" })
            .push("toDateTime(")
            .bind(BindValue::Identifier(time_column.to_owned()))
            .push(&format!(") + INTERVAL {days} DAY TO VOLUME "))
            .bind(BindValue::Str(volume.clone()));
    }
    Ok(sql)
}

/// The time column a table's TTL counts from (`toDateTime(ts) + …` → `ts`), if it has one.
pub fn ttl_time_column(ttl: &str) -> Option<String> {
    let rest = &ttl[ttl.find("toDateTime(")? + "toDateTime(".len()..];
    Some(rest[..rest.find(')')?].trim_matches('`').to_owned())
}

impl Connection {
    /// Set `table`'s TTL moves (see [`tier_ttl_sql`]).
    pub async fn set_tier_ttl(
        &self,
        database: &str,
        table: &str,
        time_column: &str,
        moves: &[(u32, String)],
    ) -> Result<()> {
        let sql = tier_ttl_sql(database, table, time_column, moves)
            .map_err(super::error::ClickHouseError::InvalidRequest)?;
        self.execute_bound(&sql).await
    }

    /// Move one partition of a table to a volume of its storage policy (servers with storage
    /// policies; the server refuses a volume the policy lacks).
    pub async fn move_partition(
        &self,
        database: &str,
        table: &str,
        partition_id: &str,
        volume: &str,
    ) -> Result<()> {
        self.execute_bound(&move_partition_sql(database, table, partition_id, volume))
            .await
    }

    /// What each table of `database` holds and where.
    pub async fn storage(&self, database: &str) -> Result<StorageReport> {
        let columns: Vec<String> = self
            .fetch_all(
                self.query(
                    "SELECT name FROM system.columns WHERE database = 'system' AND table = 'parts'",
                )
                .0,
            )
            .await?;
        let parts: Vec<PartRow> = self
            .fetch_all(parts_sql(database, &columns).to_query(self.client()))
            .await?;
        let mut tables_sql = BoundSql::default();
        tables_sql
            .push("SELECT name, engine, engine_full FROM system.tables WHERE database = ")
            .bind(BindValue::Str(database.to_owned()))
            .push(" ORDER BY name");
        let tables: Vec<TableRow> = self.fetch_all(tables_sql.to_query(self.client())).await?;
        let disks_known = columns.iter().any(|c| c == "disk_name");
        let mut by_table: BTreeMap<String, Vec<PartRow>> = BTreeMap::new();
        for part in parts {
            by_table.entry(part.table.clone()).or_default().push(part);
        }
        let tables = tables
            .into_iter()
            .map(|t| {
                let parts = by_table.remove(&t.name).unwrap_or_default();
                TableStorage {
                    rows: parts.iter().map(|p| p.part_rows).sum(),
                    bytes_on_disk: parts.iter().map(|p| p.disk_bytes).sum(),
                    uncompressed_bytes: parts.iter().map(|p| p.uncompressed).sum(),
                    parts: parts.iter().map(|p| p.parts).sum(),
                    partitions: parts
                        .into_iter()
                        .map(|p| PartitionStorage {
                            partition: p.partition,
                            partition_id: p.part_id,
                            disk: (!p.disk.is_empty()).then_some(p.disk),
                            parts: p.parts,
                            rows: p.part_rows,
                            bytes_on_disk: p.disk_bytes,
                            min_time: p.first_time,
                            max_time: p.last_time,
                        })
                        .collect(),
                    policy: policy_of(&t.engine_full),
                    ttl: ttl_of(&t.engine_full),
                    table: t.name,
                    engine: t.engine,
                }
            })
            .collect();
        Ok(StorageReport {
            tables,
            disks_known,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_and_policy_are_read_from_the_engine_text() {
        let moves = [(7, "warm".to_owned()), (30, "cold".to_owned())];
        assert_eq!(
            tier_ttl_sql("db", "t", "ts", &moves).unwrap().display(),
            "ALTER TABLE `db`.`t` MODIFY TTL toDateTime(`ts`) + INTERVAL 7 DAY TO VOLUME 'warm', \
             toDateTime(`ts`) + INTERVAL 30 DAY TO VOLUME 'cold'"
        );
        let backwards = [(30, "warm".to_owned()), (7, "cold".to_owned())];
        assert!(tier_ttl_sql("db", "t", "ts", &backwards).is_err());
        assert!(tier_ttl_sql("db", "t", "ts", &[]).is_err());
        assert_eq!(
            ttl_time_column("TTL toDateTime(ts) + toIntervalDay(7) TO VOLUME 'warm'").as_deref(),
            Some("ts")
        );
        assert_eq!(
            move_partition_sql("db", "t", "202611", "cold").display(),
            "ALTER TABLE `db`.`t` MOVE PARTITION ID '202611' TO VOLUME 'cold'"
        );
        let full = "MergeTree() PARTITION BY toYYYYMM(ts) ORDER BY (sensor_id, ts) TTL toDateTime(ts) \
                    + toIntervalDay(7) TO VOLUME 'warm' SETTINGS storage_policy = 'tiered', \
                    index_granularity = 8192";
        assert_eq!(
            ttl_of(full).as_deref(),
            Some("TTL toDateTime(ts) + toIntervalDay(7) TO VOLUME 'warm'")
        );
        assert_eq!(policy_of(full).as_deref(), Some("tiered"));
        assert_eq!(ttl_of("MergeTree() ORDER BY x"), None);
        assert_eq!(policy_of("MergeTree() ORDER BY x"), None);
        // An old server's parts: `bytes`, no disks, no times.
        let old = parts_sql("db", &["bytes".into(), "rows".into()]).sql;
        assert!(
            old.contains("sum(bytes)") && old.contains("'' AS disk"),
            "{old}"
        );
        let modern = parts_sql(
            "db",
            &[
                "bytes_on_disk".into(),
                "disk_name".into(),
                "min_time".into(),
                "max_time".into(),
            ],
        )
        .sql;
        assert!(
            modern.contains("toString(disk_name) AS disk") && modern.contains("min(toInt64"),
            "{modern}"
        );
    }
}
