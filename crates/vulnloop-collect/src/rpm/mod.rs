//! The rpm database, in any of its three backends.
//!
//! rpm stores one header blob per installed package. Since rpm 4.16 the
//! default backend is SQLite (`rpmdb.sqlite`); SUSE uses rpm's own NDB
//! format (`Packages.db`); older systems use a Berkeley DB hash file
//! (`Packages`). All three are read here without librpm.

mod bdb;
mod error;
mod header;
mod ndb;
mod package;
mod query;
mod sqlite;

use std::path::Path;

use vulnloop_inventory::{Package, Problem};

pub use error::RpmDatabaseError;
pub use header::{parse_header, read_file_paths, HeaderError, RpmHeader};
pub use package::{parse_source_rpm, to_package};
pub use query::{parse_rpm_query, RPM_QUERY_FORMAT, RPM_QUERY_FORMAT_WITHOUT_MODULES};

use sqlite::Access;

use crate::error::CollectError;
use crate::rootfs::RootFs;
use crate::runtime::FileOwners;

/// Directories where rpm keeps its database: the traditional one first, then
/// the one Fedora 36+ and openSUSE use (where the first is often a symbolic link to it).
pub const RPM_DATABASE_DIRS: [&str; 2] = ["/var/lib/rpm", "/usr/lib/sysimage/rpm"];

/// A storage format of the rpm database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpmBackend {
    /// `rpmdb.sqlite`.
    Sqlite,
    /// `Packages.db`.
    Ndb,
    /// `Packages`, a Berkeley DB hash database.
    BerkeleyDb,
}

impl RpmBackend {
    /// Backends in the order they are looked for.
    ///
    /// NOTE: rpm itself picks the backend from its `_db_backend` macro, which
    /// this reader does not consult. When an upgrade left an old database file
    /// beside the new one, this order assumes the newest format is in use.
    pub const ALL: [RpmBackend; 3] = [RpmBackend::Sqlite, RpmBackend::Ndb, RpmBackend::BerkeleyDb];

    /// Returns the backend's file name inside the database directory.
    pub fn file_name(self) -> &'static str {
        match self {
            RpmBackend::Sqlite => "rpmdb.sqlite",
            RpmBackend::Ndb => "Packages.db",
            RpmBackend::BerkeleyDb => "Packages",
        }
    }
}

/// One header blob as a backend stores it, with its record number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredHeader {
    /// Header number (`hnum` in SQLite, the package index in NDB, the key in Berkeley DB).
    pub(crate) id: u32,
    pub(crate) blob: Vec<u8>,
}

/// The installed packages read from an rpm database, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmPackages {
    /// Installed packages in database order, without `gpg-pubkey` entries.
    pub packages: Vec<Package>,
    /// Skipped header blobs, each naming the database and the record.
    pub problems: Vec<Problem>,
}

/// Reads the rpm database file `file` stored in `backend` format.
///
/// `origin` is the file's absolute path inside the scanned system; it becomes
/// each package's origin and each problem's location. A damaged header blob
/// is skipped with a problem; a damaged database file is an error.
///
/// The file is treated as at rest: nothing is written beside it. Reading the
/// running system's database goes through [`crate::collect`] instead.
pub fn read_rpm_database(
    file: &Path,
    backend: RpmBackend,
    origin: &str,
) -> Result<RpmPackages, RpmDatabaseError> {
    read_file(file, backend, origin, Access::AtRest, None)
}

/// Reads the rpm database file `file` and records which packages list a
/// path that `owners` looks up.
///
/// The database is read as by [`read_rpm_database`], whose result this returns.
pub fn read_rpm_file_owners(
    file: &Path,
    backend: RpmBackend,
    origin: &str,
    owners: &mut FileOwners,
) -> Result<RpmPackages, RpmDatabaseError> {
    read_file(file, backend, origin, Access::AtRest, Some(owners))
}

fn read_file(
    file: &Path,
    backend: RpmBackend,
    origin: &str,
    access: Access,
    owners: Option<&mut FileOwners>,
) -> Result<RpmPackages, RpmDatabaseError> {
    let headers = match backend {
        RpmBackend::Sqlite => sqlite::read_sqlite(file, origin, access)?,
        RpmBackend::Ndb | RpmBackend::BerkeleyDb => {
            let bytes = std::fs::read(file).map_err(|source| RpmDatabaseError::Io {
                path: origin.to_string(),
                source,
            })?;
            read_blobs(&bytes, backend, origin)?
        }
    };
    Ok(convert(headers, origin, owners))
}

/// Splits the bytes of an NDB or Berkeley DB file into header blobs.
fn read_blobs(
    bytes: &[u8],
    backend: RpmBackend,
    origin: &str,
) -> Result<Vec<StoredHeader>, RpmDatabaseError> {
    match backend {
        RpmBackend::Ndb => ndb::read_ndb(bytes, origin),
        RpmBackend::BerkeleyDb => bdb::read_bdb(bytes, origin),
        RpmBackend::Sqlite => Ok(Vec::new()),
    }
}

/// Parses each header blob into a package, turning damaged blobs into problems.
///
/// When `owners` looks up paths, each package's file list is read too.
fn convert(
    headers: Vec<StoredHeader>,
    origin: &str,
    mut owners: Option<&mut FileOwners>,
) -> RpmPackages {
    let mut result = RpmPackages::default();
    for stored in headers {
        match parse_header(&stored.blob) {
            Ok(header) => {
                let Some(package) = to_package(header, origin) else {
                    continue;
                };
                if let Some(owners) = owners.as_deref_mut().filter(|owners| !owners.is_empty()) {
                    record_owners(&stored, &package.name, origin, owners);
                }
                result.packages.push(package);
            }
            Err(error) => result.problems.push(Problem {
                location: origin.to_string(),
                message: format!("package record {}: {error}; skipped", stored.id),
            }),
        }
    }
    if result.packages.is_empty() && result.problems.is_empty() {
        result.problems.push(Problem {
            location: origin.to_string(),
            message:
                "the rpm database lists no packages, but an rpm-based system always has some; \
                      the database is damaged or was not copied completely"
                    .to_string(),
        });
    }
    result
}

/// Records the paths of one header's file list that `owners` looks up.
///
/// A damaged file list only loses the link from processes to this package,
/// not the package, so it is logged rather than made a problem.
fn record_owners(stored: &StoredHeader, name: &str, origin: &str, owners: &mut FileOwners) {
    if let Err(error) = read_file_paths(&stored.blob, |path| owners.record(path, name)) {
        tracing::warn!(database = origin, record = stored.id, package = name, %error, "failed to read the file list of an rpm package, so processes mapping its files are not linked to it");
    }
}

/// Finds and reads the rpm database of the system under `rootfs`.
///
/// Fails when no database file exists or the file is damaged; `os_id`
/// names the distribution in that error. When `owners` is given, the
/// packages that list its paths are recorded in it.
pub(crate) fn read_database(
    rootfs: &RootFs,
    os_id: &str,
    owners: Option<&mut FileOwners>,
) -> Result<RpmPackages, CollectError> {
    let Some((inner, backend)) = find_database(rootfs) else {
        let names: Vec<&str> = RpmBackend::ALL
            .iter()
            .map(|backend| backend.file_name())
            .collect();
        let message = format!("none of {} found", names.join(", "));
        return Err(CollectError::PackageDatabase {
            manager: "rpm",
            path: rootfs.display(RPM_DATABASE_DIRS[0]),
            os: os_id.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, message),
        });
    };
    let database_error = |source| CollectError::RpmDatabase {
        os: os_id.to_string(),
        source,
    };
    let file = rootfs.resolve(&inner).map_err(|source| {
        database_error(RpmDatabaseError::Io {
            path: rootfs.display(&inner),
            source,
        })
    })?;
    let access = if rootfs.is_live() {
        Access::Live
    } else {
        Access::AtRest
    };
    read_file(&file, backend, &inner, access, owners).map_err(database_error)
}

/// Returns the inner path and backend of the first database file found.
fn find_database(rootfs: &RootFs) -> Option<(String, RpmBackend)> {
    for dir in RPM_DATABASE_DIRS {
        for backend in RpmBackend::ALL {
            let inner = format!("{dir}/{}", backend.file_name());
            let is_file = rootfs.resolve(&inner).is_ok_and(|path| path.is_file());
            if is_file {
                return Some((inner, backend));
            }
        }
    }
    None
}
