//! Native file dialogs (`rfd`: the XDG desktop portal on Linux, the system dialogs on macOS
//! and Windows) for every path field: the dialog runs on a thread of its own and its answer
//! comes back over a channel, so the UI thread never waits on the user's choice.
//! [`FileDialog`] is one open dialog; [`browse_ui`] is the button beside a path field.
//! A typed path always works too: a desktop without a portal (a bare X server) shows none.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, sync_channel};

use super::widgets::labelled_field_ui;

/// What the dialog asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogKind {
    /// An existing folder (a dataset).
    OpenFolder,
    /// An existing file of these extensions (import).
    OpenFile(&'static [&'static str]),
    /// A new folder's parent and name (saving a dataset): picked as a file name to create.
    SaveFolder,
    /// A file to write, with these extensions (export).
    SaveFile(&'static [&'static str]),
}

/// One dialog on screen, until the user answers; or, where none could be shown, the note
/// that says so.
#[derive(Debug)]
pub struct FileDialog {
    answer: Receiver<Option<PathBuf>>,
    opened_at: std::time::Instant,
    unavailable: bool,
}

/// An answer without a path sooner than this after opening: no person cancelled that fast,
/// so no dialog was shown (no desktop portal, say).
const NO_DIALOG_SECS: f32 = 0.5;

impl FileDialog {
    /// Open the dialog; `start` is a path the user typed, used as its folder when it has one.
    pub fn open(ctx: &egui::Context, kind: DialogKind, title: &str, start: &str) -> Self {
        let (sender, answer) = sync_channel(1);
        let mut dialog = rfd::AsyncFileDialog::new().set_title(title);
        let start = PathBuf::from(start.trim());
        if let Some(folder) = start.parent().filter(|p| p.is_dir()) {
            dialog = dialog.set_directory(folder);
        }
        if let Some(name) = start.file_name().and_then(|n| n.to_str()) {
            dialog = dialog.set_file_name(name);
        }
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("file dialog".to_owned())
            .spawn(move || {
                let picked = pollster::block_on(async move {
                    match kind {
                        DialogKind::OpenFolder => dialog.pick_folder().await,
                        DialogKind::OpenFile(extensions) => {
                            dialog.add_filter("data", extensions).pick_file().await
                        }
                        DialogKind::SaveFolder => dialog.save_file().await,
                        DialogKind::SaveFile(extensions) => {
                            dialog.add_filter("data", extensions).save_file().await
                        }
                    }
                });
                // The view may be gone by now; nobody is left to tell.
                let _ = sender.send(picked.map(|handle| handle.path().to_path_buf()));
                ctx.request_repaint();
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start a thread for the file dialog");
        }
        Self {
            answer,
            opened_at: std::time::Instant::now(),
            unavailable: false,
        }
    }

    /// The user's answer once given: `Some(None)` when the dialog was cancelled (or none
    /// could be shown).
    pub fn poll(&self) -> Option<Option<PathBuf>> {
        match self.answer.try_recv() {
            Ok(answer) => Some(answer),
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Some(None),
        }
    }
}

/// "Browse…" beside a path field: opens the dialog (one at a time) and returns the path
/// the user chose, once.
pub fn browse_ui(
    ui: &mut egui::Ui,
    open: &mut Option<FileDialog>,
    kind: DialogKind,
    title: &str,
    start: &str,
) -> Option<PathBuf> {
    let showing = open.as_ref().is_some_and(|dialog| !dialog.unavailable);
    let button = ui
        .add_enabled(!showing, egui::Button::new("Browse…"))
        .on_hover_text(title)
        .on_disabled_hover_text("the file dialog is open");
    if button.clicked() {
        *open = Some(FileDialog::open(ui.ctx(), kind, title, start));
    }
    let dialog = open.as_mut()?;
    if dialog.unavailable {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "No file dialog here: type the path",
        )
        .on_hover_text(
            "The desktop showed no file dialog (on Linux it needs an XDG desktop portal, \
             such as xdg-desktop-portal-gtk). A path typed in the field works the same.",
        );
        return None;
    }
    let answer = dialog.poll()?;
    if answer.is_none() && dialog.opened_at.elapsed().as_secs_f32() < NO_DIALOG_SECS {
        tracing::warn!("the file dialog answered at once without a path: none could be shown");
        dialog.unavailable = true;
        return None;
    }
    *open = None;
    if answer.is_none() {
        tracing::info!("file dialog closed without a choice");
    }
    answer
}

/// A path field and its dialog: [`labelled_field_ui`] then [`browse_ui`], a chosen path
/// written into the field.
#[derive(Clone, Copy, Debug)]
pub struct PathField<'a> {
    pub label: &'a str,
    pub hint: &'a str,
    pub width: f32,
    pub kind: DialogKind,
}

impl PathField<'_> {
    /// The field's response and the path just chosen in the dialog, if any.
    pub fn ui(
        &self,
        ui: &mut egui::Ui,
        value: &mut String,
        dialog: &mut Option<FileDialog>,
    ) -> (egui::Response, Option<PathBuf>) {
        let field = labelled_field_ui(ui, self.label, value, self.hint, self.width);
        let chosen = browse_ui(ui, dialog, self.kind, self.label, value);
        if let Some(path) = &chosen {
            *value = path.display().to_string();
        }
        (field, chosen)
    }
}
