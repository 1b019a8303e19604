//! M4 decimation: per pixel column, the first, minimum, maximum and last sample of every
//! curve, so drawing the result with per-column 1-px lines ([`super::raster`]) lights exactly
//! the pixels that drawing every sample would.
//!
//! - Only the visible samples are read (found by binary search or index arithmetic), plus one
//!   sample on each side so the segments entering and leaving the view are kept.
//! - NaN is a gap: the runs on either side are decimated separately and a NaN separator is
//!   written between them.
//! - Curves run in parallel (rayon). Each worker writes into its own pre-computed slice of one
//!   output buffer (prefix sums of per-curve bounds): no locks and no per-curve allocation.
//!   A curve whose gaps make it exceed its slot (more than ~1 gap per column) is redone into
//!   a spill buffer afterwards.
//! - x leaves as f32 pixel coordinates relative to the view's left edge ([`PixelMap::px`]), so
//!   epoch-second timestamps keep their precision: the f64 subtraction happens first.

use argminmax::NaNArgMinMax;
use rayon::prelude::*;

use super::store::{BLOCK_SAMPLES, BlockSummary, CurveStore, Sampling};

/// The visible x-range and its width in pixel columns, and how data x becomes pixel x.
///
/// Pixel x are measured in a frame anchored [`ANCHOR_PX`] pixels left of the view the map was
/// first made for, then the view's left edge is subtracted ([`PixelMap::px`]): within
/// some 4,000 columns of the view every such pixel x lies on a grid of 2^-10 px at least, so a
/// map panned by whole columns ([`PixelMap::panned`]) gives every sample there its pixel x
/// less exactly those columns, and the pixels a curve lights there move by exactly them: a
/// pan can keep the picture of the columns still in view ([`PixelMap::follow`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelMap {
    pub x_start: f64,
    pub x_end: f64,
    pub width_px: u32,
    px_per_x: f64,
    /// The data x of the anchored frame's [`ANCHOR_PX`].
    anchor_x: f64,
    /// The view's left edge in the anchored frame: [`ANCHOR_PX`] plus the whole columns the
    /// map was panned by.
    left_px: f32,
}

/// Where the anchored frame puts the left edge of the view a map is first made for: a power
/// of two, so that pixel x near the view share one exponent and one grid.
pub const ANCHOR_PX: f32 = 16_384.0;

/// How far from whole columns a pan may be and still keep the picture ([`PixelMap::follow`]):
/// a plot's frame is seldom a whole number of pixels wide while its picture is, so a drag by
/// whole pixels moves the view by whole columns give or take a few hundredths. The picture
/// is placed by its own x-range, so it stays where its curves are; a pan further off draws
/// afresh.
const PAN_SNAP_COLUMNS: f64 = 0.125;

/// How far a view's scale may differ from a map's, in columns across the view, and still be
/// a pan of it ([`PixelMap::follow`]).
const SCALE_DRIFT_COLUMNS: f64 = 1.0 / 64.0;

/// How far a map may be panned from its anchor, in columns, before [`PixelMap::follow`]
/// starts afresh.
const PAN_LIMIT_PX: f32 = 4_096.0;

impl PixelMap {
    /// Anchored pixel x in this range keep their grid: [2^13, 2^15) less a pixel each side
    /// (the test itself rounds).
    pub(crate) const EXACT_PX: (f32, f32) = (8_193.0, 32_767.0);

    pub fn new(x_start: f64, x_end: f64, width_px: u32) -> Self {
        Self {
            x_start,
            x_end,
            width_px,
            px_per_x: f64::from(width_px) / (x_end - x_start),
            anchor_x: x_start,
            left_px: ANCHOR_PX,
        }
    }

    /// The pixel x of data x: the one conversion every stage uses, so that decimation, the
    /// rasteriser and the GPU agree on each sample's column. The f64 subtraction comes first
    /// (epoch seconds keep their precision); the f32 subtraction of the whole columns is
    /// exact within [`PixelMap::is_exact_at`].
    #[inline]
    pub fn px(&self, x: f64) -> f32 {
        ((x - self.anchor_x) * self.px_per_x + f64::from(ANCHOR_PX)) as f32 - self.left_px
    }

    /// Whether pixel x `px` of this map keeps its grid under a pan: the samples whose
    /// lights a kept picture may hold.
    #[inline]
    pub fn is_exact_at(&self, px: f32) -> bool {
        let anchored = px + self.left_px;
        (Self::EXACT_PX.0..Self::EXACT_PX.1).contains(&anchored)
    }

    /// This map panned by `columns` whole columns (positive: the view moves to larger x),
    /// in the same frame: every pixel x within [`PixelMap::is_exact_at`] of both is this
    /// map's less `columns`, exactly. `None` past the pan limit (the anchor is then too far).
    pub fn panned(&self, columns: i32) -> Option<Self> {
        let left_px = self.left_px + columns as f32;
        if (left_px - ANCHOR_PX).abs() > PAN_LIMIT_PX {
            return None;
        }
        Some(Self {
            x_start: self.x_at_anchored(left_px),
            x_end: self.x_at_anchored(left_px + self.width_px as f32),
            left_px,
            ..*self
        })
    }

    /// Columns `columns` of this map as a map of their own (its column 0 is this map's
    /// `columns.start`), in the same frame.
    pub fn window(&self, columns: std::ops::Range<u32>) -> Self {
        let left_px = self.left_px + columns.start as f32;
        Self {
            x_start: self.x_at_anchored(left_px),
            x_end: self.x_at_anchored(self.left_px + columns.end as f32),
            width_px: columns.len() as u32,
            left_px,
            ..*self
        }
    }

    /// The data x at anchored pixel x `px`.
    fn x_at_anchored(&self, px: f32) -> f64 {
        self.anchor_x + f64::from(px - ANCHOR_PX) / self.px_per_x
    }

    /// The whole columns `self` lies right of `earlier` when it is `earlier` panned
    /// ([`PixelMap::panned`]: the same frame, scale and width).
    pub fn columns_from(&self, earlier: &Self) -> Option<i32> {
        let same_frame = self.anchor_x.to_bits() == earlier.anchor_x.to_bits()
            && self.px_per_x.to_bits() == earlier.px_per_x.to_bits()
            && self.width_px == earlier.width_px;
        same_frame.then_some((self.left_px - earlier.left_px) as i32)
    }

    /// The map for a view `x_start..x_end` over `width_px` that follows this one: where the
    /// view is this one moved by whole columns (a pan; to [`PAN_SNAP_COLUMNS`]), this map
    /// panned, so that what is still in view keeps its pixels; otherwise a map of its own.
    pub fn follow(&self, x_start: f64, x_end: f64, width_px: u32) -> Self {
        let fresh = Self::new(x_start, x_end, width_px);
        if width_px != self.width_px || !fresh.is_valid() || !self.is_valid() {
            return fresh;
        }
        // The scale compared by the columns it would move the view's far edge: bounds a few
        // seconds apart in epoch seconds are a few units in the last place apart from any
        // other f64 sum (10^-7 relative), a ten-thousandth of a column over the view.
        let scale_drift_columns =
            (fresh.px_per_x / self.px_per_x - 1.0).abs() * f64::from(width_px);
        let columns = (x_start - self.x_start) * self.px_per_x;
        let whole = columns.round();
        if scale_drift_columns > SCALE_DRIFT_COLUMNS
            || (columns - whole).abs() > PAN_SNAP_COLUMNS
            || whole.abs() > 1e6
        {
            return fresh;
        }
        if whole == 0.0 {
            return *self;
        }
        self.panned(whole as i32).unwrap_or(fresh)
    }

    /// The data x of the anchored frame's [`ANCHOR_PX`] and the view's left edge there: what
    /// a server needs to find a sample's column as [`PixelMap::px`] does.
    pub fn anchored_frame(&self) -> (f64, f32) {
        (self.anchor_x, self.left_px)
    }

    /// Whether the map spans a positive, finite range over at least one column.
    pub fn is_valid(&self) -> bool {
        self.width_px > 0 && (self.x_end - self.x_start).is_finite() && self.x_end > self.x_start
    }
}

/// Decimated curves: points in pixel x and data y, curve after curve; a NaN y separates runs
/// (it may repeat, and may stand first or last where a curve was copied whole).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decimated {
    pub x_px: Vec<f32>,
    pub y: Vec<f32>,
    /// Per curve: `(start, len)` into `x_px`/`y`.
    pub ranges: Vec<(u32, u32)>,
}

impl Decimated {
    pub fn points(&self, curve: usize) -> impl Iterator<Item = (f32, f32)> + '_ {
        let (start, len) = self.ranges[curve];
        let range = start as usize..(start + len) as usize;
        self.x_px[range.clone()]
            .iter()
            .copied()
            .zip(self.y[range].iter().copied())
    }

    pub fn point_count(&self) -> usize {
        self.ranges.iter().map(|&(_, len)| len as usize).sum()
    }

    /// Bytes its buffers hold (their capacity: they are reused, and may hold more than
    /// the current points).
    pub fn heap_bytes(&self) -> usize {
        (self.x_px.capacity() + self.y.capacity()) * size_of::<f32>()
            + self.ranges.capacity() * size_of::<(u32, u32)>()
    }
}

/// x of sample `i` for one curve, without a branch per sample.
#[derive(Clone, Copy)]
enum Xs<'a> {
    Uniform { x0: f64, dx: f64 },
    Explicit(&'a [f64]),
}

impl Xs<'_> {
    #[inline]
    fn at(&self, i: usize) -> f64 {
        match self {
            Self::Uniform { x0, dx } => x0 + i as f64 * dx,
            Self::Explicit(xs) => xs[i],
        }
    }
}

fn xs_of(store: &CurveStore, id: u32) -> Xs<'_> {
    match store.sampling(id) {
        Sampling::Uniform { x0, dx } => Xs::Uniform { x0, dx },
        Sampling::Explicit => Xs::Explicit(store.x_explicit(id).unwrap_or_default()),
    }
}

/// First index whose pixel x is at least `edge` (x ascends, and so do pixel x): the pixel
/// rule itself decides, so that a map's window ([`PixelMap::window`]) finds at its edges the
/// samples the whole map finds there.
fn first_px_at_least(xs: Xs<'_>, n: usize, map: &PixelMap, edge: f32) -> usize {
    let before = |x: f64| map.px(x) < edge;
    match xs {
        Xs::Explicit(values) => values[..n].partition_point(|&v| before(v)),
        Xs::Uniform { x0, dx } if dx > 0.0 => {
            let x = map.x_start + f64::from(edge) / map.px_per_x;
            let guess = ((x - x0) / dx).ceil().clamp(0.0, n as f64) as usize;
            // Correct the float estimate against the exact per-sample rule.
            let mut i = guess;
            while i > 0 && !before(xs.at(i - 1)) {
                i -= 1;
            }
            while i < n && before(xs.at(i)) {
                i += 1;
            }
            i
        }
        Xs::Uniform { x0, .. } => {
            if before(x0) {
                n
            } else {
                0
            }
        }
    }
}

/// Samples of one curve that matter for the view: the visible ones (pixel x in
/// `0..width`) and one on each side.
fn visible_range(xs: Xs<'_>, n: usize, map: &PixelMap) -> (usize, usize) {
    let lo = first_px_at_least(xs, n, map, 0.0).saturating_sub(1);
    let hi = (first_px_at_least(xs, n, map, map.width_px as f32) + 1).min(n);
    (lo, hi.max(lo))
}

/// Whether curve `id`'s samples beside the view of `map` that a segment joins to the view
/// (the last one left of it, where a sample follows, and the first one right of it, where
/// one comes before) keep their grid under a pan ([`PixelMap::is_exact_at`]): those
/// segments then light the same pixels, moved, in a map panned from `map`.
pub fn keeps_grid_beside_view(store: &CurveStore, id: super::CurveId, map: &PixelMap) -> bool {
    let xs = xs_of(store, id);
    let n = store.y(id).len();
    let first_in = first_px_at_least(xs, n, map, 0.0);
    let first_past = first_px_at_least(xs, n, map, map.width_px as f32);
    let exact = |i: usize| map.is_exact_at(map.px(xs.at(i)));
    let left_ok = first_in == 0 || first_in == n || exact(first_in - 1);
    let right_ok = first_past == 0 || first_past == n || exact(first_past);
    left_ok && right_ok
}

/// Whether curve `id`'s points for `map` are every sample in view (M4 keeps them all where
/// there are at most about four a column) rather than M4's column by column: the 1-px pixels
/// are the same either way, but a wide line drawn through the points is not, so two views
/// give a wide line the same points where they have columns in common only if this is the
/// same in both.
pub fn keeps_every_sample_in_view(store: &CurveStore, id: super::CurveId, map: &PixelMap) -> bool {
    let (lo, hi) = visible_range(xs_of(store, id), store.y(id).len(), map);
    keeps_every_sample(hi - lo, map)
}

/// Output slot bound of one curve: every output point is a distinct input sample, and a
/// gap-free curve gives at most four per column plus the two outside ones.
fn slot_bound(visible: usize, width_px: u32) -> usize {
    visible.min(4 * width_px as usize + 2 + 64)
}

/// Writes decimated points into a fixed slice; `None` when the slice is full.
struct Writer<'a> {
    x_px: &'a mut [f32],
    y: &'a mut [f32],
    len: usize,
    /// A part of a split curve may start with a gap: the part before it decides.
    leading_gap_allowed: bool,
}

impl Writer<'_> {
    #[inline]
    fn push(&mut self, x: f32, y: f32) -> Option<()> {
        *self.x_px.get_mut(self.len)? = x;
        *self.y.get_mut(self.len)? = y;
        self.len += 1;
        Some(())
    }

    /// A gap separator, never two in a row.
    fn gap(&mut self) -> Option<()> {
        let after_point = self.len > 0 && !self.y[self.len - 1].is_nan();
        if after_point || (self.len == 0 && self.leading_gap_allowed) {
            self.push(f32::NAN, f32::NAN)?;
        }
        Some(())
    }
}

/// First index in `from..to` whose pixel x is at least `edge` (`to` if none): galloping, so a
/// column of k samples costs O(log k) probes, not k.
fn first_at_or_past(xs: Xs<'_>, map: &PixelMap, from: usize, to: usize, edge: f32) -> usize {
    let before = |i: usize| map.px(xs.at(i)) < edge;
    let (mut lo, mut step) = (from, 1usize);
    let mut hi = from;
    while hi < to && before(hi) {
        lo = hi + 1;
        hi = from.saturating_add(step).min(to);
        step = step.saturating_mul(2);
    }
    let mut hi = hi.min(to);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Emit the picked samples (first, min, max, last of one run in one column) in index order,
/// each once.
fn emit_m4(
    xs: Xs<'_>,
    ys: &[f32],
    mut picks: [usize; 4],
    map: &PixelMap,
    out: &mut Writer<'_>,
) -> Option<()> {
    picks.sort_unstable();
    let mut previous = usize::MAX;
    for k in picks {
        if k != previous {
            out.push(map.px(xs.at(k)), ys[k])?;
            previous = k;
        }
    }
    Some(())
}

/// Positions of the minimum and maximum of `ys[from..to]` (NaN-free), or `None` where the
/// range holds a NaN. One SIMD pass (argminmax picks AVX2 / AVX-512 / NEON at run time) over
/// what no block summary covers; whole blocks inside the range come from `blocks`.
fn min_max_positions(
    ys: &[f32],
    blocks: &[BlockSummary],
    from: usize,
    to: usize,
) -> Option<(usize, usize)> {
    let scan = |a: usize, b: usize| -> Option<(usize, usize)> {
        let slice = &ys[a..b];
        let (low, high) = NaNArgMinMax::nanargminmax(&slice);
        (!slice[low].is_nan() && !slice[high].is_nan()).then_some((a + low, a + high))
    };
    let first_block = from.div_ceil(BLOCK_SAMPLES);
    let block_end = |k: usize| ((k + 1) * BLOCK_SAMPLES).min(ys.len());
    // Worth it only where whole blocks fit: otherwise one scan.
    if blocks.is_empty() || first_block >= blocks.len() || block_end(first_block) > to {
        return scan(from, to);
    }
    let mut last_block = first_block;
    while last_block + 1 < blocks.len() && block_end(last_block + 1) <= to {
        last_block += 1;
    }
    let mut best: Option<(usize, usize)> = None;
    let mut take = |(low, high): (usize, usize)| {
        best = Some(match best {
            None => (low, high),
            Some((l, h)) => (
                if ys[low] < ys[l] { low } else { l },
                if ys[high] > ys[h] { high } else { h },
            ),
        });
    };
    let head_end = first_block * BLOCK_SAMPLES;
    if from < head_end {
        take(scan(from, head_end)?);
    }
    for (k, block) in blocks
        .iter()
        .enumerate()
        .take(last_block + 1)
        .skip(first_block)
    {
        if block.has_nan {
            return None;
        }
        let base = k * BLOCK_SAMPLES;
        take((
            base + usize::from(block.min_at),
            base + usize::from(block.max_at),
        ));
    }
    let tail_start = block_end(last_block);
    if tail_start < to {
        take(scan(tail_start, to)?);
    }
    best
}

/// One column, samples `from..to`: its minimum and maximum, or run by run where NaN splits it.
fn decimate_column(
    xs: Xs<'_>,
    ys: &[f32],
    blocks: &[BlockSummary],
    from: usize,
    to: usize,
    map: &PixelMap,
    out: &mut Writer<'_>,
) -> Option<()> {
    if let Some((low, high)) = min_max_positions(ys, blocks, from, to) {
        return emit_m4(xs, ys, [from, low, high, to - 1], map, out);
    }
    let mut i = from;
    while i < to {
        if ys[i].is_nan() {
            out.gap()?;
            i += 1;
            continue;
        }
        let (mut low, mut high, mut j) = (i, i, i + 1);
        while j < to && !ys[j].is_nan() {
            if ys[j] < ys[low] {
                low = j;
            }
            if ys[j] > ys[high] {
                high = j;
            }
            j += 1;
        }
        emit_m4(xs, ys, [i, low, high, j - 1], map, out)?;
        i = j;
    }
    Some(())
}

/// Every sample of `lo..hi` as is: exact by definition, and cheaper than M4 where M4 could
/// not shrink the curve anyway (at most about four samples per column).
fn copy_curve(
    xs: Xs<'_>,
    ys: &[f32],
    lo: usize,
    hi: usize,
    map: &PixelMap,
    out: &mut Writer<'_>,
) -> Option<()> {
    let n = hi - lo;
    pixel_xs(xs, lo, map, out.x_px.get_mut(out.len..out.len + n)?);
    out.y
        .get_mut(out.len..out.len + n)?
        .copy_from_slice(&ys[lo..hi]);
    out.len += n;
    Some(())
}

/// The pixel x of samples `lo..lo + x_out.len()` into `x_out`.
fn pixel_xs(xs: Xs<'_>, lo: usize, map: &PixelMap, x_out: &mut [f32]) {
    match xs {
        // Indices below 2^31 as i32: the same f64 values, and a conversion x86-64's baseline
        // does in vector registers (it has none from 64-bit integers).
        Xs::Uniform { x0, dx } => match i32::try_from(lo + x_out.len()) {
            Ok(_) => {
                for (x, index) in x_out.iter_mut().zip(lo as i32..) {
                    *x = map.px(x0 + f64::from(index) * dx);
                }
            }
            Err(_) => {
                for (k, x) in x_out.iter_mut().enumerate() {
                    *x = map.px(x0 + (lo + k) as f64 * dx);
                }
            }
        },
        Xs::Explicit(values) => {
            for (x, &v) in x_out.iter_mut().zip(&values[lo..]) {
                *x = map.px(v);
            }
        }
    }
}

/// Whether M4 keeps every one of `visible` samples as is (at most about four per column).
fn keeps_every_sample(visible: usize, map: &PixelMap) -> bool {
    visible <= 4 * map.width_px as usize
}

/// M4 of samples `lo..hi` of one curve into `out`, column by column; `None` if `out` is full.
fn decimate_curve(
    xs: Xs<'_>,
    ys: &[f32],
    blocks: &[BlockSummary],
    lo: usize,
    hi: usize,
    map: &PixelMap,
    out: &mut Writer<'_>,
) -> Option<()> {
    if keeps_every_sample(hi - lo, map) {
        return copy_curve(xs, ys, lo, hi, map, out);
    }
    let mut i = lo;
    while i < hi {
        let column = map.px(xs.at(i)).floor();
        let j = first_at_or_past(xs, map, i + 1, hi, column + 1.0);
        decimate_column(xs, ys, blocks, i, j, map, out)?;
        i = j;
    }
    Some(())
}

/// Samples above which one curve is split into parts that run in parallel.
const SPLIT_SAMPLES: usize = 1 << 20;

/// A piece of work: samples `lo..hi` of one curve, starting at a column boundary.
#[derive(Clone, Copy, Debug)]
struct Part {
    curve: usize,
    lo: usize,
    hi: usize,
    first: bool,
}

/// Split long curves into column-aligned parts so a single 100 M-sample curve uses every core.
fn plan_parts(store: &CurveStore, map: &PixelMap, spans: &[(usize, usize)]) -> Vec<Part> {
    let threads = rayon::current_num_threads().max(1);
    let mut parts = Vec::with_capacity(spans.len());
    for (curve, &(lo, hi)) in spans.iter().enumerate() {
        let pieces = ((hi - lo) / SPLIT_SAMPLES).clamp(1, 4 * threads);
        let xs = xs_of(store, curve as u32);
        let mut start = lo;
        for k in 1..=pieces {
            let mut end = if k == pieces {
                hi
            } else {
                lo + (hi - lo) * k / pieces
            };
            if end < hi && end > start {
                // Move the cut to the next column boundary: a column never spans two parts.
                let column = map.px(xs.at(end - 1)).floor();
                end = first_at_or_past(xs, map, end, hi, column + 1.0);
            }
            if end > start || (k == 1 && lo == hi) {
                parts.push(Part {
                    curve,
                    lo: start,
                    hi: end.max(start),
                    first: start == lo,
                });
            }
            start = end.max(start);
        }
    }
    parts
}

/// M4-decimate every curve of `store` for `map`, in parallel, into new buffers.
pub fn decimate_m4(store: &CurveStore, map: &PixelMap) -> Decimated {
    let mut out = Decimated::default();
    decimate_m4_into(store, map, &mut out);
    out
}

/// M4-decimate into `out`, reusing its buffers: re-decimating on every pan or zoom then
/// allocates (and page-faults) nothing once the buffers have grown to size.
pub fn decimate_m4_into(store: &CurveStore, map: &PixelMap, out: &mut Decimated) {
    let n_curves = store.len();
    out.ranges.clear();
    if !map.is_valid() {
        out.ranges.resize(n_curves, (0, 0));
        return;
    }
    let offsets = store.y_offsets();
    let all_y = store.y_values();
    let spans: Vec<(usize, usize)> = (0..n_curves as u32)
        .into_par_iter()
        .map(|id| {
            visible_range(
                xs_of(store, id),
                offsets[id as usize + 1] - offsets[id as usize],
                map,
            )
        })
        .collect();
    let parts = plan_parts(store, map, &spans);
    // Prefix sums of the parts' slot bounds: each part owns one slice of the output.
    let mut slot_starts = Vec::with_capacity(parts.len() + 1);
    let mut total = 0usize;
    for part in &parts {
        slot_starts.push(total);
        total += slot_bound(part.hi - part.lo, map.width_px);
    }
    slot_starts.push(total);
    // Stale values past what is written are never read: `ranges` says what is valid.
    if out.x_px.len() < total {
        out.x_px.resize(total, 0.0);
        out.y.resize(total, 0.0);
    }
    let (x_px, y) = (&mut out.x_px, &mut out.y);
    let mut slots = Vec::with_capacity(parts.len());
    let (mut x_rest, mut y_rest) = (&mut x_px[..total], &mut y[..total]);
    for window in slot_starts.windows(2) {
        let (xa, xb) = x_rest.split_at_mut(window[1] - window[0]);
        let (ya, yb) = y_rest.split_at_mut(window[1] - window[0]);
        slots.push((xa, ya));
        (x_rest, y_rest) = (xb, yb);
    }
    let lens: Vec<Option<usize>> = slots
        .into_par_iter()
        .zip(&parts)
        .map(|((xs_out, ys_out), part)| {
            let ys = &all_y[offsets[part.curve]..offsets[part.curve + 1]];
            let mut out = Writer {
                x_px: xs_out,
                y: ys_out,
                len: 0,
                leading_gap_allowed: !part.first,
            };
            decimate_curve(
                xs_of(store, part.curve as u32),
                ys,
                store.blocks(part.curve as u32),
                part.lo,
                part.hi,
                map,
                &mut out,
            )
            .map(|()| out.len)
        })
        .collect();
    // Join each curve's parts (moving them left over their slots' slack), drop doubled and
    // trailing gap separators; a curve that overflowed its slots is redone into a spill area.
    let mut ranges = vec![(0u32, 0u32); n_curves];
    let mut overflowed = Vec::new();
    let mut k = 0;
    while k < parts.len() {
        let curve = parts[k].curve;
        let start = slot_starts[k];
        let mut end = start;
        let mut failed = false;
        while k < parts.len() && parts[k].curve == curve {
            match lens[k] {
                Some(len) => {
                    let from = slot_starts[k];
                    let skip = usize::from(
                        len > 0 && y[from].is_nan() && (end == start || y[end - 1].is_nan()),
                    );
                    x_px.copy_within(from + skip..from + len, end);
                    y.copy_within(from + skip..from + len, end);
                    end += len - skip;
                }
                None => failed = true,
            }
            k += 1;
        }
        while end > start && y[end - 1].is_nan() {
            end -= 1;
        }
        if failed {
            overflowed.push(curve);
        }
        ranges[curve] = (start as u32, (end - start) as u32);
    }
    let mut spill = total;
    for curve in overflowed {
        let (lo, hi) = spans[curve];
        if x_px.len() < spill + (hi - lo) {
            x_px.resize(spill + (hi - lo), 0.0);
            y.resize(spill + (hi - lo), 0.0);
        }
        let ys = &all_y[offsets[curve]..offsets[curve + 1]];
        let mut writer = Writer {
            x_px: &mut x_px[spill..],
            y: &mut y[spill..],
            len: 0,
            leading_gap_allowed: false,
        };
        let written = decimate_curve(
            xs_of(store, curve as u32),
            ys,
            store.blocks(curve as u32),
            lo,
            hi,
            map,
            &mut writer,
        )
        .map_or(0, |()| writer.len);
        let mut end = spill + written;
        while end > spill && y[end - 1].is_nan() {
            end -= 1;
        }
        ranges[curve] = (spill as u32, (end - spill) as u32);
        spill = end;
    }
    out.ranges = ranges;
}

/// One curve M4-decimated for `map` into `x_px` / `y` (grown as needed, their earlier
/// contents overwritten), as [`decimate_m4_into`] writes it; returns where in them the
/// points are. For callers that use each curve's points once, right away (the CPU renderer):
/// they need a curve-sized buffer, not a frame-sized one.
pub fn decimate_curve_into(
    store: &CurveStore,
    id: super::CurveId,
    map: &PixelMap,
    x_px: &mut Vec<f32>,
    y: &mut Vec<f32>,
) -> std::ops::Range<usize> {
    if !map.is_valid() {
        return 0..0;
    }
    let ys = store.y(id);
    let xs = xs_of(store, id);
    let (lo, hi) = visible_range(xs, ys.len(), map);
    // The usual bound first; a curve with more gaps than it allows gets room for every sample.
    for room in [slot_bound(hi - lo, map.width_px), hi - lo] {
        if x_px.len() < room {
            x_px.resize(room, 0.0);
            y.resize(room, 0.0);
        }
        let mut out = Writer {
            x_px: &mut x_px[..room],
            y: &mut y[..room],
            len: 0,
            leading_gap_allowed: false,
        };
        if decimate_curve(xs, ys, store.blocks(id), lo, hi, map, &mut out).is_some() {
            let end = out.len;
            return without_separators(&y[..end]);
        }
    }
    0..0
}

/// `points` without a leading separator and trailing ones, as the frame-wide decimation
/// joins curves.
fn without_separators(points: &[f32]) -> std::ops::Range<usize> {
    let start = usize::from(points.first().is_some_and(|y| y.is_nan()));
    let mut end = points.len();
    while end > start && points[end - 1].is_nan() {
        end -= 1;
    }
    start..end
}

/// A thread's buffers for [`CurvePoints::of`], kept from curve to curve, with the pixel x of
/// the last few uniform samplings it met: curves sampled alike (a plant's cycles mostly are,
/// one rate per program) share one conversion, which was a tenth of drawing the demo's curves
/// on the CPU.
#[derive(Debug, Default)]
pub struct CurvePoints {
    x_px: Vec<f32>,
    y: Vec<f32>,
    /// Most recently used last, at most [`UNIFORM_SAMPLINGS_KEPT`].
    uniform: Vec<UniformPixelXs>,
}

/// Uniform samplings whose pixel x a [`CurvePoints`] keeps: the programs a view mixes.
const UNIFORM_SAMPLINGS_KEPT: usize = 4;

/// The pixel x of samples `first..first + x_px.len()` of a uniform sampling (`x0`, `dx`, by
/// bits) for `map`.
#[derive(Debug)]
struct UniformPixelXs {
    x0_bits: u64,
    dx_bits: u64,
    first: usize,
    map: PixelMap,
    x_px: Vec<f32>,
}

impl CurvePoints {
    /// Curve `id`'s points for `map` (pixel x, data y), those of [`decimate_curve_into`],
    /// without copying y where M4 keeps every sample: then only the pixel x are written (or
    /// kept from an earlier curve sampled alike), and y is the store's own.
    pub fn of<'s>(
        &'s mut self,
        store: &'s CurveStore,
        id: super::CurveId,
        map: &PixelMap,
    ) -> (&'s [f32], &'s [f32]) {
        if map.is_valid() {
            let ys = store.y(id);
            let xs = xs_of(store, id);
            let (lo, hi) = visible_range(xs, ys.len(), map);
            if keeps_every_sample(hi - lo, map) {
                let x_px = self.pixel_xs(xs, lo..hi, map);
                let range = without_separators(&ys[lo..hi]);
                return (&x_px[range.clone()], &ys[lo..hi][range]);
            }
        }
        let range = decimate_curve_into(store, id, map, &mut self.x_px, &mut self.y);
        (&self.x_px[range.clone()], &self.y[range])
    }

    /// Pixel x of samples `samples` of `xs`: for uniform x, only those not held already.
    fn pixel_xs(&mut self, xs: Xs<'_>, samples: std::ops::Range<usize>, map: &PixelMap) -> &[f32] {
        let len = samples.len();
        let Xs::Uniform { x0, dx } = xs else {
            if self.x_px.len() < len {
                self.x_px.resize(len, 0.0);
            }
            pixel_xs(xs, samples.start, map, &mut self.x_px[..len]);
            return &self.x_px[..len];
        };
        let (x0_bits, dx_bits) = (x0.to_bits(), dx.to_bits());
        let found = self.uniform.iter().position(|held| {
            (held.x0_bits, held.dx_bits, held.first) == (x0_bits, dx_bits, samples.start)
                && held.map == *map
        });
        let mut held = match found {
            Some(at) => self.uniform.remove(at),
            None => {
                // The least recently used one's buffer, once as many are kept as may be.
                let mut x_px = if self.uniform.len() < UNIFORM_SAMPLINGS_KEPT {
                    Vec::new()
                } else {
                    self.uniform.remove(0).x_px
                };
                x_px.clear();
                UniformPixelXs {
                    x0_bits,
                    dx_bits,
                    first: samples.start,
                    map: *map,
                    x_px,
                }
            }
        };
        let converted = held.x_px.len();
        if converted < len {
            held.x_px.resize(len, 0.0);
            pixel_xs(
                xs,
                samples.start + converted,
                map,
                &mut held.x_px[converted..],
            );
        }
        self.uniform.push(held);
        self.uniform.last().map_or(&[], |held| &held.x_px[..len])
    }
}

/// Every sample of every curve, in the same form, without decimation: the reference that
/// M4 must reproduce pixel for pixel (`--decimation none`).
pub fn all_points(store: &CurveStore, map: &PixelMap) -> Decimated {
    let mut out = Decimated::default();
    for id in 0..store.len() as u32 {
        let xs = xs_of(store, id);
        let ys = if map.is_valid() { store.y(id) } else { &[] };
        let start = out.x_px.len() as u32;
        for (i, &y) in ys.iter().enumerate() {
            if y.is_nan() {
                if out.y.last().is_some_and(|v| !v.is_nan()) && out.x_px.len() as u32 > start {
                    out.x_px.push(f32::NAN);
                    out.y.push(f32::NAN);
                }
            } else {
                out.x_px.push(map.px(xs.at(i)));
                out.y.push(y);
            }
        }
        if out.x_px.len() as u32 > start && out.y.last().is_some_and(|v| v.is_nan()) {
            out.x_px.pop();
            out.y.pop();
        }
        out.ranges.push((start, out.x_px.len() as u32 - start));
    }
    out
}

/// Random curves for property tests here and in the CPU renderer's.
#[cfg(test)]
pub(crate) mod test_curves {
    use super::CurveStore;
    use crate::curves::CurveStoreBuilder;
    use proptest::prelude::*;

    /// A random-walk curve with occasional NaN gaps, uniform or explicit sampling.
    pub(crate) fn curve_strategy() -> impl Strategy<Value = (Vec<f32>, Option<Vec<f64>>)> {
        (2usize..600, any::<bool>(), 0.0f64..0.08, any::<u64>()).prop_map(
            |(n, explicit, nan_rate, seed)| {
                let mut state = seed | 1;
                let mut next = move || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 11) as f64 / (1u64 << 53) as f64
                };
                let mut y = 0.0f64;
                let ys = (0..n)
                    .map(|_| {
                        y += next() - 0.5
                            + if next() < 0.02 {
                                (next() - 0.5) * 40.0
                            } else {
                                0.0
                            };
                        if next() < nan_rate {
                            f32::NAN
                        } else {
                            y as f32
                        }
                    })
                    .collect();
                let xs = explicit.then(|| {
                    let mut x = 1.7e9;
                    (0..n)
                        .map(|_| {
                            x += next() * 3.0;
                            x
                        })
                        .collect()
                });
                (ys, xs)
            },
        )
    }

    /// A view `width` columns wide over a share of the longest curve's x extent (from
    /// `view_start`, `view_len` long; partial views and views past the ends included).
    pub(crate) fn view_of(
        store: &CurveStore,
        view_start: f64,
        view_len: f64,
        width: u32,
    ) -> super::PixelMap {
        let extent = (0..store.len() as u32)
            .map(|id| store.x_at(id, store.y(id).len() - 1) - 1.7e9)
            .fold(1.0, f64::max);
        super::PixelMap::new(
            1.7e9 + view_start * extent,
            1.7e9 + (view_start + view_len) * extent,
            width,
        )
    }

    pub(crate) fn store_of(curves: &[(Vec<f32>, Option<Vec<f64>>)]) -> CurveStore {
        let mut b = CurveStoreBuilder::new(&[]);
        for (i, (ys, xs)) in curves.iter().enumerate() {
            match xs {
                Some(xs) => b.push_explicit(i.to_string(), &[], xs, ys).unwrap(),
                None => b.push_uniform(i.to_string(), &[], 1.7e9, 1.5, ys).unwrap(),
            }
        }
        b.finish().unwrap()
    }

    /// Dense curves that force the M4 path (hundreds of samples per column): NaN runs,
    /// repeated explicit x, ±1e30 spikes, constant stretches.
    pub(crate) fn dense_curve_strategy() -> impl Strategy<Value = (Vec<f32>, Option<Vec<f64>>)> {
        (2_000usize..20_000, any::<bool>(), any::<u64>(), 0u8..4).prop_map(
            |(n, explicit, seed, kind)| {
                let mut state = seed | 1;
                let mut next = move || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 11) as f64 / (1u64 << 53) as f64
                };
                let mut y = 0.0f64;
                let mut nan_run = 0;
                let ys = (0..n)
                    .map(|i| {
                        y += next() - 0.5;
                        if nan_run > 0 {
                            nan_run -= 1;
                            return f32::NAN;
                        }
                        if next() < 0.002 {
                            nan_run = (next() * 300.0) as usize;
                        }
                        match kind {
                            // Constant for long stretches.
                            0 if (i / 500) % 2 == 0 => 2.0,
                            // Rare spikes far beyond the view.
                            1 if next() < 0.001 => {
                                if next() < 0.5 {
                                    1e30
                                } else {
                                    -1e30
                                }
                            }
                            _ => y as f32,
                        }
                    })
                    .collect();
                let xs = explicit.then(|| {
                    let mut x = 1.7e9;
                    (0..n)
                        .map(|_| {
                            // Repeated x: several samples at one instant.
                            if next() > 0.2 {
                                x += next() * 0.2;
                            }
                            x
                        })
                        .collect()
                });
                (ys, xs)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::test_curves::{curve_strategy, dense_curve_strategy, store_of, view_of};
    use super::*;
    use crate::curves::{Raster, RowMap};
    use proptest::prelude::*;

    proptest! {
        /// A map panned by whole columns gives every x near the view its pixel x less those
        /// columns exactly (epoch seconds, any scale), and finds the same x at its edges.
        #[test]
        fn a_panned_map_moves_pixel_x_by_whole_columns_exactly(
            x_start in 1.0e9f64..2.0e9,
            x_span in 1.0e-3f64..1.0e6,
            width in 1u32..4_000,
            pans in proptest::collection::vec(-2_000i32..2_000, 1..4),
            samples in proptest::collection::vec(-1.5f64..2.5, 1..50),
        ) {
            let first = PixelMap::new(x_start, x_start + x_span, width);
            let mut map = first;
            for columns in pans {
                let Some(panned) = map.panned(columns) else { continue };
                prop_assert_eq!(panned.columns_from(&map), Some(columns));
                prop_assert_eq!(panned.columns_from(&first), map.columns_from(&first).map(|c| c + columns));
                for &at in &samples {
                    let x = map.x_start + at * x_span;
                    let (before, after) = (map.px(x), panned.px(x));
                    if map.is_exact_at(before) && panned.is_exact_at(after) {
                        prop_assert_eq!(after, before - columns as f32, "x {} panned by {}", x, columns);
                    }
                }
                prop_assert!(panned.px(panned.x_start).abs() < 1e-2);
                map = panned;
            }
        }
    }

    #[test]
    fn a_view_moved_by_whole_columns_follows_the_map_and_any_other_starts_afresh() {
        let map = PixelMap::new(1.7e9, 1.7e9 + 800.0, 1_600);
        // egui_plot's drag: the bounds moved by 40 points of 0.5 s, in f64.
        let x_per_px = 800.0 / 1_600.0;
        let dragged = map.follow(
            1.7e9 + 40.0 * x_per_px,
            1.7e9 + 800.0 + 40.0 * x_per_px,
            1_600,
        );
        assert_eq!(dragged.columns_from(&map), Some(40));
        assert_eq!(
            dragged.follow(dragged.x_start, dragged.x_end, 1_600),
            dragged
        );
        // egui's bounds a bit off the map's own: the same map, not one rebuilt from them.
        assert_eq!(map.follow(1.7e9, 1.7e9 + 800.0 + 1e-7, 1_600), map);
        let back = dragged.follow(1.7e9, 1.7e9 + 800.0, 1_600);
        assert_eq!(back.columns_from(&map), Some(0));
        assert_eq!(back.px(1.7e9 + 100.0), map.px(1.7e9 + 100.0));
        // A frame a fraction of a pixel wider than its picture: a drag by whole pixels is
        // whole columns give or take a few hundredths.
        let near = map.follow(
            1.7e9 + 40.03 * x_per_px,
            1.7e9 + 800.0 + 40.03 * x_per_px,
            1_600,
        );
        assert_eq!(near.columns_from(&map), Some(40));
        // A zoom, a resize and a move by part of a column draw a map of their own.
        for (x_start, x_end, width) in [
            (1.7e9, 1.7e9 + 700.0, 1_600),
            (1.7e9, 1.7e9 + 800.0, 1_599),
            (
                1.7e9 + 0.3 * x_per_px,
                1.7e9 + 800.0 + 0.3 * x_per_px,
                1_600,
            ),
        ] {
            let fresh = map.follow(x_start, x_end, width);
            assert_eq!(fresh, PixelMap::new(x_start, x_end, width));
        }
        // Epoch seconds over 1.6 s, the far bound a unit in the last place off (an f64
        // sum there): still a pan.
        let epoch = PixelMap::new(1.7e9 + 0.3, 1.7e9 + 1.9, 1_250);
        let by = 40.0 * 1.6 / 1_250.0;
        let ulp = 2.0f64.powi(-22);
        let moved = epoch.follow(epoch.x_start + by, epoch.x_end + by + ulp, 1_250);
        assert_eq!(moved.columns_from(&epoch), Some(40));
        // Far from the anchor: afresh.
        let far = map.follow(
            1.7e9 + 5_000.0 * x_per_px,
            1.7e9 + 800.0 + 5_000.0 * x_per_px,
            1_600,
        );
        assert_eq!(far.columns_from(&map), None);
    }

    fn raster(curves: &Decimated, width: u32, rows: RowMap) -> Raster {
        let mut r = Raster::new(width, rows.height_px);
        r.draw(curves, rows);
        r
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// The heart of the curve engine: M4 draws exactly the pixels of every sample.
        #[test]
        fn m4_is_pixel_identical_to_drawing_every_sample(
            curves in proptest::collection::vec(curve_strategy(), 1..6),
            width in 1u32..300,
            height in 1u32..200,
            view_start in -0.2f64..0.9,
            view_len in 0.01f64..1.5,
            y_lo in -30.0f32..0.0,
            y_span in 1.0f32..60.0,
        ) {
            let store = store_of(&curves);
            let map = view_of(&store, view_start, view_len, width);
            let rows = RowMap::new(y_lo, y_lo + y_span, height);
            let full = all_points(&store, &map);
            let m4 = decimate_m4(&store, &map);
            let samples = |d: &Decimated| d.y.iter().zip(0..).filter(|(v, i)| !v.is_nan() && d.ranges.iter().any(|&(s, l)| (s..s + l).contains(i))).count();
            prop_assert!(samples(&m4) <= samples(&full));
            let (a, b) = (raster(&full, width, rows), raster(&m4, width, rows));
            prop_assert!(a.same_pixels(&b), "{} vs {} lit pixels", a.lit(), b.lit());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The same guarantee where M4 really shrinks the curves, so its column scan (not the
        /// copy-whole shortcut) is what is checked.
        #[test]
        fn m4_shrinks_dense_curves_and_still_lights_the_same_pixels(
            curves in proptest::collection::vec(dense_curve_strategy(), 1..4),
            width in 8u32..160,
            height in 8u32..160,
            view_start in -0.05f64..0.5,
            view_len in 0.2f64..1.2,
        ) {
            let store = store_of(&curves);
            let map = view_of(&store, view_start, view_len, width);
            let rows = RowMap::new(-300.0, 300.0, height);
            let full = all_points(&store, &map);
            let m4 = decimate_m4(&store, &map);
            prop_assert!(m4.point_count() * 2 < full.point_count(), "M4 did not shrink: {} of {}", m4.point_count(), full.point_count());
            let (a, b) = (raster(&full, width, rows), raster(&m4, width, rows));
            prop_assert!(a.lit() > 0, "nothing drawn");
            prop_assert!(a.same_pixels(&b), "{} vs {} lit pixels", a.lit(), b.lit());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// A thread's [`CurvePoints`] keeps pixel x from curve to curve: whatever it met
        /// before (more samplings than it keeps, shorter and longer curves, explicit x, M4,
        /// another view), each curve's points are those a fresh one gives.
        #[test]
        fn kept_pixel_xs_give_each_curve_the_points_of_a_fresh_conversion(
            curves in proptest::collection::vec(
                (0usize..7, 1usize..400, any::<bool>()), 1..40),
            order in proptest::collection::vec((0usize..1000, any::<bool>()), 1..80),
            width in 1u32..300,
        ) {
            let mut b = crate::curves::CurveStoreBuilder::new(&[]);
            for (i, &(sampling, len, gap)) in curves.iter().enumerate() {
                let ys: Vec<f32> = (0..len)
                    .map(|k| if gap && k == len / 2 { f32::NAN } else { (k as f32 * 0.37).sin() })
                    .collect();
                if sampling == 6 {
                    let xs: Vec<f64> = (0..len).map(|k| k as f64 * 0.9).collect();
                    b.push_explicit(i.to_string(), &[], &xs, &ys).unwrap();
                } else {
                    // Six samplings, two of them one start apart.
                    let (x0, dx) = [(0.0, 1.0), (0.0, 0.5), (1.0, 1.0), (-3.5, 2.25), (0.0, 0.1), (7.0, 0.5)][sampling];
                    b.push_uniform(i.to_string(), &[], x0, dx, &ys).unwrap();
                }
            }
            let store = b.finish().unwrap();
            // A whole view, where every sample is kept, and a narrow one that starts
            // inside the curves (M4 for the long ones where the width is small).
            let maps = [PixelMap::new(-4.0, 420.0, width), PixelMap::new(30.5, 95.0, width)];
            let mut kept = CurvePoints::default();
            for (pick, narrow) in order {
                let id = (pick % curves.len()) as u32;
                let map = &maps[usize::from(narrow)];
                let (xs, ys) = kept.of(&store, id, map);
                let (xs, ys) = (xs.to_vec(), ys.to_vec());
                let mut fresh = CurvePoints::default();
                let (want_xs, want_ys) = fresh.of(&store, id, map);
                prop_assert_eq!(xs.len(), want_xs.len());
                prop_assert!(xs.iter().zip(want_xs).all(|(a, b)| a.to_bits() == b.to_bits()), "pixel x of curve {}", id);
                prop_assert!(ys.iter().zip(want_ys).all(|(a, b)| a.to_bits() == b.to_bits()), "y of curve {}", id);
            }
        }
    }

    #[test]
    fn block_summaries_give_the_same_extremes_as_a_scan() {
        let n = 50 * BLOCK_SAMPLES + 333;
        let mut ys: Vec<f32> = (0..n)
            .map(|i| ((i as f32) * 0.013).sin() * (1.0 + (i % 89) as f32 * 0.01))
            .collect();
        // A gap inside block 20 and a spike at a block's first sample.
        ys[20 * BLOCK_SAMPLES + 17] = f32::NAN;
        ys[31 * BLOCK_SAMPLES] = 9.0;
        let store = store_of(&[(ys.clone(), None)]);
        let blocks = store.blocks(0);
        assert_eq!(blocks.len(), n.div_ceil(BLOCK_SAMPLES));
        let mut state = 12345u64;
        for _ in 0..2000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let from = (state >> 33) as usize % n;
            let len = 1 + (state >> 13) as usize % (8 * BLOCK_SAMPLES);
            let to = (from + len).min(n);
            let slice = &ys[from..to];
            let got = min_max_positions(&ys, blocks, from, to);
            if slice.iter().any(|v| v.is_nan()) {
                assert_eq!(got, None, "{from}..{to} holds the gap");
                continue;
            }
            let (low, high) = got.unwrap();
            assert!((from..to).contains(&low) && (from..to).contains(&high));
            let min = slice.iter().copied().fold(f32::INFINITY, f32::min);
            let max = slice.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!((ys[low], ys[high]), (min, max), "{from}..{to}");
        }
    }

    #[test]
    fn a_long_uniform_curve_shrinks_to_four_points_per_column() {
        let ys: Vec<f32> = (0..100_000).map(|i| ((i as f32) * 0.01).sin()).collect();
        let store = store_of(&[(ys, None)]);
        let map = PixelMap::new(1.7e9, 1.7e9 + 150_000.0, 1000);
        let m4 = decimate_m4(&store, &map);
        assert!(m4.point_count() <= 4 * 1000 + 2, "{}", m4.point_count());
        assert!(m4.point_count() > 2 * 1000);
        // Timestamps near 1.7e9 s keep sub-pixel precision: x is offset before narrowing.
        let xs: Vec<f32> = m4.points(0).map(|p| p.0).collect();
        assert!(xs.windows(2).all(|w| w[0] <= w[1]));
        assert!(xs[1] > 0.0 && xs[1] < 1.0, "{}", xs[1]);
    }

    #[test]
    fn a_curve_split_across_cores_draws_like_a_whole_one() {
        let n = 5 * SPLIT_SAMPLES / 2;
        let mut ys: Vec<f32> = (0..n)
            .map(|i| ((i as f32) * 0.001).sin() * (1.0 + (i % 97) as f32 * 0.01))
            .collect();
        // Gaps everywhere, runs of them across likely cut points.
        for i in (0..n).step_by(50_021) {
            for y in ys.iter_mut().skip(i).take(1 + i % 5) {
                *y = f32::NAN;
            }
        }
        let store = store_of(&[(ys, None)]);
        let map = PixelMap::new(1.7e9 + 1000.0, 1.7e9 + n as f64 * 1.5 - 1000.0, 1500);
        assert!(plan_parts(&store, &map, &[(0, n)]).len() > 1);
        let rows = RowMap::new(-2.2, 2.2, 300);
        let m4 = decimate_m4(&store, &map);
        let ys: Vec<f32> = m4.points(0).map(|p| p.1).collect();
        assert!(!ys[0].is_nan() && !ys[ys.len() - 1].is_nan());
        assert!(
            ys.windows(2).all(|w| !(w[0].is_nan() && w[1].is_nan())),
            "doubled separators"
        );
        assert!(
            raster(&all_points(&store, &map), 1500, rows).same_pixels(&raster(&m4, 1500, rows))
        );
    }

    #[test]
    fn gaps_become_separators_and_invalid_views_give_nothing() {
        let store = store_of(&[(vec![1.0, f32::NAN, f32::NAN, 2.0, 3.0, 2.5, f32::NAN], None)]);
        // One column: M4 per run, one separator for the two NaNs, none at the end.
        let m4 = decimate_m4(&store, &PixelMap::new(1.7e9 - 1.0, 1.7e9 + 10.0, 1));
        let ys: Vec<f32> = m4.points(0).map(|p| p.1).collect();
        assert_eq!(ys.len(), 5, "{ys:?}");
        assert!(ys[1].is_nan() && ys[0] == 1.0 && ys[2..] == [2.0, 3.0, 2.5]);
        // Many columns: nothing to shrink, every sample is kept.
        let copied = decimate_m4(&store, &PixelMap::new(1.7e9 - 1.0, 1.7e9 + 10.0, 100));
        assert_eq!(copied.points(0).filter(|p| !p.1.is_nan()).count(), 4);
        let empty = decimate_m4(&store, &PixelMap::new(5.0, 5.0, 100));
        assert_eq!(empty.point_count(), 0);
    }
}
