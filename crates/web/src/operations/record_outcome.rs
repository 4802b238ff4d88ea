//! Record what happened at a session: the charge the cancellation policy gives it, the rest
//! of the work planned again (brief work grows by a session when one stops counting), and an
//! invoice at once under per-session invoicing. The therapist records from the office; a
//! client cancels their own session from the portal, with the emails that go with it.

use domain::therapy::{
    outcome::{NewCharge, NotRecordable, check_recordable},
    policy::{CancellationPolicy, Recorded},
};
use jiff::Timestamp;
use store::{ClientId, ConflictKind, NewMessage, Session, SessionStatus, StoreError};

use super::plan_check::{clashes, split_for_planning};
use crate::{
    Here, WebError,
    error::unexpected,
    therapy::{PracticeView, charge_for_session, invoice_if_per_session, planner},
};

/// Writes the emails that go with a client's cancellation, once the charge is known.
pub(crate) type CancellationEmails<'a> =
    dyn Fn(&CancellationPolicy, &NewCharge) -> Vec<NewMessage> + Send + Sync + 'a;

/// Who is recording, and what they agreed to.
pub(crate) enum RecordedBy<'a> {
    /// The therapist, in the office.
    Therapist,
    /// The client, cancelling their own session in the portal: it must be theirs, still
    /// scheduled and yet to start. `shown` is the charge their page showed (in pence): if the
    /// charge is no longer that, nothing is recorded. `emails` are queued with the outcome.
    Client {
        client: ClientId,
        shown: Option<u32>,
        emails: &'a CancellationEmails<'a>,
    },
}

/// Why nothing was recorded.
#[derive(Debug)]
pub(crate) enum RecordOutcomeError {
    /// Not yet: attendance before the session started, or a cancellation told in the future.
    NotYet(NotRecordable),
    /// Planning the rest of the work again puts these sessions over other appointments.
    Clash(Vec<Timestamp>),
    /// Another appointment was booked at one of the new times a moment ago.
    TakenJustNow,
    /// The session can no longer take this outcome (in a break, invoiced, cancelled or begun
    /// meanwhile): its page says how it stands now.
    Closed,
    /// The client's page showed another charge: this is the one that applies now.
    ChargeChanged {
        policy: CancellationPolicy,
        charge: NewCharge,
    },
    Web(WebError),
}

impl From<WebError> for RecordOutcomeError {
    fn from(error: WebError) -> Self {
        Self::Web(error)
    }
}

impl From<StoreError> for RecordOutcomeError {
    fn from(error: StoreError) -> Self {
        Self::Web(error.into())
    }
}

/// Record `recorded` at `session`; returns the session as stored.
pub(crate) async fn record_outcome(
    state: &Here,
    session: &Session,
    recorded: Recorded,
    by: RecordedBy<'_>,
) -> Result<Session, RecordOutcomeError> {
    let store = state.store();
    let practice = state.practice_id();
    let now = state.now();
    let invoiced = session.charge.as_ref().is_some_and(|c| c.invoice.is_some());
    if session.status == SessionStatus::Break || invoiced {
        return Err(RecordOutcomeError::Closed);
    }
    check_recordable(recorded, session.start, now).map_err(RecordOutcomeError::NotYet)?;
    let contract = store.contract(practice, session.contract).await?;
    let (policy, charge) = charge_for_session(state, &contract, session, recorded).await?;
    if let RecordedBy::Client { shown, .. } = &by
        && *shown != Some(charge.amount.get())
    {
        return Err(RecordOutcomeError::ChargeChanged { policy, charge });
    }
    let planner = planner(state).await?;
    if contract.active {
        // A session that stops counting adds one at the end of brief work: that one must
        // not clash either.
        let own: Vec<Session> = store
            .client_sessions(practice, session.client)
            .await?
            .into_iter()
            .filter(|s| s.contract == contract.id)
            .collect();
        let from = contract.current().effective_from.max(now);
        let counts = SessionStatus::Done(charge.outcome).counts();
        let (kept, replaced) = split_for_planning(&own, from, now, Some((session.id, counts)));
        let planned = planner(&contract.current().terms, &kept, from);
        let clashing = clashes(state, &planned, &replaced).await?;
        if !clashing.is_empty() {
            return Err(RecordOutcomeError::Clash(clashing));
        }
    }
    let result = match &by {
        RecordedBy::Therapist => {
            store
                .record_outcome(practice, session.id, &charge, planner.as_ref(), now)
                .await
        }
        RecordedBy::Client { client, emails, .. } => {
            let messages = emails(&policy, &charge);
            store
                .cancel_own_session(
                    practice,
                    *client,
                    session.id,
                    &charge,
                    planner.as_ref(),
                    &messages,
                    now,
                )
                .await
        }
    };
    match result {
        Ok(stored) => {
            if matches!(by, RecordedBy::Client { .. }) {
                state.mail_queued();
            }
            let view = PracticeView::load(state).await?;
            invoice_if_per_session(state, &view, &stored).await?;
            state.booking_changed();
            Ok(stored)
        }
        // Every kind is decided here: a new one must be placed, never swept up by `_`.
        #[deny(clippy::wildcard_enum_match_arm)]
        Err(StoreError::Conflict(kind)) => Err(match kind {
            ConflictKind::AppointmentsOverlap => RecordOutcomeError::TakenJustNow,
            ConflictKind::SessionInBreak
            | ConflictKind::ChargeInvoiced
            | ConflictKind::NotCancellable => RecordOutcomeError::Closed,
            ConflictKind::ArticleSlug
            | ConflictKind::LocationSlug
            | ConflictKind::AppointmentTypeSlug
            | ConflictKind::UserEmail
            | ConflictKind::OutboxMessageId
            | ConflictKind::Unique
            | ConflictKind::SlotUnavailable
            | ConflictKind::ChargesChanged
            | ConflictKind::AlreadyExtended
            | ConflictKind::AuthenticatorEnabled
            | ConflictKind::EmailChangeLimit
            | ConflictKind::HostTaken
            | ConflictKind::HostKeyChanged
            | ConflictKind::KeysChanged
            | ConflictKind::PracticeActive
            | ConflictKind::PracticeClosing
            | ConflictKind::TooManyPhotos
            | ConflictKind::PhotoTwice => RecordOutcomeError::Web(unexpected(kind)),
        }),
        Err(other) => Err(other.into()),
    }
}
