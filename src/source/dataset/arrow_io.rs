//! Curves ⇄ Arrow. Lyceum's own layout is one row per curve: `key` (Utf8), one Utf8 column per
//! label, `x0` and `dx` (Float64, null for explicit x), `x` (LargeList<Float64>, null for
//! uniform x) and `y` (LargeList<Float32>) — the list values are the store's contiguous sample
//! buffers, written and read in bulk. Files from other tools come in long format (one row per
//! sample: curve id, x or sample index, value, labels) and are grouped into curves here.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, LargeListArray, RecordBatch, StringArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::manifest::ColumnInfo;
use crate::curves::{Axes, CurveStore, CurveStoreBuilder, Sampling};
use crate::source::csv_file::{SERIES_NAMES, VALUE_NAMES, X_NAMES};

/// Why a table cannot become curves; the caller adds the file name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TableError {
    #[error("no column `{0}`")]
    MissingColumn(String),
    #[error("column `{name}` has type {found}, expected {expected}")]
    WrongType {
        name: String,
        found: String,
        expected: &'static str,
    },
    #[error("cannot tell the {role} column among {columns}: name it with --{role}")]
    NoRole { role: &'static str, columns: String },
    #[error("row {row}: {problem}")]
    BadRow { row: usize, problem: String },
    #[error(transparent)]
    Store(#[from] crate::curves::StoreError),
}

fn list_field(item: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", item, false))
}

fn offsets(ends: impl IntoIterator<Item = usize>) -> OffsetBuffer<i64> {
    let offsets: Vec<i64> = std::iter::once(0)
        .chain(ends.into_iter().map(|end| end as i64))
        .collect();
    OffsetBuffer::new(ScalarBuffer::from(offsets))
}

/// The store as one record batch in Lyceum's layout, and the column descriptions.
pub fn store_to_batch(
    store: &CurveStore,
) -> Result<(RecordBatch, Vec<ColumnInfo>), arrow_schema::ArrowError> {
    let curves = store.len() as u32;
    let mut fields = vec![Field::new("key", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(store.keys()))];
    let mut roles = vec!["key"];
    for label in store.label_columns() {
        fields.push(Field::new(&label.name, DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from_iter_values(&label.values)));
        roles.push("label");
    }
    let uniform = |pick: fn(f64, f64) -> f64| {
        Float64Array::from_iter((0..curves).map(|id| match store.sampling(id) {
            Sampling::Uniform { x0, dx } => Some(pick(x0, dx)),
            Sampling::Explicit => None,
        }))
    };
    fields.push(Field::new("x0", DataType::Float64, true));
    columns.push(Arc::new(uniform(|x0, _| x0)));
    fields.push(Field::new("dx", DataType::Float64, true));
    columns.push(Arc::new(uniform(|_, dx| dx)));
    roles.extend(["x0", "dx"]);

    let mut x_values = Vec::new();
    let mut x_ends = Vec::with_capacity(store.len());
    for id in 0..curves {
        if let Some(xs) = store.x_explicit(id) {
            x_values.extend_from_slice(xs);
        }
        x_ends.push(x_values.len());
    }
    let explicit = NullBuffer::from_iter((0..curves).map(|id| store.x_explicit(id).is_some()));
    let x = LargeListArray::try_new(
        list_field(DataType::Float64),
        offsets(x_ends),
        Arc::new(Float64Array::from(x_values)),
        Some(explicit),
    )?;
    fields.push(Field::new("x", x.data_type().clone(), true));
    columns.push(Arc::new(x));

    let y = LargeListArray::try_new(
        list_field(DataType::Float32),
        offsets(store.y_offsets()[1..].iter().copied()),
        Arc::new(Float32Array::from(store.y_values().to_vec())),
        None,
    )?;
    fields.push(Field::new("y", y.data_type().clone(), false));
    columns.push(Arc::new(y));
    roles.extend(["x", "y"]);

    let schema = Arc::new(Schema::new(fields));
    let info = schema
        .fields()
        .iter()
        .zip(roles)
        .map(|(field, role)| ColumnInfo {
            name: field.name().clone(),
            data_type: field.data_type().to_string(),
            role: role.to_owned(),
        })
        .collect();
    Ok((RecordBatch::try_new(schema, columns)?, info))
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, TableError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| TableError::MissingColumn(name.to_owned()))
}

fn wrong_type(name: &str, found: &DataType, expected: &'static str) -> TableError {
    TableError::WrongType {
        name: name.to_owned(),
        found: found.to_string(),
        expected,
    }
}

fn utf8<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray, TableError> {
    let array = column(batch, name)?;
    array
        .as_string_opt::<i32>()
        .ok_or_else(|| wrong_type(name, array.data_type(), "Utf8"))
}

fn float64<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Float64Array, TableError> {
    let array = column(batch, name)?;
    array
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| wrong_type(name, array.data_type(), "Float64"))
}

fn large_list<'a>(
    batch: &'a RecordBatch,
    name: &str,
    expected: &'static str,
) -> Result<&'a LargeListArray, TableError> {
    let array = column(batch, name)?;
    array
        .as_list_opt::<i64>()
        .ok_or_else(|| wrong_type(name, array.data_type(), expected))
}

/// Append batches in Lyceum's layout (as [`store_to_batch`] writes them) to `builder`, whose
/// label columns are `label_names`.
pub fn append_batch(
    builder: &mut CurveStoreBuilder,
    batch: &RecordBatch,
    label_names: &[String],
) -> Result<(), TableError> {
    let keys = utf8(batch, "key")?;
    let labels = label_names
        .iter()
        .map(|name| utf8(batch, name))
        .collect::<Result<Vec<_>, _>>()?;
    let (x0, dx) = (float64(batch, "x0")?, float64(batch, "dx")?);
    let x = large_list(batch, "x", "LargeList(Float64)")?;
    let y = large_list(batch, "y", "LargeList(Float32)")?;
    let x_values = x
        .values()
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| wrong_type("x", x.data_type(), "LargeList(Float64)"))?
        .values();
    let y_values = y
        .values()
        .as_primitive_opt::<Float32Type>()
        .ok_or_else(|| wrong_type("y", y.data_type(), "LargeList(Float32)"))?
        .values();
    let (x_offsets, y_offsets) = (x.value_offsets(), y.value_offsets());
    let slice =
        |offsets: &[i64], row: usize, len: usize| -> Result<std::ops::Range<usize>, TableError> {
            let (start, end) = (offsets[row], offsets[row + 1]);
            match (usize::try_from(start), usize::try_from(end)) {
                (Ok(start), Ok(end)) if start <= end && end <= len => Ok(start..end),
                _ => Err(TableError::BadRow {
                    row,
                    problem: format!("list offsets {start}..{end} out of range"),
                }),
            }
        };
    let mut label_values: Vec<&str> = Vec::with_capacity(labels.len());
    for row in 0..batch.num_rows() {
        label_values.clear();
        label_values.extend(labels.iter().map(|column| column.value(row)));
        let ys = &y_values[slice(y_offsets, row, y_values.len())?];
        if x.is_valid(row) {
            let xs = &x_values[slice(x_offsets, row, x_values.len())?];
            builder.push_explicit(keys.value(row), &label_values, xs, ys)?;
        } else if x0.is_valid(row) && dx.is_valid(row) {
            builder.push_uniform(
                keys.value(row),
                &label_values,
                x0.value(row),
                dx.value(row),
                ys,
            )?;
        } else {
            return Err(TableError::BadRow {
                row,
                problem: "neither x values nor x0 and dx".to_owned(),
            });
        }
    }
    Ok(())
}

/// Label column names of a batch in Lyceum's layout: the Utf8 columns after `key`.
pub fn label_names(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .filter(|f| !["key", "x0", "dx", "x", "y"].contains(&f.name().as_str()))
        .map(|f| f.name().clone())
        .collect()
}

/// Which columns of a long-format table hold the curve id, x and value.
#[derive(Clone, Debug, Default)]
pub struct LongColumns {
    pub series: Option<String>,
    pub x: Option<String>,
    pub value: Option<String>,
}

fn find_role(
    schema: &Schema,
    given: Option<&str>,
    names: &[&str],
    taken: &[&str],
    role: &'static str,
) -> Result<String, TableError> {
    if let Some(name) = given {
        return schema
            .fields()
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
            .map(|f| f.name().clone())
            .ok_or_else(|| TableError::MissingColumn(name.to_owned()));
    }
    names
        .iter()
        .find_map(|n| {
            schema
                .fields()
                .iter()
                .find(|f| f.name().eq_ignore_ascii_case(n) && !taken.contains(&f.name().as_str()))
        })
        .map(|f| f.name().clone())
        .ok_or_else(|| TableError::NoRole {
            role,
            columns: schema
                .fields()
                .iter()
                .map(|f| format!("`{}`", f.name()))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Text of any label-like value.
fn cell_text(array: &ArrayRef, row: usize) -> Option<String> {
    if array.is_null(row) {
        return Some(String::new());
    }
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row).to_owned()),
        DataType::Utf8View => Some(array.as_string_view().value(row).to_owned()),
        DataType::Int32 => Some(array.as_primitive::<Int32Type>().value(row).to_string()),
        DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(row).to_string()),
        DataType::UInt32 => Some(array.as_primitive::<UInt32Type>().value(row).to_string()),
        DataType::UInt64 => Some(array.as_primitive::<UInt64Type>().value(row).to_string()),
        DataType::Float64 => Some(array.as_primitive::<Float64Type>().value(row).to_string()),
        DataType::Float32 => Some(array.as_primitive::<Float32Type>().value(row).to_string()),
        DataType::Boolean => Some(array.as_boolean().value(row).to_string()),
        _ => None,
    }
}

/// A number of any numeric or timestamp (→ seconds) type; `None` for other types.
fn cell_number(array: &ArrayRef, row: usize) -> Option<f64> {
    if array.is_null(row) {
        return Some(f64::NAN);
    }
    use arrow_array::types::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    Some(match array.data_type() {
        DataType::Float64 => array.as_primitive::<Float64Type>().value(row),
        DataType::Float32 => f64::from(array.as_primitive::<Float32Type>().value(row)),
        DataType::Int32 => f64::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row) as f64,
        DataType::UInt32 => f64::from(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row) as f64,
        DataType::Timestamp(TimeUnit::Second, _) => {
            array.as_primitive::<TimestampSecondType>().value(row) as f64
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            array.as_primitive::<TimestampMillisecondType>().value(row) as f64 / 1e3
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            array.as_primitive::<TimestampMicrosecondType>().value(row) as f64 / 1e6
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            array.as_primitive::<TimestampNanosecondType>().value(row) as f64 / 1e9
        }
        _ => return None,
    })
}

/// Samples of one curve gathered from long rows, with the labels of its first row.
#[derive(Default)]
struct LongCurve {
    labels: Vec<String>,
    /// Per label: whether a later row of this curve had another value.
    labels_vary: Vec<bool>,
    xs: Vec<f64>,
    ys: Vec<f32>,
}

/// Curves read from another tool's file, and what the reader had to change or could not
/// keep (said to the user, never done silently).
#[derive(Debug)]
pub struct LongImport {
    pub store: CurveStore,
    pub notes: Vec<String>,
}

/// Counts of values that do not survive f32 storage as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValueReport {
    /// Finite values beyond ±3.4e38: stored as ±inf.
    pub overflow: usize,
    /// Non-zero values below 1.2e-38 in magnitude: stored with less precision, or as 0.
    pub underflow: usize,
    /// ±inf in the file.
    pub infinite: usize,
    /// Empty or NaN: gaps.
    pub gaps: usize,
}

impl ValueReport {
    /// Count `value` (as read, f64) against what f32 keeps.
    pub fn count(&mut self, value: f64) {
        if value.is_nan() {
            self.gaps += 1;
        } else if value.is_infinite() {
            self.infinite += 1;
        } else if value.abs() > f64::from(f32::MAX) {
            self.overflow += 1;
        } else if value != 0.0 && value.abs() < f64::from(f32::MIN_POSITIVE) {
            self.underflow += 1;
        }
    }

    /// One line per kind found.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.overflow > 0 {
            notes.push(format!(
                "{} value(s) beyond the f32 range (±3.4e38) are stored as gaps (NaN)",
                self.overflow
            ));
        }
        if self.underflow > 0 {
            notes.push(format!(
                "{} value(s) smaller than 1.2e-38 lose precision in f32 (stored as subnormals or 0)",
                self.underflow
            ));
        }
        if self.infinite > 0 {
            notes.push(format!(
                "{} infinite value(s) are stored as gaps (NaN)",
                self.infinite
            ));
        }
        if self.gaps > 0 {
            notes.push(format!(
                "{} empty or NaN value(s) are gaps: the line breaks there",
                self.gaps
            ));
        }
        notes
    }
}

/// Column names that mean time (epoch seconds when the values are in that range).
const TIME_NAMES: [&str; 6] = ["t", "ts", "time", "timestamp", "datetime", "date"];
/// Epoch seconds from 2000 to 2100.
const EPOCH_SECS: std::ops::RangeInclusive<f64> = 946_684_800.0..=4_102_444_800.0;

/// Group a long-format table (one row per sample) into curves: rows of one curve may be
/// anywhere in the table; each curve's samples are sorted by x. Every other column becomes a
/// label (its value in the curve's first row; a label that changes within a curve is
/// reported). The axes are named after the x and value columns.
pub fn long_batches_to_store(
    batches: &[RecordBatch],
    roles: &LongColumns,
) -> Result<LongImport, TableError> {
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        return Ok(LongImport {
            store: CurveStoreBuilder::new(&[]).finish()?,
            notes: Vec::new(),
        });
    };
    let series = find_role(
        &schema,
        roles.series.as_deref(),
        &SERIES_NAMES,
        &[],
        "series",
    )?;
    let x = find_role(&schema, roles.x.as_deref(), &X_NAMES, &[&series], "x")?;
    let value = find_role(
        &schema,
        roles.value.as_deref(),
        &VALUE_NAMES,
        &[&series, &x],
        "value",
    )?;
    let label_names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| ![&series, &x, &value].contains(&n))
        .collect();

    let mut order: Vec<String> = Vec::new();
    let mut curves: HashMap<String, LongCurve> = HashMap::new();
    let mut values = ValueReport::default();
    let mut row_base = 0;
    for batch in batches {
        let (series_col, x_col, value_col) = (
            column(batch, &series)?,
            column(batch, &x)?,
            column(batch, &value)?,
        );
        let label_cols = label_names
            .iter()
            .map(|n| column(batch, n))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let bad_type = |name: &str, array: &ArrayRef, expected| {
                wrong_type(name, array.data_type(), expected)
            };
            let key = cell_text(series_col, row)
                .ok_or_else(|| bad_type(&series, series_col, "text or integer"))?;
            let x_value = cell_number(x_col, row)
                .ok_or_else(|| bad_type(&x, x_col, "number or timestamp"))?;
            let y_value =
                cell_number(value_col, row).ok_or_else(|| bad_type(&value, value_col, "number"))?;
            if x_value.is_nan() {
                return Err(TableError::BadRow {
                    row: row_base + row,
                    problem: format!("`{x}` is empty"),
                });
            }
            values.count(y_value);
            let labels = label_cols
                .iter()
                .zip(&label_names)
                .map(|(col, name)| {
                    cell_text(col, row).ok_or_else(|| bad_type(name, col, "text or number"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let curve = match curves.get_mut(&key) {
                Some(curve) => {
                    for ((first, varies), now) in
                        curve.labels.iter().zip(&mut curve.labels_vary).zip(&labels)
                    {
                        *varies |= first != now;
                    }
                    curve
                }
                None => {
                    order.push(key.clone());
                    curves.entry(key).or_insert(LongCurve {
                        labels_vary: vec![false; labels.len()],
                        labels,
                        ..LongCurve::default()
                    })
                }
            };
            curve.xs.push(x_value);
            // What f32 cannot hold finitely is a gap: a picture cannot show infinity, and a
            // line to the plot's edge would be a lie. The notes say how many.
            let y = y_value as f32;
            curve.ys.push(if y.is_finite() { y } else { f32::NAN });
        }
        row_base += batch.num_rows();
    }
    let mut notes = Vec::new();
    for (i, name) in label_names.iter().enumerate() {
        let varying = curves.values().filter(|c| c.labels_vary[i]).count();
        if varying > 0 {
            notes.push(format!(
                "label `{name}` changes within {varying} of {} curve(s); each curve keeps the value of its first sample",
                curves.len()
            ));
        }
    }
    notes.extend(values.notes());

    let names: Vec<&str> = label_names.iter().map(String::as_str).collect();
    let mut builder = CurveStoreBuilder::new(&names);
    let x_is_timestamp = matches!(
        schema.field_with_name(&x).map(|f| f.data_type().clone()),
        Ok(DataType::Timestamp(..))
    );
    let time_named = TIME_NAMES.iter().any(|n| x.eq_ignore_ascii_case(n));
    let mut all_epoch = true;
    for key in &order {
        let Some(mut curve) = curves.remove(key) else {
            continue;
        };
        if !curve.xs.is_sorted() {
            let mut by_x: Vec<(f64, f32)> = curve
                .xs
                .iter()
                .copied()
                .zip(curve.ys.iter().copied())
                .collect();
            by_x.sort_by(|a, b| a.0.total_cmp(&b.0));
            (curve.xs, curve.ys) = by_x.into_iter().unzip();
        }
        all_epoch &= curve.xs.iter().all(|x| EPOCH_SECS.contains(x));
        let labels: Vec<&str> = curve.labels.iter().map(String::as_str).collect();
        builder.push_explicit(key.as_str(), &labels, &curve.xs, &curve.ys)?;
    }
    let mut store = builder.finish()?;
    // A `unit` label with one value names the y unit.
    let y_unit = store
        .label_columns()
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case("unit"))
        .and_then(|c| {
            let first = c.values.first()?;
            c.values.iter().all(|v| v == first).then(|| first.clone())
        })
        .filter(|unit| !unit.is_empty());
    store.set_axes(Axes {
        y_unit,
        x_is_time: x_is_timestamp || (time_named && all_epoch && !store.is_empty()),
        ..Axes::named(x.as_str(), value.as_str())
    });
    Ok(LongImport { store, notes })
}
