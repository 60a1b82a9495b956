//! The advisory database: one SQLite file built from feed files.
//!
//! [`update`] reads feeds from a directory, a mirror or the official URLs
//! into a new file next to the old one and renames it into place only when
//! the build succeeded, so a failed update never leaves a broken database.
//! Downloads are cached beside the database and requested conditionally; an
//! update in which no file changed keeps the database and records the check.
//! [`Database`] opens the file read-only and serves the matcher's lookups.

mod builder;
mod bundle;
mod cache;
mod database;
mod enrichment;
mod error;
mod remote;
mod schema;
mod sources;
mod update;
mod webapp;
mod windows;

pub use builder::{Builder, FailedFile};
pub use bundle::{export, import, BundleManifest};
pub use cache::{cache_dir, FetchStatus};
pub use database::{Database, Metadata, SourceRecord};
pub use error::DbError;
pub use schema::SCHEMA_VERSION;
pub use sources::{official_feeds, OfficialFeed};
pub use update::{update, DatabaseChange, FeedFailure, FeedOrigin, Fetch, Progress, UpdateReport};

use std::path::PathBuf;

/// Returns the default database path: `<data dir>/vulnloop/advisories.db`
/// (`~/.local/share/vulnloop/advisories.db` on Linux).
pub fn default_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("vulnloop")
        .join("advisories.db")
}
