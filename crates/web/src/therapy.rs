//! The regular work with clients, shared by the back office, the portal, the operations and
//! the jobs: the session planner, the charge for a session, invoicing, and the emails
//! (session reminders, break notices, invoices). Changes that touch several records are in
//! [`crate::operations`].
//!
//! The emails are neutral: the practice's name, a time and a place, nothing about the therapy,
//! because an email can be read by someone other than the client.

use domain::{
    EmailAddress, Slug,
    availability::AwayPeriod,
    practice::Location,
    therapy::{
        ContractKind, InvoiceMode, TherapySettings,
        outcome::{NewCharge, charge_for},
        policy::{CancellationPolicy, Recorded},
        schedule::plan,
    },
};
use jiff::{
    Timestamp, ToSpan,
    civil::{Date, Time},
    tz::TimeZone,
};
use store::{
    Client, Contract, ContractVersion, Invoice, NewInvoice, NewMessage, Planner, Session,
    SessionStatus, StoreError,
};

use crate::{
    Here, WebError,
    booking::messages::{URGENT_HELP, place_line},
    error::WebResult,
};
use crate::{secret_token::SecretToken, words};

/// The practice with its time zone and places: what every page and email about the work
/// with clients shows times and locations with.
pub(crate) struct PracticeView {
    pub practice: store::Practice,
    pub zone: TimeZone,
    pub locations: Vec<Location>,
}

impl PracticeView {
    pub async fn load(state: &Here) -> WebResult<Self> {
        let id = state.practice_id();
        let practice = state.store().practice(id).await?;
        let zone =
            TimeZone::get(&practice.details.time_zone).map_err(|e| WebError::Internal(e.into()))?;
        let locations = state.store().locations(id).await?;
        Ok(Self {
            practice,
            zone,
            locations,
        })
    }

    /// Today in the practice's zone.
    pub fn today(&self, now: Timestamp) -> Date {
        self.zone.to_datetime(now).date()
    }

    /// The first instant of a local date.
    pub fn start_of(&self, date: Date) -> WebResult<Timestamp> {
        date.to_zoned_datetime(self.zone.clone())
            .map(|z| z.timestamp())
            .map_err(|e| WebError::Internal(e.into()))
    }

    /// A local date and time as an instant (a time in the spring gap moves forward).
    pub fn instant(&self, date: Date, time: Time) -> Option<Timestamp> {
        self.zone
            .to_ambiguous_timestamp(date.to_datetime(time))
            .compatible()
            .ok()
    }

    /// "Monday 29 March 2027 at 9am".
    pub fn when(&self, at: Timestamp) -> String {
        words::weekday_date_at(self.zone.to_datetime(at))
    }

    /// "Monday 12 April at 9am" (lists, where the year is plain from the context).
    pub fn when_short(&self, at: Timestamp) -> String {
        let local = self.zone.to_datetime(at);
        format!(
            "{} at {}",
            words::weekday_day_month(local.date()),
            words::clock(local.time())
        )
    }

    /// "Monday 28 June 2027".
    pub fn day(&self, at: Timestamp) -> String {
        words::weekday_date(self.zone.to_datetime(at).date())
    }

    /// A location's name, or its slug if it has since been removed.
    pub fn place(&self, slug: &Slug) -> String {
        self.locations
            .iter()
            .find(|l| &l.slug == slug)
            .map_or_else(|| slug.to_string(), |l| l.name.clone())
    }

    /// Every location's slug, for the contract form's parser.
    pub fn slugs(&self) -> Vec<Slug> {
        self.locations.iter().map(|l| l.slug.clone()).collect()
    }

    /// `(slug, name)` of every location, for a select.
    pub fn choices(&self) -> Vec<(String, String)> {
        self.locations
            .iter()
            .map(|l| (l.slug.to_string(), l.name.clone()))
            .collect()
    }
}

/// The version of a contract a session at `occurrence` follows.
pub(crate) fn version_at(contract: &Contract, occurrence: Timestamp) -> &ContractVersion {
    contract
        .versions
        .iter()
        .rev()
        .find(|v| v.effective_from <= occurrence)
        .unwrap_or_else(|| contract.versions.first().unwrap_or(contract.current()))
}

/// "Session 4 of 12" (brief work) or "Session 37"; empty for a session that does not count.
pub(crate) fn number_label(contract: Option<&Contract>, session: &Session) -> String {
    let Some(number) = session.number else {
        return String::new();
    };
    match contract.map(|c| &version_at(c, session.occurrence).terms.kind) {
        Some(ContractKind::Brief { sessions, .. }) => format!("Session {number} of {sessions}"),
        _ => format!("Session {number}"),
    }
}

/// What recording `recorded` at `session` stores, with the policy that decided it: the policy
/// version the client agreed for the session (the contract version it follows; the current
/// policy if that version is gone), counting the client's earlier free late cancellations
/// (`domain::therapy::outcome::charge_for`). The office recording an outcome and the client
/// cancelling in the portal both ask here, so they always agree.
pub(crate) async fn charge_for_session(
    state: &Here,
    contract: &Contract,
    session: &Session,
    recorded: Recorded,
) -> WebResult<(CancellationPolicy, NewCharge)> {
    let practice = state.practice_id();
    let version = version_at(contract, session.occurrence)
        .terms
        .policy_version;
    let policy = match state.store().policy(practice, Some(version)).await {
        Ok(policy) => policy,
        Err(StoreError::NotFound) => state.store().policy(practice, None).await?,
        Err(other) => return Err(other.into()),
    };
    let earlier = state
        .store()
        .free_late_cancellations(practice, session.client)
        .await?;
    let charge = charge_for(&policy, session.fee, session.start, recorded, &earlier);
    Ok((policy, charge))
}

/// "Reminder: Monday 12 April 2027 at 9am", with where and how to say you cannot come, and
/// where to see or cancel sessions (`public_url` is the site's address).
pub(crate) fn session_reminder(
    view: &PracticeView,
    session: &Session,
    to: &EmailAddress,
    public_url: &str,
    questionnaire: bool,
) -> Option<NewMessage> {
    let location = view.locations.iter().find(|l| l.slug == session.location)?;
    let questionnaire = if questionnaire {
        format!(
            "Before it, please fill in the short questionnaire we agreed: {public_url}/portal/sign-in\n\n"
        )
    } else {
        String::new()
    };
    let when = view.when(session.start);
    let first_name = session
        .client_name
        .as_str()
        .split_whitespace()
        .next()
        .unwrap_or("");
    Some(NewMessage {
        kind: "session_reminder".into(),
        to: to.clone(),
        subject: format!("Reminder: {when}"),
        body_text: format!(
            "Dear {first_name},\n\nA reminder of your appointment with {practice}.\n\n\
             When:  {when} (UK time)\nWhere: {place}\n\n\
             {questionnaire}If you cannot come, please let me know as soon as you can.\n\n\
             See or cancel your appointments: {public_url}/portal/sign-in\n\n{practice}\n\n\
             You can ask me to stop these reminders at any time.\n",
            practice = view.practice.details.name,
            place = place_line(location),
        ),
        calendar: None,
    })
}

/// The notice of a break: the dates, which appointments will not take place, and the
/// next one after it.
pub(crate) fn break_notice(
    view: &PracticeView,
    client: &Client,
    (start, end): (Timestamp, Timestamp),
    sessions: &[Session],
) -> NewMessage {
    let day = |at: Timestamp| view.day(at);
    let last = end
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap_or(end);
    let (first_day, last_day) = (day(start), day(last));
    let missed: Vec<String> = sessions
        .iter()
        .filter(|s| s.status == SessionStatus::Break && s.start >= start && s.start < end)
        .map(|s| format!("- {}", view.when(s.start)))
        .collect();
    let next = sessions
        .iter()
        .find(|s| s.start >= end && s.status == SessionStatus::Scheduled)
        .map(|s| {
            format!(
                "Your next appointment after the break is {} (UK time).\n\n",
                view.when(s.start)
            )
        })
        .unwrap_or_default();
    let missed = if missed.is_empty() {
        String::new()
    } else {
        format!(
            "These appointments will not take place, and there is nothing to pay for them:\n{}\n\n",
            missed.join("\n")
        )
    };
    let first_name = client.name.as_str().split_whitespace().next().unwrap_or("");
    NewMessage {
        kind: "break_notice".into(),
        to: client.email.clone(),
        subject: format!("No appointments from {first_day} to {last_day}"),
        body_text: format!(
            "Dear {first_name},\n\nI will be taking a break from {first_day} to {last_day}, \
             so there will be no appointments in that time.\n\n{missed}{next}\
             If you need help urgently while I am away: {URGENT_HELP}\n\n{}\n",
            view.practice.details.name
        ),
        calendar: None,
    }
}

/// The planner for the practice's contracts as things stand: its time zone and breaks;
/// open-ended work is planned a little over a year ahead, longer than any booking horizon,
/// so a consultation can never be booked over a regular session.
pub(crate) async fn planner(state: &Here) -> WebResult<Box<Planner>> {
    let breaks: Vec<AwayPeriod> = state
        .store()
        .away_periods(state.practice_id())
        .await?
        .into_iter()
        .map(|a| AwayPeriod {
            start: a.start,
            end: a.end,
        })
        .collect();
    planner_with(state, breaks).await
}

/// The planner as [`planner`] makes it, with `breaks` instead of the stored ones: for a
/// change of breaks, planned before it is stored.
pub(crate) async fn planner_with(state: &Here, breaks: Vec<AwayPeriod>) -> WebResult<Box<Planner>> {
    let practice = state.store().practice(state.practice_id()).await?;
    let zone =
        TimeZone::get(&practice.details.time_zone).map_err(|e| WebError::Internal(e.into()))?;
    let today = state.now().to_zoned_datetime(zone.clone()).date();
    let until = today.checked_add(PLAN_AHEAD_DAYS.days()).unwrap_or(today);
    Ok(Box::new(move |terms, kept, from| {
        plan(terms, &zone, &breaks, kept, from, until)
    }))
}

/// How far ahead open-ended work is planned.
const PLAN_AHEAD_DAYS: i64 = 400;

/// Invoice `sessions` (all one client's, each with an uninvoiced charge) for `period`, and
/// email the client a link to it. Returns the invoice and the link.
pub(crate) async fn invoice_sessions(
    state: &Here,
    view: &PracticeView,
    settings: &TherapySettings,
    client: &Client,
    sessions: &[Session],
    period: String,
) -> WebResult<(Invoice, String)> {
    let store = state.store();
    let practice = state.practice_id();
    let now = state.now();
    let today = view.today(now);
    let due = today
        .checked_add(i64::from(settings.payment_terms_days).days())
        .unwrap_or(today);
    let token = SecretToken::generate();
    let url = invoice_url(state, &token);
    let email = |invoice: &Invoice| Some(invoice_email(view, client, invoice, &url, settings));
    let invoice = store
        .create_invoice(
            practice,
            &NewInvoice {
                client: client.id,
                issued_on: today,
                due_on: due,
                period,
                charges: sessions
                    .iter()
                    .filter_map(|s| s.charge.as_ref().map(|c| c.id))
                    .collect(),
                lines: sessions
                    .iter()
                    .filter_map(|s| s.invoice_line(&view.when(s.start)))
                    .collect(),
                token_hash: token.hash(),
            },
            &email,
            now,
        )
        .await?;
    Ok((invoice, url))
}

/// The client's link to an invoice.
pub(crate) fn invoice_url(state: &Here, token: &SecretToken) -> String {
    format!("{}/invoice/{token}", state.public_url())
}

/// The email with an invoice's link: the amount and due date, never what it was for.
pub(crate) fn invoice_email(
    view: &PracticeView,
    client: &Client,
    invoice: &Invoice,
    url: &str,
    settings: &TherapySettings,
) -> NewMessage {
    let first_name = client.name.as_str().split_whitespace().next().unwrap_or("");
    let practice = &view.practice.details.name;
    let pay = if settings.bank_details.trim().is_empty() {
        String::new()
    } else {
        format!(
            "To pay by bank transfer, please use invoice number {} as the reference:\n{}\n\n",
            invoice.number,
            settings.bank_details.trim()
        )
    };
    NewMessage {
        kind: "invoice".into(),
        to: client.email.clone(),
        subject: format!("Invoice {} from {practice}", invoice.number),
        body_text: format!(
            "Dear {first_name},\n\nYour invoice {} for {} is ready: {}, due by {}.\n\n\
             You can see and print it here:\n{url}\n\n{pay}Thank you.\n\n{practice}\n",
            invoice.number,
            invoice.period,
            invoice.total,
            words::date(invoice.due_on),
        ),
        calendar: None,
    }
}

/// At the start of a month (monthly invoicing): invoice each client's charges for sessions
/// before the 1st. Idempotent: charges once invoiced are not seen again, and an invoice whose
/// charges another runner invoiced first is not made.
pub(crate) async fn monthly_invoices(
    state: &Here,
    view: &PracticeView,
    settings: &TherapySettings,
) -> WebResult<usize> {
    let store = state.store();
    let practice = state.practice_id();
    if settings.invoice_mode != InvoiceMode::Monthly {
        return Ok(0);
    }
    let today = view.today(state.now());
    let first = today.first_of_month();
    let cut = view.start_of(first)?;
    let owed = store.uninvoiced_charges(practice, None, cut).await?;
    let mut made = 0;
    let mut rest = owed.as_slice();
    while let Some(first_session) = rest.first() {
        let count = rest
            .iter()
            .take_while(|s| s.client == first_session.client)
            .count();
        let (theirs, others) = rest.split_at(count);
        rest = others;
        let client = store.client(practice, first_session.client).await?;
        let last_month = first.yesterday().unwrap_or(first);
        let earliest = view.zone.to_datetime(theirs[0].start).date();
        let period =
            if earliest.year() == last_month.year() && earliest.month() == last_month.month() {
                words::month(last_month)
            } else {
                format!("{} to {}", words::month(earliest), words::month(last_month))
            };
        match invoice_sessions(state, view, settings, &client, theirs, period).await {
            Ok(_) => made += 1,
            // Invoiced meanwhile by another runner (or a charge changed): nothing is made,
            // and the next run invoices whatever is still owed.
            Err(WebError::Internal(error))
                if matches!(
                    error.downcast_ref::<store::StoreError>(),
                    Some(store::StoreError::Conflict(
                        store::ConflictKind::ChargesChanged
                    ))
                ) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(made)
}

/// With per-session invoicing, invoice a session as soon as it has a charge to pay.
pub(crate) async fn invoice_if_per_session(
    state: &Here,
    view: &PracticeView,
    session: &Session,
) -> WebResult<()> {
    let store = state.store();
    let practice = state.practice_id();
    let settings = store.therapy_settings(practice).await?;
    if settings.invoice_mode != InvoiceMode::PerSession {
        return Ok(());
    }
    let owed = session
        .charge
        .as_ref()
        .is_some_and(|c| c.owed().get() > 0 && c.invoice.is_none());
    if !owed {
        return Ok(());
    }
    let client = store.client(practice, session.client).await?;
    let period = format!("the session on {}", view.day(session.start));
    invoice_sessions(
        state,
        view,
        &settings,
        &client,
        std::slice::from_ref(session),
        period,
    )
    .await?;
    state.mail_queued();
    Ok(())
}
