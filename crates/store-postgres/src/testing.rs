//! Throwaway databases for tests, on the server named by `ANTEROOM_TEST_POSTGRES_URL`
//! (`cargo xtask test` starts one and sets it).
//!
//! Each test takes a database of its own, cloned from a template that holds the migrated
//! schema (made once per schema, whoever asks first), and dropped when the test is done.
//! Without the variable a test is skipped with a note, unless `ANTEROOM_REQUIRE_POSTGRES`
//! is set (as `cargo xtask test` does), when it fails instead.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Connection, PgConnection};

/// The server's URL, if there is one to test against.
pub fn server_url() -> Option<String> {
    match std::env::var("ANTEROOM_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("ANTEROOM_REQUIRE_POSTGRES").is_none(),
                "ANTEROOM_REQUIRE_POSTGRES is set but ANTEROOM_TEST_POSTGRES_URL is not"
            );
            eprintln!(
                "note: ANTEROOM_TEST_POSTGRES_URL is not set; skipping a PostgreSQL test \
                 (`cargo xtask test` starts a server for them)"
            );
            None
        }
    }
}

/// `url` with its database name replaced by `name`.
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |scheme| scheme + 3);
    let path_start = base[authority_end..]
        .find('/')
        .map_or(base.len(), |slash| authority_end + slash);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A name for the template of this schema: a change to the migrations makes a new one.
fn template_name() -> String {
    // FNV-1a: stable across builds, unlike the standard library's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for sql in crate::MIGRATIONS {
        for byte in sql.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("anteroom_template_{hash:016x}")
}

/// A database of its own for one test, dropped (with any connections still open) when
/// this is dropped.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// The URL of the new database.
    pub url: String,
}

impl TestDatabase {
    /// A fresh database with the current schema, or `None` when there is no server to
    /// test against (see the module docs).
    pub async fn create() -> Option<Self> {
        let admin_url = server_url()?;
        let template = template_name();
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("connect to the test PostgreSQL server");
        // One maker of the template at a time, across test binaries.
        sqlx::query("SELECT pg_advisory_lock(7461)")
            .execute(&mut admin)
            .await
            .expect("lock");
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&template)
                .fetch_one(&mut admin)
                .await
                .expect("look for the template");
        if !exists {
            let building = format!("{template}_building");
            let sql = format!("DROP DATABASE IF EXISTS {building}");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .expect("drop a half-made template");
            let sql = format!("CREATE DATABASE {building}");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .expect("create the template");
            let store = crate::PgStore::connect(&with_database(&admin_url, &building), 2)
                .await
                .expect("migrate the template");
            store.close().await;
            let sql = format!("ALTER DATABASE {building} RENAME TO {template}");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .expect("name the template");
        }
        sqlx::query("SELECT pg_advisory_unlock(7461)")
            .execute(&mut admin)
            .await
            .expect("unlock");
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "anteroom_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let sql = format!("CREATE DATABASE {name} TEMPLATE {template}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .expect("clone the template");
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// A store on this database holding at most `connections` open.
    pub async fn store(&self, connections: u32) -> crate::PgStore {
        crate::PgStore::connect(&self.url, connections)
            .await
            .expect("open the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // A runtime of its own on a thread of its own: a test's runtime may be shutting
        // down, or single-threaded and blocked in this drop.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .map_err(std::io::Error::other)?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .map_err(std::io::Error::other)?;
                let _ = admin.close().await;
                Ok::<_, std::io::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("note: could not drop the test database {}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            super::with_database("postgres://a@127.0.0.1:5432/postgres", "x"),
            "postgres://a@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://a@h/db?sslmode=disable", "x"),
            "postgres://a@h/x?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://h", "x"), "postgres://h/x");
    }
}
