//! Moving a practice to another database: every row, under new ids, all or nothing.

use super::*;

use store::{
    PracticeId,
    moving::{Dump, Moved, Rebind},
};

/// Seals nothing: each sealed value goes across as it is (the store cannot tell), unless
/// told to refuse.
struct AsItIs {
    refuse: bool,
}

impl Rebind for AsItIs {
    fn practice_key(&self, practice: PracticeId) -> Result<Vec<u8>, String> {
        Ok(format!("key of {practice}").into_bytes())
    }
    fn client_key(&self, _: Moved, _: Moved, wrapped: &[u8]) -> Result<Vec<u8>, String> {
        Ok(wrapped.to_vec())
    }
    fn note(&self, _: Moved, _: Moved, _: Moved, body: &[u8]) -> Result<Vec<u8>, String> {
        if self.refuse {
            Err("this note does not open".into())
        } else {
            Ok(body.to_vec())
        }
    }
    fn secret(&self, _: Moved, _: Moved, sealed: &[u8]) -> Result<Vec<u8>, String> {
        Ok(sealed.to_vec())
    }
}

/// The dump as the practice's own numbering gives it, chained again under those numbers.
fn canonical(dump: &Dump) -> Dump {
    let (mut numbered, _) = dump.renumber();
    numbered.rechain().unwrap();
    numbered
}

/// Run after [`crate::story`] on `from`: its practice, full of every kind of record, moves
/// to `to` (an empty database of the same engine) and back to `from`'s engine's shape: each
/// dump is the same practice, row for row. A move that cannot finish leaves nothing.
pub async fn moving_story(from: &dyn Store, to: &dyn Store) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let practice = from.first_practice().await.unwrap().unwrap();
    let dump = from.dump_practice(practice).await.unwrap();
    assert!(dump.chain_holds().unwrap(), "the audit chain as written");
    for table in [
        "practices",
        "clients",
        "sessions",
        "notes",
        "audit_log",
        "occupancy",
    ] {
        assert!(
            dump.table(table).is_some_and(|t| !t.rows.is_empty()),
            "{table} comes along"
        );
    }
    for left in [
        "staff_sessions",
        "rate_counters",
        "practice_hosts",
        "portal_sessions",
    ] {
        assert!(dump.table(left).is_none(), "{left} stays behind");
    }
    let name = domain::hosting::PracticeName::parse("moved").unwrap();

    // A rebind that fails, and an email address already an account there: nothing is left.
    let before = to.practice_ids().await.unwrap();
    assert!(
        to.load_practice(&dump, &AsItIs { refuse: true }, Some(&name), b"host", now)
            .await
            .is_err()
    );
    assert_eq!(to.practice_ids().await.unwrap(), before);
    // Loaded again into the database it came from, its staff accounts' addresses and its
    // emails' Message-IDs are taken already: refused, nothing left.
    let from_host = from.host_key_id().await.unwrap().unwrap_or_default();
    let there = from.practice_ids().await.unwrap();
    let again = from
        .load_practice(&dump, &AsItIs { refuse: false }, None, &from_host, now)
        .await;
    assert!(
        matches!(
            conflict_of(&again),
            Some(ConflictKind::UserEmail | ConflictKind::OutboxMessageId)
        ),
        "{again:?}"
    );
    assert_eq!(from.practice_ids().await.unwrap(), there);

    let moved = to
        .load_practice(&dump, &AsItIs { refuse: false }, Some(&name), b"host", now)
        .await
        .unwrap();
    assert_eq!(
        to.practice_key(moved).await.unwrap().unwrap(),
        format!("key of {moved}").into_bytes()
    );
    assert!(
        to.host_directory()
            .await
            .unwrap()
            .iter()
            .any(|entry| entry.practice == moved && entry.host.as_str() == "moved")
    );
    store::audit::verify(to, moved)
        .await
        .unwrap()
        .expect("the moved audit chain verifies");
    let again = to.dump_practice(moved).await.unwrap();
    assert!(again.chain_holds().unwrap());
    let (expected, arrived) = (canonical(&dump), canonical(&again));
    for (left, right) in expected.tables.iter().zip(&arrived.tables) {
        assert_eq!(left, right, "{} arrives row for row", left.name);
    }
    assert_eq!(expected, arrived);
    // It is a practice like any other there: its diary keeps the one-place rule.
    assert_eq!(
        to.sessions_between(
            moved,
            Timestamp::from_second(0).unwrap(),
            Timestamp::from_second(4_000_000_000).unwrap()
        )
        .await
        .unwrap()
        .len(),
        from.sessions_between(
            practice,
            Timestamp::from_second(0).unwrap(),
            Timestamp::from_second(4_000_000_000).unwrap()
        )
        .await
        .unwrap()
        .len()
    );
}
