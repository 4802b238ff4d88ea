//! Measures: a contract's plan, questionnaires asked for once, answers stored once, the
//! flag a risk answer raises acknowledged once, a client stopping them, and many at once.

use std::sync::Arc;

use domain::measures::plan::{Occasion, Schedule};
use store::{
    Answers, ClientId, Completion, ContractId, EnteredBy, MeasurePlan, NewRequest, PracticeId,
    Questionnaire, UserId,
};

use super::*;

fn message(kind: &str, to: &str) -> NewMessage {
    NewMessage {
        kind: kind.into(),
        to: EmailAddress::parse(to).unwrap(),
        subject: "A questionnaire".into(),
        body_text: "Words.".into(),
        calendar: None,
    }
}

fn request(client: ClientId, contract: ContractId, instrument: &str, number: u32) -> NewRequest {
    NewRequest {
        client,
        contract,
        instrument: instrument.into(),
        occasion: Occasion::Regular,
        session_number: number,
    }
}

fn answers(values: &[u8], risk: bool) -> Answers {
    Answers {
        values: values.to_vec(),
        follow_up: Some(1),
        total: values.iter().copied().map(u32::from).sum(),
        risk,
    }
}

/// Answers to every instrument Anteroom scores (the shipped ones and CORE-10), drawn across
/// their options (all lowest, all highest, and a spread between), each as stored with the
/// total its instrument's scoring gives: `(instrument, answers, total)`. What a migration
/// filling in totals from stored answers must reproduce.
pub fn scored_answers() -> Vec<(String, String, u32)> {
    use domain::measures::{core10, shipped};
    let wording = core10::Wording {
        stem: "Over the last week".into(),
        options: (1..=5).map(|i| format!("Heading {i}")).collect(),
        items: (1..=10).map(|i| format!("Question {i}")).collect(),
    };
    let mut instruments = shipped();
    instruments.push(core10::build(&wording).expect("CORE-10 builds from any wording"));
    let mut seed = 0x2545_f491_u32;
    let mut scored = Vec::new();
    for instrument in &instruments {
        let values: Vec<u8> = instrument.options.iter().map(|c| c.value).collect();
        for round in 0..40 {
            let answers: Vec<u8> = (0..instrument.items.len())
                .map(|_| match round {
                    0 => values[0],
                    1 => values[values.len() - 1],
                    _ => {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        values[seed as usize % values.len()]
                    }
                })
                .collect();
            let given: Vec<Option<u8>> = answers.iter().copied().map(Some).collect();
            let score = instrument
                .score(&given)
                .expect("answers from its own options");
            let stored = Answers {
                values: answers,
                follow_up: None,
                total: score.total,
                risk: !score.risk_items.is_empty(),
            };
            scored.push((instrument.id.clone(), stored.values_text(), score.total));
        }
    }
    scored
}

async fn queued(store: &dyn Store, practice: PracticeId) -> usize {
    store.outbox(practice, 5000).await.unwrap().len()
}

/// A practice with a staff account and a client with a contract: `(practice, user, client,
/// contract)`.
async fn measured_practice(
    store: &dyn Store,
    email: &str,
    now: Timestamp,
) -> (PracticeId, UserId, ClientId, ContractId) {
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let user = store
        .create_user(
            practice,
            &NewUser {
                email: EmailAddress::parse(email).unwrap(),
                name: PersonName::parse("Alex Story").unwrap(),
                password_hash: "hash".into(),
            },
            now,
        )
        .await
        .unwrap();
    let client = portal_client(store, practice, "measured@example.com", 10, now).await;
    let contract = store.contracts(practice, client).await.unwrap()[0].id;
    (practice, user, client, contract)
}

/// The whole life of a contract's measures on one handle.
pub async fn measures_story(store: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let (practice, user, client, contract) =
        measured_practice(store, "measures@example.com", now).await;

    // A plan per instrument; one asked at no point is not kept.
    let phq = MeasurePlan {
        instrument: "phq-9".into(),
        schedule: Schedule {
            first: true,
            ending: true,
            ..Schedule::default()
        },
    };
    let gad = MeasurePlan {
        instrument: "gad-7".into(),
        schedule: Schedule {
            every: Some(2),
            reviews: true,
            ..Schedule::default()
        },
    };
    let none = MeasurePlan {
        instrument: "core-10".into(),
        schedule: Schedule::default(),
    };
    store
        .set_measure_plans(practice, contract, &[phq.clone(), gad.clone(), none], now)
        .await
        .unwrap();
    let plans = store.measure_plans(practice, Some(contract)).await.unwrap();
    assert_eq!(
        plans,
        [(contract, gad.clone()), (contract, phq.clone())],
        "by instrument"
    );
    assert_eq!(store.measure_plans(practice, None).await.unwrap(), plans);
    assert!(matches!(
        store
            .set_measure_plans(practice, ContractId::new(contract.get() + 999), &[], now)
            .await,
        Err(StoreError::NotFound)
    ));

    // Asked for once per contract, session and instrument, each with its email.
    let before = queued(store, practice).await;
    let emailed = std::sync::Mutex::new(Vec::new());
    let email = |q: &Questionnaire| {
        emailed.lock().unwrap().push(q.instrument.clone());
        Some(message("questionnaire", "measured@example.com"))
    };
    let asks = [
        request(client, contract, "phq-9", 1),
        request(client, contract, "gad-7", 1),
        request(client, contract, "phq-9", 1),
    ];
    let asked = store
        .request_questionnaires(practice, &asks, &email, now)
        .await
        .unwrap();
    assert_eq!(asked.len(), 2, "the repeat is not asked for again");
    assert_eq!(*emailed.lock().unwrap(), ["phq-9", "gad-7"]);
    assert_eq!(queued(store, practice).await, before + 2);
    assert!(
        store
            .request_questionnaires(practice, &asks, &email, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(queued(store, practice).await, before + 2);
    // Another client's contract, or another practice's, is not asked through this one.
    let stranger = request(ClientId::new(client.get() + 999), contract, "phq-9", 2);
    assert!(
        store
            .request_questionnaires(practice, &[stranger], &email, now)
            .await
            .unwrap()
            .is_empty()
    );
    let mine = store.questionnaires(practice, client).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(Questionnaire::is_open));
    assert_eq!(mine[0].client_name.as_str(), "Morgan Lea");
    assert!(matches!(
        store
            .questionnaire(PracticeId::new(practice.get() + 999), asked[0])
            .await,
        Err(StoreError::NotFound)
    ));

    // Answered once; a risk answer raises the flag and queues its notice with it.
    let later = now + jiff::SignedDuration::from_hours(1);
    let risky = answers(&[1, 1, 0, 0, 2, 0, 0, 0, 1], true);
    let flag = [message("questionnaire_flag", "therapist@example.com")];
    let before = queued(store, practice).await;
    assert_eq!(
        store
            .complete_questionnaire(practice, asked[0], &risky, EnteredBy::Client, &flag, later)
            .await
            .unwrap(),
        Completion::Stored(asked[0])
    );
    assert_eq!(queued(store, practice).await, before + 1);
    let again = answers(&[0; 9], false);
    assert_eq!(
        store
            .complete_questionnaire(practice, asked[0], &again, EnteredBy::Client, &flag, later)
            .await
            .unwrap(),
        Completion::AlreadyDone,
        "the first answers stand"
    );
    let done = store.questionnaire(practice, asked[0]).await.unwrap();
    assert_eq!(
        done.completed,
        Some((later, EnteredBy::Client, risky.clone()))
    );
    assert!(done.is_flagged());
    // No risk: no notice.
    let calm = answers(&[0, 1, 0, 0, 0, 0, 0], false);
    store
        .complete_questionnaire(practice, asked[1], &calm, EnteredBy::Client, &flag, later)
        .await
        .unwrap();
    assert_eq!(queued(store, practice).await, before + 1);
    let flags = store.open_flags(practice).await.unwrap();
    assert_eq!(flags.iter().map(|q| q.id).collect::<Vec<_>>(), [asked[0]]);

    // Acknowledged once, with a note; a calm answer has nothing to acknowledge.
    assert!(
        !store
            .acknowledge_flag(practice, asked[1], user, "nothing", later)
            .await
            .unwrap()
    );
    assert!(
        store
            .acknowledge_flag(practice, asked[0], user, "Spoke on the phone.", later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .acknowledge_flag(practice, asked[0], user, "again", later)
            .await
            .unwrap()
    );
    let seen = store.questionnaire(practice, asked[0]).await.unwrap();
    let ack = seen.acknowledged.unwrap();
    assert_eq!(
        (ack.by, ack.note.as_str()),
        (Some(user), "Spoke on the phone.")
    );
    assert!(store.open_flags(practice).await.unwrap().is_empty());

    // The therapist enters answers given in a session: a new one, or the one asked for.
    let consultation = NewRequest {
        occasion: Occasion::Consultation,
        ..request(client, contract, "phq-9", 0)
    };
    let entered = store
        .enter_questionnaire(practice, &consultation, &again, &flag, later)
        .await
        .unwrap();
    assert!(matches!(entered, Completion::Stored(_)));
    assert_eq!(
        store
            .enter_questionnaire(practice, &consultation, &again, &flag, later)
            .await
            .unwrap(),
        Completion::AlreadyDone
    );
    let third = store
        .request_questionnaires(
            practice,
            &[request(client, contract, "gad-7", 3)],
            &|_| None,
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .enter_questionnaire(
                practice,
                &request(client, contract, "gad-7", 3),
                &calm,
                &[],
                later
            )
            .await
            .unwrap(),
        Completion::Stored(third[0]),
        "the one asked for that session, answered in it"
    );
    let in_session = store.questionnaire(practice, third[0]).await.unwrap();
    assert_eq!(in_session.completed.unwrap().1, EnteredBy::Therapist);
    assert!(matches!(
        store
            .enter_questionnaire(
                practice,
                &request(ClientId::new(client.get() + 999), contract, "gad-7", 4),
                &calm,
                &[],
                later
            )
            .await,
        Err(StoreError::NotFound)
    ));

    // The client asks to stop: open questionnaires are withdrawn, the therapist told once,
    // and nothing more is asked for until they ask again.
    let open = store
        .request_questionnaires(
            practice,
            &[request(client, contract, "phq-9", 2)],
            &|_| None,
            now,
        )
        .await
        .unwrap();
    let before = queued(store, practice).await;
    let told = [message("measures_stopped", "therapist@example.com")];
    assert!(
        store
            .set_measures_stopped(practice, client, true, &told, later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_measures_stopped(practice, client, true, &told, later)
            .await
            .unwrap()
    );
    assert_eq!(queued(store, practice).await, before + 1);
    assert_eq!(
        store.measures_stopped(practice, client).await.unwrap(),
        Some(later)
    );
    let withdrawn = store.questionnaire(practice, open[0]).await.unwrap();
    assert_eq!(withdrawn.withdrawn_at, Some(later));
    assert_eq!(
        store
            .complete_questionnaire(practice, open[0], &calm, EnteredBy::Client, &[], later)
            .await
            .unwrap(),
        Completion::AlreadyDone,
        "a withdrawn questionnaire takes no answers"
    );
    assert!(
        store
            .request_questionnaires(
                practice,
                &[request(client, contract, "phq-9", 5)],
                &|_| None,
                now
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .set_measures_stopped(practice, client, false, &[], later)
            .await
            .unwrap()
    );
    assert_eq!(
        store.measures_stopped(practice, client).await.unwrap(),
        None
    );
    let resumed = store
        .request_questionnaires(
            practice,
            &[request(client, contract, "phq-9", 5)],
            &|_| None,
            now,
        )
        .await
        .unwrap();
    assert_eq!(resumed.len(), 1);

    // A client's page lists what was answered, by when, with its total; then what waits
    // for answers. The withdrawn one is not there, nor anything of another practice's.
    let Completion::Stored(consulted) = entered else {
        unreachable!()
    };
    let listed: Vec<_> = store
        .questionnaire_summaries(practice, client)
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            assert_eq!(s.contract, contract);
            (
                s.id,
                s.instrument,
                s.occasion,
                s.session_number,
                s.requested_at,
                s.completed,
                s.risk,
                s.acknowledged,
            )
        })
        .collect();
    let answered = |id, instrument: &str, occasion, number, total, risk| {
        let at = Some((later, total));
        (
            id,
            instrument.to_owned(),
            occasion,
            number,
            None,
            at,
            risk,
            risk,
        )
    };
    let regular = Occasion::Regular;
    assert_eq!(
        listed,
        [
            answered(asked[0], "phq-9", regular, 1, 5, true),
            answered(asked[1], "gad-7", regular, 1, 1, false),
            answered(consulted, "phq-9", Occasion::Consultation, 0, 0, false),
            answered(third[0], "gad-7", regular, 3, 1, false),
            (
                resumed[0],
                "phq-9".to_owned(),
                regular,
                5,
                Some(now),
                None,
                false,
                false
            ),
        ]
    );
    let elsewhere = PracticeId::new(practice.get() + 999);
    assert!(
        store
            .questionnaire_summaries(elsewhere, client)
            .await
            .unwrap()
            .is_empty()
    );

    // The work ends: its open questionnaires are withdrawn, and its answers count towards
    // the practice's outcomes.
    assert!(
        store
            .ended_work_questionnaires(practice)
            .await
            .unwrap()
            .is_empty()
    );
    store.end_contract(practice, contract, later).await.unwrap();
    store
        .withdraw_questionnaires(practice, contract, later)
        .await
        .unwrap();
    assert!(
        store
            .questionnaire(practice, resumed[0])
            .await
            .unwrap()
            .withdrawn_at
            .is_some()
    );
    let ended = store.ended_work_questionnaires(practice).await.unwrap();
    assert_eq!(
        ended.len(),
        4,
        "every completed one, none open or withdrawn"
    );
    assert!(ended.iter().all(|q| q.completed.is_some()));
    assert!(
        store
            .measure_plans(practice, None)
            .await
            .unwrap()
            .is_empty()
    );

    // An instrument the practice added: its wording, replaced when entered again.
    store
        .save_practice_instrument(practice, "core-10", "{\"stem\":\"a\"}", now)
        .await
        .unwrap();
    store
        .save_practice_instrument(practice, "core-10", "{\"stem\":\"b\"}", later)
        .await
        .unwrap();
    assert_eq!(
        store.practice_instruments(practice).await.unwrap(),
        [("core-10".to_owned(), "{\"stem\":\"b\"}".to_owned())]
    );
}

/// Many answers, acknowledgements and requests at once, at two handles: each questionnaire
/// is asked for once, stores its first answers only with one notice, and its flag is
/// acknowledged once.
pub async fn measure_races(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let (practice, user, client, contract) =
        measured_practice(&*first, "races@example.com", now).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let store = Arc::clone(if n % 2 == 0 { &first } else { &second });
        tasks.push(tokio::spawn(async move {
            store
                .request_questionnaires(
                    practice,
                    &[request(client, contract, "phq-9", 1)],
                    &|_| Some(message("questionnaire", "measured@example.com")),
                    now,
                )
                .await
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "asked for once");
    let id = ids[0];
    let before = queued(&*first, practice).await;
    let mut tasks = Vec::new();
    for n in 0..16u8 {
        let store = Arc::clone(if n % 2 == 0 { &first } else { &second });
        tasks.push(tokio::spawn(async move {
            let given = answers(&[n % 4, 0, 0, 0, 0, 0, 0, 0, 1], true);
            let done = store
                .complete_questionnaire(
                    practice,
                    id,
                    &given,
                    EnteredBy::Client,
                    &[message("questionnaire_flag", "therapist@example.com")],
                    now,
                )
                .await
                .unwrap();
            (done, given)
        }));
    }
    let mut stored = Vec::new();
    for task in tasks {
        let (done, given) = task.await.unwrap();
        if done == Completion::Stored(id) {
            stored.push(given);
        }
    }
    assert_eq!(stored.len(), 1, "answers stored once");
    let kept = first.questionnaire(practice, id).await.unwrap();
    assert_eq!(
        kept.completed.unwrap().2,
        stored[0],
        "the answers that won are the ones kept"
    );
    assert_eq!(queued(&*first, practice).await, before + 1, "one notice");
    let mut tasks = Vec::new();
    for n in 0..16 {
        let store = Arc::clone(if n % 2 == 0 { &first } else { &second });
        tasks.push(tokio::spawn(async move {
            store
                .acknowledge_flag(practice, id, user, &format!("note {n}"), now)
                .await
                .unwrap()
        }));
    }
    let mut acknowledged = 0;
    for task in tasks {
        acknowledged += usize::from(task.await.unwrap());
    }
    assert_eq!(acknowledged, 1, "acknowledged once");
}
