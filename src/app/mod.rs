//! The desktop app (eframe + egui_wgpu). [`LyceumApp`] has four views: Curves — the embedded
//! demo plant's process curves in a GPU-drawn plot, with the controls an engineer reaches for
//! first (program, lines or density, NOK highlighted) —, Datasets ([`datasets`]: a saved
//! dataset opened offline and drawn as itself), Connections ([`connections`]: ClickHouse
//! servers added and tested) and Clusters ([`clusters`]), over the control plane (embedded
//! in-process by default). The plant is generated on a worker thread
//! so the window opens at once; [`LyceumApp::ui`] never blocks.

pub mod clusters;
pub mod connections;
pub mod curve_view;
pub mod datasets;
pub mod explorer;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use crate::curves::CurveStore;
use crate::render::gpu::GpuErrorSlot;
use crate::render::plot::CurveRenderResources;
use crate::render::style::StyleRequest;
use crate::source::demo::{Plant, PlantConfig, Program};
use curve_view::CurveView;

#[derive(Debug)]
enum DemoState {
    Loading(Receiver<Result<CurveStore, String>>),
    Ready(Arc<CurveStore>),
    Failed(String),
}

/// The app: loads the demo plant, then shows one program's curves.
#[derive(Debug)]
pub struct LyceumApp {
    view: AppView,
    state: DemoState,
    /// The program the user picked, and its curves as shown.
    program: Program,
    shown: Option<(Program, CurveView)>,
    error: Option<String>,
    /// Errors the GPU reported outside any scope (device lost included): shown, never a panic.
    gpu_errors: Option<GpuErrorSlot>,
    /// The last GPU error shown, until dismissed.
    gpu_error: Option<String>,
    clusters: clusters::ClustersPanel,
    datasets: datasets::DatasetsPanel,
    connections: connections::ConnectionsPanel,
}

/// The app's top-level views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AppView {
    Curves,
    Datasets,
    Connections,
    Clusters,
}

/// The demo plant's request for `program`: its curves only.
fn demo_request(program: Program) -> StyleRequest {
    StyleRequest {
        filters: vec![("program".to_owned(), program.name().to_owned())],
        ..StyleRequest::default()
    }
}

impl LyceumApp {
    /// Start generating `plant` in the background and register the curve renderer with
    /// eframe's wgpu state.
    /// `data_dir` keeps the embedded control plane's database and local clusters.
    pub fn new(
        creation: &eframe::CreationContext<'_>,
        plant: PlantConfig,
        data_dir: std::path::PathBuf,
    ) -> Self {
        let mut app = Self::loading(creation.egui_ctx.clone(), plant, data_dir);
        if let Some(render_state) = &creation.wgpu_render_state {
            app.gpu_errors = Some(GpuErrorSlot::install(&render_state.device));
            CurveRenderResources::install(
                &mut render_state.renderer.write(),
                &render_state.device,
                render_state.target_format,
            );
        }
        app
    }

    /// Pick up what the GPU reported since the last frame: an error caught while drawing the
    /// curves, or one no scope caught.
    fn poll_gpu_errors(&mut self, frame: &eframe::Frame) {
        let drawing = frame.wgpu_render_state().and_then(|state| {
            state
                .renderer
                .read()
                .callback_resources
                .get::<CurveRenderResources>()
                .and_then(|resources| resources.last_error.clone())
        });
        let uncaptured = self.gpu_errors.as_ref().and_then(GpuErrorSlot::take);
        if let Some(error) = uncaptured.or(drawing)
            && self.gpu_error.as_ref() != Some(&error)
        {
            tracing::error!(%error, "GPU error shown to the user");
            self.gpu_error = Some(error);
        }
    }

    fn gpu_error_ui(&mut self, ui: &mut egui::Ui) {
        let Some(error) = &self.gpu_error else {
            return;
        };
        let mut dismissed = false;
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("The GPU could not draw the curves: {error}"),
            );
            dismissed = ui.button("Dismiss").clicked();
        });
        if dismissed {
            self.gpu_error = None;
        }
    }

    /// The app before its first frame, with the plant generating on a worker thread.
    pub fn loading(ctx: egui::Context, plant: PlantConfig, data_dir: std::path::PathBuf) -> Self {
        let (sender, receiver) = sync_channel(1);
        std::thread::spawn(move || {
            let result = Plant::new(plant)
                .process_curves()
                .map_err(|e| e.to_string());
            // The app may have closed meanwhile; nothing to report to then.
            let _ = sender.send(result);
            ctx.request_repaint();
        });
        Self {
            view: AppView::Curves,
            clusters: clusters::ClustersPanel::new(data_dir),
            datasets: datasets::DatasetsPanel::default(),
            connections: connections::ConnectionsPanel::default(),
            state: DemoState::Loading(receiver),
            program: Program::Screwdriving,
            shown: None,
            error: None,
            gpu_errors: None,
            gpu_error: None,
        }
    }

    fn poll_loading(&mut self) {
        if let DemoState::Loading(receiver) = &self.state {
            self.state = match receiver.try_recv() {
                Ok(Ok(store)) => DemoState::Ready(Arc::new(store)),
                Ok(Err(e)) => DemoState::Failed(e),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    DemoState::Failed("the demo generator stopped".into())
                }
            };
        }
    }

    /// A new program is a new plot (new bounds); draw mode, colouring and highlights are the
    /// view's own.
    fn sync_plot(&mut self, store: &Arc<CurveStore>) {
        let program = self.program;
        if self
            .shown
            .as_ref()
            .is_some_and(|(shown, _)| *shown == program)
        {
            return;
        }
        match CurveView::new(
            Arc::clone(store),
            program.name(),
            demo_request(program),
            None,
        ) {
            Ok(view) => {
                self.shown = Some((program, view));
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn controls_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label("Program");
            for program in [Program::Screwdriving, Program::PressFit] {
                ui.selectable_value(&mut self.program, program, program.name());
            }
        });
    }
}

impl LyceumApp {
    fn curves_ui(&mut self, ui: &mut egui::Ui) {
        match &self.state {
            DemoState::Loading(_) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Generating the demo plant…");
                });
            }
            DemoState::Failed(e) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("The demo plant failed: {e}"),
                );
            }
            DemoState::Ready(store) => {
                let store = Arc::clone(store);
                self.controls_ui(ui);
                self.sync_plot(&store);
                if let Some(error) = &self.error {
                    ui.colored_label(ui.visuals().error_fg_color, error);
                }
                if let Some((_, view)) = &mut self.shown {
                    view.ui(ui);
                }
            }
        }
    }
}

impl eframe::App for LyceumApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.poll_loading();
        self.poll_gpu_errors(frame);
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.view, AppView::Curves, "Curves");
                ui.selectable_value(&mut self.view, AppView::Datasets, "Datasets");
                ui.selectable_value(&mut self.view, AppView::Connections, "Connections");
                ui.selectable_value(&mut self.view, AppView::Clusters, "Clusters");
            });
            self.gpu_error_ui(ui);
            ui.separator();
            match self.view {
                AppView::Curves => self.curves_ui(ui),
                AppView::Datasets => self.datasets.ui(ui),
                AppView::Connections => self.connections.ui(ui),
                AppView::Clusters => self.clusters.ui(ui),
            }
        });
    }
}
