//! One plot of curves as the user explores it, the same in every view (demo plant, dataset,
//! explorer run). [`CurveView`] is its state: the library's styling of the store
//! ([`crate::render::style`], recomputed when the user colours by another label or
//! highlights NOK) plus the user's own changes on top — the selection (click, shift-click,
//! shift-drag box), curves hidden or isolated, colours picked, legend categories switched
//! off (the selection in amber on top) — and the hovered curve, drawn over the picture (no
//! restyle: hovering draws no new picture). [`CurveView::plot_ui`] draws the plot and
//! applies what was picked; [`CurveView::toolbar_ui`] and [`CurveView::details_ui`] are the
//! controls and the details panel (statistics, selection list). Restyling uploads the style
//! table only: nothing is decimated again.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::export::{ExportPanel, ExportSource};
use super::quality::{QualityAction, QualityPanel};
use super::shell;
use super::widgets::{grouped, labelled_field_ui, short_number};
use crate::curves::quality::across::Spread;
use crate::curves::{CurveId, CurveStore};
use crate::render::gpu::{BaseMode, CurveStyle};
use crate::render::plot::{
    Decimation, DecimationMode, PlotCurves, PlotLabels, PlotMarks, PlotPicks, StackSlot,
    TimeZoneChoice, curves_plot_with_marks_ui, format_instant,
};
use crate::render::style::{
    ColourBy, StyleRequest, Styling, legend_colours, pass_fail_label, plot_labels, style_curves,
};
use crate::source::clickhouse::ProductionEvent;

/// Width of a selected curve's line, physical pixels.
const SELECTED_WIDTH_PX: f32 = 2.5;
/// Colour of a selected curve the user has not coloured: in its own colour, one curve among
/// thousands of the same colour could not be told apart. Amber is in no palette of ours and
/// reads on dark and light plots.
const SELECTED_RGBA: [u8; 4] = [255, 190, 0, 255];
/// Priority of a curve the user has coloured: over every library style (NOK, highlights), so
/// the colour stays in sight once the curve is no longer selected; under the selection.
const COLOURED_PRIORITY: u8 = u8::MAX - 2;
/// Plots in a stack at most (the selection's first, else the first shown curves).
const MAX_STACK: usize = 12;
/// Height of one stacked plot, points.
const STACK_PLOT_HEIGHT: f32 = 150.0;

/// How the user left a source's view, kept per source name in egui's persisted memory
/// (eframe saves it with the window): colouring, draw mode, layout, time zone, limits.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct ViewMemory {
    /// `None`: auto; `Some("")`: one colour; else the label.
    colour_by: Option<String>,
    density: bool,
    stacked: bool,
    local_time: bool,
    limits: Vec<(String, f64)>,
}

/// One curve in a plot of its own, in the stack.
#[derive(Debug)]
struct StackPlot {
    id: CurveId,
    curves: Arc<PlotCurves>,
    labels: PlotLabels,
}

/// A spread across curves and what it is of (`y at A`, `Δy from A to B`).
type NamedSpread = (&'static str, Option<Spread>);

/// What the spreads across curves depend on: the cursors' x and which curves are shown.
#[derive(Clone, Debug, PartialEq)]
struct AcrossKey {
    x: [Option<u64>; 2],
    request: StyleRequest,
    hidden: BTreeSet<CurveId>,
    legend_hidden: Vec<String>,
}

/// The two cursors' names, placed with these keys.
const CURSOR_NAMES: [&str; 2] = ["A", "B"];
/// Rows of the selection list drawn at most (the rest are counted).
const SELECTION_ROWS: usize = 200;

/// A plot of one store and the user's changes to it.
#[derive(Debug)]
pub struct CurveView {
    name: String,
    curves: Arc<PlotCurves>,
    request: StyleRequest,
    /// The library's styling for `request`: the picture before the user's changes.
    base: Styling,
    labels: PlotLabels,
    selection: BTreeSet<CurveId>,
    /// The selection before the last click in the plot: a double-click (a view reset) puts
    /// it back, so that its first click picks nothing.
    selection_before_click: BTreeSet<CurveId>,
    hidden: BTreeSet<CurveId>,
    colours: HashMap<CurveId, [u8; 4]>,
    /// Legend categories switched off (values of `base.colour_by`).
    legend_hidden: Vec<String>,
    hovered: Option<CurveId>,
    /// The colour the picker offers for the selection.
    pick_colour: egui::Color32,
    pinned_x: Option<(f64, f64)>,
    export: ExportPanel,
    quality: QualityPanel,
    /// The spreads across curves at the cursors, and what they were computed for.
    across: Option<(AcrossKey, Vec<NamedSpread>)>,
    /// A reference saved with the dataset, judged by at the first frame.
    saved_reference: Option<crate::source::dataset::TaughtReference>,
    /// Limit lines (spec limits, alarm levels) and the two cursors, drawn over the curves.
    marks: PlotMarks,
    limit_name: String,
    limit_y: String,
    cursors: [Option<[f64; 2]>; 2],
    /// One plot per curve, sharing x and the cursor (sensors one above the other), rather
    /// than all curves in one plot.
    stacked: bool,
    stack: Vec<StackPlot>,
    /// Curves the user put in the stack from the sources panel, in their order; empty: the
    /// stack follows the selection.
    stack_pick: Vec<CurveId>,
    /// The sources panel's filter over curve keys.
    stack_filter: String,
    events: Vec<ProductionEvent>,
    /// The view memory last stored, `None` until restored at the first frame.
    memory: Option<ViewMemory>,
    /// The user's colours changed since they were last stored (kept apart from
    /// [`ViewMemory`], which is compared every frame, and written only when they change).
    colours_unsaved: bool,
    /// Not drawn yet: the plot's memory from an earlier view of the same source (zoom,
    /// legend switches) is dropped at the first frame.
    fresh: bool,
}

impl CurveView {
    /// The curves of `store` styled for `request`; `pinned_x` is an x-range shown exactly
    /// (server-side bins).
    pub fn new(
        store: Arc<CurveStore>,
        name: &str,
        request: StyleRequest,
        pinned_x: Option<(f64, f64)>,
    ) -> Result<Self, String> {
        let base = style_curves(&store, &request).map_err(|e| e.to_string())?;
        let labels = plot_labels(name, store.axes(), &base);
        let mut curves = PlotCurves::new(
            egui::Id::unique(("plot", name)),
            store,
            base.styles.clone(),
            DecimationMode::Background,
            Decimation::M4,
        )
        .map_err(|e| e.to_string())?;
        if let Some(range) = pinned_x {
            curves = curves.with_pinned_x(range);
        }
        Ok(Self {
            name: name.to_owned(),
            curves: Arc::new(curves),
            request,
            base,
            labels,
            selection: BTreeSet::new(),
            selection_before_click: BTreeSet::new(),
            hidden: BTreeSet::new(),
            colours: HashMap::new(),
            colours_unsaved: false,
            legend_hidden: Vec::new(),
            hovered: None,
            pick_colour: egui::Color32::from_rgb(20, 170, 120),
            pinned_x,
            export: ExportPanel::default(),
            quality: QualityPanel::default(),
            saved_reference: None,
            across: None,
            marks: PlotMarks::default(),
            limit_name: String::new(),
            limit_y: String::new(),
            cursors: [None; 2],
            stacked: false,
            stack: Vec::new(),
            stack_pick: Vec::new(),
            stack_filter: String::new(),
            events: Vec::new(),
            memory: None,
            fresh: true,
        })
    }

    /// Limit lines to start with (a dataset's saved thresholds).
    #[must_use]
    pub fn with_limits(mut self, limits: Vec<(String, f64)>) -> Self {
        self.marks.limits = limits;
        self
    }

    /// Production events and alarms over the time axis, listed in the details panel.
    #[must_use]
    pub fn with_events(mut self, events: Vec<ProductionEvent>) -> Self {
        self.marks.events = events.iter().map(|e| (e.at_secs, e.is_alarm())).collect();
        self.events = events;
        self
    }

    /// Judge by a reference and a recipe saved with the dataset (the envelope and the
    /// recipe's objects drawn, the yield given).
    pub fn with_quality(
        mut self,
        reference: Option<crate::source::dataset::TaughtReference>,
        recipe: Option<crate::curves::quality::Recipe>,
    ) -> Self {
        self.saved_reference = reference;
        if let Some(recipe) = recipe {
            self.quality.restore_recipe(recipe);
        }
        self
    }

    /// The reference taught or restored in the Quality section, to save with a dataset.
    pub fn taught_reference(&self) -> Option<&crate::source::dataset::TaughtReference> {
        self.quality.taught()
    }

    /// The Quality section's recipe (its own objects), to save with a dataset.
    pub fn recipe(&self) -> Option<crate::curves::quality::Recipe> {
        self.quality.recipe_to_save()
    }

    /// The recipe as judged: its objects and the envelope in use.
    pub fn quality_recipe(&self) -> crate::curves::quality::Recipe {
        self.quality.full_recipe()
    }

    /// Whether `recipe` is [`Self::quality_recipe`] now (asked every frame: no copy made).
    pub fn quality_recipe_is(&self, recipe: &crate::curves::quality::Recipe) -> bool {
        self.quality.recipe_is(recipe)
    }

    /// Whether the Quality section has anything to judge by.
    pub fn has_quality_recipe(&self) -> bool {
        self.quality.has_recipe()
    }

    /// A reference and recipe loaded from the server: judged by at the next frame.
    pub fn load_quality(
        &mut self,
        reference: Option<crate::source::dataset::TaughtReference>,
        recipe: Option<crate::curves::quality::Recipe>,
    ) {
        self.saved_reference = reference;
        self.quality.restore_recipe(recipe.unwrap_or_default());
    }

    /// The limit lines, as a dataset saves them.
    pub fn limits(&self) -> &[(String, f64)] {
        &self.marks.limits
    }

    pub fn curves(&self) -> &Arc<PlotCurves> {
        &self.curves
    }

    /// The name the view was opened with (a file's, a dataset's, a source's).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn store(&self) -> &Arc<CurveStore> {
        self.curves.store()
    }

    pub fn request(&self) -> &StyleRequest {
        &self.request
    }

    /// The label colours come from now, if any.
    pub fn colour_by(&self) -> Option<&str> {
        self.base.colour_by.as_deref()
    }

    pub fn selection(&self) -> &BTreeSet<CurveId> {
        &self.selection
    }

    /// The curves the user sees, in id order.
    pub fn shown_ids(&self) -> Vec<CurveId> {
        (0..self.store().len() as CurveId)
            .filter(|&id| self.is_shown(id))
            .collect()
    }

    /// What an export takes from this view.
    fn export_source(&self) -> ExportSource {
        ExportSource {
            store: Arc::clone(self.store()),
            selected: self.selection.iter().copied().collect(),
            shown: self.shown_ids(),
            style: self.request.clone(),
            mode: self.curves.mode(),
            name: self.name.clone(),
            pinned_x: self.pinned_x,
        }
    }

    /// Restyle for `request` (filters, colouring, NOK highlight); the user's changes stay.
    pub fn set_request(&mut self, request: StyleRequest) -> Result<(), String> {
        if request == self.request {
            return Ok(());
        }
        let base = style_curves(self.store(), &request).map_err(|e| e.to_string())?;
        self.labels = plot_labels(&self.name, self.store().axes(), &base);
        if base.colour_by != self.base.colour_by {
            self.legend_hidden.clear();
        }
        self.base = base;
        self.request = request;
        self.apply_styles();
        self.show_user_colours_in_legend();
        Ok(())
    }

    /// Whether the user sees curve `id`: the library shows it and the user has not hidden it.
    fn is_shown(&self, id: CurveId) -> bool {
        let index = id as usize;
        if !self.base.styles[index].is_visible() || self.hidden.contains(&id) {
            return false;
        }
        match &self.base.colour_by {
            Some(label) if !self.legend_hidden.is_empty() => self
                .store()
                .label(label, id)
                .is_none_or(|value| !self.legend_hidden.iter().any(|hidden| hidden == value)),
            _ => true,
        }
    }

    /// The styles the GPU draws: the library's, with the user's changes on top.
    fn effective_styles(&self) -> Vec<CurveStyle> {
        (0..self.store().len() as CurveId)
            .map(|id| {
                let mut style = self.base.styles[id as usize];
                if !self.is_shown(id) {
                    return style.hidden();
                }
                let selected = self.selection.contains(&id);
                match self.colours.get(&id) {
                    Some(rgba) => {
                        style.rgba = u32::from_le_bytes(*rgba);
                        style = style.with_priority(COLOURED_PRIORITY);
                    }
                    None if selected => style.rgba = u32::from_le_bytes(SELECTED_RGBA),
                    None => {}
                }
                if selected {
                    style = style
                        .with_priority(u8::MAX - 1)
                        .highlighted(SELECTED_WIDTH_PX);
                }
                style
            })
            .collect()
    }

    /// The legend's entries in the colour their curves are drawn in: the user's, where they
    /// coloured all of an entry's curves alike (after any change of colours or styling).
    fn show_user_colours_in_legend(&mut self) {
        let colours = legend_colours(self.store(), &self.base, &self.colours);
        for (entry, rgba) in self.labels.legend.iter_mut().zip(colours) {
            entry.1 = rgba;
        }
    }

    fn apply_styles(&self) {
        if let Err(error) = self.curves.set_styles(self.effective_styles()) {
            // The count always matches the store; a mismatch is a bug worth a log line.
            tracing::error!(%error, "restyling the plot failed");
        }
    }

    /// Take in what the user did to the plot this frame.
    fn apply_picks(&mut self, picks: PlotPicks) {
        // Hover is drawn over the picture (`PlotMarks::hovered`): no restyle.
        self.hovered = picks.hovered;
        let mut changed = false;
        if picks.double_clicked {
            // Both clicks reset the view; the first one's pick is undone.
            changed = self.selection != self.selection_before_click;
            self.selection = std::mem::take(&mut self.selection_before_click);
        } else if picks.clicked.is_some() {
            self.selection_before_click = self.selection.clone();
        }
        match picks.clicked.filter(|_| !picks.double_clicked) {
            Some((Some(id), true)) => {
                if !self.selection.remove(&id) {
                    self.selection.insert(id);
                }
                changed = true;
            }
            Some((Some(id), false)) => {
                self.selection = BTreeSet::from([id]);
                changed = true;
            }
            // A click on empty space keeps the selection: a double-click resets the view.
            Some((None, _)) | None => {}
        }
        if let Some((_, ids)) = picks.boxed {
            self.selection.extend(ids);
            changed = true;
        }
        let legend_hidden: Vec<String> = picks
            .legend_hidden
            .iter()
            .filter_map(|&index| self.base.legend.get(index).map(|e| e.value.clone()))
            .collect();
        if legend_hidden != self.legend_hidden {
            self.legend_hidden = legend_hidden;
            changed = true;
        }
        if changed {
            self.apply_styles();
        }
    }

    /// The plot, taking in hover, clicks, box selection and the legend's switches.
    pub fn plot_ui(&mut self, ui: &mut egui::Ui) {
        if std::mem::take(&mut self.fresh) {
            let id = self.curves.id();
            ui.ctx().data_mut(|d| d.remove::<egui_plot::PlotMemory>(id));
        }
        if ui.input(|i| i.key_pressed(egui::Key::Escape)) && !self.selection.is_empty() {
            self.selection.clear();
            self.apply_styles();
        }
        self.marks.cursors = CURSOR_NAMES
            .iter()
            .zip(self.cursors)
            .filter_map(|(name, at)| Some(((*name).to_owned(), at?)))
            .collect();
        if self.stacked {
            self.stack_ui(ui);
            return;
        }
        (self.marks.shapes, self.marks.handles) = self.quality.marks();
        self.marks.hovered = self.hovered;
        let response = curves_plot_with_marks_ui(ui, &self.curves, &self.labels, &self.marks, None);
        let bounds = response.plot.transform.bounds();
        self.quality.view = [
            bounds.min()[0],
            bounds.max()[0],
            bounds.min()[1],
            bounds.max()[1],
        ];
        if let Some((handle, at)) = response.picks.handle_drag
            && let Some(QualityAction::Band(band)) = self.quality.drag(handle, at)
        {
            self.marks.band = band;
        }
        self.place_cursors(ui, response.picks.pointer);
        self.apply_picks(response.picks);
    }

    fn memory_id(&self) -> egui::Id {
        egui::Id::unique(("view memory", self.name.as_str()))
    }

    /// Where the user's colours of this source are kept: by curve key, as a source's curves
    /// are numbered by the order they came in, which may change between fetches.
    fn colours_id(&self) -> egui::Id {
        egui::Id::unique(("view colours", self.name.as_str()))
    }

    /// The user's colours of the curves this store holds, from their keys.
    fn restore_colours(&mut self, saved: &[(String, [u8; 4])]) {
        let index = self.store().key_index();
        let restored: Vec<(CurveId, [u8; 4])> = saved
            .iter()
            .filter_map(|(key, rgba)| Some((*index.get(key.as_str())?, *rgba)))
            .collect();
        self.colours.extend(restored);
    }

    /// The view as the user has it now.
    fn current_memory(&self) -> ViewMemory {
        ViewMemory {
            colour_by: match &self.request.colour_by {
                ColourBy::Auto => None,
                ColourBy::Single => Some(String::new()),
                ColourBy::Label(name) => Some(name.clone()),
            },
            density: self.curves.mode() == BaseMode::Density,
            stacked: self.stacked,
            local_time: self.curves.time_zone() == TimeZoneChoice::Local,
            limits: self.marks.limits.clone(),
        }
    }

    /// At the first frame, the view as the user last left this source; afterwards, store
    /// each change.
    fn remember(&mut self, ctx: &egui::Context) {
        let id = self.memory_id();
        let colours_id = self.colours_id();
        if self.memory.is_none() {
            if let Some(memory) = ctx.data_mut(|d| d.get_persisted::<ViewMemory>(id)) {
                self.apply_memory(&memory);
            }
            if let Some(saved) =
                ctx.data_mut(|d| d.get_persisted::<Vec<(String, [u8; 4])>>(colours_id))
                && !saved.is_empty()
            {
                self.restore_colours(&saved);
                self.apply_styles();
                self.show_user_colours_in_legend();
            }
        }
        if std::mem::take(&mut self.colours_unsaved) {
            let store = self.store();
            let saved: Vec<(String, [u8; 4])> = self
                .colours
                .iter()
                .map(|(&id, &rgba)| (store.key(id).to_owned(), rgba))
                .collect();
            ctx.data_mut(|d| d.insert_persisted(colours_id, saved));
        }
        let now = self.current_memory();
        if self.memory.as_ref() != Some(&now) {
            ctx.data_mut(|d| d.insert_persisted(id, now.clone()));
            self.memory = Some(now);
        }
    }

    fn apply_memory(&mut self, memory: &ViewMemory) {
        let colour_by = match memory.colour_by.as_deref() {
            None => ColourBy::Auto,
            Some("") => ColourBy::Single,
            Some(name) => ColourBy::Label(name.to_owned()),
        };
        let request = StyleRequest {
            colour_by,
            ..self.request.clone()
        };
        // A label the store no longer has: keep the library's colouring.
        if let Err(error) = self.set_request(request) {
            tracing::debug!(%error, "a remembered colouring no longer applies");
        }
        let mode = if memory.density {
            BaseMode::Density
        } else {
            BaseMode::Lines
        };
        self.curves.set_mode(mode);
        self.stacked = memory.stacked;
        let zone = if memory.local_time {
            TimeZoneChoice::Local
        } else {
            TimeZoneChoice::Utc
        };
        self.curves.set_time_zone(zone);
        if !memory.limits.is_empty() {
            self.marks.limits = memory.limits.clone();
        }
    }

    /// The curves the stack shows: those picked in the sources panel, else the selection,
    /// else the first shown, at most [`MAX_STACK`].
    fn stack_ids(&self) -> Vec<CurveId> {
        let ids = if !self.stack_pick.is_empty() {
            self.stack_pick.clone()
        } else if self.selection.is_empty() {
            self.shown_ids()
        } else {
            self.selection.iter().copied().collect()
        };
        ids.into_iter().take(MAX_STACK).collect()
    }

    /// Build the stack's plots again when its curves changed (each its own store and GPU
    /// buffers, in the curve's colour).
    fn sync_stack(&mut self) -> Result<(), String> {
        let ids = self.stack_ids();
        if self.stack.iter().map(|p| p.id).eq(ids.iter().copied()) {
            return Ok(());
        }
        let styles = self.effective_styles();
        let store = Arc::clone(self.store());
        self.stack = ids
            .into_iter()
            .map(|id| {
                let one = store.subset(&[id]).map_err(|e| e.to_string())?;
                let rgba = styles[id as usize].rgba.to_le_bytes();
                let curves = PlotCurves::new(
                    self.curves.id().with(("stack", id)),
                    Arc::new(one),
                    vec![CurveStyle::line(rgba)],
                    DecimationMode::Background,
                    Decimation::M4,
                )
                .map_err(|e| e.to_string())?;
                curves.set_time_zone(self.curves.time_zone());
                let curves = match self.pinned_x {
                    Some(range) => curves.with_pinned_x(range),
                    None => curves,
                };
                Ok(StackPlot {
                    id,
                    curves: Arc::new(curves),
                    labels: PlotLabels {
                        title: store.key(id).to_owned(),
                        x_axis: self.labels.x_axis.clone(),
                        y_axis: store.key(id).to_owned(),
                        legend: Vec::new(),
                    },
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(())
    }

    /// The stack: one plot per curve, x and cursor linked; A / B place the cursors.
    fn stack_ui(&mut self, ui: &mut egui::Ui) {
        if let Err(error) = self.sync_stack() {
            ui.colored_label(ui.visuals().error_fg_color, error);
            return;
        }
        ui.vertical_centered(|ui| {
            ui.heading(format!(
                "{}: {} of {} curves stacked",
                self.name,
                self.stack.len(),
                self.store().len()
            ));
        });
        let group = self.curves.id().with("stack group");
        // The hovered curve is one of this view's, not of a stacked plot's store.
        let marks = PlotMarks {
            hovered: None,
            ..self.marks.clone()
        };
        let mut pointer = None;
        egui::ScrollArea::vertical()
            .id_salt("stack")
            .show(ui, |ui| {
                for plot in &self.stack {
                    // The curve's key as a caption too: a rotated y title is cut short.
                    ui.label(egui::RichText::new(&plot.labels.title).small().weak());
                    plot.curves.set_time_zone(self.curves.time_zone());
                    let slot = StackSlot {
                        group,
                        height: STACK_PLOT_HEIGHT,
                    };
                    let response = curves_plot_with_marks_ui(
                        ui,
                        &plot.curves,
                        &plot.labels,
                        &marks,
                        Some(slot),
                    );
                    pointer = pointer.or(response.picks.pointer);
                }
            });
        self.place_cursors(ui, pointer);
    }

    /// The sources panel's list of this view's curves (sensors), filtered by key: a tick
    /// puts a curve in the stack (and shows the stack), an untick takes it out.
    pub fn stack_sources_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            labelled_field_ui(ui, "Keys", &mut self.stack_filter, "filter", f32::INFINITY);
        });
        // Every frame over every curve: compared in place, no string allocated per key.
        let needle = self.stack_filter.trim().as_bytes();
        let store = Arc::clone(self.store());
        let matching: Vec<CurveId> = (0..store.len() as CurveId)
            // Curves the library's filters leave out (another program) are not offered.
            .filter(|&id| self.base.styles[id as usize].is_visible())
            .filter(|&id| {
                needle.is_empty()
                    || store
                        .key(id)
                        .as_bytes()
                        .windows(needle.len())
                        .any(|w| w.eq_ignore_ascii_case(needle))
            })
            .collect();
        let full = self.stack_pick.len() >= MAX_STACK;
        egui::ScrollArea::vertical()
            .id_salt(("stack sources", self.name.as_str()))
            .max_height(240.0)
            .show_rows(
                ui,
                ui.spacing().interact_size.y,
                matching.len(),
                |ui, rows| {
                    for &id in &matching[rows] {
                        let mut stacked = self.stack_pick.contains(&id);
                        let checkbox = ui.add_enabled(
                            stacked || !full,
                            egui::Checkbox::new(&mut stacked, store.key(id)),
                        );
                        let checkbox = if full && !stacked {
                            checkbox.on_disabled_hover_text(format!(
                                "the stack holds {MAX_STACK} plots at most"
                            ))
                        } else {
                            checkbox
                        };
                        if checkbox.changed() {
                            if stacked {
                                self.stack_pick.push(id);
                                self.stacked = true;
                            } else {
                                self.stack_pick.retain(|&picked| picked != id);
                            }
                        }
                    }
                },
            );
        if !self.stack_pick.is_empty() && ui.small_button("Clear the stack").clicked() {
            self.stack_pick.clear();
        }
    }

    /// A or B over a plot places that cursor (unless a text field takes the keys).
    fn place_cursors(&mut self, ui: &egui::Ui, pointer: Option<[f64; 2]>) {
        if let Some(pointer) = pointer
            && !ui.ctx().egui_wants_keyboard_input()
        {
            for (slot, key) in [egui::Key::A, egui::Key::B].into_iter().enumerate() {
                if ui.input(|i| i.key_pressed(key)) {
                    self.cursors[slot] = Some(pointer);
                }
            }
        }
    }

    /// Draw mode, colouring and NOK highlight.
    pub fn toolbar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            if self.store().len() > 1 {
                ui.label("Layout");
                ui.selectable_value(&mut self.stacked, false, "Overlay");
                ui.selectable_value(&mut self.stacked, true, "Stack");
                ui.separator();
            }
            ui.label("Draw");
            let mode = self.curves.mode();
            for (choice, name) in [(BaseMode::Lines, "Lines"), (BaseMode::Density, "Density")] {
                if ui.selectable_label(mode == choice, name).clicked() {
                    self.curves.set_mode(choice);
                }
            }
            ui.separator();
            let mut request = self.request.clone();
            let shown = match &request.colour_by {
                ColourBy::Auto => format!("auto ({})", self.colour_by().unwrap_or("one colour")),
                ColourBy::Label(name) => name.clone(),
                ColourBy::Single => "one colour".to_owned(),
            };
            egui::ComboBox::from_label("Colour by")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut request.colour_by, ColourBy::Auto, "auto");
                    for column in self.store().label_columns() {
                        let choice = ColourBy::Label(column.name.clone());
                        ui.selectable_value(&mut request.colour_by, choice, &column.name);
                    }
                    ui.selectable_value(&mut request.colour_by, ColourBy::Single, "one colour");
                });
            if self.store().axes().x_is_time {
                ui.separator();
                ui.label("Times in");
                let zone = self.curves.time_zone();
                for choice in [TimeZoneChoice::Utc, TimeZoneChoice::Local] {
                    if ui.selectable_label(zone == choice, choice.name()).clicked() {
                        self.curves.set_time_zone(choice);
                    }
                }
            }
            if pass_fail_label(self.store()).is_some() {
                ui.separator();
                ui.checkbox(&mut request.highlight_failed, "Highlight NOK");
            }
            // The plots shown (the overlay, or each of the stack) that a few far values flatten.
            let flattened: Vec<&Arc<PlotCurves>> = if self.stacked {
                self.stack.iter().map(|plot| &plot.curves).collect()
            } else {
                vec![&self.curves]
            };
            let flattened: Vec<_> = flattened
                .into_iter()
                .filter_map(|curves| Some((curves, curves.typical_y()?)))
                .collect();
            if let Some(&(first, (low, high))) = flattened.first() {
                ui.separator();
                let (y_min, y_max) = first.y_extent();
                let hover = format!(
                    "A few values lie far from the rest: {} span {} to {}, and all but 0.1 % of \
                     their values lie in {} to {}, drawn as a flat line at this scale. \
                     Double-click the plot to see every value again.",
                    if self.stacked {
                        "a stacked plot's curves"
                    } else {
                        "the curves"
                    },
                    short_number(y_min),
                    short_number(y_max),
                    short_number(low),
                    short_number(high)
                );
                if ui
                    .button("Fit y to most values")
                    .on_hover_text(hover)
                    .clicked()
                {
                    for (curves, (low, high)) in &flattened {
                        // A margin as egui_plot gives its default view.
                        let margin = (high - low) * 0.05;
                        curves.show_y_range(low - margin, high + margin);
                    }
                }
            }
            if let Err(error) = self.set_request(request) {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
        });
    }

    /// Statistics and the selection list with hide, isolate and colour.
    pub fn details_ui(&mut self, ui: &mut egui::Ui) {
        let store = Arc::clone(self.store());
        let (shown, points_shown) = (0..store.len() as CurveId)
            .filter(|&id| self.is_shown(id))
            .fold((0, 0), |(curves, points), id| {
                (curves + 1, points + store.y(id).len())
            });
        ui.heading("Statistics");
        // One label per line ("Shown: 120"): read as one by screen readers and tests.
        let mut counts = vec![
            ("Loaded", store.len()),
            ("Shown", shown),
            ("Hidden by you", self.hidden.len()),
            ("Points shown", points_shown),
        ];
        if let Some(failed) = self.base.failed {
            counts.push(("NOK", failed));
        }
        for (name, count) in counts {
            ui.label(format!("{name}: {}", grouped(count as u64)));
        }
        ui.separator();
        ui.heading(format!(
            "Selected: {}",
            grouped(self.selection.len() as u64)
        ));
        if self.selection.is_empty() {
            ui.label(
                "Click a curve to select it; shift-click adds or removes, shift-drag selects \
                 every curve through a box, Esc clears.",
            );
        } else {
            let [r, g, b, _] = SELECTED_RGBA;
            ui.horizontal(|ui| {
                let (swatch, _) =
                    ui.allocate_exact_size(egui::vec2(18.0, 10.0), egui::Sense::hover());
                ui.painter().line_segment(
                    [swatch.left_center(), swatch.right_center()],
                    egui::Stroke::new(SELECTED_WIDTH_PX, egui::Color32::from_rgb(r, g, b)),
                );
                // Wrapped: a line wider than the panel widened it, and the plot beside it
                // moved under the pointer as the selection came and went.
                ui.add(
                    egui::Label::new(
                        egui::RichText::new("selected curves not coloured by you, drawn on top")
                            .weak(),
                    )
                    .wrap(),
                );
            });
        }
        let mut changed = false;
        ui.horizontal_wrapped(|ui| {
            let any = !self.selection.is_empty();
            if ui.add_enabled(any, egui::Button::new("Hide")).clicked() {
                self.hidden.extend(self.selection.iter().copied());
                changed = true;
            }
            if ui.add_enabled(any, egui::Button::new("Isolate")).clicked() {
                // The selected curves shown, every other shown one hidden: curves another
                // program's or the legend's switches leave out are not the user's to count.
                let others: Vec<CurveId> = (0..store.len() as CurveId)
                    .filter(|&id| self.is_shown(id) && !self.selection.contains(&id))
                    .collect();
                self.hidden.extend(others);
                self.hidden.retain(|id| !self.selection.contains(id));
                changed = true;
            }
            if ui
                .add_enabled(!self.hidden.is_empty(), egui::Button::new("Show all"))
                .clicked()
            {
                self.hidden.clear();
                changed = true;
            }
            if ui
                .add_enabled(any, egui::Button::new("Clear selection"))
                .clicked()
            {
                self.selection.clear();
                changed = true;
            }
        });
        ui.horizontal(|ui| {
            ui.color_edit_button_srgba(&mut self.pick_colour);
            let any = !self.selection.is_empty();
            if ui
                .add_enabled(any, egui::Button::new("Colour selection"))
                .clicked()
            {
                let rgba = self.pick_colour.to_srgba_unmultiplied();
                self.colours
                    .extend(self.selection.iter().map(|&id| (id, rgba)));
                self.colours_unsaved = true;
                self.show_user_colours_in_legend();
                changed = true;
            }
            if ui
                .add_enabled(!self.colours.is_empty(), egui::Button::new("Reset colours"))
                .clicked()
            {
                self.colours.clear();
                self.colours_unsaved = true;
                self.show_user_colours_in_legend();
                changed = true;
            }
        });
        egui::ScrollArea::vertical()
            .id_salt("selection list")
            .max_height(220.0)
            .show(ui, |ui| {
                for &id in self.selection.iter().take(SELECTION_ROWS) {
                    let labels: Vec<String> = store
                        .label_columns()
                        .iter()
                        .map(|column| column.values[id as usize].clone())
                        .filter(|value| !value.is_empty())
                        .collect();
                    let text = format!("{}  {}", store.key(id), labels.join(" · "));
                    let hidden = self.hidden.contains(&id);
                    ui.horizontal(|ui| {
                        let mut visible = !hidden;
                        let shown = ui.checkbox(&mut visible, "").on_hover_text("Shown");
                        // Truncated: a long key or label must not widen the panel.
                        ui.add(egui::Label::new(text).truncate());
                        if shown.changed() {
                            if visible {
                                self.hidden.remove(&id);
                            } else {
                                self.hidden.insert(id);
                            }
                            changed = true;
                        }
                    });
                }
                if self.selection.len() > SELECTION_ROWS {
                    ui.label(format!(
                        "… and {} more",
                        self.selection.len() - SELECTION_ROWS
                    ));
                }
            });
        if changed {
            self.apply_styles();
        }
        ui.separator();
        self.limits_ui(ui);
        ui.separator();
        self.cursors_ui(ui);
        if !self.events.is_empty() {
            ui.separator();
            self.events_ui(ui);
        }
        ui.separator();
        if let Some(saved) = self.saved_reference.take() {
            self.quality
                .restore(ui.ctx(), Arc::clone(&store), self.shown_ids(), saved);
        }
        // Out of the view while it draws, so that it can list the shown curves when (and only
        // when) it starts work.
        let mut quality = std::mem::take(&mut self.quality);
        let asked = quality.ui(ui, &store, &|| self.shown_ids(), &self.selection);
        self.quality = quality;
        match asked {
            Some(QualityAction::Lift(id)) => {
                self.selection = BTreeSet::from([id]);
                self.apply_styles();
            }
            Some(QualityAction::Band(band)) => self.marks.band = band,
            Some(QualityAction::ColourByVerdict(verdicts)) => {
                const OUTSIDE: [u8; 4] = [230, 60, 50, 255];
                const INSIDE: [u8; 4] = [70, 180, 90, 255];
                self.colours.extend(
                    verdicts
                        .into_iter()
                        .map(|(id, outside)| (id, if outside { OUTSIDE } else { INSIDE })),
                );
                self.colours_unsaved = true;
                self.show_user_colours_in_legend();
                self.apply_styles();
            }
            None => {}
        }
        ui.separator();
        ui.heading("Export");
        ui.weak("Curves: the selection, or every shown curve when none is selected.");
        let mut export = std::mem::take(&mut self.export);
        export.ui(ui, || self.export_source());
        self.export = export;
    }

    /// Limit lines: add by name and y, remove.
    fn limits_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Limits");
        let mut remove = None;
        for (index, (name, y)) in self.marks.limits.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.label(format!("{name}: {y}"));
                if ui.small_button("Remove").clicked() {
                    remove = Some(index);
                }
            });
        }
        if let Some(index) = remove {
            self.marks.limits.remove(index);
        }
        ui.horizontal_wrapped(|ui| {
            labelled_field_ui(ui, "Limit name", &mut self.limit_name, "upper spec", 90.0);
            labelled_field_ui(ui, "Limit y", &mut self.limit_y, "12.5", 60.0);
            let value = self.limit_y.trim().replace(',', ".").parse::<f64>();
            let valid = value.as_ref().is_ok_and(|y| y.is_finite());
            if ui
                .add_enabled(valid, egui::Button::new("Add limit"))
                .clicked()
                && let Ok(y) = value
            {
                let name = match self.limit_name.trim() {
                    "" => format!("limit {y}"),
                    name => name.to_owned(),
                };
                self.marks.limits.push((name, y));
                self.limit_name.clear();
                self.limit_y.clear();
            }
        });
    }

    /// The events in view's range, oldest first (alarms in the error colour).
    fn events_ui(&self, ui: &mut egui::Ui) {
        ui.heading(format!("Events: {}", self.events.len()));
        let zone = self.curves.time_zone();
        egui::ScrollArea::vertical()
            .id_salt("events")
            .max_height(160.0)
            .show(ui, |ui| {
                for event in &self.events {
                    let text = format!(
                        "{} {} {} {}",
                        format_instant(event.at_secs, zone, "%H:%M:%S"),
                        event.station,
                        event.kind,
                        event.message
                    );
                    if event.is_alarm() {
                        ui.colored_label(ui.visuals().error_fg_color, text);
                    } else {
                        ui.label(text);
                    }
                }
            });
    }

    /// The two cursors and their differences.
    fn cursors_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Cursors");
        let time = self.store().axes().x_is_time;
        let zone = self.curves.time_zone();
        let x_text = |x: f64| {
            if time {
                format_instant(x, zone, "%H:%M:%S%.3f")
            } else {
                format!("{x:.6}")
            }
        };
        for (name, at) in CURSOR_NAMES.iter().zip(self.cursors) {
            match at {
                Some([x, y]) => ui.label(format!("{name}: x = {}, y = {y:.6}", x_text(x))),
                None => ui.weak(format!("{name}: press {name} over the plot")),
            };
        }
        if let [Some([xa, ya]), Some([xb, yb])] = self.cursors {
            let dx = xb - xa;
            let dx_text = if time {
                format!("{dx:.3} s")
            } else {
                format!("{dx:.6}")
            };
            ui.label(format!("Δx = {dx_text}, Δy = {:.6}", yb - ya));
        }
        self.across_ui(ui);
        if ui
            .add_enabled(
                self.cursors.iter().any(Option::is_some),
                egui::Button::new("Clear cursors"),
            )
            .clicked()
        {
            self.cursors = [None; 2];
        }
    }

    /// y across the shown curves at cursor A (and Δy from A to B, curve by curve): count,
    /// mean ± σ, median and 5–95 %, and a histogram.
    fn across_ui(&mut self, ui: &mut egui::Ui) {
        use crate::curves::quality::across::{changes_between, spread, values_at};
        let [Some([xa, _]), b] = self.cursors else {
            return;
        };
        // Worked out again only when a cursor moves or other curves are shown.
        let key = AcrossKey {
            x: [Some(xa.to_bits()), b.map(|[xb, _]| xb.to_bits())],
            request: self.request.clone(),
            hidden: self.hidden.clone(),
            legend_hidden: self.legend_hidden.clone(),
        };
        if self.across.as_ref().is_none_or(|(known, _)| *known != key) {
            let store = Arc::clone(self.store());
            let shown = self.shown_ids();
            let mut spreads = vec![("y at A", spread(values_at(&store, &shown, xa), 20))];
            if let Some([xb, _]) = b {
                spreads.push((
                    "Δy from A to B",
                    spread(changes_between(&store, &shown, xa, xb), 20),
                ));
            }
            self.across = Some((key, spreads));
        }
        let Some((_, spreads)) = &self.across else {
            return;
        };
        for (what, spread) in spreads {
            let Some(s) = spread else {
                ui.weak(format!("{what}: no shown curve reaches it"));
                continue;
            };
            ui.label(format!(
                "{what}, {} curves: {:.4} ± {:.4}; median {:.4}; 5–95 % {:.4} – {:.4}",
                s.count, s.mean, s.std, s.quantiles[2], s.quantiles[0], s.quantiles[4]
            ));
            let width = s.histogram.get(1).map_or(1.0, |b| b.0 - s.histogram[0].0);
            let bars: Vec<egui_plot::Bar> = s
                .histogram
                .iter()
                .map(|&(left, n)| egui_plot::Bar::new(left + width / 2.0, n as f64).width(width))
                .collect();
            egui_plot::Plot::new(("across", what, self.name.as_str()))
                .height(70.0)
                .show_axes([true, false])
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .show(ui, |plot| {
                    plot.bar_chart(egui_plot::BarChart::new(*what, bars));
                });
        }
    }

    /// Toolbar, plot and details side by side: the view as every source shows it.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.remember(ui.ctx());
        self.toolbar_ui(ui);
        // Both panels lie on their pane's panel fill already: filling them with the same
        // colour again only cost fragments, which a software adapter shades on the CPU (half a
        // screen of the window's 2.5).
        egui::Panel::right(self.curves.id().with("details"))
            .frame(shell::panel_frame(
                egui::Frame::side_top_panel(ui.style()),
                true,
            ))
            .resizable(true)
            .default_size(260.0)
            .min_size(260.0)
            .show(ui, |ui| {
                shell::panel_contents_ui(ui, true, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("details")
                        .show(ui, |ui| self.details_ui(ui));
                });
            });
        egui::CentralPanel::default()
            .frame(shell::panel_frame(
                egui::Frame::central_panel(ui.style()),
                true,
            ))
            .show(ui, |ui| {
                shell::panel_contents_ui(ui, true, |ui| self.plot_ui(ui));
            });
    }
}
