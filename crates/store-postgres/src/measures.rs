//! Measures: plans, questionnaires and flags. The SQL is shared with the SQLite backend
//! (`store_sql::measures!`).

store_sql::measures!(PgStore, sql = crate::numbered);

use crate::PgStore;
