//! Questionnaires in the portal: the client fills one in on one page, or one question per
//! screen (both plain forms, no script: the answers so far travel in the form itself until
//! the last screen sends them all), sees a calm thank-you, or, after an answer on a risk
//! item, the crisis block at once with words for the moment; and may ask not to be sent
//! questionnaires (the therapist is told).

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use minijinja::{Value, context};
use serde::Deserialize;
use store::{Completion, EnteredBy, Questionnaire, QuestionnaireId};

use super::{PortalClient, Source, portal_page};
use crate::{
    Here, WebError,
    error::WebResult,
    forms::FormData,
    measures::{self as m, AnswerProblem, Catalogue},
    query::Query,
    templates::value,
    therapy::PracticeView,
};

/// One of this client's questionnaires by the id in the URL; anyone else's is "not found"
/// and written down as refused.
async fn own_questionnaire(
    state: &Here,
    me: &PortalClient,
    source: Source,
    raw: &str,
) -> WebResult<Questionnaire> {
    let id = QuestionnaireId::parse(raw).ok_or(WebError::NotFound)?;
    let found = state.store().questionnaire(state.practice_id(), id).await;
    me.own(state, source, ("questionnaire", id.get()), found, |q| {
        q.client
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct FormQuery {
    /// One question per screen.
    one: Option<String>,
}

/// The questionnaire: all questions on one page, or (`?one=1`) the first question alone.
pub(super) async fn questionnaire(
    state: Here,
    me: PortalClient,
    source: Source,
    Path(raw): Path<String>,
    Query(q): Query<FormQuery>,
) -> WebResult<Response> {
    let questionnaire = own_questionnaire(&state, &me, source, &raw).await?;
    if !questionnaire.is_open() {
        return Ok(
            Redirect::to(&format!("/portal/questionnaires/{}/done", questionnaire.id))
                .into_response(),
        );
    }
    let catalogue = Catalogue::load(&state).await?;
    let instrument = m::instrument(&catalogue, &questionnaire.instrument)?;
    let step = q.one.is_some().then_some(1);
    form_page(
        &state,
        &questionnaire,
        instrument,
        &FormData::default(),
        step,
        &[],
    )
    .await
}

/// The page for the whole form (`step` `None`) or for one screen (1 to the item count, and
/// one more for the follow-up question if there is one).
async fn form_page(
    state: &Here,
    questionnaire: &Questionnaire,
    instrument: &domain::measures::Instrument,
    form: &FormData,
    step: Option<usize>,
    problems: &[AnswerProblem],
) -> WebResult<Response> {
    let screens = instrument.items.len() + usize::from(instrument.follow_up.is_some());
    let error: std::collections::BTreeMap<&str, &str> = problems
        .iter()
        .map(|p| (p.field.as_str(), p.message.as_str()))
        .collect();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    // The answers so far, carried as hidden fields on one-per-screen pages.
    let carried: Vec<(String, String)> = match step {
        Some(at) => (1..=instrument.items.len())
            .filter(|n| *n != at)
            .map(|n| (m::item_field(n), form.get(&m::item_field(n)).to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .chain(
                (at <= instrument.items.len() && !form.get("follow_up").is_empty())
                    .then(|| ("follow_up".to_owned(), form.get("follow_up").to_owned())),
            )
            .collect(),
        None => Vec::new(),
    };
    portal_page(
        state,
        status,
        "portal/questionnaire.html",
        &format!("/portal/questionnaires/{}", questionnaire.id),
        true,
        context! {
            id => questionnaire.id.get(),
            form => m::questionnaire_form(instrument, form),
            step,
            screens,
            last => step.is_none_or(|at| at >= screens),
            carried,
            errors => value(&problems),
            error => value(&error),
        },
    )
    .await
}

/// One screen answered: check its question, then show the next (or the same with a
/// message, or the previous with "Back"). Nothing is stored until the last screen.
pub(super) async fn step(
    state: Here,
    me: PortalClient,
    source: Source,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let questionnaire = own_questionnaire(&state, &me, source, &raw).await?;
    if !questionnaire.is_open() {
        return Ok(
            Redirect::to(&format!("/portal/questionnaires/{}/done", questionnaire.id))
                .into_response(),
        );
    }
    let catalogue = Catalogue::load(&state).await?;
    let instrument = m::instrument(&catalogue, &questionnaire.instrument)?;
    let screens = instrument.items.len() + usize::from(instrument.follow_up.is_some());
    let at: usize = form
        .get("at")
        .parse()
        .ok()
        .filter(|n| (1..=screens).contains(n))
        .unwrap_or(1);
    if form.has("back") {
        let previous = at.saturating_sub(1).max(1);
        return form_page(
            &state,
            &questionnaire,
            instrument,
            &form,
            Some(previous),
            &[],
        )
        .await;
    }
    if at <= instrument.items.len() {
        let field = m::item_field(at);
        let chosen = form.get(&field).parse::<u8>().ok();
        if !chosen.is_some_and(|v| instrument.options.iter().any(|c| c.value == v)) {
            let problem = AnswerProblem {
                field,
                message: format!("Choose an answer to question {at}"),
            };
            return form_page(
                &state,
                &questionnaire,
                instrument,
                &form,
                Some(at),
                &[problem],
            )
            .await;
        }
    }
    let next = (at + 1).min(screens);
    form_page(&state, &questionnaire, instrument, &form, Some(next), &[]).await
}

/// All the answers: checked whole, stored once, then the thank-you (or the crisis block).
pub(super) async fn answer(
    state: Here,
    me: PortalClient,
    source: Source,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let questionnaire = own_questionnaire(&state, &me, source, &raw).await?;
    let done = format!("/portal/questionnaires/{}/done", questionnaire.id);
    if !questionnaire.is_open() {
        return Ok(Redirect::to(&done).into_response());
    }
    let catalogue = Catalogue::load(&state).await?;
    let instrument = m::instrument(&catalogue, &questionnaire.instrument)?;
    let answers = match m::read_answers(instrument, &form) {
        Ok(answers) => answers,
        // Back to the whole form, with each question left out named at the top and at it.
        Err(problems) => {
            return form_page(&state, &questionnaire, instrument, &form, None, &problems).await;
        }
    };
    let view = PracticeView::load(&state).await?;
    let flag = [m::flag_email(&view, state.public_url())];
    match state
        .store()
        .complete_questionnaire(
            state.practice_id(),
            questionnaire.id,
            &answers,
            EnteredBy::Client,
            &flag,
            state.now(),
        )
        .await?
    {
        // Sent twice (a double click): the first answers stand.
        Completion::Stored(_) | Completion::AlreadyDone => {}
    }
    Ok(Redirect::to(&done).into_response())
}

/// After answering: thanks, or the crisis block first when a risk item was answered above
/// zero; or, for a questionnaire no longer needed, a word saying so.
pub(super) async fn done(
    state: Here,
    me: PortalClient,
    source: Source,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let questionnaire = own_questionnaire(&state, &me, source, &raw).await?;
    let view = PracticeView::load(&state).await?;
    let (answered, risk) = match &questionnaire.completed {
        Some((_, _, answers)) => (true, answers.risk),
        None => (false, false),
    };
    portal_page(
        &state,
        StatusCode::OK,
        "portal/questionnaire_done.html",
        &format!("/portal/questionnaires/{}/done", questionnaire.id),
        true,
        context! {
            id => questionnaire.id.get(),
            open => questionnaire.is_open(),
            answered,
            risk,
            therapist => view.practice.therapist.name.as_str().to_owned(),
            practice_name => view.practice.details.name.clone(),
        },
    )
    .await
}

/// The client asks not to be sent questionnaires; the therapist is told by email.
pub(super) async fn stop(state: Here, me: PortalClient) -> WebResult<Response> {
    let view = PracticeView::load(&state).await?;
    let told = [m::stopped_email(&view, state.public_url())];
    state
        .store()
        .set_measures_stopped(state.practice_id(), me.client.id, true, &told, state.now())
        .await?;
    Ok(Redirect::to("/portal?questionnaires=stopped#questionnaires").into_response())
}

/// The client asks to be sent questionnaires again.
pub(super) async fn resume(state: Here, me: PortalClient) -> WebResult<Response> {
    state
        .store()
        .set_measures_stopped(state.practice_id(), me.client.id, false, &[], state.now())
        .await?;
    Ok(Redirect::to("/portal?questionnaires=resumed#questionnaires").into_response())
}

/// The portal home's questionnaires: those to fill in (with the session each is for) and
/// whether the client has asked to stop.
pub(super) async fn home_section(
    state: &Here,
    view: &PracticeView,
    me: &PortalClient,
    coming: &[store::Session],
) -> WebResult<Value> {
    let practice = state.practice_id();
    let (questionnaires, stopped) = tokio::try_join!(
        state.store().questionnaires(practice, me.client.id),
        state.store().measures_stopped(practice, me.client.id),
    )?;
    let open: Vec<Value> = questionnaires
        .iter()
        .filter(|q| q.is_open())
        .map(|q| {
            let session = coming
                .iter()
                .find(|s| s.contract == q.contract && s.number == Some(q.session_number));
            context! {
                id => q.id.get(),
                before => session.map(|s| view.when(s.start)),
            }
        })
        .collect();
    Ok(context! {
        open,
        any => !questionnaires.is_empty() || stopped.is_some(),
        stopped => stopped.is_some(),
    })
}
