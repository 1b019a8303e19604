//! What a database's tables hold and where, against a real 18.16 server: rows and parts per
//! table and per monthly partition agree with what was seeded, and the report says the
//! server does not name disks.

use lyceum::source::demo::{Plant, PlantConfig};

use crate::support::ClickHouseServer;

#[tokio::test(flavor = "multi_thread")]
async fn each_table_and_partition_reports_its_rows_and_bytes() {
    let server = ClickHouseServer::start();
    let c = server.connect("stored").await;
    // Forty days: the cycles fall into two or more monthly partitions.
    let plant = Plant::new(PlantConfig {
        curves: 400,
        samples: 100,
        sensors: 2,
        days: 40.0,
        ..PlantConfig::default()
    });
    c.seed_demo_plant("stored", &plant, false, |_| {})
        .await
        .unwrap();
    let report = c.storage("stored").await.unwrap();
    assert!(!report.disks_known, "18.16 does not name disks");
    let curves = report
        .tables
        .iter()
        .find(|t| t.table == "process_curves")
        .unwrap();
    assert_eq!(curves.rows, 400);
    assert!(curves.partitions.len() >= 2, "{:?}", curves.partitions);
    assert_eq!(curves.partitions.iter().map(|p| p.rows).sum::<u64>(), 400);
    assert!(curves.bytes_on_disk > 0 && curves.uncompressed_bytes > curves.bytes_on_disk);
    assert!(curves.partitions.iter().all(|p| p.disk.is_none()));
    assert_eq!(
        (curves.ttl.as_deref(), curves.policy.as_deref()),
        (None, None)
    );
    // Views and empty tables are listed with nothing stored.
    assert!(
        report
            .tables
            .iter()
            .any(|t| t.table == "process_results_hourly")
    );
}
