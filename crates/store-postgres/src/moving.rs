//! Moving a practice: its rows read by the catalogue and written as a new practice. The SQL
//! is shared with the SQLite backend (`store_sql::moving!`).

/// A value for a column of type `declared`: PostgreSQL is told when a 64-bit integer goes
/// into a 32-bit column.
fn placeholder(declared: &str) -> &'static str {
    match declared {
        "integer" => "CAST(? AS integer)",
        "smallint" => "CAST(? AS smallint)",
        _ => "?",
    }
}

store_sql::moving!(
    PgStore,
    sqlx::Postgres,
    sql = crate::numbered,
    dynamic = crate::numbered,
    columns = "SELECT table_name::text, column_name::text, data_type::text
               FROM information_schema.columns WHERE table_schema = current_schema()
               ORDER BY table_name, ordinal_position",
    foreign_keys = "SELECT c.conrelid::regclass::text, a.attname::text,
                           c.confrelid::regclass::text
                    FROM pg_constraint c
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                    WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
                    ORDER BY 1, 2",
    integer = "::bigint",
    placeholder = placeholder,
    reserve = "SELECT nextval(pg_get_serial_sequence('{table}', 'id'))
               FROM generate_series(1, ?)",
    snapshot = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
    defer = "SET CONSTRAINTS ALL DEFERRED",
    hold_host_key = crate::keys::hold_host_key
);

use crate::PgStore;
