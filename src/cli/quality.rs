//! `lyceum reference` and `lyceum evaluate`: the library's curve quality for scripts and a
//! plant's CI, over a saved dataset or the demo plant. `reference` teaches a reference and
//! its envelope and writes them as CSV or JSON; `evaluate` runs a recipe (a JSON file of
//! `curves::quality::Recipe`) and writes one verdict per curve as CSV, with the yield overall
//! and per label value on standard output.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use lyceum::curves::quality::{
    Alignment, BinGrid, Envelope, EnvelopeRule, Recipe, evaluate_all, teach,
};
use lyceum::curves::{CurveId, CurveStore};

use super::demo::PlantArgs;
use super::output::out;
use super::render::parse_filter;

/// Where the curves come from.
#[derive(Args, Debug)]
pub(crate) struct CurvesFrom {
    /// A saved dataset (default: the demo plant's process curves).
    #[arg(long)]
    pub(crate) dataset: Option<PathBuf>,
    /// Only curves whose label has this value: LABEL=VALUE, repeatable.
    #[arg(long, value_parser = parse_filter)]
    pub(crate) filter: Vec<(String, String)>,
    #[command(flatten)]
    pub(crate) plant: PlantArgs,
}

impl CurvesFrom {
    /// The store and the curves that pass the filters.
    fn load(&self) -> anyhow::Result<(CurveStore, Vec<CurveId>)> {
        let store = match &self.dataset {
            Some(dir) => lyceum::source::dataset::open(dir)?.store,
            None => lyceum::source::demo::Plant::new(self.plant.config()?).process_curves()?,
        };
        let ids = matching(&store, &self.filter)?;
        Ok((store, ids))
    }
}

fn matching(store: &CurveStore, filters: &[(String, String)]) -> anyhow::Result<Vec<CurveId>> {
    for (label, _) in filters {
        if !store.label_columns().iter().any(|c| &c.name == label) {
            let known: Vec<&str> = store
                .label_columns()
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            bail!("no label `{label}` (the curves have: {})", known.join(", "));
        }
    }
    Ok((0..store.len() as CurveId)
        .filter(|&id| {
            filters
                .iter()
                .all(|(label, value)| store.label(label, id) == Some(value.as_str()))
        })
        .collect())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum AlignArg {
    Absolute,
    Peak,
    End,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum EnvelopeArg {
    /// mean ± k·σ
    MeanSigma,
    /// median ± k·MAD
    MedianMad,
    /// min/max of the taught curves ± --dy, widened by --dx in x
    MinMax,
}

/// `lyceum reference`.
#[derive(Args, Debug)]
pub(crate) struct ReferenceArgs {
    #[command(flatten)]
    pub(crate) from: CurvesFrom,
    /// Where x counts from before binning.
    #[arg(long, value_enum, default_value_t = AlignArg::Absolute)]
    pub(crate) align: AlignArg,
    #[arg(long, default_value_t = 200)]
    pub(crate) bins: usize,
    #[arg(long, value_enum, default_value_t = EnvelopeArg::MeanSigma)]
    pub(crate) envelope: EnvelopeArg,
    #[arg(long, default_value_t = 3.0)]
    pub(crate) k: f64,
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub(crate) dy: f64,
    #[arg(long, default_value_t = 0.0)]
    pub(crate) dx: f64,
    /// `*.csv` (one row per bin) or `*.json` (the reference and the envelope, as the library
    /// reads them back for a recipe).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// `lyceum evaluate`.
#[derive(Args, Debug)]
pub(crate) struct EvaluateArgs {
    #[command(flatten)]
    pub(crate) from: CurvesFrom,
    /// The recipe: a JSON file (`name`, `objects`, `levels`).
    #[arg(long)]
    pub(crate) recipe: PathBuf,
    /// One row per curve: key, verdict, failing objects, process values.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Also the yield per value of this label (station, program, …).
    #[arg(long)]
    pub(crate) by: Option<String>,
}

fn alignment(arg: AlignArg) -> Alignment {
    match arg {
        AlignArg::Absolute => Alignment::Absolute,
        AlignArg::Peak => Alignment::Peak,
        AlignArg::End => Alignment::Final,
    }
}

fn create(path: &Path) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    Ok(std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
    ))
}

pub(crate) fn reference(args: &ReferenceArgs) -> anyhow::Result<()> {
    let (store, ids) = args.from.load()?;
    if ids.is_empty() {
        bail!("no curve matches the filters: nothing to teach from");
    }
    let alignment = alignment(args.align);
    let grid = BinGrid::spanning(&store, &ids, alignment, args.bins.max(1))
        .context("the curves have no point the alignment finds")?;
    let reference = teach(&store, &ids, alignment, grid, &[0.05, 0.95]);
    let rule = match args.envelope {
        EnvelopeArg::MeanSigma => EnvelopeRule::MeanSigma { k: args.k },
        EnvelopeArg::MedianMad => EnvelopeRule::MedianMad { k: args.k },
        EnvelopeArg::MinMax => EnvelopeRule::MinMax {
            dy: args.dy,
            dx: args.dx,
        },
    };
    let envelope = Envelope::from_reference(&reference, rule);
    let json = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut w = create(&args.out)?;
    if json {
        serde_json::to_writer_pretty(
            &mut w,
            &serde_json::json!({ "reference": reference, "envelope": envelope }),
        )?;
    } else {
        writeln!(
            w,
            "bin,x,count,mean,std,median,mad,min,max,q05,q95,lower,upper"
        )?;
        for i in 0..grid.bins {
            writeln!(
                w,
                "{i},{},{},{},{},{},{},{},{},{},{},{},{}",
                grid.centre(i),
                reference.count[i],
                reference.mean[i],
                reference.std[i],
                reference.median[i],
                reference.mad[i],
                reference.min[i],
                reference.max[i],
                reference.quantiles[0].1[i],
                reference.quantiles[1].1[i],
                envelope.lower[i],
                envelope.upper[i]
            )?;
        }
    }
    w.flush()?;
    out!(
        "reference from {} curves, {} bins → {}",
        reference.curves,
        grid.bins,
        args.out.display()
    );
    Ok(())
}

/// A CSV field, quoted when it holds a separator or a quote.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

pub(crate) fn evaluate(args: &EvaluateArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.recipe)
        .with_context(|| format!("cannot read {}", args.recipe.display()))?;
    let recipe: Recipe = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a recipe", args.recipe.display()))?;
    let (store, ids) = args.from.load()?;
    if let Some(by) = &args.by
        && !store.label_columns().iter().any(|c| &c.name == by)
    {
        bail!("no label `{by}` to give the yield by");
    }
    let verdicts = evaluate_all(&store, &ids, &recipe);
    let mut w = create(&args.out)?;
    let levels: Vec<String> = recipe.levels.iter().map(|l| format!("x_at_{l}")).collect();
    writeln!(
        w,
        "key,passed,failures,peak_x,peak_y,end_x,end_y{}{}",
        if levels.is_empty() { "" } else { "," },
        levels.join(",")
    )?;
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    for (&id, v) in ids.iter().zip(&verdicts) {
        let failures: Vec<String> = v
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.object, f.reason))
            .collect();
        let crossings: Vec<String> = v.values.crossings.iter().map(|c| number(*c)).collect();
        writeln!(
            w,
            "{},{},{},{},{},{},{}{}{}",
            field(store.key(id)),
            v.passed(),
            field(&failures.join("; ")),
            number(v.values.peak.map(|p| p.0)),
            number(v.values.peak.map(|p| p.1)),
            number(v.values.end.map(|p| p.0)),
            number(v.values.end.map(|p| p.1)),
            if crossings.is_empty() { "" } else { "," },
            crossings.join(",")
        )?;
    }
    w.flush()?;
    let passed = verdicts.iter().filter(|v| v.passed()).count();
    let percent = |p: usize, n: usize| 100.0 * p as f64 / n.max(1) as f64;
    out!(
        "{}: {passed} of {} passed ({:.1} %) → {}",
        recipe.name,
        ids.len(),
        percent(passed, ids.len()),
        args.out.display()
    );
    if let Some(by) = &args.by {
        let mut groups: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        for (&id, v) in ids.iter().zip(&verdicts) {
            let entry = groups.entry(store.label(by, id).unwrap_or("")).or_default();
            entry.0 += usize::from(v.passed());
            entry.1 += 1;
        }
        for (value, (passed, total)) in groups {
            out!(
                "  {by} {value}: {passed} of {total} ({:.1} %)",
                percent(passed, total)
            );
        }
    }
    Ok(())
}
