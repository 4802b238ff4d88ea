//! A break and its replanning: all or nothing.

use super::*;

/// A break change and the planning it causes are one unit (issue 11): a break whose
/// replanning would put a session over another appointment is refused whole (no break, not
/// one session changed, no notice); one that fits stores the break, the sessions in it, the
/// moved ending and the notices together; removing it plans the sessions back in.
pub async fn break_changes_all_or_nothing(store: &dyn Store) {
    use domain::{
        ContactPreference, Pence,
        availability::AwayPeriod,
        therapy::{
            ContractKind, ContractTerms, Frequency, WeeklyTime,
            schedule::{Kept, plan},
        },
    };
    use jiff::{SignedDuration, civil::Weekday, tz::TimeZone};

    use store::{BreakChange, SessionStatus};

    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let add_client = |name: &'static str, email: &'static str| async move {
        store
            .create_client(
                practice,
                &store::NewClient {
                    name: PersonName::parse(name).unwrap(),
                    email: EmailAddress::parse(email).unwrap(),
                    phone: None,
                    contact_preference: ContactPreference::Email,
                    reminders: true,
                },
                None,
                now,
            )
            .await
            .unwrap()
    };
    let robin = add_client("Robin Vale", "robin@example.com").await;
    let kim = add_client("Kim Lee", "kim@example.com").await;
    let zone = TimeZone::get("Europe/London").unwrap();
    // The planner as the application builds it: the zone and the breaks as they will be.
    let planner_with = |breaks: Vec<AwayPeriod>| {
        let zone = zone.clone();
        move |terms: &ContractTerms, kept: &[Kept], from| {
            plan(terms, &zone, &breaks, kept, from, date(2027, 12, 31))
        }
    };
    let balham = Slug::parse("balham").unwrap();
    let brief = |sessions: u32, hour: i8| ContractTerms {
        kind: ContractKind::Brief {
            focus: "Time.".into(),
            sessions,
            reviews_at: vec![],
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: Weekday::Monday,
            time: jiff::civil::time(hour, 0, 0, 0),
        }],
        location: balham.clone(),
        minutes: 50,
        fee: Pence::new(7000),
        start: date(2027, 5, 3),
        policy_version: 1,
    };
    let no_breaks = planner_with(Vec::new());
    // Robin: Mondays at 10, 3, 10 and 17 May. Kim: Mondays at noon, five sessions to 31 May,
    // the fourth (24 May) moved to 10am: exactly where Robin's work would end if it grew by a
    // week.
    store
        .save_contract(
            practice,
            robin,
            None,
            &brief(3, 10),
            "",
            now,
            &no_breaks,
            now,
        )
        .await
        .unwrap();
    store
        .save_contract(practice, kim, None, &brief(5, 12), "", now, &no_breaks, now)
        .await
        .unwrap();
    let at = |day: i8, hour: i8| {
        date(2027, 5, day)
            .at(hour, 0, 0, 0)
            .to_zoned_datetime(zone.clone())
            .unwrap()
            .timestamp()
    };
    let kims = store.client_sessions(practice, kim).await.unwrap();
    assert_eq!(kims[3].start, at(24, 12));
    store
        .move_session(
            practice,
            kims[3].id,
            &balham,
            at(24, 10),
            at(24, 10) + SignedDuration::from_mins(50),
            now,
        )
        .await
        .unwrap();
    let sessions_of = |client| async move {
        store
            .client_sessions(practice, client)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.start, s.end, s.status, s.number, s.moved))
            .collect::<Vec<_>>()
    };
    let calendar = || async { [sessions_of(robin).await, sessions_of(kim).await].concat() };
    let before = calendar().await;
    // The practice's own Easter break, from its setup, is before all of this.
    let easter: Vec<_> = store
        .away_periods(practice)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    let breaks = || async {
        store
            .away_periods(practice)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.id, a.start))
            .filter(|(id, _)| !easter.contains(id))
            .collect::<Vec<_>>()
    };
    let robins_before = sessions_of(robin).await;
    let far = Timestamp::from_second(2_000_000_000).unwrap();
    let notices_due = || async {
        store
            .break_notices_due(far)
            .await
            .unwrap()
            .into_iter()
            .filter(|(p, ..)| *p == practice)
            .map(|(_, _, client)| client)
            .collect::<Vec<_>>()
    };

    // A break over 10 May moves Robin's ending to 24 May at 10am, onto Kim's moved session.
    let week_of_10 = AwayPeriod {
        start: at(9, 0),
        end: at(11, 0),
    };
    let clashing = BreakChange::Add {
        label: "Long weekend".into(),
        start: week_of_10.start,
        end: week_of_10.end,
        notify_at: now,
    };
    let refused = store
        .change_break(
            practice,
            &clashing,
            &planner_with(vec![week_of_10.clone()]),
            now,
        )
        .await;
    assert_eq!(
        conflict_of(&refused),
        Some(ConflictKind::AppointmentsOverlap),
        "a replan that clashes refuses the break: {refused:?}"
    );
    assert!(breaks().await.is_empty(), "the refused break is not stored");
    assert_eq!(
        calendar().await,
        before,
        "no session was marked, removed or added"
    );
    assert!(notices_due().await.is_empty(), "no notice was planned");

    // A break over 31 May touches only Kim's work: it is stored with everything it causes.
    let week_of_31 = AwayPeriod {
        start: at(30, 0),
        end: date(2027, 6, 1)
            .at(0, 0, 0, 0)
            .to_zoned_datetime(zone.clone())
            .unwrap()
            .timestamp(),
    };
    let notify_at = now + SignedDuration::from_hours(1);
    let away = store
        .change_break(
            practice,
            &BreakChange::Add {
                label: "Half term".into(),
                start: week_of_31.start,
                end: week_of_31.end,
                notify_at,
            },
            &planner_with(vec![week_of_31.clone()]),
            now,
        )
        .await
        .expect("a break that clashes with nothing is stored");
    assert_eq!(breaks().await, [(away, week_of_31.start)]);
    let kims = store.client_sessions(practice, kim).await.unwrap();
    let on = |sessions: &[store::Session], start: Timestamp| {
        sessions
            .iter()
            .find(|s| s.start == start)
            .map(|s| (s.status, s.number))
    };
    assert_eq!(
        on(&kims, at(31, 12)),
        Some((SessionStatus::Break, None)),
        "{kims:?}"
    );
    let june_7 = date(2027, 6, 7)
        .at(12, 0, 0, 0)
        .to_zoned_datetime(zone.clone())
        .unwrap()
        .timestamp();
    assert_eq!(
        on(&kims, june_7),
        Some((SessionStatus::Scheduled, Some(5))),
        "Kim's work ends a week later"
    );
    assert_eq!(notices_due().await, [kim], "only Kim has a session in it");
    assert!(
        store.break_notices_due(now).await.unwrap().is_empty(),
        "the notice waits for its time"
    );
    assert_eq!(
        sessions_of(robin).await,
        robins_before,
        "Robin's work, outside the break, is untouched"
    );

    // Removing it plans Kim's session back in and the extra week away.
    store
        .change_break(
            practice,
            &BreakChange::Remove(away),
            &planner_with(Vec::new()),
            now,
        )
        .await
        .unwrap();
    assert!(breaks().await.is_empty());
    let kims = store.client_sessions(practice, kim).await.unwrap();
    assert_eq!(
        on(&kims, at(31, 12)),
        Some((SessionStatus::Scheduled, Some(5)))
    );
    assert_eq!(on(&kims, june_7), None);
    assert_eq!(
        calendar().await.len(),
        before.len(),
        "as many sessions as before the breaks"
    );
    assert!(matches!(
        store
            .change_break(
                practice,
                &BreakChange::Remove(away),
                &planner_with(Vec::new()),
                now
            )
            .await,
        Err(StoreError::NotFound)
    ));
}
