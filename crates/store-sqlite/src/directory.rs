//! The directory's listings and the operator's reviews of them. The SQL is shared with the
//! PostgreSQL backend (`store_sql::directory!`).

/// SQLite takes the statements as they are written.
fn sql(text: &'static str) -> &'static str {
    text
}

store_sql::directory!(SqliteStore, sql = sql);

use crate::SqliteStore;
