//! The desktop app (eframe + egui_wgpu). [`LyceumApp`] is the window: a menu bar, the sources
//! panel (the demo plant, connections, recent datasets), the views as tiles the user can
//! arrange ([`shell`]: Curves — the embedded demo plant ([`demo`]) —, Datasets ([`datasets`]),
//! Connections ([`connections`]), Explorer ([`explorer`]) and Clusters ([`clusters`]), each
//! drawing its curves through [`curve_view`]), and a status bar (server, what was fetched,
//! decimation and frame time, GPU adapter). Layout, theme, connections (no secrets) and recent
//! datasets persist through eframe's storage. Background work reports over channels with a
//! repaint; [`LyceumApp::ui`] never blocks.

mod activity;
pub mod clusters;
pub mod connections;
pub mod curve_view;
mod dashboard;
pub mod datasets;
pub mod demo;
pub mod explorer;
pub mod export;
pub mod file_dialog;
mod history;
pub mod import;
pub mod quality;
mod recipe;
mod result_table;
pub mod shell;
mod sql;
mod sql_builder;
mod sql_chart;
mod storage;
pub mod time_range;
pub mod widgets;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::render::gpu::GpuErrorSlot;
use crate::render::plot::{CurveRenderResources, plot_decimation};
use crate::source::clickhouse::ConnectionProfile;
use crate::source::demo::PlantConfig;
use curve_view::CurveView;
use shell::{Pane, Shortcut, StatusLine};

/// The app's state kept between sessions (eframe storage): never a secret.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub theme: egui::ThemePreference,
    pub layout: Option<egui_tiles::Tree<Pane>>,
    pub connections: Vec<ConnectionProfile>,
    pub recent_datasets: Vec<PathBuf>,
    /// Tables mapped to curves and saved by name.
    pub sources: Vec<explorer::SavedSource>,
    pub hide_sources: bool,
    /// Where curves are drawn (View ▸ Curves drawn on).
    pub curve_renderer: CurveRenderer,
}

/// Where the window draws its curves (View ▸ Curves drawn on, `--renderer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CurveRenderer {
    /// The CPU on a software adapter (lavapipe, llvmpipe, WARP), where it is several times
    /// faster than the emulated GPU for the same pixels; the GPU elsewhere.
    #[default]
    Automatic,
    Gpu,
    Cpu,
}

/// Where [`tables_changed`] counts in egui's memory.
fn tables_changed_id() -> egui::Id {
    egui::Id::unique("lyceum tables changed")
}

/// A view created or filled a table on a server (an import): every view that lists tables
/// lists them again (they need not know each other).
pub(crate) fn tables_changed(ctx: &egui::Context) {
    ctx.data_mut(|d| *d.get_temp_mut_or_default::<u64>(tables_changed_id()) += 1);
}

/// How often [`tables_changed`] was called: a view lists tables again when it moves.
pub(crate) fn tables_generation(ctx: &egui::Context) -> u64 {
    ctx.data(|d| d.get_temp::<u64>(tables_changed_id()).unwrap_or(0))
}

/// A background job's result once it has arrived: `None` while the job runs, an error made by
/// `stopped` when its worker went away without one.
pub(crate) fn job_result<T>(
    receiver: &std::sync::mpsc::Receiver<Result<T, String>>,
    stopped: impl FnOnce() -> String,
) -> Option<Result<T, String>> {
    match receiver.try_recv() {
        Ok(result) => Some(result),
        Err(std::sync::mpsc::TryRecvError::Empty) => None,
        Err(std::sync::mpsc::TryRecvError::Disconnected) => Some(Err(stopped())),
    }
}

/// Run `work` on `runtime` and hand its output to `deliver`; a panic in `work` is logged and
/// delivered as `on_panic(message)`, so a view never waits for a message that cannot come.
pub(crate) fn spawn_caught<T, W, P, D>(
    runtime: &tokio::runtime::Handle,
    work: W,
    on_panic: P,
    deliver: D,
) where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    P: FnOnce(String) -> T + Send + 'static,
    D: FnOnce(T) + Send + 'static,
{
    let task = runtime.spawn(work);
    runtime.spawn(async move {
        let output = match task.await {
            Ok(output) => output,
            Err(error) => {
                let message = if error.is_panic() {
                    let payload = error.into_panic();
                    payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "an unknown panic".to_owned())
                } else {
                    "the task was cancelled".to_owned()
                };
                tracing::error!(%message, "a background task panicked");
                on_panic(message)
            }
        };
        deliver(output);
    });
}

/// [`spawn_caught`] answering over `sender` with a repaint of `ctx` (a closed view's answer
/// is dropped with a debug line).
pub(crate) fn spawn_answer<T, W, P>(
    runtime: &tokio::runtime::Handle,
    ctx: &egui::Context,
    sender: &std::sync::mpsc::SyncSender<T>,
    work: W,
    on_panic: P,
) where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    P: FnOnce(String) -> T + Send + 'static,
{
    let (sender, ctx) = (sender.clone(), ctx.clone());
    spawn_caught(runtime, work, on_panic, move |answer| {
        if sender.send(answer).is_err() {
            tracing::debug!("a background answer came after its view closed");
        }
        ctx.request_repaint();
    });
}

/// Why curves are drawn on the CPU when the user chose it.
const CPU_CHOSEN: &str = "chosen in View";
const CPU_CHOSEN_ON_THE_COMMAND_LINE: &str = "chosen with --renderer cpu";

/// The storage key of [`Persisted`].
const STORAGE_KEY: &str = "lyceum";

/// The desktop app.
#[derive(Debug)]
pub struct LyceumApp {
    layout: egui_tiles::Tree<Pane>,
    theme: egui::ThemePreference,
    /// Whether `theme` reached egui (at the first frame: whoever built the context may have
    /// set one of their own after the app was created).
    theme_applied: bool,
    show_sources: bool,
    help_open: bool,
    demo: demo::DemoPanel,
    clusters: clusters::ClustersPanel,
    datasets: datasets::DatasetsPanel,
    connections: connections::ConnectionsPanel,
    /// Errors the GPU reported outside any scope (device lost included): shown, never a panic.
    gpu_errors: Option<GpuErrorSlot>,
    /// The last GPU error shown, until dismissed.
    gpu_error: Option<String>,
    /// "lavapipe (Vulkan, Cpu)".
    gpu_adapter: Option<String>,
    /// Whether the GPU curve pipelines were built (the driver runs them).
    gpu_pipelines: bool,
    /// Why the driver cannot run them, in full (the status bar's hover text).
    gpu_unsupported: Option<String>,
    /// Whether the adapter is a software one (the CPU emulating a GPU).
    software_adapter: bool,
    /// Where the user wants curves drawn (kept between sessions).
    curve_renderer: CurveRenderer,
    /// Where that choice was made, for the status bar.
    cpu_chosen_by: &'static str,
    /// The window's context: where plots learn which renderer draws them.
    ctx: egui::Context,
    frame_cpu_secs: Option<f32>,
    /// Whether eframe clears the window to the panel fill ([`eframe::App::clear_color`] was
    /// asked): then the root panels paint no fill of their own.
    window_clears_to_panel_fill: std::cell::Cell<bool>,
}

impl LyceumApp {
    /// The app as the user left it (layout, theme, connections, recent datasets from eframe's
    /// storage), the demo plant generating in the background, the curve renderer registered
    /// with eframe's wgpu state. `data_dir` keeps the embedded control plane's database and
    /// local clusters.
    pub fn new(
        creation: &eframe::CreationContext<'_>,
        plant: PlantConfig,
        data_dir: PathBuf,
    ) -> Self {
        Self::from_storage(creation, plant, data_dir, creation.storage)
    }

    /// [`Self::new`] with the state read from `storage` rather than eframe's.
    pub fn from_storage(
        creation: &eframe::CreationContext<'_>,
        plant: PlantConfig,
        data_dir: PathBuf,
        storage: Option<&dyn eframe::Storage>,
    ) -> Self {
        let persisted = storage
            .and_then(|storage| eframe::get_value::<Persisted>(storage, STORAGE_KEY))
            .unwrap_or_default();
        let mut app = Self::restored(creation.egui_ctx.clone(), plant, data_dir, persisted);
        if let Some(render_state) = &creation.wgpu_render_state {
            let info = render_state.adapter.get_info();
            app.gpu_adapter = Some(format!(
                "{} ({:?}, {:?})",
                info.name, info.backend, info.device_type
            ));
            app.gpu_errors = Some(GpuErrorSlot::install(&render_state.device));
            let compute_shaders = render_state
                .adapter
                .get_downlevel_capabilities()
                .flags
                .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS);
            match crate::render::gpu::pipelines_unsupported(
                &render_state.device.limits(),
                compute_shaders,
            ) {
                // Building the pipelines would fail validation (GL): the CPU draws the curves.
                Some(reason) => {
                    tracing::warn!(adapter = %info.name, backend = ?info.backend, %reason, "the GPU curve renderer cannot run: curves are drawn on the CPU");
                    // The status bar's line stays short; the whole reason is on hover.
                    crate::render::plot::use_cpu_renderer(
                        &creation.egui_ctx,
                        "the driver cannot run the GPU path".to_owned(),
                    );
                    app.gpu_unsupported = Some(reason);
                }
                None => {
                    CurveRenderResources::install(
                        &mut render_state.renderer.write(),
                        &render_state.device,
                        render_state.target_format,
                    );
                    app.gpu_pipelines = true;
                }
            }
            app.software_adapter = info.device_type == wgpu::DeviceType::Cpu;
            if app.software_adapter {
                software_adapter_style(&creation.egui_ctx);
            }
            app.apply_curve_renderer();
        }
        app
    }

    /// Draw curves where `choice` (the command line's `--renderer`) says, from now on and in
    /// later sessions.
    #[must_use]
    pub fn with_curve_renderer(mut self, choice: CurveRenderer) -> Self {
        self.curve_renderer = choice;
        self.cpu_chosen_by = CPU_CHOSEN_ON_THE_COMMAND_LINE;
        self.apply_curve_renderer();
        self
    }

    /// Tell the plots where to draw, from the user's choice and what the adapter can do (a
    /// driver that cannot run the GPU pipelines keeps the CPU whatever the choice).
    fn apply_curve_renderer(&self) {
        let ctx = &self.ctx;
        if !self.gpu_pipelines {
            if self.curve_renderer == CurveRenderer::Cpu {
                crate::render::plot::use_cpu_renderer(ctx, self.cpu_chosen_by.to_owned());
            }
            return;
        }
        match self.curve_renderer {
            CurveRenderer::Cpu => {
                crate::render::plot::use_cpu_renderer(ctx, self.cpu_chosen_by.to_owned());
            }
            CurveRenderer::Automatic if self.software_adapter => {
                tracing::info!("a software adapter: curves are drawn on the CPU");
                crate::render::plot::use_cpu_renderer(
                    ctx,
                    "automatic on a software adapter".to_owned(),
                );
            }
            CurveRenderer::Automatic | CurveRenderer::Gpu => {
                crate::render::plot::use_gpu_renderer(ctx);
            }
        }
    }

    /// The app from `persisted` state, before its first frame.
    pub fn restored(
        ctx: egui::Context,
        plant: PlantConfig,
        data_dir: PathBuf,
        persisted: Persisted,
    ) -> Self {
        let mut datasets = datasets::DatasetsPanel::default();
        datasets.restore_recent(persisted.recent_datasets);
        let mut connections = connections::ConnectionsPanel::default();
        connections.restore(persisted.connections);
        connections.restore_sources(persisted.sources);
        let app = Self {
            layout: persisted
                .layout
                .and_then(shell::checked_tree)
                .unwrap_or_else(shell::default_tree),
            theme: persisted.theme,
            theme_applied: false,
            show_sources: !persisted.hide_sources,
            help_open: false,
            demo: demo::DemoPanel::generate(ctx.clone(), plant),
            clusters: clusters::ClustersPanel::new(data_dir),
            datasets,
            connections,
            gpu_errors: None,
            gpu_error: None,
            gpu_adapter: None,
            gpu_pipelines: false,
            gpu_unsupported: None,
            software_adapter: false,
            curve_renderer: persisted.curve_renderer,
            cpu_chosen_by: CPU_CHOSEN,
            frame_cpu_secs: None,
            window_clears_to_panel_fill: std::cell::Cell::new(false),
            ctx,
        };
        app.apply_curve_renderer();
        app
    }

    /// What the next session starts from.
    pub fn persisted(&self) -> Persisted {
        Persisted {
            theme: self.theme,
            layout: Some(self.layout.clone()),
            connections: self.connections.profiles(),
            recent_datasets: self.datasets.recent().to_vec(),
            sources: self.connections.sources().to_vec(),
            hide_sources: !self.show_sources,
            curve_renderer: self.curve_renderer,
        }
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

    /// A file dropped on the window goes to the Datasets view's import preview (the import
    /// says if it cannot read it); while files hover, the window says what a drop does.
    fn take_dropped_files(&mut self, ctx: &egui::Context) {
        let (dropped, hovering) = ctx.input(|i| {
            let dropped: Vec<PathBuf> = i
                .raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_owned())
                .collect();
            (dropped, !i.raw.hovered_files.is_empty())
        });
        if let Some(path) = dropped.into_iter().next() {
            self.datasets.import_file(ctx, path);
            shell::show_pane(&mut self.layout, Pane::Datasets);
        }
        if hovering {
            let screen = ctx.content_rect();
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("drop overlay"),
            ));
            painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(160));
            painter.text(
                screen.center(),
                egui::Align2::CENTER_CENTER,
                "Drop a CSV, Arrow or Parquet file to preview its curves",
                egui::FontId::proportional(22.0),
                egui::Color32::WHITE,
            );
        }
    }

    fn set_theme(&mut self, ctx: &egui::Context, theme: egui::ThemePreference) {
        self.theme = theme;
        ctx.set_theme(theme);
    }

    fn handle_shortcut(&mut self, ctx: &egui::Context, shortcut: Shortcut) {
        match shortcut {
            Shortcut::Help => self.help_open = !self.help_open,
            Shortcut::ToggleTheme => {
                let next = if ctx.theme() == egui::Theme::Dark {
                    egui::ThemePreference::Light
                } else {
                    egui::ThemePreference::Dark
                };
                self.set_theme(ctx, next);
            }
            Shortcut::ToggleSources => self.show_sources = !self.show_sources,
            Shortcut::Show(pane) => shell::show_pane(&mut self.layout, pane),
        }
    }

    fn menu_bar_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("View", |ui| {
                for pane in Pane::ALL {
                    if ui.button(pane.title()).clicked() {
                        shell::show_pane(&mut self.layout, pane);
                    }
                }
                ui.separator();
                ui.checkbox(&mut self.show_sources, "Sources panel");
                let mut theme = self.theme;
                ui.horizontal(|ui| {
                    ui.label("Theme");
                    ui.selectable_value(&mut theme, egui::ThemePreference::Dark, "Dark");
                    ui.selectable_value(&mut theme, egui::ThemePreference::Light, "Light");
                    ui.selectable_value(&mut theme, egui::ThemePreference::System, "System");
                });
                if theme != self.theme {
                    self.set_theme(ui.ctx(), theme);
                }
                if ui.button("Reset layout").clicked() {
                    self.layout = shell::default_tree();
                }
                self.renderer_ui(ui);
            });
            ui.menu_button("Help", |ui| {
                if ui.button("Keyboard shortcuts").clicked() {
                    self.help_open = true;
                }
            });
        });
    }

    /// View ▸ Curves drawn on: automatic (the CPU on a software adapter), the GPU (where its
    /// pipelines run) or the CPU (the same pixels).
    fn renderer_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label("Curves drawn on");
            let mut choice = self.curve_renderer;
            ui.selectable_value(&mut choice, CurveRenderer::Automatic, "Automatic")
                .on_hover_text("The CPU on a software adapter, else the GPU");
            ui.add_enabled_ui(self.gpu_pipelines, |ui| {
                ui.selectable_value(&mut choice, CurveRenderer::Gpu, "GPU")
                    .on_disabled_hover_text(
                        "This graphics driver cannot run the GPU curve renderer",
                    );
            });
            ui.selectable_value(&mut choice, CurveRenderer::Cpu, "CPU");
            if choice != self.curve_renderer {
                self.curve_renderer = choice;
                self.cpu_chosen_by = CPU_CHOSEN;
                self.apply_curve_renderer();
            }
        });
    }

    /// The sources panel: where curves come from, one click to their view.
    fn sources_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Sources");
        ui.label(egui::RichText::new("Demo").strong());
        if ui
            .add(egui::Button::new("Demo plant").frame(false))
            .clicked()
        {
            shell::show_pane(&mut self.layout, Pane::Curves);
        }
        ui.add_space(6.0);
        ui.label(egui::RichText::new("Servers").strong());
        if let Some(pane) = self.connections.sources_ui(ui) {
            shell::show_pane(&mut self.layout, pane);
        }
        ui.add_space(6.0);
        ui.label(egui::RichText::new("Saved sources").strong());
        match self.connections.saved_sources_ui(ui) {
            Some(true) => shell::show_pane(&mut self.layout, Pane::Explorer),
            Some(false) => shell::show_pane(&mut self.layout, Pane::Connections),
            None => {}
        }
        ui.add_space(6.0);
        ui.label(egui::RichText::new("Recent datasets").strong());
        if self.datasets.sources_ui(ui) {
            shell::show_pane(&mut self.layout, Pane::Datasets);
        }
        if let Some(view) = self.active_view_mut() {
            ui.add_space(6.0);
            ui.label(egui::RichText::new("Curves to stack").strong())
                .on_hover_text("Tick sensors or curves of the view in front to stack them");
            view.stack_sources_ui(ui);
        }
    }

    /// The curve view of the tab in front (demo plant, dataset or explorer run), if any.
    fn active_view_mut(&mut self) -> Option<&mut CurveView> {
        let front = shell::front_panes(&self.layout);
        let pane = [Pane::Explorer, Pane::Datasets, Pane::Curves]
            .into_iter()
            .find(|pane| front.contains(pane))?;
        match pane {
            Pane::Explorer => self
                .connections
                .explorer_mut()
                .and_then(explorer::Explorer::shown_mut),
            Pane::Datasets => self.datasets.view_mut(),
            Pane::Curves => self.demo.view_mut(),
            Pane::Connections | Pane::Sql | Pane::Clusters => None,
        }
    }

    fn status(&mut self, ctx: &egui::Context) -> StatusLine {
        // The tab in front's plot: another tab's drawing may be later.
        let shown_plot = self.active_view_mut().map(|view| view.curves().id());
        let explorer = self.connections.explorer();
        StatusLine {
            server: explorer.map(explorer::Explorer::server),
            fetched: explorer.and_then(explorer::Explorer::last_run),
            decimation: shown_plot.and_then(|plot| plot_decimation(ctx, plot)),
            frame_cpu_secs: self.frame_cpu_secs,
            renderer: match crate::render::plot::cpu_renderer(ctx) {
                Some(reason) => format!("Curves drawn on the CPU ({reason})"),
                None => "Curves drawn on the GPU".to_owned(),
            },
            adapter: self.gpu_adapter.clone(),
            renderer_note: self.gpu_unsupported.clone(),
        }
    }
}

/// The style on a software adapter, where every frame is drawn by the CPU (a tenth to a third
/// of a second for this window on lavapipe): none spent on fading widgets in and out.
pub fn software_adapter_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| style.animation_time = 0.0);
}

/// Wheel steps egui would spread over a dozen frames (lines, pages, large point steps) handed
/// to it as point steps small enough to take at once: the same distance, in one frame.
pub fn whole_wheel_steps(raw_input: &mut egui::RawInput, line_points: f32) {
    // egui applies a point step shorter than 8 points in the frame it arrives.
    const AT_ONCE_POINTS: f32 = 7.5;
    let page_points = raw_input.screen_rect.map_or(800.0, |rect| rect.height());
    for event in std::mem::take(&mut raw_input.events) {
        match event {
            egui::Event::MouseWheel {
                unit,
                delta,
                phase: egui::TouchPhase::Move,
                source,
                modifiers,
            } => {
                let points =
                    crate::render::plot::wheel_points(unit, delta, line_points, page_points);
                let pieces = (points.length() / AT_ONCE_POINTS)
                    .ceil()
                    .clamp(1.0, 1_000.0);
                for _ in 0..pieces as usize {
                    raw_input.events.push(egui::Event::MouseWheel {
                        unit: egui::MouseWheelUnit::Point,
                        delta: points / pieces,
                        phase: egui::TouchPhase::Move,
                        source,
                        modifiers,
                    });
                }
            }
            other => raw_input.events.push(other),
        }
    }
}

impl eframe::App for LyceumApp {
    /// On a software adapter, where each frame costs the CPU dearly, wheel steps are taken
    /// whole rather than smoothed over many frames, and those over a plot by the plot alone
    /// (egui would run two more frames after them).
    fn raw_input_hook(&mut self, ctx: &egui::Context, raw_input: &mut egui::RawInput) {
        if self.software_adapter {
            let line_points = ctx.options(|o| o.input_options.line_scroll_speed);
            whole_wheel_steps(raw_input, line_points);
            crate::render::plot::take_plot_wheel(ctx, raw_input);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.frame_cpu_secs = frame.info().cpu_usage;
        let ctx = ui.ctx().clone();
        if !self.theme_applied {
            self.set_theme(&ctx, self.theme);
            self.theme_applied = true;
        }
        self.poll_gpu_errors(frame);
        self.connections.poll(&ctx);
        for shortcut in shell::pressed_shortcuts(&ctx) {
            self.handle_shortcut(&ctx, shortcut);
        }
        for request in self.clusters.take_requests() {
            match request {
                clusters::AppRequest::Connect {
                    profile,
                    password,
                    explore,
                } => {
                    self.connections
                        .add_connection(&ctx, profile, password, explore);
                    if !explore {
                        shell::show_pane(&mut self.layout, Pane::Connections);
                    }
                }
                clusters::AppRequest::PasswordChanged { account, password } => {
                    self.connections.password_changed(&ctx, &account, password);
                }
            }
        }
        if self.connections.take_explore_request() {
            shell::show_pane(&mut self.layout, Pane::Explorer);
        }
        self.take_dropped_files(&ctx);
        // The window is cleared to the panel fill where eframe has asked for the clear colour
        // and writes it as given (a target that is not sRGB): the root panels then need no
        // fill of their own. egui_kittest never asks, so its snapshots keep the panels' fills.
        let cleared = self.window_clears_to_panel_fill.get()
            && frame
                .wgpu_render_state()
                .is_some_and(|state| !state.target_format.is_srgb());
        let side_frame = shell::panel_frame(egui::Frame::side_top_panel(ui.style()), cleared);
        egui::Panel::top("menu").frame(side_frame).show(ui, |ui| {
            shell::panel_contents_ui(ui, cleared, |ui| self.menu_bar_ui(ui));
        });
        let status = self.status(&ctx);
        egui::Panel::bottom("status")
            .frame(side_frame)
            .show(ui, |ui| {
                shell::panel_contents_ui(ui, cleared, |ui| shell::status_bar_ui(ui, &status));
            });
        if self.show_sources {
            // A floor on the width: a panel sized by its content would change width with
            // whatever it showed while loading, and move every plot by a fraction of a pixel.
            egui::Panel::left("sources")
                .frame(side_frame)
                .resizable(true)
                .default_size(170.0)
                .min_size(170.0)
                .show(ui, |ui| {
                    shell::panel_contents_ui(ui, cleared, |ui| self.sources_ui(ui));
                });
        }
        let central_frame = shell::panel_frame(egui::Frame::central_panel(ui.style()), cleared);
        egui::CentralPanel::default()
            .frame(central_frame)
            .show(ui, |ui| {
                shell::panel_contents_ui(ui, cleared, |ui| {
                    self.gpu_error_ui(ui);
                    let mut views = shell::Views {
                        demo: &mut self.demo,
                        datasets: &mut self.datasets,
                        connections: &mut self.connections,
                        clusters: &mut self.clusters,
                    };
                    self.layout.ui(&mut views, ui);
                });
            });
        shell::help_ui(&ctx, &mut self.help_open);
    }

    /// The panel fill: the root panels then paint none of their own over it.
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        self.window_clears_to_panel_fill.set(true);
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.persisted());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line step, a page step and a large point step come out as point steps egui takes
    /// at once, adding up to the same distance; other events pass untouched.
    #[test]
    fn wheel_steps_are_handed_to_egui_whole() {
        let wheel = |unit, delta| egui::Event::MouseWheel {
            unit,
            delta,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        };
        for (event, points) in [
            (
                wheel(egui::MouseWheelUnit::Line, egui::vec2(0.0, -1.0)),
                egui::vec2(0.0, -40.0),
            ),
            (
                wheel(egui::MouseWheelUnit::Page, egui::vec2(0.0, 0.5)),
                egui::vec2(0.0, 300.0),
            ),
            (
                wheel(egui::MouseWheelUnit::Point, egui::vec2(30.0, 3.0)),
                egui::vec2(30.0, 3.0),
            ),
            (
                wheel(egui::MouseWheelUnit::Point, egui::vec2(0.0, 2.0)),
                egui::vec2(0.0, 2.0),
            ),
        ] {
            let mut raw_input = egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(
                    egui::Pos2::ZERO,
                    egui::vec2(1000.0, 600.0),
                )),
                events: vec![egui::Event::PointerGone, event],
                ..egui::RawInput::default()
            };
            whole_wheel_steps(&mut raw_input, 40.0);
            assert_eq!(raw_input.events[0], egui::Event::PointerGone);
            let mut total = egui::Vec2::ZERO;
            for event in &raw_input.events[1..] {
                let egui::Event::MouseWheel {
                    unit: egui::MouseWheelUnit::Point,
                    delta,
                    ..
                } = event
                else {
                    panic!("not a point step: {event:?}");
                };
                assert!(delta.length() < 8.0, "{delta:?}");
                total += *delta;
            }
            assert!((total - points).length() < 1e-3, "{total:?} for {points:?}");
        }
    }

    #[test]
    fn a_panicking_task_is_delivered_as_a_message() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (sender, receiver) = std::sync::mpsc::sync_channel(2);
        for fail in [false, true] {
            let sender = sender.clone();
            spawn_caught(
                runtime.handle(),
                async move {
                    assert!(!fail, "the decoder met a bad row");
                    "done".to_owned()
                },
                |message| format!("failed: {message}"),
                move |text| sender.send(text).unwrap(),
            );
        }
        let mut got: Vec<String> = (0..2)
            .map(|_| {
                receiver
                    .recv_timeout(std::time::Duration::from_secs(10))
                    .unwrap()
            })
            .collect();
        got.sort();
        assert_eq!(got, ["done", "failed: the decoder met a bad row"]);
    }
}
