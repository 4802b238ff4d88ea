//! Where a hosted practice is reached: a name under the host's domain (`alex` at
//! `alex.anteroom.example`), or a domain of the practice's own (`therapy.example.org`).
//!
//! Both are kept lowercase, as DNS compares them, and both are checked before they are
//! stored, so the resolver can compare a request's host with them byte for byte.

use std::fmt;

use crate::text::TextError;

/// Names no practice may take: the operator's console and the words people expect to be
/// the host's own.
const RESERVED: &[&str] = &[
    "admin", "api", "app", "mail", "operator", "smtp", "status", "support", "www",
];

/// A practice's name under the host's domain: one DNS label of 2–40 lowercase letters,
/// digits and single hyphens, not starting or ending with a hyphen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PracticeName(String);

impl PracticeName {
    /// Parse a name as an operator types it (surrounding spaces and capitals are fine).
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let name = raw.trim().to_ascii_lowercase();
        if name.len() < 2 || name.len() > 40 {
            return Err(TextError(
                "Use a name of 2 to 40 characters, like alex-morgan".into(),
            ));
        }
        if !is_label(&name) {
            return Err(TextError(
                "Use only letters, numbers and single hyphens in the name, like alex-morgan".into(),
            ));
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(TextError(format!(
                "The name {name} is kept for the host; choose another"
            )));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PracticeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A domain of the practice's own: two or more DNS labels, at most 253 characters, with
/// no port, path or trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DomainName(String);

impl DomainName {
    /// Parse a domain as an operator types it.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        if domain.is_empty() || domain.len() > 253 {
            return Err(TextError(
                "Enter a domain of 253 characters or fewer, like therapy.example.org".into(),
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|label| label.is_empty() || label.len() > 63 || !is_label(label))
        {
            return Err(TextError(
                "Enter a domain name only, like therapy.example.org (no https://, port or path)"
                    .into(),
            ));
        }
        Ok(Self(domain))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lowercase letters, digits and single hyphens, not at either end.
fn is_label(label: &str) -> bool {
    label
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
        && !label.contains("--")
}

/// The host part of a request's `Host` header, lowercase, without a port or a trailing dot;
/// `None` for one that is not a host name (an IPv6 literal, spaces, an empty value).
pub fn request_host(header: &str) -> Option<String> {
    let host = header.trim();
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63 && is_label(label));
    valid.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn practice_names_are_one_lowercase_label() {
        assert_eq!(
            PracticeName::parse(" Alex-Morgan ").unwrap().as_str(),
            "alex-morgan"
        );
        assert_eq!(PracticeName::parse("k2").unwrap().as_str(), "k2");
        for bad in [
            "a",
            "-alex",
            "alex-",
            "al--ex",
            "alex.morgan",
            "alex morgan",
            "",
            "www",
            "operator",
        ] {
            assert!(PracticeName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(PracticeName::parse(&"a".repeat(41)).is_err());
    }

    #[test]
    fn domains_have_two_labels_or_more_and_nothing_else() {
        assert_eq!(
            DomainName::parse("Therapy.Example.org.").unwrap().as_str(),
            "therapy.example.org"
        );
        for bad in [
            "example",
            "https://example.org",
            "example.org:8080",
            "example.org/x",
            "exa mple.org",
            "-a.example.org",
            "a..example.org",
            "",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn request_hosts_lose_their_port_and_case() {
        assert_eq!(
            request_host("Alex.Anteroom.Example:8080").as_deref(),
            Some("alex.anteroom.example")
        );
        assert_eq!(request_host("localhost").as_deref(), Some("localhost"));
        assert_eq!(
            request_host("alex.localhost.").as_deref(),
            Some("alex.localhost")
        );
        assert_eq!(request_host("127.0.0.1:8080").as_deref(), Some("127.0.0.1"));
        for bad in ["", "[::1]:8080", "a b", "a..b", "x_y.example"] {
            assert_eq!(request_host(bad), None, "{bad:?}");
        }
    }
}
