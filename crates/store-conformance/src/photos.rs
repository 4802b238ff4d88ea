//! The practice's photos: stored whole with their variants, one portrait, a bounded number
//! per room, each practice's its own.

use std::sync::Arc;

use super::*;

use domain::look::{Accent, Colour, Theme};
use store::{ImageInfo, ImageRole, ImageVariant, Look, NewImage, PracticeId, ROOM_PHOTOS_MAX};

fn photo(role: ImageRole, key: &str) -> NewImage {
    NewImage {
        role,
        key: key.into(),
        alt: format!("photo {key}"),
        width: 1600,
        height: 1067,
        variants: [(1600, 1067), (320, 213)]
            .into_iter()
            .flat_map(|(width, height)| {
                ["webp", "jpg"].map(|format| ImageVariant {
                    width,
                    height,
                    format,
                    bytes: format!("{key}-{width}.{format}").into_bytes(),
                })
            })
            .collect(),
    }
}

fn room(slug: &str) -> ImageRole {
    ImageRole::Room(Slug::parse(slug).unwrap())
}

fn keys(images: &[ImageInfo]) -> Vec<&str> {
    images.iter().map(|i| i.key.as_str()).collect()
}

/// Run against an empty store.
pub async fn photos_story(store: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let first = store.create_practice(&setup, now).await.unwrap();
    let second = store.create_practice(&setup, now).await.unwrap();
    assert!(store.images(first).await.unwrap().is_empty());

    // The look: plain until chosen, each practice its own.
    assert_eq!(store.look(first).await.unwrap(), Look::default());
    let warm = Look {
        theme: Theme::Warm,
        accent: Some(Accent::check(Theme::Warm, Colour(0x7a, 0x2e, 0x4a)).unwrap()),
    };
    store.set_look(first, &warm).await.unwrap();
    assert_eq!(store.look(first).await.unwrap(), warm);
    assert_eq!(store.look(second).await.unwrap(), Look::default());
    let literary = Look {
        theme: Theme::Literary,
        accent: None,
    };
    store.set_look(first, &literary).await.unwrap();
    assert_eq!(store.look(first).await.unwrap(), literary);
    assert!(matches!(
        store.look(PracticeId::new(999_999)).await,
        Err(StoreError::NotFound)
    ));

    store
        .save_image(first, &photo(room("balham"), "room-a"), now)
        .await
        .unwrap();
    store
        .save_image(first, &photo(ImageRole::Portrait, "face-1"), now)
        .await
        .unwrap();
    store
        .save_image(first, &photo(room("online"), "desk"), now)
        .await
        .unwrap();
    store
        .save_image(first, &photo(room("balham"), "room-b"), now)
        .await
        .unwrap();
    let images = store.images(first).await.unwrap();
    assert_eq!(
        keys(&images),
        ["face-1", "room-a", "room-b", "desk"],
        "the portrait, then each location's in order"
    );
    assert_eq!(images[0].widths, [320, 1600]);
    assert_eq!(images[1].role, room("balham"));
    assert_eq!(images[1].alt, "photo room-a");
    assert_eq!((images[1].width, images[1].height), (1600, 1067));
    assert_eq!(images[1].added_at, now);

    // A new portrait replaces the old, whose variants go with it.
    store
        .save_image(first, &photo(ImageRole::Portrait, "face-2"), now)
        .await
        .unwrap();
    let images = store.images(first).await.unwrap();
    assert_eq!(keys(&images), ["face-2", "room-a", "room-b", "desk"]);
    assert_eq!(
        store
            .image_variant(first, "face-1", 320, "jpg")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .image_variant(first, "face-2", 320, "webp")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"face-2-320.webp"[..])
    );
    assert_eq!(
        store
            .image_variant(first, "face-2", 640, "webp")
            .await
            .unwrap(),
        None,
        "a width not made"
    );
    // Another practice sees none of them, and may have the same photo.
    assert!(store.images(second).await.unwrap().is_empty());
    assert_eq!(
        store
            .image_variant(second, "face-2", 320, "webp")
            .await
            .unwrap(),
        None
    );
    store
        .save_image(second, &photo(room("balham"), "room-a"), now)
        .await
        .unwrap();
    assert_eq!(
        conflict_of(
            &store
                .save_image(first, &photo(room("online"), "room-a"), now)
                .await
        ),
        Some(ConflictKind::PhotoTwice),
        "the same photo twice in one practice"
    );
    assert!(matches!(
        store
            .save_image(first, &photo(room("nowhere"), "lost"), now)
            .await,
        Err(StoreError::NotFound)
    ));

    // Alt text is changed in place; a photo deleted takes its variants.
    store
        .set_image_alt(first, "room-b", "Two armchairs by a window")
        .await
        .unwrap();
    assert_eq!(
        store.images(first).await.unwrap()[2].alt,
        "Two armchairs by a window"
    );
    assert!(matches!(
        store.set_image_alt(second, "room-b", "not theirs").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_image(second, "room-b").await,
        Err(StoreError::NotFound)
    ));
    store.delete_image(first, "room-a").await.unwrap();
    assert_eq!(
        keys(&store.images(first).await.unwrap()),
        ["face-2", "room-b", "desk"]
    );
    assert_eq!(
        store
            .image_variant(first, "room-a", 1600, "jpg")
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .image_variant(second, "room-a", 1600, "jpg")
            .await
            .unwrap()
            .is_some(),
        "the other practice's copy stays"
    );

    // A room keeps at most ROOM_PHOTOS_MAX; a place freed is taken again.
    for n in 1..ROOM_PHOTOS_MAX {
        store
            .save_image(first, &photo(room("balham"), &format!("more-{n}")), now)
            .await
            .unwrap();
    }
    assert_eq!(
        conflict_of(
            &store
                .save_image(first, &photo(room("balham"), "one-too-many"), now)
                .await
        ),
        Some(ConflictKind::TooManyPhotos)
    );
    store.delete_image(first, "more-2").await.unwrap();
    store
        .save_image(first, &photo(room("balham"), "in-its-place"), now)
        .await
        .unwrap();
    let balham: Vec<_> = store
        .images(first)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.role == room("balham"))
        .collect();
    assert_eq!(balham.len(), ROOM_PHOTOS_MAX);

    // A location deleted takes its photos.
    store
        .delete_location(first, &Slug::parse("online").unwrap())
        .await
        .unwrap();
    assert!(
        !keys(&store.images(first).await.unwrap()).contains(&"desk"),
        "the location's photos went with it"
    );
}

/// Uploads at once through two handles: a room takes no more than its limit, and the
/// practice ends with exactly one portrait.
pub async fn photo_races(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = first.create_practice(&setup, now).await.unwrap();
    let uploads = (0..ROOM_PHOTOS_MAX * 2).map(|n| {
        let store = if n % 2 == 0 { &first } else { &second };
        let store = Arc::clone(store);
        tokio::spawn(async move {
            let portrait = store
                .save_image(
                    practice,
                    &photo(ImageRole::Portrait, &format!("face-{n}")),
                    now,
                )
                .await;
            let room = store
                .save_image(practice, &photo(room("balham"), &format!("room-{n}")), now)
                .await;
            (portrait, room)
        })
    });
    let mut rooms_stored = 0;
    for upload in uploads.collect::<Vec<_>>() {
        let (portrait, room) = upload.await.unwrap();
        portrait.unwrap();
        match room {
            Ok(()) => rooms_stored += 1,
            Err(StoreError::Conflict(ConflictKind::TooManyPhotos)) => {}
            Err(other) => panic!("a room photo failed: {other:?}"),
        }
    }
    let images = first.images(practice).await.unwrap();
    let portraits = images
        .iter()
        .filter(|i| i.role == ImageRole::Portrait)
        .count();
    let rooms = images.iter().filter(|i| i.role == room("balham")).count();
    assert_eq!(portraits, 1);
    assert_eq!(rooms, ROOM_PHOTOS_MAX);
    assert_eq!(rooms_stored, ROOM_PHOTOS_MAX);
}

/// Run against an empty store: the directory's copies of self-hosted practices' portraits.
pub async fn remote_portraits_story(store: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let later = now + jiff::SignedDuration::from_mins(10);
    let alex = store
        .add_remote("https://alex.example", "Sam", now)
        .await
        .unwrap()
        .unwrap();
    let blake = store
        .add_remote("https://blake.example", "Sam", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.remote_portrait(alex).await.unwrap(), None);

    let face = photo(ImageRole::Portrait, "face");
    let source = "https://alex.example/media/face-640.jpg";
    store
        .set_remote_portrait(alex, Some((source, Ok(&face))), now)
        .await
        .unwrap();
    let kept = store.remote_portrait(alex).await.unwrap().unwrap();
    assert_eq!((kept.source.as_str(), kept.read_at), (source, now));
    let info = kept.image.unwrap();
    assert_eq!(
        (
            info.key.as_str(),
            info.alt.as_str(),
            info.width,
            info.height
        ),
        ("face", "photo face", 1600, 1067)
    );
    assert_eq!(info.role, ImageRole::Portrait);
    assert_eq!(info.widths, [320, 1600]);
    assert_eq!(
        store
            .remote_portrait_variant(alex, "face", 320, "webp")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"face-320.webp"[..])
    );
    for (remote, key, width, format) in [
        (blake, "face", 320, "webp"),
        (alex, "other", 320, "webp"),
        (alex, "face", 640, "webp"),
        (alex, "face", 320, "png"),
    ] {
        assert_eq!(
            store
                .remote_portrait_variant(remote, key, width, format)
                .await
                .unwrap(),
            None,
            "{remote} {key} {width} {format}"
        );
    }
    assert_eq!(store.remote_portrait(blake).await.unwrap(), None);

    // Described again: the same copy, its new words.
    store
        .set_remote_portrait_alt(alex, "Alex at the window")
        .await
        .unwrap();
    let described = store.remote_portrait(alex).await.unwrap().unwrap();
    assert_eq!(described.image.unwrap().alt, "Alex at the window");
    assert_eq!(described.read_at, now);
    store
        .set_remote_portrait_alt(blake, "nobody")
        .await
        .unwrap();
    assert_eq!(store.remote_portrait(blake).await.unwrap(), None);

    // A new portrait replaces the old, variants and all; a failed reading keeps why.
    let new_face = photo(ImageRole::Portrait, "new-face");
    store
        .set_remote_portrait(
            alex,
            Some(("https://alex.example/b.jpg", Ok(&new_face))),
            later,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .remote_portrait_variant(alex, "face", 320, "webp")
            .await
            .unwrap(),
        None
    );
    store
        .set_remote_portrait(
            alex,
            Some(("https://alex.example/c.jpg", Err("it is not a photo"))),
            later,
        )
        .await
        .unwrap();
    let failed = store.remote_portrait(alex).await.unwrap().unwrap();
    assert_eq!(failed.source, "https://alex.example/c.jpg");
    assert_eq!(failed.image, Err("it is not a photo".into()));
    store
        .set_remote_portrait_alt(alex, "no photo to describe")
        .await
        .unwrap();
    assert_eq!(
        store.remote_portrait(alex).await.unwrap().unwrap().image,
        Err("it is not a photo".into()),
        "a failed reading has nothing to describe"
    );
    assert_eq!(
        store
            .remote_portrait_variant(alex, "new-face", 320, "jpg")
            .await
            .unwrap(),
        None
    );
    store.set_remote_portrait(alex, None, later).await.unwrap();
    assert_eq!(store.remote_portrait(alex).await.unwrap(), None);

    // Gone with its remote; and a remote removed meanwhile gets none.
    store
        .set_remote_portrait(blake, Some(("https://blake.example/a.jpg", Ok(&face))), now)
        .await
        .unwrap();
    store.remove_remote(blake).await.unwrap();
    assert_eq!(store.remote_portrait(blake).await.unwrap(), None);
    assert_eq!(
        store
            .remote_portrait_variant(blake, "face", 320, "webp")
            .await
            .unwrap(),
        None
    );
    store
        .set_remote_portrait(blake, Some(("https://blake.example/a.jpg", Ok(&face))), now)
        .await
        .unwrap();
    assert_eq!(store.remote_portrait(blake).await.unwrap(), None);
}

/// Two handles (processes) writing one remote's portrait at once: each write is whole, and
/// one copy is left with its own variants only.
pub async fn remote_portrait_races(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let remote = first
        .add_remote("https://alex.example", "Sam", now)
        .await
        .unwrap()
        .unwrap();
    let writes = (0..12).map(|n| {
        let store = Arc::clone(if n % 2 == 0 { &first } else { &second });
        tokio::spawn(async move {
            let face = photo(ImageRole::Portrait, &format!("face-{n}"));
            let source = format!("https://alex.example/face-{n}.jpg");
            store
                .set_remote_portrait(remote, Some((&source, Ok(&face))), now)
                .await
        })
    });
    for write in writes.collect::<Vec<_>>() {
        write.await.unwrap().unwrap();
    }
    let kept = second.remote_portrait(remote).await.unwrap().unwrap();
    let key = kept.image.unwrap().key;
    assert_eq!(kept.source, format!("https://alex.example/{key}.jpg"));
    for n in 0..12 {
        let other = format!("face-{n}");
        let found = first
            .remote_portrait_variant(remote, &other, 1600, "jpg")
            .await
            .unwrap();
        if other == key {
            assert_eq!(found, Some(format!("{key}-1600.jpg").into_bytes()));
        } else {
            assert_eq!(found, None, "{other}'s variants are gone");
        }
    }
}
