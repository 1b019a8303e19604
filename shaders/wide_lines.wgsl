// Wide antialiased lines for highlighted curves: one instance per segment, a quad around it
// expanded in the vertex shader; the fragment shader shades by distance to the segment, so
// ends and joins come out round. Points and styles are the base layer's buffers: highlighting
// a curve only changes its style and the small table of highlighted runs.

struct LineParams {
    // Plot viewport in framebuffer pixels: left, top, width, height.
    viewport_px: vec4<f32>,
    // Decimation column → viewport pixel x: x * x_scale + x_offset.
    x_scale: f32,
    x_offset: f32,
    // As the raster's (`raster.wgsl`): anchored heights, row 0 at `bottom_row`.
    anchor_y: f32,
    rows_per_unit: f32,
    bottom_row: f32,
    run_count: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: LineParams;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read> ys: array<f32>;
// Per highlighted curve: (curve, first point, segment count, first instance), by first instance.
@group(0) @binding(3) var<storage, read> runs: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> styles: array<Style>;

struct Varyings {
    @builtin(position) position: vec4<f32>,
    @location(0) pixel: vec2<f32>,
    @location(1) @interpolate(flat) a: vec2<f32>,
    @location(2) @interpolate(flat) b: vec2<f32>,
    @location(3) @interpolate(flat) half_width: f32,
    @location(4) @interpolate(flat) rgba: u32,
}

// Viewport pixel (y down) of a point.
fn to_pixel(x: f32, y: f32) -> vec2<f32> {
    let row = ((y - params.anchor_y) * params.rows_per_unit + 16384.0) - params.bottom_row;
    return vec2<f32>(x * params.x_scale + params.x_offset, params.viewport_px.w - row);
}

@vertex
fn expand(@builtin(vertex_index) vertex: u32, @builtin(instance_index) instance: u32) -> Varyings {
    var out: Varyings;
    // Binary search for the run holding this instance.
    var lo = 0u;
    var hi = params.run_count;
    while hi - lo > 1u {
        let mid = (lo + hi) / 2u;
        if runs[mid].w <= instance {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let run = runs[lo];
    let i = run.y + (instance - run.w);
    let style = styles[run.x];
    out.rgba = style.rgba;
    out.half_width = 0.5 * style.width_px;
    if is_gap(ys[i]) || is_gap(ys[i + 1u]) {
        // Degenerate: nothing to draw across a gap.
        out.position = vec4<f32>(2.0, 2.0, 2.0, 1.0);
        return out;
    }
    let a = to_pixel(xs[i], ys[i]);
    let b = to_pixel(xs[i + 1u], ys[i + 1u]);
    out.a = a;
    out.b = b;
    var along = b - a;
    let length = max(length(along), 1e-6);
    along = along / length;
    let across = vec2<f32>(-along.y, along.x);
    // One pixel of feather beyond the half width on every side.
    let reach = out.half_width + 1.0;
    let corner = array<vec2<f32>, 6>(
        vec2<f32>(0.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
        vec2<f32>(0.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(0.0, 1.0),
    )[vertex];
    let end = select(a - along * reach, b + along * reach, corner.x > 0.5);
    let pixel = end + across * reach * corner.y;
    out.pixel = pixel;
    let ndc = vec2<f32>(
        pixel.x / params.viewport_px.z * 2.0 - 1.0,
        1.0 - pixel.y / params.viewport_px.w * 2.0,
    );
    out.position = vec4<f32>(ndc, 0.0, 1.0);
    return out;
}

@fragment
fn shade(in: Varyings) -> @location(0) vec4<f32> {
    // Relative to `a`: differences a pan by whole pixels leaves as they are.
    let ab = in.b - in.a;
    let p = in.pixel - in.a;
    let t = clamp(dot(p, ab) / max(dot(ab, ab), 1e-12), 0.0, 1.0);
    let distance = length(p - ab * t);
    let coverage = clamp(in.half_width + 0.5 - distance, 0.0, 1.0);
    let colour = unpack4x8unorm(in.rgba);
    let alpha = colour.a * coverage;
    return vec4<f32>(colour.rgb * alpha, alpha);
}
