//! The Datasets view: open a saved dataset folder (no network) and explore its curves in the
//! GPU plot, drawn as the library decides for any data ([`crate::render::style`]: colour by
//! the saved or a found label with a legend, titled after the dataset, axes after its
//! columns). Opening runs on a worker thread; a damaged dataset becomes a message naming the
//! file, and whatever was shown stays. [`DatasetsPanel`] holds the view's state.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use crate::render::gpu::BaseMode;
use crate::render::plot::{PlotCurves, PlotLabels, curves_plot_ui};
use crate::source::dataset::{self, Dataset};

/// A dataset on screen.
#[derive(Debug)]
struct ShownDataset {
    curves: Arc<PlotCurves>,
    labels: PlotLabels,
    /// "300 curves, 45,696 points, saved 2026-11-28T…".
    summary: String,
}

/// The Datasets view: a folder to open, the opening in progress, what is shown.
#[derive(Debug, Default)]
pub struct DatasetsPanel {
    path: String,
    opening: Option<(PathBuf, Receiver<Result<Dataset, String>>)>,
    shown: Option<ShownDataset>,
    mode: BaseMode,
    error: Option<String>,
}

impl DatasetsPanel {
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
        self.opening = None;
        match result.and_then(|data| self.show(data)) {
            Ok(shown) => self.shown = Some(shown),
            Err(error) => {
                tracing::warn!(%error, "a dataset did not open");
                self.error = Some(error);
            }
        }
    }

    /// The plot of an opened dataset, styled as the library styles any data.
    fn show(&self, data: Dataset) -> Result<ShownDataset, String> {
        let summary = format!(
            "{} curves, {} points, saved {}",
            data.manifest.counts.curves, data.manifest.counts.points, data.manifest.created_at
        );
        let (curves, labels) = super::styled_plot(
            data.store,
            &data.manifest.name,
            data.manifest.view.colour_by.clone(),
        )?;
        curves.set_mode(self.mode);
        Ok(ShownDataset {
            curves,
            labels,
            summary,
        })
    }

    /// The view: the folder row, the error if any, the plot.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll_opening();
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
            if let Some(shown) = &self.shown {
                ui.separator();
                ui.label("Draw");
                let before = self.mode;
                ui.selectable_value(&mut self.mode, BaseMode::Lines, "Lines");
                ui.selectable_value(&mut self.mode, BaseMode::Density, "Density");
                if self.mode != before {
                    shown.curves.set_mode(self.mode);
                }
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Cannot open the dataset: {error}"),
            );
        }
        match &self.shown {
            Some(shown) => {
                ui.label(&shown.summary);
                curves_plot_ui(ui, &shown.curves, &shown.labels);
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
