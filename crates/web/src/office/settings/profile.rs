//! Therapist profile.

use super::*;

pub(super) fn profile_fields(raw: &RawTherapistProfile) -> Vec<Field> {
    vec![
        text(
            "name",
            "Your name",
            "As you want it shown on the site.",
            &raw.name,
        ),
        text(
            "title",
            "Job title",
            "For example, Psychodynamic psychotherapist and counsellor.",
            &raw.title,
        ),
        text(
            "professional_body",
            "Professional body",
            "For example, UK Council for Psychotherapy (UKCP).",
            &raw.professional_body,
        ),
        text(
            "registration",
            "Registration or membership number",
            "",
            &raw.registration,
        ),
        area(
            "qualifications",
            "Qualifications",
            "One per line.",
            raw.qualifications.join("\n"),
        ),
        area(
            "languages",
            "Languages you work in",
            "One per line.",
            raw.languages.join("\n"),
        ),
        area("about", "About you", MARKDOWN_HINT, &raw.about),
    ]
}

pub(crate) fn profile_raw(form: &FormData) -> RawTherapistProfile {
    RawTherapistProfile {
        name: form.get("name").into(),
        title: form.get("title").into(),
        professional_body: form.get("professional_body").into(),
        registration: form.get("registration").into(),
        qualifications: split_lines(form.get("qualifications")),
        languages: split_lines(form.get("languages")),
        about: form.get("about").into(),
    }
}

pub(super) async fn profile_form(
    state: Here,
    staff: Staff,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let practice = state.store().practice(state.practice_id()).await?;
    show(
        &state,
        &staff,
        "Your profile",
        "/office/settings/profile",
        profile_fields(&practice.therapist.to_raw()),
        None,
        q.saved.is_some(),
    )
    .await
}

pub(super) async fn save_profile(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let raw = profile_raw(&form);
    match TherapistProfile::parse(&raw) {
        Ok(profile) => {
            state
                .store()
                .update_therapist(state.practice_id(), &profile)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/profile"))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                "Your profile",
                "/office/settings/profile",
                profile_fields(&raw),
                Some(&errors),
                false,
            )
            .await
        }
    }
}
