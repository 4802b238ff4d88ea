//! Data rights (UK GDPR arts. 15 and 17; SECURITY.md R16, R17): when a subject access request
//! must be answered, and when a client's record is due for review under the retention policy.
//!
//! The ICO's rule for the time limit (<https://ico.org.uk/for-organisations/uk-gdpr-guidance-and-resources/individual-rights/right-of-access/>):
//! the day the request is received counts as day 1 and the answer is due on the
//! corresponding calendar date of the next month; if the next month has no such date, the
//! last day of that month; if the date falls on a weekend, the next working day. A complex
//! request may be extended by two further months, counted the same way from receipt.
//!
//! Weekends only: bank holidays are NOT counted here (the dates vary by nation and year, and
//! a wrong holiday table would give a late date). A therapist whose date lands on a bank
//! holiday has until the next working day, which is always later than the date shown.

use jiff::civil::{Date, Weekday};

/// The day a subject access request must be answered by: one calendar month after the day
/// it was received, then the next Monday if that is a Saturday or Sunday.
pub fn due_date(received: Date) -> Date {
    next_working_day(months_later(received, 1))
}

/// The latest answer date after extending a request by two further months (three calendar
/// months from receipt, same rules).
pub fn extended_due_date(received: Date) -> Date {
    next_working_day(months_later(received, 3))
}

/// The day a client's record becomes due for review: `years` after their last session (or,
/// with none, the day they were added); 29 February becomes 28 February in other years.
pub fn review_from(last_session_or_created: Date, years: u32) -> Date {
    months_later(last_session_or_created, years.saturating_mul(12))
}

/// The same day `months` calendar months later, or the last day of that month if it is shorter.
fn months_later(date: Date, months: u32) -> Date {
    let total = i64::from(date.year()) * 12 + i64::from(date.month() - 1) + i64::from(months);
    // Dates stay within jiff's range for any retention this app allows (at most 30 years).
    let year = i16::try_from(total.div_euclid(12))
        .unwrap_or(i16::MAX)
        .min(9999);
    let month = i8::try_from(total.rem_euclid(12) + 1).unwrap_or(12);
    let first = Date::new(year, month, 1).unwrap_or(Date::MAX);
    let day = date.day().min(first.days_in_month());
    Date::new(year, month, day).unwrap_or(Date::MAX)
}

/// Saturday and Sunday move to the Monday after.
fn next_working_day(date: Date) -> Date {
    let skip = match date.weekday() {
        Weekday::Saturday => 2,
        Weekday::Sunday => 1,
        _ => 0,
    };
    date.checked_add(jiff::Span::new().days(skip))
        .unwrap_or(date)
}

/// Why a record is kept, or an erasure refused: written by the therapist, kept with the
/// decision. Never empty; at most 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// The longest reason accepted.
    pub const MAX_CHARS: usize = 2000;

    /// Parse what the therapist typed.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let text = raw.trim().replace("\r\n", "\n");
        if text.is_empty() {
            return Err("Write the reason, in a sentence or two");
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err("Shorten the reason to 2,000 characters or fewer");
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("Remove the unusual characters from the reason");
        }
        Ok(Self(text))
    }

    /// The reason as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn due_dates_follow_the_ico_rule() {
        // (what the row shows, received, due, extended due)
        let table = [
            (
                "an ordinary Wednesday",
                date(2027, 3, 3),
                date(2027, 4, 5), // 3 April 2027 is a Saturday
                date(2027, 6, 3),
            ),
            (
                "due on a Saturday: the Monday after",
                date(2027, 3, 10),
                date(2027, 4, 12), // 10 April 2027 is a Saturday → Monday 12th
                date(2027, 6, 10),
            ),
            (
                "due on a Sunday: the Monday after",
                date(2027, 3, 18),
                date(2027, 4, 19), // 18 April 2027 is a Sunday → Monday 19th
                date(2027, 6, 18),
            ),
            (
                "due on a weekday: that day",
                date(2027, 1, 12),
                date(2027, 2, 12),
                date(2027, 4, 12),
            ),
            (
                "31 January: February is shorter (not a leap year)",
                date(2027, 1, 31),
                date(2027, 3, 1), // 28 February 2027 is a Sunday → Monday 1 March
                date(2027, 4, 30),
            ),
            (
                "31 January in a leap year: 29 February",
                date(2028, 1, 31),
                date(2028, 2, 29), // a Tuesday
                date(2028, 5, 1),  // 30 April 2028 is a Sunday
            ),
            (
                "29 February: 29 March",
                date(2028, 2, 29),
                date(2028, 3, 29),
                date(2028, 5, 29),
            ),
            (
                "31 March: 30 April",
                date(2026, 3, 31),
                date(2026, 4, 30),
                date(2026, 6, 30),
            ),
            (
                "31 August: 30 September; extension ends 30 November",
                date(2026, 8, 31),
                date(2026, 9, 30),
                date(2026, 11, 30),
            ),
            (
                "December to January, over the year end",
                date(2026, 12, 15),
                date(2027, 1, 15),
                date(2027, 3, 15),
            ),
            (
                "31 December: 31 January",
                date(2026, 12, 31),
                date(2027, 2, 1), // 31 January 2027 is a Sunday
                date(2027, 3, 31),
            ),
            (
                "received on a Saturday still counts from that day",
                date(2027, 3, 6),
                date(2027, 4, 6),
                date(2027, 6, 7), // 6 June 2027 is a Sunday
            ),
            (
                "30 November: extension lands on 28 February",
                date(2026, 11, 30),
                date(2026, 12, 30),
                date(2027, 3, 1), // 28 February 2027 is a Sunday
            ),
        ];
        for (row, received, due, extended) in table {
            assert_eq!(due_date(received), due, "due: {row}");
            assert_eq!(extended_due_date(received), extended, "extended: {row}");
        }
    }

    #[test]
    fn review_dates_count_whole_years() {
        let table = [
            ("seven years on", date(2020, 5, 14), 7, date(2027, 5, 14)),
            ("a leap day", date(2024, 2, 29), 7, date(2031, 2, 28)),
            (
                "a leap day, four years",
                date(2024, 2, 29),
                4,
                date(2028, 2, 29),
            ),
            ("one year", date(2026, 12, 31), 1, date(2027, 12, 31)),
        ];
        for (row, from, years, expected) in table {
            assert_eq!(review_from(from, years), expected, "{row}");
        }
    }

    #[test]
    fn reasons_are_written_and_bounded() {
        assert!(Reason::parse("  ").is_err());
        assert!(Reason::parse(&"a".repeat(2001)).is_err());
        assert!(Reason::parse("bad \u{7} bell").is_err());
        assert_eq!(
            Reason::parse(" Insurer's claim is open\r\nuntil June ")
                .unwrap()
                .as_str(),
            "Insurer's claim is open\nuntil June"
        );
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1990i16..2100, 1i8..=12, 1i8..=31).prop_map(|(y, m, d)| {
            let first = date(y, m, 1);
            date(y, m, d.min(first.days_in_month()))
        })
    }

    proptest! {
        #[test]
        fn the_due_date_is_a_weekday_about_a_month_later(received in any_date()) {
            let due = due_date(received);
            prop_assert!(!matches!(due.weekday(), Weekday::Saturday | Weekday::Sunday));
            let days = received.until(due).unwrap().get_days();
            // 28 days (February) to 31, plus at most two for a weekend.
            prop_assert!((28..=33).contains(&days), "{received} → {due}: {days} days");
            let extended = extended_due_date(received);
            prop_assert!(extended > due);
            prop_assert!(!matches!(extended.weekday(), Weekday::Saturday | Weekday::Sunday));
        }

        #[test]
        fn a_later_receipt_is_never_due_sooner(a in any_date(), b in any_date()) {
            let (first, second) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(due_date(first) <= due_date(second));
            prop_assert!(extended_due_date(first) <= extended_due_date(second));
        }

        #[test]
        fn review_keeps_the_day_unless_the_month_is_shorter(from in any_date(), years in 1u32..=30) {
            let review = review_from(from, years);
            prop_assert_eq!(i32::from(review.year()), i32::from(from.year()) + years as i32);
            prop_assert_eq!(review.month(), from.month());
            prop_assert!(review.day() == from.day() || (from.month() == 2 && from.day() == 29 && review.day() == 28));
        }
    }
}
