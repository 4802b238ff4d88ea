//! Measures: plans, questionnaires and flags. The SQL is shared with the PostgreSQL backend
//! (`store_sql::measures!`).

/// SQLite takes the statements as they are written.
fn sql(text: &'static str) -> &'static str {
    text
}

store_sql::measures!(
    SqliteStore,
    sql = sql,
    pack = ("json_group_array(json_array(", "))")
);

use crate::SqliteStore;
