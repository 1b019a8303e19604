//! `lyceum bench --clickhouse`: what the explorer's server views cost, each beside its
//! same-run baseline.
//! - The line dashboard over 200 stations and a day of cycles (a database the bench makes
//!   and fills once, `lyceum_bench_200_stations`): one refresh's wall time, server time and
//!   rows read (the server's query log, by the read's query id), and the heatmap from the
//!   hourly rollup beside the same counts from every raw cycle.
//! - The SQL view: a million-row result, time to the first rows and to all of them, beside
//!   `clickhouse-client` (with `--clickhouse-tcp-port`) and `curl` of the same query in the
//!   same format.
//! - Import: a 1 M-row long CSV the bench writes, through `Connection::import_csv`, beside
//!   `clickhouse-client … FORMAT CSVWithNames` of the same file (with `--clickhouse-tcp-port`),
//!   alternating.
//!
//! Main types: [`ServerRow`].

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::BenchError;
use crate::source::clickhouse::dashboard::{HeatmapSource, heatmap_sql};
use crate::source::clickhouse::{ClickHouseError, Connection};

/// The bench's own database; made and filled once, never dropped.
const DATABASE: &str = "lyceum_bench_200_stations";
const STATIONS: u64 = 200;
const STATIONS_PER_LINE: u64 = 10;
/// A cycle every 30 s per station, for a day.
const CYCLE_SECS: u64 = 30;
const DAY_SECS: u64 = 86_400;
/// The SQL view's case: a million rows of three columns.
const MILLION_ROWS_SQL: &str =
    "SELECT number, toString(number * 7) AS text, number / 4 AS quarter FROM numbers(1000000)";

/// One measured case beside its baseline.
#[derive(Clone, Debug, Serialize)]
pub struct ServerRow {
    pub case: String,
    pub ms: f64,
    pub baseline: String,
    pub baseline_ms: Option<f64>,
    /// Rows the server read for the case (its query log), where known.
    pub rows_read: Option<u64>,
    pub note: String,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn other(e: ClickHouseError) -> BenchError {
    std::io::Error::other(e.to_string()).into()
}

/// Make and fill the 200-station database unless it is there already.
async fn two_hundred_stations(c: &Connection) -> Result<u64, ClickHouseError> {
    c.execute(&format!("CREATE DATABASE IF NOT EXISTS {DATABASE}"))
        .await?;
    c.create_manufacturing_schema(
        DATABASE,
        crate::source::clickhouse::ddl::TierDays::default(),
    )
    .await?;
    let cycles = STATIONS * DAY_SECS / CYCLE_SECS;
    let held: Vec<u64> = c
        .fetch_all(
            c.query(&format!(
                "SELECT toUInt64(count()) FROM {DATABASE}.process_curves"
            ))
            .0,
        )
        .await?;
    if held.first() == Some(&cycles) {
        return Ok(cycles);
    }
    if held.first().is_some_and(|n| *n > 0) {
        return Err(ClickHouseError::InvalidRequest(format!(
            "{DATABASE}.process_curves holds other data: drop the database to measure again"
        )));
    }
    let start = crate::source::demo::DEMO_START_EPOCH_SECS;
    c.execute(&format!(
        "INSERT INTO {DATABASE}.process_curves (cycle_id, part_serial, line, station, program, \
         cycle_time, result, failure_mode, x0, dx, samples) SELECT number, toString(number), \
         concat('L', toString(intDiv(number % {STATIONS}, {STATIONS_PER_LINE}))), \
         concat('S', toString(number % {STATIONS})), 'screwdriving', \
         toDateTime({start} + intDiv(number, {STATIONS}) * {CYCLE_SECS}), \
         CAST(if(cityHash64(number) % 40 = 0, 'NOK', 'OK') AS Enum8('OK' = 1, 'NOK' = 2)), \
         if(cityHash64(number) % 40 = 0, 'torque_low', ''), 0, 1, [toFloat32(number % 7)] \
         FROM numbers({cycles})"
    ))
    .await?;
    // Per line: a state every 10 minutes and a batch every 2 hours; per station an alarm
    // every hour.
    let lines = STATIONS / STATIONS_PER_LINE;
    c.execute(&format!(
        "INSERT INTO {DATABASE}.production_events (ts, line, station, event_type, state, batch_id) \
         SELECT toDateTime({start} + intDiv(number, {lines}) * 600), \
         concat('L', toString(number % {lines})), '', \
         if(intDiv(number, {lines}) % 12 = 0, 'batch_start', 'state'), 'running', \
         concat('B', toString(number % {lines}), '-', toString(intDiv(number, {lines} * 12))) \
         FROM numbers({})",
        lines * DAY_SECS / 600
    ))
    .await?;
    c.execute(&format!(
        "INSERT INTO {DATABASE}.production_events (ts, line, station, event_type, message) \
         SELECT toDateTime({start} + intDiv(number, {STATIONS}) * 3600 + 17), \
         concat('L', toString(intDiv(number % {STATIONS}, {STATIONS_PER_LINE}))), \
         concat('S', toString(number % {STATIONS})), 'alarm', 'torque out of range' \
         FROM numbers({})",
        STATIONS * 24
    ))
    .await?;
    Ok(cycles)
}

/// The server's time and rows read for `query_id`'s finished queries (none: no query log).
async fn logged(c: &Connection, query_id: &str) -> Option<(u64, u64)> {
    c.execute("SYSTEM FLUSH LOGS").await.ok()?;
    let query = c
        .client()
        .query(
            "SELECT toUInt64(sum(query_duration_ms)), toUInt64(sum(read_rows)) \
             FROM system.query_log WHERE type = 2 AND query_id = ?",
        )
        .bind(query_id);
    let rows: Vec<(u64, u64)> = c.fetch_all(query).await.ok()?;
    rows.first().copied().filter(|(_, read)| *read > 0)
}

/// Time to the first rows (names and types, then one row) and to the end of a child's
/// stdout.
/// `clickhouse-client` running `query` against the loopback server's native `port`.
fn clickhouse_client(port: u16, query: &str) -> Command {
    let mut client = Command::new("clickhouse-client");
    client
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--query",
        ])
        .arg(query);
    client
}

fn child_times(mut command: Command) -> Option<(f64, f64)> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = child.stdout.take()?;
    let (mut lines, mut first) = (0, None);
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = out.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        if first.is_none() {
            lines += buffer[..n].iter().filter(|&&b| b == b'\n').count();
            if lines >= 3 {
                first = Some(ms(started.elapsed()));
            }
        }
    }
    let status = child.wait().ok()?;
    status
        .success()
        .then(|| (first.unwrap_or(f64::NAN), ms(started.elapsed())))
}

/// The dashboard and SQL view cases against the server at `url` (`http://host:port/db`).
pub fn run_server(url: &str, tcp_port: Option<u16>) -> Result<Vec<ServerRow>, BenchError> {
    let (runtime, c) = super::bench_connection(url)?;
    let mut rows = Vec::new();

    let cycles = runtime.block_on(two_hundred_stations(&c)).map_err(other)?;
    // One read to warm the caches, then the measured one.
    runtime
        .block_on(c.line_dashboard(DATABASE, None))
        .map_err(other)?;
    let started = Instant::now();
    let dashboard = runtime
        .block_on(c.line_dashboard(DATABASE, None))
        .map_err(other)?;
    let wall = ms(started.elapsed());
    let server = runtime.block_on(logged(&c, &dashboard.query_id));
    rows.push(ServerRow {
        case: format!(
            "dashboard refresh: {} stations, {cycles} cycles of a day",
            dashboard.tiles.len()
        ),
        ms: wall,
        baseline: "server time (query log)".into(),
        baseline_ms: server.map(|(t, _)| t as f64),
        rows_read: server.map(|(_, r)| r),
        note: format!(
            "tiles from raw cycles (last hour, shift), heatmap from the rollup, {} batches",
            dashboard.batches.len()
        ),
    });
    let now = dashboard.now_secs.unwrap_or_default();
    let heatmap = |source: HeatmapSource| -> Result<(f64, Option<(u64, u64)>), BenchError> {
        let sql = heatmap_sql(DATABASE, now, source);
        let query_id = crate::source::clickhouse::connection::new_query_id();
        let started = Instant::now();
        let _: Vec<(String, i64, u64, u64)> = runtime
            .block_on(
                c.fetch_all(
                    sql.to_query(c.client())
                        .with_setting("query_id", query_id.as_str()),
                ),
            )
            .map_err(other)?;
        let wall = ms(started.elapsed());
        Ok((wall, runtime.block_on(logged(&c, &query_id))))
    };
    let (rollup_ms, rollup_log) = heatmap(HeatmapSource::Rollup)?;
    let (raw_ms, raw_log) = heatmap(HeatmapSource::Raw)?;
    rows.push(ServerRow {
        case: "heatmap (NOK per station × hour, a day) from the hourly rollup".into(),
        ms: rollup_ms,
        baseline: "the same from every raw cycle".into(),
        baseline_ms: Some(raw_ms),
        rows_read: rollup_log.map(|(_, r)| r),
        note: format!(
            "server {} ms vs {} ms; rows read {} vs {}",
            rollup_log.map_or_else(|| "?".into(), |(t, _)| t.to_string()),
            raw_log.map_or_else(|| "?".into(), |(t, _)| t.to_string()),
            rollup_log.map_or_else(|| "?".into(), |(_, r)| r.to_string()),
            raw_log.map_or_else(|| "?".into(), |(_, r)| r.to_string()),
        ),
    });

    // The SQL view: the library's stream into a result table, then the reference clients.
    let (table, summary) = runtime
        .block_on(c.fetch_table(MILLION_ROWS_SQL, None, false))
        .map_err(other)?;
    let first_ms = summary.first_rows_after.map_or(f64::NAN, ms);
    let all_ms = ms(summary.elapsed);
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    let mut curl = Command::new("curl");
    curl.args(["-sS", "--data-binary"])
        .arg(format!(
            "{MILLION_ROWS_SQL} FORMAT TabSeparatedWithNamesAndTypes"
        ))
        .arg(base);
    let curl_times = child_times(curl);
    let client_times = tcp_port.and_then(|port| {
        child_times(clickhouse_client(
            port,
            &format!("{MILLION_ROWS_SQL} FORMAT TabSeparatedWithNamesAndTypes"),
        ))
    });
    let heap_mb = table.heap_bytes() as f64 / 1e6;
    for (what, reference, times) in [
        (
            "first rows",
            "clickhouse-client, first rows",
            client_times.map(|t| t.0),
        ),
        (
            "all rows",
            "clickhouse-client, all rows",
            client_times.map(|t| t.1),
        ),
    ] {
        let (value, curl_value) = if what == "first rows" {
            (first_ms, curl_times.map(|t| t.0))
        } else {
            (all_ms, curl_times.map(|t| t.1))
        };
        rows.push(ServerRow {
            case: format!("SQL view: {} rows × 3 columns, {what}", table.rows()),
            ms: value,
            baseline: if times.is_some() {
                reference.into()
            } else {
                "clickhouse-client (no --clickhouse-tcp-port)".into()
            },
            baseline_ms: times,
            rows_read: None,
            note: format!(
                "curl of the same query: {}; the table holds {heap_mb:.0} MB",
                curl_value.map_or_else(|| "—".into(), |v| format!("{v:.0} ms"))
            ),
        });
    }
    rows.extend(import_rows(&runtime, &c, tcp_port)?);
    Ok(rows)
}

/// Rows of the import case's CSV.
const IMPORT_ROWS: u64 = 1_000_000;
/// Runs of each side of the import case, alternating.
const IMPORT_RUNS: usize = 3;

/// A long CSV of [`IMPORT_ROWS`] rows (1,000 series of 1,000 samples) in `dir`.
fn import_csv_file(dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    let path = dir.join("bench-import.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(out, "series,x,value")?;
    for i in 0..IMPORT_ROWS {
        let (series, x) = (i / 1_000, i % 1_000);
        writeln!(
            out,
            "s{series},{x},{:.6}",
            (x as f64 * 0.01).sin() * 10.0 + series as f64
        )?;
    }
    out.flush()?;
    Ok(path)
}

/// `path` imported by the library and by `clickhouse-client` (when `tcp_port` is known), each
/// into a fresh table, alternating: the best run of each.
fn import_rows(
    runtime: &tokio::runtime::Runtime,
    c: &Connection,
    tcp_port: Option<u16>,
) -> Result<Vec<ServerRow>, BenchError> {
    let dir = std::env::temp_dir().join(format!("lyceum-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = import_csv_file(&dir)?;
    let measured = import_runs(runtime, c, tcp_port, &path);
    // The bench's own folder and file, whatever the runs gave.
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "the import bench's CSV stayed");
    }
    measured
}

/// [`import_rows`] on the file at `path`.
fn import_runs(
    runtime: &tokio::runtime::Runtime,
    c: &Connection,
    tcp_port: Option<u16>,
    path: &std::path::Path,
) -> Result<Vec<ServerRow>, BenchError> {
    use crate::source::clickhouse::import::ImportOptions;

    let file_mb = std::fs::metadata(path)?.len() as f64 / 1e6;
    let (ours_table, client_table) = ("bench_import_lyceum", "bench_import_client");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..IMPORT_RUNS {
        runtime
            .block_on(c.execute(&format!("DROP TABLE IF EXISTS {DATABASE}.{ours_table}")))
            .map_err(other)?;
        let options = ImportOptions {
            database: DATABASE.into(),
            table: ours_table.into(),
            series: None,
            x: None,
            value: None,
            batch_rows: 500_000,
        };
        let started = Instant::now();
        runtime
            .block_on(c.import_csv(path, &options, |_| {}))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        ours.push(ms(started.elapsed()));
        let Some(port) = tcp_port else {
            continue;
        };
        runtime
            .block_on(c.execute(&format!("DROP TABLE IF EXISTS {DATABASE}.{client_table}")))
            .map_err(other)?;
        runtime
            .block_on(c.execute(&format!(
                "CREATE TABLE {DATABASE}.{client_table} (series String, x Float64, value Float64) \
                 ENGINE = MergeTree() ORDER BY (series, x)"
            )))
            .map_err(other)?;
        let mut client = clickhouse_client(
            port,
            &format!("INSERT INTO {DATABASE}.{client_table} FORMAT CSVWithNames"),
        );
        client.stdin(std::fs::File::open(path)?);
        if let Some((_, all)) = child_times(client) {
            theirs.push(all);
        }
    }
    let best = |times: &[f64]| times.iter().copied().fold(f64::INFINITY, f64::min);
    let (ours_ms, theirs_ms) = (best(&ours), (!theirs.is_empty()).then(|| best(&theirs)));
    Ok(vec![ServerRow {
        case: format!(
            "import: {IMPORT_ROWS} rows of long CSV ({file_mb:.0} MB), best of {IMPORT_RUNS}"
        ),
        ms: ours_ms,
        baseline: if theirs_ms.is_some() {
            "clickhouse-client … FORMAT CSVWithNames".into()
        } else {
            "clickhouse-client (no --clickhouse-tcp-port)".into()
        },
        baseline_ms: theirs_ms,
        rows_read: None,
        note: theirs_ms.map_or_else(String::new, |theirs| {
            format!(
                "{:.2}× the reference client's speed; runs alternate",
                theirs / ours_ms
            )
        }),
    }])
}

/// The server table, each row beside its baseline.
pub fn server_table(rows: &[ServerRow]) -> String {
    let mut out = String::from("\nexplorer server views (--clickhouse)\n");
    out.push_str(&format!(
        "{:<66} {:>9}   {:<44} {:>9} {:>11}   note\n",
        "case", "ms", "baseline", "ms", "rows read"
    ));
    for row in rows {
        out.push_str(&format!(
            "{:<66} {:>9.1}   {:<44} {:>9} {:>11}   {}\n",
            row.case,
            row.ms,
            row.baseline,
            row.baseline_ms
                .map_or_else(|| "—".to_owned(), |v| format!("{v:.1}")),
            row.rows_read
                .map_or_else(|| "—".to_owned(), |v| v.to_string()),
            row.note
        ));
    }
    out
}
