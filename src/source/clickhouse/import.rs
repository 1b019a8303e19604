//! `lyceum import`: a CSV file into a ClickHouse table, streaming in constant memory.
//!
//! The file is read and encoded on a blocking thread in batches; each batch is one `INSERT`
//! of one block (so it lands whole or not at all) and carries a batch id, `FILE-N-CONTENT`:
//! hashes of the file name and of the batch's raw bytes around its number, stored in the
//! `_lyceum_batch` column of the batch's last row (the others hold an empty string: the id on
//! every row made the server store and compress 53 bytes a row, half of all it received, and
//! one row says as much of a batch that lands whole). Before inserting, the importer loads the ids already in the table and skips those
//! batches, so re-running an interrupted or failed import resumes without duplicating a row;
//! a batch of the same file and number with other content means the file was edited since,
//! and the import stops before it would duplicate rows. A bad value stops the import before
//! its batch is sent, and the error says exactly which batches and rows landed. A table this
//! run created and nothing landed in is dropped again on failure.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use xxhash_rust::xxh3::Xxh3;

use super::connection::Connection;
use super::error::ClickHouseError;
use super::insert::{check_plain_identifier, quote_identifier};
use super::rowbinary::RowBinaryWriter;
use super::schema::ColumnKind;
use crate::source::csv_file::{self, CsvError, CsvLayout, CsvSniff, CsvType, field};

/// Column holding the batch id of every imported row.
pub const BATCH_COLUMN: &str = "_lyceum_batch";

/// What to import and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    pub database: String,
    pub table: String,
    /// Column names for the long layout; `None` lets the importer tell by name.
    pub series: Option<String>,
    pub x: Option<String>,
    pub value: Option<String>,
    /// CSV rows per insert.
    pub batch_rows: usize,
}

/// Progress of an import, after each batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportProgress {
    pub bytes_read: u64,
    pub file_bytes: u64,
    pub rows_inserted: u64,
    pub rows_already_present: u64,
}

/// What an import did (or, inside [`ImportError`], what it did before it stopped).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportReport {
    pub file: PathBuf,
    pub table: String,
    pub layout: String,
    /// CSV data rows read and accepted.
    pub csv_rows: u64,
    /// Table rows inserted by this run (wide files give one per series and CSV row).
    pub rows_inserted: u64,
    pub batches_inserted: u64,
    /// Batches found in the table already (an earlier run loaded them) and skipped.
    pub batches_already_present: u64,
    pub rows_already_present: u64,
    /// Last CSV line whose batch is in the table (0: none).
    pub last_line_landed: u64,
    pub notes: Vec<String>,
    pub elapsed: Duration,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} rows inserted into {} in {} batches, {} rows in {} batches were already there; \
             lines up to {} are in the table",
            self.file.display(),
            self.rows_inserted,
            self.table,
            self.batches_inserted,
            self.rows_already_present,
            self.batches_already_present,
            self.last_line_landed
        )
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error(transparent)]
    ClickHouse(#[from] ClickHouseError),
    #[error("{0}")]
    EditedFile(String),
}

/// An import that stopped, with what it had loaded: re-running the same command resumes,
/// unless the file was edited since an earlier import (`resumable` false).
#[derive(Debug, thiserror::Error)]
#[error(
    "{cause}\nwhat landed: {landed}{}{}",
    landed.notes.iter().map(|n| format!("\nnote: {n}")).collect::<String>(),
    if *resumable {
        "\nre-run the same import to load the rest: batches already in the table are skipped"
    } else {
        ""
    }
)]
pub struct ImportError {
    pub cause: ImportFailure,
    pub landed: ImportReport,
    pub resumable: bool,
}

struct EncodedBatch {
    id: BatchId,
    csv_rows: u64,
    table_rows: u64,
    /// Empty values: of a long file's value column, stored as NaN (a gap in the curve); of a
    /// wide file's cells, left out.
    empty_values: u64,
    /// A wide file's series (in its layout's order) with a value in this batch.
    valued_series: Vec<bool>,
    last_line: u64,
    bytes_read: u64,
    data: bytes::Bytes,
}

/// A batch's identity: which file, which batch of it, what bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BatchId {
    file: u64,
    index: u64,
    content: u128,
}

impl BatchId {
    fn to_column(&self) -> String {
        format!("{:016x}-{}-{:032x}", self.file, self.index, self.content)
    }

    /// Ids written by this scheme; older ids (a bare hash) are only skipped by equality.
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '-');
        Some(Self {
            file: u64::from_str_radix(parts.next()?, 16).ok()?,
            index: parts.next()?.parse().ok()?,
            content: u128::from_str_radix(parts.next()?, 16).ok()?,
        })
    }
}

/// The batch ids already in the target table.
#[derive(Debug, Default)]
struct LandedBatches {
    ids: HashSet<String>,
    /// Hashes of the file names earlier imports came from.
    files: HashSet<u64>,
    /// (file, batch index) → content hash, for telling an edited file from a resumed one.
    by_position: std::collections::HashMap<(u64, u64), u128>,
}

impl LandedBatches {
    fn new(ids: Vec<String>) -> Self {
        let parsed: Vec<BatchId> = ids.iter().filter_map(|id| BatchId::parse(id)).collect();
        Self {
            files: parsed.iter().map(|b| b.file).collect(),
            by_position: parsed
                .iter()
                .map(|b| ((b.file, b.index), b.content))
                .collect(),
            ids: ids.into_iter().collect(),
        }
    }
}

/// A plain identifier from any text (`Part Serial` → `part_serial`): lower-case letters,
/// digits and underscores, with `prefix` in front where it would be empty or start with a
/// digit.
pub fn plain_name(text: &str, prefix: &str) -> String {
    let mut name: String = text
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, prefix);
    }
    name
}

/// Turn a CSV header into a plain column name not yet `taken`.
fn column_name(header: &str, taken: &mut Vec<String>) -> String {
    let mut name = plain_name(header, "c_");
    let base = name.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    taken.push(name.clone());
    name
}

/// The target table's columns for a layout: series, x, value, labels…, batch id.
struct TableShape {
    x_is_time: bool,
    labels: Vec<(usize, String)>,
}

impl TableShape {
    fn new(sniff: &CsvSniff, layout: &CsvLayout) -> Self {
        let mut taken: Vec<String> = ["series", "x", "value", BATCH_COLUMN]
            .map(str::to_owned)
            .to_vec();
        let (x, labels) = match layout {
            CsvLayout::Long { x, labels, .. } => (*x, labels.clone()),
            CsvLayout::Wide { x, .. } => (*x, Vec::new()),
        };
        Self {
            x_is_time: sniff.columns[x].kind == CsvType::DateTime,
            labels: labels
                .into_iter()
                .map(|i| (i, column_name(&sniff.columns[i].name, &mut taken)))
                .collect(),
        }
    }

    fn column_names(&self) -> Vec<&str> {
        let mut names = vec!["series", "x", "value"];
        names.extend(self.labels.iter().map(|(_, n)| n.as_str()));
        names.push(BATCH_COLUMN);
        names
    }

    fn create_sql(&self, database: &str, table: &str, datetime64: bool) -> String {
        let x_type = match (self.x_is_time, datetime64) {
            (false, _) => "Float64",
            (true, true) => "DateTime64(3)",
            (true, false) => "DateTime",
        };
        let labels: String = self
            .labels
            .iter()
            .map(|(_, n)| format!(", {} String", quote_identifier(n)))
            .collect();
        format!(
            "CREATE TABLE IF NOT EXISTS {}.{} (series String, x {x_type}, value Float64{labels}, {} String) \
             ENGINE = MergeTree() ORDER BY (series, x)",
            quote_identifier(database),
            quote_identifier(table),
            quote_identifier(BATCH_COLUMN)
        )
    }
}

/// CSV bytes per batch at most (a batch also ends at the caller's row limit): batches of a few
/// megabytes keep reading, encoding and inserting overlapped on any file size.
pub const BATCH_BYTES: u64 = 4 << 20;

/// A batch being encoded on rayon: its result comes here.
type Encoding = std::sync::mpsc::Receiver<Result<EncodedBatch, CsvError>>;

/// Batches encoded ahead of the one being sent.
const ENCODING_AHEAD: usize = 3;

/// Read the file batch by batch (one thread: CSV splitting is sequential), encode each batch
/// on rayon while the next is read, and send them into `tx` in file order.
fn produce(
    sniff: &CsvSniff,
    layout: &CsvLayout,
    shape: &TableShape,
    batch_rows: usize,
    datetime64: bool,
    tx: &mpsc::Sender<Result<EncodedBatch, CsvError>>,
) {
    let file_name = sniff
        .path
        .file_name()
        .map(|n| n.as_encoded_bytes().to_vec())
        .unwrap_or_default();
    let file_name = &file_name;
    // In place: this thread reads and waits (for encodings, for the sender); only the encoding
    // runs on rayon. A scope's body moved into the pool would hold a worker for the whole
    // import, waiting: concurrent imports as many as the workers then waited on encodings
    // no worker was left to run (a hang), and drawing lost a core while any import ran.
    let result = rayon::in_place_scope(|scope| -> Result<(), CsvError> {
        let mut reader = csv_file::reader(sniff)?;
        let mut encoding: VecDeque<Encoding> = VecDeque::new();
        // Send the oldest batch; false when the importer has stopped listening.
        let send_oldest = |encoding: &mut VecDeque<Encoding>| -> Result<bool, CsvError> {
            let Some(oldest) = encoding.pop_front() else {
                return Ok(true);
            };
            let batch = oldest.recv().map_err(|_| CsvError::BadRow {
                path: sniff.path.clone(),
                line: 0,
                problem: "a batch's encoding stopped".to_owned(),
            })??;
            Ok(tx.blocking_send(Ok(batch)).is_ok())
        };
        // Batches' records come back once encoded and are filled again: no allocation per
        // record after the first few batches.
        let (recycle, recycled) = std::sync::mpsc::channel::<Vec<csv::ByteRecord>>();
        let mut batch_index = 0u64;
        loop {
            let mut records = recycled.try_recv().unwrap_or_default();
            let start = reader.position().byte();
            let mut filled = 0;
            let mut full = false;
            loop {
                if filled == records.len() {
                    records.push(csv::ByteRecord::new());
                }
                if !sniff.read_record(&mut reader, &mut records[filled])? {
                    break;
                }
                filled += 1;
                if filled >= batch_rows || reader.position().byte() - start >= BATCH_BYTES {
                    full = true;
                    break;
                }
            }
            if filled == 0 {
                break;
            }
            let bytes_read = reader.position().byte();
            let (done, encoded) = std::sync::mpsc::sync_channel(1);
            let (index, recycle) = (batch_index, recycle.clone());
            scope.spawn(move |_| {
                let batch = encode(
                    sniff,
                    layout,
                    shape,
                    &records[..filled],
                    datetime64,
                    file_name,
                    index,
                )
                .map(|batch| EncodedBatch {
                    bytes_read,
                    ..batch
                });
                // The reader gone means the import stopped; nothing to hand over.
                let _ = done.send(batch);
                let _ = recycle.send(records);
            });
            encoding.push_back(encoded);
            batch_index += 1;
            while encoding.len() > ENCODING_AHEAD {
                if !send_oldest(&mut encoding)? {
                    return Ok(());
                }
            }
            if !full {
                break;
            }
        }
        while !encoding.is_empty() {
            if !send_oldest(&mut encoding)? {
                return Ok(());
            }
        }
        Ok(())
    });
    if let Err(e) = result
        && let Err(unsent) = tx.blocking_send(Err(e))
    {
        // The importer stopped first (its own error is reported); keep this one in the log.
        tracing::warn!(error = ?unsent.0.err(), "CSV error after the import had stopped");
    }
}

fn encode(
    sniff: &CsvSniff,
    layout: &CsvLayout,
    shape: &TableShape,
    records: &[csv::ByteRecord],
    datetime64: bool,
    file_name: &[u8],
    batch_index: u64,
) -> Result<EncodedBatch, CsvError> {
    let mut hasher = Xxh3::new();
    for record in records {
        hasher.update(record.as_slice());
        for end in (0..record.len())
            .filter_map(|i| record.range(i))
            .map(|r| r.end as u64)
        {
            hasher.update(&end.to_le_bytes());
        }
    }
    let batch_id = BatchId {
        file: xxhash_rust::xxh3::xxh3_64(file_name),
        index: batch_index,
        content: hasher.digest128(),
    };
    let mut w = RowBinaryWriter::with_capacity(records.len() * 64);
    let mut table_rows = 0;
    let mut empty_values = 0;
    let mut valued_series = match layout {
        CsvLayout::Wide { series, .. } => vec![false; series.len()],
        CsvLayout::Long { .. } => Vec::new(),
    };
    let mut last_line = 0;
    for record in records {
        let line = sniff.line(record.position());
        last_line = line;
        let x_value = |i: usize| sniff.x_value(record, i, shape.x_is_time);
        let y_value = |i: usize| sniff.y_value(record, i);
        let put_x = |w: &mut RowBinaryWriter, x: f64| {
            if shape.x_is_time {
                w.time_ms(x as i64, datetime64);
            } else {
                w.f64(x);
            }
        };
        match layout {
            CsvLayout::Long {
                series, x, value, ..
            } => {
                let key = field(record, *series);
                if key.is_empty() {
                    return Err(sniff.bad_value(line, *series, key, "a series id"));
                }
                let (x, y) = (x_value(*x)?, y_value(*value)?);
                empty_values += u64::from(field(record, *value).is_empty());
                w.str(key);
                put_x(&mut w, x);
                w.f64(y);
                for (i, _) in &shape.labels {
                    w.str(field(record, *i));
                }
                w.str("");
                table_rows += 1;
            }
            CsvLayout::Wide { x, series } => {
                let x = x_value(*x)?;
                for (k, &s) in series.iter().enumerate() {
                    if field(record, s).is_empty() {
                        empty_values += 1;
                        continue;
                    }
                    valued_series[k] = true;
                    let y = y_value(s)?;
                    w.str(&sniff.columns[s].name);
                    put_x(&mut w, x);
                    w.f64(y);
                    w.str("");
                    table_rows += 1;
                }
            }
        }
    }
    // The batch column ends every row: the last row's empty string takes the id.
    if table_rows > 0 && !w.set_last_str(&batch_id.to_column()) {
        return Err(CsvError::BadRow {
            path: sniff.path.clone(),
            line: last_line,
            problem: "the batch id could not be written on the batch's last row".to_owned(),
        });
    }
    Ok(EncodedBatch {
        id: batch_id,
        csv_rows: records.len() as u64,
        table_rows,
        empty_values,
        valued_series,
        last_line,
        bytes_read: 0,
        data: w.take(),
    })
}

impl Connection {
    /// Import `path` into `options.database.options.table` (created when missing).
    pub async fn import_csv(
        &self,
        path: &Path,
        options: &ImportOptions,
        mut progress: impl FnMut(ImportProgress),
    ) -> Result<ImportReport, ImportError> {
        let started = Instant::now();
        let mut report = ImportReport {
            file: path.to_owned(),
            table: format!("{}.{}", options.database, options.table),
            ..ImportReport::default()
        };
        let fail = |cause: ImportFailure, landed: &ImportReport| ImportError {
            resumable: !matches!(cause, ImportFailure::EditedFile(_)),
            cause,
            landed: landed.clone(),
        };
        let prepared = self.prepare_import(path, options).await;
        let (sniff, layout, shape, existing, created) = match prepared {
            Ok(p) => p,
            // Nothing was read or sent: there is no rest to load by running it again.
            Err(cause) => {
                return Err(ImportError {
                    cause,
                    landed: report,
                    resumable: false,
                });
            }
        };
        let result = self
            .import_batches(
                sniff,
                layout,
                shape,
                &existing,
                options,
                &mut report,
                &mut progress,
            )
            .await;
        report.elapsed = started.elapsed();
        match result {
            Ok(()) => Ok(report),
            Err(cause) => {
                if created && report.batches_inserted == 0 {
                    // Our own table, still empty: leave nothing behind.
                    let drop = format!(
                        "DROP TABLE IF EXISTS {}.{}",
                        quote_identifier(&options.database),
                        quote_identifier(&options.table)
                    );
                    match self.execute(&drop).await {
                        Ok(()) => report.notes.push(format!(
                            "the table {} this import created was dropped again: nothing landed",
                            report.table
                        )),
                        Err(e) => {
                            tracing::warn!(table = %report.table, error = %e, "dropping an empty imported table failed");
                        }
                    }
                }
                Err(fail(cause, &report))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn import_batches(
        &self,
        sniff: CsvSniff,
        layout: CsvLayout,
        shape: TableShape,
        existing: &LandedBatches,
        options: &ImportOptions,
        report: &mut ImportReport,
        progress: &mut impl FnMut(ImportProgress),
    ) -> Result<(), ImportFailure> {
        let path = sniff.path.clone();
        report.layout = match &layout {
            CsvLayout::Long {
                series, x, value, ..
            } => format!(
                "long: series `{}`, x `{}`, value `{}`, {} label column(s)",
                sniff.columns[*series].name,
                sniff.columns[*x].name,
                sniff.columns[*value].name,
                shape.labels.len()
            ),
            CsvLayout::Wide { series, .. } => format!("wide: {} series", series.len()),
        };
        let this_file = xxhash_rust::xxh3::xxh3_64(
            path.file_name()
                .map(|n| n.as_encoded_bytes().to_vec())
                .unwrap_or_default()
                .as_slice(),
        );
        let others = existing.files.iter().filter(|f| **f != this_file).count();
        if others > 0 {
            // A renamed or different file: its rows are added, whatever is there already.
            report.notes.push(format!(
                "{} already holds rows imported from {others} other file(s); this file's rows are \
                 added beside them (a renamed copy of an imported file duplicates its rows)",
                report.table
            ));
        }
        let datetime64 = self.capabilities().datetime64;
        if shape.x_is_time && !datetime64 {
            report.notes.push(
                "the server has no DateTime64: timestamps are stored in whole seconds".to_owned(),
            );
        }
        let file_bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let columns = shape
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        // A wide file's series, to name those without a value (no curve) at the end.
        let wide_series: Vec<String> = match &layout {
            CsvLayout::Wide { series, .. } => series
                .iter()
                .map(|&s| sniff.columns[s].name.clone())
                .collect(),
            CsvLayout::Long { .. } => Vec::new(),
        };
        let mut valued_series = vec![false; wide_series.len()];
        let (tx, mut rx) = mpsc::channel(2);
        let batch_rows = options.batch_rows.max(1);
        let producer = tokio::task::spawn_blocking(move || {
            produce(&sniff, &layout, &shape, batch_rows, datetime64, &tx);
        });
        let column_refs: Vec<&str> = columns.iter().map(String::as_str).collect();
        let mut prog = ImportProgress {
            file_bytes,
            ..ImportProgress::default()
        };
        let mut first_line = 1;
        let mut empty_values = 0;
        while let Some(batch) = rx.recv().await {
            let batch = batch?;
            empty_values += batch.empty_values;
            for (valued, in_batch) in valued_series.iter_mut().zip(&batch.valued_series) {
                *valued |= *in_batch;
            }
            if existing.ids.contains(&batch.id.to_column()) {
                report.batches_already_present += 1;
                report.rows_already_present += batch.table_rows;
                // In the table already, so landed (batches come in file order).
                report.last_line_landed = batch.last_line;
                prog.rows_already_present += batch.table_rows;
            } else {
                if existing
                    .by_position
                    .get(&(batch.id.file, batch.id.index))
                    .is_some_and(|content| *content != batch.id.content)
                {
                    return Err(ImportFailure::EditedFile(format!(
                        "lines {first_line}–{} of {} differ from what an earlier import of this file loaded \
                         into {} (batch {}): the file was edited since, and importing it again would \
                         duplicate rows; import into a new table, or drop {} first",
                        batch.last_line,
                        path.display(),
                        report.table,
                        batch.id.index + 1,
                        report.table
                    )));
                }
                self.insert_rowbinary_whole(
                    &options.database,
                    &options.table,
                    &column_refs,
                    batch.data,
                    batch.table_rows,
                )
                .await?;
                report.batches_inserted += 1;
                report.rows_inserted += batch.table_rows;
                prog.rows_inserted += batch.table_rows;
            }
            report.csv_rows += batch.csv_rows;
            report.last_line_landed = batch.last_line;
            first_line = batch.last_line + 1;
            prog.bytes_read = batch.bytes_read;
            progress(prog);
        }
        // The producer ends by closing the channel; a panic there must not pass for success.
        producer.await.map_err(|e| ClickHouseError::Decode {
            detail: format!("the CSV reader stopped: {e}"),
        })?;
        if empty_values > 0 && wide_series.is_empty() {
            report.notes.push(format!(
                "{empty_values} empty value(s) are stored as NaN: a gap in their curve"
            ));
        } else if empty_values > 0 {
            report
                .notes
                .push(csv_file::wide_empty_cells_note(empty_values));
            let valueless: Vec<&str> = wide_series
                .iter()
                .zip(&valued_series)
                .filter(|(_, valued)| !**valued)
                .map(|(name, _)| name.as_str())
                .collect();
            if !valueless.is_empty() {
                report
                    .notes
                    .push(csv_file::valueless_columns_note(&valueless));
            }
        }
        Ok(())
    }

    async fn prepare_import(
        &self,
        path: &Path,
        options: &ImportOptions,
    ) -> Result<(CsvSniff, CsvLayout, TableShape, LandedBatches, bool), ImportFailure> {
        check_plain_identifier("database", &options.database)?;
        check_plain_identifier("table", &options.table)?;
        let owned_path = path.to_owned();
        let sniff = tokio::task::spawn_blocking(move || csv_file::sniff(&owned_path))
            .await
            .map_err(|e| ClickHouseError::Decode {
                detail: format!("the CSV reader stopped: {e}"),
            })??;
        let layout = sniff.layout(
            options.series.as_deref(),
            options.x.as_deref(),
            options.value.as_deref(),
        )?;
        let shape = TableShape::new(&sniff, &layout);
        let mut created = false;
        match self.list_columns(&options.database, &options.table).await {
            Ok(columns) => {
                for needed in shape.column_names() {
                    if !columns.iter().any(|c| c.name == needed) {
                        return Err(ClickHouseError::InvalidRequest(format!(
                            "table {}.{} exists without column `{needed}`: import appends only to tables \
                             of the same shape; choose a new table name",
                            options.database, options.table
                        ))
                        .into());
                    }
                }
                let x_is_time = columns.iter().any(|c| {
                    c.name == "x"
                        && matches!(c.kind, ColumnKind::DateTime | ColumnKind::DateTime64 { .. })
                });
                if x_is_time != shape.x_is_time {
                    return Err(ClickHouseError::InvalidRequest(format!(
                        "table {}.{} has an x column of another kind (time vs number) than the file",
                        options.database, options.table
                    ))
                    .into());
                }
            }
            Err(ClickHouseError::UnknownTable { .. }) => {
                self.execute(&format!(
                    "CREATE DATABASE IF NOT EXISTS {}",
                    quote_identifier(&options.database)
                ))
                .await?;
                self.execute(&shape.create_sql(
                    &options.database,
                    &options.table,
                    self.capabilities().datetime64,
                ))
                .await?;
                created = true;
            }
            Err(e) => return Err(e.into()),
        }
        let query = self
            .client()
            .query("SELECT DISTINCT ? FROM ?.? WHERE ? != ''")
            .bind(clickhouse::sql::Identifier(BATCH_COLUMN))
            .bind(clickhouse::sql::Identifier(&options.database))
            .bind(clickhouse::sql::Identifier(&options.table))
            .bind(clickhouse::sql::Identifier(BATCH_COLUMN));
        let existing: Vec<String> = self.fetch_all(query).await?;
        Ok((sniff, layout, shape, LandedBatches::new(existing), created))
    }
}
