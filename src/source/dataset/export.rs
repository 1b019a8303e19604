//! Curves out to files other tools read: long-format CSV and Parquet, one row per sample
//! (`series`, the labels, `x`, `value`) — the layout [`super::import_file`] reads back, and
//! what pandas, polars or a spreadsheet expect. Time axes are written as UTC instants (CSV:
//! RFC 3339 with milliseconds; Parquet: microsecond timestamps), NaN gaps as `NaN`. The file
//! is written next to its destination and renamed into place, so a failed export leaves no
//! half file; an existing file is replaced only when asked.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::{DatasetError, io_error};
use crate::curves::{CurveId, CurveStore};

/// Rows per Parquet batch: bounded memory whatever the curves' size.
const BATCH_ROWS: usize = 1 << 20;

/// A file format curves are exported to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Parquet,
}

impl ExportFormat {
    /// The format a file name asks for by its extension.
    pub fn of_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_string_lossy().to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(Self::Csv),
            "parquet" | "pq" => Some(Self::Parquet),
            _ => None,
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    pub path: PathBuf,
    pub curves: usize,
    pub rows: usize,
}

/// Column names of the file: `series`, the labels (renamed where they would take a role's
/// name), `x`, `value`.
fn column_names(store: &CurveStore) -> Vec<String> {
    let roles = ["series", "x", "value"];
    let mut names = vec!["series".to_owned()];
    for column in store.label_columns() {
        let name = if roles.iter().any(|r| r.eq_ignore_ascii_case(&column.name)) {
            format!("label_{}", column.name)
        } else {
            column.name.clone()
        };
        names.push(name);
    }
    names.extend(["x".to_owned(), "value".to_owned()]);
    names
}

/// Write the curves `ids` of `store` (all when `None`) to `path` as CSV or Parquet, by its
/// extension. An existing file is left alone unless `replace`.
pub fn export_curves(
    store: &CurveStore,
    ids: Option<&[CurveId]>,
    path: &Path,
    replace: bool,
) -> Result<ExportReport, DatasetError> {
    let all: Vec<CurveId>;
    let ids = match ids {
        Some(ids) => ids,
        None => {
            all = (0..store.len() as CurveId).collect();
            &all
        }
    };
    let rows = write_into_place(path, replace, |format, partial| match format {
        ExportFormat::Csv => write_csv(store, ids, partial),
        ExportFormat::Parquet => write_parquet(store, ids, partial),
    })?;
    Ok(ExportReport {
        path: path.to_owned(),
        curves: ids.len(),
        rows,
    })
}

/// Write `path` in the format its extension names, through a hidden file beside it renamed
/// into place when whole (a failed write leaves nothing); an existing file is left alone
/// unless `replace`. A folder the user named that does not exist yet is made, as saving a
/// dataset does.
pub(super) fn write_into_place<T>(
    path: &Path,
    replace: bool,
    write: impl FnOnce(ExportFormat, &Path) -> Result<T, DatasetError>,
) -> Result<T, DatasetError> {
    let format = ExportFormat::of_path(path).ok_or_else(|| DatasetError::UnknownExportType {
        path: path.to_owned(),
    })?;
    if !replace && path.exists() {
        return Err(DatasetError::FileExists {
            path: path.to_owned(),
        });
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    let partial = path.with_file_name(format!(".{file_name}.partial"));
    let written = match write(format, &partial) {
        Ok(written) => written,
        Err(e) => {
            // Ours to remove: the half-written file this export created.
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, path).map_err(io_error(path))?;
    Ok(written)
}

/// `2026-11-02T06:00:00.250Z`.
fn instant_text(secs: f64) -> String {
    chrono::DateTime::from_timestamp_millis((secs * 1e3).round() as i64).map_or_else(
        || secs.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    )
}

type CsvWriter = ::csv::Writer<std::io::BufWriter<std::fs::File>>;

pub(super) fn csv_writer(path: &Path) -> Result<CsvWriter, DatasetError> {
    let file = std::fs::File::create(path).map_err(io_error(path))?;
    Ok(::csv::Writer::from_writer(std::io::BufWriter::new(file)))
}

pub(super) fn csv_error(path: &Path) -> impl Fn(::csv::Error) -> DatasetError + '_ {
    move |e| DatasetError::Decode {
        path: path.to_owned(),
        detail: format!("cannot write CSV: {e}"),
    }
}

/// Flush a CSV file to disk.
pub(super) fn finish_csv(writer: CsvWriter, path: &Path) -> Result<(), DatasetError> {
    let file = writer.into_inner().map_err(|e| DatasetError::Io {
        path: path.to_owned(),
        source: e.into_error(),
    })?;
    file.into_inner()
        .map_err(|e| DatasetError::Io {
            path: path.to_owned(),
            source: e.into_error(),
        })?
        .sync_all()
        .map_err(io_error(path))
}

fn write_csv(store: &CurveStore, ids: &[CurveId], path: &Path) -> Result<usize, DatasetError> {
    let mut writer = csv_writer(path)?;
    let csv_error = csv_error(path);
    writer
        .write_record(column_names(store))
        .map_err(&csv_error)?;
    let time = store.axes().x_is_time;
    let mut rows = 0;
    let mut record: Vec<String> = Vec::new();
    for &id in ids {
        for (i, y) in store.y(id).iter().enumerate() {
            let x = store.x_at(id, i);
            record.clear();
            record.push(store.key(id).to_owned());
            for column in store.label_columns() {
                record.push(column.values[id as usize].clone());
            }
            record.push(if time { instant_text(x) } else { x.to_string() });
            record.push(y.to_string());
            writer.write_record(&record).map_err(&csv_error)?;
            rows += 1;
        }
    }
    finish_csv(writer, path)?;
    Ok(rows)
}

/// One batch of rows: `(curve, sample)` pairs.
fn batch(
    store: &CurveStore,
    schema: &Arc<Schema>,
    rows: &[(CurveId, usize)],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let text = |value: &dyn Fn(CurveId) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|&(id, _)| value(id)),
        ))
    };
    let mut columns = vec![text(&|id| store.key(id).to_owned())];
    for column in store.label_columns() {
        columns.push(text(&|id| column.values[id as usize].clone()));
    }
    let xs = rows.iter().map(|&(id, i)| store.x_at(id, i));
    columns.push(if store.axes().x_is_time {
        Arc::new(
            arrow_array::TimestampMicrosecondArray::from_iter_values(
                xs.map(|x| (x * 1e6).round() as i64),
            )
            .with_timezone("UTC"),
        )
    } else {
        Arc::new(Float64Array::from_iter_values(xs))
    });
    columns.push(Arc::new(Float32Array::from_iter_values(
        rows.iter().map(|&(id, i)| store.y(id)[i]),
    )));
    RecordBatch::try_new(Arc::clone(schema), columns)
}

fn write_parquet(store: &CurveStore, ids: &[CurveId], path: &Path) -> Result<usize, DatasetError> {
    let names = column_names(store);
    let x_type = if store.axes().x_is_time {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    } else {
        DataType::Float64
    };
    let mut fields: Vec<Field> = names[..names.len() - 2]
        .iter()
        .map(|name| Field::new(name, DataType::Utf8, false))
        .collect();
    fields.push(Field::new("x", x_type, false));
    fields.push(Field::new("value", DataType::Float32, false));
    let schema = Arc::new(Schema::new(fields));
    let parquet_error = parquet_error(path);
    let mut writer = parquet_writer(path, &schema)?;
    let mut rows: Vec<(CurveId, usize)> = Vec::with_capacity(BATCH_ROWS);
    let mut total = 0;
    for &id in ids {
        for i in 0..store.y(id).len() {
            rows.push((id, i));
            if rows.len() == BATCH_ROWS {
                let batch = batch(store, &schema, &rows).map_err(|e| parquet_error(&e))?;
                writer.write(&batch).map_err(|e| parquet_error(&e))?;
                total += rows.len();
                rows.clear();
            }
        }
    }
    if !rows.is_empty() {
        let batch = batch(store, &schema, &rows).map_err(|e| parquet_error(&e))?;
        writer.write(&batch).map_err(|e| parquet_error(&e))?;
        total += rows.len();
    }
    finish_parquet(writer, path)?;
    Ok(total)
}

pub(super) fn parquet_error(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> DatasetError + '_ {
    move |e| DatasetError::Decode {
        path: path.to_owned(),
        detail: format!("cannot write Parquet: {e}"),
    }
}

type ParquetWriter = parquet::arrow::ArrowWriter<std::fs::File>;

/// A Parquet file of `schema` (zstd) at `path`.
pub(super) fn parquet_writer(
    path: &Path,
    schema: &Arc<Schema>,
) -> Result<ParquetWriter, DatasetError> {
    let file = std::fs::File::create(path).map_err(io_error(path))?;
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(
            parquet::basic::ZstdLevel::default(),
        ))
        .build();
    parquet::arrow::ArrowWriter::try_new(file, Arc::clone(schema), Some(properties))
        .map_err(|e| parquet_error(path)(&e))
}

pub(super) fn finish_parquet(writer: ParquetWriter, path: &Path) -> Result<(), DatasetError> {
    let file = writer.into_inner().map_err(|e| parquet_error(path)(&e))?;
    file.sync_all().map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::{Axes, CurveStoreBuilder};
    use crate::source::dataset::{LongColumns, import_file};

    fn store(time: bool) -> CurveStore {
        let mut b = CurveStoreBuilder::new(&["station", "x"]);
        if time {
            b.set_axes(Axes {
                x_is_time: true,
                ..Axes::named("ts", "force")
            });
        }
        b.push_uniform(
            "c1",
            &["S1", "odd"],
            1_793_577_600.0,
            0.5,
            &[1.0, f32::NAN, 3.5],
        )
        .unwrap();
        b.push_explicit(
            "c2",
            &["S2", "odd"],
            &[1_793_577_600.25, 1_793_577_601.0],
            &[1e-30, 3e30],
        )
        .unwrap();
        b.push_uniform("one", &["S2", ""], 1_793_577_605.0, 1.0, &[7.0])
            .unwrap();
        b.finish().unwrap()
    }

    #[test]
    fn exported_curves_read_back_the_same_in_both_formats() {
        let dir = tempfile::tempdir().unwrap();
        for time in [false, true] {
            let original = store(time);
            for extension in ["csv", "parquet"] {
                let path = dir.path().join(format!("curves-{time}.{extension}"));
                let report = export_curves(&original, None, &path, false).unwrap();
                assert_eq!((report.curves, report.rows), (3, 6));
                let back = import_file(&path, &LongColumns::default()).unwrap().store;
                assert_eq!(back.len(), 3, "{extension}");
                for id in 0..3 {
                    assert_eq!(back.key(id), original.key(id));
                    let (a, b) = (original.y(id), back.y(id));
                    assert_eq!(a.len(), b.len(), "{extension} {id}");
                    for (a, b) in a.iter().zip(b) {
                        assert!(a == b || (a.is_nan() && b.is_nan()), "{a} vs {b}");
                    }
                    for i in 0..a.len() {
                        let (xa, xb) = (original.x_at(id, i), back.x_at(id, i));
                        assert!((xa - xb).abs() < 1e-3, "{extension} x {xa} vs {xb}");
                    }
                }
                // The label that was called `x` keeps its values under a new name.
                assert_eq!(back.label("label_x", 0), Some("odd"), "{extension}");
                assert_eq!(back.label("station", 1), Some("S2"));
                assert_eq!(back.axes().x_is_time, time, "{extension}");
            }
        }
    }

    #[test]
    fn a_selection_is_exported_alone_and_nothing_is_overwritten_unasked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("picked.csv");
        std::fs::write(&path, "mine").unwrap();
        let original = store(false);
        let refused = export_curves(&original, Some(&[1]), &path, false).unwrap_err();
        assert!(
            matches!(refused, DatasetError::FileExists { .. }),
            "{refused}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        let report = export_curves(&original, Some(&[1]), &path, true).unwrap();
        assert_eq!((report.curves, report.rows), (1, 2));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("series,station,label_x,x,value\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 3);
        // An unknown extension is refused before anything is written.
        let odd = dir.path().join("curves.xlsx");
        assert!(matches!(
            export_curves(&original, None, &odd, false),
            Err(DatasetError::UnknownExportType { .. })
        ));
        assert!(!odd.exists());
        // A folder that does not exist yet is made.
        let nested = dir.path().join("out").join("deeper").join("all.csv");
        export_curves(&original, None, &nested, false).unwrap();
        assert!(nested.is_file());
        // No partial file is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
