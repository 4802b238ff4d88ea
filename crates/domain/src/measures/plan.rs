//! When a contract asks for a measure: the therapist and client agree it, per instrument.
//!
//! A questionnaire is asked for *before* a session (the client fills it in beforehand, or
//! in the session with the therapist), so each occasion names a session by its number in
//! the contract ("session 1", "session 7"). Open-ended work reviews by date, so its review
//! falls on the first session on or after each review date.

use jiff::civil::Date;

use crate::therapy::{ContractKind, ContractTerms, schedule};

/// The most sessions "every N sessions" may be.
pub const MAX_EVERY: u32 = 52;

/// When one instrument is asked for in a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schedule {
    /// Before the first session.
    pub first: bool,
    /// Every this many sessions after the first: with 4, before sessions 5, 9, 13…
    /// (1: before every session).
    pub every: Option<u32>,
    /// Before each review: brief work's review sessions, open-ended work's first session
    /// on or after each review date.
    pub reviews: bool,
    /// At the ending: before brief work's last session, or when open-ended work is ended.
    pub ending: bool,
}

/// Why a questionnaire is asked for, as the pages say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    /// What the client brought to a consultation, entered by the therapist.
    Consultation,
    First,
    Regular,
    Review,
    Ending,
    /// Entered by the therapist at a session no schedule named.
    Other,
}

impl Occasion {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consultation => "consultation",
            Self::First => "first",
            Self::Regular => "regular",
            Self::Review => "review",
            Self::Ending => "ending",
            Self::Other => "other",
        }
    }

    /// Parse the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "consultation" => Self::Consultation,
            "first" => Self::First,
            "regular" => Self::Regular,
            "review" => Self::Review,
            "ending" => Self::Ending,
            "other" => Self::Other,
            _ => return None,
        })
    }

    /// "At the start of the work", "A review"…
    pub fn label(self) -> &'static str {
        match self {
            Self::Consultation => "At the consultation",
            Self::First => "At the start of the work",
            Self::Regular => "Regular check-in",
            Self::Review => "At a review",
            Self::Ending => "At the ending",
            Self::Other => "In a session",
        }
    }
}

impl Schedule {
    /// Asked for at no point (nothing to keep).
    pub fn is_empty(&self) -> bool {
        !self.first && self.every.is_none() && !self.reviews && !self.ending
    }

    /// Whether to ask before session `number` (numbered from 1) of work under `terms`,
    /// starting on `date`; `previous` is the date of the contract's session before it,
    /// if any (open-ended reviews fall on the first session on or after a review date).
    /// The ending comes first, then the start, a review and a regular check-in.
    pub fn due(
        &self,
        terms: &ContractTerms,
        number: u32,
        date: Date,
        previous: Option<Date>,
    ) -> Option<Occasion> {
        if number == 0 {
            return None;
        }
        if self.ending
            && let ContractKind::Brief { sessions, .. } = terms.kind
            && number == sessions
        {
            return Some(Occasion::Ending);
        }
        if self.first && number == 1 {
            return Some(Occasion::First);
        }
        if self.reviews && is_review(terms, number, date, previous) {
            return Some(Occasion::Review);
        }
        match self.every {
            Some(n) if n > 0 && number > 1 && (number - 1).is_multiple_of(n) => {
                Some(Occasion::Regular)
            }
            _ => None,
        }
    }
}

fn is_review(terms: &ContractTerms, number: u32, date: Date, previous: Option<Date>) -> bool {
    match terms.kind {
        ContractKind::Brief { .. } => schedule::review_at_session(terms, number),
        ContractKind::OpenEnded { .. } => {
            // The day after the previous session (or the start: it is never a review).
            let from = previous.unwrap_or(terms.start).tomorrow().unwrap_or(date);
            from <= date && !schedule::review_dates(terms, from, date).is_empty()
        }
    }
}

/// Parse the "every N sessions" field: empty for never, else 1 to [`MAX_EVERY`].
pub fn parse_every(raw: &str) -> Result<Option<u32>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_EVERY).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "Enter how many sessions apart as a whole number from 1 to {MAX_EVERY}, or leave it empty"
        )),
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::{date, time};

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
                weekday: jiff::civil::Weekday::Monday,
                time: time(9, 0, 0, 0),
            }],
            location: Slug::parse("room").unwrap(),
            minutes: 50,
            fee: Pence::new(6000),
            start: date(2027, 1, 4),
            policy_version: 1,
        }
    }

    fn brief() -> ContractTerms {
        terms(ContractKind::Brief {
            focus: "f".into(),
            sessions: 12,
            reviews_at: vec![6],
        })
    }

    /// Session numbers 1..=12, weekly from the start, where `schedule` asks.
    fn asked(terms: &ContractTerms, schedule: Schedule) -> Vec<(u32, Occasion)> {
        (1..=12u32)
            .filter_map(|n| {
                let day = |k: u32| {
                    terms
                        .start
                        .checked_add(jiff::Span::new().days(7 * i64::from(k - 1)))
                        .unwrap()
                };
                let previous = (n > 1).then(|| day(n - 1));
                schedule.due(terms, n, day(n), previous).map(|o| (n, o))
            })
            .collect()
    }

    #[test]
    fn brief_work_asks_at_the_start_the_reviews_the_ending_and_every_n() {
        use Occasion::*;
        let all = Schedule {
            first: true,
            every: Some(4),
            reviews: true,
            ending: true,
        };
        assert_eq!(
            asked(&brief(), all),
            [
                (1, First),
                (5, Regular),
                (6, Review),
                (9, Regular),
                (12, Ending)
            ]
        );
        assert_eq!(asked(&brief(), Schedule::default()), []);
        let every = Schedule {
            every: Some(1),
            ..Schedule::default()
        };
        assert_eq!(
            asked(&brief(), every).len(),
            11,
            "every session after the first"
        );
        assert!(Schedule::default().is_empty());
        assert!(!all.is_empty());
    }

    #[test]
    fn open_ended_work_reviews_at_the_first_session_on_or_after_each_review_date() {
        // Reviews every 3 weeks from Monday 4 January: 25 January, 15 February… (sessions
        // 4 and 7); a session moved a day later still carries the review.
        let open = terms(ContractKind::OpenEnded {
            review_every_weeks: 3,
        });
        let reviews = Schedule {
            reviews: true,
            ending: true,
            ..Schedule::default()
        };
        assert_eq!(
            asked(&open, reviews),
            [
                (4, Occasion::Review),
                (7, Occasion::Review),
                (10, Occasion::Review)
            ]
        );
        assert_eq!(
            reviews.due(&open, 4, date(2027, 1, 26), Some(date(2027, 1, 18))),
            Some(Occasion::Review)
        );
        assert_eq!(
            reviews.due(&open, 5, date(2027, 2, 1), Some(date(2027, 1, 26))),
            None
        );
        // Open-ended work has no last session to ask at: its ending is asked for when it ends.
        assert!(
            asked(&open, reviews)
                .iter()
                .all(|(_, o)| *o != Occasion::Ending)
        );
    }

    #[test]
    fn every_is_a_whole_number_in_range_or_nothing() {
        assert_eq!(parse_every(" "), Ok(None));
        assert_eq!(parse_every("6"), Ok(Some(6)));
        assert!(parse_every("0").is_err());
        assert!(parse_every("53").is_err());
        assert!(parse_every("six").is_err());
    }

    #[test]
    fn occasions_read_back_from_their_stored_form() {
        for o in [
            Occasion::Consultation,
            Occasion::First,
            Occasion::Regular,
            Occasion::Review,
            Occasion::Ending,
            Occasion::Other,
        ] {
            assert_eq!(Occasion::parse(o.as_str()), Some(o));
        }
    }
}
