//! Scan reports: what a person reads and what a machine parses.
//!
//! [`ScanReport`] is the JSON document (`--format json`), versioned by
//! [`SCHEMA_VERSION`] and described in `docs/json-report.md`. The table
//! renderer reads the same structure, so both outputs always agree.

mod applications;
mod fix;
mod model;
mod table;

pub use applications::ApplicationGroup;
pub use fix::fix_command;
pub use model::{
    host_info, DatabaseInfo, Filter, HistoryInfo, HostInfo, IgnoredEntry, PackageGroup,
    ReportFinding, ScanReport, Summary, SCHEMA_VERSION,
};
pub use table::render_table;
