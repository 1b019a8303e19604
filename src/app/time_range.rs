//! The explorer's time range: all data, a preset span (last hour, shift, day, week) ending now
//! or at the newest data, or an absolute from–to typed as text or picked on a calendar. Times
//! are UTC, as the plot's time axis. [`TimeRange`] is the choice and its editor
//! ([`TimeRange::ui`]); [`RangeChoice`] is what a run resolves against the server.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::source::clickhouse::parse_x_bound;

/// A span back from an end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    All,
    LastHour,
    /// Eight hours: one shift.
    LastShift,
    LastDay,
    LastWeek,
    Between,
}

impl Preset {
    const ALL: [Self; 6] = [
        Self::All,
        Self::LastHour,
        Self::LastShift,
        Self::LastDay,
        Self::LastWeek,
        Self::Between,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::All => "All data",
            Self::LastHour => "Last hour",
            Self::LastShift => "Last shift (8 h)",
            Self::LastDay => "Last day",
            Self::LastWeek => "Last week",
            Self::Between => "From – to",
        }
    }

    /// Length in seconds, for the presets that are a span.
    fn span_secs(self) -> Option<f64> {
        match self {
            Self::LastHour => Some(3_600.0),
            Self::LastShift => Some(8.0 * 3_600.0),
            Self::LastDay => Some(86_400.0),
            Self::LastWeek => Some(7.0 * 86_400.0),
            Self::All | Self::Between => None,
        }
    }
}

/// What a run asks for, before the server is asked where "the newest data" is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RangeChoice {
    All,
    /// Epoch seconds, ends included.
    Between(f64, f64),
    /// The last `span_secs`, ending now or at the newest row.
    Last {
        span_secs: f64,
        at_newest: bool,
    },
}

impl RangeChoice {
    /// The range once the end is known (`newest`: the largest time in the selection).
    pub fn resolve(self, now_secs: f64, newest: Option<f64>) -> Option<(f64, f64)> {
        match self {
            Self::All => None,
            Self::Between(from, to) => Some((from, to)),
            Self::Last {
                span_secs,
                at_newest,
            } => {
                let end = if at_newest { newest? } else { now_secs };
                Some((end - span_secs, end))
            }
        }
    }
}

pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The time range being edited.
#[derive(Clone, Debug)]
pub struct TimeRange {
    preset: Preset,
    /// Presets end at the newest data rather than now (data reviewed after the fact).
    at_newest: bool,
    from: String,
    to: String,
}

impl Default for TimeRange {
    fn default() -> Self {
        Self {
            preset: Preset::All,
            at_newest: true,
            from: String::new(),
            to: String::new(),
        }
    }
}

/// `2026-11-02 06:00:00` in UTC.
fn format_secs(secs: f64) -> String {
    chrono::DateTime::from_timestamp(secs.floor() as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A typed bound's calendar day, for the date picker.
fn date_of(text: &str) -> jiff::civil::Date {
    let secs = parse_x_bound(text).unwrap_or_else(|_| now_secs());
    chrono::DateTime::from_timestamp(secs.floor() as i64, 0)
        .and_then(|t| {
            use chrono::Datelike;
            let (month, day) = (i8::try_from(t.month()).ok()?, i8::try_from(t.day()).ok()?);
            jiff::civil::Date::new(i16::try_from(t.year()).ok()?, month, day).ok()
        })
        .unwrap_or_default()
}

/// `text` with its day replaced by `date` (the time of day kept, midnight if none).
fn with_date(text: &str, date: jiff::civil::Date) -> String {
    let time = parse_x_bound(text)
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs.floor() as i64, 0))
        .map_or_else(
            || "00:00:00".to_owned(),
            |t| t.format("%H:%M:%S").to_string(),
        );
    format!(
        "{:04}-{:02}-{:02} {time}",
        date.year(),
        date.month(),
        date.day()
    )
}

impl TimeRange {
    /// Choose the absolute range from `from` to `to` (epoch seconds, UTC), as if typed.
    pub fn select_between(&mut self, range: (f64, f64)) {
        self.preset = Preset::Between;
        self.set_between(range);
    }

    /// The choice, or why the typed bounds do not make a range.
    pub fn choice(&self) -> Result<RangeChoice, String> {
        match self.preset {
            Preset::All => Ok(RangeChoice::All),
            Preset::Between => {
                let bound = |text: &str, name: &str| {
                    parse_x_bound(text).map_err(|e| format!("{name}: {e}"))
                };
                let (from, to) = (bound(&self.from, "From")?, bound(&self.to, "To")?);
                if from < to {
                    Ok(RangeChoice::Between(from, to))
                } else {
                    Err("From must come before To".to_owned())
                }
            }
            preset => Ok(RangeChoice::Last {
                span_secs: preset.span_secs().unwrap_or(3_600.0),
                at_newest: self.at_newest,
            }),
        }
    }

    /// Start the absolute range from a resolved one (after a preset ran, say).
    pub fn set_between(&mut self, (from, to): (f64, f64)) {
        self.from = format_secs(from);
        self.to = format_secs(to);
    }

    /// The editor: preset menu, "ending at", and from–to fields with calendars.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            egui::ComboBox::from_label("Time range (UTC)")
                .selected_text(self.preset.name())
                .show_ui(ui, |ui| {
                    for preset in Preset::ALL {
                        ui.selectable_value(&mut self.preset, preset, preset.name());
                    }
                });
            if self.preset.span_secs().is_some() {
                ui.label("ending at");
                ui.selectable_value(&mut self.at_newest, true, "the newest data");
                ui.selectable_value(&mut self.at_newest, false, "now");
            }
            if self.preset == Preset::Between {
                for (name, text) in [("From", &mut self.from), ("To", &mut self.to)] {
                    super::widgets::labelled_field_ui(ui, name, text, "2026-11-02 06:00:00", 150.0);
                    let mut date = date_of(text);
                    let before = date;
                    ui.add(
                        // No icon: its emoji is in no font egui ships.
                        egui_extras::DatePickerButton::new(&mut date)
                            .id_salt(name)
                            .show_icon(false)
                            .calendar_week(false),
                    );
                    if date != before {
                        *text = with_date(text, date);
                    }
                }
                if let Err(e) = self.choice() {
                    ui.colored_label(ui.visuals().warn_fg_color, e);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_end_now_or_at_the_newest_data_and_bounds_are_checked() {
        let last_shift = RangeChoice::Last {
            span_secs: 8.0 * 3_600.0,
            at_newest: true,
        };
        assert_eq!(
            last_shift.resolve(1e9, Some(100_000.0)),
            Some((71_200.0, 100_000.0))
        );
        // No data: nothing to end at.
        assert_eq!(last_shift.resolve(1e9, None), None);
        let last_hour_now = RangeChoice::Last {
            span_secs: 3_600.0,
            at_newest: false,
        };
        assert_eq!(
            last_hour_now.resolve(10_000.0, None),
            Some((6_400.0, 10_000.0))
        );
        assert_eq!(RangeChoice::All.resolve(1.0, Some(2.0)), None);

        let mut range = TimeRange {
            preset: Preset::Between,
            ..TimeRange::default()
        };
        range.set_between((1_762_063_200.0, 1_762_066_800.0));
        assert_eq!(range.from, "2025-11-02 06:00:00");
        assert_eq!(
            range.choice(),
            Ok(RangeChoice::Between(1_762_063_200.0, 1_762_066_800.0))
        );
        // The calendar changes the day, never the time of day.
        let picked = jiff::civil::Date::new(2025, 12, 24).unwrap();
        assert_eq!(with_date(&range.from, picked), "2025-12-24 06:00:00");
        assert_eq!(
            date_of(&range.to),
            jiff::civil::Date::new(2025, 11, 2).unwrap()
        );
        range.to = "yesterday".to_owned();
        assert!(range.choice().unwrap_err().starts_with("To: "));
        range.to = range.from.clone();
        assert_eq!(range.choice(), Err("From must come before To".to_owned()));
    }
}
