//! Cost: a monthly estimate for any configuration from the region's price table (compute per
//! core and GiB of memory per node; each storage tier per GiB, itemised), and actuals from
//! what running nodes report.

use rusqlite::params;

use super::ControlError;
use super::store::{Db, sql};
use crate::control::api::{ClusterConfig, CostEstimate, TierCost};

pub const CURRENCY: &str = "EUR";
/// Hours in an average month, for pro-rating.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The region's monthly price of `item`.
fn price(db: &Db, region: &str, item: &str) -> Result<f64, ControlError> {
    db.read(|c| {
        super::store::optional(c.query_row(
            "SELECT monthly FROM prices WHERE region = ? AND item = ?",
            params![region, item],
            |r| r.get(0),
        ))
    })?
    .ok_or_else(|| ControlError::Invalid(format!("no price for `{item}` in region `{region}`")))
}

pub fn estimate(db: &Db, config: &ClusterConfig) -> Result<CostEstimate, ControlError> {
    let nodes = config.shards * config.replicas;
    let per_node = f64::from(config.cpu_per_node) * price(db, &config.region, "cpu_core")?
        + f64::from(config.memory_gib_per_node) * price(db, &config.region, "memory_gib")?;
    let compute_monthly = per_node * f64::from(nodes);
    let storage = config
        .tiers
        .iter()
        .map(|tier| {
            // Every replica holds its own copy.
            let gib = f64::from(tier.size_gib) * f64::from(config.replicas);
            Ok(TierCost {
                tier: tier.tier,
                size_gib: tier.size_gib,
                monthly: gib * price(db, &config.region, tier.tier.as_str())?,
            })
        })
        .collect::<Result<Vec<_>, ControlError>>()?;
    let total_monthly = compute_monthly + storage.iter().map(|t| t.monthly).sum::<f64>();
    Ok(CostEstimate {
        currency: CURRENCY.to_owned(),
        nodes,
        compute_monthly,
        storage,
        total_monthly,
    })
}

/// Compute for the node-hours run plus hot storage for the bytes held, so far this month.
pub fn actual(
    db: &Db,
    config: &ClusterConfig,
    node_uptime_hours: f64,
    bytes_on_disk: u64,
) -> Result<f64, ControlError> {
    let per_node_hour = (f64::from(config.cpu_per_node) * price(db, &config.region, "cpu_core")?
        + f64::from(config.memory_gib_per_node) * price(db, &config.region, "memory_gib")?)
        / HOURS_PER_MONTH;
    let gib = bytes_on_disk as f64 / f64::from(1u32 << 30);
    Ok(per_node_hour * node_uptime_hours + gib * price(db, &config.region, "hot")?)
}

/// The whole price table.
pub fn prices(db: &Db) -> Result<Vec<crate::control::api::Price>, ControlError> {
    db.read(|c| {
        let mut statement =
            sql(c.prepare("SELECT region, item, monthly FROM prices ORDER BY region, item"))?;
        let rows = sql(statement.query_map([], |r| {
            Ok(crate::control::api::Price {
                region: r.get(0)?,
                item: r.get(1)?,
                monthly: r.get(2)?,
            })
        }))?;
        sql(rows.collect())
    })
}
