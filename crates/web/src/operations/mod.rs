//! Operations: the changes that touch several records, each written once and called by every
//! door that offers it (the office, the portal, the API).
//!
//! A handler parses its request into typed input, calls one operation, and renders the typed
//! result or error; it never strings store calls together itself. An operation reads what it
//! needs, asks `domain` for the rules (planning, clashes, the charge), and hands the store
//! one write that commits as a unit. Each takes the request's [`crate::Here`] (the store, the
//! practice, the clock), so a job can call it the same way.
//!
//! What an operation must not do: render, know about forms or field names, or word a message
//! for one audience. Its errors say what happened; each door says it in its own words.

pub(crate) mod accept_consultation;
pub(crate) mod change_break;
pub(crate) mod change_contract_from;
pub(crate) mod move_session;
pub(crate) mod plan_check;
pub(crate) mod record_outcome;
