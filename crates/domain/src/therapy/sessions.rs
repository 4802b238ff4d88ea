//! Rules over a contract's stored sessions: which ones planning the work again may replace,
//! and how far the work has come (sessions remaining, the ending, reviews).
//!
//! These used to be computed where they were needed: in the office's handlers, and again in
//! the SQLite store. Two copies of a rule can disagree (the office could check a plan for
//! clashes against sessions the store would then keep), and a second backend or entry point
//! would have made a third. Here they are pure functions over plain facts, so every caller asks
//! the same question the same way. Nothing here reads the clock: the caller passes `now` (and
//! the practice's local `today`).

use jiff::{SignedDuration, Timestamp, civil::Date};

use super::{ContractKind, ContractTerms, schedule};
use crate::therapy::schedule::Kept;

/// Brief work is "ending soon" with this many sessions or fewer to go (and at least one).
pub const ENDING_SOON: usize = 3;

/// Open-ended work's review is "due" from this many days before its date.
const REVIEW_NOTICE_DAYS: i64 = 7;

/// Where a stored session stands, as far as these rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Yet to happen.
    Scheduled,
    /// In one of the therapist's breaks: not happening.
    Break,
    /// Its outcome is recorded; `counts` if that outcome counts towards the contract's
    /// numbering (attended, late cancellation, did not attend).
    Done { counts: bool },
}

impl Standing {
    /// Whether the session counts towards the contract's numbering (and holds its time).
    pub fn counts(self) -> bool {
        match self {
            Self::Scheduled => true,
            Self::Break => false,
            Self::Done { counts } => counts,
        }
    }

    /// Whether nothing has been recorded at it yet (scheduled, or in a break).
    pub fn open(self) -> bool {
        matches!(self, Self::Scheduled | Self::Break)
    }
}

/// What the rules need to know about one stored session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFacts {
    /// When it starts (where it was moved to, if it was moved).
    pub start: Timestamp,
    /// The regular occurrence it stands for: its original start.
    pub occurrence: Timestamp,
    pub standing: Standing,
    /// Moved on its own, away from the regular time.
    pub moved: bool,
    /// Its place among the contract's counting sessions ("session 4"), if it has one.
    pub number: Option<u32>,
}

/// Whether planning the work again from `from` may replace this session: only one still open
/// (scheduled or in a break), never moved, starting at or after `from` and after `now`.
/// Everything else (the past, recorded outcomes, sessions moved by hand) stays as it is.
pub fn replaceable(session: &SessionFacts, from: Timestamp, now: Timestamp) -> bool {
    session.standing.open() && !session.moved && session.start >= from && session.start > now
}

/// Split a contract's sessions for planning again from `from`: the ones planning must keep
/// (and count, see [`schedule::plan`]), and the indices in `sessions` of those it may replace
/// (see [`replaceable`]).
pub fn split_for_planning(
    sessions: &[SessionFacts],
    from: Timestamp,
    now: Timestamp,
) -> (Vec<Kept>, Vec<usize>) {
    let mut kept = Vec::new();
    let mut replaced = Vec::new();
    for (i, session) in sessions.iter().enumerate() {
        if replaceable(session, from, now) {
            replaced.push(i);
        } else {
            kept.push(Kept {
                occurrence: session.occurrence,
                counts: session.standing.counts(),
            });
        }
    }
    (kept, replaced)
}

/// How far the work under a contract has come, as of `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Index in the sessions given of the next one: the earliest scheduled after `now`.
    pub next: Option<usize>,
    /// Brief work: numbered sessions still scheduled after `now`. `None` for open-ended work.
    pub remaining: Option<usize>,
    /// Brief work with 1 to [`ENDING_SOON`] sessions to go: time to prepare for the ending.
    pub ending_soon: bool,
    /// Brief work: the start of its last numbered session, if any is stored.
    pub planned_ending: Option<Timestamp>,
    /// A review is due: brief work whose next session is one agreed for a review, or
    /// open-ended work whose next review date is within a week of `today`.
    pub review_due: bool,
    /// Open-ended work: the next review date, on or after `today`.
    pub next_review: Option<Date>,
}

/// How far the work under `terms` has come, from its stored `sessions`, at `now` (`today` is
/// `now`'s local date in the practice).
pub fn progress(
    terms: &ContractTerms,
    sessions: &[SessionFacts],
    now: Timestamp,
    today: Date,
) -> Progress {
    let upcoming = |s: &&SessionFacts| s.start > now && s.standing == Standing::Scheduled;
    let next = sessions
        .iter()
        .enumerate()
        .filter(|(_, s)| upcoming(s))
        .min_by_key(|(_, s)| s.start)
        .map(|(i, _)| i);
    match &terms.kind {
        ContractKind::Brief { .. } => {
            let remaining = sessions
                .iter()
                .filter(upcoming)
                .filter(|s| s.number.is_some())
                .count();
            let review_due = next
                .and_then(|i| sessions[i].number)
                .is_some_and(|n| schedule::review_at_session(terms, n));
            Progress {
                next,
                remaining: Some(remaining),
                ending_soon: (1..=ENDING_SOON).contains(&remaining),
                planned_ending: sessions
                    .iter()
                    .filter(|s| s.number.is_some())
                    .map(|s| s.start)
                    .max(),
                review_due,
                next_review: None,
            }
        }
        ContractKind::OpenEnded { review_every_weeks } => {
            // One period and a week ahead always holds the next review.
            let horizon = add_days(today, i64::from(*review_every_weeks) * 7 + 7);
            let next_review = schedule::review_dates(terms, today, horizon)
                .first()
                .copied();
            let soon = add_days(today, REVIEW_NOTICE_DAYS);
            Progress {
                next,
                remaining: None,
                ending_soon: false,
                planned_ending: None,
                review_due: next_review.is_some_and(|d| d <= soon),
                next_review,
            }
        }
    }
}

/// Whether the work with a client has ended: the client was marked as no longer working
/// together, or they had contracts and every one has ended (`contracts_active` holds each
/// contract's "still active"). A client still waiting for a first contract has not ended.
pub fn work_has_ended(client_active: bool, contracts_active: &[bool]) -> bool {
    !client_active || (!contracts_active.is_empty() && contracts_active.iter().all(|a| !a))
}

/// `date` moved by `days` calendar days; `date` itself at the edge of jiff's range.
fn add_days(date: Date, days: i64) -> Date {
    days.checked_mul(24)
        .and_then(|hours| date.checked_add(SignedDuration::from_hours(hours)).ok())
        .unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use jiff::civil::{Weekday, date, time};
    use proptest::prelude::*;

    use super::*;
    use crate::{
        Pence, Slug,
        therapy::{Frequency, WeeklyTime},
    };

    fn terms(kind: ContractKind) -> ContractTerms {
        ContractTerms {
            kind,
            frequency: Frequency::Weekly,
            times: vec![WeeklyTime {
                weekday: Weekday::Monday,
                time: time(9, 0, 0, 0),
            }],
            location: Slug::parse("balham").unwrap(),
            minutes: 50,
            fee: Pence::new(7500),
            start: date(2027, 3, 1),
            policy_version: 1,
        }
    }

    fn brief(sessions: u32, reviews_at: Vec<u32>) -> ContractTerms {
        terms(ContractKind::Brief {
            focus: "Sleep and worry".into(),
            sessions,
            reviews_at,
        })
    }

    fn open_ended(review_every_weeks: u32) -> ContractTerms {
        terms(ContractKind::OpenEnded { review_every_weeks })
    }

    /// Monday 1 March 2027 09:00 UTC plus `weeks` weeks.
    fn monday(weeks: i64) -> Timestamp {
        "2027-03-01T09:00:00Z".parse::<Timestamp>().unwrap()
            + SignedDuration::from_hours(24 * 7 * weeks)
    }

    fn session(weeks: i64, standing: Standing) -> SessionFacts {
        SessionFacts {
            start: monday(weeks),
            occurrence: monday(weeks),
            standing,
            moved: false,
            number: None,
        }
    }

    /// `total` weekly sessions, all scheduled, numbered 1… as the store numbers them.
    fn weekly_sessions(total: i64) -> Vec<SessionFacts> {
        (0..total)
            .map(|week| SessionFacts {
                number: Some(u32::try_from(week + 1).unwrap()),
                ..session(week, Standing::Scheduled)
            })
            .collect()
    }

    /// Number the counting sessions 1… by start, as the store does after every change.
    fn renumber(sessions: &mut [SessionFacts]) {
        let numbered = schedule::numbers(
            &sessions
                .iter()
                .map(|s| (s.start, s.standing.counts()))
                .collect::<Vec<_>>(),
        );
        for (s, n) in sessions.iter_mut().zip(numbered) {
            s.number = n;
        }
    }

    #[test]
    fn only_open_unmoved_sessions_from_then_and_after_now_may_be_replaced() {
        let now = monday(2) + SignedDuration::from_mins(30);
        let from = monday(4);
        let mut moved = session(6, Standing::Scheduled);
        moved.moved = true;
        let sessions = [
            session(1, Standing::Done { counts: true }),
            session(3, Standing::Scheduled),
            session(4, Standing::Scheduled),
            session(5, Standing::Break),
            moved,
            session(7, Standing::Done { counts: false }),
            session(8, Standing::Scheduled),
        ];
        let (kept, replaced) = split_for_planning(&sessions, from, now);
        assert_eq!(replaced, [2, 3, 6]);
        assert_eq!(
            kept,
            [
                Kept {
                    occurrence: monday(1),
                    counts: true
                },
                Kept {
                    occurrence: monday(3),
                    counts: true
                },
                Kept {
                    occurrence: monday(6),
                    counts: true
                },
                Kept {
                    occurrence: monday(7),
                    counts: false
                },
            ]
        );
        // Planning "from" a time already past never replaces what has started.
        let (_, replaced) = split_for_planning(&sessions, monday(0), monday(4));
        assert_eq!(replaced, [3, 6]);
    }

    #[test]
    fn a_moved_session_is_kept_at_its_occurrence() {
        let mut moved = session(3, Standing::Scheduled);
        moved.start = monday(3) + SignedDuration::from_hours(26);
        moved.moved = true;
        let (kept, replaced) = split_for_planning(&[moved], monday(0), monday(0));
        assert!(replaced.is_empty());
        assert_eq!(kept[0].occurrence, monday(3));
    }

    #[test]
    fn remaining_counts_only_future_scheduled_numbered_sessions() {
        let mut sessions = weekly_sessions(12);
        sessions[0].standing = Standing::Done { counts: true };
        sessions[5].standing = Standing::Break;
        renumber(&mut sessions);
        let now = monday(3) + SignedDuration::from_mins(10);
        let p = progress(&brief(12, vec![6]), &sessions, now, date(2027, 3, 22));
        // Weeks 4 to 11 are after now; week 5 is a break and has no number.
        assert_eq!(p.remaining, Some(7));
        assert_eq!(p.next, Some(4));
        assert!(!p.ending_soon);
        assert_eq!(p.next_review, None);
    }

    #[test]
    fn ending_soon_with_one_to_three_left_and_not_none() {
        let sessions = weekly_sessions(6);
        let contract = brief(6, vec![]);
        let left = |weeks_past: i64| {
            let now = monday(weeks_past) + SignedDuration::from_mins(1);
            progress(&contract, &sessions, now, date(2027, 1, 1))
        };
        for (past, remaining, soon) in [
            (0, 5, false),
            (1, 4, false),
            (2, 3, true),
            (3, 2, true),
            (4, 1, true),
            (5, 0, false),
        ] {
            let p = left(past);
            assert_eq!(p.remaining, Some(remaining), "{past} weeks in");
            assert_eq!(p.ending_soon, soon, "{remaining} left");
        }
        assert_eq!(left(5).next, None);
        // Open-ended work never ends soon.
        let p = progress(&open_ended(6), &sessions, monday(4), date(2027, 3, 29));
        assert_eq!(p.remaining, None);
        assert!(!p.ending_soon);
        assert_eq!(p.planned_ending, None);
    }

    #[test]
    fn the_planned_ending_moves_when_a_session_stops_counting() {
        let contract = brief(4, vec![]);
        let mut sessions = weekly_sessions(4);
        let now = monday(0) - SignedDuration::from_hours(1);
        let today = date(2027, 3, 1);
        assert_eq!(
            progress(&contract, &sessions, now, today).planned_ending,
            Some(monday(3))
        );
        // The last one is cancelled in time: until the work is planned again, the ending is
        // the last session that still counts…
        sessions[3].standing = Standing::Done { counts: false };
        renumber(&mut sessions);
        assert_eq!(
            progress(&contract, &sessions, now, today).planned_ending,
            Some(monday(2))
        );
        // …and once a session is added in its place, it is that one.
        sessions.push(SessionFacts {
            number: None,
            ..session(4, Standing::Scheduled)
        });
        renumber(&mut sessions);
        assert_eq!(
            progress(&contract, &sessions, now, today).planned_ending,
            Some(monday(4))
        );
        assert_eq!(
            progress(&contract, &[], now, today).planned_ending,
            None,
            "not planned yet"
        );
    }

    #[test]
    fn brief_review_is_due_when_the_next_session_is_an_agreed_one() {
        let contract = brief(12, vec![6, 12]);
        let sessions = weekly_sessions(12);
        let due = |weeks_past: i64| {
            let now = monday(weeks_past) + SignedDuration::from_mins(1);
            progress(&contract, &sessions, now, date(2027, 1, 1)).review_due
        };
        // After session 5 the next is session 6; after session 11, session 12.
        let due_after: Vec<i64> = (0..12).filter(|&w| due(w)).collect();
        assert_eq!(due_after, [4, 10]);
        assert!(!progress(&contract, &sessions, monday(-1), date(2027, 1, 1)).review_due);
    }

    #[test]
    fn open_ended_review_is_due_within_a_week_of_its_date() {
        // Every six weeks from Monday 1 March 2027: 12 April, 24 May…
        let contract = open_ended(6);
        let at = |today: Date| progress(&contract, &[], monday(0), today);
        let p = at(date(2027, 4, 4));
        assert_eq!(p.next_review, Some(date(2027, 4, 12)));
        assert!(!p.review_due, "eight days before");
        assert!(at(date(2027, 4, 5)).review_due, "a week before");
        assert!(at(date(2027, 4, 12)).review_due, "on the day");
        let after = at(date(2027, 4, 13));
        assert_eq!(after.next_review, Some(date(2027, 5, 24)));
        assert!(!after.review_due);
        assert_eq!(at(date(2027, 2, 25)).next_review, Some(date(2027, 4, 12)));
        assert!(!progress(&brief(6, vec![]), &[], monday(0), date(2027, 4, 12)).review_due);
    }

    fn arb_standing() -> impl Strategy<Value = Standing> {
        prop_oneof![
            Just(Standing::Scheduled),
            Just(Standing::Break),
            any::<bool>().prop_map(|counts| Standing::Done { counts }),
        ]
    }

    /// Sessions at up to a year of minutes either side of 1 March 2027, some moved.
    fn arb_sessions() -> impl Strategy<Value = Vec<SessionFacts>> {
        prop::collection::vec(
            (
                -525_600i64..525_600,
                -2_880i64..2_880,
                arb_standing(),
                any::<bool>(),
            ),
            0..40,
        )
        .prop_map(|raw| {
            let mut sessions: Vec<SessionFacts> = raw
                .into_iter()
                .map(|(at, shift, standing, moved)| {
                    let occurrence = monday(0) + SignedDuration::from_mins(at);
                    SessionFacts {
                        start: if moved {
                            occurrence + SignedDuration::from_mins(shift)
                        } else {
                            occurrence
                        },
                        occurrence,
                        standing,
                        moved,
                        number: None,
                    }
                })
                .collect();
            renumber(&mut sessions);
            sessions
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_split_keeps_every_session_once_and_replaces_nothing_started(
            sessions in arb_sessions(),
            from in -525_600i64..525_600,
            now in -525_600i64..525_600,
        ) {
            let from = monday(0) + SignedDuration::from_mins(from);
            let now = monday(0) + SignedDuration::from_mins(now);
            let (kept, replaced) = split_for_planning(&sessions, from, now);
            prop_assert_eq!(kept.len() + replaced.len(), sessions.len());
            for &i in &replaced {
                let s = &sessions[i];
                prop_assert!(s.start > now && s.start >= from && !s.moved && s.standing.open());
            }
            // Planning from `from` or from the later of `from` and `now` replaces the same.
            prop_assert_eq!(split_for_planning(&sessions, from.max(now), now).1, replaced);
        }

        #[test]
        fn remaining_and_the_ending_agree_with_the_sessions(
            sessions in arb_sessions(),
            now in -525_600i64..525_600,
            total in 1..=40u32,
        ) {
            let now = monday(0) + SignedDuration::from_mins(now);
            let p = progress(&brief(total, vec![]), &sessions, now, date(2027, 3, 1));
            let remaining = p.remaining.unwrap();
            prop_assert!(remaining <= sessions.len());
            prop_assert_eq!(p.ending_soon, (1..=ENDING_SOON).contains(&remaining));
            // Whatever is still to come ends no later than the planned ending.
            if let Some(i) = p.next {
                let next = &sessions[i];
                prop_assert!(next.start > now && next.standing == Standing::Scheduled);
                prop_assert!(sessions.iter().all(|s| !(s.start > now && s.standing == Standing::Scheduled) || s.start >= next.start));
                prop_assert!(p.planned_ending.is_some_and(|end| end >= next.start));
            } else {
                prop_assert_eq!(remaining, 0);
            }
        }

        #[test]
        fn an_open_ended_review_is_never_more_than_a_period_away(
            weeks in 1..=52u32,
            days in 0..800i64,
        ) {
            // From the start of the work on (before it, the next review may be further off).
            let today = add_days(date(2027, 3, 1), days);
            let p = progress(&open_ended(weeks), &[], monday(0), today);
            let next = p.next_review.unwrap();
            prop_assert!(next >= today && next > date(2027, 3, 1));
            let ahead = next.duration_since(today).as_hours() / 24;
            prop_assert!(ahead <= i64::from(weeks) * 7, "{} days ahead", ahead);
            prop_assert_eq!(p.review_due, ahead <= REVIEW_NOTICE_DAYS);
        }
    }

    #[test]
    fn work_has_ended_once_every_contract_has_but_not_before_the_first() {
        assert!(!work_has_ended(true, &[]), "waiting for a first contract");
        assert!(!work_has_ended(true, &[true]));
        assert!(
            !work_has_ended(true, &[false, true]),
            "a new contract after one ended"
        );
        assert!(work_has_ended(true, &[false]));
        assert!(work_has_ended(true, &[false, false]));
        assert!(
            work_has_ended(false, &[]),
            "marked as no longer working together"
        );
        assert!(work_has_ended(false, &[true]));
    }
}
