//! Choosing a contract's measures.

use super::*;

pub(super) fn schedule_words(schedule: &Schedule) -> String {
    let mut parts = Vec::new();
    if schedule.first {
        parts.push("before the first session".to_owned());
    }
    if let Some(n) = schedule.every {
        parts.push(if n == 1 {
            "before every session".to_owned()
        } else {
            format!("every {n} sessions")
        });
    }
    if schedule.reviews {
        parts.push("before reviews".to_owned());
    }
    if schedule.ending {
        parts.push("at the ending".to_owned());
    }
    match parts.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

pub(crate) async fn plan_form(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    let catalogue = Catalogue::load(&state).await?;
    let plans = state
        .store()
        .measure_plans(state.practice_id(), Some(contract.id))
        .await?;
    let mut values = std::collections::BTreeMap::new();
    for (_, plan) in &plans {
        let id = &plan.instrument;
        let s = plan.schedule;
        for (key, on) in [
            ("first", s.first),
            ("reviews", s.reviews),
            ("ending", s.ending),
        ] {
            if on {
                values.insert(format!("{id}_{key}"), "on".to_owned());
            }
        }
        if let Some(n) = s.every {
            values.insert(format!("{id}_every"), n.to_string());
        }
    }
    plan_page(&state, &staff, &client, &contract, &catalogue, &values, &[]).await
}

async fn plan_page(
    state: &Here,
    staff: &Staff,
    client: &Client,
    contract: &Contract,
    catalogue: &Catalogue,
    values: &std::collections::BTreeMap<String, String>,
    problems: &[AnswerProblem],
) -> WebResult<Response> {
    let error: std::collections::BTreeMap<&str, &str> = problems
        .iter()
        .map(|p| (p.field.as_str(), p.message.as_str()))
        .collect();
    let instruments: Vec<Value> = catalogue
        .all()
        .map(|i| {
            context! {
                id => i.id.clone(),
                short => i.short.clone(),
                name => i.name.clone(),
                items => i.items.len(),
                attribution => i.attribution.clone(),
            }
        })
        .collect();
    let brief = matches!(
        contract.current().terms.kind,
        domain::therapy::ContractKind::Brief { .. }
    );
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(
        state,
        staff,
        status,
        "office/clients/measures_form.html",
        context! {
            client => context! { id => client.id.get(), name => client.name.as_str() },
            contract => contract.id.get(),
            instruments,
            brief,
            values => crate::templates::value(values),
            errors => crate::templates::value(&problems),
            error => crate::templates::value(&error),
        },
    )
    .await
}

pub(crate) async fn save_plan(
    state: Here,
    staff: Staff,
    Path((raw_client, raw_contract)): Path<(String, String)>,
    form: FormData,
) -> WebResult<Response> {
    let (client, contract) = find_contract(&state, &raw_client, &raw_contract).await?;
    let catalogue = Catalogue::load(&state).await?;
    let mut problems = Vec::new();
    let mut plans = Vec::new();
    for instrument in catalogue.all() {
        let id = &instrument.id;
        let field = format!("{id}_every");
        let every = match parse_every(form.get(&field)) {
            Ok(every) => every,
            Err(message) => {
                problems.push(AnswerProblem {
                    field,
                    message: format!("{}: {message}", instrument.short),
                });
                None
            }
        };
        let schedule = Schedule {
            first: form.has(&format!("{id}_first")),
            every,
            reviews: form.has(&format!("{id}_reviews")),
            ending: form.has(&format!("{id}_ending")),
        };
        plans.push(MeasurePlan {
            instrument: id.clone(),
            schedule,
        });
    }
    if !problems.is_empty() {
        let values = form
            .values()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        return plan_page(
            &state, &staff, &client, &contract, &catalogue, &values, &problems,
        )
        .await;
    }
    state
        .store()
        .set_measure_plans(state.practice_id(), contract.id, &plans, state.now())
        .await?;
    Ok(Redirect::to(&format!("/office/clients/{}#measures", client.id)).into_response())
}
