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
    ]);
    let out = run_in_chdb(&statements);
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
