//! A reference taught in ClickHouse (`Connection::teach_reference`: `ARRAY JOIN`, bin,
//! `GROUP BY`) against the client's `curves::quality::teach` over the same curves fetched
//! from the same table: every bin's count, mean, σ, median, MAD, min, max and quantiles agree
//! to float error, for each alignment both sides run, on a selection (one program's OK
//! cycles).

use lyceum::curves::CurveId;
use lyceum::curves::quality::{Alignment, BinGrid, Reference, teach};
use lyceum::source::clickhouse::ddl;
use lyceum::source::clickhouse::{CurveQuery, CurveSelection, FetchOptions};
use lyceum::source::demo::{Plant, PlantConfig};

use crate::support::ClickHouseServer;

fn assert_agree(client: &Reference, server: &Reference) {
    assert_eq!(client.count, server.count, "samples per bin");
    assert_eq!(client.curves, server.curves);
    let close = |what: &str, a: &[f64], b: &[f64], tolerance: f64| {
        for (bin, (x, y)) in a.iter().zip(b).enumerate() {
            let agree = (x.is_nan() && y.is_nan()) || (x - y).abs() <= tolerance * x.abs().max(1.0);
            assert!(agree, "{what} of bin {bin}: client {x}, server {y}");
        }
    };
    // Sums in another order: float error. Selections of stored f32 values: exactly equal.
    close("mean", &client.mean, &server.mean, 1e-9);
    close("std", &client.std, &server.std, 1e-6);
    close("median", &client.median, &server.median, 0.0);
    close("mad", &client.mad, &server.mad, 0.0);
    close("min", &client.min, &server.min, 0.0);
    close("max", &client.max, &server.max, 0.0);
    for ((q, a), (_, b)) in client.quantiles.iter().zip(&server.quantiles) {
        close(&format!("quantile {q}"), a, b, 0.0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reference_taught_in_clickhouse_equals_the_clients() {
    let server = ClickHouseServer::start();
    let c = server.connect("quality").await;
    let plant = Plant::new(PlantConfig {
        curves: 600,
        samples: 400,
        sensors: 2,
        days: 0.01,
        ..PlantConfig::default()
    });
    c.seed_demo_plant("quality", &plant, false, |_| {})
        .await
        .unwrap();
    let mapping = ddl::process_curves_mapping("quality");
    let validated = mapping
        .validate(&c.list_columns("quality", "process_curves").await.unwrap())
        .unwrap();
    let store = plant.process_curves().unwrap();
    let program = store.label("program", 0).unwrap().to_owned();
    let selection = CurveSelection {
        equals: vec![
            ("program".into(), program.clone()),
            ("result".into(), "OK".into()),
        ],
        ..CurveSelection::default()
    };
    // The client teaches from the same rows, fetched.
    let fetched = c
        .fetch_curves(
            &CurveQuery::arrays(&validated, &selection).unwrap(),
            FetchOptions::default(),
        )
        .await
        .unwrap();
    assert!(fetched.len() > 100, "{} curves of {program}", fetched.len());
    let ids: Vec<CurveId> = (0..fetched.len() as CurveId).collect();
    let quantiles = [0.05, 0.5, 0.95];
    for alignment in [Alignment::Absolute, Alignment::Peak, Alignment::Final] {
        let grid = BinGrid::spanning(&fetched, &ids, alignment, 97).unwrap();
        let client = teach(&fetched, &ids, alignment, grid, &quantiles);
        let server_side = c
            .teach_reference(&validated, &selection, alignment, grid, &quantiles)
            .await
            .unwrap();
        assert!(client.count.iter().sum::<u64>() > 10_000);
        assert_agree(&client, &server_side);
    }
    // A trigger level is found between samples: the client's, said so for the server.
    let grid = BinGrid::spanning(&fetched, &ids, Alignment::Absolute, 10).unwrap();
    let refused = c
        .teach_reference(
            &validated,
            &selection,
            Alignment::Trigger { level: 1.0 },
            grid,
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("runs in the client"),
        "{refused}"
    );
}
