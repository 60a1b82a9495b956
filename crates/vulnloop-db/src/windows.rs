//! Windows fix statements (MSRC CVRF, wesng): their table, their import and
//! the lookup by product.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row};
use vulnloop_feeds::{FeedKind, FeedSummary};
use vulnloop_windows::{FixSource, WindowsFix};

use crate::builder::Builder;
use crate::database::Database;
use crate::error::DbError;

/// The table of fix statements: one row per (feed row, KB, product key).
/// `supersedes` is a space-separated list of KB numbers and `file` the base
/// name of the feed file, for carrying rows over when that file fails.
/// `url` is NULL when it is the KB's Microsoft Update Catalog page, and
/// titles are kept once per CVE in `windows_titles`, which keeps the file
/// small: both repeat on most of the half million rows.
///
/// A wesng row that restates a (CVE, product key, KB) already imported (from
/// MSRC, or an earlier wesng row) adds only its supersedence, which goes to
/// `windows_supersedence`. Feed files are imported in path order, so the
/// MSRC archive (`msrc-cvrf-…`) comes before `wesng-…` in one directory.
/// The lookup index exists from the start for that check.
pub(crate) const CREATE: &str = "
CREATE TABLE windows_supersedence (
    product_key TEXT NOT NULL,
    kb          TEXT NOT NULL,
    superseded  TEXT NOT NULL,
    file        TEXT NOT NULL,
    PRIMARY KEY (product_key, kb, superseded)
) WITHOUT ROWID;
CREATE TABLE windows_titles (
    cve   TEXT PRIMARY KEY,
    title TEXT NOT NULL
);
CREATE TABLE windows_fixes (
    source           TEXT NOT NULL,
    file             TEXT NOT NULL,
    cve              TEXT NOT NULL,
    product_key      TEXT NOT NULL,
    product          TEXT NOT NULL,
    kb               TEXT NOT NULL,
    fixed_build      TEXT,
    supersedes       TEXT NOT NULL,
    restart_required INTEGER,
    subtype          TEXT,
    severity         TEXT,
    impact           TEXT,
    released         TEXT,
    document         TEXT NOT NULL,
    url              TEXT
);
CREATE INDEX windows_fixes_lookup ON windows_fixes (product_key, cve, kb);
";

/// Indexes created after the bulk insert.
pub(crate) const CREATE_INDEXES: &str = "
CREATE INDEX windows_fixes_file ON windows_fixes (file);
";

/// Key under which Windows feeds appear in the coverage table.
const ECOSYSTEM: &str = "windows";

impl Builder {
    /// Imports an MSRC CVRF or wesng file inside a savepoint. The outer
    /// error ends the update; the inner one is this file's failure.
    pub(crate) fn import_windows_file(
        &mut self,
        path: &Path,
        kind: FeedKind,
        origin: &str,
        display: &str,
    ) -> Result<Result<FeedSummary, Box<dyn std::error::Error + Send + Sync>>, DbError> {
        let file_name = crate::update::base_name(path.to_string_lossy().as_ref());
        self.begin_file(&file_name)?;
        let mut insert_error = None;
        let mut records = 0usize;
        let parsed = {
            let conn = self.connection();
            let mut sink = |fix: WindowsFix| {
                if insert_error.is_none() {
                    match insert(conn, &fix, &file_name) {
                        Ok(()) => records += 1,
                        Err(error) => insert_error = Some(error),
                    }
                }
            };
            read_file(path, kind, display, &mut sink)
        };
        if let Some(source) = insert_error {
            self.abort_file()?;
            return Err(DbError::Write {
                path: path.to_path_buf(),
                source,
            });
        }
        match parsed {
            Ok(snapshot) => {
                self.add_file_records(records);
                let ecosystems = BTreeMap::from([(ECOSYSTEM.to_string(), records as u64)]);
                self.finish_file(
                    kind.source_name(),
                    origin,
                    display,
                    snapshot.as_deref(),
                    &ecosystems,
                )?;
                Ok(Ok(FeedSummary {
                    kind,
                    snapshot,
                    records,
                    skipped: Vec::new(),
                }))
            }
            Err(error) => {
                self.abort_file()?;
                Ok(Err(Box::new(error)))
            }
        }
    }
}

/// Reads one Windows feed file and returns its snapshot date.
fn read_file(
    path: &Path,
    kind: FeedKind,
    display: &str,
    sink: &mut dyn FnMut(WindowsFix),
) -> Result<Option<String>, vulnloop_windows::WindowsError> {
    let file =
        std::fs::File::open(path).map_err(|source| vulnloop_windows::WindowsError::Read {
            path: display.to_string(),
            source,
        })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if kind == FeedKind::Wesng {
        Ok(vulnloop_windows::wesng::parse_zip(BufReader::new(file), &name, sink)?.snapshot)
    } else {
        Ok(
            vulnloop_windows::msrc::parse_reader(Box::new(BufReader::new(file)), &name, sink)?
                .snapshot,
        )
    }
}

fn insert(conn: &Connection, fix: &WindowsFix, file: &str) -> Result<(), rusqlite::Error> {
    if fix.source == FixSource::Wesng {
        let known: Option<i64> = conn
            .prepare_cached("SELECT 1 FROM windows_fixes WHERE product_key = ?1 AND cve = ?2 AND kb = ?3 LIMIT 1")?
            .query_row(params![fix.product_key, fix.cve, fix.kb], |row| row.get(0))
            .optional()?;
        if known.is_some() {
            let mut statement = conn.prepare_cached(
                "INSERT OR IGNORE INTO windows_supersedence (product_key, kb, superseded, file) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for superseded in &fix.supersedes {
                statement.execute(params![fix.product_key, fix.kb, superseded, file])?;
            }
            return Ok(());
        }
    }
    if let Some(title) = &fix.title {
        conn.prepare_cached("INSERT OR IGNORE INTO windows_titles (cve, title) VALUES (?1, ?2)")?
            .execute(params![fix.cve, title])?;
    }
    let url = fix
        .url
        .as_ref()
        .filter(|url| **url != vulnloop_windows::catalog_url(&fix.kb));
    conn.prepare_cached(
        "INSERT INTO windows_fixes (source, file, cve, product_key, product, kb, fixed_build, supersedes,
             restart_required, subtype, severity, impact, released, document, url)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        fix.source.as_str(),
        file,
        fix.cve,
        fix.product_key,
        fix.product,
        fix.kb,
        fix.fixed_build,
        fix.supersedes.join(" "),
        fix.restart_required,
        fix.subtype,
        fix.severity,
        fix.impact,
        fix.released,
        fix.document,
        url,
    ])?;
    Ok(())
}

/// Copies one feed file's rows from the attached `previous` database.
pub(crate) fn copy_from_attached(
    conn: &Connection,
    file_name: &str,
) -> Result<u64, rusqlite::Error> {
    let copied = conn.execute(
        "INSERT INTO main.windows_fixes SELECT * FROM previous.windows_fixes WHERE file = ?1",
        [file_name],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO main.windows_supersedence SELECT * FROM previous.windows_supersedence WHERE file = ?1",
        [file_name],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO main.windows_titles SELECT * FROM previous.windows_titles
         WHERE cve IN (SELECT cve FROM previous.windows_fixes WHERE file = ?1)",
        [file_name],
    )?;
    Ok(copied as u64)
}

impl Database {
    /// Returns every fix statement of a product key, from both feeds.
    pub fn windows_fixes(&self, product_key: &str) -> Result<Vec<WindowsFix>, DbError> {
        let query_error = |source| DbError::Query {
            path: self.path().to_path_buf(),
            source,
        };
        let mut statement = self
            .connection()
            .prepare_cached(
                "SELECT f.source, f.cve, f.product_key, f.product, f.kb, f.fixed_build, f.supersedes,
                        f.restart_required, f.subtype, f.severity, f.impact, t.title, f.released, f.document, f.url
                 FROM windows_fixes f LEFT JOIN windows_titles t ON t.cve = f.cve
                 WHERE f.product_key = ?1",
            )
            .map_err(query_error)?;
        let rows = statement
            .query_map([product_key], read_fix)
            .map_err(query_error)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(query_error)
    }

    /// Returns the supersedence edges (newer KB, superseded KB) of a product
    /// key that only restated rows carried.
    pub fn windows_supersedence(
        &self,
        product_key: &str,
    ) -> Result<Vec<(String, String)>, DbError> {
        let query_error = |source| DbError::Query {
            path: self.path().to_path_buf(),
            source,
        };
        let mut statement = self
            .connection()
            .prepare_cached(
                "SELECT kb, superseded FROM windows_supersedence WHERE product_key = ?1",
            )
            .map_err(query_error)?;
        let rows = statement
            .query_map([product_key], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(query_error)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(query_error)
    }

    /// Returns the Windows feeds in the database with their snapshot dates (`msrc-cvrf (2026-07-06)`).
    pub fn windows_sources(&self) -> Result<Vec<String>, DbError> {
        let sources = self.sources()?;
        Ok(sources
            .into_iter()
            .filter(|source| source.name == "msrc-cvrf" || source.name == "wesng")
            .map(|source| match source.snapshot {
                Some(snapshot) => format!(
                    "{} ({})",
                    source.name,
                    snapshot.get(..10).unwrap_or(&snapshot)
                ),
                None => source.name,
            })
            .collect())
    }
}

fn read_fix(row: &Row<'_>) -> Result<WindowsFix, rusqlite::Error> {
    let source: String = row.get(0)?;
    let source = FixSource::parse(&source).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown Windows feed {source:?}").into(),
        )
    })?;
    let supersedes: String = row.get(6)?;
    let kb: String = row.get(4)?;
    let url: Option<String> = row.get(14)?;
    Ok(WindowsFix {
        source,
        cve: row.get(1)?,
        product_key: row.get(2)?,
        product: row.get(3)?,
        url: Some(url.unwrap_or_else(|| vulnloop_windows::catalog_url(&kb))),
        kb,
        fixed_build: row.get(5)?,
        supersedes: supersedes.split_whitespace().map(str::to_string).collect(),
        restart_required: row.get(7)?,
        subtype: row.get(8)?,
        severity: row.get(9)?,
        impact: row.get(10)?,
        title: row.get(11)?,
        released: row.get(12)?,
        document: row.get(13)?,
    })
}
