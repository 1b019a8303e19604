//! The GPU's base layer on the CPU, for software adapters and drivers that cannot run the
//! compute pass: `raster.wgsl` and `composite.wgsl` ported operation for operation (the same
//! f32 arithmetic, in the same order), so a frame gives the same per-pixel (curves lighting
//! it, topmost key) buffer and the same colours. Curves are split over rayon threads, each
//! into a buffer of its own, merged by sum (hits) and max (key): the result does not depend
//! on the split. Highlighted curves are left out of it and drawn over it as wide antialiased
//! lines ([`draw_wide_lines`], `wide_lines.wgsl` ported), as on the GPU.
//!
//! The app draws straight from the store ([`Points::Store`]): each curve is M4-decimated into a
//! curve-sized buffer as it is drawn, so a view change costs one pass and no frame-sized
//! decimation buffer.
//!
//! Main functions: [`raster_base`], [`raster_points`], [`composite_base`], [`BasePixels`].

use rayon::prelude::*;

use super::gpu::{BaseMode, CurveFrame, CurveStyle};
use crate::curves::{CurveId, CurvePoints, CurveStore, Decimated, PixelMap, RowMap};

/// Per pixel: curves lighting it and the topmost key (`priority << 24 | curve + 1`, 0: none),
/// in bands of [`ROW_CHUNK`] rows (from the bottom), each band column after column: a curve
/// lights a few rows of each column, which are one contiguous chunk, next to the chunk of the
/// column beside it (see [`BasePixels::index`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasePixels {
    pub width: u32,
    pub height: u32,
    /// Whether `hits` were counted: opaque lines need only the keys (as on the GPU), and
    /// every lit pixel then counts as one curve.
    pub counted: bool,
    hits: Vec<u32>,
    keys: Vec<u32>,
    /// Per curve drawn: the lowest and highest anchored height ([`ordered`]) it has in the
    /// picture's columns, clipped or not (a curve not drawn: empty, `i32::MAX..i32::MIN`). A
    /// pan in y draws only the curves that reach the rows it uncovers. It may hold more than
    /// the picture (after a pan in x, the columns that left the view), never less.
    extents: Vec<(i32, i32)>,
    /// A segment without heights (an infinite value's) lit row 0, wherever the view is: a
    /// pan in y draws afresh.
    lit_row_zero: bool,
}

/// A curve's extent before it lights anything.
const NO_EXTENT: (i32, i32) = (i32::MAX, i32::MIN);

/// Rows a band holds: a fill writes a band's chunk of a column at once, the rows outside the
/// run masked, so that a run of a few rows costs no loop of unpredictable length.
const ROW_CHUNK: usize = 8;

/// Whether a frame needs its hits counted: density, or a translucent style (stacked alpha).
fn counts_hits(mode: BaseMode, styles: &[CurveStyle]) -> bool {
    mode == BaseMode::Density || styles.iter().any(|style| style.rgba >> 24 != 0xff)
}

impl BasePixels {
    fn new(width: u32, height: u32, counted: bool) -> Self {
        let n = width as usize * (height as usize).div_ceil(ROW_CHUNK) * ROW_CHUNK;
        Self {
            width,
            height,
            counted,
            hits: if counted { vec![0; n] } else { Vec::new() },
            keys: vec![0; n],
            extents: Vec::new(),
            lit_row_zero: false,
        }
    }

    /// Curve `curve`'s extent widened by `extent`.
    fn widen_extent(&mut self, curve: usize, (lo, hi): (i32, i32)) {
        if self.extents.len() <= curve {
            self.extents.resize(curve + 1, NO_EXTENT);
        }
        let kept = &mut self.extents[curve];
        *kept = (kept.0.min(lo), kept.1.max(hi));
    }

    /// Whether curve `curve` may light a row of `rows` (anchored heights in the same frame as
    /// the picture's).
    fn may_reach(&self, curve: usize, rows: &RowMap) -> bool {
        let Some(&(lo, hi)) = self.extents.get(curve) else {
            return false;
        };
        lo <= hi
            && rows.row_floor(from_ordered(hi)) >= 0.0
            && rows.row_floor(from_ordered(lo)) < rows.height_px as f32
    }

    /// Where pixel (`column`, `row`, row 0 at the bottom) is kept.
    #[inline]
    pub fn index(&self, column: usize, row: usize) -> usize {
        let band = row / ROW_CHUNK;
        (band * self.width as usize + column) * ROW_CHUNK + row % ROW_CHUNK
    }

    /// The topmost key at (`column`, `row`, row 0 at the bottom), 0 where no curve lights it.
    pub fn key(&self, column: usize, row: usize) -> u32 {
        self.keys.get(self.index(column, row)).copied().unwrap_or(0)
    }

    fn merge(mut self, other: Self) -> Self {
        for (a, b) in self.hits.iter_mut().zip(&other.hits) {
            *a += b;
        }
        for (a, b) in self.keys.iter_mut().zip(&other.keys) {
            *a = (*a).max(*b);
        }
        self.widen_extents(&other);
        self
    }

    /// Every curve's extent widened by `other`'s, and `other`'s row-0 lights kept.
    fn widen_extents(&mut self, other: &Self) {
        for (curve, &extent) in other.extents.iter().enumerate() {
            if extent != NO_EXTENT {
                self.widen_extent(curve, extent);
            }
        }
        self.lit_row_zero |= other.lit_row_zero;
    }

    /// The picture moved `columns` to the left and `rows` down (its view panned right and up
    /// by them; negative: the other way; each fewer than the picture's size), what it
    /// uncovers cleared.
    fn shifted(mut self, columns: i32, rows: i32) -> Self {
        if rows == 0 {
            self.shift_columns(columns);
            return self;
        }
        let mut out = Self {
            extents: std::mem::take(&mut self.extents),
            ..Self::new(self.width, self.height, self.counted)
        };
        out.lit_row_zero = self.lit_row_zero;
        let (width, height) = (self.width as i32, self.height as i32);
        let kept_columns = (0.max(-columns)..width.min(width - columns)).map(|c| c as usize);
        let kept_rows = 0.max(-rows)..height.min(height - rows);
        for column in kept_columns {
            let from_column = (column as i32 + columns) as usize;
            for row in kept_rows.clone() {
                let (to, from) = (
                    out.index(column, row as usize),
                    self.index(from_column, (row + rows) as usize),
                );
                out.keys[to] = self.keys[from];
                if self.counted {
                    out.hits[to] = self.hits[from];
                }
            }
        }
        out
    }

    /// The picture moved `columns` (fewer than its width) to the left (its view panned
    /// right by them; negative: to the right), the columns it uncovers cleared.
    fn shift_columns(&mut self, columns: i32) {
        let width = self.width as usize;
        let moved = columns.unsigned_abs() as usize;
        for buffer in [&mut self.keys, &mut self.hits] {
            for band in buffer.chunks_exact_mut(width * ROW_CHUNK) {
                if columns > 0 {
                    band.copy_within(moved * ROW_CHUNK.., 0);
                    band[(width - moved) * ROW_CHUNK..].fill(0);
                } else {
                    band.copy_within(..(width - moved) * ROW_CHUNK, moved * ROW_CHUNK);
                    band[..moved * ROW_CHUNK].fill(0);
                }
            }
        }
    }

    /// `strip` (as high, as counted) written over columns `at..at + strip.width`.
    fn paste_columns(&mut self, strip: &Self, at: usize) {
        let (width, strip_width) = (self.width as usize, strip.width as usize);
        for (buffer, from) in [(&mut self.keys, &strip.keys), (&mut self.hits, &strip.hits)] {
            let bands = buffer.chunks_exact_mut(width * ROW_CHUNK);
            for (band, strip_band) in bands.zip(from.chunks_exact(strip_width * ROW_CHUNK)) {
                band[at * ROW_CHUNK..(at + strip_width) * ROW_CHUNK].copy_from_slice(strip_band);
            }
        }
        self.widen_extents(strip);
    }

    /// `strip` (as wide, as counted) written over rows `at..at + strip.height`.
    fn paste_rows(&mut self, strip: &Self, at: usize) {
        for column in 0..self.width as usize {
            for row in 0..strip.height as usize {
                let (to, from) = (self.index(column, at + row), strip.index(column, row));
                self.keys[to] = strip.keys[from];
                if self.counted {
                    self.hits[to] = strip.hits[from];
                }
            }
        }
        self.widen_extents(strip);
    }

    /// Bytes its buffers hold.
    pub fn bytes(&self) -> usize {
        (self.hits.capacity() + self.keys.capacity()) * size_of::<u32>()
    }

    /// The largest hit count (the density colour map's top).
    pub fn max_hits(&self) -> u32 {
        self.hits.iter().copied().max().unwrap_or(0)
    }

    /// Rows `first..=last` of `column` lit by a curve with `key` (`first <= last`, `last`
    /// below the height): each band's chunk of the column at once, the rows outside the run
    /// masked, and the hits counted where `COUNTED` (the caller's `counted`): known where it
    /// is compiled, so that a loop of lights holds no test and no pointer for uncounted hits.
    #[inline(always)]
    fn light<const COUNTED: bool>(&mut self, column: usize, first: usize, last: usize, key: u32) {
        let (mut band, last_band) = (first / ROW_CHUNK, last / ROW_CHUNK);
        let mut first_lane = first % ROW_CHUNK;
        loop {
            let last_lane = if band == last_band {
                last % ROW_CHUNK
            } else {
                ROW_CHUNK - 1
            };
            let mask = &LANE_MASKS[first_lane * ROW_CHUNK + last_lane];
            let start = (band * self.width as usize + column) * ROW_CHUNK;
            if let Some(keys) = self.keys.get_mut(start..start + ROW_CHUNK) {
                for (slot, lit) in keys.iter_mut().zip(mask) {
                    *slot = (*slot).max(key & lit);
                }
            }
            if COUNTED && let Some(hits) = self.hits.get_mut(start..start + ROW_CHUNK) {
                for (slot, lit) in hits.iter_mut().zip(mask) {
                    *slot += lit & 1;
                }
            }
            if band >= last_band {
                break;
            }
            (band, first_lane) = (band + 1, 0);
        }
    }
}

/// Per (first, last) lane of a band's chunk (`first * ROW_CHUNK + last`): all ones in the
/// lanes from `first` to `last`, zeros elsewhere.
const LANE_MASKS: [[u32; ROW_CHUNK]; ROW_CHUNK * ROW_CHUNK] = {
    let mut masks = [[0; ROW_CHUNK]; ROW_CHUNK * ROW_CHUNK];
    let mut first = 0;
    while first < ROW_CHUNK {
        let mut last = first;
        while last < ROW_CHUNK {
            let mut lane = first;
            while lane <= last {
                masks[first * ROW_CHUNK + last][lane] = u32::MAX;
                lane += 1;
            }
            last += 1;
        }
        first += 1;
    }
    masks
};

/// The GPU's gap test, by bits.
fn is_gap(y: f32) -> bool {
    (y.to_bits() & 0x7fff_ffff) > 0x7f80_0000
}

/// Where the first gap in `ys` is: whole chunks are tested at once (vectorised), and only a
/// chunk with a gap is searched.
fn first_gap(ys: &[f32]) -> Option<usize> {
    const CHUNK: usize = 32;
    let mut chunks = ys.chunks_exact(CHUNK);
    let mut offset = 0;
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |any, &y| any | is_gap(y)) {
            return chunk.iter().position(|&y| is_gap(y)).map(|i| offset + i);
        }
        offset += CHUNK;
    }
    let rest = chunks.remainder().iter().position(|&y| is_gap(y));
    rest.map(|i| offset + i)
}

/// `y.floor() as i32` for `y` within ±2^22 (the walk clamps what it floors to the raster and
/// a margin): float adds and a compare, which vectorise, where a saturating cast is a
/// scalar conversion and fix-ups per value on x86-64's baseline (SSE2).
#[inline]
fn floor_small(y: f32) -> i32 {
    // 1.5 · 2^23: a sum with it has no fraction bits left, so adding it rounds to an integer,
    // and that integer is then the low bits of the sum.
    const ROUNDER: f32 = 12_582_912.0;
    let nearest = (y + ROUNDER) - ROUNDER;
    let floored = nearest - if nearest > y { 1.0 } else { 0.0 };
    (floored + ROUNDER).to_bits() as i32 - ROUNDER.to_bits() as i32
}

/// One curve's rasterisation state (`raster.wgsl`'s uniforms and buffers).
struct Curve<'a> {
    xs: &'a [f32],
    ys: &'a [f32],
    /// `ys` is known to hold no gap: one run, not searched for gaps.
    gap_free: bool,
    rows: RowMap,
    width: i32,
    height: i32,
    key: u32,
}

/// A thread's working memory for [`Curve::draw`], kept from curve to curve.
#[derive(Default)]
struct Walk {
    /// Per point of the run being drawn: its column.
    columns: Vec<i32>,
    /// Per segment (point i to i + 1): the heights that close point i's column (where the
    /// segment leaves it, or point i's own height if the segment stays in it), and the
    /// range point i + 1 opens its column with (its own height and the segment's entry).
    exits_lo: Vec<i32>,
    exits_hi: Vec<i32>,
    opening_lo: Vec<i32>,
    opening_hi: Vec<i32>,
    columns_hit: ColumnRanges,
}

/// One run's points (`xs`, `ys`, `columns`) and, per segment, what [`Curve::draw_run`]
/// worked out: the heights closing each point's column (low, high) and those opening the
/// next point's (low, high), all of one length, one less than the points.
#[derive(Clone, Copy)]
struct Segments<'a> {
    xs: &'a [f32],
    ys: &'a [f32],
    columns: &'a [i32],
    exits: (&'a [i32], &'a [i32]),
    openings: (&'a [i32], &'a [i32]),
}

/// Per column (slot `column + 1`; slots 0 and `width + 1` take every column left and right
/// of the raster): the lowest and highest height ([`ordered`]) lighting it in the current
/// visit; and per column of the stretch being lit, its first and last row.
#[derive(Default)]
struct ColumnRanges {
    lo: Vec<i32>,
    hi: Vec<i32>,
    rows: StretchRows,
}

/// Per column of the stretch being lit: its first and last row; and the curve's extent so
/// far (its lowest and highest height in the raster's columns, [`ordered`]) and whether it
/// lit row 0 for want of heights ([`BasePixels::extents`]).
struct StretchRows {
    first: Vec<i32>,
    last: Vec<i32>,
    extent: (i32, i32),
    lit_row_zero: bool,
}

impl Default for StretchRows {
    fn default() -> Self {
        Self {
            first: Vec::new(),
            last: Vec::new(),
            extent: NO_EXTENT,
            lit_row_zero: false,
        }
    }
}

/// A float as an integer of the same order (-0 just below +0; not NaN, which the walk
/// keeps out): the walk's min and max are then integer compares, in general registers.
#[inline]
fn ordered(y: f32) -> i32 {
    let bits = y.to_bits() as i32;
    bits ^ (((bits >> 31) as u32) >> 1) as i32
}

/// The float of an [`ordered`] integer.
#[inline]
fn from_ordered(bits: i32) -> f32 {
    f32::from_bits((bits ^ (((bits >> 31) as u32) >> 1) as i32) as u32)
}

/// `y` as the lowest height it adds to a column (NaN adds none: +∞, which a minimum
/// skips).
#[inline]
fn as_lowest(y: f32) -> i32 {
    ordered(y.min(f32::INFINITY))
}

/// `y` as the highest height it adds to a column (NaN adds none: -∞).
#[inline]
fn as_highest(y: f32) -> i32 {
    ordered(y.max(f32::NEG_INFINITY))
}

impl Curve<'_> {
    /// Anchored height ([`RowMap::anchored`]): every edge height is worked out there, and
    /// the view's bottom is taken off only where a height becomes a row.
    #[inline]
    fn py(&self, y: f32) -> f32 {
        self.rows.anchored(y)
    }

    /// `rasterize` for every point of the curve: the shader's thread for a point that is the
    /// last of its column draws the segment to the next point (the exit from its column, the
    /// columns it spans, the entry into the next), and the column's lowest and highest
    /// height (entry, its points, exit) light its rows. Each run between gaps is drawn by
    /// [`Curve::draw_run`].
    #[inline(always)]
    fn draw(&self, out: &mut BasePixels, walk: &mut Walk) {
        if self.gap_free {
            self.draw_run(out, walk, 0..self.ys.len());
            return;
        }
        let mut start = 0;
        while start < self.ys.len() {
            let run = self.ys[start..].iter().position(|&y| !is_gap(y));
            let Some(skipped) = run else { break };
            let first = start + skipped;
            let len = first_gap(&self.ys[first..]).unwrap_or(self.ys.len() - first);
            self.draw_run(out, walk, first..first + len);
            start = first + len;
        }
    }

    /// One run of points without gaps. The per-point arithmetic (columns, heights, where
    /// each segment crosses a column edge: the shader's f32 operations, its min and max
    /// skipping NaN) is done first over the whole run, where it vectorises; then
    /// [`Curve::walk_run`].
    #[inline(always)]
    fn draw_run(&self, out: &mut BasePixels, walk: &mut Walk, run: std::ops::Range<usize>) {
        let (xs, ys) = (&self.xs[run.clone()], &self.ys[run]);
        let Some(segments) = xs.len().checked_sub(1) else {
            return;
        };
        let Walk {
            columns,
            exits_lo,
            exits_hi,
            opening_lo,
            opening_hi,
            columns_hit,
        } = walk;
        columns.clear();
        // Columns left and right of the raster are one column each side (-1 and `width`):
        // all the walk does there is keep their heights out of the raster.
        let right = self.width as f32;
        columns.extend(xs.iter().map(|&x| floor_small(x.max(-1.0).min(right))));
        for buffer in [&mut *exits_lo, exits_hi, opening_lo, opening_hi] {
            buffer.resize(segments, 0);
        }
        // Slices of one length, so that the loops vectorise and check no bounds.
        let (exits_lo, exits_hi) = (&mut exits_lo[..segments], &mut exits_hi[..segments]);
        let (opening_lo, opening_hi) = (&mut opening_lo[..segments], &mut opening_hi[..segments]);
        let (x0, x1) = (&xs[..segments], &xs[1..]);
        let (y0, y1) = (&ys[..segments], &ys[1..]);
        let (c0, c1) = (&columns[..segments], &columns[1..]);
        for i in 0..segments {
            let (h0, h1) = (self.py(y0[i]), self.py(y1[i]));
            let slope = (h1 - h0) / (x1[i] - x0[i]);
            let exit = h0 + ((c0[i] + 1) as f32 - x0[i]) * slope;
            let entry = h0 + (c1[i] as f32 - x0[i]) * slope;
            // Within one column the segment crosses no edge. A NaN edge height (from an
            // infinite height or slope) is skipped by the shader's min and max. Either way
            // the point's own height, in the range already, stands in for it.
            let same = c0[i] == c1[i];
            let exit = if same || exit.is_nan() { h0 } else { exit };
            let entry = if same || entry.is_nan() { h1 } else { entry };
            (exits_lo[i], exits_hi[i]) = (as_lowest(exit), as_highest(exit));
            (opening_lo[i], opening_hi[i]) = (as_lowest(entry.min(h1)), as_highest(entry.max(h1)));
        }
        let run = Segments {
            xs,
            ys,
            columns,
            exits: (exits_lo, exits_hi),
            openings: (opening_lo, opening_hi),
        };
        self.walk_run(out, &run, columns_hit);
    }

    /// Gathers each column's lowest and highest height into `columns_hit` without a
    /// branch for "still in the same column", and lights a stretch of columns once the
    /// points turn back in x (a column visited twice lights each visit's rows, not the rows
    /// between) or the run ends. Every column from a stretch's first to its last is written
    /// before it is lit.
    #[inline(always)]
    fn walk_run(&self, out: &mut BasePixels, run: &Segments<'_>, columns_hit: &mut ColumnRanges) {
        let Segments {
            xs,
            ys,
            columns,
            exits: (exits_lo, exits_hi),
            openings: (opening_lo, opening_hi),
        } = *run;
        // Slices of one length, so that the loop checks no bounds.
        let segments = exits_lo.len();
        let exits_hi = &exits_hi[..segments];
        let (opening_lo, opening_hi) = (&opening_lo[..segments], &opening_hi[..segments]);
        let (x0, x1) = (&xs[..segments], &xs[1..]);
        let (y0, y1) = (&ys[..segments], &ys[1..]);
        let (c0, c1) = (&columns[..segments], &columns[1..]);
        let slots = self.width as usize + 2;
        let ColumnRanges { lo, hi, rows } = columns_hit;
        lo.resize(slots, 0);
        hi.resize(slots, 0);
        // Plain slices: stores through them cannot change a Vec's length, which the loop
        // would otherwise load again after every store.
        let (lo, hi) = (&mut lo[..slots], &mut hi[..slots]);
        let slot = |column: i32| (column + 1) as usize;
        // The open column's range is kept in registers; its slot is written at every point
        // (plain stores, no read back), the last write being its range when the points
        // leave it. The range carries on where the segment stays in the column and starts
        // afresh where it does not (a select: a branch here was mispredicted at every other
        // point).
        let first_height = self.py(ys[0]);
        let (mut open_lo, mut open_hi) = (as_lowest(first_height), as_highest(first_height));
        let mut stretch_start = columns[0];
        let mut i = 0;
        while i < segments {
            // Steps within a column or to the next, in a loop of their own: with the rare
            // cases' work outside it, its values stay in registers (118 -> 110 ms CPU for
            // the demo's frame).
            let rare = loop {
                let (from, to) = (c0[i], c1[i]);
                let s = slot(from);
                (lo[s], hi[s]) = (open_lo.min(exits_lo[i]), open_hi.max(exits_hi[i]));
                // One test for the two rare cases: a step back (which wraps to a large
                // step) and a step over columns.
                if (to - from) as u32 > 1 {
                    break Some((from, to));
                }
                let stays = from == to;
                open_lo = if stays { open_lo } else { i32::MAX }.min(opening_lo[i]);
                open_hi = if stays { open_hi } else { i32::MIN }.max(opening_hi[i]);
                i += 1;
                if i == segments {
                    break None;
                }
            };
            let Some((from, to)) = rare else { break };
            if to < from {
                self.light_stretch(out, (lo, hi), rows, stretch_start, from);
                stretch_start = to;
            } else {
                let (h0, h1) = (self.py(y0[i]), self.py(y1[i]));
                let slope = (h1 - h0) / (x1[i] - x0[i]);
                let at = |edge: i32| h0 + (edge as f32 - x0[i]) * slope;
                let spanned = (from + 1).max(0)..(to - 1).min(self.width - 1) + 1;
                let mut left = at(spanned.start);
                for column in spanned {
                    let right = at(column + 1);
                    // Both edges NaN (an infinite height's segment): the shader floors NaN
                    // to row 0, and so lights that row.
                    let (low, high) = match left.min(right) {
                        low if low.is_nan() => {
                            rows.lit_row_zero = true;
                            (self.rows.bottom_row(), self.rows.bottom_row())
                        }
                        low => (low, left.max(right)),
                    };
                    let s = slot(column);
                    (lo[s], hi[s]) = (ordered(low), ordered(high));
                    left = right;
                }
            }
            // The next point opens a column of its own.
            (open_lo, open_hi) = (opening_lo[i], opening_hi[i]);
            i += 1;
        }
        let last = columns[segments];
        let s = slot(last);
        (lo[s], hi[s]) = (open_lo, open_hi);
        self.light_stretch(out, (lo, hi), rows, stretch_start, last);
    }

    /// Lights the gathered rows of columns `first..=last` (those in the raster): their
    /// rows first, over the whole stretch where it vectorises.
    #[inline(always)]
    fn light_stretch(
        &self,
        out: &mut BasePixels,
        (lo, hi): (&[i32], &[i32]),
        rows: &mut StretchRows,
        first: i32,
        last: i32,
    ) {
        let columns = first.max(0)..last.min(self.width - 1) + 1;
        let slots = columns.start as usize + 1..columns.end as usize + 1;
        let (Some(lo), Some(hi)) = (lo.get(slots.clone()), hi.get(slots)) else {
            return;
        };
        rows.extent = (
            lo.iter().fold(rows.extent.0, |low, &lo| low.min(lo)),
            hi.iter().fold(rows.extent.1, |high, &hi| high.max(hi)),
        );
        let (top, height) = ((self.height - 1) as f32, self.height as f32);
        let bottom = self.rows.bottom_row();
        rows.first.clear();
        rows.first.extend(
            lo.iter()
                .map(|&lo| floor_small((from_ordered(lo) - bottom).max(0.0).min(height))),
        );
        rows.last.clear();
        rows.last.extend(
            hi.iter()
                .map(|&hi| floor_small((from_ordered(hi) - bottom).max(-1.0).min(top))),
        );
        if out.counted {
            self.light_columns::<true>(out, columns, rows);
        } else {
            self.light_columns::<false>(out, columns, rows);
        }
    }

    /// Lights `columns` from their `rows`.
    #[inline(always)]
    fn light_columns<const COUNTED: bool>(
        &self,
        out: &mut BasePixels,
        columns: std::ops::Range<i32>,
        rows: &StretchRows,
    ) {
        for ((column, &r0), &r1) in columns.zip(&rows.first).zip(&rows.last) {
            if r0 <= r1 {
                out.light::<COUNTED>(column as usize, r0 as usize, r1 as usize, self.key);
            }
        }
    }
}

/// Where a frame's points come from.
#[derive(Clone, Copy, Debug)]
pub enum Points<'a> {
    /// A decimation made beforehand (what the GPU draws).
    Decimated(&'a Decimated),
    /// The store, each curve M4-decimated for the map as it is drawn, into a curve-sized
    /// buffer: the same points as [`Points::Decimated`] of [`crate::curves::decimate_m4`],
    /// without a frame-sized buffer or a pass of its own, and hidden curves never decimated.
    Store(&'a CurveStore, &'a PixelMap),
}

/// The raster points are drawn into: its width in pixels and its rows (their count and the
/// data mapping).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RasterTarget {
    pub width: u32,
    pub rows: RowMap,
}

/// The base layer of `frame` (visible, not highlighted curves), curves in parallel; the
/// highlighted ones are drawn over it by [`draw_wide_lines`].
pub fn raster_base(frame: &CurveFrame) -> BasePixels {
    let target = RasterTarget {
        width: frame.raster_width,
        rows: frame.rows,
    };
    raster_points(
        Points::Decimated(&frame.decimated),
        target,
        &frame.styles,
        frame.mode,
    )
    .0
}

/// Curve `curve`'s points (pixel x, data y): a slice of the decimation, or the curve
/// decimated into `scratch` (y straight from the store where decimation keeps every sample).
fn curve_points<'s>(
    points: Points<'s>,
    curve: usize,
    scratch: &'s mut CurvePoints,
) -> Option<(&'s [f32], &'s [f32])> {
    match points {
        Points::Decimated(decimated) => {
            let (start, len) = *decimated.ranges.get(curve)?;
            let range = start as usize..(start + len) as usize;
            Some((decimated.x_px.get(range.clone())?, decimated.y.get(range)?))
        }
        Points::Store(store, map) => {
            if curve >= store.len() {
                return None;
            }
            Some(scratch.of(store, curve as CurveId, map))
        }
    }
}

/// Whether curve `curve` of `points` is known to hold no gap: a store's curve without a NaN
/// (its decimation then has no separator either).
fn known_gap_free(points: Points<'_>, curve: usize) -> bool {
    match points {
        Points::Decimated(_) => false,
        Points::Store(store, _) => !store.has_gaps(curve as CurveId),
    }
}

/// Samples curve `curve` of `points` holds: the store's, or where the points were decimated
/// beforehand, those points (0 where there is no such curve).
fn samples_of(points: Points<'_>, curve: usize) -> usize {
    match points {
        Points::Decimated(decimated) => decimated
            .ranges
            .get(curve)
            .map_or(0, |&(_, len)| len as usize),
        Points::Store(store, _) if curve < store.len() => store.y(curve as CurveId).len(),
        Points::Store(..) => 0,
    }
}

/// Whether a curve of `style` is drawn in the base layer: shown, and not highlighted (those
/// are drawn over it as wide lines).
fn in_base_layer(style: &CurveStyle) -> bool {
    style.is_visible() && !style.is_highlighted()
}

/// `curves` (curve, samples) cut into at most `parts` runs of about equal samples.
fn split_evenly(curves: &[(usize, usize)], parts: usize) -> Vec<&[(usize, usize)]> {
    let total: usize = curves.iter().map(|&(_, samples)| samples).sum();
    let mut runs = Vec::with_capacity(parts);
    let (mut start, mut so_far) = (0, 0);
    for (i, &(_, samples)) in curves.iter().enumerate() {
        so_far += samples;
        // This run ends once it holds its share of the samples.
        if so_far * parts >= total * (runs.len() + 1) && runs.len() + 1 < parts {
            runs.push(&curves[start..=i]);
            start = i + 1;
        }
    }
    runs.push(&curves[start..]);
    runs
}

/// What one [`raster_points`] or [`draw_wide_lines`] drew.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RasterCounts {
    pub curves: usize,
    /// Samples of the drawn curves, before decimation.
    pub samples: usize,
    /// Points after decimation.
    pub points: usize,
    /// Bytes of the per-thread pixel buffers (all alive at once, before they are merged).
    pub pixel_bytes: usize,
}

impl RasterCounts {
    /// One more curve drawn, with `drawn` points.
    fn add_curve(&mut self, points: Points<'_>, curve: usize, drawn: usize) {
        self.curves += 1;
        self.samples += samples_of(points, curve);
        self.points += drawn;
    }
}

impl std::ops::Add for RasterCounts {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            curves: self.curves + other.curves,
            samples: self.samples + other.samples,
            points: self.points + other.points,
            pixel_bytes: self.pixel_bytes + other.pixel_bytes,
        }
    }
}

/// [`raster_base`] of `points` into `target` for `mode` (hits are counted only where it
/// shows them), and how much it drew.
pub fn raster_points(
    points: Points<'_>,
    target: RasterTarget,
    styles: &[CurveStyle],
    mode: BaseMode,
) -> (BasePixels, RasterCounts) {
    raster_curves(points, target, styles, mode, |_| true, false)
}

/// [`raster_points`] of the curves `drawn` picks (the others are known to light nothing);
/// where `only_reaching`, only the parts of each curve that may reach the target's rows
/// are walked (a strip of rows: [`slices_reaching`]).
fn raster_curves(
    points: Points<'_>,
    target: RasterTarget,
    styles: &[CurveStyle],
    mode: BaseMode,
    drawn: impl Fn(usize) -> bool + Sync,
    only_reaching: bool,
) -> (BasePixels, RasterCounts) {
    let (width, height) = (target.width, target.rows.height_px);
    let count_hits = counts_hits(mode, styles);
    let curves = match points {
        Points::Decimated(decimated) => decimated.ranges.len(),
        Points::Store(store, _) => store.len(),
    };
    // One buffer per thread, each drawing a run of the drawn curves with as many samples as
    // the others (hidden curves left out first: a filter that hides a whole range of curves
    // left a thread idle): a frame's buffers are large (8 bytes a pixel), so they are made
    // once per thread rather than per split.
    let drawn: Vec<(usize, usize)> = (0..curves)
        .filter(|&curve| styles.get(curve).is_some_and(in_base_layer) && drawn(curve))
        .map(|curve| (curve, samples_of(points, curve)))
        .collect();
    let parts = split_evenly(&drawn, rayon::current_num_threads().max(1));
    parts
        .into_par_iter()
        .map(|part| {
            let mut out = BasePixels::new(width, height, count_hits);
            let counts = draw_part(points, target, styles, (part, only_reaching), &mut out);
            (out, counts)
        })
        .reduce_with(|(a, a_counts), (b, b_counts)| (a.merge(b), a_counts + b_counts))
        .unwrap_or_else(|| {
            (
                BasePixels::new(width, height, count_hits),
                RasterCounts::default(),
            )
        })
}

/// [`raster_points`] of the store for `to` (its map and target), from `earlier`, its
/// picture for `from` (the same width, height, styles and mode), where `to` is `from` panned
/// by fewer whole columns than the width ([`PixelMap::panned`]) and fewer whole rows than the
/// height ([`RowMap::panned`]): the pixels still in view are moved, and only the columns and
/// rows that came into view are drawn (the rows by the curves whose extent reaches them).
///
/// Every sample the kept columns depend on must keep its grid under the pan in x (the view,
/// and each drawn curve's samples beside it: [`crate::curves::keeps_grid_beside_view`]);
/// anchored heights do not depend on the view, so any pan in y keeps them, unless a segment
/// lit row 0 for want of heights. The picture is then the one `to` gives drawn afresh, pixel
/// for pixel. `None` where that does not hold: draw afresh.
pub fn raster_panned(
    earlier: BasePixels,
    from: (&PixelMap, &RowMap),
    (to, target): (&PixelMap, RasterTarget),
    store: &CurveStore,
    styles: &[CurveStyle],
    mode: BaseMode,
) -> Option<(BasePixels, RasterCounts)> {
    let columns = to.columns_from(from.0)?;
    let rows = target.rows.rows_from(from.1)?;
    let (width, height) = (target.width, target.rows.height_px);
    let (moved_columns, moved_rows) = (columns.unsigned_abs(), rows.unsigned_abs());
    let same_picture = earlier.width == width
        && earlier.height == height
        && earlier.counted == counts_hits(mode, styles)
        && to.width_px == width;
    if !same_picture
        || (moved_columns == 0 && moved_rows == 0)
        || moved_columns >= width
        || moved_rows >= height
        || (moved_rows > 0 && earlier.lit_row_zero)
    {
        return None;
    }
    if moved_columns > 0 && !columns_keep_their_grid((from.0, to), store, width, styles) {
        return None;
    }
    let mut pixels = earlier.shifted(columns, rows);
    let mut counts = RasterCounts::default();
    if moved_columns > 0 {
        let uncovered = if columns > 0 {
            width - moved_columns..width
        } else {
            0..moved_columns
        };
        let strip_map = to.window(uncovered.clone());
        let strip_target = RasterTarget {
            width: moved_columns,
            ..target
        };
        let (strip, strip_counts) =
            raster_points(Points::Store(store, &strip_map), strip_target, styles, mode);
        pixels.paste_columns(&strip, uncovered.start as usize);
        counts = counts + strip_counts;
    }
    if moved_rows > 0 {
        let uncovered = if rows > 0 {
            height - moved_rows..height
        } else {
            0..moved_rows
        };
        let strip_target = RasterTarget {
            width,
            rows: target.rows.window(uncovered.clone()),
        };
        // A curve whose extent does not reach the strip lights none of it: the extent was
        // taken over the same columns.
        let (strip, strip_counts) = raster_curves(
            Points::Store(store, to),
            strip_target,
            styles,
            mode,
            |curve| pixels.may_reach(curve, &strip_target.rows),
            true,
        );
        // The strip's row 0 is not the picture's, where such a segment belongs.
        if strip.lit_row_zero {
            return None;
        }
        pixels.paste_rows(&strip, uncovered.start as usize);
        // The column strip visits every drawn curve, the row strip some of them: the curves
        // drawn are the larger count, not the sum.
        let curves = counts.curves.max(strip_counts.curves);
        counts = RasterCounts {
            curves,
            ..counts + strip_counts
        };
    }
    Some((pixels, counts))
}

/// Whether every sample the columns kept by a pan in x from `from` to `to` depend on keeps
/// its grid: the view's edges, and each drawn curve's samples beside the view.
fn columns_keep_their_grid(
    (from, to): (&PixelMap, &PixelMap),
    store: &CurveStore,
    width: u32,
    styles: &[CurveStyle],
) -> bool {
    let in_grid = [from, to]
        .iter()
        .all(|map| map.is_exact_at(0.0) && map.is_exact_at(width as f32));
    let drawn_curves: Vec<CurveId> = styles
        .iter()
        .enumerate()
        .filter(|(_, style)| in_base_layer(style))
        .map(|(curve, _)| curve as CurveId)
        .filter(|&curve| (curve as usize) < store.len())
        .collect();
    // In parallel: 10,000 curves' edges are a few binary searches each.
    in_grid
        && drawn_curves
            .par_iter()
            .all(|&curve| crate::curves::keeps_grid_beside_view(store, curve, to))
}

/// A picture's colours kept for the next pan (where it has highlighted curves, whose wide
/// lines cost far more than the rest): its composited pixels with those lines over them, and
/// whether every point of them lay near it ([`WIDE_LINES_NEAR_PX`]).
#[derive(Debug)]
pub struct KeptColours {
    pub rgba: Vec<u8>,
    lines_near: bool,
}

/// The colours of `pixels` ([`composite_base`] over transparent, [`draw_wide_lines`] over
/// that) for `to` and `target`, and what they drew; kept for the next pan.
pub fn colours(
    pixels: &BasePixels,
    (store, to, target): (&CurveStore, &PixelMap, RasterTarget),
    styles: &[CurveStyle],
    mode: BaseMode,
) -> (KeptColours, RasterCounts) {
    let mut rgba = composite_base(pixels, styles, mode, [0; 4]);
    let whole = Region::whole(target.width, target.rows.height_px);
    let (counts, lines_near) = draw_wide_lines_in(
        &mut rgba,
        Points::Store(store, to),
        target,
        styles,
        &[whole],
    );
    (KeptColours { rgba, lines_near }, counts)
}

/// [`colours`] of `pixels`, the base of a picture panned by (`columns`, `rows`) from
/// `earlier`'s ([`raster_panned`]), from `earlier`'s colours: those still in view moved, and
/// only the uncovered columns and rows (and a few columns inside each side edge, where the
/// points a wide line joins change with the view) composited and their highlighted curves
/// drawn. Each pixel is shaded from differences of exact positions, so it is the one drawn
/// afresh, byte for byte. `None` where that may not hold: density (its colours follow the
/// picture's largest count), highlighted points far beside the picture, or a picture too
/// large for the grid.
pub fn colours_panned(
    (earlier, from): (KeptColours, &PixelMap),
    (columns, rows): (i32, i32),
    pixels: &BasePixels,
    (store, to, target): (&CurveStore, &PixelMap, RasterTarget),
    styles: &[CurveStyle],
    mode: BaseMode,
) -> Option<(KeptColours, RasterCounts)> {
    let (width, height) = (target.width, target.rows.height_px);
    let (moved_columns, moved_rows) = (columns.unsigned_abs(), rows.unsigned_abs());
    // Every kept point within the margin before and after the pan keeps its grid.
    let near = WIDE_LINES_NEAR_PX;
    let span = |size: u32| (-near - size as f32, 2.0 * size as f32 + near);
    let (x_span, y_span) = (span(width), span(height));
    let in_grid = to.is_exact_at(x_span.0)
        && to.is_exact_at(x_span.1)
        && target.rows.is_exact_at(y_span.0)
        && target.rows.is_exact_at(y_span.1);
    if mode != BaseMode::Lines
        || !earlier.lines_near
        || !in_grid
        || width > 4_096
        || height > 4_096
        || moved_columns >= width
        || moved_rows >= height
        || earlier.rgba.len() != width as usize * height as usize * 4
    {
        return None;
    }
    let highlighted: Vec<usize> = styles
        .iter()
        .enumerate()
        .filter(|(_, style)| style.is_visible() && style.is_highlighted())
        .map(|(curve, _)| curve)
        .filter(|&curve| curve < store.len())
        .collect();
    // Each highlighted curve's points in the columns both views share are the same.
    let same_points = highlighted.iter().all(|&curve| {
        let curve = curve as CurveId;
        crate::curves::keeps_every_sample_in_view(store, curve, from)
            == crate::curves::keeps_every_sample_in_view(store, curve, to)
    });
    if !same_points {
        return None;
    }
    // A wide line's quad reaches this far beside its points.
    let reach = highlighted
        .iter()
        .map(|&curve| 0.5 * styles[curve].width_px + 1.0)
        .fold(0.0f32, f32::max);
    let edge = if moved_columns == 0 {
        0
    } else {
        reach.ceil() as u32 + 2
    };
    // Columns drawn afresh: the uncovered ones and `edge` beside them, and `edge` inside the
    // other side; the rest are kept.
    let (left, right) = if columns > 0 {
        (edge, moved_columns + edge)
    } else {
        (moved_columns + edge, edge)
    };
    if left + right >= width {
        return None;
    }
    let kept_columns = left..width - right;
    let mut rgba = shifted_rgba(&earlier.rgba, (width, height), (columns, rows));
    let uncovered_rows = if rows > 0 {
        0..moved_rows
    } else {
        height - moved_rows..height
    };
    let mut regions = vec![
        Region {
            columns: 0..left,
            rows: 0..height,
        },
        Region {
            columns: width - right..width,
            rows: 0..height,
        },
        Region {
            columns: kept_columns,
            rows: uncovered_rows,
        },
    ];
    regions.retain(|region| !region.columns.is_empty() && !region.rows.is_empty());
    for region in &regions {
        for row in region.rows.clone() {
            let at = row as usize * width as usize;
            let pixels_of_row =
                at + region.columns.start as usize..at + region.columns.end as usize;
            rgba[pixels_of_row.start * 4..pixels_of_row.end * 4].fill(0);
        }
        composite_lit(&mut rgba, pixels, styles, mode, [0; 4], region);
    }
    let (counts, lines_near) = draw_wide_lines_in(
        &mut rgba,
        Points::Store(store, to),
        target,
        styles,
        &regions,
    );
    Some((KeptColours { rgba, lines_near }, counts))
}

/// `rgba` (rows top to bottom) of a picture `width` × `height` moved `columns` to the left
/// and `rows` down (its view panned right and up by them), what it uncovers transparent.
fn shifted_rgba(rgba: &[u8], (width, height): (u32, u32), (columns, rows): (i32, i32)) -> Vec<u8> {
    let (width, height) = (width as usize, height as usize);
    let mut out = vec![0; rgba.len()];
    let (moved_columns, moved_rows) = (
        columns.unsigned_abs() as usize,
        rows.unsigned_abs() as usize,
    );
    let kept = width - moved_columns;
    let (from_column, to_column) = if columns > 0 {
        (moved_columns, 0)
    } else {
        (0, moved_columns)
    };
    for to_row in 0..height {
        // Image rows run top to bottom: a view panned up moves the picture down.
        let Some(from_row) = to_row
            .checked_sub(moved_rows)
            .filter(|_| rows > 0)
            .or_else(|| (rows <= 0).then_some(to_row + moved_rows))
            .filter(|&row| row < height)
        else {
            continue;
        };
        let from = (from_row * width + from_column) * 4;
        let to = (to_row * width + to_column) * 4;
        out[to..to + kept * 4].copy_from_slice(&rgba[from..from + kept * 4]);
    }
    out
}

/// `part`'s curves (curve, samples) of `points` drawn into `out`, one thread's share of
/// [`raster_points`]. Compiled for AVX2 and for SSE4.1 too, the widest the CPU runs chosen at
/// run time (x86-64's baseline, SSE2, has no unsigned 32-bit max, which every lit chunk
/// takes); the f32 arithmetic is the same in each (no fused multiply-add).
#[multiversion::multiversion(targets("x86_64+avx2", "x86_64+sse4.1"))]
fn draw_part<'a>(
    points: Points<'a>,
    target: RasterTarget,
    styles: &[CurveStyle],
    (part, only_reaching): (&[(usize, usize)], bool),
    out: &mut BasePixels,
) -> RasterCounts {
    let mut counts = RasterCounts {
        pixel_bytes: out.bytes(),
        ..RasterCounts::default()
    };
    let mut scratch = CurvePoints::default();
    let mut walk = Walk::default();
    let mut slices = Slices::default();
    for &(curve, _) in part {
        let Some((xs, ys)) = curve_points(points, curve, &mut scratch) else {
            continue;
        };
        walk.columns_hit.rows.extent = NO_EXTENT;
        let whole = Curve {
            xs,
            ys,
            gap_free: known_gap_free(points, curve),
            rows: target.rows,
            width: target.width as i32,
            height: target.rows.height_px as i32,
            key: (styles[curve].priority << 24) | (curve as u32 + 1),
        };
        if only_reaching && slices_reaching(&whole, &mut slices) {
            let parts = &slices.parts;
            counts.add_curve(points, curve, parts.iter().map(|part| part.len()).sum());
            for slice in parts {
                let part = Curve {
                    xs: &xs[slice.clone()],
                    ys: &ys[slice.clone()],
                    ..whole
                };
                part.draw(out, &mut walk);
            }
        } else {
            counts.add_curve(points, curve, xs.len());
            whole.draw(out, &mut walk);
        }
        let rows = &mut walk.columns_hit.rows;
        if rows.extent != NO_EXTENT {
            out.widen_extent(curve, rows.extent);
        }
        out.lit_row_zero |= std::mem::take(&mut rows.lit_row_zero);
    }
    counts
}

/// The parts of `curve` (points, as ranges) whose walk lights every pixel of its raster's
/// rows the whole curve's walk lights, and no other; `false` where its points are not in
/// order of x (then the whole curve is walked).
///
/// A column's rows span the lowest to the highest height of the segments in it; with points
/// in order of x those segments join up, so a row lit in a column lies within some segment
/// of that column's own heights. A segment whose heights (a row to spare for rounding) miss
/// the rows lights none of them; so each run of segments that may reach them is walked, from
/// the point before the first column it touches to the point after the last, so that every
/// segment of those columns is walked with them. A part's end columns hold no such segment
/// (they would be in it), so their partial walk lights none of the rows; parts that would
/// share a column are one, so no pixel is counted twice. A segment with a height that is not
/// finite may light row 0 wherever it lies, and is walked.
fn slices_reaching(curve: &Curve<'_>, slices: &mut Slices) -> bool {
    let Slices { parts, reaching } = slices;
    parts.clear();
    let (xs, ys) = (curve.xs, curve.ys);
    // A lone point has no segment, yet lights its pixel: walked whole.
    let Some(last) = xs.len().checked_sub(1).filter(|&last| last > 0) else {
        return false;
    };
    // Passes over the whole curve without an early exit, so that they vectorise.
    let (x0, x1) = (&xs[..last], &xs[1..]);
    if !x0
        .iter()
        .zip(x1)
        .fold(true, |sorted, (a, b)| sorted & (a <= b))
    {
        return false;
    }
    let lowest = curve.rows.bottom_row() - 1.0;
    let highest = curve.rows.bottom_row() + curve.height as f32 + 1.0;
    let (y0, y1) = (&ys[..last], &ys[1..]);
    reaching.clear();
    reaching.extend(y0.iter().zip(y1).map(|(&y0, &y1)| {
        let (h0, h1) = (curve.py(y0), curve.py(y1));
        !(h0.is_finite() && h1.is_finite()) || (h0.max(h1) >= lowest && h0.min(h1) <= highest)
    }));
    // The walk's column of a pixel x.
    let right = curve.width as f32;
    let column = |x: f32| floor_small(x.max(-1.0).min(right));
    let mut k = 0;
    while let Some(skipped) = reaching[k..].iter().position(|&reaches| reaches) {
        let first = k + skipped;
        k = reaching[first..]
            .iter()
            .position(|&reaches| !reaches)
            .map_or(last, |run| first + run);
        // Segments `first..k`: points `first..=k`, columns from `first`'s to `k`'s.
        let (first_column, last_column) = (column(xs[first]), column(xs[k]));
        let start = xs
            .partition_point(|&x| column(x) < first_column)
            .saturating_sub(1);
        let end = xs.partition_point(|&x| column(x) <= last_column).min(last);
        match parts.last_mut() {
            Some(earlier) if column(xs[start]) <= column(xs[earlier.end - 1]) => {
                earlier.end = end + 1;
            }
            _ => parts.push(start..end + 1),
        }
    }
    true
}

/// A thread's working memory for [`slices_reaching`]: the parts of a curve to walk, and
/// whether each segment may reach the rows.
#[derive(Default)]
struct Slices {
    parts: Vec<std::ops::Range<usize>>,
    reaching: Vec<bool>,
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

/// A unit float to a byte, rounding to nearest (NaN: 0): `(v.clamp(0.0, 1.0) * 255.0 + 0.5)
/// as u8`, in float adds and compares that vectorise (a saturating cast is a scalar
/// conversion and fix-ups per value).
#[inline(always)]
#[expect(
    clippy::manual_clamp,
    reason = "clamp keeps NaN, which this rounds to 0"
)]
fn unorm8(v: f32) -> u8 {
    // `max` takes the number of the two where one is NaN; the sum lies in 0.5..=255.5.
    floor_small(v.max(0.0).min(1.0) * 255.0 + 0.5) as u8
}

/// A byte as a unit float (`f32::from(byte) / 255.0`), as the GPU reads an 8-bit target.
#[inline(always)]
fn unit_of_byte(byte: u8) -> f32 {
    f32::from(byte) / 255.0
}

/// `v` stored in an 8-bit target and read back.
#[inline(always)]
fn through_byte(v: f32) -> f32 {
    unit_of_byte(unorm8(v))
}

/// One channel of `src` over `dst` given the source's alpha, both already through a byte.
#[inline(always)]
fn over(src: f32, dst: f32, src_alpha: f32) -> u8 {
    unorm8(src + dst * (1.0 - src_alpha))
}

/// [`over`] on the bytes themselves (`src`, `dst`, `src_alpha` in 0..=255): `src + dst ·
/// (255 − src_alpha) / 255`, rounded. The fractions that sum can take are whole 255ths, never
/// a half and far from one beside the float arithmetic's error, so it is `over` exactly
/// (tested on every triple of bytes), without a division per channel and pixel.
#[inline(always)]
fn over_bytes(src: u32, dst: u32, src_alpha: u32) -> u32 {
    (src + (dst * (255 - src_alpha) + 127) / 255).min(255)
}

/// `src` (premultiplied) over `dst` as the GPU blends into an 8-bit target: the fragment's
/// output is stored as bytes before the blend (`src + dst · (1 − src_a)`).
#[inline(always)]
fn blend_over(src: [f32; 4], dst: [f32; 4]) -> [u8; 4] {
    let src = src.map(through_byte);
    std::array::from_fn(|c| over(src[c], dst[c], src[3]))
}

/// Columns and image rows (top to bottom) of a picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub columns: std::ops::Range<u32>,
    pub rows: std::ops::Range<u32>,
}

impl Region {
    /// The whole of a picture `width` × `height`.
    pub fn whole(width: u32, height: u32) -> Self {
        Self {
            columns: 0..width,
            rows: 0..height,
        }
    }
}

/// The highlighted curves over `rgba` (premultiplied, rows top to bottom, `target`'s size) as
/// `wide_lines.wgsl` draws them: per segment, in curve order, the pixels whose centres fall in
/// the shader's quad get its distance-based coverage, blended as the GPU blends. The GPU
/// interpolates the pixel position across the quad where this takes the exact centre, so a
/// pixel at the line's antialiased edge may differ by one step of 255. Returns what it drew.
pub fn draw_wide_lines(
    rgba: &mut [u8],
    points: Points<'_>,
    target: RasterTarget,
    styles: &[CurveStyle],
) -> RasterCounts {
    let whole = Region::whole(target.width, target.rows.height_px);
    draw_wide_lines_in(rgba, points, target, styles, &[whole]).0
}

/// How far beside a picture, in pixels, every point of its highlighted curves must lie for a
/// pan to keep their pixels: within it, every point's pixel position and each difference the
/// shading takes of them are exact before and after any pan within the picture's size, so a
/// kept pixel is the one drawn afresh ([`colours_panned`]).
const WIDE_LINES_NEAR_PX: f32 = 2_048.0;

/// [`draw_wide_lines`] over `regions` only (disjoint; the pixels outside them untouched), the
/// points turned into pixels once for all of them, and whether every highlighted point lies
/// within [`WIDE_LINES_NEAR_PX`] of the picture.
fn draw_wide_lines_in(
    rgba: &mut [u8],
    points: Points<'_>,
    target: RasterTarget,
    styles: &[CurveStyle],
    regions: &[Region],
) -> (RasterCounts, bool) {
    let (width, height) = (target.width, target.rows.height_px);
    // `wide_lines.wgsl`'s `to_pixel` for a raster drawn at its own view (no stretch).
    let to_pixel = |x: f32, y: f32| [x, height as f32 - target.rows.py(y)];
    let near_box = (
        -WIDE_LINES_NEAR_PX..=width as f32 + WIDE_LINES_NEAR_PX,
        -WIDE_LINES_NEAR_PX..=height as f32 + WIDE_LINES_NEAR_PX,
    );
    // Every highlighted curve in pixels first (`None`: a gap), in drawing order (by
    // priority, then curve: a selected curve over the others' lines), in parallel (on one
    // thread this was a fifth of drawing them), with what it adds to the counts and whether
    // it lies near the picture.
    let mut highlighted: Vec<usize> = (styles.iter().enumerate())
        .filter(|(_, style)| style.is_visible() && style.is_highlighted())
        .map(|(curve, _)| curve)
        .collect();
    highlighted.sort_by_key(|&curve| styles[curve].priority);
    type Line = (WideLine, Vec<Option<[f32; 2]>>);
    let drawn: Vec<(Line, RasterCounts, bool)> = highlighted
        .par_iter()
        .map_init(CurvePoints::default, |scratch, &curve| {
            let (xs, ys) = curve_points(points, curve, scratch)?;
            let mut counts = RasterCounts::default();
            counts.add_curve(points, curve, xs.len());
            let style = &styles[curve];
            let line = WideLine {
                colour: style.rgba.to_le_bytes().map(|c| f32::from(c) / 255.0),
                half_width: 0.5 * style.width_px,
            };
            let pixels: Vec<Option<[f32; 2]>> = xs
                .iter()
                .zip(ys)
                .map(|(&x, &y)| (!is_gap(y)).then(|| to_pixel(x, y)))
                .collect();
            let near = pixels
                .iter()
                .flatten()
                .all(|[x, y]| near_box.0.contains(x) && near_box.1.contains(y));
            Some(((line, pixels), counts, near))
        })
        .flatten()
        .collect();
    let (mut counts, mut near) = (RasterCounts::default(), true);
    let mut lines: Vec<Line> = Vec::with_capacity(drawn.len());
    for (line, curve_counts, curve_near) in drawn {
        counts = counts + curve_counts;
        near &= curve_near;
        lines.push(line);
    }
    if lines.is_empty() || width == 0 {
        return (counts, near);
    }
    for region in regions {
        draw_lines_over(rgba, &lines, (width, height), region);
    }
    (counts, near)
}

/// `lines` (in pixels, `None`: a gap) over `region` of `rgba`, a picture of `size`.
fn draw_lines_over(
    rgba: &mut [u8],
    lines: &[(WideLine, Vec<Option<[f32; 2]>>)],
    (width, height): (u32, u32),
    region: &Region,
) {
    if region.columns.is_empty() || region.rows.is_empty() {
        return;
    }
    // Then tiles in parallel, each drawing its segments over its own pixels: a pixel gets
    // the same blends in the same order as drawn in one piece, whatever the split (a few
    // thousand highlighted curves took seconds on one thread). Segments are sorted into the
    // tiles they may touch first, in drawing order, so a tile reads only its own. Tiles are
    // bands of rows split into blocks of columns: lines often crowd into a few rows (a
    // quarter of the demo's segments lie in one band).
    let row_bytes = width as usize * 4;
    let bands = (height as usize).div_ceil(BAND_ROWS);
    let blocks = (width as usize).div_ceil(TILE_COLUMNS);
    // The tiles (of `size` pixels) holding pixels `lo - margin..=hi + margin` of `within`.
    let tiles = |(lo, hi): (f32, f32), margin: f32, size: usize, within: &std::ops::Range<u32>| {
        let (lo, hi) = (
            (lo - margin).max(within.start as f32),
            (hi + margin).min(within.end as f32),
        );
        if lo >= hi {
            return 0..0;
        }
        lo as usize / size..(hi as usize / size + 1).min((within.end as usize).div_ceil(size))
    };
    // Sorted in parallel too, a share of the lines each into tiles of its own (one thread
    // sorting was a fifth of the time): a tile reads the shares' segments in share order.
    let share_lines = lines
        .len()
        .div_ceil(rayon::current_num_threads() * 4)
        .max(1);
    let shares: Vec<Vec<Vec<(u32, u32)>>> = (lines.par_chunks(share_lines).enumerate())
        .map(|(share, share_of_lines)| {
            let mut in_tile: Vec<Vec<(u32, u32)>> = vec![Vec::new(); bands * blocks];
            for (offset, (line, points)) in share_of_lines.iter().enumerate() {
                let line_index = (share * share_lines + offset) as u32;
                for (k, pair) in points.windows(2).enumerate() {
                    let [Some(a), Some(b)] = *pair else { continue };
                    let margin = line.margin((a, b));
                    let extent = |axis: usize| (a[axis].min(b[axis]), a[axis].max(b[axis]));
                    let columns = tiles(extent(0), margin, TILE_COLUMNS, &region.columns);
                    if columns.is_empty() {
                        continue;
                    }
                    for band in tiles(extent(1), margin, BAND_ROWS, &region.rows) {
                        let band_tiles = in_tile.get_mut(band * blocks..(band + 1) * blocks);
                        let Some(in_band) =
                            band_tiles.and_then(|tiles| tiles.get_mut(columns.clone()))
                        else {
                            continue;
                        };
                        for segments in in_band {
                            segments.push((line_index, k as u32));
                        }
                    }
                }
            }
            in_tile
        })
        .collect();
    // Each tile drawn into a copy of its pixels, copied back once all are drawn.
    let tile_of = |index: usize| {
        let (band, block) = (index / blocks, index % blocks);
        let columns = block * TILE_COLUMNS..((block + 1) * TILE_COLUMNS).min(width as usize);
        let rows = band * BAND_ROWS..((band + 1) * BAND_ROWS).min(height as usize);
        (columns, rows)
    };
    let drawn: Vec<(usize, Vec<u8>)> = (0..bands * blocks)
        .into_par_iter()
        .filter(|&index| shares.iter().any(|in_tile| !in_tile[index].is_empty()))
        .map(|index| {
            let (columns, rows) = tile_of(index);
            let stride = tile_stride(&columns);
            let mut tile_pixels = vec![0; rows.len() * stride * 4];
            let tile_rows = tile_pixels.chunks_mut(stride * 4);
            for (tile_row, row) in tile_rows.zip(rgba.chunks(row_bytes).skip(rows.start)) {
                tile_row[..columns.len() * 4]
                    .copy_from_slice(&row[columns.start * 4..columns.end * 4]);
            }
            let clip = Region {
                columns: (columns.start as u32).max(region.columns.start)
                    ..(columns.end as u32).min(region.columns.end),
                rows: (rows.start as u32).max(region.rows.start)
                    ..(rows.end as u32).min(region.rows.end),
            };
            let tile = Tile {
                pixels: &mut tile_pixels,
                first_column: columns.start as u32,
                first_row: rows.start as u32,
                stride: stride as u32,
            };
            let segments = shares.iter().map(|in_tile| in_tile[index].as_slice());
            draw_tile(tile, (width, height), &clip, lines, segments);
            (index, tile_pixels)
        })
        .collect();
    for (index, tile_pixels) in drawn {
        let (columns, rows) = tile_of(index);
        let tile_rows = tile_pixels.chunks(tile_stride(&columns) * 4);
        for (row, tile_row) in rgba.chunks_mut(row_bytes).skip(rows.start).zip(tile_rows) {
            row[columns.start * 4..columns.end * 4].copy_from_slice(&tile_row[..columns.len() * 4]);
        }
    }
}

/// Pixels from one row's start to the next in a tile copy of `columns`: [`Tile::stride`].
fn tile_stride(columns: &std::ops::Range<usize>) -> usize {
    columns.len() + QUAD - 1
}

/// Part of a picture a thread draws wide lines into: its pixels (RGBA8, rows top to bottom,
/// `width` columns each) and where they lie in the picture.
struct Tile<'a> {
    pixels: &'a mut [u8],
    first_column: u32,
    first_row: u32,
    /// Pixels from one row's start to the next's: the tile's width and [`QUAD`] − 1 more,
    /// which a quad at the row's end reads and writes back as they were.
    stride: u32,
}

impl Tile<'_> {
    /// Where pixel (`column`, `row`) of the picture (within the tile) starts in `pixels`.
    #[inline(always)]
    fn byte_at(&self, column: u32, row: u32) -> usize {
        ((row - self.first_row) as usize * self.stride as usize
            + (column - self.first_column) as usize)
            * 4
    }
}

/// The `segments` (line, segment) of `lines` that touch `tile` (of a picture of `size`), in
/// order, over `clip` only. Compiled for AVX2 and SSE4.1 too, the widest the CPU runs chosen
/// at run time (SSE4.1 rounds and converts without calls and fix-ups); the f32 arithmetic is
/// the same in each (no fused multiply-add).
#[multiversion::multiversion(targets("x86_64+avx2", "x86_64+sse4.1"))]
fn draw_tile<'a, 's>(
    mut tile: Tile<'a>,
    size: (u32, u32),
    clip: &Region,
    lines: &[(WideLine, Vec<Option<[f32; 2]>>)],
    segments: impl Iterator<Item = &'s [(u32, u32)]>,
) {
    for &(line_index, k) in segments.flatten() {
        let (line, points) = &lines[line_index as usize];
        if let (Some(a), Some(b)) = (points[k as usize], points[k as usize + 1]) {
            line.segment(&mut tile, size, clip, (a, b));
        }
    }
}

/// Columns per tile of [`draw_wide_lines`].
const TILE_COLUMNS: usize = 256;

/// Rows per tile of [`draw_wide_lines`]: with [`TILE_COLUMNS`], enough tiles to share out a
/// frame's lines, which often crowd into a few rows.
const BAND_ROWS: usize = 32;

/// One highlighted curve's look: its colour (unit floats, straight alpha) and half its width
/// in pixels.
struct WideLine {
    colour: [f32; 4],
    half_width: f32,
}

impl WideLine {
    /// How far beside its ends `a` and `b`, in either axis, the pixels a segment covers
    /// lie: their centres are nearer the segment than [`Self::covered_bound`], so nearer
    /// its ends' box in either axis, half a pixel more for where a pixel starts (its
    /// pixels are tested against half a pixel less); a degenerate segment's (`a` ≈ `b`),
    /// within its quad's 2 · reach, a pixel to spare.
    fn margin(&self, (a, b): ([f32; 2], [f32; 2])) -> f32 {
        // Within 1e-5 in all is well beyond `segment`'s degenerate length of 1e-6.
        if (b[0] - a[0]).abs() + (b[1] - a[1]).abs() <= 1e-5 {
            2.0 * (self.half_width + 1.0) + 1.0
        } else {
            self.covered_bound() + 0.5
        }
    }

    /// How far from a segment the pixels it covers at all lie: nearer than
    /// `half_width + 0.5`, a sixteenth of a pixel to spare for rounding.
    fn covered_bound(&self) -> f32 {
        self.half_width + 0.5 + 1.0 / 16.0
    }

    /// How segment `a` → `b` (viewport pixels, y down) shades a pixel (`shade` of
    /// `wide_lines.wgsl`), with its unit direction and length (clamped below at 1e-6); `None`
    /// where it has no finite direction.
    #[inline(always)]
    fn shading(&self, (a, b): ([f32; 2], [f32; 2])) -> Option<(Shading, [f32; 2], f32)> {
        let WideLine { colour, half_width } = *self;
        let reach = half_width + 1.0;
        let ab = [b[0] - a[0], b[1] - a[1]];
        let length = (ab[0] * ab[0] + ab[1] * ab[1]).sqrt().max(1e-6);
        let along = [ab[0] / length, ab[1] / length];
        let scale = along[0] * along[0] + along[1] * along[1];
        if scale == 0.0 || !scale.is_finite() {
            return None;
        }
        // The quad (from `a`: `start` back along the segment, `span` long, ± `reach` across
        // it), which the pixels of a segment shorter than the clamp on `length` (no unit
        // direction: a quad of next to nothing) must lie in (worked out for those only).
        let quad = || {
            let start = [-along[0] * reach, -along[1] * reach];
            let end = [ab[0] + along[0] * reach, ab[1] + along[1] * reach];
            let span = ((end[0] - start[0]) * along[0] + (end[1] - start[1]) * along[1]) / scale;
            SegmentQuad {
                start,
                along,
                across: [-along[1], along[0]],
                scale,
                span,
                reach,
            }
        };
        let shading = Shading {
            colour,
            half_width,
            a_x: a[0],
            ab,
            ab_squared: (ab[0] * ab[0] + ab[1] * ab[1]).max(1e-12),
            degenerate: (length <= 1e-6).then(quad),
        };
        Some((shading, along, length))
    }

    /// One segment `a` → `b` (viewport pixels, y down) over `clip` of the picture (`size`),
    /// into `tile`, which holds `clip`: `expand` and `shade` of `wide_lines.wgsl`.
    /// Each pixel is shaded from its position relative to `a` and from `b - a` (differences
    /// that a pan by whole pixels leaves as they are), so a kept pixel is the one drawn
    /// afresh.
    #[inline(always)]
    fn segment(
        &self,
        tile: &mut Tile<'_>,
        (width, height): (u32, u32),
        clip: &Region,
        (a, b): ([f32; 2], [f32; 2]),
    ) {
        let Some((shading, along, length)) = self.shading((a, b)) else {
            return;
        };
        let across = [-along[1], along[0]];
        // Only pixels nearer the segment than `half_width + 0.5` are covered at all: the work
        // is bounded by the box around that capsule (its ends' box, `bound` wider each way: a
        // sixteenth of a pixel to spare for rounding), not by the whole quad the GPU shades
        // (half of whose pixels it covers with nothing), and needs no test against the quad.
        // A degenerate segment's pixels are tested against its quad as well, within the box.
        let degenerate = shading.degenerate.is_some();
        let bound = self.covered_bound();
        let (box_lo, box_hi) = (
            [a[0].min(b[0]) - bound, a[1].min(b[1]) - bound],
            [a[0].max(b[0]) + bound, a[1].max(b[1]) + bound],
        );
        // The pixels whose centres lie in the box, within `within`.
        let extent = |axis: usize, within: &std::ops::Range<u32>| {
            (
                (box_lo[axis] - 0.5).ceil().max(within.start as f32),
                ((box_hi[axis] - 0.5).floor() + 1.0).min(within.end as f32),
            )
        };
        let columns = clip.columns.start..clip.columns.end.min(width);
        let ((x_lo, x_hi), (y_lo, y_hi)) = (
            extent(0, &columns),
            extent(1, &(clip.rows.start..clip.rows.end.min(height))),
        );
        if !(x_lo < x_hi && y_lo < y_hi) {
            return;
        }
        // The pixels it may cover are gathered a row's quads at a time and shaded together.
        let mut batch = QuadBatch::default();
        let rows = y_lo as u32..y_hi as u32;
        // The row's centre relative to `a`.
        let p_y_of = |row: u32| row as f32 + 0.5 - a[1];
        // Where the box is no wider than a quad (most segments of a dense view: steep and
        // short), each row is one quad of all its columns: no narrower bound to find.
        if x_hi - x_lo <= QUAD as f32 {
            let (first, count) = (x_lo as u32, (x_hi - x_lo) as u32);
            for row in rows {
                if batch.push(tile.byte_at(first, row), first, p_y_of(row), count) {
                    shading.shade(tile.pixels, &batch);
                    batch.len = 0;
                }
            }
        } else {
            // Per row, the columns of the rectangle around the capsule: where the row's centre
            // line lies within both its slabs, across the segment (`|across · p| ≤ bound`) and along it
            // (`-bound ≤ along · p ≤ length + bound`), `p` relative to `a`. A slab parallel
            // to the rows bounds only the rows, as the extent above does already. The
            // shading decides (a pixel it does not cover keeps its bytes); this only bounds
            // the work.
            let slab = |normal: [f32; 2], low: f32, high: f32| {
                let per_x = 1.0 / normal[0];
                move |p_y: f32| {
                    if normal[0] == 0.0 || degenerate {
                        return (f32::NEG_INFINITY, f32::INFINITY);
                    }
                    let (one, other) = (
                        (low - normal[1] * p_y) * per_x,
                        (high - normal[1] * p_y) * per_x,
                    );
                    (one.min(other), one.max(other))
                }
            };
            let (across_slab, along_slab) = (
                slab(across, -bound, bound),
                slab(along, -bound, length + bound),
            );
            for row in rows {
                let p_y = p_y_of(row);
                let ((lo_1, hi_1), (lo_2, hi_2)) = (across_slab(p_y), along_slab(p_y));
                let (left, right) = (a[0] + lo_1.max(lo_2), a[0] + hi_1.min(hi_2));
                // NaN (no row crossing found): nothing to draw in this row.
                if left
                    .partial_cmp(&right)
                    .is_none_or(std::cmp::Ordering::is_gt)
                {
                    continue;
                }
                let first = (left - 0.5).ceil().max(x_lo) as u32;
                let last = ((right - 0.5).floor() + 1.0).min(x_hi) as u32;
                // The row's columns `first..last`, [`QUAD`] at a time.
                for column in (first..last).step_by(QUAD) {
                    let count = (last - column).min(QUAD as u32);
                    if batch.push(tile.byte_at(column, row), column, p_y, count) {
                        shading.shade(tile.pixels, &batch);
                        batch.len = 0;
                    }
                }
            }
        }
        if batch.len > 0 {
            shading.shade(tile.pixels, &batch);
        }
    }
}

/// What [`WideLine::segment`] shades each pixel with: the line's colour and half width, the
/// segment (its start's x, `b - a` and its squared length), and for a degenerate segment
/// the quad its pixels must lie in.
struct Shading {
    colour: [f32; 4],
    half_width: f32,
    a_x: f32,
    ab: [f32; 2],
    ab_squared: f32,
    degenerate: Option<SegmentQuad>,
}

/// The quad `wide_lines.wgsl` expands a segment into, relative to its start: `span` long
/// from `start` along the segment, ± `reach` across it (`scale`: the direction's squared
/// length).
struct SegmentQuad {
    start: [f32; 2],
    along: [f32; 2],
    across: [f32; 2],
    scale: f32,
    span: f32,
    reach: f32,
}

impl SegmentQuad {
    /// Whether the quad holds `p` (relative to the segment's start).
    #[inline(always)]
    fn holds(&self, p: [f32; 2]) -> bool {
        let (along, across) = (self.along, self.across);
        let rel = [p[0] - self.start[0], p[1] - self.start[1]];
        let u = (rel[0] * along[0] + rel[1] * along[1]) / self.scale;
        let v = (rel[0] * across[0] + rel[1] * across[1]) / self.scale;
        (0.0..=self.span).contains(&u) && v.abs() <= self.reach
    }
}

impl Shading {
    /// `shade` and the blend over the `batch`'s pixels of the tile's `pixels`.
    #[inline(always)]
    fn shade(&self, pixels: &mut [u8], batch: &QuadBatch) {
        let Shading {
            colour,
            half_width,
            a_x,
            ab,
            ab_squared,
            ref degenerate,
        } = *self;
        // What each quad's pixels hold, four bytes as one word (a padding quad: nothing,
        // never written): a lane's channels are then taken apart in vectors.
        let mut held = [0u32; LANES];
        for (quad, &at) in batch.at.iter().enumerate().take(batch.len) {
            if let Some(bytes) = pixels.get(at..at + QUAD * 4) {
                for (word, pixel) in held[quad * QUAD..][..QUAD]
                    .iter_mut()
                    .zip(bytes.chunks_exact(4))
                {
                    *word = u32::from_le_bytes([pixel[0], pixel[1], pixel[2], pixel[3]]);
                }
            }
        }
        // Each lane's pixel centre relative to `a`: the column as a float is exact, so this
        // is `column as f32 + 0.5 - a_x` of the pixel itself.
        let lane_p = |lane: usize| {
            let (quad, offset) = (lane / QUAD, lane % QUAD);
            [
                batch.column[quad] + offset as f32 + 0.5 - a_x,
                batch.p_y[quad],
            ]
        };
        // Lanes past a quad's columns keep their pixel; so do a degenerate segment's
        // pixels outside its quad.
        let mut drawn: [bool; LANES] =
            std::array::from_fn(|lane| (lane % QUAD) < batch.count[lane / QUAD] as usize);
        if let Some(quad) = degenerate {
            for (lane, drawn) in drawn.iter_mut().enumerate() {
                *drawn &= quad.holds(lane_p(lane));
            }
        }
        // `shade` and the blend, lane by lane with no branch, so that it vectorises. A pixel
        // the line does not cover blends nothing over itself, which keeps every byte.
        let mut blended = [0u32; LANES];
        for (lane, out) in blended.iter_mut().enumerate() {
            let p = lane_p(lane);
            let t = ((p[0] * ab[0] + p[1] * ab[1]) / ab_squared).clamp(0.0, 1.0);
            let off = [p[0] - ab[0] * t, p[1] - ab[1] * t];
            let distance = (off[0] * off[0] + off[1] * off[1]).sqrt();
            let coverage = (half_width + 0.5 - distance).clamp(0.0, 1.0);
            let alpha = colour[3] * coverage;
            let src_alpha = u32::from(unorm8(alpha));
            let channel = |channel: u32| {
                let src = match channel {
                    3 => src_alpha,
                    _ => u32::from(unorm8(colour[channel as usize] * alpha)),
                };
                let dst = (held[lane] >> (8 * channel)) & 0xff;
                over_bytes(src, dst, src_alpha) << (8 * channel)
            };
            let word = channel(0) | channel(1) | channel(2) | channel(3);
            *out = if drawn[lane] { word } else { held[lane] };
        }
        for (quad, &at) in batch.at.iter().enumerate().take(batch.len) {
            if let Some(bytes) = pixels.get_mut(at..at + QUAD * 4) {
                for (pixel, word) in bytes.chunks_exact_mut(4).zip(&blended[quad * QUAD..]) {
                    pixel.copy_from_slice(&word.to_le_bytes());
                }
            }
        }
    }
}

/// Pixels shaded at once by [`Shading::shade`]: the widest vectors the wide lines are
/// compiled for (AVX2) hold eight f32.
const LANES: usize = 8;

/// Pixels of one row [`Shading::shade`] reads and writes as one: a segment's rows are
/// mostly two to four pixels wide.
const QUAD: usize = 4;

/// Quads shaded at once.
const QUADS: usize = LANES / QUAD;

/// Up to [`QUADS`] runs of a row's pixels a segment may cover (`len` of them), each of up to
/// [`QUAD`] pixels: the byte offset of its first in the tile, that pixel's column (as a
/// float) and its row's centre relative to the segment's start, and how many of its
/// [`QUAD`] pixels are the segment's.
#[derive(Default)]
struct QuadBatch {
    at: [usize; QUADS],
    column: [f32; QUADS],
    p_y: [f32; QUADS],
    count: [u32; QUADS],
    len: usize,
}

impl QuadBatch {
    /// One more quad: `count` pixels from `column` (its first at byte `at`) of the row at
    /// `p_y`. Whether the batch is full (to be shaded and emptied).
    #[inline(always)]
    fn push(&mut self, at: usize, column: u32, p_y: f32, count: u32) -> bool {
        let quad = self.len;
        self.at[quad] = at;
        self.column[quad] = column as f32;
        self.p_y[quad] = p_y;
        self.count[quad] = count;
        self.len += 1;
        self.len == QUADS
    }
}

/// The base layer in colour over `background` (`composite.wgsl`; RGBA8, rows top to bottom),
/// premultiplied output blended over it as egui and the GPU blend (`src + dst · (1 − src_a)`):
/// each lit pixel's colour from its topmost curve's style and the curves lighting it (lines),
/// or from that count alone (density).
///
/// A pixel's colour depends only on (curve, hits) for lines and on hits for density, so it
/// is worked out once per curve (one curve lighting it: every lit pixel of opaque lines) or
/// per count and looked up per pixel; the pixels are read a band's chunk at a time, as they
/// are kept, and a chunk no curve lights is skipped whole.
pub fn composite_base(
    pixels: &BasePixels,
    styles: &[CurveStyle],
    mode: BaseMode,
    background: [u8; 4],
) -> Vec<u8> {
    let mut rgba = background.repeat(pixels.width as usize * pixels.height as usize);
    let whole = Region::whole(pixels.width, pixels.height);
    composite_lit(&mut rgba, pixels, styles, mode, background, &whole);
    rgba
}

/// [`composite_base`]'s colour of each lit pixel of `region` written into `rgba` (the others
/// left as they are: the background already).
fn composite_lit(
    rgba: &mut [u8],
    pixels: &BasePixels,
    styles: &[CurveStyle],
    mode: BaseMode,
    background: [u8; 4],
    region: &Region,
) {
    let (width, height) = (pixels.width as usize, pixels.height as usize);
    let max_hits = pixels.max_hits().max(1);
    let top = (1.0 + max_hits as f32).ln();
    let dst: [f32; 4] = background.map(|c| f32::from(c) / 255.0);
    // The shader's colour of a pixel lit by `hits` curves, `key` topmost.
    let colour = |key: u32, hits: u32| -> [u8; 4] {
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
                // `powf(x, 1.0)` is `x` exactly.
                let uncovered = match hits {
                    1 => 1.0 - a,
                    _ => (1.0 - a).powf(hits as f32),
                };
                let coverage = 1.0 - uncovered;
                [r * coverage, g * coverage, b * coverage, coverage]
            }
        };
        blend_over(src, dst)
    };
    // Per curve, its colour where it alone lights a pixel (lines); per count (density).
    let by_curve: Vec<[u8; 4]> = match mode {
        BaseMode::Lines => (0..styles.len() as u32)
            .map(|curve| colour(curve + 1, 1))
            .collect(),
        BaseMode::Density => Vec::new(),
    };
    let by_hits: Vec<[u8; 4]> = match mode {
        BaseMode::Density if max_hits <= DENSITY_TABLE_MAX => {
            (0..=max_hits).map(|hits| colour(1, hits)).collect()
        }
        _ => Vec::new(),
    };
    let lookup = |key: u32, hits: u32| -> [u8; 4] {
        let table = match mode {
            BaseMode::Lines if hits == 1 => by_curve.get(((key & 0x00ff_ffff) - 1) as usize),
            BaseMode::Density => by_hits.get(hits as usize),
            BaseMode::Lines => None,
        };
        table.copied().unwrap_or_else(|| colour(key, hits))
    };
    let band_bytes = ROW_CHUNK * width * 4;
    let (columns, image_rows) = (
        region.columns.start as usize..(region.columns.end as usize).min(width),
        region.rows.start as usize..(region.rows.end as usize).min(height),
    );
    // Bands from the bottom: image rows run top to bottom, so the bottom band is the last
    // chunk (and the top one may be short).
    rgba[..width * height * 4]
        .par_rchunks_mut(band_bytes)
        .enumerate()
        .for_each(|(band, band_rgba)| {
            let rows = band_rgba.len() / (width * 4);
            // Image rows of this band: the bottom band's are the last.
            let first_row = height - band * ROW_CHUNK - rows;
            if first_row + rows <= image_rows.start || first_row >= image_rows.end {
                return;
            }
            let band_start = band * width * ROW_CHUNK;
            let keys = &pixels.keys[band_start..band_start + width * ROW_CHUNK];
            let hits = pixels
                .counted
                .then(|| &pixels.hits[band_start..band_start + width * ROW_CHUNK]);
            let chunks = keys.chunks_exact(ROW_CHUNK).enumerate();
            for (column, chunk) in chunks.skip(columns.start).take(columns.len()) {
                if chunk.iter().fold(0, |any, &key| any | key) == 0 {
                    continue;
                }
                for (lane, &key) in chunk.iter().enumerate().take(rows) {
                    // Lane 0 is the band's bottom row: the chunk's last image row.
                    let row = rows - 1 - lane;
                    if key == 0 || !image_rows.contains(&(first_row + row)) {
                        continue;
                    }
                    let count = hits.map_or(1, |hits| hits[column * ROW_CHUNK + lane]);
                    let at = (row * width + column) * 4;
                    band_rgba[at..at + 4].copy_from_slice(&lookup(key, count));
                }
            }
        });
}

/// The largest count the density colours are tabulated for (beyond it, each pixel's is
/// worked out).
const DENSITY_TABLE_MAX: u32 = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::decimate::test_curves::{
        curve_strategy, dense_curve_strategy, store_of, view_of,
    };
    use crate::curves::{Raster, RowMap, all_points, decimate_m4};
    use proptest::prelude::*;

    #[test]
    fn curves_are_split_into_runs_of_about_equal_samples() {
        // Half the curves long, half short: the long ones are not all one thread's.
        let curves: Vec<(usize, usize)> = (0..100)
            .map(|id| (id, if id < 50 { 1_000 } else { 10 }))
            .collect();
        let runs = split_evenly(&curves, 2);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs.concat(), curves, "every curve once, in order");
        let samples = |run: &[(usize, usize)]| run.iter().map(|c| c.1).sum::<usize>();
        let (a, b) = (samples(runs[0]), samples(runs[1]));
        // Each run is off its share by less than one curve.
        assert!(a.abs_diff(b) <= 2 * 1_000, "{a} and {b} samples");
        assert!(a.min(b) > 20_000, "{a} and {b} samples");
        assert_eq!(split_evenly(&[], 4).concat(), Vec::<(usize, usize)>::new());
        assert_eq!(split_evenly(&curves[..1], 4).concat(), curves[..1].to_vec());
    }

    /// Where highlighted curves cross, the one of higher priority (a selected curve) is on
    /// top, whatever the curves' order: wide lines are drawn by priority, then curve.
    #[test]
    fn a_wide_line_of_higher_priority_is_drawn_over_the_others() {
        let (selected, failed) = ([20, 200, 40, 255], [220, 30, 30, 255]);
        let decimated = Decimated {
            x_px: vec![0.0, 10.0, 0.0, 10.0],
            y: vec![0.0, 10.0, 10.0, 0.0],
            ranges: vec![(0, 2), (2, 2)],
        };
        let styles = [
            CurveStyle::line(selected).with_priority(2).highlighted(3.0),
            CurveStyle::line(failed).with_priority(1).highlighted(3.0),
        ];
        let target = RasterTarget {
            width: 10,
            rows: RowMap::new(0.0, 10.0, 10),
        };
        let mut rgba = vec![0u8; 10 * 10 * 4];
        draw_wide_lines(&mut rgba, Points::Decimated(&decimated), target, &styles);
        // The pixels around the crossing, at (5, 5) in pixels: each fully covered by both.
        for (column, row) in [(4, 4), (5, 4), (4, 5), (5, 5)] {
            let at = (row * 10 + column) * 4;
            assert_eq!(rgba[at..at + 4], selected, "pixel ({column}, {row})");
        }
    }

    /// What lets `Shading::shade` write back the pixels of a run a line does not cover:
    /// blending nothing keeps a byte; and an opaque source replaces it, whatever was there.
    #[test]
    fn blending_nothing_keeps_every_byte_and_an_opaque_source_replaces_it() {
        for byte in 0..=255u8 {
            let dst = [f32::from(byte) / 255.0; 4];
            assert_eq!(blend_over([0.0; 4], dst), [byte; 4]);
            let colour = [0.2, f32::from(byte) / 255.0, 0.9, 1.0];
            assert_eq!(blend_over(colour, dst), blend_over(colour, [0.0; 4]));
        }
    }

    /// The wide lines' blend on bytes is the float one, for every source, destination and
    /// source alpha.
    #[test]
    fn blending_bytes_is_blending_their_floats() {
        for src_alpha in 0..=255u8 {
            for src in 0..=255u8 {
                for dst in 0..=255u8 {
                    let floats = over(
                        unit_of_byte(src),
                        unit_of_byte(dst),
                        unit_of_byte(src_alpha),
                    );
                    let bytes = over_bytes(src.into(), dst.into(), src_alpha.into());
                    assert_eq!(
                        u32::from(floats),
                        bytes,
                        "{src} over {dst}, alpha {src_alpha}"
                    );
                }
            }
        }
    }

    /// `unorm8` is the saturating cast it replaces, for every unit float, NaN and the
    /// infinities, and around each byte's rounding edge.
    #[test]
    fn unorm8_rounds_as_the_saturating_cast() {
        let cast = |v: f32| (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
        let edges = (0..=256).flat_map(|k| {
            let edge = (k as f32 - 0.5) / 255.0;
            [edge.next_down(), edge, edge.next_up()]
        });
        let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 2.0, -1.0];
        // Every float in 0..=1 is a bit pattern up to 1.0's; a stride covers them evenly.
        let units = (0..=1.0f32.to_bits()).step_by(97).map(f32::from_bits);
        for v in units.chain(edges).chain(specials) {
            assert_eq!(unorm8(v), cast(v), "{v:e}");
        }
    }

    /// A curve of one sample has no segment, yet lights its pixel: a pan in y that uncovers
    /// its row draws it there, as a picture drawn afresh does.
    #[test]
    fn a_pan_in_y_draws_a_lone_sample_in_the_rows_it_uncovers() {
        let store = store_of(&[(vec![0.0, 1.0, 0.5, 2.0], None), (vec![5.0], None)]);
        let map = view_of(&store, -0.5, 2.0, 20);
        let from_rows = RowMap::with_scale(-1.0, 10.0, 40);
        let Some(to_rows) = from_rows.panned(25) else {
            panic!("25 rows of 40 is a pan within the limit");
        };
        let styles = vec![CurveStyle::line([200, 40, 40, 255]); store.len()];
        let target = |rows| RasterTarget { width: 20, rows };
        let (earlier, _) = raster_points(
            Points::Store(&store, &map),
            target(from_rows),
            &styles,
            BaseMode::Lines,
        );
        let (afresh, _) = raster_points(
            Points::Store(&store, &map),
            target(to_rows),
            &styles,
            BaseMode::Lines,
        );
        let lone_key = 2;
        assert!(
            !earlier.keys.contains(&lone_key),
            "the sample lies above the first view"
        );
        assert!(
            afresh.keys.contains(&lone_key),
            "the sample lies in the panned view"
        );
        let panned = raster_panned(
            earlier,
            (&map, &from_rows),
            (&map, target(to_rows)),
            &store,
            &styles,
            BaseMode::Lines,
        );
        let Some((panned, _)) = panned else {
            panic!("a pan in y with every value finite keeps the picture");
        };
        assert!(panned.keys == afresh.keys, "the panned picture differs");
    }

    #[test]
    fn floor_small_is_floor_within_its_range() {
        let edges = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            -1.0,
            1.0,
            2.999_999_8,
            -0.999_999_94,
            0.999_999_94,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            899.5,
            4_194_303.5,
            4_194_304.0,
            -4_194_304.0,
        ];
        // And a sweep of ordinary rows and columns with fractions.
        let sweep = (0..40_000).map(|k| k as f32 * 0.37 - 2_000.0);
        for y in edges.into_iter().chain(sweep) {
            assert_eq!(floor_small(y), y.floor() as i32, "{y}");
        }
    }

    /// `y.floor() as i32` (saturating, NaN to 0), as the shader's threads floor.
    fn floor_i32(y: f32) -> i32 {
        y.floor() as i32
    }

    /// The shader's fill: the rows from height `y_a` to `y_b` of `column` (either order;
    /// nothing outside the raster).
    fn fill(curve: &Curve<'_>, out: &mut BasePixels, column: i32, y_a: f32, y_b: f32) {
        if column < 0 || column >= curve.width {
            return;
        }
        let row = |height: f32| floor_i32(height - curve.rows.bottom_row());
        let r0 = row(y_a.min(y_b)).max(0);
        let r1 = row(y_a.max(y_b)).min(curve.height - 1);
        if r0 > r1 {
            return;
        }
        let (column, r0, r1) = (column as usize, r0 as usize, r1 as usize);
        if out.counted {
            out.light::<true>(column, r0, r1, curve.key);
        } else {
            out.light::<false>(column, r0, r1, curve.key);
        }
    }

    /// The shader's per-point threads as the renderer drew them before its one-pass walk
    /// (`scan_column` per column, points with a next point in their column skipped): the
    /// reference [`Curve::draw`] must match bit for bit.
    fn draw_by_threads(curve: &Curve<'_>, out: &mut BasePixels) {
        let end = curve.ys.len();
        let mut i = 0;
        while i < end {
            let y = curve.ys[i];
            if is_gap(y) {
                i += 1;
                continue;
            }
            let xa = curve.xs[i];
            let ya = curve.py(y);
            let c0 = floor_i32(xa);
            let starts_run = i == 0 || is_gap(curve.ys[i - 1]);
            if starts_run && c0 >= 0 && c0 < curve.width {
                let last = scan_column(curve, out, c0, ya, i);
                if last > i {
                    i = last;
                    continue;
                }
            }
            if i + 1 >= end || is_gap(curve.ys[i + 1]) {
                i += 1;
                continue;
            }
            let xb = curve.xs[i + 1];
            let c1 = floor_i32(xb);
            if c1 == c0 {
                i += 1;
                continue;
            }
            let slope = (curve.py(curve.ys[i + 1]) - ya) / (xb - xa);
            for column in (c0 + 1).max(0)..=(c1 - 1).min(curve.width - 1) {
                fill(
                    curve,
                    out,
                    column,
                    ya + (column as f32 - xa) * slope,
                    ya + ((column + 1) as f32 - xa) * slope,
                );
            }
            i = if c1 >= 0 && c1 < curve.width {
                scan_column(curve, out, c1, ya + (c1 as f32 - xa) * slope, i + 1)
            } else {
                i + 1
            };
        }
    }

    fn scan_column(
        curve: &Curve<'_>,
        out: &mut BasePixels,
        column: i32,
        entry: f32,
        first: usize,
    ) -> usize {
        let (mut lo, mut hi) = (entry, entry);
        let mut j = first;
        let end = curve.ys.len();
        loop {
            let y = curve.py(curve.ys[j]);
            lo = lo.min(y);
            hi = hi.max(y);
            if j + 1 >= end || is_gap(curve.ys[j + 1]) {
                break;
            }
            let x_next = curve.xs[j + 1];
            if floor_i32(x_next) != column {
                let slope = (curve.py(curve.ys[j + 1]) - y) / (x_next - curve.xs[j]);
                let exit = y + ((column + 1) as f32 - curve.xs[j]) * slope;
                lo = lo.min(exit);
                hi = hi.max(exit);
                break;
            }
            j += 1;
        }
        fill(curve, out, column, lo, hi);
        j
    }

    /// Points in pixel x (some left and right of the frame, sometimes going back) and data
    /// y with gaps, infinities and far values.
    fn raw_points_strategy() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
        proptest::collection::vec(
            (
                -3.0f32..6.0,
                any::<bool>(),
                prop_oneof![
                    8 => -50.0f32..50.0,
                    1 => Just(f32::NAN),
                    1 => prop_oneof![Just(f32::INFINITY), Just(f32::NEG_INFINITY), Just(3e38f32), Just(-1e-30f32)],
                ],
            ),
            1..300,
        )
        .prop_map(|steps| {
            let mut x = -20.0f32;
            steps
                .into_iter()
                .map(|(dx, back, y)| {
                    // Mostly forward; now and then a step back, as unordered x gives.
                    x += if back && dx < -2.5 { dx } else { dx.abs() };
                    (x, y)
                })
                .unzip()
        })
    }

    /// A pan keeps its picture only where every drawn curve's samples beside the view keep
    /// their grid: a curve whose neighbouring samples lie 49,000 columns away is drawn
    /// afresh, and once it is hidden the pan keeps the rest.
    #[test]
    fn a_pan_beside_a_far_sample_is_drawn_afresh() {
        let mut builder = crate::curves::CurveStoreBuilder::new(&[]);
        builder
            .push_explicit("far", &[], &[0.0, 100_000.0], &[0.0, 1.0])
            .unwrap();
        builder
            .push_uniform("near", &[], 0.0, 1.0, &vec![0.5; 100_001])
            .unwrap();
        // Far beside the view, but joined to nothing in it: ended before it, begun after it.
        builder
            .push_explicit("ended", &[], &[0.0, 1.0], &[0.0, 1.0])
            .unwrap();
        builder
            .push_explicit("later", &[], &[90_000.0, 90_001.0], &[0.0, 1.0])
            .unwrap();
        let store = builder.finish().unwrap();
        let from = PixelMap::new(49_000.0, 49_100.0, 100);
        let to = from.panned(10).unwrap();
        assert!(!crate::curves::keeps_grid_beside_view(&store, 0, &to));
        for id in 1..4 {
            assert!(crate::curves::keeps_grid_beside_view(&store, id, &to));
        }
        let whole = PixelMap::new(-10.0, 100_010.0, 1_000);
        assert!(crate::curves::keeps_grid_beside_view(&store, 0, &whole));

        let target = RasterTarget {
            width: 100,
            rows: RowMap::with_scale(0.0, 40.0, 50),
        };
        let mut styles = vec![CurveStyle::line([200, 40, 40, 255]); 4];
        let pan = |styles: &[CurveStyle]| {
            let (earlier, _) = raster_points(
                Points::Store(&store, &from),
                target,
                styles,
                BaseMode::Lines,
            );
            raster_panned(
                earlier,
                (&from, &target.rows),
                (&to, target),
                &store,
                styles,
                BaseMode::Lines,
            )
        };
        assert!(pan(&styles).is_none());
        styles[0] = styles[0].hidden();
        let (panned, counts) = pan(&styles).expect("only near samples beside the view");
        assert_eq!(counts.curves, 3);
        let (afresh, _) =
            raster_points(Points::Store(&store, &to), target, &styles, BaseMode::Lines);
        assert!(panned == afresh);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Drawing straight from the store gives the pixels (hit counts and keys) of drawing
        /// its M4 decimation, and lights exactly the reference rasteriser's pixels for every
        /// sample: sparse and dense curves, gaps, partial views, opaque and translucent.
        #[test]
        fn drawing_from_the_store_matches_the_decimation_and_the_reference(
            sparse in proptest::collection::vec(curve_strategy(), 0..5),
            dense in proptest::collection::vec(dense_curve_strategy(), 0..2),
            width in 1u32..300,
            height in 1u32..200,
            view_start in -0.2f64..0.9,
            view_len in 0.01f64..1.5,
            y_lo in -40.0f32..0.0,
            y_span in 1.0f32..80.0,
            translucent in any::<bool>(),
        ) {
            let curves: Vec<_> = sparse.into_iter().chain(dense).collect();
            prop_assume!(!curves.is_empty());
            let store = store_of(&curves);
            let map = view_of(&store, view_start, view_len, width);
            let rows = RowMap::new(y_lo, y_lo + y_span, height);
            let target = RasterTarget { width, rows };
            let alpha = if translucent { 90 } else { 255 };
            let styles: Vec<CurveStyle> = (0..store.len())
                .map(|id| CurveStyle::line([200, 40, 40, alpha]).with_priority(id as u8 % 3))
                .collect();
            let (from_store, counts) =
                raster_points(Points::Store(&store, &map), target, &styles, BaseMode::Lines);
            let decimated = decimate_m4(&store, &map);
            let (from_decimation, _) =
                raster_points(Points::Decimated(&decimated), target, &styles, BaseMode::Lines);
            prop_assert_eq!(counts.points, decimated.point_count());
            prop_assert!(from_store == from_decimation, "the store's pixels differ from the decimation's");

            let mut reference = Raster::new(width, height);
            reference.draw(&all_points(&store, &map), rows);
            let lit = Raster {
                width,
                height,
                counts: (0..height as usize)
                    .flat_map(|row| (0..width as usize).map(move |column| (column, row)))
                    .map(|(column, row)| u32::from(from_store.key(column, row) != 0))
                    .collect(),
            };
            prop_assert!(lit.same_pixels(&reference), "{} lit, the reference {}", lit.lit(), reference.lit());
        }

        /// A picture panned in x and y (the kept pixels moved, the uncovered columns and rows
        /// drawn) is the picture of the panned maps drawn afresh, hit counts and keys:
        /// sparse and dense curves, gaps, pans both ways on both axes, opaque and
        /// translucent; and a curve with samples far beside the view (off the grid in x) or
        /// with infinite values (which light row 0 wherever the view is) is either kept exact
        /// or refused, never drawn wrong.
        #[test]
        fn a_panned_picture_is_the_one_drawn_afresh(
            sparse in proptest::collection::vec(curve_strategy(), 0..5),
            dense in proptest::collection::vec(dense_curve_strategy(), 0..2),
            spanning in any::<bool>(),
            infinite in any::<bool>(),
            lone in proptest::option::of(-3.0f32..3.0),
            width in 2u32..300,
            height in 2u32..120,
            view_start in -0.2f64..0.9,
            view_len in 0.001f64..1.5,
            pan in -1.0f64..1.0,
            pan_y in -1.0f64..1.0,
            y_span in 4.0f32..80.0,
            translucent in any::<bool>(),
            highlighted in any::<u8>(),
        ) {
            let mut curves: Vec<_> = sparse.into_iter().chain(dense).collect();
            prop_assume!(!curves.is_empty());
            if spanning {
                // Two samples across every curve: at a deep zoom they lie thousands of
                // columns beside the view.
                curves.push((vec![-5.0, 5.0], Some(vec![1.7e9 - 10.0, 1.7e9 + 40_000.0])));
            }
            if infinite {
                curves.push((
                    vec![0.0, f32::INFINITY, f32::NEG_INFINITY, 0.0],
                    Some(vec![1.7e9 - 1.0, 1.7e9 + 10.0, 1.7e9 + 20.0, 1.7e9 + 30.0]),
                ));
            }
            if let Some(y) = lone {
                // One sample: no segment, yet a lit pixel.
                curves.push((vec![y], None));
            }
            let store = store_of(&curves);
            let from = view_of(&store, view_start, view_len, width);
            let columns = (pan * f64::from(width)) as i32;
            let rows = (pan_y * f64::from(height)) as i32;
            let from_rows = RowMap::with_scale(-y_span / 2.0, height as f32 / y_span, height);
            let (Some(to), Some(to_rows)) = (from.panned(columns), from_rows.panned(rows)) else {
                return Err(TestCaseError::fail("a pan within the size is within the limit"));
            };
            let (target, to_target) = (
                RasterTarget { width, rows: from_rows },
                RasterTarget { width, rows: to_rows },
            );
            let alpha = if translucent { 90 } else { 255 };
            // Some curves highlighted (wide lines, 1 to 3 px), by the bits of `highlighted`.
            let styles: Vec<CurveStyle> = (0..store.len())
                .map(|id| {
                    let style = CurveStyle::line([200, 40, 40, alpha]).with_priority(id as u8 % 3);
                    match highlighted >> (id % 8) & 1 {
                        1 => style.highlighted(1.0 + (id % 3) as f32),
                        _ => style,
                    }
                })
                .collect();
            let (earlier, _) = raster_points(Points::Store(&store, &from), target, &styles, BaseMode::Lines);
            let (earlier_colours, _) =
                colours(&earlier, (&store, &from, target), &styles, BaseMode::Lines);
            let (afresh, _) = raster_points(Points::Store(&store, &to), to_target, &styles, BaseMode::Lines);
            let panned = raster_panned(
                earlier,
                (&from, &from_rows),
                (&to, to_target),
                &store,
                &styles,
                BaseMode::Lines,
            );
            let moved = columns != 0 || rows != 0;
            let within = columns.unsigned_abs() < width && rows.unsigned_abs() < height;
            match panned {
                Some((panned, counts)) => {
                    prop_assert!(moved && within);
                    prop_assert!(
                        panned.keys == afresh.keys && panned.hits == afresh.hits,
                        "panned by {columns}, {rows}: the picture differs from the one drawn afresh"
                    );
                    prop_assert!(counts.curves <= 2 * styles.len());
                    // The colours, wide lines over them, moved with the pixels.
                    let (fresh_colours, _) =
                        colours(&afresh, (&store, &to, to_target), &styles, BaseMode::Lines);
                    let near = earlier_colours.lines_near;
                    let reach = styles
                        .iter()
                        .filter(|style| style.is_highlighted())
                        .map(|style| 0.5 * style.width_px + 1.0)
                        .fold(0.0f32, f32::max);
                    let edges = if columns == 0 { 0 } else { 2 * (reach.ceil() as u32 + 2) };
                    let view = (&store, &to, to_target);
                    let flips = (0..store.len() as u32).any(|curve| {
                        styles[curve as usize].is_highlighted()
                            && crate::curves::keeps_every_sample_in_view(&store, curve, &from)
                                != crate::curves::keeps_every_sample_in_view(&store, curve, &to)
                    });
                    match colours_panned((earlier_colours, &from), (columns, rows), &panned, view, &styles, BaseMode::Lines) {
                        Some((moved, _)) => prop_assert!(
                            moved.rgba == fresh_colours.rgba,
                            "panned by {columns}, {rows}: the colours differ from those drawn afresh"
                        ),
                        None => prop_assert!(
                            !near || flips || columns.unsigned_abs() + edges >= width,
                            "colours panned by {columns}, {rows} were redrawn with every point near"
                        ),
                    }
                }
                None => prop_assert!(
                    !moved || !within || (spanning && columns != 0) || (infinite && rows != 0),
                    "a pan by {columns} of {width} columns and {rows} of {height} rows was refused \
                     without a far sample or an infinite value"
                ),
            }
        }

        /// The one-pass walk lights every pixel with the hit count and key of the shader's
        /// per-point threads, for points in any order, gaps, infinities and far values.
        #[test]
        fn one_pass_matches_the_shaders_threads(
            curves in proptest::collection::vec(raw_points_strategy(), 1..4),
            width in 1u32..120,
            height in 1u32..90,
            y_min in -60.0f32..0.0,
            rows_per_unit in 0.01f32..30.0,
        ) {
            let mut one_pass = BasePixels::new(width, height, true);
            let mut threads = BasePixels::new(width, height, true);
            for (k, (xs, ys)) in curves.iter().enumerate() {
                let curve = Curve {
                    xs,
                    ys,
                    // Told, as the store tells it: both ways tested.
                    gap_free: first_gap(ys).is_none(),
                    rows: RowMap::with_scale(y_min, rows_per_unit, height),
                    width: width as i32,
                    height: height as i32,
                    key: k as u32 + 1,
                };
                curve.draw(&mut one_pass, &mut Walk::default());
                draw_by_threads(&curve, &mut threads);
            }
            prop_assert_eq!(one_pass, threads);
        }

        /// Lines drawn tile by tile over a region give the pixels of every segment drawn in
        /// turn over the whole region at once: each segment is sorted into every tile it
        /// covers a pixel of (segments long and short, steep and flat, degenerate, reaching
        /// beyond the picture; widths 1 to 6 px, several tiles each way).
        #[test]
        fn wide_lines_drawn_in_tiles_are_those_drawn_in_one_piece(
            polylines in proptest::collection::vec(
                (
                    proptest::collection::vec(
                        (-20.0f32..620.0, -20.0f32..90.0, 0u8..5),
                        1..40,
                    ),
                    1.0f32..6.0,
                    0u8..=255,
                ),
                1..5,
            ),
            columns in (0u32..600, 1u32..600),
            rows in (0u32..70, 1u32..70),
        ) {
            let (width, height) = (600u32, 70u32);
            let region = Region {
                columns: columns.0..(columns.0 + columns.1).min(width),
                rows: rows.0..(rows.0 + rows.1).min(height),
            };
            // Points in pixels; a step of kind 0 repeats the point before (degenerate), of
            // kind 1 moves it by a hundredth of a pixel, of kind 2 lies within 3 px of a
            // tile's corner.
            let lines: Vec<(WideLine, Vec<Option<[f32; 2]>>)> = polylines
                .iter()
                .map(|(points, width_px, alpha)| {
                    let mut last = [0.0f32; 2];
                    let points = points
                        .iter()
                        .map(|&(x, y, kind)| {
                            last = match kind {
                                0 => last,
                                1 => [last[0] + 0.01, last[1] - 0.01],
                                2 => [
                                    (x / TILE_COLUMNS as f32).round() * TILE_COLUMNS as f32
                                        + y.fract() * 6.0
                                        - 3.0,
                                    (y / BAND_ROWS as f32).round() * BAND_ROWS as f32
                                        + x.fract() * 6.0
                                        - 3.0,
                                ],
                                _ => [x, y],
                            };
                            Some(last)
                        })
                        .collect();
                    let line = WideLine {
                        colour: [0.8, 0.3, 0.1, f32::from(*alpha) / 255.0],
                        half_width: 0.5 * width_px,
                    };
                    (line, points)
                })
                .collect();
            let background: Vec<u8> = (0..width * height * 4).map(|i| (i * 7 % 251) as u8).collect();
            let mut tiled = background.clone();
            draw_lines_over(&mut tiled, &lines, (width, height), &region);
            // One tile of the whole picture, every segment in order, clipped to the region.
            let stride = width as usize + QUAD - 1;
            let mut whole = vec![0u8; height as usize * stride * 4];
            for (row, from) in whole.chunks_mut(stride * 4).zip(background.chunks(width as usize * 4)) {
                row[..from.len()].copy_from_slice(from);
            }
            let mut tile = Tile { pixels: &mut whole, first_column: 0, first_row: 0, stride: stride as u32 };
            for (line, points) in &lines {
                for pair in points.windows(2) {
                    if let [Some(a), Some(b)] = *pair {
                        line.segment(&mut tile, (width, height), &region, (a, b));
                    }
                }
            }
            let in_one_piece: Vec<u8> = whole
                .chunks(stride * 4)
                .flat_map(|row| &row[..width as usize * 4])
                .copied()
                .collect();
            prop_assert!(tiled == in_one_piece, "the tiles' pixels differ from one piece's");
        }

        /// A segment drawn over its box of pixels gives the pixels of its shading applied to
        /// every pixel of the picture: the box holds every pixel it covers (a pixel it does
        /// not cover keeps its bytes). Segments long and short, steep and flat, of no length,
        /// degenerate, a hundredth of a pixel long, reaching beyond the picture; widths 1 to
        /// 6 px.
        #[test]
        fn a_segment_drawn_over_its_box_is_its_shading_of_every_pixel(
            a in (-12.0f32..52.0, -12.0f32..42.0),
            step in (-30.0f32..30.0, -30.0f32..30.0, 0u8..5),
            width_px in 1.0f32..6.0,
            alpha in 0u8..=255,
        ) {
            let (width, height) = (40u32, 30u32);
            let a = [a.0, a.1];
            // Kind 1: shorter than the clamp on the length (degenerate) or about as long.
            let b = match step.2 {
                0 => a,
                1 => [a[0] + step.0 * 3e-8, a[1] + step.1 * 3e-8],
                2 => [a[0] + step.0 / 3000.0, a[1] + step.1 / 3000.0],
                3 => [a[0] + step.0 / 30.0, a[1] + step.1],
                _ => [a[0] + step.0, a[1] + step.1],
            };
            let line = WideLine {
                colour: [0.8, 0.3, 0.1, f32::from(alpha) / 255.0],
                half_width: 0.5 * width_px,
            };
            let whole = Region::whole(width, height);
            let stride = width as usize + QUAD - 1;
            let background: Vec<u8> =
                (0..height as usize * stride * 4).map(|i| (i * 7 % 251) as u8).collect();
            let mut boxed = background.clone();
            let tile = |pixels| Tile { pixels, first_column: 0, first_row: 0, stride: stride as u32 };
            line.segment(&mut tile(&mut boxed), (width, height), &whole, (a, b));
            let mut everywhere = background;
            if let Some((shading, ..)) = line.shading((a, b)) {
                let tile = tile(&mut everywhere);
                let mut batch = QuadBatch::default();
                for row in 0..height {
                    for column in (0..width).step_by(QUAD) {
                        let count = (width - column).min(QUAD as u32);
                        let p_y = row as f32 + 0.5 - a[1];
                        if batch.push(tile.byte_at(column, row), column, p_y, count) {
                            shading.shade(tile.pixels, &batch);
                            batch.len = 0;
                        }
                    }
                }
                if batch.len > 0 {
                    shading.shade(tile.pixels, &batch);
                }
            }
            prop_assert!(boxed == everywhere, "the box left out a pixel the segment covers");
        }

        /// Highlighted curves drawn in bands of rows on several threads give the pixels of
        /// one thread (a pixel's blends keep their order), gaps and translucent colours too.
        #[test]
        fn wide_lines_do_not_depend_on_the_threads(
            curves in proptest::collection::vec(curve_strategy(), 1..6),
            width in 1u32..200,
            height in 1u32..150,
        ) {
            // A segment to draw: two finite samples in a row (a lone sample between gaps
            // draws no wide line).
            prop_assume!(curves.iter().any(|(ys, _)| {
                ys.windows(2).any(|pair| pair.iter().all(|y| y.is_finite()))
            }));
            let store = store_of(&curves);
            let map = view_of(&store, 0.0, 1.0, width);
            // The curves' own extent, so there is something to draw.
            let bounds = crate::curves::data_bounds(&store, |_| true);
            prop_assume!(bounds.is_some());
            let (y_lo, y_hi) = bounds.map_or((0.0, 1.0), |b| (b.y.0 as f32, b.y.1 as f32));
            let target = RasterTarget { width, rows: RowMap::with_scale(y_lo, height as f32 / (y_hi - y_lo).max(1e-3), height) };
            let styles: Vec<CurveStyle> = (0..store.len())
                .map(|id| CurveStyle::line([200, 40 * id as u8, 40, 120 + 30 * id as u8]).highlighted(1.0 + id as f32))
                .collect();
            let draw = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut rgba = vec![0u8; width as usize * height as usize * 4];
                pool.install(|| draw_wide_lines(&mut rgba, Points::Store(&store, &map), target, &styles));
                rgba
            };
            let one = draw(1);
            prop_assert!(one.iter().any(|&c| c != 0), "nothing drawn");
            prop_assert!(one == draw(3), "the picture depends on the threads");
        }
    }
}
