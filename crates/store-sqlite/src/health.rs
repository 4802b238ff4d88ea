//! What the operations endpoints ask of the store (`store_sql::health!`).

store_sql::health!(
    SqliteStore,
    schema = "PRAGMA user_version",
    pools = [("read", reader), ("write", writer)]
);

use crate::SqliteStore;
