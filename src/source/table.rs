//! A query's result as a table: columns of text kept in one buffer each (a million rows of a
//! few columns is a few allocations, not millions), the server's type per column, NULLs
//! marked, and per-column statistics worked out in parallel. The data explorer fills it from
//! ClickHouse (`clickhouse::results`), shows it in a virtual-scrolled table, charts it and
//! exports it (`dataset::export_table`).
//!
//! Main types: [`ResultTable`], [`ResultColumn`], [`ValueKind`], [`ColumnStats`].

use std::collections::HashSet;

use rayon::prelude::*;

use crate::curves::{Axes, CurveStore, CurveStoreBuilder};

/// Distinct values counted per column at most; beyond, "at least this many".
pub const DISTINCT_CAP: usize = 10_000;

/// What a column's values are, from its server type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Signed,
    Unsigned,
    Float,
    /// `Array(T)` of numbers: a curve's samples.
    NumberArray,
    /// A calendar day (`Date`, `Date32`), written `YYYY-MM-DD`.
    Date,
    /// Everything else (text, dates, times, UUIDs, other arrays, tuples …): shown as the
    /// server wrote it.
    Text,
}

impl ValueKind {
    /// The kind of a ClickHouse type name (`Nullable(…)`, `LowCardinality(…)` looked
    /// through).
    pub fn of_type(type_name: &str) -> Self {
        let inner = strip_wrappers(type_name);
        if let Some(element) = inner
            .strip_prefix("Array(")
            .and_then(|t| t.strip_suffix(')'))
        {
            return match Self::of_type(element) {
                Self::Signed | Self::Unsigned | Self::Float => Self::NumberArray,
                _ => Self::Text,
            };
        }
        if inner == "Date" || inner == "Date32" {
            return Self::Date;
        }
        if inner.starts_with("Int") {
            Self::Signed
        } else if inner.starts_with("UInt") {
            Self::Unsigned
        } else if inner.starts_with("Float") || inner.starts_with("Decimal") {
            Self::Float
        } else {
            Self::Text
        }
    }

    /// Whether a value of this kind is one number.
    pub fn is_number(self) -> bool {
        matches!(self, Self::Signed | Self::Unsigned | Self::Float)
    }
}

fn strip_wrappers(mut type_name: &str) -> &str {
    loop {
        let inner = ["Nullable(", "LowCardinality("].iter().find_map(|w| {
            type_name
                .strip_prefix(w)
                .and_then(|rest| rest.strip_suffix(')'))
        });
        match inner {
            Some(inner) => type_name = inner,
            None => return type_name,
        }
    }
}

/// One column: its values' text back to back, where each ends, and which are NULL.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub type_name: String,
    text: String,
    ends: Vec<usize>,
    /// Empty until the first NULL arrives; then one flag per row.
    nulls: Vec<bool>,
}

impl ResultColumn {
    pub fn new(name: impl Into<String>, type_name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            type_name: type_name.into(),
            ..Self::default()
        }
    }

    pub fn kind(&self) -> ValueKind {
        ValueKind::of_type(&self.type_name)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Append a value.
    pub fn push(&mut self, value: &str) {
        self.text.push_str(value);
        self.ends.push(self.text.len());
        if !self.nulls.is_empty() {
            self.nulls.push(false);
        }
    }

    /// Append a NULL.
    pub fn push_null(&mut self) {
        if self.nulls.is_empty() {
            self.nulls = vec![false; self.ends.len()];
        }
        self.ends.push(self.text.len());
        self.nulls.push(true);
    }

    /// The value of `row` as text; `None` for NULL or past the end.
    pub fn get(&self, row: usize) -> Option<&str> {
        if self.nulls.get(row).copied().unwrap_or(false) {
            return None;
        }
        let end = *self.ends.get(row)?;
        let start = row.checked_sub(1).map_or(0, |before| self.ends[before]);
        self.text.get(start..end)
    }

    /// The value of `row` as a number (NULL, text that is not one, or past the end: `None`).
    pub fn number(&self, row: usize) -> Option<f64> {
        self.get(row)?.parse().ok()
    }

    /// The numbers of an `Array(number)` value (`[1,2.5,nan]`); `None` when it is not one.
    pub fn numbers(&self, row: usize) -> Option<Vec<f64>> {
        let text = self.get(row)?;
        let inner = text.strip_prefix('[')?.strip_suffix(']')?;
        if inner.is_empty() {
            return Some(Vec::new());
        }
        inner.split(',').map(|v| v.parse().ok()).collect()
    }

    fn append(&mut self, mut other: Self) {
        let rows_before = self.ends.len();
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.iter().map(|end| end + base));
        match (self.nulls.is_empty(), other.nulls.is_empty()) {
            (true, true) => {}
            (false, true) => self.nulls.resize(self.ends.len(), false),
            (true, false) => {
                self.nulls = vec![false; rows_before];
                self.nulls.append(&mut other.nulls);
            }
            (false, false) => self.nulls.append(&mut other.nulls),
        }
    }

    /// Bytes held (text, ends and NULL flags).
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * size_of::<usize>() + self.nulls.capacity()
    }
}

/// A query's result: named, typed columns of equal length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResultTable {
    pub columns: Vec<ResultColumn>,
}

impl ResultTable {
    /// An empty table with these `(name, type)` columns.
    pub fn with_columns(columns: &[(String, String)]) -> Self {
        Self {
            columns: columns
                .iter()
                .map(|(name, type_name)| ResultColumn::new(name, type_name))
                .collect(),
        }
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, ResultColumn::len)
    }

    pub fn column(&self, name: &str) -> Option<&ResultColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Append `more` (a later batch of the same query) below these rows.
    pub fn append(&mut self, more: Self) {
        if self.columns.is_empty() {
            *self = more;
            return;
        }
        for (column, more) in self.columns.iter_mut().zip(more.columns) {
            column.append(more);
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.columns.iter().map(ResultColumn::heap_bytes).sum()
    }

    /// Columns that can be a curve's samples (`Array` of numbers).
    pub fn array_columns(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| c.kind() == ValueKind::NumberArray)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// One curve per row: named by `key`, samples from the array column `y`, x from the
    /// array column `x` (same length) or the sample index; the other single-valued columns
    /// become labels. A row whose arrays do not read, or differ in length, is an error naming
    /// the row.
    pub fn to_curves(&self, key: &str, y: &str, x: Option<&str>) -> Result<CurveStore, String> {
        let column = |name: &str| {
            self.column(name)
                .ok_or_else(|| format!("the result has no column `{name}`"))
        };
        let (keys, ys) = (column(key)?, column(y)?);
        let xs = x.map(column).transpose()?;
        let labels: Vec<&ResultColumn> = self
            .columns
            .iter()
            .filter(|c| c.name != key && c.kind() != ValueKind::NumberArray)
            .collect();
        let label_names: Vec<&str> = labels.iter().map(|c| c.name.as_str()).collect();
        let mut builder = CurveStoreBuilder::new(&label_names);
        builder.set_axes(Axes::named(x.unwrap_or("index"), y));
        let not_numbers = |row: usize, name: &str| {
            format!("row {}: `{name}` is not an array of numbers", row + 1)
        };
        for row in 0..self.rows() {
            let row_labels: Vec<&str> = labels
                .iter()
                .map(|c| c.get(row).unwrap_or("NULL"))
                .collect();
            let samples = ys.numbers(row).ok_or_else(|| not_numbers(row, y))?;
            let samples: Vec<f32> = samples.iter().map(|&v| v as f32).collect();
            let name = keys.get(row).unwrap_or("NULL");
            let pushed = match xs {
                Some(xs) => {
                    let at = xs.numbers(row).ok_or_else(|| not_numbers(row, &xs.name))?;
                    if at.len() != samples.len() {
                        return Err(format!(
                            "row {}: `{}` has {} values and `{y}` {}",
                            row + 1,
                            xs.name,
                            at.len(),
                            samples.len()
                        ));
                    }
                    builder.push_explicit(name, &row_labels, &at, &samples)
                }
                None => builder.push_uniform(name, &row_labels, 0.0, 1.0, &samples),
            };
            pushed.map_err(|e| format!("row {}: {e}", row + 1))?;
        }
        builder.finish().map_err(|e| e.to_string())
    }

    /// Each column's statistics, columns in parallel.
    pub fn stats(&self) -> Vec<ColumnStats> {
        self.columns.par_iter().map(ColumnStats::of).collect()
    }
}

/// What a column holds, for the table's header.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnStats {
    pub rows: usize,
    pub nulls: usize,
    /// Numbers: the smallest, largest and mean of the values that are numbers (NaN left out).
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Distinct values, counted up to [`DISTINCT_CAP`].
    pub distinct: usize,
}

impl ColumnStats {
    pub fn of(column: &ResultColumn) -> Self {
        let rows = column.len();
        let mut nulls = 0;
        let mut seen: HashSet<&str> = HashSet::new();
        let (mut min, mut max, mut sum, mut count) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0);
        let numeric = column.kind().is_number();
        for row in 0..rows {
            let Some(value) = column.get(row) else {
                nulls += 1;
                continue;
            };
            if seen.len() < DISTINCT_CAP {
                seen.insert(value);
            }
            if numeric && let Ok(v) = value.parse::<f64>() {
                if v.is_nan() {
                    continue;
                }
                min = min.min(v);
                max = max.max(v);
                sum += v;
                count += 1;
            }
        }
        let some = count > 0;
        Self {
            rows,
            nulls,
            min: some.then_some(min),
            max: some.then_some(max),
            mean: some.then(|| sum / count as f64),
            distinct: seen.len(),
        }
    }

    /// `1,234 distinct` or `≥ 10,000 distinct`.
    pub fn distinct_text(&self) -> String {
        if self.distinct >= DISTINCT_CAP {
            format!("at least {DISTINCT_CAP} distinct")
        } else {
            format!("{} distinct", self.distinct)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ResultTable {
        let mut t = ResultTable::with_columns(&[
            ("station".to_owned(), "LowCardinality(String)".to_owned()),
            ("force".to_owned(), "Nullable(Float64)".to_owned()),
        ]);
        t.columns[0].push("S1");
        t.columns[1].push("1.5");
        t.columns[0].push("S2");
        t.columns[1].push_null();
        t
    }

    #[test]
    fn kinds_come_from_types_through_wrappers() {
        assert_eq!(ValueKind::of_type("Nullable(UInt32)"), ValueKind::Unsigned);
        assert_eq!(ValueKind::of_type("Int8"), ValueKind::Signed);
        assert_eq!(ValueKind::of_type("Array(Float32)"), ValueKind::NumberArray);
        assert_eq!(ValueKind::of_type("Array(String)"), ValueKind::Text);
        assert_eq!(ValueKind::of_type("DateTime"), ValueKind::Text);
        assert_eq!(ValueKind::of_type("Nullable(Date)"), ValueKind::Date);
        assert_eq!(ValueKind::of_type("Decimal(9, 2)"), ValueKind::Float);
    }

    #[test]
    fn batches_append_with_their_nulls() {
        let mut t = table();
        let mut more = ResultTable::with_columns(&[
            ("station".to_owned(), "String".to_owned()),
            ("force".to_owned(), "Float64".to_owned()),
        ]);
        more.columns[0].push("S3");
        more.columns[1].push("-2");
        t.append(more);
        assert_eq!(t.rows(), 3);
        assert_eq!(t.columns[0].get(2), Some("S3"));
        assert_eq!(t.columns[1].get(1), None);
        assert_eq!(t.columns[1].number(2), Some(-2.0));
        assert_eq!(t.columns[1].get(3), None);
        let stats = t.stats();
        assert_eq!(stats[1].nulls, 1);
        assert_eq!((stats[1].min, stats[1].max), (Some(-2.0), Some(1.5)));
        assert_eq!(stats[0].distinct, 3);
        assert_eq!(stats[0].min, None);
    }

    #[test]
    fn rows_with_arrays_become_curves() {
        let mut t = ResultTable::with_columns(&[
            ("cycle".to_owned(), "UInt64".to_owned()),
            ("station".to_owned(), "String".to_owned()),
            ("t".to_owned(), "Array(Float64)".to_owned()),
            ("force".to_owned(), "Array(Float32)".to_owned()),
        ]);
        for (cycle, station, t_text, force) in
            [("1", "S1", "[0,0.5]", "[1,2]"), ("2", "S2", "[0]", "[3]")]
        {
            t.columns[0].push(cycle);
            t.columns[1].push(station);
            t.columns[2].push(t_text);
            t.columns[3].push(force);
        }
        assert_eq!(t.array_columns(), ["t", "force"]);
        let store = t.to_curves("cycle", "force", Some("t"));
        let store = store.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.len(), 2);
        assert_eq!(store.key(1), "2");
        assert_eq!(store.label("station", 0), Some("S1"));
        assert_eq!(store.x_at(0, 1), 0.5);
        assert_eq!(store.y(0), [1.0, 2.0]);
        t.columns[2] = ResultColumn::new("t", "Array(Float64)");
        t.columns[2].push("[0]");
        t.columns[2].push("[0]");
        let error = t.to_curves("cycle", "force", Some("t")).err();
        assert!(error.is_some_and(|e| e.starts_with("row 1")));
    }

    #[test]
    fn arrays_of_numbers_read_back() {
        let mut c = ResultColumn::new("y", "Array(Float32)");
        c.push("[1,2.5,nan]");
        c.push("[]");
        c.push("['a']");
        let first = c.numbers(0).unwrap_or_default();
        assert_eq!(first.len(), 3);
        assert!(first[2].is_nan());
        assert_eq!(c.numbers(1), Some(Vec::new()));
        assert_eq!(c.numbers(2), None);
    }
}
