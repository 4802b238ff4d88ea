//! The practices' own keys and the host key's name: only wrapped bytes pass through here.
//! The SQL is shared with the SQLite backend (`store_sql::practice_keys!`).

store_sql::practice_keys!(
    PgStore,
    sqlx::Postgres,
    sql = crate::numbered,
    share = " FOR SHARE"
);

use crate::PgStore;
