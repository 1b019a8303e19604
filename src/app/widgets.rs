//! Small widgets every view uses the same way: a labelled path field (the label names the
//! field for screen readers and tests), the outcome line of a background job, text cut to a
//! length, sizes in megabytes, and counts with their thousands grouped.

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

/// "1 curve", "2,000 curves".
pub fn counted(n: usize, noun: &str) -> String {
    let plural = if n == 1 { "" } else { "s" };
    format!("{} {noun}{plural}", grouped(n as u64))
}

/// `n` with its thousands grouped by commas: 19,971,200.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A value for a sentence: four significant digits, scientific when huge or tiny, without
/// trailing zeros (2.99999 reads "3", 1e12 "1e12").
pub fn short_number(value: f64) -> String {
    let text = if value != 0.0 && !(1e-3..1e6).contains(&value.abs()) {
        format!("{value:.3e}")
    } else {
        let decimals = 3usize.saturating_sub(value.abs().log10().floor().max(0.0) as usize);
        format!("{value:.decimals$}")
    };
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, ""));
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    if exponent.is_empty() {
        mantissa.to_owned()
    } else {
        format!("{mantissa}e{exponent}")
    }
}

#[cfg(test)]
mod count_tests {
    use super::{counted, grouped, short_number};

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(19_971_200), "19,971,200");
        assert_eq!(grouped(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(counted(1, "curve"), "1 curve");
        assert_eq!(counted(5_000, "curve"), "5,000 curves");
    }

    #[test]
    fn numbers_in_sentences_read_alike() {
        assert_eq!(short_number(2.999_999), "3");
        assert_eq!(short_number(1e12), "1e12");
        assert_eq!(short_number(1.469e-5), "1.469e-5");
        assert_eq!(short_number(-0.25), "-0.25");
        assert_eq!(short_number(123.456_7), "123.5");
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(999_999.0), "999999");
    }
}
