//! CSV straight to curves, no server: the file is sniffed (delimiter, header, types, long or
//! wide layout) as `lyceum import` does, turned into a long-format Arrow batch (series, x,
//! value, labels) and grouped into curves by [`super::arrow_io::long_batches_to_store`].
//! Date-time x becomes epoch seconds; an empty value is a gap (NaN) in a long file, and a
//! wide file's empty cell is left out (as `lyceum import` does). A bad row stops with
//! file, line and column.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::DatasetError;
use super::arrow_io::{LongColumns, LongImport, long_batches_to_store};
use crate::source::csv_file::{self, CsvLayout, CsvType, field};

/// Read `path` into curves; `roles` names the long-format columns when names do not tell.
/// The columns keep their names (axes, labels); a wide file's curves are named after its
/// columns.
pub fn store_from_csv(path: &Path, roles: &LongColumns) -> Result<LongImport, DatasetError> {
    let sniff = csv_file::sniff(path)?;
    let layout = sniff.layout(
        roles.series.as_deref(),
        roles.x.as_deref(),
        roles.value.as_deref(),
    )?;
    let name = |i: usize| sniff.columns[i].name.clone();
    let (x_index, labels, series_name, value_name) = match &layout {
        CsvLayout::Long {
            series,
            x,
            value,
            labels,
        } => (*x, labels.clone(), name(*series), name(*value)),
        // One value column named by the user is the value axis; several are curves.
        CsvLayout::Wide { x, series } => match series.as_slice() {
            [one] => (*x, Vec::new(), "series".to_owned(), name(*one)),
            _ => (*x, Vec::new(), "series".to_owned(), "value".to_owned()),
        },
    };
    let x_is_time = sniff.columns[x_index].kind == CsvType::DateTime;
    let (mut series, mut xs, mut values) = (Vec::new(), Vec::new(), Vec::new());
    let mut label_values: Vec<Vec<String>> = vec![Vec::new(); labels.len()];
    let mut empty_cells = 0;
    let mut reader = csv_file::reader(&sniff)?;
    let mut record = csv::ByteRecord::new();
    while sniff.read_record(&mut reader, &mut record)? {
        // Date-times become epoch seconds, as everywhere in the store.
        let x = sniff.x_value(&record, x_index, x_is_time)? / if x_is_time { 1e3 } else { 1.0 };
        let value = |i: usize| sniff.y_value(&record, i);
        match &layout {
            CsvLayout::Long {
                series: s,
                value: v,
                ..
            } => {
                series.push(field(&record, *s).to_owned());
                xs.push(x);
                values.push(value(*v)?);
                for (column, &i) in label_values.iter_mut().zip(&labels) {
                    column.push(field(&record, i).to_owned());
                }
            }
            CsvLayout::Wide {
                series: columns, ..
            } => {
                for &i in columns {
                    if field(&record, i).is_empty() {
                        empty_cells += 1;
                        continue;
                    }
                    series.push(sniff.columns[i].name.clone());
                    xs.push(x);
                    values.push(value(i)?);
                }
            }
        }
    }
    let x_name = name(x_index);
    let mut fields = vec![
        Field::new(&series_name, DataType::Utf8, false),
        if x_is_time {
            Field::new(
                &x_name,
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            )
        } else {
            Field::new(&x_name, DataType::Float64, false)
        },
        Field::new(&value_name, DataType::Float64, false),
    ];
    let x_column: ArrayRef = if x_is_time {
        // Whole microseconds: CSV date-times carry at most milliseconds.
        Arc::new(TimestampMicrosecondArray::from(
            xs.iter()
                .map(|s| (s * 1e6).round() as i64)
                .collect::<Vec<_>>(),
        ))
    } else {
        Arc::new(Float64Array::from(xs))
    };
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(series)),
        x_column,
        Arc::new(Float64Array::from(values)),
    ];
    for (&i, column) in labels.iter().zip(label_values) {
        fields.push(Field::new(&sniff.columns[i].name, DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from(column)));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| {
        DatasetError::Decode {
            path: path.to_owned(),
            detail: e.to_string(),
        }
    })?;
    let roles = LongColumns {
        series: Some(series_name),
        x: Some(x_name),
        value: Some(value_name),
    };
    let mut import =
        long_batches_to_store(&[batch], &roles).map_err(|source| DatasetError::Table {
            path: path.to_owned(),
            source,
        })?;
    if empty_cells > 0 {
        import
            .notes
            .push(csv_file::wide_empty_cells_note(empty_cells));
        if let CsvLayout::Wide { series, .. } = &layout {
            let curves = import.store.key_index();
            let valueless: Vec<&str> = series
                .iter()
                .map(|&i| sniff.columns[i].name.as_str())
                .filter(|column| !curves.contains_key(column))
                .collect();
            if !valueless.is_empty() {
                let note = csv_file::valueless_columns_note(&valueless);
                import.notes.push(note);
            }
        }
    }
    if let CsvLayout::Wide { x, series } = &layout
        && series.len() == 1
    {
        let ignored: Vec<String> = (0..sniff.columns.len())
            .filter(|i| i != x && !series.contains(i))
            .map(name)
            .collect();
        if !ignored.is_empty() {
            import.notes.push(format!(
                "one series (`{}` over `{}`); column(s) {} not read",
                sniff.columns[series[0]].name,
                sniff.columns[*x].name,
                ignored.join(", ")
            ));
        }
    }
    Ok(import)
}
