//! Criterion benchmarks of M4 decimation, each beside the plain parallel read of the same
//! bytes (the memory-bandwidth ceiling): 10,000 demo curves × 2,000 samples at 1,000 and 2,000
//! columns, and one 100 M-sample series at 1,920 columns. `lyceum bench` prints the full table.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput};
use lyceum::bench::plain_read;
use lyceum::curves::{CurveStoreBuilder, Decimated, PixelMap, Sampling, decimate_m4_into};
use lyceum::source::demo::{Plant, PlantConfig};

fn bench_store(c: &mut Criterion, name: &str, store: &lyceum::curves::CurveStore, widths: &[u32]) {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .throughput(Throughput::Elements(store.point_count() as u64));
    let x_end = store.x_at(0, store.y(0).len() - 1);
    for &width in widths {
        let map = PixelMap::new(store.x_at(0, 0), x_end, width);
        let mut out = Decimated::default();
        group.bench_function(format!("m4_{width}px"), |b| {
            b.iter(|| decimate_m4_into(store, &map, &mut out));
        });
    }
    group.bench_function("plain_read", |b| b.iter(|| plain_read(store)));
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let demo = Plant::new(PlantConfig::default()).process_curves().unwrap();
    bench_store(&mut c, "decimate_10k_x_2k", &demo, &[1000, 2000]);
    drop(demo);
    let mut b = CurveStoreBuilder::new(&[]);
    b.start_curve(
        "long",
        &[],
        Sampling::Uniform {
            x0: 1.7e9,
            dx: 0.001,
        },
    )
    .unwrap();
    b.extend_y(
        (0..100_000_000).map(|i| ((i as f32) * 1e-4).sin() + ((i * 7919 % 1000) as f32) * 1e-3),
    )
    .unwrap();
    let long = b.finish().unwrap();
    bench_store(&mut c, "decimate_1_x_100M", &long, &[1920]);
    c.final_summary();
}
