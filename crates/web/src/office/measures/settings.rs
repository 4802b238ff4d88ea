//! Settings → Measures: adding CORE-10 from the practice's own copy of the form.

use super::*;

pub(crate) async fn settings_form(state: Here, staff: Staff) -> WebResult<Response> {
    let stored = state
        .store()
        .practice_instruments(state.practice_id())
        .await?;
    let wording = stored
        .iter()
        .find(|(id, _)| id == core10::ID)
        .and_then(|(_, w)| serde_json::from_str::<core10::Wording>(w).ok())
        .unwrap_or_default();
    settings_page(&state, &staff, &wording, &FieldErrors::new(), false).await
}

async fn settings_page(
    state: &Here,
    staff: &Staff,
    wording: &core10::Wording,
    errors: &FieldErrors,
    saved: bool,
) -> WebResult<Response> {
    let rules = core10::rules();
    let (list, map) = errors_value(errors);
    let options: Vec<Value> = core10::OPTION_FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            context! { field => *f, n => i + 1, value => wording.options.get(i).cloned().unwrap_or_default() }
        })
        .collect();
    let items: Vec<Value> = core10::ITEM_FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            context! {
                field => *f,
                n => i + 1,
                value => wording.items.get(i).cloned().unwrap_or_default(),
                reverse => rules.reverse.contains(&(i + 1)),
                risk => rules.risk.contains(&(i + 1)),
            }
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(
        state,
        staff,
        status,
        "office/measures_settings.html",
        context! {
            stem => wording.stem.clone(),
            options,
            items,
            added => !wording.items.is_empty(),
            saved,
            copyright => rules.copyright.clone(),
            errors => list,
            error => map,
        },
    )
    .await
}

pub(crate) async fn save_settings(
    state: Here,
    staff: Staff,
    form: FormData,
) -> WebResult<Response> {
    let wording = core10::Wording {
        stem: form.get("stem").to_owned(),
        options: core10::OPTION_FIELDS
            .iter()
            .map(|f| form.get(f).to_owned())
            .collect(),
        items: core10::ITEM_FIELDS
            .iter()
            .map(|f| form.get(f).to_owned())
            .collect(),
    };
    match core10::build(&wording) {
        Err(errors) => settings_page(&state, &staff, &wording, &errors, false).await,
        Ok(instrument) => {
            let stored = core10::Wording {
                stem: instrument.stem.clone(),
                options: instrument.options.iter().map(|c| c.label.clone()).collect(),
                items: instrument.items.iter().map(|i| i.text.clone()).collect(),
            };
            let json = serde_json::to_string(&stored).map_err(|e| WebError::Internal(e.into()))?;
            state
                .store()
                .save_practice_instrument(state.practice_id(), core10::ID, &json, state.now())
                .await?;
            settings_page(&state, &staff, &stored, &FieldErrors::new(), true).await
        }
    }
}
