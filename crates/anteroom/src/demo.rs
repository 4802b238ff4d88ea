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
    let password = args.demo_password.clone().unwrap_or_else(new_password);
    let practice = if args.hosted {
        create_hosted(
            &*store,
            "demo",
            DEMO_NAME,
            "therapist@example.com",
            &password,
            now,
        )
        .await?
    } else {
        let practice = store.create_practice(&setup, now).await?;
        add_user(
            &*store,
            practice,
            "therapist@example.com",
            setup.therapist.name.as_str(),
            password.clone(),
        )
        .await?;
        practice
    };
    import_pages(&*store, practice, "demo", now).await?;
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
    crate::demo_photos::seed(&*store, practice, now).await?;

    let mut others = Vec::new();
    let mut directory_practices = 0;
    if args.hosted {
        for (folder, name, email) in OTHER_PRACTICES {
            let id = create_hosted(&*store, folder, name, email, &password, now).await?;
            import_pages(&*store, id, folder, now).await?;
            others.push((*name, *email));
        }
        directory_practices = crate::demo_directory::seed(&*store, &password, now).await?;
        if args.directory_practices > 0 {
            crate::demo_directory::seed_synthetic(
                &*store,
                args.directory_practices,
                &password,
                now,
            )
            .await?;
            directory_practices += args.directory_practices;
        }
        crate::operators::add_operator(
            &*store,
            &domain::EmailAddress::parse(OPERATOR_EMAIL)?,
            &domain::PersonName::parse("Sam Operator")?,
            password.clone(),
        )
        .await?;
    }
    let server = args.server.clone();
    let stopping = if temporary {
        "Press Ctrl+C to stop. The demo's temporary data is deleted then."
    } else {
        "Press Ctrl+C to stop."
    };
    let pinned = args.now;
    let (serving, banner): (Serving, Banner) = if args.hosted {
        let serving = Serving::Hosted {
            base_domain: "localhost".into(),
            operator_host: Some(format!("{OPERATOR_NAME}.localhost")),
            directory_host: Some(format!("{DIRECTORY_NAME}.localhost")),
            outcode_centroids: None,
        };
        let banner = move |url: &str| {
            let port = url.rsplit_once(':').map_or("", |(_, port)| port);
            let at = |name: &str| format!("http://{name}.localhost:{port}");
            println!();
            println!("  Anteroom is running three fictional practices on one deployment:");
            println!(
                "    {}/  (back office: therapist@example.com)",
                at(DEMO_NAME)
            );
            for (name, email) in &others {
                println!("    {}/  (back office: {email})", at(name));
            }
            println!("  Each back office's password: {password}");
            println!(
                "  Operator console: {}/  (email: {OPERATOR_EMAIL}, the same password; it asks \
                 you to set up an authenticator app)",
                at(OPERATOR_NAME)
            );
            println!(
                "  Find a therapist: {}/  (a directory of the practices above and {directory_practices} \
                 more, each at NAME.localhost with the same password)",
                at(DIRECTORY_NAME)
            );
            println!(
                "  Any other name, such as {}, has no practice.",
                at("nobody")
            );
            print_pinned(pinned);
            println!("  {stopping}");
            println!();
        };
        (serving, Box::new(banner))
    } else {
        let banner = move |url: &str| {
            println!();
            println!("  Anteroom demo practice is running at {url}/");
            println!("  Back office: {url}/office");
            println!("    email:    therapist@example.com");
            println!("    password: {password}");
            print_pinned(pinned);
            println!("  {stopping}");
            println!();
        };
        (Serving::One(practice), Box::new(banner))
    };
    let served = run_server(store.shared(), serving, clock, server, key, banner).await;
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

/// What the demo prints once it is listening, given its address.
type Banner = Box<dyn FnOnce(&str)>;

/// The demo practice's name under `localhost` in `demo --hosted`.
const DEMO_NAME: &str = "adeyemi-holt";

/// The operator console's name under `localhost` in `demo --hosted`, and its account.
const OPERATOR_NAME: &str = "operator";
const OPERATOR_EMAIL: &str = "operator@example.com";

/// The demo directory's name under `localhost` in `demo --hosted`.
const DIRECTORY_NAME: &str = "find";

/// The other fictional practices of `demo --hosted`: their content folder, name under
/// `localhost` and back-office email.
const OTHER_PRACTICES: &[(&str, &str, &str)] = &[
    ("hosted/willow", "willow", "therapist@willow.example.com"),
    ("hosted/harbour", "harbour", "therapist@harbour.example.com"),
];

/// A hosted practice from the embedded `folder`, at `name`, with its owner's account.
async fn create_hosted(
    store: &dyn Store,
    folder: &str,
    name: &str,
    email: &str,
    password: &str,
    now: Timestamp,
) -> anyhow::Result<PracticeId> {
    let setup = content::embedded_practice(folder)?;
    let owner = store::NewUser {
        email: domain::EmailAddress::parse(email).map_err(|e| anyhow!("{email}: {e}"))?,
        name: setup.therapist.name.clone(),
        password_hash: crate::users::hash(password.to_owned()).await?,
    };
    let name =
        domain::hosting::PracticeName::parse(name).map_err(|e| anyhow!("{name}: {}", e.0))?;
    Ok(store
        .create_hosted_practice(&setup, &name, &owner, now)
        .await?)
}

/// The embedded approach pages and articles of `folder` (those it has).
async fn import_pages(
    store: &dyn Store,
    practice: PracticeId,
    folder: &str,
    now: Timestamp,
) -> anyhow::Result<()> {
    let today = now.to_zoned_datetime(TimeZone::UTC).date();
    for (kind, pages) in [
        (ArticleKind::Approach, format!("{folder}/approaches")),
        (ArticleKind::Article, format!("{folder}/articles")),
    ] {
        let files: Vec<(String, String)> = content::embedded(&pages)
            .into_iter()
            .map(|(name, text)| (name.to_owned(), text.to_owned()))
            .collect();
        for (name, outcome) in
            content::import(store, practice, kind, &files, today, now, false).await?
        {
            if let content::Outcome::Refused(reason) = outcome {
                bail!("demo content {name} is invalid: {reason}");
            }
        }
    }
    Ok(())
}

fn print_pinned(now: Option<Timestamp>) {
    if let Some(now) = now {
        println!("  The clock is pinned: it started at {now}.");
    }
}
