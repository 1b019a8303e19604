//! Another tool's file into the app: a CSV, Arrow IPC or Parquet file dropped on the window
//! or named by path is read on a worker thread ([`crate::source::dataset::import_file`]) and
//! previewed — format, curves, points, the axes and labels found, and the import's notes
//! (values beyond f32, labels varying within a curve, columns not read) or its line-and-column
//! error —, then opened as curves or saved as a dataset. [`ImportPanel`] is the state.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use super::widgets::{labelled_field_ui, outcome_ui};
use crate::curves::CurveStore;
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

/// The import controls of the Datasets view.
#[derive(Debug, Default)]
pub struct ImportPanel {
    path: String,
    reading: Option<(PathBuf, Receiver<Result<Imported, String>>)>,
    preview: Option<Preview>,
    error: Option<String>,
    save_dir: String,
    saving: Option<Receiver<Result<String, String>>>,
    saved: Option<Result<String, String>>,
}

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
    }

    fn poll(&mut self) {
        if let Some((path, receiver)) = &self.reading {
            let result = match receiver.try_recv() {
                Ok(result) => result,
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    Err(format!("{}: the reader stopped", path.display()))
                }
            };
            let path = path.clone();
            self.reading = None;
            match result {
                Ok(imported) => {
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
        if let Some(receiver) = &self.saving {
            let outcome = match receiver.try_recv() {
                Ok(outcome) => outcome,
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => Err("the save stopped".to_owned()),
            };
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
        self.saving = Some(receiver);
        self.saved = None;
    }

    /// The controls and the preview; returns the curves to show when the user opens them.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<(Arc<CurveStore>, String)> {
        self.poll();
        let mut open = None;
        ui.horizontal_wrapped(|ui| {
            let field = labelled_field_ui(
                ui,
                "File to import",
                &mut self.path,
                "/path/curves.csv, .arrow or .parquet (or drop it on the window)",
                360.0,
            );
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let ready = self.reading.is_none() && !self.path.trim().is_empty();
            if (ui
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
                labelled_field_ui(
                    ui,
                    "Save imported curves to",
                    &mut self.save_dir,
                    "/path/to/new-dataset",
                    240.0,
                );
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
        }
        open
    }
}
