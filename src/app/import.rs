//! Another tool's file into the app: a CSV, Arrow IPC or Parquet file dropped on the window
//! or named by path is read on a worker thread ([`crate::source::dataset::import_file`]) and
//! previewed — format, curves, points, the axes and labels found, and the import's notes
//! (values beyond f32, labels varying within a curve, columns not read) or its line-and-column
//! error —, then opened as curves, saved as a dataset, or imported into a ClickHouse table of
//! the connection last explored (CSV through the library's resumable import with its progress
//! and line-and-column errors; Arrow and Parquet as the curves read). [`ImportPanel`] is the
//! state.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use super::file_dialog::{DialogKind, FileDialog, PathField};
use super::widgets::{labelled_field_ui, outcome_ui};
use crate::curves::CurveStore;
use crate::source::clickhouse::Connection;
use crate::source::clickhouse::import::{ImportOptions, ImportProgress, ImportReport, plain_name};
use crate::source::dataset::{self, Imported, LongColumns, SaveOptions, SavedView, Source};

/// A file read and waiting for the user's choice.
#[derive(Debug)]
struct Preview {
    path: PathBuf,
    store: Arc<CurveStore>,
    format: &'static str,
    notes: Vec<String>,
}

impl Preview {
    fn name(&self) -> String {
        self.path.file_stem().map_or_else(
            || "imported".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// "ragged.csv (csv): 300 curves, 45696 points; x: sample_index, y: value; labels: …".
    fn describe(&self) -> String {
        let file = self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let labels: Vec<&str> = self
            .store
            .label_columns()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let axes = self.store.axes();
        format!(
            "{file} ({}): {} curves, {} points; x: {}{}, y: {}; labels: {}",
            self.format,
            self.store.len(),
            self.store.point_count(),
            axes.x_title(),
            if axes.x_is_time { " (time)" } else { "" },
            axes.y_title(),
            if labels.is_empty() {
                "none".to_owned()
            } else {
                labels.join(", ")
            }
        )
    }
}

/// The files an import reads, for the file dialog.
const IMPORT_EXTENSIONS: &[&str] = &[
    "csv", "tsv", "txt", "arrow", "ipc", "feather", "parquet", "pq",
];

/// What a save as a dataset said: "saved 300 curves to …", or why it failed.
type SaveOutcome = Result<String, String>;

/// The import controls of the Datasets view.
#[derive(Debug, Default)]
pub struct ImportPanel {
    path: String,
    path_dialog: Option<FileDialog>,
    reading: Option<(PathBuf, Receiver<Result<Imported, String>>)>,
    preview: Option<Preview>,
    error: Option<String>,
    save_dir: String,
    save_dialog: Option<FileDialog>,
    /// A save as a dataset running: the curves being saved, and its outcome to come.
    saving: Option<(Arc<CurveStore>, Receiver<SaveOutcome>)>,
    saved: Option<SaveOutcome>,
    /// Curves saved since the caller last asked ([`Self::take_saved`]), and where.
    just_saved: Option<(Arc<CurveStore>, String)>,
    table: String,
    /// An import into ClickHouse running: its progress and outcome.
    uploading: Option<Upload>,
    uploaded: Option<Result<String, String>>,
}

/// Where imported curves can go: a tested connection and the runtime its I/O runs on.
#[derive(Clone, Debug)]
pub struct ImportTarget {
    pub connection: Connection,
    pub runtime: tokio::runtime::Handle,
}

/// An import running into ClickHouse: its progress and its outcome.
type Upload = (
    tokio::sync::watch::Receiver<ImportProgress>,
    Receiver<Result<String, String>>,
);

impl ImportPanel {
    /// Read `path` on a worker thread; the preview shows when it is read.
    pub fn read(&mut self, ctx: &egui::Context, path: PathBuf) {
        self.path = path.display().to_string();
        let (sender, receiver) = sync_channel(1);
        let (worker_path, ctx) = (path.clone(), ctx.clone());
        std::thread::spawn(move || {
            let result = dataset::import_file(&worker_path, &LongColumns::default())
                .map_err(|e| e.to_string());
            if sender.send(result).is_err() {
                tracing::debug!("a file was read after the view closed");
            }
            ctx.request_repaint();
        });
        self.reading = Some((path, receiver));
        self.error = None;
        self.saved = None;
        // The last file's preview goes now: its buttons would open, save or import that file
        // while the field names this one (and, should this one fail, would still offer it).
        self.preview = None;
        self.uploaded = None;
    }

    fn poll(&mut self) {
        if let Some((path, receiver)) = &self.reading
            && let Some(result) = super::job_result(receiver, || {
                format!("{}: the reader stopped", path.display())
            })
        {
            let path = path.clone();
            self.reading = None;
            match result {
                Ok(imported) => {
                    self.table = path
                        .file_stem()
                        .map(|n| plain_name(&n.to_string_lossy(), "curves_"))
                        .unwrap_or_default();
                    self.uploaded = None;
                    self.preview = Some(Preview {
                        path,
                        store: Arc::new(imported.store),
                        format: imported.format,
                        notes: imported.notes,
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "a file did not import");
                    self.error = Some(error);
                }
            }
        }
        if let Some((_, receiver)) = &self.uploading
            && let Some(outcome) = super::job_result(receiver, || "the import stopped".to_owned())
        {
            self.uploaded = Some(outcome);
            self.uploading = None;
        }
        if let Some((store, receiver)) = &self.saving
            && let Some(outcome) = super::job_result(receiver, || "the save stopped".to_owned())
        {
            if let Ok(saved) = &outcome {
                self.just_saved = Some((Arc::clone(store), saved.clone()));
            }
            self.saved = Some(outcome);
            self.saving = None;
        }
    }

    fn save(&mut self, ctx: &egui::Context, dir: PathBuf) {
        let Some(preview) = &self.preview else {
            return;
        };
        let (store, name) = (Arc::clone(&preview.store), preview.name());
        let source = Source::File {
            path: preview.path.display().to_string(),
            format: preview.format.to_owned(),
        };
        let (sender, receiver) = sync_channel(1);
        let ctx = ctx.clone();
        let saving = Arc::clone(&store);
        std::thread::spawn(move || {
            let options = SaveOptions {
                name,
                source,
                view: SavedView::default(),
                replace: false,
            };
            let result = dataset::save(&store, &dir, &options)
                .map(|m| format!("saved {} curves to {}", m.counts.curves, dir.display()))
                .map_err(|e| e.to_string());
            if sender.send(result).is_err() {
                tracing::debug!("an import was saved after the view closed");
            }
            ctx.request_repaint();
        });
        self.saving = Some((saving, receiver));
        self.saved = None;
    }

    /// Import the previewed file into `database.table` of `target`: a CSV through the
    /// library's import (progress, resumable, line-and-column errors), other formats as the
    /// curves read.
    fn upload(&mut self, ctx: &egui::Context, target: &ImportTarget, table: String) {
        let Some(preview) = &self.preview else {
            return;
        };
        let database = target.connection.profile().database.clone();
        let (progress_sender, progress) = tokio::sync::watch::channel(ImportProgress::default());
        let (sender, receiver) = sync_channel(1);
        let (path, store, format) = (
            preview.path.clone(),
            Arc::clone(&preview.store),
            preview.format,
        );
        let connection = target.connection.clone();
        let work = async move {
            if format == "csv" {
                let options = ImportOptions {
                    database,
                    table,
                    series: None,
                    x: None,
                    value: None,
                    batch_rows: 100_000,
                };
                connection
                    .import_csv(&path, &options, |p| {
                        progress_sender.send_replace(p);
                    })
                    .await
                    .map(|report| import_summary(&report))
                    .map_err(|e| e.to_string())
            } else {
                connection
                    .export_curves(&database, &table, &store)
                    .await
                    .map(|rows| format!("imported {rows} rows into {database}.{table}"))
                    .map_err(|e| e.to_string())
            }
        };
        let ctx = ctx.clone();
        super::spawn_caught(
            &target.runtime,
            work,
            |panic| Err(format!("the import stopped: {panic}")),
            move |outcome| {
                match &outcome {
                    Ok(_) => super::tables_changed(&ctx),
                    Err(error) => tracing::warn!(%error, "an import into ClickHouse failed"),
                }
                if sender.send(outcome).is_err() {
                    tracing::debug!("an import finished after the view closed");
                }
                ctx.request_repaint();
            },
        );
        self.uploading = Some((progress, receiver));
        self.uploaded = None;
    }

    /// Import into a table of `target`, with progress.
    fn upload_ui(&mut self, ui: &mut egui::Ui, target: Option<&ImportTarget>) {
        let Some(target) = target else {
            ui.weak("Test a connection and explore it to import these curves into ClickHouse.");
            return;
        };
        let mut start = None;
        ui.horizontal_wrapped(|ui| {
            let database = &target.connection.profile().database;
            labelled_field_ui(ui, "Import into table", &mut self.table, "curves", 160.0);
            ui.label(format!("in {database}"));
            let ready = self.uploading.is_none() && !self.table.trim().is_empty();
            if ui
                .add_enabled(ready, egui::Button::new("Import into ClickHouse"))
                .clicked()
            {
                start = Some(self.table.trim().to_owned());
            }
        });
        if let Some(table) = start {
            self.upload(ui.ctx(), target, table);
        }
        if let Some((progress, _)) = &self.uploading {
            let p = *progress.borrow();
            let fraction = if p.file_bytes > 0 {
                p.bytes_read as f32 / p.file_bytes as f32
            } else {
                0.0
            };
            ui.add(
                egui::ProgressBar::new(fraction).text(format!("{} rows inserted", p.rows_inserted)),
            );
        }
        outcome_ui(ui, self.uploaded.as_ref());
    }

    /// Curves saved as a dataset since the last call, and what the save said ("saved 300
    /// curves to …"): the view showing them is no longer unsaved.
    pub fn take_saved(&mut self) -> Option<(Arc<CurveStore>, String)> {
        self.just_saved.take()
    }

    /// The controls and the preview; returns the curves to show when the user opens them.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        target: Option<&ImportTarget>,
    ) -> Option<(Arc<CurveStore>, String)> {
        self.poll();
        let mut open = None;
        ui.horizontal_wrapped(|ui| {
            let (field, chosen) = PathField {
                label: "File to import",
                hint: "/path/curves.csv, .arrow or .parquet (or drop it on the window)",
                width: 360.0,
                kind: DialogKind::OpenFile(IMPORT_EXTENSIONS),
            }
            .ui(ui, &mut self.path, &mut self.path_dialog);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let ready = self.reading.is_none() && !self.path.trim().is_empty();
            if let Some(path) = chosen {
                self.read(ui.ctx(), path);
            } else if (ui
                .add_enabled(ready, egui::Button::new("Preview"))
                .clicked()
                || enter)
                && ready
            {
                let path = PathBuf::from(self.path.trim());
                self.read(ui.ctx(), path);
            }
            if self.reading.is_some() {
                ui.spinner();
                ui.label("Reading…");
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Cannot import: {error}"),
            );
        }
        if let Some(preview) = &self.preview {
            ui.label(preview.describe());
            for note in &preview.notes {
                ui.colored_label(ui.visuals().warn_fg_color, note);
            }
            let mut save = None;
            ui.horizontal_wrapped(|ui| {
                if ui.button("Open imported curves").clicked() {
                    open = Some((Arc::clone(&preview.store), preview.name()));
                }
                ui.separator();
                PathField {
                    label: "Save imported curves to",
                    hint: "/path/to/new-dataset",
                    width: 240.0,
                    kind: DialogKind::SaveFolder,
                }
                .ui(ui, &mut self.save_dir, &mut self.save_dialog);
                let ready = self.saving.is_none() && !self.save_dir.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new("Save as dataset"))
                    .clicked()
                {
                    save = Some(PathBuf::from(self.save_dir.trim()));
                }
            });
            if let Some(dir) = save {
                self.save(ui.ctx(), dir);
            }
            outcome_ui(ui, self.saved.as_ref());
            self.upload_ui(ui, target);
        }
        open
    }
}

/// What a CSV import did, in the words of the app: rows an earlier run had loaded (skipped,
/// never added twice) and the import's notes (gaps, whole-second timestamps, other files'
/// rows in the table) are said, not left to the log.
fn import_summary(report: &ImportReport) -> String {
    let mut summary = if report.rows_inserted == 0 && report.rows_already_present > 0 {
        format!(
            "nothing new: the {} rows of this file were already in {} (an earlier import); \
             none were added twice",
            report.rows_already_present, report.table
        )
    } else {
        let mut done = format!(
            "imported {} rows into {} ({}) in {:.0} ms",
            report.rows_inserted,
            report.table,
            report.layout,
            report.elapsed.as_secs_f64() * 1e3
        );
        if report.rows_already_present > 0 {
            done.push_str(&format!(
                "; {} rows an earlier, interrupted import had loaded were kept, not added again",
                report.rows_already_present
            ));
        }
        done
    };
    for note in &report.notes {
        summary.push_str("\nNote: ");
        summary.push_str(note);
    }
    summary
}
