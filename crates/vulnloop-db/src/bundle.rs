//! `db export` and `db import`: the database as one compressed file, for
//! sites that cannot reach the feeds.
//!
//! A bundle is a zstd-compressed tar archive that contains `manifest.json` (schema
//! version, build time, SHA-256 of the database) and `advisories.db`. Import
//! checks the digest and the schema version, opens the result as a database,
//! and only then renames it over the current one.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::database::Database;
use crate::error::DbError;
use crate::schema::SCHEMA_VERSION;

const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "advisories.db";

/// Manifest of a bundle: facts about the database it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleManifest {
    pub schema_version: u32,
    /// When the database was built (RFC 3339).
    pub built_at: String,
    /// SHA-256 of `advisories.db`, lowercase hex.
    pub sha256: String,
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DbError {
    let path = path.to_path_buf();
    move |source| DbError::Io {
        action,
        path,
        source,
    }
}

fn invalid(path: &Path, reason: String) -> DbError {
    DbError::Bundle {
        path: path.to_path_buf(),
        reason,
    }
}

/// Writes the database at `db_path` as a bundle to `bundle_path`.
pub fn export(db_path: &Path, bundle_path: &Path) -> Result<BundleManifest, DbError> {
    let database = Database::open(db_path)?;
    let built_at = database.metadata()?.built_at;
    drop(database);

    let bytes = std::fs::read(db_path).map_err(io_error("read", db_path))?;
    let manifest = BundleManifest {
        schema_version: SCHEMA_VERSION,
        built_at,
        sha256: format!("{:x}", Sha256::digest(&bytes)),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();

    let dir = bundle_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir)
        .map_err(io_error("create a temporary file in", dir))?;
    let encoder =
        zstd::Encoder::new(temp.as_file(), 19).map_err(io_error("compress", bundle_path))?;
    let mut archive = tar::Builder::new(encoder);
    append(&mut archive, MANIFEST, &manifest_json).map_err(io_error("write", bundle_path))?;
    append(&mut archive, DATABASE, &bytes).map_err(io_error("write", bundle_path))?;
    let encoder = archive
        .into_inner()
        .map_err(io_error("write", bundle_path))?;
    encoder
        .finish()
        .map_err(io_error("compress", bundle_path))?
        .sync_all()
        .map_err(io_error("sync", bundle_path))?;
    temp.persist(bundle_path).map_err(|error| DbError::Io {
        action: "write",
        path: bundle_path.to_path_buf(),
        source: error.error,
    })?;
    Ok(manifest)
}

fn append<W: Write>(
    archive: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    archive.append_data(&mut header, name, bytes)
}

/// Replaces the database at `db_path` with the one in the bundle at `bundle_path`.
///
/// Nothing changes at `db_path` unless the bundle is complete, its digest
/// matches and the database in it opens.
pub fn import(bundle_path: &Path, db_path: &Path) -> Result<BundleManifest, DbError> {
    let file = std::fs::File::open(bundle_path).map_err(io_error("open", bundle_path))?;
    let decoder = zstd::Decoder::new(file).map_err(io_error("read", bundle_path))?;
    let mut archive = tar::Archive::new(decoder);

    let dir = db_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .map_err(io_error("create a temporary file in", dir))?;
    let mut manifest: Option<BundleManifest> = None;
    let mut digest: Option<String> = None;

    let entries = archive
        .entries()
        .map_err(|e| invalid(bundle_path, format!("not a vulnloop bundle ({e})")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| invalid(bundle_path, format!("the archive is damaged ({e})")))?;
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.as_str() {
            MANIFEST => {
                let mut text = String::new();
                entry
                    .read_to_string(&mut text)
                    .map_err(|e| invalid(bundle_path, format!("unreadable manifest ({e})")))?;
                let parsed = serde_json::from_str(&text)
                    .map_err(|e| invalid(bundle_path, format!("invalid manifest ({e})")))?;
                manifest = Some(parsed);
            }
            DATABASE => digest = Some(copy_hashed(&mut entry, temp.as_file_mut(), bundle_path)?),
            other => return Err(invalid(bundle_path, format!("unexpected entry {other:?}"))),
        }
    }

    let manifest =
        manifest.ok_or_else(|| invalid(bundle_path, format!("{MANIFEST} is missing")))?;
    let digest = digest.ok_or_else(|| invalid(bundle_path, format!("{DATABASE} is missing")))?;
    if manifest.schema_version != SCHEMA_VERSION {
        let reason = format!(
            "it carries schema version {}, but this build reads version {SCHEMA_VERSION}; export it with the same vulnloop version",
            manifest.schema_version
        );
        return Err(invalid(bundle_path, reason));
    }
    if digest != manifest.sha256 {
        return Err(invalid(
            bundle_path,
            format!(
                "SHA-256 mismatch: the manifest lists {}, the database has {digest}",
                manifest.sha256
            ),
        ));
    }
    temp.as_file()
        .sync_all()
        .map_err(io_error("sync", db_path))?;
    Database::open(temp.path())?;
    std::fs::set_permissions(
        temp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .map_err(io_error("set permissions of", db_path))?;
    temp.persist(db_path).map_err(|error| DbError::Io {
        action: "replace",
        path: db_path.to_path_buf(),
        source: error.error,
    })?;
    Ok(manifest)
}

/// Copies an archive entry to `out` and returns its SHA-256 in lowercase hex.
fn copy_hashed(
    entry: &mut impl Read,
    out: &mut std::fs::File,
    bundle_path: &Path,
) -> Result<String, DbError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = entry
            .read(&mut buffer)
            .map_err(|e| invalid(bundle_path, format!("the archive is damaged ({e})")))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        out.write_all(&buffer[..read])
            .map_err(io_error("write", bundle_path))?;
    }
    Ok(format!("{:x}", hasher.finalize()))
}
