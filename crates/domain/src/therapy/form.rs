//! The contract form: the raw fields as typed in the back office, parsed into [`ContractTerms`].
//!
//! Every field is checked and every problem is collected under the field's name, so the page can
//! show them all at once. Fields that do not apply (the focus of open-ended work, the second time
//! of weekly work) are ignored, whatever they hold: the form may send them back hidden.

use jiff::civil::{Date, Time, Weekday};

use super::{ContractKind, ContractTerms, Frequency, WeeklyTime};
use crate::{
    FieldErrors, Pence, Slug, TextError,
    booking::parse_whole,
    practice::{parse_time, parse_weekday},
    text::parse_text,
};

/// Longest agreed focus of brief work.
pub const MAX_FOCUS_CHARS: usize = 1000;

/// The raw fields of the contract form.
#[derive(Debug, Clone, Default)]
pub struct ContractForm<'a> {
    /// "brief" or "open_ended".
    pub kind: &'a str,
    /// Brief work: the agreed focus, required, at most 1,000 characters.
    pub focus: &'a str,
    /// Brief work: how many sessions, 1–100.
    pub sessions: &'a str,
    /// Brief work, optional: session numbers to review at, separated by commas or spaces.
    pub reviews_at: &'a str,
    /// Open-ended work: review every this many weeks, 1–52 (the form fills in 6).
    pub review_every_weeks: &'a str,
    /// "weekly", "twice_weekly" or "fortnightly".
    pub frequency: &'a str,
    /// Day of the (first) regular time, like "monday".
    pub day: &'a str,
    /// Time of the (first) regular time, like "09:00".
    pub time: &'a str,
    /// Twice weekly only: the day of the second regular time (a different day).
    pub day2: &'a str,
    /// Twice weekly only: the time of the second regular time.
    pub time2: &'a str,
    /// A location's slug, one of those the practice has.
    pub location: &'a str,
    /// Length of each session in minutes, 10–240.
    pub minutes: &'a str,
    /// Fee per session in pounds, like "75" or "62.50".
    pub fee: &'a str,
    /// The first day sessions may happen, YYYY-MM-DD.
    pub start: &'a str,
}

impl ContractForm<'_> {
    /// Parse the form into terms that use one of `locations` and the policy version agreed.
    pub fn parse(
        &self,
        locations: &[Slug],
        policy_version: u32,
    ) -> Result<ContractTerms, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = match self.kind.trim() {
            "brief" => self.brief(&mut errors),
            "open_ended" => self.open_ended(&mut errors),
            _ => {
                errors.add("kind", "Choose brief work or open-ended work");
                None
            }
        };
        let frequency = Frequency::parse(self.frequency.trim());
        if frequency.is_none() {
            errors.add("frequency", "Choose how often you will meet");
        }
        let first = regular_time(
            &mut errors,
            ("day", self.day, "Choose the day of the week for sessions"),
            (
                "time",
                self.time,
                "Enter the time sessions start, like 09:00",
            ),
        );
        let second = if frequency == Some(Frequency::TwiceWeekly) {
            let second = regular_time(
                &mut errors,
                (
                    "day2",
                    self.day2,
                    "Choose the day of the week for the second session",
                ),
                (
                    "time2",
                    self.time2,
                    "Enter the time the second session starts, like 17:30",
                ),
            );
            if let (Some(a), Some(b)) = (first, second)
                && a.weekday == b.weekday
            {
                errors.add("day2", "Choose a different day for the second session");
            }
            second
        } else {
            None
        };
        let location = errors.check("location", parse_location(self.location, locations));
        let minutes = errors.check(
            "minutes",
            required(
                self.minutes,
                "Enter the length of each session in minutes, like 50",
            )
            .and_then(|raw| parse_whole(raw, "the session length in minutes", 10..=240)),
        );
        let fee = errors.check(
            "fee",
            required(self.fee, "Enter the fee for each session, like 75")
                .and_then(Pence::parse_pounds),
        );
        let start = errors.check("start", parse_date(self.start));

        match (kind, frequency, first, location, minutes, fee, start) {
            (
                Some(kind),
                Some(frequency),
                Some(first),
                Some(location),
                Some(minutes),
                Some(fee),
                Some(start),
            ) if errors.is_empty() => {
                let mut times: Vec<WeeklyTime> =
                    [Some(first), second].into_iter().flatten().collect();
                times.sort_by_key(WeeklyTime::key);
                Ok(ContractTerms {
                    kind,
                    frequency,
                    times,
                    location,
                    minutes,
                    fee,
                    start,
                    policy_version,
                })
            }
            _ => Err(errors),
        }
    }

    /// The fields of brief work: focus, number of sessions, reviews.
    fn brief(&self, errors: &mut FieldErrors) -> Option<ContractKind> {
        let focus = errors.check(
            "focus",
            parse_text(self.focus, "the agreed focus", MAX_FOCUS_CHARS, true),
        );
        let sessions = errors.check(
            "sessions",
            required(self.sessions, "Enter the number of sessions, like 12")
                .and_then(|raw| parse_whole(raw, "the number of sessions", 1..=100)),
        );
        let reviews_at = errors.check("reviews_at", parse_reviews(self.reviews_at, sessions));
        Some(ContractKind::Brief {
            focus: focus?,
            sessions: sessions?,
            reviews_at: reviews_at?,
        })
    }

    /// The fields of open-ended work: how often to review.
    fn open_ended(&self, errors: &mut FieldErrors) -> Option<ContractKind> {
        let review_every_weeks = errors.check(
            "review_every_weeks",
            required(
                self.review_every_weeks,
                "Enter how often to review the work in weeks, like 6",
            )
            .and_then(|raw| parse_whole(raw, "the weeks between reviews", 1..=52)),
        )?;
        Some(ContractKind::OpenEnded { review_every_weeks })
    }
}

/// The trimmed text, or `message` if there is none.
fn required<'a>(raw: &'a str, message: &str) -> Result<&'a str, TextError> {
    let text = raw.trim();
    if text.is_empty() {
        Err(TextError(message.into()))
    } else {
        Ok(text)
    }
}

/// One regular time from its day and time fields, each given as (field, raw text, message when
/// missing).
fn regular_time(
    errors: &mut FieldErrors,
    (day_field, day, choose_day): (&'static str, &str, &str),
    (time_field, time, enter_time): (&'static str, &str, &str),
) -> Option<WeeklyTime> {
    let weekday = errors.check(day_field, parse_day(day, choose_day));
    let time = errors.check(time_field, parse_start_time(time, enter_time));
    Some(WeeklyTime {
        weekday: weekday?,
        time: time?,
    })
}

/// A day of the week; anything else (blank included) gets `choose`.
fn parse_day(raw: &str, choose: &str) -> Result<Weekday, TextError> {
    parse_weekday(raw).map_err(|_| TextError(choose.into()))
}

/// A time a session can start at; blank gets `missing`.
fn parse_start_time(raw: &str, missing: &str) -> Result<Time, TextError> {
    let raw = required(raw, missing)?;
    match parse_time(raw)? {
        // "24:00" closes opening hours; nothing starts then.
        Time::MAX => Err(TextError("Enter a time from 00:00 to 23:59".into())),
        time => Ok(time),
    }
}

fn parse_location(raw: &str, locations: &[Slug]) -> Result<Slug, TextError> {
    let choose = || TextError("Choose where sessions take place".into());
    let slug = Slug::parse(raw).map_err(|_| choose())?;
    if locations.contains(&slug) {
        Ok(slug)
    } else {
        Err(choose())
    }
}

/// Review session numbers: whole numbers separated by commas or spaces, each between 1 and the
/// number of sessions (or 100 while that is unknown); sorted, without repeats. Blank is none.
fn parse_reviews(raw: &str, sessions: Option<u32>) -> Result<Vec<u32>, TextError> {
    let most = sessions.unwrap_or(100);
    let mut reviews = Vec::new();
    for part in raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
    {
        let Ok(number) = part.parse::<u32>() else {
            return Err(TextError(
                "Enter the review sessions as session numbers separated by commas, like 6, 12"
                    .into(),
            ));
        };
        if !(1..=most).contains(&number) {
            return Err(TextError(match sessions {
                Some(sessions) => {
                    format!("Choose review sessions from 1 to {sessions}, the number of sessions")
                }
                None => "Choose review sessions from 1 to 100".into(),
            }));
        }
        reviews.push(number);
    }
    reviews.sort_unstable();
    reviews.dedup();
    Ok(reviews)
}

/// A date typed as YYYY-MM-DD (what a date input sends).
fn parse_date(raw: &str) -> Result<Date, TextError> {
    let text = required(raw, "Enter the date sessions start, like 2027-09-06")?;
    let wrong = || TextError("Enter the start date as year, month and day, like 2027-09-06".into());
    let mut parts = text.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(wrong());
    };
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return Err(wrong());
    }
    let number = |part: &str| part.parse::<i16>().map_err(|_| wrong());
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    let (Ok(month), Ok(day)) = (i8::try_from(month), i8::try_from(day)) else {
        return Err(wrong());
    };
    Date::new(year, month, day).map_err(|_| TextError("Enter a real date, like 2027-09-06".into()))
}

#[cfg(test)]
mod tests {
    use jiff::civil::{date, time};

    use super::*;

    fn locations() -> Vec<Slug> {
        ["balham", "online"]
            .into_iter()
            .map(|s| Slug::parse(s).unwrap())
            .collect()
    }

    fn brief_form() -> ContractForm<'static> {
        ContractForm {
            kind: "brief",
            focus: "  Worry about work and sleep.\r\nPanic on the Tube.  ",
            sessions: "12",
            reviews_at: "12, 6 6",
            review_every_weeks: "6",
            frequency: "weekly",
            day: "monday",
            time: "09:00",
            day2: "monday",
            time2: "",
            location: "balham",
            minutes: "50",
            fee: "£75",
            start: "2027-09-06",
        }
    }

    fn open_ended_form() -> ContractForm<'static> {
        ContractForm {
            kind: "open_ended",
            focus: "",
            sessions: "",
            reviews_at: "",
            review_every_weeks: "8",
            frequency: "twice_weekly",
            day: "thursday",
            time: "17:30",
            day2: "tuesday",
            time2: "08:15",
            location: "online",
            minutes: "60",
            fee: "62.50",
            start: "2027-01-04",
        }
    }

    fn errors_of(form: &ContractForm<'_>) -> FieldErrors {
        form.parse(&locations(), 3).unwrap_err()
    }

    #[test]
    fn parses_a_brief_contract() {
        let terms = brief_form().parse(&locations(), 3).unwrap();
        assert_eq!(
            terms.kind,
            ContractKind::Brief {
                focus: "Worry about work and sleep.\nPanic on the Tube.".into(),
                sessions: 12,
                reviews_at: vec![6, 12],
            }
        );
        assert_eq!(terms.frequency, Frequency::Weekly);
        assert_eq!(
            terms.times,
            [WeeklyTime {
                weekday: Weekday::Monday,
                time: time(9, 0, 0, 0)
            }],
            "the second time of weekly work is ignored"
        );
        assert_eq!(terms.location.as_str(), "balham");
        assert_eq!(terms.minutes, 50);
        assert_eq!(terms.fee, Pence::new(7500));
        assert_eq!(terms.start, date(2027, 9, 6));
        assert_eq!(terms.policy_version, 3);
    }

    #[test]
    fn parses_open_ended_work_twice_a_week_with_times_in_week_order() {
        let terms = open_ended_form().parse(&locations(), 1).unwrap();
        assert_eq!(
            terms.kind,
            ContractKind::OpenEnded {
                review_every_weeks: 8
            }
        );
        assert_eq!(terms.frequency, Frequency::TwiceWeekly);
        assert_eq!(
            terms.times,
            [
                WeeklyTime {
                    weekday: Weekday::Tuesday,
                    time: time(8, 15, 0, 0)
                },
                WeeklyTime {
                    weekday: Weekday::Thursday,
                    time: time(17, 30, 0, 0)
                },
            ]
        );
        assert_eq!(terms.fee, Pence::new(6250));
        // Leftover brief fields do not matter.
        let form = ContractForm {
            sessions: "lots",
            reviews_at: "x",
            ..open_ended_form()
        };
        assert!(form.parse(&locations(), 1).is_ok());
        // Nor does an empty review list for brief work.
        let form = ContractForm {
            reviews_at: " ",
            ..brief_form()
        };
        let terms = form.parse(&locations(), 1).unwrap();
        assert!(
            matches!(terms.kind, ContractKind::Brief { reviews_at, .. } if reviews_at.is_empty())
        );
    }

    #[test]
    fn an_empty_form_reports_every_field_in_form_order() {
        let errors = errors_of(&ContractForm::default());
        let fields: Vec<_> = errors.iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            [
                "kind",
                "frequency",
                "day",
                "time",
                "location",
                "minutes",
                "fee",
                "start"
            ]
        );
        assert_eq!(
            errors.get("frequency"),
            Some("Choose how often you will meet")
        );
        assert_eq!(
            errors.get("day"),
            Some("Choose the day of the week for sessions")
        );
        assert_eq!(
            errors.get("time"),
            Some("Enter the time sessions start, like 09:00")
        );
        assert_eq!(
            errors.get("location"),
            Some("Choose where sessions take place")
        );
        assert_eq!(
            errors.get("minutes"),
            Some("Enter the length of each session in minutes, like 50")
        );
        assert_eq!(
            errors.get("fee"),
            Some("Enter the fee for each session, like 75")
        );
        assert_eq!(
            errors.get("start"),
            Some("Enter the date sessions start, like 2027-09-06")
        );
    }

    #[test]
    fn brief_work_needs_a_focus_and_a_number_of_sessions() {
        let errors = errors_of(&ContractForm {
            focus: " ",
            sessions: "",
            ..brief_form()
        });
        assert_eq!(errors.get("focus"), Some("Enter the agreed focus"));
        assert_eq!(
            errors.get("sessions"),
            Some("Enter the number of sessions, like 12")
        );

        let long = "x".repeat(MAX_FOCUS_CHARS + 1);
        let errors = errors_of(&ContractForm {
            focus: &long,
            sessions: "101",
            ..brief_form()
        });
        assert!(
            errors
                .get("focus")
                .unwrap()
                .starts_with("Shorten the agreed focus")
        );
        assert_eq!(
            errors.get("sessions"),
            Some("Enter the number of sessions as a whole number from 1 to 100")
        );
        for bad in ["0", "12.5", "-3", "twelve"] {
            let errors = errors_of(&ContractForm {
                sessions: bad,
                ..brief_form()
            });
            assert!(
                errors.get("sessions").is_some(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn reviews_must_be_session_numbers_within_the_contract() {
        let errors = errors_of(&ContractForm {
            reviews_at: "6; 12",
            ..brief_form()
        });
        assert_eq!(
            errors.get("reviews_at"),
            Some("Enter the review sessions as session numbers separated by commas, like 6, 12")
        );
        let errors = errors_of(&ContractForm {
            reviews_at: "6, 13",
            ..brief_form()
        });
        assert_eq!(
            errors.get("reviews_at"),
            Some("Choose review sessions from 1 to 12, the number of sessions")
        );
        let errors = errors_of(&ContractForm {
            reviews_at: "0",
            sessions: "",
            ..brief_form()
        });
        assert_eq!(
            errors.get("reviews_at"),
            Some("Choose review sessions from 1 to 100")
        );
    }

    #[test]
    fn open_ended_work_needs_a_review_interval() {
        let errors = errors_of(&ContractForm {
            review_every_weeks: "",
            ..open_ended_form()
        });
        assert_eq!(
            errors.get("review_every_weeks"),
            Some("Enter how often to review the work in weeks, like 6")
        );
        let errors = errors_of(&ContractForm {
            review_every_weeks: "53",
            ..open_ended_form()
        });
        assert_eq!(
            errors.get("review_every_weeks"),
            Some("Enter the weeks between reviews as a whole number from 1 to 52")
        );
    }

    #[test]
    fn refuses_an_unknown_kind_or_frequency() {
        let errors = errors_of(&ContractForm {
            kind: "forever",
            frequency: "daily",
            ..brief_form()
        });
        assert_eq!(
            errors.get("kind"),
            Some("Choose brief work or open-ended work")
        );
        assert_eq!(
            errors.get("frequency"),
            Some("Choose how often you will meet")
        );
        assert_eq!(
            errors.get("focus"),
            None,
            "no kind, so no kind-specific checks"
        );
    }

    #[test]
    fn twice_weekly_needs_a_second_time_on_a_different_day() {
        let errors = errors_of(&ContractForm {
            day2: "",
            time2: "",
            ..open_ended_form()
        });
        assert_eq!(
            errors.get("day2"),
            Some("Choose the day of the week for the second session")
        );
        assert_eq!(
            errors.get("time2"),
            Some("Enter the time the second session starts, like 17:30")
        );

        let errors = errors_of(&ContractForm {
            day2: "Thu",
            ..open_ended_form()
        });
        assert_eq!(
            errors.get("day2"),
            Some("Choose a different day for the second session")
        );
        assert_eq!(errors.iter().count(), 1);
    }

    #[test]
    fn refuses_bad_days_and_times() {
        let errors = errors_of(&ContractForm {
            day: "someday",
            time: "9am",
            ..brief_form()
        });
        assert_eq!(
            errors.get("day"),
            Some("Choose the day of the week for sessions")
        );
        assert_eq!(
            errors.get("time"),
            Some("Enter a time like 09:00 or 17:30 (not “9am”)")
        );
        let errors = errors_of(&ContractForm {
            time: "24:00",
            ..brief_form()
        });
        assert_eq!(errors.get("time"), Some("Enter a time from 00:00 to 23:59"));
    }

    #[test]
    fn refuses_a_place_the_practice_does_not_have() {
        for bad in ["chancery-lane", "Balham!", " "] {
            let errors = errors_of(&ContractForm {
                location: bad,
                ..brief_form()
            });
            assert_eq!(
                errors.get("location"),
                Some("Choose where sessions take place"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_lengths_fees_and_dates() {
        let errors = errors_of(&ContractForm {
            minutes: "5",
            fee: "7.5",
            start: "6/9/2027",
            ..brief_form()
        });
        assert_eq!(
            errors.get("minutes"),
            Some("Enter the session length in minutes as a whole number from 10 to 240")
        );
        assert_eq!(
            errors.get("fee"),
            Some("Enter an amount in pounds, like 75 or 62.50")
        );
        assert_eq!(
            errors.get("start"),
            Some("Enter the start date as year, month and day, like 2027-09-06")
        );
        for bad in [
            "2027-9-6",
            "20270906",
            "2027-09-06T09:00",
            "2027-09-06-01",
            "+027-09-06",
        ] {
            let errors = errors_of(&ContractForm {
                start: bad,
                ..brief_form()
            });
            assert!(errors.get("start").is_some(), "{bad:?} should be refused");
        }
        let errors = errors_of(&ContractForm {
            start: "2027-02-29",
            ..brief_form()
        });
        assert_eq!(
            errors.get("start"),
            Some("Enter a real date, like 2027-09-06")
        );
        assert_eq!(
            brief_form().parse(&locations(), 1).map(|t| t.start).ok(),
            Some(date(2027, 9, 6))
        );
    }
}
