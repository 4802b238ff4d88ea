//! Clients, contracts and their versions, sessions, the cancellation policy and charges.

use async_trait::async_trait;
use domain::{
    ContactPreference, Pence,
    availability::AwayPeriod as AwayTimes,
    practice::{parse_time, parse_weekday, weekday_label},
    therapy::{
        ContractKind, ContractTerms, Frequency, InvoiceMode, TherapySettings, WeeklyTime,
        policy::CancellationPolicy,
        schedule::Planned,
        sessions::{self, SessionFacts},
    },
};
use jiff::Timestamp;
use sqlx::{SqliteConnection, sqlite::SqliteRow};
use store::{
    AwayId, Balance, BookingId, BreakChange, Charge, ChargeId, Client, ClientId, ClientSessions,
    ConflictKind, Contract, ContractId, ContractVersion, Invoice, InvoiceId, InvoiceLine,
    NewCharge, NewClient, NewInvoice, NewMessage, Planner, PracticeId, Session, SessionId,
    SessionStatus, StoreError, StoreResult, TherapyStore,
};

use crate::{
    SqliteStore, affected, convert::*, enquiries::insert_messages, map_err, occupancy,
    practice::get,
};

/// Statuses whose session holds the therapist's time (and has an `occupancy` row).
pub(crate) const OCCUPYING: &str = crate::occupying!();

fn policy_from_row(row: &SqliteRow) -> StoreResult<CancellationPolicy> {
    let n = |column: &str| -> StoreResult<u32> { u32_col(get(row, column)?) };
    Ok(CancellationPolicy {
        version: n("version")?,
        notice_hours: n("notice_hours")?,
        grace_minutes: n("grace_minutes")?,
        late_cancellation_percent: n("late_cancellation_percent")?,
        did_not_attend_percent: n("did_not_attend_percent")?,
        free_late_cancellations: n("free_late_cancellations")?,
        free_period_days: n("free_period_days")?,
    })
}

pub(crate) fn client_from_row(row: &SqliteRow) -> StoreResult<Client> {
    Ok(Client {
        id: ClientId::new(get(row, "id")?),
        name: name(&get::<String>(row, "name")?)?,
        email: email(&get::<String>(row, "email")?)?,
        phone: phone(get(row, "phone")?)?,
        contact_preference: ContactPreference::parse(&get::<String>(row, "contact_preference")?)
            .ok_or_else(|| corrupt("contact preference"))?,
        reminders: get::<i64>(row, "reminders")? == 1,
        active: get::<String>(row, "status")? == "active",
        consultation: get::<Option<i64>>(row, "consultation_id")?.map(BookingId::new),
        created_at: timestamp(get(row, "created_at")?)?,
    })
}

/// "monday 09:00" per line.
fn times_text(times: &[WeeklyTime]) -> String {
    times
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                weekday_label(t.weekday).to_lowercase(),
                t.time.strftime("%H:%M")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_times(text: &str) -> StoreResult<Vec<WeeklyTime>> {
    text.lines()
        .map(|line| {
            let (day, time) = line
                .split_once(' ')
                .ok_or_else(|| corrupt("regular time"))?;
            Ok(WeeklyTime {
                weekday: parse_weekday(day).map_err(|_| corrupt("weekday"))?,
                time: parse_time(time).map_err(|_| corrupt("time"))?,
            })
        })
        .collect()
}

fn version_from_row(row: &SqliteRow) -> StoreResult<ContractVersion> {
    let kind = match get::<String>(row, "kind")?.as_str() {
        "brief" => ContractKind::Brief {
            focus: get(row, "focus")?,
            sessions: u32_col(get(row, "sessions")?)?,
            reviews_at: get::<String>(row, "reviews_at")?
                .split(',')
                .filter(|n| !n.is_empty())
                .map(|n| n.parse().map_err(|_| corrupt("review point")))
                .collect::<StoreResult<_>>()?,
        },
        "open_ended" => ContractKind::OpenEnded {
            review_every_weeks: u32_col(get(row, "review_every_weeks")?)?,
        },
        _ => return Err(corrupt("contract kind")),
    };
    Ok(ContractVersion {
        version: u32_col(get(row, "version")?)?,
        terms: ContractTerms {
            kind,
            frequency: Frequency::parse(&get::<String>(row, "frequency")?)
                .ok_or_else(|| corrupt("frequency"))?,
            times: parse_times(&get::<String>(row, "times")?)?,
            location: slug(&get::<String>(row, "location_slug")?)?,
            minutes: u32_col(get(row, "minutes")?)?,
            fee: Pence::new(u32_col(get(row, "fee_pence")?)?),
            start: date(&get::<String>(row, "start_date")?)?,
            policy_version: u32_col(get(row, "policy_version")?)?,
        },
        effective_from: timestamp(get(row, "effective_from")?)?,
        note: get(row, "note")?,
        created_at: timestamp(get(row, "version_created_at")?)?,
    })
}

const CONTRACT_QUERY: &str = "SELECT v.*, v.created_at AS version_created_at, c.client_id,
        c.status AS contract_status, c.created_at AS contract_created_at, l.slug AS location_slug
    FROM contracts c JOIN contract_versions v ON v.contract_id = c.id JOIN locations l ON l.id = v.location_id";

/// Group rows of [`CONTRACT_QUERY`] (ordered by contract, then version) into contracts.
fn contracts_from_rows(rows: &[SqliteRow]) -> StoreResult<Vec<Contract>> {
    let mut contracts: Vec<Contract> = Vec::new();
    for row in rows {
        let id = ContractId::new(get(row, "contract_id")?);
        let version = version_from_row(row)?;
        match contracts.last_mut() {
            Some(contract) if contract.id == id => contract.versions.push(version),
            _ => contracts.push(Contract {
                id,
                client: ClientId::new(get(row, "client_id")?),
                active: get::<String>(row, "contract_status")? == "active",
                versions: vec![version],
                created_at: timestamp(get(row, "contract_created_at")?)?,
            }),
        }
    }
    Ok(contracts)
}

const SESSION_QUERY: &str =
    "SELECT s.*, c.name AS client_name, c.email AS client_email, l.slug AS location_slug,
        ch.id AS charge_id, ch.amount_pence, ch.rule, ch.policy_version, ch.used_free_allowance,
        ch.waived_reason, ch.waived_at, ch.invoice_id
    FROM sessions s JOIN clients c ON c.id = s.client_id JOIN locations l ON l.id = s.location_id
    LEFT JOIN charges ch ON ch.session_id = s.id";

fn session_from_row(row: &SqliteRow) -> StoreResult<Session> {
    let charge = match get::<Option<i64>>(row, "charge_id")? {
        None => None,
        Some(id) => Some(Charge {
            id: ChargeId::new(id),
            amount: Pence::new(u32_col(get(row, "amount_pence")?)?),
            rule: get(row, "rule")?,
            policy_version: u32_col(get(row, "policy_version")?)?,
            used_free_allowance: get::<i64>(row, "used_free_allowance")? == 1,
            waived: match get::<Option<String>>(row, "waived_reason")? {
                Some(reason) => Some((reason, timestamp(get(row, "waived_at")?)?)),
                None => None,
            },
            invoice: get::<Option<i64>>(row, "invoice_id")?.map(InvoiceId::new),
        }),
    };
    Ok(Session {
        id: SessionId::new(get(row, "id")?),
        contract: ContractId::new(get(row, "contract_id")?),
        client: ClientId::new(get(row, "client_id")?),
        client_name: name(&get::<String>(row, "client_name")?)?,
        location: slug(&get::<String>(row, "location_slug")?)?,
        start: timestamp(get(row, "starts_at")?)?,
        end: timestamp(get(row, "ends_at")?)?,
        occurrence: timestamp(get(row, "occurrence_at")?)?,
        moved: get::<i64>(row, "moved")? == 1,
        status: SessionStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("session status"))?,
        number: get::<Option<i64>>(row, "number")?
            .map(u32_col)
            .transpose()?,
        fee: Pence::new(u32_col(get(row, "fee_pence")?)?),
        told_at: opt_timestamp(get(row, "told_at")?)?,
        uid: get(row, "uid")?,
        sequence: u32_col(get(row, "sequence")?)?,
        charge,
    })
}

pub(crate) async fn session_in(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    id: SessionId,
) -> StoreResult<Session> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SESSION_QUERY} WHERE s.practice_id = ? AND s.id = ?"
    ));
    let row = sqlx::query(sql)
        .bind(practice.get())
        .bind(id.get())
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    session_from_row(&row)
}

async fn contract_in(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    id: ContractId,
) -> StoreResult<Contract> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{CONTRACT_QUERY} WHERE c.practice_id = ? AND c.id = ? ORDER BY v.version"
    ));
    let rows = sqlx::query(sql)
        .bind(practice.get())
        .bind(id.get())
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    contracts_from_rows(&rows)?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Record what happened at a session and its charge, then plan the contract again, in the
/// caller's transaction (see `TherapyStore::record_outcome`).
pub(crate) async fn record_outcome_in(
    tx: &mut SqliteConnection,
    practice: PracticeId,
    id: SessionId,
    charge: &NewCharge,
    planner: &Planner,
    now: Timestamp,
) -> StoreResult<Session> {
    let session = session_in(tx, practice, id).await?;
    if session.status == SessionStatus::Break {
        return Err(StoreError::Conflict(ConflictKind::SessionInBreak));
    }
    if session.charge.as_ref().is_some_and(|c| c.invoice.is_some()) {
        return Err(StoreError::Conflict(ConflictKind::ChargeInvoiced));
    }
    sqlx::query("DELETE FROM charges WHERE session_id = ?")
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    sqlx::query(
        "UPDATE sessions SET status = ?, told_at = ?, recorded_at = ?, updated_at = ? WHERE id = ?",
    )
    .bind(charge.outcome.as_str())
    .bind(charge.told_at.map(secs))
    .bind(secs(now))
    .bind(secs(now))
    .bind(id.get())
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    occupancy::sync_sessions(tx, &[id.get()]).await?;
    sqlx::query(
        "INSERT INTO charges (practice_id, client_id, session_id, amount_pence, rule, policy_version,
            used_free_allowance, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(practice.get())
    .bind(session.client.get())
    .bind(id.get())
    .bind(i64::from(charge.amount.get()))
    .bind(&charge.rule)
    .bind(i64::from(charge.policy_version))
    .bind(i64::from(charge.used_free_allowance))
    .bind(secs(now))
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    let contract = contract_in(tx, practice, session.contract).await?;
    if contract.active {
        let from = contract.current().effective_from;
        replan_in(tx, practice, &contract, planner, from, now).await?;
    } else {
        renumber(tx, contract.id).await?;
    }
    session_in(tx, practice, id).await
}

fn line_from_row(line: &SqliteRow) -> StoreResult<InvoiceLine> {
    Ok(InvoiceLine {
        description: get(line, "description")?,
        detail: get(line, "detail")?,
        amount: Pence::new(u32_col(get(line, "amount_pence")?)?),
    })
}

/// An invoice from its row (joined with the client's name), with `lines`.
fn invoice_from_row(row: &SqliteRow, lines: Vec<InvoiceLine>) -> StoreResult<Invoice> {
    Ok(Invoice {
        id: InvoiceId::new(get(row, "id")?),
        number: u32_col(get(row, "number")?)?,
        client: ClientId::new(get(row, "client_id")?),
        client_name: get(row, "client_name")?,
        issued_on: date(&get::<String>(row, "issued_on")?)?,
        due_on: date(&get::<String>(row, "due_on")?)?,
        period: get(row, "period")?,
        total: Pence::new(u32_col(get(row, "total_pence")?)?),
        paid_on: get::<Option<String>>(row, "paid_on")?
            .map(|d| date(&d))
            .transpose()?,
        lines,
    })
}

async fn invoice_in(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    id: InvoiceId,
) -> StoreResult<Invoice> {
    let row = sqlx::query(
        "SELECT i.*, c.name AS client_name FROM invoices i JOIN clients c ON c.id = i.client_id
         WHERE i.practice_id = ? AND i.id = ?",
    )
    .bind(practice.get())
    .bind(id.get())
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    let lines = sqlx::query(
        "SELECT description, detail, amount_pence FROM invoice_lines WHERE invoice_id = ? ORDER BY position",
    )
    .bind(id.get())
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?
    .iter()
    .map(line_from_row)
    .collect::<StoreResult<_>>()?;
    invoice_from_row(&row, lines)
}

/// Number the contract's counting sessions 1, 2, 3… by start; the others get none.
async fn renumber(conn: &mut SqliteConnection, contract: ContractId) -> StoreResult<()> {
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE sessions SET number = n.number FROM (
            SELECT id, CASE WHEN status IN {OCCUPYING}
                THEN ROW_NUMBER() OVER (PARTITION BY status IN {OCCUPYING} ORDER BY starts_at, id)
                END AS number
            FROM sessions WHERE contract_id = ?
         ) AS n
         WHERE sessions.id = n.id AND sessions.number IS NOT n.number"
    ));
    sqlx::query(sql)
        .bind(contract.get())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Plan the contract's scheduled, unmoved sessions from `from` (never before `now`) again
/// under its current version, then renumber. Which sessions the plan may replace is the
/// domain's rule (`domain::therapy::sessions::split_for_planning`), the one the office checks
/// a plan with. Sessions the new plan keeps exactly as they are keep their ids; the others are
/// removed and the new ones inserted.
async fn replan_in(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    contract: &Contract,
    planner: &Planner,
    from: Timestamp,
    now: Timestamp,
) -> StoreResult<()> {
    let from = from.max(now);
    let (version_id, location_id) = current_version_ids(conn, contract).await?;
    let rows = sqlx::query(
        "SELECT id, occurrence_at, starts_at, ends_at, status, moved, version_id, location_id
         FROM sessions WHERE contract_id = ?",
    )
    .bind(contract.id.get())
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    // The facts the domain's rule needs, and beside them (id, start or i64::MIN, end, in
    // break) for matching a replaceable session with the new plan.
    let mut facts = Vec::with_capacity(rows.len());
    let mut stored: Vec<(i64, i64, i64, bool)> = Vec::with_capacity(rows.len());
    for row in &rows {
        let status = SessionStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("session status"))?;
        let start: i64 = get(row, "starts_at")?;
        facts.push(SessionFacts {
            start: timestamp(start)?,
            occurrence: timestamp(get(row, "occurrence_at")?)?,
            standing: status.standing(),
            moved: get::<i64>(row, "moved")? != 0,
            number: None,
        });
        let same_terms = get::<i64>(row, "version_id")? == version_id
            && get::<i64>(row, "location_id")? == location_id;
        // A session under an older version is always planned afresh.
        let key = if same_terms { start } else { i64::MIN };
        stored.push((
            get(row, "id")?,
            key,
            get(row, "ends_at")?,
            status == SessionStatus::Break,
        ));
    }
    let (kept, replaceable) = sessions::split_for_planning(&facts, from, now);
    let mut replaceable: Vec<(i64, i64, i64, bool)> =
        replaceable.into_iter().map(|i| stored[i]).collect();
    let planned = planner(&contract.current().terms, &kept, from);
    let mut fresh = Vec::new();
    for session in planned {
        let same = replaceable.iter().position(|&(_, start, end, in_break)| {
            start == secs(session.start) && end == secs(session.end) && in_break == session.in_break
        });
        match same {
            Some(index) => {
                replaceable.swap_remove(index);
            }
            None => fresh.push(session),
        }
    }
    for chunk in replaceable.chunks(500) {
        let sql = sqlx::AssertSqlSafe(format!(
            "DELETE FROM sessions WHERE id IN ({})",
            vec!["?"; chunk.len()].join(", ")
        ));
        let mut query = sqlx::query(sql);
        for (id, ..) in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await.map_err(map_err)?;
    }
    insert_sessions(
        conn,
        practice,
        contract,
        (version_id, location_id),
        &fresh,
        now,
    )
    .await?;
    renumber(conn, contract.id).await
}

/// Mark the practice's scheduled sessions overlapping `away` as in a break (renumbering
/// their contracts, giving back their time); returns whose sessions they were.
async fn mark_break_in(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    away: &AwayTimes,
) -> StoreResult<Vec<ClientId>> {
    let touched: Vec<(i64, i64, i64)> = sqlx::query_as(
        "UPDATE sessions SET status = 'break', number = NULL, sequence = sequence + 1
         WHERE practice_id = ? AND status = 'scheduled' AND starts_at < ? AND ends_at > ?
         RETURNING id, contract_id, client_id",
    )
    .bind(practice.get())
    .bind(secs(away.end))
    .bind(secs(away.start))
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    let ids: Vec<i64> = touched.iter().map(|(id, ..)| *id).collect();
    occupancy::sync_sessions(conn, &ids).await?;
    let mut contracts: Vec<i64> = touched.iter().map(|(_, c, _)| *c).collect();
    contracts.sort_unstable();
    contracts.dedup();
    for contract in contracts {
        renumber(conn, ContractId::new(contract)).await?;
    }
    let mut clients: Vec<ClientId> = touched.iter().map(|(.., c)| ClientId::new(*c)).collect();
    clients.sort_unstable();
    clients.dedup();
    Ok(clients)
}

/// Plan to tell each client about a break at a time (once per break and client; both must
/// be the practice's).
async fn add_break_notices_in(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    away: AwayId,
    notices: &[(ClientId, Timestamp)],
) -> StoreResult<()> {
    for (client, at) in notices {
        sqlx::query(
            "INSERT OR IGNORE INTO break_notices (away_id, client_id, send_at)
             SELECT a.id, c.id, ? FROM away_periods a, clients c
             WHERE a.practice_id = ? AND a.id = ? AND c.practice_id = ? AND c.id = ?",
        )
        .bind(secs(*at))
        .bind(practice.get())
        .bind(away.get())
        .bind(practice.get())
        .bind(client.get())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

/// The ids of the contract's current version and of its location.
async fn current_version_ids(
    conn: &mut SqliteConnection,
    contract: &Contract,
) -> StoreResult<(i64, i64)> {
    sqlx::query_as(
        "SELECT v.id, v.location_id FROM contract_versions v WHERE v.contract_id = ? AND v.version = ?",
    )
    .bind(contract.id.get())
    .bind(i64::from(contract.current().version))
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)
}

/// Insert planned sessions under the contract's current version, a few hundred per statement.
async fn insert_sessions(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    contract: &Contract,
    (version_id, location_id): (i64, i64),
    planned: &[Planned],
    now: Timestamp,
) -> StoreResult<()> {
    if planned.is_empty() {
        return Ok(());
    }
    let current = contract.current();
    for chunk in planned.chunks(200) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO sessions (practice_id, contract_id, client_id, version_id, location_id, occurrence_at,
                starts_at, ends_at, status, fee_pence, uid, created_at, updated_at) VALUES {rows}
             RETURNING id"
        ));
        let mut query = sqlx::query(sql);
        for session in chunk {
            query = query
                .bind(practice.get())
                .bind(contract.id.get())
                .bind(contract.client.get())
                .bind(version_id)
                .bind(location_id)
                .bind(secs(session.start))
                .bind(secs(session.start))
                .bind(secs(session.end))
                .bind(if session.in_break {
                    "break"
                } else {
                    "scheduled"
                })
                .bind(i64::from(current.terms.fee.get()))
                .bind(format!(
                    "session-{}-{}-{}@anteroom",
                    practice.get(),
                    contract.id.get(),
                    secs(session.start)
                ))
                .bind(secs(now))
                .bind(secs(now));
        }
        let ids: Vec<i64> = query
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?
            .iter()
            .map(|row| get(row, "id"))
            .collect::<StoreResult<_>>()?;
        occupancy::add_sessions(conn, &ids).await?;
    }
    Ok(())
}

async fn insert_version(
    conn: &mut SqliteConnection,
    practice: PracticeId,
    contract: ContractId,
    terms: &ContractTerms,
    note: &str,
    from: Timestamp,
    now: Timestamp,
) -> StoreResult<()> {
    let (focus, sessions, reviews_at, review_every) = match &terms.kind {
        ContractKind::Brief {
            focus,
            sessions,
            reviews_at,
        } => (
            Some(focus.as_str()),
            Some(i64::from(*sessions)),
            Some(
                reviews_at
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            None,
        ),
        ContractKind::OpenEnded { review_every_weeks } => {
            (None, None, None, Some(i64::from(*review_every_weeks)))
        }
    };
    let inserted = sqlx::query(
        "INSERT INTO contract_versions (contract_id, version, kind, focus, sessions, reviews_at, review_every_weeks,
            frequency, times, location_id, minutes, fee_pence, start_date, policy_version, effective_from, note, created_at)
         SELECT ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM contract_versions WHERE contract_id = ?),
            ?, ?, ?, ?, ?, ?, ?, l.id, ?, ?, ?, ?, ?, ?, ?
         FROM locations l WHERE l.practice_id = ? AND l.slug = ?",
    )
    .bind(contract.get())
    .bind(contract.get())
    .bind(terms.kind.as_str())
    .bind(focus)
    .bind(sessions)
    .bind(reviews_at)
    .bind(review_every)
    .bind(terms.frequency.as_str())
    .bind(times_text(&terms.times))
    .bind(i64::from(terms.minutes))
    .bind(i64::from(terms.fee.get()))
    .bind(terms.start.to_string())
    .bind(i64::from(terms.policy_version))
    .bind(secs(from))
    .bind(note)
    .bind(secs(now))
    .bind(practice.get())
    .bind(terms.location.as_str())
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    // No row: the location is not one of the practice's.
    affected(inserted)
}

#[async_trait]
impl TherapyStore for SqliteStore {
    async fn therapy_settings(&self, practice: PracticeId) -> StoreResult<TherapySettings> {
        let row = sqlx::query(
            "SELECT session_reminder_hours, break_notice_days, invoice_mode, bank_details, payment_terms_days
             FROM practices WHERE id = ?",
        )
        .bind(practice.get())
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        Ok(TherapySettings {
            session_reminder_hours: u32_col(get(&row, "session_reminder_hours")?)?,
            break_notice_days: u32_col(get(&row, "break_notice_days")?)?,
            invoice_mode: InvoiceMode::parse(&get::<String>(&row, "invoice_mode")?)
                .ok_or_else(|| corrupt("invoice mode"))?,
            bank_details: get(&row, "bank_details")?,
            payment_terms_days: u32_col(get(&row, "payment_terms_days")?)?,
        })
    }

    async fn update_therapy_settings(
        &self,
        practice: PracticeId,
        settings: &TherapySettings,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE practices SET session_reminder_hours = ?, break_notice_days = ?, invoice_mode = ?,
                bank_details = ?, payment_terms_days = ? WHERE id = ?",
        )
        .bind(i64::from(settings.session_reminder_hours))
        .bind(i64::from(settings.break_notice_days))
        .bind(settings.invoice_mode.as_str())
        .bind(&settings.bank_details)
        .bind(i64::from(settings.payment_terms_days))
        .bind(practice.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        tx.commit().await.map_err(map_err)
    }

    async fn uninvoiced_charges(
        &self,
        practice: PracticeId,
        client: Option<ClientId>,
        before: Timestamp,
    ) -> StoreResult<Vec<Session>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SESSION_QUERY} WHERE s.practice_id = ? AND (? IS NULL OR s.client_id = ?) AND s.starts_at < ?
                AND ch.id IS NOT NULL AND ch.invoice_id IS NULL AND ch.waived_at IS NULL AND ch.amount_pence > 0
             ORDER BY s.client_id, s.starts_at"
        ));
        let client = client.map(ClientId::get);
        sqlx::query(sql)
            .bind(practice.get())
            .bind(client)
            .bind(client)
            .bind(secs(before))
            .fetch_all(self.read())
            .await
            .map_err(map_err)?
            .iter()
            .map(session_from_row)
            .collect()
    }

    async fn create_invoice(
        &self,
        practice: PracticeId,
        invoice: &NewInvoice,
        email: &store::InvoiceEmail<'_>,
        now: Timestamp,
    ) -> StoreResult<Invoice> {
        let mut tx = self.write().await?;
        let total: u32 = invoice.lines.iter().map(|l| l.amount.get()).sum();
        let number: i64 = sqlx::query_scalar(
            "UPDATE practices SET next_invoice_number = next_invoice_number + 1 WHERE id = ?
             RETURNING next_invoice_number - 1",
        )
        .bind(practice.get())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO invoices (practice_id, client_id, number, issued_on, due_on, period, total_pence,
                token_hash, created_at)
             SELECT ?, id, ?, ?, ?, ?, ?, ?, ? FROM clients WHERE practice_id = ? AND id = ?
             RETURNING id",
        )
        .bind(practice.get())
        .bind(number)
        .bind(invoice.issued_on.to_string())
        .bind(invoice.due_on.to_string())
        .bind(&invoice.period)
        .bind(i64::from(total))
        .bind(&invoice.token_hash)
        .bind(secs(now))
        .bind(practice.get())
        .bind(invoice.client.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StoreError::NotFound)?;
        for charge in &invoice.charges {
            let marked = sqlx::query(
                "UPDATE charges SET invoice_id = ?
                 WHERE practice_id = ? AND client_id = ? AND id = ? AND invoice_id IS NULL AND waived_at IS NULL",
            )
            .bind(id)
            .bind(practice.get())
            .bind(invoice.client.get())
            .bind(charge.get())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if marked.rows_affected() != 1 {
                return Err(StoreError::Conflict(ConflictKind::ChargesChanged));
            }
        }
        for (position, line) in invoice.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO invoice_lines (invoice_id, position, description, detail, amount_pence)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(&line.description)
            .bind(&line.detail)
            .bind(i64::from(line.amount.get()))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        let stored = invoice_in(&mut tx, practice, InvoiceId::new(id)).await?;
        if let Some(message) = email(&stored) {
            insert_messages(&mut tx, practice, std::slice::from_ref(&message), now).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(stored)
    }

    async fn invoices(
        &self,
        practice: PracticeId,
        client: Option<ClientId>,
    ) -> StoreResult<Vec<Invoice>> {
        // Two statements however many invoices: the invoices, then all their lines.
        let mut conn = self.read().acquire().await.map_err(map_err)?;
        let client = client.map(ClientId::get);
        let rows = sqlx::query(
            "SELECT i.*, c.name AS client_name FROM invoices i JOIN clients c ON c.id = i.client_id
             WHERE i.practice_id = ? AND (? IS NULL OR i.client_id = ?) ORDER BY i.number DESC",
        )
        .bind(practice.get())
        .bind(client)
        .bind(client)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let mut invoices = rows
            .iter()
            .map(|row| invoice_from_row(row, Vec::new()))
            .collect::<StoreResult<Vec<_>>>()?;
        if invoices.is_empty() {
            return Ok(invoices);
        }
        let lines = sqlx::query(
            "SELECT l.invoice_id, l.description, l.detail, l.amount_pence FROM invoice_lines l
             JOIN invoices i ON i.id = l.invoice_id
             WHERE i.practice_id = ? AND (? IS NULL OR i.client_id = ?) ORDER BY l.invoice_id, l.position",
        )
        .bind(practice.get())
        .bind(client)
        .bind(client)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let mut by_invoice: std::collections::HashMap<i64, Vec<InvoiceLine>> =
            std::collections::HashMap::new();
        for line in &lines {
            by_invoice
                .entry(get(line, "invoice_id")?)
                .or_default()
                .push(line_from_row(line)?);
        }
        for invoice in &mut invoices {
            invoice.lines = by_invoice.remove(&invoice.id.get()).unwrap_or_default();
        }
        Ok(invoices)
    }

    async fn invoice(&self, practice: PracticeId, id: InvoiceId) -> StoreResult<Invoice> {
        let mut conn = self.read().acquire().await.map_err(map_err)?;
        invoice_in(&mut conn, practice, id).await
    }

    async fn invoice_by_token(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<Option<Invoice>> {
        let mut conn = self.read().acquire().await.map_err(map_err)?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM invoices WHERE practice_id = ? AND token_hash = ?")
                .bind(practice.get())
                .bind(token_hash)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
        match found {
            Some(id) => Ok(Some(
                invoice_in(&mut conn, practice, InvoiceId::new(id)).await?,
            )),
            None => Ok(None),
        }
    }

    async fn set_invoice_token(
        &self,
        practice: PracticeId,
        id: InvoiceId,
        token_hash: &[u8],
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result =
            sqlx::query("UPDATE invoices SET token_hash = ? WHERE practice_id = ? AND id = ?")
                .bind(token_hash)
                .bind(practice.get())
                .bind(id.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        affected(result)?;
        insert_messages(&mut tx, practice, messages, now).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn set_invoice_paid(
        &self,
        practice: PracticeId,
        id: InvoiceId,
        paid_on: Option<jiff::civil::Date>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result =
            sqlx::query("UPDATE invoices SET paid_on = ? WHERE practice_id = ? AND id = ?")
                .bind(paid_on.map(|d| d.to_string()))
                .bind(practice.get())
                .bind(id.get())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        affected(result)?;
        tx.commit().await.map_err(map_err)
    }

    async fn balance(&self, practice: PracticeId, client: ClientId) -> StoreResult<Balance> {
        let (unpaid, not_invoiced): (i64, i64) = sqlx::query_as(
            "SELECT
                (SELECT COALESCE(SUM(total_pence), 0) FROM invoices
                  WHERE practice_id = ?1 AND client_id = ?2 AND paid_on IS NULL),
                (SELECT COALESCE(SUM(amount_pence), 0) FROM charges
                  WHERE practice_id = ?1 AND client_id = ?2 AND invoice_id IS NULL AND waived_at IS NULL)",
        )
        .bind(practice.get())
        .bind(client.get())
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        Ok(Balance {
            invoiced_unpaid: Pence::new(u32_col(unpaid)?),
            not_invoiced: Pence::new(u32_col(not_invoiced)?),
        })
    }

    async fn policy(
        &self,
        practice: PracticeId,
        version: Option<u32>,
    ) -> StoreResult<CancellationPolicy> {
        let row = sqlx::query(
            "SELECT * FROM cancellation_policies WHERE practice_id = ? AND (? IS NULL OR version = ?)
             ORDER BY version DESC LIMIT 1",
        )
        .bind(practice.get())
        .bind(version.map(i64::from))
        .bind(version.map(i64::from))
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        policy_from_row(&row)
    }

    async fn add_policy(
        &self,
        practice: PracticeId,
        policy: &CancellationPolicy,
        now: Timestamp,
    ) -> StoreResult<u32> {
        let mut tx = self.write().await?;
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO cancellation_policies (practice_id, version, notice_hours, grace_minutes,
                late_cancellation_percent, did_not_attend_percent, free_late_cancellations, free_period_days, created_at)
             SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ?, ?, ?, ?, ?, ?
             FROM cancellation_policies WHERE practice_id = ?
             RETURNING version",
        )
        .bind(practice.get())
        .bind(i64::from(policy.notice_hours))
        .bind(i64::from(policy.grace_minutes))
        .bind(i64::from(policy.late_cancellation_percent))
        .bind(i64::from(policy.did_not_attend_percent))
        .bind(i64::from(policy.free_late_cancellations))
        .bind(i64::from(policy.free_period_days))
        .bind(secs(now))
        .bind(practice.get())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        u32_col(version)
    }

    async fn create_client(
        &self,
        practice: PracticeId,
        client: &NewClient,
        consultation: Option<BookingId>,
        now: Timestamp,
    ) -> StoreResult<ClientId> {
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            // Never an erased client's id: their audit entries and requests still carry it.
            "INSERT INTO clients (id, practice_id, name, email, phone, contact_preference, reminders,
                consultation_id, created_at, updated_at)
             VALUES ((SELECT MAX(n) FROM (SELECT COALESCE(MAX(id), 0) + 1 AS n FROM clients
                        UNION ALL SELECT COALESCE(MAX(client_id), 0) + 1 FROM erased_clients)),
                     ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(practice.get())
        .bind(client.name.as_str())
        .bind(client.email.as_str())
        .bind(client.phone.as_ref().map(|p| p.as_str().to_owned()))
        .bind(client.contact_preference.as_str())
        .bind(i64::from(client.reminders))
        .bind(consultation.map(BookingId::get))
        .bind(secs(now))
        .bind(secs(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some(booking) = consultation {
            let result = sqlx::query(
                "UPDATE bookings SET outcome = 'working_together', outcome_at = ?, client_id = ?
                 WHERE practice_id = ? AND id = ? AND outcome IS NULL",
            )
            .bind(secs(now))
            .bind(id)
            .bind(practice.get())
            .bind(booking.get())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            affected(result)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(ClientId::new(id))
    }

    async fn update_client(
        &self,
        practice: PracticeId,
        id: ClientId,
        client: &NewClient,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE clients SET name = ?, email = ?, phone = ?, contact_preference = ?, reminders = ?, updated_at = ?
             WHERE practice_id = ? AND id = ?",
        )
        .bind(client.name.as_str())
        .bind(client.email.as_str())
        .bind(client.phone.as_ref().map(|p| p.as_str().to_owned()))
        .bind(client.contact_preference.as_str())
        .bind(i64::from(client.reminders))
        .bind(secs(now))
        .bind(practice.get())
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        tx.commit().await.map_err(map_err)
    }

    async fn clients(&self, practice: PracticeId) -> StoreResult<Vec<Client>> {
        sqlx::query(
            "SELECT * FROM clients WHERE practice_id = ? ORDER BY status = 'ended', name COLLATE NOCASE, id",
        )
        .bind(practice.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?
        .iter()
        .map(client_from_row)
        .collect()
    }

    async fn client(&self, practice: PracticeId, id: ClientId) -> StoreResult<Client> {
        let row = sqlx::query("SELECT * FROM clients WHERE practice_id = ? AND id = ?")
            .bind(practice.get())
            .bind(id.get())
            .fetch_one(self.read())
            .await
            .map_err(map_err)?;
        client_from_row(&row)
    }

    async fn consultation_not_going_ahead(
        &self,
        practice: PracticeId,
        booking: BookingId,
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE bookings SET outcome = 'not_going_ahead', outcome_at = ?
             WHERE practice_id = ? AND id = ? AND outcome IS NULL",
        )
        .bind(secs(now))
        .bind(practice.get())
        .bind(booking.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        insert_messages(&mut tx, practice, messages, now).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn consultation_outcome(
        &self,
        practice: PracticeId,
        booking: BookingId,
    ) -> StoreResult<Option<(String, Option<ClientId>)>> {
        let row: (Option<String>, Option<i64>) = sqlx::query_as(
            "SELECT outcome, client_id FROM bookings WHERE practice_id = ? AND id = ?",
        )
        .bind(practice.get())
        .bind(booking.get())
        .fetch_one(self.read())
        .await
        .map_err(map_err)?;
        Ok(row.0.map(|outcome| (outcome, row.1.map(ClientId::new))))
    }

    async fn contracts(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<Contract>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{CONTRACT_QUERY} WHERE c.practice_id = ? AND c.client_id = ? ORDER BY c.id DESC, v.version"
        ));
        let rows = sqlx::query(sql)
            .bind(practice.get())
            .bind(client.get())
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        contracts_from_rows(&rows)
    }

    async fn contract(&self, practice: PracticeId, id: ContractId) -> StoreResult<Contract> {
        let mut conn = self.read().acquire().await.map_err(map_err)?;
        contract_in(&mut conn, practice, id).await
    }

    async fn save_contract(
        &self,
        practice: PracticeId,
        client: ClientId,
        contract: Option<ContractId>,
        terms: &ContractTerms,
        note: &str,
        from: Timestamp,
        planner: &Planner,
        now: Timestamp,
    ) -> StoreResult<ContractId> {
        let mut tx = self.write().await?;
        let id = match contract {
            Some(id) => {
                let existing = contract_in(&mut tx, practice, id).await?;
                if existing.client != client || !existing.active {
                    return Err(StoreError::NotFound);
                }
                id
            }
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO contracts (practice_id, client_id, created_at)
                     SELECT ?, id, ? FROM clients WHERE practice_id = ? AND id = ? RETURNING id",
                )
                .bind(practice.get())
                .bind(secs(now))
                .bind(practice.get())
                .bind(client.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .ok_or(StoreError::NotFound)?;
                ContractId::new(id)
            }
        };
        insert_version(&mut tx, practice, id, terms, note, from, now).await?;
        let saved = contract_in(&mut tx, practice, id).await?;
        replan_in(&mut tx, practice, &saved, planner, from, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(id)
    }

    async fn replan(
        &self,
        practice: PracticeId,
        contract: ContractId,
        planner: &Planner,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let saved = contract_in(&mut tx, practice, contract).await?;
        if saved.active {
            let from = saved.current().effective_from;
            replan_in(&mut tx, practice, &saved, planner, from, now).await?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn end_contract(
        &self,
        practice: PracticeId,
        contract: ContractId,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE contracts SET status = 'ended', ended_at = ? WHERE practice_id = ? AND id = ? AND status = 'active'",
        )
        .bind(secs(now))
        .bind(practice.get())
        .bind(contract.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        sqlx::query(
            "DELETE FROM sessions WHERE contract_id = ? AND status IN ('scheduled', 'break') AND starts_at > ?",
        )
        .bind(contract.get())
        .bind(secs(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        renumber(&mut tx, contract).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn active_contracts(&self, practice: PracticeId) -> StoreResult<Vec<Contract>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{CONTRACT_QUERY} WHERE c.practice_id = ? AND c.status = 'active' ORDER BY c.id, v.version"
        ));
        let rows = sqlx::query(sql)
            .bind(practice.get())
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        contracts_from_rows(&rows)
    }

    async fn sessions_between(
        &self,
        practice: PracticeId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<Session>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SESSION_QUERY} WHERE s.practice_id = ? AND s.starts_at >= ? AND s.starts_at < ?
             ORDER BY s.starts_at, s.id"
        ));
        sqlx::query(sql)
            .bind(practice.get())
            .bind(secs(from))
            .bind(secs(to))
            .fetch_all(self.read())
            .await
            .map_err(map_err)?
            .iter()
            .map(session_from_row)
            .collect()
    }

    async fn client_sessions(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<Session>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SESSION_QUERY} WHERE s.practice_id = ? AND s.client_id = ? ORDER BY s.starts_at, s.id"
        ));
        sqlx::query(sql)
            .bind(practice.get())
            .bind(client.get())
            .fetch_all(self.read())
            .await
            .map_err(map_err)?
            .iter()
            .map(session_from_row)
            .collect()
    }

    async fn client_sessions_around(
        &self,
        practice: PracticeId,
        client: ClientId,
        now: Timestamp,
        coming: Option<u32>,
        past: Option<u32>,
    ) -> StoreResult<ClientSessions> {
        // One statement: what is coming, the latest of what has been, and how many have been
        // (the window is counted before the LIMIT).
        let counted =
            SESSION_QUERY.replacen("SELECT ", "SELECT COUNT(*) OVER () AS past_total, ", 1);
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT 0 AS part, 0 AS past_total, * FROM (
                {SESSION_QUERY} WHERE s.client_id = ?1 AND s.practice_id = ?2 AND s.starts_at > ?3
                ORDER BY s.starts_at, s.id LIMIT ?5)
             UNION ALL
             SELECT 1 AS part, * FROM (
                {counted} WHERE s.client_id = ?1 AND s.practice_id = ?2 AND s.starts_at <= ?3
                ORDER BY s.starts_at DESC, s.id DESC LIMIT ?4)"
        ));
        let rows = sqlx::query(sql)
            .bind(client.get())
            .bind(practice.get())
            .bind(secs(now))
            .bind(past.map_or(-1, i64::from))
            .bind(coming.map_or(-1, i64::from))
            .fetch_all(self.read())
            .await
            .map_err(map_err)?;
        let mut around = ClientSessions::default();
        for row in &rows {
            if get::<i64>(row, "part")? == 0 {
                around.coming.push(session_from_row(row)?);
            } else {
                around.past_total = u32_col(get(row, "past_total")?)?;
                around.past.push(session_from_row(row)?);
            }
        }
        around.coming.sort_by_key(|s| (s.start, s.id));
        around
            .past
            .sort_by_key(|s| std::cmp::Reverse((s.start, s.id)));
        Ok(around)
    }

    async fn therapy_session(&self, practice: PracticeId, id: SessionId) -> StoreResult<Session> {
        let mut conn = self.read().acquire().await.map_err(map_err)?;
        session_in(&mut conn, practice, id).await
    }

    async fn move_session(
        &self,
        practice: PracticeId,
        id: SessionId,
        location: &domain::Slug,
        start: Timestamp,
        end: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Session> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE sessions SET starts_at = ?, ends_at = ?, moved = 1, sequence = sequence + 1, updated_at = ?,
                location_id = (SELECT id FROM locations WHERE practice_id = ? AND slug = ?)
             WHERE practice_id = ? AND id = ? AND status = 'scheduled'",
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
        affected(result)?;
        occupancy::sync_sessions(&mut tx, &[id.get()]).await?;
        let moved = session_in(&mut tx, practice, id).await?;
        renumber(&mut tx, moved.contract).await?;
        let moved = session_in(&mut tx, practice, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(moved)
    }

    async fn record_outcome(
        &self,
        practice: PracticeId,
        id: SessionId,
        charge: &NewCharge,
        planner: &Planner,
        now: Timestamp,
    ) -> StoreResult<Session> {
        let mut tx = self.write().await?;
        let recorded = record_outcome_in(&mut tx, practice, id, charge, planner, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(recorded)
    }

    async fn waive_charge(
        &self,
        practice: PracticeId,
        id: ChargeId,
        reason: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE charges SET waived_reason = ?, waived_at = ?
             WHERE practice_id = ? AND id = ? AND invoice_id IS NULL AND waived_at IS NULL",
        )
        .bind(reason)
        .bind(secs(now))
        .bind(practice.get())
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        tx.commit().await.map_err(map_err)
    }

    async fn free_late_cancellations(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<Timestamp>> {
        let starts: Vec<i64> = sqlx::query_scalar(
            "SELECT s.starts_at FROM charges ch JOIN sessions s ON s.id = ch.session_id
             WHERE ch.practice_id = ? AND ch.client_id = ? AND ch.used_free_allowance = 1
             ORDER BY s.starts_at",
        )
        .bind(practice.get())
        .bind(client.get())
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        starts.into_iter().map(timestamp).collect()
    }

    async fn mark_break(
        &self,
        practice: PracticeId,
        away: &AwayTimes,
    ) -> StoreResult<Vec<ClientId>> {
        let mut tx = self.write().await?;
        let clients = mark_break_in(&mut tx, practice, away).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(clients)
    }

    async fn add_break_notices(
        &self,
        practice: PracticeId,
        away: AwayId,
        notices: &[(ClientId, Timestamp)],
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        add_break_notices_in(&mut tx, practice, away, notices).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn change_break(
        &self,
        practice: PracticeId,
        change: &BreakChange,
        planner: &Planner,
        now: Timestamp,
    ) -> StoreResult<AwayId> {
        // Every statement below is in this one transaction: a clash anywhere (the occupancy
        // rule refusing a planned session) returns before the commit, and dropping the
        // transaction rolls back the break, the sessions and the notices together.
        let mut tx = self.write().await?;
        let away = match change {
            BreakChange::Add {
                label, start, end, ..
            } => {
                let id =
                    crate::booking::insert_away(&mut tx, practice, label, *start, *end).await?;
                let times = AwayTimes {
                    start: *start,
                    end: *end,
                };
                mark_break_in(&mut tx, practice, &times).await?;
                id
            }
            BreakChange::Remove(id) => {
                let removed =
                    sqlx::query("DELETE FROM away_periods WHERE practice_id = ? AND id = ?")
                        .bind(practice.get())
                        .bind(id.get())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                affected(removed)?;
                *id
            }
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "{CONTRACT_QUERY} WHERE c.practice_id = ? AND c.status = 'active' ORDER BY c.id, v.version"
        ));
        let rows = sqlx::query(sql)
            .bind(practice.get())
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        for contract in contracts_from_rows(&rows)? {
            let from = contract.current().effective_from;
            replan_in(&mut tx, practice, &contract, planner, from, now).await?;
        }
        if let BreakChange::Add {
            start,
            end,
            notify_at,
            ..
        } = change
        {
            // Whoever has a session in the break after planning again: marked, or planned
            // into it.
            let clients: Vec<i64> = sqlx::query_scalar(
                "SELECT DISTINCT client_id FROM sessions
                 WHERE practice_id = ? AND status = 'break' AND starts_at >= ? AND starts_at < ?
                 ORDER BY client_id",
            )
            .bind(practice.get())
            .bind(secs(*start))
            .bind(secs(*end))
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
            let notices: Vec<(ClientId, Timestamp)> = clients
                .into_iter()
                .map(|c| (ClientId::new(c), *notify_at))
                .collect();
            add_break_notices_in(&mut tx, practice, away, &notices).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(away)
    }

    async fn break_notices_due(
        &self,
        now: Timestamp,
    ) -> StoreResult<Vec<(PracticeId, AwayId, ClientId)>> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT a.practice_id, n.away_id, n.client_id FROM break_notices n
             JOIN away_periods a ON a.id = n.away_id
             WHERE n.sent_at IS NULL AND n.send_at <= ? ORDER BY n.send_at",
        )
        .bind(secs(now))
        .fetch_all(self.read())
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(p, a, c)| (PracticeId::new(p), AwayId::new(a), ClientId::new(c)))
            .collect())
    }

    async fn send_break_notice(
        &self,
        practice: PracticeId,
        away: AwayId,
        client: ClientId,
        message: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE break_notices SET sent_at = ? WHERE away_id = ? AND client_id = ? AND sent_at IS NULL
                AND away_id IN (SELECT id FROM away_periods WHERE practice_id = ?)",
        )
        .bind(secs(now))
        .bind(away.get())
        .bind(client.get())
        .bind(practice.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if result.rows_affected() == 1 {
            insert_messages(&mut tx, practice, std::slice::from_ref(message), now).await?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn session_reminders_due(
        &self,
        practice: PracticeId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<(Session, domain::EmailAddress)>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SESSION_QUERY} WHERE s.practice_id = ? AND s.status = 'scheduled' AND s.reminded_at IS NULL
                AND c.reminders = 1 AND s.starts_at >= ? AND s.starts_at < ?
             ORDER BY s.starts_at"
        ));
        sqlx::query(sql)
            .bind(practice.get())
            .bind(secs(from))
            .bind(secs(to))
            .fetch_all(self.read())
            .await
            .map_err(map_err)?
            .iter()
            .map(|row| {
                Ok((
                    session_from_row(row)?,
                    email(&get::<String>(row, "client_email")?)?,
                ))
            })
            .collect()
    }

    async fn send_session_reminder(
        &self,
        practice: PracticeId,
        session: SessionId,
        message: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let result = sqlx::query(
            "UPDATE sessions SET reminded_at = ?
             WHERE practice_id = ? AND id = ? AND reminded_at IS NULL AND status = 'scheduled'",
        )
        .bind(secs(now))
        .bind(practice.get())
        .bind(session.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if result.rows_affected() == 1 {
            insert_messages(&mut tx, practice, std::slice::from_ref(message), now).await?;
        }
        tx.commit().await.map_err(map_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_times_round_trip_through_their_stored_text() {
        let times = vec![
            WeeklyTime {
                weekday: jiff::civil::Weekday::Monday,
                time: jiff::civil::time(9, 0, 0, 0),
            },
            WeeklyTime {
                weekday: jiff::civil::Weekday::Thursday,
                time: jiff::civil::time(17, 30, 0, 0),
            },
        ];
        assert_eq!(times_text(&times), "monday 09:00\nthursday 17:30");
        assert_eq!(parse_times(&times_text(&times)).unwrap(), times);
    }
}
