//! The therapy side of the demo practice: three fictional clients, one in brief work and two
//! in open-ended work, with sessions past and future, the outcomes recorded so far (with the
//! charges the cancellation policy gives them), a break, and the monthly invoices already sent.
//!
//! Everything is placed relative to `now`, so the demo looks lived-in on any date, on the real
//! clock or a pinned one. The regular times (Monday 6pm online, Tuesday 9am and Thursday 1pm at
//! Chancery Lane) never meet the demo's consultations (Tuesday 11am, Wednesday 3pm, Friday
//! 10am) or each other; should an occurrence clash anyway, it is left out rather than failing.

mod measures;

use anyhow::anyhow;
use domain::{
    ContactPreference, EmailAddress, Pence, PersonName, Slug,
    availability::AwayPeriod,
    practice::PracticeSetup,
    therapy::{
        ContractKind, ContractTerms, Frequency, InvoiceMode, TherapySettings, WeeklyTime,
        policy::{CancellationPolicy, Recorded, assess},
        schedule::{Kept, plan},
    },
};
use jiff::{
    SignedDuration, Timestamp, ToSpan,
    civil::{Date, Weekday, time},
    tz::TimeZone,
};
use sha2::{Digest, Sha256};
use store::{
    ClientId, InvoiceLine, NewCharge, NewClient, NewInvoice, Planner, PracticeId, Session,
    SessionStatus, Store, StoreError,
};

/// How far ahead open-ended work is planned: the same as the back office's planner, so that
/// planning again later gives the same sessions.
const PLAN_AHEAD_DAYS: i64 = 400;

/// The fee when the practice has no "session" appointment type.
const DEFAULT_FEE: Pence = Pence::new(7500);

/// Seed the therapy work of the demo practice (after its consultations are booked).
pub(crate) async fn seed(
    store: &dyn Store,
    practice: PracticeId,
    setup: &PracticeSetup,
    now: Timestamp,
) -> anyhow::Result<()> {
    let zone = TimeZone::get(&setup.details.time_zone)?;
    let today = now.to_zoned_datetime(zone.clone()).date();
    let demo = Demo {
        store,
        practice,
        zone,
        now,
        today,
    };
    // The practice's own fee for a therapy session (the fees page quotes it).
    let fee = setup
        .appointment_types
        .iter()
        .find(|t| t.slug.as_str() == "session")
        .map_or(DEFAULT_FEE, |t| t.fee);
    let history = days_before(now, 84);

    // 1. The cancellation policy the clients agreed: version 2, with one free late cancellation
    //    a year.
    let version = store
        .add_policy(
            practice,
            &CancellationPolicy {
                version: 0,
                notice_hours: 48,
                grace_minutes: 0,
                late_cancellation_percent: 100,
                did_not_attend_percent: 100,
                free_late_cancellations: 1,
                free_period_days: 365,
            },
            history,
        )
        .await?;
    let policy = store.policy(practice, Some(version)).await?;

    // 2. Reminders, break notices and monthly invoices (the bank account is invalid on purpose).
    let settings = TherapySettings {
        session_reminder_hours: 24,
        break_notice_days: 28,
        invoice_mode: InvoiceMode::Monthly,
        bank_details: format!(
            "{}\nSort code 00-00-00\nAccount 00000000",
            setup.details.name
        ),
        payment_terms_days: 14,
    };
    store.update_therapy_settings(practice, &settings).await?;
    demo.ensure_a_break_ahead().await?;

    // 3. Brief work: twelve weekly sessions with one agreed focus, reviewed at session 6.
    let brief = demo
        .start_work(
            Person {
                name: "Eleanor Marsh",
                email: "eleanor.marsh@example.com",
                reminders: true,
            },
            ContractTerms {
                kind: ContractKind::Brief {
                    focus: "Panic on the way to work since changing jobs in the autumn: \
                            understanding what sets it off, what it might be about, and what \
                            helps."
                        .into(),
                    sessions: 12,
                    reviews_at: vec![6],
                },
                frequency: Frequency::Weekly,
                times: vec![weekly(Weekday::Tuesday, 9)],
                location: slug("chancery-lane")?,
                minutes: 50,
                fee,
                start: on_or_after(days_ago(today, 35)?, Weekday::Tuesday)?,
                policy_version: version,
            },
        )
        .await?;
    if let Some((client, planner)) = &brief {
        for (i, session) in demo.past_sessions(*client).await?.iter().enumerate() {
            let recorded = match i {
                // Told the evening before: late, but the first this year, so free.
                2 => Recorded::ClientCancelled {
                    told_at: hours_before(session.start, 20),
                },
                _ => Recorded::Attended,
            };
            demo.record(&policy, session, recorded, &**planner).await?;
        }
    }

    // 4. Open-ended work, weekly online after work, reviewed every six weeks.
    let weekly_work = demo
        .start_work(
            Person {
                name: "Daniel Okoro",
                email: "daniel.okoro@example.com",
                reminders: true,
            },
            ContractTerms {
                kind: ContractKind::OpenEnded {
                    review_every_weeks: 6,
                },
                frequency: Frequency::Weekly,
                times: vec![weekly(Weekday::Monday, 18)],
                location: slug("online")?,
                minutes: 50,
                fee,
                start: on_or_after(days_ago(today, 70)?, Weekday::Monday)?,
                policy_version: version,
            },
        )
        .await?;
    if let Some((client, planner)) = &weekly_work {
        for (i, session) in demo.past_sessions(*client).await?.iter().enumerate() {
            let recorded = match i {
                2 => Recorded::ClientCancelled {
                    told_at: hours_before(session.start, 5 * 24),
                },
                5 => Recorded::DidNotAttend,
                7 => Recorded::TherapistCancelled,
                _ => Recorded::Attended,
            };
            let done = demo.record(&policy, session, recorded, &**planner).await?;
            if let (Recorded::DidNotAttend, Some(charge)) = (recorded, &done.charge) {
                store
                    .waive_charge(
                        practice,
                        charge.id,
                        "A family emergency that evening; Daniel rang first thing the next \
                         morning to explain.",
                        (session.end + SignedDuration::from_hours(16)).min(now),
                    )
                    .await?;
            }
        }
    }

    // 5. Open-ended work every other week at Chancery Lane; no reminders, by choice.
    let fortnightly = demo
        .start_work(
            Person {
                name: "Ruth Castellano",
                email: "ruth.castellano@example.com",
                reminders: false,
            },
            ContractTerms {
                kind: ContractKind::OpenEnded {
                    review_every_weeks: 12,
                },
                frequency: Frequency::Fortnightly,
                times: vec![weekly(Weekday::Thursday, 13)],
                location: slug("chancery-lane")?,
                minutes: 50,
                fee,
                start: on_or_after(days_ago(today, 56)?, Weekday::Thursday)?,
                policy_version: version,
            },
        )
        .await?;
    if let Some((client, planner)) = &fortnightly {
        for session in demo.past_sessions(*client).await? {
            demo.record(&policy, &session, Recorded::Attended, &**planner)
                .await?;
        }
    }

    // 6. Measures agreed in the contracts and answered so far, and earlier clients' ended
    //    work for the outcomes page.
    measures::seed(
        &demo,
        brief.as_ref().map(|(client, _)| *client),
        weekly_work.as_ref().map(|(client, _)| *client),
        &policy,
        fee,
    )
    .await?;

    // 7. Each month's invoices as the monthly job would have made them; the brief client has
    //    paid the latest, the others not yet.
    demo.invoices(&settings, brief.as_ref().map(|(client, _)| *client))
        .await?;
    // 8. The clients with sessions in the next break are told about it.
    demo.break_notices(&settings).await
}

/// What the seeding steps share.
struct Demo<'a> {
    store: &'a dyn Store,
    practice: PracticeId,
    zone: TimeZone,
    now: Timestamp,
    today: Date,
}

/// A fictional client.
struct Person<'p> {
    name: &'p str,
    email: &'p str,
    reminders: bool,
}

impl Demo<'_> {
    /// The first instant of a local date.
    fn start_of(&self, date: Date) -> anyhow::Result<Timestamp> {
        Ok(date.to_zoned_datetime(self.zone.clone())?.timestamp())
    }

    /// If no break is coming (the practice file's breaks are all past), add a week away six
    /// weeks or so ahead, so the demo always shows one.
    async fn ensure_a_break_ahead(&self) -> anyhow::Result<()> {
        let away = self.store.away_periods(self.practice).await?;
        if away.iter().any(|a| a.end > self.now) {
            return Ok(());
        }
        let first = on_or_after(self.today.checked_add(42.days())?, Weekday::Monday)?;
        let back = first.checked_add(7.days())?;
        self.store
            .add_away_period(
                self.practice,
                "Short break",
                self.start_of(first)?,
                self.start_of(back)?,
            )
            .await?;
        Ok(())
    }

    /// The session planner, as the back office builds it (the practice's zone and breaks,
    /// open-ended work planned 400 days ahead), except that an occurrence clashing with an
    /// appointment already there is left out instead of refusing the whole contract.
    async fn planner(&self, from: Timestamp) -> anyhow::Result<Box<Planner>> {
        let breaks: Vec<AwayPeriod> = self
            .store
            .away_periods(self.practice)
            .await?
            .into_iter()
            .map(|a| AwayPeriod {
                start: a.start,
                end: a.end,
            })
            .collect();
        let until = self.today.checked_add(PLAN_AHEAD_DAYS.days())?;
        let horizon = self.start_of(until.checked_add(PLAN_AHEAD_DAYS.days())?)?;
        let busy: Vec<AwayPeriod> = self
            .store
            .busy_between(self.practice, days_before(from, 1), horizon)
            .await?
            .into_iter()
            .map(|b| AwayPeriod {
                start: b.start,
                end: b.end,
            })
            .collect();
        let zone = self.zone.clone();
        Ok(Box::new(
            move |terms: &ContractTerms, kept: &[Kept], from: Timestamp| {
                // Appointments in the way count as breaks, so brief work still gets all its
                // sessions; then only the real breaks are kept as such.
                let blocked: Vec<AwayPeriod> = breaks.iter().chain(&busy).cloned().collect();
                plan(terms, &zone, &blocked, kept, from, until)
                    .into_iter()
                    .filter(|p| {
                        !p.in_break
                            || breaks
                                .iter()
                                .any(|b| b.start < b.end && b.start < p.end && p.start < b.end)
                    })
                    .collect()
            },
        ))
    }

    /// Add a client a week or so before the work starts (after the consultation) and agree the
    /// contract the day before it, planning every session from the start. `None` if the
    /// sessions cannot be placed after all.
    async fn start_work(
        &self,
        person: Person<'_>,
        terms: ContractTerms,
    ) -> anyhow::Result<Option<(ClientId, Box<Planner>)>> {
        let from = self.start_of(terms.start)?;
        let agreed = days_before(from, 1);
        let client = self
            .store
            .create_client(
                self.practice,
                &NewClient {
                    name: PersonName::parse(person.name).map_err(|e| anyhow!("{e}"))?,
                    email: EmailAddress::parse(person.email).map_err(|e| anyhow!("{e}"))?,
                    phone: None,
                    contact_preference: ContactPreference::Email,
                    reminders: person.reminders,
                },
                None,
                days_before(from, 8) + SignedDuration::from_hours(10),
            )
            .await?;
        let planner = self.planner(from).await?;
        match self
            .store
            .save_contract(
                self.practice,
                client,
                None,
                &terms,
                "",
                from,
                &*planner,
                agreed,
            )
            .await
        {
            Ok(_) => Ok(Some((client, planner))),
            Err(StoreError::Conflict(why)) => {
                tracing::warn!(
                    why = why.as_str(),
                    client = person.name,
                    "demo contract left out"
                );
                Ok(None)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The client's sessions that have ended and wait for an outcome, earliest first.
    async fn past_sessions(&self, client: ClientId) -> anyhow::Result<Vec<Session>> {
        Ok(self
            .store
            .client_sessions(self.practice, client)
            .await?
            .into_iter()
            .filter(|s| s.status == SessionStatus::Scheduled && s.end <= self.now)
            .collect())
    }

    /// Record what happened at a session, charged as the policy says.
    async fn record(
        &self,
        policy: &CancellationPolicy,
        session: &Session,
        recorded: Recorded,
        planner: &Planner,
    ) -> anyhow::Result<Session> {
        let earlier_free = self
            .store
            .free_late_cancellations(self.practice, session.client)
            .await?;
        let assessed = assess(policy, session.fee, session.start, recorded, &earlier_free);
        let told_at = match recorded {
            Recorded::ClientCancelled { told_at } => Some(told_at),
            _ => None,
        };
        Ok(self
            .store
            .record_outcome(
                self.practice,
                session.id,
                &NewCharge {
                    outcome: assessed.outcome,
                    told_at,
                    amount: assessed.charge,
                    rule: assessed.rule,
                    policy_version: policy.version,
                    used_free_allowance: assessed.used_free_allowance,
                },
                planner,
                self.now,
            )
            .await?)
    }

    /// One invoice per client for each month before this one, issued on the 1st of the month
    /// after (as the monthly job does, so it finds nothing left to invoice), numbered in order.
    /// Older invoices are paid; of last month's, only `paying`'s.
    async fn invoices(
        &self,
        settings: &TherapySettings,
        paying: Option<ClientId>,
    ) -> anyhow::Result<()> {
        let this_month = self.today.first_of_month();
        let last_month = this_month.yesterday()?.first_of_month();
        let owed = self
            .store
            .uninvoiced_charges(self.practice, None, self.start_of(this_month)?)
            .await?;
        let mut groups: std::collections::BTreeMap<(Date, ClientId), Vec<Session>> =
            std::collections::BTreeMap::new();
        for session in owed {
            let month = session
                .start
                .to_zoned_datetime(self.zone.clone())
                .date()
                .first_of_month();
            groups
                .entry((month, session.client))
                .or_default()
                .push(session);
        }
        for ((month, client), sessions) in groups {
            let issued = month.checked_add(1.month())?;
            let due = issued.checked_add(i64::from(settings.payment_terms_days).days())?;
            let token: String = rand::random::<[u8; 32]>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let invoice = self
                .store
                .create_invoice(
                    self.practice,
                    &NewInvoice {
                        client,
                        issued_on: issued,
                        due_on: due,
                        period: month.strftime("%B %Y").to_string(),
                        charges: sessions
                            .iter()
                            .filter_map(|s| s.charge.as_ref().map(|c| c.id))
                            .collect(),
                        lines: sessions.iter().filter_map(|s| self.line(s)).collect(),
                        token_hash: Sha256::digest(token.as_bytes()).to_vec(),
                    },
                    // The demo's invoices were "sent" before it started: no new email.
                    &|_| None,
                    (self.start_of(issued)? + SignedDuration::from_hours(8)).min(self.now),
                )
                .await?;
            let paid_after = if month < last_month {
                Some(5)
            } else if Some(client) == paying {
                Some(3)
            } else {
                None
            };
            if let Some(days) = paid_after {
                let paid = issued.checked_add(days.days())?.min(self.today);
                self.store
                    .set_invoice_paid(self.practice, invoice.id, Some(paid))
                    .await?;
            }
        }
        Ok(())
    }

    /// An invoice line, worded as the back office words them.
    fn line(&self, session: &Session) -> Option<InvoiceLine> {
        session.invoice_line(&when(&self.zone, session.start))
    }

    /// Plan to tell each client with a session in the next break (or the one under way),
    /// the practice's notice ahead of it, or now if that has passed.
    async fn break_notices(&self, settings: &TherapySettings) -> anyhow::Result<()> {
        let Some(away) = self
            .store
            .away_periods(self.practice)
            .await?
            .into_iter()
            .filter(|a| a.end > self.now)
            .min_by_key(|a| a.start)
        else {
            return Ok(());
        };
        let send_at = days_before(away.start, i64::from(settings.break_notice_days)).max(self.now);
        let mut clients: Vec<ClientId> = self
            .store
            .sessions_between(self.practice, away.start, away.end)
            .await?
            .into_iter()
            .filter(|s| s.status == SessionStatus::Break)
            .map(|s| s.client)
            .collect();
        clients.sort_unstable();
        clients.dedup();
        let notices: Vec<(ClientId, Timestamp)> =
            clients.into_iter().map(|c| (c, send_at)).collect();
        self.store
            .add_break_notices(self.practice, away.id, &notices)
            .await?;
        Ok(())
    }
}

/// "Monday 3 March 2027 at 6pm", in the practice's time zone.
fn when(zone: &TimeZone, at: Timestamp) -> String {
    let local = at.to_zoned_datetime(zone.clone());
    let hour = local.hour();
    let suffix = if hour < 12 { "am" } else { "pm" };
    let hour12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    let clock = if local.minute() == 0 {
        format!("{hour12}{suffix}")
    } else {
        format!("{hour12}:{:02}{suffix}", local.minute())
    };
    format!("{} at {clock}", local.strftime("%A %-d %B %Y"))
}

/// A regular weekly time on the hour.
fn weekly(weekday: Weekday, hour: i8) -> WeeklyTime {
    WeeklyTime {
        weekday,
        time: time(hour, 0, 0, 0),
    }
}

fn slug(raw: &str) -> anyhow::Result<Slug> {
    Slug::parse(raw).map_err(|e| anyhow!("{e}"))
}

/// The first `weekday` on or after `date`.
fn on_or_after(date: Date, weekday: Weekday) -> anyhow::Result<Date> {
    let mut day = date;
    while day.weekday() != weekday {
        day = day.tomorrow()?;
    }
    Ok(day)
}

fn days_ago(date: Date, days: i64) -> anyhow::Result<Date> {
    Ok(date.checked_sub(days.days())?)
}

fn hours_before(at: Timestamp, hours: i64) -> Timestamp {
    at - SignedDuration::from_hours(hours)
}

fn days_before(at: Timestamp, days: i64) -> Timestamp {
    hours_before(at, 24 * days)
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeSet;

    use store::{BookingStore, PracticeStore, TherapyStore};
    use store_sqlite::{OpenMode, SqliteStore};

    use super::*;

    /// The demo practice as `anteroom demo` seeds it at `now` (its consultations, then this).
    pub(super) async fn demo_at(
        now: &str,
    ) -> (tempfile::TempDir, SqliteStore, PracticeId, Timestamp) {
        let now: Timestamp = now.parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("demo.db"), OpenMode::CreateIfMissing)
            .await
            .unwrap();
        let setup = crate::content::embedded_practice("demo").unwrap();
        let practice = store.create_practice(&setup, now).await.unwrap();
        // The therapist's account, as `anteroom demo` makes it (they acknowledge a flag).
        store::StaffStore::create_user(
            &store,
            practice,
            &store::NewUser {
                email: EmailAddress::parse("therapist@example.com").unwrap(),
                name: setup.therapist.name.clone(),
                password_hash: "not a real hash".into(),
            },
            now,
        )
        .await
        .unwrap();
        crate::demo::seed_demo_bookings(&store, practice, &setup, now)
            .await
            .unwrap();
        seed(&store, practice, &setup, now).await.unwrap();
        (dir, store, practice, now)
    }

    #[tokio::test]
    async fn the_demo_shows_brief_and_open_ended_work_with_outcomes_breaks_and_invoices() {
        for at in ["2027-03-25T09:00:00Z", "2026-11-26T12:00:00Z"] {
            let (_dir, store, practice, now) = demo_at(at).await;
            let clients = store.clients(practice).await.unwrap();
            // Three in work now, six whose work ended months ago.
            assert_eq!(clients.len(), 9, "{at}");
            assert_eq!(
                clients.iter().filter(|c| !c.reminders).count(),
                1,
                "{at}: one client wants no reminders"
            );

            let mut kinds = Vec::new();
            let mut sessions = Vec::new();
            for client in &clients {
                for contract in store.contracts(practice, client.id).await.unwrap() {
                    let terms = &contract.current().terms;
                    assert_eq!(terms.policy_version, 2, "{at}");
                    kinds.push(terms.kind.as_str());
                }
                sessions.extend(store.client_sessions(practice, client.id).await.unwrap());
            }
            kinds.sort_unstable();
            assert_eq!(kinds.iter().filter(|k| **k == "brief").count(), 7, "{at}");
            assert_eq!(
                kinds.iter().filter(|k| **k == "open_ended").count(),
                2,
                "{at}"
            );

            let outcomes: BTreeSet<&str> = sessions
                .iter()
                .filter(|s| s.start < now)
                .filter_map(|s| match s.status {
                    SessionStatus::Done(outcome) => Some(outcome.as_str()),
                    _ => None,
                })
                .collect();
            assert!(outcomes.len() >= 4, "{at}: outcomes {outcomes:?}");
            assert!(
                sessions
                    .iter()
                    .all(|s| s.end > now || matches!(s.status, SessionStatus::Done(_))),
                "{at}: every session that has ended has its outcome"
            );
            assert!(
                sessions
                    .iter()
                    .any(|s| s.start > now && s.status == SessionStatus::Scheduled),
                "{at}: sessions to come"
            );
            assert!(
                sessions
                    .iter()
                    .any(|s| s.start > now && s.status == SessionStatus::Break),
                "{at}: a break ahead"
            );
            let charges: Vec<&store::Charge> =
                sessions.iter().filter_map(|s| s.charge.as_ref()).collect();
            assert!(
                charges.iter().any(|c| c.rule.contains("version 2")),
                "{at}: a rule naming the policy"
            );
            assert!(
                charges.iter().any(|c| c.used_free_allowance),
                "{at}: the free late cancellation"
            );
            assert!(
                charges.iter().any(|c| c.waived.is_some()),
                "{at}: a waived charge"
            );

            let invoices = store.invoices(practice, None).await.unwrap();
            let mut numbers: Vec<u32> = invoices.iter().map(|i| i.number).collect();
            numbers.sort_unstable();
            assert_eq!(
                numbers,
                (1..=u32::try_from(invoices.len()).unwrap()).collect::<Vec<_>>(),
                "{at}"
            );
            assert!(invoices.iter().any(|i| i.paid_on.is_some()), "{at}: paid");
            assert!(invoices.iter().any(|i| i.paid_on.is_none()), "{at}: unpaid");
            assert!(
                invoices.iter().all(|i| !i.lines.is_empty()
                    && i.lines.iter().all(|l| l.description.contains(" at "))),
                "{at}: {invoices:?}"
            );
            let zone = TimeZone::get("Europe/London").unwrap();
            let this_month = now.to_zoned_datetime(zone.clone()).date().first_of_month();
            let cut = this_month.to_zoned_datetime(zone).unwrap().timestamp();
            assert!(
                store
                    .uninvoiced_charges(practice, None, cut)
                    .await
                    .unwrap()
                    .is_empty(),
                "{at}: the monthly job finds nothing left to invoice"
            );
            assert!(
                !store
                    .break_notices_due(now + SignedDuration::from_hours(24 * 200))
                    .await
                    .unwrap()
                    .is_empty(),
                "{at}: clients are told about the break"
            );
        }
    }

    #[tokio::test]
    async fn the_demo_starts_on_any_date() {
        // Inside the Easter break, after every break in the practice file, the first and last
        // of a month, the night the clocks go forward, a leap day.
        for at in [
            "2027-04-07T10:00:00Z",
            "2027-05-31T20:00:00Z",
            "2026-12-01T00:30:00Z",
            "2027-03-28T01:30:00Z",
            "2028-02-29T18:10:00Z",
        ] {
            let (_dir, store, practice, now) = demo_at(at).await;
            assert_eq!(store.clients(practice).await.unwrap().len(), 9, "{at}");
            assert_eq!(store.active_contracts(practice).await.unwrap().len(), 3);
            assert!(
                store
                    .away_periods(practice)
                    .await
                    .unwrap()
                    .iter()
                    .any(|a| a.end > now),
                "{at}: a break to come"
            );
            assert!(!store.invoices(practice, None).await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn an_appointment_in_the_way_drops_only_that_occurrence() {
        use domain::booking::{BookingStatus, VisitorDetails};
        let now: Timestamp = "2027-03-25T09:00:00Z".parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("demo.db"), OpenMode::CreateIfMissing)
            .await
            .unwrap();
        let setup = crate::content::embedded_practice("demo").unwrap();
        let practice = store.create_practice(&setup, now).await.unwrap();
        // A consultation already booked at the brief work's time on Tuesday 13 April (BST).
        let start: Timestamp = "2027-04-13T08:30:00Z".parse().unwrap();
        store
            .book(
                practice,
                &store::NewBooking {
                    appointment_type: slug("consultation").unwrap(),
                    location: slug("chancery-lane").unwrap(),
                    start,
                    end: start + SignedDuration::from_mins(50),
                    status: BookingStatus::Confirmed,
                    visitor: VisitorDetails {
                        name: PersonName::parse("Sam Jones").unwrap(),
                        email: EmailAddress::parse("sam.jones@example.com").unwrap(),
                        phone: None,
                        contact_preference: ContactPreference::Email,
                        note: None,
                    },
                    manage_token_hash: b"in-the-way".to_vec(),
                    uid: "in-the-way@anteroom.invalid".into(),
                    hold_expires_at: None,
                    idempotency_key: None,
                },
                &[],
                store::Recheck::accept_any(now),
                now,
            )
            .await
            .unwrap();
        seed(&store, practice, &setup, now).await.unwrap();
        let brief = store
            .clients(practice)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name.as_str() == "Eleanor Marsh")
            .unwrap();
        let sessions = store.client_sessions(practice, brief.id).await.unwrap();
        let starts: Vec<String> = sessions.iter().map(|s| s.start.to_string()).collect();
        assert!(
            !starts.iter().any(|s| s.starts_with("2027-04-13")),
            "{starts:?}"
        );
        assert!(starts.iter().any(|s| s.starts_with("2027-04-20")));
        assert_eq!(
            sessions.iter().filter_map(|s| s.number).max(),
            Some(12),
            "brief work keeps all its sessions"
        );
    }
}
