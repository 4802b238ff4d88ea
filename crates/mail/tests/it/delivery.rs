//! The outbox worker delivers queued messages, retries when the server is away, and
//! never changes a message's identity between attempts.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use domain::{EmailAddress, practice::PracticeSetup};
use jiff::{SignedDuration, Timestamp};
use mail::{MAX_ATTEMPTS, Mailer, SmtpSettings};
use store::{MessageId, MessageStatus, NewMessage, OutboxMessage, PracticeId, Store};
use store_sqlite::{OpenMode, SqliteStore};
use tokio::sync::Notify;

use crate::smtp_sink::SmtpSink;

const PRACTICE_TOML: &str = r#"
[practice]
name = "Larchwood Psychotherapy"
time_zone = "Europe/London"
notify_email = "notify@example.com"
intro = "Hello."

[therapist]
name = "Alex Morgan"
title = "Psychotherapist"
professional_body = "UKCP"
registration = "TEST-0001"
about = "About me."

[policies]
cancellation = "48 hours' notice."
confidentiality = "Within limits."

[privacy]
controller = "Alex Morgan"
retention_years = 7
"#;

const FROM: &str = "Larchwood Practice <practice@example.com>";
const SUBJECT: &str = "New enquiry from your website";
const BODY: &str =
    "Someone has sent an enquiry through your website.\n\nRead it in your back office.\n";

/// Where a world's database is: a SQLite file in a folder of its own, or a throwaway
/// PostgreSQL database.
enum Database {
    Sqlite(tempfile::TempDir),
    Postgres(store_postgres::testing::TestDatabase),
}

/// A store with one practice, and a clock the test moves by hand.
struct World {
    store: Arc<dyn Store>,
    practice: PracticeId,
    now: Arc<Mutex<Timestamp>>,
    database: Database,
}

impl World {
    /// On SQLite.
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::CreateIfMissing)
            .await
            .expect("open the database");
        Self::with(Arc::new(store), Database::Sqlite(dir)).await
    }

    /// On PostgreSQL, or `None` (the test is skipped) without a server.
    async fn on_postgres() -> Option<Self> {
        let database = store_postgres::testing::TestDatabase::create().await?;
        let store = database.store(8).await;
        Some(Self::with(Arc::new(store), Database::Postgres(database)).await)
    }

    async fn with(store: Arc<dyn Store>, database: Database) -> Self {
        let start: Timestamp = "2027-03-25T09:00:00Z".parse().expect("instant");
        let setup = PracticeSetup::from_toml(PRACTICE_TOML).expect("valid practice.toml");
        let practice = store
            .create_practice(&setup, start)
            .await
            .expect("create the practice");
        Self {
            store,
            practice,
            now: Arc::new(Mutex::new(start)),
            database,
        }
    }

    fn now(&self) -> Timestamp {
        *self.now.lock().expect("clock")
    }

    fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().expect("clock");
        *now = now.checked_add(by).expect("a later time");
    }

    /// A worker sending through `url`, reading this world's clock.
    fn mailer(&self, url: &str, wake: Arc<Notify>) -> Mailer {
        self.mailer_on(self.store.clone(), url, wake)
    }

    /// A worker on its own handle on this world's database, as another process would be.
    async fn mailer_elsewhere(&self, url: &str) -> Mailer {
        let store: Arc<dyn Store> = match &self.database {
            Database::Sqlite(dir) => Arc::new(
                SqliteStore::open(&dir.path().join("anteroom.db"), OpenMode::Existing)
                    .await
                    .expect("open the database again"),
            ),
            Database::Postgres(database) => Arc::new(database.store(8).await),
        };
        self.mailer_on(store, url, Arc::new(Notify::new()))
    }

    /// A worker sending through `url` from `store`, reading this world's clock.
    fn mailer_on(&self, store: Arc<dyn Store>, url: &str, wake: Arc<Notify>) -> Mailer {
        let smtp = SmtpSettings::parse(url, FROM).expect("valid SMTP settings");
        let clock = self.now.clone();
        Mailer::new(
            store,
            smtp,
            Arc::new(move || *clock.lock().expect("clock")),
            wake,
        )
    }

    async fn enqueue(&self) -> MessageId {
        self.enqueue_to("notify@example.com").await
    }

    async fn enqueue_to(&self, to: &str) -> MessageId {
        let message = NewMessage {
            kind: "enquiry_notification".into(),
            to: EmailAddress::parse(to).expect("email"),
            subject: SUBJECT.into(),
            body_text: BODY.into(),
            calendar: None,
        };
        self.store
            .enqueue(self.practice, &message, self.now())
            .await
            .expect("enqueue")
    }

    async fn message(&self, id: MessageId) -> OutboxMessage {
        let all = self
            .store
            .outbox(self.practice, 100)
            .await
            .expect("read the outbox");
        all.into_iter()
            .find(|m| m.id == id)
            .expect("the message is in the outbox")
    }
}

/// A port with nothing listening on it.
async fn dead_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("address").port()
}

#[tokio::test]
async fn a_queued_message_is_delivered_once_with_its_message_id() {
    let world = World::new().await;
    let id = world.enqueue().await;
    let queued = world.message(id).await;
    assert_eq!(queued.status, MessageStatus::Pending);

    let sink = SmtpSink::start().await;
    let mailer = world.mailer(&sink.url(), Arc::new(Notify::new()));
    assert_eq!(mailer.deliver_due().await.expect("deliver"), 1);

    let received = sink.received();
    assert_eq!(received.len(), 1);
    let email = &received[0];
    assert_eq!(email.mail_from, "practice@example.com");
    assert_eq!(email.rcpt_to, ["notify@example.com"]);
    assert_eq!(email.header("To").as_deref(), Some("notify@example.com"));
    let from = email.header("From").expect("a From header");
    assert_eq!(from.replace('"', ""), FROM, "From: {from}");
    assert_eq!(email.header("Subject").as_deref(), Some(SUBJECT));
    assert_eq!(email.header("Message-ID"), Some(queued.message_id.clone()));
    assert!(
        email
            .header("Content-Type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    assert_eq!(email.body().trim_end(), BODY.trim_end());

    let sent = world.message(id).await;
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.sent_at, Some(world.now()));
    assert_eq!(sent.attempts, 1);
    assert_eq!(sent.next_attempt_at, None);

    assert_eq!(
        mailer.deliver_due().await.expect("deliver"),
        0,
        "a sent message is not sent again"
    );
    assert_eq!(sink.received().len(), 1);
    assert_eq!(world.store.pending_count().await.expect("count"), 0);
}

#[tokio::test]
async fn a_message_waits_when_the_server_is_away_and_is_sent_later_as_the_same_message() {
    let world = World::new().await;
    let id = world.enqueue().await;
    let message_id = world.message(id).await.message_id;

    let away = world.mailer(
        &format!("smtp://127.0.0.1:{}", dead_port().await),
        Arc::new(Notify::new()),
    );
    assert_eq!(away.deliver_due().await.expect("the outbox is readable"), 0);
    let waiting = world.message(id).await;
    assert_eq!(waiting.status, MessageStatus::Pending);
    assert_eq!(waiting.attempts, 1);
    assert!(
        waiting.last_error.as_deref().is_some_and(|e| !e.is_empty()),
        "the failure is recorded"
    );
    assert_eq!(
        waiting.next_attempt_at,
        Some(world.now() + SignedDuration::from_mins(1)),
        "first retry after a minute"
    );
    assert_eq!(waiting.message_id, message_id);

    let sink = SmtpSink::start().await;
    let back = world.mailer(&sink.url(), Arc::new(Notify::new()));
    world.advance(SignedDuration::from_secs(30));
    assert_eq!(
        back.deliver_due().await.expect("deliver"),
        0,
        "not retried before it is due"
    );
    assert!(sink.received().is_empty());

    world.advance(SignedDuration::from_secs(31));
    assert_eq!(back.deliver_due().await.expect("deliver"), 1);
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].header("Message-ID"),
        Some(message_id),
        "a retry carries the same Message-ID"
    );
    let sent = world.message(id).await;
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.attempts, 2);
    assert_eq!(sent.last_error, None);
}

#[tokio::test]
async fn after_about_a_day_of_failures_a_message_is_marked_failed() {
    let world = World::new().await;
    let id = world.enqueue().await;
    let away = world.mailer(
        &format!("smtp://127.0.0.1:{}", dead_port().await),
        Arc::new(Notify::new()),
    );
    let started = world.now();
    for attempt in 1..MAX_ATTEMPTS {
        away.deliver_due().await.expect("the outbox is readable");
        let message = world.message(id).await;
        assert_eq!(
            (message.status, message.attempts),
            (MessageStatus::Pending, attempt)
        );
        let next = message.next_attempt_at.expect("another attempt is planned");
        world.advance(next.duration_since(world.now()));
    }
    let waited = world.now().duration_since(started);
    assert!(
        (12..=26).contains(&(waited.as_hours())),
        "retried for {waited:#}"
    );
    away.deliver_due().await.expect("the outbox is readable");
    let failed = world.message(id).await;
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(failed.attempts, MAX_ATTEMPTS);
    assert_eq!(failed.next_attempt_at, None);

    let sink = SmtpSink::start().await;
    world.advance(SignedDuration::from_hours(24));
    assert_eq!(
        world
            .mailer(&sink.url(), Arc::new(Notify::new()))
            .deliver_due()
            .await
            .expect("deliver"),
        0,
        "failed messages wait for the Retry button"
    );
    world
        .store
        .retry_message(world.practice, id, world.now())
        .await
        .expect("retry");
    assert_eq!(
        world
            .mailer(&sink.url(), Arc::new(Notify::new()))
            .deliver_due()
            .await
            .expect("deliver"),
        1
    );
    assert_eq!(world.message(id).await.status, MessageStatus::Sent);
}

/// Two workers in two processes (two handles on one database file) deliver a thousand
/// queued messages at the same time: each reaches the SMTP server exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_database_send_each_message_exactly_once() {
    each_message_exactly_once(World::new().await).await;
}

/// The same on PostgreSQL, where the workers claim with `FOR UPDATE SKIP LOCKED`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgres_database_send_each_message_exactly_once() {
    if let Some(world) = World::on_postgres().await {
        each_message_exactly_once(world).await;
    }
}

async fn each_message_exactly_once(world: World) {
    const MESSAGES: usize = 1_000;
    let mut queued = std::collections::HashSet::new();
    // To fifty addresses: mail to one address goes one message after another.
    for n in 0..MESSAGES {
        queued.insert(
            world
                .enqueue_to(&format!("person{}@example.com", n % 50))
                .await,
        );
    }
    let sink = SmtpSink::start().await;
    let here = world.mailer(&sink.url(), Arc::new(Notify::new()));
    let there = world.mailer_elsewhere(&sink.url()).await;
    let (sent_here, sent_there) = tokio::join!(
        tokio::spawn(async move { here.deliver_due().await }),
        tokio::spawn(async move { there.deliver_due().await }),
    );
    let sent_here = sent_here.expect("no panic").expect("deliver");
    let sent_there = sent_there.expect("no panic").expect("deliver");
    assert_eq!(sent_here + sent_there, MESSAGES);
    assert!(
        sent_here > 0 && sent_there > 0,
        "both workers took part ({sent_here} and {sent_there})"
    );

    let mut seen = std::collections::HashMap::new();
    for email in sink.received() {
        let id = email.header("Message-ID").expect("a Message-ID");
        *seen.entry(id).or_insert(0_u32) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(seen.len(), MESSAGES, "every message was received");

    let outbox = world
        .store
        .outbox(world.practice, 2_000)
        .await
        .expect("read the outbox");
    assert_eq!(outbox.len(), MESSAGES);
    for message in &outbox {
        assert!(queued.contains(&message.id));
        assert_eq!(
            (message.status, message.attempts, message.claimed_until),
            (MessageStatus::Sent, 1, None),
            "{:?}",
            message.id
        );
        assert_eq!(seen.get(&message.message_id), Some(&1));
    }
    assert_eq!(world.store.pending_count().await.expect("count"), 0);
}

/// A worker that stops mid-send holds its messages only until its lease ends; then another
/// worker sends them.
#[tokio::test]
async fn a_message_claimed_by_a_worker_that_stopped_is_sent_when_its_lease_ends() {
    let world = World::new().await;
    let id = world.enqueue().await;
    // The worker that stopped: it claimed the message and never said what became of it.
    let claimed = world
        .store
        .claim_due(world.now(), mail::LEASE, 20)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);

    let sink = SmtpSink::start().await;
    let other = world.mailer_elsewhere(&sink.url()).await;
    assert_eq!(
        other.deliver_due().await.expect("deliver"),
        0,
        "not while the claim lasts"
    );
    world.advance(mail::LEASE);
    assert_eq!(other.deliver_due().await.expect("deliver"), 1);
    assert_eq!(sink.received().len(), 1);
    let sent = world.message(id).await;
    assert_eq!((sent.status, sent.attempts), (MessageStatus::Sent, 1));
}

#[tokio::test]
async fn the_worker_sends_as_soon_as_it_is_woken() {
    let world = World::new().await;
    let sink = SmtpSink::start().await;
    let wake = Arc::new(Notify::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(world.mailer(&sink.url(), wake.clone()).run(async move {
        let _ = stopped.await;
    }));

    let id = world.enqueue().await;
    wake.notify_one();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while sink.received().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not delivered within 5 seconds of the wake-up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .expect("the worker stops")
        .expect("the worker did not panic");
    assert_eq!(world.message(id).await.status, MessageStatus::Sent);
}

/// An invitation arrives as multipart/mixed with the text and a text/calendar part whose
/// method matches the VCALENDAR's, and a real iCalendar parser reads it back.
#[tokio::test]
async fn a_booking_email_carries_its_calendar_invitation() {
    use mail::ics::{Event, Method, calendar};
    let world = World::new().await;
    let event = Event {
        uid: "0123abcd@example.com".into(),
        sequence: 2,
        start: "2027-03-29T08:00:00Z".parse().expect("instant"),
        end: "2027-03-29T08:50:00Z".parse().expect("instant"),
        summary: "First consultation with Alex Morgan".into(),
        location: "27 Larchwood Mews, London, SW12 9RT".into(),
        description: "To change or cancel: https://example.com/booking/abc".into(),
        status: "CONFIRMED",
        organizer: Some(("Alex Morgan".into(), "notify@example.com".into())),
        attendee: Some(("Sam Jones".into(), "sam@example.com".into())),
    };
    let ics = calendar(Method::Request, &[event], world.now(), None);
    let message = NewMessage {
        kind: "booking_confirmation".into(),
        to: EmailAddress::parse("sam@example.com").expect("email"),
        subject: "Your first consultation is booked".into(),
        body_text: "Dear Sam Jones,\n\nYour first consultation is booked.\n".into(),
        calendar: Some(store::CalendarAttachment {
            method: "REQUEST".into(),
            ics: ics.clone(),
        }),
    };
    world
        .store
        .enqueue(world.practice, &message, world.now())
        .await
        .expect("enqueue");
    let sink = SmtpSink::start().await;
    let sent = world
        .mailer(&sink.url(), Arc::new(Notify::new()))
        .deliver_due()
        .await
        .expect("deliver");
    assert_eq!(sent, 1);
    let received = sink.received();
    let data = &received[0].data;
    assert!(data.contains("multipart/mixed"), "{data}");
    assert!(
        data.contains("text/calendar; charset=utf-8; method=REQUEST"),
        "{data}"
    );
    assert!(data.contains("invite.ics"), "{data}");
    assert!(data.contains("Your first consultation is booked"), "{data}");
    ics_parses(&ics);
}

/// Check an ICS file with Python's `icalendar` (installed by `cargo xtask test`; a plain
/// `cargo test` without it says so and only checks the structure).
fn ics_parses(ics: &str) {
    let script = "import sys, icalendar\n\
        cal = icalendar.Calendar.from_ical(sys.stdin.read())\n\
        events = [c for c in cal.walk() if c.name == 'VEVENT']\n\
        assert len(events) == 1, events\n\
        e = events[0]\n\
        print(cal.get('method'), e.get('uid'), e.get('sequence'), e.decoded('dtstart').isoformat(), e.get('location'))\n";
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(ics.as_bytes())?;
            child.wait_with_output()
        });
    let required = std::env::var_os("ANTEROOM_REQUIRE_ICS_PARSER").is_some();
    match output {
        Ok(out) if out.status.success() => {
            let line = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                line.trim(),
                "REQUEST 0123abcd@example.com 2 2027-03-29T08:00:00+00:00 27 Larchwood Mews, London, SW12 9RT"
            );
        }
        Ok(out)
            if !required
                && String::from_utf8_lossy(&out.stderr).contains("No module named 'icalendar'") =>
        {
            eprintln!(
                "python icalendar is not installed: run `cargo xtask test` for the full check"
            );
            assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
        }
        Ok(out) => panic!(
            "icalendar refused the file: {}\n{ics}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(error) if !required => {
            eprintln!("python3 is not available ({error}); skipping the parser check")
        }
        Err(error) => panic!("cannot run python3: {error}"),
    }
}

#[tokio::test]
async fn a_body_is_prepared_just_before_sending_and_a_refusal_keeps_it_waiting() {
    let world = World::new().await;
    let id = world.enqueue().await;
    let sink = SmtpSink::start().await;
    // A preparer that refuses (say, a sealed link that does not open): nothing is sent.
    let refusing = world
        .mailer(&sink.url(), Arc::new(Notify::new()))
        .with_prepare(Arc::new(|_: store::OutboxMessage| {
            Box::pin(async { Err("does not open".to_owned()) })
        }));
    assert_eq!(refusing.deliver_due().await.expect("deliver"), 0);
    assert!(sink.received().is_empty());
    let waiting = world.message(id).await;
    assert_eq!(waiting.status, MessageStatus::Pending);
    assert_eq!(waiting.last_error.as_deref(), Some("does not open"));

    world.advance(SignedDuration::from_mins(2));
    let preparing = world
        .mailer(&sink.url(), Arc::new(Notify::new()))
        .with_prepare(Arc::new(|message: store::OutboxMessage| {
            Box::pin(async move { Ok(message.body_text.replace("back office", "office")) })
        }));
    assert_eq!(preparing.deliver_due().await.expect("deliver"), 1);
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].body().contains("Read it in your office."));
    assert_eq!(
        world.message(id).await.body_text,
        BODY,
        "what is stored stays as it was"
    );
}

#[tokio::test]
async fn without_a_fixed_sender_each_message_is_from_its_own_practice() {
    let world = World::new().await;
    let second = PracticeSetup::from_toml(
        &PRACTICE_TOML
            .replace(
                "\"Larchwood Psychotherapy\"",
                r#"'Hollybank "Counselling"'"#,
            )
            .replace("notify@example.com", "hello@hollybank.example"),
    )
    .expect("valid practice.toml");
    let other = world
        .store
        .create_practice(&second, world.now())
        .await
        .expect("a second practice");
    world.enqueue().await;
    let message = NewMessage {
        kind: "enquiry_notification".into(),
        to: EmailAddress::parse("hello@hollybank.example").expect("email"),
        subject: SUBJECT.into(),
        body_text: BODY.into(),
        calendar: None,
    };
    world
        .store
        .enqueue(other, &message, world.now())
        .await
        .expect("enqueue");

    let sink = SmtpSink::start().await;
    let clock = world.now.clone();
    let mailer = Mailer::new(
        world.store.clone(),
        SmtpSettings::each_practice(&sink.url()).expect("valid SMTP settings"),
        Arc::new(move || *clock.lock().expect("clock")),
        Arc::new(Notify::new()),
    );
    assert_eq!(mailer.deliver_due().await.expect("deliver"), 2);
    let mut from: Vec<_> = sink
        .received()
        .iter()
        .map(|m| {
            (
                m.mail_from.clone(),
                m.header("From").expect("a From header"),
            )
        })
        .collect();
    from.sort();
    assert_eq!(
        from,
        vec![
            (
                "hello@hollybank.example".to_owned(),
                r#""Hollybank \"Counselling\"" <hello@hollybank.example>"#.to_owned()
            ),
            (
                "notify@example.com".to_owned(),
                r#""Larchwood Psychotherapy" <notify@example.com>"#.to_owned()
            ),
        ]
    );
}

/// A mail server outage of an hour of pinned time: the server refuses every message
/// (`451`, try again later) while messages keep being queued, then accepts again. Nothing
/// is sent meanwhile and nothing is given up; afterwards every message is delivered exactly
/// once, in the order queued for each address, none lost, none failed.
#[tokio::test]
async fn an_hour_of_refusals_loses_nothing_and_then_delivers_each_message_once_in_order() {
    let world = World::new().await;
    let sink = SmtpSink::start().await;
    sink.refuse(true);
    let mailer = world.mailer(&sink.url(), Arc::new(Notify::new()));
    let recipients = ["ash@example.com", "bay@example.com", "cedar@example.com"];
    let mut queued = Vec::new();
    for minute in 0..60 {
        if minute % 6 == 0 {
            for to in recipients {
                let subject = format!("Message {} to {to}", queued.len());
                let message = NewMessage {
                    kind: "enquiry_notification".into(),
                    to: EmailAddress::parse(to).expect("email"),
                    subject: subject.clone(),
                    body_text: BODY.into(),
                    calendar: None,
                };
                world
                    .store
                    .enqueue(world.practice, &message, world.now())
                    .await
                    .expect("enqueue");
                queued.push(subject);
            }
        }
        mailer.deliver_due().await.expect("the outbox is readable");
        world.advance(SignedDuration::from_mins(1));
    }
    assert!(sink.received().is_empty(), "nothing got through the outage");
    let outbox = world
        .store
        .outbox(world.practice, 1000)
        .await
        .expect("outbox");
    assert_eq!(outbox.len(), queued.len());
    assert!(
        outbox.iter().all(|m| m.status == MessageStatus::Pending),
        "every message still waiting, none given up"
    );
    let first = outbox.iter().max_by_key(|m| m.attempts).expect("a message");
    assert!(
        first.attempts >= 5,
        "tried again and again: {}",
        first.attempts
    );
    assert!(
        first
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("451") || e.contains("try again")),
        "the server's refusal recorded: {:?}",
        first.last_error
    );

    // The server is back: within the longest wait the backoff reached, all of it goes.
    sink.refuse(false);
    for _ in 0..24 * 60 {
        if world.store.pending_count().await.expect("count") == 0 {
            break;
        }
        mailer.deliver_due().await.expect("deliver");
        world.advance(SignedDuration::from_mins(1));
    }
    assert_eq!(world.store.pending_count().await.expect("count"), 0);
    let mut received: Vec<String> = sink
        .received()
        .iter()
        .map(|r| r.header("Subject").expect("a subject"))
        .collect();
    assert_eq!(received.len(), queued.len(), "each exactly once");
    for to in recipients {
        let number = |subject: &String| -> usize {
            subject["Message ".len()..]
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let theirs: Vec<usize> = received
            .iter()
            .filter(|s| s.ends_with(to))
            .map(number)
            .collect();
        assert!(
            theirs.is_sorted(),
            "{to}'s mail in the order it was queued: {theirs:?}"
        );
    }
    received.sort();
    queued.sort();
    assert_eq!(received, queued, "none lost");
    let outbox = world
        .store
        .outbox(world.practice, 1000)
        .await
        .expect("outbox");
    assert!(outbox.iter().all(|m| m.status == MessageStatus::Sent));
}
