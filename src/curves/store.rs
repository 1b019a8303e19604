//! [`CurveStore`]: many curves as a structure of arrays.
//!
//! All y values of all curves live in one contiguous `Vec<f32>`, addressed by per-curve
//! offsets, so decimation can hand each rayon worker a plain slice. x is either implicit
//! (uniform sampling: `x0 + i * dx`) or explicit in a second contiguous `Vec<f64>`; f64 keeps
//! epoch timestamps exact to well below a millisecond. Per-curve metadata (series key and
//! label columns) is stored column-wise too, and [`Axes`] names what x and y are.
//!
//! The builder stores a curve whose x values are exactly `x0 + i·dx` (a sample index, a
//! fixed-rate clock) as uniform, whatever the source handed it: no x bytes at all.

use std::collections::HashMap;

/// Index of a curve inside one [`CurveStore`].
pub type CurveId = u32;

/// How the x values of one curve are known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// `x[i] = x0 + i * dx`; nothing is stored per sample.
    Uniform { x0: f64, dx: f64 },
    /// One stored f64 per sample.
    Explicit,
}

/// One metadata column: a value per curve (part serial, station, OK/NOK, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelColumn {
    pub name: String,
    pub values: Vec<String>,
}

/// What x and y measure, as the source names them (column names, units), so pictures of
/// foreign data say what they show.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Axes {
    pub x: String,
    pub y: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_unit: Option<String>,
    /// x is a time in epoch seconds (ticks shown as dates).
    #[serde(default)]
    pub x_is_time: bool,
}

impl Default for Axes {
    fn default() -> Self {
        Self::named("x", "y")
    }
}

impl Axes {
    pub fn named(x: impl Into<String>, y: impl Into<String>) -> Self {
        Self {
            x: x.into(),
            y: y.into(),
            x_unit: None,
            y_unit: None,
            x_is_time: false,
        }
    }

    /// "angle (deg)", or the bare name where the unit is unknown.
    pub fn x_title(&self) -> String {
        with_unit(&self.x, self.x_unit.as_deref())
    }

    pub fn y_title(&self) -> String {
        with_unit(&self.y, self.y_unit.as_deref())
    }
}

fn with_unit(name: &str, unit: Option<&str>) -> String {
    match unit {
        Some(unit) if !unit.is_empty() => format!("{name} ({unit})"),
        _ => name.to_owned(),
    }
}

/// Where a store's bytes go (`lyceum dataset` size reports count all of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreBytes {
    /// f32 y samples.
    pub y: usize,
    /// f64 x samples of explicitly sampled curves.
    pub x: usize,
    /// Keys, label values and per-curve offsets and sampling.
    pub metadata: usize,
}

impl StoreBytes {
    pub fn total(&self) -> usize {
        self.y + self.x + self.metadata
    }
}

/// Samples per block of the min/max index of long curves.
pub const BLOCK_SAMPLES: usize = 1024;
/// Curves shorter than this have no block index: scanning them is as fast.
pub const INDEXED_CURVE_SAMPLES: usize = 4 * BLOCK_SAMPLES;

/// Minimum and maximum of one block of [`BLOCK_SAMPLES`] samples of a long curve (the last
/// block may be shorter), with their positions in the block. Decimation combines them for the
/// whole blocks inside a pixel column and scans only the column's ragged ends, so re-decimating
/// a 100 M-sample series reads about 1/1000 of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockSummary {
    pub min: f32,
    pub max: f32,
    pub min_at: u16,
    pub max_at: u16,
    /// The block holds a NaN (a gap): its summary cannot stand for it.
    pub has_nan: bool,
}

impl BlockSummary {
    fn of(block: &[f32]) -> Self {
        use argminmax::NaNArgMinMax;
        let (min_at, max_at) = block.nanargminmax();
        let (min, max) = (block[min_at], block[max_at]);
        Self {
            min,
            max,
            // Blocks are BLOCK_SAMPLES (≤ u16::MAX) long.
            min_at: min_at as u16,
            max_at: max_at as u16,
            has_nan: min.is_nan() || max.is_nan(),
        }
    }
}

/// Errors building a store; they name the curve so a bad source row can be found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("curve `{key}` has {x_len} x values but {y_len} y values")]
    LengthMismatch {
        key: String,
        x_len: usize,
        y_len: usize,
    },
    #[error("curve `{key}` has {got} label values, the store has {expected} label columns")]
    LabelCount {
        key: String,
        expected: usize,
        got: usize,
    },
    #[error("points were added before any curve was started")]
    NoOpenCurve,
}

/// Curves in columnar memory. Build one with [`CurveStoreBuilder`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurveStore {
    y_values: Vec<f32>,
    /// `y_offsets[id]..y_offsets[id + 1]` is curve `id`'s range in `y_values`.
    y_offsets: Vec<usize>,
    x_values: Vec<f64>,
    /// Same layout as `y_offsets`; uniform curves own an empty range.
    x_offsets: Vec<usize>,
    sampling: Vec<Sampling>,
    keys: Vec<String>,
    labels: Vec<LabelColumn>,
    axes: Axes,
    /// Block summaries of long curves, curve after curve; `block_offsets[id]..[id + 1]`.
    blocks: Vec<BlockSummary>,
    block_offsets: Vec<usize>,
    /// Per curve: whether its samples hold a NaN (a gap).
    gapped: Vec<bool>,
}

impl CurveStore {
    /// The min/max block index of curve `id` (empty for curves shorter than
    /// [`INDEXED_CURVE_SAMPLES`]): block `k` covers samples `k·BLOCK_SAMPLES..`.
    pub fn blocks(&self, id: CurveId) -> &[BlockSummary] {
        let id = id as usize;
        match (self.block_offsets.get(id), self.block_offsets.get(id + 1)) {
            (Some(&a), Some(&b)) => &self.blocks[a..b],
            _ => &[],
        }
    }

    /// What x and y are.
    pub fn axes(&self) -> &Axes {
        &self.axes
    }

    /// Name the axes (sources know their columns; the store does not).
    pub fn set_axes(&mut self, axes: Axes) {
        self.axes = axes;
    }

    /// Bytes of samples and of metadata, as held (not counting spare capacity).
    pub fn bytes(&self) -> StoreBytes {
        let strings = |v: &[String]| v.iter().map(|s| s.len()).sum::<usize>();
        StoreBytes {
            y: self.y_values.len() * size_of::<f32>(),
            x: self.x_values.len() * size_of::<f64>(),
            metadata: strings(&self.keys)
                + self
                    .labels
                    .iter()
                    .map(|c| strings(&c.values))
                    .sum::<usize>()
                + (self.y_offsets.len() + self.x_offsets.len() + self.block_offsets.len())
                    * size_of::<usize>()
                + self.sampling.len() * size_of::<Sampling>()
                + self.blocks.len() * size_of::<BlockSummary>()
                + self.gapped.len(),
        }
    }

    /// Whether curve `id`'s samples hold a NaN (a gap); true for a curve it does not have,
    /// so that a caller skipping the search for gaps on false never skips a gap.
    pub fn has_gaps(&self, id: CurveId) -> bool {
        self.gapped.get(id as usize).copied().unwrap_or(true)
    }

    /// Number of curves.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of samples over all curves.
    pub fn point_count(&self) -> usize {
        self.y_values.len()
    }

    /// A new store of the curves `ids` (in that order), with their labels and the axes:
    /// the selection saved or exported on its own.
    pub fn subset(&self, ids: &[CurveId]) -> Result<Self, StoreError> {
        let names: Vec<&str> = self.labels.iter().map(|c| c.name.as_str()).collect();
        let mut builder = CurveStoreBuilder::new(&names);
        builder.set_axes(self.axes.clone());
        for &id in ids {
            let labels: Vec<&str> = self
                .labels
                .iter()
                .map(|c| c.values[id as usize].as_str())
                .collect();
            match (self.sampling(id), self.x_explicit(id)) {
                (Sampling::Explicit, Some(xs)) => {
                    builder.push_explicit(self.key(id), &labels, xs, self.y(id))?;
                }
                (Sampling::Uniform { x0, dx }, _) => {
                    builder.push_uniform(self.key(id), &labels, x0, dx, self.y(id))?;
                }
                (Sampling::Explicit, None) => {
                    builder.push_explicit(self.key(id), &labels, &[], &[])?;
                }
            }
        }
        builder.finish()
    }

    /// The series key of a curve (curve id in the source, sensor id, …).
    pub fn key(&self, id: CurveId) -> &str {
        &self.keys[id as usize]
    }

    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The curve whose key is `key`, by linear search; callers that look up many keys
    /// should build [`Self::key_index`] once.
    pub fn find(&self, key: &str) -> Option<CurveId> {
        self.keys
            .iter()
            .position(|k| k == key)
            .map(|i| i as CurveId)
    }

    /// A map from key to curve id.
    pub fn key_index(&self) -> HashMap<&str, CurveId> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i as CurveId))
            .collect()
    }

    pub fn y(&self, id: CurveId) -> &[f32] {
        let id = id as usize;
        &self.y_values[self.y_offsets[id]..self.y_offsets[id + 1]]
    }

    /// The stored x values of an explicitly sampled curve; `None` for uniform sampling.
    pub fn x_explicit(&self, id: CurveId) -> Option<&[f64]> {
        let i = id as usize;
        match self.sampling[i] {
            Sampling::Uniform { .. } => None,
            Sampling::Explicit => Some(&self.x_values[self.x_offsets[i]..self.x_offsets[i + 1]]),
        }
    }

    /// x of sample `index` of curve `id`, whatever the sampling.
    pub fn x_at(&self, id: CurveId, index: usize) -> f64 {
        match self.sampling[id as usize] {
            Sampling::Uniform { x0, dx } => x0 + index as f64 * dx,
            Sampling::Explicit => self.x_values[self.x_offsets[id as usize] + index],
        }
    }

    pub fn sampling(&self, id: CurveId) -> Sampling {
        self.sampling[id as usize]
    }

    /// All y values, curve after curve; with [`Self::y_offsets`] this is what decimation reads.
    pub fn y_values(&self) -> &[f32] {
        &self.y_values
    }

    /// `len() + 1` offsets into [`Self::y_values`].
    pub fn y_offsets(&self) -> &[usize] {
        &self.y_offsets
    }

    pub fn label_columns(&self) -> &[LabelColumn] {
        &self.labels
    }

    /// The value of label column `name` for curve `id`.
    pub fn label(&self, name: &str, id: CurveId) -> Option<&str> {
        self.labels
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.values[id as usize].as_str())
    }

    /// Bytes of sample data as a source would hold them: an f32 per y, an f64 per stored x.
    pub fn raw_sample_bytes(&self) -> usize {
        self.y_values.len() * size_of::<f32>() + self.x_values.len() * size_of::<f64>()
    }

    /// Bytes this store holds on the heap (capacities, keys and labels included).
    pub fn heap_bytes(&self) -> usize {
        let strings = |v: &[String]| v.iter().map(|s| s.capacity()).sum::<usize>();
        self.y_values.capacity() * size_of::<f32>()
            + self.x_values.capacity() * size_of::<f64>()
            + self.blocks.capacity() * size_of::<BlockSummary>()
            + self.block_offsets.capacity() * size_of::<usize>()
            + self.gapped.capacity()
            + (self.y_offsets.capacity() + self.x_offsets.capacity()) * size_of::<usize>()
            + self.sampling.capacity() * size_of::<Sampling>()
            + self.keys.capacity() * size_of::<String>()
            + strings(&self.keys)
            + self
                .labels
                .iter()
                .map(|c| c.values.capacity() * size_of::<String>() + strings(&c.values))
                .sum::<usize>()
    }
}

/// `(x0, dx)` when every `xs[i]` is exactly `x0 + i·dx` as [`CurveStore::x_at`] computes it
/// (so storing the pair loses nothing), with at least two samples and a positive step.
fn exactly_uniform(xs: &[f64]) -> Option<(f64, f64)> {
    let [x0, x1, ..] = *xs else {
        return None;
    };
    let dx = x1 - x0;
    (dx > 0.0 && dx.is_finite() && xs.iter().enumerate().all(|(i, &x)| x0 + i as f64 * dx == x))
        .then_some((x0, dx))
}

/// Appends curves to a [`CurveStore`] without per-curve allocations for the samples.
///
/// Decoders stream into it: [`Self::start_curve`] opens a curve, then samples are appended
/// with [`Self::extend_y`] (uniform) or [`Self::push_xy`] (explicit).
#[derive(Debug)]
pub struct CurveStoreBuilder {
    store: CurveStore,
    open: bool,
}

impl CurveStoreBuilder {
    /// A builder whose curves carry one value for each of `label_names`.
    pub fn new(label_names: &[&str]) -> Self {
        let labels = label_names
            .iter()
            .map(|name| LabelColumn {
                name: (*name).to_owned(),
                values: Vec::new(),
            })
            .collect();
        Self {
            store: CurveStore {
                y_offsets: vec![0],
                x_offsets: vec![0],
                block_offsets: vec![0],
                labels,
                ..CurveStore::default()
            },
            open: false,
        }
    }

    /// Reserve room for `curves` curves of `points` samples in all.
    pub fn reserve(&mut self, curves: usize, points: usize, explicit_x: bool) {
        let s = &mut self.store;
        s.y_values.reserve(points);
        if explicit_x {
            s.x_values.reserve(points);
        }
        s.y_offsets.reserve(curves);
        s.x_offsets.reserve(curves);
        s.sampling.reserve(curves);
        s.keys.reserve(curves);
        for column in &mut s.labels {
            column.values.reserve(curves);
        }
    }

    /// Number of curves started so far.
    pub fn len(&self) -> usize {
        self.store.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.keys.is_empty()
    }

    /// Key of the curve currently open, if any.
    pub fn open_key(&self) -> Option<&str> {
        if self.open {
            self.store.keys.last().map(String::as_str)
        } else {
            None
        }
    }

    /// Close the open curve (if any) and open a new one.
    pub fn start_curve(
        &mut self,
        key: impl Into<String>,
        labels: &[&str],
        sampling: Sampling,
    ) -> Result<(), StoreError> {
        let key = key.into();
        if labels.len() != self.store.labels.len() {
            return Err(StoreError::LabelCount {
                key,
                expected: self.store.labels.len(),
                got: labels.len(),
            });
        }
        self.close_curve()?;
        for (column, value) in self.store.labels.iter_mut().zip(labels) {
            column.values.push((*value).to_owned());
        }
        self.store.keys.push(key);
        self.store.sampling.push(sampling);
        self.open = true;
        Ok(())
    }

    /// Curves closed so far (the open one, still being filled, left out).
    pub fn completed_len(&self) -> usize {
        self.store.keys.len() - usize::from(self.open)
    }

    /// The curves closed so far as a store of their own, the one being filled left out: a
    /// stream drawn while it arrives. Copies only the closed curves' data.
    pub fn completed(&self) -> CurveStore {
        let s = &self.store;
        let n = self.completed_len();
        let (y_end, x_end) = (s.y_offsets[n], s.x_offsets[n]);
        let block_end = s.block_offsets[n];
        CurveStore {
            y_values: s.y_values[..y_end].to_vec(),
            y_offsets: s.y_offsets[..=n].to_vec(),
            x_values: s.x_values[..x_end].to_vec(),
            x_offsets: s.x_offsets[..=n].to_vec(),
            sampling: s.sampling[..n].to_vec(),
            keys: s.keys[..n].to_vec(),
            labels: s
                .labels
                .iter()
                .map(|c| LabelColumn {
                    name: c.name.clone(),
                    values: c.values[..n].to_vec(),
                })
                .collect(),
            axes: s.axes.clone(),
            blocks: s.blocks[..block_end].to_vec(),
            block_offsets: s.block_offsets[..=n].to_vec(),
            gapped: s.gapped[..n].to_vec(),
        }
    }

    /// Append y samples to the open curve.
    pub fn extend_y(&mut self, ys: impl IntoIterator<Item = f32>) -> Result<(), StoreError> {
        if !self.open {
            return Err(StoreError::NoOpenCurve);
        }
        self.store.y_values.extend(ys);
        Ok(())
    }

    /// Append one (x, y) sample to the open curve (explicit sampling).
    pub fn push_xy(&mut self, x: f64, y: f32) -> Result<(), StoreError> {
        if !self.open {
            return Err(StoreError::NoOpenCurve);
        }
        self.store.x_values.push(x);
        self.store.y_values.push(y);
        Ok(())
    }

    /// Append x samples to the open curve (explicit sampling); with [`Self::extend_y`].
    pub fn extend_x(&mut self, xs: impl IntoIterator<Item = f64>) -> Result<(), StoreError> {
        if !self.open {
            return Err(StoreError::NoOpenCurve);
        }
        self.store.x_values.extend(xs);
        Ok(())
    }

    /// Add a whole uniformly sampled curve.
    pub fn push_uniform(
        &mut self,
        key: impl Into<String>,
        labels: &[&str],
        x0: f64,
        dx: f64,
        ys: &[f32],
    ) -> Result<(), StoreError> {
        self.start_curve(key, labels, Sampling::Uniform { x0, dx })?;
        self.extend_y(ys.iter().copied())
    }

    /// Add a whole explicitly sampled curve.
    pub fn push_explicit(
        &mut self,
        key: impl Into<String>,
        labels: &[&str],
        xs: &[f64],
        ys: &[f32],
    ) -> Result<(), StoreError> {
        self.start_curve(key, labels, Sampling::Explicit)?;
        self.extend_x(xs.iter().copied())?;
        self.extend_y(ys.iter().copied())
    }

    fn close_curve(&mut self) -> Result<(), StoreError> {
        if !self.open {
            return Ok(());
        }
        let s = &mut self.store;
        let y_start = s.y_offsets[s.y_offsets.len() - 1];
        let x_start = s.x_offsets[s.x_offsets.len() - 1];
        let y_len = s.y_values.len() - y_start;
        let x_len = s.x_values.len() - x_start;
        let explicit = matches!(s.sampling.last(), Some(Sampling::Explicit));
        if (explicit && x_len != y_len) || (!explicit && x_len != 0) {
            return Err(StoreError::LengthMismatch {
                key: s.keys.last().cloned().unwrap_or_default(),
                x_len,
                y_len,
            });
        }
        if explicit && let Some((x0, dx)) = exactly_uniform(&s.x_values[x_start..]) {
            s.x_values.truncate(x_start);
            if let Some(sampling) = s.sampling.last_mut() {
                *sampling = Sampling::Uniform { x0, dx };
            }
        }
        let ys = &s.y_values[y_start..];
        if ys.len() >= INDEXED_CURVE_SAMPLES {
            s.blocks
                .extend(ys.chunks(BLOCK_SAMPLES).map(BlockSummary::of));
        }
        s.block_offsets.push(s.blocks.len());
        // A fold rather than `any`: no early exit, so it vectorises.
        s.gapped
            .push(ys.iter().fold(false, |gap, y| gap | y.is_nan()));
        s.y_offsets.push(s.y_values.len());
        s.x_offsets.push(s.x_values.len());
        self.open = false;
        Ok(())
    }

    /// Close the open curve and hand out the store, trimmed to its size.
    /// Name the axes of the store being built.
    pub fn set_axes(&mut self, axes: Axes) {
        self.store.axes = axes;
    }

    pub fn finish(mut self) -> Result<CurveStore, StoreError> {
        self.close_curve()?;
        let mut store = self.store;
        store.y_values.shrink_to_fit();
        store.x_values.shrink_to_fit();
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_sampling_round_trips() -> Result<(), StoreError> {
        let mut b = CurveStoreBuilder::new(&["station"]);
        b.push_uniform("a", &["S1"], 10.0, 0.5, &[1.0, 2.0, 3.0])?;
        let xs = [1.7e9, 1.7e9 + 0.001, 1.7e9 + 0.0015];
        b.push_explicit("b", &["S2"], &xs, &[4.0, f32::NAN, 5.0])?;
        let s = b.finish()?;
        assert_eq!(s.len(), 2);
        assert_eq!(s.point_count(), 6);
        assert_eq!(s.y(0), &[1.0, 2.0, 3.0]);
        assert_eq!(s.x_at(0, 2), 11.0);
        assert_eq!(s.x_explicit(1), Some(&xs[..]));
        assert!(s.y(1)[1].is_nan());
        assert_eq!(s.label("station", 1), Some("S2"));
        assert_eq!(s.find("b"), Some(1));
        assert_eq!(s.raw_sample_bytes(), 6 * 4 + 3 * 8);
        assert_eq!(s.bytes().x, 3 * 8);
        // The gap is known per curve (the CPU rasteriser skips its search where there is none);
        // a curve the store does not have reads as gapped.
        assert_eq!(
            (s.has_gaps(0), s.has_gaps(1), s.has_gaps(2)),
            (false, true, true)
        );
        Ok(())
    }

    #[test]
    fn exactly_uniform_x_is_stored_as_uniform() -> Result<(), StoreError> {
        let mut b = CurveStoreBuilder::new(&[]);
        let index: Vec<f64> = (0..1001).map(f64::from).collect();
        b.push_explicit("index", &[], &index, &vec![1.0; 1001])?;
        // 0.1 steps are not exact in binary: x0 + i·dx differs from the accumulated sum.
        let tenths: Vec<f64> = (0..50).map(|i| f64::from(i) / 10.0).collect();
        b.push_explicit("tenths", &[], &tenths, &[0.0; 50])?;
        b.push_explicit("one", &[], &[5.0], &[1.0])?;
        b.push_explicit("backwards", &[], &[2.0, 1.0, 0.0], &[1.0; 3])?;
        let s = b.finish()?;
        assert_eq!(s.sampling(0), Sampling::Uniform { x0: 0.0, dx: 1.0 });
        assert_eq!(
            s.bytes().x,
            (50 + 1 + 3) * 8,
            "only the index curve lost its x"
        );
        for (id, xs) in [(1, &tenths[..]), (2, &[5.0][..]), (3, &[2.0, 1.0, 0.0][..])] {
            let stored: Vec<f64> = (0..xs.len()).map(|i| s.x_at(id, i)).collect();
            assert_eq!(stored, xs, "curve {id} keeps its exact x");
        }
        Ok(())
    }

    #[test]
    fn explicit_curve_with_missing_x_is_an_error() -> Result<(), StoreError> {
        let mut b = CurveStoreBuilder::new(&[]);
        b.start_curve("c", &[], Sampling::Explicit)?;
        b.extend_y([1.0, 2.0])?;
        b.extend_x([0.0])?;
        let err = b.finish().err();
        assert_eq!(
            err,
            Some(StoreError::LengthMismatch {
                key: "c".into(),
                x_len: 1,
                y_len: 2
            })
        );
        Ok(())
    }

    #[test]
    fn wrong_label_count_is_refused() {
        let mut b = CurveStoreBuilder::new(&["a", "b"]);
        assert!(matches!(
            b.push_uniform("k", &["only one"], 0.0, 1.0, &[]),
            Err(StoreError::LabelCount {
                expected: 2,
                got: 1,
                ..
            })
        ));
        assert!(matches!(b.extend_y([1.0]), Err(StoreError::NoOpenCurve)));
    }
}
