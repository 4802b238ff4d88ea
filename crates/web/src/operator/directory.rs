//! The directory as the operator looks after it: a practice's listing with its registration
//! checked on the body's public register (the number and the date, with the register's
//! address), a listing hidden with a recorded reason, and an overview that shows each
//! listing's share of first places.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::directory::{self as dir, PAGE_SIZE, RawSearch, Search, terms};
use jiff::{ToSpan, civil::Date, tz::TimeZone};
use minijinja::{Value, context};
use store::{AuditAction, HiddenListing, PracticeId, RegistrationCheck};

use super::{
    Operator, page,
    practices::{audit, find, show_with_error},
};
use crate::{AppState, WebError, error::WebResult, forms::FormData};

/// The longest reason for hiding a listing.
const MAX_REASON: usize = 500;
/// Days of seeds the overview's share of first places covers.
const SHARE_DAYS: i32 = 30;

fn today(state: &AppState) -> Date {
    TimeZone::get("Europe/London")
        .unwrap_or(TimeZone::UTC)
        .to_datetime(state.now())
        .date()
}

/// What the practice's page shows of its listing (`None` when it has never saved one).
pub(super) async fn listing_context(state: &AppState, practice: PracticeId) -> WebResult<Value> {
    let Some(stored) = state.store().listing_settings(practice).await? else {
        return Ok(Value::from(()));
    };
    let review = state.store().listing_review(practice).await?;
    let settings = &stored.settings;
    let body = settings.body.as_deref().and_then(terms::body);
    let checked = review.checked.as_ref().map(|c| {
        let current =
            settings.body.as_deref() == Some(c.body.as_str()) && settings.number == c.number;
        context! {
            on => crate::words::date(c.checked_on), by => c.by.clone(),
            number => c.number.clone(), current,
        }
    });
    Ok(context! {
        listed => settings.listed,
        accepting => settings.accepting,
        body => body.map(|b| context! { short => b.short, name => b.name, register => b.register }),
        number => settings.number.clone(),
        checked,
        hidden => review.hidden.as_ref().map(|h| context! {
            reason => h.reason.clone(), by => h.by.clone(),
            at => h.at.strftime("%-d %B %Y").to_string(),
        }),
        today => today(state).to_string(),
    })
}

/// After a change to a practice's review: rebuild its listing, write `action` in its audit
/// log, and show its page saying `done`.
async fn reviewed(
    state: &AppState,
    operator: &Operator,
    practice: PracticeId,
    action: AuditAction,
    done: &str,
) -> WebResult<Response> {
    state.directory().mark(practice);
    audit(state, operator, practice, action, None).await?;
    Ok(Redirect::to(&format!("/practices/{}?done={done}", practice.get())).into_response())
}

/// `POST /practices/{id}/directory/check`: the operator found the listed number on the
/// body's register on the date given.
pub(crate) async fn check(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    let stored = state
        .store()
        .listing_settings(practice.id)
        .await?
        .ok_or(WebError::NotFound)?;
    let Some(body) = stored.settings.body.clone() else {
        return show_with_error(
            &state,
            &operator,
            &practice,
            "checked_on",
            "The listing names no registration to check",
        )
        .await;
    };
    let on = match form.get("checked_on").trim().parse::<Date>() {
        Ok(on) if on <= today(&state) && on >= today(&state).saturating_sub(1.year()) => on,
        Ok(_) => {
            return show_with_error(
                &state,
                &operator,
                &practice,
                "checked_on",
                "Enter the date you checked it: today or within the last year",
            )
            .await;
        }
        Err(_) => {
            return show_with_error(
                &state,
                &operator,
                &practice,
                "checked_on",
                "Enter the date you checked it, like 2027-03-25",
            )
            .await;
        }
    };
    let check = RegistrationCheck {
        body,
        number: stored.settings.number.clone(),
        checked_on: on,
        by: operator.name.clone(),
    };
    state
        .store()
        .set_registration_check(practice.id, Some(&check))
        .await?;
    reviewed(
        &state,
        &operator,
        practice.id,
        AuditAction::HostDirectoryChecked,
        "checked",
    )
    .await
}

/// `POST /practices/{id}/directory/uncheck`.
pub(crate) async fn uncheck(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    state
        .store()
        .set_registration_check(practice.id, None)
        .await?;
    reviewed(
        &state,
        &operator,
        practice.id,
        AuditAction::HostDirectoryUnchecked,
        "unchecked",
    )
    .await
}

/// `POST /practices/{id}/directory/hide`: out of the directory, with a reason the therapist
/// sees in their settings.
pub(crate) async fn hide(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    let reason = match domain::text::parse_text(
        form.get("reason"),
        "the reason, which the therapist will see",
        MAX_REASON,
        true,
    ) {
        Ok(reason) => reason,
        Err(e) => return show_with_error(&state, &operator, &practice, "reason", &e.0).await,
    };
    let hidden = HiddenListing {
        reason,
        at: state.now(),
        by: operator.name.clone(),
    };
    state
        .store()
        .set_listing_hidden(practice.id, Some(&hidden))
        .await?;
    reviewed(
        &state,
        &operator,
        practice.id,
        AuditAction::HostDirectoryHidden,
        "hidden",
    )
    .await
}

/// `POST /practices/{id}/directory/show`.
pub(crate) async fn show(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    state.store().set_listing_hidden(practice.id, None).await?;
    reviewed(
        &state,
        &operator,
        practice.id,
        AuditAction::HostDirectoryShown,
        "shown",
    )
    .await
}

/// `GET /directory`.
pub(crate) async fn overview(
    State(state): State<AppState>,
    operator: Operator,
) -> WebResult<Response> {
    overview_page(&state, &operator, StatusCode::OK, None, "").await
}

/// `POST /directory/remotes`: read a self-hosted practice's listing from its address.
pub(crate) async fn add_remote(
    State(state): State<AppState>,
    operator: Operator,
    form: FormData,
) -> WebResult<Response> {
    let typed = form.get("address");
    let address = match crate::directory::remote::Address::parse(typed) {
        Ok(address) => address,
        Err(message) => {
            return overview_page(
                &state,
                &operator,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&message),
                typed,
            )
            .await;
        }
    };
    let own = crate::directory::directory_url(&state);
    if own.eq_ignore_ascii_case(&address.text()) {
        let message = "That is this directory's own address";
        return overview_page(
            &state,
            &operator,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(message),
            typed,
        )
        .await;
    }
    let added = state
        .store()
        .add_remote(&address.text(), &operator.name, state.now())
        .await?;
    if added.is_none() {
        let message = "That address is already in the directory";
        return overview_page(
            &state,
            &operator,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(message),
            typed,
        )
        .await;
    }
    tracing::info!(
        operator = operator.id.get(),
        "added a self-hosted practice to the directory"
    );
    Ok(Redirect::to("/directory?done=added").into_response())
}

/// `POST /directory/remotes/{id}/remove`.
pub(crate) async fn remove_remote(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    state.store().remove_remote(id).await?;
    tracing::info!(
        operator = operator.id.get(),
        "removed a self-hosted practice from the directory"
    );
    crate::directory::refresh(&state).await?;
    Ok(Redirect::to("/directory?done=removed").into_response())
}

/// Every listing in the directory with its share of first places: the
/// search with no filters, as the directory holds it now, ordered with each of the last
/// [`SHARE_DAYS`] days' seeds.
async fn overview_page(
    state: &AppState,
    operator: &Operator,
    status: StatusCode,
    address_error: Option<&str>,
    address: &str,
) -> WebResult<Response> {
    let state = state.clone();
    let snapshot = state.directory().snapshot();
    let search =
        Search::parse(&RawSearch::default(), |_| Vec::new()).map_err(|_| WebError::NotFound)?;
    let now = state.now();
    let n = snapshot.entries.len();
    let mut first_page = vec![0u32; n];
    let mut first_place = vec![0u32; n];
    let mut day = today(&state);
    for _ in 0..SHARE_DAYS {
        let ordered = dir::order(&snapshot.entries, &search, now, dir::daily_seed(day));
        for (i, _) in ordered.iter().take(PAGE_SIZE) {
            first_page[*i] += 1;
        }
        if let Some((i, _)) = ordered.first() {
            first_place[*i] += 1;
        }
        day = day.yesterday().unwrap_or(day);
    }
    let rows: Vec<Value> = snapshot
        .entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let (practice, remote) = match snapshot.sources[i] {
                crate::directory::Source::Hosted(id) => (Some(id.get()), None),
                crate::directory::Source::Remote(id) => (None, Some(id)),
            };
            context! {
                practice, remote,
                name => entry.listing.name.clone(),
                therapist => entry.listing.therapist.clone(),
                accepting => entry.listing.accepting,
                registration => entry.listing.registration.is_some(),
                checked => entry.checked,
                first_page => first_page[i],
                first_place => first_place[i],
            }
        })
        .collect();
    let share = |places: usize| {
        if n == 0 {
            0.0
        } else {
            (f64::from(SHARE_DAYS) * places.min(n) as f64 / n as f64 * 10.0).round() / 10.0
        }
    };
    let when =
        |t: Option<jiff::Timestamp>| t.map(|t| t.strftime("%-d %B %Y at %H:%M UTC").to_string());
    let remotes: Vec<Value> = state
        .store()
        .remotes()
        .await?
        .into_iter()
        .map(|r| {
            context! {
                id => r.id, address => r.address, heard => when(r.heard_at),
                tried => when(r.tried_at), error => r.error, added_by => r.added_by,
            }
        })
        .collect();
    page(
        &state,
        Some(operator),
        status,
        "operator/directory.html",
        context! {
            remotes, address, address_error,
            rows, days => SHARE_DAYS, listed => n,
            fair_page => share(PAGE_SIZE), fair_first => share(1),
            directory_url => crate::directory::directory_url(&state),
        },
    )
}
