//! [`data_bounds`]: the x and y extent of a set of curves, the one rule every picture's
//! default view follows. x runs from the first to the last sample; y over the finite samples
//! (NaN gaps and ±inf left out); a range of one value (a single point, a constant curve) is
//! widened so it can be drawn. [`typical_y_range`]: where most samples lie, when a few far
//! values would flatten the picture.

use super::{CurveId, CurveStore};

/// The extent of some curves, each range with `min < max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataBounds {
    pub x: (f64, f64),
    pub y: (f64, f64),
}

/// Widen a range of one value to `value ± max(|value|·1e-3, 0.5)`.
fn widen(range: (f64, f64)) -> (f64, f64) {
    if range.0 < range.1 {
        return range;
    }
    let pad = (range.0.abs() * 1e-3).max(0.5);
    (range.0 - pad, range.1 + pad)
}

/// The extent of the curves `shown` accepts; `None` when they hold no finite sample.
pub fn data_bounds(store: &CurveStore, shown: impl Fn(CurveId) -> bool) -> Option<DataBounds> {
    let (mut x, mut y) = (
        (f64::INFINITY, f64::NEG_INFINITY),
        (f64::INFINITY, f64::NEG_INFINITY),
    );
    for id in (0..store.len() as CurveId).filter(|&id| shown(id)) {
        let ys = store.y(id);
        // In f32, a value that is not finite made NaN, which min and max pass over: one pass
        // without a branch, which vectorises (a double-click after hiding curves fits them,
        // on the UI thread: 70 -> 7-16 ms for the demo's 17 M shown samples).
        let (lo, hi) = ys
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                let v = if v.is_finite() { v } else { f32::NAN };
                (lo.min(v), hi.max(v))
            });
        let any_finite = lo <= hi;
        if any_finite {
            y = (y.0.min(f64::from(lo)), y.1.max(f64::from(hi)));
        }
        if any_finite && let Some(last) = ys.len().checked_sub(1) {
            x = (x.0.min(store.x_at(id, 0)), x.1.max(store.x_at(id, last)));
        }
    }
    (x.0 <= x.1 && y.0 <= y.1 && x.0.is_finite() && x.1.is_finite()).then(|| DataBounds {
        x: widen(x),
        y: widen(y),
    })
}

/// Samples [`typical_y_range`] reads at most: an even stride through more.
const TYPICAL_SAMPLES: usize = 1 << 20;
/// The share of the samples left out at each end of the typical range (at least one).
const TYPICAL_TAIL: f64 = 1e-3;
/// A few far values flatten the plot when the whole extent is this many times the typical.
const FLATTENED: f64 = 20.0;

/// Where most samples of the curves `shown` accepts lie, when a few far values make their
/// whole y extent `y` (from [`data_bounds`]) over 20 times wider, so that a plot of it would
/// draw the many as a flat line: the range without the 0.1 % lowest and highest samples
/// (at least one each; every sample up to a million, else an even stride through them).
/// `None` when no such few values dominate the extent.
pub fn typical_y_range(
    store: &CurveStore,
    shown: impl Fn(CurveId) -> bool,
    y: (f64, f64),
) -> Option<(f64, f64)> {
    let ids: Vec<CurveId> = (0..store.len() as CurveId)
        .filter(|&id| shown(id))
        .collect();
    let total: usize = ids.iter().map(|&id| store.y(id).len()).sum();
    let stride = total.div_ceil(TYPICAL_SAMPLES).max(1);
    let mut values: Vec<f32> = ids
        .iter()
        .flat_map(|&id| store.y(id).iter().step_by(stride))
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let tail = ((values.len() as f64 * TYPICAL_TAIL) as usize).max(1);
    let last = values.len().checked_sub(1 + tail)?;
    if last <= tail {
        return None;
    }
    let (_, &mut lo, _) = values.select_nth_unstable_by(tail, f32::total_cmp);
    let (_, &mut hi, _) = values.select_nth_unstable_by(last, f32::total_cmp);
    let typical = widen((f64::from(lo), f64::from(hi)));
    (y.1 - y.0 > FLATTENED * (typical.1 - typical.0)).then_some(typical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;

    #[test]
    fn one_point_nan_and_infinite_values() {
        let mut b = CurveStoreBuilder::new(&[]);
        b.push_uniform("one", &[], 3.0, 1.0, &[1.5]).unwrap();
        b.push_uniform("gaps", &[], 0.0, 1.0, &[f32::NAN, f32::NAN])
            .unwrap();
        b.push_uniform(
            "wild",
            &[],
            10.0,
            1.0,
            &[f32::INFINITY, 2.0, f32::NEG_INFINITY],
        )
        .unwrap();
        let s = b.finish().unwrap();
        let one = data_bounds(&s, |id| id == 0).unwrap();
        assert_eq!(one.x, (2.5, 3.5));
        assert_eq!(one.y, (1.0, 2.0));
        assert_eq!(
            data_bounds(&s, |id| id == 1),
            None,
            "nothing finite to draw"
        );
        let all = data_bounds(&s, |_| true).unwrap();
        assert_eq!(all.x, (3.0, 12.0));
        assert_eq!(all.y, (1.5, 2.0));
    }

    #[test]
    fn a_few_far_values_have_a_typical_range_and_spread_data_has_none() {
        let typical = |curves: &[Vec<f32>]| {
            let mut b = CurveStoreBuilder::new(&[]);
            for (k, ys) in curves.iter().enumerate() {
                b.push_uniform(format!("c{k}"), &[], 0.0, 1.0, ys).unwrap();
            }
            let s = b.finish().unwrap();
            let y = data_bounds(&s, |_| true).unwrap().y;
            typical_y_range(&s, |_| true, y)
        };
        let ramp: Vec<f32> = (0..500).map(|i| i as f32 * 0.01).collect();
        let mut spiked = ramp.clone();
        spiked[250] = 1e12;
        // One sensor glitch among 500 samples: the ramp's own range, without the glitch.
        let (lo, hi) = typical(&[spiked.clone()]).unwrap();
        assert!(
            (0.0..0.1).contains(&lo) && (4.8..5.0).contains(&hi),
            "{lo}..{hi}"
        );
        // The glitch beside clean curves, and a tiny one below: both left out.
        let mut dipped = ramp.clone();
        dipped[10] = -1e-9;
        dipped[11] = -3e9;
        assert!(
            typical(&[ramp.clone(), spiked, dipped]).is_some_and(|(lo, hi)| lo > -1.0 && hi < 5.0)
        );
        // Clean data, or values spread evenly over a huge range: nothing to fit.
        assert_eq!(typical(std::slice::from_ref(&ramp)), None);
        let wide: Vec<f32> = (0..500).map(|i| i as f32 * 1e9).collect();
        assert_eq!(typical(&[wide]), None);
        // Too few samples to tell, a constant curve with one glitch: around the constant.
        assert_eq!(typical(&[vec![1.0, 1e12]]), None);
        let mut flat = vec![2.0f32; 50];
        flat[7] = 1e12;
        assert_eq!(typical(&[flat]), Some((1.5, 2.5)));
    }
}
