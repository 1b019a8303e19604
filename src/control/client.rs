//! [`ControlClient`]: the control-plane API over HTTP (reqwest), returning the server's own
//! types from [`super::api`]. Errors keep the server's status and message.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api::{
    ApiError, AuditEntry, Cluster, ClusterConfig, ClusterStatus, ClusterUpdate, CostEstimate,
    Credential, Credentials, DeleteRequest, IssuedCredential, IssuedToken, Member, NewCredential,
    NewProject, NewToken, Project, ReferenceData, Session, Usage, paths,
};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the control plane at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("{status}: {message} ({code})")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected response: {0}")]
    Decode(String),
}

impl ClientError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ControlClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl ControlClient {
    /// A client for the server at `base` (`http://127.0.0.1:7878`).
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            token: None,
            http: reqwest::Client::new(),
        }
    }

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

    pub async fn bootstrap(&self, credentials: &Credentials) -> Result<Session, ClientError> {
        self.post(paths::BOOTSTRAP, credentials).await
    }

    pub async fn login(&self, credentials: &Credentials) -> Result<Session, ClientError> {
        self.post(paths::LOGIN, credentials).await
    }

    pub async fn logout(&self) -> Result<(), ClientError> {
        self.send(reqwest::Method::POST, paths::LOGOUT, None::<&()>)
            .await
    }

    pub async fn create_user(&self, credentials: &Credentials) -> Result<(), ClientError> {
        self.post(paths::USERS, credentials).await
    }

    pub async fn create_token(&self, token: &NewToken) -> Result<IssuedToken, ClientError> {
        self.post(paths::TOKENS, token).await
    }

    pub async fn revoke_token(&self, id: i64) -> Result<(), ClientError> {
        self.send(
            reqwest::Method::DELETE,
            &paths::fill(paths::TOKEN, &[&id]),
            None::<&()>,
        )
        .await
    }

    pub async fn reference(&self) -> Result<ReferenceData, ClientError> {
        self.get(paths::REFERENCE).await
    }

    pub async fn estimate(&self, config: &ClusterConfig) -> Result<CostEstimate, ClientError> {
        self.post(paths::ESTIMATE, config).await
    }

    pub async fn clusters(&self) -> Result<Vec<Cluster>, ClientError> {
        self.get(paths::CLUSTERS).await
    }

    pub async fn create_cluster(&self, config: &ClusterConfig) -> Result<Cluster, ClientError> {
        self.post(paths::CLUSTERS, config).await
    }

    pub async fn cluster(&self, id: i64) -> Result<Cluster, ClientError> {
        self.get(&paths::fill(paths::CLUSTER, &[&id])).await
    }

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

    pub async fn members(&self, id: i64) -> Result<Vec<Member>, ClientError> {
        self.get(&paths::fill(paths::MEMBERS, &[&id])).await
    }

    pub async fn put_member(&self, id: i64, member: &Member) -> Result<(), ClientError> {
        self.post(&paths::fill(paths::MEMBERS, &[&id]), member)
            .await
    }

    pub async fn remove_member(&self, id: i64, user: &str) -> Result<(), ClientError> {
        self.send(
            reqwest::Method::DELETE,
            &paths::fill(paths::MEMBER, &[&id, &user]),
            None::<&()>,
        )
        .await
    }

    pub async fn credentials(&self, id: i64) -> Result<Vec<Credential>, ClientError> {
        self.get(&paths::fill(paths::CREDENTIALS, &[&id])).await
    }

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

    pub async fn revoke_credential(&self, id: i64, credential: i64) -> Result<(), ClientError> {
        self.send(
            reqwest::Method::DELETE,
            &paths::fill(paths::CREDENTIAL, &[&id, &credential]),
            None::<&()>,
        )
        .await
    }

    pub async fn projects(&self, id: i64) -> Result<Vec<Project>, ClientError> {
        self.get(&paths::fill(paths::PROJECTS, &[&id])).await
    }

    pub async fn create_project(
        &self,
        id: i64,
        project: &NewProject,
    ) -> Result<Project, ClientError> {
        self.post(&paths::fill(paths::PROJECTS, &[&id]), project)
            .await
    }

    pub async fn status(&self, id: i64) -> Result<ClusterStatus, ClientError> {
        self.get(&paths::fill(paths::STATUS, &[&id])).await
    }

    pub async fn usage(&self, id: i64) -> Result<Usage, ClientError> {
        self.get(&paths::fill(paths::USAGE, &[&id])).await
    }

    /// The Kubernetes manifest (YAML text).
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

    pub async fn audit(&self) -> Result<Vec<AuditEntry>, ClientError> {
        self.get(paths::AUDIT).await
    }
}
