//! Fix plans: which package upgrades close which findings.
//!
//! A [`FixPlan`] is data, never a shell string. [`plan`] groups the findings
//! that a vendor upgrade fixes into one [`FixStep`] per affected package and
//! package manager. A step lists every installed binary package to upgrade
//! with its installed and target versions, the findings it closes, and
//! whether a reboot or service restarts follow. Findings without a vendor fix go to
//! the not-fixable list, and a fixed kernel that waits for a reboot becomes a
//! [`RebootAction`]. [`FixStep::argv`] builds the argument vector that an
//! executor would run, after checking every package name against the package
//! manager's naming rules. The crate does no I/O and runs nothing.

mod argv;
mod build;
mod model;
mod table;
mod webapp;
mod windows;

pub use argv::{is_valid_arch, validate_package_name, Tool};
pub use build::plan;
pub use model::{
    ClosedFinding, FixPlan, FixStep, ManagerPlan, NotFixable, PlanError, PlanFilter,
    PlannedPackage, ProcessRef, RebootAction, Restart, SCHEMA_VERSION,
};
pub use table::render_table;
pub use webapp::{app_steps, AppFixStep};

#[cfg(test)]
mod tests;
