//! The Connections view: ClickHouse servers the user adds, tests and removes. A test opens a
//! real [`Connection`] (authentication and capability detection) on the panel's tokio runtime
//! and shows the server's version and what Lyceum will use, or the library's error in words a
//! person can act on. Passwords go to the OS keychain as the CLI stores them; where there is no
//! keychain the panel says so and keeps the password for this session only. Profiles hold no
//! secret. [`ConnectionsPanel`] is the view's state.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::explorer::{Explorer, SavedSource};
use super::import::ImportTarget;
use super::shell::Pane;
use crate::secrets::{self, Password};
use crate::source::clickhouse::connection::CompressionChoice;
use crate::source::clickhouse::{Connection, ConnectionProfile};

/// A test's outcome for the connection at `index`.
struct Tested {
    index: usize,
    /// Name, URL and user at the time of the test: a removed or edited entry ignores it.
    account: String,
    result: Result<(String, Box<Connection>), String>,
}

/// One connection in the list.
#[derive(Debug)]
struct Entry {
    profile: ConnectionProfile,
    /// Kept here only where no keychain could take it.
    session_password: Option<Password>,
    status: Status,
}

#[derive(Debug)]
enum Status {
    Untested,
    Testing,
    /// Version and features, and the open connection.
    Ok(String, Box<Connection>),
    Failed(String),
}

/// The add-connection form.
#[derive(Debug)]
struct Draft {
    url: String,
    user: String,
    database: String,
    password: String,
    /// HTTPS: a PEM file of the server's certificate authority; empty for the public roots.
    ca_file: String,
    /// While editing: the server takes no password, so forget the stored one (an empty
    /// field otherwise keeps it).
    no_password: bool,
    compression: CompressionChoice,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            url: "http://localhost:8123".to_owned(),
            user: "default".to_owned(),
            database: "lyceum_demo".to_owned(),
            password: String::new(),
            ca_file: String::new(),
            no_password: false,
            compression: CompressionChoice::Auto,
        }
    }
}

/// The Connections view.
pub struct ConnectionsPanel {
    runtime: Option<tokio::runtime::Runtime>,
    entries: Vec<Entry>,
    /// Browsing one connection's tables, mapping one, its curves (shown in its own pane).
    explorer: Option<Explorer>,
    /// Set when the user asked to explore a connection, until the shell shows the explorer.
    explore_requested: bool,
    /// The account to explore as soon as its test passes (a connection added by the
    /// Clusters view's "Open in explorer").
    explore_after_test: Option<String>,
    /// The entry the form edits, if any (else the form adds one).
    editing: Option<usize>,
    /// Tables mapped to curves and saved by name (kept with the app's state).
    sources: Vec<SavedSource>,
    draft: Draft,
    /// A message about the form or the keychain.
    note: Option<String>,
    sender: SyncSender<Tested>,
    inbox: Receiver<Tested>,
}

impl std::fmt::Debug for ConnectionsPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionsPanel")
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

impl Default for ConnectionsPanel {
    fn default() -> Self {
        let (sender, inbox) = sync_channel(16);
        Self {
            runtime: None,
            entries: Vec::new(),
            explorer: None,
            explore_requested: false,
            explore_after_test: None,
            editing: None,
            sources: Vec::new(),
            draft: Draft::default(),
            note: None,
            sender,
            inbox,
        }
    }
}

/// "ClickHouse 26.9 — uses: TTL, codecs; not on this server: storage policies".
fn describe(connection: &Connection) -> String {
    let caps = connection.capabilities();
    let (on, off): (Vec<_>, Vec<_>) = caps.describe().into_iter().partition(|(_, on)| *on);
    let names = |features: Vec<(&str, bool)>| {
        features
            .into_iter()
            .map(|(feature, _)| feature)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("ClickHouse {}", caps.version);
    if !on.is_empty() {
        text.push_str(&format!(" — uses: {}", names(on)));
    }
    if !off.is_empty() {
        text.push_str(&format!(" — not on this server: {}", names(off)));
    }
    text
}

impl ConnectionsPanel {
    /// The form's connection, added or (while editing) in place of the one edited: password
    /// to the keychain (or kept for the session), then tested. An edit with no password
    /// keeps the one stored.
    fn submit(&mut self, ctx: &egui::Context) {
        let ca_file = self.draft.ca_file.trim();
        let profile = ConnectionProfile {
            ca_file: (!ca_file.is_empty()).then(|| ca_file.into()),
            compression: self.draft.compression,
            ..ConnectionProfile::new(
                self.draft.url.trim(),
                self.draft.database.trim(),
                self.draft.user.trim(),
            )
        };
        if let Err(e) = profile.validate() {
            self.note = Some(e.to_string());
            return;
        }
        let password = (!self.draft.password.is_empty())
            .then(|| Password::new(std::mem::take(&mut self.draft.password)));
        let editing = self.editing.take().filter(|&i| i < self.entries.len());
        let mut session_password = editing.and_then(|i| self.entries[i].session_password.clone());
        self.note = None;
        if std::mem::take(&mut self.draft.no_password) {
            session_password = None;
            if let Err(e) = secrets::use_platform_store()
                .and_then(|_| secrets::delete_password(&profile.keychain_account()))
            {
                tracing::debug!(error = %e, "no stored password to forget");
            }
        }
        if let Some(password) = password {
            session_password = self.keep_password(&profile, password);
        }
        let entry = Entry {
            profile,
            session_password,
            status: Status::Untested,
        };
        let index = self.put_entry(entry, editing);
        self.test(ctx, index);
    }

    /// `entry` in place of entry `replacing`, or added; its index.
    fn put_entry(&mut self, entry: Entry, replacing: Option<usize>) -> usize {
        match replacing {
            Some(index) => {
                self.entries[index] = entry;
                index
            }
            None => {
                self.entries.push(entry);
                self.entries.len() - 1
            }
        }
    }

    /// `password` into the OS keychain for `profile`; where there is none, said so and
    /// returned, to be kept for this session only.
    fn keep_password(
        &mut self,
        profile: &ConnectionProfile,
        password: Password,
    ) -> Option<Password> {
        match secrets::use_platform_store()
            .and_then(|_| secrets::store_password(&profile.keychain_account(), &password))
        {
            Ok(()) => None,
            Err(e) => {
                self.note = Some(format!(
                    "no keychain ({e}): the password is kept for this session only"
                ));
                Some(password)
            }
        }
    }

    /// A password changed elsewhere (a credential rotated in the Clusters view): every
    /// connection of keychain account `account` takes it and is tested again (the explorer of
    /// one goes on with it).
    pub fn password_changed(&mut self, ctx: &egui::Context, account: &str, password: Password) {
        let matching: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].profile.keychain_account() == account)
            .collect();
        let Some(&first) = matching.first() else {
            return;
        };
        let profile = self.entries[first].profile.clone();
        let session_password = self.keep_password(&profile, password);
        for index in matching {
            self.entries[index].session_password = session_password.clone();
            self.test(ctx, index);
        }
    }

    /// A connection made elsewhere (a new cluster's credential): password to the keychain,
    /// replacing a connection with the same account, then tested; `explore` opens it in the
    /// explorer once the test passes.
    pub fn add_connection(
        &mut self,
        ctx: &egui::Context,
        profile: ConnectionProfile,
        password: Password,
        explore: bool,
    ) {
        let account = profile.keychain_account();
        let session_password = self.keep_password(&profile, password);
        let entry = Entry {
            profile,
            session_password,
            status: Status::Untested,
        };
        let same = self
            .entries
            .iter()
            .position(|e| e.profile.keychain_account() == account);
        let index = self.put_entry(entry, same);
        self.explore_after_test = explore.then_some(account);
        self.test(ctx, index);
    }

    /// Put entry `index` into the form for editing (its password stays where it is).
    fn edit(&mut self, index: usize) {
        if let Some(entry) = self.entries.get(index) {
            self.draft = Draft {
                url: entry.profile.url.clone(),
                user: entry.profile.user.clone(),
                database: entry.profile.database.clone(),
                password: String::new(),
                no_password: false,
                compression: entry.profile.compression,
                ca_file: entry
                    .profile
                    .ca_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            };
            self.editing = Some(index);
            self.note = Some(format!(
                "Editing {}: leave the password empty to keep the stored one (or tick No password).",
                entry.profile.keychain_account()
            ));
        }
    }

    /// Connect to entry `index` in the background: version and capabilities, or the error.
    fn test(&mut self, ctx: &egui::Context, index: usize) {
        if self.runtime.is_none() {
            match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(runtime) => self.runtime = Some(runtime),
                Err(e) => {
                    self.note = Some(format!("cannot start the I/O runtime: {e}"));
                    return;
                }
            }
        }
        let Some(entry) = self.entries.get_mut(index) else {
            return;
        };
        entry.status = Status::Testing;
        let profile = entry.profile.clone();
        let account = profile.keychain_account();
        let session_password = entry.session_password.clone();
        let (sender, ctx) = (self.sender.clone(), ctx.clone());
        let Some(runtime) = &self.runtime else {
            return;
        };
        let panicked = {
            let account = account.clone();
            move |panic: String| Tested {
                index,
                account,
                result: Err(format!("the test stopped: {panic}")),
            }
        };
        let work = async move {
            let password = session_password.or_else(|| {
                secrets::use_platform_store()
                    .and_then(|_| secrets::load_password(&profile.keychain_account()))
                    .unwrap_or_else(|e| {
                        // No keychain and no session password: try without one.
                        tracing::debug!(error = %e, "no keychain for a connection test");
                        None
                    })
            });
            let result = Connection::open(profile, password)
                .await
                .map(|c| (describe(&c), Box::new(c)))
                .map_err(|e| e.to_string());
            if let Err(error) = &result {
                tracing::info!(%account, %error, "connection test failed");
            }
            Tested {
                index,
                account,
                result,
            }
        };
        super::spawn_caught(runtime.handle(), work, panicked, move |tested| {
            if sender.send(tested).is_err() {
                tracing::debug!("a connection test finished after the view closed");
            }
            ctx.request_repaint();
        });
    }

    /// Take in test results and the explorer's messages; called every frame, shown or not.
    pub fn poll(&mut self, ctx: &egui::Context) {
        self.receive(ctx);
        if let Some(explorer) = &mut self.explorer {
            explorer.receive(ctx);
        }
    }

    /// The saved connections (no secrets), for the app's storage.
    pub fn profiles(&self) -> Vec<ConnectionProfile> {
        self.entries.iter().map(|e| e.profile.clone()).collect()
    }

    /// Connections saved by an earlier session, untested until the user tests them (their
    /// passwords stay in the keychain).
    pub fn restore(&mut self, profiles: Vec<ConnectionProfile>) {
        self.entries = profiles
            .into_iter()
            .map(|profile| Entry {
                profile,
                session_password: None,
                status: Status::Untested,
            })
            .collect();
    }

    /// The saved sources, for the app's storage.
    pub fn sources(&self) -> &[SavedSource] {
        &self.sources
    }

    /// Sources saved by an earlier session.
    pub fn restore_sources(&mut self, sources: Vec<SavedSource>) {
        self.sources = sources;
    }

    /// The saved sources in the sources panel: a click opens one in the explorer
    /// (`Some(true)`: show the explorer) when its connection has been tested; otherwise the
    /// Connections view says to test it first (`Some(false)`: show that view).
    pub fn saved_sources_ui(&mut self, ui: &mut egui::Ui) -> Option<bool> {
        if self.sources.is_empty() {
            ui.weak("none saved yet");
        }
        let mut open = None;
        let mut forget = None;
        for (index, source) in self.sources.iter().enumerate() {
            ui.horizontal(|ui| {
                let hover = format!(
                    "{} · {}.{}",
                    source.connection, source.database, source.table
                );
                if ui
                    .add(egui::Button::new(source.name.as_str()).frame(false))
                    .on_hover_text(hover)
                    .clicked()
                {
                    open = Some(index);
                }
                if ui.small_button("Forget").clicked() {
                    forget = Some(index);
                }
            });
        }
        if let Some(index) = forget {
            self.sources.remove(index);
            return None;
        }
        let source = open.and_then(|i| self.sources.get(i)).cloned()?;
        let connection = self.entries.iter().find_map(|e| match &e.status {
            Status::Ok(_, c) if e.profile.keychain_account() == source.connection => {
                Some(c.as_ref().clone())
            }
            _ => None,
        });
        match (connection, &self.runtime) {
            (Some(connection), Some(runtime)) => {
                let runtime = runtime.handle().clone();
                self.explorer = Some(Explorer::with_source(connection, runtime, ui.ctx(), source));
                Some(true)
            }
            _ => {
                self.note = Some(format!(
                    "Test the connection {} first: the source {} reads through it.",
                    source.connection, source.name
                ));
                Some(false)
            }
        }
    }

    pub fn explorer(&self) -> Option<&Explorer> {
        self.explorer.as_ref()
    }

    pub fn explorer_mut(&mut self) -> Option<&mut Explorer> {
        self.explorer.as_mut()
    }

    /// Where imports go: the connection last explored, else the first that tested well.
    pub fn import_target(&self) -> Option<ImportTarget> {
        let runtime = self.runtime.as_ref()?.handle().clone();
        let connection = self
            .explorer
            .as_ref()
            .map(|e| e.connection().clone())
            .or_else(|| {
                self.entries.iter().find_map(|e| match &e.status {
                    Status::Ok(_, connection) => Some(connection.as_ref().clone()),
                    _ => None,
                })
            })?;
        Some(ImportTarget {
            connection,
            runtime,
        })
    }

    /// Whether the user asked to explore a connection since the last call.
    pub fn take_explore_request(&mut self) -> bool {
        std::mem::take(&mut self.explore_requested)
    }

    /// The connections in the sources panel: name and state dot; under the explored one its
    /// databases and tables. A click on a tested
    /// connection explores it; on any other, asks for the Connections view.
    pub fn sources_ui(&mut self, ui: &mut egui::Ui) -> Option<Pane> {
        let mut show = None;
        if self.entries.is_empty() {
            ui.weak("none yet");
        }
        let explored = self
            .explorer
            .as_ref()
            .map(|e| e.connection().profile().keychain_account());
        let mut explore = None;
        for entry in &self.entries {
            let visuals = ui.visuals();
            let (colour, state) = match &entry.status {
                Status::Untested => (visuals.weak_text_color(), "not tested".to_owned()),
                Status::Testing => (visuals.warn_fg_color, "connecting".to_owned()),
                Status::Ok(description, _) => {
                    (egui::Color32::from_rgb(60, 170, 90), description.clone())
                }
                Status::Failed(error) => {
                    (visuals.error_fg_color, format!("cannot connect: {error}"))
                }
            };
            let clicked = ui
                .horizontal(|ui| {
                    // A state dot drawn, not a glyph: every font has it.
                    let (dot, _) =
                        ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter().circle_filled(dot.center(), 4.0, colour);
                    ui.add(egui::Button::new(entry.profile.name.as_str()).frame(false))
                        .on_hover_text(state)
                        .clicked()
                })
                .inner;
            let is_explored = explored.as_deref() == Some(&entry.profile.keychain_account());
            if is_explored && let Some(explorer) = &mut self.explorer {
                ui.indent(("source tree", entry.profile.name.as_str()), |ui| {
                    if explorer.tree_ui(ui) {
                        show = Some(Pane::Explorer);
                    }
                });
            }
            if clicked {
                match &entry.status {
                    Status::Ok(_, connection) if !is_explored => {
                        explore = Some(connection.as_ref().clone());
                    }
                    Status::Ok(..) => show = Some(Pane::Explorer),
                    _ => show = Some(Pane::Connections),
                }
            }
        }
        if let (Some(connection), Some(runtime)) = (explore, &self.runtime) {
            self.explorer = Some(Explorer::new(
                connection,
                runtime.handle().clone(),
                ui.ctx(),
            ));
            show = Some(Pane::Explorer);
        }
        show
    }

    /// The explorer pane: the explorer of the connection last explored, or how to get one.
    pub fn explorer_ui(&mut self, ui: &mut egui::Ui) {
        match &mut self.explorer {
            Some(explorer) => {
                explorer.ui(ui);
                if let Some(source) = explorer.take_saved_source() {
                    // A new source of the same name replaces the old one.
                    self.sources.retain(|s| s.name != source.name);
                    self.sources.push(source);
                }
            }
            None => {
                ui.label(
                    "Add a ClickHouse server under Connections (or pick a saved one), test it, \
                     then press Explore: its databases and tables open here.",
                );
            }
        }
    }

    /// The SQL view over the explored connection.
    pub fn sql_ui(&mut self, ui: &mut egui::Ui) {
        match &mut self.explorer {
            Some(explorer) => {
                if explorer.sql_ui(ui) {
                    self.explore_requested = true;
                }
            }
            None => {
                ui.label(
                    "Explore a ClickHouse server (Connections, then Explore): its data can be \
                     asked anything here, in SQL or with the query builder.",
                );
            }
        }
    }

    fn receive(&mut self, ctx: &egui::Context) {
        while let Ok(tested) = self.inbox.try_recv() {
            let Some(entry) = self
                .entries
                .get_mut(tested.index)
                .filter(|e| e.profile.keychain_account() == tested.account)
            else {
                continue;
            };
            let explore = self.explore_after_test.as_ref() == Some(&tested.account);
            if explore {
                self.explore_after_test = None;
            }
            entry.status = match tested.result {
                Ok((description, connection)) => {
                    // The explored server tested again (a password changed): the explorer
                    // goes on with the new credentials.
                    if let Some(explorer) = &mut self.explorer
                        && explorer.connection().profile().keychain_account() == tested.account
                    {
                        explorer.replace_connection(connection.as_ref().clone());
                    }
                    if explore && let Some(runtime) = &self.runtime {
                        self.explorer = Some(Explorer::new(
                            connection.as_ref().clone(),
                            runtime.handle().clone(),
                            ctx,
                        ));
                        self.explore_requested = true;
                    }
                    Status::Ok(description, connection)
                }
                Err(error) => Status::Failed(error),
            };
        }
    }

    /// The view: the add form, then each connection with its state and actions.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        egui::Grid::new("new connection")
            .num_columns(2)
            .show(ui, |ui| {
                for (label, value, secret) in [
                    ("Server URL", &mut self.draft.url, false),
                    ("User", &mut self.draft.user, false),
                    ("Database", &mut self.draft.database, false),
                    ("Password", &mut self.draft.password, true),
                    ("CA file (HTTPS, optional)", &mut self.draft.ca_file, false),
                ] {
                    let label = ui.label(label);
                    ui.add(
                        egui::TextEdit::singleline(value)
                            .password(secret)
                            .desired_width(320.0),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                }
                let label = ui.label("Compression");
                egui::ComboBox::from_id_salt("connection compression")
                    .selected_text(self.draft.compression.name())
                    .show_ui(ui, |ui| {
                        for choice in CompressionChoice::ALL {
                            ui.selectable_value(&mut self.draft.compression, choice, choice.name());
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_hover_text(
                        "LZ4 saves time on slow links and costs CPU on fast ones; auto leaves \
                         it off for this machine and the LAN",
                    );
                ui.end_row();
            });
        ui.horizontal(|ui| {
            if self.editing.is_some() {
                ui.add_enabled(
                    self.draft.password.is_empty(),
                    egui::Checkbox::new(&mut self.draft.no_password, "No password"),
                )
                .on_hover_text(
                    "The server takes this user without a password: forget the stored one",
                );
                if ui.button("Save and test").clicked() {
                    self.submit(ui.ctx());
                }
                if ui.button("Cancel edit").clicked() {
                    self.editing = None;
                    self.draft = Draft::default();
                    self.note = None;
                }
            } else if ui.button("Add and test").clicked() {
                self.submit(ui.ctx());
            }
        });
        if let Some(note) = &self.note {
            ui.colored_label(ui.visuals().warn_fg_color, note);
        }
        ui.separator();
        if self.entries.is_empty() {
            ui.label("No connections yet: add a ClickHouse server above.");
        }
        let mut test = None;
        let mut remove = None;
        let mut explore = None;
        let mut edit = None;
        for (index, entry) in self.entries.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.strong(entry.profile.keychain_account());
                ui.label(format!("database {}", entry.profile.database));
                if ui.button("Test").clicked() {
                    test = Some(index);
                }
                if let Status::Ok(_, connection) = &entry.status
                    && ui.button("Explore").clicked()
                {
                    explore = Some(connection.as_ref().clone());
                }
                if ui.button("Edit").clicked() {
                    edit = Some(index);
                }
                if ui.button("Remove").clicked() {
                    remove = Some(index);
                }
            });
            match &entry.status {
                Status::Untested => ui.label("not tested"),
                Status::Testing => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("connecting…")
                    })
                    .inner
                }
                Status::Ok(description, _) => ui.label(description),
                Status::Failed(error) => ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("cannot connect: {error} (Edit fixes the address, user or password)"),
                ),
            };
        }
        if let Some(index) = edit {
            self.edit(index);
        }
        if let Some(index) = test {
            self.test(ui.ctx(), index);
        }
        if let Some(index) = remove {
            // The profile goes; a stored password stays in the keychain for the CLI's use.
            self.entries.remove(index);
            self.editing = None;
        }
        if let (Some(connection), Some(runtime)) = (explore, &self.runtime) {
            self.explorer = Some(Explorer::new(
                connection,
                runtime.handle().clone(),
                ui.ctx(),
            ));
            self.explore_requested = true;
        }
    }
}
