//! Measures: plans, questionnaires and flags. The SQL is shared with the SQLite backend
//! (`store_sql::measures!`).

store_sql::measures!(
    PgStore,
    sql = crate::numbered,
    pack = ("json_agg(json_build_array(", "))::text")
);

use crate::PgStore;
