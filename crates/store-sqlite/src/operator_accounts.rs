//! The operator console's accounts and sessions, the deployment's own rate counters, and
//! staff password links. The SQL is shared with the PostgreSQL backend
//! (`store_sql::operator_accounts!`).

/// SQLite takes the statements as they are written.
fn sql(text: &'static str) -> &'static str {
    text
}

store_sql::operator_accounts!(SqliteStore, sqlx::Sqlite, sql = sql);

use crate::SqliteStore;
