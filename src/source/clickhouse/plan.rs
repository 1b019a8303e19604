//! Query planning for curves, and decoding the answers into a [`CurveStore`].
//!
//! Two shapes, chosen by the mapping's layout:
//! - **Long series** ([`CurveQuery::long_m4`]): the server groups samples per series and per
//!   pixel column and returns first/min/max/last (M4), so a month of 1 kHz data arrives as at
//!   most four points per series and column instead of billions of rows.
//! - **Cycle curves** ([`CurveQuery::arrays`]): one row per curve with the sample arrays; the
//!   client decimates, since the arrays are small and the server would only slow down.
//!
//! Every value from a person (x-range, keys, filter values) is bound with the client's `?`
//! escaping; identifiers are bound as [`clickhouse::sql::Identifier`]. Nothing is formatted in.

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::connection::{Budget, Connection};
use super::decode::{ArrayXDecode, DecodeError, RowShape, RowStream};
use super::error::{ClickHouseError, Result};
use super::schema::{ArrayX, ColumnInfo, ColumnKind, CurveLayout, ValidatedMapping};
use crate::curves::{Axes, CurveStore, CurveStoreBuilder};

/// A value bound to one `?` of a planned query.
#[derive(Clone, Debug, PartialEq)]
pub enum BindValue {
    Identifier(String),
    F64(f64),
    I64(i64),
    U64(u64),
    Str(String),
}

/// SQL text with `?` placeholders and the values bound to them, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BoundSql {
    pub sql: String,
    pub binds: Vec<BindValue>,
}

impl BoundSql {
    pub(super) fn push(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self
    }

    pub(super) fn bind(&mut self, value: BindValue) -> &mut Self {
        self.sql.push('?');
        self.binds.push(value);
        self
    }

    pub(super) fn column(&mut self, name: &str) -> &mut Self {
        self.bind(BindValue::Identifier(name.to_owned()))
    }

    /// A `clickhouse` query with every value bound.
    pub fn to_query(&self, client: &clickhouse::Client) -> clickhouse::query::Query {
        self.binds
            .iter()
            .fold(client.query(&self.sql), |q, value| match value {
                BindValue::Identifier(name) => q.bind(clickhouse::sql::Identifier(name)),
                BindValue::F64(v) => q.bind(*v),
                BindValue::I64(v) => q.bind(*v),
                BindValue::U64(v) => q.bind(*v),
                BindValue::Str(v) => q.bind(v.as_str()),
            })
    }

    /// The SQL as the server will see it (for logs, tests and the SQL panel).
    pub fn display(&self) -> String {
        self.to_query(&clickhouse::Client::default())
            .sql_display()
            .to_string()
    }
}

/// Which curves to fetch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurveSelection {
    /// Only these series (values of the key expression); empty: all.
    pub keys: Vec<String>,
    /// `column = value` conditions (station, result, program, …), compared as text.
    pub equals: Vec<(String, String)>,
    /// For array layouts: only rows whose `column` lies in `[from, to)` (epoch seconds or
    /// plain numbers, by the column's kind).
    pub row_range: Option<(String, f64, f64)>,
    /// At most this many curves: array layouts, newest first when a row range is set; long
    /// layouts, the first series by key that have samples in the view.
    pub limit: Option<u64>,
}

/// What a run would read, counted before it runs ([`Connection::estimate`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunEstimate {
    /// Curves (series) in the selection, before any curve limit.
    pub curves: u64,
    /// Samples the server reads for them.
    pub samples: u64,
}

/// Parse an x bound as a person writes it: a number (epoch seconds for time columns, or a
/// plain x), or a date-time (RFC 3339 or `2026-11-02 06:00[:00[.250]]`, UTC unless an offset
/// is given) as epoch seconds.
pub fn parse_x_bound(text: &str) -> std::result::Result<f64, String> {
    let text = text.trim();
    if let Ok(value) = text.parse::<f64>()
        && value.is_finite()
    {
        return Ok(value);
    }
    crate::source::csv_file::parse_datetime_ms(text)
        .map(|ms| ms as f64 / 1e3)
        .ok_or_else(|| {
            format!(
                "`{text}` is neither a number nor a date-time (e.g. 1793577600 or 2026-11-02T06:00:00Z)"
            )
        })
}

/// The visible x-range (both ends included) and its width in pixel columns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelView {
    pub x_start: f64,
    pub x_end: f64,
    pub width_px: u32,
}

/// Progress of a streaming fetch, for progress bars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchProgress {
    pub rows: u64,
    /// Bytes received from the server (compressed, as on the wire).
    pub bytes: u64,
}

/// Options of one fetch: a progress channel, a cancellation token, and a channel for the
/// curves complete so far (sent each time their number doubles, from
/// [`FIRST_PARTIAL_CURVES`]: the first curves can be drawn long before the last arrive, and
/// the copies cost at most as much as the whole store once more).
#[derive(Clone, Copy, Debug, Default)]
pub struct FetchOptions<'a> {
    pub progress: Option<&'a watch::Sender<FetchProgress>>,
    pub cancel: Option<&'a CancellationToken>,
    pub partial: Option<&'a watch::Sender<Option<Arc<CurveStore>>>>,
}

/// Curves in the first partial store of a streamed fetch.
pub const FIRST_PARTIAL_CURVES: usize = 64;

/// A planned curve query: SQL plus how to decode its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveQuery {
    pub sql: BoundSql,
    shape: RowShape,
    label_names: Vec<String>,
    /// The axes the fetched store will name (the mapping's x and y columns).
    axes: Axes,
}

/// Axes named after a mapping's columns; time columns are time axes.
fn mapping_axes(m: &ValidatedMapping, x_name: &str) -> Axes {
    Axes {
        x_is_time: m.x_column.as_ref().is_some_and(|x| {
            matches!(
                x.kind,
                ColumnKind::DateTime | ColumnKind::Date | ColumnKind::DateTime64 { .. }
            )
        }),
        ..Axes::named(x_name, m.y_column.name.as_str())
    }
}

/// A Float64 expression of an axis column, in seconds for times.
pub(super) fn x_as_f64(sql: &mut BoundSql, column: &ColumnInfo) {
    match column.kind {
        ColumnKind::DateTime => sql
            .push("toFloat64(toUInt32(")
            .column(&column.name)
            .push("))"),
        ColumnKind::Date => sql
            .push("toFloat64(toUInt32(toDateTime(")
            .column(&column.name)
            .push(")))"),
        ColumnKind::DateTime64 { scale } if scale <= 3 => sql
            .push("toFloat64(toUnixTimestamp64Milli(")
            .column(&column.name)
            .push(")) / 1000"),
        ColumnKind::DateTime64 { .. } => sql
            .push("toFloat64(toUnixTimestamp64Micro(")
            .column(&column.name)
            .push(")) / 1000000"),
        _ => sql.push("toFloat64(").column(&column.name).push(")"),
    };
}

/// `column >= from AND column <= to` on the raw column, so the primary key index applies.
pub(super) fn range_condition(sql: &mut BoundSql, column: &ColumnInfo, from: f64, to: f64) {
    let time_bound = |sql: &mut BoundSql, op: &str, secs: f64| {
        sql.column(&column.name).push(op).push("toDateTime(");
        sql.bind(BindValue::I64(secs as i64)).push(")");
    };
    match column.kind {
        // Whole seconds on the raw column (widened to cover the range), exact on the f64 form.
        ColumnKind::DateTime | ColumnKind::Date | ColumnKind::DateTime64 { .. } => {
            time_bound(sql, " >= ", from.floor());
            sql.push(" AND ");
            time_bound(sql, " <= ", to.ceil());
            sql.push(" AND ");
            x_as_f64(sql, column);
            sql.push(" >= ").bind(BindValue::F64(from)).push(" AND ");
            x_as_f64(sql, column);
            sql.push(" <= ").bind(BindValue::F64(to));
        }
        _ => {
            sql.column(&column.name)
                .push(" >= ")
                .bind(BindValue::F64(from));
            sql.push(" AND ")
                .column(&column.name)
                .push(" <= ")
                .bind(BindValue::F64(to));
        }
    }
}

/// The series key: the key columns as text, joined with `/`.
pub(super) fn key_expression(sql: &mut BoundSql, keys: &[ColumnInfo]) {
    if let [single] = keys {
        sql.push("toString(").column(&single.name).push(")");
        return;
    }
    sql.push("concat(");
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            sql.push(", '/', ");
        }
        sql.push("toString(").column(&key.name).push(")");
    }
    sql.push(")");
}

fn label_array(sql: &mut BoundSql, labels: &[ColumnInfo]) {
    if labels.is_empty() {
        // A bare `[]` has type Array(Nothing); the row type needs Array(String).
        sql.push("emptyArrayString()");
        return;
    }
    sql.push("[");
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        // Times as UTC text whatever the server's zone (`yields::parse_time_secs` reads UTC).
        let zone = match label.kind {
            ColumnKind::DateTime | ColumnKind::DateTime64 { .. } => ", 'UTC'",
            _ => "",
        };
        sql.push("toString(")
            .column(&label.name)
            .push(zone)
            .push(")");
    }
    sql.push("]");
}

pub(super) fn selection_conditions(
    sql: &mut BoundSql,
    m: &ValidatedMapping,
    selection: &CurveSelection,
) {
    if !selection.keys.is_empty() {
        sql.push(" AND ");
        // A single text key is compared as stored, so the primary key index applies.
        match m.key_columns.as_slice() {
            [single] if single.kind == ColumnKind::Text => {
                sql.column(&single.name);
            }
            keys => key_expression(sql, keys),
        }
        // One placeholder per key: `IN (…)` takes a tuple on every server version.
        sql.push(" IN (");
        for (i, key) in selection.keys.iter().enumerate() {
            sql.push(if i > 0 { ", " } else { "" })
                .bind(BindValue::Str(key.clone()));
        }
        sql.push(")");
    }
    for (column, value) in &selection.equals {
        sql.push(" AND toString(")
            .column(column)
            .push(") = ")
            .bind(BindValue::Str(value.clone()));
    }
}

/// The column a row range is on: a mapped key or label, else taken as a `DateTime`.
pub(super) fn row_range_column(m: &ValidatedMapping, column: &str) -> ColumnInfo {
    m.key_columns
        .iter()
        .chain(&m.label_columns)
        .find(|c| c.name == column)
        .cloned()
        .unwrap_or_else(|| ColumnInfo {
            name: column.to_owned(),
            type_name: "DateTime".to_owned(),
            kind: ColumnKind::DateTime,
        })
}

pub(super) fn table(sql: &mut BoundSql, m: &ValidatedMapping) {
    sql.bind(BindValue::Identifier(m.mapping.database.clone()))
        .push(".")
        .bind(BindValue::Identifier(m.mapping.table.clone()));
}

impl CurveQuery {
    /// Server-side M4 for long series: per series and pixel column of `view`, the first,
    /// minimum, maximum and last sample.
    pub fn long_m4(
        m: &ValidatedMapping,
        selection: &CurveSelection,
        view: PixelView,
    ) -> Result<Self> {
        let (CurveLayout::Long { .. }, Some(x)) = (&m.mapping.layout, &m.x_column) else {
            return Err(ClickHouseError::InvalidRequest(
                "server-side M4 needs a long-format mapping".to_owned(),
            ));
        };
        if view.x_end.partial_cmp(&view.x_start) != Some(std::cmp::Ordering::Greater)
            || view.width_px == 0
        {
            return Err(ClickHouseError::InvalidRequest(format!(
                "empty view: x from {} to {} over {} px",
                view.x_start, view.x_end, view.width_px
            )));
        }
        // Columns by the client's own formula (`PixelMap::px`: an f64 product in the
        // anchored frame narrowed to f32, less the view's left edge there, floored), so each
        // server bin is exactly one of the plot's pixel columns.
        let map = crate::curves::PixelMap::new(view.x_start, view.x_end, view.width_px);
        let (anchor_x, left_px) = map.anchored_frame();
        let px_per_x = f64::from(view.width_px) / (view.x_end - view.x_start);
        let mut sql = BoundSql::default();
        sql.push(
            "SELECT key, l AS labels, min(xf) AS x_first, argMin(yf, xf) AS y_first, \
             argMin(xf, yf) AS x_low, min(yf) AS y_low, argMax(xf, yf) AS x_high, max(yf) AS y_high, \
             max(xf) AS x_last, argMax(yf, xf) AS y_last FROM (SELECT ",
        );
        key_expression(&mut sql, &m.key_columns);
        sql.push(" AS key, ");
        x_as_f64(&mut sql, x);
        sql.push(" AS xf, toFloat32(")
            .column(&m.y_column.name)
            .push(") AS yf, ");
        sql.push("floor(toFloat32((xf - ")
            .bind(BindValue::F64(anchor_x))
            .push(") * ");
        sql.bind(BindValue::F64(px_per_x)).push(" + ");
        sql.bind(BindValue::F64(f64::from(crate::curves::ANCHOR_PX)))
            .push(") - ");
        sql.bind(BindValue::F64(f64::from(left_px)))
            .push(") AS px, ");
        label_array(&mut sql, &m.label_columns);
        sql.push(" AS l FROM ");
        table(&mut sql, m);
        sql.push(" WHERE ");
        range_condition(&mut sql, x, view.x_start, view.x_end);
        selection_conditions(&mut sql, m, selection);
        if let Some(limit) = selection.limit {
            // The first `limit` series (by key) with samples in the range.
            sql.push(" AND ");
            key_expression(&mut sql, &m.key_columns);
            sql.push(" IN (SELECT ");
            key_expression(&mut sql, &m.key_columns);
            sql.push(" AS k FROM ");
            table(&mut sql, m);
            sql.push(" WHERE ");
            range_condition(&mut sql, x, view.x_start, view.x_end);
            selection_conditions(&mut sql, m, selection);
            sql.push(" GROUP BY k ORDER BY k LIMIT ")
                .bind(BindValue::U64(limit))
                .push(")");
        }
        // NaN marks a gap in the source; it has no place in min/max.
        sql.push(" AND isFinite(yf)) GROUP BY key, px, l ORDER BY key, x_first");
        Ok(Self {
            sql,
            shape: RowShape::M4,
            label_names: m.mapping.labels.clone(),
            axes: mapping_axes(m, &x.name),
        })
    }

    /// `count(), min(x), max(x)` over the rows of a long mapping that `selection` covers:
    /// the default view when the user gives no range (one cheap pass over the x column).
    pub fn x_extent(m: &ValidatedMapping, selection: &CurveSelection) -> Result<BoundSql> {
        let (CurveLayout::Long { .. }, Some(x)) = (&m.mapping.layout, &m.x_column) else {
            return Err(ClickHouseError::InvalidRequest(
                "an x extent needs a long-format mapping".to_owned(),
            ));
        };
        Ok(Self::column_extent(m, selection, x))
    }

    /// `count(), min, max` of `column` (as epoch seconds for time columns) over the rows
    /// `selection` covers: where "the newest data" ends.
    pub fn column_extent(
        m: &ValidatedMapping,
        selection: &CurveSelection,
        column: &ColumnInfo,
    ) -> BoundSql {
        let mut sql = BoundSql::default();
        sql.push("SELECT count(), min(xf), max(xf) FROM (SELECT ");
        x_as_f64(&mut sql, column);
        sql.push(" AS xf FROM ");
        table(&mut sql, m);
        sql.push(" WHERE 1");
        selection_conditions(&mut sql, m, selection);
        sql.push(")");
        sql
    }

    /// What a run would read, counted first: `uniqExact(key), count()` of a long mapping's
    /// rows in `x_range`, or `count(), sum(length(y))` of an array mapping's rows in the
    /// selection's row range. Cheap next to the run: no sample leaves the server.
    pub fn estimate(
        m: &ValidatedMapping,
        selection: &CurveSelection,
        x_range: Option<(f64, f64)>,
    ) -> Result<BoundSql> {
        let mut sql = BoundSql::default();
        match (&m.mapping.layout, &m.x_column) {
            (CurveLayout::Long { .. }, Some(x)) => {
                sql.push("SELECT uniqExact(");
                key_expression(&mut sql, &m.key_columns);
                sql.push("), count() FROM ");
                table(&mut sql, m);
                sql.push(" WHERE 1");
                if let Some((from, to)) = x_range {
                    sql.push(" AND ");
                    range_condition(&mut sql, x, from, to);
                }
            }
            (CurveLayout::Arrays { .. }, _) => {
                sql.push("SELECT count(), sum(length(")
                    .column(&m.y_column.name)
                    .push(")) FROM ");
                table(&mut sql, m);
                sql.push(" WHERE 1");
                if let Some((column, from, to)) = &selection.row_range {
                    sql.push(" AND ");
                    range_condition(&mut sql, &row_range_column(m, column), *from, *to);
                }
            }
            (CurveLayout::Long { .. }, None) => {
                return Err(ClickHouseError::InvalidRequest(
                    "a long mapping without its x column".to_owned(),
                ));
            }
        }
        selection_conditions(&mut sql, m, selection);
        Ok(sql)
    }

    /// Whole curves of an array layout, one row per curve.
    pub fn arrays(m: &ValidatedMapping, selection: &CurveSelection) -> Result<Self> {
        let CurveLayout::Arrays { x: array_x, .. } = &m.mapping.layout else {
            return Err(ClickHouseError::InvalidRequest(
                "array fetch needs an array-format mapping".to_owned(),
            ));
        };
        let mut sql = BoundSql::default();
        sql.push("SELECT ");
        key_expression(&mut sql, &m.key_columns);
        sql.push(" AS key, ");
        label_array(&mut sql, &m.label_columns);
        sql.push(" AS labels, ");
        let x_decode = match array_x {
            ArrayX::Column(name) => {
                sql.push("arrayMap(v -> toFloat64(v), ")
                    .column(name)
                    .push(")");
                ArrayXDecode::Explicit
            }
            ArrayX::UniformColumns { x0, dx } => {
                sql.push("[toFloat64(")
                    .column(x0)
                    .push("), toFloat64(")
                    .column(dx)
                    .push(")]");
                ArrayXDecode::UniformFromRow
            }
            ArrayX::Uniform { x0, dx } => {
                sql.push("emptyArrayFloat64()");
                ArrayXDecode::Uniform { x0: *x0, dx: *dx }
            }
        };
        // Infinite samples become gaps, as imports store them: nothing is drawn to infinity.
        sql.push(
            " AS x, arrayMap(f -> if(isFinite(f), f, toFloat32(nan)), arrayMap(v -> toFloat32(v), ",
        )
        .column(&m.y_column.name)
        .push(")) AS y FROM ");
        table(&mut sql, m);
        sql.push(" WHERE 1");
        let mut order_by_row_column = None;
        if let Some((column, from, to)) = &selection.row_range {
            sql.push(" AND ");
            range_condition(&mut sql, &row_range_column(m, column), *from, *to);
            order_by_row_column = Some(column.clone());
        }
        selection_conditions(&mut sql, m, selection);
        // Order only where it picks which curves come back (a limit); otherwise rows stream as
        // the server reads them instead of after a sort of every array.
        if let Some(limit) = selection.limit {
            sql.push(" ORDER BY ");
            if let Some(column) = order_by_row_column {
                sql.column(&column).push(" DESC, ");
            }
            sql.push("key LIMIT ").bind(BindValue::U64(limit));
        }
        let x_name = match array_x {
            ArrayX::Column(name) => name.as_str(),
            ArrayX::UniformColumns { .. } | ArrayX::Uniform { .. } => "x",
        };
        Ok(Self {
            sql,
            shape: RowShape::Arrays(x_decode),
            label_names: m.mapping.labels.clone(),
            axes: mapping_axes(m, x_name),
        })
    }
}

impl Connection {
    /// The x-range of a long mapping's rows ([`CurveQuery::x_extent`]); `None` when no row
    /// matches.
    pub async fn x_extent(
        &self,
        m: &ValidatedMapping,
        selection: &CurveSelection,
    ) -> Result<Option<(f64, f64)>> {
        let sql = CurveQuery::x_extent(m, selection)?;
        self.fetch_extent(&sql).await
    }

    /// The `(min, max)` of an extent query's `count(), min, max` row, when it counted any.
    async fn fetch_extent(&self, sql: &BoundSql) -> Result<Option<(f64, f64)>> {
        let rows: Vec<(u64, f64, f64)> = self.fetch_all(sql.to_query(self.client())).await?;
        Ok(rows
            .first()
            .filter(|(count, _, _)| *count > 0)
            .map(|&(_, min, max)| (min, max)))
    }

    /// The extent of `column` over the rows `selection` covers ([`CurveQuery::column_extent`]);
    /// `None` when no row matches.
    pub async fn column_extent(
        &self,
        m: &ValidatedMapping,
        selection: &CurveSelection,
        column: &ColumnInfo,
    ) -> Result<Option<(f64, f64)>> {
        self.fetch_extent(&CurveQuery::column_extent(m, selection, column))
            .await
    }

    /// Curves and samples a run over `selection` (and `x_range`, long layouts) would read.
    pub async fn estimate(
        &self,
        m: &ValidatedMapping,
        selection: &CurveSelection,
        x_range: Option<(f64, f64)>,
    ) -> Result<RunEstimate> {
        let sql = CurveQuery::estimate(m, selection, x_range)?;
        let rows: Vec<(u64, u64)> = self.fetch_all(sql.to_query(self.client())).await?;
        let (curves, samples) = rows.first().copied().unwrap_or_default();
        Ok(RunEstimate { curves, samples })
    }

    /// Run a planned query and decode it into a new [`CurveStore`], streaming, with progress
    /// and cancellation.
    pub async fn fetch_curves(
        &self,
        plan: &CurveQuery,
        options: FetchOptions<'_>,
    ) -> Result<CurveStore> {
        let query_id = super::connection::new_query_id();
        let query = plan
            .sql
            .to_query(self.client())
            .with_setting("query_id", query_id.as_str());
        let labels: Vec<&str> = plan.label_names.iter().map(String::as_str).collect();
        let work = async {
            let mut builder = CurveStoreBuilder::new(&labels);
            builder.set_axes(plan.axes.clone());
            let mut next_partial = FIRST_PARTIAL_CURVES;
            let mut stream = RowStream::new(plan.shape);
            let mut cursor = super::read_ahead::ReadAhead::start(
                query
                    .fetch_bytes("RowBinary")
                    .map_err(|e| self.map_error(e))?,
            );
            let decode_error = |e: DecodeError| ClickHouseError::Decode {
                detail: e.to_string(),
            };
            while let Some(chunk) = cursor.next().await.map_err(|e| self.map_error(e))? {
                stream.push(&chunk, &mut builder).map_err(decode_error)?;
                if let Some(progress) = options.progress {
                    progress.send_replace(FetchProgress {
                        rows: stream.rows(),
                        bytes: cursor.received_bytes(),
                    });
                }
                if let Some(partial) = options.partial
                    && builder.completed_len() >= next_partial
                {
                    next_partial = builder.completed_len() * 2;
                    partial.send_replace(Some(Arc::new(builder.completed())));
                }
            }
            stream.finish().map_err(decode_error)?;
            Ok(builder.finish()?)
        };
        self.run(Budget::Data, Some(&query_id), options.cancel, work)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::parse_x_bound;

    #[test]
    fn x_bounds_are_numbers_date_times_or_dates() {
        assert_eq!(parse_x_bound("1793577600.25"), Ok(1_793_577_600.25));
        assert_eq!(parse_x_bound("2026-11-02T00:00:01Z"), Ok(1_793_577_601.0));
        assert_eq!(parse_x_bound("2026-11-02 00:00:00.5"), Ok(1_793_577_600.5));
        assert_eq!(parse_x_bound("2026-11-02"), Ok(1_793_577_600.0));
        assert!(parse_x_bound("yesterday").is_err());
        assert!(parse_x_bound("inf").is_err());
    }
}
