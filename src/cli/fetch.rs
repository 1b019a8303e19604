//! `lyceum fetch` and the fetch options `render` and `dataset save` share: a preset or custom
//! mapping, planned and streamed into a store.

use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use lyceum::source::clickhouse::{
    self as ch, ArrayX, CurveLayout, CurveQuery, CurveSelection, FetchOptions, FetchProgress,
    PixelView, SourceMapping,
};
use lyceum::source::dataset;

use super::connect::ConnectArgs;
use super::output::{out, progress_done, progress_line};

/// `--preset`: a table of the manufacturing template, or any table with the mapping options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PresetArg {
    ProcessCurves,
    SensorReadings,
    Custom,
}

#[derive(Args, Clone, Debug)]
pub(crate) struct FetchArgs {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    /// `process-curves` or `sensor-readings` of the template, or `custom` with the options below.
    #[arg(long, value_enum, default_value_t = PresetArg::ProcessCurves)]
    pub(crate) preset: PresetArg,
    /// Table to read (custom).
    #[arg(long)]
    pub(crate) table: Option<String>,
    /// Series key columns (custom), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) series_keys: Vec<String>,
    /// Label columns (custom), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) labels: Vec<String>,
    /// Long layout: x column.
    #[arg(long)]
    pub(crate) x: Option<String>,
    /// Long layout: y column. Array layout: y array column.
    #[arg(long)]
    pub(crate) y: Option<String>,
    /// Array layout: x array column (else sample index).
    #[arg(long)]
    pub(crate) x_array: Option<String>,
    /// Long series: x-range start, included (a number, epoch seconds for time columns, or a
    /// date-time such as 2026-11-02T06:00:00Z). Default: the data's first x.
    #[arg(long, value_parser = ch::parse_x_bound)]
    pub(crate) from: Option<f64>,
    /// Long series: x-range end, included. Default: the data's last x.
    #[arg(long, value_parser = ch::parse_x_bound)]
    pub(crate) to: Option<f64>,
    /// Long series: pixel columns the server bins into (M4). Default: 1920, or the picture's
    /// width for `render`.
    #[arg(long)]
    pub(crate) width_px: Option<u32>,
    #[arg(long)]
    pub(crate) limit: Option<u64>,
    /// Only these series keys, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) keys: Vec<String>,
}

/// Server-side M4 columns when neither `--width-px` nor a picture says otherwise.
pub(crate) const DEFAULT_WIDTH_PX: u32 = 1920;

pub(crate) async fn fetch(args: FetchArgs) -> anyhow::Result<()> {
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
pub(crate) async fn fetch_store(
    args: &FetchArgs,
    default_width_px: u32,
) -> anyhow::Result<(lyceum::curves::CurveStore, dataset::Source)> {
    let connection = args.connect.connect().await?;
    let db = args.connect.database();
    let preset = match args.preset {
        PresetArg::ProcessCurves => Some(ch::ddl::Preset::ProcessCurves),
        PresetArg::SensorReadings => Some(ch::ddl::Preset::SensorReadings),
        PresetArg::Custom => None,
    };
    let mapping = match preset {
        Some(preset) => {
            // A template preset reads its own table and columns: mapping options would be
            // ignored without a word, and the user would read another table than meant.
            let custom_given = [
                ("--table", args.table.is_some()),
                ("--y", args.y.is_some()),
                ("--x", args.x.is_some()),
                ("--x-array", args.x_array.is_some()),
                ("--series-keys", !args.series_keys.is_empty()),
                ("--labels", !args.labels.is_empty()),
            ];
            let mapping = preset.mapping(db);
            if let Some((option, _)) = custom_given.iter().find(|(_, given)| *given) {
                bail!(
                    "{option} describes a table of your own: add `--preset custom` (the preset \
                     `{}` reads {}.{} with its own columns)",
                    clap::ValueEnum::to_possible_value(&args.preset)
                        .map_or_else(String::new, |v| v.get_name().to_owned()),
                    mapping.database,
                    mapping.table
                );
            }
            mapping
        }
        None => {
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
                database: db.to_owned(),
                table,
                series_keys: args.series_keys.clone(),
                labels: args.labels.clone(),
                layout,
            }
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
                partial: None,
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
