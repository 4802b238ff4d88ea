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
}
