//! Browsing a server's databases, tables and columns, and [`SourceMapping`]: how any table —
//! ours or one Lyceum never saw before — becomes curves.
//!
//! A mapping names the columns that identify one curve (series keys), the per-curve label
//! columns, and the [`CurveLayout`]: long (one row per sample) or arrays (one row per curve).
//! [`SourceMapping::validate`] checks it against the real column types and explains, column by
//! column, what cannot be plotted.

use serde::{Deserialize, Serialize};

use super::connection::Connection;
use super::error::{ClickHouseError, Result};

/// What Lyceum can do with a column, judged from its ClickHouse type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnKind {
    /// Integers, floats and decimals.
    Number,
    Date,
    /// Seconds since the epoch.
    DateTime,
    /// Sub-second timestamps with `scale` decimal digits.
    DateTime64 {
        scale: u32,
    },
    /// Strings, enums, UUIDs: usable as keys and labels.
    Text,
    /// `Array` of numbers: a whole curve's samples in one row.
    NumberArray,
    /// Anything else (maps, tuples, aggregate states, arrays of strings, …).
    Unsupported,
}

/// One row of the template's `production_events`: a state change or an alarm at a station.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductionEvent {
    pub at_secs: f64,
    pub station: String,
    pub kind: String,
    pub severity: String,
    pub message: String,
}

impl ProductionEvent {
    /// An alarm (rather than a state change or batch start).
    pub fn is_alarm(&self) -> bool {
        self.kind.eq_ignore_ascii_case("alarm")
    }
}

impl ColumnKind {
    /// Classify a ClickHouse type name, looking through `Nullable` and `LowCardinality`.
    pub fn of_type(type_name: &str) -> Self {
        let t = unwrap_type(type_name.trim(), &["Nullable", "LowCardinality"]);
        if let Some(inner) = strip_wrapper(t, "Array") {
            return match Self::of_type(inner) {
                Self::Number => Self::NumberArray,
                _ => Self::Unsupported,
            };
        }
        let base = t.split('(').next().unwrap_or(t);
        match base {
            "UInt8" | "UInt16" | "UInt32" | "UInt64" | "Int8" | "Int16" | "Int32" | "Int64"
            | "Float32" | "Float64" | "Decimal" | "Decimal32" | "Decimal64" | "Decimal128" => {
                Self::Number
            }
            "Date" | "Date32" => Self::Date,
            "DateTime" => Self::DateTime,
            "DateTime64" => {
                let scale = t
                    .trim_start_matches("DateTime64(")
                    .split([',', ')'])
                    .next()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(3);
                Self::DateTime64 { scale }
            }
            "String" | "FixedString" | "Enum8" | "Enum16" | "UUID" => Self::Text,
            _ => Self::Unsupported,
        }
    }

    /// Usable as a series key or label (one value per curve).
    pub fn is_scalar(self) -> bool {
        !matches!(self, Self::NumberArray | Self::Unsupported)
    }

    /// Usable as an x or y axis.
    pub fn is_axis(self) -> bool {
        matches!(
            self,
            Self::Number | Self::Date | Self::DateTime | Self::DateTime64 { .. }
        )
    }
}

fn strip_wrapper<'a>(t: &'a str, wrapper: &str) -> Option<&'a str> {
    t.strip_prefix(wrapper)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

fn unwrap_type<'a>(mut t: &'a str, wrappers: &[&str]) -> &'a str {
    while let Some(inner) = wrappers.iter().find_map(|w| strip_wrapper(t, w)) {
        t = inner;
    }
    t
}

/// A table in a database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, clickhouse::Row)]
pub struct TableInfo {
    pub name: String,
    pub engine: String,
}

/// A column with its ClickHouse type and what Lyceum can do with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    pub type_name: String,
    pub kind: ColumnKind,
}

impl Connection {
    pub async fn list_databases(&self) -> Result<Vec<String>> {
        self.fetch_all(
            self.client()
                .query("SELECT name FROM system.databases ORDER BY name"),
        )
        .await
    }

    /// Tables of `database`; a database that does not exist is
    /// [`ClickHouseError::UnknownDatabase`], not an empty list.
    pub async fn list_tables(&self, database: &str) -> Result<Vec<TableInfo>> {
        let exists: Vec<u64> = self
            .fetch_all(
                self.client()
                    .query("SELECT count() FROM system.databases WHERE name = ?")
                    .bind(database),
            )
            .await?;
        if exists.first().copied().unwrap_or(0) == 0 {
            return Err(ClickHouseError::UnknownDatabase {
                server_message: format!("Database {database} doesn't exist"),
            });
        }
        // A materialized view's storage (`.inner.<view>`) is the view's business: the view
        // itself is listed and reads the same rows.
        let query = self
            .client()
            .query("SELECT name, engine FROM system.tables WHERE database = ? AND NOT startsWith(name, '.inner.') ORDER BY name")
            .bind(database);
        self.fetch_all(query).await
    }

    /// Up to `limit` distinct values of `column` as text, sorted: the choices of a filter.
    pub async fn distinct_values(
        &self,
        database: &str,
        table: &str,
        column: &str,
        limit: u64,
    ) -> Result<Vec<String>> {
        let query = self
            .client()
            .query("SELECT DISTINCT toString(?) AS v FROM ?.? ORDER BY v LIMIT ?")
            .bind(clickhouse::sql::Identifier(column))
            .bind(clickhouse::sql::Identifier(database))
            .bind(clickhouse::sql::Identifier(table))
            .bind(limit);
        self.fetch_all(query).await
    }

    /// Up to `limit` production events and alarms of the manufacturing template's
    /// `production_events` table with `from <= ts <= to` (epoch seconds), oldest first; no
    /// table: none.
    pub async fn production_events(
        &self,
        database: &str,
        (from, to): (f64, f64),
        limit: u64,
    ) -> Result<Vec<ProductionEvent>> {
        let exists = self
            .client()
            .query("SELECT count() FROM system.tables WHERE database = ? AND name = 'production_events'")
            .bind(database);
        let found: Vec<u64> = self.fetch_all(exists).await?;
        if found.first().copied().unwrap_or(0) == 0 {
            return Ok(Vec::new());
        }
        let query = self
            .client()
            .query(
                "SELECT toFloat64(toUnixTimestamp(ts)) AS t, toString(station), toString(event_type), \
                 toString(severity), message FROM ?.production_events \
                 WHERE ts >= toDateTime(?) AND ts <= toDateTime(?) ORDER BY ts LIMIT ?",
            )
            .bind(clickhouse::sql::Identifier(database))
            .bind(from.floor() as i64)
            .bind(to.ceil() as i64)
            .bind(limit);
        let rows: Vec<(f64, String, String, String, String)> = self.fetch_all(query).await?;
        Ok(rows
            .into_iter()
            .map(
                |(at_secs, station, kind, severity, message)| ProductionEvent {
                    at_secs,
                    station,
                    kind,
                    severity,
                    message,
                },
            )
            .collect())
    }

    /// Columns of `database.table`; an unknown table is [`ClickHouseError::UnknownTable`].
    pub async fn list_columns(&self, database: &str, table: &str) -> Result<Vec<ColumnInfo>> {
        let query = self
            .client()
            .query("SELECT name, type FROM system.columns WHERE database = ? AND table = ? ORDER BY position")
            .bind(database)
            .bind(table);
        // `position` is missing on some old servers' system.columns; fall back to stored order.
        let rows: Vec<(String, String)> = match self.fetch_all(query).await {
            Ok(rows) => rows,
            Err(ClickHouseError::Server { .. }) => {
                let query = self
                    .client()
                    .query("SELECT name, type FROM system.columns WHERE database = ? AND table = ?")
                    .bind(database)
                    .bind(table);
                self.fetch_all(query).await?
            }
            Err(e) => return Err(e),
        };
        if rows.is_empty() {
            return Err(ClickHouseError::UnknownTable {
                server_message: format!(
                    "table {database}.{table} does not exist or has no columns"
                ),
            });
        }
        Ok(rows
            .into_iter()
            .map(|(name, type_name)| ColumnInfo {
                kind: ColumnKind::of_type(&type_name),
                name,
                type_name,
            })
            .collect())
    }
}

impl Connection {
    /// Every table of `database` with its columns (the data explorer's completions and query
    /// builder), tables by name; materialized views' `.inner` tables left out, as the
    /// explorer's table list does.
    pub async fn database_columns(&self, database: &str) -> Result<Vec<(String, Vec<ColumnInfo>)>> {
        let query = self
            .client()
            .query(
                "SELECT table, name, type FROM system.columns WHERE database = ? \
                 AND NOT startsWith(table, '.inner')",
            )
            .bind(database);
        // The server lists each table's columns in their order; tables sorted by name here
        // (sorting in SQL would shuffle the columns).
        let rows: Vec<(String, String, String)> = self.fetch_all(query).await?;
        let mut tables: Vec<(String, Vec<ColumnInfo>)> = Vec::new();
        for (table, name, type_name) in rows {
            let column = ColumnInfo {
                kind: ColumnKind::of_type(&type_name),
                name,
                type_name,
            };
            match tables.iter_mut().find(|(t, _)| *t == table) {
                Some((_, columns)) => columns.push(column),
                None => tables.push((table, vec![column])),
            }
        }
        tables.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(tables)
    }
}

/// How the samples of one curve are laid out in the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CurveLayout {
    /// One row per sample: an x column and a y column (sensor time series).
    Long { x: String, y: String },
    /// One row per curve: y samples in an array column, x in another array or uniform.
    Arrays { y: String, x: ArrayX },
}

/// Where the x values of an array-layout curve come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ArrayX {
    /// An array column as long as the y array.
    Column(String),
    /// `x[i] = x0 + i * dx`, from scalar columns of the row.
    UniformColumns { x0: String, dx: String },
    /// `x[i] = x0 + i * dx` with constants (sample index when 0 and 1).
    Uniform { x0: f64, dx: f64 },
}

/// How a table maps to curves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceMapping {
    pub database: String,
    pub table: String,
    /// Columns whose values together identify one curve.
    pub series_keys: Vec<String>,
    /// Per-curve columns carried along as labels (serial, station, result, …).
    pub labels: Vec<String>,
    pub layout: CurveLayout,
}

/// Why a mapping does not fit a table.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    #[error("table {table} has no column `{column}` (it has: {available})")]
    UnknownColumn {
        table: String,
        column: String,
        available: String,
    },
    #[error(
        "column `{column}` has type {type_name}, which Lyceum cannot use as {role}: it needs {needs}"
    )]
    UnsupportedType {
        column: String,
        type_name: String,
        role: &'static str,
        needs: &'static str,
    },
    #[error("the mapping needs at least one series key column")]
    NoSeriesKey,
}

/// A mapping checked against the table, with each column's kind resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidatedMapping {
    pub mapping: SourceMapping,
    pub(crate) key_columns: Vec<ColumnInfo>,
    pub(crate) label_columns: Vec<ColumnInfo>,
    pub(crate) x_column: Option<ColumnInfo>,
    pub(crate) y_column: ColumnInfo,
}

impl ValidatedMapping {
    /// Label names in the order the store carries them.
    pub fn label_names(&self) -> Vec<&str> {
        self.mapping.labels.iter().map(String::as_str).collect()
    }
}

impl SourceMapping {
    /// Check every named column against `columns` (from [`Connection::list_columns`]).
    pub fn validate(&self, columns: &[ColumnInfo]) -> Result<ValidatedMapping, MappingError> {
        let find = |name: &str| -> Result<ColumnInfo, MappingError> {
            columns
                .iter()
                .find(|c| c.name == name)
                .cloned()
                .ok_or_else(|| MappingError::UnknownColumn {
                    table: format!("{}.{}", self.database, self.table),
                    column: name.to_owned(),
                    available: columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        };
        let need = |column: &ColumnInfo, ok: bool, role: &'static str, needs: &'static str| {
            if ok {
                Ok(column.clone())
            } else {
                Err(MappingError::UnsupportedType {
                    column: column.name.clone(),
                    type_name: column.type_name.clone(),
                    role,
                    needs,
                })
            }
        };
        const SCALAR: &str = "a number, date, time or text";
        if self.series_keys.is_empty() {
            return Err(MappingError::NoSeriesKey);
        }
        let key_columns = self
            .series_keys
            .iter()
            .map(|name| {
                find(name).and_then(|c| need(&c, c.kind.is_scalar(), "a series key", SCALAR))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let label_columns = self
            .labels
            .iter()
            .map(|name| find(name).and_then(|c| need(&c, c.kind.is_scalar(), "a label", SCALAR)))
            .collect::<Result<Vec<_>, _>>()?;
        const AXIS: &str = "a number, date or time";
        let (x_column, y_column) = match &self.layout {
            CurveLayout::Long { x, y } => {
                let x = find(x)?;
                let y = find(y)?;
                (
                    Some(need(&x, x.kind.is_axis(), "the x axis", AXIS)?),
                    need(&y, y.kind == ColumnKind::Number, "y values", "a number")?,
                )
            }
            CurveLayout::Arrays { y, x } => {
                let y = find(y)?;
                let y = need(
                    &y,
                    y.kind == ColumnKind::NumberArray,
                    "y samples",
                    "an array of numbers",
                )?;
                let x = match x {
                    ArrayX::Column(name) => {
                        let c = find(name)?;
                        Some(need(
                            &c,
                            c.kind == ColumnKind::NumberArray,
                            "x samples",
                            "an array of numbers",
                        )?)
                    }
                    ArrayX::UniformColumns { x0, dx } => {
                        for name in [x0, dx] {
                            let c = find(name)?;
                            need(
                                &c,
                                c.kind == ColumnKind::Number,
                                "uniform sampling",
                                "a number",
                            )?;
                        }
                        None
                    }
                    ArrayX::Uniform { .. } => None,
                };
                (x, y)
            }
        };
        Ok(ValidatedMapping {
            mapping: self.clone(),
            key_columns,
            label_columns,
            x_column,
            y_column,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_classified_through_wrappers() {
        assert_eq!(ColumnKind::of_type("Nullable(Float32)"), ColumnKind::Number);
        assert_eq!(
            ColumnKind::of_type("LowCardinality(String)"),
            ColumnKind::Text
        );
        assert_eq!(
            ColumnKind::of_type("LowCardinality(Nullable(String))"),
            ColumnKind::Text
        );
        assert_eq!(
            ColumnKind::of_type("Array(Float32)"),
            ColumnKind::NumberArray
        );
        assert_eq!(
            ColumnKind::of_type("Array(String)"),
            ColumnKind::Unsupported
        );
        assert_eq!(
            ColumnKind::of_type("DateTime64(6, 'UTC')"),
            ColumnKind::DateTime64 { scale: 6 }
        );
        assert_eq!(
            ColumnKind::of_type("DateTime('Europe/Berlin')"),
            ColumnKind::DateTime
        );
        assert_eq!(
            ColumnKind::of_type("Enum8('OK' = 1, 'NOK' = 2)"),
            ColumnKind::Text
        );
        assert_eq!(
            ColumnKind::of_type("Map(String, UInt8)"),
            ColumnKind::Unsupported
        );
        assert_eq!(
            ColumnKind::of_type("AggregateFunction(max, Float32)"),
            ColumnKind::Unsupported
        );
        assert_eq!(ColumnKind::of_type("Decimal(9, 2)"), ColumnKind::Number);
    }

    fn column(name: &str, type_name: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            type_name: type_name.into(),
            kind: ColumnKind::of_type(type_name),
        }
    }

    #[test]
    fn validation_names_the_offending_column() {
        let columns = [
            column("id", "String"),
            column("t", "DateTime"),
            column("m", "Map(String, Float64)"),
        ];
        let mapping = SourceMapping {
            database: "d".into(),
            table: "t".into(),
            series_keys: vec!["id".into()],
            labels: vec![],
            layout: CurveLayout::Long {
                x: "t".into(),
                y: "m".into(),
            },
        };
        let err = mapping.validate(&columns).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `m` has type Map(String, Float64), which Lyceum cannot use as y values: it needs a number"
        );
        let mapping = SourceMapping {
            layout: CurveLayout::Long {
                x: "t".into(),
                y: "nope".into(),
            },
            ..mapping
        };
        assert!(matches!(
            mapping.validate(&columns),
            Err(MappingError::UnknownColumn { column, available, .. }) if column == "nope" && available == "id, t, m"
        ));
    }
}
