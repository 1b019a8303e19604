//! The desktop app driven through egui_kittest by its accessible labels, rendered by the real
//! egui_wgpu pipeline (lavapipe) with our curve callback: loading, program switch, density
//! mode and NOK highlight, each checked on screen and against a stored snapshot
//! (`tests/snapshots/`, `UPDATE_SNAPSHOTS=1` accepts new ones).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use lyceum::app::LyceumApp;
use lyceum::source::demo::PlantConfig;

fn app() -> Harness<'static, LyceumApp> {
    let plant = PlantConfig {
        curves: 300,
        samples: 500,
        ..PlantConfig::default()
    };
    Harness::builder()
        .with_size(egui::vec2(900.0, 560.0))
        .wgpu()
        .build_eframe(move |creation| LyceumApp::new(creation, plant))
}

/// Step the app (in real time: the plant and decimation run on other threads) until `label`
/// shows and background work has settled.
fn step_until(harness: &mut Harness<'static, LyceumApp>, label: &str) {
    let started = Instant::now();
    while harness.query_by_label_contains(label).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "`{label}` never appeared"
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    // Decimation arrives from rayon a moment later and asks for a repaint.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(50));
        harness.step();
    }
}

/// Snapshots tolerate antialiasing noise, not a changed picture.
fn snapshot(harness: &mut Harness<'static, LyceumApp>, name: &str) {
    harness.snapshot_options(
        name,
        &SnapshotOptions::new().threshold(0.6).max_failed_pixels(200),
    );
}

#[test]
fn the_app_loads_the_demo_and_switches_views() {
    let mut harness = app();
    step_until(&mut harness, "screwdriving: ");
    // The title counts what is drawn: "screwdriving: N cycles, M NOK".
    assert!(harness.query_by_label_contains(" cycles, ").is_some());
    // The title and the "Highlight NOK" checkbox.
    assert_eq!(harness.query_all_by_label_contains(" NOK").count(), 2);
    snapshot(&mut harness, "app_screwdriving_lines");

    harness.get_by_label("Density").click();
    step_until(&mut harness, "screwdriving: ");
    snapshot(&mut harness, "app_screwdriving_density");

    harness.get_by_label("Lines").click();
    harness.get_by_label("Highlight NOK").click();
    step_until(&mut harness, "screwdriving: ");
    snapshot(&mut harness, "app_screwdriving_highlight");

    harness.get_by_label("press_fit").click();
    step_until(&mut harness, "press_fit: ");
    snapshot(&mut harness, "app_press_fit");
}
