//! ClickHouse as a curve source, on the official `clickhouse` crate over HTTP(S).
//!
//! - [`connection`]: profiles, the live [`Connection`], timeouts and cancellation.
//! - [`capabilities`]: per-server feature detection ([`Capabilities`]).
//! - [`error`]: [`ClickHouseError`], failures sorted into what a person can act on.
//! - [`schema`]: browsing databases/tables/columns and [`SourceMapping`] (table → curves).
//! - [`ddl`]: the default manufacturing schema, generated per capabilities.
//! - [`plan`]: query planning (server-side M4, array fetch) and fetching into the store.
//! - [`decode`]: streaming `RowBinary` decoding of planned queries into the store.
//! - [`read_ahead`]: an answer's chunks read on a task of their own while the last decode.
//! - [`rowbinary`] and [`insert`]: batched `RowBinary` inserts with progress.
//! - [`import`]: CSV files into tables, streaming, idempotent per batch.
//! - [`seed`]: loading the demo plant into a server.
//! - [`sql_text`], [`results`], [`builder`]: the data explorer — SQL lexed, split and checked,
//!   any statement's result streamed into a table, and the query builder's SQL.

pub mod builder;
pub mod capabilities;
pub mod connection;
pub mod dashboard;
pub mod ddl;
pub mod decode;
pub mod error;
pub mod import;
pub mod insert;
pub mod monitor;
pub mod plan;
pub mod read_ahead;
pub mod recipes;
pub mod reference;
pub mod results;
pub mod rowbinary;
pub mod schema;
pub mod seed;
pub mod sql_text;
pub mod storage;
pub mod tls;
pub mod verdicts;

pub use capabilities::{Capabilities, ServerVersion, StoragePolicy};
pub use connection::{Budget, Connection, ConnectionProfile};
pub use error::{ClickHouseError, Result};
pub use plan::{
    CurveQuery, CurveSelection, FetchOptions, FetchProgress, PixelView, RunEstimate, parse_x_bound,
};
pub use schema::{
    ArrayX, ColumnInfo, ColumnKind, CurveLayout, MappingError, ProductionEvent, SourceMapping,
    TableInfo,
};
