//! The explorer's "Storage" section (folded by default): what each table of the explored
//! database holds and where — rows, bytes on disk, compression, parts, storage policy and TTL
//! rules, and per partition its disk, size and time span (`Connection::storage`). On a server
//! with storage policies a partition can be moved to another volume of its table's policy by
//! hand, and a table's TTL moves set per volume, each after a confirmation that shows the
//! statement. A server without them (18.16) shows
//! the sizes and says which version shows the rest.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::widgets::{cut, megabytes};
use crate::render::plot::{TimeZoneChoice, format_instant};
use crate::source::clickhouse::Connection;
use crate::source::clickhouse::storage::{
    StorageReport, move_partition_sql, tier_ttl_sql, ttl_time_column,
};

/// Characters of a TTL clause shown (all of it on hover).
const TTL_CHARS: usize = 60;

enum Message {
    Report(Result<StorageReport, String>),
    Moved(Result<String, String>),
}

/// A partition the user asked to move: table, partition id and text, and the volume chosen.
struct Move {
    table: String,
    partition_id: String,
    partition: String,
    volume: String,
}

/// A table's TTL moves being set: the time column and, per volume after the first, the days
/// after which rows move there (0: no move).
struct Tiering {
    table: String,
    time_column: String,
    days: Vec<(String, u32)>,
}

/// What the user asked of a table or partition.
enum Asked {
    Move(Move),
    Tier(Tiering),
}

pub struct StoragePanel {
    report: Option<Result<StorageReport, String>>,
    tiering: Option<Tiering>,
    /// The database the report is of.
    of: String,
    busy: bool,
    moving: Option<Move>,
    moved: Option<Result<String, String>>,
    sender: SyncSender<Message>,
    inbox: Receiver<Message>,
}

impl Default for StoragePanel {
    fn default() -> Self {
        let (sender, inbox) = sync_channel(4);
        Self {
            report: None,
            of: String::new(),
            busy: false,
            moving: None,
            tiering: None,
            moved: None,
            sender,
            inbox,
        }
    }
}

impl std::fmt::Debug for StoragePanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoragePanel")
            .field("of", &self.of)
            .finish_non_exhaustive()
    }
}

impl StoragePanel {
    /// The section for `database`: read when first opened, again on Refresh.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
        database: &str,
    ) {
        while let Ok(message) = self.inbox.try_recv() {
            match message {
                Message::Report(report) => {
                    self.busy = false;
                    if let Err(e) = &report {
                        tracing::warn!(error = %e, "storage not read");
                    }
                    self.report = Some(report);
                }
                Message::Moved(result) => {
                    self.moved = Some(result);
                    // Read again: the partition's disk has changed.
                    self.of.clear();
                }
            }
        }
        egui::CollapsingHeader::new("Storage")
            .id_salt("storage section")
            .show(ui, |ui| {
                let stale = self.of != database;
                ui.horizontal(|ui| {
                    if (stale || ui.button("Refresh").clicked()) && !self.busy {
                        self.of = database.to_owned();
                        self.busy = true;
                        let (c, database) = (connection.clone(), database.to_owned());
                        super::spawn_answer(
                            runtime,
                            ui.ctx(),
                            &self.sender,
                            async move {
                                Message::Report(
                                    c.storage(&database).await.map_err(|e| e.to_string()),
                                )
                            },
                            |panic| {
                                Message::Report(Err(format!(
                                    "reading the storage stopped: {panic}"
                                )))
                            },
                        );
                    }
                    if self.busy {
                        ui.spinner();
                    }
                });
                match &self.report {
                    None => {}
                    Some(Err(e)) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    Some(Ok(_)) => self.report_ui(ui, runtime, connection, database),
                }
            });
    }

    fn report_ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
        database: &str,
    ) {
        let Some(Ok(report)) = &self.report else {
            return;
        };
        match &self.moved {
            Some(Ok(note)) => {
                ui.label(note);
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
        match report_ui(ui, report, connection) {
            Some(Asked::Move(asked)) => self.moving = Some(asked),
            Some(Asked::Tier(asked)) => self.tiering = Some(asked),
            None => {}
        }
        self.move_ui(ui, runtime, connection, database);
        self.tiering_ui(ui, runtime, connection, database);
    }

    /// A table's TTL moves: the time column, days per volume, the statement, and a yes.
    fn tiering_ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
        database: &str,
    ) {
        let Some(tiering) = &mut self.tiering else {
            return;
        };
        ui.separator();
        ui.strong(format!("TTL moves of {}", tiering.table));
        ui.horizontal(|ui| {
            let label = ui.label("Rows' time column");
            ui.text_edit_singleline(&mut tiering.time_column)
                .labelled_by(label.id);
        });
        for (volume, days) in &mut tiering.days {
            ui.horizontal(|ui| {
                let label = ui.label(format!("to {volume} after (days, 0: never)"));
                ui.add(egui::DragValue::new(days).range(0..=36_500))
                    .labelled_by(label.id);
            });
        }
        let moves: Vec<(u32, String)> = tiering
            .days
            .iter()
            .filter(|(_, days)| *days > 0)
            .map(|(volume, days)| (*days, volume.clone()))
            .collect();
        let planned = if tiering.time_column.trim().is_empty() {
            Err("name the column the rows' time is in".to_owned())
        } else {
            tier_ttl_sql(database, &tiering.table, tiering.time_column.trim(), &moves)
        };
        match &planned {
            Ok(sql) => {
                ui.code(sql.display());
            }
            Err(e) => {
                ui.colored_label(ui.visuals().warn_fg_color, e);
            }
        }
        let mut close = false;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(planned.is_ok(), egui::Button::new("Set these moves"))
                .clicked()
            {
                let c = connection.clone();
                let (database, table, column) = (
                    database.to_owned(),
                    tiering.table.clone(),
                    tiering.time_column.trim().to_owned(),
                );
                super::spawn_answer(
                    runtime,
                    ui.ctx(),
                    &self.sender,
                    async move {
                        let set = c
                            .set_tier_ttl(&database, &table, &column, &moves)
                            .await
                            .map(|()| format!("TTL moves of {table} set."))
                            .map_err(|e| e.to_string());
                        Message::Moved(set)
                    },
                    |panic| Message::Moved(Err(format!("setting the TTL stopped: {panic}"))),
                );
                close = true;
            }
            if ui.button("Cancel").clicked() {
                close = true;
            }
        });
        if close {
            self.tiering = None;
        }
    }

    /// The partition to move: the volume, the statement, and a yes.
    fn move_ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
        database: &str,
    ) {
        let Some(moving) = &mut self.moving else {
            return;
        };
        let volumes = volumes_of(connection, self.report.as_ref(), &moving.table);
        ui.separator();
        ui.strong(format!(
            "Move partition {} of {}",
            moving.partition, moving.table
        ));
        egui::ComboBox::from_label("to volume")
            .selected_text(&moving.volume)
            .show_ui(ui, |ui| {
                for volume in &volumes {
                    ui.selectable_value(&mut moving.volume, volume.clone(), volume);
                }
            });
        let sql = move_partition_sql(
            database,
            &moving.table,
            &moving.partition_id,
            &moving.volume,
        );
        ui.code(sql.display());
        let mut close = false;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!moving.volume.is_empty(), egui::Button::new("Move it"))
                .clicked()
            {
                let c = connection.clone();
                let (database, table, id, volume, partition) = (
                    database.to_owned(),
                    moving.table.clone(),
                    moving.partition_id.clone(),
                    moving.volume.clone(),
                    moving.partition.clone(),
                );
                super::spawn_answer(
                    runtime,
                    ui.ctx(),
                    &self.sender,
                    async move {
                        let moved = c
                            .move_partition(&database, &table, &id, &volume)
                            .await
                            .map(|()| {
                                format!("Partition {partition} of {table} moved to {volume}.")
                            })
                            .map_err(|e| e.to_string());
                        Message::Moved(moved)
                    },
                    |panic| Message::Moved(Err(format!("the move stopped: {panic}"))),
                );
                close = true;
            }
            if ui.button("Cancel").clicked() {
                close = true;
            }
        });
        if close {
            self.moving = None;
        }
    }
}

/// The volumes of `table`'s storage policy, as the server lists them.
fn volumes_of(
    connection: &Connection,
    report: Option<&Result<StorageReport, String>>,
    table: &str,
) -> Vec<String> {
    let policy = report
        .and_then(|r| r.as_ref().ok())
        .and_then(|r| r.tables.iter().find(|t| t.table == table))
        .and_then(|t| t.policy.as_deref());
    policy_volumes(connection, policy)
}

/// Moves shown at most in "What moves next".
const NEXT_MOVES: usize = 10;

/// What the tables' TTL moves next, soonest first (servers with storage policies).
fn next_moves_ui(ui: &mut egui::Ui, report: &StorageReport) {
    if !report.disks_known {
        return;
    }
    let moves = report.next_moves();
    if moves.is_empty() {
        ui.weak("What moves next: no TTL move is pending.");
        return;
    }
    ui.strong("What moves next");
    let now = super::time_range::now_secs() as i64;
    egui::Grid::new("next moves").striped(true).show(ui, |ui| {
        for heading in [
            "table",
            "partition",
            "from disk",
            "to volume",
            "due (UTC)",
            "",
        ] {
            ui.weak(heading);
        }
        ui.end_row();
        for m in moves.iter().take(NEXT_MOVES) {
            ui.label(&m.table);
            ui.label(&m.partition);
            ui.label(&m.from_disk);
            ui.label(&m.to_volume);
            ui.label(format_instant(
                m.due_secs as f64,
                TimeZoneChoice::Utc,
                "%Y-%m-%d %H:%M",
            ));
            let left_days = (m.due_secs - now) as f64 / 86_400.0;
            ui.weak(if left_days <= 0.0 {
                "due: the server moves it at its next check".to_owned()
            } else {
                format!("in {left_days:.1} days")
            });
            ui.end_row();
        }
    });
    if moves.len() > NEXT_MOVES {
        ui.weak(format!("and {} more", moves.len() - NEXT_MOVES));
    }
}

/// The volumes of a storage policy (none named: `default`).
fn policy_volumes(connection: &Connection, policy: Option<&str>) -> Vec<String> {
    let policy = policy.unwrap_or("default");
    connection
        .capabilities()
        .storage_policies
        .iter()
        .find(|p| p.name == policy)
        .map(|p| p.volumes.clone())
        .unwrap_or_default()
}

/// The report; a partition to move or a table's moves to set, if the user asks (servers that
/// name disks only).
fn report_ui(ui: &mut egui::Ui, report: &StorageReport, connection: &Connection) -> Option<Asked> {
    let mut asked = None;
    if !report.disks_known {
        ui.weak(format!(
            "This server (ClickHouse {}) does not say which disk holds a part: disks, volumes \
             and TTL moves show from ClickHouse 19.15.",
            connection.capabilities().version
        ));
    }
    egui::Grid::new("storage tables")
        .striped(true)
        .show(ui, |ui| {
            for heading in [
                "table",
                "rows",
                "on disk",
                "× smaller",
                "parts",
                "policy",
                "TTL",
            ] {
                ui.weak(heading);
            }
            ui.end_row();
            for t in &report.tables {
                ui.label(&t.table).on_hover_text(&t.engine);
                ui.label(t.rows.to_string());
                ui.label(megabytes(t.bytes_on_disk as f64));
                ui.label(if t.bytes_on_disk > 0 {
                    format!(
                        "{:.1}",
                        t.uncompressed_bytes as f64 / t.bytes_on_disk as f64
                    )
                } else {
                    String::new()
                });
                ui.label(t.parts.to_string());
                ui.label(t.policy.as_deref().unwrap_or("default"));
                match &t.ttl {
                    Some(ttl) => ui.label(cut(ttl, TTL_CHARS)).on_hover_text(ttl),
                    None => ui.label("none"),
                };
                let volumes = policy_volumes(connection, t.policy.as_deref());
                if report.disks_known && volumes.len() > 1 && ui.button("Tiering…").clicked() {
                    // The template's 7 / 30 / 365 days as a start.
                    let days = volumes
                        .into_iter()
                        .skip(1)
                        .zip([7, 30, 365].into_iter().chain(std::iter::repeat(0)))
                        .collect();
                    asked = Some(Asked::Tier(Tiering {
                        table: t.table.clone(),
                        time_column: t
                            .ttl
                            .as_deref()
                            .and_then(ttl_time_column)
                            .unwrap_or_default(),
                        days,
                    }));
                }
                ui.end_row();
            }
        });
    next_moves_ui(ui, report);
    for t in report.tables.iter().filter(|t| !t.partitions.is_empty()) {
        ui.push_id(("partitions of", t.table.as_str()), |ui| {
            ui.collapsing(
                format!(
                    "{}: {} partition{}",
                    t.table,
                    t.partitions.len(),
                    if t.partitions.len() == 1 { "" } else { "s" }
                ),
                |ui| {
                    egui::Grid::new("partitions").striped(true).show(ui, |ui| {
                        for heading in [
                            "partition",
                            "disk",
                            "parts",
                            "rows",
                            "on disk",
                            "rows from – to (UTC)",
                        ] {
                            ui.weak(heading);
                        }
                        ui.end_row();
                        for p in &t.partitions {
                            ui.label(&p.partition);
                            ui.label(p.disk.as_deref().unwrap_or("—"));
                            ui.label(p.parts.to_string());
                            ui.label(p.rows.to_string());
                            ui.label(megabytes(p.bytes_on_disk as f64));
                            ui.label(if p.max_time > 0 {
                                let at = |secs: i64| {
                                    format_instant(
                                        secs as f64,
                                        TimeZoneChoice::Utc,
                                        "%Y-%m-%d %H:%M",
                                    )
                                };
                                format!("{} – {}", at(p.min_time), at(p.max_time))
                            } else {
                                String::new()
                            });
                            if report.disks_known
                                && !p.partition_id.is_empty()
                                && ui.button("Move…").clicked()
                            {
                                asked = Some(Asked::Move(Move {
                                    table: t.table.clone(),
                                    partition_id: p.partition_id.clone(),
                                    partition: p.partition.clone(),
                                    volume: String::new(),
                                }));
                            }
                            ui.end_row();
                        }
                    });
                },
            );
        });
    }
    asked
}
