//! Each practice's own key, wrapped by the host key (issue 12): one per practice, taken
//! once even by two processes at the same moment, and taken over without loss by a
//! practice whose secrets were under the host key itself.

use domain::{ContactPreference, EmailAddress, PersonName};
use reqwest::StatusCode;
use store::{ClientId, NewClient};
use web::keys::{PracticeKeys, client_key_binding, practice_binding};

use crate::helpers::TestApp;

async fn client(app: &TestApp, email: &str) -> ClientId {
    app.store
        .create_client(
            app.practice,
            &NewClient {
                name: PersonName::parse("Robin Vale").unwrap(),
                email: EmailAddress::parse(email).unwrap(),
                phone: None,
                contact_preference: ContactPreference::Email,
                reminders: true,
            },
            None,
            app.clock.now(),
        )
        .await
        .unwrap()
}

async fn write_note(app: &TestApp, client: ClientId, text: &str) {
    app.sign_in().await;
    app.office_post(
        &format!("/office/clients/{client}/notes"),
        &[("note", text)],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    assert!(
        app.office_get(&format!("/office/clients/{client}"))
            .await
            .decoded()
            .contains(text),
        "the therapist reads the note back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hosted_practice_has_its_own_key_and_one_opens_nothing_of_another() {
    let first = TestApp::spawn_hosted().await;
    let second = first.second_practice().await;
    let host = first.config.host_key.clone().expect("a key file");
    let robin = client(&first, "robin@example.com").await;
    let sam = client(&second, "sam@example.com").await;
    write_note(&first, robin, "canary-first-4e1").await;
    write_note(&second, sam, "canary-second-8a2").await;

    let wrapped_first = first
        .store
        .practice_key(first.practice)
        .await
        .unwrap()
        .unwrap();
    let wrapped_second = first
        .store
        .practice_key(second.practice)
        .await
        .unwrap()
        .unwrap();
    let key_first = host
        .unwrap_key(&wrapped_first, &practice_binding(first.practice))
        .unwrap();
    let key_second = host
        .unwrap_key(&wrapped_second, &practice_binding(second.practice))
        .unwrap();
    assert_ne!(key_first.to_text(), key_second.to_text());
    assert!(
        host.unwrap_key(&wrapped_first, &practice_binding(second.practice))
            .is_err(),
        "a practice key moved to another practice's row does not open"
    );
    assert_eq!(first.store.host_key_id().await.unwrap().unwrap(), host.id());
    // The client's data key is under its practice's key, not the host key or another's.
    let robin_key = first
        .store
        .client_key(first.practice, robin)
        .await
        .unwrap()
        .unwrap();
    let binding = client_key_binding(first.practice, robin);
    assert!(key_first.unwrap(&robin_key, &binding).is_ok());
    assert!(key_second.unwrap(&robin_key, &binding).is_err());
    assert!(host.unwrap(&robin_key, &binding).is_err());
    for marker in ["canary-first-4e1", "canary-second-8a2"] {
        assert!(!first.database_contains(marker), "{marker} in the database");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_opening_a_new_practice_key_at_once_agree_on_one() {
    let app = TestApp::spawn().await;
    // The first process has not needed the key yet (nothing sealed so far).
    assert_eq!(app.store.practice_key(app.practice).await.unwrap(), None);
    let host = app.config.host_key.clone();
    let (stores, keys) = (
        [app.another_store().await, app.another_store().await],
        [PracticeKeys::new(host.clone()), PracticeKeys::new(host)],
    );
    let now = app.clock.now();
    let (one, two) = tokio::join!(
        keys[0].of(stores[0].as_ref(), app.practice, now),
        keys[1].of(stores[1].as_ref(), app.practice, now),
    );
    let opened = [one.expect("the key"), two.expect("the key")];
    assert_eq!(
        opened[0].to_text(),
        opened[1].to_text(),
        "one key, taken once"
    );
    let robin = client(&app, "robin@example.com").await;
    write_note(&app, robin, "canary-race-3c9").await;
    let wrapped = app
        .store
        .client_key(app.practice, robin)
        .await
        .unwrap()
        .unwrap();
    assert!(
        opened[0]
            .unwrap(&wrapped, &client_key_binding(app.practice, robin))
            .is_ok(),
        "the serving process uses the same key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_practice_from_before_practice_keys_takes_one_and_keeps_its_notes() {
    let app = TestApp::spawn().await;
    let host = app.config.host_key.clone().expect("a key file");
    let robin = client(&app, "robin@example.com").await;
    // As an older version stored them: the client's data key wrapped by the key file itself.
    let data_key = crypto::DataKey::generate();
    let binding = client_key_binding(app.practice, robin);
    app.store
        .add_client_key(
            app.practice,
            robin,
            &host.wrap(&data_key, &binding),
            app.clock.now(),
        )
        .await
        .unwrap();
    let seal = |note: store::NoteId| {
        data_key.seal(
            b"canary-legacy-77d: written before practice keys",
            &crypto::row_binding(app.practice.get(), "notes", note.get(), "body"),
        )
    };
    app.store
        .save_note(app.practice, robin, None, None, &seal, app.clock.now())
        .await
        .unwrap();
    assert_eq!(app.store.practice_key(app.practice).await.unwrap(), None);

    app.sign_in().await;
    let page = app.office_get(&format!("/office/clients/{robin}")).await;
    page.assert_status(StatusCode::OK);
    assert!(
        page.decoded().contains("canary-legacy-77d"),
        "the old note reads"
    );
    let own = host
        .unwrap_key(
            &app.store.practice_key(app.practice).await.unwrap().unwrap(),
            &practice_binding(app.practice),
        )
        .unwrap();
    let rewrapped = app
        .store
        .client_key(app.practice, robin)
        .await
        .unwrap()
        .unwrap();
    assert!(
        host.unwrap(&rewrapped, &binding).is_err(),
        "no longer under the key file"
    );
    assert!(own.unwrap(&rewrapped, &binding).is_ok());
    // A process started with another key file is refused before it wraps anything.
    let other = crypto::MasterKey::generate();
    assert!(matches!(
        web::keys::check_host_key(app.store.as_ref(), &other).await,
        Err(web::keys::KeyError::OtherHostKey)
    ));
}
