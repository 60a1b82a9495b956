//! Prioritization: which findings to fix now, which later, which not at all.
//!
//! [`assess`] ranks one finding from the facts of its CVEs (CVSS, CISA KEV,
//! EPSS, publication date) and from its exposure on the host: a running
//! process maps a file of the package, or also listens on the network. The
//! importance the user gives the host counts too. The model is a small sum of
//! points, documented in `docs/priority.md`. Every point that counts is
//! written down as a reason, so a user can check each verdict.

mod exposure;
mod intel;
mod model;

pub use exposure::{exposure_of, Exposure};
pub use intel::{intel_of, Intel};
pub use model::{assess, Assessment, AssetImportance, Context, Priority, PriorityLevel};
