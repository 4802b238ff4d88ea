//! Recording what happened at a session: when an outcome may be recorded, and the charge it
//! carries under the cancellation policy ([`policy::assess`]).
//!
//! The office recording an outcome and the client cancelling in the portal both turn what was
//! recorded into a [`NewCharge`] here, so the two can never store different things for the
//! same facts.

use jiff::Timestamp;

use super::policy::{self, CancellationPolicy, Outcome, Recorded};
use crate::Pence;

/// What to store when an outcome is recorded: the outcome, when the client said they could
/// not come, and the charge with the rule and policy version that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCharge {
    pub outcome: Outcome,
    pub told_at: Option<Timestamp>,
    pub amount: Pence,
    pub rule: String,
    pub policy_version: u32,
    pub used_free_allowance: bool,
}

/// Why an outcome cannot be recorded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRecordable {
    /// Attended or did not attend, before the session has started.
    NotStarted,
    /// A cancellation the client told the practice about at a time still to come.
    ToldInFuture,
}

/// Whether `recorded` can be recorded for a session starting at `start`, at `now`: whether
/// the client came (or did not) is known only once it has started, and a cancellation is
/// something they have already told the practice.
pub fn check_recordable(
    recorded: Recorded,
    start: Timestamp,
    now: Timestamp,
) -> Result<(), NotRecordable> {
    match recorded {
        Recorded::Attended | Recorded::DidNotAttend if start > now => {
            Err(NotRecordable::NotStarted)
        }
        Recorded::ClientCancelled { told_at } if told_at > now => Err(NotRecordable::ToldInFuture),
        Recorded::Attended
        | Recorded::DidNotAttend
        | Recorded::ClientCancelled { .. }
        | Recorded::TherapistCancelled => Ok(()),
    }
}

/// The charge `recorded` carries for a session of `fee` starting at `start`, under `policy`
/// (the version the client agreed for that session), given the starts of the client's
/// earlier late cancellations that used the free allowance.
pub fn charge_for(
    policy: &CancellationPolicy,
    fee: Pence,
    start: Timestamp,
    recorded: Recorded,
    earlier_free: &[Timestamp],
) -> NewCharge {
    let assessment = policy::assess(policy, fee, start, recorded, earlier_free);
    NewCharge {
        outcome: assessment.outcome,
        told_at: match recorded {
            Recorded::ClientCancelled { told_at } => Some(told_at),
            Recorded::Attended | Recorded::DidNotAttend | Recorded::TherapistCancelled => None,
        },
        amount: assessment.charge,
        rule: assessment.rule,
        policy_version: policy.version,
        used_free_allowance: assessment.used_free_allowance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const START: Timestamp = Timestamp::constant(1_800_000_000, 0);
    const FEE: Pence = Pence::new(8000);
    const POLICY: CancellationPolicy = CancellationPolicy {
        version: 3,
        notice_hours: 48,
        grace_minutes: 0,
        late_cancellation_percent: 50,
        did_not_attend_percent: 100,
        free_late_cancellations: 1,
        free_period_days: 365,
    };

    fn hours_before(hours: i64) -> Timestamp {
        Timestamp::from_second(START.as_second() - hours * HOUR).unwrap()
    }

    #[test]
    fn the_charge_carries_the_policy_version_and_the_time_told() {
        let told_at = hours_before(2);
        let late = charge_for(
            &POLICY,
            FEE,
            START,
            Recorded::ClientCancelled { told_at },
            &[],
        );
        assert_eq!(late.outcome, Outcome::LateCancellation);
        assert_eq!(late.told_at, Some(told_at));
        assert_eq!(late.policy_version, 3);
        // The first late cancellation is free under the allowance.
        assert_eq!(late.amount, Pence::new(0));
        assert!(late.used_free_allowance);

        let again = charge_for(
            &POLICY,
            FEE,
            START,
            Recorded::ClientCancelled { told_at },
            &[hours_before(24 * 30)],
        );
        assert_eq!(again.amount, Pence::new(4000), "{again:?}");
        assert!(!again.used_free_allowance);
    }

    #[test]
    fn only_a_cancellation_keeps_a_time_told() {
        for (recorded, outcome, amount) in [
            (Recorded::Attended, Outcome::Attended, 8000),
            (Recorded::DidNotAttend, Outcome::DidNotAttend, 8000),
            (
                Recorded::TherapistCancelled,
                Outcome::CancelledByTherapist,
                0,
            ),
            (
                Recorded::ClientCancelled {
                    told_at: hours_before(72),
                },
                Outcome::CancelledInTime,
                0,
            ),
        ] {
            let charge = charge_for(&POLICY, FEE, START, recorded, &[]);
            assert_eq!(charge.outcome, outcome);
            assert_eq!(charge.amount, Pence::new(amount), "{charge:?}");
            assert_eq!(
                charge.told_at.is_some(),
                matches!(recorded, Recorded::ClientCancelled { .. })
            );
            assert_eq!(
                charge.rule,
                policy::assess(&POLICY, FEE, START, recorded, &[]).rule
            );
        }
    }

    #[test]
    fn attendance_waits_for_the_start_and_a_cancellation_for_the_telling() {
        let before = hours_before(1);
        let after = Timestamp::from_second(START.as_second() + HOUR).unwrap();
        assert_eq!(
            check_recordable(Recorded::Attended, START, before),
            Err(NotRecordable::NotStarted)
        );
        assert_eq!(
            check_recordable(Recorded::DidNotAttend, START, before),
            Err(NotRecordable::NotStarted)
        );
        assert_eq!(check_recordable(Recorded::Attended, START, START), Ok(()));
        assert_eq!(
            check_recordable(Recorded::DidNotAttend, START, after),
            Ok(())
        );
        // The therapist may cancel ahead of time; a client's cancellation has been told.
        assert_eq!(
            check_recordable(Recorded::TherapistCancelled, START, before),
            Ok(())
        );
        assert_eq!(
            check_recordable(Recorded::ClientCancelled { told_at: before }, START, before),
            Ok(())
        );
        assert_eq!(
            check_recordable(Recorded::ClientCancelled { told_at: after }, START, before),
            Err(NotRecordable::ToldInFuture)
        );
    }
}
