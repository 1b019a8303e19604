// Per-column 1-px rasteriser for the base layer: the same rule as `src/curves/raster.rs`, so
// M4-decimated curves light exactly the pixels of every sample. One thread per point; it
// draws the segment to the next point (or the point alone when it has no neighbour) into a
// per-pixel buffer of (hit count, topmost curve key). Order-independent: atomics only.

struct RasterParams {
    width: u32,
    height: u32,
    chunk_count: u32,
    // Workgroups per dispatch row: chunk = workgroup_id.y * dispatch_width + workgroup_id.x.
    dispatch_width: u32,
    y_min: f32,
    rows_per_unit: f32,
    pixel_count: u32,
    _pad: u32,
}

struct Style {
    rgba: u32,
    width_px: f32,
    flags: u32,
    priority: u32,
}

const VISIBLE: u32 = 1u;
const HIGHLIGHTED: u32 = 2u;
const CHUNK: u32 = 256u;

@group(0) @binding(0) var<uniform> params: RasterParams;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read> ys: array<f32>;
// Per chunk of up to 256 points of one curve: (curve, first point, curve start, curve end).
@group(0) @binding(3) var<storage, read> chunks: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> styles: array<Style>;
// Per pixel, rows bottom to top: [hits, key]; key = priority << 24 | (curve + 1).
@group(0) @binding(5) var<storage, read_write> pixels: array<atomic<u32>>;
// [0]: the largest hit count (for the density colour map).
@group(0) @binding(6) var<storage, read_write> stats: array<atomic<u32>>;

// By bits: WGSL lets compilers assume NaN never occurs in float comparisons.
fn is_gap(y: f32) -> bool {
    return (bitcast<u32>(y) & 0x7fffffffu) > 0x7f800000u;
}

fn py(y: f32) -> f32 {
    return (y - params.y_min) * params.rows_per_unit;
}

fn fill(column: i32, y_a: f32, y_b: f32, key: u32) {
    if column < 0 || column >= i32(params.width) {
        return;
    }
    let lo = min(y_a, y_b);
    let hi = max(y_a, y_b);
    let r0 = max(i32(floor(lo)), 0);
    let r1 = min(i32(floor(hi)), i32(params.height) - 1);
    for (var row = r0; row <= r1; row++) {
        let at = (u32(row) * params.width + u32(column)) * 2u;
        atomicAdd(&pixels[at], 1u);
        atomicMax(&pixels[at + 1u], key);
    }
}

fn segment(xa: f32, ya: f32, xb: f32, yb: f32, key: u32) {
    let c0 = i32(floor(xa));
    let c1 = i32(floor(xb));
    if c0 == c1 {
        fill(c0, ya, yb, key);
        return;
    }
    let slope = (yb - ya) / (xb - xa);
    let first = max(c0, -1);
    let last = min(c1, i32(params.width));
    for (var column = first; column <= last; column++) {
        // The part of the segment inside this column, clipped to the segment's ends.
        let left = select(f32(column), xa, column == c0);
        let right = select(f32(column + 1), xb, column == c1);
        let y_left = select(ya + (left - xa) * slope, ya, column == c0);
        let y_right = select(ya + (right - xa) * slope, yb, column == c1);
        fill(column, y_left, y_right, key);
    }
}

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
    let has_next = i + 1u < chunk.w && !is_gap(ys[i + 1u]);
    if has_next {
        segment(xs[i], py(y), xs[i + 1u], py(ys[i + 1u]), key);
        return;
    }
    let has_previous = i > chunk.z && !is_gap(ys[i - 1u]);
    if !has_previous {
        // A lone sample lights its own pixel.
        let row = py(y);
        fill(i32(floor(xs[i])), row, row, key);
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
