//! A cluster's projects ([`Project`]): list and create, each of a known project type.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::params;

use super::{
    ApiJson, ApiPath, ApiResult, Caller, ClusterId, RequestId, Shared, WRITE, audit_record,
    authorize, authorize_change, check_name,
};
use crate::control::api::{Action, NewProject, Project, paths};
use crate::control::server::ControlError;
use crate::control::server::store::{now, optional, sql};

fn project(r: &rusqlite::Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: r.get(0)?,
        name: r.get(1)?,
        project_type: r.get(2)?,
        created_at: r.get(3)?,
    })
}

/// Projects
#[utoipa::path(
    get,
    path = paths::PROJECTS,
    params(ClusterId),
    responses((status = 200, description = "The cluster's projects", body = Vec<Project>))
)]
pub(super) async fn list_projects(
    State(state): Shared,
    Caller(principal): Caller,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
) -> ApiResult<Vec<Project>> {
    authorize(&state, &principal, id, Action::View)?;
    state.db.read(|c| {
        let mut statement = sql(c.prepare("SELECT id, name, project_type, created_at FROM projects WHERE cluster_id = ? ORDER BY id"))?;
        let rows = sql(statement.query_map(params![id], project))?;
        Ok(Json(sql(rows.collect())?))
    })
}

/// Create a project
#[utoipa::path(
    post,
    path = paths::PROJECTS,
    params(ClusterId),
    request_body = NewProject,
    responses((status = 201, description = "The new project", body = Project))
)]
pub(super) async fn create_project(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath(ClusterId { id }): ApiPath<ClusterId>,
    ApiJson(body): ApiJson<NewProject>,
) -> Result<(StatusCode, Json<Project>), ControlError> {
    let (cluster, _) = authorize_change(&state, &principal, &rid, id, Action::CreateProject)?;
    check_name("project name", &body.name, '-')?;
    let project = state.db.mutate(
        &audit_record(
            &principal,
            "create_project",
            format!("cluster {} project {}", cluster.config.name, body.name),
            &rid,
            Some(id),
        ),
        |tx| {
            let known: Option<i64> = optional(tx.query_row(
                "SELECT 1 FROM project_types WHERE name = ?",
                params![body.project_type],
                |r| r.get(0),
            ))?;
            if known.is_none() {
                return Err(ControlError::Invalid(format!(
                    "unknown project type `{}`",
                    body.project_type
                )));
            }
            match tx.execute(
                "INSERT INTO projects (cluster_id, name, project_type, created_at) VALUES (?, ?, ?, ?)",
                params![id, body.name, body.project_type, now()],
            ) {
                Ok(_) => {}
                Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                    return Err(ControlError::Conflict(format!("project `{}` exists", body.name)));
                }
                Err(e) => return sql(Err(e)),
            }
            sql(tx.query_row(
                "SELECT id, name, project_type, created_at FROM projects WHERE id = ?",
                params![tx.last_insert_rowid()],
                project,
            ))
        },
    )?;
    Ok((StatusCode::CREATED, Json(project)))
}
