//! The line dashboard's data (the manufacturing template's tables): per station the cycles and
//! NOK of the last hour and shift, NOK by failure kind, the line's state and batch and the
//! station's last alarm (`production_events`), and the NOK rate per station × hour of the last
//! day from the hourly rollup (`process_results_hourly`). "Now" is the newest cycle's time, so
//! a replayed or stopped plant still shows its last hours.

use std::collections::HashMap;

use serde::Deserialize;

use super::connection::Connection;
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

/// The dashboard at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineDashboard {
    /// Epoch seconds of the newest cycle (none: no cycles).
    pub now_secs: Option<i64>,
    pub tiles: Vec<StationTile>,
    /// Per station and hour (epoch seconds) of the last day: OK of all cycles.
    pub heatmap: Vec<(String, i64, YieldCount)>,
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

/// `count` cycles of which `nok` failed, as passed of judged.
fn yield_of(count: u64, nok: u64) -> YieldCount {
    YieldCount {
        passed: count.saturating_sub(nok) as usize,
        judged: count as usize,
    }
}

impl Connection {
    /// The dashboard of the template's tables in `database`.
    pub async fn line_dashboard(&self, database: &str) -> Result<LineDashboard> {
        let mut newest = BoundSql::default();
        newest
            .push("SELECT toInt64(toUInt32(toDateTime(max(cycle_time)))), toUInt64(count()) FROM ");
        table(&mut newest, database, "process_curves");
        let found: Vec<(i64, u64)> = self.fetch_all(newest.to_query(self.client())).await?;
        let Some(&(now, cycles)) = found.first().filter(|(_, n)| *n > 0) else {
            return Ok(LineDashboard::default());
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
        let counts: Vec<CountRow> = self.fetch_all(counts.to_query(self.client())).await?;

        let mut failures = BoundSql::default();
        failures.push(
            "SELECT toString(station) AS station, toString(failure_mode) AS failure, \
             toUInt64(count()) AS n FROM ",
        );
        table(&mut failures, database, "process_curves");
        in_shift(&mut failures, "cycle_time");
        failures.push(" AND toString(result) = 'NOK' GROUP BY station, failure ORDER BY station, n DESC, failure");
        let failures: Vec<FailureRow> = self.fetch_all(failures.to_query(self.client())).await?;

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
        let lines: Vec<LineRow> = self.fetch_all(lines.to_query(self.client())).await?;

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
        let alarms: Vec<AlarmRow> = self.fetch_all(alarms.to_query(self.client())).await?;

        let mut cells = BoundSql::default();
        cells.push(
            "SELECT toString(station) AS station, toInt64(toUInt32(hour)) AS at, \
             toUInt64(sum(cycles)) AS cycles, toUInt64(sum(nok_cycles)) AS nok FROM ",
        );
        table(&mut cells, database, "process_results_hourly");
        cells
            .push(" WHERE toUInt32(hour) > ")
            .bind(BindValue::I64(now - 24 * 3600))
            .push(" AND toUInt32(hour) <= ")
            .bind(BindValue::I64(now))
            .push(" GROUP BY station, at ORDER BY station, at");
        let cells: Vec<CellRow> = self.fetch_all(cells.to_query(self.client())).await?;

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
        tracing::debug!(cycles, "line dashboard read");
        Ok(LineDashboard {
            now_secs: Some(now),
            tiles,
            heatmap,
        })
    }
}
