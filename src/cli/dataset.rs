//! `lyceum dataset …`: save, import, demo, info, verify, export.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use lyceum::source::dataset;
use lyceum::source::demo::Plant;

use super::connect::ConnectArgs;
use super::demo::PlantArgs;
use super::fetch::{DEFAULT_WIDTH_PX, FetchArgs, fetch_store};
use super::output::out;

#[derive(Subcommand, Debug)]
pub(crate) enum DatasetCommand {
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

#[derive(Args, Debug)]
pub(crate) struct DatasetTarget {
    /// The dataset folder to create.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Name recorded in the manifest (default: the folder's name).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Replace an existing dataset at --out.
    #[arg(long)]
    pub(crate) force: bool,
}

impl DatasetTarget {
    pub(crate) fn save(
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

pub(crate) async fn dataset_command(command: DatasetCommand) -> anyhow::Result<()> {
    match command {
        DatasetCommand::Save { fetch, target } => {
            let (store, source) = fetch_store(&fetch, DEFAULT_WIDTH_PX).await?;
            if let dataset::Source::ClickHouse {
                width_px: Some(columns),
                ..
            } = &source
            {
                // Say it: a long table is saved as the server's M4, not every sample.
                eprintln!(
                    "note: a long table is saved as the server's M4 over {columns} columns (first, min, \
                     max, last per column: the exact picture up to {columns} px wide), not every sample; \
                     --width-px keeps more"
                );
            }
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
            let started = Instant::now();
            let imported = dataset::import_file(&file, &roles)?;
            out!(
                "read {} in {:.0} ms",
                file.display(),
                started.elapsed().as_secs_f64() * 1e3
            );
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
            out!(
                "  axes: x {}{}, y {}",
                m.axes.x_title(),
                if m.axes.x_is_time { " (time)" } else { "" },
                m.axes.y_title()
            );
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
                .export_curves(connect.database(), &table, &data.store)
                .await?;
            out!(
                "exported {} curves ({rows} rows) to {}.{table} in {:.0} ms",
                data.store.len(),
                connect.database(),
                started.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}
