//! Booking: settings, weekly hours, breaks and bookings.

use async_trait::async_trait;
use domain::{
    ContactPreference, Slug,
    booking::{BookingMode, BookingSettings, BookingStatus, VisitorDetails},
    practice::OpeningHours,
};
use jiff::{Timestamp, civil::Time};
use sqlx::postgres::PgRow;
use store::{
    AwayId, AwayPeriod, Booking, BookingId, BookingStore, BusyTime, ConflictKind, NewBooking,
    NewMessage, PracticeId, Recheck, StoreError, StoreResult,
};

use crate::{
    PgStore, affected,
    convert::*,
    enquiries::{insert_message, insert_messages},
    group_commit::BookJob,
    map_err,
    practice::get,
};

pub(crate) async fn write_settings(
    tx: &mut sqlx::PgConnection,
    practice: PracticeId,
    settings: &BookingSettings,
) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE practices SET booking_mode = $1, request_hold_hours = $2, booking_note_enabled = $3, reminder_hours = $4
         WHERE id = $5",
    )
    .bind(settings.mode.as_str())
    .bind(i64::from(settings.request_hold_hours))
    .bind(i64::from(settings.note_enabled))
    .bind(i64::from(settings.reminder_hours))
    .bind(practice.get())
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    affected(result)
}

fn minute_of_day(time: Time) -> i64 {
    if time == Time::MAX {
        1440
    } else {
        i64::from(time.hour()) * 60 + i64::from(time.minute())
    }
}

fn time_of(minute: i64) -> StoreResult<Time> {
    if minute == 1440 {
        return Ok(Time::MAX);
    }
    let hour = i8::try_from(minute / 60).map_err(|_| corrupt("time of day"))?;
    let min = i8::try_from(minute % 60).map_err(|_| corrupt("time of day"))?;
    Time::new(hour, min, 0, 0).map_err(|_| corrupt("time of day"))
}

pub(crate) async fn insert_hours(
    tx: &mut sqlx::PgConnection,
    practice: PracticeId,
    hours: &OpeningHours,
) -> StoreResult<()> {
    let inserted = sqlx::query(
        "INSERT INTO weekly_hours (practice_id, location_id, weekday, start_minute, end_minute)
         SELECT $1, id, $2, $3, $4 FROM locations WHERE practice_id = $5 AND slug = $6",
    )
    .bind(practice.get())
    .bind(i64::from(hours.weekday.to_monday_one_offset()))
    .bind(minute_of_day(hours.start))
    .bind(minute_of_day(hours.end))
    .bind(practice.get())
    .bind(hours.location.as_str())
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    affected(inserted)
}

pub(crate) async fn insert_away(
    tx: &mut sqlx::PgConnection,
    practice: PracticeId,
    label: &str,
    start: Timestamp,
    end: Timestamp,
) -> StoreResult<AwayId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO away_periods (practice_id, starts_at, ends_at, label) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(practice.get())
    .bind(secs(start))
    .bind(secs(end))
    .bind(label)
    .fetch_one(&mut *tx)
    .await
    .map_err(map_err)?;
    Ok(AwayId::new(id))
}

pub(crate) const BOOKING_COLUMNS: &str = "b.*, t.slug AS type_slug, l.slug AS location_slug";
pub(crate) const BOOKING_JOIN: &str = "FROM bookings b JOIN appointment_types t ON t.id = b.type_id JOIN locations l ON l.id = b.location_id";

pub(crate) fn booking_from_row(row: &PgRow) -> StoreResult<Booking> {
    let note: Option<String> = get(row, "note")?;
    Ok(Booking {
        id: BookingId::new(get(row, "id")?),
        appointment_type: slug(&get::<String>(row, "type_slug")?)?,
        location: slug(&get::<String>(row, "location_slug")?)?,
        start: timestamp(get(row, "starts_at")?)?,
        end: timestamp(get(row, "ends_at")?)?,
        status: BookingStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("booking status"))?,
        visitor: VisitorDetails {
            name: name(&get::<String>(row, "name")?)?,
            email: email(&get::<String>(row, "email")?)?,
            phone: phone(get(row, "phone")?)?,
            contact_preference: ContactPreference::parse(&get::<String>(
                row,
                "contact_preference",
            )?)
            .ok_or_else(|| corrupt("contact preference"))?,
            note,
        },
        uid: get(row, "uid")?,
        sequence: u32_col(get(row, "sequence")?)?,
        hold_expires_at: opt_timestamp(get(row, "hold_expires_at")?)?,
        created_at: timestamp(get(row, "created_at")?)?,
    })
}

/// Held and confirmed bookings and occupied sessions overlapping `[from, to)`, leaving out
/// `except` (a booking being moved).
async fn busy_in(
    conn: &mut sqlx::PgConnection,
    practice: PracticeId,
    from: Timestamp,
    to: Timestamp,
    except: Option<BookingId>,
) -> StoreResult<Vec<BusyTime>> {
    // Consultations and the sessions that hold the therapist's time.
    let rows = sqlx::query(concat!(
        "SELECT b.starts_at, b.ends_at, l.slug FROM bookings b JOIN locations l ON l.id = b.location_id
         WHERE b.practice_id = $1 AND b.status IN ('requested', 'confirmed')
           AND b.starts_at < $2 AND b.ends_at > $3 AND b.starts_at > $4 AND b.id IS DISTINCT FROM $5
         UNION ALL
         SELECT s.starts_at, s.ends_at, l.slug FROM sessions s JOIN locations l ON l.id = s.location_id
         WHERE s.practice_id = $1 AND s.status IN ",
        crate::occupying!(),
        "
           AND s.starts_at < $2 AND s.ends_at > $3 AND s.starts_at > $4
         ORDER BY 1"
    ))
    .bind(practice.get())
    .bind(secs(to))
    .bind(secs(from))
    // No appointment is longer than MAX_APPOINTMENT, so this lower bound on the indexed
    // start keeps the scan to the window instead of the practice's whole history.
    .bind(secs(from) - MAX_APPOINTMENT_SECS)
    .bind(except.map(BookingId::get))
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| {
            Ok(BusyTime {
                start: timestamp(get(row, "starts_at")?)?,
                end: timestamp(get(row, "ends_at")?)?,
                location: slug(&get::<String>(row, "slug")?)?,
            })
        })
        .collect()
}

/// The longest appointment any type allows (appointment_types.minutes ≤ 240).
pub(crate) const MAX_APPOINTMENT_SECS: i64 = 240 * 60;

async fn booking_in(
    conn: &mut sqlx::PgConnection,
    practice: PracticeId,
    id: i64,
) -> StoreResult<Booking> {
    let sql = crate::numbered(format!(
        "SELECT {BOOKING_COLUMNS} {BOOKING_JOIN} WHERE b.practice_id = ? AND b.id = ?"
    ));
    let row = sqlx::query(sql)
        .bind(practice.get())
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    booking_from_row(&row)
}

/// The end of every change to one booking's time or status: refuse if nothing was updated,
/// bring its occupancy in step and queue its messages in the same transaction, commit, and
/// return the booking as it now is.
async fn finish_change(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    practice: PracticeId,
    id: BookingId,
    updated: u64,
    messages: &[NewMessage],
    now: Timestamp,
) -> StoreResult<Booking> {
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    // Its time or status changed: its occupancy follows (or the overlap rule refuses).
    crate::occupancy::sync_bookings(&mut tx, &[id.get()]).await?;
    insert_messages(&mut tx, practice, messages, now).await?;
    let stored = booking_in(&mut tx, practice, id.get()).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(stored)
}

#[async_trait]
impl BookingStore for PgStore {
    async fn booking_settings(&self, practice: PracticeId) -> StoreResult<BookingSettings> {
        let row = sqlx::query(
            "SELECT booking_mode, request_hold_hours, booking_note_enabled, reminder_hours FROM practices WHERE id = $1",
        )
        .bind(practice.get())
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        Ok(BookingSettings {
            mode: BookingMode::parse(&get::<String>(&row, "booking_mode")?)
                .ok_or_else(|| corrupt("booking mode"))?,
            request_hold_hours: u32_col(get(&row, "request_hold_hours")?)?,
            note_enabled: get::<i64>(&row, "booking_note_enabled")? == 1,
            reminder_hours: u32_col(get(&row, "reminder_hours")?)?,
        })
    }

    async fn update_booking_settings(
        &self,
        practice: PracticeId,
        settings: &BookingSettings,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        write_settings(&mut tx, practice, settings).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn opening_hours(&self, practice: PracticeId) -> StoreResult<Vec<OpeningHours>> {
        let rows = sqlx::query(
            "SELECT l.slug, h.weekday, h.start_minute, h.end_minute FROM weekly_hours h JOIN locations l ON l.id = h.location_id
             WHERE h.practice_id = $1 ORDER BY l.position, h.weekday, h.start_minute",
        )
        .bind(practice.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let day =
                    i8::try_from(get::<i64>(row, "weekday")?).map_err(|_| corrupt("weekday"))?;
                Ok(OpeningHours {
                    location: slug(&get::<String>(row, "slug")?)?,
                    weekday: jiff::civil::Weekday::from_monday_one_offset(day)
                        .map_err(|_| corrupt("weekday"))?,
                    start: time_of(get(row, "start_minute")?)?,
                    end: time_of(get(row, "end_minute")?)?,
                })
            })
            .collect()
    }

    async fn replace_opening_hours(
        &self,
        practice: PracticeId,
        location: &Slug,
        hours: &[OpeningHours],
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let deleted = sqlx::query(
            "DELETE FROM weekly_hours WHERE practice_id = $1
               AND location_id = (SELECT id FROM locations WHERE practice_id = $2 AND slug = $3)",
        )
        .bind(practice.get())
        .bind(practice.get())
        .bind(location.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let _ = deleted;
        for h in hours {
            if &h.location != location {
                return Err(StoreError::Other("hours for another location".into()));
            }
            insert_hours(&mut tx, practice, h).await?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn away_periods(&self, practice: PracticeId) -> StoreResult<Vec<AwayPeriod>> {
        let rows =
            sqlx::query("SELECT * FROM away_periods WHERE practice_id = $1 ORDER BY starts_at")
                .bind(practice.get())
                .fetch_all(self.read())
                .await
                .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(AwayPeriod {
                    id: AwayId::new(get(row, "id")?),
                    label: get(row, "label")?,
                    start: timestamp(get(row, "starts_at")?)?,
                    end: timestamp(get(row, "ends_at")?)?,
                })
            })
            .collect()
    }

    async fn add_away_period(
        &self,
        practice: PracticeId,
        label: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> StoreResult<AwayId> {
        let mut tx = self.write().await?;
        let id = insert_away(&mut tx, practice, label, start, end).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(id)
    }

    async fn delete_away_period(&self, practice: PracticeId, id: AwayId) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM away_periods WHERE practice_id = $1 AND id = $2")
            .bind(practice.get())
            .bind(id.get())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        affected(result)
    }

    async fn busy_between(
        &self,
        practice: PracticeId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<BusyTime>> {
        let mut conn = self.read().acquire().await.map_err(map_err)?;
        busy_in(&mut conn, practice, from, to, None).await
    }

    async fn book(
        &self,
        practice: PracticeId,
        booking: &NewBooking,
        messages: &[NewMessage],
        recheck: Recheck,
        now: Timestamp,
    ) -> StoreResult<Booking> {
        self.bookings
            .book(BookJob {
                practice,
                booking: booking.clone(),
                messages: messages.to_vec(),
                recheck,
                now,
            })
            .await
    }

    async fn booking_by_token(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<Option<Booking>> {
        let sql = crate::numbered(format!(
            "SELECT {BOOKING_COLUMNS} {BOOKING_JOIN} WHERE b.practice_id = ? AND b.manage_token_hash = ?"
        ));
        let row = sqlx::query(sql)
            .bind(practice.get())
            .bind(token_hash)
            .fetch_optional(self.read())
            .await
            .map_err(map_err)?;
        row.as_ref().map(booking_from_row).transpose()
    }

    async fn booking(&self, practice: PracticeId, id: BookingId) -> StoreResult<Booking> {
        let mut conn = self.read().acquire().await.map_err(map_err)?;
        booking_in(&mut conn, practice, id.get()).await
    }

    async fn bookings_between(
        &self,
        practice: PracticeId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<Booking>> {
        let sql = crate::numbered(format!(
            "SELECT {BOOKING_COLUMNS} {BOOKING_JOIN} WHERE b.practice_id = ? AND b.starts_at >= ? AND b.starts_at < ?
             ORDER BY b.starts_at, b.id"
        ));
        let rows = sqlx::query(sql)
            .bind(practice.get())
            .bind(secs(from))
            .bind(secs(to))
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        rows.iter().map(booking_from_row).collect()
    }

    async fn move_booking(
        &self,
        practice: PracticeId,
        id: BookingId,
        location: &Slug,
        start: Timestamp,
        end: Timestamp,
        messages: &[NewMessage],
        recheck: Recheck,
        now: Timestamp,
    ) -> StoreResult<Booking> {
        let mut tx = self.write().await?;
        let current = booking_in(&mut tx, practice, id.get()).await?;
        if !current.status.is_active() {
            return Err(StoreError::NotFound);
        }
        let busy = busy_in(&mut tx, practice, recheck.from, recheck.to, Some(id)).await?;
        if !(recheck.still_free)(&busy) {
            return Err(StoreError::Conflict(ConflictKind::SlotUnavailable));
        }
        let result = sqlx::query(
            "UPDATE bookings SET starts_at = $1, ends_at = $2, sequence = sequence + 1, updated_at = $3,
                location_id = (SELECT id FROM locations WHERE practice_id = $4 AND slug = $5)
             WHERE practice_id = $6 AND id = $7",
        )
        .bind(secs(start))
        .bind(secs(end))
        .bind(secs(now))
        .bind(practice.get())
        .bind(location.as_str())
        .bind(practice.get())
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        finish_change(tx, practice, id, result.rows_affected(), messages, now).await
    }

    async fn set_calendar_token(
        &self,
        practice: PracticeId,
        token_hash: Option<&[u8]>,
    ) -> StoreResult<()> {
        let result = sqlx::query("UPDATE practices SET calendar_token_hash = $1 WHERE id = $2")
            .bind(token_hash)
            .bind(practice.get())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        affected(result)
    }

    async fn calendar_token_matches(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<bool> {
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT calendar_token_hash FROM practices WHERE id = $1")
                .bind(practice.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?
                .flatten();
        Ok(stored.is_some_and(|stored| stored == token_hash))
    }

    async fn has_calendar_token(&self, practice: PracticeId) -> StoreResult<bool> {
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT calendar_token_hash FROM practices WHERE id = $1")
                .bind(practice.get())
                .fetch_optional(self.read())
                .await
                .map_err(map_err)?
                .flatten();
        Ok(stored.is_some())
    }

    async fn expired_requests(
        &self,
        practice: PracticeId,
        now: Timestamp,
    ) -> StoreResult<Vec<Booking>> {
        let sql = crate::numbered(format!(
            "SELECT {BOOKING_COLUMNS} {BOOKING_JOIN}
             WHERE b.practice_id = ? AND b.status = 'requested' AND b.hold_expires_at IS NOT NULL AND b.hold_expires_at <= ?
             ORDER BY b.starts_at"
        ));
        let rows = sqlx::query(sql)
            .bind(practice.get())
            .bind(secs(now))
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        rows.iter().map(booking_from_row).collect()
    }

    async fn reminders_due(
        &self,
        practice: PracticeId,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<Booking>> {
        let sql = crate::numbered(format!(
            "SELECT {BOOKING_COLUMNS} {BOOKING_JOIN}
             WHERE b.practice_id = ? AND b.status = 'confirmed' AND b.reminded_at IS NULL
               AND b.starts_at > ? AND b.starts_at <= ?
             ORDER BY b.starts_at"
        ));
        let rows = sqlx::query(sql)
            .bind(practice.get())
            .bind(secs(now))
            .bind(secs(until))
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        rows.iter().map(booking_from_row).collect()
    }

    async fn mark_reminded(
        &self,
        practice: PracticeId,
        id: BookingId,
        reminder: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE bookings SET reminded_at = $1 WHERE practice_id = $2 AND id = $3 AND reminded_at IS NULL AND status = 'confirmed'",
        )
        .bind(secs(now))
        .bind(practice.get())
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if result.rows_affected() == 0 {
            // Reminded already (by another worker) or no longer confirmed: send nothing.
            return Ok(());
        }
        insert_message(&mut tx, practice, reminder, now).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn set_booking_status(
        &self,
        practice: PracticeId,
        id: BookingId,
        status: BookingStatus,
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<Booking> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE bookings SET status = $1, sequence = sequence + 1, updated_at = $2,
                hold_expires_at = CASE WHEN $3 = 'requested' THEN hold_expires_at ELSE NULL END
             WHERE practice_id = $4 AND id = $5 AND status <> $6",
        )
        .bind(status.as_str())
        .bind(secs(now))
        .bind(status.as_str())
        .bind(practice.get())
        .bind(id.get())
        .bind(status.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        finish_change(tx, practice, id, result.rows_affected(), messages, now).await
    }
}
