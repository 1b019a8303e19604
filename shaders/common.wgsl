// Shared by every curve shader (prepended to each module): the per-curve style row, as
// `CurveStyle` in src/render/gpu.rs lays it out, and the gap test.

struct Style {
    rgba: u32,
    width_px: f32,
    flags: u32,
    priority: u32,
}

const VISIBLE: u32 = 1u;
const HIGHLIGHTED: u32 = 2u;

// By bits: WGSL lets compilers assume NaN never occurs in float comparisons.
fn is_gap(y: f32) -> bool {
    return (bitcast<u32>(y) & 0x7fffffffu) > 0x7f800000u;
}

