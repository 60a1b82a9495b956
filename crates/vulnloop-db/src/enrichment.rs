//! Storage of the facts keyed by CVE: details (NVD, CVE JSON 5), CISA KEV
//! entries and EPSS scores.
//!
//! Several files speak about the same CVE: NVD's yearly file and its
//! `modified` file, NVD and CVE JSON 5. The database keeps one merged row per
//! CVE, where the record modified last wins each conflict (see [`merge`]).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use vulnloop_advisory::{CveFacts, CveRecord, Cvss, Enrichment, EpssScore, KevEntry};

/// Inserts one enrichment record, merging it with what earlier files said.
pub(crate) fn insert(conn: &Connection, record: &Enrichment, file: &str) -> Result<(), rusqlite::Error> {
    match record {
        Enrichment::Cve(incoming) => insert_cve(conn, incoming, file),
        Enrichment::Kev(entry) => insert_kev(conn, entry, file),
        Enrichment::Epss(score) => insert_epss(conn, score, file),
    }
}

fn insert_cve(conn: &Connection, incoming: &CveRecord, file: &str) -> Result<(), rusqlite::Error> {
    let existing = conn
        .prepare_cached(
            "SELECT sources, files, published, modified, description, cwes, refs, cvss FROM cve WHERE id = ?1",
        )?
        .query_row([&incoming.id], |row| {
            let stored = StoredCve {
                sources: row.get(0)?,
                files: row.get(1)?,
                published: row.get(2)?,
                modified: row.get(3)?,
                description: row.get(4)?,
                cwes: row.get(5)?,
                refs: row.get(6)?,
                cvss: row.get(7)?,
            };
            Ok(stored)
        })
        .optional()?;
    let (record, files) = match existing {
        None => (incoming.clone(), vec![file.to_string()]),
        Some(stored) => {
            let mut files: Vec<String> = serde_json::from_str(&stored.files).unwrap_or_default();
            if !files.iter().any(|f| f == file) {
                files.push(file.to_string());
            }
            (merge(stored.into_record(&incoming.id), incoming.clone()), files)
        }
    };
    let files = serde_json::to_string(&files).unwrap_or_else(|_| "[]".into());
    let cwes = serde_json::to_string(&record.cwes).unwrap_or_else(|_| "[]".into());
    let cvss = serde_json::to_string(&record.cvss).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "INSERT OR REPLACE INTO cve (id, sources, files, published, modified, description, cwes, refs, cvss)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        record.id,
        record.source,
        files,
        record.published,
        record.modified,
        record.description,
        cwes,
        record.references.join("\n"),
        cvss
    ])?;
    Ok(())
}

/// A `cve` row as stored.
struct StoredCve {
    sources: String,
    files: String,
    published: Option<String>,
    modified: Option<String>,
    description: Option<String>,
    cwes: String,
    refs: String,
    cvss: String,
}

impl StoredCve {
    fn into_record(self, id: &str) -> CveRecord {
        CveRecord {
            id: id.to_string(),
            source: self.sources,
            published: self.published,
            modified: self.modified,
            description: self.description,
            cwes: serde_json::from_str(&self.cwes).unwrap_or_default(),
            references: self.refs.lines().filter(|l| !l.is_empty()).map(String::from).collect(),
            cvss: serde_json::from_str(&self.cvss).unwrap_or_default(),
        }
    }
}

/// Merges two records of one CVE.
///
/// The record modified last (by its `modified` date; the incoming one on a
/// tie) wins each conflict: the description, and the score of a CVSS vector
/// that the same party scored in the same version. CWEs and references are
/// the union of both, CVSS scores of different parties or versions are all
/// kept, the publication date is the earlier one and `source` lists both
/// sources (`cve5,nvd`).
pub(crate) fn merge(existing: CveRecord, incoming: CveRecord) -> CveRecord {
    let incoming_newer = incoming.modified.as_deref().unwrap_or("") >= existing.modified.as_deref().unwrap_or("");
    let (newer, older) = if incoming_newer { (incoming, existing) } else { (existing, incoming) };

    let mut sources: Vec<&str> = older.source.split(',').chain(newer.source.split(',')).collect();
    sources.sort_unstable();
    sources.dedup();

    let mut cvss: BTreeMap<(String, vulnloop_advisory::CvssVersion), Cvss> = BTreeMap::new();
    for score in older.cvss.into_iter().chain(newer.cvss) {
        cvss.insert((score.scored_by.clone(), score.version), score);
    }

    let mut cwes = older.cwes;
    cwes.extend(newer.cwes);
    cwes.sort();
    cwes.dedup();

    let mut references = older.references;
    for reference in newer.references {
        if !references.contains(&reference) {
            references.push(reference);
        }
    }

    let published = match (older.published, newer.published) {
        (Some(a), Some(b)) => Some(if b < a { b } else { a }),
        (a, b) => a.or(b),
    };
    CveRecord {
        id: newer.id,
        source: sources.join(","),
        published,
        modified: newer.modified.or(older.modified),
        description: newer.description.or(older.description),
        cwes,
        references,
        cvss: cvss.into_values().collect(),
    }
}

fn insert_kev(conn: &Connection, entry: &KevEntry, file: &str) -> Result<(), rusqlite::Error> {
    // A later catalog is a superset; the newest addition date wins a duplicate.
    conn.prepare_cached(
        "INSERT INTO kev (cve, file, vendor, product, name, date_added, due_date, ransomware, required_action)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (cve) DO UPDATE SET file = excluded.file, vendor = excluded.vendor,
             product = excluded.product, name = excluded.name, date_added = excluded.date_added,
             due_date = excluded.due_date, ransomware = excluded.ransomware,
             required_action = excluded.required_action
         WHERE excluded.date_added >= kev.date_added",
    )?
    .execute(params![
        entry.cve,
        file,
        entry.vendor,
        entry.product,
        entry.name,
        entry.date_added,
        entry.due_date,
        entry.known_ransomware_use,
        entry.required_action
    ])?;
    Ok(())
}

fn insert_epss(conn: &Connection, score: &EpssScore, file: &str) -> Result<(), rusqlite::Error> {
    // Scores change daily; the latest score date wins.
    conn.prepare_cached(
        "INSERT INTO epss (cve, file, score, percentile, date) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (cve) DO UPDATE SET file = excluded.file, score = excluded.score,
             percentile = excluded.percentile, date = excluded.date
         WHERE COALESCE(excluded.date, '') >= COALESCE(epss.date, '')",
    )?
    .execute(params![score.cve, file, score.score, score.percentile, score.date])?;
    Ok(())
}

/// Copies the enrichment rows that came from `file` in the attached
/// `previous` database and that the new database does not have yet.
pub(crate) fn copy_from_attached(conn: &Connection, file: &str) -> Result<u64, rusqlite::Error> {
    let quoted = serde_json::to_string(file).unwrap_or_default();
    let mut copied = conn.execute(
        "INSERT OR IGNORE INTO main.cve SELECT * FROM previous.cve WHERE instr(files, ?1) > 0",
        [&quoted],
    )?;
    for table in ["kev", "epss"] {
        copied += conn.execute(
            &format!("INSERT OR IGNORE INTO main.{table} SELECT * FROM previous.{table} WHERE file = ?1"),
            [file],
        )?;
    }
    Ok(copied as u64)
}

/// Reads what the database knows about each CVE of `ids`; unknown ids are left out.
pub(crate) fn facts(conn: &Connection, ids: &[&str]) -> Result<BTreeMap<String, CveFacts>, rusqlite::Error> {
    let mut found = BTreeMap::new();
    for &id in ids {
        let record = conn
            .prepare_cached(
                "SELECT sources, files, published, modified, description, cwes, refs, cvss FROM cve WHERE id = ?1",
            )?
            .query_row([id], |row| {
                Ok(StoredCve {
                    sources: row.get(0)?,
                    files: row.get(1)?,
                    published: row.get(2)?,
                    modified: row.get(3)?,
                    description: row.get(4)?,
                    cwes: row.get(5)?,
                    refs: row.get(6)?,
                    cvss: row.get(7)?,
                })
            })
            .optional()?
            .map(|stored| stored.into_record(id));
        let kev = conn
            .prepare_cached(
                "SELECT vendor, product, name, date_added, due_date, ransomware, required_action FROM kev WHERE cve = ?1",
            )?
            .query_row([id], |row| {
                Ok(KevEntry {
                    cve: id.to_string(),
                    vendor: row.get(0)?,
                    product: row.get(1)?,
                    name: row.get(2)?,
                    date_added: row.get(3)?,
                    due_date: row.get(4)?,
                    known_ransomware_use: row.get(5)?,
                    required_action: row.get(6)?,
                })
            })
            .optional()?;
        let epss = conn
            .prepare_cached("SELECT score, percentile, date FROM epss WHERE cve = ?1")?
            .query_row([id], |row| {
                Ok(EpssScore { cve: id.to_string(), score: row.get(0)?, percentile: row.get(1)?, date: row.get(2)? })
            })
            .optional()?;
        if record.is_some() || kev.is_some() || epss.is_some() {
            let facts = CveFacts { id: id.to_string(), records: record.into_iter().collect(), kev, epss };
            found.insert(id.to_string(), facts);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use vulnloop_advisory::CvssVersion;

    use super::*;

    fn record(source: &str, modified: &str, description: &str, scores: &[(&str, f64)]) -> CveRecord {
        CveRecord {
            id: "CVE-2024-0001".into(),
            source: source.into(),
            published: Some(format!("2024-01-0{}", if source == "nvd" { 2 } else { 1 })),
            modified: Some(modified.into()),
            description: Some(description.into()),
            cwes: vec![format!("CWE-{}", description.len())],
            references: vec![format!("https://example.org/{source}"), "https://example.org/shared".into()],
            cvss: scores
                .iter()
                .map(|(by, score)| Cvss {
                    version: CvssVersion::V3_1,
                    vector: String::new(),
                    base_score: *score,
                    scored_by: (*by).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn newer_record_wins_conflicts_and_the_rest_is_kept() {
        let old = record("cve5", "2024-02-01", "old text", &[("CISA-ADP", 9.8), ("nvd@nist.gov", 7.5)]);
        let new = record("nvd", "2024-03-01", "new text!", &[("nvd@nist.gov", 8.1)]);
        for merged in [merge(old.clone(), new.clone()), merge(new, old)] {
            assert_eq!(merged.source, "cve5,nvd");
            assert_eq!(merged.description.as_deref(), Some("new text!"));
            assert_eq!(merged.published.as_deref(), Some("2024-01-01"));
            assert_eq!(merged.modified.as_deref(), Some("2024-03-01"));
            let scores: Vec<(&str, f64)> = merged.cvss.iter().map(|c| (c.scored_by.as_str(), c.base_score)).collect();
            assert_eq!(scores, [("CISA-ADP", 9.8), ("nvd@nist.gov", 8.1)]);
            assert_eq!(merged.cwes, ["CWE-8", "CWE-9"]);
            assert_eq!(merged.references.len(), 3);
        }
    }
}
