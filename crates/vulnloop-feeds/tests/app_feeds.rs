//! Application feeds on the real Wordfence and FriendsOfPHP snapshots.

use vulnloop_advisory::{AppAdvisory, Operator, Severity};
use vulnloop_feeds::{parse_app_file, parse_app_reader, FeedKind};
use vulnloop_inventory::AppEcosystem;

fn read(relative: &str, kind: FeedKind) -> (Vec<AppAdvisory>, vulnloop_feeds::FeedSummary) {
    let path = vulnloop_testdata::data_file(relative);
    let mut advisories = Vec::new();
    let summary = parse_app_file(&path, kind, &mut |advisory| advisories.push(advisory))
        .expect("feed parses");
    (advisories, summary)
}

#[test]
fn wordfence_snapshot_read() {
    let (advisories, summary) = read(
        "feeds/wordpress-wordfence/wordfence-vulns-from-nuclei-wordfence-cve.jsonl.zst",
        FeedKind::Wordfence,
    );
    // 39,163 records; the few whose constraints are not versions are skipped and counted.
    let skipped: usize = summary.skipped.len();
    assert!(
        summary.records > 39_100,
        "{} records, skipped {:?}",
        summary.records,
        summary.skipped
    );
    assert_eq!(summary.records, advisories.len());
    assert!(skipped <= 5, "{:?}", summary.skipped);
    let count = |ecosystem| {
        advisories
            .iter()
            .filter(|a| a.ecosystem == ecosystem)
            .count()
    };
    assert_eq!(count(AppEcosystem::WordpressCore), 378);
    assert!(count(AppEcosystem::WordpressPlugin) > 36_000);
    assert!(count(AppEcosystem::WordpressTheme) > 2_500);

    let first = advisories
        .iter()
        .find(|a| a.id == "0534bc03-5d7d-47fe-9c07-c9a61af38df2")
        .expect("CVE-2003-1598 record");
    assert_eq!(first.package, "wordpress");
    assert_eq!(first.cves, ["CVE-2003-1598"]);
    assert_eq!(first.severity, Severity::High);
    assert_eq!(first.ranges.len(), 1);
    assert_eq!(first.ranges[0].bounds[0].operator, Operator::Less);
    assert_eq!(first.ranges[0].fixed(), Some("0.72"));
}

#[test]
fn friendsofphp_snapshot_read() {
    let (advisories, summary) = read(
        "feeds/composer-friendsofphp/friendsofphp-security-advisories.tar.zst",
        FeedKind::FriendsOfPhp,
    );
    assert!(
        summary.records >= 1_580,
        "{} records, skipped {:?}",
        summary.records,
        summary.skipped
    );
    assert!(summary.snapshot.is_some());
    let pmasa = advisories
        .iter()
        .find(|a| a.package == "phpmyadmin/phpmyadmin" && a.cves == ["CVE-2020-10802"])
        .expect("PMASA-2020-3");
    assert_eq!(pmasa.ecosystem, AppEcosystem::Packagist);
    assert_eq!(
        pmasa.url.as_deref(),
        Some("https://www.phpmyadmin.net/security/PMASA-2020-3/")
    );
    let ranges: Vec<String> = pmasa.ranges.iter().map(ToString::to_string).collect();
    assert_eq!(ranges, [">= 4.9.0, < 4.9.5", ">= 5.0.0, < 5.0.2"]);
    assert!(
        advisories
            .iter()
            .filter(|a| a.package == "mediawiki/core")
            .count()
            >= 20
    );
}

#[test]
fn broken_wordfence_line_named() {
    let text = "{\"wordfence_id\": \"x\", \"software_type\": \"plugin\", \"slug\": \"a\", \"affected_version_constraints\": [[\"< 1.0\"]]}\n{broken\n";
    let error = parse_app_reader(
        Box::new(text.as_bytes()),
        "wf.jsonl",
        FeedKind::Wordfence,
        &mut |_| {},
    )
    .expect_err("rejects");
    assert!(error.to_string().contains("wf.jsonl line 2"), "{error}");
}

#[test]
fn bad_constraint_skipped_and_counted() {
    let text = "{\"wordfence_id\": \"bad\", \"software_type\": \"plugin\", \"slug\": \"a\", \"affected_version_constraints\": [[\"=< 1.0\"]]}\n";
    let mut records = 0;
    let summary = parse_app_reader(
        Box::new(text.as_bytes()),
        "wf.jsonl",
        FeedKind::Wordfence,
        &mut |_| records += 1,
    )
    .expect("parses");
    assert_eq!(records, 0);
    assert_eq!(summary.skipped.len(), 1);
    assert!(
        summary.skipped[0].contains("unknown operator \"=<\""),
        "{:?}",
        summary.skipped
    );
}

#[test]
fn broken_yaml_named() {
    let error = parse_app_reader(
        Box::new("title: [unclosed\n".as_bytes()),
        "x.yaml",
        FeedKind::FriendsOfPhp,
        &mut |_| {},
    )
    .expect_err("rejects");
    let message = error.to_string();
    assert!(
        message.contains("x.yaml") && message.contains("FriendsOfPHP advisory YAML"),
        "{message}"
    );
}
