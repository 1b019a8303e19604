//! Curves in memory and the work done on them: the columnar [`CurveStore`] every source
//! decodes into, M4 decimation ([`decimate`]), the reference 1-px rasteriser ([`raster`]) and
//! judging curves against references, envelopes and recipes ([`quality`]).
//! Pure: no I/O, no UI.

pub mod bounds;
pub mod decimate;
pub mod nearest;
pub mod quality;
pub mod raster;
mod store;

pub use bounds::{DataBounds, data_bounds, typical_y_range};
pub use decimate::{
    ANCHOR_PX, CurvePoints, Decimated, PixelMap, all_points, decimate_curve_into, decimate_m4,
    decimate_m4_into, keeps_every_sample_in_view, keeps_grid_beside_view,
};
pub use nearest::{DataBox, curves_through_box, nearest_curve};
pub use raster::{ANCHOR_ROW, Raster, RowMap, light_curve};
pub use store::{
    Axes, BLOCK_SAMPLES, BlockSummary, CurveId, CurveStore, CurveStoreBuilder,
    INDEXED_CURVE_SAMPLES, LabelColumn, Sampling, StoreBytes, StoreError,
};
