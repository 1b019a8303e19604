//! The reference rasteriser for 1-px curves: per pixel column, each segment lights the rows
//! between its heights where it enters and leaves the column. Drawing M4-decimated curves this
//! way gives exactly the pixels of drawing every sample (the property tests prove it), and it
//! is what the GPU line pipeline reproduces. Used by tests and by CPU-side image checks.

use super::decimate::Decimated;

/// A hit-count image: `counts[row * width + column]`, row 0 at the bottom (y_min). Counts are
/// segment hits; only lit or not is compared (the GPU raster counts curves per pixel instead,
/// which is what its density and stacked-alpha modes need).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub counts: Vec<u32>,
}

/// Maps data y to pixel rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowMap {
    pub y_min: f32,
    pub y_max: f32,
    pub height_px: u32,
}

impl RowMap {
    /// Pixel y of data y (f32, as the GPU computes it).
    #[inline]
    pub fn py(&self, y: f32) -> f32 {
        (y - self.y_min) * (self.height_px as f32 / (self.y_max - self.y_min))
    }
}

impl Raster {
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            counts: vec![0; width as usize * height as usize],
        }
    }

    /// Pixels with at least one hit.
    pub fn lit(&self) -> usize {
        self.counts.iter().filter(|&&c| c > 0).count()
    }

    /// Whether the same pixels are lit (hit counts aside).
    pub fn same_pixels(&self, other: &Self) -> bool {
        self.width == other.width
            && self.height == other.height
            && self
                .counts
                .iter()
                .zip(&other.counts)
                .all(|(a, b)| (*a > 0) == (*b > 0))
    }

    /// Draw every curve of `curves` (NaN separates runs; a lone point lights its pixel).
    pub fn draw(&mut self, curves: &Decimated, rows: RowMap) {
        let (width, height) = (self.width, self.height);
        for curve in 0..curves.ranges.len() {
            light_curve(curves, curve, rows, (width, height), |pixel| {
                self.counts[pixel] += 1;
            });
        }
    }

    /// One segment between pixel-space points (x ascending or equal).
    pub fn segment(&mut self, a: (f32, f32), b: (f32, f32)) {
        let (width, height) = (self.width, self.height);
        light_segment(a, b, (width, height), &mut |pixel| self.counts[pixel] += 1);
    }
}

/// The rows `y_a..=y_b` (floored, clipped) of `column`: `lit(row * width + column)` each.
fn light_span(
    column: i64,
    y_a: f32,
    y_b: f32,
    (width, height): (u32, u32),
    lit: &mut impl FnMut(usize),
) {
    if column < 0 || column >= i64::from(width) {
        return;
    }
    let (lo, hi) = if y_a <= y_b { (y_a, y_b) } else { (y_b, y_a) };
    let top = i64::from(height) - 1;
    let (r0, r1) = ((lo.floor() as i64).max(0), (hi.floor() as i64).min(top));
    for row in r0..=r1 {
        lit(row as usize * width as usize + column as usize);
    }
}

/// Each pixel one segment between pixel-space points (x ascending or equal) lights.
fn light_segment(
    (xa, ya): (f32, f32),
    (xb, yb): (f32, f32),
    size: (u32, u32),
    lit: &mut impl FnMut(usize),
) {
    let (c0, c1) = (xa.floor() as i64, xb.floor() as i64);
    if c0 == c1 {
        light_span(c0, ya, yb, size, lit);
        return;
    }
    let slope = (yb - ya) / (xb - xa);
    let first = c0.max(-1);
    let last = c1.min(i64::from(size.0));
    for column in first..=last {
        // The part of the segment inside this column, clipped to the segment's ends.
        let left = if column == c0 { xa } else { column as f32 };
        let right = if column == c1 {
            xb
        } else {
            (column + 1) as f32
        };
        let y_left = if column == c0 {
            ya
        } else {
            ya + (left - xa) * slope
        };
        let y_right = if column == c1 {
            yb
        } else {
            ya + (right - xa) * slope
        };
        light_span(column, y_left, y_right, size, lit);
    }
}

/// Call `lit(row * width + column)` for every pixel curve `curve` of `curves` lights with the
/// 1-px rule (row 0 at the bottom; a pixel may come more than once). NaN separates runs; a
/// lone point lights its pixel.
pub fn light_curve(
    curves: &Decimated,
    curve: usize,
    rows: RowMap,
    size: (u32, u32),
    mut lit: impl FnMut(usize),
) {
    let mut previous: Option<(f32, f32)> = None;
    let mut run_len = 0;
    for (x, y) in curves.points(curve) {
        if y.is_nan() {
            if run_len == 1
                && let Some(p) = previous
            {
                light_segment(p, p, size, &mut lit);
            }
            previous = None;
            run_len = 0;
            continue;
        }
        let point = (x, rows.py(y));
        if let Some(p) = previous {
            light_segment(p, point, size, &mut lit);
        }
        previous = Some(point);
        run_len += 1;
    }
    if run_len == 1
        && let Some(p) = previous
    {
        light_segment(p, p, size, &mut lit);
    }
}
