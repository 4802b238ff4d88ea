//! Money as whole pence.

use std::fmt;

/// An amount in pence. Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pence(u32);

impl Pence {
    /// An amount of pence.
    pub const fn new(pence: u32) -> Self {
        Self(pence)
    }

    /// The amount in pence.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Parse a fee typed in pounds, such as `75`, `£75`, `75.50` or `£1,200`.
    pub fn parse_pounds(raw: &str) -> Result<Self, crate::TextError> {
        let wrong = || crate::TextError("Enter an amount in pounds, like 75 or 62.50".into());
        let text: String = raw
            .trim()
            .trim_start_matches('£')
            .chars()
            .filter(|c| *c != ',')
            .collect();
        let (pounds, pence) = match text.split_once('.') {
            Some((p, d)) if d.len() == 2 => (p, d),
            Some(_) => return Err(wrong()),
            None => (text.as_str(), "00"),
        };
        if pounds.is_empty()
            || !pounds
                .chars()
                .chain(pence.chars())
                .all(|c| c.is_ascii_digit())
        {
            return Err(wrong());
        }
        let pounds: u32 = pounds.parse().map_err(|_| wrong())?;
        let pence: u32 = pence.parse().map_err(|_| wrong())?;
        if pounds > 100_000 {
            return Err(crate::TextError("Enter an amount under £100,000".into()));
        }
        Ok(Self(pounds * 100 + pence))
    }
}

impl serde::Serialize for Pence {
    /// Serialised as whole pence.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Pence {
    /// Read as whole pence.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u32::deserialize(deserializer).map(Self)
    }
}

impl fmt::Display for Pence {
    /// `£75` for whole pounds, `£62.50` otherwise, with thousands separated by commas.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pounds = self.0 / 100;
        let pence = self.0 % 100;
        let digits = pounds.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if pence == 0 {
            write!(f, "£{grouped}")
        } else {
            write!(f, "£{grouped}.{pence:02}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_like_people_write_money() {
        assert_eq!(Pence::new(7500).to_string(), "£75");
        assert_eq!(Pence::new(6250).to_string(), "£62.50");
        assert_eq!(Pence::new(5).to_string(), "£0.05");
        assert_eq!(Pence::new(120_000).to_string(), "£1,200");
    }

    #[test]
    fn parses_pounds() {
        assert_eq!(Pence::parse_pounds("£75").unwrap(), Pence::new(7500));
        assert_eq!(Pence::parse_pounds(" 62.50 ").unwrap(), Pence::new(6250));
        assert_eq!(Pence::parse_pounds("1,200").unwrap(), Pence::new(120_000));
        for bad in ["", "£", "7.5", "-5", "abc", "1e3", "100001"] {
            assert!(
                Pence::parse_pounds(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    proptest! {
        #[test]
        fn display_parses_back(pence in 0u32..10_000_000) {
            let shown = Pence::new(pence).to_string();
            prop_assert_eq!(Pence::parse_pounds(&shown).unwrap(), Pence::new(pence));
        }
    }
}
