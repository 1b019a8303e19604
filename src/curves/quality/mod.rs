//! Judging curves, the way process engineers do: a [`Reference`] taught from good curves and
//! the [`Envelope`] around it ([`reference`]); evaluation objects, recipes and verdicts
//! ([`evaluate`]); every curve's distance from normal, ranked ([`outliers`]); and the
//! spread of y across curves at a cursor ([`across`]); the yield per station and hour
//! ([`yields`]). Pure: the
//! same code runs over the store of a run, a dataset, or curves streamed from ClickHouse.

pub mod across;
pub mod evaluate;
pub mod outliers;
pub mod reference;
pub mod yields;

pub use evaluate::{
    DataRect, Direction, EvalObject, Failure, Line, ProcessValues, Recipe, Side, Verdict,
    evaluate_all,
};
pub use outliers::{Distance, rank};
pub use reference::{Alignment, BinGrid, Envelope, EnvelopeRule, Reference, teach};
