//! Changing the email address in the portal (SECURITY.md R4).
//!
//! The portal does not say who else is a client. So a new address is never checked against
//! other records when it is asked for: the new address is sent a link, the page says the
//! same thing whatever the address, and the address changes only when the link is followed
//! (the token proves the person controls the new inbox; no sign-in is needed, in any
//! browser). Only then is a clash with another client record found: nothing changes, the
//! person following the link is asked to contact the practice without being told why, and
//! the practice is told which two records to look at. The old address is told of a change.
//!
//! As with sign-in links, the token is 256 bits, only its SHA-256 is stored, the link waits
//! in the outbox sealed under the master key, and opening it (GET) only shows a button,
//! because mail scanners open links; pressing it (POST) uses it, once.

use axum::{extract::Path, http::StatusCode, response::Response};
use domain::EmailAddress;
use jiff::SignedDuration;
use minijinja::context;
use store::{
    Actor, AuditAction, Client, ConflictKind, EmailChangeLimit, EmailChangeOutcome, NewEmailChange,
    NewMessage, StoreError,
};

use super::{PortalClient, Source, portal_page};
use crate::secret_token::SecretToken;
use crate::{Here, WebError, access, error::WebResult};

/// How long a confirmation link works.
pub(crate) const CHANGE_LIFE: SignedDuration = SignedDuration::from_hours(24);
/// How many confirmation emails one client can have sent in [`LIMIT_WINDOW`].
pub(crate) const CHANGES_PER_HOUR: u32 = 5;
const LIMIT_WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// The outbox kind of the email with the confirmation link (its body holds a sealed secret).
pub(crate) const CONFIRM_EMAIL_KIND: &str = "portal_email_confirm";

/// The practice's name, for emails and pages.
async fn practice_name(state: &Here) -> WebResult<String> {
    Ok(state
        .store()
        .practice(state.practice_id())
        .await?
        .details
        .name)
}

/// The email to the new address. It may reach someone who is not a client (a typing slip),
/// so it names nobody: only the practice. `url` is the link sealed for the outbox.
fn confirmation_email(practice: &str, to: &EmailAddress, url: &str) -> NewMessage {
    NewMessage {
        kind: CONFIRM_EMAIL_KIND.into(),
        to: to.clone(),
        subject: format!("Confirm your new email address for {practice}"),
        body_text: format!(
            "Hello,\n\n\
             Someone asked {practice}, through its client portal, to write to them at this \
             email address from now on. If that was you, please follow this link to confirm \
             it:\n\n{url}\n\n\
             The link works once, for {hours} hours, in any browser. Nothing changes until \
             you follow it.\n\n\
             If you did not ask for this, you do not need to do anything: please ignore this \
             email, and this address will not be used.\n\n{practice}\n",
            hours = CHANGE_LIFE.as_hours(),
        ),
        calendar: None,
    }
}

/// Ask for `me`'s address to become `new`: store the change and queue the link to the new
/// address. `Err` holds what to say at the field when it is refused (nothing is stored then).
/// Whatever `new` is, what happens and what the client is told is the same.
pub(super) async fn request(
    state: &Here,
    me: &PortalClient,
    new: &EmailAddress,
    source: &Source,
) -> WebResult<Result<(), String>> {
    if !state.keys().loaded() {
        tracing::error!("no key file is loaded, so email address changes cannot be confirmed");
        return Ok(Err(
            "Your email address cannot be changed online just now. Please ask the practice to \
             change it for you"
                .to_owned(),
        ));
    }
    let practice = state.practice_id();
    let now = state.now();
    let token = SecretToken::generate();
    let url = format!("{}/portal/email/{token}", state.public_url());
    let url = crate::sealed::seal_in_text(&*state.practice_key().await?, &url);
    let email = confirmation_email(&practice_name(state).await?, new, &url);
    let change = NewEmailChange {
        token_hash: token.hash(),
        client: me.client.id,
        new_email: new.clone(),
        expires_at: now.checked_add(CHANGE_LIFE).unwrap_or(now),
    };
    let limit = EmailChangeLimit {
        max: CHANGES_PER_HOUR,
        within: LIMIT_WINDOW,
    };
    match state
        .store()
        .request_email_change(practice, &change, &email, limit, now)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(ConflictKind::EmailChangeLimit)) => {
            return Ok(Err(format!(
                "You have asked to change your email address {CHANGES_PER_HOUR} times in the \
                 last hour. Please try again in an hour, or ask the practice to change it for you"
            )));
        }
        Err(other) => return Err(other.into()),
    }
    state.mail_queued();
    // Never the address typed: only that this client asked.
    access::record(
        state,
        Actor::Client(me.client.id),
        AuditAction::PortalEmailChangeRequested,
        Some(me.client.id),
        None,
        source.0,
    )
    .await?;
    Ok(Ok(()))
}

/// Sent to the old address once the change is made, so that a change the client did not
/// make does not go unnoticed.
fn address_changed(practice: &str, client: &Client, new: &EmailAddress) -> NewMessage {
    let first_name = client.name.as_str().split_whitespace().next().unwrap_or("");
    NewMessage {
        kind: "portal_email_changed".into(),
        to: client.email.clone(),
        subject: format!("Your email address for {practice} has changed"),
        body_text: format!(
            "Dear {first_name},\n\nThe email address {practice} has for you was changed just \
             now, from this address to {new}. The change was asked for in the practice's \
             client portal and confirmed from the new address.\n\n\
             If you made this change, there is nothing more to do. If you did not, please \
             contact the practice straight away.\n\n{practice}\n"
        ),
        calendar: None,
    }
}

/// The neutral notice to the practice about a clash: which two records to look at, by link
/// only (no names, no addresses in an email).
fn clash_notice(
    state: &Here,
    notify: &EmailAddress,
    client: &Client,
    other: store::ClientId,
) -> NewMessage {
    let url = state.public_url();
    NewMessage {
        kind: "portal_email_clash_notice".into(),
        to: notify.clone(),
        subject: "A change of email address could not be made".into(),
        body_text: format!(
            "A client asked in the client portal to change their email address, and the \
             change was confirmed from the new address. Another client record already has \
             that address, so nothing has been changed.\n\n\
             The person who confirmed it was asked to contact the practice. They were not \
             told why, and the client who asked has not been told anything.\n\n\
             The client who asked: {url}/office/clients/{}\n\
             The record that has the address: {url}/office/clients/{other}\n\n\
             -- \nSent by Anteroom for your practice website.\n",
            client.id
        ),
        calendar: None,
    }
}

/// Unknown, used, replaced or expired: the same calm page for all.
async fn gone_page(state: &Here) -> WebResult<Response> {
    portal_page(
        state,
        StatusCode::GONE,
        "portal/email_link_gone.html",
        "/portal/email",
        false,
        context! { hours => CHANGE_LIFE.as_hours() },
    )
    .await
}

/// Opening the link: a "Confirm my new email address" button, and nothing changes.
pub(super) async fn confirm_page(state: Here, Path(token): Path<String>) -> WebResult<Response> {
    let secret = SecretToken::parse(&token).ok_or(WebError::NotFound)?;
    let change = state
        .store()
        .email_change(state.practice_id(), &secret.hash())
        .await?;
    if !change.is_some_and(|c| c.usable(state.now())) {
        return gone_page(&state).await;
    }
    portal_page(
        &state,
        StatusCode::OK,
        "portal/email_confirm.html",
        "/portal/email",
        false,
        context! { token, practice_name => practice_name(&state).await? },
    )
    .await
}

/// Pressing the button: use the link, once, and change the address unless another client
/// record has it.
pub(super) async fn confirm(
    state: Here,
    Path(token): Path<String>,
    source: Source,
) -> WebResult<Response> {
    let token = SecretToken::parse(&token).ok_or(WebError::NotFound)?;
    let details = state.store().practice(state.practice_id()).await?.details;
    let notices = |outcome: &EmailChangeOutcome| match outcome {
        EmailChangeOutcome::Changed { client, new_email } => {
            vec![address_changed(&details.name, client, new_email)]
        }
        EmailChangeOutcome::Clash { client, other, .. } => {
            vec![clash_notice(&state, &details.notify_email, client, *other)]
        }
    };
    let outcome = state
        .store()
        .confirm_email_change(state.practice_id(), &token.hash(), &notices, state.now())
        .await?;
    let practice_name = details.name.clone();
    match outcome {
        None => gone_page(&state).await,
        Some(EmailChangeOutcome::Changed { client, new_email }) => {
            state.mail_queued();
            tracing::info!(
                client = client.id.get(),
                "email address changed in the portal"
            );
            access::record(
                &state,
                Actor::Client(client.id),
                AuditAction::PortalEmailChanged,
                Some(client.id),
                None,
                source.0,
            )
            .await?;
            portal_page(
                &state,
                StatusCode::OK,
                "portal/email_changed.html",
                "/portal/email",
                false,
                context! { practice_name, new_email => new_email.as_str() },
            )
            .await
        }
        Some(EmailChangeOutcome::Clash { client, .. }) => {
            state.mail_queued();
            tracing::warn!(
                client = client.id.get(),
                "a confirmed email address change clashed with another client record"
            );
            // Not written against the client who asked: their own data download must not
            // show that the address they typed is on another record. The practice finds it
            // in the practice's log, and in the notice.
            access::record(
                &state,
                Actor::Anonymous,
                AuditAction::PortalEmailChangeRefused,
                None,
                Some(("client", client.id.get())),
                source.0,
            )
            .await?;
            portal_page(
                &state,
                StatusCode::CONFLICT,
                "portal/email_not_changed.html",
                "/portal/email",
                false,
                context! { practice_name },
            )
            .await
        }
    }
}
