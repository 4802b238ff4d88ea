//! What an operator does to practices: the list, creating one (with its therapist's
//! invitation), suspending and resuming, domains, staff password links and lost apps, the
//! export, and closing.
//!
//! Nothing here reads a client's record: the list and a practice's page show its name,
//! hosts, state, counts and staff accounts. Every action on a practice is written in its
//! audit log as done by the system (the host), so the therapist sees it.

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    EmailAddress, FieldErrors, PersonName,
    hosting::{DomainName, PracticeName},
};
use jiff::SignedDuration;
use minijinja::context;
use serde::Serialize;
use store::{
    Actor, AuditAction, ConflictKind, HostedPractice, NewAuditEntry, NewMessage, NewUser,
    PracticeHost, PracticeId, StaffAccount, StoreError, UserId,
};

use super::{Operator, page};
use crate::{
    AppState, Resolver, WebError, error::WebResult, forms::FormData, office::errors_value,
    password, query::Query, secret_token::SecretToken, templates::value,
};

/// How long a new practice's invitation works.
const INVITATION_LIFE: SignedDuration = SignedDuration::from_hours(7 * 24);
/// How long a later link to set a password works.
const LINK_LIFE: SignedDuration = SignedDuration::from_hours(24);

/// A practice as the console lists it.
#[derive(Serialize)]
struct Listed {
    id: i64,
    name: String,
    /// Each host with the address it is reached at.
    hosts: Vec<(String, String)>,
    state: &'static str,
    created: String,
    staff: u64,
    clients: u64,
    bookings: u64,
}

fn listed(state: &AppState, practice: &HostedPractice) -> Listed {
    let hosts = practice
        .hosts
        .iter()
        .map(|host| {
            let shown = host_name(state, host);
            (shown.clone(), address(state, &shown))
        })
        .collect();
    Listed {
        id: practice.id.get(),
        name: practice.name.clone(),
        hosts,
        state: match (practice.closing_at, practice.suspended_at) {
            (Some(_), _) => "closing",
            (None, Some(_)) => "suspended",
            (None, None) => "active",
        },
        created: practice.created_at.strftime("%-d %B %Y").to_string(),
        staff: practice.staff,
        clients: practice.clients,
        bookings: practice.bookings,
    }
}

/// The full host name of a practice's host: `NAME.BASE-DOMAIN`, or its own domain.
fn host_name(state: &AppState, host: &PracticeHost) -> String {
    match (host, state.resolver()) {
        (PracticeHost::Name(name), Resolver::Hosted(sites)) => {
            format!("{name}.{}", sites.base_domain())
        }
        _ => host.as_str().to_owned(),
    }
}

fn address(state: &AppState, host: &str) -> String {
    match state.resolver() {
        Resolver::Hosted(sites) => sites.address_of(host),
        Resolver::Single(_) => format!("https://{host}"),
    }
}

/// The practice with this id (as in a URL), or 404.
pub(super) async fn find(state: &AppState, id: &str) -> WebResult<HostedPractice> {
    let id = PracticeId::parse(id).ok_or(WebError::NotFound)?;
    state
        .store()
        .hosted_practices()
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(WebError::NotFound)
}

/// Write an operator's action in the practice's own audit log.
pub(super) async fn audit(
    state: &AppState,
    operator: &Operator,
    practice: PracticeId,
    action: AuditAction,
    object: Option<(&'static str, i64)>,
) -> WebResult<()> {
    let entry = NewAuditEntry {
        actor: Actor::System,
        action,
        client: None,
        object,
        source: Some(operator.source.to_string()),
    };
    state
        .store()
        .append_audit(practice, &entry, state.now())
        .await?;
    tracing::info!(
        operator = operator.id.get(),
        practice = practice.get(),
        action = action.code(),
        "operator action"
    );
    Ok(())
}

/// The directory changed here: every process sees it at its next reload; this one now.
async fn hosts_changed(state: &AppState) -> WebResult<()> {
    state.reload_hosts().await?;
    Ok(())
}

pub(crate) async fn list(State(state): State<AppState>, operator: Operator) -> WebResult<Response> {
    let practices: Vec<Listed> = state
        .store()
        .hosted_practices()
        .await?
        .iter()
        .map(|p| listed(&state, p))
        .collect();
    page(
        &state,
        Some(&operator),
        StatusCode::OK,
        "operator/practices.html",
        context! { practices => value(&practices) },
    )
}

pub(crate) async fn new_form(
    State(state): State<AppState>,
    operator: Operator,
) -> WebResult<Response> {
    page(
        &state,
        Some(&operator),
        StatusCode::OK,
        "operator/new.html",
        context! { base => base_domain(&state) },
    )
}

fn base_domain(state: &AppState) -> String {
    match state.resolver() {
        Resolver::Hosted(sites) => sites.base_domain().to_owned(),
        Resolver::Single(_) => String::new(),
    }
}

/// The new practice's form, checked.
struct NewPractice {
    name: PracticeName,
    title: String,
    therapist: PersonName,
    email: EmailAddress,
}

fn check_new(state: &AppState, form: &FormData) -> Result<NewPractice, FieldErrors> {
    let mut errors = FieldErrors::new();
    let title = form.get("title").trim().to_owned();
    if title.is_empty() {
        errors.add(
            "title",
            "Enter the practice's name, as its website will show it",
        );
    } else if title.chars().count() > 120 {
        errors.add(
            "title",
            "The practice's name must be 120 characters or fewer",
        );
    }
    let name = errors.check(
        "name",
        PracticeName::parse(form.get("name")).map_err(|e| e.0),
    );
    if let Some(name) = &name {
        let host = format!("{name}.{}", base_domain(state));
        if state.config().operator.as_ref().map(|c| &c.host) == Some(&host) {
            errors.add("name", "That address is this console's; choose another");
        }
    }
    let therapist = errors.check("therapist", PersonName::parse(form.get("therapist")));
    let email = errors.check("email", EmailAddress::parse(form.get("email")));
    match (name, therapist, email) {
        (Some(name), Some(therapist), Some(email)) if errors.is_empty() => Ok(NewPractice {
            name,
            title,
            therapist,
            email,
        }),
        _ => Err(errors),
    }
}

fn new_form_with_errors(
    state: &AppState,
    operator: &Operator,
    form: &FormData,
    errors: &FieldErrors,
) -> WebResult<Response> {
    let (error_list, error_map) = errors_value(errors);
    page(
        state,
        Some(operator),
        StatusCode::UNPROCESSABLE_ENTITY,
        "operator/new.html",
        context! {
            base => base_domain(state),
            values => value(&form.values()),
            errors => error_list,
            error => error_map,
        },
    )
}

/// Create a practice from the starter setup, with its therapist's account (no password
/// anyone knows yet), and email the therapist a link to set one.
pub(crate) async fn create(
    State(state): State<AppState>,
    operator: Operator,
    form: FormData,
) -> WebResult<Response> {
    let new = match check_new(&state, &form) {
        Ok(new) => new,
        Err(errors) => return new_form_with_errors(&state, &operator, &form, &errors),
    };
    let Some(console) = state.config().operator.as_ref() else {
        return Err(WebError::NotFound);
    };
    let host_key = state
        .config()
        .host_key
        .clone()
        .ok_or(WebError::KeyMissing)?;
    let mut setup = (*console.starter).clone();
    setup.details.name.clone_from(&new.title);
    setup.details.notify_email = new.email.clone();
    setup.therapist.name = new.therapist.clone();
    // A password nobody is told: the account opens only once its owner sets their own.
    let unknown = SecretToken::generate().as_str().to_owned();
    let owner = NewUser {
        email: new.email.clone(),
        name: new.therapist.clone(),
        password_hash: password::make(unknown).await?.map_err(WebError::Internal)?,
    };
    let now = state.now();
    let practice = match state
        .store()
        .create_hosted_practice(&setup, &new.name, &owner, now)
        .await
    {
        Ok(practice) => practice,
        Err(StoreError::Conflict(kind @ (ConflictKind::HostTaken | ConflictKind::UserEmail))) => {
            let mut errors = FieldErrors::default();
            if kind == ConflictKind::HostTaken {
                errors.add("name", "That address is another practice's; choose another");
            } else {
                errors.add(
                    "email",
                    "There is already an account with this email address; each account belongs \
                     to one practice",
                );
            }
            return new_form_with_errors(&state, &operator, &form, &errors);
        }
        Err(other) => return Err(other.into()),
    };
    // Its own key from the start, wrapped by the host's key file.
    crate::keys::open_or_adopt(state.store(), &host_key, practice, now)
        .await
        .map_err(|e| WebError::Internal(anyhow::anyhow!(e)))?;
    hosts_changed(&state).await?;
    let owner = state
        .store()
        .staff_accounts(practice, now)
        .await?
        .into_iter()
        .next()
        .ok_or(WebError::NotFound)?;
    send_link(&state, &operator, practice, &owner, true).await?;
    Ok(Redirect::to(&format!("/practices/{practice}?done=created")).into_response())
}

/// Email `account` a link to set their password, sealed in the outbox (the operator never
/// sees it); `first` for a new practice's invitation.
async fn send_link(
    state: &AppState,
    operator: &Operator,
    practice: PracticeId,
    account: &StaffAccount,
    first: bool,
) -> WebResult<()> {
    let here = state.here(practice);
    let details = state.store().practice(practice).await?.details;
    let token = SecretToken::generate();
    let link = format!("{}/office/password/{token}", here.public_url());
    let sealed = crate::sealed::seal_in_text(&*here.practice_key().await?, &link);
    let life = if first { INVITATION_LIFE } else { LINK_LIFE };
    let message = password_email(&details.name, account, here.public_url(), &sealed, first);
    let now = state.now();
    state
        .store()
        .create_password_link(
            practice,
            account.id,
            &token.hash(),
            now + life,
            &message,
            now,
        )
        .await?;
    state.mail_queued();
    audit(
        state,
        operator,
        practice,
        AuditAction::PasswordLinkSent,
        Some(("user", account.id.get())),
    )
    .await
}

/// The email carrying a password link (`link` as sealed).
fn password_email(
    practice: &str,
    account: &StaffAccount,
    public_url: &str,
    link: &str,
    first: bool,
) -> NewMessage {
    let (subject, opening, life) = if first {
        (
            format!("Set your password for {practice}"),
            format!(
                "The website and back office of {practice} are ready for you. To sign in for \
                 the first time, choose your password here:"
            ),
            "The link works once, within 7 days.",
        )
    } else {
        (
            format!("A link to set a new password for {practice}"),
            format!(
                "The people who host {practice} sent you this link so that you can choose a \
                 new password for its back office:"
            ),
            "The link works once, within 24 hours. Setting a password signs you out \
             everywhere else.",
        )
    };
    let body = format!(
        "Hello {name},\n\n{opening}\n\n{link}\n\n{life} If it has run out, ask your host for a \
         new one.\n\nYour back office is at {public_url}/office and you sign in with {email}.\n\n\
         If you were not expecting this email, you can ignore it: nothing changes until a \
         password is chosen.\n",
        name = account.name,
        email = account.email,
    );
    NewMessage {
        kind: crate::office::PASSWORD_LINK_KIND.to_owned(),
        to: account.email.clone(),
        subject,
        body_text: body,
        calendar: None,
    }
}

/// What the page just did, after a redirect (`?done=suspended`).
#[derive(serde::Deserialize)]
pub(crate) struct DoneQuery {
    pub(super) done: Option<String>,
}

/// A practice's page: hosts, state, counts and staff accounts, with what can be done.
pub(crate) async fn show(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    let done = query.done.as_deref().and_then(|done| {
        Some(match done {
            "created" => "The practice is created. Its therapist has been emailed a link to set their password.",
            "suspended" => "The practice is suspended: its website says it is paused, and its records stay.",
            "resumed" => "The practice is running again: its website is back.",
            "domain" => "The domain is added. The practice's website answers on it once its DNS points here.",
            "link" => "A link to set a password is on its way to them.",
            "second-factor" => "Their authenticator app is switched off: they set up a new one when they next sign in, if the practice requires one.",
            "checked" => "The registration check is recorded: the directory shows the listing as checked.",
            "unchecked" => "The check is withdrawn: the directory shows the registration as not yet checked.",
            "hidden" => "The listing is out of the directory. The practice's audit log says so.",
            "shown" => "The listing is back in the directory.",
            _ => return None,
        })
    });
    practice_page(&state, &operator, &practice, StatusCode::OK, done, None).await
}

async fn practice_page(
    state: &AppState,
    operator: &Operator,
    practice: &HostedPractice,
    status: StatusCode,
    done: Option<&str>,
    domain_error: Option<(&str, &str)>,
) -> WebResult<Response> {
    practice_page_with(state, operator, practice, status, done, domain_error, None).await
}

/// The practice's page with a message at one field of its directory forms.
pub(super) async fn show_with_error(
    state: &AppState,
    operator: &Operator,
    practice: &HostedPractice,
    field: &str,
    message: &str,
) -> WebResult<Response> {
    practice_page_with(
        state,
        operator,
        practice,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        None,
        Some((field, message)),
    )
    .await
}

async fn practice_page_with(
    state: &AppState,
    operator: &Operator,
    practice: &HostedPractice,
    status: StatusCode,
    done: Option<&str>,
    domain_error: Option<(&str, &str)>,
    directory_error: Option<(&str, &str)>,
) -> WebResult<Response> {
    let staff = state
        .store()
        .staff_accounts(practice.id, state.now())
        .await?;
    let mut rows = Vec::with_capacity(staff.len());
    for account in &staff {
        let app = state
            .store()
            .authenticator(account.id)
            .await?
            .is_some_and(|a| a.enabled_at.is_some());
        rows.push(context! {
            id => account.id.get(),
            name => account.name.clone(),
            email => account.email.as_str(),
            owner => account.owner,
            app,
            link_until => account.link_until.map(|t| t.strftime("%-d %B %Y at %H:%M UTC").to_string()),
        });
    }
    let staff = rows;
    let (domain_value, domain_message) = domain_error.unwrap_or_default();
    page(
        state,
        Some(operator),
        status,
        "operator/practice.html",
        context! {
            practice => value(&listed(state, practice)),
            staff,
            directory => super::directory::listing_context(state, practice.id).await?,
            done,
            domain_value,
            domain_error => (!domain_message.is_empty()).then_some(domain_message),
            directory_error => directory_error.map(|(field, message)| context! { field, message }),
        },
    )
}

async fn set_suspended(
    state: &AppState,
    operator: &Operator,
    id: &str,
    suspend: bool,
) -> WebResult<Response> {
    let practice = find(state, id).await?;
    let at = suspend.then(|| state.now());
    match state.store().set_suspended(practice.id, at).await {
        Ok(()) => {}
        Err(StoreError::Conflict(ConflictKind::PracticeClosing)) => {
            return practice_page(
                state,
                operator,
                &practice,
                StatusCode::CONFLICT,
                Some("This practice is being closed, for good: it cannot be resumed."),
                None,
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    }
    hosts_changed(state).await?;
    let (action, done) = if suspend {
        (AuditAction::HostSuspended, "suspended")
    } else {
        (AuditAction::HostResumed, "resumed")
    };
    audit(state, operator, practice.id, action, None).await?;
    Ok(Redirect::to(&format!("/practices/{}?done={done}", practice.id)).into_response())
}

pub(crate) async fn suspend(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> WebResult<Response> {
    set_suspended(&state, &operator, &id, true).await
}

pub(crate) async fn resume(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> WebResult<Response> {
    set_suspended(&state, &operator, &id, false).await
}

pub(crate) async fn add_domain(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    let typed = form.get("domain").trim();
    let refuse = |message: &str| {
        let state = &state;
        let operator = &operator;
        let practice = &practice;
        let message = message.to_owned();
        async move {
            practice_page(
                state,
                operator,
                practice,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some((typed, &message)),
            )
            .await
        }
    };
    let domain = match DomainName::parse(typed) {
        Ok(domain) => domain,
        Err(e) => return refuse(&e.0).await,
    };
    let console = state.config().operator.as_ref().map(|c| c.host.as_str());
    let base = base_domain(&state);
    if console == Some(domain.as_str())
        || domain.as_str() == base
        || domain.as_str().ends_with(&format!(".{base}"))
    {
        return refuse(&format!(
            "Choose a domain of the practice's own, not one under {base}"
        ))
        .await;
    }
    match state
        .store()
        .add_host(
            practice.id,
            &PracticeHost::Domain(domain.clone()),
            state.now(),
        )
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(ConflictKind::HostTaken)) => {
            return refuse("That domain is another practice's already").await;
        }
        Err(other) => return Err(other.into()),
    }
    hosts_changed(&state).await?;
    audit(
        &state,
        &operator,
        practice.id,
        AuditAction::HostDomainAdded,
        None,
    )
    .await?;
    // Its pages carry its address: drop them everywhere.
    state.here(practice.id).content_changed();
    Ok(Redirect::to(&format!("/practices/{}?done=domain", practice.id)).into_response())
}

/// The practice and one of its staff accounts, from a URL.
async fn account_of(
    state: &AppState,
    id: &str,
    user: &str,
) -> WebResult<(HostedPractice, StaffAccount)> {
    let practice = find(state, id).await?;
    let user = UserId::parse(user).ok_or(WebError::NotFound)?;
    let account = state
        .store()
        .staff_accounts(practice.id, state.now())
        .await?
        .into_iter()
        .find(|a| a.id == user)
        .ok_or(WebError::NotFound)?;
    Ok((practice, account))
}

pub(crate) async fn send_link_to(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, user)): Path<(String, String)>,
) -> WebResult<Response> {
    let (practice, account) = account_of(&state, &id, &user).await?;
    if practice.closing_at.is_some() {
        return Err(WebError::NotFound);
    }
    send_link(&state, &operator, practice.id, &account, false).await?;
    Ok(Redirect::to(&format!("/practices/{}?done=link", practice.id)).into_response())
}

pub(crate) async fn second_factor_off(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, user)): Path<(String, String)>,
) -> WebResult<Response> {
    let (practice, account) = account_of(&state, &id, &user).await?;
    state.store().disable_authenticator(account.id).await?;
    state.store().delete_user_sessions(account.id).await?;
    audit(
        &state,
        &operator,
        practice.id,
        AuditAction::SecondFactorDisabled,
        Some(("user", account.id.get())),
    )
    .await?;
    Ok(Redirect::to(&format!("/practices/{}?done=second-factor", practice.id)).into_response())
}

/// The export page: a transfer key made for this export, shown once, and the two downloads
/// (the sealed export, and the key as a file) that carry it back in their forms.
pub(crate) async fn export_page(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    let key = crypto::MasterKey::generate();
    page(
        &state,
        Some(&operator),
        StatusCode::OK,
        "operator/export.html",
        context! {
            practice => value(&listed(&state, &practice)),
            key => key.to_text().as_str(),
            file => file_name(&state, &practice),
        },
    )
}

/// The export's file name: the practice's first host and the date.
fn file_name(state: &AppState, practice: &HostedPractice) -> String {
    let host = practice.hosts.first().map_or_else(
        || format!("practice-{}", practice.id),
        |h| h.as_str().to_owned(),
    );
    format!(
        "{host}-{}.anteroom-export",
        state.now().strftime("%Y-%m-%d")
    )
}

/// The transfer key posted back from the export page.
fn posted_key(form: &FormData) -> WebResult<crypto::MasterKey> {
    crypto::MasterKey::parse(form.get("key").trim(), "the export page")
        .map_err(|_| WebError::NotFound)
}

fn download(bytes: Vec<u8>, name: &str, content_type: &'static str) -> Response {
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        bytes,
    )
        .into_response();
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, disposition);
    }
    response.extensions_mut().insert(crate::error::Rendered);
    response
}

pub(crate) async fn export_file(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    let transfer = posted_key(&form)?;
    let host_key = state
        .config()
        .host_key
        .clone()
        .ok_or(WebError::KeyMissing)?;
    // Written first: an export that was handed out is always in the practice's log.
    audit(
        &state,
        &operator,
        practice.id,
        AuditAction::HostExported,
        None,
    )
    .await?;
    let payload = crate::export::payload(state.store(), &host_key, practice.id, state.now())
        .await
        .map_err(WebError::Internal)?;
    let bytes = crate::export::seal(&payload, &transfer).map_err(WebError::Internal)?;
    Ok(download(
        bytes,
        &file_name(&state, &practice),
        "application/octet-stream",
    ))
}

pub(crate) async fn export_key(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    let transfer = posted_key(&form)?;
    let text = format!("{}\n", transfer.to_text().as_str());
    Ok(download(
        text.into_bytes(),
        &format!("{}.key", file_name(&state, &practice)),
        "text/plain; charset=utf-8",
    ))
}

/// The name the operator types to confirm closing: the practice's name under the base domain
/// (or its first host).
fn confirmation(practice: &HostedPractice) -> String {
    practice
        .hosts
        .iter()
        .find(|h| matches!(h, PracticeHost::Name(_)))
        .or(practice.hosts.first())
        .map_or_else(String::new, |h| h.as_str().to_owned())
}

pub(crate) async fn close_form(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    close_page(&state, &operator, &practice, StatusCode::OK, None)
}

fn close_page(
    state: &AppState,
    operator: &Operator,
    practice: &HostedPractice,
    status: StatusCode,
    error: Option<&str>,
) -> WebResult<Response> {
    page(
        state,
        Some(operator),
        status,
        "operator/close.html",
        context! {
            practice => value(&listed(state, practice)),
            confirm => confirmation(practice),
            error,
        },
    )
}

/// Close a suspended practice for good: its key first, then every record of it.
pub(crate) async fn close(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let practice = find(&state, &id).await?;
    if practice.suspended_at.is_none() {
        return close_page(
            &state,
            &operator,
            &practice,
            StatusCode::CONFLICT,
            Some("Suspend the practice first, and tell its therapist, before closing it"),
        );
    }
    let expected = confirmation(&practice);
    if form.get("confirm").trim().to_ascii_lowercase() != expected {
        return close_page(
            &state,
            &operator,
            &practice,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&format!(
                "Type {expected} to confirm that this practice is to be closed"
            )),
        );
    }
    match state.store().begin_closing(practice.id, state.now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict(ConflictKind::PracticeActive)) => {
            return close_page(
                &state,
                &operator,
                &practice,
                StatusCode::CONFLICT,
                Some("The practice was resumed meanwhile: suspend it again to close it"),
            );
        }
        Err(other) => return Err(other.into()),
    }
    state.store().delete_practice(practice.id).await?;
    tracing::info!(
        operator = operator.id.get(),
        practice = practice.id.get(),
        "operator closed a practice"
    );
    hosts_changed(&state).await?;
    page(
        &state,
        Some(&operator),
        StatusCode::OK,
        "operator/closed.html",
        context! { practice => value(&listed(&state, &practice)) },
    )
}
