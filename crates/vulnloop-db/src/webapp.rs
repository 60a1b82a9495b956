//! Application advisories: WordPress core, plugins and themes, Composer,
//! npm, PyPI and Maven packages.
//!
//! They live in their own table because they state version ranges (as
//! JSON, [`vulnloop_advisory::VersionRange`]) rather than the one fixed
//! version per release of the `affected` table. Lookups are by ecosystem
//! and package name, as for OS packages.

use rusqlite::{params, Connection};
use vulnloop_advisory::{AppAdvisory, Severity, VersionRange};
use vulnloop_inventory::AppEcosystem;

/// Creates the table; part of the schema since version 4.
pub(crate) const CREATE: &str = "
CREATE TABLE app_advisories (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    file         TEXT NOT NULL,
    advisory_id  TEXT NOT NULL,
    cves         TEXT NOT NULL,
    title        TEXT,
    severity     TEXT NOT NULL,
    severity_raw TEXT,
    url          TEXT,
    modified     TEXT,
    ecosystem    TEXT NOT NULL,
    package      TEXT NOT NULL,
    ranges       TEXT NOT NULL
);
";

/// Index created after the bulk insert.
pub(crate) const CREATE_INDEXES: &str =
    "CREATE INDEX app_advisories_lookup ON app_advisories (ecosystem, package);";

/// Returns the name as stored and looked up: Composer names are case-insensitive.
fn key(ecosystem: AppEcosystem, package: &str) -> String {
    match ecosystem {
        AppEcosystem::Packagist
        | AppEcosystem::WordpressCore
        | AppEcosystem::WordpressPlugin
        | AppEcosystem::WordpressTheme => package.to_ascii_lowercase(),
        _ => package.to_string(),
    }
}

pub(crate) fn insert(
    conn: &Connection,
    file: &str,
    advisory: &AppAdvisory,
) -> rusqlite::Result<()> {
    let cves = serde_json::to_string(&advisory.cves).unwrap_or_else(|_| "[]".into());
    let ranges = serde_json::to_string(&advisory.ranges).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "INSERT INTO app_advisories (source, file, advisory_id, cves, title, severity, severity_raw, url, modified, ecosystem, package, ranges)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        advisory.source,
        file,
        advisory.id,
        cves,
        advisory.title,
        advisory.severity.as_str(),
        advisory.severity_raw,
        advisory.url,
        advisory.modified,
        advisory.ecosystem.as_str(),
        key(advisory.ecosystem, &advisory.package),
        ranges,
    ])?;
    Ok(())
}

pub(crate) fn lookup(
    conn: &Connection,
    ecosystem: AppEcosystem,
    package: &str,
) -> rusqlite::Result<Vec<AppAdvisory>> {
    let mut statement = conn.prepare_cached(
        "SELECT source, advisory_id, cves, title, severity, severity_raw, url, modified, package, ranges
         FROM app_advisories WHERE ecosystem = ?1 AND package = ?2 ORDER BY advisory_id",
    )?;
    let rows = statement.query_map(
        params![ecosystem.as_str(), key(ecosystem, package)],
        |row| {
            let cves: String = row.get(2)?;
            let severity: String = row.get(4)?;
            let ranges: String = row.get(9)?;
            Ok(AppAdvisory {
                source: row.get(0)?,
                id: row.get(1)?,
                cves: serde_json::from_str(&cves).unwrap_or_default(),
                title: row.get(3)?,
                severity: Severity::parse(&severity).unwrap_or(Severity::Unknown),
                severity_raw: row.get(5)?,
                url: row.get(6)?,
                modified: row.get(7)?,
                ecosystem,
                package: row.get(8)?,
                ranges: serde_json::from_str::<Vec<VersionRange>>(&ranges).map_err(|error| {
                    rusqlite::Error::FromSqlConversionFailure(
                        9,
                        rusqlite::types::Type::Text,
                        Box::new(error),
                    )
                })?,
            })
        },
    )?;
    rows.collect()
}

pub(crate) fn has_ecosystem(conn: &Connection, ecosystem: AppEcosystem) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM app_advisories WHERE ecosystem = ?1)")?
        .query_row([ecosystem.as_str()], |row| row.get(0))
}
