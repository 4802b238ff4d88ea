//! Places as people type them into a search: a full postcode, an outcode (`SW12`, `WC2A`)
//! or a district's name (`Balham`), and how near one outcode is to another.
//!
//! A UK postcode's outward code (the *outcode*, `WC2A`) names a postcode district, written
//! here as its letters and number (`WC2`; the final letter of a London sub-district dropped)
//! within a postal *area* (`WC`). Without a table of where each outcode is, nearness is read
//! from the code itself: the same outcode, then the same district, then the same area.

use serde::Serialize;

use crate::Postcode;

/// A postcode's outward code, upper case (`SW12`, `WC2A`, `M1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Outcode(String);

impl Outcode {
    /// Read an outcode (`sw12`, ` WC2A `); `None` for anything that is not one. The shapes
    /// are a letter or two, a number of one or two digits, and for some London districts a
    /// final letter (A9, A9A, A99, AA9, AA9A, AA99).
    pub fn parse(raw: &str) -> Option<Self> {
        let code: String = raw.trim().to_ascii_uppercase();
        let b = code.as_bytes();
        if !(2..=4).contains(&b.len()) || !code.is_ascii() {
            return None;
        }
        let letters = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        if !(1..=2).contains(&letters) {
            return None;
        }
        let rest = &b[letters..];
        let ok = match rest {
            [d] => d.is_ascii_digit(),
            [d, x] => d.is_ascii_digit() && (x.is_ascii_digit() || x.is_ascii_alphabetic()),
            _ => false,
        };
        ok.then_some(Self(code))
    }

    /// The outcode of a full postcode.
    pub fn of(postcode: &Postcode) -> Self {
        let outward = postcode.as_str().split(' ').next().unwrap_or_default();
        Self(outward.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The postal area: the leading letters (`SW`, `M`).
    pub fn area(&self) -> &str {
        let letters = self.0.bytes().take_while(u8::is_ascii_alphabetic).count();
        &self.0[..letters]
    }

    /// The postcode district without a sub-district letter (`WC2A` → `WC2`).
    pub fn district(&self) -> &str {
        match self.0.as_bytes().last() {
            Some(c) if c.is_ascii_alphabetic() => &self.0[..self.0.len() - 1],
            _ => &self.0,
        }
    }

    /// How near a room in `other` is to someone searching from `self`: 3 the same outcode,
    /// 2 the same district, 1 the same postal area, 0 farther.
    pub fn nearness(&self, other: &Outcode) -> u8 {
        if self == other {
            3
        } else if self.district() == other.district() {
            2
        } else if self.area() == other.area() {
            1
        } else {
            0
        }
    }
}

impl<'de> serde::Deserialize<'de> for Outcode {
    /// Read and checked as [`Outcode::parse`] reads one.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).ok_or_else(|| serde::de::Error::custom("not a postcode's outward code"))
    }
}

impl std::fmt::Display for Outcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A place someone searched near.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A postcode or outcode: searched from its outcode.
    Code(Outcode),
    /// Anything else: a district or town's name, lower-cased with single spaces, for the
    /// directory to look up among the names its listings give their rooms.
    Name(String),
}

impl Place {
    /// Read what was typed; `None` when nothing was.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        if let Ok(postcode) = Postcode::parse(raw) {
            return Some(Self::Code(Outcode::of(&postcode)));
        }
        if let Some(code) = Outcode::parse(raw) {
            return Some(Self::Code(code));
        }
        Some(Self::Name(place_name_key(raw)))
    }
}

/// A place's name as compared: lower case, letters and digits only, words single-spaced
/// (`St. Albans` and `st albans` are one place).
pub fn place_name_key(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> Outcode {
        Outcode::parse(raw).unwrap_or_else(|| panic!("{raw} is an outcode"))
    }

    #[test]
    fn outcodes_are_read_in_every_shape() {
        for good in ["M1", "B13", "SW12", "WC2A", "ec1v", " n16 ", "EH9", "W1D"] {
            assert!(Outcode::parse(good).is_some(), "{good}");
        }
        for bad in [
            "", "S", "12", "SW", "SW123", "SWX1", "SW1AA", "Balham", "W1-", "£1",
        ] {
            assert!(Outcode::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(code("wc2a").as_str(), "WC2A");
        assert_eq!(code("WC2A").district(), "WC2");
        assert_eq!(code("WC2A").area(), "WC");
        assert_eq!(code("SW12").district(), "SW12");
        assert_eq!(code("M1").area(), "M");
    }

    #[test]
    fn places_are_codes_or_names() {
        assert_eq!(Place::parse("sw12 9rt"), Some(Place::Code(code("SW12"))));
        assert_eq!(Place::parse("SW12"), Some(Place::Code(code("SW12"))));
        assert_eq!(Place::parse("WC2A"), Some(Place::Code(code("WC2A"))));
        assert_eq!(
            Place::parse("  Balham "),
            Some(Place::Name("balham".into()))
        );
        assert_eq!(
            Place::parse("St. Albans"),
            Some(Place::Name("st albans".into()))
        );
        assert_eq!(Place::parse("   "), None);
    }

    #[test]
    fn nearness_goes_outcode_then_district_then_area() {
        let from = code("WC2A");
        assert_eq!(from.nearness(&code("WC2A")), 3);
        assert_eq!(from.nearness(&code("WC2B")), 2);
        assert_eq!(from.nearness(&code("WC1X")), 1);
        assert_eq!(from.nearness(&code("SW12")), 0);
        assert_eq!(code("SW12").nearness(&code("SW4")), 1);
        assert_eq!(code("S11").nearness(&code("SW11")), 0);
    }
}
