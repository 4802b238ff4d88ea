//! The practice's photos. The SQL is shared with the SQLite backend (`store_sql::images!`).

store_sql::images!(
    PgStore,
    sqlx::Postgres,
    sql = crate::numbered,
    lock = " FOR UPDATE"
);

use crate::PgStore;
