//! Export from any plot: the selected (or all shown) curves to CSV or Parquet
//! ([`crate::source::dataset::export`]), and the picture to PNG at a chosen size with the
//! library's renderer ([`crate::render::export`]); and the data explorer's result table to
//! CSV or Parquet ([`crate::source::dataset::export_table`]). Files are written on a worker thread; an
//! existing file is replaced only after the user confirms. [`ExportPanel`] is the state.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use super::file_dialog::{DialogKind, FileDialog, PathField};
use super::widgets::outcome_ui;
use crate::curves::{CurveId, CurveStore};
use crate::render::check_image_size;
use crate::render::cpu::write_png;
use crate::render::export::{RenderRequest, RendererKind, render_store};
use crate::render::gpu::BaseMode;
use crate::render::plot::Decimation;
use crate::render::style::StyleRequest;
use crate::source::dataset::export::{ExportFormat, export_curves};
use crate::source::dataset::export_table;
use crate::source::table::ResultTable;

/// What to export, taken from the view when the user presses a button.
#[derive(Debug)]
pub struct ExportSource {
    pub store: Arc<CurveStore>,
    /// The user's selection; the shown curves when empty.
    pub selected: Vec<CurveId>,
    pub shown: Vec<CurveId>,
    pub style: StyleRequest,
    pub mode: BaseMode,
    pub name: String,
    pub pinned_x: Option<(f64, f64)>,
}

/// An export waiting for the user to confirm replacing a file.
#[derive(Debug)]
enum Pending {
    Curves(ExportSource, PathBuf),
    Picture(ExportSource, PathBuf),
    Table(Arc<ResultTable>, PathBuf),
}

impl Pending {
    fn path(&self) -> &PathBuf {
        match self {
            Self::Curves(_, path) | Self::Picture(_, path) | Self::Table(_, path) => path,
        }
    }
}

/// The export controls of one view.
#[derive(Debug)]
pub struct ExportPanel {
    curves_path: String,
    png_path: String,
    curves_dialog: Option<FileDialog>,
    png_dialog: Option<FileDialog>,
    width_px: u32,
    height_px: u32,
    running: Option<Receiver<Result<String, String>>>,
    outcome: Option<Result<String, String>>,
    confirm: Option<Pending>,
}

impl Default for ExportPanel {
    fn default() -> Self {
        Self {
            curves_path: String::new(),
            png_path: String::new(),
            curves_dialog: None,
            png_dialog: None,
            width_px: 1600,
            height_px: 900,
            running: None,
            outcome: None,
            confirm: None,
        }
    }
}

impl ExportPanel {
    fn poll(&mut self) {
        if let Some(receiver) = &self.running
            && let Some(outcome) = super::job_result(receiver, || "the export stopped".to_owned())
        {
            if let Err(error) = &outcome {
                tracing::warn!(%error, "export failed");
            }
            self.outcome = Some(outcome);
            self.running = None;
        }
    }

    /// Run `work` on a worker thread; its outcome shows when it arrives.
    fn spawn(
        &mut self,
        ctx: &egui::Context,
        work: impl FnOnce() -> Result<String, String> + Send + 'static,
    ) {
        let (sender, receiver) = sync_channel(1);
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            if sender.send(work()).is_err() {
                tracing::debug!("an export finished after its view closed");
            }
            ctx.request_repaint();
        });
        self.running = Some(receiver);
        self.outcome = None;
    }

    fn start(&mut self, ctx: &egui::Context, pending: Pending, replace: bool) {
        match pending {
            Pending::Curves(source, path) => {
                let ids = if source.selected.is_empty() {
                    source.shown
                } else {
                    source.selected
                };
                self.spawn(ctx, move || {
                    export_curves(&source.store, Some(&ids), &path, replace)
                        .map(|r| {
                            format!(
                                "exported {} curves ({} rows) to {}",
                                r.curves,
                                r.rows,
                                r.path.display()
                            )
                        })
                        .map_err(|e| e.to_string())
                });
            }
            Pending::Picture(source, path) => {
                let request = RenderRequest {
                    renderer: RendererKind::Gpu,
                    width_px: self.width_px,
                    height_px: self.height_px,
                    pixels_per_point: 1.0,
                    decimation: Decimation::M4,
                    mode: source.mode,
                    style: source.style,
                    source_name: source.name,
                    title: None,
                    pinned_x: source.pinned_x,
                };
                self.spawn(ctx, move || {
                    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                    }
                    render_store(source.store, &request)
                        .map_err(|e| e.to_string())
                        .and_then(|(image, _)| write_png(&image, &path).map_err(|e| e.to_string()))
                        .map(|()| format!("exported {}", path.display()))
                });
            }
            Pending::Table(table, path) => {
                self.spawn(ctx, move || {
                    export_table(&table, &path, replace)
                        .map(|rows| format!("exported {rows} rows to {}", path.display()))
                        .map_err(|e| e.to_string())
                });
            }
        }
    }

    /// Start `pending`, or ask first when its file exists.
    fn request(&mut self, ctx: &egui::Context, pending: Pending) {
        if pending.path().exists() {
            self.confirm = Some(pending);
        } else {
            self.start(ctx, pending, false);
        }
    }

    /// The controls; `source` is called only when the user starts an export.
    pub fn ui(&mut self, ui: &mut egui::Ui, source: impl Fn() -> ExportSource) {
        self.poll();
        let idle = self.running.is_none() && self.confirm.is_none();
        if let Some(path) = self.data_file_ui(ui, idle, "Export curves", "curves") {
            self.request(ui.ctx(), Pending::Curves(source(), path));
        }
        ui.horizontal_wrapped(|ui| {
            PathField {
                label: "Export PNG to",
                hint: "/path/picture.png",
                width: 220.0,
                kind: DialogKind::SaveFile(&["png"]),
            }
            .ui(ui, &mut self.png_path, &mut self.png_dialog);
            let width = ui.label("Width");
            ui.add(egui::DragValue::new(&mut self.width_px).range(1..=16_384))
                .labelled_by(width.id);
            let height = ui.label("Height");
            ui.add(egui::DragValue::new(&mut self.height_px).range(1..=16_384))
                .labelled_by(height.id);
            let size = check_image_size(self.width_px, self.height_px);
            let ready = idle && size.is_ok() && !self.png_path.trim().is_empty();
            if ui
                .add_enabled(ready, egui::Button::new("Export PNG"))
                .clicked()
            {
                let path = PathBuf::from(self.png_path.trim());
                self.request(ui.ctx(), Pending::Picture(source(), path));
            }
            if let Err(e) = size {
                ui.colored_label(ui.visuals().warn_fg_color, e.to_string());
            }
        });
        self.confirm_and_progress_ui(ui);
    }

    /// A query result's export controls: CSV or Parquet by the file's extension.
    pub fn table_ui(&mut self, ui: &mut egui::Ui, table: &Arc<ResultTable>) {
        self.poll();
        let idle = self.running.is_none() && self.confirm.is_none();
        if let Some(path) = self.data_file_ui(ui, idle, "Export result", "result") {
            self.request(ui.ctx(), Pending::Table(Arc::clone(table), path));
        }
        self.confirm_and_progress_ui(ui);
    }

    /// A CSV / Parquet path field and its button `action` ("Export curves"); the path when
    /// pressed.
    fn data_file_ui(
        &mut self,
        ui: &mut egui::Ui,
        idle: bool,
        action: &str,
        example: &str,
    ) -> Option<PathBuf> {
        ui.horizontal_wrapped(|ui| {
            PathField {
                label: &format!("{action} to"),
                hint: &format!("/path/{example}.csv or .parquet"),
                width: 220.0,
                kind: DialogKind::SaveFile(&["csv", "parquet"]),
            }
            .ui(ui, &mut self.curves_path, &mut self.curves_dialog);
            let path = PathBuf::from(self.curves_path.trim());
            let known = ExportFormat::of_path(&path).is_some();
            ui.add_enabled(idle && known, egui::Button::new(action))
                .on_disabled_hover_text("A file name ending in .csv or .parquet")
                .clicked()
                .then_some(path)
        })
        .inner
    }

    /// The question before replacing a file, the running export and its outcome.
    fn confirm_and_progress_ui(&mut self, ui: &mut egui::Ui) {
        if let Some(pending) = self.confirm.take() {
            let path = pending.path().clone();
            ui.horizontal_wrapped(|ui| {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("{} exists.", path.display()),
                );
                if ui.button("Replace it").clicked() {
                    self.start(ui.ctx(), pending, true);
                } else if ui.button("Keep it").clicked() {
                    self.outcome = Some(Err(format!("{} kept; nothing exported", path.display())));
                } else {
                    self.confirm = Some(pending);
                }
            });
        }
        if self.running.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Exporting…");
            });
        }
        outcome_ui(ui, self.outcome.as_ref());
    }
}
