//! Re-matching on real data: the captured Debian 12 host against advisory
//! databases built from the Debian 12 changelog feed, before and after its
//! openssl records are removed.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sqlx::Row;
use tower::ServiceExt;
use vulnloop_inventory::Inventory;
use vulnloop_server::rematch::rematch_changed;
use vulnloop_server::{app, AppState, Store};

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";

struct Quiet;

impl vulnloop_db::Progress for Quiet {
    fn file_started(&mut self, _name: &str, _size: Option<u64>) {}
    fn bytes_downloaded(&mut self, _bytes: u64) {}
    fn file_finished(&mut self, _name: &str, _records: usize) {}
}

fn build_db(feeds: &Path, db: &Path) {
    let origin = vulnloop_db::FeedOrigin::Directory(feeds.to_path_buf());
    let report = vulnloop_db::update(db, &origin, &mut Quiet).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
}

/// Returns whether an OSV record speaks about the source package openssl.
fn is_openssl_record(path: &Path) -> bool {
    let record: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    record["affected"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|affected| affected["package"]["name"] == "openssl")
}

/// Writes the changelog feed without its openssl records as a new archive in `out`.
fn feed_without_openssl(unpacked: &Path, work: &Path, out: &Path) -> usize {
    let source = unpacked.join("debian12-changelog-osv");
    let copy = work.join("trimmed/debian12-changelog-osv");
    std::fs::create_dir_all(copy.join("osv")).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    let mut removed = 0;
    for entry in std::fs::read_dir(source.join("osv")).unwrap() {
        let path = entry.unwrap().path();
        if is_openssl_record(&path) {
            removed += 1;
        } else {
            std::fs::copy(&path, copy.join("osv").join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::create_dir_all(out).unwrap();
    let status = std::process::Command::new("tar")
        .args(["--zstd", "-cf"])
        .arg(out.join("debian12-changelog-osv.tar.zst"))
        .arg("-C")
        .arg(work.join("trimmed"))
        .arg("debian12-changelog-osv")
        .status()
        .unwrap();
    assert!(status.success());
    removed
}

/// Collects the captured Debian 12 host from the feed's dpkg status and os-release.
fn captured_host(unpacked: &Path, work: &Path) -> Inventory {
    let base = unpacked.join("debian12-changelog-osv");
    let root = work.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::copy(base.join("host-os-release"), root.join("etc/os-release")).unwrap();
    std::fs::copy(
        base.join("host-dpkg-status"),
        root.join("var/lib/dpkg/status"),
    )
    .unwrap();
    let options = vulnloop_collect::CollectOptions {
        root,
        os_override: None,
    };
    vulnloop_collect::collect(&options).unwrap()
}

async fn send(
    state: &AppState,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: String,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app(state.clone())
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Enrolls a host and uploads `inventory` for it; returns the host id.
async fn enroll_and_upload(state: &AppState, admin: &str, name: &str, inventory: &str) -> String {
    let (status, token) = send(
        state,
        Method::POST,
        "/api/v1/enrollment-tokens",
        Some(admin),
        "{}".to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let enroll = json!({ "enrollment_token": token["token"], "name": name }).to_string();
    let (status, enrolled) = send(state, Method::POST, "/api/v1/agents/enroll", None, enroll).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let agent = enrolled["agent_token"].as_str().unwrap();
    let (status, summary) = send(
        state,
        Method::PUT,
        "/api/v1/agents/self/inventory",
        Some(agent),
        inventory.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["matched"], true, "{summary}");
    enrolled["host_id"].as_str().unwrap().to_string()
}

/// Returns (package, status) of each finding of a host.
async fn findings(state: &AppState, host_id: &str) -> Vec<(String, String)> {
    let rows = sqlx::query("SELECT package, status FROM findings WHERE host_id = $1 ORDER BY package, vulnerability_id")
        .bind(host_id)
        .fetch_all(state.store.pool())
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get("package").unwrap(),
                row.try_get("status").unwrap(),
            )
        })
        .collect()
}

/// A server on the database built from the changelog feed, with two hosts
/// that have openssl and two without it, and a second database built from
/// the feed without its openssl records.
struct Fixture {
    _unpacked: tempfile::TempDir,
    _work: tempfile::TempDir,
    state: AppState,
    live_db: std::path::PathBuf,
    old_db: std::path::PathBuf,
    new_db: std::path::PathBuf,
    with_openssl: Vec<String>,
    without_openssl: Vec<String>,
}

impl Fixture {
    async fn new() -> Self {
        let unpacked = vulnloop_testdata::unpack(CHANGELOG_OSV);
        let work = tempfile::tempdir().unwrap();

        let old_feeds = work.path().join("old-feeds");
        std::fs::create_dir_all(&old_feeds).unwrap();
        let archive = vulnloop_testdata::data_file(CHANGELOG_OSV);
        std::os::unix::fs::symlink(archive, old_feeds.join("debian12-changelog-osv.tar.zst"))
            .unwrap();
        let live_db = work.path().join("advisories.db");
        build_db(&old_feeds, &live_db);
        let old_db = work.path().join("old.db");
        std::fs::copy(&live_db, &old_db).unwrap();
        let new_feeds = work.path().join("new-feeds");
        let removed = feed_without_openssl(unpacked.path(), work.path(), &new_feeds);
        assert!(removed > 0, "the changelog feed has no openssl record");
        let new_db = work.path().join("new.db");
        build_db(&new_feeds, &new_db);

        let full = captured_host(unpacked.path(), work.path());
        let mut trimmed = full.clone();
        trimmed
            .packages
            .retain(|package| package.source_name() != "openssl");
        assert!(trimmed.packages.len() < full.packages.len());
        let full = serde_json::to_string(&full).unwrap();
        let trimmed = serde_json::to_string(&trimmed).unwrap();

        let url = format!(
            "sqlite://{}?mode=rwc",
            work.path().join("server.db").display()
        );
        let store = Store::connect(&url).await.unwrap();
        let admin = store.create_first_admin().await.unwrap().unwrap();
        let state = AppState::new(store, Some(live_db.clone()));
        let with_openssl = vec![
            enroll_and_upload(&state, &admin, "web1", &full).await,
            enroll_and_upload(&state, &admin, "web2", &full).await,
        ];
        let without_openssl = vec![
            enroll_and_upload(&state, &admin, "db1", &trimmed).await,
            enroll_and_upload(&state, &admin, "db2", &trimmed).await,
        ];
        Fixture {
            _unpacked: unpacked,
            _work: work,
            state,
            live_db,
            old_db,
            new_db,
            with_openssl,
            without_openssl,
        }
    }

    /// Replaces the live database the way `vulnloop db update` does: a rename.
    fn swap_database(&self) {
        std::fs::rename(&self.new_db, &self.live_db).unwrap();
    }

    async fn rematched_hosts(&self) -> Vec<String> {
        let rows = sqlx::query(
            "SELECT target FROM audit_log WHERE action = 'host.rematch' ORDER BY target",
        )
        .fetch_all(self.state.store.pool())
        .await
        .unwrap();
        rows.iter()
            .map(|row| row.try_get("target").unwrap())
            .collect()
    }

    /// Checks that the openssl findings of the hosts with openssl are closed,
    /// and that the other findings and hosts are as before.
    async fn check_findings(&self, untouched_before: &[(String, String)]) {
        for host_id in &self.with_openssl {
            let after = findings(&self.state, host_id).await;
            let openssl: Vec<&(String, String)> = after
                .iter()
                .filter(|(package, _)| package == "openssl")
                .collect();
            assert!(!openssl.is_empty());
            assert!(
                openssl
                    .iter()
                    .all(|(_, status)| status == "no_longer_present"),
                "{openssl:?}"
            );
            let others = after.iter().filter(|(package, _)| package != "openssl");
            assert!(
                others.clone().all(|(_, status)| status == "unfixed"),
                "{after:?}"
            );
        }
        for host_id in &self.without_openssl {
            assert_eq!(findings(&self.state, host_id).await, untouched_before);
        }
        let mut expected = self.with_openssl.clone();
        expected.sort();
        assert_eq!(self.rematched_hosts().await, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rematch_touches_only_changed_hosts() {
    let fixture = Fixture::new().await;
    let before = findings(&fixture.state, &fixture.with_openssl[0]).await;
    assert!(
        before
            .iter()
            .any(|(package, status)| package == "openssl" && status == "unfixed"),
        "{before:?}"
    );
    let untouched_before = findings(&fixture.state, &fixture.without_openssl[0]).await;

    fixture.swap_database();
    let summary = rematch_changed(&fixture.state, &fixture.old_db, &fixture.live_db)
        .await
        .unwrap();
    assert_eq!(summary.hosts_rematched, 2, "{summary:?}");
    assert_eq!(summary.hosts_unchanged, 2, "{summary:?}");
    assert_eq!(summary.hosts_failed, 0, "{summary:?}");
    assert_eq!(summary.changed_releases, 0, "{summary:?}");
    assert!(summary.changed_packages > 0, "{summary:?}");
    fixture.check_findings(&untouched_before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_rematches_after_file_change() {
    let fixture = Fixture::new().await;
    let untouched_before = findings(&fixture.state, &fixture.without_openssl[0]).await;
    // Two watchers on one server database stand for two servers: only one
    // may re-match each host.
    let watchers: Vec<_> = (0..2)
        .map(|_| {
            vulnloop_server::rematch::spawn_watch(
                &fixture.state,
                std::time::Duration::from_millis(100),
            )
            .unwrap()
        })
        .collect();
    // Let the watcher open the database it compares against before the swap.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    fixture.swap_database();

    // Wait for the re-match, at most 60 seconds; this bounds the test, it does not measure speed.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while fixture.rematched_hosts().await.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watcher did not re-match within 60 seconds"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Give a second re-match time to show up if the claim let one through.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    for watcher in watchers {
        watcher.abort();
    }
    fixture.check_findings(&untouched_before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_database_rematches_nothing() {
    let unpacked = vulnloop_testdata::unpack(CHANGELOG_OSV);
    let work = tempfile::tempdir().unwrap();
    let feeds = work.path().join("feeds");
    std::fs::create_dir_all(&feeds).unwrap();
    std::os::unix::fs::symlink(
        vulnloop_testdata::data_file(CHANGELOG_OSV),
        feeds.join("debian12-changelog-osv.tar.zst"),
    )
    .unwrap();
    let live_db = work.path().join("advisories.db");
    build_db(&feeds, &live_db);
    // A rebuild from the same feed makes a new file with the same records.
    let rebuilt = work.path().join("rebuilt.db");
    build_db(&feeds, &rebuilt);

    let inventory = serde_json::to_string(&captured_host(unpacked.path(), work.path())).unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        work.path().join("server.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    let admin = store.create_first_admin().await.unwrap().unwrap();
    let state = AppState::new(store, Some(live_db.clone()));
    enroll_and_upload(&state, &admin, "web1", &inventory).await;

    let summary = rematch_changed(&state, &live_db, &rebuilt).await.unwrap();
    assert_eq!(summary.changed_packages, 0, "{summary:?}");
    assert_eq!(summary.hosts_rematched, 0, "{summary:?}");
    assert_eq!(summary.hosts_unchanged, 1, "{summary:?}");
}

/// A host whose package names are not stored, as after the migration that
/// moved them into the host row, is matched again after any change, and
/// that match stores its names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_without_stored_names_is_rematched() {
    let fixture = Fixture::new().await;
    let unknown = &fixture.without_openssl[0];
    sqlx::query("UPDATE hosts SET package_release = NULL, package_names = NULL WHERE id = $1")
        .bind(unknown)
        .execute(fixture.state.store.pool())
        .await
        .unwrap();

    fixture.swap_database();
    let summary = rematch_changed(&fixture.state, &fixture.old_db, &fixture.live_db)
        .await
        .unwrap();
    assert_eq!(summary.hosts_rematched, 3, "{summary:?}");
    assert_eq!(summary.hosts_unchanged, 1, "{summary:?}");
    let rematched = fixture.rematched_hosts().await;
    assert!(rematched.contains(unknown), "{rematched:?}");

    let row = sqlx::query("SELECT package_release, package_names FROM hosts WHERE id = $1")
        .bind(unknown)
        .fetch_one(fixture.state.store.pool())
        .await
        .unwrap();
    assert_eq!(
        row.try_get::<Option<String>, _>("package_release")
            .unwrap()
            .as_deref(),
        Some("debian:12")
    );
    let names: Option<String> = row.try_get("package_names").unwrap();
    let names = names.unwrap();
    assert!(names.lines().any(|name| name == "bash"), "{names}");
    assert!(!names.lines().any(|name| name == "openssl"), "{names}");
}
