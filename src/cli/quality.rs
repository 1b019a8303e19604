//! `lyceum reference` and `lyceum evaluate`: the library's curve quality for scripts and a
//! plant's CI, over a saved dataset or the demo plant. `reference` teaches a reference and
//! its envelope and writes them as CSV or JSON; `evaluate` runs a recipe (a JSON file of
//! `curves::quality::Recipe`) and writes one verdict per curve as CSV, with the yield overall
//! and per label value on standard output — or, with `--url`, judges the template's process
//! curves in that ClickHouse server (only counts come back; `--into-table` writes one verdict
//! per cycle into a table there).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use lyceum::curves::quality::yields::{YieldCount, by_label};
use lyceum::curves::quality::{
    Alignment, BinGrid, Envelope, EnvelopeRule, Recipe, Verdict, evaluate_all, teach,
};
use lyceum::curves::{CurveId, CurveStore};

use super::connect::ConnectArgs;
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
    /// One row per curve: key, verdict, failing objects, process values (none: the yield
    /// only; not with `--url`).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Also the yield per value of this label (station, program, …).
    #[arg(long)]
    pub(crate) by: Option<String>,
    #[command(flatten)]
    pub(crate) server: InServer,
}

/// Judging in a ClickHouse server rather than over a dataset or the demo plant.
#[derive(Args, Debug)]
pub(crate) struct InServer {
    /// Judge the template's process curves in this server (http://host:8123): every cycle
    /// of the range, only the counts sent back.
    #[arg(long)]
    pub(crate) url: Option<String>,
    #[arg(long, default_value = "default", requires = "url")]
    pub(crate) user: String,
    /// The database holding `process_curves` (default: lyceum_demo).
    #[arg(long, requires = "url")]
    pub(crate) database: Option<String>,
    /// Read the password from standard input instead of the keychain.
    #[arg(long, requires = "url")]
    pub(crate) password_stdin: bool,
    /// Only cycles from this time on (UTC date-time or epoch seconds).
    #[arg(long, requires = "url", value_parser = lyceum::source::clickhouse::parse_x_bound)]
    pub(crate) since: Option<f64>,
    /// Only cycles up to this time.
    #[arg(long, requires = "url", value_parser = lyceum::source::clickhouse::parse_x_bound)]
    pub(crate) until: Option<f64>,
    /// Also write one verdict per cycle into this table of the database (made if missing).
    #[arg(long, requires = "url")]
    pub(crate) into_table: Option<String>,
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

pub(crate) async fn evaluate(args: &EvaluateArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.recipe)
        .with_context(|| format!("cannot read {}", args.recipe.display()))?;
    let recipe: Recipe = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a recipe", args.recipe.display()))?;
    let problems = recipe.problems();
    if !problems.is_empty() {
        bail!(
            "{} cannot be judged by: {}",
            args.recipe.display(),
            problems.join("; ")
        );
    }
    if args.server.url.is_some() {
        if args.out.is_some() {
            bail!("--out writes verdicts judged here; with --url use --into-table");
        }
        return evaluate_in_server(args, &recipe).await;
    }
    let (store, ids) = args.from.load()?;
    if let Some(by) = &args.by
        && !store.label_columns().iter().any(|c| &c.name == by)
    {
        bail!("no label `{by}` to give the yield by");
    }
    let verdicts = evaluate_all(&store, &ids, &recipe);
    if let Some(out_path) = &args.out {
        write_verdicts(out_path, &store, &ids, &recipe, &verdicts)?;
    }
    let passed = verdicts.iter().filter(|v| v.passed()).count();
    let percent = |p: usize, n: usize| 100.0 * p as f64 / n.max(1) as f64;
    out!(
        "{}: {passed} of {} passed ({:.1} %){}",
        recipe.name,
        ids.len(),
        percent(passed, ids.len()),
        args.out
            .as_ref()
            .map_or_else(String::new, |p| format!(" → {}", p.display()))
    );
    if let Some(by) = &args.by {
        let passed: Vec<bool> = verdicts.iter().map(|v| v.passed()).collect();
        print_groups(by, &by_label(&store, &ids, &passed, by));
    }
    Ok(())
}

/// One row per curve: key, verdict, failures, process values.
fn write_verdicts(
    path: &Path,
    store: &CurveStore,
    ids: &[CurveId],
    recipe: &Recipe,
    verdicts: &[Verdict],
) -> anyhow::Result<()> {
    let mut w = create(path)?;
    let levels: Vec<String> = recipe.levels.iter().map(|l| format!("x_at_{l}")).collect();
    writeln!(
        w,
        "key,passed,failures,peak_x,peak_y,end_x,end_y{}{}",
        if levels.is_empty() { "" } else { "," },
        levels.join(",")
    )?;
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    for (&id, v) in ids.iter().zip(verdicts) {
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
    Ok(())
}

fn print_groups(by: &str, groups: &[(String, YieldCount)]) {
    for (value, count) in groups {
        out!(
            "  {by} {value}: {} of {} ({:.1} %)",
            count.passed,
            count.judged,
            count.percent()
        );
    }
}

/// `evaluate --url`: the recipe judged in the server over the template's process curves.
async fn evaluate_in_server(args: &EvaluateArgs, recipe: &Recipe) -> anyhow::Result<()> {
    use lyceum::source::clickhouse::{CurveSelection, ddl};

    let s = &args.server;
    let connect = ConnectArgs {
        url: s.url.clone().unwrap_or_default(),
        user: s.user.clone(),
        database: s.database.clone(),
        password_stdin: s.password_stdin,
        connect_timeout_secs: 10.0,
        query_timeout_secs: 3600.0,
        ca_file: None,
        compression: super::connect::Compression::Auto,
    };
    let c = connect.connect().await?;
    let database = connect.database();
    let validated = ddl::process_curves_mapping(database)
        .validate(&c.list_columns(database, "process_curves").await?)?;
    let selection = CurveSelection {
        equals: args.from.filter.clone(),
        row_range: (s.since.is_some() || s.until.is_some()).then(|| {
            (
                "cycle_time".to_owned(),
                s.since.unwrap_or(0.0),
                s.until.unwrap_or(f64::from(u32::MAX)),
            )
        }),
        ..CurveSelection::default()
    };
    let by = args.by.as_deref().unwrap_or("station");
    let started = std::time::Instant::now();
    let yields = c
        .judge_history(&validated, &selection, recipe, Some(by), Some("cycle_time"))
        .await?;
    let o = yields.overall;
    out!(
        "{}: {} of {} passed ({:.2} %), judged in the server in {:.0} ms",
        recipe.name,
        o.passed,
        o.judged,
        o.percent(),
        started.elapsed().as_secs_f64() * 1e3
    );
    for (k, fails) in yields.fails_per_object.iter().enumerate() {
        out!("  object {k}: {fails} fail");
    }
    print_groups(by, &yields.by_group);
    out!("  {} hours with cycles", yields.by_hour.len());
    if let Some(table) = &s.into_table {
        c.write_verdicts(
            &validated,
            &selection,
            recipe,
            (Some(by), Some("cycle_time")),
            (database, table),
        )
        .await?;
        out!("{} verdicts written to {database}.{table}", o.judged);
    }
    Ok(())
}
