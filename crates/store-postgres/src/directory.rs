//! The directory's listings and the operator's reviews of them. The SQL is shared with the
//! SQLite backend (`store_sql::directory!`).

store_sql::directory!(PgStore, sql = crate::numbered);

use crate::PgStore;
