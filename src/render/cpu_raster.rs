//! The GPU's base layer on the CPU, for software adapters and drivers that cannot run the
//! compute pass: `raster.wgsl` and `composite.wgsl` ported operation for operation (the same
//! f32 arithmetic, in the same order), so a frame gives the same per-pixel (curves lighting
//! it, topmost key) buffer and the same colours. Curves are split over rayon threads, each
//! into a buffer of its own, merged by sum (hits) and max (key): the result does not depend
//! on the split. Highlighted curves are left out, as on the GPU, where they are drawn as wide
//! lines on top (or, for the app's CPU path, 1-px lines above the rest).
//!
//! Main functions: [`raster_base`], [`composite_base`], [`BasePixels`].

use rayon::prelude::*;

use super::gpu::{BaseMode, CurveFrame, CurveStyle};
use crate::curves::Decimated;

/// Per pixel (rows bottom to top): curves lighting it and the topmost key
/// (`priority << 24 | curve + 1`, 0: none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasePixels {
    pub width: u32,
    pub height: u32,
    pub hits: Vec<u32>,
    pub keys: Vec<u32>,
}

impl BasePixels {
    fn new(width: u32, height: u32) -> Self {
        let n = width as usize * height as usize;
        Self {
            width,
            height,
            hits: vec![0; n],
            keys: vec![0; n],
        }
    }

    fn merge(mut self, other: Self) -> Self {
        for (a, b) in self.hits.iter_mut().zip(&other.hits) {
            *a += b;
        }
        for (a, b) in self.keys.iter_mut().zip(&other.keys) {
            *a = (*a).max(*b);
        }
        self
    }

    /// The largest hit count (the density colour map's top).
    pub fn max_hits(&self) -> u32 {
        self.hits.iter().copied().max().unwrap_or(0)
    }
}

/// The GPU's gap test, by bits.
fn is_gap(y: f32) -> bool {
    (y.to_bits() & 0x7fff_ffff) > 0x7f80_0000
}

/// One curve's rasterisation state (`raster.wgsl`'s uniforms and buffers).
struct Curve<'a> {
    xs: &'a [f32],
    ys: &'a [f32],
    y_min: f32,
    rows_per_unit: f32,
    width: i32,
    height: i32,
    key: u32,
}

impl Curve<'_> {
    fn py(&self, y: f32) -> f32 {
        (y - self.y_min) * self.rows_per_unit
    }

    fn fill(&self, out: &mut BasePixels, column: i32, y_a: f32, y_b: f32) {
        if column < 0 || column >= self.width {
            return;
        }
        let (lo, hi) = (y_a.min(y_b), y_a.max(y_b));
        let r0 = (lo.floor() as i32).max(0);
        let r1 = (hi.floor() as i32).min(self.height - 1);
        for row in r0..=r1 {
            let at = (row * self.width + column) as usize;
            out.hits[at] += 1;
            out.keys[at] = out.keys[at].max(self.key);
        }
    }

    /// `scan_column`: one curve in one column, from `first` (entered at height `entry`).
    fn scan_column(&self, out: &mut BasePixels, column: i32, entry: f32, first: usize) {
        let (mut lo, mut hi) = (entry, entry);
        let mut j = first;
        let end = self.ys.len();
        loop {
            let y = self.py(self.ys[j]);
            lo = lo.min(y);
            hi = hi.max(y);
            if j + 1 >= end || is_gap(self.ys[j + 1]) {
                break;
            }
            let x_next = self.xs[j + 1];
            if x_next.floor() as i32 != column {
                let slope = (self.py(self.ys[j + 1]) - y) / (x_next - self.xs[j]);
                let exit = y + ((column + 1) as f32 - self.xs[j]) * slope;
                lo = lo.min(exit);
                hi = hi.max(exit);
                break;
            }
            j += 1;
        }
        self.fill(out, column, lo, hi);
    }

    /// `rasterize` for every point `i` of the curve.
    fn draw(&self, out: &mut BasePixels) {
        let end = self.ys.len();
        for i in 0..end {
            let y = self.ys[i];
            if is_gap(y) {
                continue;
            }
            let xa = self.xs[i];
            let ya = self.py(y);
            let c0 = xa.floor() as i32;
            let starts_run = i == 0 || is_gap(self.ys[i - 1]);
            if starts_run && c0 >= 0 && c0 < self.width {
                self.scan_column(out, c0, ya, i);
            }
            if i + 1 >= end || is_gap(self.ys[i + 1]) {
                continue;
            }
            let xb = self.xs[i + 1];
            let c1 = xb.floor() as i32;
            if c1 == c0 {
                continue;
            }
            let slope = (self.py(self.ys[i + 1]) - ya) / (xb - xa);
            for column in (c0 + 1).max(0)..=(c1 - 1).min(self.width - 1) {
                self.fill(
                    out,
                    column,
                    ya + (column as f32 - xa) * slope,
                    ya + ((column + 1) as f32 - xa) * slope,
                );
            }
            if c1 >= 0 && c1 < self.width {
                self.scan_column(out, c1, ya + (c1 as f32 - xa) * slope, i + 1);
            }
        }
    }
}

/// The base layer of `frame` (visible, not highlighted curves), curves in parallel. With
/// `highlighted_on_top`, highlighted curves join it as 1-px lines above every other (the
/// app's CPU path, which has no wide-line pass yet).
pub fn raster_base(frame: &CurveFrame, highlighted_on_top: bool) -> BasePixels {
    let (width, height) = (frame.raster_width, frame.raster_height);
    let decimated: &Decimated = &frame.decimated;
    let styles: &[CurveStyle] = &frame.styles;
    // One buffer per thread, each drawing a run of curves (their points lie together): a
    // frame's buffers are large (8 bytes a pixel), so they are made once per thread rather
    // than per split.
    let threads = rayon::current_num_threads().max(1);
    let curves = decimated.ranges.len();
    (0..threads)
        .into_par_iter()
        .map(|part| {
            let mut out = BasePixels::new(width, height);
            for curve in part * curves / threads..(part + 1) * curves / threads {
                let Some(style) = styles.get(curve) else {
                    continue;
                };
                if !style.is_visible() || (style.is_highlighted() && !highlighted_on_top) {
                    continue;
                }
                // As the GPU: the style's priority; a highlighted curve above all of them.
                let priority = if style.is_highlighted() {
                    0xff
                } else {
                    style.priority
                };
                let (start, len) = decimated.ranges[curve];
                let range = start as usize..(start + len) as usize;
                Curve {
                    xs: &decimated.x_px[range.clone()],
                    ys: &decimated.y[range],
                    y_min: frame.y_min,
                    rows_per_unit: frame.rows_per_unit,
                    width: width as i32,
                    height: height as i32,
                    key: (priority << 24) | (curve as u32 + 1),
                }
                .draw(&mut out);
            }
            out
        })
        .reduce_with(BasePixels::merge)
        .unwrap_or_else(|| BasePixels::new(width, height))
}

/// Viridis, five stops, linear in between (`composite.wgsl`).
fn viridis(t: f32) -> [f32; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [0.267, 0.005, 0.329],
        [0.230, 0.322, 0.546],
        [0.128, 0.567, 0.551],
        [0.369, 0.789, 0.383],
        [0.993, 0.906, 0.144],
    ];
    let scaled = t.clamp(0.0, 1.0) * 4.0;
    let i = (scaled as u32).min(3) as usize;
    let f = scaled - i as f32;
    std::array::from_fn(|c| STOPS[i][c] + (STOPS[i + 1][c] - STOPS[i][c]) * f)
}

/// A unit float to a byte, rounding to nearest.
fn unorm8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

/// The base layer in colour over `background` (RGBA8, rows top to bottom), premultiplied
/// output blended over it as egui and the GPU blend (`src + dst · (1 − src_a)`).
pub fn composite_base(
    pixels: &BasePixels,
    styles: &[CurveStyle],
    mode: BaseMode,
    background: [u8; 4],
) -> Vec<u8> {
    let (width, height) = (pixels.width as usize, pixels.height as usize);
    let max_hits = pixels.max_hits().max(1);
    let top = (1.0 + max_hits as f32).ln();
    let dst: [f32; 4] = background.map(|c| f32::from(c) / 255.0);
    let mut rgba = background.repeat(width * height);
    rgba.par_chunks_mut(width * 4)
        .enumerate()
        .for_each(|(image_row, line)| {
            let row = height - 1 - image_row;
            for column in 0..width {
                let at = row * width + column;
                let key = pixels.keys[at];
                if key == 0 {
                    continue;
                }
                let hits = pixels.hits[at];
                let src: [f32; 4] = match mode {
                    BaseMode::Density => {
                        let t = (1.0 + hits as f32).ln() / top;
                        let [r, g, b] = viridis(0.1 + 0.9 * t);
                        [r, g, b, 1.0]
                    }
                    BaseMode::Lines => {
                        let curve = ((key & 0x00ff_ffff) - 1) as usize;
                        let [r, g, b, a] = styles
                            .get(curve)
                            .map_or([0; 4], |s| s.rgba.to_le_bytes())
                            .map(|c| f32::from(c) / 255.0);
                        let coverage = 1.0 - (1.0 - a).powf(hits as f32);
                        [r * coverage, g * coverage, b * coverage, coverage]
                    }
                };
                // The fragment's output is stored as bytes before the blend, as a unorm8
                // target does.
                let src = src.map(|v| f32::from(unorm8(v)) / 255.0);
                let out: [u8; 4] =
                    std::array::from_fn(|c| unorm8(src[c] + dst[c] * (1.0 - src[3])));
                line[column * 4..column * 4 + 4].copy_from_slice(&out);
            }
        });
    rgba
}
