//! The dataset manifest (`manifest.json`): what the data is, where it came from, how to check
//! it, and the saved view. [`Manifest`] is written last when a dataset is saved, so a folder
//! without one was never finished.

use serde::{Deserialize, Serialize};

use crate::curves::Axes;
use crate::source::clickhouse::{ArrayX, CurveLayout, SourceMapping};

/// The manifest file's name inside a dataset folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The curves file's name inside a dataset folder.
pub const CURVES_FILE: &str = "curves.arrow";
/// What `format` says in every Lyceum manifest.
pub const FORMAT_NAME: &str = "lyceum-dataset";
/// The newest format version this build writes and reads (2: the source's own column
/// record, `clickhouse` kind, axes; version 1 is read too).
pub const FORMAT_VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub name: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub source: Source,
    pub schema: Vec<ColumnInfo>,
    pub counts: Counts,
    pub files: Vec<FileEntry>,
    #[serde(default)]
    pub view: SavedView,
    /// What x and y measure (column names, units); older manifests: "x" and "y".
    #[serde(default)]
    pub axes: Axes,
}

/// Where the curves came from. Connection details never include a secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Version 1 manifests wrote `click_house` and the ClickHouse module's own mapping type;
    /// that shape is read and ignored (`columns` is then absent).
    #[serde(rename = "clickhouse", alias = "click_house")]
    ClickHouse {
        /// `user@host:port`, the keychain account; no password.
        connection: String,
        database: String,
        table: String,
        /// Which columns made the curves.
        #[serde(default)]
        columns: Option<Box<ColumnRoles>>,
        /// Series keys asked for (empty: all) and the row limit.
        keys: Vec<String>,
        limit: Option<u64>,
        /// x-range of a long-series query, with the pixel width it was decimated for.
        x_range: Option<[f64; 2]>,
        width_px: Option<u32>,
        /// The SQL as sent, values bound.
        query: String,
    },
    /// A CSV, Arrow IPC or Parquet file.
    File { path: String, format: String },
    /// The built-in demo plant.
    Demo {
        seed: u64,
        curves: usize,
        samples: usize,
    },
}

/// Which columns of a source table made the curves: the dataset's own record, versioned with
/// the manifest, whatever the ClickHouse module's types become.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnRoles {
    /// `long` (a row per sample) or `arrays` (a row per curve).
    pub layout: String,
    pub series_keys: Vec<String>,
    pub labels: Vec<String>,
    /// The x column (long), or the x array column (arrays); absent for uniform x.
    pub x: Option<String>,
    /// The y column, or the y array column.
    pub y: String,
    /// Uniform x of array rows: constants or the columns holding them, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniform_x: Option<String>,
}

impl From<&SourceMapping> for ColumnRoles {
    fn from(m: &SourceMapping) -> Self {
        let (layout, x, y, uniform_x) = match &m.layout {
            CurveLayout::Long { x, y } => ("long", Some(x.clone()), y.clone(), None),
            CurveLayout::Arrays { y, x } => match x {
                ArrayX::Column(name) => ("arrays", Some(name.clone()), y.clone(), None),
                ArrayX::UniformColumns { x0, dx } => (
                    "arrays",
                    None,
                    y.clone(),
                    Some(format!("x0 = `{x0}`, dx = `{dx}`")),
                ),
                ArrayX::Uniform { x0, dx } => (
                    "arrays",
                    None,
                    y.clone(),
                    Some(format!("x0 = {x0}, dx = {dx}")),
                ),
            },
        };
        Self {
            layout: layout.to_owned(),
            series_keys: m.series_keys.clone(),
            labels: m.labels.clone(),
            x,
            y,
            uniform_x,
        }
    }
}

/// One column of the curves file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// Arrow's name for the type (`LargeList(Float32)`, …).
    pub data_type: String,
    /// `key`, `label`, `x0`, `dx`, `x` or `y`.
    pub role: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub curves: u64,
    pub points: u64,
}

/// A data file of the dataset and how to check it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    /// XXH3-128 of the whole file, lower-case hex.
    pub xxh3_128: String,
}

/// What the user was looking at when the dataset was saved.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedView {
    pub x_range: Option<[f64; 2]>,
    pub y_range: Option<[f64; 2]>,
    pub colour_by: Option<String>,
    /// Series keys.
    pub highlighted: Vec<String>,
    pub thresholds: Vec<Threshold>,
    /// A reference taught from the curves and its envelope, so an offline reviewer judges by
    /// the same limits (absent in datasets saved before).
    #[serde(default)]
    pub reference: Option<Box<TaughtReference>>,
    /// The recipe's own windows, lines and boxes (the envelope is the reference's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<crate::curves::quality::Recipe>,
}

/// A reference and the envelope drawn from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaughtReference {
    pub reference: crate::curves::quality::Reference,
    pub envelope: crate::curves::quality::Envelope,
}

/// A horizontal limit line (spec limit, alarm level).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub label: String,
    pub y: f64,
}
