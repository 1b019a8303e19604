//! Inserts: one `INSERT … FORMAT RowBinary` request per batch. A batch is one request, and
//! one request into an unpartitioned (or single-partition) MergeTree lands whole or not at
//! all, which is what lets CSV import promise "no half batches" and retry safely.

use super::connection::{Budget, Connection};
use super::error::{ClickHouseError, Result};

/// `name` as a quoted ClickHouse identifier (backquotes, escaped).
pub fn quote_identifier(name: &str) -> String {
    quoted(name, '`')
}

/// `value` as a ClickHouse string literal (single quotes, escaped).
pub fn quote_literal(value: &str) -> String {
    quoted(value, '\'')
}

fn quoted(text: &str, quote: char) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push(quote);
    for c in text.chars() {
        if c == quote || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push(quote);
    quoted
}

/// Refuse names that are not plain identifiers (letters, digits, `_`, not starting with a
/// digit): Lyceum creates databases and tables only under such names.
pub fn check_plain_identifier(what: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128;
    if plain {
        Ok(())
    } else {
        Err(ClickHouseError::InvalidRequest(format!(
            "{what} name `{name}` must be letters, digits and `_`, not starting with a digit"
        )))
    }
}

/// ClickHouse's default `max_insert_block_size`.
const DEFAULT_INSERT_BLOCK_ROWS: u64 = 1_048_576;

impl Connection {
    /// Insert one batch of `RowBinary` rows into `database.table` (`columns` in row order).
    pub async fn insert_rowbinary(
        &self,
        database: &str,
        table: &str,
        columns: &[&str],
        rows: bytes::Bytes,
    ) -> Result<()> {
        self.insert_rowbinary_with(database, table, columns, rows, None)
            .await
    }

    /// [`Connection::insert_rowbinary`] of `row_count` rows as one block, so a `MergeTree`
    /// table gets them in one part: all of them or none (the server would otherwise cut them
    /// into blocks of `max_insert_block_size`, and a failure between blocks would leave some).
    pub async fn insert_rowbinary_whole(
        &self,
        database: &str,
        table: &str,
        columns: &[&str],
        rows: bytes::Bytes,
        row_count: u64,
    ) -> Result<()> {
        self.insert_rowbinary_with(database, table, columns, rows, Some(row_count))
            .await
    }

    async fn insert_rowbinary_with(
        &self,
        database: &str,
        table: &str,
        columns: &[&str],
        rows: bytes::Bytes,
        whole_block_rows: Option<u64>,
    ) -> Result<()> {
        let column_list = columns
            .iter()
            .map(|c| quote_identifier(c))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO {}.{} ({column_list}) FORMAT RowBinary",
            quote_identifier(database),
            quote_identifier(table)
        );
        // Through a `Distributed` table, return once the rows are on their shards (not queued
        // for a background send), so what a seed or import reports is what queries see; other
        // tables ignore the setting.
        let mut client = self
            .client()
            .clone()
            .with_setting("insert_distributed_sync", "1");
        if let Some(row_count) = whole_block_rows {
            // Never below the server's default: a smaller block size would not change a part.
            client = client.with_setting(
                "max_insert_block_size",
                row_count.max(DEFAULT_INSERT_BLOCK_ROWS).to_string(),
            );
        }
        let mut insert = client.insert_formatted_with(sql);
        self.run(Budget::Data, None, None, async {
            insert.send(rows).await.map_err(|e| self.map_error(e))?;
            insert.end().await.map_err(|e| self.map_error(e))
        })
        .await
    }

    /// `SELECT count()` of a table.
    pub async fn count_rows(&self, database: &str, table: &str) -> Result<u64> {
        let query = self
            .client()
            .query("SELECT count() FROM ?.?")
            .bind(clickhouse::sql::Identifier(database))
            .bind(clickhouse::sql::Identifier(table));
        let rows: Vec<u64> = self.fetch_all(query).await?;
        Ok(rows.first().copied().unwrap_or(0))
    }
}

/// Rows per insert request when exporting curves.
const EXPORT_BATCH_ROWS: usize = 1_000_000;

impl Connection {
    /// Write `store` into a new long-format table `database.table` (series, x, value, one
    /// String column per label), in batches of a million rows. Returns the rows written. The
    /// table must not exist yet, so an export never mixes into other data.
    pub async fn export_curves(
        &self,
        database: &str,
        table: &str,
        store: &crate::curves::CurveStore,
    ) -> Result<u64> {
        check_plain_identifier("database", database)?;
        check_plain_identifier("table", table)?;
        let labels = store.label_columns();
        for label in labels {
            check_plain_identifier("label column", &label.name)?;
        }
        let label_ddl: String = labels
            .iter()
            .map(|l| format!(", {} String", quote_identifier(&l.name)))
            .collect();
        self.execute(&format!(
            "CREATE TABLE {}.{} (series String, x Float64, value Float32{label_ddl}) \
             ENGINE = MergeTree() ORDER BY (series, x)",
            quote_identifier(database),
            quote_identifier(table)
        ))
        .await?;
        let mut columns = vec!["series", "x", "value"];
        columns.extend(labels.iter().map(|l| l.name.as_str()));
        let mut writer = super::rowbinary::RowBinaryWriter::with_capacity(EXPORT_BATCH_ROWS * 24);
        let (mut rows, mut pending) = (0u64, 0usize);
        for id in 0..store.len() as u32 {
            for (i, &y) in store.y(id).iter().enumerate() {
                writer.str(store.key(id));
                writer.f64(store.x_at(id, i));
                writer.f32(y);
                for label in labels {
                    writer.str(&label.values[id as usize]);
                }
                pending += 1;
                if pending == EXPORT_BATCH_ROWS {
                    self.insert_rowbinary(database, table, &columns, writer.take())
                        .await?;
                    rows += pending as u64;
                    pending = 0;
                }
            }
        }
        if pending > 0 {
            self.insert_rowbinary(database, table, &columns, writer.take())
                .await?;
            rows += pending as u64;
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_checked() {
        assert_eq!(quote_identifier("a`b\\c"), "`a\\`b\\\\c`");
        assert!(check_plain_identifier("table", "sensor_readings_1m").is_ok());
        for bad in ["", "1abc", "a-b", "a b", "x;DROP", "../x"] {
            assert!(check_plain_identifier("table", bad).is_err(), "{bad}");
        }
    }
}
