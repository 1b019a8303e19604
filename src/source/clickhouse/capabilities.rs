//! [`Capabilities`]: what one ClickHouse server can do, detected once per connection from
//! `version()` and the system tables rather than assumed from a version number, so patched or
//! configured servers are judged by what they really offer.

use serde::{Deserialize, Serialize};

/// A server version such as 18.16.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServerVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ServerVersion {
    /// Parse `major.minor[.patch[.build]]`; unknown parts count as 0.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.').map(|p| p.parse::<u32>());
        let major = parts.next()?.ok()?;
        let minor = parts.next().and_then(Result::ok).unwrap_or(0);
        let patch = parts.next().and_then(Result::ok).unwrap_or(0);
        Some(Self {
            major,
            minor,
            patch,
        })
    }
}

impl std::fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// One storage policy and its volumes, in order (hot first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoragePolicy {
    pub name: String,
    pub volumes: Vec<String>,
}

/// What a server supports; decides the DDL and the query shapes Lyceum generates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub version: ServerVersion,
    /// `RowBinaryWithNamesAndTypes`: lets the client validate row types against the server's.
    pub row_binary_with_names_and_types: bool,
    /// Table and column `TTL` clauses.
    pub ttl: bool,
    /// Column compression codecs (`CODEC(Delta, ZSTD)`).
    pub codecs: bool,
    pub datetime64: bool,
    /// `LowCardinality(String)` usable without experimental settings.
    pub low_cardinality: bool,
    /// The `largestTriangleThreeBuckets` aggregate.
    pub lttb: bool,
    /// Server-side query parameters (`{name:Type}`).
    pub query_parameters: bool,
    /// Storage policies; empty when the server has no `system.storage_policies`.
    pub storage_policies: Vec<StoragePolicy>,
}

impl Capabilities {
    /// What the oldest supported server (18.16) offers: the fallback when in doubt.
    pub fn baseline(version: ServerVersion) -> Self {
        Self {
            version,
            row_binary_with_names_and_types: false,
            ttl: false,
            codecs: false,
            datetime64: false,
            low_cardinality: false,
            lttb: false,
            query_parameters: false,
            storage_policies: Vec::new(),
        }
    }

    /// Everything on, with a four-volume tiered policy: what current servers offer.
    pub fn modern(version: ServerVersion) -> Self {
        Self {
            version,
            row_binary_with_names_and_types: true,
            ttl: true,
            codecs: true,
            datetime64: true,
            low_cardinality: true,
            lttb: true,
            query_parameters: true,
            storage_policies: vec![StoragePolicy {
                name: "tiered".to_owned(),
                volumes: ["hot", "warm", "cold", "archive"]
                    .map(str::to_owned)
                    .to_vec(),
            }],
        }
    }

    /// A policy with hot/warm/cold/archive volumes (at least two of them), for TTL moves.
    pub fn tiered_policy(&self) -> Option<&StoragePolicy> {
        if !self.ttl {
            return None;
        }
        self.storage_policies.iter().find(|p| {
            p.volumes.len() >= 2
                && p.volumes
                    .iter()
                    .all(|v| crate::source::clickhouse::ddl::TIER_VOLUMES.contains(&v.as_str()))
        })
    }

    /// One line per feature, for `lyceum caps` and the connection panel.
    pub fn describe(&self) -> Vec<(&'static str, bool)> {
        vec![
            (
                "RowBinaryWithNamesAndTypes (client row validation)",
                self.row_binary_with_names_and_types,
            ),
            ("TTL", self.ttl),
            (
                "storage policies with tiers",
                self.tiered_policy().is_some(),
            ),
            ("compression codecs", self.codecs),
            ("DateTime64", self.datetime64),
            ("LowCardinality", self.low_cardinality),
            ("largestTriangleThreeBuckets", self.lttb),
            ("server-side query parameters", self.query_parameters),
        ]
    }
}

/// The answer to [`PROBE_SQL`]: counts of matching rows in the system tables.
#[derive(Debug, clickhouse::Row, Deserialize)]
pub struct ProbeRow {
    pub version: String,
    pub names_and_types: u64,
    pub ttl: u64,
    pub codecs: u64,
    pub datetime64: u64,
    pub low_cardinality_type: u64,
    pub low_cardinality_gated: u64,
    pub lttb: u64,
    pub storage_policies_table: u64,
}

/// One query, scalar subqueries only, so it runs on 18.16 as on current servers.
pub const PROBE_SQL: &str = "SELECT version(), \
    (SELECT count() FROM system.formats WHERE name = 'RowBinaryWithNamesAndTypes'), \
    (SELECT count() FROM system.columns WHERE database = 'system' AND table = 'parts' AND name = 'delete_ttl_info_min'), \
    (SELECT count() FROM system.columns WHERE database = 'system' AND table = 'columns' AND name = 'compression_codec'), \
    (SELECT count() FROM system.data_type_families WHERE name = 'DateTime64'), \
    (SELECT count() FROM system.data_type_families WHERE name = 'LowCardinality'), \
    (SELECT count() FROM system.settings WHERE name = 'allow_experimental_low_cardinality_type' AND value = '0'), \
    (SELECT count() FROM system.functions WHERE name = 'largestTriangleThreeBuckets'), \
    (SELECT count() FROM system.tables WHERE database = 'system' AND name = 'storage_policies')";

/// Storage policies and their volumes, hottest first.
pub const POLICIES_SQL: &str = "SELECT policy_name, volume_name FROM system.storage_policies ORDER BY policy_name, volume_priority";

impl ProbeRow {
    /// Judge the probe; `query_parameters` and `policies` come from their own queries.
    pub fn into_capabilities(
        self,
        query_parameters: bool,
        policies: Vec<(String, String)>,
    ) -> Capabilities {
        let version = ServerVersion::parse(&self.version).unwrap_or(ServerVersion {
            major: 0,
            minor: 0,
            patch: 0,
        });
        let mut storage_policies: Vec<StoragePolicy> = Vec::new();
        for (policy, volume) in policies {
            match storage_policies.last_mut() {
                Some(last) if last.name == policy => last.volumes.push(volume),
                _ => storage_policies.push(StoragePolicy {
                    name: policy,
                    volumes: vec![volume],
                }),
            }
        }
        Capabilities {
            version,
            row_binary_with_names_and_types: self.names_and_types > 0,
            ttl: self.ttl > 0,
            codecs: self.codecs > 0,
            datetime64: self.datetime64 > 0,
            low_cardinality: self.low_cardinality_type > 0 && self.low_cardinality_gated == 0,
            lttb: self.lttb > 0,
            query_parameters,
            storage_policies,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        let old = ServerVersion::parse("18.16.1").unwrap_or_else(|| panic!("parse"));
        let new = ServerVersion::parse("26.9.2.15").unwrap_or_else(|| panic!("parse"));
        assert!(old < new);
        assert_eq!(new.to_string(), "26.9.2");
        assert_eq!(ServerVersion::parse("x"), None);
    }

    #[test]
    fn tiered_policy_needs_ttl_and_tier_volumes() {
        let mut caps = Capabilities::modern(ServerVersion {
            major: 26,
            minor: 9,
            patch: 0,
        });
        assert_eq!(
            caps.tiered_policy().map(|p| p.name.as_str()),
            Some("tiered")
        );
        caps.storage_policies = vec![StoragePolicy {
            name: "default".into(),
            volumes: vec!["default".into()],
        }];
        assert!(caps.tiered_policy().is_none());
        let mut old = Capabilities::modern(ServerVersion {
            major: 19,
            minor: 1,
            patch: 0,
        });
        old.ttl = false;
        assert!(old.tiered_policy().is_none());
    }
}
