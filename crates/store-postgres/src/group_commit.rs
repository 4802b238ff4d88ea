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
    writer: PgPool,
}

fn stopped() -> StoreError {
    StoreError::Other("the booking writer has stopped".into())
}

impl Bookings {
    /// Start the task that makes bookings on `writer` (a pool of one connection, its own).
    pub(crate) fn start(writer: PgPool) -> Self {
        let (queue, mut waiting) = mpsc::channel::<Queued>(MAX_BATCH * 4);
        let task_writer = writer.clone();
        tokio::spawn(async move {
            let writer = task_writer;
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
        Self { queue, writer }
    }

    /// Close the writer's connection (the store is closing).
    pub(crate) async fn close(&self) {
        self.writer.close().await;
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

// Every statement below has one text however many bookings the batch holds (its rows go
// in as arrays, `unnest`ed), so each is prepared and planned once per connection: a VALUES
// list per batch size made a new statement for every size, which PostgreSQL planned again
// (and sqlx's statement cache kept evicting).

/// Bookings made before with these `(practice, idempotency key)` pairs, each found through
/// the partial index on the key (`LATERAL … OFFSET 0`: on a table the planner has no
/// statistics for yet, a plain join read the whole table for every batch).
static KEYED_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {BOOKING_COLUMNS} FROM unnest($1::int8[], $2::text[]) AS k(practice, key)
         CROSS JOIN LATERAL (SELECT * FROM bookings b WHERE b.practice_id = k.practice
            AND b.idempotency_key = k.key AND b.idempotency_key IS NOT NULL OFFSET 0) b
         JOIN appointment_types t ON t.id = b.type_id JOIN locations l ON l.id = b.location_id"
    )
});

/// The held and confirmed bookings and occupying sessions starting in each window. Each
/// window is its own index range scan (`LATERAL … OFFSET 0` keeps the planner from turning
/// them into one scan of the practice's whole diary, filtered by a hash join).
static NEAR_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH w AS (SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[])
            AS w(job, practice, lo, f, t))
         SELECT w.job, b.starts_at, b.ends_at, l.slug FROM w
         CROSS JOIN LATERAL (SELECT b.starts_at, b.ends_at, b.location_id FROM bookings b
            WHERE b.practice_id = w.practice AND b.starts_at > w.lo AND b.starts_at < w.t
              AND b.ends_at > w.f AND b.status IN ('requested', 'confirmed') OFFSET 0) b
         JOIN locations l ON l.id = b.location_id
         UNION ALL
         SELECT w.job, s.starts_at, s.ends_at, l.slug FROM w
         CROSS JOIN LATERAL (SELECT s.starts_at, s.ends_at, s.location_id FROM sessions s
            WHERE s.practice_id = w.practice AND s.starts_at > w.lo AND s.starts_at < w.t
              AND s.ends_at > w.f AND s.status IN {occupying} OFFSET 0) s
         JOIN locations l ON l.id = s.location_id
         ORDER BY 1, 2",
        occupying = crate::occupying!()
    )
});

/// The accepted bookings' columns, one array each.
#[derive(Default)]
struct BookingRows {
    practice: Vec<i64>,
    type_id: Vec<i64>,
    location_id: Vec<i64>,
    starts_at: Vec<i64>,
    ends_at: Vec<i64>,
    status: Vec<String>,
    name: Vec<String>,
    email: Vec<String>,
    phone: Vec<Option<String>>,
    contact_preference: Vec<String>,
    note: Vec<Option<String>>,
    manage_token_hash: Vec<Vec<u8>>,
    uid: Vec<String>,
    hold_expires_at: Vec<Option<i64>>,
    idempotency_key: Vec<Option<String>>,
    now: Vec<i64>,
}

impl BookingRows {
    fn push(&mut self, job: &BookJob, type_id: i64, location_id: i64) {
        let BookJob {
            practice,
            booking,
            now,
            ..
        } = job;
        let v = &booking.visitor;
        self.practice.push(practice.get());
        self.type_id.push(type_id);
        self.location_id.push(location_id);
        self.starts_at.push(secs(booking.start));
        self.ends_at.push(secs(booking.end));
        self.status.push(booking.status.as_str().to_owned());
        self.name.push(v.name.as_str().to_owned());
        self.email.push(v.email.as_str().to_owned());
        self.phone
            .push(v.phone.as_ref().map(|p| p.as_str().to_owned()));
        self.contact_preference
            .push(v.contact_preference.as_str().to_owned());
        self.note.push(v.note.clone());
        self.manage_token_hash
            .push(booking.manage_token_hash.clone());
        self.uid.push(booking.uid.clone());
        self.hold_expires_at.push(booking.hold_expires_at.map(secs));
        self.idempotency_key.push(booking.idempotency_key.clone());
        self.now.push(secs(*now));
    }

    fn bind(self, query: PgQuery<'_>) -> PgQuery<'_> {
        query
            .bind(self.practice)
            .bind(self.type_id)
            .bind(self.location_id)
            .bind(self.starts_at)
            .bind(self.ends_at)
            .bind(self.status)
            .bind(self.name)
            .bind(self.email)
            .bind(self.phone)
            .bind(self.contact_preference)
            .bind(self.note)
            .bind(self.manage_token_hash)
            .bind(self.uid)
            .bind(self.hold_expires_at)
            .bind(self.idempotency_key)
            .bind(self.now)
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

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
        let query = sqlx::query(sqlx::AssertSqlSafe(KEYED_SQL.as_str()))
            .bind(keyed.iter().map(|(_, p, _)| p.get()).collect::<Vec<i64>>())
            .bind(
                keyed
                    .iter()
                    .map(|(_, _, k)| (*k).to_owned())
                    .collect::<Vec<String>>(),
            );
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
        let query = sqlx::query(
            "SELECT 'type' AS kind, practice_id, slug, id FROM appointment_types
                WHERE (practice_id, slug) IN (SELECT * FROM unnest($1::int8[], $2::text[]))
             UNION ALL
             SELECT 'location' AS kind, practice_id, slug, id FROM locations
                WHERE (practice_id, slug) IN (SELECT * FROM unnest($1::int8[], $3::text[]))",
        )
        .bind(
            pending
                .iter()
                .map(|&i| jobs[i].practice.get())
                .collect::<Vec<i64>>(),
        )
        .bind(
            pending
                .iter()
                .map(|&i| jobs[i].booking.appointment_type.as_str().to_owned())
                .collect::<Vec<String>>(),
        )
        .bind(
            pending
                .iter()
                .map(|&i| jobs[i].booking.location.as_str().to_owned())
                .collect::<Vec<String>>(),
        );
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
        let windows = known.iter().map(|&(i, _, _)| (i, jobs[i]));
        let (mut job_ids, mut practices, mut lows, mut froms, mut tos) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, job) in windows {
            job_ids.push(i64::try_from(i).unwrap_or(i64::MAX));
            practices.push(job.practice.get());
            // No appointment is longer than this: the indexed scan stays in the window.
            lows.push(secs(job.recheck.from) - MAX_APPOINTMENT_SECS);
            froms.push(secs(job.recheck.from));
            tos.push(secs(job.recheck.to));
        }
        let query = sqlx::query(sqlx::AssertSqlSafe(NEAR_SQL.as_str()))
            .bind(job_ids)
            .bind(practices)
            .bind(lows)
            .bind(froms)
            .bind(tos);
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
        let mut rows = BookingRows::default();
        for &(i, type_id, location_id) in &accepted {
            rows.push(jobs[i], type_id, location_id);
        }
        let query = rows.bind(sqlx::query(
            "INSERT INTO bookings (practice_id, type_id, location_id, starts_at, ends_at, status, name, email, phone,
                contact_preference, note, manage_token_hash, uid, hold_expires_at, idempotency_key, created_at, updated_at)
             SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::text[], $12::bytea[], $13::text[], $14::int8[], $15::text[],
                $16::int8[], $16::int8[])
             RETURNING id, uid",
        ));
        let mut made: HashMap<String, i64> = HashMap::new();
        for row in query.fetch_all(&mut *conn).await.map_err(map_err)? {
            made.insert(get(&row, "uid")?, get(&row, "id")?);
        }
        // Their time: one statement more for the whole batch, from what is known here (the
        // diary locks are held); the rule checks every row.
        let mut occupied = Vec::with_capacity(accepted.len());
        for &(i, _, _) in &accepted {
            let job = jobs[i];
            let id = made
                .get(&job.booking.uid)
                .copied()
                .ok_or_else(|| corrupt("inserted booking"))?;
            if job.booking.status.is_active() {
                occupied.push((
                    job.practice.get(),
                    id,
                    secs(job.booking.start),
                    secs(job.booking.end),
                ));
            }
        }
        occupancy::add_new_bookings(conn, &occupied).await?;
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
