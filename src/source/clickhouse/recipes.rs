//! Recipes kept in the project's database, versioned: table `lyceum_recipes` (made on the
//! first save), one row per saved version with its author (the connection's user), the
//! server's time and the recipe as JSON. A save never changes an older version; loading
//! takes any version. ClickHouse has no transactions: two people saving the same name at the
//! same instant can both get the next number, and both rows are kept and listed (told apart
//! by author and time).

use serde::Deserialize;

use super::connection::Connection;
use super::error::Result;
use super::plan::{BindValue, BoundSql};

/// The table's name in the project's database.
pub const RECIPES_TABLE: &str = "lyceum_recipes";

/// One saved version.
#[derive(Clone, Debug, PartialEq, clickhouse::Row, Deserialize)]
pub struct RecipeVersion {
    pub name: String,
    pub version: u32,
    pub author: String,
    /// Epoch seconds (server time).
    pub saved_at: i64,
    pub program: String,
    /// The recipe (and what goes with it) as JSON, as the app wrote it.
    pub body: String,
}

fn table(sql: &mut BoundSql, database: &str) {
    sql.bind(BindValue::Identifier(database.to_owned()))
        .push(".")
        .bind(BindValue::Identifier(RECIPES_TABLE.to_owned()));
}

impl Connection {
    /// Save `body` as the next version of recipe `name` in `database`; the version number.
    pub async fn save_recipe_version(
        &self,
        database: &str,
        name: &str,
        program: &str,
        body: &str,
    ) -> Result<u32> {
        let mut create = BoundSql::default();
        create.push("CREATE TABLE IF NOT EXISTS ");
        table(&mut create, database);
        create.push(
            " (name String, version UInt32, author String, saved_at DateTime, program String, \
             body String) ENGINE = MergeTree() ORDER BY (name, version)",
        );
        self.execute_bound(&create).await?;
        let mut latest = BoundSql::default();
        latest.push("SELECT toUInt32(max(version)) FROM ");
        table(&mut latest, database);
        latest
            .push(" WHERE name = ")
            .bind(BindValue::Str(name.to_owned()));
        let versions: Vec<u32> = self.fetch_all(latest.to_query(self.client())).await?;
        let version = versions.first().copied().unwrap_or(0) + 1;
        let mut insert = BoundSql::default();
        insert.push("INSERT INTO ");
        table(&mut insert, database);
        insert
            .push(" SELECT ")
            .bind(BindValue::Str(name.to_owned()))
            .push(", ")
            .bind(BindValue::U64(u64::from(version)))
            .push(", ")
            .bind(BindValue::Str(self.profile().user.clone()))
            .push(", now(), ")
            .bind(BindValue::Str(program.to_owned()))
            .push(", ")
            .bind(BindValue::Str(body.to_owned()));
        self.execute_bound(&insert).await?;
        Ok(version)
    }

    /// Every saved version in `database`, newest first per name (none: no table yet).
    pub async fn recipe_versions(&self, database: &str) -> Result<Vec<RecipeVersion>> {
        let mut exists = BoundSql::default();
        exists
            .push("SELECT toUInt64(count()) FROM system.tables WHERE database = ")
            .bind(BindValue::Str(database.to_owned()))
            .push(" AND name = ")
            .bind(BindValue::Str(RECIPES_TABLE.to_owned()));
        let found: Vec<u64> = self.fetch_all(exists.to_query(self.client())).await?;
        if found.first().copied().unwrap_or(0) == 0 {
            return Ok(Vec::new());
        }
        let mut sql = BoundSql::default();
        sql.push(
            "SELECT name, version, author, toInt64(toUInt32(saved_at)) AS saved_at, program, body \
             FROM ",
        );
        table(&mut sql, database);
        sql.push(" ORDER BY name, version DESC, saved_at DESC");
        self.fetch_all(sql.to_query(self.client())).await
    }
}
