//! Provisioning. [`LocalProvider`] really runs ClickHouse: one `clickhouse-server` process per
//! node on loopback, each with its own ports, data, log and tmp folders, and a generated
//! config whose `remote_servers` lists every node, so `Distributed` tables span the shards.
//! Users (the issued credentials, a read-only monitor and the inter-server user) live in each
//! node's `users.xml`, which ClickHouse reloads by itself, so rotating or revoking a
//! credential changes what the nodes accept within seconds. [`kubernetes_manifest`] renders an
//! Altinity clickhouse-operator `ClickHouseInstallation` instead, for download.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::ControlError;
use super::auth::{new_secret, sha256_hex};
use crate::control::api::{ClusterConfig, NodeStatus};

/// One node of a local cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalNode {
    pub shard: u32,
    pub replica: u32,
    pub http_port: u16,
    pub tcp_port: u16,
    pub dir: PathBuf,
    pub pid: Option<u32>,
}

/// What the control plane remembers about a local cluster (stored with it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalRuntime {
    pub dir: PathBuf,
    pub nodes: Vec<LocalNode>,
    /// The read-only user the control plane monitors with, and the inter-server user
    /// `Distributed` tables connect as: random, never shown, kept in the cluster's private
    /// folder ([`SECRETS_FILE`], 0600), never in the database (older rows had them; they are
    /// read once and moved).
    #[serde(default, skip_serializing)]
    pub monitor_password: String,
    #[serde(default, skip_serializing)]
    pub interserver_password: String,
    /// The user the control plane creates and drops projects' schemas as (DDL allowed, no
    /// data it did not make is touched); kept like the others.
    #[serde(default, skip_serializing)]
    pub schema_password: String,
}

/// The node secrets' file in a local cluster's folder.
pub const SECRETS_FILE: &str = "node-secrets.json";

#[derive(Serialize, Deserialize)]
struct NodeSecrets {
    monitor_password: String,
    interserver_password: String,
    /// Missing in clusters made before projects created schemas.
    #[serde(default)]
    schema_password: String,
}

impl LocalRuntime {
    /// Write the node secrets into the cluster's folder (0600, in a 0700 folder).
    pub fn save_secrets(&self) -> Result<(), ControlError> {
        crate::control::server::store::private_dir(&self.dir)?;
        let secrets = NodeSecrets {
            monitor_password: self.monitor_password.clone(),
            interserver_password: self.interserver_password.clone(),
            schema_password: self.schema_password.clone(),
        };
        let json = serde_json::to_string(&secrets).map_err(|e| provider_error(e.to_string()))?;
        write_file(&self.dir.join(SECRETS_FILE), &json)
    }

    /// Read the node secrets back, unless this runtime already holds them (a row stored
    /// before they moved out of the database).
    pub fn load_secrets(&mut self) -> Result<(), ControlError> {
        if !self.monitor_password.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(SECRETS_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| provider_error(format!("cannot read {}: {e}", path.display())))?;
        let secrets: NodeSecrets = serde_json::from_str(&text)
            .map_err(|e| provider_error(format!("{} is unreadable: {e}", path.display())))?;
        self.monitor_password = secrets.monitor_password;
        self.interserver_password = secrets.interserver_password;
        self.schema_password = secrets.schema_password;
        Ok(())
    }
}

/// A credential as the nodes need it.
#[derive(Clone, Debug)]
pub struct NodeUser {
    pub name: String,
    pub password_sha256: String,
}

pub const MONITOR_USER: &str = "lyceum_monitor";
pub const INTERSERVER_USER: &str = "lyceum_interserver";
pub const SCHEMA_USER: &str = "lyceum_schema";
/// The `remote_servers` cluster name every local cluster uses.
pub const CLUSTER_NAME: &str = "lyceum";

fn provider_error(message: String) -> ControlError {
    ControlError::Provider(message)
}

fn free_port() -> Result<u16, ControlError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| provider_error(format!("no free port: {e}")))
}

/// Runs clusters as local processes under `root`.
#[derive(Clone, Debug)]
pub struct LocalProvider {
    pub root: PathBuf,
    pub binary: PathBuf,
}

impl LocalProvider {
    /// `clickhouse-server` from `$LYCEUM_CLICKHOUSE_SERVER`, `PATH` or `/usr/sbin`.
    pub fn find_binary() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("LYCEUM_CLICKHOUSE_SERVER") {
            return Some(PathBuf::from(path));
        }
        std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("clickhouse-server"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .chain([
                PathBuf::from("/usr/sbin/clickhouse-server"),
                PathBuf::from("/usr/bin/clickhouse-server"),
            ])
            .find(|p| p.is_file())
    }

    /// Lay out the nodes (ports, folders, configs) of cluster `id`; nothing runs yet.
    pub fn plan(
        &self,
        id: i64,
        config: &ClusterConfig,
        users: &[NodeUser],
    ) -> Result<LocalRuntime, ControlError> {
        let dir = self.root.join(format!("cluster-{id}"));
        let mut nodes = Vec::new();
        for shard in 1..=config.shards {
            for replica in 1..=config.replicas {
                nodes.push(LocalNode {
                    shard,
                    replica,
                    http_port: free_port()?,
                    tcp_port: free_port()?,
                    dir: dir.join(format!("s{shard}r{replica}")),
                    pid: None,
                });
            }
        }
        let runtime = LocalRuntime {
            dir,
            nodes,
            monitor_password: new_secret(""),
            interserver_password: new_secret(""),
            schema_password: new_secret(""),
        };
        runtime.save_secrets()?;
        for node in &runtime.nodes {
            for sub in ["data", "tmp", "user_files", "format_schemas", "log"] {
                std::fs::create_dir_all(node.dir.join(sub)).map_err(|e| {
                    provider_error(format!("cannot create {}: {e}", node.dir.display()))
                })?;
            }
            write_file(
                &node.dir.join("config.xml"),
                &node_config(node, &runtime, config),
            )?;
        }
        self.write_users(&runtime, users)?;
        Ok(runtime)
    }

    /// Rewrite every node's users: the nodes reload them by themselves.
    pub fn write_users(
        &self,
        runtime: &LocalRuntime,
        users: &[NodeUser],
    ) -> Result<(), ControlError> {
        let xml = users_xml(runtime, users);
        for node in &runtime.nodes {
            let path = node.dir.join("users.xml");
            let before = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            write_file(&path, &xml)?;
            // ClickHouse notices a change by the file's mtime in whole seconds: a rewrite within
            // the same second as the last one would go unseen, so move it at least a second on.
            if let Some(before) = before {
                let after = std::time::SystemTime::now().max(before + Duration::from_secs(1));
                std::fs::File::options()
                    .append(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(after))
                    .map_err(|e| provider_error(format!("cannot touch {}: {e}", path.display())))?;
            }
        }
        Ok(())
    }

    /// Start every node that is not running; wait until all answer `/ping`.
    pub async fn start(&self, runtime: &mut LocalRuntime) -> Result<(), ControlError> {
        for node in &mut runtime.nodes {
            if node.pid.is_some_and(process_alive) && ping(node.http_port).await {
                continue;
            }
            let log = std::fs::File::create(node.dir.join("log/stdout.log")).map_err(|e| {
                provider_error(format!("cannot write logs in {}: {e}", node.dir.display()))
            })?;
            let child = Command::new(&self.binary)
                .arg(format!(
                    "--config-file={}",
                    node.dir.join("config.xml").display()
                ))
                .current_dir(&node.dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| provider_error(e.to_string()))?)
                .stderr(log)
                .spawn()
                .map_err(|e| {
                    provider_error(format!("cannot start {}: {e}", self.binary.display()))
                })?;
            node.pid = Some(child.id());
            // The node outlives a restarted control plane on purpose (it re-attaches); while
            // this one runs, a thread waits on it so that a node that exits is reaped, not
            // left a zombie.
            let mut child = child;
            let reaper = std::thread::Builder::new()
                .name(format!("reap node s{}r{}", node.shard, node.replica))
                .spawn(move || child.wait());
            if let Err(error) = reaper {
                tracing::warn!(%error, "cannot start a thread to reap a node");
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for node in &runtime.nodes {
            while !ping(node.http_port).await {
                if Instant::now() > deadline || !node.pid.is_some_and(process_alive) {
                    return Err(provider_error(format!(
                        "node s{}r{} did not come up: {}",
                        node.shard,
                        node.replica,
                        last_log_lines(&node.dir)
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Stop every node (SIGTERM, then SIGKILL after 10 s): the recorded process and any other
    /// running the node's config (one started by a control plane killed before it recorded
    /// the pid).
    pub async fn stop(&self, runtime: &mut LocalRuntime) {
        for node in &mut runtime.nodes {
            let mut pids = processes_running(&node.dir.join("config.xml"));
            pids.extend(node.pid.take());
            pids.sort_unstable();
            pids.dedup();
            for &pid in &pids {
                signal(pid, "TERM");
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while pids.iter().any(|&pid| process_alive(pid)) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            for &pid in pids.iter().filter(|&&pid| process_alive(pid)) {
                signal(pid, "KILL");
            }
        }
    }

    /// Stop the nodes and remove all their data.
    pub async fn delete(&self, runtime: &mut LocalRuntime) -> Result<(), ControlError> {
        self.stop(runtime).await;
        match std::fs::remove_dir_all(&runtime.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(provider_error(format!(
                "cannot remove {}: {e}",
                runtime.dir.display()
            ))),
        }
    }

    /// Per node: up or down, and what a running node reports.
    pub async fn status(&self, runtime: &LocalRuntime) -> Vec<NodeStatus> {
        let mut nodes = Vec::new();
        for node in &runtime.nodes {
            let report = if node.pid.is_some_and(process_alive) {
                node_report(node, &runtime.monitor_password).await
            } else {
                None
            };
            nodes.push(NodeStatus {
                shard: node.shard,
                replica: node.replica,
                http_port: node.http_port,
                up: report.is_some(),
                version: report.as_ref().map(|r| r.0.clone()),
                uptime_secs: report.as_ref().map(|r| r.1),
                parts: report.as_ref().map(|r| r.2),
                bytes_on_disk: report.as_ref().map(|r| r.3),
            });
        }
        nodes
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), ControlError> {
    // Written aside and renamed, so a node never reads half a file; readable by this user only
    // (configs hold the inter-server password).
    let partial = path.with_extension("partial");
    let result = std::fs::write(&partial, text)
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))
        })
        .and_then(|()| std::fs::rename(&partial, path));
    result.map_err(|e| provider_error(format!("cannot write {}: {e}", path.display())))
}

/// Processes whose command line names `config` (`--config-file=<config>`), from /proc.
fn processes_running(config: &Path) -> Vec<u32> {
    let wanted = format!("--config-file={}", config.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                cmdline
                    .split(|&b| b == 0)
                    .any(|arg| arg == wanted.as_bytes())
            })
        })
        .filter(|&pid| process_alive(pid))
        .collect()
}

fn process_alive(pid: u32) -> bool {
    // A zombie is not alive: check /proc for its state.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}

fn signal(pid: u32, name: &str) {
    // `kill` from procps keeps this free of `unsafe` libc calls; failure means it is gone.
    match Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => {}
        Ok(status) => tracing::debug!(pid, signal = name, %status, "no such process to signal"),
        Err(error) => tracing::warn!(pid, signal = name, %error, "cannot run `kill`"),
    }
}

fn http_client() -> reqwest::Client {
    crate::tls::http_client_builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap_or_default()
}

async fn ping(port: u16) -> bool {
    http_client()
        .get(format!("http://127.0.0.1:{port}/ping"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// (version, uptime s, active parts, bytes on disk) of a running node: the first two as the
/// node reports them to the monitor user (who sees no table of the users', so not their
/// parts either), the others counted in the node's data folder.
async fn node_report(node: &LocalNode, monitor_password: &str) -> Option<(String, u64, u64, u64)> {
    let query = "SELECT version(), uptime() FORMAT TabSeparated";
    let text = http_client()
        .post(format!("http://127.0.0.1:{}/", node.http_port))
        .header("X-ClickHouse-User", MONITOR_USER)
        .header("X-ClickHouse-Key", monitor_password)
        .body(query)
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .text()
        .await
        .ok()?;
    let mut fields = text.trim().split('\t');
    let version = fields.next()?.to_owned();
    let uptime = fields.next().and_then(|f| f.parse::<u64>().ok())?;
    let data = node.dir.join("data").join("data");
    let (parts, bytes) = tokio::task::spawn_blocking(move || parts_on_disk(&data))
        .await
        .ok()?;
    Some((version, uptime, parts, bytes))
}

/// Parts and their bytes under a node's `data/<database>/<table>/<part>` (MergeTree keeps one
/// folder per part; `detached` and parts being written or removed, named `tmp…` or
/// `delete_tmp…`, do not count; parts merged away count until ClickHouse removes them).
fn parts_on_disk(data: &Path) -> (u64, u64) {
    fn entries(dir: &Path) -> Vec<std::fs::DirEntry> {
        std::fs::read_dir(dir)
            .map(|d| d.flatten().collect())
            .unwrap_or_default()
    }
    fn bytes_under(dir: &Path) -> u64 {
        entries(dir)
            .iter()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => bytes_under(&e.path()),
                Ok(_) => e.metadata().map_or(0, |m| m.len()),
                Err(_) => 0,
            })
            .sum()
    }
    let mut parts = 0;
    let mut bytes = 0;
    for database in entries(data) {
        for table in entries(&database.path()) {
            for part in entries(&table.path()) {
                let name = part.file_name().to_string_lossy().into_owned();
                let is_part = part.file_type().is_ok_and(|t| t.is_dir())
                    && name != "detached"
                    && !name.starts_with("tmp")
                    && !name.starts_with("delete_tmp");
                if is_part {
                    parts += 1;
                    bytes += bytes_under(&part.path());
                }
            }
        }
    }
    (parts, bytes)
}

fn last_log_lines(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("log/server.err.log"))
        .or_else(|_| std::fs::read_to_string(dir.join("log/stdout.log")))
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

fn node_config(node: &LocalNode, runtime: &LocalRuntime, config: &ClusterConfig) -> String {
    let d = node.dir.display();
    let shards: String = (1..=config.shards)
        .map(|shard| {
            let replicas: String = runtime
                .nodes
                .iter()
                .filter(|n| n.shard == shard)
                .map(|n| {
                    format!(
                        "<replica><host>127.0.0.1</host><port>{}</port><user>{INTERSERVER_USER}</user><password>{}</password></replica>",
                        n.tcp_port, runtime.interserver_password
                    )
                })
                .collect();
            // No ZooKeeper here: a Distributed insert writes every replica itself.
            format!("<shard><internal_replication>false</internal_replication>{replicas}</shard>")
        })
        .collect();
    format!(
        r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/log/server.log</log><errorlog>{d}/log/server.err.log</errorlog><console>0</console></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <remote_servers><{CLUSTER_NAME}>{shards}</{CLUSTER_NAME}></remote_servers>
  <macros><shard>{shard}</shard><replica>{replica}</replica></macros>
</yandex>
"#,
        http = node.http_port,
        tcp = node.tcp_port,
        shard = node.shard,
        replica = node.replica,
    )
}

fn users_xml(runtime: &LocalRuntime, users: &[NodeUser]) -> String {
    let user = |name: &str, sha: &str, profile: &str, extra: &str| {
        format!(
            "<{name}><password_sha256_hex>{sha}</password_sha256_hex><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>{profile}</profile><quota>default</quota>{extra}</{name}>"
        )
    };
    // The monitor reads system tables only; the inter-server user reads and writes what
    // distributed queries forward, but changes no schema.
    let mut entries = user(
        MONITOR_USER,
        &sha256_hex(&runtime.monitor_password),
        "readonly",
        "<allow_databases><database>system</database></allow_databases>",
    );
    entries.push_str(&user(
        INTERSERVER_USER,
        &sha256_hex(&runtime.interserver_password),
        "interserver",
        "",
    ));
    // Older clusters have no schema user: none is written rather than one without a password.
    if !runtime.schema_password.is_empty() {
        entries.push_str(&user(
            SCHEMA_USER,
            &sha256_hex(&runtime.schema_password),
            "default",
            "",
        ));
    }
    for u in users {
        entries.push_str(&user(&u.name, &u.password_sha256, "default", ""));
    }
    format!(
        r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default><readonly><readonly>1</readonly></readonly><interserver><max_memory_usage>4000000000</max_memory_usage><allow_ddl>0</allow_ddl></interserver></profiles>
  <users>{entries}</users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"#
    )
}

/// An Altinity clickhouse-operator `ClickHouseInstallation` for `config`: layout, users
/// (SHA-256 passwords), a volume claim template per storage tier and a storage policy that
/// moves data down the tiers.
pub fn kubernetes_manifest(config: &ClusterConfig, users: &[NodeUser]) -> String {
    let name = config.name.replace('_', "-");
    let networks = config
        .networks()
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let users_yaml: String = users
        .iter()
        .map(|u| {
            format!(
                "      {0}/password_sha256_hex: \"{1}\"\n      {0}/networks/ip: [{networks}]\n      {0}/profile: default\n",
                u.name, u.password_sha256
            )
        })
        .collect();
    let claims: String = config
        .tiers
        .iter()
        .map(|t| {
            format!(
                "      - name: {tier}\n        spec:\n          accessModes: [ReadWriteOnce]\n          resources:\n            requests:\n              storage: {size}Gi\n",
                tier = t.tier.as_str(),
                size = t.size_gib
            )
        })
        .collect();
    let mounts: String = config
        .tiers
        .iter()
        .map(|t| {
            format!(
                "              - name: {0}\n                mountPath: /var/lib/clickhouse-{0}\n",
                t.tier.as_str()
            )
        })
        .collect();
    let disks: String = config
        .tiers
        .iter()
        .map(|t| {
            format!(
                "<{0}><path>/var/lib/clickhouse-{0}/</path></{0}>",
                t.tier.as_str()
            )
        })
        .collect();
    let volumes: String = config
        .tiers
        .iter()
        .map(|t| format!("<{0}><disk>{0}</disk></{0}>", t.tier.as_str()))
        .collect();
    format!(
        r#"apiVersion: "clickhouse.altinity.com/v1"
kind: "ClickHouseInstallation"
metadata:
  name: "{name}"
  labels:
    app.kubernetes.io/managed-by: lyceum
    lyceum/region: "{region}"
spec:
  configuration:
    clusters:
      - name: "{CLUSTER_NAME}"
        layout:
          shardsCount: {shards}
          replicasCount: {replicas}
    users:
{users_yaml}    files:
      config.d/storage.xml: |
        <clickhouse><storage_configuration><disks>{disks}</disks>
        <policies><tiered><volumes>{volumes}</volumes></tiered></policies></storage_configuration></clickhouse>
  defaults:
    templates:
      podTemplate: lyceum-node
  templates:
    podTemplates:
      - name: lyceum-node
        spec:
          containers:
            - name: clickhouse
              image: clickhouse/clickhouse-server:24.8
              resources:
                requests:
                  cpu: "{cpu}"
                  memory: "{memory}Gi"
                limits:
                  cpu: "{cpu}"
                  memory: "{memory}Gi"
              volumeMounts:
{mounts}    volumeClaimTemplates:
{claims}"#,
        region = config.region,
        shards = config.shards,
        replicas = config.replicas,
        cpu = config.cpu_per_node,
        memory = config.memory_gib_per_node,
    )
}
