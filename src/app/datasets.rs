//! The Datasets view: open a saved dataset folder (no network) and explore its curves in the
//! GPU plot, drawn as the library decides for any data ([`crate::render::style`]: colour by
//! the saved or a found label with a legend, titled after the dataset, axes after its
//! columns). Opening runs on a worker thread; a damaged dataset becomes a message naming the
//! file, and whatever was shown stays. [`DatasetsPanel`] holds the view's state.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use crate::curves::CurveStore;
use crate::render::cpu::write_png;
use crate::render::export::{RenderRequest, RendererKind, render_store};
use crate::render::plot::Decimation;
use crate::render::style::{ColourBy, StyleRequest};
use crate::source::dataset::{self, Dataset};

use super::curve_view::CurveView;

/// A dataset on screen.
#[derive(Debug)]
struct ShownDataset {
    view: CurveView,
    /// "300 curves, 45,696 points, saved 2026-11-28T…".
    summary: String,
    name: String,
}

/// Size of an exported picture, physical pixels.
const EXPORT_SIZE_PX: (u32, u32) = (1600, 900);

/// The Datasets view: a folder to open, the opening in progress, what is shown.
#[derive(Debug, Default)]
pub struct DatasetsPanel {
    path: String,
    opening: Option<(PathBuf, Receiver<Result<Dataset, String>>)>,
    shown: Option<ShownDataset>,
    error: Option<String>,
    export_path: String,
    exporting: Option<Receiver<Result<String, String>>>,
    /// The last export's outcome.
    exported: Option<Result<String, String>>,
    /// Folders opened before, newest first (saved with the app's state).
    recent: Vec<PathBuf>,
}

/// Recent datasets kept.
const RECENT_DATASETS: usize = 10;

impl DatasetsPanel {
    /// Folders opened before, newest first.
    pub fn recent(&self) -> &[PathBuf] {
        &self.recent
    }

    /// Recent folders from an earlier session.
    pub fn restore_recent(&mut self, recent: Vec<PathBuf>) {
        self.recent = recent;
        self.recent.truncate(RECENT_DATASETS);
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
        let result = match receiver.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => {
                Err(format!("{}: the worker opening it stopped", dir.display()))
            }
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
        let view = CurveView::new(Arc::new(data.store), &data.manifest.name, request, None)?;
        Ok(ShownDataset {
            view,
            summary,
            name: data.manifest.name,
        })
    }

    /// Draw the shown curves into a PNG on a worker thread (a headless GPU device), with the
    /// library's export: the same styling, title and axes as on screen.
    fn export(&mut self, ctx: &egui::Context, shown_curves: Arc<CurveStore>, out: PathBuf) {
        let Some(shown) = &self.shown else {
            return;
        };
        let request = RenderRequest {
            renderer: RendererKind::Gpu,
            width_px: EXPORT_SIZE_PX.0,
            height_px: EXPORT_SIZE_PX.1,
            pixels_per_point: 1.0,
            decimation: Decimation::M4,
            mode: shown.view.curves().mode(),
            style: shown.view.request().clone(),
            source_name: shown.name.clone(),
            title: None,
            pinned_x: None,
        };
        let (sender, receiver) = sync_channel(1);
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let result = render_store(shown_curves, &request)
                .map_err(|e| e.to_string())
                .and_then(|(image, _)| write_png(&image, &out).map_err(|e| e.to_string()))
                .map(|()| format!("exported {}", out.display()));
            if sender.send(result).is_err() {
                tracing::debug!("an export finished after the view closed");
            }
            ctx.request_repaint();
        });
        self.exporting = Some(receiver);
        self.exported = None;
    }

    fn poll_export(&mut self) {
        if let Some(receiver) = &self.exporting {
            let outcome = match receiver.try_recv() {
                Ok(outcome) => outcome,
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => Err("the export stopped".to_owned()),
            };
            if let Err(error) = &outcome {
                tracing::warn!(%error, "PNG export failed");
            }
            self.exported = Some(outcome);
            self.exporting = None;
        }
    }

    fn export_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let label = ui.label("Export PNG to");
            ui.add(
                egui::TextEdit::singleline(&mut self.export_path)
                    .hint_text("/path/to/picture.png")
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
            let ready = self.exporting.is_none() && !self.export_path.trim().is_empty();
            if ui
                .add_enabled(ready, egui::Button::new("Export PNG"))
                .clicked()
                && let Some(shown) = &self.shown
            {
                let store = Arc::clone(shown.view.store());
                let out = PathBuf::from(self.export_path.trim());
                self.export(ui.ctx(), store, out);
            }
            if self.exporting.is_some() {
                ui.spinner();
            }
            match &self.exported {
                Some(Ok(note)) => {
                    ui.label(note);
                }
                Some(Err(error)) => {
                    ui.colored_label(ui.visuals().error_fg_color, error);
                }
                None => {}
            }
        });
    }

    /// The view: the folder row, the error if any, the plot.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll_opening();
        self.poll_export();
        ui.horizontal(|ui| {
            let label = ui.label("Dataset folder");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.path)
                        .hint_text("/path/to/dataset")
                        .desired_width(360.0),
                )
                .labelled_by(label.id);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let can_open = self.opening.is_none() && !self.path.trim().is_empty();
            let clicked = ui
                .add_enabled(can_open, egui::Button::new("Open dataset"))
                .clicked();
            if clicked || (enter && can_open) {
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
        match &self.shown {
            Some(_) => {
                self.export_ui(ui);
                if let Some(shown) = &mut self.shown {
                    ui.label(&shown.summary);
                    shown.view.ui(ui);
                }
            }
            None => {
                ui.label(
                    "Open a dataset folder saved by `lyceum dataset save` or `dataset import`: \
                     its curves are drawn here with no network.",
                );
            }
        }
    }
}
