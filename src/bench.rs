//! `lyceum bench`: the curve engine's own benchmark table. Each case is timed beside its
//! baseline in the same run: M4 decimation against a plain parallel read (a sum) of the same
//! bytes, which is the memory-bandwidth ceiling decimation is measured against.

use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::curves::{
    CurveStore, CurveStoreBuilder, Decimated, PixelMap, StoreError, decimate_m4_into,
};
use crate::source::demo::{Plant, PlantConfig};

/// One row of the table.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub case: String,
    pub points: usize,
    pub width_px: u32,
    /// Median over the runs.
    pub decimate_ms: f64,
    pub points_per_sec: f64,
    pub plain_read_ms: f64,
    /// Decimation speed as a share of the plain read of the same bytes.
    pub ratio_to_plain_read: f64,
    pub output_points: usize,
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut last = f();
    let times = (0..runs)
        .map(|_| {
            let t = Instant::now();
            last = f();
            t.elapsed()
        })
        .collect();
    (median(times), last)
}

/// The plain read: every y value summed in parallel, 16 lanes wide so it runs at memory speed
/// (what any single pass over the data costs).
pub fn plain_read(store: &CurveStore) -> f32 {
    store
        .y_values()
        .par_chunks(1 << 16)
        .map(|chunk| {
            let mut lanes = [0.0f32; 16];
            for block in chunk.chunks_exact(16) {
                for (lane, v) in lanes.iter_mut().zip(block) {
                    *lane += v;
                }
            }
            lanes.iter().sum::<f32>() + chunk.chunks_exact(16).remainder().iter().sum::<f32>()
        })
        .sum()
}

fn synthetic(curves: usize, samples: usize) -> Result<CurveStore, StoreError> {
    let mut b = CurveStoreBuilder::new(&[]);
    b.reserve(curves, curves * samples, false);
    for c in 0..curves {
        b.start_curve(
            c.to_string(),
            &[],
            crate::curves::Sampling::Uniform {
                x0: 1.7e9,
                dx: 0.001,
            },
        )?;
        let phase = c as f32 * 0.37;
        b.extend_y(
            (0..samples)
                .map(|i| ((i as f32) * 1e-4 + phase).sin() + ((i * 7919 % 1000) as f32) * 1e-3),
        )?;
    }
    b.finish()
}

fn case(name: &str, store: &CurveStore, width_px: u32, runs: usize) -> BenchRow {
    let x_end = (0..store.len() as u32)
        .map(|id| store.x_at(id, store.y(id).len().saturating_sub(1)))
        .fold(f64::MIN, f64::max);
    let map = PixelMap::new(store.x_at(0, 0), x_end, width_px);
    // As the app does on every pan and zoom: the output buffers are reused.
    let mut out = Decimated::default();
    let (decimate, ()) = time(runs, || decimate_m4_into(store, &map, &mut out));
    let (read, _) = time(runs, || plain_read(store));
    let points = store.point_count();
    BenchRow {
        case: name.to_owned(),
        points,
        width_px,
        decimate_ms: decimate.as_secs_f64() * 1e3,
        points_per_sec: points as f64 / decimate.as_secs_f64(),
        plain_read_ms: read.as_secs_f64() * 1e3,
        ratio_to_plain_read: read.as_secs_f64() / decimate.as_secs_f64(),
        output_points: out.point_count(),
    }
}

/// Run every decimation case; `scale` < 1 shrinks the big ones (for quick checks).
pub fn run_decimation(scale: f64) -> Result<Vec<BenchRow>, StoreError> {
    let scaled = |n: usize| ((n as f64 * scale) as usize).max(1);
    let demo = Plant::new(PlantConfig {
        curves: scaled(10_000),
        samples: 2_000,
        ..PlantConfig::default()
    })
    .process_curves()?;
    let mut rows = vec![
        case("10,000 demo curves × 2,000", &demo, 1000, 15),
        case("10,000 demo curves × 2,000", &demo, 2000, 15),
    ];
    drop(demo);
    let sensors = synthetic(100, scaled(1_000_000))?;
    rows.push(case("100 series × 1 M", &sensors, 1920, 7));
    drop(sensors);
    let long = synthetic(1, scaled(100_000_000))?;
    rows.push(case("1 series × 100 M", &long, 1920, 7));
    Ok(rows)
}

/// The rows as a text table.
pub fn table(rows: &[BenchRow]) -> String {
    let mut out = format!(
        "{:<28} {:>11} {:>6} {:>12} {:>13} {:>14} {:>8} {:>9}\n",
        "decimation (M4)",
        "points",
        "px",
        "time ms",
        "points/s",
        "plain read ms",
        "ratio",
        "out pts"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<28} {:>11} {:>6} {:>12.2} {:>12.2}G {:>14.2} {:>8.2} {:>9}\n",
            r.case,
            r.points,
            r.width_px,
            r.decimate_ms,
            r.points_per_sec / 1e9,
            r.plain_read_ms,
            r.ratio_to_plain_read,
            r.output_points
        ));
    }
    out
}
