//! Clashes in words.

use super::*;

/// How far ahead the client list looks for each client's next session (as far as open-ended
/// work is planned).
pub(crate) const LOOK_AHEAD_DAYS: i64 = 400;

/// "Monday 12 April 2027 at 9am and Monday 19 April 2027 at 9am" (at most five, then how
/// many more), and the verb that goes with it.
pub(crate) fn clash_dates(view: &PracticeView, starts: &[Timestamp]) -> (String, &'static str) {
    const SHOWN: usize = 5;
    let mut dates: Vec<String> = starts.iter().take(SHOWN).map(|s| view.when(*s)).collect();
    let more = starts.len().saturating_sub(SHOWN);
    if more > 0 {
        dates.push(format!(
            "{more} more session{}",
            if more == 1 { "" } else { "s" }
        ));
    }
    let list = match dates.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => dates.concat(),
    };
    (
        list,
        if starts.len() == 1 {
            "clashes"
        } else {
            "clash"
        },
    )
}

/// "Monday 12 April 2027 at 9am clashes with another appointment. …"
pub(crate) fn clash_message(view: &PracticeView, starts: &[Timestamp]) -> String {
    let (dates, verb) = clash_dates(view, starts);
    format!(
        "{dates} {verb} with another appointment. Choose another time, or move the other \
         appointment first"
    )
}
