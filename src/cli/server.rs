//! The commands that talk to a ClickHouse server directly: `caps`, `login`, `logout`,
//! `schema`, `seed`, `import` and `sql`.

use std::path::PathBuf;

use clap::Args;
use lyceum::secrets;
use lyceum::source::clickhouse::{self as ch, Connection};
use lyceum::source::demo::Plant;

use super::connect::{ConnectArgs, read_password_from_stdin};
use super::demo::PlantArgs;
use super::output::{out, progress_done, progress_line};

/// `lyceum schema`.
#[derive(Args, Debug)]
pub(crate) struct SchemaArgs {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[arg(long)]
    pub(crate) table: Option<String>,
}

/// `lyceum sql`.
#[derive(Args, Debug)]
pub(crate) struct SqlArgs {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    /// The statement (one; a trailing `;` is fine).
    pub(crate) statement: String,
    /// Let statements that change data or the server run (INSERT, ALTER, CREATE, DROP …).
    #[arg(long)]
    pub(crate) allow_changes: bool,
    /// Write the result to this .csv or .parquet file instead of printing it.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Replace --out if it exists.
    #[arg(long)]
    pub(crate) replace: bool,
}

/// `lyceum seed`.
#[derive(Args, Debug)]
pub(crate) struct SeedArgs {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[command(flatten)]
    pub(crate) plant: PlantArgs,
    /// Drop the template's tables first if they hold data.
    #[arg(long)]
    pub(crate) replace: bool,
}

/// `lyceum import`.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    #[arg(long)]
    pub(crate) table: String,
    /// Series id column (long format).
    #[arg(long)]
    pub(crate) series: Option<String>,
    /// x or sample-index column (long format).
    #[arg(long)]
    pub(crate) x: Option<String>,
    /// Value column (long format).
    #[arg(long)]
    pub(crate) value: Option<String>,
    #[arg(long, default_value_t = 500_000)]
    pub(crate) batch_rows: usize,
}

pub(crate) async fn caps(args: &ConnectArgs) -> anyhow::Result<()> {
    let connection = args.connect().await?;
    let caps = connection.capabilities();
    out!("{} — ClickHouse {}", args.url, caps.version);
    for (feature, on) in caps.describe() {
        out!("  {} {feature}", if on { "yes" } else { "no " });
    }
    for policy in &caps.storage_policies {
        out!(
            "  storage policy {}: {}",
            policy.name,
            policy.volumes.join(" → ")
        );
    }
    Ok(())
}

pub(crate) async fn login(args: &ConnectArgs) -> anyhow::Result<()> {
    let profile = args.profile();
    profile.validate()?;
    let store = secrets::use_platform_store()?;
    let password = read_password_from_stdin()?;
    // Check before storing, so a typo never replaces a working password.
    Connection::open(profile.clone(), Some(password.clone())).await?;
    secrets::store_password(&profile.keychain_account(), &password)?;
    out!(
        "password for {} checked and stored in {store}",
        profile.keychain_account()
    );
    Ok(())
}

pub(crate) fn logout(args: &ConnectArgs) -> anyhow::Result<()> {
    secrets::use_platform_store()?;
    secrets::delete_password(&args.profile().keychain_account())?;
    out!("password for {} removed", args.profile().keychain_account());
    Ok(())
}

pub(crate) async fn schema(args: SchemaArgs) -> anyhow::Result<()> {
    let SchemaArgs { connect, table } = args;
    let connection = connect.connect().await?;
    match table {
        Some(table) => {
            for c in connection.list_columns(connect.database(), &table).await? {
                out!("{:<24} {:<36} {:?}", c.name, c.type_name, c.kind);
            }
        }
        None => {
            out!(
                "databases: {}",
                connection.list_databases().await?.join(", ")
            );
            match connection.list_tables(connect.database()).await {
                Ok(tables) => {
                    for t in tables {
                        out!("  {:<32} {}", t.name, t.engine);
                    }
                }
                // Not asked for by name: the listing above is the answer.
                Err(ch::ClickHouseError::UnknownDatabase { .. }) if connect.database.is_none() => {
                    out!(
                        "(no database {} yet: `lyceum seed` creates it; --database NAME lists another)",
                        connect.database()
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

pub(crate) async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let SeedArgs {
        connect,
        plant,
        replace,
    } = args;
    let connection = connect.connect().await?;
    let plant = Plant::new(plant.config()?);
    let report = connection
        .seed_demo_plant(connect.database(), &plant, replace, |p| {
            progress_line(&format!("seeding {}: {} rows", p.table, p.rows));
        })
        .await?;
    progress_done();
    for note in &report.notes {
        out!("schema: {note}");
    }
    for (table, rows) in &report.rows {
        out!("{table:<22} {rows:>12} rows");
    }
    let secs = report.elapsed.as_secs_f64();
    out!(
        "{} rows in {secs:.2} s ({:.0} rows/s)",
        report.total_rows(),
        report.total_rows() as f64 / secs
    );
    Ok(())
}

pub(crate) async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let ImportArgs {
        file,
        connect,
        table,
        series,
        x,
        value,
        batch_rows,
    } = args;
    let connection = connect.connect().await?;
    let options = ch::import::ImportOptions {
        database: connect.database().to_owned(),
        table,
        series,
        x,
        value,
        batch_rows,
    };
    let report = connection
        .import_csv(&file, &options, |p| {
            let pct = 100.0 * p.bytes_read as f64 / p.file_bytes.max(1) as f64;
            progress_line(&format!(
                "importing: {pct:5.1} %, {} rows inserted",
                p.rows_inserted
            ));
        })
        .await?;
    progress_done();
    out!("layout {}", report.layout);
    for note in &report.notes {
        out!("note: {note}");
    }
    out!("{report}");
    let secs = report.elapsed.as_secs_f64();
    out!(
        "{} CSV rows in {secs:.2} s ({:.0} rows/s)",
        report.csv_rows,
        report.csv_rows as f64 / secs
    );
    Ok(())
}

/// Run one statement as the app's SQL view does: the result as tab-separated text on stdout
/// (names first), or to a CSV / Parquet file; rows, bytes and time on stderr.
pub(crate) async fn sql(args: SqlArgs) -> anyhow::Result<()> {
    // Refused before the query runs, not after.
    if let Some(path) = &args.out
        && path.exists()
        && !args.replace
    {
        anyhow::bail!(
            "{} already exists: choose another name, or add --replace",
            path.display()
        );
    }
    let connection = args.connect.connect().await?;
    // Unqualified names resolve in --database when given, else the user's default.
    let (table, summary) = connection
        .fetch_table(
            &args.statement,
            args.connect.database.as_deref(),
            args.allow_changes,
        )
        .await?;
    match &args.out {
        Some(path) => {
            lyceum::source::dataset::export_table(&table, path, args.replace)?;
            eprintln!(
                "wrote {} to {}",
                rows_text(table.rows() as u64),
                path.display()
            );
        }
        // A statement without a result (DDL, INSERT) prints nothing.
        None if table.columns.is_empty() => {}
        None => {
            let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            out!("{}", names.join("\t"));
            for row in 0..table.rows() {
                // Escaped as ClickHouse writes TSV, so a tab or newline in a value stays one field.
                let values: Vec<String> = table
                    .columns
                    .iter()
                    .map(|c| {
                        c.get(row).map_or_else(
                            || "\\N".to_owned(),
                            |v| {
                                v.replace('\\', "\\\\")
                                    .replace('\t', "\\t")
                                    .replace('\n', "\\n")
                            },
                        )
                    })
                    .collect();
                out!("{}", values.join("\t"));
            }
        }
    }
    let server = summary.server.map_or_else(String::new, |s| {
        format!(
            "; the server read {}, {} bytes",
            rows_text(s.read_rows),
            s.read_bytes
        )
    });
    eprintln!(
        "{}, {} bytes received in {:.3} s{server}",
        rows_text(summary.rows),
        summary.received_bytes,
        summary.elapsed.as_secs_f64()
    );
    Ok(())
}

/// `1 row`, `2 rows`.
fn rows_text(rows: u64) -> String {
    format!("{rows} row{}", if rows == 1 { "" } else { "s" })
}
