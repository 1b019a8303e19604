//! The explorer's "Quality over history" section: the shown view's recipe (its windows,
//! boxes and envelope) judged over every cycle of the explorer's table, filters and time
//! range — in ClickHouse where the server can (`Connection::judge_history`: only counts cross
//! the network), else (windows, line crossings) streamed once through the client and kept, so
//! changes are judged again there without fetching — the yield overall, per object, per station
//! and per hour, judged again as the recipe changes (a drag in the plot included) while "Live"
//! is on. Below, the recipes kept on the server
//! (`lyceum_recipes`, versioned with author and time): save the view's recipe and reference as
//! the next version, or load any version into the view.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use serde::{Deserialize, Serialize};

use super::curve_view::CurveView;
use crate::curves::CurveStore;
use crate::curves::quality::Recipe;
use crate::curves::quality::yields::Yields;
use crate::render::plot::{TimeZoneChoice, format_instant};
use crate::source::clickhouse::Connection;
use crate::source::clickhouse::recipes::RecipeVersion;
use crate::source::clickhouse::verdicts::server_refusal;
use crate::source::dataset::TaughtReference;

/// What a saved version holds: the recipe's own objects and the reference its envelope is
/// drawn from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedQuality {
    pub recipe: Option<Recipe>,
    pub reference: Option<TaughtReference>,
}

/// Cycles streamed to the client for a recipe the server cannot judge, kept for the next
/// change of the recipe while the table, filters and range stay (`key`).
#[derive(Clone)]
pub struct Streamed {
    pub key: String,
    pub store: Arc<CurveStore>,
}

/// A history judged: the yields, the range in words, and the cycles streamed if the client
/// judged them.
pub struct HistoryOutcome {
    pub yields: Yields,
    pub range: String,
    pub streamed: Option<Streamed>,
}

/// The judging of history for one recipe, ready to run on the I/O runtime.
pub type HistoryJob =
    std::pin::Pin<Box<dyn Future<Output = Result<HistoryOutcome, String>> + Send>>;

/// What a finished judging shows: yields, range, milliseconds, and whether the client judged.
type Shown = (Yields, String, f64, bool);

enum Message {
    Judged(Box<Result<(HistoryOutcome, f64), String>>),
    Versions(Result<Vec<RecipeVersion>, String>),
    /// A version saved (its note) and the versions listed after it.
    Saved(Result<(String, Vec<RecipeVersion>), String>),
}

pub struct HistoryPanel {
    live: bool,
    /// The recipe of the last run started (a changed one is judged again while live).
    judged: Option<Recipe>,
    running: bool,
    result: Option<Result<Shown, String>>,
    /// Cycles streamed for the client's judging, reused while they still match.
    streamed: Option<Streamed>,
    versions: Vec<RecipeVersion>,
    versions_note: Option<Result<String, String>>,
    sender: SyncSender<Message>,
    inbox: Receiver<Message>,
}

impl Default for HistoryPanel {
    fn default() -> Self {
        let (sender, inbox) = sync_channel(16);
        Self {
            live: true,
            judged: None,
            running: false,
            result: None,
            streamed: None,
            versions: Vec::new(),
            versions_note: None,
            sender,
            inbox,
        }
    }
}

impl std::fmt::Debug for HistoryPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryPanel")
            .field("live", &self.live)
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}

impl HistoryPanel {
    fn spawn(
        &self,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
        work: impl Future<Output = Message> + Send + 'static,
    ) {
        super::spawn_answer(runtime, ctx, &self.sender, work, |panic| {
            Message::Versions(Err(format!("the work stopped: {panic}")))
        });
    }

    fn receive(&mut self) {
        while let Ok(message) = self.inbox.try_recv() {
            match message {
                Message::Judged(result) => {
                    self.running = false;
                    self.result = Some(match *result {
                        Ok((outcome, elapsed_ms)) => {
                            let in_client = outcome.streamed.is_some();
                            if outcome.streamed.is_some() {
                                self.streamed = outcome.streamed;
                            }
                            Ok((outcome.yields, outcome.range, elapsed_ms, in_client))
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "judging history failed");
                            Err(e)
                        }
                    });
                }
                Message::Versions(Ok(versions)) => self.versions = versions,
                Message::Versions(Err(e)) => {
                    self.running = false;
                    self.versions_note = Some(Err(e));
                }
                Message::Saved(Ok((note, versions))) => {
                    self.versions_note = Some(Ok(note));
                    self.versions = versions;
                }
                Message::Saved(Err(e)) => self.versions_note = Some(Err(e)),
            }
        }
    }

    fn judge(
        &mut self,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
        job_of: &dyn Fn(Recipe, Option<Streamed>) -> Result<HistoryJob, String>,
        recipe: Recipe,
    ) {
        self.judged = Some(recipe.clone());
        let job = match job_of(recipe, self.streamed.clone()) {
            Ok(job) => job,
            Err(e) => {
                self.result = Some(Err(e));
                return;
            }
        };
        self.running = true;
        self.spawn(runtime, ctx, async move {
            let started = std::time::Instant::now();
            let judged = job
                .await
                .map(|outcome| (outcome, started.elapsed().as_secs_f64() * 1e3));
            Message::Judged(Box::new(judged))
        });
    }

    /// The section. `job_of` makes the judging of a recipe over the explorer's selection (or
    /// says why it cannot); `view` is the shown curves' view, whose recipe is judged and into
    /// which a version loads.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
        job_of: &dyn Fn(Recipe, Option<Streamed>) -> Result<HistoryJob, String>,
        view: &mut CurveView,
    ) {
        self.receive();
        let ctx = ui.ctx().clone();
        let has_recipe = view.has_quality_recipe();
        // Live: a changed recipe (a limit dragged) is judged again once the last run is in.
        if self.live
            && !self.running
            && has_recipe
            && self
                .judged
                .as_ref()
                .is_some_and(|judged| !view.quality_recipe_is(judged))
        {
            self.judge(runtime, &ctx, job_of, view.quality_recipe());
        }
        egui::CollapsingHeader::new("Quality over history (judged in the server)")
            .id_salt("history section")
            .show(ui, |ui| {
                ui.weak(
                    "The view's recipe over every cycle of the table, filters and time range \
                     above — in ClickHouse; only the counts come back.",
                );
                ui.horizontal(|ui| {
                    let ready = has_recipe && !self.running;
                    if ui
                        .add_enabled(ready, egui::Button::new("Judge history"))
                        .on_disabled_hover_text("Teach a reference or add an object in Quality")
                        .clicked()
                    {
                        self.judge(runtime, &ctx, job_of, view.quality_recipe());
                    }
                    ui.checkbox(&mut self.live, "Live")
                        .on_hover_text("Judge again whenever the recipe changes");
                    if self.running {
                        ui.spinner();
                    }
                });
                self.result_ui(ui);
                ui.separator();
                self.versions_ui(ui, runtime, connection, view);
            });
    }

    /// The last result, told by the recipe last sent to be judged.
    fn result_ui(&self, ui: &mut egui::Ui) {
        let no_objects = Recipe::default();
        let recipe = self.judged.as_ref().unwrap_or(&no_objects);
        match &self.result {
            None => {}
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            Some(Ok((yields, range, elapsed_ms, in_client))) => {
                let o = yields.overall;
                ui.label(format!(
                    "{range}: {} of {} cycles pass ({:.2} %).",
                    o.passed,
                    o.judged,
                    o.percent()
                ))
                .on_hover_text(format!("judged in {elapsed_ms:.0} ms"));
                if *in_client {
                    ui.weak(format!(
                        "Judged in the client ({}); the cycles are kept for the next change.",
                        server_refusal(recipe).unwrap_or_default()
                    ));
                }
                super::recipe::yields_details_ui(ui, "history", &recipe.objects, yields);
            }
        }
    }

    fn versions_ui(
        &mut self,
        ui: &mut egui::Ui,
        runtime: &tokio::runtime::Handle,
        connection: &Connection,
        view: &mut CurveView,
    ) {
        let ctx = ui.ctx().clone();
        let database = connection.profile().database.clone();
        ui.horizontal(|ui| {
            ui.strong("Recipes on the server");
            ui.weak(format!("({database}.lyceum_recipes)"));
        });
        ui.horizontal(|ui| {
            let saved = SavedQuality {
                recipe: view.recipe(),
                reference: view.taught_reference().cloned(),
            };
            let any = saved.recipe.is_some() || saved.reference.is_some();
            if ui
                .add_enabled(any, egui::Button::new("Save as next version"))
                .on_disabled_hover_text("Teach a reference or add an object in Quality")
                .clicked()
            {
                let name = view.quality_recipe().name;
                let c = connection.clone();
                let database = database.clone();
                self.spawn(runtime, &ctx, async move {
                    let saved = async {
                        let body = serde_json::to_string(&saved)
                            .map_err(|e| format!("the recipe cannot be written: {e}"))?;
                        let version = c
                            .save_recipe_version(&database, &name, "", &body)
                            .await
                            .map_err(|e| e.to_string())?;
                        let versions = c
                            .recipe_versions(&database)
                            .await
                            .map_err(|e| e.to_string())?;
                        Ok((format!("Saved {name} version {version}."), versions))
                    };
                    Message::Saved(saved.await)
                });
            }
            if ui.button("Refresh").clicked() {
                self.list(runtime, &ctx, connection, database.clone());
            }
        });
        match &self.versions_note {
            Some(Ok(note)) => {
                ui.label(note);
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
        let mut load = None;
        egui::Grid::new("recipe versions")
            .striped(true)
            .show(ui, |ui| {
                for (i, v) in self.versions.iter().enumerate() {
                    ui.label(format!("{} v{}", v.name, v.version));
                    ui.label(&v.author);
                    ui.label(format_instant(
                        v.saved_at as f64,
                        TimeZoneChoice::Utc,
                        "%Y-%m-%d %H:%M UTC",
                    ));
                    if ui.small_button("Load").clicked() {
                        load = Some(i);
                    }
                    ui.end_row();
                }
            });
        if let Some(version) = load.and_then(|i| self.versions.get(i)) {
            match serde_json::from_str::<SavedQuality>(&version.body) {
                Ok(saved) => {
                    view.load_quality(saved.reference, saved.recipe);
                    self.versions_note = Some(Ok(format!(
                        "Loaded {} version {}.",
                        version.name, version.version
                    )));
                }
                Err(e) => {
                    self.versions_note = Some(Err(format!(
                        "{} version {} does not read as a recipe: {e}",
                        version.name, version.version
                    )));
                }
            }
        }
    }

    /// Ask for the saved versions.
    fn list(
        &self,
        runtime: &tokio::runtime::Handle,
        ctx: &egui::Context,
        connection: &Connection,
        database: String,
    ) {
        let c = connection.clone();
        self.spawn(runtime, ctx, async move {
            Message::Versions(
                c.recipe_versions(&database)
                    .await
                    .map_err(|e| e.to_string()),
            )
        });
    }
}
