//! The four-step cluster wizard: basic configuration, performance and storage, team access,
//! review and deploy. Every input lives in [`Wizard`], so Back and Next keep it; a step whose
//! input is invalid cannot advance and says why ([`Wizard::step_problem`]); the estimate on
//! every step follows the inputs (the control plane's own price table, asked again when the
//! configuration changes). Deploy creates the cluster, adds the team, follows the
//! provisioning states, and ends with a credential shown once (local) or the manifest
//! (Kubernetes). An API error leaves every input as it was.

use std::time::Duration;

use super::{ClustersPanel, Page, Update, secret_once_ui, state_badge_ui};
use crate::control::api::{
    Action, ClusterConfig, ClusterState, CostEstimate, Credentials, IssuedCredential, Member,
    ProviderKind, Role, Tier, TierConfig, check_name,
};

/// Steps, in order.
const STEPS: [&str; 4] = [
    "1 Basic configuration",
    "2 Performance and storage",
    "3 Team access",
    "4 Review and deploy",
];

/// Local clusters run on this computer: at most this many nodes.
const MAX_LOCAL_NODES: u32 = 8;

/// One storage tier's inputs (kept while switched off).
#[derive(Clone, Debug)]
struct TierInput {
    tier: Tier,
    on: bool,
    size_gib: u32,
    move_after_days: u32,
}

/// Where a deploy is.
#[derive(Debug, Default)]
pub(super) struct Deploy {
    pub cluster_id: Option<i64>,
    /// States seen, in order, with when (seconds since deploy began).
    pub states: Vec<(f32, ClusterState)>,
    pub started: Option<std::time::Instant>,
    pub credential: Option<IssuedCredential>,
    pub manifest: Option<String>,
    pub notes: Vec<String>,
    pub http_port: Option<u16>,
    pub finished: bool,
}

#[derive(Debug)]
pub(super) struct Wizard {
    step: usize,
    name: String,
    cluster_type: String,
    region: String,
    provider: ProviderKind,
    shards: u32,
    replicas: u32,
    cpu_per_node: u32,
    memory_gib_per_node: u32,
    tiers: Vec<TierInput>,
    team: Vec<Member>,
    new_member: String,
    new_member_role: Role,
    /// A password for an account created for the new member (instance owner only).
    new_account_password: String,
    team_note: Option<Result<String, String>>,
    first_user: String,
    /// The estimate and the configuration it is for.
    estimate: Option<(ClusterConfig, Result<CostEstimate, String>)>,
    estimating: bool,
    pub(super) deploy: Option<Deploy>,
    manifest_path: String,
}

impl Default for Wizard {
    fn default() -> Self {
        let tier = |tier, on, size_gib, move_after_days| TierInput {
            tier,
            on,
            size_gib,
            move_after_days,
        };
        Self {
            step: 0,
            name: String::new(),
            cluster_type: "process_curves".into(),
            region: "local".into(),
            provider: ProviderKind::Local,
            shards: 1,
            replicas: 1,
            cpu_per_node: 2,
            memory_gib_per_node: 8,
            tiers: vec![
                tier(Tier::Hot, true, 100, 7),
                tier(Tier::Warm, false, 500, 30),
                tier(Tier::Cold, false, 2_000, 365),
                tier(Tier::Archive, false, 10_000, 0),
            ],
            team: Vec::new(),
            new_member: String::new(),
            new_member_role: Role::Viewer,
            new_account_password: String::new(),
            team_note: None,
            first_user: "analyst".into(),
            estimate: None,
            estimating: false,
            deploy: None,
            manifest_path: String::new(),
        }
    }
}

impl Wizard {
    /// The configuration as entered: the tiers switched on, each moving after its days to the
    /// next one switched on (the last keeps its data).
    pub(super) fn config(&self) -> ClusterConfig {
        let on: Vec<&TierInput> = self.tiers.iter().filter(|t| t.on).collect();
        let tiers = on
            .iter()
            .enumerate()
            .map(|(i, t)| TierConfig {
                tier: t.tier,
                size_gib: t.size_gib,
                ttl_days: (i + 1 < on.len()).then_some(t.move_after_days),
            })
            .collect();
        ClusterConfig {
            name: self.name.trim().to_owned(),
            cluster_type: self.cluster_type.clone(),
            region: self.region.clone(),
            provider: self.provider,
            shards: self.shards,
            replicas: self.replicas,
            cpu_per_node: self.cpu_per_node,
            memory_gib_per_node: self.memory_gib_per_node,
            tiers,
            allowed_networks: Vec::new(),
        }
    }

    /// Why step `step` cannot advance, if it cannot.
    pub(super) fn step_problem(&self, step: usize, taken: &[String]) -> Option<String> {
        let config = self.config();
        match step {
            0 => {
                if let Err(e) = check_name("cluster name", &config.name, '-') {
                    return Some(e);
                }
                if taken.contains(&config.name) {
                    return Some(format!("a cluster named `{}` exists", config.name));
                }
                if self.provider == ProviderKind::Local && self.region != "local" {
                    return Some("local clusters run on this computer: region `local`".into());
                }
                if self.provider == ProviderKind::Kubernetes && self.region == "local" {
                    return Some("choose the region the Kubernetes cluster runs in".into());
                }
                None
            }
            1 => {
                let nodes = config.shards * config.replicas;
                if self.provider == ProviderKind::Local && nodes > MAX_LOCAL_NODES {
                    return Some(format!(
                        "{nodes} nodes: a local cluster runs at most {MAX_LOCAL_NODES} on this computer"
                    ));
                }
                if !self.tiers[0].on {
                    return Some("every cluster needs a hot tier".into());
                }
                if let Some(t) = self.tiers.iter().find(|t| t.on && t.size_gib == 0) {
                    return Some(format!("the {} tier needs at least 1 GiB", t.tier.as_str()));
                }
                let on: Vec<&TierInput> = self.tiers.iter().filter(|t| t.on).collect();
                if let Some(t) = on
                    .iter()
                    .take(on.len().saturating_sub(1))
                    .find(|t| !(1..=36_500).contains(&t.move_after_days))
                {
                    return Some(format!(
                        "data leaves the {} tier after 1–36,500 days",
                        t.tier.as_str()
                    ));
                }
                None
            }
            2 => self
                .team
                .iter()
                .find_map(|m| check_name("user name", &m.user, '_').err()),
            _ => check_name("ClickHouse user", &self.first_user, '_')
                .err()
                .or_else(|| {
                    (self.first_user == "default" || self.first_user.starts_with("lyceum_"))
                        .then(|| "`default` and names starting `lyceum_` are reserved".into())
                }),
        }
    }
}

impl ClustersPanel {
    /// Ask for the estimate of the configuration as it now is, unless it is known or asked.
    fn follow_estimate(&mut self, ctx: &egui::Context) {
        let config = self.wizard.config();
        let known = self
            .wizard
            .estimate
            .as_ref()
            .is_some_and(|(for_config, _)| *for_config == config);
        if known || self.wizard.estimating || config.tiers.is_empty() {
            return;
        }
        self.wizard.estimating = true;
        // The name does not change the price; an invalid one must not block the estimate.
        let mut priced = config.clone();
        priced.name = "estimate".into();
        self.run(
            ctx,
            |client| async move { client.estimate(&priced).await },
            move |panel, _, result| {
                panel.wizard.estimating = false;
                panel.wizard.estimate = Some((config, result.map_err(|e| e.to_string())));
            },
        );
    }

    pub(super) fn wizard_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if self.wizard.deploy.is_some() {
            self.deploy_ui(ui);
            return;
        }
        self.follow_estimate(&ctx);
        ui.heading("New cluster");
        ui.horizontal(|ui| {
            for (i, title) in STEPS.iter().enumerate() {
                let text = egui::RichText::new(*title);
                ui.label(if i == self.wizard.step {
                    text.strong()
                } else {
                    text.weak()
                });
                if i + 1 < STEPS.len() {
                    ui.label("›");
                }
            }
        });
        ui.separator();
        match self.wizard.step {
            0 => self.basic_step_ui(ui),
            1 => self.storage_step_ui(ui),
            2 => self.team_step_ui(ui),
            _ => self.review_step_ui(ui),
        }
        ui.separator();
        self.estimate_ui(ui);
        ui.separator();
        let taken: Vec<String> = self
            .clusters
            .iter()
            .map(|c| c.config.name.clone())
            .collect();
        let problem = self.wizard.step_problem(self.wizard.step, &taken);
        ui.horizontal(|ui| {
            if ui
                .add_enabled(self.wizard.step > 0, egui::Button::new("Back"))
                .clicked()
            {
                self.wizard.step -= 1;
            }
            let last = self.wizard.step + 1 == STEPS.len();
            let ready = problem.is_none() && self.client().is_some();
            if last {
                if ui.add_enabled(ready, egui::Button::new("Deploy")).clicked() {
                    self.deploy(&ctx);
                }
            } else if ui
                .add_enabled(problem.is_none(), egui::Button::new("Next"))
                .clicked()
            {
                self.wizard.step += 1;
            }
            if let Some(problem) = &problem {
                // Nothing typed yet is not an error, only what is still missing.
                if self.wizard.step == 0 && self.wizard.name.trim().is_empty() {
                    ui.weak("Name the cluster to go on.");
                } else {
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(problem).color(ui.visuals().error_fg_color),
                        )
                        .wrap(),
                    );
                }
            }
        });
    }

    fn basic_step_ui(&mut self, ui: &mut egui::Ui) {
        let w = &mut self.wizard;
        egui::Grid::new("wizard basic")
            .num_columns(2)
            .show(ui, |ui| {
                let label = ui.label("Name");
                ui.add(egui::TextEdit::singleline(&mut w.name).hint_text("line-1"))
                    .labelled_by(label.id);
                ui.end_row();
                ui.label("Cluster type");
                let types = self
                    .reference
                    .as_ref()
                    .map(|r| r.cluster_types.clone())
                    .unwrap_or_default();
                egui::ComboBox::from_id_salt("cluster type")
                    .selected_text(w.cluster_type.clone())
                    .show_ui(ui, |ui| {
                        for t in types {
                            ui.selectable_value(&mut w.cluster_type, t.clone(), t);
                        }
                    });
                ui.end_row();
                ui.label("Provider");
                ui.horizontal(|ui| {
                    if ui
                        .selectable_value(
                            &mut w.provider,
                            ProviderKind::Local,
                            "Local processes (runs here)",
                        )
                        .clicked()
                    {
                        w.region = "local".into();
                    }
                    if ui
                        .selectable_value(
                            &mut w.provider,
                            ProviderKind::Kubernetes,
                            "Kubernetes manifest",
                        )
                        .clicked()
                        && w.region == "local"
                    {
                        w.region = "eu-central".into();
                    }
                });
                ui.end_row();
                ui.label("Region");
                let regions = self
                    .reference
                    .as_ref()
                    .map(|r| r.regions.clone())
                    .unwrap_or_default();
                let shown = regions
                    .iter()
                    .find(|r| r.code == w.region)
                    .map_or_else(|| w.region.clone(), |r| r.name.clone());
                egui::ComboBox::from_id_salt("region")
                    .selected_text(shown)
                    .show_ui(ui, |ui| {
                        for r in regions {
                            ui.selectable_value(&mut w.region, r.code.clone(), r.name);
                        }
                    });
                ui.end_row();
            });
    }

    fn storage_step_ui(&mut self, ui: &mut egui::Ui) {
        let w = &mut self.wizard;
        egui::Grid::new("wizard layout")
            .num_columns(2)
            .show(ui, |ui| {
                let label = ui.label("Shards");
                ui.add(egui::DragValue::new(&mut w.shards).range(1..=16))
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Replicas per shard");
                ui.horizontal(|ui| {
                    ui.add(egui::DragValue::new(&mut w.replicas).range(1..=3))
                        .labelled_by(label.id);
                    ui.weak(format!("= {} nodes", w.shards * w.replicas));
                });
                ui.end_row();
                let label = ui.label("CPU cores per node");
                ui.add(egui::DragValue::new(&mut w.cpu_per_node).range(1..=256))
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Memory per node (GiB)");
                ui.add(egui::DragValue::new(&mut w.memory_gib_per_node).range(1..=4096))
                    .labelled_by(label.id);
                ui.end_row();
            });
        ui.add_space(6.0);
        ui.strong("Storage tiers");
        egui::Grid::new("wizard tiers")
            .num_columns(3)
            .striped(true)
            .show(ui, |ui| {
                ui.label("Tier");
                ui.label("Size (GiB, one copy)");
                ui.label("Moves on after (days)");
                ui.end_row();
                let on_count = w.tiers.iter().filter(|t| t.on).count();
                let mut seen_on = 0;
                for (i, t) in w.tiers.iter_mut().enumerate() {
                    ui.add_enabled(i > 0, egui::Checkbox::new(&mut t.on, t.tier.as_str()));
                    ui.add_enabled(
                        t.on,
                        egui::DragValue::new(&mut t.size_gib).range(0..=1_000_000),
                    );
                    if t.on {
                        seen_on += 1;
                    }
                    if t.on && seen_on < on_count {
                        ui.add(egui::DragValue::new(&mut t.move_after_days).range(0..=36_500));
                    } else {
                        ui.weak(if t.on { "keeps its data" } else { "" });
                    }
                    ui.end_row();
                }
            });
        let note = match w.provider {
            ProviderKind::Local => {
                "Local clusters run Debian's clickhouse-server here, which has no storage policies \
                 (ClickHouse 18.16): the tiers shape the estimate and the Kubernetes manifest only; \
                 the data stays on the node's one disk."
            }
            ProviderKind::Kubernetes => {
                "The manifest gives each tier a volume claim and a storage policy that moves data \
                 down the tiers after the days given (ClickHouse 19.15 or newer)."
            }
        };
        ui.add(egui::Label::new(egui::RichText::new(note).weak()).wrap());
    }

    fn team_step_ui(&mut self, ui: &mut egui::Ui) {
        let w = &mut self.wizard;
        ui.label(
            "You own the cluster. Add users who have an account on this control plane (or create \
             one below) with a role; the control plane checks the names when the cluster is made.",
        );
        let mut remove = None;
        egui::Grid::new("wizard team").striped(true).show(ui, |ui| {
            for (i, member) in w.team.iter_mut().enumerate() {
                ui.label(&member.user);
                role_combo_ui(ui, ("team role", i), &mut member.role);
                if ui.small_button("Remove").clicked() {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
        if let Some(i) = remove {
            w.team.remove(i);
        }
        ui.horizontal(|ui| {
            let label = ui.label("User");
            ui.add(
                egui::TextEdit::singleline(&mut w.new_member)
                    .hint_text("vera")
                    .desired_width(140.0),
            )
            .labelled_by(label.id);
            role_combo_ui(ui, "new member role", &mut w.new_member_role);
            let name = w.new_member.trim().to_owned();
            let valid = check_name("user name", &name, '_');
            if ui
                .add_enabled(valid.is_ok(), egui::Button::new("Add to team"))
                .clicked()
            {
                w.team.retain(|m| m.user != name);
                w.team.push(Member {
                    user: name,
                    role: w.new_member_role,
                });
                w.new_member.clear();
            }
            if let (Err(e), false) = (valid, w.new_member.is_empty()) {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        });
        let mut create_account = None;
        ui.horizontal(|ui| {
            ui.weak("Someone without an account?");
            let label = ui.label("Initial password");
            ui.add(
                egui::TextEdit::singleline(&mut w.new_account_password)
                    .password(true)
                    .hint_text("10+ characters")
                    .desired_width(140.0),
            )
            .labelled_by(label.id);
            let user = w.new_member.trim().to_owned();
            let ready = check_name("user name", &user, '_').is_ok()
                && w.new_account_password.chars().count() >= 10;
            if ui
                .add_enabled(ready, egui::Button::new("Create account and add"))
                .on_disabled_hover_text("a user name above and a password of 10+ characters")
                .on_hover_text("Only the instance owner creates accounts")
                .clicked()
            {
                create_account = Some(Credentials {
                    user,
                    password: std::mem::take(&mut w.new_account_password),
                });
            }
        });
        super::super::widgets::outcome_ui(ui, w.team_note.as_ref());
        if let Some(account) = create_account {
            let ctx = ui.ctx().clone();
            let member = Member {
                user: account.user.clone(),
                role: self.wizard.new_member_role,
            };
            self.run(
                &ctx,
                move |client| async move { client.create_user(&account).await },
                move |panel, _, result| {
                    let w = &mut panel.wizard;
                    w.team_note = Some(match result {
                        Ok(()) => {
                            let note = format!("account {} created", member.user);
                            w.team.retain(|m| m.user != member.user);
                            w.team.push(member);
                            w.new_member.clear();
                            Ok(note)
                        }
                        Err(e) => Err(e.to_string()),
                    });
                },
            );
        }
        ui.add_space(6.0);
        ui.strong("What each role may do");
        permissions_ui(ui);
    }

    fn review_step_ui(&mut self, ui: &mut egui::Ui) {
        let config = self.wizard.config();
        egui::Grid::new("wizard review")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                let rows = [
                    ("Name", config.name.clone()),
                    ("Type", config.cluster_type.clone()),
                    ("Region", config.region.clone()),
                    (
                        "Provider",
                        match config.provider {
                            ProviderKind::Local => "local processes".to_owned(),
                            ProviderKind::Kubernetes => "Kubernetes manifest".to_owned(),
                        },
                    ),
                    (
                        "Layout",
                        format!("{} shards × {} replicas", config.shards, config.replicas),
                    ),
                    (
                        "Per node",
                        format!(
                            "{} cores, {} GiB memory",
                            config.cpu_per_node, config.memory_gib_per_node
                        ),
                    ),
                    ("Storage", tiers_text(&config.tiers)),
                    (
                        "Team",
                        if self.wizard.team.is_empty() {
                            "only you".to_owned()
                        } else {
                            self.wizard
                                .team
                                .iter()
                                .map(|m| format!("{} ({})", m.user, m.role.as_str()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        },
                    ),
                ];
                for (what, value) in rows {
                    ui.label(what);
                    ui.label(value);
                    ui.end_row();
                }
            });
        if config.provider == ProviderKind::Local {
            ui.horizontal(|ui| {
                let label = ui.label("First ClickHouse user");
                ui.add(
                    egui::TextEdit::singleline(&mut self.wizard.first_user).desired_width(140.0),
                )
                .labelled_by(label.id);
                ui.weak("its password is shown once when the cluster runs");
            });
        }
    }

    fn estimate_ui(&mut self, ui: &mut egui::Ui) {
        ui.strong("Monthly estimate");
        match &self.wizard.estimate {
            None => {
                ui.spinner();
            }
            Some((_, Err(e))) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            Some((_, Ok(estimate))) => estimate_table_ui(ui, estimate),
        }
    }

    /// Create, add the team, follow the states, then issue the first credential (local) or
    /// fetch the manifest (Kubernetes). Each stage reports as it happens.
    fn deploy(&mut self, ctx: &egui::Context) {
        let Some(client) = self.client() else {
            return;
        };
        let config = self.wizard.config();
        let team = self.wizard.team.clone();
        let first_user = self.wizard.first_user.trim().to_owned();
        let updates = self.updates();
        let ctx2 = ctx.clone();
        let send = move |update: Update| {
            if updates.send(update).is_err() {
                tracing::debug!("a deploy reported after the view closed");
            }
            ctx2.request_repaint();
        };
        self.wizard.deploy = Some(Deploy {
            started: Some(std::time::Instant::now()),
            ..Deploy::default()
        });
        self.error = None;
        let Some(runtime) = self.runtime() else {
            return;
        };
        runtime.spawn(async move {
            let cluster = match client.create_cluster(&config).await {
                Ok(cluster) => cluster,
                Err(e) => {
                    // Nothing was made: back to the review with every input kept.
                    send(Box::new(move |panel, _| {
                        panel.wizard.deploy = None;
                        panel.failed(&e);
                    }));
                    return;
                }
            };
            let id = cluster.id;
            send(Box::new(move |panel, _| {
                if let Some(d) = &mut panel.wizard.deploy {
                    d.cluster_id = Some(id);
                }
                panel.clusters.push(cluster);
            }));
            for member in team {
                let note = match client.put_member(id, &member).await {
                    Ok(()) => format!("{} added as {}", member.user, member.role.as_str()),
                    Err(e) => format!("{} not added: {e}", member.user),
                };
                send(Box::new(move |panel, _| {
                    if let Some(d) = &mut panel.wizard.deploy {
                        d.notes.push(note);
                    }
                }));
            }
            let mut last = None;
            let settled = loop {
                match client.cluster(id).await {
                    Ok(c) => {
                        if last != Some(c.state) {
                            last = Some(c.state);
                            let state = c.state;
                            send(Box::new(move |panel, _| {
                                if let Some(d) = &mut panel.wizard.deploy {
                                    let at = d.started.map_or(0.0, |s| s.elapsed().as_secs_f32());
                                    d.states.push((at, state));
                                }
                            }));
                        }
                        if c.state != ClusterState::Provisioning {
                            break c;
                        }
                    }
                    Err(e) => {
                        send(Box::new(move |panel, _| panel.failed(&e)));
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            };
            let finish: Update = match (settled.state, settled.config.provider) {
                (ClusterState::Running, _) => {
                    let issued = client.issue_credential(id, &first_user).await;
                    let port = client
                        .status(id)
                        .await
                        .ok()
                        .and_then(|s| s.nodes.first().map(|n| n.http_port));
                    // The nodes reload their users within seconds: the credential is shown
                    // once node 1 takes it, so "Open in explorer" works at once.
                    if let (Ok(issued), Some(port)) = (&issued, port) {
                        super::wait_until_accepted(port, issued).await;
                    }
                    Box::new(move |panel, _| match issued {
                        Ok(issued) => {
                            panel.remember_credential(
                                id,
                                &issued.credential.user,
                                &issued.password,
                            );
                            if let Some(d) = &mut panel.wizard.deploy {
                                d.credential = Some(issued);
                                d.http_port = port;
                                d.finished = true;
                            }
                        }
                        Err(e) => {
                            if let Some(d) = &mut panel.wizard.deploy {
                                d.finished = true;
                            }
                            panel.failed(&e);
                        }
                    })
                }
                (_, ProviderKind::Kubernetes) => {
                    let manifest = client.manifest(id).await;
                    Box::new(move |panel, _| {
                        if let Some(d) = &mut panel.wizard.deploy {
                            d.finished = true;
                            match manifest {
                                Ok(m) => d.manifest = Some(m),
                                Err(e) => d.notes.push(format!("no manifest: {e}")),
                            }
                        }
                    })
                }
                (state, _) => {
                    let reason = settled.state_reason.unwrap_or_default();
                    Box::new(move |panel, _| {
                        if let Some(d) = &mut panel.wizard.deploy {
                            d.finished = true;
                            d.notes
                                .push(format!("the cluster is {}: {reason}", state.as_str()));
                        }
                    })
                }
            };
            send(finish);
        });
    }

    fn deploy_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let Some(deploy) = &self.wizard.deploy else {
            return;
        };
        let (id, port, credential, manifest) = (
            deploy.cluster_id,
            deploy.http_port,
            deploy.credential.clone(),
            deploy.manifest.clone(),
        );
        ui.heading(format!("Deploying {}", self.wizard.name.trim()));
        for (at, state) in &deploy.states {
            ui.horizontal(|ui| {
                ui.weak(format!("{at:>5.1} s"));
                state_badge_ui(ui, *state);
            });
        }
        for note in &deploy.notes {
            ui.label(note);
        }
        if !deploy.finished {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("provisioning…");
            });
            return;
        }
        if let Some(issued) = credential {
            ui.label(format!(
                "ClickHouse user `{}` on node 1 (http://127.0.0.1:{}):",
                issued.credential.user,
                port.unwrap_or_default()
            ));
            secret_once_ui(ui, "Password", &issued.password);
            ui.horizontal(|ui| {
                if let (Some(id), Some(port)) = (id, port) {
                    let known = self.known_credential(id).cloned();
                    if let Some(known) = known {
                        if ui.button("Store as a connection").clicked() {
                            self.connect_to(id, port, &known, "default", false);
                        }
                        if ui.button("Open in explorer").clicked() {
                            self.connect_to(id, port, &known, "default", true);
                        }
                    }
                    if ui.button("Create a project…").clicked() {
                        self.open(&ctx, Page::Cluster(id));
                        if let Some(detail) = &mut self.detail {
                            detail.tab = super::cluster_ui::Tab::Projects;
                        }
                    }
                }
            });
        }
        if let Some(manifest) = manifest {
            ui.strong("Kubernetes manifest (apply it with kubectl)");
            ui.horizontal(|ui| {
                if ui.button("Copy").clicked() {
                    ui.ctx().copy_text(manifest.clone());
                }
                let label = ui.label("Save to");
                ui.add(
                    egui::TextEdit::singleline(&mut self.wizard.manifest_path)
                        .hint_text("cluster.yaml")
                        .desired_width(240.0),
                )
                .labelled_by(label.id);
                if ui.button("Save").clicked() {
                    let path = std::path::PathBuf::from(self.wizard.manifest_path.trim());
                    // A file that exists is left alone: the user names another.
                    let written = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&path)
                        .and_then(|mut f| std::io::Write::write_all(&mut f, manifest.as_bytes()));
                    let note = match written {
                        Ok(()) => format!("manifest saved to {}", path.display()),
                        Err(e) => format!("not saved: {e}"),
                    };
                    if let Some(d) = &mut self.wizard.deploy {
                        d.notes.push(note);
                    }
                }
            });
            egui::ScrollArea::vertical()
                .id_salt("manifest")
                .max_height(260.0)
                .show(ui, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut manifest.as_str())
                            .code_editor()
                            .desired_width(f32::INFINITY),
                    );
                });
        }
        ui.separator();
        if ui.button("Done").clicked() {
            self.wizard = Wizard::default();
            self.open(&ctx, id.map_or(Page::Clusters, Page::Cluster));
        }
    }
}

/// A role picker.
pub(super) fn role_combo_ui(
    ui: &mut egui::Ui,
    id: impl std::hash::Hash + std::fmt::Debug,
    role: &mut Role,
) {
    egui::ComboBox::from_id_salt(id)
        .selected_text(role.as_str())
        .show_ui(ui, |ui| {
            for r in [Role::Viewer, Role::Engineer, Role::Admin, Role::Owner] {
                ui.selectable_value(role, r, r.as_str());
            }
        });
}

/// The permission table, one row per action, from [`Role::least_for`].
pub(super) fn permissions_ui(ui: &mut egui::Ui) {
    let actions = [
        (
            Action::View,
            "see the cluster, status, cost, members, projects",
        ),
        (Action::CreateProject, "create projects"),
        (Action::IssueCredential, "issue ClickHouse credentials"),
        (Action::ManageCredentials, "rotate and revoke credentials"),
        (Action::Operate, "change, start and stop the cluster"),
        (
            Action::ManageMembers,
            "manage members (owners and admins: owners only)",
        ),
        (Action::DeleteProject, "delete projects"),
        (Action::ViewAudit, "read the cluster's audit log"),
        (Action::Delete, "delete the cluster"),
    ];
    egui::Grid::new("permissions").striped(true).show(ui, |ui| {
        ui.label("");
        for role in [Role::Viewer, Role::Engineer, Role::Admin, Role::Owner] {
            ui.strong(role.as_str());
        }
        ui.end_row();
        for (action, what) in actions {
            ui.label(what);
            for role in [Role::Viewer, Role::Engineer, Role::Admin, Role::Owner] {
                ui.label(if role.may(action) { "yes" } else { "–" });
            }
            ui.end_row();
        }
    });
}

/// "hot 100 GiB → 7 d → warm 500 GiB".
pub(super) fn tiers_text(tiers: &[TierConfig]) -> String {
    tiers
        .iter()
        .map(|t| match t.ttl_days {
            Some(days) => format!("{} {} GiB → {days} d →", t.tier.as_str(), t.size_gib),
            None => format!("{} {} GiB", t.tier.as_str(), t.size_gib),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The itemised estimate: compute, each tier, total.
pub(super) fn estimate_table_ui(ui: &mut egui::Ui, estimate: &CostEstimate) {
    let money = |v: f64| format!("{v:.2} {}", estimate.currency);
    egui::Grid::new("estimate").striped(true).show(ui, |ui| {
        ui.label(match estimate.nodes {
            1 => "Compute (1 node)".to_owned(),
            n => format!("Compute ({n} nodes)"),
        });
        ui.label(money(estimate.compute_monthly));
        ui.end_row();
        for tier in &estimate.storage {
            ui.label(format!(
                "{} storage, {} GiB",
                tier.tier.as_str(),
                tier.size_gib
            ));
            ui.label(money(tier.monthly));
            ui.end_row();
        }
        ui.strong("Total per month");
        ui.strong(money(estimate.total_monthly));
        ui.end_row();
    });
}
