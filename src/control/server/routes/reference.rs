//! What a client needs to fill in a cluster form: regions, cluster and project types, tiers and
//! prices ([`ReferenceData`]), and the monthly cost of a configuration ([`CostEstimate`]).

use axum::Json;
use axum::extract::State;
use rusqlite::Connection;

use super::{ApiJson, ApiResult, Caller, Shared, validate_config};
use crate::control::api::{ClusterConfig, CostEstimate, ReferenceData, Region, Tier, paths};
use crate::control::server::store::sql;
use crate::control::server::{ControlError, cost};

fn names(c: &Connection, table: &str) -> Result<Vec<String>, ControlError> {
    let mut statement = sql(c.prepare(&format!("SELECT name FROM {table} ORDER BY name")))?;
    let rows = sql(statement.query_map([], |r| r.get(0)))?;
    sql(rows.collect())
}

/// Regions, cluster and project types, tiers, prices
#[utoipa::path(
    get,
    path = paths::REFERENCE,
    responses((status = 200, description = "Reference data", body = ReferenceData))
)]
pub(super) async fn reference(State(state): Shared, Caller(_): Caller) -> ApiResult<ReferenceData> {
    let (regions, cluster_types, project_types) = state.db.read(|c| {
        let mut statement = sql(c.prepare("SELECT code, name FROM regions ORDER BY code"))?;
        let rows = sql(statement.query_map([], |r| {
            Ok(Region {
                code: r.get(0)?,
                name: r.get(1)?,
            })
        }))?;
        Ok((
            sql(rows.collect::<Result<Vec<_>, _>>())?,
            names(c, "cluster_types")?,
            names(c, "project_types")?,
        ))
    })?;
    Ok(Json(ReferenceData {
        regions,
        cluster_types,
        project_types,
        tiers: Tier::ALL.to_vec(),
        prices: cost::prices(&state.db)?,
        currency: cost::CURRENCY.to_owned(),
    }))
}

/// Monthly cost estimate of a configuration
#[utoipa::path(
    post,
    path = paths::ESTIMATE,
    request_body = ClusterConfig,
    responses((status = 200, description = "The estimate", body = CostEstimate))
)]
pub(super) async fn estimate(
    State(state): Shared,
    Caller(_): Caller,
    ApiJson(config): ApiJson<ClusterConfig>,
) -> ApiResult<CostEstimate> {
    validate_config(&state, &config)?;
    Ok(Json(cost::estimate(&state.db, &config)?))
}
