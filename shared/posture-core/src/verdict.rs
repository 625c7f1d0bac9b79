//! The one rule for a verdict over a scope (a check over resources, a source
//! over a requirement, a requirement over its sources): FAILED when anything
//! failed; otherwise UNKNOWN when anything in the scope could not be read;
//! PASSED only when everything read passed; NOT_APPLICABLE when nothing was in
//! scope. A gap never becomes PASSED. Every status in the product is decided
//! here, so the invariant holds by construction; the property tests below
//! hold it against random evidence.

use crate::sources::{SECURITY_HUB, SourceGap};
use serde::{Deserialize, Serialize};

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControlStatus {
    /// Everything in scope was read, and passes.
    Passed,
    /// Something in scope fails.
    Failed,
    /// Nothing in scope.
    NotApplicable,
    /// Something in scope could not be read and nothing fails, or there was
    /// no data at all.
    Unknown,
    /// Not automatable: needs a person.
    Manual,
    /// Fails, but every failure found is an accepted risk (an exception in force).
    Suppressed,
}

/// What was observed over a scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Pieces of evidence that pass.
    pub passed: usize,
    /// Pieces that fail.
    pub failed: usize,
    /// Pieces that should have been read and were not (a gap).
    pub unread: usize,
    /// Pieces out of scope.
    pub not_applicable: usize,
    /// Pieces that fail and are accepted risks.
    pub suppressed: usize,
}

impl Tally {
    /// The verdict. With no evidence at all it is UNKNOWN (no data).
    pub fn status(&self) -> ControlStatus {
        if self.failed > 0 {
            ControlStatus::Failed
        } else if self.suppressed > 0 {
            ControlStatus::Suppressed
        } else if self.unread > 0 {
            ControlStatus::Unknown
        } else if self.passed > 0 {
            ControlStatus::Passed
        } else if self.not_applicable > 0 {
            ControlStatus::NotApplicable
        } else {
            ControlStatus::Unknown
        }
    }

    /// Counts one sub-verdict of the scope. `has_gaps` says whether an
    /// UNKNOWN sub-verdict is UNKNOWN because something was not read (a gap,
    /// which keeps the whole from passing) or only because it had no
    /// evidence to offer (a source with nothing to say, which does not).
    pub fn add(&mut self, status: ControlStatus, has_gaps: bool) {
        match status {
            ControlStatus::Passed => self.passed += 1,
            ControlStatus::Failed => self.failed += 1,
            ControlStatus::NotApplicable => self.not_applicable += 1,
            ControlStatus::Suppressed => self.suppressed += 1,
            ControlStatus::Unknown if has_gaps => self.unread += 1,
            ControlStatus::Unknown | ControlStatus::Manual => {}
        }
    }
}

/// Evidence that an assessment should have rested on but could not read,
/// each entry a reason shown to the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unread {
    /// The inventories (the native checks' data) could not be read.
    pub inventory: Vec<String>,
    /// Security Hub's control findings could not be read in full.
    pub security_hub: Vec<String>,
}

impl Unread {
    /// The evidence a collection's finding-source gaps left unread.
    pub fn of_source_gaps(gaps: &[SourceGap]) -> Unread {
        Unread {
            inventory: Vec::new(),
            security_hub: gaps
                .iter()
                .filter(|g| g.service == SECURITY_HUB && g.leaves_unread())
                .map(ToString::to_string)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = ControlStatus> {
        prop_oneof![
            Just(ControlStatus::Passed),
            Just(ControlStatus::Failed),
            Just(ControlStatus::NotApplicable),
            Just(ControlStatus::Unknown),
            Just(ControlStatus::Manual),
            Just(ControlStatus::Suppressed),
        ]
    }

    proptest! {
        #[test]
        fn a_gap_never_passes(passed in 0usize..50, failed in 0usize..3, unread in 1usize..5, na in 0usize..5) {
            let t = Tally { passed, failed, unread, not_applicable: na, suppressed: 0 };
            prop_assert_ne!(t.status(), ControlStatus::Passed);
            prop_assert_eq!(t.status(), if failed > 0 { ControlStatus::Failed } else { ControlStatus::Unknown });
        }

        #[test]
        fn passed_means_every_piece_read_and_passed(passed in 0usize..50, failed in 0usize..3, unread in 0usize..3, na in 0usize..5, suppressed in 0usize..3) {
            let t = Tally { passed, failed, unread, not_applicable: na, suppressed };
            prop_assert_eq!(t.status() == ControlStatus::Passed, passed > 0 && failed == 0 && unread == 0 && suppressed == 0);
        }

        #[test]
        fn an_accepted_failure_is_never_passed(passed in 0usize..50, failed in 0usize..3, unread in 0usize..3, na in 0usize..5, suppressed in 1usize..4) {
            let t = Tally { passed, failed, unread, not_applicable: na, suppressed };
            let expected = if failed > 0 { ControlStatus::Failed } else { ControlStatus::Suppressed };
            prop_assert_eq!(t.status(), expected);
        }

        #[test]
        fn combining_keeps_gaps(subs in proptest::collection::vec((status(), any::<bool>()), 0..8)) {
            let mut t = Tally::default();
            for (s, gaps) in &subs {
                t.add(*s, *gaps);
            }
            let gap = subs.iter().any(|(s, g)| *s == ControlStatus::Unknown && *g);
            let fail = subs.iter().any(|(s, _)| *s == ControlStatus::Failed);
            let accepted = subs.iter().any(|(s, _)| *s == ControlStatus::Suppressed);
            if fail {
                prop_assert_eq!(t.status(), ControlStatus::Failed);
            } else if accepted {
                prop_assert_eq!(t.status(), ControlStatus::Suppressed);
            } else if gap {
                prop_assert_eq!(t.status(), ControlStatus::Unknown);
            }
        }
    }
}
