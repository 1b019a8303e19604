//! The Datasets view: open a saved dataset folder (no network) and explore its curves in the
//! GPU plot, drawn as the library decides for any data ([`crate::render::style`]: colour by
//! the saved or a found label with a legend, titled after the dataset, axes after its
//! columns). Opening runs on a worker thread; a damaged dataset becomes a message naming the
//! file, and whatever was shown stays. [`DatasetsPanel`] holds the view's state.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use crate::render::style::{ColourBy, StyleRequest};
use crate::source::dataset::{self, Dataset, Source};

use super::curve_view::CurveView;
use super::file_dialog::{DialogKind, FileDialog, PathField};
use super::import::{ImportPanel, ImportTarget};
use super::widgets::outcome_ui;

/// A dataset on screen.
#[derive(Debug)]
struct ShownDataset {
    view: CurveView,
    /// "300 curves, 45,696 points, saved 2026-11-28T…".
    summary: String,
}

/// The Datasets view: a folder to open, the opening in progress, what is shown.
#[derive(Debug, Default)]
pub struct DatasetsPanel {
    path: String,
    /// The folder dialog, while open.
    dialog: Option<FileDialog>,
    opening: Option<(PathBuf, Receiver<Result<Dataset, String>>)>,
    shown: Option<ShownDataset>,
    error: Option<String>,
    /// Folders opened before, newest first (saved with the app's state).
    recent: Vec<PathBuf>,
    /// The library: each recent folder and what its manifest says, for the folders in
    /// `library_of` (read again when the list changes).
    library: Vec<LibraryRow>,
    library_of: Vec<PathBuf>,
    library_loading: Option<Receiver<Vec<LibraryRow>>>,
    /// A folder the user asked to delete, until confirmed or cancelled.
    confirm_delete: Option<PathBuf>,
    deleting: Option<(PathBuf, Receiver<Result<(), String>>)>,
    /// The last deletion's outcome.
    deleted: Option<Result<String, String>>,
    /// Other tools' files read, previewed, opened or saved.
    import: ImportPanel,
}

/// A library folder and its manifest's line, or why it cannot be read.
type LibraryRow = (PathBuf, Result<String, String>);

/// One library line from a manifest: "300 curves · 45,696 points · 1.2 MB · file x.csv ·
/// saved 2026-11-28T14:02:11Z".
fn describe_manifest(manifest: &dataset::Manifest) -> String {
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    let source = match &manifest.source {
        Source::ClickHouse {
            database, table, ..
        } => format!("ClickHouse {database}.{table}"),
        Source::File { path, .. } => format!(
            "file {}",
            std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned())
        ),
        Source::Demo { .. } => "demo plant".to_owned(),
    };
    format!(
        "{} curves · {} points · {:.1} MB · {source} · saved {}",
        manifest.counts.curves,
        manifest.counts.points,
        bytes as f64 / 1e6,
        manifest.created_at
    )
}

/// Recent datasets kept.
const RECENT_DATASETS: usize = 10;
/// With a dataset shown, the share of the view's height the controls above it may take
/// before they scroll, and the least they get.
const CONTROLS_SHARE: f32 = 0.3;
const MIN_CONTROLS_HEIGHT: f32 = 90.0;

impl DatasetsPanel {
    /// Preview `path` (a file dropped on the window, say) for opening or saving.
    pub fn import_file(&mut self, ctx: &egui::Context, path: PathBuf) {
        self.import.read(ctx, path);
    }

    /// Folders opened before, newest first.
    pub fn recent(&self) -> &[PathBuf] {
        &self.recent
    }

    /// Recent folders from an earlier session.
    pub fn restore_recent(&mut self, recent: Vec<PathBuf>) {
        self.recent = recent;
        self.recent.truncate(RECENT_DATASETS);
    }

    /// The open dataset's view, if any.
    pub fn view_mut(&mut self) -> Option<&mut CurveView> {
        self.shown.as_mut().map(|shown| &mut shown.view)
    }

    /// The recent datasets in the sources panel; a click opens one and returns true (the
    /// shell then shows this view).
    pub fn sources_ui(&mut self, ui: &mut egui::Ui) -> bool {
        if self.recent.is_empty() {
            ui.weak("none opened yet");
        }
        let mut chosen = None;
        for dir in &self.recent {
            let name = dir.file_name().map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            if ui
                .add(egui::Button::new(name).frame(false))
                .on_hover_text(dir.display().to_string())
                .clicked()
            {
                chosen = Some(dir.clone());
            }
        }
        let opened = chosen.is_some() && self.opening.is_none();
        if let Some(dir) = chosen.filter(|_| opened) {
            self.path = dir.display().to_string();
            self.open(ui.ctx(), dir);
        }
        opened
    }

    /// Open `dir` on a worker thread; the result arrives in a later frame.
    fn open(&mut self, ctx: &egui::Context, dir: PathBuf) {
        let (sender, receiver) = sync_channel(1);
        let (worker_dir, ctx) = (dir.clone(), ctx.clone());
        std::thread::spawn(move || {
            let result = dataset::open(&worker_dir).map_err(|e| e.to_string());
            if sender.send(result).is_err() {
                tracing::debug!(dir = %worker_dir.display(), "dataset opened after the view closed");
            }
            ctx.request_repaint();
        });
        self.opening = Some((dir, receiver));
        self.error = None;
    }

    fn poll_opening(&mut self) {
        let Some((dir, receiver)) = &self.opening else {
            return;
        };
        let Some(result) = super::job_result(receiver, || {
            format!("{}: the worker opening it stopped", dir.display())
        }) else {
            return;
        };
        let dir = dir.clone();
        self.opening = None;
        match result.and_then(Self::show) {
            Ok(shown) => {
                self.shown = Some(shown);
                self.recent.retain(|known| *known != dir);
                self.recent.insert(0, dir);
                self.recent.truncate(RECENT_DATASETS);
            }
            Err(error) => {
                tracing::warn!(%error, "a dataset did not open");
                self.error = Some(error);
            }
        }
    }

    /// The plot of an opened dataset, styled as the library styles any data.
    fn show(data: Dataset) -> Result<ShownDataset, String> {
        let summary = format!(
            "{} curves, {} points, saved {}",
            data.manifest.counts.curves, data.manifest.counts.points, data.manifest.created_at
        );
        let request = StyleRequest {
            colour_by: data
                .manifest
                .view
                .colour_by
                .clone()
                .map_or(ColourBy::Auto, ColourBy::Label),
            ..StyleRequest::default()
        };
        let limits = data
            .manifest
            .view
            .thresholds
            .iter()
            .map(|t| (t.label.clone(), t.y))
            .collect();
        let view = CurveView::new(Arc::new(data.store), &data.manifest.name, request, None)?
            .with_limits(limits)
            .with_quality(
                data.manifest.view.reference.map(|saved| *saved),
                data.manifest.view.recipe,
            );
        Ok(ShownDataset { view, summary })
    }

    /// Read the library's manifests on a worker thread when the recent list changed.
    fn refresh_library(&mut self, ctx: &egui::Context) {
        if let Some(receiver) = &self.library_loading {
            match receiver.try_recv() {
                Ok(rows) => {
                    self.library = rows;
                    self.library_loading = None;
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => self.library_loading = None,
            }
        }
        if self.library_of == self.recent {
            return;
        }
        self.library_of = self.recent.clone();
        let (dirs, ctx) = (self.recent.clone(), ctx.clone());
        let (sender, receiver) = sync_channel(1);
        std::thread::spawn(move || {
            let rows = dirs
                .into_iter()
                .map(|dir| {
                    let info = dataset::read_manifest(&dir)
                        .map(|m| describe_manifest(&m))
                        .map_err(|e| e.to_string());
                    (dir, info)
                })
                .collect();
            if sender.send(rows).is_err() {
                tracing::debug!("the dataset library was read after the view closed");
            }
            ctx.request_repaint();
        });
        self.library_loading = Some(receiver);
    }

    fn poll_delete(&mut self) {
        let Some((dir, receiver)) = &self.deleting else {
            return;
        };
        let Some(outcome) = super::job_result(receiver, || "the deletion stopped".to_owned())
        else {
            return;
        };
        let dir = dir.clone();
        self.deleting = None;
        self.deleted = Some(match outcome {
            Ok(()) => {
                self.recent.retain(|known| *known != dir);
                Ok(format!("deleted {}", dir.display()))
            }
            Err(error) => {
                tracing::warn!(%error, "a dataset was not deleted");
                Err(error)
            }
        });
    }

    /// The library: recent datasets with what their manifests say; open, or delete after a
    /// confirmation (the library deletes only a dataset folder, nothing else).
    fn library_ui(&mut self, ui: &mut egui::Ui) {
        self.refresh_library(ui.ctx());
        self.poll_delete();
        let mut open = None;
        egui::CollapsingHeader::new("Library")
            .default_open(true)
            .show(ui, |ui| {
                if self.library.is_empty() {
                    ui.weak("Datasets you open are listed here.");
                }
                egui::Grid::new("dataset library")
                    .num_columns(3)
                    .striped(true)
                    .show(ui, |ui| {
                        for (dir, info) in &self.library {
                            let name = dir.file_name().map_or_else(
                                || dir.display().to_string(),
                                |n| n.to_string_lossy().into_owned(),
                            );
                            ui.strong(name).on_hover_text(dir.display().to_string());
                            match info {
                                Ok(text) => ui.label(text),
                                Err(error) => ui.colored_label(ui.visuals().error_fg_color, error),
                            };
                            ui.horizontal(|ui| {
                                if ui.button("Open").clicked() {
                                    open = Some(dir.clone());
                                }
                                let busy = self.deleting.is_some();
                                if ui
                                    .add_enabled(!busy, egui::Button::new("Delete…"))
                                    .clicked()
                                {
                                    self.confirm_delete = Some(dir.clone());
                                }
                            });
                            ui.end_row();
                        }
                    });
                outcome_ui(ui, self.deleted.as_ref());
            });
        if let Some(dir) = open.filter(|_| self.opening.is_none()) {
            self.path = dir.display().to_string();
            self.open(ui.ctx(), dir);
        }
        self.confirm_delete_ui(ui.ctx());
    }

    /// "Delete this dataset?" with the folder named; nothing goes without a yes.
    fn confirm_delete_ui(&mut self, ctx: &egui::Context) {
        let Some(dir) = self.confirm_delete.clone() else {
            return;
        };
        let mut decided = None;
        egui::Window::new("Delete dataset")
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(format!(
                    "Delete {} and its files? This cannot be undone.",
                    dir.display()
                ));
                ui.horizontal(|ui| {
                    if ui.button("Delete").clicked() {
                        decided = Some(true);
                    }
                    if ui.button("Cancel").clicked() {
                        decided = Some(false);
                    }
                });
            });
        match decided {
            Some(true) => {
                self.confirm_delete = None;
                let (sender, receiver) = sync_channel(1);
                let (worker_dir, ctx) = (dir.clone(), ctx.clone());
                std::thread::spawn(move || {
                    let result = dataset::delete(&worker_dir).map_err(|e| e.to_string());
                    if sender.send(result).is_err() {
                        tracing::debug!("a dataset was deleted after the view closed");
                    }
                    ctx.request_repaint();
                });
                self.deleting = Some((dir, receiver));
                self.deleted = None;
            }
            Some(false) => self.confirm_delete = None,
            None => {}
        }
    }

    /// The view: the folder row, the import preview (importing into `target`'s ClickHouse),
    /// the library, the error if any, the plot.
    pub fn ui(&mut self, ui: &mut egui::Ui, target: Option<&ImportTarget>) {
        self.poll_opening();
        // With curves shown, the controls above them (folder, import preview, a library of
        // ten) scroll within part of the height: the plot keeps most of a short window.
        let controls_height = if self.shown.is_some() {
            (ui.available_height() * CONTROLS_SHARE).max(MIN_CONTROLS_HEIGHT)
        } else {
            f32::INFINITY
        };
        egui::ScrollArea::vertical()
            .id_salt("dataset controls")
            .max_height(controls_height)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                self.controls_ui(ui, target);
            });
        match &mut self.shown {
            Some(shown) => {
                ui.label(&shown.summary);
                shown.view.ui(ui);
            }
            None => {
                ui.label(
                    "Open a dataset folder saved by `lyceum dataset save` or `dataset import`: \
                     its curves are drawn here with no network.",
                );
            }
        }
    }

    /// Open a folder, import a file, the library.
    fn controls_ui(&mut self, ui: &mut egui::Ui, target: Option<&ImportTarget>) {
        ui.horizontal(|ui| {
            let (field, chosen) = PathField {
                label: "Dataset folder",
                hint: "/path/to/dataset",
                width: 360.0,
                kind: DialogKind::OpenFolder,
            }
            .ui(ui, &mut self.path, &mut self.dialog);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let can_open = self.opening.is_none() && !self.path.trim().is_empty();
            let clicked = ui
                .add_enabled(can_open, egui::Button::new("Open dataset"))
                .clicked();
            if let Some(dir) = chosen {
                self.open(ui.ctx(), dir);
            } else if clicked || (enter && can_open) {
                let dir = PathBuf::from(self.path.trim());
                self.open(ui.ctx(), dir);
            }
            if self.opening.is_some() {
                ui.spinner();
                ui.label("Opening…");
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Cannot open the dataset: {error}"),
            );
        }
        if let Some((store, name)) = self.import.ui(ui, target) {
            let summary = format!("{name}: imported, not saved as a dataset yet");
            match CurveView::new(store, &name, StyleRequest::default(), None) {
                Ok(view) => self.shown = Some(ShownDataset { view, summary }),
                Err(e) => self.error = Some(e),
            }
        }
        if let Some((store, saved)) = self.import.take_saved()
            && let Some(shown) = &mut self.shown
            && Arc::ptr_eq(shown.view.store(), &store)
        {
            shown.summary = format!("{}: imported, {saved}", shown.view.name());
        }
        self.library_ui(ui);
    }
}
