//! `vulnloop db update` from a directory and from a mirror on loopback.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use common::{code, stderr, stdout, vulnloop};

/// A static file server on 127.0.0.1 for the shared data directory.
struct Mirror {
    url: String,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl Mirror {
    /// Serves `root`, or fails every feed download after `cut_after` bytes when set.
    fn start(root: PathBuf, cut_after: Option<usize>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"));
        let url = format!("http://{}", server.server_addr().to_ip().expect("an IP listener"));
        let worker = Arc::clone(&server);
        let thread = std::thread::spawn(move || {
            for request in worker.incoming_requests() {
                let relative = request.url().trim_start_matches('/').to_string();
                let path = root.join(&relative);
                let bytes = match std::fs::read(&path) {
                    Ok(bytes) if !relative.contains("..") => bytes,
                    _ => {
                        let _ = request.respond(tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404));
                        continue;
                    }
                };
                // A cut response announces the full length and then closes early,
                // like a connection that drops mid-transfer.
                let full_length = bytes.len();
                let sent = match cut_after {
                    Some(limit) if relative != "SHA256SUMS" => bytes[..limit.min(full_length)].to_vec(),
                    _ => bytes,
                };
                let response = tiny_http::Response::new(
                    tiny_http::StatusCode(200),
                    Vec::new(),
                    std::io::Cursor::new(sent),
                    Some(full_length),
                    None,
                );
                let _ = request.respond(response);
            }
        });
        Self { url, server, thread: Some(thread) }
    }
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
        if relative_paths.iter().any(|p| line.ends_with(&format!("  {p}"))) {
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
    let mirror = Mirror::start(vulnloop_testdata::data_dir(), None);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");

    let output = vulnloop(&["db", "update", "--mirror", &mirror.url, "--db", db.to_str().unwrap()]);

    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let status = db_status(&db);
    for source in ["debian-oval", "ubuntu-oval", "osv", "debian-security-support"] {
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
    let mirror = Mirror::start(dir.path().to_path_buf(), None);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");

    let output = vulnloop(&["db", "update", "--mirror", &mirror.url, "--db", db.to_str().unwrap()]);

    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("SHA-256 mismatch"), "{}", stderr(&output));
    assert!(!db.exists(), "nothing imported, so no database is written");
}

#[test]
fn truncated_download_keeps_previous_database() {
    let relative = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";
    let dir = mirror_dir(&[relative]);
    let good = Mirror::start(dir.path().to_path_buf(), None);
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("advisories.db");
    let first = vulnloop(&["db", "update", "--mirror", &good.url, "--db", db.to_str().unwrap()]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let before = std::fs::read(&db).unwrap();

    let broken = Mirror::start(dir.path().to_path_buf(), Some(4096));
    let second = vulnloop(&["db", "update", "--mirror", &broken.url, "--db", db.to_str().unwrap()]);

    assert_eq!(code(&second), 2);
    assert!(stderr(&second).contains(relative), "{}", stderr(&second));
    assert_eq!(std::fs::read(&db).unwrap(), before, "the previous database stays in place");
}

#[test]
fn directory_update_reports_counts() {
    let feeds = common::feed_dir(&["feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst"]);
    let work = tempfile::tempdir().unwrap();
    let db = common::build_db(feeds.path(), work.path());

    let status = db_status(&db);

    assert!(status.contains("osv"), "{status}");
    assert!(status.contains("2299"), "all 2,299 records counted:\n{status}");
}

#[test]
fn export_then_import_scans_alike() {
    let host = common::ChangelogHost::new();
    let feeds = common::feed_dir(&["feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst"]);
    let work = tempfile::tempdir().unwrap();
    let db = common::build_db(feeds.path(), work.path());
    let bundle = work.path().join("vulnloop-db.tar.zst");
    let imported = work.path().join("airgap/advisories.db");

    let export = vulnloop(&["db", "export", bundle.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    let import = vulnloop(&["db", "import", bundle.to_str().unwrap(), "--db", imported.to_str().unwrap()]);
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
    let export = vulnloop(&["db", "export", bundle.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert_eq!(code(&export), 0, "{}", stderr(&export));
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&bundle, &bytes[..bytes.len() / 2]).unwrap();
    let before = std::fs::read(&db).unwrap();

    let import = vulnloop(&["db", "import", bundle.to_str().unwrap(), "--db", db.to_str().unwrap()]);

    assert_eq!(code(&import), 2);
    assert!(stderr(&import).contains("is not a usable database bundle"), "{}", stderr(&import));
    assert_eq!(std::fs::read(&db).unwrap(), before, "the current database is untouched");
}
