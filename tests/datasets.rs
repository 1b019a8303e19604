//! Offline datasets on real files: save → open round trips, every kind of damage failing
//! loudly with the file named, a save killed half-way leaving nothing that opens, CSV and
//! foreign Arrow / Parquet imports, pyarrow and polars reading what Lyceum wrote, and
//! `lyceum render` from a dataset with no server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lyceum::curves::{CurveStore, CurveStoreBuilder};
use lyceum::source::dataset::{
    self, CURVES_FILE, DatasetError, LongColumns, MANIFEST_FILE, SaveOptions, SavedView, Source,
};
use lyceum::source::demo::{Plant, PlantConfig};

fn demo_store(curves: usize) -> CurveStore {
    Plant::new(PlantConfig {
        curves,
        samples: 300,
        ..PlantConfig::default()
    })
    .process_curves()
    .unwrap()
}

/// Uniform and explicit x, epoch timestamps, a NaN gap, an empty curve, labels.
fn mixed_store() -> CurveStore {
    let mut b = CurveStoreBuilder::new(&["station", "result"]);
    b.push_uniform("a", &["S1", "OK"], 10.0, 0.5, &[1.0, 2.0, 3.0])
        .unwrap();
    b.push_explicit(
        "b",
        &["S2", "NOK"],
        &[1.7e9, 1.7e9 + 0.001, 1.7e9 + 0.002],
        &[4.0, f32::NAN, 6.0],
    )
    .unwrap();
    b.push_uniform("empty", &["S3", "OK"], 0.0, 1.0, &[])
        .unwrap();
    b.finish().unwrap()
}

fn options(name: &str) -> SaveOptions {
    SaveOptions {
        name: name.into(),
        source: Source::Demo {
            seed: 42,
            curves: 3,
            samples: 3,
        },
        view: SavedView {
            colour_by: Some("result".into()),
            highlighted: vec!["b".into()],
            ..SavedView::default()
        },
        replace: false,
    }
}

/// Stores compare with NaN ≠ NaN; compare bit patterns through the public accessors.
fn assert_same_curves(a: &CurveStore, b: &CurveStore) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.label_columns(), b.label_columns());
    for id in 0..a.len() as u32 {
        assert_eq!(a.key(id), b.key(id));
        assert_eq!(a.sampling(id), b.sampling(id), "{}", a.key(id));
        let bits = |s: &CurveStore| s.y(id).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b), "{}", a.key(id));
        assert_eq!(a.x_explicit(id), b.x_explicit(id), "{}", a.key(id));
    }
}

#[test]
fn save_then_open_round_trips_every_sample_and_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mixed");
    let store = mixed_store();
    let manifest = dataset::save(&store, &target, &options("mixed")).unwrap();
    assert_eq!((manifest.counts.curves, manifest.counts.points), (3, 6));
    assert_eq!(manifest.files.len(), 1);
    assert!(
        manifest
            .schema
            .iter()
            .any(|c| c.name == "y" && c.role == "y")
    );

    let opened = dataset::open(&target).unwrap();
    assert_same_curves(&store, &opened.store);
    assert_eq!(opened.manifest, manifest);
    assert_eq!(opened.manifest.view.highlighted, ["b"]);
    let report = dataset::verify(&target).unwrap();
    assert_eq!((report.counts.curves, report.counts.points), (3, 6));

    // Saving over it needs `replace`; with it the new data wins.
    assert!(matches!(
        dataset::save(&store, &target, &options("again")),
        Err(DatasetError::Exists { .. })
    ));
    let demo = demo_store(50);
    dataset::save(
        &demo,
        &target,
        &SaveOptions {
            replace: true,
            ..options("demo")
        },
    )
    .unwrap();
    assert_same_curves(&demo, &dataset::open(&target).unwrap().store);
    // No temporary folders are left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("mixed")]);
}

fn saved(dir: &Path) -> PathBuf {
    let target = dir.join("ds");
    dataset::save(&demo_store(20), &target, &options("ds")).unwrap();
    target
}

fn error_text(result: Result<dataset::Dataset, DatasetError>) -> String {
    result.map(|_| ()).unwrap_err().to_string()
}

#[test]
fn damaged_datasets_fail_loudly_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let curves = |target: &Path| target.join(CURVES_FILE);

    // Truncated.
    let target = saved(dir.path());
    let bytes = std::fs::read(curves(&target)).unwrap();
    std::fs::write(curves(&target), &bytes[..bytes.len() / 2]).unwrap();
    let text = error_text(dataset::open(&target));
    assert!(
        text.contains("curves.arrow") && text.contains("truncated"),
        "{text}"
    );
    std::fs::remove_dir_all(&target).unwrap();

    // One flipped byte, same size.
    let target = saved(dir.path());
    let mut bytes = std::fs::read(curves(&target)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(curves(&target), &bytes).unwrap();
    let text = error_text(dataset::open(&target));
    assert!(
        text.contains("curves.arrow") && text.contains("checksum mismatch"),
        "{text}"
    );
    assert!(dataset::verify(&target).is_err());
    std::fs::remove_dir_all(&target).unwrap();

    // Missing data file.
    let target = saved(dir.path());
    std::fs::remove_file(curves(&target)).unwrap();
    let text = error_text(dataset::open(&target));
    assert!(
        text.contains("curves.arrow") && text.contains("missing"),
        "{text}"
    );
    std::fs::remove_dir_all(&target).unwrap();

    // A manifest from a newer Lyceum.
    let target = saved(dir.path());
    let manifest_path = target.join(MANIFEST_FILE);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["format_version"] = 99.into();
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let text = error_text(dataset::open(&target));
    assert!(
        text.contains("manifest.json") && text.contains("newer Lyceum (format version 99"),
        "{text}"
    );

    // A manifest that is not JSON, and one pointing outside the folder.
    std::fs::write(&manifest_path, b"{ not json").unwrap();
    let text = error_text(dataset::open(&target));
    assert!(
        text.contains("manifest.json") && text.contains("not a valid manifest"),
        "{text}"
    );
    manifest["format_version"] = 1.into();
    manifest["files"][0]["path"] = "../../etc/passwd".into();
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let text = error_text(dataset::open(&target));
    assert!(text.contains("not a plain file name"), "{text}");
    std::fs::remove_dir_all(&target).unwrap();

    // A folder with no manifest.
    let text = error_text(dataset::open(dir.path()));
    assert!(text.contains("is not a Lyceum dataset"), "{text}");
}

#[test]
fn wrong_column_types_are_named() {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let target = saved(dir.path());
    // Replace the data with a table whose `y` is text, and fix up size and checksum so
    // only the types are wrong.
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("key", Arc::new(StringArray::from(vec!["a"]))),
        ("x0", Arc::new(Float64Array::from(vec![0.0]))),
        ("dx", Arc::new(Float64Array::from(vec![1.0]))),
        ("x", Arc::new(Float64Array::from(vec![0.0]))),
        ("y", Arc::new(StringArray::from(vec!["oops"]))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut bytes = Vec::new();
    {
        let mut writer =
            arrow_ipc::writer::FileWriter::try_new(&mut bytes, &batch.schema()).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
    }
    std::fs::write(target.join(CURVES_FILE), &bytes).unwrap();
    let manifest_path = target.join(MANIFEST_FILE);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["files"][0]["bytes"] = bytes.len().into();
    manifest["files"][0]["xxh3_128"] =
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes)).into();
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let text = error_text(dataset::open(&target));
    assert!(
        text.contains("curves.arrow") && text.contains("column `x` has type Float64"),
        "{text}"
    );
}

/// `lyceum` that must succeed; its standard output.
fn lyceum_ok(args: &[&str]) -> String {
    let output = lyceum(args);
    assert!(
        output.status.success(),
        "lyceum {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn lyceum(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

#[test]
fn a_save_killed_half_way_leaves_nothing_that_opens() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("big");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args([
            "dataset",
            "demo",
            "--curves",
            "10000",
            "--samples",
            "2000",
            "--out",
        ])
        .arg(&target)
        .spawn()
        .unwrap();
    let partial = dir.path().join(format!(".big.partial-{}", child.id()));
    // Kill it while the data file is being written.
    let started = std::time::Instant::now();
    while !partial.join(CURVES_FILE).exists() {
        assert!(
            started.elapsed().as_secs() < 60,
            "the save never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!target.exists(), "a killed save must not leave the target");
    assert!(
        matches!(
            dataset::open(&target),
            Err(DatasetError::NoSuchFolder { .. })
        ),
        "the target opened"
    );
    assert!(
        matches!(
            dataset::open(&partial),
            Err(DatasetError::NotADataset { .. })
        ),
        "the partial save opened"
    );
    // The next save of the same target succeeds.
    lyceum_ok(&[
        "dataset",
        "demo",
        "--curves",
        "20",
        "--samples",
        "100",
        "--out",
        target.to_str().unwrap(),
    ]);
    assert_eq!(dataset::verify(&target).unwrap().counts.curves, 20);
}

#[test]
fn csv_files_become_datasets_and_bad_rows_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("long.csv");
    std::fs::write(
        &csv,
        "curve_id,time,value,station\nc2,2026-11-02T06:00:01Z,5,S2\nc1,2026-11-02T06:00:00Z,1,S1\nc1,2026-11-02T06:00:01Z,2,S1\nc2,2026-11-02T06:00:00Z,4,S2\n",
    )
    .unwrap();
    let imported = dataset::import_file(&csv, &LongColumns::default()).unwrap();
    let store = imported.store;
    assert_eq!(imported.format, "csv");
    assert_eq!(store.keys(), ["c2", "c1"]);
    assert_eq!(store.y(1), [1.0, 2.0]);
    // Rows of c2 came out of order; its samples are sorted by x (epoch seconds).
    assert_eq!(store.y(0), [4.0, 5.0]);
    assert_eq!(store.x_at(0, 1) - store.x_at(0, 0), 1.0);
    assert_eq!(store.label("station", 0), Some("S2"));

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "curve_id,x,value\nc1,0,1\nc1,1,oops\n").unwrap();
    let err = dataset::import_file(&bad, &LongColumns::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.csv") && err.contains("line 3"), "{err}");

    let out = dir.path().join("from-csv");
    lyceum_ok(&[
        "dataset",
        "import",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let info = lyceum(&["dataset", "info", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("2 curves, 4 points") && text.contains("long.csv"),
        "{text}"
    );
    let verify = lyceum(&["dataset", "verify", out.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&verify.stdout).contains("ok"));
}

fn python() -> PathBuf {
    std::env::var_os("LYCEUM_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

fn run_python(script: &str) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed (scripts/test.sh installs pyarrow and polars):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pyarrow_and_polars_read_what_lyceum_wrote_and_lyceum_reads_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ds");
    let store = demo_store(30);
    dataset::save(&store, &target, &options("ds")).unwrap();
    let curves = target.join(CURVES_FILE);
    let printed = run_python(&format!(
        r#"
import pyarrow as pa, pyarrow.ipc as ipc, polars as pl
with pa.memory_map({path:?}) as source:
    table = ipc.open_file(source).read_all()
y = table.column("y")
print(table.num_rows, len(y[0]), table.column("key")[0].as_py(), f"{{y[0].values[5].as_py():.4f}}")
frame = pl.read_ipc({path:?})
print(frame.height, frame["y"].list.len().sum(), frame["result"].unique().sort().to_list())
"#,
        path = curves.to_str().unwrap()
    ));
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "30 {} {} {:.4}",
            store.y(0).len(),
            store.key(0),
            store.y(0)[5]
        ),
        "{printed}"
    );
    assert!(
        lines[1].starts_with(&format!("30 {} ", store.point_count())),
        "{printed}"
    );
    assert!(
        lines[1].contains("'NOK'") || lines[1].contains("'OK'"),
        "{printed}"
    );

    // Long-format files written by pyarrow and polars open as datasets.
    let (arrow_path, parquet_path) = (
        dir.path().join("long.arrow"),
        dir.path().join("long.parquet"),
    );
    run_python(&format!(
        r#"
import pyarrow as pa, pyarrow.ipc as ipc, polars as pl
table = pa.table({{"curve_id": [7, 7, 7, 9, 9], "sample": [0, 1, 2, 0, 1],
                   "value": [0.5, 1.5, 2.5, -1.0, -2.0], "line": ["L1", "L1", "L1", "L2", "L2"]}})
with ipc.new_file({arrow:?}, table.schema) as writer:
    writer.write_table(table)
pl.from_arrow(table).write_parquet({parquet:?})
"#,
        arrow = arrow_path.to_str().unwrap(),
        parquet = parquet_path.to_str().unwrap()
    ));
    for (path, format) in [(&arrow_path, "arrow"), (&parquet_path, "parquet")] {
        let imported = dataset::import_file(path, &LongColumns::default()).unwrap();
        let store = imported.store;
        assert_eq!(imported.format, format);
        assert_eq!(store.keys(), ["7", "9"]);
        assert_eq!(store.y(0), [0.5, 1.5, 2.5]);
        assert_eq!(store.y(1), [-1.0, -2.0]);
        assert_eq!(store.label("line", 1), Some("L2"));
        let out = dir.path().join(format!("from-{format}"));
        lyceum_ok(&[
            "dataset",
            "import",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(dataset::verify(&out).unwrap().counts.points, 5);
    }
    // A long file whose columns cannot be told apart says which option to use.
    let err = dataset::import_file(
        &arrow_path,
        &LongColumns {
            value: Some("nope".into()),
            ..LongColumns::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("long.arrow") && err.contains("no column `nope`"),
        "{err}"
    );
}

#[test]
fn render_from_a_dataset_needs_no_server_and_draws_the_same_picture() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ds");
    let common = [
        "--width",
        "480",
        "--height",
        "300",
        "--title",
        "same",
        "--curves",
        "300",
        "--samples",
        "400",
    ];
    lyceum_ok(
        &[
            &["dataset", "demo", "--out", target.to_str().unwrap()],
            &common[6..],
        ]
        .concat(),
    );
    let (from_demo, from_dataset) = (dir.path().join("demo.png"), dir.path().join("dataset.png"));
    lyceum_ok(
        &[
            &["render", "--out", from_demo.to_str().unwrap()],
            &common[..],
        ]
        .concat(),
    );
    let run = lyceum_ok(
        &[
            &["render", "--out", from_dataset.to_str().unwrap()][..],
            &["--dataset", target.to_str().unwrap()][..],
            &common[..],
        ]
        .concat(),
    );
    assert!(run.contains("300 curves drawn"));
    assert!(std::fs::read(&from_demo).unwrap() == std::fs::read(&from_dataset).unwrap());
}

#[test]
fn axes_round_trip_and_version_1_manifests_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("named");
    let mut store = mixed_store();
    store.set_axes(lyceum::curves::Axes {
        y_unit: Some("N·m".into()),
        ..lyceum::curves::Axes::named("angle", "torque")
    });
    let manifest = dataset::save(&store, &target, &options("named")).unwrap();
    assert_eq!(manifest.format_version, dataset::FORMAT_VERSION);
    let opened = dataset::open(&target).unwrap();
    assert_eq!(opened.store.axes(), store.axes());
    assert_eq!(opened.store.axes().y_title(), "torque (N·m)");

    // What a version 1 Lyceum wrote for a ClickHouse source: `click_house`, the ClickHouse
    // module's mapping type, no axes.
    let path = target.join(MANIFEST_FILE);
    let mut v1: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v1["format_version"] = 1.into();
    v1["source"] = serde_json::json!({
        "kind": "click_house",
        "connection": "default@localhost:8123",
        "database": "plant",
        "table": "sensor_readings",
        "mapping": {"database": "plant", "table": "sensor_readings", "series_keys": ["sensor_id"],
                    "labels": [], "layout": {"Long": {"x": "ts", "y": "value"}}},
        "keys": [], "limit": null, "x_range": [0.0, 1.0], "width_px": 1920,
        "query": "SELECT 1"
    });
    v1.as_object_mut().unwrap().remove("axes");
    std::fs::write(&path, serde_json::to_vec(&v1).unwrap()).unwrap();
    let opened = dataset::open(&target).unwrap();
    assert!(
        matches!(&opened.manifest.source, Source::ClickHouse { columns: None, table, .. } if table == "sensor_readings"),
        "{:?}",
        opened.manifest.source
    );
    assert_eq!(opened.store.axes(), &lyceum::curves::Axes::default());
}
