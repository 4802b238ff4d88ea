/// The claims on practices' timed jobs (`LimitStore::claim_jobs`), as a `pub(crate)` method
/// `claim_job_runs` of the store: one multi-row upsert per 500 practices, in one
/// transaction, that succeeds for each practice in one process per period. `dynamic` turns a
/// statement made at run time into what the driver takes.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! job_claims {
    ($store:ident, dynamic = $dynamic:path) => {
        impl $store {
            pub(crate) async fn claim_job_runs(
                &self,
                practices: &[store::PracticeId],
                now: jiff::Timestamp,
                every: jiff::SignedDuration,
            ) -> store::StoreResult<Vec<store::PracticeId>> {
                use crate::{convert::secs, map_err};
                let next = now.checked_add(every).unwrap_or(now);
                let mut sorted = practices.to_vec();
                // In one order everywhere, so two processes claiming at once never wait on
                // each other in a circle.
                sorted.sort_unstable();
                sorted.dedup();
                let mut claimed = Vec::new();
                let mut tx = self.write().await?;
                for chunk in sorted.chunks(500) {
                    let rows = vec!["(?, ?)"; chunk.len()].join(", ");
                    let mut query = sqlx::query_scalar::<_, i64>($dynamic(format!(
                        "INSERT INTO job_runs (practice_id, next_at) VALUES {rows}
                         ON CONFLICT (practice_id) DO UPDATE SET next_at = excluded.next_at
                         WHERE job_runs.next_at <= ?
                         RETURNING practice_id"
                    )));
                    for practice in chunk {
                        query = query.bind(practice.get()).bind(secs(next));
                    }
                    let ids = query
                        .bind(secs(now))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    claimed.extend(ids.into_iter().map(store::PracticeId::new));
                }
                tx.commit().await.map_err(map_err)?;
                claimed.sort_unstable();
                Ok(claimed)
            }
        }
    };
}
