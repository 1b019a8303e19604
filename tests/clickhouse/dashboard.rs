//! The line dashboard's data against a real server: per station the cycles and NOK of the
//! last hour and shift (ending at the newest cycle) equal what the seeded plant holds, the
//! NOK kinds add up, and the hourly heatmap (from the rollup) counts the last day's cycles.

use std::collections::HashMap;

use lyceum::source::clickhouse::dashboard::{HeatmapSource, SHIFT_SECS, heatmap_sql};
use lyceum::source::demo::{Plant, PlantConfig};

use crate::support::ClickHouseServer;

#[tokio::test(flavor = "multi_thread")]
async fn station_tiles_and_the_heatmap_count_what_the_plant_holds() {
    let server = ClickHouseServer::start();
    let c = server.connect("lines").await;
    let plant = Plant::new(PlantConfig {
        curves: 800,
        samples: 50,
        sensors: 2,
        days: 1.5,
        ..PlantConfig::default()
    });
    c.seed_demo_plant("lines", &plant, false, |_| {})
        .await
        .unwrap();
    // A read cancelled before it begins answers so, without a half dashboard.
    let cancelled = tokio_util::sync::CancellationToken::new();
    cancelled.cancel();
    let refused = c.line_dashboard("lines", Some(&cancelled)).await;
    assert!(
        matches!(
            refused,
            Err(lyceum::source::clickhouse::ClickHouseError::Cancelled)
        ),
        "{refused:?}"
    );
    let dashboard = c.line_dashboard("lines", None).await.unwrap();

    // The same counts from the plant itself (times in whole seconds, as 18.16 keeps them).
    let store = plant.process_curves().unwrap();
    let secs = |id| {
        store
            .label("cycle_time", id)
            .unwrap()
            .parse::<i64>()
            .unwrap()
            / 1000
    };
    let ids = 0..store.len() as u32;
    let now = ids.clone().map(secs).max().unwrap();
    assert_eq!(dashboard.now_secs, Some(now));
    let mut expected: HashMap<&str, [usize; 4]> = HashMap::new();
    let mut last_day = 0;
    for id in ids {
        let (t, nok) = (secs(id), store.label("result", id) == Some("NOK"));
        let counts = expected
            .entry(store.label("station", id).unwrap())
            .or_default();
        if t >= now - SHIFT_SECS {
            counts[2] += 1;
            counts[3] += usize::from(nok);
        }
        if t >= now - 3600 {
            counts[0] += 1;
            counts[1] += usize::from(nok);
        }
        let hour = t - t.rem_euclid(3600);
        last_day += usize::from(hour > now - 24 * 3600);
    }
    assert!(!dashboard.tiles.is_empty());
    for tile in &dashboard.tiles {
        let [hour, hour_nok, shift, shift_nok] = expected[tile.station.as_str()];
        assert_eq!(
            (tile.hour.judged, tile.hour.judged - tile.hour.passed),
            (hour, hour_nok),
            "{}",
            tile.station
        );
        assert_eq!(
            (tile.shift.judged, tile.shift.judged - tile.shift.passed),
            (shift, shift_nok)
        );
        let by_kind: u64 = tile.nok_by_failure.iter().map(|(_, n)| n).sum();
        assert_eq!(by_kind as usize, shift_nok);
        assert!(tile.state.is_some() && tile.batch.is_some(), "{tile:?}");
    }
    assert!(dashboard.tiles.iter().any(|t| t.last_alarm.is_some()));
    let heat: usize = dashboard.heatmap.iter().map(|(_, _, y)| y.judged).sum();
    assert_eq!(heat, last_day);
    // The rollup counts what every raw cycle counts (the bench's baseline).
    let cells = |source| {
        let sql = heatmap_sql("lines", now, source);
        let c = c.clone();
        async move {
            c.fetch_all::<(String, i64, u64, u64)>(sql.to_query(c.client()))
                .await
                .unwrap()
        }
    };
    let rollup = cells(HeatmapSource::Rollup).await;
    assert!(!rollup.is_empty());
    assert_eq!(rollup, cells(HeatmapSource::Raw).await);

    // Batches: each line's running batch is its tiles' batch, and each batch's cycles are
    // those of its line within its span (asked of the server one by one here).
    assert!(!dashboard.batches.is_empty());
    for tile in &dashboard.tiles {
        let running = dashboard
            .batches
            .iter()
            .find(|b| b.running && b.line == tile.line);
        assert_eq!(
            running.map(|b| &b.batch),
            tile.batch.as_ref(),
            "{}",
            tile.line
        );
    }
    for b in &dashboard.batches {
        assert!(b.start_secs < b.end_secs && b.end_secs > now - 24 * 3600);
        let (n, nok): (u64, u64) = c
            .client()
            .query(
                "SELECT count(), countIf(toString(result) = 'NOK') FROM lines.process_curves \
                 WHERE toString(line) = ? AND toUInt32(cycle_time) >= ? \
                 AND toUInt32(cycle_time) < ?",
            )
            .bind(b.line.as_str())
            .bind(b.start_secs)
            .bind(b.end_secs)
            .fetch_one()
            .await
            .unwrap();
        assert_eq!(
            (
                b.cycles.judged as u64,
                (b.cycles.judged - b.cycles.passed) as u64
            ),
            (n, nok),
            "{b:?}"
        );
    }
    assert!(dashboard.batches.iter().any(|b| b.cycles.judged > 0));
}
