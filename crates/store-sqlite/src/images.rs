//! The practice's photos. The SQL is shared with the PostgreSQL backend
//! (`store_sql::images!`).

/// SQLite takes the statements as they are written.
fn sql(text: &'static str) -> &'static str {
    text
}

store_sql::images!(SqliteStore, sqlx::Sqlite, sql = sql, lock = "");

use crate::SqliteStore;
