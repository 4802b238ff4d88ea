//! Sessions: agreeing a contract or changing it from one session on ("this and following"),
//! and one session's page: what happened (with the charge the cancellation policy gives and
//! the rule behind it), waiving a charge, moving the session.
//!
//! These handlers parse the forms and render; each change is one operation
//! ([`crate::operations`]: `change_contract_from`, `record_outcome`, `move_session`), which
//! checks every plan against the therapist's other appointments before anything is stored,
//! so a clash is shown at the field with its dates and nothing changes. The store refuses a
//! clash that slips past (a consultation booked a moment before), and that gets the same kind
//! of message. Times are read and shown in the practice's zone.

mod contract;
mod session;

pub(crate) use self::{contract::*, session::*};
use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    FieldErrors, Slug,
    practice::parse_time,
    text::parse_text,
    therapy::{
        ContractTerms,
        form::ContractForm,
        outcome::NotRecordable,
        policy::{Outcome, Recorded},
    },
};
use jiff::{
    Timestamp, ToSpan,
    civil::{Date, Time},
};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use store::{Client, Contract, Session, SessionId, SessionStatus, StoreError};

use super::{
    Staff,
    clients::{
        PracticeView, clash_dates, clash_message, find_client, find_contract, number_label,
        status_label, time_field, weekday_field,
    },
    errors_value, page,
};
use crate::operations::{
    change_contract_from::{ContractChange, ContractChangeError, change_contract_from},
    move_session::{MoveSessionError, move_session},
    record_outcome::{RecordOutcomeError, RecordedBy, record_outcome},
};
use crate::query::Query;
use crate::{Here, WebError, error::WebResult, forms::FormData, templates::value};

crate::routing::routes! {
    GET "/office/clients/{id}/contract/new" => Staff(ClientViewed): new_contract_form;
    POST "/office/clients/{id}/contract/new" => Staff(ContractChanged): create_contract;
    GET "/office/clients/{id}/contracts/{contract}/change" => Staff(ClientViewed): change_form;
    POST "/office/clients/{id}/contracts/{contract}/change" => Staff(ContractChanged): change_contract;
    GET "/office/sessions/{id}" => Staff(SessionViewed): show;
    POST "/office/sessions/{id}/outcome" => Staff(SessionChanged): record;
    POST "/office/sessions/{id}/waive" => Staff(SessionChanged): waive;
    POST "/office/sessions/{id}/move" => Staff(SessionChanged): move_to;
    POST "/office/sessions/{id}/note" => Staff(NoteWritten): save_note;
}

/// Said when the store refuses a plan that passed the check a moment before.
const TAKEN_JUST_NOW: &str = "Another appointment was booked at one of these times a moment \
     ago. Choose another time, or move the other appointment first";
