//! The demo directory of `demo --hosted`: the fictional practices of
//! `content/directory/practices.toml`, each made a hosted practice with rooms, hours and
//! fees, and listed, so that `find.localhost` has something real to search.

use anyhow::{Context, anyhow};
use domain::{
    directory::{ListingSettings, RawListingSettings},
    practice::{
        Policies, PracticeSetup, RawAppointmentTypeFile, RawAway, RawBookingFile, RawHours,
        RawLocation, RawPracticeDetails, RawPracticeFile, RawPrivacySettings, RawTherapistProfile,
    },
};
use jiff::{Timestamp, ToSpan, tz::TimeZone};
use serde::Deserialize;
use store::Store;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    practice: Vec<Practice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Practice {
    name: String,
    practice_name: String,
    tagline: String,
    therapist: String,
    title: String,
    intro: String,
    languages: Vec<String>,
    identity: String,
    help_with: Vec<String>,
    approaches: Vec<String>,
    ways: Vec<String>,
    body: String,
    number: String,
    consultation_fee_pence: u32,
    session_fee_pence: u32,
    concession_places: u32,
    #[serde(default)]
    concession_fee_pence: Option<u32>,
    accepting: bool,
    full: bool,
    online: bool,
    days: Vec<String>,
    start: String,
    end: String,
    #[serde(default)]
    rooms: Vec<Room>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Room {
    name: String,
    address: Vec<String>,
    postcode: String,
}

fn weekday(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

fn pounds(pence: u32) -> String {
    domain::Pence::new(pence).to_string()
}

/// The practice file this entry stands for.
fn practice_file(p: &Practice, now: Timestamp) -> anyhow::Result<RawPracticeFile> {
    let body = domain::directory::terms::body(&p.body)
        .ok_or_else(|| anyhow!("{}: no registration body {}", p.name, p.body))?;
    let mut locations: Vec<RawLocation> = p
        .rooms
        .iter()
        .map(|room| RawLocation {
            slug: domain::Slug::from_title(&room.name)
                .map(|s| s.to_string())
                .unwrap_or_else(|_| "room".into()),
            name: room.name.clone(),
            address_lines: room.address.clone(),
            postcode: room.postcode.clone(),
            summary: format!("A quiet consulting room in {}.", room.name),
            getting_there: "Directions are sent with every booking.".into(),
            ..RawLocation::default()
        })
        .collect();
    if p.online {
        locations.push(RawLocation {
            slug: "online".into(),
            name: "Online".into(),
            online: true,
            summary: "Sessions by secure video call.".into(),
            getting_there: "A link to the call is sent before each session.".into(),
            ..RawLocation::default()
        });
    }
    let slugs: Vec<String> = locations.iter().map(|l| l.slug.clone()).collect();
    // Each consulting day at one place in turn, so that the hours of two places never meet.
    let hours = p
        .days
        .iter()
        .enumerate()
        .map(|(i, day)| RawHours {
            location: slugs[i % slugs.len()].clone(),
            day: weekday(day).into(),
            start: p.start.clone(),
            end: p.end.clone(),
        })
        .collect();
    let today = now
        .to_zoned_datetime(TimeZone::get("Europe/London")?)
        .date();
    let away = if p.full {
        vec![RawAway {
            label: "No new consultations: my diary is full".into(),
            first_day: today.to_string(),
            last_day: today.checked_add(60.days())?.to_string(),
        }]
    } else {
        Vec::new()
    };
    let concessions = match (p.concession_places, p.concession_fee_pence) {
        (0, _) | (_, None) => String::new(),
        (n, Some(fee)) => format!(
            " I keep {n} {} at {} for people on low incomes.",
            if n == 1 { "place" } else { "places" },
            pounds(fee)
        ),
    };
    Ok(RawPracticeFile {
        practice: RawPracticeDetails {
            name: p.practice_name.clone(),
            tagline: p.tagline.clone(),
            time_zone: "Europe/London".into(),
            notify_email: format!("therapist@{}.example.com", p.name),
            public_phone: String::new(),
            intro: p.intro.clone(),
            how_i_work: "It starts with a first consultation, where we can see whether working together feels right. If it does, we agree a regular time.".into(),
        },
        therapist: RawTherapistProfile {
            name: p.therapist.clone(),
            title: p.title.clone(),
            professional_body: format!("{} ({})", body.name, body.short),
            registration: format!("{} no. {} (fictional)", body.short, p.number),
            qualifications: Vec::new(),
            languages: p.languages.clone(),
            about: p.intro.clone(),
        },
        locations,
        appointment_types: vec![
            RawAppointmentTypeFile {
                slug: "consultation".into(),
                name: "First consultation".into(),
                minutes: 50,
                fee_pence: p.consultation_fee_pence,
                description: "A first meeting to talk about what brings you and whether to work together.".into(),
                bookable_online: true,
                locations: slugs,
                notice_hours: Some(24),
                horizon_days: Some(42),
                granularity_minutes: Some(60),
                ..RawAppointmentTypeFile::default()
            },
            RawAppointmentTypeFile {
                slug: "session".into(),
                name: "Therapy session".into(),
                minutes: 50,
                fee_pence: p.session_fee_pence,
                description: "A regular 50-minute session.".into(),
                ..RawAppointmentTypeFile::default()
            },
        ],
        policies: Policies {
            fees: format!(
                "A first consultation is {} and each session after it is {}.{concessions}",
                pounds(p.consultation_fee_pence),
                pounds(p.session_fee_pence)
            ),
            cancellation: "Please give me 48 hours' notice if you cannot come; later than that, the session is charged.".into(),
            confidentiality: "What you tell me stays between us, except where someone's safety is at serious risk or the law requires otherwise.".into(),
        },
        privacy: RawPrivacySettings {
            controller: p.therapist.clone(),
            retention_years: Some(7),
            ..RawPrivacySettings::default()
        },
        booking: RawBookingFile {
            mode: Some("instant".into()),
            ..RawBookingFile::default()
        },
        hours,
        away,
        ..RawPracticeFile::default()
    })
}

/// Create `p` as a hosted practice (its owner's password already hashed) and list it.
async fn create_and_list(
    store: &dyn Store,
    p: &Practice,
    hash: &str,
    now: Timestamp,
) -> anyhow::Result<()> {
    let setup = PracticeSetup::from_raw(&practice_file(p, now)?)
        .with_context(|| format!("demo directory practice {}", p.name))?;
    let owner = store::NewUser {
        email: domain::EmailAddress::parse(&format!("therapist@{}.example.com", p.name))
            .map_err(|e| anyhow!("{}: {e}", p.name))?,
        name: setup.therapist.name.clone(),
        password_hash: hash.to_owned(),
    };
    let name = domain::hosting::PracticeName::parse(&p.name)
        .map_err(|e| anyhow!("{}: {}", p.name, e.0))?;
    let id = store
        .create_hosted_practice(&setup, &name, &owner, now)
        .await?;
    let settings = ListingSettings::parse(&RawListingSettings {
        listed: true,
        help_with: p.help_with.clone(),
        approaches: p.approaches.clone(),
        ways: p.ways.clone(),
        concession_places: p.concession_places.to_string(),
        concession_fee: p
            .concession_fee_pence
            .map(|f| format!("{}.{:02}", f / 100, f % 100))
            .unwrap_or_default(),
        body: p.body.clone(),
        number: p.number.clone(),
        accepting: p.accepting,
        identity: p.identity.clone(),
    })
    .map_err(|e| anyhow!("{}: directory settings: {e:?}", p.name))?;
    store
        .save_listing_settings(id, &settings, &web::directory::new_listing_id(), now)
        .await?;
    Ok(())
}

/// Create every practice of the demo directory, each with an owner (the demo password) and
/// its listing turned on. Returns how many.
pub async fn seed(store: &dyn Store, password: &str, now: Timestamp) -> anyhow::Result<usize> {
    let text = crate::content::embedded("directory")
        .into_iter()
        .find(|(path, _)| path.ends_with("/practices.toml"))
        .map(|(_, text)| text)
        .ok_or_else(|| anyhow!("no embedded directory/practices.toml"))?;
    let file: File = toml::from_str(text).context("content/directory/practices.toml")?;
    let hash = crate::users::hash(password.to_owned()).await?;
    for p in &file.practice {
        create_and_list(store, p, &hash, now).await?;
    }
    Ok(file.practice.len())
}

/// Places across the UK for the synthetic practices: (area name, outcode).
const PLACES: &[(&str, &str)] = &[
    ("Balham", "SW12"),
    ("Clapham", "SW4"),
    ("Tooting", "SW17"),
    ("Brixton", "SW9"),
    ("Stoke Newington", "N16"),
    ("Hackney", "E8"),
    ("East Dulwich", "SE22"),
    ("Kentish Town", "NW5"),
    ("Chiswick", "W4"),
    ("Holborn", "WC2A"),
    ("Clerkenwell", "EC1V"),
    ("Islington", "N1"),
    ("Walthamstow", "E17"),
    ("Ealing", "W5"),
    ("Croydon", "CR0"),
    ("Brighton", "BN1"),
    ("Lewes", "BN7"),
    ("Clifton", "BS8"),
    ("Redland", "BS6"),
    ("Bath", "BA1"),
    ("Exeter", "EX4"),
    ("Totnes", "TQ9"),
    ("Plymouth", "PL4"),
    ("Oxford", "OX4"),
    ("Cambridge", "CB1"),
    ("Norwich", "NR2"),
    ("Ipswich", "IP4"),
    ("Moseley", "B13"),
    ("Leicester", "LE2"),
    ("Nottingham", "NG7"),
    ("Derby", "DE22"),
    ("Didsbury", "M20"),
    ("Chorlton", "M21"),
    ("Aigburth", "L17"),
    ("Ecclesall", "S11"),
    ("Headingley", "LS6"),
    ("York", "YO31"),
    ("Jesmond", "NE2"),
    ("Durham", "DH1"),
    ("Lancaster", "LA1"),
    ("Kendal", "LA9"),
    ("Roath", "CF24"),
    ("Swansea", "SA1"),
    ("Aberystwyth", "SY23"),
    ("Marchmont", "EH9"),
    ("Leith", "EH6"),
    ("Hillhead", "G12"),
    ("Dundee", "DD1"),
    ("Aberdeen", "AB10"),
    ("Inverness", "IV2"),
    ("Malone", "BT9"),
    ("Derry", "BT48"),
    ("Canterbury", "CT1"),
    ("Winchester", "SO23"),
    ("Bournemouth", "BH1"),
    ("Cheltenham", "GL50"),
    ("Hereford", "HR1"),
    ("Shrewsbury", "SY1"),
    ("Stoke", "ST4"),
    ("Hull", "HU5"),
];

const FIRST_NAMES: &[&str] = &[
    "Alex", "Sam", "Priya", "Tomasz", "Aisha", "Rhys", "Morag", "Chidi", "Hannah", "Omar", "Niamh",
    "Wei", "Leila", "Gareth", "Zainab", "Eilidh", "Kofi", "Sofia", "Dev", "Ruth",
];
const LAST_NAMES: &[&str] = &[
    "Morgan", "Okafor", "Raman", "Nowak", "Hussain", "Evans", "MacLeod", "Eze", "Cohen", "Farah",
    "Byrne", "Chen", "Haddad", "Price", "Begum", "Fraser", "Mensah", "Costa", "Patel", "Levy",
];
const OTHER_LANGUAGES: &[&str] = &[
    "Welsh",
    "Polish",
    "Urdu",
    "Punjabi",
    "Bengali",
    "Arabic",
    "Spanish",
    "French",
    "Cantonese",
    "Gaelic",
    "Turkish",
    "Somali",
    "Portuguese",
    "BSL",
];

/// A small, fixed pseudo-random sequence (SplitMix64), so every run seeds the same practices.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// `count` different slugs of `list`.
    fn slugs(&mut self, list: &[domain::directory::Term], count: usize) -> Vec<String> {
        let mut chosen: Vec<String> = Vec::new();
        while chosen.len() < count.min(list.len()) {
            let slug = self.pick(list).slug.to_owned();
            if !chosen.contains(&slug) {
                chosen.push(slug);
            }
        }
        chosen
    }
}

/// The `n`th synthetic practice: a plausible spread of places (half offering online, some
/// online only), approaches, 3 to 8 of the 40 "help with" terms, fees from £30 to £120.
fn synthetic(n: usize, seq: &mut Sequence) -> Practice {
    use domain::directory::{APPROACHES, HELP_WITH, REGISTRATION_BODIES, WAYS_OF_WORKING};
    let therapist = format!("{} {}", seq.pick(FIRST_NAMES), seq.pick(LAST_NAMES));
    let online = seq.below(2) == 0;
    let rooms = if online && seq.below(5) == 0 {
        Vec::new()
    } else {
        let (area, outcode) = *seq.pick(PLACES);
        vec![Room {
            name: area.to_owned(),
            address: vec![
                format!("{} Example Street", 1 + seq.below(200)),
                area.to_owned(),
            ],
            postcode: format!("{outcode} {}AB", seq.below(10)),
        }]
    };
    let mut languages = vec!["English".to_owned()];
    if seq.below(5) == 0 {
        languages.push((*seq.pick(OTHER_LANGUAGES)).to_owned());
    }
    let session = 3000 + 500 * u32::try_from(seq.below(19)).unwrap_or(0);
    let places = u32::try_from(seq.below(4)).unwrap_or(0);
    let days = ["mon", "tue", "wed", "thu", "fri"];
    let first_day = seq.below(3);
    let (helps, approaches, ways) = (3 + seq.below(6), 1 + seq.below(3), 1 + seq.below(2));
    Practice {
        name: format!("bench{n:05}"),
        practice_name: format!("{therapist} Counselling"),
        tagline: "Counselling and psychotherapy for adults".into(),
        therapist: therapist.clone(),
        title: "Counsellor and psychotherapist".into(),
        intro: format!("I am {therapist}, a counsellor seeing adults in person and online."),
        languages,
        identity: String::new(),
        help_with: seq.slugs(HELP_WITH, helps),
        approaches: seq.slugs(APPROACHES, approaches),
        ways: seq.slugs(WAYS_OF_WORKING, ways),
        body: seq.pick(REGISTRATION_BODIES).slug.to_owned(),
        number: format!("DEMO-{:05}", n % 100_000),
        consultation_fee_pence: session.saturating_sub(1500),
        session_fee_pence: session,
        concession_places: places,
        concession_fee_pence: (places > 0).then_some(session / 2),
        accepting: seq.below(10) != 0,
        full: seq.below(8) == 0,
        online,
        days: days[first_day..first_day + 3]
            .iter()
            .map(|d| (*d).to_owned())
            .collect(),
        start: "09:00".into(),
        end: "17:00".into(),
        rooms,
    }
}

/// `count` synthetic practices for the directory's benchmark (`demo --hosted
/// --directory-practices N`), listed, each at `benchNNNNN.localhost`.
pub async fn seed_synthetic(
    store: &dyn Store,
    count: usize,
    password: &str,
    now: Timestamp,
) -> anyhow::Result<()> {
    let hash = crate::users::hash(password.to_owned()).await?;
    let mut seq = Sequence(2026);
    for n in 0..count {
        let p = synthetic(n, &mut seq);
        create_and_list(store, &p, &hash, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every demo practice is a valid practice with valid directory settings.
    #[test]
    fn every_demo_practice_is_valid() {
        let text = crate::content::embedded("directory")
            .into_iter()
            .find(|(path, _)| path.ends_with("/practices.toml"))
            .map(|(_, text)| text)
            .expect("embedded");
        let file: File = toml::from_str(text).expect("valid TOML");
        assert!(file.practice.len() >= 30, "30 or more practices");
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        for p in &file.practice {
            PracticeSetup::from_raw(&practice_file(p, now).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
    }
}
