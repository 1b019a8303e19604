//! A recipe judged in ClickHouse over every matching cycle of an array table, so a month of
//! curves never crosses the network: each row's objects become array expressions
//! (`arrayExists` over the samples and their x), and only the counts come back — judged,
//! passed and fails per object, per value of a label (the station) and per hour of the row's
//! time column. The pass rules are the client's (`curves::quality::evaluate`), written again
//! in SQL, and tested equal on the same curves:
//!
//! - min/max: the samples with x in the range (NaN left out) lie within the limits; none fails;
//! - no-pass box: no sample inside, and no segment between two valid samples (joined across
//!   NaN) through it (the part of the segment over the box's x range, linear in x, meets its y
//!   range; x must grow);
//! - envelope (absolute, peak or end alignment): every sample in a bin with limits lies within.
//!
//! Windows with entry and exit sides and line crossings count sides and crossings along the
//! polyline; they are judged in the client (`evaluate_all` over fetched curves), and a recipe
//! holding them is refused here with that reason. So are explicit x arrays (no `x0`/`dx`).
//! Every function used exists in ClickHouse 18.16 (`arrayExists`, `arrayEnumerate`,
//! `arrayPopBack`/`arrayPopFront`, `indexOf`, `arrayReduce`).

use serde::Deserialize;

use super::connection::Connection;
use super::error::{ClickHouseError, Result};
use super::plan::{
    BindValue, BoundSql, CurveSelection, key_expression, range_condition, row_range_column,
    selection_conditions, table, x_as_f64,
};
use super::schema::{ArrayX, CurveLayout, ValidatedMapping};
use crate::curves::quality::yields::{YieldCount, Yields};
use crate::curves::quality::{Alignment, DataRect, Envelope, EvalObject, Recipe};

#[derive(Debug, clickhouse::Row, Deserialize)]
struct GroupRow {
    grp: String,
    hour: i64,
    judged: u64,
    passed: u64,
    fails: Vec<u64>,
}

/// Why `recipe` cannot be judged in the server, if it cannot.
pub fn server_refusal(recipe: &Recipe) -> Option<String> {
    if recipe.objects.is_empty() {
        return Some("the recipe has no object".into());
    }
    recipe.objects.iter().find_map(|o| match o {
        EvalObject::Window { .. } => Some(
            "windows count entries and exits along the curve: they are judged in the client".into(),
        ),
        EvalObject::Line(_) => {
            Some("line crossings are counted along the curve: they are judged in the client".into())
        }
        EvalObject::Envelope(e) if matches!(e.alignment, Alignment::Trigger { .. }) => Some(
            "an envelope aligned to a trigger level interpolates: it is judged in the client"
                .into(),
        ),
        _ => None,
    })
}

/// The x of sample `index` (1-based SQL) of a row: `x0 + (index - 1) · dx`.
struct XOf {
    x0: Expr,
    dx: Expr,
}

enum Expr {
    Column(String),
    Value(f64),
}

impl XOf {
    fn of(m: &ValidatedMapping) -> Result<Self> {
        match &m.mapping.layout {
            CurveLayout::Arrays {
                x: ArrayX::UniformColumns { x0, dx },
                ..
            } => Ok(Self {
                x0: Expr::Column(x0.clone()),
                dx: Expr::Column(dx.clone()),
            }),
            CurveLayout::Arrays {
                x: ArrayX::Uniform { x0, dx },
                ..
            } => Ok(Self {
                x0: Expr::Value(*x0),
                dx: Expr::Value(*dx),
            }),
            CurveLayout::Arrays {
                x: ArrayX::Column(_),
                ..
            } => Err(ClickHouseError::InvalidRequest(
                "curves with an x array are judged in the client (the server needs x0 and dx)"
                    .into(),
            )),
            _ => Err(ClickHouseError::InvalidRequest(
                "a recipe in ClickHouse needs an array-format mapping (one row per curve)".into(),
            )),
        }
    }

    fn push_part(sql: &mut BoundSql, e: &Expr) {
        match e {
            Expr::Column(name) => {
                sql.push("toFloat64(").column(name).push(")");
            }
            Expr::Value(v) => {
                sql.bind(BindValue::F64(*v));
            }
        }
    }

    /// `_xs`: the row's x per sample, `x0 + (i - 1) · dx` (i 1-based). Old servers do not
    /// see columns named only inside a lambda, so x0 and dx go in as arrays beside the samples.
    fn push_xs(&self, sql: &mut BoundSql, y: &str) {
        sql.push("arrayMap((i, a, d) -> a + (i - 1) * d, arrayEnumerate(")
            .column(y)
            .push(")");
        for part in [&self.x0, &self.dx] {
            sql.push(", ");
            fill(sql, y, &|sql| Self::push_part(sql, part));
        }
        sql.push(") AS _xs");
    }
}

/// An array as long as the row's samples holding `value` (a Float64 expression) throughout.
fn fill(sql: &mut BoundSql, y: &str, value: &dyn Fn(&mut BoundSql)) {
    sql.push("arrayResize(emptyArrayFloat64(), length(")
        .column(y)
        .push("), toFloat64(");
    value(sql);
    sql.push("))");
}

/// A float written into the SQL as ClickHouse reads it back exactly (Rust's shortest
/// round-trip form; NaN as `nan`).
fn literal(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v:?}")
    }
}

fn float_array(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|&v| literal(v)).collect();
    format!("CAST([{}], 'Array(Float64)')", items.join(", "))
}

/// `1` where the row fails the object, else `0`; `_xs` holds each sample's x.
fn fail_expression(sql: &mut BoundSql, y: &str, k: usize, object: &EvalObject) -> Result<()> {
    match object {
        EvalObject::MinMax {
            x_min,
            x_max,
            y_low,
            y_high,
        } => {
            let in_range = format!(
                "NOT isNaN(v) AND x >= {} AND x <= {}",
                literal(*x_min),
                literal(*x_max)
            );
            let mut outside = String::from("0");
            if let Some(low) = y_low {
                outside.push_str(&format!(" OR v < {}", literal(*low)));
            }
            if let Some(high) = y_high {
                outside.push_str(&format!(" OR v > {}", literal(*high)));
            }
            sql.push(&format!("toUInt8((NOT arrayExists((v, x) -> {in_range}, "))
                .column(y)
                .push(&format!(
                    ", _xs)) OR arrayExists((v, x) -> {in_range} AND ({outside}), "
                ))
                .column(y)
                .push(", _xs))");
        }
        EvalObject::NoPass { rect } => no_pass_expression(sql, y, rect),
        EvalObject::Envelope(e) => envelope_expression(sql, y, k, e)?,
        EvalObject::Window { .. } | EvalObject::Line(_) => {
            return Err(ClickHouseError::InvalidRequest(
                server_refusal(&Recipe {
                    objects: vec![object.clone()],
                    ..Recipe::default()
                })
                .unwrap_or_default(),
            ));
        }
    }
    Ok(())
}

fn no_pass_expression(sql: &mut BoundSql, y: &str, r: &DataRect) {
    let (x_min, x_max) = (literal(r.x_min), literal(r.x_max));
    let (y_min, y_max) = (literal(r.y_min), literal(r.y_max));
    // A sample inside, or a segment a → b through the box: over [max(xa, x_min),
    // min(xb, x_max)] the segment's y (linear in x) spans a range that meets [y_min, y_max].
    let y_at = |at: &str| format!("(a + (b - a) * ({at} - xa) / (xb - xa))");
    let (lo, hi) = (
        format!("greatest(xa, {x_min})"),
        format!("least(xb, {x_max})"),
    );
    let (y_lo, y_hi) = (y_at(&lo), y_at(&hi));
    sql.push(&format!(
        "toUInt8(arrayExists((v, x) -> NOT isNaN(v) AND x >= {x_min} AND x <= {x_max} \
         AND v >= {y_min} AND v <= {y_max}, "
    ))
    .column(y)
    .push(&format!(
        ", _xs) OR arrayExists((a, b, xa, xb) -> {lo} <= {hi} \
         AND greatest({y_lo}, {y_hi}) >= {y_min} AND least({y_lo}, {y_hi}) <= {y_max}, "
    ));
    // The valid samples and their x, joined across NaN as the client joins them.
    let valid = |sql: &mut BoundSql, of_x: bool| {
        if of_x {
            sql.push("arrayFilter((x, v) -> NOT isNaN(v), _xs, ")
                .column(y)
                .push(")");
        } else {
            sql.push("arrayFilter(v -> NOT isNaN(v), ")
                .column(y)
                .push(")");
        }
    };
    for (of_x, end) in [
        (false, "Back"),
        (false, "Front"),
        (true, "Back"),
        (true, "Front"),
    ] {
        sql.push(if of_x || end == "Front" { ", " } else { "" })
            .push(&format!("arrayPop{end}("));
        valid(sql, of_x);
        sql.push(")");
    }
    sql.push("))");
}

/// Envelope `k` of the recipe; its limits are the arrays `lower{k}`, `upper{k}` of the query's
/// `WITH`.
fn envelope_expression(sql: &mut BoundSql, y: &str, k: usize, e: &Envelope) -> Result<()> {
    let q = quoted(y);
    let shift = match e.alignment {
        Alignment::Absolute => None,
        Alignment::Final => Some(format!("_xs[length({q})]")),
        // The first highest sample, as the client takes it.
        Alignment::Peak => Some(format!("_xs[indexOf({q}, arrayReduce('max', {q}))]")),
        Alignment::Trigger { .. } => {
            return Err(ClickHouseError::InvalidRequest(
                "an envelope aligned to a trigger level is judged in the client".into(),
            ));
        }
    };
    let (lower, upper) = (format!("lower{k}"), format!("upper{k}"));
    // Sample i's bin + 1 (0 outside the grid), by the client's rule.
    sql.push(&format!(
        "toUInt8(arrayExists((v, n) -> n > 0 AND NOT isNaN({lower}[n]) AND NOT isNaN({upper}[n]) \
         AND (v < {lower}[n] OR v > {upper}[n]), "
    ));
    sql.column(y).push(&format!(
        ", arrayMap(b -> if(b >= 0 AND b < {}, toUInt32(b + 1), toUInt32(0)), \
         arrayMap((x, s) -> toInt64(floor(((x - s) - {}) / {})), _xs, ",
        e.grid.bins,
        literal(e.grid.x0),
        literal(e.grid.dx)
    ));
    match shift {
        Some(shift) => fill(sql, y, &|sql| {
            sql.push(&shift);
        }),
        None => fill(sql, y, &|sql| {
            sql.push("0");
        }),
    }
    sql.push("))))");
    Ok(())
}

/// An identifier as SQL text (for the few places an expression is built as a string).
fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// The query: per group and hour, rows judged, passed and fails per object.
pub fn history_sql(
    m: &ValidatedMapping,
    selection: &CurveSelection,
    recipe: &Recipe,
    group_by: Option<&str>,
    time_column: Option<&str>,
) -> Result<BoundSql> {
    let mut sql = BoundSql::default();
    sql.push("SELECT grp, hour, toUInt64(count()) AS judged, toUInt64(sum(pass)) AS passed, [");
    for k in 0..recipe.objects.len() {
        sql.push(if k > 0 { ", " } else { "" })
            .push(&format!("toUInt64(sum(f{k}))"));
    }
    sql.push("] AS fails FROM (");
    per_row(&mut sql, m, selection, recipe, group_by, time_column)?;
    sql.push(") GROUP BY grp, hour ORDER BY grp, hour");
    Ok(sql)
}

/// One row per judged cycle: `key, grp, hour, f0 … fn, pass`.
fn per_row(
    sql: &mut BoundSql,
    m: &ValidatedMapping,
    selection: &CurveSelection,
    recipe: &Recipe,
    group_by: Option<&str>,
    time_column: Option<&str>,
) -> Result<()> {
    if let Some(reason) = server_refusal(recipe) {
        return Err(ClickHouseError::InvalidRequest(reason));
    }
    let x = XOf::of(m)?;
    let y = m.y_column.name.clone();
    // Envelope limits once per query, not once per use.
    let envelopes: Vec<(usize, &Envelope)> = recipe
        .objects
        .iter()
        .enumerate()
        .filter_map(|(k, o)| match o {
            EvalObject::Envelope(e) => Some((k, &**e)),
            _ => None,
        })
        .collect();
    for (i, (k, e)) in envelopes.iter().enumerate() {
        sql.push(if i == 0 { "WITH " } else { ", " });
        sql.push(&format!(
            "{} AS lower{k}, {} AS upper{k}",
            float_array(&e.lower),
            float_array(&e.upper)
        ));
    }
    sql.push(" SELECT ");
    key_expression(sql, &m.key_columns);
    sql.push(" AS key, ");
    match group_by {
        Some(label) => {
            let column = m
                .label_columns
                .iter()
                .chain(&m.key_columns)
                .find(|c| c.name == label)
                .ok_or_else(|| {
                    ClickHouseError::InvalidRequest(format!(
                        "`{label}` is not a label of this mapping"
                    ))
                })?;
            sql.push("toString(").column(&column.name).push(")");
        }
        None => {
            sql.push("''");
        }
    }
    sql.push(" AS grp, ");
    match time_column {
        Some(column) => {
            sql.push("toInt64(intDiv(toInt64(floor(");
            x_as_f64(sql, &row_range_column(m, column));
            sql.push(")), 3600) * 3600)");
        }
        None => {
            sql.push("toInt64(0)");
        }
    }
    sql.push(" AS hour, ");
    x.push_xs(sql, &y);
    for (k, object) in recipe.objects.iter().enumerate() {
        sql.push(", ");
        fail_expression(sql, &y, k, object)?;
        sql.push(&format!(" AS f{k}"));
    }
    sql.push(", toUInt8(");
    for k in 0..recipe.objects.len() {
        sql.push(if k > 0 { " + " } else { "" })
            .push(&format!("f{k}"));
    }
    sql.push(" = 0) AS pass FROM ");
    table(sql, m);
    sql.push(" WHERE 1");
    if let Some((column, from, to)) = &selection.row_range {
        sql.push(" AND ");
        range_condition(sql, &row_range_column(m, column), *from, *to);
    }
    selection_conditions(sql, m, selection);
    Ok(())
}

/// The verdict table's columns (made if missing; an existing table of another shape makes the
/// insert fail with the server's reason, and is never changed).
const VERDICT_COLUMNS: &str = "(judged_at DateTime, recipe String, key String, grp String, \
     hour DateTime, passed UInt8, fails Array(UInt8)) ENGINE = MergeTree() ORDER BY (recipe, key)";

impl Connection {
    /// Judge the selected rows of an array mapping by `recipe` in the server: yield overall,
    /// per value of `group_by` and per hour of `time_column`.
    pub async fn judge_history(
        &self,
        m: &ValidatedMapping,
        selection: &CurveSelection,
        recipe: &Recipe,
        group_by: Option<&str>,
        time_column: Option<&str>,
    ) -> Result<Yields> {
        let sql = history_sql(m, selection, recipe, group_by, time_column)?;
        let rows: Vec<GroupRow> = self
            .fetch_all(with_room(sql.to_query(self.client())))
            .await?;
        let mut out = Yields {
            fails_per_object: vec![0; recipe.objects.len()],
            group_label: group_by.map(str::to_owned),
            ..Yields::default()
        };
        let count = |row: &GroupRow| YieldCount {
            passed: row.passed as usize,
            judged: row.judged as usize,
        };
        let mut hours = std::collections::BTreeMap::<i64, YieldCount>::new();
        for row in &rows {
            let c = count(row);
            out.overall.passed += c.passed;
            out.overall.judged += c.judged;
            for (total, fails) in out.fails_per_object.iter_mut().zip(&row.fails) {
                *total += fails;
            }
            if group_by.is_some() {
                match out.by_group.last_mut() {
                    Some((value, sum)) if *value == row.grp => {
                        sum.passed += c.passed;
                        sum.judged += c.judged;
                    }
                    _ => out.by_group.push((row.grp.clone(), c)),
                }
            }
            if time_column.is_some() {
                let hour = hours.entry(row.hour).or_default();
                hour.passed += c.passed;
                hour.judged += c.judged;
            }
        }
        out.by_hour = hours.into_iter().collect();
        Ok(out)
    }

    /// Write one verdict per selected cycle into `database.table` in the server (made if
    /// missing): when, the recipe's name, the cycle's key, its group and hour, passed, and per
    /// object whether it failed. Nothing crosses the network but the statement.
    pub async fn write_verdicts(
        &self,
        m: &ValidatedMapping,
        selection: &CurveSelection,
        recipe: &Recipe,
        (group_by, time_column): (Option<&str>, Option<&str>),
        (database, table_name): (&str, &str),
    ) -> Result<()> {
        let target = |sql: &mut BoundSql| {
            sql.bind(BindValue::Identifier(database.to_owned()))
                .push(".")
                .bind(BindValue::Identifier(table_name.to_owned()));
        };
        let mut create = BoundSql::default();
        create.push("CREATE TABLE IF NOT EXISTS ");
        target(&mut create);
        create.push(" ").push(VERDICT_COLUMNS);
        self.execute_bound(&create).await?;
        let mut insert = BoundSql::default();
        insert.push("INSERT INTO ");
        target(&mut insert);
        insert
            .push(" SELECT now(), ")
            .bind(BindValue::Str(recipe.name.clone()))
            .push(", key, grp, toDateTime(hour), pass, [");
        for k in 0..recipe.objects.len() {
            insert
                .push(if k > 0 { ", " } else { "" })
                .push(&format!("f{k}"));
        }
        insert.push("] FROM (");
        per_row(&mut insert, m, selection, recipe, group_by, time_column)?;
        insert.push(")");
        self.execute_bound(&insert).await
    }
}

/// Envelope limits are written into the query: room for 2 × 10,000 bins.
pub(super) fn with_room(query: clickhouse::query::Query) -> clickhouse::query::Query {
    query.with_setting("max_query_size", "4194304")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::quality::{BinGrid, EnvelopeRule};
    use crate::source::clickhouse::ddl;
    use crate::source::clickhouse::schema::{ColumnInfo, ColumnKind};

    fn mapping() -> ValidatedMapping {
        let column = |name: &str, type_name: &str| ColumnInfo {
            name: name.into(),
            type_name: type_name.into(),
            kind: ColumnKind::of_type(type_name),
        };
        let mut columns = vec![
            column("cycle_id", "UInt64"),
            column("cycle_time", "DateTime"),
            column("x0", "Float64"),
            column("dx", "Float64"),
            column("samples", "Array(Float32)"),
        ];
        let mapping = ddl::process_curves_mapping("db");
        for label in mapping.labels.iter().filter(|l| *l != "cycle_time") {
            columns.push(column(label, "String"));
        }
        ddl::process_curves_mapping("db")
            .validate(&columns)
            .unwrap()
    }

    #[test]
    fn every_object_the_server_judges_makes_balanced_sql() {
        let envelope = |alignment| {
            EvalObject::Envelope(Box::new(Envelope {
                grid: BinGrid {
                    x0: 0.0,
                    dx: 0.5,
                    bins: 3,
                },
                alignment,
                rule: EnvelopeRule::MeanSigma { k: 3.0 },
                lower: vec![0.0, f64::NAN, 1.0],
                upper: vec![2.0, f64::NAN, 3.0],
            }))
        };
        let rect = DataRect {
            x_min: 1.0,
            x_max: 2.0,
            y_min: 3.0,
            y_max: 4.0,
        };
        for object in [
            envelope(Alignment::Absolute),
            envelope(Alignment::Peak),
            envelope(Alignment::Final),
            EvalObject::NoPass { rect },
            EvalObject::MinMax {
                x_min: 1.0,
                x_max: 2.0,
                y_low: Some(0.5),
                y_high: None,
            },
        ] {
            let recipe = Recipe {
                objects: vec![object.clone(), object],
                ..Recipe::default()
            };
            let sql = history_sql(
                &mapping(),
                &CurveSelection::default(),
                &recipe,
                Some("station"),
                Some("cycle_time"),
            )
            .unwrap()
            .sql;
            let mut depth = 0i64;
            for c in sql.chars() {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                assert!(depth >= 0, "{sql}");
            }
            assert_eq!(depth, 0, "{sql}");
        }
    }
}
