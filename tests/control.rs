//! The control plane over real HTTP against a real server on a loopback port with a temporary
//! SQLite file: authentication (bootstrap, login limits, read-only, revoked and expired
//! tokens), authorization (each role against each admin action, cross-cluster isolation),
//! validation (malformed JSON, oversized bodies, names that would escape a folder), cost,
//! manifests, audit, the OpenAPI document against the routes really served — and real local
//! provisioning: a 2-shard ClickHouse cluster with a `Distributed` table, credential rotation
//! seen by ClickHouse, a killed node, a restarted control plane, deletion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lyceum::control::api::{
    ClusterConfig, ClusterState, ClusterUpdate, Credentials, Member, NewProject, NewToken,
    ProjectState, ProviderKind, Role, Tier, TierConfig,
};
use lyceum::control::client::{ClientError, ControlClient};
use lyceum::control::server::{RunningServer, ServerConfig, provider::LocalProvider, spawn};

struct Plane {
    dir: tempfile::TempDir,
    server: RunningServer,
}

impl Plane {
    fn config(dir: &std::path::Path) -> ServerConfig {
        ServerConfig {
            db_path: dir.join("control.db"),
            clusters_dir: dir.join("clusters"),
            clickhouse_binary: LocalProvider::find_binary(),
            tls: None,
        }
    }

    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = spawn("127.0.0.1:0".parse().unwrap(), &Self::config(dir.path()))
            .await
            .unwrap();
        Self { dir, server }
    }

    fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    fn anonymous(&self) -> ControlClient {
        ControlClient::new(self.url())
    }

    async fn owner(&self) -> ControlClient {
        let session = self.anonymous().bootstrap(&creds("olga")).await.unwrap();
        self.anonymous().with_token(session.token)
    }

    async fn user(&self, owner: &ControlClient, name: &str) -> ControlClient {
        owner.create_user(&creds(name)).await.unwrap();
        let session = self.anonymous().login(&creds(name)).await.unwrap();
        self.anonymous().with_token(session.token)
    }
}

impl Drop for Plane {
    /// A failed test must not leave ClickHouse nodes running.
    fn drop(&mut self) {
        let clusters = self.dir.path().join("clusters");
        let _ = std::process::Command::new("pkill")
            .arg("-9")
            .arg("-f")
            .arg(clusters.to_string_lossy().as_ref())
            .status();
    }
}

fn creds(user: &str) -> Credentials {
    Credentials {
        user: user.into(),
        password: format!("{user}-long-password"),
    }
}

fn config(name: &str, provider: ProviderKind, shards: u32) -> ClusterConfig {
    ClusterConfig {
        name: name.into(),
        cluster_type: "process_curves".into(),
        region: "eu-central".into(),
        provider,
        shards,
        replicas: 1,
        cpu_per_node: 2,
        memory_gib_per_node: 8,
        tiers: vec![TierConfig {
            tier: Tier::Hot,
            size_gib: 100,
            ttl_days: None,
        }],
        allowed_networks: Vec::new(),
    }
}

fn status_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> u16 {
    result
        .unwrap_err()
        .status()
        .expect("an API error with a status")
}

#[tokio::test(flavor = "multi_thread")]
async fn authentication_bootstrap_login_limits_and_tokens() {
    let plane = Plane::start().await;
    let anonymous = plane.anonymous();
    assert_eq!(status_of(anonymous.clusters().await), 401);
    let owner = plane.owner().await;
    assert_eq!(
        status_of(anonymous.bootstrap(&creds("mallory")).await),
        409,
        "bootstrap happens once"
    );
    assert!(owner.clusters().await.unwrap().is_empty());

    // Wrong passwords, then the limit: even the right password waits.
    let wrong = Credentials {
        user: "olga".into(),
        password: "not-her-password".into(),
    };
    for _ in 0..5 {
        assert_eq!(status_of(anonymous.login(&wrong).await), 401);
    }
    assert_eq!(status_of(anonymous.login(&creds("olga")).await), 429);
    assert_eq!(status_of(anonymous.login(&creds("nobody")).await), 401);

    // Short passwords and odd user names are refused.
    let short = Credentials {
        user: "pete".into(),
        password: "short".into(),
    };
    assert_eq!(status_of(owner.create_user(&short).await), 422);
    assert_eq!(status_of(owner.create_user(&creds("../etc")).await), 422);
    // Only the instance owner creates accounts.
    let eve = plane.user(&owner, "eve").await;
    assert_eq!(status_of(eve.create_user(&creds("frank")).await), 403);

    // A read-only API token reads but does not write; a revoked one does nothing.
    let token = owner
        .create_token(&NewToken {
            name: "dashboard".into(),
            scopes: vec!["read".into()],
            expires_in_days: 30,
        })
        .await
        .unwrap();
    assert!(token.token.starts_with("lyt_"));
    let read_only = plane.anonymous().with_token(&token.token);
    assert!(read_only.clusters().await.unwrap().is_empty());
    assert_eq!(
        status_of(
            read_only
                .create_cluster(&config("ro", ProviderKind::Kubernetes, 1))
                .await
        ),
        403
    );
    owner.revoke_token(token.info.id).await.unwrap();
    assert_eq!(
        status_of(owner.revoke_token(token.info.id).await),
        404,
        "already revoked"
    );
    assert_eq!(status_of(read_only.clusters().await), 401);

    // An expired token: age it in the database file itself.
    let token = owner
        .create_token(&NewToken {
            name: "old".into(),
            scopes: vec!["read".into(), "write".into()],
            expires_in_days: 1,
        })
        .await
        .unwrap();
    let db = rusqlite::Connection::open(plane.dir.path().join("control.db")).unwrap();
    db.execute(
        "UPDATE tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?",
        [token.info.id],
    )
    .unwrap();
    let expired = plane.anonymous().with_token(&token.token);
    let err = expired.clusters().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("expired"), "{err}");

    // Tokens are stored only as hashes.
    let stored: Vec<String> = db
        .prepare("SELECT token_hash FROM tokens")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 64 && !h.starts_with("lyt_") && *h != token.token)
    );
    let hash: String = db
        .query_row(
            "SELECT password_hash FROM users WHERE name = 'olga'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    // Logging out ends the session.
    owner.logout().await.unwrap();
    assert_eq!(status_of(owner.clusters().await), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_isolation_validation_cost_manifest_and_audit() {
    let plane = Plane::start().await;
    let owner = plane.owner().await;
    let cluster = owner
        .create_cluster(&config("line-1", ProviderKind::Kubernetes, 2))
        .await
        .unwrap();
    assert_eq!(cluster.role, Role::Owner);
    // A Kubernetes cluster is rendered, not applied.
    let deadline = Instant::now() + Duration::from_secs(10);
    while owner.cluster(cluster.id).await.unwrap().state == ClusterState::Provisioning {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fetched = owner.cluster(cluster.id).await.unwrap();
    assert_eq!(fetched.state, ClusterState::Stopped);
    assert!(fetched.state_reason.unwrap().contains("manifest"));
    let manifest = owner.manifest(cluster.id).await.unwrap();
    assert!(
        manifest.contains("kind: \"ClickHouseInstallation\"")
            && manifest.contains("shardsCount: 2"),
        "{manifest}"
    );
    assert!(manifest.contains("storage: 100Gi"), "{manifest}");

    let (viewer, engineer, admin, outsider) = (
        plane.user(&owner, "vera").await,
        plane.user(&owner, "eddie").await,
        plane.user(&owner, "adam").await,
        plane.user(&owner, "otto").await,
    );
    for (name, role) in [
        ("vera", Role::Viewer),
        ("eddie", Role::Engineer),
        ("adam", Role::Admin),
    ] {
        owner
            .put_member(
                cluster.id,
                &Member {
                    user: name.into(),
                    role,
                },
            )
            .await
            .unwrap();
    }
    let id = cluster.id;
    // A viewer reads, and is refused every admin action.
    assert_eq!(viewer.cluster(id).await.unwrap().role, Role::Viewer);
    assert_eq!(viewer.members(id).await.unwrap().len(), 4);
    assert_eq!(
        status_of(
            viewer
                .update_cluster(
                    id,
                    &ClusterUpdate {
                        cpu_per_node: Some(4),
                        ..ClusterUpdate::default()
                    }
                )
                .await
        ),
        403
    );
    assert_eq!(status_of(viewer.issue_credential(id, "reader").await), 403);
    assert_eq!(
        status_of(
            viewer
                .put_member(
                    id,
                    &Member {
                        user: "otto".into(),
                        role: Role::Viewer
                    }
                )
                .await
        ),
        403
    );
    assert_eq!(status_of(viewer.delete_cluster(id, "line-1").await), 403);
    assert_eq!(status_of(viewer.manifest(id).await), 403);
    assert_eq!(status_of(viewer.remove_member(id, "eddie").await), 403);
    let stop = ClusterUpdate {
        state: Some(ClusterState::Stopped),
        ..ClusterUpdate::default()
    };
    assert_eq!(status_of(viewer.update_cluster(id, &stop).await), 403);
    assert_eq!(
        status_of(
            viewer
                .create_project(
                    id,
                    &NewProject {
                        name: "p1".into(),
                        project_type: "screwdriving".into()
                    }
                )
                .await
        ),
        403
    );
    // An engineer issues credentials and projects, but does not rotate or revoke.
    let issued = engineer.issue_credential(id, "analyst").await.unwrap();
    assert_eq!(issued.password.len(), 64);
    assert!(
        engineer
            .credentials(id)
            .await
            .unwrap()
            .iter()
            .all(|c| c.user == "analyst")
    );
    assert_eq!(
        status_of(engineer.rotate_credential(id, issued.credential.id).await),
        403
    );
    assert_eq!(
        status_of(viewer.rotate_credential(id, issued.credential.id).await),
        403
    );
    assert_eq!(
        status_of(viewer.revoke_credential(id, issued.credential.id).await),
        403
    );
    // Lyceum does not run a Kubernetes cluster's nodes: the project is recorded, not made.
    let planned = engineer
        .create_project(
            id,
            &NewProject {
                name: "station-7".into(),
                project_type: "screwdriving".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(planned.state, ProjectState::Planned);
    assert_eq!(
        status_of(engineer.delete_project(id, planned.id, "station-7").await),
        403,
        "engineers do not delete projects"
    );
    assert_eq!(
        status_of(
            engineer
                .create_project(
                    id,
                    &NewProject {
                        name: "x-2".into(),
                        project_type: "poetry".into()
                    }
                )
                .await
        ),
        422
    );
    // An admin rotates and manages members below admin, not owners or admins, and cannot delete.
    let rotated = admin
        .rotate_credential(id, issued.credential.id)
        .await
        .unwrap();
    assert_ne!(rotated.password, issued.password);
    assert!(rotated.credential.rotated_at.is_some());
    admin
        .put_member(
            id,
            &Member {
                user: "otto".into(),
                role: Role::Viewer,
            },
        )
        .await
        .unwrap();
    admin.remove_member(id, "otto").await.unwrap();
    assert_eq!(status_of(admin.remove_member(id, "otto").await), 404);
    // Revoking: not for engineers; once for admins; then it is gone.
    let spare = engineer.issue_credential(id, "spare").await.unwrap();
    assert_eq!(status_of(engineer.issue_credential(id, "spare").await), 409);
    assert_eq!(
        status_of(engineer.revoke_credential(id, spare.credential.id).await),
        403
    );
    admin
        .revoke_credential(id, spare.credential.id)
        .await
        .unwrap();
    assert_eq!(
        status_of(admin.revoke_credential(id, spare.credential.id).await),
        404
    );
    assert_eq!(
        status_of(admin.rotate_credential(id, spare.credential.id).await),
        404
    );
    let listed = viewer.credentials(id).await.unwrap();
    assert!(
        listed
            .iter()
            .any(|c| c.user == "spare" && c.revoked_at.is_some())
    );
    assert_eq!(viewer.projects(id).await.unwrap().len(), 1);
    assert_eq!(
        status_of(
            admin
                .put_member(
                    id,
                    &Member {
                        user: "otto".into(),
                        role: Role::Admin
                    }
                )
                .await
        ),
        403
    );
    assert_eq!(status_of(admin.remove_member(id, "olga").await), 403);
    assert_eq!(status_of(admin.delete_cluster(id, "line-1").await), 403);
    // The last owner stays.
    assert_eq!(
        status_of(
            owner
                .put_member(
                    id,
                    &Member {
                        user: "olga".into(),
                        role: Role::Viewer
                    }
                )
                .await
        ),
        409
    );

    // Someone else's cluster does not exist for an outsider; unknown ids neither.
    assert_eq!(status_of(outsider.cluster(id).await), 404);
    assert_eq!(status_of(outsider.members(id).await), 404);
    assert_eq!(
        status_of(outsider.issue_credential(id, "sneaky").await),
        404
    );
    assert!(outsider.clusters().await.unwrap().is_empty());
    assert_eq!(status_of(owner.cluster(9_999).await), 404);

    // Validation.
    for bad in ["../escape", "Line 1", "a", "x</name>"] {
        assert_eq!(
            status_of(
                owner
                    .create_cluster(&config(bad, ProviderKind::Kubernetes, 1))
                    .await
            ),
            422,
            "{bad}"
        );
    }
    let mut too_many = config("big", ProviderKind::Local, 8);
    too_many.replicas = 2;
    assert_eq!(status_of(owner.create_cluster(&too_many).await), 422);
    assert_eq!(
        status_of(
            owner
                .create_cluster(&config("line-1", ProviderKind::Kubernetes, 1))
                .await
        ),
        409
    );
    let http = lyceum::tls::http_client_builder().build().unwrap();
    let token = plane.anonymous().login(&creds("olga")).await.unwrap().token;
    let malformed = http
        .post(format!("{}/api/clusters", plane.url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 422);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["code"], "invalid");
    let huge = http
        .post(format!("{}/api/clusters", plane.url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{}\"}}", "x".repeat(100_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status().as_u16(), 413);
    assert_eq!(status_of(owner.delete_cluster(id, "wrong-name").await), 422);

    // Cost: eu-central, 2 nodes × (2 cores × 24 + 8 GiB × 3.2) + 100 GiB hot × 0.10.
    let estimate = owner
        .estimate(&config("quote", ProviderKind::Kubernetes, 2))
        .await
        .unwrap();
    assert_eq!(estimate.nodes, 2);
    assert!(
        (estimate.compute_monthly - 147.2).abs() < 1e-9,
        "{estimate:?}"
    );
    assert!(
        (estimate.storage[0].monthly - 10.0).abs() < 1e-9,
        "{estimate:?}"
    );
    assert!(
        (estimate.total_monthly - 157.2).abs() < 1e-9,
        "{estimate:?}"
    );
    let reference = owner.reference().await.unwrap();
    assert!(reference.regions.iter().any(|r| r.code == "eu-central"));
    assert_eq!(reference.tiers.len(), 4);

    // Audit: a row per mutation, with actor and request id; a viewer sees only their own.
    let audit = owner.audit().await.unwrap();
    for action in [
        "bootstrap",
        "create_cluster",
        "put_member",
        "issue_credential",
        "rotate_credential",
        "remove_member",
        "create_project",
        "create_user",
    ] {
        assert!(
            audit.iter().any(|a| a.action == action),
            "no audit row for {action}"
        );
    }
    assert!(audit.iter().all(|a| !a.request_id.is_empty()));
    assert!(
        audit.iter().any(|a| a.action == "rotate_credential"
            && a.actor == "adam"
            && a.cluster_id == Some(id))
    );
    assert!(
        audit
            .iter()
            .any(|a| a.action == "create_cluster" && a.cluster_id == Some(id)),
        "the creation's audit row names the new cluster"
    );
    assert!(
        viewer
            .audit()
            .await
            .unwrap()
            .iter()
            .all(|a| a.actor == "vera")
    );

    // Delete, confirmed by name.
    owner.delete_cluster(id, "line-1").await.unwrap();
    assert_eq!(status_of(owner.cluster(id).await), 404);
    assert!(
        owner
            .audit()
            .await
            .unwrap()
            .iter()
            .any(|a| a.action == "delete_cluster")
    );
}

/// The served OpenAPI document against the router's real routes: every documented operation is
/// routed (one that needs a token answers 401 without it, the others at least read the body),
/// every other method on a documented path is 405, and paths outside the document are 404
/// from the router. The document itself is the one route it does not list.
#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let plane = Plane::start().await;
    let http = lyceum::tls::http_client_builder().build().unwrap();
    let document: serde_json::Value = http
        .get(format!("{}/api/openapi.json", plane.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["components"]["schemas"]["ClusterConfig"].is_object());
    let send = |method: &str, path: &str| {
        http.request(
            reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
            format!("{}{path}", plane.url()),
        )
        .header("content-type", "application/json")
        .body("{}")
        .send()
    };
    let methods = ["get", "put", "post", "delete", "patch"];
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{paths:?}");
    for (path, item) in paths {
        let concrete = path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in methods {
            let status = send(method, &concrete).await.unwrap().status().as_u16();
            let Some(operation) = item.get(method) else {
                assert_eq!(status, 405, "{method} {path} is served but not documented");
                continue;
            };
            // An operation's own `security` overrides the document's; `{}` in it means no token.
            let security = operation.get("security").unwrap_or(&document["security"]);
            let needs_token = security.as_array().is_some_and(|requirements| {
                !requirements.is_empty()
                    && requirements
                        .iter()
                        .all(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            });
            if needs_token {
                assert_eq!(status, 401, "{method} {path} without a token");
            } else {
                assert!(
                    ![401, 404, 405].contains(&status),
                    "{method} {path} is documented but answers {status}"
                );
            }
        }
    }
    for path in [
        "/",
        "/api",
        "/api/cluster",
        "/api/users/1",
        "/api/clusters/1/nodes",
    ] {
        for method in methods {
            let response = send(method, path).await.unwrap();
            assert_eq!(response.status().as_u16(), 404, "{method} {path}");
            assert!(
                response.bytes().await.unwrap().is_empty(),
                "{method} {path}: the router's 404, not a handler's"
            );
        }
    }
}

/// ClickHouse over HTTP as one of the issued users.
async fn clickhouse(port: u16, user: &str, password: &str, query: &str) -> Result<String, String> {
    let response = lyceum::tls::http_client_builder()
        .build()
        .unwrap()
        .post(format!("http://127.0.0.1:{port}/"))
        .header("X-ClickHouse-User", user)
        .header("X-ClickHouse-Key", password)
        .body(query.to_owned())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(text)
    }
}

async fn wait_for_state(client: &ControlClient, id: i64, wanted: ClusterState) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let cluster = client.cluster(id).await.unwrap();
        if cluster.state == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline && cluster.state != ClusterState::Failed,
            "cluster {id} is {:?} ({:?}), waiting for {wanted:?}",
            cluster.state,
            cluster.state_reason
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_two_shard_cluster_really_runs_clickhouse() {
    assert!(
        LocalProvider::find_binary().is_some(),
        "clickhouse-server is needed: apt-get install clickhouse-server (scripts/test.sh does)"
    );
    let plane = Plane::start().await;
    let owner = plane.owner().await;
    let cluster = owner
        .create_cluster(&config("plant-a", ProviderKind::Local, 2))
        .await
        .unwrap();
    let id = cluster.id;
    wait_for_state(&owner, id, ClusterState::Running).await;
    let status = owner.status(id).await.unwrap();
    assert_eq!(status.nodes.len(), 2);
    assert!(
        status.nodes.iter().all(|n| n.up && n.version.is_some()),
        "{status:?}"
    );
    let ports: Vec<u16> = status.nodes.iter().map(|n| n.http_port).collect();

    // A credential, then a Distributed table over both shards, written and read through it.
    let issued = owner.issue_credential(id, "analyst").await.unwrap();
    let password = issued.password.clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    while clickhouse(ports[0], "analyst", &password, "SELECT 1")
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the nodes never accepted the new credential"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for &port in &ports {
        clickhouse(port, "analyst", &password, "CREATE TABLE default.readings (series String, x Float64, value Float32) ENGINE = MergeTree() ORDER BY (series, x)")
            .await
            .unwrap();
        clickhouse(port, "analyst", &password, "CREATE TABLE default.readings_all AS default.readings ENGINE = Distributed(lyceum, default, readings, cityHash64(series))")
            .await
            .unwrap();
    }
    clickhouse(
        ports[0],
        "analyst",
        &password,
        "INSERT INTO default.readings_all SELECT concat('s', toString(number % 10)), toFloat64(number), toFloat32(number) FROM system.numbers LIMIT 1000 SETTINGS insert_distributed_sync = 1",
    )
    .await
    .unwrap();
    // A Distributed insert may forward a shard's part in the background: wait for it.
    let count = |port: u16, table: &'static str| {
        let password = password.clone();
        async move {
            let text = clickhouse(
                port,
                "analyst",
                &password,
                &format!("SELECT count() FROM default.{table}"),
            )
            .await
            .unwrap();
            text.trim().parse::<u64>().unwrap()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (a, b) = (
            count(ports[0], "readings").await,
            count(ports[1], "readings").await,
        );
        if a + b == 1000 {
            assert!(a > 0 && b > 0, "rows on both shards: {a} + {b}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {a} + {b} of 1000 rows arrived"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for &port in &ports {
        assert_eq!(
            count(port, "readings_all").await,
            1000,
            "through the Distributed table"
        );
    }

    // Secrets: the database, its WAL and the clusters folder are this user's only; the node
    // secrets live in the cluster's private folder, not in the database.
    let mode = |path: PathBuf| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777
    };
    let root = plane.dir.path();
    let cluster_dir = root.join("clusters").join(format!("cluster-{id}"));
    assert_eq!(mode(root.join("control.db")), 0o600);
    assert_eq!(mode(root.join("control.db-wal")), 0o600);
    assert_eq!(mode(root.join("clusters")), 0o700);
    assert_eq!(mode(cluster_dir.clone()), 0o700);
    let secrets_file = cluster_dir.join(lyceum::control::server::provider::SECRETS_FILE);
    assert_eq!(mode(secrets_file.clone()), 0o600);
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&secrets_file).unwrap()).unwrap();
    let monitor_password = secrets["monitor_password"].as_str().unwrap().to_owned();
    let interserver_password = secrets["interserver_password"].as_str().unwrap().to_owned();
    for file in ["control.db", "control.db-wal"] {
        let bytes = std::fs::read(root.join(file)).unwrap();
        for secret in [&monitor_password, &interserver_password] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a node secret is in {file}"
            );
        }
    }
    // The monitor reads system tables only; the inter-server user writes rows (distributed
    // inserts need it) but changes no schema.
    let monitor = lyceum::control::server::provider::MONITOR_USER;
    let interserver = lyceum::control::server::provider::INTERSERVER_USER;
    clickhouse(
        ports[0],
        monitor,
        &monitor_password,
        "SELECT count() FROM system.parts",
    )
    .await
    .unwrap();
    for refused in [
        "SELECT count() FROM default.readings",
        "CREATE TABLE default.mine (x UInt8) ENGINE = Memory",
        "INSERT INTO default.readings VALUES ('m', 1, 1)",
    ] {
        assert!(
            clickhouse(ports[0], monitor, &monitor_password, refused)
                .await
                .is_err(),
            "the monitor user ran `{refused}`"
        );
    }
    for refused in [
        "CREATE TABLE default.mine (x UInt8) ENGINE = Memory",
        "DROP TABLE default.readings",
    ] {
        assert!(
            clickhouse(ports[0], interserver, &interserver_password, refused)
                .await
                .is_err(),
            "the inter-server user ran `{refused}`"
        );
    }
    clickhouse(
        ports[0],
        interserver,
        &interserver_password,
        "SELECT count() FROM default.readings",
    )
    .await
    .unwrap();

    // A project makes its database and tables on both nodes: local tables plus Distributed
    // ones, so rows inserted through one node spread over the shards.
    let project = owner
        .create_project(
            id,
            &NewProject {
                name: "press-line".into(),
                project_type: "manufacturing".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(project.state, ProjectState::Ready, "{project:?}");
    assert_eq!(project.database, "press_line");
    for &port in &ports {
        let tables = clickhouse(
            port,
            "analyst",
            &password,
            "SELECT name FROM system.tables WHERE database = 'press_line' ORDER BY name FORMAT TSV",
        )
        .await
        .unwrap();
        for table in [
            "process_curves",
            "process_curves_local",
            "sensor_readings_1m",
            "sensor_readings_local",
        ] {
            assert!(
                tables.lines().any(|t| t == table),
                "{table} missing on {port}: {tables}"
            );
        }
    }
    clickhouse(
        ports[1],
        "analyst",
        &password,
        "INSERT INTO press_line.process_curves (cycle_id, station, samples) SELECT number, 'st-1', [1, 2, 3] FROM system.numbers LIMIT 200 SETTINGS insert_distributed_sync = 1",
    )
    .await
    .unwrap();
    // The remote shard's part may follow in the background (the setting in a SELECT's
    // SETTINGS does not reach the insert on 18.16): wait for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let local_rows = loop {
        let mut rows = Vec::new();
        for &port in &ports {
            let text = clickhouse(
                port,
                "analyst",
                &password,
                "SELECT count() FROM press_line.process_curves_local",
            )
            .await
            .unwrap();
            rows.push(text.trim().parse::<u64>().unwrap());
        }
        if rows.iter().sum::<u64>() == 200 || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(local_rows.iter().sum::<u64>(), 200, "{local_rows:?}");
    assert!(
        local_rows.iter().all(|&n| n > 0),
        "both shards hold rows: {local_rows:?}"
    );
    // The hourly rollup fed on each shard reads back whole through its Distributed table
    // (the remote shard's view may still be writing its part: wait for it too).
    let cycles = loop {
        let cycles = clickhouse(
            ports[0],
            "analyst",
            &password,
            "SELECT sum(cycles) FROM press_line.process_results_hourly",
        )
        .await
        .unwrap();
        if cycles.trim() == "200" || Instant::now() > deadline {
            break cycles;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(cycles.trim(), "200");
    // Taken names: a second project of that name, and a database Lyceum did not make.
    let again = NewProject {
        name: "press-line".into(),
        project_type: "quality".into(),
    };
    assert_eq!(status_of(owner.create_project(id, &again).await), 409);
    let foreign = NewProject {
        name: "default".into(),
        project_type: "quality".into(),
    };
    assert_eq!(status_of(owner.create_project(id, &foreign).await), 409);
    assert_eq!(
        owner.projects(id).await.unwrap().len(),
        1,
        "nothing recorded for a refused name"
    );
    // Deleting asks for the name, then drops what the project made, on every node.
    assert_eq!(
        status_of(owner.delete_project(id, project.id, "press").await),
        422
    );
    owner
        .delete_project(id, project.id, "press-line")
        .await
        .unwrap();
    for &port in &ports {
        let left = clickhouse(
            port,
            "analyst",
            &password,
            "SELECT count() FROM system.databases WHERE name = 'press_line'",
        )
        .await
        .unwrap();
        assert_eq!(left.trim(), "0", "press_line left on {port}");
        assert!(
            clickhouse(
                port,
                "analyst",
                &password,
                "SELECT count() FROM default.readings"
            )
            .await
            .is_ok()
        );
    }
    assert!(owner.projects(id).await.unwrap().is_empty());

    // Rotation: the old password stops working, the new one works.
    let rotated = owner
        .rotate_credential(id, issued.credential.id)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while clickhouse(ports[0], "analyst", &password, "SELECT 1")
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "ClickHouse still accepts the old password"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while clickhouse(ports[1], "analyst", &rotated.password, "SELECT 1")
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "ClickHouse never accepted the rotated password"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Revoked: ClickHouse refuses the credential altogether.
    owner
        .revoke_credential(id, issued.credential.id)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while clickhouse(ports[1], "analyst", &rotated.password, "SELECT 1")
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "ClickHouse still accepts a revoked credential"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let usage = owner.usage(id).await.unwrap();
    let samples: i64 = rusqlite::Connection::open(plane.dir.path().join("control.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM usage WHERE cluster_id = ?",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(samples >= 1, "the monitor records usage");
    assert!(
        usage.bytes_on_disk > 0 && usage.node_uptime_hours > 0.0,
        "{usage:?}"
    );
    // Use over time, for the app's plots: the samples as read, oldest first, each priced.
    let usage = owner.usage(id).await.unwrap();
    assert!(usage.history.len() as i64 >= samples, "{usage:?}");
    assert!(usage.history.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(usage.history.iter().all(|s| s.cost_to_date >= 0.0));

    // A node killed: degraded; started again: running.
    let node_dir = plane
        .dir
        .path()
        .join(format!("clusters/cluster-{id}/s2r1/config.xml"));
    let pgrep = std::process::Command::new("pgrep")
        .arg("-f")
        .arg(node_dir.to_str().unwrap())
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&pgrep.stdout)
        .trim()
        .parse()
        .unwrap();
    let killed = std::process::Command::new("pkill")
        .arg("-9")
        .arg("-f")
        .arg(node_dir.to_str().unwrap())
        .status()
        .unwrap();
    assert!(killed.success());
    wait_for_state(&owner, id, ClusterState::Degraded).await;
    // Reaped by the control plane, not left a zombie.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "node {pid} stays a zombie");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        owner
            .cluster(id)
            .await
            .unwrap()
            .state_reason
            .unwrap()
            .contains("s2r1")
    );
    owner
        .update_cluster(
            id,
            &ClusterUpdate {
                state: Some(ClusterState::Running),
                ..ClusterUpdate::default()
            },
        )
        .await
        .unwrap();
    wait_for_state(&owner, id, ClusterState::Running).await;

    // A rotation interrupted by a crash: the database (written first) has the new password,
    // the nodes still the old one. The restarted control plane finishes it.
    let writer = owner.issue_credential(id, "writer").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while clickhouse(ports[0], "writer", &writer.password, "SELECT 1")
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the nodes never took `writer`");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    plane.server.stop();
    let new_password = "an-interrupted-rotation-password";
    {
        let db =
            lyceum::control::server::store::Db::open(&plane.dir.path().join("control.db")).unwrap();
        db.system(|tx| {
            lyceum::control::server::store::sql(tx.execute(
                "UPDATE assets SET secret_hash = ? WHERE name = 'writer'",
                [lyceum::control::server::auth::sha256_hex(new_password)],
            ))
        })
        .unwrap();
    }

    // A restarted control plane re-attaches to the running nodes.
    let config = Plane::config(plane.dir.path());
    let restarted = spawn("127.0.0.1:0".parse().unwrap(), &config)
        .await
        .unwrap();
    let again = ControlClient::new(format!("http://{}", restarted.addr)).with_token(
        ControlClient::new(format!("http://{}", restarted.addr))
            .login(&creds("olga"))
            .await
            .unwrap()
            .token,
    );
    assert!(again.status(id).await.unwrap().nodes.iter().all(|n| n.up));
    let deadline = Instant::now() + Duration::from_secs(30);
    while clickhouse(ports[1], "writer", new_password, "SELECT 1")
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the interrupted rotation never reached the nodes"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        clickhouse(ports[1], "writer", &writer.password, "SELECT 1")
            .await
            .is_err()
    );
    assert_eq!(
        again.cluster(id).await.unwrap().state,
        ClusterState::Running
    );

    // Deleting needs the name; then the processes and the data are gone.
    assert_eq!(status_of(again.delete_cluster(id, "plant-b").await), 422);
    again.delete_cluster(id, "plant-a").await.unwrap();
    assert!(
        !plane
            .dir
            .path()
            .join(format!("clusters/cluster-{id}"))
            .exists()
    );
    assert!(
        clickhouse(ports[0], "analyst", &rotated.password, "SELECT 1")
            .await
            .is_err()
    );
    restarted.stop();
}

/// `lyceum control serve` as its own process on a free port, killed when dropped.
struct CliServer {
    child: std::process::Child,
    url: String,
}

impl CliServer {
    fn start(dir: &std::path::Path) -> Self {
        Self::start_with_open_files(dir, None)
    }

    /// The server with at most `open_files` file descriptors (a machine's limit, made small).
    fn start_with_open_files(dir: &std::path::Path, open_files: Option<u32>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = match open_files {
            Some(limit) => {
                let mut shell = std::process::Command::new("sh");
                shell
                    .arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""));
                shell.arg(env!("CARGO_BIN_EXE_lyceum"));
                shell
            }
            None => std::process::Command::new(env!("CARGO_BIN_EXE_lyceum")),
        };
        let child = command
            .args([
                "control",
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--db",
            ])
            .arg(dir.join("c.db"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for CliServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn cli_cluster_commands_talk_to_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_lyceum"));
    let server = CliServer::start(dir.path());
    let url = server.url.clone();
    let run = |args: &[&str], stdin: &str| {
        let mut child = std::process::Command::new(&binary)
            .args(args)
            .env("LYCEUM_CONTROL_URL", &url)
            .env("RUST_BACKTRACE", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let bootstrap = loop {
        let out = run(
            &["control", "bootstrap", "--user", "olga"],
            "olga-long-password\n",
        );
        if out.status.success() || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = String::from_utf8_lossy(&bootstrap.stdout).into_owned();
    assert!(
        bootstrap.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&bootstrap.stderr)
    );
    // Headless: no keychain, so the session token is printed once; use it.
    let token = stdout
        .lines()
        .find(|l| l.starts_with("lys_"))
        .map(str::to_owned);
    let token_args: Vec<String> = token
        .map(|t| vec!["--token".to_owned(), t])
        .unwrap_or_default();
    let with_token = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(token_args.iter().map(String::as_str));
        run(&all, "")
    };
    // An empty list says so on standard error; standard output stays empty for scripts.
    let empty = with_token(&["control", "clusters", "list"]);
    assert!(empty.stdout.is_empty());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no clusters yet"));
    let created = with_token(&[
        "control",
        "clusters",
        "create",
        "--name",
        "k8s-line",
        "--provider",
        "kubernetes",
        "--shards",
        "2",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let estimate = with_token(&[
        "control",
        "clusters",
        "estimate",
        "--name",
        "quote",
        "--region",
        "eu-central",
        "--shards",
        "2",
    ]);
    assert!(
        String::from_utf8_lossy(&estimate.stdout).contains("total 157.20 EUR/month"),
        "{}",
        String::from_utf8_lossy(&estimate.stdout)
    );
    let listed = with_token(&["control", "clusters", "list"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("k8s-line"),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let refused = with_token(&["control", "clusters", "delete", "1", "--confirm", "nope"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("repeat the cluster's name"));
    // Credentials from the command line: the password on standard output once, then only
    // metadata; a project on a cluster Lyceum does not run is recorded as planned.
    let issued = with_token(&[
        "control",
        "clusters",
        "issue-credential",
        "1",
        "--user",
        "nightly",
    ]);
    let password = String::from_utf8_lossy(&issued.stdout).trim().to_owned();
    assert_eq!(
        password.len(),
        64,
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let listed = with_token(&["control", "clusters", "credentials", "1"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("nightly") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&password));
    let rotated = with_token(&["control", "clusters", "rotate-credential", "1", "1"]);
    let new_password = String::from_utf8_lossy(&rotated.stdout).trim().to_owned();
    assert!(new_password.len() == 64 && new_password != password);
    assert!(
        with_token(&["control", "clusters", "revoke-credential", "1", "1"])
            .status
            .success()
    );
    let listed = with_token(&["control", "clusters", "credentials", "1"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("revoked"));
    let project = with_token(&[
        "control",
        "clusters",
        "create-project",
        "1",
        "--name",
        "bolts",
        "--type",
        "screwdriving",
    ]);
    assert!(
        String::from_utf8_lossy(&project.stdout).contains("database bolts planned"),
        "{}{}",
        String::from_utf8_lossy(&project.stdout),
        String::from_utf8_lossy(&project.stderr)
    );
    let stopped = with_token(&["control", "clusters", "stop", "1"]);
    assert!(
        String::from_utf8_lossy(&stopped.stdout).contains("`k8s-line`: stopped"),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_control_plane_serves_its_local_user() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = lyceum::control::embedded::Embedded::start(dir.path().to_owned())
        .await
        .unwrap();
    let cluster = embedded
        .client
        .create_cluster(&config("plant-b", ProviderKind::Kubernetes, 1))
        .await
        .unwrap();
    assert_eq!(cluster.role, Role::Owner);
    let listed = embedded.client.clusters().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    drop(embedded);
    // Started again on the same file: a new session for the same local owner sees it.
    let again = lyceum::control::embedded::Embedded::start(dir.path().to_owned())
        .await
        .unwrap();
    assert_eq!(again.client.clusters().await.unwrap().len(), 1);
}

/// schemathesis generates requests from `/api/openapi.json` (coverage, fuzzing and stateful
/// phases); no response may be a server error.
#[test]
fn schemathesis_finds_no_server_errors() {
    let python =
        std::env::var_os("LYCEUM_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from);
    let st = python.with_file_name("st");
    assert!(
        st.is_file(),
        "schemathesis is needed beside {} (scripts/test.sh installs it)",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let server = CliServer::start(dir.path());
    let url = server.url.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let session = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match ControlClient::new(&url).bootstrap(&creds("olga")).await {
                Ok(session) => break session,
                Err(e) => assert!(Instant::now() < deadline, "{e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let output = std::process::Command::new(&st)
        .args([
            "run",
            &format!("{url}/api/openapi.json"),
            "--checks",
            "not_a_server_error",
        ])
        .args([
            "--max-examples",
            "25",
            "--workers",
            "2",
            "--exclude-path",
            "/api/auth/logout",
        ])
        .args(["-H", &format!("Authorization: Bearer {}", session.token)])
        .output()
        .unwrap();
    drop(server);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
}

// Attacks on logins (issue 11): limits per user and per client address that simultaneous
// attempts cannot pass, no user enumeration by timing, and password hashing bounded.

/// A client whose connections come from `source`: any 127.x.y.z reaches a loopback server,
/// so one test plays several machines.
fn client_from(source: [u8; 4]) -> reqwest::Client {
    lyceum::tls::http_client_builder()
        .local_address(std::net::IpAddr::from(source))
        .build()
        .unwrap()
}

/// The status of one login as `user` with `password`.
async fn login_status(client: &reqwest::Client, url: &str, user: &str, password: &str) -> u16 {
    client
        .post(format!("{url}{}", lyceum::control::api::paths::LOGIN))
        .json(&serde_json::json!({ "user": user, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_are_limited_per_user_and_address_even_when_simultaneous() {
    use lyceum::control::server::auth::{ADDRESS_ATTEMPTS, LOGIN_ATTEMPTS};

    let plane = Plane::start().await;
    let owner = plane.owner().await;
    owner.create_user(&creds("ulla")).await.unwrap();
    let url = plane.url();
    let right = creds("ulla").password;
    let home = client_from([127, 0, 0, 2]);
    assert_eq!(login_status(&home, &url, "ulla", &right).await, 200);

    // 60 wrong passwords at once from another machine: no more than the limit are checked.
    let attacker = client_from([127, 0, 0, 3]);
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let (attacker, url) = (attacker.clone(), url.clone());
        attempts
            .spawn(async move { login_status(&attacker, &url, "ulla", "a-wrong-password").await });
    }
    let statuses = attempts.join_all().await;
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert!(
        checked <= LOGIN_ATTEMPTS as usize,
        "{checked} of 60 simultaneous attempts were checked"
    );
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );

    // Ulla is locked out for strangers, not from the machine she logged in from before; her
    // login there hands the guesser no fresh tries.
    let stranger = client_from([127, 0, 0, 4]);
    assert_eq!(login_status(&stranger, &url, "ulla", &right).await, 429);
    assert_eq!(login_status(&home, &url, "ulla", &right).await, 200);
    let limited = attacker
        .post(format!("{url}{}", lyceum::control::api::paths::LOGIN))
        .json(&serde_json::json!({ "user": "ulla", "password": "a-wrong-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(limited.headers()["retry-after"], "60");

    // One address guessing many users runs into its own limit.
    let guesser = client_from([127, 0, 0, 5]);
    let mut statuses = Vec::new();
    for i in 0..ADDRESS_ATTEMPTS + 5 {
        statuses.push(login_status(&guesser, &url, &format!("guess{i}"), "a-wrong-password").await);
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        ADDRESS_ATTEMPTS as usize,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));

    // A user name no account can have is refused before it is counted or hashed.
    let huge = "x".repeat(60 * 1024);
    let refused = stranger
        .post(format!("{url}{}", lyceum::control::api::paths::LOGIN))
        .json(&serde_json::json!({ "user": huge, "password": "a-wrong-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    assert!(
        refused.text().await.unwrap().len() < 1_000,
        "the name is not echoed whole"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_user_takes_as_long_as_a_wrong_password() {
    let plane = Plane::start().await;
    let owner = plane.owner().await;
    owner.create_user(&creds("vera")).await.unwrap();
    let url = plane.url();
    let client = client_from([127, 0, 0, 6]);
    let mut known = Duration::MAX;
    let mut unknown = Duration::MAX;
    for i in 0..3 {
        let started = Instant::now();
        assert_eq!(
            login_status(&client, &url, "vera", "a-wrong-password").await,
            401
        );
        known = known.min(started.elapsed());
        let started = Instant::now();
        assert_eq!(
            login_status(&client, &url, &format!("nobody{i}"), "a-wrong-password").await,
            401
        );
        unknown = unknown.min(started.elapsed());
    }
    // Both run one Argon2id check; without it an unknown user answered ~20× sooner.
    assert!(
        unknown * 3 > known,
        "unknown user {unknown:?}, wrong password {known:?}: the difference tells who exists"
    );
}

/// Peak resident memory of process `pid`, bytes.
fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn a_flood_of_wrong_logins_keeps_memory_bounded_and_lets_a_real_login_through() {
    let dir = tempfile::tempdir().unwrap();
    let server = CliServer::start(dir.path());
    let url = server.url.clone();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        let owner = loop {
            match ControlClient::new(url.clone()).bootstrap(&creds("olga")).await {
                Ok(session) => break session,
                Err(e) => {
                    assert!(Instant::now() < deadline, "the server never came up: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        drop(owner);
        let home = client_from([127, 0, 0, 2]);
        assert_eq!(login_status(&home, &url, "olga", &creds("olga").password).await, 200);

        eprintln!("before the flood: peak RSS {} MB", peak_rss_bytes(server.child.id()) / 1_000_000);
        // 1,000 wrong logins at once from 50 machines, each for another user name.
        let mut flood = tokio::task::JoinSet::new();
        for i in 0..1_000u32 {
            let client = client_from([127, 0, 1, 10 + (i % 50) as u8]);
            let url = url.clone();
            flood.spawn(async move {
                login_status(&client, &url, &format!("user{i}"), "a-wrong-password").await
            });
        }
        // Meanwhile the owner logs in from her machine (told to retry while the server is busy).
        let started = Instant::now();
        let status = loop {
            let status = login_status(&home, &url, "olga", &creds("olga").password).await;
            if status != 503 {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let login_secs = started.elapsed().as_secs_f64();
        let statuses = flood.join_all().await;
        assert_eq!(status, 200, "the owner logs in during the flood");
        assert!(statuses.iter().all(|s| [401, 429, 503].contains(s)));
        let peak = peak_rss_bytes(server.child.id());
        eprintln!(
            "flood: correct login took {login_secs:.2} s; server peak RSS {} MB; {} checked, {} limited, {} busy",
            peak / 1_000_000,
            statuses.iter().filter(|&&s| s == 401).count(),
            statuses.iter().filter(|&&s| s == 429).count(),
            statuses.iter().filter(|&&s| s == 503).count()
        );
        assert!(peak < 200_000_000, "peak RSS {} MB", peak / 1_000_000);
    });
}

/// A database written before node secrets left it: on start the secrets move to the
/// cluster's private folder and no trace of them stays in the database files.
#[tokio::test(flavor = "multi_thread")]
async fn node_secrets_stored_by_an_older_version_move_out_of_the_database() {
    use lyceum::control::server::provider::SECRETS_FILE;
    use lyceum::control::server::store::{Db, sql};
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let config = Plane::config(dir.path());
    let cluster_dir = config.clusters_dir.join("cluster-1");
    std::fs::create_dir_all(&cluster_dir).unwrap();
    let secret = "0123456789abcdef-monitor-secret";
    let runtime = serde_json::json!({
        "dir": cluster_dir,
        "nodes": [],
        "monitor_password": secret,
        "interserver_password": "0123456789abcdef-interserver-secret",
    });
    {
        let db = Db::open(&config.db_path).unwrap();
        db.system(|tx| {
            sql(tx.execute(
                "INSERT INTO clusters (name, config, state, runtime, created_at, updated_at) VALUES ('old', '{}', 'stopped', ?, '', '')",
                [runtime.to_string()],
            ))
        })
        .unwrap();
    }
    let server = spawn("127.0.0.1:0".parse().unwrap(), &config)
        .await
        .unwrap();
    drop(server);
    let secrets_file = cluster_dir.join(SECRETS_FILE);
    assert!(
        std::fs::read_to_string(&secrets_file)
            .unwrap()
            .contains(secret)
    );
    assert_eq!(
        std::fs::metadata(&secrets_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    for file in ["control.db", "control.db-wal"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the old secret is still in {file}"
        );
    }
}

/// Whether any process runs out of `folder` (a local cluster's nodes do).
fn processes_under(folder: &std::path::Path) -> bool {
    std::process::Command::new("pgrep")
        .arg("-f")
        .arg(folder.to_string_lossy().as_ref())
        .status()
        .unwrap()
        .success()
}

/// One lifecycle per cluster (issue 11): a delete while provisioning is queued or starting
/// wins and stays won, concurrent deletes are acknowledged once, a stop right after a delete
/// is refused, and nothing keeps running or keeps the name.
#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_cluster_stays_deleted() {
    assert!(
        LocalProvider::find_binary().is_some(),
        "clickhouse-server is needed"
    );
    let plane = Plane::start().await;
    let owner = plane.owner().await;
    let clusters = plane.dir.path().join("clusters");
    // Two local clusters at once: the second's provisioning waits behind the first's.
    let first = owner
        .create_cluster(&config("line-a", ProviderKind::Local, 1))
        .await
        .unwrap();
    let second = owner
        .create_cluster(&config("line-b", ProviderKind::Local, 1))
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        owner.delete_cluster(second.id, "line-b"),
        owner.delete_cluster(second.id, "line-b")
    );
    let outcomes = [a.is_ok(), b.is_ok()];
    assert_eq!(
        outcomes.iter().filter(|&&ok| ok).count(),
        1,
        "two deletes, one acknowledged"
    );
    let refused = if a.is_ok() { b } else { a };
    assert!([404, 409].contains(&status_of(refused)));
    owner.delete_cluster(first.id, "line-a").await.unwrap();
    // Time for a provisioning that ignored the delete to bring a cluster back.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for cluster in [&first, &second] {
        assert_eq!(status_of(owner.cluster(cluster.id).await), 404);
        let folder = clusters.join(format!("cluster-{}", cluster.id));
        assert!(!folder.exists(), "{} left behind", folder.display());
        assert!(
            !processes_under(&folder),
            "nodes of {} still run",
            cluster.config.name
        );
    }
    assert!(owner.clusters().await.unwrap().is_empty());

    // The name is free again; a stop 20 ms after a delete is refused and brings nothing back.
    let again = owner
        .create_cluster(&config("line-b", ProviderKind::Local, 1))
        .await
        .unwrap();
    wait_for_state(&owner, again.id, ClusterState::Running).await;
    let stop = ClusterUpdate {
        cpu_per_node: None,
        memory_gib_per_node: None,
        tiers: None,
        state: Some(ClusterState::Stopped),
    };
    let (deleted, stopped) = tokio::join!(owner.delete_cluster(again.id, "line-b"), async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        owner.update_cluster(again.id, &stop).await
    });
    deleted.unwrap();
    assert!([404, 409].contains(&status_of(stopped)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(status_of(owner.cluster(again.id).await), 404);
    let folder = clusters.join(format!("cluster-{}", again.id));
    assert!(!folder.exists() && !processes_under(&folder));
}

/// Smaller holes (issue 11): a token cannot mint tokens, names and numbers that pass today
/// but break later are refused, and the manifest opens users to the configured networks only.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_names_ttls_and_manifest_networks_are_checked() {
    let plane = Plane::start().await;
    let owner = plane.owner().await;
    let new_token = |name: &str, days: u32| NewToken {
        name: name.into(),
        scopes: vec!["read".into(), "write".into()],
        expires_in_days: days,
    };
    let day_token = owner.create_token(&new_token("ci", 1)).await.unwrap();
    let as_token = plane.anonymous().with_token(day_token.token);
    assert_eq!(
        status_of(as_token.create_token(&new_token("forever", 365)).await),
        403,
        "a token minted a token"
    );
    for name in ["bad\nname", "nul\0name"] {
        assert_eq!(
            status_of(owner.create_token(&new_token(name, 1)).await),
            422
        );
    }
    for name in ["ab-", "ab--", "line-"] {
        let refused = owner
            .create_cluster(&config(name, ProviderKind::Kubernetes, 1))
            .await;
        assert_eq!(status_of(refused), 422, "cluster name `{name}`");
    }
    for days in [0, u32::MAX] {
        let mut tiered = config("tiered", ProviderKind::Kubernetes, 1);
        tiered.tiers[0].ttl_days = Some(days);
        assert_eq!(
            status_of(owner.create_cluster(&tiered).await),
            422,
            "ttl {days}"
        );
    }
    let mut open = config("open", ProviderKind::Kubernetes, 1);
    open.allowed_networks = vec!["0.0.0.0/99".into()];
    assert_eq!(status_of(owner.create_cluster(&open).await), 422);

    // The manifest's users connect from the configured networks, or private ones; never ::/0.
    let mut plant = config("plant", ProviderKind::Kubernetes, 1);
    plant.allowed_networks = vec!["10.20.0.0/16".into()];
    let plant = owner.create_cluster(&plant).await.unwrap();
    let private = owner
        .create_cluster(&config("private", ProviderKind::Kubernetes, 1))
        .await
        .unwrap();
    for cluster in [&plant, &private] {
        owner.issue_credential(cluster.id, "analyst").await.unwrap();
    }
    let manifest = owner.manifest(plant.id).await.unwrap();
    assert!(
        manifest.contains("networks/ip: [\"10.20.0.0/16\"]"),
        "{manifest}"
    );
    let manifest = owner.manifest(private.id).await.unwrap();
    assert!(
        manifest.contains("\"192.168.0.0/16\"") && !manifest.contains("::/0"),
        "{manifest}"
    );
}

/// A control plane killed (SIGKILL) while it provisions a local cluster: when it starts again
/// the cluster is not left `provisioning` with orphaned nodes — they are stopped (the
/// cluster failed) or, had they all come up, adopted (running) — and deleting it leaves no
/// process behind.
#[test]
fn a_control_plane_killed_during_provisioning_leaves_no_orphans() {
    assert!(
        LocalProvider::find_binary().is_some(),
        "clickhouse-server is needed"
    );
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let connect = |url: String| {
        runtime.block_on(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let anonymous = ControlClient::new(url.clone());
                let session = match anonymous.bootstrap(&creds("olga")).await {
                    Ok(session) => Ok(session),
                    Err(_) => anonymous.login(&creds("olga")).await,
                };
                match session {
                    Ok(session) => break anonymous.with_token(session.token),
                    Err(e) => {
                        assert!(Instant::now() < deadline, "the server never came up: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        })
    };
    let mut first = CliServer::start(dir.path());
    let owner = connect(first.url.clone());
    let cluster = runtime
        .block_on(owner.create_cluster(&config("line-k", ProviderKind::Local, 2)))
        .unwrap();
    let folder = dir
        .path()
        .join("clusters")
        .join(format!("cluster-{}", cluster.id));
    // Killed the moment a node process exists.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !processes_under(&folder) {
        assert!(Instant::now() < deadline, "no node ever started");
        std::thread::sleep(Duration::from_millis(10));
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let second = CliServer::start(dir.path());
    let owner = connect(second.url.clone());
    let after = runtime.block_on(owner.cluster(cluster.id)).unwrap();
    eprintln!(
        "after the restart: {:?} ({:?})",
        after.state, after.state_reason
    );
    match after.state {
        ClusterState::Failed => assert!(!processes_under(&folder), "orphaned nodes run"),
        ClusterState::Running => {
            let status = runtime.block_on(owner.status(cluster.id)).unwrap();
            assert!(status.nodes.iter().all(|n| n.up), "{status:?}");
        }
        other => panic!("left {other:?} ({:?})", after.state_reason),
    }
    runtime
        .block_on(owner.delete_cluster(cluster.id, "line-k"))
        .unwrap();
    assert!(
        !folder.exists() && !processes_under(&folder),
        "the delete left nodes behind"
    );
}

/// A request that fails commits nothing but the audit row saying it failed (issue 11): a
/// credential the nodes never got is not issued (and its name stays free), a start that
/// failed is not a start, a revoked name can be issued again, and a refusal is audited.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_request_commits_nothing_but_its_failure() {
    assert!(
        LocalProvider::find_binary().is_some(),
        "clickhouse-server is needed"
    );
    let plane = Plane::start().await;
    let owner = plane.owner().await;
    let cluster = owner
        .create_cluster(&config("line-f", ProviderKind::Local, 1))
        .await
        .unwrap();
    let id = cluster.id;
    wait_for_state(&owner, id, ClusterState::Running).await;
    let set = |state| ClusterUpdate {
        state: Some(state),
        ..ClusterUpdate::default()
    };
    owner
        .update_cluster(id, &set(ClusterState::Stopped))
        .await
        .unwrap();
    // The cluster's folder goes away behind the control plane's back: nothing can be written
    // for its nodes, and they cannot start.
    let folder = plane.dir.path().join(format!("clusters/cluster-{id}"));
    let aside = plane.dir.path().join("aside");
    std::fs::rename(&folder, &aside).unwrap();
    assert_eq!(status_of(owner.issue_credential(id, "analyst").await), 502);
    assert!(
        owner.credentials(id).await.unwrap().is_empty(),
        "not issued"
    );
    assert_eq!(
        status_of(owner.update_cluster(id, &set(ClusterState::Running)).await),
        502
    );
    assert_eq!(
        owner.cluster(id).await.unwrap().state,
        ClusterState::Stopped
    );
    let actions: Vec<String> = owner
        .audit()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for failed in ["issue_credential_failed", "start_cluster_failed"] {
        assert!(
            actions.iter().any(|a| a == failed),
            "{failed} in {actions:?}"
        );
    }
    // A start is audited once it happened; a credential change is written (with its audit
    // row) before the nodes are, so a crash cannot split them, and a failure takes it back
    // in a later row.
    assert!(!actions.iter().any(|a| a == "start_cluster"), "{actions:?}");
    let position = |action: &str| actions.iter().position(|a| a == action).unwrap();
    assert!(
        position("issue_credential_failed") < position("issue_credential"),
        "newest first: {actions:?}"
    );

    // Back in place: the name is free; revoked, it can be issued again.
    std::fs::rename(&aside, &folder).unwrap();
    let issued = owner.issue_credential(id, "analyst").await.unwrap();
    owner
        .revoke_credential(id, issued.credential.id)
        .await
        .unwrap();
    let again = owner.issue_credential(id, "analyst").await.unwrap();
    assert!(again.credential.revoked_at.is_none());

    // A refusal is audited as one.
    let viewer = plane.user(&owner, "vic").await;
    owner
        .put_member(
            id,
            &Member {
                user: "vic".into(),
                role: Role::Viewer,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        status_of(viewer.update_cluster(id, &set(ClusterState::Stopped)).await),
        403
    );
    let denied = owner.audit().await.unwrap();
    assert!(
        denied
            .iter()
            .any(|e| e.actor == "vic" && e.action.starts_with("denied")),
        "{denied:?}"
    );
    owner.delete_cluster(id, "line-f").await.unwrap();
}

/// Slow headers (issue 11): 900 half-open connections from one machine neither use
/// up the server's file descriptors nor keep anyone else out, and each is closed after the
/// header timeout.
#[test]
fn half_open_connections_neither_exhaust_the_server_nor_lock_others_out() {
    use std::io::{Read, Write};

    let dir = tempfile::tempdir().unwrap();
    let server = CliServer::start_with_open_files(dir.path(), Some(512));
    let url = server.url.clone();
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        while ControlClient::new(url.clone())
            .clusters()
            .await
            .is_err_and(|e| e.status().is_none())
        {
            assert!(Instant::now() < deadline, "the server never came up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // 900 connections that send half a request and stall, from one address.
        let mut stalled = Vec::new();
        for _ in 0..900 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind("127.0.0.9:0".parse().unwrap()).unwrap();
            let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_secs(1), socket.connect(addr)).await
            else {
                continue;
            };
            let mut stream = stream.into_std().unwrap();
            stream.set_nonblocking(false).unwrap();
            if stream
                .write_all(b"GET /api/clusters HTTP/1.1\r\nHost: x\r\n")
                .is_ok()
            {
                stalled.push(stream);
            }
        }
        // Someone else still gets an answer at once (401: no token).
        let answer = client_from([127, 0, 0, 2])
            .get(format!("{url}/api/clusters"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("a normal request is answered while half-open connections wait");
        assert_eq!(answer.status().as_u16(), 401);
        // The stalled connections are closed once the header timeout passes.
        let first = stalled.first_mut().expect("some connections were accepted");
        first
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut buffer = [0u8; 256];
        let closed = loop {
            match first.read(&mut buffer) {
                Ok(0) => break true,
                Ok(_) => {}
                Err(e) => {
                    break !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    );
                }
            }
        };
        assert!(closed, "a half-open connection stayed open");
    });
}

/// HTTPS (issue 11): the control plane serves TLS with a self-signed pair made for a lab; a
/// client trusting that certificate logs in and works, one that does not is refused at the
/// handshake, plain HTTP to the TLS port gets no answer, and a bad CA file is named.
#[tokio::test(flavor = "multi_thread")]
async fn the_control_plane_serves_https_to_clients_that_trust_it() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["127.0.0.1".to_owned(), "localhost".to_owned()];
    let (cert, key) = lyceum::tls::self_signed(&dir.path().join("tls"), &names).unwrap();
    let mut config = Plane::config(dir.path());
    config.tls = Some(lyceum::control::server::TlsFiles {
        cert: cert.clone(),
        key,
    });
    let server = spawn("127.0.0.1:0".parse().unwrap(), &config)
        .await
        .unwrap();
    let url = format!("https://{}", server.addr);
    let trusted = ControlClient::new(&url).with_ca_file(&cert).unwrap();
    let session = trusted.bootstrap(&creds("olga")).await.unwrap();
    let owner = trusted.with_token(session.token);
    assert!(owner.clusters().await.unwrap().is_empty());
    let stranger = ControlClient::new(&url);
    let refused = stranger.login(&creds("olga")).await.unwrap_err();
    assert!(
        refused.status().is_none(),
        "no API answer without trust: {refused}"
    );
    let plain = ControlClient::new(format!("http://{}", server.addr));
    let refused = plain.login(&creds("olga")).await.unwrap_err();
    assert!(
        refused.status().is_none(),
        "no API answer over plain HTTP: {refused}"
    );
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(&bogus, "not a certificate\n").unwrap();
    let err = ControlClient::new(&url).with_ca_file(&bogus).unwrap_err();
    assert!(err.to_string().contains("bogus.pem"), "{err}");
}

/// Requests the API did not expect (issue 11): a path parameter that does not parse is
/// answered in JSON and only after authentication, a body that is not JSON is 415, and a
/// user sees their sessions (one per login) and can revoke one left on a lost device.
#[tokio::test(flavor = "multi_thread")]
async fn odd_requests_are_answered_in_json_and_sessions_can_be_revoked() {
    let plane = Plane::start().await;
    let owner = plane.owner().await;
    let http = lyceum::tls::http_client_builder().build().unwrap();
    let url = plane.url();
    let anonymous = http
        .get(format!("{url}/api/clusters/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401, "authentication first");
    let session = plane.anonymous().login(&creds("olga")).await.unwrap();
    let odd = http
        .get(format!("{url}/api/clusters/abc"))
        .bearer_auth(&session.token)
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status().as_u16(), 404);
    let body: serde_json::Value = odd.json().await.unwrap();
    assert_eq!(body["code"], "not_found", "{body}");
    let text = http
        .post(format!("{url}{}", lyceum::control::api::paths::LOGIN))
        .header("content-type", "text/plain")
        .body(r#"{"user":"olga","password":"olga-long-password"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(text.status().as_u16(), 415);

    // Two logins: both listed; the other one revoked, this one goes on.
    let laptop = plane.anonymous().with_token(session.token);
    let sessions: Vec<_> = owner
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.kind == "session" && t.revoked_at.is_none())
        .collect();
    assert!(sessions.len() >= 2, "{sessions:?}");
    let newest = sessions.iter().map(|t| t.id).max().unwrap();
    owner.revoke_token(newest).await.unwrap();
    assert_eq!(status_of(laptop.clusters().await), 401);
    assert!(owner.clusters().await.is_ok());

    // Probing account names through a cluster's members is audited.
    let cluster = owner
        .create_cluster(&config("probe", ProviderKind::Kubernetes, 1))
        .await
        .unwrap();
    let ghost = Member {
        user: "ghost".into(),
        role: Role::Viewer,
    };
    assert_eq!(status_of(owner.put_member(cluster.id, &ghost).await), 404);
    let audit = owner.audit().await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "put_member_refused" && e.target.contains("ghost")),
        "{audit:?}"
    );
}
