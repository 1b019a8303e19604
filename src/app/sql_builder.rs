//! The SQL view's query builder: table → columns → filters → group by → aggregates → order →
//! limit, chosen from the database's own names, with the SQL it writes shown as it changes
//! (`QueryBuilder::sql`, or what is still missing). "Run" puts that SQL into the editor and
//! runs it, so what ran is always visible and editable.

use crate::source::clickhouse::ColumnInfo;
use crate::source::clickhouse::builder::{
    Aggregate, AggregateFn, BuilderFilter, FilterOp, QueryBuilder,
};
use crate::source::table::ValueKind;

/// The builder; returns the SQL to run when the user presses Run.
pub fn builder_ui(
    ui: &mut egui::Ui,
    builder: &mut QueryBuilder,
    schema: &[(String, Vec<ColumnInfo>)],
) -> Option<String> {
    ui.horizontal(|ui| {
        let from = ui.label("From table");
        egui::ComboBox::from_id_salt(from.id)
            .selected_text(builder.table.as_str())
            .show_ui(ui, |ui| {
                for (table, _) in schema {
                    if ui
                        .selectable_label(builder.table == *table, table)
                        .clicked()
                        && builder.table != *table
                    {
                        *builder = QueryBuilder {
                            database: builder.database.clone(),
                            table: table.clone(),
                            limit: Some(1000),
                            ..QueryBuilder::default()
                        };
                    }
                }
            })
            .response
            .labelled_by(from.id);
    });
    let columns: &[ColumnInfo] = schema
        .iter()
        .find(|(t, _)| *t == builder.table)
        .map_or(&[], |(_, c)| c.as_slice());
    if columns.is_empty() {
        return None;
    }
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    ui.horizontal_wrapped(|ui| {
        ui.label("Columns (none: all)");
        for name in &names {
            toggle(ui, &mut builder.columns, name);
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("Group by");
        for name in &names {
            toggle(ui, &mut builder.group_by, name);
        }
    });
    filters_ui(ui, builder, &names);
    aggregates_ui(ui, builder, columns);
    order_ui(ui, builder, columns);
    ui.horizontal(|ui| {
        let mut limited = builder.limit.is_some();
        ui.checkbox(&mut limited, "Limit");
        match (limited, builder.limit) {
            (true, None) => builder.limit = Some(1000),
            (false, Some(_)) => builder.limit = None,
            _ => {}
        }
        if let Some(limit) = &mut builder.limit {
            ui.add(egui::DragValue::new(limit).range(1..=100_000_000));
        }
    });
    let sql = builder.sql(columns);
    let mut run = None;
    match &sql {
        Ok(sql) => {
            ui.add(
                egui::Label::new(egui::RichText::new(sql).monospace())
                    .wrap_mode(egui::TextWrapMode::Wrap),
            );
            if ui.button("Run built query").clicked() {
                run = Some(sql.clone());
            }
        }
        Err(e) => {
            ui.colored_label(ui.visuals().warn_fg_color, e.to_string());
        }
    }
    run
}

fn toggle(ui: &mut egui::Ui, chosen: &mut Vec<String>, name: &str) {
    let mut on = chosen.iter().any(|c| c == name);
    if ui.toggle_value(&mut on, name).changed() {
        if on {
            chosen.push(name.to_owned());
        } else {
            chosen.retain(|c| c != name);
        }
    }
}

fn pick(
    ui: &mut egui::Ui,
    id: impl std::hash::Hash + std::fmt::Debug,
    value: &mut String,
    names: &[String],
) {
    egui::ComboBox::from_id_salt(id)
        .selected_text(value.as_str())
        .show_ui(ui, |ui| {
            for name in names {
                ui.selectable_value(value, name.clone(), name);
            }
        });
}

fn filters_ui(ui: &mut egui::Ui, builder: &mut QueryBuilder, names: &[String]) {
    let mut remove = None;
    for (i, filter) in builder.filters.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            ui.label("Where");
            pick(ui, ("builder filter column", i), &mut filter.column, names);
            egui::ComboBox::from_id_salt(("builder filter op", i))
                .selected_text(filter.op.sql())
                .width(60.0)
                .show_ui(ui, |ui| {
                    for op in FilterOp::ALL {
                        ui.selectable_value(&mut filter.op, op, op.sql());
                    }
                });
            let hint = if filter.op == FilterOp::In {
                "a, b, c"
            } else {
                "value"
            };
            ui.add(
                egui::TextEdit::singleline(&mut filter.value)
                    .hint_text(hint)
                    .desired_width(140.0),
            );
            if ui.small_button("Remove").clicked() {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        builder.filters.remove(i);
    }
    if ui.button("Add filter").clicked() {
        builder.filters.push(BuilderFilter {
            column: names.first().cloned().unwrap_or_default(),
            op: FilterOp::Eq,
            value: String::new(),
        });
    }
}

fn aggregates_ui(ui: &mut egui::Ui, builder: &mut QueryBuilder, columns: &[ColumnInfo]) {
    let mut remove = None;
    for (i, aggregate) in builder.aggregates.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            egui::ComboBox::from_id_salt(("builder aggregate", i))
                .selected_text(aggregate.function.name())
                .width(80.0)
                .show_ui(ui, |ui| {
                    for function in AggregateFn::ALL {
                        ui.selectable_value(&mut aggregate.function, function, function.name());
                    }
                });
            let mut column = aggregate.column.clone().unwrap_or_default();
            // Empty: over rows (count). Sums and averages are offered number columns only.
            let mut offered = vec![String::new()];
            offered.extend(
                columns
                    .iter()
                    .filter(|c| {
                        !aggregate.function.needs_number()
                            || ValueKind::of_type(&c.type_name).is_number()
                    })
                    .map(|c| c.name.clone()),
            );
            pick(ui, ("builder aggregate column", i), &mut column, &offered);
            aggregate.column = (!column.is_empty()).then_some(column);
            ui.weak(format!("as {}", aggregate.alias()));
            if ui.small_button("Remove").clicked() {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        builder.aggregates.remove(i);
    }
    if ui.button("Add aggregate").clicked() {
        builder.aggregates.push(Aggregate {
            function: AggregateFn::Count,
            column: None,
        });
    }
}

fn order_ui(ui: &mut egui::Ui, builder: &mut QueryBuilder, columns: &[ColumnInfo]) {
    let names = builder.result_names(columns);
    let mut remove = None;
    for (i, (name, descending)) in builder.order_by.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            ui.label("Order by");
            pick(ui, ("builder order", i), name, &names);
            ui.checkbox(descending, "descending");
            if ui.small_button("Remove").clicked() {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        builder.order_by.remove(i);
    }
    if ui.button("Add order").clicked()
        && let Some(first) = names.first()
    {
        builder.order_by.push((first.clone(), false));
    }
}
