//! A query result as a table: only the rows in sight are laid out (`egui_extras`' virtual
//! rows), so a million rows scroll as smoothly as ten; a row number column, "Go to row", and
//! the columns' statistics (rows, NULLs, min / max / mean of numbers, distinct values) above.
//!
//! State: [`ResultView`].

use super::widgets::cut;
use crate::curves::quality::evaluate::number as readable_number;
use crate::source::table::{ColumnStats, ResultTable};

/// Characters of a value shown in a cell (all of it on hover).
const CELL_CHARS: usize = 120;

/// Where the user is in the table.
#[derive(Clone, Debug, Default)]
pub struct ResultView {
    /// The row typed into "Go to row" (1-based).
    go_to_row: usize,
    /// A row to bring into view on the next frame (0-based).
    scroll_to: Option<usize>,
    show_stats: bool,
}

/// The table and its controls.
pub fn result_table_ui(
    ui: &mut egui::Ui,
    table: &ResultTable,
    stats: Option<&[ColumnStats]>,
    view: &mut ResultView,
) {
    let rows = table.rows();
    ui.horizontal(|ui| {
        ui.label(format!("{rows} rows × {} columns", table.columns.len()));
        let label = ui.label("Go to row");
        let go = ui
            .add(egui::DragValue::new(&mut view.go_to_row).range(1..=rows.max(1)))
            .labelled_by(label.id);
        if go.changed() || go.lost_focus() {
            view.scroll_to = Some(view.go_to_row.saturating_sub(1));
        }
        ui.toggle_value(&mut view.show_stats, "Column statistics");
    });
    if view.show_stats {
        stats_ui(ui, table, stats);
    }
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let number_width = (rows.max(1) as f64).log10().floor() as f32 * 8.0 + 24.0;
    egui::ScrollArea::horizontal()
        .id_salt("result table columns")
        .show(ui, |ui| {
            let mut builder = egui_extras::TableBuilder::new(ui)
                .id_salt("result table")
                .striped(true)
                .resizable(true)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(egui_extras::Column::exact(number_width))
                .columns(
                    egui_extras::Column::initial(140.0)
                        .at_least(40.0)
                        .clip(true),
                    table.columns.len(),
                )
                .min_scrolled_height(200.0);
            if let Some(row) = view.scroll_to.take() {
                builder = builder.scroll_to_row(row, Some(egui::Align::Center));
            }
            builder
                .header(row_height * 1.6, |mut header| {
                    header.col(|ui| {
                        ui.weak("#");
                    });
                    for column in &table.columns {
                        header.col(|ui| {
                            ui.vertical(|ui| {
                                ui.strong(&column.name);
                                ui.weak(&column.type_name);
                            });
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_height, rows, |mut row| {
                        let index = row.index();
                        row.col(|ui| {
                            ui.weak((index + 1).to_string());
                        });
                        for column in &table.columns {
                            row.col(|ui| match column.get(index) {
                                Some(value) if value.chars().count() > CELL_CHARS => {
                                    ui.label(cut(value, CELL_CHARS)).on_hover_text(value);
                                }
                                Some(value) => {
                                    ui.label(value);
                                }
                                None => {
                                    ui.weak("NULL");
                                }
                            });
                        }
                    });
                });
        });
}

fn stats_ui(ui: &mut egui::Ui, table: &ResultTable, stats: Option<&[ColumnStats]>) {
    let Some(stats) = stats else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Statistics follow when the result is complete");
        });
        return;
    };
    let number = |v: Option<f64>| v.map_or_else(String::new, readable_number);
    egui::Grid::new("result column statistics")
        .striped(true)
        .show(ui, |ui| {
            for title in ["column", "type", "NULLs", "min", "max", "mean", "distinct"] {
                ui.strong(title);
            }
            ui.end_row();
            for (column, s) in table.columns.iter().zip(stats) {
                ui.label(&column.name);
                ui.weak(&column.type_name);
                ui.label(s.nulls.to_string());
                ui.label(number(s.min));
                ui.label(number(s.max));
                ui.label(number(s.mean));
                ui.label(s.distinct_text());
                ui.end_row();
            }
        });
}
