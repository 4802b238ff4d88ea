//! The cancellation policy: one version of a practice's rules as data, and the pure function
//! that turns what the therapist recorded about a session into a charge, with a sentence
//! naming the rule (and the policy version) that produced it.
//!
//! Nothing here reads the clock or the database: the caller passes the session's start, when
//! the client cancelled, and the starts of the client's earlier free late cancellations.

use std::ops::RangeInclusive;

use jiff::{SignedDuration, Timestamp};

use crate::{FieldErrors, Pence};

/// Allowed notice, in hours (two weeks at most).
pub const NOTICE_HOURS: RangeInclusive<u32> = 0..=336;
/// Allowed grace after the notice deadline, in minutes (a day at most).
pub const GRACE_MINUTES: RangeInclusive<u32> = 0..=1440;
/// Allowed percentage of the fee for a charge.
pub const PERCENT: RangeInclusive<u32> = 0..=100;
/// Allowed number of free late cancellations in the rolling period.
pub const FREE_LATE_CANCELLATIONS: RangeInclusive<u32> = 0..=12;
/// Allowed length of the rolling period for free late cancellations, in days.
pub const FREE_PERIOD_DAYS: RangeInclusive<u32> = 1..=366;

/// A practice's cancellation policy, one version of it. Versions are kept: a contract records
/// the version the client agreed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CancellationPolicy {
    pub version: u32,
    /// Notice the client must give to cancel without charge, in hours (0–336).
    pub notice_hours: u32,
    /// A cancellation up to this many minutes after the notice deadline is still in time
    /// (0–1440). It never reaches past the session's start.
    pub grace_minutes: u32,
    /// Percentage of the session fee charged for a late cancellation (0–100).
    pub late_cancellation_percent: u32,
    /// Percentage of the fee charged when the client does not attend (0–100).
    pub did_not_attend_percent: u32,
    /// How many late cancellations are free of charge in any rolling period (0 = none).
    pub free_late_cancellations: u32,
    /// The rolling period for that allowance, in days (1–366).
    pub free_period_days: u32,
}

impl Default for CancellationPolicy {
    /// Version 1: 48 hours' notice, no grace, full fee for late cancellations and missed
    /// sessions, no free late cancellations.
    fn default() -> Self {
        Self {
            version: 1,
            notice_hours: 48,
            grace_minutes: 0,
            late_cancellation_percent: 100,
            did_not_attend_percent: 100,
            free_late_cancellations: 0,
            free_period_days: 365,
        }
    }
}

impl CancellationPolicy {
    /// The policy in one short paragraph a client can read.
    ///
    /// The grace period is left out: it is the practice's leniency, and a client who keeps to
    /// the stated notice is never worse off for not knowing it.
    pub fn summary(&self) -> String {
        let mut text = if self.notice_hours == 0 {
            "If you need to cancel, please do so before your session starts.".to_string()
        } else {
            format!(
                "Please give at least {} notice if you need to cancel.",
                possessive(self.notice_hours, "hour")
            )
        };
        let late = self.late_cancellation_percent.min(100);
        let missed = self.did_not_attend_percent.min(100);
        text.push(' ');
        text.push_str(&match (late, missed) {
            (0, 0) => "There is no charge for late cancellations or for sessions missed without \
                       notice."
                .to_string(),
            (0, m) => format!(
                "Late cancellations are not charged; sessions missed without notice are charged \
                 at {m}% of the session fee."
            ),
            (l, 0) => format!(
                "Late cancellations are charged at {l}% of the session fee; sessions missed \
                 without notice are not charged."
            ),
            (l, m) => format!(
                "Late cancellations are charged at {l}% of the session fee, and sessions missed \
                 without notice at {m}%."
            ),
        });
        // An allowance only means something when late cancellations cost something.
        let free = self.free_late_cancellations;
        if late > 0 && free > 0 {
            let (noun, verb) = if free == 1 {
                ("late cancellation", "is")
            } else {
                ("late cancellations", "are")
            };
            text.push_str(&format!(
                " {} {noun} in {} {verb} free of charge.",
                capitalised(&number_word(free)),
                any_period(self.free_period_days)
            ));
        }
        text
    }
}

/// What the therapist records about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The client came.
    Attended,
    /// The client cancelled, telling the practice at `told_at`.
    ClientCancelled { told_at: Timestamp },
    /// The client did not come and did not cancel.
    DidNotAttend,
    /// The therapist cancelled.
    TherapistCancelled,
}

/// The outcome of a session as the policy classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Attended,
    CancelledInTime,
    LateCancellation,
    DidNotAttend,
    CancelledByTherapist,
}

impl Outcome {
    /// Every outcome, in the order a form lists them.
    pub const ALL: [Self; 5] = [
        Self::Attended,
        Self::CancelledInTime,
        Self::LateCancellation,
        Self::DidNotAttend,
        Self::CancelledByTherapist,
    ];

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attended => "attended",
            Self::CancelledInTime => "cancelled_in_time",
            Self::LateCancellation => "late_cancellation",
            Self::DidNotAttend => "did_not_attend",
            Self::CancelledByTherapist => "cancelled_by_therapist",
        }
    }

    /// Parse the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == raw)
    }

    /// For people: "Attended", "Cancelled in time", …
    pub fn label(self) -> &'static str {
        match self {
            Self::Attended => "Attended",
            Self::CancelledInTime => "Cancelled in time",
            Self::LateCancellation => "Late cancellation",
            Self::DidNotAttend => "Did not attend",
            Self::CancelledByTherapist => "Cancelled by therapist",
        }
    }
}

/// What the policy says about one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub outcome: Outcome,
    /// What the client owes for this session (the full fee when attended).
    pub charge: Pence,
    /// True when this late cancellation used the free allowance.
    pub used_free_allowance: bool,
    /// The rule that produced the charge, in a sentence a client can read, naming the policy
    /// version when the policy decided it.
    pub rule: String,
}

/// Apply the policy to one session.
///
/// `earlier_free` are the session starts of this client's earlier late cancellations that used
/// the free allowance, in any order; those at or after `session_start` are ignored. The free
/// allowance is only used when there is a charge to waive (a 0% policy or a zero fee keeps it).
pub fn assess(
    policy: &CancellationPolicy,
    fee: Pence,
    session_start: Timestamp,
    recorded: Recorded,
    earlier_free: &[Timestamp],
) -> Assessment {
    let version = policy.version;
    match recorded {
        Recorded::Attended => Assessment {
            outcome: Outcome::Attended,
            charge: fee,
            used_free_allowance: false,
            rule: "Attended: the session fee.".to_string(),
        },
        Recorded::TherapistCancelled => Assessment {
            outcome: Outcome::CancelledByTherapist,
            charge: Pence::new(0),
            used_free_allowance: false,
            rule: "Cancelled by the therapist: no charge.".to_string(),
        },
        Recorded::DidNotAttend => {
            let percent = policy.did_not_attend_percent.min(100);
            let rule = if percent == 0 {
                format!("Did not attend: no charge (policy version {version}).")
            } else {
                format!("Did not attend: {percent}% of the {fee} fee (policy version {version}).")
            };
            Assessment {
                outcome: Outcome::DidNotAttend,
                charge: percent_of(fee, percent),
                used_free_allowance: false,
                rule,
            }
        }
        Recorded::ClientCancelled { told_at } => {
            cancellation(policy, fee, session_start, told_at, earlier_free)
        }
    }
}

/// A client's cancellation: in time, free under the allowance, or charged.
fn cancellation(
    policy: &CancellationPolicy,
    fee: Pence,
    session_start: Timestamp,
    told_at: Timestamp,
    earlier_free: &[Timestamp],
) -> Assessment {
    let version = policy.version;
    let notice = session_start.duration_since(told_at);
    let required = SignedDuration::from_hours(i64::from(policy.notice_hours));
    let grace = SignedDuration::from_mins(i64::from(policy.grace_minutes));
    // told_at <= start - notice + grace, written as notice given >= notice - grace so nothing
    // can overflow; the grace never reaches past the start (a cancellation once the session
    // has begun is always late).
    let least = (required - grace).max(SignedDuration::ZERO);

    if notice >= least {
        let asks = if policy.notice_hours == 0 {
            "asks for no notice".to_string()
        } else if notice >= SignedDuration::from_hours(1) {
            // Both in hours: "72 hours' notice (… asks for 48)".
            format!("asks for {}", policy.notice_hours)
        } else {
            format!("asks for {}", count(policy.notice_hours, "hour"))
        };
        let grace_note = if notice < required {
            format!(
                ", with {} grace",
                possessive(policy.grace_minutes, "minute")
            )
        } else {
            String::new()
        };
        return Assessment {
            outcome: Outcome::CancelledInTime,
            charge: Pence::new(0),
            used_free_allowance: false,
            rule: format!(
                "Cancelled with {} (the policy, version {version}, {asks}{grace_note}): no charge.",
                notice_given(notice)
            ),
        };
    }

    let percent = policy.late_cancellation_percent.min(100);
    let charge = percent_of(fee, percent);
    let allowance = policy.free_late_cancellations;
    if charge.get() > 0 && allowance > 0 {
        let period = SignedDuration::from_hours(i64::from(policy.free_period_days) * 24);
        let used = earlier_free
            .iter()
            .filter(|earlier| {
                let ago = session_start.duration_since(**earlier);
                ago > SignedDuration::ZERO && ago < period
            })
            .count();
        if used < allowance as usize {
            let which = if allowance == 1 {
                "the one free late cancellation".to_string()
            } else {
                format!(
                    "the {} of {allowance} free late cancellations",
                    ordinal(used + 1)
                )
            };
            return Assessment {
                outcome: Outcome::LateCancellation,
                charge: Pence::new(0),
                used_free_allowance: true,
                rule: format!(
                    "Late cancellation: free — {which} allowed in {} (policy version {version}).",
                    any_period(policy.free_period_days)
                ),
            };
        }
    }

    let why = if notice < SignedDuration::ZERO {
        if policy.notice_hours == 0 {
            format!(
                "cancelled after the session had started, when the policy (version {version}) \
                 asks for cancellation before it starts"
            )
        } else {
            format!(
                "cancelled after the session had started; the policy (version {version}) asks \
                 for {} notice",
                possessive(policy.notice_hours, "hour")
            )
        }
    } else {
        format!(
            "{}, less than the {} the policy (version {version}) asks for",
            notice_given(notice),
            count(policy.notice_hours, "hour")
        )
    };
    let cost = if percent == 0 {
        "No charge.".to_string()
    } else {
        format!("{percent}% of the {fee} fee.")
    };
    Assessment {
        outcome: Outcome::LateCancellation,
        charge,
        used_free_allowance: false,
        rule: format!("Late cancellation: {why}. {cost}"),
    }
}

/// `percent` of `fee`, rounded half up to the whole penny.
fn percent_of(fee: Pence, percent: u32) -> Pence {
    let hundredths = u64::from(fee.get()) * u64::from(percent.min(100));
    // At most 100% of the fee, so it always fits back into a u32.
    Pence::new(u32::try_from((hundredths + 50) / 100).unwrap_or(fee.get()))
}

/// Notice given, whole hours rounded down from an hour up, else whole minutes.
fn notice_given(notice: SignedDuration) -> String {
    let seconds = notice.as_secs().max(0);
    let (hours, minutes) = (seconds / 3600, seconds / 60);
    if hours >= 1 {
        format!("{} notice", possessive_i64(hours, "hour"))
    } else if minutes >= 1 {
        format!("{} notice", possessive_i64(minutes, "minute"))
    } else {
        "less than a minute's notice".to_string()
    }
}

/// "1 hour", "48 hours".
fn count(n: u32, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// "1 hour's", "48 hours'".
fn possessive(n: u32, unit: &str) -> String {
    possessive_i64(i64::from(n), unit)
}

fn possessive_i64(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}'s")
    } else {
        format!("{n} {unit}s'")
    }
}

/// "any day", "any 365 days".
fn any_period(days: u32) -> String {
    if days == 1 {
        "any day".to_string()
    } else {
        format!("any {days} days")
    }
}

/// "one" … "twelve", then digits.
fn number_word(n: u32) -> String {
    const WORDS: [&str; 13] = [
        "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    WORDS
        .get(n as usize)
        .map_or_else(|| n.to_string(), |word| (*word).to_string())
}

/// "first" … "twelfth", then "13th", "21st", ….
fn ordinal(n: usize) -> String {
    const WORDS: [&str; 13] = [
        "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth", "eleventh", "twelfth",
    ];
    match WORDS.get(n) {
        Some(word) if n > 0 => (*word).to_string(),
        _ => {
            let suffix = match (n % 10, n % 100) {
                (_, 11..=13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            format!("{n}{suffix}")
        }
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The raw fields of the cancellation policy settings form.
#[derive(Debug, Clone, Default)]
pub struct PolicyForm<'a> {
    pub notice_hours: &'a str,
    pub grace_minutes: &'a str,
    pub late_cancellation_percent: &'a str,
    pub did_not_attend_percent: &'a str,
    pub free_late_cancellations: &'a str,
    pub free_period_days: &'a str,
}

impl PolicyForm<'_> {
    /// Parse every field into a policy with the given version, collecting every problem.
    /// Percentages may be typed with a `%` sign.
    pub fn parse(&self, version: u32) -> Result<CancellationPolicy, FieldErrors> {
        let mut errors = FieldErrors::new();
        let notice_hours = whole(
            &mut errors,
            "notice_hours",
            self.notice_hours,
            NOTICE_HOURS,
            "the notice in hours",
        );
        let grace_minutes = whole(
            &mut errors,
            "grace_minutes",
            self.grace_minutes,
            GRACE_MINUTES,
            "the grace period in minutes",
        );
        let late_cancellation_percent = whole(
            &mut errors,
            "late_cancellation_percent",
            without_percent_sign(self.late_cancellation_percent),
            PERCENT,
            "the charge for a late cancellation as a percentage of the fee",
        );
        let did_not_attend_percent = whole(
            &mut errors,
            "did_not_attend_percent",
            without_percent_sign(self.did_not_attend_percent),
            PERCENT,
            "the charge for a missed session as a percentage of the fee",
        );
        let free_late_cancellations = whole(
            &mut errors,
            "free_late_cancellations",
            self.free_late_cancellations,
            FREE_LATE_CANCELLATIONS,
            "how many late cancellations are free",
        );
        let free_period_days = whole(
            &mut errors,
            "free_period_days",
            self.free_period_days,
            FREE_PERIOD_DAYS,
            "the period for free late cancellations in days",
        );
        match (
            notice_hours,
            grace_minutes,
            late_cancellation_percent,
            did_not_attend_percent,
            free_late_cancellations,
            free_period_days,
        ) {
            (
                Some(notice_hours),
                Some(grace_minutes),
                Some(late_cancellation_percent),
                Some(did_not_attend_percent),
                Some(free_late_cancellations),
                Some(free_period_days),
            ) => Ok(CancellationPolicy {
                version,
                notice_hours,
                grace_minutes,
                late_cancellation_percent,
                did_not_attend_percent,
                free_late_cancellations,
                free_period_days,
            }),
            _ => Err(errors),
        }
    }
}

fn without_percent_sign(raw: &str) -> &str {
    let raw = raw.trim();
    raw.strip_suffix('%').unwrap_or(raw)
}

/// A whole number (digits only) within `range`, or a message for the field.
fn whole(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    range: RangeInclusive<u32>,
    what: &str,
) -> Option<u32> {
    let raw = raw.trim();
    let value = if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        raw.parse::<u32>()
            .ok()
            .filter(|value| range.contains(value))
    } else {
        None
    };
    if value.is_none() {
        errors.add(
            field,
            format!(
                "Enter {what}, a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        );
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;
    /// Monday 2 February 2026, 10:00 UTC.
    const START: Timestamp = Timestamp::constant(1_770_026_400, 0);
    const FEE: Pence = Pence::new(7000);

    const STRICT: CancellationPolicy = CancellationPolicy {
        version: 2,
        notice_hours: 48,
        grace_minutes: 0,
        late_cancellation_percent: 100,
        did_not_attend_percent: 50,
        free_late_cancellations: 0,
        free_period_days: 365,
    };
    const TWO_FREE: CancellationPolicy = CancellationPolicy {
        free_late_cancellations: 2,
        ..STRICT
    };

    /// What was recorded, with times in seconds before the session's start.
    #[derive(Clone, Copy)]
    enum Rec {
        Attended,
        Told(i64),
        Missed,
        Therapist,
    }

    struct Case {
        name: &'static str,
        policy: CancellationPolicy,
        fee: Pence,
        recorded: Rec,
        /// Earlier free late cancellations, in seconds before the start.
        earlier_free: &'static [i64],
        outcome: Outcome,
        charge: u32,
        used_free: bool,
        rule: &'static str,
    }

    const LATE_20H: &str = "Late cancellation: 20 hours' notice, less than the 48 hours the \
                            policy (version 2) asks for. 100% of the £70 fee.";

    const CASES: &[Case] = &[
        Case {
            name: "attended pays the full fee",
            policy: STRICT,
            fee: FEE,
            recorded: Rec::Attended,
            earlier_free: &[],
            outcome: Outcome::Attended,
            charge: 7000,
            used_free: false,
            rule: "Attended: the session fee.",
        },
        Case {
            name: "the therapist cancelling costs nothing",
            policy: STRICT,
            fee: FEE,
            recorded: Rec::Therapist,
            earlier_free: &[],
            outcome: Outcome::CancelledByTherapist,
            charge: 0,
            used_free: false,
            rule: "Cancelled by the therapist: no charge.",
        },
        Case {
            name: "did not attend is charged its percentage",
            policy: STRICT,
            fee: FEE,
            recorded: Rec::Missed,
            earlier_free: &[],
            outcome: Outcome::DidNotAttend,
            charge: 3500,
            used_free: false,
            rule: "Did not attend: 50% of the £70 fee (policy version 2).",
        },
        Case {
            name: "the free allowance does not apply to not attending",
            policy: TWO_FREE,
            fee: FEE,
            recorded: Rec::Missed,
            earlier_free: &[],
            outcome: Outcome::DidNotAttend,
            charge: 3500,
            used_free: false,
            rule: "Did not attend: 50% of the £70 fee (policy version 2).",
        },
        Case {
            name: "a zero-percent policy charges nothing for not attending",
            policy: CancellationPolicy {
                did_not_attend_percent: 0,
                ..STRICT
            },
            fee: FEE,
            recorded: Rec::Missed,
            earlier_free: &[],
            outcome: Outcome::DidNotAttend,
            charge: 0,
            used_free: false,
            rule: "Did not attend: no charge (policy version 2).",
        },
        Case {
            name: "plenty of notice is in time",
            policy: STRICT,
            fee: FEE,
            recorded: Rec::Told(72 * HOUR),
            earlier_free: &[],
            outcome: Outcome::CancelledInTime,
            charge: 0,
            used_free: false,
            rule: "Cancelled with 72 hours' notice (the policy, version 2, asks for 48): no charge.",
        },
        Case {
            name: "exactly at the deadline is in time",
            policy: STRICT,
            fee: FEE,
            recorded: Rec::Told(48 * HOUR),
            earlier_free: &[],
            outcome: Outcome::CancelledInTime,
            charge: 0,
            used_free: false,
            rule: "Cancelled with 48 hours' notice (the policy, version 2, asks for 48): no charge.",
        },
        Case {
            name: "one second after the deadline is late",
            policy: STRICT,
            fee: FEE,
            recorded: Rec::Told(48 * HOUR - 1),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 7000,
            used_free: false,
            rule: "Late cancellation: 47 hours' notice, less than the 48 hours the policy \
                   (version 2) asks for. 100% of the £70 fee.",
        },
        Case {
            name: "short notice is late",
            policy: STRICT,
            fee: FEE,
            recorded: Rec::Told(20 * HOUR + 59 * 60),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 7000,
            used_free: false,
            rule: LATE_20H,
        },
        Case {
            name: "the last second of the grace period is in time",
            policy: CancellationPolicy {
                grace_minutes: 15,
                ..STRICT
            },
            fee: FEE,
            recorded: Rec::Told(48 * HOUR - 15 * 60),
            earlier_free: &[],
            outcome: Outcome::CancelledInTime,
            charge: 0,
            used_free: false,
            rule: "Cancelled with 47 hours' notice (the policy, version 2, asks for 48, with 15 \
                   minutes' grace): no charge.",
        },
        Case {
            name: "one second past the grace period is late",
            policy: CancellationPolicy {
                grace_minutes: 15,
                ..STRICT
            },
            fee: FEE,
            recorded: Rec::Told(48 * HOUR - 15 * 60 - 1),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 7000,
            used_free: false,
            rule: "Late cancellation: 47 hours' notice, less than the 48 hours the policy \
                   (version 2) asks for. 100% of the £70 fee.",
        },
        Case {
            name: "notice under an hour is given in minutes",
            policy: STRICT,
            fee: FEE,
            recorded: Rec::Told(45 * 60 + 30),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 7000,
            used_free: false,
            rule: "Late cancellation: 45 minutes' notice, less than the 48 hours the policy \
                   (version 2) asks for. 100% of the £70 fee.",
        },
        Case {
            name: "one hour and one minute are singular",
            policy: CancellationPolicy {
                notice_hours: 1,
                grace_minutes: 1,
                ..STRICT
            },
            fee: FEE,
            recorded: Rec::Told(59 * 60),
            earlier_free: &[],
            outcome: Outcome::CancelledInTime,
            charge: 0,
            used_free: false,
            rule: "Cancelled with 59 minutes' notice (the policy, version 2, asks for 1 hour, \
                   with 1 minute's grace): no charge.",
        },
        Case {
            name: "an hour's notice against a one-hour policy",
            policy: CancellationPolicy {
                notice_hours: 1,
                ..STRICT
            },
            fee: FEE,
            recorded: Rec::Told(HOUR),
            earlier_free: &[],
            outcome: Outcome::CancelledInTime,
            charge: 0,
            used_free: false,
            rule: "Cancelled with 1 hour's notice (the policy, version 2, asks for 1): no charge.",
        },
        Case {
            name: "seconds of notice are less than a minute",
            policy: CancellationPolicy {
                notice_hours: 1,
                ..STRICT
            },
            fee: FEE,
            recorded: Rec::Told(30),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 7000,
            used_free: false,
            rule: "Late cancellation: less than a minute's notice, less than the 1 hour the \
                   policy (version 2) asks for. 100% of the £70 fee.",
        },
        Case {
            name: "cancelling after the start is late, not attended",
            policy: STRICT,
            fee: FEE,
            recorded: Rec::Told(-10 * 60),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 7000,
            used_free: false,
            rule: "Late cancellation: cancelled after the session had started; the policy \
                   (version 2) asks for 48 hours' notice. 100% of the £70 fee.",
        },
        Case {
            name: "the grace never reaches past the start",
            policy: CancellationPolicy {
                notice_hours: 0,
                grace_minutes: 30,
                ..STRICT
            },
            fee: FEE,
            recorded: Rec::Told(-1),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 7000,
            used_free: false,
            rule: "Late cancellation: cancelled after the session had started, when the policy \
                   (version 2) asks for cancellation before it starts. 100% of the £70 fee.",
        },
        Case {
            name: "with no notice asked, cancelling right at the start is in time",
            policy: CancellationPolicy {
                notice_hours: 0,
                ..STRICT
            },
            fee: FEE,
            recorded: Rec::Told(0),
            earlier_free: &[],
            outcome: Outcome::CancelledInTime,
            charge: 0,
            used_free: false,
            rule: "Cancelled with less than a minute's notice (the policy, version 2, asks for no \
                   notice): no charge.",
        },
        Case {
            name: "the first late cancellation is free",
            policy: TWO_FREE,
            fee: FEE,
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 0,
            used_free: true,
            rule: "Late cancellation: free — the first of 2 free late cancellations allowed in \
                   any 365 days (policy version 2).",
        },
        Case {
            name: "the second late cancellation is free",
            policy: TWO_FREE,
            fee: FEE,
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[100 * DAY],
            outcome: Outcome::LateCancellation,
            charge: 0,
            used_free: true,
            rule: "Late cancellation: free — the second of 2 free late cancellations allowed in \
                   any 365 days (policy version 2).",
        },
        Case {
            name: "the third late cancellation is charged",
            policy: TWO_FREE,
            fee: FEE,
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[200 * DAY, 100 * DAY],
            outcome: Outcome::LateCancellation,
            charge: 7000,
            used_free: false,
            rule: LATE_20H,
        },
        Case {
            name: "a free one just inside the window still counts",
            policy: TWO_FREE,
            fee: FEE,
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[365 * DAY - 1, 100 * DAY],
            outcome: Outcome::LateCancellation,
            charge: 7000,
            used_free: false,
            rule: LATE_20H,
        },
        Case {
            name: "a free one the whole period ago has left the window",
            policy: TWO_FREE,
            fee: FEE,
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[365 * DAY, 400 * DAY, 100 * DAY],
            outcome: Outcome::LateCancellation,
            charge: 0,
            used_free: true,
            rule: "Late cancellation: free — the second of 2 free late cancellations allowed in \
                   any 365 days (policy version 2).",
        },
        Case {
            name: "free ones at or after this session are ignored",
            policy: TWO_FREE,
            fee: FEE,
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[0, -7 * DAY, 100 * DAY],
            outcome: Outcome::LateCancellation,
            charge: 0,
            used_free: true,
            rule: "Late cancellation: free — the second of 2 free late cancellations allowed in \
                   any 365 days (policy version 2).",
        },
        Case {
            name: "a single allowance in a short period",
            policy: CancellationPolicy {
                version: 7,
                free_late_cancellations: 1,
                free_period_days: 30,
                ..STRICT
            },
            fee: FEE,
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[31 * DAY],
            outcome: Outcome::LateCancellation,
            charge: 0,
            used_free: true,
            rule: "Late cancellation: free — the one free late cancellation allowed in any 30 \
                   days (policy version 7).",
        },
        Case {
            name: "a zero-percent policy charges nothing and keeps the allowance",
            policy: CancellationPolicy {
                late_cancellation_percent: 0,
                ..TWO_FREE
            },
            fee: FEE,
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 0,
            used_free: false,
            rule: "Late cancellation: 20 hours' notice, less than the 48 hours the policy \
                   (version 2) asks for. No charge.",
        },
        Case {
            name: "33% of £62.50 rounds half up",
            policy: CancellationPolicy {
                late_cancellation_percent: 33,
                ..STRICT
            },
            fee: Pence::new(6250),
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 2063,
            used_free: false,
            rule: "Late cancellation: 20 hours' notice, less than the 48 hours the policy \
                   (version 2) asks for. 33% of the £62.50 fee.",
        },
        Case {
            name: "33% of £62.49 rounds down",
            policy: CancellationPolicy {
                late_cancellation_percent: 33,
                ..STRICT
            },
            fee: Pence::new(6249),
            recorded: Rec::Told(20 * HOUR),
            earlier_free: &[],
            outcome: Outcome::LateCancellation,
            charge: 2062,
            used_free: false,
            rule: "Late cancellation: 20 hours' notice, less than the 48 hours the policy \
                   (version 2) asks for. 33% of the £62.49 fee.",
        },
        Case {
            name: "half of an odd penny rounds up when missed",
            policy: STRICT,
            fee: Pence::new(6251),
            recorded: Rec::Missed,
            earlier_free: &[],
            outcome: Outcome::DidNotAttend,
            charge: 3126,
            used_free: false,
            rule: "Did not attend: 50% of the £62.51 fee (policy version 2).",
        },
    ];

    fn at(seconds_before: i64) -> Timestamp {
        START - SignedDuration::from_secs(seconds_before)
    }

    #[test]
    fn assesses_every_case() {
        for case in CASES {
            let recorded = match case.recorded {
                Rec::Attended => Recorded::Attended,
                Rec::Told(before) => Recorded::ClientCancelled {
                    told_at: at(before),
                },
                Rec::Missed => Recorded::DidNotAttend,
                Rec::Therapist => Recorded::TherapistCancelled,
            };
            let earlier: Vec<_> = case.earlier_free.iter().map(|s| at(*s)).collect();
            let got = assess(&case.policy, case.fee, START, recorded, &earlier);
            assert_eq!(
                got,
                Assessment {
                    outcome: case.outcome,
                    charge: Pence::new(case.charge),
                    used_free_allowance: case.used_free,
                    rule: case.rule.to_string(),
                },
                "case: {}",
                case.name
            );
        }
    }

    #[test]
    fn outcomes_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
            assert_eq!(
                toml::Value::try_from(outcome).unwrap(),
                toml::Value::String(outcome.as_str().to_string()),
                "serialised form matches the stored form"
            );
        }
        assert_eq!(Outcome::LateCancellation.label(), "Late cancellation");
        assert_eq!(
            Outcome::CancelledByTherapist.label(),
            "Cancelled by therapist"
        );
        assert_eq!(Outcome::parse("Attended"), None);
    }

    #[test]
    fn summarises_for_clients() {
        let cases: &[(&str, CancellationPolicy, &str)] = &[
            (
                "the default",
                CancellationPolicy::default(),
                "Please give at least 48 hours' notice if you need to cancel. Late cancellations \
                 are charged at 100% of the session fee, and sessions missed without notice at \
                 100%.",
            ),
            (
                "one free late cancellation",
                CancellationPolicy {
                    free_late_cancellations: 1,
                    ..CancellationPolicy::default()
                },
                "Please give at least 48 hours' notice if you need to cancel. Late cancellations \
                 are charged at 100% of the session fee, and sessions missed without notice at \
                 100%. One late cancellation in any 365 days is free of charge.",
            ),
            (
                "two free, half charges, one hour",
                CancellationPolicy {
                    notice_hours: 1,
                    late_cancellation_percent: 50,
                    free_late_cancellations: 2,
                    free_period_days: 90,
                    ..STRICT
                },
                "Please give at least 1 hour's notice if you need to cancel. Late cancellations \
                 are charged at 50% of the session fee, and sessions missed without notice at \
                 50%. Two late cancellations in any 90 days are free of charge.",
            ),
            (
                "late cancellations free, missed sessions charged",
                CancellationPolicy {
                    late_cancellation_percent: 0,
                    free_late_cancellations: 2,
                    ..STRICT
                },
                "Please give at least 48 hours' notice if you need to cancel. Late cancellations \
                 are not charged; sessions missed without notice are charged at 50% of the \
                 session fee.",
            ),
            (
                "missed sessions free, no notice asked",
                CancellationPolicy {
                    notice_hours: 0,
                    did_not_attend_percent: 0,
                    ..STRICT
                },
                "If you need to cancel, please do so before your session starts. Late \
                 cancellations are charged at 100% of the session fee; sessions missed without \
                 notice are not charged.",
            ),
            (
                "nothing charged",
                CancellationPolicy {
                    late_cancellation_percent: 0,
                    did_not_attend_percent: 0,
                    ..STRICT
                },
                "Please give at least 48 hours' notice if you need to cancel. There is no charge \
                 for late cancellations or for sessions missed without notice.",
            ),
        ];
        for (name, policy, expected) in cases {
            assert_eq!(policy.summary(), *expected, "case: {name}");
        }
    }

    fn valid_form() -> PolicyForm<'static> {
        PolicyForm {
            notice_hours: " 24 ",
            grace_minutes: "10",
            late_cancellation_percent: "50%",
            did_not_attend_percent: "100",
            free_late_cancellations: "1",
            free_period_days: "365",
        }
    }

    #[test]
    fn parses_a_valid_form() {
        assert_eq!(
            valid_form().parse(3),
            Ok(CancellationPolicy {
                version: 3,
                notice_hours: 24,
                grace_minutes: 10,
                late_cancellation_percent: 50,
                did_not_attend_percent: 100,
                free_late_cancellations: 1,
                free_period_days: 365,
            })
        );
        let edges = PolicyForm {
            notice_hours: "336",
            grace_minutes: "1440",
            late_cancellation_percent: "0",
            did_not_attend_percent: "0",
            free_late_cancellations: "12",
            free_period_days: "1",
        };
        assert!(edges.parse(1).is_ok(), "the ends of each range are allowed");
    }

    #[test]
    fn reports_each_bad_field() {
        type Set = fn(&mut PolicyForm<'static>, &'static str);
        let cases: &[(&str, Set, &str, &str)] = &[
            (
                "notice_hours",
                |f, v| f.notice_hours = v,
                "337",
                "Enter the notice in hours, a whole number from 0 to 336",
            ),
            (
                "grace_minutes",
                |f, v| f.grace_minutes = v,
                "1441",
                "Enter the grace period in minutes, a whole number from 0 to 1440",
            ),
            (
                "late_cancellation_percent",
                |f, v| f.late_cancellation_percent = v,
                "101%",
                "Enter the charge for a late cancellation as a percentage of the fee, a whole \
                 number from 0 to 100",
            ),
            (
                "did_not_attend_percent",
                |f, v| f.did_not_attend_percent = v,
                "12.5",
                "Enter the charge for a missed session as a percentage of the fee, a whole \
                 number from 0 to 100",
            ),
            (
                "free_late_cancellations",
                |f, v| f.free_late_cancellations = v,
                "-1",
                "Enter how many late cancellations are free, a whole number from 0 to 12",
            ),
            (
                "free_period_days",
                |f, v| f.free_period_days = v,
                "0",
                "Enter the period for free late cancellations in days, a whole number from 1 to \
                 366",
            ),
        ];
        for (field, set, bad, message) in cases {
            for bad in [*bad, "", "two", "+5", "99999999999"] {
                let mut form = valid_form();
                set(&mut form, bad);
                let errors = form.parse(1).unwrap_err();
                let got: Vec<_> = errors.iter().collect();
                assert_eq!(got, [(*field, *message)], "{field} = {bad:?}");
            }
        }
    }

    #[test]
    fn reports_every_field_of_an_empty_form() {
        let errors = PolicyForm::default().parse(1).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            [
                "notice_hours",
                "grace_minutes",
                "late_cancellation_percent",
                "did_not_attend_percent",
                "free_late_cancellations",
                "free_period_days"
            ]
        );
    }

    proptest! {
        #[test]
        fn in_time_exactly_up_to_the_deadline(
            notice_hours in NOTICE_HOURS,
            grace_minutes in GRACE_MINUTES,
            before in -2 * DAY..400 * HOUR,
        ) {
            let policy = CancellationPolicy { notice_hours, grace_minutes, ..STRICT };
            let told_at = at(before);
            let deadline = START - SignedDuration::from_hours(notice_hours.into())
                + SignedDuration::from_mins(grace_minutes.into());
            let got = assess(&policy, FEE, START, Recorded::ClientCancelled { told_at }, &[]);
            let in_time = told_at <= deadline && told_at <= START;
            prop_assert_eq!(got.outcome == Outcome::CancelledInTime, in_time);
            prop_assert!(got.rule.contains("version 2"));
        }

        #[test]
        fn percent_charges_are_the_nearest_penny(fee in 0u32..10_000_000, percent in PERCENT) {
            let policy = CancellationPolicy { did_not_attend_percent: percent, ..STRICT };
            let charge = assess(&policy, Pence::new(fee), START, Recorded::DidNotAttend, &[])
                .charge
                .get();
            let exact = u64::from(fee) * u64::from(percent);
            let charged = u64::from(charge) * 100;
            // Within half a penny, with an exact half going up.
            prop_assert!(charged + 50 > exact && charged <= exact + 50);
            prop_assert!(charge <= fee);
        }
    }
}
