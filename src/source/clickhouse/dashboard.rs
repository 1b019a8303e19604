//! The line dashboard's data (the manufacturing template's tables): per station the cycles and
//! NOK of the last hour and shift, NOK by failure kind, the line's state and batch and the
//! station's last alarm (`production_events`), and the NOK rate per station × hour of the last
//! day from the hourly rollup (`process_results_hourly`). "Now" is the newest cycle's time, so
//! a replayed or stopped plant still shows its last hours.

use std::collections::HashMap;

use serde::Deserialize;

use tokio_util::sync::CancellationToken;

use super::connection::{Budget, Connection};
use super::error::Result;
use super::plan::{BindValue, BoundSql};
use crate::curves::quality::yields::YieldCount;

/// A shift's length.
pub const SHIFT_SECS: i64 = 8 * 3600;

/// One station's tile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StationTile {
    pub line: String,
    pub station: String,
    /// OK cycles of all cycles, in the last hour and the last shift.
    pub hour: YieldCount,
    pub shift: YieldCount,
    /// NOK cycles of the shift per failure kind, most first.
    pub nok_by_failure: Vec<(String, u64)>,
    /// The line's last state and batch, the station's last alarm (epoch seconds, message).
    pub state: Option<String>,
    pub batch: Option<String>,
    pub last_alarm: Option<(i64, String)>,
}

/// Batches of the last day shown at most (the newest).
pub const MAX_BATCHES: usize = 30;

/// One batch on a line: from its start to the next batch's start on that line (or now).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchSummary {
    pub line: String,
    pub batch: String,
    pub start_secs: i64,
    /// The next batch's start, or just after "now" for the running batch (ends excluded).
    pub end_secs: i64,
    pub running: bool,
    pub cycles: YieldCount,
}

/// The dashboard at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineDashboard {
    /// Epoch seconds of the newest cycle (none: no cycles).
    pub now_secs: Option<i64>,
    pub tiles: Vec<StationTile>,
    /// Per station and hour (epoch seconds) of the last day: OK of all cycles.
    pub heatmap: Vec<(String, i64, YieldCount)>,
    /// The batches of the last day, newest first (at most [`MAX_BATCHES`]).
    pub batches: Vec<BatchSummary>,
    /// The id the read's queries ran under (the server's query log has their costs).
    pub query_id: String,
}

/// Per batch, in order: its cycles, and its NOK cycles.
#[derive(Debug, clickhouse::Row, Deserialize)]
struct BatchCounts {
    cycles: Vec<u64>,
    noks: Vec<u64>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct BatchStartRow {
    line_name: String,
    batch: String,
    at: i64,
}

/// Each line's batches from their starts (sorted by line, then time): a batch runs until the
/// next one on its line starts. Those that ended before `since` are left out; newest first.
fn batch_spans(starts: Vec<BatchStartRow>, since: i64, now: i64) -> Vec<BatchSummary> {
    let mut spans: Vec<BatchSummary> = Vec::new();
    for (i, start) in starts.iter().enumerate() {
        let next = starts
            .get(i + 1)
            .filter(|n| n.line_name == start.line_name)
            .map(|n| n.at);
        let end_secs = next.unwrap_or(now + 1);
        if end_secs > since {
            spans.push(BatchSummary {
                line: start.line_name.clone(),
                batch: start.batch.clone(),
                start_secs: start.at,
                end_secs,
                running: next.is_none(),
                cycles: YieldCount::default(),
            });
        }
    }
    spans.sort_by(|a, b| b.start_secs.cmp(&a.start_secs).then(a.line.cmp(&b.line)));
    spans.truncate(MAX_BATCHES);
    spans
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct CountRow {
    line: String,
    station: String,
    hour_cycles: u64,
    hour_nok: u64,
    shift_cycles: u64,
    shift_nok: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct FailureRow {
    station: String,
    failure: String,
    n: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct LineRow {
    line: String,
    state: String,
    batch: String,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct AlarmRow {
    station: String,
    at: i64,
    message: String,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct CellRow {
    station: String,
    at: i64,
    cycles: u64,
    nok: u64,
}

fn table(sql: &mut BoundSql, database: &str, name: &str) {
    sql.bind(BindValue::Identifier(database.to_owned()))
        .push(".")
        .bind(BindValue::Identifier(name.to_owned()));
}

/// Where the heatmap's counts come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeatmapSource {
    /// The hourly rollup (`process_results_hourly`): a row per station and hour.
    Rollup,
    /// Every cycle of the day (`process_curves`): the baseline the rollup saves.
    Raw,
}

/// Cycles and NOK per station and hour of the day ending at `now` (epoch seconds).
pub fn heatmap_sql(database: &str, now: i64, source: HeatmapSource) -> BoundSql {
    let mut cells = BoundSql::default();
    let hour = match source {
        HeatmapSource::Rollup => {
            cells.push(
                "SELECT toString(station) AS station, toInt64(toUInt32(hour)) AS at, \
                 toUInt64(sum(cycles)) AS cycles, toUInt64(sum(nok_cycles)) AS nok FROM ",
            );
            table(&mut cells, database, "process_results_hourly");
            "toUInt32(hour)"
        }
        HeatmapSource::Raw => {
            cells.push(
                "SELECT toString(station) AS station, \
                 toInt64(toUInt32(toStartOfHour(toDateTime(cycle_time)))) AS at, \
                 toUInt64(count()) AS cycles, toUInt64(countIf(toString(result) = 'NOK')) AS nok \
                 FROM ",
            );
            table(&mut cells, database, "process_curves");
            "toUInt32(toStartOfHour(toDateTime(cycle_time)))"
        }
    };
    cells
        .push(&format!(" WHERE {hour} > "))
        .bind(BindValue::I64(now - 24 * 3600))
        .push(&format!(" AND {hour} <= "))
        .bind(BindValue::I64(now))
        .push(" GROUP BY station, at ORDER BY station, at");
    cells
}

/// `count` cycles of which `nok` failed, as passed of judged.
fn yield_of(count: u64, nok: u64) -> YieldCount {
    YieldCount {
        passed: count.saturating_sub(nok) as usize,
        judged: count as usize,
    }
}

impl Connection {
    /// The dashboard of the template's tables in `database`.
    pub async fn line_dashboard(
        &self,
        database: &str,
        cancel: Option<&CancellationToken>,
    ) -> Result<LineDashboard> {
        // One id for the read's queries, which run one after another: a cancel kills whichever
        // runs.
        let query_id = super::connection::new_query_id();
        let read = self.read_dashboard(database, &query_id);
        self.run(Budget::Data, Some(&query_id), cancel, read).await
    }

    /// Rows of `sql` under `query_id`.
    async fn fetch_under<T>(&self, sql: &BoundSql, query_id: &str) -> Result<Vec<T>>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        self.fetch_all(
            sql.to_query(self.client())
                .with_setting("query_id", query_id),
        )
        .await
    }

    async fn read_dashboard(&self, database: &str, query_id: &str) -> Result<LineDashboard> {
        let mut newest = BoundSql::default();
        newest
            .push("SELECT toInt64(toUInt32(toDateTime(max(cycle_time)))), toUInt64(count()) FROM ");
        table(&mut newest, database, "process_curves");
        let found: Vec<(i64, u64)> = self.fetch_under(&newest, query_id).await?;
        let Some(&(now, cycles)) = found.first().filter(|(_, n)| *n > 0) else {
            return Ok(LineDashboard {
                query_id: query_id.to_owned(),
                ..LineDashboard::default()
            });
        };
        let shift_start = now - SHIFT_SECS;
        let in_shift = |sql: &mut BoundSql, column: &str| {
            sql.push(&format!(" WHERE toUInt32(toDateTime({column})) >= "))
                .bind(BindValue::I64(shift_start))
                .push(&format!(" AND toUInt32(toDateTime({column})) <= "))
                .bind(BindValue::I64(now));
        };
        let mut counts = BoundSql::default();
        counts
            .push(
                "SELECT toString(line) AS line, toString(station) AS station, \
                 toUInt64(countIf(t >= ",
            )
            .bind(BindValue::I64(now - 3600))
            .push(")) AS hour_cycles, toUInt64(countIf(t >= ")
            .bind(BindValue::I64(now - 3600))
            .push(
                " AND nok)) AS hour_nok, toUInt64(count()) AS shift_cycles, \
                 toUInt64(countIf(nok)) AS shift_nok FROM (SELECT line, station, \
                 toUInt32(toDateTime(cycle_time)) AS t, toString(result) = 'NOK' AS nok FROM ",
            );
        table(&mut counts, database, "process_curves");
        in_shift(&mut counts, "cycle_time");
        counts.push(") GROUP BY line, station ORDER BY line, station");
        let counts: Vec<CountRow> = self.fetch_under(&counts, query_id).await?;

        let mut failures = BoundSql::default();
        failures.push(
            "SELECT toString(station) AS station, toString(failure_mode) AS failure, \
             toUInt64(count()) AS n FROM ",
        );
        table(&mut failures, database, "process_curves");
        in_shift(&mut failures, "cycle_time");
        failures.push(" AND toString(result) = 'NOK' GROUP BY station, failure ORDER BY station, n DESC, failure");
        let failures: Vec<FailureRow> = self.fetch_under(&failures, query_id).await?;

        let mut lines = BoundSql::default();
        lines.push(
            "SELECT toString(line) AS line, \
             toString(argMaxIf(state, ts, event_type = 'state')) AS state, \
             toString(argMaxIf(batch_id, ts, event_type = 'batch_start')) AS batch FROM ",
        );
        table(&mut lines, database, "production_events");
        lines
            .push(" WHERE toUInt32(toDateTime(ts)) <= ")
            .bind(BindValue::I64(now))
            .push(" GROUP BY line");
        let lines: Vec<LineRow> = self.fetch_under(&lines, query_id).await?;

        let mut alarms = BoundSql::default();
        alarms.push(
            "SELECT toString(station) AS station, toInt64(max(toUInt32(toDateTime(ts)))) AS at, \
             toString(argMax(message, ts)) AS message FROM ",
        );
        table(&mut alarms, database, "production_events");
        alarms
            .push(" WHERE event_type = 'alarm' AND toUInt32(toDateTime(ts)) <= ")
            .bind(BindValue::I64(now))
            .push(" GROUP BY station");
        let alarms: Vec<AlarmRow> = self.fetch_under(&alarms, query_id).await?;

        let cells = heatmap_sql(database, now, HeatmapSource::Rollup);
        let cells: Vec<CellRow> = self.fetch_under(&cells, query_id).await?;

        let batches = self.read_batches(database, query_id, now).await?;

        let lines: HashMap<String, LineRow> =
            lines.into_iter().map(|l| (l.line.clone(), l)).collect();
        let alarms: HashMap<String, AlarmRow> =
            alarms.into_iter().map(|a| (a.station.clone(), a)).collect();
        let some = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        let tiles = counts
            .into_iter()
            .map(|c| StationTile {
                hour: yield_of(c.hour_cycles, c.hour_nok),
                shift: yield_of(c.shift_cycles, c.shift_nok),
                nok_by_failure: failures
                    .iter()
                    .filter(|f| f.station == c.station)
                    .map(|f| (f.failure.clone(), f.n))
                    .collect(),
                state: lines.get(&c.line).and_then(|l| some(&l.state)),
                batch: lines.get(&c.line).and_then(|l| some(&l.batch)),
                last_alarm: alarms.get(&c.station).map(|a| (a.at, a.message.clone())),
                line: c.line,
                station: c.station,
            })
            .collect();
        let heatmap = cells
            .into_iter()
            .map(|c| (c.station, c.at, yield_of(c.cycles, c.nok)))
            .collect();
        tracing::debug!(cycles, batches = batches.len(), "line dashboard read");
        Ok(LineDashboard {
            now_secs: Some(now),
            tiles,
            heatmap,
            batches,
            query_id: query_id.to_owned(),
        })
    }

    /// The last day's batches (`production_events`' batch starts) with their cycles and OK
    /// share, counted in one pass over the day's cycles (a pair of `countIf` per batch).
    async fn read_batches(
        &self,
        database: &str,
        query_id: &str,
        now: i64,
    ) -> Result<Vec<BatchSummary>> {
        let day_start = now - 24 * 3600;
        let mut starts = BoundSql::default();
        starts.push(
            "SELECT toString(line) AS line_name, toString(batch_id) AS batch, \
             toInt64(toUInt32(toDateTime(ts))) AS at FROM ",
        );
        table(&mut starts, database, "production_events");
        // Two days back: the batch running when the day began started before it.
        starts
            .push(" WHERE event_type = 'batch_start' AND toUInt32(toDateTime(ts)) > ")
            .bind(BindValue::I64(now - 2 * 24 * 3600))
            .push(" AND toUInt32(toDateTime(ts)) <= ")
            .bind(BindValue::I64(now))
            .push(" ORDER BY line_name, at");
        let starts: Vec<BatchStartRow> = self.fetch_under(&starts, query_id).await?;
        let mut batches = batch_spans(starts, day_start, now);
        let Some(first) = batches.iter().map(|b| b.start_secs).min() else {
            return Ok(batches);
        };
        let mut counts = BoundSql::default();
        for (i, prefix) in ["SELECT [", "], ["].into_iter().enumerate() {
            counts.push(prefix);
            for (j, b) in batches.iter().enumerate() {
                if j > 0 {
                    counts.push(", ");
                }
                counts
                    .push("toUInt64(countIf(line_name = ")
                    .bind(BindValue::Str(b.line.clone()))
                    .push(" AND t >= ")
                    .bind(BindValue::I64(b.start_secs))
                    .push(" AND t < ")
                    .bind(BindValue::I64(b.end_secs))
                    .push(if i == 0 { "))" } else { " AND nok))" });
            }
        }
        counts.push(
            // An alias equal to its column's name loops on 18.16: `line_name`.
            "] FROM (SELECT toString(line) AS line_name, \
             toInt64(toUInt32(toDateTime(cycle_time))) AS t, toString(result) = 'NOK' AS nok FROM ",
        );
        table(&mut counts, database, "process_curves");
        counts
            .push(" WHERE toUInt32(toDateTime(cycle_time)) >= ")
            .bind(BindValue::I64(first))
            .push(" AND toUInt32(toDateTime(cycle_time)) <= ")
            .bind(BindValue::I64(now))
            .push(")");
        let found: Vec<BatchCounts> = self.fetch_under(&counts, query_id).await?;
        if let Some(BatchCounts { cycles, noks }) = found.first() {
            for ((batch, &n), &nok) in batches.iter_mut().zip(cycles).zip(noks) {
                batch.cycles = yield_of(n, nok);
            }
        }
        Ok(batches)
    }
}
