use proptest::prelude::*;

use super::*;

fn phq9() -> Instrument {
    Instrument::parse(SHIPPED[0].1).unwrap()
}

fn gad7() -> Instrument {
    Instrument::parse(SHIPPED[1].1).unwrap()
}

/// The published rules, written out apart from the definitions: the severity thresholds
/// (each band starts at one of these), the cut-off and the risk item.
struct Reference {
    items: usize,
    starts: &'static [u32],
    cut_off: u32,
    risk_item: Option<usize>,
}

const PHQ9: Reference = Reference {
    items: 9,
    starts: &[0, 5, 10, 15, 20],
    cut_off: 10,
    risk_item: Some(9),
};

const GAD7: Reference = Reference {
    items: 7,
    starts: &[0, 5, 10, 15],
    cut_off: 8,
    risk_item: None,
};

/// Every answer vector of `reference.items` items with options 0 to 3, checked against
/// the reference's own arithmetic.
fn exhaustive(instrument: &Instrument, reference: &Reference) -> usize {
    let n = reference.items;
    let count = 4usize.pow(u32::try_from(n).unwrap());
    for code in 0..count {
        let answers: Vec<Option<u8>> = (0..n)
            .map(|i| Some(u8::try_from((code >> (2 * i)) & 3).unwrap()))
            .collect();
        let expected_total: u32 = answers.iter().map(|a| u32::from(a.unwrap())).sum();
        let expected_band = reference
            .starts
            .iter()
            .filter(|start| **start <= expected_total)
            .count()
            - 1;
        let expected_risk: Vec<usize> = reference
            .risk_item
            .filter(|i| answers[i - 1] != Some(0))
            .into_iter()
            .collect();
        let score = instrument.score(&answers).unwrap();
        assert_eq!(score.total, expected_total, "{answers:?}");
        assert_eq!(score.band, expected_band, "{answers:?}");
        assert_eq!(
            score.above_cut_off,
            expected_total >= reference.cut_off,
            "{answers:?}"
        );
        assert_eq!(score.risk_items, expected_risk, "{answers:?}");
    }
    count
}

#[test]
fn every_phq9_answer_vector_scores_as_the_published_rules_say() {
    assert_eq!(exhaustive(&phq9(), &PHQ9), 262_144);
}

#[test]
fn every_gad7_answer_vector_scores_as_the_published_rules_say() {
    assert_eq!(exhaustive(&gad7(), &GAD7), 16_384);
}

#[test]
fn the_shipped_instruments_are_the_standard_forms() {
    let phq = phq9();
    assert_eq!((phq.items.len(), phq.max_total()), (9, 27));
    assert_eq!(
        phq.items.iter().filter(|i| i.risk).count(),
        1,
        "only item 9"
    );
    assert!(phq.items[8].risk);
    assert_eq!(
        phq.items[8].text,
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    );
    assert_eq!((phq.cut_off, phq.reliable_change), (10, 6));
    assert_eq!(phq.loinc_panel.as_deref(), Some("44249-1"));
    assert_eq!(phq.loinc_total.as_deref(), Some("44261-6"));
    let gad = gad7();
    assert_eq!((gad.items.len(), gad.max_total()), (7, 21));
    assert!(gad.items.iter().all(|i| !i.risk));
    assert_eq!((gad.cut_off, gad.reliable_change), (8, 4));
    assert_eq!(gad.loinc_total.as_deref(), Some("70274-6"));
    for instrument in shipped() {
        assert!(
            instrument
                .attribution
                .contains("Spitzer, Janet B.W. Williams, Kurt Kroenke")
        );
        let labels: Vec<&str> = instrument
            .options
            .iter()
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "Not at all",
                "Several days",
                "More than half the days",
                "Nearly every day"
            ]
        );
        assert!(
            instrument.follow_up.is_some(),
            "the difficulty question, not scored"
        );
    }
}

#[test]
fn bands_at_every_boundary() {
    let table: [(&Instrument, u32, &str); 18] = [
        (&phq9(), 0, "Minimal"),
        (&phq9(), 4, "Minimal"),
        (&phq9(), 5, "Mild"),
        (&phq9(), 9, "Mild"),
        (&phq9(), 10, "Moderate"),
        (&phq9(), 14, "Moderate"),
        (&phq9(), 15, "Moderately severe"),
        (&phq9(), 19, "Moderately severe"),
        (&phq9(), 20, "Severe"),
        (&phq9(), 27, "Severe"),
        (&gad7(), 0, "Minimal"),
        (&gad7(), 4, "Minimal"),
        (&gad7(), 5, "Mild"),
        (&gad7(), 9, "Mild"),
        (&gad7(), 10, "Moderate"),
        (&gad7(), 14, "Moderate"),
        (&gad7(), 15, "Severe"),
        (&gad7(), 21, "Severe"),
    ];
    for (instrument, total, label) in table {
        assert_eq!(
            instrument.bands[instrument.band_of(total)].label,
            label,
            "{} {total}",
            instrument.id
        );
    }
}

#[test]
fn reliable_change_and_crossing_the_cut_off() {
    use Reliable::*;
    // (first, latest, reliable, started above, recovered, reliably recovered)
    let phq: [(u32, u32, Reliable, bool, bool, bool); 8] = [
        (18, 12, Improved, true, false, false),
        (18, 13, NoReliableChange, true, false, false),
        (15, 9, Improved, true, true, true),
        (11, 9, NoReliableChange, true, true, false),
        (10, 10, NoReliableChange, true, false, false),
        (9, 3, Improved, false, false, false),
        (4, 10, Deteriorated, false, false, false),
        (4, 9, NoReliableChange, false, false, false),
    ];
    let instrument = phq9();
    for (first, latest, reliable, above, recovered, reliably) in phq {
        assert_eq!(
            instrument.change(first, latest),
            Change {
                reliable,
                started_above: above,
                ended_above: latest >= 10,
                recovered,
                reliably_recovered: reliably,
            },
            "PHQ-9 {first} → {latest}"
        );
    }
    let gad = gad7();
    assert_eq!(gad.change(12, 8).reliable, Improved);
    assert_eq!(gad.change(12, 9).reliable, NoReliableChange);
    assert!(gad.change(8, 7).recovered, "8 is at the cut-off");
    assert!(!gad.change(7, 2).started_above);
}

#[test]
fn answers_left_out_or_not_offered_are_named_by_item() {
    let phq = phq9();
    let mut answers = vec![Some(1); 9];
    answers[2] = None;
    answers[6] = Some(4);
    assert_eq!(
        phq.score(&answers),
        Err(AnswerError {
            missing: vec![3],
            invalid: vec![7]
        })
    );
    assert_eq!(
        phq.score(&[]).unwrap_err().missing,
        (1..=9).collect::<Vec<_>>()
    );
    assert_eq!(phq.score(&[Some(0); 10]).unwrap_err().invalid, [10]);
}

#[test]
fn a_definition_that_does_not_add_up_is_refused() {
    let good = SHIPPED[1].1;
    let refused = |from: &str, to: &str| {
        let text = good.replacen(from, to, 1);
        assert_ne!(text, good, "{from}");
        Instrument::parse(&text).unwrap_err().0
    };
    assert!(refused("from = 5\nto = 9", "from = 6\nto = 9").contains("without gaps"));
    assert!(refused("from = 15\nto = 21", "from = 15\nto = 20").contains("end at 21"));
    assert!(refused("value = 2", "value = 3").contains("in order"));
    assert!(refused("cut_off = 8", "cut_off = 30").contains("cut-off"));
    assert!(refused("reliable_change = 4", "reliable_change = 0").contains("reliable change"));
    assert!(refused("id = \"gad-7\"", "id = \"GAD 7\"").contains("id"));
    assert!(refused("text = \"Trouble relaxing\"", "text = \" \"").contains("item 4"));
    assert!(refused("cut_off = 8", "cut_off = 8\nscoring = \"mean\"").contains("not a definition"));
}

proptest! {
    /// An instrument of CORE-10's shape (ten items, five options worth 0 to 4, items 2 and 3
    /// scored in reverse, a total of 0 to 40, one risk item), written here as a test
    /// definition: the score is the sum with items 2 and 3 counted as 4 less the answer,
    /// the band the one holding it, and the risk item flagged exactly when above zero.
    #[test]
    fn an_instrument_of_core10_shape_scores_by_its_definition(
        answers in proptest::collection::vec(0u8..=4, 10),
    ) {
        let mut text = String::from(
            "id = \"test-10\"\nshort = \"T-10\"\nname = \"Test of ten\"\nlanguage = \"en\"\nstem = \"Over the last week\"\nattribution = \"Written for the tests\"\nlicence = \"None\"\ncut_off = 11\nreliable_change = 6\n",
        );
        for (value, label) in ["None", "A little", "Some", "Much", "Most"].iter().enumerate() {
            text.push_str(&format!("[[options]]\nvalue = {value}\nlabel = \"{label}\"\n"));
        }
        for i in 1..=10 {
            text.push_str(&format!(
                "[[items]]\ntext = \"Item {i}\"\nrisk = {}\nreverse = {}\n",
                i == 6,
                i == 2 || i == 3
            ));
        }
        for (from, to) in [(0, 10), (11, 14), (15, 19), (20, 24), (25, 40)] {
            text.push_str(&format!("[[bands]]\nfrom = {from}\nto = {to}\nlabel = \"{from} to {to}\"\n"));
        }
        let instrument = Instrument::parse(&text).unwrap();
        let score = instrument.score(&answers.iter().copied().map(Some).collect::<Vec<_>>()).unwrap();
        let total: u32 = answers
            .iter()
            .enumerate()
            .map(|(i, a)| if i == 1 || i == 2 { 4 - u32::from(*a) } else { u32::from(*a) })
            .sum();
        prop_assert_eq!(score.total, total);
        let band = &instrument.bands[score.band];
        prop_assert!(band.from <= total && total <= band.to);
        prop_assert_eq!(score.above_cut_off, total >= 11);
        prop_assert_eq!(score.risk_items.is_empty(), answers[5] == 0);
    }
}
