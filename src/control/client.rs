//! [`ControlClient`]: the control-plane API over HTTP (reqwest), returning the server's own
//! types from [`super::api`]. Errors keep the server's status and message.
//!
//! Each method is one operation of the API (see [`super::api::paths`]); the roles named are the
//! least a caller needs in the cluster, and the server answers everyone else as it documents
//! in [`ApiError`] (a cluster the caller is not a member of is
//! "not found").

#![warn(missing_docs)]

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api::{
    ApiError, AuditEntry, Cluster, ClusterConfig, ClusterStatus, ClusterUpdate, CostEstimate,
    Credential, Credentials, DeleteRequest, IssuedCredential, IssuedToken, Member, NewCredential,
    NewProject, NewToken, Project, ReferenceData, Session, TokenInfo, Usage, paths,
};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The CA file for an `https://` control plane cannot be used.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    /// No HTTP response: the server is down, the address is wrong, or the connection broke.
    #[error("cannot reach the control plane at {url}: {source}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// What reqwest reported.
        source: reqwest::Error,
    },
    /// The server refused the request.
    #[error("{status}: {message} ({code})")]
    Api {
        /// The HTTP status (4xx, 5xx).
        status: u16,
        /// The server's stable error kind (`not_found`, `forbidden`, …); `http` when the body
        /// was not the API's error shape (a proxy's page, say).
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// A response that could not be read, or a success whose body is not what the operation
    /// returns.
    #[error("unexpected response: {0}")]
    Decode(String),
}

impl ClientError {
    /// The HTTP status of an API error; none when no answer came or it could not be read.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client of one control-plane server, acting as the user whose token it carries. Cheap to
/// clone (connections are shared).
#[derive(Clone, Debug)]
pub struct ControlClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl ControlClient {
    /// A client for the server at `base` (`http://127.0.0.1:7878`, or `https://…` with a
    /// certificate from the public roots; see [`Self::with_ca_file`]).
    pub fn new(base: impl Into<String>) -> Self {
        let http = http_client(None).unwrap_or_else(|e| {
            // The public roots alone do not fail to load; if they did, reqwest's own setup on
            // the same provider is the best left.
            tracing::error!(error = %e, "the control-plane client's TLS setup failed");
            crate::tls::http_client_builder()
                .build()
                .unwrap_or_default()
        });
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            token: None,
            http,
        }
    }

    /// The same client trusting, for `https://`, the certificates in `ca_file` as well as the
    /// public roots (a plant's own CA, or a lab's self-signed certificate).
    pub fn with_ca_file(mut self, ca_file: &std::path::Path) -> Result<Self, ClientError> {
        self.http = http_client(Some(ca_file))?;
        Ok(self)
    }

    /// The same client sending `token` (a session or API token) as `Authorization: Bearer`;
    /// every call but [`bootstrap`](Self::bootstrap) and [`login`](Self::login) needs one.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The request, with the token; a non-success status becomes [`ClientError::Api`].
    async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<bytes::Bytes, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Unreachable { url, source })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        if !status.is_success() {
            let error: ApiError = serde_json::from_slice(&bytes).unwrap_or(ApiError {
                code: "http".into(),
                message: String::from_utf8_lossy(&bytes).into_owned(),
            });
            return Err(ClientError::Api {
                status: status.as_u16(),
                code: error.code,
                message: error.message,
            });
        }
        Ok(bytes)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, ClientError> {
        let bytes = self.send_raw(method, path, body).await?;
        // Empty bodies (204) decode as JSON null.
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(reqwest::Method::GET, path, None::<&()>).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T, ClientError> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// First run: create the instance owner's account and a session for it; `conflict` once
    /// any user exists.
    pub async fn bootstrap(&self, credentials: &Credentials) -> Result<Session, ClientError> {
        self.post(paths::BOOTSTRAP, credentials).await
    }

    /// A new session (12 hours); `unauthenticated` for a wrong name or password,
    /// `too_many_requests` after 5 failures in a minute.
    pub async fn login(&self, credentials: &Credentials) -> Result<Session, ClientError> {
        self.post(paths::LOGIN, credentials).await
    }

    /// Revoke this client's session token.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.send(reqwest::Method::POST, paths::LOGOUT, None::<&()>)
            .await
    }

    /// Create an account; the instance owner only (`forbidden` otherwise), `conflict` if the
    /// name is taken.
    pub async fn create_user(&self, credentials: &Credentials) -> Result<(), ClientError> {
        self.post(paths::USERS, credentials).await
    }

    /// Create an API token for the caller; its secret is in the answer only.
    pub async fn create_token(&self, token: &NewToken) -> Result<IssuedToken, ClientError> {
        self.post(paths::TOKENS, token).await
    }

    /// The caller's sessions (one per login) and API tokens.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, ClientError> {
        self.get(paths::TOKENS).await
    }

    /// Revoke one of the caller's API tokens; `not_found` if it is not theirs or already
    /// revoked.
    pub async fn revoke_token(&self, id: i64) -> Result<(), ClientError> {
        self.send(
            reqwest::Method::DELETE,
            &paths::fill(paths::TOKEN, &[&id]),
            None::<&()>,
        )
        .await
    }

    /// Regions, cluster and project types, tiers and prices, for filling in a configuration.
    pub async fn reference(&self) -> Result<ReferenceData, ClientError> {
        self.get(paths::REFERENCE).await
    }

    /// The monthly cost of `config`; `invalid` if the configuration is.
    pub async fn estimate(&self, config: &ClusterConfig) -> Result<CostEstimate, ClientError> {
        self.post(paths::ESTIMATE, config).await
    }

    /// The clusters the caller is a member of, with their role in each.
    pub async fn clusters(&self) -> Result<Vec<Cluster>, ClientError> {
        self.get(paths::CLUSTERS).await
    }

    /// Create a cluster (the caller becomes its owner); it answers while still
    /// `provisioning`, so poll [`cluster`](Self::cluster) for the outcome.
    pub async fn create_cluster(&self, config: &ClusterConfig) -> Result<Cluster, ClientError> {
        self.post(paths::CLUSTERS, config).await
    }

    /// One cluster (viewers and above).
    pub async fn cluster(&self, id: i64) -> Result<Cluster, ClientError> {
        self.get(&paths::fill(paths::CLUSTER, &[&id])).await
    }

    /// Change the configuration, start or stop (admins and above); answers the changed cluster.
    pub async fn update_cluster(
        &self,
        id: i64,
        update: &ClusterUpdate,
    ) -> Result<Cluster, ClientError> {
        self.send(
            reqwest::Method::PATCH,
            &paths::fill(paths::CLUSTER, &[&id]),
            Some(update),
        )
        .await
    }

    /// Delete the cluster and its data (owners); `confirm_name` must be the cluster's name.
    pub async fn delete_cluster(&self, id: i64, confirm_name: &str) -> Result<(), ClientError> {
        let body = DeleteRequest {
            confirm_name: confirm_name.to_owned(),
        };
        self.send(
            reqwest::Method::DELETE,
            &paths::fill(paths::CLUSTER, &[&id]),
            Some(&body),
        )
        .await
    }

    /// Members and their roles, by name (viewers and above).
    pub async fn members(&self, id: i64) -> Result<Vec<Member>, ClientError> {
        self.get(&paths::fill(paths::MEMBERS, &[&id])).await
    }

    /// Add a member or change a member's role (admins for engineers and viewers, owners for
    /// the rest); a cluster keeps at least one owner (`conflict`).
    pub async fn put_member(&self, id: i64, member: &Member) -> Result<(), ClientError> {
        self.post(&paths::fill(paths::MEMBERS, &[&id]), member)
            .await
    }

    /// Remove a member (admins and above; only owners remove owners and admins); never the
    /// last owner (`conflict`).
    pub async fn remove_member(&self, id: i64, user: &str) -> Result<(), ClientError> {
        self.send(
            reqwest::Method::DELETE,
            &paths::fill(paths::MEMBER, &[&id, &user]),
            None::<&()>,
        )
        .await
    }

    /// The cluster's ClickHouse credentials, without passwords (viewers and above).
    pub async fn credentials(&self, id: i64) -> Result<Vec<Credential>, ClientError> {
        self.get(&paths::fill(paths::CREDENTIALS, &[&id])).await
    }

    /// Issue a ClickHouse credential for `user` (engineers and above); the password is in the
    /// answer only.
    pub async fn issue_credential(
        &self,
        id: i64,
        user: &str,
    ) -> Result<IssuedCredential, ClientError> {
        self.post(
            &paths::fill(paths::CREDENTIALS, &[&id]),
            &NewCredential {
                user: user.to_owned(),
            },
        )
        .await
    }

    /// A new password for an active credential (admins and above), in the answer only.
    pub async fn rotate_credential(
        &self,
        id: i64,
        credential: i64,
    ) -> Result<IssuedCredential, ClientError> {
        self.send(
            reqwest::Method::POST,
            &paths::fill(paths::ROTATE_CREDENTIAL, &[&id, &credential]),
            None::<&()>,
        )
        .await
    }

    /// Revoke a credential (admins and above); the cluster's nodes stop accepting it.
    pub async fn revoke_credential(&self, id: i64, credential: i64) -> Result<(), ClientError> {
        self.send(
            reqwest::Method::DELETE,
            &paths::fill(paths::CREDENTIAL, &[&id, &credential]),
            None::<&()>,
        )
        .await
    }

    /// The cluster's projects (viewers and above).
    pub async fn projects(&self, id: i64) -> Result<Vec<Project>, ClientError> {
        self.get(&paths::fill(paths::PROJECTS, &[&id])).await
    }

    /// Create a project with its database and tables (engineers and above); `conflict` if the
    /// name is taken in the cluster or a database of that name exists on its nodes.
    pub async fn create_project(
        &self,
        id: i64,
        project: &NewProject,
    ) -> Result<Project, ClientError> {
        self.post(&paths::fill(paths::PROJECTS, &[&id]), project)
            .await
    }

    /// Delete a project and drop its database (admins and owners); `confirm_name` must be the
    /// project's name.
    pub async fn delete_project(
        &self,
        id: i64,
        project: i64,
        confirm_name: &str,
    ) -> Result<(), ClientError> {
        let body = DeleteRequest {
            confirm_name: confirm_name.to_owned(),
        };
        self.send(
            reqwest::Method::DELETE,
            &paths::fill(paths::PROJECT, &[&id, &project]),
            Some(&body),
        )
        .await
    }

    /// State and per-node health (viewers and above); asks the nodes, so it takes a moment.
    pub async fn status(&self, id: i64) -> Result<ClusterStatus, ClientError> {
        self.get(&paths::fill(paths::STATUS, &[&id])).await
    }

    /// The monthly estimate and the cost so far this month (viewers and above).
    pub async fn usage(&self, id: i64) -> Result<Usage, ClientError> {
        self.get(&paths::fill(paths::USAGE, &[&id])).await
    }

    /// The Kubernetes manifest (YAML text; admins and above).
    pub async fn manifest(&self, id: i64) -> Result<String, ClientError> {
        let bytes = self
            .send_raw(
                reqwest::Method::GET,
                &paths::fill(paths::MANIFEST, &[&id]),
                None::<&()>,
            )
            .await?;
        String::from_utf8(bytes.to_vec()).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The audit rows the caller may read, newest first, at most 1000.
    pub async fn audit(&self) -> Result<Vec<AuditEntry>, ClientError> {
        self.get(paths::AUDIT).await
    }
}

/// An HTTP client whose TLS (rustls, ring) trusts the public roots and `ca_file`'s
/// certificates.
fn http_client(ca_file: Option<&std::path::Path>) -> Result<reqwest::Client, ClientError> {
    let config = crate::tls::client_config(ca_file)?;
    crate::tls::http_client_builder()
        .tls_backend_preconfigured(config)
        .build()
        .map_err(|e| ClientError::Tls(crate::tls::TlsError::Config(e.to_string())))
}
