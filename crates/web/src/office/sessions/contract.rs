//! The contract form.

use super::*;

/// The contract form's fields as typed (or filled in for the therapist).
#[derive(Debug, Default, Serialize)]
pub(crate) struct ContractValues {
    kind: String,
    focus: String,
    sessions: String,
    reviews_at: String,
    review_every_weeks: String,
    frequency: String,
    day: String,
    time: String,
    day2: String,
    time2: String,
    location: String,
    minutes: String,
    fee: String,
    start: String,
    /// Change only: the session the change starts from.
    from: String,
    /// Change only: what changed and why.
    note: String,
    /// Change only: move the client to the current cancellation policy.
    use_current_policy: bool,
}

impl ContractValues {
    pub(crate) fn from_form(form: &FormData) -> Self {
        let text = |name: &str| form.get(name).to_owned();
        Self {
            kind: text("kind"),
            focus: text("focus"),
            sessions: text("sessions"),
            reviews_at: text("reviews_at"),
            review_every_weeks: text("review_every_weeks"),
            frequency: text("frequency"),
            day: text("day"),
            time: text("time"),
            day2: text("day2"),
            time2: text("time2"),
            location: text("location"),
            minutes: text("minutes"),
            fee: text("fee"),
            start: text("start"),
            from: text("from"),
            note: text("note"),
            use_current_policy: form.has("use_current_policy"),
        }
    }

    /// The form filled in with the terms agreed so far.
    pub(crate) fn of(terms: &ContractTerms) -> Self {
        use domain::therapy::ContractKind;
        let mut values = Self {
            kind: terms.kind.as_str().to_owned(),
            review_every_weeks: "6".to_owned(),
            frequency: terms.frequency.as_str().to_owned(),
            location: terms.location.to_string(),
            minutes: terms.minutes.to_string(),
            fee: terms.fee.to_string(),
            start: terms.start.to_string(),
            ..Self::default()
        };
        match &terms.kind {
            ContractKind::Brief {
                focus,
                sessions,
                reviews_at,
            } => {
                values.focus = focus.clone();
                values.sessions = sessions.to_string();
                values.reviews_at = reviews_at
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
            }
            ContractKind::OpenEnded { review_every_weeks } => {
                values.review_every_weeks = review_every_weeks.to_string();
            }
        }
        for (i, t) in terms.times.iter().enumerate() {
            let (day, time) = if i == 0 {
                (&mut values.day, &mut values.time)
            } else {
                (&mut values.day2, &mut values.time2)
            };
            *day = weekday_field(t.weekday);
            *time = time_field(t.time);
        }
        values
    }

    pub(crate) fn form(&self) -> ContractForm<'_> {
        ContractForm {
            kind: &self.kind,
            focus: &self.focus,
            sessions: &self.sessions,
            reviews_at: &self.reviews_at,
            review_every_weeks: &self.review_every_weeks,
            frequency: &self.frequency,
            day: &self.day,
            time: &self.time,
            day2: &self.day2,
            time2: &self.time2,
            location: &self.location,
            minutes: &self.minutes,
            fee: &self.fee,
            start: &self.start,
        }
    }
}

pub(crate) const DAYS: [(&str, &str); 7] = [
    ("monday", "Monday"),
    ("tuesday", "Tuesday"),
    ("wednesday", "Wednesday"),
    ("thursday", "Thursday"),
    ("friday", "Friday"),
    ("saturday", "Saturday"),
    ("sunday", "Sunday"),
];

pub(crate) const FREQUENCIES: [(&str, &str); 3] = [
    ("weekly", "Weekly"),
    ("twice_weekly", "Twice a week"),
    ("fortnightly", "Fortnightly"),
];

/// The contract's sessions still to come that a change can start from.
pub(crate) fn upcoming<'a>(
    sessions: &'a [Session],
    contract: &Contract,
    now: Timestamp,
) -> Vec<&'a Session> {
    sessions
        .iter()
        .filter(|s| {
            s.contract == contract.id && s.start > now && s.status == SessionStatus::Scheduled
        })
        .collect()
}

pub(crate) async fn contract_page(
    state: &Here,
    staff: &Staff,
    view: &PracticeView,
    client: &Client,
    contract: Option<&Contract>,
    values: &ContractValues,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let id = state.practice_id();
    let current = state.store().policy(id, None).await?;
    let now = state.now();
    let (heading, action, agreed, newer, choices) = match contract {
        None => (
            format!("Agree a contract with {}", client.name),
            format!("/office/clients/{}/contract/new", client.id),
            current.clone(),
            None,
            Vec::new(),
        ),
        Some(c) => {
            let version = c.current().terms.policy_version;
            let agreed = match state.store().policy(id, Some(version)).await {
                Ok(policy) => policy,
                Err(StoreError::NotFound) => current.clone(),
                Err(other) => return Err(other.into()),
            };
            let newer = (current.version > agreed.version).then(|| current.clone());
            let sessions = state.store().client_sessions(id, client.id).await?;
            let choices: Vec<(String, String)> = upcoming(&sessions, c, now)
                .into_iter()
                .take(26)
                .map(|s| {
                    let number = number_label(Some(c), s);
                    let when = view.when(s.start);
                    let label = if number.is_empty() {
                        when
                    } else {
                        format!("{number}, {when}")
                    };
                    (s.id.to_string(), label)
                })
                .collect();
            (
                format!("Change the contract with {}", client.name),
                format!("/office/clients/{}/contracts/{}/change", client.id, c.id),
                agreed,
                newer,
                choices,
            )
        }
    };
    let policy_summary = agreed.summary();
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        heading, action,
        changing => contract.is_some(),
        client => context! { id => client.id.get(), name => client.name.as_str() },
        values => value(values),
        days => value(&DAYS),
        frequencies => value(&FREQUENCIES),
        locations => value(&view.choices()),
        policy => context! { version => agreed.version, summary => policy_summary },
        newer => newer.map(|p| context! { version => p.version, summary => p.summary() }),
        choices => value(&choices),
        errors => list,
        error => map,
    };
    page(
        state,
        staff,
        status,
        "office/clients/contract_form.html",
        ctx,
    )
    .await
}

/// The new contract form, filled in from the consultation where there was one: its fee and
/// length (or the first appointment type's), its place, its day and time.
pub(crate) async fn new_contract_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let id = state.practice_id();
    if state
        .store()
        .contracts(id, client.id)
        .await?
        .iter()
        .any(|c| c.active)
    {
        return Ok(Redirect::to(&format!("/office/clients/{}", client.id)).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let consultation = match client.consultation {
        Some(booking) => state.store().booking(id, booking).await.ok(),
        None => None,
    };
    let types = state.store().appointment_types(id).await?;
    let kind = consultation
        .as_ref()
        .and_then(|b| types.iter().find(|t| t.slug == b.appointment_type))
        .or_else(|| types.first());
    let mut values = ContractValues {
        review_every_weeks: "6".to_owned(),
        frequency: "weekly".to_owned(),
        start: view.today(state.now()).to_string(),
        location: view
            .locations
            .first()
            .map(|l| l.slug.to_string())
            .unwrap_or_default(),
        ..ContractValues::default()
    };
    if let Some(kind) = kind {
        values.fee = kind.fee.to_string();
        values.minutes = kind.minutes.to_string();
    }
    if let Some(b) = &consultation {
        let local = view.zone.to_datetime(b.start);
        values.location = b.location.to_string();
        values.day = weekday_field(local.date().weekday());
        values.time = time_field(local.time());
    }
    contract_page(&state, &staff, &view, &client, None, &values, None).await
}

/// The first instant of the start date, if sessions can be planned from it: it is at most a
/// year away (the work is planned no further ahead than that).
pub(crate) fn start_instant(
    view: &PracticeView,
    start: Date,
    now: Timestamp,
    errors: &mut FieldErrors,
) -> Option<Timestamp> {
    let today = view.today(now);
    let latest = today.checked_add(365.days()).unwrap_or(today);
    if start > latest {
        errors.add(
            "start",
            format!(
                "Choose a start date within the next year, no later than {}",
                crate::words::date(latest)
            ),
        );
        return None;
    }
    let from = view.start_of(start).ok();
    if from.is_none() {
        errors.add("start", "Enter a real date, like 2027-09-06");
    }
    from
}

/// A refused contract change in the therapist's words, at the field it is about.
pub(crate) fn contract_error(
    view: &PracticeView,
    error: ContractChangeError,
    errors: &mut FieldErrors,
) -> WebResult<()> {
    match error {
        ContractChangeError::NothingToPlan => errors.add(
            "start",
            "No sessions fall between this start date and a year from now, outside your breaks. \
             Choose an earlier start date",
        ),
        ContractChangeError::Clash(starts) => errors.add("time", clash_message(view, &starts)),
        ContractChangeError::TakenJustNow => errors.add("time", TAKEN_JUST_NOW),
        // Ended in another tab a moment ago: there is nothing to change any more.
        ContractChangeError::Closed => errors.add(
            "from",
            "This contract has ended, so it cannot be changed. Agree a new one instead",
        ),
        ContractChangeError::Web(error) => return Err(error),
    }
    Ok(())
}

pub(crate) async fn create_contract(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let id = state.practice_id();
    let back = format!("/office/clients/{}", client.id);
    if state
        .store()
        .contracts(id, client.id)
        .await?
        .iter()
        .any(|c| c.active)
    {
        return Ok(Redirect::to(&back).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let values = ContractValues::from_form(&form);
    let policy = state.store().policy(id, None).await?;
    let terms = match values.form().parse(&view.slugs(), policy.version) {
        Ok(terms) => terms,
        Err(errors) => {
            return contract_page(&state, &staff, &view, &client, None, &values, Some(&errors))
                .await;
        }
    };
    let now = state.now();
    let mut errors = FieldErrors::new();
    if let Some(from) = start_instant(&view, terms.start, now, &mut errors) {
        let change = ContractChange {
            client: client.id,
            contract: None,
            terms: &terms,
            note: "",
            from,
        };
        match change_contract_from(&state, change).await {
            Ok(_) => return Ok(Redirect::to(&back).into_response()),
            Err(error) => contract_error(&view, error, &mut errors)?,
        }
    }
    contract_page(&state, &staff, &view, &client, None, &values, Some(&errors)).await
}

#[derive(Deserialize)]
pub(crate) struct ChangeQuery {
    from: Option<String>,
}

pub(crate) async fn change_form(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
    Query(q): Query<ChangeQuery>,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    if !contract.active {
        return Ok(Redirect::to(&format!("/office/clients/{}", client.id)).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let mut values = ContractValues::of(&contract.current().terms);
    values.from = q.from.unwrap_or_default();
    contract_page(
        &state,
        &staff,
        &view,
        &client,
        Some(&contract),
        &values,
        None,
    )
    .await
}

pub(crate) async fn change_contract(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
    form: FormData,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    let back = format!("/office/clients/{}", client.id);
    if !contract.active {
        return Ok(Redirect::to(&back).into_response());
    }
    let id = state.practice_id();
    let now = state.now();
    let view = PracticeView::load(&state).await?;
    let values = ContractValues::from_form(&form);
    let agreed = contract.current().terms.policy_version;
    let current = state.store().policy(id, None).await?;
    let policy_version = if values.use_current_policy {
        current.version
    } else {
        agreed
    };
    let sessions: Vec<Session> = state
        .store()
        .client_sessions(id, client.id)
        .await?
        .into_iter()
        .filter(|s| s.contract == contract.id)
        .collect();
    let choices = upcoming(&sessions, &contract, now);

    // Errors in the order the form asks: from which session, the terms, the note.
    let mut errors = FieldErrors::new();
    let chosen = if choices.is_empty() {
        None
    } else {
        let found = SessionId::parse(&values.from)
            .and_then(|from| choices.iter().find(|s| s.id == from).map(|s| s.start));
        if found.is_none() {
            errors.add("from", "Choose the first session the change applies to");
        }
        found
    };
    let parsed = values.form().parse(&view.slugs(), policy_version);
    if let Err(parse_errors) = &parsed {
        for (field, message) in parse_errors.iter() {
            errors.add(field, message);
        }
    }
    let note = errors.check(
        "note",
        parse_text(&values.note, "what changed and why", 1000, true),
    );
    let start = match &parsed {
        Ok(terms) => start_instant(&view, terms.start, now, &mut errors),
        Err(_) => None,
    };
    if let (Ok(terms), Some(note), Some(start)) = (&parsed, &note, start)
        && errors.is_empty()
    {
        // With nothing still to come, the new terms apply from their start date.
        let change = ContractChange {
            client: client.id,
            contract: Some(&contract),
            terms,
            note,
            from: chosen.unwrap_or(start),
        };
        match change_contract_from(&state, change).await {
            Ok(_) => return Ok(Redirect::to(&back).into_response()),
            Err(error) => contract_error(&view, error, &mut errors)?,
        }
    }
    contract_page(
        &state,
        &staff,
        &view,
        &client,
        Some(&contract),
        &values,
        Some(&errors),
    )
    .await
}
