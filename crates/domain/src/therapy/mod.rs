//! The therapy as the practice records it: the contract agreed with a client, the sessions it
//! generates, what happened at each, and what that costs under the cancellation policy.
//!
//! - [`ContractTerms`]: what was agreed (brief or open-ended, regular times, place, fee, start,
//!   the policy version). Every change is a new version; old versions are kept.
//! - [`schedule`]: the sessions a contract's terms produce, in local wall-clock time, skipping
//!   breaks, numbered ("session 4 of 12").
//! - [`policy`]: the cancellation policy as data and the pure function that turns an outcome
//!   into a charge that names the rule that produced it.

pub mod form;
pub mod policy;
pub mod schedule;

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

/// How the practice runs its therapy work day to day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TherapySettings {
    /// Hours before a session that its reminder goes (0: none). Clients can opt out.
    pub session_reminder_hours: u32,
    /// How many days ahead clients are told about a break (sooner if it is added later).
    pub break_notice_days: u32,
}

impl Default for TherapySettings {
    fn default() -> Self {
        Self {
            session_reminder_hours: 24,
            break_notice_days: 28,
        }
    }
}
