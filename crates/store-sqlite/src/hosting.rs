//! Hosted mode: practices' hosts, suspension and the operator's overview.

use async_trait::async_trait;
use domain::hosting::{DomainName, PracticeName};
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use store::{DirectoryEntry, HostedPractice, HostingStore, PracticeHost, PracticeId, StoreResult};

use crate::{SqliteStore, affected, convert::*, map_err, practice::get};

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

pub(crate) fn count(row: &SqliteRow, column: &str) -> StoreResult<u64> {
    u64::try_from(get::<i64>(row, column)?).map_err(|_| corrupt("count"))
}

#[async_trait]
impl HostingStore for SqliteStore {
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
            "INSERT INTO practice_hosts (host, practice_id, kind, created_at) VALUES (?, ?, 'name', ?)",
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
             SELECT ?, id, ?, ? FROM practices WHERE id = ?",
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
            "DELETE FROM practice_hosts WHERE practice_id = ? AND host = ? AND kind = ?",
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

/// One process at a time uses a SQLite file, and it knows its own changes.
#[async_trait]
impl store::ChangeFeed for SqliteStore {
    async fn announce(&self, _practice: PracticeId, _change: store::Change) -> StoreResult<()> {
        Ok(())
    }

    async fn follow(
        &self,
        _heard: Box<dyn Fn(store::Heard) -> bool + Send + Sync>,
    ) -> StoreResult<bool> {
        Ok(false)
    }
}
