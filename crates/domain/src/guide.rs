//! "Which kind of therapy might suit me?": a plain-language guide built from what the
//! practice offers. It sets out four choices people weigh — understanding root causes or
//! easing what troubles them now, brief or open-ended work, structure or room to explore, in
//! the room or online — and for each says what this practice offers. It never suggests a
//! diagnosis or a treatment for one; it ends at booking a consultation, where the question
//! is answered together.
//!
//! Which side of the first and third choices an approach leans to is a property of the
//! directory's fixed vocabulary of approaches ([`leaning`]), so the guide needs nothing more
//! from the practice than the approaches, ways of working and places it already gives.

use crate::directory::{APPROACHES, WAYS_OF_WORKING};

/// Where an approach leans on the guide's first and third choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaning {
    /// Looks for where difficulties come from (history, patterns, what is out of awareness).
    pub roots: bool,
    /// Works on what troubles you now, its thoughts, feelings and habits.
    pub present: bool,
    /// Sessions follow a plan, often with exercises or tasks between them.
    pub structured: bool,
    /// Sessions follow what you bring, with room to explore.
    pub exploring: bool,
}

const fn lean(roots: bool, present: bool, structured: bool, exploring: bool) -> Leaning {
    Leaning {
        roots,
        present,
        structured,
        exploring,
    }
}

/// How an approach of the directory's vocabulary leans (`None` for a slug not in it).
pub fn leaning(slug: &str) -> Option<Leaning> {
    Some(match slug {
        "psychodynamic" | "psychoanalytic" | "jungian" => lean(true, false, false, true),
        "mentalization" | "transactional-analysis" => lean(true, true, false, true),
        "cat" | "schema" => lean(true, true, true, false),
        "cbt" | "dbt" | "emdr" => lean(false, true, true, false),
        "act" | "compassion-focused" | "mindfulness" => lean(false, true, true, true),
        "person-centred" | "humanistic" | "existential" | "gestalt" | "arts" => {
            lean(false, true, false, true)
        }
        "systemic" => lean(true, true, false, true),
        "integrative" => lean(true, true, true, true),
        _ => return None,
    })
}

/// One side of a choice, as this practice offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub offered: bool,
    /// The practice's approaches on this side, by slug, in the practice's order.
    pub approaches: Vec<&'static str>,
}

/// What the practice offers on each of the guide's choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guide {
    /// The practice's approaches the vocabulary knows, by slug.
    pub approaches: Vec<&'static str>,
    pub roots: Side,
    pub present: Side,
    pub brief: bool,
    pub open_ended: bool,
    pub structured: Side,
    pub exploring: Side,
    pub in_person: bool,
    pub online: bool,
}

/// The guide for a practice offering `approaches` and `ways` (slugs; unknown ones are left
/// out) in person and/or online.
pub fn guide(approaches: &[&str], ways: &[&str], in_person: bool, online: bool) -> Guide {
    let known: Vec<&'static str> = approaches
        .iter()
        .filter_map(|a| APPROACHES.iter().find(|t| t.slug == *a).map(|t| t.slug))
        .collect();
    let side = |on: fn(&Leaning) -> bool| {
        let approaches: Vec<&'static str> = known
            .iter()
            .copied()
            .filter(|a| leaning(a).is_some_and(|l| on(&l)))
            .collect();
        Side {
            offered: !approaches.is_empty(),
            approaches,
        }
    };
    let way = |slug: &str| ways.contains(&slug) && WAYS_OF_WORKING.iter().any(|w| w.slug == slug);
    Guide {
        roots: side(|l| l.roots),
        present: side(|l| l.present),
        structured: side(|l| l.structured),
        exploring: side(|l| l.exploring),
        approaches: known,
        brief: way("brief"),
        open_ended: way("open-ended"),
        in_person,
        online,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_approach_of_the_vocabulary_has_a_leaning_on_both_choices() {
        for term in APPROACHES {
            let l = leaning(term.slug).unwrap_or_else(|| panic!("{} has no leaning", term.slug));
            assert!(l.roots || l.present, "{}", term.slug);
            assert!(l.structured || l.exploring, "{}", term.slug);
        }
        assert_eq!(leaning("astrology"), None);
    }

    #[test]
    fn a_psychodynamic_practice_offers_roots_and_exploration_not_structure() {
        let g = guide(
            &["psychodynamic", "nonsense"],
            &["brief", "open-ended"],
            true,
            false,
        );
        assert_eq!(g.approaches, ["psychodynamic"]);
        assert!(g.roots.offered && !g.present.offered);
        assert!(g.exploring.offered && !g.structured.offered);
        assert!(g.brief && g.open_ended && g.in_person && !g.online);
        let both = guide(&["psychodynamic", "cbt"], &["brief"], false, true);
        assert_eq!(both.present.approaches, ["cbt"]);
        assert_eq!(both.roots.approaches, ["psychodynamic"]);
        assert!(!both.open_ended);
    }
}
