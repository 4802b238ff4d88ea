//! Completed questionnaires as FHIR R4 `QuestionnaireResponse` resources, in a `collection`
//! Bundle (`questionnaires.fhir.json` in the client's data export), so that the answers can go
//! to another system. Each names its questionnaire by LOINC where one exists (PHQ-9: panel
//! 44249-1, `http://loinc.org/q/44249-1`), otherwise by a URN of Anteroom's
//! (`urn:anteroom:instrument:gad-7`); gives each item's chosen option (its value as the code,
//! its label as the display); and adds the total score as a last item whose `linkId` is the
//! LOINC code of the total where one exists (PHQ-9 44261-6, GAD-7 70274-6).

use domain::measures::Instrument;
use serde_json::{Value as Json, json};
use store::{EnteredBy, Questionnaire};

use super::Catalogue;
use crate::{WebError, error::WebResult};

/// The canonical URL of the questionnaire an instrument is.
fn canonical(instrument: &Instrument) -> String {
    match &instrument.loinc_panel {
        Some(code) => format!("http://loinc.org/q/{code}"),
        None => format!("urn:anteroom:instrument:{}", instrument.id),
    }
}

/// One completed questionnaire as a `QuestionnaireResponse` (`None` while unanswered).
pub(crate) fn response(instrument: &Instrument, q: &Questionnaire) -> WebResult<Option<Json>> {
    let Some((at, by, answers)) = &q.completed else {
        return Ok(None);
    };
    let score = super::score_of(instrument, answers)?;
    let mut items: Vec<Json> = instrument
        .items
        .iter()
        .zip(&answers.values)
        .enumerate()
        .map(|(i, (item, value))| {
            let label = instrument
                .options
                .iter()
                .find(|c| c.value == *value)
                .map_or("", |c| c.label.as_str());
            json!({
                "linkId": (i + 1).to_string(),
                "text": item.text,
                "answer": [{ "valueCoding": { "code": value.to_string(), "display": label } }],
            })
        })
        .collect();
    if let (Some(question), Some(chosen)) = (&instrument.follow_up, answers.follow_up) {
        let label = question
            .options
            .get(usize::from(chosen))
            .map_or("", String::as_str);
        items.push(json!({
            "linkId": "follow-up",
            "text": question.text,
            "answer": [{ "valueCoding": { "code": chosen.to_string(), "display": label } }],
        }));
    }
    let total_id = instrument
        .loinc_total
        .clone()
        .unwrap_or_else(|| "total".to_owned());
    items.push(json!({
        "linkId": total_id,
        "text": format!("{} total score", instrument.short),
        "answer": [{ "valueInteger": score.total }],
    }));
    Ok(Some(json!({
        "resourceType": "QuestionnaireResponse",
        "id": format!("questionnaire-{}", q.id),
        "questionnaire": canonical(instrument),
        "status": "completed",
        "subject": { "display": q.client_name.as_str() },
        "authored": at.to_string(),
        "author": { "display": match by {
            EnteredBy::Client => "The client, in the practice's portal",
            EnteredBy::Therapist => "The therapist, from answers given in a session",
        } },
        "item": items,
    })))
}

/// Every completed questionnaire of `questionnaires` in a FHIR `collection` Bundle.
pub(crate) fn bundle(
    catalogue: &Catalogue,
    questionnaires: &[Questionnaire],
    now: jiff::Timestamp,
) -> WebResult<Json> {
    let mut entries = Vec::new();
    for q in questionnaires {
        let instrument = catalogue.get(&q.instrument).ok_or_else(|| {
            WebError::Internal(anyhow::anyhow!(
                "the practice has no instrument {}",
                q.instrument
            ))
        })?;
        if let Some(resource) = response(instrument, q)? {
            entries.push(json!({
                "fullUrl": format!("urn:anteroom:questionnaire:{}", q.id),
                "resource": resource,
            }));
        }
    }
    Ok(json!({
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.to_string(),
        "entry": entries,
    }))
}

#[cfg(test)]
mod tests {
    use domain::{PersonName, measures::plan::Occasion};
    use jiff::Timestamp;
    use store::{Answers, ClientId, ContractId, QuestionnaireId};

    use super::*;

    fn answered(instrument: &str, values: Vec<u8>) -> Questionnaire {
        let at: Timestamp = "2027-03-25T09:00:00Z".parse().unwrap();
        Questionnaire {
            id: QuestionnaireId::new(7),
            client: ClientId::new(1),
            client_name: PersonName::parse("Robin Vale").unwrap(),
            contract: ContractId::new(2),
            instrument: instrument.into(),
            occasion: Occasion::First,
            session_number: 1,
            requested_at: at,
            withdrawn_at: None,
            completed: Some((
                at,
                EnteredBy::Client,
                Answers {
                    total: values.iter().copied().map(u32::from).sum(),
                    values,
                    follow_up: Some(2),
                    risk: false,
                },
            )),
            acknowledged: None,
        }
    }

    #[test]
    fn a_phq9_is_a_questionnaire_response_with_loinc_codes() {
        let phq = &domain::measures::shipped()[0];
        let json = response(phq, &answered("phq-9", vec![1, 2, 0, 0, 3, 0, 1, 0, 0]))
            .unwrap()
            .unwrap();
        assert_eq!(json["resourceType"], "QuestionnaireResponse");
        assert_eq!(json["status"], "completed");
        assert_eq!(json["questionnaire"], "http://loinc.org/q/44249-1");
        assert_eq!(json["authored"], "2027-03-25T09:00:00Z");
        let items = json["item"].as_array().unwrap();
        assert_eq!(
            items.len(),
            9 + 1 + 1,
            "nine items, the follow-up, the total"
        );
        assert_eq!(
            items[1]["answer"][0]["valueCoding"]["display"],
            "More than half the days"
        );
        assert_eq!(
            items[9]["answer"][0]["valueCoding"]["display"],
            "Very difficult"
        );
        assert_eq!(items[10]["linkId"], "44261-6");
        assert_eq!(items[10]["answer"][0]["valueInteger"], 7);
    }

    #[test]
    fn a_gad7_has_its_total_code_and_an_anteroom_questionnaire() {
        let gad = &domain::measures::shipped()[1];
        let json = response(gad, &answered("gad-7", vec![3; 7]))
            .unwrap()
            .unwrap();
        assert_eq!(json["questionnaire"], "urn:anteroom:instrument:gad-7");
        let items = json["item"].as_array().unwrap();
        let total = items.last().unwrap();
        assert_eq!(
            (
                total["linkId"].as_str(),
                total["answer"][0]["valueInteger"].as_u64()
            ),
            (Some("70274-6"), Some(21))
        );
    }
}
