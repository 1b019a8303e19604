//! Where curves come from. Every source decodes into [`crate::curves::CurveStore`].
//! - [`clickhouse`]: connections, capability detection, schema browsing, DDL, query planning,
//!   fetch, inserts and CSV import into a ClickHouse server.
//! - [`csv_file`]: streaming CSV reading with header, delimiter and type detection.
//! - [`dataset`]: offline datasets (Arrow IPC + manifest), and curves from other tools' files.
//! - [`demo`]: the deterministic synthetic plant (the embedded default, no server needed).
//! - [`table`]: any query's result as typed columns of text, with per-column statistics.

pub mod clickhouse;
pub mod csv_file;
pub mod dataset;
pub mod demo;
pub mod table;
