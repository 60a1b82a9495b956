//! Storage of the facts keyed by CVE: details (NVD, CVE JSON 5), CISA KEV
//! entries and EPSS scores.
//!
//! Several files speak about the same CVE: NVD's yearly file and its
//! `modified` file, NVD and CVE JSON 5. The database keeps one merged row per
//! CVE, where the record modified last wins each conflict (see [`merge`]).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use vulnloop_advisory::{CveFacts, CveRecord, Cvss, Enrichment, EpssScore, KevEntry};
use zstd::dict::DecoderDictionary;

/// Inserts one enrichment record, merged with the records of earlier files.
pub(crate) fn insert(
    conn: &Connection,
    record: &Enrichment,
    file: &str,
) -> Result<(), rusqlite::Error> {
    match record {
        Enrichment::Cve(incoming) => insert_cve(conn, incoming, file),
        Enrichment::Kev(entry) => insert_kev(conn, entry, file),
        Enrichment::Epss(score) => insert_epss(conn, score, file),
    }
}

fn insert_cve(conn: &Connection, incoming: &CveRecord, file: &str) -> Result<(), rusqlite::Error> {
    let existing = conn
        .prepare_cached("SELECT files, record FROM cve WHERE id = ?1")?
        .query_row([&incoming.id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
        })
        .optional()?;
    let (record, files) = match existing {
        None => (incoming.clone(), vec![file.to_string()]),
        Some((files, stored)) => {
            let mut files: Vec<String> = serde_json::from_str(&files).unwrap_or_default();
            if !files.iter().any(|f| f == file) {
                files.push(file.to_string());
            }
            match decode(&stored, None) {
                Some(previous) => (merge(previous, incoming.clone()), files),
                None => (incoming.clone(), files),
            }
        }
    };
    let files = serde_json::to_string(&files).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached("INSERT OR REPLACE INTO cve (id, files, record) VALUES (?1, ?2, ?3)")?
        .execute(params![record.id, files, encode(&record)])?;
    Ok(())
}

/// Compression level of the stored records.
const RECORD_LEVEL: i32 = 9;
/// Size of the zstd dictionary trained on the records of one database.
const DICTIONARY_SIZE: usize = 112 * 1024;
/// Records the dictionary is trained on, spread over the table.
const DICTIONARY_SAMPLES: i64 = 8_000;
/// Records compressed per batch at commit.
const BATCH: i64 = 4_096;

/// Serializes a record as JSON. While the database is built, records stay
/// plain JSON, so merging a record read back is cheap; [`compress_all`]
/// compresses them once at the end.
fn encode(record: &CveRecord) -> Vec<u8> {
    serde_json::to_vec(record).unwrap_or_default()
}

/// Reads a stored record: plain JSON during the build, zstd-compressed with
/// the database's dictionary after it. A damaged record reads as absent.
fn decode(bytes: &[u8], dictionary: Option<&DecoderDictionary<'_>>) -> Option<CveRecord> {
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).ok();
    }
    let decoder = match dictionary {
        Some(dictionary) => {
            zstd::stream::Decoder::with_prepared_dictionary(bytes, dictionary).ok()?
        }
        None => zstd::stream::Decoder::with_buffer(bytes).ok()?,
    };
    serde_json::from_reader(decoder).ok()
}

/// Compresses every `cve` record with a zstd dictionary trained on a sample
/// of them, and stores the dictionary in `cve_dictionary`.
///
/// A record is a few hundred bytes of JSON, too little for zstd to find
/// much on its own. The dictionary carries what records share (field names,
/// reference hosts, common phrases), so each compresses to about a third.
pub(crate) fn compress_all(conn: &Connection) -> Result<(), rusqlite::Error> {
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM cve", [], |row| row.get(0))?;
    if rows == 0 {
        return Ok(());
    }
    let step = (rows / DICTIONARY_SAMPLES).max(1);
    let samples: Vec<Vec<u8>> = conn
        .prepare("SELECT record FROM cve WHERE rowid % ?1 = 0")?
        .query_map([step], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    // Training fails on too few or too similar samples; the records are
    // then compressed without a dictionary.
    let dictionary = zstd::dict::from_samples(&samples, DICTIONARY_SIZE).unwrap_or_default();
    conn.execute(
        "INSERT INTO cve_dictionary (id, dictionary) VALUES (1, ?1)",
        [&dictionary],
    )?;

    let failed = |error: std::io::Error| rusqlite::Error::ToSqlConversionFailure(Box::new(error));
    let mut compressor =
        zstd::bulk::Compressor::with_dictionary(RECORD_LEVEL, &dictionary).map_err(failed)?;
    let mut last = 0_i64;
    loop {
        let batch: Vec<(i64, Vec<u8>)> = conn
            .prepare_cached(
                "SELECT rowid, record FROM cve WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
            )?
            .query_map([last, BATCH], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let Some((end, _)) = batch.last() else {
            break;
        };
        last = *end;
        let mut update = conn.prepare_cached("UPDATE cve SET record = ?2 WHERE rowid = ?1")?;
        for (rowid, json) in batch {
            update.execute(params![rowid, compressor.compress(&json).map_err(failed)?])?;
        }
    }
    Ok(())
}

/// Reads the dictionary the records of a database were compressed with.
pub(crate) fn dictionary(
    conn: &Connection,
    schema: &str,
) -> Result<Option<Vec<u8>>, rusqlite::Error> {
    conn.query_row(
        &format!("SELECT dictionary FROM {schema}.cve_dictionary WHERE id = 1"),
        [],
        |row| row.get(0),
    )
    .optional()
}

/// Merges two records of one CVE.
///
/// The record modified last wins each conflict, and the incoming one wins a
/// tie of `modified` dates. Conflicts are the description and the score of a
/// CVSS vector that the same party scored in the same version. CWEs and references are
/// the union of both, CVSS scores of different parties or versions are all
/// kept, the publication date is the earlier one and `source` lists both
/// sources (`cve5,nvd`).
pub(crate) fn merge(existing: CveRecord, incoming: CveRecord) -> CveRecord {
    let incoming_newer =
        incoming.modified.as_deref().unwrap_or("") >= existing.modified.as_deref().unwrap_or("");
    let (newer, older) = if incoming_newer {
        (incoming, existing)
    } else {
        (existing, incoming)
    };

    let mut sources: Vec<&str> = older
        .source
        .split(',')
        .chain(newer.source.split(','))
        .collect();
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
    .execute(params![
        score.cve,
        file,
        score.score,
        score.percentile,
        score.date
    ])?;
    Ok(())
}

/// Copies the enrichment rows that came from `file` in the attached
/// `previous` database and that the new database does not have yet.
pub(crate) fn copy_from_attached(conn: &Connection, file: &str) -> Result<u64, rusqlite::Error> {
    // Records of the previous database are compressed with its dictionary:
    // they are decoded here and stored plain, like the records of this build.
    let dictionary = dictionary(conn, "previous")?;
    let prepared = dictionary.as_deref().map(DecoderDictionary::copy);
    let quoted = serde_json::to_string(file).unwrap_or_default();
    let previous: Vec<(String, String, Vec<u8>)> = conn
        .prepare("SELECT id, files, record FROM previous.cve WHERE instr(files, ?1) > 0")?
        .query_map([&quoted], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut copied = 0;
    for (id, files, stored) in previous {
        let Some(record) = decode(&stored, prepared.as_ref()) else {
            continue;
        };
        copied += conn
            .prepare_cached(
                "INSERT OR IGNORE INTO main.cve (id, files, record) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![id, files, encode(&record)])?;
    }
    for table in ["kev", "epss"] {
        copied += conn.execute(
            &format!(
                "INSERT OR IGNORE INTO main.{table} SELECT * FROM previous.{table} WHERE file = ?1"
            ),
            [file],
        )?;
    }
    Ok(copied as u64)
}

/// Reads the stored facts of each CVE of `ids`. Ids without facts are left out.
pub(crate) fn facts(
    conn: &Connection,
    dictionary: Option<&DecoderDictionary<'_>>,
    ids: &[&str],
) -> Result<BTreeMap<String, CveFacts>, rusqlite::Error> {
    let mut found = BTreeMap::new();
    for &id in ids {
        let record: Option<Vec<u8>> = conn
            .prepare_cached("SELECT record FROM cve WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?;
        let record = record.and_then(|bytes| decode(&bytes, dictionary));
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
                Ok(EpssScore {
                    cve: id.to_string(),
                    score: row.get(0)?,
                    percentile: row.get(1)?,
                    date: row.get(2)?,
                })
            })
            .optional()?;
        if record.is_some() || kev.is_some() || epss.is_some() {
            let facts = CveFacts {
                id: id.to_string(),
                records: record.into_iter().collect(),
                kev,
                epss,
            };
            found.insert(id.to_string(), facts);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use vulnloop_advisory::CvssVersion;

    use super::*;

    fn record(
        source: &str,
        modified: &str,
        description: &str,
        scores: &[(&str, f64)],
    ) -> CveRecord {
        CveRecord {
            id: "CVE-2024-0001".into(),
            source: source.into(),
            published: Some(format!("2024-01-0{}", if source == "nvd" { 2 } else { 1 })),
            modified: Some(modified.into()),
            description: Some(description.into()),
            cwes: vec![format!("CWE-{}", description.len())],
            references: vec![
                format!("https://example.org/{source}"),
                "https://example.org/shared".into(),
            ],
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
    fn merge_prefers_newer_record() {
        let old = record(
            "cve5",
            "2024-02-01",
            "old text",
            &[("CISA-ADP", 9.8), ("nvd@nist.gov", 7.5)],
        );
        let new = record("nvd", "2024-03-01", "new text!", &[("nvd@nist.gov", 8.1)]);
        for merged in [merge(old.clone(), new.clone()), merge(new, old)] {
            assert_eq!(merged.source, "cve5,nvd");
            assert_eq!(merged.description.as_deref(), Some("new text!"));
            assert_eq!(merged.published.as_deref(), Some("2024-01-01"));
            assert_eq!(merged.modified.as_deref(), Some("2024-03-01"));
            let scores: Vec<(&str, f64)> = merged
                .cvss
                .iter()
                .map(|c| (c.scored_by.as_str(), c.base_score))
                .collect();
            assert_eq!(scores, [("CISA-ADP", 9.8), ("nvd@nist.gov", 8.1)]);
            assert_eq!(merged.cwes, ["CWE-8", "CWE-9"]);
            assert_eq!(merged.references.len(), 3);
        }
    }

    #[test]
    fn stored_facts_read_back_merged() {
        let conn = Connection::open_in_memory().expect("in-memory database");
        conn.execute_batch(crate::schema::CREATE).expect("schema");
        let old = record("cve5", "2024-02-01", "old text", &[("CISA-ADP", 9.8)]);
        let new = record("nvd", "2024-03-01", "new text!", &[("nvd@nist.gov", 8.1)]);
        insert(&conn, &Enrichment::Cve(old), "cve5.jsonl.zst").expect("insert");
        insert(&conn, &Enrichment::Cve(new), "nvdcve-1.1-2024.json.gz").expect("insert");
        let epss = EpssScore {
            cve: "CVE-2024-0001".into(),
            score: 0.5,
            percentile: Some(0.9),
            date: Some("2024-03-07".into()),
        };
        let older_epss = EpssScore {
            score: 0.1,
            date: Some("2024-01-01".into()),
            ..epss.clone()
        };
        insert(
            &conn,
            &Enrichment::Epss(epss),
            "epss_scores-2024-03-07.csv.gz",
        )
        .expect("insert");
        insert(
            &conn,
            &Enrichment::Epss(older_epss),
            "epss_scores-2024-01-01.csv.gz",
        )
        .expect("insert");

        let found = facts(&conn, None, &["CVE-2024-0001", "CVE-2099-0001"]).expect("query");
        assert_eq!(found.len(), 1, "unknown ids are left out");
        let facts = &found["CVE-2024-0001"];
        assert_eq!(facts.records[0].source, "cve5,nvd");
        assert_eq!(facts.records[0].description.as_deref(), Some("new text!"));
        assert_eq!(facts.records[0].cvss.len(), 2);
        assert_eq!(
            facts.epss.as_ref().map(|e| e.score),
            Some(0.5),
            "the latest score date wins"
        );
        assert!(facts.kev.is_none());
        let files: String = conn
            .query_row("SELECT files FROM cve", [], |row| row.get(0))
            .expect("files");
        assert_eq!(files, r#"["cve5.jsonl.zst","nvdcve-1.1-2024.json.gz"]"#);

        // After compression the same facts read back through the dictionary.
        compress_all(&conn).expect("compress");
        let stored: Vec<u8> = conn
            .query_row("SELECT record FROM cve", [], |row| row.get(0))
            .expect("record");
        assert_ne!(stored.first(), Some(&b'{'), "the record is compressed");
        let trained = dictionary(&conn, "main")
            .expect("dictionary")
            .expect("stored");
        let prepared = DecoderDictionary::copy(&trained);
        let again = super::facts(&conn, Some(&prepared), &["CVE-2024-0001"]).expect("query");
        assert_eq!(again["CVE-2024-0001"].records, facts.records);
    }
}
