//! The window's frame around the views: the tile layout ([`Pane`], one per view, as tabs the
//! user can drag apart into splits, through `egui_tiles`), the keyboard shortcuts and their
//! help window, the status bar's text, and the panels' frames ([`panel_frame`]).
//! What each pane draws is the view's own (`*_ui`); the shell only routes.

use serde::{Deserialize, Serialize};

use super::clusters::ClustersPanel;
use super::connections::ConnectionsPanel;
use super::datasets::DatasetsPanel;
use super::demo::DemoPanel;
use super::widgets::{counted, grouped};
use crate::render::plot::DecimationTiming;

/// One view of the app, placed in the tile layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pane {
    /// The embedded demo plant.
    Curves,
    Datasets,
    Connections,
    Explorer,
    /// SQL and the query builder over the explored server.
    Sql,
    Clusters,
}

impl Pane {
    /// Every pane, in the order of the default tabs and of the Ctrl + number shortcuts.
    pub const ALL: [Self; 6] = [
        Self::Curves,
        Self::Datasets,
        Self::Connections,
        Self::Explorer,
        Self::Sql,
        Self::Clusters,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::Curves => "Curves",
            Self::Datasets => "Datasets",
            Self::Connections => "Connections",
            Self::Explorer => "Explorer",
            Self::Sql => "SQL",
            Self::Clusters => "Clusters",
        }
    }
}

/// The layout a new user sees: every view as a tab, the demo plant in front.
pub fn default_tree() -> egui_tiles::Tree<Pane> {
    egui_tiles::Tree::new_tabs(egui::Id::unique("lyceum views"), Pane::ALL.to_vec())
}

/// A layout restored from storage, if it still holds every view exactly once.
pub fn checked_tree(tree: egui_tiles::Tree<Pane>) -> Option<egui_tiles::Tree<Pane>> {
    let mut panes: Vec<Pane> = tree
        .tiles
        .tiles()
        .filter_map(|tile| match tile {
            egui_tiles::Tile::Pane(pane) => Some(*pane),
            egui_tiles::Tile::Container(_) => None,
        })
        .collect();
    panes.sort_by_key(|pane| Pane::ALL.iter().position(|p| p == pane));
    (panes == Pane::ALL && tree.root().is_some()).then_some(tree)
}

/// Bring `pane` to the front of whatever tabs hold it.
pub fn show_pane(tree: &mut egui_tiles::Tree<Pane>, pane: Pane) {
    tree.make_active(|_, tile| matches!(tile, egui_tiles::Tile::Pane(p) if *p == pane));
}

/// The panes in front: shown now, not behind another tab.
pub fn front_panes(tree: &egui_tiles::Tree<Pane>) -> Vec<Pane> {
    tree.active_tiles()
        .iter()
        .filter_map(|id| tree.tiles.get_pane(id).copied())
        .collect()
}

/// The views, borrowed for one frame of the tile layout.
#[derive(Debug)]
pub struct Views<'a> {
    pub demo: &'a mut DemoPanel,
    pub datasets: &'a mut DatasetsPanel,
    pub connections: &'a mut ConnectionsPanel,
    pub clusters: &'a mut ClustersPanel,
}

impl egui_tiles::Behavior<Pane> for Views<'_> {
    fn pane_ui(
        &mut self,
        ui: &mut egui::Ui,
        _tile_id: egui_tiles::TileId,
        pane: &mut Pane,
    ) -> egui_tiles::UiResponse {
        egui::Frame::new()
            .inner_margin(6.0)
            .show(ui, |ui| match pane {
                Pane::Curves => self.demo.ui(ui),
                Pane::Datasets => {
                    let target = self.connections.import_target();
                    self.datasets.ui(ui, target.as_ref());
                }
                Pane::Connections => self.connections.ui(ui),
                Pane::Explorer => self.connections.explorer_ui(ui),
                Pane::Sql => self.connections.sql_ui(ui),
                Pane::Clusters => self.clusters.ui(ui),
            });
        egui_tiles::UiResponse::None
    }

    fn tab_title_for_pane(&mut self, pane: &Pane) -> egui::WidgetText {
        pane.title().into()
    }

    fn simplification_options(&self) -> egui_tiles::SimplificationOptions {
        egui_tiles::SimplificationOptions {
            // A lone view still shows its tab: the user can drag it back.
            all_panes_must_have_tabs: true,
            ..egui_tiles::SimplificationOptions::default()
        }
    }
}

/// What the app does on a shortcut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    Help,
    ToggleTheme,
    ToggleSources,
    Show(Pane),
}

/// Every shortcut with its keys and what it does, for the handler and the help window.
fn shortcuts() -> Vec<(egui::KeyboardShortcut, Shortcut)> {
    use egui::{Key, KeyboardShortcut, Modifiers};
    let mut all = vec![
        (
            KeyboardShortcut::new(Modifiers::NONE, Key::F1),
            Shortcut::Help,
        ),
        (
            KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::T),
            Shortcut::ToggleTheme,
        ),
        (
            KeyboardShortcut::new(Modifiers::COMMAND, Key::B),
            Shortcut::ToggleSources,
        ),
    ];
    let keys = [
        Key::Num1,
        Key::Num2,
        Key::Num3,
        Key::Num4,
        Key::Num5,
        Key::Num6,
    ];
    for (key, pane) in keys.into_iter().zip(Pane::ALL) {
        all.push((
            KeyboardShortcut::new(Modifiers::COMMAND, key),
            Shortcut::Show(pane),
        ));
    }
    all
}

/// The shortcuts pressed this frame (consumed, so no widget also sees them).
pub fn pressed_shortcuts(ctx: &egui::Context) -> Vec<Shortcut> {
    ctx.input_mut(|input| {
        shortcuts()
            .into_iter()
            .filter(|(keys, _)| input.consume_shortcut(keys))
            .map(|(_, action)| action)
            .collect()
    })
}

/// Mouse gestures in a plot and keys of one view, for the help window.
const PLOT_GESTURES: [(&str, &str); 11] = [
    ("Ctrl + Enter in SQL", "run the statement under the cursor"),
    ("Wheel", "zoom at the pointer"),
    ("Shift + wheel", "zoom x only"),
    ("Drag", "pan"),
    ("Right-drag", "zoom into a box"),
    ("Drag on an axis", "zoom that axis"),
    ("Double-click", "reset the view to the curves shown"),
    ("Click", "select the curve under the pointer"),
    (
        "Shift + click / Shift + drag",
        "add a curve / every curve through a box",
    ),
    ("Esc", "clear the selection"),
    (
        "A / B over a plot",
        "place cursor A / B (Δx, Δy in the details)",
    ),
];

/// The help window: every shortcut and plot gesture.
pub fn help_ui(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Keyboard shortcuts")
        .open(open)
        .resizable(false)
        .collapsible(false)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts").num_columns(2).show(ui, |ui| {
                for (keys, action) in shortcuts() {
                    ui.monospace(ctx.format_shortcut(&keys));
                    ui.label(match action {
                        Shortcut::Help => "this help".to_owned(),
                        Shortcut::ToggleTheme => "dark / light theme".to_owned(),
                        Shortcut::ToggleSources => "show / hide the sources panel".to_owned(),
                        Shortcut::Show(pane) => format!("show {}", pane.title()),
                    });
                    ui.end_row();
                }
                for (gesture, action) in PLOT_GESTURES {
                    ui.monospace(gesture);
                    ui.label(action);
                    ui.end_row();
                }
            });
        });
}

/// What the status bar says, gathered by the app each frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusLine {
    pub server: Option<String>,
    pub fetched: Option<super::explorer::RunStats>,
    pub decimation: Option<DecimationTiming>,
    /// CPU time of the last frame's UI code, seconds.
    pub frame_cpu_secs: Option<f32>,
    /// Which renderer draws the curves, and why the CPU where it does.
    pub renderer: String,
    /// The graphics adapter, as wgpu names it.
    pub adapter: Option<String>,
    /// More on the renderer than its line holds (why the driver cannot run the GPU path).
    pub renderer_note: Option<String>,
}

/// Whether the status bar has room for another part: a truncated label still takes its "…"
/// and a separator its gap, so on a narrow window the parts that do not fit are left out
/// rather than run past its edge.
fn room_for_more(ui: &egui::Ui) -> bool {
    ui.available_width() > 48.0
}

/// A panel's `frame`, without its fill where what lies under it is the panel fill already
/// (`unfilled`): a root panel where the window is cleared to it, a panel inside a pane. The
/// root panels' fills are the whole window over again, which a software adapter shades on
/// the CPU (about a third of eframe's paint of a 1,600 × 900 frame on lavapipe). Its contents
/// go in [`panel_contents_ui`].
pub fn panel_frame(frame: egui::Frame, unfilled: bool) -> egui::Frame {
    if unfilled {
        frame.fill(egui::Color32::TRANSPARENT)
    } else {
        frame
    }
}

/// `add_contents` in a panel framed by [`panel_frame`]: where the panel paints no fill, its
/// ui stack still says it lies on the panel fill (what scroll areas fade into).
pub fn panel_contents_ui<R>(
    ui: &mut egui::Ui,
    unfilled: bool,
    add_contents: impl FnOnce(&mut egui::Ui) -> R,
) -> R {
    // A scope either way: the contents' ids (plot memory, scroll offsets) are then the same
    // whether the window is cleared or not.
    let mut contents = egui::UiBuilder::new();
    if unfilled {
        contents = contents.ui_stack_info(
            egui::UiStackInfo::new(egui::UiKind::Frame)
                .with_frame(egui::Frame::NONE.fill(ui.visuals().panel_fill)),
        );
    }
    ui.scope_builder(contents, add_contents).inner
}

/// What a pan by (`columns`, `rows`) uncovered: "15 columns", "1 row", "3 columns and 12
/// rows".
fn uncovered_text((columns, rows): (u32, u32)) -> String {
    match (columns, rows) {
        (columns, 0) => counted(columns as usize, "column"),
        (0, rows) => counted(rows as usize, "row"),
        (columns, rows) => format!(
            "{} and {}",
            counted(columns as usize, "column"),
            counted(rows as usize, "row")
        ),
    }
}

pub fn status_bar_ui(ui: &mut egui::Ui, status: &StatusLine) {
    // One line, always: what does not fit is cut short, so the views never jump in height
    // as timings grow a digit. The most telling parts come first: the timings are cut, not
    // which renderer draws.
    ui.horizontal(|ui| {
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
        ui.label(
            status
                .server
                .clone()
                .unwrap_or_else(|| "No server: demo plant and datasets".to_owned()),
        );
        ui.separator();
        if !room_for_more(ui) {
            return;
        }
        let adapter = format!(
            "Graphics adapter: {}",
            status.adapter.as_deref().unwrap_or("none")
        );
        ui.label(&status.renderer)
            .on_hover_text(match &status.renderer_note {
                Some(note) => format!("{adapter}\nOn the CPU: {note}"),
                None => adapter,
            });
        if let Some(run) = status.fetched
            && room_for_more(ui)
        {
            ui.separator();
            ui.label(format!(
                "Fetched {} rows, {:.1} MB in {:.0} ms",
                grouped(run.rows),
                run.bytes as f64 / 1e6,
                run.elapsed.as_secs_f64() * 1e3
            ));
        }
        if let Some(d) = status.decimation
            && room_for_more(ui)
        {
            ui.separator();
            let (verb, hover) = if d.drawn_on_cpu {
                (
                    "Decimated and drawn",
                    "The CPU renderer decimates each shown curve as it draws it.",
                )
            } else {
                (
                    "Decimated",
                    "The GPU path decimates every loaded curve, hidden ones too, so showing \
                     or hiding curves needs no new pass.",
                )
            };
            match d.panned {
                Some(moved) => ui
                    .label(format!(
                        "Panned: drew the {} that came into view, {} of {} in {:.1} ms",
                        uncovered_text(moved),
                        counted(d.points_out, "point"),
                        counted(d.curves, "curve"),
                        d.elapsed.as_secs_f64() * 1e3
                    ))
                    .on_hover_text(
                        "A pan by whole pixels keeps the picture of what stays in view and draws \
                         only the columns and rows it uncovers: the same pixels as drawing it \
                         all.",
                    ),
                // Every sample in view is at most a few per column: M4 keeps them all.
                None if d.points_out == d.points_in => ui
                    .label(format!(
                        "{verb} {}: all {} kept in {:.1} ms",
                        counted(d.curves, "curve"),
                        counted(d.points_out, "point"),
                        d.elapsed.as_secs_f64() * 1e3
                    ))
                    .on_hover_text(hover),
                None => ui
                    .label(format!(
                        "{verb} {}: {} to {} in {:.1} ms",
                        counted(d.curves, "curve"),
                        grouped(d.points_in as u64),
                        counted(d.points_out, "point"),
                        d.elapsed.as_secs_f64() * 1e3
                    ))
                    .on_hover_text(hover),
            };
        }
        if let Some(cpu) = status.frame_cpu_secs
            && room_for_more(ui)
        {
            ui.separator();
            ui.label(format!("UI {:.1} ms per frame", cpu * 1e3))
                .on_hover_text(
                    "The UI thread's time for the last frame: layout and tessellation. Painting \
                     it is not counted: the GPU's work, or on a software adapter the driver's \
                     own threads (often more).",
                );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status bar tells a decimation that kept every point, one that thinned them, and
    /// a pan, each in its own words.
    #[test]
    fn the_status_bar_tells_what_the_last_picture_drew() {
        use egui_kittest::kittest::Queryable as _;
        let timing = |points_out, panned| DecimationTiming {
            curves: 5_000,
            points_in: 10_000_000,
            points_out,
            elapsed: std::time::Duration::from_millis(41),
            drawn_on_cpu: true,
            panned,
        };
        for (decimation, text) in [
            (
                timing(10_000_000, None),
                "5,000 curves: all 10,000,000 points kept in 41.0 ms",
            ),
            (
                timing(4_950_000, None),
                "5,000 curves: 10,000,000 to 4,950,000 points",
            ),
            (
                timing(5_000, Some((15, 0))),
                "Panned: drew the 15 columns that came into view",
            ),
            (
                timing(5_000, Some((0, 1))),
                "Panned: drew the 1 row that came into view",
            ),
            (
                timing(5_000, Some((3, 12))),
                "Panned: drew the 3 columns and 12 rows that came into view",
            ),
        ] {
            let status = StatusLine {
                server: None,
                fetched: None,
                decimation: Some(decimation),
                frame_cpu_secs: None,
                renderer: "CPU".into(),
                adapter: None,
                renderer_note: None,
            };
            let harness = egui_kittest::Harness::builder()
                .with_size(egui::vec2(1_600.0, 30.0))
                .build_ui(|ui| status_bar_ui(ui, &status));
            assert!(harness.query_by_label_contains(text).is_some(), "{text}");
        }
    }

    /// On a driver that cannot run the GPU path the renderer's part stays short, so every
    /// part still fits a 1,280-point window; the driver's reason is on hover.
    #[test]
    fn the_renderer_part_leaves_room_and_tells_the_driver_s_limit_on_hover() {
        use egui_kittest::kittest::Queryable as _;
        let status = StatusLine {
            server: None,
            fetched: None,
            decimation: Some(DecimationTiming {
                curves: 10_000,
                points_in: 20_000_000,
                points_out: 20_000_000,
                elapsed: std::time::Duration::from_millis(90),
                drawn_on_cpu: true,
                panned: None,
            }),
            frame_cpu_secs: Some(0.002),
            renderer: "Curves drawn on the CPU (the driver cannot run the GPU path)".into(),
            adapter: Some("llvmpipe (Gl, Cpu)".into()),
            renderer_note: Some(
                "the graphics driver allows 0 storage buffers per shader stage; the curve \
                 renderer needs 6"
                    .into(),
            ),
        };
        let mut harness = egui_kittest::Harness::builder()
            .with_size(egui::vec2(1_280.0, 30.0))
            .build_ui(|ui| status_bar_ui(ui, &status));
        assert!(
            harness
                .query_by_label_contains("UI 2.0 ms per frame")
                .is_some(),
            "the UI time, the last part, left out"
        );
        harness
            .get_by_label_contains("Curves drawn on the CPU")
            .hover();
        // Past egui's tooltip delay.
        harness.run_steps(8);
        assert!(
            harness
                .query_by_label_contains("On the CPU: the graphics driver allows 0 storage")
                .is_some()
        );
    }

    #[test]
    fn a_stored_layout_is_used_only_when_it_holds_every_view_once() {
        assert!(checked_tree(default_tree()).is_some());
        let missing =
            egui_tiles::Tree::new_tabs(egui::Id::unique("t"), vec![Pane::Curves, Pane::Datasets]);
        assert!(checked_tree(missing).is_none());
        let mut twice = Pane::ALL.to_vec();
        twice.push(Pane::Curves);
        assert!(checked_tree(egui_tiles::Tree::new_tabs(egui::Id::unique("t"), twice)).is_none());
        // A split layout (the user dragged a tab aside) is kept.
        let mut tiles = egui_tiles::Tiles::default();
        let left = tiles.insert_pane(Pane::Curves);
        let rest: Vec<_> = Pane::ALL[1..]
            .iter()
            .map(|&pane| tiles.insert_pane(pane))
            .collect();
        let right = tiles.insert_tab_tile(rest);
        let root = tiles.insert_horizontal_tile(vec![left, right]);
        assert!(checked_tree(egui_tiles::Tree::new(egui::Id::unique("t"), root, tiles)).is_some());
    }
}
