//! Evaluation objects and their pass rules, the way press and screwdriving monitors judge a
//! cycle, over a curve's polyline (samples joined by straight segments; a NaN sample is
//! missing, and its neighbours are joined across it):
//!
//! - [`EvalObject::Window`]: the curve enters the box exactly once, through the named entry
//!   side, and leaves it exactly once, through the named exit side; starting or ending inside
//!   fails. A segment that passes through the box between two samples counts as entering and
//!   leaving.
//! - [`EvalObject::Line`]: the curve crosses the (infinite) line exactly once, in the given
//!   direction, and where it crosses lies within the line's range.
//! - [`EvalObject::NoPass`]: no sample and no segment touches the box.
//! - [`EvalObject::Envelope`]: every sample where the envelope has limits lies inside it; a
//!   failure reports the first x outside and the area outside (excess × x step).
//! - [`EvalObject::MinMax`]: the lowest and highest sample with x in the range lie within the
//!   limits given; a curve with no sample there fails.
//!
//! Besides the verdict, every curve yields process values: its peak, its end and the x where
//! it first reaches each of the recipe's levels. A [`Recipe`] is a named list of objects
//! (per program); [`evaluate_all`] runs one over many curves in parallel.

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::reference::{Envelope, first_crossing, kept_for, sample_step};
use crate::curves::{CurveId, CurveStore};

/// A side of a window box.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Left,
    Right,
    Bottom,
    Top,
}

/// An axis-aligned box in data coordinates (edges included).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataRect {
    pub x_min: f64,
    pub x_max: f64,
    pub y_min: f64,
    pub y_max: f64,
}

impl DataRect {
    fn contains(&self, x: f64, y: f64) -> bool {
        (self.x_min..=self.x_max).contains(&x) && (self.y_min..=self.y_max).contains(&y)
    }

    /// Where segment a→b meets the box (Liang–Barsky): the side it enters through (none if a
    /// is inside) and the side it leaves through (none if b is inside); none if it misses.
    fn clip(&self, a: (f64, f64), b: (f64, f64)) -> Option<(Option<Side>, Option<Side>)> {
        // Most segments lie wholly beside the box: no division for them.
        if (a.0 < self.x_min && b.0 < self.x_min)
            || (a.0 > self.x_max && b.0 > self.x_max)
            || (a.1 < self.y_min && b.1 < self.y_min)
            || (a.1 > self.y_max && b.1 > self.y_max)
        {
            return None;
        }
        // Wholly inside (most segments of a curve through a window): no side crossed.
        if self.contains(a.0, a.1) && self.contains(b.0, b.1) {
            return Some((None, None));
        }
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let (mut entry, mut exit) = (None, None);
        for (p, q, side) in [
            (-dx, a.0 - self.x_min, Side::Left),
            (dx, self.x_max - a.0, Side::Right),
            (-dy, a.1 - self.y_min, Side::Bottom),
            (dy, self.y_max - a.1, Side::Top),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
                continue;
            }
            let r = q / p;
            if p < 0.0 {
                if r > t1 {
                    return None;
                }
                if r > t0 {
                    t0 = r;
                    entry = Some(side);
                }
            } else {
                if r < t0 {
                    return None;
                }
                if r < t1 {
                    t1 = r;
                    exit = Some(side);
                }
            }
        }
        Some((entry, exit))
    }
}

/// Which way a curve crosses a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Towards larger x (a vertical line) or larger y (a horizontal one).
    Increasing,
    Decreasing,
}

/// A line: vertical at `at` (x) or horizontal at `at` (y), with the range along it where the
/// crossing must lie.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub vertical: bool,
    pub at: f64,
    pub from: f64,
    pub to: f64,
    pub direction: Direction,
}

/// One evaluation object of a recipe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EvalObject {
    Window {
        rect: DataRect,
        entry: Side,
        exit: Side,
    },
    Line(Line),
    NoPass {
        rect: DataRect,
    },
    Envelope(Box<Envelope>),
    MinMax {
        x_min: f64,
        x_max: f64,
        y_low: Option<f64>,
        y_high: Option<f64>,
    },
}

/// Why an object failed a curve; put in words by `Display` only when shown (judging many
/// curves allocates nothing for their failures).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reason {
    StartsInside,
    NeverEnters,
    EntersTimes(usize),
    EndsInside,
    LeavesTimes(usize),
    /// Through this side, not the named one.
    EntersThrough(Side, Side),
    LeavesThrough(Side, Side),
    NeverCrosses,
    CrossesWrongWay(Direction),
    CrossesOutside {
        at: f64,
        from: f64,
        to: f64,
    },
    CrossesTimes(usize),
    PassesNoPass,
    LeavesEnvelope {
        x: f64,
    },
    NoSampleInRange,
    MinimumBelow {
        value: f64,
        limit: f64,
    },
    MaximumAbove {
        value: f64,
        limit: f64,
    },
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Right => "right",
            Self::Bottom => "bottom",
            Self::Top => "top",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::StartsInside => write!(f, "starts inside the window"),
            Self::NeverEnters => write!(f, "never enters the window"),
            Self::EntersTimes(n) => write!(f, "enters the window {n} times"),
            Self::EndsInside => write!(f, "ends inside the window"),
            Self::LeavesTimes(n) => write!(f, "leaves the window {n} times"),
            Self::EntersThrough(side, named) => write!(
                f,
                "enters through the {} side, not the {}",
                side.name(),
                named.name()
            ),
            Self::LeavesThrough(side, named) => write!(
                f,
                "leaves through the {} side, not the {}",
                side.name(),
                named.name()
            ),
            Self::NeverCrosses => write!(f, "never crosses the line"),
            Self::CrossesWrongWay(direction) => write!(
                f,
                "crosses the line {}",
                match direction {
                    Direction::Increasing => "increasing",
                    Direction::Decreasing => "decreasing",
                }
            ),
            Self::CrossesOutside { at, from, to } => {
                write!(f, "crosses the line at {}, outside {from}–{to}", number(at))
            }
            Self::CrossesTimes(n) => write!(f, "crosses the line {n} times"),
            Self::PassesNoPass => write!(f, "passes through the no-pass box"),
            Self::LeavesEnvelope { x } => write!(f, "leaves the envelope at x = {}", number(x)),
            Self::NoSampleInRange => write!(f, "no sample in the min/max window"),
            Self::MinimumBelow { value, limit } => {
                write!(f, "minimum {} below {limit}", number(value))
            }
            Self::MaximumAbove { value, limit } => {
                write!(f, "maximum {} above {limit}", number(value))
            }
        }
    }
}

/// What an object found wrong with a curve.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The object's position in its recipe.
    pub object: usize,
    pub reason: Reason,
    /// For an envelope: the first x outside and the area outside.
    pub outside: Option<(f64, f64)>,
}

/// A curve's process values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessValues {
    pub peak: Option<(f64, f64)>,
    pub end: Option<(f64, f64)>,
    /// Per recipe level, where the curve first reaches it.
    pub crossings: Vec<Option<f64>>,
}

/// A curve's verdict: passed when no object failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub failures: Vec<Failure>,
    pub values: ProcessValues,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// A named list of objects, for a program (none: any). [`Recipe::problems`] says what makes
/// one impossible to pass (an inverted range, a number that is not finite).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    pub name: String,
    #[serde(default)]
    pub program: Option<String>,
    pub objects: Vec<EvalObject>,
    /// Levels whose first crossing x is reported as a process value.
    #[serde(default)]
    pub levels: Vec<f64>,
}

impl Recipe {
    /// What makes objects impossible to judge sensibly, each named by its position (1-based):
    /// an inverted box or range, limits the wrong way round, a number that is not finite.
    pub fn problems(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut say = |i: usize, what: &str| found.push(format!("object {}: {what}", i + 1));
        let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
        for (i, object) in self.objects.iter().enumerate() {
            match object {
                EvalObject::Window { rect, .. } | EvalObject::NoPass { rect } => {
                    if !finite(&[rect.x_min, rect.x_max, rect.y_min, rect.y_max]) {
                        say(i, "the box has a number that is not finite");
                    } else if rect.x_min > rect.x_max || rect.y_min > rect.y_max {
                        say(i, "the box is inverted (x_min > x_max or y_min > y_max)");
                    }
                }
                EvalObject::Line(line) => {
                    if !finite(&[line.at, line.from, line.to]) {
                        say(i, "the line has a number that is not finite");
                    } else if line.from > line.to {
                        say(i, "the line's range runs backwards (from > to)");
                    }
                }
                EvalObject::MinMax {
                    x_min,
                    x_max,
                    y_low,
                    y_high,
                } => {
                    let limits: Vec<f64> = y_low.iter().chain(y_high).copied().collect();
                    if !finite(&[*x_min, *x_max]) || !finite(&limits) {
                        say(i, "the range has a number that is not finite");
                    } else if x_min > x_max {
                        say(i, "the x range is inverted (x_min > x_max)");
                    } else if let (Some(low), Some(high)) = (y_low, y_high)
                        && low > high
                    {
                        say(i, "the lower limit is above the upper one");
                    }
                }
                EvalObject::Envelope(e) => {
                    if e.lower.len() != e.grid.bins || e.upper.len() != e.grid.bins {
                        say(i, "the envelope's limits do not match its bins");
                    } else if !(e.grid.dx > 0.0 && e.grid.x0.is_finite()) {
                        say(i, "the envelope's grid is not a grid");
                    }
                }
            }
        }
        found
    }
}

/// A curve's samples read in place (no copy): x from its sampling, y widened to f64.
#[derive(Clone, Copy)]
struct Samples<'a> {
    y: &'a [f32],
    x: Xs<'a>,
    /// Whether x grows along the curve, so a window can look at its own stretch only.
    increasing: bool,
}

#[derive(Clone, Copy)]
enum Xs<'a> {
    Uniform { x0: f64, dx: f64 },
    Explicit(&'a [f64]),
}

impl<'a> Samples<'a> {
    fn of(store: &'a CurveStore, id: CurveId) -> Self {
        let y = store.y(id);
        match store.sampling(id) {
            crate::curves::Sampling::Uniform { x0, dx } => Self {
                y,
                x: Xs::Uniform { x0, dx },
                increasing: dx > 0.0,
            },
            crate::curves::Sampling::Explicit => {
                let x = store.x_explicit(id).unwrap_or_default();
                Self {
                    y: &y[..x.len().min(y.len())],
                    x: Xs::Explicit(x),
                    increasing: x.windows(2).all(|w| w[0] < w[1]),
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.y.len()
    }

    fn at(&self, i: usize) -> (f64, f64) {
        let x = match self.x {
            Xs::Uniform { x0, dx } => x0 + i as f64 * dx,
            Xs::Explicit(x) => x[i],
        };
        (x, f64::from(self.y[i]))
    }

    /// The indices that can reach x in `lo..=hi` (with one sample beyond each end, for the
    /// segments crossing in) when x grows; all of them otherwise.
    fn stretch(&self, lo: f64, hi: f64) -> Range<usize> {
        let n = self.len();
        if !self.increasing {
            return 0..n;
        }
        let (start, end) = match self.x {
            Xs::Uniform { x0, dx } => {
                // One extra sample each side covers rounding at the edges.
                let index = |x: f64| ((x - x0) / dx).floor().clamp(-1.0, n as f64) as isize;
                (
                    (index(lo) - 1).max(0) as usize,
                    ((index(hi) + 2).max(0) as usize).min(n),
                )
            }
            Xs::Explicit(x) => (
                x.partition_point(|&v| v < lo).saturating_sub(1),
                (x.partition_point(|&v| v <= hi) + 1).min(n),
            ),
        };
        start..end.max(start)
    }

    fn points(&self, range: Range<usize>) -> impl Iterator<Item = (f64, f64)> + '_ {
        range.map(|i| self.at(i))
    }

    /// Consecutive valid samples within `range`, joined across NaN (a dropped sample is
    /// missing, not a break in the part's path).
    fn segments(&self, range: Range<usize>) -> impl Iterator<Item = ((f64, f64), (f64, f64))> + '_ {
        let mut last: Option<(f64, f64)> = None;
        range.filter_map(move |i| {
            let p = self.at(i);
            if p.1.is_nan() {
                return None;
            }
            let segment = last.map(|a| (a, p));
            last = Some(p);
            segment
        })
    }

    fn first_valid(&self) -> Option<(f64, f64)> {
        self.y.iter().position(|v| !v.is_nan()).map(|i| self.at(i))
    }
}

/// Counts what is seen and remembers the first: once, or how many times.
#[derive(Clone, Copy)]
struct Tally<T> {
    first: Option<T>,
    count: usize,
}

impl<T: Copy> Tally<T> {
    fn new() -> Self {
        Self {
            first: None,
            count: 0,
        }
    }

    fn add(&mut self, value: T) {
        self.first.get_or_insert(value);
        self.count += 1;
    }
}

/// The window rule over the samples in `range` (the stretch near the window).
fn window(
    s: &Samples<'_>,
    range: Range<usize>,
    rect: &DataRect,
    entry: Side,
    exit: Side,
) -> Option<Reason> {
    if s.first_valid().is_some_and(|(x, y)| rect.contains(x, y)) {
        return Some(Reason::StartsInside);
    }
    let (mut entries, mut exits) = (Tally::new(), Tally::new());
    for (a, b) in s.segments(range.clone()) {
        if let Some((inward, outward)) = rect.clip(a, b) {
            inward.into_iter().for_each(|side| entries.add(side));
            outward.into_iter().for_each(|side| exits.add(side));
        }
    }
    let lone_inside = s.len() == 1 && s.points(range).all(|(x, y)| rect.contains(x, y));
    match (entries, exits) {
        (Tally { count: 0, .. }, _) if !lone_inside => Some(Reason::NeverEnters),
        (Tally { count: 0, .. }, _) => Some(Reason::StartsInside),
        (Tally { count: 2.., .. }, _) => Some(Reason::EntersTimes(entries.count)),
        (_, Tally { count: 0, .. }) => Some(Reason::EndsInside),
        (_, Tally { count: 2.., .. }) => Some(Reason::LeavesTimes(exits.count)),
        (
            Tally {
                first: Some(inward),
                ..
            },
            _,
        ) if inward != entry => Some(Reason::EntersThrough(inward, entry)),
        (
            _,
            Tally {
                first: Some(outward),
                ..
            },
        ) if outward != exit => Some(Reason::LeavesThrough(outward, exit)),
        _ => None,
    }
}

fn line(s: &Samples<'_>, range: Range<usize>, line: &Line) -> Option<Reason> {
    // (coordinate across the line, coordinate along it)
    let split = |p: (f64, f64)| if line.vertical { p } else { (p.1, p.0) };
    let mut crossings = Tally::new();
    for (a, b) in s.segments(range) {
        let ((a_across, a_along), (b_across, b_along)) = (split(a), split(b));
        let (da, db) = (a_across - line.at, b_across - line.at);
        let direction = if da < 0.0 && db >= 0.0 {
            Direction::Increasing
        } else if da > 0.0 && db <= 0.0 {
            Direction::Decreasing
        } else {
            continue;
        };
        let t = da / (da - db);
        crossings.add((direction, a_along + t * (b_along - a_along)));
    }
    match crossings {
        Tally { count: 0, .. } => Some(Reason::NeverCrosses),
        Tally {
            count: 1,
            first: Some((direction, _)),
        } if direction != line.direction => Some(Reason::CrossesWrongWay(direction)),
        Tally {
            count: 1,
            first: Some((_, along)),
        } if !(line.from..=line.to).contains(&along) => Some(Reason::CrossesOutside {
            at: along,
            from: line.from,
            to: line.to,
        }),
        Tally { count: 1, .. } => None,
        many => Some(Reason::CrossesTimes(many.count)),
    }
}

fn no_pass(s: &Samples<'_>, range: Range<usize>, rect: &DataRect) -> Option<Reason> {
    let touches = s.points(range.clone()).any(|(x, y)| rect.contains(x, y))
        || s.segments(range).any(|(a, b)| rect.clip(a, b).is_some());
    touches.then_some(Reason::PassesNoPass)
}

/// An envelope's limits at each sample of a uniform sampling (NaN: no limit there), kept
/// for the next curves of that sampling (within one `evaluate_all` call only, so a changed
/// envelope never meets old limits).
#[derive(Debug, Default)]
struct SampleLimits {
    lower: Vec<f64>,
    upper: Vec<f64>,
}

/// A sampling: `x0`, `dx` and the alignment's shift, as bits.
type SamplingKey = (u64, u64, u64);

/// Samplings whose limits are kept per envelope (stations of a few programs, interleaved).
const KEPT_SAMPLINGS: usize = 4;

/// Per recipe object, what the curves judged on one thread can share.
#[derive(Debug, Default)]
struct Scratch {
    limits: Vec<Vec<(SamplingKey, SampleLimits)>>,
}

/// First x outside and area outside, if the curve leaves the envelope.
fn envelope(
    store: &CurveStore,
    id: CurveId,
    s: &Samples<'_>,
    envelope: &Envelope,
    kept: &mut Vec<(SamplingKey, SampleLimits)>,
) -> Option<(f64, f64)> {
    let shift = envelope.alignment.shift(store, id)?;
    let grid = envelope.grid.lookup();
    let n = s.len();
    // The limits of sample i: (lower, upper), NaN where the envelope has none.
    let limits_at = |i: usize| -> (f64, f64) {
        match grid.bin(s.at(i).0 - shift) {
            Some(bin) if !envelope.lower[bin].is_nan() && !envelope.upper[bin].is_nan() => {
                (envelope.lower[bin], envelope.upper[bin])
            }
            _ => (f64::NAN, f64::NAN),
        }
    };
    let outside_at = |i: usize, (lo, hi): (f64, f64)| -> Option<(f64, f64)> {
        let (x, y) = s.at(i);
        // A NaN limit or sample compares false: nothing is outside there.
        let excess = if y > hi {
            y - hi
        } else if y < lo {
            lo - y
        } else {
            return None;
        };
        Some((x, excess * sample_step(n, i, |k| s.at(k).0)))
    };
    let mut first = None;
    let mut area = 0.0;
    if let Xs::Uniform { x0, dx } = s.x {
        let key = (x0.to_bits(), dx.to_bits(), shift.to_bits());
        let limits = kept_for(kept, key, KEPT_SAMPLINGS);
        // A longer curve of the same sampling: its further samples' limits added.
        for i in limits.lower.len()..n {
            let (lo, hi) = limits_at(i);
            limits.lower.push(lo);
            limits.upper.push(hi);
        }
        let (lower, upper) = (&limits.lower[..n], &limits.upper[..n]);
        // Most curves stay inside: one comparison per sample, no x computed.
        let any_outside =
            s.y.iter()
                .zip(lower.iter().zip(upper))
                .any(|(&v, (&lo, &hi))| {
                    let v = f64::from(v);
                    v > hi || v < lo
                });
        if !any_outside {
            return None;
        }
        for i in 0..n {
            if let Some((x, part)) = outside_at(i, (lower[i], upper[i])) {
                first.get_or_insert(x);
                area += part;
            }
        }
    } else {
        for i in 0..n {
            if let Some((x, part)) = outside_at(i, limits_at(i)) {
                first.get_or_insert(x);
                area += part;
            }
        }
    }
    first.map(|x| (x, area))
}

fn min_max(
    s: &Samples<'_>,
    range: Range<usize>,
    x_range: (f64, f64),
    y_low: Option<f64>,
    y_high: Option<f64>,
) -> Option<Reason> {
    let ys = s
        .points(range)
        .filter(|&(x, y)| !y.is_nan() && (x_range.0..=x_range.1).contains(&x))
        .map(|p| p.1);
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if lo > hi {
        return Some(Reason::NoSampleInRange);
    }
    if let Some(low) = y_low
        && lo < low
    {
        return Some(Reason::MinimumBelow {
            value: lo,
            limit: low,
        });
    }
    if let Some(high) = y_high
        && hi > high
    {
        return Some(Reason::MaximumAbove {
            value: hi,
            limit: high,
        });
    }
    None
}

/// A value as people read it: four decimals, or scientific notation where those would show
/// nothing (1e-9) or too many digits (1e9).
pub fn number(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e7) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

/// Peak, end and the first crossing of each level.
pub fn process_values(store: &CurveStore, id: CurveId, levels: &[f64]) -> ProcessValues {
    values_of(store, id, &Samples::of(store, id), levels)
}

fn values_of(store: &CurveStore, id: CurveId, s: &Samples<'_>, levels: &[f64]) -> ProcessValues {
    // The first highest sample (NaN compares false, so it is never the highest); the last
    // valid one. Two plain passes, which vectorise, rather than one branching pass.
    let highest =
        s.y.iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let peak = s.y.iter().position(|&v| v == highest);
    ProcessValues {
        peak: peak.map(|i| s.at(i)),
        end: s.y.iter().rposition(|v| !v.is_nan()).map(|i| s.at(i)),
        crossings: levels
            .iter()
            .map(|&level| first_crossing(store, id, level))
            .collect(),
    }
}

/// Judge curve `id` by `recipe`.
pub fn evaluate(store: &CurveStore, id: CurveId, recipe: &Recipe) -> Verdict {
    evaluate_sharing(store, id, recipe, &mut Scratch::default())
}

fn evaluate_sharing(
    store: &CurveStore,
    id: CurveId,
    recipe: &Recipe,
    scratch: &mut Scratch,
) -> Verdict {
    let s = Samples::of(store, id);
    scratch.limits.resize_with(recipe.objects.len(), Vec::new);
    let failures = recipe
        .objects
        .iter()
        .enumerate()
        .filter_map(|(object, o)| {
            let (reason, outside) = match o {
                EvalObject::Window { rect, entry, exit } => (
                    window(&s, s.stretch(rect.x_min, rect.x_max), rect, *entry, *exit)?,
                    None,
                ),
                EvalObject::Line(l) if l.vertical => (line(&s, s.stretch(l.at, l.at), l)?, None),
                EvalObject::Line(l) => (line(&s, 0..s.len(), l)?, None),
                EvalObject::NoPass { rect } => {
                    (no_pass(&s, s.stretch(rect.x_min, rect.x_max), rect)?, None)
                }
                EvalObject::Envelope(e) => {
                    let (x, area) = envelope(store, id, &s, e, &mut scratch.limits[object])?;
                    (Reason::LeavesEnvelope { x }, Some((x, area)))
                }
                EvalObject::MinMax {
                    x_min,
                    x_max,
                    y_low,
                    y_high,
                } => (
                    min_max(
                        &s,
                        s.stretch(*x_min, *x_max),
                        (*x_min, *x_max),
                        *y_low,
                        *y_high,
                    )?,
                    None,
                ),
            };
            Some(Failure {
                object,
                reason,
                outside,
            })
        })
        .collect();
    Verdict {
        failures,
        values: values_of(store, id, &s, &recipe.levels),
    }
}

/// [`evaluate`] over `ids`, in parallel, in their order.
pub fn evaluate_all(store: &CurveStore, ids: &[CurveId], recipe: &Recipe) -> Vec<Verdict> {
    ids.par_iter()
        .map_init(Scratch::default, |scratch, &id| {
            evaluate_sharing(store, id, recipe, scratch)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;

    /// One explicitly sampled curve through `points`.
    fn curve(points: &[(f64, f32)]) -> CurveStore {
        let mut b = CurveStoreBuilder::new(&[]);
        let (xs, ys): (Vec<f64>, Vec<f32>) = points.iter().copied().unzip();
        b.push_explicit("c", &[], &xs, &ys).unwrap();
        b.finish().unwrap()
    }

    fn rect() -> DataRect {
        DataRect {
            x_min: 2.0,
            x_max: 4.0,
            y_min: 2.0,
            y_max: 4.0,
        }
    }

    fn verdict(points: &[(f64, f32)], object: EvalObject) -> Option<String> {
        let recipe = Recipe {
            name: "t".into(),
            objects: vec![object],
            ..Recipe::default()
        };
        evaluate(&curve(points), 0, &recipe)
            .failures
            .first()
            .map(|f| f.reason.to_string())
    }

    fn window(entry: Side, exit: Side) -> EvalObject {
        EvalObject::Window {
            rect: rect(),
            entry,
            exit,
        }
    }

    #[test]
    fn a_window_is_entered_and_left_through_the_named_sides() {
        // Left to right, flat through the middle.
        let through = [(0.0, 3.0), (3.0, 3.0), (6.0, 3.0)];
        assert_eq!(verdict(&through, window(Side::Left, Side::Right)), None);
        assert!(
            verdict(&through, window(Side::Left, Side::Top))
                .unwrap()
                .contains("right side")
        );
        // Up through the bottom, out through the top, with no sample inside.
        let rising = [(3.0, 0.0), (3.0, 6.0)];
        assert_eq!(verdict(&rising, window(Side::Bottom, Side::Top)), None);
        assert!(
            verdict(&rising, window(Side::Left, Side::Top))
                .unwrap()
                .contains("bottom side")
        );
        // In through the left, out through the top (a press-fit rising to its block).
        let block = [(0.0, 3.0), (3.0, 3.5), (3.5, 8.0)];
        assert_eq!(verdict(&block, window(Side::Left, Side::Top)), None);
        assert_eq!(
            verdict(&[(0.0, 0.0), (1.0, 0.0)], window(Side::Left, Side::Right)).unwrap(),
            "never enters the window"
        );
        assert_eq!(
            verdict(&[(0.0, 3.0), (3.0, 3.0)], window(Side::Left, Side::Right)).unwrap(),
            "ends inside the window"
        );
        assert_eq!(
            verdict(&[(3.0, 3.0), (6.0, 3.0)], window(Side::Left, Side::Right)).unwrap(),
            "starts inside the window"
        );
        // A dropped sample inside the window: the curve is joined across it.
        let gap = [(0.0, 3.0), (3.0, f32::NAN), (6.0, 3.0)];
        assert_eq!(verdict(&gap, window(Side::Left, Side::Right)), None);
        let twice = [(0.0, 3.0), (3.0, 3.0), (3.0, 6.0), (3.0, 3.0), (6.0, 3.0)];
        assert_eq!(
            verdict(&twice, window(Side::Left, Side::Right)).unwrap(),
            "enters the window 2 times"
        );
    }

    #[test]
    fn a_line_is_crossed_once_in_its_direction_within_its_range() {
        let line = |direction| {
            EvalObject::Line(Line {
                vertical: true,
                at: 5.0,
                from: 2.0,
                to: 4.0,
                direction,
            })
        };
        let pass = [(0.0, 1.0), (10.0, 5.0)]; // crosses x = 5 at y = 3
        assert_eq!(verdict(&pass, line(Direction::Increasing)), None);
        assert_eq!(
            verdict(&pass, line(Direction::Decreasing)).unwrap(),
            "crosses the line increasing"
        );
        assert!(
            verdict(&[(0.0, 5.0), (10.0, 9.0)], line(Direction::Increasing))
                .unwrap()
                .contains("outside 2–4")
        );
        assert_eq!(
            verdict(
                &[(0.0, 3.0), (10.0, 3.0), (0.0, 3.0)],
                line(Direction::Increasing)
            )
            .unwrap(),
            "crosses the line 2 times"
        );
        assert_eq!(
            verdict(&[(0.0, 3.0), (4.0, 3.0)], line(Direction::Increasing)).unwrap(),
            "never crosses the line"
        );
        // A horizontal threshold: rising through y = 5 at x within 2–4.
        let threshold = EvalObject::Line(Line {
            vertical: false,
            at: 5.0,
            from: 2.0,
            to: 4.0,
            direction: Direction::Increasing,
        });
        assert_eq!(verdict(&[(0.0, 0.0), (6.0, 10.0)], threshold), None);
    }

    #[test]
    fn a_no_pass_box_is_not_touched_even_between_samples() {
        let no_pass = EvalObject::NoPass { rect: rect() };
        assert_eq!(verdict(&[(0.0, 0.0), (6.0, 0.0)], no_pass.clone()), None);
        // Both samples outside, the segment through the box.
        assert!(verdict(&[(0.0, 0.0), (6.0, 6.0)], no_pass.clone()).is_some());
        // Joined across a dropped sample, the path crosses the box.
        assert!(verdict(&[(0.0, 0.0), (3.0, f32::NAN), (6.0, 6.0)], no_pass.clone()).is_some());
        assert!(verdict(&[(3.0, 3.0)], no_pass).is_some());
    }

    #[test]
    fn min_max_and_envelopes_report_what_is_outside() {
        let minmax = |low, high| EvalObject::MinMax {
            x_min: 1.0,
            x_max: 3.0,
            y_low: low,
            y_high: high,
        };
        let c = [
            (0.0, 100.0),
            (1.0, 2.0),
            (2.0, 5.0),
            (3.0, 3.0),
            (4.0, -100.0),
        ];
        assert_eq!(verdict(&c, minmax(Some(2.0), Some(5.0))), None);
        assert!(
            verdict(&c, minmax(None, Some(4.0)))
                .unwrap()
                .starts_with("maximum 5")
        );
        assert!(
            verdict(&c, minmax(Some(2.5), None))
                .unwrap()
                .starts_with("minimum 2")
        );
        assert_eq!(
            verdict(&[(9.0, 1.0)], minmax(None, None)).unwrap(),
            "no sample in the min/max window"
        );

        let grid = super::super::reference::BinGrid {
            x0: 0.0,
            dx: 1.0,
            bins: 4,
        };
        let envelope = Envelope {
            grid,
            alignment: super::super::reference::Alignment::Absolute,
            rule: super::super::reference::EnvelopeRule::MinMax { dy: 0.0, dx: 0.0 },
            lower: vec![0.0; 4],
            upper: vec![1.0, 1.0, 1.0, f64::NAN],
        };
        let recipe = Recipe {
            name: "e".into(),
            objects: vec![EvalObject::Envelope(Box::new(envelope))],
            levels: vec![2.0],
            ..Recipe::default()
        };
        let inside = curve(&[(0.0, 0.5), (1.0, 0.5), (2.0, 0.5), (3.5, 9.0)]);
        let v = evaluate(&inside, 0, &recipe);
        assert!(v.passed(), "{v:?} (no limit in the last bin)");
        let outside = curve(&[(0.0, 0.5), (1.0, 3.0), (2.0, 1.5), (3.0, 0.5)]);
        let v = evaluate(&outside, 0, &recipe);
        assert_eq!(v.failures[0].outside, Some((1.0, 2.0 * 1.0 + 0.5 * 1.0)));
        assert_eq!(v.values.peak, Some((1.0, 3.0)));
        assert_eq!(v.values.end, Some((3.0, 0.5)));
        assert_eq!(v.values.crossings, [Some(0.0 + 1.5 / 2.5)]);
    }

    /// The envelope rule sample by sample, as written in the module doc.
    fn envelope_per_sample(store: &CurveStore, id: CurveId, e: &Envelope) -> Option<(f64, f64)> {
        let shift = e.alignment.shift(store, id)?;
        let y = store.y(id);
        let mut first = None;
        let mut area = 0.0;
        for i in 0..y.len() {
            let x = store.x_at(id, i);
            let Some((lo, hi)) = e.at(x - shift) else {
                continue;
            };
            let v = f64::from(y[i]);
            let excess = if v > hi {
                v - hi
            } else if v < lo {
                lo - v
            } else {
                continue;
            };
            first.get_or_insert(x);
            area += excess * sample_step(y.len(), i, |k| store.x_at(id, k));
        }
        first.map(|x| (x, area))
    }

    #[test]
    fn envelope_without_division_equals_the_per_sample_rule() {
        use super::super::reference::{Alignment, BinGrid, EnvelopeRule};
        let mut b = CurveStoreBuilder::new(&[]);
        // Steps that do and do not divide the bins, starts off the grid, a NaN, one sample.
        for (k, (x0, dx, n)) in [
            (0.0, 0.1, 500),
            (-3.3, 0.07, 701),
            (0.05, 1.0 / 3.0, 90),
            (10.0, 0.25, 1),
            (1.0, 0.013, 1_999),
            // The first sampling again, other values (limits kept), then longer (extended).
            (0.0, 0.1, 500),
            (0.0, 0.1, 800),
        ]
        .into_iter()
        .enumerate()
        {
            let y: Vec<f32> = (0..n)
                .map(|i| {
                    if i == 37 {
                        f32::NAN
                    } else {
                        ((i as f32 * 0.37 + k as f32).sin() * 3.0) + (i % 7) as f32 * 0.1
                    }
                })
                .collect();
            b.push_uniform(format!("c{k}"), &[], x0, dx, &y).unwrap();
        }
        let store = b.finish().unwrap();
        for alignment in [Alignment::Absolute, Alignment::Peak] {
            let lower: Vec<f64> = (0..37).map(|i| -2.0 + (i % 5) as f64 * 0.3).collect();
            let mut upper: Vec<f64> = (0..37).map(|i| 2.0 - (i % 3) as f64 * 0.4).collect();
            upper[4] = f64::NAN;
            let e = Envelope {
                grid: BinGrid {
                    x0: -1.7,
                    dx: 0.77,
                    bins: 37,
                },
                alignment,
                rule: EnvelopeRule::MinMax { dy: 0.0, dx: 0.0 },
                lower,
                upper,
            };
            // Limits kept from curve to curve (the same sampling twice, then others) and
            // worked out afresh both give the rule's answer.
            let mut shared = Vec::new();
            for id in (0..store.len() as CurveId).chain([0, 0, 2]) {
                let s = Samples::of(&store, id);
                let expected = envelope_per_sample(&store, id, &e);
                assert_eq!(
                    envelope(&store, id, &s, &e, &mut Vec::new()),
                    expected,
                    "curve {id}, {alignment:?}"
                );
                assert_eq!(
                    envelope(&store, id, &s, &e, &mut shared),
                    expected,
                    "curve {id}, {alignment:?}, limits kept"
                );
            }
        }
    }

    #[test]
    fn impossible_objects_are_named() {
        let recipe = Recipe {
            name: "bad".into(),
            objects: vec![
                EvalObject::NoPass {
                    rect: DataRect {
                        x_min: 2.0,
                        x_max: 1.0,
                        y_min: 0.0,
                        y_max: 1.0,
                    },
                },
                EvalObject::Line(Line {
                    vertical: true,
                    at: 1.0,
                    from: 5.0,
                    to: 4.0,
                    direction: Direction::Increasing,
                }),
                EvalObject::MinMax {
                    x_min: 0.0,
                    x_max: 1.0,
                    y_low: Some(3.0),
                    y_high: Some(2.0),
                },
                EvalObject::MinMax {
                    x_min: 0.0,
                    x_max: f64::NAN,
                    y_low: None,
                    y_high: None,
                },
                window(Side::Left, Side::Right),
            ],
            ..Recipe::default()
        };
        let problems = recipe.problems();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("object 1: the box is inverted"));
        assert!(problems[1].starts_with("object 2: the line's range runs backwards"));
        assert!(problems[2].starts_with("object 3: the lower limit is above"));
        assert!(problems[3].starts_with("object 4: the range has a number"));
    }
}
