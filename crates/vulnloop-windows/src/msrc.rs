//! MSRC CVRF 1.2 documents: one XML document per month, as the MSRC API
//! serves them, alone, zstd-compressed, or as a tar archive of them.
//!
//! Each `vuln:Remediation` of type `Vendor Fix` whose description is a KB
//! number becomes one [`WindowsFix`] per Windows release it names. A
//! release is named directly or through Internet Explorer on Windows 10, 11
//! and Server 2016 and later (see [`bundled_product_key`]). Fixes of other
//! products (Office, .NET on Windows, Azure Linux) are counted and left out.

use std::collections::HashMap;
use std::io::Read;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::WindowsError;
use crate::intel::{kb_numbers, FixSource, WindowsFix};
use crate::product::{bundled_product_key, product_key};

/// Counts of one parsed file or archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MsrcSummary {
    /// Documents read.
    pub documents: usize,
    /// `vuln:Vulnerability` elements read.
    pub vulnerabilities: usize,
    /// `Vendor Fix` remediations with a KB number.
    pub kb_remediations: usize,
    /// Fixes handed to the sink: one per remediation and product key.
    pub fixes: usize,
    /// Newest `CurrentReleaseDate` of the documents (`YYYY-MM-DD…`).
    pub snapshot: Option<String>,
}

/// Parses an MSRC file: `.xml`, `.xml.zst`, or a `.tar` of `.xml.zst`
/// documents. `name` picks the layout and names the input in errors.
pub fn parse_reader(
    reader: Box<dyn Read + '_>,
    name: &str,
    sink: &mut dyn FnMut(WindowsFix),
) -> Result<MsrcSummary, WindowsError> {
    let mut summary = MsrcSummary::default();
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tar") || lower.ends_with(".tar.zst") {
        let reader: Box<dyn Read> = if lower.ends_with(".zst") {
            Box::new(zstd::Decoder::new(reader).map_err(|e| WindowsError::read(name, e))?)
        } else {
            reader
        };
        let mut archive = tar::Archive::new(reader);
        let entries = archive.entries().map_err(|e| WindowsError::read(name, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| WindowsError::read(name, e))?;
            let path = entry
                .path()
                .map_err(|e| WindowsError::read(name, e))?
                .to_string_lossy()
                .to_string();
            if !(path.ends_with(".xml") || path.ends_with(".xml.zst")) {
                continue;
            }
            let inner = format!("{name}:{path}");
            let bytes = read_document(&mut entry, &path, &inner)?;
            parse_document(&bytes, &inner, &mut summary, sink)?;
        }
        if summary.documents == 0 {
            return Err(WindowsError::Archive {
                file: name.to_string(),
                message: "no .xml or .xml.zst document inside".into(),
            });
        }
    } else {
        let mut reader = reader;
        let bytes = read_document(&mut reader, &lower, name)?;
        parse_document(&bytes, name, &mut summary, sink)?;
    }
    Ok(summary)
}

fn read_document(
    reader: &mut dyn Read,
    path: &str,
    display: &str,
) -> Result<Vec<u8>, WindowsError> {
    let mut bytes = Vec::new();
    if path.ends_with(".zst") {
        zstd::Decoder::new(reader)
            .and_then(|mut d| d.read_to_end(&mut bytes))
            .map_err(|e| WindowsError::read(display, e))?;
    } else {
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| WindowsError::read(display, e))?;
    }
    Ok(bytes)
}

/// One remediation while it is read.
#[derive(Default)]
struct Remediation {
    vendor_fix: bool,
    description: String,
    url: Option<String>,
    supersedence: String,
    product_ids: Vec<String>,
    restart: Option<bool>,
    subtype: Option<String>,
    fixed_build: Option<String>,
}

/// One vulnerability while it is read.
#[derive(Default)]
struct Vulnerability {
    cve: Option<String>,
    title: Option<String>,
    /// Severity and impact per product id, with `""` for statements without products.
    severity: HashMap<String, String>,
    impact: HashMap<String, String>,
    remediations: Vec<Remediation>,
}

/// Reads one CVRF document.
fn parse_document(
    bytes: &[u8],
    file: &str,
    summary: &mut MsrcSummary,
    sink: &mut dyn FnMut(WindowsFix),
) -> Result<(), WindowsError> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut products: HashMap<String, String> = HashMap::new();
    let mut product_id: Option<String> = None;
    let mut document_id = String::new();
    let mut released: Option<String> = None;
    let mut vulnerability: Option<Vulnerability> = None;
    let mut threat: Option<(String, Vec<String>)> = None;
    let mut threat_text = String::new();
    let mut pending: Vec<Vulnerability> = Vec::new();
    let mut buffer = Vec::new();

    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|error| WindowsError::Xml {
                file: file.to_string(),
                line: line_of(bytes, position as usize),
                message: error.to_string(),
            })?;
        match event {
            Event::Start(start) => {
                let name = local_name(&start);
                open_element(
                    &name,
                    &start,
                    &mut vulnerability,
                    &mut threat,
                    &mut product_id,
                );
                stack.push(name);
                text.clear();
            }
            Event::Empty(start) => {
                let name = local_name(&start);
                open_element(
                    &name,
                    &start,
                    &mut vulnerability,
                    &mut threat,
                    &mut product_id,
                );
                if name == "Remediation" || name == "Vulnerability" {
                    close_element(
                        &name,
                        "",
                        &stack,
                        &mut vulnerability,
                        &mut threat,
                        &mut threat_text,
                        &mut pending,
                    );
                }
            }
            Event::Text(content) => {
                let unescaped = content.unescape().map_err(|error| WindowsError::Xml {
                    file: file.to_string(),
                    line: line_of(bytes, position as usize),
                    message: error.to_string(),
                })?;
                text.push_str(&unescaped);
            }
            Event::CData(content) => text.push_str(&String::from_utf8_lossy(&content)),
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                let value = std::mem::take(&mut text);
                let value = value.trim();
                let parent = stack.last().map(String::as_str).unwrap_or("");
                match (name.as_str(), parent) {
                    ("ID", "Identification") => document_id = value.to_string(),
                    ("InitialReleaseDate", "DocumentTracking") => {
                        released = value.get(..10).map(str::to_string)
                    }
                    ("CurrentReleaseDate", "DocumentTracking") => {
                        let current = value.to_string();
                        if summary.snapshot.as_ref().is_none_or(|s| *s < current) {
                            summary.snapshot = Some(current);
                        }
                    }
                    ("FullProductName", _) => {
                        if let Some(id) = product_id.take() {
                            products.insert(id, value.to_string());
                        }
                    }
                    _ => close_element(
                        &name,
                        value,
                        &stack,
                        &mut vulnerability,
                        &mut threat,
                        &mut threat_text,
                        &mut pending,
                    ),
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }

    summary.documents += 1;
    for vulnerability in pending {
        summary.vulnerabilities += 1;
        emit(
            vulnerability,
            &products,
            &document_id,
            released.as_deref(),
            summary,
            sink,
        );
    }
    Ok(())
}

fn open_element(
    name: &str,
    start: &BytesStart<'_>,
    vulnerability: &mut Option<Vulnerability>,
    threat: &mut Option<(String, Vec<String>)>,
    product_id: &mut Option<String>,
) {
    match name {
        "Vulnerability" => *vulnerability = Some(Vulnerability::default()),
        "FullProductName" => *product_id = attribute(start, b"ProductID"),
        "Threat" => *threat = Some((attribute(start, b"Type").unwrap_or_default(), Vec::new())),
        "Remediation" => {
            if let Some(vulnerability) = vulnerability.as_mut() {
                let vendor_fix = attribute(start, b"Type").as_deref() == Some("Vendor Fix");
                vulnerability.remediations.push(Remediation {
                    vendor_fix,
                    ..Remediation::default()
                });
            }
        }
        _ => {}
    }
}

fn close_element(
    name: &str,
    value: &str,
    stack: &[String],
    vulnerability: &mut Option<Vulnerability>,
    threat: &mut Option<(String, Vec<String>)>,
    threat_text: &mut String,
    pending: &mut Vec<Vulnerability>,
) {
    let parent = stack.last().map(String::as_str).unwrap_or("");
    if name == "Vulnerability" {
        pending.extend(vulnerability.take());
        return;
    }
    let Some(current) = vulnerability.as_mut() else {
        return;
    };
    let value_owned = || Some(value.to_string()).filter(|v| !v.is_empty());
    match (name, parent) {
        ("CVE", "Vulnerability") => current.cve = value_owned(),
        ("Title", "Vulnerability") => current.title = value_owned(),
        ("Description", "Threat") => *threat_text = value.to_string(),
        ("ProductID", "Threat") => {
            if let Some((_, ids)) = threat.as_mut() {
                ids.push(value.to_string());
            }
        }
        ("Threat", _) => {
            if let Some((kind, ids)) = threat.take() {
                let map = match kind.as_str() {
                    "Severity" => &mut current.severity,
                    "Impact" => &mut current.impact,
                    _ => return,
                };
                let text = std::mem::take(threat_text);
                if text.is_empty() {
                    return;
                }
                if ids.is_empty() {
                    map.entry(String::new()).or_insert(text);
                } else {
                    for id in ids {
                        map.insert(id, text.clone());
                    }
                }
            }
        }
        (field, "Remediation") => {
            let Some(remediation) = current.remediations.last_mut() else {
                return;
            };
            match field {
                "Description" => remediation.description = value.to_string(),
                "URL" => remediation.url = value_owned(),
                "Supercedence" => remediation.supersedence = value.to_string(),
                "ProductID" => remediation.product_ids.push(value.to_string()),
                "RestartRequired" => remediation.restart = restart_flag(value),
                "SubType" => remediation.subtype = value_owned(),
                "FixedBuild" => remediation.fixed_build = value_owned(),
                _ => {}
            }
        }
        _ => {}
    }
}

/// Reads `Yes`, `No`, `Maybe` and the like; `None` when it is neither yes nor no.
fn restart_flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn emit(
    vulnerability: Vulnerability,
    products: &HashMap<String, String>,
    document: &str,
    released: Option<&str>,
    summary: &mut MsrcSummary,
    sink: &mut dyn FnMut(WindowsFix),
) {
    let Some(cve) = vulnerability.cve.clone() else {
        return;
    };
    for remediation in &vulnerability.remediations {
        let kb = remediation.description.trim().trim_start_matches("KB");
        if !remediation.vendor_fix || kb.len() < 4 || !kb.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        summary.kb_remediations += 1;
        // Server Core and full installations share a key and the same
        // updates, so each key is emitted once, under the shorter name.
        let mut by_key: std::collections::BTreeMap<String, (&String, &String)> =
            std::collections::BTreeMap::new();
        for id in &remediation.product_ids {
            let Some(product) = products.get(id) else {
                continue;
            };
            let key =
                product_key(product, None, None, None).or_else(|| bundled_product_key(product));
            let Some(key) = key else { continue };
            let entry = by_key.entry(key).or_insert((id, product));
            if product.len() < entry.1.len() {
                *entry = (id, product);
            }
        }
        for (key, (id, product)) in by_key {
            let statement =
                |map: &HashMap<String, String>| map.get(id).or_else(|| map.get("")).cloned();
            summary.fixes += 1;
            sink(WindowsFix {
                source: FixSource::MsrcCvrf,
                cve: cve.clone(),
                product_key: key,
                product: product.clone(),
                kb: kb.to_string(),
                fixed_build: remediation.fixed_build.clone(),
                supersedes: kb_numbers(&remediation.supersedence),
                restart_required: remediation.restart,
                subtype: remediation.subtype.clone(),
                severity: statement(&vulnerability.severity),
                impact: statement(&vulnerability.impact),
                title: vulnerability.title.clone(),
                released: released.map(str::to_string),
                document: document.to_string(),
                url: remediation.url.clone(),
            });
        }
    }
}

fn local_name(start: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(start.local_name().as_ref()).into_owned()
}

fn attribute(start: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn line_of(bytes: &[u8], position: usize) -> usize {
    bytes[..position.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}
