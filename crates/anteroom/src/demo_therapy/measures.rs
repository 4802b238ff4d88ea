//! The demo's measures: the clients' contracts agree questionnaires, and their answers so far
//! are there, so the charts, a flag and the outcomes page can be seen at once.
//!
//! - Eleanor (brief work) fills in PHQ-9 every other session and GAD-7 at the start: her
//!   PHQ-9 falls reliably, from above the cut-off to below it.
//! - Daniel (open-ended) fills in GAD-7 every other session, with no reliable change; his
//!   PHQ-9 at the review answered the risk question "several days", and the therapist
//!   acknowledged it with a note the same evening.
//! - Ruth agreed no measures: they are optional.
//! - Six clients whose brief work ended months ago give the outcomes page its figures.

use anyhow::anyhow;
use domain::{
    EmailAddress, Pence,
    measures::{
        Instrument,
        plan::{Occasion, Schedule},
    },
    therapy::{
        ContractKind, ContractTerms, Frequency, policy::CancellationPolicy, policy::Recorded,
    },
};
use jiff::{SignedDuration, Timestamp, civil::Weekday};
use store::{Answers, ClientId, EnteredBy, MeasurePlan, NewRequest};

use super::{Demo, Person, days_ago, days_before, on_or_after, slug, weekly};

/// Answers to `instrument` adding up to `total`, spread over its items from the first,
/// leaving its risk items at zero unless `risk` gives one a value.
fn answers(instrument: &Instrument, total: u32, risk: Option<u8>) -> anyhow::Result<Answers> {
    let top = u32::from(instrument.top());
    let mut left = total.saturating_sub(risk.map_or(0, u32::from));
    let values: Vec<u8> = instrument
        .items
        .iter()
        .map(|item| {
            if item.risk {
                return risk.unwrap_or(0);
            }
            let v = left.min(top);
            left -= v;
            // CORE-10's reversed items would count the other way; the demo uses none.
            u8::try_from(v).unwrap_or(0)
        })
        .collect();
    let given: Vec<Option<u8>> = values.iter().copied().map(Some).collect();
    let score = instrument
        .score(&given)
        .map_err(|_| anyhow!("demo answers do not fit {}", instrument.id))?;
    if score.total != total {
        return Err(anyhow!("{} cannot total {total}", instrument.id));
    }
    Ok(Answers {
        values,
        follow_up: instrument.follow_up.as_ref().map(|_| 1),
        total: score.total,
        risk: !score.risk_items.is_empty(),
    })
}

fn plan(instrument: &str, schedule: Schedule) -> MeasurePlan {
    MeasurePlan {
        instrument: instrument.into(),
        schedule,
    }
}

impl Demo<'_> {
    /// The client answered `instrument` in the portal the evening before session `number`
    /// (at `session_start`), totalling `total`; returns its id.
    async fn answered(
        &self,
        client: ClientId,
        contract: store::ContractId,
        (instrument, number, occasion): (&Instrument, u32, Occasion),
        session_start: Timestamp,
        (total, risk): (u32, Option<u8>),
    ) -> anyhow::Result<Option<store::QuestionnaireId>> {
        let asked_at = days_before(session_start, 3);
        let answered_at = session_start - SignedDuration::from_hours(15);
        let asked = self
            .store
            .request_questionnaires(
                self.practice,
                &[NewRequest {
                    client,
                    contract,
                    instrument: instrument.id.clone(),
                    occasion,
                    session_number: number,
                }],
                &|_| None,
                asked_at,
            )
            .await?;
        let Some(id) = asked.first().copied() else {
            return Ok(None);
        };
        self.store
            .complete_questionnaire(
                self.practice,
                id,
                &answers(instrument, total, risk)?,
                EnteredBy::Client,
                &[],
                answered_at,
            )
            .await?;
        Ok(Some(id))
    }

    /// The scores of a client's past sessions, as `(session number, instrument, occasion,
    /// total, risk answer)`.
    async fn scores(
        &self,
        client: ClientId,
        scores: &[(u32, &Instrument, Occasion, u32, Option<u8>)],
    ) -> anyhow::Result<Vec<store::QuestionnaireId>> {
        let sessions = self.store.client_sessions(self.practice, client).await?;
        let mut ids = Vec::new();
        for (number, instrument, occasion, total, risk) in scores {
            let Some(session) = sessions
                .iter()
                .find(|s| s.number == Some(*number) && s.start <= self.now)
            else {
                continue;
            };
            if let Some(id) = self
                .answered(
                    client,
                    session.contract,
                    (instrument, *number, *occasion),
                    session.start,
                    (*total, *risk),
                )
                .await?
            {
                ids.push(id);
            }
        }
        Ok(ids)
    }
}

/// Seed the measures of the demo's current clients (`eleanor` in brief work, `daniel` in
/// open-ended work) and the ended work of six earlier clients.
pub(super) async fn seed(
    demo: &Demo<'_>,
    eleanor: Option<ClientId>,
    daniel: Option<ClientId>,
    policy: &CancellationPolicy,
    fee: Pence,
) -> anyhow::Result<()> {
    let shipped = domain::measures::shipped();
    let (phq, gad) = (&shipped[0], &shipped[1]);
    use Occasion::{First, Regular, Review};
    if let Some(client) = eleanor {
        let contract = demo.store.contracts(demo.practice, client).await?[0].id;
        demo.store
            .set_measure_plans(
                demo.practice,
                contract,
                &[
                    plan(
                        "phq-9",
                        Schedule {
                            first: true,
                            every: Some(2),
                            reviews: true,
                            ending: true,
                        },
                    ),
                    plan(
                        "gad-7",
                        Schedule {
                            first: true,
                            reviews: true,
                            ending: true,
                            ..Schedule::default()
                        },
                    ),
                ],
                days_before(demo.now, 40),
            )
            .await?;
        demo.scores(
            client,
            &[
                (1, phq, First, 17, None),
                (1, gad, First, 13, None),
                (3, phq, Regular, 13, None),
                (5, phq, Regular, 8, None),
            ],
        )
        .await?;
    }
    if let Some(client) = daniel {
        let contract = demo.store.contracts(demo.practice, client).await?[0].id;
        demo.store
            .set_measure_plans(
                demo.practice,
                contract,
                &[
                    plan(
                        "phq-9",
                        Schedule {
                            first: true,
                            reviews: true,
                            ..Schedule::default()
                        },
                    ),
                    plan(
                        "gad-7",
                        Schedule {
                            first: true,
                            every: Some(2),
                            ..Schedule::default()
                        },
                    ),
                ],
                days_before(demo.now, 75),
            )
            .await?;
        let ids = demo
            .scores(
                client,
                &[
                    (1, phq, First, 13, None),
                    (1, gad, First, 12, None),
                    (3, gad, Regular, 13, None),
                    (5, gad, Regular, 11, None),
                    (6, phq, Review, 12, Some(1)),
                    (7, gad, Regular, 12, None),
                    (9, gad, Regular, 10, None),
                ],
            )
            .await?;
        let therapist = demo
            .store
            .user_by_email(
                &EmailAddress::parse("therapist@example.com").map_err(|e| anyhow!("{e}"))?,
            )
            .await?;
        let flagged = demo.store.open_flags(demo.practice).await?;
        if let (Some(user), Some(q)) = (therapist, flagged.first())
            && ids.contains(&q.id)
        {
            let seen = q
                .completed
                .as_ref()
                .map_or(demo.now, |(at, _, _)| *at + SignedDuration::from_hours(3));
            demo.store
                .acknowledge_flag(
                    demo.practice,
                    q.id,
                    user.id,
                    "Rang Daniel the same evening. Passing thoughts when very tired, no plans \
                     and no intent; he knows how to reach his GP and Samaritans. We talked it \
                     through at the start of the next session.",
                    seen.min(demo.now),
                )
                .await?;
        }
    }
    earlier_clients(demo, policy, fee, phq, gad).await
}

/// An earlier client: name, weekday, hour, PHQ-9 first and last, GAD-7 first and last.
type Earlier = (&'static str, Weekday, i8, (u32, u32), (u32, u32));

/// Six clients whose brief work (eight weekly sessions, PHQ-9 and GAD-7 at the start and
/// the ending) ended months ago: some recovered, some did not.
async fn earlier_clients(
    demo: &Demo<'_>,
    policy: &CancellationPolicy,
    fee: Pence,
    phq: &Instrument,
    gad: &Instrument,
) -> anyhow::Result<()> {
    let earlier: [Earlier; 6] = [
        ("Priya Nair", Weekday::Wednesday, 10, (15, 5), (12, 6)),
        ("Tom Whitfield", Weekday::Wednesday, 11, (12, 8), (9, 6)),
        ("Sofia Lindqvist", Weekday::Thursday, 10, (18, 9), (14, 9)),
        ("Marcus Bell", Weekday::Thursday, 11, (11, 12), (10, 11)),
        ("Hannah Cole", Weekday::Friday, 14, (20, 10), (15, 9)),
        ("Joseph Adeyemi", Weekday::Friday, 15, (9, 4), (13, 7)),
    ];
    for (i, (name, day, hour, (phq_first, phq_last), (gad_first, gad_last))) in
        earlier.into_iter().enumerate()
    {
        let start = on_or_after(days_ago(demo.today, 240 - 7 * i64::try_from(i)?)?, day)?;
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let Some((client, planner)) = demo
            .start_work(
                Person {
                    name,
                    email: &email,
                    reminders: true,
                },
                ContractTerms {
                    kind: ContractKind::Brief {
                        focus: "Low mood and worry after a hard year: making sense of it, and \
                                what helps."
                            .into(),
                        sessions: 8,
                        reviews_at: vec![4],
                    },
                    frequency: Frequency::Weekly,
                    times: vec![weekly(day, hour)],
                    location: slug("chancery-lane")?,
                    minutes: 50,
                    fee,
                    start,
                    policy_version: policy.version,
                },
            )
            .await?
        else {
            continue;
        };
        let contract = demo.store.contracts(demo.practice, client).await?[0].id;
        demo.store
            .set_measure_plans(
                demo.practice,
                contract,
                &[
                    plan(
                        "phq-9",
                        Schedule {
                            first: true,
                            ending: true,
                            ..Schedule::default()
                        },
                    ),
                    plan(
                        "gad-7",
                        Schedule {
                            first: true,
                            ending: true,
                            ..Schedule::default()
                        },
                    ),
                ],
                days_before(demo.start_of(start)?, 1),
            )
            .await?;
        for session in demo.past_sessions(client).await? {
            demo.record(policy, &session, Recorded::Attended, &*planner)
                .await?;
        }
        demo.scores(
            client,
            &[
                (1, phq, Occasion::First, phq_first, None),
                (1, gad, Occasion::First, gad_first, None),
                (8, phq, Occasion::Ending, phq_last, None),
                (8, gad, Occasion::Ending, gad_last, None),
            ],
        )
        .await?;
        let last = demo
            .store
            .client_sessions(demo.practice, client)
            .await?
            .into_iter()
            .map(|s| s.end)
            .max()
            .unwrap_or(demo.now);
        demo.store
            .end_contract(
                demo.practice,
                contract,
                (last + SignedDuration::from_hours(2)).min(demo.now),
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use store::{MeasureStore, TherapyStore};

    use crate::demo_therapy::tests::demo_at;

    /// The demo's measures: one client improving reliably, one not, one risk answer that
    /// was acknowledged, and ended work enough for the outcomes page to show figures.
    #[tokio::test]
    async fn the_demo_shows_measures_a_flag_acknowledged_and_outcomes() {
        for at in ["2027-03-25T09:00:00Z", "2026-12-03T21:00:00Z"] {
            let (_dir, store, practice, _now) = demo_at(at).await;
            let shipped = domain::measures::shipped();
            let total = |q: &store::Questionnaire| {
                let instrument = shipped.iter().find(|i| i.id == q.instrument).unwrap();
                let (_, _, answers) = q.completed.as_ref().unwrap();
                let given: Vec<Option<u8>> = answers.values.iter().copied().map(Some).collect();
                instrument.score(&given).unwrap().total
            };
            let clients = store.clients(practice).await.unwrap();
            let by_name = |name: &str| clients.iter().find(|c| c.name.as_str() == name).unwrap().id;
            let phq = |all: Vec<store::Questionnaire>| -> Vec<u32> {
                all.iter()
                    .filter(|q| q.instrument == "phq-9" && q.completed.is_some())
                    .map(total)
                    .collect()
            };
            let eleanor = phq(store
                .questionnaires(practice, by_name("Eleanor Marsh"))
                .await
                .unwrap());
            assert_eq!(eleanor.first(), Some(&17), "{at}");
            assert!(
                eleanor.last().is_some_and(|t| *t <= 11),
                "{at}: {eleanor:?}"
            );
            let daniel = store
                .questionnaires(practice, by_name("Daniel Okoro"))
                .await
                .unwrap();
            let risky: Vec<_> = daniel
                .iter()
                .filter(|q| q.completed.as_ref().is_some_and(|(_, _, a)| a.risk))
                .collect();
            assert_eq!(risky.len(), 1, "{at}");
            assert!(
                risky[0]
                    .acknowledged
                    .as_ref()
                    .is_some_and(|a| !a.note.is_empty())
            );
            assert!(store.open_flags(practice).await.unwrap().is_empty(), "{at}");
            let gad: Vec<u32> = daniel
                .iter()
                .filter(|q| q.instrument == "gad-7" && q.completed.is_some())
                .map(total)
                .collect();
            assert!(gad.len() >= 3, "{at}: {gad:?}");
            assert!(
                gad.first().unwrap().abs_diff(*gad.last().unwrap()) < 4,
                "no reliable change"
            );
            let ruth = store
                .questionnaires(practice, by_name("Ruth Castellano"))
                .await
                .unwrap();
            assert!(ruth.is_empty(), "measures are optional");
            let ended = store.ended_work_questionnaires(practice).await.unwrap();
            let mut people: Vec<_> = ended.iter().map(|q| q.client).collect();
            people.dedup();
            assert_eq!((ended.len(), people.len()), (24, 6), "{at}");
        }
    }
}
