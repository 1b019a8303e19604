//! Statistics across curves at one x (a cursor): every curve's y there, linear between its
//! samples, and their distribution — count, mean, σ, quantiles, a histogram — and the same for
//! the change of y between two x (Δy between two cursors, curve by curve).

use rayon::prelude::*;

use crate::curves::{CurveId, CurveStore, Sampling};

/// Curve `id`'s y at `x` (linear between the samples around it); none outside its x-range, at
/// a gap (NaN), or where x does not grow along the curve.
pub fn y_at(store: &CurveStore, id: CurveId, x: f64) -> Option<f64> {
    let y = store.y(id);
    let n = y.len();
    if n == 0 {
        return None;
    }
    let (i, t) = match store.sampling(id) {
        Sampling::Uniform { x0, dx } => {
            if dx <= 0.0 {
                return None;
            }
            let f = (x - x0) / dx;
            if f < 0.0 || f > (n - 1) as f64 {
                return None;
            }
            let i = (f.floor() as usize).min(n - 1);
            (i, f - i as f64)
        }
        Sampling::Explicit => {
            let xs = store.x_explicit(id)?;
            if x < xs[0] || x > xs[n - 1] {
                return None;
            }
            let after = xs.partition_point(|&v| v <= x).min(n - 1);
            let i = after.saturating_sub(1);
            let span = xs[after] - xs[i];
            (i, if span > 0.0 { (x - xs[i]) / span } else { 0.0 })
        }
    };
    let a = f64::from(y[i]);
    let value = if t == 0.0 || i + 1 >= n {
        a
    } else {
        a + t * (f64::from(y[i + 1]) - a)
    };
    (!value.is_nan()).then_some(value)
}

/// A distribution of values across curves.
#[derive(Clone, Debug, PartialEq)]
pub struct Spread {
    pub count: usize,
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// 5 %, 25 %, 50 %, 75 %, 95 % (`quantileExact` positions).
    pub quantiles: [f64; 5],
    pub min: f64,
    pub max: f64,
    /// Equal-width bins from `min` to `max`: (left edge, count).
    pub histogram: Vec<(f64, usize)>,
}

/// The spread of `values` (none when empty) in a histogram of `bins` bins.
pub fn spread(mut values: Vec<f64>, bins: usize) -> Option<Spread> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    let at = |q: f64| values[((q * n as f64) as usize).min(n - 1)];
    let (min, max) = (values[0], values[n - 1]);
    let bins = bins.max(1);
    let width = (max - min) / bins as f64;
    let mut histogram: Vec<(f64, usize)> = (0..bins).map(|b| (min + b as f64 * width, 0)).collect();
    for v in &values {
        let b = if width > 0.0 {
            (((v - min) / width) as usize).min(bins - 1)
        } else {
            0
        };
        histogram[b].1 += 1;
    }
    Some(Spread {
        count: n,
        mean,
        std,
        quantiles: [at(0.05), at(0.25), at(0.5), at(0.75), at(0.95)],
        min,
        max,
        histogram,
    })
}

/// y at `x` of every curve in `ids` that reaches it.
pub fn values_at(store: &CurveStore, ids: &[CurveId], x: f64) -> Vec<f64> {
    ids.par_iter()
        .filter_map(|&id| y_at(store, id, x))
        .collect()
}

/// y(`x_b`) − y(`x_a`) of every curve in `ids` that reaches both.
pub fn changes_between(store: &CurveStore, ids: &[CurveId], x_a: f64, x_b: f64) -> Vec<f64> {
    ids.par_iter()
        .filter_map(|&id| Some(y_at(store, id, x_b)? - y_at(store, id, x_a)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;

    #[test]
    fn values_between_samples_and_their_spread() {
        let mut b = CurveStoreBuilder::new(&[]);
        b.push_uniform("a", &[], 0.0, 1.0, &[0.0, 10.0, 20.0])
            .unwrap();
        b.push_explicit("b", &[], &[0.0, 0.5, 4.5], &[1.0, 2.0, 10.0])
            .unwrap();
        b.push_uniform("short", &[], 0.0, 1.0, &[5.0]).unwrap();
        b.push_uniform("gap", &[], 0.0, 1.0, &[1.0, f32::NAN])
            .unwrap();
        let s = b.finish().unwrap();
        assert_eq!(y_at(&s, 0, 1.5), Some(15.0));
        assert_eq!(y_at(&s, 1, 2.25), Some(5.5));
        assert_eq!(y_at(&s, 0, 2.0), Some(20.0), "the last sample itself");
        assert_eq!(y_at(&s, 0, 2.5), None, "beyond the curve");
        assert_eq!(y_at(&s, 2, 0.0), Some(5.0), "a lone sample at its x");
        assert_eq!(y_at(&s, 3, 1.0), None, "at a gap");
        let ids: Vec<CurveId> = (0..4).collect();
        assert_eq!(values_at(&s, &ids, 0.0), [0.0, 1.0, 5.0, 1.0]);
        assert_eq!(changes_between(&s, &ids, 0.0, 2.0), [20.0, 4.0]);
        let spread = spread(vec![1.0, 2.0, 3.0, 4.0], 2).unwrap();
        assert_eq!(
            (spread.count, spread.mean, spread.quantiles[2]),
            (4, 2.5, 3.0)
        );
        assert!((spread.std - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(spread.histogram, [(1.0, 2), (2.5, 2)]);
        assert!(super::spread(Vec::new(), 3).is_none());
    }
}
