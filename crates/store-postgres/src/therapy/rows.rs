//! Rows into types: clients, contracts and their versions, sessions, policies.

use super::*;

pub(crate) fn policy_from_row(row: &PgRow) -> StoreResult<CancellationPolicy> {
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

pub(crate) fn client_from_row(row: &PgRow) -> StoreResult<Client> {
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
pub(crate) fn times_text(times: &[WeeklyTime]) -> String {
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

pub(crate) fn parse_times(text: &str) -> StoreResult<Vec<WeeklyTime>> {
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

pub(crate) fn version_from_row(row: &PgRow) -> StoreResult<ContractVersion> {
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

pub(crate) const CONTRACT_QUERY: &str = "SELECT v.*, v.created_at AS version_created_at, c.client_id,
        c.status AS contract_status, c.created_at AS contract_created_at, l.slug AS location_slug
    FROM contracts c JOIN contract_versions v ON v.contract_id = c.id JOIN locations l ON l.id = v.location_id";

/// Group rows of [`CONTRACT_QUERY`] (ordered by contract, then version) into contracts.
pub(crate) fn contracts_from_rows(rows: &[PgRow]) -> StoreResult<Vec<Contract>> {
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

pub(crate) const SESSION_QUERY: &str =
    "SELECT s.*, c.name AS client_name, c.email AS client_email, l.slug AS location_slug,
        ch.id AS charge_id, ch.amount_pence, ch.rule, ch.policy_version, ch.used_free_allowance,
        ch.waived_reason, ch.waived_at, ch.invoice_id
    FROM sessions s JOIN clients c ON c.id = s.client_id JOIN locations l ON l.id = s.location_id
    LEFT JOIN charges ch ON ch.session_id = s.id";

pub(crate) fn session_from_row(row: &PgRow) -> StoreResult<Session> {
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
