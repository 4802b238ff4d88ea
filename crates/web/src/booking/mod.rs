//! Booking a first consultation: the visitor's flow and the private manage link.
//!
//! No cookies: each step carries what was chosen in the URL (GET, for choosing) or in
//! hidden fields (POST, once personal details are involved). The slot is checked again
//! by the engine inside the store's write transaction, so two visitors can never both
//! get the same time.

pub(crate) mod flow;
pub(crate) mod manage;
pub(crate) mod messages;

use axum::Router;
use domain::{
    Slug,
    availability::{self, AvailabilityQuery, Slot, SlotRules, WeeklyRange},
    booking::BookingSettings,
    practice::{AppointmentType, Location},
};
use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use store::{BusyTime, Practice};

use crate::{AppState, Here, WebError, error::WebResult};

crate::routing::routes! {
    GET "/book" => Public: flow::choose_location;
    GET "/book/times" => Public: flow::times;
    GET "/book/details" => Public: flow::details_form;
    POST "/book/details" => Public: flow::details_again;
    POST "/book/check" => Public: flow::check;
    POST "/book/confirm" => Public: flow::confirm;
    GET "/book/already" => Public: flow::already;
    GET "/booking/{token}" => Secret: manage::show;
    GET "/booking/{token}/calendar.ics" => Secret: manage::calendar;
    GET "/booking/{token}/cancel" => Secret: manage::confirm_cancel;
    POST "/booking/{token}/cancel" => Secret: manage::cancel;
    GET "/booking/{token}/move" => Secret: manage::move_times;
    GET "/booking/{token}/move/confirm" => Secret: manage::confirm_move;
    POST "/booking/{token}/move/confirm" => Secret: manage::move_booking;
}

pub(crate) fn router() -> Router<AppState> {
    crate::routing::mount(&routes())
}

/// The private manage link for a booking's token.
pub(crate) fn manage_url(state: &Here, token: &str) -> String {
    format!("{}/booking/{token}", state.public_url())
}

/// Days of times shown per page of the "choose a time" step.
pub(crate) const DAYS_PER_PAGE: i32 = 14;

/// Everything needed to offer consultations: the bookable type, where, when and the rules.
pub(crate) struct Offer {
    pub practice: Practice,
    pub kind: AppointmentType,
    pub locations: Vec<Location>,
    pub zone: TimeZone,
    pub hours: Vec<WeeklyRange>,
    pub rules: SlotRules,
    pub away: Vec<availability::AwayPeriod>,
    pub settings: BookingSettings,
}

impl Offer {
    /// The current offer, from the cache (dropped whenever settings or content change).
    pub async fn load(state: &Here) -> WebResult<std::sync::Arc<Self>> {
        if let Some(offer) = state.pages().offer.read().ok().and_then(|o| o.clone()) {
            return Ok(offer);
        }
        let generation = state.pages().generation();
        let offer = std::sync::Arc::new(Self::read(state).await?);
        if let Ok(mut slot) = state.pages().offer.write()
            && state.pages().generation() == generation
        {
            *slot = Some(offer.clone());
        }
        Ok(offer)
    }

    /// The first appointment type visitors can book online, with its locations and rules,
    /// read afresh (not kept in the practice's cache: the directory reads every listed
    /// practice's, and keeping ten thousand would cost their memory for nothing).
    pub(crate) async fn read(state: &Here) -> WebResult<Self> {
        let store = state.store();
        let id = state.practice_id();
        let practice = store.practice(id).await?;
        let kind = store
            .appointment_types(id)
            .await?
            .into_iter()
            .find(|t| t.booking.bookable_online && !t.booking.locations.is_empty())
            .ok_or(WebError::NotFound)?;
        let locations: Vec<Location> = store
            .locations(id)
            .await?
            .into_iter()
            .filter(|l| kind.booking.locations.contains(&l.slug))
            .collect();
        let zone =
            TimeZone::get(&practice.details.time_zone).map_err(|e| WebError::Internal(e.into()))?;
        let hours = store
            .opening_hours(id)
            .await?
            .into_iter()
            .filter(|h| kind.booking.locations.contains(&h.location))
            .filter_map(|h| WeeklyRange::new(h.location, h.weekday, h.start, h.end).ok())
            .collect();
        let b = &kind.booking;
        let rules = SlotRules::new(
            kind.minutes,
            b.buffer_before,
            b.buffer_after,
            b.travel_minutes,
            b.notice_minutes,
            b.horizon_days,
            b.granularity_minutes,
        )
        .map_err(|e| WebError::Internal(anyhow::anyhow!("booking rules: {e}")))?;
        let away = store
            .away_periods(id)
            .await?
            .into_iter()
            .map(|a| availability::AwayPeriod {
                start: a.start,
                end: a.end,
            })
            .collect();
        let settings = store.booking_settings(id).await?;
        Ok(Self {
            practice,
            kind,
            locations,
            zone,
            hours,
            rules,
            away,
            settings,
        })
    }

    /// A bookable location by slug.
    pub fn location(&self, slug: &str) -> WebResult<&Location> {
        self.locations
            .iter()
            .find(|l| l.slug.as_str() == slug)
            .ok_or(WebError::NotFound)
    }

    /// Today in the practice's zone.
    pub fn today(&self, now: Timestamp) -> Date {
        now.to_zoned_datetime(self.zone.clone()).date()
    }

    /// The last date anything can be booked.
    pub fn last_day(&self, now: Timestamp) -> Date {
        let horizon = i64::from(self.kind.booking.horizon_days);
        self.today(now)
            .checked_add(horizon.days())
            .unwrap_or(self.today(now))
    }

    fn query<'a>(
        &'a self,
        busy: &'a [availability::Busy],
        location: Option<&'a Slug>,
        from: Date,
        to: Date,
        now: Timestamp,
    ) -> AvailabilityQuery<'a> {
        AvailabilityQuery {
            zone: &self.zone,
            hours: &self.hours,
            rules: &self.rules,
            away: &self.away,
            busy,
            location,
            from,
            to,
            now,
        }
    }

    /// Free slots between two local dates.
    pub async fn slots(
        &self,
        state: &Here,
        location: Option<&Slug>,
        from: Date,
        to: Date,
    ) -> WebResult<Vec<Slot>> {
        let now = state.now();
        let start = from
            .to_zoned_datetime(self.zone.clone())
            .map_err(|e| WebError::Internal(e.into()))?
            .timestamp();
        let end = to
            .tomorrow()
            .and_then(|d| d.to_zoned_datetime(self.zone.clone()))
            .map_err(|e| WebError::Internal(e.into()))?
            .timestamp();
        let margin = jiff::SignedDuration::from_hours(12);
        let busy = state
            .store()
            .busy_between(
                state.practice_id(),
                start.checked_sub(margin).unwrap_or(start),
                end.checked_add(margin).unwrap_or(end),
            )
            .await?;
        let busy = to_engine(&busy);
        Ok(availability::slots(
            &self.query(&busy, location, from, to, now),
        ))
    }

    /// Whether `slot` is still offered given these busy times (run inside the store's transaction).
    pub fn still_free(&self, slot: &Slot, busy: &[BusyTime], now: Timestamp) -> bool {
        let busy = to_engine(busy);
        let day = slot.start.to_zoned_datetime(self.zone.clone()).date();
        let q = self.query(&busy, Some(&slot.location), day, day, now);
        availability::is_available(&q, slot)
    }

    /// The store's re-check of `slot` as of `now`: the engine's answer given the busy times
    /// that could stand in its way, read inside the write transaction.
    pub fn recheck(self: &std::sync::Arc<Self>, slot: &Slot, now: Timestamp) -> store::Recheck {
        let (from, to) = self.rules.conflict_window(slot.start, slot.end);
        let offer = std::sync::Arc::clone(self);
        let slot = slot.clone();
        store::Recheck::new(from, to, move |busy| offer.still_free(&slot, busy, now))
    }

    /// The slot starting at `start` at `location`, if the engine would offer that shape.
    pub fn slot_at(&self, location: &Location, start: Timestamp) -> Slot {
        let end = start.checked_add(self.rules.length()).unwrap_or(start);
        Slot {
            start,
            end,
            location: location.slug.clone(),
        }
    }

    /// "Monday 29 March 2027 at 9am".
    pub fn when(&self, at: Timestamp) -> String {
        crate::words::weekday_date_at(self.zone.to_datetime(at))
    }

    /// "In person in Balham, 27 Larchwood Mews, SW12 9RT" or "Online, by video".
    pub fn where_text(location: &Location) -> String {
        if location.online {
            "online, by video".to_owned()
        } else {
            let mut parts = location.address_lines.clone();
            if let Some(postcode) = &location.postcode {
                parts.push(postcode.to_string());
            }
            format!("in person in {} ({})", location.name, parts.join(", "))
        }
    }
}

/// A time to choose, as a link.
#[derive(Debug, serde::Serialize)]
pub(crate) struct SlotLink {
    pub label: String,
    pub href: String,
}

/// The times of one day.
#[derive(Debug, serde::Serialize)]
pub(crate) struct DayOfSlots {
    pub label: String,
    pub slots: Vec<SlotLink>,
}

/// Group slots (already in time order) by local day, each as a link made by `href`.
pub(crate) fn by_day<'a>(
    offer: &Offer,
    slots: impl IntoIterator<Item = &'a Slot>,
    href: impl Fn(&Slot) -> String,
) -> Vec<DayOfSlots> {
    let mut days: Vec<DayOfSlots> = Vec::new();
    for slot in slots {
        let local = slot.start.to_zoned_datetime(offer.zone.clone());
        let label = crate::words::weekday_day_month(local.date());
        let link = SlotLink {
            label: time_label(&local),
            href: href(slot),
        };
        match days.last_mut() {
            Some(day) if day.label == label => day.slots.push(link),
            _ => days.push(DayOfSlots {
                label,
                slots: vec![link],
            }),
        }
    }
    days
}

fn to_engine(busy: &[BusyTime]) -> Vec<availability::Busy> {
    busy.iter()
        .map(|b| availability::Busy {
            start: b.start,
            end: b.end,
            location: b.location.clone(),
        })
        .collect()
}

/// "9am", "9:30am", "12pm" — times as people say them.
pub(crate) fn time_label(local: &jiff::ZonedDateTime) -> String {
    crate::words::clock(local.time())
}

/// "24 hours", "2 days", "90 minutes".
pub(crate) fn duration_words(minutes: u32) -> String {
    match minutes {
        0 => "the moment".to_owned(),
        m if m % 1440 == 0 && m >= 2880 => format!("{} days", m / 1440),
        m if m % 60 == 0 => format!("{} hour{}", m / 60, if m == 60 { "" } else { "s" }),
        m => format!("{m} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_like_people_say_them() {
        let zone = TimeZone::get("Europe/London").unwrap();
        let at = |s: &str| {
            s.parse::<Timestamp>()
                .unwrap()
                .to_zoned_datetime(zone.clone())
        };
        assert_eq!(time_label(&at("2027-03-29T08:00:00Z")), "9am");
        assert_eq!(time_label(&at("2027-03-29T08:30:00Z")), "9:30am");
        assert_eq!(time_label(&at("2027-03-29T11:00:00Z")), "12pm");
        assert_eq!(time_label(&at("2027-03-22T00:15:00Z")), "12:15am");
        assert_eq!(duration_words(1440), "24 hours");
        assert_eq!(duration_words(60), "1 hour");
        assert_eq!(duration_words(4320), "3 days");
    }
}
