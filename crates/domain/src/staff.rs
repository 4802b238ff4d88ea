//! How staff sign in: the practice's rules for the back office (SECURITY.md R2, R3).

use std::fmt;

use crate::FieldErrors;

/// Minutes without a request after which a back-office session ends: 5 to 30 (R2 allows
/// at most 30). Parsed from the owner's form; the only way to make one is [`IdleTimeout::parse`]
/// or [`IdleTimeout::from_minutes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleTimeout(u8);

impl IdleTimeout {
    /// The shortest idle timeout an owner may choose.
    pub const MIN_MINUTES: u8 = 5;
    /// The longest (and the default): R2's ceiling.
    pub const MAX_MINUTES: u8 = 30;

    /// The timeout from a whole number of minutes, if it is between 5 and 30.
    pub fn from_minutes(minutes: i64) -> Option<Self> {
        u8::try_from(minutes)
            .ok()
            .filter(|m| (Self::MIN_MINUTES..=Self::MAX_MINUTES).contains(m))
            .map(Self)
    }

    /// Parse what was typed into the form.
    pub fn parse(text: &str) -> Result<Self, IdleTimeoutError> {
        let minutes: i64 = text.trim().parse().map_err(|_| IdleTimeoutError)?;
        Self::from_minutes(minutes).ok_or(IdleTimeoutError)
    }

    /// The timeout in minutes.
    pub fn minutes(self) -> u8 {
        self.0
    }
}

impl Default for IdleTimeout {
    fn default() -> Self {
        Self(Self::MAX_MINUTES)
    }
}

/// An idle timeout outside 5 to 30 minutes, or not a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleTimeoutError;

impl fmt::Display for IdleTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Enter a whole number of minutes between {} and {}",
            IdleTimeout::MIN_MINUTES,
            IdleTimeout::MAX_MINUTES
        )
    }
}

/// The owner's rules for signing in to the back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignInPolicy {
    /// Every member of staff must use an authenticator app as well as their password.
    pub second_factor_required: bool,
    /// How long a session may sit unused.
    pub idle_timeout: IdleTimeout,
}

impl SignInPolicy {
    /// Parse the owner's form: a checkbox (present when ticked) and a number of minutes.
    pub fn parse(required: bool, idle_minutes: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let idle_timeout = errors.check("idle_timeout", IdleTimeout::parse(idle_minutes));
        match idle_timeout {
            Some(idle_timeout) if errors.is_empty() => Ok(Self {
                second_factor_required: required,
                idle_timeout,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_timeout_is_five_to_thirty_minutes() {
        for ok in ["5", "30", " 17 "] {
            assert!(IdleTimeout::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "4",
            "31",
            "0",
            "-5",
            "",
            "ten",
            "12.5",
            "999999999999999999999",
        ] {
            assert!(IdleTimeout::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(IdleTimeout::default().minutes(), 30);
        let errors = SignInPolicy::parse(true, "45").unwrap_err();
        assert_eq!(
            errors.get("idle_timeout"),
            Some("Enter a whole number of minutes between 5 and 30")
        );
        let policy = SignInPolicy::parse(true, "10").unwrap();
        assert!(policy.second_factor_required);
        assert_eq!(policy.idle_timeout.minutes(), 10);
    }
}
