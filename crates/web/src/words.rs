//! How dates, times and amounts of time read, the same on every page and in every email:
//! "Monday 29 March 2027", "9am", "9:30am", "24 hours". UK English, days before months, a
//! 12-hour clock as people say it. Every room formats through here rather than writing its
//! own `strftime` pattern.

use jiff::civil::{Date, DateTime, Time};

/// "29 March 2027".
pub(crate) fn date(day: Date) -> String {
    day.strftime("%-d %B %Y").to_string()
}

/// "Monday 29 March 2027".
pub(crate) fn weekday_date(day: Date) -> String {
    day.strftime("%A %-d %B %Y").to_string()
}

/// "Monday 29 March" (where the year goes without saying: a list of the coming weeks).
pub(crate) fn weekday_day_month(day: Date) -> String {
    day.strftime("%A %-d %B").to_string()
}

/// "March 2027".
pub(crate) fn month(day: Date) -> String {
    day.strftime("%B %Y").to_string()
}

/// "9am", "9:30am", "12pm", "12:05am" for a wall-clock time.
pub(crate) fn clock(time: Time) -> String {
    let hour = time.hour();
    let suffix = if hour < 12 { "am" } else { "pm" };
    let hour12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    if time.minute() == 0 {
        format!("{hour12}{suffix}")
    } else {
        format!("{hour12}:{:02}{suffix}", time.minute())
    }
}

/// "Monday 29 March 2027 at 9am".
pub(crate) fn weekday_date_at(local: DateTime) -> String {
    format!("{} at {}", weekday_date(local.date()), clock(local.time()))
}

/// "29 March 2027, 14:05" (a record's time: the 24-hour clock, to the minute).
pub(crate) fn date_and_time(local: DateTime) -> String {
    local.strftime("%-d %B %Y, %H:%M").to_string()
}

/// "29 March 2027 at 14:05".
pub(crate) fn date_at_time(local: DateTime) -> String {
    local.strftime("%-d %B %Y at %H:%M").to_string()
}

/// "29 Mar 2027, 14:05:09" (the audit log: short months, to the second).
pub(crate) fn audit_time(local: DateTime) -> String {
    local.strftime("%-d %b %Y, %H:%M:%S").to_string()
}

/// "14:05" (the 24-hour clock, for times shown beside a record).
pub(crate) fn hours_minutes(local: DateTime) -> String {
    local.strftime("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date as civil_date, time};

    #[test]
    fn dates_read_day_first_in_words() {
        let day = civil_date(2027, 3, 1);
        assert_eq!(date(day), "1 March 2027");
        assert_eq!(weekday_date(day), "Monday 1 March 2027");
        assert_eq!(weekday_day_month(day), "Monday 1 March");
        assert_eq!(month(day), "March 2027");
    }

    #[test]
    fn times_read_as_people_say_them() {
        assert_eq!(clock(time(9, 0, 0, 0)), "9am");
        assert_eq!(clock(time(9, 30, 0, 0)), "9:30am");
        assert_eq!(clock(time(12, 0, 0, 0)), "12pm");
        assert_eq!(clock(time(0, 5, 0, 0)), "12:05am");
        assert_eq!(clock(time(17, 50, 0, 0)), "5:50pm");
    }

    #[test]
    fn a_moment_reads_with_its_day_and_time() {
        let local = civil_date(2027, 3, 29).at(14, 5, 9, 0);
        assert_eq!(weekday_date_at(local), "Monday 29 March 2027 at 2:05pm");
        assert_eq!(date_and_time(local), "29 March 2027, 14:05");
        assert_eq!(date_at_time(local), "29 March 2027 at 14:05");
        assert_eq!(audit_time(local), "29 Mar 2027, 14:05:09");
        assert_eq!(hours_minutes(local), "14:05");
    }
}
