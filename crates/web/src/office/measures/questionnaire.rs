//! One questionnaire's answers, item by item, and acknowledging a risk answer.

use super::*;

async fn find_questionnaire(state: &Here, raw: &str) -> WebResult<Questionnaire> {
    let id = QuestionnaireId::parse(raw).ok_or(WebError::NotFound)?;
    Ok(state.store().questionnaire(state.practice_id(), id).await?)
}

pub(crate) async fn show(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
) -> WebResult<Response> {
    let q = find_questionnaire(&state, &raw).await?;
    questionnaire_page(&state, &staff, &q, "", None).await
}

async fn questionnaire_page(
    state: &Here,
    staff: &Staff,
    q: &Questionnaire,
    note: &str,
    error: Option<&str>,
) -> WebResult<Response> {
    let (view, catalogue) = tokio::try_join!(PracticeView::load(state), Catalogue::load(state))?;
    let instrument = m::instrument(&catalogue, &q.instrument)?;
    let answered = match &q.completed {
        Some((at, by, answers)) => {
            let score = m::score_of(instrument, answers)?;
            let items: Vec<Value> = instrument
                .items
                .iter()
                .zip(&answers.values)
                .enumerate()
                .map(|(i, (item, value))| {
                    let label = instrument
                        .options
                        .iter()
                        .find(|c| c.value == *value)
                        .map_or_else(String::new, |c| c.label.clone());
                    context! {
                        n => i + 1,
                        text => item.text.clone(),
                        answer => label,
                        points => instrument.points(item, *value),
                        reverse => item.reverse,
                        attention => score.risk_items.contains(&(i + 1)),
                    }
                })
                .collect();
            let follow_up = instrument.follow_up.as_ref().map(|f| {
                context! {
                    text => f.text.clone(),
                    answer => answers.follow_up.and_then(|v| f.options.get(usize::from(v)).cloned()),
                }
            });
            Some(context! {
                when => view.when(*at),
                by => match by { EnteredBy::Client => "the client, in the portal", EnteredBy::Therapist => "you, from answers given in a session" },
                total => score.total,
                max => instrument.max_total(),
                band => instrument.bands[score.band].label.clone(),
                above => score.above_cut_off,
                cut_off => instrument.cut_off,
                items,
                follow_up,
                risk => !score.risk_items.is_empty(),
            })
        }
        None => None,
    };
    let acknowledged = q.acknowledged.as_ref().map(|a| {
        context! {
            when => view.when(a.at),
            by_you => a.by == Some(staff.user.id),
            note => a.note.clone(),
        }
    });
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        state,
        staff,
        status,
        "office/questionnaire.html",
        context! {
            q => context! {
                id => q.id.get(),
                short => instrument.short.clone(),
                name => instrument.name.clone(),
                stem => instrument.stem.clone(),
                occasion => m::occasion_words(q.occasion, q.session_number),
                asked => view.day(q.requested_at),
                withdrawn => q.withdrawn_at.map(|at| view.day(at)),
                attribution => instrument.attribution.clone(),
            },
            client => context! { id => q.client.get(), name => q.client_name.as_str() },
            answered,
            flagged => q.is_flagged(),
            acknowledged,
            note,
            note_error => error,
        },
    )
    .await
}

pub(crate) async fn acknowledge(
    state: Here,
    staff: Staff,
    Path(raw): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let q = find_questionnaire(&state, &raw).await?;
    let note = form.get("note").trim();
    let problem = if note.is_empty() {
        Some("Write what you have done or will do about it")
    } else if note.chars().count() > MAX_NOTE {
        Some("Keep the note to 4,000 characters or fewer")
    } else {
        None
    };
    if let Some(problem) = problem {
        if q.is_flagged() {
            return questionnaire_page(&state, &staff, &q, note, Some(problem)).await;
        }
    } else {
        // Acknowledged by someone else meanwhile: theirs stands, and the page shows it.
        state
            .store()
            .acknowledge_flag(state.practice_id(), q.id, staff.user.id, note, state.now())
            .await?;
    }
    Ok(Redirect::to(&format!("/office/questionnaires/{}", q.id)).into_response())
}
