//! The data explorer's query builder: a table, its columns, filters, grouping, aggregates,
//! order and limit chosen from lists, and the SQL they mean written out — the SQL that runs,
//! shown to the user. Names are quoted, values are checked against the column's type
//! (a number column takes numbers) and written as literals with ClickHouse's escaping.
//!
//! Main types: [`QueryBuilder`], [`BuilderFilter`], [`FilterOp`], [`Aggregate`],
//! [`AggregateFn`], [`BuilderError`].

use serde::{Deserialize, Serialize};

use super::insert::{quote_identifier, quote_literal};
use super::schema::ColumnInfo;
use crate::source::table::ValueKind;

/// A filter's comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterOp {
    Eq,
    NotEq,
    Less,
    LessOrEq,
    Greater,
    GreaterOrEq,
    /// `LIKE`, with `%` and `_` as the user types them.
    Like,
    /// One of a comma-separated list.
    In,
}

impl FilterOp {
    pub const ALL: [Self; 8] = [
        Self::Eq,
        Self::NotEq,
        Self::Less,
        Self::LessOrEq,
        Self::Greater,
        Self::GreaterOrEq,
        Self::Like,
        Self::In,
    ];

    pub fn sql(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::NotEq => "!=",
            Self::Less => "<",
            Self::LessOrEq => "<=",
            Self::Greater => ">",
            Self::GreaterOrEq => ">=",
            Self::Like => "LIKE",
            Self::In => "IN",
        }
    }
}

/// One filter: `column op value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuilderFilter {
    pub column: String,
    pub op: FilterOp,
    pub value: String,
}

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggregateFn {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Uniq,
    Median,
    P95,
}

impl AggregateFn {
    pub const ALL: [Self; 8] = [
        Self::Count,
        Self::Sum,
        Self::Avg,
        Self::Min,
        Self::Max,
        Self::Uniq,
        Self::Median,
        Self::P95,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
            Self::Uniq => "uniq",
            Self::Median => "median",
            Self::P95 => "p95",
        }
    }

    fn call(self) -> &'static str {
        match self {
            Self::Median => "quantile(0.5)",
            Self::P95 => "quantile(0.95)",
            other => other.name(),
        }
    }

    /// Whether the function needs a number column.
    pub fn needs_number(self) -> bool {
        matches!(self, Self::Sum | Self::Avg | Self::Median | Self::P95)
    }
}

/// An aggregate: the function over a column (`count` over none counts rows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    pub function: AggregateFn,
    pub column: Option<String>,
}

impl Aggregate {
    /// The result column's name: `count`, `avg_torque_nm`.
    pub fn alias(&self) -> String {
        match &self.column {
            Some(column) => format!("{}_{column}", self.function.name()),
            None => self.function.name().to_owned(),
        }
    }
}

/// Why the builder cannot write its query yet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuilderError {
    #[error("choose a table")]
    NoTable,
    #[error("`{0}` is not a column of the table")]
    UnknownColumn(String),
    #[error("`{column}` holds numbers: `{value}` is not one")]
    NotANumber { column: String, value: String },
    #[error("{function} needs a number column; `{column}` is not one")]
    NeedsNumbers { function: String, column: String },
    #[error("{0} needs a column")]
    NeedsColumn(String),
    #[error("`{0}` is shown but neither grouped nor aggregated: group by it, or untick it")]
    NotGrouped(String),
    #[error("order by a shown column or aggregate; `{0}` is neither")]
    UnknownOrder(String),
    #[error("`{0}` is asked for twice: remove one")]
    DuplicateAggregate(String),
}

/// The builder's choices.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryBuilder {
    pub database: String,
    pub table: String,
    /// Columns shown; none (and no aggregates) shows every column.
    pub columns: Vec<String>,
    pub filters: Vec<BuilderFilter>,
    pub group_by: Vec<String>,
    pub aggregates: Vec<Aggregate>,
    /// `(column or aggregate alias, descending)`.
    pub order_by: Vec<(String, bool)>,
    pub limit: Option<u64>,
}

/// `value` as a literal for a column of `kind`.
fn literal(column: &str, kind: ValueKind, value: &str) -> Result<String, BuilderError> {
    let value = value.trim();
    if kind.is_number() {
        return match value.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(value.to_owned()),
            _ => Err(BuilderError::NotANumber {
                column: column.to_owned(),
                value: value.to_owned(),
            }),
        };
    }
    Ok(quote_literal(value))
}

impl QueryBuilder {
    /// The SQL the choices mean, checked against the table's `columns`.
    pub fn sql(&self, columns: &[ColumnInfo]) -> Result<String, BuilderError> {
        if self.table.is_empty() {
            return Err(BuilderError::NoTable);
        }
        let kind_of = |name: &str| {
            columns
                .iter()
                .find(|c| c.name == name)
                .map(|c| ValueKind::of_type(&c.type_name))
                .ok_or_else(|| BuilderError::UnknownColumn(name.to_owned()))
        };
        let grouped = !self.group_by.is_empty() || !self.aggregates.is_empty();
        let mut shown: Vec<String> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        if grouped {
            if let Some(loose) = self.columns.iter().find(|c| !self.group_by.contains(c)) {
                return Err(BuilderError::NotGrouped(loose.clone()));
            }
            for column in &self.group_by {
                kind_of(column)?;
                shown.push(quote_identifier(column));
                names.push(column.clone());
            }
            for aggregate in &self.aggregates {
                let argument = match (&aggregate.column, aggregate.function) {
                    (None, AggregateFn::Count) => String::new(),
                    (None, function) => {
                        return Err(BuilderError::NeedsColumn(function.name().to_owned()));
                    }
                    (Some(column), function) => {
                        let kind = kind_of(column)?;
                        if function.needs_number() && !kind.is_number() {
                            return Err(BuilderError::NeedsNumbers {
                                function: function.name().to_owned(),
                                column: column.clone(),
                            });
                        }
                        quote_identifier(column)
                    }
                };
                let alias = aggregate.alias();
                if names.contains(&alias) {
                    return Err(BuilderError::DuplicateAggregate(alias));
                }
                shown.push(format!(
                    "{}({argument}) AS {}",
                    aggregate.function.call(),
                    quote_identifier(&alias)
                ));
                names.push(alias);
            }
        } else if self.columns.is_empty() {
            shown.push("*".to_owned());
            names.extend(columns.iter().map(|c| c.name.clone()));
        } else {
            for column in &self.columns {
                kind_of(column)?;
                shown.push(quote_identifier(column));
                names.push(column.clone());
            }
        }
        let mut sql = format!(
            "SELECT {}\nFROM {}.{}",
            shown.join(", "),
            quote_identifier(&self.database),
            quote_identifier(&self.table)
        );
        let mut conditions = Vec::new();
        for filter in &self.filters {
            let kind = kind_of(&filter.column)?;
            let column = quote_identifier(&filter.column);
            let condition = match filter.op {
                FilterOp::In => {
                    let values = filter
                        .value
                        .split(',')
                        .map(|v| literal(&filter.column, kind, v))
                        .collect::<Result<Vec<_>, _>>()?;
                    format!("{column} IN ({})", values.join(", "))
                }
                FilterOp::Like => format!(
                    "{column} LIKE {}",
                    literal(&filter.column, ValueKind::Text, &filter.value)?
                ),
                op => format!(
                    "{column} {} {}",
                    op.sql(),
                    literal(&filter.column, kind, &filter.value)?
                ),
            };
            conditions.push(condition);
        }
        if !conditions.is_empty() {
            sql.push_str("\nWHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        if !self.group_by.is_empty() {
            let keys: Vec<String> = self.group_by.iter().map(|c| quote_identifier(c)).collect();
            sql.push_str("\nGROUP BY ");
            sql.push_str(&keys.join(", "));
        }
        if !self.order_by.is_empty() {
            let mut keys = Vec::new();
            for (name, descending) in &self.order_by {
                if !names.contains(name) {
                    return Err(BuilderError::UnknownOrder(name.clone()));
                }
                let direction = if *descending { " DESC" } else { "" };
                keys.push(format!("{}{direction}", quote_identifier(name)));
            }
            sql.push_str("\nORDER BY ");
            sql.push_str(&keys.join(", "));
        }
        if let Some(limit) = self.limit {
            sql.push_str(&format!("\nLIMIT {limit}"));
        }
        Ok(sql)
    }

    /// The names the result will have (for ordering choices).
    pub fn result_names(&self, columns: &[ColumnInfo]) -> Vec<String> {
        if !self.group_by.is_empty() || !self.aggregates.is_empty() {
            let mut names = self.group_by.clone();
            names.extend(self.aggregates.iter().map(Aggregate::alias));
            names
        } else if self.columns.is_empty() {
            columns.iter().map(|c| c.name.clone()).collect()
        } else {
            self.columns.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::clickhouse::ColumnKind;

    fn columns() -> Vec<ColumnInfo> {
        [("station", "LowCardinality(String)"), ("torque", "Float32")]
            .iter()
            .map(|(name, type_name)| ColumnInfo {
                name: (*name).to_owned(),
                type_name: (*type_name).to_owned(),
                kind: ColumnKind::of_type(type_name),
            })
            .collect()
    }

    #[test]
    fn choices_become_quoted_sql() {
        let builder = QueryBuilder {
            database: "plant".to_owned(),
            table: "cycles".to_owned(),
            filters: vec![
                BuilderFilter {
                    column: "station".to_owned(),
                    op: FilterOp::In,
                    value: "S1, it's".to_owned(),
                },
                BuilderFilter {
                    column: "torque".to_owned(),
                    op: FilterOp::Greater,
                    value: "2.5".to_owned(),
                },
            ],
            group_by: vec!["station".to_owned()],
            aggregates: vec![
                Aggregate {
                    function: AggregateFn::Count,
                    column: None,
                },
                Aggregate {
                    function: AggregateFn::P95,
                    column: Some("torque".to_owned()),
                },
            ],
            order_by: vec![("p95_torque".to_owned(), true)],
            limit: Some(10),
            ..QueryBuilder::default()
        };
        assert_eq!(
            builder.sql(&columns()),
            Ok(
                "SELECT `station`, count() AS `count`, quantile(0.95)(`torque`) AS `p95_torque`\n\
                FROM `plant`.`cycles`\n\
                WHERE `station` IN ('S1', 'it\\'s') AND `torque` > 2.5\n\
                GROUP BY `station`\n\
                ORDER BY `p95_torque` DESC\n\
                LIMIT 10"
                    .to_owned()
            )
        );
    }

    #[test]
    fn mistakes_are_named() {
        let mut builder = QueryBuilder {
            database: "plant".to_owned(),
            table: "cycles".to_owned(),
            ..QueryBuilder::default()
        };
        assert_eq!(
            builder.sql(&columns()),
            Ok("SELECT *\nFROM `plant`.`cycles`".to_owned())
        );
        builder.filters.push(BuilderFilter {
            column: "torque".to_owned(),
            op: FilterOp::Eq,
            value: "high".to_owned(),
        });
        assert!(matches!(
            builder.sql(&columns()),
            Err(BuilderError::NotANumber { .. })
        ));
        builder.filters.clear();
        builder.columns = vec!["torque".to_owned()];
        builder.group_by = vec!["station".to_owned()];
        assert_eq!(
            builder.sql(&columns()),
            Err(BuilderError::NotGrouped("torque".to_owned()))
        );
        builder.columns.clear();
        builder.aggregates.push(Aggregate {
            function: AggregateFn::Avg,
            column: Some("station".to_owned()),
        });
        assert!(matches!(
            builder.sql(&columns()),
            Err(BuilderError::NeedsNumbers { .. })
        ));
    }
}
