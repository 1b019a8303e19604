//! `lyceum seed`: the demo plant into a ClickHouse server, in the template schema.
//!
//! Generation (rayon, on a blocking thread) and inserting (tokio) overlap through a bounded
//! channel of encoded `RowBinary` batches, so the server is never idle waiting for data and
//! memory stays at a few batches whatever the plant's size.

use std::time::{Duration, Instant};

use rayon::prelude::*;
use tokio::sync::mpsc;

use super::connection::Connection;
use super::ddl::{self, TierDays};
use super::error::{ClickHouseError, Result};
use super::rowbinary::RowBinaryWriter;
use crate::source::demo::{Plant, SensorSeries};

/// One encoded batch for one table.
#[derive(Debug)]
struct Batch {
    table: &'static str,
    columns: &'static [&'static str],
    rows: u64,
    data: bytes::Bytes,
}

/// Progress of a seed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedProgress {
    pub table: &'static str,
    /// Rows of `table` inserted so far.
    pub rows: u64,
}

/// What a seed run did.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedReport {
    pub database: String,
    pub notes: Vec<String>,
    /// Rows inserted per table.
    pub rows: Vec<(&'static str, u64)>,
    pub elapsed: Duration,
}

impl SeedReport {
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

const SENSOR_COLUMNS: &[&str] = &[
    "sensor_id",
    "line",
    "station",
    "kind",
    "unit",
    "description",
    "nominal",
    "lower_limit",
    "upper_limit",
    "sample_rate_hz",
];
const READING_COLUMNS: &[&str] = &["sensor_id", "ts", "value"];
const CURVE_COLUMNS: &[&str] = &[
    "cycle_id",
    "part_serial",
    "line",
    "station",
    "program",
    "cycle_time",
    "result",
    "failure_mode",
    "x_name",
    "x_unit",
    "y_name",
    "y_unit",
    "x0",
    "dx",
    "peak",
    "final_value",
    "samples",
];
const QUALITY_COLUMNS: &[&str] = &[
    "cycle_id",
    "part_serial",
    "station",
    "characteristic",
    "unit",
    "measured_at",
    "value",
    "nominal",
    "lower_spec",
    "upper_spec",
];
const EVENT_COLUMNS: &[&str] = &[
    "ts",
    "line",
    "station",
    "event_type",
    "state",
    "batch_id",
    "alarm_code",
    "severity",
    "message",
];

/// Rows of sensor readings per insert.
const READINGS_PER_BATCH: usize = 1_000_000;
/// Cycles per insert of process curves.
const CYCLES_PER_BATCH: usize = 500;

/// Generate every batch of the plant, in table order, into `tx`.
fn produce(plant: &Plant, datetime64: bool, tx: &mpsc::Sender<Batch>) -> bool {
    let send = |batch| tx.blocking_send(batch).is_ok();
    let mut w = RowBinaryWriter::default();
    for s in &plant.sensors {
        w.str(&s.id);
        w.str(&s.line);
        w.str(&s.station);
        w.str(s.kind.name());
        w.str(s.unit);
        w.str(&format!("{} at {}", s.kind.name(), s.station));
        w.f64(s.nominal);
        w.f64(s.lower_limit);
        w.f64(s.upper_limit);
        w.f64(1.0);
    }
    if !send(Batch {
        table: "sensors",
        columns: SENSOR_COLUMNS,
        rows: plant.sensors.len() as u64,
        data: w.take(),
    }) {
        return false;
    }
    let per_sensor = (plant.config.days * 86_400.0) as usize;
    let sensors_per_batch = (READINGS_PER_BATCH / per_sensor.max(1)).max(1);
    let indices: Vec<usize> = (0..plant.sensors.len()).collect();
    for chunk in indices.chunks(sensors_per_batch) {
        let series: Vec<SensorSeries> = chunk.par_iter().map(|&i| plant.sensor_series(i)).collect();
        let rows: usize = series.iter().map(|s| s.values.len()).sum();
        let mut w = RowBinaryWriter::with_capacity(rows * 40);
        for (&i, s) in chunk.iter().zip(&series) {
            let id = plant.sensors[i].id.as_str();
            for (&ts, &v) in s.ts_ms.iter().zip(&s.values) {
                w.str(id);
                w.time_ms(ts, datetime64);
                w.f32(v);
            }
        }
        if !send(Batch {
            table: "sensor_readings",
            columns: READING_COLUMNS,
            rows: rows as u64,
            data: w.take(),
        }) {
            return false;
        }
    }
    let indices: Vec<usize> = (0..plant.config.curves).collect();
    for chunk in indices.chunks(CYCLES_PER_BATCH) {
        let cycles: Vec<_> = chunk.par_iter().map(|&i| plant.cycle(i)).collect();
        let samples: usize = cycles.iter().map(|c| c.samples.len()).sum();
        let mut curves = RowBinaryWriter::with_capacity(samples * 4 + cycles.len() * 200);
        let mut quality = RowBinaryWriter::default();
        let mut quality_rows = 0u64;
        for c in &cycles {
            let station = &plant.stations[c.station];
            let (x_name, x_unit, y_name, y_unit) = station.program.axes();
            curves.u64(c.cycle_id);
            curves.str(&c.part_serial);
            curves.str(&station.line);
            curves.str(&station.id);
            curves.str(station.program.name());
            curves.time_ms(c.cycle_time_ms, datetime64);
            curves.u8(if c.failure.is_some() { 2 } else { 1 });
            curves.str(c.failure.map_or("", |f| f.name()));
            for text in [x_name, x_unit, y_name, y_unit] {
                curves.str(text);
            }
            curves.f64(c.x0);
            curves.f64(c.dx);
            curves.f32(c.peak());
            curves.f32(c.final_value());
            curves.f32_array(&c.samples);
            for m in plant.quality_measurements(c) {
                quality.u64(m.cycle_id);
                quality.str(&m.part_serial);
                quality.str(&m.station);
                quality.str(m.characteristic);
                quality.str(m.unit);
                quality.time_ms(m.measured_at_ms, datetime64);
                for v in [m.value, m.nominal, m.lower_spec, m.upper_spec] {
                    quality.f64(v);
                }
                quality_rows += 1;
            }
        }
        let curve_batch = Batch {
            table: "process_curves",
            columns: CURVE_COLUMNS,
            rows: cycles.len() as u64,
            data: curves.take(),
        };
        let quality_batch = Batch {
            table: "quality_measurements",
            columns: QUALITY_COLUMNS,
            rows: quality_rows,
            data: quality.take(),
        };
        if !send(curve_batch) || !send(quality_batch) {
            return false;
        }
    }
    let events = plant.production_events();
    let mut w = RowBinaryWriter::default();
    for e in &events {
        w.time_ms(e.ts_ms, datetime64);
        for text in [
            e.line.as_str(),
            &e.station,
            e.event_type,
            e.state,
            &e.batch_id,
            e.alarm_code,
            e.severity,
            &e.message,
        ] {
            w.str(text);
        }
    }
    send(Batch {
        table: "production_events",
        columns: EVENT_COLUMNS,
        rows: events.len() as u64,
        data: w.take(),
    })
}

impl Connection {
    /// Create the template schema in `database` and load `plant` into it. Refuses a database
    /// whose `process_curves` already holds rows unless `replace` (which drops the template's
    /// tables and rollups first).
    pub async fn seed_demo_plant(
        &self,
        database: &str,
        plant: &Plant,
        replace: bool,
        mut progress: impl FnMut(SeedProgress),
    ) -> Result<SeedReport> {
        let started = Instant::now();
        if replace {
            super::insert::check_plain_identifier("database", database)?;
            for object in ddl::ROLLUPS.iter().chain(&ddl::TABLES) {
                let query = self
                    .client()
                    .query("DROP TABLE IF EXISTS ?.?")
                    .bind(clickhouse::sql::Identifier(database))
                    .bind(clickhouse::sql::Identifier(object));
                self.execute_query(query, &super::connection::new_query_id())
                    .await?;
            }
        }
        let plan = self
            .create_manufacturing_schema(database, TierDays::default())
            .await?;
        let existing = self.count_rows(database, "process_curves").await?;
        if existing > 0 {
            return Err(ClickHouseError::InvalidRequest(format!(
                "{database}.process_curves already holds {existing} rows; seed another database, or replace them (`--replace` on the command line)"
            )));
        }
        let datetime64 = self.capabilities().datetime64;
        let (tx, mut rx) = mpsc::channel::<Batch>(2);
        let producer_plant = plant.clone();
        let producer =
            tokio::task::spawn_blocking(move || produce(&producer_plant, datetime64, &tx));
        let mut rows: Vec<(&'static str, u64)> = Vec::new();
        while let Some(batch) = rx.recv().await {
            self.insert_rowbinary(database, batch.table, batch.columns, batch.data)
                .await?;
            let total = match rows.iter_mut().find(|(t, _)| *t == batch.table) {
                Some((_, n)) => {
                    *n += batch.rows;
                    *n
                }
                None => {
                    rows.push((batch.table, batch.rows));
                    batch.rows
                }
            };
            progress(SeedProgress {
                table: batch.table,
                rows: total,
            });
        }
        let finished = producer.await.map_err(|e| ClickHouseError::Decode {
            detail: format!("the demo generator stopped: {e}"),
        })?;
        if !finished {
            return Err(ClickHouseError::Decode {
                detail: "the demo generator stopped early".to_owned(),
            });
        }
        Ok(SeedReport {
            database: database.to_owned(),
            notes: plan.notes,
            rows,
            elapsed: started.elapsed(),
        })
    }
}
