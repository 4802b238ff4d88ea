//! Availability: which consultation times a visitor may book.
//!
//! Weekly hours per location in the practice's local wall-clock time, minus away periods, minus
//! the therapist's existing appointments (widened by the booked type's buffers and, between
//! different rooms, travel), inside the notice window and the booking horizon, give slots
//! (DESIGN.md §3 "Time", issue 3 "Availability engine").
//!
//! This is a pure function of its inputs: it must not read the clock, the database or the system
//! time zone. The caller passes `now`, the zone and everything busy.
//!
//! Clock changes: a weekly range stays at the same local time across a change (so its UTC offset
//! moves); a local start that does not exist (the spring gap) gives no slot; one that happens twice
//! (the autumn fold) gives one slot, at the first occurrence. Slot lengths are real elapsed time.

use jiff::{
    SignedDuration, Timestamp,
    civil::{Date, DateTime, Time, Weekday},
    tz::{AmbiguousOffset, TimeZone},
};

use crate::{Slug, TextError};

const NANOS_PER_MINUTE: i128 = 60_000_000_000;
const NANOS_PER_DAY: i128 = 24 * 60 * NANOS_PER_MINUTE;

/// One weekly opening at a location, in local wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WeeklyRange {
    location: Slug,
    weekday: Weekday,
    start: Time,
    end: Time,
}

impl WeeklyRange {
    /// An opening from `start` to `end` (same day) every `weekday` at `location`.
    pub fn new(
        location: Slug,
        weekday: Weekday,
        start: Time,
        end: Time,
    ) -> Result<Self, TextError> {
        if end <= start {
            return Err(TextError(
                "The end time must be after the start time".into(),
            ));
        }
        Ok(Self {
            location,
            weekday,
            start,
            end,
        })
    }

    /// Where the therapist is during this opening.
    pub fn location(&self) -> &Slug {
        &self.location
    }

    /// The day of the week it repeats on.
    pub fn weekday(&self) -> Weekday {
        self.weekday
    }

    /// Local wall-clock time the opening starts.
    pub fn start(&self) -> Time {
        self.start
    }

    /// Local wall-clock time the opening ends; no slot runs past it.
    pub fn end(&self) -> Time {
        self.end
    }
}

/// The rules of the appointment type being booked (all in minutes, except the horizon in days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotRules {
    minutes: u32,
    buffer_before: u32,
    buffer_after: u32,
    travel_minutes: u32,
    notice_minutes: u32,
    horizon_days: u32,
    granularity_minutes: u32,
}

impl SlotRules {
    /// Check an appointment type's booking rules.
    ///
    /// `minutes` is the length (10–240), the buffers and the travel time between different rooms
    /// are at most 240 minutes, the horizon is 1–366 days, start times step by `granularity`
    /// (5–120 minutes) from the start of each weekly range, and the notice must be shorter than
    /// the horizon (otherwise nothing could ever be booked).
    pub fn new(
        minutes: u32,
        buffer_before: u32,
        buffer_after: u32,
        travel_minutes: u32,
        notice_minutes: u32,
        horizon_days: u32,
        granularity_minutes: u32,
    ) -> Result<Self, TextError> {
        let refuse = |message: &str| Err(TextError(message.into()));
        if !(10..=240).contains(&minutes) {
            return refuse("Choose a length between 10 and 240 minutes");
        }
        if buffer_before > 240 {
            return refuse("Choose a buffer before of 240 minutes or fewer");
        }
        if buffer_after > 240 {
            return refuse("Choose a buffer after of 240 minutes or fewer");
        }
        if travel_minutes > 240 {
            return refuse("Choose a travel time of 240 minutes or fewer");
        }
        if !(1..=366).contains(&horizon_days) {
            return refuse("Choose a booking horizon between 1 and 366 days");
        }
        if u64::from(notice_minutes) >= u64::from(horizon_days) * 24 * 60 {
            return refuse("Make the minimum notice shorter than the booking horizon");
        }
        if !(5..=120).contains(&granularity_minutes) {
            return refuse("Choose a start-time step between 5 and 120 minutes");
        }
        Ok(Self {
            minutes,
            buffer_before,
            buffer_after,
            travel_minutes,
            notice_minutes,
            horizon_days,
            granularity_minutes,
        })
    }

    /// Length of the appointment in minutes.
    pub fn minutes(&self) -> u32 {
        self.minutes
    }

    /// Minutes kept free before the appointment.
    pub fn buffer_before(&self) -> u32 {
        self.buffer_before
    }

    /// Minutes kept free after the appointment.
    pub fn buffer_after(&self) -> u32 {
        self.buffer_after
    }

    /// Extra minutes kept free next to an appointment in a different room.
    pub fn travel_minutes(&self) -> u32 {
        self.travel_minutes
    }

    /// How long before its start a slot stops being bookable.
    pub fn notice_minutes(&self) -> u32 {
        self.notice_minutes
    }

    /// How far ahead slots are offered, in 24-hour days from now.
    pub fn horizon_days(&self) -> u32 {
        self.horizon_days
    }

    /// Step between candidate start times, counted from the start of each weekly range.
    pub fn granularity_minutes(&self) -> u32 {
        self.granularity_minutes
    }

    /// Length of the appointment as elapsed time (a slot's end is its start plus this).
    pub fn length(&self) -> SignedDuration {
        SignedDuration::from_mins(i64::from(self.minutes))
    }

    /// Every appointment that could stop the slot `[start, end)` overlaps the returned
    /// window: its buffer before plus travel ahead of the start, its buffer after plus travel
    /// past the end. A re-check only needs the busy times in it.
    pub fn conflict_window(&self, start: Timestamp, end: Timestamp) -> (Timestamp, Timestamp) {
        let before = SignedDuration::from_mins(i64::from(self.buffer_before + self.travel_minutes));
        let after = SignedDuration::from_mins(i64::from(self.buffer_after + self.travel_minutes));
        (
            start.checked_sub(before).unwrap_or(start),
            end.checked_add(after).unwrap_or(end),
        )
    }
}

/// A time the therapist is not available (a break, a holiday): the half-open interval
/// `[start, end)`. A period whose end is not after its start blocks nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AwayPeriod {
    /// First instant away.
    pub start: Timestamp,
    /// First instant back.
    pub end: Timestamp,
}

/// An existing held or confirmed appointment of the therapist, at any location.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Busy {
    /// When it starts.
    pub start: Timestamp,
    /// When it ends.
    pub end: Timestamp,
    /// Where it is, which decides whether travel time applies.
    pub location: Slug,
}

/// A bookable time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    /// When the appointment starts.
    pub start: Timestamp,
    /// When it ends: the start plus the appointment type's length.
    pub end: Timestamp,
    /// Where it takes place.
    pub location: Slug,
}

/// Everything the engine needs to answer "when could this be booked?".
#[derive(Debug, Clone, Copy)]
pub struct AvailabilityQuery<'a> {
    /// The practice's zone; weekly hours are wall-clock times in it.
    pub zone: &'a TimeZone,
    /// Weekly hours of every location.
    pub hours: &'a [WeeklyRange],
    /// The rules of the appointment type being booked.
    pub rules: &'a SlotRules,
    /// Breaks and holidays.
    pub away: &'a [AwayPeriod],
    /// Every held or confirmed appointment of the therapist, at any location.
    pub busy: &'a [Busy],
    /// Only this location (`None` = all).
    pub location: Option<&'a Slug>,
    /// First local date, inclusive.
    pub from: Date,
    /// Last local date, inclusive.
    pub to: Date,
    /// The injected current time.
    pub now: Timestamp,
}

/// Bookable slots, sorted by start then location, without duplicates.
///
/// Runs in O((candidates + busy) · log busy): busy times are sorted once and each candidate only
/// looks at the few that could reach it.
pub fn slots(query: &AvailabilityQuery<'_>) -> Vec<Slot> {
    let filters = Filters::new(query);
    // A slot's local date is within a day or so of its instant's, so dates far outside
    // [now + notice, now + horizon) cannot hold one: skip them (two days' margin covers any
    // zone's offset change).
    let from =
        local_date(query.zone, filters.earliest, -2).map_or(query.from, |d| d.max(query.from));
    let to = local_date(query.zone, filters.latest, 2).map_or(query.to, |d| d.min(query.to));

    // The ranges of each weekday, in start order, so candidates come out nearly sorted.
    let mut by_weekday: [Vec<&WeeklyRange>; 7] = Default::default();
    for range in query.hours {
        if query.location.is_none_or(|only| only == &range.location) {
            by_weekday[usize::from(range.weekday.to_monday_zero_offset().unsigned_abs())]
                .push(range);
        }
    }
    for ranges in &mut by_weekday {
        ranges.sort_by(|a, b| (a.start, &a.location).cmp(&(b.start, &b.location)));
    }

    let mut found: Vec<(i128, &Slug)> = Vec::new();
    let mut date = from;
    while date <= to {
        let weekday = usize::from(date.weekday().to_monday_zero_offset().unsigned_abs());
        for range in &by_weekday[weekday] {
            expand_range(query, &filters, date, range, &mut found);
        }
        let Ok(next) = date.tomorrow() else { break };
        date = next;
    }

    // Stable sort: linear on the long already-sorted runs this produces.
    found.sort();
    found.dedup();
    found
        .into_iter()
        .filter_map(|(start, location)| {
            let start = Timestamp::from_nanosecond(start).ok()?;
            let end = start.checked_add(query.rules.length()).ok()?;
            Some(Slot {
                start,
                end,
                location: location.clone(),
            })
        })
        .collect()
}

/// True when `slot` would be offered by `query` (used to re-check a booking inside the write
/// transaction). Agrees exactly with [`slots`], without expanding the whole date range.
pub fn is_available(query: &AvailabilityQuery<'_>, slot: &Slot) -> bool {
    if query.location.is_some_and(|only| only != &slot.location) {
        return false;
    }
    if slot.start.checked_add(query.rules.length()).ok() != Some(slot.end) {
        return false;
    }
    let local = query.zone.to_datetime(slot.start);
    let date = local.date();
    if date < query.from || date > query.to {
        return false;
    }
    // The second occurrence of a repeated wall-clock time is never offered.
    if first_instant(query.zone, local) != Some(slot.start) {
        return false;
    }
    let filters = Filters::new(query);
    let start = slot.start.as_nanosecond();
    let end = start + filters.length;
    let step = minutes(query.rules.granularity_minutes);
    let in_hours = query.hours.iter().any(|range| {
        let from_start = range.start.duration_until(local.time()).as_nanos();
        range.location == slot.location
            && range.weekday == date.weekday()
            && from_start >= 0
            && from_start % step == 0
            && from_start + filters.length <= range_span(range)
            && range_end_instant(query.zone, range_end_local(date, range.end))
                .is_some_and(|range_end| end <= range_end)
    });
    in_hours && filters.allows(start, end, &slot.location)
}

/// Push every bookable start of `range` on `date` into `found`.
fn expand_range<'q>(
    query: &AvailabilityQuery<'q>,
    filters: &Filters<'q>,
    date: Date,
    range: &'q WeeklyRange,
    found: &mut Vec<(i128, &'q Slug)>,
) {
    let zone = query.zone;
    let Some(range_end) = range_end_instant(zone, range_end_local(date, range.end)) else {
        return;
    };
    // Every slot ends by `range_end`, so starts before it; none can be late enough.
    if range_end <= filters.earliest {
        return;
    }
    let start_dt = date.to_datetime(range.start);
    // Fast path: while no transition has happened since the range's (unambiguous) start, the
    // offset is fixed, so a wall-clock step is the same elapsed step and this instant is the
    // first (or only) occurrence of its local time. After a transition, convert each one.
    let fixed = match zone.to_ambiguous_timestamp(start_dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(start_dt).ok().map(|base| {
            let next_change = zone
                .following(base)
                .next()
                .map_or(i128::MAX, |t| t.timestamp().as_nanosecond());
            (base.as_nanosecond(), next_change)
        }),
        _ => None,
    };
    let span = range_span(range);
    let step = minutes(query.rules.granularity_minutes);
    let mut from_start = 0;
    while from_start + filters.length <= span {
        let start = match fixed {
            Some((base, next_change)) if base + from_start < next_change => Some(base + from_start),
            _ => start_dt
                .checked_add(SignedDuration::from_nanos_i128(from_start))
                .ok()
                .and_then(|local| first_instant(zone, local))
                .map(Timestamp::as_nanosecond),
        };
        if let Some(start) = start {
            let end = start + filters.length;
            if end <= range_end && filters.allows(start, end, &range.location) {
                found.push((start, &range.location));
            }
        }
        from_start += step;
    }
}

/// The instant a slot starting at local `dt` starts: none in a gap, the earlier one in a fold.
fn first_instant(zone: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    match zone.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } | AmbiguousOffset::Fold { before: offset, .. } => {
            offset.to_timestamp(dt).ok()
        }
        AmbiguousOffset::Gap { .. } => None,
    }
}

/// The instant a range ending at local `dt` ends, in nanoseconds: the earlier one in a fold and,
/// for an end inside a spring gap, the moment the clocks jump past it.
fn range_end_instant(zone: &TimeZone, dt: DateTime) -> Option<i128> {
    let instant = match zone.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } | AmbiguousOffset::Fold { before: offset, .. } => {
            offset.to_timestamp(dt).ok()?
        }
        AmbiguousOffset::Gap { after, .. } => {
            // With the later offset `dt` lands just before the jump; the jump is the next change.
            let before_jump = after.to_timestamp(dt).ok()?;
            zone.following(before_jump).next()?.timestamp()
        }
    };
    Some(instant.as_nanosecond())
}

/// The local date-time a range ends on `date`. Hours "until 24:00" are stored as the last
/// instant of the day (`Time::MAX`); they really end at the next midnight, so a slot ending
/// exactly then fits.
pub(crate) fn range_end_local(date: Date, end: Time) -> DateTime {
    if end == Time::MAX
        && let Ok(next) = date.tomorrow()
    {
        return next.to_datetime(Time::MIN);
    }
    date.to_datetime(end)
}

/// Wall-clock length of a range in nanoseconds (until the next midnight for "24:00").
fn range_span(range: &WeeklyRange) -> i128 {
    let span = range.start.duration_until(range.end).as_nanos();
    if range.end == Time::MAX {
        span + 1
    } else {
        span
    }
}

fn minutes(minutes: u32) -> i128 {
    i128::from(minutes) * NANOS_PER_MINUTE
}

/// The local date of the instant `nanos`, moved `days` days; `None` outside jiff's range.
fn local_date(zone: &TimeZone, nanos: i128, days: i8) -> Option<Date> {
    let clamped = nanos.clamp(
        Timestamp::MIN.as_nanosecond(),
        Timestamp::MAX.as_nanosecond(),
    );
    let date = zone
        .to_datetime(Timestamp::from_nanosecond(clamped).ok()?)
        .date();
    Some(
        date.checked_add(SignedDuration::from_hours(24 * i64::from(days)))
            .unwrap_or(date),
    )
}

/// An appointment as nanosecond instants, for cheap comparisons.
struct BusyNanos<'q> {
    start: i128,
    end: i128,
    location: &'q Slug,
}

/// Everything that removes a candidate other than the weekly hours, prepared once per query.
struct Filters<'q> {
    /// Earliest bookable start (now + notice), inclusive.
    earliest: i128,
    /// End of the horizon (now + horizon days), exclusive.
    latest: i128,
    length: i128,
    before: i128,
    after: i128,
    travel: i128,
    /// Sorted by start.
    busy: Vec<BusyNanos<'q>>,
    longest_busy: i128,
    /// Non-empty periods, sorted by start.
    away: Vec<(i128, i128)>,
    longest_away: i128,
}

impl<'q> Filters<'q> {
    fn new(query: &AvailabilityQuery<'q>) -> Self {
        let rules = query.rules;
        let now = query.now.as_nanosecond();
        let mut busy: Vec<BusyNanos<'q>> = query
            .busy
            .iter()
            .map(|b| BusyNanos {
                start: b.start.as_nanosecond(),
                end: b.end.as_nanosecond(),
                location: &b.location,
            })
            .collect();
        busy.sort_unstable_by_key(|b| b.start);
        let longest_busy = busy
            .iter()
            .map(|b| b.end - b.start)
            .max()
            .unwrap_or(0)
            .max(0);
        let mut away: Vec<(i128, i128)> = query
            .away
            .iter()
            .map(|a| (a.start.as_nanosecond(), a.end.as_nanosecond()))
            .filter(|(start, end)| start < end)
            .collect();
        away.sort_unstable();
        let longest_away = away.iter().map(|(s, e)| e - s).max().unwrap_or(0);
        Self {
            earliest: now + minutes(rules.notice_minutes),
            latest: now + i128::from(rules.horizon_days) * NANOS_PER_DAY,
            length: minutes(rules.minutes),
            before: minutes(rules.buffer_before),
            after: minutes(rules.buffer_after),
            travel: minutes(rules.travel_minutes),
            busy,
            longest_busy,
            away,
            longest_away,
        }
    }

    /// Whether a slot `[start, end)` at `location` survives notice, horizon, away and busy.
    fn allows(&self, start: i128, end: i128, location: &Slug) -> bool {
        start >= self.earliest
            && start < self.latest
            && !self.away_during(start, end)
            && !self.busy_near(start, end, location)
    }

    fn away_during(&self, start: i128, end: i128) -> bool {
        // An away period ending after `start` began after `start - longest_away`.
        let first = self
            .away
            .partition_point(|&(s, _)| s <= start - self.longest_away);
        self.away[first..]
            .iter()
            .take_while(|&&(s, _)| s < end)
            .any(|&(_, e)| start < e)
    }

    fn busy_near(&self, start: i128, end: i128, location: &Slug) -> bool {
        // Widest reach of any appointment, whatever its room; the exact rule is checked below.
        let reach_before = self.before + self.travel;
        let reach_after = self.after + self.travel;
        let first = self
            .busy
            .partition_point(|b| b.start <= start - reach_before - self.longest_busy);
        self.busy[first..]
            .iter()
            .take_while(|b| b.start < end + reach_after)
            .any(|b| {
                let travel = if b.location == location {
                    0
                } else {
                    self.travel
                };
                start - (self.before + travel) < b.end && b.start < end + (self.after + travel)
            })
    }
}

/// The input of benchmark (a) in issue 3: three locations, 20 weekly ranges, 500 appointments
/// spread over the 90 days from 2027-03-22, 5 away periods, now = 2027-03-22T08:00:00Z.
#[doc(hidden)]
pub fn bench_fixture() -> (
    TimeZone,
    Vec<WeeklyRange>,
    SlotRules,
    Vec<AwayPeriod>,
    Vec<Busy>,
    Timestamp,
) {
    use Weekday::{Friday, Monday, Saturday, Sunday, Thursday, Tuesday, Wednesday};
    use jiff::civil::{date, time};

    let zone = TimeZone::get("Europe/London").expect("the bundled zone database has London");
    let slug = |s: &str| Slug::parse(s).expect("a valid fixture slug");
    let locations = [slug("balham"), slug("chancery-lane"), slug("online")];
    /// Location index, weekday, start and end as (hour, minute).
    type Opening = (usize, Weekday, (i8, i8), (i8, i8));
    let weekly: [Opening; 20] = [
        (0, Monday, (9, 0), (13, 0)),
        (0, Monday, (14, 0), (18, 0)),
        (0, Wednesday, (9, 0), (13, 0)),
        (0, Wednesday, (14, 0), (18, 0)),
        (0, Friday, (9, 0), (13, 0)),
        (0, Friday, (14, 0), (17, 0)),
        (0, Saturday, (9, 0), (12, 0)),
        (1, Tuesday, (8, 0), (12, 0)),
        (1, Tuesday, (13, 0), (19, 0)),
        (1, Thursday, (8, 0), (12, 0)),
        (1, Thursday, (13, 0), (19, 0)),
        (1, Friday, (7, 30), (9, 0)),
        (2, Monday, (18, 0), (21, 0)),
        (2, Tuesday, (19, 0), (21, 0)),
        (2, Wednesday, (7, 0), (9, 0)),
        (2, Wednesday, (18, 0), (21, 0)),
        (2, Thursday, (19, 0), (21, 0)),
        (2, Friday, (17, 0), (19, 0)),
        (2, Saturday, (12, 0), (15, 0)),
        (2, Sunday, (10, 0), (12, 0)),
    ];
    let hours = weekly
        .iter()
        .map(|&(at, weekday, (sh, sm), (eh, em))| {
            WeeklyRange::new(
                locations[at].clone(),
                weekday,
                time(sh, sm, 0, 0),
                time(eh, em, 0, 0),
            )
            .expect("a valid fixture range")
        })
        .collect();
    let rules = SlotRules::new(50, 5, 10, 45, 24 * 60, 120, 15).expect("valid fixture rules");

    let instant = |y, m, d, h, min| {
        date(y, m, d)
            .at(h, min, 0, 0)
            .to_zoned_datetime(zone.clone())
            .expect("a valid fixture time")
            .timestamp()
    };
    let away = vec![
        AwayPeriod {
            start: instant(2027, 4, 5, 0, 0),
            end: instant(2027, 4, 6, 0, 0),
        },
        AwayPeriod {
            start: instant(2027, 4, 19, 12, 0),
            end: instant(2027, 4, 19, 18, 0),
        },
        AwayPeriod {
            start: instant(2027, 5, 3, 0, 0),
            end: instant(2027, 5, 4, 0, 0),
        },
        AwayPeriod {
            start: instant(2027, 5, 24, 0, 0),
            end: instant(2027, 5, 31, 0, 0),
        },
        AwayPeriod {
            start: instant(2027, 6, 10, 9, 0),
            end: instant(2027, 6, 10, 11, 0),
        },
    ];

    // A fixed pseudo-random spread (64-bit LCG) so every run measures the same input.
    let first_day = date(2027, 3, 22);
    let mut state: u64 = 0x2027_0322;
    let mut next = |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let busy = (0..500)
        .map(|_| {
            let day = first_day
                .checked_add(SignedDuration::from_hours(24 * next(90) as i64))
                .expect("inside 2027");
            let hour = 7 + next(14) as i8;
            let minute = 15 * next(4) as i8;
            let start = day
                .at(hour, minute, 0, 0)
                .to_zoned_datetime(zone.clone())
                .expect("a valid fixture time")
                .timestamp();
            Busy {
                start,
                end: start + SignedDuration::from_mins(50),
                location: locations[next(3) as usize].clone(),
            }
        })
        .collect();
    let now: Timestamp = "2027-03-22T08:00:00Z"
        .parse()
        .expect("a valid fixture instant");
    (zone, hours, rules, away, busy, now)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use jiff::civil::{date, time};
    use proptest::prelude::*;

    use super::*;

    fn london() -> TimeZone {
        TimeZone::get("Europe/London").unwrap()
    }

    fn slug(s: &str) -> Slug {
        Slug::parse(s).unwrap()
    }

    fn at(rfc3339: &str) -> Timestamp {
        rfc3339.parse().unwrap()
    }

    fn range(location: &str, weekday: Weekday, start: (i8, i8), end: (i8, i8)) -> WeeklyRange {
        WeeklyRange::new(
            slug(location),
            weekday,
            time(start.0, start.1, 0, 0),
            time(end.0, end.1, 0, 0),
        )
        .unwrap()
    }

    /// Rules with no buffers, travel or notice, a 60-day horizon.
    fn plain_rules(minutes: u32, granularity: u32) -> SlotRules {
        SlotRules::new(minutes, 0, 0, 0, 0, 60, granularity).unwrap()
    }

    /// One test's input, owned, so a query can borrow it.
    struct Input {
        zone: TimeZone,
        hours: Vec<WeeklyRange>,
        rules: SlotRules,
        away: Vec<AwayPeriod>,
        busy: Vec<Busy>,
        location: Option<Slug>,
        from: Date,
        to: Date,
        now: Timestamp,
    }

    impl Input {
        fn new(hours: Vec<WeeklyRange>, rules: SlotRules, from: Date, to: Date) -> Self {
            Self {
                zone: london(),
                hours,
                rules,
                away: Vec::new(),
                busy: Vec::new(),
                location: None,
                from,
                to,
                now: at("2027-03-01T00:00:00Z"),
            }
        }

        fn query(&self) -> AvailabilityQuery<'_> {
            AvailabilityQuery {
                zone: &self.zone,
                hours: &self.hours,
                rules: &self.rules,
                away: &self.away,
                busy: &self.busy,
                location: self.location.as_ref(),
                from: self.from,
                to: self.to,
                now: self.now,
            }
        }

        fn slots(&self) -> Vec<Slot> {
            slots(&self.query())
        }

        /// Starts as RFC 3339 with the local offset, for readable assertions.
        fn starts(&self) -> Vec<String> {
            self.slots()
                .iter()
                .map(|s| local(&self.zone, s.start))
                .collect()
        }
    }

    fn local(zone: &TimeZone, instant: Timestamp) -> String {
        instant
            .display_with_offset(zone.to_offset(instant))
            .to_string()
    }

    fn busy(location: &str, start: &str, end: &str) -> Busy {
        Busy {
            start: at(start),
            end: at(end),
            location: slug(location),
        }
    }

    // ---- clock changes ----

    #[test]
    fn the_spring_gap_gives_no_slot_and_later_slots_keep_their_local_time() {
        // Sunday 28 March 2027: 01:00 GMT jumps to 02:00 BST.
        let input = Input::new(
            vec![range("balham", Weekday::Sunday, (0, 30), (3, 0))],
            plain_rules(30, 30),
            date(2027, 3, 28),
            date(2027, 3, 28),
        );
        assert_eq!(
            input.starts(),
            [
                "2027-03-28T00:30:00+00:00",
                "2027-03-28T02:00:00+01:00",
                "2027-03-28T02:30:00+01:00",
            ]
        );
        // The 00:30 slot is 30 real minutes: it ends as the clocks jump.
        assert_eq!(input.slots()[0].end, at("2027-03-28T02:00:00+01:00"));
    }

    #[test]
    fn a_monday_nine_oclock_stays_nine_oclock_local_across_the_spring_change() {
        let input = Input::new(
            vec![range("balham", Weekday::Monday, (9, 0), (10, 0))],
            plain_rules(50, 60),
            date(2027, 3, 22),
            date(2027, 3, 29),
        );
        assert_eq!(
            input.starts(),
            ["2027-03-22T09:00:00+00:00", "2027-03-29T09:00:00+01:00"]
        );
        assert_eq!(input.slots()[1].start, at("2027-03-29T08:00:00Z"));
    }

    #[test]
    fn the_autumn_fold_offers_a_repeated_time_once_at_its_first_occurrence() {
        // Sunday 31 October 2027: 02:00 BST falls back to 01:00 GMT, so 01:00–02:00 happens twice.
        let mut input = Input::new(
            vec![range("balham", Weekday::Sunday, (1, 0), (2, 0))],
            plain_rules(30, 30),
            date(2027, 10, 31),
            date(2027, 10, 31),
        );
        input.now = at("2027-10-30T00:00:00Z");
        assert_eq!(
            input.starts(),
            ["2027-10-31T01:00:00+01:00", "2027-10-31T01:30:00+01:00"]
        );
        let second_one_oclock = Slot {
            start: at("2027-10-31T01:00:00+00:00"),
            end: at("2027-10-31T01:30:00+00:00"),
            location: slug("balham"),
        };
        assert!(!is_available(&input.query(), &second_one_oclock));
    }

    #[test]
    fn hours_until_midnight_offer_the_last_slot_of_the_day() {
        let zone = TimeZone::get("Europe/London").unwrap();
        let place = Slug::parse("online").unwrap();
        let hours = [WeeklyRange::new(
            place.clone(),
            Weekday::Tuesday,
            Time::new(22, 0, 0, 0).unwrap(),
            Time::MAX,
        )
        .unwrap()];
        let rules = SlotRules::new(50, 0, 0, 0, 0, 30, 60).unwrap();
        let day = jiff::civil::date(2027, 3, 30);
        let q = AvailabilityQuery {
            zone: &zone,
            hours: &hours,
            rules: &rules,
            away: &[],
            busy: &[],
            location: None,
            from: day,
            to: day,
            now: "2027-03-25T09:00:00Z".parse().unwrap(),
        };
        let found = slots(&q);
        let starts: Vec<String> = found
            .iter()
            .map(|s| {
                s.start
                    .to_zoned_datetime(zone.clone())
                    .strftime("%H:%M")
                    .to_string()
            })
            .collect();
        assert_eq!(
            starts,
            ["22:00", "23:00"],
            "23:00–23:50 fits before midnight"
        );
        let rules = SlotRules::new(60, 0, 0, 0, 0, 30, 60).unwrap();
        let q = AvailabilityQuery { rules: &rules, ..q };
        assert_eq!(
            slots(&q).len(),
            2,
            "23:00–24:00 ends exactly at midnight and still fits"
        );
        assert!(slots(&q).iter().all(|s| is_available(&q, s)));
    }

    #[test]
    fn a_range_ending_in_the_spring_gap_ends_when_the_clocks_jump() {
        // Hours 00:00–01:30 on 28 March 2027: the wall clock passes 01:30 at 01:00 GMT.
        let mut input = Input::new(
            vec![range("balham", Weekday::Sunday, (0, 0), (1, 30))],
            plain_rules(30, 30),
            date(2027, 3, 28),
            date(2027, 3, 28),
        );
        assert_eq!(
            input.starts(),
            ["2027-03-28T00:00:00+00:00", "2027-03-28T00:30:00+00:00"]
        );
        // An hour from 00:30 would run to 02:30 BST, past the hours.
        input.rules = plain_rules(60, 30);
        assert_eq!(input.starts(), ["2027-03-28T00:00:00+00:00"]);
    }

    // ---- the window ----

    #[test]
    fn slots_inside_the_notice_period_are_not_offered() {
        let mut input = Input::new(
            vec![range("balham", Weekday::Monday, (9, 0), (12, 0))],
            SlotRules::new(50, 0, 0, 0, 120, 60, 30).unwrap(),
            date(2027, 3, 22),
            date(2027, 3, 22),
        );
        input.now = at("2027-03-22T08:00:00Z");
        assert_eq!(
            input.starts(),
            [
                "2027-03-22T10:00:00+00:00",
                "2027-03-22T10:30:00+00:00",
                "2027-03-22T11:00:00+00:00",
            ]
        );
    }

    #[test]
    fn slots_at_or_after_the_horizon_are_not_offered() {
        let mut input = Input::new(
            vec![range("balham", Weekday::Monday, (9, 0), (10, 0))],
            SlotRules::new(50, 0, 0, 0, 0, 7, 60).unwrap(),
            date(2027, 3, 22),
            date(2027, 4, 12),
        );
        input.now = at("2027-03-22T08:00:00Z");
        // 29 March 09:00 BST is 08:00Z: exactly seven 24-hour days from now, so out.
        assert_eq!(input.starts(), ["2027-03-22T09:00:00+00:00"]);
        input.rules = SlotRules::new(50, 0, 0, 0, 0, 8, 60).unwrap();
        assert_eq!(
            input.starts(),
            ["2027-03-22T09:00:00+00:00", "2027-03-29T09:00:00+01:00"]
        );
    }

    #[test]
    fn an_away_period_removes_the_slots_it_touches_and_no_others() {
        let mut input = Input::new(
            vec![range("balham", Weekday::Monday, (9, 0), (12, 0))],
            plain_rules(50, 60),
            date(2027, 3, 22),
            date(2027, 3, 22),
        );
        input.away = vec![AwayPeriod {
            start: at("2027-03-22T10:30:00Z"),
            end: at("2027-03-22T11:00:00Z"),
        }];
        // 09:00–09:50 ends before it; 11:00 starts as it ends (half-open).
        assert_eq!(
            input.starts(),
            ["2027-03-22T09:00:00+00:00", "2027-03-22T11:00:00+00:00"]
        );
    }

    // ---- existing appointments ----

    fn monday_morning(rules: SlotRules, busy_at: &str) -> Input {
        let mut input = Input::new(
            vec![range("balham", Weekday::Monday, (9, 0), (14, 0))],
            rules,
            date(2027, 3, 22),
            date(2027, 3, 22),
        );
        input.busy = vec![busy(
            busy_at,
            "2027-03-22T11:00:00Z",
            "2027-03-22T11:50:00Z",
        )];
        input
    }

    fn offered(input: &Input, hh_mm: &str) -> bool {
        let wanted = format!("2027-03-22T{hh_mm}:00+00:00");
        input.starts().contains(&wanted)
    }

    #[test]
    fn buffers_keep_time_free_around_an_appointment_in_the_same_room() {
        // Before 15, after 10: a slot must start by 10:00 (ending 10:50, then 10 free) or
        // from 12:10 (15 free after 11:50 ... 12:05 at the latest, on the 10-minute grid).
        let input = monday_morning(SlotRules::new(50, 15, 10, 30, 0, 60, 10).unwrap(), "balham");
        assert!(offered(&input, "10:00"));
        assert!(!offered(&input, "10:10"));
        assert!(!offered(&input, "11:00"));
        assert!(!offered(&input, "12:00"));
        assert!(offered(&input, "12:10"));
    }

    #[test]
    fn travel_time_applies_only_between_different_rooms() {
        // The appointment is at Chancery Lane; the slot at Balham needs 30 more minutes each side.
        let input = monday_morning(
            SlotRules::new(50, 15, 10, 30, 0, 60, 10).unwrap(),
            "chancery-lane",
        );
        assert!(offered(&input, "09:30"));
        assert!(!offered(&input, "09:40"));
        assert!(!offered(&input, "12:30"));
        assert!(offered(&input, "12:40"));
    }

    #[test]
    fn one_therapist_cannot_be_in_two_rooms_at_once() {
        let input = monday_morning(plain_rules(50, 10), "online");
        assert!(!offered(&input, "11:00"));
        assert!(!offered(&input, "10:20"));
        assert!(offered(&input, "10:10"));
        assert!(offered(&input, "11:50"));
    }

    // ---- locations and duplicates ----

    #[test]
    fn the_location_filter_keeps_only_that_location() {
        let mut input = Input::new(
            vec![
                range("balham", Weekday::Monday, (9, 0), (12, 0)),
                range("online", Weekday::Monday, (18, 0), (20, 0)),
            ],
            plain_rules(50, 60),
            date(2027, 3, 22),
            date(2027, 3, 22),
        );
        assert_eq!(input.slots().len(), 5);
        input.location = Some(slug("online"));
        assert_eq!(
            input.starts(),
            ["2027-03-22T18:00:00+00:00", "2027-03-22T19:00:00+00:00"]
        );
        assert!(
            input
                .slots()
                .iter()
                .all(|s| s.location.as_str() == "online")
        );
    }

    #[test]
    fn overlapping_ranges_give_each_slot_once_in_order() {
        let input = Input::new(
            vec![
                range("balham", Weekday::Monday, (10, 0), (12, 0)),
                range("balham", Weekday::Monday, (9, 0), (11, 0)),
                range("online", Weekday::Monday, (9, 0), (10, 0)),
            ],
            plain_rules(50, 60),
            date(2027, 3, 22),
            date(2027, 3, 22),
        );
        let got: Vec<(String, String)> = input
            .slots()
            .iter()
            .map(|s| (local(&input.zone, s.start), s.location.to_string()))
            .collect();
        let want = [
            ("2027-03-22T09:00:00+00:00", "balham"),
            ("2027-03-22T09:00:00+00:00", "online"),
            ("2027-03-22T10:00:00+00:00", "balham"),
            ("2027-03-22T11:00:00+00:00", "balham"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()));
        assert_eq!(got, want);
    }

    #[test]
    fn is_available_agrees_with_slots() {
        let mut input =
            monday_morning(SlotRules::new(50, 15, 10, 30, 0, 60, 10).unwrap(), "balham");
        input
            .hours
            .push(range("online", Weekday::Monday, (9, 0), (10, 0)));
        let offered = input.slots();
        assert!(!offered.is_empty());
        let query = input.query();
        for slot in &offered {
            assert!(is_available(&query, slot), "{slot:?}");
        }
        let first = offered[0].clone();
        let moved = |minutes: i64| Slot {
            start: first.start + SignedDuration::from_mins(minutes),
            end: first.end + SignedDuration::from_mins(minutes),
            ..first.clone()
        };
        assert!(!is_available(&query, &moved(5)), "off the 10-minute grid");
        assert!(!is_available(&query, &moved(-10)), "before the hours");
        assert!(is_available(&query, &moved(60)), "10:00 is free");
        assert!(
            !is_available(&query, &moved(120)),
            "against the appointment"
        );
        let longer = Slot {
            end: first.end + SignedDuration::from_mins(10),
            ..first.clone()
        };
        assert!(!is_available(&query, &longer), "wrong length");
        let elsewhere = Slot {
            location: slug("chancery-lane"),
            ..first.clone()
        };
        assert!(!is_available(&query, &elsewhere), "no hours there");
        let mut next_week = input.query();
        next_week.from = date(2027, 3, 29);
        next_week.to = date(2027, 4, 4);
        assert!(
            !is_available(&next_week, &first),
            "outside the dates asked for"
        );
    }

    // ---- parsing ----

    #[test]
    fn a_range_must_end_after_it_starts() {
        let refused = WeeklyRange::new(
            slug("balham"),
            Weekday::Monday,
            time(10, 0, 0, 0),
            time(10, 0, 0, 0),
        );
        assert_eq!(
            refused.unwrap_err().0,
            "The end time must be after the start time"
        );
    }

    #[test]
    fn slot_rules_refuse_values_out_of_range_with_a_next_step() {
        let message = |r: Result<SlotRules, TextError>| r.unwrap_err().0;
        assert_eq!(
            message(SlotRules::new(5, 0, 0, 0, 0, 60, 15)),
            "Choose a length between 10 and 240 minutes"
        );
        assert_eq!(
            message(SlotRules::new(50, 0, 0, 0, 0, 60, 0)),
            "Choose a start-time step between 5 and 120 minutes"
        );
        assert_eq!(
            message(SlotRules::new(50, 241, 0, 0, 0, 60, 15)),
            "Choose a buffer before of 240 minutes or fewer"
        );
        assert_eq!(
            message(SlotRules::new(50, 0, 0, 300, 0, 60, 15)),
            "Choose a travel time of 240 minutes or fewer"
        );
        assert_eq!(
            message(SlotRules::new(50, 0, 0, 0, 0, 0, 15)),
            "Choose a booking horizon between 1 and 366 days"
        );
        assert_eq!(
            message(SlotRules::new(50, 0, 0, 0, 1440, 1, 15)),
            "Make the minimum notice shorter than the booking horizon"
        );
        assert!(SlotRules::new(240, 240, 240, 240, 1439, 1, 120).is_ok());
    }

    #[test]
    fn the_bench_fixture_is_the_input_the_issue_describes() {
        let (zone, hours, rules, away, busy, now) = bench_fixture();
        assert_eq!((hours.len(), away.len(), busy.len()), (20, 5, 500));
        let locations: BTreeSet<&str> = hours.iter().map(|r| r.location().as_str()).collect();
        assert_eq!(
            locations.into_iter().collect::<Vec<_>>(),
            ["balham", "chancery-lane", "online"]
        );
        let query = AvailabilityQuery {
            zone: &zone,
            hours: &hours,
            rules: &rules,
            away: &away,
            busy: &busy,
            location: None,
            from: date(2027, 3, 22),
            to: date(2027, 6, 19),
            now,
        };
        let offered = slots(&query);
        assert!(offered.len() > 500, "{} slots", offered.len());
        assert_eq!(offered, reference_slots(&query));
    }

    // ---- properties ----

    /// The straightforward O(candidates × busy) reading of the rules, to check the fast path.
    fn reference_slots(q: &AvailabilityQuery<'_>) -> Vec<Slot> {
        let mut out = BTreeSet::new();
        let length = q.rules.length();
        let minutes = |m: u32| SignedDuration::from_mins(i64::from(m));
        let earliest = q.now + minutes(q.rules.notice_minutes());
        let latest = q.now + SignedDuration::from_hours(24 * i64::from(q.rules.horizon_days()));
        let mut day = q.from;
        while day <= q.to {
            for r in q.hours {
                if r.weekday() != day.weekday() || q.location.is_some_and(|l| l != r.location()) {
                    continue;
                }
                let Some(range_end) =
                    reference_range_end(q.zone, super::range_end_local(day, r.end()))
                else {
                    continue;
                };
                let mut local = day.to_datetime(r.start());
                while local + length <= super::range_end_local(day, r.end()) {
                    let ambiguous = q.zone.to_ambiguous_timestamp(local);
                    let start = match ambiguous.offset() {
                        AmbiguousOffset::Gap { .. } => None,
                        _ => Some(ambiguous.earlier().unwrap()),
                    };
                    if let Some(start) = start {
                        let end = start + length;
                        let away = q.away.iter().any(|a| a.start.max(start) < a.end.min(end));
                        let blocked = q.busy.iter().any(|b| {
                            let travel = if &b.location == r.location() {
                                minutes(0)
                            } else {
                                minutes(q.rules.travel_minutes())
                            };
                            start - (minutes(q.rules.buffer_before()) + travel) < b.end
                                && b.start < end + (minutes(q.rules.buffer_after()) + travel)
                        });
                        if end <= range_end
                            && start >= earliest
                            && start < latest
                            && !away
                            && !blocked
                        {
                            out.insert(Slot {
                                start,
                                end,
                                location: r.location().clone(),
                            });
                        }
                    }
                    local += minutes(q.rules.granularity_minutes());
                }
            }
            day = day.tomorrow().unwrap();
        }
        out.into_iter().collect()
    }

    /// A range's end instant: the first occurrence in a fold, the jump itself in a gap.
    fn reference_range_end(zone: &TimeZone, end: DateTime) -> Option<Timestamp> {
        let ambiguous = zone.to_ambiguous_timestamp(end);
        match ambiguous.offset() {
            AmbiguousOffset::Gap { .. } => {
                let jump = zone.following(ambiguous.earlier().ok()?).next()?;
                Some(jump.timestamp())
            }
            _ => ambiguous.earlier().ok(),
        }
    }

    const LOCATIONS: [&str; 3] = ["balham", "chancery-lane", "online"];

    fn arb_range() -> impl Strategy<Value = WeeklyRange> {
        // Start anywhere in the day on a 5-minute grid (the small hours included, for the
        // clock changes), up to ten hours long, ending by 23:55.
        (0..3usize, 0..7i8, 0..287i32, 1..=120i32).prop_map(|(at, weekday, start, length)| {
            let end = (start + length).min(287);
            let end = if end == start { start + 1 } else { end };
            let hm = |five: i32| time((five / 12) as i8, (five % 12 * 5) as i8, 0, 0);
            WeeklyRange::new(
                slug(LOCATIONS[at]),
                Weekday::from_monday_zero_offset(weekday).unwrap(),
                hm(start),
                hm(end),
            )
            .unwrap()
        })
    }

    fn arb_rules() -> impl Strategy<Value = SlotRules> {
        (
            10..=120u32,
            0..=30u32,
            0..=30u32,
            0..=60u32,
            0..=3000u32,
            1..=40u32,
            5..=60u32,
        )
            .prop_filter_map("notice within horizon", |(m, bb, ba, t, n, h, g)| {
                SlotRules::new(m, bb, ba, t, n, h, g).ok()
            })
    }

    /// Seconds since the Unix epoch: mostly around the two 2027 changes, otherwise March–November.
    fn arb_now() -> impl Strategy<Value = Timestamp> {
        let spring = at("2027-03-28T01:00:00Z").as_second();
        let autumn = at("2027-10-31T01:00:00Z").as_second();
        let (first, last) = (
            at("2027-03-01T00:00:00Z").as_second(),
            at("2027-11-30T00:00:00Z").as_second(),
        );
        let week = 7 * 86_400;
        prop_oneof![
            (spring - week)..(spring + 86_400),
            (autumn - week)..(autumn + 86_400),
            first..last,
        ]
        .prop_map(|s| Timestamp::from_second(s).unwrap())
    }

    #[derive(Debug)]
    struct Case {
        hours: Vec<WeeklyRange>,
        rules: SlotRules,
        now: Timestamp,
        busy: Vec<(i64, i64, usize)>,
        away: Vec<(i64, i64)>,
        location: Option<usize>,
        from_offset: i64,
        days: i64,
    }

    fn arb_case() -> impl Strategy<Value = Case> {
        (
            prop::collection::vec(arb_range(), 1..10),
            arb_rules(),
            arb_now(),
            // Minutes from now, lengths in minutes (a few zero or reversed ones too).
            prop::collection::vec((-3000i64..30_000, -10i64..240, 0..3usize), 0..40),
            prop::collection::vec((-3000i64..30_000, 0i64..4000), 0..4),
            prop::option::of(0..3usize),
            -3i64..3,
            0i64..20,
        )
            .prop_map(
                |(hours, rules, now, busy, away, location, from_offset, days)| Case {
                    hours,
                    rules,
                    now,
                    busy,
                    away,
                    location,
                    from_offset,
                    days,
                },
            )
    }

    impl Case {
        fn input(&self) -> Input {
            let zone = london();
            let from = zone.to_datetime(self.now).date()
                + SignedDuration::from_hours(24 * self.from_offset);
            let after = |minutes: i64| self.now + SignedDuration::from_mins(minutes);
            Input {
                hours: self.hours.clone(),
                rules: self.rules,
                away: self
                    .away
                    .iter()
                    .map(|&(start, length)| AwayPeriod {
                        start: after(start),
                        end: after(start + length),
                    })
                    .collect(),
                busy: self
                    .busy
                    .iter()
                    .map(|&(start, length, at)| Busy {
                        start: after(start),
                        end: after(start + length),
                        location: slug(LOCATIONS[at]),
                    })
                    .collect(),
                location: self.location.map(|at| slug(LOCATIONS[at])),
                from,
                to: from + SignedDuration::from_hours(24 * self.days),
                now: self.now,
                zone,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn slots_equal_the_reference_implementation(case in arb_case()) {
            let input = case.input();
            prop_assert_eq!(input.slots(), reference_slots(&input.query()));
        }

        #[test]
        fn no_slot_conflicts_with_an_appointment_widened_by_buffers_and_travel(case in arb_case()) {
            let input = case.input();
            let r = &input.rules;
            let mins = |m: u32| SignedDuration::from_mins(i64::from(m));
            for slot in input.slots() {
                for b in &input.busy {
                    let travel = if b.location == slot.location { 0 } else { r.travel_minutes() };
                    let widened_start = b.start - mins(r.buffer_after() + travel);
                    let widened_end = b.end + mins(r.buffer_before() + travel);
                    prop_assert!(
                        !(slot.start < widened_end && widened_start < slot.end),
                        "{:?} conflicts with {:?}", slot, b
                    );
                }
            }
        }

        #[test]
        fn no_slot_overlaps_an_away_period(case in arb_case()) {
            let input = case.input();
            for slot in input.slots() {
                for a in &input.away {
                    prop_assert!(
                        !(a.start < slot.end && slot.start < a.end && a.start < a.end),
                        "{:?} overlaps {:?}", slot, a
                    );
                }
            }
        }

        #[test]
        fn every_slot_is_inside_the_notice_and_horizon_window(case in arb_case()) {
            let input = case.input();
            let earliest = input.now + SignedDuration::from_mins(i64::from(input.rules.notice_minutes()));
            let latest = input.now + SignedDuration::from_hours(24 * i64::from(input.rules.horizon_days()));
            for slot in input.slots() {
                prop_assert!(slot.start >= earliest, "{:?} before {}", slot, earliest);
                prop_assert!(slot.start < latest, "{:?} at or after {}", slot, latest);
            }
        }

        #[test]
        fn every_slot_lies_inside_a_weekly_range_of_its_location(case in arb_case()) {
            let input = case.input();
            for slot in input.slots() {
                prop_assert_eq!(slot.end, slot.start + input.rules.length());
                let start = input.zone.to_datetime(slot.start);
                prop_assert!(start.date() >= input.from && start.date() <= input.to);
                if let Some(only) = &input.location {
                    prop_assert_eq!(&slot.location, only);
                }
                let inside = input.hours.iter().any(|r| {
                    let range_end = reference_range_end(&input.zone, super::range_end_local(start.date(), r.end()));
                    r.location() == &slot.location
                        && r.weekday() == start.date().weekday()
                        && r.start() <= start.time()
                        && start + input.rules.length() <= super::range_end_local(start.date(), r.end())
                        && range_end.is_some_and(|e| slot.end <= e)
                });
                prop_assert!(inside, "{:?} (local {}) is outside the hours", slot, start);
            }
        }

        #[test]
        fn output_is_strictly_increasing_by_start_then_location(case in arb_case()) {
            let offered = case.input().slots();
            for pair in offered.windows(2) {
                prop_assert!(
                    (pair[0].start, &pair[0].location) < (pair[1].start, &pair[1].location),
                    "{:?} then {:?}", pair[0], pair[1]
                );
            }
        }

        #[test]
        fn the_conflict_window_holds_every_appointment_that_matters(case in arb_case()) {
            let input = case.input();
            let query = input.query();
            for slot in input.slots() {
                let shifts = [-70i64, -10, 0, 10, 70].map(SignedDuration::from_mins);
                for probe in shifts.iter().map(|&d| Slot { start: slot.start + d, end: slot.end + d, location: slot.location.clone() }) {
                    let (from, to) = input.rules.conflict_window(probe.start, probe.end);
                    let near: Vec<Busy> = input.busy.iter().filter(|b| b.start < to && b.end > from).cloned().collect();
                    let narrowed = AvailabilityQuery { busy: &near, ..query };
                    prop_assert_eq!(is_available(&narrowed, &probe), is_available(&query, &probe), "{:?}", probe);
                }
            }
        }

        #[test]
        fn is_available_says_yes_to_exactly_the_slots_offered(case in arb_case()) {
            let input = case.input();
            let query = input.query();
            let offered = input.slots();
            let set: BTreeSet<&Slot> = offered.iter().collect();
            for slot in &offered {
                prop_assert!(is_available(&query, slot), "{:?}", slot);
                // Nearby slots that may or may not be offered: the answers must agree.
                let shifts = [-60i64, -5, 5, 60].map(SignedDuration::from_mins);
                let mut probes: Vec<Slot> = shifts
                    .iter()
                    .map(|&d| Slot { start: slot.start + d, end: slot.end + d, location: slot.location.clone() })
                    .collect();
                probes.extend(LOCATIONS.iter().map(|l| Slot { location: slug(l), ..slot.clone() }));
                for probe in &probes {
                    prop_assert_eq!(is_available(&query, probe), set.contains(probe), "{:?}", probe);
                }
            }
        }
    }
}
