//! The control plane: the API the app's cluster wizard and management panels talk to.
//! - [`api`]: request and response types, shared by server and client, and the role
//!   permission table.
//! - [`server`]: axum + SQLite server with authentication, authorization, audit, provisioning
//!   (real local ClickHouse processes, or Kubernetes manifests) and cost.
//! - [`client`]: the reqwest client the app and the `lyceum control` commands use.
//! - [`embedded`]: the server in-process on a local SQLite file (the app's default).

pub mod api;
pub mod client;
pub mod embedded;
pub mod server;
