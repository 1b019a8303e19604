//! Data Lyceum did not make: the odd curve files in `tests/data/odd-curves` (one point, five
//! points, 300 ragged CRLF curves, labels that vary within a curve, values beyond f32, a wide
//! file, epoch timestamps with microseconds, a European `;`/decimal-comma export) through
//! dataset import and both renderers; `--force` that must not destroy what is not a dataset;
//! picture sizes no renderer can make; and random curve shapes where the GPU picture must equal
//! the CPU picture pixel for pixel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use lyceum::curves::{CurveStore, CurveStoreBuilder, PixelMap, RowMap, all_points, decimate_m4};
use lyceum::render::cpu::{Image, render_styled};
use lyceum::render::gpu::{
    BaseMode, CurveFrame, CurvePipelines, CurveStyle, HeadlessGpu, OFFSCREEN_FORMAT, PlotGpu,
    render_curves,
};
use lyceum::source::dataset;
use proptest::prelude::*;

#[path = "common/cli.rs"]
mod cli;
use cli::{lyceum_ok, lyceum_refused, odd};

const WHITE: [u8; 4] = [255; 4];

fn read_png(path: &Path) -> Image {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgba = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgba).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    Image {
        width: info.width,
        height: info.height,
        rgba,
    }
}

/// Pixels with a clear hue: curves (axes, grid and text are grey).
fn coloured_pixels(image: &Image) -> usize {
    image
        .rgba
        .chunks(4)
        .filter(|p| p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2]) > 40)
        .count()
}

fn non_white_pixels(image: &Image) -> usize {
    image.rgba.chunks(4).filter(|p| *p != WHITE).count()
}

struct Drawn {
    import_log: String,
    gpu_log: String,
    cpu_log: String,
    gpu: Image,
    cpu: Image,
    dataset: dataset::Dataset,
}

/// `dataset import` then `render` with both renderers.
fn import_and_draw(file: &str, dir: &Path, extra_import: &[&str]) -> Drawn {
    let out = dir.join(file.trim_end_matches(".csv"));
    let path = odd(file);
    let mut args = vec![
        "dataset",
        "import",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra_import);
    let import_log = lyceum_ok(&args);
    let mut logs = Vec::new();
    for renderer in ["gpu", "cpu"] {
        let png = dir.join(format!("{file}-{renderer}.png"));
        logs.push(lyceum_ok(&[
            "render",
            "--renderer",
            renderer,
            "--dataset",
            out.to_str().unwrap(),
            "--width",
            "640",
            "--height",
            "360",
            "--out",
            png.to_str().unwrap(),
        ]));
    }
    Drawn {
        import_log,
        cpu_log: logs.pop().unwrap(),
        gpu_log: logs.pop().unwrap(),
        gpu: read_png(&dir.join(format!("{file}-gpu.png"))),
        cpu: read_png(&dir.join(format!("{file}-cpu.png"))),
        dataset: dataset::open(&out).unwrap(),
    }
}

#[test]
fn one_point_and_five_points_are_drawn_by_both_renderers() {
    let dir = tempfile::tempdir().unwrap();
    let one = import_and_draw("one_point.csv", dir.path(), &[]);
    assert_eq!(one.dataset.store.point_count(), 1);
    assert_eq!(non_white_pixels(&one.cpu), 1, "one sample, one pixel");
    assert!(
        coloured_pixels(&one.gpu) >= 1,
        "the GPU plot shows the point"
    );
    assert!(
        one.gpu_log.contains("title: one_point: 1 curve\n"),
        "{}",
        one.gpu_log
    );

    let five = import_and_draw("five_points.csv", dir.path(), &[]);
    assert_eq!(five.dataset.store.point_count(), 5);
    assert!(non_white_pixels(&five.cpu) > 100, "{}", five.cpu_log);
    assert!(coloured_pixels(&five.gpu) > 100);
    // A sample index is stored as uniform x, not as f64 per sample.
    assert_eq!(five.dataset.store.bytes().x, 0);
    assert!(
        five.import_log.contains("uniform x, none stored"),
        "{}",
        five.import_log
    );
}

#[test]
fn ragged_crlf_curves_are_coloured_by_class_with_a_legend() {
    let dir = tempfile::tempdir().unwrap();
    let drawn = import_and_draw("ragged_crlf.csv", dir.path(), &[]);
    let store = &drawn.dataset.store;
    assert_eq!(store.len(), 300);
    let lengths: Vec<usize> = (0..300).map(|id| store.y(id).len()).collect();
    assert!(
        lengths.iter().min() < lengths.iter().max(),
        "variable lengths"
    );
    for log in [&drawn.gpu_log, &drawn.cpu_log] {
        assert!(log.contains("colour by label: class_0 ("), "{log}");
        assert!(log.contains("class_10 ("), "{log}");
        assert!(
            !log.contains("NOK"),
            "no pass/fail label, no NOK wording: {log}"
        );
    }
    assert_eq!(store.axes().x, "sample_index");
    assert_eq!(store.axes().y, "value");
    let hues = |image: &Image| {
        image
            .rgba
            .chunks(4)
            .filter(|p| p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2]) > 40)
            .map(|p| [p[0], p[1], p[2]])
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    assert!(hues(&drawn.cpu) >= 10, "one colour per class on the CPU");
    assert!(non_white_pixels(&drawn.cpu) > 5_000);
    assert!(coloured_pixels(&drawn.gpu) > 5_000);
}

#[test]
fn labels_that_vary_and_values_beyond_f32_are_reported_not_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let varies = import_and_draw("label_varies_within_curve.csv", dir.path(), &[]);
    assert!(
        varies
            .import_log
            .contains("label `label` changes within 20 of 20 curve(s)"),
        "{}",
        varies.import_log
    );
    let extremes = import_and_draw("extremes.csv", dir.path(), &[]);
    let log = &extremes.import_log;
    for expected in [
        "2 value(s) beyond the f32 range (±3.4e38) are stored as gaps",
        "1 value(s) smaller than 1.2e-38",
        "2 infinite value(s) are stored as gaps",
        "2 empty or NaN value(s) are gaps",
    ] {
        assert!(log.contains(expected), "{expected}: {log}");
    }
    let y = extremes.dataset.store.y(0);
    assert_eq!(y[1], 1e30);
    assert_eq!(y[4], 3.4e38);
    assert!(y[5].is_nan() && y[6].is_nan() && y[8].is_nan() && y[9].is_nan());
    assert!(y[7].is_nan() && y[11].is_nan());
    // The finite rest is drawn.
    assert!(non_white_pixels(&extremes.cpu) > 50, "{}", extremes.cpu_log);
    assert!(coloured_pixels(&extremes.gpu) > 50);
}

/// A wide file whose series are sampled at different x: an empty cell is "no sample here", so
/// each curve runs through its own values (no gap), as `lyceum import` stores it in ClickHouse,
/// and the import says what it left out, naming a column with no value at all (such a column
/// made the whole file "cannot tell the layout").
#[test]
fn a_wide_files_empty_cells_are_left_out_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("staggered.csv");
    std::fs::write(&path, "t,fast,slow,dead\n0,1,10,\n1,2,,\n2,3,12,\n3,4,,\n").unwrap();
    let imported = dataset::import_file(&path, &dataset::LongColumns::default()).unwrap();
    let store = &imported.store;
    assert_eq!(store.keys(), ["fast", "slow"]);
    assert_eq!(
        store.y(1),
        [10.0, 12.0],
        "no NaN where `slow` has no sample"
    );
    assert_eq!(store.x_at(1, 1), 2.0);
    assert!(
        imported
            .notes
            .iter()
            .any(|n| n.starts_with("6 empty cell(s) of the wide file left out")),
        "{:?}",
        imported.notes
    );
    assert!(
        imported
            .notes
            .iter()
            .any(|n| n == "column(s) dead hold no value: no curve"),
        "{:?}",
        imported.notes
    );
}

#[test]
fn wide_epoch_and_european_files_keep_names_units_and_exact_values() {
    let dir = tempfile::tempdir().unwrap();
    let wide = import_and_draw("wide.csv", dir.path(), &[]);
    assert_eq!(wide.dataset.store.len(), 300);
    assert_eq!(wide.dataset.store.key(7), "sensor_7");
    assert_eq!(wide.dataset.store.axes().x, "t");

    let epoch = import_and_draw("epoch_ms_long.csv", dir.path(), &[]);
    let store = &epoch.dataset.store;
    assert_eq!(store.keys(), ["s0", "s1"]);
    assert!(store.axes().x_is_time, "epoch seconds in `ts`: a time axis");
    assert_eq!(store.axes().y_unit.as_deref(), Some("bar"));
    // Microseconds survive: f64 epoch seconds, parsed exactly.
    assert_eq!(store.x_at(0, 0), 1_793_577_600.000_251);
    assert!(coloured_pixels(&epoch.gpu) > 500);

    let german = import_and_draw("semicolon_decimal_comma.csv", dir.path(), &[]);
    let store = &german.dataset.store;
    assert_eq!(store.axes().x, "Index");
    assert_eq!(store.axes().y, "Wert");
    let text = std::fs::read_to_string(odd("semicolon_decimal_comma.csv")).unwrap();
    let (key, index, value) = text
        .lines()
        .skip(1)
        .map(|l| l.split(';').collect::<Vec<_>>())
        .find(|f| f[3] != "0,0")
        .map(|f| {
            (
                f[0].to_owned(),
                f[2].parse::<usize>().unwrap(),
                f[3].replace(',', "."),
            )
        })
        .unwrap();
    let id = store.find(&key).unwrap();
    assert_eq!(
        store.y(id)[index],
        value.parse::<f32>().unwrap(),
        "decimal comma read exactly"
    );
    assert!(
        german.gpu_log.contains(" NOK"),
        "i.O./n.i.O. is a pass/fail label: {}",
        german.gpu_log
    );
    assert!(
        german.gpu_log.contains("colour by Ergebnis"),
        "{}",
        german.gpu_log
    );
}

#[test]
fn named_roles_are_honoured_and_extra_columns_do_not_become_curves() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("flagged.csv");
    std::fs::write(
        &csv,
        "timestamp,value,flag\n1793577600,1.5,0\n1793577601,2.5,1\n1793577602,2.0,0\n",
    )
    .unwrap();
    let out = dir.path().join("flagged");
    let log = lyceum_ok(&[
        "dataset",
        "import",
        csv.to_str().unwrap(),
        "--x",
        "timestamp",
        "--value",
        "value",
        "--out",
        out.to_str().unwrap(),
    ]);
    let store = dataset::open(&out).unwrap().store;
    assert_eq!(store.len(), 1, "{log}");
    assert_eq!(store.y(0), [1.5, 2.5, 2.0]);
    assert!(log.contains("flag"), "the unread column is named: {log}");
}

#[test]
fn force_replaces_only_a_dataset_and_never_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = odd("five_points.csv");
    let input_copy = dir.path().join("five.csv");
    std::fs::copy(&input, &input_copy).unwrap();

    // A folder of the user's.
    let folder = dir.path().join("notes");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("thesis.txt"), "years of work").unwrap();
    let err = lyceum_refused(&[
        "dataset",
        "import",
        input_copy.to_str().unwrap(),
        "--out",
        folder.to_str().unwrap(),
        "--force",
    ]);
    assert!(err.contains("not a dataset"), "{err}");
    assert_eq!(
        std::fs::read_to_string(folder.join("thesis.txt")).unwrap(),
        "years of work"
    );

    // --out naming the input file itself.
    let err = lyceum_refused(&[
        "dataset",
        "import",
        input_copy.to_str().unwrap(),
        "--out",
        input_copy.to_str().unwrap(),
        "--force",
    ]);
    assert!(err.contains("is a file"), "{err}");
    assert_eq!(
        std::fs::read(&input_copy).unwrap(),
        std::fs::read(&input).unwrap(),
        "the input is untouched"
    );

    // A dataset with something else put inside it.
    let ds = dir.path().join("ds");
    let args = [
        "dataset",
        "import",
        input_copy.to_str().unwrap(),
        "--out",
        ds.to_str().unwrap(),
        "--force",
    ];
    lyceum_ok(&args);
    lyceum_ok(&args);
    std::fs::write(ds.join("mine.txt"), "keep").unwrap();
    let err = lyceum_refused(&args);
    assert!(err.contains("mine.txt"), "{err}");
    assert!(ds.join("mine.txt").exists());
    assert_eq!(dataset::verify(&ds).unwrap().counts.points, 5);
}

#[test]
fn density_on_the_cpu_is_refused_and_an_empty_folder_may_be_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.png");
    let err = lyceum_refused(&[
        "render",
        "--renderer",
        "cpu",
        "--mode",
        "density",
        "--curves",
        "20",
        "--samples",
        "50",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("density needs the GPU"), "{err}");
    let jpeg = dir.path().join("d.jpg");
    let err = lyceum_refused(&[
        "render",
        "--curves",
        "20",
        "--samples",
        "50",
        "--out",
        jpeg.to_str().unwrap(),
    ]);
    assert!(err.contains("writes PNG files"), "{err}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let input = odd("five_points.csv");
    lyceum_ok(&[
        "dataset",
        "import",
        input.to_str().unwrap(),
        "--out",
        empty.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(dataset::verify(&empty).unwrap().counts.points, 5);
}

#[test]
fn sizes_no_renderer_can_make_are_refused_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let out = out.to_str().unwrap();
    let small = ["--curves", "20", "--samples", "50"];
    for (renderer, width, height, ppp) in [
        ("gpu", "0", "300", "1"),
        ("gpu", "100000", "300", "1"),
        ("cpu", "100000", "100000", "1"),
        ("cpu", "0", "10", "1"),
        ("gpu", "640", "360", "0"),
        ("gpu", "640", "360", "-1"),
        ("gpu", "640", "360", "100"),
    ] {
        let mut args = vec![
            "render",
            "--renderer",
            renderer,
            "--width",
            width,
            "--height",
            height,
            "--pixels-per-point",
            ppp,
            "--out",
            out,
        ];
        args.extend_from_slice(&small);
        let err = lyceum_refused(&args);
        assert!(
            err.contains("pixels") || err.contains("points"),
            "{args:?}: {err}"
        );
        assert!(!Path::new(out).exists(), "no picture written for {args:?}");
    }
}

// GPU == CPU on random curve shapes -----------------------------------------------------

fn gpu() -> &'static HeadlessGpu {
    static GPU: std::sync::OnceLock<HeadlessGpu> = std::sync::OnceLock::new();
    GPU.get_or_init(|| {
        HeadlessGpu::new().expect("a wgpu adapter (scripts/test.sh installs lavapipe)")
    })
}

/// Random stores: 1 to 40 curves of 0 to 700 samples (1 point, odd totals), uniform or
/// explicit x, NaN gaps, constant runs.
fn store_strategy() -> impl Strategy<Value = CurveStore> {
    let curve = (
        prop::collection::vec(
            prop_oneof![
                8 => -100.0f32..100.0,
                1 => Just(f32::NAN),
                1 => Just(3.0f32),
            ],
            0..700,
        ),
        any::<bool>(),
        -50.0f64..50.0,
        0.01f64..3.0,
    );
    prop::collection::vec(curve, 1..40).prop_map(|curves| {
        let mut b = CurveStoreBuilder::new(&[]);
        for (i, (ys, explicit, x0, dx)) in curves.into_iter().enumerate() {
            if explicit {
                // Uneven steps: explicit x stays explicit.
                let xs: Vec<f64> = (0..ys.len())
                    .map(|j| x0 + j as f64 * dx + (j % 3) as f64 * dx * 0.25)
                    .collect();
                b.push_explicit(format!("c{i}"), &[], &xs, &ys).unwrap();
            } else {
                b.push_uniform(format!("c{i}"), &[], x0, dx, &ys).unwrap();
            }
        }
        b.finish().unwrap()
    })
}

fn styles_for(store: &CurveStore) -> Vec<CurveStyle> {
    const PALETTE: [[u8; 4]; 3] = [[200, 30, 30, 255], [30, 120, 30, 255], [30, 30, 200, 255]];
    (0..store.len())
        .map(|i| CurveStyle::line(PALETTE[i % 3]).with_priority((i % 2) as u8))
        .collect()
}

fn gpu_picture(
    pipelines: &CurvePipelines,
    decimated: lyceum::curves::Decimated,
    styles: &[CurveStyle],
    width: u32,
    rows: RowMap,
) -> Image {
    let frame = CurveFrame::exact(
        Arc::new(decimated),
        Arc::new(styles.to_vec()),
        width,
        rows,
        BaseMode::Lines,
    );
    render_curves(
        gpu(),
        pipelines,
        &mut PlotGpu::new(&gpu().device),
        &frame,
        WHITE,
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn gpu_and_cpu_pictures_are_identical_for_any_curve_shape(
        store in store_strategy(),
        width in 1u32..300,
        height in 1u32..120,
        view_start in -60.0f64..40.0,
        view_len in 0.5f64..2_000.0,
    ) {
        let pipelines = CurvePipelines::new(&gpu().device, OFFSCREEN_FORMAT);
        let map = PixelMap::new(view_start, view_start + view_len, width);
        let rows = RowMap::new(-110.0, 110.0, height);
        let styles = styles_for(&store);
        let m4 = decimate_m4(&store, &map);
        let every = all_points(&store, &map);
        let cpu = render_styled(&every, &styles, rows, width, WHITE).unwrap();
        let gpu_m4 = gpu_picture(&pipelines, m4, &styles, width, rows);
        let differing = cpu.rgba.chunks(4).zip(gpu_m4.rgba.chunks(4)).filter(|(a, b)| a != b).count();
        prop_assert_eq!(differing, 0, "GPU (M4) vs CPU (every sample)");
    }
}

#[test]
fn millions_of_points_and_empty_views_on_the_gpu() {
    let pipelines = CurvePipelines::new(&gpu().device, OFFSCREEN_FORMAT);
    let mut b = CurveStoreBuilder::new(&[]);
    let ys: Vec<f32> = (0..3_000_001)
        .map(|i| ((i % 977) as f32).sin() * 50.0)
        .collect();
    b.push_uniform("long", &[], 0.0, 1.0, &ys).unwrap();
    b.push_uniform("short", &[], 0.0, 1.0, &[1.0, 2.0, 3.0])
        .unwrap();
    let store = b.finish().unwrap();
    let styles = styles_for(&store);
    let rows = RowMap::new(-60.0, 60.0, 90);
    // Every sample of a view (no decimation): millions of points in the GPU buffers.
    let map = PixelMap::new(1_000_000.0, 2_000_000.0, 333);
    let every = all_points(&store, &map);
    assert!(every.point_count() > 1_000_000);
    let cpu = render_styled(&every, &styles, rows, 333, WHITE).unwrap();
    let gpu = gpu_picture(&pipelines, every, &styles, 333, rows);
    assert_eq!(cpu, gpu);
    assert!(non_white_pixels(&cpu) > 10_000);
    // A view with no samples at all.
    let empty = PixelMap::new(5e6, 6e6, 101);
    let cpu = render_styled(&all_points(&store, &empty), &styles, rows, 101, WHITE).unwrap();
    let gpu = gpu_picture(&pipelines, decimate_m4(&store, &empty), &styles, 101, rows);
    assert_eq!(cpu, gpu);
    assert_eq!(non_white_pixels(&gpu), 0);
}

#[test]
fn a_gpu_error_outside_any_scope_becomes_an_error_not_a_panic() {
    // A device of its own: the error must not leak into other tests' pictures.
    let gpu = HeadlessGpu::new().expect("a wgpu adapter");
    // Invalid on every backend: a buffer both mappable for reading and for writing.
    let _bad = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("invalid on purpose"),
        size: 16,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::MAP_WRITE,
        mapped_at_creation: false,
    });
    let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
    let mut b = CurveStoreBuilder::new(&[]);
    b.push_uniform("c", &[], 0.0, 1.0, &[1.0, 2.0, 1.5])
        .unwrap();
    let store = b.finish().unwrap();
    let styles = styles_for(&store);
    let rows = RowMap::new(0.0, 3.0, 20);
    let frame = CurveFrame::exact(
        Arc::new(decimate_m4(&store, &PixelMap::new(0.0, 2.0, 30))),
        Arc::new(styles),
        30,
        rows,
        BaseMode::Lines,
    );
    let result = render_curves(
        &gpu,
        &pipelines,
        &mut PlotGpu::new(&gpu.device),
        &frame,
        WHITE,
    );
    let error = result
        .expect_err("the device reported an error")
        .to_string();
    assert!(error.contains("GPU reported an error"), "{error}");
    // Reported once; the next picture draws.
    let image = render_curves(
        &gpu,
        &pipelines,
        &mut PlotGpu::new(&gpu.device),
        &frame,
        WHITE,
    )
    .unwrap();
    assert!(non_white_pixels(&image) > 0);
}

/// The app's library deletes a dataset folder and nothing else: a folder of the user's, an
/// empty folder, a file, or a dataset holding an extra file are left as they are.
#[test]
fn delete_removes_only_a_dataset_folder() {
    use lyceum::source::dataset::{LongColumns, SaveOptions, SavedView, Source};

    let dir = tempfile::tempdir().unwrap();
    let imported = dataset::import_file(&odd("five_points.csv"), &LongColumns::default()).unwrap();
    let save = |name: &str| {
        let out = dir.path().join(name);
        dataset::save(
            &imported.store,
            &out,
            &SaveOptions {
                name: name.into(),
                source: Source::File {
                    path: "five_points.csv".into(),
                    format: "csv".into(),
                },
                view: SavedView::default(),
                replace: false,
            },
        )
        .unwrap();
        out
    };
    let notes = dir.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("thesis.txt"), "years of work").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let file = dir.path().join("file.txt");
    std::fs::write(&file, "mine").unwrap();
    let crowded = save("crowded");
    std::fs::write(crowded.join("mine.txt"), "mine").unwrap();
    for kept in [&notes, &empty, &file, &crowded] {
        let err = dataset::delete(kept).unwrap_err().to_string();
        assert!(err.contains("is left as it is"), "{err}");
        assert!(kept.exists());
    }
    assert!(crowded.join("mine.txt").exists());
    let good = save("good");
    dataset::delete(&good).unwrap();
    assert!(!good.exists());
}

/// `lyceum reference` and `lyceum evaluate` on curves we did not make: ragged lengths and one
/// point each. A min/max envelope taught from every curve keeps every curve inside it (each
/// sample lies within its own bin's extremes), the verdicts file has a row per curve, the
/// yield is given per label value, and a broken recipe or an unknown label is refused cleanly.
#[test]
fn references_and_recipes_run_over_foreign_curves() {
    use lyceum::curves::quality::{Envelope, EvalObject, Recipe};

    let dir = tempfile::tempdir().unwrap();
    for (file, curves) in [("ragged_crlf.csv", 300), ("one_point.csv", 1)] {
        let data = dir.path().join(file.trim_end_matches(".csv"));
        let path = odd(file);
        lyceum_ok(&[
            "dataset",
            "import",
            path.to_str().unwrap(),
            "--out",
            data.to_str().unwrap(),
        ]);
        let json = dir.path().join(format!("{file}.json"));
        let log = lyceum_ok(&[
            "reference",
            "--dataset",
            data.to_str().unwrap(),
            "--bins",
            "50",
            "--envelope",
            "min-max",
            "--out",
            json.to_str().unwrap(),
        ]);
        assert!(
            log.contains(&format!("reference from {curves} curves")),
            "{log}"
        );
        let taught: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let envelope: Envelope = serde_json::from_value(taught["envelope"].clone()).unwrap();
        let recipe = Recipe {
            name: "taught".into(),
            objects: vec![EvalObject::Envelope(Box::new(envelope))],
            levels: vec![0.0],
            ..Recipe::default()
        };
        let recipe_path = dir.path().join(format!("{file}.recipe.json"));
        std::fs::write(&recipe_path, serde_json::to_string(&recipe).unwrap()).unwrap();
        let verdicts = dir.path().join(format!("{file}.verdicts.csv"));
        let data_arg = data.to_str().unwrap();
        let mut args = vec![
            "evaluate",
            "--dataset",
            data_arg,
            "--recipe",
            recipe_path.to_str().unwrap(),
            "--out",
            verdicts.to_str().unwrap(),
        ];
        if curves > 1 {
            args.extend(["--by", "label"]);
        }
        let log = lyceum_ok(&args);
        assert!(
            log.contains(&format!("taught: {curves} of {curves} passed (100.0 %)")),
            "{log}"
        );
        let rows = std::fs::read_to_string(&verdicts).unwrap();
        assert_eq!(rows.lines().count(), curves + 1, "{rows}");
        assert!(rows.starts_with("key,passed,failures,peak_x,peak_y,end_x,end_y,x_at_0"));
        if curves > 1 {
            assert!(log.contains("  label class_0: "), "{log}");
        }
    }
    let data = dir.path().join("ragged_crlf");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"name\": \"x\", \"objects\": [{\"kind\": \"spiral\"}]}",
    )
    .unwrap();
    let out = dir.path().join("never.csv");
    let refused = lyceum_refused(&[
        "evaluate",
        "--dataset",
        data.to_str().unwrap(),
        "--recipe",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(refused.contains("is not a recipe"), "{refused}");
    // A recipe that reads but cannot be passed: each impossible object named.
    std::fs::write(
        &bad,
        "{\"name\": \"x\", \"objects\": [{\"kind\": \"min_max\", \"x_min\": 5, \
         \"x_max\": 1, \"y_low\": null, \"y_high\": null}]}",
    )
    .unwrap();
    let refused = lyceum_refused(&[
        "evaluate",
        "--dataset",
        data.to_str().unwrap(),
        "--recipe",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        refused.contains("object 1: the x range is inverted"),
        "{refused}"
    );
    let refused = lyceum_refused(&[
        "reference",
        "--dataset",
        data.to_str().unwrap(),
        "--filter",
        "station=S1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(refused.contains("no label `station`"), "{refused}");
    assert!(!out.exists(), "nothing written for a refused request");
}
