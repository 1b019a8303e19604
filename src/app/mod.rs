//! The desktop app (eframe + egui_wgpu). [`LyceumApp`] has two views: Curves — the embedded
//! demo plant's process curves in a GPU-drawn plot, with the controls an engineer reaches for
//! first (program, lines or density, NOK highlighted) — and Clusters ([`clusters`]), over the
//! control plane (embedded in-process by default). The plant is generated on a worker thread
//! so the window opens at once; [`LyceumApp::ui`] never blocks.

pub mod clusters;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use crate::curves::CurveStore;
use crate::render::gpu::{BaseMode, CurveStyle};
use crate::render::plot::{
    CurveRenderResources, Decimation, DecimationMode, PlotCurves, PlotLabels, curves_plot_ui,
};
use crate::source::demo::{Plant, PlantConfig, Program};

const OK_RGBA: [u8; 4] = [70, 110, 170, 255];
const NOK_RGBA: [u8; 4] = [220, 40, 40, 255];

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
    clusters: clusters::ClustersPanel,
}

/// The app's top-level views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AppView {
    Curves,
    Clusters,
}

/// The curve styles for `choice`: OK below NOK; other programs hidden.
fn styles_for(store: &CurveStore, choice: ViewChoice) -> (Vec<CurveStyle>, usize, usize) {
    let (mut shown, mut nok) = (0, 0);
    let styles = (0..store.len() as u32)
        .map(|id| {
            let is_nok = store.label("result", id) == Some("NOK");
            if store.label("program", id) != Some(choice.program.name()) {
                return CurveStyle::line(OK_RGBA).hidden();
            }
            shown += 1;
            nok += usize::from(is_nok);
            match (is_nok, choice.highlight_nok) {
                (true, true) => CurveStyle::line(NOK_RGBA).with_priority(1).highlighted(2.0),
                (true, false) => CurveStyle::line(NOK_RGBA).with_priority(1),
                (false, _) => CurveStyle::line(OK_RGBA),
            }
        })
        .collect();
    (styles, shown, nok)
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
        if let Some(render_state) = &creation.wgpu_render_state {
            CurveRenderResources::install(
                &mut render_state.renderer.write(),
                &render_state.device,
                render_state.target_format,
            );
        }
        Self::loading(creation.egui_ctx.clone(), plant, data_dir)
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
            state: DemoState::Loading(receiver),
            choice: ViewChoice {
                program: Program::Screwdriving,
                mode: BaseMode::Lines,
                highlight_nok: false,
            },
            shown: None,
            error: None,
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
        let (styles, shown, nok) = styles_for(store, choice);
        let same_program = self
            .shown
            .as_ref()
            .filter(|s| s.choice.program == choice.program);
        let result = match same_program {
            Some(plot) => plot
                .curves
                .set_styles(styles)
                .map(|()| Arc::clone(&plot.curves)),
            None => PlotCurves::new(
                egui::Id::unique(("curves", choice.program.name())),
                Arc::clone(store),
                styles,
                DecimationMode::Background,
                Decimation::M4,
            )
            .map(Arc::new),
        };
        match result {
            Ok(curves) => {
                curves.set_mode(choice.mode);
                let (x, x_unit, y, y_unit) = choice.program.axes();
                self.shown = Some(ShownPlot {
                    choice,
                    curves,
                    labels: PlotLabels {
                        title: format!("{}: {shown} cycles, {nok} NOK", choice.program.name()),
                        x_axis: format!("{x} ({x_unit})"),
                        y_axis: format!("{y} ({y_unit})"),
                    },
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
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.poll_loading();
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.view, AppView::Curves, "Curves");
                ui.selectable_value(&mut self.view, AppView::Clusters, "Clusters");
            });
            ui.separator();
            match self.view {
                AppView::Curves => self.curves_ui(ui),
                AppView::Clusters => self.clusters.ui(ui),
            }
        });
    }
}
