//! The web console in headless Chromium: the real `vulnloop server` on
//! loopback, the real `vulnloop agent` uploading the captured Debian 12 host,
//! and Debian's chromium driven over WebDriver by chromedriver.
//!
//! Screenshots of each page are kept under
//! `$CARGO_TARGET_TMPDIR/console-screenshots/` for a person to look at.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use common::{build_db, code, feed_dir, stderr, vulnloop, ChangelogHost};
use serde_json::{json, Value};
use webdriver::{browser_paths, Browser};

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";
const HOST_NAME: &str = "debian12-web";

/// A `vulnloop server` child on a free loopback port, killed on drop.
struct ServerProcess {
    child: Child,
    url: String,
    admin_token: String,
    _data: tempfile::TempDir,
}

impl ServerProcess {
    fn start(advisory_db: Option<&Path>) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_vulnloop"));
        command
            .args(["server", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data.path());
        if let Some(path) = advisory_db {
            command.arg("--advisory-db").arg(path);
        }
        let common::server::Started {
            child,
            url,
            admin_token,
            ..
        } = common::server::start(&mut command);

        let admin_token = admin_token.expect("the first start printed no admin token");
        Self {
            child,
            url,
            admin_token,
            _data: data,
        }
    }

    fn post_api(&self, path: &str, body: &Value) -> Value {
        let response = ureq::post(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {}", self.admin_token))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
            .unwrap_or_else(|error| panic!("POST {path} failed: {error}"));
        serde_json::from_str(&response.into_string().unwrap()).unwrap()
    }

    fn get_api(&self, path: &str) -> Value {
        let response = ureq::get(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {}", self.admin_token))
            .call()
            .unwrap_or_else(|error| panic!("GET {path} failed: {error}"));
        serde_json::from_str(&response.into_string().unwrap()).unwrap()
    }

    /// Creates a user with `role` and returns its API token.
    fn create_user(&self, name: &str, role: &str) -> String {
        let created = self.post_api("/api/v1/users", &json!({ "name": name, "role": role }));
        created["token"].as_str().unwrap().to_string()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server with an advisory database built from the Debian 12 changelog
/// feed, and the captured Debian 12 host uploaded by a real agent.
struct Fleet {
    server: ServerProcess,
    host: ChangelogHost,
    db: PathBuf,
    host_id: String,
    _work: tempfile::TempDir,
}

impl Fleet {
    fn start() -> Self {
        let host = ChangelogHost::new();
        let feeds = feed_dir(&[CHANGELOG_OSV]);
        let work = tempfile::tempdir().unwrap();
        let db = build_db(feeds.path(), work.path());
        let output = vulnloop(&[
            "inventory",
            "--root",
            host.root.path().to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(code(&output), 0, "inventory failed: {}", stderr(&output));
        let inventory = work.path().join("inventory.json");
        std::fs::write(&inventory, &output.stdout).unwrap();

        let server = ServerProcess::start(Some(&db));
        let enrollment = server.post_api("/api/v1/enrollment-tokens", &json!({}));
        let state_dir = work.path().join("agent");
        let output = vulnloop(&[
            "agent",
            "--server",
            &server.url,
            "--enroll",
            enrollment["token"].as_str().unwrap(),
            "--state-dir",
            state_dir.to_str().unwrap(),
            "--once",
            "--inventory",
            inventory.to_str().unwrap(),
            "--name",
            HOST_NAME,
        ]);
        assert_eq!(code(&output), 0, "agent failed: {}", stderr(&output));
        let hosts = server.get_api("/api/v1/hosts");
        let host_id = hosts["hosts"][0]["id"].as_str().unwrap().to_string();
        Self {
            server,
            host,
            db,
            host_id,
            _work: work,
        }
    }

    /// Returns the openssl vulnerability ids that a local scan of the host reports.
    fn openssl_vulnerabilities(&self) -> Vec<String> {
        let (_, report) = common::scan_json(self.host.root.path(), &self.db, &[]);
        let ids: Vec<String> = common::findings(&report)
            .into_iter()
            .filter(|f| f.package == "openssl")
            .map(|f| f.id)
            .collect();
        assert!(
            !ids.is_empty(),
            "the local scan found no openssl vulnerability"
        );
        ids
    }
}

fn start_browser() -> Option<Browser> {
    let (driver, chromium) = browser_paths()?;
    Some(Browser::start(&driver, &chromium))
}

fn screenshot(browser: &Browser, name: &str) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("console-screenshots")
        .join(format!("{name}.png"));
    browser.screenshot(&path);
}

fn log_in(browser: &Browser, server: &ServerProcess, token: &str) {
    browser.goto(&format!("{}/console/login", server.url));
    browser.find("#token").type_text(token);
    browser.find("form.login button").submit();
}

#[test]
fn login_rejects_bad_tokens() {
    let Some(browser) = start_browser() else {
        return;
    };
    let server = ServerProcess::start(None);

    browser.goto(&format!("{}/console", server.url));
    assert!(
        browser.url().ends_with("/console/login"),
        "{}",
        browser.url()
    );
    screenshot(&browser, "login");

    log_in(&browser, &server, "not-a-token");
    assert!(
        browser.url().ends_with("/console/login"),
        "{}",
        browser.url()
    );
    let message = browser.find("p.error").text();
    assert!(message.contains("not a user API token"), "{message}");

    // Well formed, but no such token exists.
    log_in(
        &browser,
        &server,
        &format!("vlu_{}_{}", "0".repeat(32), "1".repeat(64)),
    );
    let message = browser.find("p.error").text();
    assert!(message.contains("unknown, revoked or wrong"), "{message}");
    screenshot(&browser, "login-rejected");
    assert!(browser.cookie("vulnloop_session").is_none());

    // The admin token logs in, and logging out ends the session.
    log_in(&browser, &server, &server.admin_token);
    assert!(browser.url().ends_with("/console"), "{}", browser.url());
    let cookie = browser
        .cookie("vulnloop_session")
        .expect("no session cookie after login");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    browser.find("form.logout button").submit();
    assert!(
        browser.url().ends_with("/console/login"),
        "{}",
        browser.url()
    );
    browser.goto(&format!("{}/console/hosts", server.url));
    assert!(
        browser.url().ends_with("/console/login"),
        "{}",
        browser.url()
    );
}

/// Sends a form POST with the browser's session cookie, as a forged request would.
fn forged_post(
    server: &ServerProcess,
    path: &str,
    session_cookie: &str,
    form: &[(&str, &str)],
) -> u16 {
    let response = ureq::post(&format!("{}{path}", server.url))
        .set("Cookie", &format!("vulnloop_session={session_cookie}"))
        .send_form(form);
    match response {
        Ok(response) => response.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(error) => panic!("POST {path} failed: {error}"),
    }
}

#[test]
fn viewer_reads_without_fix_button() {
    let Some(browser) = start_browser() else {
        return;
    };
    let fleet = Fleet::start();
    let server = &fleet.server;
    let viewer = server.create_user("vera", "viewer");
    let openssl = fleet.openssl_vulnerabilities();

    log_in(&browser, server, &viewer);
    assert!(browser.url().ends_with("/console"), "{}", browser.url());
    let overview = browser.text();
    assert!(overview.contains("vera (viewer)"), "{overview}");
    assert!(overview.contains(HOST_NAME), "{overview}");
    assert!(
        browser.find_all("a[href='/console/settings']").is_empty(),
        "a viewer sees the settings link"
    );
    screenshot(&browser, "viewer-overview");

    browser.goto(&format!("{}/console/hosts/{}", server.url, fleet.host_id));
    let host_page = browser.text();
    assert!(host_page.contains("debian:12"), "{host_page}");
    assert!(host_page.contains(&openssl[0]), "{host_page}");
    screenshot(&browser, "viewer-host");

    let finding = format!(
        "{}/console/finding?host={}&vulnerability={}&package=openssl",
        server.url, fleet.host_id, openssl[0]
    );
    browser.goto(&finding);
    let finding_page = browser.text();
    assert!(
        finding_page.contains("apt-get install --only-upgrade -y"),
        "{finding_page}"
    );
    assert!(finding_page.contains("dpkg"), "{finding_page}");
    assert!(
        browser.find_all("form.action button").is_empty(),
        "a viewer sees action buttons"
    );
    screenshot(&browser, "viewer-finding");

    browser.goto(&format!("{}/console/settings", server.url));
    assert!(browser.text().contains("403"), "{}", browser.text());

    // Forged POSTs with the viewer's own session: without the CSRF token,
    // and with it on an operator's action.
    let cookie = browser.cookie("vulnloop_session").unwrap();
    let cookie = cookie["value"].as_str().unwrap();
    assert_eq!(forged_post(server, "/console/logout", cookie, &[]), 403);
    assert_eq!(
        forged_post(server, "/console/logout", cookie, &[("csrf", "00")]),
        403
    );
    browser.goto(&finding);
    let csrf = browser.find("input[name=csrf]").property("value").unwrap();
    let fix_form = [
        ("csrf", csrf.as_str()),
        ("host", fleet.host_id.as_str()),
        ("vulnerability", openssl[0].as_str()),
        ("package", "openssl"),
    ];
    assert_eq!(
        forged_post(server, "/console/finding/fix", cookie, &fix_form),
        403
    );
    assert_eq!(
        forged_post(server, "/console/finding/verify", cookie, &fix_form),
        403
    );
    let ignore_form = [
        ("csrf", csrf.as_str()),
        ("host", fleet.host_id.as_str()),
        ("vulnerability", openssl[0].as_str()),
        ("package", "openssl"),
        ("reason", "forged"),
        ("scope", "all"),
    ];
    assert_eq!(
        forged_post(server, "/console/finding/ignore", cookie, &ignore_form),
        403
    );
    browser.goto(&finding);
    assert!(
        browser.url().contains("/console/finding"),
        "the forged logout ended the session"
    );
    let status = browser.find("#status").text();
    assert!(status.contains("unfixed"), "{status}");
}

#[test]
fn console_lists_openssl_affected_host() {
    let Some(browser) = start_browser() else {
        return;
    };
    let fleet = Fleet::start();
    let server = &fleet.server;
    let openssl = fleet.openssl_vulnerabilities();

    log_in(&browser, server, &server.admin_token);
    browser.goto(&format!("{}/console/vulnerabilities", server.url));
    browser.find("#q").type_text("openssl");
    browser.find("form.filter button").submit();
    assert!(browser.url().contains("q=openssl"), "{}", browser.url());
    screenshot(&browser, "vulnerabilities-openssl");
    let rows = browser.find_all("table.vulnerabilities tbody tr");
    let mut listed = Vec::new();
    for row in &rows {
        let text = row.text();
        let id = text.split_whitespace().next().unwrap().to_string();
        assert!(text.contains(HOST_NAME), "{text}");
        listed.push(id);
    }
    for id in &openssl {
        assert!(listed.contains(id), "{id} is not listed: {listed:?}");
    }

    // Each openssl vulnerability page lists the host as affected.
    for id in &openssl {
        browser.goto(&format!("{}/console/vulnerabilities/{id}", server.url));
        let affected = browser.find_all("tr.affected");
        assert_eq!(affected.len(), 1, "{id}: {}", browser.text());
        assert!(affected[0].text().contains(HOST_NAME), "{id}");
    }
    screenshot(&browser, "vulnerability");

    browser.goto(&format!("{}/console/tasks", server.url));
    screenshot(&browser, "tasks");
    browser.goto(&format!("{}/console/settings", server.url));
    let settings = browser.text();
    assert!(settings.contains("/api/v1/hosts"), "{settings}");
    assert!(settings.contains("used up"), "{settings}");
    screenshot(&browser, "settings");
}

#[test]
fn operator_fix_shows_fixing_task() {
    let Some(browser) = start_browser() else {
        return;
    };
    let fleet = Fleet::start();
    let server = &fleet.server;
    let operator = server.create_user("otto", "operator");
    let openssl = fleet.openssl_vulnerabilities();

    log_in(&browser, server, &operator);
    browser.goto(&format!(
        "{}/console/vulnerabilities/{}",
        server.url, openssl[0]
    ));
    browser
        .find("tr.affected a[href^='/console/finding']")
        .submit();
    assert!(
        browser.url().contains("/console/finding"),
        "{}",
        browser.url()
    );
    assert!(
        browser.find("#status").text().contains("unfixed"),
        "{}",
        browser.text()
    );
    browser.find("button.fix").submit();

    // The page reloads with the finding fixing and the queued fix task.
    assert!(
        browser.url().contains("/console/finding"),
        "{}",
        browser.url()
    );
    let status = browser.find("#status").text();
    assert!(status.contains("fixing"), "{status}");
    let tasks = browser.find_all("tr.task");
    assert_eq!(tasks.len(), 1, "{}", browser.text());
    let task = tasks[0].text();
    assert!(task.contains("fix"), "{task}");
    assert!(task.contains("queued"), "{task}");
    assert!(
        browser.find_all("button.fix").is_empty(),
        "the fix button is still shown while fixing"
    );
    screenshot(&browser, "finding-fixing");

    // The API reports the same status, and the tasks page lists the task.
    let findings = server.get_api(&format!("/api/v1/hosts/{}/findings", fleet.host_id));
    let finding = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["vulnerability_id"] == openssl[0].as_str() && f["package"] == "openssl")
        .unwrap()
        .clone();
    assert_eq!(finding["status"], "fixing", "{finding}");
    browser.goto(&format!("{}/console/tasks", server.url));
    let rows = browser.find_all("tr.task");
    assert_eq!(rows.len(), 1, "{}", browser.text());
    assert!(rows[0].text().contains(HOST_NAME), "{}", rows[0].text());
    screenshot(&browser, "tasks-fixing");
    browser.goto(&format!("{}/console", server.url));
    assert!(browser.text().contains("Fixes in progress"));
    screenshot(&browser, "overview-fixing");

    // Ignoring another openssl finding for this host.
    let other = &openssl[1];
    browser.goto(&format!(
        "{}/console/finding?host={}&vulnerability={other}&package=openssl",
        server.url, fleet.host_id
    ));
    browser
        .find("#reason")
        .type_text("accepted until the next maintenance window");
    browser.find("button.ignore").submit();
    let status = browser.find("#status").text();
    assert!(status.contains("ignored"), "{status}");
    screenshot(&browser, "finding-ignored");
}
