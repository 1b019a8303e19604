//! The details panel's Quality section, the same in every view: teach a reference from the
//! shown curves, the selection or the shown OK cycles (alignment, bins, envelope rule), then
//! see how many shown curves leave the envelope (the yield), the envelope drawn over the plot,
//! and the shown curves ranked by their distance from the reference — a click on a row lifts
//! that curve; below it the recipe (`app/recipe`): windows, lines and boxes judged with the
//! envelope as the user drags them. The envelope's margin follows its field and its handle in
//! the plot without teaching again. The work (`curves::quality`) runs on a thread of its own
//! and answers over a channel with a repaint, so the UI never waits for it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use super::recipe::RecipeEditor;
use super::widgets::cut;
use crate::curves::quality::outliers::scores;
use crate::curves::quality::{
    Alignment, BinGrid, Distance, Envelope, EnvelopeRule, Recipe, rank, teach,
};
use crate::curves::{CurveId, CurveStore};
use crate::render::plot::{Band, Handle, Shape};
use crate::render::style::{pass_fail_label, verdict};
use crate::source::dataset::TaughtReference;

/// Rows of the ranking shown.
const RANKING_ROWS: usize = 20;
/// A ranked curve's labels are cut after this many characters (all of them on hover).
const LABELS_CHARS: usize = 40;

/// Which curves teach the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TeachFrom {
    Shown,
    Selection,
    /// The shown curves whose pass/fail label says pass.
    Passed,
}

/// What a finished job found.
#[derive(Debug)]
pub struct Judged {
    taught: TaughtReference,
    /// Saved with the dataset rather than taught here.
    saved: bool,
    /// Shown curves judged.
    judged: usize,
    /// Shown curves by L2 distance, farthest first.
    ranking: Vec<(CurveId, f64)>,
    /// Among the top (as many as there are fails): how many fail by the label, of how many.
    fails_on_top: Option<(usize, usize)>,
    elapsed_ms: f64,
}

/// What the section asks of its view.
#[derive(Debug, PartialEq)]
pub enum QualityAction {
    /// Select this curve alone (lifted on top).
    Lift(CurveId),
    /// Draw this envelope (none: take it away).
    Band(Option<Band>),
    /// Colour each curve by its verdict: `true` where it fails the recipe.
    ColourByVerdict(Vec<(CurveId, bool)>),
}

#[derive(Debug)]
pub struct QualityPanel {
    from: TeachFrom,
    alignment: usize,
    bins: usize,
    rule: usize,
    k: f64,
    dy: f64,
    dx_bins: f64,
    job: Option<Receiver<Result<Judged, String>>>,
    result: Option<Result<Judged, String>>,
    recipe: RecipeEditor,
    /// The plot's visible range `[x_min, x_max, y_min, y_max]`: new objects go there.
    pub view: [f64; 4],
}

/// The envelope margin's handle in the plot (the recipe's objects number theirs from 0).
const MARGIN_HANDLE: usize = usize::MAX;
const MARGIN_COLOUR: [u8; 3] = [80, 200, 170];

impl Default for QualityPanel {
    fn default() -> Self {
        Self {
            from: TeachFrom::Shown,
            alignment: 0,
            bins: 200,
            rule: 0,
            k: 3.0,
            dy: 0.0,
            dx_bins: 0.0,
            job: None,
            result: None,
            recipe: RecipeEditor::default(),
            view: [0.0, 1.0, 0.0, 1.0],
        }
    }
}

const ALIGNMENTS: [(&str, Alignment); 3] = [
    ("absolute x", Alignment::Absolute),
    ("peak", Alignment::Peak),
    ("end", Alignment::Final),
];
const RULES: [&str; 3] = ["mean ± k·σ", "median ± k·MAD", "min/max ± ΔY, ± ΔX"];

impl QualityPanel {
    /// Teach and judge on a worker thread.
    fn start(
        &mut self,
        ctx: &egui::Context,
        store: Arc<CurveStore>,
        shown: Vec<CurveId>,
        selection: &BTreeSet<CurveId>,
    ) {
        let is_fail = fail_of(&store);
        let taught: Vec<CurveId> = match self.from {
            TeachFrom::Shown => shown.clone(),
            TeachFrom::Selection => selection.iter().copied().collect(),
            TeachFrom::Passed => shown
                .iter()
                .copied()
                .filter(|&id| is_fail(id) == Some(false))
                .collect(),
        };
        let alignment = ALIGNMENTS[self.alignment.min(ALIGNMENTS.len() - 1)].1;
        let bins = self.bins.max(1);
        let settings = (self.rule, self.k, self.dy, self.dx_bins);
        self.spawn(ctx, move || {
            if taught.is_empty() {
                return Err("nothing to teach from: no curve in that set".to_owned());
            }
            let grid = BinGrid::spanning(&store, &taught, alignment, bins).ok_or_else(|| {
                "the curves of that set have no point the alignment finds".to_owned()
            })?;
            let reference = teach(&store, &taught, alignment, grid, &[]);
            let envelope = Envelope::from_reference(&reference, envelope_rule(settings, &grid));
            Ok(judge(
                &store,
                &shown,
                TaughtReference {
                    reference,
                    envelope,
                },
                false,
            ))
        });
    }

    /// Judge the shown curves by a reference saved with the dataset (no teaching).
    pub fn restore(
        &mut self,
        ctx: &egui::Context,
        store: Arc<CurveStore>,
        shown: Vec<CurveId>,
        saved: TaughtReference,
    ) {
        self.spawn(ctx, move || Ok(judge(&store, &shown, saved, true)));
    }

    /// A recipe saved with the dataset or on the server: its objects (the envelope comes
    /// with the reference).
    pub fn restore_recipe(&mut self, recipe: Recipe) {
        self.recipe.restore(recipe.name, recipe.objects);
    }

    /// The recipe judged: the user's objects and the envelope in use.
    pub fn full_recipe(&self) -> Recipe {
        self.recipe.recipe(self.taught().map(|t| &t.envelope))
    }

    /// Whether `recipe` is the one [`Self::full_recipe`] gives now (no copy made).
    pub fn recipe_is(&self, recipe: &Recipe) -> bool {
        self.recipe.is(recipe, self.taught().map(|t| &t.envelope))
    }

    /// Whether there is anything to judge by: an object or a taught envelope.
    pub fn has_recipe(&self) -> bool {
        !self.recipe.objects().is_empty() || self.taught().is_some()
    }

    /// The recipe's own objects, to save with a dataset (none: no object).
    pub fn recipe_to_save(&self) -> Option<Recipe> {
        (!self.recipe.objects().is_empty()).then(|| self.recipe.recipe(None))
    }

    /// The recipe's objects and the envelope's margin handle, to draw over the plot.
    pub fn marks(&self) -> (Vec<Shape>, Vec<Handle>) {
        let (shapes, mut handles) = self.recipe.marks();
        handles.extend(self.margin_handle());
        (shapes, handles)
    }

    /// The envelope's upper edge at the bin nearest the middle of the view, where it has one.
    fn margin_handle(&self) -> Option<Handle> {
        let envelope = &self.taught()?.envelope;
        if envelope.alignment != Alignment::Absolute {
            return None;
        }
        let bin = margin_bin(envelope, (self.view[0] + self.view[1]) / 2.0)?;
        Some(Handle {
            id: MARGIN_HANDLE,
            at: [envelope.grid.centre(bin), envelope.upper[bin]],
            colour: MARGIN_COLOUR,
        })
    }

    /// A handle dragged in the plot; what the view should do.
    pub fn drag(&mut self, handle: usize, at: [f64; 2]) -> Option<QualityAction> {
        if self.recipe.owns(handle) {
            self.recipe.drag(handle, at);
            return None;
        }
        if handle != MARGIN_HANDLE {
            return None;
        }
        let taught = self.taught()?;
        let bin = margin_bin(&taught.envelope, (self.view[0] + self.view[1]) / 2.0)?;
        // The upper edge is linear in the margin: find the margin that puts it at the pointer.
        let grid = taught.envelope.grid;
        let settings = (self.rule, self.k, self.dy, self.dx_bins);
        let upper_with = |margin: f64| {
            let rule = with_margin(envelope_rule(settings, &grid), margin);
            Envelope::from_reference(&taught.reference, rule).upper[bin]
        };
        let base = upper_with(0.0);
        let scale = upper_with(1.0) - base;
        if !(scale.is_finite() && scale > 0.0) {
            return None;
        }
        let margin = ((at[1] - base) / scale).max(0.0);
        if self.rule < 2 {
            self.k = margin;
        } else {
            self.dy = margin;
        }
        self.follow_margin()
    }

    /// Draw the envelope again from the reference when its rule or margin changed.
    fn follow_margin(&mut self) -> Option<QualityAction> {
        let settings = (self.rule, self.k, self.dy, self.dx_bins);
        let Some(Ok(judged)) = &mut self.result else {
            return None;
        };
        let rule = envelope_rule(settings, &judged.taught.envelope.grid);
        if judged.taught.envelope.rule == rule {
            return None;
        }
        judged.taught.envelope = Envelope::from_reference(&judged.taught.reference, rule);
        Some(QualityAction::Band(band_of(&judged.taught.envelope)))
    }

    /// The reference in use, to save with a dataset.
    pub fn taught(&self) -> Option<&TaughtReference> {
        match &self.result {
            Some(Ok(judged)) => Some(&judged.taught),
            _ => None,
        }
    }

    /// Run `work` on a thread of its own; its answer arrives in [`Self::ui`].
    fn spawn(
        &mut self,
        ctx: &egui::Context,
        work: impl FnOnce() -> Result<Judged, String> + Send + 'static,
    ) {
        let (sender, inbox) = sync_channel(1);
        self.job = Some(inbox);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("judge curves".into())
            .spawn(move || {
                if sender.send(work()).is_err() {
                    tracing::debug!("curves were judged after their view closed");
                }
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            self.job = None;
            self.result = Some(Err(format!("cannot start the work: {e}")));
        }
    }

    /// The section; what the view should do.
    /// `shown` lists the shown curves; it is called only when work starts.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        store: &Arc<CurveStore>,
        shown: &dyn Fn() -> Vec<CurveId>,
        selection: &BTreeSet<CurveId>,
    ) -> Option<QualityAction> {
        let mut action = None;
        if let Some(inbox) = &self.job {
            match inbox.try_recv() {
                Ok(result) => {
                    self.job = None;
                    if let Ok(judged) = &result {
                        self.take_rule(&judged.taught.envelope);
                    }
                    action = Some(QualityAction::Band(
                        result
                            .as_ref()
                            .ok()
                            .and_then(|j| band_of(&j.taught.envelope)),
                    ));
                    self.result = Some(result);
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    self.job = None;
                    self.result = Some(Err("the work stopped".into()));
                }
            }
        }
        // Folded by default: the panel's other sections keep their place.
        egui::CollapsingHeader::new("Quality")
            .id_salt("quality section")
            .default_open(false)
            .show(ui, |ui| {
                if let Some(asked) = self.controls_ui(ui, store, shown, selection) {
                    action = Some(asked);
                }
            });
        if let Some(asked) = self.follow_margin() {
            action = Some(asked);
        }
        // Judged again whenever the recipe or the envelope changed, folded or not.
        let envelope = match &self.result {
            Some(Ok(judged)) => Some(&judged.taught.envelope),
            _ => None,
        };
        self.recipe.poll(ui.ctx(), store, shown, envelope);
        action
    }

    /// The controls follow an envelope taught or saved with a dataset.
    fn take_rule(&mut self, envelope: &Envelope) {
        match envelope.rule {
            EnvelopeRule::MeanSigma { k } => (self.rule, self.k) = (0, k),
            EnvelopeRule::MedianMad { k } => (self.rule, self.k) = (1, k),
            EnvelopeRule::MinMax { dy, dx } => {
                self.rule = 2;
                self.dy = dy;
                self.dx_bins = if envelope.grid.dx > 0.0 {
                    dx / envelope.grid.dx
                } else {
                    0.0
                };
            }
        }
    }

    /// The section's controls and results, when unfolded.
    fn controls_ui(
        &mut self,
        ui: &mut egui::Ui,
        store: &Arc<CurveStore>,
        shown: &dyn Fn() -> Vec<CurveId>,
        selection: &BTreeSet<CurveId>,
    ) -> Option<QualityAction> {
        let mut action = None;
        ui.horizontal_wrapped(|ui| {
            ui.label("Teach from");
            ui.selectable_value(&mut self.from, TeachFrom::Shown, "shown");
            ui.selectable_value(&mut self.from, TeachFrom::Selection, "selection");
            if pass_fail_label(store).is_some() {
                ui.selectable_value(&mut self.from, TeachFrom::Passed, "shown OK");
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.label("Align");
            for (i, (name, _)) in ALIGNMENTS.iter().enumerate() {
                ui.selectable_value(&mut self.alignment, i, *name);
            }
            let label = ui.label("bins");
            ui.add(egui::DragValue::new(&mut self.bins).range(1..=10_000))
                .labelled_by(label.id);
        });
        ui.horizontal_wrapped(|ui| {
            ui.label("Envelope");
            for (i, name) in RULES.iter().enumerate() {
                ui.selectable_value(&mut self.rule, i, *name);
            }
        });
        ui.horizontal_wrapped(|ui| {
            if self.rule < 2 {
                let label = ui.label("k");
                ui.add(
                    egui::DragValue::new(&mut self.k)
                        .speed(0.1)
                        .range(0.0..=100.0),
                )
                .labelled_by(label.id);
            } else {
                let label = ui.label("ΔY");
                ui.add(egui::DragValue::new(&mut self.dy).speed(0.01))
                    .labelled_by(label.id);
                let label = ui.label("ΔX (bins)");
                ui.add(egui::DragValue::new(&mut self.dx_bins).range(0.0..=100.0))
                    .labelled_by(label.id);
            }
            let busy = self.job.is_some();
            if ui
                .add_enabled(!busy, egui::Button::new("Teach reference"))
                .clicked()
            {
                self.start(ui.ctx(), Arc::clone(store), shown(), selection);
            }
            if busy {
                ui.spinner();
            }
            if self.result.as_ref().is_some_and(Result::is_ok) && ui.button("Clear").clicked() {
                self.result = None;
                action = Some(QualityAction::Band(None));
            }
        });
        match &self.result {
            None => {}
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            Some(Ok(judged)) => {
                // The time only on hover: the text keeps its length from run to run.
                ui.label(format!(
                    "Reference {} {} curves; {} shown judged.",
                    if judged.saved {
                        "saved with the dataset, from"
                    } else {
                        "from"
                    },
                    judged.taught.reference.curves,
                    judged.judged,
                ))
                .on_hover_text(format!("judged in {:.0} ms", judged.elapsed_ms));
                if judged.taught.envelope.alignment != Alignment::Absolute {
                    ui.weak("The band is in aligned x, so it is not drawn over the curves.");
                } else {
                    ui.weak("Drag the band's square handle to widen or narrow it.");
                }
                if let Some((on_top, fails)) = judged.fails_on_top {
                    ui.label(format!(
                        "NOK among the top {fails} by distance: {on_top} ({:.0} %).",
                        100.0 * on_top as f64 / fails as f64
                    ));
                }
                ui.strong("Farthest from the reference");
                let outcome = self.recipe.outcome();
                egui::Grid::new("ranking").striped(true).show(ui, |ui| {
                    for &(id, distance) in judged.ranking.iter().take(RANKING_ROWS) {
                        if ui
                            .add(egui::Button::new(store.key(id)).small())
                            .on_hover_text("Select this curve")
                            .clicked()
                        {
                            action = Some(QualityAction::Lift(id));
                        }
                        let labels = labels_text(store, id);
                        ui.label(cut(&labels, LABELS_CHARS)).on_hover_text(labels);
                        ui.label(format!("{distance:.4}"));
                        ui.label(match outcome.and_then(|o| o.fails(id)) {
                            Some(true) => "fails",
                            Some(false) => "passes",
                            None => "",
                        });
                        ui.end_row();
                    }
                });
            }
        }
        ui.separator();
        if self.recipe.ui(ui, store, self.view)
            && let Some(outcome) = self.recipe.outcome()
        {
            action = Some(QualityAction::ColourByVerdict(outcome.failed()));
        }
        action
    }
}

/// A curve's label values, the empty ones left out.
fn labels_text(store: &CurveStore, id: CurveId) -> String {
    store
        .label_columns()
        .iter()
        .filter_map(|c| store.label(&c.name, id).filter(|v| !v.is_empty()))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Whether curve `id` fails by the store's pass/fail label (none: no such label or word).
fn fail_of(store: &Arc<CurveStore>) -> impl Fn(CurveId) -> Option<bool> + use<> {
    let store = Arc::clone(store);
    let label = pass_fail_label(&store).map(str::to_owned);
    move |id| verdict(store.label(label.as_deref()?, id)?)
}

/// The shown curves judged by `taught`: inside or outside its envelope, ranked by L2 distance
/// from its mean, and how many labelled fails are among the farthest.
fn judge(
    store: &Arc<CurveStore>,
    shown: &[CurveId],
    taught: TaughtReference,
    saved: bool,
) -> Judged {
    let started = std::time::Instant::now();
    let is_fail = fail_of(store);
    let distances = scores(
        store,
        shown,
        &taught.reference,
        &taught.envelope,
        Distance::L2,
    );
    let ranking: Vec<(CurveId, f64)> = rank(&distances)
        .into_iter()
        .map(|i| (shown[i], distances[i]))
        .collect();
    let fails = shown
        .iter()
        .filter(|&&id| is_fail(id) == Some(true))
        .count();
    let fails_on_top = (fails > 0).then(|| {
        let on_top = ranking
            .iter()
            .take(fails)
            .filter(|(id, ..)| is_fail(*id) == Some(true))
            .count();
        (on_top, fails)
    });
    Judged {
        taught,
        saved,
        judged: shown.len(),
        ranking,
        fails_on_top,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    }
}

/// The envelope rule chosen: `(rule, k, ΔY, ΔX in bins)` of the controls.
fn envelope_rule((rule, k, dy, dx_bins): (usize, f64, f64, f64), grid: &BinGrid) -> EnvelopeRule {
    match rule {
        0 => EnvelopeRule::MeanSigma { k },
        1 => EnvelopeRule::MedianMad { k },
        _ => EnvelopeRule::MinMax {
            dy,
            dx: dx_bins * grid.dx,
        },
    }
}

/// `rule` with its margin (k, or ΔY for min/max) set to `margin`.
fn with_margin(rule: EnvelopeRule, margin: f64) -> EnvelopeRule {
    match rule {
        EnvelopeRule::MeanSigma { .. } => EnvelopeRule::MeanSigma { k: margin },
        EnvelopeRule::MedianMad { .. } => EnvelopeRule::MedianMad { k: margin },
        EnvelopeRule::MinMax { dx, .. } => EnvelopeRule::MinMax { dy: margin, dx },
    }
}

/// The bin with limits nearest `x`.
fn margin_bin(envelope: &Envelope, x: f64) -> Option<usize> {
    let grid = envelope.grid;
    let wanted = ((x - grid.x0) / grid.dx)
        .floor()
        .clamp(0.0, grid.bins as f64 - 1.0) as usize;
    (0..grid.bins)
        .filter(|&b| !envelope.upper[b].is_nan() && !envelope.lower[b].is_nan())
        .min_by_key(|&b| b.abs_diff(wanted))
}

/// The envelope over plot x, where it is in plot coordinates (absolute alignment).
fn band_of(envelope: &Envelope) -> Option<Band> {
    (envelope.alignment == Alignment::Absolute).then(|| Band {
        name: "reference envelope".into(),
        points: (0..envelope.grid.bins)
            .map(|i| {
                let (lo, hi) = (envelope.lower[i], envelope.upper[i]);
                [envelope.grid.centre(i), lo, (lo + hi) / 2.0, hi]
            })
            .collect(),
    })
}
