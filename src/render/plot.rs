//! egui integration. [`PlotCurves`] is one plot's curves (store, styles, mode) and their latest
//! decimation; [`CurvesItem`] puts them into an `egui_plot::Plot` as a single paint callback,
//! so axes, grid, labels and interaction come from egui_plot and the curves from our pipeline
//! ([`CurvesCallback`], an `egui_wgpu::CallbackTrait`: `prepare` uploads and rasterises,
//! `paint` draws). [`CurveRenderResources`] keeps the pipelines and one [`PlotGpu`] per plot id
//! in egui_wgpu's callback resources. [`curves_plot_ui`] is the plot as the app and the headless
//! renderer show it.
//!
//! Decimation follows the plot's transform: when the x-range or width changes, the curves are
//! re-decimated on rayon (or inline for headless rendering) and, until the new result arrives,
//! the previous picture is stretched to the new view.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, PoisonError};

use egui_plot::{PlotBounds, PlotGeometry, PlotItem, PlotItemBase, PlotTransform};

use super::cpu_raster::{BasePixels, KeptColours};
use super::gpu::{BaseMode, CurveFrame, CurvePipelines, CurveStyle, GpuError, MAX_CURVES, PlotGpu};
use crate::curves::{
    CurveId, CurveStore, DataBox, Decimated, PixelMap, RowMap, all_points, curves_through_box,
    decimate_m4_into,
};

#[derive(Debug, Default)]
struct DecimationSlot {
    ready: Option<(PixelMap, Arc<Decimated>)>,
    /// The decimation `ready` replaced: the next one is written into its buffers once the
    /// GPU has let go of it (a fresh 160 MB for the demo's view page-faulted 10 times as
    /// long as the decimation itself).
    retired: Option<Arc<Decimated>>,
    /// The view the UI wants next; a running worker picks it up when it finishes.
    wanted: Option<PixelMap>,
    /// The view a worker is decimating now.
    in_flight: Option<PixelMap>,
    worker_running: bool,
}

impl DecimationSlot {
    /// Buffers to decimate into: the retired decimation's where nothing holds it any more.
    fn buffers(&mut self) -> Decimated {
        self.retired
            .take()
            .and_then(|retired| Arc::try_unwrap(retired).ok())
            .unwrap_or_default()
    }

    /// `decimated` for `view` becomes the one shown; the one it replaces is retired.
    fn show(&mut self, view: PixelMap, decimated: Decimated) {
        let replaced = self.ready.replace((view, Arc::new(decimated)));
        self.retired = replaced.map(|(_, decimated)| decimated);
    }
}

/// What one CPU picture was drawn for: the view's map, the rows, the styles and the mode.
#[derive(Clone, Copy, Debug, PartialEq)]
struct CpuKey {
    view: PixelMap,
    rows: RowMap,
    /// The style table's identity (a restyle makes a new one).
    styles: usize,
    mode: BaseMode,
}

/// The CPU renderer's pictures of one plot: the latest drawn (its image until uploaded), the
/// one wanted next, and the texture showing the latest.
#[derive(Default)]
struct CpuSlot {
    ready: Option<CpuKey>,
    /// The style table `ready` was drawn with, held so that its address (the key's `styles`)
    /// cannot be taken by a newer table while the key names it.
    ready_styles: Option<Arc<Vec<CurveStyle>>>,
    image: Option<Vec<PictureTile<egui::ColorImage>>>,
    wanted: Option<(CpuKey, Arc<Vec<CurveStyle>>)>,
    /// The picture a worker is drawing now.
    in_flight: Option<CpuKey>,
    worker_running: bool,
    /// Pictures drawn so far (the bench counts them per view change).
    pictures_drawn: u64,
    texture: Option<(CpuKey, Vec<PictureTile<egui::TextureHandle>>)>,
    /// The last frame showed the picture of its own view (not a stretched older one).
    current: bool,
    /// The most bytes one picture took while it was drawn (pixel buffers, composite, tiles).
    working_bytes_peak: usize,
    /// `ready`'s pixels before compositing: a pan moves them and draws only the columns and
    /// rows it uncovers.
    base: Option<BasePixels>,
    /// `ready`'s colours, where it has highlighted curves: a pan moves them and draws the
    /// wide lines only where it uncovers.
    colours: Option<KeptColours>,
}

impl CpuKey {
    /// Whether `self` is `earlier`'s picture over another view only (the styles and mode
    /// alike): a pan may then keep the pixels in view of both.
    fn pans_from(&self, earlier: &Self) -> bool {
        (self.styles, self.mode) == (earlier.styles, earlier.mode)
    }
}

impl CpuSlot {
    /// Ask for `key`'s picture, unless it is drawn, being drawn or asked for already (the
    /// frames egui runs after an input would each ask again while it is drawn, and the same
    /// picture was drawn twice). True when a worker must be started.
    fn want(&mut self, key: CpuKey, styles: Arc<Vec<CurveStyle>>) -> bool {
        if self.ready == Some(key)
            || self.in_flight == Some(key)
            || self
                .wanted
                .as_ref()
                .is_some_and(|(wanted, _)| *wanted == key)
        {
            return false;
        }
        self.wanted = Some((key, styles));
        !std::mem::replace(&mut self.worker_running, true)
    }

    /// The next picture to draw, marked in flight; `None` when none is wanted, and the worker
    /// is then marked stopped under the same lock (so a wish made meanwhile starts a new one).
    fn take_wanted(&mut self) -> Option<(CpuKey, Arc<Vec<CurveStyle>>)> {
        let next = self.wanted.take();
        self.in_flight = next.as_ref().map(|(key, _)| *key);
        self.worker_running = next.is_some();
        next
    }
}

impl std::fmt::Debug for CpuSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuSlot")
            .field("ready", &self.ready)
            .field("worker_running", &self.worker_running)
            .finish_non_exhaustive()
    }
}

/// A piece of a CPU picture no larger than the GPU's largest texture: where it lies in the
/// picture (fractions of its width and height), its pixels, and where in it (fractions of the
/// tile) a curve is.
#[derive(Debug)]
struct PictureTile<T> {
    in_picture: egui::Rect,
    pixels: T,
    lit: Vec<egui::Rect>,
}

/// Side in pixels of the cells a picture tile is shown by: only cells a curve lights are
/// painted. A software adapter spends as much on a transparent fragment as on any other, and
/// most of a plot is empty (the demo's curves light a fifth of its 32-px cells).
const PICTURE_CELL_PX: usize = 32;

/// Where in `rgba` (premultiplied, `width` pixels a row) the rows `rows` and columns
/// `columns` (one tile) are lit: per row of [`PICTURE_CELL_PX`] cells, each run of cells
/// holding a pixel that is not fully transparent, as fractions of the tile.
fn lit_cells(
    rgba: &[u8],
    width: usize,
    rows: std::ops::Range<usize>,
    columns: std::ops::Range<usize>,
) -> Vec<egui::Rect> {
    let (tile_width, tile_height) = (columns.len(), rows.len());
    let cells_across = tile_width.div_ceil(PICTURE_CELL_PX);
    let fraction = |at: usize, of: usize| at as f32 / of as f32;
    let mut runs = Vec::new();
    let mut lit = vec![false; cells_across];
    for cell_top in (0..tile_height).step_by(PICTURE_CELL_PX) {
        let cell_bottom = (cell_top + PICTURE_CELL_PX).min(tile_height);
        lit.fill(false);
        for row in rows.start + cell_top..rows.start + cell_bottom {
            let line = &rgba[(row * width + columns.start) * 4..(row * width + columns.end) * 4];
            for (cell, pixels) in lit.iter_mut().zip(line.chunks(PICTURE_CELL_PX * 4)) {
                // The alpha bytes or-ed whole (it vectorises; a search stopping at the first
                // lit pixel did not).
                *cell = *cell || pixels.chunks_exact(4).fold(0, |any, pixel| any | pixel[3]) != 0;
            }
        }
        let mut cell = 0;
        while cell < cells_across {
            if !lit[cell] {
                cell += 1;
                continue;
            }
            let first = cell;
            while cell < cells_across && lit[cell] {
                cell += 1;
            }
            let right = (cell * PICTURE_CELL_PX).min(tile_width);
            runs.push(egui::Rect::from_min_max(
                egui::pos2(
                    fraction(first * PICTURE_CELL_PX, tile_width),
                    fraction(cell_top, tile_height),
                ),
                egui::pos2(
                    fraction(right, tile_width),
                    fraction(cell_bottom, tile_height),
                ),
            ));
        }
    }
    runs
}

/// `rgba` (premultiplied, `width` × `height`, rows top to bottom) cut into tiles at most
/// `max_side` on a side: a wide plot on a 4K screen outgrows some drivers' 2,048 or 4,096.
/// A picture that fits one tile becomes its image without a copy.
fn picture_tiles(
    rgba: Vec<u8>,
    width: usize,
    height: usize,
    max_side: usize,
) -> Vec<PictureTile<egui::ColorImage>> {
    let max_side = max_side.max(1);
    if width <= max_side && height <= max_side {
        let lit = lit_cells(&rgba, width, 0..height, 0..width);
        // The bytes are the pixels (`Color32` is four bytes, premultiplied RGBA): the
        // allocation is kept, not copied (a frame-sized copy and its page faults per picture).
        let pixels = match bytemuck::allocation::try_cast_vec::<u8, egui::Color32>(rgba) {
            Ok(pixels) => egui::ColorImage::new([width, height], pixels),
            Err((_, rgba)) => egui::ColorImage::from_rgba_premultiplied([width, height], &rgba),
        };
        return vec![PictureTile {
            in_picture: egui::Rect::from_min_max(egui::Pos2::ZERO, egui::pos2(1.0, 1.0)),
            pixels,
            lit,
        }];
    }
    let rgba = rgba.as_slice();
    let mut tiles = Vec::new();
    for top in (0..height).step_by(max_side) {
        for left in (0..width).step_by(max_side) {
            let (tile_width, tile_height) =
                (max_side.min(width - left), max_side.min(height - top));
            // A tile as wide as the picture is a run of whole rows: no copy of its own.
            let bytes: std::borrow::Cow<'_, [u8]> = if tile_width == width {
                rgba[top * width * 4..(top + tile_height) * width * 4].into()
            } else {
                (top..top + tile_height)
                    .flat_map(|row| {
                        let start = (row * width + left) * 4;
                        rgba[start..start + tile_width * 4].iter().copied()
                    })
                    .collect::<Vec<u8>>()
                    .into()
            };
            let fraction = |at: usize, of: usize| at as f32 / of as f32;
            let lit = lit_cells(rgba, width, top..top + tile_height, left..left + tile_width);
            tiles.push(PictureTile {
                in_picture: egui::Rect::from_min_max(
                    egui::pos2(fraction(left, width), fraction(top, height)),
                    egui::pos2(
                        fraction(left + tile_width, width),
                        fraction(top + tile_height, height),
                    ),
                ),
                pixels: egui::ColorImage::from_rgba_premultiplied(
                    [tile_width, tile_height],
                    &bytes,
                ),
                lit,
            });
        }
    }
    tiles
}

/// Draw the wanted pictures one after another on rayon until none is left, straight from the
/// store (each curve decimated as it is drawn).
fn cpu_worker(store: &CurveStore, slot: &Mutex<CpuSlot>, (ctx, plot): (&egui::Context, egui::Id)) {
    use super::cpu_raster::{
        Points, RasterTarget, colours, colours_panned, raster_panned, raster_points,
    };
    loop {
        let next = slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take_wanted();
        let Some((key, styles)) = next else {
            return;
        };
        let started = std::time::Instant::now();
        let map = key.view;
        let target = RasterTarget {
            width: map.width_px,
            rows: key.rows,
        };
        let points = Points::Store(store, &map);
        let (earlier, kept_colours) = {
            let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            (slot.ready.zip(slot.base.take()), slot.colours.take())
        };
        let earlier_view = earlier.as_ref().map(|(earlier_key, _)| earlier_key.view);
        let panned = earlier.and_then(|(earlier_key, pixels)| {
            let columns = map.columns_from(&earlier_key.view)?;
            let rows = key.rows.rows_from(&earlier_key.rows)?;
            let from = (&earlier_key.view, &earlier_key.rows);
            let drawn = key
                .pans_from(&earlier_key)
                .then(|| raster_panned(pixels, from, (&map, target), store, &styles, key.mode))??;
            Some((drawn, (columns, rows)))
        });
        let ((pixels, counts), moved) = match panned {
            Some((drawn, moved)) => (drawn, Some(moved)),
            None => (raster_points(points, target, &styles, key.mode), None),
        };
        // Transparent around the curves: egui blends the picture over the plot. The wide
        // lines of highlighted curves are moved with the rest where the view was panned.
        let view = (store, &map, target);
        let (coloured, line_counts) = moved
            .zip(kept_colours.zip(earlier_view))
            .and_then(|(moved, (kept, from))| {
                colours_panned((kept, &from), moved, &pixels, view, &styles, key.mode)
            })
            .unwrap_or_else(|| colours(&pixels, view, &styles, key.mode));
        let drawn = counts + line_counts;
        let has_lines = styles
            .iter()
            .any(|style| style.is_visible() && style.is_highlighted());
        // Kept for the next pan only where it saves drawing wide lines.
        let (rgba, kept_colours) = if has_lines {
            (coloured.rgba.clone(), Some(coloured))
        } else {
            (coloured.rgba, None)
        };
        let kept_bytes = kept_colours.as_ref().map_or(0, |kept| kept.rgba.capacity());
        let rgba_bytes = rgba.capacity();
        let image = picture_tiles(
            rgba,
            target.width as usize,
            target.rows.height_px as usize,
            ctx.input(|i| i.max_texture_side),
        );
        let image_bytes: usize = image.iter().map(|tile| tile.pixels.as_raw().len()).sum();
        // One tile is the composite itself; tiles are copied out of it.
        let working_bytes = counts.pixel_bytes
            + pixels.bytes()
            + kept_bytes
            + match image.len() {
                1 => rgba_bytes.max(image_bytes),
                _ => rgba_bytes + image_bytes,
            };
        let timing = DecimationTiming {
            curves: drawn.curves,
            points_in: drawn.samples,
            points_out: drawn.points,
            elapsed: started.elapsed(),
            drawn_on_cpu: true,
            panned: moved.map(|(columns, rows)| (columns.unsigned_abs(), rows.unsigned_abs())),
        };
        record_timing(ctx, plot, timing);
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.ready = Some(key);
        slot.in_flight = None;
        slot.pictures_drawn += 1;
        slot.base = Some(pixels);
        slot.colours = kept_colours;
        slot.ready_styles = Some(styles);
        slot.image = Some(image);
        slot.working_bytes_peak = slot.working_bytes_peak.max(working_bytes);
        drop(slot);
        show_result(ctx);
    }
}

/// Ask for the frame that shows what a worker made: one frame. An immediate
/// `request_repaint` runs two (egui's second lets layout that lags a frame settle, which a
/// new picture does not need), and on a software adapter eframe's painting of each frame
/// costs 30-50 ms of CPU; a delayed request runs one.
fn show_result(ctx: &egui::Context) {
    ctx.request_repaint_after(std::time::Duration::from_millis(1));
}

/// How decimation runs when the view changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimationMode {
    /// On rayon; the UI keeps drawing the previous result until the new one arrives.
    Background,
    /// Inline, before drawing: for headless rendering, where the first frame must be exact.
    Inline,
}

/// Which points reach the GPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Decimation {
    /// First, min, max and last per pixel column: the same pixels as every sample.
    #[default]
    M4,
    /// Every sample in view (the slow reference).
    AllPoints,
}

/// Where one plot's own memory is (the store, shared by the plots of a view, is counted
/// apart: [`CurveStore::bytes`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlotBytes {
    /// The decimated points the GPU path draws (the latest ready; a view change decimates
    /// into a new buffer while this one is shown).
    pub decimated: usize,
    /// The CPU renderer's picture: the image waiting for upload and the textures shown
    /// (texture memory on a discrete GPU).
    pub cpu_picture: usize,
    /// The most the CPU renderer held while drawing one picture: its per-thread pixel
    /// buffers, the composite and the picture's tiles (freed once uploaded).
    pub cpu_working_peak: usize,
}

/// One plot's curves and how they are drawn.
#[derive(Debug)]
pub struct PlotCurves {
    id: egui::Id,
    store: Arc<CurveStore>,
    styles: Mutex<Arc<Vec<CurveStyle>>>,
    mode: Mutex<BaseMode>,
    time_zone: Mutex<TimeZoneChoice>,
    decimation_mode: DecimationMode,
    decimation: Decimation,
    /// The default view, fitted to the curves shown when it was last asked for.
    default_view: Mutex<DefaultView>,
    /// Which curves were shown then: asked for again with the same ones, it stands.
    default_view_shown: Mutex<Vec<bool>>,
    /// A y range the plot is to show from its next frame (the user asked for it).
    y_request: Mutex<Option<(f64, f64)>>,
    /// An x-range the plot shows exactly (no margin): the range the curves were fetched for,
    /// so server-side bins and the plot's pixel columns coincide.
    pinned_x: Option<(f64, f64)>,
    slot: Arc<Mutex<DecimationSlot>>,
    cpu: Arc<Mutex<CpuSlot>>,
    /// The maps the plot last drew with: the next view follows them ([`PixelMap::follow`],
    /// [`RowMap::follow`]), so that a pan keeps the pixels of what stays in view, on either
    /// renderer.
    last_maps: Mutex<Option<(PixelMap, RowMap)>>,
    /// Where a pan left the view a fraction of a pixel off the maps it followed (a plot's
    /// frame is seldom a whole number of pixels, so a drag by whole pixels moves the view by
    /// a few thousandths of a column more or less): the x- and y-range to put the view on the
    /// maps' pixels at the next frame, so that the fractions do not add up over a long drag
    /// until the maps must start afresh (a whole picture drawn).
    snap_request: Mutex<Option<SnapRequest>>,
}

/// A plot's default view (egui_plot's auto bounds, which a double-click goes back to).
#[derive(Clone, Copy, Debug)]
struct DefaultView {
    /// The extent of the curves shown (x: the pinned range, where there is one).
    bounds: PlotBounds,
    /// Where most values lie, when a few far ones flatten the default view
    /// ([`crate::curves::typical_y_range`]).
    typical_y: Option<(f64, f64)>,
}

impl DefaultView {
    /// The view that fits the curves `styles` shows, within `pinned_x` where given.
    fn fitting(store: &CurveStore, styles: &[CurveStyle], pinned_x: Option<(f64, f64)>) -> Self {
        let mut bounds = data_bounds(store, styles);
        if let Some((x_start, x_end)) = pinned_x {
            bounds = PlotBounds::from_min_max([x_start, bounds.min()[1]], [x_end, bounds.max()[1]]);
        }
        let typical_y = crate::curves::typical_y_range(
            store,
            |id| styles.get(id as usize).is_some_and(CurveStyle::is_visible),
            (bounds.min()[1], bounds.max()[1]),
        );
        Self { bounds, typical_y }
    }
}

/// How far off a followed map, in pixels, a view is snapped onto it: less is rounding.
const SNAP_FRACTION: f64 = 1e-3;

/// The ranges to move a plot's view to ([`PlotCurves::maps_following`]): either or both.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct SnapRequest {
    x: Option<(f64, f64)>,
    y: Option<(f64, f64)>,
}

impl PlotCurves {
    /// `styles` has one entry per curve of `store`; the plot's default bounds fit the curves
    /// visible in them (hiding a curve later keeps the axes still, until the default view is
    /// asked for again: [`Self::refit_to_shown`]).
    pub fn new(
        id: egui::Id,
        store: Arc<CurveStore>,
        styles: Vec<CurveStyle>,
        decimation_mode: DecimationMode,
        decimation: Decimation,
    ) -> Result<Self, GpuError> {
        if store.len() > MAX_CURVES {
            return Err(GpuError::TooManyCurves {
                curves: store.len(),
            });
        }
        if styles.len() != store.len() {
            return Err(GpuError::StyleCount {
                curves: store.len(),
                styles: styles.len(),
            });
        }
        let default_view = Mutex::new(DefaultView::fitting(&store, &styles, None));
        let default_view_shown = Mutex::new(styles.iter().map(CurveStyle::is_visible).collect());
        Ok(Self {
            id,
            store,
            styles: Mutex::new(Arc::new(styles)),
            mode: Mutex::new(BaseMode::Lines),
            time_zone: Mutex::new(TimeZoneChoice::Utc),
            decimation_mode,
            decimation,
            default_view,
            default_view_shown,
            y_request: Mutex::new(None),
            pinned_x: None,
            slot: Arc::default(),
            cpu: Arc::default(),
            last_maps: Mutex::new(None),
            snap_request: Mutex::new(None),
        })
    }

    /// Show exactly `x_start..=x_end` (no margin), whatever the samples' extent.
    #[must_use]
    pub fn with_pinned_x(mut self, (x_start, x_end): (f64, f64)) -> Self {
        if x_start < x_end {
            self.pinned_x = Some((x_start, x_end));
            self.fit_default_view(&self.styles());
        }
        self
    }

    /// Fit the default view to the curves shown now. Hiding curves keeps the axes still;
    /// the default view (a double-click) then fits what is left.
    /// A pass over every shown sample, so only where other curves are shown than at the
    /// last fit.
    pub fn refit_to_shown(&self) {
        let styles = self.styles();
        let shown: Vec<bool> = styles.iter().map(CurveStyle::is_visible).collect();
        let mut fitted_shown = self
            .default_view_shown
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *fitted_shown != shown {
            self.fit_default_view(&styles);
            *fitted_shown = shown;
        }
    }

    /// The default view fitted to the curves `styles` shows.
    fn fit_default_view(&self, styles: &[CurveStyle]) {
        let fitted = DefaultView::fitting(&self.store, styles, self.pinned_x);
        *self
            .default_view
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = fitted;
    }

    fn default_view(&self) -> DefaultView {
        *self
            .default_view
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The default view's extent.
    fn bounds(&self) -> PlotBounds {
        self.default_view().bounds
    }

    pub fn store(&self) -> &Arc<CurveStore> {
        &self.store
    }

    /// Where most values lie, when a few far ones flatten the default view (the whole
    /// extent is over 20 times wider).
    pub fn typical_y(&self) -> Option<(f64, f64)> {
        self.default_view().typical_y
    }

    /// The y extent of the default view (every finite value).
    pub fn y_extent(&self) -> (f64, f64) {
        let bounds = self.bounds();
        (bounds.min()[1], bounds.max()[1])
    }

    /// Show `y_min..=y_max` from the plot's next frame (double-click goes back to the
    /// default view).
    pub fn show_y_range(&self, y_min: f64, y_max: f64) {
        *self
            .y_request
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((y_min, y_max));
    }

    /// Whether the CPU renderer's last frame showed the picture drawn for that frame's view
    /// (a settled picture, not the previous one stretched).
    pub fn cpu_picture_is_current(&self) -> bool {
        self.cpu
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .current
    }

    /// Pictures the CPU renderer has drawn for this plot so far.
    pub fn cpu_pictures_drawn(&self) -> u64 {
        self.cpu
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pictures_drawn
    }

    /// Where this plot's own memory is.
    pub fn bytes(&self) -> PlotBytes {
        let decimated = self
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ready
            .as_ref()
            .map_or(0, |(_, decimated)| decimated.heap_bytes());
        let cpu = self.cpu.lock().unwrap_or_else(PoisonError::into_inner);
        let image = cpu
            .image
            .iter()
            .flatten()
            .map(|tile| tile.pixels.as_raw().len());
        let textures = cpu.texture.iter().flat_map(|(_, tiles)| tiles).map(|tile| {
            let [width, height] = tile.pixels.size();
            width * height * 4
        });
        PlotBytes {
            decimated,
            cpu_picture: image.chain(textures).sum(),
            cpu_working_peak: cpu.working_bytes_peak,
        }
    }

    /// The plot's egui id (its plot memory, its GPU buffers).
    pub fn id(&self) -> egui::Id {
        self.id
    }

    pub fn styles(&self) -> Arc<Vec<CurveStyle>> {
        Arc::clone(&self.styles.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Restyle (colour, highlight, hide): uploads the style table only, never the points.
    pub fn set_styles(&self, styles: Vec<CurveStyle>) -> Result<(), GpuError> {
        if styles.len() != self.store.len() {
            return Err(GpuError::StyleCount {
                curves: self.store.len(),
                styles: styles.len(),
            });
        }
        *self.styles.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(styles);
        Ok(())
    }

    pub fn mode(&self) -> BaseMode {
        *self.mode.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_mode(&self, mode: BaseMode) {
        *self.mode.lock().unwrap_or_else(PoisonError::into_inner) = mode;
    }

    /// How a time axis shows instants (ticks, axis name, hover readout).
    pub fn time_zone(&self) -> TimeZoneChoice {
        *self
            .time_zone
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_time_zone(&self, zone: TimeZoneChoice) {
        *self
            .time_zone
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = zone;
    }

    /// The maps for the view `bounds` over `width_px` × `height_px`: the last ones panned
    /// where the view moved by whole columns and rows, else maps of their own; a view left a
    /// fraction of a pixel off the maps it followed is snapped onto them at the next frame.
    /// Both renderers draw with them, so both draw the same maps.
    fn maps_following(
        &self,
        bounds: &PlotBounds,
        (width_px, height_px): (u32, u32),
    ) -> (PixelMap, RowMap) {
        let (x_start, x_end) = (bounds.min()[0], bounds.max()[0]);
        let (y_min, y_max) = (bounds.min()[1], bounds.max()[1]);
        let mut last = self
            .last_maps
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let maps = match *last {
            Some((map, rows)) => (
                map.follow(x_start, x_end, width_px),
                rows.follow(y_min, y_max, height_px),
            ),
            None => (
                PixelMap::new(x_start, x_end, width_px),
                RowMap::for_view(y_min, y_max, height_px),
            ),
        };
        let (map, rows) = maps;
        let followed = last.map(|(last_map, last_rows)| {
            (
                map.columns_from(&last_map).is_some(),
                rows.rows_from(&last_rows).is_some(),
            )
        });
        *last = Some(maps);
        drop(last);
        if let Some((followed_x, followed_y)) = followed {
            let off_columns = (map.x_start - x_start) * f64::from(width_px) / (x_end - x_start);
            let off_rows = (rows.y_min() - y_min) * f64::from(rows.rows_per_unit());
            let snap = SnapRequest {
                x: (followed_x && off_columns.abs() > SNAP_FRACTION)
                    .then_some((map.x_start, map.x_end)),
                y: (followed_y && off_rows.abs() > SNAP_FRACTION)
                    .then_some((rows.y_min(), rows.y_max())),
            };
            if snap != SnapRequest::default() {
                *self
                    .snap_request
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(snap);
            }
        }
        maps
    }

    /// The decimation for `view`, or the latest one while a new one is computed.
    fn decimation_for(
        &self,
        ctx: &egui::Context,
        view: PixelMap,
    ) -> Option<(PixelMap, Arc<Decimated>)> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.ready.as_ref().is_some_and(|(ready, _)| *ready == view) {
            return slot.ready.clone();
        }
        match self.decimation_mode {
            DecimationMode::Inline => {
                let mut decimated = slot.buffers();
                decimate(
                    (ctx, self.id),
                    &self.store,
                    self.decimation,
                    view,
                    &mut decimated,
                );
                slot.show(view, decimated);
            }
            DecimationMode::Background => {
                // Asked every frame until it arrives: do not queue the view being computed.
                if slot.in_flight != Some(view) {
                    slot.wanted = Some(view);
                }
                if !slot.worker_running {
                    slot.worker_running = true;
                    let (store, decimation) = (Arc::clone(&self.store), self.decimation);
                    let (target, ctx, plot) = (Arc::clone(&self.slot), ctx.clone(), self.id);
                    rayon::spawn(move || {
                        decimation_worker(&store, decimation, &target, (&ctx, plot));
                    });
                }
            }
        }
        slot.ready.clone()
    }
}

/// Where the reason plots draw on the CPU lives in egui's memory.
fn cpu_renderer_id() -> egui::Id {
    egui::Id::unique("lyceum cpu renderer")
}

/// Draw this context's curves on the CPU (`render::cpu_raster`, the GPU's base layer ported)
/// and say why: a device that cannot run the GPU pipelines, or the user's choice.
pub fn use_cpu_renderer(ctx: &egui::Context, reason: String) {
    ctx.data_mut(|d| d.insert_temp(cpu_renderer_id(), reason));
}

/// Draw this context's curves on the GPU again.
pub fn use_gpu_renderer(ctx: &egui::Context) {
    ctx.data_mut(|d| d.remove::<String>(cpu_renderer_id()));
}

/// Why this context's curves are drawn on the CPU, if they are.
pub fn cpu_renderer(ctx: &egui::Context) -> Option<String> {
    ctx.data(|d| d.get_temp(cpu_renderer_id()))
}

/// A plot's latest decimation (or drawing, on the CPU), for the status bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecimationTiming {
    /// Curves decimated: every loaded one on the GPU path (showing one needs no new pass),
    /// the drawn ones on the CPU.
    pub curves: usize,
    /// Their samples.
    pub points_in: usize,
    pub points_out: usize,
    pub elapsed: std::time::Duration,
    /// Decimated and drawn in one pass by the CPU renderer.
    pub drawn_on_cpu: bool,
    /// A pan by these whole columns and rows: the CPU renderer kept the rest of the picture
    /// and drew only them (the counts are theirs).
    pub panned: Option<(u32, u32)>,
}

/// Where [`DecimationTiming`] lives in egui's memory.
fn timing_id() -> egui::Id {
    egui::Id::unique("lyceum latest decimation")
}

/// Forget the latest decimation (a benchmark waiting for the next one).
pub fn clear_latest_decimation(ctx: &egui::Context) {
    ctx.data_mut(|d| d.remove::<DecimationTiming>(timing_id()));
}

/// The latest decimation any plot made in this `ctx`.
pub fn latest_decimation(ctx: &egui::Context) -> Option<DecimationTiming> {
    ctx.data(|d| d.get_temp(timing_id()))
}

/// The latest decimation plot `plot` made in this `ctx` (the status bar tells the one of the
/// plot in front: another tab's may be later).
pub fn plot_decimation(ctx: &egui::Context, plot: egui::Id) -> Option<DecimationTiming> {
    ctx.data(|d| d.get_temp(timing_id().with(plot)))
}

/// `timing` kept as the latest of `plot` and of any plot.
fn record_timing(ctx: &egui::Context, plot: egui::Id, timing: DecimationTiming) {
    ctx.data_mut(|d| {
        d.insert_temp(timing_id(), timing);
        d.insert_temp(timing_id().with(plot), timing);
    });
}

/// `store` decimated for `view` into `decimated` (its buffers reused where M4 decimates).
fn decimate(
    (ctx, plot): (&egui::Context, egui::Id),
    store: &CurveStore,
    decimation: Decimation,
    view: PixelMap,
    decimated: &mut Decimated,
) {
    let started = std::time::Instant::now();
    match decimation {
        Decimation::M4 => decimate_m4_into(store, &view, decimated),
        Decimation::AllPoints => *decimated = all_points(store, &view),
    }
    let timing = DecimationTiming {
        curves: store.len(),
        points_in: store.point_count(),
        points_out: decimated.point_count(),
        elapsed: started.elapsed(),
        drawn_on_cpu: false,
        panned: None,
    };
    record_timing(ctx, plot, timing);
}

/// Decimate the latest wanted view until none is left. Views wanted while one is computed
/// coalesce, so a fast pan costs one decimation at a time, never a queue of stale ones.
fn decimation_worker(
    store: &CurveStore,
    decimation: Decimation,
    slot: &Mutex<DecimationSlot>,
    (ctx, plot): (&egui::Context, egui::Id),
) {
    loop {
        let (view, mut decimated) = {
            let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            slot.in_flight = slot.wanted.take();
            match slot.in_flight {
                Some(view) => (view, slot.buffers()),
                None => {
                    slot.worker_running = false;
                    return;
                }
            }
        };
        decimate((ctx, plot), store, decimation, view, &mut decimated);
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.show(view, decimated);
        slot.in_flight = None;
        drop(slot);
        show_result(ctx);
    }
}

/// The extent of the visible curves ([`crate::curves::data_bounds`]), or the unit square.
fn data_bounds(store: &CurveStore, styles: &[CurveStyle]) -> PlotBounds {
    crate::curves::data_bounds(store, |id| {
        styles.get(id as usize).is_some_and(CurveStyle::is_visible)
    })
    .map_or_else(
        || PlotBounds::from_min_max([0.0, 0.0], [1.0, 1.0]),
        |b| PlotBounds::from_min_max([b.x.0, b.y.0], [b.x.1, b.y.1]),
    )
}

/// The plot item: one paint callback over the plot frame.
#[derive(Debug)]
pub struct CurvesItem {
    base: PlotItemBase,
    curves: Arc<PlotCurves>,
}

impl CurvesItem {
    pub fn new(name: impl Into<String>, curves: Arc<PlotCurves>) -> Self {
        Self {
            base: PlotItemBase::new(name.into()),
            curves,
        }
    }
}

/// Physical pixel size of a rectangle, rounded as egui_wgpu rounds viewports.
pub fn size_in_pixels(rect: egui::Rect, pixels_per_point: f32) -> (u32, u32) {
    let span = |lo: f32, hi: f32| {
        ((hi * pixels_per_point).round() - (lo * pixels_per_point).round()).max(0.0) as u32
    };
    (span(rect.min.x, rect.max.x), span(rect.min.y, rect.max.y))
}

impl CurvesItem {
    /// The curves as a CPU picture: the one for this view when drawn, else the latest one
    /// stretched to where its view now lies (as the GPU path stretches a stale raster).
    fn cpu_shapes(
        &self,
        ui: &egui::Ui,
        transform: &PlotTransform,
        key: CpuKey,
        styles: Arc<Vec<CurveStyle>>,
        shapes: &mut Vec<egui::Shape>,
    ) {
        let mut slot = self
            .curves
            .cpu
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.want(key, styles) {
            let store = Arc::clone(&self.curves.store);
            let (target, ctx) = (Arc::clone(&self.curves.cpu), ui.ctx().clone());
            let plot = self.curves.id;
            rayon::spawn(move || cpu_worker(&store, &target, (&ctx, plot)));
        }
        slot.current = slot.ready == Some(key);
        let Some(ready_key) = slot.ready else {
            return;
        };
        if let Some(tiles) = slot.image.take() {
            match &mut slot.texture {
                // The same tiles: the textures are updated in place, not made anew.
                Some((shown, textures))
                    if textures.len() == tiles.len()
                        && textures
                            .iter()
                            .zip(&tiles)
                            .all(|(texture, tile)| texture.pixels.size() == tile.pixels.size) =>
                {
                    for (texture, tile) in textures.iter_mut().zip(tiles) {
                        texture
                            .pixels
                            .set(tile.pixels, egui::TextureOptions::NEAREST);
                        texture.in_picture = tile.in_picture;
                        texture.lit = tile.lit;
                    }
                    *shown = ready_key;
                }
                _ => {
                    let textures = tiles
                        .into_iter()
                        .enumerate()
                        .map(|(i, tile)| PictureTile {
                            in_picture: tile.in_picture,
                            pixels: ui.ctx().load_texture(
                                format!("lyceum cpu curves {:?} {i}", self.curves.id),
                                tile.pixels,
                                egui::TextureOptions::NEAREST,
                            ),
                            lit: tile.lit,
                        })
                        .collect();
                    slot.texture = Some((ready_key, textures));
                }
            }
        }
        let Some((shown_key, textures)) = &slot.texture else {
            return;
        };
        // The picture's corners in plot space, then on the screen.
        let rect = egui::Rect::from_min_max(
            transform.position_from_point(&egui_plot::PlotPoint::new(
                shown_key.view.x_start,
                shown_key.rows.y_max(),
            )),
            transform.position_from_point(&egui_plot::PlotPoint::new(
                shown_key.view.x_end,
                shown_key.rows.y_min(),
            )),
        );
        // Each tile's lit cells only, one mesh a tile.
        for tile in textures.iter().filter(|tile| !tile.lit.is_empty()) {
            let on_screen = egui::Rect::from_min_max(
                rect.lerp_inside(tile.in_picture.min.to_vec2()),
                rect.lerp_inside(tile.in_picture.max.to_vec2()),
            );
            let mut mesh = egui::Mesh::with_texture(tile.pixels.id());
            for &cells in &tile.lit {
                let cells_on_screen = egui::Rect::from_min_max(
                    on_screen.lerp_inside(cells.min.to_vec2()),
                    on_screen.lerp_inside(cells.max.to_vec2()),
                );
                mesh.add_rect_with_uv(cells_on_screen, cells, egui::Color32::WHITE);
            }
            shapes.push(egui::Shape::mesh(mesh));
        }
    }
}

impl PlotItem for CurvesItem {
    fn shapes(&self, ui: &egui::Ui, transform: &PlotTransform, shapes: &mut Vec<egui::Shape>) {
        let frame_rect = *transform.frame();
        let (width_px, height_px) = size_in_pixels(frame_rect, ui.ctx().pixels_per_point());
        let bounds = transform.bounds();
        let (x_start, x_end) = (bounds.min()[0], bounds.max()[0]);
        let (y_min, y_max) = (bounds.min()[1], bounds.max()[1]);
        if width_px == 0 || height_px == 0 || x_end <= x_start || y_max <= y_min {
            return;
        }
        let (wanted, rows) = self.curves.maps_following(bounds, (width_px, height_px));
        if cpu_renderer(ui.ctx()).is_some() {
            // Decimated as drawn, on the worker: no decimation of its own.
            let styles = self.curves.styles();
            let key = CpuKey {
                view: wanted,
                rows,
                styles: Arc::as_ptr(&styles) as usize,
                mode: self.curves.mode(),
            };
            self.cpu_shapes(ui, transform, key, styles, shapes);
            return;
        }
        let Some((view, decimated)) = self.curves.decimation_for(ui.ctx(), wanted) else {
            return;
        };
        // Viewport pixel → column of the raster decimated for `view`.
        let columns_per_unit = f64::from(view.width_px) / (view.x_end - view.x_start);
        let x_scale = (x_end - x_start) / f64::from(width_px) * columns_per_unit;
        let x_offset = (x_start - view.x_start) * columns_per_unit;
        let frame = CurveFrame {
            decimated,
            styles: self.curves.styles(),
            raster_width: view.width_px,
            rows,
            x_scale: x_scale as f32,
            x_offset: x_offset as f32,
            mode: self.curves.mode(),
        };
        shapes.push(egui::Shape::Callback(
            egui_wgpu::Callback::new_paint_callback(
                frame_rect,
                CurvesCallback {
                    plot: self.curves.id,
                    rect: frame_rect,
                    frame,
                },
            ),
        ));
    }

    fn initialize(&mut self, _x_range: RangeInclusive<f64>) {}

    fn color(&self) -> egui::Color32 {
        let rgba = self
            .curves
            .styles()
            .first()
            .map_or(0xff00_0000, |style| style.rgba);
        let [r, g, b, a] = rgba.to_le_bytes();
        egui::Color32::from_rgba_unmultiplied(r, g, b, a)
    }

    // Hover over 10,000 curves is the app's job (nearest curve from the store), not egui_plot's.
    fn allow_hover(&self) -> bool {
        false
    }

    fn geometry(&self) -> PlotGeometry<'_> {
        PlotGeometry::None
    }

    fn bounds(&self) -> PlotBounds {
        self.curves.bounds()
    }

    fn base(&self) -> &PlotItemBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut PlotItemBase {
        &mut self.base
    }
}

/// Pipelines and per-plot buffers, kept in egui_wgpu's callback resources.
#[derive(Debug)]
pub struct CurveRenderResources {
    pipelines: CurvePipelines,
    plots: HashMap<egui::Id, PlotGpu>,
    /// The last upload error, if any (shown by the app; normally impossible, as
    /// [`PlotCurves::new`] checks the same limits).
    pub last_error: Option<String>,
}

impl CurveRenderResources {
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Self {
        Self {
            pipelines: CurvePipelines::new(device, target_format),
            plots: HashMap::new(),
            last_error: None,
        }
    }

    /// Register with an egui_wgpu renderer (eframe's or a headless one).
    pub fn install(
        renderer: &mut egui_wgpu::Renderer,
        device: &wgpu::Device,
        target_format: wgpu::TextureFormat,
    ) {
        renderer
            .callback_resources
            .insert(Self::new(device, target_format));
    }
}

/// One frame of one plot's curves, handed from the UI to the renderer.
#[derive(Debug)]
pub struct CurvesCallback {
    plot: egui::Id,
    rect: egui::Rect,
    frame: CurveFrame,
}

impl egui_wgpu::CallbackTrait for CurvesCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen: &egui_wgpu::ScreenDescriptor,
        encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(resources) = resources.get_mut::<CurveRenderResources>() else {
            return Vec::new();
        };
        let viewport = egui::epaint::ViewportInPixels::from_points(
            &self.rect,
            screen.pixels_per_point,
            screen.size_in_pixels,
        );
        let viewport_px = [
            viewport.left_px as f32,
            viewport.top_px as f32,
            viewport.width_px as f32,
            viewport.height_px as f32,
        ];
        let CurveRenderResources {
            pipelines,
            plots,
            last_error,
        } = resources;
        let plot = plots
            .entry(self.plot)
            .or_insert_with(|| PlotGpu::new(device));
        *last_error = plot
            .prepare(device, queue, encoder, pipelines, &self.frame, viewport_px)
            .err()
            .map(|e| e.to_string());
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(resources) = resources.get::<CurveRenderResources>()
            && let Some(plot) = resources.plots.get(&self.plot)
        {
            plot.paint(render_pass, &resources.pipelines);
        }
    }
}

/// Text around a curves plot.
#[derive(Clone, Debug, Default)]
pub struct PlotLabels {
    pub title: String,
    pub x_axis: String,
    pub y_axis: String,
    /// Legend entries (value, RGBA); none: no legend.
    pub legend: Vec<(String, [u8; 4])>,
}

/// Steps of a time axis, in seconds: round to the unit people read (1 ms … 30 days).
const TIME_STEPS_SECS: [f64; 31] = [
    1e-3,
    2e-3,
    5e-3,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    10_800.0,
    21_600.0,
    43_200.0,
    86_400.0,
    172_800.0,
    604_800.0,
    1_209_600.0,
    2_592_000.0,
];

/// Grid marks of a time axis at round UTC times (whole seconds, minutes, hours, days: epoch
/// seconds are UTC, so multiples of a day fall on midnights), three line weights as egui_plot
/// draws them; where two steps mark the same time, the larger step wins (it sets the label).
pub fn time_grid(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    let (lo, hi) = input.bounds;
    let first = TIME_STEPS_SECS
        .iter()
        .position(|&step| step >= input.base_step_size)
        .unwrap_or(TIME_STEPS_SECS.len() - 1);
    // Three weights, each step at least four times the one below (as egui_plot's own spacer
    // spans a factor of 100 over its three).
    let mut levels = vec![TIME_STEPS_SECS[first]];
    for &step in &TIME_STEPS_SECS[first..] {
        if levels.len() < 3 && levels.last().is_some_and(|&last| step >= 4.0 * last) {
            levels.push(step);
        }
    }
    let mut marks: Vec<egui_plot::GridMark> = Vec::new();
    for step in levels {
        let (from, to) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
        if to - from > 10_000 {
            continue;
        }
        for k in from..=to {
            let value = k as f64 * step;
            match marks
                .iter_mut()
                .find(|m| (m.value - value).abs() < step * 1e-6)
            {
                Some(mark) => mark.step_size = mark.step_size.max(step),
                None => marks.push(egui_plot::GridMark {
                    value,
                    step_size: step,
                }),
            }
        }
    }
    marks
}

/// How a time axis shows instants (epoch seconds are UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeZoneChoice {
    #[default]
    Utc,
    /// The computer's zone, daylight saving included.
    Local,
}

impl TimeZoneChoice {
    pub fn name(self) -> &'static str {
        match self {
            Self::Utc => "UTC",
            Self::Local => "local time",
        }
    }

    /// Seconds east of UTC at the instant `secs`.
    fn offset_secs(self, secs: f64) -> i32 {
        match self {
            Self::Utc => 0,
            Self::Local => jiff::Timestamp::from_second(secs.floor() as i64)
                .map_or(0, |at| jiff::tz::TimeZone::system().to_offset(at).seconds()),
        }
    }
}

/// The instant `secs` (epoch seconds) written with chrono's `format` in `zone`.
pub fn format_instant(secs: f64, zone: TimeZoneChoice, format: &str) -> String {
    format_instant_at_offset(secs, zone.offset_secs(secs), format)
}

fn format_instant_at_offset(secs: f64, offset_secs: i32, format: &str) -> String {
    let Some(offset) = chrono::FixedOffset::east_opt(offset_secs) else {
        return secs.to_string();
    };
    chrono::DateTime::from_timestamp_micros((secs * 1e6).round() as i64).map_or_else(
        || secs.to_string(),
        |at| at.with_timezone(&offset).format(format).to_string(),
    )
}

/// The tick label format of a time axis, as fine as the tick step needs.
fn time_tick_format(mark: egui_plot::GridMark, range: &RangeInclusive<f64>) -> &'static str {
    if mark.step_size >= 86_400.0 {
        "%Y-%m-%d"
    } else if range.end() - range.start() > 86_400.0 {
        "%m-%d %H:%M"
    } else if mark.step_size >= 60.0 {
        "%H:%M"
    } else if mark.step_size >= 1.0 {
        "%H:%M:%S"
    } else if mark.step_size >= 1e-3 {
        "%H:%M:%S%.3f"
    } else {
        "%H:%M:%S%.6f"
    }
}

/// What the user did to a plot's curves this frame (the view itself — pan, zoom, legend —
/// egui_plot keeps).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlotPicks {
    /// The curve under the pointer (the readout shows it).
    pub hovered: Option<CurveId>,
    /// A click in the plot: the curve under it, if any, and whether shift was held (add to
    /// the selection rather than replace it).
    pub clicked: Option<(Option<CurveId>, bool)>,
    /// A shift-dragged box, released this frame: the curves passing through it.
    pub boxed: Option<(DataBox, Vec<CurveId>)>,
    /// Indices into [`PlotLabels::legend`] the user switched off in the legend.
    pub legend_hidden: Vec<usize>,
    /// The pointer in data units, while it is over the plot.
    pub pointer: Option<[f64; 2]>,
    /// A handle being dragged ([`PlotMarks::handles`]): its id and the pointer in data units.
    pub handle_drag: Option<(usize, [f64; 2])>,
    /// A double-click, which resets the view: its clicks are not picks.
    pub double_clicked: bool,
}

/// Lines drawn over the curves: limits (horizontal, named) and cursors (a vertical line
/// and a marker at a point).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlotMarks {
    pub limits: Vec<(String, f64)>,
    pub cursors: Vec<(String, [f64; 2])>,
    /// Vertical markers at x: production events, alarms drawn apart (`true`).
    pub events: Vec<(f64, bool)>,
    /// A reference's envelope: lower and upper edges (and the centre line) at each x.
    pub band: Option<Band>,
    /// Evaluation objects (windows, lines, boxes) as outlines.
    pub shapes: Vec<Shape>,
    /// Points the user can drag (a shape's corners and edges); a drag comes back in
    /// [`PlotPicks::handle_drag`] and pans nothing.
    pub handles: Vec<Handle>,
    /// The curve under the pointer, drawn over the picture ([`hovered_curve_ui`]).
    pub hovered: Option<CurveId>,
}

/// An outline drawn over the curves, with its name written at its first point.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub name: String,
    /// Polylines: each drawn separately (a box's outline, a thick entry side, …).
    pub strokes: Vec<(Vec<[f64; 2]>, f32)>,
    /// A closed outline filled translucent (a no-pass box).
    pub fill: Option<Vec<[f64; 2]>>,
    pub colour: [u8; 3],
}

/// A draggable point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Handle {
    pub id: usize,
    pub at: [f64; 2],
    pub colour: [u8; 3],
}

/// An envelope drawn over the curves: one legend entry for its edges, one for its centre.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Band {
    pub name: String,
    /// `[x, lower, centre, upper]`; NaN where the band has no limits.
    pub points: Vec<[f64; 4]>,
}

/// A plot and what the user picked in it.
pub struct CurvesPlotResponse {
    pub plot: egui_plot::PlotResponse<()>,
    pub picks: PlotPicks,
}

impl std::fmt::Debug for CurvesPlotResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // egui_plot's response has no Debug.
        f.debug_struct("CurvesPlotResponse")
            .field("picks", &self.picks)
            .finish_non_exhaustive()
    }
}

/// Wheel notches (in points of scroll) per e-fold of zoom.
const WHEEL_POINTS_PER_E: f32 = 200.0;

/// The plot's x-axis name, with the day the data starts on for a time axis.
fn x_axis_label(curves: &PlotCurves, labels: &PlotLabels) -> String {
    if !curves.store().axes().x_is_time {
        return labels.x_axis.clone();
    }
    // Ticks show the time of day; the label says which day the view starts on.
    let zone = curves.time_zone();
    let day = format_instant(curves.bounds().min()[0], zone, ", from %Y-%m-%d");
    format!("{} ({}{day})", labels.x_axis, zone.name())
}

/// A titled plot of `curves` filling `ui`. The wheel zooms at the pointer (shift + wheel: x
/// only), a drag pans, a right-drag zooms into a box, a drag on an axis zooms that axis, a
/// double-click resets; a click picks the curve under the pointer and a shift-drag picks
/// every curve through a box ([`PlotPicks`]).
pub fn curves_plot_ui(
    ui: &mut egui::Ui,
    curves: &Arc<PlotCurves>,
    labels: &PlotLabels,
) -> CurvesPlotResponse {
    curves_plot_with_marks_ui(ui, curves, labels, &PlotMarks::default(), None)
}

/// The y-axis width of stacked plots, points: room for eight-digit tick labels.
const STACK_Y_AXIS_POINTS: f32 = 64.0;

/// A plot's place in a stack of plots sharing one x axis and one cursor (a sensor stack).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StackSlot {
    /// Plots with the same group pan and zoom in x together and show the same cursor.
    pub group: egui::Id,
    pub height: f32,
}

/// [`curves_plot_ui`] with limit lines and cursors drawn over the curves; in a `stack`, a
/// short plot without a heading whose x axis and cursor follow the others of its group.
pub fn curves_plot_with_marks_ui(
    ui: &mut egui::Ui,
    curves: &Arc<PlotCurves>,
    labels: &PlotLabels,
    marks: &PlotMarks,
    stack: Option<StackSlot>,
) -> CurvesPlotResponse {
    if stack.is_none() {
        ui.vertical_centered(|ui| ui.heading(&labels.title));
    }
    let time_axis = curves.store().axes().x_is_time;
    let shift = ui.input(|i| i.modifiers.shift);
    let grip = HandleGrip::before(ui, curves.id);
    let mut plot = egui_plot::Plot::new(curves.id)
        // The final id, so the plot's memory (legend switches) can be read back below.
        .id(curves.id)
        .x_axis_label(x_axis_label(curves, labels))
        .y_axis_label(labels.y_axis.clone())
        .allow_double_click_reset(true)
        // The wheel zooms (below); shift + drag selects instead of panning.
        .allow_scroll(false)
        .allow_drag(!shift && !grip.holds());
    plot = plot.y_axis_formatter(|mark, _| number_tick(mark));
    if time_axis {
        let zone = curves.time_zone();
        plot = plot
            .x_grid_spacer(time_grid)
            .x_axis_formatter(move |mark, range| {
                format_instant(mark.value, zone, time_tick_format(mark, range))
            });
    } else {
        plot = plot.x_axis_formatter(|mark, _| number_tick(mark));
    }
    if let Some((x_start, x_end)) = curves.pinned_x {
        plot = plot.default_x_bounds(x_start, x_end);
    }
    if let Some(slot) = stack {
        plot = plot
            .height(slot.height)
            // One y-axis width for every plot of the stack, so their frames and shared x
            // positions line up whatever the width of each one's tick labels.
            .y_axis_min_width(STACK_Y_AXIS_POINTS)
            .link_axis(slot.group, [true, false])
            .link_cursor(slot.group, [true, false]);
    }
    // Density colours are counts, not labels: a label legend would mislead.
    let legend = if curves.mode() == BaseMode::Lines {
        labels.legend.as_slice()
    } else {
        &[]
    };
    if !legend.is_empty() || !marks.limits.is_empty() || !marks.events.is_empty() {
        plot = plot.legend(
            egui_plot::Legend::default()
                .position(egui_plot::Corner::RightTop)
                .follow_insertion_order(true),
        );
    }
    let y_request = curves
        .y_request
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let snap = curves
        .snap_request
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_default();
    // A double-click on the plot goes back to its default view (egui_plot does, from this
    // frame's bounds): fitted to the curves shown now, before the plot reads it.
    // The plot's memory is read only then, not every frame.
    let double_clicked_at = ui.input(|input| {
        input
            .pointer
            .button_double_clicked(egui::PointerButton::Primary)
            .then(|| input.pointer.interact_pos())
            .flatten()
    });
    if let Some(at) = double_clicked_at
        && egui_plot::PlotMemory::load(ui.ctx(), curves.id)
            .is_some_and(|memory| memory.transform().frame().contains(at))
    {
        curves.refit_to_shown();
    }
    let response = plot.show(ui, |plot_ui| {
        // Applied by egui_plot before this frame's drag.
        if let Some((x_start, x_end)) = snap.x {
            plot_ui.set_plot_bounds_x(x_start..=x_end);
        }
        if let Some((y_min, y_max)) = y_request.or(snap.y) {
            plot_ui.set_plot_bounds_y(y_min..=y_max);
        }
        wheel_zoom(plot_ui, curves.bounds());
        // Unnamed: the legend lists the colours, not the item.
        plot_ui.add(CurvesItem::new(String::new(), Arc::clone(curves)));
        lone_samples_ui(plot_ui, curves);
        hovered_curve_ui(plot_ui, curves, marks.hovered);
        for (value, [r, g, b, a]) in legend {
            // A line with no points: a legend entry only (`add`, since `line` drops it).
            plot_ui.add(
                egui_plot::Line::new(value.clone(), egui_plot::PlotPoints::default())
                    .color(egui::Color32::from_rgba_unmultiplied(*r, *g, *b, *a)),
            );
        }
        marks_ui(plot_ui, marks);
    });
    let hidden = egui_plot::PlotMemory::load(ui.ctx(), curves.id)
        .map(|memory| memory.hidden_items)
        .unwrap_or_default();
    let legend_hidden = legend
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| hidden.contains(&egui_plot::ItemId::new(name)))
        .map(|(index, _)| index)
        .collect();
    // Where the next frame's wheel steps may be taken for this plot (`take_plot_wheel`):
    // this pass's plots only, so the list never grows where nothing takes it.
    let (pass, plot_at) = (
        ui.ctx().cumulative_pass_nr(),
        (response.response.layer_id, response.response.rect),
    );
    ui.ctx().data_mut(|data| {
        let targets = data.get_temp_mut_or_default::<WheelTargets>(wheel_targets_id());
        if targets.pass != pass {
            *targets = WheelTargets {
                pass,
                plots: Vec::new(),
            };
        }
        targets.plots.push(plot_at);
    });
    let hovered = hover_readout_ui(curves, &response);
    let clicked = response
        .response
        .clicked()
        .then(|| (curve_at_pointer(curves, &response), shift));
    let boxed = box_select(ui, curves, &response);
    let pointer = response
        .response
        .hover_pos()
        .map(|pos| response.transform.value_from_position(pos))
        .map(|at| [at.x, at.y]);
    let handle_drag = grip.after(ui, &response, &marks.handles);
    let double_clicked = response.response.double_clicked();
    CurvesPlotResponse {
        plot: response,
        picks: PlotPicks {
            hovered,
            clicked,
            boxed,
            legend_hidden,
            pointer,
            handle_drag,
            double_clicked,
        },
    }
}

/// Picks up a handle under the pointer (within this many points) rather than panning.
const HANDLE_REACH_POINTS: f32 = 8.0;

/// Which handle a plot's pointer is on or dragging, from the handles' screen positions of
/// the frame before (the plot's pan is decided before this frame's transform exists).
#[derive(Clone, Debug)]
struct HandleGrip {
    id: egui::Id,
    /// The handle being dragged.
    held: Option<usize>,
    /// The handle under the pointer.
    near: Option<usize>,
}

/// Handles' ids and screen positions, kept from frame to frame in egui's memory.
#[derive(Clone, Debug, Default)]
struct HandlesOnScreen(Vec<(usize, egui::Pos2)>);

impl HandleGrip {
    fn before(ui: &egui::Ui, plot: egui::Id) -> Self {
        let id = plot.with("handle grip");
        let (held, on_screen) = ui.data(|d| {
            (
                d.get_temp::<usize>(id),
                d.get_temp::<Arc<HandlesOnScreen>>(id.with("on screen")),
            )
        });
        let nearest = |pointer: egui::Pos2| {
            on_screen
                .as_ref()?
                .0
                .iter()
                .map(|&(handle, pos)| (handle, pos.distance(pointer)))
                .filter(|&(_, distance)| distance <= HANDLE_REACH_POINTS)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(handle, _)| handle)
        };
        // A drag starts once the pointer has left the press: the handle is where it was pressed.
        let (hover, pressed) = ui.input(|i| {
            (
                i.pointer.hover_pos(),
                i.pointer
                    .press_origin()
                    .filter(|_| i.pointer.primary_down()),
            )
        });
        let near = pressed.or(hover).and_then(nearest);
        Self { id, held, near }
    }

    fn holds(&self) -> bool {
        self.held.is_some() || self.near.is_some()
    }

    /// Remember where the handles are; the drag of a held handle, if any.
    fn after(
        self,
        ui: &egui::Ui,
        response: &egui_plot::PlotResponse<()>,
        handles: &[Handle],
    ) -> Option<(usize, [f64; 2])> {
        let on_screen = HandlesOnScreen(
            handles
                .iter()
                .map(|h| {
                    let at = egui_plot::PlotPoint::new(h.at[0], h.at[1]);
                    (h.id, response.transform.position_from_point(&at))
                })
                .collect(),
        );
        let r = &response.response;
        let mut held = self.held;
        if r.drag_started() {
            held = self.near;
        }
        if !r.dragged() && !r.drag_started() {
            held = None;
        }
        ui.data_mut(|d| {
            d.insert_temp(self.id.with("on screen"), Arc::new(on_screen));
            if let Some(handle) = held {
                d.insert_temp(self.id, handle);
            } else {
                d.remove::<usize>(self.id);
            }
        });
        if held.is_some() {
            ui.ctx().set_cursor_icon(egui::CursorIcon::Grabbing);
        } else if self.near.is_some() {
            ui.ctx().set_cursor_icon(egui::CursorIcon::Grab);
        }
        let handle = held.filter(|_| handles.iter().any(|h| Some(h.id) == held))?;
        let pointer = r.interact_pointer_pos()?;
        let at = response.transform.value_from_position(pointer);
        Some((handle, [at.x, at.y]))
    }
}

/// Limits as dashed horizontal lines in the legend; cursors as a vertical line and a marker;
/// an envelope as its two edges and a dashed centre line.
fn marks_ui(plot_ui: &mut egui_plot::PlotUi<'_>, marks: &PlotMarks) {
    if let Some(band) = &marks.band {
        let edge_colour = egui::Color32::from_rgb(80, 200, 170);
        let column = |k: usize| -> Vec<[f64; 2]> {
            band.points
                .iter()
                .filter(|p| !p[k].is_nan())
                .map(|p| [p[0], p[k]])
                .collect()
        };
        for (k, id) in [(1, "band lower"), (3, "band upper")] {
            plot_ui.line(
                egui_plot::Line::new(band.name.clone(), column(k))
                    .id(id)
                    .color(edge_colour)
                    .width(1.5),
            );
        }
        plot_ui.line(
            egui_plot::Line::new(format!("{} centre", band.name), column(2))
                .id("band centre")
                .color(edge_colour)
                .style(egui_plot::LineStyle::dashed_dense()),
        );
    }
    for (i, shape) in marks.shapes.iter().enumerate() {
        let [r, g, b] = shape.colour;
        let colour = egui::Color32::from_rgb(r, g, b);
        if let Some(outline) = &shape.fill {
            plot_ui.polygon(
                egui_plot::Polygon::new(String::new(), outline.clone())
                    .id(("shape fill", i))
                    .fill_color(egui::Color32::from_rgba_unmultiplied(r, g, b, 40))
                    .stroke(egui::Stroke::NONE),
            );
        }
        for (k, (points, width)) in shape.strokes.iter().enumerate() {
            plot_ui.line(
                egui_plot::Line::new(String::new(), points.clone())
                    .id(("shape stroke", i, k))
                    .color(colour)
                    .width(*width),
            );
        }
        if let Some(&[x, y]) = shape.strokes.first().and_then(|(p, _)| p.first()) {
            plot_ui.text(
                egui_plot::Text::new(String::new(), egui_plot::PlotPoint::new(x, y), &shape.name)
                    .id(("shape name", i))
                    .anchor(egui::Align2::LEFT_TOP)
                    .color(colour),
            );
        }
    }
    for handle in &marks.handles {
        let [r, g, b] = handle.colour;
        plot_ui.points(
            egui_plot::Points::new(String::new(), vec![handle.at])
                .id(("handle", handle.id))
                .shape(egui_plot::MarkerShape::Square)
                .radius(4.0)
                .color(egui::Color32::from_rgb(r, g, b)),
        );
    }
    let limit_colour = egui::Color32::from_rgb(230, 150, 30);
    for (name, y) in &marks.limits {
        plot_ui.hline(
            egui_plot::HLine::new(name.clone(), *y)
                .color(limit_colour)
                .style(egui_plot::LineStyle::dashed_loose()),
        );
    }
    // One legend entry per kind (a shared name), so a click hides all of them.
    let alarms = marks.events.iter().filter(|(_, alarm)| *alarm).count();
    let others = marks.events.len() - alarms;
    for &(x, alarm) in &marks.events {
        let (name, colour) = if alarm {
            (
                format!("alarms ({alarms})"),
                egui::Color32::from_rgb(235, 60, 60),
            )
        } else {
            (format!("events ({others})"), egui::Color32::from_gray(150))
        };
        plot_ui.vline(
            egui_plot::VLine::new(name, x)
                .color(colour)
                .style(egui_plot::LineStyle::dotted_dense()),
        );
    }
    let cursor_colour = plot_ui
        .ctx()
        .style_of(plot_ui.ctx().theme())
        .visuals
        .strong_text_color();
    for (name, [x, y]) in &marks.cursors {
        // Unnamed in the legend: the details panel reads the cursors out.
        plot_ui.vline(
            egui_plot::VLine::new(String::new(), *x)
                .id(("cursor line", name.as_str()))
                .color(cursor_colour),
        );
        plot_ui.points(
            egui_plot::Points::new(String::new(), vec![[*x, *y]])
                .id(("cursor point", name.as_str()))
                .radius(4.0)
                .color(cursor_colour),
        );
        plot_ui.text(
            egui_plot::Text::new(
                String::new(),
                egui_plot::PlotPoint::new(*x, *y),
                name.as_str(),
            )
            .id(("cursor name", name.as_str()))
            .anchor(egui::Align2::LEFT_BOTTOM)
            .color(cursor_colour),
        );
    }
}

/// The wheel zooms at the pointer: both axes, or x alone where the scroll is sideways
/// (shift + wheel, a trackpad's swipe), within [`limited_zoom`]'s spans (`home`: the
/// default view); a scroll area around the plot does not scroll by it.
fn wheel_zoom(plot_ui: &mut egui_plot::PlotUi<'_>, home: PlotBounds) {
    if !plot_ui.response().hovered() {
        return;
    }
    // The wheel over a plot is the plot's: a stack of plots in a scroll area scrolled by it
    // too (as egui spreads the step over the next frames), so the next step zoomed another.
    plot_ui
        .ctx()
        .input_mut(|input| input.smooth_scroll_delta = egui::Vec2::ZERO);
    let scroll = wheel_delta_points(plot_ui.ctx());
    if scroll == egui::Vec2::ZERO {
        return;
    }
    let factor = if scroll.y == 0.0 {
        egui::vec2((scroll.x / WHEEL_POINTS_PER_E).exp(), 1.0)
    } else {
        egui::Vec2::splat((scroll.y / WHEEL_POINTS_PER_E).exp())
    };
    let bounds = plot_ui.plot_bounds();
    let factor = egui::vec2(
        limited_zoom(factor.x, (bounds.min()[0], bounds.max()[0]), home.width()),
        limited_zoom(factor.y, (bounds.min()[1], bounds.max()[1]), home.height()),
    );
    plot_ui.zoom_bounds_around_hovered(factor);
}

/// How far out a plot zooms, in default views: far enough to see the curves as a speck.
const WIDEST_IN_VIEWS: f64 = 1_000.0;

/// How far in a plot zooms: its span at least this share of its values' size, where the
/// tick labels (12 digits) still tell their marks apart.
const NARROWEST_RELATIVE: f64 = 1e-9;

/// egui_plot's zoom `factor` (above 1 zooms in) on an axis showing `lo..hi`, cut short where
/// the span would leave `NARROWEST_RELATIVE` of the values or `WIDEST_IN_VIEWS` times
/// `home_span` (deep in, every tick read the same number; far out, the curves were lost). A
/// span beyond them already is not moved further.
fn limited_zoom(factor: f32, (lo, hi): (f64, f64), home_span: f64) -> f32 {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite() && factor > 0.0 && factor.is_finite()) {
        return factor;
    }
    let narrowest = (lo.abs().max(hi.abs()) * NARROWEST_RELATIVE).max(f64::MIN_POSITIVE);
    let widest = (home_span * WIDEST_IN_VIEWS).max(narrowest);
    let wanted = span / f64::from(factor);
    let allowed = narrowest.min(span)..=widest.max(span);
    if allowed.contains(&wanted) {
        factor
    } else {
        (span / wanted.clamp(*allowed.start(), *allowed.end())) as f32
    }
}

/// A wheel event's movement in points, as egui converts it: a line is `line_points`, a page
/// `page_points`.
pub fn wheel_points(
    unit: egui::MouseWheelUnit,
    delta: egui::Vec2,
    line_points: f32,
    page_points: f32,
) -> egui::Vec2 {
    match unit {
        egui::MouseWheelUnit::Point => delta,
        egui::MouseWheelUnit::Line => delta * line_points,
        egui::MouseWheelUnit::Page => delta * page_points,
    }
}

/// A wheel event's movement in points, as egui converts it (lines, pages of `page_points`,
/// the horizontal modifier) but unsmoothed; `None` for any other event.
fn wheel_event_points(
    event: &egui::Event,
    options: &egui::InputOptions,
    page_points: f32,
) -> Option<egui::Vec2> {
    let egui::Event::MouseWheel {
        unit,
        delta,
        modifiers,
        ..
    } = event
    else {
        return None;
    };
    let delta = wheel_points(*unit, *delta, options.line_scroll_speed, page_points);
    Some(
        if modifiers.matches_any(options.horizontal_scroll_modifier) {
            egui::vec2(delta.x + delta.y, 0.0)
        } else {
            delta
        },
    )
}

/// This frame's wheel movement in points, as egui converts it but unsmoothed: a wheel notch
/// is one zoom, drawn once, where egui's smoothed delta spreads it over a dozen frames, each
/// a new view for the curves to be drawn for. With it, what [`take_plot_wheel`] took out of
/// this frame's input (taken: a plot calls this only while hovered).
fn wheel_delta_points(ctx: &egui::Context) -> egui::Vec2 {
    let options = ctx.options(|o| o.input_options);
    let taken = ctx
        .data_mut(|data| data.remove_temp::<TakenWheel>(taken_wheel_id()))
        .unwrap_or_default();
    ctx.input(|i| {
        (i.raw.events.iter())
            .filter_map(|event| wheel_event_points(event, &options, i.viewport_rect().height()))
            .fold(taken.0, |total, points| total + points)
    })
}

/// Where one pass's curve plots lay: each one's layer and rectangle.
#[derive(Clone, Debug, Default)]
struct WheelTargets {
    pass: u64,
    plots: Vec<(egui::LayerId, egui::Rect)>,
}

/// Wheel movement in points taken out of a frame's input over a curve plot.
#[derive(Clone, Copy, Debug, Default)]
struct TakenWheel(egui::Vec2);

fn wheel_targets_id() -> egui::Id {
    egui::Id::unique("lyceum plot wheel targets")
}

fn taken_wheel_id() -> egui::Id {
    egui::Id::unique("lyceum plot wheel taken")
}

/// Takes the wheel steps (without Ctrl or Cmd, egui_plot's own zoom) over a curve plot out
/// of `raw_input` before egui sees them, for the plot to zoom by ([`wheel_delta_points`]).
/// For the app on a software adapter: egui asks for two more frames after any input event
/// (`Context::request_repaint` runs two), each 20–30 ms of CPU there, though a wheel step's
/// new picture asks for the one frame that shows it; a step over a popup, or elsewhere, is
/// left to egui.
pub fn take_plot_wheel(ctx: &egui::Context, raw_input: &mut egui::RawInput) {
    // The plots of the pass just run (a pass that showed none left an older list).
    let last_pass = ctx.cumulative_pass_nr().checked_sub(1);
    let targets = ctx
        .data(|data| data.get_temp::<WheelTargets>(wheel_targets_id()))
        .filter(|targets| Some(targets.pass) == last_pass)
        .unwrap_or_default();
    let pointer = (raw_input.events.iter().rev())
        .find_map(|event| match event {
            egui::Event::PointerMoved(pos) => Some(Some(*pos)),
            egui::Event::PointerGone => Some(None),
            _ => None,
        })
        .unwrap_or_else(|| ctx.input(|i| i.pointer.latest_pos()));
    let over_plot = pointer.is_some_and(|pos| {
        ctx.layer_id_at(pos).is_some_and(|layer| {
            (targets.plots.iter())
                .any(|(plot_layer, rect)| *plot_layer == layer && rect.contains(pos))
        })
    });
    let mut taken = egui::Vec2::ZERO;
    if over_plot {
        let options = ctx.options(|o| o.input_options);
        let page_points = raw_input
            .screen_rect
            .map_or_else(|| ctx.viewport_rect().height(), |rect| rect.height());
        raw_input.events.retain(|event| {
            let egui::Event::MouseWheel { modifiers, .. } = event else {
                return true;
            };
            if modifiers.command || modifiers.ctrl {
                return true;
            }
            taken += wheel_event_points(event, &options, page_points).unwrap_or_default();
            false
        });
    }
    // Set every frame, so that a step no plot took is not taken in a later frame.
    ctx.data_mut(|data| data.insert_temp(taken_wheel_id(), TakenWheel(taken)));
}

/// The visible curve nearest the pointer, with its y there.
fn nearest_at_pointer(
    curves: &PlotCurves,
    response: &egui_plot::PlotResponse<()>,
) -> Option<(CurveId, f64, egui_plot::PlotPoint)> {
    let pointer = response.response.hover_pos()?;
    let transform = &response.transform;
    let at = transform.value_from_position(pointer);
    let [dx_per_px, dy_per_px] = transform.dvalue_dpos();
    let max_d = (dx_per_px.abs() * HOVER_PX, dy_per_px.abs() * HOVER_PX);
    let styles = curves.styles();
    let visible = |id: u32| styles.get(id as usize).is_some_and(CurveStyle::is_visible);
    crate::curves::nearest_curve(curves.store(), visible, at.x, at.y, max_d)
        .map(|(id, y)| (id, y, at))
}

/// Curves with a single sample draw one pixel: a marker makes them visible (unnamed, so the
/// legend does not list them). At most [`LONE_MARKERS`].
fn lone_samples_ui(plot_ui: &mut egui_plot::PlotUi<'_>, curves: &PlotCurves) {
    let store = curves.store();
    let styles = curves.styles();
    let lone = (0..store.len() as CurveId)
        .filter(|&id| {
            store.y(id).len() == 1 && styles.get(id as usize).is_some_and(CurveStyle::is_visible)
        })
        .take(LONE_MARKERS);
    for id in lone {
        let [r, g, b, a] = styles[id as usize].rgba.to_le_bytes();
        let point = [store.x_at(id, 0), f64::from(store.y(id)[0])];
        plot_ui.points(
            egui_plot::Points::new(String::new(), vec![point])
                .radius(3.0)
                .color(egui::Color32::from_rgba_unmultiplied(r, g, b, a)),
        );
    }
}

/// A number axis' tick label: egui_plot's own where it reads well, scientific where ticks are
/// a million apart or more, or a hundred-thousandth or less (1e12 as "1e12", not thirteen
/// digits that widen the axis; 3e-9 not as "0.000000003"), with the digits that tell
/// neighbouring ticks apart.
fn number_tick(mark: egui_plot::GridMark) -> String {
    let (value, step) = (mark.value, mark.step_size.abs());
    if (1e-5..1e6).contains(&step) || !step.is_finite() {
        // egui_plot's default formatter.
        let decimals = -step.log10().round() as usize;
        return egui::emath::format_with_decimals_in_range(value, decimals..=decimals);
    }
    if value == 0.0 {
        return "0".to_owned();
    }
    let digits = (value.abs().log10().floor() - step.log10().floor()).clamp(0.0, 12.0) as usize;
    format!("{value:.digits$e}")
}

/// Width of the hovered curve's line and of the halo around it, points.
const HOVERED_WIDTH: f32 = 2.5;
const HOVERED_HALO_WIDTH: f32 = 5.5;

/// The hovered curve over the picture, in its colour with a halo of the plot's background,
/// so it stands out among curves of its own colour. An overlay, not a restyle: hovering
/// then draws no new picture (on the CPU renderer a restyle is a pass over the store). M4
/// for the plot's pixel columns, so a long series costs its columns, not its samples.
fn hovered_curve_ui(
    plot_ui: &mut egui_plot::PlotUi<'_>,
    curves: &PlotCurves,
    hovered: Option<CurveId>,
) {
    let Some(id) = hovered else {
        return;
    };
    let store = curves.store();
    let styles = curves.styles();
    let Some(style) = styles
        .get(id as usize)
        .filter(|style| style.is_visible() && (id as usize) < store.len())
    else {
        return;
    };
    let bounds = plot_ui.plot_bounds();
    let pixels_per_point = plot_ui.ctx().pixels_per_point();
    let width_px = (plot_ui.transform().frame().width() * pixels_per_point).max(1.0) as u32;
    let map = PixelMap::new(bounds.min()[0], bounds.max()[0], width_px);
    let (mut x_px, mut y) = (Vec::new(), Vec::new());
    let range = crate::curves::decimate_curve_into(store, id, &map, &mut x_px, &mut y);
    let x_per_px = (map.x_end - map.x_start) / f64::from(width_px);
    // Within the view and the data's x-range: egui_plot fits its bounds to every item, and a
    // point a rounding past the data (x from pixel columns) would move the view, and so
    // redraw the picture, on every hover.
    let x_limits = (
        bounds.min()[0].max(curves.bounds().min()[0]),
        bounds.max()[0].min(curves.bounds().max()[0]),
    );
    let points: Vec<[f64; 2]> = x_px[range.clone()]
        .iter()
        .zip(&y[range])
        .map(|(&px, &y)| [map.x_start + f64::from(px) * x_per_px, f64::from(y)])
        .collect();
    let points = clip_to_x(&points, x_limits);
    let [r, g, b, _] = style.rgba.to_le_bytes();
    let colour = egui::Color32::from_rgb(r, g, b);
    let halo = plot_ui.ctx().global_style().visuals.extreme_bg_color;
    // Runs between gaps (NaN): a line is not drawn across one.
    for run in points.split(|point| point[1].is_nan()) {
        if let [point] = run {
            for (radius, fill) in [(HOVERED_HALO_WIDTH, halo), (HOVERED_WIDTH, colour)] {
                plot_ui.points(
                    egui_plot::Points::new(String::new(), vec![*point])
                        .radius(radius)
                        .color(fill),
                );
            }
        } else if run.len() > 1 {
            for (width, stroke) in [(HOVERED_HALO_WIDTH, halo), (HOVERED_WIDTH, colour)] {
                plot_ui.line(
                    egui_plot::Line::new(String::new(), run.to_vec())
                        .width(width)
                        .color(stroke),
                );
            }
        }
    }
}

/// `polyline` cut at `x_lo..=x_hi`: segments crossing an edge end on it (interpolated), those
/// outside are left out; NaN y (gaps) kept as separators.
fn clip_to_x(polyline: &[[f64; 2]], (x_lo, x_hi): (f64, f64)) -> Vec<[f64; 2]> {
    let inside = |p: &[f64; 2]| (x_lo..=x_hi).contains(&p[0]);
    let at = |a: &[f64; 2], b: &[f64; 2], x: f64| {
        let t = (x - a[0]) / (b[0] - a[0]);
        [x, a[1] + (b[1] - a[1]) * t]
    };
    let mut out = Vec::with_capacity(polyline.len());
    for (k, p) in polyline.iter().enumerate() {
        let previous = k.checked_sub(1).map(|j| &polyline[j]);
        if p[1].is_nan() {
            out.push(*p);
            continue;
        }
        let usable = |q: &&[f64; 2]| !q[1].is_nan();
        if inside(p) {
            // Entering from outside: start on the edge.
            if let Some(q) = previous.filter(usable).filter(|q| !inside(q)) {
                out.push(at(q, p, if q[0] < x_lo { x_lo } else { x_hi }));
            }
            out.push(*p);
        } else if let Some(q) = previous.filter(usable) {
            if inside(q) {
                // Leaving: end on the edge, then a gap.
                out.push(at(q, p, if p[0] < x_lo { x_lo } else { x_hi }));
                out.push([p[0], f64::NAN]);
            } else if (q[0] < x_lo) != (p[0] < x_lo) && (q[0] > x_hi) != (p[0] > x_hi) {
                // One segment across the whole range (zoomed in between two samples).
                let (first, last) = if q[0] < p[0] {
                    (x_lo, x_hi)
                } else {
                    (x_hi, x_lo)
                };
                out.extend([at(q, p, first), at(q, p, last), [p[0], f64::NAN]]);
            }
        }
    }
    out
}

/// Markers for single-sample curves drawn at most.
const LONE_MARKERS: usize = 2_000;

fn curve_at_pointer(
    curves: &PlotCurves,
    response: &egui_plot::PlotResponse<()>,
) -> Option<CurveId> {
    nearest_at_pointer(curves, response).map(|(id, _, _)| id)
}

/// A shift-drag draws a box; on release, the visible curves through it.
fn box_select(
    ui: &egui::Ui,
    curves: &PlotCurves,
    response: &egui_plot::PlotResponse<()>,
) -> Option<(DataBox, Vec<CurveId>)> {
    let plot = &response.response;
    let start_id = plot.id.with("box select start");
    if plot.drag_started_by(egui::PointerButton::Primary) && ui.input(|i| i.modifiers.shift) {
        let start = ui.input(|i| i.pointer.press_origin());
        ui.ctx().data_mut(|d| d.insert_temp(start_id, start));
    }
    let start: Option<egui::Pos2> = ui.ctx().data(|d| d.get_temp(start_id)).flatten();
    let (start, end) = (start?, ui.input(|i| i.pointer.latest_pos())?);
    let rect = egui::Rect::from_two_pos(start, end);
    if plot.dragged() {
        let stroke = egui::Stroke::new(1.5, ui.visuals().selection.stroke.color);
        ui.painter().with_clip_rect(plot.rect).rect(
            rect,
            0.0,
            ui.visuals().selection.bg_fill.gamma_multiply(0.25),
            stroke,
            egui::StrokeKind::Middle,
        );
        return None;
    }
    ui.ctx()
        .data_mut(|d| d.remove::<Option<egui::Pos2>>(start_id));
    let (a, b) = (
        response.transform.value_from_position(rect.left_bottom()),
        response.transform.value_from_position(rect.right_top()),
    );
    let area = DataBox {
        x: (a.x, b.x),
        y: (a.y, b.y),
    };
    let styles = curves.styles();
    let visible = |id: u32| styles.get(id as usize).is_some_and(CurveStyle::is_visible);
    Some((area, curves_through_box(curves.store(), visible, area)))
}

/// Points of vertical distance within which a curve counts as hovered.
const HOVER_PX: f64 = 8.0;

/// Under the pointer: the nearest visible curve's key, labels and value, beside the pointer.
fn hover_readout_ui(
    curves: &PlotCurves,
    response: &egui_plot::PlotResponse<()>,
) -> Option<CurveId> {
    let (id, y, at) = nearest_at_pointer(curves, response)?;
    let pointer = response.response.hover_pos()?;
    let store = curves.store();
    let x = readout_x(store, id, at.x);
    let x_text = if store.axes().x_is_time {
        let zone = curves.time_zone();
        format!(
            "{} {}",
            format_instant(x, zone, "%Y-%m-%d %H:%M:%S%.3f"),
            zone.name()
        )
    } else {
        format!("{x:.6}")
    };
    // At once, not after a tooltip's delay: engineers scrub along the curves.
    let ctx = &response.response.ctx;
    egui::Area::new(response.response.id.with("hover readout"))
        .order(egui::Order::Tooltip)
        .fixed_pos(pointer + egui::vec2(14.0, 14.0))
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| hover_lines_ui(ui, store, id, &x_text, y));
        });
    Some(id)
}

/// The x the hover readout names: a one-sample curve's own (its y is that sample's wherever
/// the pointer is near it), else the pointer's.
fn readout_x(store: &CurveStore, id: CurveId, pointer_x: f64) -> f64 {
    if store.y(id).len() == 1 {
        store.x_at(id, 0)
    } else {
        pointer_x
    }
}

/// The readout's lines: key, labels, x and y.
fn hover_lines_ui(ui: &mut egui::Ui, store: &CurveStore, id: u32, x_text: &str, y: f64) {
    ui.strong(store.key(id));
    for column in store.label_columns() {
        let value = &column.values[id as usize];
        if !value.is_empty() {
            ui.label(format!("{}: {value}", column.name));
        }
    }
    ui.label(format!("{} = {x_text}", store.axes().x_title()));
    ui.label(format!("{} = {}", store.axes().y_title(), readout_value(y)));
}

/// A value as the store holds it (f32): its shortest exact digits, in scientific notation
/// where plain digits would run long or start with zeros (six fixed decimals read 1.673e9 as
/// "1672999936.000000" and 1e-7 as "0.000000").
fn readout_value(y: f64) -> String {
    let stored = y as f32;
    if stored != 0.0 && stored.is_finite() && !(1e-4..1e7).contains(&stored.abs()) {
        format!("{stored:e}")
    } else {
        format!("{stored}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;

    /// Frames eframe runs for `ask` made between frames (a worker's result arriving): one
    /// whenever a repaint is asked for within a few ms, as its event loop does, until none is.
    fn frames_run_for(ask: impl FnOnce(&egui::Context)) -> usize {
        let ctx = egui::Context::default();
        let asked = Arc::new(Mutex::new(None));
        let soonest = Arc::clone(&asked);
        ctx.set_request_repaint_callback(move |info| {
            let mut soonest = soonest.lock().unwrap_or_else(PoisonError::into_inner);
            *soonest =
                Some(soonest.map_or(info.delay, |at: std::time::Duration| at.min(info.delay)));
        });
        let run_due_frames = || {
            let mut frames = 0;
            while asked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .is_some_and(|delay| delay <= std::time::Duration::from_millis(5))
            {
                let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
                    ui.label("plot");
                });
                // No renderer takes the font atlas here.
                output.textures_delta.clear();
                frames += 1;
                assert!(frames < 10, "frames never stop");
            }
            frames
        };
        // egui's own first frames.
        *asked.lock().unwrap_or_else(PoisonError::into_inner) = Some(std::time::Duration::ZERO);
        run_due_frames();
        ask(&ctx);
        run_due_frames()
    }

    /// A worker's finished picture or decimation costs one frame, not the two an immediate
    /// repaint runs: on a software adapter each is 20-40 ms of eframe's painting.
    #[test]
    fn a_workers_result_asks_for_one_frame() {
        assert_eq!(frames_run_for(show_result), 1);
        assert_eq!(
            frames_run_for(egui::Context::request_repaint),
            2,
            "what it saves"
        );
    }

    #[test]
    fn huge_and_tiny_ticks_read_in_scientific_notation() {
        let tick =
            |value: f64, step_size: f64| number_tick(egui_plot::GridMark { value, step_size });
        assert_eq!(tick(3e12, 1e12), "3e12");
        assert_eq!(tick(1.2e7, 1e6), "1.2e7");
        assert_eq!(tick(-2e30, 1e30), "-2e30");
        assert_eq!(tick(3e-9, 1e-9), "3e-9");
        assert_eq!(tick(0.0, 1e-9), "0");
        // In between, egui_plot's own labels.
        assert_eq!(tick(250.0, 50.0), "250");
        assert_eq!(tick(0.5, 0.1), "0.5");
    }

    #[test]
    fn a_hover_line_is_cut_at_the_x_limits() {
        let line = [[0.0, 0.0], [2.0, 2.0], [4.0, 0.0], [6.0, 2.0]];
        let cut = clip_to_x(&line, (1.0, 5.0));
        // Enters at x = 1, keeps the inner points, leaves at x = 5 with a gap after.
        assert_eq!(&cut[..4], &[[1.0, 1.0], [2.0, 2.0], [4.0, 0.0], [5.0, 1.0]]);
        assert!(cut[4][1].is_nan() && cut.len() == 5, "{cut:?}");
        // Zoomed in between two samples: the one segment across the view.
        let cut = clip_to_x(&[[0.0, 0.0], [10.0, 10.0]], (4.0, 6.0));
        assert_eq!(&cut[..2], &[[4.0, 4.0], [6.0, 6.0]]);
        // A gap stays a gap; points outside are left out.
        let cut = clip_to_x(
            &[[2.0, 1.0], [3.0, f64::NAN], [4.0, 1.0], [9.0, 1.0]],
            (1.0, 5.0),
        );
        assert_eq!(cut.len(), 5, "{cut:?}");
        assert!(cut[1][1].is_nan() && cut.iter().all(|p| p[0] <= 9.0));
        assert!(
            cut.iter()
                .filter(|p| !p[1].is_nan())
                .all(|p| (1.0..=5.0).contains(&p[0]))
        );
    }

    fn curves(mode: DecimationMode) -> PlotCurves {
        curves_of_plot(mode, "test")
    }

    fn curves_of_plot(mode: DecimationMode, plot: &str) -> PlotCurves {
        let mut builder = CurveStoreBuilder::new(&[]);
        for key in ["a", "b"] {
            let ys: Vec<f32> = (0..10_000).map(|i| (i as f32 * 0.01).sin()).collect();
            builder.push_uniform(key, &[], 0.0, 1.0, &ys).unwrap();
        }
        let store = Arc::new(builder.finish().unwrap());
        let styles = vec![CurveStyle::line([0, 0, 0, 255]); 2];
        PlotCurves::new(egui::Id::unique(plot), store, styles, mode, Decimation::M4).unwrap()
    }

    #[test]
    fn readout_values_show_the_stored_digits() {
        for (y, text) in [
            (1.673e9, "1.673e9"),
            (1e-7, "1e-7"),
            (-2.5e-6, "-2.5e-6"),
            (3.349_562_6, "3.3495626"),
            (0.5, "0.5"),
            (0.0, "0"),
            (1_234_567.0, "1234567"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(readout_value(y), text);
        }
    }

    /// The wheel zooms freely between the limits, stops at them, and a span already beyond
    /// one is not moved further (nor back).
    #[test]
    fn wheel_zooms_stop_where_ticks_repeat_and_where_the_curves_are_lost() {
        let e = std::f32::consts::E;
        // Within the limits: the factor as asked.
        assert_eq!(limited_zoom(e, (0.0, 100.0), 100.0), e);
        assert_eq!(limited_zoom(1.0 / e, (0.0, 100.0), 100.0), 1.0 / e);
        // In, to a span of 1e-9 of the values' size.
        let near = (1.0e6, 1.0e6 + 2.0e-3);
        let factor = limited_zoom(1e9, near, 100.0);
        let span = (near.1 - near.0) / f64::from(factor);
        assert!(
            (span / (near.1 * NARROWEST_RELATIVE) - 1.0).abs() < 1e-3,
            "{span}"
        );
        // Out, to a thousand default views.
        let factor = limited_zoom(1e-9, (0.0, 100.0), 100.0);
        assert!(
            (100.0 / f64::from(factor) / 1e5 - 1.0).abs() < 1e-3,
            "{factor}"
        );
        // Beyond a limit already: no further, and not pulled back either.
        assert_eq!(limited_zoom(e, (1.0e6, 1.0e6 + 1e-5), 100.0), 1.0);
        assert_eq!(limited_zoom(1.0 / e, (1.0e6, 1.0e6 + 1e-5), 100.0), 1.0 / e);
        assert_eq!(limited_zoom(1.0 / e, (-1e6, 1e6), 100.0), 1.0);
        // Values about zero, and a view with no width, zoom as asked.
        assert_eq!(limited_zoom(e, (-1e-6, 1e-6), 2e-6), e);
        assert_eq!(limited_zoom(e, (5.0, 5.0), 0.0), e);
    }

    /// Hiding a curve keeps the axes still; the default view asked for again (a
    /// double-click) fits the curves still shown, and showing every curve and asking again
    /// gives the first one back.
    #[test]
    fn the_default_view_asked_for_again_fits_the_curves_shown() {
        let mut builder = CurveStoreBuilder::new(&[]);
        builder
            .push_uniform("small", &[], 0.0, 1.0, &[-1.0, 2.0, 1.0])
            .unwrap();
        builder
            .push_uniform("huge", &[], 10.0, 1.0, &[0.0, 5e9, 3.0])
            .unwrap();
        let store = Arc::new(builder.finish().unwrap());
        let shown = vec![CurveStyle::line([0, 0, 0, 255]); 2];
        let curves = PlotCurves::new(
            egui::Id::unique("refit"),
            store,
            shown.clone(),
            DecimationMode::Inline,
            Decimation::M4,
        )
        .unwrap();
        let extent = |curves: &PlotCurves| {
            let bounds = curves.bounds();
            [bounds.min(), bounds.max()]
        };
        let first = extent(&curves);
        assert_eq!(first, [[0.0, -1.0], [12.0, 5e9]]);
        curves
            .set_styles(vec![shown[0], shown[1].hidden()])
            .unwrap();
        assert_eq!(extent(&curves), first, "hiding moved the axes");
        curves.refit_to_shown();
        assert_eq!(extent(&curves), [[0.0, -1.0], [2.0, 2.0]]);
        curves.set_styles(shown).unwrap();
        curves.refit_to_shown();
        assert_eq!(extent(&curves), first);
    }

    /// The status bar tells the plot in front: each plot's latest drawing is kept apart, so
    /// another tab's, drawn later, does not stand in for it.
    #[test]
    fn each_plot_keeps_its_own_latest_decimation() {
        let ctx = egui::Context::default();
        let shown = curves_of_plot(DecimationMode::Inline, "shown");
        let other = curves_of_plot(DecimationMode::Inline, "other");
        shown.decimation_for(&ctx, view(1_000.0));
        other.decimation_for(&ctx, view(10_000.0));
        let points_of = |plot: &PlotCurves| plot_decimation(&ctx, plot.id()).map(|t| t.points_out);
        let drawn =
            |x_end| Some(crate::curves::decimate_m4(&shown.store, &view(x_end)).point_count());
        assert_eq!(points_of(&shown), drawn(1_000.0));
        assert_eq!(points_of(&other), drawn(10_000.0));
        assert_ne!(drawn(1_000.0), drawn(10_000.0));
        assert_eq!(latest_decimation(&ctx), plot_decimation(&ctx, other.id()));
    }

    fn view(x_end: f64) -> PixelMap {
        PixelMap::new(0.0, x_end, 100)
    }

    #[test]
    fn a_picture_being_drawn_is_not_asked_for_again() {
        let key = |x_end: f64| CpuKey {
            view: view(x_end),
            rows: RowMap::with_scale(0.0, 1.0, 50),
            styles: 1,
            mode: BaseMode::Lines,
        };
        let styles = Arc::new(Vec::new());
        let mut slot = CpuSlot::default();
        assert!(slot.want(key(10.0), Arc::clone(&styles)), "a worker starts");
        assert!(!slot.want(key(10.0), Arc::clone(&styles)), "asked already");
        let (drawing, _) = slot.take_wanted().unwrap();
        assert_eq!(drawing, key(10.0));
        // The frames after the input ask again while it is drawn: nothing is queued.
        assert!(!slot.want(key(10.0), Arc::clone(&styles)));
        assert!(slot.wanted.is_none());
        // Another view is queued behind it, for the running worker.
        assert!(!slot.want(key(20.0), Arc::clone(&styles)));
        assert_eq!(slot.take_wanted().map(|(k, _)| k), Some(key(20.0)));
        // Nothing left: the worker stops, and the next wish starts one again.
        assert!(slot.take_wanted().is_none());
        assert!(!slot.worker_running);
        assert!(slot.want(key(30.0), styles));
    }

    /// The CPU worker draws a pan by whole columns and rows by moving the last picture: it
    /// draws only the uncovered columns' samples (and the curves reaching the uncovered
    /// rows), and its pixels are those of the panned view drawn afresh; a restyle (another
    /// style table) draws afresh.
    #[test]
    fn the_worker_pans_the_last_picture_and_draws_only_what_came_into_view() {
        use super::super::cpu_raster::{Points, RasterTarget, colours, raster_points};
        let curves = curves(DecimationMode::Inline);
        let ctx = egui::Context::default();
        let styles = curves.styles();
        let key = |view: PixelMap, rows: RowMap, styles: &Arc<Vec<CurveStyle>>| CpuKey {
            view,
            rows,
            styles: Arc::as_ptr(styles) as usize,
            mode: BaseMode::Lines,
        };
        let draw = |key: CpuKey, styles: &Arc<Vec<CurveStyle>>| {
            let mut slot = curves.cpu.lock().unwrap();
            slot.want(key, Arc::clone(styles));
            drop(slot);
            cpu_worker(&curves.store, &curves.cpu, (&ctx, curves.id));
            let timing = latest_decimation(&ctx).unwrap();
            (timing.points_out, timing.panned)
        };
        let kept_is_afresh = |view: PixelMap, rows: RowMap| {
            let target = RasterTarget { width: 400, rows };
            let (afresh, _) = raster_points(
                Points::Store(&curves.store, &view),
                target,
                &styles,
                BaseMode::Lines,
            );
            let slot = curves.cpu.lock().unwrap();
            let (kept_key, kept) = (slot.ready.unwrap(), slot.base.as_ref().unwrap());
            assert_eq!((kept_key.view, kept_key.rows), (view, rows));
            assert!(
                *kept == afresh,
                "the panned picture differs from the one drawn afresh"
            );
        };
        let (fresh, rows) = (
            PixelMap::new(1_000.0, 3_000.0, 400),
            RowMap::with_scale(-0.5, 60.0, 60),
        );
        let (whole_view, none) = draw(key(fresh, rows, &styles), &styles);
        assert_eq!(none, None);
        let panned = fresh.panned(-37).unwrap();
        let (pan, moved) = draw(key(panned, rows, &styles), &styles);
        assert_eq!(moved, Some((37, 0)), "the status bar tells a pan");
        assert!(
            pan > 0 && pan * 5 < whole_view,
            "{pan} points drawn for a pan by 37 of 400 columns, {whole_view} for the whole view"
        );
        kept_is_afresh(panned, rows);
        // Across: 5 columns right and 7 rows down.
        let (across, lower) = (panned.panned(5).unwrap(), rows.panned(-7).unwrap());
        assert_eq!(draw(key(across, lower, &styles), &styles).1, Some((5, 7)));
        // Each curve counted once, though both strips may draw it.
        let told = latest_decimation(&ctx).unwrap().curves;
        assert!(
            told <= curves.store.len(),
            "{told} curves told, {} loaded",
            curves.store.len()
        );
        kept_is_afresh(across, lower);
        // Another style table: the whole view again.
        let mut highlighted = styles.as_ref().clone();
        highlighted[0] = highlighted[0].highlighted(2.0);
        let restyled = Arc::new(highlighted);
        let again = across.panned(5).unwrap();
        assert_eq!(draw(key(again, lower, &restyled), &restyled).1, None);
        // With a curve highlighted, its wide line is moved with the picture: the colours
        // shown are those drawn afresh.
        let (last, lowest) = (again.panned(-6).unwrap(), lower.panned(4).unwrap());
        assert_eq!(
            draw(key(last, lowest, &restyled), &restyled).1,
            Some((6, 4))
        );
        let target = RasterTarget {
            width: 400,
            rows: lowest,
        };
        let (base, _) = raster_points(
            Points::Store(&curves.store, &last),
            target,
            &restyled,
            BaseMode::Lines,
        );
        let view = (curves.store.as_ref(), &last, target);
        let (afresh, drawn) = colours(&base, view, &restyled, BaseMode::Lines);
        assert_eq!(drawn.curves, 1, "one wide line");
        let slot = curves.cpu.lock().unwrap();
        let shown = &slot.image.as_ref().unwrap()[0].pixels;
        assert!(
            bytemuck::cast_slice::<_, u8>(&shown.pixels) == afresh.rgba.as_slice(),
            "the panned colours differ from those drawn afresh"
        );
        assert!(slot.colours.is_some(), "kept for the next pan");
    }

    /// A long drag one way keeps panning the maps it started with: each frame's view, which
    /// a plot frame not a whole number of pixels wide or high leaves a fraction of a pixel
    /// off them, is put back on them, so the fractions never add up to a fresh map (a whole
    /// picture drawn).
    #[test]
    fn a_long_drag_keeps_panning_the_maps_it_started_with() {
        let curves = Arc::new(curves(DecimationMode::Inline));
        let ctx = egui::Context::default();
        let frame = |events: Vec<egui::Event>| {
            let input = egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(
                    egui::Pos2::ZERO,
                    egui::vec2(803.3, 517.7),
                )),
                events,
                ..egui::RawInput::default()
            };
            let mut output = ctx.run_ui(input, |ui| {
                egui::CentralPanel::default().show(ui, |ui| {
                    curves_plot_ui(ui, &curves, &PlotLabels::default());
                });
            });
            output.textures_delta.clear();
            *curves.last_maps.lock().unwrap()
        };
        let button = |pos, pressed| egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        };
        let mut at = egui::pos2(300.0, 260.0);
        for _ in 0..3 {
            frame(vec![egui::Event::PointerMoved(at)]);
        }
        frame(vec![button(at, true)]);
        // Past egui's drag threshold: from here on the view pans.
        at += egui::vec2(12.0, 7.0);
        let (first_map, first_rows) = frame(vec![egui::Event::PointerMoved(at)]).unwrap();
        let (mut columns, mut rows) = (0, 0);
        for _ in 0..60 {
            at += egui::vec2(-7.0, -3.0);
            let (map, row_map) = frame(vec![egui::Event::PointerMoved(at)]).unwrap();
            let moved = map
                .columns_from(&first_map)
                .zip(row_map.rows_from(&first_rows));
            let Some(moved) = moved else {
                panic!("the maps started afresh after panning {columns} columns and {rows} rows");
            };
            (columns, rows) = moved;
        }
        frame(vec![button(at, false)]);
        assert!(
            columns.abs() > 400 && rows.abs() > 150,
            "{columns} columns and {rows} rows panned"
        );
    }

    /// On a software adapter a wheel step over a plot is taken out of egui's input (egui
    /// runs two more frames after any input event) and the plot zooms by it all the same;
    /// a step over anything else, or with Ctrl (egui_plot's own zoom), is left to egui.
    #[test]
    fn a_wheel_step_over_a_plot_is_taken_from_egui_and_zooms_it() {
        let curves = Arc::new(curves(DecimationMode::Inline));
        let ctx = egui::Context::default();
        // One frame of `events` after the app's input hook: the events egui was given, the
        // delay egui asked the next frame for, and the plot's width in x.
        let frame = |events: Vec<egui::Event>| {
            let mut input = egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(
                    egui::Pos2::ZERO,
                    egui::vec2(800.0, 520.0),
                )),
                events,
                ..egui::RawInput::default()
            };
            take_plot_wheel(&ctx, &mut input);
            let given = input.events.clone();
            let mut output = ctx.run_ui(input, |ui| {
                egui::CentralPanel::default().show(ui, |ui| {
                    curves_plot_ui(ui, &curves, &PlotLabels::default());
                });
            });
            output.textures_delta.clear();
            let delay = output.viewport_output[&egui::ViewportId::ROOT].repaint_delay;
            let width =
                egui_plot::PlotMemory::load(&ctx, curves.id).map(|memory| memory.bounds().width());
            (given, delay, width)
        };
        let wheel = |modifiers| egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 60.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers,
        };
        let is_wheel = |event: &egui::Event| matches!(event, egui::Event::MouseWheel { .. });
        for _ in 0..3 {
            frame(vec![egui::Event::PointerMoved(egui::pos2(400.0, 280.0))]);
        }
        let (.., Some(before)) = frame(Vec::new()) else {
            panic!("no plot memory");
        };
        let (given, delay, after) = frame(vec![wheel(egui::Modifiers::NONE)]);
        assert!(!given.iter().any(is_wheel), "the step was left to egui");
        assert!(
            delay > std::time::Duration::ZERO,
            "egui asked for a frame now"
        );
        let after = after.unwrap_or(before);
        assert!(
            after < before * 0.9,
            "the plot did not zoom: {before} -> {after}"
        );
        let (given, ..) = frame(vec![wheel(egui::Modifiers::CTRL)]);
        assert!(
            given.iter().any(is_wheel),
            "Ctrl + wheel taken from egui_plot"
        );
        // Over the window's edge, outside the plot.
        frame(vec![egui::Event::PointerMoved(egui::pos2(2.0, 2.0))]);
        let (given, ..) = frame(vec![wheel(egui::Modifiers::NONE)]);
        assert!(given.iter().any(is_wheel), "a step outside the plot taken");
        // Where no hook takes the list (a GPU adapter), it holds one pass's plot all the same.
        for _ in 0..5 {
            let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
                egui::CentralPanel::default().show(ui, |ui| {
                    curves_plot_ui(ui, &curves, &PlotLabels::default());
                });
            });
            output.textures_delta.clear();
        }
        let targets = ctx.data(|data| data.get_temp::<WheelTargets>(wheel_targets_id()));
        assert_eq!(targets.map(|targets| targets.plots.len()), Some(1));
    }

    /// A decimation is written into the buffers of the one shown before it once nothing
    /// holds that any more (the GPU keeps the one it uploaded until the next upload), and
    /// gives the points of a fresh one; while it is held, fresh buffers are taken.
    #[test]
    fn a_decimation_reuses_the_buffers_of_one_no_longer_shown() {
        let (curves, ctx) = (curves(DecimationMode::Inline), egui::Context::default());
        let first = curves.decimation_for(&ctx, view(1_000.0)).unwrap().1;
        let first_buffer = first.x_px.as_ptr();
        drop(first);
        let second = curves.decimation_for(&ctx, view(2_000.0)).unwrap().1;
        let third = curves.decimation_for(&ctx, view(3_000.0)).unwrap().1;
        assert_eq!(
            third.x_px.as_ptr(),
            first_buffer,
            "the retired buffers are reused"
        );
        assert_eq!(
            *third,
            crate::curves::decimate_m4(&curves.store, &view(3_000.0))
        );
        // The second is still held here (as the GPU holds what it uploaded): not reused.
        let fourth = curves.decimation_for(&ctx, view(4_000.0)).unwrap().1;
        assert_ne!(fourth.x_px.as_ptr(), second.x_px.as_ptr());
        assert_eq!(
            *fourth,
            crate::curves::decimate_m4(&curves.store, &view(4_000.0))
        );
    }

    #[test]
    fn background_decimation_settles_on_the_latest_view() {
        let (curves, ctx) = (curves(DecimationMode::Background), egui::Context::default());
        // A pan: many views in quick succession; the first has nothing to show yet.
        assert!(curves.decimation_for(&ctx, view(1_000.0)).is_none());
        for end in 1_001..1_100 {
            let _ = curves.decimation_for(&ctx, view(f64::from(end)));
        }
        let latest = view(1_099.0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some((ready, decimated)) = curves.decimation_for(&ctx, latest)
                && ready == latest
            {
                assert_eq!(decimated.ranges.len(), 2);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "never settled");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // The worker stops once nothing is wanted.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!curves.slot.lock().unwrap().worker_running);
    }

    #[test]
    fn instants_are_written_in_utc_or_at_the_local_offset() {
        // 2026-11-02 06:30:00.250 UTC.
        let at = 1_793_601_000.25;
        assert_eq!(
            format_instant(at, TimeZoneChoice::Utc, "%Y-%m-%d %H:%M:%S%.3f"),
            "2026-11-02 06:30:00.250"
        );
        // An hour east (CET in winter) and five and a half west.
        assert_eq!(format_instant_at_offset(at, 3_600, "%H:%M"), "07:30");
        assert_eq!(
            format_instant_at_offset(at, -19_800, "%m-%d %H:%M"),
            "11-02 01:00"
        );
        assert_eq!(TimeZoneChoice::Utc.offset_secs(at), 0);
    }

    #[test]
    fn time_axes_mark_round_utc_times() {
        // Three days from 2024-03-01 10:00 UTC, about 150 px per day.
        let start = 1_709_287_200.0;
        let marks = time_grid(egui_plot::GridInput {
            bounds: (start, start + 3.0 * 86_400.0),
            base_step_size: 3_000.0,
        });
        assert!(!marks.is_empty());
        for mark in &marks {
            assert_eq!(
                mark.value % mark.step_size,
                0.0,
                "{mark:?} is not on its step"
            );
        }
        let days: Vec<f64> = marks
            .iter()
            .filter(|m| m.step_size >= 86_400.0)
            .map(|m| m.value)
            .collect();
        assert!(!days.is_empty(), "{marks:?}");
        assert!(
            days.iter().all(|d| d % 86_400.0 == 0.0),
            "midnights: {days:?}"
        );
        assert_eq!(days[0], 1_709_337_600.0);
        let mark = egui_plot::GridMark {
            value: days[0],
            step_size: 86_400.0,
        };
        let format = time_tick_format(mark, &(start..=start + 3.0 * 86_400.0));
        assert_eq!(
            format_instant(days[0], TimeZoneChoice::Utc, format),
            "2024-03-02"
        );
    }

    #[test]
    fn inline_decimation_is_exact_at_once_and_styles_are_checked() {
        let (curves, ctx) = (curves(DecimationMode::Inline), egui::Context::default());
        let (ready, _) = curves.decimation_for(&ctx, view(500.0)).unwrap();
        assert_eq!(ready, view(500.0));
        assert!(matches!(
            curves.set_styles(vec![]),
            Err(GpuError::StyleCount {
                curves: 2,
                styles: 0
            })
        ));
    }

    /// A tile is shown by the cells a curve lights: every pixel that is not transparent lies
    /// in one of its runs, and every cell of a run holds one.
    #[test]
    fn a_tile_is_shown_by_exactly_its_lit_cells() {
        let (width, height) = (150usize, 70usize);
        let mut rgba = vec![0u8; width * height * 4];
        let lit_pixels = [
            (0, 0),
            (33, 0),
            (64, 5),
            (149, 69),
            (100, 40),
            (101, 41),
            (40, 69),
        ];
        for &(x, y) in &lit_pixels {
            rgba[(y * width + x) * 4 + 3] = 1;
        }
        // One tile, and tiles smaller than a cell and not a whole number of cells.
        for max_side in [4096, 45, 20] {
            let tiles = picture_tiles(rgba.clone(), width, height, max_side);
            let mut covered = vec![false; width * height];
            for tile in &tiles {
                let [tile_width, tile_height] = tile.pixels.size;
                let left = (tile.in_picture.min.x * width as f32).round() as usize;
                let top = (tile.in_picture.min.y * height as f32).round() as usize;
                for run in &tile.lit {
                    let at = |f: f32, of: usize| (f * of as f32).round() as usize;
                    let (x0, x1) = (at(run.min.x, tile_width), at(run.max.x, tile_width));
                    let (y0, y1) = (at(run.min.y, tile_height), at(run.max.y, tile_height));
                    assert!(x0 < x1 && y0 < y1 && x1 <= tile_width && y1 <= tile_height);
                    for cell_x in (x0..x1).step_by(PICTURE_CELL_PX) {
                        let cell_columns = left + cell_x..left + (cell_x + PICTURE_CELL_PX).min(x1);
                        let holds_one = lit_pixels.iter().any(|&(x, y)| {
                            cell_columns.contains(&x) && (top + y0..top + y1).contains(&y)
                        });
                        assert!(holds_one, "an empty cell shown at {cell_x} in {run:?}");
                    }
                    for y in y0..y1 {
                        for x in x0..x1 {
                            covered[(top + y) * width + left + x] = true;
                        }
                    }
                }
            }
            for &(x, y) in &lit_pixels {
                assert!(
                    covered[y * width + x],
                    "({x}, {y}) not shown, tiles of {max_side}"
                );
            }
        }
        let empty = picture_tiles(vec![0u8; width * height * 4], width, height, 4096);
        assert!(empty.iter().all(|tile| tile.lit.is_empty()));
    }

    #[test]
    fn a_picture_larger_than_a_texture_is_cut_into_tiles_that_rebuild_it() {
        let (width, height) = (5usize, 3usize);
        let rgba: Vec<u8> = (0..width * height * 4).map(|i| i as u8).collect();
        let tiles = picture_tiles(rgba.clone(), width, height, 2);
        assert_eq!(tiles.len(), 3 * 2);
        let mut rebuilt = vec![0u8; rgba.len()];
        for tile in &tiles {
            let [tile_width, tile_height] = tile.pixels.size;
            assert!(tile_width <= 2 && tile_height <= 2);
            let left = (tile.in_picture.min.x * width as f32).round() as usize;
            let top = (tile.in_picture.min.y * height as f32).round() as usize;
            assert_eq!(
                (tile.in_picture.max.x * width as f32).round() as usize,
                left + tile_width
            );
            for (k, pixel) in tile.pixels.pixels.iter().enumerate() {
                let at = ((top + k / tile_width) * width + left + k % tile_width) * 4;
                rebuilt[at..at + 4].copy_from_slice(&pixel.to_array());
            }
        }
        // As one image would hold them.
        let expected: Vec<u8> = rgba
            .chunks(4)
            .flat_map(|p| egui::Color32::from_rgba_premultiplied(p[0], p[1], p[2], p[3]).to_array())
            .collect();
        assert_eq!(rebuilt, expected);
        let whole = picture_tiles(rgba.clone(), width, height, 4096);
        assert_eq!(whole.len(), 1);
        let whole_bytes: Vec<u8> = whole[0]
            .pixels
            .pixels
            .iter()
            .flat_map(|p| p.to_array())
            .collect();
        assert_eq!(whole_bytes, expected);
    }

    #[test]
    fn the_readout_names_a_lone_samples_own_x() {
        let mut builder = CurveStoreBuilder::new(&[]);
        builder
            .push_explicit("lone".to_owned(), &[], &[5.0], &[2.0])
            .unwrap();
        builder
            .push_explicit("three".to_owned(), &[], &[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0])
            .unwrap();
        let store = builder.finish().unwrap();
        assert_eq!(readout_x(&store, 0, 4.71), 5.0);
        assert_eq!(readout_x(&store, 1, 2.5), 2.5);
    }
}
