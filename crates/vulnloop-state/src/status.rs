use serde::Serialize;

/// Position of a finding in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Reported by a scan and not yet fixed.
    Unfixed,
    /// A `fix --apply` step for it is running, or the run was interrupted.
    Fixing,
    /// The step for it succeeded; `verify` has not checked it yet.
    Fixed,
    /// The step for it failed, or `verify` still finds it.
    FixFailed,
    /// `verify` no longer finds it, but a process or the kernel still runs the old code.
    RestartPending,
    /// `verify` no longer finds it and nothing runs the old code.
    Verified,
    /// An ignore rule applies to it.
    Ignored,
    /// A complete scan no longer reports it without a fix from vulnloop
    /// (upgraded by hand, package removed, or the advisory changed).
    NoLongerPresent,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Unfixed,
        Status::Fixing,
        Status::Fixed,
        Status::FixFailed,
        Status::RestartPending,
        Status::Verified,
        Status::Ignored,
        Status::NoLongerPresent,
    ];

    /// Returns the name stored in the database and printed in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unfixed => "unfixed",
            Status::Fixing => "fixing",
            Status::Fixed => "fixed",
            Status::FixFailed => "fix_failed",
            Status::RestartPending => "restart_pending",
            Status::Verified => "verified",
            Status::Ignored => "ignored",
            Status::NoLongerPresent => "no_longer_present",
        }
    }

    /// Returns the status as tables print it (`fix failed`).
    pub fn label(self) -> &'static str {
        match self {
            Status::Unfixed => "unfixed",
            Status::Fixing => "fixing",
            Status::Fixed => "fixed",
            Status::FixFailed => "fix failed",
            Status::RestartPending => "restart pending",
            Status::Verified => "verified",
            Status::Ignored => "ignored",
            Status::NoLongerPresent => "no longer present",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// Returns the status after a scan that reports the finding, when it
    /// changes. `ignored` is true when an ignore rule applies to it.
    pub(crate) fn on_reported(self, ignored: bool) -> Option<Status> {
        let next = match (self, ignored) {
            (Status::Ignored, true) => return None,
            (_, true) => Status::Ignored,
            (Status::Unfixed | Status::Fixing | Status::FixFailed, false) => return None,
            (Status::Fixed, false) => Status::FixFailed,
            (
                Status::Ignored
                | Status::RestartPending
                | Status::Verified
                | Status::NoLongerPresent,
                false,
            ) => Status::Unfixed,
        };
        Some(next)
    }

    /// Returns the status after a complete scan that no longer reports
    /// the finding, when it changes.
    ///
    /// `fixed` and `restart_pending` stay: `verify` decides them, because
    /// it also checks what still runs the old code.
    pub(crate) fn on_absent(self) -> Option<Status> {
        match self {
            Status::Unfixed | Status::Fixing | Status::FixFailed | Status::Ignored => {
                Some(Status::NoLongerPresent)
            }
            Status::Fixed | Status::RestartPending | Status::Verified | Status::NoLongerPresent => {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn reported_after_fix_fails() {
        assert_eq!(Status::Fixed.on_reported(false), Some(Status::FixFailed));
    }

    #[test]
    fn reported_again_reopens() {
        for status in [
            Status::Verified,
            Status::NoLongerPresent,
            Status::RestartPending,
            Status::Ignored,
        ] {
            assert_eq!(
                status.on_reported(false),
                Some(Status::Unfixed),
                "{status:?}"
            );
        }
        assert_eq!(Status::Unfixed.on_reported(false), None);
        assert_eq!(Status::FixFailed.on_reported(false), None);
    }

    #[test]
    fn ignore_rule_wins_while_reported() {
        assert_eq!(Status::Unfixed.on_reported(true), Some(Status::Ignored));
        assert_eq!(Status::Ignored.on_reported(true), None);
    }

    #[test]
    fn absent_leaves_fixes_to_verify() {
        assert_eq!(Status::Unfixed.on_absent(), Some(Status::NoLongerPresent));
        assert_eq!(Status::Fixed.on_absent(), None);
        assert_eq!(Status::RestartPending.on_absent(), None);
    }
}
