//! Inventory × advisories → findings.
//!
//! The matcher is deterministic and does no I/O: it reads advisories through
//! the [`AdvisoryIndex`] trait (the SQLite database in production, a
//! [`MemoryIndex`] in tests) and returns a [`MatchReport`] whose every
//! [`Finding`] carries the evidence that decided it.

mod application;
mod channel;
mod finding;
mod index;
mod kernel;
mod matcher;
mod vendor;
mod verdict;

pub use application::{
    compare_app_versions, match_applications, scheme_for_app, AppAdvisoryIndex, AppFinding,
    AppFindingStatus, AppMatchReport,
};
pub use finding::{
    Coverage, CoverageNote, Evidence, Finding, FindingStatus, InstalledBinary, MatchReport,
    WindowsUpdate,
};
pub use index::{AdvisoryIndex, Candidate, MemoryIndex, SourceInfo};
pub use kernel::{is_kernel_image, is_rpm_kernel};
pub use matcher::{match_inventory, release_key, scheme_for, MatchError};
