/// What the operations endpoints ask of the store (`store::HealthStore`): the schema version
/// read by `schema` (a statement giving one integer), the outbox's waiting mail and the
/// earliest timed job in one query, and the use of each pool named in `pools` (a field of
/// the store holding an `sqlx` pool).
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! health {
    ($store:ident, schema = $schema:literal, pools = [$(($name:literal, $pool:ident)),+ $(,)?]) => {
        #[async_trait::async_trait]
        impl store::HealthStore for $store {
            async fn health(&self) -> store::StoreResult<store::StoreHealth> {
                use crate::{MIGRATIONS, convert::timestamp, map_err};
                let schema: i64 = sqlx::query_scalar($schema)
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
                Ok(store::StoreHealth {
                    schema: u32::try_from(schema).unwrap_or(0),
                    schema_known: u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX),
                    outbox_pending: u64::try_from(pending).unwrap_or(0),
                    oldest_pending: oldest.map(timestamp).transpose()?,
                    earliest_job_due: due.map(timestamp).transpose()?,
                })
            }

            fn pools(&self) -> Vec<store::PoolUse> {
                vec![$(store::PoolUse {
                    name: $name,
                    open: self.$pool.size(),
                    idle: u32::try_from(self.$pool.num_idle()).unwrap_or(u32::MAX),
                    max: self.$pool.options().get_max_connections(),
                }),+]
            }
        }
    };
}
