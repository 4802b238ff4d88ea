//! Small text value types: each has a private field and one way in, `parse`.

use std::fmt;

/// Why a piece of text was refused. The message is written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TextError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, TextError> {
    Err(TextError(message.into()))
}

/// Control characters (other than tab and newlines in long text) never belong in input.
fn has_control(text: &str, allow_newlines: bool) -> bool {
    text.chars().any(|c| {
        c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t'))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

/// Trim and check a free-text field: required, no control characters, at most `max` characters.
pub fn parse_text(
    raw: &str,
    what: &str,
    max: usize,
    allow_newlines: bool,
) -> Result<String, TextError> {
    let text = raw.trim();
    if text.is_empty() {
        return refuse(format!("Enter {what}"));
    }
    if has_control(text, allow_newlines) {
        return refuse(format!("Remove the hidden control characters from {what}"));
    }
    let length = text.chars().count();
    if length > max {
        return refuse(format!(
            "Shorten {what} to {max} characters or fewer (it has {length})"
        ));
    }
    // Every line break becomes `\n`, a lone `\r` too: replacing only `\r\n` would turn
    // `\r\r\n` into `\r\n`, changed again on the next save.
    Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
}

macro_rules! text_type {
    ($name:ident) => {
        impl $name {
            /// The text as it was accepted.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A URL path segment: lowercase letters, digits and single hyphens, 1–80 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);
text_type!(Slug);

impl Slug {
    /// Parse an existing slug.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let slug = raw.trim();
        if slug.is_empty() {
            return refuse("Enter a web address, like how-therapy-works");
        }
        if slug.len() > 80 {
            return refuse("Shorten the web address to 80 characters or fewer");
        }
        let ok = slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !slug.starts_with('-')
            && !slug.ends_with('-')
            && !slug.contains("--");
        if !ok {
            return refuse(
                "Use only lowercase letters, numbers and single hyphens in the web address, like how-therapy-works",
            );
        }
        Ok(Self(slug.to_owned()))
    }

    /// Make a slug from a title: "What is CBT?" becomes `what-is-cbt`.
    pub fn from_title(title: &str) -> Result<Self, TextError> {
        let mut slug = String::new();
        for c in title.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if c == '\'' || c == '\u{2019}' {
                continue;
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let mut slug = slug.trim_end_matches('-').to_owned();
        if slug.len() > 80 {
            slug.truncate(80);
            slug = slug.trim_end_matches('-').to_owned();
        }
        Self::parse(&slug)
    }
}

/// An email address, checked for the shape people get wrong (not a full RFC 5322 parser).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);
text_type!(EmailAddress);

impl EmailAddress {
    /// Parse an email address typed by a person.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let email = raw.trim();
        let wrong = || refuse("Enter an email address in the right format, like name@example.com");
        if email.is_empty() {
            return refuse("Enter your email address");
        }
        if email.len() > 254 || has_control(email, false) {
            return wrong();
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return wrong();
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !(local_ok && domain_ok) {
            return wrong();
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }
}

/// A person's name as they want it written: 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);
text_type!(PersonName);

impl PersonName {
    /// Parse a name typed by a person.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        if raw.trim().is_empty() {
            return refuse("Enter your name");
        }
        parse_text(raw, "your name", 100, false).map(Self)
    }
}

/// A phone number: digits with optional spaces, brackets, hyphens and a leading +; 7–15 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);
text_type!(PhoneNumber);

impl PhoneNumber {
    /// Parse a phone number typed by a person.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let phone = raw.trim();
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let shape_ok = phone
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || " ()-".contains(c) || (c == '+' && i == 0));
        if !shape_ok || !(7..=15).contains(&digits) {
            return refuse("Enter a phone number, like 07700 900 982 or +44 7700 900 982");
        }
        Ok(Self(phone.split_whitespace().collect::<Vec<_>>().join(" ")))
    }
}

/// A UK postcode, normalised to upper case with one space before the inward code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postcode(String);
text_type!(Postcode);

impl Postcode {
    /// Parse a UK postcode such as `sw12 9aa` into `SW12 9AA`.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .collect();
        let wrong = || refuse("Enter a full UK postcode, like SW12 9AA");
        if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
            return wrong();
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        let inward_ok = {
            let b = inward.as_bytes();
            b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphabetic()
        };
        let outward_ok = outward.as_bytes()[0].is_ascii_alphabetic()
            && outward.chars().all(|c| c.is_ascii_alphanumeric())
            && outward.chars().any(|c| c.is_ascii_digit());
        if !(inward_ok && outward_ok) {
            return wrong();
        }
        Ok(Self(format!("{outward} {inward}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            Slug::parse("how-therapy-works").unwrap().as_str(),
            "how-therapy-works"
        );
        for bad in [
            "", "-a", "a-", "a--b", "A", "a b", "café", "a_b", "<script>",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            Slug::from_title("What's CBT – and is it for me?")
                .unwrap()
                .as_str(),
            "whats-cbt-and-is-it-for-me"
        );
        assert!(Slug::from_title("???").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            EmailAddress::parse(" Jo.Bloggs@Example.COM ")
                .unwrap()
                .as_str(),
            "Jo.Bloggs@example.com"
        );
        for bad in [
            "",
            "jo",
            "jo@",
            "@example.com",
            "jo@example",
            "jo@@example.com",
            "jo @example.com",
            "jo@exa mple.com",
            "jo@.example.com",
            "jo.@example.com",
            "<b>@example.com",
            "jo@exam\u{0}ple.com",
            "jo@example..com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert_eq!(
            EmailAddress::parse("jo").unwrap_err().0,
            "Enter an email address in the right format, like name@example.com"
        );
    }

    #[test]
    fn names_and_phones() {
        assert_eq!(
            PersonName::parse("  Siân O'Neill ").unwrap().as_str(),
            "Siân O'Neill"
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
        assert!(PersonName::parse("evil\u{202E}name").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert_eq!(
            PhoneNumber::parse("+44  7700 900982").unwrap().as_str(),
            "+44 7700 900982"
        );
        for bad in [
            "12345",
            "0770090098212345678",
            "07700 900 98a",
            "07700+900982",
        ] {
            assert!(
                PhoneNumber::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn postcodes() {
        assert_eq!(Postcode::parse("sw129aa").unwrap().as_str(), "SW12 9AA");
        assert_eq!(Postcode::parse("WC2A 1AB").unwrap().as_str(), "WC2A 1AB");
        assert_eq!(Postcode::parse("M1 1AE").unwrap().as_str(), "M1 1AE");
        for bad in ["", "SW12", "12AB 9AA", "SW12 AAA", "SW12 9A1", "SW12-9AA"] {
            assert!(Postcode::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn free_text() {
        assert_eq!(
            parse_text(" hi\r\nthere ", "a message", 10, true).unwrap(),
            "hi\nthere"
        );
        assert!(parse_text("hi\nthere", "a title", 10, false).is_err());
        assert!(parse_text("12345678901", "a message", 10, true).is_err());
    }
}
