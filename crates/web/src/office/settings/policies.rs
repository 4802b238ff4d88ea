//! Policies.

use super::*;

pub(super) fn policies_fields(p: &Policies) -> Vec<Field> {
    vec![
        area(
            "fees",
            "About fees",
            "How and when people pay, reduced fees. Shown above your fee list.",
            &p.fees,
        ),
        area(
            "cancellation",
            "Cancellation policy",
            MARKDOWN_HINT,
            &p.cancellation,
        ),
        area(
            "confidentiality",
            "Confidentiality and its limits",
            MARKDOWN_HINT,
            &p.confidentiality,
        ),
    ]
}

pub(super) async fn policies_form(
    state: Here,
    staff: Staff,
    Query(q): Query<Saved>,
) -> WebResult<Response> {
    let practice = state.store().practice(state.practice_id()).await?;
    show(
        &state,
        &staff,
        "Fees and policies",
        "/office/settings/policies",
        policies_fields(&practice.policies),
        None,
        q.saved.is_some(),
    )
    .await
}

pub(super) async fn save_policies(
    state: Here,
    staff: Staff,
    form: FormData,
) -> WebResult<Response> {
    let raw = Policies {
        fees: form.get("fees").into(),
        cancellation: form.get("cancellation").into(),
        confidentiality: form.get("confidentiality").into(),
    };
    match Policies::parse(&raw) {
        Ok(policies) => {
            state
                .store()
                .update_policies(state.practice_id(), &policies)
                .await?;
            state.content_changed();
            Ok(done("/office/settings/policies"))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                "Fees and policies",
                "/office/settings/policies",
                policies_fields(&raw),
                Some(&errors),
                false,
            )
            .await
        }
    }
}
