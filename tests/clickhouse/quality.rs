//! A reference taught in ClickHouse (`Connection::teach_reference`: `ARRAY JOIN`, bin,
//! `GROUP BY`) against the client's `curves::quality::teach` over the same curves fetched
//! from the same table: every bin's count, mean, σ, median, MAD, min, max and quantiles agree
//! to float error, for each alignment both sides run, on a selection (one program's OK
//! cycles).

use lyceum::curves::CurveId;
use lyceum::curves::quality::{Alignment, BinGrid, Reference, teach};
use lyceum::source::clickhouse::ddl;
use lyceum::source::clickhouse::schema::ValidatedMapping;
use lyceum::source::clickhouse::{Connection, CurveQuery, CurveSelection, FetchOptions};
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

/// A demo plant of `curves` × `samples` over `days` seeded into `database`, and its process
/// curves' mapping checked there.
async fn seeded(
    server: &ClickHouseServer,
    database: &str,
    (curves, samples, days): (usize, usize, f64),
) -> (Connection, ValidatedMapping, Plant) {
    let plant = Plant::new(PlantConfig {
        curves,
        samples,
        sensors: 2,
        days,
        ..PlantConfig::default()
    });
    let c = server.connect(database).await;
    c.seed_demo_plant(database, &plant, false, |_| {})
        .await
        .unwrap();
    let validated = ddl::process_curves_mapping(database)
        .validate(&c.list_columns(database, "process_curves").await.unwrap())
        .unwrap();
    (c, validated, plant)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reference_taught_in_clickhouse_equals_the_clients() {
    let server = ClickHouseServer::start();
    let (c, validated, plant) = seeded(&server, "quality", (600, 400, 0.01)).await;
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

/// A recipe judged in ClickHouse over every cycle (`Connection::judge_history`) against the
/// client's `evaluate_all` over the same cycles fetched: the same yield overall, per object,
/// per station and per hour, for min/max ranges, no-pass boxes and envelopes under each
/// alignment the server runs; windows and lines are refused with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn a_recipe_judged_in_clickhouse_gives_the_clients_yields() {
    use lyceum::curves::quality::yields::{by_hour, by_label};
    use lyceum::curves::quality::{
        DataRect, Envelope, EnvelopeRule, EvalObject, Recipe, evaluate_all,
    };

    let server = ClickHouseServer::start();
    let (c, validated, _) = seeded(&server, "verdicts", (800, 300, 0.5)).await;
    let all = c
        .fetch_curves(
            &CurveQuery::arrays(&validated, &CurveSelection::default()).unwrap(),
            FetchOptions::default(),
        )
        .await
        .unwrap();
    let program = all.label("program", 0).unwrap().to_owned();
    let selection = CurveSelection {
        equals: vec![("program".into(), program.clone())],
        ..CurveSelection::default()
    };
    let fetched = c
        .fetch_curves(
            &CurveQuery::arrays(&validated, &selection).unwrap(),
            FetchOptions::default(),
        )
        .await
        .unwrap();
    let ids: Vec<CurveId> = (0..fetched.len() as CurveId).collect();
    let ok: Vec<CurveId> = ids
        .iter()
        .copied()
        .filter(|&id| fetched.label("result", id) == Some("OK"))
        .collect();
    let mut last = None;
    for alignment in [Alignment::Absolute, Alignment::Peak, Alignment::Final] {
        let grid = BinGrid::spanning(&fetched, &ok, alignment, 120).unwrap();
        let reference = teach(&fetched, &ok, alignment, grid, &[]);
        let envelope = Envelope::from_reference(&reference, EnvelopeRule::MeanSigma { k: 2.5 });
        let bin = grid.bins / 2;
        let (low, high) = (reference.min[bin], reference.max[bin]);
        let at = |share: f64| {
            let x = fetched.x_at(0, 0);
            x + share * (fetched.x_at(0, fetched.y(0).len() - 1) - x)
        };
        let recipe = Recipe {
            name: "history".into(),
            objects: vec![
                EvalObject::Envelope(Box::new(envelope)),
                // Limits inside the taught spread, so some cycles fail each.
                EvalObject::MinMax {
                    x_min: at(0.4),
                    x_max: at(0.6),
                    y_low: Some(low + 0.2 * (high - low)),
                    y_high: Some(high - 0.1 * (high - low)),
                },
                EvalObject::NoPass {
                    rect: DataRect {
                        x_min: at(0.45),
                        x_max: at(0.55),
                        y_min: high - 0.15 * (high - low),
                        y_max: high + 1.0,
                    },
                },
            ],
            ..Recipe::default()
        };
        let verdicts = evaluate_all(&fetched, &ids, &recipe);
        let passed: Vec<bool> = verdicts.iter().map(|v| v.passed()).collect();
        let server_side = c
            .judge_history(
                &validated,
                &selection,
                &recipe,
                Some("station"),
                Some("cycle_time"),
            )
            .await
            .unwrap();
        let fails: Vec<u64> = (0..recipe.objects.len())
            .map(|k| {
                verdicts
                    .iter()
                    .filter(|v| v.failures.iter().any(|f| f.object == k))
                    .count() as u64
            })
            .collect();
        assert!(
            fails.iter().all(|&f| f > 0 && f < ids.len() as u64),
            "{alignment:?}: every object fails some cycles and passes others: {fails:?}"
        );
        assert_eq!(server_side.fails_per_object, fails, "{alignment:?}");
        assert_eq!(server_side.overall.judged, ids.len());
        assert_eq!(
            server_side.overall.passed,
            passed.iter().filter(|&&p| p).count(),
            "{alignment:?}"
        );
        assert_eq!(
            server_side.by_group,
            by_label(&fetched, &ids, &passed, "station")
        );
        let hours = by_hour(&fetched, &ids, &passed, "cycle_time");
        assert!(hours.len() > 3, "{hours:?}");
        assert_eq!(server_side.by_hour, hours);
        last = Some((recipe, server_side.overall));
    }

    // The CLI judges in the server too, and writes one verdict per cycle into a table there.
    let (recipe, overall) = last.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let recipe_file = dir.path().join("recipe.json");
    std::fs::write(&recipe_file, serde_json::to_string(&recipe).unwrap()).unwrap();
    let filter = format!("program={program}");
    let said = crate::cli::lyceum_ok(&[
        "evaluate",
        "--recipe",
        recipe_file.to_str().unwrap(),
        "--url",
        &server.url(),
        "--database",
        "verdicts",
        "--filter",
        &filter,
        "--into-table",
        "verdicts_out",
    ]);
    assert!(
        said.contains(&format!("{} of {} passed", overall.passed, overall.judged)),
        "{said}"
    );
    let written: Vec<(u64, u64)> = c
        .fetch_all(
            c.client()
                .query("SELECT count(), sum(passed) FROM verdicts.verdicts_out"),
        )
        .await
        .unwrap();
    assert_eq!(written, [(overall.judged as u64, overall.passed as u64)]);

    // Recipes kept on the server: each save the next version, by this user, all listed.
    assert!(c.recipe_versions("verdicts").await.unwrap().is_empty());
    let body = serde_json::to_string(&recipe).unwrap();
    assert_eq!(
        c.save_recipe_version("verdicts", "press", "", &body)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        c.save_recipe_version("verdicts", "press", "", "{}")
            .await
            .unwrap(),
        2
    );
    let versions = c.recipe_versions("verdicts").await.unwrap();
    let listed: Vec<(u32, &str)> = versions
        .iter()
        .map(|v| (v.version, v.author.as_str()))
        .collect();
    assert_eq!(listed, [(2, "default"), (1, "default")]);
    assert_eq!(versions[1].body, body);
    // Windows count sides along the curve: the client's, said so.
    let window = Recipe {
        objects: vec![EvalObject::Window {
            rect: DataRect {
                x_min: 0.0,
                x_max: 1.0,
                y_min: 0.0,
                y_max: 1.0,
            },
            entry: lyceum::curves::quality::Side::Left,
            exit: lyceum::curves::quality::Side::Right,
        }],
        ..Recipe::default()
    };
    let refused = c
        .judge_history(&validated, &selection, &window, None, None)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("judged in the client"),
        "{refused}"
    );
}
