//! The explorer's "Line dashboard" (folded by default; databases with the manufacturing
//! template's tables): a tile per station — the line's state and batch, cycles and OK % of the
//! last hour and shift, NOK by failure kind, the last alarm — and the NOK rate per station ×
//! hour of the last day as coloured cells (`Connection::line_dashboard`). While open it reads
//! again every 30 s (the interval can be changed, reading paused); one read at a time, on the
//! I/O runtime, so a frame never waits, and the age of what is shown is always said.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use crate::render::plot::{TimeZoneChoice, format_instant};
use crate::source::clickhouse::Connection;
use crate::source::clickhouse::dashboard::{LineDashboard, StationTile};

type Answer = Result<LineDashboard, String>;

pub struct DashboardPanel {
    interval_secs: u32,
    paused: bool,
    /// When the last read was asked for; whether its answer is awaited.
    asked: Option<Instant>,
    waiting: bool,
    shown: Option<(Answer, Instant)>,
    sender: SyncSender<Answer>,
    inbox: Receiver<Answer>,
}

impl Default for DashboardPanel {
    fn default() -> Self {
        let (sender, inbox) = sync_channel(2);
        Self {
            interval_secs: 30,
            paused: false,
            asked: None,
            waiting: false,
            shown: None,
            sender,
            inbox,
        }
    }
}

impl std::fmt::Debug for DashboardPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardPanel")
            .field("interval_secs", &self.interval_secs)
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

impl DashboardPanel {
    /// The section for `database`.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
        database: &str,
    ) {
        if let Ok(answer) = self.inbox.try_recv() {
            self.waiting = false;
            if let Err(e) = &answer {
                tracing::warn!(error = %e, "the line dashboard was not read");
            }
            self.shown = Some((answer, Instant::now()));
        }
        egui::CollapsingHeader::new("Line dashboard")
            .id_salt("line dashboard")
            .show(ui, |ui| {
                let interval = Duration::from_secs(u64::from(self.interval_secs.max(5)));
                let due = self.asked.is_none_or(|at| at.elapsed() >= interval);
                let mut now = false;
                ui.horizontal(|ui| {
                    let label = ui.label("Read every");
                    ui.add(egui::DragValue::new(&mut self.interval_secs).range(5..=3600))
                        .labelled_by(label.id);
                    ui.label("s");
                    ui.checkbox(&mut self.paused, "Paused");
                    now = ui.button("Read now").clicked();
                    if self.waiting {
                        ui.spinner();
                    }
                    if let Some((_, at)) = &self.shown {
                        ui.weak(format!("read {} s ago", at.elapsed().as_secs()));
                    }
                });
                if (now || (due && !self.paused)) && !self.waiting {
                    self.asked = Some(Instant::now());
                    self.waiting = true;
                    let (c, database) = (connection.clone(), database.to_owned());
                    super::spawn_answer(
                        runtime,
                        ui.ctx(),
                        &self.sender,
                        async move { c.line_dashboard(&database).await.map_err(|e| e.to_string()) },
                        |panic| Err(format!("reading the dashboard stopped: {panic}")),
                    );
                }
                // The age line and the next read need frames while open.
                ui.ctx().request_repaint_after(Duration::from_secs(1));
                match &self.shown {
                    None => {}
                    Some((Err(e), _)) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    Some((Ok(dashboard), _)) => dashboard_ui(ui, dashboard),
                }
            });
    }
}

fn dashboard_ui(ui: &mut egui::Ui, dashboard: &LineDashboard) {
    let Some(now) = dashboard.now_secs else {
        ui.weak("No cycles in this database yet.");
        return;
    };
    ui.label(format!("Newest cycle {} UTC.", time_of_day(now)));
    ui.horizontal_wrapped(|ui| {
        for tile in &dashboard.tiles {
            tile_ui(ui, tile);
        }
    });
    ui.strong("NOK per station and hour, last day (UTC)");
    let mut stations: Vec<&str> = dashboard.heatmap.iter().map(|c| c.0.as_str()).collect();
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
                    ui.allocate_exact_size(egui::vec2(12.0, 14.0), egui::Sense::hover());
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
                response.on_hover_text(format!(
                    "{station} {}: {nok} NOK of {} ({:.1} %)",
                    time_of_day(*hour),
                    count.judged,
                    100.0 * share
                ));
            }
        });
    }
}

fn tile_ui(ui: &mut egui::Ui, tile: &StationTile) {
    ui.group(|ui| {
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
    });
}
