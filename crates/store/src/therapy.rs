//! Clients and the therapy contract: rows and the store's operations on them.

use async_trait::async_trait;
use domain::{
    ContactPreference, EmailAddress, Pence, PersonName, PhoneNumber, Slug,
    availability::AwayPeriod as AwayTimes,
    therapy::{
        ContractTerms, TherapySettings,
        policy::{CancellationPolicy, Outcome},
        schedule::{Kept, Planned},
        sessions::{SessionFacts, Standing},
    },
};
use jiff::{Timestamp, civil::Date};
use serde::Serialize;

use crate::{AwayId, BookingId, NewMessage, PracticeId, StoreResult};

crate::model::id_type!(/// A client of the practice.
    ClientId);
crate::model::id_type!(/// A contract (all its versions).
    ContractId);
crate::model::id_type!(/// One session.
    SessionId);
crate::model::id_type!(/// A charge for one session.
    ChargeId);
crate::model::id_type!(/// An invoice.
    InvoiceId);

/// A client's details as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    pub name: PersonName,
    pub email: EmailAddress,
    pub phone: Option<PhoneNumber>,
    pub contact_preference: ContactPreference,
    /// Session reminders by email.
    pub reminders: bool,
}

/// A client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub name: PersonName,
    pub email: EmailAddress,
    pub phone: Option<PhoneNumber>,
    pub contact_preference: ContactPreference,
    pub reminders: bool,
    /// Still working together.
    pub active: bool,
    /// The consultation the work came from, if it did.
    pub consultation: Option<BookingId>,
    pub created_at: Timestamp,
}

/// One version of a contract.
#[derive(Debug, Clone)]
pub struct ContractVersion {
    pub version: u32,
    pub terms: ContractTerms,
    /// Sessions from this instant on follow this version.
    pub effective_from: Timestamp,
    /// Why it changed (empty for the first).
    pub note: String,
    pub created_at: Timestamp,
}

/// A contract with every version, oldest first (there is always at least one).
#[derive(Debug, Clone)]
pub struct Contract {
    pub id: ContractId,
    pub client: ClientId,
    pub active: bool,
    pub versions: Vec<ContractVersion>,
    pub created_at: Timestamp,
}

impl Contract {
    /// The version in force now (the latest).
    pub fn current(&self) -> &ContractVersion {
        self.versions
            .last()
            .expect("a stored contract has at least one version")
    }
}

/// Where a session is: yet to happen, in a break, or what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "outcome")]
pub enum SessionStatus {
    Scheduled,
    /// It falls in one of the therapist's breaks: not happening, not charged.
    Break,
    /// What happened, as recorded.
    Done(Outcome),
}

impl SessionStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Break => "break",
            Self::Done(outcome) => outcome.as_str(),
        }
    }

    /// Parse the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "scheduled" => Some(Self::Scheduled),
            "break" => Some(Self::Break),
            other => Outcome::parse(other).map(Self::Done),
        }
    }

    /// Whether the session counts towards the contract's numbering (and holds its time).
    pub fn counts(self) -> bool {
        matches!(
            self,
            Self::Scheduled
                | Self::Done(Outcome::Attended | Outcome::LateCancellation | Outcome::DidNotAttend)
        )
    }

    /// Where the session stands, as the domain's session rules need it.
    pub fn standing(self) -> Standing {
        match self {
            Self::Scheduled => Standing::Scheduled,
            Self::Break => Standing::Break,
            Self::Done(_) => Standing::Done {
                counts: self.counts(),
            },
        }
    }

    /// "Scheduled", "Break", "Attended", "Late cancellation"…
    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "Scheduled",
            Self::Break => "Break",
            Self::Done(outcome) => outcome.label(),
        }
    }
}

/// A charge: what the policy said about a session, with the rule that said it.
#[derive(Debug, Clone, Serialize)]
pub struct Charge {
    pub id: ChargeId,
    pub amount: Pence,
    pub rule: String,
    pub policy_version: u32,
    pub used_free_allowance: bool,
    /// Waived, with the reason and when.
    pub waived: Option<(String, Timestamp)>,
    pub invoice: Option<InvoiceId>,
}

impl Charge {
    /// What is owed after any waiver.
    pub fn owed(&self) -> Pence {
        if self.waived.is_some() {
            Pence::new(0)
        } else {
            self.amount
        }
    }
}

/// One session, with whose it is.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub contract: ContractId,
    pub client: ClientId,
    pub client_name: PersonName,
    pub location: Slug,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The regular time it stands for.
    pub occurrence: Timestamp,
    /// Moved on its own, away from the regular time.
    pub moved: bool,
    pub status: SessionStatus,
    /// "Session 4": its place among the contract's sessions that count.
    pub number: Option<u32>,
    pub fee: Pence,
    /// When the client said they could not come.
    pub told_at: Option<Timestamp>,
    pub uid: String,
    pub sequence: u32,
    pub charge: Option<Charge>,
}

/// A client's sessions around now (see `TherapyStore::client_sessions_around`).
#[derive(Debug, Clone, Default)]
pub struct ClientSessions {
    /// After now, earliest first.
    pub coming: Vec<Session>,
    /// At or before now, newest first (perhaps only the latest few).
    pub past: Vec<Session>,
    /// How many sessions there are at or before now.
    pub past_total: u32,
}

impl Session {
    /// The facts the domain's session rules need (`domain::therapy::sessions`).
    pub fn facts(&self) -> SessionFacts {
        SessionFacts {
            start: self.start,
            occurrence: self.occurrence,
            standing: self.status.standing(),
            moved: self.moved,
            number: self.number,
        }
    }

    /// The invoice line for this session's charge (`None` without one): "Session 4, Monday
    /// 12 April 2027 at 9am" or "Late cancellation, …", with the rule and what is owed.
    /// `when` is the session's start as people read it.
    pub fn invoice_line(&self, when: &str) -> Option<InvoiceLine> {
        let charge = self.charge.as_ref()?;
        let description = match (self.status, self.number) {
            (SessionStatus::Done(Outcome::Attended), Some(n)) => format!("Session {n}, {when}"),
            (SessionStatus::Done(Outcome::Attended), None) => format!("Session, {when}"),
            (status, _) => format!("{}, {when}", status.label()),
        };
        Some(InvoiceLine {
            description,
            detail: charge.rule.clone(),
            amount: charge.owed(),
        })
    }
}

/// What to store when an outcome is recorded (the domain's rule makes it:
/// `domain::therapy::outcome::charge_for`).
pub use domain::therapy::outcome::NewCharge;

/// Plans a contract's sessions: `(terms, sessions kept, from)` → the sessions to add
/// (see `domain::therapy::schedule::plan`; the caller closes over the zone and breaks).
pub type Planner = dyn Fn(&ContractTerms, &[Kept], Timestamp) -> Vec<Planned> + Send + Sync;

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    /// "Session 4, Monday 12 April 2027 at 9am".
    pub description: String,
    /// The rule that produced the charge.
    pub detail: String,
    pub amount: Pence,
}

/// An invoice about to be made.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub client: ClientId,
    pub issued_on: Date,
    pub due_on: Date,
    /// "April 2027" or "Monday 12 April 2027".
    pub period: String,
    pub charges: Vec<ChargeId>,
    pub lines: Vec<InvoiceLine>,
    /// SHA-256 of the token in the client's link.
    pub token_hash: Vec<u8>,
}

/// A stored invoice.
#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    pub id: InvoiceId,
    /// Sequential per practice, from 1.
    pub number: u32,
    pub client: ClientId,
    pub client_name: String,
    pub issued_on: Date,
    pub due_on: Date,
    pub period: String,
    pub total: Pence,
    pub paid_on: Option<Date>,
    pub lines: Vec<InvoiceLine>,
}

/// What a client owes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// On invoices not yet paid.
    pub invoiced_unpaid: Pence,
    /// Owed for sessions already held or charged, not yet invoiced.
    pub not_invoiced: Pence,
}

/// Writes the email that goes with a new invoice, once its number is known (`None`: no email).
pub type InvoiceEmail<'a> = dyn Fn(&Invoice) -> Option<NewMessage> + Send + Sync + 'a;

/// A change to the therapist's breaks (see `TherapyStore::change_break`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakChange {
    /// Add a break from `start` to `end`; each client with a session in it is told at
    /// `notify_at` (the practice's notice ahead of the break, or now if that has passed).
    Add {
        label: String,
        start: Timestamp,
        end: Timestamp,
        notify_at: Timestamp,
    },
    /// Remove a break: its sessions are planned back in.
    Remove(AwayId),
}

/// A consultation that did not lead to work together.
pub const NOT_GOING_AHEAD: &str = "not_going_ahead";

/// Clients, contracts, sessions, the cancellation policy and charges.
#[async_trait]
pub trait TherapyStore: Send + Sync {
    /// Reminders, break notices and invoicing.
    async fn therapy_settings(&self, practice: PracticeId) -> StoreResult<TherapySettings>;
    /// Change them.
    async fn update_therapy_settings(
        &self,
        practice: PracticeId,
        settings: &TherapySettings,
    ) -> StoreResult<()>;

    /// Charges owed and not yet on an invoice (not waived, more than nothing), with their
    /// sessions, earliest first; only sessions that started before `before`.
    async fn uninvoiced_charges(
        &self,
        practice: PracticeId,
        client: Option<ClientId>,
        before: Timestamp,
    ) -> StoreResult<Vec<Session>>;
    /// In one transaction: take the practice's next invoice number, store the invoice and
    /// its lines, mark its charges invoiced, and queue the email `email` writes for it.
    /// Numbers are sequential with no gaps: one refused (`Conflict(ConflictKind::ChargesChanged)`
    /// when a charge was invoiced or waived meanwhile) uses none. The practice's counter is
    /// locked from taking the number until commit, against every writer of the database
    /// (crate docs, "Several writers").
    async fn create_invoice(
        &self,
        practice: PracticeId,
        invoice: &NewInvoice,
        email: &InvoiceEmail<'_>,
        now: Timestamp,
    ) -> StoreResult<Invoice>;
    /// Invoices, newest first; of one client or all.
    async fn invoices(
        &self,
        practice: PracticeId,
        client: Option<ClientId>,
    ) -> StoreResult<Vec<Invoice>>;
    /// One invoice.
    async fn invoice(&self, practice: PracticeId, id: InvoiceId) -> StoreResult<Invoice>;
    /// This practice's invoice by the hash of its link's token (another practice's token,
    /// in the same database, finds nothing).
    async fn invoice_by_token(
        &self,
        practice: PracticeId,
        token_hash: &[u8],
    ) -> StoreResult<Option<Invoice>>;
    /// Replace the invoice link's token (the old link stops working), queueing `messages`.
    async fn set_invoice_token(
        &self,
        practice: PracticeId,
        id: InvoiceId,
        token_hash: &[u8],
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Mark paid on a date, or (with `None`) unpaid.
    async fn set_invoice_paid(
        &self,
        practice: PracticeId,
        id: InvoiceId,
        paid_on: Option<Date>,
    ) -> StoreResult<()>;
    /// What a client owes.
    async fn balance(&self, practice: PracticeId, client: ClientId) -> StoreResult<Balance>;
    /// The policy `version`, or with `None` the current (latest) one.
    async fn policy(
        &self,
        practice: PracticeId,
        version: Option<u32>,
    ) -> StoreResult<CancellationPolicy>;
    /// Store a new version of the policy (its `version` field is ignored); returns the number.
    async fn add_policy(
        &self,
        practice: PracticeId,
        policy: &CancellationPolicy,
        now: Timestamp,
    ) -> StoreResult<u32>;

    /// Add a client; with `consultation`, that booking's outcome becomes "working together".
    async fn create_client(
        &self,
        practice: PracticeId,
        client: &NewClient,
        consultation: Option<BookingId>,
        now: Timestamp,
    ) -> StoreResult<ClientId>;
    /// Change a client's details.
    async fn update_client(
        &self,
        practice: PracticeId,
        id: ClientId,
        client: &NewClient,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Every client, active first, by name.
    async fn clients(&self, practice: PracticeId) -> StoreResult<Vec<Client>>;
    /// One client.
    async fn client(&self, practice: PracticeId, id: ClientId) -> StoreResult<Client>;
    /// Record that a consultation is not going ahead, queueing `messages` with it.
    async fn consultation_not_going_ahead(
        &self,
        practice: PracticeId,
        booking: BookingId,
        messages: &[NewMessage],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// What came of a consultation: `working_together` (and the client) or `not_going_ahead`.
    async fn consultation_outcome(
        &self,
        practice: PracticeId,
        booking: BookingId,
    ) -> StoreResult<Option<(String, Option<ClientId>)>>;

    /// A client's contracts, newest first.
    async fn contracts(&self, practice: PracticeId, client: ClientId)
    -> StoreResult<Vec<Contract>>;
    /// One contract.
    async fn contract(&self, practice: PracticeId, id: ContractId) -> StoreResult<Contract>;
    /// In one transaction: open a contract for `client` (when `contract` is `None`) or add a
    /// new version to it, in force from `from`; replace the contract's scheduled, unmoved
    /// sessions starting at or after `from` (and after `now`: the past is never touched)
    /// with what `planner` plans. A planned session that clashes with any other appointment
    /// is `Conflict(ConflictKind::AppointmentsOverlap)` and nothing is stored (the
    /// occupancy rule, crate docs).
    #[allow(clippy::too_many_arguments)]
    async fn save_contract(
        &self,
        practice: PracticeId,
        client: ClientId,
        contract: Option<ContractId>,
        terms: &ContractTerms,
        note: &str,
        from: Timestamp,
        planner: &Planner,
        now: Timestamp,
    ) -> StoreResult<ContractId>;
    /// Plan the contract's future again under its current version (after a break changed,
    /// or a session stopped counting).
    async fn replan(
        &self,
        practice: PracticeId,
        contract: ContractId,
        planner: &Planner,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// End a contract: its future scheduled sessions are removed.
    async fn end_contract(
        &self,
        practice: PracticeId,
        contract: ContractId,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Every active contract of the practice.
    async fn active_contracts(&self, practice: PracticeId) -> StoreResult<Vec<Contract>>;

    /// Sessions of every client starting in `[from, to)`, earliest first.
    async fn sessions_between(
        &self,
        practice: PracticeId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<Session>>;
    /// Every session of a client, earliest first.
    async fn client_sessions(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<Session>>;
    /// A client's sessions as their page shows them: the first `coming` after `now` (all
    /// with `None`), earliest first; the latest `past` at or before `now` (all with `None`),
    /// newest first; and how many there are at or before `now` in all.
    async fn client_sessions_around(
        &self,
        practice: PracticeId,
        client: ClientId,
        now: Timestamp,
        coming: Option<u32>,
        past: Option<u32>,
    ) -> StoreResult<ClientSessions>;
    /// One session.
    async fn therapy_session(&self, practice: PracticeId, id: SessionId) -> StoreResult<Session>;
    /// Move one session (it stays the same session; its regular time is remembered).
    /// `Conflict(ConflictKind::AppointmentsOverlap)` if the new time clashes.
    async fn move_session(
        &self,
        practice: PracticeId,
        id: SessionId,
        location: &Slug,
        start: Timestamp,
        end: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Session>;
    /// Record what happened at a session and its charge, then plan the contract again (a
    /// brief contract grows by a session when one stops counting), in one transaction.
    async fn record_outcome(
        &self,
        practice: PracticeId,
        id: SessionId,
        charge: &NewCharge,
        planner: &Planner,
        now: Timestamp,
    ) -> StoreResult<Session>;
    /// Waive a charge not yet invoiced, keeping the reason.
    async fn waive_charge(
        &self,
        practice: PracticeId,
        id: ChargeId,
        reason: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Session starts of the client's late cancellations that used the free allowance.
    async fn free_late_cancellations(
        &self,
        practice: PracticeId,
        client: ClientId,
    ) -> StoreResult<Vec<Timestamp>>;
    /// Change the breaks and everything that follows from them, in ONE transaction: add the
    /// break (marking the scheduled sessions in it as in a break) or remove it; plan every
    /// active contract again with `planner`, which must already know the breaks as changed
    /// (brief work moves its ending; a removed break's sessions come back); and, for an added
    /// break, plan a notice to each client with a session in it. A planned session that
    /// clashes with another appointment is `Conflict(ConflictKind::AppointmentsOverlap)` and
    /// nothing at all is stored: not the break, not one session, not a notice. Removing a
    /// break that is not there is `NotFound`. Returns the break added or removed.
    async fn change_break(
        &self,
        practice: PracticeId,
        change: &BreakChange,
        planner: &Planner,
        now: Timestamp,
    ) -> StoreResult<AwayId>;
    /// Mark scheduled sessions overlapping `away` as in a break (every contract).
    async fn mark_break(
        &self,
        practice: PracticeId,
        away: &AwayTimes,
    ) -> StoreResult<Vec<ClientId>>;
    /// Plan to tell each client about a break at a time (once per break and client).
    async fn add_break_notices(
        &self,
        practice: PracticeId,
        away: AwayId,
        notices: &[(ClientId, Timestamp)],
    ) -> StoreResult<()>;
    /// Break notices due to be sent: (practice, break, client).
    async fn break_notices_due(
        &self,
        now: Timestamp,
    ) -> StoreResult<Vec<(PracticeId, AwayId, ClientId)>>;
    /// Queue a break notice's email and mark it sent, in one transaction.
    async fn send_break_notice(
        &self,
        practice: PracticeId,
        away: AwayId,
        client: ClientId,
        message: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Scheduled sessions starting in `[from, to)` that need a reminder (the client wants
    /// reminders and none has been sent), with the client's email address.
    async fn session_reminders_due(
        &self,
        practice: PracticeId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<(Session, EmailAddress)>>;
    /// Queue a session reminder and mark the session reminded, in one transaction (nothing
    /// happens if it was reminded already or is no longer scheduled).
    async fn send_session_reminder(
        &self,
        practice: PracticeId,
        session: SessionId,
        message: &NewMessage,
        now: Timestamp,
    ) -> StoreResult<()>;
}
