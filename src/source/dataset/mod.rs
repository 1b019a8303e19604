//! Offline datasets: curves saved once, opened anywhere with no network. A dataset is a folder:
//! `curves.arrow` (an Arrow IPC file, Lyceum's layout, see [`arrow_io`]) and `manifest.json`
//! ([`manifest::Manifest`]: source, schema, counts, per-file XXH3-128, saved view).
//!
//! - [`save`] writes into a sibling temporary folder and renames it into place only when the
//!   manifest (written last) is on disk, so a save killed half-way never leaves something that
//!   opens as a dataset.
//! - [`open`] checks the format version, every file's size and checksum, then decodes into a
//!   [`CurveStore`]; [`verify`] does the same and also checks the counts.
//! - [`import_file`] reads CSV, or long-format Arrow IPC / Parquet written by other tools.
//!
//! Every error names the file and the problem.

pub mod arrow_io;
pub mod csv;
pub mod export;
pub mod manifest;
pub mod table_export;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;

use crate::curves::{CurveStore, CurveStoreBuilder};
pub use arrow_io::{LongColumns, LongImport, TableError, ValueReport};
pub use manifest::{
    CURVES_FILE, ColumnRoles, Counts, FORMAT_NAME, FORMAT_VERSION, FileEntry, MANIFEST_FILE,
    Manifest, SavedView, Source, TaughtReference,
};
pub use table_export::export_table;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a Lyceum dataset: it has no {MANIFEST_FILE} (an interrupted save leaves none)", dir.display())]
    NotADataset { dir: PathBuf },
    #[error("{}: no such folder", dir.display())]
    NoSuchFolder { dir: PathBuf },
    #[error("{}: not a valid manifest: {detail}", path.display())]
    BadManifest { path: PathBuf, detail: String },
    #[error("{}: written by a newer Lyceum (format version {found}; this build reads up to {FORMAT_VERSION})", path.display())]
    NewerFormat { path: PathBuf, found: u32 },
    #[error("{}: missing (the manifest lists it)", path.display())]
    MissingFile { path: PathBuf },
    #[error("{}: truncated or padded: {actual} bytes, the manifest says {expected}", path.display())]
    WrongSize {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("{}: checksum mismatch (XXH3-128 {actual}, the manifest says {expected}): the file is damaged", path.display())]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{}: {detail}", path.display())]
    Decode { path: PathBuf, detail: String },
    #[error("{}: {source}", path.display())]
    Table { path: PathBuf, source: TableError },
    #[error("{}: holds {found} but the manifest says {expected}", path.display())]
    CountMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{} already exists: choose another folder, or replace it with --force", dir.display())]
    Exists { dir: PathBuf },
    #[error("{} is left as it is: {reason}; --force replaces only a Lyceum dataset folder (its manifest and data files, nothing else)", dir.display())]
    NotReplaceable { dir: PathBuf, reason: String },
    #[error(transparent)]
    Csv(#[from] crate::source::csv_file::CsvError),
    #[error("{}: unknown file type (csv, arrow, ipc, feather, parquet)", path.display())]
    UnknownFileType { path: PathBuf },
    #[error("{}: exports are written as .csv or .parquet", path.display())]
    UnknownExportType { path: PathBuf },
    #[error("{} already exists: choose another name, or replace it", path.display())]
    FileExists { path: PathBuf },
    #[error("{} is left as it is: {reason}; only a Lyceum dataset folder (its manifest and data files, nothing else) is deleted", dir.display())]
    NotDeletable { dir: PathBuf, reason: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A dataset in memory.
#[derive(Debug)]
pub struct Dataset {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub store: CurveStore,
}

/// What to record about a dataset being saved.
#[derive(Clone, Debug)]
pub struct SaveOptions {
    pub name: String,
    pub source: Source,
    pub view: SavedView,
    /// Replace an existing dataset at the target.
    pub replace: bool,
}

/// A writer that hashes what passes through.
struct HashingWriter<W> {
    inner: W,
    hasher: xxhash_rust::xxh3::Xxh3,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex128(hash: u128) -> String {
    format!("{hash:032x}")
}

fn write_curves(path: &Path, batch: &RecordBatch) -> Result<FileEntry, DatasetError> {
    let file = File::create(path).map_err(io_error(path))?;
    let mut hashing = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        hasher: xxhash_rust::xxh3::Xxh3::new(),
        bytes: 0,
    };
    let decode = |e: arrow_schema::ArrowError| DatasetError::Decode {
        path: path.to_owned(),
        detail: e.to_string(),
    };
    {
        let mut writer = arrow_ipc::writer::FileWriter::try_new(&mut hashing, &batch.schema())
            .map_err(decode)?;
        writer.write(batch).map_err(decode)?;
        writer.finish().map_err(decode)?;
    }
    hashing.flush().map_err(io_error(path))?;
    let HashingWriter {
        inner,
        hasher,
        bytes,
    } = hashing;
    let file = inner.into_inner().map_err(|e| DatasetError::Io {
        path: path.to_owned(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_error(path))?;
    Ok(FileEntry {
        path: CURVES_FILE.to_owned(),
        bytes,
        xxh3_128: hex128(hasher.digest128()),
    })
}

/// Save `store` as a dataset folder `dir`, atomically.
pub fn save(
    store: &CurveStore,
    dir: &Path,
    options: &SaveOptions,
) -> Result<Manifest, DatasetError> {
    if std::fs::symlink_metadata(dir).is_ok() {
        if !options.replace {
            return Err(DatasetError::Exists {
                dir: dir.to_owned(),
            });
        }
        check_replaceable(dir)?;
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let leaf = dir
        .file_name()
        .map_or_else(|| "dataset".into(), |n| n.to_string_lossy().into_owned());
    let partial = parent.join(format!(".{leaf}.partial-{}", std::process::id()));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io_error(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io_error(&partial))?;

    let curves_path = partial.join(CURVES_FILE);
    let (batch, schema) = arrow_io::store_to_batch(store).map_err(|e| DatasetError::Decode {
        path: curves_path.clone(),
        detail: e.to_string(),
    })?;
    let entry = write_curves(&curves_path, &batch)?;
    let manifest = Manifest {
        format: FORMAT_NAME.to_owned(),
        format_version: FORMAT_VERSION,
        name: options.name.clone(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        source: options.source.clone(),
        schema,
        counts: Counts {
            curves: store.len() as u64,
            points: store.point_count() as u64,
        },
        files: vec![entry],
        view: options.view.clone(),
        axes: store.axes().clone(),
    };
    let manifest_path = partial.join(MANIFEST_FILE);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| DatasetError::BadManifest {
        path: manifest_path.clone(),
        detail: e.to_string(),
    })?;
    let mut file = File::create(&manifest_path).map_err(io_error(&manifest_path))?;
    file.write_all(&json).map_err(io_error(&manifest_path))?;
    file.sync_all().map_err(io_error(&manifest_path))?;

    // Swap into place: the old dataset (if replaced) moves aside first and goes last.
    let aside = parent.join(format!(".{leaf}.replaced-{}", std::process::id()));
    let replacing = dir.exists();
    if replacing {
        std::fs::rename(dir, &aside).map_err(io_error(dir))?;
    }
    std::fs::rename(&partial, dir).map_err(io_error(dir))?;
    if replacing {
        std::fs::remove_dir_all(&aside).map_err(io_error(&aside))?;
    }
    Ok(manifest)
}

/// A folder `save` may replace: a valid dataset holding only its manifest and listed files,
/// so nothing the user put there (or the file being imported) is ever deleted.
/// Delete the dataset folder `dir`: only a valid dataset that holds nothing but its manifest
/// and the files it lists (the rule `--force` replaces by), so nothing else is ever lost.
pub fn delete(dir: &Path) -> Result<(), DatasetError> {
    let not_deletable = |e: DatasetError| match e {
        DatasetError::NotReplaceable { dir, reason } => DatasetError::NotDeletable { dir, reason },
        other => other,
    };
    check_replaceable(dir).map_err(not_deletable)?;
    // An empty folder passes the replace rule, but it is no dataset of ours to delete.
    read_manifest(dir).map_err(|e| DatasetError::NotDeletable {
        dir: dir.to_owned(),
        reason: format!("it is not a dataset ({e})"),
    })?;
    std::fs::remove_dir_all(dir).map_err(io_error(dir))
}

fn check_replaceable(dir: &Path) -> Result<(), DatasetError> {
    let refuse = |reason: String| DatasetError::NotReplaceable {
        dir: dir.to_owned(),
        reason,
    };
    let meta = std::fs::symlink_metadata(dir).map_err(io_error(dir))?;
    if !meta.is_dir() {
        return Err(refuse(if meta.file_type().is_symlink() {
            "it is a symbolic link".to_owned()
        } else {
            "it is a file, not a folder".to_owned()
        }));
    }
    // An empty folder holds nothing to lose.
    if std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .next()
        .is_none()
    {
        return Ok(());
    }
    let manifest = read_manifest(dir).map_err(|e| refuse(format!("it is not a dataset ({e})")))?;
    let mut others = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let name = entry.map_err(io_error(dir))?.file_name();
        let name = name.to_string_lossy();
        if name != MANIFEST_FILE && !manifest.files.iter().any(|f| f.path == name) {
            others.push(name.into_owned());
        }
    }
    if !others.is_empty() {
        others.sort();
        return Err(refuse(format!(
            "it also holds {} that the dataset does not list ({})",
            if others.len() == 1 {
                "an entry"
            } else {
                "entries"
            },
            others.join(", ")
        )));
    }
    Ok(())
}

/// Read and check `dir/manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, DatasetError> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.is_dir() => {
            return Err(DatasetError::NoSuchFolder {
                dir: dir.to_owned(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DatasetError::NotADataset {
                dir: dir.to_owned(),
            });
        }
        Err(e) => return Err(io_error(&path)(e)),
    };
    let bad = |detail: String| DatasetError::BadManifest {
        path: path.clone(),
        detail,
    };
    // The version first, so a newer manifest is named as such rather than as malformed.
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if value.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT_NAME) {
        return Err(bad(format!("`format` is not \"{FORMAT_NAME}\"")));
    }
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| bad("no `format_version`".to_owned()))?;
    if version > u64::from(FORMAT_VERSION) {
        return Err(DatasetError::NewerFormat {
            path: path.clone(),
            found: u32::try_from(version).unwrap_or(u32::MAX),
        });
    }
    let manifest: Manifest = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    // Listed names are plain file names; anything else could point outside the folder.
    if let Some(entry) = manifest.files.iter().find(|f| {
        Path::new(&f.path)
            .file_name()
            .is_none_or(|n| n != f.path.as_str())
    }) {
        return Err(bad(format!(
            "file `{}` is not a plain file name",
            entry.path
        )));
    }
    Ok(manifest)
}

/// A listed file's bytes, checked against the manifest's size and checksum.
fn read_checked(dir: &Path, entry: &FileEntry) -> Result<Vec<u8>, DatasetError> {
    let path = dir.join(&entry.path);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DatasetError::MissingFile { path });
        }
        Err(e) => return Err(io_error(&path)(e)),
    };
    if bytes.len() as u64 != entry.bytes {
        return Err(DatasetError::WrongSize {
            path,
            expected: entry.bytes,
            actual: bytes.len() as u64,
        });
    }
    let actual = hex128(xxhash_rust::xxh3::xxh3_128(&bytes));
    if actual != entry.xxh3_128 {
        return Err(DatasetError::Checksum {
            path,
            expected: entry.xxh3_128.clone(),
            actual,
        });
    }
    Ok(bytes)
}

/// Constructors of the decode and table errors of one file.
fn error_makers(
    path: &Path,
) -> (
    impl Fn(String) -> DatasetError + '_,
    impl Fn(TableError) -> DatasetError + '_,
) {
    (
        move |detail| DatasetError::Decode {
            path: path.to_owned(),
            detail,
        },
        move |source| DatasetError::Table {
            path: path.to_owned(),
            source,
        },
    )
}

/// Decode an Arrow IPC file (Lyceum's layout) into a store.
fn store_from_ipc(path: &Path, bytes: Vec<u8>) -> Result<CurveStore, DatasetError> {
    let (decode, table) = error_makers(path);
    let reader = arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None)
        .map_err(|e| decode(format!("not an Arrow IPC file: {e}")))?;
    let labels = arrow_io::label_names(&reader.schema());
    let names: Vec<&str> = labels.iter().map(String::as_str).collect();
    let mut builder = CurveStoreBuilder::new(&names);
    for batch in reader {
        let batch = batch.map_err(|e| decode(e.to_string()))?;
        builder.reserve(batch.num_rows(), 0, false);
        arrow_io::append_batch(&mut builder, &batch, &labels).map_err(&table)?;
    }
    builder.finish().map_err(|e| table(e.into()))
}

/// Open a dataset: manifest, file checks, then the curves.
pub fn open(dir: &Path) -> Result<Dataset, DatasetError> {
    let manifest = read_manifest(dir)?;
    let entry = manifest
        .files
        .iter()
        .find(|f| f.path == CURVES_FILE)
        .ok_or_else(|| DatasetError::BadManifest {
            path: dir.join(MANIFEST_FILE),
            detail: format!("no `{CURVES_FILE}` in `files`"),
        })?;
    let bytes = read_checked(dir, entry)?;
    let mut store = store_from_ipc(&dir.join(CURVES_FILE), bytes)?;
    store.set_axes(manifest.axes.clone());
    Ok(Dataset {
        dir: dir.to_owned(),
        manifest,
        store,
    })
}

/// What [`verify`] checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub files: usize,
    pub bytes: u64,
    pub counts: Counts,
}

/// Check every file of a dataset (size, checksum, decoding) and the counts.
pub fn verify(dir: &Path) -> Result<VerifyReport, DatasetError> {
    let dataset = open(dir)?;
    let found = Counts {
        curves: dataset.store.len() as u64,
        points: dataset.store.point_count() as u64,
    };
    if found != dataset.manifest.counts {
        return Err(DatasetError::CountMismatch {
            path: dir.join(CURVES_FILE),
            expected: format!(
                "{} curves, {} points",
                dataset.manifest.counts.curves, dataset.manifest.counts.points
            ),
            found: format!("{} curves, {} points", found.curves, found.points),
        });
    }
    Ok(VerifyReport {
        files: dataset.manifest.files.len(),
        bytes: dataset.manifest.files.iter().map(|f| f.bytes).sum(),
        counts: found,
    })
}

/// Curves read from another tool's file: the store, the file's format name, and notes on
/// what could not be kept as it was (values beyond f32, labels varying within a curve,
/// columns not read).
#[derive(Debug)]
pub struct Imported {
    pub store: CurveStore,
    pub format: &'static str,
    pub notes: Vec<String>,
}

/// Read curves from a file of another tool: CSV (long or wide), or long-format Arrow IPC
/// (`.arrow`, `.ipc`, `.feather`) or Parquet.
pub fn import_file(path: &Path, roles: &LongColumns) -> Result<Imported, DatasetError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let (decode, table) = error_makers(path);
    let (import, format) = match extension.as_str() {
        "csv" | "tsv" | "txt" => (csv::store_from_csv(path, roles)?, "csv"),
        "arrow" | "ipc" | "feather" => {
            let file = File::open(path).map_err(io_error(path))?;
            let reader =
                arrow_ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)
                    .map_err(|e| decode(format!("not an Arrow IPC file: {e}")))?;
            let batches = reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| decode(e.to_string()))?;
            (
                arrow_io::long_batches_to_store(&batches, roles).map_err(&table)?,
                "arrow",
            )
        }
        "parquet" | "pq" => {
            let file = File::open(path).map_err(io_error(path))?;
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::build)
                    .map_err(|e| decode(format!("not a Parquet file: {e}")))?;
            let batches = reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| decode(e.to_string()))?;
            (
                arrow_io::long_batches_to_store(&batches, roles).map_err(&table)?,
                "parquet",
            )
        }
        _ => {
            return Err(DatasetError::UnknownFileType {
                path: path.to_owned(),
            });
        }
    };
    Ok(Imported {
        store: import.store,
        format,
        notes: import.notes,
    })
}
