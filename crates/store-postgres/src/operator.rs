//! What an operator does to whole practices: suspend, resume, the overview, closing. The
//! SQL is shared with the SQLite backend (`store_sql::operator!`).

store_sql::operator!(
    PgStore,
    sqlx::Postgres,
    sql = crate::numbered,
    dynamic = crate::numbered,
    tables = "SELECT table_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'practice_id' ORDER BY table_name",
    defer = "SET CONSTRAINTS ALL DEFERRED"
);

use crate::PgStore;
