//! What the server is doing and what queries cost, for an admin: the running queries
//! (`system.processes`: user, elapsed, rows and bytes read, memory) with kill, and the recent
//! finished queries (`system.query_log`, where the server keeps one) grouped by their shape —
//! literals replaced, so `WHERE station = 'S1'` and `… 'S2'` are one row — with count, p50 / p95
//! time and bytes read. Grouping happens here (18.16 has no `normalizeQuery`), over at most
//! [`COST_ROWS`] recent rows, so the work stays bounded whatever the log holds.

use std::collections::HashMap;

use serde::Deserialize;

use super::connection::Connection;
use super::error::Result;
use super::plan::{BindValue, BoundSql};

/// Finished queries read from the log at most, newest first.
pub const COST_ROWS: u64 = 20_000;

/// A query the server is running.
#[derive(Clone, Debug, PartialEq, clickhouse::Row, Deserialize)]
pub struct RunningQuery {
    pub query_id: String,
    pub user: String,
    pub elapsed_secs: f64,
    pub read_rows: u64,
    pub read_bytes: u64,
    /// Bytes (the server reports it signed).
    pub memory_bytes: i64,
    pub query: String,
}

/// Finished queries of one shape.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryCost {
    /// The query with its literals replaced by `?`.
    pub shape: String,
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub read_bytes: u64,
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct LoggedQuery {
    query: String,
    duration_ms: u64,
    read_bytes: u64,
}

/// `query` with string and number literals replaced by `?` and blanks squeezed: its shape.
pub fn query_shape(query: &str) -> String {
    let mut shape = String::with_capacity(query.len());
    let mut chars = query.chars().peekable();
    // Whether the last character written belongs to a word (a digit there is a name's).
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // A string literal, with \' and '' inside it.
                while let Some(inner) = chars.next() {
                    match inner {
                        '\\' => {
                            chars.next();
                        }
                        '\'' if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        '\'' => break,
                        _ => {}
                    }
                }
                shape.push('?');
                in_word = false;
            }
            c if c.is_ascii_digit() && !in_word => {
                while chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '.')
                {
                    chars.next();
                }
                shape.push('?');
                in_word = false;
            }
            c if c.is_whitespace() => {
                if !shape.ends_with(' ') && !shape.is_empty() {
                    shape.push(' ');
                }
                in_word = false;
            }
            c => {
                shape.push(c);
                in_word = c.is_alphanumeric() || c == '_' || c == '`';
            }
        }
    }
    shape.trim_end().to_owned()
}

/// The `q`-quantile of sorted values (nearest rank).
fn quantile(sorted_ms: &[u64], q: f64) -> f64 {
    let Some(last) = sorted_ms.len().checked_sub(1) else {
        return f64::NAN;
    };
    sorted_ms[((q * last as f64).round() as usize).min(last)] as f64
}

impl Connection {
    /// The queries running now, longest first (this one left out).
    pub async fn running_queries(&self) -> Result<Vec<RunningQuery>> {
        let sql = "SELECT query_id, user, toFloat64(elapsed) AS elapsed_secs, \
                   toUInt64(read_rows) AS read_rows, toUInt64(read_bytes) AS read_bytes, \
                   toInt64(memory_usage) AS memory_bytes, query FROM system.processes \
                   WHERE query NOT LIKE '%system.processes%' ORDER BY elapsed DESC";
        self.fetch_all(self.query(sql).0).await
    }

    /// Stop the query `query_id` (the server checks the user may).
    pub async fn kill_query(&self, query_id: &str) -> Result<()> {
        let mut sql = BoundSql::default();
        sql.push("KILL QUERY WHERE query_id = ")
            .bind(BindValue::Str(query_id.to_owned()))
            .push(" SYNC");
        let id = super::connection::new_query_id();
        self.execute_query(
            sql.to_query(self.client())
                .with_setting("query_id", id.as_str()),
            &id,
        )
        .await
    }

    /// Finished queries of the last `hours`, grouped by shape, costliest (total time) first;
    /// none when the server keeps no query log.
    pub async fn query_costs(&self, hours: u32) -> Result<Option<Vec<QueryCost>>> {
        let tables: Vec<u64> = self
            .fetch_all(
                self.query(
                    "SELECT toUInt64(count()) FROM system.tables \
                     WHERE database = 'system' AND name = 'query_log'",
                )
                .0,
            )
            .await?;
        if tables.first().copied().unwrap_or(0) == 0 {
            return Ok(None);
        }
        let mut sql = BoundSql::default();
        // type 2: QueryFinish (the number on every version; the enum's names changed).
        sql.push(
            "SELECT query, toUInt64(query_duration_ms) AS duration_ms, \
             toUInt64(read_bytes) AS read_bytes FROM system.query_log \
             WHERE toInt8(type) = 2 AND event_time >= now() - ",
        )
        .bind(BindValue::U64(u64::from(hours) * 3600))
        .push(" ORDER BY event_time DESC LIMIT ")
        .bind(BindValue::U64(COST_ROWS));
        let rows: Vec<LoggedQuery> = self.fetch_all(sql.to_query(self.client())).await?;
        let mut groups: HashMap<String, (Vec<u64>, u64)> = HashMap::new();
        for row in rows {
            let group = groups.entry(query_shape(&row.query)).or_default();
            group.0.push(row.duration_ms);
            group.1 += row.read_bytes;
        }
        let mut costs: Vec<(u64, QueryCost)> = groups
            .into_iter()
            .map(|(shape, (mut times, read_bytes))| {
                times.sort_unstable();
                let total: u64 = times.iter().sum();
                let cost = QueryCost {
                    shape,
                    count: times.len(),
                    p50_ms: quantile(&times, 0.5),
                    p95_ms: quantile(&times, 0.95),
                    read_bytes,
                };
                (total, cost)
            })
            .collect();
        costs.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.shape.cmp(&b.1.shape)));
        Ok(Some(costs.into_iter().map(|(_, cost)| cost).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_differing_in_literals_share_a_shape() {
        let a = query_shape("SELECT * FROM t2 WHERE station = 'S1' AND x > 10.5  LIMIT 100");
        let b = query_shape("SELECT *\n FROM t2 WHERE station = 'it''s' AND x > 3 LIMIT 7");
        assert_eq!(a, "SELECT * FROM t2 WHERE station = ? AND x > ? LIMIT ?");
        assert_eq!(a, b);
        // Digits inside names stay; escaped quotes end nothing early.
        assert_eq!(
            query_shape(r"SELECT toFloat32(x0) FROM db.t WHERE s = 'a\'b' OR s = '1e9'"),
            "SELECT toFloat32(x0) FROM db.t WHERE s = ? OR s = ?"
        );
        assert_eq!(quantile(&[10, 20, 30, 40], 0.5), 30.0);
        assert_eq!(quantile(&[10, 20, 30, 40], 0.95), 40.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
