//! The app's own numbers, driven headlessly (an `egui::Context` of 1280 × 800 points running
//! the same [`CurveView`] every view draws with; no GPU: paint callbacks are recorded, not
//! run, so the times are the UI thread's and decimation's, GPU work excluded):
//!
//! - dataset → first complete frame (open, styling, the first decimation drawn), beside
//!   opening alone;
//! - UI-thread time per pan / zoom frame (wheel and drag events), beside an idle frame;
//! - where the memory goes: the store, the GPU path's decimation and GPU buffers, the CPU
//!   renderer's buffers while drawing, and the resident total beside before loading;
//! - with a ClickHouse server holding the demo plant (`--clickhouse URL`): Run → first
//!   complete frame (streamed fetch, first partial curves drawn, then all), beside the
//!   library fetch alone and `curl` of the same `RowBinary` query.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::BenchError;
use crate::app::curve_view::CurveView;
use crate::curves::CurveStore;
use crate::curves::RowMap;
use crate::render::plot::{clear_latest_decimation, latest_decimation};
use crate::render::style::StyleRequest;
use crate::source::demo::{Plant, PlantConfig};

/// Screen of the headless app, points.
const SCREEN: egui::Vec2 = egui::vec2(1280.0, 800.0);
/// Screen of the CPU renderer's pan / zoom case, points.
const CPU_SCREEN: egui::Vec2 = egui::vec2(1600.0, 900.0);
/// Pan / zoom steps timed to their settled CPU picture.
const SETTLE_STEPS: usize = 12;
/// The pan / zoom case's drag, points: across and a little down, as a hand drags.
const DRAG: egui::Vec2 = egui::vec2(40.0, 12.0);
/// Runs of the library's fetch and of `curl`, alternating.
const FETCH_RUNS: usize = 3;
/// Pan / zoom frames measured.
const INTERACTION_FRAMES: usize = 40;

/// One app measurement beside its same-run baseline.
#[derive(Clone, Debug, Serialize)]
pub struct AppRow {
    pub case: String,
    pub value: f64,
    pub unit: &'static str,
    pub baseline: String,
    pub baseline_value: Option<f64>,
    pub note: String,
}

/// A headless frame loop over one view.
struct Screen {
    ctx: egui::Context,
    started: Instant,
    size: egui::Vec2,
    /// Set up as the app is on a software adapter: wheel steps taken whole, no animations.
    software: bool,
    /// When the next frame is due, as eframe schedules it: the soonest repaint asked for, by
    /// a frame (`repaint_delay`: a tooltip's delay, say) or another thread (a worker done).
    repaint_at: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl Screen {
    fn new(size: egui::Vec2) -> Self {
        let repaint_at = Arc::new(std::sync::Mutex::new(None));
        let ctx = egui::Context::default();
        let asked = Arc::clone(&repaint_at);
        ctx.set_request_repaint_callback(move |info| {
            repaint_sooner(&asked, Instant::now() + info.delay);
        });
        Self {
            ctx,
            started: Instant::now(),
            size,
            software: false,
            repaint_at,
        }
    }

    /// Whether eframe would run a frame now.
    fn repaint_due(&self) -> bool {
        self.repaint_due_within(Duration::ZERO)
    }

    /// Whether eframe would run a frame within `horizon` from now.
    fn repaint_due_within(&self, horizon: Duration) -> bool {
        let at = *self
            .repaint_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        at.is_some_and(|at| at <= Instant::now() + horizon)
    }

    /// A screen as the app sets itself up on a software adapter, where it draws curves on
    /// the CPU (`LyceumApp::new`, `raw_input_hook`).
    fn software(size: egui::Vec2) -> Self {
        let screen = Self {
            software: true,
            ..Self::new(size)
        };
        crate::app::software_adapter_style(&screen.ctx);
        screen
    }

    fn input(&self, events: Vec<egui::Event>) -> egui::RawInput {
        let mut raw = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, self.size)),
            time: Some(self.started.elapsed().as_secs_f64()),
            events,
            ..egui::RawInput::default()
        };
        if self.software {
            let line_points = self.ctx.options(|o| o.input_options.line_scroll_speed);
            crate::app::whole_wheel_steps(&mut raw, line_points);
            crate::render::plot::take_plot_wheel(&self.ctx, &mut raw);
        }
        raw
    }

    /// One frame of `view` (layout, interaction, decimation requests, tessellation): its
    /// UI-thread time.
    fn frame(&self, view: &mut CurveView, events: Vec<egui::Event>) -> Duration {
        let started = Instant::now();
        let mut output = self.run(view, events);
        // No renderer takes the font atlas here.
        output.textures_delta.clear();
        let _ = self.ctx.tessellate(output.shapes, output.pixels_per_point);
        started.elapsed()
    }

    /// One egui pass of `view`, its next frame scheduled as eframe would.
    fn run(&self, view: &mut CurveView, events: Vec<egui::Event>) -> egui::FullOutput {
        *self
            .repaint_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        let output = self.ctx.run_ui(self.input(events), |ui| {
            // As in the window: cleared to the panel fill, the root panel unfilled.
            let frame =
                crate::app::shell::panel_frame(egui::Frame::central_panel(ui.style()), true);
            egui::CentralPanel::default().frame(frame).show(ui, |ui| {
                crate::app::shell::panel_contents_ui(ui, true, |ui| view.ui(ui));
            });
        });
        if let Some(viewport) = output.viewport_output.get(&egui::ViewportId::ROOT)
            && let Some(at) = Instant::now().checked_add(viewport.repaint_delay)
        {
            repaint_sooner(&self.repaint_at, at);
        }
        output
    }

    /// Frames until the plot shows a new decimation (the first complete picture), or
    /// `timeout`.
    fn until_drawn(&self, view: &mut CurveView, timeout: Duration) -> bool {
        clear_latest_decimation(&self.ctx);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.frame(view, Vec::new());
            if latest_decimation(&self.ctx).is_some() {
                // The frame that draws it.
                self.frame(view, Vec::new());
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }
}

/// Ask for a frame at `at` unless one is due sooner.
fn repaint_sooner(repaint_at: &std::sync::Mutex<Option<Instant>>, at: Instant) {
    let mut due = repaint_at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *due = Some(due.map_or(at, |due| due.min(at)));
}

/// Resident and peak memory of this process, MB (Linux; `None` elsewhere).
fn memory_mb() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<f64>()
            .ok()
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Start the peak (`VmHWM`) afresh, so the app's peak is not the earlier cases' (Linux;
/// elsewhere the peak stays the process's).
fn reset_peak_memory() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        tracing::debug!(error = %e, "the peak memory was not reset");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Pan and zoom over `view` after its first picture: median and p95 UI-thread ms, and an
/// idle frame's median.
fn interaction(screen: &Screen, view: &mut CurveView) -> (f64, f64, f64) {
    let centre = (screen.size / 2.0).to_pos2();
    let mut idle: Vec<Duration> = (0..10).map(|_| screen.frame(view, Vec::new())).collect();
    idle.sort();
    let mut busy = Vec::with_capacity(INTERACTION_FRAMES);
    screen.frame(view, vec![egui::Event::PointerMoved(centre)]);
    for i in 0..INTERACTION_FRAMES {
        if i % 2 == 0 {
            busy.push(screen.frame(
                view,
                vec![wheel_event(if i % 4 == 0 { 60.0 } else { -50.0 })],
            ));
        } else {
            // A pan of 15 points.
            busy.extend(
                drag_frames(centre, egui::vec2(15.0, 0.0)).map(|events| screen.frame(view, events)),
            );
        }
    }
    busy.sort();
    (
        percentile(&busy, 0.5),
        percentile(&busy, 0.95),
        percentile(&idle, 0.5),
    )
}

/// CPU time of every thread of this process so far (Linux `schedstat`, nanoseconds;
/// `None` elsewhere).
fn process_cpu_time() -> Option<Duration> {
    let mut total_ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total_ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total_ns))
}

/// Pan and zoom on the CPU renderer at [`CPU_SCREEN`]: per step, from the input to the frame
/// that shows the picture drawn for the new view, the wall time and the CPU time of all
/// threads (decimation, rasterising, compositing and the UI thread).
fn cpu_settle_rows(store: Arc<CurveStore>) -> Result<Settled, BenchError> {
    let points = store.point_count();
    let curves = store.len();
    let screen = Screen::software(CPU_SCREEN);
    crate::render::plot::use_cpu_renderer(&screen.ctx, "bench".into());
    let mut view = CurveView::new(
        Arc::clone(&store),
        "cpu bench",
        StyleRequest::default(),
        None,
    )
    .map_err(std::io::Error::other)?;
    // Per step: wall time, CPU time, and the egui frames run (each one eframe paints).
    let settle = |view: &mut CurveView, input: Vec<Vec<egui::Event>>| {
        let (wall, cpu) = (Instant::now(), process_cpu_time());
        let mut frames = input.len();
        for events in input {
            screen.frame(view, events);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        // As eframe does: a frame only when one is due (the worker asks when its picture is
        // ready; egui after input), so the UI thread does not take a core from the workers;
        // until the picture is shown and no frame is due soon (a tooltip's, half a second
        // on, is not counted).
        loop {
            if screen.repaint_due() {
                screen.frame(view, Vec::new());
                frames += 1;
            } else if view.curves().cpu_picture_is_current()
                && !screen.repaint_due_within(SETTLED_HORIZON)
                || Instant::now() > deadline
            {
                break;
            } else {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        let cpu = cpu
            .zip(process_cpu_time())
            .map(|(a, b)| b.saturating_sub(a));
        (wall.elapsed(), cpu, frames)
    };
    settle(&mut view, vec![Vec::new()]);
    let centre = (screen.size / 2.0).to_pos2();
    screen.frame(&mut view, vec![egui::Event::PointerMoved(centre)]);
    let (mut walls, mut cpus, mut frames) = (Vec::new(), Vec::new(), Vec::new());
    let (mut zoom_in_cpus, mut zoom_out_cpus, mut pan_cpus) = (Vec::new(), Vec::new(), Vec::new());
    let pictures_before = view.curves().cpu_pictures_drawn();
    for step in 0..SETTLE_STEPS {
        let (wall, cpu, step_frames) = settle(&mut view, settle_input(step, centre));
        walls.push(wall);
        cpus.extend(cpu);
        match step % 4 {
            0 => zoom_in_cpus.extend(cpu),
            2 => zoom_out_cpus.extend(cpu),
            _ => pan_cpus.extend(cpu),
        }
        frames.push(step_frames);
    }
    let pictures_per_step =
        (view.curves().cpu_pictures_drawn() - pictures_before) as f64 / SETTLE_STEPS as f64;
    walls.sort();
    cpus.sort();
    frames.sort();
    let (fewest_frames, most_frames) = (
        frames.first().copied().unwrap_or(0),
        frames.last().copied().unwrap_or(0),
    );
    let settled_cpu_ms = (!cpus.is_empty()).then(|| percentile(&cpus, 0.5));
    let mean_frames = frames.iter().sum::<usize>() as f64 / frames.len().max(1) as f64;
    let mut rows = vec![AppRow {
        case: "pan / zoom → settled picture, CPU renderer (wall)".into(),
        value: percentile(&walls, 0.5),
        unit: "ms",
        baseline: "—".into(),
        baseline_value: None,
        note: format!(
            "{curves} × {} at {:.0} × {:.0}; median of {SETTLE_STEPS} steps, max {:.1} ms; \
             {pictures_per_step:.2} pictures drawn per step",
            points / curves.max(1),
            CPU_SCREEN.x,
            CPU_SCREEN.y,
            percentile(&walls, 1.0)
        ),
    }];
    if !cpus.is_empty() {
        rows.push(AppRow {
            case: "pan / zoom → settled picture, CPU time".into(),
            value: percentile(&cpus, 0.5),
            unit: "ms",
            baseline: "wall time (median)".into(),
            baseline_value: Some(percentile(&walls, 0.5)),
            note: format!(
                "all threads: decimation, raster, composite, UI; {fewest_frames}–{most_frames} \
                 egui frames per step until none is due within {} ms (a wheel step is one \
                 input frame, taken from egui so that it runs no more; a drag three, after \
                 which egui runs two), each painted by eframe as in the 'egui frame \
                 painted' row",
                SETTLED_HORIZON.as_millis()
            ),
        });
    }
    let mut zoom_cpus = [zoom_in_cpus.as_slice(), &zoom_out_cpus].concat();
    for cpus in [
        &mut zoom_cpus,
        &mut zoom_in_cpus,
        &mut zoom_out_cpus,
        &mut pan_cpus,
    ] {
        cpus.sort();
    }
    if !zoom_in_cpus.is_empty() && !zoom_out_cpus.is_empty() && !pan_cpus.is_empty() {
        rows.push(AppRow {
            case: "zoom → settled picture, CPU time".into(),
            value: percentile(&zoom_cpus, 0.5),
            unit: "ms",
            baseline: "pan (drag across and down)".into(),
            baseline_value: Some(percentile(&pan_cpus, 0.5)),
            note: format!(
                "medians of the {} wheel steps (in: {:.1} ms, out to the whole view: {:.1} ms) \
                 and the {} drags ({:.0} × {:.0} points) of the row above; a drag by whole \
                 pixels keeps the picture still in view and draws only the columns and rows it \
                 uncovers",
                zoom_cpus.len(),
                percentile(&zoom_in_cpus, 0.5),
                percentile(&zoom_out_cpus, 0.5),
                pan_cpus.len(),
                DRAG.x,
                DRAG.y
            ),
        });
    }
    // The same steps with the failed curves highlighted: wide lines over the rest, which
    // a pan moves with the picture and draws only where it uncovers.
    let request = StyleRequest {
        highlight_failed: true,
        ..StyleRequest::default()
    };
    let mut lit_view = CurveView::new(store, "cpu bench highlighted", request, None)
        .map_err(std::io::Error::other)?;
    settle(&mut lit_view, vec![Vec::new()]);
    screen.frame(&mut lit_view, vec![egui::Event::PointerMoved(centre)]);
    let (mut lit_zoom_cpus, mut lit_pan_cpus) = (Vec::new(), Vec::new());
    for step in 0..8 {
        let (_, cpu, _) = settle(&mut lit_view, settle_input(step, centre));
        match step % 2 {
            0 => lit_zoom_cpus.extend(cpu),
            _ => lit_pan_cpus.extend(cpu),
        }
    }
    lit_zoom_cpus.sort();
    lit_pan_cpus.sort();
    let lit_curves = lit_view
        .curves()
        .styles()
        .iter()
        .filter(|style| style.is_visible() && style.is_highlighted())
        .count();
    if !lit_zoom_cpus.is_empty() && !lit_pan_cpus.is_empty() {
        rows.push(AppRow {
            case: "pan, failed curves highlighted, CPU time".into(),
            value: percentile(&lit_pan_cpus, 0.5),
            unit: "ms",
            baseline: "zoom, the same".into(),
            baseline_value: Some(percentile(&lit_zoom_cpus, 0.5)),
            note: format!(
                "{lit_curves} curves as 2-px wide lines over the rest; medians of {} drags and {} \
                 wheel steps as above; a pan moves the lines' pixels with the picture and draws \
                 them only in the columns and rows it uncovers (and a few columns inside each \
                 side edge)",
                lit_pan_cpus.len(),
                lit_zoom_cpus.len()
            ),
        });
    }
    // Drags deep in the curves: zoomed in two wheel steps, the rows a drag uncovers
    // cut through them (at the whole view they hold none), so the curves reaching them are
    // walked, in the parts of them that may reach them.
    for _ in 0..2 {
        settle(&mut view, vec![vec![wheel_event(60.0)]]);
    }
    let mut deep_pan_cpus = Vec::new();
    for step in 0..6 {
        let by = if step % 2 == 0 { DRAG } else { -DRAG };
        let (_, cpu, _) = settle(&mut view, drag_frames(centre, by).into());
        deep_pan_cpus.extend(cpu);
    }
    deep_pan_cpus.sort();
    if !deep_pan_cpus.is_empty() {
        let timing = latest_decimation(&screen.ctx);
        rows.push(AppRow {
            case: "pan deep in the curves, CPU time".into(),
            value: percentile(&deep_pan_cpus, 0.5),
            unit: "ms",
            baseline: "pan / zoom, median".into(),
            baseline_value: settled_cpu_ms,
            note: format!(
                "zoomed in two wheel steps; median of {} drags ({} × {} points) whose \
                 uncovered rows cut through the curves; the last drew {} points of {} curves \
                 ({})",
                deep_pan_cpus.len(),
                DRAG.x,
                DRAG.y,
                timing.map_or(0, |t| t.points_out),
                timing.map_or(0, |t| t.curves),
                match timing.and_then(|t| t.panned) {
                    Some((columns, rows)) => format!("panned: {columns} columns, {rows} rows"),
                    None => "drawn afresh".into(),
                },
            ),
        });
    }
    let bytes = view.curves().bytes();
    rows.push(AppRow {
        case: "memory: CPU renderer drawing a picture (peak)".into(),
        value: mb(bytes.cpu_working_peak),
        unit: "MB",
        baseline: "the picture and textures kept".into(),
        baseline_value: Some(mb(bytes.cpu_picture)),
        note: format!(
            "{:.0} × {:.0}: per-thread pixel buffers, the pixels kept for the next pan, the \
             composite, the tiles; no decimation buffer (each curve decimated as it is drawn)",
            CPU_SCREEN.x, CPU_SCREEN.y
        ),
    });
    Ok(Settled {
        rows,
        cpu_ms: settled_cpu_ms,
        frames: mean_frames,
    })
}

/// The pan / zoom rows, and what a step in the window adds up from.
struct Settled {
    rows: Vec<AppRow>,
    /// CPU per step to the settled picture (all threads), where the platform tells it.
    cpu_ms: Option<f64>,
    /// egui frames per step (mean: wheel steps run fewer than drags), each painted by eframe.
    frames: f64,
}

/// A pan / zoom step in the window on this adapter: the settled picture's CPU and eframe's
/// painting of each frame the step runs (the present to the screen not included).
fn window_step_row(settled: &Settled, paint_ms: f64) -> AppRow {
    let (value, note) = match settled.cpu_ms {
        Some(cpu_ms) if paint_ms.is_finite() => (
            cpu_ms + settled.frames * paint_ms,
            format!(
                "{cpu_ms:.1} ms to the settled picture (median) + {:.1} frames (mean) × \
                 {paint_ms:.1} ms painted; the present to the screen not included",
                settled.frames
            ),
        ),
        _ => (
            f64::NAN,
            "not measured: no CPU time or no frame painted here".to_owned(),
        ),
    };
    AppRow {
        case: "pan / zoom step in the window, CPU time (sum)".into(),
        value,
        unit: "ms",
        baseline: "the settled picture alone".into(),
        baseline_value: settled.cpu_ms,
        note,
    }
}

/// A frame asked for within this long of a shown picture still belongs to its step.
const SETTLED_HORIZON: Duration = Duration::from_millis(50);

/// Frames painted by egui_wgpu per settled-picture frame.
const PAINT_FRAMES: usize = 10;

/// The settled CPU-renderer view's egui frame painted by egui_wgpu on this machine's adapter,
/// as eframe paints the window: CPU time per frame (all threads: on a software adapter the
/// fragment shading is ours to pay). Beside it the same frame with egui_wgpu's predictable
/// texture filtering, the shader path egui-wgpu 0.37 ran on every frame of a software adapter
/// before our patch (`vendor/egui-wgpu`): its cost is what the patch saves.
fn egui_paint_row(store: Arc<CurveStore>) -> Result<AppRow, BenchError> {
    use crate::render::gpu::HeadlessGpu;
    use crate::render::headless::UiPainter;

    let case = format!(
        "egui frame painted, {:.0} × {:.0} (CPU time)",
        CPU_SCREEN.x, CPU_SCREEN.y
    );
    let gpu = match HeadlessGpu::new() {
        Ok(gpu) => gpu,
        Err(e) => {
            return Ok(AppRow {
                case,
                value: f64::NAN,
                unit: "ms",
                baseline: "—".into(),
                baseline_value: None,
                note: format!("not measured: {e}"),
            });
        }
    };
    let size_px = (CPU_SCREEN.x as u32, CPU_SCREEN.y as u32);
    let options = egui_wgpu::RendererOptions::default();
    let mut painters = [
        UiPainter::new(&gpu, size_px, options),
        UiPainter::new(
            &gpu,
            size_px,
            egui_wgpu::RendererOptions {
                predictable_texture_filtering: true,
                ..options
            },
        ),
    ];
    let screen = Screen::software(CPU_SCREEN);
    crate::render::plot::use_cpu_renderer(&screen.ctx, "bench".into());
    let mut view = CurveView::new(store, "paint bench", StyleRequest::default(), None)
        .map_err(std::io::Error::other)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut settled = false;
    let output = loop {
        let mut output = screen.run(&mut view, Vec::new());
        // Every frame's textures, in order: the font atlas first, then the CPU pictures.
        for painter in &mut painters {
            painter.update_textures(&gpu, &output.textures_delta);
        }
        output.textures_delta.clear();
        // The frame after the picture is ready shows it.
        if settled || Instant::now() > deadline {
            break output;
        }
        settled = view.curves().cpu_picture_is_current();
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut cpu_ms: [Vec<f64>; 2] = Default::default();
    for _ in 0..PAINT_FRAMES {
        // Alternating, so that both see the same machine.
        for (painter, times) in painters.iter_mut().zip(&mut cpu_ms) {
            let before = process_cpu_time();
            painter.paint(
                &gpu,
                &screen.ctx,
                output.shapes.clone(),
                output.pixels_per_point,
                false,
            )?;
            gpu.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            if let Some(spent) = before
                .zip(process_cpu_time())
                .map(|(a, b)| b.saturating_sub(a))
            {
                times.push(ms(spent));
            }
        }
    }
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times.get(times.len() / 2).copied()
    };
    let [app, predictable] = &mut cpu_ms;
    Ok(AppRow {
        case,
        value: median(app).unwrap_or(f64::NAN),
        unit: "ms",
        baseline: "unpatched egui-wgpu's filtering path".into(),
        baseline_value: median(predictable),
        note: format!(
            "{}: the settled CPU view's frame as eframe paints it, median of {PAINT_FRAMES}; \
             frames per input in the pan / zoom row",
            gpu.describe()
        ),
    })
}

/// A wheel step of `delta_y` points.
fn wheel_event(delta_y: f32) -> egui::Event {
    egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, delta_y),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    }
}

/// A drag from `at` by `dx` points, a frame each as a hand makes it: press, move (the pan),
/// release with the pointer back at `at`.
/// Step `step` of the pan / zoom case, over `centre`: zoom in, pan across, zoom out, pan
/// back, so that the view keeps moving over all the curves.
fn settle_input(step: usize, centre: egui::Pos2) -> Vec<Vec<egui::Event>> {
    match step % 4 {
        0 => vec![vec![wheel_event(60.0)]],
        1 => drag_frames(centre, DRAG).into(),
        2 => vec![vec![wheel_event(-60.0)]],
        _ => drag_frames(centre, -DRAG).into(),
    }
}

fn drag_frames(at: egui::Pos2, by: egui::Vec2) -> [Vec<egui::Event>; 3] {
    let to = at + by;
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    [
        vec![button(at, true)],
        vec![egui::Event::PointerMoved(to)],
        vec![button(to, false), egui::Event::PointerMoved(at)],
    ]
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

/// The GPU buffers one plot of `store` holds at `width_px` (every curve decimated for the
/// whole x-range, drawn once on this machine's adapter).
/// What a pan's splice of the GPU path's decimation would cost: the kept points copied (on
/// rayon, into buffers already written once), beside decimating the view afresh; best of 3,
/// alternating.
fn splice_row(store: &CurveStore, width_px: u32) -> AppRow {
    use rayon::prelude::*;
    let map = crate::curves::PixelMap::new(0.0, super::last_x(store), width_px);
    let (mut decimate_best, mut copy_best) = (Duration::MAX, Duration::MAX);
    let mut decimated = crate::curves::Decimated::default();
    let (mut x_copy, mut y_copy) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let started = Instant::now();
        crate::curves::decimate_m4_into(store, &map, &mut decimated);
        decimate_best = decimate_best.min(started.elapsed());
        x_copy.resize(decimated.x_px.len(), 1.0);
        y_copy.resize(decimated.y.len(), 1.0);
        let started = Instant::now();
        for (to, from) in [(&mut x_copy, &decimated.x_px), (&mut y_copy, &decimated.y)] {
            to.par_chunks_mut(1 << 16)
                .zip(from.par_chunks(1 << 16))
                .for_each(|(to, from)| to.copy_from_slice(from));
        }
        copy_best = copy_best.min(started.elapsed());
    }
    AppRow {
        case: "GPU path: a decimation's points copied (a pan's splice)".into(),
        value: ms(copy_best),
        unit: "ms",
        baseline: "decimating the view afresh".into(),
        baseline_value: Some(ms(decimate_best)),
        note: format!(
            "{} points at {width_px} px, best of 3; a pan that kept the columns still in view \
             would copy up to this much",
            decimated.point_count()
        ),
    }
}

fn gpu_buffers_row(store: &CurveStore, width_px: u32) -> AppRow {
    use crate::render::gpu::{
        BaseMode, CurveFrame, CurvePipelines, HeadlessGpu, OFFSCREEN_FORMAT, PlotGpu, render_curves,
    };
    let x_end = super::last_x(store);
    let decimated = Arc::new(crate::curves::decimate_m4(
        store,
        &crate::curves::PixelMap::new(0.0, x_end, width_px),
    ));
    let measured = HeadlessGpu::new().and_then(|gpu| {
        let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
        let mut plot = PlotGpu::new(&gpu.device);
        let styles = Arc::new(super::result_styles(store));
        let frame = CurveFrame::exact(
            Arc::clone(&decimated),
            styles,
            width_px,
            RowMap::new(-1.0, 30.0, 800),
            BaseMode::Lines,
        );
        render_curves(&gpu, &pipelines, &mut plot, &frame, [255; 4])?;
        Ok((plot.buffer_bytes(), gpu.describe()))
    });
    let (value, note) = match measured {
        Ok((bytes, adapter)) => (
            bytes as f64 / 1e6,
            format!("{adapter}: video memory on a discrete GPU, this process's on a software one"),
        ),
        Err(e) => (f64::NAN, format!("not measured: {e}")),
    };
    AppRow {
        case: format!("memory: GPU buffers, every curve at {width_px} px"),
        value,
        unit: "MB",
        baseline: "the decimation's slots it uploads".into(),
        baseline_value: Some(mb(
            (decimated.x_px.len() + decimated.y.len()) * size_of::<f32>()
        )),
        note,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The app table at `scale` (1.0: the 10,000 × 2,000 demo plant), with the ClickHouse rows
/// when `clickhouse` names a server (`http://host:8123/database`) that holds the demo plant.
pub fn run_app(scale: f64, clickhouse: Option<&str>) -> Result<Vec<AppRow>, BenchError> {
    use crate::source::dataset;

    let curves = ((10_000.0 * scale) as usize).max(1);
    reset_peak_memory();
    let before = memory_mb();
    let store = Plant::new(PlantConfig {
        curves,
        samples: 2_000,
        ..PlantConfig::default()
    })
    .process_curves()?;
    let points = store.point_count();
    let mut rows = Vec::new();

    // Dataset → first complete frame.
    let dir = std::env::temp_dir().join(format!("lyceum-bench-app-{}", std::process::id()));
    let options = dataset::SaveOptions {
        name: "bench".into(),
        source: dataset::Source::Demo {
            seed: 42,
            curves,
            samples: 2_000,
        },
        view: dataset::SavedView::default(),
        replace: true,
    };
    dataset::save(&store, &dir, &options)?;
    drop(store);
    let opened_at = Instant::now();
    let opened = dataset::open(&dir)?;
    let open_only = opened_at.elapsed();
    let screen = Screen::new(SCREEN);
    let store = Arc::new(opened.store);
    let mut view = CurveView::new(Arc::clone(&store), "bench", StyleRequest::default(), None)
        .map_err(std::io::Error::other)?;
    let drawn = screen.until_drawn(&mut view, Duration::from_secs(120));
    let first_frame = opened_at.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    rows.push(AppRow {
        case: format!("dataset → first frame ({curves} × 2,000)"),
        value: ms(first_frame),
        unit: "ms",
        baseline: "dataset::open alone".into(),
        baseline_value: Some(ms(open_only)),
        note: if drawn {
            String::new()
        } else {
            "never drawn".into()
        },
    });

    // Pan / zoom: the view must really move (its x-range, before and after, in the note).
    let x_range = |screen: &Screen, view: &CurveView| {
        egui_plot::PlotMemory::load(&screen.ctx, view.curves().id())
            .map(|m| m.transform().bounds().range_x())
            .map_or_else(
                || "?".to_owned(),
                |r| format!("{:.1}–{:.1}", r.start(), r.end()),
            )
    };
    let range_before = x_range(&screen, &view);
    let (median, p95, idle) = interaction(&screen, &mut view);
    let range_after = x_range(&screen, &view);
    rows.push(AppRow {
        case: "pan / zoom frame, UI thread (median)".into(),
        value: median,
        unit: "ms",
        baseline: "idle frame (median)".into(),
        baseline_value: Some(idle),
        note: format!(
            "p95 {p95:.2} ms; x {range_before} → {range_after}; decimation off-thread, GPU excluded"
        ),
    });
    if let Some(timing) = latest_decimation(&screen.ctx) {
        rows.push(AppRow {
            case: format!("decimation on rayon ({points} points)"),
            value: ms(timing.elapsed),
            unit: "ms",
            baseline: "—".into(),
            baseline_value: None,
            note: format!("{} points out", timing.points_out),
        });
    }

    // Memory: where it goes, then the process's total.
    let store_bytes = store.bytes();
    let plot_bytes = view.curves().bytes();
    rows.push(AppRow {
        case: "memory: curve store".into(),
        value: mb(store_bytes.total()),
        unit: "MB",
        baseline: "raw f32 samples".into(),
        baseline_value: Some(mb(points * size_of::<f32>())),
        note: format!(
            "y {:.0} MB, explicit x {:.0} MB, keys / labels / offsets {:.1} MB",
            mb(store_bytes.y),
            mb(store_bytes.x),
            mb(store_bytes.metadata)
        ),
    });
    rows.push(AppRow {
        case: "memory: decimated points (GPU path)".into(),
        value: mb(plot_bytes.decimated),
        unit: "MB",
        baseline: "—".into(),
        baseline_value: None,
        note: "the view on screen: x_px and y per point, buffers kept for reuse; a view change \
               decimates into a second one while this one is shown"
            .into(),
    });
    if let (Some((rss_before, _)), Some((rss, peak))) = (before, memory_mb()) {
        let accounted = mb(store_bytes.total() + plot_bytes.decimated);
        rows.push(AppRow {
            case: "resident memory, curves loaded and drawn".into(),
            value: rss,
            unit: "MB",
            baseline: "before loading".into(),
            baseline_value: Some(rss_before),
            note: format!(
                "peak {peak:.0} MB since the app cases began; store + decimation {accounted:.0} \
                 MB; the rest ({:.0} MB), not accounted here: egui, pages the allocator kept, \
                 code",
                rss - accounted
            ),
        });
    }
    drop(view);
    rows.push(gpu_buffers_row(&store, SCREEN.x as u32));
    // After the memory rows: it holds two more decimations' worth.
    rows.push(splice_row(&store, CPU_SCREEN.x as u32));
    let settled = cpu_settle_rows(Arc::clone(&store))?;
    let paint = egui_paint_row(store)?;
    let window_step = window_step_row(&settled, paint.value);
    rows.extend(settled.rows);
    rows.push(paint);
    rows.push(window_step);

    if let Some(url) = clickhouse {
        // Its own runtime on its own thread: the caller may be inside one (the CLI is).
        let measured = std::thread::scope(|scope| {
            scope
                .spawn(|| clickhouse_rows(url, &screen))
                .join()
                .unwrap_or_else(
                    |_| Err(std::io::Error::other("the ClickHouse run panicked").into()),
                )
        });
        rows.extend(measured?);
    }
    Ok(rows)
}

/// Run → first frame against a server holding the demo plant, beside the library's fetch
/// alone and `curl` of the same query.
fn clickhouse_rows(url: &str, screen: &Screen) -> Result<Vec<AppRow>, BenchError> {
    use crate::source::clickhouse::{CurveQuery, CurveSelection, FetchOptions};

    let other =
        |e: crate::source::clickhouse::ClickHouseError| std::io::Error::other(e.to_string());
    let (runtime, connection, validated) = super::demo_server(url)?;
    let plan = CurveQuery::arrays(&validated, &CurveSelection::default()).map_err(other)?;

    // The library's fetch alone (what `lyceum fetch` does) and `curl` of the same query,
    // alternating, the best of each: whichever ran first would warm the server's caches.
    let sql = plan.sql.display();
    let (mut fetch_runs, mut curl_runs) = (Vec::new(), Vec::new());
    let mut curves = 0;
    for _ in 0..FETCH_RUNS {
        let fetch_started = Instant::now();
        let fetched = runtime
            .block_on(connection.fetch_curves(&plan, FetchOptions::default()))
            .map_err(other)?;
        fetch_runs.push(ms(fetch_started.elapsed()));
        curves = fetched.len();
        drop(fetched);
        curl_runs.extend(curl_ms(&connection.profile().url, &sql));
    }
    let best = |runs: &[f64]| runs.iter().copied().reduce(f64::min);
    let fetch_only = best(&fetch_runs).unwrap_or(f64::NAN);

    // Run → first partial frame → complete frame, as the explorer runs it.
    let started = Instant::now();
    let (partial_sender, mut partial) = tokio::sync::watch::channel(None::<Arc<CurveStore>>);
    let task = {
        let (connection, plan) = (connection.clone(), plan.clone());
        runtime.spawn(async move {
            let options = FetchOptions {
                partial: Some(&partial_sender),
                ..FetchOptions::default()
            };
            connection.fetch_curves(&plan, options).await
        })
    };
    let mut first_partial = None;
    let mut view = None;
    while !task.is_finished() {
        if partial.has_changed().unwrap_or(false)
            && let Some(store) = partial.borrow_and_update().clone()
            && first_partial.is_none()
        {
            let mut partial_view = CurveView::new(store, "run", StyleRequest::default(), None)
                .map_err(std::io::Error::other)?;
            screen.until_drawn(&mut partial_view, Duration::from_secs(60));
            first_partial = Some(started.elapsed());
            view = Some(partial_view);
        }
        if let Some(view) = &mut view {
            screen.frame(view, Vec::new());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let store = runtime
        .block_on(task)
        .map_err(std::io::Error::other)?
        .map_err(other)?;
    let mut view = CurveView::new(Arc::new(store), "run", StyleRequest::default(), None)
        .map_err(std::io::Error::other)?;
    screen.until_drawn(&mut view, Duration::from_secs(120));
    let complete = started.elapsed();

    let mut rows = vec![
        AppRow {
            case: format!("Run → first complete frame ({curves} curves)"),
            value: ms(complete),
            unit: "ms",
            baseline: format!("library fetch alone (`lyceum fetch`), best of {FETCH_RUNS}"),
            baseline_value: Some(fetch_only),
            note: String::new(),
        },
        AppRow {
            case: "Run → first partial curves drawn".into(),
            value: first_partial.map_or(f64::NAN, ms),
            unit: "ms",
            baseline: "complete frame".into(),
            baseline_value: Some(ms(complete)),
            note: String::new(),
        },
    ];
    if let Some(curl_best) = best(&curl_runs) {
        rows.push(AppRow {
            case: format!("curl of the same RowBinary query, best of {FETCH_RUNS}"),
            value: curl_best,
            unit: "ms",
            baseline: format!("library fetch alone, best of {FETCH_RUNS}"),
            baseline_value: Some(fetch_only),
            note: format!(
                "the transport's speed; the library at {:.2}× it; runs alternate",
                curl_best / fetch_only
            ),
        });
    }
    Ok(rows)
}

/// `curl` of `sql` as RowBinary to /dev/null, ms; `None` without curl.
fn curl_ms(base: &str, sql: &str) -> Option<f64> {
    let started = Instant::now();
    let status = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "--data-binary"])
        .arg(format!("{sql} FORMAT RowBinary"))
        .arg(base)
        .status()
        .ok()?;
    status.success().then(|| ms(started.elapsed()))
}

/// The app table, each row beside its baseline.
pub fn app_table(rows: &[AppRow]) -> String {
    let mut out = String::from(
        "app (headless; times: UI thread and decimation, GPU work excluded; memory: GPU buffers too)\n",
    );
    out.push_str(&format!(
        "{:<46} {:>10}   {:<38} {:>10}   note\n",
        "case", "value", "baseline", "baseline"
    ));
    for row in rows {
        let baseline = row
            .baseline_value
            .map_or_else(|| "—".to_owned(), |v| format!("{v:.1} {}", row.unit));
        out.push_str(&format!(
            "{:<46} {:>7.1} {:<2}   {:<38} {:>10}   {}\n",
            row.case, row.value, row.unit, row.baseline, baseline, row.note
        ));
    }
    out
}
