//! [`nearest_curve`]: which curve passes closest (vertically) to a point of the plot, for the
//! hover readout. Each curve's y at the point's x comes from its two neighbouring samples
//! (binary search for explicit x, index arithmetic for uniform), so 10,000 curves take well
//! under a millisecond and nothing is decimated again.

use super::{CurveId, CurveStore, Sampling};

/// The curve nearest to `(x, y)`, with its y there, among the curves `shown` accepts and
/// within `max_dy` (data units) of `y`; curves not spanning `x`, or with a gap there, are
/// skipped.
pub fn nearest_curve(
    store: &CurveStore,
    shown: impl Fn(CurveId) -> bool,
    x: f64,
    y: f64,
    max_dy: f64,
) -> Option<(CurveId, f64)> {
    let mut best: Option<(CurveId, f64, f64)> = None;
    for id in (0..store.len() as CurveId).filter(|&id| shown(id)) {
        let Some(at) = y_at(store, id, x) else {
            continue;
        };
        let dy = (at - y).abs();
        if dy <= max_dy && best.is_none_or(|(_, _, best_dy)| dy < best_dy) {
            best = Some((id, at, dy));
        }
    }
    best.map(|(id, at, _)| (id, at))
}

/// Curve `id`'s y at `x`, on the straight segment between its neighbouring samples.
fn y_at(store: &CurveStore, id: CurveId, x: f64) -> Option<f64> {
    let ys = store.y(id);
    let n = ys.len();
    if n == 0 {
        return None;
    }
    // The first sample at or past x.
    let after = match store.sampling(id) {
        Sampling::Uniform { x0, dx } if dx > 0.0 => {
            ((x - x0) / dx).ceil().clamp(0.0, n as f64) as usize
        }
        Sampling::Uniform { .. } => 0,
        Sampling::Explicit => store
            .x_explicit(id)
            .map_or(0, |xs| xs.partition_point(|&v| v < x)),
    };
    let at = |i: usize| (store.x_at(id, i), f64::from(ys[i]));
    let value = match after {
        0 => {
            let (x0, y0) = at(0);
            (x0 == x).then_some(y0)?
        }
        i if i >= n => {
            let (x1, y1) = at(n - 1);
            (x1 == x).then_some(y1)?
        }
        i => {
            let ((xa, ya), (xb, yb)) = (at(i - 1), at(i));
            if xb == xa {
                yb
            } else {
                ya + (yb - ya) * (x - xa) / (xb - xa)
            }
        }
    };
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;

    #[test]
    fn the_nearest_curve_is_found_between_samples_and_gaps_are_skipped() {
        let mut b = CurveStoreBuilder::new(&[]);
        b.push_uniform("low", &[], 0.0, 1.0, &[0.0, 0.0, 0.0])
            .unwrap();
        b.push_uniform("ramp", &[], 0.0, 1.0, &[0.0, 10.0, 20.0])
            .unwrap();
        b.push_explicit("gap", &[], &[0.0, 1.0, 2.5], &[5.0, f32::NAN, 5.0])
            .unwrap();
        let s = b.finish().unwrap();
        // At x = 1.5 the ramp is at 15.
        assert_eq!(nearest_curve(&s, |_| true, 1.5, 14.0, 2.0), Some((1, 15.0)));
        assert_eq!(nearest_curve(&s, |_| true, 1.5, 0.5, 2.0), Some((0, 0.0)));
        // The explicit curve has a gap around x = 1.5: not a candidate.
        assert_eq!(nearest_curve(&s, |_| true, 1.5, 5.0, 2.0), None);
        // Outside every curve, or hidden.
        assert_eq!(nearest_curve(&s, |_| true, 9.0, 0.0, 2.0), None);
        assert_eq!(nearest_curve(&s, |id| id != 1, 1.5, 14.0, 2.0), None);
    }
}
