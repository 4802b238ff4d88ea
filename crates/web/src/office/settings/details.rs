//! Practice details.

use super::*;

pub(super) fn practice_fields(raw: &RawPracticeDetails) -> Vec<Field> {
    vec![
        text(
            "name",
            "Practice name",
            "Shown at the top of every page.",
            &raw.name,
        ),
        text(
            "tagline",
            "Tagline",
            "One short line under the name.",
            &raw.tagline,
        ),
        text(
            "time_zone",
            "Time zone",
            "From the IANA list, for example Europe/London.",
            &raw.time_zone,
        ),
        typed(
            "email",
            "notify_email",
            "Email address for notifications",
            "Where new enquiries are announced. Never shown on the site.",
            &raw.notify_email,
        ),
        typed(
            "tel",
            "public_phone",
            "Public phone number (optional)",
            "Leave empty to keep your number off the site.",
            &raw.public_phone,
        ),
        area("intro", "Home page introduction", MARKDOWN_HINT, &raw.intro),
        area(
            "how_i_work",
            "How I work (home page)",
            MARKDOWN_HINT,
            &raw.how_i_work,
        ),
    ]
}

pub(super) async fn practice_form(
    state: Here,
    staff: Staff,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let practice = state.store().practice(state.practice_id()).await?;
    show(
        &state,
        &staff,
        "Practice details",
        "/office/settings/practice",
        practice_fields(&practice.details.to_raw()),
        None,
        q.saved.is_some(),
    )
    .await
}

pub(super) async fn save_practice(
    state: Here,
    staff: Staff,
    form: FormData,
) -> WebResult<Response> {
    let raw = RawPracticeDetails {
        name: form.get("name").into(),
        tagline: form.get("tagline").into(),
        time_zone: form.get("time_zone").into(),
        notify_email: form.get("notify_email").into(),
        public_phone: form.get("public_phone").into(),
        intro: form.get("intro").into(),
        how_i_work: form.get("how_i_work").into(),
    };
    match PracticeDetails::parse(&raw) {
        Ok(details) => {
            state
                .store()
                .update_details(state.practice_id(), &details)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/practice"))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                "Practice details",
                "/office/settings/practice",
                practice_fields(&raw),
                Some(&errors),
                false,
            )
            .await
        }
    }
}
