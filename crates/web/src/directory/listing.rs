//! One practice's listing, built from its directory settings and its own data, and the
//! summary of its free consultation times.

use domain::directory::{
    Concessions, FreeTimes, Listing, ListingPortrait, Outcode, Registration, Room,
};
use jiff::ToSpan;
use store::StoredListing;

use crate::{Here, WebError, booking::Offer, error::WebResult};

/// How far ahead the free-times summary looks, in days: past the longest "within" a search
/// can ask for, so that a summary a day old still answers it.
pub(crate) const SUMMARY_DAYS: i32 = 35;

/// A new listing id: a random (version 4) UUID, as open data expects.
pub(crate) fn new_id() -> String {
    uuid_text(rand::random(), 4)
}

/// 16 bytes written as a UUID of `version` (its version and variant bits set).
pub(crate) fn uuid_text(mut b: [u8; 16], version: u8) -> String {
    b[6] = (b[6] & 0x0f) | (version << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The start of the practice's own words as plain text: its tagline and the first paragraph
/// of its introduction, at most about 300 characters, cut at a word.
fn summary(tagline: &str, intro: &str) -> String {
    let first = intro
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    let plain: String = first
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '#' | '`' | '>'))
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    let text = if tagline.trim().is_empty() {
        plain
    } else {
        format!("{}. {plain}", tagline.trim().trim_end_matches('.'))
    };
    if text.chars().count() <= 300 {
        return text;
    }
    let mut cut: String = text.chars().take(300).collect();
    if let Some(space) = cut.rfind(' ') {
        cut.truncate(space);
    }
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.']))
}

/// The practice's listing as its settings and data make it.
pub(crate) async fn listing_of(state: &Here, stored: &StoredListing) -> WebResult<Listing> {
    let store = state.store();
    let id = state.practice_id();
    let practice = store.practice(id).await?;
    let locations = store.locations(id).await?;
    let types = store.appointment_types(id).await?;
    let consultation = types.iter().find(|t| t.booking.bookable_online);
    let session_fee = types
        .iter()
        .filter(|t| !t.booking.bookable_online)
        .map(|t| t.fee)
        .min();
    let settings = &stored.settings;
    let url = state.public_url().to_owned();
    let portrait = store.portrait(id).await?.map(|info| {
        let view = crate::photos::PhotoView::of(&info);
        ListingPortrait {
            url: format!("{url}{}", view.src),
            alt: view.alt,
            width: view.src_width,
            height: view.src_height,
        }
    });
    Ok(Listing {
        id: stored.id.clone(),
        name: practice.details.name.clone(),
        therapist: practice.therapist.name.to_string(),
        title: practice.therapist.title.clone(),
        summary: summary(&practice.details.tagline, &practice.details.intro),
        booking_url: consultation
            .filter(|t| !t.booking.locations.is_empty())
            .map(|_| format!("{url}/book")),
        url,
        help_with: settings.help_with.clone(),
        approaches: settings.approaches.clone(),
        ways: settings.ways.clone(),
        languages: practice.therapist.languages.clone(),
        identity: settings.identity.clone(),
        rooms: locations
            .iter()
            .filter(|l| !l.online)
            .filter_map(|l| {
                Some(Room {
                    area: l.name.clone(),
                    outcode: Outcode::of(l.postcode.as_ref()?),
                })
            })
            .collect(),
        online: locations.iter().any(|l| l.online),
        consultation_fee: consultation.map(|t| t.fee),
        session_fee,
        concessions: settings
            .concession_fee
            .filter(|_| settings.concession_places > 0)
            .map(|from| Concessions {
                places: settings.concession_places,
                from,
            }),
        registration: settings.body.as_ref().map(|body| Registration {
            body: body.clone(),
            number: settings.number.clone(),
        }),
        accepting: settings.accepting,
        portrait,
    })
}

/// The first free consultation on each day of the next [`SUMMARY_DAYS`], in person and
/// online, from the practice's real availability (empty when nothing can be booked online).
/// With `cached`, the practice's cached offer is used (and kept); the directory's own
/// rebuilds read it afresh instead.
pub(crate) async fn free_times(state: &Here, cached: bool) -> WebResult<FreeTimes> {
    let offer = if cached {
        Offer::load(state).await
    } else {
        Offer::read(state).await.map(std::sync::Arc::new)
    };
    let offer = match offer {
        Ok(offer) => offer,
        Err(WebError::NotFound) => return Ok(FreeTimes::default()),
        Err(other) => return Err(other),
    };
    let now = state.now();
    let today = offer.today(now);
    let last = today
        .checked_add((SUMMARY_DAYS - 1).days())
        .unwrap_or(today)
        .min(offer.last_day(now));
    if last < today {
        return Ok(FreeTimes::default());
    }
    let slots = offer.slots(state, None, today, last).await?;
    let online: std::collections::HashSet<&str> = offer
        .locations
        .iter()
        .filter(|l| l.online)
        .map(|l| l.slug.as_str())
        .collect();
    // The first start of each day, for each way of meeting (slots of several rooms may
    // come in any order).
    let mut first: std::collections::BTreeMap<(bool, jiff::civil::Date), jiff::Timestamp> =
        std::collections::BTreeMap::new();
    for slot in &slots {
        let key = (
            online.contains(slot.location.as_str()),
            offer.today(slot.start),
        );
        first
            .entry(key)
            .and_modify(|t| *t = (*t).min(slot.start))
            .or_insert(slot.start);
    }
    let mut free = FreeTimes::default();
    for ((is_online, _), start) in first {
        if is_online {
            free.online.push(start);
        } else {
            free.in_person.push(start);
        }
    }
    Ok(free)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_four_uuids() {
        let id = new_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, new_id());
    }

    #[test]
    fn summaries_are_plain_and_short() {
        assert_eq!(
            summary("Counselling in Leeds.", "**Hello.** I see adults.\n\nMore."),
            "Counselling in Leeds. Hello. I see adults."
        );
        let long = "word ".repeat(100);
        let s = summary("", &long);
        assert!(s.chars().count() <= 301 && s.ends_with('…'), "{s}");
    }
}
