//! The therapy as the practice records it: the contract agreed with a client, the sessions it
//! generates, what happened at each, and what that costs under the cancellation policy.
//!
//! - [`ContractTerms`]: what was agreed (brief or open-ended, regular times, place, fee, start,
//!   the policy version). Every change is a new version; old versions are kept.
//! - [`schedule`]: the sessions a contract's terms produce, in local wall-clock time, skipping
//!   breaks, numbered ("session 4 of 12").
//! - [`policy`]: the cancellation policy as data and the pure function that turns an outcome
//!   into a charge that names the rule that produced it.
//! - [`sessions`]: rules over the sessions already stored: which ones planning again may
//!   replace, how far the work has come (sessions remaining, ending, reviews), and whether the
//!   work with a client has ended.
//! - [`clashes`]: which planned sessions overlap the therapist's other appointments.
//! - [`outcome`]: when an outcome may be recorded, and the charge it carries.

pub mod clashes;
pub mod form;
pub mod outcome;
pub mod policy;
pub mod schedule;
pub mod sessions;

use jiff::civil::{Date, Time, Weekday};

use crate::{Pence, Slug};

/// How often sessions happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Once a week, at one regular time.
    Weekly,
    /// Twice a week, at two regular times on different days.
    TwiceWeekly,
    /// Every other week, at one regular time, counted from the first session.
    Fortnightly,
}

impl Frequency {
    /// Stored and form value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Weekly => "weekly",
            Self::TwiceWeekly => "twice_weekly",
            Self::Fortnightly => "fortnightly",
        }
    }

    /// Parse the stored or form value.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "weekly" => Some(Self::Weekly),
            "twice_weekly" => Some(Self::TwiceWeekly),
            "fortnightly" => Some(Self::Fortnightly),
            _ => None,
        }
    }

    /// "weekly", "twice a week", "fortnightly".
    pub fn label(self) -> &'static str {
        match self {
            Self::Weekly => "weekly",
            Self::TwiceWeekly => "twice a week",
            Self::Fortnightly => "fortnightly",
        }
    }

    /// How many regular times a week this frequency needs.
    pub fn times_needed(self) -> usize {
        match self {
            Self::TwiceWeekly => 2,
            Self::Weekly | Self::Fortnightly => 1,
        }
    }
}

/// A regular local wall-clock time in the week: "Monday 09:00".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyTime {
    pub weekday: Weekday,
    pub time: Time,
}

impl WeeklyTime {
    /// Sort key: Monday first, then by time.
    pub fn key(&self) -> (i8, Time) {
        (self.weekday.to_monday_zero_offset(), self.time)
    }
}

/// The shape of the work agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractKind {
    /// A single agreed focus, a set number of sessions, reviews, a planned ending.
    Brief {
        /// The agreed focus, in a few sentences.
        focus: String,
        /// How many sessions (1–100).
        sessions: u32,
        /// Session numbers at which to review, each between 1 and `sessions`, ascending.
        reviews_at: Vec<u32>,
    },
    /// Regular sessions with no set end, reviewed every so often.
    OpenEnded {
        /// Review every this many weeks (1–52).
        review_every_weeks: u32,
    },
}

impl ContractKind {
    /// Stored form of the variant.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Brief { .. } => "brief",
            Self::OpenEnded { .. } => "open_ended",
        }
    }
}

/// What the therapist and client agreed, as one version of a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractTerms {
    pub kind: ContractKind,
    pub frequency: Frequency,
    /// The regular times: one for weekly and fortnightly work, two (on different days) for
    /// twice weekly. Sorted by weekday then time.
    pub times: Vec<WeeklyTime>,
    /// Where: a location's slug (a room, or online).
    pub location: Slug,
    /// Length of each session in minutes (10–240).
    pub minutes: u32,
    /// Fee per session.
    pub fee: Pence,
    /// The first day sessions may happen (local date).
    pub start: Date,
    /// The version of the cancellation policy the client agreed to.
    pub policy_version: u32,
}

/// When invoices are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceMode {
    /// One invoice for each session that has a charge, when its outcome is recorded.
    PerSession,
    /// One invoice per client at the start of each month, for the month before.
    Monthly,
}

impl InvoiceMode {
    /// Stored and form value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerSession => "per_session",
            Self::Monthly => "monthly",
        }
    }

    /// Parse the stored or form value.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "per_session" => Some(Self::PerSession),
            "monthly" => Some(Self::Monthly),
            _ => None,
        }
    }
}

/// How the practice runs its therapy work day to day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TherapySettings {
    /// Hours before a session that its reminder goes (0–168; 0: none). Clients can opt out.
    pub session_reminder_hours: u32,
    /// How many days ahead clients are told about a break (0–180; sooner if added later).
    pub break_notice_days: u32,
    pub invoice_mode: InvoiceMode,
    /// How to pay by bank transfer, printed on every invoice (account name, sort code…).
    pub bank_details: String,
    /// Days from issue to the due date (0–90).
    pub payment_terms_days: u32,
}

impl Default for TherapySettings {
    fn default() -> Self {
        Self {
            session_reminder_hours: 24,
            break_notice_days: 28,
            invoice_mode: InvoiceMode::Monthly,
            bank_details: String::new(),
            payment_terms_days: 14,
        }
    }
}

/// The therapy settings form.
#[derive(Debug, Clone, Default)]
pub struct TherapySettingsForm<'a> {
    pub session_reminder_hours: &'a str,
    pub break_notice_days: &'a str,
    pub invoice_mode: &'a str,
    pub bank_details: &'a str,
    pub payment_terms_days: &'a str,
}

impl TherapySettingsForm<'_> {
    /// Check every field; all problems at once.
    pub fn parse(&self) -> Result<TherapySettings, crate::FieldErrors> {
        let mut errors = crate::FieldErrors::new();
        let whole =
            |errors: &mut crate::FieldErrors, field, raw: &str, max, message: &str| match raw
                .trim()
                .parse::<u32>()
            {
                Ok(n) if n <= max => Some(n),
                _ => {
                    errors.add(field, message);
                    None
                }
            };
        let reminder = whole(
            &mut errors,
            "session_reminder_hours",
            self.session_reminder_hours,
            168,
            "Enter the hours before a session, a whole number from 0 to 168",
        );
        let notice = whole(
            &mut errors,
            "break_notice_days",
            self.break_notice_days,
            180,
            "Enter the days of notice, a whole number from 0 to 180",
        );
        let mode = InvoiceMode::parse(self.invoice_mode);
        if mode.is_none() {
            errors.add("invoice_mode", "Choose when invoices are made");
        }
        let terms = whole(
            &mut errors,
            "payment_terms_days",
            self.payment_terms_days,
            90,
            "Enter the days to pay, a whole number from 0 to 90",
        );
        let bank = self.bank_details.trim();
        if bank.chars().count() > 500 {
            errors.add(
                "bank_details",
                "Bank details must be 500 characters or fewer",
            );
        }
        match (reminder, notice, terms, mode, errors.is_empty()) {
            (Some(reminder), Some(notice), Some(terms), Some(mode), true) => Ok(TherapySettings {
                session_reminder_hours: reminder,
                break_notice_days: notice,
                invoice_mode: mode,
                bank_details: bank.replace("\r\n", "\n"),
                payment_terms_days: terms,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_form_checks_every_field() {
        let good = TherapySettingsForm {
            session_reminder_hours: "24",
            break_notice_days: " 28 ",
            invoice_mode: "per_session",
            bank_details: "Larchwood Psychotherapy\r\nSort code 00-00-00\r\nAccount 00000000",
            payment_terms_days: "14",
        };
        let settings = good.parse().unwrap();
        assert_eq!(settings.invoice_mode, InvoiceMode::PerSession);
        assert_eq!(settings.break_notice_days, 28);
        assert!(!settings.bank_details.contains('\r'));
        let bad = TherapySettingsForm {
            session_reminder_hours: "200",
            break_notice_days: "x",
            invoice_mode: "weekly",
            bank_details: "",
            payment_terms_days: "-1",
        };
        let errors = bad.parse().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            [
                "session_reminder_hours",
                "break_notice_days",
                "invoice_mode",
                "payment_terms_days"
            ]
        );
    }
}
