//! Foreign curve files through a real server and the CLI: `lyceum import` of the odd files,
//! then `fetch` and `render` of custom long mappings with no range given (the data's own
//! extent), `--limit`, one-sided and date-time bounds; and the papercuts: CRLF line numbers,
//! an empty table left by a failed import, empty values noted as gaps, an edited file
//! imported again, an unknown database, a URL without a scheme, progress on a non-terminal,
//! a closed pipe.

use std::path::Path;
use std::process::Command;

use crate::cli::{lyceum, lyceum_ok as ok, lyceum_refused as refused, odd, text};
use crate::support::ClickHouseServer;

fn import(url: &str, file: &Path, table: &str) -> String {
    ok(&[
        "import",
        file.to_str().unwrap(),
        "--url",
        url,
        "--database",
        "foreign",
        "--table",
        table,
    ])
}

/// `fetch` or `render … clickhouse` arguments for the imported long table.
fn custom<'a>(url: &'a str, table: &'a str) -> Vec<&'a str> {
    vec![
        "--url",
        url,
        "--database",
        "foreign",
        "--preset",
        "custom",
        "--table",
        table,
        "--series-keys",
        "series",
        "--x",
        "x",
        "--y",
        "value",
    ]
}

fn curves_fetched(output: &str) -> usize {
    output
        .lines()
        .find_map(|l| {
            l.split_once(" curves, ")
                .map(|(n, _)| n.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no count in {output}"))
}

fn points_fetched(output: &str) -> usize {
    output
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once(" curves, ")?;
            rest.split_once(" points")?.0.parse().ok()
        })
        .unwrap_or_else(|| panic!("no points in {output}"))
}

#[test]
fn odd_files_in_clickhouse_are_fetched_over_their_own_extent_and_drawn() {
    let server = ClickHouseServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    import(&url, &odd("ragged_crlf.csv"), "ragged");
    import(&url, &odd("epoch_ms_long.csv"), "epoch");
    import(&url, &odd("one_point.csv"), "one");

    // No --from/--to: the data's own extent, every curve.
    let mut args = vec!["fetch"];
    args.extend(custom(&url, "ragged"));
    let out = ok(&args);
    assert_eq!(curves_fetched(&out), 300, "{out}");
    let all_points = points_fetched(&out);
    // More than 4 points per curve on average: binned over the data, not a demo day.
    assert!(all_points > 300 * 4, "{out}");

    // A table of one's own named without `--preset custom` is not silently swapped for the
    // template's table.
    let err = refused(&[
        "fetch",
        "--url",
        &url,
        "--database",
        "foreign",
        "--table",
        "ragged",
    ]);
    assert!(
        err.contains("--table describes a table of your own: add `--preset custom`")
            && err.contains("foreign.process_curves"),
        "{err}"
    );

    // --limit applies to long layouts.
    let mut limited = args.clone();
    limited.extend(["--limit", "7"]);
    assert_eq!(curves_fetched(&ok(&limited)), 7);

    // A one-sided range keeps the other end at the data's extent.
    let mut from_zero = args.clone();
    from_zero.extend(["--from", "0"]);
    assert_eq!(points_fetched(&ok(&from_zero)), all_points);

    // Date-times are accepted, and the end is included.
    let mut epoch = vec!["fetch"];
    epoch.extend(custom(&url, "epoch"));
    let whole = ok(&epoch);
    assert_eq!(curves_fetched(&whole), 2, "{whole}");
    let mut dated = epoch.clone();
    dated.extend([
        "--from",
        "2026-11-02T00:00:00Z",
        "--to",
        "2026-11-02T00:00:01Z",
    ]);
    let dated = ok(&dated);
    assert_eq!(curves_fetched(&dated), 2, "{dated}");
    let mut bad = epoch.clone();
    bad.extend(["--from", "yesterday"]);
    let err = lyceum(&bad);
    assert_eq!(
        err.status.code(),
        Some(2),
        "clap refuses the value: {}",
        text(&err)
    );
    assert!(text(&err).contains("neither a number nor a date-time"));

    // Both renderers draw every one of them, named after the table and its columns.
    for (table, curves) in [("ragged", 300), ("epoch", 2), ("one", 1)] {
        for renderer in ["gpu", "cpu"] {
            let png = dir.path().join(format!("{table}-{renderer}.png"));
            let mut render = vec![
                "render",
                "--renderer",
                renderer,
                "--width",
                "800",
                "--height",
                "400",
                "--out",
                png.to_str().unwrap(),
                "clickhouse",
            ];
            render.extend(custom(&url, table));
            let out = ok(&render);
            // The GPU draws a whole plot with a title; the CPU the curves alone.
            let titled = out.contains(&format!("title: foreign.{table}: {curves} curve"));
            assert_eq!(titled, renderer == "gpu", "{out}");
            assert!(out.contains(&format!("{curves} curve")), "{out}");
            assert!(png.exists());
        }
    }
}

#[test]
fn import_papercuts_line_numbers_empty_tables_and_edited_files() {
    let server = ClickHouseServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();

    // CRLF: the bad value's line number is the line an editor shows.
    let crlf = dir.path().join("crlf.csv");
    std::fs::write(
        &crlf,
        "curve_id,x,value\r\nc1,0,1\r\nc1,1,2\r\nc1,2,oops\r\nc1,3,4\r\n",
    )
    .unwrap();
    let err = refused(&[
        "import",
        crlf.to_str().unwrap(),
        "--url",
        &url,
        "--database",
        "foreign",
        "--table",
        "crlf",
    ]);
    assert!(err.contains("line 4,"), "{err}");
    // Nothing landed in the table this run created: it is gone again.
    assert!(err.contains("dropped again"), "{err}");
    let schema = ok(&["schema", "--url", &url, "--database", "foreign"]);
    assert!(!schema.contains("crlf"), "{schema}");

    // Empty values land as gaps, and the import says so.
    let holes = dir.path().join("holes.csv");
    std::fs::write(&holes, "curve_id,x,value\nc1,0,1\nc1,1,\nc1,2,3\nc2,0,\n").unwrap();
    let imported = import(&url, &holes, "holes");
    assert!(
        imported.contains("2 empty value(s) are stored as NaN"),
        "{imported}"
    );
    let stored = ok(&[
        "sql",
        "SELECT countIf(isNaN(value)), count() FROM foreign.holes",
        "--url",
        &url,
    ]);
    assert!(stored.contains("2\t4"), "{stored}");

    // An edited file imported again into the same table is refused, not duplicated.
    let csv = dir.path().join("edited.csv");
    let mut rows = String::from("curve_id,x,value\n");
    for i in 0..50 {
        rows.push_str(&format!("c{},{i},{i}\n", i % 3));
    }
    std::fs::write(&csv, &rows).unwrap();
    let args = [
        "import",
        csv.to_str().unwrap(),
        "--url",
        &url,
        "--database",
        "foreign",
        "--table",
        "edited",
        "--batch-rows",
        "20",
    ];
    ok(&args);
    assert!(
        ok(&args).contains(": 0 rows inserted"),
        "a repeat inserts nothing"
    );
    // Edited in its third batch (lines 42–51): the first two are in the table.
    std::fs::write(&csv, rows.replacen("c0,45,45", "c0,45,100", 1)).unwrap();
    let err = refused(&args);
    assert!(err.contains("lines 42–51"), "{err}");
    assert!(err.contains("edited since"), "{err}");
    assert!(err.contains("lines up to 41 are in the table"), "{err}");
    assert!(
        !err.contains("re-run the same import"),
        "re-running cannot help: {err}"
    );
    // Nothing read or sent: nor can it here.
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let err = refused(&[
        "import",
        empty.to_str().unwrap(),
        "--url",
        &url,
        "--database",
        "foreign",
        "--table",
        "empty",
    ]);
    assert!(err.contains("the file is empty"), "{err}");
    assert!(!err.contains("re-run the same import"), "{err}");
    // A renamed copy cannot be told from new data, but the import says rows are added.
    let copy = dir.path().join("copy.csv");
    std::fs::write(&copy, &rows).unwrap();
    let added = ok(&[
        "import",
        copy.to_str().unwrap(),
        "--url",
        &url,
        "--database",
        "foreign",
        "--table",
        "edited",
    ]);
    assert!(added.contains("from 1 other file(s)"), "{added}");

    // --query-timeout-secs governs the capability probe too (the connect timeout only the
    // first round trip): a limit no query can meet fails `caps`. The timer ticks in whole
    // milliseconds, so a loopback answer can now and then beat it: some of a few tries must
    // be refused, cleanly, for the limit.
    let tries: Vec<std::process::Output> = (0..8)
        .map(|_| lyceum(&["caps", "--url", &url, "--query-timeout-secs", "0.0001"]))
        .collect();
    assert!(
        tries.iter().any(|out| out.status.code() == Some(1)
            && text(out).contains("no answer within")
            && !text(out).contains("panicked")),
        "never refused for the limit: {}",
        text(&tries[0])
    );
    ok(&["caps", "--url", &url, "--query-timeout-secs", "30"]);

    // Unknown database and URL without a scheme.
    let listing = ok(&["schema", "--url", &url]);
    assert!(
        listing.contains("databases: ") && listing.contains("no database lyceum_demo yet"),
        "{listing}"
    );
    let err = refused(&["schema", "--url", &url, "--database", "nosuchdb"]);
    assert!(err.contains("unknown database"), "{err}");
    let host = url.trim_start_matches("http://");
    let err = refused(&["caps", "--url", host]);
    assert!(err.contains("has no scheme"), "{err}");
}

#[test]
fn progress_is_throttled_off_a_terminal_and_a_closed_pipe_is_not_a_panic() {
    let server = ClickHouseServer::start();
    let url = server.url();
    ok(&[
        "seed",
        "--url",
        &url,
        "--database",
        "plant",
        "--curves",
        "3000",
        "--samples",
        "500",
        "--sensors",
        "5",
        "--days",
        "0.05",
    ]);
    let fetch = lyceum(&["fetch", "--url", &url, "--database", "plant"]);
    assert!(fetch.status.success(), "{}", text(&fetch));
    let stderr = String::from_utf8_lossy(&fetch.stderr);
    let progress = stderr.lines().filter(|l| l.starts_with("fetching")).count();
    assert!(progress <= 3, "{progress} progress lines:\n{stderr}");

    // `lyceum … | head`: the reader is gone before the first line.
    let status = Command::new("bash")
        .arg("-c")
        .arg(r#"set -o pipefail; "$0" schema --url "$1" --database plant | true"#)
        .arg(env!("CARGO_BIN_EXE_lyceum"))
        .arg(&url)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", text(&status));
    assert!(!text(&status).contains("panicked"));
}

#[test]
fn server_side_m4_into_the_drawn_columns_gives_the_picture_of_every_sample() {
    let server = ClickHouseServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let csv = odd("epoch_ms_long.csv");
    import(&url, &csv, "epoch");
    let dataset = dir.path().join("epoch");
    ok(&[
        "dataset",
        "import",
        csv.to_str().unwrap(),
        "--out",
        dataset.to_str().unwrap(),
    ]);
    // `render` of 700 × 300 px by `renderer` into `out`, then the source's arguments.
    let render = |renderer: &'static str, out: &Path, source: &[&str]| {
        let mut args = vec![
            "render",
            "--renderer",
            renderer,
            "--width",
            "700",
            "--height",
            "300",
        ];
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(source);
        ok(&args)
    };
    let mut server_args = vec!["clickhouse"];
    server_args.extend(custom(&url, "epoch"));
    // Every one of the 80,000 samples, from the dataset.
    let every = dir.path().join("every.png");
    render("cpu", &every, &["--dataset", dataset.to_str().unwrap()]);
    // The server's M4 bins (four points per column at most) into the same columns.
    let binned = dir.path().join("binned.png");
    let out = render("cpu", &binned, &server_args);
    assert!(out.contains("server-side M4: 700 columns"), "{out}");
    assert_eq!(
        std::fs::read(&every).unwrap(),
        std::fs::read(&binned).unwrap(),
        "server-side M4 draws exactly the picture of every sample"
    );

    // The GPU plot: binned into its frame's columns, narrower than the picture (axes).
    let gpu = dir.path().join("gpu.png");
    let out = render("gpu", &gpu, &server_args);
    let columns: u32 = out
        .split("server-side M4: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!((500..700).contains(&columns), "{out}");
}
