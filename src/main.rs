//! The `lyceum` binary: a thin CLI over the library. With no subcommand it runs the embedded
//! default (the demo plant, no server needed); subcommands do headless work against a
//! ClickHouse server (capabilities, schema browsing, seeding, CSV import, curve fetches).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use lyceum::secrets::{self, Password};
use lyceum::source::clickhouse::{
    self as ch, ArrayX, Connection, ConnectionProfile, CurveLayout, CurveQuery, CurveSelection,
    FetchOptions, FetchProgress, PixelView, SourceMapping,
};
use lyceum::source::dataset;
use lyceum::source::demo::{Plant, PlantConfig};

/// `println!` for results: a closed stdout (`lyceum … | head -1`) ends the process quietly
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("error: writing to standard output: {e}");
            std::process::exit(1);
        }
    }};
}

#[derive(Parser, Debug)]
#[command(
    name = "lyceum",
    version,
    about = "Analytics workstation for manufacturing curves in ClickHouse"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Summarise the embedded demo plant (the default when no subcommand is given).
    Demo(DemoArgs),
    /// Show the server's version and the features Lyceum will use.
    Caps(ConnectArgs),
    /// Store the password for --url/--user in the OS keychain (read from standard input).
    Login(ConnectArgs),
    /// Remove the stored password for --url/--user from the OS keychain.
    Logout(ConnectArgs),
    /// List databases, the tables of --database, or the columns of --table.
    Schema {
        #[command(flatten)]
        connect: ConnectArgs,
        #[arg(long)]
        table: Option<String>,
    },
    /// Create the manufacturing schema and load the demo plant into it.
    Seed {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        plant: PlantArgs,
        /// Drop the template's tables first if they hold data.
        #[arg(long)]
        replace: bool,
    },
    /// Import a CSV file (long or wide format) into a table.
    Import {
        file: PathBuf,
        #[command(flatten)]
        connect: ConnectArgs,
        #[arg(long)]
        table: String,
        /// Series id column (long format).
        #[arg(long)]
        series: Option<String>,
        /// x or sample-index column (long format).
        #[arg(long)]
        x: Option<String>,
        /// Value column (long format).
        #[arg(long)]
        value: Option<String>,
        #[arg(long, default_value_t = 500_000)]
        batch_rows: usize,
    },
    /// Fetch curves into the columnar store and report counts and speed.
    Fetch(FetchArgs),
    /// Draw the demo plant's curves into a PNG: a whole plot on the GPU (any wgpu adapter,
    /// lavapipe without a GPU), or the curves alone with the CPU reference renderer.
    Render(RenderArgs),
    /// The control plane: serve it, or manage clusters through it.
    #[command(subcommand)]
    Control(ControlCommand),
    /// Offline datasets: save, import, inspect, verify, export.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Benchmark the curve engine and print a table (each case beside its baseline).
    Bench {
        /// Also write the rows as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Shrink the big cases (1.0: 10,000 × 2,000, 100 × 1 M, 1 × 100 M).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Skip the GPU rendering cases.
        #[arg(long)]
        no_render: bool,
        /// Time opening and decimating this dataset (default: the demo plant, saved first).
        #[arg(long)]
        dataset: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct ConnectArgs {
    /// Server URL, e.g. http://localhost:8123 or https://host:8443.
    #[arg(long, env = "LYCEUM_URL")]
    url: String,
    #[arg(long, default_value = "default", env = "LYCEUM_USER")]
    user: String,
    #[arg(long, default_value = "lyceum_demo")]
    database: String,
    /// Read the password from standard input instead of the keychain.
    #[arg(long)]
    password_stdin: bool,
    #[arg(long, default_value_t = 10.0)]
    connect_timeout_secs: f64,
    #[arg(long, default_value_t = 600.0)]
    query_timeout_secs: f64,
}

#[derive(Args, Debug)]
struct PlantArgs {
    #[arg(long, default_value_t = PlantConfig::default().curves)]
    curves: usize,
    #[arg(long, default_value_t = PlantConfig::default().samples)]
    samples: usize,
    #[arg(long, default_value_t = PlantConfig::default().sensors)]
    sensors: usize,
    #[arg(long, default_value_t = PlantConfig::default().days)]
    days: f64,
    #[arg(long, default_value_t = PlantConfig::default().seed)]
    seed: u64,
}

impl From<PlantConfig> for PlantArgs {
    fn from(c: PlantConfig) -> Self {
        Self {
            curves: c.curves,
            samples: c.samples,
            sensors: c.sensors,
            days: c.days,
            seed: c.seed,
        }
    }
}

impl PlantArgs {
    fn config(&self) -> anyhow::Result<PlantConfig> {
        if !(self.days.is_finite() && self.days > 0.0) || self.samples < 2 {
            bail!("--days must be positive and --samples at least 2");
        }
        Ok(PlantConfig {
            seed: self.seed,
            curves: self.curves,
            samples: self.samples,
            sensors: self.sensors,
            days: self.days,
            ..PlantConfig::default()
        })
    }
}

#[derive(Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    plant: PlantArgs,
}

#[derive(Args, Debug)]
struct RenderArgs {
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1920)]
    width: u32,
    #[arg(long, default_value_t = 1080)]
    height: u32,
    /// `m4` (pixel-exact decimation) or `none` (every sample); both give the same image.
    #[arg(long, value_enum, default_value_t = DecimationArg::M4)]
    decimation: DecimationArg,
    /// `process-curves` (OK below NOK) or `sensors`.
    #[arg(long, default_value = "process-curves")]
    source: String,
    /// Only curves whose `program` label is this (screwdriving, press_fit).
    #[arg(long)]
    program: Option<String>,
    #[arg(long, value_enum, default_value_t = Renderer::Gpu)]
    renderer: Renderer,
    /// `lines` (each pixel in its topmost curve's colour) or `density` (hit counts, log colour map).
    #[arg(long, value_enum, default_value_t = ModeArg::Lines)]
    mode: ModeArg,
    /// Curve keys drawn on top as wide lines, comma-separated (GPU renderer).
    #[arg(long, value_delimiter = ',')]
    highlight: Vec<String>,
    /// Colour by this label column, with a legend (`none`: one colour). Default: the
    /// dataset's saved choice, else a pass/fail label, else a label with a few values.
    #[arg(long)]
    color_by: Option<String>,
    /// Only curves whose label has this value: LABEL=VALUE, repeatable.
    #[arg(long, value_parser = parse_filter)]
    filter: Vec<(String, String)>,
    /// Physical pixels per UI point (text and margins scale; the image stays width × height).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pixels_per_point: f32,
    /// Draw a saved dataset (the same as the `dataset DIR` source).
    #[arg(long)]
    dataset: Option<PathBuf>,
    /// Title above the plot (default: what is drawn and how many).
    #[arg(long)]
    title: Option<String>,
    #[command(flatten)]
    plant: PlantArgs,
    /// Where the curves come from: the demo plant (default) or a ClickHouse server.
    #[command(subcommand)]
    from: Option<RenderSource>,
}

#[derive(Subcommand, Debug)]
enum DatasetCommand {
    /// Fetch curves from ClickHouse and save them as a dataset folder.
    Save {
        #[command(flatten)]
        fetch: Box<FetchArgs>,
        #[command(flatten)]
        target: DatasetTarget,
    },
    /// CSV (long or wide), or long-format Arrow IPC / Parquet from other tools, to a dataset.
    Import {
        file: PathBuf,
        /// Curve id column (long format), when its name does not tell.
        #[arg(long)]
        series: Option<String>,
        /// x or sample-index column (long format).
        #[arg(long)]
        x: Option<String>,
        /// Value column (long format).
        #[arg(long)]
        value: Option<String>,
        #[command(flatten)]
        target: DatasetTarget,
    },
    /// The demo plant's process curves as a dataset.
    Demo {
        #[command(flatten)]
        plant: PlantArgs,
        #[command(flatten)]
        target: DatasetTarget,
    },
    /// What a dataset holds (reads only the manifest).
    Info { dir: PathBuf },
    /// Check every file's size and checksum, decode the curves and compare the counts.
    Verify { dir: PathBuf },
    /// Insert a dataset's curves into a ClickHouse table (long format: series, x, value, labels).
    Export {
        dir: PathBuf,
        #[command(flatten)]
        connect: ConnectArgs,
        #[arg(long)]
        table: String,
    },
}

#[derive(Subcommand, Debug)]
enum ControlCommand {
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
    Bench {
        #[arg(long, default_value_t = 100)]
        clients: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
}

#[derive(Args, Debug)]
struct ControlServerArgs {
    #[arg(
        long,
        env = "LYCEUM_CONTROL_URL",
        default_value = "http://127.0.0.1:7878"
    )]
    control_url: String,
    /// A token (default: the session stored by `lyceum control login`).
    #[arg(long, env = "LYCEUM_CONTROL_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

impl ControlServerArgs {
    fn keychain_account(&self) -> String {
        format!("control@{}", self.control_url)
    }

    fn client(&self) -> anyhow::Result<lyceum::control::client::ControlClient> {
        let client = lyceum::control::client::ControlClient::new(&self.control_url);
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
enum ClustersCommand {
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
}

#[derive(Args, Debug)]
struct ClusterArgs {
    #[arg(long)]
    name: String,
    #[arg(long = "type", default_value = "process_curves")]
    cluster_type: String,
    #[arg(long, default_value = "local")]
    region: String,
    /// `local` (real processes here) or `kubernetes` (a manifest to download).
    #[arg(long, default_value = "local")]
    provider: String,
    #[arg(long, default_value_t = 1)]
    shards: u32,
    #[arg(long, default_value_t = 1)]
    replicas: u32,
    #[arg(long, default_value_t = 2)]
    cpu: u32,
    #[arg(long, default_value_t = 8)]
    memory_gib: u32,
    #[arg(long, default_value_t = 100)]
    hot_gib: u32,
    /// Warm tier size (0: none); data moves there after --hot-days.
    #[arg(long, default_value_t = 0)]
    warm_gib: u32,
    #[arg(long, default_value_t = 30)]
    hot_days: u32,
}

impl ClusterArgs {
    fn config(&self) -> anyhow::Result<lyceum::control::api::ClusterConfig> {
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
        })
    }
}

fn default_control_db() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join(".local/share/lyceum/control.db")
}

async fn control_command(command: ControlCommand) -> anyhow::Result<()> {
    match command {
        ControlCommand::Serve {
            addr,
            db,
            clusters_dir,
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
            let config = lyceum::control::server::ServerConfig {
                db_path: db_path.clone(),
                clusters_dir,
                clickhouse_binary: binary,
            };
            let mut running = lyceum::control::server::spawn(addr, &config).await?;
            out!(
                "control plane on http://{} (database {}); API document at /api/openapi.json",
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
async fn start_control_session(
    server: &ControlServerArgs,
    user: &str,
    bootstrap: bool,
) -> anyhow::Result<lyceum::control::api::Session> {
    let credentials = lyceum::control::api::Credentials {
        user: user.to_owned(),
        password: read_password_from_stdin()?.expose().to_owned(),
    };
    let client = lyceum::control::client::ControlClient::new(&server.control_url);
    let session = if bootstrap {
        client.bootstrap(&credentials).await?
    } else {
        client.login(&credentials).await?
    };
    store_control_session(server, &session.token)?;
    Ok(session)
}

fn store_control_session(server: &ControlServerArgs, token: &str) -> anyhow::Result<()> {
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

async fn clusters_command(command: ClustersCommand) -> anyhow::Result<()> {
    match command {
        ClustersCommand::List { server } => {
            for c in server.client()?.clusters().await? {
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
    }
    Ok(())
}

#[derive(Args, Debug)]
struct DatasetTarget {
    /// The dataset folder to create.
    #[arg(long)]
    out: PathBuf,
    /// Name recorded in the manifest (default: the folder's name).
    #[arg(long)]
    name: Option<String>,
    /// Replace an existing dataset at --out.
    #[arg(long)]
    force: bool,
}

impl DatasetTarget {
    fn save(
        &self,
        store: &lyceum::curves::CurveStore,
        source: dataset::Source,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let name = self.name.clone().unwrap_or_else(|| {
            self.out.file_name().map_or_else(
                || "dataset".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            )
        });
        let manifest = dataset::save(
            store,
            &self.out,
            &dataset::SaveOptions {
                name,
                source,
                view: dataset::SavedView::default(),
                replace: self.force,
            },
        )?;
        let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
        let parts = store.bytes();
        let sampling = match parts.x {
            0 => "uniform x, none stored".to_owned(),
            x => format!("x {:.2} MB as f64", x as f64 / 1e6),
        };
        out!(
            "saved {} curves, {} points to {} in {:.0} ms: {:.2} MB on disk = {:.2}× the y samples as f32 \
             (y {:.2} MB; {sampling}; keys and labels {:.2} MB)",
            manifest.counts.curves,
            manifest.counts.points,
            self.out.display(),
            started.elapsed().as_secs_f64() * 1e3,
            bytes as f64 / 1e6,
            bytes as f64 / parts.y.max(1) as f64,
            parts.y as f64 / 1e6,
            parts.metadata as f64 / 1e6,
        );
        Ok(())
    }
}

#[derive(Subcommand, Debug)]
enum RenderSource {
    /// Fetch the curves from ClickHouse (the same options as `lyceum fetch`).
    Clickhouse(Box<FetchArgs>),
    /// Open a saved dataset (no server, no network).
    Dataset { dir: PathBuf },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Renderer {
    /// wgpu: title, axes and tick labels from egui_plot, curves from the GPU pipeline.
    Gpu,
    /// The CPU reference rasteriser: curves only.
    Cpu,
}

impl From<Renderer> for lyceum::render::export::RendererKind {
    fn from(arg: Renderer) -> Self {
        match arg {
            Renderer::Gpu => Self::Gpu,
            Renderer::Cpu => Self::Cpu,
        }
    }
}

/// `--decimation`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum DecimationArg {
    /// First, min, max, last per pixel column: the picture of every sample.
    M4,
    /// Every sample.
    None,
}

impl From<DecimationArg> for lyceum::render::plot::Decimation {
    fn from(arg: DecimationArg) -> Self {
        match arg {
            DecimationArg::M4 => Self::M4,
            DecimationArg::None => Self::AllPoints,
        }
    }
}

/// `--mode`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ModeArg {
    Lines,
    Density,
}

impl From<ModeArg> for lyceum::render::gpu::BaseMode {
    fn from(arg: ModeArg) -> Self {
        match arg {
            ModeArg::Lines => Self::Lines,
            ModeArg::Density => Self::Density,
        }
    }
}

fn parse_filter(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{text}`: expected LABEL=VALUE"))
}

#[derive(Args, Debug)]
struct FetchArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// `process-curves` or `sensor-readings` of the template, or `custom` with the options below.
    #[arg(long, default_value = "process-curves")]
    preset: String,
    #[arg(long)]
    table: Option<String>,
    /// Series key columns (custom), comma-separated.
    #[arg(long, value_delimiter = ',')]
    series_keys: Vec<String>,
    /// Label columns (custom), comma-separated.
    #[arg(long, value_delimiter = ',')]
    labels: Vec<String>,
    /// Long layout: x column.
    #[arg(long)]
    x: Option<String>,
    /// Long layout: y column. Array layout: y array column.
    #[arg(long)]
    y: Option<String>,
    /// Array layout: x array column (else sample index).
    #[arg(long)]
    x_array: Option<String>,
    /// Long series: x-range start, included (a number, epoch seconds for time columns, or a
    /// date-time such as 2026-11-02T06:00:00Z). Default: the data's first x.
    #[arg(long, value_parser = ch::parse_x_bound)]
    from: Option<f64>,
    /// Long series: x-range end, included. Default: the data's last x.
    #[arg(long, value_parser = ch::parse_x_bound)]
    to: Option<f64>,
    /// Long series: pixel columns the server bins into (M4). Default: 1920, or the picture's
    /// width for `render`.
    #[arg(long)]
    width_px: Option<u32>,
    #[arg(long)]
    limit: Option<u64>,
    /// Only these series keys, comma-separated.
    #[arg(long, value_delimiter = ',')]
    keys: Vec<String>,
}

/// Server-side M4 columns when neither `--width-px` nor a picture says otherwise.
const DEFAULT_WIDTH_PX: u32 = 1920;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        None => {
            // The window has no terminal: its log goes to a daily file in the data folder.
            let logs = lyceum::control::embedded::default_data_dir().join("logs");
            let _guard = init_file_log(&logs);
            open_app()
        }
        Some(command) => {
            init_stderr_log();
            runtime.block_on(run(command))
        }
    }
}

/// The `RUST_LOG` filter, or `default` (e.g. `warn`).
fn log_filter(default: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
}

/// Commands log to stderr.
fn init_stderr_log() {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter("warn"))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// The app logs to `dir/lyceum.log.YYYY-MM-DD` (a week kept); where the folder cannot be
/// made, to stderr. The guard flushes the file when dropped.
fn init_file_log(dir: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("lyceum.log")
        .max_log_files(7)
        .build(dir);
    match appender {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            tracing_subscriber::fmt()
                .with_env_filter(log_filter("info"))
                .with_writer(writer)
                .with_ansi(false)
                .init();
            tracing::info!("Lyceum {} started", env!("CARGO_PKG_VERSION"));
            Some(guard)
        }
        Err(e) => {
            init_stderr_log();
            tracing::warn!(folder = %dir.display(), error = %e, "no log file; logging to stderr");
            None
        }
    }
}

/// The desktop window on the embedded demo plant (no server needed).
fn open_app() -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Lyceum")
            .with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Lyceum",
        options,
        Box::new(|creation| {
            Ok(Box::new(lyceum::app::LyceumApp::new(
                creation,
                PlantConfig::default(),
                lyceum::control::embedded::default_data_dir(),
            )))
        }),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot open the Lyceum window: {e} (headless? try `lyceum demo` or `lyceum render`)"
        )
    })
}

fn demo(args: &PlantArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let plant = Plant::new(config);
    let started = Instant::now();
    let curves = plant.process_curves()?;
    let curves_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let sensors = plant.sensor_curves()?;
    let sensors_secs = started.elapsed().as_secs_f64();
    out!("Lyceum demo plant (seed {}), no server needed", config.seed);
    out!(
        "  lines {}, stations {}, sensors {}",
        plant.lines.len(),
        plant.stations.len(),
        plant.sensors.len()
    );
    out!(
        "  process curves: {} curves, {} samples, generated in {:.2} s; {:.1} MB in the store ({:.2} x raw f32)",
        curves.len(),
        curves.point_count(),
        curves_secs,
        curves.heap_bytes() as f64 / 1e6,
        curves.heap_bytes() as f64 / curves.raw_sample_bytes().max(1) as f64
    );
    let mut modes: Vec<(String, usize)> = Vec::new();
    for id in 0..curves.len() as u32 {
        let mode = curves.label("failure_mode", id).unwrap_or_default();
        if !mode.is_empty() {
            match modes.iter_mut().find(|(m, _)| m == mode) {
                Some((_, n)) => *n += 1,
                None => modes.push((mode.to_owned(), 1)),
            }
        }
    }
    let nok: usize = modes.iter().map(|(_, n)| n).sum();
    out!(
        "  NOK: {nok} ({:.2} %)",
        100.0 * nok as f64 / curves.len().max(1) as f64
    );
    modes.sort();
    for (mode, n) in modes {
        out!("    {mode:<16} {n}");
    }
    out!(
        "  sensor readings: {} series, {} samples at 1 Hz over {} day(s), generated in {:.2} s",
        sensors.len(),
        sensors.point_count(),
        config.days,
        sensors_secs
    );
    out!("Load it into ClickHouse with: lyceum seed --url http://localhost:8123");
    Ok(())
}

fn read_password_from_stdin() -> anyhow::Result<Password> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(Password::new(line.trim_end_matches(['\r', '\n'])))
}

impl ConnectArgs {
    fn profile(&self) -> ConnectionProfile {
        ConnectionProfile {
            connect_timeout_secs: self.connect_timeout_secs,
            query_timeout_secs: self.query_timeout_secs,
            ..ConnectionProfile::new(&self.url, &self.database, &self.user)
        }
    }

    async fn connect(&self) -> anyhow::Result<Connection> {
        let profile = self.profile();
        let password = if self.password_stdin {
            Some(read_password_from_stdin()?)
        } else {
            match secrets::use_platform_store()
                .and_then(|_store| secrets::load_password(&profile.keychain_account()))
            {
                Ok(password) => password,
                Err(e) => {
                    eprintln!("note: {e}; connecting without a password");
                    None
                }
            }
        };
        Ok(Connection::open(profile, password).await?)
    }
}

/// When the last progress line went to a non-terminal stderr.
static LAST_PROGRESS: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);
/// A log file gets a progress line this often, not one per batch.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// Progress on stderr: redrawn in place on a terminal; elsewhere (a log, a pipe) a line every
/// few seconds.
fn progress_line(text: &str) {
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = write!(err, "\r{text:<78}");
        return;
    }
    let mut last = LAST_PROGRESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if last.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
        *last = Some(Instant::now());
        let _ = writeln!(err, "{text}");
    }
}

/// End a progress line drawn in place.
fn progress_done() {
    if std::io::stderr().is_terminal() {
        progress_done();
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => demo(&args.plant)?,
        Command::Caps(args) => {
            let connection = args.connect().await?;
            let caps = connection.capabilities();
            out!("{} — ClickHouse {}", args.url, caps.version);
            for (feature, on) in caps.describe() {
                out!("  {} {feature}", if on { "yes" } else { "no " });
            }
            for policy in &caps.storage_policies {
                out!(
                    "  storage policy {}: {}",
                    policy.name,
                    policy.volumes.join(" → ")
                );
            }
        }
        Command::Login(args) => {
            let profile = args.profile();
            profile.validate()?;
            let store = secrets::use_platform_store()?;
            let password = read_password_from_stdin()?;
            // Check before storing, so a typo never replaces a working password.
            Connection::open(profile.clone(), Some(password.clone())).await?;
            secrets::store_password(&profile.keychain_account(), &password)?;
            out!(
                "password for {} checked and stored in {store}",
                profile.keychain_account()
            );
        }
        Command::Logout(args) => {
            secrets::use_platform_store()?;
            secrets::delete_password(&args.profile().keychain_account())?;
            out!("password for {} removed", args.profile().keychain_account());
        }
        Command::Schema { connect, table } => {
            let connection = connect.connect().await?;
            match table {
                Some(table) => {
                    for c in connection.list_columns(&connect.database, &table).await? {
                        out!("{:<24} {:<36} {:?}", c.name, c.type_name, c.kind);
                    }
                }
                None => {
                    out!(
                        "databases: {}",
                        connection.list_databases().await?.join(", ")
                    );
                    for t in connection.list_tables(&connect.database).await? {
                        out!("  {:<32} {}", t.name, t.engine);
                    }
                }
            }
        }
        Command::Seed {
            connect,
            plant,
            replace,
        } => {
            let connection = connect.connect().await?;
            let plant = Plant::new(plant.config()?);
            let report = connection
                .seed_demo_plant(&connect.database, &plant, replace, |p| {
                    progress_line(&format!("seeding {}: {} rows", p.table, p.rows));
                })
                .await?;
            progress_done();
            for note in &report.notes {
                out!("schema: {note}");
            }
            for (table, rows) in &report.rows {
                out!("{table:<22} {rows:>12} rows");
            }
            let secs = report.elapsed.as_secs_f64();
            out!(
                "{} rows in {secs:.2} s ({:.0} rows/s)",
                report.total_rows(),
                report.total_rows() as f64 / secs
            );
        }
        Command::Import {
            file,
            connect,
            table,
            series,
            x,
            value,
            batch_rows,
        } => {
            let connection = connect.connect().await?;
            let options = ch::import::ImportOptions {
                database: connect.database.clone(),
                table,
                series,
                x,
                value,
                batch_rows,
            };
            let report = connection
                .import_csv(&file, &options, |p| {
                    let pct = 100.0 * p.bytes_read as f64 / p.file_bytes.max(1) as f64;
                    progress_line(&format!(
                        "importing: {pct:5.1} %, {} rows inserted",
                        p.rows_inserted
                    ));
                })
                .await?;
            progress_done();
            out!("layout {}", report.layout);
            for note in &report.notes {
                out!("note: {note}");
            }
            out!("{report}");
            let secs = report.elapsed.as_secs_f64();
            out!(
                "{} CSV rows in {secs:.2} s ({:.0} rows/s)",
                report.csv_rows,
                report.csv_rows as f64 / secs
            );
        }
        Command::Fetch(args) => fetch(args).await?,
        Command::Render(args) => render(&args).await?,
        Command::Dataset(command) => dataset_command(command).await?,
        Command::Control(command) => control_command(command).await?,
        Command::Bench {
            json,
            scale,
            no_render,
            dataset,
        } => {
            let rows = lyceum::bench::run_decimation(scale)?;
            out!("{}", lyceum::bench::table(&rows).trim_end());
            out!("({} rayon threads)\n", rayon::current_num_threads());
            let datasets = lyceum::bench::run_dataset(dataset.as_deref(), scale)?;
            out!("{}", lyceum::bench::dataset_table(&datasets));
            let rendering = if no_render {
                None
            } else {
                let (adapter, render_rows) = lyceum::bench::run_rendering(scale)?;
                out!(
                    "{}",
                    lyceum::bench::render_table(&adapter, &render_rows).trim_end()
                );
                Some(serde_json::json!({ "adapter": adapter, "rows": render_rows }))
            };
            if let Some(path) = json {
                let report = serde_json::json!({
                    "decimation": rows,
                    "datasets": datasets,
                    "rendering": rendering
                });
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    Ok(())
}

async fn fetch(args: FetchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (store, _) = fetch_store(&args, DEFAULT_WIDTH_PX).await?;
    let secs = started.elapsed().as_secs_f64();
    out!(
        "{} curves, {} points in {secs:.3} s ({:.1} M points/s), store {:.1} MB",
        store.len(),
        store.point_count(),
        store.point_count() as f64 / secs / 1e6,
        store.heap_bytes() as f64 / 1e6
    );
    Ok(())
}

/// Plan the query `args` describe and stream its curves into a store, with progress on stderr.
/// Also returns the source as a dataset manifest records it.
async fn fetch_store(
    args: &FetchArgs,
    default_width_px: u32,
) -> anyhow::Result<(lyceum::curves::CurveStore, dataset::Source)> {
    let connection = args.connect.connect().await?;
    let db = &args.connect.database;
    let preset = match args.preset.as_str() {
        "process-curves" => Some(ch::ddl::Preset::ProcessCurves),
        "sensor-readings" => Some(ch::ddl::Preset::SensorReadings),
        _ => None,
    };
    let mapping = match (preset, args.preset.as_str()) {
        (Some(preset), _) => preset.mapping(db),
        (None, "custom") => {
            let table = args
                .table
                .clone()
                .context("--table is needed with --preset custom")?;
            let y = args
                .y
                .clone()
                .context("--y is needed with --preset custom")?;
            let layout = match &args.x {
                Some(x) => CurveLayout::Long { x: x.clone(), y },
                None => CurveLayout::Arrays {
                    y,
                    x: args
                        .x_array
                        .clone()
                        .map_or(ArrayX::Uniform { x0: 0.0, dx: 1.0 }, ArrayX::Column),
                },
            };
            SourceMapping {
                database: db.clone(),
                table,
                series_keys: args.series_keys.clone(),
                labels: args.labels.clone(),
                layout,
            }
        }
        (None, other) => {
            bail!("unknown preset `{other}` (process-curves, sensor-readings, custom)")
        }
    };
    let columns = connection
        .list_columns(&mapping.database, &mapping.table)
        .await?;
    let validated = mapping.validate(&columns)?;
    let selection = CurveSelection {
        keys: args.keys.clone(),
        limit: args.limit,
        ..CurveSelection::default()
    };
    let long = matches!(mapping.layout, CurveLayout::Long { .. });
    let width_px = args.width_px.unwrap_or(default_width_px);
    let mut x_range = None;
    let plan = if long {
        // No range given: the data's own extent (one cheap query), never a hidden default.
        let (from, to) = match (args.from, args.to) {
            (Some(from), Some(to)) => (from, to),
            (from, to) => {
                let (min, max) = connection
                    .x_extent(&validated, &selection)
                    .await?
                    .with_context(|| {
                        format!(
                            "{}.{} has no rows{}",
                            mapping.database,
                            mapping.table,
                            if args.keys.is_empty() {
                                ""
                            } else {
                                " for these keys"
                            }
                        )
                    })?;
                (from.unwrap_or(min), to.unwrap_or(max))
            }
        };
        if from > to {
            bail!("--from ({from}) is after --to ({to})");
        }
        // One instant (a single sample): a range around it, so it has a column.
        let (from, to) = if from == to {
            (from - 0.5, to + 0.5)
        } else {
            (from, to)
        };
        x_range = Some([from, to]);
        CurveQuery::long_m4(
            &validated,
            &selection,
            PixelView {
                x_start: from,
                x_end: to,
                width_px,
            },
        )?
    } else {
        CurveQuery::arrays(&validated, &selection)?
    };
    let (tx, mut rx) = tokio::sync::watch::channel(FetchProgress::default());
    let reporter = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let p = *rx.borrow_and_update();
            progress_line(&format!(
                "fetching: {} rows, {:.1} MB",
                p.rows,
                p.bytes as f64 / 1e6
            ));
        }
    });
    let mut store = connection
        .fetch_curves(
            &plan,
            FetchOptions {
                progress: Some(&tx),
                cancel: None,
            },
        )
        .await?;
    if let Some(preset) = preset {
        store.set_axes(preset.axes());
    }
    drop(tx);
    let _ = reporter.await;
    progress_done();
    let source = dataset::Source::ClickHouse {
        connection: args.connect.profile().keychain_account(),
        database: mapping.database.clone(),
        table: mapping.table.clone(),
        columns: Some(Box::new((&mapping).into())),
        keys: args.keys.clone(),
        limit: args.limit,
        x_range,
        width_px: long.then_some(width_px),
        query: plan.sql.display(),
    };
    Ok((store, source))
}

async fn dataset_command(command: DatasetCommand) -> anyhow::Result<()> {
    match command {
        DatasetCommand::Save { fetch, target } => {
            let (store, source) = fetch_store(&fetch, DEFAULT_WIDTH_PX).await?;
            target.save(&store, source)?;
        }
        DatasetCommand::Import {
            file,
            series,
            x,
            value,
            target,
        } => {
            let roles = dataset::LongColumns { series, x, value };
            let imported = dataset::import_file(&file, &roles)?;
            for note in &imported.notes {
                eprintln!("note: {note}");
            }
            let source = dataset::Source::File {
                path: file.display().to_string(),
                format: imported.format.to_owned(),
            };
            target.save(&imported.store, source)?;
        }
        DatasetCommand::Demo { plant, target } => {
            let config = plant.config()?;
            let store = Plant::new(config).process_curves()?;
            let source = dataset::Source::Demo {
                seed: config.seed,
                curves: config.curves,
                samples: config.samples,
            };
            target.save(&store, source)?;
        }
        DatasetCommand::Info { dir } => {
            let m = dataset::read_manifest(&dir)?;
            out!(
                "{}: {} (format {} v{})",
                dir.display(),
                m.name,
                m.format,
                m.format_version
            );
            out!("  created {}", m.created_at);
            out!("  {} curves, {} points", m.counts.curves, m.counts.points);
            out!("  source: {}", serde_json::to_string(&m.source)?);
            for column in &m.schema {
                out!(
                    "  column {} ({}): {}",
                    column.name,
                    column.role,
                    column.data_type
                );
            }
            for file in &m.files {
                out!(
                    "  file {}: {} bytes, xxh3-128 {}",
                    file.path,
                    file.bytes,
                    file.xxh3_128
                );
            }
        }
        DatasetCommand::Verify { dir } => {
            let started = Instant::now();
            let report = dataset::verify(&dir)?;
            out!(
                "{}: ok — {} file(s), {} bytes, {} curves, {} points checked in {:.0} ms",
                dir.display(),
                report.files,
                report.bytes,
                report.counts.curves,
                report.counts.points,
                started.elapsed().as_secs_f64() * 1e3
            );
        }
        DatasetCommand::Export {
            dir,
            connect,
            table,
        } => {
            let data = dataset::open(&dir)?;
            let connection = connect.connect().await?;
            let started = Instant::now();
            let rows = connection
                .export_curves(&connect.database, &table, &data.store)
                .await?;
            out!(
                "exported {} curves ({rows} rows) to {}.{table} in {:.0} ms",
                data.store.len(),
                connect.database,
                started.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}

async fn render(args: &RenderArgs) -> anyhow::Result<()> {
    use lyceum::render::export::{RenderRequest, render_store};
    use lyceum::render::style::{ColourBy, StyleRequest};
    use lyceum::source::demo::Program;

    if args.from.is_some() && args.dataset.is_some() {
        bail!("--dataset and a `clickhouse`/`dataset` source exclude each other: choose one");
    }
    let mut saved_colour_by = None;
    let (mut store, source_name) = match (&args.from, &args.dataset) {
        (Some(RenderSource::Clickhouse(fetch)), _) => {
            // Bin at the picture's width: at least one server column per pixel drawn.
            let (store, source) = fetch_store(fetch, args.width).await?;
            let name = match source {
                dataset::Source::ClickHouse {
                    database, table, ..
                } => format!("{database}.{table}"),
                _ => "ClickHouse".to_owned(),
            };
            (store, name)
        }
        (Some(RenderSource::Dataset { dir }), _) | (None, Some(dir)) => {
            let data = dataset::open(dir)?;
            saved_colour_by = data.manifest.view.colour_by.clone();
            (data.store, data.manifest.name)
        }
        (None, None) => {
            let plant = Plant::new(args.plant.config()?);
            match args.source.as_str() {
                "process-curves" => (plant.process_curves()?, "Process curves".to_owned()),
                "sensors" => (plant.sensor_curves()?, "Sensors".to_owned()),
                other => bail!("unknown source `{other}` (process-curves, sensors)"),
            }
        }
    };
    let mut filters = args.filter.clone();
    let mut source_name = source_name;
    if let Some(name) = &args.program {
        filters.push(("program".to_owned(), name.clone()));
        // A view of one demo program names its own axes and title.
        if let Some(program) = [Program::Screwdriving, Program::PressFit]
            .into_iter()
            .find(|p| p.name() == name)
            && args.from.is_none()
            && args.dataset.is_none()
        {
            store.set_axes(program.curve_axes());
            source_name = program.name().to_owned();
        }
    }
    let colour_by = match (&args.color_by, saved_colour_by) {
        (Some(name), _) => ColourBy::from_option(Some(name)),
        (None, Some(saved)) => ColourBy::Label(saved),
        (None, None) => ColourBy::Auto,
    };
    let request = RenderRequest {
        renderer: args.renderer.into(),
        width_px: args.width,
        height_px: args.height,
        pixels_per_point: args.pixels_per_point,
        decimation: args.decimation.into(),
        mode: args.mode.into(),
        style: StyleRequest {
            colour_by,
            filters,
            highlight: args.highlight.clone(),
            highlight_failed: false,
        },
        source_name,
        title: args.title.clone(),
    };
    let (image, report) = render_store(std::sync::Arc::new(store), &request)?;
    lyceum::render::cpu::write_png(&image, &args.out)?;
    let styling = &report.styling;
    match (&report.adapter, report.points_drawn) {
        (Some(adapter), _) => out!(
            "{} curves drawn on {adapter} in {:.0} ms (device opened in {:.0} ms): {}",
            styling.shown,
            report.draw_ms,
            report.device_ms,
            args.out.display()
        ),
        (None, points) => out!(
            "{} curves, {} points drawn ({:?} decimation), rasterised and written in {:.0} ms: {}",
            styling.shown,
            points.unwrap_or(0),
            args.decimation,
            report.draw_ms,
            args.out.display()
        ),
    }
    out!("title: {}", report.labels.title);
    if let Some(label) = &styling.colour_by {
        let legend: Vec<String> = styling
            .legend
            .iter()
            .map(|e| format!("{} ({})", e.value, e.curves))
            .collect();
        if legend.is_empty() {
            out!("colour by {label}: too many values for a legend, one colour");
        } else {
            out!("colour by {label}: {}", legend.join(", "));
        }
    }
    Ok(())
}
