//! `seed` then fetch: 10,000 demo curves round-trip exactly (counts, every sample, labels),
//! and sensor readings come back as the exact server-side M4 of what was generated.

use lyceum::curves::Sampling;
use lyceum::source::clickhouse::ddl;
use lyceum::source::clickhouse::{
    CurveQuery, CurveSelection, FetchOptions, FetchProgress, PixelView,
};
use lyceum::source::csv_file::parse_datetime_ms;
use lyceum::source::demo::{Plant, PlantConfig};

use crate::support::{ClickHouseServer, reference_m4};

#[tokio::test(flavor = "multi_thread")]
async fn seeded_demo_plant_round_trips_exactly() {
    let server = ClickHouseServer::start();
    let c = server.connect("demo").await;
    let plant = Plant::new(PlantConfig {
        curves: 10_000,
        samples: 2_000,
        sensors: 6,
        days: 0.25,
        ..PlantConfig::default()
    });
    let mut progress_calls = 0;
    let report = c
        .seed_demo_plant("demo", &plant, false, |_| progress_calls += 1)
        .await
        .unwrap();
    assert!(progress_calls > 3);

    let expected = plant.process_curves().unwrap();
    let series: Vec<_> = (0..plant.sensors.len())
        .map(|i| plant.sensor_series(i))
        .collect();
    let counts = [
        ("sensors", plant.sensors.len() as u64),
        (
            "sensor_readings",
            series.iter().map(|s| s.values.len() as u64).sum(),
        ),
        ("process_curves", 10_000),
        ("quality_measurements", 20_000),
        ("production_events", plant.production_events().len() as u64),
    ];
    for (table, rows) in counts {
        assert_eq!(c.count_rows("demo", table).await.unwrap(), rows, "{table}");
        assert_eq!(
            report
                .rows
                .iter()
                .find(|(t, _)| *t == table)
                .map(|(_, n)| *n),
            Some(rows),
            "{table}"
        );
    }
    // Seeding twice would duplicate everything: refused.
    let again = c
        .seed_demo_plant("demo", &plant, false, |_| {})
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("already holds 10000 rows"),
        "{again}"
    );

    // All 10,000 curves back into the store.
    let mapping = ddl::process_curves_mapping("demo");
    let validated = mapping
        .validate(&c.list_columns("demo", "process_curves").await.unwrap())
        .unwrap();
    let plan = CurveQuery::arrays(&validated, &CurveSelection::default()).unwrap();
    let (tx, rx) = tokio::sync::watch::channel(FetchProgress::default());
    let (partial_tx, partial_rx) = tokio::sync::watch::channel(None);
    let store = c
        .fetch_curves(
            &plan,
            FetchOptions {
                progress: Some(&tx),
                cancel: None,
                partial: Some(&partial_tx),
            },
        )
        .await
        .unwrap();
    assert_eq!(rx.borrow().rows, 10_000);
    // The curves complete so far came while the stream ran: the first ones, exactly.
    let partial = partial_rx
        .borrow()
        .clone()
        .expect("partial stores while streaming");
    assert!(
        (64..10_000).contains(&partial.len()),
        "{} curves",
        partial.len()
    );
    for id in [0, partial.len() as u32 - 1] {
        assert_eq!(partial.key(id), store.key(id));
        assert_eq!(partial.y(id), store.y(id));
    }
    assert!(rx.borrow().bytes > 10_000 * 2_000);
    assert_eq!(store.len(), expected.len());
    assert_eq!(store.point_count(), expected.point_count());
    let index = store.key_index();
    for want in 0..expected.len() as u32 {
        let got = index[expected.key(want)];
        assert_eq!(
            store.y(got),
            expected.y(want),
            "curve {}",
            expected.key(want)
        );
        assert_eq!(store.sampling(got), expected.sampling(want));
        for label in [
            "part_serial",
            "line",
            "station",
            "program",
            "result",
            "failure_mode",
        ] {
            assert_eq!(
                store.label(label, got),
                expected.label(label, want),
                "{label} of {}",
                expected.key(want)
            );
        }
        // The fallback schema keeps whole seconds.
        let sent_ms: i64 = expected.label("cycle_time", want).unwrap().parse().unwrap();
        let got_ms = parse_datetime_ms(store.label("cycle_time", got).unwrap()).unwrap();
        let precision_ms = if c.capabilities().datetime64 { 1 } else { 1000 };
        assert_eq!(got_ms, sent_ms.div_euclid(precision_ms) * precision_ms);
    }
    assert!(matches!(store.sampling(0), Sampling::Uniform { .. }));

    // Sensor readings: server-side M4 over the whole range equals the reference.
    let mapping = ddl::sensor_readings_mapping("demo");
    let validated = mapping
        .validate(&c.list_columns("demo", "sensor_readings").await.unwrap())
        .unwrap();
    let start = plant.config.start_epoch_secs as f64;
    let view = PixelView {
        x_start: start,
        x_end: start + plant.config.days * 86_400.0,
        width_px: 640,
    };
    let plan = CurveQuery::long_m4(&validated, &CurveSelection::default(), view).unwrap();
    let m4 = c
        .fetch_curves(&plan, FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(m4.len(), plant.sensors.len());
    let index = m4.key_index();
    for (spec, s) in plant.sensors.iter().zip(&series) {
        let id = index[spec.id.as_str()];
        let xs: Vec<f64> = s.ts_ms.iter().map(|&ms| (ms / 1000) as f64).collect();
        let reference = reference_m4(&xs, &s.values, view.x_start, view.x_end, view.width_px);
        let got_x = m4.x_explicit(id).unwrap();
        let got_y = m4.y(id);
        let mut at = 0;
        for (_, points) in reference {
            // Equal y values may tie for min or max; the first and last samples are exact, the
            // extremes are exact in value, and every point is a real sample of its column.
            let n = points.len();
            let got: Vec<(f64, f32)> = got_x[at..]
                .iter()
                .copied()
                .zip(got_y[at..].iter().copied())
                .take(n)
                .collect();
            assert_eq!(got.first(), points.first(), "{}", spec.id);
            assert_eq!(got.last(), points.last(), "{}", spec.id);
            let min = |p: &[(f64, f32)]| p.iter().map(|q| q.1).fold(f32::INFINITY, f32::min);
            let max = |p: &[(f64, f32)]| p.iter().map(|q| q.1).fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(
                (min(&got), max(&got)),
                (min(&points), max(&points)),
                "{}",
                spec.id
            );
            at += n;
        }
        assert_eq!(at, got_y.len(), "{}", spec.id);
    }
}

/// `lyceum render … clickhouse` draws what it fetched: the same picture as the demo plant
/// the server was seeded from, drawn straight from memory.
#[tokio::test(flavor = "multi_thread")]
async fn render_from_clickhouse_matches_the_seeded_demo_plant() {
    let server = ClickHouseServer::start();
    let c = server.connect("demo").await;
    let config = PlantConfig {
        curves: 400,
        samples: 600,
        sensors: 1,
        days: 0.01,
        ..PlantConfig::default()
    };
    c.seed_demo_plant("demo", &Plant::new(config), false, |_| {})
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let render = |out: &std::path::Path, source: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum"));
        command
            .args([
                "render",
                "--out",
                out.to_str().unwrap(),
                "--width",
                "480",
                "--height",
                "300",
            ])
            .args(["--title", "same", "--curves", "400", "--samples", "600"])
            .args(source)
            .env("RUST_BACKTRACE", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        // An empty password for `default`, so no keychain is asked.
        drop(child.stdin.take());
        let output = child.wait_with_output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("400 curves drawn"), "{stdout}");
        std::fs::read(out).unwrap()
    };
    let from_demo = render(&dir.path().join("demo.png"), &[]);
    let url = server.url();
    let from_server = render(
        &dir.path().join("server.png"),
        &[
            "clickhouse",
            "--url",
            &url,
            "--database",
            "demo",
            "--password-stdin",
        ],
    );
    assert!(
        from_demo == from_server,
        "the fetched curves draw a different picture"
    );
}

/// `dataset save` from ClickHouse, then everything offline with the server gone; then
/// `dataset export` puts the same curves back into a table.
#[tokio::test(flavor = "multi_thread")]
async fn dataset_saved_from_clickhouse_works_offline_and_exports_back() {
    let mut server = ClickHouseServer::start();
    let c = server.connect("demo").await;
    let plant = Plant::new(PlantConfig {
        curves: 300,
        samples: 500,
        sensors: 1,
        days: 0.01,
        ..PlantConfig::default()
    });
    c.seed_demo_plant("demo", &plant, false, |_| {})
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("shift");
    let target_arg = target.to_str().unwrap().to_owned();
    let url = server.url();
    let lyceum = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum"))
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        assert!(output.status.success(), "{args:?}\n{stdout}\n{stderr}");
        stdout
    };
    let saved = lyceum(&[
        "dataset",
        "save",
        "--url",
        &url,
        "--database",
        "demo",
        "--password-stdin",
        "--out",
        &target_arg,
    ]);
    let expected = plant.process_curves().unwrap();
    let points = expected.point_count();
    assert!(
        saved.contains(&format!("saved 300 curves, {points} points")),
        "{saved}"
    );

    // The network cable pulled: no server from here on.
    server.stop();
    let info = lyceum(&["dataset", "info", &target_arg]);
    assert!(
        info.contains("\"kind\":\"clickhouse\"") && info.contains("process_curves"),
        "{info}"
    );
    assert!(info.contains("SELECT"), "the query is recorded: {info}");
    assert!(!info.contains("password"), "{info}");
    assert!(lyceum(&["dataset", "verify", &target_arg]).contains("ok"));
    let png = dir.path().join("offline.png");
    let rendered = lyceum(&[
        "render",
        "--out",
        png.to_str().unwrap(),
        "--width",
        "400",
        "--height",
        "250",
        "dataset",
        &target_arg,
    ]);
    assert!(rendered.contains("300 curves drawn"), "{rendered}");
    let opened = lyceum::source::dataset::open(&target).unwrap();
    assert_eq!(opened.store.point_count(), points);
    for id in 0..expected.len() as u32 {
        let got = opened.store.find(expected.key(id)).unwrap();
        assert_eq!(opened.store.y(got), expected.y(id));
    }

    // Back into ClickHouse (a fresh server: the old one is gone).
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;
    let exported = lyceum(&[
        "dataset",
        "export",
        &target_arg,
        "--url",
        &server.url(),
        "--database",
        "default",
        "--password-stdin",
        "--table",
        "shift_curves",
    ]);
    assert!(
        exported.contains(&format!("exported 300 curves ({points} rows)")),
        "{exported}"
    );
    assert_eq!(
        c.count_rows("default", "shift_curves").await.unwrap(),
        points as u64
    );
    // Exporting into an existing table is refused rather than mixed in.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args([
            "dataset",
            "export",
            &target_arg,
            "--url",
            &server.url(),
            "--database",
            "default",
            "--password-stdin",
            "--table",
            "shift_curves",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
