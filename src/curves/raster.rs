//! The reference rasteriser for 1-px curves: per pixel column, each segment lights the rows
//! between its heights where it enters and leaves the column. Drawing M4-decimated curves this
//! way gives exactly the pixels of drawing every sample (the property tests prove it), and it
//! is what the GPU line pipeline reproduces. Used by tests and by CPU-side image checks.
//!
//! [`RowMap`] is the one data-y-to-row conversion every renderer uses.

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

/// Maps data y to pixel rows (row 0 at the bottom), in an anchored frame as
/// [`super::PixelMap`] maps x: a height is first measured in a frame whose [`ANCHOR_ROW`] is
/// the bottom of the view the map was first made for ([`RowMap::anchored`]; every renderer
/// works out edge heights there), and a row is its floor less the view's bottom edge there
/// ([`RowMap::row_floor`]). An anchored height does not depend on where the view is, so a map
/// panned by whole rows ([`RowMap::panned`]) moves every lit pixel by exactly those rows: a
/// pan in y can keep the picture of the rows still in view ([`RowMap::follow`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowMap {
    pub height_px: u32,
    /// Data y at the anchored frame's [`ANCHOR_ROW`].
    anchor_y: f32,
    rows_per_unit: f32,
    /// The view's bottom edge in the anchored frame: [`ANCHOR_ROW`] plus the whole rows the
    /// map was panned by.
    bottom_row: f32,
}

/// Where the anchored frame puts the bottom of the view a row map is first made for: a power
/// of two, so that heights near the view share one grid (2^-9 rows).
pub const ANCHOR_ROW: f32 = 16_384.0;

/// How far a map may be panned from its anchor, in rows, before [`RowMap::follow`] starts
/// afresh (heights keep a grid of 2^-8 rows or finer).
const ROW_PAN_LIMIT: f32 = 8_192.0;

/// How far from whole rows a pan may be and still keep the picture ([`RowMap::follow`]); as
/// [`super::decimate`]'s columns.
const PAN_SNAP_ROWS: f64 = 0.125;

/// How far a view's scale may differ from a map's, in rows across the view, and still be a
/// pan of it.
const SCALE_DRIFT_ROWS: f64 = 1.0 / 64.0;

impl RowMap {
    /// `y_min..y_max` over `height_px` rows, the scale worked out in f32.
    pub fn new(y_min: f32, y_max: f32, height_px: u32) -> Self {
        Self::with_scale(y_min, height_px as f32 / (y_max - y_min), height_px)
    }

    /// Rows from `y_min` up, `rows_per_unit` a data unit.
    pub fn with_scale(y_min: f32, rows_per_unit: f32, height_px: u32) -> Self {
        Self {
            height_px,
            anchor_y: y_min,
            rows_per_unit,
            bottom_row: ANCHOR_ROW,
        }
    }

    /// A plot view's `y_min..y_max` (f64 bounds) over `height_px` rows.
    pub fn for_view(y_min: f64, y_max: f64, height_px: u32) -> Self {
        Self::with_scale(
            y_min as f32,
            (f64::from(height_px) / (y_max - y_min)) as f32,
            height_px,
        )
    }

    /// Data y's height in the anchored frame (f32, as the GPU computes it).
    #[inline]
    pub fn anchored(&self, y: f32) -> f32 {
        (y - self.anchor_y) * self.rows_per_unit + ANCHOR_ROW
    }

    /// The row an anchored height lies in, before clipping (NaN stays NaN, as the shaders
    /// floor it): the subtraction is exact near the view.
    #[inline]
    pub fn row_floor(&self, anchored: f32) -> f32 {
        (anchored - self.bottom_row).floor()
    }

    /// Whether height `py` above the view's bottom (as [`RowMap::py`] gives) lies where
    /// anchored heights keep their grid ([2^13, 2^15), as [`super::PixelMap::is_exact_at`]):
    /// such a height less the view's bottom is exact, before and after a pan.
    pub fn is_exact_at(&self, py: f32) -> bool {
        let (low, high) = super::PixelMap::EXACT_PX;
        (low..high).contains(&(py + self.bottom_row))
    }

    /// The view's bottom edge in the anchored frame.
    #[inline]
    pub fn bottom_row(&self) -> f32 {
        self.bottom_row
    }

    /// Height above the view's bottom edge of data y (wide lines' pixel y).
    #[inline]
    pub fn py(&self, y: f32) -> f32 {
        self.anchored(y) - self.bottom_row
    }

    pub fn anchor_y(&self) -> f32 {
        self.anchor_y
    }

    pub fn rows_per_unit(&self) -> f32 {
        self.rows_per_unit
    }

    /// Data y at the view's bottom edge.
    pub fn y_min(&self) -> f64 {
        self.y_at_anchored(self.bottom_row)
    }

    /// Data y at the view's top edge.
    pub fn y_max(&self) -> f64 {
        self.y_at_anchored(self.bottom_row + self.height_px as f32)
    }

    fn y_at_anchored(&self, row: f32) -> f64 {
        f64::from(self.anchor_y) + f64::from(row - ANCHOR_ROW) / f64::from(self.rows_per_unit)
    }

    /// This map panned by `rows` whole rows (positive: the view moves to larger y), in the
    /// same frame. `None` past the pan limit.
    pub fn panned(&self, rows: i32) -> Option<Self> {
        let bottom_row = self.bottom_row + rows as f32;
        ((bottom_row - ANCHOR_ROW).abs() <= ROW_PAN_LIMIT).then_some(Self {
            bottom_row,
            ..*self
        })
    }

    /// Rows `rows` of this map as a map of their own (its row 0 is this map's `rows.start`),
    /// in the same frame.
    pub fn window(&self, rows: std::ops::Range<u32>) -> Self {
        Self {
            height_px: rows.len() as u32,
            bottom_row: self.bottom_row + rows.start as f32,
            ..*self
        }
    }

    /// The whole rows `self` lies above `earlier` when it is `earlier` panned (the same
    /// frame, scale and height).
    pub fn rows_from(&self, earlier: &Self) -> Option<i32> {
        let same_frame = self.anchor_y.to_bits() == earlier.anchor_y.to_bits()
            && self.rows_per_unit.to_bits() == earlier.rows_per_unit.to_bits()
            && self.height_px == earlier.height_px;
        same_frame.then_some((self.bottom_row - earlier.bottom_row) as i32)
    }

    /// The map for a view `y_min..y_max` over `height_px` rows that follows this one: this
    /// map panned where the view is this one moved by whole rows (to [`PAN_SNAP_ROWS`]),
    /// otherwise a map of its own.
    pub fn follow(&self, y_min: f64, y_max: f64, height_px: u32) -> Self {
        let fresh = Self::for_view(y_min, y_max, height_px);
        let valid = |map: &Self| map.rows_per_unit.is_finite() && map.rows_per_unit > 0.0;
        if height_px != self.height_px || !valid(&fresh) || !valid(self) {
            return fresh;
        }
        let scale = f64::from(self.rows_per_unit);
        let scale_drift_rows =
            (f64::from(fresh.rows_per_unit) / scale - 1.0).abs() * f64::from(height_px);
        let rows = (y_min - self.y_min()) * scale;
        let whole = rows.round();
        if scale_drift_rows > SCALE_DRIFT_ROWS
            || (rows - whole).abs() > PAN_SNAP_ROWS
            || whole.abs() > f64::from(ROW_PAN_LIMIT)
        {
            return fresh;
        }
        self.panned(whole as i32).unwrap_or(fresh)
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
        light_segment(a, b, (width, height, 0.0), &mut |pixel| {
            self.counts[pixel] += 1;
        });
    }
}

/// A raster's width and height, and the height its row 0 starts at (heights are anchored:
/// [`RowMap::anchored`]).
type Frame = (u32, u32, f32);

/// The rows `y_a..=y_b` (floored, clipped) of `column`: `lit(row * width + column)` each.
fn light_span(
    column: i64,
    y_a: f32,
    y_b: f32,
    (width, height, bottom): Frame,
    lit: &mut impl FnMut(usize),
) {
    if column < 0 || column >= i64::from(width) {
        return;
    }
    let (lo, hi) = if y_a <= y_b { (y_a, y_b) } else { (y_b, y_a) };
    let top = i64::from(height) - 1;
    let row = |height: f32| (height - bottom).floor() as i64;
    let (r0, r1) = (row(lo).max(0), row(hi).min(top));
    for row in r0..=r1 {
        lit(row as usize * width as usize + column as usize);
    }
}

/// Each pixel one segment between pixel-space points (x ascending or equal) lights.
fn light_segment(
    (xa, ya): (f32, f32),
    (xb, yb): (f32, f32),
    size: Frame,
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
    (width, height): (u32, u32),
    mut lit: impl FnMut(usize),
) {
    let size = (width, height, rows.bottom_row());
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
        let point = (x, rows.anchored(y));
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
