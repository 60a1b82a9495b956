//! Errors that stop a collection.
//!
//! Damage that still leaves a usable inventory, such as a garbled stanza in
//! the dpkg database, is not an error: it becomes a
//! [`Problem`](vulnloop_inventory::Problem) in the inventory.

use std::io;

/// Errors that stop a collection.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The root directory is missing or not a directory.
    #[error("cannot scan {root}: it is not a readable directory; pass --root with the directory that holds the system's root filesystem")]
    Root {
        root: String,
        #[source]
        source: io::Error,
    },

    /// No release file names the operating system and `--os` was not given.
    #[error(
        "could not identify the operating system under {root}: none of {tried} names a distribution; \
         pass --os ID:VERSION, for example --os debian:12"
    )]
    UnknownOs {
        root: String,
        /// The release files looked at, comma-separated.
        tried: String,
    },

    /// The `--os` value is not `ID:VERSION`.
    #[error(
        "invalid --os value {value:?}: expected ID:VERSION with a lowercase os-release ID, \
         for example --os debian:12 or --os ubuntu:22.04"
    )]
    InvalidOsOverride { value: String },

    /// A release file exists but could not be read.
    #[error("failed to read release file {path}; fix its permissions, or pass --os ID:VERSION to skip detection")]
    ReleaseFile {
        path: String,
        #[source]
        source: io::Error,
    },

    /// The package database of a distribution whose packages are collected is missing or unreadable.
    #[error(
        "failed to read the {manager} database {path} of this {os} system. If the system's root filesystem \
         is elsewhere, pass --root with its directory; otherwise check that the file exists and is readable"
    )]
    PackageDatabase {
        /// Package manager, such as `dpkg`.
        manager: &'static str,
        /// Host path of the database file or directory.
        path: String,
        /// Distribution id, such as `debian`.
        os: String,
        #[source]
        source: io::Error,
    },

    /// The rpm database file exists but is damaged.
    #[error("failed to read the rpm database of this {os} system")]
    RpmDatabase {
        /// Distribution id, such as `rhel`.
        os: String,
        #[source]
        source: crate::rpm::RpmDatabaseError,
    },
}
