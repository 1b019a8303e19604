//! CSV import into the real server: long and wide files, a bad row that stops the import with
//! file, line and column and an exact account of what landed, and retries that resume
//! without duplicating a row.

use std::io::Write;
use std::path::Path;

use lyceum::source::clickhouse::import::{ImportFailure, ImportOptions};
use lyceum::source::clickhouse::{ClickHouseError, Connection};
use lyceum::source::csv_file::CsvError;

use crate::support::ClickHouseServer;

fn options(table: &str, batch_rows: usize) -> ImportOptions {
    ImportOptions {
        database: "imports".into(),
        table: table.into(),
        series: None,
        x: None,
        value: None,
        batch_rows,
    }
}

fn write(path: &Path, text: &str) {
    std::fs::File::create(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

async fn sum_and_count(c: &Connection, table: &str) -> (u64, f64) {
    let rows: Vec<(u64, f64)> = c
        .fetch_all(
            c.client()
                .query(&format!("SELECT count(), sum(value) FROM imports.{table}")),
        )
        .await
        .unwrap();
    rows[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn long_and_wide_files_land_completely() {
    let server = ClickHouseServer::start();
    let c = server.connect("imports").await;
    let dir = tempfile::tempdir().unwrap();

    // Long, semicolons, a label column with a header that is not an identifier.
    let long = dir.path().join("curves.csv");
    let mut text = String::from("curve_id;sample;value;Part Serial\n");
    for curve in 0..30 {
        for i in 0..100 {
            text.push_str(&format!("c{curve};{i};{};P-{curve}\n", curve * 1000 + i));
        }
    }
    write(&long, &text);
    let report = c
        .import_csv(&long, &options("long", 1000), |_| {})
        .await
        .unwrap();
    assert_eq!(
        (
            report.csv_rows,
            report.rows_inserted,
            report.batches_inserted
        ),
        (3000, 3000, 3)
    );
    let expected_sum: f64 = (0..30)
        .flat_map(|c| (0..100).map(move |i| f64::from(c * 1000 + i)))
        .sum();
    assert_eq!(sum_and_count(&c, "long").await, (3000, expected_sum));
    let columns: Vec<String> = c
        .list_columns("imports", "long")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        columns,
        ["series", "x", "value", "part_serial", "_lyceum_batch"]
    );
    // Each batch's id is on its last row alone (a batch lands whole): batches of 1,000 rows
    // end with curves 9, 19 and 29, each with its own id.
    let marked: Vec<(String, f64, String)> = c
        .fetch_all(c.client().query(
            "SELECT series, x, _lyceum_batch FROM imports.long WHERE _lyceum_batch != '' \
             ORDER BY series, x",
        ))
        .await
        .unwrap();
    let ends: Vec<(&str, f64)> = marked.iter().map(|(s, x, _)| (s.as_str(), *x)).collect();
    assert_eq!(ends, [("c19", 99.0), ("c29", 99.0), ("c9", 99.0)]);
    let ids: std::collections::HashSet<&str> = marked.iter().map(|(.., id)| id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{marked:?}");

    // Wide, tab-separated, time stamps; an empty cell is a missing sample.
    let wide = dir.path().join("sensors.tsv");
    write(
        &wide,
        "time\tpressure\ttemperature\n2026-11-02 06:00:00\t6.1\t40\n2026-11-02 06:00:01\t\t41\n2026-11-02T06:00:02Z\t6.3\t42\n",
    );
    let report = c
        .import_csv(&wide, &options("wide", 1000), |_| {})
        .await
        .unwrap();
    assert_eq!((report.csv_rows, report.rows_inserted), (3, 5));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("1 empty cell(s) of the wide file left out")),
        "{:?}",
        report.notes
    );
    // A column with no value at all is named: it makes no curve.
    let dead = dir.path().join("dead.csv");
    write(&dead, "t,alive,dead\n0,1,\n1,2,\n");
    let dead_report = c
        .import_csv(&dead, &options("dead", 1000), |_| {})
        .await
        .unwrap();
    assert_eq!(dead_report.rows_inserted, 2);
    assert!(
        dead_report
            .notes
            .iter()
            .any(|n| n == "column(s) dead hold no value: no curve"),
        "{:?}",
        dead_report.notes
    );
    assert!(
        report.layout.starts_with("wide: 2 series"),
        "{}",
        report.layout
    );
    let rows: Vec<(String, u32, f64)> = c
        .fetch_all(
            c.client()
                .query("SELECT series, toUInt32(x), value FROM imports.wide ORDER BY series, x"),
        )
        .await
        .unwrap();
    let t = 1_793_577_600 + 6 * 3600;
    assert_eq!(
        rows,
        [
            ("pressure".into(), t, 6.1),
            ("pressure".into(), t + 2, 6.3),
            ("temperature".into(), t, 40.0),
            ("temperature".into(), t + 1, 41.0),
            ("temperature".into(), t + 2, 42.0),
        ]
    );

    // Streaming: many batches, constant memory; progress reaches the end of the file.
    let big = dir.path().join("big.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    writeln!(f, "series,x,value").unwrap();
    for i in 0..200_000u64 {
        writeln!(f, "s{},{},{}", i % 10, i / 10, i % 97).unwrap();
    }
    drop(f);
    let mut last = None;
    let report = c
        .import_csv(&big, &options("big", 30_000), |p| last = Some(p))
        .await
        .unwrap();
    assert_eq!(
        (report.rows_inserted, report.batches_inserted),
        (200_000, 7)
    );
    let last = last.unwrap();
    assert_eq!(last.bytes_read, last.file_bytes);
    assert_eq!(sum_and_count(&c, "big").await.0, 200_000);

    // With no row limit to speak of, batches end at BATCH_BYTES of CSV: a 10 MB file lands in
    // three, every row once, in order.
    let large = dir.path().join("large.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&large).unwrap());
    writeln!(f, "series,x,value").unwrap();
    for i in 0..600_000u64 {
        writeln!(f, "series{},{},{}", i % 10, i / 10, i % 97).unwrap();
    }
    drop(f);
    let size = std::fs::metadata(&large).unwrap().len();
    let report = c
        .import_csv(&large, &options("large", 10_000_000), |_| {})
        .await
        .unwrap();
    assert_eq!(
        (report.rows_inserted, report.batches_inserted),
        (
            600_000,
            size.div_ceil(lyceum::source::clickhouse::import::BATCH_BYTES)
        ),
        "{size} bytes"
    );
    assert_eq!(report.last_line_landed, 600_001);
    assert_eq!(sum_and_count(&c, "large").await.0, 600_000);
}

/// Imports at once, more than rayon has workers, all land: a file's reading and waiting stay
/// on the import's own thread, and rayon only encodes. (Each import waiting on a rayon
/// worker for its encodings hung here once every worker was waiting.)
#[tokio::test(flavor = "multi_thread")]
async fn more_imports_at_once_than_rayon_has_workers_all_land() {
    let server = ClickHouseServer::start();
    let c = server.connect("imports").await;
    let dir = tempfile::tempdir().unwrap();
    let imports = 2 * rayon::current_num_threads() + 2;
    let mut text = String::from("curve_id,sample,value\n");
    for curve in 0..20 {
        for i in 0..50 {
            text.push_str(&format!("c{curve},{i},{i}\n"));
        }
    }
    let mut running = tokio::task::JoinSet::new();
    for k in 0..imports {
        let path = dir.path().join(format!("at_once_{k}.csv"));
        write(&path, &text);
        let c = c.clone();
        // Batches of 50 rows: 20 per file, so each waits on encodings again and again.
        running.spawn(async move {
            c.import_csv(&path, &options(&format!("at_once_{k}"), 50), |_| {})
                .await
        });
    }
    // The hang also stalled this runtime's timers: a thread of its own fails the run instead
    // of leaving it stuck. Disarmed when the test ends either way (a failed import panics
    // here, and is no hang).
    struct Disarm(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Disarm {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let ended = Disarm(std::sync::Arc::default());
    let watched = std::sync::Arc::clone(&ended.0);
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(180));
        if !watched.load(std::sync::atomic::Ordering::SeqCst) {
            // Past the test harness's capture, which the exit would lose.
            let _ = writeln!(
                std::io::stderr(),
                "{imports} imports at once did not end within 3 minutes: hung"
            );
            std::process::exit(1);
        }
    });
    let mut landed = Vec::new();
    while let Some(report) = running.join_next().await {
        landed.push(report.unwrap().unwrap().rows_inserted);
    }
    drop(ended);
    assert_eq!(landed, vec![1000; imports]);
    for k in 0..imports {
        let (count, sum) = sum_and_count(&c, &format!("at_once_{k}")).await;
        assert_eq!((count, sum), (1000, 20.0 * (0..50).sum::<i32>() as f64));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_row_stops_with_its_position_and_a_retry_resumes_without_duplicates() {
    let server = ClickHouseServer::start();
    let c = server.connect("imports").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("readings.csv");
    let good = |i: usize| format!("s1,{i},{}.5\n", i * 2);
    let mut text = String::from("series,x,value\n");
    for i in 0..10 {
        text.push_str(&if i == 6 {
            "s1,6,oops\n".to_owned()
        } else {
            good(i)
        });
    }
    write(&path, &text);

    let err = c
        .import_csv(&path, &options("r", 2), |_| {})
        .await
        .unwrap_err();
    let message = err.to_string();
    // Line 8 of the file (header is line 1) holds the bad value in column 3.
    assert!(
        matches!(
            &err.cause,
            ImportFailure::Csv(CsvError::BadValue {
                line: 8,
                column: 3,
                ..
            })
        ),
        "{message}"
    );
    assert!(
        message
            .contains("readings.csv: line 8, column 3 (`value`): expected a number, found `oops`"),
        "{message}"
    );
    assert_eq!(
        (
            err.landed.rows_inserted,
            err.landed.batches_inserted,
            err.landed.last_line_landed
        ),
        (6, 3, 7)
    );
    assert!(message.contains("6 rows inserted"), "{message}");
    assert_eq!(
        sum_and_count(&c, "r").await.0,
        6,
        "exactly what the report says landed"
    );

    // Fix the row and run the same import again: the first three batches are skipped.
    write(&path, &text.replace("s1,6,oops", "s1,6,12.5"));
    let report = c.import_csv(&path, &options("r", 2), |_| {}).await.unwrap();
    assert_eq!(
        (report.batches_already_present, report.rows_already_present),
        (3, 6)
    );
    assert_eq!((report.batches_inserted, report.rows_inserted), (2, 4));
    let expected: f64 = (0..10).map(|i| (i * 2) as f64 + 0.5).sum();
    assert_eq!(sum_and_count(&c, "r").await, (10, expected));

    // A third run adds nothing.
    let report = c.import_csv(&path, &options("r", 2), |_| {}).await.unwrap();
    assert_eq!((report.rows_inserted, report.rows_already_present), (0, 10));
    assert_eq!(sum_and_count(&c, "r").await.0, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_files_and_mismatched_tables_are_refused_before_anything_lands() {
    let server = ClickHouseServer::start();
    let c = server.connect("imports").await;
    let dir = tempfile::tempdir().unwrap();

    let ragged = dir.path().join("ragged.csv");
    write(&ragged, "series,x,value\na,1,2\na,2,3\na,3\n");
    let err = c
        .import_csv(&ragged, &options("ragged", 100), |_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ragged.csv: line 4: 2 fields, the header has 3"),
        "{err}"
    );
    assert_eq!(err.landed.rows_inserted, 0);
    // The table this import created is dropped again: nothing empty is left behind.
    assert!(
        matches!(
            c.count_rows("imports", "ragged").await,
            Err(ClickHouseError::UnknownTable { .. })
        ),
        "{err}"
    );

    let missing = dir.path().join("absent.csv");
    let err = c
        .import_csv(&missing, &options("absent", 100), |_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot read") && err.to_string().contains("absent.csv"),
        "{err}"
    );

    let no_layout = dir.path().join("words.csv");
    write(&no_layout, "a,b\nfoo,bar\n");
    let err = c
        .import_csv(&no_layout, &options("words", 100), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot tell the layout"), "{err}");

    c.execute("CREATE TABLE imports.other (k String) ENGINE = MergeTree() ORDER BY k")
        .await
        .unwrap();
    let fine = dir.path().join("fine.csv");
    write(&fine, "series,x,value\na,1,2\n");
    let err = c
        .import_csv(&fine, &options("other", 100), |_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("exists without column `series`"),
        "{err}"
    );

    let err = c
        .import_csv(&fine, &options("bad-name", 100), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("table name `bad-name`"), "{err}");
}
