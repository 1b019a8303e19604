//! The SQL view: ask the explored server any question. An editor with highlighting, the
//! database's table and column names offered as completions, Ctrl+Enter running the statement
//! under the cursor, and a history; the query builder (`sql_builder`) writing the SQL it runs;
//! the result streamed into a virtual-scrolled table (`result_table`) with per-column
//! statistics, charted (`sql_chart`), exported to CSV or Parquet, or — a key and an array
//! column — opened as curves in the explorer. Every run shows rows and bytes received, the
//! server's rows and bytes read and memory, its time, and can be cancelled (the server's query
//! is killed). Read-only unless "Allow changes" is on.
//!
//! State: [`SqlPanel`]; the run is a job on the I/O runtime answering over channels.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::export::ExportPanel;
use super::result_table::{ResultView, result_table_ui};
use super::sql_builder::builder_ui;
use super::sql_chart::{ChartBuilder, chart_ui};
use super::widgets::megabytes;
use crate::curves::CurveStore;
use crate::source::clickhouse::builder::QueryBuilder;
use crate::source::clickhouse::results::{SqlProgress, SqlRun, SqlSummary};
use crate::source::clickhouse::sql_text::{self, TokenKind};
use crate::source::clickhouse::{ColumnInfo, Connection};
use crate::source::table::{ColumnStats, ResultTable};

/// Statements kept in the history.
const HISTORY_LEN: usize = 50;
/// Completions offered at once.
const COMPLETIONS: usize = 8;

/// The history's place in egui's persisted memory.
fn history_id() -> egui::Id {
    egui::Id::unique("lyceum sql history")
}

fn editor_id() -> egui::Id {
    egui::Id::unique("lyceum sql editor")
}

enum Message {
    Schema(Result<Vec<(String, Vec<ColumnInfo>)>, String>),
    Finished(Result<SqlSummary, String>),
    /// Statistics of the result table at this address (a newer result's are not these).
    Stats(usize, Vec<ColumnStats>),
    Curves(Result<Box<CurveStore>, String>),
}

/// A statement running: its cancel switch, progress and rows as they come.
struct RunningSql {
    cancel: CancellationToken,
    progress: watch::Receiver<SqlProgress>,
    batches: mpsc::Receiver<ResultTable>,
    started: Instant,
}

/// What is shown under the editor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResultTab {
    Table,
    Chart,
    Curves,
}

pub struct SqlPanel {
    database: String,
    schema: Vec<(String, Vec<ColumnInfo>)>,
    schema_error: Option<String>,
    text: String,
    /// Where the editor's cursor was last (bytes), for the statement under it.
    cursor_byte: usize,
    allow_changes: bool,
    running: Option<RunningSql>,
    result: Arc<ResultTable>,
    stats: Option<Vec<ColumnStats>>,
    outcome: Option<Result<SqlSummary, String>>,
    /// The statement the result is of.
    ran: Option<String>,
    refused: Option<String>,
    view: ResultView,
    tab: ResultTab,
    builder: QueryBuilder,
    chart: ChartBuilder,
    export: ExportPanel,
    curve_key: String,
    curve_y: String,
    curve_x: Option<String>,
    curves_busy: bool,
    curves_error: Option<String>,
    /// Curves made from the result, until the explorer takes them.
    opened: Option<CurveStore>,
    sender: SyncSender<Message>,
    inbox: Receiver<Message>,
}

impl std::fmt::Debug for SqlPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlPanel")
            .field("database", &self.database)
            .field("rows", &self.result.rows())
            .finish_non_exhaustive()
    }
}

impl SqlPanel {
    /// A panel over `database`: its tables and columns are asked for at once.
    pub fn new(
        database: &str,
        connection: &Connection,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
    ) -> Self {
        let (sender, inbox) = sync_channel(16);
        let mut panel = Self {
            database: String::new(),
            schema: Vec::new(),
            schema_error: None,
            text: String::new(),
            cursor_byte: 0,
            allow_changes: false,
            running: None,
            result: Arc::new(ResultTable::default()),
            stats: None,
            outcome: None,
            ran: None,
            refused: None,
            view: ResultView::default(),
            tab: ResultTab::Table,
            builder: QueryBuilder::default(),
            chart: ChartBuilder::default(),
            export: ExportPanel::default(),
            curve_key: String::new(),
            curve_y: String::new(),
            curve_x: None,
            curves_busy: false,
            curves_error: None,
            opened: None,
            sender,
            inbox,
        };
        panel.set_database(database, connection, runtime, ctx);
        panel
    }

    /// Follow the explorer to another database: its names are fetched for completions.
    pub fn set_database(
        &mut self,
        database: &str,
        connection: &Connection,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
    ) {
        if self.database == database {
            return;
        }
        self.database = database.to_owned();
        self.builder = QueryBuilder {
            database: database.to_owned(),
            ..QueryBuilder::default()
        };
        let (c, db) = (connection.clone(), database.to_owned());
        super::spawn_answer(
            runtime,
            ctx,
            &self.sender,
            async move { Message::Schema(c.database_columns(&db).await.map_err(|e| e.to_string())) },
            |panic| Message::Schema(Err(format!("reading the schema stopped: {panic}"))),
        );
    }

    /// Curves the user opened from a result, for the explorer to show.
    pub fn take_opened(&mut self) -> Option<CurveStore> {
        self.opened.take()
    }

    /// The statement the last result came from.
    pub fn ran(&self) -> Option<&str> {
        self.ran.as_deref()
    }

    fn receive(&mut self, ctx: &egui::Context) {
        if let Some(running) = &mut self.running {
            let mut more = false;
            while let Ok(batch) = running.batches.try_recv() {
                Arc::make_mut(&mut self.result).append(batch);
                more = true;
            }
            if more {
                self.stats = None;
            }
        }
        while let Ok(message) = self.inbox.try_recv() {
            match message {
                Message::Schema(Ok(schema)) => {
                    // A first statement that runs: the database's first table.
                    if self.text.is_empty()
                        && let Some((table, _)) = schema.first()
                    {
                        self.text = format!("SELECT *\nFROM {}.{table}\nLIMIT 100", self.database);
                    }
                    self.schema = schema;
                    self.schema_error = None;
                }
                Message::Schema(Err(e)) => {
                    tracing::warn!(error = %e, "the database's columns were not read");
                    self.schema_error = Some(e);
                }
                Message::Finished(outcome) => {
                    // Rows still queued belong to this result.
                    if let Some(mut running) = self.running.take() {
                        while let Ok(batch) = running.batches.try_recv() {
                            Arc::make_mut(&mut self.result).append(batch);
                        }
                    }
                    if let Err(e) = &outcome {
                        tracing::warn!(error = %e, "a statement failed");
                    }
                    self.outcome = Some(outcome);
                    self.compute_stats(ctx);
                    self.pick_curve_columns();
                }
                Message::Stats(table, stats) => {
                    if table == Arc::as_ptr(&self.result) as usize {
                        self.stats = Some(stats);
                    }
                }
                Message::Curves(result) => {
                    self.curves_busy = false;
                    match result {
                        Ok(store) => {
                            self.opened = Some(*store);
                            self.curves_error = None;
                        }
                        Err(e) => self.curves_error = Some(e),
                    }
                }
            }
        }
    }

    fn compute_stats(&self, ctx: &egui::Context) {
        let (table, sender, ctx) = (Arc::clone(&self.result), self.sender.clone(), ctx.clone());
        rayon::spawn(move || {
            let address = Arc::as_ptr(&table) as usize;
            if sender.send(Message::Stats(address, table.stats())).is_err() {
                tracing::debug!("statistics came after the view closed");
            }
            ctx.request_repaint();
        });
    }

    /// Guess the curve columns of a result: the first array is y, the first other column
    /// the key.
    fn pick_curve_columns(&mut self) {
        let arrays = self.result.array_columns();
        if !arrays.contains(&self.curve_y.as_str()) {
            self.curve_y = arrays.first().map(|s| (*s).to_owned()).unwrap_or_default();
            self.curve_x = None;
        }
        let keys: Vec<&str> = self
            .result
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| !arrays.contains(n))
            .collect();
        if !keys.contains(&self.curve_key.as_str()) {
            // A name that says "key" (`cycle_id`, `id`, `key`, `serial`), else the first.
            let says_key = |name: &&str| {
                let name = name.to_ascii_lowercase();
                name == "id" || name.ends_with("_id") || name == "key" || name.contains("serial")
            };
            let guess = keys
                .iter()
                .copied()
                .find(says_key)
                .or_else(|| keys.first().copied());
            self.curve_key = guess.map(str::to_owned).unwrap_or_default();
        }
    }

    /// Run `statement` (or say why it may not run).
    fn run(
        &mut self,
        statement: &str,
        connection: &Connection,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
    ) {
        self.refused = sql_text::refusal(statement, self.allow_changes);
        if self.refused.is_some() {
            return;
        }
        ctx.data_mut(|d| {
            let history: &mut Vec<String> = d.get_persisted_mut_or_default(history_id());
            history.retain(|s| s != statement);
            history.insert(0, statement.to_owned());
            history.truncate(HISTORY_LEN);
        });
        let cancel = CancellationToken::new();
        let (progress_tx, progress) = watch::channel(SqlProgress::default());
        let (batch_tx, batches) = mpsc::channel(64);
        self.running = Some(RunningSql {
            cancel: cancel.clone(),
            progress,
            batches,
            started: Instant::now(),
        });
        self.result = Arc::new(ResultTable::default());
        self.stats = None;
        self.outcome = None;
        self.view = ResultView::default();
        self.ran = Some(statement.to_owned());
        let (c, sql, allow_changes) =
            (connection.clone(), statement.to_owned(), self.allow_changes);
        let database = self.database.clone();
        super::spawn_answer(
            runtime,
            ctx,
            &self.sender,
            async move {
                let run = SqlRun {
                    allow_changes,
                    database: Some(&database),
                    cancel: Some(&cancel),
                    batches: &batch_tx,
                    progress: Some(&progress_tx),
                };
                Message::Finished(c.run_sql(&sql, run).await.map_err(|e| e.to_string()))
            },
            |panic| Message::Finished(Err(format!("the query stopped: {panic}"))),
        );
    }

    /// The view.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        connection: &Connection,
        runtime: &tokio::runtime::Handle,
    ) {
        let ctx = ui.ctx().clone();
        self.receive(&ctx);
        if self.running.is_some() {
            // Rows stream in while the query runs: look for them often.
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
        }
        let run_key = ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
        let mut run_now = run_key;
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("Database {}", self.database));
            let running = self.running.is_some();
            run_now |= ui
                .add_enabled(!running, egui::Button::new("Run"))
                .on_hover_text("Run the statement under the cursor (Ctrl+Enter)")
                .clicked();
            if let Some(r) = &self.running
                && ui.button("Cancel").clicked()
            {
                r.cancel.cancel();
            }
            ui.checkbox(&mut self.allow_changes, "Allow changes")
                .on_hover_text(
                    "Off: only statements that read run, and the server is told so. On: \
                     INSERT, ALTER, CREATE, DROP … run with your user's rights.",
                );
            if self.allow_changes {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    "Statements that change data will run",
                );
            }
            self.history_ui(ui);
        });
        egui::CollapsingHeader::new("Query builder")
            .id_salt("sql query builder")
            .show(ui, |ui| {
                if let Some(sql) = builder_ui(ui, &mut self.builder, &self.schema) {
                    self.text = sql;
                    self.cursor_byte = self.text.len();
                    run_now = true;
                }
            });
        self.editor_ui(ui);
        if run_now && self.running.is_none() {
            match sql_text::statement_at(&self.text, self.cursor_byte) {
                Some(statement) => {
                    let statement = statement.to_owned();
                    self.run(&statement, connection, runtime, &ctx);
                }
                None => self.refused = Some("there is no statement to run".to_owned()),
            }
        }
        if let Some(reason) = &self.refused {
            ui.colored_label(ui.visuals().error_fg_color, reason);
        }
        self.progress_ui(ui);
        if self.result.columns.is_empty() {
            return;
        }
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tab, ResultTab::Table, "Table");
            ui.selectable_value(&mut self.tab, ResultTab::Chart, "Chart");
            ui.selectable_value(&mut self.tab, ResultTab::Curves, "As curves");
        });
        match self.tab {
            ResultTab::Table => {
                if self.running.is_none() {
                    self.export.table_ui(ui, &self.result);
                }
                result_table_ui(ui, &self.result, self.stats.as_deref(), &mut self.view);
            }
            ResultTab::Chart => chart_ui(ui, &mut self.chart, &self.result),
            ResultTab::Curves => self.curves_ui(ui),
        }
    }

    fn history_ui(&mut self, ui: &mut egui::Ui) {
        // The statements are copied only while the menu is open, not every frame.
        let count = ui.data_mut(|d| {
            d.get_persisted_mut_or_default::<Vec<String>>(history_id())
                .len()
        });
        egui::ComboBox::from_id_salt("sql history")
            .selected_text(format!("History ({count})"))
            .width(140.0)
            .show_ui(ui, |ui| {
                let history: Vec<String> = ui.data_mut(|d| {
                    d.get_persisted::<Vec<String>>(history_id())
                        .unwrap_or_default()
                });
                for statement in &history {
                    let line = statement.split_whitespace().collect::<Vec<_>>().join(" ");
                    if ui
                        .selectable_label(false, super::widgets::cut(&line, 80))
                        .on_hover_text(statement)
                        .clicked()
                    {
                        self.text = statement.clone();
                        self.cursor_byte = self.text.len();
                    }
                }
            });
    }

    fn editor_ui(&mut self, ui: &mut egui::Ui) {
        let mut layouter = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap_width: f32| {
            let mut job = highlighted(ui, text.as_str());
            job.wrap.max_width = wrap_width;
            ui.fonts_mut(|f| f.layout_job(job))
        };
        let output = egui::TextEdit::multiline(&mut self.text)
            .id(editor_id())
            .code_editor()
            .desired_rows(8)
            .desired_width(f32::INFINITY)
            .hint_text("SELECT … (Ctrl+Enter runs the statement under the cursor)")
            .layouter(&mut layouter)
            .show(ui);
        if output.response.response.changed() {
            // What was refused is no longer what is typed.
            self.refused = None;
        }
        if let Some(range) = output.cursor_range {
            self.cursor_byte = byte_of_char(&self.text, range.primary.index.0);
        }
        let (start, word) = sql_text::word_before(&self.text, self.cursor_byte);
        if word.is_empty() {
            return;
        }
        let offered = completions(&self.schema, word);
        if offered.is_empty() {
            return;
        }
        let mut chosen = None;
        ui.horizontal_wrapped(|ui| {
            ui.weak("Complete:");
            for name in &offered {
                if ui.small_button(name).clicked() {
                    chosen = Some(name.clone());
                }
            }
        });
        if let Some(name) = chosen {
            let end = self.cursor_byte;
            self.text.replace_range(start..end, &name);
            self.cursor_byte = start + name.len();
            // The cursor goes after the inserted name, and the editor keeps the focus.
            let mut state = output.state;
            let at = self.text[..self.cursor_byte].chars().count();
            state
                .cursor
                .set_char_range(Some(egui::text::CCursorRange::one(
                    egui::text::CCursor::new(at),
                )));
            state.store(ui.ctx(), editor_id());
            ui.memory_mut(|m| m.request_focus(editor_id()));
        }
    }

    fn progress_ui(&self, ui: &mut egui::Ui) {
        if let Some(running) = &self.running {
            let p = *running.progress.borrow();
            ui.horizontal_wrapped(|ui| {
                ui.spinner();
                ui.label(format!(
                    "{:.1} s · {} rows · {} received",
                    running.started.elapsed().as_secs_f64(),
                    p.rows,
                    megabytes(p.received_bytes as f64)
                ));
                if let Some(server) = p.server {
                    ui.label(server_text(server));
                }
            });
            return;
        }
        match &self.outcome {
            Some(Ok(summary)) => {
                let first = summary
                    .first_rows_after
                    .map(|t| format!(" · first rows after {:.3} s", t.as_secs_f64()))
                    .unwrap_or_default();
                let server = summary.server.map(server_text).unwrap_or_else(|| {
                    "the server's reads: not seen (it answered within 0.15 s)".to_owned()
                });
                ui.label(format!(
                    "{} rows · {} received · {:.3} s{first} · {server}",
                    summary.rows,
                    megabytes(summary.received_bytes as f64),
                    summary.elapsed.as_secs_f64(),
                ))
                .on_hover_text(format!("query id {}", summary.query_id));
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                if self.result.rows() > 0 {
                    ui.label(format!(
                        "The {} rows that arrived before are kept.",
                        self.result.rows()
                    ));
                }
            }
            None => {}
        }
    }

    fn curves_ui(&mut self, ui: &mut egui::Ui) {
        let arrays = self.result.array_columns();
        if arrays.is_empty() {
            ui.label(
                "Curves need a column of number arrays (one curve per row), e.g. \
                 SELECT cycle_id, station, force FROM process_curves.",
            );
            return;
        }
        let names: Vec<String> = self.result.columns.iter().map(|c| c.name.clone()).collect();
        egui::Grid::new("sql curve columns").show(ui, |ui| {
            ui.label("Key");
            combo(ui, "sql curve key", &mut self.curve_key, &names);
            ui.end_row();
            ui.label("Samples (y)");
            let arrays: Vec<String> = arrays.iter().map(|s| (*s).to_owned()).collect();
            combo(ui, "sql curve y", &mut self.curve_y, &arrays);
            ui.end_row();
            ui.label("x");
            egui::ComboBox::from_id_salt("sql curve x")
                .selected_text(self.curve_x.as_deref().unwrap_or("sample index"))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.curve_x, None, "sample index");
                    for name in &arrays {
                        ui.selectable_value(&mut self.curve_x, Some(name.clone()), name);
                    }
                });
            ui.end_row();
        });
        ui.horizontal(|ui| {
            let ready = !self.curves_busy && self.running.is_none();
            if ui
                .add_enabled(ready, egui::Button::new("Open in the curve explorer"))
                .clicked()
            {
                self.curves_busy = true;
                let (table, sender, ctx) = (
                    Arc::clone(&self.result),
                    self.sender.clone(),
                    ui.ctx().clone(),
                );
                let (key, y, x) = (
                    self.curve_key.clone(),
                    self.curve_y.clone(),
                    self.curve_x.clone(),
                );
                rayon::spawn(move || {
                    let store = table.to_curves(&key, &y, x.as_deref()).map(Box::new);
                    if sender.send(Message::Curves(store)).is_err() {
                        tracing::debug!("curves came after the view closed");
                    }
                    ctx.request_repaint();
                });
            }
            if self.curves_busy {
                ui.spinner();
            }
        });
        if let Some(e) = &self.curves_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    }
}

fn combo(ui: &mut egui::Ui, id: &str, value: &mut String, names: &[String]) {
    egui::ComboBox::from_id_salt(id)
        .selected_text(value.as_str())
        .show_ui(ui, |ui| {
            for name in names {
                ui.selectable_value(value, name.clone(), name);
            }
        });
}

fn server_text(server: crate::source::clickhouse::results::ServerStats) -> String {
    format!(
        "server read {} rows, {}, memory {}",
        server.read_rows,
        megabytes(server.read_bytes as f64),
        megabytes(server.memory_bytes.max(0) as f64)
    )
}

/// The byte offset of the `chars`-th character.
fn byte_of_char(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(at, _)| at)
}

/// Table and column names starting with `word` (after a `table.`, that table's columns).
fn completions(schema: &[(String, Vec<ColumnInfo>)], word: &str) -> Vec<String> {
    let lower = word.to_lowercase();
    let starts = |name: &str| name.to_lowercase().starts_with(&lower) && name != word;
    let mut offered: Vec<String> = Vec::new();
    let mut offer = |name: String| {
        if !offered.contains(&name) && offered.len() < COMPLETIONS {
            offered.push(name);
        }
    };
    if let Some((table, column)) = word.rsplit_once('.') {
        let column = column.to_lowercase();
        for (name, columns) in schema {
            if name == table {
                for c in columns {
                    if c.name.to_lowercase().starts_with(&column) {
                        offer(format!("{table}.{}", c.name));
                    }
                }
            }
        }
        return offered;
    }
    for (table, columns) in schema {
        if starts(table) {
            offer(table.clone());
        }
        for c in columns {
            if starts(&c.name) {
                offer(c.name.clone());
            }
        }
    }
    offered
}

/// The text coloured by token kind.
fn highlighted(ui: &egui::Ui, text: &str) -> egui::text::LayoutJob {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let dark = ui.visuals().dark_mode;
    let colour = |kind: TokenKind| match (kind, dark) {
        (TokenKind::Keyword, true) => egui::Color32::from_rgb(120, 170, 255),
        (TokenKind::Keyword, false) => egui::Color32::from_rgb(20, 70, 200),
        (TokenKind::String, true) => egui::Color32::from_rgb(150, 210, 120),
        (TokenKind::String, false) => egui::Color32::from_rgb(30, 120, 30),
        (TokenKind::Number, true) => egui::Color32::from_rgb(240, 170, 90),
        (TokenKind::Number, false) => egui::Color32::from_rgb(170, 80, 0),
        (TokenKind::Comment, _) => ui.visuals().weak_text_color(),
        _ => ui.visuals().text_color(),
    };
    let mut job = egui::text::LayoutJob::default();
    for token in sql_text::tokens(text) {
        job.append(
            &text[token.range.clone()],
            0.0,
            egui::TextFormat::simple(font.clone(), colour(token.kind)),
        );
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::clickhouse::ColumnKind;

    #[test]
    fn names_are_completed_from_the_schema() {
        let column = |name: &str| ColumnInfo {
            name: name.to_owned(),
            type_name: "String".to_owned(),
            kind: ColumnKind::of_type("String"),
        };
        let schema = vec![
            (
                "process_results".to_owned(),
                vec![column("station"), column("status")],
            ),
            ("production_events".to_owned(), vec![column("station")]),
        ];
        assert_eq!(
            completions(&schema, "pro"),
            ["process_results", "production_events"]
        );
        assert_eq!(completions(&schema, "STA"), ["station", "status"]);
        assert_eq!(
            completions(&schema, "process_results.stat"),
            ["process_results.station", "process_results.status"]
        );
        assert_eq!(byte_of_char("é1", 1), 2);
    }
}
