//! The explorer's "Line dashboard" (folded by default; databases with the manufacturing
//! template's tables): a tile per station — the line's state and batch, cycles and OK % of the
//! last hour and shift, NOK by failure kind, the last alarm — the NOK rate per station × hour
//! of the last day as coloured cells, and the last day's batches (cycles, span, OK %)
//! (`Connection::line_dashboard`). While open it reads again every 30 s (the interval can be
//! changed, reading paused); on the I/O runtime, so a frame never waits, and the age of what
//! is shown is always said. A read still running when the next is due is cancelled (its
//! server query killed) and the new one started. A tile, a cell or a batch is one click from
//! its curves ([`Drill`]). Which stations are shown and the interval are kept per database and
//! can be exported to and imported from a JSON file.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::file_dialog::{DialogKind, FileDialog, PathField};
use super::widgets::outcome_ui;
use crate::render::plot::{TimeZoneChoice, format_instant};
use crate::source::clickhouse::Connection;
use crate::source::clickhouse::dashboard::{BatchSummary, LineDashboard, StationTile};

type Answer = Result<LineDashboard, String>;

/// The curves behind something clicked on the dashboard: process curves where each label
/// equals its value, cycle times from `from_secs` to `to_secs` (both included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drill {
    pub equals: Vec<(String, String)>,
    pub from_secs: i64,
    pub to_secs: i64,
}

/// A dashboard as the user set it up: what is saved, exported and imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardSettings {
    pub interval_secs: u32,
    /// Stations shown (none: all).
    #[serde(default)]
    pub stations: Vec<String>,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self {
            interval_secs: 30,
            stations: Vec::new(),
        }
    }
}

impl DashboardSettings {
    fn shows(&self, station: &str) -> bool {
        self.stations.is_empty() || self.stations.iter().any(|s| s == station)
    }

    /// Write the settings as JSON.
    pub fn export(&self, path: &std::path::Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Read settings written by [`Self::export`].
    pub fn import(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let settings: Self = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a Lyceum dashboard: {e}", path.display()))?;
        if !(5..=3600).contains(&settings.interval_secs) {
            return Err(format!(
                "{}: the interval must be 5 to 3600 s, not {}",
                path.display(),
                settings.interval_secs
            ));
        }
        Ok(settings)
    }
}

/// The read in flight.
struct Reading {
    generation: u64,
    cancel: CancellationToken,
}

pub struct DashboardPanel {
    database: String,
    settings: DashboardSettings,
    paused: bool,
    /// When the last read was asked for.
    asked: Option<Instant>,
    reading: Option<Reading>,
    generation: u64,
    /// Reads cancelled because the next one came first.
    superseded: u64,
    shown: Option<(Answer, Instant)>,
    file: String,
    file_dialog: Option<FileDialog>,
    file_outcome: Option<Result<String, String>>,
    sender: SyncSender<(u64, Answer)>,
    inbox: Receiver<(u64, Answer)>,
}

impl Default for DashboardPanel {
    fn default() -> Self {
        let (sender, inbox) = sync_channel(4);
        Self {
            database: String::new(),
            settings: DashboardSettings::default(),
            paused: false,
            asked: None,
            reading: None,
            generation: 0,
            superseded: 0,
            shown: None,
            file: String::new(),
            file_dialog: None,
            file_outcome: None,
            sender,
            inbox,
        }
    }
}

impl std::fmt::Debug for DashboardPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardPanel")
            .field("settings", &self.settings)
            .field("paused", &self.paused)
            .finish_non_exhaustive()
    }
}

/// Green at 0 % NOK to red at 10 % NOK and beyond.
fn nok_colour(nok_share: f64) -> egui::Color32 {
    let t = (nok_share / 0.1).clamp(0.0, 1.0) as f32;
    egui::Color32::from_rgb((60.0 + 180.0 * t) as u8, (170.0 - 110.0 * t) as u8, 70)
}

fn time_of_day(secs: i64) -> String {
    format_instant(secs as f64, TimeZoneChoice::Utc, "%m-%d %H:%M")
}

/// Where a database's dashboard settings live in egui's persisted memory.
fn settings_id(database: &str) -> egui::Id {
    egui::Id::unique(("lyceum dashboard", database))
}

impl DashboardPanel {
    /// Follow the explorer to `database`: its saved settings come back.
    fn open(&mut self, ctx: &egui::Context, database: &str) {
        if self.database == database {
            return;
        }
        self.database = database.to_owned();
        self.settings = ctx
            .data_mut(|d| d.get_persisted::<DashboardSettings>(settings_id(database)))
            .unwrap_or_default();
        self.shown = None;
        self.asked = None;
        if let Some(reading) = self.reading.take() {
            reading.cancel.cancel();
        }
    }

    fn save(&self, ctx: &egui::Context) {
        let settings = self.settings.clone();
        ctx.data_mut(|d| d.insert_persisted(settings_id(&self.database), settings));
    }

    fn receive(&mut self) {
        while let Ok((generation, answer)) = self.inbox.try_recv() {
            if self.reading.as_ref().map(|r| r.generation) != Some(generation) {
                // A read cancelled for a newer one.
                continue;
            }
            self.reading = None;
            if let Err(e) = &answer {
                tracing::warn!(error = %e, "the line dashboard was not read");
            }
            self.shown = Some((answer, Instant::now()));
        }
    }

    /// Start a read; one still running is cancelled first.
    fn read(&mut self, ctx: &egui::Context, runtime: &tokio::runtime::Handle, c: &Connection) {
        if let Some(old) = self.reading.take() {
            old.cancel.cancel();
            self.superseded += 1;
            tracing::info!("a dashboard read still running was cancelled for the next");
        }
        self.generation += 1;
        let (generation, cancel) = (self.generation, CancellationToken::new());
        self.reading = Some(Reading {
            generation,
            cancel: cancel.clone(),
        });
        self.asked = Some(Instant::now());
        let (c, database) = (c.clone(), self.database.clone());
        super::spawn_answer(
            runtime,
            ctx,
            &self.sender,
            async move {
                let read = c.line_dashboard(&database, Some(&cancel)).await;
                (generation, read.map_err(|e| e.to_string()))
            },
            move |panic| {
                (
                    generation,
                    Err(format!("reading the dashboard stopped: {panic}")),
                )
            },
        );
    }

    /// The section for `database`; returns the curves the user clicked into.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
        database: &str,
    ) -> Option<Drill> {
        let ctx = ui.ctx().clone();
        self.open(&ctx, database);
        self.receive();
        let mut drill = None;
        egui::CollapsingHeader::new("Line dashboard")
            .id_salt("line dashboard")
            .show(ui, |ui| {
                let interval =
                    Duration::from_secs(u64::from(self.settings.interval_secs.clamp(5, 3600)));
                let due = self.asked.is_none_or(|at| at.elapsed() >= interval);
                let mut now = false;
                ui.horizontal_wrapped(|ui| {
                    let label = ui.label("Read every");
                    let changed = ui
                        .add(egui::DragValue::new(&mut self.settings.interval_secs).range(5..=3600))
                        .labelled_by(label.id)
                        .changed();
                    if changed {
                        self.save(&ctx);
                    }
                    ui.label("s");
                    ui.checkbox(&mut self.paused, "Paused");
                    now = ui.button("Read now").clicked();
                });
                if now || (due && !self.paused) {
                    self.read(&ctx, runtime, connection);
                }
                ui.horizontal_wrapped(|ui| {
                    if self.reading.is_some() {
                        ui.spinner();
                        ui.weak("reading…");
                    }
                    if let Some((_, at)) = &self.shown {
                        ui.weak(format!("read {} s ago", at.elapsed().as_secs()));
                    }
                    if self.superseded > 0 {
                        ui.weak(format!(
                            "{} slow read(s) cancelled for the next",
                            self.superseded
                        ))
                        .on_hover_text(
                            "A read still running when the next was due was stopped on the \
                             server; try a longer interval",
                        );
                    }
                });
                // The age line and the next read need frames while open.
                ctx.request_repaint_after(Duration::from_secs(1));
                self.settings_ui(ui);
                match &self.shown {
                    None => {}
                    Some((Err(e), _)) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    Some((Ok(dashboard), _)) => {
                        drill = dashboard_ui(ui, dashboard, &self.settings);
                    }
                }
            });
        drill
    }

    /// Which stations are shown, and the settings to and from a JSON file.
    fn settings_ui(&mut self, ui: &mut egui::Ui) {
        let stations: Vec<String> = match &self.shown {
            Some((Ok(dashboard), _)) => dashboard.tiles.iter().map(|t| t.station.clone()).collect(),
            _ => Vec::new(),
        };
        let mut changed = false;
        ui.horizontal_wrapped(|ui| {
            let title = if self.settings.stations.is_empty() {
                "All stations".to_owned()
            } else {
                format!("{} stations", self.settings.stations.len())
            };
            ui.menu_button(title, |ui| {
                if ui.button("All").clicked() {
                    self.settings.stations.clear();
                    changed = true;
                }
                for station in &stations {
                    let mut on = self.settings.stations.contains(station);
                    if ui.checkbox(&mut on, station).changed() {
                        if on {
                            self.settings.stations.push(station.clone());
                        } else {
                            self.settings.stations.retain(|s| s != station);
                        }
                        changed = true;
                    }
                }
            });
            PathField {
                label: "Dashboard file",
                hint: "/path/dashboard.json",
                width: 180.0,
                kind: DialogKind::SaveFile(&["json"]),
            }
            .ui(ui, &mut self.file, &mut self.file_dialog);
            let path = PathBuf::from(self.file.trim());
            let named = !self.file.trim().is_empty();
            if ui
                .add_enabled(named, egui::Button::new("Export dashboard"))
                .clicked()
            {
                self.file_outcome = Some(
                    self.settings
                        .export(&path)
                        .map(|()| format!("Dashboard written to {}.", path.display())),
                );
            }
            if ui
                .add_enabled(named, egui::Button::new("Import dashboard"))
                .clicked()
            {
                self.file_outcome = Some(DashboardSettings::import(&path).map(|settings| {
                    self.settings = settings;
                    changed = true;
                    format!("Dashboard read from {}.", path.display())
                }));
            }
        });
        outcome_ui(ui, self.file_outcome.as_ref());
        if changed {
            self.save(ui.ctx());
        }
    }
}

fn dashboard_ui(
    ui: &mut egui::Ui,
    dashboard: &LineDashboard,
    settings: &DashboardSettings,
) -> Option<Drill> {
    let Some(now) = dashboard.now_secs else {
        ui.weak("No cycles in this database yet.");
        return None;
    };
    let mut drill = None;
    ui.label(format!(
        "Newest cycle {} UTC. Click a tile, a cell or a batch for its curves.",
        time_of_day(now)
    ));
    ui.horizontal_wrapped(|ui| {
        for tile in dashboard
            .tiles
            .iter()
            .filter(|t| settings.shows(&t.station))
        {
            if tile_ui(ui, tile) {
                drill = Some(Drill {
                    equals: vec![("station".to_owned(), tile.station.clone())],
                    from_secs: now - 3600,
                    to_secs: now,
                });
            }
        }
    });
    ui.strong("NOK per station and hour, last day (UTC)");
    let mut stations: Vec<&str> = dashboard
        .heatmap
        .iter()
        .map(|c| c.0.as_str())
        .filter(|s| settings.shows(s))
        .collect();
    stations.dedup();
    // One column per hour that has cycles anywhere, so a station's quiet hour stays a gap.
    let mut hours: Vec<i64> = dashboard.heatmap.iter().map(|c| c.1).collect();
    hours.sort_unstable();
    hours.dedup();
    for station in stations {
        ui.horizontal(|ui| {
            ui.add_sized([70.0, 14.0], egui::Label::new(station));
            for hour in &hours {
                let (rect, response) =
                    ui.allocate_exact_size(egui::vec2(12.0, 14.0), egui::Sense::click());
                let Some((_, _, count)) = dashboard
                    .heatmap
                    .iter()
                    .find(|c| c.0 == station && c.1 == *hour)
                else {
                    continue;
                };
                let nok = count.judged - count.passed;
                let share = nok as f64 / count.judged.max(1) as f64;
                ui.painter().rect_filled(rect, 1.0, nok_colour(share));
                let text = format!(
                    "{station} {}: {nok} NOK of {} ({:.1} %)",
                    time_of_day(*hour),
                    count.judged,
                    100.0 * share
                );
                response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &text));
                if response.on_hover_text(&text).clicked() {
                    drill = Some(Drill {
                        equals: vec![("station".to_owned(), station.to_owned())],
                        from_secs: *hour,
                        to_secs: hour + 3599,
                    });
                }
            }
        });
    }
    if !dashboard.batches.is_empty() {
        ui.strong("Batches, last day");
        if let Some(batch) = batches_ui(ui, &dashboard.batches) {
            drill = Some(Drill {
                equals: vec![("line".to_owned(), batch.line.clone())],
                from_secs: batch.start_secs,
                to_secs: batch.end_secs - 1,
            });
        }
    }
    drill
}

/// The batches as rows; returns the one whose curves were asked for.
fn batches_ui<'a>(ui: &mut egui::Ui, batches: &'a [BatchSummary]) -> Option<&'a BatchSummary> {
    let mut chosen = None;
    egui::Grid::new("dashboard batches")
        .striped(true)
        .show(ui, |ui| {
            for title in ["line", "batch", "from – to (UTC)", "cycles", "OK", ""] {
                ui.strong(title);
            }
            ui.end_row();
            for batch in batches {
                ui.label(&batch.line);
                ui.label(&batch.batch);
                let to = if batch.running {
                    "running".to_owned()
                } else {
                    time_of_day(batch.end_secs)
                };
                ui.label(format!("{} – {to}", time_of_day(batch.start_secs)));
                ui.label(batch.cycles.judged.to_string());
                ui.label(format!("{:.1} %", batch.cycles.percent()));
                if ui
                    .small_button(format!("Curves of {}", batch.batch))
                    .clicked()
                {
                    chosen = Some(batch);
                }
                ui.end_row();
            }
        });
    chosen
}

/// A station's tile; true when clicked (its last hour's curves).
fn tile_ui(ui: &mut egui::Ui, tile: &StationTile) -> bool {
    let response = ui
        .group(|ui| {
            ui.set_width(230.0);
            ui.vertical(|ui| {
                ui.strong(format!(
                    "{} · {}",
                    tile.station,
                    tile.state.as_deref().unwrap_or("state unknown")
                ));
                if let Some(batch) = &tile.batch {
                    ui.weak(format!("batch {batch}"));
                }
                for (name, count) in [("last hour", tile.hour), ("shift", tile.shift)] {
                    ui.label(format!(
                        "{name}: {} cycle{}, {:.1} % OK",
                        count.judged,
                        if count.judged == 1 { "" } else { "s" },
                        count.percent()
                    ));
                }
                if !tile.nok_by_failure.is_empty() {
                    let kinds: Vec<String> = tile
                        .nok_by_failure
                        .iter()
                        .take(3)
                        .map(|(kind, n)| format!("{kind} {n}"))
                        .collect();
                    ui.label(format!("NOK: {}", kinds.join(", ")));
                }
                if let Some((at, message)) = &tile.last_alarm {
                    ui.weak(format!("last alarm {}: {message}", time_of_day(*at)));
                }
            });
        })
        .response
        .interact(egui::Sense::click())
        .on_hover_text(format!("{}: the last hour's curves", tile.station));
    let label = format!("Tile {}", tile.station);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
    response.clicked()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_go_to_a_file_and_come_back_checked() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("dash.json");
        let settings = DashboardSettings {
            interval_secs: 60,
            stations: vec!["L1-S01".to_owned()],
        };
        assert_eq!(settings.export(&path), Ok(()));
        assert_eq!(DashboardSettings::import(&path), Ok(settings));
        assert!(DashboardSettings::import(&dir.path().join("none.json")).is_err());
        std::fs::write(&path, r#"{"interval_secs": 1}"#).unwrap_or_else(|e| panic!("{e}"));
        let refused = DashboardSettings::import(&path).err().unwrap_or_default();
        assert!(refused.contains("5 to 3600"), "{refused}");
        std::fs::write(&path, "not json").unwrap_or_else(|e| panic!("{e}"));
        assert!(DashboardSettings::import(&path).is_err());
    }
}
