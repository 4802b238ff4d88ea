//! What came of a consultation.

use super::*;

pub(crate) const WORKING_TOGETHER: &str = "working_together";

/// The therapist's default words when a consultation does not lead to work together:
/// short, warm, leaving the door open, signed with their name.
pub(crate) fn default_not_going_ahead(view: &PracticeView, booking: &store::Booking) -> String {
    format!(
        "Thank you for meeting me on {}. As we discussed, we will not be going on to work \
         together for now.\n\nI hope things go well for you. If it would help to talk about \
         finding support elsewhere, or if you would like to come back to this in the future, \
         you are very welcome to get in touch.\n\nWith best wishes,\n{}",
        words::weekday_day_month(view.zone.to_datetime(booking.start).date()),
        view.practice.therapist.name
    )
}

/// The message to the visitor: their name, the therapist's words, where to find help, the
/// practice. The subject names only the practice.
pub(crate) fn not_going_ahead_message(
    view: &PracticeView,
    booking: &store::Booking,
    words: &str,
) -> NewMessage {
    let practice = &view.practice.details.name;
    NewMessage {
        kind: "consultation_not_going_ahead".into(),
        to: booking.visitor.email.clone(),
        subject: format!("Your consultation with {practice}"),
        body_text: format!(
            "Dear {},\n\n{}\n\nIf you ever need help urgently: {URGENT_HELP}\n\n{practice}\n",
            booking.visitor.name,
            words.trim()
        ),
        calendar: None,
    }
}

pub(crate) async fn load_consultation(state: &Here, raw: &str) -> WebResult<store::Booking> {
    let id = BookingId::parse(raw).ok_or(WebError::NotFound)?;
    Ok(state.store().booking(state.practice_id(), id).await?)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn outcome_page(
    state: &Here,
    staff: &Staff,
    view: &PracticeView,
    booking: &store::Booking,
    choice: &str,
    words: &str,
    send: bool,
    errors: Option<&FieldErrors>,
) -> WebResult<Response> {
    let recorded = state
        .store()
        .consultation_outcome(state.practice_id(), booking.id)
        .await?;
    let client = match &recorded {
        Some((_, Some(client))) => Some(state.store().client(state.practice_id(), *client).await?),
        _ => None,
    }
    .map(|c| context! { id => c.id.get(), name => c.name.as_str() });
    // Usually recorded after the consultation; a therapist who has already agreed the work
    // (on the phone, say) can record it before.
    let ready = booking.status == BookingStatus::Confirmed;
    let upcoming = booking.start > state.now();
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        booking => value(booking),
        when => view.when(booking.start),
        outcome => recorded.as_ref().map(|(o, _)| o.clone()),
        client,
        ready,
        upcoming,
        choice, words, send,
        errors => list,
        error => map,
    };
    page(state, staff, status, "office/clients/outcome.html", ctx).await
}

pub(crate) async fn outcome_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let booking = load_consultation(&state, &raw).await?;
    let view = PracticeView::load(&state).await?;
    let words = default_not_going_ahead(&view, &booking);
    outcome_page(&state, &staff, &view, &booking, "", &words, true, None).await
}

pub(crate) async fn record_consultation_outcome(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let booking = load_consultation(&state, &raw).await?;
    let here = format!("/office/bookings/{}/outcome", booking.id);
    let id = state.practice_id();
    let now = state.now();
    let ready = booking.status == BookingStatus::Confirmed;
    if !ready
        || state
            .store()
            .consultation_outcome(id, booking.id)
            .await?
            .is_some()
    {
        return Ok(Redirect::to(&here).into_response());
    }
    let view = PracticeView::load(&state).await?;
    let choice = form.get("outcome");
    let send = form.has("send");
    let mut errors = FieldErrors::new();
    match choice {
        WORKING_TOGETHER => {
            let visitor = &booking.visitor;
            let client = NewClient {
                name: visitor.name.clone(),
                email: visitor.email.clone(),
                phone: visitor.phone.clone(),
                contact_preference: visitor.contact_preference,
                reminders: true,
            };
            return match state
                .store()
                .create_client(id, &client, Some(booking.id), now)
                .await
            {
                Ok(client) => Ok(
                    Redirect::to(&format!("/office/clients/{client}/contract/new")).into_response(),
                ),
                // Recorded a moment ago (another tab): the page says what it was.
                Err(StoreError::NotFound) => Ok(Redirect::to(&here).into_response()),
                Err(other) => Err(other.into()),
            };
        }
        store::NOT_GOING_AHEAD => {
            let words = if send {
                errors.check(
                    "words",
                    domain::text::parse_text(form.get("words"), "a message to send", 3000, true),
                )
            } else {
                None
            };
            if errors.is_empty() {
                let messages: Vec<NewMessage> = words
                    .map(|w| not_going_ahead_message(&view, &booking, &w))
                    .into_iter()
                    .collect();
                match state
                    .store()
                    .consultation_not_going_ahead(id, booking.id, &messages, now)
                    .await
                {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(other) => return Err(other.into()),
                }
                if !messages.is_empty() {
                    state.mail_queued();
                }
                return Ok(Redirect::to(&here).into_response());
            }
        }
        _ => errors.add("outcome", "Choose what came of the consultation"),
    }
    outcome_page(
        &state,
        &staff,
        &view,
        &booking,
        choice,
        form.get("words"),
        send,
        Some(&errors),
    )
    .await
}

/// Add a general note on a client (sealed with their key before it is stored).
pub(crate) async fn add_note(
    state: Here,
    _staff: Staff,
    Path(raw): Path<String>,
    headers: axum::http::HeaderMap,
    form: FormData,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let autosave = crate::notes::is_autosave(&headers);
    // A general note the notes script already saved once is changed, not added again.
    let existing = match form.get("note_id").trim() {
        "" => None,
        raw => Some(store::NoteId::parse(raw).ok_or(WebError::NotFound)?),
    };
    match crate::notes::check(form.get("note")) {
        Ok(text) if crate::notes::available(&state) => {
            let id = crate::notes::save(&state, client.id, None, existing, &text).await?;
            if autosave {
                return crate::notes::autosaved(&state, id).await;
            }
            Ok(Redirect::to(&format!("/office/clients/{}#notes", client.id)).into_response())
        }
        outcome if autosave => Ok(crate::notes::autosave_refused(
            outcome
                .err()
                .unwrap_or("Notes are switched off on this server"),
        )),
        _ => Ok(
            Redirect::to(&format!("/office/clients/{}?note_error=1#notes", client.id))
                .into_response(),
        ),
    }
}
