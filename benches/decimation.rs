//! Criterion benchmarks of M4 decimation, each beside the plain parallel reads of the same
//! bytes (the memory-bandwidth ceiling), over the case list `lyceum bench` uses
//! (`lyceum::bench::for_each_decimation_case`). `lyceum bench` prints the full table, with
//! tsdownsample beside it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput};
use lyceum::bench::{READ_KERNELS, for_each_decimation_case, plain_read_with};
use lyceum::curves::{CurveStore, Decimated, PixelMap, decimate_m4_into};

fn bench_store(c: &mut Criterion, name: &str, store: &CurveStore, widths: &[u32]) {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .throughput(Throughput::Elements(store.point_count() as u64));
    let x_end = (0..store.len() as u32)
        .map(|id| store.x_at(id, store.y(id).len().saturating_sub(1)))
        .fold(f64::MIN, f64::max);
    for &width in widths {
        let map = PixelMap::new(store.x_at(0, 0), x_end, width);
        let mut out = Decimated::default();
        group.bench_function(format!("m4_{width}px"), |b| {
            b.iter(|| decimate_m4_into(store, &map, &mut out));
        });
    }
    for (kernel, read) in READ_KERNELS {
        group.bench_function(format!("plain_read_{}", kernel.replace(' ', "_")), |b| {
            b.iter(|| plain_read_with(store, read));
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    // The same cases as `lyceum bench`, one store in memory at a time.
    for_each_decimation_case(1.0, |case| {
        let name = case.name.replace([' ', ','], "_");
        bench_store(&mut c, &name, &case.store, &case.widths_px);
    })
    .unwrap();
    c.final_summary();
}
