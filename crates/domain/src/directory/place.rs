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

/// Where each outcode is (its centroid), from an open file the directory's operator loads
/// (`outcode,latitude,longitude`, such as the UK's open postcode data), so that nearness is
/// real distance rather than read from the codes. Nothing is fetched at run time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Centroids(std::collections::HashMap<Outcode, (f64, f64)>);

/// The distance bands nearness uses with centroids: within these many kilometres is
/// nearness 3, 2 and 1; farther is 0.
pub const DISTANCE_BANDS_KM: [f64; 3] = [3.0, 10.0, 30.0];

impl Centroids {
    /// Read the CSV: one `outcode,latitude,longitude` a line, an optional header line, blank
    /// lines ignored. The first line that is wrong is reported with its number.
    pub fn parse_csv(text: &str) -> Result<Self, String> {
        let mut map = std::collections::HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || (i == 0 && line.to_ascii_lowercase().starts_with("outcode")) {
                continue;
            }
            let wrong = |why: &str| {
                format!(
                    "line {}: {why} (expected outcode,latitude,longitude)",
                    i + 1
                )
            };
            let mut fields = line.split(',').map(str::trim);
            let (Some(code), Some(lat), Some(lon), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(wrong("not three fields"));
            };
            let code = Outcode::parse(code).ok_or_else(|| wrong("not an outcode"))?;
            let lat: f64 = lat
                .parse()
                .map_err(|_| wrong("the latitude is not a number"))?;
            let lon: f64 = lon
                .parse()
                .map_err(|_| wrong("the longitude is not a number"))?;
            if !(49.0..=61.5).contains(&lat) || !(-9.0..=2.5).contains(&lon) {
                return Err(wrong("not a place in the UK"));
            }
            map.insert(code, (lat, lon));
        }
        if map.is_empty() {
            return Err("the file has no outcodes".into());
        }
        Ok(Self(map))
    }

    /// How many outcodes it places.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when it places none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The distance between two outcodes' centroids in kilometres (haversine), if both are
    /// known.
    pub fn km(&self, a: &Outcode, b: &Outcode) -> Option<f64> {
        let (lat1, lon1) = *self.0.get(a)?;
        let (lat2, lon2) = *self.0.get(b)?;
        let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
        let dp = (lat2 - lat1).to_radians();
        let dl = (lon2 - lon1).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        Some(2.0 * 6371.0 * h.sqrt().asin())
    }

    /// Nearness (3 to 0) by distance bands, or by the codes when either is not placed.
    pub fn nearness(&self, from: &Outcode, room: &Outcode) -> u8 {
        match self.km(from, room) {
            Some(km) => DISTANCE_BANDS_KM
                .iter()
                .position(|band| km <= *band)
                .map_or(0, |i| 3 - u8::try_from(i).unwrap_or(3)),
            None => from.nearness(room),
        }
    }
}

#[cfg(test)]
mod centroid_tests {
    use super::*;

    #[test]
    fn centroids_give_distance_bands() {
        let c = Centroids::parse_csv(
            "outcode,latitude,longitude\nSW12,51.4441,-0.1536\nSW4,51.4620,-0.1380\nBR1,51.4060,0.0150\nM20,53.4300,-2.2300\n",
        )
        .unwrap();
        assert_eq!(c.len(), 4);
        let code = |s| Outcode::parse(s).unwrap();
        let km = c.km(&code("SW12"), &code("SW4")).unwrap();
        assert!((2.0..3.0).contains(&km), "{km}");
        assert_eq!(c.nearness(&code("SW12"), &code("SW4")), 3);
        assert_eq!(
            c.nearness(&code("SW12"), &code("BR1")),
            1,
            "about 12 km: within 30"
        );
        assert_eq!(c.nearness(&code("SW12"), &code("M20")), 0);
        // An outcode the file does not place falls back to the codes.
        assert_eq!(c.nearness(&code("SW12"), &code("SW17")), 1);
        for (bad, why) in [
            ("SW12,51.4\n", "not three fields"),
            ("XX,51.4,-0.1\n", "not an outcode"),
            ("SW12,north,-0.1\n", "latitude"),
            ("SW12,40.0,-0.1\n", "not a place in the UK"),
            ("outcode,latitude,longitude\n", "no outcodes"),
        ] {
            let e = Centroids::parse_csv(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
