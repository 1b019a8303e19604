//! `lyceum demo` and the demo plant options other commands share (`--curves`, `--samples`, …).

use std::time::Instant;

use anyhow::bail;
use clap::Args;
use lyceum::source::demo::{Plant, PlantConfig};

use super::output::out;

#[derive(Args, Debug)]
pub(crate) struct PlantArgs {
    #[arg(long, default_value_t = PlantConfig::default().curves)]
    pub(crate) curves: usize,
    #[arg(long, default_value_t = PlantConfig::default().samples)]
    pub(crate) samples: usize,
    #[arg(long, default_value_t = PlantConfig::default().sensors)]
    pub(crate) sensors: usize,
    #[arg(long, default_value_t = PlantConfig::default().days)]
    pub(crate) days: f64,
    #[arg(long, default_value_t = PlantConfig::default().seed)]
    pub(crate) seed: u64,
}

impl From<PlantConfig> for PlantArgs {
    fn from(c: PlantConfig) -> Self {
        Self {
            curves: c.curves,
            samples: c.samples,
            sensors: c.sensors,
            days: c.days,
            seed: c.seed,
        }
    }
}

impl PlantArgs {
    pub(crate) fn config(&self) -> anyhow::Result<PlantConfig> {
        if !(self.days.is_finite() && self.days > 0.0) || self.samples < 2 {
            bail!("--days must be positive and --samples at least 2");
        }
        Ok(PlantConfig {
            seed: self.seed,
            curves: self.curves,
            samples: self.samples,
            sensors: self.sensors,
            days: self.days,
            ..PlantConfig::default()
        })
    }
}

#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    pub(crate) plant: PlantArgs,
}

pub(crate) fn demo(args: &PlantArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let plant = Plant::new(config);
    let started = Instant::now();
    let curves = plant.process_curves()?;
    let curves_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let sensors = plant.sensor_curves()?;
    let sensors_secs = started.elapsed().as_secs_f64();
    out!("Lyceum demo plant (seed {}), no server needed", config.seed);
    out!(
        "  lines {}, stations {}, sensors {}",
        plant.lines.len(),
        plant.stations.len(),
        plant.sensors.len()
    );
    out!(
        "  process curves: {} curves, {} samples, generated in {:.2} s; {:.1} MB in the store ({:.2} x raw f32)",
        curves.len(),
        curves.point_count(),
        curves_secs,
        curves.heap_bytes() as f64 / 1e6,
        curves.heap_bytes() as f64 / curves.raw_sample_bytes().max(1) as f64
    );
    let mut modes: Vec<(String, usize)> = Vec::new();
    for id in 0..curves.len() as u32 {
        let mode = curves.label("failure_mode", id).unwrap_or_default();
        if !mode.is_empty() {
            match modes.iter_mut().find(|(m, _)| m == mode) {
                Some((_, n)) => *n += 1,
                None => modes.push((mode.to_owned(), 1)),
            }
        }
    }
    let nok: usize = modes.iter().map(|(_, n)| n).sum();
    out!(
        "  NOK: {nok} ({:.2} %)",
        100.0 * nok as f64 / curves.len().max(1) as f64
    );
    modes.sort();
    for (mode, n) in modes {
        out!("    {mode:<16} {n}");
    }
    out!(
        "  sensor readings: {} series, {} samples at 1 Hz over {} day(s), generated in {:.2} s",
        sensors.len(),
        sensors.point_count(),
        config.days,
        sensors_secs
    );
    out!("Load it into ClickHouse with: lyceum seed --url http://localhost:8123");
    Ok(())
}
