//! How far each curve is from normal: a distance to the centre of an [`Envelope`] taught from
//! a [`Reference`] — the mean for mean ± kσ, the median for median ± k·MAD (so one wild curve
//! in the taught set does not move "normal"), the middle of min/max — per curve, and the
//! curves ranked by it, farthest first.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::reference::{Envelope, Reference, sample_step};
use crate::curves::{CurveId, CurveStore};

/// A distance from normal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distance {
    /// Root mean square of y minus the envelope's centre, over the samples in its bins.
    L2,
    /// The largest |y − centre| over those samples.
    LInf,
    /// The area outside the envelope (excess × x step).
    AreaOutside,
}

/// Each curve's distance (NaN where the curve has no sample in the reference's bins).
pub fn scores(
    store: &CurveStore,
    ids: &[CurveId],
    reference: &Reference,
    envelope: &Envelope,
    distance: Distance,
) -> Vec<f64> {
    let grid = reference.grid.lookup();
    ids.par_iter()
        .map(|&id| {
            let Some(shift) = reference.alignment.shift(store, id) else {
                return f64::NAN;
            };
            let y = store.y(id);
            let (mut sum, mut n, mut worst, mut area) = (0.0, 0usize, 0.0f64, 0.0);
            for (i, &v) in y.iter().enumerate() {
                let x = store.x_at(id, i);
                let Some(bin) = grid.bin(x - shift) else {
                    continue;
                };
                let (lo, hi) = (envelope.lower[bin], envelope.upper[bin]);
                let (v, centre) = (f64::from(v), (lo + hi) / 2.0);
                if v.is_nan() || centre.is_nan() {
                    continue;
                }
                let d = v - centre;
                sum += d * d;
                n += 1;
                worst = worst.max(d.abs());
                let excess = (v - hi).max(lo - v).max(0.0);
                if excess > 0.0 {
                    area += excess * sample_step(y.len(), i, |k| store.x_at(id, k));
                }
            }
            if n == 0 {
                return f64::NAN;
            }
            match distance {
                Distance::L2 => (sum / n as f64).sqrt(),
                Distance::LInf => worst,
                Distance::AreaOutside => area,
            }
        })
        .collect()
}

/// Positions into `scores`, farthest first (NaN last).
pub fn rank(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (scores[a], scores[b]);
        match (a.is_nan(), b.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => b.total_cmp(&a),
        }
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;
    use crate::curves::quality::reference::{Alignment, BinGrid, EnvelopeRule, teach};

    #[test]
    fn the_odd_curve_out_ranks_first_by_every_distance() {
        let mut b = CurveStoreBuilder::new(&[]);
        for i in 0..20 {
            let wobble = (i % 3) as f32 * 0.01;
            let y: Vec<f32> = (0..50).map(|s| (s as f32 * 0.1).sin() + wobble).collect();
            b.push_uniform(format!("good-{i}"), &[], 0.0, 1.0, &y)
                .unwrap();
        }
        let odd: Vec<f32> = (0..50)
            .map(|s| (s as f32 * 0.1).sin() + if s > 30 { 2.0 } else { 0.0 })
            .collect();
        b.push_uniform("odd", &[], 0.0, 1.0, &odd).unwrap();
        let store = b.finish().unwrap();
        let good: Vec<CurveId> = (0..20).collect();
        let grid = BinGrid::spanning(&store, &good, Alignment::Absolute, 50).unwrap();
        let reference = teach(&store, &good, Alignment::Absolute, grid, &[]);
        let envelope =
            Envelope::from_reference(&reference, EnvelopeRule::MinMax { dy: 0.05, dx: 0.0 });
        let all: Vec<CurveId> = (0..21).collect();
        for distance in [Distance::L2, Distance::LInf, Distance::AreaOutside] {
            let s = scores(&store, &all, &reference, &envelope, distance);
            assert_eq!(rank(&s)[0], 20, "{distance:?}: {s:?}");
        }
        let area = scores(&store, &all, &reference, &envelope, Distance::AreaOutside);
        assert!(
            area[..20].iter().all(|&a| a == 0.0),
            "good curves stay inside: {area:?}"
        );
        assert_eq!(rank(&[1.0, f64::NAN, 3.0]), [2, 0, 1]);
    }

    #[test]
    fn a_wild_curve_in_the_taught_set_does_not_move_normal_under_the_median() {
        let mut b = CurveStoreBuilder::new(&[]);
        for i in 0..20 {
            let y: Vec<f32> = (0..30).map(|s| 100.0 + (s + i) as f32 * 0.01).collect();
            b.push_uniform(format!("good-{i}"), &[], 0.0, 1.0, &y)
                .unwrap();
        }
        b.push_uniform("off", &[], 0.0, 1.0, &[125.0; 30]).unwrap();
        b.push_uniform("wild", &[], 0.0, 1.0, &[1e9; 30]).unwrap();
        let store = b.finish().unwrap();
        // Taught from everything, the wild curve included.
        let all: Vec<CurveId> = (0..22).collect();
        let grid = BinGrid::spanning(&store, &all, Alignment::Absolute, 10).unwrap();
        let reference = teach(&store, &all, Alignment::Absolute, grid, &[]);
        let envelope = Envelope::from_reference(&reference, EnvelopeRule::MedianMad { k: 3.0 });
        let s = scores(&store, &all, &reference, &envelope, Distance::L2);
        assert_eq!(rank(&s)[..2], [21, 20], "{s:?}");
        assert!(s[..20].iter().all(|&d| d < 1.0), "{s:?}");
    }
}
