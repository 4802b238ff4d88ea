//! What PostgreSQL itself holds to: each rule's error named, the overlap rule as an exclusion
//! constraint, the append-only audit log, and every table about a client described.

use super::*;

/// Each uniqueness rule of the real schema, broken, maps to its kind; a rule no kind
/// names is `Unique`; no row is `NotFound`; a broken statement is `Other`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_err_names_each_rule() {
    use store::{ConflictKind, StoreError};
    let Some((_db, store)) = fresh().await else {
        return;
    };
    let (practice, location, kind) = practice(&store).await;
    let article = format!(
        "INSERT INTO articles (practice_id, kind, slug, title, summary, body, reading_minutes,
             published, date, created_at, updated_at)
         VALUES ({practice}, 'article', 'a', 'A', 'A.', 'A.', 1, 1, '2027-01-01', 0, 0)"
    );
    let location_row = format!(
        "INSERT INTO locations (practice_id, slug, position, name, online, address_lines,
             summary, getting_there, accessibility, building)
         VALUES ({practice}, 'balham', 9, 'Again', 0, '', '', '', '', '')"
    );
    let kind_row = format!(
        "INSERT INTO appointment_types (practice_id, slug, position, name, minutes, fee_pence,
             description)
         VALUES ({practice}, 'consultation', 9, 'Again', 50, 0, '')"
    );
    let user = |email: &str| {
        format!(
            "INSERT INTO users (practice_id, email, name, password_hash, created_at)
             VALUES ({practice}, '{email}', 'Alex', 'x', 0)"
        )
    };
    let operator = |email: &str| {
        format!(
            "INSERT INTO operators (email, name, password_hash, created_at)
             VALUES ('{email}', 'Ola', 'x', 0)"
        )
    };
    let message = format!(
        "INSERT INTO outbox (practice_id, message_id, kind, recipient, subject, body_text,
             status, created_at)
         VALUES ({practice}, '<a@example.com>', 'test', 'a@example.com', 'S', 'B', 'pending', 0)"
    );
    raw_booking(
        &store,
        (practice, location, kind),
        "a",
        "cancelled",
        (0, 3000),
    )
    .await;
    let booking = format!(
        "INSERT INTO bookings (practice_id, type_id, location_id, starts_at, ends_at, status,
             name, email, contact_preference, manage_token_hash, uid, created_at, updated_at)
         VALUES ({practice}, {kind}, {location}, 0, 3000, 'cancelled', 'Sam', 'sam@example.com',
             'email', '\\x00', 'a', 0, 0)"
    );
    for sql in [
        &article,
        &user("a@example.com"),
        &operator("a@example.com"),
        &message,
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
            .execute(store.read())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let cases = [
        (article, ConflictKind::ArticleSlug),
        (location_row, ConflictKind::LocationSlug),
        (kind_row, ConflictKind::AppointmentTypeSlug),
        (user("a@example.com"), ConflictKind::UserEmail),
        (user("A@Example.com"), ConflictKind::UserEmail),
        (operator("a@example.com"), ConflictKind::UserEmail),
        (operator("A@Example.com"), ConflictKind::UserEmail),
        (message, ConflictKind::OutboxMessageId),
        (booking, ConflictKind::Unique),
    ];
    for (sql, kind) in cases {
        let error = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
            .execute(store.read())
            .await
            .unwrap_err();
        match crate::map_err(error) {
            StoreError::Conflict(got) => assert_eq!(got, kind, "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
    }
    let missing = sqlx::query("SELECT 1 WHERE false")
        .fetch_one(store.read())
        .await
        .unwrap_err();
    assert!(matches!(crate::map_err(missing), StoreError::NotFound));
    let broken = sqlx::query("INSERT INTO nowhere VALUES (1)")
        .execute(store.read())
        .await
        .unwrap_err();
    assert!(matches!(crate::map_err(broken), StoreError::Other(_)));
}

/// The SQLSTATE of a database error.
fn sqlstate(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The overlap rule is the exclusion constraint on `occupancy`: half-open ranges per
/// practice, and no empty or reversed range; the occupancy module names its refusal after
/// whoever wrote the row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overlap_rule_is_an_exclusion_constraint() {
    use store::{ConflictKind, StoreError};
    let Some((_db, store)) = fresh().await else {
        return;
    };
    let first = practice(&store).await;
    let second = practice(&store).await;
    // Monday 2027-01-04 10:00 UTC.
    let ten = 1_799_056_800;
    let (minutes_50, minutes_10) = (50 * 60, 10 * 60);
    let occupy = |practice: i64, booking: i64, (starts_at, ends_at): (i64, i64)| {
        let pool = store.read().clone();
        async move {
            sqlx::query(
                "INSERT INTO occupancy (practice_id, booking_id, starts_at, ends_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(practice)
            .bind(booking)
            .bind(starts_at)
            .bind(ends_at)
            .execute(&pool)
            .await
        }
    };
    let mut bookings = Vec::new();
    for n in 0..6 {
        let owner = if n == 5 { second } else { first };
        bookings.push(raw_booking(&store, owner, &format!("b{n}"), "cancelled", (0, 60)).await);
    }
    let back_to_back = [
        (ten, ten + minutes_50),
        (ten + minutes_50, ten + 2 * minutes_50),
    ];
    for (booking, times) in bookings.iter().zip(back_to_back) {
        occupy(first.0, *booking, times)
            .await
            .expect("back to back is allowed");
    }
    let overlapping = occupy(
        first.0,
        bookings[2],
        (
            ten + minutes_50 - minutes_10,
            ten + 2 * minutes_50 + minutes_10,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        sqlstate(&overlapping).as_deref(),
        Some(crate::EXCLUSION_VIOLATION)
    );
    assert!(
        overlapping.to_string().contains("one_place_at_a_time"),
        "{overlapping}"
    );
    assert!(matches!(
        crate::map_err(overlapping),
        StoreError::Conflict(ConflictKind::AppointmentsOverlap)
    ));
    let inside = occupy(
        first.0,
        bookings[2],
        (ten + minutes_10, ten + 2 * minutes_10),
    )
    .await
    .unwrap_err();
    assert_eq!(
        sqlstate(&inside).as_deref(),
        Some(crate::EXCLUSION_VIOLATION)
    );
    occupy(second.0, bookings[5], (ten, ten + minutes_50))
        .await
        .expect("another practice's diary is its own");
    for times in [
        (ten + 3 * minutes_50, ten + 3 * minutes_50),
        (ten + 4 * minutes_50, ten + 3 * minutes_50),
    ] {
        let refused = occupy(first.0, bookings[3], times).await.unwrap_err();
        assert_eq!(
            sqlstate(&refused).as_deref(),
            Some("23514"),
            "{times:?}: {refused}"
        );
    }
    // Moving a row onto another is refused too.
    let moved = sqlx::query(
        "UPDATE occupancy SET starts_at = starts_at - 600, ends_at = ends_at - 600
         WHERE booking_id = $1",
    )
    .bind(bookings[1])
    .execute(store.read())
    .await
    .unwrap_err();
    assert_eq!(
        sqlstate(&moved).as_deref(),
        Some(crate::EXCLUSION_VIOLATION)
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM occupancy")
        .fetch_one(store.read())
        .await
        .unwrap();
    assert_eq!(rows, 3, "only what was allowed is there");

    // The occupancy module names the refusal: a consultation finds its slot gone, a
    // session clashes with another appointment.
    let booking = raw_booking(
        &store,
        first,
        "held",
        "confirmed",
        (ten + minutes_10, ten + minutes_50),
    )
    .await;
    let session = raw_session(
        &store,
        first,
        "session",
        (ten + minutes_10, ten + minutes_50),
    )
    .await;
    let mut tx = store.write().await.unwrap();
    let refused = crate::occupancy::add_bookings(&mut tx, &[booking]).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(ConflictKind::SlotUnavailable))
        ),
        "{refused:?}"
    );
    tx.rollback().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let refused = crate::occupancy::add_sessions(&mut tx, &[session]).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(ConflictKind::AppointmentsOverlap))
        ),
        "{refused:?}"
    );
    tx.rollback().await.unwrap();
    // Moved clear of the others, both are accepted.
    sqlx::query("UPDATE bookings SET starts_at = $2, ends_at = $3 WHERE id = $1")
        .bind(booking)
        .bind(ten + 4 * minutes_50)
        .bind(ten + 5 * minutes_50)
        .execute(store.read())
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET starts_at = $2, ends_at = $3 WHERE id = $1")
        .bind(session)
        .bind(ten + 5 * minutes_50)
        .bind(ten + 6 * minutes_50)
        .execute(store.read())
        .await
        .unwrap();
    let mut tx = store.write().await.unwrap();
    crate::occupancy::add_bookings(&mut tx, &[booking])
        .await
        .unwrap();
    crate::occupancy::add_sessions(&mut tx, &[session])
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_refuses_changes_and_verify_finds_tampering() {
    use store::{Actor, AuditAction, AuditStore, NewAuditEntry, PracticeId, audit};
    let Some((_db, store)) = fresh().await else {
        return;
    };
    let practice = PracticeId::new(practice(&store).await.0);
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    for action in [
        AuditAction::SignIn,
        AuditAction::ClientViewed,
        AuditAction::SignOut,
    ] {
        let entry = NewAuditEntry {
            actor: Actor::System,
            action,
            client: None,
            object: None,
            source: None,
        };
        store.append_audit(practice, &entry, now).await.unwrap();
    }
    assert_eq!(audit::verify(&store, practice).await.unwrap(), Ok(3));
    let ids: Vec<i64> = store
        .audit_after(practice, 0, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let [_, second, third] = ids[..] else {
        panic!("three entries: {ids:?}");
    };
    for refused in [
        "UPDATE audit_log SET action = 'staff.sign_out' WHERE id = $1",
        "DELETE FROM audit_log WHERE id = $1",
    ] {
        let error = sqlx::query(refused)
            .bind(second)
            .execute(store.read())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("append-only"), "{error}");
    }
    // Someone with the database's owner role goes around the trigger: verify notices.
    sqlx::raw_sql("DROP TRIGGER audit_log_no_update ON audit_log")
        .execute(store.read())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET source = '10.0.0.1' WHERE id = $1")
        .bind(second)
        .execute(store.read())
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&store, practice).await.unwrap(),
        Err(audit::ChainError::Altered { id: second })
    );
    sqlx::query("UPDATE audit_log SET source = NULL WHERE id = $1")
        .bind(second)
        .execute(store.read())
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&store, practice).await.unwrap(),
        Ok(3),
        "put back"
    );
    sqlx::query("DELETE FROM audit_log WHERE id = $1")
        .bind(second)
        .execute(store.read())
        .await
        .unwrap();
    assert_eq!(
        audit::verify(&store, practice).await.unwrap(),
        Err(audit::ChainError::Link { id: third })
    );
}

/// What the description of a client's tables (`client_tables.rs`) misses or gets wrong
/// about the schema of `db`: a table with a `client_id` column or a foreign key to
/// `clients` that is not listed, a listed table or column that does not exist, a column
/// not described (or out of order), a kind that does not fit the column's type, a column
/// named like a secret that is not described as one.
async fn undescribed(db: &sqlx::PgPool) -> Vec<String> {
    use store::rights::{Kind, Record, is_secret_column};
    let mut problems = Vec::new();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name <> 'anteroom_schema'
         ORDER BY table_name",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert!(names.iter().any(|n| n == "clients"), "{names:?}");
    for table in crate::client_tables::CLIENT_TABLES {
        if !names.iter().any(|n| n == table.table) {
            problems.push(format!("{} is described but is not a table", table.table));
        }
    }
    let mut records: Vec<Record> = crate::client_tables::CLIENT_TABLES
        .iter()
        .map(|t| t.record)
        .collect();
    records.sort();
    if records != Record::ALL {
        problems.push(format!("each kind of record once: {records:?}"));
    }
    for name in &names {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1
             ORDER BY ordinal_position",
        )
        .bind(name)
        .fetch_all(db)
        .await
        .unwrap();
        let to_clients: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_constraint
             WHERE contype = 'f' AND conrelid = to_regclass('public.' || quote_ident($1))
               AND confrelid = 'public.clients'::regclass",
        )
        .bind(name)
        .fetch_one(db)
        .await
        .unwrap();
        let Some(described) = crate::client_tables::CLIENT_TABLES
            .iter()
            .find(|t| t.table == name)
        else {
            if columns.iter().any(|(c, _)| c == "client_id") || to_clients > 0 {
                problems.push(format!("{name} refers to clients but is not described"));
            }
            continue;
        };
        let stored: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        let listed: Vec<&str> = described.columns.iter().map(|c| c.name).collect();
        if stored != listed {
            problems.push(format!(
                "{name} has columns {stored:?}, described {listed:?}"
            ));
        }
        for column in described.columns {
            let Some((_, kind)) = columns.iter().find(|(c, _)| c == column.name) else {
                continue;
            };
            let fits = match column.kind {
                Kind::Integer | Kind::Bool | Kind::Instant => kind == "bigint",
                Kind::Text | Kind::Date => kind == "text",
                Kind::Bytes | Kind::Note => kind == "bytea",
                Kind::Secret => kind == "bytea" || kind == "text",
            };
            if !fits {
                problems.push(format!(
                    "{name}.{} is {kind}, not {:?}",
                    column.name, column.kind
                ));
            }
        }
        for (column, _) in &columns {
            let kind = described.columns.iter().find(|c| c.name == column);
            if is_secret_column(column) && kind.is_none_or(|c| c.kind != Kind::Secret) {
                problems.push(format!("{name}.{column} looks secret"));
            }
        }
    }
    problems
}

/// The description of a client's tables matches the schema; a table or column added
/// without describing it is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_about_a_client_is_described() {
    let Some((_db, store)) = fresh().await else {
        return;
    };
    assert_eq!(undescribed(store.read()).await, Vec::<String>::new());
    sqlx::raw_sql(
        "CREATE TABLE client_moods (id BIGINT PRIMARY KEY, client_id BIGINT, mood TEXT);
         CREATE TABLE session_extras (session_id BIGINT, payer BIGINT REFERENCES clients(id));
         ALTER TABLE notes ADD COLUMN share_token TEXT;
         ALTER TABLE invoices ALTER COLUMN number TYPE INTEGER;",
    )
    .execute(store.read())
    .await
    .unwrap();
    let problems = undescribed(store.read()).await;
    for expected in [
        "client_moods refers to clients but is not described",
        "session_extras refers to clients but is not described",
        "notes.share_token looks secret",
        "invoices.number is integer, not Integer",
    ] {
        assert!(
            problems.iter().any(|p| p == expected),
            "{expected}: {problems:?}"
        );
    }
    assert!(
        problems.iter().any(|p| p.starts_with("notes has columns")),
        "{problems:?}"
    );
}
