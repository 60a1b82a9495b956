//! The background jobs' work (expiry, scheduled scans, webhook delivery)
//! and the settings and webhook routes, on SQLite and PostgreSQL. Each test
//! calls a job's function directly; the claim across server processes is
//! tested with real processes in the vulnloop crate's fleet tests.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use common::{Backend, Server};
use serde_json::{json, Value};
use sqlx::Row;
use vulnloop_server::{jobs, webhooks};

fn hours_ago(hours: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

async fn insert_finding(server: &Server, host: &str, vulnerability: &str, last_seen_at: &str) {
    sqlx::query(
        "INSERT INTO findings (host_id, vulnerability_id, package, advisory_id, source, severity, installed_version,
                               fixed_version, vendor_status, status, first_seen_at, last_seen_at, status_changed_at,
                               last_upload_id)
         VALUES ($1, $2, 'openssl', $2, 'debian', 'high', '1.0', '1.1', 'fix_available', 'unfixed', $3, $3, $3, 'upload')",
    )
    .bind(host)
    .bind(vulnerability)
    .bind(last_seen_at)
    .execute(server.state.store.pool())
    .await
    .unwrap();
}

async fn finding_status(server: &Server, host: &str, vulnerability: &str) -> String {
    sqlx::query("SELECT status FROM findings WHERE host_id = $1 AND vulnerability_id = $2")
        .bind(host)
        .bind(vulnerability)
        .fetch_one(server.state.store.pool())
        .await
        .unwrap()
        .try_get("status")
        .unwrap()
}

async fn scan_tasks(server: &Server, host: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM tasks WHERE host_id = $1 AND kind = 'scan'")
        .bind(host)
        .fetch_one(server.state.store.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

async fn expiry_follows_setting(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    insert_finding(&server, &web, "CVE-OLD", &hours_ago(24 * 31)).await;
    insert_finding(&server, &web, "CVE-RECENT", &hours_ago(24 * 29)).await;

    let detail = jobs::expire_findings_and_hosts(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(detail["expired_findings"], 1, "{detail}");
    assert_eq!(finding_status(&server, &web, "CVE-OLD").await, "expired");
    assert_eq!(finding_status(&server, &web, "CVE-RECENT").await, "unfixed");

    let (code, body) = server
        .json(
            Method::PUT,
            "/api/v1/settings",
            Some(&server.admin),
            json!({ "finding_expiry_days": 7 }),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["finding_expiry_days"], 7);
    jobs::expire_findings_and_hosts(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(finding_status(&server, &web, "CVE-RECENT").await, "expired");
}

async fn stale_host_is_shown(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    let (db, _) = server.agent("db1").await;
    sqlx::query("UPDATE hosts SET inventory_at = $1 WHERE id = $2")
        .bind(hours_ago(49))
        .bind(&web)
        .execute(server.state.store.pool())
        .await
        .unwrap();

    let detail = jobs::expire_findings_and_hosts(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(detail["hosts_stopped_uploading"], 1, "{detail}");
    let (_, body) = server
        .json(
            Method::GET,
            "/api/v1/hosts",
            Some(&server.admin),
            json!(null),
        )
        .await;
    let hosts = body["hosts"].as_array().unwrap();
    let stopped = |id: &str| {
        hosts.iter().find(|host| host["id"] == id).unwrap()["stopped_uploading_at"].clone()
    };
    assert!(stopped(&web).is_string(), "{body}");
    assert_eq!(stopped(&db), Value::Null, "{body}");

    // A second run reports the host once, not again.
    let detail = jobs::expire_findings_and_hosts(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(detail["hosts_stopped_uploading"], 0, "{detail}");
}

async fn scheduled_scans_queue_once(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    let (db, _) = server.agent("db1").await;
    let detail = jobs::queue_scheduled_scans(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(detail["queued"], 0, "no schedule is set");

    server
        .json(
            Method::PUT,
            &format!("/api/v1/hosts/{web}/group"),
            Some(&server.admin),
            json!({ "group": "web" }),
        )
        .await;
    let (code, body) = server
        .json(
            Method::PUT,
            "/api/v1/settings",
            Some(&server.admin),
            json!({ "scan_interval_hours_by_group": { "web": 6 } }),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let detail = jobs::queue_scheduled_scans(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(detail["queued"], 1, "{detail}");
    assert_eq!(scan_tasks(&server, &web).await, 1);
    assert_eq!(
        scan_tasks(&server, &db).await,
        0,
        "db1 is in no group and no all-hosts interval is set"
    );

    // The queued scan is not queued again.
    jobs::queue_scheduled_scans(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(scan_tasks(&server, &web).await, 1);

    // Finished 7 hours ago: the 6-hour interval has passed.
    sqlx::query("UPDATE tasks SET state = 'succeeded', created_at = $1 WHERE host_id = $2")
        .bind(hours_ago(7))
        .bind(&web)
        .execute(server.state.store.pool())
        .await
        .unwrap();
    server
        .json(
            Method::PUT,
            "/api/v1/settings",
            Some(&server.admin),
            json!({ "scan_interval_hours": 24 }),
        )
        .await;
    let detail = jobs::queue_scheduled_scans(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(detail["queued"], 2, "{detail}");
    assert_eq!(scan_tasks(&server, &web).await, 2);
    assert_eq!(scan_tasks(&server, &db).await, 1);
}

async fn invalid_settings_are_422(backend: Backend) {
    let server = Server::new(backend).await;
    let cases = [
        (
            json!({ "finding_expiry_days": 0 }),
            "finding_expiry_days must be between 1 and",
        ),
        (
            json!({ "host_stale_hours": -1 }),
            "host_stale_hours must be between 1 and",
        ),
        (
            json!({ "scan_interval_hours_by_group": { "": 4 } }),
            "empty group name",
        ),
        (
            json!({ "scan_interval_hours": "daily" }),
            "scan_interval_hours",
        ),
        (json!({ "expiry": 3 }), "unknown field"),
    ];
    for (update, message) in cases {
        let (code, body) = server
            .json(
                Method::PUT,
                "/api/v1/settings",
                Some(&server.admin),
                update.clone(),
            )
            .await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{update}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(message),
            "{update}: {body}"
        );
    }
    let operator = server.user("otto", "operator").await;
    let (code, _) = server
        .json(
            Method::PUT,
            "/api/v1/settings",
            Some(&operator),
            json!({ "host_stale_hours": 4 }),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    // null restores the default.
    server
        .json(
            Method::PUT,
            "/api/v1/settings",
            Some(&server.admin),
            json!({ "host_stale_hours": 4 }),
        )
        .await;
    let (_, body) = server
        .json(
            Method::PUT,
            "/api/v1/settings",
            Some(&server.admin),
            json!({ "host_stale_hours": null }),
        )
        .await;
    assert_eq!(body["host_stale_hours"], 48);
    let (code, body) = server
        .json(
            Method::GET,
            "/api/v1/settings",
            Some(&operator),
            json!(null),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["finding_expiry_days"], 30);
}

/// Headers and body of one request the receiver got.
type Received = (Vec<(String, String)>, String);

/// A webhook receiver on a loopback port that responds to each request with the
/// next status of `statuses` (200 once they run out) and records it.
struct Receiver {
    url: String,
    server: Arc<tiny_http::Server>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(statuses: Vec<u16>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}/hook", server.server_addr().to_ip().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let (worker, log) = (Arc::clone(&server), Arc::clone(&received));
        std::thread::spawn(move || {
            let mut statuses = statuses.into_iter();
            for mut request in worker.incoming_requests() {
                let mut body = String::new();
                std::io::Read::read_to_string(request.as_reader(), &mut body).unwrap();
                let headers = request
                    .headers()
                    .iter()
                    .map(|header| (header.field.to_string(), header.value.to_string()))
                    .collect();
                log.lock().unwrap().push((headers, body));
                let status = statuses.next().unwrap_or(200);
                let _ = request.respond(tiny_http::Response::empty(status));
            }
        });
        Receiver {
            url,
            server,
            received,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
        .unwrap()
}

fn expected_signature(secret: &str, body: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256={hex}")
}

async fn webhook_is_signed_and_retried(backend: Backend) {
    let server = Server::new(backend).await;
    let receiver = Receiver::start(vec![500]);
    let (code, webhook) = server
        .json(
            Method::POST,
            "/api/v1/webhooks",
            Some(&server.admin),
            json!({ "url": receiver.url, "secret": "s3cret" }),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED, "{webhook}");
    assert!(webhook.get("secret").is_none(), "{webhook}");

    let (web, _) = server.agent("web1").await;
    insert_finding(&server, &web, "CVE-2024-0001", &hours_ago(1)).await;
    let rule = json!({ "vulnerability_id": "CVE-2024-0001", "reason": "accepted" });
    server
        .json(
            Method::POST,
            "/api/v1/ignore-rules",
            Some(&server.admin),
            rule,
        )
        .await;

    // The first attempt gets 500 and waits for a retry.
    let detail = webhooks::deliver_due(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(detail, json!({ "delivered": 0, "retried": 1, "failed": 0 }));
    let detail = webhooks::deliver_due(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(detail["retried"], 0, "the retry is not due yet: {detail}");

    sqlx::query("UPDATE webhook_outbox SET next_attempt_at = $1")
        .bind(hours_ago(1))
        .execute(server.state.store.pool())
        .await
        .unwrap();
    let detail = webhooks::deliver_due(server.state.store.clone())
        .await
        .unwrap();
    assert_eq!(detail, json!({ "delivered": 1, "retried": 0, "failed": 0 }));

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    let (headers, body) = &received[1];
    assert_eq!(received[0].1, *body, "the retry sends the same body");
    assert_eq!(
        header(headers, "X-Vulnloop-Event"),
        "finding.status_changed"
    );
    assert_eq!(
        header(headers, "X-Vulnloop-Signature"),
        expected_signature("s3cret", body)
    );
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["event"], "finding.status_changed");
    assert_eq!(event["data"]["host_id"], web);
    assert_eq!(event["data"]["status"], "ignored");

    let (_, body) = server
        .json(
            Method::GET,
            "/api/v1/webhooks",
            Some(&server.admin),
            json!(null),
        )
        .await;
    assert_eq!(
        body["webhooks"][0]["deliveries"],
        json!({ "pending": 0, "delivered": 1, "failed": 0 })
    );
}

async fn stopped_host_event_is_sent(backend: Backend) {
    let server = Server::new(backend).await;
    let receiver = Receiver::start(vec![]);
    server
        .json(
            Method::POST,
            "/api/v1/webhooks",
            Some(&server.admin),
            json!({ "url": receiver.url, "secret": "k" }),
        )
        .await;
    let (web, _) = server.agent("web1").await;
    sqlx::query("UPDATE hosts SET enrolled_at = $1")
        .bind(hours_ago(100))
        .execute(server.state.store.pool())
        .await
        .unwrap();

    jobs::expire_findings_and_hosts(server.state.store.clone())
        .await
        .unwrap();
    webhooks::deliver_due(server.state.store.clone())
        .await
        .unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let event: Value = serde_json::from_str(&received[0].1).unwrap();
    assert_eq!(event["event"], "host.stopped_uploading");
    assert_eq!(event["data"]["host_id"], web);
}

async fn webhook_url_must_be_http(backend: Backend) {
    let server = Server::new(backend).await;
    for url in [
        "ftp://127.0.0.1/hook",
        "file:///etc/passwd",
        "not a url",
        "http://",
    ] {
        let (code, body) = server
            .json(
                Method::POST,
                "/api/v1/webhooks",
                Some(&server.admin),
                json!({ "url": url, "secret": "k" }),
            )
            .await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
    }
    let (code, _) = server
        .json(
            Method::POST,
            "/api/v1/webhooks",
            Some(&server.admin),
            json!({ "url": "https://127.0.0.1/hook", "secret": "" }),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    let operator = server.user("otto", "operator").await;
    let (code, _) = server
        .json(
            Method::POST,
            "/api/v1/webhooks",
            Some(&operator),
            json!({ "url": "https://127.0.0.1/hook", "secret": "k" }),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
}

async fn deleted_webhook_gets_nothing(backend: Backend) {
    let server = Server::new(backend).await;
    let receiver = Receiver::start(vec![]);
    let (_, webhook) = server
        .json(
            Method::POST,
            "/api/v1/webhooks",
            Some(&server.admin),
            json!({ "url": receiver.url, "secret": "k" }),
        )
        .await;
    let (web, _) = server.agent("web1").await;
    insert_finding(&server, &web, "CVE-2024-0001", &hours_ago(1)).await;
    server
        .json(
            Method::POST,
            "/api/v1/ignore-rules",
            Some(&server.admin),
            json!({ "vulnerability_id": "CVE-2024-0001", "reason": "x" }),
        )
        .await;

    let path = format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    let (code, _) = server
        .json(Method::DELETE, &path, Some(&server.admin), json!(null))
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = server
        .json(Method::DELETE, &path, Some(&server.admin), json!(null))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    webhooks::deliver_due(server.state.store.clone())
        .await
        .unwrap();
    assert!(receiver.received().is_empty());
}

on_each_backend!(
    expiry_follows_setting,
    stale_host_is_shown,
    scheduled_scans_queue_once,
    invalid_settings_are_422,
    webhook_is_signed_and_retried,
    stopped_host_event_is_sent,
    webhook_url_must_be_http,
    deleted_webhook_gets_nothing,
);
