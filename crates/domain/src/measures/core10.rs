//! CORE-10, added by a practice from its own copy of the form.
//!
//! CORE-10 is © CORE System Trust under CC BY-NC-ND: it may be reproduced unchanged but not
//! altered or sold in software, so Anteroom does not ship it. What ships is its scoring
//! ([`RULES`], `measures/core-10.rules.toml`, with the sources each figure was checked
//! against): ten items, five options worth 0 to 4, items 2 and 3 scored in reverse, item 6
//! the risk item, a total of 0 to 40, cut-off 11, reliable change 6, six bands. A practice
//! enters the form's own wording ([`Wording`]); [`build`] joins the two into a definition
//! and checks it as any other, so the score of an imported CORE-10 comes from the published
//! rules and never from anything typed in. The copyright line goes wherever it appears.

use serde::{Deserialize, Serialize};

use super::{Band, Choice, Instrument, Item};
use crate::FieldErrors;

/// The instrument's id.
pub const ID: &str = "core-10";

/// The published scoring rules, without the wording.
pub const RULES: &str = include_str!("../../measures/core-10.rules.toml");

/// The longest wording accepted for one part of the form.
pub const MAX_WORDING: usize = 300;

/// The fields of the import form: the stem, each option, each item.
pub const OPTION_FIELDS: [&str; 5] = ["option_1", "option_2", "option_3", "option_4", "option_5"];
pub const ITEM_FIELDS: [&str; 10] = [
    "item_1", "item_2", "item_3", "item_4", "item_5", "item_6", "item_7", "item_8", "item_9",
    "item_10",
];

/// CORE-10's scoring, as shipped.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub id: String,
    pub short: String,
    pub name: String,
    pub copyright: String,
    pub licence: String,
    pub items: usize,
    pub options: usize,
    /// Items (numbered from 1) scored in reverse.
    pub reverse: Vec<usize>,
    /// Risk items (numbered from 1).
    pub risk: Vec<usize>,
    pub cut_off: u32,
    pub reliable_change: u32,
    pub bands: Vec<Band>,
}

static PARSED: std::sync::LazyLock<Rules> =
    std::sync::LazyLock::new(|| toml::from_str(RULES).expect("the shipped CORE-10 rules read"));

/// The rules shipped (read once).
///
/// # Panics
/// Never in a released build: a test reads them.
pub fn rules() -> &'static Rules {
    &PARSED
}

/// The wording a practice enters from its copy of the form, in the form's order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wording {
    /// The instruction above the items ("Over the last week…").
    pub stem: String,
    /// The option headings, left to right as printed (from "not at all" to "most of the
    /// time").
    pub options: Vec<String>,
    /// The items, in order.
    pub items: Vec<String>,
}

fn check_text(errors: &mut FieldErrors, field: &'static str, what: &str, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        errors.add(
            field,
            format!("Enter {what} as your copy of the form prints it"),
        );
    } else if text.chars().count() > MAX_WORDING {
        errors.add(
            field,
            format!(
                "{} must be {MAX_WORDING} characters or fewer",
                capital(what)
            ),
        );
    } else if text.chars().any(char::is_control) {
        errors.add(field, format!("{} must be one line of text", capital(what)));
    }
}

fn capital(what: &str) -> String {
    let mut chars = what.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The definition made from `wording` and the shipped rules, checked; or each problem at
/// its field (`stem`, `option_1`…, `item_1`…).
pub fn build(wording: &Wording) -> Result<Instrument, FieldErrors> {
    let rules = rules();
    let mut errors = FieldErrors::new();
    check_text(
        &mut errors,
        "stem",
        "the instruction above the questions",
        &wording.stem,
    );
    for (i, field) in OPTION_FIELDS.iter().enumerate() {
        let text = wording.options.get(i).map_or("", String::as_str);
        check_text(
            &mut errors,
            field,
            &format!("answer heading {}", i + 1),
            text,
        );
    }
    for (i, field) in ITEM_FIELDS.iter().enumerate() {
        let text = wording.items.get(i).map_or("", String::as_str);
        check_text(&mut errors, field, &format!("question {}", i + 1), text);
    }
    if wording.options.len() > rules.options || wording.items.len() > rules.items {
        errors.add(
            "stem",
            format!(
                "CORE-10 has {} questions and {} answers to each",
                rules.items, rules.options
            ),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let instrument = Instrument {
        id: rules.id.clone(),
        short: rules.short.clone(),
        name: rules.name.clone(),
        language: "en".into(),
        stem: wording.stem.trim().to_owned(),
        attribution: rules.copyright.clone(),
        licence: rules.licence.clone(),
        cut_off: rules.cut_off,
        reliable_change: rules.reliable_change,
        loinc_panel: None,
        loinc_total: None,
        options: wording
            .options
            .iter()
            .enumerate()
            .map(|(i, label)| Choice {
                value: u8::try_from(i).unwrap_or(u8::MAX),
                label: label.trim().to_owned(),
            })
            .collect(),
        items: wording
            .items
            .iter()
            .enumerate()
            .map(|(i, text)| Item {
                text: text.trim().to_owned(),
                risk: rules.risk.contains(&(i + 1)),
                reverse: rules.reverse.contains(&(i + 1)),
            })
            .collect(),
        bands: rules.bands.clone(),
        follow_up: None,
    };
    instrument.check().map_err(|e| {
        let mut errors = FieldErrors::new();
        errors.add("stem", e.0);
        errors
    })?;
    Ok(instrument)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wording written for the tests (not CORE-10's).
    fn wording() -> Wording {
        Wording {
            stem: "Over the last week".into(),
            options: ["None", "A little", "Some", "Much", "Most"]
                .map(String::from)
                .to_vec(),
            items: (1..=10).map(|i| format!("Test question {i}")).collect(),
        }
    }

    #[test]
    fn the_shipped_rules_are_the_published_scoring() {
        let rules = rules();
        assert_eq!((rules.items, rules.options), (10, 5));
        assert_eq!(rules.reverse, [2, 3]);
        assert_eq!(rules.risk, [6]);
        assert_eq!((rules.cut_off, rules.reliable_change), (11, 6));
        let bands: Vec<(u32, u32)> = rules.bands.iter().map(|b| (b.from, b.to)).collect();
        assert_eq!(
            bands,
            [(0, 5), (6, 10), (11, 14), (15, 19), (20, 24), (25, 40)]
        );
        assert!(rules.copyright.contains("© CORE System Trust"));
    }

    #[test]
    fn an_import_scores_by_the_rules_with_items_2_and_3_reversed() {
        let core = build(&wording()).unwrap();
        assert_eq!(core.max_total(), 40);
        assert_eq!(core.attribution, "© CORE System Trust");
        // "Not at all" everywhere: items 2 and 3 (feeling supported, able to cope) count 4.
        let none = core.score(&[Some(0); 10]).unwrap();
        assert_eq!(none.total, 8);
        assert!(none.risk_items.is_empty());
        let mut answers = [Some(0u8); 10];
        answers[1] = Some(4);
        answers[2] = Some(4);
        assert_eq!(core.score(&answers).unwrap().total, 0);
        answers[5] = Some(1);
        let risky = core.score(&answers).unwrap();
        assert_eq!(
            (risky.total, risky.risk_items.as_slice()),
            (1, [6].as_slice())
        );
        let worst = core
            .score(&[4, 0, 0, 4, 4, 4, 4, 4, 4, 4].map(Some))
            .unwrap();
        assert_eq!(
            (worst.total, core.bands[worst.band].label.as_str()),
            (40, "Severe")
        );
        assert_eq!(core.score(&[Some(1); 10]).unwrap().total, 8 + 6);
    }

    #[test]
    fn wording_left_out_or_too_long_is_named_at_its_field() {
        let mut w = wording();
        w.items[6] = " ".into();
        w.options[0] = "x".repeat(MAX_WORDING + 1);
        w.stem = "two\nlines".into();
        let errors = build(&w).unwrap_err();
        assert!(errors.get("item_7").unwrap().contains("question 7"));
        assert!(errors.get("option_1").unwrap().contains("300 characters"));
        assert!(errors.get("stem").unwrap().contains("one line"));
        w = wording();
        w.items.truncate(9);
        assert!(build(&w).unwrap_err().get("item_10").is_some());
    }
}
