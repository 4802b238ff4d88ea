//! Group commit for bookings.
//!
//! Every booking must be durable (one WAL flush per commit) before it is answered, and the
//! bookings of one practice are serialised by its diary lock. Committed one at a time, a
//! practice's bookings could never go faster than one flush each. So bookings are queued to a single task that takes every
//! booking waiting at that moment (up to [`MAX_BATCH`]) and runs them in ONE transaction:
//! each is re-checked in turn against the busy times, which include the bookings made
//! earlier in the same batch, then the batch commits with one fsync, and only then is
//! anyone answered. A booking refused by its re-check wrote nothing, so it does not
//! disturb the others; anything unexpected rolls the whole batch back and each booking is
//! retried alone in its own transaction, so every caller gets its own true answer.
//!
//! A batch costs the same few statements whatever its size ([`make_all`]): SQLite itself
//! is quick, and what a booking costs is mostly the hand-over of each statement to the
//! connection's thread and back.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::{PgConnection, PgPool};
use store::{
    Booking, BookingId, BusyTime, ConflictKind, NewBooking, NewMessage, PracticeId, Recheck,
    StoreError, StoreResult,
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    Guard,
    booking::{BOOKING_COLUMNS, MAX_APPOINTMENT_SECS, booking_from_row},
    convert::*,
    enquiries::insert_message_rows,
    lock_practice, map_err, occupancy,
    practice::get,
};

/// The most bookings committed together.
const MAX_BATCH: usize = 64;

/// One booking to make: what `BookingStore::book` was given.
pub(crate) struct BookJob {
    pub practice: PracticeId,
    pub booking: NewBooking,
    pub messages: Vec<NewMessage>,
    pub recheck: Recheck,
    pub now: Timestamp,
}

type Queued = (BookJob, oneshot::Sender<StoreResult<Booking>>);

/// The queue in front of the booking task.
#[derive(Clone)]
pub(crate) struct Bookings {
    queue: mpsc::Sender<Queued>,
}

fn stopped() -> StoreError {
    StoreError::Other("the booking writer has stopped".into())
}

impl Bookings {
    /// Start the task that makes bookings on `writer` (the single-connection write pool).
    pub(crate) fn start(writer: PgPool) -> Self {
        let (queue, mut waiting) = mpsc::channel::<Queued>(MAX_BATCH * 4);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let results = commit(&writer, &batch).await;
                for ((_, reply), result) in batch.drain(..).zip(results) {
                    // The caller may have gone (a closed connection): the booking stands,
                    // and a retry with the same idempotency key finds it.
                    let _ = reply.send(result);
                }
            }
        });
        Self { queue }
    }

    /// Make one booking; returns once it is committed (or refused).
    pub(crate) async fn book(&self, job: BookJob) -> StoreResult<Booking> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((job, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Make every booking in `batch` and answer each, in order.
async fn commit(writer: &PgPool, batch: &[Queued]) -> Vec<StoreResult<Booking>> {
    let jobs: Vec<&BookJob> = batch.iter().map(|(job, _)| job).collect();
    match transaction(writer, &jobs).await {
        Ok(results) => results,
        Err(error) if jobs.len() == 1 => vec![Err(error)],
        Err(error) => {
            tracing::warn!(
                bookings = jobs.len(),
                %error,
                "a group commit of bookings was rolled back; making each on its own"
            );
            let mut results = Vec::with_capacity(jobs.len());
            for job in jobs {
                results.push(match transaction(writer, &[job]).await {
                    Ok(mut one) => one.pop().unwrap_or(Err(StoreError::NotFound)),
                    Err(error) => Err(error),
                });
            }
            results
        }
    }
}

/// One write transaction making `jobs` in order. `Err` means it was rolled back.
async fn transaction(writer: &PgPool, jobs: &[&BookJob]) -> StoreResult<Vec<StoreResult<Booking>>> {
    let mut tx = writer.begin().await.map_err(map_err)?;
    // The diary of every practice in the batch, in ascending order, before anything is
    // read: the re-check then sees every appointment committed by any process.
    let mut practices: Vec<i64> = jobs.iter().map(|job| job.practice.get()).collect();
    practices.sort_unstable();
    practices.dedup();
    for practice in practices {
        lock_practice(&mut tx, Guard::Diary, practice).await?;
    }
    let results = make_all(&mut tx, jobs).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(results)
}

/// `count` copies of `row`, comma-separated (placeholders only; never data).
fn rows(row: &str, count: usize) -> String {
    vec![row; count].join(", ")
}

/// A time as the database keeps it: whole seconds.
fn whole(at: Timestamp) -> StoreResult<Timestamp> {
    timestamp(secs(at))
}

/// Make `jobs`, in order, inside the caller's transaction, in a fixed number of statements
/// however many there are: look up reused idempotency keys, then the ids of the types and
/// locations asked for, then the busy times near every requested slot; re-check each slot
/// in memory against those AND against the bookings accepted before it in this batch;
/// insert the accepted bookings, then their messages.
///
/// The outer `Err` means the transaction must roll back (e.g. the database's overlap
/// backstop refused a row). An inner `Err` is a refusal that wrote nothing: the slot was
/// taken, or the type or location does not exist.
async fn make_all(
    conn: &mut PgConnection,
    jobs: &[&BookJob],
) -> StoreResult<Vec<StoreResult<Booking>>> {
    let mut results: Vec<Option<StoreResult<Booking>>> = jobs.iter().map(|_| None).collect();

    // 1. A key used before returns the booking it made.
    let keyed: Vec<(usize, PracticeId, &str)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, job)| Some((i, job.practice, job.booking.idempotency_key.as_deref()?)))
        .collect();
    if !keyed.is_empty() {
        // A join, not `IN`, so that the partial index on the key is used.
        let sql = format!(
            "WITH k(practice, key) AS (VALUES {})
             SELECT {BOOKING_COLUMNS} FROM k
             JOIN bookings b ON b.practice_id = k.practice AND b.idempotency_key = k.key
                AND b.idempotency_key IS NOT NULL
             JOIN appointment_types t ON t.id = b.type_id JOIN locations l ON l.id = b.location_id",
            rows("(?, ?)", keyed.len())
        );
        let mut query = sqlx::query(crate::numbered(sql));
        for (_, practice, key) in &keyed {
            query = query.bind(practice.get()).bind(*key);
        }
        let mut earlier = HashMap::new();
        for row in query.fetch_all(&mut *conn).await.map_err(map_err)? {
            let key: (i64, String) = (get(&row, "practice_id")?, get(&row, "idempotency_key")?);
            earlier.insert(key, booking_from_row(&row)?);
        }
        for (i, practice, key) in keyed {
            if let Some(booking) = earlier.get(&(practice.get(), key.to_owned())) {
                results[i] = Some(Ok(booking.clone()));
            }
        }
    }

    // 2. The ids of the types and locations asked for.
    let pending: Vec<usize> = (0..jobs.len()).filter(|&i| results[i].is_none()).collect();
    let mut ids: HashMap<(&str, i64, String), i64> = HashMap::new();
    if !pending.is_empty() {
        let pairs = rows("(?, ?)", pending.len());
        let sql = format!(
            "SELECT 'type' AS kind, practice_id, slug, id FROM appointment_types WHERE (practice_id, slug) IN (VALUES {pairs})
             UNION ALL
             SELECT 'location' AS kind, practice_id, slug, id FROM locations WHERE (practice_id, slug) IN (VALUES {pairs})"
        );
        let mut query = sqlx::query(crate::numbered(sql));
        for &i in &pending {
            query = query
                .bind(jobs[i].practice.get())
                .bind(jobs[i].booking.appointment_type.as_str());
        }
        for &i in &pending {
            query = query
                .bind(jobs[i].practice.get())
                .bind(jobs[i].booking.location.as_str());
        }
        for row in query.fetch_all(&mut *conn).await.map_err(map_err)? {
            let kind = if get::<String>(&row, "kind")? == "type" {
                "type"
            } else {
                "location"
            };
            ids.insert(
                (kind, get(&row, "practice_id")?, get(&row, "slug")?),
                get(&row, "id")?,
            );
        }
    }
    let id_of = |kind: &'static str, job: &BookJob, slug: &str| {
        ids.get(&(kind, job.practice.get(), slug.to_owned()))
            .copied()
    };
    let mut known = Vec::with_capacity(pending.len());
    for i in pending {
        let job = jobs[i];
        match (
            id_of("type", job, job.booking.appointment_type.as_str()),
            id_of("location", job, job.booking.location.as_str()),
        ) {
            (Some(type_id), Some(location_id)) => known.push((i, type_id, location_id)),
            _ => results[i] = Some(Err(StoreError::NotFound)),
        }
    }

    // 3. The held and confirmed bookings and occupied sessions in each slot's re-check window.
    let mut near: Vec<Vec<BusyTime>> = jobs.iter().map(|_| Vec::new()).collect();
    if !known.is_empty() {
        let sql = format!(
            "WITH w(job, practice, lo, f, t) AS (VALUES {})
             SELECT w.job, b.starts_at, b.ends_at, l.slug FROM w
             JOIN bookings b ON b.practice_id = w.practice AND b.starts_at > w.lo AND b.starts_at < w.t
                AND b.ends_at > w.f AND b.status IN ('requested', 'confirmed')
             JOIN locations l ON l.id = b.location_id
             UNION ALL
             SELECT w.job, s.starts_at, s.ends_at, l.slug FROM w
             JOIN sessions s ON s.practice_id = w.practice AND s.starts_at > w.lo AND s.starts_at < w.t
                AND s.ends_at > w.f AND s.status IN {occupying}
             JOIN locations l ON l.id = s.location_id
             ORDER BY 1, 2",
            rows("(?, ?, ?, ?, ?)", known.len()),
            occupying = crate::occupying!()
        );
        let mut query = sqlx::query(crate::numbered(sql));
        for &(i, _, _) in &known {
            let recheck = &jobs[i].recheck;
            query = query
                .bind(i64::try_from(i).unwrap_or(i64::MAX))
                .bind(jobs[i].practice.get())
                // No appointment is longer than this: the indexed scan stays in the window.
                .bind(secs(recheck.from) - MAX_APPOINTMENT_SECS)
                .bind(secs(recheck.from))
                .bind(secs(recheck.to));
        }
        for row in query.fetch_all(&mut *conn).await.map_err(map_err)? {
            let job = usize::try_from(get::<i64>(&row, "job")?).map_err(|_| corrupt("job"))?;
            near.get_mut(job)
                .ok_or_else(|| corrupt("job"))?
                .push(BusyTime {
                    start: timestamp(get(&row, "starts_at")?)?,
                    end: timestamp(get(&row, "ends_at")?)?,
                    location: slug(&get::<String>(&row, "slug")?)?,
                });
        }
    }

    // 4. Re-check each slot, in order, against the database and the batch so far.
    let mut accepted: Vec<(usize, i64, i64)> = Vec::new();
    let mut same_as: Vec<(usize, usize)> = Vec::new();
    let mut keys_made: HashMap<(i64, &str), usize> = HashMap::new();
    for (i, type_id, location_id) in known {
        let job = jobs[i];
        let key = job.booking.idempotency_key.as_deref();
        if let Some(&first) = key.and_then(|k| keys_made.get(&(job.practice.get(), k))) {
            same_as.push((i, first));
            continue;
        }
        let mut busy = std::mem::take(&mut near[i]);
        for &(a, _, _) in &accepted {
            let other: &BookJob = jobs[a];
            let (start, end) = (whole(other.booking.start)?, whole(other.booking.end)?);
            if other.practice == job.practice && start < job.recheck.to && end > job.recheck.from {
                busy.push(BusyTime {
                    start,
                    end,
                    location: other.booking.location.clone(),
                });
            }
        }
        busy.sort_by_key(|b| b.start);
        if !(job.recheck.still_free)(&busy) {
            results[i] = Some(Err(StoreError::Conflict(ConflictKind::SlotUnavailable)));
            continue;
        }
        if let Some(key) = key {
            keys_made.insert((job.practice.get(), key), i);
        }
        accepted.push((i, type_id, location_id));
    }

    // 5. Insert the accepted bookings and their occupancy (the overlap rule checks every
    //    row), then their mail.
    if !accepted.is_empty() {
        let sql = format!(
            "INSERT INTO bookings (practice_id, type_id, location_id, starts_at, ends_at, status, name, email, phone,
                contact_preference, note, manage_token_hash, uid, hold_expires_at, idempotency_key, created_at, updated_at)
             VALUES {} RETURNING id, uid",
            rows("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", accepted.len())
        );
        let mut query = sqlx::query(crate::numbered(sql));
        for &(i, type_id, location_id) in &accepted {
            let BookJob {
                practice,
                booking,
                now,
                ..
            } = jobs[i];
            let v = &booking.visitor;
            query = query
                .bind(practice.get())
                .bind(type_id)
                .bind(location_id)
                .bind(secs(booking.start))
                .bind(secs(booking.end))
                .bind(booking.status.as_str())
                .bind(v.name.as_str())
                .bind(v.email.as_str())
                .bind(v.phone.as_ref().map(|p| p.as_str().to_owned()))
                .bind(v.contact_preference.as_str())
                .bind(v.note.clone())
                .bind(booking.manage_token_hash.clone())
                .bind(booking.uid.clone())
                .bind(booking.hold_expires_at.map(secs))
                .bind(booking.idempotency_key.clone())
                .bind(secs(*now))
                .bind(secs(*now));
        }
        let mut made: HashMap<String, i64> = HashMap::new();
        for row in query.fetch_all(&mut *conn).await.map_err(map_err)? {
            made.insert(get(&row, "uid")?, get(&row, "id")?);
        }
        // Their time: one statement more for the whole batch; the rule checks every row.
        let ids: Vec<i64> = made.values().copied().collect();
        occupancy::add_bookings(conn, &ids).await?;
        let messages: Vec<(PracticeId, &NewMessage, Timestamp)> = accepted
            .iter()
            .flat_map(|&(i, _, _)| {
                let job = jobs[i];
                job.messages.iter().map(move |m| (job.practice, m, job.now))
            })
            .collect();
        insert_message_rows(conn, messages.into_iter()).await?;
        for &(i, _, _) in &accepted {
            let booking = &jobs[i].booking;
            let id = made
                .get(&booking.uid)
                .copied()
                .ok_or_else(|| corrupt("inserted booking"))?;
            // Exactly what a read would return.
            results[i] = Some(Ok(Booking {
                id: BookingId::new(id),
                appointment_type: booking.appointment_type.clone(),
                location: booking.location.clone(),
                start: whole(booking.start)?,
                end: whole(booking.end)?,
                status: booking.status,
                visitor: booking.visitor.clone(),
                uid: booking.uid.clone(),
                sequence: 0,
                hold_expires_at: booking.hold_expires_at.map(whole).transpose()?,
                created_at: whole(jobs[i].now)?,
            }));
        }
    }
    for (i, first) in same_as {
        results[i] = match &results[first] {
            Some(Ok(booking)) => Some(Ok(booking.clone())),
            _ => Some(Err(StoreError::NotFound)),
        };
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(Err(StoreError::NotFound)))
        .collect())
}
