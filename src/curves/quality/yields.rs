//! Yield: how many judged curves passed, overall, per value of a label (a station) and per
//! hour of a time label (a cycle's start). Curve times come as label text: epoch seconds or
//! milliseconds (the demo plant, CSV), or `YYYY-MM-DD hh:mm:ss[.fff]` (ClickHouse's
//! `toString` of a `DateTime`), read as UTC.

use std::collections::BTreeMap;

use super::evaluate::{Recipe, evaluate_all};
use crate::curves::{CurveId, CurveStore};

/// Passed of judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct YieldCount {
    pub passed: usize,
    pub judged: usize,
}

impl YieldCount {
    fn add(&mut self, passed: bool) {
        self.judged += 1;
        self.passed += usize::from(passed);
    }

    /// Passed as a percentage of judged (100 for none judged: nothing failed).
    pub fn percent(&self) -> f64 {
        if self.judged == 0 {
            100.0
        } else {
            100.0 * self.passed as f64 / self.judged as f64
        }
    }
}

/// What a recipe found over many curves, wherever they were judged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Yields {
    pub overall: YieldCount,
    /// Per object of the recipe, in its order: the curves it failed.
    pub fails_per_object: Vec<u64>,
    /// The label grouped by, if any.
    pub group_label: Option<String>,
    /// Per value of that label, in the values' order.
    pub by_group: Vec<(String, YieldCount)>,
    /// Per hour (its start, epoch seconds, UTC), in time order.
    pub by_hour: Vec<(i64, YieldCount)>,
}

/// The curves of `ids` judged by `recipe` (in parallel): whether each passed, and the
/// yields — per value of `group_by` (none: `station`, `program` or `line` if the curves have
/// it, else their first label) and per hour of their first time label.
pub fn judge(
    store: &CurveStore,
    ids: &[CurveId],
    recipe: &Recipe,
    group_by: Option<&str>,
) -> (Vec<bool>, Yields) {
    let verdicts = evaluate_all(store, ids, recipe);
    let passed: Vec<bool> = verdicts.iter().map(|v| v.passed()).collect();
    let mut fails_per_object = vec![0; recipe.objects.len()];
    for failure in verdicts.iter().flat_map(|v| &v.failures) {
        fails_per_object[failure.object] += 1;
    }
    let has = |name: &str| store.label_columns().iter().any(|c| c.name == name);
    let group_label = group_by
        .filter(|name| has(name))
        .or_else(|| ["station", "program", "line"].into_iter().find(|n| has(n)))
        .or_else(|| store.label_columns().first().map(|c| c.name.as_str()))
        .map(str::to_owned);
    let by_group = group_label
        .as_deref()
        .map_or_else(Vec::new, |label| by_label(store, ids, &passed, label));
    let by_hour =
        time_label(store).map_or_else(Vec::new, |label| by_hour(store, ids, &passed, label));
    let yields = Yields {
        overall: YieldCount {
            passed: passed.iter().filter(|&&ok| ok).count(),
            judged: passed.len(),
        },
        fails_per_object,
        group_label,
        by_group,
        by_hour,
    };
    (passed, yields)
}

/// Seconds since the epoch (UTC) of a time label's text.
pub fn parse_time_secs(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(number) = text.parse::<f64>() {
        // Past 1e11 seconds is year 5138: such numbers are milliseconds.
        return number.is_finite().then(|| {
            if number.abs() >= 1e11 {
                number / 1e3
            } else {
                number
            }
        });
    }
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
    .map(|at| at.and_utc().timestamp_micros() as f64 / 1e6)
}

/// The first label that holds times: its values (on the first few curves) all read as
/// dates, or it is named like a time (`…time…`, `ts`, `…_at`) and they all read as times.
pub fn time_label(store: &CurveStore) -> Option<&str> {
    let sample = store.len().min(16);
    store
        .label_columns()
        .iter()
        .find(|column| {
            let values = &column.values[..sample];
            let named =
                column.name.contains("time") || column.name == "ts" || column.name.ends_with("_at");
            let dates = values
                .iter()
                .all(|v| v.parse::<f64>().is_err() && parse_time_secs(v).is_some());
            sample > 0 && (dates || named && values.iter().all(|v| parse_time_secs(v).is_some()))
        })
        .map(|column| column.name.as_str())
}

/// Yield per value of `label` (curves without it under ""), in the values' order.
pub fn by_label(
    store: &CurveStore,
    ids: &[CurveId],
    passed: &[bool],
    label: &str,
) -> Vec<(String, YieldCount)> {
    let mut groups: BTreeMap<&str, YieldCount> = BTreeMap::new();
    for (&id, &ok) in ids.iter().zip(passed) {
        groups
            .entry(store.label(label, id).unwrap_or_default())
            .or_default()
            .add(ok);
    }
    groups
        .into_iter()
        .map(|(value, count)| (value.to_owned(), count))
        .collect()
}

/// Yield per hour (its start in epoch seconds) of the times in `label`, in time order;
/// curves whose time does not read are left out.
pub fn by_hour(
    store: &CurveStore,
    ids: &[CurveId],
    passed: &[bool],
    label: &str,
) -> Vec<(i64, YieldCount)> {
    let mut hours: BTreeMap<i64, YieldCount> = BTreeMap::new();
    for (&id, &ok) in ids.iter().zip(passed) {
        if let Some(secs) = store.label(label, id).and_then(parse_time_secs) {
            hours
                .entry((secs / 3600.0).floor() as i64 * 3600)
                .or_default()
                .add(ok);
        }
    }
    hours.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::CurveStoreBuilder;

    #[test]
    fn times_read_in_every_form_and_yields_group_by_station_and_hour() {
        assert_eq!(parse_time_secs("1700000000"), Some(1.7e9));
        assert_eq!(parse_time_secs("1700000000500"), Some(1_700_000_000.5));
        assert_eq!(parse_time_secs("2023-11-14 22:13:20"), Some(1.7e9));
        assert_eq!(
            parse_time_secs("2023-11-14T22:13:20.250"),
            Some(1.7e9 + 0.25)
        );
        assert_eq!(parse_time_secs("station 4"), None);

        let mut b = CurveStoreBuilder::new(&["station", "cycle_time"]);
        let rows = [
            ("S1", "2023-11-14 22:10:00"),
            ("S1", "2023-11-14 22:50:00"),
            ("S2", "2023-11-14 23:05:00"),
            ("S2", "not a time"),
        ];
        for (i, (station, at)) in rows.iter().enumerate() {
            b.push_uniform(format!("c{i}"), &[station, at], 0.0, 1.0, &[1.0])
                .unwrap();
        }
        let store = b.finish().unwrap();
        let ids = [0, 1, 2, 3];
        let passed = [true, false, true, true];
        assert_eq!(
            by_label(&store, &ids, &passed, "station"),
            [
                (
                    "S1".to_owned(),
                    YieldCount {
                        passed: 1,
                        judged: 2
                    }
                ),
                (
                    "S2".to_owned(),
                    YieldCount {
                        passed: 2,
                        judged: 2
                    }
                )
            ]
        );
        let hour = 1_699_999_200; // 2023-11-14 22:00 UTC
        assert_eq!(
            by_hour(&store, &ids, &passed, "cycle_time"),
            [
                (
                    hour,
                    YieldCount {
                        passed: 1,
                        judged: 2
                    }
                ),
                (
                    hour + 3600,
                    YieldCount {
                        passed: 1,
                        judged: 1
                    }
                )
            ]
        );
        assert_eq!(
            YieldCount {
                passed: 1,
                judged: 4
            }
            .percent(),
            25.0
        );
        // One value that is not a time and the label is not taken for times.
        assert_eq!(time_label(&store), None);
        assert_eq!(
            time_label(&store.subset(&[0, 1, 2]).unwrap()),
            Some("cycle_time")
        );
    }
}
