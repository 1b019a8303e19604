//! The SQL view's chart builder: a result drawn as a line, bars, a scatter, a histogram or a
//! heatmap with egui_plot, from columns the user picks. x may be a number or a date-time
//! (`parse_x_bound`); bars and heatmaps take any column as categories. Large results are
//! thinned to [`MAX_POINTS`] evenly spaced rows for line and scatter, and say so.
//!
//! State: [`ChartBuilder`].

use std::collections::HashMap;

use crate::source::clickhouse::parse_x_bound;
use crate::source::table::{ResultColumn, ResultTable};

/// Points drawn at most by a line or scatter chart.
const MAX_POINTS: usize = 100_000;
/// Categories shown at most by a bar chart or along a heatmap axis.
const MAX_CATEGORIES: usize = 200;
/// Bins of a histogram.
const HISTOGRAM_BINS: usize = 40;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChartKind {
    #[default]
    Line,
    Bar,
    Scatter,
    Histogram,
    Heatmap,
}

impl ChartKind {
    const ALL: [Self; 5] = [
        Self::Line,
        Self::Bar,
        Self::Scatter,
        Self::Histogram,
        Self::Heatmap,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Line => "Line",
            Self::Bar => "Bar",
            Self::Scatter => "Scatter",
            Self::Histogram => "Histogram",
            Self::Heatmap => "Heatmap",
        }
    }
}

/// The chart's choices: kind, x (categories), y (values; the heatmap's row categories) and
/// the heatmap's cell value.
#[derive(Clone, Debug, Default)]
pub struct ChartBuilder {
    pub kind: ChartKind,
    pub x: String,
    pub y: String,
    pub value: String,
}

/// A column's values as numbers, date-times as seconds (`None` where a value is neither).
fn numbers(column: &ResultColumn, rows: impl Iterator<Item = usize>) -> Vec<Option<f64>> {
    rows.map(|row| {
        let text = column.get(row)?;
        text.parse().ok().or_else(|| parse_x_bound(text).ok())
    })
    .collect()
}

/// Every `step`-th row, so at most `MAX_POINTS`.
fn thinned(rows: usize) -> (usize, impl Iterator<Item = usize>) {
    let step = rows.div_ceil(MAX_POINTS).max(1);
    (step, (0..rows).step_by(step))
}

/// Category index per row and the categories, sorted (as numbers where they all are);
/// `None` past the cap.
fn categories(column: &ResultColumn, rows: usize) -> Option<(Vec<usize>, Vec<String>)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for row in 0..rows {
        let name = column.get(row).unwrap_or("NULL");
        let next = seen.len();
        seen.entry(name).or_insert(next);
        if seen.len() > MAX_CATEGORIES {
            return None;
        }
    }
    let mut names: Vec<&str> = seen.keys().copied().collect();
    let numeric: Option<Vec<f64>> = names.iter().map(|n| n.parse::<f64>().ok()).collect();
    match numeric {
        Some(_) => names.sort_by(|a, b| {
            let (a, b) = (
                a.parse::<f64>().unwrap_or(0.0),
                b.parse::<f64>().unwrap_or(0.0),
            );
            a.total_cmp(&b)
        }),
        None => names.sort_unstable(),
    }
    let place: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let of_row = (0..rows)
        .map(|row| place[column.get(row).unwrap_or("NULL")])
        .collect();
    Some((of_row, names.into_iter().map(str::to_owned).collect()))
}

/// Colour of a heatmap cell: `t` in 0..=1 from dark blue to yellow.
fn ramp(t: f64) -> egui::Color32 {
    let t = t.clamp(0.0, 1.0) as f32;
    let lerp = |a: f32, b: f32| (a + (b - a) * t) as u8;
    egui::Color32::from_rgb(lerp(40.0, 250.0), lerp(30.0, 220.0), lerp(120.0, 40.0))
}

/// The chart's controls and the chart.
pub fn chart_ui(ui: &mut egui::Ui, chart: &mut ChartBuilder, table: &ResultTable) {
    let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    if names.is_empty() {
        return;
    }
    for choice in [&mut chart.x, &mut chart.y, &mut chart.value] {
        if !names.contains(choice) {
            *choice = names.last().cloned().unwrap_or_default();
        }
    }
    if chart.x == chart.y
        && let Some(first) = names.first()
    {
        chart.x = first.clone();
    }
    ui.horizontal_wrapped(|ui| {
        for kind in ChartKind::ALL {
            ui.selectable_value(&mut chart.kind, kind, kind.name());
        }
        let (x_name, y_name) = match chart.kind {
            ChartKind::Histogram => ("", "Values"),
            ChartKind::Heatmap => ("Columns", "Rows"),
            ChartKind::Bar => ("Categories", "Values"),
            _ => ("x", "y"),
        };
        if !x_name.is_empty() {
            pick(ui, x_name, &mut chart.x, &names);
        }
        pick(ui, y_name, &mut chart.y, &names);
        if chart.kind == ChartKind::Heatmap {
            pick(ui, "Cell value", &mut chart.value, &names);
        }
    });
    let (Some(x), Some(y), Some(value)) = (
        table.column(&chart.x),
        table.column(&chart.y),
        table.column(&chart.value),
    ) else {
        return;
    };
    let rows = table.rows();
    let plot = egui_plot::Plot::new(("sql chart", chart.kind.name()))
        .height(ui.available_height().max(200.0))
        .x_axis_label(if chart.kind == ChartKind::Histogram {
            y.name.clone()
        } else {
            x.name.clone()
        });
    match chart.kind {
        ChartKind::Line | ChartKind::Scatter => {
            let (step, picked) = thinned(rows);
            let picked: Vec<usize> = picked.collect();
            let mut xs = numbers(x, picked.iter().copied());
            if xs.iter().all(Option::is_none) {
                // Text along x: the rows in order.
                ui.weak(format!(
                    "`{}` holds no numbers or times: x is the row",
                    x.name
                ));
                xs = picked.iter().map(|&row| Some(row as f64)).collect();
            }
            let points: Vec<[f64; 2]> = xs
                .into_iter()
                .zip(numbers(y, picked.iter().copied()))
                .filter_map(|(x, y)| Some([x?, y?]))
                .collect();
            if step > 1 {
                ui.weak(format!(
                    "Every {step}th row drawn ({} points)",
                    points.len()
                ));
            }
            if points.is_empty() {
                ui.label(format!("`{}` holds no numbers to draw", y.name));
                return;
            }
            let kind = chart.kind;
            let name = y.name.clone();
            plot.y_axis_label(name.clone()).show(ui, |plot_ui| {
                if kind == ChartKind::Line {
                    plot_ui.line(egui_plot::Line::new(name, points));
                } else {
                    plot_ui.points(egui_plot::Points::new(name, points).radius(2.0));
                }
            });
        }
        ChartKind::Bar => {
            let Some((of_row, names)) = categories(x, rows) else {
                ui.label(format!(
                    "`{}` has more than {MAX_CATEGORIES} values: group the query first",
                    x.name
                ));
                return;
            };
            // One bar per category: the sum of its rows (one row each after a GROUP BY).
            let mut heights = vec![0.0; names.len()];
            for (row, category) in of_row.iter().enumerate() {
                heights[*category] += y.number(row).filter(|v| v.is_finite()).unwrap_or(0.0);
            }
            let bars = heights
                .iter()
                .enumerate()
                .map(|(i, &h)| egui_plot::Bar::new(i as f64, h).name(&names[i]))
                .collect();
            plot.y_axis_label(y.name.clone())
                .x_grid_spacer(egui_plot::uniform_grid_spacer(whole_steps))
                .x_axis_formatter(move |mark, _| category_name(&names, mark.value))
                .show(ui, |plot_ui| {
                    plot_ui.bar_chart(egui_plot::BarChart::new(y.name.clone(), bars).width(0.7));
                });
        }
        ChartKind::Histogram => {
            let values: Vec<f64> = numbers(y, 0..rows)
                .into_iter()
                .flatten()
                .filter(|v| v.is_finite())
                .collect();
            let (min, max) = values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            if values.is_empty() {
                ui.label(format!("`{}` holds no numbers", y.name));
                return;
            }
            let width = if max > min {
                (max - min) / HISTOGRAM_BINS as f64
            } else {
                1.0
            };
            let mut counts = [0u64; HISTOGRAM_BINS];
            for v in &values {
                let bin = (((v - min) / width) as usize).min(HISTOGRAM_BINS - 1);
                counts[bin] += 1;
            }
            let bars = counts
                .iter()
                .enumerate()
                .map(|(i, &n)| egui_plot::Bar::new(min + (i as f64 + 0.5) * width, n as f64))
                .collect();
            plot.y_axis_label("rows").show(ui, |plot_ui| {
                plot_ui.bar_chart(egui_plot::BarChart::new(y.name.clone(), bars).width(width));
            });
        }
        ChartKind::Heatmap => heatmap_ui(ui, plot, x, y, value, rows),
    }
}

fn heatmap_ui(
    ui: &mut egui::Ui,
    plot: egui_plot::Plot<'_>,
    x: &ResultColumn,
    y: &ResultColumn,
    value: &ResultColumn,
    rows: usize,
) {
    let (Some((col_of_row, col_names)), Some((row_of_row, row_names))) =
        (categories(x, rows), categories(y, rows))
    else {
        ui.label(format!(
            "a heatmap takes at most {MAX_CATEGORIES} values along each side: group the query"
        ));
        return;
    };
    let cols = col_names.len();
    let mut cells = vec![f64::NAN; cols * row_names.len()];
    for row in 0..rows {
        if let Some(v) = value.number(row) {
            let cell = &mut cells[row_of_row[row] * cols + col_of_row[row]];
            *cell = if cell.is_nan() { v } else { *cell + v };
        }
    }
    let (min, max) = cells
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if min > max {
        ui.label(format!("`{}` holds no numbers", value.name));
        return;
    }
    ui.weak(format!(
        "{} (summed per cell): {} (dark) to {} (yellow); hover a cell for its value",
        value.name,
        readable(min),
        readable(max)
    ));
    let span = if max > min { max - min } else { 1.0 };
    let heatmap = egui_plot::Heatmap::new(cells, cols)
        .show_labels(false)
        .custom_mapping(Box::new(move |v| {
            if v.is_finite() {
                ramp((v - min) / span)
            } else {
                egui::Color32::TRANSPARENT
            }
        }))
        .at(egui_plot::PlotPoint::new(-0.5, -0.5))
        .name(&value.name);
    plot.y_axis_label(y.name.clone())
        .x_grid_spacer(egui_plot::uniform_grid_spacer(whole_steps))
        .y_grid_spacer(egui_plot::uniform_grid_spacer(whole_steps))
        .x_axis_formatter(move |mark, _| category_name(&col_names, mark.value))
        .y_axis_formatter(move |mark, _| category_name(&row_names, mark.value))
        .show(ui, |plot_ui| plot_ui.heatmap(heatmap));
}

fn readable(v: f64) -> String {
    crate::curves::quality::evaluate::number(v)
}

/// Category axes: a mark on every category where they fit (egui_plot fades the ones that
/// would crowd).
fn whole_steps(_: egui_plot::GridInput) -> [f64; 3] {
    [1.0, 5.0, 25.0]
}

/// The category at an axis mark, on whole marks only.
fn category_name(names: &[String], at: f64) -> String {
    if at.fract() != 0.0 || at < 0.0 {
        return String::new();
    }
    names.get(at as usize).cloned().unwrap_or_default()
}

fn pick(ui: &mut egui::Ui, label: &str, value: &mut String, names: &[String]) {
    // The label before its menu, so it reads as this menu's.
    let label = ui.label(label);
    egui::ComboBox::from_id_salt(label.id)
        .selected_text(value.as_str())
        .show_ui(ui, |ui| {
            for name in names {
                ui.selectable_value(value, name.clone(), name);
            }
        })
        .response
        .labelled_by(label.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_counted_in_order_and_capped() {
        let mut c = ResultColumn::new("station", "String");
        for s in ["S2", "S1", "S2"] {
            c.push(s);
        }
        c.push_null();
        let (of_row, names) = categories(&c, 4).unwrap_or_default();
        assert_eq!(names, ["NULL", "S1", "S2"]);
        assert_eq!(of_row, [2, 1, 2, 0]);
        let mut hours = ResultColumn::new("hour", "UInt8");
        for h in ["21", "3", "13"] {
            hours.push(h);
        }
        assert_eq!(
            categories(&hours, 3).map(|c| c.1).unwrap_or_default(),
            ["3", "13", "21"]
        );
        let mut many = ResultColumn::new("n", "UInt32");
        for i in 0..=MAX_CATEGORIES {
            many.push(&i.to_string());
        }
        assert!(categories(&many, MAX_CATEGORIES + 1).is_none());
        assert_eq!(category_name(&names, 1.0), "S1");
        assert_eq!(category_name(&names, 0.5), "");
        assert_eq!(category_name(&names, 7.0), "");
    }
}
