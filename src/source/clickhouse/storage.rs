//! Where a database's data lives: per table its rows, bytes on disk and uncompressed, parts,
//! and per partition the same with its time span and — on servers that have them (19.15+) —
//! the disk each part is on; the table's storage policy and TTL rules as the server reports
//! them. Read from `system.parts` (active parts) and `system.tables`, asking only for the
//! columns this server's tables have, so 18.16 gets sizes and says what it lacks. On servers
//! with storage policies, what the TTL moves next and when ([`StorageReport::next_moves`]).

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

/// A storage policy's name and its volumes in order, each with its disks.
pub type PolicyVolumes = (String, Vec<(String, Vec<String>)>);

/// A database's storage, and what this server cannot tell.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageReport {
    pub tables: Vec<TableStorage>,
    /// Whether parts say which disk they are on (storage policies, 19.15+).
    pub disks_known: bool,
    /// Per storage policy, its volumes in order and each volume's disks (servers with
    /// policies).
    pub policies: Vec<PolicyVolumes>,
}

/// Every policy's volumes in order with their disks (servers with storage policies).
pub const POLICY_DISKS_SQL: &str = "SELECT policy_name, volume_name, disks FROM \
                                    system.storage_policies ORDER BY policy_name, volume_priority";

/// A partition due to move by its table's TTL: to which volume, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedMove {
    pub table: String,
    pub partition: String,
    pub from_disk: String,
    pub to_volume: String,
    /// When the partition's newest row passes the rule (epoch seconds); a time before now
    /// means the server moves it at its next check.
    pub due_secs: i64,
}

/// Seconds of a TTL interval function (`toIntervalDay` …); months and years as 30 and 365
/// days.
fn interval_secs(function: &str) -> Option<i64> {
    Some(match function {
        "toIntervalSecond" => 1,
        "toIntervalMinute" => 60,
        "toIntervalHour" => 3600,
        "toIntervalDay" => 86_400,
        "toIntervalWeek" => 7 * 86_400,
        "toIntervalMonth" => 30 * 86_400,
        "toIntervalQuarter" => 91 * 86_400,
        "toIntervalYear" => 365 * 86_400,
        _ => return None,
    })
}

/// The moves of a TTL clause as the server writes it (`TTL toDateTime(ts) + toIntervalDay(7)
/// TO VOLUME 'warm', …`): each rule's delay after the row's time and its target volume, in
/// the clause's order. Rules of another shape (deletes, disks, expressions) are left out.
pub fn ttl_moves(ttl: &str) -> Vec<(i64, String)> {
    let mut moves = Vec::new();
    let mut rest = ttl;
    while let Some(at) = rest.find(" TO VOLUME '") {
        let rule = &rest[..at];
        let after = &rest[at + " TO VOLUME '".len()..];
        let Some(end) = after.find('\'') else {
            break;
        };
        let volume = after[..end].to_owned();
        rest = &after[end + 1..];
        // `… + toIntervalDay(7)`: the last interval call of the rule.
        let Some(call) = rule.rfind("toInterval") else {
            continue;
        };
        let call = &rule[call..];
        let (Some(open), Some(close)) = (call.find('('), call.find(')')) else {
            continue;
        };
        let (Some(unit), Ok(count)) = (
            interval_secs(&call[..open]),
            call[open + 1..close].trim().parse::<i64>(),
        ) else {
            continue;
        };
        moves.push((unit * count, volume));
    }
    moves
}

impl StorageReport {
    /// The volume holding `disk` in `policy` and its place in the policy's order.
    fn volume_of(&self, policy: &str, disk: &str) -> Option<usize> {
        let (_, volumes) = self.policies.iter().find(|(name, _)| name == policy)?;
        volumes
            .iter()
            .position(|(volume, disks)| volume == disk || disks.iter().any(|d| d == disk))
    }

    /// The partitions each table's TTL moves next, soonest first: per partition the first
    /// rule whose volume lies beyond the partition's present one, due when its newest row's
    /// time plus the rule's delay has passed (ClickHouse moves a part once all its rows are
    /// due). Needs disks and a policy, so servers without storage policies have none.
    pub fn next_moves(&self) -> Vec<PlannedMove> {
        let mut planned = Vec::new();
        for table in &self.tables {
            let (Some(policy), Some(ttl)) = (&table.policy, &table.ttl) else {
                continue;
            };
            let moves = ttl_moves(ttl);
            for partition in &table.partitions {
                let Some(disk) = &partition.disk else {
                    continue;
                };
                if partition.max_time == 0 {
                    continue;
                }
                let Some(here) = self.volume_of(policy, disk) else {
                    continue;
                };
                let next = moves.iter().find(|(_, volume)| {
                    self.policies
                        .iter()
                        .find(|(name, _)| name == policy)
                        .and_then(|(_, volumes)| volumes.iter().position(|(v, _)| v == volume))
                        .is_some_and(|there| there > here)
                });
                if let Some((delay_secs, volume)) = next {
                    planned.push(PlannedMove {
                        table: table.table.clone(),
                        partition: partition.partition.clone(),
                        from_disk: disk.clone(),
                        to_volume: volume.clone(),
                        due_secs: partition.max_time + delay_secs,
                    });
                }
            }
        }
        planned.sort_by(|a, b| a.due_secs.cmp(&b.due_secs).then(a.table.cmp(&b.table)));
        planned
    }
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
struct PolicyVolumeRow {
    policy_name: String,
    volume_name: String,
    disks: Vec<String>,
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
        let policies = if disks_known {
            self.policy_disks().await?
        } else {
            Vec::new()
        };
        Ok(StorageReport {
            tables,
            disks_known,
            policies,
        })
    }

    /// Every storage policy's volumes in order, with their disks.
    async fn policy_disks(&self) -> Result<Vec<PolicyVolumes>> {
        let rows: Vec<PolicyVolumeRow> = self.fetch_all(self.query(POLICY_DISKS_SQL).0).await?;
        let mut policies: Vec<PolicyVolumes> = Vec::new();
        for PolicyVolumeRow {
            policy_name: policy,
            volume_name: volume,
            disks,
        } in rows
        {
            match policies.last_mut() {
                Some((name, volumes)) if *name == policy => volumes.push((volume, disks)),
                _ => policies.push((policy, vec![(volume, disks)])),
            }
        }
        Ok(policies)
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
        assert_eq!(
            ttl_moves(
                "TTL toDateTime(ts) + toIntervalDay(3) TO VOLUME 'warm', toDateTime(ts) + \
                 toIntervalHour(240) TO VOLUME 'cold', ts + toIntervalDay(1) DELETE"
            ),
            [
                (3 * 86_400, "warm".to_owned()),
                (240 * 3600, "cold".to_owned())
            ]
        );
        // Next moves: a partition on the hot disk goes to warm three days after its newest row;
        // one already on warm goes to cold; one on the last volume goes nowhere.
        let partition = |name: &str, disk: &str, max_time: i64| PartitionStorage {
            partition: name.to_owned(),
            partition_id: name.to_owned(),
            disk: Some(disk.to_owned()),
            parts: 1,
            rows: 1,
            bytes_on_disk: 1,
            min_time: max_time - 10,
            max_time,
        };
        let report = StorageReport {
            tables: vec![TableStorage {
                table: "t".to_owned(),
                engine: "MergeTree".to_owned(),
                rows: 3,
                bytes_on_disk: 3,
                uncompressed_bytes: 3,
                parts: 3,
                partitions: vec![
                    partition("a", "hot_disk", 1_000_000),
                    partition("b", "warm", 500_000),
                    partition("c", "cold", 100),
                ],
                policy: Some("tiered".to_owned()),
                ttl: Some(
                    "TTL toDateTime(ts) + toIntervalDay(3) TO VOLUME 'warm', \
                     toDateTime(ts) + toIntervalDay(10) TO VOLUME 'cold'"
                        .to_owned(),
                ),
            }],
            disks_known: true,
            policies: vec![(
                "tiered".to_owned(),
                vec![
                    ("hot".to_owned(), vec!["hot_disk".to_owned()]),
                    ("warm".to_owned(), vec!["warm".to_owned()]),
                    ("cold".to_owned(), vec!["cold".to_owned()]),
                ],
            )],
        };
        let next: Vec<(String, String, i64)> = report
            .next_moves()
            .into_iter()
            .map(|m| (m.partition, m.to_volume, m.due_secs))
            .collect();
        assert_eq!(
            next,
            [
                ("a".to_owned(), "warm".to_owned(), 1_000_000 + 3 * 86_400),
                ("b".to_owned(), "cold".to_owned(), 500_000 + 10 * 86_400),
            ]
        );
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
