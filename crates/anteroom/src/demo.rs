//! `anteroom demo`: a fictional practice on a fresh database, seeded and served.

use std::process::ExitCode;

use anyhow::{anyhow, bail};
use jiff::{Timestamp, tz::TimeZone};
use store::{ArticleKind, PracticeId, Store};
use web::Clock;

use crate::cli::DemoArgs;
use crate::keys::key_file;
use crate::location::{Location, Mode, open_store};
use crate::serve::{Serving, run_server};
use crate::users::{add_user, new_password};
use crate::{content, demo_therapy, files};

/// Seed the demo practice into a new database (a temporary folder unless told where) and
/// serve it; a temporary folder is deleted when the server stops.
pub async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let given = Location::optional(args.data_dir.as_deref(), args.database_url.as_deref())?;
    let temporary = given.is_none();
    let location = given.unwrap_or_else(|| {
        Location::DataDir(
            std::env::temp_dir().join(format!("anteroom-demo-{:016x}", rand::random::<u64>())),
        )
    });
    // The key file beside a SQLite database; for PostgreSQL, in a temporary folder of its
    // own (the demo's notes need nothing kept).
    let key_dir = match (location.folder(), location.sqlite_file()) {
        (Some(dir), Some(path)) => {
            files::create_private_dir(&dir)?;
            if path.exists() {
                match &location {
                    Location::DataDir(dir) => bail!(
                        "{} already holds a database; the demo starts fresh, so give it an empty folder",
                        dir.display()
                    ),
                    _ => bail!(
                        "{} already exists; the demo starts fresh, so name a new file",
                        path.display()
                    ),
                }
            }
            if let Some(warning) = files::open_to_others(&path) {
                tracing::warn!("{warning}");
            }
            None
        }
        _ => {
            let dir = std::env::temp_dir()
                .join(format!("anteroom-demo-key-{:016x}", rand::random::<u64>()));
            files::create_private_dir(&dir)?;
            Some(dir)
        }
    };
    let clock = args.now.map_or(Clock::System, Clock::pinned);
    let key_path = match &key_dir {
        Some(dir) => dir.join("anteroom.key"),
        None => key_file(&location, None)?,
    };
    let key = crypto::MasterKey::create_file(&key_path)?;
    let store = open_store(&location, Mode::CreateIfMissing).await?;
    if !store.practice_ids().await?.is_empty() {
        store.close().await;
        bail!(
            "{} already holds a practice; the demo starts fresh, so give it an empty database",
            location.describe()
        );
    }
    let now = clock.now();
    let setup = content::embedded_practice("demo")?;
    let practice = store.create_practice(&setup, now).await?;
    let today = now.to_zoned_datetime(TimeZone::UTC).date();
    for (kind, folder) in [
        (ArticleKind::Approach, "demo/approaches"),
        (ArticleKind::Article, "demo/articles"),
    ] {
        let files: Vec<(String, String)> = content::embedded(folder)
            .into_iter()
            .map(|(name, text)| (name.to_owned(), text.to_owned()))
            .collect();
        for (name, outcome) in
            content::import(&*store, practice, kind, &files, today, now, false).await?
        {
            if let content::Outcome::Refused(reason) = outcome {
                bail!("demo content {name} is invalid: {reason}");
            }
        }
    }
    let password = args.demo_password.clone().unwrap_or_else(new_password);
    add_user(
        &*store,
        practice,
        "therapist@example.com",
        setup.therapist.name.as_str(),
        password.clone(),
    )
    .await?;
    let enquiry = domain::NewEnquiry::parse(&domain::enquiry::EnquiryForm {
        name: "Jordan Ellis",
        email: "jordan.ellis@example.com",
        phone: "",
        contact_preference: "email",
        message: "Hello, I'd like to arrange a first consultation. I'm usually free on weekday evenings and could come to Balham.",
        consent: true,
    })
    .map_err(|_| anyhow!("demo enquiry is invalid"))?;
    let note = store::NewMessage {
        kind: "enquiry_notification".into(),
        to: setup.details.notify_email.clone(),
        subject: "New enquiry from your website".into(),
        body_text:
            "Someone has sent an enquiry through your website. Read it in your back office.\n"
                .into(),
        calendar: None,
    };
    store.create_enquiry(practice, &enquiry, &note, now).await?;
    seed_demo_bookings(&*store, practice, &setup, now).await?;
    demo_therapy::seed(&*store, practice, &setup, now).await?;

    let server = args.server.clone();
    let served = run_server(
        store.shared(),
        Serving::One(practice),
        clock,
        server,
        key,
        |url| {
            println!();
            println!("  Anteroom demo practice is running at {url}/");
            println!("  Back office: {url}/office");
            println!("    email:    therapist@example.com");
            println!("    password: {password}");
            if let Some(now) = args.now {
                println!("  The clock is pinned: it started at {now}.");
            }
            println!(
                "  Press Ctrl+C to stop.{}",
                if temporary {
                    " The demo's temporary data is deleted then."
                } else {
                    ""
                }
            );
            println!();
        },
    )
    .await;
    store.close().await;
    served?;
    if temporary && let Some(dir) = location.folder() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Some(dir) = key_dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(ExitCode::SUCCESS)
}

/// A few fictional consultations in the coming fortnight, so the demo's calendar and
/// dashboard have something to show. Placed inside the demo's weekly hours.
pub async fn seed_demo_bookings(
    store: &dyn Store,
    practice: PracticeId,
    setup: &domain::practice::PracticeSetup,
    now: Timestamp,
) -> anyhow::Result<()> {
    use domain::booking::{BookingStatus, DetailsForm, VisitorDetails};
    use jiff::{ToSpan, civil::Weekday};
    let zone = TimeZone::get(&setup.details.time_zone)?;
    let today = now.to_zoned_datetime(zone.clone()).date();
    let wanted = [
        (
            "Alex Carter",
            "alex.carter@example.com",
            "chancery-lane",
            Weekday::Tuesday,
            11,
            BookingStatus::Confirmed,
        ),
        (
            "Priya Shah",
            "priya.shah@example.com",
            "balham",
            Weekday::Wednesday,
            15,
            BookingStatus::Confirmed,
        ),
        (
            "Morgan Lee",
            "morgan.lee@example.com",
            "online",
            Weekday::Friday,
            10,
            BookingStatus::Requested,
        ),
    ];
    for (i, (name, email, location, weekday, hour, status)) in wanted.into_iter().enumerate() {
        let Some(date) = (2..16_i64)
            .filter_map(|d| today.checked_add(d.days()).ok())
            .find(|d| d.weekday() == weekday)
        else {
            continue;
        };
        let start = date
            .at(hour, 0, 0, 0)
            .to_zoned_datetime(zone.clone())?
            .timestamp();
        if setup.away.iter().any(|a| {
            a.instants(&zone)
                .is_some_and(|(from, to)| from <= start && start < to)
        }) {
            continue;
        }
        let visitor = VisitorDetails::parse(
            &DetailsForm {
                name,
                email,
                phone: "",
                contact_preference: "email",
                note: "",
                consent: true,
            },
            true,
        )
        .map_err(|_| anyhow!("demo booking details are invalid"))?;
        let token: [u8; 32] = rand::random();
        let booking = store::NewBooking {
            appointment_type: domain::Slug::parse("consultation").map_err(|e| anyhow!("{e}"))?,
            location: domain::Slug::parse(location).map_err(|e| anyhow!("{e}"))?,
            start,
            end: start.checked_add(jiff::SignedDuration::from_mins(50))?,
            status,
            visitor,
            manage_token_hash: token.to_vec(),
            uid: format!("demo-{i}-{:016x}@anteroom.invalid", rand::random::<u64>()),
            hold_expires_at: (status == BookingStatus::Requested).then(|| {
                start.min(
                    now.checked_add(jiff::SignedDuration::from_hours(48))
                        .unwrap_or(start),
                )
            }),
            idempotency_key: None,
        };
        store
            .book(
                practice,
                &booking,
                &[],
                store::Recheck::accept_any(now),
                now,
            )
            .await?;
    }
    Ok(())
}
