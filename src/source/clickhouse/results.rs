//! Any SQL statement's result, streamed into a [`ResultTable`]: the data explorer's engine.
//! The server writes `TabSeparatedWithNamesAndTypes` (every version has it); [`TsvDecoder`]
//! turns each network chunk's whole lines into a batch of rows, so the first rows are shown
//! while the rest arrive. While the query runs, the server's own figures for it — rows and
//! bytes read, memory — are read from `system.processes` by its query id (18.16 sends no
//! summary header; newer servers' `X-ClickHouse-Summary` is used where it says more), and the
//! query can be cancelled (the server's query is killed too). Read-only runs carry the
//! server setting `readonly = 2` as well as the editor's check, so the user's rights and the
//! switch both apply.
//!
//! Main types: [`SqlRun`], [`SqlProgress`], [`ServerStats`], [`SqlSummary`], [`TsvDecoder`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::connection::{Budget, Connection};
use super::error::{ClickHouseError, Result};
use super::sql_text;
use crate::source::table::ResultTable;

/// Rows sent to the view at once (after the first rows, which go as they come).
const BATCH_ROWS: usize = 16_384;

/// How soon, and then how often, the server is asked what a running query has read.
const FIRST_LOOK: Duration = Duration::from_millis(150);
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// What the server says a query read and used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clickhouse::Row, Deserialize)]
pub struct ServerStats {
    pub read_rows: u64,
    pub read_bytes: u64,
    /// Bytes (the server reports it signed).
    pub memory_bytes: i64,
}

impl ServerStats {
    fn max(self, other: Self) -> Self {
        Self {
            read_rows: self.read_rows.max(other.read_rows),
            read_bytes: self.read_bytes.max(other.read_bytes),
            memory_bytes: self.memory_bytes.max(other.memory_bytes),
        }
    }
}

/// A running query's progress.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SqlProgress {
    pub rows: u64,
    pub received_bytes: u64,
    pub elapsed: Duration,
    /// The server's figures at its last look (none yet: the query was not seen running).
    pub server: Option<ServerStats>,
}

/// What a finished query did.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlSummary {
    pub query_id: String,
    pub rows: u64,
    pub received_bytes: u64,
    pub elapsed: Duration,
    /// When the first rows arrived (none: the statement returned no rows).
    pub first_rows_after: Option<Duration>,
    /// The server's figures: its summary header, or its last look at the running query.
    pub server: Option<ServerStats>,
}

/// How a statement is run.
#[derive(Debug)]
pub struct SqlRun<'a> {
    /// Changes allowed: without, only reading statements run, and the server is told so.
    pub allow_changes: bool,
    /// Where unqualified table names resolve (none: the user's default database).
    pub database: Option<&'a str>,
    pub cancel: Option<&'a CancellationToken>,
    /// Batches of rows, in order, as they arrive (the first one holds the column names even
    /// with no rows).
    pub batches: &'a mpsc::Sender<ResultTable>,
    pub progress: Option<&'a watch::Sender<SqlProgress>>,
}

/// Streaming decoder of `TabSeparatedWithNamesAndTypes`: whole lines become rows, a line cut
/// by a chunk's end waits for the next chunk.
#[derive(Debug, Default)]
pub struct TsvDecoder {
    carry: Vec<u8>,
    names: Option<Vec<String>>,
    columns: Option<Vec<(String, String)>>,
    rows: u64,
}

impl TsvDecoder {
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The rows completed by `chunk`; `None` until the header is known.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Option<ResultTable>> {
        self.carry.extend_from_slice(chunk);
        let Some(last_newline) = self.carry.iter().rposition(|&b| b == b'\n') else {
            return Ok(None);
        };
        let rest = self.carry.split_off(last_newline + 1);
        let whole = std::mem::replace(&mut self.carry, rest);
        self.decode_lines(&whole[..last_newline])
    }

    /// Check nothing was left half-written: the answer ends with a whole line.
    pub fn finish(&mut self) -> Result<Option<ResultTable>> {
        if !self.carry.is_empty() {
            return Err(ClickHouseError::Decode {
                detail: "the answer ended inside a row: the connection dropped".to_owned(),
            });
        }
        // Names and types but no rows: the empty table still tells its columns.
        Ok(self.columns.as_ref().map(|c| ResultTable::with_columns(c)))
    }

    fn decode_lines(&mut self, lines: &[u8]) -> Result<Option<ResultTable>> {
        let mut table = None;
        for line in lines.split(|&b| b == b'\n') {
            let Some(columns) = &self.columns else {
                let fields = split_fields(line)?;
                match self.names.take() {
                    None => self.names = Some(fields),
                    Some(names) => {
                        if names.len() != fields.len() {
                            return Err(decode_error(format!(
                                "{} column names but {} types",
                                names.len(),
                                fields.len()
                            )));
                        }
                        self.columns = Some(names.into_iter().zip(fields).collect());
                    }
                }
                continue;
            };
            let table = table.get_or_insert_with(|| ResultTable::with_columns(columns));
            let mut fields = line.split(|&b| b == b'\t');
            for column in &mut table.columns {
                let field = fields.next().ok_or_else(|| {
                    decode_error(format!("row {} has too few values", self.rows + 1))
                })?;
                if field == b"\\N" {
                    column.push_null();
                } else if !field.contains(&b'\\') {
                    // Most values hold no escape: straight in, no copy of their own.
                    column.push(&String::from_utf8_lossy(field));
                } else {
                    column.push(&unescape(field)?);
                }
            }
            if fields.next().is_some() {
                return Err(decode_error(format!(
                    "row {} has too many values",
                    self.rows + 1
                )));
            }
            self.rows += 1;
        }
        Ok(table.or_else(|| self.columns.as_ref().map(|c| ResultTable::with_columns(c))))
    }
}

fn decode_error(detail: String) -> ClickHouseError {
    ClickHouseError::Decode { detail }
}

fn split_fields(line: &[u8]) -> Result<Vec<String>> {
    line.split(|&b| b == b'\t').map(unescape).collect()
}

/// A TSV field's text: `\t`, `\n`, `\\` and the other escapes undone.
fn unescape(field: &[u8]) -> Result<String> {
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let escaped = match bytes.next() {
            Some(b'n') => b'\n',
            Some(b't') => b'\t',
            Some(b'r') => b'\r',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'0') => 0,
            Some(&other) => other,
            None => b'\\',
        };
        out.push(escaped);
    }
    String::from_utf8(out).or_else(|e| Ok(String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

impl Connection {
    /// Run one statement of the data explorer: checked (read-only unless changes are
    /// allowed), streamed into `run.batches`, with progress and cancellation.
    pub async fn run_sql(&self, statement: &str, run: SqlRun<'_>) -> Result<SqlSummary> {
        if let Some(reason) = sql_text::refusal(statement, run.allow_changes) {
            return Err(ClickHouseError::InvalidRequest(reason));
        }
        match self.run_sql_once(statement, &run, !run.allow_changes).await {
            // A user whose profile is read-only already may not set `readonly` at all: the
            // server's own rule then holds, so run without the setting.
            Err(ClickHouseError::Server {
                code: 164,
                server_message,
            }) if server_message.contains("Cannot modify 'readonly'") => {
                self.run_sql_once(statement, &run, false).await
            }
            other => other,
        }
    }

    async fn run_sql_once(
        &self,
        statement: &str,
        run: &SqlRun<'_>,
        tell_read_only: bool,
    ) -> Result<SqlSummary> {
        let query_id = super::connection::new_query_id();
        let mut query = self
            .client()
            .query_raw(statement.trim().trim_end_matches(';'))
            .with_setting("query_id", query_id.as_str());
        if tell_read_only {
            query = query.with_setting("readonly", "2");
        }
        if let Some(database) = run.database {
            query = query.with_setting("database", database);
        }
        let started = Instant::now();
        let seen = Mutex::new(None::<ServerStats>);
        let stream = async {
            let mut cursor = super::read_ahead::ReadAhead::start(
                query
                    .fetch_bytes("TabSeparatedWithNamesAndTypes")
                    .map_err(|e| self.map_error(e))?,
            );
            let mut decoder = TsvDecoder::default();
            let mut first_rows_after = None;
            let mut sent_header = false;
            let send = async |batch: ResultTable| -> Result<()> {
                run.batches
                    .send(batch)
                    .await
                    .map_err(|_| ClickHouseError::Cancelled)
            };
            // Rows gather into batches of a few thousand (a network chunk holds a few
            // hundred); the first rows go at once, so they show while the rest arrive.
            let mut pending: Option<ResultTable> = None;
            while let Some(chunk) = cursor.next().await.map_err(|e| self.map_error(e))? {
                if let Some(batch) = decoder.push(&chunk)? {
                    if !sent_header {
                        sent_header = true;
                        if batch.rows() > 0 {
                            first_rows_after = Some(started.elapsed());
                        }
                        send(batch).await?;
                    } else if batch.rows() > 0 {
                        first_rows_after.get_or_insert_with(|| started.elapsed());
                        let gathered = pending.get_or_insert_with(ResultTable::default);
                        gathered.append(batch);
                        if gathered.rows() >= BATCH_ROWS
                            && let Some(full) = pending.take()
                        {
                            send(full).await?;
                        }
                    }
                }
                if let Some(progress) = run.progress {
                    let server = *seen.lock().unwrap_or_else(|p| p.into_inner());
                    progress.send_replace(SqlProgress {
                        rows: decoder.rows(),
                        received_bytes: cursor.received_bytes(),
                        elapsed: started.elapsed(),
                        server,
                    });
                }
            }
            if let Some(rest) = pending.take() {
                send(rest).await?;
            }
            if let Some(batch) = decoder.finish()?
                && !sent_header
            {
                send(batch).await?;
            }
            let header = cursor.summary().map(|s| ServerStats {
                read_rows: s.read_rows().unwrap_or(0),
                read_bytes: s.read_bytes().unwrap_or(0),
                memory_bytes: s
                    .memory_usage()
                    .and_then(|m| i64::try_from(m).ok())
                    .unwrap_or(0),
            });
            let looked = *seen.lock().unwrap_or_else(|p| p.into_inner());
            let server = match (header, looked) {
                (Some(h), Some(l)) => Some(h.max(l)),
                (h, l) => h.or(l),
            };
            Ok(SqlSummary {
                query_id: query_id.clone(),
                rows: decoder.rows(),
                received_bytes: cursor.received_bytes(),
                elapsed: started.elapsed(),
                first_rows_after,
                server,
            })
        };
        let watch_server = async {
            tokio::time::sleep(FIRST_LOOK).await;
            loop {
                match self.process_stats(&query_id).await {
                    Ok(Some(stats)) => {
                        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                        *seen = Some(seen.map_or(stats, |s| s.max(stats)));
                    }
                    Ok(None) => {}
                    Err(e) => tracing::debug!(error = %e, "a running query's figures not read"),
                }
                tokio::time::sleep(LOOK_EVERY).await;
            }
        };
        let work = async {
            tokio::select! {
                result = stream => result,
                never = watch_server => never,
            }
        };
        self.run(Budget::Data, Some(&query_id), run.cancel, work)
            .await
    }

    /// The server's figures for a running query, if it is running.
    async fn process_stats(&self, query_id: &str) -> Result<Option<ServerStats>> {
        let query = self
            .client()
            .query(
                "SELECT toUInt64(read_rows), toUInt64(read_bytes), toInt64(memory_usage) \
                 FROM system.processes WHERE query_id = ?",
            )
            .bind(query_id);
        let rows: Vec<ServerStats> = self.fetch_all(query).await?;
        Ok(rows.into_iter().next())
    }

    /// Run a statement and collect its whole result (the CLI, tests and the bench).
    pub async fn fetch_table(
        &self,
        statement: &str,
        database: Option<&str>,
        allow_changes: bool,
    ) -> Result<(ResultTable, SqlSummary)> {
        let (sender, mut receiver) = mpsc::channel(16);
        let collect = async move {
            let mut table = ResultTable::default();
            while let Some(batch) = receiver.recv().await {
                table.append(batch);
            }
            table
        };
        let run = async move {
            self.run_sql(
                statement,
                SqlRun {
                    allow_changes,
                    database,
                    cancel: None,
                    batches: &sender,
                    progress: None,
                },
            )
            .await
        };
        let (summary, table) = tokio::join!(run, collect);
        Ok((table, summary?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_cut_across_chunks_decode_whole() {
        let answer = b"k\tv\tarr\nString\tNullable(Float64)\tArray(Float32)\n\
                       a\\tb\t1.5\t[1,2]\nc\\\\d\t\\N\t[]\n";
        for cut in 1..answer.len() {
            let mut decoder = TsvDecoder::default();
            let mut table = ResultTable::default();
            for part in [&answer[..cut], &answer[cut..]] {
                if let Ok(Some(batch)) = decoder.push(part) {
                    table.append(batch);
                }
            }
            assert!(matches!(decoder.finish(), Ok(Some(_))));
            assert_eq!(table.rows(), 2, "cut at {cut}");
            assert_eq!(table.columns[0].get(0), Some("a\tb"));
            assert_eq!(table.columns[0].get(1), Some("c\\d"));
            assert_eq!(table.columns[1].get(1), None);
            assert_eq!(table.columns[2].numbers(0), Some(vec![1.0, 2.0]));
            assert_eq!(table.columns[1].type_name, "Nullable(Float64)");
        }
    }

    #[test]
    fn a_cut_answer_or_a_ragged_row_is_an_error() {
        let mut decoder = TsvDecoder::default();
        assert!(decoder.push(b"a\nUInt8\n1\n2").is_ok());
        assert!(decoder.finish().is_err());
        let mut decoder = TsvDecoder::default();
        assert!(decoder.push(b"a\tb\nUInt8\tUInt8\n1\n").is_err());
        let mut decoder = TsvDecoder::default();
        assert!(decoder.push(b"a\nUInt8\n1\t2\n").is_err());
    }

    #[test]
    fn an_empty_result_still_names_its_columns() {
        let mut decoder = TsvDecoder::default();
        let first = decoder.push(b"a\tb\nUInt8\tString\n");
        let table = first.ok().flatten().unwrap_or_default();
        assert_eq!(table.columns.len(), 2);
        assert_eq!(table.rows(), 0);
    }
}
