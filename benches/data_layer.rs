//! Data-layer benchmarks against a real `clickhouse-server` (started by the test harness),
//! each beside its baseline in the same run:
//! - `import_csv`: `lyceum import` of a 1 M-row long CSV vs `clickhouse-client … FORMAT
//!   CSVWithNames` of the same file;
//! - `seed`: the demo plant into the template schema (rows/s);
//! - `fetch`: 10,000 × 2,000 curves fetched and decoded into the store vs the server producing
//!   the same rows into `FORMAT Null`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, Throughput};
use lyceum::source::clickhouse::import::ImportOptions;
use lyceum::source::clickhouse::{Connection, CurveQuery, CurveSelection, FetchOptions, ddl};
use lyceum::source::demo::{Plant, PlantConfig};
use support::ClickHouseServer;

const CSV_ROWS: u64 = 1_000_000;

fn write_csv(path: &std::path::Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "series,x,value").unwrap();
    for i in 0..CSV_ROWS {
        writeln!(
            f,
            "curve{},{},{}",
            i / 2000,
            i % 2000,
            (i * 7919 % 100_003) as f64 / 10.0
        )
        .unwrap();
    }
}

fn client_binary() -> &'static str {
    if Command::new("clickhouse-client")
        .arg("--version")
        .output()
        .is_ok()
    {
        "clickhouse-client"
    } else {
        panic!("clickhouse-client is needed for the baseline: apt-get install clickhouse-client")
    }
}

fn bench_import(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    server: &ClickHouseServer,
    conn: &Connection,
) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("long.csv");
    write_csv(&csv);
    rt.block_on(conn.execute("CREATE DATABASE IF NOT EXISTS bench"))
        .unwrap();
    let mut group = c.benchmark_group("import_csv_1M_rows");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(CSV_ROWS));
    group.bench_function("lyceum_import", |b| {
        b.iter(|| {
            rt.block_on(async {
                conn.execute("DROP TABLE IF EXISTS bench.imported")
                    .await
                    .unwrap();
                let options = ImportOptions {
                    database: "bench".into(),
                    table: "imported".into(),
                    series: None,
                    x: None,
                    value: None,
                    batch_rows: 500_000,
                };
                let report = conn.import_csv(&csv, &options, |_| {}).await.unwrap();
                assert_eq!(report.rows_inserted, CSV_ROWS);
            });
        });
    });
    let client = client_binary();
    group.bench_function("clickhouse_client_csv", |b| {
        b.iter(|| {
            rt.block_on(async {
                conn.execute("DROP TABLE IF EXISTS bench.baseline")
                    .await
                    .unwrap();
                conn.execute(
                    "CREATE TABLE bench.baseline (series String, x Float64, value Float64) \
                     ENGINE = MergeTree() ORDER BY (series, x)",
                )
                .await
                .unwrap();
            });
            let status = Command::new(client)
                .args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &server.tcp_port.to_string(),
                ])
                .args(["--query", "INSERT INTO bench.baseline FORMAT CSVWithNames"])
                .stdin(Stdio::from(std::fs::File::open(&csv).unwrap()))
                .status()
                .unwrap();
            assert!(status.success());
        });
    });
    group.finish();
}

fn bench_seed(c: &mut Criterion, rt: &tokio::runtime::Runtime, conn: &Connection) {
    let plant = Plant::new(PlantConfig {
        curves: 2_000,
        samples: 2_000,
        sensors: 40,
        days: 0.25,
        ..PlantConfig::default()
    });
    let rows = rt
        .block_on(conn.seed_demo_plant("bench_seed", &plant, true, |_| {}))
        .unwrap()
        .total_rows();
    let mut group = c.benchmark_group("seed");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(rows));
    group.bench_function("lyceum_seed", |b| {
        b.iter(|| {
            rt.block_on(conn.seed_demo_plant("bench_seed", &plant, true, |_| {}))
                .unwrap()
        });
    });
    group.finish();
}

fn bench_fetch(c: &mut Criterion, rt: &tokio::runtime::Runtime, conn: &Connection) {
    let plant = Plant::new(PlantConfig {
        curves: 10_000,
        samples: 2_000,
        sensors: 1,
        days: 0.01,
        ..PlantConfig::default()
    });
    rt.block_on(conn.seed_demo_plant("bench_fetch", &plant, true, |_| {}))
        .unwrap();
    let mapping = ddl::process_curves_mapping("bench_fetch");
    let columns = rt
        .block_on(conn.list_columns("bench_fetch", "process_curves"))
        .unwrap();
    let plan = CurveQuery::arrays(
        &mapping.validate(&columns).unwrap(),
        &CurveSelection::default(),
    )
    .unwrap();
    let points = plant.process_curves().unwrap().point_count() as u64;
    let mut group = c.benchmark_group("fetch_10k_curves");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(points));
    group.bench_function("lyceum_fetch_decode", |b| {
        b.iter(|| {
            let store = rt
                .block_on(conn.fetch_curves(&plan, FetchOptions::default()))
                .unwrap();
            assert_eq!(store.point_count() as u64, points);
        });
    });
    let null_sql = format!("{} FORMAT Null", plan.sql.display());
    group.bench_function("server_format_null", |b| {
        b.iter(|| rt.block_on(conn.execute(&null_sql)).unwrap());
    });
    group.finish();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = ClickHouseServer::start();
    let conn = rt.block_on(server.connect("bench"));
    let mut c = Criterion::default().configure_from_args();
    bench_import(&mut c, &rt, &server, &conn);
    bench_seed(&mut c, &rt, &conn);
    bench_fetch(&mut c, &rt, &conn);
    c.final_summary();
}
