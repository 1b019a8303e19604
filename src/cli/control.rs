//! `lyceum control …`: serve the control plane, log in, manage clusters through the client.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use lyceum::secrets::{self, Password};

use super::connect::read_password_from_stdin;
use super::output::out;

#[derive(Subcommand, Debug)]
pub(crate) enum ControlCommand {
    /// Run the control-plane server (SQLite file, local ClickHouse provisioning).
    Serve {
        #[arg(long, default_value = "127.0.0.1:7878")]
        addr: std::net::SocketAddr,
        /// The database file (default: ~/.local/share/lyceum/control.db).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Where local clusters keep their data (default: beside the database).
        #[arg(long)]
        clusters_dir: Option<PathBuf>,
        /// Serve HTTPS with this PEM certificate chain (with --tls-key).
        #[arg(long, requires = "tls_key", conflicts_with = "tls_self_signed")]
        tls_cert: Option<PathBuf>,
        /// The certificate's PEM private key.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve HTTPS with a self-signed certificate made (once) beside the database, for a
        /// lab; clients trust it with `--ca-file <its cert.pem>`.
        #[arg(long)]
        tls_self_signed: bool,
    },
    /// First run: create the owner account (password from standard input).
    Bootstrap {
        #[command(flatten)]
        server: ControlServerArgs,
        #[arg(long)]
        user: String,
    },
    /// Log in (password from standard input); the session token goes to the OS keychain.
    Login {
        #[command(flatten)]
        server: ControlServerArgs,
        #[arg(long)]
        user: String,
    },
    /// Clusters.
    #[command(subcommand)]
    Clusters(ClustersCommand),
    /// Load test: concurrent clients with a realistic mix against an in-process server.
    #[cfg(feature = "bench")]
    Bench {
        #[arg(long, default_value_t = 100)]
        clients: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
}

#[derive(Args, Debug)]
pub(crate) struct ControlServerArgs {
    #[arg(
        long,
        env = "LYCEUM_CONTROL_URL",
        default_value = "http://127.0.0.1:7878"
    )]
    pub(crate) control_url: String,
    /// A token (default: the session stored by `lyceum control login`).
    #[arg(long, env = "LYCEUM_CONTROL_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// For an https:// control plane: a PEM file of the certificate authority (or the
    /// self-signed certificate) to trust besides the public roots.
    #[arg(long, env = "LYCEUM_CONTROL_CA_FILE")]
    pub(crate) ca_file: Option<PathBuf>,
}

impl ControlServerArgs {
    pub(crate) fn keychain_account(&self) -> String {
        format!("control@{}", self.control_url)
    }

    /// A client of the control plane, trusting `--ca-file` for HTTPS, without a token.
    pub(crate) fn anonymous(&self) -> anyhow::Result<lyceum::control::client::ControlClient> {
        let client = lyceum::control::client::ControlClient::new(&self.control_url);
        Ok(match &self.ca_file {
            Some(ca_file) => client.with_ca_file(ca_file)?,
            None => client,
        })
    }

    pub(crate) fn client(&self) -> anyhow::Result<lyceum::control::client::ControlClient> {
        let client = self.anonymous()?;
        let token = match &self.token {
            Some(token) => token.clone(),
            None => secrets::use_platform_store()
                .and_then(|_| secrets::load_password(&self.keychain_account()))?
                .map(|p| p.expose().to_owned())
                .with_context(|| {
                    format!(
                        "not logged in to {}: run `lyceum control login`",
                        self.control_url
                    )
                })?,
        };
        Ok(client.with_token(token))
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum ClustersCommand {
    /// The clusters you are a member of.
    List {
        #[command(flatten)]
        server: ControlServerArgs,
    },
    /// Create and provision a cluster.
    Create {
        #[command(flatten)]
        server: ControlServerArgs,
        #[command(flatten)]
        config: ClusterArgs,
    },
    /// A configuration's monthly cost, itemised.
    Estimate {
        #[command(flatten)]
        server: ControlServerArgs,
        #[command(flatten)]
        config: ClusterArgs,
    },
    /// State and per-node health.
    Status {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
    },
    /// Delete a cluster and all its data: repeat its name with --confirm.
    Delete {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
        #[arg(long)]
        confirm: String,
    },
    /// Start a stopped (or degraded) local cluster's nodes.
    Start {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
    },
    /// Stop a local cluster's nodes (the data stays).
    Stop {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
    },
    /// A cluster's ClickHouse credentials (no passwords).
    Credentials {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
    },
    /// Issue a ClickHouse credential; its password is printed this once.
    IssueCredential {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
        #[arg(long)]
        user: String,
    },
    /// Give a credential a new password, printed this once (the old one stops working).
    RotateCredential {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
        credential: i64,
    },
    /// Revoke a credential: the nodes refuse it from then on.
    RevokeCredential {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
        credential: i64,
    },
    /// A cluster's projects: name, type, database, state.
    Projects {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
    },
    /// Create a project: its database and its type's tables on every node.
    CreateProject {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
        #[arg(long)]
        name: String,
        /// manufacturing, screwdriving, press_fit, sensor_monitoring or quality.
        #[arg(long = "type")]
        project_type: String,
    },
    /// Delete a project and drop its database: repeat its name with --confirm.
    DeleteProject {
        #[command(flatten)]
        server: ControlServerArgs,
        id: i64,
        project: i64,
        #[arg(long)]
        confirm: String,
    },
}

#[derive(Args, Debug)]
pub(crate) struct ClusterArgs {
    #[arg(long)]
    pub(crate) name: String,
    #[arg(long = "type", default_value = "process_curves")]
    pub(crate) cluster_type: String,
    #[arg(long, default_value = "local")]
    pub(crate) region: String,
    /// `local` (real processes here) or `kubernetes` (a manifest to download).
    #[arg(long, default_value = "local")]
    pub(crate) provider: String,
    #[arg(long, default_value_t = 1)]
    pub(crate) shards: u32,
    #[arg(long, default_value_t = 1)]
    pub(crate) replicas: u32,
    #[arg(long, default_value_t = 2)]
    pub(crate) cpu: u32,
    #[arg(long, default_value_t = 8)]
    pub(crate) memory_gib: u32,
    /// A network (CIDR) the cluster's users may connect from; repeat for more (none: loopback
    /// and the private networks).
    #[arg(long = "allow-network")]
    pub(crate) allow_networks: Vec<String>,
    #[arg(long, default_value_t = 100)]
    pub(crate) hot_gib: u32,
    /// Warm tier size (0: none); data moves there after --hot-days.
    #[arg(long, default_value_t = 0)]
    pub(crate) warm_gib: u32,
    #[arg(long, default_value_t = 30)]
    pub(crate) hot_days: u32,
}

impl ClusterArgs {
    pub(crate) fn config(&self) -> anyhow::Result<lyceum::control::api::ClusterConfig> {
        use lyceum::control::api::{ClusterConfig, ProviderKind, Tier, TierConfig};
        let provider = match self.provider.as_str() {
            "local" => ProviderKind::Local,
            "kubernetes" => ProviderKind::Kubernetes,
            other => bail!("unknown provider `{other}` (local, kubernetes)"),
        };
        let mut tiers = vec![TierConfig {
            tier: Tier::Hot,
            size_gib: self.hot_gib,
            ttl_days: (self.warm_gib > 0).then_some(self.hot_days),
        }];
        if self.warm_gib > 0 {
            tiers.push(TierConfig {
                tier: Tier::Warm,
                size_gib: self.warm_gib,
                ttl_days: None,
            });
        }
        Ok(ClusterConfig {
            name: self.name.clone(),
            cluster_type: self.cluster_type.clone(),
            region: self.region.clone(),
            provider,
            shards: self.shards,
            replicas: self.replicas,
            cpu_per_node: self.cpu,
            memory_gib_per_node: self.memory_gib,
            tiers,
            allowed_networks: self.allow_networks.clone(),
        })
    }
}

pub(crate) fn default_control_db() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join(".local/share/lyceum/control.db")
}

pub(crate) async fn control_command(command: ControlCommand) -> anyhow::Result<()> {
    match command {
        ControlCommand::Serve {
            addr,
            db,
            clusters_dir,
            tls_cert,
            tls_key,
            tls_self_signed,
        } => {
            let db_path = db.unwrap_or_else(default_control_db);
            let clusters_dir = clusters_dir.unwrap_or_else(|| {
                db_path
                    .parent()
                    .map_or_else(|| PathBuf::from("."), |p| p.join("clusters"))
            });
            let binary = lyceum::control::server::provider::LocalProvider::find_binary();
            if binary.is_none() {
                eprintln!(
                    "note: clickhouse-server not found; local clusters will fail with that reason"
                );
            }
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(lyceum::control::server::TlsFiles { cert, key }),
                _ if tls_self_signed => {
                    let dir = db_path
                        .parent()
                        .map_or_else(|| PathBuf::from("tls"), |p| p.join("tls"));
                    let names = vec![addr.ip().to_string(), "localhost".to_owned()];
                    let (cert, key) = lyceum::tls::self_signed(&dir, &names)?;
                    out!(
                        "self-signed certificate: {} (give it to clients as --ca-file)",
                        cert.display()
                    );
                    Some(lyceum::control::server::TlsFiles { cert, key })
                }
                _ => None,
            };
            let config = lyceum::control::server::ServerConfig {
                db_path: db_path.clone(),
                clusters_dir,
                clickhouse_binary: binary,
                tls,
            };
            let mut running = lyceum::control::server::spawn(addr, &config).await?;
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            out!(
                "control plane on {scheme}://{} (database {}); API document at /api/openapi.json",
                running.addr,
                db_path.display()
            );
            (&mut running.task).await?;
        }
        ControlCommand::Bootstrap { server, user } => {
            let session = start_control_session(&server, &user, true).await?;
            out!(
                "owner `{user}` created and logged in until {}",
                session.expires_at
            );
        }
        ControlCommand::Login { server, user } => {
            let session = start_control_session(&server, &user, false).await?;
            out!("logged in as `{user}` until {}", session.expires_at);
        }
        ControlCommand::Clusters(command) => clusters_command(command).await?,
        #[cfg(feature = "bench")]
        ControlCommand::Bench { clients, seconds } => {
            let r = lyceum::bench::run_control_load(
                clients,
                std::time::Duration::from_secs_f64(seconds),
            )
            .await?;
            out!(
                "{} clients, {:.1} s: {} requests, {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} errors; \
                 {} writes confirmed, {} rows found ({} lost)",
                r.clients,
                r.seconds,
                r.requests,
                r.requests_per_sec,
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                r.errors,
                r.writes_confirmed,
                r.rows_found,
                r.writes_confirmed.saturating_sub(r.rows_found)
            );
        }
    }
    Ok(())
}

/// Bootstrap the owner account (`bootstrap`) or log in, with the password from standard input,
/// and keep the session.
pub(crate) async fn start_control_session(
    server: &ControlServerArgs,
    user: &str,
    bootstrap: bool,
) -> anyhow::Result<lyceum::control::api::Session> {
    let credentials = lyceum::control::api::Credentials {
        user: user.to_owned(),
        password: read_password_from_stdin()?.expose().to_owned(),
    };
    let client = server.anonymous()?;
    let session = if bootstrap {
        client.bootstrap(&credentials).await?
    } else {
        client.login(&credentials).await?
    };
    store_control_session(server, &session.token)?;
    Ok(session)
}

pub(crate) fn store_control_session(server: &ControlServerArgs, token: &str) -> anyhow::Result<()> {
    match secrets::use_platform_store()
        .and_then(|_| secrets::store_password(&server.keychain_account(), &Password::new(token)))
    {
        Ok(()) => Ok(()),
        Err(e) => {
            // No keychain (headless): the token must reach the user some other way, once.
            eprintln!("note: {e}; use this session with --token or LYCEUM_CONTROL_TOKEN:");
            out!("{token}");
            Ok(())
        }
    }
}

/// A credential's password on standard output, what it is on standard error: shown this once.
fn print_once(issued: &lyceum::control::api::IssuedCredential) {
    eprintln!(
        "credential {} `{}`: the password below is shown this once",
        issued.credential.id, issued.credential.user
    );
    out!("{}", issued.password);
}

/// Start or stop cluster `id`, and say where it ended.
async fn set_state(
    server: &ControlServerArgs,
    id: i64,
    state: lyceum::control::api::ClusterState,
) -> anyhow::Result<()> {
    let update = lyceum::control::api::ClusterUpdate {
        state: Some(state),
        ..Default::default()
    };
    let cluster = server.client()?.update_cluster(id, &update).await?;
    out!(
        "cluster {id} `{}`: {}",
        cluster.config.name,
        cluster.state.as_str()
    );
    Ok(())
}

pub(crate) async fn clusters_command(command: ClustersCommand) -> anyhow::Result<()> {
    match command {
        ClustersCommand::List { server } => {
            let clusters = server.client()?.clusters().await?;
            if clusters.is_empty() {
                // On standard error: a script reading the list still reads nothing.
                eprintln!(
                    "note: no clusters yet; `lyceum control clusters create --name …` makes one"
                );
            }
            for c in clusters {
                out!(
                    "{:>4}  {:<24} {:<12} {:<8} {}×{}  {:<10} {}",
                    c.id,
                    c.config.name,
                    c.state.as_str(),
                    c.role.as_str(),
                    c.config.shards,
                    c.config.replicas,
                    c.config.region,
                    c.state_reason.unwrap_or_default()
                );
            }
        }
        ClustersCommand::Create { server, config } => {
            let cluster = server.client()?.create_cluster(&config.config()?).await?;
            out!(
                "cluster {} `{}`: {}",
                cluster.id,
                cluster.config.name,
                cluster.state.as_str()
            );
        }
        ClustersCommand::Estimate { server, config } => {
            let e = server.client()?.estimate(&config.config()?).await?;
            out!(
                "{} nodes, compute {:.2} {}/month",
                e.nodes,
                e.compute_monthly,
                e.currency
            );
            for t in &e.storage {
                out!(
                    "  {:<8} {:>6} GiB  {:.2} {}/month",
                    t.tier.as_str(),
                    t.size_gib,
                    t.monthly,
                    e.currency
                );
            }
            out!("total {:.2} {}/month", e.total_monthly, e.currency);
        }
        ClustersCommand::Status { server, id } => {
            let status = server.client()?.status(id).await?;
            out!(
                "{} {}",
                status.state.as_str(),
                status.state_reason.unwrap_or_default()
            );
            for n in status.nodes {
                out!(
                    "  s{}r{} :{} {} {} uptime {} s, {} parts, {} bytes",
                    n.shard,
                    n.replica,
                    n.http_port,
                    if n.up { "up" } else { "DOWN" },
                    n.version.unwrap_or_default(),
                    n.uptime_secs.unwrap_or(0),
                    n.parts.unwrap_or(0),
                    n.bytes_on_disk.unwrap_or(0)
                );
            }
        }
        ClustersCommand::Delete {
            server,
            id,
            confirm,
        } => {
            server.client()?.delete_cluster(id, &confirm).await?;
            out!("cluster {id} deleted");
        }
        ClustersCommand::Start { server, id } => {
            set_state(&server, id, lyceum::control::api::ClusterState::Running).await?;
        }
        ClustersCommand::Stop { server, id } => {
            set_state(&server, id, lyceum::control::api::ClusterState::Stopped).await?;
        }
        ClustersCommand::Credentials { server, id } => {
            for c in server.client()?.credentials(id).await? {
                let state = match (&c.revoked_at, &c.rotated_at) {
                    (Some(at), _) => format!("revoked {at}"),
                    (None, Some(at)) => format!("rotated {at}"),
                    (None, None) => "active".to_owned(),
                };
                out!("{}\t{}\t{}\t{state}", c.id, c.user, c.created_at);
            }
        }
        ClustersCommand::IssueCredential { server, id, user } => {
            print_once(&server.client()?.issue_credential(id, &user).await?);
        }
        ClustersCommand::RotateCredential {
            server,
            id,
            credential,
        } => {
            print_once(&server.client()?.rotate_credential(id, credential).await?);
        }
        ClustersCommand::RevokeCredential {
            server,
            id,
            credential,
        } => {
            server.client()?.revoke_credential(id, credential).await?;
            out!("credential {credential} revoked");
        }
        ClustersCommand::Projects { server, id } => {
            for p in server.client()?.projects(id).await? {
                out!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    p.id,
                    p.name,
                    p.project_type,
                    p.database,
                    p.state.as_str(),
                    p.state_reason.unwrap_or_default()
                );
            }
        }
        ClustersCommand::CreateProject {
            server,
            id,
            name,
            project_type,
        } => {
            let project = server
                .client()?
                .create_project(id, &lyceum::control::api::NewProject { name, project_type })
                .await?;
            out!(
                "project {} ({}): database {} {}",
                project.id,
                project.name,
                project.database,
                project.state.as_str()
            );
        }
        ClustersCommand::DeleteProject {
            server,
            id,
            project,
            confirm,
        } => {
            server
                .client()?
                .delete_project(id, project, &confirm)
                .await?;
            out!("project {project} deleted");
        }
    }
    Ok(())
}
