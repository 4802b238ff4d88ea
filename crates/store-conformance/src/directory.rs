//! The directory's store: each practice's listing settings and the operator's review.

use super::*;

use domain::directory::{ListingSettings, RawListingSettings};
use store::{HiddenListing, RegistrationCheck};

fn listed(help: &str) -> ListingSettings {
    ListingSettings::parse(&RawListingSettings {
        listed: true,
        help_with: vec![help.into()],
        approaches: vec!["psychodynamic".into()],
        ways: vec!["open-ended".into()],
        body: "ukcp".into(),
        number: "123".into(),
        accepting: true,
        ..Default::default()
    })
    .unwrap()
}

/// Run against an empty store: settings saved and read back, the id kept from the first
/// save, only listings turned on are listed, and the operator's check and hiding are kept
/// apart from the practice's own settings.
pub async fn directory_story(store: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let later = now + jiff::SignedDuration::from_mins(5);
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let first = store.create_practice(&setup, now).await.unwrap();
    let second = store.create_practice(&setup, now).await.unwrap();
    assert_eq!(store.listing_settings(first).await.unwrap(), None);
    assert!(store.listed_practices().await.unwrap().is_empty());

    let off = ListingSettings {
        listed: false,
        ..listed("anxiety")
    };
    let saved = store
        .save_listing_settings(first, &off, "id-one", now)
        .await
        .unwrap();
    assert_eq!(saved.id, "id-one");
    assert_eq!(saved.settings, off);
    assert!(
        store.listed_practices().await.unwrap().is_empty(),
        "saved but not turned on"
    );

    let on = listed("loss");
    let saved = store
        .save_listing_settings(first, &on, "id-other", later)
        .await
        .unwrap();
    assert_eq!(saved.id, "id-one", "the first id is kept");
    assert_eq!(saved.updated_at, later);
    assert_eq!(
        store.listing_settings(first).await.unwrap(),
        Some(saved.clone())
    );
    store
        .save_listing_settings(second, &listed("trauma"), "id-two", now)
        .await
        .unwrap();
    let all = store.listed_practices().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|l| (l.practice, l.listing.id.as_str()))
            .collect::<Vec<_>>(),
        [(first, "id-one"), (second, "id-two")]
    );
    assert_eq!(all[0].review, store::ListingReview::default());

    let check = RegistrationCheck {
        body: "ukcp".into(),
        number: "123".into(),
        checked_on: date(2027, 1, 15),
        by: "Alex Operator".into(),
    };
    store
        .set_registration_check(first, Some(&check))
        .await
        .unwrap();
    let hidden = HiddenListing {
        reason: "The registration number does not match the register.".into(),
        at: later,
        by: "Sam Operator".into(),
    };
    store
        .set_listing_hidden(first, Some(&hidden))
        .await
        .unwrap();
    let review = store.listing_review(first).await.unwrap();
    assert_eq!(review.checked, Some(check.clone()));
    assert_eq!(review.hidden, Some(hidden));
    assert_eq!(
        store.listed_practices().await.unwrap()[0].review,
        review,
        "the list carries the review"
    );
    store.set_listing_hidden(first, None).await.unwrap();
    let review = store.listing_review(first).await.unwrap();
    assert_eq!(review.hidden, None, "shown again");
    assert_eq!(review.checked, Some(check), "the check stays");
    store.set_registration_check(first, None).await.unwrap();
    assert_eq!(
        store.listing_review(first).await.unwrap(),
        store::ListingReview::default()
    );
    assert_eq!(
        store.listing_review(second).await.unwrap(),
        store::ListingReview::default(),
        "never reviewed"
    );
    remote_listings(store, now).await;
}

/// Self-hosted practices read over HTTP: one row per address, each reading claimed by one
/// caller per period (also when two ask at once), and what each reading found.
async fn remote_listings(store: &dyn Store, now: Timestamp) {
    use jiff::SignedDuration;
    use store::FetchOutcome;
    let every = SignedDuration::from_mins(10);
    let id = store
        .add_remote("https://alex.example", "Sam Operator", now)
        .await
        .unwrap()
        .expect("added");
    assert_eq!(
        store
            .add_remote("https://alex.example", "Sam Operator", now)
            .await
            .unwrap(),
        None,
        "an address once"
    );
    let other = store
        .add_remote("http://127.0.0.1:9", "Sam Operator", now)
        .await
        .unwrap()
        .unwrap();
    // Two callers at once: each remote goes to one of them.
    let (a, b) = tokio::join!(
        store.claim_remote_fetches(now, every, 10),
        store.claim_remote_fetches(now, every, 10)
    );
    let mut claimed: Vec<i64> = a
        .unwrap()
        .iter()
        .chain(b.unwrap().iter())
        .map(|r| r.id)
        .collect();
    claimed.sort_unstable();
    assert_eq!(claimed, [id, other]);
    assert!(
        store
            .claim_remote_fetches(now, every, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = now + every;
    assert_eq!(
        store
            .claim_remote_fetches(later, every, 1)
            .await
            .unwrap()
            .len(),
        1,
        "the limit"
    );

    store
        .record_fetch(
            id,
            &FetchOutcome::Listing {
                document: "{\"a\":1}".into(),
                etag: Some("\"e1\"".into()),
            },
            now,
        )
        .await
        .unwrap();
    store
        .record_fetch(id, &FetchOutcome::Failed("timed out".into()), later)
        .await
        .unwrap();
    let read = store.remotes().await.unwrap();
    assert_eq!(read.len(), 2);
    let alex = &read[0];
    assert_eq!(alex.address, "https://alex.example");
    assert_eq!(
        alex.document.as_deref(),
        Some("{\"a\":1}"),
        "a failure keeps the last listing"
    );
    assert_eq!(alex.etag.as_deref(), Some("\"e1\""));
    assert_eq!(alex.heard_at, Some(now));
    assert_eq!(alex.tried_at, Some(later));
    assert_eq!(alex.error.as_deref(), Some("timed out"));
    store
        .record_fetch(id, &FetchOutcome::NotModified, later)
        .await
        .unwrap();
    let alex = &store.remotes().await.unwrap()[0];
    assert_eq!((alex.heard_at, alex.error.as_deref()), (Some(later), None));
    assert_eq!(
        alex.review,
        store::ListingReview::default(),
        "not yet reviewed"
    );

    // The operator's review, kept beside what is read and untouched by later readings.
    let check = RegistrationCheck {
        body: "bacp".into(),
        number: "00123456".into(),
        checked_on: jiff::civil::date(2027, 1, 14),
        by: "Sam Operator".into(),
    };
    assert!(store.set_remote_check(id, Some(&check)).await.unwrap());
    let hidden = HiddenListing {
        reason: "The practice asked to leave for now".into(),
        at: later,
        by: "Sam Operator".into(),
    };
    assert!(store.set_remote_hidden(id, Some(&hidden)).await.unwrap());
    store
        .record_fetch(id, &FetchOutcome::Failed("refused".into()), later)
        .await
        .unwrap();
    let alex = store.remote(id).await.unwrap().expect("there");
    assert_eq!(alex.review.checked.as_ref(), Some(&check));
    assert_eq!(alex.review.hidden.as_ref(), Some(&hidden));
    assert_eq!(
        store.remote(other).await.unwrap().unwrap().review,
        store::ListingReview::default(),
        "only that remote"
    );
    assert!(store.set_remote_hidden(id, None).await.unwrap());
    let alex = store.remote(id).await.unwrap().unwrap();
    assert_eq!(
        (alex.review.hidden, alex.review.checked),
        (None, Some(check.clone()))
    );
    assert!(store.set_remote_check(id, None).await.unwrap());
    assert_eq!(
        store.remote(id).await.unwrap().unwrap().review.checked,
        None
    );

    store.remove_remote(id).await.unwrap();
    assert_eq!(store.remotes().await.unwrap().len(), 1);
    assert_eq!(store.remote(id).await.unwrap(), None);
    assert!(
        !store.set_remote_check(id, Some(&check)).await.unwrap(),
        "gone"
    );
    assert!(
        !store.set_remote_hidden(id, Some(&hidden)).await.unwrap(),
        "gone"
    );
}
