//! The Quality section's recipe: evaluation objects (windows, line crossings, no-pass boxes,
//! min/max ranges) the user adds, types in or drags by their handles in the plot, judged
//! together with the taught envelope. Whenever the recipe changes the shown curves are judged
//! again on a worker thread (a change made meanwhile starts the next run as soon as that one
//! ends, so a drag shows verdicts as it goes): the yield overall, the fails per object, the
//! yield per value of a label (the station) and per hour of the curves' time label.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use crate::curves::quality::yields::{YieldCount, Yields, judge as judge_yields};
use crate::curves::quality::{DataRect, Direction, Envelope, EvalObject, Line, Recipe, Side};
use crate::curves::{CurveId, CurveStore};
use crate::render::plot::{Handle, Shape, TimeZoneChoice, format_instant, time_grid};

/// Handles per object (a box's four corners and its centre).
const HANDLES_PER_OBJECT: usize = 5;

const WINDOW_COLOUR: [u8; 3] = [90, 150, 255];
const LINE_COLOUR: [u8; 3] = [190, 110, 255];
const NO_PASS_COLOUR: [u8; 3] = [235, 70, 70];
const MIN_MAX_COLOUR: [u8; 3] = [240, 170, 40];

/// The shown curves judged by one recipe.
#[derive(Debug)]
pub struct RecipeOutcome {
    recipe: Recipe,
    ids: Vec<CurveId>,
    passed: Vec<bool>,
    yields: Yields,
    elapsed_ms: f64,
}

impl RecipeOutcome {
    /// Whether curve `id` failed, if it was judged.
    pub fn fails(&self, id: CurveId) -> Option<bool> {
        let k = self.ids.iter().position(|&judged| judged == id)?;
        Some(!self.passed[k])
    }

    /// Each judged curve and whether it failed.
    pub fn failed(&self) -> Vec<(CurveId, bool)> {
        self.ids
            .iter()
            .zip(&self.passed)
            .map(|(&id, &ok)| (id, !ok))
            .collect()
    }
}

#[derive(Debug, Default)]
pub struct RecipeEditor {
    pub name: String,
    objects: Vec<EvalObject>,
    /// The label to give the yield per value of (none: `station` if there is one).
    group_by: Option<String>,
    /// The recipe of the running job.
    running: Option<Recipe>,
    job: Option<Receiver<RecipeOutcome>>,
    outcome: Option<RecipeOutcome>,
}

impl RecipeEditor {
    /// The user's objects (no envelope), to save.
    pub fn objects(&self) -> &[EvalObject] {
        &self.objects
    }

    /// Objects saved with a dataset.
    pub fn restore(&mut self, name: String, objects: Vec<EvalObject>) {
        self.name = name;
        self.objects = objects
            .into_iter()
            .filter(|o| !matches!(o, EvalObject::Envelope(_)))
            .collect();
    }

    /// The recipe: the user's objects, then the envelope if one is taught.
    pub fn recipe(&self, envelope: Option<&Envelope>) -> Recipe {
        let mut objects = self.objects.clone();
        objects.extend(envelope.map(|e| EvalObject::Envelope(Box::new(e.clone()))));
        Recipe {
            name: self.recipe_name().to_owned(),
            program: None,
            objects,
            levels: Vec::new(),
        }
    }

    /// Whether `recipe` is what [`Self::recipe`] builds with `envelope` now (no copy made:
    /// asked every frame).
    pub fn is(&self, recipe: &Recipe, envelope: Option<&Envelope>) -> bool {
        let n = self.objects.len();
        let envelope_same = match (recipe.objects.get(n), envelope) {
            (None, None) => true,
            (Some(EvalObject::Envelope(kept)), Some(e)) => **kept == *e,
            _ => false,
        };
        recipe.objects.len() == n + usize::from(envelope.is_some())
            && recipe.objects[..n.min(recipe.objects.len())] == self.objects[..]
            && envelope_same
            && recipe.name == self.recipe_name()
    }

    fn recipe_name(&self) -> &str {
        if self.name.trim().is_empty() {
            "recipe"
        } else {
            &self.name
        }
    }

    pub fn outcome(&self) -> Option<&RecipeOutcome> {
        self.outcome.as_ref()
    }

    /// Take in a finished run; start the next if the recipe changed since. `shown` is called
    /// only when a run starts.
    pub fn poll(
        &mut self,
        ctx: &egui::Context,
        store: &Arc<CurveStore>,
        shown: &dyn Fn() -> Vec<CurveId>,
        envelope: Option<&Envelope>,
    ) {
        if let Some(inbox) = &self.job {
            match inbox.try_recv() {
                Ok(outcome) => {
                    self.job = None;
                    self.outcome = Some(outcome);
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    tracing::error!("judging by the recipe stopped without an answer");
                    self.job = None;
                }
            }
        }
        if self.objects.is_empty() && envelope.is_none() {
            self.outcome = None;
            self.running = None;
            return;
        }
        if self
            .running
            .as_ref()
            .is_some_and(|running| self.is(running, envelope))
        {
            return;
        }
        let recipe = self.recipe(envelope);
        self.running = Some(recipe.clone());
        let (sender, inbox) = sync_channel(1);
        let store = Arc::clone(store);
        let ids = shown();
        let group_by = self.group_by.clone();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("judge by recipe".into())
            .spawn(move || {
                let outcome = judge(&store, ids, recipe, group_by);
                if sender.send(outcome).is_err() {
                    tracing::debug!("a recipe's verdicts came after their view closed");
                }
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => self.job = Some(inbox),
            Err(error) => tracing::error!(%error, "cannot start judging by the recipe"),
        }
    }

    /// The objects drawn over the plot and their handles.
    pub fn marks(&self) -> (Vec<Shape>, Vec<Handle>) {
        let mut shapes = Vec::new();
        let mut handles = Vec::new();
        for (i, object) in self.objects.iter().enumerate() {
            let handle = |k: usize, at: [f64; 2], colour| Handle {
                id: i * HANDLES_PER_OBJECT + k,
                at,
                colour,
            };
            let name = format!("{} {}", i + 1, kind_name(object));
            match object {
                EvalObject::Window { rect, entry, exit } => {
                    let mut strokes = vec![(outline(rect), 1.5)];
                    strokes.push((side_points(rect, *entry), 4.0));
                    strokes.push((side_points(rect, *exit), 4.0));
                    shapes.push(Shape {
                        name: format!("{name} (in {entry:?}, out {exit:?})").to_lowercase(),
                        strokes,
                        fill: None,
                        colour: WINDOW_COLOUR,
                    });
                    handles.extend(box_handles(rect).map(|(k, at)| handle(k, at, WINDOW_COLOUR)));
                }
                EvalObject::NoPass { rect } => {
                    shapes.push(Shape {
                        name,
                        strokes: vec![(outline(rect), 1.5)],
                        fill: Some(outline(rect)),
                        colour: NO_PASS_COLOUR,
                    });
                    handles.extend(box_handles(rect).map(|(k, at)| handle(k, at, NO_PASS_COLOUR)));
                }
                EvalObject::Line(line) => {
                    let [a, b] = line_ends(line);
                    shapes.push(Shape {
                        name: format!("{name} ({:?})", line.direction).to_lowercase(),
                        strokes: vec![(vec![a, b], 3.0)],
                        fill: None,
                        colour: LINE_COLOUR,
                    });
                    handles.push(handle(0, a, LINE_COLOUR));
                    handles.push(handle(1, b, LINE_COLOUR));
                }
                EvalObject::MinMax {
                    x_min,
                    x_max,
                    y_low,
                    y_high,
                } => {
                    let strokes: Vec<(Vec<[f64; 2]>, f32)> = [y_high, y_low]
                        .into_iter()
                        .flatten()
                        .map(|&y| (vec![[*x_min, y], [*x_max, y]], 2.0))
                        .collect();
                    let low = y_low.or(*y_high).unwrap_or_default();
                    let high = y_high.or(*y_low).unwrap_or_default();
                    if !strokes.is_empty() {
                        shapes.push(Shape {
                            name,
                            strokes,
                            fill: None,
                            colour: MIN_MAX_COLOUR,
                        });
                        handles.push(handle(0, [*x_min, low], MIN_MAX_COLOUR));
                        handles.push(handle(1, [*x_max, high], MIN_MAX_COLOUR));
                    }
                }
                EvalObject::Envelope(_) => {}
            }
        }
        (shapes, handles)
    }

    /// Whether `handle` is one of this editor's.
    pub fn owns(&self, handle: usize) -> bool {
        handle / HANDLES_PER_OBJECT < self.objects.len()
    }

    /// Move what `handle` holds to `at` (data units).
    pub fn drag(&mut self, handle: usize, [x, y]: [f64; 2]) {
        let (index, k) = (handle / HANDLES_PER_OBJECT, handle % HANDLES_PER_OBJECT);
        let Some(object) = self.objects.get_mut(index) else {
            return;
        };
        match object {
            EvalObject::Window { rect, .. } | EvalObject::NoPass { rect } => {
                drag_box(rect, k, x, y);
            }
            EvalObject::Line(line) => {
                let (across, along) = if line.vertical { (x, y) } else { (y, x) };
                line.at = across;
                if k == 0 {
                    line.from = along;
                } else {
                    line.to = along;
                }
            }
            EvalObject::MinMax {
                x_min,
                x_max,
                y_low,
                y_high,
            } => {
                let (edge, limit) = if k == 0 {
                    (&mut *x_min, y_low)
                } else {
                    (&mut *x_max, y_high)
                };
                *edge = x;
                if let Some(limit) = limit {
                    *limit = y;
                }
                if *x_min > *x_max {
                    std::mem::swap(x_min, x_max);
                }
            }
            EvalObject::Envelope(_) => {}
        }
    }

    /// The recipe's part of the Quality section: add, edit and remove objects, and the yield.
    /// `view` is the plot's visible range `[x_min, x_max, y_min, y_max]`, where new objects go.
    pub fn ui(&mut self, ui: &mut egui::Ui, store: &CurveStore, view: [f64; 4]) -> bool {
        let mut colour_by_verdict = false;
        ui.horizontal_wrapped(|ui| {
            ui.strong("Recipe");
            ui.add(
                egui::TextEdit::singleline(&mut self.name)
                    .hint_text("name")
                    .desired_width(100.0),
            );
            ui.label("Add");
            for (name, make) in [
                ("window", new_window as fn([f64; 4]) -> EvalObject),
                ("line", new_line),
                ("no-pass box", new_no_pass),
                ("min/max", new_min_max),
            ] {
                if ui
                    .button(name)
                    .on_hover_text("Placed in the middle of the plot; drag its handles there")
                    .clicked()
                {
                    self.objects.push(make(view));
                }
            }
        });
        let speed = ((view[1] - view[0]).abs().max((view[3] - view[2]).abs()) / 300.0).max(1e-9);
        let mut remove = None;
        for (i, object) in self.objects.iter_mut().enumerate() {
            ui.push_id(("recipe object", i), |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(format!("{} {}", i + 1, kind_name(object)));
                    object_fields_ui(ui, object, speed);
                    if ui.small_button("Remove").clicked() {
                        remove = Some(i);
                    }
                });
            });
        }
        if let Some(i) = remove {
            self.objects.remove(i);
        }
        self.objects.iter_mut().for_each(tidy);
        let Some(outcome) = &self.outcome else {
            if self.job.is_some() {
                ui.spinner();
            }
            return false;
        };
        let count = outcome.yields.overall;
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "Yield: {} of {} pass ({:.1} %).",
                count.passed,
                count.judged,
                count.percent()
            ))
            .on_hover_text(format!("judged in {:.0} ms", outcome.elapsed_ms));
            if self.job.is_some() {
                ui.spinner();
            }
            colour_by_verdict = ui
                .button("Colour by verdict")
                .on_hover_text("Red: fails the recipe; green: passes. Reset colours undoes it.")
                .clicked();
        });
        self.group_by_ui(ui, store);
        if let Some(outcome) = &self.outcome {
            yields_details_ui(ui, "shown", &outcome.recipe.objects, &outcome.yields);
        }
        colour_by_verdict
    }

    /// Which label the yield is given per.
    fn group_by_ui(&mut self, ui: &mut egui::Ui, store: &CurveStore) {
        let Some(label) = self
            .outcome
            .as_ref()
            .and_then(|o| o.yields.group_label.clone())
        else {
            return;
        };
        let mut chosen = label.clone();
        egui::ComboBox::from_label("yield per")
            .selected_text(&chosen)
            .show_ui(ui, |ui| {
                for column in store.label_columns() {
                    ui.selectable_value(&mut chosen, column.name.clone(), &column.name);
                }
            });
        if chosen != label {
            self.group_by = Some(chosen);
            // Judged again with the new grouping.
            self.running = None;
        }
    }
}

/// A recipe's yields in detail: fails per object, per value of the label, per hour.
pub(super) fn yields_details_ui(ui: &mut egui::Ui, id: &str, objects: &[EvalObject], y: &Yields) {
    for (object, fails) in objects.iter().zip(&y.fails_per_object) {
        ui.weak(format!("{}: {fails} fail", kind_name(object)));
    }
    if !y.by_group.is_empty() {
        yields_grid_ui(ui, &format!("{id} per group"), &y.by_group);
    }
    if y.by_hour.len() > 1 {
        yield_per_hour_ui(ui, &format!("{id} per hour"), &y.by_hour);
    }
}

/// Yield per value of a label as a striped grid (at most 50 rows).
fn yields_grid_ui(ui: &mut egui::Ui, id: &str, groups: &[(String, YieldCount)]) {
    egui::Grid::new(id).striped(true).show(ui, |ui| {
        for (value, count) in groups.iter().take(50) {
            ui.label(if value.is_empty() { "(none)" } else { value });
            ui.label(format!("{} / {}", count.passed, count.judged));
            ui.label(format!("{:.1} %", count.percent()));
            ui.end_row();
        }
    });
}

/// Yield per hour (UTC), in percent, as a small plot.
fn yield_per_hour_ui(ui: &mut egui::Ui, id: &str, hours: &[(i64, YieldCount)]) {
    ui.label("Yield per hour (%, UTC)");
    let points: Vec<[f64; 2]> = hours
        .iter()
        .map(|&(hour, count)| [hour as f64, count.percent()])
        .collect();
    egui_plot::Plot::new(id)
        .height(90.0)
        .allow_scroll(false)
        .include_y(0.0)
        .include_y(100.0)
        .x_grid_spacer(time_grid)
        .x_axis_formatter(|mark, _| {
            let format = if mark.step_size >= 86_400.0 {
                "%m-%d"
            } else {
                "%H:00"
            };
            format_instant(mark.value, TimeZoneChoice::Utc, format)
        })
        .show(ui, |plot_ui| {
            plot_ui.line(egui_plot::Line::new("yield", points));
        });
}

/// The curves of `ids` judged by `recipe`.
fn judge(
    store: &CurveStore,
    ids: Vec<CurveId>,
    recipe: Recipe,
    group_by: Option<String>,
) -> RecipeOutcome {
    let started = std::time::Instant::now();
    let (passed, yields) = judge_yields(store, &ids, &recipe, group_by.as_deref());
    RecipeOutcome {
        recipe,
        ids,
        passed,
        yields,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    }
}

pub(super) fn kind_name(object: &EvalObject) -> &'static str {
    match object {
        EvalObject::Window { .. } => "window",
        EvalObject::Line(_) => "line",
        EvalObject::NoPass { .. } => "no-pass box",
        EvalObject::Envelope(_) => "envelope",
        EvalObject::MinMax { .. } => "min/max",
    }
}

/// A box's middle third of the view.
fn middle(view: [f64; 4]) -> DataRect {
    let [x0, x1, y0, y1] = view;
    let (w, h) = (x1 - x0, y1 - y0);
    DataRect {
        x_min: x0 + w / 3.0,
        x_max: x0 + 2.0 * w / 3.0,
        y_min: y0 + h / 3.0,
        y_max: y0 + 2.0 * h / 3.0,
    }
}

fn new_window(view: [f64; 4]) -> EvalObject {
    EvalObject::Window {
        rect: middle(view),
        entry: Side::Left,
        exit: Side::Right,
    }
}

fn new_line(view: [f64; 4]) -> EvalObject {
    let [x0, x1, y0, y1] = view;
    let h = y1 - y0;
    EvalObject::Line(Line {
        vertical: true,
        at: (x0 + x1) / 2.0,
        from: y0 + h / 4.0,
        to: y1 - h / 4.0,
        direction: Direction::Increasing,
    })
}

fn new_no_pass(view: [f64; 4]) -> EvalObject {
    let [x0, x1, y0, y1] = view;
    let (w, h) = (x1 - x0, y1 - y0);
    EvalObject::NoPass {
        rect: DataRect {
            x_min: x0 + 0.7 * w,
            x_max: x0 + 0.9 * w,
            y_min: y0 + 0.8 * h,
            y_max: y0 + 0.95 * h,
        },
    }
}

fn new_min_max(view: [f64; 4]) -> EvalObject {
    let rect = middle(view);
    let h = view[3] - view[2];
    EvalObject::MinMax {
        x_min: rect.x_min,
        x_max: rect.x_max,
        y_low: Some(view[2] + 0.1 * h),
        y_high: Some(view[3] - 0.1 * h),
    }
}

fn outline(r: &DataRect) -> Vec<[f64; 2]> {
    vec![
        [r.x_min, r.y_min],
        [r.x_max, r.y_min],
        [r.x_max, r.y_max],
        [r.x_min, r.y_max],
        [r.x_min, r.y_min],
    ]
}

fn side_points(r: &DataRect, side: Side) -> Vec<[f64; 2]> {
    match side {
        Side::Left => vec![[r.x_min, r.y_min], [r.x_min, r.y_max]],
        Side::Right => vec![[r.x_max, r.y_min], [r.x_max, r.y_max]],
        Side::Bottom => vec![[r.x_min, r.y_min], [r.x_max, r.y_min]],
        Side::Top => vec![[r.x_min, r.y_max], [r.x_max, r.y_max]],
    }
}

/// Corners (0–3, counter-clockwise from bottom left) and centre (4).
fn box_handles(r: &DataRect) -> [(usize, [f64; 2]); HANDLES_PER_OBJECT] {
    [
        (0, [r.x_min, r.y_min]),
        (1, [r.x_max, r.y_min]),
        (2, [r.x_max, r.y_max]),
        (3, [r.x_min, r.y_max]),
        (4, [(r.x_min + r.x_max) / 2.0, (r.y_min + r.y_max) / 2.0]),
    ]
}

/// A corner follows the pointer (the box stays the right way round); the centre moves it all.
fn drag_box(r: &mut DataRect, handle: usize, x: f64, y: f64) {
    match handle {
        4 => {
            let (dx, dy) = (x - (r.x_min + r.x_max) / 2.0, y - (r.y_min + r.y_max) / 2.0);
            r.x_min += dx;
            r.x_max += dx;
            r.y_min += dy;
            r.y_max += dy;
        }
        corner => {
            if corner == 0 || corner == 3 {
                r.x_min = x.min(r.x_max);
            } else {
                r.x_max = x.max(r.x_min);
            }
            if corner < 2 {
                r.y_min = y.min(r.y_max);
            } else {
                r.y_max = y.max(r.y_min);
            }
        }
    }
}

fn line_ends(line: &Line) -> [[f64; 2]; 2] {
    if line.vertical {
        [[line.at, line.from], [line.at, line.to]]
    } else {
        [[line.from, line.at], [line.to, line.at]]
    }
}

/// Ranges typed the wrong way round are turned round (a box dragged past itself, from > to):
/// what is judged is always a possible object.
fn tidy(object: &mut EvalObject) {
    let order = |a: &mut f64, b: &mut f64| {
        if *a > *b {
            std::mem::swap(a, b);
        }
    };
    match object {
        EvalObject::Window { rect, .. } | EvalObject::NoPass { rect } => {
            order(&mut rect.x_min, &mut rect.x_max);
            order(&mut rect.y_min, &mut rect.y_max);
        }
        EvalObject::Line(line) => order(&mut line.from, &mut line.to),
        EvalObject::MinMax {
            x_min,
            x_max,
            y_low,
            y_high,
        } => {
            order(x_min, x_max);
            if let (Some(low), Some(high)) = (y_low, y_high) {
                order(low, high);
            }
        }
        EvalObject::Envelope(_) => {}
    }
}

fn side_ui(ui: &mut egui::Ui, label: &str, side: &mut Side) {
    ui.label(label);
    egui::ComboBox::from_id_salt(label)
        .selected_text(format!("{side:?}").to_lowercase())
        .width(70.0)
        .show_ui(ui, |ui| {
            for s in [Side::Left, Side::Right, Side::Bottom, Side::Top] {
                ui.selectable_value(side, s, format!("{s:?}").to_lowercase());
            }
        });
}

fn number_ui(ui: &mut egui::Ui, label: &str, value: &mut f64, speed: f64) {
    let label = ui.label(label);
    ui.add(egui::DragValue::new(value).speed(speed))
        .labelled_by(label.id);
}

/// An optional limit: a box to switch it, its value when on.
fn limit_ui(ui: &mut egui::Ui, label: &str, limit: &mut Option<f64>, fallback: f64, speed: f64) {
    let mut on = limit.is_some();
    if ui.checkbox(&mut on, label).changed() {
        *limit = on.then_some(fallback);
    }
    if let Some(value) = limit {
        ui.add(egui::DragValue::new(value).speed(speed));
    }
}

fn rect_ui(ui: &mut egui::Ui, r: &mut DataRect, speed: f64) {
    number_ui(ui, "x", &mut r.x_min, speed);
    number_ui(ui, "to", &mut r.x_max, speed);
    number_ui(ui, "y", &mut r.y_min, speed);
    number_ui(ui, "to", &mut r.y_max, speed);
}

fn object_fields_ui(ui: &mut egui::Ui, object: &mut EvalObject, speed: f64) {
    match object {
        EvalObject::Window { rect, entry, exit } => {
            rect_ui(ui, rect, speed);
            side_ui(ui, "in", entry);
            side_ui(ui, "out", exit);
        }
        EvalObject::NoPass { rect } => rect_ui(ui, rect, speed),
        EvalObject::Line(line) => {
            ui.selectable_value(&mut line.vertical, true, "vertical");
            ui.selectable_value(&mut line.vertical, false, "horizontal");
            number_ui(ui, "at", &mut line.at, speed);
            number_ui(ui, "from", &mut line.from, speed);
            number_ui(ui, "to", &mut line.to, speed);
            ui.selectable_value(&mut line.direction, Direction::Increasing, "rising");
            ui.selectable_value(&mut line.direction, Direction::Decreasing, "falling");
        }
        EvalObject::MinMax {
            x_min,
            x_max,
            y_low,
            y_high,
        } => {
            number_ui(ui, "x", x_min, speed);
            number_ui(ui, "to", x_max, speed);
            let (low, high) = (
                y_low.or(*y_high).unwrap_or(0.0),
                y_high.or(*y_low).unwrap_or(0.0),
            );
            limit_ui(ui, "min ≥", y_low, low, speed);
            limit_ui(ui, "max ≤", y_high, high, speed);
        }
        EvalObject::Envelope(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_move_what_they_hold() {
        let mut editor = RecipeEditor::default();
        editor.objects.push(new_window([0.0, 3.0, 0.0, 3.0]));
        editor.objects.push(new_line([0.0, 4.0, 0.0, 4.0]));
        // The window's top-right corner, then its centre.
        editor.drag(2, [2.5, 2.5]);
        editor.drag(4, [2.0, 2.0]);
        let EvalObject::Window { rect, .. } = &editor.objects[0] else {
            panic!("a window");
        };
        assert_eq!(
            (rect.x_min, rect.x_max, rect.y_min, rect.y_max),
            (1.25, 2.75, 1.25, 2.75)
        );
        // The line's upper end: x moves the whole line, y its end.
        editor.drag(HANDLES_PER_OBJECT + 1, [1.0, 3.5]);
        let EvalObject::Line(line) = &editor.objects[1] else {
            panic!("a line");
        };
        assert_eq!((line.at, line.from, line.to), (1.0, 1.0, 3.5));
        assert!(editor.owns(HANDLES_PER_OBJECT + 1));
        assert!(!editor.owns(2 * HANDLES_PER_OBJECT));
        let (shapes, handles) = editor.marks();
        assert_eq!((shapes.len(), handles.len()), (2, HANDLES_PER_OBJECT + 2));

        // What was judged is told from what is shown without building it again.
        let judged = editor.recipe(None);
        assert!(editor.is(&judged, None));
        editor.drag(4, [2.5, 2.0]);
        assert!(!editor.is(&judged, None), "a drag changes the recipe");
        let judged = editor.recipe(None);
        editor.name = "press".into();
        assert!(!editor.is(&judged, None), "so does its name");
    }
}
