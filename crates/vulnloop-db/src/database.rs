use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
use serde::Serialize;
use vulnloop_advisory::{Advisory, Affected, CveFacts, Ecosystem, PackageKind, Severity, Status};
use vulnloop_match::{AdvisoryIndex, Candidate, SourceInfo};
use zstd::dict::DecoderDictionary;

use crate::error::DbError;
use crate::schema::SCHEMA_VERSION;

/// A read-only handle on a built advisory database.
pub struct Database {
    path: PathBuf,
    conn: Connection,
    /// Advisory metadata by row id, shared by the lookups of one scan.
    advisories: RefCell<HashMap<i64, Arc<Advisory>>>,
    /// The dictionary of the `cve` records, read on the first lookup.
    dictionary: OnceCell<Option<DecoderDictionary<'static>>>,
}

/// Facts about the database file as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub path: PathBuf,
    pub schema_version: u32,
    /// When the file was built (RFC 3339).
    pub built_at: String,
    /// Version of vulnloop that built it.
    pub built_by: String,
    /// When an update last found that no feed file had changed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
}

impl Metadata {
    /// Returns the later of `built_at` and `checked_at`: the time the
    /// database was last known to match its feeds, which staleness is measured from.
    pub fn refreshed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let parse = |text: &str| {
            chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let built = parse(&self.built_at);
        let checked = self.checked_at.as_deref().and_then(parse);
        built.max(checked)
    }
}

/// One feed as recorded in the database.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRecord {
    pub name: String,
    /// `directory`, `mirror` or `official`.
    pub origin: String,
    /// Files or URLs the feed was read from.
    pub files: Vec<String>,
    /// Snapshot date of the newest file (RFC 3339 or `YYYY-MM-DD`), when known.
    pub snapshot: Option<String>,
    pub imported_at: String,
    pub records: u64,
    /// Releases the feed covers (`debian:12`).
    pub ecosystems: Vec<String>,
}

const CANDIDATE_QUERY: &str = "
SELECT a.id, a.source, a.advisory_id, a.cves, a.title, a.severity, a.severity_raw, a.published,
       a.modified, a.url, f.ecosystem, f.kind, f.package, f.status, f.fixed, f.channel, f.note
FROM affected f JOIN advisories a ON a.id = f.advisory
";

/// Records in the `meta` table of the database at `path` that an update
/// found every feed file unchanged, and returns the time recorded.
///
/// This is one small write transaction on the existing file, which SQLite's
/// rollback journal makes atomic.
pub(crate) fn record_check(path: &Path) -> Result<String, DbError> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let write_error = |source| DbError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(write_error)?;
    let transaction = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(write_error)?;
    transaction
        .execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('checked_at', ?1)",
            [&now],
        )
        .map_err(write_error)?;
    transaction.commit().map_err(write_error)?;
    Ok(now)
}

impl Database {
    /// Opens a database file read-only and checks its schema version.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        if !path.exists() {
            return Err(DbError::Missing {
                path: path.to_path_buf(),
            });
        }
        if !path.is_file() {
            return Err(DbError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        let corrupt = |source| DbError::Corrupt {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(corrupt)?;
        let found: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(corrupt)?;
        let found = found.unwrap_or_default();
        if found != SCHEMA_VERSION.to_string() {
            return Err(DbError::SchemaVersion {
                path: path.to_path_buf(),
                found,
                expected: SCHEMA_VERSION,
            });
        }
        // One read transaction for the handle's lifetime: without it every
        // lookup takes and releases the file lock and probes for a journal,
        // which cost more system time than the lookups themselves. `db update`
        // replaces the file by renaming, so the open file never changes.
        conn.execute_batch("PRAGMA mmap_size = 268435456; BEGIN")
            .map_err(corrupt)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn,
            advisories: RefCell::new(HashMap::new()),
            dictionary: OnceCell::new(),
        })
    }

    /// Returns the application advisories about `package` in `ecosystem`.
    pub fn app_advisories(
        &self,
        ecosystem: vulnloop_inventory::AppEcosystem,
        package: &str,
    ) -> Result<Vec<vulnloop_advisory::AppAdvisory>, DbError> {
        crate::webapp::lookup(&self.conn, ecosystem, package).map_err(|e| self.query_error(e))
    }

    /// Returns the database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the connection, for the table modules of other feeds.
    pub(crate) fn connection(&self) -> &rusqlite::Connection {
        &self.conn
    }

    fn query_error(&self, source: rusqlite::Error) -> DbError {
        DbError::Query {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads the file-wide metadata.
    pub fn metadata(&self) -> Result<Metadata, DbError> {
        let get = |key: &str| -> Result<String, DbError> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                    row.get(0)
                })
                .optional()
                .map(Option::unwrap_or_default)
                .map_err(|e| self.query_error(e))
        };
        Ok(Metadata {
            path: self.path.clone(),
            schema_version: SCHEMA_VERSION,
            built_at: get("built_at")?,
            built_by: get("built_by")?,
            checked_at: Some(get("checked_at")?).filter(|text| !text.is_empty()),
        })
    }

    /// Reads the downloads the database was built from: URL to SHA-256, or
    /// `None` for a file whose download or import failed. Returns `None` for
    /// a database built from a directory.
    pub(crate) fn source_files(&self) -> Result<Option<BTreeMap<String, Option<String>>>, DbError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'source_files'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.query_error(e))?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Counts the records that came from the feed file with this base name.
    pub(crate) fn records_of_file(&self, file_name: &str) -> Result<u64, DbError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM advisories WHERE file = ?1",
                [file_name],
                |row| row.get(0),
            )
            .map_err(|e| self.query_error(e))
    }

    /// Lists the feed files that failed in the update that built the database.
    pub fn failed_files(&self) -> Result<Vec<crate::FailedFile>, DbError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'failed_files'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.query_error(e))?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    /// Lists the feeds the database was built from.
    pub fn sources(&self) -> Result<Vec<SourceRecord>, DbError> {
        let mut statement = self
            .conn
            .prepare("SELECT name, origin, files, snapshot, imported_at, records FROM sources ORDER BY name")
            .map_err(|e| self.query_error(e))?;
        let rows = statement
            .query_map([], |row| {
                let files: String = row.get(2)?;
                Ok(SourceRecord {
                    name: row.get(0)?,
                    origin: row.get(1)?,
                    files: serde_json::from_str(&files).unwrap_or_default(),
                    snapshot: row.get(3)?,
                    imported_at: row.get(4)?,
                    records: row.get(5)?,
                    ecosystems: Vec::new(),
                })
            })
            .map_err(|e| self.query_error(e))?;
        let mut sources = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.query_error(e))?;
        for source in &mut sources {
            let mut statement = self
                .conn
                .prepare_cached(
                    "SELECT ecosystem FROM coverage WHERE source = ?1 ORDER BY ecosystem",
                )
                .map_err(|e| self.query_error(e))?;
            let rows = statement
                .query_map([&source.name], |row| row.get(0))
                .map_err(|e| self.query_error(e))?;
            source.ecosystems = rows
                .collect::<Result<_, _>>()
                .map_err(|e| self.query_error(e))?;
        }
        Ok(sources)
    }

    /// Reads the enrichment facts of each of `ids` (CVSS, CWE, description,
    /// references, KEV, EPSS). Ids that no enrichment feed lists are left
    /// out of the map.
    pub fn cve_facts(&self, ids: &[&str]) -> Result<BTreeMap<String, CveFacts>, DbError> {
        if self.dictionary.get().is_none() {
            let stored = crate::enrichment::dictionary(&self.conn, "main")
                .map_err(|e| self.query_error(e))?;
            let _ = self
                .dictionary
                .set(stored.map(|bytes| DecoderDictionary::copy(&bytes)));
        }
        let dictionary = self.dictionary.get().and_then(Option::as_ref);
        crate::enrichment::facts(&self.conn, dictionary, ids).map_err(|e| self.query_error(e))
    }

    fn query_candidates(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Candidate>, DbError> {
        let mut statement = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| self.query_error(e))?;
        let mut rows = statement.query(params).map_err(|e| self.query_error(e))?;
        let mut candidates = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.query_error(e))? {
            candidates.push(self.read_candidate(row).map_err(|e| self.query_error(e))?);
        }
        Ok(candidates)
    }

    fn read_candidate(&self, row: &Row<'_>) -> Result<Candidate, rusqlite::Error> {
        let row_id: i64 = row.get(0)?;
        let cached = self.advisories.borrow().get(&row_id).map(Arc::clone);
        let advisory = match cached {
            Some(advisory) => advisory,
            None => {
                let advisory = Arc::new(read_advisory(row)?);
                self.advisories
                    .borrow_mut()
                    .insert(row_id, Arc::clone(&advisory));
                advisory
            }
        };
        let affected = Arc::new(read_affected(row, &advisory.id)?);
        Ok(Candidate { advisory, affected })
    }
}

fn invalid_column(index: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, message.into())
}

fn read_advisory(row: &Row<'_>) -> Result<Advisory, rusqlite::Error> {
    let mut advisory = Advisory::new(row.get::<_, String>(2)?, row.get::<_, String>(1)?);
    let cves: String = row.get(3)?;
    advisory.cves = serde_json::from_str(&cves).map_err(|e| invalid_column(3, e.to_string()))?;
    advisory.title = row.get(4)?;
    let severity: String = row.get(5)?;
    advisory.severity = Severity::parse(&severity).unwrap_or(Severity::Unknown);
    advisory.severity_raw = row.get(6)?;
    advisory.published = row.get(7)?;
    advisory.modified = row.get(8)?;
    advisory.url = row.get(9)?;
    Ok(advisory)
}

fn read_affected(row: &Row<'_>, advisory_id: &str) -> Result<Affected, rusqlite::Error> {
    let ecosystem: String = row.get(10)?;
    let kind: String = row.get(11)?;
    let status: String = row.get(13)?;
    let fixed: Option<String> = row.get(14)?;
    Ok(Affected {
        ecosystem: Ecosystem::parse(&ecosystem).ok_or_else(|| {
            invalid_column(
                10,
                format!("invalid ecosystem {ecosystem:?} in {advisory_id}"),
            )
        })?,
        package: row.get(12)?,
        kind: PackageKind::parse(&kind).ok_or_else(|| {
            invalid_column(
                11,
                format!("invalid package kind {kind:?} in {advisory_id}"),
            )
        })?,
        status: Status::from_parts(&status, fixed).ok_or_else(|| {
            invalid_column(13, format!("invalid status {status:?} in {advisory_id}"))
        })?,
        channel: row.get(15)?,
        note: row.get(16)?,
    })
}

impl vulnloop_match::AppAdvisoryIndex for Database {
    type Error = DbError;

    fn app_advisories(
        &self,
        ecosystem: vulnloop_inventory::AppEcosystem,
        package: &str,
    ) -> Result<Vec<vulnloop_advisory::AppAdvisory>, DbError> {
        Database::app_advisories(self, ecosystem, package)
    }

    fn has_app_feed(&self, ecosystem: vulnloop_inventory::AppEcosystem) -> Result<bool, DbError> {
        crate::webapp::has_ecosystem(&self.conn, ecosystem).map_err(|e| self.query_error(e))
    }
}

impl AdvisoryIndex for Database {
    type Error = DbError;

    fn candidates(
        &self,
        ecosystem: &Ecosystem,
        kind: PackageKind,
        name: &str,
    ) -> Result<Vec<Candidate>, DbError> {
        let sql =
            format!("{CANDIDATE_QUERY} WHERE f.ecosystem = ?1 AND f.kind = ?2 AND f.package = ?3");
        self.query_candidates(&sql, &[&ecosystem.as_str(), &kind.as_str(), &name])
    }

    fn pattern_candidates(&self, ecosystem: &Ecosystem) -> Result<Vec<Candidate>, DbError> {
        let sql = format!("{CANDIDATE_QUERY} WHERE f.ecosystem = ?1 AND f.pattern = 1");
        self.query_candidates(&sql, &[&ecosystem.as_str()])
    }

    fn sources_for(&self, ecosystem: &Ecosystem) -> Result<Vec<SourceInfo>, DbError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT source, snapshot FROM coverage WHERE ecosystem = ?1 ORDER BY source",
            )
            .map_err(|e| self.query_error(e))?;
        let rows = statement
            .query_map([ecosystem.as_str()], |row| {
                Ok(SourceInfo {
                    name: row.get(0)?,
                    snapshot: row.get(1)?,
                })
            })
            .map_err(|e| self.query_error(e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.query_error(e))
    }
}
