// Per-column 1-px rasteriser for the base layer: the same rule as `src/curves/raster.rs`, so
// M4-decimated curves light exactly the pixels of every sample. One thread per point, into a
// per-pixel buffer of (curves lighting it, topmost curve key). Order-independent: atomics only.

struct RasterParams {
    width: u32,
    height: u32,
    chunk_count: u32,
    // Workgroups per dispatch row: chunk = workgroup_id.y * dispatch_width + workgroup_id.x.
    dispatch_width: u32,
    // Heights are anchored (`RowMap::anchored`): data y `anchor_y` is height 16384, and row 0
    // starts at height `bottom_row`.
    anchor_y: f32,
    rows_per_unit: f32,
    bottom_row: f32,
    pixel_count: u32,
    // 0: only the topmost key is kept (opaque lines need no counts; half the atomics).
    count_hits: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const CHUNK: u32 = 256u;

@group(0) @binding(0) var<uniform> params: RasterParams;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read> ys: array<f32>;
// Per chunk of up to 256 points of one curve: (curve, first point, curve start, curve end).
@group(0) @binding(3) var<storage, read> chunks: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> styles: array<Style>;
// Per pixel, rows bottom to top: [hits, key]; key = priority << 24 | (curve + 1); hits stay 0
// unless `count_hits`.
@group(0) @binding(5) var<storage, read_write> pixels: array<atomic<u32>>;
// [0]: the largest hit count (for the density colour map).
@group(0) @binding(6) var<storage, read_write> stats: array<atomic<u32>>;

// Anchored height: it does not depend on where the view is, so a pan by whole rows moves
// every lit pixel by exactly those rows.
fn py(y: f32) -> f32 {
    return (y - params.anchor_y) * params.rows_per_unit + 16384.0;
}

fn fill(column: i32, y_a: f32, y_b: f32, key: u32) {
    if column < 0 || column >= i32(params.width) {
        return;
    }
    let lo = min(y_a, y_b);
    let hi = max(y_a, y_b);
    let r0 = max(i32(floor(lo - params.bottom_row)), 0);
    let r1 = min(i32(floor(hi - params.bottom_row)), i32(params.height) - 1);
    for (var row = r0; row <= r1; row++) {
        let at = (u32(row) * params.width + u32(column)) * 2u;
        if params.count_hits != 0u {
            atomicAdd(&pixels[at], 1u);
        }
        // A plain load first: most hits land under a higher key already, and a load is far
        // cheaper than a locked read-modify-write (lavapipe runs these on the CPU).
        if atomicLoad(&pixels[at + 1u]) < key {
            atomicMax(&pixels[at + 1u], key);
        }
    }
}

fn column_of(x: f32) -> i32 {
    return i32(floor(x));
}

// One curve in one column: the rows between the lowest and highest of its entry height, its
// samples in the column and its exit height, filled once — so a pixel counts curves, not
// segments, and the counts (density, stacked alpha) are the same for M4 and every sample.
// `first` is the curve's first sample in the column; `entry` the height it came in at.
fn scan_column(column: i32, entry: f32, first: u32, end: u32, key: u32) {
    var lo = entry;
    var hi = entry;
    var j = first;
    loop {
        let y = py(ys[j]);
        lo = min(lo, y);
        hi = max(hi, y);
        if j + 1u >= end || is_gap(ys[j + 1u]) {
            break;
        }
        let x_next = xs[j + 1u];
        if column_of(x_next) != column {
            // The segment leaving the column, clipped at its right edge.
            let slope = (py(ys[j + 1u]) - y) / (x_next - xs[j]);
            let exit = y + (f32(column + 1) - xs[j]) * slope;
            lo = min(lo, exit);
            hi = max(hi, exit);
            break;
        }
        j++;
    }
    fill(column, lo, hi, key);
}

// Thread per point i: the column where a run starts (when i starts one), the columns the
// segment i → i + 1 crosses, and the column it enters (scanned to the curve's exit from it).
@compute @workgroup_size(256)
fn rasterize(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let chunk_index = workgroup.y * params.dispatch_width + workgroup.x;
    if chunk_index >= params.chunk_count {
        return;
    }
    let chunk = chunks[chunk_index];
    let i = chunk.y + lane;
    if i >= min(chunk.y + CHUNK, chunk.w) {
        return;
    }
    let style = styles[chunk.x];
    if (style.flags & VISIBLE) == 0u || (style.flags & HIGHLIGHTED) != 0u {
        return;
    }
    let y = ys[i];
    if is_gap(y) {
        return;
    }
    let key = (style.priority << 24u) | (chunk.x + 1u);
    let width = i32(params.width);
    let xa = xs[i];
    let ya = py(y);
    let c0 = column_of(xa);
    let starts_run = i == chunk.z || is_gap(ys[i - 1u]);
    if starts_run && c0 >= 0 && c0 < width {
        scan_column(c0, ya, i, chunk.w, key);
    }
    if i + 1u >= chunk.w || is_gap(ys[i + 1u]) {
        return;
    }
    let xb = xs[i + 1u];
    let c1 = column_of(xb);
    if c1 == c0 {
        return;
    }
    let slope = (py(ys[i + 1u]) - ya) / (xb - xa);
    for (var column = max(c0 + 1, 0); column <= min(c1 - 1, width - 1); column++) {
        fill(column, ya + (f32(column) - xa) * slope, ya + (f32(column + 1) - xa) * slope, key);
    }
    if c1 >= 0 && c1 < width {
        scan_column(c1, ya + (f32(c1) - xa) * slope, i + 1u, chunk.w, key);
    }
}

var<workgroup> workgroup_max: atomic<u32>;

// The largest hit count, for the density colour map: 16 pixels per thread.
@compute @workgroup_size(256)
fn max_hits(
    @builtin(global_invocation_id) global: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    var local_max = 0u;
    for (var k = 0u; k < 16u; k++) {
        let pixel = global.x * 16u + k;
        if pixel < params.pixel_count {
            local_max = max(local_max, atomicLoad(&pixels[pixel * 2u]));
        }
    }
    atomicMax(&workgroup_max, local_max);
    workgroupBarrier();
    if lane == 0u {
        atomicMax(&stats[0], atomicLoad(&workgroup_max));
    }
}
