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

#[path = "support/mod.rs"]
mod support;

fn app(data_dir: &std::path::Path) -> Harness<'static, LyceumApp> {
    app_from(data_dir, MemoryStorage::default())
}

/// Step the app (in real time: the plant and decimation run on other threads) until `label`
/// shows and background work has settled.
fn step_until(harness: &mut Harness<'static, LyceumApp>, label: &str) {
    let started = Instant::now();
    while harness.query_all_by_label_contains(label).next().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            // The screen as it was, for whoever reads the failure.
            let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("never-{}.png", label.replace(['/', ' '], "_")));
            if let Ok(image) = harness.render() {
                let _ = image.save(&shot);
            }
            panic!("`{label}` never appeared (screen: {})", shot.display());
        }
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    // Decimation arrives from rayon a moment later and asks for a repaint.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(50));
        harness.step();
    }
}

/// eframe's storage in memory, for a restart within a test.
#[derive(Default)]
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// eframe's key for egui's memory (what views keep with `insert_persisted`).
const EGUI_MEMORY_KEY: &str = "egui";

/// What eframe stores when the window closes: the app's state, and egui's memory.
fn saved_as_eframe_saves(harness: &mut Harness<'static, LyceumApp>) -> MemoryStorage {
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let memory = harness.ctx.memory(|m| m.clone());
    eframe::set_value(&mut storage, EGUI_MEMORY_KEY, &memory);
    storage
}

/// The app started from `storage`, as eframe starts it after a restart: egui's memory first
/// (where stored), then the app.
fn app_from(data_dir: &std::path::Path, storage: MemoryStorage) -> Harness<'static, LyceumApp> {
    let plant = PlantConfig {
        curves: 300,
        samples: 500,
        ..PlantConfig::default()
    };
    let data_dir = data_dir.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1200.0, 1000.0))
        .wgpu()
        .build_eframe(move |creation| {
            if let Some(memory) = eframe::get_value::<egui::Memory>(&storage, EGUI_MEMORY_KEY) {
                creation.egui_ctx.memory_mut(|m| *m = memory);
            }
            LyceumApp::from_storage(creation, plant, data_dir, Some(&storage))
        })
}

/// Bring the view titled `title` to the front (its tab takes the click a frame later).
fn show_tab(harness: &mut Harness<'static, LyceumApp>, title: &str) {
    harness.get_by_label(title).click();
    harness.run_steps(2);
}

/// Scroll the button labelled `label` into view and click it.
fn click_in_view(harness: &mut Harness<'static, LyceumApp>, label: &str) {
    harness.get_by_label(label).scroll_to_me();
    harness.run_steps(2);
    harness.get_by_label(label).click();
}

/// Click the leftmost node labelled `label` (the sources panel's, where a view shows the
/// same name).
fn click_leftmost(harness: &mut Harness<'static, LyceumApp>, label: &str) {
    harness
        .query_all_by_label(label)
        .min_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
        .unwrap_or_else(|| panic!("no `{label}`"))
        .click();
    harness.run_steps(2);
}

/// Whether the first "Browse…" button is disabled (its dialog open).
fn browse_disabled(harness: &Harness<'static, LyceumApp>) -> bool {
    let button = harness.query_all_by_label("Browse…").next().unwrap();
    egui_kittest::kittest::NodeT::accesskit_node(&button).is_disabled()
}

/// Replace the text of the field labelled `label` with `text`.
fn set_text(harness: &mut Harness<'static, LyceumApp>, label: &str, text: &str) {
    use egui::accesskit::Role;
    // A password field has a role of its own.
    let role = if harness
        .query_by_role_and_label(Role::TextInput, label)
        .is_some()
    {
        Role::TextInput
    } else {
        Role::PasswordInput
    };
    // Fields low in a scrolled panel are brought into view first.
    harness.get_by_role_and_label(role, label).scroll_to_me();
    harness.run_steps(2);
    harness.get_by_role_and_label(role, label).focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role_and_label(role, label).type_text(text);
    harness.step();
}

/// The app with a tested connection to `server`'s `database` in the Connections view.
fn connected_app(
    data_dir: &std::path::Path,
    server: &support::ClickHouseServer,
    database: &str,
) -> Harness<'static, LyceumApp> {
    let mut harness = app(data_dir);
    show_tab(&mut harness, "Connections");
    set_text(&mut harness, "Server URL", &server.url());
    set_text(&mut harness, "Database", database);
    harness.get_by_label("Add and test").click();
    step_until(&mut harness, "ClickHouse 18.");
    harness
}

/// A server holding a demo plant of `config` in database `plant`.
fn seeded_server(config: PlantConfig) -> support::ClickHouseServer {
    let server = support::ClickHouseServer::start();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let plant = lyceum::source::demo::Plant::new(config);
        server
            .connect("plant")
            .await
            .seed_demo_plant("plant", &plant, false, |_| {})
            .await
            .unwrap();
    });
    server
}

/// A server seeded with `config`, and the app exploring its `plant` database from the
/// sources panel once `table` is listed.
fn exploring_plant(
    config: PlantConfig,
    table: &str,
) -> (
    support::ClickHouseServer,
    tempfile::TempDir,
    Harness<'static, LyceumApp>,
) {
    let server = seeded_server(config);
    let data = tempfile::tempdir().unwrap();
    let mut harness = connected_app(data.path(), &server, "plant");
    click_leftmost(&mut harness, &server.url());
    step_until(&mut harness, table);
    (server, data, harness)
}

/// Explore the first tested connection and pick `table` (as the menu lists it).
fn explore_table(harness: &mut Harness<'static, LyceumApp>, table: &str) {
    harness
        .query_all_by_label("Explore")
        .next()
        .unwrap()
        .click();
    step_until(harness, "Table");
    harness.get_by_label("Table").click();
    step_until(harness, table);
    harness.get_by_label(table).click();
    step_until(harness, "mapping fits the table");
}

/// Step until two renders a moment apart are the same picture (decimation and layout come
/// in over several frames, later on a loaded machine).
fn settle(harness: &mut Harness<'static, LyceumApp>) {
    let mut last = None;
    for _ in 0..40 {
        harness.step();
        std::thread::sleep(Duration::from_millis(100));
        harness.step();
        let Ok(image) = harness.render() else {
            return;
        };
        let pixels = image.into_raw();
        if last.as_ref() == Some(&pixels) {
            return;
        }
        last = Some(pixels);
    }
}

/// A settled screen against its stored snapshot, the status bar (timings) masked.
fn snapshot(harness: &mut Harness<'static, LyceumApp>, name: &str) {
    snapshot_masked(harness, name, &[], &[]);
}

/// Snapshots tolerate antialiasing noise, not a changed picture.
fn compare(harness: &mut Harness<'static, LyceumApp>, name: &str) {
    harness.snapshot_options(
        name,
        &SnapshotOptions::new().threshold(0.6).max_failed_pixels(200),
    );
}

/// A snapshot with what differs between runs painted over: nodes whose label contains one of
/// `varying` (temp paths, times), the fields labelled `fields`, and the status bar (times).
/// A label starting with `row:` masks the whole width of the row it is on (what follows a
/// path of varying length moves).
fn snapshot_masked(
    harness: &mut Harness<'static, LyceumApp>,
    name: &str,
    varying: &[&str],
    fields: &[&str],
) {
    settle(harness);
    let full_width = |rect: egui::Rect| egui::Rect::from_x_y_ranges(0.0..=2_000.0, rect.y_range());
    let mut rects: Vec<egui::Rect> = varying
        .iter()
        .flat_map(|text| {
            let (row, text) = match text.strip_prefix("row:") {
                Some(text) => (true, text),
                None => (false, *text),
            };
            harness
                .query_all_by_label_contains(text)
                .map(|n| if row { full_width(n.rect()) } else { n.rect() })
                .collect::<Vec<_>>()
        })
        .collect();
    for field in fields {
        if let Some(node) = harness.query_by_role_and_label(egui::accesskit::Role::TextInput, field)
        {
            rects.push(node.rect());
        }
    }
    if let Some(status) = harness.query_by_label_contains("Curves drawn on the ") {
        rects.push(full_width(status.rect()));
    }
    for rect in rects {
        harness.mask(rect.expand(2.0));
    }
    compare(harness, name);
}

#[test]
fn the_app_loads_the_demo_and_switches_views() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app(data.path());
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

/// On a software adapter (lavapipe here) the app draws its curves on the CPU by itself, and
/// says so; the pictures are the GPU path's (the snapshots were made on it): lines, density.
#[test]
fn on_a_software_adapter_the_cpu_draws_the_curves_with_the_gpus_pixels() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app(data.path());
    step_until(&mut harness, "screwdriving: ");
    assert!(
        harness
            .query_by_label_contains("Curves drawn on the CPU (automatic on a software adapter)")
            .is_some()
    );
    // Every frame costs the CPU here: none are spent on animation.
    assert_eq!(harness.ctx.global_style().animation_time, 0.0);
    snapshot(&mut harness, "app_screwdriving_lines");
    harness.get_by_label("Density").click();
    step_until(&mut harness, "screwdriving: ");
    snapshot(&mut harness, "app_screwdriving_density");
    harness.get_by_label("Lines").click();
    harness.get_by_label("press_fit").click();
    step_until(&mut harness, "press_fit: ");
    snapshot(&mut harness, "app_press_fit");
}

/// View ▸ Curves drawn on: the GPU chosen in the menu draws the curves (the same snapshot),
/// is kept across a restart; the CPU and Automatic can be chosen again.
#[test]
fn the_curve_renderer_is_chosen_in_the_view_menu_and_kept() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app(data.path());
    step_until(&mut harness, "screwdriving: ");
    harness.get_by_label("View").click();
    harness.run_steps(3);
    harness.get_by_label("GPU").click();
    step_until(&mut harness, "Curves drawn on the GPU");
    assert!(
        harness
            .query_by_label_contains("Curves drawn on the CPU")
            .is_none()
    );
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    drop(harness);

    let mut harness = app_from(data.path(), storage);
    step_until(&mut harness, "Curves drawn on the GPU");
    snapshot(&mut harness, "app_screwdriving_lines");
    harness.get_by_label("View").click();
    harness.run_steps(2);
    harness.get_by_label("CPU").click();
    step_until(&mut harness, "Curves drawn on the CPU (chosen in View)");
    if harness.query_by_label("Automatic").is_none() {
        harness.get_by_label("View").click();
        harness.run_steps(2);
    }
    harness.get_by_label("Automatic").click();
    step_until(
        &mut harness,
        "Curves drawn on the CPU (automatic on a software adapter)",
    );
}

/// Two plots on one screen keep their own GPU buffers: each shows only its own curves.
#[test]
fn two_plots_on_one_screen_draw_their_own_curves() {
    use std::sync::Arc;

    use lyceum::render::gpu::CurveStyle;
    use lyceum::render::plot::{
        CurveRenderResources, Decimation, DecimationMode, PlotCurves, PlotLabels, curves_plot_ui,
    };
    use lyceum::source::demo::Plant;

    let render_state = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        egui_wgpu::RendererOptions::PREDICTABLE,
    );
    CurveRenderResources::install(
        &mut render_state.renderer.write(),
        &render_state.device,
        render_state.target_format,
    );
    let store = Arc::new(
        Plant::new(PlantConfig {
            curves: 100,
            samples: 400,
            ..PlantConfig::default()
        })
        .process_curves()
        .unwrap(),
    );
    let plot = |name: &str, rgba: [u8; 4]| {
        Arc::new(
            PlotCurves::new(
                egui::Id::unique(name),
                Arc::clone(&store),
                vec![CurveStyle::line(rgba); store.len()],
                DecimationMode::Inline,
                Decimation::M4,
            )
            .unwrap(),
        )
    };
    let (red, green) = (
        plot("red", [255, 0, 0, 255]),
        plot("green", [0, 255, 0, 255]),
    );
    let labels = PlotLabels::default();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(800.0, 300.0))
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(
            render_state,
        ))
        .build_ui(move |ui| {
            ui.columns(2, |columns| {
                curves_plot_ui(&mut columns[0], &red, &labels);
                curves_plot_ui(&mut columns[1], &green, &labels);
            });
        });
    harness.run_steps(3);
    let image = harness.render().unwrap();
    let (mut red_px, mut green_px) = ([0, 0], [0, 0]);
    for (x, _, pixel) in image.enumerate_pixels() {
        let half = usize::from(x >= image.width() / 2);
        match pixel.0 {
            [255, 0, 0, 255] => red_px[half] += 1,
            [0, 255, 0, 255] => green_px[half] += 1,
            _ => {}
        }
    }
    assert!(
        red_px[0] > 1_000 && green_px[1] > 1_000,
        "red {red_px:?}, green {green_px:?}"
    );
    assert_eq!(
        (red_px[1], green_px[0]),
        (0, 0),
        "a plot drew the other's curves"
    );
}

/// The wizard with the Kubernetes provider: regions priced, the manifest at the end (preview,
/// save to a file that is never overwritten), the cluster listed as stopped and owned by us.
#[test]
fn the_wizard_ends_a_kubernetes_cluster_with_its_manifest() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app(data.path());
    show_tab(&mut harness, "Clusters");
    step_until(&mut harness, "embedded (this computer");
    step_until(&mut harness, "No clusters yet.");
    harness.get_by_label("New cluster…").click();
    harness.run_steps(2);
    set_text(&mut harness, "Name", "plant-b");
    harness.get_by_label("Kubernetes manifest").click();
    wizard_to_review(&mut harness);
    assert!(
        harness.query_all_by_label_contains(" EUR").next().is_some(),
        "priced for eu-central"
    );
    harness.get_by_label("Deploy").click();
    step_until(&mut harness, "Kubernetes manifest (apply it with kubectl)");
    let path = data.path().join("plant-b.yaml");
    set_text(&mut harness, "Save to", &path.display().to_string());
    harness.get_by_label("Save").click();
    step_until(&mut harness, "manifest saved to");
    let manifest = std::fs::read_to_string(&path).unwrap();
    assert!(manifest.contains("ClickHouseInstallation"), "{manifest}");
    // Saving again leaves the file alone.
    harness.get_by_label("Save").click();
    step_until(&mut harness, "not saved:");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), manifest);
    harness.get_by_label("Done").click();
    step_until(&mut harness, "your role: owner");
    harness.get_by_label("All clusters").click();
    step_until(&mut harness, "Open plant-b");
    assert!(harness.query_all_by_label("stopped").next().is_some());
    assert!(harness.query_all_by_label("owner").next().is_some());
    assert!(data.path().join("control.db").exists());
    snapshot_masked(&mut harness, "app_clusters", &["row:embedded ("], &[]);
    // An API token: created with its scope and lifetime, shown once, listed, revoked.
    harness.get_by_label("API tokens").click();
    step_until(&mut harness, "New API token");
    set_text(&mut harness, "Token name", "nightly report");
    harness.get_by_label("Create token").click();
    step_until(&mut harness, "Token `nightly report` — shown this once");
    assert!(harness.query_all_by_label_contains("lyt_").next().is_some());
    step_until(&mut harness, "Revoke nightly report");
    snapshot_masked(
        &mut harness,
        "app_tokens",
        &["row:embedded", "row:lyt_", "row:nightly report"],
        &[],
    );
    harness.get_by_label("Revoke nightly report").click();
    step_until(&mut harness, "revoked");
    harness.get_by_label("Sign in…").click();
    step_until(&mut harness, "Sign in to a remote control plane");
    snapshot_masked(&mut harness, "app_sign_in", &["row:embedded ("], &[]);
}

/// A dataset of foreign curves opens in the Datasets view with no network, drawn as itself
/// (titled after it, coloured by its class label); a damaged one is an error naming the file,
/// and the app keeps working.
#[test]
fn the_datasets_view_opens_a_dataset_offline_and_names_a_damaged_file() {
    use lyceum::source::dataset::{self, LongColumns};

    let data = tempfile::tempdir().unwrap();
    let good = data.path().join("ragged");
    let ragged = save_ragged_dataset(&good);
    let damaged = data.path().join("damaged");
    save_ragged_dataset(&damaged);
    let curves_file = damaged.join(dataset::CURVES_FILE);
    let bytes = std::fs::read(&curves_file).unwrap();
    std::fs::write(&curves_file, &bytes[..bytes.len() / 2]).unwrap();

    let mut harness = app(data.path());
    show_tab(&mut harness, "Datasets");
    // The native folder dialog: with no desktop portal here it cannot show; the answer is
    // "nothing chosen", the button comes back and the typed path still works.
    harness
        .query_all_by_label("Browse…")
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    let started = Instant::now();
    while browse_disabled(&harness) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the dialog never answered"
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    // Said in the window, not only in the log.
    assert!(
        harness
            .query_by_label_contains("No file dialog here")
            .is_some()
    );
    let open = |harness: &mut Harness<'static, LyceumApp>, dir: &std::path::Path| {
        set_text(harness, "Dataset folder", dir.to_str().unwrap());
        harness.get_by_label("Open dataset").click();
    };
    open(&mut harness, &good);
    step_until(&mut harness, "ragged: 300 curves");
    assert!(
        harness.query_by_label_contains("class_10 (27)").is_some(),
        "a legend by class"
    );
    // The status bar tells the plot in front (drawn on the CPU, lavapipe here): the
    // dataset's drawing here, the demo's (150 curves shown) on its tab, and back here the
    // dataset's again, though the demo's is the later and this picture is not drawn again.
    let (dataset_told, demo_told) = ("drawn 300 curves: ", "drawn 150 curves: ");
    step_until(&mut harness, dataset_told);
    show_tab(&mut harness, "Curves");
    step_until(&mut harness, demo_told);
    assert!(harness.query_by_label_contains(dataset_told).is_none());
    show_tab(&mut harness, "Datasets");
    step_until(&mut harness, dataset_told);
    assert!(harness.query_by_label_contains(demo_told).is_none());

    // Hovering the dense middle of the plot reads out the nearest curve.
    harness.hover_at(plot_centre(&harness, "ragged"));
    for _ in 0..3 {
        harness.step();
    }
    assert!(
        harness.query_by_label_contains("sample_index = ").is_some(),
        "a hover readout with the x axis' name"
    );
    assert!(harness.query_by_label_contains("label: class_").is_some());

    // The library lists it with what its manifest says.
    assert!(
        harness.query_by_label_contains("300 curves · ").is_some(),
        "a library line"
    );
    snapshot_masked(
        &mut harness,
        "app_datasets",
        &["saved 20"],
        &["Dataset folder"],
    );

    // The curve under the pointer, selected and exported alone to CSV.
    let centre = plot_centre(&harness, "ragged");
    pointer_button(&harness, centre, true, egui::Modifiers::NONE);
    pointer_button(&harness, centre, false, egui::Modifiers::NONE);
    harness.run_steps(3);
    assert_eq!(count(&harness, "Selected"), 1);
    let csv_out = data.path().join("picked.csv");
    set_text(&mut harness, "Export curves to", csv_out.to_str().unwrap());
    click_in_view(&mut harness, "Export curves");
    step_until(&mut harness, "exported 1 curves");
    let text = std::fs::read_to_string(&csv_out).unwrap();
    let picked = dataset::import_file(&csv_out, &LongColumns::default())
        .unwrap()
        .store;
    assert_eq!(picked.len(), 1, "{text}");
    let original = ragged.find(picked.key(0)).unwrap();
    assert_eq!(picked.y(0), ragged.y(original));
    // Exporting again to the same file asks first; keeping it changes nothing.
    click_in_view(&mut harness, "Export curves");
    step_until(&mut harness, "exists.");
    click_in_view(&mut harness, "Keep it");
    step_until(&mut harness, "nothing exported");
    assert_eq!(std::fs::read_to_string(&csv_out).unwrap(), text);

    // The view as a PNG, drawn by the library's export on a worker thread.
    let png_path = data.path().join("ragged.png");
    set_text(&mut harness, "Export PNG to", png_path.to_str().unwrap());
    click_in_view(&mut harness, "Export PNG");
    step_until(&mut harness, "exported /");
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (1600, 900));

    open(&mut harness, &damaged);
    step_until(&mut harness, "Cannot open the dataset");
    // The message names the damaged file.
    assert!(
        harness
            .query_by_label_contains("damaged/curves.arrow")
            .is_some()
    );
    // What was shown stays, and the app answers.
    assert!(
        harness
            .query_by_label_contains("ragged: 300 curves")
            .is_some()
    );

    // Deleting from the library asks first, then removes the dataset's folder only.
    harness.get_by_label("Delete…").click();
    harness.run_steps(2);
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);
    assert!(good.exists());
    harness.get_by_label("Delete…").click();
    harness.run_steps(2);
    harness.get_by_label("Delete").click();
    step_until(&mut harness, "deleted ");
    assert!(!good.exists());
    assert!(csv_out.exists() && damaged.exists(), "nothing else goes");
    show_tab(&mut harness, "Curves");
    step_until(&mut harness, "screwdriving: ");
}

/// Where the plot of the source called `name` draws data point `(x, y)`, as its last frame
/// placed it (egui_plot's memory of the plot).
fn plot_pos(harness: &Harness<'static, LyceumApp>, name: &str, x: f64, y: f64) -> egui::Pos2 {
    egui_plot::PlotMemory::load(&harness.ctx, egui::Id::unique(("plot", name)))
        .expect("the plot was drawn")
        .transform()
        .position_from_point(&egui_plot::PlotPoint::new(x, y))
}

/// The frame of the plot of the source called `name`, as its last frame placed it.
fn plot_frame(harness: &Harness<'static, LyceumApp>, name: &str) -> egui::Rect {
    *egui_plot::PlotMemory::load(&harness.ctx, egui::Id::unique(("plot", name)))
        .expect("the plot was drawn")
        .transform()
        .frame()
}

/// The middle of the plot of the source called `name`.
fn plot_centre(harness: &Harness<'static, LyceumApp>, name: &str) -> egui::Pos2 {
    plot_frame(harness, name).center()
}

/// Pixels in the colour of selected curves within the plot of the source called `name`.
fn amber_pixels_in_plot(harness: &mut Harness<'static, LyceumApp>, name: &str) -> usize {
    pixels_in_plot(harness, name, |[r, g, b]| {
        r > 230 && (150..=220).contains(&g) && b < 60
    })
}

/// Pixels within the plot of the source called `name` whose colour passes `is_wanted`.
fn pixels_in_plot(
    harness: &mut Harness<'static, LyceumApp>,
    name: &str,
    is_wanted: impl Fn([u8; 3]) -> bool,
) -> usize {
    let frame = plot_frame(harness, name);
    let image = harness.render().unwrap();
    image
        .enumerate_pixels()
        .filter(|(x, y, pixel)| {
            let [r, g, b, _] = pixel.0;
            frame.contains(egui::pos2(*x as f32, *y as f32)) && is_wanted([r, g, b])
        })
        .count()
}

/// The number in a details line such as "Shown: 120".
fn count(harness: &Harness<'static, LyceumApp>, name: &str) -> usize {
    use egui_kittest::kittest::NodeT;
    let pattern = format!("{name}: ");
    let node = harness.get_by_label_contains(&pattern);
    let text = node.accesskit_node().value().unwrap_or_default();
    text.rsplit(": ")
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap()
}

/// A double-click at `pos`, and the frames after it.
fn double_click(harness: &mut Harness<'static, LyceumApp>, pos: egui::Pos2) {
    // The harness's frames are a quarter of a second apart: egui's 0.3 s between the clicks
    // would never pass.
    harness
        .ctx
        .options_mut(|options| options.input_options.max_double_click_delay = 1.0);
    // More than that after any earlier click, which would make it a triple-click.
    harness.run_steps(5);
    for _ in 0..2 {
        pointer_button(harness, pos, true, egui::Modifiers::NONE);
        pointer_button(harness, pos, false, egui::Modifiers::NONE);
        harness.run_steps(1);
    }
    harness.run_steps(2);
}

/// A wheel step of `points` (up: zoom in) at the pointer.
fn wheel(harness: &Harness<'static, LyceumApp>, points: f32) {
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, points),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    });
}

fn pointer_button(
    harness: &Harness<'static, LyceumApp>,
    pos: egui::Pos2,
    pressed: bool,
    modifiers: egui::Modifiers,
) {
    harness.event(egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers,
    });
}

/// Exploring the demo plant: hover lifts and reads out a curve, a click selects it, a
/// shift-drag box adds every curve through it, hide / isolate / show all act on the
/// selection, the legend switches a category off, colouring by another label changes the
/// legend, and the wheel zooms the picture.
#[test]
fn curves_are_picked_hidden_isolated_and_coloured_in_the_plot() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app(data.path());
    step_until(&mut harness, "screwdriving: ");
    let total = count(&harness, "Shown");
    assert!(total > 100, "{total}");
    let centre = plot_centre(&harness, "screwdriving");

    // Hover, then click: one curve selected.
    // The band every screwdriving curve starts in: low torque before the thread engages.
    let on_band = plot_pos(&harness, "screwdriving", 300.0, 0.5);
    settle(&mut harness);
    lyceum::render::plot::clear_latest_decimation(&harness.ctx);
    harness.hover_at(on_band);
    harness.run_steps(3);
    assert!(
        harness.query_by_label_contains("part_serial: ").is_some(),
        "a readout"
    );
    // The hovered curve is drawn over the picture: no new picture of every curve for it.
    settle(&mut harness);
    assert_eq!(
        lyceum::render::plot::latest_decimation(&harness.ctx),
        None,
        "hovering drew a new picture"
    );
    let frame = plot_frame(&harness, "screwdriving");
    pointer_button(&harness, on_band, true, egui::Modifiers::NONE);
    pointer_button(&harness, on_band, false, egui::Modifiers::NONE);
    harness.run_steps(3);
    assert_eq!(count(&harness, "Selected"), 1);
    // The details panel beside the plot keeps its width: the plot stays under the pointer.
    assert_eq!(plot_frame(&harness, "screwdriving"), frame);
    // It stands out from thousands of curves of its own colour: amber, across the plot.
    harness.hover_at(egui::pos2(5.0, 5.0));
    settle(&mut harness);
    let amber = amber_pixels_in_plot(&mut harness, "screwdriving");
    assert!(amber > 300, "{amber} amber pixels in the plot");
    // Coloured, then unselected (Esc): the curve keeps its colour on top of the others.
    click_in_view(&mut harness, "Colour selection");
    harness.hover_at(centre);
    harness.key_press(egui::Key::Escape);
    harness.hover_at(egui::pos2(5.0, 5.0));
    settle(&mut harness);
    assert_eq!(count(&harness, "Selected"), 0);
    // The default pick, rgb(20, 170, 120).
    let green = pixels_in_plot(&mut harness, "screwdriving", |[r, g, b]| {
        r < 60 && (140..=200).contains(&g) && (90..=150).contains(&b)
    });
    assert!(
        green > 300,
        "{green} pixels of the coloured curve in the plot"
    );
    // The colour is the user's work: after a restart the same curve has it.
    let storage = saved_as_eframe_saves(&mut harness);
    let mut restarted = app_from(data.path(), storage);
    step_until(&mut restarted, "screwdriving: ");
    restarted.hover_at(egui::pos2(5.0, 5.0));
    settle(&mut restarted);
    let green_after = pixels_in_plot(&mut restarted, "screwdriving", |[r, g, b]| {
        r < 60 && (140..=200).contains(&g) && (90..=150).contains(&b)
    });
    assert!(
        green_after > 300,
        "{green_after} pixels of the coloured curve after a restart"
    );
    drop(restarted);
    click_in_view(&mut harness, "Reset colours");
    harness.run_steps(2);
    pointer_button(&harness, on_band, true, egui::Modifiers::NONE);
    pointer_button(&harness, on_band, false, egui::Modifiers::NONE);
    harness.run_steps(3);
    assert_eq!(count(&harness, "Selected"), 1);

    // Shift-drag a small box on the rising flank: some of the curves, not all.
    let (from, to) = (
        plot_pos(&harness, "screwdriving", 555.0, 9.0),
        plot_pos(&harness, "screwdriving", 575.0, 8.0),
    );
    harness.hover_at(from);
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::SHIFT));
    harness.step();
    pointer_button(&harness, from, true, egui::Modifiers::SHIFT);
    harness.step();
    for i in 1..=6 {
        harness.event(egui::Event::PointerMoved(
            from + (to - from) * (i as f32 / 6.0),
        ));
        harness.step();
    }
    pointer_button(&harness, to, false, egui::Modifiers::SHIFT);
    harness.step();
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
    harness.run_steps(3);
    let selected = count(&harness, "Selected");
    assert!(selected > 3 && selected < total, "{selected} of {total}");

    click_in_view(&mut harness, "Hide");
    harness.run_steps(2);
    assert_eq!(count(&harness, "Shown"), total - selected);
    assert_eq!(count(&harness, "Hidden by you"), selected);
    click_in_view(&mut harness, "Isolate");
    harness.run_steps(2);
    assert_eq!(count(&harness, "Shown"), selected);
    // The other program's curves were never shown: not hidden by the user.
    assert!(count(&harness, "Loaded") > total);
    assert_eq!(count(&harness, "Hidden by you"), total - selected);
    // The axes stay still; a double-click fits the default view to the curves shown, and
    // with every curve shown again, to all of them.
    let all_curves = plot_bounds(&harness, "screwdriving");
    double_click(&mut harness, centre);
    let isolated = plot_bounds(&harness, "screwdriving");
    assert!(
        isolated != all_curves && isolated[3] <= all_curves[3],
        "{isolated:?} within {all_curves:?}"
    );
    click_in_view(&mut harness, "Show all");
    harness.run_steps(2);
    assert_eq!(count(&harness, "Shown"), total);
    assert_eq!(plot_bounds(&harness, "screwdriving"), isolated);
    double_click(&mut harness, centre);
    assert_eq!(plot_bounds(&harness, "screwdriving"), all_curves);

    // The legend's NOK entry switched off hides the NOK curves.
    let nok = count(&harness, "NOK");
    assert!(nok > 0);
    harness
        .get_by_label_contains(&format!("NOK ({nok})"))
        .click();
    harness.run_steps(3);
    assert_eq!(count(&harness, "Shown"), total - nok);
    harness
        .get_by_label_contains(&format!("NOK ({nok})"))
        .click();
    harness.run_steps(3);
    assert_eq!(count(&harness, "Shown"), total);

    // A limit typed in shows as a named line in the legend.
    set_text(&mut harness, "Limit name", "upper spec");
    set_text(&mut harness, "Limit y", "10,5");
    click_in_view(&mut harness, "Add limit");
    harness.run_steps(3);
    assert!(harness.query_by_label("upper spec: 10.5").is_some());
    assert!(
        harness
            .query_by_role_and_label(egui::accesskit::Role::CheckBox, "upper spec")
            .is_some(),
        "the limit in the legend"
    );

    // Two cursors, placed with A and B over the plot, read out their distance.
    harness.hover_at(plot_pos(&harness, "screwdriving", 100.0, 0.5));
    harness.run_steps(2);
    harness.key_press(egui::Key::A);
    harness.run_steps(2);
    harness.hover_at(plot_pos(&harness, "screwdriving", 300.0, 2.5));
    harness.run_steps(2);
    harness.key_press(egui::Key::B);
    harness.run_steps(2);
    let readout = {
        use egui_kittest::kittest::NodeT;
        let node = harness.get_by_label_contains("Δx = ");
        node.accesskit_node().value().unwrap()
    };
    let numbers: Vec<f64> = readout
        .split(['=', ','])
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{readout}");
    assert!(
        (numbers[0] - 200.0).abs() < 1.0 && (numbers[1] - 2.0).abs() < 0.05,
        "{readout}"
    );
    // Across the shown curves at A: every one of them, around the run-down torque there;
    // from A to B, curve by curve.
    let across = {
        use egui_kittest::kittest::NodeT;
        let node = harness.get_by_label_contains("y at A, ");
        node.accesskit_node().value().unwrap()
    };
    assert!(across.starts_with("y at A, 150 curves: "), "{across}");
    let mean: f64 = across["y at A, 150 curves: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.1..1.0).contains(&mean), "{across}");
    assert!(
        harness
            .query_all_by_label_contains("Δy from A to B, 150 curves: ")
            .next()
            .is_some()
    );

    // Colour by line: the legend lists the lines.
    assert!(harness.query_by_label_contains("L1 (").is_none());
    harness.get_by_label("Colour by").click();
    harness.run_steps(2);
    harness.get_by_label("line").click();
    harness.run_steps(3);
    assert!(
        harness.query_by_label_contains("L1 (").is_some(),
        "a legend by line"
    );

    // Each source's view is remembered: away to another program and back, the colouring
    // and the limit return.
    harness.get_by_label("press_fit").click();
    step_until(&mut harness, "press_fit: ");
    assert!(harness.query_by_label_contains("L1 (").is_none());
    harness.get_by_label("screwdriving").click();
    step_until(&mut harness, "screwdriving: ");
    assert!(
        harness.query_by_label_contains("L1 (").is_some(),
        "the colouring remembered"
    );
    assert!(
        harness.query_by_label("upper spec: 10.5").is_some(),
        "the limit remembered"
    );

    click_in_view(&mut harness, "Clear selection");
    step_until(&mut harness, "Selected: 0");
    let home = plot_bounds(&harness, "screwdriving");

    // A double-click on a curve puts the view back and picks nothing (its first click
    // selected the curve). The band zoomed into stays under the pointer.
    let on_band = plot_pos(&harness, "screwdriving", 300.0, 0.5);
    harness.hover_at(on_band);
    wheel(&harness, 120.0);
    harness.run_steps(3);
    assert_ne!(plot_bounds(&harness, "screwdriving"), home);
    assert!(
        harness.query_by_label_contains("part_serial: ").is_some(),
        "a curve under the pointer"
    );
    double_click(&mut harness, on_band);
    assert_eq!(plot_bounds(&harness, "screwdriving"), home);
    assert_eq!(count(&harness, "Selected"), 0);

    // The wheel over the plot zooms: the picture changes.
    settle(&mut harness);
    let before = harness.render().unwrap();
    harness.hover_at(centre);
    wheel(&harness, 120.0);
    step_until(&mut harness, "Selected: 0");
    let after = harness.render().unwrap();
    let changed = before
        .pixels()
        .zip(after.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert!(changed > 5_000, "{changed} pixels changed");
}

/// The data bounds the plot of the source called `name` showed in its last frame.
fn plot_bounds(harness: &Harness<'static, LyceumApp>, name: &str) -> [f64; 4] {
    let bounds = *egui_plot::PlotMemory::load(&harness.ctx, egui::Id::unique(("plot", name)))
        .expect("the plot was drawn")
        .transform()
        .bounds();
    [bounds.min(), bounds.max()].concat().try_into().unwrap()
}

/// Closing and reopening the app keeps the layout (the view in front), the theme, the
/// connections (no password) and the recent datasets; F1 lists the shortcuts.
#[test]
fn layout_theme_connections_and_recent_datasets_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let saved = data.path().join("ragged-for-later");
    save_ragged_dataset(&saved);

    let mut harness = app(data.path());
    harness.key_press(egui::Key::F1);
    harness.run_steps(2);
    assert!(
        harness.query_by_label("zoom at the pointer").is_some(),
        "the help window"
    );
    harness.key_press(egui::Key::F1);
    show_tab(&mut harness, "Connections");
    // Nothing listens there: the connection fails, and is kept all the same.
    set_text(&mut harness, "Server URL", "http://127.0.0.1:9");
    harness.get_by_label("Add and test").click();
    step_until(&mut harness, "cannot connect");
    show_tab(&mut harness, "Datasets");
    set_text(&mut harness, "Dataset folder", saved.to_str().unwrap());
    harness.get_by_label("Open dataset").click();
    step_until(&mut harness, "ragged: 300 curves");
    let dark = harness.ctx.theme();
    harness.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::T,
    );
    harness.run_steps(2);
    assert_ne!(harness.ctx.theme(), dark);

    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let stored = storage.0.values().cloned().collect::<Vec<_>>().join("\n");
    assert!(!stored.to_lowercase().contains("password\":"), "{stored}");
    drop(harness);

    let mut harness = app_from(data.path(), storage);
    harness.run_steps(3);
    assert_ne!(harness.ctx.theme(), dark, "the theme");
    // The Datasets view is in front, the recent dataset and the connection are listed.
    assert!(
        harness.query_by_label("Dataset folder").is_some(),
        "the layout"
    );
    let recent = || (egui::accesskit::Role::Button, "ragged-for-later");
    assert!(
        harness
            .query_by_role_and_label(recent().0, recent().1)
            .is_some(),
        "recent datasets"
    );
    assert!(
        harness.query_by_label("http://127.0.0.1:9").is_some(),
        "connections"
    );
    // One click on the recent dataset opens it again.
    harness
        .get_by_role_and_label(recent().0, recent().1)
        .click();
    step_until(&mut harness, "ragged: 300 curves");
}

/// `tests/data/odd-curves/ragged_crlf.csv` saved as the dataset "ragged" in `dir`; its curves.
fn save_ragged_dataset(dir: &std::path::Path) -> lyceum::curves::CurveStore {
    use lyceum::source::dataset::{self, LongColumns, SaveOptions, SavedView, Source};

    let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/odd-curves/ragged_crlf.csv");
    let imported = dataset::import_file(&csv, &LongColumns::default()).unwrap();
    let options = SaveOptions {
        name: "ragged".into(),
        source: Source::File {
            path: csv.display().to_string(),
            format: "csv".into(),
        },
        view: SavedView::default(),
        replace: false,
    };
    dataset::save(&imported.store, dir, &options).unwrap();
    imported.store
}

/// The app on a small demo plant in a window of `size`, and its data folder.
fn small_app(size: egui::Vec2) -> (tempfile::TempDir, Harness<'static, LyceumApp>) {
    let data = tempfile::tempdir().unwrap();
    let plant = PlantConfig {
        curves: 20,
        samples: 50,
        ..PlantConfig::default()
    };
    let data_dir = data.path().to_owned();
    let harness = Harness::builder()
        .with_size(size)
        .wgpu()
        .build_eframe(move |creation| LyceumApp::from_storage(creation, plant, data_dir, None));
    (data, harness)
}

/// In a narrow window the status bar keeps to it: the parts that do not fit are left out (a
/// trial saw the timings run past the window's edge).
#[test]
fn a_narrow_windows_status_bar_stays_inside_it() {
    use egui_kittest::kittest::NodeT;
    let width = 420.0;
    let (_data, mut harness) = small_app(egui::vec2(width, 700.0));
    step_until(&mut harness, "No server");
    harness.run_steps(5);
    let server = harness.get_by_label_contains("No server").rect();
    let mut parts = 0;
    for node in harness.query_all(egui_kittest::kittest::by().predicate(|node| {
        node.role() == egui::accesskit::Role::Label
            && node
                .bounding_box()
                .is_some_and(|b| (b.y0 - f64::from(server.top())).abs() < 2.0)
    })) {
        parts += 1;
        assert!(
            node.rect().right() <= width + 0.5,
            "{:?} ends at {} in a {width} px window",
            node.accesskit_node().label(),
            node.rect().right()
        );
    }
    assert!(parts >= 1, "the status bar's parts were found");
}

/// In a short window with a full library (ten recent datasets), the Datasets view's controls
/// scroll and the plot keeps most of the height (it was squeezed to a sliver).
#[test]
fn a_short_window_keeps_the_dataset_plot_tall() {
    let size = egui::vec2(1100.0, 560.0);
    let (data, mut harness) = small_app(size);
    show_tab(&mut harness, "Datasets");
    for k in 0..10 {
        let dir = data.path().join(format!("ragged-{k}"));
        save_ragged_dataset(&dir);
        set_text(&mut harness, "Dataset folder", dir.to_str().unwrap());
        harness.get_by_label("Open dataset").click();
        step_until(&mut harness, &format!("ragged-{k}"));
    }
    step_until(&mut harness, "ragged: 300 curves");
    let frame = plot_frame(&harness, "ragged").height();
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("short-window.png");
    if let Ok(image) = harness.render() {
        let _ = image.save(&shot);
    }
    assert!(
        frame > size.y / 3.0,
        "the plot is {frame} points tall in a {} point window",
        size.y
    );
}

/// A file dropped on the window, for egui's input.
#[derive(Debug)]
struct DroppedPath(std::path::PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn drop_file(harness: &mut Harness<'static, LyceumApp>, path: &std::path::Path) {
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(DroppedPath(path.to_owned())));
    harness.run_steps(2);
}

/// A sensor glitch (one value of 1e12 among a thousand) flattens the default view: the
/// toolbar offers to fit y to most values, and the plot then spans the curves' own range
/// (double-click brings every value back).
#[test]
fn a_far_value_does_not_leave_the_curves_flat() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app(data.path());
    step_until(&mut harness, "screwdriving: ");
    assert!(
        harness.query_by_label("Fit y to most values").is_none(),
        "the demo has no far values"
    );
    let csv = data.path().join("glitch.csv");
    let mut text = "series,x,value\n".to_owned();
    for s in 0..3 {
        for i in 0..400 {
            let v = if s == 1 && i == 200 {
                1e12
            } else {
                (f64::from(i) * 0.05).sin() + f64::from(s)
            };
            text.push_str(&format!("c{s},{i},{v}\n"));
        }
    }
    std::fs::write(&csv, text).unwrap();
    drop_file(&mut harness, &csv);
    step_until(&mut harness, "glitch.csv (csv): 3 curves");
    harness.get_by_label("Open imported curves").click();
    step_until(&mut harness, "glitch: imported");
    let y_span = |harness: &Harness<'static, LyceumApp>| {
        let bounds =
            *egui_plot::PlotMemory::load(&harness.ctx, egui::Id::unique(("plot", "glitch")))
                .expect("the plot was drawn")
                .transform()
                .bounds();
        bounds.max()[1] - bounds.min()[1]
    };
    assert!(
        y_span(&harness) > 1e12,
        "the default view holds every value"
    );
    harness.get_by_label("Fit y to most values").click();
    harness.run_steps(3);
    // The curves run from -1 to 3: that, with a margin.
    let span = y_span(&harness);
    assert!((4.0..5.0).contains(&span), "{span}");
    // Stacked, the glitch's own plot is the flat one: the toolbar offers the fit there too.
    harness.get_by_label("Stack").click();
    harness.run_steps(4);
    assert!(
        harness.query_by_label("Fit y to most values").is_some(),
        "no fit offered for the stacked plots"
    );
}

/// Another tool's file dropped on the window: previewed with what the import found, opened
/// as curves, saved as a dataset that the library then lists; a malformed file says where.
#[test]
fn a_dropped_file_is_previewed_opened_and_saved() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app(data.path());
    step_until(&mut harness, "screwdriving: ");
    let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/odd-curves/ragged_crlf.csv");
    drop_file(&mut harness, &csv);
    step_until(&mut harness, "ragged_crlf.csv (csv): 300 curves");
    assert!(harness.query_by_label_contains("labels: label").is_some());
    harness.get_by_label("Open imported curves").click();
    step_until(&mut harness, "ragged_crlf: 300 curves");
    assert!(
        harness
            .query_by_label_contains("imported, not saved")
            .is_some()
    );
    let saved = data.path().join("from-drop");
    set_text(
        &mut harness,
        "Save imported curves to",
        saved.to_str().unwrap(),
    );
    harness.get_by_label("Save as dataset").click();
    step_until(&mut harness, "saved 300 curves to");
    assert_eq!(dataset_curves(&saved), 300);
    // The view shown is no longer called unsaved.
    assert!(
        harness
            .query_by_label_contains("imported, not saved")
            .is_none()
    );
    assert!(
        harness
            .query_by_label_contains("ragged_crlf: imported, saved 300 curves to")
            .is_some()
    );

    // Broken CSV: the error names the line, and what was shown stays.
    let broken = data.path().join("broken.csv");
    std::fs::write(&broken, "series,x,value\na,0,1\na,1,2\nb,zero,3\n").unwrap();
    drop_file(&mut harness, &broken);
    step_until(&mut harness, "Cannot import: ");
    let error = {
        use egui_kittest::kittest::NodeT;
        let node = harness.get_by_label_contains("Cannot import: ");
        node.accesskit_node().value().unwrap()
    };
    assert!(error.contains("line 4"), "{error}");
    assert!(
        harness
            .query_by_label_contains("ragged_crlf: 300 curves")
            .is_some()
    );
    // The previous file's preview is gone with it: nothing offers to open, save or import
    // ragged_crlf.csv while the field names broken.csv.
    assert!(
        harness
            .query_by_label_contains("ragged_crlf.csv (csv)")
            .is_none()
    );
    assert!(harness.query_by_label("Open imported curves").is_none());
}

fn dataset_curves(dir: &std::path::Path) -> usize {
    lyceum::source::dataset::open(dir).unwrap().store.len()
}

/// A connection to a real server shows its version and what Lyceum will use; a wrong password
/// shows the server's refusal, and the app keeps working.
#[test]
fn the_connections_view_tests_a_real_server_and_shows_a_refused_password() {
    let mut server = support::ClickHouseServer::start();
    // A table the app has never seen: ragged curves imported as a long table.
    let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/odd-curves/ragged_crlf.csv");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let options = lyceum::source::clickhouse::import::ImportOptions {
            database: "foreign".into(),
            table: "ragged".into(),
            series: None,
            x: None,
            value: None,
            batch_rows: 100_000,
        };
        server
            .connect("foreign")
            .await
            .import_csv(&csv, &options, |_| {})
            .await
            .unwrap();
    });
    let data = tempfile::tempdir().unwrap();
    let mut harness = connected_app(data.path(), &server, "foreign");
    assert!(
        harness
            .query_by_label_contains("not on this server: ")
            .is_some(),
        "18.16 lacks the modern features, and the view says which"
    );

    set_text(&mut harness, "User", support::PASSWORD_USER);
    set_text(&mut harness, "Password", "not the password");
    harness.get_by_label("Add and test").click();
    step_until(&mut harness, "cannot connect: authentication failed");
    snapshot_masked(
        &mut harness,
        "app_connections",
        &["127.0.0.1"],
        &["Server URL"],
    );
    // Both stay listed; the first is still good.
    assert_eq!(harness.query_all_by_label("Remove").count(), 2);
    assert!(harness.query_by_label_contains("ClickHouse 18.").is_some());
    // The failed one is edited in place with the right password, and now connects.
    harness.query_all_by_label("Edit").nth(1).unwrap().click();
    harness.run_steps(2);
    set_text(&mut harness, "Password", support::PASSWORD);
    let wait_for_two_good = |harness: &mut Harness<'static, LyceumApp>| {
        let started = Instant::now();
        while harness
            .query_all_by_label_contains("ClickHouse 18.")
            .count()
            < 2
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never connected"
            );
            harness.step();
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    harness.get_by_label("Save and test").click();
    wait_for_two_good(&mut harness);
    assert_eq!(
        harness.query_all_by_label("Remove").count(),
        2,
        "edited, not added"
    );
    assert!(
        harness
            .query_by_label_contains("authentication failed")
            .is_none()
    );
    // A password given to a user that has none is refused; the edit's "No password" forgets
    // it (an empty field would keep it).
    harness.query_all_by_label("Edit").next().unwrap().click();
    harness.run_steps(2);
    set_text(&mut harness, "Password", "a-password-default-lacks");
    harness.get_by_label("Save and test").click();
    step_until(&mut harness, "cannot connect: authentication failed");
    harness.query_all_by_label("Edit").next().unwrap().click();
    harness.run_steps(2);
    harness.get_by_label("No password").click();
    harness.step();
    harness.get_by_label("Save and test").click();
    wait_for_two_good(&mut harness);

    // Explore the good connection: its database's tables, the long table mapped by a guess
    // the library accepts, Run, and the curves drawn as themselves.
    explore_table(&mut harness, "ragged (MergeTree)");
    // A label filter offers the label's values as the server has them.
    let filter = || (egui::accesskit::Role::ComboBox, "label");
    step_until(&mut harness, "Filter");
    harness
        .get_by_role_and_label(filter().0, filter().1)
        .click();
    step_until(&mut harness, "class_3");
    harness.get_by_label("class_3").click();
    harness.step();
    harness.get_by_label("Run").click();
    step_until(&mut harness, "foreign.ragged: 27 curves");
    harness
        .get_by_role_and_label(filter().0, filter().1)
        .click();
    step_until(&mut harness, "(any)");
    harness.get_by_label("(any)").click();
    harness.step();
    harness.get_by_label("Run").click();
    step_until(&mut harness, "foreign.ragged: 300 curves");
    assert!(harness.query_by_label("SQL that ran").is_some());

    // The mapping saved as a named source, reopened from the sources panel into a new
    // explorer with the same table and mapping.
    set_text(&mut harness, "Source name", "ragged by class");
    harness.get_by_label("Save as source").click();
    harness.run_steps(2);
    show_tab(&mut harness, "Curves");
    harness.get_by_label("ragged by class").click();
    step_until(&mut harness, "mapping fits the table");
    assert!(
        harness
            .query_by_label_contains("foreign.ragged: ")
            .is_none(),
        "a new explorer"
    );
    harness.get_by_label("Run").click();
    step_until(&mut harness, "foreign.ragged: 300 curves");

    // A CSV dropped on the window goes into a new table of the explored database.
    drop_file(&mut harness, &csv);
    step_until(&mut harness, "ragged_crlf.csv (csv): 300 curves");
    harness.get_by_label("Import into ClickHouse").click();
    step_until(&mut harness, "rows into foreign.ragged_crlf");
    let count = |table: &str| -> u64 {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let c = server.connect("foreign").await;
            c.fetch_all::<u64>(c.query(&format!("SELECT count() FROM foreign.{table}")).0)
                .await
                .unwrap()[0]
        })
    };
    assert_eq!(count("ragged_crlf"), 45_696, "every sample of the file");
    // Imported again: the app says nothing was new, and the table holds each row once.
    harness.get_by_label("Import into ClickHouse").click();
    step_until(
        &mut harness,
        "nothing new: the 45696 rows of this file were already in",
    );
    assert_eq!(count("ragged_crlf"), 45_696, "nothing added twice");
    // A file with empty values: the import's note is shown, not only logged.
    let holes = data.path().join("holes.csv");
    std::fs::write(&holes, "curve_id,x,value\nc1,0,1\nc1,1,\nc1,2,3\nc2,0,5\n").unwrap();
    drop_file(&mut harness, &holes);
    step_until(&mut harness, "holes.csv (csv): 2 curves");
    harness.get_by_label("Import into ClickHouse").click();
    step_until(&mut harness, "rows into foreign.holes");
    assert!(
        harness
            .query_by_label_contains("1 empty value(s) are stored as NaN")
            .is_some(),
        "the import's note in the app"
    );
    assert_eq!(count("holes"), 4);
    // The sources tree lists the tables the imports created (it listed the database's
    // tables before they existed).
    let started = Instant::now();
    while harness.query_by_label("ragged_crlf").is_none()
        || harness.query_by_label("holes").is_none()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the sources tree never listed the imported tables"
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    // A table another client made appears on "Refresh tables".
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let c = server.connect("foreign").await;
        c.client()
            .query("CREATE TABLE foreign.made_elsewhere (x Float64) ENGINE = Memory")
            .execute()
            .await
            .unwrap();
    });
    harness.get_by_label("Refresh tables").click();
    step_until(&mut harness, "made_elsewhere");
    show_tab(&mut harness, "Explorer");

    // Saved for the plane: the server goes away, the dataset opens and draws the same curves.
    let saved = data.path().join("ragged-saved");
    set_text(&mut harness, "Save as dataset", saved.to_str().unwrap());
    harness.get_by_label("Save dataset").click();
    step_until(&mut harness, "saved 300 curves");
    server.stop();
    show_tab(&mut harness, "Datasets");
    set_text(&mut harness, "Dataset folder", saved.to_str().unwrap());
    harness.get_by_label("Open dataset").click();
    step_until(&mut harness, "ragged-saved: 300 curves");

    show_tab(&mut harness, "Curves");
    step_until(&mut harness, "screwdriving: ");
}

/// A long run can be cancelled (the server stops it too): the view says so, keeps working, and
/// the next run completes with a summary of what came over the wire.
#[test]
fn a_run_shows_its_progress_and_can_be_cancelled() {
    // 30 sensors over a day at 1 Hz: 2.6 M rows the server groups into pixel columns.
    // Explored from the sources panel: the connection, then a table in its tree.
    let (server, _data, mut harness) = exploring_plant(
        PlantConfig {
            curves: 10,
            samples: 100,
            sensors: 30,
            days: 1.0,
            ..PlantConfig::default()
        },
        "sensor_readings_1m",
    );
    click_leftmost(&mut harness, "sensor_readings");
    step_until(&mut harness, "mapping fits the table");

    harness.get_by_label("Run").click();
    // The click lands in one frame; the row with progress and Cancel shows in the next.
    harness.step();
    harness.step();
    harness.get_by_label("Cancel").click();
    step_until(&mut harness, "cancelled");
    assert!(
        harness.query_by_label("Cancel").is_none(),
        "the run is over"
    );

    harness.get_by_label("Run").click();
    step_until(&mut harness, "plant.sensor_readings: 30 curves");
    assert!(
        harness.query_by_label_contains(" rows (").is_some(),
        "a summary of the fetch"
    );
    assert!(
        harness
            .query_by_label_contains("A dataset saved from this run keeps these points")
            .is_some(),
        "a server-binned run says what a dataset of it keeps"
    );

    // 06:00 to 07:00 UTC on the plant's day, typed: the estimate counts the rows first (as
    // the server counts them), then Run fetches exactly that hour.
    let day = lyceum::source::demo::DEMO_START_EPOCH_SECS as f64;
    let (from, to) = (day + 6.0 * 3_600.0, day + 7.0 * 3_600.0);
    let at = |secs: f64| {
        chrono::DateTime::from_timestamp(secs as i64, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    harness.get_by_label("Time range (UTC)").click();
    harness.run_steps(2);
    harness.get_by_label("From – to").click();
    harness.run_steps(2);
    set_text(&mut harness, "From", &at(from));
    set_text(&mut harness, "To", &at(to));
    harness.get_by_label("Estimate").click();
    step_until(&mut harness, "About 30 curves");
    let expected: u64 = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let connection = server.connect("plant").await;
        let sql = format!(
            "SELECT count() FROM plant.sensor_readings WHERE ts >= toDateTime({from}) AND ts <= toDateTime({to})"
        );
        connection.fetch_all::<u64>(connection.query(&sql).0).await.unwrap()[0]
    });
    assert!(expected > 30 * 3_000, "{expected}");
    assert!(
        harness
            .query_by_label_contains(&format!("About 30 curves, {expected} samples"))
            .is_some(),
        "the estimate counts {expected} samples"
    );
    harness.get_by_label("Run").click();
    harness.run_steps(2);
    step_until(&mut harness, "plant.sensor_readings: 30 curves");
    let bounds = egui_plot::PlotMemory::load(
        &harness.ctx,
        egui::Id::unique(("plot", "plant.sensor_readings")),
    )
    .unwrap()
    .transform()
    .bounds()
    .range_x();
    assert_eq!(
        (*bounds.start(), *bounds.end()),
        (from, to),
        "the hour, exactly"
    );

    // The plant's production events of that hour, listed and drawn as markers.
    let events: u64 = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let c = server.connect("plant").await;
        let sql = format!(
            "SELECT count() FROM plant.production_events WHERE ts >= toDateTime({from}) AND ts <= toDateTime({to})"
        );
        c.fetch_all::<u64>(c.query(&sql).0).await.unwrap()[0]
    });
    assert!(events > 0, "the seeded plant has events in that hour");
    assert!(
        harness
            .query_by_label(&format!("Events: {}", events.min(500)))
            .is_some(),
        "{events} events listed"
    );
    snapshot_masked(&mut harness, "app_explorer", &["127.0.0.1", " ms"], &[]);

    // The sensors one above the other: x zooms together.
    harness.get_by_label("Stack").click();
    step_until(
        &mut harness,
        "plant.sensor_readings: 12 of 30 curves stacked",
    );
    let stacked = |harness: &Harness<'static, LyceumApp>, id: u32| {
        egui_plot::PlotMemory::load(
            &harness.ctx,
            egui::Id::unique(("plot", "plant.sensor_readings")).with(("stack", id)),
        )
        .expect("a stacked plot")
        .transform()
    };
    let first = stacked(&harness, 0);
    harness.hover_at(first.frame().center());
    wheel(&harness, 150.0);
    harness.run_steps(8);
    let (zoomed, second) = (stacked(&harness, 0), stacked(&harness, 1));
    let width = |t: &egui_plot::PlotTransform| t.bounds().width();
    assert!(width(&zoomed) < width(&first) * 0.9, "the wheel zoomed");
    assert_eq!(
        zoomed.bounds().range_x(),
        second.bounds().range_x(),
        "x is linked"
    );
    // Their frames line up, so one x is one screen column in every plot of the stack.
    assert_eq!(zoomed.frame().x_range(), second.frame().x_range());
    // Out again: the wheel over a plot zooms it and leaves the stack where it was (it
    // scrolled down too, and the next step zoomed another plot).
    wheel(&harness, -150.0);
    harness.run_steps(8);
    let out = stacked(&harness, 0);
    assert!(width(&out) > width(&zoomed) * 1.1, "the wheel zoomed out");
    assert_eq!(out.frame(), zoomed.frame(), "the stack scrolled");

    // Sensors picked in the sources panel: the stack holds those two, in the order ticked.
    let sensors: Vec<String> = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let c = server.connect("plant").await;
        let sql = "SELECT DISTINCT toString(sensor_id) FROM plant.sensor_readings ORDER BY 1 DESC LIMIT 2";
        c.fetch_all::<String>(c.query(sql).0).await.unwrap()
    });
    for sensor in &sensors {
        set_text(&mut harness, "Keys", sensor);
        harness.run_steps(2);
        harness
            .get_by_role_and_label(egui::accesskit::Role::CheckBox, sensor)
            .click();
        harness.run_steps(2);
    }
    step_until(
        &mut harness,
        "plant.sensor_readings: 2 of 30 curves stacked",
    );
    for sensor in &sensors {
        let plot_titles = harness
            .query_all_by_label(sensor)
            .filter(|n| {
                egui_kittest::kittest::NodeT::accesskit_node(n).role()
                    != egui::accesskit::Role::CheckBox
            })
            .count();
        assert_eq!(plot_titles, 1, "a stacked plot titled {sensor}");
    }
    harness.get_by_label("Clear the stack").click();
    step_until(
        &mut harness,
        "plant.sensor_readings: 12 of 30 curves stacked",
    );
    set_text(&mut harness, "Keys", "");
    harness.get_by_label("Overlay").click();
    harness.run_steps(2);

    // The calendar moves the day and keeps the time of day.
    let day_text = at(day)[..10].to_owned();
    harness
        .query_all_by_label(&day_text)
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    harness.get_by_label("24").click();
    harness.run_steps(2);
    harness.get_by_label("Save").click();
    harness.run_steps(2);
    let from_field = harness.get_by_role_and_label(egui::accesskit::Role::TextInput, "From");
    assert_eq!(
        egui_kittest::kittest::NodeT::accesskit_node(&from_field).value(),
        Some(format!("{}24 06:00:00", &day_text[..8]))
    );

    // The server fails during the next run (every read of the table now throws): the
    // error is said and the curves shown before stay.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let c = server.connect("plant").await;
        c.execute("RENAME TABLE plant.sensor_readings TO plant.sensor_readings_kept")
            .await
            .unwrap();
        c.execute(
            "CREATE VIEW plant.sensor_readings AS SELECT * FROM plant.sensor_readings_kept \
             WHERE throwIf(value > -1e30) = 0",
        )
        .await
        .unwrap();
    });
    set_text(&mut harness, "From", &at(from));
    harness.get_by_label("Run").click();
    step_until(&mut harness, "throwIf");
    assert!(
        harness
            .query_by_label_contains("plant.sensor_readings: 30 curves")
            .is_some(),
        "the picture before the failed run stays"
    );
    assert!(
        harness.query_by_label("Cancel").is_none(),
        "the run is over"
    );
}

/// From the wizard's first step to its review (three Nexts).
fn wizard_to_review(harness: &mut Harness<'static, LyceumApp>) {
    for _ in 0..3 {
        harness.run_steps(2);
        harness.get_by_label("Next").click();
    }
    step_until(harness, "Total per month");
}

/// Whether the node labelled `label` (exactly; the first one) is disabled.
fn is_disabled(harness: &Harness<'static, LyceumApp>, label: &str) -> bool {
    let node = harness
        .query_all_by_label(label)
        .next()
        .unwrap_or_else(|| panic!("no `{label}`"));
    egui_kittest::kittest::NodeT::accesskit_node(&node).is_disabled()
}

/// The 64-character password the view shows once.
fn shown_password(harness: &Harness<'static, LyceumApp>) -> String {
    harness
        .query_all_by(|node| {
            node.value()
                .is_some_and(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .next()
        .and_then(|node| egui_kittest::kittest::NodeT::accesskit_node(&node).value())
        .expect("a password shown once")
}

/// Whether ClickHouse on `url` accepts `user` with `password`.
fn clickhouse_accepts(url: &str, user: &str, password: &str) -> bool {
    use lyceum::source::clickhouse::{Connection, ConnectionProfile};
    let profile = ConnectionProfile::new(url, "default", user);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        Connection::open(
            profile,
            Some(lyceum::secrets::Password::new(password.to_owned())),
        )
        .await
        .is_ok()
    })
}

/// The issue's walk through the admin side, in the window, against the embedded control plane
/// with real `clickhouse-server` nodes: the wizard (an invalid name held back, 2 shards, a
/// viewer invited, the live estimate), deploy to running with the credential shown once, a
/// manufacturing project whose tables span both shards, seeded and opened in the explorer with
/// its curves; a rotated credential's old password refused by ClickHouse; then, signed in as
/// the viewer, every destructive action disabled — and the same request sent directly refused.
#[test]
fn an_admin_deploys_a_two_shard_cluster_from_the_wizard_and_works_in_it() {
    let data = tempfile::tempdir().unwrap();
    let _nodes = NodeGuard(data.path().to_owned());
    let mut harness = app(data.path());
    show_tab(&mut harness, "Clusters");
    step_until(&mut harness, "embedded (this computer, http://");
    let header = harness
        .query_all_by_label_contains("embedded (this computer, http://")
        .next()
        .and_then(|n| egui_kittest::kittest::NodeT::accesskit_node(&n).value())
        .unwrap();
    let plane_url = header
        .split(", ")
        .find(|part| part.starts_with("http://"))
        .unwrap()
        .to_owned();

    // Step 1: an invalid name holds the wizard back and says why.
    harness.get_by_label("New cluster…").click();
    harness.run_steps(2);
    set_text(&mut harness, "Name", "Plant_C");
    step_until(&mut harness, "must be 2–63 lower-case letters");
    assert!(is_disabled(&harness, "Next"));
    set_text(&mut harness, "Name", "plant-c");
    harness.run_steps(2);
    snapshot_masked(&mut harness, "wizard_1_basic", &["row:embedded ("], &[]);
    harness.get_by_label("Next").click();
    // Step 2: two shards; the estimate follows.
    step_until(&mut harness, "Storage tiers");
    harness
        .get_by_role_and_label(egui::accesskit::Role::SpinButton, "Shards")
        .set_value_accesskit(2.0);
    step_until(&mut harness, "= 2 nodes");
    step_until(&mut harness, "Compute (2 nodes)");
    snapshot_masked(&mut harness, "wizard_2_storage", &["row:embedded ("], &[]);
    // Back keeps the inputs.
    harness.get_by_label("Back").click();
    harness.run_steps(2);
    assert!(
        harness.query_all_by_value("plant-c").next().is_some(),
        "the name kept"
    );
    harness.get_by_label("Next").click();
    step_until(&mut harness, "= 2 nodes");
    harness.get_by_label("Next").click();
    // Step 3: a new account, invited as a viewer.
    step_until(&mut harness, "What each role may do");
    set_text(&mut harness, "User", "vera");
    set_text(&mut harness, "Initial password", "vera-password-1");
    harness.get_by_label("Create account and add").click();
    step_until(&mut harness, "account vera created");
    snapshot_masked(&mut harness, "wizard_3_team", &["row:embedded ("], &[]);
    harness.get_by_label("Next").click();
    // Step 4: the review, then deploy.
    step_until(&mut harness, "2 shards × 1 replicas");
    assert!(harness.query_by_label("vera (viewer)").is_some());
    snapshot_masked(&mut harness, "wizard_4_review", &["row:embedded ("], &[]);
    harness.get_by_label("Deploy").click();
    step_until(&mut harness, "Password — shown this once");
    assert!(
        harness
            .query_all_by_label_contains("running")
            .next()
            .is_some()
    );
    assert!(
        harness
            .query_all_by_label("vera added as viewer")
            .next()
            .is_some()
    );
    let first_password = shown_password(&harness);
    let node_url = harness
        .query_all_by_label_contains("on node 1 (http://127.0.0.1:")
        .next()
        .and_then(|n| egui_kittest::kittest::NodeT::accesskit_node(&n).value())
        .unwrap();
    let node_url = node_url
        .split('(')
        .nth(1)
        .unwrap()
        .trim_end_matches("):")
        .to_owned();
    assert!(clickhouse_accepts(&node_url, "analyst", &first_password));

    // A manufacturing project: its tables on both shards.
    harness.get_by_label("Create a project…").click();
    step_until(&mut harness, "New project");
    set_text(&mut harness, "Project name", "press-data");
    // The type offered first is the whole template.
    assert!(
        harness
            .query_all_by_label_contains("the whole template")
            .next()
            .is_some()
    );
    harness.get_by_label("Create project").click();
    step_until(
        &mut harness,
        "creating project press-data (its tables on every node): done",
    );
    assert!(harness.query_all_by_label("ready").next().is_some());
    harness
        .get_by_label("Seed demo plant into press-data")
        .click();
    step_until(&mut harness, "seeded ");
    snapshot_masked(
        &mut harness,
        "cluster_projects",
        &["row:embedded (", "seeded "],
        &[],
    );
    // Open in the explorer: a connection to node 1 as the credential, then its curves.
    harness.get_by_label("Open press-data in explorer").click();
    step_until(&mut harness, "process_curves_local");
    click_leftmost(&mut harness, "process_curves");
    step_until(&mut harness, "mapping fits the table");
    harness.get_by_label("Run").click();
    step_until(&mut harness, "1000 curves, ");
    assert!(
        harness
            .query_all_by_label_contains("press_data.process_curves: 1000 cycles")
            .next()
            .is_some()
    );

    // Rotate: ClickHouse refuses the old password, takes the new one.
    show_tab(&mut harness, "Clusters");
    step_until(&mut harness, "Credentials");
    harness.get_by_label("Credentials").click();
    step_until(&mut harness, "Rotate analyst");
    snapshot_masked(
        &mut harness,
        "cluster_credentials",
        &[
            "row:embedded (",
            "row:Rotate analyst",
            "shown this once",
            "row:Copy",
        ],
        &[],
    );
    harness.get_by_label("Rotate analyst").click();
    step_until(&mut harness, "Programs using the old one are refused");
    harness.get_by_label("Rotate password").click();
    step_until(&mut harness, "Password of `analyst`");
    let deadline = Instant::now() + Duration::from_secs(30);
    while shown_password(&harness) == first_password {
        assert!(Instant::now() < deadline, "no new password shown");
        harness.step();
    }
    let rotated = shown_password(&harness);
    let deadline = Instant::now() + Duration::from_secs(30);
    while clickhouse_accepts(&node_url, "analyst", &first_password) {
        assert!(
            Instant::now() < deadline,
            "ClickHouse still takes the old password"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(clickhouse_accepts(&node_url, "analyst", &rotated));
    // The app's own connection took the new password: the explorer runs on with it.
    show_tab(&mut harness, "Explorer");
    harness.get_by_label("Run").click();
    for _ in 0..60 {
        harness.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    step_until(&mut harness, "1000 curves, ");
    assert!(
        harness
            .query_all_by_label_contains("authentication failed")
            .next()
            .is_none(),
        "the explorer kept the old password"
    );
    show_tab(&mut harness, "Clusters");

    // Health and cost.
    harness.get_by_label("Overview").click();
    step_until(&mut harness, "shard 2 replica 1");
    step_until(&mut harness, "So far this month");
    snapshot_masked(
        &mut harness,
        "cluster_overview",
        &[
            "row:embedded (",
            "row:shard 1",
            "row:shard 2",
            "So far this month",
            "seeded ",
        ],
        &[],
    );
    harness.get_by_label("Members").click();
    step_until(&mut harness, "Remove vera");
    assert!(
        is_disabled(&harness, "Remove local")
            || harness.query_all_by_label("Remove local").next().is_some()
    );
    snapshot_masked(&mut harness, "cluster_members", &["row:embedded ("], &[]);
    harness.get_by_label("Audit log").click();
    step_until(&mut harness, "rotate_credential");
    snapshot_masked(
        &mut harness,
        "audit_log",
        &["row:embedded (", "row:20"],
        &[],
    );

    // A Kubernetes cluster the viewer is no member of: its name is taken, unseen by her.
    harness.get_by_label("New cluster…").click();
    step_until(&mut harness, "1 Basic configuration");
    set_text(&mut harness, "Name", "plant-x");
    harness.get_by_label("Kubernetes manifest").click();
    wizard_to_review(&mut harness);
    harness.get_by_label("Deploy").click();
    step_until(&mut harness, "Kubernetes manifest (apply it with kubectl)");
    harness.get_by_label("Done").click();
    step_until(&mut harness, "your role: owner");

    // The viewer: signed in, every destructive action disabled.
    harness.get_by_label("Sign in…").click();
    step_until(&mut harness, "Sign in to a remote control plane");
    set_text(&mut harness, "URL", &plane_url);
    set_text(&mut harness, "User", "vera");
    set_text(&mut harness, "Password", "vera-password-1");
    harness.get_by_label("Sign in").click();
    step_until(&mut harness, &format!("remote ({plane_url})"));
    // Signing in keeps the page the user was on (plant-x, which vera cannot see).
    step_until(&mut harness, "This cluster is not among yours");
    harness.get_by_label("All clusters").click();
    step_until(&mut harness, "Open plant-c");
    harness.get_by_label("Open plant-c").click();
    step_until(&mut harness, "your role: viewer");
    harness.get_by_label("Overview").click();
    step_until(&mut harness, "Delete…");
    for action in ["Start", "Stop", "Delete…"] {
        assert!(
            is_disabled(&harness, action),
            "{action} enabled for a viewer"
        );
    }
    harness.get_by_label("Credentials").click();
    step_until(&mut harness, "Rotate analyst");
    for action in ["Rotate analyst", "Revoke analyst", "Issue"] {
        assert!(
            is_disabled(&harness, action),
            "{action} enabled for a viewer"
        );
    }
    harness.get_by_label("Projects").click();
    step_until(&mut harness, "Delete press-data…");
    assert!(is_disabled(&harness, "Delete press-data…"));
    assert!(is_disabled(&harness, "Create project"));
    harness.get_by_label("Members").click();
    step_until(&mut harness, "Remove vera");
    assert!(is_disabled(&harness, "Remove vera"));
    assert!(is_disabled(&harness, "Add member"));
    // An API error (the name is taken by a cluster she cannot see) leaves the wizard and its
    // inputs as they were, with the server's reason.
    harness.get_by_label("New cluster…").click();
    step_until(&mut harness, "1 Basic configuration");
    set_text(&mut harness, "Name", "plant-x");
    harness.get_by_label("Kubernetes manifest").click();
    wizard_to_review(&mut harness);
    harness.get_by_label("Deploy").click();
    step_until(&mut harness, "a cluster named `plant-x` exists");
    assert!(harness.query_all_by_label("Deploy").next().is_some());
    assert!(harness.query_all_by_label("plant-x").next().is_some());
    harness.get_by_label("All clusters").click();
    step_until(&mut harness, "Open plant-c");
    harness.get_by_label("Open plant-c").click();
    step_until(&mut harness, "Remove vera");

    // The server enforces it too.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use lyceum::control::api::{Credentials, NewProject};
        use lyceum::control::client::ControlClient;
        let anonymous = ControlClient::new(plane_url.clone());
        let session = anonymous
            .login(&Credentials {
                user: "vera".into(),
                password: "vera-password-1".into(),
            })
            .await
            .unwrap();
        let vera = anonymous.with_token(session.token);
        let cluster = vera.clusters().await.unwrap().remove(0);
        let project = vera.projects(cluster.id).await.unwrap().remove(0);
        let refused = [
            vera.delete_cluster(cluster.id, "plant-c").await.err(),
            vera.delete_project(cluster.id, project.id, "press-data")
                .await
                .err(),
            vera.create_project(
                cluster.id,
                &NewProject {
                    name: "mine".into(),
                    project_type: "quality".into(),
                },
            )
            .await
            .err(),
        ];
        for error in refused {
            assert_eq!(error.and_then(|e| e.status()), Some(403));
        }
        // The app's session (vera's first) ends, as an expired one would.
        let sessions: Vec<_> = vera
            .tokens()
            .await
            .unwrap()
            .into_iter()
            .filter(|t| t.kind == "session" && t.revoked_at.is_none())
            .collect();
        assert_eq!(sessions.len(), 2);
        let app_session = sessions.iter().min_by_key(|t| t.id).unwrap();
        vera.revoke_token(app_session.id).await.unwrap();
    });
    // An ended session asks to sign in again and keeps the page; signing in returns to it.
    harness.get_by_label("Refresh").click();
    step_until(&mut harness, "your session ended");
    assert!(
        harness
            .query_all_by_label("your role: viewer")
            .next()
            .is_some()
    );
    harness.get_by_label("Sign in again").click();
    step_until(&mut harness, "Sign in to a remote control plane");
    set_text(&mut harness, "Password", "vera-password-1");
    harness.get_by_label("Sign in").click();
    step_until(&mut harness, "Remove vera");
    assert!(
        harness
            .query_all_by_label("your role: viewer")
            .next()
            .is_some()
    );

    // Back to the embedded plane as its owner: deleting asks for the name, then the nodes go.
    harness.get_by_label("Sign in…").click();
    step_until(&mut harness, "Back to the embedded control plane");
    harness
        .get_by_label("Back to the embedded control plane")
        .click();
    step_until(&mut harness, "Open plant-c");
    harness.get_by_label("Open plant-c").click();
    step_until(&mut harness, "your role: owner");
    harness.get_by_label("Overview").click();
    step_until(&mut harness, "Delete…");
    harness.get_by_label("Delete…").click();
    step_until(&mut harness, "Type its name to confirm");
    assert!(is_disabled(&harness, "Delete for good"));
    set_text(&mut harness, "Cluster name", "plant-c");
    harness.get_by_label("Delete for good").click();
    step_until(&mut harness, "Open plant-x");
    let deadline = Instant::now() + Duration::from_secs(60);
    while harness.query_all_by_label("Open plant-c").next().is_some() {
        assert!(Instant::now() < deadline, "plant-c still listed");
        harness.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    let clusters = data.path().join("clusters");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::process::Command::new("pgrep")
        .arg("-f")
        .arg(clusters.to_string_lossy().as_ref())
        .status()
        .unwrap()
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "nodes still run after the delete"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Kills what is left of a test's local clusters if it fails half-way.
struct NodeGuard(std::path::PathBuf);

impl Drop for NodeGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("pkill")
            .arg("-9")
            .arg("-f")
            .arg(self.0.join("clusters").to_string_lossy().as_ref())
            .status();
    }
}

/// Curve quality in the demo view: a reference taught from the shown OK cycles, the envelope
/// drawn over the plot, the yield of the shown cycles, the NOK share among the farthest, and a
/// click on the ranking selects that cycle.
#[test]
fn a_reference_taught_from_ok_cycles_judges_and_ranks_the_shown_ones() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app(data.path());
    step_until(&mut harness, "screwdriving: ");
    click_in_view(&mut harness, "Quality");
    harness.run_steps(2);
    // Clicked through accessibility: the panel scrolls while it lays out.
    harness.get_by_label("shown OK").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Teach reference").click_accesskit();
    step_until(&mut harness, "Reference from ");
    assert!(
        harness
            .query_all_by_label_contains("Reference from 142 curves")
            .next()
            .is_some(),
        "taught from the 142 OK cycles shown"
    );
    let envelope_yield = yield_percent(&mut harness, None);
    // An envelope of the OK cycles keeps most of the shown ones.
    assert!((50.0..100.0).contains(&envelope_yield), "{envelope_yield}");
    assert!(
        harness
            .query_all_by_label_contains("NOK among the top ")
            .next()
            .is_some()
    );
    // The envelope is in the legend, drawn over the curves.
    assert!(
        harness
            .query_all_by_label("reference envelope")
            .next()
            .is_some()
    );
    snapshot_masked(
        &mut harness,
        "app_quality_envelope",
        &["Reference from "],
        &[],
    );
    // Coloured by verdict: inside the envelope green, in the picture itself (the envelope's
    // own lines are teal, with far more blue).
    let green = |harness: &mut Harness<'static, LyceumApp>| {
        settle(harness);
        harness
            .render()
            .unwrap()
            .pixels()
            .filter(|p| p.0[1] > 140 && p.0[0] < 120 && p.0[2] < 120)
            .count()
    };
    let before = green(&mut harness);
    harness.get_by_label("Colour by verdict").click_accesskit();
    let after = green(&mut harness);
    assert!(
        after > before + 2_000,
        "green pixels: {before} before, {after} after"
    );
    // The farthest cycle (a key is a cycle id), one click away.
    let key = harness
        .query_all_by(|node| {
            node.role() == egui::accesskit::Role::Button
                && node.label().is_some_and(|l| l.parse::<u64>().is_ok())
        })
        .next()
        .and_then(|n| egui_kittest::kittest::NodeT::accesskit_node(&n).label())
        .expect("a ranked cycle");
    harness.get_by_label(&key).scroll_to_me();
    harness.run_steps(2);
    harness.get_by_label(&key).click();
    step_until(&mut harness, "Selected: 1");

    // A window in the middle of the plot, judged with the envelope at once.
    harness.get_by_label("window").click_accesskit();
    step_until(&mut harness, "window: ");
    let with_window = yield_percent(&mut harness, None);
    // Its centre handle (the plot's centre) dragged right, past where the curves end (they
    // no longer leave through its right side): the yield follows during the drag.
    let centre = plot_centre(&harness, "screwdriving");
    harness.hover_at(centre);
    harness.run_steps(2);
    pointer_button(&harness, centre, true, egui::Modifiers::NONE);
    harness.step();
    let mut during = Vec::new();
    let step_px = 80.0;
    for i in 1..=4 {
        harness.event(egui::Event::PointerMoved(
            centre + egui::vec2(step_px * i as f32, 0.0),
        ));
        for _ in 0..3 {
            harness.step();
            std::thread::sleep(Duration::from_millis(40));
        }
        during.push(yield_percent(&mut harness, None));
    }
    pointer_button(
        &harness,
        centre + egui::vec2(4.0 * step_px, 0.0),
        false,
        egui::Modifiers::NONE,
    );
    harness.run_steps(2);
    assert!(
        during.iter().any(|&p| p < with_window),
        "the yield fell as the window moved: {with_window} then {during:?}"
    );
    // The drag moved the window, not the view.
    assert_eq!(plot_centre(&harness, "screwdriving"), centre);
}

/// The recipe's yield in percent ("Yield: P of N pass (X %)."), once it differs from `other`.
fn yield_percent(harness: &mut Harness<'static, LyceumApp>, other: Option<f64>) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        harness.step();
        let text = harness
            .query_all_by_label_contains("Yield: ")
            .next()
            .and_then(|n| egui_kittest::kittest::NodeT::accesskit_node(&n).value());
        let percent = text
            .as_deref()
            .and_then(|t| t.rsplit('(').next()?.split(' ').next()?.parse::<f64>().ok());
        if let Some(p) = percent
            && other != Some(p)
        {
            return p;
        }
        assert!(Instant::now() < deadline, "no new yield: {text:?}");
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// A reference saved with a dataset comes back offline: the Datasets view judges the curves
/// by it (no teaching), draws its envelope, and the manifest keeps it exactly.
#[test]
fn a_reference_saved_with_a_dataset_judges_it_offline() {
    use lyceum::curves::CurveId;
    use lyceum::curves::quality::{
        Alignment, BinGrid, Envelope, EnvelopeRule, EvalObject, Recipe, evaluate_all, teach,
    };
    use lyceum::source::dataset::{self, SaveOptions, SavedView, Source, TaughtReference};

    let data = tempfile::tempdir().unwrap();
    let store = lyceum::source::demo::Plant::new(PlantConfig {
        curves: 120,
        samples: 300,
        ..PlantConfig::default()
    })
    .process_curves()
    .unwrap();
    let ids: Vec<CurveId> = (0..store.len() as CurveId).collect();
    let grid = BinGrid::spanning(&store, &ids, Alignment::Absolute, 100).unwrap();
    let reference = teach(&store, &ids, Alignment::Absolute, grid, &[]);
    let envelope = Envelope::from_reference(&reference, EnvelopeRule::MinMax { dy: 0.0, dx: 0.0 });
    let taught = TaughtReference {
        reference,
        envelope,
    };
    // A min/max range that some curves leave.
    let recipe = Recipe {
        name: "offline".into(),
        objects: vec![EvalObject::MinMax {
            x_min: 100.0,
            x_max: 200.0,
            y_low: None,
            y_high: Some(taught.reference.median[50]),
        }],
        ..Recipe::default()
    };
    let mut judged_by = recipe.clone();
    judged_by
        .objects
        .push(EvalObject::Envelope(Box::new(taught.envelope.clone())));
    let passed = evaluate_all(&store, &ids, &judged_by)
        .iter()
        .filter(|v| v.passed())
        .count();
    assert!((1..120).contains(&passed), "{passed}");
    let dir = data.path().join("judged");
    dataset::save(
        &store,
        &dir,
        &SaveOptions {
            name: "judged".into(),
            source: Source::Demo {
                seed: 42,
                curves: store.len(),
                samples: 300,
            },
            view: SavedView {
                reference: Some(Box::new(taught.clone())),
                recipe: Some(recipe.clone()),
                ..SavedView::default()
            },
            replace: false,
        },
    )
    .unwrap();
    let reopened = dataset::open(&dir).unwrap();
    assert_eq!(reopened.manifest.view.reference.as_deref(), Some(&taught));
    assert_eq!(reopened.manifest.view.recipe.as_ref(), Some(&recipe));

    let mut harness = app(data.path());
    show_tab(&mut harness, "Datasets");
    set_text(&mut harness, "Dataset folder", dir.to_str().unwrap());
    harness.get_by_label("Open dataset").click();
    step_until(&mut harness, "judged: 120 ");
    click_in_view(&mut harness, "Quality");
    // A min/max envelope of every curve keeps every one of them inside.
    step_until(
        &mut harness,
        "Reference saved with the dataset, from 120 curves",
    );
    // Every curve inside its own min/max envelope; the saved min/max range fails those
    // the library fails.
    let expected = format!(
        "Yield: {passed} of 120 pass ({:.1} %).",
        100.0 * passed as f64 / 120.0
    );
    step_until(&mut harness, &expected);
    assert!(
        harness
            .query_all_by_label_contains("min/max: ")
            .next()
            .is_some(),
        "the saved recipe's object is listed"
    );
    assert!(
        harness
            .query_all_by_label("reference envelope")
            .next()
            .is_some()
    );
}

/// The explorer judges the view's recipe over every cycle of the table in the server (all of
/// them, not the run's), judges again as the envelope changes, streams the cycles through the
/// client once a window joins the recipe, and keeps recipes on the server by version.
#[test]
fn the_explorer_judges_history_in_the_server_and_keeps_recipe_versions() {
    let (server, _data, mut harness) = exploring_plant(
        PlantConfig {
            curves: 300,
            samples: 200,
            sensors: 2,
            days: 1.0,
            ..PlantConfig::default()
        },
        "process_curves",
    );
    click_leftmost(&mut harness, "process_curves");
    step_until(&mut harness, "mapping fits the table");
    // A run of 100 cycles; history covers all 300.
    harness
        .get_by_role_and_label(egui::accesskit::Role::SpinButton, "Curve limit")
        .set_value_accesskit(100.0);
    harness.run_steps(2);
    harness.get_by_label("Run").click();
    step_until(&mut harness, "100 curves");

    harness.get_by_label("Quality").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("shown OK").click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Teach reference").click_accesskit();
    step_until(&mut harness, "Reference from ");

    harness
        .get_by_label("Quality over history (judged in the server)")
        .click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Judge history").click_accesskit();
    let (passed, judged) = history_counts(&mut harness, None);
    assert_eq!(judged, 300, "every cycle of the table");
    assert!(passed > 0 && passed <= 300, "{passed}");

    // A narrower envelope: judged again at once (Live), fewer pass.
    harness
        .get_by_role_and_label(egui::accesskit::Role::SpinButton, "k")
        .set_value_accesskit(0.5);
    let (narrower, _) = history_counts(&mut harness, Some(passed));
    assert!(narrower < passed, "{narrower} of 300 after {passed}");

    // A window: the server cannot judge it, the client does, over the same 300.
    harness.get_by_label("window").click_accesskit();
    step_until(&mut harness, "Judged in the client");
    let (_, streamed) = history_counts(&mut harness, None);
    assert_eq!(streamed, 300);

    // Kept on the server by version, and loaded back.
    harness
        .get_by_label("Save as next version")
        .click_accesskit();
    step_until(&mut harness, "Saved recipe version 1.");
    harness
        .get_by_label("Save as next version")
        .click_accesskit();
    step_until(&mut harness, "Saved recipe version 2.");
    assert!(harness.query_all_by_label("recipe v1").next().is_some());
    harness
        .query_all_by_label("Load")
        .last()
        .unwrap()
        .click_accesskit();
    step_until(&mut harness, "Loaded recipe version 1.");

    // Server activity: a slow query from elsewhere is listed and stopped from here, and the
    // query log's costs are read.
    let slow = slow_query_from_curl(&server, "lyceum-ui-slow");
    harness.get_by_label("Server activity").click_accesskit();
    let deadline = Instant::now() + Duration::from_secs(30);
    while harness.query_all_by_label("Kill…").next().is_none() {
        assert!(Instant::now() < deadline, "the slow query is not listed");
        harness.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    harness
        .query_all_by_label("Kill…")
        .next()
        .unwrap()
        .click_accesskit();
    step_until(&mut harness, "Stop it");
    harness.get_by_label("Stop it").click_accesskit();
    step_until(&mut harness, "Query lyceum-ui-slow stopped.");
    let answer = slow.join().unwrap();
    assert!(
        String::from_utf8_lossy(&answer.stdout).contains("Code: 394"),
        "curl saw its query killed: {answer:?}"
    );
    harness.get_by_label("Read the query log").click_accesskit();
    step_until(&mut harness, "query (literals as ?)");

    // Storage: the tables' sizes, and what this old server cannot say.
    harness.get_by_label("Storage").click_accesskit();
    step_until(&mut harness, "does not say which disk holds a part");
    step_until(&mut harness, "process_curves: 1 partition");
    harness
        .get_by_label("process_curves: 1 partition")
        .click_accesskit();
    step_until(&mut harness, "rows from – to (UTC)");
    // Moving a partition and setting TTL moves need storage policies: not offered on 18.16.
    assert!(harness.query_all_by_label("Move…").next().is_none());
    assert!(harness.query_all_by_label("Tiering…").next().is_none());

    // The line dashboard of the template's tables: a tile per station, read in the background.
    harness.get_by_label("Line dashboard").click_accesskit();
    step_until(&mut harness, "Newest cycle ");
    assert!(
        harness
            .query_all_by_label_contains("last hour: ")
            .next()
            .is_some()
    );
    assert!(
        harness
            .query_all_by_label_contains("read ")
            .next()
            .is_some()
    );
}

/// "… : P of N cycles pass (…)" of the history section, once P differs from `other`.
fn history_counts(
    harness: &mut Harness<'static, LyceumApp>,
    other: Option<usize>,
) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        harness.step();
        let text = harness
            .query_all_by_label_contains(" cycles pass (")
            .next()
            .and_then(|n| egui_kittest::kittest::NodeT::accesskit_node(&n).value());
        let counts = text.as_deref().and_then(|t| {
            let (_, tail) = t.rsplit_once(": ")?;
            let mut words = tail.split(' ');
            let passed = words.next()?.parse().ok()?;
            let judged = words.nth(1)?.parse().ok()?;
            Some((passed, judged))
        });
        if let Some((passed, judged)) = counts
            && other != Some(passed)
        {
            return (passed, judged);
        }
        assert!(Instant::now() < deadline, "no new history: {text:?}");
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// Replace the SQL editor's text and run the statement (Ctrl+Enter).
fn run_sql(harness: &mut Harness<'static, LyceumApp>, sql: &str) {
    use egui::accesskit::Role;
    harness.get_by_role(Role::MultilineTextInput).focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_role(Role::MultilineTextInput).type_text(sql);
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    harness.run_steps(2);
}

/// The SQL view: read-only by default, a slow query cancelled while frames keep coming, a
/// million rows scrolled to the middle, the builder's query charted, a result exported and
/// a result's arrays opened as curves in the explorer.
#[test]
fn the_sql_view_runs_builds_charts_exports_and_opens_curves() {
    use egui::accesskit::Role;
    let (server, data, mut harness) = exploring_plant(
        PlantConfig {
            curves: 60,
            samples: 50,
            sensors: 1,
            days: 1.0,
            ..PlantConfig::default()
        },
        "process_curves",
    );
    show_tab(&mut harness, "SQL");
    step_until(&mut harness, "Query builder");

    // Read-only: a change is refused with the reason, before the server sees it.
    run_sql(
        &mut harness,
        "INSERT INTO plant.process_curves (cycle_id) VALUES (1)",
    );
    step_until(&mut harness, "changes are off (read-only)");

    // A slow query: frames keep coming while it runs, and Cancel stops it on the server.
    run_sql(
        &mut harness,
        "SELECT count() FROM numbers(100000000000) WHERE number % 7 = 3",
    );
    step_until(&mut harness, "Cancel");
    let frames_before = harness.ctx.cumulative_pass_nr();
    for _ in 0..5 {
        harness.step();
    }
    assert!(harness.ctx.cumulative_pass_nr() >= frames_before + 5);
    harness.get_by_label("Cancel").click();
    step_until(&mut harness, "the query was cancelled");
    let deadline = Instant::now() + Duration::from_secs(20);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let c = runtime.block_on(server.connect("plant"));
    while runtime
        .block_on(c.running_queries())
        .unwrap()
        .iter()
        .any(|q| q.query.contains("numbers(100000000000)"))
    {
        assert!(Instant::now() < deadline, "the cancelled query still runs");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A million rows, scrolled to the middle.
    run_sql(
        &mut harness,
        "SELECT number, toString(number * 7) AS text, number / 4 AS quarter \
         FROM numbers(1000000)",
    );
    step_until(&mut harness, "1000000 rows ×");
    harness
        .get_by_role_and_label(Role::SpinButton, "Go to row")
        .set_value_accesskit(500_000.0);
    harness.run_steps(3);
    assert!(
        harness.query_by_label("3499993").is_some(),
        "row 500,000 in view"
    );
    let url = server.url();
    snapshot_masked(
        &mut harness,
        "sql_million_rows",
        &["row: received", &url],
        &[],
    );

    // The builder: stations and their cycles, charted as bars.
    harness.get_by_label("Query builder").click_accesskit();
    harness.run_steps(2);
    harness
        .get_by_role_and_label(Role::ComboBox, "From table")
        .click();
    harness.run_steps(2);
    harness
        .query_all_by_label("process_curves")
        .max_by(|a, b| a.rect().left().total_cmp(&b.rect().left()))
        .unwrap()
        .click();
    harness.run_steps(2);
    // `station` is offered as a column and as a group: the second is the group.
    harness
        .query_all_by_label("station")
        .nth(1)
        .unwrap()
        .click();
    harness.run_steps(2);
    harness.get_by_label("Add aggregate").click();
    harness.run_steps(2);
    harness.get_by_label("Add order").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("GROUP BY `station`\nORDER BY `station`")
            .is_some()
    );
    let stations: Vec<u64> = runtime
        .block_on(
            c.client()
                .query("SELECT uniqExact(station) FROM plant.process_curves")
                .fetch_all(),
        )
        .unwrap();
    let stations = stations[0];
    harness.get_by_label("Run built query").click();
    step_until(&mut harness, &format!("{stations} rows ×"));
    harness.get_by_label("Chart").click();
    harness.run_steps(2);
    harness.get_by_label("Bar").click();
    harness.run_steps(2);
    snapshot_masked(&mut harness, "sql_chart_bar", &["row: received", &url], &[]);

    // Export the result; pyarrow's reading of it is tested with the library.
    harness.get_by_label("Table").click();
    harness.run_steps(2);
    let out = data.path().join("stations.parquet");
    set_text(&mut harness, "Export result to", &out.display().to_string());
    harness.get_by_label("Export result").click();
    step_until(&mut harness, &format!("exported {stations} rows"));
    assert!(out.exists());

    // A key and an array column open as curves in the explorer.
    run_sql(
        &mut harness,
        "SELECT cycle_id, station, samples FROM process_curves ORDER BY cycle_id LIMIT 20",
    );
    step_until(&mut harness, "20 rows ×");
    harness.get_by_label("As curves").click();
    harness.run_steps(2);
    harness.get_by_label("Open in the curve explorer").click();
    step_until(
        &mut harness,
        "20 curves, 1000 points from the SQL view's query",
    );
}

/// The line dashboard: frames keep coming while a read is pending on a loaded server, a tile
/// click runs that station's last hour in the explorer, a batch its line's span, and the
/// dashboard's settings go to a JSON file and come back.
#[test]
fn the_line_dashboard_reads_in_the_background_and_opens_a_stations_curves() {
    let (server, data, mut harness) = exploring_plant(
        PlantConfig {
            curves: 300,
            samples: 50,
            sensors: 1,
            days: 1.0,
            ..PlantConfig::default()
        },
        "process_curves",
    );
    harness.get_by_label("Line dashboard").click_accesskit();
    step_until(&mut harness, "Newest cycle ");

    // The server busy with a slow query: a read is pending over several frames.
    let busy = slow_query_from_curl(&server, "lyceum-busy");
    std::thread::sleep(Duration::from_millis(300));
    harness.get_by_label("Read now").click();
    harness.step();
    let mut frames_while_reading = 0;
    while harness.query_by_label("reading…").is_some() {
        frames_while_reading += 1;
        harness.step();
        assert!(frames_while_reading < 100_000, "the read never ended");
    }
    assert!(
        frames_while_reading >= 2,
        "frames while the read was pending: {frames_while_reading}"
    );
    // A read still pending when the next is asked for is cancelled, and says so. (A read
    // can end within the frame of its click, even on a busy server, or between the frame
    // that shows it pending and the next click on a loaded machine: ask until one is seen
    // pending, then ask again, until one was cancelled.)
    let (mut asked, mut cancelled) = (0, false);
    while !cancelled {
        harness.get_by_label("Read now").click();
        harness.step();
        if harness.query_by_label("reading…").is_some() {
            harness.get_by_label("Read now").click();
            harness.step();
            cancelled = harness
                .query_all_by_label_contains("slow read(s) cancelled for the next")
                .next()
                .is_some();
        }
        asked += 1;
        assert!(asked < 200, "no pending read was ever cancelled");
    }
    step_until(&mut harness, "slow read(s) cancelled for the next");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let c = runtime.block_on(server.connect("plant"));
    runtime.block_on(c.kill_query("lyceum-busy")).unwrap();
    busy.join().unwrap();

    // A tile: that station's last hour, run in the explorer.
    let tile = harness
        .query_all_by_label_contains("Tile L")
        .next()
        .map(|n| label_of(&n))
        .unwrap();
    let station = tile.trim_start_matches("Tile ").to_owned();
    harness.get_by_label(&tile).click();
    step_until(&mut harness, " points from ");
    harness.get_by_label("SQL that ran").click_accesskit();
    harness.run_steps(2);
    let ran = harness
        .query_all_by_label_contains("FROM `plant`.`process_curves`")
        .next()
        .and_then(|n| egui_kittest::kittest::NodeT::accesskit_node(&n).value())
        .unwrap();
    assert!(ran.contains(&format!("'{station}'")), "{ran}");

    // A batch: its line's cycles over its span.
    let batch = harness
        .query_all_by_label_contains("Curves of ")
        .next()
        .map(|n| label_of(&n))
        .unwrap();
    harness.get_by_label(&batch).click();
    harness.run_steps(3);
    step_until(&mut harness, " points from ");

    // The settings to a file and back: an imported dashboard shows only its station.
    let file = data.path().join("dashboard.json");
    set_text(&mut harness, "Dashboard file", &file.display().to_string());
    harness.get_by_label("Export dashboard").click();
    step_until(&mut harness, "Dashboard written to");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["interval_secs"], 30);
    std::fs::write(
        &file,
        format!(r#"{{"interval_secs": 60, "stations": ["{station}"]}}"#),
    )
    .unwrap();
    harness.get_by_label("Import dashboard").click();
    step_until(&mut harness, "Dashboard read from");
    assert_eq!(harness.query_all_by_label_contains("Tile L").count(), 1);
    assert!(harness.query_by_label(&tile).is_some());
}

/// A query that would run for minutes, sent by curl (another client) under `query_id`; the
/// thread ends with curl's output once the query is killed.
fn slow_query_from_curl(
    server: &support::ClickHouseServer,
    query_id: &str,
) -> std::thread::JoinHandle<std::process::Output> {
    let url = format!("{}/?query_id={query_id}", server.url());
    std::thread::spawn(move || {
        std::process::Command::new("curl")
            .args([
                "-s",
                &url,
                "--data-binary",
                "SELECT count() FROM numbers(100000000000) WHERE number % 7 = 3",
            ])
            .output()
            .unwrap()
    })
}

/// A node's accessible label.
fn label_of(node: &egui_kittest::Node<'_>) -> String {
    egui_kittest::kittest::NodeT::accesskit_node(node)
        .label()
        .unwrap_or_default()
}

/// In the window eframe clears to the panel fill and the root panels paint none of their own
/// (a software adapter shades every fragment on the CPU): over that colour the picture is the
/// one the panels painted, scroll areas fading into the panel fill as before.
#[test]
fn the_window_cleared_to_the_panel_fill_shows_what_the_panels_painted() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app(data.path());
    step_until(&mut harness, "screwdriving: ");
    let filled = harness.render().unwrap();
    let visuals = harness.ctx.global_style().visuals.clone();
    let clear = eframe::App::clear_color(harness.state(), &visuals);
    assert_eq!(clear, visuals.panel_fill.to_normalized_gamma_f32());
    harness.run_steps(2);
    let cleared = harness.render().unwrap();
    let fill = visuals.panel_fill.to_array();
    // The status bar's timings change from frame to frame: the rows above it.
    let rows = filled.height() - 40;
    let (mut unfilled, mut differing) = (0, 0);
    for y in 0..rows {
        for x in 0..filled.width() {
            let (before, now) = (filled.get_pixel(x, y).0, cleared.get_pixel(x, y).0);
            unfilled += usize::from(now[3] == 0);
            // `now` (premultiplied) over the clear colour, as the window shows it.
            let alpha = f32::from(now[3]) / 255.0;
            let shown: [u8; 3] = std::array::from_fn(|c| {
                (f32::from(now[c]) + f32::from(fill[c]) * (1.0 - alpha)).round() as u8
            });
            differing += usize::from((0..3).any(|c| shown[c].abs_diff(before[c]) > 2));
        }
    }
    let pixels = (rows * filled.width()) as usize;
    assert!(
        unfilled > pixels / 4,
        "{unfilled} of {pixels} pixels left to the clear colour"
    );
    // Blending rounds in another order over a transparent target: within 2 levels of 255.
    assert_eq!(differing, 0, "pixels differing from the panels' own fill");
}
