//! The explorer of one tested connection: databases → tables → columns, a table mapped to
//! curves (the template's tables with one click, any other table by its key, x, y and label
//! columns, with the library's validation message shown as the mapping is edited), and Run:
//! the planned query (server-side M4 over the data's extent for long tables, whole arrays for
//! array tables) streamed into a store on the tokio runtime and drawn with the library's
//! styling. The SQL that ran is shown. [`Explorer`] is the state; nothing here blocks the UI.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::curves::quality::Recipe;
use crate::curves::quality::yields::judge as judge_yields;
use crate::curves::{CurveId, CurveStore};
use crate::render::plot::{TimeZoneChoice, format_instant};
use crate::render::style::StyleRequest;
use crate::source::clickhouse::ddl::Preset;
use crate::source::clickhouse::schema::ValidatedMapping;
use crate::source::clickhouse::verdicts::server_refusal;
use crate::source::clickhouse::{
    ArrayX, ClickHouseError, ColumnInfo, ColumnKind, Connection, CurveLayout, CurveQuery,
    CurveSelection, FetchOptions, FetchProgress, PixelView, ProductionEvent, RunEstimate,
    SourceMapping, TableInfo,
};
use crate::source::dataset::manifest::Threshold;
use crate::source::dataset::{self, ColumnRoles, SaveOptions, SavedView, Source};

use super::activity::ActivityPanel;
use super::curve_view::CurveView;
use super::dashboard::{DashboardPanel, Drill};
use super::file_dialog::{DialogKind, FileDialog, PathField};
use super::history::{HistoryJob, HistoryOutcome, HistoryPanel, Streamed};
use super::sql::SqlPanel;
use super::storage::StoragePanel;
use super::time_range::{RangeChoice, TimeRange, now_secs};
use super::widgets::labelled_field_ui;

/// Server-side M4 columns of a long table's first picture.
const RUN_WIDTH_PX: u32 = 1920;
/// Production events drawn over a run at most.
const EVENT_LIMIT: u64 = 500;
/// Curves per run unless the user sets another limit.
const RUN_LIMIT: u64 = 20_000;
/// Cycles streamed at most to judge a recipe the server cannot (windows, lines).
const STREAM_LIMIT: u64 = 200_000;

/// A run's inputs, checked, ready for the I/O runtime.
struct RunRequest {
    validated: ValidatedMapping,
    selection: CurveSelection,
    time_column: Option<ColumnInfo>,
    choice: RangeChoice,
}

impl RunRequest {
    /// The selection with its row range (array tables) and the time range it resolved to:
    /// "the newest data" is asked of the server.
    async fn resolve(
        &self,
        c: &Connection,
    ) -> Result<(CurveSelection, Option<(f64, f64)>), ClickHouseError> {
        let newest = match (&self.choice, &self.time_column) {
            (
                RangeChoice::Last {
                    at_newest: true, ..
                },
                Some(column),
            ) => c
                .column_extent(&self.validated, &self.selection, column)
                .await?
                .map(|(_, newest)| newest),
            _ => None,
        };
        let range = self.choice.resolve(now_secs(), newest);
        if range.is_none() && self.choice != RangeChoice::All {
            return Err(ClickHouseError::InvalidRequest(
                "no rows match the filters, so there is no newest data to end at".to_owned(),
            ));
        }
        let mut selection = self.selection.clone();
        if let (CurveLayout::Arrays { .. }, Some(column), Some((from, to))) =
            (&self.validated.mapping.layout, &self.time_column, range)
        {
            selection.row_range = Some((column.name.clone(), from, to));
        }
        Ok((selection, range))
    }
}

/// "About 30 curves, 108,030 samples (1.3 MB) from 2026-… to 2026-…".
fn describe_estimate(estimate: RunEstimate, range: Option<(f64, f64)>, limit: u64) -> String {
    let mut text = format!(
        "About {} curves, {} samples ({:.1} MB)",
        estimate.curves,
        estimate.samples,
        estimate.samples as f64 * 12.0 / 1e6
    );
    if let Some((from, to)) = range {
        let at = |secs: f64| {
            chrono::DateTime::from_timestamp(secs.floor() as i64, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default()
        };
        text.push_str(&format!(" from {} to {} UTC", at(from), at(to)));
    }
    if estimate.curves > limit {
        text.push_str(&format!("; a run fetches the first {limit}"));
    }
    text
}

/// What a background task reports.
enum Message {
    Databases(Result<Vec<String>, String>),
    Tables(Result<Vec<TableInfo>, String>),
    Columns(Result<Vec<ColumnInfo>, String>),
    /// The curves, where they came from (as a dataset records it), and the production
    /// events over their time range.
    Curves(Result<Box<(CurveStore, Source, Vec<ProductionEvent>)>, String>),
    Saved(Result<String, String>),
    /// A label column's values, for its filter.
    Values(String, Result<Vec<String>, String>),
    /// What a run would read, in the range it resolved to.
    Estimate(Result<(RunEstimate, Option<(f64, f64)>), String>),
    /// A task that panicked (a bug): said, never silent.
    Failed(String),
}

/// Values fetched per filter menu.
const FILTER_VALUES: u64 = 200;
/// A filter that matches everything.
const ANY: &str = "(any)";

/// A label filter: the column, its values on the server, the one chosen.
#[derive(Debug)]
struct Filter {
    column: String,
    values: Vec<String>,
    chosen: String,
}

/// A run in progress.
struct Running {
    progress: tokio::sync::watch::Receiver<FetchProgress>,
    /// The curves complete so far, drawn while the rest stream in.
    partial: tokio::sync::watch::Receiver<Option<Arc<CurveStore>>>,
    /// What was shown before the run (taken at the first partial store): back on screen if
    /// the run fails.
    before: Option<Option<CurveView>>,
    cancel: CancellationToken,
    started: Instant,
}

/// The mapping being edited.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Draft {
    key: String,
    /// Long layout: the x column; arrays: an x array column, or empty for the sample index.
    x: String,
    y: String,
    labels: Vec<String>,
}

/// A table mapped to curves, saved by name (no secrets: the connection is its keychain
/// account, `user@host:port`), reopened from the sources panel.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedSource {
    pub name: String,
    pub connection: String,
    pub database: String,
    pub table: String,
    pub mapping: Draft,
}

/// What the last run fetched, for the status bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStats {
    pub rows: u64,
    pub bytes: u64,
    pub elapsed: std::time::Duration,
}

/// The template's table of process curves, where the dashboard's clicks lead.
const PROCESS_CURVES: &str = "process_curves";

/// The explorer of one connection.
pub struct Explorer {
    connection: Connection,
    runtime: tokio::runtime::Handle,
    databases: Vec<String>,
    database: String,
    tables: Vec<TableInfo>,
    table: String,
    columns: Vec<ColumnInfo>,
    draft: Draft,
    busy: Option<&'static str>,
    error: Option<String>,
    shown: Option<CurveView>,
    sql: Option<String>,
    filters: Vec<Filter>,
    /// The run in progress: its progress and its cancel switch.
    running: Option<Running>,
    /// What the last run fetched, and where from (for saving it).
    summary: Option<String>,
    last_run: Option<RunStats>,
    time: TimeRange,
    /// [`super::tables_generation`] when the tables were last listed.
    tables_generation: u64,
    /// A saved source being opened: its table is picked and its mapping applied as the
    /// database's tables and the table's columns arrive.
    pending: Option<SavedSource>,
    source_name: String,
    /// A source the user saved, until the connections panel takes it.
    saved_source: Option<SavedSource>,
    /// At most this many curves per run.
    curve_limit: u64,
    estimate: Option<String>,
    source: Option<Source>,
    save_dir: String,
    save_dialog: Option<FileDialog>,
    /// Save the selection alone rather than every fetched curve.
    save_selected_only: bool,
    saved: Option<String>,
    history: HistoryPanel,
    activity: ActivityPanel,
    storage: StoragePanel,
    dashboard: DashboardPanel,
    /// The SQL view over this connection, made when first shown.
    sql_view: Option<SqlPanel>,
    /// Curves clicked on the dashboard, run once the process curves' columns are known.
    pending_drill: Option<Drill>,
    /// Bring the top (the run and its plot) into view on the next frame: a dashboard click
    /// starts a run far above where the user clicked.
    scroll_to_top: bool,
    sender: SyncSender<Message>,
    inbox: Receiver<Message>,
}

impl std::fmt::Debug for Explorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Explorer")
            .field("database", &self.database)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl Explorer {
    /// Start browsing `connection`: its databases are asked for at once.
    pub fn new(
        connection: Connection,
        runtime: tokio::runtime::Handle,
        ctx: &egui::Context,
    ) -> Self {
        let (sender, inbox) = sync_channel(8);
        let database = connection.profile().database.clone();
        let mut explorer = Self {
            connection,
            runtime,
            databases: Vec::new(),
            database,
            tables: Vec::new(),
            table: String::new(),
            columns: Vec::new(),
            draft: Draft::default(),
            busy: None,
            error: None,
            shown: None,
            sql_view: None,
            pending_drill: None,
            scroll_to_top: false,
            filters: Vec::new(),
            running: None,
            summary: None,
            last_run: None,
            time: TimeRange::default(),
            pending: None,
            tables_generation: super::tables_generation(ctx),
            source_name: String::new(),
            saved_source: None,
            curve_limit: RUN_LIMIT,
            estimate: None,
            source: None,
            save_dir: String::new(),
            save_dialog: None,
            save_selected_only: false,
            saved: None,
            history: HistoryPanel::default(),
            activity: ActivityPanel::default(),
            storage: StoragePanel::default(),
            dashboard: DashboardPanel::default(),
            sql: None,
            sender,
            inbox,
        };
        explorer.spawn(ctx, "listing databases", |c| async move {
            Message::Databases(c.list_databases().await.map_err(|e| e.to_string()))
        });
        explorer
    }

    /// The explorer of `connection` opening `source`: its database, table and mapping.
    pub fn with_source(
        connection: Connection,
        runtime: tokio::runtime::Handle,
        ctx: &egui::Context,
        source: SavedSource,
    ) -> Self {
        let mut explorer = Self::new(connection, runtime, ctx);
        explorer.database = source.database.clone();
        explorer.source_name = source.name.clone();
        explorer.pending = Some(source);
        explorer
    }

    /// A source the user saved since the last call.
    pub fn take_saved_source(&mut self) -> Option<SavedSource> {
        self.saved_source.take()
    }

    /// "ClickHouse 18.16.1 · http://host:8123/db".
    pub fn server(&self) -> String {
        let profile = self.connection.profile();
        format!(
            "ClickHouse {} · {}/{}",
            self.connection.capabilities().version,
            profile.url,
            profile.database
        )
    }

    /// The view of the last run, if any.
    pub fn shown_mut(&mut self) -> Option<&mut CurveView> {
        self.shown.as_mut()
    }

    /// The sources panel's tree under this connection: databases (one open at a time: the
    /// explorer lists one database's tables), its tables; a click opens one here (returns
    /// true: show the explorer).
    pub fn tree_ui(&mut self, ui: &mut egui::Ui) -> bool {
        let ctx = ui.ctx().clone();
        let mut clicked = false;
        let mut open_database = None;
        let mut open_table = None;
        let mut refresh = false;
        for database in &self.databases {
            let is_open = *database == self.database;
            let header = egui::CollapsingHeader::new(database.as_str())
                .id_salt(("source database", database.as_str()))
                .open(Some(is_open))
                .show(ui, |ui| {
                    refresh = ui
                        .small_button("Refresh tables")
                        .on_hover_text(
                            "List this database's tables again: tables made elsewhere (another \
                             client, a script) since it was opened appear.",
                        )
                        .clicked();
                    if self.tables.is_empty() {
                        ui.weak(self.busy.unwrap_or("no tables"));
                    }
                    for table in &self.tables {
                        if ui
                            .selectable_label(table.name == self.table, table.name.as_str())
                            .on_hover_text(table.engine.as_str())
                            .clicked()
                        {
                            open_table = Some(table.name.clone());
                        }
                    }
                });
            if header.header_response.clicked() && !is_open {
                open_database = Some(database.clone());
            }
        }
        if refresh {
            self.list_tables_again(&ctx);
        }
        if let Some(database) = open_database {
            self.database = database;
            self.load_tables(&ctx);
            clicked = true;
        }
        if let Some(table) = open_table {
            if table != self.table {
                self.table = table;
                self.load_columns(&ctx);
            }
            clicked = true;
        }
        clicked
    }

    /// The same server with new credentials (a password edited or rotated, tested again):
    /// what the user mapped, filtered and fetched stays.
    /// Open the process curves behind something clicked on the dashboard: the table, the
    /// label filters and the time range set, then run (once the table's columns are known).
    fn drill(&mut self, ctx: &egui::Context, drill: Drill) {
        if self.table != PROCESS_CURVES {
            self.table = PROCESS_CURVES.to_owned();
            self.load_columns(ctx);
        }
        self.pending_drill = Some(drill);
        self.scroll_to_top = true;
        self.continue_drill(ctx);
    }

    /// Run a pending drill once the process curves' columns are in.
    fn continue_drill(&mut self, ctx: &egui::Context) {
        if self.table != PROCESS_CURVES || self.columns.is_empty() || self.running.is_some() {
            return;
        }
        let Some(drill) = self.pending_drill.take() else {
            return;
        };
        for filter in &mut self.filters {
            filter.chosen = ANY.to_owned();
        }
        for (column, value) in drill.equals {
            match self.filters.iter_mut().find(|f| f.column == column) {
                Some(filter) => filter.chosen = value,
                // Its values are still being read: the filter is set now, they join it later.
                None => self.filters.push(Filter {
                    column,
                    values: vec![value.clone()],
                    chosen: value,
                }),
            }
        }
        self.time
            .select_between((drill.from_secs as f64, drill.to_secs as f64));
        self.run(ctx);
    }

    /// The SQL view over this connection and the explored database. Returns true when the
    /// user opened a result's curves here (show the explorer).
    pub fn sql_ui(&mut self, ui: &mut egui::Ui) -> bool {
        let ctx = ui.ctx().clone();
        let sql = self.sql_view.get_or_insert_with(|| {
            SqlPanel::new(&self.database, &self.connection, &self.runtime, &ctx)
        });
        sql.set_database(&self.database, &self.connection, &self.runtime, &ctx);
        sql.ui(ui, &self.connection, &self.runtime);
        let Some(store) = sql.take_opened() else {
            return false;
        };
        let query = sql.ran().unwrap_or_default().to_owned();
        self.summary = Some(format!(
            "{} curves, {} points from the SQL view's query",
            store.len(),
            store.point_count()
        ));
        self.source = Some(Source::ClickHouse {
            connection: self.connection.profile().keychain_account(),
            database: self.database.clone(),
            table: String::new(),
            columns: None,
            keys: Vec::new(),
            limit: None,
            x_range: None,
            width_px: None,
            query: query.clone(),
        });
        match CurveView::new(Arc::new(store), "SQL result", StyleRequest::default(), None) {
            Ok(view) => self.shown = Some(view),
            Err(e) => self.error = Some(e),
        }
        self.sql = Some(query);
        true
    }

    pub fn replace_connection(&mut self, connection: Connection) {
        self.connection = connection;
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    pub fn last_run(&self) -> Option<RunStats> {
        self.last_run
    }

    /// Run `task` with a clone of the connection; its message arrives with a repaint.
    fn spawn<F, Fut>(&mut self, ctx: &egui::Context, what: &'static str, task: F)
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = Message> + Send + 'static,
    {
        self.error = None;
        self.spawn_keeping_error(ctx, what, task);
    }

    /// [`Self::spawn`] for work the user did not ask for here: the error shown stays.
    fn spawn_keeping_error<F, Fut>(&mut self, ctx: &egui::Context, what: &'static str, task: F)
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = Message> + Send + 'static,
    {
        self.busy = Some(what);
        let (sender, ctx) = (self.sender.clone(), ctx.clone());
        let work = task(self.connection.clone());
        super::spawn_caught(
            &self.runtime,
            work,
            move |panic| Message::Failed(format!("{what} stopped: {panic}")),
            move |message| {
                if sender.send(message).is_err() {
                    tracing::debug!("an explorer task finished after the view closed");
                }
                ctx.request_repaint();
            },
        );
    }

    /// Draw the curves complete so far while a run streams (the first time, what was shown
    /// is kept aside in case the run fails).
    fn show_partial(&mut self) {
        let Some(running) = &mut self.running else {
            return;
        };
        if !running.partial.has_changed().unwrap_or(false) {
            return;
        }
        let Some(store) = running.partial.borrow_and_update().clone() else {
            return;
        };
        let name = format!("{}.{}", self.database, self.table);
        match CurveView::new(store, &name, StyleRequest::default(), None) {
            Ok(view) => {
                let before = self.shown.replace(view);
                running.before.get_or_insert(before);
            }
            Err(e) => tracing::debug!(error = %e, "partial curves not drawn"),
        }
    }

    /// Take in what background tasks reported; called every frame, shown or not.
    pub fn receive(&mut self, ctx: &egui::Context) {
        let generation = super::tables_generation(ctx);
        if generation != self.tables_generation {
            self.tables_generation = generation;
            self.list_tables_again(ctx);
        }
        self.receive_messages(ctx);
        self.continue_drill(ctx);
    }

    fn receive_messages(&mut self, ctx: &egui::Context) {
        self.show_partial();
        while let Ok(message) = self.inbox.try_recv() {
            self.busy = None;
            match message {
                Message::Databases(Ok(databases)) => {
                    self.databases = databases;
                    if self.databases.contains(&self.database) {
                        self.load_tables(ctx);
                    }
                }
                Message::Tables(Ok(tables)) => {
                    self.tables = tables;
                    if let Some(source) = &self.pending
                        && self.tables.iter().any(|t| t.name == source.table)
                    {
                        self.table = source.table.clone();
                        self.load_columns(ctx);
                    }
                }
                Message::Columns(Ok(columns)) => {
                    self.draft = match self.pending.take() {
                        Some(source) if source.table == self.table => source.mapping,
                        _ => guess_mapping(&self.table, &columns),
                    };
                    self.columns = columns;
                    self.load_filters(ctx);
                }
                Message::Curves(Ok(fetched)) => {
                    let (store, source, events) = *fetched;
                    let (sql, pinned_x) = match &source {
                        Source::ClickHouse { query, x_range, .. } => {
                            (query.clone(), x_range.map(|[from, to]| (from, to)))
                        }
                        _ => (String::new(), None),
                    };
                    self.source = Some(source);
                    if let Some(running) = self.running.take() {
                        let p = *running.progress.borrow();
                        let stats = RunStats {
                            rows: p.rows,
                            bytes: p.bytes,
                            elapsed: running.started.elapsed(),
                        };
                        let mut summary = format!(
                            "{} curve{}, {} points from {} rows ({:.1} MB) in {:.0} ms",
                            store.len(),
                            if store.len() == 1 { "" } else { "s" },
                            store.point_count(),
                            stats.rows,
                            stats.bytes as f64 / 1e6,
                            stats.elapsed.as_secs_f64() * 1e3
                        );
                        if pinned_x.is_some() {
                            summary.push_str(&format!(
                                ".\nBinned by the server into {RUN_WIDTH_PX} pixel columns (M4: \
                                 the same picture as every sample). A dataset saved from this \
                                 run keeps these points, not every sample."
                            ));
                        }
                        self.summary = Some(summary);
                        self.last_run = Some(stats);
                    }
                    let name = format!("{}.{}", self.database, self.table);
                    // Server-side bins are the plot's pixel columns only over the fetched range.
                    let request = StyleRequest::default();
                    match CurveView::new(Arc::new(store), &name, request, pinned_x) {
                        Ok(view) => self.shown = Some(view.with_events(events)),
                        Err(e) => self.error = Some(e),
                    }
                    self.sql = Some(sql);
                }
                Message::Saved(Ok(note)) => self.saved = Some(note),
                Message::Values(column, Ok(values)) => {
                    match self.filters.iter_mut().find(|f| f.column == column) {
                        // A drill set this filter before its values came.
                        Some(filter) => filter.values = values,
                        None => self.filters.push(Filter {
                            column,
                            values,
                            chosen: ANY.to_owned(),
                        }),
                    }
                }
                Message::Values(column, Err(e)) => {
                    tracing::warn!(%column, error = %e, "filter values not read");
                }
                Message::Estimate(Ok((estimate, range))) => {
                    self.estimate = Some(describe_estimate(estimate, range, self.curve_limit));
                }
                Message::Estimate(Err(e)) => {
                    self.estimate = None;
                    self.error = Some(e);
                }
                Message::Databases(Err(e))
                | Message::Saved(Err(e))
                | Message::Tables(Err(e))
                | Message::Columns(Err(e))
                | Message::Curves(Err(e))
                | Message::Failed(e) => {
                    tracing::warn!(error = %e, "explorer task failed");
                    // What was shown before the run comes back; partial curves go.
                    if let Some(Running {
                        before: Some(before),
                        ..
                    }) = self.running.take()
                    {
                        self.shown = before;
                    }
                    self.error = Some(e);
                }
            }
        }
    }

    fn load_tables(&mut self, ctx: &egui::Context) {
        let database = self.database.clone();
        self.tables.clear();
        self.columns.clear();
        self.table.clear();
        self.spawn(ctx, "listing tables", |c| async move {
            Message::Tables(c.list_tables(&database).await.map_err(|e| e.to_string()))
        });
    }

    /// The open database's tables listed again (a view created one), what is chosen kept.
    fn list_tables_again(&mut self, ctx: &egui::Context) {
        if !self.databases.contains(&self.database) {
            return;
        }
        let database = self.database.clone();
        self.spawn_keeping_error(ctx, "listing tables", |c| async move {
            Message::Tables(c.list_tables(&database).await.map_err(|e| e.to_string()))
        });
    }

    /// The mapping's label columns' values, one query each, for the filter menus.
    fn load_filters(&mut self, ctx: &egui::Context) {
        self.filters.clear();
        let (database, table) = (self.database.clone(), self.table.clone());
        for column in self.mapping().labels {
            let (database, table) = (database.clone(), table.clone());
            self.spawn(ctx, "reading label values", |c| async move {
                let values = c
                    .distinct_values(&database, &table, &column, FILTER_VALUES)
                    .await
                    .map_err(|e| e.to_string());
                Message::Values(column, values)
            });
        }
    }

    fn load_columns(&mut self, ctx: &egui::Context) {
        let (database, table) = (self.database.clone(), self.table.clone());
        self.columns.clear();
        // They spoke of the table before.
        self.estimate = None;
        self.saved = None;
        self.spawn(ctx, "reading columns", |c| async move {
            Message::Columns(
                c.list_columns(&database, &table)
                    .await
                    .map_err(|e| e.to_string()),
            )
        });
    }

    /// The mapping the draft describes: the template's for its tables, else the draft's.
    fn mapping(&self) -> SourceMapping {
        if let Some(preset) = template_preset(&self.table) {
            return preset.mapping(&self.database);
        }
        let y_is_array = self
            .columns
            .iter()
            .any(|c| c.name == self.draft.y && c.kind == ColumnKind::NumberArray);
        let layout = if y_is_array {
            CurveLayout::Arrays {
                y: self.draft.y.clone(),
                x: if self.draft.x.is_empty() {
                    ArrayX::Uniform { x0: 0.0, dx: 1.0 }
                } else {
                    ArrayX::Column(self.draft.x.clone())
                },
            }
        } else {
            CurveLayout::Long {
                x: self.draft.x.clone(),
                y: self.draft.y.clone(),
            }
        };
        SourceMapping {
            database: self.database.clone(),
            table: self.table.clone(),
            series_keys: vec![self.draft.key.clone()],
            labels: self.draft.labels.clone(),
            layout,
        }
    }

    /// The column a time range applies to: a long table's x, or an array table's row time
    /// (a `DateTime` column or a mapped time label); `None` where there is none.
    fn time_column(&self) -> Option<ColumnInfo> {
        let mapping = self.mapping();
        let is_time = |c: &ColumnInfo| {
            matches!(
                c.kind,
                ColumnKind::DateTime | ColumnKind::Date | ColumnKind::DateTime64 { .. }
            )
        };
        match &mapping.layout {
            CurveLayout::Long { x, .. } => self
                .columns
                .iter()
                .find(|c| &c.name == x)
                .filter(|c| is_time(c))
                .cloned(),
            CurveLayout::Arrays { .. } => self
                .columns
                .iter()
                .find(|c| {
                    is_time(c)
                        && (c.kind == ColumnKind::DateTime || mapping.labels.contains(&c.name))
                })
                .cloned(),
        }
    }

    /// Everything a run or an estimate needs, or why the inputs do not make one.
    fn request(&self) -> Result<RunRequest, String> {
        let mapping = self.mapping();
        let validated = mapping.validate(&self.columns).map_err(|e| e.to_string())?;
        let time_column = self.time_column();
        let choice = match &time_column {
            Some(_) => self.time.choice()?,
            None => RangeChoice::All,
        };
        let equals = self
            .filters
            .iter()
            .filter(|f| f.chosen != ANY)
            .map(|f| (f.column.clone(), f.chosen.clone()))
            .collect();
        Ok(RunRequest {
            validated,
            selection: CurveSelection {
                limit: Some(self.curve_limit.max(1)),
                equals,
                ..CurveSelection::default()
            },
            time_column,
            choice,
        })
    }

    /// Count what a run would read (a `count()` query, no samples sent).
    fn estimate(&mut self, ctx: &egui::Context) {
        let request = match self.request() {
            Ok(request) => request,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        self.estimate = None;
        self.spawn(ctx, "estimating", move |c| async move {
            let estimated = async {
                let (selection, range) = request.resolve(&c).await?;
                let x_range = match request.validated.mapping.layout {
                    CurveLayout::Long { .. } => range,
                    CurveLayout::Arrays { .. } => None,
                };
                let estimate = c.estimate(&request.validated, &selection, x_range).await?;
                Ok::<_, ClickHouseError>((estimate, range))
            };
            Message::Estimate(estimated.await.map_err(|e| e.to_string()))
        });
    }

    fn run(&mut self, ctx: &egui::Context) {
        let request = match self.request() {
            Ok(request) => request,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        let mapping = request.validated.mapping.clone();
        let preset = template_preset(&self.table);
        let account = self.connection.profile().keychain_account();
        let (progress, watch) = tokio::sync::watch::channel(FetchProgress::default());
        let (partial_sender, partial) = tokio::sync::watch::channel(None);
        let cancel = CancellationToken::new();
        self.running = Some(Running {
            progress: watch,
            partial,
            before: None,
            cancel: cancel.clone(),
            started: Instant::now(),
        });
        self.spawn(ctx, "fetching curves", move |c| async move {
            let fetched = async {
                let (selection, range) = tokio::select! {
                    resolved = request.resolve(&c) => resolved?,
                    () = cancel.cancelled() => return Err(ClickHouseError::Cancelled),
                };
                let validated = &request.validated;
                let mut x_range = None;
                let plan = match mapping.layout {
                    CurveLayout::Long { .. } => {
                        let (from, to) = match range {
                            Some(range) => range,
                            None => {
                                let extent = tokio::select! {
                                    extent = c.x_extent(validated, &selection) => extent?,
                                    () = cancel.cancelled() => return Err(ClickHouseError::Cancelled),
                                };
                                extent.unwrap_or((0.0, 1.0))
                            }
                        };
                        let (from, to) = if from < to {
                            (from, to)
                        } else {
                            (from - 0.5, to + 0.5)
                        };
                        x_range = Some([from, to]);
                        let view = PixelView {
                            x_start: from,
                            x_end: to,
                            width_px: RUN_WIDTH_PX,
                        };
                        CurveQuery::long_m4(validated, &selection, view)?
                    }
                    CurveLayout::Arrays { .. } => CurveQuery::arrays(validated, &selection)?,
                };
                let options = FetchOptions {
                    progress: Some(&progress),
                    cancel: Some(&cancel),
                    partial: Some(&partial_sender),
                };
                let mut store = c.fetch_curves(&plan, options).await?;
                if let Some(preset) = preset {
                    store.set_axes(preset.axes());
                }
                // Events and alarms over a time axis; the curves come without them on error.
                let events = match x_range {
                    Some([from, to]) if store.axes().x_is_time => c
                        .production_events(&mapping.database, (from, to), EVENT_LIMIT)
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "production events not read");
                            Vec::new()
                        }),
                    _ => Vec::new(),
                };
                let source = Source::ClickHouse {
                    connection: account,
                    database: mapping.database.clone(),
                    table: mapping.table.clone(),
                    columns: Some(Box::new(ColumnRoles::from(&mapping))),
                    keys: Vec::new(),
                    limit: selection.limit,
                    x_range,
                    width_px: x_range.map(|_| RUN_WIDTH_PX),
                    query: plan.sql.display(),
                };
                Ok::<_, ClickHouseError>(Box::new((store, source, events)))
            };
            Message::Curves(fetched.await.map_err(|e| e.to_string()))
        });
    }

    /// The explorer's part of the Connections view.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.receive(&ctx);
        if std::mem::take(&mut self.scroll_to_top) {
            ui.scroll_to_cursor(Some(egui::Align::TOP));
        }
        ui.horizontal(|ui| {
            let before = self.database.clone();
            egui::ComboBox::from_label("Database")
                .selected_text(&self.database)
                .show_ui(ui, |ui| {
                    for name in &self.databases {
                        ui.selectable_value(&mut self.database, name.clone(), name);
                    }
                });
            if self.database != before {
                self.load_tables(&ctx);
            }
            let before = self.table.clone();
            egui::ComboBox::from_label("Table")
                .selected_text(&self.table)
                .show_ui(ui, |ui| {
                    for table in &self.tables {
                        ui.selectable_value(
                            &mut self.table,
                            table.name.clone(),
                            format!("{} ({})", table.name, table.engine),
                        );
                    }
                });
            if self.table != before && !self.table.is_empty() {
                self.load_columns(&ctx);
            }
            if let Some(what) = self.busy {
                ui.spinner();
                ui.label(what);
            }
            if let Some(running) = &self.running {
                let p = *running.progress.borrow();
                ui.label(format!("{} rows, {:.1} MB", p.rows, p.bytes as f64 / 1e6));
                if ui.button("Cancel").clicked() {
                    running.cancel.cancel();
                }
            }
        });
        if !self.columns.is_empty() {
            self.mapping_ui(ui);
        }
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if let Some(summary) = &self.summary {
            ui.label(summary);
        }
        if let Some(sql) = &self.sql {
            ui.collapsing("SQL that ran", |ui| {
                ui.code(sql);
                if ui.button("Copy SQL").clicked() {
                    ui.ctx().copy_text(sql.clone());
                }
            });
        }
        let runtime = self.runtime.clone();
        self.activity.ui(ui, &runtime, &self.connection);
        if !self.database.is_empty() {
            // The dashboard reads the manufacturing template's tables.
            let template = [
                PROCESS_CURVES,
                "production_events",
                "process_results_hourly",
            ]
            .iter()
            .all(|name| self.tables.iter().any(|t| t.name == *name));
            if template
                && let Some(drill) =
                    self.dashboard
                        .ui(ui, &runtime, &self.connection, &self.database)
            {
                self.drill(ui.ctx(), drill);
            }
            self.storage
                .ui(ui, &runtime, &self.connection, &self.database);
        }
        if self.shown.is_some() {
            self.save_ui(ui);
        }
        // History is judged per cycle: tables of one row per curve only.
        let arrays = matches!(self.mapping().layout, CurveLayout::Arrays { .. });
        if let Some(mut view) = self.shown.take() {
            let mut history = std::mem::take(&mut self.history);
            let runtime = self.runtime.clone();
            if arrays {
                history.ui(
                    ui,
                    &runtime,
                    &self.connection,
                    &|recipe, streamed| self.history_job(recipe, streamed),
                    &mut view,
                );
            }
            self.history = history;
            view.ui(ui);
            self.shown = Some(view);
        }
    }

    /// Judging `recipe` over the table, filters and time range chosen (no curve limit:
    /// every cycle): in the server where it can, else streamed through the client (`streamed`
    /// reused when it holds the same selection).
    fn history_job(
        &self,
        recipe: Recipe,
        streamed: Option<Streamed>,
    ) -> Result<HistoryJob, String> {
        let request = self.request()?;
        let c = self.connection.clone();
        let labels = &request.validated.mapping.labels;
        let group_by = ["station", "line", "program"]
            .into_iter()
            .find(|name| labels.iter().any(|l| l == name))
            .map(str::to_owned)
            .or_else(|| labels.first().cloned());
        // What the streamed cycles depend on (a range relative to now keeps its key).
        let key = format!(
            "{:?} {:?} {:?}",
            request.validated.mapping, request.selection.equals, request.choice
        );
        Ok(Box::pin(async move {
            let (mut selection, range) = request.resolve(&c).await.map_err(|e| e.to_string())?;
            let range = match range {
                Some((from, to)) => format!(
                    "{} – {} UTC",
                    format_instant(from, TimeZoneChoice::Utc, "%Y-%m-%d %H:%M"),
                    format_instant(to, TimeZoneChoice::Utc, "%Y-%m-%d %H:%M")
                ),
                None => "All data".to_owned(),
            };
            selection.limit = None;
            let time = request.time_column.as_ref().map(|c| c.name.clone());
            if server_refusal(&recipe).is_none() {
                let yields = c
                    .judge_history(
                        &request.validated,
                        &selection,
                        &recipe,
                        group_by.as_deref(),
                        time.as_deref(),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(HistoryOutcome {
                    yields,
                    range,
                    streamed: None,
                });
            }
            let streamed = match streamed.filter(|s| s.key == key) {
                Some(kept) => kept,
                None => {
                    // One more than allowed, to tell "too many" from "exactly as many".
                    selection.limit = Some(STREAM_LIMIT + 1);
                    let plan = CurveQuery::arrays(&request.validated, &selection)
                        .map_err(|e| e.to_string())?;
                    let store = c
                        .fetch_curves(&plan, FetchOptions::default())
                        .await
                        .map_err(|e| e.to_string())?;
                    if store.len() as u64 > STREAM_LIMIT {
                        return Err(format!(
                            "More than {STREAM_LIMIT} cycles in the range: too many to stream for \
                             windows and lines. Narrow the range or the filters, or judge with \
                             envelopes, min/max and no-pass boxes, which run in the server."
                        ));
                    }
                    Streamed {
                        key,
                        store: Arc::new(store),
                    }
                }
            };
            let store = Arc::clone(&streamed.store);
            // Number crunching off the I/O threads.
            let yields = tokio::task::spawn_blocking(move || {
                let ids: Vec<CurveId> = (0..store.len() as CurveId).collect();
                judge_yields(&store, &ids, &recipe, group_by.as_deref()).1
            })
            .await
            .map_err(|e| format!("judging stopped: {e}"))?;
            Ok(HistoryOutcome {
                yields,
                range,
                streamed: Some(streamed),
            })
        }))
    }

    /// Save what was fetched as a dataset folder, for review with no network.
    fn save_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            PathField {
                label: "Save as dataset",
                hint: "/path/to/new-dataset",
                width: 300.0,
                kind: DialogKind::SaveFolder,
            }
            .ui(ui, &mut self.save_dir, &mut self.save_dialog);
            let any_selected = self
                .shown
                .as_ref()
                .is_some_and(|view| !view.selection().is_empty());
            ui.add_enabled(
                any_selected,
                egui::Checkbox::new(&mut self.save_selected_only, "Only the selected curves"),
            );
            let ready = !self.save_dir.trim().is_empty() && self.busy.is_none();
            if ui
                .add_enabled(ready, egui::Button::new("Save dataset"))
                .clicked()
                && let (Some(view), Some(source)) = (&self.shown, &self.source)
            {
                let dir = PathBuf::from(self.save_dir.trim());
                let selected: Vec<_> = view.selection().iter().copied().collect();
                let only_selected = self.save_selected_only && !selected.is_empty();
                let (store, source) = (Arc::clone(view.store()), source.clone());
                let saved_view = SavedView {
                    colour_by: view.colour_by().map(str::to_owned),
                    thresholds: view
                        .limits()
                        .iter()
                        .map(|(label, y)| Threshold {
                            label: label.clone(),
                            y: *y,
                        })
                        .collect(),
                    reference: view.taught_reference().cloned().map(Box::new),
                    recipe: view.recipe(),
                    ..SavedView::default()
                };
                let (sender, ctx) = (self.sender.clone(), ui.ctx().clone());
                self.busy = Some("saving");
                self.saved = None;
                // File work: a plain thread, not the I/O runtime's workers.
                std::thread::spawn(move || {
                    let name = dir.file_name().map_or_else(
                        || "dataset".to_owned(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                    let options = SaveOptions {
                        name,
                        source,
                        view: saved_view,
                        replace: false,
                    };
                    let subset = if only_selected {
                        match store.subset(&selected) {
                            Ok(subset) => Arc::new(subset),
                            Err(e) => {
                                let result = Err(format!("cannot take the selection: {e}"));
                                if sender.send(Message::Saved(result)).is_err() {
                                    tracing::debug!("a save failed after the view closed");
                                }
                                return;
                            }
                        }
                    } else {
                        store
                    };
                    let result = dataset::save(&subset, &dir, &options)
                        .map(|m| {
                            format!(
                                "saved {} curves, {} points to {}",
                                m.counts.curves,
                                m.counts.points,
                                dir.display()
                            )
                        })
                        .map_err(|e| e.to_string());
                    if sender.send(Message::Saved(result)).is_err() {
                        tracing::debug!("a dataset was saved after the view closed");
                    }
                    ctx.request_repaint();
                });
            }
            if let Some(saved) = &self.saved {
                ui.label(saved);
            }
        });
    }

    fn mapping_ui(&mut self, ui: &mut egui::Ui) {
        let template = template_preset(&self.table).is_some();
        ui.horizontal(|ui| {
            if template {
                ui.label("The manufacturing template's table: mapped as the template says.");
            } else {
                let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
                for (label, value, optional) in [
                    ("Key", &mut self.draft.key, false),
                    ("x", &mut self.draft.x, true),
                    ("y", &mut self.draft.y, false),
                ] {
                    egui::ComboBox::from_label(label)
                        .selected_text(if value.is_empty() {
                            "—"
                        } else {
                            value.as_str()
                        })
                        .show_ui(ui, |ui| {
                            if optional {
                                ui.selectable_value(value, String::new(), "— (sample index)");
                            }
                            for name in &names {
                                ui.selectable_value(value, name.clone(), name);
                            }
                        });
                }
            }
        });
        if !self.filters.is_empty() {
            ui.horizontal_wrapped(|ui| {
                ui.label("Filter");
                for filter in &mut self.filters {
                    egui::ComboBox::from_label(filter.column.as_str())
                        .selected_text(filter.chosen.as_str())
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut filter.chosen, ANY.to_owned(), ANY);
                            for value in &filter.values {
                                ui.selectable_value(&mut filter.chosen, value.clone(), value);
                            }
                        });
                }
            });
        }
        match self.time_column() {
            Some(_) => self.time.ui(ui),
            None => {
                ui.weak("No time column mapped: every row is read.");
            }
        }
        // The library's own verdict, as the mapping is edited.
        let verdict = self.mapping().validate(&self.columns).map(|_| ());
        ui.horizontal(|ui| {
            match &verdict {
                Ok(()) => ui.label("mapping fits the table"),
                Err(e) => ui.colored_label(ui.visuals().warn_fg_color, e.to_string()),
            };
            let label = ui.label("Curve limit");
            ui.add(
                egui::DragValue::new(&mut self.curve_limit)
                    .range(1..=crate::render::gpu::MAX_CURVES as u64),
            )
            .labelled_by(label.id);
            let ready = verdict.is_ok() && self.busy.is_none();
            if ui
                .add_enabled(ready, egui::Button::new("Estimate"))
                .clicked()
            {
                let ctx = ui.ctx().clone();
                self.estimate(&ctx);
            }
            if ui.add_enabled(ready, egui::Button::new("Run")).clicked() {
                let ctx = ui.ctx().clone();
                self.run(&ctx);
            }
        });
        if let Some(estimate) = &self.estimate {
            ui.label(estimate);
        }
        ui.horizontal(|ui| {
            labelled_field_ui(
                ui,
                "Source name",
                &mut self.source_name,
                "press line 3, force",
                180.0,
            );
            let ready = verdict.is_ok() && !self.source_name.trim().is_empty();
            if ui
                .add_enabled(ready, egui::Button::new("Save as source"))
                .on_hover_text("Keep this table and mapping in the sources panel")
                .clicked()
            {
                self.saved_source = Some(SavedSource {
                    name: self.source_name.trim().to_owned(),
                    connection: self.connection.profile().keychain_account(),
                    database: self.database.clone(),
                    table: self.table.clone(),
                    mapping: self.draft.clone(),
                });
            }
        });
    }
}

/// The template's preset for a table of its name.
fn template_preset(table: &str) -> Option<Preset> {
    match table {
        "process_curves" => Some(Preset::ProcessCurves),
        "sensor_readings" => Some(Preset::SensorReadings),
        _ => None,
    }
}

/// A first mapping from the columns: the first text column as the key, the first axis column as
/// x, the first array (else the last number) as y, other text columns as labels.
fn guess_mapping(table: &str, columns: &[ColumnInfo]) -> Draft {
    if template_preset(table).is_some() {
        return Draft::default();
    }
    let arrays: Vec<&ColumnInfo> = columns
        .iter()
        .filter(|c| c.kind == ColumnKind::NumberArray)
        .collect();
    let text = |c: &&ColumnInfo| c.kind == ColumnKind::Text;
    let (key, y, x) = if let Some(y) = arrays.first() {
        // One row per curve: the key is the row's id (an integer column, an `…id` one first),
        // else a text column; x is a second array when there is one, else the sample index.
        let integer =
            |c: &&ColumnInfo| c.kind == ColumnKind::Number && !c.type_name.contains("Float");
        let key = columns
            .iter()
            .filter(integer)
            .find(|c| c.name.to_lowercase().ends_with("id"))
            .or_else(|| columns.iter().find(integer))
            .or_else(|| columns.iter().find(text));
        let x = arrays.get(1).map(|c| c.name.clone()).unwrap_or_default();
        (key, y.name.clone(), x)
    } else {
        let key = columns.iter().find(text);
        let y = columns
            .iter()
            .rev()
            .find(|c| c.kind == ColumnKind::Number)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let key_name = key.map(|c| c.name.as_str()).unwrap_or_default();
        let x = columns
            .iter()
            .find(|c| c.kind.is_axis() && c.name != y && c.name != key_name)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        (key, y, x)
    };
    let key = key.map(|c| c.name.clone()).unwrap_or_default();
    let labels = columns
        .iter()
        .filter(|c| text(c) && c.name != key && !c.name.starts_with('_'))
        .map(|c| c.name.clone())
        .collect();
    Draft { key, x, y, labels }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, type_name: &str, kind: ColumnKind) -> ColumnInfo {
        ColumnInfo {
            name: name.to_owned(),
            type_name: type_name.to_owned(),
            kind,
        }
    }

    #[test]
    fn a_foreign_table_is_guessed_as_its_layout_reads() {
        // One row per cycle: the cycle is the key, x the sample index, text columns labels.
        let arrays = [
            column("cycle", "UInt64", ColumnKind::Number),
            column("station", "String", ColumnKind::Text),
            column("ts", "DateTime", ColumnKind::DateTime),
            column("force", "Array(Float32)", ColumnKind::NumberArray),
        ];
        let draft = guess_mapping("press_cycles", &arrays);
        assert_eq!(
            (draft.key.as_str(), draft.x.as_str(), draft.y.as_str()),
            ("cycle", "", "force")
        );
        assert_eq!(draft.labels, ["station"]);
        // Long rows: a text key, the time as x, the last number as y.
        let long = [
            column("machine", "String", ColumnKind::Text),
            column("t", "DateTime", ColumnKind::DateTime),
            column("temperature", "Float64", ColumnKind::Number),
            column("phase", "String", ColumnKind::Text),
        ];
        let draft = guess_mapping("oven_temps", &long);
        assert_eq!(
            (draft.key.as_str(), draft.x.as_str(), draft.y.as_str()),
            ("machine", "t", "temperature")
        );
        assert_eq!(draft.labels, ["phase"]);
    }
}
