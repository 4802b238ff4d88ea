//! The practice's outcomes over ended work, as NHS Talking Therapies defines them.
//!
//! A finished course is one piece of ended work (a contract) with at least two completed
//! questionnaires of a measure: its first and its latest total are compared
//! ([`Instrument::change`]). Across the measures a course used, it counts as NHS Talking
//! Therapies counts a course over its paired measures ([`across`]): it *started above the
//! cut-off* if any measure did; it *improved reliably* if any measure fell by its reliable
//! change figure and none rose by it; it *recovered* if it started above the cut-off on at
//! least one measure and ended below it on all; it *recovered reliably* if both. Figures are
//! counts of courses; none is shown unless at least [`MIN_CLIENTS`] different clients
//! stand behind it ([`Tally::shown`]).

use std::collections::BTreeSet;

use super::{Change, Reliable};

/// No figure is shown for fewer clients than this.
pub const MIN_CLIENTS: usize = 5;

/// One measure's change over one course, with whose course it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Course {
    /// Any stable id of the client (only counted, never shown).
    pub client: i64,
    pub change: Change,
}

/// Counts over finished courses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Finished courses.
    pub finished: u32,
    pub started_above: u32,
    pub reliable_improvement: u32,
    pub reliable_deterioration: u32,
    /// Of those that started above the cut-off.
    pub recovered: u32,
    pub reliably_recovered: u32,
    clients: BTreeSet<i64>,
}

impl Tally {
    /// Count `courses`.
    pub fn of(courses: impl IntoIterator<Item = Course>) -> Self {
        let mut tally = Self::default();
        for course in courses {
            tally.add(course);
        }
        tally
    }

    /// Count one more course.
    pub fn add(&mut self, course: Course) {
        let change = course.change;
        self.finished += 1;
        self.clients.insert(course.client);
        self.started_above += u32::from(change.started_above);
        self.reliable_improvement += u32::from(change.reliable == Reliable::Improved);
        self.reliable_deterioration += u32::from(change.reliable == Reliable::Deteriorated);
        self.recovered += u32::from(change.recovered);
        self.reliably_recovered += u32::from(change.reliably_recovered);
    }

    /// How many different clients the courses were with.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// The figures, or `None` when fewer than [`MIN_CLIENTS`] clients stand behind them.
    pub fn shown(&self) -> Option<&Self> {
        (self.clients() >= MIN_CLIENTS).then_some(self)
    }
}

/// One course's change across the measures it used (see the module documentation);
/// `None` without any.
pub fn across(changes: &[Change]) -> Option<Change> {
    if changes.is_empty() {
        return None;
    }
    let started_above = changes.iter().any(|c| c.started_above);
    let improved = changes.iter().any(|c| c.reliable == Reliable::Improved);
    let deteriorated = changes.iter().any(|c| c.reliable == Reliable::Deteriorated);
    let reliable = match (improved, deteriorated) {
        (_, true) => Reliable::Deteriorated,
        (true, false) => Reliable::Improved,
        (false, false) => Reliable::NoReliableChange,
    };
    // Ended below the cut-off on every measure: a measure that started below and rose
    // above it is not below at the end.
    let all_below_at_end = changes
        .iter()
        .all(|c| c.recovered || (!c.started_above && !c.ended_above));
    let recovered = started_above && all_below_at_end;
    Some(Change {
        reliable,
        started_above,
        ended_above: !all_below_at_end,
        recovered,
        reliably_recovered: recovered && reliable == Reliable::Improved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measures::shipped;

    #[test]
    fn a_course_counts_as_nhs_talking_therapies_counts_it() {
        let [phq, gad] = <[_; 2]>::try_from(shipped()).unwrap();
        // Depression recovered reliably, anxiety never a case: recovered reliably.
        let both = across(&[phq.change(16, 6), gad.change(5, 4)]).unwrap();
        assert!(both.reliably_recovered);
        // Depression recovered, anxiety still above its cut-off: not recovered.
        let one = across(&[phq.change(16, 6), gad.change(12, 9)]).unwrap();
        assert!(one.started_above && !one.recovered);
        assert_eq!(one.reliable, Reliable::Improved);
        // One measure improved reliably, the other got reliably worse: deterioration.
        let mixed = across(&[phq.change(16, 8), gad.change(3, 9)]).unwrap();
        assert_eq!(mixed.reliable, Reliable::Deteriorated);
        assert!(!mixed.recovered, "anxiety ended above its cut-off");
        assert_eq!(across(&[]), None);
    }

    #[test]
    fn no_figure_for_fewer_than_five_clients() {
        let phq = &shipped()[0];
        let course = |client| Course {
            client,
            change: phq.change(15, 5),
        };
        // Four clients, one with two courses: five courses, still four people.
        let four = Tally::of([1, 2, 3, 4, 4].map(course));
        assert_eq!((four.finished, four.clients()), (5, 4));
        assert!(four.shown().is_none());
        let five = Tally::of([1, 2, 3, 4, 5].map(course));
        let shown = five.shown().unwrap();
        assert_eq!(
            (
                shown.started_above,
                shown.recovered,
                shown.reliably_recovered
            ),
            (5, 5, 5)
        );
    }
}
