//! The directory's fixed vocabularies: what people want help with, approaches, ways of
//! working and registration bodies. A practice ticks from these lists, and a search filters
//! by them, so a listing and a search always speak the same words. The lists are documented
//! in `docs/directory.md`; a slug, once published, is never renamed (directories and open
//! data consumers keep it).

use serde::Serialize;

/// One term of a fixed list: its slug (in addresses, forms and open data) and its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Term {
    pub slug: &'static str,
    pub label: &'static str,
}

const fn term(slug: &'static str, label: &'static str) -> Term {
    Term { slug, label }
}

/// What someone may want help with, in the order the search form shows them.
pub const HELP_WITH: &[Term] = &[
    term("anxiety", "Anxiety and worry"),
    term("depression", "Depression and low mood"),
    term("loss", "Loss and bereavement"),
    term("relationships", "Relationships"),
    term("trauma", "Trauma"),
    term("work", "Work and career"),
    term("identity", "Identity and sense of self"),
    term("abuse", "Abuse, past or present"),
    term("addiction", "Addiction and dependency"),
    term("anger", "Anger"),
    term("body-image", "Body image"),
    term("eating", "Eating difficulties"),
    term("self-esteem", "Self-esteem and confidence"),
    term("stress", "Stress"),
    term("panic", "Panic"),
    term("phobias", "Phobias and fears"),
    term("ocd", "Obsessions and compulsions (OCD)"),
    term("sleep", "Sleep"),
    term("self-harm", "Self-harm"),
    term("suicidal-thoughts", "Suicidal thoughts"),
    term("family", "Family"),
    term("parenting", "Parenting"),
    term("pregnancy", "Pregnancy, birth and fertility"),
    term("sexuality", "Sexuality"),
    term("gender", "Gender identity"),
    term("race-culture", "Race, culture and racism"),
    term("health", "Living with illness or pain"),
    term("neurodivergence", "Autism, ADHD and neurodivergence"),
    term("life-changes", "Life changes and transitions"),
    term("loneliness", "Loneliness"),
    term("childhood", "Childhood experiences"),
    term("separation", "Separation and divorce"),
    term("ageing", "Ageing and later life"),
    term("faith", "Faith, meaning and spirituality"),
    term("shame", "Shame and guilt"),
    term("perfectionism", "Perfectionism"),
    term("dissociation", "Dissociation"),
    term("money", "Money worries"),
    term("caring", "Caring for someone"),
    term("bullying", "Bullying"),
];

/// Ways of understanding and doing therapy.
pub const APPROACHES: &[Term] = &[
    term("psychodynamic", "Psychodynamic"),
    term("psychoanalytic", "Psychoanalytic"),
    term("cbt", "Cognitive behavioural therapy (CBT)"),
    term("integrative", "Integrative"),
    term("person-centred", "Person-centred"),
    term("systemic", "Systemic"),
    term("humanistic", "Humanistic"),
    term("existential", "Existential"),
    term("gestalt", "Gestalt"),
    term("cat", "Cognitive analytic therapy (CAT)"),
    term("emdr", "EMDR"),
    term("transactional-analysis", "Transactional analysis"),
    term("compassion-focused", "Compassion-focused therapy"),
    term("dbt", "Dialectical behaviour therapy (DBT)"),
    term("act", "Acceptance and commitment therapy (ACT)"),
    term("mindfulness", "Mindfulness-based therapy"),
    term("schema", "Schema therapy"),
    term("jungian", "Jungian analytic"),
    term("mentalization", "Mentalization-based therapy (MBT)"),
    term("arts", "Arts therapies"),
];

/// How long the work runs.
pub const WAYS_OF_WORKING: &[Term] = &[
    term("brief", "Brief work with an agreed focus"),
    term("open-ended", "Open-ended work"),
];

/// A professional body that keeps a public register, and where the public can check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RegistrationBody {
    pub slug: &'static str,
    /// Its usual short name (BACP).
    pub short: &'static str,
    pub name: &'static str,
    /// The public register's page, where anyone can look a registrant up.
    pub register: &'static str,
}

/// The bodies a listing may name, each with a register the public can search.
pub const REGISTRATION_BODIES: &[RegistrationBody] = &[
    RegistrationBody {
        slug: "bacp",
        short: "BACP",
        name: "British Association for Counselling and Psychotherapy",
        register: "https://www.bacp.co.uk/search/Register",
    },
    RegistrationBody {
        slug: "ukcp",
        short: "UKCP",
        name: "UK Council for Psychotherapy",
        register: "https://www.psychotherapy.org.uk/find-a-therapist/",
    },
    RegistrationBody {
        slug: "bps",
        short: "BPS",
        name: "British Psychological Society",
        register: "https://www.bps.org.uk/find-psychologist",
    },
    RegistrationBody {
        slug: "hcpc",
        short: "HCPC",
        name: "Health and Care Professions Council",
        register: "https://www.hcpc-uk.org/check-the-register/",
    },
    RegistrationBody {
        slug: "ncps",
        short: "NCPS",
        name: "National Counselling and Psychotherapy Society",
        register: "https://ncps.com/find-a-therapist",
    },
    RegistrationBody {
        slug: "bpc",
        short: "BPC",
        name: "British Psychoanalytic Council",
        register: "https://www.bpc.org.uk/find-a-therapist/",
    },
];

/// The term of `list` with this slug.
pub fn find(list: &'static [Term], slug: &str) -> Option<&'static Term> {
    list.iter().find(|t| t.slug == slug)
}

/// The registration body with this slug.
pub fn body(slug: &str) -> Option<&'static RegistrationBody> {
    REGISTRATION_BODIES.iter().find(|b| b.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn slugs_are_unique_and_well_formed() {
        for list in [HELP_WITH, APPROACHES, WAYS_OF_WORKING] {
            let slugs: HashSet<_> = list.iter().map(|t| t.slug).collect();
            assert_eq!(slugs.len(), list.len());
            for t in list {
                assert!(crate::Slug::parse(t.slug).is_ok(), "{}", t.slug);
                assert!(!t.label.is_empty());
            }
        }
        assert_eq!(HELP_WITH.len(), 40);
        assert!(
            REGISTRATION_BODIES
                .iter()
                .all(|b| b.register.starts_with("https://"))
        );
        assert_eq!(body("bacp").map(|b| b.short), Some("BACP"));
        assert!(find(APPROACHES, "psychodynamic").is_some());
        assert!(find(APPROACHES, "astrology").is_none());
    }
}
