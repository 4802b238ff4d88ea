//! What an operator does to whole practices: suspend, resume, the overview, closing. The
//! SQL is shared with the PostgreSQL backend (`store_sql::operator!`).

/// SQLite takes the statements as they are written.
fn sql(text: &'static str) -> &'static str {
    text
}

/// A statement made at run time (a table name from the catalogue, never anything typed).
fn dynamic(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

store_sql::operator!(
    SqliteStore,
    sqlx::Sqlite,
    sql = sql,
    dynamic = dynamic,
    tables = "SELECT m.name FROM sqlite_schema m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'practice_id' ORDER BY m.name",
    defer = "PRAGMA defer_foreign_keys = ON"
);

use crate::SqliteStore;
