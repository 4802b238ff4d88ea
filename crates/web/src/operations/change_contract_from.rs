//! Agree a contract, or change one from a session on ("this and following"): the new terms
//! stored as a version, and the sessions from then planned again under them, checked
//! against every other appointment first. The past is never touched.

use domain::therapy::ContractTerms;
use jiff::Timestamp;
use store::{ClientId, ConflictKind, Contract, ContractId, Session, StoreError};

use super::plan_check::{clashes, split_for_planning};
use crate::{Here, WebError, therapy::planner};

/// The change to make.
pub(crate) struct ContractChange<'a> {
    pub client: ClientId,
    /// The contract to change; `None` agrees a new one.
    pub contract: Option<&'a Contract>,
    pub terms: &'a ContractTerms,
    /// What changed and why (empty for a new contract).
    pub note: &'a str,
    /// The terms apply to sessions from this instant (a session's start, or the first instant
    /// of the start date).
    pub from: Timestamp,
}

/// Why nothing was stored.
#[derive(Debug)]
pub(crate) enum ContractChangeError {
    /// A new contract whose every session would fall in a break (or none in the year ahead).
    NothingToPlan,
    /// These planned sessions overlap other appointments.
    Clash(Vec<Timestamp>),
    /// Another appointment was booked at one of the times a moment ago.
    TakenJustNow,
    /// The contract ended meanwhile.
    Closed,
    Web(WebError),
}

impl From<WebError> for ContractChangeError {
    fn from(error: WebError) -> Self {
        Self::Web(error)
    }
}

impl From<StoreError> for ContractChangeError {
    fn from(error: StoreError) -> Self {
        Self::Web(error.into())
    }
}

/// Store `change` and plan its sessions; returns the contract.
pub(crate) async fn change_contract_from(
    state: &Here,
    change: ContractChange<'_>,
) -> Result<ContractId, ContractChangeError> {
    let store = state.store();
    let practice = state.practice_id();
    let now = state.now();
    let from_now = change.from.max(now);
    let planner = planner(state).await?;
    let own: Vec<Session> = match change.contract {
        Some(contract) => store
            .client_sessions(practice, change.client)
            .await?
            .into_iter()
            .filter(|s| s.contract == contract.id)
            .collect(),
        None => Vec::new(),
    };
    let (kept, replaced) = split_for_planning(&own, from_now, now, None);
    let planned = planner(change.terms, &kept, from_now);
    if change.contract.is_none() && planned.iter().all(|p| p.in_break) {
        return Err(ContractChangeError::NothingToPlan);
    }
    let clashing = clashes(state, &planned, &replaced).await?;
    if !clashing.is_empty() {
        return Err(ContractChangeError::Clash(clashing));
    }
    match store
        .save_contract(
            practice,
            change.client,
            change.contract.map(|c| c.id),
            change.terms,
            change.note,
            change.from,
            planner.as_ref(),
            now,
        )
        .await
    {
        Ok(id) => {
            state.booking_changed();
            Ok(id)
        }
        Err(StoreError::Conflict(ConflictKind::AppointmentsOverlap)) => {
            Err(ContractChangeError::TakenJustNow)
        }
        Err(StoreError::NotFound) => Err(ContractChangeError::Closed),
        Err(other) => Err(other.into()),
    }
}
