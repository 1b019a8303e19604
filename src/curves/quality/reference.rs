//! Reference curves taught from a set of curves: every sample, after [`Alignment`], falls in
//! the x bin `floor((x - x0) / dx)` of a [`BinGrid`]; per bin the count, mean, standard
//! deviation, median, MAD, min, max and chosen quantiles over all samples of all taught curves
//! (what `ARRAY JOIN` + bin + `GROUP BY` computes in ClickHouse). An [`Envelope`] follows from
//! a [`Reference`] by one of the monitors' rules ([`EnvelopeRule`]).
//!
//! The per-bin statistics sort each bin's values once: the samples are counted per bin,
//! scattered into one buffer bin after bin, then each bin is worked on in parallel (rayon).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::curves::{CurveId, CurveStore};

/// NaN (a bin without samples or limits) as `null` in JSON, which has no NaN, and back.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(values.iter().map(|v| (!v.is_nan()).then_some(*v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let values: Vec<Option<f64>> = Deserialize::deserialize(d)?;
        Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }
}

/// [`nan_as_null`] for the quantiles' `(level, values)` pairs.
mod nan_as_null_pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Pair(f64, #[serde(with = "super::nan_as_null")] Vec<f64>);

    pub fn serialize<S: Serializer>(pairs: &[(f64, Vec<f64>)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(pairs.iter().map(|(q, v)| Pair(*q, v.clone())))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(f64, Vec<f64>)>, D::Error> {
        let pairs: Vec<Pair> = Deserialize::deserialize(d)?;
        Ok(pairs.into_iter().map(|Pair(q, v)| (q, v)).collect())
    }
}

/// Where each curve's x starts counting from before binning.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alignment {
    /// x as stored.
    Absolute,
    /// x minus the x where the curve first reaches `level` (from below or above); a curve
    /// that never does is left out.
    Trigger { level: f64 },
    /// x minus the x of the curve's highest sample.
    Peak,
    /// x minus the x of the curve's last sample.
    Final,
}

impl Alignment {
    /// How far curve `id`'s x moves (subtracted), or none where the rule finds no point.
    pub fn shift(self, store: &CurveStore, id: CurveId) -> Option<f64> {
        let y = store.y(id);
        if y.is_empty() {
            return None;
        }
        match self {
            Self::Absolute => Some(0.0),
            Self::Final => Some(store.x_at(id, y.len() - 1)),
            // The first highest sample (as ClickHouse's `indexOf(y, max)` finds it).
            Self::Peak => {
                let mut best: Option<(usize, f32)> = None;
                for (i, &v) in y.iter().enumerate() {
                    if !v.is_nan() && best.is_none_or(|(_, b)| v > b) {
                        best = Some((i, v));
                    }
                }
                best.map(|(i, _)| store.x_at(id, i))
            }
            Self::Trigger { level } => first_crossing(store, id, level),
        }
    }
}

/// The x width sample `i` of `len` stands for in an area: the step to the next sample (the
/// last: from the one before; a lone sample: none). `x_at` gives a sample's x.
pub(crate) fn sample_step(len: usize, i: usize, x_at: impl Fn(usize) -> f64) -> f64 {
    let step = if i + 1 < len {
        x_at(i + 1) - x_at(i)
    } else if i > 0 {
        x_at(i) - x_at(i - 1)
    } else {
        0.0
    };
    step.abs()
}

/// The x where curve `id` first reaches `level` (linear between samples).
pub fn first_crossing(store: &CurveStore, id: CurveId, level: f64) -> Option<f64> {
    let y = store.y(id);
    let first = f64::from(*y.first()?);
    if first == level {
        return Some(store.x_at(id, 0));
    }
    let below = first < level;
    for i in 1..y.len() {
        let (a, b) = (f64::from(y[i - 1]), f64::from(y[i]));
        if a.is_nan() || b.is_nan() {
            continue;
        }
        if (b >= level) == below || b == level {
            let (xa, xb) = (store.x_at(id, i - 1), store.x_at(id, i));
            let t = if b == a { 0.0 } else { (level - a) / (b - a) };
            return Some(xa + t.clamp(0.0, 1.0) * (xb - xa));
        }
    }
    None
}

/// [`BinGrid::bin`] by a multiplication with the reciprocal of the bin width. Where the
/// product lies within rounding of a bin edge the division decides, so every answer is the
/// division's: elsewhere both are within a few ulps of the true quotient, on the same side
/// of every integer.
#[derive(Clone, Copy, Debug)]
pub struct BinLookup {
    grid: BinGrid,
    per_dx: f64,
}

impl BinLookup {
    #[inline]
    pub fn bin(&self, x: f64) -> Option<usize> {
        let u = (x - self.grid.x0) * self.per_dx;
        // No `floor` (a library call without SSE4.1): a truncating cast is the floor for
        // u ≥ 0, and u < 0 is before the grid unless rounding put it just below 0.
        if u.is_nan() || u < 0.0 {
            return if u > -1e-9 { self.grid.bin(x) } else { None };
        }
        let b = u as usize;
        let fraction = u - b as f64;
        let margin = 1e-9 * u.max(1.0);
        if fraction < margin || 1.0 - fraction < margin {
            return self.grid.bin(x);
        }
        (b < self.grid.bins).then_some(b)
    }
}

/// Bins of width `dx` from `x0`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinGrid {
    pub x0: f64,
    pub dx: f64,
    pub bins: usize,
}

impl BinGrid {
    /// `bins` bins over the aligned extent of the taught curves.
    pub fn spanning(
        store: &CurveStore,
        ids: &[CurveId],
        alignment: Alignment,
        bins: usize,
    ) -> Option<Self> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &id in ids {
            let Some(shift) = alignment.shift(store, id) else {
                continue;
            };
            let n = store.y(id).len();
            lo = lo.min(store.x_at(id, 0) - shift);
            hi = hi.max(store.x_at(id, n - 1) - shift);
        }
        let bins = bins.max(1);
        (lo.is_finite() && hi.is_finite()).then(|| {
            // The last sample falls inside the last bin, not one past it.
            let width = ((hi - lo) / bins as f64).max(f64::MIN_POSITIVE) * (1.0 + 1e-9);
            Self {
                x0: lo,
                dx: width,
                bins,
            }
        })
    }

    /// The bin of aligned x, if inside.
    pub fn bin(&self, x: f64) -> Option<usize> {
        let b = ((x - self.x0) / self.dx).floor();
        (b >= 0.0 && (b as usize) < self.bins).then_some(b as usize)
    }

    /// [`Self::bin`] for many x: the same answers, without a division per call.
    pub fn lookup(&self) -> BinLookup {
        BinLookup {
            grid: *self,
            per_dx: 1.0 / self.dx,
        }
    }

    /// The centre of bin `i`.
    pub fn centre(&self, i: usize) -> f64 {
        self.x0 + (i as f64 + 0.5) * self.dx
    }
}

/// Per-bin statistics of the taught curves (NaN where a bin holds no sample).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub grid: BinGrid,
    pub alignment: Alignment,
    /// How many curves were taught (those the alignment found a point on).
    pub curves: usize,
    pub count: Vec<u64>,
    #[serde(with = "nan_as_null")]
    pub mean: Vec<f64>,
    /// Population standard deviation.
    #[serde(with = "nan_as_null")]
    pub std: Vec<f64>,
    #[serde(with = "nan_as_null")]
    pub median: Vec<f64>,
    /// Median absolute deviation from the median (unscaled).
    #[serde(with = "nan_as_null")]
    pub mad: Vec<f64>,
    #[serde(with = "nan_as_null")]
    pub min: Vec<f64>,
    #[serde(with = "nan_as_null")]
    pub max: Vec<f64>,
    /// Per requested quantile q (0–1): its value per bin (nearest rank, as ClickHouse's
    /// `quantileExact`).
    #[serde(with = "nan_as_null_pairs")]
    pub quantiles: Vec<(f64, Vec<f64>)>,
}

/// The element at position `floor(q * n)` (clamped) of the values sorted, as ClickHouse's
/// `quantileExact`; found by selection, which reorders `values`.
fn exact_quantile(values: &mut [f32], q: f64) -> f64 {
    let index = position(values.len(), q);
    nth(values, index)
}

/// `quantileExact`'s position of level `q` among `n` sorted values.
fn position(n: usize, q: f64) -> usize {
    ((q * n as f64) as usize).min(n.saturating_sub(1))
}

/// The `index`-th smallest of `values` (reordering them).
fn nth(values: &mut [f32], index: usize) -> f64 {
    let (_, value, _) = values.select_nth_unstable_by(index, f32::total_cmp);
    f64::from(*value)
}

/// Bins of the samples of a few uniform samplings (`u32::MAX`: outside the grid), kept for
/// the next curves of those samplings: the curves of a station share one, so each is binned
/// once (a few kept, as stations of different programs take turns).
#[derive(Debug, Default)]
struct BinCache {
    /// Per sampling: `x0`, `dx` and the alignment's shift as bits, and the bins.
    kept: Vec<((u64, u64, u64), Vec<u32>)>,
}

/// Samplings a [`BinCache`] keeps.
const CACHED_SAMPLINGS: usize = 4;

/// The value kept for `key`, made empty if there is none (the oldest of `most` dropped).
pub(crate) fn kept_for<K: PartialEq, T: Default>(
    kept: &mut Vec<(K, T)>,
    key: K,
    most: usize,
) -> &mut T {
    let slot = match kept.iter().position(|(k, _)| *k == key) {
        Some(slot) => slot,
        None => {
            if kept.len() >= most.max(1) {
                kept.remove(0);
            }
            kept.push((key, T::default()));
            kept.len() - 1
        }
    };
    &mut kept[slot].1
}

/// Call `f(bin, y)` for every non-NaN sample of curve `id` whose x − `shift` falls in `grid`.
fn for_each_binned(
    store: &CurveStore,
    id: CurveId,
    shift: f64,
    grid: &BinGrid,
    cache: &mut BinCache,
    mut f: impl FnMut(usize, f32),
) {
    let y = store.y(id);
    let lookup = grid.lookup();
    match store.sampling(id) {
        crate::curves::Sampling::Uniform { x0, dx } => {
            let key = (x0.to_bits(), dx.to_bits(), shift.to_bits());
            let bins = kept_for(&mut cache.kept, key, CACHED_SAMPLINGS);
            // A longer curve of the same sampling: its further samples' bins added.
            for i in bins.len()..y.len() {
                let bin = lookup.bin(x0 + i as f64 * dx - shift);
                bins.push(bin.and_then(|b| u32::try_from(b).ok()).unwrap_or(u32::MAX));
            }
            for (&bin, &v) in bins.iter().zip(y) {
                if bin != u32::MAX && !v.is_nan() {
                    f(bin as usize, v);
                }
            }
        }
        crate::curves::Sampling::Explicit => {
            for (&x, &v) in store.x_explicit(id).unwrap_or_default().iter().zip(y) {
                if !v.is_nan()
                    && let Some(b) = lookup.bin(x - shift)
                {
                    f(b, v);
                }
            }
        }
    }
}

/// Teach a reference from curves `ids` of `store`.
pub fn teach(
    store: &CurveStore,
    ids: &[CurveId],
    alignment: Alignment,
    grid: BinGrid,
    quantiles: &[f64],
) -> Reference {
    let shifts: Vec<Option<f64>> = ids
        .par_iter()
        .map(|&id| alignment.shift(store, id))
        .collect();
    // Count per bin (per thread, then summed), then scatter every value into its bin's slice
    // of one buffer.
    let taught: Vec<(CurveId, f64)> = ids
        .iter()
        .zip(&shifts)
        .filter_map(|(&id, shift)| shift.map(|s| (id, s)))
        .collect();
    let counts = taught
        .par_iter()
        .fold(
            || (vec![0usize; grid.bins], BinCache::default()),
            |(mut counts, mut cache), &(id, shift)| {
                for_each_binned(store, id, shift, &grid, &mut cache, |b, _| counts[b] += 1);
                (counts, cache)
            },
        )
        .map(|(counts, _)| counts)
        .reduce(
            || vec![0usize; grid.bins],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                a
            },
        );
    let mut fill = Vec::with_capacity(grid.bins);
    let mut total = 0;
    for &c in &counts {
        fill.push(total);
        total += c;
    }
    let mut values = vec![0f32; total];
    let mut cache = BinCache::default();
    for &(id, shift) in &taught {
        for_each_binned(store, id, shift, &grid, &mut cache, |b, v| {
            values[fill[b]] = v;
            fill[b] += 1;
        });
    }
    let mut slices: Vec<&mut [f32]> = Vec::with_capacity(grid.bins);
    let mut rest = values.as_mut_slice();
    for &c in &counts {
        let (head, tail) = rest.split_at_mut(c);
        slices.push(head);
        rest = tail;
    }
    struct BinStats {
        mean: f64,
        std: f64,
        median: f64,
        mad: f64,
        min: f64,
        max: f64,
        quantiles: Vec<f64>,
    }
    let stats: Vec<BinStats> = slices
        .into_par_iter()
        .map(|bin| {
            if bin.is_empty() {
                return BinStats {
                    mean: f64::NAN,
                    std: f64::NAN,
                    median: f64::NAN,
                    mad: f64::NAN,
                    min: f64::NAN,
                    max: f64::NAN,
                    quantiles: vec![f64::NAN; quantiles.len()],
                };
            }
            let n = bin.len() as f64;
            let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
            for &v in bin.iter() {
                let v = f64::from(v);
                sum += v;
                min = min.min(v);
                max = max.max(v);
            }
            let mean = sum / n;
            let var = bin
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / n;
            let median = exact_quantile(bin, 0.5);
            // The median's selection left smaller values before it and larger after: each
            // quantile is selected in its side only.
            let middle = position(bin.len(), 0.5);
            let qs = quantiles
                .iter()
                .map(|&q| {
                    let k = position(bin.len(), q);
                    let (low, rest) = bin.split_at_mut(middle);
                    match k.cmp(&middle) {
                        std::cmp::Ordering::Equal => median,
                        std::cmp::Ordering::Less => nth(low, k),
                        std::cmp::Ordering::Greater => nth(&mut rest[1..], k - middle - 1),
                    }
                })
                .collect();
            let mut deviations: Vec<f32> = bin
                .iter()
                .map(|&v| (f64::from(v) - median).abs() as f32)
                .collect();
            BinStats {
                mean,
                std: var.sqrt(),
                median,
                mad: exact_quantile(&mut deviations, 0.5),
                min,
                max,
                quantiles: qs,
            }
        })
        .collect();
    Reference {
        grid,
        alignment,
        curves: shifts.iter().filter(|s| s.is_some()).count(),
        count: counts.iter().map(|&c| c as u64).collect(),
        mean: stats.iter().map(|s| s.mean).collect(),
        std: stats.iter().map(|s| s.std).collect(),
        median: stats.iter().map(|s| s.median).collect(),
        mad: stats.iter().map(|s| s.mad).collect(),
        min: stats.iter().map(|s| s.min).collect(),
        max: stats.iter().map(|s| s.max).collect(),
        quantiles: quantiles
            .iter()
            .enumerate()
            .map(|(k, &q)| (q, stats.iter().map(|s| s.quantiles[k]).collect()))
            .collect(),
    }
}

/// How an envelope follows from a reference.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnvelopeRule {
    /// mean ± k·σ per bin.
    MeanSigma { k: f64 },
    /// median ± k·MAD per bin.
    MedianMad { k: f64 },
    /// The taught curves' min and max, widened by `dy` in y and by `dx` in x (each bin takes
    /// the extremes of the bins within `dx`): the monitors' teach-in rule.
    MinMax { dy: f64, dx: f64 },
}

/// A band a good curve stays inside, per bin of its grid (NaN: no limit there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub grid: BinGrid,
    pub alignment: Alignment,
    pub rule: EnvelopeRule,
    #[serde(with = "nan_as_null")]
    pub lower: Vec<f64>,
    #[serde(with = "nan_as_null")]
    pub upper: Vec<f64>,
}

impl Envelope {
    pub fn from_reference(reference: &Reference, rule: EnvelopeRule) -> Self {
        let bins = reference.grid.bins;
        let (lower, upper) = match rule {
            EnvelopeRule::MeanSigma { k } => (0..bins)
                .map(|i| {
                    let (m, s) = (reference.mean[i], reference.std[i]);
                    (m - k * s, m + k * s)
                })
                .unzip(),
            EnvelopeRule::MedianMad { k } => (0..bins)
                .map(|i| {
                    let (m, d) = (reference.median[i], reference.mad[i]);
                    (m - k * d, m + k * d)
                })
                .unzip(),
            EnvelopeRule::MinMax { dy, dx } => {
                let reach = (dx / reference.grid.dx).ceil().max(0.0) as usize;
                (0..bins)
                    .map(|i| {
                        let range = i.saturating_sub(reach)..(i + reach + 1).min(bins);
                        let lo = reference.min[range.clone()]
                            .iter()
                            .copied()
                            .filter(|v| !v.is_nan())
                            .fold(f64::NAN, f64::min);
                        let hi = reference.max[range]
                            .iter()
                            .copied()
                            .filter(|v| !v.is_nan())
                            .fold(f64::NAN, f64::max);
                        (lo - dy, hi + dy)
                    })
                    .unzip()
            }
        };
        Self {
            grid: reference.grid,
            alignment: reference.alignment,
            rule,
            lower,
            upper,
        }
    }

    /// The band at aligned x, if the envelope has limits there.
    pub fn at(&self, x: f64) -> Option<(f64, f64)> {
        let b = self.grid.bin(x)?;
        let (lo, hi) = (self.lower[b], self.upper[b]);
        (!lo.is_nan() && !hi.is_nan()).then_some((lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;

    fn store(curves: &[&[f32]]) -> CurveStore {
        let mut b = CurveStoreBuilder::new(&[]);
        for (i, y) in curves.iter().enumerate() {
            b.push_uniform(format!("c{i}"), &[], 0.0, 1.0, y).unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn bins_hold_every_sample_and_their_statistics() {
        let s = store(&[
            &[1.0, 2.0, 3.0, 4.0],
            &[3.0, 2.0, 5.0, 8.0],
            &[2.0, 2.0, 4.0, 6.0],
        ]);
        let grid = BinGrid::spanning(&s, &[0, 1, 2], Alignment::Absolute, 2).unwrap();
        let r = teach(&s, &[0, 1, 2], Alignment::Absolute, grid, &[0.9]);
        assert_eq!(r.count, [6, 6]);
        // Bin 0: x = 0 and 1 → 1, 2, 3, 2, 2, 2.
        assert!((r.mean[0] - 2.0).abs() < 1e-12);
        assert_eq!((r.min[0], r.max[0], r.median[0]), (1.0, 3.0, 2.0));
        assert_eq!(r.mad[0], 0.0);
        // Bin 1: 3, 4, 5, 8, 4, 6 → sorted 3 4 4 5 6 8; quantileExact(0.5) = element 3 = 5.
        assert_eq!(r.median[1], 5.0);
        assert_eq!(r.quantiles[0].1[1], 8.0);
        let sigma = Envelope::from_reference(&r, EnvelopeRule::MeanSigma { k: 2.0 });
        assert!((sigma.upper[0] - (2.0 + 2.0 * r.std[0])).abs() < 1e-12);
        let minmax = Envelope::from_reference(&r, EnvelopeRule::MinMax { dy: 0.5, dx: 1.0 });
        // Widened by one bin in x: both bins see the other's extremes.
        assert_eq!((minmax.lower[1], minmax.upper[0]), (0.5, 8.5));
    }

    #[test]
    fn empty_bins_survive_json() {
        let s = store(&[&[1.0, 2.0]]);
        let grid = BinGrid {
            x0: 0.0,
            dx: 1.0,
            bins: 4,
        };
        let r = teach(&s, &[0], Alignment::Absolute, grid, &[0.5]);
        let e = Envelope::from_reference(&r, EnvelopeRule::MeanSigma { k: 1.0 });
        let text = serde_json::to_string(&(&r, &e)).unwrap();
        assert!(text.contains("null"), "{text}");
        let (r2, e2): (Reference, Envelope) = serde_json::from_str(&text).unwrap();
        assert!(r2.mean[3].is_nan() && e2.upper[3].is_nan());
        assert_eq!((r2.mean[0], e2.lower[1]), (r.mean[0], e.lower[1]));
        assert_eq!(r2.quantiles[0].1[0], 1.0);
    }

    #[test]
    fn alignment_moves_each_curve_to_its_own_mark() {
        let s = store(&[&[0.0, 0.0, 5.0, 10.0], &[0.0, 5.0, 10.0, 10.0]]);
        assert_eq!(Alignment::Trigger { level: 5.0 }.shift(&s, 0), Some(2.0));
        assert_eq!(Alignment::Trigger { level: 2.5 }.shift(&s, 1), Some(0.5));
        assert_eq!(Alignment::Trigger { level: 50.0 }.shift(&s, 1), None);
        assert_eq!(Alignment::Peak.shift(&s, 0), Some(3.0));
        assert_eq!(Alignment::Final.shift(&s, 1), Some(3.0));
    }

    #[test]
    fn the_bin_lookup_answers_as_the_division_does() {
        for grid in [
            BinGrid {
                x0: 0.0,
                dx: 0.1,
                bins: 1000,
            },
            BinGrid {
                x0: -3.3,
                dx: 1.0 / 3.0,
                bins: 77,
            },
            BinGrid {
                x0: 1.7e9,
                dx: 0.77,
                bins: 5000,
            },
        ] {
            let lookup = grid.lookup();
            for i in -50..(grid.bins as i64 + 50) {
                // Exactly on, just beside and between the edges.
                let edge = grid.x0 + i as f64 * grid.dx;
                for x in [
                    edge,
                    edge.next_up(),
                    edge.next_down(),
                    edge + grid.dx * 0.37,
                    grid.x0 + (i as f64 + 0.999_999_999_9) * grid.dx,
                ] {
                    assert_eq!(lookup.bin(x), grid.bin(x), "{grid:?} at {x}");
                }
            }
            for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                assert_eq!(lookup.bin(x), grid.bin(x));
            }
        }
    }

    #[test]
    fn bins_kept_per_sampling_match_bins_of_stored_x() {
        // Two samplings taking turns, lengths that vary, more samplings than are kept.
        let mut uniform = CurveStoreBuilder::new(&[]);
        let mut explicit = CurveStoreBuilder::new(&[]);
        for k in 0..40 {
            let (x0, dx) = [
                (0.0, 0.1),
                (0.05, 0.07),
                (1.0, 0.013),
                (-2.0, 0.3),
                (0.0, 0.2),
            ][k % 5];
            let n = 50 + (k * 37) % 120;
            let mut y: Vec<f32> = (0..n).map(|i| ((i + k) as f32 * 0.3).sin()).collect();
            let mut x: Vec<f64> = (0..n).map(|i| x0 + i as f64 * dx).collect();
            uniform
                .push_uniform(format!("c{k}"), &[], x0, dx, &y)
                .unwrap();
            // One more sample far off the grid (and never the peak), so the x stay stored
            // and are binned one by one.
            x.push(1e9);
            y.push(-1e9);
            explicit
                .push_explicit(format!("c{k}"), &[], &x, &y)
                .unwrap();
        }
        let (uniform, explicit) = (uniform.finish().unwrap(), explicit.finish().unwrap());
        assert_eq!(explicit.sampling(0), crate::curves::Sampling::Explicit);
        let ids: Vec<CurveId> = (0..40).collect();
        for alignment in [Alignment::Absolute, Alignment::Peak] {
            let grid = BinGrid::spanning(&uniform, &ids, alignment, 23).unwrap();
            let a = teach(&uniform, &ids, alignment, grid, &[0.1]);
            let b = teach(&explicit, &ids, alignment, grid, &[0.1]);
            assert_eq!(a.count, b.count, "{alignment:?}");
            assert_eq!((&a.min, &a.max), (&b.min, &b.max));
            assert_eq!((&a.median, &a.mad), (&b.median, &b.mad));
            assert_eq!(a.quantiles, b.quantiles);
        }
    }
}
