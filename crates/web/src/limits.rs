//! Rate limits: how many attempts each kind of request may make, and the counting.
//!
//! Every limit is a counter in the store, and a request *reserves* its place before any
//! work is done (`AppState::reserve`), so a limit of five holds when sixty requests arrive
//! at once, and holds across processes. A request that turns out not to count gives its
//! place back ([`Held::release`]).
//!
//! Counters are per network (an IPv4 address, or an IPv6 /64: one household or phone
//! gets a whole /64, so counting single IPv6 addresses would count nothing), per account
//! across every network (a guesser spreading attempts over many addresses), or both. The
//! per-account limits never lock the real person out for good: each window ends by itself,
//! and a staff member's own browser (one that has signed in before) is not held by the
//! account-wide sign-in limit at all (`office::auth`).

use std::net::IpAddr;

use jiff::SignedDuration;
use sha2::{Digest, Sha256};
use store::{LimitKey, LimitRule, Reservation};

use crate::{Here, WebError, error::WebResult};

/// How many attempts each kind of request may make, per window.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Switched off entirely (load tests on loopback only).
    pub disabled: bool,
    /// Enquiries per network per hour.
    pub enquiries_per_hour: u32,
    /// Sign-in attempts per network per 15 minutes.
    pub sign_ins_per_15_minutes: u32,
    /// Failed sign-ins for one account from one network per 15 minutes.
    pub sign_ins_per_account: u32,
    /// Failed sign-ins for one account from all networks together per 15 minutes, for
    /// browsers that have not signed in to it before.
    pub sign_in_failures_per_account: u32,
    /// Bookings per network per hour.
    pub bookings_per_hour: u32,
    /// Wrong second-factor codes per account per 15 minutes, from anywhere.
    pub second_factor_failures: u32,
    /// Portal sign-in links asked for per network per 15 minutes.
    pub portal_links_per_15_minutes: u32,
    /// Portal sign-in links asked for one email address from one network per 15 minutes.
    pub portal_links_per_email: u32,
    /// Portal sign-in links asked for one email address from all networks per hour (so
    /// nobody can fill a client's inbox from many addresses).
    pub portal_links_per_inbox: u32,
    /// Requests served at once by this process; past it a request is answered at once with
    /// 503 and `Retry-After` instead of waiting in a queue without end. Not switched off by
    /// `disabled`.
    pub in_flight: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            disabled: false,
            enquiries_per_hour: 5,
            sign_ins_per_15_minutes: 20,
            sign_ins_per_account: 5,
            sign_in_failures_per_account: 10,
            bookings_per_hour: 10,
            second_factor_failures: 5,
            portal_links_per_15_minutes: 10,
            portal_links_per_email: 3,
            portal_links_per_inbox: 6,
            in_flight: 128,
        }
    }
}

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Limit {
    Enquiry,
    SignIn,
    SignInAccount,
    SignInAccountAnywhere,
    Booking,
    SecondFactor,
    PortalLink,
    PortalLinkEmail,
    PortalLinkInbox,
}

const QUARTER_HOUR: SignedDuration = SignedDuration::from_mins(15);
const HOUR: SignedDuration = SignedDuration::from_hours(1);

impl Limit {
    /// The counter's kind as stored.
    fn kind(self) -> &'static str {
        match self {
            Self::Enquiry => "enquiry",
            Self::SignIn => "sign_in",
            Self::SignInAccount => "sign_in_account",
            Self::SignInAccountAnywhere => "sign_in_account_anywhere",
            Self::Booking => "booking",
            Self::SecondFactor => "second_factor",
            Self::PortalLink => "portal_link",
            Self::PortalLinkEmail => "portal_link_email",
            Self::PortalLinkInbox => "portal_link_inbox",
        }
    }

    fn rule(self, limits: &RateLimits) -> LimitRule {
        let (max, window) = match self {
            Self::Enquiry => (limits.enquiries_per_hour, HOUR),
            Self::SignIn => (limits.sign_ins_per_15_minutes, QUARTER_HOUR),
            Self::SignInAccount => (limits.sign_ins_per_account, QUARTER_HOUR),
            Self::SignInAccountAnywhere => (limits.sign_in_failures_per_account, QUARTER_HOUR),
            Self::Booking => (limits.bookings_per_hour, HOUR),
            Self::SecondFactor => (limits.second_factor_failures, QUARTER_HOUR),
            Self::PortalLink => (limits.portal_links_per_15_minutes, QUARTER_HOUR),
            Self::PortalLinkEmail => (limits.portal_links_per_email, QUARTER_HOUR),
            Self::PortalLinkInbox => (limits.portal_links_per_inbox, HOUR),
        };
        // A rule of zero would refuse everything; one a window is the least a form allows.
        LimitRule {
            max: max.max(1),
            window,
        }
    }
}

/// Who a counter counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// Everyone on one network.
    Network(IpAddr),
    /// One account (an email address, lower-cased, or a user id) from one network.
    NetworkAccount(IpAddr, &'a str),
    /// One account, from anywhere.
    Account(&'a str),
}

impl Subject<'_> {
    fn text(self) -> String {
        match self {
            Self::Network(ip) => network(ip),
            Self::NetworkAccount(ip, account) => format!("{}|{account}", network(ip)),
            Self::Account(account) => format!("|{account}"),
        }
    }
}

/// The network an address counts as: an IPv4 address itself (an IPv4-mapped IPv6 address
/// as its IPv4 address), an IPv6 address as its /64.
pub(crate) fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// An attempt counted against a limit; give it back with [`Held::release`] if the request
/// turns out not to count.
#[must_use = "a held attempt stays counted unless it is released or cleared"]
pub(crate) struct Held(Option<LimitKey>);

impl Held {
    /// The request did not count: give its place back.
    pub async fn release(self, state: &Here) -> WebResult<()> {
        if let Some(key) = self.0 {
            state.store().release(&key, state.now()).await?;
        }
        Ok(())
    }

    /// Forget the whole counter (earlier failures, after a success).
    pub async fn clear(self, state: &Here) -> WebResult<()> {
        if let Some(key) = self.0 {
            state.store().clear_limit(&key).await?;
        }
        Ok(())
    }

    /// Keep the attempt counted.
    pub fn keep(self) {}
}

impl Here {
    /// Count one attempt of `limit` for `subject`, before doing the work; `TooManyRequests`
    /// (429 with `Retry-After`) when the limit is reached.
    pub(crate) async fn reserve(&self, limit: Limit, subject: Subject<'_>) -> WebResult<Held> {
        let limits = &self.config().rate_limits;
        if limits.disabled {
            return Ok(Held(None));
        }
        let kind = limit.kind();
        let mut digest = Sha256::new();
        digest.update(kind.as_bytes());
        digest.update([0]);
        digest.update(subject.text().as_bytes());
        let key = LimitKey {
            practice: self.practice_id(),
            kind,
            subject: digest.finalize().into(),
        };
        let now = self.now();
        match self.store().reserve(&key, limit.rule(limits), now).await? {
            Reservation::Counted => Ok(Held(Some(key))),
            Reservation::Refused { until } => {
                let wait = until.duration_since(now).as_secs().max(1);
                Err(WebError::TooManyRequests(u64::try_from(wait).unwrap_or(1)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network(a), network(b), "one /64 is one network");
        assert_ne!(network(a), network(c));
        assert_eq!(network(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(network(mapped), "192.0.2.7");
        assert_eq!(network("192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_ne!(
            network("192.0.2.7".parse().unwrap()),
            network("192.0.2.8".parse().unwrap()),
            "IPv4 addresses are counted one by one"
        );
    }

    #[test]
    fn subjects_of_different_shapes_never_collide() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert_ne!(
            Subject::Account("192.0.2.7").text(),
            Subject::Network(ip).text()
        );
        assert_ne!(
            Subject::NetworkAccount(ip, "a").text(),
            Subject::Account("a").text()
        );
    }
}
