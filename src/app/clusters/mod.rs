//! The Clusters view: everything an admin does with the control plane, in the window. This
//! module holds the view's state and its jobs; each page is drawn by its own module:
//! [`wizard`] (the four-step cluster wizard), [`cluster_ui`] (the cluster list and one
//! cluster's detail: nodes, use and cost, members, credentials, projects), [`account_ui`]
//! (sign-in to a remote control plane, the audit log, API tokens).
//!
//! By default the view talks to a control plane embedded in this process (a local SQLite
//! file, single user); signing in to a remote one keeps its session token in the OS keychain.
//! All I/O runs on the view's tokio runtime; a finished job sends back an [`Update`] (a
//! closure applied to the view on the UI thread) over a bounded channel and asks for a
//! repaint, so nothing here blocks the UI. A request refused because the session ended keeps
//! the page as it is and asks to sign in again.

mod account_ui;
mod cluster_ui;
mod wizard;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use crate::control::api::{Action, Cluster, ClusterState, ReferenceData, Role};
use crate::control::client::{ClientError, ControlClient};
use crate::control::embedded::Embedded;
use crate::secrets::Password;
use crate::source::clickhouse::ConnectionProfile;

use account_ui::SignIn;

/// A finished job's effect on the view, applied on the UI thread.
type Update = Box<dyn FnOnce(&mut ClustersPanel, &egui::Context) + Send>;

/// Where the control plane is.
enum Endpoint {
    Starting,
    Embedded(Box<Embedded>),
    Remote { client: ControlClient, url: String },
    Failed(String),
}

/// The page in front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    Clusters,
    Wizard,
    Cluster(i64),
    Audit,
    Tokens,
    SignIn,
}

/// What the view asks of the rest of the app.
#[derive(Debug)]
pub enum AppRequest {
    /// Add a connection (password to the keychain), test it, and explore it if `explore`.
    Connect {
        profile: ConnectionProfile,
        password: Password,
        explore: bool,
    },
    /// A credential's password changed here (rotated): connections of that keychain account
    /// (`user@host:port`) take the new one and are tested again.
    PasswordChanged { account: String, password: Password },
}

/// A ClickHouse password shown once, kept in memory for this session so that the view can
/// seed a project or open it in the explorer with it.
#[derive(Clone, Debug)]
struct KnownCredential {
    user: String,
    password: Password,
}

pub struct ClustersPanel {
    runtime: Option<tokio::runtime::Runtime>,
    data_dir: PathBuf,
    endpoint: Endpoint,
    /// The embedded control plane while a remote one is in use: it keeps supervising this
    /// computer's clusters, and "back to embedded" returns to it.
    embedded_in_background: Option<Box<Embedded>>,
    page: Page,
    reference: Option<ReferenceData>,
    clusters: Vec<Cluster>,
    /// Monthly estimate per cluster id, for the list.
    monthly: HashMap<i64, f64>,
    list: cluster_ui::ListState,
    wizard: wizard::Wizard,
    detail: Option<cluster_ui::Detail>,
    account: account_ui::AccountState,
    sign_in: SignIn,
    /// Passwords issued or rotated in this session, per cluster (newest last).
    known_credentials: HashMap<i64, Vec<KnownCredential>>,
    error: Option<String>,
    /// The remote session ended: the page stays, a sign-in is asked for.
    session_expired: bool,
    /// The page to go back to after signing in.
    return_to: Option<Page>,
    requests: Vec<AppRequest>,
    last_refresh: Option<Instant>,
    sender: SyncSender<Update>,
    inbox: Receiver<Update>,
}

impl std::fmt::Debug for ClustersPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClustersPanel")
            .field("page", &self.page)
            .field("clusters", &self.clusters.len())
            .finish_non_exhaustive()
    }
}

impl ClustersPanel {
    /// A view whose embedded control plane keeps its data under `data_dir`; nothing starts
    /// until it is first shown.
    pub fn new(data_dir: PathBuf) -> Self {
        let (sender, inbox) = sync_channel(64);
        Self {
            runtime: None,
            data_dir,
            endpoint: Endpoint::Starting,
            embedded_in_background: None,
            page: Page::Clusters,
            reference: None,
            clusters: Vec::new(),
            monthly: HashMap::new(),
            list: cluster_ui::ListState::default(),
            wizard: wizard::Wizard::default(),
            detail: None,
            account: account_ui::AccountState::default(),
            sign_in: SignIn::default(),
            known_credentials: HashMap::new(),
            error: None,
            session_expired: false,
            return_to: None,
            requests: Vec::new(),
            last_refresh: None,
            sender,
            inbox,
        }
    }

    /// Requests for the rest of the app (connections to add), taken once.
    pub fn take_requests(&mut self) -> Vec<AppRequest> {
        std::mem::take(&mut self.requests)
    }

    fn client(&self) -> Option<ControlClient> {
        match &self.endpoint {
            Endpoint::Embedded(embedded) => Some(embedded.client.clone()),
            Endpoint::Remote { client, .. } => Some(client.clone()),
            Endpoint::Starting | Endpoint::Failed(_) => None,
        }
    }

    fn runtime(&mut self) -> Option<&tokio::runtime::Runtime> {
        if self.runtime.is_none() {
            match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(runtime) => self.runtime = Some(runtime),
                Err(e) => {
                    self.endpoint = Endpoint::Failed(format!("cannot start the I/O runtime: {e}"));
                    return None;
                }
            }
        }
        self.runtime.as_ref()
    }

    /// Run `work` with the control plane's client on the view's runtime; `apply` takes its
    /// result on the UI thread. Without a control plane, nothing runs.
    fn run<T, F>(
        &mut self,
        ctx: &egui::Context,
        work: impl FnOnce(ControlClient) -> F,
        apply: impl FnOnce(&mut Self, &egui::Context, T) + Send + 'static,
    ) where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let Some(client) = self.client() else {
            return;
        };
        let future = work(client);
        self.spawn(ctx, future, apply);
    }

    fn spawn<T, F>(
        &mut self,
        ctx: &egui::Context,
        future: F,
        apply: impl FnOnce(&mut Self, &egui::Context, T) + Send + 'static,
    ) where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (sender, ctx) = (self.sender.clone(), ctx.clone());
        let Some(runtime) = self.runtime() else {
            return;
        };
        runtime.spawn(async move {
            let output = future.await;
            let update: Update = Box::new(move |panel, ctx| apply(panel, ctx, output));
            if sender.send(update).is_err() {
                tracing::debug!("a control-plane job finished after the view closed");
            }
            ctx.request_repaint();
        });
    }

    /// A sender for jobs that report more than once (deploy's states).
    fn updates(&self) -> SyncSender<Update> {
        self.sender.clone()
    }

    /// An API error: an ended session asks for a sign-in and keeps the page; anything else
    /// is shown.
    fn failed(&mut self, error: &ClientError) {
        if error.status() == Some(401) && matches!(self.endpoint, Endpoint::Remote { .. }) {
            self.session_expired = true;
            self.error =
                Some("your session ended: sign in again (this page stays as it is)".into());
        } else {
            self.error = Some(error.to_string());
        }
    }

    fn refresh(&mut self, ctx: &egui::Context) {
        self.last_refresh = Some(Instant::now());
        self.run(
            ctx,
            |client| async move { client.clusters().await },
            |panel, ctx, result| match result {
                Ok(clusters) => {
                    panel.clusters = clusters;
                    panel.fetch_costs(ctx);
                }
                Err(e) => panel.failed(&e),
            },
        );
        if self.reference.is_none() {
            self.run(
                ctx,
                |client| async move { client.reference().await },
                |panel, _, result| match result {
                    Ok(reference) => panel.reference = Some(reference),
                    Err(e) => panel.failed(&e),
                },
            );
        }
    }

    /// The monthly estimate of every listed cluster, for the list's cost column.
    fn fetch_costs(&mut self, ctx: &egui::Context) {
        let configs: Vec<_> = self
            .clusters
            .iter()
            .map(|c| (c.id, c.config.clone()))
            .collect();
        self.run(
            ctx,
            |client| async move {
                let mut costs = Vec::with_capacity(configs.len());
                for (id, config) in configs {
                    match client.estimate(&config).await {
                        Ok(estimate) => costs.push((id, estimate.total_monthly)),
                        Err(e) => tracing::warn!(cluster_id = id, error = %e, "no estimate"),
                    }
                }
                costs
            },
            |panel, _, costs| panel.monthly.extend(costs),
        );
    }

    fn receive(&mut self, ctx: &egui::Context) {
        while let Ok(update) = self.inbox.try_recv() {
            update(self, ctx);
        }
    }

    fn start_embedded(&mut self, ctx: &egui::Context) {
        if let Some(embedded) = self.embedded_in_background.take() {
            self.endpoint = Endpoint::Embedded(embedded);
            self.reference = None;
            self.refresh(ctx);
            return;
        }
        if matches!(self.endpoint, Endpoint::Embedded(_)) {
            return;
        }
        let dir = self.data_dir.clone();
        self.endpoint = Endpoint::Starting;
        self.spawn(
            ctx,
            async move { Embedded::start(dir).await },
            |panel, ctx, result| match result {
                Ok(embedded) => {
                    panel.endpoint = Endpoint::Embedded(Box::new(embedded));
                    panel.refresh(ctx);
                }
                Err(e) => panel.endpoint = Endpoint::Failed(e.to_string()),
            },
        );
    }

    /// Signed in to a remote control plane: its client replaces the current one; the page
    /// the user was on stays.
    fn use_remote(&mut self, ctx: &egui::Context, url: String, client: ControlClient) {
        let previous = std::mem::replace(&mut self.endpoint, Endpoint::Remote { client, url });
        if let Endpoint::Embedded(embedded) = previous {
            self.embedded_in_background = Some(embedded);
        }
        self.session_expired = false;
        self.error = None;
        self.reference = None;
        let back = self.return_to.take().unwrap_or(Page::Clusters);
        if self.page == Page::SignIn {
            self.open(ctx, back);
        } else {
            self.refresh(ctx);
        }
    }

    /// Remember a password shown once, for this session.
    fn remember_credential(&mut self, cluster_id: i64, user: &str, password: &str) {
        let known = self.known_credentials.entry(cluster_id).or_default();
        known.retain(|k| k.user != user);
        known.push(KnownCredential {
            user: user.to_owned(),
            password: Password::new(password.to_owned()),
        });
    }

    fn forget_credential(&mut self, cluster_id: i64, user: &str) {
        if let Some(known) = self.known_credentials.get_mut(&cluster_id) {
            known.retain(|k| k.user != user);
        }
    }

    /// The newest password of this session for cluster `id`.
    fn known_credential(&self, id: i64) -> Option<&KnownCredential> {
        self.known_credentials.get(&id).and_then(|k| k.last())
    }

    /// Ask the app to add a connection to cluster `id`'s first node as `credential`, in
    /// `database`; `explore` opens it in the explorer once tested.
    fn connect_to(
        &mut self,
        id: i64,
        http_port: u16,
        credential: &KnownCredential,
        database: &str,
        explore: bool,
    ) {
        let name = self
            .clusters
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| format!("cluster {id}"), |c| c.config.name.clone());
        let mut profile = ConnectionProfile::new(
            format!("http://127.0.0.1:{http_port}"),
            database,
            credential.user.as_str(),
        );
        profile.name = format!("{name} ({})", credential.user);
        self.requests.push(AppRequest::Connect {
            profile,
            password: credential.password.clone(),
            explore,
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
        self.header_ui(ui);
        if let Some(error) = self.error.clone() {
            ui.horizontal_wrapped(|ui| {
                ui.add(
                    egui::Label::new(egui::RichText::new(error).color(ui.visuals().error_fg_color))
                        .wrap(),
                );
                if self.session_expired && ui.small_button("Sign in again").clicked() {
                    self.open(&ctx, Page::SignIn);
                }
                if ui.small_button("Dismiss").clicked() {
                    self.error = None;
                }
            });
        }
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("clusters page")
            .auto_shrink([false, false])
            .show(ui, |ui| match self.page {
                Page::Clusters => self.cluster_list_ui(ui),
                Page::Wizard => self.wizard_ui(ui),
                Page::Cluster(id) => self.cluster_detail_ui(ui, id),
                Page::Audit => self.audit_ui(ui),
                Page::Tokens => self.tokens_ui(ui),
                Page::SignIn => self.sign_in_ui(ui),
            });
    }

    fn header_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.horizontal(|ui| {
            ui.label("Control plane:");
            match &self.endpoint {
                Endpoint::Starting => {
                    ui.spinner();
                    ui.label("starting the embedded control plane…");
                }
                Endpoint::Embedded(embedded) => {
                    ui.label(format!(
                        "embedded (this computer, {}, {})",
                        embedded.url(),
                        embedded.db_path.display()
                    ));
                }
                Endpoint::Remote { url, .. } => {
                    ui.label(format!("remote ({url})"));
                }
                Endpoint::Failed(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, e.clone());
                }
            }
            if ui.button("Refresh").clicked() {
                self.open(&ctx, self.page);
            }
            if self.session_expired {
                ui.colored_label(ui.visuals().warn_fg_color, "session ended");
            }
        });
        ui.horizontal(|ui| {
            for (page, title) in [
                (Page::Clusters, "All clusters"),
                (Page::Wizard, "New cluster…"),
                (Page::Audit, "Audit log"),
                (Page::Tokens, "API tokens"),
                (Page::SignIn, "Sign in…"),
            ] {
                let current = self.page == page
                    || (page == Page::Clusters && matches!(self.page, Page::Cluster(_)));
                if ui.selectable_label(current, title).clicked() {
                    self.open(&ctx, page);
                }
            }
        });
    }

    /// Show `page`, loading what it lists.
    fn open(&mut self, ctx: &egui::Context, page: Page) {
        if page == Page::SignIn && self.page != Page::SignIn {
            self.return_to = Some(self.page);
        }
        self.page = page;
        match page {
            Page::Clusters => self.refresh(ctx),
            Page::Cluster(id) => self.load_detail(ctx, id),
            Page::Audit => self.load_audit(ctx),
            Page::Tokens => self.load_tokens(ctx),
            Page::Wizard => {
                // A finished deploy was seen: a new cluster starts from a fresh wizard.
                if self.wizard.deploy.as_ref().is_some_and(|d| d.finished) {
                    self.wizard = wizard::Wizard::default();
                }
            }
            Page::SignIn => {}
        }
    }
}

/// Wait (at most 30 s) until the node on `port` accepts `issued`: nodes reload their users
/// within seconds of a change, and a password shown before that would be refused.
async fn wait_until_accepted(port: u16, issued: &crate::control::api::IssuedCredential) {
    let profile = ConnectionProfile::new(
        format!("http://127.0.0.1:{port}"),
        "default",
        issued.credential.user.as_str(),
    );
    let password = Password::new(issued.password.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    while crate::source::clickhouse::Connection::open(profile.clone(), Some(password.clone()))
        .await
        .is_err()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A button that is enabled only when `role` may do `action`; otherwise its tooltip says why.
/// The server enforces the same table.
fn action_button(
    ui: &mut egui::Ui,
    role: Option<Role>,
    action: Action,
    button: impl egui::Widget,
) -> egui::Response {
    gated_button(ui, role, action, None, button)
}

/// [`action_button`] that is also disabled while `blocked` says why the action does not apply
/// now (a running cluster cannot be started).
fn gated_button(
    ui: &mut egui::Ui,
    role: Option<Role>,
    action: Action,
    blocked: Option<String>,
    button: impl egui::Widget,
) -> egui::Response {
    let least = Role::least_for(action);
    let refusal = match role {
        Some(role) if role.may(action) => None,
        Some(role) => Some(format!(
            "Your role here is {}; this needs {} or above.",
            role.as_str(),
            least.as_str()
        )),
        None => Some(format!("This needs the {} role or above.", least.as_str())),
    };
    let why = refusal.or(blocked);
    let response = ui.add_enabled(why.is_none(), button);
    match why {
        Some(why) => response.on_disabled_hover_text(why),
        None => response,
    }
}

/// A password or token shown once: monospace, with Copy.
fn secret_once_ui(ui: &mut egui::Ui, what: &str, secret: &str) {
    ui.group(|ui| {
        ui.strong(format!("{what} — shown this once"));
        ui.horizontal(|ui| {
            ui.monospace(secret);
            if ui.button("Copy").clicked() {
                ui.ctx().copy_text(secret.to_owned());
            }
        });
    });
}

/// A cluster state in its colour.
fn state_badge_ui(ui: &mut egui::Ui, state: ClusterState) -> egui::Response {
    let colour = match state {
        ClusterState::Running => egui::Color32::from_rgb(60, 170, 90),
        ClusterState::Degraded | ClusterState::Provisioning | ClusterState::Deleting => {
            ui.visuals().warn_fg_color
        }
        ClusterState::Failed => ui.visuals().error_fg_color,
        ClusterState::Stopped | ClusterState::Deleted => ui.visuals().weak_text_color(),
    };
    ui.colored_label(colour, state.as_str())
}
