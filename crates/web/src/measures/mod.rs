//! Measures (issue 14) as the office and portal use them: the practice's instruments, the
//! answer form read the same way for the client and the therapist, the emails, the job that
//! asks for questionnaires before the sessions a contract names, and the chart.
//!
//! Safety rules kept here, each with a test (`docs/hazards.md`): every item is required
//! and checked against the instrument's options before anything is stored; a risk answer
//! raises the flag in the same transaction as the answers (the store's
//! `complete_questionnaire`); the therapist's email about it says only that a questionnaire
//! needs attention; the client's email never names the questionnaire.

pub(crate) mod chart;
pub(crate) mod fhir;

use std::sync::LazyLock;

use domain::{
    EmailAddress,
    measures::{Instrument, Score, core10, plan::Occasion},
};
use jiff::{SignedDuration, Timestamp};
use minijinja::{Value, context};
use store::{Answers, NewMessage, NewRequest, Questionnaire, SessionStatus};

use crate::{Here, WebError, error::WebResult, forms::FormData, therapy::PracticeView};

/// Questionnaires are asked for this long before the session they are for.
pub(crate) const ASK_AHEAD: SignedDuration = SignedDuration::from_hours(72);

/// The outbox kinds of the measures' emails.
pub(crate) const REQUEST_EMAIL_KIND: &str = "questionnaire";
pub(crate) const FLAG_EMAIL_KIND: &str = "questionnaire_flag";
pub(crate) const STOPPED_EMAIL_KIND: &str = "questionnaires_stopped";

static SHIPPED: LazyLock<Vec<Instrument>> = LazyLock::new(domain::measures::shipped);

/// The instruments a practice can use: those shipped, and any it added (CORE-10).
pub(crate) struct Catalogue {
    added: Vec<Instrument>,
}

impl Catalogue {
    pub async fn load(state: &Here) -> WebResult<Self> {
        let stored = state
            .store()
            .practice_instruments(state.practice_id())
            .await?;
        let mut added = Vec::new();
        for (id, wording) in stored {
            if id != core10::ID {
                continue;
            }
            let wording: core10::Wording = serde_json::from_str(&wording)
                .map_err(|e| WebError::Internal(anyhow::anyhow!("stored {id} wording: {e}")))?;
            let instrument = core10::build(&wording).map_err(|_| {
                WebError::Internal(anyhow::anyhow!("stored {id} wording is not valid"))
            })?;
            added.push(instrument);
        }
        Ok(Self { added })
    }

    /// Every instrument, shipped first.
    pub fn all(&self) -> impl Iterator<Item = &Instrument> {
        SHIPPED.iter().chain(&self.added)
    }

    /// The instrument with this id.
    pub fn get(&self, id: &str) -> Option<&Instrument> {
        self.all().find(|i| i.id == id)
    }
}

/// The instrument by id, or an error page: a questionnaire of an instrument the practice no
/// longer has (CORE-10's wording removed) cannot be shown.
pub(crate) fn instrument<'c>(catalogue: &'c Catalogue, id: &str) -> WebResult<&'c Instrument> {
    catalogue
        .get(id)
        .ok_or_else(|| WebError::Internal(anyhow::anyhow!("the practice has no instrument {id}")))
}

/// The score of stored answers (checked when they were stored), which must agree with the
/// total stored beside them: lists and charts read that total, so a definition changed
/// since shows here as an error rather than as two different scores.
pub(crate) fn score_of(instrument: &Instrument, answers: &Answers) -> WebResult<Score> {
    let given: Vec<Option<u8>> = answers.values.iter().copied().map(Some).collect();
    match instrument.score(&given) {
        Ok(score) if score.total == answers.total => Ok(score),
        Ok(_) => Err(WebError::Internal(anyhow::anyhow!(
            "the stored total of a {} disagrees with its answers",
            instrument.id
        ))),
        Err(_) => Err(WebError::Internal(anyhow::anyhow!(
            "stored answers do not fit {}",
            instrument.id
        ))),
    }
}

/// The form field of item `n` (from 1).
pub(crate) fn item_field(n: usize) -> String {
    format!("item_{n}")
}

/// A problem with the answers, at its field.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct AnswerProblem {
    pub field: String,
    pub message: String,
}

/// Read the answers to `instrument` from a form (`item_1`… and `follow_up`): every item
/// required and one of the instrument's options; the follow-up question optional.
pub(crate) fn read_answers(
    instrument: &Instrument,
    form: &FormData,
) -> Result<Answers, Vec<AnswerProblem>> {
    let given: Vec<Option<u8>> = (1..=instrument.items.len())
        .map(|n| form.get(&item_field(n)).trim().parse::<u8>().ok())
        .collect();
    let mut problems = Vec::new();
    let score = match instrument.score(&given) {
        Ok(score) => Some(score),
        Err(error) => {
            let mut wrong: Vec<usize> = error.missing;
            wrong.extend(error.invalid);
            wrong.sort_unstable();
            for n in wrong {
                problems.push(AnswerProblem {
                    field: item_field(n),
                    message: format!("Choose an answer to question {n}"),
                });
            }
            None
        }
    };
    let follow_up = match (&instrument.follow_up, form.get("follow_up").trim()) {
        (_, "") | (None, _) => None,
        (Some(question), raw) => match raw.parse::<u8>() {
            Ok(v) if usize::from(v) < question.options.len() => Some(v),
            _ => {
                problems.push(AnswerProblem {
                    field: "follow_up".into(),
                    message: "Choose one of the answers to the last question, or leave it".into(),
                });
                None
            }
        },
    };
    match score {
        Some(score) if problems.is_empty() => Ok(Answers {
            values: given.into_iter().flatten().collect(),
            follow_up,
            total: score.total,
            risk: !score.risk_items.is_empty(),
        }),
        _ => Err(problems),
    }
}

/// The questions of `instrument` for a form, with the answers already given in `form`.
pub(crate) fn questionnaire_form(instrument: &Instrument, form: &FormData) -> Value {
    let options: Vec<(String, String)> = instrument
        .options
        .iter()
        .map(|c| (c.value.to_string(), c.label.clone()))
        .collect();
    let items: Vec<Value> = instrument
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = item_field(i + 1);
            context! {
                n => i + 1,
                field => field.clone(),
                text => item.text.clone(),
                value => form.get(&field).to_owned(),
            }
        })
        .collect();
    let follow_up = instrument.follow_up.as_ref().map(|f| {
        context! {
            text => f.text.clone(),
            options => f.options.iter().enumerate().map(|(i, o)| (i.to_string(), o.clone())).collect::<Vec<_>>(),
            value => form.get("follow_up").to_owned(),
        }
    });
    context! {
        id => instrument.id.clone(),
        short => instrument.short.clone(),
        name => instrument.name.clone(),
        stem => instrument.stem.clone(),
        attribution => instrument.attribution.clone(),
        options,
        items,
        count => instrument.items.len(),
        follow_up,
    }
}

/// The therapist's email when a risk answer comes in: no name, no answers, no score.
pub(crate) fn flag_email(view: &PracticeView, public_url: &str) -> NewMessage {
    NewMessage {
        kind: FLAG_EMAIL_KIND.into(),
        to: view.practice.details.notify_email.clone(),
        subject: "A questionnaire needs your attention".into(),
        body_text: format!(
            "A client's answers to a questionnaire need your attention.\n\n\
             Sign in to see them: {public_url}/office\n\n\
             The answers are not in this email, to keep them private.\n"
        ),
        calendar: None,
    }
}

/// The therapist's email when a client asks not to be sent questionnaires (their name is
/// in the office, not here).
pub(crate) fn stopped_email(view: &PracticeView, public_url: &str) -> NewMessage {
    NewMessage {
        kind: STOPPED_EMAIL_KIND.into(),
        to: view.practice.details.notify_email.clone(),
        subject: "A client has asked not to be sent questionnaires".into(),
        body_text: format!(
            "A client has asked, in their portal, not to be sent questionnaires any more. \
             Nothing else about their sessions changes.\n\n\
             You may want to talk about it together. Sign in to see who: {public_url}/office\n"
        ),
        calendar: None,
    }
}

/// The client's email asking for a questionnaire. It never names the questionnaire (its
/// name says what it asks about, and others may see an inbox).
pub(crate) fn request_email(
    view: &PracticeView,
    to: &EmailAddress,
    session_start: Option<Timestamp>,
    questionnaire: &Questionnaire,
    public_url: &str,
) -> NewMessage {
    let first_name = questionnaire
        .client_name
        .as_str()
        .split_whitespace()
        .next()
        .unwrap_or("");
    let before = match session_start {
        Some(at) => format!("before your session on {} (UK time)", view.when(at)),
        None => "when you have a few minutes".into(),
    };
    NewMessage {
        kind: REQUEST_EMAIL_KIND.into(),
        to: to.clone(),
        subject: "A short questionnaire before your session".into(),
        body_text: format!(
            "Dear {first_name},\n\n\
             As we agreed, please fill in a short questionnaire {before}. It takes a few \
             minutes, and we can look at it together.\n\n\
             Sign in to your portal to fill it in: {public_url}/portal/sign-in\n\n\
             If you would rather not be sent questionnaires, you can say so in the portal at \
             any time; nothing else about your sessions changes.\n\n{practice}\n",
            practice = view.practice.details.name,
        ),
        calendar: None,
    }
}

/// Ask for the questionnaires due before sessions starting within [`ASK_AHEAD`], as each
/// active contract's plan says, with an email for each. Returns how many were asked for.
/// Idempotent: the store asks once per contract, session and instrument.
pub(crate) async fn ask_due(state: &Here, view: &PracticeView, now: Timestamp) -> WebResult<usize> {
    let store = state.store();
    let practice = state.practice_id();
    let plans = store.measure_plans(practice, None).await?;
    if plans.is_empty() {
        return Ok(0);
    }
    let until = now.checked_add(ASK_AHEAD).unwrap_or(now);
    // A fortnight back holds the session before each (for open-ended reviews).
    let since = now
        .checked_sub(SignedDuration::from_hours(24 * 15))
        .unwrap_or(now);
    let (sessions, contracts) = tokio::try_join!(
        store.sessions_between(practice, since, until),
        store.active_contracts(practice),
    )?;
    let mut requests: Vec<(NewRequest, Timestamp)> = Vec::new();
    for session in sessions
        .iter()
        .filter(|s| s.start > now && s.status == SessionStatus::Scheduled)
    {
        let (Some(number), Some(contract)) = (
            session.number,
            contracts.iter().find(|c| c.id == session.contract),
        ) else {
            continue;
        };
        let terms = &contract.current().terms;
        let previous = sessions
            .iter()
            .rfind(|s| {
                s.contract == session.contract && s.start < session.start && s.status.counts()
            })
            .map(|s| view.zone.to_datetime(s.start).date());
        let date = view.zone.to_datetime(session.start).date();
        for (_, plan) in plans.iter().filter(|(c, _)| *c == session.contract) {
            if let Some(occasion) = plan.schedule.due(terms, number, date, previous) {
                requests.push((
                    NewRequest {
                        client: session.client,
                        contract: session.contract,
                        instrument: plan.instrument.clone(),
                        occasion,
                        session_number: number,
                    },
                    session.start,
                ));
            }
        }
    }
    if requests.is_empty() {
        return Ok(0);
    }
    // Leave out those asked for already, so that the write happens only for new ones.
    let mut clients: Vec<store::ClientId> = requests.iter().map(|(r, _)| r.client).collect();
    clients.sort_unstable();
    clients.dedup();
    let mut emails = Vec::new();
    for client in clients {
        let asked = store.questionnaires(practice, client).await?;
        requests.retain(|(r, _)| {
            r.client != client
                || !asked.iter().any(|q| {
                    q.contract == r.contract
                        && q.session_number == r.session_number
                        && q.instrument == r.instrument
                })
        });
        if requests.iter().any(|(r, _)| r.client == client) {
            emails.push((client, store.client(practice, client).await?.email));
        }
    }
    if requests.is_empty() {
        return Ok(0);
    }
    let public_url = state.public_url();
    let email = |q: &Questionnaire| {
        let to = emails
            .iter()
            .find(|(c, _)| *c == q.client)
            .map(|(_, e)| e)?;
        // One email per session, however many questionnaires it asks for.
        let first_for_session = requests
            .iter()
            .find(|(r, _)| r.contract == q.contract && r.session_number == q.session_number)
            .is_some_and(|(r, _)| r.instrument == q.instrument);
        let start = requests
            .iter()
            .find(|(r, _)| r.contract == q.contract && r.session_number == q.session_number)
            .map(|(_, at)| *at);
        first_for_session.then(|| request_email(view, to, start, q, public_url))
    };
    let new: Vec<NewRequest> = requests.iter().map(|(r, _)| r.clone()).collect();
    Ok(store
        .request_questionnaires(practice, &new, &email, now)
        .await?
        .len())
}

/// "At the start of the work", with the session: "Before session 6 (a review)".
pub(crate) fn occasion_words(occasion: Occasion, session_number: u32) -> String {
    match occasion {
        Occasion::Consultation => "At the consultation".into(),
        Occasion::Other => format!("Session {session_number}"),
        other => format!(
            "Session {session_number} ({})",
            other.label().to_lowercase()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_required_and_must_be_an_option() {
        let phq = &SHIPPED[0];
        let mut fields: Vec<(String, String)> =
            (1..=9).map(|n| (item_field(n), "0".to_owned())).collect();
        fields[2].1 = String::new();
        fields[4].1 = "7".into();
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let problems = read_answers(phq, &FormData::from_pairs(&pairs)).unwrap_err();
        let at: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(at, ["item_3", "item_5"]);
        assert_eq!(problems[0].message, "Choose an answer to question 3");
        fields[2].1 = "0".into();
        fields[4].1 = "0".into();
        fields[8].1 = "1".into();
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answers = read_answers(phq, &FormData::from_pairs(&pairs)).unwrap();
        assert!(answers.risk, "item 9 above zero");
        assert_eq!(answers.total, 1, "the total is kept with the answers");
        assert_eq!(
            answers.follow_up, None,
            "the follow-up question may be left"
        );
        assert_eq!(score_of(phq, &answers).unwrap().total, 1);
        let disagreeing = Answers {
            total: 2,
            ..answers
        };
        assert!(
            score_of(phq, &disagreeing).is_err(),
            "a stored total that disagrees with the answers is never shown"
        );
    }
}
