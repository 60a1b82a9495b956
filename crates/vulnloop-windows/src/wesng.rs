//! The wesng definitions (`definitions.zip` of bitsadmin/wesng): a CSV table
//! of CVE → KB → affected product with severity, impact and supersedence,
//! compiled from MSRC, the older security bulletins and NVD.
//!
//! Columns: `DatePosted` (`YYYYMMDD`), `CVE`, `BulletinKB`, `Title`,
//! `AffectedProduct`, `AffectedComponent`, `Severity`, `Impact`,
//! `Supersedes` (KB numbers separated by `;`), `Exploits`. Rows whose
//! product is not a Windows release, and rows without a CVE, are left out.

use std::io::{Read, Seek};

use crate::error::WindowsError;
use crate::intel::{kb_numbers, FixSource, WindowsFix};
use crate::product::product_key;

/// Counts of one parsed definitions file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WesngSummary {
    /// Data rows of the CVE table.
    pub rows: usize,
    /// Rows handed to the sink.
    pub fixes: usize,
    /// Newest `DatePosted` (`YYYY-MM-DD`).
    pub snapshot: Option<String>,
}

/// Reads the CVE table (`CVEs_*.csv`) of a definitions zip.
pub fn parse_zip<R: Read + Seek>(
    reader: R,
    name: &str,
    sink: &mut dyn FnMut(WindowsFix),
) -> Result<WesngSummary, WindowsError> {
    let error = |message: String| WindowsError::Wesng {
        file: name.to_string(),
        message,
    };
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| error(format!("not a zip archive: {e}")))?;
    let table = (0..archive.len())
        .find(|&index| {
            archive
                .name_for_index(index)
                .and_then(|name| name.ok())
                .is_some_and(|n| n.starts_with("CVEs_") && n.ends_with(".csv"))
        })
        .ok_or_else(|| {
            error("no CVEs_*.csv table inside; download definitions.zip of wesng again".into())
        })?;
    let entry = archive.by_index(table).map_err(|e| error(e.to_string()))?;
    let table_name = format!(
        "{name}:{}",
        entry.name().map(|n| n.to_string()).unwrap_or_default()
    );
    parse_csv(entry, &table_name, sink)
}

/// Reads the CVE table from CSV text.
pub fn parse_csv<R: Read>(
    reader: R,
    name: &str,
    sink: &mut dyn FnMut(WindowsFix),
) -> Result<WesngSummary, WindowsError> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| WindowsError::Wesng {
            file: name.to_string(),
            message: e.to_string(),
        })?
        .clone();
    let column = |wanted: &str| {
        headers
            .iter()
            .position(|h| h == wanted)
            .ok_or_else(|| WindowsError::Wesng {
                file: name.to_string(),
                message: format!("column {wanted:?} missing from the header"),
            })
    };
    let [date, cve, kb, title, product, severity, impact, supersedes] = [
        "DatePosted",
        "CVE",
        "BulletinKB",
        "Title",
        "AffectedProduct",
        "Severity",
        "Impact",
        "Supersedes",
    ]
    .map(column);
    let (date, cve, kb, title, product, severity, impact, supersedes) = (
        date?,
        cve?,
        kb?,
        title?,
        product?,
        severity?,
        impact?,
        supersedes?,
    );

    let mut summary = WesngSummary::default();
    let file_name = name.rsplit(['/', ':']).next().unwrap_or(name).to_string();
    for record in csv.records() {
        let record = record.map_err(|e| WindowsError::Wesng {
            file: name.to_string(),
            message: format!("line {}: {e}", e.position().map_or(0, |p| p.line())),
        })?;
        summary.rows += 1;
        let field = |index: usize| record.get(index).unwrap_or("").trim();
        let optional = |index: usize| Some(field(index).to_string()).filter(|v| !v.is_empty());
        let kb_number = field(kb).trim_start_matches("KB");
        if field(cve).is_empty()
            || kb_number.is_empty()
            || !kb_number.chars().all(|c| c.is_ascii_digit())
        {
            continue;
        }
        let Some(key) = product_key(field(product), None, None, None) else {
            continue;
        };
        let posted = field(date);
        let released = (posted.len() == 8)
            .then(|| format!("{}-{}-{}", &posted[..4], &posted[4..6], &posted[6..]));
        if released
            .as_ref()
            .is_some_and(|r| summary.snapshot.as_ref().is_none_or(|s| s < r))
        {
            summary.snapshot.clone_from(&released);
        }
        summary.fixes += 1;
        sink(WindowsFix {
            source: FixSource::Wesng,
            cve: field(cve).to_string(),
            product_key: key,
            product: field(product).to_string(),
            kb: kb_number.to_string(),
            fixed_build: None,
            supersedes: kb_numbers(field(supersedes)),
            restart_required: None,
            subtype: None,
            severity: optional(severity),
            impact: optional(impact),
            title: optional(title),
            released,
            document: file_name.clone(),
            url: Some(crate::intel::catalog_url(kb_number)),
        });
    }
    Ok(summary)
}
