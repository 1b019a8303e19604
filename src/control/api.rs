//! Request and response types of the control-plane API, shared by the server
//! (`control::server`) and the client (`control::client`). Everything here is plain data with
//! serde and an OpenAPI schema.
//!
//! The doc comments of the schema types become the descriptions in the OpenAPI document, so
//! they are written for API clients (and carry no rustdoc links, which would show there as
//! text). Throughout, times are RFC 3339 UTC strings with milliseconds, and money is per month
//! in the currency of [`ReferenceData`].

#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user's role in one cluster; each role may do what the ones before it may, and more.
/// `viewer`: see the cluster, its status, usage, members, projects and credential metadata.
/// `engineer`: also create projects and issue ClickHouse credentials. `admin`: also change,
/// start and stop the cluster, rotate and revoke credentials, manage engineers and viewers,
/// delete projects, and read the cluster's audit log. `owner`: also manage owners and admins, and delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only member.
    Viewer,
    /// Works in the cluster: creates projects, issues credentials.
    Engineer,
    /// Runs the cluster and its membership below admin.
    Admin,
    /// Everything, including deletion; a cluster always keeps at least one.
    Owner,
}

/// Everything a role may or may not do to a cluster (the server's side of [`Role`]; not part
/// of the wire format).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Cluster, status, usage, members, projects, credential metadata.
    View,
    /// Add a project to the cluster.
    CreateProject,
    /// Issue a new ClickHouse credential.
    IssueCredential,
    /// Rotate or revoke credentials.
    ManageCredentials,
    /// Change configuration, start, stop; download the manifest.
    Operate,
    /// Add, change and remove members (owners and admins: owners only).
    ManageMembers,
    /// Read the cluster's audit log.
    ViewAudit,
    /// Delete a project and drop the database it made.
    DeleteProject,
    /// Delete the cluster and its data.
    Delete,
}

impl Role {
    /// The permission table: each role may do what the ones below it may, and more.
    pub fn may(self, action: Action) -> bool {
        self >= Self::least_for(action)
    }

    /// The least role that may do `action`.
    pub fn least_for(action: Action) -> Role {
        match action {
            Action::View => Role::Viewer,
            Action::CreateProject | Action::IssueCredential => Role::Engineer,
            Action::ManageCredentials
            | Action::Operate
            | Action::ManageMembers
            | Action::ViewAudit
            | Action::DeleteProject => Role::Admin,
            Action::Delete => Role::Owner,
        }
    }

    /// The wire name (`viewer`, `engineer`, `admin`, `owner`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Engineer => "engineer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// The role with wire name `text`; none for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        [Role::Viewer, Role::Engineer, Role::Admin, Role::Owner]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// A storage tier, priced per GiB and month; data moves down them as it ages.
/// `hot`: fast disks for recent data (every cluster has one). `warm`: cheaper disks for data
/// queried now and then. `cold`: slow, cheap storage for old data. `archive`: the cheapest,
/// for data kept but rarely read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Fast local disks for recent data; every cluster has one.
    Hot,
    /// Cheaper disks for data queried now and then.
    Warm,
    /// Slow, cheap storage for old data.
    Cold,
    /// The cheapest storage, for data kept but rarely read.
    Archive,
}

impl Tier {
    /// Every tier, from hot to archive (the order data moves in).
    pub const ALL: [Tier; 4] = [Tier::Hot, Tier::Warm, Tier::Cold, Tier::Archive];

    /// The wire name, also the tier's item in the price table.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Warm => "warm",
            Tier::Cold => "cold",
            Tier::Archive => "archive",
        }
    }
}

/// One storage tier of a cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TierConfig {
    /// Which tier; each at most once per cluster.
    pub tier: Tier,
    /// Capacity in GiB for one copy of the data, at least 1; every replica holds (and is
    /// billed for) its own copy.
    pub size_gib: u32,
    /// Data moves to the next tier after this many days (none: stays).
    pub ttl_days: Option<u32>,
}

/// Where a cluster's nodes run.
/// `local`: real `clickhouse-server` processes on the control-plane host's loopback (at most
/// 8 nodes). `kubernetes`: an Altinity clickhouse-operator manifest, rendered for download and
/// not applied; the cluster stays `stopped`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Real `clickhouse-server` processes on this machine's loopback.
    Local,
    /// An Altinity clickhouse-operator manifest, rendered for download.
    Kubernetes,
}

/// A cluster's configuration, as the wizard collects it. The server refuses (`invalid`) values
/// outside the ranges given, and names, regions or types it does not know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterConfig {
    /// Unique among clusters: 2–63 lower-case letters, digits or `-`, starting with a letter.
    pub name: String,
    /// One of the reference data's `cluster_types`.
    pub cluster_type: String,
    /// A region `code` from the reference data; it sets the prices.
    pub region: String,
    /// Where the nodes run.
    pub provider: ProviderKind,
    /// Number of shards, 1–16.
    pub shards: u32,
    /// Copies of each shard, 1–3.
    pub replicas: u32,
    /// CPU cores per node, 1–256.
    pub cpu_per_node: u32,
    /// Memory per node in GiB, 1–4096.
    pub memory_gib_per_node: u32,
    /// Storage tiers: a `hot` one, and each tier at most once.
    pub tiers: Vec<TierConfig>,
    /// Networks (CIDR, such as `10.20.0.0/16`) the cluster's users may connect from, at most
    /// 32; empty: loopback and the private networks.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
}

/// Plain names: lower-case letters, digits and `extra` (`-` for clusters and projects, `_`
/// for users), 2–63 long, starting with a letter and ending with a letter or digit (a
/// Kubernetes name's rule) — nothing that could leave a folder or break a config file. The
/// server refuses other names with this message; the app checks as the user types.
pub fn check_name(what: &str, name: &str, extra: char) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = (2..=63).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == extra)
        && name.chars().last().is_some_and(|c| c != extra);
    if ok {
        Ok(())
    } else {
        // A refused name is quoted short: it may be 60 KB.
        let shown: String = name.chars().take(64).collect();
        let cut = if shown.len() < name.len() { "…" } else { "" };
        Err(format!(
            "{what} `{shown}{cut}` must be 2–63 lower-case letters, digits or `{extra}`, starting with a letter and ending with a letter or digit"
        ))
    }
}

/// Where users connect from when a cluster names no networks: loopback and the private
/// ranges, never the whole internet.
pub const DEFAULT_NETWORKS: &[&str] = &[
    "127.0.0.1/32",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
];

impl ClusterConfig {
    /// The networks its users may connect from ([`DEFAULT_NETWORKS`] when it names none).
    pub fn networks(&self) -> Vec<String> {
        if self.allowed_networks.is_empty() {
            DEFAULT_NETWORKS.iter().map(|n| (*n).to_owned()).collect()
        } else {
            self.allowed_networks.clone()
        }
    }
}

/// Whether `text` is an IP network in CIDR form (`10.0.0.0/8`, `::1/128`) or a single
/// address.
pub fn is_network(text: &str) -> bool {
    let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
    let Ok(address) = address.parse::<std::net::IpAddr>() else {
        return false;
    };
    let most = if address.is_ipv4() { 32 } else { 128 };
    prefix.is_empty() || prefix.parse::<u8>().is_ok_and(|p| p <= most)
}

/// Where a cluster is in its life.
/// `provisioning`: being set up after creation. `running`: every node up. `degraded`: running
/// with a node down (see the reason). `stopped`: nodes not running (a Kubernetes cluster
/// stays here). `deleting`: data being removed. `deleted`: gone (no longer listed). `failed`:
/// provisioning or deletion failed (see the reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClusterState {
    /// Being set up after creation.
    Provisioning,
    /// Every node up.
    Running,
    /// Running with a node down.
    Degraded,
    /// Nodes not running.
    Stopped,
    /// Data being removed.
    Deleting,
    /// Gone; no longer listed or found.
    Deleted,
    /// Provisioning or deletion failed.
    Failed,
}

impl ClusterState {
    /// The wire name (`provisioning`, `running`, …).
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

    /// The state with wire name `text`; none for anything else.
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

/// A cluster as one of its members sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Cluster {
    /// The cluster's id, used in every `/api/clusters/{id}/…` path.
    pub id: i64,
    /// The configuration as last accepted.
    pub config: ClusterConfig,
    /// Where the cluster is in its life.
    pub state: ClusterState,
    /// Why it failed or is degraded.
    pub state_reason: Option<String>,
    /// When the cluster was created.
    pub created_at: String,
    /// When its configuration or state last changed.
    pub updated_at: String,
    /// The caller's role in this cluster.
    pub role: Role,
}

/// A partial update: what is present changes, under the same rules as the configuration.
/// Admins and owners only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterUpdate {
    /// New CPU cores per node, 1–256.
    pub cpu_per_node: Option<u32>,
    /// New memory per node in GiB, 1–4096.
    pub memory_gib_per_node: Option<u32>,
    /// New storage tiers, replacing all of them.
    pub tiers: Option<Vec<TierConfig>>,
    /// `running` starts a stopped cluster, `stopped` stops a running one.
    pub state: Option<ClusterState>,
}

/// Deleting removes data: the request must repeat the name of the cluster or project.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeleteRequest {
    /// The cluster's or project's name, exactly; anything else is refused (`invalid`).
    pub confirm_name: String,
}

/// A user's membership of a cluster. As a request, it adds the user or changes their role:
/// admins manage engineers and viewers, only owners manage owners and admins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    /// The member's user name; it must be an existing account.
    pub user: String,
    /// The member's role in this cluster.
    pub role: Role,
}

/// Where a project's schema is.
/// `creating`: its database and tables are being made on the nodes. `ready`: made on every
/// node. `failed`: the DDL failed (see the reason); nothing of it was left behind, and
/// creating the project again retries. `planned`: recorded only, on a cluster whose nodes
/// Lyceum does not run (Kubernetes), or made before projects created schemas. `deleting`:
/// its database is being dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectState {
    /// The DDL is running.
    Creating,
    /// Database and tables made on every node.
    Ready,
    /// The DDL failed; nothing is left behind.
    Failed,
    /// Recorded, no schema made by Lyceum.
    Planned,
    /// Being dropped.
    Deleting,
}

impl ProjectState {
    /// The wire name (`creating`, `ready`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Planned => "planned",
            Self::Deleting => "deleting",
        }
    }

    /// The state with wire name `text`; none for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Creating,
            Self::Ready,
            Self::Failed,
            Self::Planned,
            Self::Deleting,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A project: a named piece of work in a cluster, with its own ClickHouse database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    /// The project's id.
    pub id: i64,
    /// Unique within the cluster.
    pub name: String,
    /// One of the reference data's `project_types`.
    pub project_type: String,
    /// When the project was created.
    pub created_at: String,
    /// The ClickHouse database holding its tables: the name with `-` as `_`.
    pub database: String,
    /// Where its schema is.
    pub state: ProjectState,
    /// Why it failed, or what `planned` means for it.
    pub state_reason: Option<String>,
}

/// A project to create (engineers and above).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewProject {
    /// Unique within the cluster: 2–63 lower-case letters, digits or `-`, starting with a
    /// letter.
    pub name: String,
    /// One of the reference data's `project_types`.
    pub project_type: String,
}

/// Credential metadata; the password is never stored or shown again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Credential {
    /// The credential's id, for rotating and revoking it.
    pub id: i64,
    /// The ClickHouse user name.
    pub user: String,
    /// When it was issued.
    pub created_at: String,
    /// When its password last changed (none: never rotated).
    pub rotated_at: Option<String>,
    /// When it was revoked (none: the cluster's nodes accept it).
    pub revoked_at: Option<String>,
}

/// A ClickHouse credential to issue (engineers and above).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewCredential {
    /// The ClickHouse user name: 2–63 lower-case letters, digits or `_`, starting with a
    /// letter; `default` and names starting `lyceum_` are reserved.
    pub user: String,
}

/// The one response that carries a credential's password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssuedCredential {
    /// The credential's metadata.
    pub credential: Credential,
    /// The ClickHouse password; shown this once, only its hash is kept.
    pub password: String,
}

/// One node of a cluster and what it reports; the reported values are none while it is down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeStatus {
    /// The node's shard, from 1.
    pub shard: u32,
    /// The node's replica within its shard, from 1.
    pub replica: u32,
    /// The node's ClickHouse HTTP port on the control-plane host's loopback.
    pub http_port: u16,
    /// Whether the node's process runs and answers.
    pub up: bool,
    /// The ClickHouse version the node reports.
    pub version: Option<String>,
    /// Seconds since the node started.
    pub uptime_secs: Option<u64>,
    /// Active data parts on the node.
    pub parts: Option<u64>,
    /// Bytes the node's active parts take on disk.
    pub bytes_on_disk: Option<u64>,
}

/// A cluster's state and per-node health (no nodes for clusters without local processes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterStatus {
    /// Where the cluster is in its life.
    pub state: ClusterState,
    /// Why it failed or is degraded.
    pub state_reason: Option<String>,
    /// Every node, by shard then replica.
    pub nodes: Vec<NodeStatus>,
}

/// The monthly cost of one storage tier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TierCost {
    /// Which tier.
    pub tier: Tier,
    /// The tier's configured size in GiB (one copy).
    pub size_gib: u32,
    /// Monthly cost of the tier for all replicas' copies.
    pub monthly: f64,
}

/// A monthly estimate, itemised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CostEstimate {
    /// ISO 4217 code of every amount (`EUR`).
    pub currency: String,
    /// Nodes billed: shards × replicas.
    pub nodes: u32,
    /// Monthly cost of CPU and memory for all nodes.
    pub compute_monthly: f64,
    /// Monthly cost per storage tier.
    pub storage: Vec<TierCost>,
    /// Compute plus storage, per month.
    pub total_monthly: f64,
}

/// What a cluster is estimated to cost and has cost so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// The monthly estimate of the current configuration.
    pub estimate: CostEstimate,
    /// Bytes on disk, summed over the nodes that report now.
    pub bytes_on_disk: u64,
    /// The running nodes' uptimes, summed, in hours.
    pub node_uptime_hours: f64,
    /// Compute for the hours run plus storage for the bytes held, over the month so far.
    pub actual_to_date: f64,
    /// What the nodes reported over the last 7 days, oldest first, at most 500 samples.
    #[serde(default)]
    pub history: Vec<UsageSample>,
}

/// One reading of a cluster's use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageSample {
    /// When it was read.
    pub at: String,
    /// Bytes on disk over the nodes that reported.
    pub bytes_on_disk: u64,
    /// Node-hours run this month up to that moment.
    pub node_uptime_hours: f64,
    /// Cost to date at that moment (compute for the uptime, storage for the bytes).
    pub cost_to_date: f64,
}

/// One change made through the API. A caller sees their own actions and those on clusters they
/// administer or own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// The entry's id; later entries have larger ids.
    pub id: i64,
    /// When the change was made.
    pub at: String,
    /// The user name who made it.
    pub actor: String,
    /// What was done, such as `create_cluster` or `revoke_credential`.
    pub action: String,
    /// What it was done to, in words (`cluster line-1 member vera as admin`).
    pub target: String,
    /// The request's `x-request-id` (or one the server made up), to match logs.
    pub request_id: String,
    /// The cluster concerned, if any.
    pub cluster_id: Option<i64>,
}

/// A user name and password: for bootstrap, login, and accounts the instance owner creates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Credentials {
    /// 2–63 lower-case letters, digits or `_`, starting with a letter.
    pub user: String,
    /// At least 10 characters.
    pub password: String,
}

/// A login session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// The bearer token (`lys_…`) for `Authorization: Bearer`; read and write.
    pub token: String,
    /// When the session ends (12 hours after login) unless logged out before.
    pub expires_at: String,
}

/// An API token to create for the caller.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewToken {
    /// A label for the token, 1–100 characters.
    pub name: String,
    /// `read` (GET only) or `write`.
    pub scopes: Vec<String>,
    /// Lifetime in days, 1–365.
    pub expires_in_days: u32,
}

/// An API token's metadata; the secret is shown only when it is created.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    /// The token's id, for revoking it.
    pub id: i64,
    /// The token's label.
    pub name: String,
    /// `read` (GET only) and/or `write`.
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: String,
    /// When it stops being accepted.
    pub expires_at: String,
    /// When it was revoked (none: still valid until it expires).
    pub revoked_at: Option<String>,
    /// `session` (a login) or `api` (a token made for a program).
    pub kind: String,
}

/// A new API token with its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssuedToken {
    /// The token's metadata.
    pub info: TokenInfo,
    /// The bearer token (`lyt_…`); shown this once, only its hash is kept.
    pub token: String,
}

/// A region clusters can run in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Region {
    /// What configurations and prices name (`eu-central`).
    pub code: String,
    /// For people (`EU Central (Frankfurt)`).
    pub name: String,
}

/// One line of the price table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Price {
    /// The region's code.
    pub region: String,
    /// `cpu_core`, `memory_gib` or a tier's name (per GiB).
    pub item: String,
    /// Price of one unit of the item per month.
    pub monthly: f64,
}

/// What a client needs to fill in a cluster form. Any signed-in user may read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReferenceData {
    /// Regions, by code.
    pub regions: Vec<Region>,
    /// Known cluster types, by name.
    pub cluster_types: Vec<String>,
    /// Known project types, by name.
    pub project_types: Vec<String>,
    /// Storage tiers, from hot to archive.
    pub tiers: Vec<Tier>,
    /// The whole price table, by region then item.
    pub prices: Vec<Price>,
    /// ISO 4217 code of every price (`EUR`).
    pub currency: String,
}

/// Every error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Stable machine-readable kind: `unauthenticated` (401: no, unknown, expired or revoked
    /// token, or a wrong password), `forbidden` (403: the role or a read-only token does not
    /// allow it), `not_found` (404: also a cluster the caller is not a member of),
    /// `invalid` (422), `conflict` (409), `too_many_requests` (429: failed logins),
    /// `too_large` (413: body over 64 KiB), `provider` (502), `internal` (500).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

/// The API's paths (`{…}` marks a parameter), named once for the server's route table and the
/// client. Every path but [`OPENAPI`](paths::OPENAPI), [`BOOTSTRAP`](paths::BOOTSTRAP)
/// and [`LOGIN`](paths::LOGIN) needs a bearer token.
pub mod paths {
    /// The OpenAPI 3.1 document of this API (GET).
    pub const OPENAPI: &str = "/api/openapi.json";
    /// First run: create the instance owner's account (POST); refused once any user exists.
    pub const BOOTSTRAP: &str = "/api/auth/bootstrap";
    /// Log in for a session (POST); failed attempts are rate-limited per user name.
    pub const LOGIN: &str = "/api/auth/login";
    /// Revoke the calling session (POST).
    pub const LOGOUT: &str = "/api/auth/logout";
    /// Create an account (POST); the instance owner only.
    pub const USERS: &str = "/api/users";
    /// The caller's API tokens: list (GET), create (POST).
    pub const TOKENS: &str = "/api/tokens";
    /// One of the caller's API tokens: revoke (DELETE).
    pub const TOKEN: &str = "/api/tokens/{id}";
    /// Regions, types, tiers and prices (GET).
    pub const REFERENCE: &str = "/api/reference";
    /// The monthly cost of a configuration (POST).
    pub const ESTIMATE: &str = "/api/estimate";
    /// The audit rows the caller may read (GET).
    pub const AUDIT: &str = "/api/audit";
    /// The caller's clusters: list (GET), create (POST).
    pub const CLUSTERS: &str = "/api/clusters";
    /// One cluster: read (GET), change (PATCH), delete (DELETE).
    pub const CLUSTER: &str = "/api/clusters/{id}";
    /// A cluster's members: list (GET), add or change (POST).
    pub const MEMBERS: &str = "/api/clusters/{id}/members";
    /// One member of a cluster, by user name: remove (DELETE).
    pub const MEMBER: &str = "/api/clusters/{id}/members/{user}";
    /// A cluster's ClickHouse credentials: list (GET), issue (POST).
    pub const CREDENTIALS: &str = "/api/clusters/{id}/credentials";
    /// One credential: revoke (DELETE).
    pub const CREDENTIAL: &str = "/api/clusters/{id}/credentials/{credential}";
    /// One credential: new password (POST).
    pub const ROTATE_CREDENTIAL: &str = "/api/clusters/{id}/credentials/{credential}/rotate";
    /// A cluster's projects: list (GET), create (POST; creates the database and tables).
    pub const PROJECTS: &str = "/api/clusters/{id}/projects";
    /// One project: delete with its database (DELETE).
    pub const PROJECT: &str = "/api/clusters/{id}/projects/{project}";
    /// A cluster's state and nodes (GET).
    pub const STATUS: &str = "/api/clusters/{id}/status";
    /// A cluster's estimate and cost to date (GET).
    pub const USAGE: &str = "/api/clusters/{id}/usage";
    /// A cluster's Kubernetes manifest, YAML (GET; admins and owners).
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
