//! The sessions a contract's terms produce, in the practice's local wall-clock time.
//!
//! Pure: nothing here reads the clock, the database or the system time zone. The caller passes
//! the zone, the breaks, the sessions already stored and `from` (usually now), and stores what
//! comes back. Planning "this and following" with `from` = now can never produce a session in the
//! past, so it can never rewrite one.
//!
//! Clock changes: a regular time stays at the same local time across a change (Monday 09:00 is
//! 09:00 in both GMT and BST, so its UTC instant moves by an hour). A local time that does not
//! exist (the spring gap) moves forward by the length of the gap; one that happens twice (the
//! autumn fold) is the first occurrence. This is jiff's "compatible" disambiguation, the one
//! RFC 5545 prescribes for recurring events.

use std::collections::BTreeSet;

use jiff::{
    SignedDuration, Span, Timestamp,
    civil::{Date, Weekday},
    tz::TimeZone,
};

use super::{ContractKind, ContractTerms, Frequency};
use crate::availability::AwayPeriod;

/// How many years of dates brief work is planned over at most, so that a break covering
/// everything cannot make planning run forever.
const BRIEF_SAFETY_YEARS: i64 = 5;

/// A session already stored that planning must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// The regular occurrence it stands for: its original start, even if it was moved since.
    pub occurrence: Timestamp,
    /// Whether it counts towards the contract's numbering: true for scheduled, attended, late
    /// cancellation and did-not-attend; false for cancelled in time, cancelled by the therapist,
    /// break.
    pub counts: bool,
}

/// One session planned from the terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Start (also the occurrence it stands for).
    pub start: Timestamp,
    /// End: the start plus the contract's minutes of elapsed time.
    pub end: Timestamp,
    /// It falls in a break: it will not happen, is not charged and does not count.
    pub in_break: bool,
}

/// The sessions `terms` produce that start at or after `from`, in order of start, without
/// duplicates.
///
/// - **Occurrences** are the regular local times (`terms.times`) on local dates on or after
///   `terms.start`: every week for weekly and twice-weekly work (each time every week), every 14
///   days for fortnightly work, counted from the first occurrence on or after `terms.start`. That
///   anchor never moves: not for breaks, not for `from`.
/// - **Stored sessions**: an occurrence equal to some `kept[i].occurrence` is not returned (it is
///   already stored). Every kept session with `counts` counts towards the number of sessions,
///   wherever it lies; occurrences before `from` that were never stored do not.
/// - **Breaks**: a session whose `[start, end)` overlaps a break's `[start, end)` is returned
///   with `in_break: true` and does not count. A break whose end is not after its start blocks
///   nothing.
/// - **Brief work** stops as soon as the kept counting sessions plus the returned counting ones
///   reach `sessions` (nothing is returned if the kept ones already do), so no break session
///   follows the last counting one. `until` is ignored; planning gives up after five years of
///   dates past the later of `terms.start` and `from`'s local date.
/// - **Open-ended work** returns occurrences on local dates up to and including `until`.
pub fn plan(
    terms: &ContractTerms,
    zone: &TimeZone,
    breaks: &[AwayPeriod],
    kept: &[Kept],
    from: Timestamp,
    until: Date,
) -> Vec<Planned> {
    let from_date = zone.to_datetime(from).date();
    let (last_date, target) = match &terms.kind {
        ContractKind::Brief { sessions, .. } => (
            safety_stop(terms.start.max(from_date)),
            Some(usize::try_from(*sessions).unwrap_or(usize::MAX)),
        ),
        ContractKind::OpenEnded { .. } => (until, None),
    };
    let mut counted = kept.iter().filter(|k| k.counts).count();
    if target.is_some_and(|target| counted >= target) {
        return Vec::new();
    }
    let stored: BTreeSet<Timestamp> = kept.iter().map(|k| k.occurrence).collect();
    let length = SignedDuration::from_mins(i64::from(terms.minutes));
    // A session's instant is within hours of its local date, so two days' margin before
    // `from`'s date finds every occurrence that could start at or after `from`.
    let first_date = add_days(from_date, -2).unwrap_or(from_date);

    let mut planned = Vec::new();
    for start in occurrences(terms, zone, first_date, last_date) {
        if start < from || stored.contains(&start) {
            continue;
        }
        let Ok(end) = start.checked_add(length) else {
            break;
        };
        let in_break = breaks
            .iter()
            .any(|b| b.start < b.end && b.start < end && start < b.end);
        planned.push(Planned {
            start,
            end,
            in_break,
        });
        if !in_break {
            counted += 1;
            if target.is_some_and(|target| counted >= target) {
                break;
            }
        }
    }
    if target.is_some() {
        // Only reached when the safety stop cut planning short: a brief contract never ends on
        // a session that will not happen.
        while planned.last().is_some_and(|p| p.in_break) {
            planned.pop();
        }
    }
    planned
}

/// Number the counting sessions 1, 2, 3… in order of start; the others get `None`.
///
/// Input: `(start, counts)` in any order; output in the same order as the input. Sessions that
/// start at the same instant keep their input order.
pub fn numbers(sessions: &[(Timestamp, bool)]) -> Vec<Option<u32>> {
    let mut order: Vec<usize> = (0..sessions.len()).collect();
    order.sort_by_key(|&i| sessions[i].0);
    let mut numbered = vec![None; sessions.len()];
    let mut next = 0u32;
    for i in order {
        if sessions[i].1 {
            next = next.saturating_add(1);
            numbered[i] = Some(next);
        }
    }
    numbered
}

/// Open-ended work's review dates in `[from, to]`: every `review_every_weeks` weeks after
/// `terms.start` (the start itself is not a review). Empty for brief work, whose reviews are at
/// session numbers (see [`review_at_session`]).
pub fn review_dates(terms: &ContractTerms, from: Date, to: Date) -> Vec<Date> {
    let ContractKind::OpenEnded { review_every_weeks } = terms.kind else {
        return Vec::new();
    };
    let period = 7 * i64::from(review_every_weeks.max(1));
    // The first multiple of the period, at least one, that lands on or after `from`.
    let behind = days_between(terms.start, from);
    let mut k = if behind <= period {
        1
    } else {
        (behind + period - 1) / period
    };
    let mut dates = Vec::new();
    while let Some(date) = add_days(terms.start, k * period) {
        if date > to {
            break;
        }
        if date >= from {
            dates.push(date);
        }
        k += 1;
    }
    dates
}

/// Whether brief work reviews at session `number` (counting sessions numbered from 1, as
/// [`numbers`] does). Always false for open-ended work (see [`review_dates`]).
pub fn review_at_session(terms: &ContractTerms, number: u32) -> bool {
    match &terms.kind {
        ContractKind::Brief { reviews_at, .. } => reviews_at.contains(&number),
        ContractKind::OpenEnded { .. } => false,
    }
}

/// Every occurrence of the regular times on local dates in `[first, last]` (and on or after
/// `terms.start`), as instants, sorted and without duplicates.
fn occurrences(terms: &ContractTerms, zone: &TimeZone, first: Date, last: Date) -> Vec<Timestamp> {
    let step = match terms.frequency {
        Frequency::Fortnightly => 14,
        Frequency::Weekly | Frequency::TwiceWeekly => 7,
    };
    let mut found = Vec::new();
    for regular in &terms.times {
        let Some(anchor) = on_or_after(terms.start, regular.weekday) else {
            continue;
        };
        // Skip whole steps from the anchor to the first date wanted.
        let behind = days_between(anchor, first);
        let skip = if behind > 0 {
            (behind + step - 1) / step
        } else {
            0
        };
        let mut date = add_days(anchor, skip * step);
        while let Some(day) = date.filter(|day| *day <= last) {
            let local = day.to_datetime(regular.time);
            if let Ok(start) = zone.to_ambiguous_timestamp(local).compatible() {
                found.push(start);
            }
            date = add_days(day, step);
        }
    }
    // Local order is not always instant order: a time in the spring gap moves forward past
    // later wall-clock times.
    found.sort_unstable();
    found.dedup();
    found
}

/// The first date on or after `date` that falls on `weekday`.
fn on_or_after(date: Date, weekday: Weekday) -> Option<Date> {
    let ahead =
        (weekday.to_monday_zero_offset() - date.weekday().to_monday_zero_offset()).rem_euclid(7);
    add_days(date, i64::from(ahead))
}

/// `date` moved by `days` calendar days; `None` outside jiff's range.
fn add_days(date: Date, days: i64) -> Option<Date> {
    date.checked_add(SignedDuration::from_hours(days.checked_mul(24)?))
        .ok()
}

/// Calendar days from `from` to `to` (negative when `to` is earlier).
fn days_between(from: Date, to: Date) -> i64 {
    to.duration_since(from).as_hours() / 24
}

/// The last local date brief work is planned over.
fn safety_stop(from: Date) -> Date {
    from.checked_add(Span::new().years(BRIEF_SAFETY_YEARS))
        .unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use jiff::civil::{Time, date, time};
    use proptest::prelude::*;

    use super::*;
    use crate::{
        Pence, Slug,
        therapy::{ContractKind, ContractTerms, WeeklyTime},
    };

    fn london() -> TimeZone {
        TimeZone::get("Europe/London").unwrap()
    }

    fn at(rfc3339: &str) -> Timestamp {
        rfc3339.parse().unwrap()
    }

    fn weekly(weekday: Weekday, hour: i8, minute: i8) -> WeeklyTime {
        WeeklyTime {
            weekday,
            time: time(hour, minute, 0, 0),
        }
    }

    fn terms(
        kind: ContractKind,
        frequency: Frequency,
        times: Vec<WeeklyTime>,
        start: Date,
    ) -> ContractTerms {
        ContractTerms {
            kind,
            frequency,
            times,
            location: Slug::parse("balham").unwrap(),
            minutes: 50,
            fee: Pence::new(7500),
            start,
            policy_version: 1,
        }
    }

    fn open_ended() -> ContractKind {
        ContractKind::OpenEnded {
            review_every_weeks: 6,
        }
    }

    fn brief(sessions: u32) -> ContractKind {
        ContractKind::Brief {
            focus: "Sleep and worry".into(),
            sessions,
            reviews_at: vec![6, 12],
        }
    }

    /// Monday 09:00 weekly from Monday 1 March 2027.
    fn monday_weekly(kind: ContractKind) -> ContractTerms {
        terms(
            kind,
            Frequency::Weekly,
            vec![weekly(Weekday::Monday, 9, 0)],
            date(2027, 3, 1),
        )
    }

    fn starts(planned: &[Planned]) -> Vec<String> {
        planned.iter().map(|p| p.start.to_string()).collect()
    }

    fn local_dates(planned: &[Planned]) -> Vec<Date> {
        planned
            .iter()
            .map(|p| london().to_datetime(p.start).date())
            .collect()
    }

    /// The first instant of a local date in London.
    fn midnight(day: Date) -> Timestamp {
        london()
            .to_ambiguous_timestamp(day.to_datetime(Time::midnight()))
            .compatible()
            .unwrap()
    }

    fn away(from: Date, to: Date) -> AwayPeriod {
        AwayPeriod {
            start: midnight(from),
            end: midnight(to),
        }
    }

    #[test]
    fn weekly_stays_at_nine_local_across_the_spring_change() {
        let planned = plan(
            &monday_weekly(open_ended()),
            &london(),
            &[],
            &[],
            midnight(date(2027, 3, 1)),
            date(2027, 4, 12),
        );
        assert_eq!(
            starts(&planned),
            [
                "2027-03-01T09:00:00Z",
                "2027-03-08T09:00:00Z",
                "2027-03-15T09:00:00Z",
                "2027-03-22T09:00:00Z",
                // British Summer Time from 28 March: 09:00 local is 08:00 UTC.
                "2027-03-29T08:00:00Z",
                "2027-04-05T08:00:00Z",
                "2027-04-12T08:00:00Z",
            ]
        );
        for p in &planned {
            assert_eq!(london().to_datetime(p.start).time(), time(9, 0, 0, 0));
            assert_eq!(p.end, p.start + SignedDuration::from_mins(50));
            assert!(!p.in_break);
        }
    }

    #[test]
    fn weekly_stays_at_nine_local_across_the_autumn_change() {
        let mut contract = monday_weekly(open_ended());
        contract.start = date(2027, 10, 18);
        let planned = plan(
            &contract,
            &london(),
            &[],
            &[],
            midnight(date(2027, 10, 1)),
            date(2027, 11, 8),
        );
        assert_eq!(
            starts(&planned),
            [
                "2027-10-18T08:00:00Z",
                "2027-10-25T08:00:00Z",
                // Back to GMT from 31 October.
                "2027-11-01T09:00:00Z",
                "2027-11-08T09:00:00Z",
            ]
        );
    }

    #[test]
    fn gap_times_move_forward_and_fold_times_take_the_first_occurrence() {
        let sunday = |start| {
            terms(
                open_ended(),
                Frequency::Weekly,
                vec![weekly(Weekday::Sunday, 1, 30)],
                start,
            )
        };
        let spring = plan(
            &sunday(date(2027, 3, 28)),
            &london(),
            &[],
            &[],
            midnight(date(2027, 3, 28)),
            date(2027, 3, 28),
        );
        // 01:30 does not exist on 28 March 2027: the session is at 02:30 BST.
        assert_eq!(starts(&spring), ["2027-03-28T01:30:00Z"]);
        let autumn = plan(
            &sunday(date(2027, 10, 31)),
            &london(),
            &[],
            &[],
            midnight(date(2027, 10, 31)),
            date(2027, 10, 31),
        );
        // 01:30 happens twice on 31 October 2027: the first is 01:30 BST.
        assert_eq!(starts(&autumn), ["2027-10-31T00:30:00Z"]);
    }

    #[test]
    fn fortnightly_counts_from_the_first_session_whatever_from_is() {
        // Starts on a Monday; the first Wednesday is 3 March, then every other week.
        let contract = terms(
            open_ended(),
            Frequency::Fortnightly,
            vec![weekly(Weekday::Wednesday, 18, 0)],
            date(2027, 3, 1),
        );
        let all = plan(
            &contract,
            &london(),
            &[],
            &[],
            midnight(date(2027, 3, 1)),
            date(2027, 4, 30),
        );
        assert_eq!(
            local_dates(&all),
            [
                date(2027, 3, 3),
                date(2027, 3, 17),
                date(2027, 3, 31),
                date(2027, 4, 14),
                date(2027, 4, 28)
            ]
        );
        // Planning from 10 March (a week when there is no session) keeps the same fortnights.
        let later = plan(
            &contract,
            &london(),
            &[away(date(2027, 3, 15), date(2027, 3, 22))],
            &[],
            midnight(date(2027, 3, 10)),
            date(2027, 4, 30),
        );
        assert_eq!(local_dates(&later), local_dates(&all)[1..]);
        assert!(later[0].in_break && !later[1].in_break);
    }

    #[test]
    fn twice_weekly_meets_at_both_times_every_week() {
        // Starts on a Wednesday, so Thursday comes first.
        let contract = terms(
            open_ended(),
            Frequency::TwiceWeekly,
            vec![
                weekly(Weekday::Monday, 9, 0),
                weekly(Weekday::Thursday, 17, 30),
            ],
            date(2027, 3, 3),
        );
        let planned = plan(
            &contract,
            &london(),
            &[],
            &[],
            midnight(date(2027, 3, 1)),
            date(2027, 3, 15),
        );
        assert_eq!(
            starts(&planned),
            [
                "2027-03-04T17:30:00Z",
                "2027-03-08T09:00:00Z",
                "2027-03-11T17:30:00Z",
                "2027-03-15T09:00:00Z",
            ]
        );
    }

    #[test]
    fn a_week_away_moves_the_end_of_twelve_sessions_a_week_later() {
        let contract = monday_weekly(brief(12));
        let from = midnight(date(2027, 3, 1));
        let straight = plan(&contract, &london(), &[], &[], from, date(2027, 1, 1));
        assert_eq!(straight.len(), 12, "until does not apply to brief work");
        assert_eq!(local_dates(&straight).last(), Some(&date(2027, 5, 17)));

        let easter = [away(date(2027, 4, 3), date(2027, 4, 10))];
        let planned = plan(&contract, &london(), &easter, &[], from, date(2027, 1, 1));
        assert_eq!(planned.len(), 13);
        let breaks: Vec<Date> = planned
            .iter()
            .filter(|p| p.in_break)
            .map(|p| london().to_datetime(p.start).date())
            .collect();
        assert_eq!(breaks, [date(2027, 4, 5)]);
        assert_eq!(
            local_dates(&planned).last(),
            Some(&date(2027, 5, 24)),
            "the twelfth session is a week later"
        );
        let numbered = numbers(
            &planned
                .iter()
                .map(|p| (p.start, !p.in_break))
                .collect::<Vec<_>>(),
        );
        assert_eq!(numbered[4], Some(5));
        assert_eq!(numbered[5], None, "the Easter Monday has no number");
        assert_eq!(numbered[12], Some(12));
    }

    #[test]
    fn a_break_ending_as_a_session_starts_does_not_touch_it() {
        let contract = monday_weekly(open_ended());
        let first = at("2027-03-01T09:00:00Z");
        let touching = [
            AwayPeriod {
                start: first - SignedDuration::from_hours(2),
                end: first,
            },
            AwayPeriod {
                start: first + SignedDuration::from_mins(50),
                end: first + SignedDuration::from_hours(2),
            },
        ];
        let planned = plan(
            &contract,
            &london(),
            &touching,
            &[],
            first,
            date(2027, 3, 1),
        );
        assert_eq!(planned.len(), 1);
        assert!(!planned[0].in_break);
        let inside = [AwayPeriod {
            start: first + SignedDuration::from_mins(49),
            end: first + SignedDuration::from_hours(2),
        }];
        let planned = plan(&contract, &london(), &inside, &[], first, date(2027, 3, 1));
        assert!(planned[0].in_break);
    }

    #[test]
    fn kept_sessions_are_not_planned_again_and_count_when_they_should() {
        let contract = monday_weekly(brief(12));
        let session = |day: i8| at(&format!("2027-03-{day:02}T09:00:00Z"));
        // Three attended, then the fourth cancelled in time (it does not count).
        let kept = [
            Kept {
                occurrence: session(1),
                counts: true,
            },
            Kept {
                occurrence: session(8),
                counts: true,
            },
            Kept {
                occurrence: session(15),
                counts: true,
            },
            Kept {
                occurrence: session(22),
                counts: false,
            },
        ];
        let from = midnight(date(2027, 3, 16));
        let planned = plan(&contract, &london(), &[], &kept, from, date(2027, 1, 1));
        assert_eq!(planned.len(), 9, "3 kept and 9 planned make 12");
        assert_eq!(
            planned[0].start,
            at("2027-03-29T08:00:00Z"),
            "22 March is stored"
        );
        assert_eq!(
            local_dates(&planned).last(),
            Some(&date(2027, 5, 24)),
            "one session later than 17 May"
        );

        // Planning from the start again leaves the stored ones out but fills in the gaps.
        let again = plan(
            &contract,
            &london(),
            &[],
            &kept[1..],
            midnight(date(2027, 3, 1)),
            date(2027, 1, 1),
        );
        assert_eq!(again[0].start, session(1));
        assert_eq!(again.len(), 10);

        // A stored session still counts after it was moved, wherever it now is.
        let done: Vec<Kept> = (0..12)
            .map(|week| Kept {
                occurrence: session(1) + SignedDuration::from_hours(24 * 7 * week),
                counts: true,
            })
            .collect();
        assert!(plan(&contract, &london(), &[], &done, from, date(2027, 1, 1)).is_empty());
    }

    #[test]
    fn a_break_over_everything_ends_planning() {
        let contract = monday_weekly(brief(12));
        let forever = [AwayPeriod {
            start: Timestamp::MIN,
            end: Timestamp::MAX,
        }];
        let from = midnight(date(2027, 3, 1));
        assert!(plan(&contract, &london(), &forever, &[], from, date(2027, 1, 1)).is_empty());
    }

    #[test]
    fn numbers_follow_start_order_and_skip_sessions_that_do_not_count() {
        let t = |day: i8| at(&format!("2027-03-{day:02}T09:00:00Z"));
        assert_eq!(
            numbers(&[(t(15), true), (t(1), true), (t(8), false), (t(22), true)]),
            [Some(2), Some(1), None, Some(3)]
        );
        assert!(numbers(&[]).is_empty());
    }

    #[test]
    fn open_ended_reviews_every_so_many_weeks_after_the_start() {
        let contract = monday_weekly(open_ended());
        assert_eq!(
            review_dates(&contract, date(2027, 1, 1), date(2027, 6, 30)),
            [date(2027, 4, 12), date(2027, 5, 24)]
        );
        assert_eq!(
            review_dates(&contract, date(2027, 4, 13), date(2027, 7, 5)),
            [date(2027, 5, 24), date(2027, 7, 5)]
        );
        assert!(review_dates(&contract, date(2027, 4, 13), date(2027, 5, 23)).is_empty());
        assert!(
            review_dates(
                &monday_weekly(brief(12)),
                date(2027, 1, 1),
                date(2028, 1, 1)
            )
            .is_empty()
        );
        assert!(review_at_session(&monday_weekly(brief(12)), 6));
        assert!(!review_at_session(&monday_weekly(brief(12)), 7));
        assert!(!review_at_session(&contract, 6));
    }

    /// One generated planning problem.
    #[derive(Debug, Clone)]
    struct Case {
        terms: ContractTerms,
        breaks: Vec<AwayPeriod>,
        from: Timestamp,
        until: Date,
    }

    /// A regular time on a 5-minute grid: often in the small hours (London's clocks change at
    /// 01:00 and 02:00), otherwise anywhere in the day.
    fn arb_time() -> impl Strategy<Value = Time> {
        prop_oneof![0..36i32, 0..288i32]
            .prop_map(|five| time((five / 12) as i8, (five % 12 * 5) as i8, 0, 0))
    }

    fn arb_terms() -> impl Strategy<Value = ContractTerms> {
        let kind = prop_oneof![
            (1..=30u32).prop_map(brief),
            (1..=52u32)
                .prop_map(|review_every_weeks| ContractKind::OpenEnded { review_every_weeks }),
        ];
        let frequency = prop_oneof![
            Just(Frequency::Weekly),
            Just(Frequency::TwiceWeekly),
            Just(Frequency::Fortnightly),
        ];
        (
            kind,
            frequency,
            0..7i8,
            1..7i8,
            arb_time(),
            arb_time(),
            10..=240u32,
            0..330i64,
        )
            .prop_map(|(kind, frequency, day, other, t1, t2, minutes, start)| {
                let first = WeeklyTime {
                    weekday: Weekday::from_monday_zero_offset(day).unwrap(),
                    time: t1,
                };
                let mut times = vec![first];
                if frequency == Frequency::TwiceWeekly {
                    times.push(WeeklyTime {
                        weekday: Weekday::from_monday_zero_offset((day + other) % 7).unwrap(),
                        time: t2,
                    });
                    times.sort_by_key(WeeklyTime::key);
                }
                ContractTerms {
                    minutes,
                    ..terms(
                        kind,
                        frequency,
                        times,
                        add_days(date(2027, 1, 1), start).unwrap(),
                    )
                }
            })
    }

    fn arb_case() -> impl Strategy<Value = Case> {
        (
            arb_terms(),
            // Minutes after the start date's midnight: from a fortnight before to ~10 weeks after.
            -20_160i64..100_000,
            // Breaks: minutes after `from`, lengths up to five weeks (some empty or reversed).
            prop::collection::vec((-20_000i64..150_000, -60i64..50_400), 0..4),
            0..200i64,
        )
            .prop_map(|(terms, from, breaks, until)| {
                let from = midnight(terms.start) + SignedDuration::from_mins(from);
                let breaks = breaks
                    .into_iter()
                    .map(|(start, length)| AwayPeriod {
                        start: from + SignedDuration::from_mins(start),
                        end: from + SignedDuration::from_mins(start + length),
                    })
                    .collect();
                let until = add_days(london().to_datetime(from).date(), until).unwrap();
                Case {
                    terms,
                    breaks,
                    from,
                    until,
                }
            })
    }

    impl Case {
        fn plan(&self, kept: &[Kept]) -> Vec<Planned> {
            plan(
                &self.terms,
                &london(),
                &self.breaks,
                kept,
                self.from,
                self.until,
            )
        }

        fn overlaps_a_break(&self, p: &Planned) -> bool {
            self.breaks
                .iter()
                .any(|b| b.start < b.end && b.start < p.end && p.start < b.end)
        }

        fn sessions(&self) -> Option<usize> {
            match self.terms.kind {
                ContractKind::Brief { sessions, .. } => Some(sessions as usize),
                ContractKind::OpenEnded { .. } => None,
            }
        }
    }

    /// Stored sessions taken from a plan from scratch: every `pick`-th one, some not counting.
    fn kept_from(case: &Case, pick: usize, skip_counting: usize) -> Vec<Kept> {
        let scratch = plan(
            &case.terms,
            &london(),
            &[],
            &[],
            midnight(case.terms.start),
            case.until,
        );
        scratch
            .iter()
            .enumerate()
            .filter(|(i, _)| i % pick == 0)
            .map(|(i, p)| Kept {
                occurrence: p.start,
                counts: i % skip_counting != 0,
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_session_is_at_one_of_the_regular_local_times(case in arb_case()) {
            let zone = london();
            for p in case.plan(&[]) {
                let local = zone.to_datetime(p.start);
                prop_assert_eq!(p.end, p.start + SignedDuration::from_mins(i64::from(case.terms.minutes)));
                // The regular time it stands for: on its own date, or the day before if a gap
                // pushed it past midnight.
                let found = case.terms.times.iter().any(|t| {
                    [Some(local.date()), add_days(local.date(), -1)].into_iter().flatten().any(|day| {
                        let wanted = day.to_datetime(t.time);
                        let ambiguous = zone.to_ambiguous_timestamp(wanted);
                        let gap = matches!(ambiguous.offset(), jiff::tz::AmbiguousOffset::Gap { .. });
                        day.weekday() == t.weekday
                            && ambiguous.compatible().ok() == Some(p.start)
                            && (gap || local == wanted)
                    })
                });
                prop_assert!(found, "{:?} (local {}) is not at a regular time of {:?}", p, local, case.terms.times);
            }
        }

        #[test]
        fn sessions_in_breaks_are_exactly_those_that_overlap_one(case in arb_case()) {
            for p in case.plan(&[]) {
                prop_assert_eq!(p.in_break, case.overlaps_a_break(&p), "{:?}", p);
            }
        }

        #[test]
        fn nothing_starts_before_from_and_output_strictly_increases(case in arb_case()) {
            let planned = case.plan(&[]);
            for p in &planned {
                prop_assert!(p.start >= case.from, "{:?} before {}", p, case.from);
            }
            for pair in planned.windows(2) {
                prop_assert!(pair[0].start < pair[1].start, "{:?} then {:?}", pair[0], pair[1]);
            }
            if case.sessions().is_none() {
                for day in local_dates(&planned) {
                    prop_assert!(day <= case.until && day >= case.terms.start);
                }
            }
        }

        #[test]
        fn planning_this_and_following_agrees_with_planning_from_scratch(case in arb_case()) {
            // Open-ended work planned from `from` is the tail of the plan from the start.
            prop_assume!(case.sessions().is_none());
            let scratch = plan(&case.terms, &london(), &case.breaks, &[], midnight(case.terms.start), case.until);
            let tail: Vec<Planned> = scratch.into_iter().filter(|p| p.start >= case.from).collect();
            prop_assert_eq!(case.plan(&[]), tail);
        }

        #[test]
        fn brief_work_has_exactly_its_sessions_and_ends_on_a_counting_one(
            case in arb_case(),
            pick in 1..5usize,
            skip_counting in 1..4usize,
        ) {
            let Some(sessions) = case.sessions() else { return Ok(()) };
            for kept in [Vec::new(), kept_from(&case, pick, skip_counting)] {
                let planned = case.plan(&kept);
                let kept_counting = kept.iter().filter(|k| k.counts).count();
                let counting = planned.iter().filter(|p| !p.in_break).count();
                prop_assert_eq!(counting, sessions.saturating_sub(kept_counting));
                for p in &planned {
                    prop_assert!(kept.iter().all(|k| k.occurrence != p.start), "{:?} is stored", p);
                }
                if let Some(last) = planned.last() {
                    prop_assert!(!last.in_break, "ends on a break: {:?}", last);
                }
            }
        }

        #[test]
        fn fortnightly_sessions_are_fourteen_local_days_apart_from_the_first(case in arb_case()) {
            prop_assume!(case.terms.frequency == Frequency::Fortnightly);
            let planned = case.plan(&[]);
            let regular = case.terms.times[0];
            // Compare the dates of the regular times (a gap can move a session past midnight).
            let days: Vec<Date> = planned
                .iter()
                .map(|p| {
                    let local = london().to_datetime(p.start);
                    if local.date().weekday() == regular.weekday { local.date() } else { add_days(local.date(), -1).unwrap() }
                })
                .collect();
            for pair in days.windows(2) {
                prop_assert_eq!(days_between(pair[0], pair[1]), 14);
            }
            if let Some(first) = days.first() {
                let anchor = on_or_after(case.terms.start, regular.weekday).unwrap();
                prop_assert_eq!(days_between(anchor, *first) % 14, 0, "anchor {} first {}", anchor, first);
            }
        }
    }
}
