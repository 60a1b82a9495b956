//! Damaged and mismatched enrichment input: every failure is a
//! [`FeedError`] that names the file (and the line where there is one),
//! never a panic.

use std::io::{Cursor, Read, Write};

use vulnloop_advisory::Enrichment;
use vulnloop_feeds::{parse_enrichment_reader, parse_reader, FeedError, FeedKind, FeedSummary};

fn parse(
    bytes: Vec<u8>,
    name: &str,
    kind: FeedKind,
) -> (Result<FeedSummary, FeedError>, Vec<Enrichment>) {
    let mut records = Vec::new();
    let result = parse_enrichment_reader(Box::new(Cursor::new(bytes)), name, kind, &mut |record| {
        records.push(record)
    });
    (result, records)
}

fn expect_error(result: Result<FeedSummary, FeedError>) -> FeedError {
    match result {
        Ok(summary) => panic!("expected an error, got {summary:?}"),
        Err(error) => error,
    }
}

/// Reads the first `count` lines of the real CVE JSON 5 JSON Lines file.
fn cve5_lines(count: usize) -> Vec<String> {
    let path = vulnloop_testdata::data_file("feeds/cve5-vulnrichment/cve5-vulnrichment.jsonl.zst");
    let reader = vulnloop_testdata::open_decompressed(&path)
        .unwrap_or_else(|error| panic!("cannot open: {error}"));
    let lines = std::io::BufRead::lines(std::io::BufReader::new(reader)).take(count);
    lines
        .map(|line| line.unwrap_or_else(|error| panic!("cannot read: {error}")))
        .collect()
}

#[test]
fn truncated_gzip_names_file() {
    let path = vulnloop_testdata::data_file("feeds/nvd-json-1.1/nvdcve-1.1-recent.json.gz");
    let mut bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read: {error}"));
    bytes.truncate(bytes.len() / 2);
    let (result, records) = parse(bytes, "nvdcve-1.1-recent.json.gz", FeedKind::NvdJson11);
    let error = expect_error(result);
    assert!(matches!(error, FeedError::Read { .. }), "{error:?}");
    assert!(
        error.to_string().contains("nvdcve-1.1-recent.json.gz"),
        "{error}"
    );
    assert!(error.to_string().contains("download it again"), "{error}");
    assert!(
        !records.is_empty(),
        "the records before the cut are handed over"
    );
}

#[test]
fn garbled_nvd_json_names_line() {
    let path = vulnloop_testdata::data_file("feeds/nvd-json-1.1/nvdcve-1.1-recent.json.gz");
    let mut text = String::new();
    let read = vulnloop_testdata::open_decompressed(&path)
        .and_then(|mut reader| reader.read_to_string(&mut text));
    assert!(read.is_ok(), "cannot read {}", path.display());
    // Drop the colon after a key in the middle of the document.
    let middle = text.len() / 2;
    let Some(offset) = text[middle..].find("\"cve\" :") else {
        panic!("no cve key after the middle")
    };
    let at = middle + offset + "\"cve\" ".len();
    text.replace_range(at..at + 1, " ");
    let line = text[..at].lines().count();

    let (result, _) = parse(
        text.into_bytes(),
        "nvdcve-1.1-recent.json",
        FeedKind::NvdJson11,
    );
    match expect_error(result) {
        FeedError::Json {
            file, line: found, ..
        } => {
            assert_eq!(file, "nvdcve-1.1-recent.json");
            assert_eq!(found, line);
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
}

#[test]
fn garbled_json_line_names_line() {
    let mut lines = cve5_lines(4);
    lines[2] = lines[2][..lines[2].len() / 2].to_string();
    let (result, records) = parse(
        lines.join("\n").into_bytes(),
        "records.jsonl",
        FeedKind::Cve5,
    );
    let error = expect_error(result);
    assert!(
        matches!(error, FeedError::Json { line: 3, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("records.jsonl line 3 "),
        "{error}"
    );
    assert_eq!(records.len(), 2, "the two lines before the damage are read");
}

#[test]
fn json_line_of_other_shape_skipped() {
    let mut lines = cve5_lines(3);
    lines.insert(1, r#"{"hello": "world"}"#.to_string());
    lines.insert(2, String::new());
    let (result, records) = parse(
        lines.join("\n").into_bytes(),
        "records.jsonl",
        FeedKind::Cve5,
    );
    let summary = result.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(records.len(), 3);
    assert_eq!(summary.skipped.len(), 1, "{:?}", summary.skipped);
    assert!(
        summary.skipped[0].contains("(line 2)"),
        "{:?}",
        summary.skipped
    );
}

#[test]
fn epss_non_number_names_line() {
    let text = "cve,epss\nCVE-2020-5902,0.5\nCVE-2020-5903,abc\n";
    let (result, _) = parse(
        text.as_bytes().to_vec(),
        "epss_scores-2024-01-01.csv",
        FeedKind::Epss,
    );
    let error = expect_error(result);
    assert!(matches!(error, FeedError::Csv { line: 3, .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("epss_scores-2024-01-01.csv line 3: "),
        "{message}"
    );
    assert!(message.contains("\"abc\""), "{message}");
}

#[test]
fn epss_without_header_rejected() {
    let (result, _) = parse(
        b"CVE-2020-5902,0.5\n".to_vec(),
        "epss_scores-2024-01-01.csv",
        FeedKind::Epss,
    );
    let error = expect_error(result);
    assert!(matches!(error, FeedError::Csv { line: 1, .. }), "{error:?}");
    let (empty, _) = parse(Vec::new(), "epss_scores-2024-01-01.csv", FeedKind::Epss);
    assert!(matches!(expect_error(empty), FeedError::NotFeed { .. }));
}

#[test]
fn kev_schema_is_not_catalog() {
    let path =
        vulnloop_testdata::data_file("feeds/cisa-kev/known_exploited_vulnerabilities_schema.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read: {error}"));
    let (result, _) = parse(
        bytes,
        "known_exploited_vulnerabilities_schema.json",
        FeedKind::CisaKev,
    );
    let error = expect_error(result);
    assert!(matches!(error, FeedError::NotFeed { .. }), "{error:?}");
    assert!(
        error.to_string().contains("no vulnerabilities array"),
        "{error}"
    );
}

#[test]
fn feed_groups_not_mixed() {
    let mut advisories = 0;
    let advisory = parse_reader(
        Box::new(Cursor::new(b"{}".to_vec())),
        "nvdcve-1.1-recent.json",
        FeedKind::NvdJson11,
        &mut |_| advisories += 1,
    );
    let error = advisory
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
    assert!(error.contains("parse_enrichment_file"), "{error}");

    let (enrichment, _) = parse(b"{}".to_vec(), "DSA-1-1.json", FeedKind::Osv);
    let error = expect_error(enrichment).to_string();
    assert!(
        error.contains("DSA-1-1.json") && error.contains("parse_file"),
        "{error}"
    );
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files {
        let started = writer.start_file(*name, options);
        assert!(started.is_ok(), "cannot start {name}");
        assert!(writer.write_all(content).is_ok(), "cannot write {name}");
    }
    match writer.finish() {
        Ok(cursor) => cursor.into_inner(),
        Err(error) => panic!("cannot finish the zip: {error}"),
    }
}

#[test]
fn zip_of_one_file_read() {
    let kev = br#"{"catalogVersion": "2025.01.01", "vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "knownRansomwareCampaignUse": "Known"}]}"#;
    let (result, records) = parse(
        zip_of(&[("known_exploited_vulnerabilities.json", kev)]),
        "kev.json.zip",
        FeedKind::CisaKev,
    );
    let summary = result.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(summary.snapshot.as_deref(), Some("2025.01.01"));
    assert_eq!(records.len(), 1);

    let two = zip_of(&[("a.json", kev), ("b.json", kev)]);
    let (result, _) = parse(two, "kev.json.zip", FeedKind::CisaKev);
    let error = expect_error(result).to_string();
    assert!(
        error.contains("kev.json.zip") && error.contains("2 files"),
        "{error}"
    );

    let (damaged, _) = parse(
        b"PK\x03\x04garbage".to_vec(),
        "kev.json.zip",
        FeedKind::CisaKev,
    );
    let error = expect_error(damaged);
    assert!(matches!(error, FeedError::Archive { .. }), "{error:?}");

    // Advisory feeds are not read from a zip.
    let advisory = parse_reader(
        Box::new(Cursor::new(two_files())),
        "DSA-1-1.json.zip",
        FeedKind::Osv,
        &mut |_| {},
    );
    assert!(
        matches!(advisory, Err(FeedError::UnsupportedFormat { .. })),
        "{advisory:?}"
    );
}

fn two_files() -> Vec<u8> {
    zip_of(&[("a.json", b"{}"), ("b.json", b"{}")])
}

#[test]
fn kev_entry_without_cve_skipped() {
    let kev = br#"{"dateReleased": "2025-01-01T00:00:00Z", "vulnerabilities": [{"cveID": "not a CVE", "dateAdded": "2021-12-10"}, {"cveID": "CVE-2021-44228"}, {"cveID": "CVE-2021-45046", "dateAdded": "2021-12-14", "knownRansomwareCampaignUse": "Maybe"}]}"#;
    let (result, records) = parse(
        kev.to_vec(),
        "known_exploited_vulnerabilities.json",
        FeedKind::CisaKev,
    );
    let summary = result.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(summary.skipped.len(), 2, "{:?}", summary.skipped);
    let [Enrichment::Kev(entry)] = &records[..] else {
        panic!("expected one KEV entry, got {records:?}")
    };
    assert_eq!(entry.known_ransomware_use, None);
}

#[test]
fn invalid_vector_dropped_and_counted() {
    let line = r#"{"cveMetadata": {"cveId": "CVE-2024-0001", "state": "PUBLISHED"}, "containers": {"cna": {"providerMetadata": {"shortName": "x"}, "metrics": [{"cvssV3_1": {"vectorString": "CVSS:3.1/AV:N/AC:Q"}}, {"cvssV2_0": {"vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}}]}}}"#;
    let (result, records) = parse(
        line.as_bytes().to_vec(),
        "CVE-2024-0001.json",
        FeedKind::Cve5,
    );
    let summary = result.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(summary.records, 1);
    assert_eq!(summary.skipped.len(), 1, "{:?}", summary.skipped);
    assert!(
        summary.skipped[0].contains("CVE-2024-0001") && summary.skipped[0].contains("AC:Q"),
        "{:?}",
        summary.skipped
    );
    let [Enrichment::Cve(record)] = &records[..] else {
        panic!("expected one CVE record, got {records:?}")
    };
    assert_eq!(record.cvss.len(), 1);
    assert_eq!(record.cvss[0].base_score, 7.5);
}
