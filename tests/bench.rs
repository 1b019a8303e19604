//! Smoke test of `lyceum bench` (feature `bench`): every table prints at a tiny scale, with
//! numbers in it, so the benchmark command keeps working between the runs that measure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn lyceum_bench_prints_every_table_at_a_tiny_scale() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args(["bench", "--scale", "0.001", "--json"])
        .arg(&json)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for heading in [
        "decimation (M4)",
        "1 series × 100 M",
        "plain read",
        "tsdownsample",
        "dataset → first frame",
        "pan / zoom frame",
        "pan / zoom → settled picture, CPU time",
        "memory: curve store",
        "memory: decimated points (GPU path)",
        "memory: GPU buffers",
        "memory: CPU renderer drawing a picture",
        "egui frame painted",
        "pan / zoom step in the window, CPU time (sum)",
    ] {
        assert!(stdout.contains(heading), "no `{heading}` in:\n{stdout}");
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rows = report["decimation"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "every decimation case");
    for row in rows {
        assert!(row["decimate_ms"].as_f64().unwrap() > 0.0, "{row}");
        assert!(row["plain_read_ms"].as_f64().unwrap() > 0.0, "{row}");
        assert!(row["output_points"].as_u64().unwrap() > 0, "{row}");
    }
    assert!(
        report["rendering"]["rows"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(report["datasets"].as_array().is_some_and(|r| !r.is_empty()));
    let app = report["app"].as_array().unwrap();
    assert!(app.len() >= 2, "{app:?}");
    for row in app {
        assert!(row["value"].as_f64().is_some_and(|v| v > 0.0), "{row}");
    }
}

/// `--only` runs the tables it names and no others.
#[test]
fn lyceum_bench_only_runs_the_tables_asked_for() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args(["bench", "--scale", "0.001", "--only", "app"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("pan / zoom → settled picture"), "{stdout}");
    assert!(!stdout.contains("decimation (M4)"), "{stdout}");
    assert!(!stdout.contains("datasets"), "{stdout}");
}
