//! Measures over HTTP (issue 14): a contract's plan asks for a questionnaire before its
//! session, the reminder mentions it, the client answers in the portal (one page or one
//! question per screen, no script), a risk answer shows the crisis block at once and raises
//! a flag that stays first on Today until acknowledged with a note (audited exactly), and
//! no email carries an answer, a score or a name; the therapist enters answers, sees the
//! change in words and the chart; outcomes hide small numbers; CORE-10 is added from the
//! practice's own wording.

use jiff::SignedDuration;
use reqwest::StatusCode;
use store::{AuditAction, ClientId, OutboxMessage, QuestionnaireId};

use crate::{
    helpers::{TestApp, assert_crisis_block},
    office_therapy::robin_on_mondays,
    portal::{Browser, add_client, sign_in},
};

/// PHQ-9 answers: `values` for items 1 to 9.
fn answers(values: [u8; 9]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("item_{}", i + 1), v.to_string()))
        .collect()
}

fn form(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn jobs(app: &TestApp) {
    web::jobs::run_once(&app.state).await.unwrap();
}

fn of_kind<'o>(outbox: &'o [OutboxMessage], kind: &str) -> Vec<&'o OutboxMessage> {
    outbox.iter().filter(|m| m.kind == kind).collect()
}

/// Robin's contract asks for PHQ-9 before the first session, and reminders go a day ahead.
async fn robin_with_phq9(app: &TestApp) -> ClientId {
    let robin = robin_on_mondays(app).await;
    app.sign_in().await;
    app.office_post(
        "/office/settings/therapy",
        &[
            ("session_reminder_hours", "24"),
            ("break_notice_days", "28"),
            ("invoice_mode", "per_session"),
            ("payment_terms_days", "14"),
            ("bank_details", ""),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let contract = app.store.contracts(app.practice, robin).await.unwrap()[0].id;
    // A mistake at its field, nothing stored.
    app.office_post(
        &format!("/office/clients/{robin}/contracts/{contract}/measures"),
        &[("phq-9_first", "true"), ("phq-9_every", "0")],
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.store
            .measure_plans(app.practice, Some(contract))
            .await
            .unwrap()
            .is_empty()
    );
    app.office_post(
        &format!("/office/clients/{robin}/contracts/{contract}/measures"),
        &[("phq-9_first", "true"), ("phq-9_every", "")],
    )
    .await
    .assert_redirect(&format!("/office/clients/{robin}#measures"));
    robin
}

/// The questionnaire asked of `client`, from the store.
async fn asked(app: &TestApp, client: ClientId) -> Vec<store::Questionnaire> {
    app.store
        .questionnaires(app.practice, client)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_risk_answer_shows_help_at_once_and_stays_first_on_today_until_acknowledged() {
    let app = TestApp::spawn().await;
    let robin = robin_with_phq9(&app).await;
    // Thursday: the first session (Monday 10am) is more than three days away.
    jobs(&app).await;
    assert!(asked(&app, robin).await.is_empty(), "not yet");
    // Friday afternoon: within three days; asked once, however often the job runs.
    app.advance_clock(SignedDuration::from_hours(30));
    jobs(&app).await;
    jobs(&app).await;
    let questionnaires = asked(&app, robin).await;
    assert_eq!(questionnaires.len(), 1);
    let q = &questionnaires[0];
    assert_eq!((q.instrument.as_str(), q.session_number), ("phq-9", 1));
    let outbox = app.outbox().await;
    let requests = of_kind(&outbox, "questionnaire");
    assert_eq!(requests.len(), 1);
    let request = requests[0];
    assert_eq!(request.to.as_str(), "robin@example.com");
    assert!(request.body_text.contains("/portal/sign-in"));
    assert!(
        !request.body_text.contains("PHQ") && !request.subject.contains("PHQ"),
        "the email never names the questionnaire"
    );
    // Sunday morning: the reminder mentions it too.
    app.advance_clock(SignedDuration::from_hours(43));
    jobs(&app).await;
    let outbox = app.outbox().await;
    let reminder = of_kind(&outbox, "session_reminder")[0];
    assert!(
        reminder
            .body_text
            .contains("please fill in the short questionnaire we agreed")
    );

    // Robin fills it in on his phone.
    let browser = Browser::new(&app);
    sign_in(&app, &browser, "robin@example.com").await;
    let home = browser.get("/portal").await;
    let link = format!("/portal/questionnaires/{}", q.id);
    assert!(home.body.contains(&link), "the portal links to it");
    let page = browser.get(&link).await;
    page.assert_status(StatusCode::OK);
    assert!(!page.body.contains("<script"), "a plain form, no script");
    assert!(page.body.contains("Over the last 2 weeks"));
    assert!(page.body.contains("Developed by Drs. Robert L. Spitzer"));
    let before = app
        .store
        .recent_audit(app.practice, 500)
        .await
        .unwrap()
        .len();
    // One question left out: a message at it, and nothing stored.
    let mut partial = answers([1, 1, 0, 2, 0, 1, 0, 0, 1]);
    partial.remove(2);
    let refused = browser.post(&link, &form(&partial)).await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.title().starts_with("Error:"));
    assert!(
        refused
            .body
            .contains(r##"href="#item_3">Choose an answer to question 3"##)
    );
    assert!(asked(&app, robin).await[0].is_open());
    // Item 9 answered "Several days".
    let given = answers([1, 1, 0, 2, 0, 1, 0, 0, 1]);
    browser
        .post(&link, &form(&given))
        .await
        .assert_redirect(&format!("{link}/done"));
    let done = browser.get(&format!("{link}/done")).await;
    done.assert_status(StatusCode::OK);
    let body = done.decoded();
    let help = body
        .find("If you are thinking about hurting yourself")
        .unwrap();
    assert!(
        help < body.find("Your answers have been saved").unwrap(),
        "help first"
    );
    for words in [
        "999",
        "A&E",
        "option 2",
        "116 123",
        "SHOUT",
        "85258",
        "will see your answers",
    ] {
        assert!(body[help..].contains(words), "{words}");
    }
    assert_crisis_block(&done.body);
    // A second click changes nothing.
    browser
        .post(&link, &form(&answers([0; 9])))
        .await
        .assert_redirect(&format!("{link}/done"));
    let stored = asked(&app, robin).await.remove(0);
    let (_, by, kept) = stored.completed.clone().unwrap();
    assert_eq!(by, store::EnteredBy::Client);
    assert_eq!(kept.values, [1, 1, 0, 2, 0, 1, 0, 0, 1]);
    assert!(kept.risk && stored.is_flagged());

    // The therapist is told that something needs attention, and nothing else.
    let outbox = app.outbox().await;
    let flags = of_kind(&outbox, "questionnaire_flag");
    assert_eq!(flags.len(), 1, "once");
    let flag = flags[0];
    assert_eq!(flag.subject, "A questionnaire needs your attention");
    for secret in [
        "Robin",
        "Vale",
        "PHQ",
        "Several days",
        "score",
        "item",
        "mild",
    ] {
        assert!(
            !flag.subject.contains(secret) && !flag.body_text.contains(secret),
            "the flag email mentions {secret:?}"
        );
    }

    // Today shows it before anything else, until it is acknowledged.
    app.sign_in().await;
    let today = app.office_get("/office").await;
    let text = today.decoded();
    let panel = text.find("A questionnaire needs your attention").unwrap();
    assert!(panel < text.find("Signed in as").unwrap());
    assert!(text.contains("PHQ-9 from R.V."));
    let client_page = app.office_get(&format!("/office/clients/{robin}")).await;
    let text = client_page.decoded();
    assert!(
        text.find("An answer needs your attention").unwrap() < text.find("Email").unwrap(),
        "at the top of the client's page"
    );
    let office_link = format!("/office/questionnaires/{}", q.id);
    let answers_page = app.office_get(&office_link).await;
    answers_page.assert_status(StatusCode::OK);
    let text = answers_page.decoded();
    assert!(text.contains("6 out of 27: mild"));
    assert!(text.contains("Thoughts that you would be better off dead"));
    assert_eq!(text.matches("Needs attention").count(), 1);
    // Acknowledging needs a note.
    let empty = app
        .office_post(&format!("{office_link}/acknowledge"), &[("note", "  ")])
        .await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        empty
            .body
            .contains("Write what you have done or will do about it")
    );
    app.office_post(
        &format!("{office_link}/acknowledge"),
        &[("note", "Phoned the same afternoon; safety plan agreed.")],
    )
    .await
    .assert_redirect(&office_link);
    let today = app.office_get("/office").await;
    assert!(!today.body.contains("needs your attention"));
    let acknowledged = asked(&app, robin).await.remove(0).acknowledged.unwrap();
    assert_eq!(
        acknowledged.note,
        "Phoned the same afternoon; safety plan agreed."
    );

    // The audit log, exactly: each entry names the questionnaire and Robin, none its words.
    let mut entries = app.store.recent_audit(app.practice, 500).await.unwrap();
    entries.truncate(entries.len() - before);
    entries.reverse();
    let object = Some("questionnaire".to_owned());
    let ours: Vec<(&str, Option<String>, Option<i64>)> = entries
        .iter()
        .filter(|e| e.object_kind == object)
        .map(|e| (e.action.as_str(), e.object_kind.clone(), e.object_id))
        .collect();
    let id = Some(q.id.get());
    assert_eq!(
        ours,
        [
            (
                AuditAction::PortalQuestionnaireAnswered.code(),
                object.clone(),
                id
            ),
            (AuditAction::PortalViewed.code(), object.clone(), id),
            (
                AuditAction::PortalQuestionnaireAnswered.code(),
                object.clone(),
                id
            ),
            (AuditAction::QuestionnaireViewed.code(), object.clone(), id),
            (AuditAction::FlagAcknowledged.code(), object.clone(), id),
        ]
    );
    assert!(
        entries
            .iter()
            .filter(|e| e.object_kind == object)
            .all(|e| e.client == Some(robin))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_question_per_screen_keeps_the_answers_in_the_form_until_the_last() {
    let app = TestApp::spawn().await;
    let robin = robin_with_phq9(&app).await;
    app.advance_clock(SignedDuration::from_hours(30));
    jobs(&app).await;
    let q = asked(&app, robin).await.remove(0);
    let browser = Browser::new(&app);
    sign_in(&app, &browser, "robin@example.com").await;
    let link = format!("/portal/questionnaires/{}", q.id);
    let first = browser.get(&format!("{link}?one=1")).await;
    assert!(first.body.contains("Question 1 of 9"));
    assert!(first.body.contains(r#"<progress max="10" value="1""#));
    assert!(!first.body.contains("<script"));
    // Next without an answer: the same question, with a message.
    let step = format!("{link}/step");
    let missing = browser.post(&step, &[("at", "1")]).await;
    missing.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.body.contains("Choose an answer to question 1"));
    assert!(missing.body.contains("Question 1 of 9"));
    // Each screen carries the answers so far.
    let mut so_far: Vec<(String, String)> = Vec::new();
    for n in 1..=9u8 {
        let value = if n == 9 { 0 } else { n % 4 };
        so_far.push((format!("item_{n}"), value.to_string()));
        let mut fields = so_far.clone();
        fields.push(("at".into(), n.to_string()));
        let next = browser.post(&step, &form(&fields)).await;
        next.assert_status(StatusCode::OK);
        if n < 9 {
            assert!(next.body.contains(&format!("Question {} of 9", n + 1)));
            assert!(
                next.body
                    .contains(&format!(r#"name="item_{n}" value="{value}""#))
            );
        } else {
            assert!(next.body.contains("One last question"));
            assert!(
                next.body
                    .contains("how difficult have these problems made it")
            );
            assert!(
                next.body.contains(&format!(r#"action="{link}""#)),
                "the last sends all"
            );
        }
    }
    // Back goes to the previous question with its answer still chosen.
    let mut fields = so_far.clone();
    fields.extend([("at".into(), "5".into()), ("back".into(), "1".into())]);
    let back = browser.post(&step, &form(&fields)).await;
    assert!(back.body.contains("Question 4 of 9"));
    let mut all = so_far.clone();
    all.push(("follow_up".into(), "1".into()));
    browser
        .post(&link, &form(&all))
        .await
        .assert_redirect(&format!("{link}/done"));
    let done = browser.get(&format!("{link}/done")).await;
    assert!(done.body.contains("Thank you"));
    assert!(
        !done
            .body
            .contains("If you are thinking about hurting yourself"),
        "no risk"
    );
    let (_, _, kept) = asked(&app, robin).await.remove(0).completed.unwrap();
    assert_eq!(kept.values, [1, 2, 3, 0, 1, 2, 3, 0, 0]);
    assert_eq!(kept.follow_up, Some(1));
    assert!(!kept.risk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_may_stop_questionnaires_and_the_therapist_is_told() {
    let app = TestApp::spawn().await;
    let robin = robin_with_phq9(&app).await;
    app.advance_clock(SignedDuration::from_hours(30));
    jobs(&app).await;
    let q = asked(&app, robin).await.remove(0);
    let browser = Browser::new(&app);
    sign_in(&app, &browser, "robin@example.com").await;
    browser
        .post("/portal/measures/stop", &[])
        .await
        .assert_redirect("/portal?questionnaires=stopped#questionnaires");
    let home = browser.get("/portal?questionnaires=stopped").await;
    assert!(
        home.body
            .contains("You will not be sent questionnaires any more")
    );
    assert!(home.body.contains("Send me questionnaires again"));
    assert!(
        !home
            .body
            .contains(&format!("/portal/questionnaires/{}", q.id))
    );
    let outbox = app.outbox().await;
    let told = of_kind(&outbox, "questionnaires_stopped");
    assert_eq!(told.len(), 1);
    assert!(!told[0].body_text.contains("Robin"));
    assert!(asked(&app, robin).await[0].withdrawn_at.is_some());
    app.sign_in().await;
    let page = app.office_get(&format!("/office/clients/{robin}")).await;
    assert!(page.decoded().contains("asked on"));
    // Asking again sends questionnaires again from the next due.
    browser
        .post("/portal/measures/resume", &[])
        .await
        .assert_redirect("/portal?questionnaires=resumed#questionnaires");
    assert!(
        app.store
            .measures_stopped(app.practice, robin)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_given_in_a_session_are_entered_and_the_change_is_told_in_words() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    app.sign_in().await;
    let entry = format!("/office/clients/{robin}/questionnaires/new");
    let page = app.office_get(&format!("{entry}?instrument=phq-9")).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("At the consultation"));
    // Every item is needed.
    let mut partial = answers([3, 2, 2, 2, 2, 2, 2, 2, 0]);
    partial.remove(8);
    partial.extend([
        ("instrument".into(), "phq-9".into()),
        ("session".into(), "0".into()),
    ]);
    let refused = app.office_post(&entry, &form(&partial)).await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Choose an answer to question 9"));
    for (session, values) in [
        ("0", [3, 2, 2, 2, 3, 2, 2, 2, 0]),
        ("1", [1, 1, 1, 1, 1, 1, 1, 1, 0]),
    ] {
        let mut fields = answers(values);
        fields.extend([
            ("instrument".into(), "phq-9".into()),
            ("session".into(), session.into()),
        ]);
        let reply = app.office_post(&entry, &form(&fields)).await;
        reply.assert_status(StatusCode::SEE_OTHER);
        assert!(
            reply
                .location()
                .unwrap()
                .starts_with("/office/questionnaires/")
        );
    }
    // The same session twice is refused at the field.
    let mut again = answers([0; 9]);
    again.extend([
        ("instrument".into(), "phq-9".into()),
        ("session".into(), "1".into()),
    ]);
    let twice = app.office_post(&entry, &form(&again)).await;
    twice.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        twice
            .body
            .contains("already been answered for that session")
    );
    let page = app.office_get(&format!("/office/clients/{robin}")).await;
    let text = page.decoded();
    assert!(text.contains("Down 10 points, from 18 to 8."));
    assert!(text.contains("That is a reliable improvement"));
    assert!(text.contains("moved below the clinical cut-off (10)"));
    assert!(text.contains(r#"<svg class="chart""#));
    assert_eq!(
        text.matches(r#"marker-mid="url(#chart-phq-9-dot)""#)
            .count(),
        1,
        "both scores on one line, each marked"
    );
    assert!(text.contains("Every PHQ-9 score"), "the table alternative");
    let all = app
        .office_get(&format!("/office/clients/{robin}/measures/phq-9"))
        .await;
    all.assert_status(StatusCode::OK);
    assert!(all.body.contains("2 scores, newest first"));
    assert_eq!(all.body.matches("/office/questionnaires/").count(), 2);
    app.office_get(&format!("/office/clients/{robin}/measures/nothing"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(
        !app.outbox()
            .await
            .iter()
            .any(|m| m.kind == "questionnaire_flag")
    );
}

/// Weekly open-ended work for `client`, on a weekday and hour of its own (`n` from 0).
async fn contract_for(app: &TestApp, client: ClientId, n: usize) {
    use domain::{
        Pence, Slug,
        therapy::{ContractKind, ContractTerms, Frequency, WeeklyTime},
    };
    let days = [
        jiff::civil::Weekday::Monday,
        jiff::civil::Weekday::Tuesday,
        jiff::civil::Weekday::Wednesday,
    ];
    let terms = ContractTerms {
        kind: ContractKind::OpenEnded {
            review_every_weeks: 6,
        },
        frequency: Frequency::Weekly,
        times: vec![WeeklyTime {
            weekday: days[n % 3],
            time: jiff::civil::time(12 + i8::try_from(n).unwrap(), 0, 0, 0),
        }],
        location: Slug::parse("balham").unwrap(),
        minutes: 50,
        fee: Pence::new(7000),
        start: jiff::civil::date(2027, 3, 29),
        policy_version: 1,
    };
    let planner = crate::office_therapy::planner(app).await;
    let now = app.clock.now();
    app.store
        .save_contract(app.practice, client, None, &terms, "", now, &planner, now)
        .await
        .unwrap();
}

/// Clients' ended work, each with a first and a latest PHQ-9 entered.
async fn ended_work(app: &TestApp, clients: usize) {
    for n in 0..clients {
        let client = add_client(
            app,
            &format!("Client Number{n}"),
            &format!("c{n}@example.com"),
        )
        .await;
        contract_for(app, client, n).await;
        let entry = format!("/office/clients/{client}/questionnaires/new");
        for (session, values) in [
            ("0", [2, 2, 2, 2, 2, 2, 2, 2, 0]),
            ("1", [1, 1, 0, 0, 0, 1, 0, 0, 0]),
        ] {
            let mut fields = answers(values);
            fields.extend([
                ("instrument".into(), "phq-9".into()),
                ("session".into(), session.into()),
            ]);
            app.office_post(&entry, &form(&fields))
                .await
                .assert_status(StatusCode::SEE_OTHER);
        }
        let contract = app.store.contracts(app.practice, client).await.unwrap()[0].id;
        app.office_post(
            &format!("/office/clients/{client}/contracts/{contract}/end"),
            &[],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_show_no_figure_for_fewer_than_five_clients() {
    let app = TestApp::spawn().await;
    app.sign_in().await;
    ended_work(&app, 4).await;
    let page = app.office_get("/office/outcomes").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Not shown: fewer than 5 clients"));
    let csv = app.office_get("/office/outcomes.csv").await;
    assert!(csv.body.contains("PHQ-9,fewer than 5 clients"));
    ended_work(&app, 1).await;
    let page = app.office_get("/office/outcomes").await;
    assert!(!page.body.contains("Not shown"));
    assert!(page.body.contains("NHS Talking Therapies"));
    let csv = app.office_get("/office/outcomes.csv").await;
    // 16 → 3 each: started above, reliable improvement, recovered, reliably recovered.
    assert!(csv.body.contains("PHQ-9,5,5,5,0,5,5\n"), "{}", csv.body);
    assert!(!csv.body.contains("Client"), "counts, never names");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core10_is_added_from_the_practices_own_wording_and_scored_by_the_published_rules() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    app.sign_in().await;
    let page = app.office_get("/office/settings/measures").await;
    assert!(page.decoded().contains("© CORE System Trust"));
    let mut fields: Vec<(String, String)> = vec![("stem".into(), "Over the last week".into())];
    for (i, heading) in ["None", "Little", "Some", "Often", "Most"]
        .iter()
        .enumerate()
    {
        fields.push((format!("option_{}", i + 1), (*heading).into()));
    }
    for n in 1..=10 {
        fields.push((
            format!("item_{n}"),
            if n == 7 {
                String::new()
            } else {
                format!("Question {n}")
            },
        ));
    }
    let refused = app
        .office_post("/office/settings/measures", &form(&fields))
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("Enter question 7 as your copy of the form prints it")
    );
    fields[12].1 = "Question 7".into();
    let saved = app
        .office_post("/office/settings/measures", &form(&fields))
        .await;
    saved.assert_status(StatusCode::OK);
    assert!(saved.body.contains("CORE-10 is ready to use"));
    // It can be agreed and entered; items 2 and 3 count in reverse.
    let entry = format!("/office/clients/{robin}/questionnaires/new");
    let mut answers: Vec<(String, String)> = (1..=10)
        .map(|n| (format!("item_{n}"), "0".to_owned()))
        .collect();
    answers.extend([
        ("instrument".into(), "core-10".into()),
        ("session".into(), "0".into()),
    ]);
    let reply = app.office_post(&entry, &form(&answers)).await;
    let link = reply.location().unwrap().to_owned();
    let page = app.office_get(&link).await;
    let text = page.decoded();
    assert!(text.contains("8 out of 40: low level"), "{text}");
    assert!(text.contains("© CORE System Trust"));
    let id = QuestionnaireId::parse(link.trim_start_matches("/office/questionnaires/")).unwrap();
    assert!(app.store.questionnaire(app.practice, id).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_therapist_can_ask_for_a_questionnaire_before_the_next_session_once() {
    let app = TestApp::spawn().await;
    let robin = robin_on_mondays(&app).await;
    app.sign_in().await;
    let ask = format!("/office/clients/{robin}/questionnaires/ask");
    app.office_post(&ask, &[("instrument", "gad-7")])
        .await
        .assert_redirect(&format!("/office/clients/{robin}?asked=sent#measures"));
    let outbox = app.outbox().await;
    let sent = of_kind(&outbox, "questionnaire");
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .body_text
            .contains("before your session on Monday 29 March 2027")
    );
    assert!(!sent[0].body_text.contains("GAD"));
    app.office_post(&ask, &[("instrument", "gad-7")])
        .await
        .assert_redirect(&format!("/office/clients/{robin}?asked=already#measures"));
    assert_eq!(of_kind(&app.outbox().await, "questionnaire").len(), 1);
    app.office_post(&ask, &[("instrument", "nonsense")])
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let q = asked(&app, robin).await.remove(0);
    assert_eq!((q.instrument.as_str(), q.session_number), ("gad-7", 1));
}
