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
    #[arg(long, default_value = "m4")]
    decimation: String,
    /// `process-curves` (OK below NOK) or `sensors`.
    #[arg(long, default_value = "process-curves")]
    source: String,
    /// Only curves whose `program` label is this (screwdriving, press_fit).
    #[arg(long)]
    program: Option<String>,
    #[arg(long, value_enum, default_value_t = Renderer::Gpu)]
    renderer: Renderer,
    /// `lines` (each pixel in its topmost curve's colour) or `density` (hit counts, log colour map).
    #[arg(long, default_value = "lines")]
    mode: String,
    /// Curve keys drawn on top as wide lines, comma-separated (GPU renderer).
    #[arg(long, value_delimiter = ',')]
    highlight: Vec<String>,
    /// Physical pixels per UI point (text and margins scale; the image stays width × height).
    #[arg(long, default_value_t = 1.0)]
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
            println!(
                "control plane on http://{} (database {}); API document at /api/openapi.json",
                running.addr,
                db_path.display()
            );
            (&mut running.task).await?;
        }
        ControlCommand::Bootstrap { server, user } => {
            let session = start_control_session(&server, &user, true).await?;
            println!(
                "owner `{user}` created and logged in until {}",
                session.expires_at
            );
        }
        ControlCommand::Login { server, user } => {
            let session = start_control_session(&server, &user, false).await?;
            println!("logged in as `{user}` until {}", session.expires_at);
        }
        ControlCommand::Clusters(command) => clusters_command(command).await?,
        ControlCommand::Bench { clients, seconds } => {
            let r = lyceum::bench::run_control_load(
                clients,
                std::time::Duration::from_secs_f64(seconds),
            )
            .await?;
            println!(
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
            println!("{token}");
            Ok(())
        }
    }
}

async fn clusters_command(command: ClustersCommand) -> anyhow::Result<()> {
    match command {
        ClustersCommand::List { server } => {
            for c in server.client()?.clusters().await? {
                println!(
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
            println!(
                "cluster {} `{}`: {}",
                cluster.id,
                cluster.config.name,
                cluster.state.as_str()
            );
        }
        ClustersCommand::Estimate { server, config } => {
            let e = server.client()?.estimate(&config.config()?).await?;
            println!(
                "{} nodes, compute {:.2} {}/month",
                e.nodes, e.compute_monthly, e.currency
            );
            for t in &e.storage {
                println!(
                    "  {:<8} {:>6} GiB  {:.2} {}/month",
                    t.tier.as_str(),
                    t.size_gib,
                    t.monthly,
                    e.currency
                );
            }
            println!("total {:.2} {}/month", e.total_monthly, e.currency);
        }
        ClustersCommand::Status { server, id } => {
            let status = server.client()?.status(id).await?;
            println!(
                "{} {}",
                status.state.as_str(),
                status.state_reason.unwrap_or_default()
            );
            for n in status.nodes {
                println!(
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
            println!("cluster {id} deleted");
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
        println!(
            "saved {} curves, {} points to {} ({:.1} MB, {:.2}× the raw f32 samples) in {:.0} ms",
            manifest.counts.curves,
            manifest.counts.points,
            self.out.display(),
            bytes as f64 / 1e6,
            bytes as f64 / (store.raw_sample_bytes().max(1)) as f64,
            started.elapsed().as_secs_f64() * 1e3
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
    /// x-range start for long series (epoch seconds or number).
    #[arg(long)]
    from: Option<f64>,
    #[arg(long)]
    to: Option<f64>,
    #[arg(long, default_value_t = 1920)]
    width_px: u32,
    #[arg(long)]
    limit: Option<u64>,
    /// Only these series keys, comma-separated.
    #[arg(long, value_delimiter = ',')]
    keys: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        None => open_app(),
        Some(command) => runtime.block_on(run(command)),
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
    println!("Lyceum demo plant (seed {}), no server needed", config.seed);
    println!(
        "  lines {}, stations {}, sensors {}",
        plant.lines.len(),
        plant.stations.len(),
        plant.sensors.len()
    );
    println!(
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
    println!(
        "  NOK: {nok} ({:.2} %)",
        100.0 * nok as f64 / curves.len().max(1) as f64
    );
    modes.sort();
    for (mode, n) in modes {
        println!("    {mode:<16} {n}");
    }
    println!(
        "  sensor readings: {} series, {} samples at 1 Hz over {} day(s), generated in {:.2} s",
        sensors.len(),
        sensors.point_count(),
        config.days,
        sensors_secs
    );
    println!("Load it into ClickHouse with: lyceum seed --url http://localhost:8123");
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

fn progress_line(text: &str) {
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = write!(err, "\r{text:<78}");
    } else {
        let _ = writeln!(err, "{text}");
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => demo(&args.plant)?,
        Command::Caps(args) => {
            let connection = args.connect().await?;
            let caps = connection.capabilities();
            println!("{} — ClickHouse {}", args.url, caps.version);
            for (feature, on) in caps.describe() {
                println!("  {} {feature}", if on { "yes" } else { "no " });
            }
            for policy in &caps.storage_policies {
                println!(
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
            println!(
                "password for {} checked and stored in {store}",
                profile.keychain_account()
            );
        }
        Command::Logout(args) => {
            secrets::use_platform_store()?;
            secrets::delete_password(&args.profile().keychain_account())?;
            println!("password for {} removed", args.profile().keychain_account());
        }
        Command::Schema { connect, table } => {
            let connection = connect.connect().await?;
            match table {
                Some(table) => {
                    for c in connection.list_columns(&connect.database, &table).await? {
                        println!("{:<24} {:<36} {:?}", c.name, c.type_name, c.kind);
                    }
                }
                None => {
                    println!(
                        "databases: {}",
                        connection.list_databases().await?.join(", ")
                    );
                    for t in connection.list_tables(&connect.database).await? {
                        println!("  {:<32} {}", t.name, t.engine);
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
            eprintln!();
            for note in &report.notes {
                println!("schema: {note}");
            }
            for (table, rows) in &report.rows {
                println!("{table:<22} {rows:>12} rows");
            }
            let secs = report.elapsed.as_secs_f64();
            println!(
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
            eprintln!();
            println!("layout {}", report.layout);
            for note in &report.notes {
                println!("note: {note}");
            }
            println!("{report}");
            let secs = report.elapsed.as_secs_f64();
            println!(
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
            print!("{}", lyceum::bench::table(&rows));
            println!("({} rayon threads)\n", rayon::current_num_threads());
            let datasets = lyceum::bench::run_dataset(dataset.as_deref(), scale)?;
            println!("{}", lyceum::bench::dataset_table(&datasets));
            let rendering = if no_render {
                None
            } else {
                let (adapter, render_rows) = lyceum::bench::run_rendering(scale)?;
                print!("{}", lyceum::bench::render_table(&adapter, &render_rows));
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
    let (store, _) = fetch_store(&args).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
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
) -> anyhow::Result<(lyceum::curves::CurveStore, dataset::Source)> {
    let connection = args.connect.connect().await?;
    let db = &args.connect.database;
    let mapping = match args.preset.as_str() {
        "process-curves" => ch::ddl::process_curves_mapping(db),
        "sensor-readings" => ch::ddl::sensor_readings_mapping(db),
        "custom" => {
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
        other => bail!("unknown preset `{other}` (process-curves, sensor-readings, custom)"),
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
    let x_range = {
        let start = lyceum::source::demo::DEMO_START_EPOCH_SECS as f64;
        (
            args.from.unwrap_or(start),
            args.to.unwrap_or(start + 86_400.0),
        )
    };
    let plan = match mapping.layout {
        CurveLayout::Long { .. } => {
            let (from, to) = x_range;
            CurveQuery::long_m4(
                &validated,
                &selection,
                PixelView {
                    x_start: from,
                    x_end: to,
                    width_px: args.width_px,
                },
            )?
        }
        CurveLayout::Arrays { .. } => CurveQuery::arrays(&validated, &selection)?,
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
    let store = connection
        .fetch_curves(
            &plan,
            FetchOptions {
                progress: Some(&tx),
                cancel: None,
            },
        )
        .await?;
    drop(tx);
    let _ = reporter.await;
    eprintln!();
    let long = matches!(mapping.layout, CurveLayout::Long { .. });
    let source = dataset::Source::ClickHouse {
        connection: args.connect.profile().keychain_account(),
        database: mapping.database.clone(),
        table: mapping.table.clone(),
        mapping: Box::new(mapping.clone()),
        keys: args.keys.clone(),
        limit: args.limit,
        x_range: long.then_some([x_range.0, x_range.1]),
        width_px: long.then_some(args.width_px),
        query: plan.sql.display(),
    };
    Ok((store, source))
}

async fn dataset_command(command: DatasetCommand) -> anyhow::Result<()> {
    match command {
        DatasetCommand::Save { fetch, target } => {
            let (store, source) = fetch_store(&fetch).await?;
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
            let (store, format) = dataset::import_file(&file, &roles)?;
            let source = dataset::Source::File {
                path: file.display().to_string(),
                format: format.to_owned(),
            };
            target.save(&store, source)?;
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
            println!(
                "{}: {} (format {} v{})",
                dir.display(),
                m.name,
                m.format,
                m.format_version
            );
            println!("  created {}", m.created_at);
            println!("  {} curves, {} points", m.counts.curves, m.counts.points);
            println!("  source: {}", serde_json::to_string(&m.source)?);
            for column in &m.schema {
                println!(
                    "  column {} ({}): {}",
                    column.name, column.role, column.data_type
                );
            }
            for file in &m.files {
                println!(
                    "  file {}: {} bytes, xxh3-128 {}",
                    file.path, file.bytes, file.xxh3_128
                );
            }
        }
        DatasetCommand::Verify { dir } => {
            let started = Instant::now();
            let report = dataset::verify(&dir)?;
            println!(
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
            println!(
                "exported {} curves ({rows} rows) to {}.{table} in {:.0} ms",
                data.store.len(),
                connect.database,
                started.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}

const OK_RGBA: [u8; 4] = [70, 110, 170, 255];
const NOK_RGBA: [u8; 4] = [220, 40, 40, 255];

async fn render(args: &RenderArgs) -> anyhow::Result<()> {
    if args.from.is_some() && args.dataset.is_some() {
        bail!("--dataset and a `clickhouse`/`dataset` source exclude each other: choose one");
    }
    let store = match (&args.from, &args.dataset) {
        (Some(RenderSource::Clickhouse(fetch)), _) => fetch_store(fetch).await?.0,
        (Some(RenderSource::Dataset { dir }), _) | (None, Some(dir)) => dataset::open(dir)?.store,
        (None, None) => {
            let plant = Plant::new(args.plant.config()?);
            match args.source.as_str() {
                "process-curves" => plant.process_curves()?,
                "sensors" => plant.sensor_curves()?,
                other => bail!("unknown source `{other}` (process-curves, sensors)"),
            }
        }
    };
    match args.renderer {
        Renderer::Gpu => render_gpu(args, store),
        Renderer::Cpu => render_cpu(args, &store),
    }
}

/// The GPU renderer: a whole plot (title, axes, tick labels) drawn headless.
fn render_gpu(args: &RenderArgs, store: lyceum::curves::CurveStore) -> anyhow::Result<()> {
    use lyceum::render::gpu::{BaseMode, CurveStyle, HeadlessGpu};
    use lyceum::render::plot::{Decimation, DecimationMode, PlotCurves, PlotLabels};
    use lyceum::source::demo::Program;
    use std::sync::Arc;

    let decimation = match args.decimation.as_str() {
        "m4" => Decimation::M4,
        "none" => Decimation::AllPoints,
        other => bail!("unknown decimation `{other}` (m4, none)"),
    };
    let mode = match args.mode.as_str() {
        "lines" => BaseMode::Lines,
        "density" => BaseMode::Density,
        other => bail!("unknown mode `{other}` (lines, density)"),
    };
    for key in &args.highlight {
        if store.find(key).is_none() {
            bail!("no curve `{key}` to highlight");
        }
    }
    let program = match args.program.as_deref() {
        Some(name) => Some(
            [Program::Screwdriving, Program::PressFit]
                .into_iter()
                .find(|p| p.name() == name)
                .with_context(|| format!("unknown program `{name}` (screwdriving, press_fit)"))?,
        ),
        None => None,
    };
    let (mut shown, mut nok) = (0, 0);
    let styles: Vec<CurveStyle> = (0..store.len() as u32)
        .map(|id| {
            let is_nok = store.label("result", id) == Some("NOK");
            let style = if is_nok {
                CurveStyle::line(NOK_RGBA).with_priority(1)
            } else {
                CurveStyle::line(OK_RGBA)
            };
            if program.is_some_and(|p| store.label("program", id) != Some(p.name())) {
                return style.hidden();
            }
            shown += 1;
            nok += usize::from(is_nok);
            if args.highlight.iter().any(|key| key == store.key(id)) {
                CurveStyle::line([250, 160, 0, 255]).highlighted(3.0)
            } else {
                style
            }
        })
        .collect();
    if shown == 0 {
        bail!("no curves to draw");
    }
    let kind = match &args.from {
        Some(RenderSource::Clickhouse(fetch)) if fetch.preset == "sensor-readings" => "sensors",
        Some(RenderSource::Clickhouse(_) | RenderSource::Dataset { .. }) => "process-curves",
        None if args.dataset.is_some() => "process-curves",
        None => args.source.as_str(),
    };
    let mut labels = match (kind, program) {
        ("sensors", _) => PlotLabels {
            title: format!("Sensors: {shown} series"),
            x_axis: "time (s since 1970)".into(),
            y_axis: "value".into(),
        },
        (_, Some(p)) => {
            let (x, x_unit, y, y_unit) = p.axes();
            PlotLabels {
                title: format!("{}: {shown} cycles, {nok} NOK", p.name()),
                x_axis: format!("{x} ({x_unit})"),
                y_axis: format!("{y} ({y_unit})"),
            }
        }
        (_, None) => PlotLabels {
            title: format!("Process curves: {shown} cycles, {nok} NOK"),
            x_axis: "x".into(),
            y_axis: "y".into(),
        },
    };
    if let Some(title) = &args.title {
        labels.title.clone_from(title);
    }
    let curves = Arc::new(PlotCurves::new(
        egui::Id::unique("lyceum render"),
        Arc::new(store),
        styles,
        DecimationMode::Inline,
        decimation,
    )?);
    curves.set_mode(mode);
    let started = Instant::now();
    let gpu = HeadlessGpu::new()?;
    let device_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let image = lyceum::render::headless::render_plot(
        &gpu,
        &curves,
        &labels,
        (args.width, args.height),
        args.pixels_per_point,
    )?;
    let draw_ms = started.elapsed().as_secs_f64() * 1e3;
    lyceum::render::cpu::write_png(&image, &args.out)?;
    println!(
        "{shown} curves drawn on {} in {draw_ms:.0} ms (device opened in {device_ms:.0} ms): {}",
        gpu.describe(),
        args.out.display()
    );
    Ok(())
}

/// The CPU reference renderer: curves only, OK below NOK, no axes.
fn render_cpu(args: &RenderArgs, store: &lyceum::curves::CurveStore) -> anyhow::Result<()> {
    use lyceum::curves::{CurveStore, PixelMap, RowMap, all_points, decimate_m4};
    use lyceum::render::cpu::{Layer, render_layers, write_png};
    let keep = |id: u32, result: Option<&str>| {
        args.program
            .as_deref()
            .is_none_or(|p| store.label("program", id) == Some(p))
            && (result.is_none() || store.label("result", id) == result)
    };
    let subset = |result: Option<&str>| -> anyhow::Result<CurveStore> {
        let mut b = lyceum::curves::CurveStoreBuilder::new(&[]);
        for id in (0..store.len() as u32).filter(|&id| keep(id, result)) {
            match store.x_explicit(id) {
                Some(xs) => b.push_explicit(store.key(id), &[], xs, store.y(id))?,
                None => {
                    let (x0, dx) = match store.sampling(id) {
                        lyceum::curves::Sampling::Uniform { x0, dx } => (x0, dx),
                        lyceum::curves::Sampling::Explicit => (0.0, 1.0),
                    };
                    b.push_uniform(store.key(id), &[], x0, dx, store.y(id))?;
                }
            }
        }
        Ok(b.finish()?)
    };
    let layers_data = if args.source == "process-curves" {
        vec![
            (subset(Some("OK"))?, OK_RGBA),
            (subset(Some("NOK"))?, NOK_RGBA),
        ]
    } else {
        vec![(subset(None)?, OK_RGBA)]
    };
    // Bounds from the source store itself: no copy of the drawn curves just to measure them.
    let drawn: Vec<u32> = (0..store.len() as u32)
        .filter(|&id| keep(id, None))
        .collect();
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f32::MAX, f32::MIN);
    for &id in &drawn {
        let n = store.y(id).len();
        if n > 0 {
            x_min = x_min.min(store.x_at(id, 0));
            x_max = x_max.max(store.x_at(id, n - 1));
        }
        for &y in store.y(id).iter().filter(|y| y.is_finite()) {
            y_min = y_min.min(y);
            y_max = y_max.max(y);
        }
    }
    if drawn.is_empty() || x_max <= x_min {
        bail!("no curves to draw");
    }
    let pad = (y_max - y_min).max(1e-6) * 0.03;
    let map = PixelMap::new(x_min, x_max + (x_max - x_min) * 1e-9, args.width);
    let rows = RowMap {
        y_min: y_min - pad,
        y_max: y_max + pad,
        height_px: args.height,
    };
    let started = Instant::now();
    let decimated: Vec<_> = match args.decimation.as_str() {
        "m4" => layers_data
            .iter()
            .map(|(s, _)| decimate_m4(s, &map))
            .collect(),
        "none" => layers_data
            .iter()
            .map(|(s, _)| all_points(s, &map))
            .collect(),
        other => bail!("unknown decimation `{other}` (m4, none)"),
    };
    let decimate_ms = started.elapsed().as_secs_f64() * 1e3;
    let layers: Vec<Layer<'_>> = decimated
        .iter()
        .zip(&layers_data)
        .map(|(d, (_, rgba))| Layer {
            curves: d,
            rgba: *rgba,
        })
        .collect();
    let started = Instant::now();
    let image = render_layers(&layers, rows, args.width, [255, 255, 255, 255])?;
    write_png(&image, &args.out)?;
    println!(
        "{} curves, {} points drawn ({} decimation in {decimate_ms:.1} ms), rasterised and written in {:.0} ms: {}",
        drawn.len(),
        decimated
            .iter()
            .map(lyceum::curves::Decimated::point_count)
            .sum::<usize>(),
        args.decimation,
        started.elapsed().as_secs_f64() * 1e3,
        args.out.display()
    );
    Ok(())
}
