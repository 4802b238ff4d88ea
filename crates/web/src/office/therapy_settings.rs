//! Settings for the therapy side of the practice: reminders, break notices and invoicing,
//! and the cancellation policy (every saved change is a new version; a contract keeps the
//! version the client agreed to).

use axum::{http::StatusCode, response::Response};
use domain::{
    FieldErrors,
    therapy::{
        InvoiceMode, TherapySettingsForm,
        policy::{CancellationPolicy, PolicyForm},
    },
};
use minijinja::context;

use super::{
    Staff, errors_value, page,
    settings::{Field, Saved, done, show, typed},
};
use crate::query::Query;
use crate::{Here, error::WebResult, forms::FormData, templates::value};

crate::routing::routes! {
    GET "/office/settings/cancellation-charges" => Staff: policy_form;
    POST "/office/settings/cancellation-charges" => Staff(SettingsChanged): save_policy;
    GET "/office/settings/therapy" => Staff: settings_form;
    POST "/office/settings/therapy" => Staff(SettingsChanged): save_settings;
}

const SETTINGS_PATH: &str = "/office/settings/therapy";
const SETTINGS_TITLE: &str = "Reminders, breaks and invoices";

fn settings_fields(form: &TherapySettingsForm<'_>) -> Vec<Field> {
    let mut mode = typed(
        "radios",
        "invoice_mode",
        "When invoices are made",
        "Each invoice is emailed to the client as a private link they can print.",
        form.invoice_mode,
    );
    mode.options = [
        (
            InvoiceMode::Monthly,
            "Monthly: one invoice per client at the start of each month",
        ),
        (
            InvoiceMode::PerSession,
            "Per session: when you record what happened at a session with a charge",
        ),
    ]
    .into_iter()
    .map(|(m, label)| {
        (
            m.as_str().to_owned(),
            label.to_owned(),
            form.invoice_mode == m.as_str(),
        )
    })
    .collect();
    vec![
        typed(
            "number",
            "session_reminder_hours",
            "Session reminders, hours before",
            "Clients get a short email this many hours before each session, unless they ask you to stop. Use 0 for no reminders.",
            form.session_reminder_hours,
        ),
        typed(
            "number",
            "break_notice_days",
            "Telling clients about a break, days ahead",
            "Clients with sessions in a break are emailed this many days before it starts, or straight away if it is sooner.",
            form.break_notice_days,
        ),
        mode,
        typed(
            "number",
            "payment_terms_days",
            "Days to pay",
            "The due date on an invoice is this many days after it is made.",
            form.payment_terms_days,
        ),
        {
            let mut bank = typed(
                "textarea",
                "bank_details",
                "Bank details for payment",
                "Printed on every invoice: account name, sort code and account number.",
                form.bank_details,
            );
            bank.kind = "textarea";
            bank
        },
    ]
}

async fn settings_form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let settings = state.store().therapy_settings(state.practice_id()).await?;
    let numbers = [
        settings.session_reminder_hours.to_string(),
        settings.break_notice_days.to_string(),
        settings.payment_terms_days.to_string(),
    ];
    let form = TherapySettingsForm {
        session_reminder_hours: &numbers[0],
        break_notice_days: &numbers[1],
        invoice_mode: settings.invoice_mode.as_str(),
        bank_details: &settings.bank_details,
        payment_terms_days: &numbers[2],
    };
    show(
        &state,
        &staff,
        SETTINGS_TITLE,
        SETTINGS_PATH,
        settings_fields(&form),
        None,
        q.saved.is_some(),
    )
    .await
}

async fn save_settings(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let raw = TherapySettingsForm {
        session_reminder_hours: form.get("session_reminder_hours"),
        break_notice_days: form.get("break_notice_days"),
        invoice_mode: form.get("invoice_mode"),
        bank_details: form.get("bank_details"),
        payment_terms_days: form.get("payment_terms_days"),
    };
    match raw.parse() {
        Ok(settings) => {
            state
                .store()
                .update_therapy_settings(state.practice_id(), &settings)
                .await?;
            Ok(done(SETTINGS_PATH))
        }
        Err(errors) => {
            show(
                &state,
                &staff,
                SETTINGS_TITLE,
                SETTINGS_PATH,
                settings_fields(&raw),
                Some(&errors),
                false,
            )
            .await
        }
    }
}

const POLICY_PATH: &str = "/office/settings/cancellation-charges";

fn policy_fields(form: &PolicyForm<'_>) -> Vec<Field> {
    vec![
        typed(
            "number",
            "notice_hours",
            "Notice needed to cancel without charge, in hours",
            "For example 48. Use 0 if you never charge for a cancellation.",
            form.notice_hours,
        ),
        typed(
            "number",
            "grace_minutes",
            "Grace period, in minutes",
            "A cancellation this many minutes after the notice deadline still counts as in time. Use 0 for none.",
            form.grace_minutes,
        ),
        typed(
            "number",
            "late_cancellation_percent",
            "Charge for a late cancellation, as a percentage of the session fee",
            "For example 100 for the full fee, 50 for half.",
            form.late_cancellation_percent,
        ),
        typed(
            "number",
            "did_not_attend_percent",
            "Charge when a client does not come and does not tell you, as a percentage of the fee",
            "",
            form.did_not_attend_percent,
        ),
        typed(
            "number",
            "free_late_cancellations",
            "Free late cancellations",
            "How many late cancellations are free of charge in any rolling period. Use 0 for none.",
            form.free_late_cancellations,
        ),
        typed(
            "number",
            "free_period_days",
            "The rolling period, in days",
            "For example 365 for any 12 months.",
            form.free_period_days,
        ),
    ]
}

fn strings(policy: &CancellationPolicy) -> [String; 6] {
    [
        policy.notice_hours,
        policy.grace_minutes,
        policy.late_cancellation_percent,
        policy.did_not_attend_percent,
        policy.free_late_cancellations,
        policy.free_period_days,
    ]
    .map(|n| n.to_string())
}

fn form_of(values: &[String; 6]) -> PolicyForm<'_> {
    PolicyForm {
        notice_hours: &values[0],
        grace_minutes: &values[1],
        late_cancellation_percent: &values[2],
        did_not_attend_percent: &values[3],
        free_late_cancellations: &values[4],
        free_period_days: &values[5],
    }
}

async fn show_policy(
    state: &Here,
    staff: &Staff,
    current: &CancellationPolicy,
    values: &[String; 6],
    errors: Option<&FieldErrors>,
    saved: bool,
) -> WebResult<Response> {
    let (list, map) = errors.map_or(
        (minijinja::Value::UNDEFINED, minijinja::Value::UNDEFINED),
        errors_value,
    );
    let intro = vec![
        format!(
            "This is version {} of your policy. In words, as clients see it: {}",
            current.version,
            current.summary()
        ),
        "Saving a change makes a new version for contracts you agree from now on. Work already agreed keeps the version the client agreed to, and every charge names the rule and version that produced it.".to_owned(),
    ];
    let ctx = context! {
        title => "Cancellation charges",
        action => POLICY_PATH,
        fields => value(&policy_fields(&form_of(values))),
        errors => list,
        error => map,
        saved,
        saved_text => format!("Saved as version {}.", current.version),
        intro,
    };
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(state, staff, status, "office/settings_form.html", ctx).await
}

async fn policy_form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let current = state.store().policy(state.practice_id(), None).await?;
    let values = strings(&current);
    show_policy(&state, &staff, &current, &values, None, q.saved.is_some()).await
}

async fn save_policy(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let current = state.store().policy(state.practice_id(), None).await?;
    let values = [
        "notice_hours",
        "grace_minutes",
        "late_cancellation_percent",
        "did_not_attend_percent",
        "free_late_cancellations",
        "free_period_days",
    ]
    .map(|name| form.get(name).to_owned());
    match form_of(&values).parse(current.version + 1) {
        Ok(policy)
            if policy
                == CancellationPolicy {
                    version: policy.version,
                    ..current.clone()
                } =>
        {
            // Nothing changed: no new version.
            Ok(done(POLICY_PATH))
        }
        Ok(policy) => {
            state
                .store()
                .add_policy(state.practice_id(), &policy, state.now())
                .await?;
            Ok(done(POLICY_PATH))
        }
        Err(errors) => show_policy(&state, &staff, &current, &values, Some(&errors), false).await,
    }
}
