//! Staff accounts: sessions, second factors, recovery codes, known devices.

use super::*;

/// Owners, sign-in stages, the practice's sign-in rules, authenticator apps, recovery codes
/// and the wrong-code count (SECURITY.md R2, R3).
pub(crate) async fn staff_security_story(
    store: &dyn Store,
    practice: store::PracticeId,
    owner: store::UserId,
    now: Timestamp,
) {
    use domain::staff::{IdleTimeout, SignInPolicy};
    let owner_email = EmailAddress::parse("therapist@example.com").unwrap();
    let owner_row = store.user_by_email(&owner_email).await.unwrap().unwrap();
    assert_eq!(owner_row.id, owner);
    assert!(
        owner_row.owner,
        "the first account of a practice is its owner"
    );
    assert!(
        !owner_row.second_factor,
        "no authenticator app to begin with"
    );
    let colleague_email = EmailAddress::parse("colleague@example.com").unwrap();
    let colleague = store
        .create_user(
            practice,
            &NewUser {
                email: colleague_email.clone(),
                name: PersonName::parse("Sam Colleague").unwrap(),
                password_hash: "h".into(),
            },
            now,
        )
        .await
        .unwrap();
    assert!(
        !store
            .user_by_email(&colleague_email)
            .await
            .unwrap()
            .unwrap()
            .owner,
        "later accounts are not owners"
    );

    // The sign-in rules: no second factor required and 30 idle minutes, until changed.
    assert_eq!(
        store.sign_in_policy(practice).await.unwrap(),
        SignInPolicy::default()
    );
    let strict = SignInPolicy {
        second_factor_required: true,
        idle_timeout: IdleTimeout::from_minutes(10).unwrap(),
    };
    store.set_sign_in_policy(practice, &strict).await.unwrap();
    assert_eq!(store.sign_in_policy(practice).await.unwrap(), strict);

    // A session half-way through sign-in says so, and carries the rules.
    store
        .start_sign_in(b"pending", owner, SessionStage::CodeNeeded, now)
        .await
        .unwrap();
    let (pending, _) = store.session(b"pending").await.unwrap().unwrap();
    assert_eq!(pending.stage, SessionStage::CodeNeeded);
    assert_eq!(pending.policy, strict);
    store
        .start_sign_in(b"set-up", colleague, SessionStage::SetUpNeeded, now)
        .await
        .unwrap();
    assert_eq!(
        store.session(b"set-up").await.unwrap().unwrap().0.stage,
        SessionStage::SetUpNeeded
    );
    store.create_session(b"full", owner, now).await.unwrap();
    assert_eq!(
        store.session(b"full").await.unwrap().unwrap().0.stage,
        SessionStage::SignedIn
    );

    // An authenticator app: waiting for confirmation, then switched on with recovery codes.
    assert!(store.authenticator(owner).await.unwrap().is_none());
    store
        .begin_authenticator(owner, b"sealed-1", b"session-a")
        .await
        .unwrap();
    store
        .begin_authenticator(owner, b"sealed-2", b"session-b")
        .await
        .unwrap();
    let waiting = store.authenticator(owner).await.unwrap().unwrap();
    assert_eq!(
        waiting.sealed_secret, b"sealed-2",
        "a new set-up replaces an unconfirmed one"
    );
    assert_eq!(waiting.pending_session.as_deref(), Some(&b"session-b"[..]));
    assert!(waiting.enabled_at.is_none());
    assert!(
        !store.use_authenticator_step(owner, 100).await.unwrap(),
        "an unconfirmed app signs nobody in"
    );
    let codes: Vec<Vec<u8>> = (0u8..10).map(|i| vec![i; 32]).collect();
    // Only the session that began it, with the secret it saw, can switch it on.
    for (secret, session) in [
        (&b"sealed-1"[..], &b"session-b"[..]),
        (&b"sealed-2"[..], &b"session-a"[..]),
    ] {
        assert!(matches!(
            store
                .enable_authenticator(owner, secret, session, 100, &codes, now)
                .await,
            Err(StoreError::NotFound)
        ));
    }
    store
        .enable_authenticator(owner, b"sealed-2", b"session-b", 100, &codes, now)
        .await
        .unwrap();
    let on = store.authenticator(owner).await.unwrap().unwrap();
    assert_eq!(on.enabled_at, Some(now));
    assert_eq!(on.last_step, Some(100), "the confirming code is spent");
    assert!(
        store
            .user_by_email(&owner_email)
            .await
            .unwrap()
            .unwrap()
            .second_factor
    );
    assert_eq!(
        conflict_of(
            &store
                .begin_authenticator(owner, b"sealed-3", b"session-c")
                .await
        ),
        Some(ConflictKind::AuthenticatorEnabled)
    );
    assert!(
        matches!(
            store
                .enable_authenticator(colleague, b"x", b"session-c", 1, &codes, now)
                .await,
            Err(StoreError::NotFound)
        ),
        "nothing to switch on without a waiting secret"
    );

    // A time step is accepted once, and never an earlier one.
    assert!(!store.use_authenticator_step(owner, 100).await.unwrap());
    assert!(!store.use_authenticator_step(owner, 99).await.unwrap());
    assert!(store.use_authenticator_step(owner, 101).await.unwrap());
    assert!(!store.use_authenticator_step(owner, 101).await.unwrap());
    assert_eq!(
        store.authenticator(owner).await.unwrap().unwrap().last_step,
        Some(101)
    );

    // Recovery codes: each once; regenerating replaces all.
    assert_eq!(store.recovery_codes_left(owner).await.unwrap(), 10);
    assert!(
        store
            .use_recovery_code(owner, &codes[3], now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_recovery_code(owner, &codes[3], now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_recovery_code(colleague, &codes[4], now)
            .await
            .unwrap(),
        "a code is only its owner's"
    );
    assert_eq!(store.recovery_codes_left(owner).await.unwrap(), 9);
    let fresh: Vec<Vec<u8>> = (20u8..30).map(|i| vec![i; 32]).collect();
    store
        .replace_recovery_codes(owner, &fresh, now)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left(owner).await.unwrap(), 10);
    assert!(
        !store
            .use_recovery_code(owner, &codes[4], now)
            .await
            .unwrap(),
        "old codes stop working"
    );

    // The practice's sealed secrets, for re-sealing under its own key (see `keys_story`).
    assert_eq!(
        store.authenticator_secrets(practice).await.unwrap(),
        vec![(owner, b"sealed-2".to_vec())]
    );

    // Browsers staff have signed in from: known only to their own account, forgotten on
    // request.
    store
        .remember_device(owner, &hash_of("device-1"), now)
        .await
        .unwrap();
    assert!(
        store
            .known_device(owner, &hash_of("device-1"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .known_device(colleague, &hash_of("device-1"))
            .await
            .unwrap(),
        "one person's browser is not known for another's account"
    );
    assert!(
        !store
            .known_device(owner, &hash_of("device-2"))
            .await
            .unwrap()
    );
    store.forget_device(&hash_of("device-1")).await.unwrap();
    assert!(
        !store
            .known_device(owner, &hash_of("device-1"))
            .await
            .unwrap()
    );

    // Switching off forgets the secret and the codes.
    store.disable_authenticator(owner).await.unwrap();
    assert!(store.authenticator(owner).await.unwrap().is_none());
    assert_eq!(store.recovery_codes_left(owner).await.unwrap(), 0);
    assert!(
        !store
            .user_by_email(&owner_email)
            .await
            .unwrap()
            .unwrap()
            .second_factor
    );
    store
        .set_sign_in_policy(practice, &SignInPolicy::default())
        .await
        .unwrap();
    store.delete_user_sessions(owner).await.unwrap();
    store.delete_user_sessions(colleague).await.unwrap();
}
