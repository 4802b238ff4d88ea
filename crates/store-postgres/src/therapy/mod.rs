//! Clients, contracts and their versions, sessions, the cancellation policy and charges.

mod rows;
mod writes;

pub(crate) use self::{rows::*, writes::*};
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
use sqlx::{PgConnection, postgres::PgRow};
use store::{
    AwayId, Balance, BookingId, BreakChange, Charge, ChargeId, Client, ClientId, ClientSessions,
    ConflictKind, Contract, ContractId, ContractVersion, Invoice, InvoiceId, InvoiceLine,
    NewCharge, NewClient, NewInvoice, NewMessage, Planner, PracticeId, Session, SessionId,
    SessionStatus, StoreError, StoreResult, TherapyStore,
};

use crate::{
    PgStore, affected, convert::*, enquiries::insert_messages, map_err, occupancy, practice::get,
};

/// Statuses whose session holds the therapist's time (and has an `occupancy` row).
pub(crate) const OCCUPYING: &str = crate::occupying!();

#[async_trait]
impl TherapyStore for PgStore {
    async fn therapy_settings(&self, practice: PracticeId) -> StoreResult<TherapySettings> {
        let row = sqlx::query(
            "SELECT session_reminder_hours, break_notice_days, invoice_mode, bank_details, payment_terms_days
             FROM practices WHERE id = $1",
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
            "UPDATE practices SET session_reminder_hours = $1, break_notice_days = $2, invoice_mode = $3,
                bank_details = $4, payment_terms_days = $5 WHERE id = $6",
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
        let sql = crate::numbered(format!(
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
            "UPDATE practices SET next_invoice_number = next_invoice_number + 1 WHERE id = $1
             RETURNING next_invoice_number - 1",
        )
        .bind(practice.get())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO invoices (practice_id, client_id, number, issued_on, due_on, period, total_pence,
                token_hash, created_at)
             SELECT $1, id, $2, $3, $4, $5, $6, $7, $8 FROM clients WHERE practice_id = $9 AND id = $10
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
                "UPDATE charges SET invoice_id = $1
                 WHERE practice_id = $2 AND client_id = $3 AND id = $4 AND invoice_id IS NULL AND waived_at IS NULL",
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
                 VALUES ($1, $2, $3, $4, $5)",
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
             WHERE i.practice_id = $1 AND ($2 IS NULL OR i.client_id = $3) ORDER BY i.number DESC",
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
             WHERE i.practice_id = $1 AND ($2 IS NULL OR i.client_id = $3) ORDER BY l.invoice_id, l.position",
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
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM invoices WHERE practice_id = $1 AND token_hash = $2",
        )
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
            sqlx::query("UPDATE invoices SET token_hash = $1 WHERE practice_id = $2 AND id = $3")
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
            sqlx::query("UPDATE invoices SET paid_on = $1 WHERE practice_id = $2 AND id = $3")
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
                (SELECT COALESCE(SUM(total_pence), 0)::BIGINT FROM invoices
                  WHERE practice_id = $1 AND client_id = $2 AND paid_on IS NULL),
                (SELECT COALESCE(SUM(amount_pence), 0)::BIGINT FROM charges
                  WHERE practice_id = $1 AND client_id = $2 AND invoice_id IS NULL AND waived_at IS NULL)",
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
            "SELECT * FROM cancellation_policies WHERE practice_id = $1 AND ($2 IS NULL OR version = $3)
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
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8
             FROM cancellation_policies WHERE practice_id = $9
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
            // The id comes from the table's sequence, which never gives one twice: never
            // an erased client's, whose audit entries and requests still carry it.
            "INSERT INTO clients (practice_id, name, email, phone, contact_preference, reminders,
                consultation_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
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
                "UPDATE bookings SET outcome = 'working_together', outcome_at = $1, client_id = $2
                 WHERE practice_id = $3 AND id = $4 AND outcome IS NULL",
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
            "UPDATE clients SET name = $1, email = $2, phone = $3, contact_preference = $4, reminders = $5, updated_at = $6
             WHERE practice_id = $7 AND id = $8",
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
            "SELECT * FROM clients WHERE practice_id = $1 ORDER BY status = 'ended', lower(name), id",
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
        let row = sqlx::query("SELECT * FROM clients WHERE practice_id = $1 AND id = $2")
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
            "UPDATE bookings SET outcome = 'not_going_ahead', outcome_at = $1
             WHERE practice_id = $2 AND id = $3 AND outcome IS NULL",
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
            "SELECT outcome, client_id FROM bookings WHERE practice_id = $1 AND id = $2",
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
        let sql = crate::numbered(format!(
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
                     SELECT $1, id, $2 FROM clients WHERE practice_id = $3 AND id = $4 RETURNING id",
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
            "UPDATE contracts SET status = 'ended', ended_at = $1 WHERE practice_id = $2 AND id = $3 AND status = 'active'",
        )
        .bind(secs(now))
        .bind(practice.get())
        .bind(contract.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        affected(result)?;
        sqlx::query(
            "DELETE FROM sessions WHERE contract_id = $1 AND status IN ('scheduled', 'break') AND starts_at > $2",
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
        let sql = crate::numbered(format!(
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
        let sql = crate::numbered(format!(
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
        let sql = crate::numbered(format!(
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
        let sql = crate::numbered(format!(
            "SELECT 0::BIGINT AS part, 0::BIGINT AS past_total, * FROM (
                {SESSION_QUERY} WHERE s.client_id = ?1 AND s.practice_id = ?2 AND s.starts_at > ?3
                ORDER BY s.starts_at, s.id LIMIT ?5) AS upcoming
             UNION ALL
             SELECT 1::BIGINT AS part, * FROM (
                {counted} WHERE s.client_id = ?1 AND s.practice_id = ?2 AND s.starts_at <= ?3
                ORDER BY s.starts_at DESC, s.id DESC LIMIT ?4) AS past"
        ));
        let rows = sqlx::query(sql)
            .bind(client.get())
            .bind(practice.get())
            .bind(secs(now))
            .bind(past.map(i64::from)) // NULL: no limit
            .bind(coming.map(i64::from))
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
            "UPDATE sessions SET starts_at = $1, ends_at = $2, moved = 1, sequence = sequence + 1, updated_at = $3,
                location_id = (SELECT id FROM locations WHERE practice_id = $4 AND slug = $5)
             WHERE practice_id = $6 AND id = $7 AND status = 'scheduled'",
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
            "UPDATE charges SET waived_reason = $1, waived_at = $2
             WHERE practice_id = $3 AND id = $4 AND invoice_id IS NULL AND waived_at IS NULL",
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
             WHERE ch.practice_id = $1 AND ch.client_id = $2 AND ch.used_free_allowance = 1
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
                    sqlx::query("DELETE FROM away_periods WHERE practice_id = $1 AND id = $2")
                        .bind(practice.get())
                        .bind(id.get())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                affected(removed)?;
                *id
            }
        };
        let sql = crate::numbered(format!(
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
                 WHERE practice_id = $1 AND status = 'break' AND starts_at >= $2 AND starts_at < $3
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
             WHERE n.sent_at IS NULL AND n.send_at <= $1 ORDER BY n.send_at",
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
            "UPDATE break_notices SET sent_at = $1 WHERE away_id = $2 AND client_id = $3 AND sent_at IS NULL
                AND away_id IN (SELECT id FROM away_periods WHERE practice_id = $4)",
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
        let sql = crate::numbered(format!(
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
            "UPDATE sessions SET reminded_at = $1
             WHERE practice_id = $2 AND id = $3 AND reminded_at IS NULL AND status = 'scheduled'",
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
