//! The wgpu curve renderer. [`CurvePipelines`] holds the three pipelines (WGSL in `shaders/`),
//! built once per device and target format; [`PlotGpu`] holds one plot's buffers, so several
//! plots on a screen never share state.
//!
//! The base layer is drawn in two steps: a compute pass rasterises every visible curve with the
//! per-column 1-px rule of `curves::raster` into a per-pixel (hits, topmost curve) buffer
//! (`raster.wgsl`), and one draw turns that buffer into colour — lines or density
//! (`composite.wgsl`). Highlighted curves are then drawn as wide antialiased quads
//! (`wide_lines.wgsl`), one instanced draw. Points go to the GPU exactly as the decimator wrote
//! them (`x_px`, `y` slices, no interleaving copy); per-curve colour, alpha, width, visibility
//! and highlight live in a storage buffer indexed by curve id, so restyling never touches them.

use std::num::NonZeroU64;
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use crate::curves::{Decimated, RowMap};

/// Prepended to every module: the style struct and the gap test.
const COMMON_WGSL: &str = include_str!("../../shaders/common.wgsl");
const RASTER_WGSL: &str = include_str!("../../shaders/raster.wgsl");
const COMPOSITE_WGSL: &str = include_str!("../../shaders/composite.wgsl");
const WIDE_LINES_WGSL: &str = include_str!("../../shaders/wide_lines.wgsl");

/// Points per compute workgroup; a chunk never spans two curves.
const CHUNK_POINTS: u32 = 256;
/// Workgroups per dispatch row (the per-dimension limit is 65,535).
const DISPATCH_WIDTH: u32 = 32_768;
/// Pixels reduced per thread by `max_hits`.
const MAX_HITS_PIXELS_PER_THREAD: u32 = 16;
/// Curve ids share a 32-bit key with an 8-bit priority.
pub const MAX_CURVES: usize = (1 << 24) - 1;

/// How one curve is drawn: a storage-buffer row indexed by curve id.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct CurveStyle {
    /// RGBA8, red in the low byte (WGSL `unpack4x8unorm`).
    pub rgba: u32,
    /// Width of a highlighted curve's line, in physical pixels.
    pub width_px: f32,
    pub flags: u32,
    /// Where curves overlap, the higher priority shows (then the higher curve id).
    pub priority: u32,
}

impl CurveStyle {
    pub const VISIBLE: u32 = 1;
    pub const HIGHLIGHTED: u32 = 2;

    /// A visible 1-px curve.
    pub fn line(rgba: [u8; 4]) -> Self {
        Self {
            rgba: u32::from_le_bytes(rgba),
            width_px: 1.0,
            flags: Self::VISIBLE,
            priority: 0,
        }
    }

    #[must_use]
    pub fn with_priority(mut self, priority: u8) -> Self {
        self.priority = u32::from(priority);
        self
    }

    /// Drawn on top as a wide antialiased line.
    #[must_use]
    pub fn highlighted(mut self, width_px: f32) -> Self {
        self.flags |= Self::HIGHLIGHTED;
        self.width_px = width_px;
        self
    }

    #[must_use]
    pub fn hidden(mut self) -> Self {
        self.flags &= !Self::VISIBLE;
        self
    }

    pub fn is_visible(&self) -> bool {
        self.flags & Self::VISIBLE != 0
    }

    pub fn is_highlighted(&self) -> bool {
        self.flags & Self::HIGHLIGHTED != 0
    }
}

/// How the base layer turns hit counts into colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BaseMode {
    /// Each pixel takes the topmost curve's colour, with `hits` layers of its alpha.
    #[default]
    Lines,
    /// Per-pixel hit counts through a log colour map.
    Density,
}

/// Everything one plot draws in one frame.
#[derive(Clone, Debug)]
pub struct CurveFrame {
    /// Curves decimated for a raster `raster_width` columns wide.
    pub decimated: Arc<Decimated>,
    pub styles: Arc<Vec<CurveStyle>>,
    pub raster_width: u32,
    /// Data y to rows (row 0 at the bottom).
    pub rows: RowMap,
    /// Viewport pixel x → raster column: `x * x_scale + x_offset` (1 and 0 when the
    /// decimation matches the view; otherwise a stale picture stretched until a new one comes).
    pub x_scale: f32,
    pub x_offset: f32,
    pub mode: BaseMode,
}

impl CurveFrame {
    /// A frame whose raster is the decimation's own width (no stretching), over `rows`.
    pub fn exact(
        decimated: Arc<Decimated>,
        styles: Arc<Vec<CurveStyle>>,
        width_px: u32,
        rows: RowMap,
        mode: BaseMode,
    ) -> Self {
        Self {
            decimated,
            styles,
            raster_width: width_px,
            rows,
            x_scale: 1.0,
            x_offset: 0.0,
            mode,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter (install Mesa's lavapipe, `mesa-vulkan-drivers`, for software Vulkan): {0}"
    )]
    NoAdapter(String),
    #[error("the GPU adapter refused a device: {0}")]
    NoDevice(String),
    #[error("uploading curves to the GPU failed: {0}")]
    Upload(String),
    #[error("reading the image back from the GPU failed: {0}")]
    Readback(String),
    #[error("{curves} curves exceed the renderer's limit of {MAX_CURVES}")]
    TooManyCurves { curves: usize },
    #[error("the curves have {curves} entries but the style table has {styles}")]
    StyleCount { curves: usize, styles: usize },
    #[error("{what} needs {bytes} bytes of GPU buffer, more than this adapter allows ({limit})")]
    TooLarge {
        what: &'static str,
        bytes: u64,
        limit: u64,
    },
    #[error(
        "a {width} × {height} picture exceeds this adapter's largest texture ({max} px a side)"
    )]
    ImageTooLarge { width: u32, height: u32, max: u32 },
    #[error("the GPU reported an error: {0}")]
    Device(String),
    #[error(transparent)]
    Size(#[from] super::SizeError),
}

/// Where the device's errors go when no error scope catches them: logged and kept for the
/// caller to show, never a panic (wgpu's default handler panics).
#[derive(Clone, Debug, Default)]
pub struct GpuErrorSlot(Arc<std::sync::Mutex<Option<String>>>);

impl GpuErrorSlot {
    /// A slot receiving `device`'s uncaptured errors and its loss.
    pub fn install(device: &wgpu::Device) -> Self {
        let slot = Self::default();
        let errors = slot.clone();
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            tracing::error!(%error, "uncaptured GPU error");
            errors.set(error.to_string());
        }));
        let lost = slot.clone();
        device.set_device_lost_callback(move |reason, message| {
            tracing::error!(?reason, %message, "GPU device lost");
            lost.set(format!("the GPU device was lost ({reason:?}): {message}"));
        });
        slot
    }

    fn set(&self, message: String) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(message);
        }
    }

    /// The first error since the last call, if any.
    pub fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Run `work` with its validation, out-of-memory and internal errors caught as a [`GpuError`]
/// instead of reaching the device's handler.
pub fn catch_gpu_errors<T>(
    device: &wgpu::Device,
    work: impl FnOnce() -> Result<T, GpuError>,
) -> Result<T, GpuError> {
    let scopes = [
        wgpu::ErrorFilter::Validation,
        wgpu::ErrorFilter::OutOfMemory,
        wgpu::ErrorFilter::Internal,
    ]
    .map(|filter| device.push_error_scope(filter));
    let result = work();
    // Scopes pop in reverse order; on native the futures are ready at once.
    let mut first_error = None;
    for scope in scopes.into_iter().rev() {
        if let Some(error) = pollster::block_on(scope.pop()) {
            first_error.get_or_insert(error);
        }
    }
    match first_error {
        Some(error) => Err(GpuError::Device(error.to_string())),
        None => result,
    }
}

/// A device and queue of our own, for headless work (PNG export, tests, benchmarks).
#[derive(Debug)]
pub struct HeadlessGpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: wgpu::AdapterInfo,
    /// Errors no scope caught (a backstop: headless work runs inside [`catch_gpu_errors`]).
    pub errors: GpuErrorSlot,
}

impl HeadlessGpu {
    /// The first adapter wgpu finds (`WGPU_BACKEND` and friends are honoured).
    pub fn new() -> Result<Self, GpuError> {
        let adapter = first_adapter()?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("lyceum headless"),
            required_limits: wgpu::Limits {
                max_storage_buffer_binding_size: adapter.limits().max_storage_buffer_binding_size,
                max_buffer_size: adapter.limits().max_buffer_size,
                max_texture_dimension_2d: adapter.limits().max_texture_dimension_2d,
                ..wgpu::Limits::default()
            },
            ..Default::default()
        }))
        .map_err(|e| GpuError::NoDevice(e.to_string()))?;
        let errors = GpuErrorSlot::install(&device);
        Ok(Self {
            device,
            queue,
            adapter: adapter.get_info(),
            errors,
        })
    }

    /// Wait for `target`'s picture (after [`OffscreenTarget::copy_out`] was submitted); an
    /// error the device reported meanwhile, outside any scope, fails it.
    pub fn read(&self, target: &OffscreenTarget) -> Result<super::cpu::Image, GpuError> {
        let image = target.read(&self.device)?;
        match self.errors.take() {
            Some(error) => Err(GpuError::Device(error)),
            None => Ok(image),
        }
    }

    /// Refuse a picture no renderer makes, or one larger than the device's textures.
    pub fn check_image_size(&self, width: u32, height: u32) -> Result<(), GpuError> {
        super::check_image_size(width, height)?;
        let max = self.device.limits().max_texture_dimension_2d;
        if width > max || height > max {
            return Err(GpuError::ImageTooLarge { width, height, max });
        }
        Ok(())
    }

    /// "llvmpipe (LLVM 15.0.6, 256 bits) · Vulkan · Cpu".
    pub fn describe(&self) -> String {
        format!(
            "{} · {:?} · {:?}",
            self.adapter.name, self.adapter.backend, self.adapter.device_type
        )
    }
}

/// Storage buffers the pipelines bind in one shader stage at most (the compute pass).
const STORAGE_BUFFERS_PER_STAGE: u32 = 6;

/// The adapter [`HeadlessGpu::new`] opens.
fn first_adapter() -> Result<wgpu::Adapter, GpuError> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .map_err(|e| GpuError::NoAdapter(e.to_string()))
}

/// Why this machine cannot draw a whole plot headlessly (no adapter, or one that cannot run
/// [`CurvePipelines`]), if it cannot; asks the adapter only, opens no device.
pub fn headless_plot_unsupported() -> Option<String> {
    match first_adapter() {
        Err(e) => Some(e.to_string()),
        Ok(adapter) => pipelines_unsupported(
            &adapter.limits(),
            adapter
                .get_downlevel_capabilities()
                .flags
                .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS),
        ),
    }
}

/// Why a device cannot run [`CurvePipelines`] (its compute pass and storage buffers), if it
/// cannot: GL drivers and WebGL-class devices have no storage buffers in compute shaders,
/// and building the pipelines there fails validation. `compute_shaders`: the adapter's
/// downlevel flag.
pub fn pipelines_unsupported(limits: &wgpu::Limits, compute_shaders: bool) -> Option<String> {
    if !compute_shaders {
        return Some("the graphics driver runs no compute shaders".to_owned());
    }
    let per_stage = limits.max_storage_buffers_per_shader_stage;
    if per_stage < STORAGE_BUFFERS_PER_STAGE {
        return Some(format!(
            "the graphics driver allows {per_stage} storage buffers per shader stage; the curve \
             renderer needs {STORAGE_BUFFERS_PER_STAGE}"
        ));
    }
    if limits.max_compute_workgroups_per_dimension == 0 {
        return Some("the graphics driver runs no compute workgroups".to_owned());
    }
    None
}

/// The renderer's pipelines for one device and colour target format.
#[derive(Debug)]
pub struct CurvePipelines {
    raster_layout: wgpu::BindGroupLayout,
    rasterize: wgpu::ComputePipeline,
    max_hits: wgpu::ComputePipeline,
    composite_layout: wgpu::BindGroupLayout,
    composite: wgpu::RenderPipeline,
    lines_layout: wgpu::BindGroupLayout,
    wide_lines: wgpu::RenderPipeline,
}

fn layout_entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
    ty: wgpu::BindingType,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty,
        count: None,
    }
}

fn uniform_entry(binding: u32, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayoutEntry {
    layout_entry(
        binding,
        visibility,
        wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
    )
}

fn storage_entry(
    binding: u32,
    visibility: wgpu::ShaderStages,
    read_only: bool,
) -> wgpu::BindGroupLayoutEntry {
    layout_entry(
        binding,
        visibility,
        wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
    )
}

/// Premultiplied alpha, as egui blends.
const PREMULTIPLIED: wgpu::BlendState = wgpu::BlendState {
    color: wgpu::BlendComponent {
        src_factor: wgpu::BlendFactor::One,
        dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
        operation: wgpu::BlendOperation::Add,
    },
    alpha: wgpu::BlendComponent {
        src_factor: wgpu::BlendFactor::One,
        dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
        operation: wgpu::BlendOperation::Add,
    },
};

impl CurvePipelines {
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Self {
        let compute = wgpu::ShaderStages::COMPUTE;
        let raster_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("lyceum raster"),
            entries: &[
                uniform_entry(0, compute),
                storage_entry(1, compute, true),
                storage_entry(2, compute, true),
                storage_entry(3, compute, true),
                storage_entry(4, compute, true),
                storage_entry(5, compute, false),
                storage_entry(6, compute, false),
            ],
        });
        let raster_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("raster.wgsl"),
            source: wgpu::ShaderSource::Wgsl(format!("{COMMON_WGSL}{RASTER_WGSL}").into()),
        });
        let raster_pipeline_layout =
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("lyceum raster"),
                bind_group_layouts: &[Some(&raster_layout)],
                immediate_size: 0,
            });
        let compute_pipeline = |entry_point: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry_point),
                layout: Some(&raster_pipeline_layout),
                module: &raster_module,
                entry_point: Some(entry_point),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache: None,
            })
        };
        let (rasterize, max_hits) = (compute_pipeline("rasterize"), compute_pipeline("max_hits"));

        let fragment = wgpu::ShaderStages::FRAGMENT;
        let composite_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("lyceum composite"),
            entries: &[
                uniform_entry(0, fragment),
                storage_entry(1, fragment, true),
                storage_entry(2, fragment, true),
                storage_entry(3, fragment, true),
            ],
        });
        let vertex = wgpu::ShaderStages::VERTEX;
        let both = wgpu::ShaderStages::VERTEX_FRAGMENT;
        let lines_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("lyceum wide lines"),
            entries: &[
                uniform_entry(0, both),
                storage_entry(1, vertex, true),
                storage_entry(2, vertex, true),
                storage_entry(3, vertex, true),
                storage_entry(4, vertex, true),
            ],
        });
        let render_pipeline =
            |label: &str, source: &str, layout: &wgpu::BindGroupLayout, vs: &str, fs: &str| {
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(label),
                    source: wgpu::ShaderSource::Wgsl(format!("{COMMON_WGSL}{source}").into()),
                });
                let pipeline_layout =
                    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(label),
                        bind_group_layouts: &[Some(layout)],
                        immediate_size: 0,
                    });
                device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                    label: Some(label),
                    layout: Some(&pipeline_layout),
                    vertex: wgpu::VertexState {
                        module: &module,
                        entry_point: Some(vs),
                        compilation_options: wgpu::PipelineCompilationOptions::default(),
                        buffers: &[],
                    },
                    primitive: wgpu::PrimitiveState::default(),
                    depth_stencil: None,
                    multisample: wgpu::MultisampleState::default(),
                    fragment: Some(wgpu::FragmentState {
                        module: &module,
                        entry_point: Some(fs),
                        compilation_options: wgpu::PipelineCompilationOptions::default(),
                        targets: &[Some(wgpu::ColorTargetState {
                            format: target_format,
                            blend: Some(PREMULTIPLIED),
                            write_mask: wgpu::ColorWrites::ALL,
                        })],
                    }),
                    multiview_mask: None,
                    cache: None,
                })
            };
        let composite = render_pipeline(
            "composite.wgsl",
            COMPOSITE_WGSL,
            &composite_layout,
            "fullscreen",
            "composite",
        );
        let wide_lines = render_pipeline(
            "wide_lines.wgsl",
            WIDE_LINES_WGSL,
            &lines_layout,
            "expand",
            "shade",
        );
        Self {
            raster_layout,
            rasterize,
            max_hits,
            composite_layout,
            composite,
            lines_layout,
            wide_lines,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
struct RasterParams {
    width: u32,
    height: u32,
    chunk_count: u32,
    dispatch_width: u32,
    anchor_y: f32,
    rows_per_unit: f32,
    bottom_row: f32,
    pixel_count: u32,
    count_hits: u32,
    _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
struct CompositeParams {
    origin_px: [f32; 2],
    width: u32,
    height: u32,
    x_scale: f32,
    x_offset: f32,
    density: u32,
    counted: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
struct LineParams {
    viewport_px: [f32; 4],
    x_scale: f32,
    x_offset: f32,
    anchor_y: f32,
    rows_per_unit: f32,
    bottom_row: f32,
    run_count: u32,
    _pad: [u32; 2],
}

/// A storage buffer that grows (never shrinks) to fit what is written into it.
#[derive(Debug)]
struct GrowingBuffer {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buffer: wgpu::Buffer,
}

impl GrowingBuffer {
    fn new(device: &wgpu::Device, label: &'static str, usage: wgpu::BufferUsages) -> Self {
        let buffer = Self::create(device, label, usage, 16);
        Self {
            label,
            usage,
            buffer,
        }
    }

    fn create(
        device: &wgpu::Device,
        label: &'static str,
        usage: wgpu::BufferUsages,
        size: u64,
    ) -> wgpu::Buffer {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Make room for `size` bytes; true when the buffer was replaced (bind groups go stale).
    /// Sizes are whole multiples of 4 bytes (wgpu's rule for storage bindings and copies),
    /// whatever the point count; more than the device allows is an error, not a panic.
    fn reserve(&mut self, device: &wgpu::Device, size: u64) -> Result<bool, GpuError> {
        let limits = device.limits();
        let limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let size = size.max(16).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        if size > limit {
            return Err(GpuError::TooLarge {
                what: self.label,
                bytes: size,
                limit,
            });
        }
        if self.buffer.size() >= size {
            return Ok(false);
        }
        // Slow growth (a dataset streaming in) gets half again as slack, so it does not
        // reallocate every frame; a first size or a jump is exact, so 160 MB of points do not
        // hold 240 MB of buffer (video memory, or the process's own on a software adapter).
        let slack = if size < 2 * self.buffer.size() {
            size / 2
        } else {
            0
        };
        let grown = (size + slack)
            .next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT)
            .min(limit / wgpu::COPY_BUFFER_ALIGNMENT * wgpu::COPY_BUFFER_ALIGNMENT);
        self.buffer = Self::create(device, self.label, self.usage, grown);
        Ok(true)
    }

    fn write(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        bytes: &[u8],
    ) -> Result<bool, GpuError> {
        let replaced = self.reserve(device, bytes.len() as u64)?;
        if !bytes.is_empty() {
            queue.write_buffer(&self.buffer, 0, bytes);
        }
        Ok(replaced)
    }
}

/// One plot's GPU state: point, chunk, style and pixel buffers, and what they hold.
#[derive(Debug)]
pub struct PlotGpu {
    xs: GrowingBuffer,
    ys: GrowingBuffer,
    chunks: GrowingBuffer,
    styles: GrowingBuffer,
    runs: GrowingBuffer,
    pixels: GrowingBuffer,
    stats: wgpu::Buffer,
    raster_params: wgpu::Buffer,
    composite_params: wgpu::Buffer,
    line_params: wgpu::Buffer,
    bind_groups: Option<BindGroups>,
    chunk_count: u32,
    translucent_styles: bool,
    run_count: u32,
    line_instances: u32,
    uploaded_points: Option<Arc<Decimated>>,
    point_uploads: u64,
    uploaded_styles: Option<Arc<Vec<CurveStyle>>>,
    rasterised: Option<RasterParams>,
    rasterised_mode: BaseMode,
}

#[derive(Debug)]
struct BindGroups {
    raster: wgpu::BindGroup,
    composite: wgpu::BindGroup,
    lines: wgpu::BindGroup,
}

fn uniform_buffer(device: &wgpu::Device, label: &str, size: usize) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Per chunk of up to [`CHUNK_POINTS`] points of one curve: (curve, first point, curve start,
/// curve end); and per highlighted visible curve: (curve, first point, segments, first instance),
/// in drawing order: by priority, then curve, so a curve of higher priority (a selected one)
/// is drawn over the others' wide lines, as over their 1-px lines.
fn chunk_and_run_tables(
    decimated: &Decimated,
    styles: &[CurveStyle],
) -> (Vec<[u32; 4]>, Vec<[u32; 4]>) {
    let mut chunks = Vec::with_capacity(
        decimated.point_count() / CHUNK_POINTS as usize + decimated.ranges.len(),
    );
    let mut highlighted = Vec::new();
    for (curve, (&(start, len), style)) in decimated.ranges.iter().zip(styles).enumerate() {
        let curve = curve as u32;
        let end = start + len;
        let mut first = start;
        while first < end {
            chunks.push([curve, first, start, end]);
            first += CHUNK_POINTS;
        }
        if style.is_visible() && style.is_highlighted() && len >= 2 {
            highlighted.push((style.priority, curve, start, len));
        }
    }
    // Stable: curve order within a priority.
    highlighted.sort_by_key(|&(priority, ..)| priority);
    let mut instances = 0u32;
    let runs = (highlighted.into_iter())
        .map(|(_, curve, start, len)| {
            let run = [curve, start, len - 1, instances];
            instances += len - 1;
            run
        })
        .collect();
    (chunks, runs)
}

impl PlotGpu {
    pub fn new(device: &wgpu::Device) -> Self {
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        Self {
            xs: GrowingBuffer::new(device, "lyceum x_px", storage),
            ys: GrowingBuffer::new(device, "lyceum y", storage),
            chunks: GrowingBuffer::new(device, "lyceum chunks", storage),
            styles: GrowingBuffer::new(device, "lyceum styles", storage),
            runs: GrowingBuffer::new(device, "lyceum highlighted runs", storage),
            pixels: GrowingBuffer::new(
                device,
                "lyceum pixel hits",
                storage | wgpu::BufferUsages::COPY_SRC,
            ),
            stats: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("lyceum stats"),
                size: 16,
                usage: storage,
                mapped_at_creation: false,
            }),
            raster_params: uniform_buffer(
                device,
                "lyceum raster params",
                size_of::<RasterParams>(),
            ),
            composite_params: uniform_buffer(
                device,
                "lyceum composite params",
                size_of::<CompositeParams>(),
            ),
            line_params: uniform_buffer(device, "lyceum line params", size_of::<LineParams>()),
            bind_groups: None,
            chunk_count: 0,
            translucent_styles: false,
            run_count: 0,
            line_instances: 0,
            uploaded_points: None,
            point_uploads: 0,
            uploaded_styles: None,
            rasterised: None,
            rasterised_mode: BaseMode::Lines,
        }
    }

    /// Bytes of the plot's GPU buffers (points, tables, pixels, parameters): video memory on
    /// a discrete GPU, the process's own memory on a software adapter.
    pub fn buffer_bytes(&self) -> u64 {
        [
            &self.xs.buffer,
            &self.ys.buffer,
            &self.chunks.buffer,
            &self.styles.buffer,
            &self.runs.buffer,
            &self.pixels.buffer,
            &self.stats,
            &self.raster_params,
            &self.composite_params,
            &self.line_params,
        ]
        .iter()
        .map(|buffer| buffer.size())
        .sum()
    }

    /// How many times points were uploaded (restyling must not upload them).
    pub fn point_uploads(&self) -> u64 {
        self.point_uploads
    }

    /// Upload what changed since the last frame and rasterise the base layer into
    /// `encoder`. `viewport_px` is the plot's rectangle in framebuffer pixels (left, top,
    /// width, height).
    /// On any error (limits, or one the GPU reports) nothing is painted until a later frame
    /// succeeds.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        pipelines: &CurvePipelines,
        frame: &CurveFrame,
        viewport_px: [f32; 4],
    ) -> Result<(), GpuError> {
        let result = catch_gpu_errors(device, || {
            self.upload_and_rasterise(device, queue, encoder, pipelines, frame, viewport_px)
        });
        if result.is_err() {
            // Forget what the buffers hold: the next frame starts over.
            self.bind_groups = None;
            self.uploaded_points = None;
            self.uploaded_styles = None;
            self.rasterised = None;
            self.line_instances = 0;
        }
        result
    }

    fn upload_and_rasterise(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        pipelines: &CurvePipelines,
        frame: &CurveFrame,
        viewport_px: [f32; 4],
    ) -> Result<(), GpuError> {
        let curves = frame.decimated.ranges.len();
        if curves > MAX_CURVES {
            return Err(GpuError::TooManyCurves { curves });
        }
        if frame.styles.len() < curves {
            return Err(GpuError::StyleCount {
                curves,
                styles: frame.styles.len(),
            });
        }
        let mut stale_bindings = self.bind_groups.is_none();
        let new_points = !self
            .uploaded_points
            .as_ref()
            .is_some_and(|uploaded| Arc::ptr_eq(uploaded, &frame.decimated));
        let new_styles = !self
            .uploaded_styles
            .as_ref()
            .is_some_and(|uploaded| Arc::ptr_eq(uploaded, &frame.styles));
        if new_points {
            stale_bindings |=
                self.xs
                    .write(device, queue, bytemuck::cast_slice(&frame.decimated.x_px))?;
            stale_bindings |=
                self.ys
                    .write(device, queue, bytemuck::cast_slice(&frame.decimated.y))?;
            self.point_uploads += 1;
        }
        if new_points || new_styles {
            let (chunks, runs) = chunk_and_run_tables(&frame.decimated, &frame.styles);
            stale_bindings |= self
                .chunks
                .write(device, queue, bytemuck::cast_slice(&chunks))?;
            stale_bindings |= self
                .runs
                .write(device, queue, bytemuck::cast_slice(&runs))?;
            stale_bindings |=
                self.styles
                    .write(device, queue, bytemuck::cast_slice(&frame.styles))?;
            self.chunk_count = chunks.len() as u32;
            // Stacked alpha needs hit counts; opaque lines do not.
            self.translucent_styles = frame.styles.iter().any(|style| style.rgba >> 24 != 0xff);
            self.line_instances = runs.last().map_or(0, |run| run[2] + run[3]);
            self.run_count = runs.len() as u32;
            self.uploaded_points = Some(Arc::clone(&frame.decimated));
            self.uploaded_styles = Some(Arc::clone(&frame.styles));
            self.rasterised = None;
        }
        let pixels = u64::from(frame.raster_width) * u64::from(frame.rows.height_px);
        stale_bindings |= self.pixels.reserve(device, pixels * 8)?;
        // The buffer limit (≤ 4 GiB) keeps the pixel count within u32.
        let pixel_count = u32::try_from(pixels).map_err(|_| GpuError::TooLarge {
            what: "lyceum pixel hits",
            bytes: pixels * 8,
            limit: u64::from(u32::MAX),
        })?;
        if stale_bindings {
            self.bind_groups = Some(self.bind_groups_for(device, pipelines));
            self.rasterised = None;
        }

        let raster = RasterParams {
            width: frame.raster_width,
            height: frame.rows.height_px,
            chunk_count: self.chunk_count,
            dispatch_width: DISPATCH_WIDTH,
            anchor_y: frame.rows.anchor_y(),
            rows_per_unit: frame.rows.rows_per_unit(),
            bottom_row: frame.rows.bottom_row(),
            pixel_count,
            count_hits: u32::from(frame.mode == BaseMode::Density || self.translucent_styles),
            _pad: [0; 3],
        };
        if self.rasterised != Some(raster) || self.rasterised_mode != frame.mode {
            queue.write_buffer(&self.raster_params, 0, bytemuck::bytes_of(&raster));
            self.rasterise(encoder, pipelines, raster, frame.mode);
            self.rasterised = Some(raster);
            self.rasterised_mode = frame.mode;
        }

        let composite = CompositeParams {
            origin_px: [viewport_px[0], viewport_px[1]],
            width: frame.raster_width,
            height: frame.rows.height_px,
            x_scale: frame.x_scale,
            x_offset: frame.x_offset,
            density: u32::from(frame.mode == BaseMode::Density),
            counted: raster.count_hits,
        };
        queue.write_buffer(&self.composite_params, 0, bytemuck::bytes_of(&composite));
        // Wide lines map raster columns back to viewport pixels: the inverse of the composite map.
        let lines = LineParams {
            viewport_px,
            x_scale: 1.0 / frame.x_scale,
            x_offset: -frame.x_offset / frame.x_scale,
            anchor_y: frame.rows.anchor_y(),
            rows_per_unit: frame.rows.rows_per_unit(),
            bottom_row: frame.rows.bottom_row(),
            run_count: self.run_count,
            _pad: [0; 2],
        };
        queue.write_buffer(&self.line_params, 0, bytemuck::bytes_of(&lines));
        Ok(())
    }

    fn rasterise(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        pipelines: &CurvePipelines,
        raster: RasterParams,
        mode: BaseMode,
    ) {
        let Some(bind_groups) = &self.bind_groups else {
            return;
        };
        encoder.clear_buffer(
            &self.pixels.buffer,
            0,
            NonZeroU64::new(u64::from(raster.pixel_count) * 8).map(NonZeroU64::get),
        );
        encoder.clear_buffer(&self.stats, 0, None);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("lyceum rasterise"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, &bind_groups.raster, &[]);
        if raster.chunk_count > 0 {
            pass.set_pipeline(&pipelines.rasterize);
            let rows = raster.chunk_count.div_ceil(DISPATCH_WIDTH);
            pass.dispatch_workgroups(raster.chunk_count.min(DISPATCH_WIDTH), rows, 1);
        }
        if mode == BaseMode::Density && raster.pixel_count > 0 {
            pass.set_pipeline(&pipelines.max_hits);
            let threads = raster.pixel_count.div_ceil(MAX_HITS_PIXELS_PER_THREAD);
            pass.dispatch_workgroups(threads.div_ceil(256), 1, 1);
        }
    }

    fn bind_groups_for(&self, device: &wgpu::Device, pipelines: &CurvePipelines) -> BindGroups {
        let group = |label: &str, layout: &wgpu::BindGroupLayout, buffers: &[&wgpu::Buffer]| {
            let entries: Vec<_> = buffers
                .iter()
                .enumerate()
                .map(|(binding, buffer)| wgpu::BindGroupEntry {
                    binding: binding as u32,
                    resource: buffer.as_entire_binding(),
                })
                .collect();
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(label),
                layout,
                entries: &entries,
            })
        };
        BindGroups {
            raster: group(
                "lyceum raster",
                &pipelines.raster_layout,
                &[
                    &self.raster_params,
                    &self.xs.buffer,
                    &self.ys.buffer,
                    &self.chunks.buffer,
                    &self.styles.buffer,
                    &self.pixels.buffer,
                    &self.stats,
                ],
            ),
            composite: group(
                "lyceum composite",
                &pipelines.composite_layout,
                &[
                    &self.composite_params,
                    &self.pixels.buffer,
                    &self.styles.buffer,
                    &self.stats,
                ],
            ),
            lines: group(
                "lyceum wide lines",
                &pipelines.lines_layout,
                &[
                    &self.line_params,
                    &self.xs.buffer,
                    &self.ys.buffer,
                    &self.runs.buffer,
                    &self.styles.buffer,
                ],
            ),
        }
    }

    /// Draw the base layer and the highlighted curves into `pass`, whose viewport is the plot.
    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>, pipelines: &CurvePipelines) {
        let Some(bind_groups) = &self.bind_groups else {
            return;
        };
        pass.set_pipeline(&pipelines.composite);
        pass.set_bind_group(0, &bind_groups.composite, &[]);
        pass.draw(0..3, 0..1);
        if self.line_instances > 0 {
            pass.set_pipeline(&pipelines.wide_lines);
            pass.set_bind_group(0, &bind_groups.lines, &[]);
            pass.draw(0..6, 0..self.line_instances);
        }
    }
}

/// Offscreen colour target plus readback, for PNG export, tests and benchmarks.
#[derive(Debug)]
pub struct OffscreenTarget {
    pub width: u32,
    pub height: u32,
    texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    readback: wgpu::Buffer,
    padded_row_bytes: u32,
}

/// The offscreen colour format: 8-bit RGBA, values as written (egui's colours are sRGB bytes).
pub const OFFSCREEN_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

impl OffscreenTarget {
    pub fn new(device: &wgpu::Device, width: u32, height: u32) -> Self {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("lyceum offscreen"),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: OFFSCREEN_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let padded_row_bytes = (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("lyceum readback"),
            size: u64::from(padded_row_bytes) * u64::from(height),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        Self {
            width,
            height,
            texture,
            view,
            readback,
            padded_row_bytes,
        }
    }

    /// A render pass that clears the target to `background` (RGBA8).
    pub fn begin_pass<'e>(
        &self,
        encoder: &'e mut wgpu::CommandEncoder,
        background: [u8; 4],
    ) -> wgpu::RenderPass<'e> {
        let [r, g, b, a] = background.map(|c| f64::from(c) / 255.0);
        encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("lyceum offscreen"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &self.view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color { r, g, b, a }),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        })
    }

    /// Copy the target into the readback buffer (record after the passes that draw it).
    pub fn copy_out(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &self.readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(self.padded_row_bytes),
                    rows_per_image: Some(self.height),
                },
            },
            wgpu::Extent3d {
                width: self.width,
                height: self.height,
                depth_or_array_layers: 1,
            },
        );
    }

    /// Wait for the GPU and read the copied image (after [`Self::copy_out`] was submitted).
    pub fn read(&self, device: &wgpu::Device) -> Result<super::cpu::Image, GpuError> {
        let slice = self.readback.slice(..);
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        slice.map_async(wgpu::MapMode::Read, move |result| {
            // The receiver waits below; a send can only fail if it is gone.
            let _ = sender.send(result);
        });
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        receiver
            .recv()
            .map_err(|e| GpuError::Readback(e.to_string()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let mut rgba = Vec::with_capacity(self.width as usize * self.height as usize * 4);
        {
            let mapped = slice
                .get_mapped_range()
                .map_err(|e| GpuError::Readback(e.to_string()))?;
            for row in mapped.chunks(self.padded_row_bytes as usize) {
                rgba.extend_from_slice(&row[..self.width as usize * 4]);
            }
        }
        self.readback.unmap();
        Ok(super::cpu::Image {
            width: self.width,
            height: self.height,
            rgba,
        })
    }
}

/// Draw `frame`'s curves alone (no axes) into a `background`-filled image: the path the
/// reference tests compare against the CPU rasteriser, and the benchmark's upload + draw.
pub fn render_curves(
    gpu: &HeadlessGpu,
    pipelines: &CurvePipelines,
    plot: &mut PlotGpu,
    frame: &CurveFrame,
    background: [u8; 4],
) -> Result<super::cpu::Image, GpuError> {
    gpu.check_image_size(frame.raster_width, frame.rows.height_px)?;
    let target = catch_gpu_errors(&gpu.device, || {
        let target = OffscreenTarget::new(&gpu.device, frame.raster_width, frame.rows.height_px);
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("lyceum curves"),
            });
        let viewport = [
            0.0,
            0.0,
            frame.raster_width as f32,
            frame.rows.height_px as f32,
        ];
        plot.prepare(
            &gpu.device,
            &gpu.queue,
            &mut encoder,
            pipelines,
            frame,
            viewport,
        )?;
        {
            let mut pass = target.begin_pass(&mut encoder, background);
            plot.paint(&mut pass, pipelines);
        }
        target.copy_out(&mut encoder);
        gpu.queue.submit([encoder.finish()]);
        Ok(target)
    })?;
    gpu.read(&target)
}

#[cfg(test)]
mod tests {
    use super::{CurveStyle, chunk_and_run_tables, pipelines_unsupported};
    use crate::curves::Decimated;

    /// Highlighted curves are drawn (instanced) by priority, then curve: a selected curve's
    /// wide line over the failed curves' ones.
    #[test]
    fn wide_lines_are_drawn_by_priority_then_curve() {
        let decimated = Decimated {
            x_px: vec![0.0, 1.0, 2.0, 0.0, 1.0, 0.0, 1.0, 2.0, 3.0],
            y: vec![0.0; 9],
            ranges: vec![(0, 3), (3, 2), (5, 4)],
        };
        let styles = [
            CurveStyle::line([1, 2, 3, 255])
                .with_priority(2)
                .highlighted(3.0),
            CurveStyle::line([4, 5, 6, 255])
                .with_priority(1)
                .highlighted(2.0),
            CurveStyle::line([4, 5, 6, 255])
                .with_priority(1)
                .highlighted(2.0),
        ];
        let (_, runs) = chunk_and_run_tables(&decimated, &styles);
        // (curve, first point, segments, first instance)
        assert_eq!(runs, vec![[1, 3, 1, 0], [2, 5, 3, 1], [0, 0, 2, 4]]);
    }

    #[test]
    fn gl_class_devices_are_told_apart_before_any_pipeline_is_built() {
        assert_eq!(pipelines_unsupported(&wgpu::Limits::default(), true), None);
        // WebGL 2 / GL ES limits: no storage buffers at all.
        let gl = pipelines_unsupported(&wgpu::Limits::downlevel_webgl2_defaults(), true);
        assert!(gl.is_some_and(|why| why.contains("0 storage buffers")));
        assert!(pipelines_unsupported(&wgpu::Limits::default(), false).is_some());
    }
}
