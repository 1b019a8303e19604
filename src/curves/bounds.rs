//! [`data_bounds`]: the x and y extent of a set of curves, the one rule every picture's
//! default view follows. x runs from the first to the last sample; y over the finite samples
//! (NaN gaps and ±inf left out); a range of one value (a single point, a constant curve) is
//! widened so it can be drawn.

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
        let mut any_finite = false;
        for &v in ys.iter().filter(|v| v.is_finite()) {
            any_finite = true;
            y = (y.0.min(f64::from(v)), y.1.max(f64::from(v)));
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
}
