//! Query monitoring against a real server: a running query is listed (`system.processes`)
//! and killed, and finished queries differing only in literals are one shape in the costs
//! (`system.query_log`, which the harness's server keeps).

use std::time::{Duration, Instant};

use crate::support::ClickHouseServer;

#[tokio::test(flavor = "multi_thread")]
async fn a_running_query_is_listed_and_killed_and_finished_ones_are_grouped() {
    let server = ClickHouseServer::start();
    let c = server.connect("default").await;

    // A query that would run for minutes, under a known id.
    let slow = {
        let c = c.clone();
        tokio::spawn(async move {
            c.client()
                .query("SELECT count() FROM numbers(100000000000) WHERE number % 7 = 3")
                .with_setting("query_id", "lyceum-slow-1")
                .fetch_all::<u64>()
                .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let listed = loop {
        let running = c.running_queries().await.unwrap();
        if let Some(q) = running.iter().find(|q| q.query_id == "lyceum-slow-1") {
            break q.clone();
        }
        assert!(Instant::now() < deadline, "not listed: {running:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(listed.user, "default");
    assert!(listed.query.contains("numbers(100000000000)"));

    c.kill_query("lyceum-slow-1").await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), slow)
        .await
        .expect("the killed query ends")
        .unwrap();
    assert!(ended.is_err(), "a killed query fails: {ended:?}");
    assert!(
        !c.running_queries()
            .await
            .unwrap()
            .iter()
            .any(|q| q.query_id == "lyceum-slow-1")
    );

    // Three queries of one shape, one of another: grouped once the log is flushed.
    for limit in [3, 5, 8] {
        let _: Vec<u64> = c
            .client()
            .query(&format!(
                "SELECT count() FROM numbers(100) WHERE number > {limit}"
            ))
            .fetch_all()
            .await
            .unwrap();
    }
    // A finished query reaches the log's queue a moment after its answer: flush and look
    // again until all three are there.
    let deadline = Instant::now() + Duration::from_secs(20);
    let shape = loop {
        c.execute("SYSTEM FLUSH LOGS").await.unwrap();
        let costs = c
            .query_costs(1)
            .await
            .unwrap()
            .expect("the server keeps a log");
        let found = costs
            .iter()
            .find(|q| q.shape.contains("FROM numbers(?) WHERE number > ?"))
            .filter(|q| q.count == 3)
            .cloned();
        match found {
            Some(shape) => break shape,
            None if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            None => panic!("{costs:#?}"),
        }
    };
    assert_eq!(shape.count, 3);
    assert!(shape.p50_ms <= shape.p95_ms);
}
