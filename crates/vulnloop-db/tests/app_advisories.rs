//! Application advisories built from the real Wordfence and FriendsOfPHP
//! snapshots, as `db update --from DIR` finds them, and read back.

#![allow(clippy::unwrap_used)]

use vulnloop_db::{update, Database, FeedOrigin, Progress};
use vulnloop_inventory::AppEcosystem;

struct Quiet;

impl Progress for Quiet {
    fn file_started(&mut self, _: &str, _: Option<u64>) {}
    fn bytes_downloaded(&mut self, _: u64) {}
    fn file_finished(&mut self, _: &str, _: usize) {}
}

#[test]
fn application_feeds_imported_from_directory() {
    let feeds = tempfile::tempdir().unwrap();
    for relative in [
        "feeds/wordpress-wordfence/wordfence-vulns-from-nuclei-wordfence-cve.jsonl.zst",
        "feeds/composer-friendsofphp/friendsofphp-security-advisories.tar.zst",
    ] {
        let source = vulnloop_testdata::data_file(relative);
        std::os::unix::fs::symlink(&source, feeds.path().join(source.file_name().unwrap()))
            .unwrap();
    }
    let db_dir = tempfile::tempdir().unwrap();
    let db_path = db_dir.path().join("advisories.db");
    let report = update(
        &db_path,
        &FeedOrigin::Directory(feeds.path().to_path_buf()),
        &mut Quiet,
    )
    .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let kinds: Vec<&str> = report
        .imported
        .iter()
        .map(|(_, kind, _)| kind.as_str())
        .collect();
    assert_eq!(kinds.len(), 2, "{:?}", report.imported);
    assert!(
        kinds.contains(&"wordfence") && kinds.contains(&"friendsofphp"),
        "{kinds:?}"
    );

    let database = Database::open(&db_path).unwrap();
    let core = database
        .app_advisories(AppEcosystem::WordpressCore, "wordpress")
        .unwrap();
    assert_eq!(core.len(), 378);
    let akismet = database
        .app_advisories(AppEcosystem::WordpressPlugin, "akismet")
        .unwrap();
    assert!(
        akismet.iter().any(|a| a.ranges[0].fixed() == Some("3.1.5")),
        "{akismet:?}"
    );
    // Composer names are looked up without regard to case.
    let pma = database
        .app_advisories(AppEcosystem::Packagist, "phpMyAdmin/phpMyAdmin")
        .unwrap();
    assert!(pma.iter().any(|a| a.cves == ["CVE-2020-10802"]), "{pma:?}");
    assert!(database
        .app_advisories(AppEcosystem::Npm, "akismet")
        .unwrap()
        .is_empty());
    let sources: Vec<String> = database
        .sources()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(
        sources.contains(&"wordfence".to_string()) && sources.contains(&"friendsofphp".to_string()),
        "{sources:?}"
    );
}
