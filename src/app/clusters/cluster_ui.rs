//! The cluster list (state and health, nodes, CPU and memory per node, storage per tier,
//! monthly cost, my role; filter and sort) and one cluster's detail: overview (per-node
//! state, version, uptime, parts and bytes; use and cost over time as plots; start, stop,
//! delete behind typing the name), members, credentials and projects. Buttons for actions
//! the caller's role does not allow are disabled with the reason; the server enforces the
//! same table.

use egui_plot::{Line, Plot, PlotPoints};

use super::wizard::{estimate_table_ui, role_combo_ui, tiers_text};
use super::{ClustersPanel, Page, action_button, gated_button, secret_once_ui, state_badge_ui};
use crate::control::api::{
    Action, ClusterState, ClusterStatus, ClusterUpdate, Credential, IssuedCredential, Member,
    NewProject, Project, ProjectState, Role, Usage, check_name,
};
use crate::source::clickhouse::ddl::PROJECT_TYPES;
use crate::source::demo::{Plant, PlantConfig};

/// How the list is sorted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum SortBy {
    #[default]
    Name,
    State,
    Nodes,
    Cost,
}

#[derive(Debug, Default)]
pub(super) struct ListState {
    filter: String,
    sort: SortBy,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Tab {
    #[default]
    Overview,
    Members,
    Credentials,
    Projects,
}

/// A change that asks first.
#[derive(Clone, Debug)]
pub(super) enum Confirm {
    Stop,
    RemoveMember(String),
    Rotate { credential: i64, user: String },
    Revoke { credential: i64, user: String },
}

impl Confirm {
    /// The question and the button that answers yes.
    fn question(&self, cluster: &str) -> (String, &'static str) {
        match self {
            Self::Stop => (
                format!(
                    "Stop every node of `{cluster}`? Queries and inserts fail until it is started again; the data stays."
                ),
                "Stop the cluster",
            ),
            Self::RemoveMember(user) => (
                format!("Remove `{user}` from `{cluster}`? They lose access at once."),
                "Remove member",
            ),
            Self::Rotate { user, .. } => (
                format!(
                    "Give `{user}` a new password? Programs using the old one are refused within seconds; the new one is shown once (this app's connections take it)."
                ),
                "Rotate password",
            ),
            Self::Revoke { user, .. } => (
                format!(
                    "Revoke `{user}`? ClickHouse refuses it within seconds; this cannot be undone."
                ),
                "Revoke credential",
            ),
        }
    }
}

/// One cluster's detail, as last fetched, and the forms on it.
#[derive(Debug, Default)]
pub(super) struct Detail {
    id: i64,
    pub tab: Tab,
    status: Option<ClusterStatus>,
    usage: Option<Usage>,
    members: Vec<Member>,
    credentials: Vec<Credential>,
    projects: Vec<Project>,
    /// A password shown once, until the user leaves it.
    shown: Option<IssuedCredential>,
    new_member: String,
    new_member_role: Option<Role>,
    new_credential: String,
    new_project: String,
    new_project_type: String,
    /// The name typed to confirm deleting the cluster, or a project (by id).
    confirm_delete: Option<String>,
    confirm_project: Option<(i64, String)>,
    /// A change waiting for a yes.
    confirm: Option<Confirm>,
    busy: Option<String>,
    note: Option<String>,
}

impl ClustersPanel {
    pub(super) fn cluster_list_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.horizontal(|ui| {
            let label = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.list.filter)
                    .hint_text("name, state, region, role")
                    .desired_width(180.0),
            )
            .labelled_by(label.id);
            ui.label("Sort by");
            for (sort, name) in [
                (SortBy::Name, "name"),
                (SortBy::State, "state"),
                (SortBy::Nodes, "nodes"),
                (SortBy::Cost, "cost"),
            ] {
                ui.selectable_value(&mut self.list.sort, sort, name);
            }
        });
        if self.clusters.is_empty() {
            ui.label("No clusters yet.");
            if ui.button("Create one with the wizard…").clicked() {
                self.open(&ctx, Page::Wizard);
            }
            return;
        }
        let filter = self.list.filter.trim().to_lowercase();
        let mut shown: Vec<&crate::control::api::Cluster> = self
            .clusters
            .iter()
            .filter(|c| {
                filter.is_empty()
                    || [
                        c.config.name.as_str(),
                        c.state.as_str(),
                        c.config.region.as_str(),
                        c.role.as_str(),
                    ]
                    .iter()
                    .any(|t| t.contains(&filter))
            })
            .collect();
        let monthly = |id: i64| self.monthly.get(&id).copied().unwrap_or(f64::NAN);
        let currency = self.reference.as_ref().map_or("", |r| r.currency.as_str());
        match self.list.sort {
            SortBy::Name => shown.sort_by(|a, b| a.config.name.cmp(&b.config.name)),
            SortBy::State => shown.sort_by_key(|c| c.state.as_str()),
            SortBy::Nodes => {
                shown.sort_by_key(|c| std::cmp::Reverse(c.config.shards * c.config.replicas));
            }
            SortBy::Cost => shown.sort_by(|a, b| monthly(b.id).total_cmp(&monthly(a.id))),
        }
        let mut open = None;
        egui::Grid::new("clusters").striped(true).show(ui, |ui| {
            for heading in [
                "Name",
                "State",
                "Nodes",
                "Per node",
                "Storage",
                "Per month",
                "Your role",
                "",
            ] {
                ui.strong(heading);
            }
            ui.end_row();
            for cluster in &shown {
                let c = &cluster.config;
                ui.label(&c.name);
                state_badge_ui(ui, cluster.state)
                    .on_hover_text(cluster.state_reason.clone().unwrap_or_default());
                ui.label(format!("{} × {}", c.shards, c.replicas));
                ui.label(format!(
                    "{} cores, {} GiB",
                    c.cpu_per_node, c.memory_gib_per_node
                ));
                ui.label(tiers_text(&c.tiers));
                let cost = monthly(cluster.id);
                ui.label(if cost.is_nan() {
                    "…".to_owned()
                } else {
                    format!("{cost:.2} {currency}")
                });
                ui.label(cluster.role.as_str());
                if ui.button(format!("Open {}", c.name)).clicked() {
                    open = Some(cluster.id);
                }
                ui.end_row();
            }
        });
        if let Some(id) = open {
            self.open(&ctx, Page::Cluster(id));
        }
    }

    /// Fetch everything the detail of cluster `id` shows.
    pub(super) fn load_detail(&mut self, ctx: &egui::Context, id: i64) {
        if self.detail.as_ref().is_none_or(|d| d.id != id) {
            self.detail = Some(Detail {
                id,
                new_project_type: PROJECT_TYPES[0].name.to_owned(),
                ..Detail::default()
            });
        }
        self.refresh(ctx);
        self.run(
            ctx,
            move |client| async move {
                let status = client.status(id).await;
                let usage = client.usage(id).await;
                let members = client.members(id).await;
                let credentials = client.credentials(id).await;
                let projects = client.projects(id).await;
                (status, usage, members, credentials, projects)
            },
            move |panel, _, (status, usage, members, credentials, projects)| {
                let Some(detail) = panel.detail.as_mut().filter(|d| d.id == id) else {
                    return;
                };
                let mut errors = Vec::new();
                match status {
                    Ok(s) => detail.status = Some(s),
                    Err(e) => errors.push(e),
                }
                match usage {
                    Ok(u) => detail.usage = Some(u),
                    Err(e) => errors.push(e),
                }
                match members {
                    Ok(m) => detail.members = m,
                    Err(e) => errors.push(e),
                }
                match credentials {
                    Ok(c) => detail.credentials = c,
                    Err(e) => errors.push(e),
                }
                match projects {
                    Ok(p) => detail.projects = p,
                    Err(e) => errors.push(e),
                }
                if let Some(e) = errors.first() {
                    panel.failed(e);
                }
            },
        );
    }

    /// Run a change on cluster `id`; `done` names it for the note, the detail reloads after.
    fn change<F>(
        &mut self,
        ctx: &egui::Context,
        id: i64,
        doing: &str,
        work: impl FnOnce(crate::control::client::ControlClient) -> F,
        done: impl FnOnce(&mut ClustersPanel) + Send + 'static,
    ) where
        F: Future<Output = Result<(), crate::control::client::ClientError>> + Send + 'static,
    {
        if let Some(detail) = &mut self.detail {
            detail.busy = Some(doing.to_owned());
            detail.note = None;
        }
        let doing = doing.to_owned();
        self.run(ctx, work, move |panel, ctx, result| {
            if let Some(detail) = &mut panel.detail {
                detail.busy = None;
            }
            match result {
                Ok(()) => {
                    done(panel);
                    if let Some(detail) = &mut panel.detail {
                        detail.note = Some(format!("{doing}: done"));
                    }
                }
                Err(e) => panel.failed(&e),
            }
            if panel.page == Page::Cluster(id) {
                panel.load_detail(ctx, id);
            } else {
                panel.refresh(ctx);
            }
        });
    }

    pub(super) fn cluster_detail_ui(&mut self, ui: &mut egui::Ui, id: i64) {
        let ctx = ui.ctx().clone();
        let Some(cluster) = self.clusters.iter().find(|c| c.id == id).cloned() else {
            ui.label("This cluster is not among yours (deleted, or you are not a member).");
            if ui.button("Back to the list").clicked() {
                self.open(&ctx, Page::Clusters);
            }
            return;
        };
        if self.detail.as_ref().is_none_or(|d| d.id != id) {
            self.load_detail(&ctx, id);
        }
        let role = Some(cluster.role);
        ui.horizontal(|ui| {
            ui.heading(&cluster.config.name);
            state_badge_ui(ui, cluster.state);
            ui.label(format!("your role: {}", cluster.role.as_str()));
            if let Some(reason) = &cluster.state_reason {
                ui.weak(reason);
            }
        });
        let Some(detail) = &mut self.detail else {
            return;
        };
        ui.horizontal(|ui| {
            for (tab, name) in [
                (Tab::Overview, "Overview"),
                (Tab::Members, "Members"),
                (Tab::Credentials, "Credentials"),
                (Tab::Projects, "Projects"),
            ] {
                ui.selectable_value(&mut detail.tab, tab, name);
            }
            if let Some(busy) = &detail.busy {
                ui.spinner();
                ui.label(busy);
            }
            if let Some(note) = &detail.note {
                ui.weak(note);
            }
        });
        ui.separator();
        if let Some(confirm) = detail.confirm.clone() {
            let (question, yes) = confirm.question(&cluster.config.name);
            let mut answer = None;
            ui.group(|ui| {
                ui.colored_label(ui.visuals().warn_fg_color, question);
                ui.horizontal(|ui| {
                    if ui.button(yes).clicked() {
                        answer = Some(true);
                    }
                    if ui.button("Cancel").clicked() {
                        answer = Some(false);
                    }
                });
            });
            if let Some(yes) = answer {
                detail.confirm = None;
                if yes {
                    self.carry_out(&ctx, id, confirm);
                }
            }
        }
        let Some(detail) = &self.detail else {
            return;
        };
        match detail.tab {
            Tab::Overview => self.overview_ui(ui, &cluster, role),
            Tab::Members => self.members_ui(ui, id, role),
            Tab::Credentials => self.credentials_ui(ui, id, role),
            Tab::Projects => self.projects_ui(ui, id, role, cluster.state),
        }
    }

    fn overview_ui(
        &mut self,
        ui: &mut egui::Ui,
        cluster: &crate::control::api::Cluster,
        role: Option<Role>,
    ) {
        let ctx = ui.ctx().clone();
        let id = cluster.id;
        ui.horizontal(|ui| {
            let local = cluster.config.provider == crate::control::api::ProviderKind::Local;
            let start_blocked = (!local
                || !matches!(
                    cluster.state,
                    ClusterState::Stopped | ClusterState::Failed | ClusterState::Degraded
                ))
            .then(|| {
                "Start applies to a local cluster that is stopped, failed or degraded (it restarts the nodes that are down)".to_owned()
            });
            let stop_blocked = (!local
                || !matches!(cluster.state, ClusterState::Running | ClusterState::Degraded))
            .then(|| "Stop applies to a local cluster that runs".to_owned());
            if gated_button(
                ui,
                role,
                Action::Operate,
                start_blocked,
                egui::Button::new("Start"),
            )
            .clicked()
            {
                self.set_state(&ctx, id, ClusterState::Running);
            }
            if gated_button(
                ui,
                role,
                Action::Operate,
                stop_blocked,
                egui::Button::new("Stop"),
            )
            .clicked()
                && let Some(d) = &mut self.detail
            {
                d.confirm = Some(Confirm::Stop);
            }
            if action_button(ui, role, Action::Delete, egui::Button::new("Delete…")).clicked()
                && let Some(d) = &mut self.detail
            {
                d.confirm_delete = Some(String::new());
            }
        });
        let name = cluster.config.name.clone();
        if let Some(d) = &mut self.detail
            && let Some(typed) = &mut d.confirm_delete
        {
            let answer = confirm_by_name_ui(
                ui,
                &format!(
                    "Deleting removes every node and all data of `{name}`. Type its name to confirm:"
                ),
                "Cluster name",
                "Delete for good",
                typed,
                &name,
            );
            let confirmed = answer == Some(true);
            if answer.is_some() {
                d.confirm_delete = None;
            }
            if confirmed {
                let confirm = name.clone();
                self.change(
                    &ctx,
                    id,
                    "deleting the cluster",
                    move |client| async move { client.delete_cluster(id, &confirm).await },
                    |panel| panel.page = Page::Clusters,
                );
            }
        }
        let Some(detail) = &self.detail else {
            return;
        };
        ui.add_space(4.0);
        ui.strong("Nodes");
        match &detail.status {
            Some(status) if status.nodes.is_empty() => {
                ui.weak(
                    "No nodes run here (a Kubernetes cluster runs where its manifest is applied).",
                );
            }
            Some(status) => {
                egui::Grid::new("nodes").striped(true).show(ui, |ui| {
                    for h in [
                        "Node", "Port", "State", "Version", "Uptime", "Parts", "On disk",
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for n in &status.nodes {
                        ui.label(format!("shard {} replica {}", n.shard, n.replica));
                        ui.label(n.http_port.to_string());
                        ui.label(if n.up { "up" } else { "down" });
                        ui.label(n.version.clone().unwrap_or_else(|| "–".into()));
                        ui.label(n.uptime_secs.map_or_else(|| "–".into(), duration_text));
                        ui.label(n.parts.map_or_else(|| "–".into(), |p| p.to_string()));
                        ui.label(n.bytes_on_disk.map_or_else(|| "–".into(), bytes_text));
                        ui.end_row();
                    }
                });
            }
            None => {
                ui.spinner();
            }
        }
        ui.add_space(4.0);
        ui.strong("Cost");
        if let Some(usage) = &detail.usage {
            estimate_table_ui(ui, &usage.estimate);
            ui.label(format!(
                "So far this month: {:.2} {} ({:.1} node-hours, {} on disk)",
                usage.actual_to_date,
                usage.estimate.currency,
                usage.node_uptime_hours,
                bytes_text(usage.bytes_on_disk)
            ));
            usage_plots_ui(ui, usage);
        }
    }

    fn set_state(&mut self, ctx: &egui::Context, id: i64, state: ClusterState) {
        let update = ClusterUpdate {
            state: Some(state),
            ..ClusterUpdate::default()
        };
        let doing = if state == ClusterState::Running {
            "starting"
        } else {
            "stopping"
        };
        self.change(
            ctx,
            id,
            doing,
            move |client| async move { client.update_cluster(id, &update).await.map(drop) },
            |_| {},
        );
    }

    fn members_ui(&mut self, ui: &mut egui::Ui, id: i64, role: Option<Role>) {
        let ctx = ui.ctx().clone();
        let Some(detail) = &mut self.detail else {
            return;
        };
        let owners = detail
            .members
            .iter()
            .filter(|m| m.role == Role::Owner)
            .count();
        let mut change = None;
        let mut remove = None;
        egui::Grid::new("members").striped(true).show(ui, |ui| {
            ui.strong("User");
            ui.strong("Role");
            ui.strong("");
            ui.end_row();
            for (i, member) in detail.members.iter().enumerate() {
                ui.label(&member.user);
                let mut new_role = member.role;
                ui.add_enabled_ui(role.is_some_and(|r| r.may(Action::ManageMembers)), |ui| {
                    role_combo_ui(ui, ("member role", i), &mut new_role);
                });
                if new_role != member.role {
                    change = Some(Member {
                        user: member.user.clone(),
                        role: new_role,
                    });
                }
                let last_owner = member.role == Role::Owner && owners == 1;
                if gated_button(
                    ui,
                    role,
                    Action::ManageMembers,
                    last_owner.then(|| "A cluster keeps at least one owner.".to_owned()),
                    egui::Button::new(format!("Remove {}", member.user)),
                )
                .clicked()
                {
                    remove = Some(member.user.clone());
                }
                ui.end_row();
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Add user");
            ui.add(egui::TextEdit::singleline(&mut detail.new_member).desired_width(140.0))
                .labelled_by(label.id);
            let new_role = detail.new_member_role.get_or_insert(Role::Viewer);
            role_combo_ui(ui, "add member role", new_role);
            let user = detail.new_member.trim().to_owned();
            let valid = check_name("user name", &user, '_').is_ok();
            if action_button(
                ui,
                role,
                Action::ManageMembers,
                egui::Button::new("Add member"),
            )
            .clicked()
                && valid
            {
                change = Some(Member {
                    user,
                    role: *new_role,
                });
                detail.new_member.clear();
            }
        });
        if let Some(user) = remove {
            detail.confirm = Some(Confirm::RemoveMember(user));
        }
        if let Some(member) = change {
            let doing = format!("{} as {}", member.user, member.role.as_str());
            self.change(
                &ctx,
                id,
                &doing,
                move |client| async move { client.put_member(id, &member).await },
                |_| {},
            );
        }
    }

    fn credentials_ui(&mut self, ui: &mut egui::Ui, id: i64, role: Option<Role>) {
        let ctx = ui.ctx().clone();
        let port = self.first_port();
        let Some(detail) = &mut self.detail else {
            return;
        };
        if let Some(shown) = detail.shown.clone() {
            secret_once_ui(
                ui,
                &format!("Password of `{}`", shown.credential.user),
                &shown.password,
            );
            ui.horizontal(|ui| {
                if let Some(port) = port
                    && ui.button("Store as a connection").clicked()
                {
                    let known = super::KnownCredential {
                        user: shown.credential.user.clone(),
                        password: crate::secrets::Password::new(shown.password.clone()),
                    };
                    self.connect_to(id, port, &known, "default", false);
                }
                if ui.button("Hide").clicked()
                    && let Some(d) = &mut self.detail
                {
                    d.shown = None;
                }
            });
        }
        let Some(detail) = &mut self.detail else {
            return;
        };
        let mut rotate = None;
        let mut revoke = None;
        egui::Grid::new("credentials").striped(true).show(ui, |ui| {
            for h in ["User", "Issued", "Rotated", "State", "", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for c in &detail.credentials {
                ui.label(&c.user);
                ui.label(short_time(&c.created_at));
                ui.label(c.rotated_at.as_deref().map_or("–", short_time));
                let active = c.revoked_at.is_none();
                ui.label(if active { "active" } else { "revoked" });
                if active {
                    if action_button(
                        ui,
                        role,
                        Action::ManageCredentials,
                        egui::Button::new(format!("Rotate {}", c.user)),
                    )
                    .clicked()
                    {
                        rotate = Some(c.id);
                    }
                    if action_button(
                        ui,
                        role,
                        Action::ManageCredentials,
                        egui::Button::new(format!("Revoke {}", c.user)),
                    )
                    .clicked()
                    {
                        revoke = Some((c.id, c.user.clone()));
                    }
                }
                ui.end_row();
            }
        });
        let mut issue = None;
        ui.horizontal(|ui| {
            let label = ui.label("New ClickHouse user");
            ui.add(
                egui::TextEdit::singleline(&mut detail.new_credential)
                    .hint_text("analyst")
                    .desired_width(140.0),
            )
            .labelled_by(label.id);
            let user = detail.new_credential.trim().to_owned();
            if action_button(
                ui,
                role,
                Action::IssueCredential,
                egui::Button::new("Issue"),
            )
            .clicked()
                && check_name("ClickHouse user", &user, '_').is_ok()
            {
                issue = Some(user);
                detail.new_credential.clear();
            }
        });
        if let Some(credential) = rotate {
            detail.confirm = Some(Confirm::Rotate {
                credential,
                user: detail
                    .credentials
                    .iter()
                    .find(|c| c.id == credential)
                    .map(|c| c.user.clone())
                    .unwrap_or_default(),
            });
        }
        if let Some((credential, user)) = revoke {
            detail.confirm = Some(Confirm::Revoke { credential, user });
        }
        if let Some(user) = issue {
            self.run(
                &ctx,
                move |client| async move {
                    let issued = client.issue_credential(id, &user).await;
                    if let (Ok(issued), Some(port)) = (&issued, port) {
                        super::wait_until_accepted(port, issued).await;
                    }
                    issued
                },
                move |panel, ctx, result| {
                    match result {
                        Ok(issued) => panel.show_once(id, issued, false),
                        Err(e) => panel.failed(&e),
                    }
                    panel.load_detail(ctx, id);
                },
            );
        }
    }

    /// A password shown once and kept for this session; a rotated one also goes to this
    /// app's connections of that user.
    fn show_once(&mut self, id: i64, issued: IssuedCredential, rotated: bool) {
        self.remember_credential(id, &issued.credential.user, &issued.password);
        if rotated && let Some(port) = self.first_port() {
            let account = crate::source::clickhouse::ConnectionProfile::new(
                format!("http://127.0.0.1:{port}"),
                "default",
                issued.credential.user.as_str(),
            )
            .keychain_account();
            self.requests.push(super::AppRequest::PasswordChanged {
                account,
                password: crate::secrets::Password::new(issued.password.clone()),
            });
        }
        if let Some(d) = &mut self.detail {
            d.shown = Some(issued);
        }
    }

    /// Do what the user confirmed.
    fn carry_out(&mut self, ctx: &egui::Context, id: i64, confirm: Confirm) {
        match confirm {
            Confirm::Stop => self.set_state(ctx, id, ClusterState::Stopped),
            Confirm::RemoveMember(user) => self.change(
                ctx,
                id,
                &format!("removing {user}"),
                move |client| async move { client.remove_member(id, &user).await },
                |_| {},
            ),
            Confirm::Rotate { credential, .. } => {
                let port = self.first_port();
                if let Some(d) = &mut self.detail {
                    d.busy =
                        Some("rotating: waiting for the nodes to take the new password".into());
                }
                self.run(
                    ctx,
                    move |client| async move {
                        let issued = client.rotate_credential(id, credential).await;
                        if let (Ok(issued), Some(port)) = (&issued, port) {
                            super::wait_until_accepted(port, issued).await;
                        }
                        issued
                    },
                    move |panel, ctx, result| {
                        if let Some(d) = &mut panel.detail {
                            d.busy = None;
                        }
                        match result {
                            Ok(issued) => panel.show_once(id, issued, true),
                            Err(e) => panel.failed(&e),
                        }
                        panel.load_detail(ctx, id);
                    },
                );
            }
            Confirm::Revoke { credential, user } => self.change(
                ctx,
                id,
                &format!("revoking {user}"),
                move |client| async move { client.revoke_credential(id, credential).await },
                move |panel| panel.forget_credential(id, &user),
            ),
        }
    }

    /// The HTTP port of the shown cluster's first node.
    fn first_port(&self) -> Option<u16> {
        self.detail
            .as_ref()
            .and_then(|d| d.status.as_ref())
            .and_then(|s| s.nodes.first())
            .map(|n| n.http_port)
    }

    fn projects_ui(&mut self, ui: &mut egui::Ui, id: i64, role: Option<Role>, state: ClusterState) {
        let ctx = ui.ctx().clone();
        let port = self.first_port();
        let known = self.known_credential(id).cloned();
        let Some(detail) = &mut self.detail else {
            return;
        };
        let mut seed = None;
        let mut explore = None;
        let no_password = "Issue or rotate a credential first: its password, shown once, is kept for this session to reach the data.";
        egui::Grid::new("projects").striped(true).show(ui, |ui| {
            for h in ["Project", "Type", "Database", "State", "", "", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for p in &detail.projects {
                ui.label(&p.name);
                ui.label(&p.project_type);
                ui.monospace(&p.database);
                let state_label = ui.label(p.state.as_str());
                if let Some(reason) = &p.state_reason {
                    state_label.on_hover_text(reason);
                }
                // Why the project's data cannot be reached now, if it cannot.
                let stopped = (state != ClusterState::Running && state != ClusterState::Degraded)
                    .then(|| format!("The cluster is {}: start it first.", state.as_str()));
                let unreachable = stopped.clone().or_else(|| {
                    (p.state != ProjectState::Ready || port.is_none())
                        .then(|| format!("The project is {}.", p.state.as_str()))
                });
                let blocked =
                    unreachable.or_else(|| known.is_none().then(|| no_password.to_owned()));
                let seed_button = ui
                    .add_enabled(
                        blocked.is_none(),
                        egui::Button::new(format!("Seed demo plant into {}", p.name)),
                    )
                    .on_disabled_hover_text(blocked.clone().unwrap_or_default());
                if seed_button.clicked() {
                    seed = Some(p.database.clone());
                }
                if ui
                    .add_enabled(
                        blocked.is_none(),
                        egui::Button::new(format!("Open {} in explorer", p.name)),
                    )
                    .on_disabled_hover_text(blocked.unwrap_or_default())
                    .clicked()
                {
                    explore = Some(p.database.clone());
                }
                // Only a made schema needs the nodes to drop it.
                let delete_blocked = stopped.filter(|_| p.state == ProjectState::Ready);
                if gated_button(
                    ui,
                    role,
                    Action::DeleteProject,
                    delete_blocked,
                    egui::Button::new(format!("Delete {}…", p.name)),
                )
                .clicked()
                {
                    detail.confirm_project = Some((p.id, String::new()));
                }
                ui.end_row();
            }
        });
        if let Some(reason) = detail
            .projects
            .iter()
            .find(|p| p.state == ProjectState::Failed)
            .and_then(|p| p.state_reason.clone())
        {
            ui.colored_label(ui.visuals().error_fg_color, format!("failed: {reason}"));
        }
        let mut delete = None;
        if let Some((project_id, typed)) = &mut detail.confirm_project {
            let name = detail
                .projects
                .iter()
                .find(|p| p.id == *project_id)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            let answer = confirm_by_name_ui(
                ui,
                &format!(
                    "Deleting drops the database of `{name}` and all its data on every node. Type its name:"
                ),
                "Project name",
                "Delete project",
                typed,
                &name,
            );
            if answer == Some(true) {
                delete = Some((*project_id, name.clone()));
            }
            if answer.is_some() {
                detail.confirm_project = None;
            }
        }
        ui.add_space(6.0);
        ui.strong("New project");
        let mut create = None;
        ui.horizontal(|ui| {
            let label = ui.label("Project name");
            ui.add(
                egui::TextEdit::singleline(&mut detail.new_project)
                    .hint_text("press-line-2")
                    .desired_width(160.0),
            )
            .labelled_by(label.id);
            egui::ComboBox::from_id_salt("project type")
                .selected_text(detail.new_project_type.clone())
                .show_ui(ui, |ui| {
                    for t in &PROJECT_TYPES {
                        ui.selectable_value(
                            &mut detail.new_project_type,
                            t.name.to_owned(),
                            t.name,
                        )
                        .on_hover_text(t.description);
                    }
                });
            let name = detail.new_project.trim().to_owned();
            let valid = check_name("project name", &name, '-');
            if action_button(
                ui,
                role,
                Action::CreateProject,
                egui::Button::new("Create project"),
            )
            .clicked()
                && valid.is_ok()
            {
                create = Some(NewProject {
                    name,
                    project_type: detail.new_project_type.clone(),
                });
            }
            if let (Err(e), false) = (valid, detail.new_project.is_empty()) {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        });
        if let Some(kind) = PROJECT_TYPES
            .iter()
            .find(|t| t.name == detail.new_project_type)
        {
            ui.weak(format!("{}: {}", kind.description, kind.objects.join(", ")));
        }
        if let Some(project) = create {
            let doing = format!(
                "creating project {} (its tables on every node)",
                project.name
            );
            self.change(
                &ctx,
                id,
                &doing,
                move |client| async move { client.create_project(id, &project).await.map(drop) },
                |panel| {
                    if let Some(d) = &mut panel.detail {
                        d.new_project.clear();
                    }
                },
            );
        }
        if let Some((project_id, name)) = delete {
            self.change(
                &ctx,
                id,
                &format!("deleting project {name}"),
                move |client| async move { client.delete_project(id, project_id, &name).await },
                |_| {},
            );
        }
        if let (Some(database), Some(port), Some(known)) = (explore, port, known.clone()) {
            self.connect_to(id, port, &known, &database, true);
        }
        if let (Some(database), Some(port), Some(known)) = (seed, port, known) {
            self.seed_project(&ctx, id, port, known, database);
        }
    }

    /// Load a small demo plant into a project's database through node 1, as `known`.
    fn seed_project(
        &mut self,
        ctx: &egui::Context,
        id: i64,
        port: u16,
        known: super::KnownCredential,
        database: String,
    ) {
        if let Some(d) = &mut self.detail {
            d.busy = Some(format!("seeding the demo plant into {database}"));
            d.note = None;
        }
        let profile = crate::source::clickhouse::ConnectionProfile::new(
            format!("http://127.0.0.1:{port}"),
            database.as_str(),
            known.user.as_str(),
        );
        let password = known.password.clone();
        self.spawn(
            ctx,
            async move {
                let connection =
                    crate::source::clickhouse::Connection::open(profile, Some(password)).await?;
                // Rows sent through a Distributed table land on their shards before this ends.
                let plant = Plant::new(PlantConfig {
                    curves: 1_000,
                    samples: 500,
                    sensors: 8,
                    days: 0.05,
                    ..PlantConfig::default()
                });
                connection
                    .seed_demo_plant(&database, &plant, false, |_| {})
                    .await
            },
            move |panel, ctx, result| {
                if let Some(d) = &mut panel.detail {
                    d.busy = None;
                    d.note = result.as_ref().ok().map(|report| {
                        format!(
                            "seeded {} rows into {} in {:.1} s",
                            report.total_rows(),
                            report.database,
                            report.elapsed.as_secs_f64()
                        )
                    });
                }
                if let Err(e) = &result {
                    panel.error = Some(format!("seeding failed: {e}"));
                }
                panel.load_detail(ctx, id);
            },
        );
    }
}

/// A destructive action confirmed by typing `name`: `Some(true)` confirmed, `Some(false)`
/// cancelled, none while the user decides.
fn confirm_by_name_ui(
    ui: &mut egui::Ui,
    warning: &str,
    field: &str,
    button: &str,
    typed: &mut String,
    name: &str,
) -> Option<bool> {
    let mut answer = None;
    ui.group(|ui| {
        ui.colored_label(ui.visuals().error_fg_color, warning);
        ui.horizontal(|ui| {
            let label = ui.label(field);
            ui.add(egui::TextEdit::singleline(typed).desired_width(160.0))
                .labelled_by(label.id);
            if ui
                .add_enabled(typed == name, egui::Button::new(button))
                .clicked()
            {
                answer = Some(true);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(false);
            }
        });
    });
    answer
}

/// Bytes on disk and cost to date over the last days, as plots.
fn usage_plots_ui(ui: &mut egui::Ui, usage: &Usage) {
    if usage.history.len() < 2 {
        ui.weak("Use over time appears once the nodes have been read a few times (each minute).");
        return;
    }
    let first = chrono::DateTime::parse_from_rfc3339(&usage.history[0].at)
        .map(|t| t.timestamp())
        .unwrap_or(0);
    let hours = |at: &str| {
        chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| (t.timestamp() - first) as f64 / 3600.0)
            .unwrap_or(0.0)
    };
    let bytes: PlotPoints<'_> = usage
        .history
        .iter()
        .map(|s| [hours(&s.at), s.bytes_on_disk as f64 / 1_048_576.0])
        .collect();
    let cost: PlotPoints<'_> = usage
        .history
        .iter()
        .map(|s| [hours(&s.at), s.cost_to_date])
        .collect();
    ui.columns(2, |columns| {
        Plot::new("bytes over time")
            .height(140.0)
            .x_axis_label("hours")
            .y_axis_label("MiB on disk")
            .show(&mut columns[0], |plot| {
                plot.line(Line::new("on disk", bytes));
            });
        Plot::new("cost over time")
            .height(140.0)
            .x_axis_label("hours")
            .y_axis_label(format!("cost to date ({})", usage.estimate.currency))
            .show(&mut columns[1], |plot| {
                plot.line(Line::new("cost", cost));
            });
    });
}

fn bytes_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn duration_text(secs: u64) -> String {
    match secs {
        s if s >= 86_400 => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// `2026-11-28T21:04:05.123Z` → `2026-11-28 21:04`.
fn short_time(at: &str) -> &str {
    at.get(..16).unwrap_or(at)
}
