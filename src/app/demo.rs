//! The demo plant view (the app's embedded default, no server needed): the plant's process
//! curves, generated on a worker thread so the window opens at once, one program at a time in
//! a [`CurveView`]. [`DemoPanel`] is the view's state.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use super::curve_view::CurveView;
use crate::curves::CurveStore;
use crate::render::style::StyleRequest;
use crate::source::demo::{Plant, PlantConfig, Program};

#[derive(Debug)]
enum DemoState {
    Loading(Receiver<Result<CurveStore, String>>),
    Ready(Arc<CurveStore>),
    Failed(String),
}

/// The demo plant's curves, one program at a time.
#[derive(Debug)]
pub struct DemoPanel {
    state: DemoState,
    /// The program the user picked, and its curves as shown.
    program: Program,
    shown: Option<(Program, CurveView)>,
    error: Option<String>,
}

/// The demo plant's request for `program`: its curves only.
fn demo_request(program: Program) -> StyleRequest {
    StyleRequest {
        filters: vec![("program".to_owned(), program.name().to_owned())],
        ..StyleRequest::default()
    }
}

impl DemoPanel {
    /// Start generating `plant` on a worker thread; a repaint follows when it is ready.
    pub fn generate(ctx: egui::Context, plant: PlantConfig) -> Self {
        let (sender, receiver) = sync_channel(1);
        std::thread::spawn(move || {
            let result = Plant::new(plant)
                .process_curves()
                .map_err(|e| e.to_string());
            if sender.send(result).is_err() {
                tracing::debug!("the demo plant was generated after the app closed");
            }
            ctx.request_repaint();
        });
        Self {
            state: DemoState::Loading(receiver),
            program: Program::Screwdriving,
            shown: None,
            error: None,
        }
    }

    /// The shown view, if the plant is ready.
    pub fn view(&self) -> Option<&CurveView> {
        self.shown.as_ref().map(|(_, view)| view)
    }

    pub fn view_mut(&mut self) -> Option<&mut CurveView> {
        self.shown.as_mut().map(|(_, view)| view)
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

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll_loading();
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
                ui.horizontal(|ui| {
                    ui.label("Program");
                    for program in [Program::Screwdriving, Program::PressFit] {
                        ui.selectable_value(&mut self.program, program, program.name());
                    }
                });
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
