//! The OpenAPI 3.1 document served at `/api/openapi.json`: component schemas derived from the
//! API types (utoipa), paths from [`ROUTES`], the one table of what the API offers.

use utoipa::OpenApi;

use crate::control::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lyceum control plane",
        description = "Clusters, members and roles, credentials, projects, status, cost and audit."
    ),
    components(schemas(
        api::Role,
        api::Tier,
        api::TierConfig,
        api::ProviderKind,
        api::ClusterConfig,
        api::ClusterState,
        api::Cluster,
        api::ClusterUpdate,
        api::DeleteRequest,
        api::Member,
        api::Project,
        api::NewProject,
        api::Credential,
        api::NewCredential,
        api::IssuedCredential,
        api::NodeStatus,
        api::ClusterStatus,
        api::TierCost,
        api::CostEstimate,
        api::Usage,
        api::AuditEntry,
        api::Credentials,
        api::Session,
        api::NewToken,
        api::TokenInfo,
        api::IssuedToken,
        api::Region,
        api::Price,
        api::ReferenceData,
        api::ApiError
    ))
)]
struct Schemas;

/// One route: (method, path, summary, request body schema, success status, response schema;
/// `[]` marks a list of it).
pub type Route = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    u16,
    Option<&'static str>,
);

pub const ROUTES: &[Route] = &[
    (
        "post",
        "/api/auth/bootstrap",
        "First run: create the owner account",
        Some("Credentials"),
        201,
        Some("Session"),
    ),
    (
        "post",
        "/api/auth/login",
        "Log in (rate-limited per user name)",
        Some("Credentials"),
        200,
        Some("Session"),
    ),
    (
        "post",
        "/api/auth/logout",
        "Revoke the calling session",
        None,
        204,
        None,
    ),
    (
        "post",
        "/api/users",
        "Create an account (instance owner only)",
        Some("Credentials"),
        201,
        None,
    ),
    (
        "get",
        "/api/tokens",
        "The caller's API tokens",
        None,
        200,
        Some("TokenInfo[]"),
    ),
    (
        "post",
        "/api/tokens",
        "Create an API token (shown once)",
        Some("NewToken"),
        201,
        Some("IssuedToken"),
    ),
    (
        "delete",
        "/api/tokens/{id}",
        "Revoke an API token",
        None,
        204,
        None,
    ),
    (
        "get",
        "/api/reference",
        "Regions, cluster and project types, tiers, prices",
        None,
        200,
        Some("ReferenceData"),
    ),
    (
        "post",
        "/api/estimate",
        "Monthly cost estimate of a configuration",
        Some("ClusterConfig"),
        200,
        Some("CostEstimate"),
    ),
    (
        "get",
        "/api/audit",
        "Audit rows of administered clusters and own actions",
        None,
        200,
        Some("AuditEntry[]"),
    ),
    (
        "get",
        "/api/clusters",
        "Clusters the caller is a member of",
        None,
        200,
        Some("Cluster[]"),
    ),
    (
        "post",
        "/api/clusters",
        "Create and provision a cluster",
        Some("ClusterConfig"),
        202,
        Some("Cluster"),
    ),
    (
        "get",
        "/api/clusters/{id}",
        "One cluster",
        None,
        200,
        Some("Cluster"),
    ),
    (
        "patch",
        "/api/clusters/{id}",
        "Change configuration, start or stop",
        Some("ClusterUpdate"),
        200,
        Some("Cluster"),
    ),
    (
        "delete",
        "/api/clusters/{id}",
        "Delete a cluster and its data (confirm by name)",
        Some("DeleteRequest"),
        204,
        None,
    ),
    (
        "get",
        "/api/clusters/{id}/members",
        "Members and roles",
        None,
        200,
        Some("Member[]"),
    ),
    (
        "post",
        "/api/clusters/{id}/members",
        "Add a member or change a role",
        Some("Member"),
        204,
        None,
    ),
    (
        "delete",
        "/api/clusters/{id}/members/{user}",
        "Remove a member",
        None,
        204,
        None,
    ),
    (
        "get",
        "/api/clusters/{id}/credentials",
        "Credential metadata",
        None,
        200,
        Some("Credential[]"),
    ),
    (
        "post",
        "/api/clusters/{id}/credentials",
        "Issue a ClickHouse credential (password shown once)",
        Some("NewCredential"),
        201,
        Some("IssuedCredential"),
    ),
    (
        "post",
        "/api/clusters/{id}/credentials/{credential}/rotate",
        "Rotate a credential (new password shown once)",
        None,
        200,
        Some("IssuedCredential"),
    ),
    (
        "delete",
        "/api/clusters/{id}/credentials/{credential}",
        "Revoke a credential",
        None,
        204,
        None,
    ),
    (
        "get",
        "/api/clusters/{id}/projects",
        "Projects",
        None,
        200,
        Some("Project[]"),
    ),
    (
        "post",
        "/api/clusters/{id}/projects",
        "Create a project",
        Some("NewProject"),
        201,
        Some("Project"),
    ),
    (
        "get",
        "/api/clusters/{id}/status",
        "State and per-node health",
        None,
        200,
        Some("ClusterStatus"),
    ),
    (
        "get",
        "/api/clusters/{id}/usage",
        "Cost estimate and actuals",
        None,
        200,
        Some("Usage"),
    ),
    (
        "get",
        "/api/clusters/{id}/manifest",
        "Altinity ClickHouseInstallation manifest (YAML)",
        None,
        200,
        None,
    ),
];

fn schema_ref(name: &str) -> serde_json::Value {
    match name.strip_suffix("[]") {
        Some(item) => {
            serde_json::json!({ "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } })
        }
        None => serde_json::json!({ "$ref": format!("#/components/schemas/{name}") }),
    }
}

/// The whole document.
pub fn document() -> serde_json::Value {
    let mut document = serde_json::to_value(Schemas::openapi()).unwrap_or_default();
    let mut paths = serde_json::Map::new();
    for &(method, path, summary, request, status, response) in ROUTES {
        let parameters: Vec<serde_json::Value> = path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| serde_json::json!({ "name": name, "in": "path", "required": true, "schema": { "type": if name == "user" { "string" } else { "integer" } } }))
            .collect();
        let error = serde_json::json!({ "description": "error", "content": { "application/json": { "schema": schema_ref("ApiError") } } });
        let success = match response {
            Some(schema) => {
                serde_json::json!({ "description": summary, "content": { "application/json": { "schema": schema_ref(schema) } } })
            }
            None => serde_json::json!({ "description": summary }),
        };
        let mut operation = serde_json::json!({
            "summary": summary,
            "parameters": parameters,
            "responses": { status.to_string(): success, "default": error },
        });
        if !path.starts_with("/api/auth/bootstrap") && !path.starts_with("/api/auth/login") {
            operation["security"] = serde_json::json!([{ "bearer": [] }]);
        }
        if let Some(schema) = request {
            operation["requestBody"] = serde_json::json!({ "required": true, "content": { "application/json": { "schema": schema_ref(schema) } } });
        }
        if let Some(item) = paths
            .entry(path)
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
        {
            item.insert(method.to_owned(), operation);
        }
    }
    document["paths"] = serde_json::Value::Object(paths);
    document["components"]["securitySchemes"] =
        serde_json::json!({ "bearer": { "type": "http", "scheme": "bearer" } });
    document
}
