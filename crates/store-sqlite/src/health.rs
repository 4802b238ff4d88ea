//! What the operations endpoints ask of the store (`store::HealthStore`).

use async_trait::async_trait;
use sqlx::SqlitePool;
use store::{HealthStore, PoolUse, StoreHealth, StoreResult};

use crate::{MIGRATIONS, SqliteStore, convert::timestamp, map_err};

fn pool_use(name: &'static str, pool: &SqlitePool) -> PoolUse {
    PoolUse {
        name,
        open: pool.size(),
        idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        max: pool.options().get_max_connections(),
    }
}

#[async_trait]
impl HealthStore for SqliteStore {
    async fn health(&self) -> StoreResult<StoreHealth> {
        let schema: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(self.read())
            .await
            .map_err(map_err)?;
        let (pending, oldest, due): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE status = 'pending'),
                    (SELECT MIN(created_at) FROM outbox WHERE status = 'pending'),
                    (SELECT MIN(next_at) FROM job_runs)",
        )
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        Ok(StoreHealth {
            schema: u32::try_from(schema).unwrap_or(0),
            schema_known: u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX),
            outbox_pending: u64::try_from(pending).unwrap_or(0),
            oldest_pending: oldest.map(timestamp).transpose()?,
            earliest_job_due: due.map(timestamp).transpose()?,
        })
    }

    fn pools(&self) -> Vec<PoolUse> {
        vec![
            pool_use("read", &self.reader),
            pool_use("write", &self.writer),
        ]
    }
}
