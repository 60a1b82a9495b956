//! The pipeline that `scan` and `fix` share: inventory, database, match,
//! coverage notes and CVE facts.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use vulnloop_advisory::CveFacts;
use vulnloop_db::Database;
use vulnloop_inventory::Inventory;
use vulnloop_match::{AppMatchReport, CoverageNote, MatchReport};
use vulnloop_report::DatabaseInfo;

use crate::cli::SourceArgs;

/// Pipeline output for the report or the fix plan.
pub struct Analysis {
    pub inventory: Inventory,
    /// Findings, and coverage including the database's staleness and failed feeds.
    pub matched: MatchReport,
    pub database_info: DatabaseInfo,
    /// Facts of every CVE the findings name, keyed by CVE id.
    pub facts: BTreeMap<String, CveFacts>,
    /// Findings on web applications and bundled libraries.
    pub applications: AppMatchReport,
}

/// Reads the inventory (`inventory_file`, else collected from `source`),
/// matches it against the database at `db_path` and loads the CVE facts.
pub fn analyze(
    source: &SourceArgs,
    inventory_file: Option<&Path>,
    db_path: &Path,
    max_db_age: u32,
) -> anyhow::Result<Analysis> {
    let database = Database::open(db_path)?;
    let inventory = match inventory_file {
        Some(path) => vulnloop_windows::read_inventory_file(path)?,
        None => super::collect(source)?,
    };
    analyze_inventory(inventory, &database, db_path, max_db_age)
}

/// Matches an inventory against an open database and loads the CVE facts.
pub fn analyze_inventory(
    inventory: Inventory,
    database: &Database,
    db_path: &Path,
    max_db_age: u32,
) -> anyhow::Result<Analysis> {
    let mut matched = if inventory.windows.is_some() {
        match_windows(&inventory, database)?
    } else {
        vulnloop_match::match_inventory(&inventory, database)
            .with_context(|| format!("failed to match against {}", db_path.display()))?
    };
    let applications = vulnloop_match::match_applications(&inventory.applications, database)
        .with_context(|| {
            format!(
                "failed to match web applications against {}",
                db_path.display()
            )
        })?;
    let database_info = database_info(database)?;
    let refreshed_at = database.metadata()?.refreshed_at();
    let notes = staleness(refreshed_at, max_db_age, db_path)
        .into_iter()
        .chain(failed_feed_notes(database)?);
    for note in notes {
        matched.coverage.complete &= !note.incomplete;
        matched.coverage.notes.push(note);
    }

    let mut cves: Vec<&str> = matched
        .findings
        .iter()
        .flat_map(|f| f.cves.iter().map(String::as_str))
        .collect();
    cves.sort_unstable();
    cves.dedup();
    let facts = database.cve_facts(&cves)?;
    Ok(Analysis {
        inventory,
        matched,
        database_info,
        facts,
        applications,
    })
}

/// Matches a Windows inventory against the fix statements of its product.
fn match_windows(inventory: &Inventory, database: &Database) -> anyhow::Result<MatchReport> {
    let key = inventory
        .windows
        .as_ref()
        .and_then(vulnloop_windows::matcher::host_product_key);
    let (fixes, supersedence) = match &key {
        Some(key) => (
            database.windows_fixes(key)?,
            database.windows_supersedence(key)?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(vulnloop_windows::match_windows(
        inventory,
        &fixes,
        &supersedence,
        database.windows_sources()?,
    ))
}

fn database_info(database: &Database) -> anyhow::Result<DatabaseInfo> {
    let metadata = database.metadata()?;
    let sources = database
        .sources()?
        .into_iter()
        .map(|s| match s.snapshot {
            Some(snapshot) => format!("{} ({})", s.name, snapshot.get(..10).unwrap_or(&snapshot)),
            None => s.name,
        })
        .collect();
    Ok(DatabaseInfo {
        path: database.path().display().to_string(),
        built_at: metadata.built_at,
        checked_at: metadata.checked_at,
        sources,
    })
}

/// Returns one coverage note per feed file that failed in the last update.
///
/// A file whose earlier records were carried over leaves the results complete
/// but older for that feed. A file with nothing carried over leaves a gap.
fn failed_feed_notes(database: &Database) -> anyhow::Result<Vec<CoverageNote>> {
    let notes = database
        .failed_files()?
        .into_iter()
        .map(|failed| match failed.carried_over {
            0 => CoverageNote {
                incomplete: true,
                message: format!(
                    "feed file {} ({}) failed in the last database update and its records are missing; \
                     fix the file and run `vulnloop db update` again",
                    failed.file, failed.source
                ),
            },
            records => CoverageNote {
                incomplete: false,
                message: format!(
                    "feed file {} ({}) failed in the last database update; its {records} records are \
                     from the database before that update",
                    failed.file, failed.source
                ),
            },
        })
        .collect();
    Ok(notes)
}

/// Returns a coverage note when the database was last refreshed (built, or
/// checked unchanged by `db update`) more than `max_days` ago (0 disables the check).
fn staleness(
    refreshed_at: Option<chrono::DateTime<chrono::Utc>>,
    max_days: u32,
    db_path: &Path,
) -> Option<CoverageNote> {
    if max_days == 0 {
        return None;
    }
    let age = chrono::Utc::now().signed_duration_since(refreshed_at?);
    (age.num_days() > i64::from(max_days)).then(|| CoverageNote {
        incomplete: true,
        message: format!(
            "the advisory database is {} days {} hours old (limit {max_days} days); refresh it with \
             `vulnloop db update --db {}` (add --from DIR|URL where the official feeds are out of reach)",
            age.num_days(),
            age.num_hours() % 24,
            db_path.display()
        ),
    })
}
