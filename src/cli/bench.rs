//! `lyceum bench`: the curve engine's benchmark tables (each case beside its same-run
//! baseline), from the library's `bench` module.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::output::out;

/// `lyceum bench`.
#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Also write the rows as JSON.
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// Shrink the big cases (1.0: 10,000 × 2,000, 100 × 1 M, 1 × 100 M).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) scale: f64,
    /// Skip the GPU rendering cases.
    #[arg(long)]
    pub(crate) no_render: bool,
    /// Time opening and decimating this dataset (default: the demo plant, saved first).
    #[arg(long)]
    pub(crate) dataset: Option<PathBuf>,
    /// A server holding the demo plant (`http://host:8123/database`, user `default`): adds
    /// Run → first frame beside the library's fetch and curl.
    #[arg(long)]
    pub(crate) clickhouse: Option<String>,
    /// The server's native port, to time `clickhouse-client` beside the SQL view.
    #[arg(long, requires = "clickhouse")]
    pub(crate) clickhouse_tcp_port: Option<u16>,
    /// Run only these tables (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) only: Vec<BenchTable>,
}

/// One of the bench's tables.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BenchTable {
    Decimation,
    Datasets,
    Quality,
    Rendering,
    App,
    Server,
}

pub(crate) fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let BenchArgs {
        json,
        scale,
        no_render,
        dataset,
        clickhouse,
        clickhouse_tcp_port,
        only,
    } = args;
    let runs = |table: BenchTable| only.is_empty() || only.contains(&table);
    let mut rows = Vec::new();
    if runs(BenchTable::Decimation) {
        rows = lyceum::bench::run_decimation(scale)?;
        out!("{}", lyceum::bench::table(&rows).trim_end());
        out!("({} rayon threads)\n", rayon::current_num_threads());
    }
    let mut datasets = Vec::new();
    if runs(BenchTable::Datasets) {
        datasets = lyceum::bench::run_dataset(dataset.as_deref(), scale)?;
        out!("{}", lyceum::bench::dataset_table(&datasets));
    }
    let mut quality = Vec::new();
    if runs(BenchTable::Quality) {
        quality = lyceum::bench::run_quality(scale)?;
    }
    if let Some(url) = clickhouse.clone().filter(|_| runs(BenchTable::Quality)) {
        // Its own runtime, off this one's threads.
        let history = std::thread::spawn(move || lyceum::bench::run_history(&url))
            .join()
            .map_err(|_| anyhow::anyhow!("the history benchmark stopped"))??;
        quality.extend(history);
    }
    if runs(BenchTable::Quality) {
        out!("{}", lyceum::bench::quality_table(&quality).trim_end());
    }
    let rendering = if no_render || !runs(BenchTable::Rendering) {
        None
    } else {
        let (adapter, render_rows) = lyceum::bench::run_rendering(scale)?;
        out!(
            "{}",
            lyceum::bench::render_table(&adapter, &render_rows).trim_end()
        );
        Some(serde_json::json!({ "adapter": adapter, "rows": render_rows }))
    };
    let mut app = Vec::new();
    if runs(BenchTable::App) {
        app = lyceum::bench::app::run_app(scale, clickhouse.as_deref())?;
        out!("{}", lyceum::bench::app::app_table(&app).trim_end());
    }
    let server = match clickhouse.filter(|_| runs(BenchTable::Server)) {
        Some(url) => {
            let rows = std::thread::spawn(move || {
                lyceum::bench::server::run_server(&url, clickhouse_tcp_port)
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the server benchmark stopped"))??;
            out!("{}", lyceum::bench::server::server_table(&rows).trim_end());
            rows
        }
        None => Vec::new(),
    };
    if let Some(path) = json {
        let report = serde_json::json!({
            "decimation": rows,
            "datasets": datasets,
            "quality": quality,
            "rendering": rendering,
            "app": app,
            "server": server
        });
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
