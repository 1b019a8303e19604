//! CSV files as curve input: [`sniff`] detects the delimiter, the header and each column's
//! type from the head of the file; [`CsvLayout`] says how rows become curve samples (long or
//! wide). Reading itself streams with the `csv` crate, so files larger than memory are fine.
//! Every value error names the file, the line and the column.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// What a column holds, judged from the sampled rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvType {
    /// Integers or decimals (read as f64).
    Number,
    /// ISO 8601 date-times (`2026-11-02 06:00:00`, `2026-11-02T06:00:00.250Z`), read as epoch ms.
    DateTime,
    Text,
}

/// A detected column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvColumn {
    pub name: String,
    pub kind: CsvType,
}

/// What [`sniff`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvSniff {
    pub path: PathBuf,
    pub delimiter: u8,
    /// Numbers are written `1,5` (detected where `,` is not the delimiter).
    pub decimal_comma: bool,
    /// Lines end in `\r\n`: the `csv` crate then reports every record after the first one
    /// line early (it starts the record before the `\n`), which [`Self::line`] corrects.
    pub crlf: bool,
    pub has_header: bool,
    pub columns: Vec<CsvColumn>,
}

/// What an import says of a wide file's empty cells, which it leaves out: each series runs
/// through the values it has (series sampled at different x share the file's rows, and an
/// empty cell is "no sample here", not a gap).
pub fn wide_empty_cells_note(cells: u64) -> String {
    format!(
        "{cells} empty cell(s) of the wide file left out: each series runs through the values it has"
    )
}

/// What an import says of a wide file's columns that hold no value at all: they make no curve.
pub fn valueless_columns_note(columns: &[&str]) -> String {
    format!("column(s) {} hold no value: no curve", columns.join(", "))
}

/// How CSV rows map to curve samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CsvLayout {
    /// One row per sample: series id, x (or sample index), value, and any label columns.
    Long {
        series: usize,
        x: usize,
        value: usize,
        labels: Vec<usize>,
    },
    /// One row per x: the x column, then one numeric column per series.
    Wide { x: usize, series: Vec<usize> },
}

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: line {line}, column {column} (`{name}`): {problem}", path.display())]
    BadValue {
        path: PathBuf,
        line: u64,
        column: usize,
        name: String,
        problem: String,
    },
    #[error("{}: line {line}: {problem}", path.display())]
    BadRow {
        path: PathBuf,
        line: u64,
        problem: String,
    },
    #[error("{}: {problem}", path.display())]
    Layout { path: PathBuf, problem: String },
}

const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
const SNIFF_BYTES: u64 = 256 * 1024;
const SNIFF_ROWS: usize = 1000;

/// Parse an ISO 8601 date-time (no zone or `Z`: UTC; with an offset: converted) to epoch ms.
pub fn parse_datetime_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp_millis());
    }
    let text = text.strip_suffix('Z').unwrap_or(text);
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| {
        // A date alone: its midnight.
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
    .map(|dt| dt.and_utc().timestamp_millis())
}

/// Parse a number as written in CSV files (surrounding spaces allowed); with
/// `decimal_comma`, `1,5` is 1.5 (European exports: `;` between fields, `,` in numbers).
pub fn parse_number(text: &str, decimal_comma: bool) -> Option<f64> {
    let text = text.trim();
    if decimal_comma && text.contains(',') {
        if text.contains('.') || text.matches(',').count() > 1 {
            return None;
        }
        return text.replacen(',', ".", 1).parse::<f64>().ok();
    }
    text.parse::<f64>().ok()
}

/// A number only with a decimal comma (`0,5`, `-12,25`).
fn is_comma_decimal(value: &str) -> bool {
    parse_number(value, false).is_none() && parse_number(value, true).is_some()
}

fn classify(value: &str, decimal_comma: bool) -> CsvType {
    if parse_number(value, decimal_comma).is_some() {
        CsvType::Number
    } else if parse_datetime_ms(value).is_some() {
        CsvType::DateTime
    } else {
        CsvType::Text
    }
}

fn open(path: &Path) -> Result<File, CsvError> {
    File::open(path).map_err(|source| CsvError::Io {
        path: path.to_owned(),
        source,
    })
}

/// A `csv` reader over `path` with the sniffed settings, positioned at the first data row.
pub fn reader(sniff: &CsvSniff) -> Result<csv::Reader<BufReader<File>>, CsvError> {
    let file = open(&sniff.path)?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(sniff.delimiter)
        .has_headers(sniff.has_header)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(BufReader::with_capacity(1 << 20, file)))
}

/// The trimmed text of field `i` of `record` ("" when missing or not UTF-8).
pub fn field(record: &csv::ByteRecord, i: usize) -> &str {
    record
        .get(i)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
        .trim()
}

/// Detect delimiter, header and column types from the head of the file.
pub fn sniff(path: &Path) -> Result<CsvSniff, CsvError> {
    let mut head = Vec::new();
    open(path)?
        .take(SNIFF_BYTES)
        .read_to_end(&mut head)
        .map_err(|source| CsvError::Io {
            path: path.to_owned(),
            source,
        })?;
    // Drop a partial last line (the file continues past the sniffed bytes).
    if head.len() as u64 == SNIFF_BYTES
        && let Some(end) = head.iter().rposition(|&b| b == b'\n')
    {
        head.truncate(end + 1);
    }
    let layout_error = |problem: &str| CsvError::Layout {
        path: path.to_owned(),
        problem: problem.to_owned(),
    };
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(layout_error("the file is empty"));
    }
    let parse = |delimiter: u8| -> Vec<csv::StringRecord> {
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(head.as_slice())
            .records()
            .take(SNIFF_ROWS)
            .filter_map(Result::ok)
            .collect()
    };
    // The delimiter that splits the most sampled rows into as many (> 1) fields as the first
    // row; a ragged row is then reported with its line when it is read.
    let (delimiter, rows) = DELIMITERS
        .iter()
        .map(|&d| (d, parse(d)))
        .filter(|(_, rows)| rows.first().is_some_and(|first| first.len() > 1))
        .max_by_key(|(_, rows)| {
            let width = rows[0].len();
            (rows.iter().filter(|r| r.len() == width).count(), width)
        })
        .ok_or_else(|| {
            layout_error("no delimiter (, ; tab |) splits the first line into several columns")
        })?;
    // A quote left open swallows the lines after it into one value: say where, rather than
    // leave that line out and report the rows as missing.
    if let Some(open) = rows
        .iter()
        .find(|r| r.len() != rows[0].len() && r.iter().any(|v| v.contains('\n')))
    {
        return Err(layout_error(&format!(
            "line {}: a quoted value runs over the next lines (is a quote not closed?), so the \
             line has {} field(s) where the first has {}",
            open.position().map_or(0, csv::Position::line),
            open.len(),
            rows[0].len()
        )));
    }
    let rows: Vec<csv::StringRecord> = rows
        .iter()
        .filter(|r| r.len() == rows[0].len())
        .cloned()
        .collect();
    let width = rows[0].len();
    let decimal_comma = delimiter != b','
        && rows
            .iter()
            .skip(1)
            .flat_map(csv::StringRecord::iter)
            .any(is_comma_decimal);
    // The type most values have; a stray bad value is reported with its line on import.
    let column_type = |rows: &[csv::StringRecord], i: usize| {
        let mut counts = [0usize; 3];
        for value in rows.iter().map(|r| r[i].trim()).filter(|v| !v.is_empty()) {
            counts[classify(value, decimal_comma) as usize] += 1;
        }
        let total: usize = counts.iter().sum();
        if total == 0 {
            // No value to go by: numbers, as a wide file's offline sensor has no value at
            // all (a text value further down is reported with its line).
            CsvType::Number
        } else if counts[CsvType::Text as usize] * 2 > total {
            CsvType::Text
        } else if counts[CsvType::DateTime as usize] > counts[CsvType::Number as usize] {
            CsvType::DateTime
        } else {
            CsvType::Number
        }
    };
    // A header is a first row whose cells are text where the data below is not, or a first
    // row of text above a table with any non-text column.
    let data_types: Vec<CsvType> = (0..width)
        .map(|i| column_type(&rows[1.min(rows.len())..], i))
        .collect();
    let first_types: Vec<CsvType> = (0..width)
        .map(|i| classify(rows[0][i].trim(), decimal_comma))
        .collect();
    let has_header = rows.len() > 1
        && first_types.iter().all(|t| *t == CsvType::Text)
        && (data_types.iter().any(|t| *t != CsvType::Text)
            || rows[0].iter().all(|v| !v.trim().is_empty()));
    if rows.len() == 1 && first_types.iter().all(|t| *t == CsvType::Text) {
        return Err(layout_error(
            "the file has only a header line and no data rows",
        ));
    }
    let data = if has_header { &rows[1..] } else { &rows[..] };
    if data.is_empty() {
        return Err(layout_error("the file has no data rows"));
    }
    let columns = (0..width)
        .map(|i| CsvColumn {
            name: if has_header {
                rows[0][i].trim().to_owned()
            } else {
                format!("column_{}", i + 1)
            },
            kind: column_type(data, i),
        })
        .collect();
    if has_header {
        let mut seen = std::collections::HashSet::new();
        if let Some(duplicate) = rows[0]
            .iter()
            .map(|name| name.trim().to_lowercase())
            .find(|name| !seen.insert(name.clone()))
        {
            return Err(layout_error(&format!(
                "the header names column `{duplicate}` twice: rename one so each column has its own name"
            )));
        }
    }
    Ok(CsvSniff {
        path: path.to_owned(),
        delimiter,
        decimal_comma,
        crlf: head.windows(2).any(|w| w == b"\r\n"),
        has_header,
        columns,
    })
}

/// Column names a person would use for each role, lower case.
pub(crate) const SERIES_NAMES: [&str; 13] = [
    "series",
    "messung",
    "kurve",
    "kurven_id",
    "zyklus",
    "series_id",
    "curve",
    "curve_id",
    "cycle_id",
    "sensor_id",
    "sensor",
    "id",
    "key",
];
pub(crate) const X_NAMES: [&str; 15] = [
    "x",
    "zeit",
    "weg",
    "winkel",
    "t",
    "ts",
    "time",
    "timestamp",
    "datetime",
    "index",
    "sample",
    "sample_index",
    "angle",
    "displacement",
    "position",
];
pub(crate) const VALUE_NAMES: [&str; 12] = [
    "value",
    "wert",
    "kraft",
    "drehmoment",
    "moment",
    "y",
    "val",
    "reading",
    "measurement",
    "torque",
    "force",
    "v",
];

impl CsvSniff {
    /// Index of the column called `name` (case-insensitive).
    pub fn column_index(&self, name: &str) -> Result<usize, CsvError> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| CsvError::Layout {
                path: self.path.clone(),
                problem: format!(
                    "no column `{name}` (columns: {})",
                    self.columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    fn find_role(&self, names: &[&str], exclude: &[usize]) -> Option<usize> {
        names.iter().find_map(|n| {
            self.columns
                .iter()
                .enumerate()
                .position(|(i, c)| !exclude.contains(&i) && c.name.eq_ignore_ascii_case(n))
        })
    }

    /// Decide the layout: explicit column names win; otherwise long when series, x and value
    /// columns can be told by name, wide when the first column is x and all others numbers.
    pub fn layout(
        &self,
        series: Option<&str>,
        x: Option<&str>,
        value: Option<&str>,
    ) -> Result<CsvLayout, CsvError> {
        let explicit = |name: Option<&str>| name.map(|n| self.column_index(n)).transpose();
        let (series_i, x_i, value_i) = (explicit(series)?, explicit(x)?, explicit(value)?);
        let series_i = series_i.or_else(|| self.find_role(&SERIES_NAMES, &[]));
        let x_i =
            x_i.or_else(|| self.find_role(&X_NAMES, &series_i.into_iter().collect::<Vec<_>>()));
        let value_i = value_i.or_else(|| {
            self.find_role(
                &VALUE_NAMES,
                &[series_i, x_i].into_iter().flatten().collect::<Vec<_>>(),
            )
        });
        let named_roles = x.is_some() || value.is_some();
        let layout = match (series_i, x_i, value_i) {
            // x and value named, no series column: the file is one series; other columns
            // are not turned into curves behind the user's back.
            (None, Some(x), Some(value)) if named_roles => CsvLayout::Wide {
                x,
                series: vec![value],
            },
            (Some(series), Some(x), Some(value)) => CsvLayout::Long {
                series,
                x,
                value,
                labels: (0..self.columns.len())
                    .filter(|i| ![series, x, value].contains(i))
                    .collect(),
            },
            _ if self.columns.len() >= 2
                && self.columns[0].kind != CsvType::Text
                && self.columns[1..].iter().all(|c| c.kind == CsvType::Number) =>
            {
                CsvLayout::Wide {
                    x: 0,
                    series: (1..self.columns.len()).collect(),
                }
            }
            _ => {
                return Err(CsvError::Layout {
                    path: self.path.clone(),
                    problem: "cannot tell the layout: name the columns with --series, --x and --value \
                              (long format), or put x first and one numeric column per series (wide format)"
                        .to_owned(),
                });
            }
        };
        self.check_layout(&layout)?;
        Ok(layout)
    }

    fn check_layout(&self, layout: &CsvLayout) -> Result<(), CsvError> {
        let need = |i: usize, ok: &[CsvType], role: &str| {
            if ok.contains(&self.columns[i].kind) {
                Ok(())
            } else {
                Err(CsvError::Layout {
                    path: self.path.clone(),
                    problem: format!(
                        "column `{}` cannot be the {role}: its values are not {}",
                        self.columns[i].name,
                        if ok.len() > 1 {
                            "numbers or date-times"
                        } else {
                            "numbers"
                        }
                    ),
                })
            }
        };
        match layout {
            CsvLayout::Long { x, value, .. } => {
                need(*x, &[CsvType::Number, CsvType::DateTime], "x column")?;
                need(*value, &[CsvType::Number], "value column")
            }
            CsvLayout::Wide { x, series } => {
                need(*x, &[CsvType::Number, CsvType::DateTime], "x column")?;
                series
                    .iter()
                    .try_for_each(|&s| need(s, &[CsvType::Number], "series column"))
            }
        }
    }

    /// The line (as an editor counts them) where a record starts.
    pub fn line(&self, position: Option<&csv::Position>) -> u64 {
        position.map_or(0, |p| p.line() + u64::from(self.crlf && p.byte() > 0))
    }

    /// Read the next row into `record`; false at the end of the file. A malformed row, or one
    /// with another field count than the header, is an error naming its line.
    pub fn read_record(
        &self,
        reader: &mut csv::Reader<BufReader<File>>,
        record: &mut csv::ByteRecord,
    ) -> Result<bool, CsvError> {
        let more = reader
            .read_byte_record(record)
            .map_err(|e| CsvError::BadRow {
                path: self.path.clone(),
                line: self.line(e.position()),
                problem: e.to_string(),
            })?;
        if more && record.len() != self.columns.len() {
            return Err(CsvError::BadRow {
                path: self.path.clone(),
                line: self.line(record.position()),
                problem: format!(
                    "{} fields, the header has {}",
                    record.len(),
                    self.columns.len()
                ),
            });
        }
        Ok(more)
    }

    /// The x in column `i` of `record`: a number, or a date-time as epoch milliseconds.
    pub fn x_value(
        &self,
        record: &csv::ByteRecord,
        i: usize,
        is_time: bool,
    ) -> Result<f64, CsvError> {
        let text = field(record, i);
        let parsed = if is_time {
            parse_datetime_ms(text).map(|ms| ms as f64)
        } else {
            parse_number(text, self.decimal_comma)
        };
        parsed.ok_or_else(|| {
            let line = self.line(record.position());
            self.bad_value(
                line,
                i,
                text,
                if is_time { "a date-time" } else { "a number" },
            )
        })
    }

    /// The sample in column `i` of `record`; an empty value is a gap (NaN), not a zero.
    pub fn y_value(&self, record: &csv::ByteRecord, i: usize) -> Result<f64, CsvError> {
        let text = field(record, i);
        if text.is_empty() {
            return Ok(f64::NAN);
        }
        parse_number(text, self.decimal_comma).ok_or_else(|| {
            let line = self.line(record.position());
            self.bad_value(line, i, text, "a number")
        })
    }

    /// The error for a value in `record` that does not fit its column.
    pub fn bad_value(&self, line: u64, column: usize, value: &str, expected: &str) -> CsvError {
        CsvError::BadValue {
            path: self.path.clone(),
            line,
            column: column + 1,
            name: self
                .columns
                .get(column)
                .map_or_else(String::new, |c| c.name.clone()),
            problem: format!("expected {expected}, found `{value}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn semicolon_long_file_with_header() {
        let f = file("curve_id;sample;value;station\nc1;0;1.5;S1\nc1;1;2.5;S1\nc2;0;3;S2\n");
        let s = sniff(f.path()).unwrap();
        assert_eq!(s.delimiter, b';');
        assert!(s.has_header);
        let kinds: Vec<_> = s.columns.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                CsvType::Text,
                CsvType::Number,
                CsvType::Number,
                CsvType::Text
            ]
        );
        assert_eq!(
            s.layout(None, None, None).unwrap(),
            CsvLayout::Long {
                series: 0,
                x: 1,
                value: 2,
                labels: vec![3]
            }
        );
    }

    #[test]
    fn wide_file_with_timestamps_and_tabs() {
        let f = file("time\tp1\tp2\n2026-11-02 06:00:00\t1\t2\n2026-11-02T06:00:01Z\t1.1\t\n");
        let s = sniff(f.path()).unwrap();
        assert_eq!(s.delimiter, b'\t');
        assert_eq!(s.columns[0].kind, CsvType::DateTime);
        assert_eq!(
            s.layout(None, None, None).unwrap(),
            CsvLayout::Wide {
                x: 0,
                series: vec![1, 2]
            }
        );
        assert_eq!(
            parse_datetime_ms("2026-11-02T06:00:01Z"),
            Some(1_793_577_600_000 + 6 * 3_600_000 + 1000)
        );
        assert_eq!(
            parse_datetime_ms("2026-11-02T07:00:01+01:00"),
            Some(1_793_577_600_000 + 6 * 3_600_000 + 1000)
        );
    }

    #[test]
    fn crlf_files_report_the_lines_an_editor_shows() {
        for ending in ["\n", "\r\n"] {
            let text = [
                "curve_id,x,value",
                "c1,0,1",
                "c1,1,2",
                "c1,2,oops",
                "c1,3,4",
                "",
            ]
            .join(ending);
            let f = file(&text);
            let s = sniff(f.path()).unwrap();
            let mut reader = reader(&s).unwrap();
            let mut record = csv::ByteRecord::new();
            let mut lines = Vec::new();
            while s.read_record(&mut reader, &mut record).unwrap() {
                lines.push(s.line(record.position()));
            }
            assert_eq!(lines, [2, 3, 4, 5], "{ending:?}");
        }
    }

    #[test]
    fn european_exports_and_header_problems() {
        let f = file("Kurve;Ergebnis;Index;Wert\n0;i.O.;0;1,25\n0;i.O.;1;-0,5\n");
        let s = sniff(f.path()).unwrap();
        assert!(s.decimal_comma);
        assert_eq!(
            s.layout(None, None, None).unwrap(),
            CsvLayout::Long {
                series: 0,
                x: 2,
                value: 3,
                labels: vec![1]
            }
        );
        let mut reader = reader(&s).unwrap();
        let mut record = csv::ByteRecord::new();
        s.read_record(&mut reader, &mut record).unwrap();
        assert_eq!(s.y_value(&record, 3).unwrap(), 1.25);
        let problem = |text: &str| sniff(file(text).path()).unwrap_err().to_string();
        assert!(problem("").contains("the file is empty"));
        assert!(problem("curve_id,x,value\n").contains("only a header line"));
        let unclosed = problem("curve_id,x,value\nc0,0,1\n\"c1,0,1\nc1,1,2\n");
        assert!(
            unclosed.contains("line 3: a quoted value runs over"),
            "{unclosed}"
        );
        assert!(problem("a,x,A\n1,2,3\n").contains("column `a` twice"));
    }

    #[test]
    fn headerless_numbers_and_unknown_layouts() {
        let f = file("1,2,3\n4,5,6\n");
        let s = sniff(f.path()).unwrap();
        assert!(!s.has_header);
        assert_eq!(s.columns[2].name, "column_3");
        let f = file("a,b\nfoo,bar\n");
        let s = sniff(f.path()).unwrap();
        assert!(matches!(
            s.layout(None, None, None),
            Err(CsvError::Layout { .. })
        ));
        assert!(
            s.layout(Some("a"), Some("nope"), None)
                .unwrap_err()
                .to_string()
                .contains("no column `nope`")
        );
        let f = file("n,v\n1,2\n3,oops\n5,6\n");
        assert_eq!(
            sniff(f.path()).unwrap().columns[1].kind,
            CsvType::Number,
            "one bad value does not make text"
        );
        let f = file("only one column\nx\n");
        assert!(matches!(sniff(f.path()), Err(CsvError::Layout { .. })));
    }
}
