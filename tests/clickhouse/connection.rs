//! Connecting: capabilities, authentication (keychain included), and every way a
//! connection or query fails: unreachable, unknown table, server exception, timeout,
//! cancellation, and a server that dies mid-stream.

use std::time::Duration;

use lyceum::secrets::{self, Password};
use lyceum::source::clickhouse::plan::FetchProgress;
use lyceum::source::clickhouse::{
    ArrayX, ClickHouseError, Connection, ConnectionProfile, CurveLayout, CurveQuery,
    CurveSelection, FetchOptions, PixelView, ServerVersion, SourceMapping,
};
use tokio_util::sync::CancellationToken;

use crate::support::{ClickHouseServer, PASSWORD, PASSWORD_USER};

#[tokio::test(flavor = "multi_thread")]
async fn capabilities_match_what_the_server_reports() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;
    let raw: Vec<String> = c
        .fetch_all(c.client().query("SELECT version()"))
        .await
        .unwrap();
    let caps = c.capabilities();
    assert_eq!(Some(caps.version), ServerVersion::parse(&raw[0]));
    let formats: Vec<u64> = c
        .fetch_all(
            c.client().query(
                "SELECT count() FROM system.formats WHERE name = 'RowBinaryWithNamesAndTypes'",
            ),
        )
        .await
        .unwrap();
    assert_eq!(caps.row_binary_with_names_and_types, formats[0] > 0);
    if caps.version
        < (ServerVersion {
            major: 19,
            minor: 0,
            patch: 0,
        })
    {
        // 18.16, Debian's package: none of the modern features.
        assert!(
            !caps.ttl && !caps.codecs && !caps.datetime64 && !caps.lttb && !caps.query_parameters
        );
        assert!(
            !caps.low_cardinality,
            "18.16 has LowCardinality only behind an experimental setting"
        );
        assert!(caps.tiered_policy().is_none());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_fails_clearly_and_the_keychain_password_works() {
    let server = ClickHouseServer::start();
    let profile = ConnectionProfile::new(server.url(), "default", PASSWORD_USER);
    let err = Connection::open(profile.clone(), Some(Password::new("wrong")))
        .await
        .unwrap_err();
    match &err {
        ClickHouseError::AuthenticationFailed {
            user,
            server_message,
        } => {
            assert_eq!(user, PASSWORD_USER);
            assert!(server_message.contains(PASSWORD_USER), "{server_message}");
        }
        other => panic!("expected an authentication error, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("authentication failed for user `lyceum_tester`"),
        "{err}"
    );
    assert!(matches!(
        Connection::open(profile.clone(), None).await,
        Err(ClickHouseError::AuthenticationFailed { .. })
    ));

    keyring_core::set_default_store(keyring_core::mock::Store::new().unwrap());
    secrets::store_password(&profile.keychain_account(), &Password::new(PASSWORD)).unwrap();
    let c = Connection::open_with_keychain(profile).await.unwrap();
    let one: Vec<u8> = c.fetch_all(c.client().query("SELECT 1")).await.unwrap();
    assert_eq!(one, [1]);
    assert!(
        !format!("{c:?}").contains(PASSWORD),
        "the password leaked into Debug output"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_profiles_and_unreachable_servers_are_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let profile = ConnectionProfile::new(format!("http://127.0.0.1:{port}"), "default", "default");
    match Connection::open(profile, None).await {
        Err(ClickHouseError::Unreachable { url, .. }) => assert!(url.ends_with(&port.to_string())),
        other => panic!("expected Unreachable, got {other:?}"),
    }
    for (url, needle) in [
        ("ftp://host:21", "must start with http:// or https://"),
        ("http://user:secret@host:8123", "holds a password"),
        ("not a url", "URL `not a url`"),
    ] {
        let err = Connection::open(ConnectionProfile::new(url, "d", "u"), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(needle), "{url}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_tables_and_server_exceptions_keep_the_servers_words() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;
    assert!(matches!(
        c.list_columns("default", "nope").await,
        Err(ClickHouseError::UnknownTable { .. })
    ));
    match c.execute("SELEC 1").await {
        Err(ClickHouseError::Server {
            code: 62,
            server_message,
        }) => assert!(server_message.contains("Syntax error"), "{server_message}"),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    // A table that disappears between mapping and fetch.
    c.execute(
        "CREATE TABLE default.gone (id String, y Array(Float32)) ENGINE = MergeTree() ORDER BY id",
    )
    .await
    .unwrap();
    let mapping = SourceMapping {
        database: "default".into(),
        table: "gone".into(),
        series_keys: vec!["id".into()],
        labels: vec![],
        layout: CurveLayout::Arrays {
            y: "y".into(),
            x: ArrayX::Uniform { x0: 0.0, dx: 1.0 },
        },
    };
    let validated = mapping
        .validate(&c.list_columns("default", "gone").await.unwrap())
        .unwrap();
    c.execute("DROP TABLE default.gone").await.unwrap();
    let plan = CurveQuery::arrays(&validated, &CurveSelection::default()).unwrap();
    match c.fetch_curves(&plan, FetchOptions::default()).await {
        Err(ClickHouseError::UnknownTable { server_message }) => {
            assert!(server_message.contains("gone"), "{server_message}");
        }
        other => panic!("expected UnknownTable, got {other:?}"),
    }
}

/// A long-format view over ten billion generated rows: any M4 over it runs for minutes.
async fn endless_view(c: &Connection) -> CurveQuery {
    c.execute(
        "CREATE VIEW default.endless AS SELECT toString(number % 7) AS id, toFloat64(number) AS x, \
         toFloat32(number % 1000) AS y FROM system.numbers LIMIT 10000000000",
    )
    .await
    .unwrap();
    let mapping = SourceMapping {
        database: "default".into(),
        table: "endless".into(),
        series_keys: vec!["id".into()],
        labels: vec![],
        layout: CurveLayout::Long {
            x: "x".into(),
            y: "y".into(),
        },
    };
    let validated = mapping
        .validate(&c.list_columns("default", "endless").await.unwrap())
        .unwrap();
    CurveQuery::long_m4(
        &validated,
        &CurveSelection::default(),
        PixelView {
            x_start: 0.0,
            x_end: 1e10,
            width_px: 100,
        },
    )
    .unwrap()
}

/// Wait until the server runs no query over `endless` any more.
async fn assert_server_query_ends(c: &Connection) {
    for _ in 0..100 {
        let running: Vec<u64> = c
            .fetch_all(c.client().query(
                "SELECT count() FROM system.processes WHERE query LIKE '%endless%' AND query NOT LIKE '%system.processes%'",
            ))
            .await
            .unwrap();
        if running[0] == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the abandoned query still runs on the server after 10 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelled_and_timed_out_queries_stop_on_the_server_too() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;
    let plan = endless_view(&c).await;

    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let result = c
        .fetch_curves(
            &plan,
            FetchOptions {
                progress: None,
                cancel: Some(&cancel),
                partial: None,
            },
        )
        .await;
    assert!(
        matches!(result, Err(ClickHouseError::Cancelled)),
        "{result:?}"
    );
    assert_server_query_ends(&c).await;

    let impatient = Connection::open(
        ConnectionProfile {
            query_timeout_secs: 0.5,
            ..server.profile("default")
        },
        None,
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    match impatient.fetch_curves(&plan, FetchOptions::default()).await {
        Err(ClickHouseError::Timeout { timeout }) => {
            assert_eq!(timeout, Duration::from_millis(500));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_server_query_ends(&c).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_dies_mid_stream_gives_an_error_not_a_hang() {
    let mut server = ClickHouseServer::start();
    let c = server.connect("default").await;
    c.execute(
        "CREATE VIEW default.stream AS SELECT toString(number) AS id, \
         arrayMap(i -> toFloat32(i), range(1000)) AS y FROM system.numbers LIMIT 100000000",
    )
    .await
    .unwrap();
    let mapping = SourceMapping {
        database: "default".into(),
        table: "stream".into(),
        series_keys: vec!["id".into()],
        labels: vec![],
        layout: CurveLayout::Arrays {
            y: "y".into(),
            x: ArrayX::Uniform { x0: 0.0, dx: 1.0 },
        },
    };
    let validated = mapping
        .validate(&c.list_columns("default", "stream").await.unwrap())
        .unwrap();
    // No limit, so no ORDER BY: rows stream as the server generates them.
    let plan = CurveQuery::arrays(&validated, &CurveSelection::default()).unwrap();
    let (tx, mut rx) = tokio::sync::watch::channel(FetchProgress::default());
    let fetch = tokio::spawn(async move {
        c.fetch_curves(
            &plan,
            FetchOptions {
                progress: Some(&tx),
                cancel: None,
                partial: None,
            },
        )
        .await
    });
    while rx.borrow_and_update().rows == 0 {
        tokio::time::timeout(Duration::from_secs(30), rx.changed())
            .await
            .expect("rows arrive")
            .expect("sender alive");
    }
    server.stop();
    let result = tokio::time::timeout(Duration::from_secs(30), fetch)
        .await
        .expect("the fetch ends")
        .unwrap();
    match result {
        Err(e @ (ClickHouseError::ConnectionLost { .. } | ClickHouseError::Decode { .. })) => {
            assert!(!e.to_string().is_empty());
        }
        other => panic!(
            "expected a lost connection, got {:?}",
            other.map(|s| s.len())
        ),
    }
}

/// HTTPS to a server whose certificate the plant's own CA signed: trusted with the CA file,
/// refused without it (the public roots do not know that CA), and a bad CA file is named.
#[tokio::test(flavor = "multi_thread")]
async fn https_trusts_a_custom_ca_file_and_only_then() {
    let server = ClickHouseServer::start_tls();
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/ca.pem");
    let with_ca = ConnectionProfile {
        ca_file: Some(ca),
        ..ConnectionProfile::new(server.https_url(), "default", "default")
    };
    let c = Connection::open(with_ca, None).await.unwrap();
    let one: Vec<u8> = c.fetch_all(c.client().query("SELECT 1")).await.unwrap();
    assert_eq!(one, [1]);

    let without = ConnectionProfile::new(server.https_url(), "default", "default");
    let err = Connection::open(without, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    let bad = ConnectionProfile {
        ca_file: Some("/nonexistent/plant-ca.pem".into()),
        ..ConnectionProfile::new(server.https_url(), "default", "default")
    };
    let err = Connection::open(bad, None).await.unwrap_err().to_string();
    assert!(err.contains("plant-ca.pem"), "{err}");
}
