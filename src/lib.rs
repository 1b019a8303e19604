//! Lyceum: a native analytics workstation for manufacturing curves stored in ClickHouse.
//!
//! The crate is a library with a thin binary (`main.rs`). Rooms, lower ones never importing
//! higher ones (see `ARCHITECTURE.md`):
//! - [`curves`]: the columnar curve store, M4 decimation, the reference 1-px rasteriser. Pure.
//! - [`render`]: curves into pictures (the CPU reference renderer and PNG output).
//! - [`source`]: where curves come from: ClickHouse ([`source::clickhouse`]), CSV files
//!   ([`source::csv_file`]) and the synthetic demo plant ([`source::demo`]).
//! - [`secrets`]: OS keychain access for connection passwords.
//! - [`bench`]: the `lyceum bench` table (decimation against a plain read of the same bytes).

pub mod bench;
pub mod curves;
pub mod render;
pub mod secrets;
pub mod source;
