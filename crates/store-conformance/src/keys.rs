//! Each practice's own key, wrapped by the host key: taken once, all or nothing, and
//! re-wrapped all at once when the host key changes.

use super::*;

use store::{KeyAdoption, NewClient, PracticeId, Rewrapped};

/// A practice takes its own key with its client keys and staff secrets re-wrapped in one
/// transaction, or nothing changes; a host key rotation re-wraps every practice key in one.
pub(crate) async fn keys_story(store: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let other = store.create_practice(&setup, now).await.unwrap();
    let client = store
        .create_client(
            practice,
            &NewClient {
                name: PersonName::parse("Key Person").unwrap(),
                email: EmailAddress::parse("key-person@example.com").unwrap(),
                phone: None,
                contact_preference: domain::ContactPreference::Email,
                reminders: true,
            },
            None,
            now,
        )
        .await
        .unwrap();
    store
        .add_client_key(practice, client, b"under-host", now)
        .await
        .unwrap();
    let staff = store
        .create_user(
            practice,
            &NewUser {
                email: EmailAddress::parse("keys-staff@example.com").unwrap(),
                name: PersonName::parse("Kim Keys").unwrap(),
                password_hash: "h".into(),
            },
            now,
        )
        .await
        .unwrap();
    store
        .begin_authenticator(staff, b"secret-under-host", b"session")
        .await
        .unwrap();
    assert_eq!(store.practice_key(practice).await.unwrap(), None);
    assert_eq!(
        store.client_keys(practice).await.unwrap(),
        vec![(client, b"under-host".to_vec())]
    );
    assert_eq!(store.client_keys(other).await.unwrap(), vec![]);
    assert_eq!(
        store.authenticator_secrets(practice).await.unwrap(),
        vec![(staff, b"secret-under-host".to_vec())]
    );

    let client_key = |old: &[u8]| Rewrapped {
        id: client,
        old: old.to_vec(),
        new: b"under-practice".to_vec(),
    };
    let secret = Rewrapped {
        id: staff,
        old: b"secret-under-host".to_vec(),
        new: b"secret-under-practice".to_vec(),
    };
    let adoption = |client_keys, authenticator_secrets| KeyAdoption {
        practice,
        host_key_id: b"host-1",
        wrapped: b"practice-key",
        client_keys,
        authenticator_secrets,
    };
    let refusals: [(&[Rewrapped<_>], &[Rewrapped<_>], &str); 3] = [
        (&[], std::slice::from_ref(&secret), "a client key left out"),
        (
            &[client_key(b"something else")],
            std::slice::from_ref(&secret),
            "a client key changed meanwhile",
        ),
        (&[client_key(b"under-host")], &[], "a secret left out"),
    ];
    for (keys, secrets, why) in refusals {
        assert_eq!(
            conflict_of(
                &store
                    .adopt_practice_key(&adoption(keys, secrets), now)
                    .await
            ),
            Some(ConflictKind::KeysChanged),
            "{why}"
        );
        assert_eq!(store.practice_key(practice).await.unwrap(), None, "{why}");
        assert_eq!(store.host_key_id().await.unwrap(), None, "{why}");
        assert_eq!(
            store.client_key(practice, client).await.unwrap().unwrap(),
            b"under-host",
            "{why}: nothing half-written"
        );
    }
    let keys = [client_key(b"under-host")];
    let secrets = [secret.clone()];
    store
        .adopt_practice_key(&adoption(&keys, &secrets), now)
        .await
        .unwrap();
    assert_eq!(
        store.practice_key(practice).await.unwrap().unwrap(),
        b"practice-key"
    );
    assert_eq!(store.host_key_id().await.unwrap().unwrap(), b"host-1");
    assert_eq!(
        store.client_key(practice, client).await.unwrap().unwrap(),
        b"under-practice"
    );
    assert_eq!(
        store.authenticator_secrets(practice).await.unwrap(),
        vec![(staff, b"secret-under-practice".to_vec())]
    );
    assert_eq!(
        conflict_of(&store.adopt_practice_key(&adoption(&[], &[]), now).await),
        Some(ConflictKind::KeysChanged),
        "a key is taken once"
    );
    let other_adoption = |host_key_id| KeyAdoption {
        practice: other,
        host_key_id,
        wrapped: b"other-key",
        client_keys: &[],
        authenticator_secrets: &[],
    };
    assert_eq!(
        conflict_of(
            &store
                .adopt_practice_key(&other_adoption(b"host-2"), now)
                .await
        ),
        Some(ConflictKind::HostKeyChanged),
        "every practice key is wrapped by the same host key"
    );
    assert!(matches!(
        store
            .adopt_practice_key(
                &KeyAdoption {
                    practice: PracticeId::new(999_999),
                    ..other_adoption(b"host-1")
                },
                now
            )
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .adopt_practice_key(&other_adoption(b"host-1"), now)
        .await
        .unwrap();

    // Rotating the host key: every practice key, or none.
    let listed = store.practice_keys().await.unwrap();
    assert!(listed.contains(&(practice, b"practice-key".to_vec())));
    assert!(listed.contains(&(other, b"other-key".to_vec())));
    let all: Vec<Rewrapped<PracticeId>> = listed
        .iter()
        .map(|(id, old)| Rewrapped {
            id: *id,
            old: old.clone(),
            new: [old.as_slice(), b"-rotated"].concat(),
        })
        .collect();
    let mut stale = all.clone();
    stale[0].old = b"not what is stored".to_vec();
    for (old_host, keys, expected, why) in [
        (
            &b"host-9"[..],
            &all[..],
            ConflictKind::HostKeyChanged,
            "another host key",
        ),
        (
            b"host-1",
            &all[1..],
            ConflictKind::KeysChanged,
            "a practice left out",
        ),
        (
            b"host-1",
            &stale[..],
            ConflictKind::KeysChanged,
            "a stale key",
        ),
    ] {
        assert_eq!(
            conflict_of(
                &store
                    .rewrap_practice_keys(old_host, b"host-2", keys, &[])
                    .await
            ),
            Some(expected),
            "{why}"
        );
        assert_eq!(store.practice_keys().await.unwrap(), listed, "{why}");
        assert_eq!(store.host_key_id().await.unwrap().unwrap(), b"host-1");
    }
    store
        .rewrap_practice_keys(b"host-1", b"host-2", &all, &[])
        .await
        .unwrap();
    assert_eq!(store.host_key_id().await.unwrap().unwrap(), b"host-2");
    assert_eq!(
        store.practice_key(practice).await.unwrap().unwrap(),
        b"practice-key-rotated"
    );
    assert_eq!(
        store.client_key(practice, client).await.unwrap().unwrap(),
        b"under-practice",
        "client keys are wrapped by the practice key, which stays the same"
    );
}
