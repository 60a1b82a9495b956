use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};
use vulnloop_advisory::{Advisory, Enrichment};
use vulnloop_feeds::{FeedKind, FeedSummary};

use crate::error::DbError;
use crate::schema::{CREATE, CREATE_INDEXES, SCHEMA_VERSION};

/// Writes a new database next to the final path and renames it into place.
///
/// Dropping a builder without calling [`Builder::commit`] deletes the new
/// file and leaves the old database untouched.
pub struct Builder {
    conn: Option<Connection>,
    temp: Option<tempfile::TempPath>,
    path: PathBuf,
    sources: BTreeMap<String, SourceTotals>,
    /// Records inserted since the last [`Builder::begin_file`].
    file_records: usize,
    /// Base name of the feed file being imported.
    file_name: String,
    /// Feed files that failed, with whether earlier records of them were carried over.
    failed_files: Vec<FailedFile>,
    /// Whether the database being replaced is attached as `previous`.
    has_previous: bool,
    /// Downloaded feed files by URL, with their SHA-256 (`None` when the download or the import failed).
    source_files: Option<BTreeMap<String, Option<String>>>,
}

/// A feed file that failed in the update that built the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailedFile {
    /// Base name of the file.
    pub file: String,
    /// Feed it belongs to.
    pub source: String,
    /// Records of the file kept from the previous database (0 when there was none).
    pub carried_over: u64,
}

#[derive(Default)]
struct SourceTotals {
    origin: String,
    files: Vec<String>,
    snapshot: Option<String>,
    records: u64,
    /// Per release: records and newest snapshot.
    ecosystems: BTreeMap<String, (u64, Option<String>)>,
}

impl Builder {
    /// Starts a new database that will replace `path` on commit.
    pub fn create(path: &Path) -> Result<Self, DbError> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|source| DbError::Io {
            action: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let temp = tempfile::Builder::new()
            .prefix(".advisories-")
            .suffix(".db.partial")
            .tempfile_in(dir)
            .map_err(|source| DbError::Io {
                action: "create a temporary file in",
                path: dir.to_path_buf(),
                source,
            })?
            .into_temp_path();
        let write_error = |source| DbError::Write {
            path: temp.to_path_buf(),
            source,
        };
        let conn = Connection::open(&temp).map_err(write_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = 4096;",
        )
        .map_err(write_error)?;
        conn.execute_batch(CREATE).map_err(write_error)?;
        conn.execute_batch(crate::webapp::CREATE)
            .map_err(write_error)?;
        conn.execute_batch(crate::windows::CREATE)
            .map_err(write_error)?;
        // The database being replaced, for carrying over the records of feed
        // files that fail this time. SQLite attaches only outside a transaction.
        let has_previous = path.is_file()
            && conn
                .execute("ATTACH DATABASE ?1 AS previous", [path.to_string_lossy()])
                .is_ok();
        conn.execute_batch("BEGIN").map_err(write_error)?;
        Ok(Self {
            conn: Some(conn),
            temp: Some(temp),
            path: path.to_path_buf(),
            sources: BTreeMap::new(),
            file_records: 0,
            file_name: String::new(),
            failed_files: Vec::new(),
            has_previous,
            source_files: None,
        })
    }

    fn write_error(&self, source: rusqlite::Error) -> DbError {
        DbError::Write {
            path: self.path.clone(),
            source,
        }
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("connection lives until commit")
    }

    /// Returns the connection, for the table modules of other feeds.
    pub(crate) fn connection(&self) -> &Connection {
        self.conn()
    }

    /// Adds records that a table module inserted to the current file's count.
    pub(crate) fn add_file_records(&mut self, records: usize) {
        self.file_records += records;
    }

    /// Marks the start of one feed file; [`Builder::abort_file`] undoes what follows.
    pub fn begin_file(&mut self, file_name: &str) -> Result<(), DbError> {
        self.file_records = 0;
        self.file_name = file_name.to_string();
        self.conn()
            .execute_batch("SAVEPOINT feed_file")
            .map_err(|e| self.write_error(e))
    }

    /// Undoes the records inserted since [`Builder::begin_file`].
    pub fn abort_file(&mut self) -> Result<(), DbError> {
        self.conn()
            .execute_batch("ROLLBACK TO feed_file; RELEASE feed_file")
            .map_err(|e| self.write_error(e))
    }

    /// Keeps the records of the current file and adds them to its source's totals.
    pub fn finish_file(
        &mut self,
        source: &str,
        origin: &str,
        file: &str,
        snapshot: Option<&str>,
        ecosystems: &BTreeMap<String, u64>,
    ) -> Result<(), DbError> {
        self.conn()
            .execute_batch("RELEASE feed_file")
            .map_err(|e| self.write_error(e))?;
        let totals = self.sources.entry(source.to_string()).or_default();
        totals.origin = origin.to_string();
        totals.files.push(file.to_string());
        totals.records += self.file_records as u64;
        totals.snapshot = newest(totals.snapshot.take(), snapshot);
        for (ecosystem, records) in ecosystems {
            let entry = totals.ecosystems.entry(ecosystem.clone()).or_default();
            entry.0 += records;
            entry.1 = newest(entry.1.take(), snapshot);
        }
        Ok(())
    }

    /// Imports one file inside a savepoint, so a failure leaves no partial records.
    /// Imports one feed file inside a savepoint, so a failure leaves no
    /// partial records. The outer error is a database failure that ends
    /// the update; the inner one is this file's failure, which the caller
    /// reports and survives.
    pub(crate) fn import_file(
        &mut self,
        path: &Path,
        kind: FeedKind,
        origin: &str,
        display: &str,
    ) -> Result<Result<FeedSummary, Box<dyn std::error::Error + Send + Sync>>, DbError> {
        if kind.is_windows() {
            return self.import_windows_file(path, kind, origin, display);
        }
        self.begin_file(&crate::update::base_name(path.to_string_lossy().as_ref()))?;
        let mut ecosystems: BTreeMap<String, u64> = BTreeMap::new();
        let mut insert_error = None;
        let parsed = if kind.is_application() {
            vulnloop_feeds::parse_app_file(path, kind, &mut |advisory| {
                if insert_error.is_some() {
                    return;
                }
                *ecosystems
                    .entry(advisory.ecosystem.as_str().to_string())
                    .or_default() += 1;
                insert_error = self.insert_app(&advisory).err();
            })
        } else if kind.is_enrichment() {
            vulnloop_feeds::parse_enrichment_file(path, kind, &mut |record| {
                if insert_error.is_none() {
                    insert_error = self.insert_enrichment(&record).err();
                }
            })
        } else {
            vulnloop_feeds::parse_file(path, kind, &mut |advisory| {
                if insert_error.is_some() {
                    return;
                }
                let releases: BTreeSet<String> = advisory
                    .affected
                    .iter()
                    .map(|a| a.ecosystem.to_string())
                    .collect();
                for ecosystem in releases {
                    *ecosystems.entry(ecosystem).or_default() += 1;
                }
                insert_error = self.insert(&advisory).err();
            })
        };
        if let Some(error) = insert_error {
            self.abort_file()?;
            return Err(error);
        }
        match parsed {
            Ok(summary) => {
                self.finish_file(
                    kind.source_name(),
                    origin,
                    display,
                    summary.snapshot.as_deref(),
                    &ecosystems,
                )?;
                Ok(Ok(summary))
            }
            Err(error) => {
                self.abort_file()?;
                Ok(Err(Box::new(error)))
            }
        }
    }

    /// Inserts one application advisory.
    pub fn insert_app(&mut self, advisory: &vulnloop_advisory::AppAdvisory) -> Result<(), DbError> {
        crate::webapp::insert(self.conn(), &self.file_name, advisory)
            .map_err(|e| self.write_error(e))?;
        self.file_records += 1;
        Ok(())
    }

    /// Inserts one advisory with its affected packages.
    pub fn insert(&mut self, advisory: &Advisory) -> Result<(), DbError> {
        let conn = self.conn.as_ref().expect("connection lives until commit");
        let write_error = |source| DbError::Write {
            path: self.path.clone(),
            source,
        };
        let cves = serde_json::to_string(&advisory.cves).unwrap_or_else(|_| "[]".into());
        conn.prepare_cached(
            "INSERT INTO advisories (source, advisory_id, cves, title, severity, severity_raw, published, modified, url, file)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .and_then(|mut s| {
            s.execute(params![
                advisory.source,
                advisory.id,
                cves,
                advisory.title,
                advisory.severity.as_str(),
                advisory.severity_raw,
                advisory.published,
                advisory.modified,
                advisory.url,
                self.file_name
            ])
        })
        .map_err(write_error)?;
        let row_id = conn.last_insert_rowid();
        let mut statement = conn
            .prepare_cached(
                "INSERT INTO affected (advisory, ecosystem, kind, package, status, fixed, channel, note, pattern)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(write_error)?;
        for affected in &advisory.affected {
            statement
                .execute(params![
                    row_id,
                    affected.ecosystem.as_str(),
                    affected.kind.as_str(),
                    affected.package,
                    affected.status.as_str(),
                    affected.status.fixed_version(),
                    affected.channel,
                    affected.note,
                    affected.is_pattern(),
                ])
                .map_err(write_error)?;
        }
        self.file_records += 1;
        Ok(())
    }

    /// Inserts one record of an enrichment feed (NVD, CVE JSON 5, KEV, EPSS),
    /// merging it with the records of earlier files about the same CVE.
    pub fn insert_enrichment(&mut self, record: &Enrichment) -> Result<(), DbError> {
        let conn = self.conn.as_ref().expect("connection lives until commit");
        crate::enrichment::insert(conn, record, &self.file_name).map_err(|source| {
            DbError::Write {
                path: self.path.clone(),
                source,
            }
        })?;
        self.file_records += 1;
        Ok(())
    }

    /// Copies the records of a failed feed file from the database being replaced.
    ///
    /// A feed that fails in this update then keeps its earlier records
    /// instead of vanishing from the new database. Returns the number of
    /// records copied, which is 0 when there is no previous database or it
    /// lacks the file.
    pub fn carry_over(&mut self, file_name: &str, source: &str) -> Result<u64, DbError> {
        let copied = if self.has_previous {
            self.copy_file_records(file_name)?
        } else {
            0
        };
        let failed = FailedFile {
            file: file_name.to_string(),
            source: source.to_string(),
            carried_over: copied,
        };
        self.failed_files.push(failed);
        Ok(copied)
    }

    fn copy_file_records(&mut self, file_name: &str) -> Result<u64, DbError> {
        let conn = self.conn.as_ref().expect("connection lives until commit");
        let write_error = |source| DbError::Write {
            path: self.path.clone(),
            source,
        };
        conn.execute_batch("SAVEPOINT carry_over")
            .map_err(write_error)?;
        match copy_from_attached(conn, file_name) {
            Ok(copied) => {
                conn.execute_batch("RELEASE carry_over")
                    .map_err(write_error)?;
                Ok(copied)
            }
            // A corrupt previous file or one of another layout carries nothing.
            Err(error) => {
                tracing::debug!(file = file_name, %error, "previous database records not carried over");
                conn.execute_batch("ROLLBACK TO carry_over; RELEASE carry_over")
                    .map_err(write_error)?;
                Ok(0)
            }
        }
    }

    /// Records the downloads the database is built from, so that a later
    /// update can tell whether anything changed.
    pub(crate) fn set_source_files(&mut self, files: BTreeMap<String, Option<String>>) {
        self.source_files = Some(files);
    }

    /// Returns whether no file was kept.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Writes metadata and indexes, then renames the file over the old database.
    pub fn commit(mut self) -> Result<(), DbError> {
        self.write_summary()?;
        let conn = self.conn.take().expect("connection lives until commit");
        conn.execute_batch("COMMIT")
            .map_err(|e| self.write_error(e))?;
        if self.has_previous {
            conn.execute_batch("DETACH DATABASE previous")
                .map_err(|e| self.write_error(e))?;
        }
        crate::enrichment::compress_all(&conn).map_err(|e| self.write_error(e))?;
        conn.execute_batch(CREATE_INDEXES)
            .map_err(|e| self.write_error(e))?;
        conn.execute_batch(crate::webapp::CREATE_INDEXES)
            .map_err(|e| self.write_error(e))?;
        conn.execute_batch(crate::windows::CREATE_INDEXES)
            .map_err(|e| self.write_error(e))?;
        // No ANALYZE: with the bundled SQLite's STAT4 statistics, every new
        // parameter value would re-prepare the lookup statement, which cost
        // more than half of a scan, and the index choice is obvious anyway.
        conn.execute_batch("VACUUM")
            .map_err(|e| self.write_error(e))?;
        conn.close().map_err(|(_, e)| self.write_error(e))?;

        let temp = self.temp.take().expect("temporary file lives until commit");
        // The temporary file is created private; the database holds only public data.
        std::fs::set_permissions(&temp, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .map_err(|source| DbError::Io {
                action: "set permissions of",
                path: temp.to_path_buf(),
                source,
            })?;
        let file = std::fs::File::open(&temp).map_err(|source| DbError::Io {
            action: "open",
            path: temp.to_path_buf(),
            source,
        })?;
        file.sync_all().map_err(|source| DbError::Io {
            action: "sync",
            path: temp.to_path_buf(),
            source,
        })?;
        temp.persist(&self.path).map_err(|error| DbError::Io {
            action: "replace",
            path: self.path.clone(),
            source: error.error,
        })?;
        Ok(())
    }

    fn write_summary(&mut self) -> Result<(), DbError> {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let conn = self.conn.as_ref().expect("connection lives until commit");
        let write_error = |source| DbError::Write {
            path: self.path.clone(),
            source,
        };
        let meta = [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("built_at", now.clone()),
            (
                "built_by",
                format!("vulnloop {}", env!("CARGO_PKG_VERSION")),
            ),
            (
                "failed_files",
                serde_json::to_string(&self.failed_files).unwrap_or_else(|_| "[]".into()),
            ),
        ];
        let source_files = self.source_files.as_ref().map(|files| {
            (
                "source_files",
                serde_json::to_string(files).unwrap_or_default(),
            )
        });
        for (key, value) in meta.into_iter().chain(source_files) {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map_err(write_error)?;
        }
        for (name, totals) in &self.sources {
            let files: BTreeSet<&String> = totals.files.iter().collect();
            let files = serde_json::to_string(&files).unwrap_or_else(|_| "[]".into());
            conn.execute(
                "INSERT OR REPLACE INTO sources (name, origin, files, snapshot, imported_at, records) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![name, totals.origin, files, totals.snapshot, now, totals.records],
            )
            .map_err(write_error)?;
            for (ecosystem, (records, snapshot)) in &totals.ecosystems {
                conn.execute(
                    "INSERT OR REPLACE INTO coverage (source, ecosystem, snapshot, records) VALUES (?1, ?2, ?3, ?4)",
                    params![name, ecosystem, snapshot, records],
                )
                .map_err(write_error)?;
            }
        }
        Ok(())
    }
}

/// Copies one feed file's records, and its feeds' coverage, from the attached
/// `previous` database; returns the number of records copied.
fn copy_from_attached(conn: &Connection, file_name: &str) -> Result<u64, rusqlite::Error> {
    let version: String = conn.query_row(
        "SELECT value FROM previous.meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    if version != SCHEMA_VERSION.to_string() {
        return Ok(0);
    }
    let offset: i64 = conn.query_row(
        "SELECT COALESCE(MAX(id), 0) FROM main.advisories",
        [],
        |r| r.get(0),
    )?;
    let copied = conn.execute(
        "INSERT INTO main.advisories
         SELECT id + ?1, source, file, advisory_id, cves, title, severity, severity_raw, published, modified, url
         FROM previous.advisories WHERE file = ?2",
        params![offset, file_name],
    )?;
    conn.execute(
        "INSERT INTO main.affected
         SELECT f.advisory + ?1, f.ecosystem, f.kind, f.package, f.status, f.fixed, f.channel, f.note, f.pattern
         FROM previous.affected f JOIN previous.advisories a ON a.id = f.advisory WHERE a.file = ?2",
        params![offset, file_name],
    )?;
    let copied = copied as u64
        + crate::enrichment::copy_from_attached(conn, file_name)?
        + crate::windows::copy_from_attached(conn, file_name)?;
    for table in ["coverage", "sources"] {
        let key = if table == "coverage" {
            "source"
        } else {
            "name"
        };
        conn.execute(
            &format!(
                "INSERT OR IGNORE INTO main.{table} SELECT * FROM previous.{table}
                 WHERE {key} IN (SELECT DISTINCT source FROM previous.advisories WHERE file = ?1)"
            ),
            [file_name],
        )?;
    }
    Ok(copied)
}

/// Returns the later of two dates, comparing their `YYYY-MM-DD` prefixes.
fn newest(current: Option<String>, candidate: Option<&str>) -> Option<String> {
    match (current, candidate) {
        (Some(current), Some(candidate)) => {
            let prefix = |d: &str| d.get(..10).unwrap_or(d).to_string();
            if prefix(candidate) > prefix(&current) {
                Some(candidate.to_string())
            } else {
                Some(current)
            }
        }
        (current, candidate) => current.or(candidate.map(String::from)),
    }
}
