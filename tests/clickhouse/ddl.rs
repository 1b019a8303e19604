//! The manufacturing template: the fallback DDL on the real (old) server, and the modern DDL,
//! the capability probe and the planned queries on ClickHouse 26.9 (chdb), so both branches
//! are known to run.

use lyceum::source::clickhouse::capabilities::{POLICIES_SQL, PROBE_SQL, ProbeRow};
use lyceum::source::clickhouse::ddl::{self, ROLLUPS, TABLES, TierDays};
use lyceum::source::clickhouse::schema::{ColumnInfo, ColumnKind};
use lyceum::source::clickhouse::{
    Capabilities, CurveQuery, CurveSelection, PixelView, ServerVersion,
};

use crate::support::{ClickHouseServer, run_in_chdb};

#[tokio::test(flavor = "multi_thread")]
async fn fallback_schema_is_created_on_the_real_server() {
    let server = ClickHouseServer::start();
    let c = server.connect("factory").await;
    let plan = c
        .create_manufacturing_schema("factory", TierDays::default())
        .await
        .unwrap();
    // Twice: IF NOT EXISTS everywhere, so re-running a template is harmless.
    c.create_manufacturing_schema("factory", TierDays::default())
        .await
        .unwrap();
    let tables: Vec<String> = c
        .list_tables("factory")
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    for name in TABLES.iter().chain(&ROLLUPS) {
        assert!(
            tables.iter().any(|t| t == name),
            "{name} missing from {tables:?}"
        );
    }
    if !c.capabilities().ttl {
        assert!(
            plan.notes.iter().any(|n| n.contains("no TTL")),
            "{:?}",
            plan.notes
        );
    }
    // The rollup fills as readings arrive.
    c.execute(
        "INSERT INTO factory.sensor_readings (sensor_id, ts, value) SELECT 's1', \
         toDateTime(1793577600 + number), toFloat32(number) FROM system.numbers LIMIT 180",
    )
    .await
    .unwrap();
    let rows: Vec<(String, f32, f32, f32, f32, u64)> = c
        .fetch_all(c.client().query(
            "SELECT sensor_id, argMinMerge(first_value), minMerge(min_value), maxMerge(max_value), \
             argMaxMerge(last_value), countMerge(samples) FROM factory.sensor_readings_1m \
             GROUP BY sensor_id, bucket ORDER BY bucket",
        ))
        .await
        .unwrap();
    assert_eq!(
        rows,
        [
            ("s1".to_owned(), 0.0, 0.0, 59.0, 59.0, 60),
            ("s1".to_owned(), 60.0, 60.0, 119.0, 119.0, 60),
            ("s1".to_owned(), 120.0, 120.0, 179.0, 179.0, 60)
        ]
    );
}

fn column(name: &str, type_name: &str) -> ColumnInfo {
    ColumnInfo {
        name: name.into(),
        type_name: type_name.into(),
        kind: ColumnKind::of_type(type_name),
    }
}

/// A recipe over the one cycle the modern check inserts (samples 1, 2, 3 at x 0, 0.5, 1), every
/// object failing it, checked against the client here and run in chdb by the caller.
fn verdicts_sql(
    curves: &lyceum::source::clickhouse::schema::ValidatedMapping,
) -> lyceum::source::clickhouse::plan::BoundSql {
    use lyceum::curves::CurveStoreBuilder;
    use lyceum::curves::quality::{
        Alignment, BinGrid, DataRect, Envelope, EnvelopeRule, EvalObject, Recipe, evaluate_all,
    };
    let recipe = Recipe {
        objects: vec![
            // Sample 3 (y 3 at x 1) is above 2.5.
            EvalObject::MinMax {
                x_min: 0.4,
                x_max: 1.1,
                y_low: None,
                y_high: Some(2.5),
            },
            // The first segment passes y 1.2–1.4 over x 0.1–0.2, no sample in the box.
            EvalObject::NoPass {
                rect: DataRect {
                    x_min: 0.1,
                    x_max: 0.2,
                    y_min: 1.1,
                    y_max: 1.3,
                },
            },
            // Aligned on the peak (x 1): sample 2 lands in bin 1, above its 1.5.
            EvalObject::Envelope(Box::new(Envelope {
                grid: BinGrid {
                    x0: -1.25,
                    dx: 0.5,
                    bins: 3,
                },
                alignment: Alignment::Peak,
                rule: EnvelopeRule::MinMax { dy: 0.0, dx: 0.0 },
                lower: vec![0.0; 3],
                upper: vec![2.0, 1.5, 5.0],
            })),
        ],
        ..Recipe::default()
    };
    let mut b = CurveStoreBuilder::new(&[]);
    b.push_uniform("1", &[], 0.0, 0.5, &[1.0, 2.0, 3.0])
        .unwrap();
    let store = b.finish().unwrap();
    let failed: Vec<usize> = evaluate_all(&store, &[0], &recipe)[0]
        .failures
        .iter()
        .map(|f| f.object)
        .collect();
    assert_eq!(failed, [0, 1, 2]);
    lyceum::source::clickhouse::verdicts::history_sql(
        curves,
        &CurveSelection::default(),
        &recipe,
        Some("station"),
        Some("cycle_time"),
    )
    .unwrap()
}

#[test]
fn modern_schema_probe_and_queries_run_on_clickhouse_26() {
    let caps = Capabilities::modern(ServerVersion {
        major: 26,
        minor: 9,
        patch: 0,
    });
    let plan = ddl::manufacturing_schema("factory", &caps, TierDays::default()).unwrap();
    let ddl_sql: Vec<String> = plan.statements.iter().map(|s| s.sql.clone()).collect();
    assert!(ddl_sql.iter().any(|s| s.contains("TO VOLUME 'archive'")));

    let readings = ddl::sensor_readings_mapping("factory")
        .validate(&[
            column("sensor_id", "LowCardinality(String)"),
            column("ts", "DateTime64(3)"),
            column("value", "Float32"),
        ])
        .unwrap();
    let m4 = CurveQuery::long_m4(
        &readings,
        &CurveSelection {
            keys: vec!["s1".into()],
            ..CurveSelection::default()
        },
        PixelView {
            x_start: 1_793_577_600.0,
            x_end: 1_793_577_600.0 + 180.0,
            width_px: 3,
        },
    )
    .unwrap();
    let curves = ddl::process_curves_mapping("factory")
        .validate(&[
            column("cycle_id", "UInt64"),
            column("part_serial", "String"),
            column("line", "LowCardinality(String)"),
            column("station", "LowCardinality(String)"),
            column("program", "LowCardinality(String)"),
            column("result", "Enum8('OK' = 1, 'NOK' = 2)"),
            column("failure_mode", "LowCardinality(String)"),
            column("cycle_time", "DateTime64(3)"),
            column("x0", "Float64"),
            column("dx", "Float64"),
            column("samples", "Array(Float32)"),
        ])
        .unwrap();
    let arrays = CurveQuery::arrays(
        &curves,
        &CurveSelection {
            row_range: Some(("cycle_time".into(), 1_793_577_600.0, 1_793_577_700.0)),
            limit: Some(10),
            ..CurveSelection::default()
        },
    )
    .unwrap();

    // What a run would read, counted on the same selections.
    let long_estimate = CurveQuery::estimate(
        &readings,
        &CurveSelection::default(),
        Some((1_793_577_600.0, 1_793_577_600.0 + 180.0)),
    )
    .unwrap();
    let arrays_estimate = CurveQuery::estimate(
        &curves,
        &CurveSelection {
            row_range: Some(("cycle_time".into(), 1_793_577_600.0, 1_793_577_700.0)),
            ..CurveSelection::default()
        },
        None,
    )
    .unwrap();

    let mut statements = ddl_sql;
    statements.extend([
        "INSERT INTO factory.sensor_readings SELECT 's1', toDateTime64(1793577600 + number / 2, 3), toFloat32(number % 50) \
         FROM numbers(360)"
            .to_owned(),
        "INSERT INTO factory.process_curves (cycle_id, part_serial, line, station, program, cycle_time, result, \
         failure_mode, x0, dx, samples) VALUES (1, 'P1', 'L1', 'L1-S01', 'screwdriving', toDateTime64(1793577601.5, 3), \
         'NOK', 'no_seat', 0, 0.5, [1, 2, 3])"
            .to_owned(),
        long_estimate.display(),
        arrays_estimate.display(),
        m4.sql.display(),
        arrays.sql.display(),
        "SELECT argMinMerge(first_value), maxMerge(max_value), countMerge(samples) FROM factory.sensor_readings_1m".to_owned(),
        PROBE_SQL.to_owned(),
        POLICIES_SQL.to_owned(),
        verdicts_sql(&curves).display(),
        lyceum::source::clickhouse::storage::parts_sql(
            "factory",
            &["bytes_on_disk", "disk_name", "min_time", "max_time"].map(str::to_owned),
        )
        .display(),
        "SELECT engine_full FROM system.tables WHERE database = 'factory' AND name = 'sensor_readings'"
            .to_owned(),
        // A partition moved by hand, then where it is.
        lyceum::source::clickhouse::storage::move_partition_sql(
            "factory",
            "process_curves",
            "202611",
            "cold",
        )
        .display(),
        lyceum::source::clickhouse::storage::parts_sql(
            "factory",
            &["bytes_on_disk", "disk_name", "partition_id"].map(str::to_owned),
        )
        .display(),
        // New TTL moves per tier, then the engine text that shows them.
        lyceum::source::clickhouse::storage::tier_ttl_sql(
            "factory",
            "sensor_readings",
            "ts",
            &[(3, "warm"), (10, "cold"), (100, "archive")].map(|(d, v)| (d, v.to_owned())),
        )
        .unwrap()
        .display(),
        "SELECT engine_full FROM system.tables WHERE database = 'factory' AND name = 'sensor_readings'"
            .to_owned(),
        lyceum::source::clickhouse::storage::POLICY_DISKS_SQL.to_owned(),
    ]);
    let mut out = run_in_chdb(&statements);
    // The policy's volumes in order, each with its disks: what "what moves next" places a
    // partition's disk in.
    let policy_disks = out.pop().unwrap();
    let tiered: Vec<&str> = policy_disks
        .lines()
        .filter(|l| l.starts_with("tiered\t"))
        .collect();
    assert_eq!(tiered.len(), 4, "{policy_disks}");
    assert!(tiered[0].starts_with("tiered\thot\t["), "{policy_disks}");
    let retiered = out.pop().unwrap().replace("\\'", "'");
    // The server's own text of the rules reads back as the moves that were set.
    let moves = lyceum::source::clickhouse::storage::ttl_moves(&retiered);
    assert_eq!(
        moves,
        [
            (3 * 86_400, "warm".to_owned()),
            (10 * 86_400, "cold".to_owned()),
            (100 * 86_400, "archive".to_owned())
        ],
        "{retiered}"
    );
    assert!(
        retiered.contains("toIntervalDay(3) TO VOLUME 'warm'")
            && retiered.contains("toIntervalDay(100) TO VOLUME 'archive'"),
        "{retiered}"
    );
    out.pop();
    let moved = out.pop().unwrap();
    assert!(
        moved
            .lines()
            .any(|l| l.starts_with("process_curves\t202611\t202611\tcold\t")),
        "{moved}"
    );
    out.pop();
    // Storage on a modern server: parts name their disk (one of the policy's, `warm` by now:
    // the rows are more than 7 days old and the TTL moved them), and the engine text carries
    // the TTL moves and the policy the storage view reads.
    // TSV escapes quotes.
    let engine = out.pop().unwrap().replace("\\'", "'");
    assert!(
        engine.contains(" TTL ") && engine.contains("storage_policy = 'tiered'"),
        "{engine}"
    );
    let parts = out.pop().unwrap();
    assert!(
        parts.lines().any(|l| l.starts_with("process_curves\t")
            && ["hot", "warm", "cold", "archive"]
                .iter()
                .any(|disk| l.contains(&format!("\t{disk}\t")))),
        "{parts}"
    );
    // A recipe judged in the server, on the same cycle: every object fails it, as in the client.
    let verdicts = out.pop().unwrap();
    let hour = 1_793_577_601 / 3600 * 3600;
    assert_eq!(verdicts.trim(), format!("L1-S01\t{hour}\t1\t0\t[1,1,1]"));
    let n = out.len();
    // One sensor, 360 readings in 180 s; one cycle of 3 samples in the row range.
    assert_eq!(out[n - 7].trim(), "1\t360");
    assert_eq!(out[n - 6].trim(), "1\t3");
    // M4 over 3 columns of 60 s: each column holds values 0..49 twice; first/min/max/last.
    let m4_rows: Vec<&str> = out[n - 5].lines().collect();
    assert_eq!(m4_rows.len(), 3, "{}", out[n - 5]);
    assert!(
        m4_rows.iter().all(|r| r.starts_with("s1\t[]\t")),
        "{m4_rows:?}"
    );
    assert_eq!(
        out[n - 4].trim(),
        "1\t['P1','L1','L1-S01','screwdriving','NOK','no_seat','2026-11-02 00:00:01.500']\t[0,0.5]\t[1,2,3]"
    );
    assert_eq!(out[n - 3].trim(), "0\t49\t360");

    // The capability probe judges 26.9 as modern, with the tiered policy.
    let probe: Vec<&str> = out[n - 2].trim().split('\t').collect();
    let flags: Vec<u64> = probe[1..].iter().map(|v| v.parse().unwrap()).collect();
    let row = ProbeRow {
        version: probe[0].to_owned(),
        names_and_types: flags[0],
        ttl: flags[1],
        codecs: flags[2],
        datetime64: flags[3],
        low_cardinality_type: flags[4],
        low_cardinality_gated: flags[5],
        lttb: flags[6],
        storage_policies_table: flags[7],
    };
    let policies = out[n - 1]
        .lines()
        .map(|l| {
            let (p, v) = l.split_once('\t').unwrap();
            (p.to_owned(), v.to_owned())
        })
        .collect();
    let detected = row.into_capabilities(true, policies);
    assert_eq!(detected.version.major, 26);
    let described: Vec<bool> = detected.describe().into_iter().map(|(_, on)| on).collect();
    assert!(described.iter().all(|on| *on), "{detected:?}");
    assert_eq!(detected.tiered_policy().map(|p| p.volumes.len()), Some(4));
}
