//! Lyceum: a native analytics workstation for manufacturing curves stored in ClickHouse.
//!
//! The crate is a library with a thin binary (`main.rs`). Rooms, lower ones never importing
//! higher ones (see `ARCHITECTURE.md`):
//! - [`curves`]: the columnar curve store, M4 decimation, the reference 1-px rasteriser. Pure.
//! - [`render`]: curves into pictures: the wgpu renderer, its egui_plot integration, headless
//!   plots and the CPU reference renderer.
//! - [`source`]: where curves come from: ClickHouse ([`source::clickhouse`]), CSV files
//!   ([`source::csv_file`]) and the synthetic demo plant ([`source::demo`]).
//! - [`secrets`]: OS keychain access for connection passwords.
//! - `bench` (feature `bench`): the `lyceum bench` tables (each case beside its same-run
//!   baselines), shared with the criterion benches.
//! - [`control`]: the control plane (API types, axum + SQLite server, client).
//! - [`app`]: the desktop app (eframe).

pub mod app;
#[cfg(feature = "bench")]
pub mod bench;
pub mod control;
pub mod curves;
pub mod render;
pub mod secrets;
pub mod source;
pub mod tls;
