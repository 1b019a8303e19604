//! A cluster's projects ([`Project`]): list, create — which makes the project's database and
//! its type's tables on the cluster's nodes (`control::server::schema`) — and delete, which
//! drops them again.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::params;

use super::{
    ApiJson, ApiPath, ApiResult, Caller, ClusterId, RequestId, Shared, WRITE, audit_outcome,
    audit_record, authorize, authorize_change, check_name,
};
use crate::control::api::{
    Action, ClusterState, DeleteRequest, NewProject, Project, ProjectState, ProviderKind, paths,
};
use crate::control::server::lifecycle::current;
use crate::control::server::store::{now, optional, sql};
use crate::control::server::{AppState, ControlError, schema};
use crate::source::clickhouse::ddl;

const PROJECT_COLUMNS: &str = "id, name, project_type, created_at, database, state, state_reason";

fn project(r: &rusqlite::Row<'_>) -> rusqlite::Result<Project> {
    let state: String = r.get(5)?;
    Ok(Project {
        id: r.get(0)?,
        name: r.get(1)?,
        project_type: r.get(2)?,
        created_at: r.get(3)?,
        database: r.get(4)?,
        // The column's CHECK allows only known states.
        state: ProjectState::parse(&state).unwrap_or(ProjectState::Failed),
        state_reason: r.get(6)?,
    })
}

fn read_project(state: &AppState, id: i64, project_id: i64) -> Result<Project, ControlError> {
    state
        .db
        .read(|c| {
            optional(c.query_row(
                &format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ? AND cluster_id = ?"),
                params![project_id, id],
                project,
            ))
        })?
        .ok_or_else(|| ControlError::NotFound(format!("no project {project_id}")))
}

fn set_project_state(
    state: &AppState,
    project_id: i64,
    new: ProjectState,
    reason: Option<&str>,
) -> Result<(), ControlError> {
    state.db.system(|c| {
        sql(c.execute(
            "UPDATE projects SET state = ?, state_reason = ? WHERE id = ?",
            params![new.as_str(), reason, project_id],
        ))
        .map(drop)
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
        let mut statement = sql(c.prepare(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE cluster_id = ? ORDER BY id"
        )))?;
        let rows = sql(statement.query_map(params![id], project))?;
        Ok(Json(sql(rows.collect())?))
    })
}

/// Create a project with its database and tables
#[utoipa::path(
    post,
    path = paths::PROJECTS,
    params(ClusterId),
    request_body = NewProject,
    responses((status = 201, description = "The new project, its schema made on every node (or `planned` on a cluster Lyceum does not run)", body = Project))
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
    let Some(kind) = ddl::project_type(&body.project_type) else {
        let known: Vec<&str> = ddl::PROJECT_TYPES.iter().map(|t| t.name).collect();
        return Err(ControlError::Invalid(format!(
            "unknown project type `{}` (known: {})",
            body.project_type.chars().take(64).collect::<String>(),
            known.join(", ")
        )));
    };
    let runs_here = cluster.config.provider == ProviderKind::Local;
    if runs_here && cluster.state != ClusterState::Running {
        return Err(ControlError::Conflict(format!(
            "cluster `{}` is {}: a project's tables are made on running nodes, start it first",
            cluster.config.name,
            cluster.state.as_str()
        )));
    }
    let (initial, reason) = if runs_here {
        (ProjectState::Creating, None)
    } else {
        (
            ProjectState::Planned,
            Some(
                "Lyceum does not run this cluster's nodes: its tables are made when data is first seeded or imported",
            ),
        )
    };
    let database = body.name.replace('-', "_");
    let target = format!("cluster {} project {}", cluster.config.name, body.name);
    let created = state.db.mutate(
        &audit_record(&principal, "create_project", target.clone(), &rid, Some(id)),
        |tx| {
            // A failed project is retried under its name; any other is taken.
            let existing: Option<(i64, String)> = optional(tx.query_row(
                "SELECT id, state FROM projects WHERE cluster_id = ? AND name = ?",
                params![id, body.name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            ))?;
            let project_id = match existing {
                Some((project_id, old)) if old == ProjectState::Failed.as_str() => {
                    sql(tx.execute(
                        "UPDATE projects SET project_type = ?, state = ?, state_reason = ? WHERE id = ?",
                        params![kind.name, initial.as_str(), reason, project_id],
                    ))?;
                    project_id
                }
                Some(_) => {
                    return Err(ControlError::Conflict(format!(
                        "project `{}` exists",
                        body.name
                    )));
                }
                None => {
                    sql(tx.execute(
                        "INSERT INTO projects (cluster_id, name, project_type, created_at, database, state, state_reason)
                         VALUES (?, ?, ?, ?, ?, ?, ?)",
                        params![id, body.name, kind.name, now(), database, initial.as_str(), reason],
                    ))?;
                    tx.last_insert_rowid()
                }
            };
            Ok(project_id)
        },
    )?;
    if runs_here {
        // After any start, stop or delete in flight, on the nodes as they are now.
        let _guard = state.provisioning.lock().await;
        let outcome = match current(&state, id)? {
            row if row.state != ClusterState::Running => Err(ControlError::Conflict(format!(
                "cluster `{}` is {}: start it first",
                row.config.name,
                row.state.as_str()
            ))),
            row => match row.runtime {
                Some(runtime) => schema::create(&runtime, &database, kind).await,
                None => Err(ControlError::Internal(format!(
                    "cluster {id} runs but has no nodes recorded"
                ))),
            },
        };
        match outcome {
            Ok(_) => set_project_state(&state, created, ProjectState::Ready, None)?,
            Err(e) => {
                let message = e.to_string();
                if matches!(e, ControlError::Conflict(_)) {
                    // Nothing was made: the name stays free for another try.
                    state.db.system(|c| {
                        sql(c.execute("DELETE FROM projects WHERE id = ?", params![created]))
                            .map(drop)
                    })?;
                } else {
                    set_project_state(&state, created, ProjectState::Failed, Some(&message))?;
                }
                audit_outcome(
                    &state,
                    &principal,
                    &rid,
                    id,
                    "create_project_failed",
                    &format!("{target}: {message}"),
                );
                return Err(e);
            }
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(read_project(&state, id, created)?),
    ))
}

/// Delete a project and drop its database (confirm by name)
#[utoipa::path(
    delete,
    path = paths::PROJECT,
    params(ClusterId, ("project" = i64, Path, description = "The project's id")),
    request_body = DeleteRequest,
    responses((status = 204, description = "Deleted, its database dropped on every node"))
)]
pub(super) async fn delete_project(
    State(state): Shared,
    Caller(principal): Caller<WRITE>,
    RequestId(rid): RequestId,
    ApiPath((id, project_id)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<DeleteRequest>,
) -> Result<StatusCode, ControlError> {
    let (cluster, _) = authorize_change(&state, &principal, &rid, id, Action::DeleteProject)?;
    let found = read_project(&state, id, project_id)?;
    if body.confirm_name != found.name {
        return Err(ControlError::Invalid(format!(
            "deleting drops the project's data: repeat its name (`{}`) in `confirm_name`",
            found.name
        )));
    }
    let local = cluster.config.provider == ProviderKind::Local;
    if local && found.state == ProjectState::Ready && cluster.state != ClusterState::Running {
        return Err(ControlError::Conflict(format!(
            "cluster `{}` is {}: a project's database is dropped on running nodes, start it first",
            cluster.config.name,
            cluster.state.as_str()
        )));
    }
    let target = format!("cluster {} project {}", cluster.config.name, found.name);
    // Claimed against its current state: a project being made or dropped is left to that.
    let was: ProjectState = state.db.mutate(
        &audit_record(&principal, "delete_project", target.clone(), &rid, Some(id)),
        |tx| {
            let old: Option<String> = optional(tx.query_row(
                "SELECT state FROM projects WHERE id = ? AND cluster_id = ?",
                params![project_id, id],
                |r| r.get(0),
            ))?;
            let old = old
                .and_then(|s| ProjectState::parse(&s))
                .ok_or_else(|| ControlError::NotFound(format!("no project {project_id}")))?;
            if matches!(old, ProjectState::Creating | ProjectState::Deleting) {
                return Err(ControlError::Conflict(format!(
                    "project `{}` is {}",
                    found.name,
                    old.as_str()
                )));
            }
            sql(tx.execute(
                "UPDATE projects SET state = 'deleting' WHERE id = ?",
                params![project_id],
            ))?;
            Ok(old)
        },
    )?;
    // Only a schema Lyceum finished making is dropped: a failed one was removed when it
    // failed, a planned one was never made here.
    if was == ProjectState::Ready && local {
        let _guard = state.provisioning.lock().await;
        let dropped = match current(&state, id)?.runtime {
            Some(runtime) => schema::drop(&runtime, &found.database).await,
            None => Ok(()),
        };
        if let Err(e) = dropped {
            let message = format!("delete failed: {e}");
            set_project_state(&state, project_id, ProjectState::Ready, Some(&message))?;
            audit_outcome(
                &state,
                &principal,
                &rid,
                id,
                "delete_project_failed",
                &format!("{target}: {e}"),
            );
            return Err(e);
        }
    }
    state.db.system(|c| {
        sql(c.execute("DELETE FROM projects WHERE id = ?", params![project_id])).map(drop)
    })?;
    Ok(StatusCode::NO_CONTENT)
}
