//! Turning curves into pictures.
//! - [`gpu`]: the wgpu renderer (compute rasteriser for the 1-px base layer, composite in lines
//!   or density mode, wide antialiased lines for highlighted curves; WGSL in `shaders/`).
//! - [`plot`]: the egui_plot item and egui_wgpu callback that put it inside a plot.
//! - [`headless`]: whole plots (axes, labels, title) drawn offscreen for PNG export and tests.
//! - [`cpu`]: the CPU reference renderer (the per-column rule of `curves::raster`) and PNG output.

pub mod cpu;
pub mod gpu;
pub mod headless;
pub mod plot;
