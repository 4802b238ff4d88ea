/// The directory's storage (`DirectoryStore`), implemented for the store: each practice's
/// listing settings (`directory_listings`, moved with the practice) and the operator's
/// review of it (`directory_reviews`, deployment state). `sql` turns a statement written
/// with `?` placeholders into what the driver takes.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! directory {
    ($store:ident, sql = $sql:path) => {
        use jiff::Timestamp;
        use store::{
            DirectoryStore, FetchOutcome, RemoteListing, RemoteListingStore, HiddenListing, ListedPractice, ListingReview, PracticeId,
            RegistrationCheck, StoreResult, StoredListing, settings_from_json, settings_json,
        };

        use crate::{
            convert::{date, opt_timestamp, secs, timestamp},
            map_err,
        };

        /// A remote's row: id, address, added at, added by, document, etag, heard at, tried
        /// at, error, then its review's columns (as a `ReviewRow`).
        type RemoteRow = (
            i64,
            String,
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );

        fn remote(row: RemoteRow) -> StoreResult<RemoteListing> {
            let (id, address, added_at, added_by, document, etag, heard_at, tried_at, error, body, number, on, by, reason, hidden_at, hidden_by) = row;
            Ok(RemoteListing {
                id,
                address,
                added_at: timestamp(added_at)?,
                added_by,
                document,
                etag,
                heard_at: opt_timestamp(heard_at)?,
                tried_at: opt_timestamp(tried_at)?,
                error,
                review: review((body, number, on, by, reason, hidden_at, hidden_by))?,
            })
        }

        #[async_trait::async_trait]
        impl RemoteListingStore for $store {
            async fn add_remote(
                &self,
                address: &str,
                by: &str,
                now: Timestamp,
            ) -> StoreResult<Option<i64>> {
                let mut tx = self.write().await?;
                let id: Option<i64> = sqlx::query_scalar($sql(
                    "INSERT INTO directory_remotes (address, added_at, added_by, next_fetch_at)
                     VALUES (?, ?, ?, ?) ON CONFLICT (address) DO NOTHING RETURNING id",
                ))
                .bind(address)
                .bind(secs(now))
                .bind(by)
                .bind(secs(now))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(id)
            }

            async fn remotes(&self) -> StoreResult<Vec<RemoteListing>> {
                let rows: Vec<RemoteRow> = sqlx::query_as($sql(
                    "SELECT id, address, added_at, added_by, document, etag, heard_at, tried_at, error,
                         checked_body, checked_number, checked_on, checked_by, hidden_reason, hidden_at, hidden_by FROM directory_remotes ORDER BY id",
                ))
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                rows.into_iter().map(remote).collect()
            }

            async fn claim_remote_fetches(
                &self,
                now: Timestamp,
                every: jiff::SignedDuration,
                limit: u32,
            ) -> StoreResult<Vec<RemoteListing>> {
                let next = now.checked_add(every).unwrap_or(now);
                let mut tx = self.write().await?;
                let rows: Vec<RemoteRow> = sqlx::query_as($sql(
                    "UPDATE directory_remotes SET next_fetch_at = ?
                     WHERE next_fetch_at <= ? AND id IN (
                         SELECT id FROM directory_remotes WHERE next_fetch_at <= ?
                         ORDER BY next_fetch_at, id LIMIT ?)
                     RETURNING id, address, added_at, added_by, document, etag, heard_at, tried_at, error,
                         checked_body, checked_number, checked_on, checked_by, hidden_reason, hidden_at, hidden_by",
                ))
                .bind(secs(next))
                .bind(secs(now))
                .bind(secs(now))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                let mut claimed: Vec<RemoteListing> =
                    rows.into_iter().map(remote).collect::<StoreResult<_>>()?;
                claimed.sort_by_key(|r| r.id);
                Ok(claimed)
            }

            async fn record_fetch(
                &self,
                id: i64,
                outcome: &FetchOutcome,
                now: Timestamp,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let query = match outcome {
                    FetchOutcome::Listing { document, etag } => sqlx::query($sql(
                        "UPDATE directory_remotes SET document = ?, etag = ?, heard_at = ?,
                             tried_at = ?, error = NULL WHERE id = ?",
                    ))
                    .bind(document.clone())
                    .bind(etag.clone())
                    .bind(secs(now))
                    .bind(secs(now)),
                    FetchOutcome::NotModified => sqlx::query($sql(
                        "UPDATE directory_remotes SET heard_at = ?, tried_at = ?, error = NULL
                         WHERE id = ?",
                    ))
                    .bind(secs(now))
                    .bind(secs(now)),
                    FetchOutcome::Failed(error) => sqlx::query($sql(
                        "UPDATE directory_remotes SET tried_at = ?, error = ? WHERE id = ?",
                    ))
                    .bind(secs(now))
                    .bind(error.clone()),
                };
                query.bind(id).execute(&mut *tx).await.map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn remote(&self, id: i64) -> StoreResult<Option<RemoteListing>> {
                let row: Option<RemoteRow> = sqlx::query_as($sql(
                    "SELECT id, address, added_at, added_by, document, etag, heard_at, tried_at, error,
                         checked_body, checked_number, checked_on, checked_by, hidden_reason, hidden_at, hidden_by FROM directory_remotes WHERE id = ?",
                ))
                .bind(id)
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?;
                row.map(remote).transpose()
            }

            async fn set_remote_check(
                &self,
                id: i64,
                check: Option<&RegistrationCheck>,
            ) -> StoreResult<bool> {
                let mut tx = self.write().await?;
                let done = sqlx::query($sql(
                    "UPDATE directory_remotes SET checked_body = ?, checked_number = ?,
                         checked_on = ?, checked_by = ? WHERE id = ?",
                ))
                .bind(check.map(|c| c.body.clone()))
                .bind(check.map(|c| c.number.clone()))
                .bind(check.map(|c| c.checked_on.to_string()))
                .bind(check.map(|c| c.by.clone()))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_remote_hidden(
                &self,
                id: i64,
                hidden: Option<&HiddenListing>,
            ) -> StoreResult<bool> {
                let mut tx = self.write().await?;
                let done = sqlx::query($sql(
                    "UPDATE directory_remotes SET hidden_reason = ?, hidden_at = ?, hidden_by = ?
                     WHERE id = ?",
                ))
                .bind(hidden.map(|h| h.reason.clone()))
                .bind(hidden.map(|h| secs(h.at)))
                .bind(hidden.map(|h| h.by.clone()))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn remove_remote(&self, id: i64) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql("DELETE FROM directory_remotes WHERE id = ?"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }
        }

        /// A listing's row: practice, public id, settings, updated at.
        type ListingRow = (i64, String, String, i64);
        /// A review's columns: body, number, checked on, checked by, hidden reason, hidden
        /// at, hidden by.
        type ReviewRow = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );

        fn stored(row: &ListingRow) -> StoreResult<StoredListing> {
            Ok(StoredListing {
                id: row.1.clone(),
                settings: settings_from_json(&row.2)?,
                updated_at: timestamp(row.3)?,
            })
        }

        fn review(row: ReviewRow) -> StoreResult<ListingReview> {
            let (body, number, checked_on, checked_by, reason, hidden_at, hidden_by) = row;
            let checked = match (body, number, checked_on, checked_by) {
                (Some(body), Some(number), Some(on), Some(by)) => Some(RegistrationCheck {
                    body,
                    number,
                    checked_on: date(&on)?,
                    by,
                }),
                _ => None,
            };
            let hidden = match (reason, hidden_at, hidden_by) {
                (Some(reason), Some(at), Some(by)) => Some(HiddenListing {
                    reason,
                    at: timestamp(at)?,
                    by,
                }),
                _ => None,
            };
            Ok(ListingReview { checked, hidden })
        }

        #[async_trait::async_trait]
        impl DirectoryStore for $store {
            async fn listing_settings(
                &self,
                practice: PracticeId,
            ) -> StoreResult<Option<StoredListing>> {
                let row: Option<ListingRow> = sqlx::query_as($sql(
                    "SELECT practice_id, public_id, settings, updated_at
                     FROM directory_listings WHERE practice_id = ?",
                ))
                .bind(practice.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?;
                row.as_ref().map(stored).transpose()
            }

            async fn save_listing_settings(
                &self,
                practice: PracticeId,
                settings: &domain::directory::ListingSettings,
                new_id: &str,
                now: Timestamp,
            ) -> StoreResult<StoredListing> {
                let mut tx = self.write().await?;
                let row: ListingRow = sqlx::query_as($sql(
                    "INSERT INTO directory_listings (practice_id, public_id, listed, settings, updated_at)
                     VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (practice_id) DO UPDATE SET listed = excluded.listed,
                         settings = excluded.settings, updated_at = excluded.updated_at
                     RETURNING practice_id, public_id, settings, updated_at",
                ))
                .bind(practice.get())
                .bind(new_id)
                .bind(i64::from(settings.listed))
                .bind(settings_json(settings))
                .bind(secs(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                stored(&row)
            }

            async fn listed_practices(&self) -> StoreResult<Vec<ListedPractice>> {
                let rows: Vec<(i64, String, String, i64, ReviewRow)> = sqlx::query_as::<
                    _,
                    (
                        i64,
                        String,
                        String,
                        i64,
                        Option<String>,
                        Option<String>,
                        Option<String>,
                        Option<String>,
                        Option<String>,
                        Option<i64>,
                        Option<String>,
                    ),
                >($sql(
                    "SELECT l.practice_id, l.public_id, l.settings, l.updated_at,
                         r.checked_body, r.checked_number, r.checked_on, r.checked_by,
                         r.hidden_reason, r.hidden_at, r.hidden_by
                     FROM directory_listings l
                     LEFT JOIN directory_reviews r ON r.practice_id = l.practice_id
                     WHERE l.listed = 1 ORDER BY l.practice_id",
                ))
                .fetch_all(self.read())
                .await
                .map_err(map_err)?
                .into_iter()
                .map(|r| (r.0, r.1, r.2, r.3, (r.4, r.5, r.6, r.7, r.8, r.9, r.10)))
                .collect();
                rows.into_iter()
                    .map(|(id, public_id, settings, updated_at, r)| {
                        Ok(ListedPractice {
                            practice: PracticeId::new(id),
                            listing: stored(&(id, public_id, settings, updated_at))?,
                            review: review(r)?,
                        })
                    })
                    .collect()
            }

            async fn listing_review(&self, practice: PracticeId) -> StoreResult<ListingReview> {
                let row: Option<ReviewRow> = sqlx::query_as($sql(
                    "SELECT checked_body, checked_number, checked_on, checked_by,
                         hidden_reason, hidden_at, hidden_by
                     FROM directory_reviews WHERE practice_id = ?",
                ))
                .bind(practice.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?;
                row.map_or_else(|| Ok(ListingReview::default()), review)
            }

            async fn set_registration_check(
                &self,
                practice: PracticeId,
                check: Option<&RegistrationCheck>,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql(
                    "INSERT INTO directory_reviews (practice_id, checked_body, checked_number, checked_on, checked_by)
                     VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT (practice_id) DO UPDATE SET checked_body = excluded.checked_body,
                         checked_number = excluded.checked_number,
                         checked_on = excluded.checked_on, checked_by = excluded.checked_by",
                ))
                .bind(practice.get())
                .bind(check.map(|c| c.body.clone()))
                .bind(check.map(|c| c.number.clone()))
                .bind(check.map(|c| c.checked_on.to_string()))
                .bind(check.map(|c| c.by.clone()))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn set_listing_hidden(
                &self,
                practice: PracticeId,
                hidden: Option<&HiddenListing>,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql(
                    "INSERT INTO directory_reviews (practice_id, hidden_reason, hidden_at, hidden_by)
                     VALUES (?, ?, ?, ?)
                     ON CONFLICT (practice_id) DO UPDATE SET hidden_reason = excluded.hidden_reason,
                         hidden_at = excluded.hidden_at, hidden_by = excluded.hidden_by",
                ))
                .bind(practice.get())
                .bind(hidden.map(|h| h.reason.clone()))
                .bind(hidden.map(|h| secs(h.at)))
                .bind(hidden.map(|h| h.by.clone()))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }
        }
    };
}
