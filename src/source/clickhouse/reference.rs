//! References taught in ClickHouse, over every matching cycle of an array table, so that
//! months of curves never cross the network: the samples are `ARRAY JOIN`ed, aligned, binned
//! on the same [`BinGrid`] as the client's `curves::quality::teach`, and grouped — count,
//! mean, population σ, `quantileExact` median and quantiles, min, max — and the MAD comes from
//! a second grouping joined on the bins' medians. Both sides use the same bin rule and the same
//! quantile rule, so they agree to float error (tested against the client on the same curves).
//!
//! Every server version Lyceum supports has what this needs (`ARRAY JOIN`,
//! `arrayEnumerate`, `indexOf`, `arrayReduce`, `quantileExact`, `ANY INNER JOIN … USING`).
//! Alignment to a trigger level interpolates between samples and runs in the client only.

use serde::Deserialize;

use super::connection::Connection;
use super::error::{ClickHouseError, Result};
use super::plan::{
    BindValue, BoundSql, CurveSelection, range_condition, row_range_column, selection_conditions,
    table,
};
use super::schema::{ArrayX, CurveLayout, ValidatedMapping};
use crate::curves::quality::{Alignment, BinGrid, Reference};

/// One bin as the server returns it.
#[derive(Debug, clickhouse::Row, Deserialize)]
struct BinRow {
    bin: i64,
    count: u64,
    mean: f64,
    std: f64,
    median: f32,
    min: f32,
    max: f32,
    quantiles: Vec<f32>,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct MadRow {
    bin: i64,
    mad: f32,
}

/// `(aligned x, y)` of every finite sample of the selected rows, as a subquery `s(ax, v)`.
fn samples(
    sql: &mut BoundSql,
    m: &ValidatedMapping,
    selection: &CurveSelection,
    alignment: Alignment,
) -> Result<()> {
    let CurveLayout::Arrays { x: array_x, .. } = &m.mapping.layout else {
        return Err(ClickHouseError::InvalidRequest(
            "a reference in ClickHouse needs an array-format mapping (one row per curve)".into(),
        ));
    };
    let y = &m.y_column.name;
    // The x of sample `i` (1-based) of a row, as SQL over the row's columns.
    let x_of = |sql: &mut BoundSql, index: &dyn Fn(&mut BoundSql)| match array_x {
        ArrayX::UniformColumns { x0, dx } => {
            sql.push("(toFloat64(").column(x0).push(") + (");
            index(sql);
            sql.push(" - 1) * toFloat64(").column(dx).push("))");
        }
        ArrayX::Uniform { x0, dx } => {
            sql.push("(").bind(BindValue::F64(*x0)).push(" + (");
            index(sql);
            sql.push(" - 1) * ").bind(BindValue::F64(*dx)).push(")");
        }
        ArrayX::Column(name) => {
            sql.push("toFloat64(arrayElement(").column(name).push(", ");
            index(sql);
            sql.push("))");
        }
    };
    sql.push("SELECT ");
    x_of(sql, &|sql| {
        sql.push("i");
    });
    sql.push(" - (");
    match alignment {
        Alignment::Absolute => {
            sql.push("0");
        }
        Alignment::Final => x_of(sql, &|sql| {
            sql.push("length(").column(y).push(")");
        }),
        // The first highest sample, as the client takes it.
        Alignment::Peak => x_of(sql, &|sql| {
            sql.push("indexOf(")
                .column(y)
                .push(", arrayReduce('max', ")
                .column(y)
                .push("))");
        }),
        Alignment::Trigger { .. } => {
            return Err(ClickHouseError::InvalidRequest(
                "alignment to a trigger level runs in the client (it interpolates between samples)"
                    .into(),
            ));
        }
    }
    sql.push(") AS ax, toFloat32(sample) AS v FROM ");
    table(sql, m);
    sql.push(" ARRAY JOIN ")
        .column(y)
        .push(" AS sample, arrayEnumerate(")
        .column(y)
        .push(") AS i WHERE isFinite(sample)");
    if let Some((column, from, to)) = &selection.row_range {
        sql.push(" AND ");
        range_condition(sql, &row_range_column(m, column), *from, *to);
    }
    selection_conditions(sql, m, selection);
    Ok(())
}

/// `bin` of the aligned x, the client's rule.
fn bin_expression(sql: &mut BoundSql, grid: &BinGrid) {
    sql.push("toInt64(floor((ax - ")
        .bind(BindValue::F64(grid.x0))
        .push(") / ")
        .bind(BindValue::F64(grid.dx))
        .push("))");
}

fn in_grid(sql: &mut BoundSql, grid: &BinGrid) {
    sql.push(" HAVING bin >= 0 AND bin < ")
        .bind(BindValue::U64(grid.bins as u64));
}

/// The per-bin statistics query.
pub fn statistics_sql(
    m: &ValidatedMapping,
    selection: &CurveSelection,
    alignment: Alignment,
    grid: &BinGrid,
    quantiles: &[f64],
) -> Result<BoundSql> {
    let mut sql = BoundSql::default();
    sql.push("SELECT ");
    bin_expression(&mut sql, grid);
    sql.push(
        " AS bin, toUInt64(count()) AS count, toFloat64(avg(toFloat64(v))) AS mean, \
         toFloat64(stddevPop(toFloat64(v))) AS std, toFloat32(quantileExact(0.5)(v)) AS median, \
         toFloat32(min(v)) AS min, toFloat32(max(v)) AS max, ",
    );
    if quantiles.is_empty() {
        sql.push("CAST([], 'Array(Float32)')");
    } else {
        sql.push("arrayMap(q -> toFloat32(q), quantilesExact(");
        for (i, q) in quantiles.iter().enumerate() {
            if !(0.0..=1.0).contains(q) {
                return Err(ClickHouseError::InvalidRequest(format!(
                    "quantile {q} is outside 0–1"
                )));
            }
            // Levels are parameters of the function, not values: written, not bound.
            sql.push(if i > 0 { ", " } else { "" })
                .push(&format!("{q}"));
        }
        sql.push(")(v))");
    }
    sql.push(" AS quantiles FROM (");
    samples(&mut sql, m, selection, alignment)?;
    sql.push(") GROUP BY bin");
    in_grid(&mut sql, grid);
    sql.push(" ORDER BY bin");
    Ok(sql)
}

/// The per-bin MAD query: deviations from each bin's median, joined on the bin.
pub fn mad_sql(
    m: &ValidatedMapping,
    selection: &CurveSelection,
    alignment: Alignment,
    grid: &BinGrid,
) -> Result<BoundSql> {
    let mut sql = BoundSql::default();
    sql.push("SELECT bin, toFloat32(quantileExact(0.5)(abs(v - median))) AS mad FROM (SELECT ");
    bin_expression(&mut sql, grid);
    sql.push(" AS bin, v FROM (");
    samples(&mut sql, m, selection, alignment)?;
    sql.push(")) ANY INNER JOIN (SELECT ");
    bin_expression(&mut sql, grid);
    sql.push(" AS bin, toFloat32(quantileExact(0.5)(v)) AS median FROM (");
    samples(&mut sql, m, selection, alignment)?;
    sql.push(") GROUP BY bin) USING bin GROUP BY bin");
    in_grid(&mut sql, grid);
    sql.push(" ORDER BY bin");
    Ok(sql)
}

impl Connection {
    /// A [`Reference`] of the selected rows of an array mapping, computed by the server.
    /// `curves` is the number of rows taught (counted by the server too).
    pub async fn teach_reference(
        &self,
        m: &ValidatedMapping,
        selection: &CurveSelection,
        alignment: Alignment,
        grid: BinGrid,
        quantiles: &[f64],
    ) -> Result<Reference> {
        let stats: Vec<BinRow> = self
            .fetch_all(
                statistics_sql(m, selection, alignment, &grid, quantiles)?.to_query(self.client()),
            )
            .await?;
        let mads: Vec<MadRow> = self
            .fetch_all(mad_sql(m, selection, alignment, &grid)?.to_query(self.client()))
            .await?;
        let mut curves_sql = BoundSql::default();
        curves_sql.push("SELECT toUInt64(count()) FROM ");
        table(&mut curves_sql, m);
        curves_sql.push(" WHERE 1");
        if let Some((column, from, to)) = &selection.row_range {
            curves_sql.push(" AND ");
            range_condition(&mut curves_sql, &row_range_column(m, column), *from, *to);
        }
        selection_conditions(&mut curves_sql, m, selection);
        let curves: Vec<u64> = self.fetch_all(curves_sql.to_query(self.client())).await?;

        let bins = grid.bins;
        let nan = || vec![f64::NAN; bins];
        let mut reference = Reference {
            grid,
            alignment,
            curves: curves.first().copied().unwrap_or(0) as usize,
            count: vec![0; bins],
            mean: nan(),
            std: nan(),
            median: nan(),
            mad: nan(),
            min: nan(),
            max: nan(),
            quantiles: quantiles.iter().map(|&q| (q, nan())).collect(),
        };
        let index = |bin: i64| usize::try_from(bin).ok().filter(|&b| b < bins);
        for row in stats {
            let Some(b) = index(row.bin) else { continue };
            reference.count[b] = row.count;
            reference.mean[b] = row.mean;
            reference.std[b] = row.std;
            reference.median[b] = f64::from(row.median);
            reference.min[b] = f64::from(row.min);
            reference.max[b] = f64::from(row.max);
            for ((_, values), v) in reference.quantiles.iter_mut().zip(&row.quantiles) {
                values[b] = f64::from(*v);
            }
        }
        for row in mads {
            if let Some(b) = index(row.bin) {
                reference.mad[b] = f64::from(row.mad);
            }
        }
        Ok(reference)
    }
}
