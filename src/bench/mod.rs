//! `lyceum bench` (feature `bench`): the curve engine's own benchmark tables. Each case is
//! timed beside its baselines in the same run: M4 decimation against the fastest of a few
//! plain parallel reads of the same bytes (the memory-bandwidth ceiling) and against
//! tsdownsample's M4 where Python has it; GPU drawing
//! ([`run_rendering`]) against the egui_plot `Line`-per-curve plot a Rust developer would write
//! first, timed through egui's tessellation.

use std::time::{Duration, Instant};

pub mod app;
pub mod server;

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
    /// The fastest plain read of the same bytes ([`plain_read`]) and which kernel it was.
    pub plain_read_ms: f64,
    pub plain_read_kernel: &'static str,
    /// Decimation speed as a share of the plain read of the same bytes.
    pub ratio_to_plain_read: f64,
    /// tsdownsample's M4 (Rust + SIMD `argminmax`, from Python) on the same series, where a
    /// case is one series and Python has the package; times alternate with ours.
    pub tsdownsample_ms: Option<f64>,
    /// Decimation speed as a share of tsdownsample's (≥ 1: as fast or faster).
    pub ratio_to_tsdownsample: Option<f64>,
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

/// [`time`] for work that can fail: the first error ends the measurement.
fn try_time<T>(
    runs: usize,
    mut f: impl FnMut() -> Result<T, BenchError>,
) -> Result<Duration, BenchError> {
    let mut error = None;
    let (elapsed, _) = time(runs, || {
        if error.is_none()
            && let Err(e) = f()
        {
            error = Some(e);
        }
    });
    error.map_or(Ok(elapsed), Err)
}

/// A read of one chunk of samples, folded to a checksum so it cannot be optimised away.
pub type ReadKernel = fn(&[f32]) -> u32;

/// Read kernels over the y bytes, each in 16 independent lanes so it vectorises, all threads.
/// The fastest of them is the memory ceiling decimation is compared with.
pub const READ_KERNELS: [(&str, ReadKernel); 3] = [
    ("f32 sum", |chunk| {
        let mut lanes = [0.0f32; 16];
        for block in chunk.chunks_exact(16) {
            for (lane, v) in lanes.iter_mut().zip(block) {
                *lane += v;
            }
        }
        lanes.iter().sum::<f32>().to_bits()
    }),
    ("f32 max", |chunk| {
        let mut lanes = [f32::NEG_INFINITY; 16];
        for block in chunk.chunks_exact(16) {
            for (lane, &v) in lanes.iter_mut().zip(block) {
                *lane = if v > *lane { v } else { *lane };
            }
        }
        lanes.iter().fold(0u32, |a, l| a ^ l.to_bits())
    }),
    ("u32 xor", |chunk| {
        let mut lanes = [0u32; 16];
        for block in chunk.chunks_exact(16) {
            for (lane, v) in lanes.iter_mut().zip(block) {
                *lane ^= v.to_bits();
            }
        }
        lanes.iter().fold(0, |a, l| a ^ l)
    }),
];

/// Run one read kernel over every y value in parallel (chunks of 1 MiB).
pub fn plain_read_with(store: &CurveStore, kernel: ReadKernel) -> u32 {
    store
        .y_values()
        .par_chunks(1 << 18)
        .map(kernel)
        .reduce(|| 0, |a, b| a ^ b)
}

/// The plain read: every kernel of [`READ_KERNELS`] timed over the store's bytes; the fastest
/// (median of `runs`) with its name.
pub fn plain_read(store: &CurveStore, runs: usize) -> (Duration, &'static str) {
    READ_KERNELS
        .iter()
        .map(|&(name, kernel)| {
            let (elapsed, checksum) = time(runs, || plain_read_with(store, kernel));
            std::hint::black_box(checksum);
            (elapsed, name)
        })
        .min_by_key(|(elapsed, _)| *elapsed)
        .unwrap_or((Duration::ZERO, "none"))
}

/// Uniform curves of `samples` smooth-plus-noise values (the long-series cases).
pub fn synthetic(curves: usize, samples: usize) -> Result<CurveStore, StoreError> {
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

/// One decimation case: a store and the widths it is decimated for. `lyceum bench` and the
/// criterion benchmarks run the same list.
#[derive(Debug)]
pub struct DecimationCase {
    pub name: &'static str,
    pub store: CurveStore,
    pub widths_px: Vec<u32>,
    pub runs: usize,
}

/// The decimation cases, built one at a time (`scale` < 1 shrinks the big ones, for quick
/// checks): `each` gets every case and drops it before the next is built.
pub fn for_each_decimation_case(
    scale: f64,
    mut each: impl FnMut(DecimationCase),
) -> Result<(), StoreError> {
    let scaled = |n: usize| ((n as f64 * scale) as usize).max(1);
    each(DecimationCase {
        name: "10,000 demo curves × 2,000",
        store: Plant::new(PlantConfig {
            curves: scaled(10_000),
            samples: 2_000,
            ..PlantConfig::default()
        })
        .process_curves()?,
        widths_px: vec![1000, 2000],
        runs: 15,
    });
    each(DecimationCase {
        name: "100 series × 1 M",
        store: synthetic(100, scaled(1_000_000))?,
        widths_px: vec![1920],
        runs: 7,
    });
    each(DecimationCase {
        name: "1 series × 100 M",
        store: synthetic(1, scaled(100_000_000))?,
        widths_px: vec![1920],
        runs: 7,
    });
    Ok(())
}

/// tsdownsample's M4 on `ys` for `width_px` columns, median of `runs` in ms; `None` where
/// Python (`LYCEUM_PYTHON`, else `python3`) lacks the package.
fn tsdownsample_ms(ys: &[f32], width_px: u32, runs: usize) -> Option<f64> {
    const SCRIPT: &str = "import sys, time, numpy as np\n\
        from tsdownsample import M4Downsampler\n\
        y = np.fromfile(sys.argv[1], dtype=np.float32)\n\
        n_out, runs = int(sys.argv[2]), int(sys.argv[3])\n\
        d = M4Downsampler()\n\
        d.downsample(y, n_out=n_out, parallel=True)\n\
        ts = []\n\
        for _ in range(runs):\n    \
            t = time.perf_counter(); d.downsample(y, n_out=n_out, parallel=True)\n    \
            ts.append(time.perf_counter() - t)\n\
        print(sorted(ts)[len(ts) // 2] * 1e3)\n";
    let python = std::env::var_os("LYCEUM_PYTHON").unwrap_or_else(|| "python3".into());
    let file = tempfile_with(ys)?;
    let output = std::process::Command::new(python)
        .args(["-c", SCRIPT])
        .arg(file.path())
        .arg((4 * width_px).to_string())
        .arg(runs.to_string())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .flatten()
}

/// `ys` as raw little-endian f32 in a temporary file (what numpy's `fromfile` reads).
fn tempfile_with(ys: &[f32]) -> Option<TempFile> {
    let path = std::env::temp_dir().join(format!("lyceum-bench-{}.f32", std::process::id()));
    let bytes: Vec<u8> = ys.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&path, bytes).ok()?;
    Some(TempFile(path))
}

/// A file removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            tracing::warn!(file = %self.0.display(), error = %e, "bench file left behind");
        }
    }
}

/// Rounds of ours-then-theirs for the tsdownsample comparison (alternating, same run).
const ALTERNATING_ROUNDS: usize = 3;

/// The largest x of any curve's last sample: where a view of every curve ends.
pub(crate) fn last_x(store: &CurveStore) -> f64 {
    (0..store.len() as u32)
        .map(|id| store.x_at(id, store.y(id).len().saturating_sub(1)))
        .fold(f64::MIN, f64::max)
}

fn case(name: &str, store: &CurveStore, width_px: u32, runs: usize) -> BenchRow {
    let x_end = last_x(store);
    let map = PixelMap::new(store.x_at(0, 0), x_end, width_px);
    // As the app does on every pan and zoom: the output buffers are reused.
    let mut out = Decimated::default();
    let decimate = |out: &mut Decimated| time(runs, || decimate_m4_into(store, &map, out)).0;
    let (mut ours, mut theirs) = (vec![decimate(&mut out)], Vec::new());
    // tsdownsample takes one series: compare where a case is one.
    if store.len() == 1 {
        for round in 0..ALTERNATING_ROUNDS {
            match tsdownsample_ms(store.y(0), width_px, runs) {
                Some(ms) => theirs.push(Duration::from_secs_f64(ms / 1e3)),
                None => break,
            }
            if round + 1 < ALTERNATING_ROUNDS {
                ours.push(decimate(&mut out));
            }
        }
    }
    let decimate = median(ours);
    let tsdownsample = (!theirs.is_empty()).then(|| median(theirs));
    let (read, kernel) = plain_read(store, runs);
    let points = store.point_count();
    BenchRow {
        case: name.to_owned(),
        points,
        width_px,
        decimate_ms: decimate.as_secs_f64() * 1e3,
        points_per_sec: points as f64 / decimate.as_secs_f64(),
        plain_read_ms: read.as_secs_f64() * 1e3,
        plain_read_kernel: kernel,
        ratio_to_plain_read: read.as_secs_f64() / decimate.as_secs_f64(),
        tsdownsample_ms: tsdownsample.map(|t| t.as_secs_f64() * 1e3),
        ratio_to_tsdownsample: tsdownsample.map(|t| t.as_secs_f64() / decimate.as_secs_f64()),
        output_points: out.point_count(),
    }
}

/// Run every decimation case; `scale` < 1 shrinks the big ones (for quick checks).
pub fn run_decimation(scale: f64) -> Result<Vec<BenchRow>, StoreError> {
    let mut rows = Vec::new();
    for_each_decimation_case(scale, |c| {
        for &width in &c.widths_px {
            rows.push(case(c.name, &c.store, width, c.runs));
        }
    })?;
    Ok(rows)
}

/// The rows as a text table.
pub fn table(rows: &[BenchRow]) -> String {
    let mut out = format!(
        "{:<28} {:>11} {:>6} {:>10} {:>10} {:>15} {:>6} {:>13} {:>6} {:>8}\n",
        "decimation (M4)",
        "points",
        "px",
        "time ms",
        "points/s",
        "plain read ms",
        "ratio",
        "tsdownsample",
        "ratio",
        "out pts"
    );
    for r in rows {
        let (ts, ts_ratio) = match (r.tsdownsample_ms, r.ratio_to_tsdownsample) {
            (Some(ms), Some(ratio)) => (format!("{ms:.2}"), format!("{ratio:.2}")),
            _ => ("–".to_owned(), "–".to_owned()),
        };
        out.push_str(&format!(
            "{:<28} {:>11} {:>6} {:>10.2} {:>9.2}G {:>8.2} {:>6} {:>6.2} {:>13} {:>6} {:>8}\n",
            r.case,
            r.points,
            r.width_px,
            r.decimate_ms,
            r.points_per_sec / 1e9,
            r.plain_read_ms,
            r.plain_read_kernel.split(' ').next_back().unwrap_or(""),
            r.ratio_to_plain_read,
            ts,
            ts_ratio,
            r.output_points
        ));
    }
    out.push_str(
        "plain read: the fastest of f32 sum / f32 max / u32 xor over the same bytes, all threads; \
         ratio > 1: faster than it. tsdownsample: M4Downsampler, parallel, same series, \
         alternating with ours; ratio ≥ 1: as fast or faster.\n",
    );
    out
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gpu(#[from] crate::render::gpu::GpuError),
    #[error(transparent)]
    Render(#[from] crate::render::cpu::RenderError),
    #[error(transparent)]
    Dataset(#[from] crate::source::dataset::DatasetError),
    #[error("benchmark files: {0}")]
    Io(#[from] std::io::Error),
}

/// One rendering case beside its baseline.
#[derive(Clone, Debug, Serialize)]
pub struct RenderRow {
    pub case: String,
    pub curves: usize,
    pub points: usize,
    pub width_px: u32,
    pub height_px: u32,
    /// Median over the runs.
    pub ms: f64,
    pub baseline: String,
    pub baseline_ms: f64,
    /// How many times faster than the baseline.
    pub speedup: f64,
}

/// OK curves blue, NOK curves red on top.
pub fn result_styles(store: &CurveStore) -> Vec<crate::render::gpu::CurveStyle> {
    use crate::render::gpu::CurveStyle;
    (0..store.len() as u32)
        .map(|id| match store.label("result", id) {
            Some("NOK") => CurveStyle::line([220, 40, 40, 255]).with_priority(1),
            _ => CurveStyle::line([70, 110, 170, 255]),
        })
        .collect()
}

/// The baseline a Rust developer would write first: one egui_plot `Line` per curve with every
/// sample.
pub fn egui_plot_lines_ui(ui: &mut egui::Ui, store: &CurveStore) {
    egui_plot::Plot::new("baseline").show(ui, |plot_ui| {
        for id in 0..store.len() as u32 {
            let points: Vec<[f64; 2]> = store
                .y(id)
                .iter()
                .enumerate()
                .map(|(i, &y)| [store.x_at(id, i), f64::from(y)])
                .collect();
            plot_ui.line(egui_plot::Line::new(store.key(id).to_owned(), points));
        }
    });
}

/// The baseline through one egui pass and egui's tessellation (CPU only; rasterising the
/// triangles comes on top). Returns the triangle count.
pub fn egui_plot_lines_tessellated(store: &CurveStore, (width, height): (u32, u32)) -> usize {
    let ctx = egui::Context::default();
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(width as f32, height as f32),
        )),
        ..Default::default()
    };
    let mut output = ctx.run_ui(input, |ui| egui_plot_lines_ui(ui, store));
    // The font atlas upload is not what is measured; epaint insists it is dropped on purpose.
    output.textures_delta.clear();
    ctx.tessellate(output.shapes, output.pixels_per_point)
        .iter()
        .map(|job| match &job.primitive {
            egui::epaint::Primitive::Mesh(mesh) => mesh.indices.len() / 3,
            egui::epaint::Primitive::Callback(_) => 0,
        })
        .sum()
}

/// The rendering cases on the first wgpu adapter (lavapipe without a GPU): 10,000 demo curves
/// at 1920 × 1080. Returns the adapter's description and the rows.
pub fn run_rendering(scale: f64) -> Result<(String, Vec<RenderRow>), BenchError> {
    use std::sync::Arc;

    use crate::render::cpu::write_png;
    use crate::render::cpu_raster::{Points, RasterTarget, draw_wide_lines, raster_points};
    use crate::render::gpu::{
        BaseMode, CurveFrame, CurvePipelines, CurveStyle, HeadlessGpu, OFFSCREEN_FORMAT, PlotGpu,
        render_curves,
    };
    use crate::render::headless::{render_plot, render_ui};
    use crate::render::plot::{Decimation, DecimationMode, PlotCurves, PlotLabels};

    /// Curves highlighted in the wide-lines row.
    const HIGHLIGHTED: usize = 1_000;

    let (width, height) = (1920, 1080);
    let store = Arc::new(
        Plant::new(PlantConfig {
            curves: ((10_000.0 * scale) as usize).max(1),
            samples: 2_000,
            ..PlantConfig::default()
        })
        .process_curves()?,
    );
    let styles = result_styles(&store);
    let gpu = HeadlessGpu::new()?;
    let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
    let (curves, points) = (store.len(), store.point_count());

    let labels = PlotLabels {
        title: format!("{curves} demo curves"),
        x_axis: "x".into(),
        y_axis: "y".into(),
        legend: Vec::new(),
    };
    let mut rows = Vec::new();
    let mut push = |case: &str, elapsed: Duration, baseline: String, baseline_time: Duration| {
        rows.push(RenderRow {
            case: case.to_owned(),
            curves,
            points,
            width_px: width,
            height_px: height,
            ms: elapsed.as_secs_f64() * 1e3,
            baseline,
            baseline_ms: baseline_time.as_secs_f64() * 1e3,
            speedup: baseline_time.as_secs_f64() / elapsed.as_secs_f64(),
        });
    };

    // Upload + rasterise + readback of decimated curves (a fresh Arc each run forces the
    // upload), against egui_plot's tessellation of every sample.
    let x_end = last_x(&store);
    let decimated = crate::curves::decimate_m4(&store, &PixelMap::new(0.0, x_end, width));
    let mut plot = PlotGpu::new(&gpu.device);
    let styles_on_gpu = Arc::new(styles.clone());
    let frame_of = || {
        CurveFrame::exact(
            Arc::new(decimated.clone()),
            Arc::clone(&styles_on_gpu),
            width,
            crate::curves::RowMap::new(-1.0, 30.0, height),
            BaseMode::Lines,
        )
    };
    let upload_draw = try_time(5, || {
        Ok(render_curves(
            &gpu,
            &pipelines,
            &mut plot,
            &frame_of(),
            [255; 4],
        )?)
    })?;
    // The same frame on the CPU (the GPU's base layer ported, on rayon), beside the GPU on
    // this adapter and the single-threaded reference renderer.
    let frame = frame_of();
    let cpu_raster = try_time(5, || {
        let pixels = crate::render::cpu_raster::raster_base(&frame);
        Ok(crate::render::cpu_raster::composite_base(
            &pixels,
            &styles,
            BaseMode::Lines,
            [255; 4],
        ))
    })?;
    push(
        "CPU rasteriser (rayon) + composite",
        cpu_raster,
        "GPU upload + rasterise + readback on this adapter".to_owned(),
        upload_draw,
    );
    let rows_map = crate::curves::RowMap::new(-1.0, 30.0, height);
    let reference = try_time(1, || {
        Ok(crate::render::cpu::render_styled(
            &decimated, &styles, rows_map, width, [255; 4],
        )?)
    })?;
    push(
        "CPU rasteriser (rayon) + composite, again",
        cpu_raster,
        "the single-threaded reference renderer".to_owned(),
        reference,
    );
    // Highlighted curves on the CPU: the first 1,000 as 2-px antialiased lines over a picture,
    // beside the same curves as 1-px lines.
    let style_of = |style: &CurveStyle, id: usize, wide: bool| match (id < HIGHLIGHTED, wide) {
        (true, true) => style.highlighted(2.0),
        (true, false) => *style,
        (false, _) => style.hidden(),
    };
    let [wide, thin]: [Vec<CurveStyle>; 2] = [true, false].map(|wide| {
        styles
            .iter()
            .enumerate()
            .map(|(id, style)| style_of(style, id, wide))
            .collect()
    });
    let target = RasterTarget {
        width: frame.raster_width,
        rows: frame.rows,
    };
    let points = Points::Decimated(&frame.decimated);
    let wide_lines = try_time(3, || {
        let mut rgba = vec![255; width as usize * height as usize * 4];
        draw_wide_lines(&mut rgba, points, target, &wide);
        Ok(rgba)
    })?;
    let thin_lines = try_time(3, || {
        Ok(raster_points(points, target, &thin, BaseMode::Lines))
    })?;
    push(
        &format!("CPU wide lines: {HIGHLIGHTED} highlighted curves, 2 px"),
        wide_lines,
        "the same curves as 1-px lines (CPU rasteriser)".to_owned(),
        thin_lines,
    );
    let (tessellate, triangles) = time(1, || egui_plot_lines_tessellated(&store, (width, height)));
    push(
        "GPU upload + rasterise + readback",
        upload_draw,
        format!(
            "egui_plot Lines, every sample, tessellated ({} M triangles, CPU)",
            triangles / 1_000_000
        ),
        tessellate,
    );

    // Memory to PNG, the whole plot with axes, against the same egui_plot plot drawn on the
    // same adapter.
    let out = std::env::temp_dir().join(format!("lyceum-bench-{}.png", std::process::id()));
    let to_png = try_time(3, || {
        let plot = PlotCurves::new(
            egui::Id::unique("bench"),
            Arc::clone(&store),
            styles.clone(),
            DecimationMode::Inline,
            Decimation::M4,
        )?;
        let image = render_plot(&gpu, &Arc::new(plot), &labels, (width, height), 1.0)?;
        Ok(write_png(&image, &out)?)
    })?;
    let baseline_to_png = try_time(1, || {
        let image = render_ui(&gpu, (width, height), 1.0, |ui| {
            egui_plot_lines_ui(ui, &store);
        })?;
        Ok(write_png(&image, &out)?)
    })?;
    let _ = std::fs::remove_file(&out);
    push(
        "memory → decimate → plot → PNG",
        to_png,
        "egui_plot Lines, every sample → PNG on the same adapter".to_owned(),
        baseline_to_png,
    );
    Ok((gpu.describe(), rows))
}

/// The rendering rows as a text table.
pub fn render_table(adapter: &str, rows: &[RenderRow]) -> String {
    let mut out = format!(
        "{:<42} {:>7} {:>11} {:>10} {:>10} {:>12} {:>8}\n",
        format!("rendering on {adapter}"),
        "curves",
        "points",
        "size",
        "time ms",
        "baseline ms",
        "speedup"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<42} {:>7} {:>11} {:>10} {:>10.1} {:>12.1} {:>7.1}×\n",
            r.case,
            r.curves,
            r.points,
            format!("{}×{}", r.width_px, r.height_px),
            r.ms,
            r.baseline_ms,
            r.speedup
        ));
    }
    for (i, r) in rows.iter().enumerate() {
        out.push_str(&format!("baseline {}: {}\n", i + 1, r.baseline));
    }
    out
}

/// One dataset case: time and, for writes, bytes on disk.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetRow {
    pub case: String,
    pub curves: usize,
    pub points: usize,
    /// Median over the runs.
    pub ms: f64,
    pub bytes: Option<u64>,
    /// Bytes on disk over the raw f32 sample bytes.
    pub size_to_raw: Option<f64>,
}

/// Dataset cases on `dir` (or, without one, the 10,000 × 2,000 demo plant saved to a
/// temporary folder, timing the save): open → curves ready, open → decimated for a 1920-px
/// view, and the same curves written to and read from Parquet (Snappy, Zstd) for the format
/// comparison.
pub fn run_dataset(
    dir: Option<&std::path::Path>,
    scale: f64,
) -> Result<Vec<DatasetRow>, BenchError> {
    use crate::source::dataset;

    let temp = std::env::temp_dir().join(format!("lyceum-bench-dataset-{}", std::process::id()));
    let mut rows = Vec::new();
    let dir = match dir {
        Some(dir) => dir.to_owned(),
        None => {
            let store = Plant::new(PlantConfig {
                curves: ((10_000.0 * scale) as usize).max(1),
                samples: 2_000,
                ..PlantConfig::default()
            })
            .process_curves()?;
            let options = dataset::SaveOptions {
                name: "bench".into(),
                source: dataset::Source::Demo {
                    seed: 42,
                    curves: store.len(),
                    samples: 2_000,
                },
                view: dataset::SavedView::default(),
                replace: true,
            };
            let target = temp.join("demo");
            let save = try_time(3, || Ok(dataset::save(&store, &target, &options)?))?;
            let bytes = std::fs::metadata(target.join(dataset::CURVES_FILE))?.len();
            rows.push(dataset_row(
                "save (Arrow IPC, Lyceum's format)",
                &store,
                save,
                Some(bytes),
            ));
            target
        }
    };
    let mut opened = None;
    let open = try_time(5, || {
        opened = Some(dataset::open(&dir)?);
        Ok(())
    })?;
    let Some(dataset) = opened else {
        return Ok(rows);
    };
    let store = dataset.store;
    rows.push(dataset_row("open → curves ready", &store, open, None));
    let x_end = last_x(&store);
    let x_start = (0..store.len() as u32)
        .filter(|&id| !store.y(id).is_empty())
        .map(|id| store.x_at(id, 0))
        .fold(f64::MAX, f64::min);
    let open_decimate = try_time(5, || {
        let store = dataset::open(&dir)?.store;
        crate::curves::decimate_m4(&store, &PixelMap::new(x_start, x_end, 1920));
        Ok(())
    })?;
    rows.push(dataset_row(
        "open → decimated (1920 px)",
        &store,
        open_decimate,
        None,
    ));

    std::fs::create_dir_all(&temp)?;
    for (name, compression) in [
        ("Snappy", parquet::basic::Compression::SNAPPY),
        (
            "Zstd",
            parquet::basic::Compression::ZSTD(parquet::basic::ZstdLevel::default()),
        ),
    ] {
        let path = temp.join(format!("curves-{name}.parquet"));
        let write = try_time(3, || write_parquet(&store, &path, compression))?;
        let bytes = std::fs::metadata(&path)?.len();
        rows.push(dataset_row(
            &format!("Parquet ({name}): write"),
            &store,
            write,
            Some(bytes),
        ));
        let read = try_time(3, || read_parquet(&path).map(drop))?;
        rows.push(dataset_row(
            &format!("Parquet ({name}): read → curves ready"),
            &store,
            read,
            None,
        ));
    }
    let _ = std::fs::remove_dir_all(&temp);
    Ok(rows)
}

fn dataset_row(
    case: &str,
    store: &CurveStore,
    elapsed: Duration,
    bytes: Option<u64>,
) -> DatasetRow {
    DatasetRow {
        case: case.to_owned(),
        curves: store.len(),
        points: store.point_count(),
        ms: elapsed.as_secs_f64() * 1e3,
        bytes,
        size_to_raw: bytes.map(|b| b as f64 / store.raw_sample_bytes().max(1) as f64),
    }
}

fn parquet_error(e: impl std::fmt::Display) -> BenchError {
    BenchError::Io(std::io::Error::other(e.to_string()))
}

/// The store in Lyceum's Arrow layout, as one Parquet file.
fn write_parquet(
    store: &CurveStore,
    path: &std::path::Path,
    compression: parquet::basic::Compression,
) -> Result<(), BenchError> {
    let (batch, _) =
        crate::source::dataset::arrow_io::store_to_batch(store).map_err(parquet_error)?;
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(compression)
        .build();
    let file = std::fs::File::create(path)?;
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties))
        .map_err(parquet_error)?;
    writer.write(&batch).map_err(parquet_error)?;
    writer.close().map_err(parquet_error)?;
    Ok(())
}

fn read_parquet(path: &std::path::Path) -> Result<CurveStore, BenchError> {
    use crate::source::dataset::arrow_io;
    let file = std::fs::File::open(path)?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::build)
        .map_err(parquet_error)?;
    let labels = arrow_io::label_names(&arrow_array::RecordBatchReader::schema(&reader));
    let names: Vec<&str> = labels.iter().map(String::as_str).collect();
    let mut builder = CurveStoreBuilder::new(&names);
    for batch in reader {
        let batch = batch.map_err(parquet_error)?;
        arrow_io::append_batch(&mut builder, &batch, &labels).map_err(parquet_error)?;
    }
    Ok(builder.finish()?)
}

/// The dataset rows as a text table.
pub fn dataset_table(rows: &[DatasetRow]) -> String {
    let mut out = format!(
        "{:<42} {:>7} {:>11} {:>10} {:>12} {:>8}\n",
        "datasets", "curves", "points", "time ms", "MB on disk", "× raw"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<42} {:>7} {:>11} {:>10.1} {:>12} {:>8}\n",
            r.case,
            r.curves,
            r.points,
            r.ms,
            r.bytes
                .map_or_else(String::new, |b| format!("{:.1}", b as f64 / 1e6)),
            r.size_to_raw
                .map_or_else(String::new, |x| format!("{x:.2}")),
        ));
    }
    out
}

/// What [`run_control_load`] measured.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    pub clients: usize,
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Project creations the server confirmed, and the rows found afterwards.
    pub writes_confirmed: u64,
    pub rows_found: u64,
}

/// `clients` concurrent clients against an in-process control plane on loopback (real HTTP, a
/// temporary SQLite file) for `duration`: half list clusters, a fifth read a cluster's status,
/// then members (10 %), audit (5 %), cost estimates (5 %) and project creations (10 %, writes).
/// Afterwards the projects table is counted against the confirmed writes.
pub async fn run_control_load(
    clients: usize,
    duration: Duration,
) -> Result<LoadReport, BenchError> {
    use crate::control::api::{
        ClusterConfig, Credentials, NewProject, ProviderKind, Tier, TierConfig,
    };
    use crate::control::client::ControlClient;
    use crate::control::server::{ServerConfig, spawn};

    let other = |e: &dyn std::fmt::Display| BenchError::Io(std::io::Error::other(e.to_string()));
    let dir = std::env::temp_dir().join(format!("lyceum-bench-control-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = ServerConfig {
        db_path: dir.join("control.db"),
        clusters_dir: dir.join("clusters"),
        clickhouse_binary: None,
        tls: None,
    };
    let server = spawn("127.0.0.1:0".parse().map_err(|e| other(&e))?, &config)
        .await
        .map_err(|e| other(&e))?;
    let base = format!("http://{}", server.addr);
    let session = ControlClient::new(&base)
        .bootstrap(&Credentials {
            user: "owner".into(),
            password: "bench-password-1".into(),
        })
        .await
        .map_err(|e| other(&e))?;
    let owner = ControlClient::new(&base).with_token(session.token);
    let mut cluster_ids = Vec::new();
    for i in 0..10 {
        let cluster = owner
            .create_cluster(&ClusterConfig {
                name: format!("line-{i}"),
                cluster_type: "process_curves".into(),
                region: "eu-central".into(),
                provider: ProviderKind::Kubernetes,
                shards: 2,
                replicas: 2,
                cpu_per_node: 4,
                memory_gib_per_node: 16,
                tiers: vec![TierConfig {
                    tier: Tier::Hot,
                    size_gib: 500,
                    ttl_days: None,
                }],
                allowed_networks: Vec::new(),
            })
            .await
            .map_err(|e| other(&e))?;
        cluster_ids.push(cluster.id);
    }
    let quote = owner
        .cluster(cluster_ids[0])
        .await
        .map_err(|e| other(&e))?
        .config;

    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (owner, ids, quote) = (owner.clone(), cluster_ids.clone(), quote.clone());
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut writes) = (Vec::new(), 0u64, 0u64);
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let id = ids[(client + n) % ids.len()];
                    let t = Instant::now();
                    let ok = match n % 20 {
                        0..=9 => owner.clusters().await.is_ok(),
                        10..=13 => owner.status(id).await.is_ok(),
                        14..=15 => owner.members(id).await.is_ok(),
                        16 => owner.audit().await.is_ok(),
                        17..=18 => {
                            let project = NewProject {
                                name: format!("p-{client}-{n}"),
                                project_type: "screwdriving".into(),
                            };
                            let ok = owner.create_project(id, &project).await.is_ok();
                            writes += u64::from(ok);
                            ok
                        }
                        _ => owner.estimate(&quote).await.is_ok(),
                    };
                    latencies.push(t.elapsed());
                    errors += u64::from(!ok);
                    n += 1;
                }
                (latencies, errors, writes)
            })
        })
        .collect();
    let (mut latencies, mut errors, mut writes) = (Vec::new(), 0, 0);
    for task in tasks {
        let (l, e, w) = task.await.map_err(|e| other(&e))?;
        latencies.extend(l);
        errors += e;
        writes += w;
    }
    let seconds = started.elapsed().as_secs_f64();
    server.stop();
    let rows_found: i64 = rusqlite::Connection::open(&config.db_path)
        .and_then(|c| c.query_row("SELECT count(*) FROM projects", [], |r| r.get(0)))
        .map_err(|e| other(&e))?;
    let _ = std::fs::remove_dir_all(&dir);
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Ok(LoadReport {
        clients,
        seconds,
        requests: latencies.len() as u64,
        errors,
        requests_per_sec: latencies.len() as f64 / seconds,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        writes_confirmed: writes,
        rows_found: rows_found.max(0) as u64,
    })
}

/// One row of the quality table: a case's time beside a plain read of the same curves, or a
/// share it found (then `ms` is the time it took).
#[derive(Clone, Debug, serde::Serialize)]
pub struct QualityRow {
    pub case: String,
    pub curves: usize,
    pub samples: usize,
    pub ms: f64,
    pub plain_read_ms: f64,
    pub note: String,
}

/// Curve quality on the demo plant (10,000 × 2,000 at scale 1): teaching a reference and
/// envelope from every curve, a recipe of five objects over every curve, and — per program,
/// taught from its OK cycles — the share of NOK cycles the envelope catches and the share of
/// NOK among the top of the outlier ranking (reported, not tuned for).
pub fn run_quality(scale: f64) -> Result<Vec<QualityRow>, StoreError> {
    use crate::curves::CurveId;
    use crate::curves::quality::{
        Alignment, BinGrid, DataRect, Direction, EnvelopeRule, EvalObject, Line, Recipe, Side,
        evaluate_all, outliers, rank, teach,
    };
    use crate::curves::quality::{Distance, Envelope};

    let store = Plant::new(PlantConfig {
        curves: ((10_000.0 * scale) as usize).max(40),
        samples: 2_000,
        ..PlantConfig::default()
    })
    .process_curves()?;
    let samples = store.point_count();
    let (read, _) = plain_read(&store, 5);
    let read_ms = read.as_secs_f64() * 1e3;
    let all: Vec<CurveId> = (0..store.len() as CurveId).collect();
    let row =
        |case: &str, curves: usize, samples: usize, elapsed: Duration, note: String| QualityRow {
            case: case.to_owned(),
            curves,
            samples,
            ms: elapsed.as_secs_f64() * 1e3,
            plain_read_ms: read_ms,
            note,
        };
    let mut rows = Vec::new();
    let Some(grid) = BinGrid::spanning(&store, &all, Alignment::Absolute, 2_000) else {
        return Ok(rows);
    };
    let (taught, (reference, envelope)) = time(5, || {
        let reference = teach(&store, &all, Alignment::Absolute, grid, &[0.05, 0.95]);
        let envelope = Envelope::from_reference(&reference, EnvelopeRule::MeanSigma { k: 3.0 });
        (reference, envelope)
    });
    rows.push(row(
        "reference + envelope, client (2,000 bins; mean, σ, median, MAD, min, max, 2 quantiles)",
        store.len(),
        samples,
        taught,
        String::new(),
    ));
    // Five objects placed on the taught reference, so each does real work on every curve.
    let at = |share: f64| grid.x0 + share * grid.dx * grid.bins as f64;
    let bin = |share: f64| ((share * grid.bins as f64) as usize).min(grid.bins - 1);
    let (low, high) = (reference.min[bin(0.5)], reference.max[bin(0.5)]);
    let recipe = Recipe {
        name: "bench".into(),
        program: None,
        objects: vec![
            EvalObject::Window {
                rect: DataRect {
                    x_min: at(0.45),
                    x_max: at(0.55),
                    y_min: low - 1.0,
                    y_max: high + 1.0,
                },
                entry: Side::Left,
                exit: Side::Right,
            },
            EvalObject::Line(Line {
                vertical: true,
                at: at(0.3),
                from: low - 10.0,
                to: high + 10.0,
                direction: Direction::Increasing,
            }),
            EvalObject::NoPass {
                rect: DataRect {
                    x_min: at(0.1),
                    x_max: at(0.2),
                    y_min: reference.max[bin(0.15)] + 10.0,
                    y_max: reference.max[bin(0.15)] + 20.0,
                },
            },
            EvalObject::Envelope(Box::new(envelope.clone())),
            EvalObject::MinMax {
                x_min: at(0.6),
                x_max: at(0.8),
                y_low: Some(reference.min[bin(0.7)]),
                y_high: Some(reference.max[bin(0.7)]),
            },
        ],
        levels: vec![(low + high) / 2.0],
    };
    let (judged, verdicts) = time(5, || evaluate_all(&store, &all, &recipe));
    let passed = verdicts.iter().filter(|v| v.passed()).count();
    rows.push(row(
        "recipe of 5 objects (window, line, no-pass, envelope, min/max) + process values",
        store.len(),
        samples,
        judged,
        format!("{passed} passed"),
    ));

    // Per program: taught from its OK cycles, judged and ranked over all of its cycles.
    let label = |name: &str, id: CurveId| store.label(name, id).unwrap_or_default().to_owned();
    let mut programs: Vec<String> = all.iter().map(|&id| label("program", id)).collect();
    programs.sort();
    programs.dedup();
    let (mut nok, mut caught, mut ok, mut false_alarms, mut top_nok) = (0, 0, 0, 0, 0);
    let started = Instant::now();
    for program in &programs {
        let ids: Vec<CurveId> = all
            .iter()
            .copied()
            .filter(|&id| label("program", id) == *program)
            .collect();
        let good: Vec<CurveId> = ids
            .iter()
            .copied()
            .filter(|&id| label("result", id) == "OK")
            .collect();
        let Some(grid) = BinGrid::spanning(&store, &good, Alignment::Absolute, 500) else {
            continue;
        };
        let reference = teach(&store, &good, Alignment::Absolute, grid, &[]);
        let span = reference
            .max
            .iter()
            .zip(&reference.min)
            .map(|(hi, lo)| hi - lo)
            .filter(|d| d.is_finite())
            .fold(0.0, f64::max);
        let envelope = Envelope::from_reference(
            &reference,
            EnvelopeRule::MinMax {
                dy: 0.02 * span,
                dx: grid.dx,
            },
        );
        let recipe = Recipe {
            name: program.clone(),
            program: Some(program.clone()),
            objects: vec![EvalObject::Envelope(Box::new(envelope.clone()))],
            levels: Vec::new(),
        };
        let verdicts = evaluate_all(&store, &ids, &recipe);
        for (&id, verdict) in ids.iter().zip(&verdicts) {
            let is_nok = label("result", id) == "NOK";
            match (is_nok, verdict.passed()) {
                (true, false) => (nok, caught) = (nok + 1, caught + 1),
                (true, true) => nok += 1,
                (false, false) => (ok, false_alarms) = (ok + 1, false_alarms + 1),
                (false, true) => ok += 1,
            }
        }
        let scores = outliers::scores(&store, &ids, &reference, &envelope, Distance::L2);
        let program_nok = ids
            .iter()
            .filter(|&&id| label("result", id) == "NOK")
            .count();
        top_nok += rank(&scores)
            .iter()
            .take(program_nok)
            .filter(|&&i| label("result", ids[i]) == "NOK")
            .count();
    }
    let percent = |part: usize, whole: usize| 100.0 * part as f64 / whole.max(1) as f64;
    rows.push(row(
        "demo plant: envelope taught from OK cycles (per program, min/max ± 2 %, ± 1 bin)",
        store.len(),
        samples,
        started.elapsed(),
        format!(
            "catches {caught} of {nok} NOK ({:.1} %); flags {false_alarms} of {ok} OK ({:.1} %); NOK among the top {nok} by L2: {top_nok} ({:.1} %)",
            percent(caught, nok),
            percent(false_alarms, ok),
            percent(top_nok, nok)
        ),
    ));
    Ok(rows)
}

/// A runtime of its own and a connection to `url` (`http://host:8123/database`, user
/// `default`).
pub(crate) fn bench_connection(
    url: &str,
) -> Result<
    (
        tokio::runtime::Runtime,
        crate::source::clickhouse::Connection,
    ),
    BenchError,
> {
    use crate::source::clickhouse::{Connection, ConnectionProfile};

    let (base, database) = url
        .rsplit_once('/')
        .filter(|(base, _)| base.contains("://"))
        .ok_or_else(|| std::io::Error::other("--clickhouse wants http://host:port/database"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let connection = runtime
        .block_on(Connection::open(
            ConnectionProfile::new(base, database, "default"),
            None,
        ))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((runtime, connection))
}

/// A server holding the demo plant (`http://host:8123/database`, user `default`): a runtime,
/// the connection and the process curves' mapping there.
pub(crate) fn demo_server(
    url: &str,
) -> Result<
    (
        tokio::runtime::Runtime,
        crate::source::clickhouse::Connection,
        crate::source::clickhouse::schema::ValidatedMapping,
    ),
    BenchError,
> {
    use crate::source::clickhouse::ddl;

    let (runtime, connection) = bench_connection(url)?;
    let database = connection.profile().database.clone();
    let columns = runtime
        .block_on(connection.list_columns(&database, "process_curves"))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let validated = ddl::process_curves_mapping(&database)
        .validate(&columns)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((runtime, connection, validated))
}

/// A recipe judged over every cycle of a server holding the demo plant: in the server
/// (counts only) beside streaming every cycle to the client and judging it there.
pub fn run_history(url: &str) -> Result<Vec<QualityRow>, BenchError> {
    use crate::curves::CurveId;
    use crate::curves::quality::{
        Alignment, BinGrid, DataRect, Envelope, EnvelopeRule, EvalObject, Recipe, evaluate_all,
        teach,
    };
    use crate::source::clickhouse::{CurveQuery, CurveSelection, FetchOptions};

    let other =
        |e: crate::source::clickhouse::ClickHouseError| std::io::Error::other(e.to_string());
    let (runtime, connection, validated) = demo_server(url)?;
    let selection = CurveSelection::default();
    let plan = CurveQuery::arrays(&validated, &selection).map_err(other)?;
    // Streamed: every cycle fetched, then judged in the client.
    let started = Instant::now();
    let store = runtime
        .block_on(connection.fetch_curves(&plan, FetchOptions::default()))
        .map_err(other)?;
    let fetched = started.elapsed();
    let ids: Vec<CurveId> = (0..store.len() as CurveId).collect();
    let Some(grid) = BinGrid::spanning(&store, &ids, Alignment::Absolute, 200) else {
        return Ok(Vec::new());
    };
    let reference = teach(&store, &ids, Alignment::Absolute, grid, &[]);
    let x = |share: f64| grid.x0 + share * grid.dx * grid.bins as f64;
    // Limits around every taught curve over a stretch of x, so most cycles pass.
    let bins_over = |from: f64, to: f64| {
        let at = |share: f64| (share * grid.bins as f64) as usize;
        at(from)..at(to)
    };
    let highest_over = |from, to| {
        reference.max[bins_over(from, to)]
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let lowest = reference.min[bins_over(0.4, 0.6)]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let highest = highest_over(0.4, 0.6);
    let recipe = Recipe {
        name: "history".into(),
        objects: vec![
            EvalObject::Envelope(Box::new(Envelope::from_reference(
                &reference,
                EnvelopeRule::MinMax { dy: 0.5, dx: 0.0 },
            ))),
            EvalObject::MinMax {
                x_min: x(0.4),
                x_max: x(0.6),
                y_low: Some(lowest),
                y_high: Some(highest),
            },
            // Above every taught curve over 10–20 % of x.
            EvalObject::NoPass {
                rect: DataRect {
                    x_min: x(0.1),
                    x_max: x(0.2),
                    y_min: highest_over(0.1, 0.2) + 1.0,
                    y_max: highest_over(0.1, 0.2) + 2.0,
                },
            },
        ],
        ..Recipe::default()
    };
    let judging = Instant::now();
    let verdicts = evaluate_all(&store, &ids, &recipe);
    let streamed = fetched + judging.elapsed();
    let passed_client = verdicts.iter().filter(|v| v.passed()).count();
    let in_server = Instant::now();
    let yields = runtime
        .block_on(connection.judge_history(
            &validated,
            &selection,
            &recipe,
            Some("station"),
            Some("cycle_time"),
        ))
        .map_err(other)?;
    let server = in_server.elapsed();
    let samples = store.point_count();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(vec![QualityRow {
        case: "recipe (envelope, min/max, no-pass) judged in ClickHouse, counts per station × hour"
            .into(),
        curves: store.len(),
        samples,
        ms: ms(server),
        plain_read_ms: ms(streamed),
        note: format!(
            "baseline: every cycle streamed and judged in the client ({:.0} ms fetch + {:.0} ms \
             judge); passed {} in the server, {passed_client} in the client",
            ms(fetched),
            ms(streamed - fetched),
            yields.overall.passed
        ),
    }])
}

/// The quality table.
pub fn quality_table(rows: &[QualityRow]) -> String {
    let mut text = String::from(
        "\ncurve quality                                                                         curves   samples      ms  plain read ms  ×read\n",
    );
    for r in rows {
        text.push_str(&format!(
            "{:<85} {:>6} {:>9} {:>7.1} {:>14.1} {:>6.1}  {}\n",
            r.case,
            r.curves,
            r.samples,
            r.ms,
            r.plain_read_ms,
            r.ms / r.plain_read_ms.max(1e-9),
            r.note
        ));
    }
    text
}
