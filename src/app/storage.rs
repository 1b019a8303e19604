//! The explorer's "Storage" section (folded by default): what each table of the explored
//! database holds and where — rows, bytes on disk, compression, parts, storage policy and TTL
//! rules, and per partition its disk, size and time span (`Connection::storage`). A server
//! without storage policies (18.16) shows the sizes and says which version shows the rest.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::widgets::cut;
use crate::render::plot::{TimeZoneChoice, format_instant};
use crate::source::clickhouse::Connection;
use crate::source::clickhouse::storage::StorageReport;

/// Characters of a TTL clause shown (all of it on hover).
const TTL_CHARS: usize = 60;

pub struct StoragePanel {
    report: Option<Result<StorageReport, String>>,
    /// The database the report is of.
    of: String,
    busy: bool,
    sender: SyncSender<Result<StorageReport, String>>,
    inbox: Receiver<Result<StorageReport, String>>,
}

impl Default for StoragePanel {
    fn default() -> Self {
        let (sender, inbox) = sync_channel(2);
        Self {
            report: None,
            of: String::new(),
            busy: false,
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

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
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
        if let Ok(report) = self.inbox.try_recv() {
            self.busy = false;
            if let Err(e) = &report {
                tracing::warn!(error = %e, "storage not read");
            }
            self.report = Some(report);
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
                            async move { c.storage(&database).await.map_err(|e| e.to_string()) },
                            |panic| Err(format!("reading the storage stopped: {panic}")),
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
                    Some(Ok(report)) => report_ui(ui, report, connection),
                }
            });
    }
}

fn report_ui(ui: &mut egui::Ui, report: &StorageReport, connection: &Connection) {
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
                ui.label(megabytes(t.bytes_on_disk));
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
                ui.end_row();
            }
        });
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
                            ui.label(megabytes(p.bytes_on_disk));
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
                            ui.end_row();
                        }
                    });
                },
            );
        });
    }
}
