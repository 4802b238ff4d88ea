//! The operator console's store: operators, their sessions and authenticator apps, the
//! deployment's own rate counters, and the links that let a practice's staff set a password.

use super::*;

use std::sync::Arc;

use jiff::SignedDuration;
use store::{LimitKey, LimitRule, OperatorId, Reservation, StaffAccount, UserId};

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse(text).unwrap()
}

fn account(email: &str, name: &str, password_hash: &str) -> NewUser {
    NewUser {
        email: address(email),
        name: PersonName::parse(name).unwrap(),
        password_hash: password_hash.into(),
    }
}

/// The email carrying a password link.
fn link_email(to: &str) -> NewMessage {
    NewMessage {
        kind: "password_link".into(),
        to: address(to),
        subject: "Set your password".into(),
        body_text: "Follow the link.".into(),
        calendar: None,
    }
}

/// Run against an empty store: every rule of `OperatorStore`, one step at a time, and what
/// the practices' own operations do with its tables (a move leaves the password links
/// behind; closing a practice takes them with it; ended counters are forgotten with the
/// practices').
pub async fn operators_story(store: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let later = now + SignedDuration::from_mins(10);
    operator_accounts(store, now, later).await;
    host_limits(store, now).await;
    password_links(store, now).await;
}

/// Operators: unique addresses whatever their case, sessions at each stage, the
/// authenticator app switched on once, codes spent in order, a reset and a new password
/// that end their sessions.
async fn operator_accounts(store: &dyn Store, now: Timestamp, later: Timestamp) {
    assert!(store.operators().await.unwrap().is_empty(), "none at first");
    let alex = store
        .create_operator(&account("Alex@Ops.example", "Alex Operator", "hash-a"), now)
        .await
        .unwrap();
    assert_eq!(
        conflict_of(
            &store
                .create_operator(&account("ALEX@ops.example", "Someone", "h"), later)
                .await
        ),
        Some(ConflictKind::UserEmail),
        "operators' addresses are unique regardless of case"
    );
    let sam = store
        .create_operator(&account("sam@ops.example", "Sam Operator", "hash-s"), later)
        .await
        .unwrap();
    let all = store.operators().await.unwrap();
    let listed: Vec<(OperatorId, &str, &str, &str)> = all
        .iter()
        .map(|o| {
            (
                o.id,
                o.email.as_str(),
                o.name.as_str(),
                o.password_hash.as_str(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (alex, "Alex@ops.example", "Alex Operator", "hash-a"),
            (sam, "sam@ops.example", "Sam Operator", "hash-s"),
        ],
        "oldest first; a refused operator is not stored"
    );
    assert_eq!(all[0].created_at, now);
    assert_eq!(all[1].created_at, later);
    assert!(all.iter().all(|o| o.sealed_secret.is_none()), "no app yet");
    let found = store
        .operator_by_email(&address("alex@OPS.example"))
        .await
        .unwrap()
        .expect("found whatever the case");
    assert_eq!(found.id, alex);
    assert!(
        store
            .operator_by_email(&address("nobody@ops.example"))
            .await
            .unwrap()
            .is_none()
    );

    // Sessions, at each stage of sign-in.
    for (token, stage) in [
        (&b"op-set-up"[..], SessionStage::SetUpNeeded),
        (b"op-code", SessionStage::CodeNeeded),
        (b"op-in", SessionStage::SignedIn),
    ] {
        store
            .start_operator_session(token, alex, stage, now)
            .await
            .unwrap();
        let (session, operator) = store.operator_session(token).await.unwrap().unwrap();
        assert_eq!(session.stage, stage);
        assert_eq!(session.operator, alex);
        assert_eq!(operator.id, alex, "with its operator");
        assert_eq!(operator.password_hash, "hash-a");
        assert_eq!((session.created_at, session.last_seen_at), (now, now));
        assert_eq!(session.pending_secret, None);
    }
    assert!(store.operator_session(b"nowhere").await.unwrap().is_none());
    store
        .start_operator_session(b"sam-in", sam, SessionStage::SignedIn, now)
        .await
        .unwrap();
    store.touch_operator_session(b"op-in", later).await.unwrap();
    let (touched, _) = store.operator_session(b"op-in").await.unwrap().unwrap();
    assert_eq!((touched.created_at, touched.last_seen_at), (now, later));
    store
        .set_pending_secret(b"op-set-up", b"pending-secret")
        .await
        .unwrap();
    let (setting_up, _) = store.operator_session(b"op-set-up").await.unwrap().unwrap();
    assert_eq!(
        setting_up.pending_secret.as_deref(),
        Some(&b"pending-secret"[..])
    );
    let (other, _) = store.operator_session(b"op-in").await.unwrap().unwrap();
    assert_eq!(other.pending_secret, None, "only in the session setting up");
    store.delete_operator_session(b"op-code").await.unwrap();
    assert!(store.operator_session(b"op-code").await.unwrap().is_none());
    assert!(
        matches!(
            store.set_pending_secret(b"op-code", b"late").await,
            Err(StoreError::NotFound)
        ),
        "an ended session keeps no secret"
    );

    // The app is switched on once, spending the code that confirmed it.
    store
        .enable_operator_authenticator(alex, b"sealed-a", 100, now)
        .await
        .unwrap();
    assert_eq!(
        conflict_of(
            &store
                .enable_operator_authenticator(alex, b"sealed-other", 200, now)
                .await
        ),
        Some(ConflictKind::AuthenticatorEnabled),
        "switched on already"
    );
    let stored = store
        .operator_by_email(&address("alex@ops.example"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.sealed_secret.as_deref(),
        Some(&b"sealed-a"[..]),
        "the second set-up changed nothing"
    );
    assert!(matches!(
        store
            .enable_operator_authenticator(OperatorId::new(999_999), b"s", 1, now)
            .await,
        Err(StoreError::NotFound)
    ));
    // The set-up's step is spent; later ones once each, in order (150 counts: the refused
    // set-up did not spend its 200).
    for (step, spent) in [
        (100, false),
        (99, false),
        (101, true),
        (101, false),
        (150, true),
        (120, false),
    ] {
        assert_eq!(
            store.use_operator_step(alex, step).await.unwrap(),
            spent,
            "step {step}"
        );
    }
    assert!(
        !store
            .use_operator_step(OperatorId::new(999_999), 1)
            .await
            .unwrap()
    );

    // Losing the phone: the app and the sessions go, the other operator's stay.
    store
        .reset_operator_authenticator(&address("ALEX@ops.example"))
        .await
        .unwrap();
    let reset = store
        .operator_by_email(&address("alex@ops.example"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reset.sealed_secret, None, "the secret is forgotten");
    for token in [&b"op-set-up"[..], b"op-in"] {
        assert!(
            store.operator_session(token).await.unwrap().is_none(),
            "{token:?} ended"
        );
    }
    assert!(store.operator_session(b"sam-in").await.unwrap().is_some());
    assert!(
        store.use_operator_step(alex, 50).await.unwrap(),
        "the last step is forgotten with the app"
    );
    store
        .enable_operator_authenticator(alex, b"sealed-a2", 60, now)
        .await
        .unwrap();
    assert!(!store.use_operator_step(alex, 60).await.unwrap());
    assert!(matches!(
        store
            .reset_operator_authenticator(&address("nobody@ops.example"))
            .await,
        Err(StoreError::NotFound)
    ));

    // A new password ends the operator's sessions, and only theirs.
    store
        .start_operator_session(b"op-again", alex, SessionStage::CodeNeeded, later)
        .await
        .unwrap();
    store
        .set_operator_password(&address("alex@ops.example"), "hash-a2")
        .await
        .unwrap();
    let changed = store
        .operator_by_email(&address("alex@ops.example"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.password_hash, "hash-a2");
    assert_eq!(
        changed.sealed_secret.as_deref(),
        Some(&b"sealed-a2"[..]),
        "the app stays"
    );
    assert!(store.operator_session(b"op-again").await.unwrap().is_none());
    assert!(store.operator_session(b"sam-in").await.unwrap().is_some());
    assert!(matches!(
        store
            .set_operator_password(&address("nobody@ops.example"), "h")
            .await,
        Err(StoreError::NotFound)
    ));

    // Two set-ups racing: one wins.
    let racer = store
        .create_operator(&account("race@ops.example", "Race", "h"), now)
        .await
        .unwrap();
    let (first, second) = tokio::join!(
        store.enable_operator_authenticator(racer, b"first", 7, now),
        store.enable_operator_authenticator(racer, b"second", 7, now),
    );
    assert_eq!(
        [first.is_ok(), second.is_ok()]
            .iter()
            .filter(|ok| **ok)
            .count(),
        1,
        "{first:?} {second:?}"
    );
}

/// The deployment's counters: counted and refused as a practice's are, apart from them,
/// cleared, started again when the window ends, and forgotten with the practices' ended
/// counters.
async fn host_limits(store: &dyn Store, now: Timestamp) {
    let minutes = |n| now + SignedDuration::from_mins(n);
    let rule = LimitRule {
        max: 2,
        window: SignedDuration::from_mins(15),
    };
    let account: [u8; 32] = hash_of("alex@ops.example").try_into().unwrap();
    let network: [u8; 32] = hash_of("198.51.100.0/24").try_into().unwrap();
    let kind = "operator_sign_in";
    assert_eq!(
        store
            .reserve_host_limit(kind, &account, rule, now)
            .await
            .unwrap(),
        Reservation::Counted
    );
    assert_eq!(
        store
            .reserve_host_limit(kind, &account, rule, minutes(1))
            .await
            .unwrap(),
        Reservation::Counted
    );
    assert_eq!(
        store
            .reserve_host_limit(kind, &account, rule, minutes(2))
            .await
            .unwrap(),
        Reservation::Refused { until: minutes(15) },
        "the window runs from its first attempt"
    );
    assert_eq!(
        store
            .reserve_host_limit(kind, &network, rule, minutes(2))
            .await
            .unwrap(),
        Reservation::Counted,
        "another subject has its own counter"
    );
    assert_eq!(
        store
            .reserve_host_limit("operator_code", &account, rule, minutes(2))
            .await
            .unwrap(),
        Reservation::Counted,
        "another kind has its own counter"
    );
    // A practice's counter of the same kind and subject is another counter.
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let theirs = LimitKey {
        practice,
        kind,
        subject: account,
    };
    assert_eq!(
        store.reserve(&theirs, rule, minutes(2)).await.unwrap(),
        Reservation::Counted,
        "the practices' counters are apart from the deployment's"
    );
    // Clearing forgets the counter at once.
    store.clear_host_limit(kind, &account).await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            store
                .reserve_host_limit(kind, &account, rule, minutes(3))
                .await
                .unwrap(),
            Reservation::Counted
        );
    }
    assert_eq!(
        store
            .reserve_host_limit(kind, &account, rule, minutes(4))
            .await
            .unwrap(),
        Reservation::Refused { until: minutes(18) }
    );
    // When the window ends, a new one starts with this attempt.
    assert_eq!(
        store
            .reserve_host_limit(kind, &account, rule, minutes(18))
            .await
            .unwrap(),
        Reservation::Counted
    );
    assert_eq!(
        store
            .reserve_host_limit(kind, &account, rule, minutes(19))
            .await
            .unwrap(),
        Reservation::Counted
    );
    // Ended windows are forgotten, the deployment's with the practices'; a live one stays.
    let live: [u8; 32] = hash_of("203.0.113.0/24").try_into().unwrap();
    let one = LimitRule { max: 1, ..rule };
    assert_eq!(
        store
            .reserve_host_limit(kind, &live, one, minutes(35))
            .await
            .unwrap(),
        Reservation::Counted
    );
    let forgotten = store.forget_ended_limits(minutes(40)).await.unwrap();
    assert_eq!(
        forgotten, 4,
        "the account's (ended at 33), the network's and the code's (17), the practice's (17)"
    );
    assert_eq!(
        store
            .reserve_host_limit(kind, &live, one, minutes(40))
            .await
            .unwrap(),
        Reservation::Refused { until: minutes(50) },
        "a live window is kept"
    );
    assert_eq!(
        store.forget_ended_limits(minutes(40)).await.unwrap(),
        0,
        "gone already"
    );
    assert_eq!(store.forget_ended_limits(minutes(50)).await.unwrap(), 1);
}

/// Staff accounts as the operator sees them, and their password links: one live link per
/// account, used once, by its own practice, before it ends; using it sets the password and
/// ends the account's sessions. A move leaves the links behind; closing takes them.
async fn password_links(store: &dyn Store, now: Timestamp) {
    let hour = SignedDuration::from_hours(1);
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = store.create_practice(&setup, now).await.unwrap();
    let other = store.create_practice(&setup, now).await.unwrap();
    let owner = store
        .create_user(
            practice,
            &account("owner@links.example", "Ola Owner", "o1"),
            now,
        )
        .await
        .unwrap();
    let staff = store
        .create_user(
            practice,
            &account("Staff@Links.example", "Sol Staff", "s1"),
            now,
        )
        .await
        .unwrap();
    let elsewhere = store
        .create_user(other, &account("else@links.example", "Eli Else", "e1"), now)
        .await
        .unwrap();

    let accounts = store.staff_accounts(practice, now).await.unwrap();
    assert_eq!(
        accounts,
        [
            StaffAccount {
                id: owner,
                email: address("owner@links.example"),
                name: "Ola Owner".into(),
                owner: true,
                link_until: None,
            },
            StaffAccount {
                id: staff,
                email: address("Staff@links.example"),
                name: "Sol Staff".into(),
                owner: false,
                link_until: None,
            },
        ],
        "oldest first; the first is the owner; no links yet"
    );
    assert_eq!(
        store
            .staff_accounts(other, now)
            .await
            .unwrap()
            .iter()
            .map(|a| (a.id, a.owner))
            .collect::<Vec<_>>(),
        [(elsewhere, true)],
        "each practice its own accounts and owner"
    );

    // A link, queued with its email in one go, for the practice's account only.
    let first = store
        .create_password_link(
            practice,
            staff,
            b"link-one",
            now + hour,
            &link_email("Staff@links.example"),
            now,
        )
        .await
        .unwrap();
    let queued = store.outbox(practice, 10).await.unwrap();
    assert_eq!(queued.len(), 1, "one email queued");
    assert_eq!(queued[0].id, first);
    assert_eq!(queued[0].kind, "password_link");
    assert_eq!(queued[0].to, address("Staff@links.example"));
    assert_eq!(queued[0].practice, practice);
    assert!(store.outbox(other, 10).await.unwrap().is_empty());
    for (owner_of, user) in [
        (other, staff),
        (practice, elsewhere),
        (practice, UserId::new(999_999)),
    ] {
        assert!(
            matches!(
                store
                    .create_password_link(
                        owner_of,
                        user,
                        b"link-refused",
                        now + hour,
                        &link_email("x@links.example"),
                        now,
                    )
                    .await,
                Err(StoreError::NotFound)
            ),
            "{user:?} is not {owner_of:?}'s"
        );
    }
    assert_eq!(store.outbox(practice, 10).await.unwrap().len(), 1);
    assert!(
        store.outbox(other, 10).await.unwrap().is_empty(),
        "a refused link queues nothing"
    );
    assert_eq!(
        store
            .password_link(practice, b"link-one", now)
            .await
            .unwrap(),
        Some((staff, address("Staff@links.example")))
    );
    assert_eq!(
        store
            .password_link(practice, b"link-refused", now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.password_link(other, b"link-one", now).await.unwrap(),
        None,
        "not another practice's"
    );
    assert_eq!(
        store
            .password_link(practice, b"link-one", now + hour)
            .await
            .unwrap(),
        None,
        "not once it has ended"
    );
    let until = |accounts: Vec<StaffAccount>| -> Vec<Option<Timestamp>> {
        accounts.into_iter().map(|a| a.link_until).collect()
    };
    assert_eq!(
        until(store.staff_accounts(practice, now).await.unwrap()),
        [None, Some(now + hour)]
    );
    assert_eq!(
        until(store.staff_accounts(practice, now + hour).await.unwrap()),
        [None, None],
        "an ended link is not shown"
    );

    // A new link replaces the old one.
    let minute = SignedDuration::from_mins(1);
    let second = store
        .create_password_link(
            practice,
            staff,
            b"link-two",
            now + hour + hour,
            &link_email("Staff@links.example"),
            now + minute,
        )
        .await
        .unwrap();
    assert_ne!(second, first);
    assert_eq!(store.outbox(practice, 10).await.unwrap().len(), 2);
    assert_eq!(
        store
            .password_link(practice, b"link-one", now)
            .await
            .unwrap(),
        None,
        "the old link no longer works"
    );
    assert_eq!(
        until(store.staff_accounts(practice, now).await.unwrap()),
        [None, Some(now + hour + hour)]
    );

    // Using it: not the old one, not by another practice, not once ended.
    for token in [&b"staff-session-1"[..], b"staff-session-2"] {
        store.create_session(token, staff, now).await.unwrap();
    }
    store
        .create_session(b"owner-session", owner, now)
        .await
        .unwrap();
    let refusals = [
        (practice, &b"link-one"[..], now),
        (other, b"link-two", now),
        (practice, b"link-two", now + hour + hour),
        (practice, b"link-none", now),
    ];
    for (by, token, at) in refusals {
        assert_eq!(
            store
                .use_password_link(by, token, "stolen", at)
                .await
                .unwrap(),
            None,
            "{token:?} by {by:?} at {at}"
        );
    }
    let email = address("staff@links.example");
    let user = store.user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(user.password_hash, "s1", "a refused use changes nothing");
    assert!(store.session(b"staff-session-1").await.unwrap().is_some());
    assert_eq!(
        store
            .use_password_link(practice, b"link-two", "s2", now)
            .await
            .unwrap(),
        Some(staff)
    );
    let user = store.user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(user.password_hash, "s2", "the password is set");
    for token in [&b"staff-session-1"[..], b"staff-session-2"] {
        assert!(
            store.session(token).await.unwrap().is_none(),
            "the account's sessions end"
        );
    }
    assert!(
        store.session(b"owner-session").await.unwrap().is_some(),
        "and no one else's"
    );
    assert_eq!(
        store
            .use_password_link(practice, b"link-two", "s3", now)
            .await
            .unwrap(),
        None,
        "once"
    );
    assert_eq!(
        store
            .password_link(practice, b"link-two", now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .user_by_email(&email)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "s2"
    );
    assert_eq!(
        until(store.staff_accounts(practice, now).await.unwrap()),
        [None, None],
        "a used link is gone"
    );

    // Links stay behind when the practice moves, and go when it is closed.
    store
        .create_password_link(
            practice,
            owner,
            b"link-owner",
            now + hour,
            &link_email("owner@links.example"),
            now,
        )
        .await
        .unwrap();
    store
        .create_password_link(
            other,
            elsewhere,
            b"link-else",
            now + hour,
            &link_email("else@links.example"),
            now,
        )
        .await
        .unwrap();
    let dump = store.dump_practice(practice).await.unwrap();
    assert!(dump.table("users").is_some_and(|t| t.rows.len() == 2));
    for left in [
        "password_links",
        "operators",
        "operator_sessions",
        "host_counters",
    ] {
        assert!(dump.table(left).is_none(), "{left} stays behind");
    }
    store.set_suspended(practice, Some(now)).await.unwrap();
    store.begin_closing(practice, now).await.unwrap();
    store.delete_practice(practice).await.unwrap();
    assert!(!store.practice_ids().await.unwrap().contains(&practice));
    assert_eq!(
        store
            .password_link(practice, b"link-owner", now)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .staff_accounts(practice, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.password_link(other, b"link-else", now).await.unwrap(),
        Some((elsewhere, address("else@links.example"))),
        "another practice's link stays"
    );
    assert!(
        !store.operators().await.unwrap().is_empty(),
        "operators belong to no practice"
    );
}

/// Races, through two handles on one database (two processes): 20 uses of one password link
/// at once set the password once; 10 set-ups of one operator's app at once switch on one;
/// 10 uses of one code at once spend it once.
pub async fn operator_races(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let setup = PracticeSetup::from_toml(PRACTICE).unwrap();
    let practice = first.create_practice(&setup, now).await.unwrap();
    let user = first
        .create_user(
            practice,
            &account("race@links.example", "Ray Race", "r0"),
            now,
        )
        .await
        .unwrap();
    first
        .create_password_link(
            practice,
            user,
            b"race-link",
            now + SignedDuration::from_hours(1),
            &link_email("race@links.example"),
            now,
        )
        .await
        .unwrap();
    let uses: Vec<_> = (0..20)
        .map(|n| {
            let store = either(n, &first, &second);
            tokio::spawn(async move {
                let hash = format!("r{n}");
                let used = store
                    .use_password_link(practice, b"race-link", &hash, now)
                    .await
                    .unwrap();
                used.map(|id| (id, hash))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for used in uses {
        winners.extend(used.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "one use of a link: {winners:?}");
    let (id, hash) = &winners[0];
    assert_eq!(*id, user);
    assert_eq!(
        &second
            .user_by_email(&address("race@links.example"))
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        hash,
        "the winner's password is the one set"
    );

    let operator = first
        .create_operator(&account("racer@ops.example", "Rae Racer", "h"), now)
        .await
        .unwrap();
    let set_ups: Vec<_> = (0..10)
        .map(|n| {
            let store = either(n, &first, &second);
            tokio::spawn(async move {
                let secret = format!("secret-{n}").into_bytes();
                let result = store
                    .enable_operator_authenticator(operator, &secret, 10, now)
                    .await;
                match result {
                    Ok(()) => Some(secret),
                    Err(StoreError::Conflict(ConflictKind::AuthenticatorEnabled)) => None,
                    Err(other) => panic!("{other:?}"),
                }
            })
        })
        .collect();
    let mut enabled = Vec::new();
    for set_up in set_ups {
        enabled.extend(set_up.await.unwrap());
    }
    assert_eq!(enabled.len(), 1, "one app switched on");
    assert_eq!(
        first
            .operator_by_email(&address("racer@ops.example"))
            .await
            .unwrap()
            .unwrap()
            .sealed_secret,
        Some(enabled[0].clone()),
        "the winner's"
    );
    let codes: Vec<_> = (0..10)
        .map(|n| {
            let store = either(n, &first, &second);
            tokio::spawn(async move { store.use_operator_step(operator, 11).await.unwrap() })
        })
        .collect();
    let mut spent = 0;
    for code in codes {
        if code.await.unwrap() {
            spent += 1;
        }
    }
    assert_eq!(spent, 1, "one code, spent once");
}
