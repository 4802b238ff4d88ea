/// The practice's look (`store::LookStore`): its theme and accent (columns of `practices`),
/// and its photos, `images` and their `image_variants`, moved with the practice. `lock` is what the engine writes after a `SELECT` to hold the rows it
/// read until commit (PostgreSQL ` FOR UPDATE`; SQLite nothing, its writer is alone), so
/// that two uploads at once cannot both take a room's last place or both be the portrait.
///
/// Also the directory's copies of self-hosted practices' portraits
/// (`store::RemotePortraitStore`: `directory_remote_portraits` and their variants).
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! images {
    ($store:ident, $db:ty, sql = $sql:path, lock = $lock:literal) => {
        use jiff::Timestamp;
        use store::{
            ConflictKind, ImageInfo, ImageRole, ImageVariant, Look, LookStore, NewImage, PracticeId,
            ROOM_PHOTOS_MAX, RemotePortrait, RemotePortraitStore, StoreError, StoreResult,
        };

        use crate::{
            convert::{secs, slug, timestamp},
            map_err,
        };

        /// A change to one row: `NotFound` when there was none.
        fn found(rows: u64) -> StoreResult<()> {
            if rows == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        }

        fn dimension(value: i64) -> StoreResult<u32> {
            u32::try_from(value).map_err(|_| crate::convert::corrupt("image size"))
        }

        /// Write a photo's variants under its owner's id with `insert` (an `INSERT` of the
        /// owner, width, height, format and bytes, in that order).
        async fn insert_variants(
            tx: &mut sqlx::Transaction<'static, $db>,
            insert: &'static str,
            owner: i64,
            variants: &[ImageVariant],
        ) -> StoreResult<()> {
            for variant in variants {
                sqlx::query($sql(insert))
                    .bind(owner)
                    .bind(i64::from(variant.width))
                    .bind(i64::from(variant.height))
                    .bind(variant.format)
                    .bind(variant.bytes.as_slice())
                    .execute(&mut **tx)
                    .await
                    .map_err(map_err)?;
            }
            Ok(())
        }

        #[async_trait::async_trait]
        impl LookStore for $store {
            async fn look(&self, practice: PracticeId) -> StoreResult<Look> {
                use domain::look::{Accent, Colour, Theme};
                let (theme, accent): (String, Option<String>) = sqlx::query_as($sql(
                    "SELECT theme, accent FROM practices WHERE id = ?",
                ))
                .bind(practice.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?
                .ok_or(StoreError::NotFound)?;
                let theme = Theme::parse(&theme).ok_or_else(|| crate::convert::corrupt("theme"))?;
                // Checked when chosen; a colour the theme no longer takes gives way to its own.
                let accent = accent
                    .as_deref()
                    .and_then(Colour::parse)
                    .and_then(|colour| Accent::check(theme, colour).ok());
                Ok(Look { theme, accent })
            }

            async fn set_look(&self, practice: PracticeId, look: &Look) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let changed = sqlx::query($sql(
                    "UPDATE practices SET theme = ?, accent = ? WHERE id = ?",
                ))
                .bind(look.theme.as_str())
                .bind(look.accent.map(|a| a.colour().hex()))
                .bind(practice.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
                found(changed)?;
                tx.commit().await.map_err(map_err)
            }

            async fn save_image(
                &self,
                practice: PracticeId,
                image: &NewImage,
                now: Timestamp,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let (location, position) = match &image.role {
                    ImageRole::Portrait => {
                        // The practice's row is the portrait's lock: one upload at a time
                        // replaces it.
                        sqlx::query_scalar::<_, i64>($sql(concat!(
                            "SELECT id FROM practices WHERE id = ?",
                            $lock
                        )))
                        .bind(practice.get())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(map_err)?
                        .ok_or(StoreError::NotFound)?;
                        sqlx::query($sql(
                            "DELETE FROM images WHERE practice_id = ? AND role = 'portrait'",
                        ))
                        .bind(practice.get())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                        (None, 0)
                    }
                    ImageRole::Room(room) => {
                        let location: i64 = sqlx::query_scalar($sql(concat!(
                            "SELECT id FROM locations WHERE practice_id = ? AND slug = ?",
                            $lock
                        )))
                        .bind(practice.get())
                        .bind(room.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(map_err)?
                        .ok_or(StoreError::NotFound)?;
                        let (count, next): (i64, i64) = sqlx::query_as($sql(
                            "SELECT COUNT(*), COALESCE(MAX(position) + 1, 0) FROM images
                             WHERE location_id = ? AND role = 'room'",
                        ))
                        .bind(location)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map_err)?;
                        if usize::try_from(count).unwrap_or(usize::MAX) >= ROOM_PHOTOS_MAX {
                            return Err(StoreError::Conflict(ConflictKind::TooManyPhotos));
                        }
                        // Places left by deleted photos are taken again only at the end.
                        let position = if usize::try_from(next).unwrap_or(usize::MAX) < ROOM_PHOTOS_MAX {
                            next
                        } else {
                            sqlx::query_scalar($sql(
                                "SELECT CAST(MIN(p.n) AS BIGINT) FROM (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2
                                  UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) p
                                 WHERE p.n NOT IN (SELECT position FROM images
                                                   WHERE location_id = ? AND role = 'room')",
                            ))
                            .bind(location)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(map_err)?
                        };
                        (Some(location), position)
                    }
                };
                let role = match image.role {
                    ImageRole::Portrait => "portrait",
                    ImageRole::Room(_) => "room",
                };
                let id: i64 = sqlx::query_scalar($sql(
                    "INSERT INTO images (practice_id, key, role, location_id, position, alt, width, height, added_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                ))
                .bind(practice.get())
                .bind(&image.key)
                .bind(role)
                .bind(location)
                .bind(position)
                .bind(&image.alt)
                .bind(i64::from(image.width))
                .bind(i64::from(image.height))
                .bind(secs(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                insert_variants(
                    &mut tx,
                    "INSERT INTO image_variants (image_id, width, height, format, bytes)
                     VALUES (?, ?, ?, ?, ?)",
                    id,
                    &image.variants,
                )
                .await?;
                tx.commit().await.map_err(map_err)
            }

            async fn images(&self, practice: PracticeId) -> StoreResult<Vec<ImageInfo>> {
                type Row = (i64, String, String, Option<String>, String, i64, i64, i64);
                let rows: Vec<Row> = sqlx::query_as($sql(
                    "SELECT i.id, i.key, i.role, l.slug, i.alt, i.width, i.height, i.added_at
                     FROM images i LEFT JOIN locations l ON l.id = i.location_id
                     WHERE i.practice_id = ?
                     ORDER BY CASE i.role WHEN 'portrait' THEN 0 ELSE 1 END, l.position, l.id,
                              i.position",
                ))
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                let widths: Vec<(i64, i64)> = sqlx::query_as($sql(
                    "SELECT v.image_id, v.width FROM image_variants v
                     JOIN images i ON i.id = v.image_id
                     WHERE i.practice_id = ? AND v.format = 'jpg' ORDER BY v.image_id, v.width",
                ))
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                rows.into_iter()
                    .map(|(id, key, role, location, alt, width, height, added_at)| {
                        let role = match (role.as_str(), location) {
                            ("portrait", _) => ImageRole::Portrait,
                            ("room", Some(location)) => ImageRole::Room(slug(&location)?),
                            _ => return Err(crate::convert::corrupt("image role")),
                        };
                        Ok(ImageInfo {
                            key,
                            role,
                            alt,
                            width: dimension(width)?,
                            height: dimension(height)?,
                            widths: widths
                                .iter()
                                .filter(|(image, _)| *image == id)
                                .map(|(_, width)| dimension(*width))
                                .collect::<StoreResult<_>>()?,
                            added_at: timestamp(added_at)?,
                        })
                    })
                    .collect()
            }

            async fn image_variant(
                &self,
                practice: PracticeId,
                key: &str,
                width: u32,
                format: &str,
            ) -> StoreResult<Option<Vec<u8>>> {
                sqlx::query_scalar($sql(
                    "SELECT v.bytes FROM image_variants v JOIN images i ON i.id = v.image_id
                     WHERE i.practice_id = ? AND i.key = ? AND v.width = ? AND v.format = ?",
                ))
                .bind(practice.get())
                .bind(key)
                .bind(i64::from(width))
                .bind(format)
                .fetch_optional(self.read())
                .await
                .map_err(map_err)
            }

            async fn set_image_alt(
                &self,
                practice: PracticeId,
                key: &str,
                alt: &str,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let changed = sqlx::query($sql(
                    "UPDATE images SET alt = ? WHERE practice_id = ? AND key = ?",
                ))
                .bind(alt)
                .bind(practice.get())
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
                found(changed)?;
                tx.commit().await.map_err(map_err)
            }

            async fn delete_image(&self, practice: PracticeId, key: &str) -> StoreResult<()> {
                let mut tx = self.write().await?;
                let gone = sqlx::query($sql("DELETE FROM images WHERE practice_id = ? AND key = ?"))
                    .bind(practice.get())
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                found(gone)?;
                tx.commit().await.map_err(map_err)
            }
        }

        #[async_trait::async_trait]
        impl RemotePortraitStore for $store {
            async fn remote_portrait(&self, remote: i64) -> StoreResult<Option<RemotePortrait>> {
                // One statement, so the copy and its widths are read as of one moment.
                type Row = (
                    String,
                    i64,
                    Option<String>,
                    Option<String>,
                    Option<i64>,
                    Option<i64>,
                    Option<String>,
                    Option<i64>,
                );
                let rows: Vec<Row> = sqlx::query_as($sql(
                    "SELECT p.source, p.read_at, p.key, p.alt, p.width, p.height, p.error, v.width
                     FROM directory_remote_portraits p
                     LEFT JOIN directory_remote_portrait_variants v
                         ON v.remote_id = p.remote_id AND v.format = 'jpg'
                     WHERE p.remote_id = ? ORDER BY v.width",
                ))
                .bind(remote)
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
                let widths = rows
                    .iter()
                    .filter_map(|row| row.7)
                    .map(dimension)
                    .collect::<StoreResult<Vec<u32>>>()?;
                let Some((source, read_at, key, alt, width, height, error, _)) =
                    rows.into_iter().next()
                else {
                    return Ok(None);
                };
                let read_at = timestamp(read_at)?;
                let image = match (key, alt, width, height, error) {
                    (Some(key), Some(alt), Some(width), Some(height), None) => Ok(ImageInfo {
                        key,
                        role: ImageRole::Portrait,
                        alt,
                        width: dimension(width)?,
                        height: dimension(height)?,
                        widths,
                        added_at: read_at,
                    }),
                    (None, None, None, None, Some(error)) => Err(error),
                    _ => return Err(crate::convert::corrupt("remote portrait")),
                };
                Ok(Some(RemotePortrait { source, read_at, image }))
            }

            async fn set_remote_portrait_alt(&self, remote: i64, alt: &str) -> StoreResult<()> {
                let mut tx = self.write().await?;
                sqlx::query($sql(
                    "UPDATE directory_remote_portraits SET alt = ?
                     WHERE remote_id = ? AND key IS NOT NULL",
                ))
                .bind(alt)
                .bind(remote)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn set_remote_portrait(
                &self,
                remote: i64,
                portrait: Option<(&str, Result<&NewImage, &str>)>,
                now: Timestamp,
            ) -> StoreResult<()> {
                let mut tx = self.write().await?;
                // Hold the remote (two processes never write its copy at once), and do
                // nothing if it has been removed meanwhile.
                let there: Option<i64> = sqlx::query_scalar($sql(concat!(
                    "SELECT id FROM directory_remotes WHERE id = ?",
                    $lock
                )))
                .bind(remote)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                if there.is_none() {
                    return Ok(());
                }
                sqlx::query($sql("DELETE FROM directory_remote_portraits WHERE remote_id = ?"))
                    .bind(remote)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if let Some((source, read)) = portrait {
                    let image = read.ok();
                    sqlx::query($sql(
                        "INSERT INTO directory_remote_portraits
                             (remote_id, source, read_at, key, alt, width, height, error)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    ))
                    .bind(remote)
                    .bind(source)
                    .bind(secs(now))
                    .bind(image.map(|i| i.key.as_str()))
                    .bind(image.map(|i| i.alt.as_str()))
                    .bind(image.map(|i| i64::from(i.width)))
                    .bind(image.map(|i| i64::from(i.height)))
                    .bind(read.err())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    if let Some(image) = image {
                        insert_variants(
                            &mut tx,
                            "INSERT INTO directory_remote_portrait_variants
                                 (remote_id, width, height, format, bytes)
                             VALUES (?, ?, ?, ?, ?)",
                            remote,
                            &image.variants,
                        )
                        .await?;
                    }
                }
                tx.commit().await.map_err(map_err)
            }

            async fn remote_portrait_variant(
                &self,
                remote: i64,
                key: &str,
                width: u32,
                format: &str,
            ) -> StoreResult<Option<Vec<u8>>> {
                sqlx::query_scalar($sql(
                    "SELECT v.bytes FROM directory_remote_portrait_variants v
                     JOIN directory_remote_portraits p ON p.remote_id = v.remote_id
                     WHERE v.remote_id = ? AND p.key = ? AND v.width = ? AND v.format = ?",
                ))
                .bind(remote)
                .bind(key)
                .bind(i64::from(width))
                .bind(format)
                .fetch_optional(self.read())
                .await
                .map_err(map_err)
            }
        }
    };
}
