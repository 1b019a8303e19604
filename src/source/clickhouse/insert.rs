//! Inserts: one `INSERT … FORMAT RowBinary` request per batch. A batch is one request, and
//! one request into an unpartitioned (or single-partition) MergeTree lands whole or not at
//! all, which is what lets CSV import promise "no half batches" and retry safely.

use super::connection::{Budget, Connection};
use super::error::{ClickHouseError, Result};

/// `name` as a quoted ClickHouse identifier (backquotes, escaped).
pub fn quote_identifier(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('`');
    for c in name.chars() {
        if matches!(c, '`' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('`');
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

impl Connection {
    /// Insert one batch of `RowBinary` rows into `database.table` (`columns` in row order).
    pub async fn insert_rowbinary(
        &self,
        database: &str,
        table: &str,
        columns: &[&str],
        rows: bytes::Bytes,
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
        let mut insert = self.client().insert_formatted_with(sql);
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
