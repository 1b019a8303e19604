//! Criterion benchmarks of drawing 10,000 demo curves at 1920 × 1080 on the first wgpu adapter
//! (lavapipe without a GPU): upload + draw + readback of M4-decimated curves; the CPU
//! rasteriser drawing the same curves straight from the store, as the app does without a GPU;
//! and the baseline beside them — one egui_plot `Line` per curve with every sample, through
//! egui's tessellation.
//! `lyceum bench` prints the same cases as a table, with memory → PNG.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use criterion::{Criterion, Throughput};
use lyceum::bench::{egui_plot_lines_tessellated, result_styles};
use lyceum::curves::{PixelMap, RowMap, decimate_m4};
use lyceum::render::cpu_raster::{Points, RasterTarget, raster_points};
use lyceum::render::gpu::{
    BaseMode, CurveFrame, CurvePipelines, HeadlessGpu, OFFSCREEN_FORMAT, PlotGpu, render_curves,
};
use lyceum::source::demo::{Plant, PlantConfig};

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let store = Plant::new(PlantConfig::default()).process_curves().unwrap();
    let (width, height) = (1920, 1080);
    let gpu = HeadlessGpu::new().unwrap();
    let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
    let map = PixelMap::new(0.0, 720.0, width);
    let decimated = decimate_m4(&store, &map);
    let styles = Arc::new(result_styles(&store));

    let mut group = c.benchmark_group(format!("draw_10k_curves_1920x1080 ({})", gpu.describe()));
    group
        .sample_size(10)
        .throughput(Throughput::Elements(store.point_count() as u64));
    let mut plot = PlotGpu::new(&gpu.device);
    group.bench_function("gpu_upload_draw_readback", |b| {
        b.iter(|| {
            // A fresh Arc: the points are uploaded again, as after a pan.
            let frame = CurveFrame::exact(
                Arc::new(decimated.clone()),
                Arc::clone(&styles),
                width,
                RowMap::new(-1.0, 30.0, height),
                BaseMode::Lines,
            );
            render_curves(&gpu, &pipelines, &mut plot, &frame, [255; 4]).unwrap()
        });
    });
    group.bench_function("cpu_raster_from_store", |b| {
        let target = RasterTarget {
            width,
            rows: RowMap::with_scale(-1.0, height as f32 / 31.0, height),
        };
        b.iter(|| {
            raster_points(
                Points::Store(&store, &map),
                target,
                &styles,
                BaseMode::Lines,
            )
        });
    });
    group.bench_function("baseline_egui_plot_lines_tessellated", |b| {
        b.iter(|| egui_plot_lines_tessellated(&store, (width, height)));
    });
    group.finish();
    c.final_summary();
}
