//! Hosted mode: practices' hosts, suspension and the operator's overview.

use async_trait::async_trait;
use domain::hosting::{DomainName, PracticeName};
use jiff::Timestamp;
use sqlx::postgres::PgRow;
use store::{DirectoryEntry, HostedPractice, HostingStore, PracticeHost, PracticeId, StoreResult};

use crate::{PgStore, affected, convert::*, map_err, practice::get};

/// A stored host, read back as the kind it was stored as.
pub(crate) fn host_from(kind: &str, host: &str) -> StoreResult<PracticeHost> {
    match kind {
        "name" => PracticeName::parse(host)
            .map(PracticeHost::Name)
            .map_err(|_| corrupt("practice name")),
        _ => DomainName::parse(host)
            .map(PracticeHost::Domain)
            .map_err(|_| corrupt("domain")),
    }
}

pub(crate) fn count(row: &PgRow, column: &str) -> StoreResult<u64> {
    u64::try_from(get::<i64>(row, column)?).map_err(|_| corrupt("count"))
}

#[async_trait]
impl HostingStore for PgStore {
    async fn create_hosted_practice(
        &self,
        setup: &domain::practice::PracticeSetup,
        name: &PracticeName,
        owner: &store::NewUser,
        now: Timestamp,
    ) -> StoreResult<PracticeId> {
        let mut tx = self.write().await?;
        let practice = crate::practice::insert_practice(&mut tx, setup, now).await?;
        sqlx::query(
            "INSERT INTO practice_hosts (host, practice_id, kind, created_at) VALUES ($1, $2, 'name', $3)",
        )
        .bind(name.as_str())
        .bind(practice.get())
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        crate::staff::insert_user(&mut tx, practice, owner, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(practice)
    }

    async fn add_host(
        &self,
        practice: PracticeId,
        host: &PracticeHost,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "INSERT INTO practice_hosts (host, practice_id, kind, created_at)
             SELECT $1, id, $2, $3 FROM practices WHERE id = $4",
        )
        .bind(host.as_str())
        .bind(host.kind())
        .bind(secs(now))
        .bind(practice.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        tx.commit().await.map_err(map_err)
    }

    async fn remove_host(&self, practice: PracticeId, host: &PracticeHost) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "DELETE FROM practice_hosts WHERE practice_id = $1 AND host = $2 AND kind = $3",
        )
        .bind(practice.get())
        .bind(host.as_str())
        .bind(host.kind())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        tx.commit().await.map_err(map_err)
    }

    async fn host_directory(&self) -> StoreResult<Vec<DirectoryEntry>> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT h.kind, h.host, h.practice_id, p.suspended_at
             FROM practice_hosts h JOIN practices p ON p.id = h.practice_id
             ORDER BY h.host",
        )
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|(kind, host, practice, suspended_at)| {
                Ok(DirectoryEntry {
                    host: host_from(&kind, &host)?,
                    practice: PracticeId::new(practice),
                    suspended_at: opt_timestamp(suspended_at)?,
                })
            })
            .collect()
    }

    async fn set_suspended(&self, practice: PracticeId, at: Option<Timestamp>) -> StoreResult<()> {
        self.suspend_practice(practice, at).await
    }

    async fn hosted_practices(&self) -> StoreResult<Vec<HostedPractice>> {
        self.practices_overview().await
    }

    async fn begin_closing(&self, practice: PracticeId, now: Timestamp) -> StoreResult<()> {
        self.begin_closing_practice(practice, now).await
    }

    async fn delete_practice(&self, practice: PracticeId) -> StoreResult<()> {
        self.delete_practice_rows(practice).await
    }
}

/// The channel every process listens on: payloads are `content:ID` and `diary:ID`.
pub(crate) const CHANGES: &str = "anteroom_changes";

/// A change as sent on [`CHANGES`].
pub(crate) fn payload(practice: i64, change: store::Change) -> String {
    match change {
        store::Change::Content => format!("content:{practice}"),
        store::Change::Diary => format!("diary:{practice}"),
    }
}

fn parse_payload(payload: &str) -> Option<store::Heard> {
    let (kind, id) = payload.split_once(':')?;
    let change = match kind {
        "content" => store::Change::Content,
        "diary" => store::Change::Diary,
        _ => return None,
    };
    Some(store::Heard::Changed(
        PracticeId::new(id.parse().ok()?),
        change,
    ))
}

/// Changes travel by LISTEN/NOTIFY: a notification sent inside a transaction is delivered
/// when it commits, and not at all if it rolls back.
#[async_trait]
impl store::ChangeFeed for PgStore {
    async fn announce(&self, practice: PracticeId, change: store::Change) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGES)
            .bind(payload(practice.get(), change))
            .execute(self.read())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn follow(
        &self,
        heard: Box<dyn Fn(store::Heard) -> bool + Send + Sync>,
    ) -> StoreResult<bool> {
        let mut listener = sqlx::postgres::PgListener::connect_with(self.read())
            .await
            .map_err(map_err)?;
        listener.listen(CHANGES).await.map_err(map_err)?;
        tokio::spawn(async move {
            loop {
                let still_wanted = match listener.try_recv().await {
                    Ok(Some(notification)) => match parse_payload(notification.payload()) {
                        Some(change) => heard(change),
                        None => true,
                    },
                    // The connection was lost and is made again on the next call: what was
                    // announced meanwhile is gone.
                    Ok(None) => heard(store::Heard::Missed),
                    Err(sqlx::Error::PoolClosed) => false,
                    Err(error) => {
                        tracing::warn!(%error, "the change feed failed; retrying in a second");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        heard(store::Heard::Missed)
                    }
                };
                if !still_wanted {
                    return;
                }
            }
        });
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_nonsense_is_ignored() {
        for change in [store::Change::Content, store::Change::Diary] {
            assert_eq!(
                parse_payload(&payload(42, change)),
                Some(store::Heard::Changed(PracticeId::new(42), change))
            );
        }
        for nonsense in ["", "content", "diary:x", "other:1", "content:"] {
            assert_eq!(parse_payload(nonsense), None, "{nonsense:?}");
        }
    }
}
