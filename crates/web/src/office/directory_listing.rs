//! *Settings → Directory listing*: whether the practice is listed in "find a therapist"
//! directories, and what it says there beyond what its site already says. Off until the
//! therapist turns it on; everything else in the listing (name, rooms by district, fees,
//! languages, free times) comes from the practice's own data.

use axum::{http::StatusCode, response::Response};
use domain::directory::{
    APPROACHES, HELP_WITH, ListingSettings, MAX_APPROACHES, MAX_HELP_WITH, REGISTRATION_BODIES,
    RawListingSettings, Term, WAYS_OF_WORKING,
};
use minijinja::context;

use super::{
    Staff, errors_value, page,
    settings::{Field, Saved, checkbox, done, text, typed},
};
use crate::query::Query;
use crate::{Here, error::WebResult, forms::FormData, templates::value};

crate::routing::routes! {
    GET "/office/settings/directory" => Staff: form;
    POST "/office/settings/directory" => Staff(SettingsChanged): save;
}

const PATH: &str = "/office/settings/directory";
const TITLE: &str = "Directory listing";

fn ticks(name: &'static str, label: &'static str, list: &[Term], chosen: &[String]) -> Field {
    Field {
        name,
        label,
        hint: "",
        kind: "checkboxes",
        value: String::new(),
        checked: false,
        options: list
            .iter()
            .map(|t| {
                (
                    t.slug.to_owned(),
                    t.label.to_owned(),
                    chosen.iter().any(|c| c == t.slug),
                )
            })
            .collect(),
    }
}

fn fields(raw: &RawListingSettings) -> Vec<Field> {
    let mut bodies = vec![(String::new(), "None".to_owned(), raw.body.is_empty())];
    bodies.extend(REGISTRATION_BODIES.iter().map(|b| {
        (
            b.slug.to_owned(),
            format!("{} ({})", b.short, b.name),
            raw.body == b.slug,
        )
    }));
    vec![
        checkbox(
            "listed",
            "List my practice in the directory",
            "Your listing is also published as open data at /api/v1/listing, for other directories to read.",
            raw.listed,
        ),
        checkbox(
            "accepting",
            "I am taking new clients",
            "When this is off, your listing stays, but it is left out of searches for a first consultation soon.",
            raw.accepting,
        ),
        ticks(
            "help_with",
            "What you most often help with (up to 15)",
            HELP_WITH,
            &raw.help_with,
        ),
        ticks(
            "approaches",
            "Your approaches (up to 4)",
            APPROACHES,
            &raw.approaches,
        ),
        ticks("ways", "How you work", WAYS_OF_WORKING, &raw.ways),
        typed(
            "number",
            "concession_places",
            "Reduced-fee places you keep open",
            "Leave empty if you have none.",
            raw.concession_places.clone(),
        ),
        text(
            "concession_fee",
            "The lowest fee of those places, in pounds",
            "For example, 35.",
            raw.concession_fee.clone(),
        ),
        Field {
            name: "body",
            label: "Registered with",
            hint: "",
            kind: "radios",
            value: String::new(),
            checked: false,
            options: bodies,
        },
        text(
            "number",
            "Registration or membership number",
            "As it appears on the body's public register, so people (and the directory) can check it.",
            raw.number.clone(),
        ),
        text(
            "identity",
            "How you describe yourself (optional)",
            "Your own words for your gender and identity, if you want people to be able to search by them, such as woman, she/her or gay man. Leave empty to say nothing.",
            raw.identity.clone(),
        ),
    ]
}

fn intro(review: &store::ListingReview, settings: &RawListingSettings) -> Vec<String> {
    let mut said = Vec::new();
    if let Some(hidden) = &review.hidden {
        said.push(format!(
            "Your host has taken your listing out of its directory, for this reason: {} If you have put it right, ask them to put it back.",
            hidden.reason
        ));
    }
    if let Some(check) = review
        .checked
        .as_ref()
        .filter(|c| c.body == settings.body && c.number == settings.number.trim())
    {
        said.push(format!(
            "Your host checked your registration number on the public register on {}: the directory shows it as checked.",
            crate::words::date(check.checked_on)
        ));
    }
    said.extend([
        "A directory listing lets people find you by what they would like help with, where you see people, your fees and when you have a first consultation free. Nobody pays to be listed or to be placed higher.".to_owned(),
        format!(
            "Your name, title, rooms (by district only, never the street), fees, languages and free consultation times come from the rest of your settings and your diary, and update by themselves. Choose up to {MAX_HELP_WITH} things you help with and up to {MAX_APPROACHES} approaches: the things you most often work with, not everything you could."
        ),
    ]);
    said
}

async fn show(
    state: &Here,
    staff: &Staff,
    raw: &RawListingSettings,
    errors: Option<&domain::FieldErrors>,
    saved: bool,
) -> WebResult<Response> {
    let (list, map) = errors.map_or(
        (minijinja::Value::UNDEFINED, minijinja::Value::UNDEFINED),
        errors_value,
    );
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let review = state.store().listing_review(state.practice_id()).await?;
    let saved_text = if raw.listed {
        "Saved. Directories show the change within a few minutes."
    } else {
        "Saved. Your practice is not listed."
    };
    let ctx = context! {
        title => TITLE, action => PATH, fields => value(&fields(raw)),
        errors => list, error => map, saved, saved_text, intro => intro(&review, raw),
    };
    page(state, staff, status, "office/settings_form.html", ctx).await
}

async fn form(state: Here, staff: Staff, Query(q): Query<Saved>) -> WebResult<Response> {
    let raw = state
        .store()
        .listing_settings(state.practice_id())
        .await?
        .map_or_else(
            || ListingSettings::default().to_raw(),
            |s| s.settings.to_raw(),
        );
    show(&state, &staff, &raw, None, q.saved.is_some()).await
}

async fn save(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    let own = |name: &str| form.all(name).into_iter().map(str::to_owned).collect();
    let raw = RawListingSettings {
        listed: form.has("listed"),
        help_with: own("help_with"),
        approaches: own("approaches"),
        ways: own("ways"),
        concession_places: form.get("concession_places").to_owned(),
        concession_fee: form.get("concession_fee").to_owned(),
        body: form.get("body").to_owned(),
        number: form.get("number").to_owned(),
        accepting: form.has("accepting"),
        identity: form.get("identity").to_owned(),
    };
    match ListingSettings::parse(&raw) {
        Ok(settings) => {
            state
                .store()
                .save_listing_settings(
                    state.practice_id(),
                    &settings,
                    &crate::directory::listing::new_id(),
                    state.now(),
                )
                .await?;
            state.content_changed();
            Ok(done(PATH))
        }
        Err(errors) => show(&state, &staff, &raw, Some(&errors), false).await,
    }
}
