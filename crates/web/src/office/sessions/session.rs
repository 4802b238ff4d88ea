//! One session.

use super::*;

/// The session page's three forms, as typed or filled in.
#[derive(Debug, Serialize)]
pub(crate) struct SessionValues {
    outcome: String,
    told_date: String,
    told_time: String,
    reason: String,
    move_date: String,
    move_time: String,
    move_location: String,
}

impl SessionValues {
    /// What the forms start with: the outcome recorded (if any), "told me" now, the session's
    /// own date, time and place to move from.
    fn of(view: &PracticeView, session: &Session, now: Timestamp) -> Self {
        let outcome = match session.status {
            SessionStatus::Done(Outcome::Attended) => "attended",
            SessionStatus::Done(Outcome::CancelledInTime | Outcome::LateCancellation) => {
                "client_cancelled"
            }
            SessionStatus::Done(Outcome::DidNotAttend) => "did_not_attend",
            SessionStatus::Done(Outcome::CancelledByTherapist) => "therapist_cancelled",
            SessionStatus::Scheduled | SessionStatus::Break => "",
        };
        let told = view.zone.to_datetime(session.told_at.unwrap_or(now));
        let start = view.zone.to_datetime(session.start);
        Self {
            outcome: outcome.to_owned(),
            told_date: told.date().to_string(),
            told_time: time_field(told.time()),
            reason: String::new(),
            move_date: start.date().to_string(),
            move_time: time_field(start.time()),
            move_location: session.location.to_string(),
        }
    }

    /// The defaults with whatever the posted form sent.
    fn with(mut self, form: &FormData) -> Self {
        for (name, field) in [
            ("outcome", &mut self.outcome),
            ("told_date", &mut self.told_date),
            ("told_time", &mut self.told_time),
            ("reason", &mut self.reason),
            ("move_date", &mut self.move_date),
            ("move_time", &mut self.move_time),
            ("move_location", &mut self.move_location),
        ] {
            if form.has(name) {
                *field = form.get(name).to_owned();
            }
        }
        self
    }
}

pub(crate) async fn find_session(state: &Here, raw: &str) -> WebResult<Session> {
    let id = SessionId::parse(raw).ok_or(WebError::NotFound)?;
    Ok(state
        .store()
        .therapy_session(state.practice_id(), id)
        .await?)
}

/// A charge not yet invoiced can still be changed by recording the outcome again.
pub(crate) fn invoiced(session: &Session) -> bool {
    session.charge.as_ref().is_some_and(|c| c.invoice.is_some())
}

/// A charge that can be waived: something owed, not waived already, not invoiced.
pub(crate) fn waivable(session: &Session) -> Option<&store::Charge> {
    session.charge.as_ref().filter(|c| {
        matches!(session.status, SessionStatus::Done(_))
            && c.amount.get() > 0
            && c.waived.is_none()
            && c.invoice.is_none()
    })
}

pub(crate) async fn session_page(
    state: &Here,
    staff: &Staff,
    view: &PracticeView,
    session: &Session,
    values: &SessionValues,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    session_page_with_note(state, staff, view, session, values, errors, None).await
}

/// The session page; `draft` is a note the therapist typed that could not be saved yet.
pub(crate) async fn session_page_with_note(
    state: &Here,
    staff: &Staff,
    view: &PracticeView,
    session: &Session,
    values: &SessionValues,
    errors: Option<&FieldErrors>,
    draft: Option<&str>,
) -> WebResult<Response> {
    let now = state.now();
    let saved_note = if crate::notes::available(state) {
        crate::notes::on_session(state, session.client, session.id).await?
    } else {
        None
    };
    let note = context! {
        available => crate::notes::available(state),
        text => draft.map(str::to_owned).or_else(|| saved_note.as_ref().map(|n| n.text.clone())),
        saved => saved_note.as_ref().map(|n| view.when(n.updated_at)),
    };
    let contract = state
        .store()
        .contract(state.practice_id(), session.contract)
        .await?;
    let (status, tag) = status_label(session, now);
    let recorded = matches!(session.status, SessionStatus::Done(_));
    let charge = session.charge.as_ref().filter(|_| recorded).map(|c| {
        context! {
            amount => c.amount.to_string(),
            rule => c.rule.as_str(),
            waived => c.waived.as_ref().map(|(reason, at)| context! { reason => reason.as_str(), on => view.day(*at) }),
            invoiced => c.invoice.is_some(),
        }
    });
    let change =
        (contract.active && session.status == SessionStatus::Scheduled && session.start > now)
            .then(|| {
                format!(
                    "/office/clients/{}/contracts/{}/change?from={}",
                    session.client, contract.id, session.id
                )
            });
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let code = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        session => context! {
            id => session.id.get(),
            client => session.client.get(),
            client_name => session.client_name.as_str(),
            when => view.when(session.start),
            place => view.place(&session.location),
            number => number_label(Some(&contract), session),
            status, tag,
            moved_from => session.moved.then(|| view.when(session.occurrence)),
            told => session.told_at.filter(|_| recorded).map(|at| view.when(at)),
            minutes => session.end.duration_since(session.start).as_mins(),
            fee => session.fee.to_string(),
        },
        recorded,
        charge,
        can_record => session.status != SessionStatus::Break && !invoiced(session),
        can_waive => waivable(session).is_some(),
        can_move => session.status == SessionStatus::Scheduled,
        note,
        change,
        locations => value(&view.choices()),
        values => value(values),
        errors => list,
        error => map,
    };
    page(state, staff, code, "office/clients/session.html", ctx).await
}

pub(crate) async fn show(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let view = PracticeView::load(&state).await?;
    let values = SessionValues::of(&view, &session, state.now());
    session_page(&state, &staff, &view, &session, &values, None).await
}

/// A date typed as YYYY-MM-DD (what a date input sends).
pub(crate) fn parse_date(raw: &str, missing: &str) -> Result<Date, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(missing.to_owned());
    }
    match raw.parse::<Date>() {
        Ok(date) if raw.len() == 10 => Ok(date),
        _ => Err("Enter the date as year, month and day, like 2027-04-12".to_owned()),
    }
}

/// A time a session can start at, typed as 09:00.
pub(crate) fn parse_clock(raw: &str, missing: &str) -> Result<Time, String> {
    if raw.trim().is_empty() {
        return Err(missing.to_owned());
    }
    match parse_time(raw) {
        Ok(Time::MAX) => Err("Enter a time from 00:00 to 23:59".to_owned()),
        Ok(time) => Ok(time),
        Err(e) => Err(e.0),
    }
}

/// A local date and time from two fields, as an instant; errors go to the fields.
pub(crate) fn parse_instant(
    view: &PracticeView,
    errors: &mut FieldErrors,
    (date_field, date_raw, date_missing): (&'static str, &str, &str),
    (time_field, time_raw, time_missing): (&'static str, &str, &str),
) -> Option<Timestamp> {
    let date = errors.check(date_field, parse_date(date_raw, date_missing));
    let time = errors.check(time_field, parse_clock(time_raw, time_missing));
    let at = view.instant(date?, time?);
    if at.is_none() {
        errors.add(date_field, "Enter a real date, like 2027-04-12");
    }
    at
}

pub(crate) async fn record(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let here = format!("/office/sessions/{}", session.id);
    if session.status == SessionStatus::Break || invoiced(&session) {
        return Ok(Redirect::to(&here).into_response());
    }
    let now = state.now();
    let view = PracticeView::load(&state).await?;
    let mut errors = FieldErrors::new();
    let recorded = match form.get("outcome") {
        "attended" => Some(Recorded::Attended),
        "did_not_attend" => Some(Recorded::DidNotAttend),
        "therapist_cancelled" => Some(Recorded::TherapistCancelled),
        "client_cancelled" => parse_instant(
            &view,
            &mut errors,
            (
                "told_date",
                form.get("told_date"),
                "Enter the date they told you, like 2027-04-12",
            ),
            (
                "told_time",
                form.get("told_time"),
                "Enter the time they told you, like 18:30",
            ),
        )
        .map(|told_at| Recorded::ClientCancelled { told_at }),
        _ => {
            errors.add("outcome", "Choose what happened");
            None
        }
    };
    if let Some(recorded) = recorded {
        match record_outcome(&state, &session, recorded, RecordedBy::Therapist).await {
            Ok(_) => return Ok(Redirect::to(&here).into_response()),
            Err(RecordOutcomeError::NotYet(NotRecordable::NotStarted)) => errors.add(
                "outcome",
                "You can record this once the session has started. If the client has told \
                 you they cannot come, choose “The client cancelled”",
            ),
            Err(RecordOutcomeError::NotYet(NotRecordable::ToldInFuture)) => errors.add(
                "told_date",
                "Enter when they told you: a date and time that has already passed",
            ),
            Err(RecordOutcomeError::Clash(starts)) => {
                let (dates, verb) = clash_dates(&view, &starts);
                errors.add(
                    "outcome",
                    format!(
                        "Recording this plans the rest of the work again, and {dates} {verb} \
                         with another appointment. Move that appointment first, or change the \
                         contract"
                    ),
                );
            }
            Err(RecordOutcomeError::TakenJustNow) => errors.add("outcome", TAKEN_JUST_NOW),
            // In a break or invoiced since the page was shown: it says so now. (A client's
            // changed charge cannot happen here: the therapist agreed to no charge shown.)
            Err(RecordOutcomeError::Closed | RecordOutcomeError::ChargeChanged { .. }) => {
                return Ok(Redirect::to(&here).into_response());
            }
            Err(RecordOutcomeError::Web(error)) => return Err(error),
        }
    }
    let values = SessionValues::of(&view, &session, now).with(&form);
    session_page(&state, &staff, &view, &session, &values, Some(&errors)).await
}

pub(crate) async fn waive(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let here = format!("/office/sessions/{}", session.id);
    let Some(charge) = waivable(&session) else {
        return Ok(Redirect::to(&here).into_response());
    };
    let mut errors = FieldErrors::new();
    let reason = errors.check(
        "reason",
        parse_text(
            form.get("reason"),
            "the reason for waiving the charge",
            500,
            true,
        ),
    );
    if let Some(reason) = reason {
        match state
            .store()
            .waive_charge(state.practice_id(), charge.id, &reason, state.now())
            .await
        {
            // Waived or invoiced a moment ago: the page shows which.
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(other) => return Err(other.into()),
        }
        return Ok(Redirect::to(&here).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let values = SessionValues::of(&view, &session, state.now()).with(&form);
    session_page(&state, &staff, &view, &session, &values, Some(&errors)).await
}

pub(crate) async fn move_to(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let here = format!("/office/sessions/{}", session.id);
    if session.status != SessionStatus::Scheduled {
        return Ok(Redirect::to(&here).into_response());
    }
    let now = state.now();
    let view = PracticeView::load(&state).await?;
    let mut errors = FieldErrors::new();
    let start = parse_instant(
        &view,
        &mut errors,
        (
            "move_date",
            form.get("move_date"),
            "Enter the new date, like 2027-04-13",
        ),
        (
            "move_time",
            form.get("move_time"),
            "Enter the new time, like 14:00",
        ),
    );
    let location = Slug::parse(form.get("move_location"))
        .ok()
        .filter(|slug| view.locations.iter().any(|l| &l.slug == slug));
    if location.is_none() {
        errors.add("move_location", "Choose where the session will be");
    }
    if let (Some(start), Some(location)) = (start, location)
        && errors.is_empty()
    {
        match move_session(&state, &session, &location, start).await {
            // Closed: it stopped being scheduled a moment ago; the page says what it is.
            Ok(_) | Err(MoveSessionError::Closed) => {
                return Ok(Redirect::to(&here).into_response());
            }
            Err(MoveSessionError::InThePast) => errors.add(
                "move_date",
                "Choose a date and time that has not passed yet",
            ),
            Err(MoveSessionError::Clash(starts)) => {
                errors.add("move_time", clash_message(&view, &starts));
            }
            Err(MoveSessionError::TakenJustNow) => errors.add("move_time", TAKEN_JUST_NOW),
            Err(MoveSessionError::Web(error)) => return Err(error),
        }
    }
    let values = SessionValues::of(&view, &session, now).with(&form);
    session_page(&state, &staff, &view, &session, &values, Some(&errors)).await
}

/// Save the note on a session (sealed with the client's key before it is stored).
pub(crate) async fn save_note(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    headers: axum::http::HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let session = find_session(&state, &raw).await?;
    let typed = form.get("note");
    let autosave = crate::notes::is_autosave(&headers);
    match crate::notes::check(typed) {
        Ok(text) if crate::notes::available(&state) => {
            let id =
                crate::notes::save(&state, session.client, Some(session.id), None, &text).await?;
            if autosave {
                return crate::notes::autosaved(&state, id).await;
            }
            Ok(
                Redirect::to(&format!("/office/sessions/{}#session-note", session.id))
                    .into_response(),
            )
        }
        outcome if autosave => Ok(crate::notes::autosave_refused(
            outcome
                .err()
                .unwrap_or("Notes are switched off on this server"),
        )),
        outcome => {
            let mut errors = FieldErrors::new();
            errors.add(
                "note",
                outcome.err().unwrap_or(
                    "Notes cannot be saved: the server was started without its key file",
                ),
            );
            let view = PracticeView::load(&state).await?;
            let values = SessionValues::of(&view, &session, state.now());
            session_page_with_note(
                &state,
                &staff,
                &view,
                &session,
                &values,
                Some(&errors),
                Some(typed),
            )
            .await
        }
    }
}
