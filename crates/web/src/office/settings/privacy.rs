//! Privacy.

use super::*;

pub(super) fn privacy_fields(raw: &RawPrivacySettings, years: &str) -> Vec<Field> {
    vec![
        text(
            "controller",
            "Who is responsible for the data",
            "Usually your name, and your trading name if you have one.",
            &raw.controller,
        ),
        text(
            "ico_registration",
            "ICO registration number",
            "If you are registered with the Information Commissioner's Office.",
            &raw.ico_registration,
        ),
        typed(
            "number",
            "retention_years",
            "Years records are kept after therapy ends",
            "Professional bodies and insurers usually advise 6 or 7 years.",
            years,
        ),
        area(
            "extra",
            "Anything else for the privacy notice",
            MARKDOWN_HINT,
            &raw.extra,
        ),
    ]
}

pub(super) async fn privacy_form(
    state: Here,
    staff: Staff,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let p = state.store().practice(state.practice_id()).await?.privacy;
    let raw = RawPrivacySettings {
        controller: p.controller,
        ico_registration: p.ico_registration,
        retention_years: Some(p.retention_years),
        extra: p.extra,
    };
    let years = p.retention_years.to_string();
    show(
        &state,
        &staff,
        "Privacy notice",
        "/office/settings/privacy",
        privacy_fields(&raw, &years),
        None,
        q.saved.is_some(),
    )
    .await
}

pub(super) async fn save_privacy(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let raw = RawPrivacySettings {
        controller: form.get("controller").into(),
        ico_registration: form.get("ico_registration").into(),
        retention_years: form.get("retention_years").trim().parse().ok(),
        extra: form.get("extra").into(),
    };
    match PrivacySettings::parse(&raw) {
        Ok(privacy) => {
            state
                .store()
                .update_privacy(state.practice_id(), &privacy)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/privacy"))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                "Privacy notice",
                "/office/settings/privacy",
                privacy_fields(&raw, form.get("retention_years")),
                Some(&errors),
                false,
            )
            .await
        }
    }
}
