//! The steps the therapy writes share, each inside the caller's transaction: reading a
//! session or contract, recording an outcome, invoices, renumbering, replanning, breaks and
//! their notices, new sessions and contract versions.

use super::*;

pub(crate) async fn session_in(
    conn: &mut PgConnection,
    practice: PracticeId,
    id: SessionId,
) -> StoreResult<Session> {
    let sql = crate::numbered(format!(
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

pub(crate) async fn contract_in(
    conn: &mut PgConnection,
    practice: PracticeId,
    id: ContractId,
) -> StoreResult<Contract> {
    let sql = crate::numbered(format!(
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
    tx: &mut PgConnection,
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
    sqlx::query("DELETE FROM charges WHERE session_id = $1")
        .bind(id.get())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    sqlx::query(
        "UPDATE sessions SET status = $1, told_at = $2, recorded_at = $3, updated_at = $4 WHERE id = $5",
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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

pub(crate) fn line_from_row(line: &PgRow) -> StoreResult<InvoiceLine> {
    Ok(InvoiceLine {
        description: get(line, "description")?,
        detail: get(line, "detail")?,
        amount: Pence::new(u32_col(get(line, "amount_pence")?)?),
    })
}

/// An invoice from its row (joined with the client's name), with `lines`.
pub(crate) fn invoice_from_row(row: &PgRow, lines: Vec<InvoiceLine>) -> StoreResult<Invoice> {
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

pub(crate) async fn invoice_in(
    conn: &mut PgConnection,
    practice: PracticeId,
    id: InvoiceId,
) -> StoreResult<Invoice> {
    let row = sqlx::query(
        "SELECT i.*, c.name AS client_name FROM invoices i JOIN clients c ON c.id = i.client_id
         WHERE i.practice_id = $1 AND i.id = $2",
    )
    .bind(practice.get())
    .bind(id.get())
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    let lines = sqlx::query(
        "SELECT description, detail, amount_pence FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
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
pub(crate) async fn renumber(conn: &mut PgConnection, contract: ContractId) -> StoreResult<()> {
    let sql = crate::numbered(format!(
        "UPDATE sessions SET number = n.number FROM (
            SELECT id, CASE WHEN status IN {OCCUPYING}
                THEN ROW_NUMBER() OVER (PARTITION BY status IN {OCCUPYING} ORDER BY starts_at, id)
                END AS number
            FROM sessions WHERE contract_id = ?
         ) AS n
         WHERE sessions.id = n.id AND sessions.number IS DISTINCT FROM n.number"
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
pub(crate) async fn replan_in(
    conn: &mut PgConnection,
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
         FROM sessions WHERE contract_id = $1",
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
        let sql = crate::numbered(format!(
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
pub(crate) async fn mark_break_in(
    conn: &mut PgConnection,
    practice: PracticeId,
    away: &AwayTimes,
) -> StoreResult<Vec<ClientId>> {
    let touched: Vec<(i64, i64, i64)> = sqlx::query_as(
        "UPDATE sessions SET status = 'break', number = NULL, sequence = sequence + 1
         WHERE practice_id = $1 AND status = 'scheduled' AND starts_at < $2 AND ends_at > $3
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
pub(crate) async fn add_break_notices_in(
    conn: &mut PgConnection,
    practice: PracticeId,
    away: AwayId,
    notices: &[(ClientId, Timestamp)],
) -> StoreResult<()> {
    for (client, at) in notices {
        sqlx::query(
            "INSERT INTO break_notices (away_id, client_id, send_at)
             SELECT a.id, c.id, $1 FROM away_periods a, clients c
             WHERE a.practice_id = $2 AND a.id = $3 AND c.practice_id = $4 AND c.id = $5
             ON CONFLICT DO NOTHING",
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
pub(crate) async fn current_version_ids(
    conn: &mut PgConnection,
    contract: &Contract,
) -> StoreResult<(i64, i64)> {
    sqlx::query_as(
        "SELECT v.id, v.location_id FROM contract_versions v WHERE v.contract_id = $1 AND v.version = $2",
    )
    .bind(contract.id.get())
    .bind(i64::from(contract.current().version))
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)
}

/// Insert planned sessions under the contract's current version, a few hundred per statement.
pub(crate) async fn insert_sessions(
    conn: &mut PgConnection,
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
        let sql = crate::numbered(format!(
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

pub(crate) async fn insert_version(
    conn: &mut PgConnection,
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
         SELECT $1, (SELECT COALESCE(MAX(version), 0) + 1 FROM contract_versions WHERE contract_id = $2),
            $3, $4, $5, $6, $7, $8, $9, l.id, $10, $11, $12, $13, $14, $15, $16
         FROM locations l WHERE l.practice_id = $17 AND l.slug = $18",
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
