//! The data explorer's engine against a real server: any statement's result streamed into a
//! table (types, NULLs, escapes, arrays), read-only by default (refused here, and the server
//! told so), the builder's SQL equal to a hand-written query, cancel killing the server's
//! query, the server's figures seen, and exports read back identically by pyarrow.

use std::process::Command;
use std::time::{Duration, Instant};

use lyceum::source::clickhouse::builder::{
    Aggregate, AggregateFn, BuilderFilter, FilterOp, QueryBuilder,
};
use lyceum::source::clickhouse::results::SqlRun;
use lyceum::source::clickhouse::{ClickHouseError, Connection};
use lyceum::source::dataset::export_table;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::support::{ClickHouseServer, chdb_python};

async fn make_table(c: &Connection) {
    c.execute(
        "CREATE TABLE default.cycles (cycle UInt64, station String, torque Nullable(Float64), \
         at DateTime, force Array(Float32)) ENGINE = MergeTree ORDER BY cycle",
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO default.cycles SELECT number, concat('S', toString(number % 3)), \
         if(number % 10 = 9, NULL, number * 0.25), toDateTime(1793577600 + number), \
         arrayMap(i -> toFloat32(i * number), range(number % 4)) FROM numbers(100)",
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn results_stream_typed_and_changes_need_the_switch() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;
    make_table(&c).await;

    let (table, summary) = c
        .fetch_table(
            "SELECT cycle, station, torque, at, force, 'a\\tb\\nc' AS text \
             FROM default.cycles ORDER BY cycle",
            None,
            false,
        )
        .await
        .unwrap();
    assert_eq!(table.rows(), 100);
    assert_eq!(summary.rows, 100);
    assert!(summary.first_rows_after.is_some());
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["cycle", "station", "torque", "at", "force", "text"]);
    assert_eq!(table.columns[2].type_name, "Nullable(Float64)");
    assert_eq!(table.columns[1].get(5), Some("S2"));
    assert_eq!(table.columns[2].get(9), None, "NULL");
    assert_eq!(table.columns[2].number(8), Some(2.0));
    assert_eq!(table.columns[4].numbers(7), Some(vec![0.0, 7.0, 14.0]));
    assert_eq!(table.columns[5].get(0), Some("a\tb\nc"));
    let stats = table.stats();
    assert_eq!(stats[2].nulls, 10);
    assert_eq!(stats[0].max, Some(99.0));
    assert_eq!(stats[1].distinct, 3);

    // An empty result still names its columns.
    let (empty, _) = c
        .fetch_table(
            "SELECT cycle FROM default.cycles WHERE cycle > 1000",
            None,
            false,
        )
        .await
        .unwrap();
    assert_eq!((empty.rows(), empty.columns.len()), (0, 1));

    // Read-only: a change is refused before the server sees it, and the server is told.
    let insert = "INSERT INTO default.cycles (cycle) VALUES (1000)";
    let refused = c.fetch_table(insert, None, false).await.err();
    assert!(
        matches!(&refused, Some(ClickHouseError::InvalidRequest(m)) if m.contains("read-only")),
        "{refused:?}"
    );
    let (setting, _) = c
        .fetch_table(
            "SELECT value FROM system.settings WHERE name = 'readonly'",
            None,
            false,
        )
        .await
        .unwrap();
    assert_eq!(setting.columns[0].get(0), Some("2"));
    c.fetch_table(insert, None, true).await.unwrap();
    let (count, _) = c
        .fetch_table("SELECT count() FROM default.cycles", None, false)
        .await
        .unwrap();
    assert_eq!(count.columns[0].get(0), Some("101"));

    // A server error names the server's complaint.
    let error = c
        .fetch_table("SELECT no_such_column FROM default.cycles", None, false)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("no_such_column"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_builders_sql_matches_a_hand_written_query() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;
    make_table(&c).await;
    let schema = c.database_columns("default").await.unwrap();
    let (_, columns) = schema.iter().find(|(t, _)| t == "cycles").unwrap();
    let builder = QueryBuilder {
        database: "default".to_owned(),
        table: "cycles".to_owned(),
        filters: vec![
            BuilderFilter {
                column: "station".to_owned(),
                op: FilterOp::In,
                value: "S0, S2".to_owned(),
            },
            BuilderFilter {
                column: "cycle".to_owned(),
                op: FilterOp::GreaterOrEq,
                value: "10".to_owned(),
            },
        ],
        group_by: vec!["station".to_owned()],
        aggregates: vec![
            Aggregate {
                function: AggregateFn::Count,
                column: None,
            },
            Aggregate {
                function: AggregateFn::Avg,
                column: Some("torque".to_owned()),
            },
            Aggregate {
                function: AggregateFn::Max,
                column: Some("cycle".to_owned()),
            },
        ],
        order_by: vec![("station".to_owned(), true)],
        limit: Some(10),
        ..QueryBuilder::default()
    };
    let built = builder.sql(columns).unwrap();
    let (from_builder, _) = c.fetch_table(&built, None, false).await.unwrap();
    let (by_hand, _) = c
        .fetch_table(
            "SELECT station, count(), avg(torque), max(cycle) FROM default.cycles \
             WHERE station IN ('S0', 'S2') AND cycle >= 10 \
             GROUP BY station ORDER BY station DESC LIMIT 10",
            None,
            false,
        )
        .await
        .unwrap();
    assert_eq!(from_builder.rows(), 2);
    assert_eq!(from_builder.rows(), by_hand.rows());
    for (built, hand) in from_builder.columns.iter().zip(&by_hand.columns) {
        for row in 0..by_hand.rows() {
            assert_eq!(built.get(row), hand.get(row), "column {}", built.name);
        }
    }
    assert_eq!(from_builder.columns[0].get(0), Some("S2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_kills_the_query_on_the_server_and_figures_are_seen() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;

    // A slow query is seen by the server-figures watcher while it runs.
    let (_, summary) = c
        .fetch_table("SELECT sleep(1), count() FROM numbers(1000)", None, false)
        .await
        .unwrap();
    assert!(summary.server.is_some(), "{summary:?}");

    let cancel = CancellationToken::new();
    let (batches, mut receiver) = mpsc::channel(16);
    let running = {
        let (c, cancel) = (c.clone(), cancel.clone());
        tokio::spawn(async move {
            let run = SqlRun {
                allow_changes: false,
                database: None,
                cancel: Some(&cancel),
                batches: &batches,
                progress: None,
            };
            c.run_sql(
                "SELECT count() FROM numbers(100000000000) WHERE number % 7 = 3",
                run,
            )
            .await
        })
    };
    tokio::spawn(async move { while receiver.recv().await.is_some() {} });
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        let listed = c.running_queries().await.unwrap();
        if let Some(q) = listed
            .iter()
            .find(|q| q.query.contains("numbers(100000000000)"))
        {
            break q.query_id.clone();
        }
        assert!(Instant::now() < deadline, "never listed: {listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    cancel.cancel();
    let ended = running.await.unwrap();
    assert!(
        matches!(ended, Err(ClickHouseError::Cancelled)),
        "{ended:?}"
    );
    loop {
        let listed = c.running_queries().await.unwrap();
        if !listed.iter().any(|q| q.query_id == id) {
            break;
        }
        assert!(Instant::now() < deadline, "still running: {listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_read_back_identically_in_pyarrow() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;
    make_table(&c).await;
    let (table, _) = c
        .fetch_table(
            "SELECT cycle, station, torque, toInt32(cycle) - 50 AS signed, at, toDate(at) AS day, \
             force FROM default.cycles ORDER BY cycle",
            None,
            false,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("result.csv");
    let parquet = dir.path().join("result.parquet");
    assert_eq!(export_table(&table, &csv, false).unwrap(), 100);
    assert_eq!(export_table(&table, &parquet, false).unwrap(), 100);
    // An existing file is kept unless replacing is asked for.
    assert!(export_table(&table, &csv, false).is_err());

    let script = format!(
        r#"
import pyarrow.parquet as pq, pyarrow.csv as pc, json
t = pq.read_table({parquet:?})
types = {{f.name: str(f.type) for f in t.schema}}
rows = t.to_pylist()
for r in rows:
    r["day"] = str(r["day"])
c = pc.read_csv({csv:?}, convert_options=pc.ConvertOptions(strings_can_be_null=False, column_types={{"at": "string", "day": "string", "force": "string", "station": "string"}}))
print(json.dumps({{"types": types, "rows": [rows[0], rows[9]], "csv": c.to_pylist()[9], "n": [t.num_rows, c.num_rows]}}))
"#,
        parquet = parquet.display().to_string(),
        csv = csv.display().to_string(),
    );
    let out = Command::new(chdb_python())
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow failed (scripts/test.sh installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["n"], serde_json::json!([100, 100]));
    assert_eq!(read["types"]["cycle"], "uint64");
    assert_eq!(read["types"]["signed"], "int64");
    assert_eq!(read["types"]["torque"], "double");
    assert_eq!(read["types"]["station"], "string");
    assert_eq!(read["types"]["day"], "date32[day]");
    assert_eq!(read["types"]["force"], "list<item: double>");
    assert_eq!(
        read["rows"][0],
        serde_json::json!({"cycle": 0, "station": "S0", "torque": 0.0, "signed": -50,
                           "at": table.columns[4].get(0), "day": table.columns[5].get(0),
                           "force": []})
    );
    // Row 9: NULL torque stays null in Parquet and an empty field in CSV.
    assert_eq!(read["rows"][1]["torque"], serde_json::Value::Null);
    assert_eq!(read["rows"][1]["force"], serde_json::json!([0.0]));
    assert_eq!(read["csv"]["torque"], serde_json::Value::Null);
    assert_eq!(read["csv"]["force"], "[0]");
    assert_eq!(read["csv"]["signed"], -41);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_runs_a_statement_as_the_app_does() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;
    make_table(&c).await;
    let url = server.url();
    let said = crate::cli::lyceum_ok(&[
        "sql",
        "--url",
        &url,
        "--database",
        "default",
        "SELECT cycle, torque, 'a\\tb' AS t FROM cycles WHERE cycle IN (8, 9) ORDER BY cycle",
    ]);
    assert!(
        said.starts_with("cycle\ttorque\tt\n8\t2\ta\\tb\n9\t\\N\ta\\tb\n"),
        "{said}"
    );
    assert!(said.contains("2 rows"), "{said}");
    let refused = crate::cli::lyceum_refused(&["sql", "--url", &url, "DROP TABLE default.cycles"]);
    assert!(refused.contains("read-only"), "{refused}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    crate::cli::lyceum_ok(&[
        "sql",
        "--url",
        &url,
        "--database",
        "default",
        "--out",
        &out.display().to_string(),
        "SELECT cycle FROM cycles ORDER BY cycle LIMIT 3",
    ]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "cycle\n0\n1\n2\n");
}
