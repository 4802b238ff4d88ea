//! What the operations endpoints ask of the store (`store_sql::health!`).

store_sql::health!(
    PgStore,
    schema = "SELECT COALESCE(MAX(version), 0) FROM anteroom_schema",
    pools = [("all", pool)]
);

use crate::PgStore;
