//! A query's result table out to CSV or Parquet (the data explorer's Export). Parquet keeps
//! types: signed and unsigned integers as 64-bit, floats and decimals as doubles, dates as
//! dates, arrays of numbers as lists of doubles, NULL as null; everything else (date-times,
//! whose time zone is the server's, UUIDs, other arrays …) as the server wrote it, as text.
//! CSV writes NULL as an empty field. The file lands whole or not at all
//! (`export::write_into_place`).

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Float64Type;
use arrow_array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};

use super::DatasetError;
use super::export::{
    csv_error, csv_writer, finish_csv, finish_parquet, parquet_error, parquet_writer,
    write_into_place,
};
use crate::source::table::{ResultColumn, ResultTable, ValueKind};

/// Rows per Parquet row group written at once.
const BATCH_ROWS: usize = 1 << 18;

/// Write `table` to `path` (CSV or Parquet by its extension); an existing file is left alone
/// unless `replace`. Returns the rows written.
pub fn export_table(
    table: &ResultTable,
    path: &Path,
    replace: bool,
) -> Result<usize, DatasetError> {
    write_into_place(path, replace, |format, partial| match format {
        super::export::ExportFormat::Csv => write_csv(table, partial),
        super::export::ExportFormat::Parquet => write_parquet(table, partial),
    })?;
    Ok(table.rows())
}

fn write_csv(table: &ResultTable, path: &Path) -> Result<(), DatasetError> {
    let mut writer = csv_writer(path)?;
    let csv_error = csv_error(path);
    writer
        .write_record(table.columns.iter().map(|c| c.name.as_str()))
        .map_err(&csv_error)?;
    for row in 0..table.rows() {
        // NULL is an empty field, as other tools read it.
        writer
            .write_record(table.columns.iter().map(|c| c.get(row).unwrap_or("")))
            .map_err(&csv_error)?;
    }
    finish_csv(writer, path)
}

fn arrow_type(column: &ResultColumn) -> DataType {
    match column.kind() {
        ValueKind::Signed => DataType::Int64,
        ValueKind::Unsigned => DataType::UInt64,
        ValueKind::Float => DataType::Float64,
        ValueKind::Date => DataType::Date32,
        ValueKind::NumberArray => {
            DataType::List(Arc::new(Field::new("item", DataType::Float64, true)))
        }
        ValueKind::Text => DataType::Utf8,
    }
}

fn arrow_column(
    column: &ResultColumn,
    rows: std::ops::Range<usize>,
    path: &Path,
) -> Result<ArrayRef, DatasetError> {
    let bad = |row: usize| DatasetError::Decode {
        path: path.to_owned(),
        detail: format!(
            "row {}: `{}` of column `{}` is not a {}",
            row + 1,
            column.get(row).unwrap_or_default(),
            column.name,
            column.type_name
        ),
    };
    // NULL stays null; a value that does not parse as its type is an error, never a zero.
    fn parsed<T: std::str::FromStr>(
        column: &ResultColumn,
        rows: std::ops::Range<usize>,
        bad: impl Fn(usize) -> DatasetError,
    ) -> Result<Vec<Option<T>>, DatasetError> {
        rows.map(|row| match column.get(row) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| bad(row)),
        })
        .collect()
    }
    Ok(match arrow_type(column) {
        DataType::Int64 => Arc::new(Int64Array::from(parsed::<i64>(column, rows, bad)?)),
        DataType::UInt64 => Arc::new(UInt64Array::from(parsed::<u64>(column, rows, bad)?)),
        DataType::Float64 => Arc::new(Float64Array::from(parsed::<f64>(column, rows, bad)?)),
        DataType::Date32 => {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            let days = parsed::<chrono::NaiveDate>(column, rows, bad)?
                .into_iter()
                .map(|d| d.map(|d| (d - epoch).num_days() as i32));
            Arc::new(Date32Array::from_iter(days))
        }
        DataType::List(_) => {
            let lists = rows
                .map(|row| match column.get(row) {
                    None => Ok(None),
                    Some(_) => column
                        .numbers(row)
                        .map(|values| Some(values.into_iter().map(Some).collect::<Vec<_>>()))
                        .ok_or_else(|| bad(row)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(lists))
        }
        _ => Arc::new(StringArray::from(
            rows.map(|row| column.get(row)).collect::<Vec<_>>(),
        )),
    })
}

fn write_parquet(table: &ResultTable, path: &Path) -> Result<(), DatasetError> {
    let schema = Arc::new(Schema::new(
        table
            .columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c), true))
            .collect::<Vec<_>>(),
    ));
    let mut writer = parquet_writer(path, &schema)?;
    let parquet_error = parquet_error(path);
    let mut start = 0;
    while start < table.rows() {
        let end = (start + BATCH_ROWS).min(table.rows());
        let columns = table
            .columns
            .iter()
            .map(|c| arrow_column(c, start..end, path))
            .collect::<Result<Vec<_>, _>>()?;
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| parquet_error(&e))?;
        writer.write(&batch).map_err(|e| parquet_error(&e))?;
        start = end;
    }
    finish_parquet(writer, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_is_not_its_type_fails_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut table = ResultTable::with_columns(&[("n".to_owned(), "Int32".to_owned())]);
        table.columns[0].push("12");
        table.columns[0].push("twelve");
        let path = dir.path().join("out.parquet");
        let error = export_table(&table, &path, false)
            .err()
            .map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains("row 2")),
            "{error:?}"
        );
        assert!(!path.exists());
        let leftovers = std::fs::read_dir(dir.path()).map_or(0, Iterator::count);
        assert_eq!(leftovers, 0);
    }
}
