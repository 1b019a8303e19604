//! One styling decision for every picture of curves — the GPU plot, the CPU renderer, the app
//! and the CLI: which curves are shown, in which colour and order, the legend, and the title
//! and axis names. [`style_curves`] reads only the store's labels and a [`StyleRequest`], so
//! data of any shape gets a picture that says what it is:
//!
//! - **Colour.** By a label the user names (`--color-by`, the dataset's saved `colour_by`),
//!   else by the pass/fail label where the store has one (OK below NOK), else by the first
//!   label with 2–[`MAX_LEGEND_ENTRIES`] distinct values, else one colour. A pass/fail label
//!   is found by its values (OK/NOK, i.O./n.i.O., PASS/FAIL, …), not by its name.
//! - **Filters** hide curves whose label differs; highlighted keys are drawn on top as wide
//!   lines.
//! - **Labels.** The title names the source and the count ("cycles" and the NOK count only
//!   where a pass/fail label exists); axes come from [`crate::curves::Axes`].

use std::collections::BTreeMap;

use super::gpu::CurveStyle;
use super::plot::PlotLabels;
use crate::curves::{Axes, CurveId, CurveStore};

/// Passing curves in a pass/fail colouring.
pub const OK_RGBA: [u8; 4] = [70, 110, 170, 255];
/// Failing curves, drawn above passing ones.
pub const NOK_RGBA: [u8; 4] = [220, 40, 40, 255];
/// Curves highlighted by key.
pub const HIGHLIGHT_RGBA: [u8; 4] = [250, 160, 0, 255];
/// More distinct values than this get one colour: a legend of hundreds helps no one.
pub const MAX_LEGEND_ENTRIES: usize = 12;

/// D3's category 10 without its grey, then light tints: twelve saturated colours, one per
/// legend entry, distinct on white and on dark backgrounds.
const PALETTE: [[u8; 4]; MAX_LEGEND_ENTRIES] = [
    [31, 119, 180, 255],
    [255, 127, 14, 255],
    [44, 160, 44, 255],
    [214, 39, 40, 255],
    [148, 103, 189, 255],
    [140, 86, 75, 255],
    [227, 119, 194, 255],
    [188, 189, 34, 255],
    [23, 190, 207, 255],
    [174, 199, 232, 255],
    [255, 187, 120, 255],
    [152, 223, 138, 255],
];

/// What the legend calls curves coloured by their own key.
pub const KEY_LEGEND: &str = "curve";

/// Values of a pass/fail label, compared without case.
const PASS_VALUES: [&str; 6] = ["ok", "i.o.", "io", "pass", "passed", "good"];
const FAIL_VALUES: [&str; 8] = [
    "nok", "n.i.o.", "nio", "fail", "failed", "ng", "bad", "reject",
];

/// How to colour curves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ColourBy {
    /// The pass/fail label, else the first label with a handful of values, else one colour.
    #[default]
    Auto,
    /// This label's values.
    Label(String),
    /// Everything in one colour.
    Single,
}

impl ColourBy {
    /// `--color-by NAME`, or `none` for one colour; nothing: [`Self::Auto`].
    pub fn from_option(name: Option<&str>) -> Self {
        match name {
            None => Self::Auto,
            Some(n) if n.eq_ignore_ascii_case("none") => Self::Single,
            Some(n) => Self::Label(n.to_owned()),
        }
    }
}

/// What the user asked to see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StyleRequest {
    pub colour_by: ColourBy,
    /// Show only curves whose label `.0` equals `.1`.
    pub filters: Vec<(String, String)>,
    /// Curve keys drawn on top as wide lines.
    pub highlight: Vec<String>,
    /// Draw failed curves as wide lines too.
    pub highlight_failed: bool,
}

/// One colour of the legend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegendEntry {
    pub value: String,
    pub rgba: [u8; 4],
    /// Shown curves with this value.
    pub curves: usize,
}

/// The styles of every curve of a store, and what a picture should say about them.
#[derive(Clone, Debug, PartialEq)]
pub struct Styling {
    /// One per curve, in store order.
    pub styles: Vec<CurveStyle>,
    /// The label colours come from, if any.
    pub colour_by: Option<String>,
    pub legend: Vec<LegendEntry>,
    /// Curves not hidden by a filter.
    pub shown: usize,
    /// Shown curves that failed, where the store has a pass/fail label.
    pub failed: Option<usize>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StyleError {
    #[error("no label `{name}` to colour by (labels: {available})")]
    UnknownLabel { name: String, available: String },
    #[error("no label `{name}` to filter by (labels: {available})")]
    UnknownFilter { name: String, available: String },
    #[error("no curve `{0}` to highlight")]
    UnknownKey(String),
    #[error("no curves to draw: {0}")]
    NothingShown(String),
}

/// Whether a value of a pass/fail label means failed; `None` where it is not such a value.
/// Whether a pass/fail word says fail (`Some(true)`), pass (`Some(false)`), or is no such word.
pub fn verdict(value: &str) -> Option<bool> {
    let value = value.trim().to_ascii_lowercase();
    if FAIL_VALUES.contains(&value.as_str()) {
        Some(true)
    } else if PASS_VALUES.contains(&value.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// The label whose every value is a pass/fail word (`result`, `Ergebnis`, `status`, …).
pub fn pass_fail_label(store: &CurveStore) -> Option<&str> {
    store
        .label_columns()
        .iter()
        .find(|column| {
            !column.values.is_empty() && column.values.iter().all(|v| verdict(v).is_some())
        })
        .map(|column| column.name.as_str())
}

fn label_names(store: &CurveStore) -> String {
    let names: Vec<&str> = store
        .label_columns()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn find_label<'a>(store: &'a CurveStore, name: &str) -> Option<&'a crate::curves::LabelColumn> {
    store
        .label_columns()
        .iter()
        .find(|c| c.name == name)
        .or_else(|| {
            store
                .label_columns()
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
        })
}

/// Decide every curve's style for `request`.
pub fn style_curves(store: &CurveStore, request: &StyleRequest) -> Result<Styling, StyleError> {
    let filters = request
        .filters
        .iter()
        .map(|(name, value)| {
            find_label(store, name)
                .map(|column| (column, value.as_str()))
                .ok_or_else(|| StyleError::UnknownFilter {
                    name: name.clone(),
                    available: label_names(store),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let visible: Vec<bool> = (0..store.len())
        .map(|i| {
            filters
                .iter()
                .all(|(column, value)| column.values[i] == *value)
        })
        .collect();
    let shown = visible.iter().filter(|v| **v).count();
    if shown == 0 && !store.is_empty() {
        let wanted: Vec<String> = request
            .filters
            .iter()
            .map(|(n, v)| format!("{n} = {v}"))
            .collect();
        return Err(StyleError::NothingShown(format!(
            "no curve has {}",
            wanted.join(" and ")
        )));
    }
    let highlighted: Vec<CurveId> = request
        .highlight
        .iter()
        .map(|key| {
            store
                .find(key)
                .ok_or_else(|| StyleError::UnknownKey(key.clone()))
        })
        .collect::<Result<_, _>>()?;

    let pass_fail = pass_fail_label(store).and_then(|name| find_label(store, name));
    // Where colours come from: a label's values, or the curve keys themselves.
    let colour_source: Option<(&str, &[String])> = match &request.colour_by {
        ColourBy::Single => None,
        ColourBy::Label(name) => {
            let column = find_label(store, name).ok_or_else(|| StyleError::UnknownLabel {
                name: name.clone(),
                available: label_names(store),
            })?;
            Some((column.name.as_str(), &column.values))
        }
        ColourBy::Auto => pass_fail
            .or_else(|| {
                store.label_columns().iter().find(|column| {
                    let distinct = distinct_shown(&column.values, &visible);
                    (2..=MAX_LEGEND_ENTRIES).contains(&distinct.len())
                })
            })
            .map(|column| (column.name.as_str(), column.values.as_slice()))
            // A handful of curves without such a label: each its own colour.
            .or_else(|| {
                (2..=MAX_LEGEND_ENTRIES)
                    .contains(&shown)
                    .then(|| (KEY_LEGEND, store.keys()))
            }),
    };
    let failed_of =
        |id: usize| pass_fail.is_some_and(|column| verdict(&column.values[id]) == Some(true));
    let by_pass_fail =
        colour_source.is_some_and(|(name, _)| pass_fail.is_some_and(|p| p.name == name));

    // Colours: pass/fail fixed; any other source by its values in natural order (beyond
    // MAX_LEGEND_ENTRIES values, one colour and no legend).
    let distinct = colour_source
        .map(|(_, values)| distinct_shown(values, &visible))
        .unwrap_or_default();
    let colour_of = |id: usize| -> ([u8; 4], u8) {
        match colour_source {
            Some(_) if by_pass_fail => {
                if failed_of(id) {
                    (NOK_RGBA, 1)
                } else {
                    (OK_RGBA, 0)
                }
            }
            Some((_, values)) if distinct.len() <= MAX_LEGEND_ENTRIES => {
                let i = distinct
                    .iter()
                    .position(|(v, _)| *v == values[id])
                    .unwrap_or(0);
                (PALETTE[i % PALETTE.len()], 0)
            }
            _ => (OK_RGBA, 0),
        }
    };

    let mut failed = 0;
    let styles: Vec<CurveStyle> = (0..store.len())
        .map(|id| {
            let (rgba, priority) = colour_of(id);
            let style = CurveStyle::line(rgba).with_priority(priority);
            if !visible[id] {
                return style.hidden();
            }
            let is_failed = failed_of(id);
            failed += usize::from(is_failed);
            if highlighted.contains(&(id as CurveId)) {
                CurveStyle::line(HIGHLIGHT_RGBA)
                    .with_priority(2)
                    .highlighted(3.0)
            } else if is_failed && request.highlight_failed {
                style.highlighted(2.0)
            } else {
                style
            }
        })
        .collect();
    let mut legend = Vec::new();
    if let Some((_, values)) = colour_source
        && distinct.len() <= MAX_LEGEND_ENTRIES
    {
        for &(value, curves) in &distinct {
            let id = values
                .iter()
                .zip(&visible)
                .position(|(v, shown)| *shown && v == value)
                .unwrap_or(0);
            legend.push(LegendEntry {
                value: value.to_owned(),
                rgba: colour_of(id).0,
                curves,
            });
        }
    }
    Ok(Styling {
        styles,
        colour_by: colour_source.map(|(name, _)| name.to_owned()),
        legend,
        shown,
        failed: pass_fail.map(|_| failed),
    })
}

/// Distinct values among shown curves, with their counts, in natural order
/// (`class_2` before `class_10`).
fn distinct_shown<'a>(values: &'a [String], visible: &[bool]) -> Vec<(&'a str, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (value, _) in values.iter().zip(visible).filter(|(_, shown)| **shown) {
        *counts.entry(value.as_str()).or_insert(0) += 1;
    }
    let mut distinct: Vec<(&str, usize)> = counts.into_iter().collect();
    distinct.sort_by(|a, b| natural_order(a.0, b.0));
    distinct
}

/// Text order with runs of digits compared as numbers.
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> impl Iterator<Item = (bool, &str)> {
        let mut rest = s;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digits = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let (chunk, tail) = rest.split_at(end);
            rest = tail;
            Some((digits, chunk))
        })
    }
    let (mut x, mut y) = (chunks(a), chunks(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some((true, p)), Some((true, q))) => {
                let (p, q) = (p.trim_start_matches('0'), q.trim_start_matches('0'));
                let order = p.len().cmp(&q.len()).then_with(|| p.cmp(q));
                if order.is_ne() {
                    return order;
                }
            }
            (Some((_, p)), Some((_, q))) => {
                if p != q {
                    return p.cmp(q);
                }
            }
        }
    }
}

/// Title and axis names for a picture of `styling`'s curves from a source called `source`.
pub fn plot_labels(source: &str, axes: &Axes, styling: &Styling) -> PlotLabels {
    let count = |noun: &str| match styling.shown {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    };
    let title = match styling.failed {
        Some(failed) => format!("{source}: {}, {failed} NOK", count("cycle")),
        None => format!("{source}: {}", count("curve")),
    };
    PlotLabels {
        title,
        x_axis: axes.x_title(),
        y_axis: axes.y_title(),
        legend: styling
            .legend
            .iter()
            .map(|e| (format!("{} ({})", legend_value(&e.value), e.curves), e.rgba))
            .collect(),
    }
}

/// The colour each legend entry's shown curves are drawn in: `user`'s colour where the user
/// coloured every one of them alike, else the entry's own.
pub fn legend_colours(
    store: &CurveStore,
    styling: &Styling,
    user: &std::collections::HashMap<CurveId, [u8; 4]>,
) -> Vec<[u8; 4]> {
    let own = || styling.legend.iter().map(|e| e.rgba).collect();
    let Some(label) = styling.colour_by.as_deref() else {
        return own();
    };
    if user.is_empty() {
        return own();
    }
    // Per label value: `Some(c)` while every shown curve so far has the user's colour `c`;
    // `None` once one has another or none.
    let mut drawn: BTreeMap<&str, Option<[u8; 4]>> = BTreeMap::new();
    for id in 0..store.len() as CurveId {
        if !styling.styles[id as usize].is_visible() {
            continue;
        }
        let Some(value) = store.label(label, id) else {
            continue;
        };
        let colour = user.get(&id).copied();
        drawn
            .entry(value)
            .and_modify(|seen| {
                if *seen != colour {
                    *seen = None;
                }
            })
            .or_insert(colour);
    }
    styling
        .legend
        .iter()
        .map(|e| {
            drawn
                .get(e.value.as_str())
                .copied()
                .flatten()
                .unwrap_or(e.rgba)
        })
        .collect()
}

/// A legend entry's label value as shown: an empty one says so, not a nameless "(28)".
pub fn legend_value(value: &str) -> &str {
    if value.is_empty() { "(empty)" } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;

    fn store(label: &str, values: &[&str]) -> CurveStore {
        let mut b = CurveStoreBuilder::new(&[label]);
        for (i, v) in values.iter().enumerate() {
            b.push_uniform(format!("c{i}"), &[v], 0.0, 1.0, &[1.0, 2.0])
                .unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn pass_fail_labels_are_found_by_their_values_in_any_language() {
        let s = store("Ergebnis", &["i.O.", "n.i.O.", "i.O."]);
        let styling = style_curves(&s, &StyleRequest::default()).unwrap();
        assert_eq!(styling.colour_by.as_deref(), Some("Ergebnis"));
        assert_eq!(styling.failed, Some(1));
        assert_eq!(styling.styles[1].rgba, u32::from_le_bytes(NOK_RGBA));
        assert_eq!(styling.styles[1].priority, 1, "failed curves draw on top");
        assert_eq!(
            plot_labels("parts.csv", &Axes::named("Index", "Wert"), &styling).title,
            "parts.csv: 3 cycles, 1 NOK"
        );
    }

    #[test]
    fn without_a_result_label_curves_are_coloured_by_a_class_label_with_a_legend() {
        let s = store("class", &["b", "a", "b", "c"]);
        let styling = style_curves(&s, &StyleRequest::default()).unwrap();
        assert_eq!(styling.failed, None);
        assert_eq!(styling.colour_by.as_deref(), Some("class"));
        let legend: Vec<(&str, usize)> = styling
            .legend
            .iter()
            .map(|e| (e.value.as_str(), e.curves))
            .collect();
        assert_eq!(legend, [("a", 1), ("b", 2), ("c", 1)]);
        assert_ne!(styling.styles[0].rgba, styling.styles[1].rgba);
        assert_eq!(styling.styles[0].rgba, styling.styles[2].rgba);
        let labels = plot_labels("ragged", &Axes::named("sample_index", "value"), &styling);
        assert_eq!(labels.title, "ragged: 4 curves");
        assert_eq!(labels.x_axis, "sample_index");
        assert_eq!(labels.y_axis, "value");
    }

    #[test]
    fn a_legend_entry_shows_the_users_colour_once_all_its_curves_have_it() {
        let s = store("class", &["b", "a", "b", "c"]);
        let styling = style_curves(&s, &StyleRequest::default()).unwrap();
        let own: Vec<[u8; 4]> = styling.legend.iter().map(|e| e.rgba).collect();
        let green = [20, 170, 120, 255];
        let mut user = std::collections::HashMap::new();
        assert_eq!(legend_colours(&s, &styling, &user), own);
        // One of b's two curves coloured: b is drawn in two colours, its entry stays.
        user.insert(0, green);
        assert_eq!(legend_colours(&s, &styling, &user), own);
        // Both, and a's one curve: their entries take the colour; c keeps its own.
        user.insert(2, green);
        user.insert(1, green);
        assert_eq!(legend_colours(&s, &styling, &user), [green, green, own[2]]);
        // Two different colours within b: its own again.
        user.insert(2, [1, 2, 3, 255]);
        assert_eq!(legend_colours(&s, &styling, &user), [green, own[1], own[2]]);
    }

    #[test]
    fn an_empty_label_value_is_named_in_the_legend() {
        let s = store("class", &["b", "", "b", ""]);
        let styling = style_curves(&s, &StyleRequest::default()).unwrap();
        let legend: Vec<String> = plot_labels("s", &Axes::named("x", "y"), &styling)
            .legend
            .into_iter()
            .map(|(label, _)| label)
            .collect();
        assert_eq!(legend, ["(empty) (2)", "b (2)"]);
    }

    #[test]
    fn a_label_with_a_value_per_curve_gives_one_colour_and_no_legend() {
        let values: Vec<String> = (0..40).map(|i| format!("serial-{i}")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let s = store("serial", &refs);
        let auto = style_curves(&s, &StyleRequest::default()).unwrap();
        assert_eq!(auto.colour_by, None);
        assert!(auto.styles.iter().all(|st| st.rgba == auto.styles[0].rgba));
        let asked = StyleRequest {
            colour_by: ColourBy::Label("serial".into()),
            ..StyleRequest::default()
        };
        let asked = style_curves(&s, &asked).unwrap();
        assert_eq!(asked.colour_by.as_deref(), Some("serial"));
        assert!(asked.legend.is_empty(), "40 values: no legend");
    }

    #[test]
    fn filters_highlights_and_unknown_names_are_checked() {
        let s = store("station", &["S1", "S2", "S1"]);
        let request = StyleRequest {
            filters: vec![("station".into(), "S1".into())],
            highlight: vec!["c2".into()],
            ..StyleRequest::default()
        };
        let styling = style_curves(&s, &request).unwrap();
        assert_eq!(styling.shown, 2);
        assert!(!styling.styles[1].is_visible());
        assert!(styling.styles[2].is_highlighted());
        let missing = |request: StyleRequest| style_curves(&s, &request).unwrap_err();
        assert!(matches!(
            missing(StyleRequest {
                colour_by: ColourBy::Label("nope".into()),
                ..StyleRequest::default()
            }),
            StyleError::UnknownLabel { .. }
        ));
        assert_eq!(
            missing(StyleRequest {
                highlight: vec!["zz".into()],
                ..StyleRequest::default()
            }),
            StyleError::UnknownKey("zz".into())
        );
        assert!(matches!(
            missing(StyleRequest {
                filters: vec![("station".into(), "S9".into())],
                ..StyleRequest::default()
            }),
            StyleError::NothingShown(_)
        ));
    }

    #[test]
    fn a_few_curves_without_labels_get_a_colour_each_in_natural_order() {
        let mut b = CurveStoreBuilder::new(&[]);
        for key in ["s10", "s2", "s1"] {
            b.push_uniform(key, &[], 0.0, 1.0, &[1.0, 2.0]).unwrap();
        }
        let styling = style_curves(&b.finish().unwrap(), &StyleRequest::default()).unwrap();
        assert_eq!(styling.colour_by.as_deref(), Some(KEY_LEGEND));
        let order: Vec<&str> = styling.legend.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(order, ["s1", "s2", "s10"]);
        assert_ne!(styling.styles[0].rgba, styling.styles[1].rgba);
    }

    #[test]
    fn a_store_without_labels_is_drawn_in_one_colour() {
        let mut b = CurveStoreBuilder::new(&[]);
        b.push_uniform("only", &[], 0.0, 1.0, &[1.5]).unwrap();
        let s = b.finish().unwrap();
        let styling = style_curves(&s, &StyleRequest::default()).unwrap();
        assert_eq!(styling.shown, 1);
        assert!(styling.styles[0].is_visible());
        assert!(styling.legend.is_empty());
    }
}
