//! The explorer's "Server activity" section, for an admin: the queries the explored server
//! runs now (user, elapsed, rows and bytes read, memory), refreshed every few seconds while the
//! section is open, each with Kill behind a confirmation; and the costliest finished queries
//! of the last hour grouped by shape (`Connection::query_costs`). Every request runs on the
//! I/O runtime and answers over a channel with a repaint.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use super::widgets::{cut, megabytes};
use crate::source::clickhouse::Connection;
use crate::source::clickhouse::monitor::{QueryCost, RunningQuery};

/// How often the running queries are asked for while the section is open.
const REFRESH: Duration = Duration::from_secs(2);
/// Characters of a query shown in a row (all of it on hover).
const QUERY_CHARS: usize = 80;

enum Message {
    Running(Result<Vec<RunningQuery>, String>),
    Costs(Result<Option<Vec<QueryCost>>, String>),
    Killed(String, Result<(), String>),
}

pub struct ActivityPanel {
    running: Vec<RunningQuery>,
    costs: Option<Result<Option<Vec<QueryCost>>, String>>,
    /// When the running queries were last asked for; whether an answer is awaited.
    asked: Option<Instant>,
    waiting: bool,
    /// A kill asked for, awaiting the user's yes.
    confirm_kill: Option<String>,
    note: Option<Result<String, String>>,
    sender: SyncSender<Message>,
    inbox: Receiver<Message>,
}

impl Default for ActivityPanel {
    fn default() -> Self {
        let (sender, inbox) = sync_channel(16);
        Self {
            running: Vec::new(),
            costs: None,
            asked: None,
            waiting: false,
            confirm_kill: None,
            note: None,
            sender,
            inbox,
        }
    }
}

impl std::fmt::Debug for ActivityPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityPanel")
            .field("running", &self.running.len())
            .finish_non_exhaustive()
    }
}

impl ActivityPanel {
    fn spawn(
        &self,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
        work: impl Future<Output = Message> + Send + 'static,
    ) {
        super::spawn_answer(runtime, ctx, &self.sender, work, |panic| {
            Message::Running(Err(format!("the request stopped: {panic}")))
        });
    }

    fn receive(&mut self) {
        while let Ok(message) = self.inbox.try_recv() {
            match message {
                Message::Running(Ok(running)) => {
                    self.waiting = false;
                    self.running = running;
                }
                Message::Running(Err(e)) => {
                    self.waiting = false;
                    tracing::warn!(error = %e, "running queries not read");
                    self.note = Some(Err(e));
                }
                Message::Costs(costs) => self.costs = Some(costs),
                Message::Killed(id, result) => {
                    self.note = Some(result.map(|()| format!("Query {id} stopped.")));
                    // Listed again at once, without the killed one.
                    self.asked = None;
                }
            }
        }
    }

    /// The section (folded by default); while open, the running queries refresh by themselves.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
    ) {
        self.receive();
        egui::CollapsingHeader::new("Server activity")
            .id_salt("server activity")
            .show(ui, |ui| {
                let due = self.asked.is_none_or(|at| at.elapsed() >= REFRESH);
                if due && !self.waiting {
                    self.asked = Some(Instant::now());
                    self.waiting = true;
                    let c = connection.clone();
                    self.spawn(runtime, ui.ctx(), async move {
                        Message::Running(c.running_queries().await.map_err(|e| e.to_string()))
                    });
                }
                ui.ctx().request_repaint_after(REFRESH);
                self.running_ui(ui, runtime, connection);
                ui.separator();
                self.costs_ui(ui, runtime, connection);
            });
    }

    fn running_ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
    ) {
        ui.strong(format!("Running queries: {}", self.running.len()));
        match &self.note {
            Some(Ok(note)) => {
                ui.label(note);
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
        let mut kill = None;
        egui::Grid::new("running queries")
            .striped(true)
            .show(ui, |ui| {
                for q in &self.running {
                    ui.label(&q.user);
                    ui.label(format!("{:.1} s", q.elapsed_secs));
                    ui.label(format!("{} rows", q.read_rows));
                    ui.label(megabytes(q.read_bytes as f64));
                    ui.label(format!("{} memory", megabytes(q.memory_bytes as f64)));
                    ui.label(cut(&q.query, QUERY_CHARS)).on_hover_text(&q.query);
                    if self.confirm_kill.as_deref() == Some(q.query_id.as_str()) {
                        if ui.button("Stop it").clicked() {
                            kill = Some(q.query_id.clone());
                        }
                        if ui.button("Keep").clicked() {
                            self.confirm_kill = None;
                        }
                    } else if ui.button("Kill…").clicked() {
                        self.confirm_kill = Some(q.query_id.clone());
                    }
                    ui.end_row();
                }
            });
        if let Some(id) = kill {
            self.confirm_kill = None;
            let c = connection.clone();
            self.spawn(runtime, ui.ctx(), async move {
                let result = c.kill_query(&id).await.map_err(|e| e.to_string());
                Message::Killed(id, result)
            });
        }
    }

    fn costs_ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
    ) {
        ui.horizontal(|ui| {
            ui.strong("Costliest queries, last hour");
            if ui.button("Read the query log").clicked() {
                let c = connection.clone();
                self.spawn(runtime, ui.ctx(), async move {
                    Message::Costs(c.query_costs(1).await.map_err(|e| e.to_string()))
                });
            }
        });
        match &self.costs {
            None => {}
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            Some(Ok(None)) => {
                ui.weak(
                    "The server keeps no query log (query_log in its configuration, \
                     log_queries = 1 for its users).",
                );
            }
            Some(Ok(Some(costs))) => {
                egui::Grid::new("query costs").striped(true).show(ui, |ui| {
                    ui.weak("runs");
                    ui.weak("p50");
                    ui.weak("p95");
                    ui.weak("read");
                    ui.weak("query (literals as ?)");
                    ui.end_row();
                    for cost in costs.iter().take(30) {
                        ui.label(cost.count.to_string());
                        ui.label(format!("{:.0} ms", cost.p50_ms));
                        ui.label(format!("{:.0} ms", cost.p95_ms));
                        ui.label(megabytes(cost.read_bytes as f64));
                        ui.label(cut(&cost.shape, QUERY_CHARS))
                            .on_hover_text(&cost.shape);
                        ui.end_row();
                    }
                });
            }
        }
    }
}
