//! Small widgets every view uses the same way: a labelled path field (the label names the
//! field for screen readers and tests), the outcome line of a background job, text cut to a
//! length, and sizes in megabytes.

/// `label` then a one-line text field it names.
pub fn labelled_field_ui(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    hint: &str,
    width: f32,
) -> egui::Response {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .hint_text(hint)
            .desired_width(width),
    )
    .labelled_by(label.id)
}

/// A finished job's note, or its error in the error colour.
pub fn outcome_ui(ui: &mut egui::Ui, outcome: Option<&Result<String, String>>) {
    match outcome {
        Some(Ok(note)) => {
            ui.label(note);
        }
        Some(Err(error)) => {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        None => {}
    }
}

/// `text` cut to `chars` characters, with an ellipsis when cut (the whole text belongs in a
/// hover).
pub fn cut(text: &str, chars: usize) -> String {
    let short: String = text.chars().take(chars).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// Bytes as megabytes, one decimal.
pub fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}
