//! The practices' own keys and the host key's name: only wrapped bytes pass through here.
//! The SQL is shared with the PostgreSQL backend (`store_sql::practice_keys!`).

/// SQLite takes the statements as they are written.
fn sql(text: &'static str) -> &'static str {
    text
}

store_sql::practice_keys!(SqliteStore, sqlx::Sqlite, sql = sql, share = "");

use crate::SqliteStore;
