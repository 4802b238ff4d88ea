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
use store::{
    AuditAction, HiddenListing, ListingReview, PracticeId, RegistrationCheck, RemoteListing,
};

use super::{
    Operator, page,
    practices::{DoneQuery, audit, find, show_with_error},
};
use crate::{AppState, WebError, error::WebResult, forms::FormData, query::Query};

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
    Ok(review_context(
        state,
        settings.listed,
        settings.accepting,
        settings
            .body
            .as_deref()
            .map(|b| (b, settings.number.as_str())),
        &review,
    ))
}

/// A listing's registration and the operator's review of it, as the review forms show them
/// (`operator/listing_review.html`), for a hosted or a self-hosted practice alike.
fn review_context(
    state: &AppState,
    listed: bool,
    accepting: bool,
    registration: Option<(&str, &str)>,
    review: &ListingReview,
) -> Value {
    let body = registration.and_then(|(body, _)| terms::body(body));
    let checked = review.checked.as_ref().map(|c| {
        let current = registration == Some((c.body.as_str(), c.number.as_str()));
        context! {
            on => crate::words::date(c.checked_on), by => c.by.clone(),
            number => c.number.clone(), current,
        }
    });
    context! {
        listed,
        accepting,
        body => body.map(|b| context! { short => b.short, name => b.name, register => b.register }),
        number => registration.map(|(_, number)| number.to_owned()),
        checked,
        hidden => review.hidden.as_ref().map(|h| context! {
            reason => h.reason.clone(), by => h.by.clone(),
            at => h.at.strftime("%-d %B %Y").to_string(),
        }),
        today => today(state).to_string(),
    }
}

/// The date the operator says they checked a registration: today or within the last year.
fn checked_on(state: &AppState, form: &FormData) -> Result<Date, &'static str> {
    match form.get("checked_on").trim().parse::<Date>() {
        Ok(on) if on <= today(state) && on >= today(state).saturating_sub(1.year()) => Ok(on),
        Ok(_) => Err("Enter the date you checked it: today or within the last year"),
        Err(_) => Err("Enter the date you checked it, like 2027-03-25"),
    }
}

/// Why the operator hides a listing: required, plain text, at most [`MAX_REASON`].
fn hiding(
    form: &FormData,
    operator: &Operator,
    now: jiff::Timestamp,
) -> Result<HiddenListing, String> {
    let reason = domain::text::parse_text(form.get("reason"), "the reason", MAX_REASON, true)
        .map_err(|e| e.0)?;
    Ok(HiddenListing {
        reason,
        at: now,
        by: operator.name.clone(),
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
    let on = match checked_on(&state, &form) {
        Ok(on) => on,
        Err(message) => {
            return show_with_error(&state, &operator, &practice, "checked_on", message).await;
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
    let hidden = match hiding(&form, &operator, state.now()) {
        Ok(hidden) => hidden,
        Err(message) => {
            return show_with_error(&state, &operator, &practice, "reason", &message).await;
        }
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
    Path(id): Path<String>,
) -> WebResult<Response> {
    state.store().remove_remote(remote_id(&id)?).await?;
    tracing::info!(
        operator = operator.id.get(),
        "removed a self-hosted practice from the directory"
    );
    crate::directory::refresh(&state).await?;
    Ok(Redirect::to("/directory?done=removed").into_response())
}

/// A remote's number from its address, or a 404.
fn remote_id(id: &str) -> WebResult<i64> {
    id.parse::<i64>().map_err(|_| WebError::NotFound)
}

/// A self-hosted practice the directory reads, and what became of the portrait its listing
/// names, or a 404.
async fn find_remote(
    state: &AppState,
    id: &str,
) -> WebResult<(RemoteListing, Option<store::RemotePortrait>)> {
    let id = remote_id(id)?;
    let remote = state.store().remote(id).await?.ok_or(WebError::NotFound)?;
    let portrait = state.store().remote_portrait(id).await?;
    Ok((remote, portrait))
}

/// The listing a remote last gave, if it gave one that still reads.
fn remote_listing(remote: &RemoteListing) -> Option<dir::Listing> {
    let text = remote.document.as_deref()?;
    crate::directory::remote::stored_document(text).map(|doc| doc.listing)
}

/// `GET /directory/remotes/{id}`: a self-hosted practice as the directory last read it,
/// with its registration to check and its listing to hide or show.
pub(crate) async fn remote_page(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> WebResult<Response> {
    let (remote, portrait) = find_remote(&state, &id).await?;
    remote_page_with(
        &state,
        &operator,
        (&remote, portrait.as_ref()),
        StatusCode::OK,
        query.done.as_deref(),
        None,
    )
}

fn remote_page_with(
    state: &AppState,
    operator: &Operator,
    (remote, portrait): (&RemoteListing, Option<&store::RemotePortrait>),
    status: StatusCode,
    done: Option<&str>,
    error: Option<(&str, &str)>,
) -> WebResult<Response> {
    let listing = remote_listing(remote);
    let directory = review_context(
        state,
        listing.is_some(),
        listing.as_ref().is_some_and(|l| l.accepting),
        listing
            .as_ref()
            .and_then(|l| l.registration.as_ref())
            .map(|r| (r.body.as_str(), r.number.as_str())),
        &remote.review,
    );
    let when =
        |t: Option<jiff::Timestamp>| t.map(|t| t.strftime("%-d %B %Y at %H:%M UTC").to_string());
    let done = match done {
        Some("checked") => {
            Some("The registration check is recorded: the directory shows the listing as checked.")
        }
        Some("unchecked") => {
            Some("The check is withdrawn: the directory shows the registration as not yet checked.")
        }
        Some("hidden") => Some(
            "The listing is out of the directory. Its practice is not told: let the therapist know why.",
        ),
        Some("shown") => Some("The listing is back in the directory."),
        _ => None,
    };
    page(
        state,
        Some(operator),
        status,
        "operator/remote.html",
        context! {
            remote => context! {
                id => remote.id, address => remote.address.clone(),
                added => when(Some(remote.added_at)), added_by => remote.added_by.clone(),
                heard => when(remote.heard_at), tried => when(remote.tried_at),
                error => remote.error.clone(),
            },
            portrait => portrait.map(|p| context! {
                read => when(Some(p.read_at)),
                alt => p.image.as_ref().ok().map(|i| i.alt.clone()),
                error => p.image.as_ref().err().cloned(),
            }),
            listing => listing.as_ref().map(|l| context! {
                id => l.id.clone(), name => l.name.clone(), therapist => l.therapist.clone(),
                title => l.title.clone(), url => l.url.clone(),
            }),
            directory, done,
            directory_error => error.map(|(field, message)| context! { field, message }),
            directory_url => crate::directory::directory_url(state),
        },
    )
}

/// After a change to a remote's review: rebuild the directory at once and show the page
/// saying `done`. There is no practice audit log here (the practice keeps its own on its
/// own server); the review itself records who did it and when.
async fn remote_reviewed(
    state: &AppState,
    operator: &Operator,
    id: i64,
    changed: bool,
    done: &str,
) -> WebResult<Response> {
    if !changed {
        return Err(WebError::NotFound);
    }
    tracing::info!(
        operator = operator.id.get(),
        remote = id,
        done,
        "reviewed a self-hosted listing"
    );
    crate::directory::refresh(state).await?;
    Ok(Redirect::to(&format!("/directory/remotes/{id}?done={done}")).into_response())
}

/// `POST /directory/remotes/{id}/check`: the operator found the number the listing gives
/// on the body's register on the date given.
pub(crate) async fn remote_check(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let (remote, portrait) = find_remote(&state, &id).await?;
    let refuse = |field: &str, message: &str| {
        remote_page_with(
            &state,
            &operator,
            (&remote, portrait.as_ref()),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some((field, message)),
        )
    };
    let Some(registration) = remote_listing(&remote).and_then(|l| l.registration) else {
        return refuse("checked_on", "The listing names no registration to check");
    };
    let on = match checked_on(&state, &form) {
        Ok(on) => on,
        Err(message) => return refuse("checked_on", message),
    };
    let check = RegistrationCheck {
        body: registration.body,
        number: registration.number,
        checked_on: on,
        by: operator.name.clone(),
    };
    let changed = state
        .store()
        .set_remote_check(remote.id, Some(&check))
        .await?;
    remote_reviewed(&state, &operator, remote.id, changed, "checked").await
}

/// `POST /directory/remotes/{id}/uncheck`.
pub(crate) async fn remote_uncheck(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = remote_id(&id)?;
    let changed = state.store().set_remote_check(id, None).await?;
    remote_reviewed(&state, &operator, id, changed, "unchecked").await
}

/// `POST /directory/remotes/{id}/hide`: out of the directory with a reason, still read on
/// schedule (so that it can come back as it is then).
pub(crate) async fn remote_hide(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let (remote, portrait) = find_remote(&state, &id).await?;
    let hidden = match hiding(&form, &operator, state.now()) {
        Ok(hidden) => hidden,
        Err(message) => {
            return remote_page_with(
                &state,
                &operator,
                (&remote, portrait.as_ref()),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(("reason", &message)),
            );
        }
    };
    let changed = state
        .store()
        .set_remote_hidden(remote.id, Some(&hidden))
        .await?;
    remote_reviewed(&state, &operator, remote.id, changed, "hidden").await
}

/// `POST /directory/remotes/{id}/show`.
pub(crate) async fn remote_show(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = remote_id(&id)?;
    let changed = state.store().set_remote_hidden(id, None).await?;
    remote_reviewed(&state, &operator, id, changed, "shown").await
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
                id => r.id, heard => when(r.heard_at),
                name => remote_listing(&r).map(|l| l.name),
                hidden => r.review.hidden.is_some(),
                tried => when(r.tried_at), error => r.error, added_by => r.added_by,
                address => r.address,
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
