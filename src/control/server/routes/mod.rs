//! The HTTP API, one module per resource: [`auth`] (bootstrap, login, logout, users, tokens),
//! [`reference`] (reference data, cost estimate), [`audit`], [`clusters`], [`members`],
//! [`credentials`], [`projects`] and [`status`] (status, usage, manifest).
//!
//! [`api`] is the one route table: every handler carries its OpenAPI operation
//! (`#[utoipa::path]`), and `utoipa-axum` builds the axum routes and the document's paths from
//! the same list, so neither can name a route the other lacks.
//!
//! Shared by the resources: the extractors — [`Caller`], the only way a handler authenticates,
//! [`RequestId`], [`ClientAddress`] and [`ApiJson`] — cluster authorization ([`authorize`]) and validation of
//! names, passwords and cluster configurations.

mod audit;
mod auth;
mod clusters;
mod credentials;
mod members;
mod projects;
mod reference;
mod status;

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use rusqlite::params;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Principal, new_secret};
use super::lifecycle::{CLUSTER_COLUMNS, ClusterRow, cluster_row, decode_cluster};
use super::store::{AuditRecord, optional};
use super::{AppState, ControlError, MAX_BODY_BYTES, openapi};
use crate::control::api::{Action, ClusterConfig, ClusterState, ProviderKind, Role, Tier};

type Shared = State<Arc<AppState>>;
type ApiResult<T> = Result<Json<T>, ControlError>;

/// Every route of the API with its OpenAPI operation; handlers sharing a path share a line.
pub(super) fn api() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(auth::bootstrap))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::create_user))
        .routes(routes!(auth::list_tokens, auth::create_token))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(reference::reference))
        .routes(routes!(reference::estimate))
        .routes(routes!(audit::list_audit))
        .routes(routes!(clusters::list_clusters, clusters::create_cluster))
        .routes(routes!(
            clusters::get_cluster,
            clusters::update_cluster,
            clusters::delete_cluster
        ))
        .routes(routes!(members::list_members, members::put_member))
        .routes(routes!(members::remove_member))
        .routes(routes!(
            credentials::list_credentials,
            credentials::issue_credential
        ))
        .routes(routes!(credentials::rotate_credential))
        .routes(routes!(credentials::revoke_credential))
        .routes(routes!(projects::list_projects, projects::create_project))
        .routes(routes!(projects::delete_project))
        .routes(routes!(status::status))
        .routes(routes!(status::usage))
        .routes(routes!(status::manifest))
}

/// JSON bodies with our error shape for malformed input.
struct ApiJson<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ControlError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ControlError::TooLarge(format!(
                    "the request body is larger than {MAX_BODY_BYTES} bytes"
                )))
            }
            Err(rejection) if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE => Err(
                ControlError::UnsupportedMediaType("send `Content-Type: application/json`".into()),
            ),
            Err(rejection) => Err(ControlError::Invalid(format!(
                "malformed request: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The authenticated caller, resolved before any body is read (so a request without a token
/// is 401 whatever its body). `Caller<WRITE>` also refuses read-only tokens.
struct Caller<const WRITES: bool = false>(Principal);

/// [`Caller`]`<WRITE>`: the handler changes things.
const WRITE: bool = true;

impl<const WRITES: bool> FromRequestParts<Arc<AppState>> for Caller<WRITES> {
    type Rejection = ControlError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let principal = super::auth::principal(&state.db, header)?;
        if WRITES && !principal.can_write {
            return Err(ControlError::Forbidden("this token is read-only".into()));
        }
        Ok(Self(principal))
    }
}

/// The client's `x-request-id` (1–64 bytes) or a new one; audit rows carry it.
struct RequestId(String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty() && v.len() <= 64)
                .map_or_else(|| new_secret("req_")[..24].to_owned(), str::to_owned),
        ))
    }
}

/// The client's IP address, for the login limits (unspecified where the server was not
/// started with connection info, as in a router driven directly).
struct ClientAddress(std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |info| info.0.ip()),
        ))
    }
}

/// Path parameters with the API's error shape: one that does not parse (`/clusters/abc`)
/// is "not found", in JSON — and only after authentication, since handlers take [`Caller`]
/// before it.
struct ApiPath<T>(T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ControlError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection| {
                ControlError::NotFound(format!("no such resource ({})", rejection.body_text()))
            })
    }
}

/// The `{id}` of a cluster's paths: extracted as `Path<ClusterId>`, documented as `params`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct ClusterId {
    /// The cluster's id.
    id: i64,
}

/// The audit row of a change by `principal`.
fn audit_record<'a>(
    principal: &'a Principal,
    action: &'a str,
    target: String,
    request_id: &'a str,
    cluster_id: Option<i64>,
) -> AuditRecord<'a> {
    AuditRecord {
        actor: &principal.user,
        action,
        target,
        request_id,
        cluster_id,
    }
}

/// The cluster and the caller's role in it; "not found" for non-members and deleted clusters.
fn membership(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<(ClusterRow, Role), ControlError> {
    let found = state.db.read(|c| {
        optional(c.query_row(
            &format!(
                "SELECT {CLUSTER_COLUMNS}, m.role FROM clusters c JOIN memberships m ON m.cluster_id = c.id
                 WHERE c.id = ? AND m.user_id = ? AND c.state != 'deleted'"
            ),
            params![id, principal.user_id],
            |r| Ok((cluster_row(r)?, r.get::<_, String>(7)?)),
        ))
    })?;
    let Some((raw, role)) = found else {
        return Err(ControlError::NotFound(format!("no cluster {id}")));
    };
    let role = Role::parse(&role)
        .ok_or_else(|| ControlError::Internal(format!("unknown role `{role}`")))?;
    Ok((decode_cluster(raw)?, role))
}

/// [`membership`], then the permission check.
fn authorize(
    state: &AppState,
    principal: &Principal,
    id: i64,
    action: Action,
) -> Result<(ClusterRow, Role), ControlError> {
    let (cluster, role) = membership(state, principal, id)?;
    if !role.may(action) {
        return Err(ControlError::Forbidden(format!(
            "a {} of this cluster may not do this ({action:?})",
            role.as_str()
        )));
    }
    // A cluster being deleted can be looked at, nothing more.
    if cluster.state == ClusterState::Deleting && action != Action::View {
        return Err(ControlError::Conflict(format!(
            "cluster `{}` is being deleted",
            cluster.config.name
        )));
    }
    Ok((cluster, role))
}

/// [`authorize`] for a change: a refusal (403) is written to the audit trail as such.
fn authorize_change(
    state: &AppState,
    principal: &Principal,
    request_id: &str,
    id: i64,
    action: Action,
) -> Result<(ClusterRow, Role), ControlError> {
    let result = authorize(state, principal, id, action);
    if let Err(ControlError::Forbidden(why)) = &result {
        audit_outcome(
            state,
            principal,
            request_id,
            id,
            &format!("denied {action:?}"),
            why,
        );
    }
    result
}

/// An audit row for what a request tried and what came of it (a refusal, a failure), written
/// on its own: nothing else it did is committed. A failure to write it is logged.
fn audit_outcome(
    state: &AppState,
    principal: &Principal,
    request_id: &str,
    id: i64,
    action: &str,
    outcome: &str,
) {
    take_back(state, principal, request_id, id, action, outcome, |_| Ok(0));
}

/// Take back a change the nodes never saw (`change`), with an audit row saying what failed,
/// in one transaction; a failure to do so is logged (the next start reconciles the nodes with
/// the database anyway).
fn take_back(
    state: &AppState,
    principal: &Principal,
    request_id: &str,
    id: i64,
    action: &str,
    outcome: &str,
    change: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<usize, ControlError>,
) {
    let record = audit_record(principal, action, outcome.to_owned(), request_id, Some(id));
    if let Err(e) = state.db.mutate(&record, change) {
        tracing::error!(error = %e, action, "cannot write the audit row (or take the change back)");
    }
}

/// [`crate::control::api::check_name`], refused as `invalid`.
fn check_name(what: &str, name: &str, extra: char) -> Result<(), ControlError> {
    crate::control::api::check_name(what, name, extra).map_err(ControlError::Invalid)
}

fn check_password(password: &str) -> Result<(), ControlError> {
    if password.chars().count() < 10 {
        return Err(ControlError::Invalid(
            "passwords need at least 10 characters".into(),
        ));
    }
    Ok(())
}

fn validate_config(state: &AppState, config: &ClusterConfig) -> Result<(), ControlError> {
    check_name("cluster name", &config.name, '-')?;
    let known = |table: &str, value: &str| {
        state.db.read(|c| {
            let column = if table == "regions" { "code" } else { "name" };
            Ok(optional(c.query_row(
                &format!("SELECT 1 FROM {table} WHERE {column} = ?"),
                params![value],
                |_| Ok(()),
            ))?
            .is_some())
        })
    };
    if !known("regions", &config.region)? {
        return Err(ControlError::Invalid(format!(
            "unknown region `{}`",
            config.region
        )));
    }
    if !known("cluster_types", &config.cluster_type)? {
        return Err(ControlError::Invalid(format!(
            "unknown cluster type `{}`",
            config.cluster_type
        )));
    }
    let checks = [
        ((1..=16).contains(&config.shards), "shards must be 1–16"),
        ((1..=3).contains(&config.replicas), "replicas must be 1–3"),
        (
            (1..=256).contains(&config.cpu_per_node),
            "CPU per node must be 1–256",
        ),
        (
            (1..=4096).contains(&config.memory_gib_per_node),
            "memory per node must be 1–4096 GiB",
        ),
        (
            config.tiers.iter().any(|t| t.tier == Tier::Hot),
            "a hot tier is needed",
        ),
        (
            config.tiers.iter().all(|t| t.size_gib > 0),
            "tier sizes must be positive",
        ),
        (
            config
                .tiers
                .iter()
                .all(|t| t.ttl_days.is_none_or(|days| (1..=36_500).contains(&days))),
            "a tier's move-after must be 1–36,500 days",
        ),
        (
            Tier::ALL
                .iter()
                .all(|tier| config.tiers.iter().filter(|t| t.tier == *tier).count() <= 1),
            "each tier at most once",
        ),
        (
            config.provider != ProviderKind::Local || config.shards * config.replicas <= 8,
            "a local cluster runs at most 8 nodes",
        ),
        (
            config.allowed_networks.len() <= 32
                && config
                    .allowed_networks
                    .iter()
                    .all(|n| crate::control::api::is_network(n)),
            "allowed networks are at most 32 addresses or CIDR ranges such as 10.20.0.0/16",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, problem)) => Err(ControlError::Invalid((*problem).to_owned())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_a_folder_or_break_a_config_are_refused() {
        for bad in [
            "../etc",
            "a/b",
            "A",
            "x",
            "has space",
            "<xml>",
            "-lead",
            "ünï",
        ] {
            assert!(check_name("cluster name", bad, '-').is_err(), "{bad}");
        }
        for good in ["line-1", "press-fit-2026"] {
            assert!(check_name("cluster name", good, '-').is_ok(), "{good}");
        }
    }

    #[test]
    fn the_permission_table_is_ordered_by_role() {
        use Action::*;
        assert!(Role::Viewer.may(View) && !Role::Viewer.may(IssueCredential));
        assert!(Role::Engineer.may(IssueCredential) && !Role::Engineer.may(ManageCredentials));
        assert!(Role::Admin.may(ManageMembers) && !Role::Admin.may(Delete));
        assert!(Role::Owner.may(Delete));
    }
}
