//! Request and response types of the control-plane API, shared by the server
//! (`control::server`) and the client (`control::client`). Everything here is plain data with
//! serde and an OpenAPI schema.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user's role in one cluster. The permission table is in `ARCHITECTURE.md` and
/// [`Role::may`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Engineer,
    Admin,
    Owner,
}

/// Everything a role may or may not do to a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Cluster, status, usage, members, projects, credential metadata.
    View,
    CreateProject,
    IssueCredential,
    /// Rotate or revoke credentials.
    ManageCredentials,
    /// Change configuration, start, stop.
    Operate,
    ManageMembers,
    ViewAudit,
    Delete,
}

impl Role {
    /// The permission table: each role may do what the ones below it may, and more.
    pub fn may(self, action: Action) -> bool {
        let least = match action {
            Action::View => Role::Viewer,
            Action::CreateProject | Action::IssueCredential => Role::Engineer,
            Action::ManageCredentials
            | Action::Operate
            | Action::ManageMembers
            | Action::ViewAudit => Role::Admin,
            Action::Delete => Role::Owner,
        };
        self >= least
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Engineer => "engineer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Role::Viewer, Role::Engineer, Role::Admin, Role::Owner]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Hot,
    Warm,
    Cold,
    Archive,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Hot, Tier::Warm, Tier::Cold, Tier::Archive];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Warm => "warm",
            Tier::Cold => "cold",
            Tier::Archive => "archive",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TierConfig {
    pub tier: Tier,
    pub size_gib: u32,
    /// Data moves to the next tier after this many days (none: stays).
    pub ttl_days: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Real `clickhouse-server` processes on this machine's loopback.
    Local,
    /// An Altinity clickhouse-operator manifest, rendered for download.
    Kubernetes,
}

/// A cluster's configuration, as the wizard collects it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterConfig {
    pub name: String,
    pub cluster_type: String,
    pub region: String,
    pub provider: ProviderKind,
    pub shards: u32,
    pub replicas: u32,
    pub cpu_per_node: u32,
    pub memory_gib_per_node: u32,
    pub tiers: Vec<TierConfig>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClusterState {
    Provisioning,
    Running,
    Degraded,
    Stopped,
    Deleting,
    Deleted,
    Failed,
}

impl ClusterState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Running => "running",
            Self::Degraded => "degraded",
            Self::Stopped => "stopped",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Provisioning,
            Self::Running,
            Self::Degraded,
            Self::Stopped,
            Self::Deleting,
            Self::Deleted,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Cluster {
    pub id: i64,
    pub config: ClusterConfig,
    pub state: ClusterState,
    /// Why it failed or is degraded.
    pub state_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The caller's role in this cluster.
    pub role: Role,
}

/// A partial update: what is present changes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterUpdate {
    pub cpu_per_node: Option<u32>,
    pub memory_gib_per_node: Option<u32>,
    pub tiers: Option<Vec<TierConfig>>,
    /// `running` starts a stopped cluster, `stopped` stops a running one.
    pub state: Option<ClusterState>,
}

/// Deleting removes data: the request must repeat the cluster's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeleteRequest {
    pub confirm_name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub user: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub project_type: String,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewProject {
    pub name: String,
    pub project_type: String,
}

/// Credential metadata; the password is never stored or shown again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Credential {
    pub id: i64,
    /// The ClickHouse user name.
    pub user: String,
    pub created_at: String,
    pub rotated_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewCredential {
    pub user: String,
}

/// The one response that carries a credential's password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssuedCredential {
    pub credential: Credential,
    pub password: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeStatus {
    pub shard: u32,
    pub replica: u32,
    pub http_port: u16,
    pub up: bool,
    pub version: Option<String>,
    pub uptime_secs: Option<u64>,
    pub parts: Option<u64>,
    pub bytes_on_disk: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterStatus {
    pub state: ClusterState,
    pub state_reason: Option<String>,
    pub nodes: Vec<NodeStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TierCost {
    pub tier: Tier,
    pub size_gib: u32,
    pub monthly: f64,
}

/// A monthly estimate, itemised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CostEstimate {
    pub currency: String,
    pub nodes: u32,
    pub compute_monthly: f64,
    pub storage: Vec<TierCost>,
    pub total_monthly: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    pub estimate: CostEstimate,
    /// What running nodes report now.
    pub bytes_on_disk: u64,
    pub node_uptime_hours: f64,
    /// Compute for the hours run plus storage for the bytes held, over the month so far.
    pub actual_to_date: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub request_id: String,
    pub cluster_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub token: String,
    pub expires_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewToken {
    pub name: String,
    /// `read` (GET only) or `write`.
    pub scopes: Vec<String>,
    pub expires_in_days: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssuedToken {
    pub info: TokenInfo,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Region {
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Price {
    pub region: String,
    /// `cpu_core`, `memory_gib` or a tier's name (per GiB).
    pub item: String,
    pub monthly: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReferenceData {
    pub regions: Vec<Region>,
    pub cluster_types: Vec<String>,
    pub project_types: Vec<String>,
    pub tiers: Vec<Tier>,
    pub prices: Vec<Price>,
    pub currency: String,
}

/// Every error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Stable machine-readable kind: `unauthenticated`, `forbidden`, `not_found`, `invalid`, …
    pub code: String,
    pub message: String,
}

/// The API's paths (`{…}` marks a parameter), named once for the server's route table and the
/// client.
pub mod paths {
    pub const OPENAPI: &str = "/api/openapi.json";
    pub const BOOTSTRAP: &str = "/api/auth/bootstrap";
    pub const LOGIN: &str = "/api/auth/login";
    pub const LOGOUT: &str = "/api/auth/logout";
    pub const USERS: &str = "/api/users";
    pub const TOKENS: &str = "/api/tokens";
    pub const TOKEN: &str = "/api/tokens/{id}";
    pub const REFERENCE: &str = "/api/reference";
    pub const ESTIMATE: &str = "/api/estimate";
    pub const AUDIT: &str = "/api/audit";
    pub const CLUSTERS: &str = "/api/clusters";
    pub const CLUSTER: &str = "/api/clusters/{id}";
    pub const MEMBERS: &str = "/api/clusters/{id}/members";
    pub const MEMBER: &str = "/api/clusters/{id}/members/{user}";
    pub const CREDENTIALS: &str = "/api/clusters/{id}/credentials";
    pub const CREDENTIAL: &str = "/api/clusters/{id}/credentials/{credential}";
    pub const ROTATE_CREDENTIAL: &str = "/api/clusters/{id}/credentials/{credential}/rotate";
    pub const PROJECTS: &str = "/api/clusters/{id}/projects";
    pub const STATUS: &str = "/api/clusters/{id}/status";
    pub const USAGE: &str = "/api/clusters/{id}/usage";
    pub const MANIFEST: &str = "/api/clusters/{id}/manifest";

    /// `template` with its `{…}` segments replaced by `values`, in order.
    pub fn fill(template: &str, values: &[&(dyn std::fmt::Display + Sync)]) -> String {
        let mut values = values.iter();
        template
            .split('/')
            .map(|segment| {
                let value = segment.starts_with('{').then(|| values.next()).flatten();
                value.map_or_else(|| segment.to_owned(), ToString::to_string)
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn parameters_are_filled_in_order() {
            assert_eq!(
                super::fill(super::MEMBER, &[&7, &"vera"]),
                "/api/clusters/7/members/vera"
            );
            assert_eq!(super::fill(super::CLUSTERS, &[]), "/api/clusters");
        }
    }
}
