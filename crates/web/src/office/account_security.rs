//! Settings → "Sign-in and security": your authenticator app and recovery codes, and for
//! the owner only, the practice's sign-in rules (SECURITY.md R2, R3).
//!
//! Setting up an app shows its secret three ways (an SVG QR code made here, the key in
//! groups of four, the `otpauth:` link) and switches it on only once a code from it is
//! right. Making new recovery codes or turning the app off needs a current code, so a
//! borrowed session alone cannot weaken the account. Wrong codes count against the
//! account in the database ([`check_second_factor`]); see `crate::limits::RateLimits`.
//!
//! Where to add audit records: [`confirm_set_up`] (app switched on), [`turn_off`] (app
//! switched off), [`new_codes`] (recovery codes replaced), [`save_rules`] (rules changed),
//! [`check_second_factor`] (every accepted or refused code).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{FieldErrors, staff::SignInPolicy};
use minijinja::{Value, context};
use serde::Deserialize;
use store::User;

use super::{Staff, errors_value, page, render_office};
use crate::query::Query;
use crate::{
    Here, WebError,
    error::WebResult,
    forms::FormData,
    limits::{Limit, Subject},
    qr,
    second_factor::{self, Entered, TotpSecret},
};

const WRONG_CODE: &str =
    "That code is not right. Check the time on your phone, then enter the code your app shows now";
const USED_CODE: &str = "That code has already been used. Wait for the next one";
const EXPIRED_SET_UP: &str =
    "Your set-up had expired, so here is a new QR code. Scan it, then enter the code";
const WRONG_RECOVERY: &str =
    "That recovery code is not right, or it has already been used. Check it and try again";

crate::routing::routes! {
    GET "/office/settings/security" => Staff: overview;
    GET "/office/settings/security/set-up" => Staff: set_up_form;
    POST "/office/settings/security/set-up" => Staff(SecondFactorEnabled): set_up;
    GET "/office/settings/security/recovery-codes" => Staff: new_codes_form;
    POST "/office/settings/security/recovery-codes" => Staff(SettingsChanged): new_codes;
    GET "/office/settings/security/turn-off" => Staff: turn_off_form;
    POST "/office/settings/security/turn-off" => Staff(SecondFactorDisabled): turn_off;
    POST "/office/settings/security/rules" => Staff(SettingsChanged): save_rules;
}

/// What became of a second-factor code.
pub(super) enum Verdict {
    Accepted,
    /// Wrong, already used, or not a code at all: the message for the field.
    Refused(&'static str),
    /// Too many wrong codes lately: try again after this many seconds.
    TooMany(u64),
}

/// Check a code from the app (or, with `allow_recovery`, a recovery code) for `user`,
/// spending it if right. Wrong codes are counted per account in the database: after
/// `RateLimits::second_factor_failures` of them in 15 minutes the account must wait until
/// 15 minutes after the first. Per account, not per address, because whoever reaches
/// this step already has the password and could spread guesses over many addresses; the
/// wait ends by itself, so the real owner is never locked out for good.
pub(super) async fn check_second_factor(
    state: &Here,
    user: &User,
    typed: &str,
    allow_recovery: bool,
) -> WebResult<Verdict> {
    // A wrong code is counted before the code is checked (and the count cleared if it was
    // right), in one atomic step in the store: codes sent all at once cannot each find the
    // count under the limit, however many processes serve them.
    let account = user.id.get().to_string();
    let held = match state
        .reserve(Limit::SecondFactor, Subject::Account(&account))
        .await
    {
        Ok(held) => held,
        Err(WebError::TooManyRequests(wait)) => return Ok(Verdict::TooMany(wait)),
        Err(other) => return Err(other),
    };
    // Something that is not a code at all is a typing slip, not a guess: not counted.
    let entered = match Entered::parse(typed, allow_recovery) {
        Ok(entered) => entered,
        Err(message) => {
            held.release(state).await?;
            return Ok(Verdict::Refused(message));
        }
    };
    let now = state.now();
    let Some(authenticator) = state
        .store()
        .authenticator(user.id)
        .await?
        .filter(|a| a.enabled_at.is_some())
    else {
        return Ok(Verdict::Refused(WRONG_CODE));
    };
    let verdict = match entered {
        Entered::Code(code) => {
            let secret = second_factor::open(state, user.id, &authenticator.sealed_secret).await?;
            match secret.check(&code, now) {
                None => Verdict::Refused(WRONG_CODE),
                Some(step) if state.store().use_authenticator_step(user.id, step).await? => {
                    Verdict::Accepted
                }
                Some(_) => Verdict::Refused(USED_CODE),
            }
        }
        Entered::Recovery(code) => {
            let hash = second_factor::recovery_hash(&code);
            if state.store().use_recovery_code(user.id, &hash, now).await? {
                Verdict::Accepted
            } else {
                Verdict::Refused(WRONG_RECOVERY)
            }
        }
    };
    match verdict {
        Verdict::Accepted => held.clear(state).await?,
        _ => held.keep(),
    }
    Ok(verdict)
}

/// The secret waiting to be confirmed by this session, made (and stored sealed) if there is
/// none. A secret another session is setting up is replaced, never shown: someone else
/// signed in with the same password must not see the secret the real person will confirm.
async fn waiting_secret(state: &Here, user: &User, session: &[u8]) -> WebResult<TotpSecret> {
    if let Some(waiting) = state
        .store()
        .authenticator(user.id)
        .await?
        .filter(|a| a.enabled_at.is_none() && a.pending_session.as_deref() == Some(session))
    {
        return second_factor::open(state, user.id, &waiting.sealed_secret).await;
    }
    let secret = TotpSecret::generate();
    let sealed = second_factor::seal(state, user.id, &secret).await?;
    state
        .store()
        .begin_authenticator(user.id, &sealed, session)
        .await?;
    Ok(secret)
}

/// The set-up page: QR code, key and link for the waiting secret, and the code field.
/// `staff` is `None` during sign-in (no navigation yet).
pub(super) async fn set_up_page(
    state: &Here,
    staff: Option<&Staff>,
    user: &User,
    session: &[u8],
    action: &str,
    error: Option<&str>,
) -> WebResult<String> {
    let secret = waiting_secret(state, user, session).await?;
    let practice = state.store().practice(state.practice_id()).await?;
    let url = secret.otpauth_url(&practice.details.name, user.email.as_str());
    let qr = qr::svg(&url, "QR code to scan with your authenticator app")
        .ok_or_else(|| WebError::Internal(anyhow::anyhow!("the set-up address is too long")))?;
    let ctx = context! {
        action,
        during_sign_in => staff.is_none(),
        qr => Value::from_safe_string(qr),
        key => secret.grouped(),
        url,
        error,
    };
    render_office(state, staff, "office/set_up_authenticator.html", ctx).await
}

/// Switch the waiting secret on if `typed` is its current code: the new recovery codes, or
/// the message for the code field.
pub(super) async fn confirm_set_up(
    state: &Here,
    user: &User,
    session: &[u8],
    typed: &str,
) -> WebResult<Result<Vec<String>, &'static str>> {
    let code = match Entered::parse(typed, false) {
        Ok(Entered::Code(code)) => code,
        Ok(Entered::Recovery(_)) => return Ok(Err(WRONG_CODE)),
        Err(message) => return Ok(Err(message)),
    };
    let Some(waiting) = state
        .store()
        .authenticator(user.id)
        .await?
        .filter(|a| a.enabled_at.is_none() && a.pending_session.as_deref() == Some(session))
    else {
        return Ok(Err(EXPIRED_SET_UP));
    };
    let secret = second_factor::open(state, user.id, &waiting.sealed_secret).await?;
    let Some(step) = secret.check(&code, state.now()) else {
        return Ok(Err(WRONG_CODE));
    };
    let codes = second_factor::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| second_factor::recovery_hash(c))
        .collect();
    // Only if the secret just checked is still the one waiting, for this session.
    match state
        .store()
        .enable_authenticator(
            user.id,
            &waiting.sealed_secret,
            session,
            step,
            &hashes,
            state.now(),
        )
        .await
    {
        Ok(()) => {}
        Err(store::StoreError::NotFound) => return Ok(Err(EXPIRED_SET_UP)),
        Err(error) => return Err(error.into()),
    }
    tracing::info!(user = user.id.get(), "authenticator app switched on");
    Ok(Ok(codes))
}

/// The page that shows recovery codes, once.
pub(super) async fn recovery_codes_page(
    state: &Here,
    staff: Option<&Staff>,
    codes: &[String],
    just_set_up: bool,
    next: &str,
) -> WebResult<String> {
    let ctx = context! { codes => codes.to_vec(), just_set_up, next };
    render_office(state, staff, "office/recovery_codes.html", ctx).await
}

#[derive(Deserialize)]
struct Done {
    saved: Option<String>,
    off: Option<String>,
}

async fn overview_page(
    state: &Here,
    staff: &Staff,
    status: StatusCode,
    rules: Option<(bool, String)>,
    errors: Option<&FieldErrors>,
    done: Option<&str>,
) -> WebResult<Response> {
    let codes_left = state.store().recovery_codes_left(staff.user.id).await?;
    let policy = state.store().sign_in_policy(state.practice_id()).await?;
    let (required, idle) = rules.unwrap_or_else(|| {
        (
            policy.second_factor_required,
            policy.idle_timeout.minutes().to_string(),
        )
    });
    let (list, map) = errors.map_or((Value::UNDEFINED, Value::UNDEFINED), errors_value);
    let ctx = context! {
        has_app => staff.user.second_factor,
        codes_left,
        owner => staff.user.owner,
        required,
        idle,
        errors => list,
        error => map,
        done,
    };
    page(state, staff, status, "office/security.html", ctx).await
}

async fn overview(state: Here, staff: Staff, Query(q): Query<Done>) -> WebResult<Response> {
    let done = if q.saved.is_some() {
        Some("saved")
    } else if q.off.is_some() {
        Some("off")
    } else {
        None
    };
    overview_page(&state, &staff, StatusCode::OK, None, None, done).await
}

async fn set_up_form(state: Here, staff: Staff) -> WebResult<Response> {
    if staff.user.second_factor {
        return Ok(Redirect::to("/office/settings/security").into_response());
    }
    let body = set_up_page(
        &state,
        Some(&staff),
        &staff.user,
        &staff.session,
        "/office/settings/security/set-up",
        None,
    )
    .await?;
    Ok(crate::render::html(StatusCode::OK, body))
}

async fn set_up(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    if staff.user.second_factor {
        return Ok(Redirect::to("/office/settings/security").into_response());
    }
    match confirm_set_up(&state, &staff.user, &staff.session, form.get("code")).await? {
        Ok(codes) => {
            let body = recovery_codes_page(
                &state,
                Some(&staff),
                &codes,
                true,
                "/office/settings/security",
            )
            .await?;
            Ok(crate::render::html(StatusCode::OK, body))
        }
        Err(message) => {
            let body = set_up_page(
                &state,
                Some(&staff),
                &staff.user,
                &staff.session,
                "/office/settings/security/set-up",
                Some(message),
            )
            .await?;
            Ok(crate::render::html(StatusCode::UNPROCESSABLE_ENTITY, body))
        }
    }
}

/// A page asking for a current code before an action (new recovery codes, turning off).
async fn code_check_page(
    state: &Here,
    staff: &Staff,
    status: StatusCode,
    kind: &str,
    error: Option<&str>,
) -> WebResult<Response> {
    let ctx = context! { kind, error };
    page(state, staff, status, "office/security_confirm.html", ctx).await
}

/// A change that needs a current code (new recovery codes, turning the app off): `Ok(())`
/// when the code is right, else the page (or redirect) to answer with.
async fn confirmed_by_code(
    state: &Here,
    staff: &Staff,
    form: &FormData,
    kind: &str,
) -> WebResult<Result<(), Response>> {
    if !staff.user.second_factor {
        return Ok(Err(
            Redirect::to("/office/settings/security").into_response()
        ));
    }
    match check_second_factor(state, &staff.user, form.get("code"), true).await? {
        Verdict::Accepted => Ok(Ok(())),
        Verdict::TooMany(seconds) => Err(WebError::TooManyRequests(seconds)),
        Verdict::Refused(message) => Ok(Err(code_check_page(
            state,
            staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            kind,
            Some(message),
        )
        .await?)),
    }
}

async fn new_codes_form(state: Here, staff: Staff) -> WebResult<Response> {
    if !staff.user.second_factor {
        return Ok(Redirect::to("/office/settings/security").into_response());
    }
    code_check_page(&state, &staff, StatusCode::OK, "codes", None).await
}

async fn new_codes(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    if let Err(answer) = confirmed_by_code(&state, &staff, &form, "codes").await? {
        return Ok(answer);
    }
    let codes = second_factor::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| second_factor::recovery_hash(c))
        .collect();
    state
        .store()
        .replace_recovery_codes(staff.user.id, &hashes, state.now())
        .await?;
    tracing::info!(user = staff.user.id.get(), "recovery codes replaced");
    let body = recovery_codes_page(
        &state,
        Some(&staff),
        &codes,
        false,
        "/office/settings/security",
    )
    .await?;
    Ok(crate::render::html(StatusCode::OK, body))
}

async fn turn_off_form(state: Here, staff: Staff) -> WebResult<Response> {
    if !staff.user.second_factor {
        return Ok(Redirect::to("/office/settings/security").into_response());
    }
    code_check_page(&state, &staff, StatusCode::OK, "off", None).await
}

async fn turn_off(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    if let Err(answer) = confirmed_by_code(&state, &staff, &form, "off").await? {
        return Ok(answer);
    }
    state.store().disable_authenticator(staff.user.id).await?;
    tracing::info!(user = staff.user.id.get(), "authenticator app switched off");
    // If the practice requires an app, the next page asks for a new one straight away.
    Ok(Redirect::to("/office/settings/security?off=1").into_response())
}

/// The owner's sign-in rules. Anyone else is refused (403), not shown a form.
async fn save_rules(state: Here, staff: Staff, form: FormData) -> WebResult<Response> {
    if !staff.user.owner {
        tracing::info!(
            user = staff.user.id.get(),
            "refused: sign-in rules are the owner's"
        );
        return Err(staff.refused(&state).await);
    }
    let required = form.has("second_factor_required");
    let typed = form.get("idle_timeout").to_owned();
    let errors = match SignInPolicy::parse(required, &typed) {
        Ok(policy) if policy.second_factor_required && !staff.user.second_factor => {
            let mut errors = FieldErrors::new();
            errors.add(
                "second_factor_required",
                "Set up your own authenticator app before you require one for everyone",
            );
            errors
        }
        Ok(policy) => {
            state
                .store()
                .set_sign_in_policy(state.practice_id(), &policy)
                .await?;
            tracing::info!(
                user = staff.user.id.get(),
                required = policy.second_factor_required,
                idle_minutes = policy.idle_timeout.minutes(),
                "sign-in rules changed"
            );
            return Ok(Redirect::to("/office/settings/security?saved=1").into_response());
        }
        Err(errors) => errors,
    };
    overview_page(
        &state,
        &staff,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some((required, typed)),
        Some(&errors),
        None,
    )
    .await
}
