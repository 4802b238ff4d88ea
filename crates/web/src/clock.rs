//! The one source of "now". Tests and demos pin it; nothing else calls `Timestamp::now()`.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use jiff::{SignedDuration, Timestamp};

/// Where the app gets the time from.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The system clock.
    System,
    /// Starts at a given instant and runs at normal speed from there (`--now`).
    Pinned {
        /// The instant the app believes it was started at.
        start: Timestamp,
        /// When it was really started.
        origin: Instant,
    },
    /// Stands still until moved (tests).
    Manual(Arc<Mutex<Timestamp>>),
}

impl Clock {
    /// A clock that starts at `start` and then runs.
    pub fn pinned(start: Timestamp) -> Self {
        Self::Pinned {
            start,
            origin: Instant::now(),
        }
    }

    /// A clock that stands still at `at` until [`Clock::advance`] is called.
    pub fn manual(at: Timestamp) -> Self {
        Self::Manual(Arc::new(Mutex::new(at)))
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        match self {
            Self::System => Timestamp::now(),
            Self::Pinned { start, origin } => {
                let elapsed =
                    SignedDuration::try_from(origin.elapsed()).unwrap_or(SignedDuration::ZERO);
                start.checked_add(elapsed).unwrap_or(*start)
            }
            Self::Manual(at) => *at.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        }
    }

    /// Move a manual clock forward (no effect on the others).
    pub fn advance(&self, by: SignedDuration) {
        if let Self::Manual(at) = self {
            let mut at = at.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *at = at.checked_add(by).unwrap_or(*at);
        }
    }
}
