//! Measures in the office: choosing a contract's measures, a client's scores on their page
//! (a chart per measure, the change in words, every score in a table), one questionnaire's
//! answers item by item, acknowledging a risk answer with a note, entering answers given in
//! a session, the practice's outcomes and adding CORE-10.
//!
//! A risk answer's flag is shown first on Today and at the top of the client's page until it
//! is acknowledged; acknowledging is a POST with a required note, written in the audit log
//! by its route. Nothing here puts an answer or a score into a log or an email.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    FieldErrors,
    measures::{
        Instrument, Reliable, core10,
        outcomes::{self as tallies, Course, Tally},
        plan::{Occasion, Schedule, parse_every},
    },
};
use minijinja::{Value, context};
use serde::Serialize;
use store::{
    Client, Completion, Contract, EnteredBy, MeasurePlan, NewRequest, Questionnaire,
    QuestionnaireId, QuestionnaireSummary,
};

use super::{
    Staff,
    clients::{find_client, find_contract},
    errors_value, page,
};
use crate::{
    Here, WebError,
    error::WebResult,
    forms::FormData,
    measures::{
        self as m, AnswerProblem, Catalogue,
        chart::{self, Point},
    },
    therapy::PracticeView,
};

mod client;
mod entry;
mod outcomes;
mod plan;
mod questionnaire;
mod settings;

pub(crate) use self::{client::*, entry::*, outcomes::*, plan::*, questionnaire::*, settings::*};

crate::routing::routes! {
    GET "/office/clients/{id}/contracts/{contract}/measures" => Staff(ClientViewed): plan_form;
    POST "/office/clients/{id}/contracts/{contract}/measures" => Staff(ContractChanged): save_plan;
    GET "/office/clients/{id}/questionnaires/new" => Staff(ClientViewed): entry_form;
    GET "/office/clients/{id}/measures/{instrument}" => Staff(ClientViewed): all_scores;
    POST "/office/clients/{id}/questionnaires/new" => Staff(QuestionnaireEntered): enter;
    POST "/office/clients/{id}/questionnaires/ask" => Staff(QuestionnaireAsked): ask;
    GET "/office/questionnaires/{id}" => Staff(QuestionnaireViewed): show;
    POST "/office/questionnaires/{id}/acknowledge" => Staff(FlagAcknowledged): acknowledge;
    GET "/office/outcomes" => Staff: outcomes_page;
    GET "/office/outcomes.csv" => Staff: outcomes_csv;
    GET "/office/settings/measures" => Staff: settings_form;
    POST "/office/settings/measures" => Staff(SettingsChanged): save_settings;
}

/// The longest acknowledgement note.
const MAX_NOTE: usize = 4000;
