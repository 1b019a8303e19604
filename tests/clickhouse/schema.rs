//! Browsing and mapping tables Lyceum did not create: a foreign long-format table fetched
//! through server-side M4 (checked point by point against a reference), and a table with
//! column types Lyceum cannot plot.

use lyceum::source::clickhouse::plan::BindValue;
use lyceum::source::clickhouse::{
    ColumnKind, CurveLayout, CurveQuery, CurveSelection, FetchOptions, MappingError, PixelView,
    SourceMapping,
};

use crate::support::{ClickHouseServer, reference_m4};

const T0: i64 = 1_793_577_600;
const ROWS: u64 = 30_000;

/// Row `n` of the foreign table: three machines, one sample per second each, unique values.
fn sample(n: u64) -> (String, f64, f32) {
    (
        format!("m{}/1", n % 3),
        (T0 + (n / 3) as i64) as f64,
        ((n * 7919) % 100_003) as f32 / 10.0,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_long_table_maps_to_curves_with_exact_m4() {
    let server = ClickHouseServer::start();
    let c = server.connect("plant").await;
    c.execute("CREATE DATABASE plant").await.unwrap();
    c.execute(
        "CREATE TABLE plant.vibration (machine String, channel UInt8, t DateTime, amplitude Float64, site String) \
         ENGINE = MergeTree() ORDER BY (machine, channel, t)",
    )
    .await
    .unwrap();
    c.execute(&format!(
        "INSERT INTO plant.vibration SELECT concat('m', toString(number % 3)), 1, toDateTime({T0} + intDiv(number, 3)), \
         ((number * 7919) % 100003) / 10, 'Leipzig' FROM system.numbers LIMIT {ROWS}"
    ))
    .await
    .unwrap();

    assert!(
        c.list_databases()
            .await
            .unwrap()
            .contains(&"plant".to_owned())
    );
    let tables = c.list_tables("plant").await.unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(
        (tables[0].name.as_str(), tables[0].engine.as_str()),
        ("vibration", "MergeTree")
    );
    let columns = c.list_columns("plant", "vibration").await.unwrap();
    let kinds: Vec<_> = columns.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ColumnKind::Text,
            ColumnKind::Number,
            ColumnKind::DateTime,
            ColumnKind::Number,
            ColumnKind::Text
        ]
    );

    let mapping = SourceMapping {
        database: "plant".into(),
        table: "vibration".into(),
        series_keys: vec!["machine".into(), "channel".into()],
        labels: vec!["site".into()],
        layout: CurveLayout::Long {
            x: "t".into(),
            y: "amplitude".into(),
        },
    };
    let validated = mapping.validate(&columns).unwrap();
    // A partial view: seconds 1234.5 … 8765.5 of the 10,000, over 97 columns.
    let view = PixelView {
        x_start: T0 as f64 + 1234.5,
        x_end: T0 as f64 + 8765.5,
        width_px: 97,
    };
    let selection = CurveSelection {
        keys: vec!["m0/1".into(), "m2/1".into()],
        ..CurveSelection::default()
    };
    let plan = CurveQuery::long_m4(&validated, &selection, view).unwrap();
    assert!(
        !plan.sql.sql.contains("m0/1"),
        "keys are bound, never formatted into the SQL"
    );
    assert!(
        plan.sql.binds.contains(&BindValue::Str("m0/1".into()))
            && plan.sql.binds.contains(&BindValue::Str("m2/1".into()))
    );
    let store = c
        .fetch_curves(&plan, FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(store.keys(), ["m0/1", "m2/1"]);
    for id in 0..store.len() as u32 {
        let key = store.key(id);
        let (xs, ys): (Vec<f64>, Vec<f32>) = (0..ROWS)
            .map(sample)
            .filter(|(k, _, _)| k == key)
            .map(|(_, x, y)| (x, y))
            .unzip();
        let expected: Vec<(f64, f32)> =
            reference_m4(&xs, &ys, view.x_start, view.x_end, view.width_px)
                .into_iter()
                .flat_map(|(_, p)| p)
                .collect();
        let got: Vec<(f64, f32)> = store
            .x_explicit(id)
            .unwrap()
            .iter()
            .copied()
            .zip(store.y(id).iter().copied())
            .collect();
        assert_eq!(got, expected, "series {key}");
        assert_eq!(store.label("site", id), Some("Leipzig"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_column_types_get_a_message_not_a_crash() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;
    c.execute(
        "CREATE TABLE default.odd (id String, tags Array(String), peak AggregateFunction(max, Float64), \
         pair Tuple(UInt8, String), v Float64) ENGINE = MergeTree() ORDER BY id",
    )
    .await
    .unwrap();
    let columns = c.list_columns("default", "odd").await.unwrap();
    let unsupported: Vec<&str> = columns
        .iter()
        .filter(|c| c.kind == ColumnKind::Unsupported)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(unsupported, ["tags", "peak", "pair"]);
    let mapping = |y: &str, labels: Vec<String>| SourceMapping {
        database: "default".into(),
        table: "odd".into(),
        series_keys: vec!["id".into()],
        labels,
        layout: CurveLayout::Arrays {
            y: y.into(),
            x: lyceum::source::clickhouse::ArrayX::Uniform { x0: 0.0, dx: 1.0 },
        },
    };
    let err = mapping("tags", vec![]).validate(&columns).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `tags` has type Array(String), which Lyceum cannot use as y samples: it needs an array of numbers"
    );
    let err = mapping("v", vec![]).validate(&columns).unwrap_err();
    assert!(
        matches!(err, MappingError::UnsupportedType { ref column, .. } if column == "v"),
        "{err}"
    );
    let err = mapping("tags", vec!["pair".into()])
        .validate(&columns)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("column `pair` has type Tuple(UInt8, String)"),
        "{err}"
    );
}
