//! The availability engine (`domain::availability`) with arbitrary weekly hours, rules,
//! breaks, appointments, zones (clock changes of an hour, half an hour, a skipped day) and
//! dates.
//!
//! Properties: every slot is sorted after the one before (so also distinct); lasts the
//! type's length; starts on a date asked about, on a step of its weekly range's start
//! (wall-clock) on that range's weekday at that location, at the first occurrence of that
//! local time, and ends by the range's end; respects notice and horizon; overlaps no break
//! and no appointment widened by the buffers (plus travel between rooms); and
//! `is_available` agrees with `slots` for every slot and for every candidate start.

use domain::{
    Slug,
    availability::{
        AvailabilityQuery, AwayPeriod, Busy, Slot, SlotRules, WeeklyRange, is_available, slots,
    },
};
use jiff::{
    SignedDuration, Timestamp, ToSpan,
    civil::{Date, Time, date},
    tz::TimeZone,
};

use crate::Input;

const ZONES: [&str; 10] = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "Pacific/Apia",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Africa/Casablanca",
];
/// Most candidate starts checked against `is_available` per input (it is not cheap).
const MAX_CANDIDATES: usize = 400;

fn minutes(n: u32) -> SignedDuration {
    SignedDuration::from_mins(i64::from(n))
}

fn time_of(minute_of_day: u32) -> Time {
    if minute_of_day >= 1440 {
        return Time::MAX;
    }
    let (h, m) = (minute_of_day / 60, minute_of_day % 60);
    Time::new(h as i8, m as i8, 0, 0).unwrap_or(Time::MIN)
}

fn slug(i: u8) -> Slug {
    Slug::parse(["balham", "chancery-lane", "online"][usize::from(i % 3)]).expect("a slug")
}

/// The instant a range ending at wall-clock `end` on `day` ends at the latest (the engine
/// may end it earlier in a fold or a gap, never later).
fn latest_end(zone: &TimeZone, day: Date, end: Time) -> Option<Timestamp> {
    let local = if end == Time::MAX {
        day.tomorrow().ok()?.to_datetime(Time::MIN)
    } else {
        day.to_datetime(end)
    };
    zone.to_ambiguous_timestamp(local).later().ok()
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let zone = TimeZone::get(ZONES[input.below(ZONES.len() as u32) as usize]).expect("bundled");
    let horizon = 1 + input.below(366);
    let Ok(rules) = SlotRules::new(
        10 + input.below(231),
        input.below(241),
        input.below(241),
        input.below(241),
        input.below(horizon * 1440),
        horizon,
        5 + input.below(116),
    ) else {
        return;
    };
    let hours: Vec<WeeklyRange> = (0..input.below(8))
        .filter_map(|_| {
            let location = slug(input.byte());
            let weekday = jiff::civil::Weekday::from_monday_zero_offset((input.below(7)) as i8)
                .expect("a weekday");
            let start = time_of(input.below(1440));
            let end = time_of(input.below(1441));
            WeeklyRange::new(location, weekday, start, end).ok()
        })
        .collect();
    let base = zone
        .to_timestamp(date(2026, 1, 1).at(0, 0, 0, 0))
        .expect("a date");
    let now = base
        .checked_add(SignedDuration::from_secs(i64::from(
            input.below(4 * 366 * 86_400),
        )))
        .and_then(|t| {
            t.checked_add(SignedDuration::from_nanos(i64::from(
                input.u32() % 1_000_000_000,
            )))
        })
        .expect("in range");
    let today = zone.to_datetime(now).date();
    let from = today
        .checked_add((i64::from(input.below(15)) - 3).days())
        .unwrap_or(today);
    let to = from
        .checked_add(i64::from(input.below(40)).days())
        .unwrap_or(from);
    let offset = |input: &mut Input<'_>| {
        now.checked_add(SignedDuration::from_mins(
            i64::from(input.below(50 * 1440)) - 2 * 1440,
        ))
        .unwrap_or(now)
    };
    let away: Vec<AwayPeriod> = (0..input.below(4))
        .map(|_| {
            let start = offset(&mut input);
            let end = start
                .checked_add(SignedDuration::from_mins(
                    i64::from(input.below(4 * 1440)) - 60,
                ))
                .unwrap_or(start);
            AwayPeriod { start, end }
        })
        .collect();
    let busy: Vec<Busy> = (0..input.below(12))
        .map(|_| {
            let start = offset(&mut input)
                .checked_add(SignedDuration::from_secs(i64::from(input.below(60))))
                .unwrap_or(now);
            let end = start
                .checked_add(minutes(input.below(300)))
                .unwrap_or(start);
            Busy {
                start,
                end,
                location: slug(input.byte()),
            }
        })
        .collect();
    let only = input.bool().then(|| slug(input.byte()));
    let query = AvailabilityQuery {
        zone: &zone,
        hours: &hours,
        rules: &rules,
        away: &away,
        busy: &busy,
        location: only.as_ref(),
        from,
        to,
        now,
    };
    let found = slots(&query);

    for pair in found.windows(2) {
        assert!(pair[0] < pair[1], "not sorted or repeated: {pair:?}");
    }
    let earliest = now
        .checked_add(minutes(rules.notice_minutes()))
        .expect("in range");
    let latest = now
        .checked_add(SignedDuration::from_hours(
            24 * i64::from(rules.horizon_days()),
        ))
        .expect("in range");
    for slot in &found {
        let wrong = |what: &str| panic!("{what}: {slot:?}\n{query:?}");
        if slot.end != slot.start.checked_add(rules.length()).expect("in range") {
            wrong("the wrong length");
        }
        if only.as_ref().is_some_and(|l| l != &slot.location) {
            wrong("at a location not asked about");
        }
        let local = zone.to_datetime(slot.start);
        if local.date() < from || local.date() > to {
            wrong("on a date not asked about");
        }
        if zone.to_ambiguous_timestamp(local).earlier().ok() != Some(slot.start) {
            wrong("the second occurrence of a local time");
        }
        if slot.start < earliest || slot.start >= latest {
            wrong("inside the notice or past the horizon");
        }
        let step = i64::from(rules.granularity_minutes()) * 60_000_000_000;
        let in_hours = hours.iter().any(|range| {
            let from_start =
                i64::try_from(range.start().duration_until(local.time()).as_nanos()).unwrap_or(-1);
            range.location() == &slot.location
                && range.weekday() == local.date().weekday()
                && from_start >= 0
                && from_start % step == 0
                && latest_end(&zone, local.date(), range.end()).is_some_and(|end| slot.end <= end)
        });
        if !in_hours {
            wrong("outside the weekly hours");
        }
        // A period whose end is not after its start blocks nothing.
        for period in away.iter().filter(|p| p.start < p.end) {
            if slot.start < period.end && period.start < slot.end {
                wrong("during a break");
            }
        }
        for appointment in &busy {
            let travel = if appointment.location == slot.location {
                0
            } else {
                rules.travel_minutes()
            };
            let before = minutes(rules.buffer_before() + travel);
            let after = minutes(rules.buffer_after() + travel);
            if slot.start.checked_sub(before).expect("in range") < appointment.end
                && appointment.start < slot.end.checked_add(after).expect("in range")
            {
                wrong("too close to an appointment");
            }
        }
        if !is_available(&query, slot) {
            wrong("offered, but is_available says no");
        }
    }

    // Every candidate start (a step of a range, at its first occurrence) is offered exactly
    // when `is_available` says it is free.
    let mut checked = 0;
    let mut day = from;
    while day <= to && checked < MAX_CANDIDATES {
        for range in &hours {
            if range.weekday() != day.weekday()
                || only.as_ref().is_some_and(|l| l != range.location())
            {
                continue;
            }
            let mut at = day.to_datetime(range.start());
            while at.date() == day && checked < MAX_CANDIDATES {
                checked += 1;
                if let Ok(start) = zone.to_ambiguous_timestamp(at).earlier()
                    && let Ok(end) = start.checked_add(rules.length())
                {
                    let slot = Slot {
                        start,
                        end,
                        location: range.location().clone(),
                    };
                    assert_eq!(
                        is_available(&query, &slot),
                        found.binary_search(&slot).is_ok(),
                        "is_available and slots disagree about {slot:?}\n{query:?}"
                    );
                }
                let Ok(next) = at.checked_add(minutes(rules.granularity_minutes())) else {
                    break;
                };
                at = next;
            }
        }
        let Ok(next) = day.tomorrow() else { break };
        day = next;
    }
}
