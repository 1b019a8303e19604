//! `lyceum render`: a PNG of the demo plant, a dataset or a ClickHouse source, through the
//! library's one styling decision and either renderer.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use clap::{Args, Subcommand};
use lyceum::source::dataset;
use lyceum::source::demo::Plant;

use super::demo::PlantArgs;
use super::fetch::{FetchArgs, fetch_store};
use super::output::out;

#[derive(Args, Debug)]
pub(crate) struct RenderArgs {
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[arg(long, default_value_t = 1920)]
    pub(crate) width: u32,
    #[arg(long, default_value_t = 1080)]
    pub(crate) height: u32,
    /// `m4` (pixel-exact decimation) or `none` (every sample); both give the same image.
    #[arg(long, value_enum, default_value_t = DecimationArg::M4)]
    pub(crate) decimation: DecimationArg,
    /// Which demo curves to draw (without a dataset or server source).
    #[arg(long, value_enum, default_value_t = DemoSource::ProcessCurves)]
    pub(crate) source: DemoSource,
    /// Only curves whose `program` label is this (screwdriving, press_fit).
    #[arg(long)]
    pub(crate) program: Option<String>,
    #[arg(long, value_enum, default_value_t = Renderer::Auto)]
    pub(crate) renderer: Renderer,
    /// `lines` (each pixel in its topmost curve's colour) or `density` (hit counts, log colour map).
    #[arg(long, value_enum, default_value_t = ModeArg::Lines)]
    pub(crate) mode: ModeArg,
    /// Curve keys drawn on top as wide lines, comma-separated (either renderer).
    #[arg(long, value_delimiter = ',')]
    pub(crate) highlight: Vec<String>,
    /// Colour by this label column, with a legend (`none`: one colour). Default: the
    /// dataset's saved choice, else a pass/fail label, else a label with a few values.
    #[arg(long)]
    pub(crate) color_by: Option<String>,
    /// Only curves whose label has this value: LABEL=VALUE, repeatable.
    #[arg(long, value_parser = parse_filter)]
    pub(crate) filter: Vec<(String, String)>,
    /// Physical pixels per UI point (text and margins scale; the image stays width × height).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub(crate) pixels_per_point: f32,
    /// Draw a saved dataset (the same as the `dataset DIR` source).
    #[arg(long)]
    pub(crate) dataset: Option<PathBuf>,
    /// Title above the plot (default: what is drawn and how many).
    #[arg(long)]
    pub(crate) title: Option<String>,
    #[command(flatten)]
    pub(crate) plant: PlantArgs,
    /// Where the curves come from: the demo plant (default) or a ClickHouse server.
    #[command(subcommand)]
    pub(crate) from: Option<RenderSource>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum RenderSource {
    /// Fetch the curves from ClickHouse (the same options as `lyceum fetch`).
    Clickhouse(Box<FetchArgs>),
    /// Open a saved dataset (no server, no network).
    Dataset { dir: PathBuf },
}

/// `--source` of the demo plant.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum DemoSource {
    /// Screwdriving and press-fit cycles, OK below NOK.
    ProcessCurves,
    /// The plant's sensor series.
    Sensors,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Renderer {
    /// The whole plot where an adapter can draw it (a software one too), else the curves
    /// alone on the CPU, with a note saying why.
    Auto,
    /// wgpu: title, axes and tick labels from egui_plot, curves from the GPU pipeline.
    Gpu,
    /// The CPU reference rasteriser: curves only.
    Cpu,
}

impl Renderer {
    fn resolve(self) -> lyceum::render::export::RendererKind {
        use lyceum::render::export::RendererKind;
        match self {
            Self::Gpu => RendererKind::Gpu,
            Self::Cpu => RendererKind::Cpu,
            Self::Auto => match lyceum::render::gpu::headless_plot_unsupported() {
                None => RendererKind::Gpu,
                Some(reason) => {
                    eprintln!(
                        "note: {reason}; drawing the curves alone on the CPU (no axes or title)"
                    );
                    RendererKind::Cpu
                }
            },
        }
    }
}

/// `--decimation`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum DecimationArg {
    /// First, min, max, last per pixel column: the picture of every sample.
    M4,
    /// Every sample.
    None,
}

impl From<DecimationArg> for lyceum::render::plot::Decimation {
    fn from(arg: DecimationArg) -> Self {
        match arg {
            DecimationArg::M4 => Self::M4,
            DecimationArg::None => Self::AllPoints,
        }
    }
}

/// `--mode`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum ModeArg {
    Lines,
    Density,
}

impl From<ModeArg> for lyceum::render::gpu::BaseMode {
    fn from(arg: ModeArg) -> Self {
        match arg {
            ModeArg::Lines => Self::Lines,
            ModeArg::Density => Self::Density,
        }
    }
}

pub(crate) fn parse_filter(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{text}`: expected LABEL=VALUE"))
}

/// Server-side M4 columns of the first, layout-only fetch of a long table.
const COARSE_COLUMNS: u32 = 64;

pub(crate) async fn render(args: &RenderArgs) -> anyhow::Result<()> {
    use lyceum::render::export::{RenderRequest, curve_columns, render_store};
    use lyceum::render::style::{ColourBy, StyleRequest};
    use lyceum::source::demo::Program;

    if !args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        bail!(
            "{}: `lyceum render` writes PNG files; name the file *.png",
            args.out.display()
        );
    }
    if args.from.is_some() && args.dataset.is_some() {
        bail!("--dataset and a `clickhouse`/`dataset` source exclude each other: choose one");
    }
    let renderer = args.renderer.resolve();
    // One request for the picture; the source fills in its name, saved colouring and range.
    let request_for =
        |source_name: String, saved_colour_by: Option<String>, pinned_x: Option<(f64, f64)>| {
            let mut filters = args.filter.clone();
            if let Some(program) = &args.program {
                filters.push(("program".to_owned(), program.clone()));
            }
            let colour_by = match (&args.color_by, saved_colour_by) {
                (Some(name), _) => ColourBy::from_option(Some(name)),
                (None, Some(saved)) => ColourBy::Label(saved),
                (None, None) => ColourBy::Auto,
            };
            RenderRequest {
                renderer,
                width_px: args.width,
                height_px: args.height,
                pixels_per_point: args.pixels_per_point,
                decimation: args.decimation.into(),
                mode: args.mode.into(),
                style: StyleRequest {
                    colour_by,
                    filters,
                    highlight: args.highlight.clone(),
                    highlight_failed: false,
                },
                source_name,
                title: args.title.clone(),
                pinned_x,
            }
        };
    let (store, request) = match (&args.from, &args.dataset) {
        (Some(RenderSource::Clickhouse(fetch)), _) => {
            let (coarse, source) = fetch_store(fetch, COARSE_COLUMNS).await?;
            let (name, x_range) = match source {
                dataset::Source::ClickHouse {
                    database,
                    table,
                    x_range,
                    ..
                } => (format!("{database}.{table}"), x_range),
                _ => ("ClickHouse".to_owned(), None),
            };
            match x_range {
                // A long table: binned again on the server into exactly the pixel columns the
                // curves are drawn into (the plot frame, laid out with the coarse fetch, whose
                // extremes are the same), over the x-range the plot then shows exactly.
                Some([from, to]) => {
                    let request = request_for(name, None, Some((from, to)));
                    let columns = curve_columns(Arc::new(coarse), &request)?;
                    let mut exact = (**fetch).clone();
                    (exact.from, exact.to) = (Some(from), Some(to));
                    let (store, _) = fetch_store(&exact, columns).await?;
                    out!("server-side M4: {columns} columns over x {from} … {to}");
                    (store, request)
                }
                None => (coarse, request_for(name, None, None)),
            }
        }
        (Some(RenderSource::Dataset { dir }), _) | (None, Some(dir)) => {
            let data = dataset::open(dir)?;
            let request = request_for(data.manifest.name, data.manifest.view.colour_by, None);
            (data.store, request)
        }
        (None, None) => {
            let plant = Plant::new(args.plant.config()?);
            let (mut store, mut name) = match args.source {
                DemoSource::ProcessCurves => (plant.process_curves()?, "Process curves".to_owned()),
                DemoSource::Sensors => (plant.sensor_curves()?, "Sensors".to_owned()),
            };
            // A view of one demo program names its own axes and title.
            if let Some(program) = [Program::Screwdriving, Program::PressFit]
                .into_iter()
                .find(|p| args.program.as_deref() == Some(p.name()))
            {
                store.set_axes(program.curve_axes());
                program.name().clone_into(&mut name);
            }
            (store, request_for(name, None, None))
        }
    };
    let (image, report) = render_store(Arc::new(store), &request)?;
    lyceum::render::cpu::write_png(&image, &args.out)?;
    let styling = &report.styling;
    match (&report.adapter, report.points_drawn) {
        (Some(adapter), _) => out!(
            "{} curves drawn on {adapter} in {:.0} ms (device opened in {:.0} ms): {}",
            styling.shown,
            report.draw_ms,
            report.device_ms,
            args.out.display()
        ),
        (None, points) => out!(
            "{} curves, {} points drawn ({:?} decimation), rasterised and written in {:.0} ms: {}",
            styling.shown,
            points.unwrap_or(0),
            args.decimation,
            report.draw_ms,
            args.out.display()
        ),
    }
    if report.adapter.is_some() {
        out!("title: {}", report.labels.title);
    }
    if let Some(label) = &styling.colour_by {
        let legend: Vec<String> = styling
            .legend
            .iter()
            .map(|e| {
                format!(
                    "{} ({})",
                    lyceum::render::style::legend_value(&e.value),
                    e.curves
                )
            })
            .collect();
        if legend.is_empty() {
            out!("colour by {label}: too many values for a legend, one colour");
        } else {
            out!("colour by {label}: {}", legend.join(", "));
        }
    }
    Ok(())
}
