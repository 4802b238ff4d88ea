//! Answers given in a session, entered by the therapist.

use super::*;

#[derive(serde::Deserialize)]
pub(crate) struct EntryQuery {
    instrument: Option<String>,
}

/// The sessions the therapist may enter answers for: the consultation, and each session of
/// the current contract that has happened or is next.
async fn entry_context(
    state: &Here,
    client: &Client,
) -> WebResult<(PracticeView, Contract, Vec<(String, String)>)> {
    let practice = state.practice_id();
    let (view, contracts, sessions) = tokio::try_join!(
        PracticeView::load(state),
        async { Ok(state.store().contracts(practice, client.id).await?) },
        async { Ok(state.store().client_sessions(practice, client.id).await?) },
    )?;
    let contract = contracts
        .into_iter()
        .find(|c| c.active)
        .ok_or(WebError::NotFound)?;
    let now = state.now();
    let mut choices = vec![("0".to_owned(), "At the consultation".to_owned())];
    let mut next_added = false;
    for s in sessions.iter().filter(|s| s.contract == contract.id) {
        let Some(n) = s.number else { continue };
        if s.start > now {
            if next_added {
                break;
            }
            next_added = true;
        }
        choices.push((
            n.to_string(),
            format!("Session {n}, {}", view.when(s.start)),
        ));
    }
    Ok((view, contract, choices))
}

pub(crate) async fn entry_form(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    crate::query::Query(q): crate::query::Query<EntryQuery>,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let catalogue = Catalogue::load(&state).await?;
    let id = q.instrument.as_deref().unwrap_or("phq-9");
    let instrument = catalogue.get(id).ok_or(WebError::NotFound)?;
    let (_, _, sessions) = entry_context(&state, &client).await?;
    let latest = sessions
        .iter()
        .rev()
        .nth(1)
        .or(sessions.last())
        .map(|(v, _)| v.clone());
    entry_page(
        &state,
        &staff,
        &client,
        instrument,
        &sessions,
        latest.as_deref().unwrap_or("0"),
        &FormData::default(),
        &[],
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn entry_page(
    state: &Here,
    staff: &Staff,
    client: &Client,
    instrument: &Instrument,
    sessions: &[(String, String)],
    session: &str,
    form: &FormData,
    problems: &[AnswerProblem],
) -> WebResult<Response> {
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let error: std::collections::BTreeMap<&str, &str> = problems
        .iter()
        .map(|p| (p.field.as_str(), p.message.as_str()))
        .collect();
    page(
        state,
        staff,
        status,
        "office/clients/enter_answers.html",
        context! {
            client => context! { id => client.id.get(), name => client.name.as_str() },
            form => m::questionnaire_form(instrument, form),
            sessions => sessions.iter().map(|(v, l)| (v.clone(), l.clone())).collect::<Vec<_>>(),
            session,
            errors => crate::templates::value(&problems),
            error => crate::templates::value(&error),
        },
    )
    .await
}

pub(crate) async fn enter(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let catalogue = Catalogue::load(&state).await?;
    let instrument = catalogue
        .get(form.get("instrument"))
        .ok_or(WebError::NotFound)?;
    let (view, contract, sessions) = entry_context(&state, &client).await?;
    let session = form.get("session").trim();
    let number = sessions
        .iter()
        .find(|(v, _)| v == session)
        .and_then(|(v, _)| v.parse::<u32>().ok());
    let read = m::read_answers(instrument, &form);
    let mut problems = match &read {
        Ok(_) => Vec::new(),
        Err(problems) => problems.clone(),
    };
    if number.is_none() {
        problems.insert(
            0,
            AnswerProblem {
                field: "session".into(),
                message: "Choose the session the answers were given in".into(),
            },
        );
    }
    let (Some(number), Ok(answers)) = (number, read) else {
        return entry_page(
            &state, &staff, &client, instrument, &sessions, session, &form, &problems,
        )
        .await;
    };
    let request = NewRequest {
        client: client.id,
        contract: contract.id,
        instrument: instrument.id.clone(),
        occasion: if number == 0 {
            Occasion::Consultation
        } else {
            Occasion::Other
        },
        session_number: number,
    };
    let flag = [m::flag_email(&view, state.public_url())];
    let done = state
        .store()
        .enter_questionnaire(state.practice_id(), &request, &answers, &flag, state.now())
        .await?;
    match done {
        Completion::Stored(id) => {
            Ok(Redirect::to(&format!("/office/questionnaires/{id}")).into_response())
        }
        Completion::AlreadyDone => {
            problems.push(AnswerProblem {
                field: "session".into(),
                message: format!(
                    "{} has already been answered for that session: choose another",
                    instrument.short
                ),
            });
            entry_page(
                &state, &staff, &client, instrument, &sessions, session, &form, &problems,
            )
            .await
        }
    }
}

/// Ask the client now to fill in a questionnaire before their next session (outside the
/// contract's plan: after a hard week, say), with its own email. Asked once per session:
/// asking again says so.
pub(crate) async fn ask(
    state: Here,
    _staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let client = find_client(&state, &raw).await?;
    let catalogue = Catalogue::load(&state).await?;
    let instrument = catalogue
        .get(form.get("instrument"))
        .ok_or(WebError::NotFound)?;
    let practice = state.practice_id();
    let now = state.now();
    let (view, contracts, sessions) = tokio::try_join!(
        PracticeView::load(&state),
        async { Ok(state.store().contracts(practice, client.id).await?) },
        async { Ok(state.store().client_sessions(practice, client.id).await?) },
    )?;
    let contract = contracts
        .iter()
        .find(|c| c.active)
        .ok_or(WebError::NotFound)?;
    let next = sessions.iter().find(|s| {
        s.contract == contract.id
            && s.start > now
            && s.status == store::SessionStatus::Scheduled
            && s.number.is_some()
    });
    let back = format!("/office/clients/{}", client.id);
    let Some((next, number)) = next.and_then(|s| Some((s, s.number?))) else {
        return Ok(Redirect::to(&format!("{back}?asked=none#measures")).into_response());
    };
    let request = NewRequest {
        client: client.id,
        contract: contract.id,
        instrument: instrument.id.clone(),
        occasion: Occasion::Other,
        session_number: number,
    };
    let public_url = state.public_url();
    let email = |q: &Questionnaire| {
        Some(m::request_email(
            &view,
            &client.email,
            Some(next.start),
            q,
            public_url,
        ))
    };
    let asked = state
        .store()
        .request_questionnaires(practice, &[request], &email, now)
        .await?;
    let outcome = if asked.is_empty() { "already" } else { "sent" };
    Ok(Redirect::to(&format!("{back}?asked={outcome}#measures")).into_response())
}
