//! A search of the directory, and the published order of its results.

use jiff::{Timestamp, civil::Date};
use serde::Deserialize;

use super::{Entry, Outcode, Place, terms};
use crate::{FieldErrors, Pence, TextError, text::parse_text};

/// Results per page.
pub const PAGE_SIZE: usize = 10;
/// A listing whose free times the directory has not heard for this long leaves searches by
/// "next free consultation" (and stops counting as available in the order) until it is
/// heard from again.
pub const STALE_AFTER_HOURS: i64 = 24;
/// The "next free consultation" windows a search may ask for, in days.
pub const WITHIN_DAYS: [u32; 3] = [7, 14, 28];
/// The longest free-text search, in words.
const MAX_WORDS: usize = 8;

/// How someone would like to meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Meeting {
    #[default]
    Either,
    InPerson,
    Online,
}

/// A search as typed (a GET form: every field optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RawSearch {
    /// Slugs from the "help with" list.
    pub help: Vec<String>,
    /// Free text.
    pub q: String,
    pub approach: String,
    pub way: String,
    /// A postcode, outcode or place name.
    pub near: String,
    /// `in-person`, `online` or empty for either.
    pub meeting: String,
    /// `7`, `14`, `28` or empty.
    pub within: String,
    /// The most someone can pay a session, in pounds.
    pub fee: String,
    /// Only listings with reduced-fee places.
    pub concessions: bool,
    pub language: String,
    /// Words for who they would like to see.
    pub identity: String,
    pub body: String,
    /// The page of results, from 1.
    pub page: String,
}

/// A checked search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    pub help_with: Vec<String>,
    pub words: Vec<String>,
    pub approach: Option<String>,
    pub way: Option<String>,
    /// The place searched near, as typed, and the outcodes it stands for.
    pub near: Option<(String, Vec<Outcode>)>,
    pub meeting: Meeting,
    pub within_days: Option<u32>,
    pub max_fee: Option<Pence>,
    pub concessions: bool,
    /// A language, lower-cased.
    pub language: Option<String>,
    pub identity: Vec<String>,
    pub body: Option<String>,
    /// From 1.
    pub page: usize,
    /// The filters above as bits (see `Masks`); 0 where the search does not filter.
    pub(crate) masks: super::Masks,
    /// Where outcodes are, when the directory has loaded a centroid file: nearness is then
    /// by distance bands.
    pub centroids: Option<std::sync::Arc<super::Centroids>>,
}

/// `text` as searched: lower case, letters and digits, each word with a space before it so
/// that `" anx"` finds the start of a word.
pub(super) fn words_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        out.push(' ');
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

fn query_words(raw: &str) -> Vec<String> {
    words_of(raw)
        .split(' ')
        .filter(|w| w.chars().count() > 1)
        .filter(|w| {
            !matches!(
                *w,
                "and" | "the" | "of" | "for" | "with" | "in" | "my" | "to"
            )
        })
        .map(str::to_owned)
        .collect()
}

fn slug_from(
    raw: &str,
    list: &'static [terms::Term],
    what: &str,
) -> Result<Option<String>, TextError> {
    match raw.trim() {
        "" => Ok(None),
        slug => terms::find(list, slug)
            .map(|t| Some(t.slug.to_owned()))
            .ok_or_else(|| TextError(format!("Choose {what} from the list"))),
    }
}

impl Search {
    /// Check a search. `places` gives the outcodes the directory knows under a place's
    /// name (its listings' districts); a name it does not know is reported at the field.
    pub fn parse(
        raw: &RawSearch,
        places: impl Fn(&str) -> Vec<Outcode>,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let mut help_with = Vec::new();
        for slug in raw.help.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            match terms::find(terms::HELP_WITH, slug) {
                Some(t) if !help_with.iter().any(|h| h == t.slug) => {
                    help_with.push(t.slug.to_owned());
                }
                Some(_) => {}
                None => e.add("help", "Choose what you would like help with from the list"),
            }
        }
        let words = query_words(&raw.q);
        if words.len() > MAX_WORDS {
            e.add(
                "q",
                format!("Use {MAX_WORDS} words or fewer (you used {})", words.len()),
            );
        }
        let approach = e.check(
            "approach",
            slug_from(&raw.approach, terms::APPROACHES, "an approach"),
        );
        let way = e.check(
            "way",
            slug_from(&raw.way, terms::WAYS_OF_WORKING, "a way of working"),
        );
        let meeting = match raw.meeting.trim() {
            "" | "either" => Meeting::Either,
            "in-person" => Meeting::InPerson,
            "online" => Meeting::Online,
            _ => {
                e.add("meeting", "Choose in person, online or either");
                Meeting::Either
            }
        };
        let near = match (meeting, Place::parse(&raw.near)) {
            (Meeting::Online, _) | (_, None) => None,
            (_, Some(place)) if raw.near.chars().count() > 60 => {
                let _ = place;
                e.add("near", "Enter a shorter place, like SW12 or Balham");
                None
            }
            (_, Some(Place::Code(code))) => Some((raw.near.trim().to_owned(), vec![code])),
            (_, Some(Place::Name(name))) => {
                let codes = places(&name);
                if codes.is_empty() {
                    e.add(
                        "near",
                        format!(
                            "No listing has a room in a place called “{}”. Try its postcode district, like SW12 or M20, or search online",
                            raw.near.trim()
                        ),
                    );
                    None
                } else {
                    Some((raw.near.trim().to_owned(), codes))
                }
            }
        };
        let within_days = match raw.within.trim() {
            "" => None,
            days => match days.parse::<u32>() {
                Ok(n) if WITHIN_DAYS.contains(&n) => Some(n),
                _ => {
                    e.add("within", "Choose within 7, 14 or 28 days, or any time");
                    None
                }
            },
        };
        let max_fee = match raw.fee.trim() {
            "" => Some(None),
            fee => e.check(
                "fee",
                Pence::parse_pounds(fee).map(Some).map_err(|_| {
                    TextError("Enter the most you can pay a session in pounds, like 60".into())
                }),
            ),
        }
        .flatten();
        let language = match raw.language.trim() {
            "" => None,
            text => e
                .check("language", parse_text(text, "a language", 40, false))
                .map(|l| l.to_lowercase()),
        };
        let identity = query_words(&raw.identity);
        if raw.identity.chars().count() > 80 {
            e.add("identity", "Use 80 characters or fewer");
        }
        let body = match raw.body.trim() {
            "" => None,
            slug => match terms::body(slug) {
                Some(b) => Some(b.slug.to_owned()),
                None => {
                    e.add("body", "Choose a registration body from the list");
                    None
                }
            },
        };
        let page = match raw.page.trim() {
            "" => 1,
            page => match page.parse::<usize>() {
                Ok(n) if (1..=10_000).contains(&n) => n,
                _ => {
                    e.add("page", "Choose a page from the list of pages");
                    1
                }
            },
        };
        match (approach, way) {
            (Some(approach), Some(way)) if e.is_empty() => Ok(Self {
                masks: super::Masks {
                    help_with: super::bits(&help_with, terms::HELP_WITH),
                    approaches: super::bits(approach.as_slice(), terms::APPROACHES),
                    ways: super::bits(way.as_slice(), terms::WAYS_OF_WORKING),
                    body: body
                        .as_ref()
                        .and_then(|b| terms::REGISTRATION_BODIES.iter().position(|r| r.slug == *b))
                        .map_or(0, |i| 1 << i),
                },
                help_with,
                words,
                approach,
                way,
                near,
                meeting,
                within_days,
                max_fee,
                concessions: raw.concessions,
                language,
                identity,
                body,
                page,
                centroids: None,
            }),
            _ => Err(e),
        }
    }

    /// True when nothing narrows the search.
    pub fn is_everything(&self) -> bool {
        *self
            == Self {
                page: self.page,
                centroids: self.centroids.clone(),
                ..Self::default()
            }
    }
}

/// Where one listing stands in a search: the parts of the published order, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    /// How well it matches: two for each chosen "help with" it covers and each searched
    /// word found in its names, approaches or what it helps with; one for each word found
    /// only in its own words.
    pub relevance: u32,
    /// 0: a consultation free in the next 28 days, as heard within the last day; 1: heard,
    /// but none free; 2: not taking new clients, or not heard from lately.
    pub availability: u8,
    /// For a search near a place: 3 a room in the same outcode, 2 the same district, 1 the
    /// same postal area, 0 none (online only).
    pub nearness: u8,
    /// The first free consultation the search's way of meeting allows, if it is known.
    pub next_free: Option<Timestamp>,
}

fn contains_word(haystack: &str, word: &str) -> bool {
    haystack
        .match_indices(word)
        .any(|(i, _)| i > 0 && haystack.as_bytes()[i - 1] == b' ')
}

/// Whether `entry` passes `search`'s filters at `now`, and if so its [`Rank`].
pub fn rank(entry: &Entry, search: &Search, now: Timestamp) -> Option<Rank> {
    rank_row(
        &super::Row::of(entry),
        entry,
        search,
        &When::of(search, now),
    )
}

/// A search's moments, in seconds, worked out once for all the rows it reads.
pub(crate) struct When {
    /// Now.
    at: i64,
    /// Free times heard before this are stale.
    stale_before: i64,
    /// The first consultation must be before this, if the search says "within".
    limit: Option<i64>,
    /// The end of the next four weeks.
    four_weeks: i64,
}

impl When {
    pub(crate) fn of(search: &Search, now: Timestamp) -> Self {
        let at = now.as_second();
        let days = |n: i64| at.saturating_add(n * 24 * 3600);
        Self {
            at,
            stale_before: at.saturating_sub(STALE_AFTER_HOURS * 3600),
            limit: search.within_days.map(|d| days(i64::from(d))),
            four_weeks: days(28),
        }
    }
}

/// [`rank`], reading `row` (the entry's inline summary) first and `entry` itself only for
/// what the row cannot answer, so that most entries a search turns away are never read.
pub(crate) fn rank_row(
    row: &super::Row,
    entry: &Entry,
    search: &Search,
    when: &When,
) -> Option<Rank> {
    let (want, have) = (&search.masks, &row.masks);
    // The fixed lists first, as bits: all of the approach, way and body asked for, and at
    // least one of the things someone would like help with.
    if have.approaches & want.approaches != want.approaches
        || have.ways & want.ways != want.ways
        || have.body & want.body != want.body
        || (want.help_with != 0 && have.help_with & want.help_with == 0)
    {
        return None;
    }
    let reduced = row.reduced != u32::MAX;
    if search.concessions && !reduced {
        return None;
    }
    if let Some(max) = search.max_fee {
        let max = max.get();
        if row.fee > max && !(search.concessions && row.reduced <= max) {
            return None;
        }
    }
    match search.meeting {
        Meeting::Online if !row.online => return None,
        Meeting::InPerson if !row.rooms => return None,
        _ => {}
    }
    let open = row.accepting && row.heard >= when.stale_before;
    // A first consultation soon is needed, and none can be free in time (whatever the
    // place does to the way of meeting below, it only narrows it).
    if let Some(limit) = when.limit
        && (!open || row.earliest(search.meeting, when.at) >= limit)
    {
        return None;
    }
    // Now what only the entry itself can say.
    let listing = &entry.listing;
    if let Some(language) = &search.language
        && !listing
            .languages
            .iter()
            .any(|l| l.to_lowercase() == *language)
    {
        return None;
    }
    if !search.identity.is_empty() {
        let words = words_of(&listing.identity);
        if !search.identity.iter().all(|w| contains_word(&words, w)) {
            return None;
        }
    }
    let nearness = match (&search.near, search.meeting) {
        (Some((_, codes)), Meeting::InPerson | Meeting::Either) => listing
            .rooms
            .iter()
            .flat_map(|room| {
                codes.iter().map(|c| match &search.centroids {
                    Some(centroids) => centroids.nearness(c, &room.outcode),
                    None => c.nearness(&room.outcode),
                })
            })
            .max()
            .unwrap_or(0),
        _ => 0,
    };
    let meeting_ok = match search.meeting {
        Meeting::Online => true,
        Meeting::InPerson => search.near.is_none() || nearness > 0,
        Meeting::Either => search.near.is_none() || nearness > 0 || row.online,
    };
    if !meeting_ok {
        return None;
    }
    let mut relevance = 2 * (have.help_with & want.help_with).count_ones();
    for word in &search.words {
        if contains_word(&entry.strong, word) {
            relevance += 2;
        } else if contains_word(&entry.weak, word) {
            relevance += 1;
        } else {
            return None;
        }
    }
    // Free in-person times count only where a room is near, when a place was given and
    // online would also do.
    let meeting = match (search.meeting, &search.near) {
        (Meeting::Either, Some(_)) if nearness == 0 => Meeting::Online,
        (meeting, _) => meeting,
    };
    let next_free = open
        .then(|| row.next_free(entry, meeting, when.at))
        .flatten();
    if let Some(limit) = when.limit
        && next_free.is_none_or(|t| t >= limit)
    {
        return None;
    }
    let availability = if !open {
        2
    } else if next_free.is_some_and(|t| t < when.four_weeks) {
        0
    } else {
        1
    };
    Some(Rank {
        relevance,
        availability,
        nearness,
        next_free: next_free.and_then(|t| Timestamp::from_second(t).ok()),
    })
}

/// SplitMix64's finaliser: a fixed, public mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of `date`: SplitMix64 of the number `YYYYMMDD`. Anyone can work it out, so
/// anyone can check an order.
pub fn daily_seed(date: Date) -> u64 {
    let number =
        i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day());
    mix(number.unsigned_abs())
}

/// A listing's place among equals on the day of `seed`: SplitMix64 of the seed XOR the
/// 64-bit FNV-1a hash of the listing's id. Lower comes first.
pub fn tie_key(seed: u64, id: &str) -> u64 {
    mix(seed ^ fnv1a(id))
}

/// The 64-bit FNV-1a hash of `text`'s bytes.
pub(crate) fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

/// The entries that pass `search`, with their rank and tie key.
fn passing(
    entries: &[Entry],
    sieve: &super::Sieve,
    search: &Search,
    now: Timestamp,
    seed: u64,
) -> Vec<(usize, Rank, u64)> {
    debug_assert_eq!(
        entries.len(),
        sieve.rows.len(),
        "the sieve of these entries"
    );
    let want = search.masks.help_with;
    let when = When::of(search, now);
    let rank_one = |i: usize| {
        let row = sieve.rows.get(i)?;
        rank_row(row, entries.get(i)?, search, &when).map(|r| (i, r, mix(seed ^ row.id_hash)))
    };
    if want == 0 {
        (0..sieve.rows.len()).filter_map(rank_one).collect()
    } else {
        sieve
            .help_with
            .iter()
            .enumerate()
            .filter(|(_, have)| **have & want != 0)
            .filter_map(|(i, _)| rank_one(i))
            .collect()
    }
}

fn published(a: &(usize, Rank, u64), b: &(usize, Rank, u64)) -> std::cmp::Ordering {
    b.1.relevance
        .cmp(&a.1.relevance)
        .then(a.1.availability.cmp(&b.1.availability))
        .then(b.1.nearness.cmp(&a.1.nearness))
        .then(a.2.cmp(&b.2))
        .then(a.0.cmp(&b.0))
}

/// The entries that pass `search`, in the published order: relevance (higher first), then
/// availability, then nearness (nearer first), then [`tie_key`] for the day's `seed`.
pub fn order(entries: &[Entry], search: &Search, now: Timestamp, seed: u64) -> Vec<(usize, Rank)> {
    let mut found = passing(entries, &super::Sieve::of(entries), search, now, seed);
    found.sort_unstable_by(published);
    found.into_iter().map(|(i, r, _)| (i, r)).collect()
}

/// One page (from 1) of [`order`], and how many entries pass in all: only the entries up to
/// the end of that page are put in order.
pub fn order_page(
    entries: &[Entry],
    sieve: &super::Sieve,
    search: &Search,
    now: Timestamp,
    seed: u64,
    page: usize,
) -> (usize, Vec<(usize, Rank)>) {
    let mut found = passing(entries, sieve, search, now, seed);
    let total = found.len();
    let end = page.saturating_mul(PAGE_SIZE).min(total);
    if end == 0 {
        return (total, Vec::new());
    }
    if end < total {
        found.select_nth_unstable_by(end - 1, published);
        found.truncate(end);
    }
    found.sort_unstable_by(published);
    let start = (page - 1) * PAGE_SIZE;
    (
        total,
        found
            .into_iter()
            .skip(start)
            .map(|(i, r, _)| (i, r))
            .collect(),
    )
}
