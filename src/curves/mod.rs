//! Curves in memory: the columnar [`CurveStore`] every source decodes into and every later
//! stage (decimation, rendering, datasets) reads from. Pure: no I/O, no UI.

mod store;

pub use store::{CurveId, CurveStore, CurveStoreBuilder, LabelColumn, Sampling, StoreError};
