//! Clients and the work with them: the client list, adding or changing a client, a client's
//! page (the contract in words, the sessions past and to come), ending the work, and what
//! came of a first consultation.
//!
//! GET pages only read. Every change is a POST answered with a redirect, or with the form
//! again (422, input kept) when something needs fixing. Agreeing or changing a contract and
//! everything about one session live in [`super::sessions`]; both share the helpers here
//! (the practice's zone and places, labels, the words for a clash). Sessions are planned with
//! [`crate::therapy::planner`], the same planner breaks use, so every plan agrees.

mod clashes;
mod client_page;
mod consultation;
mod details;
mod ending;
mod labels;
mod list;

pub(crate) use self::{
    clashes::*, client_page::*, consultation::*, details::*, ending::*, labels::*, list::*,
};
use axum::{
    extract::Path,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    FieldErrors,
    booking::BookingStatus,
    enquiry::Contact,
    therapy::{
        ContractKind, ContractTerms, WeeklyTime,
        sessions::{self as domain_sessions, SessionFacts},
    },
};
use jiff::{
    Timestamp,
    civil::{Time, Weekday},
};
use minijinja::{Value, context};
use serde::Serialize;
use store::{
    BookingId, Client, ClientId, Contract, ContractId, NewClient, NewMessage, Session, SessionId,
    SessionStatus, StoreError,
};

use super::{Staff, errors_value, page};
use crate::booking::messages::URGENT_HELP;
pub(super) use crate::words::clock;
use crate::{Here, WebError, error::WebResult, forms::FormData, templates::value, words};

crate::routing::routes! {
    GET "/office/clients" => Staff: list;
    GET "/office/clients/new" => Staff: new_form;
    POST "/office/clients/new" => Staff(ClientCreated): create;
    GET "/office/clients/{id}" => Staff(ClientViewed): show;
    GET "/office/clients/{id}/edit" => Staff(ClientViewed): edit_form;
    POST "/office/clients/{id}/edit" => Staff(ClientChanged): update;
    POST "/office/clients/{id}/notes" => Staff(NoteWritten): add_note;
    GET "/office/clients/{id}/contracts/{contract}/end" => Staff(ClientViewed): confirm_end;
    POST "/office/clients/{id}/contracts/{contract}/end" => Staff(ContractChanged): end;
    GET "/office/bookings/{id}/outcome" => Staff(ConsultationViewed): outcome_form;
    POST "/office/bookings/{id}/outcome" => Staff(ConsultationChanged): record_consultation_outcome;
}

pub(super) use crate::therapy::PracticeView;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_regular_times_read_as_people_say_them() {
        assert_eq!(clock(jiff::civil::time(9, 0, 0, 0)), "9am");
        assert_eq!(clock(jiff::civil::time(17, 30, 0, 0)), "5:30pm");
        assert_eq!(clock(jiff::civil::time(0, 5, 0, 0)), "12:05am");
        let times = [
            WeeklyTime {
                weekday: Weekday::Tuesday,
                time: jiff::civil::time(8, 15, 0, 0),
            },
            WeeklyTime {
                weekday: Weekday::Thursday,
                time: jiff::civil::time(17, 30, 0, 0),
            },
        ];
        assert_eq!(
            regular_times(&times),
            "Tuesdays at 8:15am and Thursdays at 5:30pm"
        );
    }

    #[test]
    fn therapist_wording_for_client_errors() {
        let mut errors = FieldErrors::new();
        errors.add("name", "Enter your name");
        errors.add(
            "contact_preference",
            "Choose how you would like me to contact you",
        );
        let out = about_the_client(&errors);
        assert_eq!(out.get("name"), Some("Enter the client’s name"));
        assert_eq!(
            out.get("contact_preference"),
            Some("Choose how the client would like to be contacted")
        );
    }
}
