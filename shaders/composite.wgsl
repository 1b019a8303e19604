// Turns the base layer's per-pixel (hits, key) buffer into colour over the plot's viewport.
// Lines mode: the topmost curve's colour with the coverage of `hits` curves of its alpha
// stacked, 1 - (1 - alpha)^hits. Density mode: log(1 + hits) / log(1 + max hits) through a
// perceptual colour map. Output is premultiplied alpha, as egui blends.

struct CompositeParams {
    // Framebuffer pixel of the raster's top-left corner.
    origin_px: vec2<f32>,
    width: u32,
    height: u32,
    // Screen column (relative to origin) → raster column: a stale raster stretched while
    // the view it was decimated for is being replaced.
    x_scale: f32,
    x_offset: f32,
    density: u32,
    // 0: the raster kept no hit counts (opaque lines); a lit pixel counts as one hit.
    counted: u32,
}

@group(0) @binding(0) var<uniform> params: CompositeParams;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> styles: array<Style>;
@group(0) @binding(3) var<storage, read> stats: array<u32>;

@vertex
fn fullscreen(@builtin(vertex_index) vertex: u32) -> @builtin(position) vec4<f32> {
    // One triangle that covers the viewport.
    let uv = vec2<f32>(f32((vertex << 1u) & 2u), f32(vertex & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

// Viridis, five stops (from matplotlib's table), linear in between.
fn viridis(t: f32) -> vec3<f32> {
    let stops = array<vec3<f32>, 5>(
        vec3<f32>(0.267, 0.005, 0.329),
        vec3<f32>(0.230, 0.322, 0.546),
        vec3<f32>(0.128, 0.567, 0.551),
        vec3<f32>(0.369, 0.789, 0.383),
        vec3<f32>(0.993, 0.906, 0.144),
    );
    let scaled = clamp(t, 0.0, 1.0) * 4.0;
    let i = min(u32(scaled), 3u);
    return mix(stops[i], stops[i + 1u], scaled - f32(i));
}

@fragment
fn composite(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let local = position.xy - params.origin_px;
    let column = i32(floor(local.x * params.x_scale + params.x_offset));
    let row = i32(params.height) - 1 - i32(floor(local.y));
    if column < 0 || column >= i32(params.width) || row < 0 || row >= i32(params.height) {
        discard;
    }
    let at = (u32(row) * params.width + u32(column)) * 2u;
    let key = pixels[at + 1u];
    if key == 0u {
        discard;
    }
    let hits = select(1u, pixels[at], params.counted != 0u);
    if params.density != 0u {
        let t = log(1.0 + f32(hits)) / log(1.0 + f32(max(stats[0], 1u)));
        // Never fully transparent: one hit must still show.
        return vec4<f32>(viridis(0.1 + 0.9 * t), 1.0);
    }
    let curve = (key & 0xffffffu) - 1u;
    let colour = unpack4x8unorm(styles[curve].rgba);
    let coverage = 1.0 - pow(1.0 - colour.a, f32(hits));
    return vec4<f32>(colour.rgb * coverage, coverage);
}
