//! Headless rendering of whole plots: an egui frame with [`curves_plot_ui`] (axes, tick labels,
//! title from egui_plot; curves from the GPU pipeline) drawn by egui_wgpu into an offscreen
//! texture on any wgpu adapter (Mesa's lavapipe on machines without a GPU), read back as RGBA.
//! `lyceum render`, the reference-image tests and the drawing benchmark use it.

use std::sync::Arc;

use super::cpu::Image;
use super::gpu::{GpuError, HeadlessGpu, OFFSCREEN_FORMAT, OffscreenTarget};
use super::plot::{CurveRenderResources, PlotCurves, PlotLabels, curves_plot_ui};

/// Background of exported pictures (egui's light panel colour is used for the rest).
const BACKGROUND: [u8; 4] = [255, 255, 255, 255];

/// Render `curves` as a plot `width` × `height` physical pixels at `pixels_per_point`.
pub fn render_plot(
    gpu: &HeadlessGpu,
    curves: &Arc<PlotCurves>,
    labels: &PlotLabels,
    size_px: (u32, u32),
    pixels_per_point: f32,
) -> Result<Image, GpuError> {
    render_ui(gpu, size_px, pixels_per_point, |ui| {
        curves_plot_ui(ui, curves, labels);
    })
}

/// Render any egui UI (inside a white central panel) offscreen, with the curve renderer
/// available to its plots.
pub fn render_ui(
    gpu: &HeadlessGpu,
    (width, height): (u32, u32),
    pixels_per_point: f32,
    mut add_contents: impl FnMut(&mut egui::Ui),
) -> Result<Image, GpuError> {
    super::check_plot_size(width, height, pixels_per_point)?;
    gpu.check_image_size(width, height)?;
    let ctx = egui::Context::default();
    ctx.set_visuals(egui::Visuals::light());
    let input = raw_input((width, height), pixels_per_point);
    let target = super::gpu::catch_gpu_errors(&gpu.device, || {
        let mut painter = UiPainter::new(
            gpu,
            (width, height),
            egui_wgpu::RendererOptions {
                // Reproducible pictures for reference-image tests.
                dithering: false,
                predictable_texture_filtering: true,
                ..Default::default()
            },
        );
        let mut run = || run_pass(&ctx, &input, &mut add_contents);
        // The first pass lays the plot out (axis widths follow the tick labels); the second
        // draws it.
        let mut first = run();
        let mut output = run();
        for delta in [&mut first.textures_delta, &mut output.textures_delta] {
            painter.update_textures(gpu, delta);
            delta.clear();
        }
        painter.paint(gpu, &ctx, output.shapes, output.pixels_per_point, true)?;
        Ok(painter.target)
    })?;
    gpu.read(&target)
}

/// egui's frames painted by egui_wgpu into an offscreen target, as eframe paints them into
/// the window: the textures egui sent so far (the font atlas, the CPU renderer's pictures)
/// kept between frames, and the curve renderer available to plots.
pub struct UiPainter {
    renderer: egui_wgpu::Renderer,
    target: OffscreenTarget,
}

impl std::fmt::Debug for UiPainter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiPainter")
            .field("width", &self.target.width)
            .field("height", &self.target.height)
            .finish_non_exhaustive()
    }
}

impl UiPainter {
    pub fn new(
        gpu: &HeadlessGpu,
        (width, height): (u32, u32),
        options: egui_wgpu::RendererOptions,
    ) -> Self {
        let mut renderer = egui_wgpu::Renderer::new(&gpu.device, OFFSCREEN_FORMAT, options);
        CurveRenderResources::install(&mut renderer, &gpu.device, OFFSCREEN_FORMAT);
        Self {
            renderer,
            target: OffscreenTarget::new(&gpu.device, width, height),
        }
    }

    /// Apply a frame's texture changes (every frame's, in order, or textures go missing); the
    /// caller clears the delta once every painter has it.
    pub fn update_textures(&mut self, gpu: &HeadlessGpu, delta: &egui::TexturesDelta) {
        for (id, images) in &delta.set {
            for image in images {
                self.renderer
                    .update_texture(&gpu.device, &gpu.queue, *id, image);
            }
        }
        for id in &delta.free {
            self.renderer.free_texture(id);
        }
    }

    /// Tessellate and paint `shapes` over the background, and submit; with `copy_out`, the
    /// picture is also copied for [`HeadlessGpu::read`].
    pub fn paint(
        &mut self,
        gpu: &HeadlessGpu,
        ctx: &egui::Context,
        shapes: Vec<egui::epaint::ClippedShape>,
        pixels_per_point: f32,
        copy_out: bool,
    ) -> Result<wgpu::SubmissionIndex, GpuError> {
        let paint_jobs = ctx.tessellate(shapes, pixels_per_point);
        let screen = egui_wgpu::ScreenDescriptor {
            size_in_pixels: [self.target.width, self.target.height],
            pixels_per_point,
        };
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("lyceum plot"),
            });
        let mut command_buffers = self.renderer.update_buffers(
            &gpu.device,
            &gpu.queue,
            &mut encoder,
            &paint_jobs,
            &screen,
        );
        {
            let mut pass = self
                .target
                .begin_pass(&mut encoder, BACKGROUND)
                .forget_lifetime();
            self.renderer.render(&mut pass, &paint_jobs, &screen);
        }
        if let Some(error) = self
            .renderer
            .callback_resources
            .get::<CurveRenderResources>()
            .and_then(|resources| resources.last_error.clone())
        {
            return Err(GpuError::Upload(error));
        }
        if copy_out {
            self.target.copy_out(&mut encoder);
        }
        command_buffers.push(encoder.finish());
        Ok(gpu.queue.submit(command_buffers))
    }
}

/// The input of one headless frame: the picture's size in points at `pixels_per_point`.
fn raw_input((width, height): (u32, u32), pixels_per_point: f32) -> egui::RawInput {
    let screen_rect = egui::Rect::from_min_size(
        egui::Pos2::ZERO,
        egui::vec2(width as f32, height as f32) / pixels_per_point,
    );
    let mut input = egui::RawInput {
        screen_rect: Some(screen_rect),
        ..Default::default()
    };
    input
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .native_pixels_per_point = Some(pixels_per_point);
    input
}

/// One egui pass of `add_contents` inside a white central panel.
fn run_pass(
    ctx: &egui::Context,
    input: &egui::RawInput,
    add_contents: &mut impl FnMut(&mut egui::Ui),
) -> egui::FullOutput {
    ctx.run_ui(input.clone(), |ui| {
        egui::CentralPanel::default()
            .frame(egui::Frame::central_panel(ui.style()).fill(egui::Color32::WHITE))
            .show(ui, &mut *add_contents);
    })
}

/// The width in physical pixels of the curves' frame inside a whole plot of `size_px`: the
/// pixel columns [`render_plot`] will decimate for. Layout only (no GPU): so a source can be
/// asked for exactly those columns before drawing.
pub fn plot_frame_width_px(
    curves: &Arc<PlotCurves>,
    labels: &PlotLabels,
    size_px: (u32, u32),
    pixels_per_point: f32,
) -> Result<u32, GpuError> {
    super::check_plot_size(size_px.0, size_px.1, pixels_per_point)?;
    let ctx = egui::Context::default();
    ctx.set_visuals(egui::Visuals::light());
    let input = raw_input(size_px, pixels_per_point);
    let mut frame = egui::Rect::NOTHING;
    let mut contents = |ui: &mut egui::Ui| {
        frame = *curves_plot_ui(ui, curves, labels).plot.transform.frame();
    };
    // As in `render_ui`: the first pass sizes the axes, the second is what is drawn.
    for _ in 0..2 {
        let mut output = run_pass(&ctx, &input, &mut contents);
        output.textures_delta.clear();
    }
    Ok(super::plot::size_in_pixels(frame, pixels_per_point).0)
}
