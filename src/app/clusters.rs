//! The Clusters view: the control plane's clusters, their states and the caller's role, and a
//! short form to create one. By default it talks to a control plane embedded in this process
//! (a local SQLite file, single user); "Remote" switches to another server by URL and token.
//! All I/O runs on the panel's tokio runtime; results come back over a bounded channel and ask
//! for a repaint, so [`ClustersPanel::ui`] never blocks.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::{Duration, Instant};

use crate::control::api::{Cluster, ClusterConfig, ClusterState, ProviderKind, Tier, TierConfig};
use crate::control::client::ControlClient;
use crate::control::embedded::Embedded;

/// What a background task reports.
enum Message {
    Embedded(Result<Box<Embedded>, String>),
    Clusters(Result<Vec<Cluster>, String>),
    Created(Result<Cluster, String>),
}

/// Where the control plane is.
enum Endpoint {
    Starting,
    Embedded(Box<Embedded>),
    Remote(ControlClient),
    Failed(String),
}

/// The new-cluster form.
struct Draft {
    name: String,
    provider: ProviderKind,
    shards: u32,
    replicas: u32,
}

pub struct ClustersPanel {
    runtime: Option<tokio::runtime::Runtime>,
    data_dir: PathBuf,
    endpoint: Endpoint,
    remote_url: String,
    remote_token: String,
    clusters: Vec<Cluster>,
    error: Option<String>,
    draft: Draft,
    busy: bool,
    last_refresh: Option<Instant>,
    sender: SyncSender<Message>,
    inbox: Receiver<Message>,
}

impl std::fmt::Debug for ClustersPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClustersPanel")
            .field("clusters", &self.clusters.len())
            .finish_non_exhaustive()
    }
}

impl ClustersPanel {
    /// A panel whose embedded control plane keeps its data under `data_dir`; nothing starts
    /// until it is first shown.
    pub fn new(data_dir: PathBuf) -> Self {
        let (sender, inbox) = sync_channel(16);
        Self {
            runtime: None,
            data_dir,
            endpoint: Endpoint::Starting,
            remote_url: "http://127.0.0.1:7878".into(),
            remote_token: String::new(),
            clusters: Vec::new(),
            error: None,
            draft: Draft {
                name: String::new(),
                provider: ProviderKind::Local,
                shards: 1,
                replicas: 1,
            },
            busy: false,
            last_refresh: None,
            sender,
            inbox,
        }
    }

    fn client(&self) -> Option<ControlClient> {
        match &self.endpoint {
            Endpoint::Embedded(embedded) => Some(embedded.client.clone()),
            Endpoint::Remote(client) => Some(client.clone()),
            Endpoint::Starting | Endpoint::Failed(_) => None,
        }
    }

    /// Run `task` on the panel's runtime and deliver its message with a repaint.
    fn spawn<F>(&mut self, ctx: &egui::Context, task: F)
    where
        F: Future<Output = Message> + Send + 'static,
    {
        if self.runtime.is_none() {
            match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(runtime) => self.runtime = Some(runtime),
                Err(e) => {
                    self.endpoint = Endpoint::Failed(format!("cannot start the I/O runtime: {e}"));
                    return;
                }
            }
        }
        let (sender, ctx) = (self.sender.clone(), ctx.clone());
        if let Some(runtime) = &self.runtime {
            runtime.spawn(async move {
                // The panel may be gone; then nobody is waiting.
                let _ = sender.send(task.await);
                ctx.request_repaint();
            });
        }
    }

    fn refresh(&mut self, ctx: &egui::Context) {
        if let Some(client) = self.client() {
            self.last_refresh = Some(Instant::now());
            self.spawn(ctx, async move {
                Message::Clusters(client.clusters().await.map_err(|e| e.to_string()))
            });
        }
    }

    fn receive(&mut self, ctx: &egui::Context) {
        loop {
            let message = match self.inbox.try_recv() {
                Ok(message) => message,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            };
            match message {
                Message::Embedded(Ok(embedded)) => {
                    self.endpoint = Endpoint::Embedded(embedded);
                    self.refresh(ctx);
                }
                Message::Embedded(Err(e)) => self.endpoint = Endpoint::Failed(e),
                Message::Clusters(Ok(clusters)) => {
                    self.clusters = clusters;
                    self.error = None;
                }
                Message::Clusters(Err(e)) => self.error = Some(e),
                Message::Created(result) => {
                    self.busy = false;
                    match result {
                        Ok(_) => {
                            self.draft.name.clear();
                            self.refresh(ctx);
                        }
                        Err(e) => self.error = Some(e),
                    }
                }
            }
        }
    }

    fn start_embedded(&mut self, ctx: &egui::Context) {
        let dir = self.data_dir.clone();
        self.endpoint = Endpoint::Starting;
        self.spawn(ctx, async move {
            Message::Embedded(
                Embedded::start(dir)
                    .await
                    .map(Box::new)
                    .map_err(|e| e.to_string()),
            )
        });
    }

    fn create(&mut self, ctx: &egui::Context) {
        let Some(client) = self.client() else {
            return;
        };
        let config = ClusterConfig {
            name: self.draft.name.trim().to_owned(),
            cluster_type: "process_curves".into(),
            region: if self.draft.provider == ProviderKind::Local {
                "local"
            } else {
                "eu-central"
            }
            .into(),
            provider: self.draft.provider,
            shards: self.draft.shards,
            replicas: self.draft.replicas,
            cpu_per_node: 2,
            memory_gib_per_node: 8,
            tiers: vec![TierConfig {
                tier: Tier::Hot,
                size_gib: 100,
                ttl_days: None,
            }],
            allowed_networks: Vec::new(),
        };
        self.busy = true;
        self.spawn(ctx, async move {
            Message::Created(
                client
                    .create_cluster(&config)
                    .await
                    .map_err(|e| e.to_string()),
            )
        });
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if matches!(self.endpoint, Endpoint::Starting) && self.runtime.is_none() {
            self.start_embedded(&ctx);
        }
        self.receive(&ctx);
        // Follow clusters that are still changing state.
        let changing = self
            .clusters
            .iter()
            .any(|c| matches!(c.state, ClusterState::Provisioning | ClusterState::Deleting));
        if changing
            && self
                .last_refresh
                .is_none_or(|t| t.elapsed() > Duration::from_secs(1))
        {
            self.refresh(&ctx);
        }
        if changing {
            ctx.request_repaint_after(Duration::from_secs(1));
        }

        ui.horizontal(|ui| {
            ui.label("Control plane:");
            match &self.endpoint {
                Endpoint::Starting => {
                    ui.spinner();
                    ui.label("starting the embedded control plane…");
                }
                Endpoint::Embedded(embedded) => {
                    ui.label(format!(
                        "embedded (this computer, {})",
                        embedded.db_path.display()
                    ));
                }
                Endpoint::Remote(_) => {
                    ui.label(format!("remote ({})", self.remote_url));
                }
                Endpoint::Failed(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, e.clone());
                }
            }
            if ui.button("Refresh").clicked() {
                self.refresh(&ctx);
            }
        });
        ui.collapsing("Use a remote control plane", |ui| {
            ui.horizontal(|ui| {
                ui.label("URL");
                ui.text_edit_singleline(&mut self.remote_url);
                ui.label("Token");
                ui.add(egui::TextEdit::singleline(&mut self.remote_token).password(true));
                if ui.button("Connect").clicked() {
                    self.endpoint = Endpoint::Remote(
                        ControlClient::new(self.remote_url.trim())
                            .with_token(self.remote_token.trim()),
                    );
                    self.refresh(&ctx);
                }
                if ui.button("Back to embedded").clicked() {
                    self.start_embedded(&ctx);
                }
            });
        });
        ui.separator();

        ui.heading("New cluster");
        ui.horizontal(|ui| {
            ui.label("Name");
            ui.add(egui::TextEdit::singleline(&mut self.draft.name).hint_text("line-1"));
            ui.selectable_value(
                &mut self.draft.provider,
                ProviderKind::Local,
                "Local (runs here)",
            );
            ui.selectable_value(
                &mut self.draft.provider,
                ProviderKind::Kubernetes,
                "Kubernetes manifest",
            );
            ui.label("Shards");
            ui.add(egui::DragValue::new(&mut self.draft.shards).range(1..=16));
            ui.label("Replicas");
            ui.add(egui::DragValue::new(&mut self.draft.replicas).range(1..=3));
            let ready = !self.busy
                && !self.draft.name.trim().is_empty()
                && matches!(self.endpoint, Endpoint::Embedded(_) | Endpoint::Remote(_));
            if ui
                .add_enabled(ready, egui::Button::new("Create cluster"))
                .clicked()
            {
                self.create(&ctx);
            }
            if self.busy {
                ui.spinner();
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        ui.separator();

        if self.clusters.is_empty() {
            ui.label("No clusters yet.");
        }
        egui::Grid::new("clusters").striped(true).show(ui, |ui| {
            for heading in ["Name", "State", "Your role", "Layout", "Region", ""] {
                ui.strong(heading);
            }
            ui.end_row();
            for cluster in &self.clusters {
                ui.label(&cluster.config.name);
                ui.label(cluster.state.as_str());
                ui.label(cluster.role.as_str());
                ui.label(format!(
                    "{} × {}",
                    cluster.config.shards, cluster.config.replicas
                ));
                ui.label(&cluster.config.region);
                ui.label(cluster.state_reason.clone().unwrap_or_default());
                ui.end_row();
            }
        });
    }
}
