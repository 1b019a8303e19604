//! The GPU renderer on a real wgpu adapter (Mesa's lavapipe where there is no GPU): its
//! pixels against the CPU reference rasteriser, decimated against every sample, density and
//! highlight modes, whole plots against stored reference images, and `lyceum render`.
//! `UPDATE_REFERENCE=1` rewrites the reference images in `tests/reference/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lyceum::curves::{
    CurveStore, CurveStoreBuilder, Decimated, PixelMap, RowMap, all_points, decimate_m4,
};
use lyceum::render::cpu::{Image, Layer, render_layers, write_png};
use lyceum::render::gpu::{
    BaseMode, CurveFrame, CurvePipelines, CurveStyle, HeadlessGpu, OFFSCREEN_FORMAT, PlotGpu,
    render_curves,
};
use lyceum::render::headless::render_plot;
use lyceum::render::plot::{Decimation, DecimationMode, PlotCurves, PlotLabels};
use lyceum::source::demo::{Plant, PlantConfig};

const OK: [u8; 4] = [70, 110, 170, 255];
const NOK: [u8; 4] = [220, 40, 40, 255];
const WHITE: [u8; 4] = [255; 4];

fn gpu() -> HeadlessGpu {
    HeadlessGpu::new().expect("a wgpu adapter (scripts/test.sh installs Mesa's lavapipe)")
}

fn demo_curves(curves: usize) -> CurveStore {
    Plant::new(PlantConfig {
        curves,
        samples: 2_000,
        ..PlantConfig::default()
    })
    .process_curves()
    .unwrap()
}

fn result_styles(store: &CurveStore) -> Vec<CurveStyle> {
    (0..store.len() as u32)
        .map(|id| match store.label("result", id) {
            Some("NOK") => CurveStyle::line(NOK).with_priority(1),
            _ => CurveStyle::line(OK),
        })
        .collect()
}

fn frame(
    decimated: Decimated,
    styles: Vec<CurveStyle>,
    width: u32,
    rows: RowMap,
    mode: BaseMode,
) -> CurveFrame {
    CurveFrame::exact(Arc::new(decimated), Arc::new(styles), width, rows, mode)
}

/// Curves of `store` whose `result` label is `result`, for the CPU reference's layers.
fn subset(store: &CurveStore, result: &str) -> CurveStore {
    let mut builder = CurveStoreBuilder::new(&[]);
    for id in (0..store.len() as u32).filter(|&id| store.label("result", id) == Some(result)) {
        let xs: Vec<f64> = (0..store.y(id).len()).map(|i| store.x_at(id, i)).collect();
        builder
            .push_explicit(store.key(id), &[], &xs, store.y(id))
            .unwrap();
    }
    builder.finish().unwrap()
}

/// The raster the pixel tests draw the demo curves into: width and rows.
fn demo_view() -> (u32, RowMap) {
    (480, RowMap::new(-0.5, 13.0, 270))
}

/// The demo view whole and zoomed in (partial curves), `width` columns wide.
fn whole_and_zoomed(width: u32) -> [PixelMap; 2] {
    [
        PixelMap::new(0.0, 720.0, width),
        PixelMap::new(400.0, 700.0, width),
    ]
}

/// `frame` drawn by the GPU path over white.
fn drawn_on_gpu(gpu: &HeadlessGpu, pipelines: &CurvePipelines, frame: &CurveFrame) -> Image {
    render_curves(gpu, pipelines, &mut PlotGpu::new(&gpu.device), frame, WHITE).unwrap()
}

fn differing_pixels(a: &Image, b: &Image) -> usize {
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.rgba
        .chunks(4)
        .zip(b.rgba.chunks(4))
        .filter(|(p, q)| p != q)
        .count()
}

#[test]
fn gpu_pixels_match_the_cpu_reference_and_m4_matches_every_sample() {
    let gpu = gpu();
    let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
    let store = demo_curves(1_000);
    let (width, rows) = demo_view();
    // A zoomed view (partial curves) and the full one.
    for map in whole_and_zoomed(width) {
        let m4 = decimate_m4(&store, &map);
        let full = all_points(&store, &map);
        assert!(m4.point_count() < full.point_count());
        let styles = result_styles(&store);
        let mut plot = PlotGpu::new(&gpu.device);
        // Counts are curves per pixel, not segments: density and stacked alpha are the same
        // for M4 and every sample too.
        let translucent: Vec<CurveStyle> = (0..store.len())
            .map(|id| CurveStyle::line([20, 20, 20, 40 + (id % 7) as u8 * 20]))
            .collect();
        for (mode, styles) in [
            (BaseMode::Density, styles.clone()),
            (BaseMode::Lines, translucent),
        ] {
            let draw = |plot: &mut PlotGpu, curves: &Decimated| {
                render_curves(
                    &gpu,
                    &pipelines,
                    plot,
                    &frame(curves.clone(), styles.clone(), width, rows, mode),
                    WHITE,
                )
                .unwrap()
            };
            let (a, b) = (draw(&mut plot, &m4), draw(&mut plot, &full));
            assert_eq!(
                differing_pixels(&a, &b),
                0,
                "{mode:?}: M4 and every sample differ"
            );
        }
        let from_m4 = render_curves(
            &gpu,
            &pipelines,
            &mut plot,
            &frame(m4, styles.clone(), width, rows, BaseMode::Lines),
            WHITE,
        )
        .unwrap();
        let from_full = render_curves(
            &gpu,
            &pipelines,
            &mut plot,
            &frame(full, styles, width, rows, BaseMode::Lines),
            WHITE,
        )
        .unwrap();
        assert_eq!(
            differing_pixels(&from_m4, &from_full),
            0,
            "M4 and every sample must light the same pixels on the GPU"
        );

        let (ok, nok) = (subset(&store, "OK"), subset(&store, "NOK"));
        let (ok, nok) = (decimate_m4(&ok, &map), decimate_m4(&nok, &map));
        let reference = render_layers(
            &[
                Layer {
                    curves: &ok,
                    rgba: OK,
                },
                Layer {
                    curves: &nok,
                    rgba: NOK,
                },
            ],
            rows,
            width,
            WHITE,
        )
        .unwrap();
        let lit = reference.rgba.chunks(4).filter(|p| *p != WHITE).count();
        assert!(lit > 20_000, "the curves cover the picture: {lit} pixels");
        // Same f32 formulas on both sides: the GPU reproduces the reference bit for bit.
        assert_eq!(
            differing_pixels(&from_m4, &reference),
            0,
            "GPU and CPU reference differ"
        );
    }
}

#[test]
fn density_mode_maps_hit_counts_through_the_colour_map() {
    let gpu = gpu();
    let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
    // Three flat curves at y = 1 and one at y = 3: the y = 1 row has 3 hits, the max.
    let mut builder = CurveStoreBuilder::new(&[]);
    for (key, level) in [("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 3.0)] {
        builder
            .push_uniform(key, &[], 0.0, 1.0, &[level; 100])
            .unwrap();
    }
    let store = builder.finish().unwrap();
    let map = PixelMap::new(0.0, 100.0, 100);
    let rows = RowMap::new(0.0, 4.0, 40);
    let draw = |styles: Vec<CurveStyle>, mode: BaseMode| {
        let frame = frame(decimate_m4(&store, &map), styles, 100, rows, mode);
        render_curves(
            &gpu,
            &pipelines,
            &mut PlotGpu::new(&gpu.device),
            &frame,
            [0, 0, 0, 255],
        )
        .unwrap()
    };
    let image = draw(vec![CurveStyle::line(OK); 4], BaseMode::Density);
    let pixel = |column: usize, row_from_bottom: usize| {
        let at = ((40 - 1 - row_from_bottom) * 100 + column) * 4;
        <[u8; 4]>::try_from(&image.rgba[at..at + 4]).unwrap()
    };
    // Row of y = 1 is 10; of y = 3 is 30. The maximum maps to viridis' yellow end.
    let busiest = pixel(50, 10);
    let single = pixel(50, 30);
    let close = |a: [u8; 4], b: [u8; 3]| a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 2);
    assert!(close(busiest, [253, 231, 37]), "{busiest:?}");
    assert_ne!(single, busiest);
    assert_ne!(single, [0, 0, 0, 255], "one hit still shows");
    assert_eq!(pixel(50, 20), [0, 0, 0, 255], "no hits, no colour");

    // Translucent lines stack: three curves of alpha ½ cover 1 - ½³ of the pixel.
    let image = draw(
        vec![CurveStyle::line([255, 255, 255, 128]); 4],
        BaseMode::Lines,
    );
    let grey = |row_from_bottom: usize| image.rgba[((40 - 1 - row_from_bottom) * 100 + 50) * 4];
    let alpha = 128.0 / 255.0;
    for (row, hits) in [(10, 3), (30, 1)] {
        let expected = 255.0 * (1.0 - (1.0_f64 - alpha).powi(hits));
        assert!(
            (f64::from(grey(row)) - expected).abs() <= 2.0,
            "{} vs {expected}",
            grey(row)
        );
    }
}

#[test]
fn restyling_changes_the_picture_without_uploading_points_again() {
    let gpu = gpu();
    let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
    let store = demo_curves(200);
    let map = PixelMap::new(0.0, 720.0, 320);
    let rows = RowMap::new(-0.5, 13.0, 180);
    let decimated = Arc::new(decimate_m4(&store, &map));
    let mut plot = PlotGpu::new(&gpu.device);
    let mut draw = |styles: Vec<CurveStyle>| {
        let frame = CurveFrame {
            decimated: Arc::clone(&decimated),
            ..frame(Decimated::default(), styles, 320, rows, BaseMode::Lines)
        };
        render_curves(&gpu, &pipelines, &mut plot, &frame, WHITE).unwrap()
    };
    let plain = draw(vec![CurveStyle::line(OK); store.len()]);
    let mut styles = vec![CurveStyle::line(OK); store.len()];
    let screwdriving = (0..store.len())
        .find(|&id| store.label("program", id as u32) == Some("screwdriving"))
        .unwrap();
    styles[screwdriving] = CurveStyle::line([250, 160, 0, 255]).highlighted(4.0);
    let highlighted = draw(styles);
    let orange = highlighted
        .rgba
        .chunks(4)
        .filter(|p| p[0] > 200 && p[1] > 100 && p[2] < 100)
        .count();
    // A 4-px line across the 320 columns.
    assert!(orange > 1_500, "{orange} orange pixels");
    let hidden = draw(vec![CurveStyle::line(OK).hidden(); store.len()]);
    assert!(
        hidden.rgba.chunks(4).all(|p| p == WHITE),
        "hidden curves draw nothing"
    );
    assert_ne!(plain, highlighted);
    assert_eq!(
        plot.point_uploads(),
        1,
        "styles changed, points stayed on the GPU"
    );
}

#[test]
fn the_gpu_holds_a_frames_points_without_growth_slack() {
    let gpu = gpu();
    let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
    let store = demo_curves(200);
    let (width, height) = (320, 180);
    let rows = RowMap::new(-0.5, 13.0, height);
    let decimated = decimate_m4(&store, &PixelMap::new(0.0, 720.0, width));
    // Uploaded whole: every curve's slots, written or not.
    let point_bytes = (decimated.x_px.len() + decimated.y.len()) as u64 * 4;
    let mut plot = PlotGpu::new(&gpu.device);
    let frame = frame(
        decimated,
        vec![CurveStyle::line(OK); store.len()],
        width,
        rows,
        BaseMode::Lines,
    );
    render_curves(&gpu, &pipelines, &mut plot, &frame, WHITE).unwrap();
    // Points, per-pixel hits and keys, and small tables: a first upload is sized exactly
    // (growth slack of half again would put it near 1.5 × the points).
    let pixel_bytes = u64::from(width * height) * 8;
    let held = plot.buffer_bytes();
    assert!(
        held >= point_bytes + pixel_bytes && held < (point_bytes + pixel_bytes) * 11 / 10,
        "{held} bytes held for {point_bytes} bytes of point slots and {pixel_bytes} of pixels"
    );
}

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

fn read_png(path: &Path) -> Image {
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_REFERENCE=1 writes it)", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut rgba = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgba).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba, "{}", path.display());
    Image {
        width: info.width,
        height: info.height,
        rgba,
    }
}

/// Compare with `tests/reference/NAME.png`: at most 0.2 % of pixels may differ by more than
/// 16 levels in a channel (font and driver versions move antialiased edges, not curves).
fn assert_matches_reference(image: &Image, name: &str) {
    let path = reference_dir().join(format!("{name}.png"));
    if std::env::var_os("UPDATE_REFERENCE").is_some() {
        write_png(image, &path).unwrap();
        return;
    }
    let reference = read_png(&path);
    assert_eq!(
        (image.width, image.height),
        (reference.width, reference.height),
        "{name}: size"
    );
    let differing = image
        .rgba
        .chunks(4)
        .zip(reference.rgba.chunks(4))
        .filter(|(a, b)| a.iter().zip(*b).any(|(x, y)| x.abs_diff(*y) > 16))
        .count();
    let allowed = (image.width * image.height) as usize / 500;
    if differing > allowed {
        let actual = std::env::temp_dir().join(format!("lyceum-{name}.actual.png"));
        write_png(image, &actual).unwrap();
        panic!(
            "{name}: {differing} pixels differ from {} (allowed {allowed}); this run's picture: {}",
            path.display(),
            actual.display()
        );
    }
}

fn demo_plot(
    curves: usize,
    styles: impl Fn(&CurveStore) -> Vec<CurveStyle>,
    mode: BaseMode,
) -> Arc<PlotCurves> {
    let store = demo_curves(curves);
    let styles = styles(&store);
    let plot = PlotCurves::new(
        egui::Id::unique(("reference", curves)),
        Arc::new(store),
        styles,
        DecimationMode::Inline,
        Decimation::M4,
    )
    .unwrap();
    plot.set_mode(mode);
    Arc::new(plot)
}

fn labels(title: &str) -> PlotLabels {
    PlotLabels {
        title: title.into(),
        x_axis: "angle (deg)".into(),
        y_axis: "torque (N·m)".into(),
        legend: Vec::new(),
    }
}

#[test]
fn whole_plots_match_their_reference_images() {
    let gpu = gpu();
    let screwdriving_only = |store: &CurveStore| {
        result_styles(store)
            .into_iter()
            .enumerate()
            .map(|(id, style)| match store.label("program", id as u32) {
                Some("screwdriving") => style,
                _ => style.hidden(),
            })
            .collect()
    };
    let lines = demo_plot(400, screwdriving_only, BaseMode::Lines);
    let image = render_plot(
        &gpu,
        &lines,
        &labels("Screwdriving: lines"),
        (640, 360),
        1.0,
    )
    .unwrap();
    // The frame around the curves: axes, tick labels and title are drawn (dark text pixels
    // outside the plot area), and the curves are (blue pixels).
    assert!(image.rgba.chunks(4).filter(|p| p[..3] == OK[..3]).count() > 2_000);
    assert_matches_reference(&image, "plot_lines");

    let density = demo_plot(400, screwdriving_only, BaseMode::Density);
    let image = render_plot(
        &gpu,
        &density,
        &labels("Screwdriving: density"),
        (640, 360),
        1.0,
    )
    .unwrap();
    assert_matches_reference(&image, "plot_density");

    let highlight = demo_plot(
        400,
        |store| {
            let mut styles = screwdriving_only(store);
            let first_nok = (0..store.len())
                .find(|&id| {
                    styles[id].is_visible() && store.label("result", id as u32) == Some("NOK")
                })
                .unwrap();
            styles[first_nok] = CurveStyle::line([250, 160, 0, 255]).highlighted(3.0);
            styles
        },
        BaseMode::Lines,
    );
    let image = render_plot(
        &gpu,
        &highlight,
        &labels("Screwdriving: one NOK highlighted"),
        (640, 360),
        1.0,
    )
    .unwrap();
    assert_matches_reference(&image, "plot_highlight");
}

fn lyceum(args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "lyceum {args:?}: {stdout}\n{stderr}"
    );
    stdout.into_owned()
}

#[test]
fn cli_renders_10000_demo_curves_identically_with_and_without_decimation() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (m4, none) = (path("m4.png"), path("none.png"));
    for (decimation, out) in [("m4", &m4), ("none", &none)] {
        let stdout = lyceum(&[
            "render",
            "--out",
            out,
            "--width",
            "800",
            "--height",
            "450",
            "--decimation",
            decimation,
        ]);
        assert!(stdout.contains("10000 curves drawn"), "{stdout}");
    }
    let (a, b) = (read_png(Path::new(&m4)), read_png(Path::new(&none)));
    assert_eq!((a.width, a.height), (800, 450));
    assert_eq!(
        differing_pixels(&a, &b),
        0,
        "--decimation m4 and none must give identical images"
    );
    assert!(
        a.rgba.chunks(4).filter(|p| p[..3] == NOK[..3]).count() > 500,
        "NOK curves drawn on top"
    );
}

#[test]
fn cli_render_errors_are_clear() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args([
            "render",
            "--out",
            "/nonexistent-dir/x.png",
            "--curves",
            "10",
            "--width",
            "200",
            "--height",
            "100",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent-dir/x.png"), "{stderr}");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum"))
        .args([
            "render",
            "--out",
            "x.png",
            "--curves",
            "10",
            "--highlight",
            "no-such-curve",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no curve `no-such-curve`"));
}

/// The CPU port of the base layer gives the GPU's pixels: opaque lines with priorities,
/// translucent lines stacking, density, a zoomed view and gaps.
#[test]
fn the_cpu_base_layer_matches_the_gpus_pixel_for_pixel() {
    use lyceum::render::cpu_raster::{composite_base, raster_base};

    let gpu = gpu();
    let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
    let store = demo_curves(600);
    let (width, rows) = demo_view();
    let translucent: Vec<CurveStyle> = (0..store.len())
        .map(|id| CurveStyle::line([20, 60, 200, 40 + (id % 7) as u8 * 20]))
        .collect();
    for map in whole_and_zoomed(width) {
        let decimated = decimate_m4(&store, &map);
        for (mode, styles) in [
            (BaseMode::Lines, result_styles(&store)),
            (BaseMode::Lines, translucent.clone()),
            (BaseMode::Density, result_styles(&store)),
        ] {
            let frame = frame(decimated.clone(), styles.clone(), width, rows, mode);
            let on_gpu = drawn_on_gpu(&gpu, &pipelines, &frame);
            let on_cpu = Image {
                width,
                height: rows.height_px,
                rgba: composite_base(&raster_base(&frame), &styles, mode, WHITE),
            };
            let differing = differing_pixels(&on_gpu, &on_cpu);
            assert_eq!(differing, 0, "{mode:?}, view {map:?}");
        }
    }
}

/// Highlighted curves drawn as wide antialiased lines on the CPU (`draw_wide_lines`, the
/// port of `wide_lines.wgsl`) match the GPU's: the same pixels lit, colours within one step
/// of 255 (the GPU interpolates each pixel's position across its quad; the CPU takes the
/// exact centre), over opaque and translucent base layers.
#[test]
fn the_cpus_wide_highlighted_lines_match_the_gpus() {
    use lyceum::render::cpu_raster::{
        Points, RasterTarget, composite_base, draw_wide_lines, raster_base,
    };

    let gpu = gpu();
    let pipelines = CurvePipelines::new(&gpu.device, OFFSCREEN_FORMAT);
    let store = demo_curves(300);
    let (width, rows) = demo_view();
    for map in whole_and_zoomed(width) {
        let decimated = decimate_m4(&store, &map);
        let mut styles = result_styles(&store);
        // Highlighted: opaque and translucent, thin and wide, among the others.
        styles[3] = CurveStyle::line([255, 160, 0, 255]).highlighted(3.0);
        styles[17] = CurveStyle::line([0, 200, 255, 160]).highlighted(5.0);
        styles[150] = CurveStyle::line([255, 0, 255, 255]).highlighted(1.5);
        let frame = frame(
            decimated.clone(),
            styles.clone(),
            width,
            rows,
            BaseMode::Lines,
        );
        let on_gpu = drawn_on_gpu(&gpu, &pipelines, &frame);
        let mut rgba = composite_base(&raster_base(&frame), &styles, BaseMode::Lines, WHITE);
        let target = RasterTarget {
            width,
            rows: frame.rows,
        };
        draw_wide_lines(&mut rgba, Points::Decimated(&decimated), target, &styles);
        let on_cpu = Image {
            width,
            height: rows.height_px,
            rgba,
        };
        let largest_step = on_gpu
            .rgba
            .iter()
            .zip(&on_cpu.rgba)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        let differing = differing_pixels(&on_gpu, &on_cpu);
        eprintln!("view {map:?}: {differing} pixels differ, by at most {largest_step}");
        assert!(
            largest_step <= 1,
            "view {map:?}: a channel differs by {largest_step}"
        );
        // The lines are there: the opaque highlighted curves' own colours.
        let highlighted = on_cpu
            .rgba
            .chunks(4)
            .filter(|p| p[..3] == [255, 160, 0] || p[..3] == [255, 0, 255])
            .count();
        assert!(highlighted > 20, "{highlighted} highlighted pixels");
    }
}
