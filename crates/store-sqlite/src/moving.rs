//! Moving a practice: its rows read by the catalogue and written as a new practice. The SQL
//! is shared with the PostgreSQL backend (`store_sql::moving!`).

/// SQLite takes the statements as they are written.
fn sql(text: &'static str) -> &'static str {
    text
}

/// A statement made at run time (names from the catalogue, never anything typed).
fn dynamic(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// SQLite keeps any value of a column's type from a plain placeholder.
fn placeholder(_declared: &str) -> &'static str {
    "?"
}

store_sql::moving!(
    SqliteStore,
    sqlx::Sqlite,
    sql = sql,
    dynamic = dynamic,
    columns = "SELECT m.name, c.name, c.type FROM sqlite_schema m
               JOIN pragma_table_info(m.name) c
               WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
               ORDER BY m.name, c.cid",
    foreign_keys = "SELECT m.name, f.\"from\", f.\"table\" FROM sqlite_schema m
                    JOIN pragma_foreign_key_list(m.name) f
                    WHERE m.type = 'table' ORDER BY 1, 2",
    integer = "",
    placeholder = placeholder,
    reserve = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
               SELECT (SELECT COALESCE(MAX(id), 0) FROM {table}) + i FROM n ORDER BY i",
    snapshot = "",
    defer = "PRAGMA defer_foreign_keys = ON",
    hold_host_key = crate::keys::hold_host_key
);

use crate::SqliteStore;
