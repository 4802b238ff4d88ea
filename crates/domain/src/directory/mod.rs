//! The "find a therapist" directory: what a practice chooses to list, the listing it
//! publishes, a search, and the fair order of results.
//!
//! A practice opts in with [`ListingSettings`] (off by default). Everything else in its
//! [`Listing`] (name, rooms by district, fees, languages) comes from the practice's own
//! data, and [`FreeTimes`] summarises its real availability. A [`Search`] is parsed from
//! what someone typed; [`rank`] decides whether a listing passes the search's filters and
//! how it ranks, and [`order`] puts the passing listings in the published order: how well
//! each matches, whether it has a consultation free soon, nearness, and then a shuffle by a
//! public daily seed, so that identical listings take turns at the top. Nothing here is
//! ever bought.

mod place;
mod search;
pub mod terms;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use place::{Centroids, DISTANCE_BANDS_KM, Outcode, Place, place_name_key};
pub use search::{
    Meeting, PAGE_SIZE, Rank, RawSearch, STALE_AFTER_HOURS, Search, WITHIN_DAYS, daily_seed, order,
    order_page, rank, tie_key,
};
pub use terms::{
    APPROACHES, HELP_WITH, REGISTRATION_BODIES, RegistrationBody, Term, WAYS_OF_WORKING,
};

use crate::{FieldErrors, Pence, TextError, text::parse_text};

/// The most "help with" terms one listing may tick: the things the therapist most often
/// helps with, not every word on the list.
pub const MAX_HELP_WITH: usize = 15;
/// The most approaches one listing may tick.
pub const MAX_APPROACHES: usize = 4;
/// The most concession places a listing may offer.
pub const MAX_CONCESSION_PLACES: u32 = 50;

/// What a practice has chosen to say in the directory, beyond what its site already says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListingSettings {
    /// Listed at all (off until the therapist turns it on).
    pub listed: bool,
    /// Slugs from [`HELP_WITH`].
    pub help_with: Vec<String>,
    /// Slugs from [`APPROACHES`].
    pub approaches: Vec<String>,
    /// Slugs from [`WAYS_OF_WORKING`].
    pub ways: Vec<String>,
    /// Places kept at a lower fee (0: none).
    pub concession_places: u32,
    /// The lowest fee of those places.
    pub concession_fee: Option<Pence>,
    /// A slug from [`REGISTRATION_BODIES`].
    pub body: Option<String>,
    /// The registration or membership number with that body.
    pub number: String,
    /// Taking new clients: when off, the listing stays but leaves availability searches.
    pub accepting: bool,
    /// The therapist's own words for their gender and identity, only if they give them.
    pub identity: String,
}

impl Default for ListingSettings {
    fn default() -> Self {
        Self {
            listed: false,
            help_with: Vec::new(),
            approaches: Vec::new(),
            ways: Vec::new(),
            concession_places: 0,
            concession_fee: None,
            body: None,
            number: String::new(),
            accepting: true,
            identity: String::new(),
        }
    }
}

/// [`ListingSettings`] as typed in *Settings → Directory listing*.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RawListingSettings {
    pub listed: bool,
    pub help_with: Vec<String>,
    pub approaches: Vec<String>,
    pub ways: Vec<String>,
    pub concession_places: String,
    pub concession_fee: String,
    pub body: String,
    pub number: String,
    pub accepting: bool,
    pub identity: String,
}

fn ticked(
    raw: &[String],
    list: &'static [Term],
    max: usize,
    what: &str,
) -> Result<Vec<String>, TextError> {
    let mut slugs: Vec<String> = Vec::new();
    for slug in raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if terms::find(list, slug).is_none() {
            return Err(TextError(format!("Choose {what} from the list")));
        }
        if !slugs.iter().any(|s| s == slug) {
            slugs.push(slug.to_owned());
        }
    }
    if slugs.len() > max {
        return Err(TextError(format!(
            "Tick {max} or fewer {what} (you ticked {})",
            slugs.len()
        )));
    }
    // Kept in the list's own order, so the listing reads the same whatever order they came.
    slugs.sort_by_key(|s| list.iter().position(|t| t.slug == s));
    Ok(slugs)
}

fn optional(raw: &str, what: &str, max: usize) -> Result<String, TextError> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        parse_text(raw, what, max, false)
    }
}

impl ListingSettings {
    /// Check every field. A listing that is turned on needs at least one thing it helps
    /// with, one approach and one way of working; one that is off may be saved half-done.
    pub fn parse(raw: &RawListingSettings) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let help_with = e.check(
            "help_with",
            ticked(
                &raw.help_with,
                HELP_WITH,
                MAX_HELP_WITH,
                "things you help with",
            ),
        );
        let approaches = e.check(
            "approaches",
            ticked(&raw.approaches, APPROACHES, MAX_APPROACHES, "approaches"),
        );
        let ways = e.check(
            "ways",
            ticked(&raw.ways, WAYS_OF_WORKING, 2, "ways of working"),
        );
        if raw.listed {
            if matches!(&help_with, Some(h) if h.is_empty()) {
                e.add("help_with", "Tick at least one thing you help with");
            }
            if matches!(&approaches, Some(a) if a.is_empty()) {
                e.add("approaches", "Tick at least one approach");
            }
            if matches!(&ways, Some(w) if w.is_empty()) {
                e.add("ways", "Tick at least one way of working");
            }
        }
        let places = raw.concession_places.trim();
        let concession_places = if places.is_empty() {
            Some(0)
        } else {
            match places.parse::<u32>() {
                Ok(n) if n <= MAX_CONCESSION_PLACES => Some(n),
                Ok(_) => {
                    e.add(
                        "concession_places",
                        format!("Enter {MAX_CONCESSION_PLACES} places or fewer"),
                    );
                    None
                }
                Err(_) => {
                    e.add(
                        "concession_places",
                        "Enter the number of places as a whole number, like 2, or leave it empty",
                    );
                    None
                }
            }
        };
        let concession_fee = match (concession_places, raw.concession_fee.trim()) {
            (Some(n), "") if n > 0 => {
                e.add(
                    "concession_fee",
                    "Enter the lowest fee of your reduced-fee places, like 35",
                );
                None
            }
            (_, "") | (Some(0), _) => Some(None),
            (_, fee) => e.check("concession_fee", Pence::parse_pounds(fee).map(Some)),
        };
        let body = match raw.body.trim() {
            "" => Some(None),
            slug => match terms::body(slug) {
                Some(b) => Some(Some(b.slug.to_owned())),
                None => {
                    e.add("body", "Choose your registration body from the list");
                    None
                }
            },
        };
        let number = e.check(
            "number",
            optional(&raw.number, "your registration or membership number", 40),
        );
        if matches!(&body, Some(Some(_))) && matches!(&number, Some(n) if n.is_empty()) {
            e.add(
                "number",
                "Enter your registration or membership number, so people can check it",
            );
        }
        let identity = e.check(
            "identity",
            optional(&raw.identity, "how you describe yourself", 80),
        );
        match (
            help_with,
            approaches,
            ways,
            concession_places,
            concession_fee,
            body,
            number,
            identity,
        ) {
            (
                Some(help_with),
                Some(approaches),
                Some(ways),
                Some(concession_places),
                Some(concession_fee),
                Some(body),
                Some(number),
                Some(identity),
            ) if e.is_empty() => Ok(Self {
                listed: raw.listed,
                help_with,
                approaches,
                ways,
                concession_places,
                concession_fee,
                number: if body.is_some() {
                    number
                } else {
                    String::new()
                },
                body,
                accepting: raw.accepting,
                identity,
            }),
            _ => Err(e),
        }
    }

    /// Back to the raw form.
    pub fn to_raw(&self) -> RawListingSettings {
        RawListingSettings {
            listed: self.listed,
            help_with: self.help_with.clone(),
            approaches: self.approaches.clone(),
            ways: self.ways.clone(),
            concession_places: if self.concession_places == 0 {
                String::new()
            } else {
                self.concession_places.to_string()
            },
            concession_fee: self
                .concession_fee
                .map(|f| f.to_string().trim_start_matches('£').to_owned())
                .unwrap_or_default(),
            body: self.body.clone().unwrap_or_default(),
            number: self.number.clone(),
            accepting: self.accepting,
            identity: self.identity.clone(),
        }
    }
}

/// A room as the directory shows it: its district's name and outcode, never the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// The name the practice gives the place (`Balham`).
    pub area: String,
    pub outcode: Outcode,
}

/// Reduced-fee places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concessions {
    pub places: u32,
    /// The lowest fee of them.
    #[serde(rename = "from_pence")]
    pub from: Pence,
}

/// A registration the listing names, and what the directory's operator found when they
/// checked it on the body's public register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// A slug from [`REGISTRATION_BODIES`].
    pub body: String,
    pub number: String,
}

/// One practice as the directory shows it: built from its settings and its own data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// Stable for the practice's life: the open data's identifier.
    pub id: String,
    pub name: String,
    pub therapist: String,
    pub title: String,
    /// The practice's own words: its tagline and the start of its introduction.
    pub summary: String,
    /// The practice's site.
    pub url: String,
    /// Where to book a first consultation, if online booking is on.
    pub booking_url: Option<String>,
    pub help_with: Vec<String>,
    pub approaches: Vec<String>,
    pub ways: Vec<String>,
    pub languages: Vec<String>,
    pub identity: String,
    pub rooms: Vec<Room>,
    pub online: bool,
    /// The first consultation's fee (none when it cannot be booked online).
    #[serde(rename = "consultation_fee_pence")]
    pub consultation_fee: Option<Pence>,
    /// The lowest fee of a regular session.
    #[serde(rename = "session_fee_pence")]
    pub session_fee: Option<Pence>,
    pub concessions: Option<Concessions>,
    pub registration: Option<Registration>,
    pub accepting: bool,
    /// The therapist's portrait on the practice's own site, if it has one. (Absent from
    /// listings published before portraits were.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portrait: Option<ListingPortrait>,
}

/// Where a listing's portrait is on the practice's own site, and what it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingPortrait {
    /// A JPEG or WebP on the practice's own site, its address changing with its content.
    pub url: String,
    /// Its description for people who cannot see it.
    pub alt: String,
    pub width: u32,
    pub height: u32,
}

/// The limits a listing read from elsewhere must keep.
const MAX_NAME: usize = 200;
const MAX_SUMMARY: usize = 1_000;
const MAX_ROOMS: usize = 10;
const MAX_LANGUAGES: usize = 20;
/// The most free times a summary may carry for each way of meeting.
pub const MAX_FREE_TIMES: usize = 100;

fn plain(text: &str, what: &str, max: usize) -> Result<(), String> {
    if text.chars().count() > max {
        return Err(format!("its {what} is longer than {max} characters"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format!("its {what} has control characters"));
    }
    Ok(())
}

/// The host of an `http://` or `https://` address, lower-cased (without the port).
pub fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') {
        return None;
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

impl Listing {
    /// Check a listing read from another server (`host` is the host it was read from): every
    /// text within bounds and without control characters, every term from the fixed lists,
    /// and its links on that same host, so a listing cannot send people somewhere else.
    pub fn check(&self, host: &str, free: &FreeTimes) -> Result<(), String> {
        let id_ok = (1..=64).contains(&self.id.len())
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok {
            return Err("its id is not a UUID".into());
        }
        for (text, what, max) in [
            (&self.name, "name", MAX_NAME),
            (&self.therapist, "therapist's name", MAX_NAME),
            (&self.title, "title", MAX_NAME),
            (&self.summary, "summary", MAX_SUMMARY),
            (&self.identity, "identity", 80),
        ] {
            plain(text, what, max)?;
        }
        if self.name.trim().is_empty() || self.therapist.trim().is_empty() {
            return Err("it has no name".into());
        }
        for (slugs, list, what) in [
            (&self.help_with, HELP_WITH, "help-with terms"),
            (&self.approaches, APPROACHES, "approaches"),
            (&self.ways, WAYS_OF_WORKING, "ways of working"),
        ] {
            if slugs.len() > list.len() || slugs.iter().any(|s| terms::find(list, s).is_none()) {
                return Err(format!("its {what} are not all from the directory's lists"));
            }
        }
        if self.languages.len() > MAX_LANGUAGES {
            return Err("it lists too many languages".into());
        }
        for language in &self.languages {
            plain(language, "language", 40)?;
        }
        if self.rooms.len() > MAX_ROOMS {
            return Err("it lists too many rooms".into());
        }
        for room in &self.rooms {
            plain(&room.area, "room's area", 80)?;
        }
        if let Some(r) = &self.registration {
            if terms::body(&r.body).is_none() {
                return Err("its registration body is not one the directory knows".into());
            }
            plain(&r.number, "registration number", 40)?;
        }
        for url in std::iter::once(&self.url).chain(self.booking_url.as_ref()) {
            if host_of(url).as_deref() != Some(host) {
                return Err(format!("its links go to another site than {host}"));
            }
        }
        if free.in_person.len() > MAX_FREE_TIMES || free.online.len() > MAX_FREE_TIMES {
            return Err("it lists too many free times".into());
        }
        if let Some(portrait) = &self.portrait {
            portrait.check(host)?;
        }
        Ok(())
    }
}

impl ListingPortrait {
    /// The path of its address (`/media/…`), when it is on `host` and plain: only letters,
    /// digits and `/._-`, no `..`, no query, at most 200 characters.
    pub fn path(&self, host: &str) -> Option<&str> {
        if host_of(&self.url).as_deref() != Some(host) {
            return None;
        }
        let rest = self
            .url
            .strip_prefix("https://")
            .or_else(|| self.url.strip_prefix("http://"))?;
        let (authority, _) = rest.split_once('/')?;
        if authority.contains(['?', '#', '@']) {
            return None;
        }
        let path = &rest[authority.len()..];
        let plain = path.len() <= 200
            && !path.starts_with("//")
            && !path.contains("..")
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'));
        plain.then_some(path)
    }

    fn check(&self, host: &str) -> Result<(), String> {
        if self.path(host).is_none() {
            return Err(format!("its portrait is not a plain address on {host}"));
        }
        plain(&self.alt, "portrait's description", 300)?;
        if self.alt.trim().is_empty() {
            return Err("its portrait has no description".into());
        }
        if !(1..=10_000).contains(&self.width) || !(1..=10_000).contains(&self.height) {
            return Err("its portrait's size is not a picture's".into());
        }
        Ok(())
    }
}

/// When a practice's next consultations are free: the first free start on each day ahead,
/// in person and online, as far as its summary reaches. Times are kept (not just "free
/// this week") so that a summary stays true as time passes: a search ignores the ones
/// already gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeTimes {
    pub in_person: Vec<Timestamp>,
    pub online: Vec<Timestamp>,
}

impl FreeTimes {
    /// The first free time at or after `now` that `meeting` allows.
    pub fn next(&self, meeting: Meeting, now: Timestamp) -> Option<Timestamp> {
        // Kept in order (see `Entry::new`), so the first not yet gone is found by halving.
        let first = |times: &[Timestamp]| times.get(times.partition_point(|t| *t < now)).copied();
        match meeting {
            Meeting::InPerson => first(&self.in_person),
            Meeting::Online => first(&self.online),
            Meeting::Either => first(&self.in_person)
                .into_iter()
                .chain(first(&self.online))
                .min(),
        }
    }
}

/// What the directory holds for one listing: the listing, its free times and when it last
/// heard them.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub listing: Listing,
    pub free: FreeTimes,
    /// When these free times were read from the practice.
    pub heard: Timestamp,
    /// The operator checked the registration on the body's register.
    pub checked: bool,
    /// Words searched by free text: the practice's and therapist's names, the labels of
    /// its approaches and what it helps with (each counts double) and its own words,
    /// lower-cased (see [`Entry::new`]).
    strong: String,
    weak: String,
    /// The listing's terms as bits (by their place in the fixed lists), so that a search
    /// filters ten thousand listings with a few integer tests each.
    pub(crate) masks: Masks,
    /// The 64-bit FNV-1a hash of the listing's id (see [`tie_key`]).
    pub(crate) id_hash: u64,
}

/// A set of terms as bits: bit `i` is term `i` of its list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    pub help_with: u64,
    pub approaches: u64,
    pub ways: u64,
    /// Bit `i` is registration body `i`.
    pub body: u64,
}

/// How many of each kind of free time a [`Row`] holds: the first few days' are enough for
/// a search until the entry is next rebuilt (see [`Row::next_free`]).
const SOON: usize = 4;

/// What a search's filters need of one entry, held inline: its term bits, fees, ways of
/// meeting, freshness and first free times. A search reads these rows one after another and
/// only reads an entry (its strings and vectors, on the heap, a cache miss each) for the
/// filters a row cannot answer (words, language, identity, place) or to show it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub masks: Masks,
    /// The FNV-1a hash of the listing's id (see [`search::tie_key`]).
    pub id_hash: u64,
    /// When its free times were heard, in seconds.
    pub heard: i64,
    /// The session fee (the consultation's if it gives none), in pence; `u32::MAX` if it
    /// gives neither.
    pub fee: u32,
    /// The lowest reduced fee, in pence; `u32::MAX` when it offers no reduced-fee places.
    pub reduced: u32,
    pub online: bool,
    pub rooms: bool,
    pub accepting: bool,
    /// Whether the entry has more free times than these.
    pub more_in_person: bool,
    pub more_online: bool,
    /// The first free times in person and online, in seconds, in order; `i64::MAX` after
    /// the last.
    pub in_person: [i64; SOON],
    pub online_times: [i64; SOON],
}

fn pence(fee: Option<Pence>) -> u32 {
    fee.map_or(u32::MAX, |p| p.get().min(u32::MAX - 1))
}

fn soon(times: &[Timestamp]) -> [i64; SOON] {
    let mut out = [i64::MAX; SOON];
    for (slot, t) in out.iter_mut().zip(times) {
        *slot = t.as_second();
    }
    out
}

impl Row {
    pub(crate) fn of(entry: &Entry) -> Self {
        let l = &entry.listing;
        Self {
            masks: entry.masks,
            id_hash: entry.id_hash,
            heard: entry.heard.as_second(),
            fee: pence(l.session_fee.or(l.consultation_fee)),
            reduced: pence(l.concessions.map(|c| c.from)),
            online: l.online,
            rooms: !l.rooms.is_empty(),
            accepting: l.accepting,
            more_in_person: entry.free.in_person.len() > SOON,
            more_online: entry.free.online.len() > SOON,
            in_person: soon(&entry.free.in_person),
            online_times: soon(&entry.free.online),
        }
    }

    /// The first free time (in seconds) at or after `at` that `meeting` allows, as
    /// [`FreeTimes::next`] finds it in `entry` (which it reads only when this row's first
    /// times have all gone by).
    pub(crate) fn next_free(&self, entry: &Entry, meeting: Meeting, at: i64) -> Option<i64> {
        let first = |times: &[i64; SOON], more: bool, all: &[Timestamp]| match times
            .iter()
            .find(|t| **t >= at)
        {
            Some(&i64::MAX) => None,
            Some(t) => Some(*t),
            None if more => all
                .get(all.partition_point(|t| t.as_second() < at))
                .map(|t| t.as_second()),
            None => None,
        };
        let in_person = || first(&self.in_person, self.more_in_person, &entry.free.in_person);
        let online = || first(&self.online_times, self.more_online, &entry.free.online);
        match meeting {
            Meeting::InPerson => in_person(),
            Meeting::Online => online(),
            Meeting::Either => in_person().into_iter().chain(online()).min(),
        }
    }

    /// A bound that [`Row::next_free`] is never before, for `meeting` at `at` (`i64::MAX`
    /// if it has none).
    pub(crate) fn earliest(&self, meeting: Meeting, at: i64) -> i64 {
        let first = |times: &[i64; SOON], more: bool| {
            times
                .iter()
                .find(|t| **t >= at)
                .copied()
                .unwrap_or(if more { at } else { i64::MAX })
        };
        let in_person = first(&self.in_person, self.more_in_person);
        let online = first(&self.online_times, self.more_online);
        match meeting {
            Meeting::InPerson => in_person,
            Meeting::Online => online,
            Meeting::Either => in_person.min(online),
        }
    }
}

/// The [`Row`] of each entry, side by side in the entries' order: what a search scans.
/// The "help with" bits are kept apart as well, 8 bytes an entry, because most searches
/// choose something to have help with and a few of the forty terms let most entries go
/// before their rows are read.
#[derive(Debug, Clone, Default)]
pub struct Sieve {
    pub(crate) help_with: Vec<u64>,
    pub(crate) rows: Vec<Row>,
}

impl Sieve {
    /// The sieve of `entries`, in their order.
    pub fn of(entries: &[Entry]) -> Self {
        Self {
            help_with: entries.iter().map(|e| e.masks.help_with).collect(),
            rows: entries.iter().map(Row::of).collect(),
        }
    }
}

/// The bits of `slugs` in `list`.
pub(crate) fn bits(slugs: &[String], list: &[Term]) -> u64 {
    slugs
        .iter()
        .filter_map(|s| list.iter().position(|t| t.slug == s))
        .fold(0, |mask, i| mask | (1 << i))
}

/// The labels of the terms whose bits are set in `mask`, in the list's order.
fn labels_of(mask: u64, list: &'static [Term]) -> Vec<&'static str> {
    list.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, t)| t.label)
        .collect()
}

impl Entry {
    /// Whether its free times were heard too long ago ([`STALE_AFTER_HOURS`]) to count at
    /// `now`.
    pub fn is_stale(&self, now: Timestamp) -> bool {
        now.duration_since(self.heard) > jiff::SignedDuration::from_hours(STALE_AFTER_HOURS)
    }

    /// The labels of the approaches it lists, in the fixed list's order.
    pub fn approach_labels(&self) -> Vec<&'static str> {
        labels_of(self.masks.approaches, APPROACHES)
    }

    /// The labels of what it helps with, in the fixed list's order.
    pub fn help_labels(&self) -> Vec<&'static str> {
        labels_of(self.masks.help_with, HELP_WITH)
    }

    /// The labels of its ways of working, in the fixed list's order.
    pub fn way_labels(&self) -> Vec<&'static str> {
        labels_of(self.masks.ways, WAYS_OF_WORKING)
    }

    pub fn new(listing: Listing, mut free: FreeTimes, heard: Timestamp, checked: bool) -> Self {
        free.in_person.sort_unstable();
        free.online.sort_unstable();
        let labels = |slugs: &[String], list: &'static [Term]| {
            slugs
                .iter()
                .filter_map(|s| terms::find(list, s))
                .map(|t| t.label)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let strong = search::words_of(&format!(
            "{} {} {} {} {}",
            listing.name,
            listing.therapist,
            listing.title,
            labels(&listing.approaches, APPROACHES),
            labels(&listing.help_with, HELP_WITH),
        ));
        let weak = search::words_of(&format!(
            "{} {}",
            listing.summary,
            listing
                .rooms
                .iter()
                .map(|r| r.area.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let masks = Masks {
            help_with: bits(&listing.help_with, HELP_WITH),
            approaches: bits(&listing.approaches, APPROACHES),
            ways: bits(&listing.ways, WAYS_OF_WORKING),
            body: listing
                .registration
                .as_ref()
                .and_then(|r| REGISTRATION_BODIES.iter().position(|b| b.slug == r.body))
                .map_or(0, |i| 1 << i),
        };
        let id_hash = search::fnv1a(&listing.id);
        Self {
            listing,
            free,
            heard,
            checked,
            strong,
            weak,
            masks,
            id_hash,
        }
    }
}
