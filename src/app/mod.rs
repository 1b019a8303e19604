//! The desktop app (eframe + egui_wgpu). [`LyceumApp`] has four views: Curves — the embedded
//! demo plant's process curves in a GPU-drawn plot, with the controls an engineer reaches for
//! first (program, lines or density, NOK highlighted) —, Datasets ([`datasets`]: a saved
//! dataset opened offline and drawn as itself), Connections ([`connections`]: ClickHouse
//! servers added and tested) and Clusters ([`clusters`]), over the control plane (embedded
//! in-process by default). The plant is generated on a worker thread
//! so the window opens at once; [`LyceumApp::ui`] never blocks.

pub mod clusters;
pub mod connections;
pub mod datasets;
pub mod explorer;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use crate::curves::CurveStore;
use crate::render::gpu::{BaseMode, GpuErrorSlot};
use crate::render::plot::{
    CurveRenderResources, Decimation, DecimationMode, PlotCurves, PlotLabels, curves_plot_ui,
};
use crate::render::style::{
    ColourBy, StyleError, StyleRequest, Styling, plot_labels, style_curves,
};
use crate::source::demo::{Plant, PlantConfig, Program};

/// What the user has chosen to see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ViewChoice {
    program: Program,
    mode: BaseMode,
    highlight_nok: bool,
}

/// The curves of one program as one plot.
#[derive(Debug)]
struct ShownPlot {
    choice: ViewChoice,
    curves: Arc<PlotCurves>,
    labels: PlotLabels,
}

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
    choice: ViewChoice,
    shown: Option<ShownPlot>,
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

/// Curves of any source as a plot, styled as the library styles any data (colour by
/// `colour_by` or a found label, legend, title after `name`, axes after the store's).
pub(crate) fn styled_plot(
    store: CurveStore,
    name: &str,
    colour_by: Option<String>,
) -> Result<(Arc<PlotCurves>, PlotLabels), String> {
    let request = StyleRequest {
        colour_by: colour_by.map_or(ColourBy::Auto, ColourBy::Label),
        ..StyleRequest::default()
    };
    let store = Arc::new(store);
    let styling = style_curves(&store, &request).map_err(|e| e.to_string())?;
    let labels = plot_labels(name, store.axes(), &styling);
    let curves = PlotCurves::new(
        egui::Id::unique(("plot", name)),
        store,
        styling.styles,
        DecimationMode::Background,
        Decimation::M4,
    )
    .map_err(|e| e.to_string())?;
    Ok((Arc::new(curves), labels))
}

/// The styling for `choice` ([`crate::render::style`]): OK below NOK; other programs hidden.
fn styling_for(store: &CurveStore, choice: ViewChoice) -> Result<Styling, StyleError> {
    style_curves(
        store,
        &StyleRequest {
            filters: vec![("program".to_owned(), choice.program.name().to_owned())],
            highlight_failed: choice.highlight_nok,
            ..StyleRequest::default()
        },
    )
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
            choice: ViewChoice {
                program: Program::Screwdriving,
                mode: BaseMode::Lines,
                highlight_nok: false,
            },
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

    /// Bring the plot in line with the choice: a new program is a new plot (new bounds); a
    /// new mode or highlight only restyles the same GPU buffers.
    fn sync_plot(&mut self, store: &Arc<CurveStore>) {
        let choice = self.choice;
        if self
            .shown
            .as_ref()
            .is_some_and(|shown| shown.choice == choice)
        {
            return;
        }
        let styling = match styling_for(store, choice) {
            Ok(styling) => styling,
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        let labels = plot_labels(
            choice.program.name(),
            &choice.program.curve_axes(),
            &styling,
        );
        let same_program = self
            .shown
            .as_ref()
            .filter(|s| s.choice.program == choice.program);
        let result = match same_program {
            Some(plot) => plot
                .curves
                .set_styles(styling.styles)
                .map(|()| Arc::clone(&plot.curves)),
            None => PlotCurves::new(
                egui::Id::unique(("curves", choice.program.name())),
                Arc::clone(store),
                styling.styles,
                DecimationMode::Background,
                Decimation::M4,
            )
            .map(Arc::new),
        };
        match result {
            Ok(curves) => {
                curves.set_mode(choice.mode);
                self.shown = Some(ShownPlot {
                    choice,
                    curves,
                    labels,
                });
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn controls_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label("Program");
            for program in [Program::Screwdriving, Program::PressFit] {
                ui.selectable_value(&mut self.choice.program, program, program.name());
            }
            ui.separator();
            ui.label("Draw");
            ui.selectable_value(&mut self.choice.mode, BaseMode::Lines, "Lines");
            ui.selectable_value(&mut self.choice.mode, BaseMode::Density, "Density");
            ui.separator();
            ui.checkbox(&mut self.choice.highlight_nok, "Highlight NOK");
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
                if let Some(shown) = &self.shown {
                    curves_plot_ui(ui, &shown.curves, &shown.labels);
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
