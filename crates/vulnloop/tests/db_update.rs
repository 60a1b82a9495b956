//! `vulnloop db update` from a directory and from a mirror on loopback.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use common::{code, stderr, stdout, vulnloop, vulnloop_auto_update};

/// How the mirror fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    None,
    /// Feed file downloads announce the full length and close after this many bytes.
    Cut(usize),
    /// Every request, `SHA256SUMS` included, gets `500 Internal Server Error`.
    Status500,
}

/// One response of the mirror.
#[derive(Debug, Clone)]
struct Served {
    path: String,
    status: u16,
    body_bytes: usize,
}

/// A static file server on 127.0.0.1 that responds to conditional requests with
/// `ETag` and `Last-Modified` as a real static server does, and logs every response.
struct Mirror {
    url: String,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    failure: Arc<Mutex<Failure>>,
    served: Arc<Mutex<Vec<Served>>>,
}

impl Mirror {
    fn start(root: PathBuf, failure: Failure) -> Self {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"));
        let url = format!(
            "http://{}",
            server.server_addr().to_ip().expect("an IP listener")
        );
        let failure = Arc::new(Mutex::new(failure));
        let served = Arc::new(Mutex::new(Vec::new()));
        let (worker, mode, log) = (
            Arc::clone(&server),
            Arc::clone(&failure),
            Arc::clone(&served),
        );
        let thread = std::thread::spawn(move || {
            for request in worker.incoming_requests() {
                let relative = request.url().trim_start_matches('/').to_string();
                let mode = *mode.lock().unwrap();
                let (status, body, full_length, headers) =
                    respond(&root, &relative, &request, mode);
                log.lock().unwrap().push(Served {
                    path: relative,
                    status,
                    body_bytes: body.len(),
                });
                let response = tiny_http::Response::new(
                    tiny_http::StatusCode(status),
                    headers,
                    std::io::Cursor::new(body),
                    full_length,
                    None,
                );
                let _ = request.respond(response);
            }
        });
        Self {
            url,
            server,
            thread: Some(thread),
            failure,
            served,
        }
    }

    fn set_failure(&self, failure: Failure) {
        *self.failure.lock().unwrap() = failure;
    }

    /// Returns the responses sent so far and clears the log.
    fn take_served(&self) -> Vec<Served> {
        std::mem::take(&mut *self.served.lock().unwrap())
    }
}

/// Builds the response to one request: status, body, announced length and headers.
fn respond(
    root: &Path,
    relative: &str,
    request: &tiny_http::Request,
    failure: Failure,
) -> (u16, Vec<u8>, Option<usize>, Vec<tiny_http::Header>) {
    let is_index = relative == "SHA256SUMS";
    if failure == Failure::Status500 {
        return (500, b"internal server error".to_vec(), None, Vec::new());
    }
    let path = root.join(relative);
    let (Ok(metadata), false) = (std::fs::metadata(&path), relative.contains("..")) else {
        return (404, b"not found".to_vec(), None, Vec::new());
    };
    let modified = chrono::DateTime::<chrono::Utc>::from(metadata.modified().unwrap());
    let etag = format!("\"{:x}-{:x}\"", modified.timestamp(), metadata.len());
    let last_modified = modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let headers = vec![
        tiny_http::Header::from_bytes("ETag", etag.as_bytes()).unwrap(),
        tiny_http::Header::from_bytes("Last-Modified", last_modified.as_bytes()).unwrap(),
    ];
    let header = |name: &str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.to_string().eq_ignore_ascii_case(name))
            .map(|h| h.value.to_string())
    };
    // If-None-Match decides when present; If-Modified-Since counts only without it.
    let not_modified = match (header("If-None-Match"), header("If-Modified-Since")) {
        (Some(tags), _) => tags
            .split(',')
            .any(|tag| tag.trim() == etag || tag.trim() == "*"),
        (None, Some(since)) => chrono::DateTime::parse_from_rfc2822(&since)
            .is_ok_and(|since| modified.timestamp() <= since.timestamp()),
        (None, None) => false,
    };
    if not_modified {
        return (304, Vec::new(), None, headers);
    }
    let bytes = std::fs::read(&path).unwrap();
    let full_length = bytes.len();
    // A cut response announces the full length and then closes early,
    // like a connection that drops mid-transfer.
    let body = match failure {
        Failure::Cut(limit) if !is_index => bytes[..limit.min(full_length)].to_vec(),
        _ => bytes,
    };
    (200, body, Some(full_length), headers)
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Creates a mirror directory with a SHA256SUMS index over a subset of the shared feeds.
fn mirror_dir(relative_paths: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let index = std::fs::read_to_string(vulnloop_testdata::data_file("SHA256SUMS")).unwrap();
    let mut kept = String::new();
    for line in index.lines() {
        if relative_paths
            .iter()
            .any(|p| line.ends_with(&format!("  {p}")))
        {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    for relative in relative_paths {
        let target = dir.path().join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(vulnloop_testdata::data_file(relative), target).unwrap();
    }
    std::fs::write(dir.path().join("SHA256SUMS"), kept).unwrap();
    dir
}

fn db_status(db: &Path) -> String {
    stdout(&vulnloop(&["db", "status", "--db", db.to_str().unwrap()]))
}

#[test]
fn mirror_serving_shared_data_builds_database() {
    let mirror = Mirror::start(vulnloop_testdata::data_dir(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");

    let output = vulnloop(&[
        "db",
        "update",
        "--mirror",
        &mirror.url,
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let status = db_status(&db);
    for source in [
        "debian-oval",
        "ubuntu-oval",
        "osv",
        "debian-security-support",
    ] {
        assert!(status.contains(source), "{source} missing from:\n{status}");
    }
    assert!(status.contains("debian:12"), "{status}");
    assert!(status.contains("ubuntu:22.04"), "{status}");
}

#[test]
fn checksum_mismatch_rejected() {
    let relative = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";
    let dir = mirror_dir(&[relative]);
    let sums = dir.path().join("SHA256SUMS");
    let tampered = format!("{}  {relative}\n", "0".repeat(64));
    std::fs::write(&sums, tampered).unwrap();
    let mirror = Mirror::start(dir.path().to_path_buf(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");

    let output = vulnloop(&[
        "db",
        "update",
        "--mirror",
        &mirror.url,
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("SHA-256 mismatch"),
        "{}",
        stderr(&output)
    );
    assert!(!db.exists(), "nothing imported, so no database is written");
}

#[test]
fn truncated_download_keeps_previous_database() {
    let relative = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";
    let dir = mirror_dir(&[relative]);
    let good = Mirror::start(dir.path().to_path_buf(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");
    let first = vulnloop(&[
        "db",
        "update",
        "--mirror",
        &good.url,
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let before = std::fs::read(&db).unwrap();

    let broken = Mirror::start(dir.path().to_path_buf(), Failure::Cut(4096));
    let second = vulnloop(&[
        "db",
        "update",
        "--mirror",
        &broken.url,
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_eq!(code(&second), 2);
    assert!(stderr(&second).contains(relative), "{}", stderr(&second));
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the previous database stays in place"
    );
}

#[test]
fn directory_update_reports_counts() {
    let feeds = common::feed_dir(&["feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst"]);
    let work = tempfile::tempdir().unwrap();
    let db = common::build_db(feeds.path(), work.path());

    let status = db_status(&db);

    assert!(status.contains("osv"), "{status}");
    assert!(
        status.contains("2299"),
        "all 2,299 records counted:\n{status}"
    );
}

#[test]
fn export_then_import_scans_alike() {
    let host = common::ChangelogHost::new();
    let feeds = common::feed_dir(&["feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst"]);
    let work = tempfile::tempdir().unwrap();
    let db = common::build_db(feeds.path(), work.path());
    let bundle = work.path().join("vulnloop-db.tar.zst");
    let imported = work.path().join("airgap/advisories.db");

    let export = vulnloop(&[
        "db",
        "export",
        bundle.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    let import = vulnloop(&[
        "db",
        "import",
        bundle.to_str().unwrap(),
        "--db",
        imported.to_str().unwrap(),
    ]);
    let (_, original) = common::scan_json(host.root.path(), &db, &[]);
    let (_, copy) = common::scan_json(host.root.path(), &imported, &[]);

    assert_eq!(code(&export), 0, "{}", stderr(&export));
    assert_eq!(code(&import), 0, "{}", stderr(&import));
    assert_eq!(common::findings(&copy), common::findings(&original));
}

#[test]
fn damaged_bundle_keeps_current_database() {
    let feeds = common::feed_dir(&["feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst"]);
    let work = tempfile::tempdir().unwrap();
    let db = common::build_db(feeds.path(), work.path());
    let bundle = work.path().join("vulnloop-db.tar.zst");
    let export = vulnloop(&[
        "db",
        "export",
        bundle.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code(&export), 0, "{}", stderr(&export));
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&bundle, &bytes[..bytes.len() / 2]).unwrap();
    let before = std::fs::read(&db).unwrap();

    let import = vulnloop(&[
        "db",
        "import",
        bundle.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_eq!(code(&import), 2);
    assert!(
        stderr(&import).contains("is not a usable database bundle"),
        "{}",
        stderr(&import)
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the current database is untouched"
    );
}

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";
const ROCKY_9: &str = "feeds/rocky-oval/org.rockylinux.rlsa-9.xml.zst";
const ROCKY_8: &str = "feeds/rocky-oval/org.rockylinux.rlsa-8.xml.zst";

/// Serves the content of the shared file `replacement` under the name `served`,
/// with the matching line in the mirror's SHA256SUMS.
fn swap_served_file(mirror_dir: &Path, served: &str, replacement: &str) {
    let link = mirror_dir.join(served);
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(vulnloop_testdata::data_file(replacement), &link).unwrap();
    let shared = std::fs::read_to_string(vulnloop_testdata::data_file("SHA256SUMS")).unwrap();
    let digest = shared
        .lines()
        .find(|l| l.ends_with(&format!("  {replacement}")))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let sums_path = mirror_dir.join("SHA256SUMS");
    let sums = std::fs::read_to_string(&sums_path).unwrap();
    let rewritten: String = sums
        .lines()
        .map(|line| {
            if line.ends_with(&format!("  {served}")) {
                format!("{digest}  {served}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&sums_path, rewritten).unwrap();
    // The ETag has whole seconds of the modification time, as nginx's does,
    // so a rewrite within the same second must not keep the old tag.
    let later = std::fs::metadata(&sums_path).unwrap().modified().unwrap()
        + std::time::Duration::from_secs(2);
    std::fs::File::options()
        .write(true)
        .open(&sums_path)
        .unwrap()
        .set_modified(later)
        .unwrap();
}

fn meta(db: &Path, key: &str) -> Option<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
        row.get(0)
    })
    .ok()
}

fn set_built_at(db: &Path, value: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute("UPDATE meta SET value = ?1 WHERE key = 'built_at'", [value])
        .unwrap();
}

fn update_from(mirror: &Mirror, db: &Path) -> std::process::Output {
    vulnloop(&[
        "db",
        "update",
        "--from",
        &mirror.url,
        "--db",
        db.to_str().unwrap(),
    ])
}

fn body_bytes(served: &[Served], path: &str) -> usize {
    served
        .iter()
        .filter(|s| s.path == path)
        .map(|s| s.body_bytes)
        .sum()
}

/// Returns the cache index of `db` as JSON.
fn cache_index(db: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(db.with_file_name("advisories.db.cache/index.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn unchanged_mirror_transfers_nothing() {
    let host = common::ChangelogHost::new();
    let dir = mirror_dir(&[CHANGELOG_OSV, ROCKY_9]);
    let mirror = Mirror::start(dir.path().to_path_buf(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");
    let first = update_from(&mirror, &db);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let built_at = meta(&db, "built_at");
    let (_, before) = common::scan_json(host.root.path(), &db, &[]);
    let first_served = mirror.take_served();

    let second = update_from(&mirror, &db);
    let served = mirror.take_served();

    assert_eq!(code(&second), 0, "{}", stderr(&second));
    assert!(
        first_served.iter().all(|s| s.status == 200),
        "{first_served:?}"
    );
    assert_eq!(served.len(), 3, "SHA256SUMS and two feed files: {served:?}");
    assert!(
        served.iter().all(|s| s.status == 304),
        "every file answered 304: {served:?}"
    );
    assert_eq!(served.iter().map(|s| s.body_bytes).sum::<usize>(), 0);
    assert!(
        stderr(&second).contains("is up to date"),
        "{}",
        stderr(&second)
    );
    assert!(
        stderr(&second).contains(&format!(
            "unchanged {}/{CHANGELOG_OSV} (304 Not Modified)",
            mirror.url
        )),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        meta(&db, "built_at"),
        built_at,
        "the database was not rebuilt"
    );
    assert!(
        meta(&db, "checked_at").is_some(),
        "the check time is recorded"
    );
    assert!(
        db_status(&db).contains("checked unchanged: "),
        "{}",
        db_status(&db)
    );
    let (_, after) = common::scan_json(host.root.path(), &db, &[]);
    assert_eq!(common::findings(&after), common::findings(&before));
    assert!(!common::findings(&after).is_empty());
    assert!(
        before["database"]["checked_at"].is_null(),
        "{}",
        before["database"]
    );
    assert_eq!(
        after["database"]["checked_at"].as_str(),
        meta(&db, "checked_at").as_deref()
    );
}

#[test]
fn changed_file_alone_downloaded_again() {
    let dir = mirror_dir(&[CHANGELOG_OSV, ROCKY_9]);
    let mirror = Mirror::start(dir.path().to_path_buf(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");
    let first = update_from(&mirror, &db);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let rocky_line = |status: &str| {
        status
            .lines()
            .find(|l| l.starts_with("rocky-oval"))
            .map(String::from)
    };
    let rocky_before = rocky_line(&db_status(&db)).unwrap();
    mirror.take_served();
    swap_served_file(dir.path(), ROCKY_9, ROCKY_8);

    let second = update_from(&mirror, &db);
    let served = mirror.take_served();

    assert_eq!(code(&second), 0, "{}", stderr(&second));
    let rocky_8_size = std::fs::metadata(vulnloop_testdata::data_file(ROCKY_8))
        .unwrap()
        .len() as usize;
    assert_eq!(
        body_bytes(&served, ROCKY_9),
        rocky_8_size,
        "the changed file is downloaded in full: {served:?}"
    );
    assert_eq!(
        body_bytes(&served, CHANGELOG_OSV),
        0,
        "the unchanged file is not: {served:?}"
    );
    assert!(
        served
            .iter()
            .any(|s| s.path == CHANGELOG_OSV && s.status == 304),
        "{served:?}"
    );
    let expected = format!("downloaded {}/{ROCKY_9} ({rocky_8_size} bytes)", mirror.url);
    assert!(stderr(&second).contains(&expected), "{}", stderr(&second));
    let status = db_status(&db);
    // The release comes from the served file name, so only the counts and snapshot show the new content.
    let rocky_after = rocky_line(&status).unwrap();
    assert_ne!(
        rocky_after, rocky_before,
        "the new file was imported:\n{status}"
    );
    assert!(
        rocky_after.split_whitespace().nth(1) == Some("64"),
        "the 64 definitions of the RHEL 8 file:\n{status}"
    );
    assert!(
        status.contains("2299"),
        "the cached file was imported again:\n{status}"
    );
}

#[test]
fn failed_download_keeps_database_and_cache() {
    for failure in [Failure::Cut(4096), Failure::Status500] {
        let host = common::ChangelogHost::new();
        let dir = mirror_dir(&[CHANGELOG_OSV, ROCKY_9]);
        let mirror = Mirror::start(dir.path().to_path_buf(), Failure::None);
        let work = tempfile::tempdir().unwrap();
        let db = work.path().join("advisories.db");
        let first = update_from(&mirror, &db);
        assert_eq!(code(&first), 0, "{}", stderr(&first));
        let (_, before) = common::scan_json(host.root.path(), &db, &[]);
        let bytes_before = std::fs::read(&db).unwrap();
        let index_before = cache_index(&db);
        swap_served_file(dir.path(), ROCKY_9, ROCKY_8);
        mirror.set_failure(failure);

        let second = update_from(&mirror, &db);

        assert_eq!(code(&second), 2, "{failure:?}: {}", stderr(&second));
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes_before,
            "{failure:?}: the database is unchanged, byte for byte"
        );
        let (exit, after) = common::scan_json(host.root.path(), &db, &[]);
        assert_eq!(
            exit, 1,
            "{failure:?}: the scan with the kept database works"
        );
        assert_eq!(common::findings(&after), common::findings(&before));
        let rocky_url = format!("{}/{ROCKY_9}", mirror.url);
        assert_eq!(
            cache_index(&db)["entries"][&rocky_url],
            index_before["entries"][&rocky_url],
            "{failure:?}: the cache still lists the earlier, complete file"
        );
        let cache = db.with_file_name("advisories.db.cache");
        let leftovers: Vec<_> = walk(&cache)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(".download-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{failure:?}: partial downloads left in the cache: {leftovers:?}"
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Builds a database from a one-file mirror and marks it as built in 2020.
fn stale_database(mirror: &Mirror, work: &Path) -> PathBuf {
    let db = work.join("advisories.db");
    let built = update_from(mirror, &db);
    assert_eq!(code(&built), 0, "{}", stderr(&built));
    set_built_at(&db, "2020-01-01T00:00:00Z");
    mirror.take_served();
    db
}

fn auto_update_scan(
    root: &Path,
    db: &Path,
    mirror: &Mirror,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "scan",
        "--root",
        root.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(&["--update-from", &mirror.url]);
    args.extend_from_slice(extra);
    vulnloop_auto_update(&args)
}

#[test]
fn stale_database_refreshed_before_scan() {
    let host = common::ChangelogHost::new();
    let dir = mirror_dir(&[CHANGELOG_OSV]);
    let mirror = Mirror::start(dir.path().to_path_buf(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = stale_database(&mirror, work.path());

    let output = auto_update_scan(host.root.path(), &db, &mirror, &[]);

    assert_eq!(
        code(&output),
        1,
        "findings, and no stale database note: {}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("updating it from http://127.0.0.1:"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        mirror.take_served().len(),
        2,
        "SHA256SUMS and the feed file were checked"
    );
    assert!(meta(&db, "checked_at").is_some());
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(
        !report["coverage"]["notes"].to_string().contains("days"),
        "{}",
        report["coverage"]
    );
}

#[test]
fn offline_scan_skips_update() {
    let host = common::ChangelogHost::new();
    let dir = mirror_dir(&[CHANGELOG_OSV]);
    let mirror = Mirror::start(dir.path().to_path_buf(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = stale_database(&mirror, work.path());

    let output = auto_update_scan(host.root.path(), &db, &mirror, &["--offline"]);

    assert_eq!(
        code(&output),
        2,
        "the stale database makes coverage incomplete: {}",
        stderr(&output)
    );
    assert!(
        mirror.take_served().is_empty(),
        "--offline sends no request"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let notes = report["coverage"]["notes"].to_string();
    assert!(notes.contains(" days "), "{notes}");
    assert!(notes.contains(" hours old (limit 7 days)"), "{notes}");
    assert!(notes.contains("vulnloop db update --db"), "{notes}");
}

#[test]
fn fresh_database_not_checked() {
    let host = common::ChangelogHost::new();
    let dir = mirror_dir(&[CHANGELOG_OSV]);
    let mirror = Mirror::start(dir.path().to_path_buf(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = stale_database(&mirror, work.path());
    set_built_at(
        &db,
        &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );

    let within = auto_update_scan(
        host.root.path(),
        &db,
        &mirror,
        &["--auto-update-after", "24"],
    );
    let served_within = mirror.take_served();
    let always = auto_update_scan(
        host.root.path(),
        &db,
        &mirror,
        &["--auto-update-after", "0"],
    );

    assert_eq!(code(&within), 1, "{}", stderr(&within));
    assert!(
        served_within.is_empty(),
        "a database younger than the limit is not checked: {served_within:?}"
    );
    assert_eq!(code(&always), 1, "{}", stderr(&always));
    assert_eq!(
        mirror.take_served().len(),
        2,
        "0 hours checks before every scan"
    );
}

#[test]
fn failing_auto_update_scans_old_database() {
    let host = common::ChangelogHost::new();
    let dir = mirror_dir(&[CHANGELOG_OSV]);
    let mirror = Mirror::start(dir.path().to_path_buf(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = stale_database(&mirror, work.path());
    let bytes_before = std::fs::read(&db).unwrap();
    mirror.set_failure(Failure::Status500);

    let output = auto_update_scan(host.root.path(), &db, &mirror, &[]);

    assert_eq!(code(&output), 2, "stale database: {}", stderr(&output));
    assert!(
        stderr(&output).contains("warning: the automatic database update from http://127.0.0.1:"),
        "{}",
        stderr(&output)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(
        !common::findings(&report).is_empty(),
        "the scan ran with the old database"
    );
    assert!(
        report["coverage"]["notes"]
            .to_string()
            .contains("hours old"),
        "{}",
        report["coverage"]
    );
    assert_eq!(std::fs::read(&db).unwrap(), bytes_before);
}

#[test]
fn offline_missing_database_named() {
    let host = common::ChangelogHost::new();
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("absent.db");

    let output = vulnloop(&[
        "scan",
        "--root",
        host.root.path().to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);

    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("advisory database not found at"),
        "{}",
        stderr(&output)
    );
    assert!(!db.exists());
}

#[test]
fn unreadable_download_not_cached() {
    let dir = mirror_dir(&[CHANGELOG_OSV, ROCKY_9]);
    // A zstd-compressed XML file where the name promises an OSV tar archive.
    swap_served_file(dir.path(), CHANGELOG_OSV, ROCKY_8);
    let mirror = Mirror::start(dir.path().to_path_buf(), Failure::None);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");

    let first = update_from(&mirror, &db);
    mirror.take_served();
    let second = update_from(&mirror, &db);
    let served = mirror.take_served();

    assert_eq!(code(&first), 2, "{}", stderr(&first));
    assert!(
        stderr(&first).contains(&format!(
            "feed {}/{CHANGELOG_OSV} was not imported",
            mirror.url
        )),
        "{}",
        stderr(&first)
    );
    let osv_url = format!("{}/{CHANGELOG_OSV}", mirror.url);
    assert!(
        cache_index(&db)["entries"].get(&osv_url).is_none(),
        "{}",
        cache_index(&db)
    );
    let rocky_8_size = std::fs::metadata(vulnloop_testdata::data_file(ROCKY_8))
        .unwrap()
        .len() as usize;
    assert_eq!(
        body_bytes(&served, CHANGELOG_OSV),
        rocky_8_size,
        "downloaded in full again: {served:?}"
    );
    assert_eq!(body_bytes(&served, ROCKY_9), 0, "{served:?}");
    assert_eq!(code(&second), 2, "{}", stderr(&second));
}
