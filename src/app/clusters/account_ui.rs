//! The signed-in user's side of the control plane: sign-in to a remote control plane (the
//! session token kept in the OS keychain, so a restart does not ask again while it lasts),
//! the audit log (filtered by user, action, cluster and time, in a virtual-scrolled table)
//! and API tokens (create with scope and expiry, shown once, revoke).

use egui_extras::{Column, TableBuilder};

use super::{ClustersPanel, secret_once_ui};
use crate::control::api::{AuditEntry, Credentials, IssuedToken, NewToken, TokenInfo};
use crate::control::client::ControlClient;
use crate::secrets::{self, Password};

/// The sign-in form.
#[derive(Debug)]
pub struct SignIn {
    url: String,
    user: String,
    password: String,
    ca_file: String,
    busy: bool,
    note: Option<String>,
}

impl Default for SignIn {
    fn default() -> Self {
        Self {
            url: "https://127.0.0.1:7878".into(),
            user: String::new(),
            password: String::new(),
            ca_file: String::new(),
            busy: false,
            note: None,
        }
    }
}

/// The keychain account of a control-plane session.
fn session_account(url: &str, user: &str) -> String {
    format!("lyceum-control:{user}@{url}")
}

#[derive(Debug, Default)]
pub(super) struct AccountState {
    audit: Vec<AuditEntry>,
    audit_user: String,
    audit_action: String,
    audit_cluster: String,
    audit_since: String,
    tokens: Vec<TokenInfo>,
    new_token_name: String,
    new_token_write: bool,
    new_token_days: u32,
    issued_token: Option<IssuedToken>,
}

impl ClustersPanel {
    pub(super) fn sign_in_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        ui.heading("Sign in to a remote control plane");
        ui.label(
            "The embedded control plane (this computer) needs no sign-in. A remote one asks for \
             your account; the session token is kept in the OS keychain, never in a file.",
        );
        let form = &mut self.sign_in;
        egui::Grid::new("sign in").num_columns(2).show(ui, |ui| {
            for (label, value, password) in [
                ("URL", &mut form.url, false),
                ("User", &mut form.user, false),
                ("Password", &mut form.password, true),
                ("CA file (optional)", &mut form.ca_file, false),
            ] {
                let label = ui.label(label);
                ui.add(
                    egui::TextEdit::singleline(value)
                        .password(password)
                        .desired_width(260.0),
                )
                .labelled_by(label.id);
                ui.end_row();
            }
        });
        let (mut sign_in, mut stored, mut embedded) = (false, false, false);
        ui.horizontal(|ui| {
            sign_in = ui
                .add_enabled(!form.busy, egui::Button::new("Sign in"))
                .clicked();
            stored = ui
                .add_enabled(!form.busy, egui::Button::new("Use the stored session"))
                .on_hover_text(
                    "The session this computer keeps for this URL and user, if it still lasts",
                )
                .clicked();
            embedded = ui.button("Back to the embedded control plane").clicked();
            if form.busy {
                ui.spinner();
            }
        });
        if embedded {
            self.start_embedded(&ctx);
            self.page = super::Page::Clusters;
        }
        if let Some(note) = &self.sign_in.note {
            ui.label(note);
        }
        if sign_in || stored {
            self.sign_in(&ctx, stored);
        }
    }

    /// Log in (or take the stored session), then switch to the remote control plane.
    fn sign_in(&mut self, ctx: &egui::Context, stored: bool) {
        let form = &mut self.sign_in;
        let url = form.url.trim().trim_end_matches('/').to_owned();
        let user = form.user.trim().to_owned();
        let password = std::mem::take(&mut form.password);
        let mut client = ControlClient::new(url.clone());
        let ca_file = form.ca_file.trim();
        if !ca_file.is_empty() {
            match client.with_ca_file(std::path::Path::new(ca_file)) {
                Ok(c) => client = c,
                Err(e) => {
                    form.note = Some(e.to_string());
                    return;
                }
            }
        }
        form.busy = true;
        form.note = None;
        let account = session_account(&url, &user);
        self.spawn(
            ctx,
            async move {
                let token = if stored {
                    secrets::use_platform_store()
                        .and_then(|_| secrets::load_password(&account))
                        .map_err(|e| format!("no keychain: {e}"))?
                        .ok_or_else(|| "no session stored for this URL and user".to_owned())?
                        .expose()
                        .to_owned()
                } else {
                    client
                        .login(&Credentials { user, password })
                        .await
                        .map_err(|e| e.to_string())?
                        .token
                };
                let client = client.with_token(token.clone());
                // A stored session may have ended: ask before switching.
                client.clusters().await.map_err(|e| e.to_string())?;
                let kept = secrets::use_platform_store()
                    .and_then(|_| secrets::store_password(&account, &Password::new(token)));
                let note = match kept {
                    Ok(()) => "signed in; the session is kept in the OS keychain".to_owned(),
                    Err(e) => format!("signed in for this run only (no keychain: {e})"),
                };
                Ok::<_, String>((client, note))
            },
            move |panel, ctx, result| {
                panel.sign_in.busy = false;
                match result {
                    Ok((client, note)) => {
                        panel.sign_in.note = Some(note);
                        panel.use_remote(ctx, url, client);
                    }
                    Err(e) => panel.sign_in.note = Some(e),
                }
            },
        );
    }

    pub(super) fn load_audit(&mut self, ctx: &egui::Context) {
        self.run(
            ctx,
            |client| async move { client.audit().await },
            |panel, _, result| match result {
                Ok(entries) => panel.account.audit = entries,
                Err(e) => panel.failed(&e),
            },
        );
    }

    pub(super) fn audit_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let names: std::collections::HashMap<i64, String> = self
            .clusters
            .iter()
            .map(|c| (c.id, c.config.name.clone()))
            .collect();
        let a = &mut self.account;
        ui.horizontal(|ui| {
            for (label, value, hint) in [
                ("User", &mut a.audit_user, "any"),
                ("Action", &mut a.audit_action, "e.g. rotate"),
                ("Cluster", &mut a.audit_cluster, "any"),
                ("Since", &mut a.audit_since, "2026-11-28"),
            ] {
                let label = ui.label(label);
                ui.add(
                    egui::TextEdit::singleline(value)
                        .hint_text(hint)
                        .desired_width(100.0),
                )
                .labelled_by(label.id);
            }
        });
        let (user, action, cluster, since) = (
            a.audit_user.trim().to_lowercase(),
            a.audit_action.trim().to_lowercase(),
            a.audit_cluster.trim().to_lowercase(),
            a.audit_since.trim().to_owned(),
        );
        let rows: Vec<&AuditEntry> = a
            .audit
            .iter()
            .filter(|e| user.is_empty() || e.actor.to_lowercase().contains(&user))
            .filter(|e| action.is_empty() || e.action.to_lowercase().contains(&action))
            .filter(|e| {
                cluster.is_empty()
                    || e.cluster_id
                        .and_then(|id| names.get(&id))
                        .is_some_and(|n| n.contains(&cluster))
                    || e.target.to_lowercase().contains(&cluster)
            })
            .filter(|e| since.is_empty() || e.at.as_str() >= since.as_str())
            .rev()
            .collect();
        let mut reload = false;
        ui.horizontal(|ui| {
            ui.label(format!("{} of {} entries", rows.len(), a.audit.len()));
            reload = ui.button("Reload").clicked();
        });
        // Only the rows on screen are laid out, so a long log scrolls smoothly.
        TableBuilder::new(ui)
            .id_salt("audit")
            .striped(true)
            .column(Column::auto().at_least(150.0))
            .column(Column::auto().at_least(70.0))
            .column(Column::auto().at_least(130.0))
            .column(Column::remainder())
            .max_scroll_height(420.0)
            .header(20.0, |mut header| {
                for h in ["When", "Who", "Action", "What"] {
                    header.col(|ui| {
                        ui.strong(h);
                    });
                }
            })
            .body(|body| {
                body.rows(18.0, rows.len(), |mut row| {
                    let e = rows[row.index()];
                    row.col(|ui| {
                        ui.label(e.at.get(..19).unwrap_or(&e.at));
                    });
                    row.col(|ui| {
                        ui.label(&e.actor);
                    });
                    row.col(|ui| {
                        ui.label(&e.action);
                    });
                    row.col(|ui| {
                        ui.label(&e.target);
                    });
                });
            });
        if reload {
            self.load_audit(&ctx);
        }
    }

    pub(super) fn load_tokens(&mut self, ctx: &egui::Context) {
        self.run(
            ctx,
            |client| async move { client.tokens().await },
            |panel, _, result| match result {
                Ok(tokens) => panel.account.tokens = tokens,
                Err(e) => panel.failed(&e),
            },
        );
    }

    pub(super) fn tokens_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let a = &mut self.account;
        if let Some(issued) = &a.issued_token {
            secret_once_ui(ui, &format!("Token `{}`", issued.info.name), &issued.token);
        }
        let mut revoke = None;
        egui::Grid::new("tokens").striped(true).show(ui, |ui| {
            for h in ["Name", "Kind", "Scopes", "Expires", "State", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for t in &a.tokens {
                ui.label(&t.name);
                ui.label(&t.kind);
                ui.label(t.scopes.join(", "));
                ui.label(t.expires_at.get(..16).unwrap_or(&t.expires_at));
                let active = t.revoked_at.is_none();
                ui.label(if active { "active" } else { "revoked" });
                if active && t.kind == "api" && ui.button(format!("Revoke {}", t.name)).clicked() {
                    revoke = Some(t.id);
                }
                ui.end_row();
            }
        });
        ui.add_space(6.0);
        ui.strong("New API token");
        let mut create = None;
        ui.horizontal(|ui| {
            let label = ui.label("Token name");
            ui.add(
                egui::TextEdit::singleline(&mut a.new_token_name)
                    .hint_text("nightly report")
                    .desired_width(160.0),
            )
            .labelled_by(label.id);
            ui.checkbox(&mut a.new_token_write, "may change things (write)");
            ui.label("expires in");
            if a.new_token_days == 0 {
                a.new_token_days = 30;
            }
            ui.add(
                egui::DragValue::new(&mut a.new_token_days)
                    .range(1..=365)
                    .suffix(" days"),
            );
            let name = a.new_token_name.trim();
            if ui
                .add_enabled(
                    (1..=100).contains(&name.chars().count()),
                    egui::Button::new("Create token"),
                )
                .clicked()
            {
                let mut scopes = vec!["read".to_owned()];
                if a.new_token_write {
                    scopes.push("write".to_owned());
                }
                create = Some(NewToken {
                    name: name.to_owned(),
                    scopes,
                    expires_in_days: a.new_token_days,
                });
            }
        });
        if let Some(token) = create {
            self.run(
                &ctx,
                move |client| async move { client.create_token(&token).await },
                |panel, ctx, result| {
                    match result {
                        Ok(issued) => {
                            panel.account.issued_token = Some(issued);
                            panel.account.new_token_name.clear();
                        }
                        Err(e) => panel.failed(&e),
                    }
                    panel.load_tokens(ctx);
                },
            );
        }
        if let Some(id) = revoke {
            self.run(
                &ctx,
                move |client| async move { client.revoke_token(id).await },
                |panel, ctx, result| {
                    if let Err(e) = result {
                        panel.failed(&e);
                    }
                    panel.load_tokens(ctx);
                },
            );
        }
    }
}
