//! Measures (issue 14): which questionnaires each contract asks for and when, each
//! questionnaire asked for or entered, its answers, and the flag a risk answer raises.
//!
//! Answers are stored as the options chosen, with the total and whether a risk item was
//! answered above zero, both worked out by the instrument's own scoring (`domain::measures`)
//! when the answers are given. A questionnaire belongs to a
//! contract and names the session it was asked for by its number in the contract (0: the
//! consultation), so planning sessions again never loses one. The store keeps the rules
//! that must hold however many requests arrive together: one questionnaire per contract,
//! session and instrument; answers stored once; a flag acknowledged once.

use async_trait::async_trait;
use domain::{
    PersonName,
    measures::plan::{Occasion, Schedule},
};
use jiff::Timestamp;
use serde::Serialize;

use crate::{ClientId, ContractId, NewMessage, PracticeId, StoreResult, UserId};

crate::model::id_type!(/// A questionnaire asked for or entered.
    QuestionnaireId);

/// One instrument a contract asks for, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasurePlan {
    /// The instrument's id (`phq-9`).
    pub instrument: String,
    pub schedule: Schedule,
}

/// Who gave the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnteredBy {
    /// The client, in the portal.
    Client,
    /// The therapist, from answers given in a session.
    Therapist,
}

impl EnteredBy {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Therapist => "therapist",
        }
    }

    /// Parse the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "client" => Some(Self::Client),
            "therapist" => Some(Self::Therapist),
            _ => None,
        }
    }
}

/// A questionnaire to ask a client for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub client: ClientId,
    pub contract: ContractId,
    pub instrument: String,
    pub occasion: Occasion,
    /// The session it is for, by its number in the contract (0: the consultation).
    pub session_number: u32,
}

/// Answers as given: the value of the option chosen for each item, in order, and the
/// follow-up question's answer if the instrument has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    pub values: Vec<u8>,
    pub follow_up: Option<u8>,
    /// The total (`domain::measures::Score::total`).
    pub total: u32,
    /// A risk item was answered above zero (`domain::measures::Score::risk_items`).
    pub risk: bool,
}

impl Answers {
    /// Stored form: the values separated by commas.
    pub fn values_text(&self) -> String {
        self.values
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parse the stored values.
    pub fn parse_values(raw: &str) -> Option<Vec<u8>> {
        raw.split(',').map(|v| v.parse().ok()).collect()
    }
}

/// A flag's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub at: Timestamp,
    /// Who (`None`: their account has been removed since).
    pub by: Option<UserId>,
    pub note: String,
}

/// A questionnaire asked for or entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Questionnaire {
    pub id: QuestionnaireId,
    pub client: ClientId,
    pub client_name: PersonName,
    pub contract: ContractId,
    pub instrument: String,
    pub occasion: Occasion,
    pub session_number: u32,
    pub requested_at: Timestamp,
    /// No longer wanted: the client asked not to be sent questionnaires, or the work ended.
    pub withdrawn_at: Option<Timestamp>,
    /// When it was answered, by whom, and the answers.
    pub completed: Option<(Timestamp, EnteredBy, Answers)>,
    /// For a risk answer: its acknowledgement, once made.
    pub acknowledged: Option<Acknowledgement>,
}

impl Questionnaire {
    /// Waiting for the client's answers.
    pub fn is_open(&self) -> bool {
        self.completed.is_none() && self.withdrawn_at.is_none()
    }

    /// A risk answer not yet acknowledged.
    pub fn is_flagged(&self) -> bool {
        self.acknowledged.is_none()
            && self
                .completed
                .as_ref()
                .is_some_and(|(_, _, answers)| answers.risk)
    }
}

/// A questionnaire as a client's page lists it: answered (with its total) or waiting for
/// answers, without the answers themselves. A client with years of weekly measures has
/// hundreds; see [`MeasureStore::questionnaire_summaries`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionnaireSummary {
    pub id: QuestionnaireId,
    pub contract: ContractId,
    pub instrument: String,
    pub occasion: Occasion,
    pub session_number: u32,
    /// When it was asked for (`None` for answered ones: the page does not say).
    pub requested_at: Option<Timestamp>,
    /// When it was answered, and the total.
    pub completed: Option<(Timestamp, u32)>,
    /// A risk item was answered above zero.
    pub risk: bool,
    pub acknowledged: bool,
}

impl QuestionnaireSummary {
    /// A risk answer not yet acknowledged.
    pub fn is_flagged(&self) -> bool {
        self.risk && !self.acknowledged && self.completed.is_some()
    }
}

/// The columns of a [`QuestionnaireSummary`] as the backends pack them: id, contract,
/// instrument, occasion, session number, requested, completed, total, risk, acknowledged.
pub type SummaryParts = (
    i64,
    i64,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
);

/// Summaries packed by the database into one JSON array of rows of [`SummaryParts`],
/// unpacked in order: answered ones by when, then those waiting by when they were asked.
pub fn unpack_summaries(packed: Option<&str>) -> Result<Vec<SummaryParts>, String> {
    let Some(packed) = packed else {
        return Ok(Vec::new());
    };
    let mut rows: Vec<SummaryParts> =
        serde_json::from_str(packed).map_err(|e| format!("packed questionnaires: {e}"))?;
    rows.sort_by_key(|r| (r.6.is_none(), r.6.or(r.5), r.0));
    Ok(rows)
}

/// A questionnaire's own columns as the backends read them: id, contract, instrument,
/// occasion, session number, requested, withdrawn, completed, entered by, answers,
/// follow-up, total, risk, acknowledged at, by, note.
pub type QuestionnaireParts = (
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// A client's questionnaires packed by the database into one JSON array of rows (each an
/// array of [`QuestionnaireParts`]), earliest asked first. Years of weekly answers are
/// hundreds of rows; one value instead of a row each saves the driver's per-row hand-over
/// between threads, which cost more than reading them.
pub fn unpack_questionnaires(packed: Option<&str>) -> Result<Vec<QuestionnaireParts>, String> {
    let Some(packed) = packed else {
        return Ok(Vec::new());
    };
    let mut rows: Vec<QuestionnaireParts> =
        serde_json::from_str(packed).map_err(|e| format!("packed questionnaires: {e}"))?;
    rows.sort_by_key(|r| (r.5, r.0));
    Ok(rows)
}

/// What came of entering answers (see [`MeasureStore::complete_questionnaire`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Stored now.
    Stored(QuestionnaireId),
    /// It had been answered already (the first answers stand), or withdrawn.
    AlreadyDone,
}

/// Writes the email for a questionnaire just asked for (`None`: no email).
pub type RequestEmail<'a> = dyn Fn(&Questionnaire) -> Option<NewMessage> + Send + Sync + 'a;

/// Instruments a practice added, contracts' plans, questionnaires and their flags.
#[async_trait]
pub trait MeasureStore: Send + Sync {
    /// The instruments the practice added itself: `(id, wording as JSON)`.
    async fn practice_instruments(
        &self,
        practice: PracticeId,
    ) -> StoreResult<Vec<(String, String)>>;
    /// Add an instrument's wording, or replace it.
    async fn save_practice_instrument(
        &self,
        practice: PracticeId,
        instrument: &str,
        wording: &str,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// The plans of one contract, or (with `None`) of every active contract of the practice.
    async fn measure_plans(
        &self,
        practice: PracticeId,
        contract: Option<ContractId>,
    ) -> StoreResult<Vec<(ContractId, MeasurePlan)>>;
    /// Replace a contract's plans (none: it asks for no measures).
    async fn set_measure_plans(
        &self,
        practice: PracticeId,
        contract: ContractId,
        plans: &[MeasurePlan],
        now: Timestamp,
    ) -> StoreResult<()>;

    /// In one transaction, ask for each questionnaire in `requests` not asked for already
    /// (by contract, session number and instrument) whose client has not asked to stop,
    /// queueing the email `email` writes for each. Returns those asked for now.
    async fn request_questionnaires(
        &self,
        practice: PracticeId,
        requests: &[NewRequest],
        email: &RequestEmail<'_>,
        now: Timestamp,
    ) -> StoreResult<Vec<QuestionnaireId>>;
    /// A client's questionnaires, earliest asked first.
    async fn questionnaires(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<Questionnaire>>;
    /// A client's answered questionnaires (earliest answered first), then those waiting for
    /// answers (earliest asked first): what their page shows, read without the answers.
    async fn questionnaire_summaries(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<QuestionnaireSummary>>;
    /// One questionnaire.
    async fn questionnaire(
        &self,
        practice: PracticeId,
        id: QuestionnaireId,
    ) -> StoreResult<Questionnaire>;
    /// Store the answers to an open questionnaire, once: with a risk answer, the flag is
    /// raised and `flag_messages` queued in the same transaction.
    async fn complete_questionnaire(
        &self,
        practice: PracticeId,
        id: QuestionnaireId,
        answers: &Answers,
        by: EnteredBy,
        flag_messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<Completion>;
    /// The therapist enters answers given in a session: they complete the questionnaire
    /// asked for that session if there is one, else are stored as a new one (`request`
    /// names it), with the flag as [`Self::complete_questionnaire`].
    async fn enter_questionnaire(
        &self,
        practice: PracticeId,
        request: &NewRequest,
        answers: &Answers,
        flag_messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<Completion>;
    /// Acknowledge a risk answer with a note, once (`false`: it was already, or has none).
    async fn acknowledge_flag(
        &self,
        practice: PracticeId,
        id: QuestionnaireId,
        by: UserId,
        note: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Risk answers not yet acknowledged, earliest first.
    async fn open_flags(&self, practice: PracticeId) -> StoreResult<Vec<Questionnaire>>;
    /// Every completed questionnaire of the practice's ended contracts, by contract then
    /// when answered (the outcomes page).
    async fn ended_work_questionnaires(
        &self,
        practice: PracticeId,
    ) -> StoreResult<Vec<Questionnaire>>;

    /// Whether the client asked not to be sent questionnaires (and since when).
    async fn measures_stopped(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Option<Timestamp>>;
    /// The client asks to stop (`true`) or to be asked again: stopping withdraws every open
    /// questionnaire and queues `messages` (the therapist told), in one transaction.
    /// Returns whether anything changed.
    async fn set_measures_stopped(
        &self,
        practice: PracticeId,
        client: ClientId,
        stop: bool,
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Withdraw a contract's open questionnaires (the work ended).
    async fn withdraw_questionnaires(
        &self,
        practice: PracticeId,
        contract: ContractId,
        now: Timestamp,
    ) -> StoreResult<()>;
}
