//! Measures (issue 14): questionnaires such as PHQ-9 and GAD-7, read from definition files
//! and checked before use, so that no instrument's scoring is written by hand.
//!
//! A definition (TOML) gives the instrument's stem, its items (the risk items marked), the
//! response options with their values, the bands of the total, the clinical cut-off, the
//! reliable change figure, its attribution and licence, and any follow-up question that is
//! asked but not scored. [`Instrument::parse`] checks it whole: items and options present,
//! option values from 0 going up by one, bands that cover every possible total once, in
//! order, a cut-off and a reliable change figure inside the range. Scoring is the sum of
//! the chosen options' values (reversed for an item marked `reverse`), the method every
//! supported instrument uses.
//!
//! - [`plan`]: when a contract asks for a measure (the first session, every so many, the
//!   reviews, the ending).
//! - [`core10`]: CORE-10, which a practice adds itself from its own copy of the form, checked
//!   against the published scoring rules shipped here.
//! - [`outcomes`]: the practice's outcomes over ended work.
//!
//! PHQ-9 and GAD-7 ship with the product ([`shipped`]): their authors let anyone reproduce
//! them without charge, and their definitions carry the standard English wording exactly.

use serde::Deserialize;

pub mod core10;
pub mod outcomes;
pub mod plan;

/// The PHQ-9 and GAD-7 definitions, as shipped.
pub const SHIPPED: [(&str, &str); 2] = [
    ("phq-9", include_str!("../measures/phq-9.toml")),
    ("gad-7", include_str!("../measures/gad-7.toml")),
];

/// The instruments that ship with the product, checked.
///
/// # Panics
/// Never in a released build: a test parses every shipped definition.
pub fn shipped() -> Vec<Instrument> {
    SHIPPED
        .iter()
        .map(|(id, text)| {
            Instrument::parse(text).unwrap_or_else(|e| panic!("the shipped {id} is wrong: {e}"))
        })
        .collect()
}

/// One response option: what the client chooses and what it adds to the score.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub value: u8,
    pub label: String,
}

/// One item (question), in the instrument's order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub text: String,
    /// An answer above zero here needs attention at once (see [`Score::risk_items`]).
    #[serde(default)]
    pub risk: bool,
    /// A positively worded item, scored in reverse: the highest option counts 0, the
    /// lowest counts the most (CORE-10's items 2 and 3).
    #[serde(default)]
    pub reverse: bool,
}

/// A band of the total, both ends included.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub from: u32,
    pub to: u32,
    pub label: String,
}

/// A question asked after the items and not scored (PHQ-9's "how difficult").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    pub text: String,
    pub options: Vec<String>,
}

/// A checked instrument definition.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Lower-case letters, digits and hyphens: `phq-9`.
    pub id: String,
    pub short: String,
    pub name: String,
    /// The language of the wording (a BCP 47 tag).
    pub language: String,
    /// What every item answers: "Over the last 2 weeks, how often…".
    pub stem: String,
    pub attribution: String,
    pub licence: String,
    /// A total at or above this is above the clinical cut-off.
    pub cut_off: u32,
    /// A change of at least this much in the total is reliable (beyond measurement error).
    pub reliable_change: u32,
    /// LOINC codes, where they exist, for the export.
    #[serde(default)]
    pub loinc_panel: Option<String>,
    #[serde(default)]
    pub loinc_total: Option<String>,
    pub options: Vec<Choice>,
    pub items: Vec<Item>,
    pub bands: Vec<Band>,
    #[serde(default)]
    pub follow_up: Option<FollowUp>,
}

/// Why a definition cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DefinitionError(pub String);

/// Why answers cannot be scored: each item (numbered from 1) left out or given a value
/// that is not one of the options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerError {
    pub missing: Vec<usize>,
    pub invalid: Vec<usize>,
}

/// A scored set of answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub total: u32,
    /// The index of its band in [`Instrument::bands`].
    pub band: usize,
    pub above_cut_off: bool,
    /// The risk items (numbered from 1) answered above zero.
    pub risk_items: Vec<usize>,
}

/// Reliable change between two totals (lower is better on every shipped instrument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliable {
    Improved,
    Deteriorated,
    NoReliableChange,
}

/// What changed between a first and a latest total, as NHS Talking Therapies defines it:
/// reliable improvement (a fall of at least the reliable change figure), recovery (from at
/// or above the cut-off to below it) and reliable recovery (both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub reliable: Reliable,
    /// The first total was at or above the cut-off (a "case").
    pub started_above: bool,
    /// The latest total is at or above the cut-off.
    pub ended_above: bool,
    /// It started above the cut-off and ended below it.
    pub recovered: bool,
    /// Recovered with a reliable improvement.
    pub reliably_recovered: bool,
}

fn problem(message: impl Into<String>) -> DefinitionError {
    DefinitionError(message.into())
}

impl Instrument {
    /// Read and check a definition.
    pub fn parse(text: &str) -> Result<Self, DefinitionError> {
        let instrument: Self =
            toml::from_str(text).map_err(|e| problem(format!("not a definition: {e}")))?;
        instrument.check()?;
        Ok(instrument)
    }

    fn check(&self) -> Result<(), DefinitionError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 40
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(problem(
                "the id must be lower-case letters, digits and hyphens",
            ));
        }
        for (what, text) in [
            ("short name", &self.short),
            ("name", &self.name),
            ("language", &self.language),
            ("stem", &self.stem),
            ("attribution", &self.attribution),
            ("licence", &self.licence),
        ] {
            if text.trim().is_empty() {
                return Err(problem(format!("the {what} is empty")));
            }
        }
        if self.items.is_empty() || self.items.len() > 100 {
            return Err(problem("an instrument has 1 to 100 items"));
        }
        if let Some(n) = self.items.iter().position(|i| i.text.trim().is_empty()) {
            return Err(problem(format!("item {} has no wording", n + 1)));
        }
        if self.options.len() < 2 {
            return Err(problem("an item needs at least two options"));
        }
        for (i, choice) in self.options.iter().enumerate() {
            if usize::from(choice.value) != i {
                return Err(problem(format!(
                    "option {} is worth {}, but options are worth 0, 1, 2… in order",
                    i + 1,
                    choice.value
                )));
            }
            if choice.label.trim().is_empty() {
                return Err(problem(format!("option {} has no label", i + 1)));
            }
        }
        let max = self.max_total();
        let mut next = 0;
        for band in &self.bands {
            if band.from != next || band.to < band.from || band.label.trim().is_empty() {
                return Err(problem(format!(
                    "the bands must run from 0 to {max} in order without gaps or overlaps, each with a label; one starts at {} where {next} was expected",
                    band.from
                )));
            }
            next = band.to + 1;
        }
        if next != max + 1 {
            return Err(problem(format!("the bands must end at {max}")));
        }
        if self.cut_off == 0 || self.cut_off > max {
            return Err(problem(format!("the cut-off must be between 1 and {max}")));
        }
        if self.reliable_change == 0 || self.reliable_change > max {
            return Err(problem(format!(
                "the reliable change figure must be between 1 and {max}"
            )));
        }
        if let Some(follow_up) = &self.follow_up
            && (follow_up.text.trim().is_empty() || follow_up.options.len() < 2)
        {
            return Err(problem(
                "a follow-up question needs wording and at least two options",
            ));
        }
        Ok(())
    }

    /// The highest total possible.
    pub fn max_total(&self) -> u32 {
        let top = u32::from(self.top());
        // At most 100 items (checked), so this cannot overflow.
        top * u32::try_from(self.items.len()).unwrap_or(u32::MAX / 256)
    }

    /// Score `answers`: one value for each item, in order, `None` where it was left out.
    pub fn score(&self, answers: &[Option<u8>]) -> Result<Score, AnswerError> {
        let mut error = AnswerError {
            missing: Vec::new(),
            invalid: Vec::new(),
        };
        let mut total = 0u32;
        let mut risk_items = Vec::new();
        for (i, item) in self.items.iter().enumerate() {
            match answers.get(i).copied().flatten() {
                None => error.missing.push(i + 1),
                Some(value) if !self.options.iter().any(|c| c.value == value) => {
                    error.invalid.push(i + 1);
                }
                Some(value) => {
                    total += u32::from(self.points(item, value));
                    if item.risk && self.points(item, value) > 0 {
                        risk_items.push(i + 1);
                    }
                }
            }
        }
        if answers.len() > self.items.len() {
            error.invalid.extend(self.items.len() + 1..=answers.len());
        }
        if !error.missing.is_empty() || !error.invalid.is_empty() {
            return Err(error);
        }
        Ok(Score {
            total,
            band: self.band_of(total),
            above_cut_off: total >= self.cut_off,
            risk_items,
        })
    }

    /// What choosing the option worth `value` adds to the total for `item`: its value, or
    /// for a reverse-scored item the highest value less it.
    pub fn points(&self, item: &Item, value: u8) -> u8 {
        if item.reverse {
            self.top().saturating_sub(value)
        } else {
            value
        }
    }

    /// The highest option's value.
    pub fn top(&self) -> u8 {
        self.options.last().map_or(0, |c| c.value)
    }

    /// The index of the band `total` falls in (the last, for a total beyond the range).
    pub fn band_of(&self, total: u32) -> usize {
        self.bands
            .iter()
            .position(|b| (b.from..=b.to).contains(&total))
            .unwrap_or(self.bands.len().saturating_sub(1))
    }

    /// What changed from the `first` total to the `latest`.
    pub fn change(&self, first: u32, latest: u32) -> Change {
        let reliable = if first >= latest.saturating_add(self.reliable_change) {
            Reliable::Improved
        } else if latest >= first.saturating_add(self.reliable_change) {
            Reliable::Deteriorated
        } else {
            Reliable::NoReliableChange
        };
        let started_above = first >= self.cut_off;
        let recovered = started_above && latest < self.cut_off;
        Change {
            reliable,
            started_above,
            ended_above: latest >= self.cut_off,
            recovered,
            reliably_recovered: recovered && reliable == Reliable::Improved,
        }
    }
}

#[cfg(test)]
mod tests;
