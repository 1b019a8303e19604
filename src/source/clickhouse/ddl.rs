//! The default manufacturing schema (project template "manufacturing analytics"), generated
//! for what a server can do: modern servers get `LowCardinality`, `DateTime64`, column codecs
//! and TTL moves hot → warm → cold → archive (when a tiered storage policy exists); old ones
//! get plain types that work the same for every query Lyceum makes. [`SchemaPlan::notes`]
//! says which way each choice went, for the UI and the CLI.

use super::capabilities::Capabilities;
use super::error::Result;
use super::insert::{check_plain_identifier, quote_identifier};
use super::schema::{ArrayX, CurveLayout, SourceMapping};

/// Volume names of the storage tiers, hottest first.
pub const TIER_VOLUMES: [&str; 4] = ["hot", "warm", "cold", "archive"];

/// Ages at which data moves to the next tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierDays {
    pub warm: u32,
    pub cold: u32,
    pub archive: u32,
}

impl Default for TierDays {
    fn default() -> Self {
        Self {
            warm: 7,
            cold: 30,
            archive: 365,
        }
    }
}

/// One DDL statement and the object it creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub object: &'static str,
    pub sql: String,
}

/// The statements, in order, and what was chosen for this server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaPlan {
    pub database: String,
    pub statements: Vec<Statement>,
    pub notes: Vec<String>,
}

/// Table names of the template, for callers that check or clear them.
pub const TABLES: [&str; 5] = [
    "sensors",
    "sensor_readings",
    "process_curves",
    "quality_measurements",
    "production_events",
];

/// Rollups (materialized views) of the template.
pub const ROLLUPS: [&str; 3] = [
    "sensor_readings_1m",
    "sensor_readings_1h",
    "process_results_hourly",
];

struct Types<'a> {
    caps: &'a Capabilities,
}

impl Types<'_> {
    fn label(&self) -> &'static str {
        if self.caps.low_cardinality {
            "LowCardinality(String)"
        } else {
            "String"
        }
    }

    fn time(&self) -> &'static str {
        if self.caps.datetime64 {
            "DateTime64(3)"
        } else {
            "DateTime"
        }
    }

    fn codec(&self, codec: &str) -> String {
        if self.caps.codecs {
            format!(" CODEC({codec})")
        } else {
            String::new()
        }
    }
}

/// The template's DDL for `database` on a server with `caps`.
pub fn manufacturing_schema(
    database: &str,
    caps: &Capabilities,
    tiers: TierDays,
) -> Result<SchemaPlan> {
    template_plan(database, caps, tiers, "")
}

/// The template's statements, every table and rollup named with `suffix` (`_local` under a
/// `Distributed` table of the plain name).
fn template_plan(
    database: &str,
    caps: &Capabilities,
    tiers: TierDays,
    suffix: &str,
) -> Result<SchemaPlan> {
    check_plain_identifier("database", database)?;
    let db = quote_identifier(database);
    let name = |object: &str| format!("{db}.{}", quote_identifier(&format!("{object}{suffix}")));
    let [
        n_sensors,
        n_sensor_readings,
        n_process_curves,
        n_quality_measurements,
        n_production_events,
        n_process_results_hourly,
    ] = [
        "sensors",
        "sensor_readings",
        "process_curves",
        "quality_measurements",
        "production_events",
        "process_results_hourly",
    ]
    .map(name);
    let t = Types { caps };
    let (lc, time) = (t.label(), t.time());
    let mut notes = vec![
        format!("server {}", caps.version),
        if caps.low_cardinality {
            "labels stored as LowCardinality(String)".to_owned()
        } else {
            "no usable LowCardinality: labels stored as String".to_owned()
        },
        if caps.datetime64 {
            "timestamps stored as DateTime64(3) (milliseconds)".to_owned()
        } else {
            "no DateTime64: timestamps stored as DateTime (whole seconds)".to_owned()
        },
        if caps.codecs {
            "column codecs: DoubleDelta for time, Gorilla for values, ZSTD for sample arrays"
                .to_owned()
        } else {
            "no column codecs: the server's default compression applies".to_owned()
        },
    ];
    let tiering = match caps.tiered_policy() {
        Some(policy) => {
            let moves: Vec<String> = [(1, tiers.warm), (2, tiers.cold), (3, tiers.archive)]
                .into_iter()
                .filter(|(tier, _)| policy.volumes.iter().any(|v| v == TIER_VOLUMES[*tier]))
                .map(|(tier, days)| {
                    format!(
                        "{{ts}} + INTERVAL {days} DAY TO VOLUME '{}'",
                        TIER_VOLUMES[tier]
                    )
                })
                .collect();
            notes.push(format!(
                "TTL moves data through storage policy `{}` ({})",
                policy.name,
                policy.volumes.join(" → ")
            ));
            Some((moves.join(", "), policy.name.replace('\'', "")))
        }
        None if caps.ttl => {
            notes.push(
                "no tiered storage policy (volumes hot/warm/cold/archive): no TTL moves".to_owned(),
            );
            None
        }
        None => {
            notes.push("no TTL support: data stays on the default disk".to_owned());
            None
        }
    };
    let tiered = |time_column: &str| -> String {
        match &tiering {
            Some((moves, policy)) => format!(
                " TTL {} SETTINGS storage_policy = '{policy}'",
                moves.replace("{ts}", &format!("toDateTime({time_column})"))
            ),
            None => String::new(),
        }
    };
    let time_codec = t.codec("DoubleDelta, LZ4");
    let value_codec = t.codec("Gorilla, LZ4");
    let array_codec = t.codec("ZSTD(3)");
    let statements = vec![
        Statement {
            object: "database",
            sql: format!("CREATE DATABASE IF NOT EXISTS {db}"),
        },
        Statement {
            object: "sensors",
            sql: format!(
                "CREATE TABLE IF NOT EXISTS {n_sensors} (sensor_id {lc}, line {lc}, station {lc}, \
                 kind {lc}, unit {lc}, description String, nominal Float64, lower_limit Float64, \
                 upper_limit Float64, sample_rate_hz Float64) ENGINE = MergeTree() ORDER BY sensor_id"
            ),
        },
        Statement {
            object: "sensor_readings",
            sql: format!(
                "CREATE TABLE IF NOT EXISTS {n_sensor_readings} (sensor_id {lc}, ts {time}{time_codec}, \
                 value Float32{value_codec}) ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) \
                 ORDER BY (sensor_id, ts){}",
                tiered("ts")
            ),
        },
        Statement {
            object: "process_curves",
            sql: format!(
                "CREATE TABLE IF NOT EXISTS {n_process_curves} (cycle_id UInt64, part_serial String, \
                 line {lc}, station {lc}, program {lc}, cycle_time {time}{time_codec}, \
                 result Enum8('OK' = 1, 'NOK' = 2), failure_mode {lc}, x_name {lc}, x_unit {lc}, \
                 y_name {lc}, y_unit {lc}, x0 Float64, dx Float64, peak Float32, final_value Float32, \
                 samples Array(Float32){array_codec}) ENGINE = MergeTree() \
                 PARTITION BY toYYYYMM(cycle_time) ORDER BY (station, cycle_time, cycle_id){}",
                tiered("cycle_time")
            ),
        },
        Statement {
            object: "quality_measurements",
            sql: format!(
                "CREATE TABLE IF NOT EXISTS {n_quality_measurements} (cycle_id UInt64, part_serial String, \
                 station {lc}, characteristic {lc}, unit {lc}, measured_at {time}{time_codec}, \
                 value Float64, nominal Float64, lower_spec Float64, upper_spec Float64) \
                 ENGINE = MergeTree() PARTITION BY toYYYYMM(measured_at) \
                 ORDER BY (characteristic, measured_at)"
            ),
        },
        Statement {
            object: "production_events",
            sql: format!(
                "CREATE TABLE IF NOT EXISTS {n_production_events} (ts {time}{time_codec}, line {lc}, \
                 station {lc}, event_type {lc}, state {lc}, batch_id String, alarm_code {lc}, \
                 severity {lc}, message String) ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) \
                 ORDER BY (line, station, ts)"
            ),
        },
        rollup(&name, "sensor_readings_1m", "toStartOfMinute"),
        rollup(&name, "sensor_readings_1h", "toStartOfHour"),
        Statement {
            object: "process_results_hourly",
            sql: format!(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS {n_process_results_hourly} \
                 ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(hour) ORDER BY (line, station, program, hour) \
                 AS SELECT line, station, program, toStartOfHour(toDateTime(cycle_time)) AS hour, \
                 count() AS cycles, countIf(result = 'NOK') AS nok_cycles \
                 FROM {n_process_curves} GROUP BY line, station, program, hour"
            ),
        },
    ];
    Ok(SchemaPlan {
        database: database.to_owned(),
        statements,
        notes,
    })
}

/// A kind of project and the template objects it creates: each type's tables are named here
/// once, for the control plane, the app and the CLI alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectType {
    /// The wire name (`screwdriving`).
    pub name: &'static str,
    /// For people, in the app's project form.
    pub description: &'static str,
    /// Tables and rollups, in creation order (a rollup after the table it reads).
    pub objects: &'static [&'static str],
}

/// What a process with one curve per cycle needs (screwdriving, press-fit).
const CYCLE_OBJECTS: &[&str] = &[
    "process_curves",
    "quality_measurements",
    "production_events",
    "process_results_hourly",
];

/// Every project type; the control plane offers exactly these.
pub const PROJECT_TYPES: [ProjectType; 5] = [
    ProjectType {
        name: "manufacturing",
        description: "the whole template: sensors and readings with rollups, process curves, quality, events",
        objects: &[
            "sensors",
            "sensor_readings",
            "process_curves",
            "quality_measurements",
            "production_events",
            "sensor_readings_1m",
            "sensor_readings_1h",
            "process_results_hourly",
        ],
    },
    ProjectType {
        name: "screwdriving",
        description: "torque–angle curves per cycle, quality results, line events",
        objects: CYCLE_OBJECTS,
    },
    ProjectType {
        name: "press_fit",
        description: "force–displacement curves per cycle, quality results, line events",
        objects: CYCLE_OBJECTS,
    },
    ProjectType {
        name: "sensor_monitoring",
        description: "sensor time series with minute and hour rollups, line events",
        objects: &[
            "sensors",
            "sensor_readings",
            "production_events",
            "sensor_readings_1m",
            "sensor_readings_1h",
        ],
    },
    ProjectType {
        name: "quality",
        description: "measured characteristics against their specification, with the cycles they came from",
        objects: &[
            "quality_measurements",
            "process_curves",
            "process_results_hourly",
        ],
    },
];

/// The project type named `name`.
pub fn project_type(name: &str) -> Option<&'static ProjectType> {
    PROJECT_TYPES.iter().find(|t| t.name == name)
}

/// Where a project's tables live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement<'a> {
    /// One server (or one shard): plain tables.
    Single,
    /// Every node of the `remote_servers` cluster `cluster`: `<table>_local` on each node and,
    /// on each node too, a `Distributed` table of the plain name over them, so reads and
    /// inserts through any node span the shards.
    Sharded { cluster: &'a str },
}

/// How a `Distributed` table spreads inserted rows: a series or a cycle stays on one shard.
fn sharding_key(object: &str) -> &'static str {
    match object {
        "sensors" | "sensor_readings" => "cityHash64(sensor_id)",
        "process_curves" | "quality_measurements" => "cityHash64(cycle_id)",
        _ => "rand()",
    }
}

/// The DDL of a project of `kind` in `database`, run on each node (the statements are the same
/// for every node).
pub fn project_schema(
    database: &str,
    kind: &ProjectType,
    caps: &Capabilities,
    tiers: TierDays,
    placement: Placement<'_>,
) -> Result<SchemaPlan> {
    let suffix = match placement {
        Placement::Single => "",
        Placement::Sharded { .. } => "_local",
    };
    let mut plan = template_plan(database, caps, tiers, suffix)?;
    plan.statements
        .retain(|s| s.object == "database" || kind.objects.contains(&s.object));
    if let Placement::Sharded { cluster } = placement {
        check_plain_identifier("cluster", cluster)?;
        let db = quote_identifier(database);
        for &object in kind.objects {
            let local = format!("{object}_local");
            plan.statements.push(Statement {
                object,
                sql: format!(
                    "CREATE TABLE IF NOT EXISTS {db}.{} AS {db}.{} ENGINE = Distributed({cluster}, {database}, {local}, {})",
                    quote_identifier(object),
                    quote_identifier(&local),
                    sharding_key(object)
                ),
            });
        }
        plan.notes.push(format!(
            "sharded: `<table>_local` on every node, `Distributed` tables over cluster `{cluster}`"
        ));
    }
    Ok(plan)
}

/// A per-bucket M4 rollup of sensor readings (first/min/max/last plus sum and count).
fn rollup(name: &dyn Fn(&str) -> String, object: &'static str, bucket: &str) -> Statement {
    let (view, readings) = (name(object), name("sensor_readings"));
    Statement {
        object,
        sql: format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {view} ENGINE = AggregatingMergeTree() \
             PARTITION BY toYYYYMM(bucket) ORDER BY (sensor_id, bucket) AS SELECT sensor_id, \
             {bucket}(toDateTime(ts)) AS bucket, argMinState(value, ts) AS first_value, \
             minState(value) AS min_value, maxState(value) AS max_value, \
             argMaxState(value, ts) AS last_value, sumState(toFloat64(value)) AS sum_value, \
             countState() AS samples FROM {readings} GROUP BY sensor_id, bucket"
        ),
    }
}

/// The template's process curves as curves: one row per cycle, uniform x from `x0`/`dx`.
pub fn process_curves_mapping(database: &str) -> SourceMapping {
    SourceMapping {
        database: database.to_owned(),
        table: "process_curves".to_owned(),
        series_keys: vec!["cycle_id".to_owned()],
        labels: [
            "part_serial",
            "line",
            "station",
            "program",
            "result",
            "failure_mode",
            "cycle_time",
        ]
        .map(str::to_owned)
        .to_vec(),
        layout: CurveLayout::Arrays {
            y: "samples".to_owned(),
            x: ArrayX::UniformColumns {
                x0: "x0".to_owned(),
                dx: "dx".to_owned(),
            },
        },
    }
}

/// The template's sensor readings as curves: one series per sensor over time.
pub fn sensor_readings_mapping(database: &str) -> SourceMapping {
    SourceMapping {
        database: database.to_owned(),
        table: "sensor_readings".to_owned(),
        series_keys: vec!["sensor_id".to_owned()],
        labels: Vec::new(),
        layout: CurveLayout::Long {
            x: "ts".to_owned(),
            y: "value".to_owned(),
        },
    }
}

/// The manufacturing template's tables as curve sources, with the axes the template knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// `process_curves`: one row per cycle ([`process_curves_mapping`]).
    ProcessCurves,
    /// `sensor_readings`: a long series per sensor ([`sensor_readings_mapping`]).
    SensorReadings,
}

impl Preset {
    pub fn mapping(self, database: &str) -> SourceMapping {
        match self {
            Self::ProcessCurves => process_curves_mapping(database),
            Self::SensorReadings => sensor_readings_mapping(database),
        }
    }

    /// Axis names of the template's curves: what its columns measure, not their names.
    pub fn axes(self) -> crate::curves::Axes {
        match self {
            Self::ProcessCurves => crate::source::demo::process_curve_axes(),
            Self::SensorReadings => crate::curves::Axes {
                x_is_time: true,
                ..crate::curves::Axes::named("time", "value")
            },
        }
    }
}

impl super::connection::Connection {
    /// Create the template's database, tables and rollups (existing ones are kept).
    pub async fn create_manufacturing_schema(
        &self,
        database: &str,
        tiers: TierDays,
    ) -> Result<SchemaPlan> {
        let plan = manufacturing_schema(database, self.capabilities(), tiers)?;
        for statement in &plan.statements {
            self.execute(&statement.sql).await?;
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::clickhouse::ServerVersion;

    #[test]
    fn fallback_has_no_modern_features_and_modern_has_them_all() {
        let v = ServerVersion {
            major: 18,
            minor: 16,
            patch: 1,
        };
        let old =
            manufacturing_schema("plant", &Capabilities::baseline(v), TierDays::default()).unwrap();
        let all_old: String = old.statements.iter().map(|s| s.sql.as_str()).collect();
        for modern in [
            "LowCardinality",
            "DateTime64",
            "CODEC",
            "TTL",
            "storage_policy",
        ] {
            assert!(!all_old.contains(modern), "{modern} in fallback DDL");
        }
        let new =
            manufacturing_schema("plant", &Capabilities::modern(v), TierDays::default()).unwrap();
        let all_new: String = new.statements.iter().map(|s| s.sql.as_str()).collect();
        for modern in [
            "LowCardinality",
            "DateTime64(3)",
            "CODEC(DoubleDelta",
            "TO VOLUME 'archive'",
            "storage_policy = 'tiered'",
        ] {
            assert!(all_new.contains(modern), "{modern} missing from modern DDL");
        }
        assert_eq!(new.statements.len(), 1 + TABLES.len() + ROLLUPS.len());
    }

    #[test]
    fn project_types_create_their_objects_after_what_they_read() {
        let caps = Capabilities::baseline(ServerVersion {
            major: 18,
            minor: 16,
            patch: 1,
        });
        let all: Vec<&str> = TABLES.iter().chain(&ROLLUPS).copied().collect();
        for kind in &PROJECT_TYPES {
            assert!(
                kind.objects.iter().all(|o| all.contains(o)),
                "{}",
                kind.name
            );
            let single =
                project_schema("p1", kind, &caps, TierDays::default(), Placement::Single).unwrap();
            assert_eq!(single.statements.len(), 1 + kind.objects.len());
            let sharded = project_schema(
                "p1",
                kind,
                &caps,
                TierDays::default(),
                Placement::Sharded { cluster: "lyceum" },
            )
            .unwrap();
            assert_eq!(sharded.statements.len(), 1 + 2 * kind.objects.len());
            // Each Distributed table comes after its local table, and a rollup after its source.
            let position = |needle: &str| {
                sharded
                    .statements
                    .iter()
                    .position(|s| s.sql.contains(needle))
                    .unwrap()
            };
            for object in kind.objects {
                let local = position(&format!("EXISTS `p1`.`{object}_local` "));
                let distributed =
                    position(&format!("ENGINE = Distributed(lyceum, p1, {object}_local"));
                assert!(local < distributed, "{object}");
            }
            if kind.objects.contains(&"process_results_hourly") {
                assert!(
                    position("EXISTS `p1`.`process_curves_local` ")
                        < position("EXISTS `p1`.`process_results_hourly_local` ")
                );
            }
        }
        assert_eq!(project_type("press_fit").unwrap().name, "press_fit");
        assert!(project_type("welding").is_none());
    }

    #[test]
    fn database_names_that_would_break_ddl_are_refused() {
        let caps = Capabilities::baseline(ServerVersion {
            major: 18,
            minor: 16,
            patch: 1,
        });
        assert!(manufacturing_schema("plant`; DROP", &caps, TierDays::default()).is_err());
    }
}
