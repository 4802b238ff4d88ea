//! Which planned sessions would clash with the therapist's other appointments.
//!
//! The office checks every plan (a new contract, a change from a date, an outcome that adds a
//! session at the end of brief work, a moved session) before anything is stored, so that a
//! clash is shown at the field with its dates. The store's occupancy rule refuses whatever
//! slips past; this is the same rule asked early, over plain times, so every entry point asks
//! it the same way.

use jiff::Timestamp;

use super::schedule::Planned;

/// A stretch of time an appointment holds: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Span {
    /// Whether the two share any instant (touching ends do not).
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// The stretch of time the planned sessions that hold time (those not in a break) cover,
/// from the earliest start to the latest end: where to look for busy times. `None` when no
/// planned session holds time.
pub fn window(planned: &[Planned]) -> Option<Span> {
    let holding = planned.iter().filter(|p| !p.in_break);
    let start = holding.clone().map(|p| p.start).min()?;
    let end = holding.map(|p| p.end).max()?;
    Some(Span { start, end })
}

/// Starts of the `planned` sessions (not those in a break) that overlap one of the `busy`
/// times, in the order planned. `freed` are the spans of the sessions the plan takes the
/// place of that hold time (not those in a break): each frees the one busy time that has
/// exactly its span, so a session never clashes with the session it replaces.
pub fn clashes(planned: &[Planned], busy: &[Span], freed: &[Span]) -> Vec<Timestamp> {
    let mut busy: Vec<Span> = busy.to_vec();
    for gone in freed {
        if let Some(i) = busy.iter().position(|b| b == gone) {
            busy.swap_remove(i);
        }
    }
    planned
        .iter()
        .filter(|p| !p.in_break)
        .filter(|p| {
            let span = Span {
                start: p.start,
                end: p.end,
            };
            busy.iter().any(|b| b.overlaps(&span))
        })
        .map(|p| p.start)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + hours * HOUR).unwrap()
    }

    fn span(from: i64, to: i64) -> Span {
        Span {
            start: at(from),
            end: at(to),
        }
    }

    fn planned(from: i64, to: i64, in_break: bool) -> Planned {
        Planned {
            start: at(from),
            end: at(to),
            in_break,
        }
    }

    #[test]
    fn a_planned_session_over_a_busy_time_clashes_and_one_beside_it_does_not() {
        let plan = [
            planned(0, 1, false),
            planned(2, 3, false),
            planned(5, 6, false),
        ];
        let busy = [span(1, 2), span(2, 4)];
        // 0–1 only touches 1–2; 2–3 lies inside 2–4; 5–6 is clear.
        assert_eq!(clashes(&plan, &busy, &[]), [at(2)]);
    }

    #[test]
    fn sessions_in_a_break_hold_no_time_and_never_clash() {
        let plan = [planned(0, 1, true), planned(24, 25, false)];
        let busy = [span(0, 1), span(24, 25)];
        assert_eq!(clashes(&plan, &busy, &[]), [at(24)]);
        assert_eq!(window(&plan), Some(span(24, 25)));
        assert_eq!(window(&[planned(0, 1, true)]), None);
    }

    #[test]
    fn a_replaced_session_frees_exactly_its_own_time_once() {
        let plan = [planned(0, 1, false)];
        // The session being replaced and a consultation at the very same time: the plan may
        // take the session's place, never the consultation's.
        let busy = [span(0, 1), span(0, 1)];
        assert_eq!(clashes(&plan, &busy, &[span(0, 1)]), [at(0)]);
        assert!(clashes(&plan, &busy[..1], &[span(0, 1)]).is_empty());
        // Freeing a time that is not busy frees nothing else.
        assert_eq!(clashes(&plan, &busy[..1], &[span(3, 4)]), [at(0)]);
    }

    #[test]
    fn the_window_runs_from_the_first_start_to_the_last_end() {
        let plan = [
            planned(5, 6, false),
            planned(0, 2, false),
            planned(3, 4, false),
        ];
        assert_eq!(window(&plan), Some(span(0, 6)));
        assert_eq!(window(&[]), None);
    }
}
