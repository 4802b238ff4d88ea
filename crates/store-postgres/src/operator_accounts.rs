//! The operator console's accounts and sessions, the deployment's own rate counters, and
//! staff password links. The SQL is shared with the SQLite backend
//! (`store_sql::operator_accounts!`).

store_sql::operator_accounts!(PgStore, sqlx::Postgres, sql = crate::numbered);

use crate::PgStore;
