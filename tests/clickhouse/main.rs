//! Integration tests of the ClickHouse data layer against a real `clickhouse-server`
//! (started per test by `support`), and of the modern DDL and SQL against ClickHouse 26.9 in
//! chdb. One test binary, so the crate links once.
// A test fails by panicking; the harness and helpers outside `#[test]` fns do the same.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

#[path = "../common/cli.rs"]
mod cli;

mod connection;
mod dashboard;
mod ddl;
mod foreign;
mod import;
mod keychain;
mod monitor;
mod quality;
mod roundtrip;
mod schema;
mod sql;
mod storage;
