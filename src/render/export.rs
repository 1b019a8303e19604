//! Pictures of a whole store for files and reports: [`render_store`] styles the curves
//! ([`super::style`]), checks the size, and draws them with the GPU (a whole plot: title,
//! axes, tick labels, headless on any adapter) or the CPU renderer (the curves alone, the
//! reference rule). `lyceum render` is a thin layer over it; the app's PNG export will be too.

use std::sync::Arc;
use std::time::Instant;

use super::cpu::{Image, RenderError, render_styled};
use super::gpu::{BaseMode, GpuError, HeadlessGpu};
use super::plot::{Decimation, DecimationMode, PlotCurves, PlotLabels};
use super::style::{StyleError, StyleRequest, Styling, plot_labels, style_curves};
use crate::curves::{
    CurveStore, DataBounds, PixelMap, RowMap, all_points, data_bounds, decimate_m4,
};

/// Which renderer draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RendererKind {
    /// wgpu: a whole plot (egui_plot axes and labels, our curve pipeline).
    #[default]
    Gpu,
    /// The CPU reference rasteriser: the curves alone.
    Cpu,
}

/// What to draw and how.
#[derive(Clone, Debug)]
pub struct RenderRequest {
    pub renderer: RendererKind,
    pub width_px: u32,
    pub height_px: u32,
    /// Physical pixels per UI point (GPU plots: text and margins scale).
    pub pixels_per_point: f32,
    pub decimation: Decimation,
    pub mode: BaseMode,
    pub style: StyleRequest,
    /// What the title calls the source ("shift-42", "lyceum_demo.process_curves").
    pub source_name: String,
    /// A title of the user's instead of the one made from the source and counts.
    pub title: Option<String>,
    /// Show exactly this x-range (the range a source was queried for), not the samples' extent.
    pub pinned_x: Option<(f64, f64)>,
}

/// What was drawn.
#[derive(Clone, Debug)]
pub struct RenderReport {
    pub styling: Styling,
    pub labels: PlotLabels,
    /// Points handed to the rasteriser after decimation (CPU renderer).
    pub points_drawn: Option<usize>,
    /// The adapter, for the GPU renderer.
    pub adapter: Option<String>,
    pub device_ms: f64,
    pub draw_ms: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Style(#[from] StyleError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error(transparent)]
    Cpu(#[from] RenderError),
    #[error("nothing to draw: every value of the shown curves is empty, NaN or infinite")]
    NoFiniteValues,
    #[error("the CPU renderer draws lines only: density needs the GPU renderer")]
    DensityNeedsGpu,
}

/// Sizes checked, curves styled, labels made, the extent found: what both renderers start from.
fn prepare(
    store: &CurveStore,
    request: &RenderRequest,
) -> Result<(Styling, PlotLabels, DataBounds), ExportError> {
    match request.renderer {
        RendererKind::Gpu => super::check_plot_size(
            request.width_px,
            request.height_px,
            request.pixels_per_point,
        )
        .map_err(GpuError::from)?,
        RendererKind::Cpu => super::check_image_size(request.width_px, request.height_px)
            .map_err(RenderError::from)?,
    }
    if request.renderer == RendererKind::Cpu && request.mode == BaseMode::Density {
        return Err(ExportError::DensityNeedsGpu);
    }
    let styling = style_curves(store, &request.style)?;
    let mut labels = plot_labels(&request.source_name, store.axes(), &styling);
    if let Some(title) = &request.title {
        labels.title.clone_from(title);
    }
    let mut bounds = data_bounds(store, |id| styling.styles[id as usize].is_visible())
        .ok_or(ExportError::NoFiniteValues)?;
    if let Some(pinned) = request.pinned_x.filter(|(a, b)| a < b) {
        bounds.x = pinned;
    }
    Ok((styling, labels, bounds))
}

/// The plot for the GPU renderer: styles, inline decimation, the pinned x-range.
fn plot_curves(
    store: Arc<CurveStore>,
    styling: &Styling,
    request: &RenderRequest,
) -> Result<Arc<PlotCurves>, GpuError> {
    let mut curves = PlotCurves::new(
        egui::Id::unique("lyceum export"),
        store,
        styling.styles.clone(),
        DecimationMode::Inline,
        request.decimation,
    )?;
    if let Some(pinned) = request.pinned_x {
        curves = curves.with_pinned_x(pinned);
    }
    curves.set_mode(request.mode);
    Ok(Arc::new(curves))
}

/// The pixel columns the curves of `store` will be drawn into: the plot frame's width (GPU,
/// layout only) or the picture's (CPU). A source binned into exactly these columns over the
/// pinned x-range (server-side M4) draws the picture of every sample.
pub fn curve_columns(store: Arc<CurveStore>, request: &RenderRequest) -> Result<u32, ExportError> {
    let (styling, labels, _) = prepare(&store, request)?;
    Ok(match request.renderer {
        RendererKind::Cpu => request.width_px,
        RendererKind::Gpu => super::headless::plot_frame_width_px(
            &plot_curves(store, &styling, request)?,
            &labels,
            (request.width_px, request.height_px),
            request.pixels_per_point,
        )?,
    })
}

/// Draw `store` as `request` says.
pub fn render_store(
    store: Arc<CurveStore>,
    request: &RenderRequest,
) -> Result<(Image, RenderReport), ExportError> {
    let (styling, labels, bounds) = prepare(&store, request)?;
    let mut report = RenderReport {
        styling,
        labels,
        points_drawn: None,
        adapter: None,
        device_ms: 0.0,
        draw_ms: 0.0,
    };
    let image = match request.renderer {
        RendererKind::Gpu => {
            let curves = plot_curves(store, &report.styling, request)?;
            let started = Instant::now();
            let gpu = HeadlessGpu::new()?;
            report.device_ms = started.elapsed().as_secs_f64() * 1e3;
            report.adapter = Some(gpu.describe());
            let started = Instant::now();
            let image = super::headless::render_plot(
                &gpu,
                &curves,
                &report.labels,
                (request.width_px, request.height_px),
                request.pixels_per_point,
            )?;
            report.draw_ms = started.elapsed().as_secs_f64() * 1e3;
            image
        }
        RendererKind::Cpu => {
            let started = Instant::now();
            // A 3 % margin above and below, kept within f32 (the rasteriser's number type).
            let pad = (bounds.y.1 - bounds.y.0) * 0.03;
            let limit = f64::from(f32::MAX);
            let (mut y_min, mut y_max) = (
                (bounds.y.0 - pad).max(-limit),
                (bounds.y.1 + pad).min(limit),
            );
            if !((y_max - y_min) as f32).is_finite() {
                (y_min, y_max) = (bounds.y.0, bounds.y.1.min(bounds.y.0 + limit));
            }
            // The same columns a source binned for this picture used (`curve_columns`): the
            // last sample sits on the right edge, its segment drawn up to it.
            let map = PixelMap::new(bounds.x.0, bounds.x.1, request.width_px);
            let decimated = match request.decimation {
                Decimation::M4 => decimate_m4(&store, &map),
                Decimation::AllPoints => all_points(&store, &map),
            };
            report.points_drawn = Some(decimated.point_count());
            let rows = RowMap::new(y_min as f32, y_max as f32, request.height_px);
            let image = render_styled(
                &decimated,
                &report.styling.styles,
                rows,
                request.width_px,
                [255, 255, 255, 255],
            )?;
            report.draw_ms = started.elapsed().as_secs_f64() * 1e3;
            image
        }
    };
    Ok((image, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;

    fn request(renderer: RendererKind) -> RenderRequest {
        RenderRequest {
            renderer,
            width_px: 64,
            height_px: 32,
            pixels_per_point: 1.0,
            decimation: Decimation::M4,
            mode: BaseMode::Lines,
            style: StyleRequest::default(),
            source_name: "test".into(),
            title: None,
            pinned_x: None,
        }
    }

    fn non_background(image: &Image) -> usize {
        image
            .rgba
            .chunks(4)
            .filter(|p| p != &[255, 255, 255, 255])
            .count()
    }

    #[test]
    fn the_cpu_renderer_draws_curves_without_a_result_label() {
        let mut b = CurveStoreBuilder::new(&["class"]);
        b.push_uniform("a", &["x"], 0.0, 1.0, &[1.0, 3.0, 2.0, 5.0, 4.0])
            .unwrap();
        b.push_uniform("b", &["y"], 0.0, 1.0, &[0.0, 0.5]).unwrap();
        let (image, report) =
            render_store(Arc::new(b.finish().unwrap()), &request(RendererKind::Cpu)).unwrap();
        assert_eq!(report.styling.shown, 2);
        assert!(report.points_drawn.unwrap() >= 7);
        assert!(non_background(&image) > 64, "curves are drawn");
        let colours: std::collections::HashSet<&[u8]> = image
            .rgba
            .chunks(4)
            .filter(|p| p != &[255, 255, 255, 255])
            .collect();
        assert_eq!(colours.len(), 2, "one colour per class");
    }

    #[test]
    fn one_point_is_one_lit_pixel_on_the_cpu() {
        let mut b = CurveStoreBuilder::new(&[]);
        b.push_uniform("only", &[], 0.0, 1.0, &[1.5]).unwrap();
        let (image, _) =
            render_store(Arc::new(b.finish().unwrap()), &request(RendererKind::Cpu)).unwrap();
        assert_eq!(non_background(&image), 1);
    }

    #[test]
    fn bad_sizes_and_all_nan_curves_are_errors() {
        let mut b = CurveStoreBuilder::new(&[]);
        b.push_uniform("nan", &[], 0.0, 1.0, &[f32::NAN; 3])
            .unwrap();
        let store = Arc::new(b.finish().unwrap());
        assert!(matches!(
            render_store(Arc::clone(&store), &request(RendererKind::Cpu)),
            Err(ExportError::NoFiniteValues)
        ));
        let mut huge = request(RendererKind::Cpu);
        huge.width_px = 100_000;
        huge.height_px = 100_000;
        assert!(matches!(
            render_store(Arc::clone(&store), &huge),
            Err(ExportError::Cpu(RenderError::Size(_)))
        ));
        let mut tiny_points = request(RendererKind::Gpu);
        tiny_points.pixels_per_point = 100.0;
        assert!(matches!(
            render_store(store, &tiny_points),
            Err(ExportError::Gpu(GpuError::Size(_)))
        ));
    }
}
