//! The local state of the hosts that vulnloop scans and fixes: the scan
//! history, the lifecycle of each finding and the ignore rules.
//!
//! The state lives in one SQLite file, by default
//! `~/.local/state/vulnloop/state.db`. A *target* is the scanned system as
//! one string: the host name, followed by `:ROOT` for a root filesystem
//! other than `/`. A finding is keyed by its vulnerability id and the
//! package the advisory names, so the same CVE in two packages is two
//! findings.
//!
//! The lifecycle of a finding:
//!
//! ```text
//! unfixed ──fix --apply──> fixing ──step succeeded──> fixed ──verify──> verified
//!    │                        │                         │                restart_pending
//!    │                        └──step failed──> fix_failed <──verify─────┘ (still reported)
//!    ├──an ignore rule applies──> ignored
//!    └──a complete scan no longer reports it──> no_longer_present
//! ```
//!
//! A scan that reports a finding again after `fixed`, `restart_pending`,
//! `verified` or `no_longer_present` moves it back to `unfixed`.

mod error;
mod ignore;
mod status;
mod store;

pub use error::StateError;
pub use ignore::{IgnoreFile, IgnoreRule, RuleSource};
pub use status::Status;
pub use store::{
    default_path, Diff, DiffEntry, Event, FindingKey, FindingState, ScanFinding, ScanInput,
    ScanRecorded, ScanRow, StateDb, StatusChange,
};
