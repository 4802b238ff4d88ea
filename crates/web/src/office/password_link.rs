//! A link, emailed to a member of staff, that sets their password: how a hosted practice's
//! therapist first gets in (the operator console invites them), and how their host helps
//! when a password is forgotten.
//!
//! The link holds a 256-bit secret (stored as its hash) and works once, until it ends: the
//! store deletes it, sets the password and ends the account's sessions in one transaction,
//! so two uses at once set one password. Opening the link changes nothing; only the form
//! does.

use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use minijinja::context;
use store::{Actor, AuditAction};

use super::render_office;
use crate::{
    Here, access, error::WebResult, forms::FormData, password, render::html,
    secret_token::SecretToken,
};

/// The outbox kind of the email carrying such a link (its body holds the link sealed).
pub(crate) const PASSWORD_LINK_KIND: &str = "staff_password_link";

async fn link_page(
    state: &Here,
    status: StatusCode,
    stage: &str,
    email: Option<&str>,
    error: Option<&str>,
) -> WebResult<Response> {
    let page = context! { stage, email, error };
    let body = render_office(state, None, "office/password_link.html", page).await?;
    Ok(html(status, body))
}

pub(crate) async fn form(state: Here, Path(token): Path<String>) -> WebResult<Response> {
    let live = match SecretToken::parse(&token) {
        Some(token) => {
            state
                .store()
                .password_link(state.practice_id(), &token.hash(), state.now())
                .await?
        }
        None => None,
    };
    match live {
        Some((_, email)) => {
            link_page(&state, StatusCode::OK, "form", Some(email.as_str()), None).await
        }
        None => link_page(&state, StatusCode::NOT_FOUND, "gone", None, None).await,
    }
}

pub(crate) async fn set(
    state: Here,
    Path(token): Path<String>,
    form: FormData,
) -> WebResult<Response> {
    let Some(token) = SecretToken::parse(&token) else {
        return link_page(&state, StatusCode::NOT_FOUND, "gone", None, None).await;
    };
    let hash = token.hash();
    let Some((_, email)) = state
        .store()
        .password_link(state.practice_id(), &hash, state.now())
        .await?
    else {
        return link_page(&state, StatusCode::NOT_FOUND, "gone", None, None).await;
    };
    let typed = form.get("password");
    let mut problem = password::check_new(typed).err();
    if problem.is_none() && typed != form.get("confirm") {
        problem = Some("The two passwords are not the same. Type the same password twice".into());
    }
    if let Some(problem) = problem {
        return link_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "form",
            Some(email.as_str()),
            Some(&problem),
        )
        .await;
    }
    let password_hash = password::make(typed.to_owned())
        .await?
        .map_err(crate::WebError::Internal)?;
    let used = state
        .store()
        .use_password_link(state.practice_id(), &hash, &password_hash, state.now())
        .await?;
    let Some(user) = used else {
        // Used meanwhile, from another tab or another request.
        return link_page(&state, StatusCode::NOT_FOUND, "gone", None, None).await;
    };
    access::record(
        &state,
        Actor::Staff(user),
        AuditAction::PasswordSet,
        None,
        Some(("user", user.get())),
        None,
    )
    .await?;
    tracing::info!(user = user.get(), "password set with an emailed link");
    Ok(
        link_page(&state, StatusCode::OK, "done", Some(email.as_str()), None)
            .await?
            .into_response(),
    )
}
