//! The control plane's SQLite store: embedded migrations (`PRAGMA user_version`), WAL, foreign
//! keys, and [`Db::mutate`], which runs a change and its audit row in one transaction.
//! Passwords are Argon2id PHC strings; tokens and credential secrets are stored only as
//! SHA-256 hashes.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::ControlError;

/// Each entry moves the schema one version up; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE clusters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    state_reason TEXT,
    runtime TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX clusters_live_name ON clusters(name) WHERE state != 'deleted';
CREATE TABLE memberships (
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'engineer', 'viewer')),
    PRIMARY KEY (cluster_id, user_id)
);
CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    project_type TEXT NOT NULL REFERENCES project_types(name),
    created_at TEXT NOT NULL,
    UNIQUE (cluster_id, name)
);
-- Credentials are assets of kind 'credential'; secret_hash is what ClickHouse checks
-- (SHA-256 hex of the password).
CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    rotated_at TEXT,
    revoked_at TEXT,
    UNIQUE (cluster_id, kind, name)
);
CREATE TABLE usage (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    bytes_on_disk INTEGER NOT NULL,
    node_uptime_secs INTEGER NOT NULL
);
-- No foreign key: the audit trail outlives what it describes.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    request_id TEXT NOT NULL,
    cluster_id INTEGER
);
CREATE TABLE regions (code TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE cluster_types (name TEXT PRIMARY KEY);
CREATE TABLE project_types (name TEXT PRIMARY KEY);
CREATE TABLE prices (
    region TEXT NOT NULL REFERENCES regions(code),
    item TEXT NOT NULL,
    monthly REAL NOT NULL,
    PRIMARY KEY (region, item)
);
INSERT INTO regions VALUES
    ('local', 'This machine'), ('eu-central', 'EU Central (Frankfurt)'),
    ('us-east', 'US East (Virginia)'), ('ap-southeast', 'Asia Pacific (Singapore)');
INSERT INTO cluster_types VALUES ('process_curves'), ('sensor_timeseries'), ('mixed');
INSERT INTO project_types VALUES ('screwdriving'), ('press_fit'), ('sensor_monitoring'), ('quality');
-- Monthly prices: per CPU core, per GiB of memory, per GiB of each storage tier.
INSERT INTO prices
    SELECT code, item, monthly * factor FROM regions
    JOIN (SELECT 'cpu_core' AS item, 24.0 AS monthly UNION ALL SELECT 'memory_gib', 3.2
          UNION ALL SELECT 'hot', 0.10 UNION ALL SELECT 'warm', 0.045
          UNION ALL SELECT 'cold', 0.012 UNION ALL SELECT 'archive', 0.002)
    JOIN (SELECT 'local' AS r, 0.0 AS factor UNION ALL SELECT 'eu-central', 1.0
          UNION ALL SELECT 'us-east', 0.92 UNION ALL SELECT 'ap-southeast', 1.12) ON r = code;
",
    r"
-- Projects create their schema: existing ones never did, so they are recorded only.
ALTER TABLE projects ADD COLUMN database TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN state TEXT NOT NULL DEFAULT 'planned'
    CHECK (state IN ('creating', 'ready', 'failed', 'planned', 'deleting'));
ALTER TABLE projects ADD COLUMN state_reason TEXT;
UPDATE projects SET database = replace(name, '-', '_'),
    state_reason = 'made before projects created their schema';
",
];

/// The database behind one mutex: SQLite serialises writers anyway, and every call is short.
#[derive(Debug)]
pub struct Db {
    connection: Mutex<Connection>,
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Create `path` if missing, readable and writable by this user only (0600), and make an
/// existing one so.
pub fn private_file(path: &Path) -> Result<(), ControlError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .and_then(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)))
        .map_err(|e| ControlError::Internal(format!("cannot make {} private: {e}", path.display())))
}

/// Create the folder `path` and any missing parents, each this user's only (0700); folders that
/// exist are left as they are (the database may sit in a shared one such as /tmp).
pub fn create_private_dirs(path: &Path) -> Result<(), ControlError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| ControlError::Internal(format!("cannot create {}: {e}", path.display())))
}

/// [`create_private_dirs`], and `path` itself made this user's only (0700) even if it existed:
/// a folder only the control plane uses (local clusters' data and secrets).
pub fn private_dir(path: &Path) -> Result<(), ControlError> {
    use std::os::unix::fs::PermissionsExt;
    create_private_dirs(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| ControlError::Internal(format!("cannot make {} private: {e}", path.display())))
}

fn internal(e: rusqlite::Error) -> ControlError {
    ControlError::Internal(format!("database: {e}"))
}

/// Who changed what, for the audit row.
#[derive(Clone, Debug)]
pub struct AuditRecord<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: String,
    pub request_id: &'a str,
    pub cluster_id: Option<i64>,
}

impl Db {
    /// Open (creating if needed) and migrate. The file, its WAL and shared-memory files are
    /// readable by this user only (0600), also when they existed before.
    pub fn open(path: &Path) -> Result<Self, ControlError> {
        private_file(path)?;
        let mut connection = Connection::open(path).map_err(|e| {
            ControlError::Internal(format!("cannot open the database {}: {e}", path.display()))
        })?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                 PRAGMA secure_delete = ON;",
            )
            .map_err(internal)?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let side = std::path::PathBuf::from(side);
            if side.exists() {
                private_file(&side)?;
            }
        }
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(internal)?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > MIGRATIONS.len() {
            return Err(ControlError::Internal(format!(
                "{} has schema version {version}; this build knows {} — a newer Lyceum wrote it",
                path.display(),
                MIGRATIONS.len()
            )));
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = connection.transaction().map_err(internal)?;
            tx.execute_batch(migration).map_err(internal)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(internal)?;
            tx.commit().map_err(internal)?;
        }
        // The project types are the library's (`ddl::PROJECT_TYPES`); the table follows them.
        for kind in &crate::source::clickhouse::ddl::PROJECT_TYPES {
            connection
                .execute(
                    "INSERT OR IGNORE INTO project_types (name) VALUES (?)",
                    params![kind.name],
                )
                .map_err(internal)?;
        }
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    /// Copy the WAL into the database file and truncate it (nothing old stays in the WAL).
    pub fn checkpoint(&self) -> Result<(), ControlError> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connection
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(internal)
    }

    /// Run a read.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ControlError>,
    ) -> Result<T, ControlError> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&connection)
    }

    /// Run a change and write its audit row in the same transaction: both land or neither.
    pub fn mutate<T>(
        &self,
        audit: &AuditRecord<'_>,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, ControlError>,
    ) -> Result<T, ControlError> {
        self.system(|tx| {
            let value = f(tx)?;
            insert_audit(tx, audit)?;
            Ok(value)
        })
    }

    /// A change made by the control plane itself (state machine), without an audit row.
    pub fn system<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, ControlError>,
    ) -> Result<T, ControlError> {
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let tx = connection.transaction().map_err(internal)?;
        let value = f(&tx)?;
        tx.commit().map_err(internal)?;
        Ok(value)
    }
}

/// Write an audit row inside `tx` (for changes whose target, such as a new cluster's id, is
/// known only inside the transaction; otherwise use [`Db::mutate`]).
pub fn insert_audit(tx: &Transaction<'_>, audit: &AuditRecord<'_>) -> Result<(), ControlError> {
    tx.execute(
        "INSERT INTO audit (at, actor, action, target, request_id, cluster_id) VALUES (?, ?, ?, ?, ?, ?)",
        params![now(), audit.actor, audit.action, audit.target, audit.request_id, audit.cluster_id],
    )
    .map_err(internal)?;
    Ok(())
}

/// `Ok(None)` for no rows, other errors as internal.
pub fn optional<T>(result: rusqlite::Result<T>) -> Result<Option<T>, ControlError> {
    result.optional().map_err(internal)
}

pub fn sql<T>(result: rusqlite::Result<T>) -> Result<T, ControlError> {
    result.map_err(internal)
}
