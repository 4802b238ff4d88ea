//! Seeding the therapy benchmark's measures (issue 14).

use domain::{
    ContactPreference, EmailAddress, Pence, PersonName, Slug,
    measures::plan::Occasion,
    therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime},
};
use jiff::{SignedDuration, Timestamp};
use store::{Answers, ClientId, NewClient, NewRequest, PracticeId, Store};

/// Answers of `n` points spread over `items` items of options 0 to `top`, with the total
/// they score (items numbered in `reverse` count the other way).
fn answers(items: usize, top: u8, n: u32, reverse: &[usize]) -> Answers {
    let mut left = n;
    let values = (0..items)
        .map(|_| {
            let v = left.min(u32::from(top));
            left -= v;
            u8::try_from(v).expect("a small value")
        })
        .collect::<Vec<u8>>();
    let total = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            u32::from(if reverse.contains(&(i + 1)) {
                top - v
            } else {
                v
            })
        })
        .sum();
    Answers {
        values,
        total,
        follow_up: None,
        risk: false,
    }
}

/// Test wording for CORE-10's shape (not its own).
const CORE10_WORDING: &str = r#"{"stem":"Over the last week","options":["None","Little","Some","Often","Most"],"items":["Q1","Q2","Q3","Q4","Q5","Q6","Q7","Q8","Q9","Q10"]}"#;

/// PHQ-9, GAD-7 and CORE-10 answered before every past session of each of `clients`.
/// Returns how many questionnaires.
pub async fn seed_weekly(
    store: &dyn Store,
    practice: PracticeId,
    clients: &[ClientId],
    now: Timestamp,
) -> usize {
    store
        .save_practice_instrument(practice, "core-10", CORE10_WORDING, now)
        .await
        .expect("CORE-10");
    let mut count = 0;
    for &client in clients {
        let sessions = store
            .client_sessions(practice, client)
            .await
            .expect("sessions");
        for session in sessions.iter().filter(|s| s.end < now) {
            let Some(number) = session.number else {
                continue;
            };
            let core10 = &domain::measures::core10::rules().reverse;
            for (instrument, items, top, total, reverse) in [
                ("phq-9", 9, 3, 20 - (number % 15), &[][..]),
                ("gad-7", 7, 3, 15 - (number % 12), &[][..]),
                ("core-10", 10, 4, 24 - (number % 18), &core10[..]),
            ] {
                let request = NewRequest {
                    client,
                    contract: session.contract,
                    instrument: instrument.into(),
                    occasion: Occasion::Other,
                    session_number: number,
                };
                store
                    .enter_questionnaire(
                        practice,
                        &request,
                        &answers(items, top, total, reverse),
                        &[],
                        session.start - SignedDuration::from_hours(12),
                    )
                    .await
                    .expect("questionnaire");
                count += 1;
            }
        }
    }
    count
}

/// Ended contracts (each of its own client, no sessions kept) with a first and a latest
/// PHQ-9 and GAD-7. Returns how many contracts.
pub async fn seed_ended(store: &dyn Store, practice: PracticeId, now: Timestamp) -> usize {
    const ENDED: usize = 500;
    let nothing = |_: &ContractTerms, _: &[_], _| Vec::new();
    for n in 0..ENDED {
        let client = store
            .create_client(
                practice,
                &NewClient {
                    name: PersonName::parse(&format!("Earlier Client{n}")).expect("name"),
                    email: EmailAddress::parse(&format!("earlier{n}@example.com")).expect("email"),
                    phone: None,
                    contact_preference: ContactPreference::Email,
                    reminders: false,
                },
                None,
                now,
            )
            .await
            .expect("client");
        let terms = ContractTerms {
            kind: ContractKind::Brief {
                focus: "A focus.".into(),
                sessions: 8,
                reviews_at: vec![],
            },
            frequency: Frequency::Weekly,
            times: vec![WeeklyTime {
                weekday: jiff::civil::Weekday::Saturday,
                time: jiff::civil::time(7, 0, 0, 0),
            }],
            location: Slug::parse("balham").expect("slug"),
            minutes: 50,
            fee: Pence::new(7000),
            start: jiff::civil::date(2020, 1, 4),
            policy_version: 1,
        };
        let contract = store
            .save_contract(practice, client, None, &terms, "", now, &nothing, now)
            .await
            .expect("contract");
        let k = u32::try_from(n).expect("n");
        for (instrument, items, number, total) in [
            ("phq-9", 9, 1, 12 + k % 10),
            ("gad-7", 7, 1, 9 + k % 8),
            ("phq-9", 9, 8, 4 + k % 12),
            ("gad-7", 7, 8, 3 + k % 10),
        ] {
            let request = NewRequest {
                client,
                contract,
                instrument: instrument.into(),
                occasion: Occasion::Other,
                session_number: number,
            };
            store
                .enter_questionnaire(practice, &request, &answers(items, 3, total, &[]), &[], now)
                .await
                .expect("questionnaire");
        }
        store
            .end_contract(practice, contract, now)
            .await
            .expect("end");
    }
    ENDED
}
