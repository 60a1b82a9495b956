//! The fleet server and agent as processes on loopback: the real `vulnloop
//! server` with an advisory database built from the Debian 12 changelog feed,
//! and the real `vulnloop agent` uploading the captured Debian 12 host.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command};

use common::{build_db, code, feed_dir, stderr, vulnloop, ChangelogHost};
use serde_json::Value;

const CHANGELOG_OSV: &str = "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst";

/// A `vulnloop server` child on a free loopback port, killed on drop.
struct ServerProcess {
    child: Child,
    url: String,
    admin_token: String,
    /// Lines the server printed on stdout up to the one with its address.
    announced: Vec<String>,
    /// HTTP client of the test's own requests.
    http: ureq::Agent,
    data: tempfile::TempDir,
}

impl ServerProcess {
    fn start(advisory_db: &Path) -> Self {
        Self::start_with(advisory_db, &[])
    }

    /// Starts the server with `extra` arguments, always bound to 127.0.0.1.
    fn start_with(advisory_db: &Path, extra: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let started = common::server::start(
            Command::new(env!("CARGO_BIN_EXE_vulnloop"))
                .args(["server", "--bind", "127.0.0.1:0", "--data-dir"])
                .arg(data.path())
                .arg("--advisory-db")
                .arg(advisory_db)
                .args(extra),
        );
        let common::server::Started {
            child,
            url,
            admin_token,
            announced,
        } = started;

        let admin_token = admin_token.expect("the first start printed no admin token");
        Self {
            child,
            url,
            admin_token,
            announced,
            http: ureq::Agent::new(),
            data,
        }
    }

    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .http
            .get(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {token}"))
            .call();
        read(response)
    }

    fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string());
        read(response)
    }
}

fn read(response: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let response = match response {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("request failed: {error}"),
    };
    let status = response.status();
    (
        status,
        serde_json::from_str(&response.into_string().unwrap()).unwrap(),
    )
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the changelog host's inventory JSON with `vulnloop inventory`.
fn inventory_file(host: &ChangelogHost, dir: &Path) -> std::path::PathBuf {
    let output = vulnloop(&[
        "inventory",
        "--root",
        host.root.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 0, "inventory failed: {}", stderr(&output));
    let path = dir.join("inventory.json");
    std::fs::write(&path, &output.stdout).unwrap();
    path
}

fn run_agent(
    server: &ServerProcess,
    state_dir: &Path,
    inventory: &Path,
    enrollment: &str,
) -> std::process::Output {
    run_agent_with(server, state_dir, inventory, enrollment, &[])
}

fn run_agent_with(
    server: &ServerProcess,
    state_dir: &Path,
    inventory: &Path,
    enrollment: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "agent",
        "--server",
        &server.url,
        "--enroll",
        enrollment,
        "--state-dir",
        state_dir.to_str().unwrap(),
        "--once",
        "--inventory",
        inventory.to_str().unwrap(),
        "--name",
        "debian12-web",
    ];
    args.extend_from_slice(extra);
    vulnloop(&args)
}

#[test]
fn agent_upload_lists_host_under_openssl() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let inventory = inventory_file(&host, work.path());
    let server = ServerProcess::start(&db);

    let (status, enrollment) = server.post(
        "/api/v1/enrollment-tokens",
        &server.admin_token,
        &serde_json::json!({}),
    );
    assert_eq!(status, 201, "{enrollment}");
    let state_dir = work.path().join("agent");
    let output = run_agent(
        &server,
        &state_dir,
        &inventory,
        enrollment["token"].as_str().unwrap(),
    );
    assert_eq!(code(&output), 0, "agent failed: {}", stderr(&output));

    // The agent token is kept private, and the spool is empty after the upload.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state_dir.join("agent.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!state_dir.join("spool/inventory.json").exists());

    let (status, hosts) = server.get("/api/v1/hosts", &server.admin_token);
    assert_eq!(status, 200);
    let hosts = hosts["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    assert_eq!(hosts[0]["name"], "debian12-web");
    assert_eq!(hosts[0]["os"], "debian:12");
    let host_id = hosts[0]["id"].as_str().unwrap();

    // The server's findings for openssl are the ones a local scan reports.
    let (status, findings) = server.get(
        &format!("/api/v1/hosts/{host_id}/findings"),
        &server.admin_token,
    );
    assert_eq!(status, 200);
    let openssl: Vec<&Value> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"] == "openssl")
        .collect();
    let (_, report) = common::scan_json(host.root.path(), &db, &[]);
    let expected: Vec<String> = common::findings(&report)
        .into_iter()
        .filter(|f| f.package == "openssl")
        .map(|f| f.id)
        .collect();
    assert!(
        !expected.is_empty(),
        "the local scan found no openssl vulnerability"
    );
    let mut seen: Vec<String> = openssl
        .iter()
        .map(|f| f["vulnerability_id"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    assert_eq!(seen, expected);
    assert!(
        openssl.iter().all(|f| f["status"] == "unfixed"),
        "{openssl:?}"
    );

    // Each openssl vulnerability lists this host as affected.
    for id in &expected {
        let (status, vulnerability) = server.get(
            &format!("/api/v1/vulnerabilities/{id}"),
            &server.admin_token,
        );
        assert_eq!(status, 200);
        let affected = vulnerability["affected_hosts"].as_array().unwrap();
        assert_eq!(affected.len(), 1, "{id}: {vulnerability}");
        assert_eq!(affected[0]["id"], host_id, "{id}");
    }
}

#[test]
fn upload_without_openssl_closes_its_findings() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let inventory = inventory_file(&host, work.path());
    let server = ServerProcess::start(&db);
    let (_, enrollment) = server.post(
        "/api/v1/enrollment-tokens",
        &server.admin_token,
        &serde_json::json!({}),
    );
    let enrollment = enrollment["token"].as_str().unwrap();
    let state_dir = work.path().join("agent");
    let output = run_agent(&server, &state_dir, &inventory, enrollment);
    assert_eq!(code(&output), 0, "first upload failed: {}", stderr(&output));

    // The same host without the packages built from openssl (as if removed);
    // the agent is enrolled now, so the used-up enrollment token is not needed.
    let mut trimmed: Value = serde_json::from_slice(&std::fs::read(&inventory).unwrap()).unwrap();
    let packages = trimmed["packages"].as_array_mut().unwrap();
    let before = packages.len();
    packages.retain(|package| package["name"] != "openssl" && package["source_name"] != "openssl");
    assert!(
        packages.len() < before,
        "the inventory has no openssl package"
    );
    let trimmed_path = work.path().join("without-openssl.json");
    std::fs::write(&trimmed_path, trimmed.to_string()).unwrap();
    let output = run_agent(&server, &state_dir, &trimmed_path, enrollment);
    assert_eq!(
        code(&output),
        0,
        "second upload failed: {}",
        stderr(&output)
    );

    let (_, hosts) = server.get("/api/v1/hosts", &server.admin_token);
    let host_id = hosts["hosts"][0]["id"].as_str().unwrap().to_string();
    let (_, findings) = server.get(
        &format!("/api/v1/hosts/{host_id}/findings"),
        &server.admin_token,
    );
    let findings = findings["findings"].as_array().unwrap();
    let openssl: Vec<&Value> = findings
        .iter()
        .filter(|f| f["package"] == "openssl")
        .collect();
    assert!(!openssl.is_empty());
    assert!(
        openssl.iter().all(|f| f["status"] == "no_longer_present"),
        "{openssl:?}"
    );
    let others = findings.iter().filter(|f| f["package"] != "openssl");
    assert!(others.clone().count() > 0);
    assert!(
        others.clone().all(|f| f["status"] == "unfixed"),
        "{findings:?}"
    );

    // A host with no open finding for a vulnerability is no longer affected by it.
    let id = openssl[0]["vulnerability_id"].as_str().unwrap();
    let (_, vulnerability) = server.get(
        &format!("/api/v1/vulnerabilities/{id}"),
        &server.admin_token,
    );
    assert_eq!(
        vulnerability["affected_hosts"],
        serde_json::json!([]),
        "{vulnerability}"
    );
}

#[test]
fn agent_spools_when_server_is_down() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let inventory = inventory_file(&host, work.path());
    let server = ServerProcess::start(&db);
    let (_, enrollment) = server.post(
        "/api/v1/enrollment-tokens",
        &server.admin_token,
        &serde_json::json!({}),
    );
    let enrollment = enrollment["token"].as_str().unwrap().to_string();
    let state_dir = work.path().join("agent");
    let output = run_agent(&server, &state_dir, &inventory, &enrollment);
    assert_eq!(code(&output), 0, "first upload failed: {}", stderr(&output));

    // Stop the server; the enrolled agent retries (5 + 10 + 20 seconds of
    // backoff), gives up and leaves the inventory in its spool.
    let url = server.url.clone();
    drop(server);
    let output = vulnloop(&[
        "agent",
        "--server",
        &url,
        "--state-dir",
        state_dir.to_str().unwrap(),
        "--once",
        "--inventory",
        inventory.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("gave up after 3 retries"),
        "{}",
        stderr(&output)
    );
    let spooled = std::fs::read_to_string(state_dir.join("spool/inventory.json")).unwrap();
    let spooled: Value = serde_json::from_str(&spooled).unwrap();
    let original: Value = serde_json::from_slice(&std::fs::read(&inventory).unwrap()).unwrap();
    assert_eq!(spooled, original);
}

#[test]
fn agent_without_enrollment_fails() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let inventory = inventory_file(&host, work.path());
    let server = ServerProcess::start(&db);

    let output = run_agent(&server, &work.path().join("agent"), &inventory, "vle_00_00");
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("HTTP 401"), "{}", stderr(&output));
}

/// Returns an HTTP client that trusts only the certificates in the PEM file `ca_cert`.
fn client_trusting(ca_cert: &Path) -> ureq::Agent {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls::pki_types::CertificateDer::pem_file_iter(ca_cert).unwrap() {
        roots.add(certificate.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    ureq::AgentBuilder::new()
        .tls_config(std::sync::Arc::new(tls))
        .build()
}

#[test]
fn agent_uploads_over_self_signed_tls() {
    let host = ChangelogHost::new();
    let feeds = feed_dir(&[CHANGELOG_OSV]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let inventory = inventory_file(&host, work.path());
    let mut server = ServerProcess::start_with(&db, &["--tls-self-signed"]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    // The key is private, and the printed fingerprint is the certificate's.
    use rustls::pki_types::pem::PemObject;
    use sha2::Digest;
    use std::os::unix::fs::PermissionsExt;
    let cert = server.data.path().join("tls-self-signed-cert.pem");
    let key = server.data.path().join("tls-self-signed-key.pem");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let der = rustls::pki_types::CertificateDer::from_pem_file(&cert).unwrap();
    let digest = sha2::Sha256::digest(der.as_ref());
    let expected = digest
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let printed = format!("TLS certificate SHA-256 fingerprint: {expected}");
    assert!(
        server.announced.contains(&printed),
        "{:?}",
        server.announced
    );

    server.http = client_trusting(&cert);
    let (status, enrollment) = server.post(
        "/api/v1/enrollment-tokens",
        &server.admin_token,
        &serde_json::json!({}),
    );
    assert_eq!(status, 201, "{enrollment}");
    let enrollment = enrollment["token"].as_str().unwrap();
    let state_dir = work.path().join("agent");

    // Without --ca-cert the agent rejects the server and its error names --ca-cert.
    let output = run_agent(&server, &state_dir, &inventory, enrollment);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("TLS certificate is not trusted"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("--ca-cert"), "{}", stderr(&output));
    assert!(!state_dir.join("agent.json").exists());

    let output = run_agent_with(
        &server,
        &state_dir,
        &inventory,
        enrollment,
        &["--ca-cert", cert.to_str().unwrap()],
    );
    assert_eq!(code(&output), 0, "agent failed: {}", stderr(&output));
    let (status, hosts) = server.get("/api/v1/hosts", &server.admin_token);
    assert_eq!(status, 200);
    assert_eq!(hosts["hosts"].as_array().unwrap().len(), 1, "{hosts}");
    assert!(
        hosts["hosts"][0]["open_findings"].as_i64().unwrap() > 0,
        "{hosts}"
    );
}
