//! Ignore rules and host groups through the router, on SQLite and
//! PostgreSQL. Findings are inserted as rows, as the matcher would store
//! them, because these tests check the rules and not the matcher.

#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{Backend, Server};
use serde_json::{json, Value};
use sqlx::Row;

/// Inserts an `unfixed` finding of `package` for `vulnerability` on `host`.
async fn insert_finding(server: &Server, host: &str, vulnerability: &str, package: &str) {
    let at = vulnloop_server::store::now();
    sqlx::query(
        "INSERT INTO findings (host_id, vulnerability_id, package, advisory_id, source, severity, installed_version,
                               fixed_version, vendor_status, status, first_seen_at, last_seen_at, status_changed_at,
                               last_upload_id)
         VALUES ($1, $2, $3, $2, 'debian', 'high', '1.0', '1.1', 'fix_available', 'unfixed', $4, $4, $4, 'upload')",
    )
    .bind(host)
    .bind(vulnerability)
    .bind(package)
    .bind(&at)
    .execute(server.state.store.pool())
    .await
    .unwrap();
}

async fn status(server: &Server, host: &str, vulnerability: &str, package: &str) -> String {
    sqlx::query(
        "SELECT status FROM findings WHERE host_id = $1 AND vulnerability_id = $2 AND package = $3",
    )
    .bind(host)
    .bind(vulnerability)
    .bind(package)
    .fetch_one(server.state.store.pool())
    .await
    .unwrap()
    .try_get("status")
    .unwrap()
}

async fn create_rule(server: &Server, token: &str, rule: Value) -> (StatusCode, Value) {
    server
        .json(Method::POST, "/api/v1/ignore-rules", Some(token), rule)
        .await
}

async fn rule_for_all_hosts_ignores_at_once(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    let (db, _) = server.agent("db1").await;
    insert_finding(&server, &web, "CVE-2024-0001", "openssl").await;
    insert_finding(&server, &db, "CVE-2024-0001", "openssl").await;
    insert_finding(&server, &db, "CVE-2024-0002", "openssl").await;

    let rule =
        json!({ "vulnerability_id": "CVE-2024-0001", "reason": "not reachable: no TLS listener" });
    let (code, body) = create_rule(&server, &server.admin, rule).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    assert_eq!(body["ignored_findings"], 2);
    assert_eq!(body["host_id"], Value::Null);
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "openssl").await,
        "ignored"
    );
    assert_eq!(
        status(&server, &db, "CVE-2024-0001", "openssl").await,
        "ignored"
    );
    assert_eq!(
        status(&server, &db, "CVE-2024-0002", "openssl").await,
        "unfixed"
    );
}

async fn rule_for_host_and_package_is_narrow(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    let (db, _) = server.agent("db1").await;
    insert_finding(&server, &web, "CVE-2024-0001", "openssl").await;
    insert_finding(&server, &web, "CVE-2024-0001", "libssl3").await;
    insert_finding(&server, &db, "CVE-2024-0001", "openssl").await;

    let rule = json!({ "vulnerability_id": "CVE-2024-0001", "package": "openssl", "host_id": web, "reason": "accepted" });
    let (code, body) = create_rule(&server, &server.admin, rule).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    assert_eq!(body["ignored_findings"], 1);
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "openssl").await,
        "ignored"
    );
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "libssl3").await,
        "unfixed"
    );
    assert_eq!(
        status(&server, &db, "CVE-2024-0001", "openssl").await,
        "unfixed"
    );
}

async fn rule_for_group_follows_group(backend: Backend) {
    let server = Server::new(backend).await;
    let operator = server.user("otto", "operator").await;
    let (web, _) = server.agent("web1").await;
    let (db, _) = server.agent("db1").await;
    insert_finding(&server, &web, "CVE-2024-0001", "openssl").await;
    insert_finding(&server, &db, "CVE-2024-0001", "openssl").await;
    let (code, body) = server
        .json(
            Method::PUT,
            &format!("/api/v1/hosts/{web}/group"),
            Some(&operator),
            json!({ "group": "web" }),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");

    let rule = json!({ "vulnerability_id": "CVE-2024-0001", "host_group": "web", "reason": "behind the proxy" });
    let (code, body) = create_rule(&server, &operator, rule).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    assert_eq!(body["ignored_findings"], 1);
    assert_eq!(
        status(&server, &db, "CVE-2024-0001", "openssl").await,
        "unfixed"
    );

    // db1 joins the group: the rule covers it at once.
    server
        .json(
            Method::PUT,
            &format!("/api/v1/hosts/{db}/group"),
            Some(&operator),
            json!({ "group": "web" }),
        )
        .await;
    assert_eq!(
        status(&server, &db, "CVE-2024-0001", "openssl").await,
        "ignored"
    );

    // web1 leaves the group: its finding opens again.
    server
        .json(
            Method::PUT,
            &format!("/api/v1/hosts/{web}/group"),
            Some(&operator),
            json!({ "group": null }),
        )
        .await;
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "openssl").await,
        "unfixed"
    );

    let (_, hosts) = server
        .json(Method::GET, "/api/v1/hosts", Some(&operator), json!(null))
        .await;
    let groups: Vec<&Value> = hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|host| &host["group"])
        .collect();
    assert_eq!(
        groups,
        [&json!("web"), &Value::Null],
        "hosts are listed by name: db1, web1"
    );
}

async fn delete_restores_findings(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    insert_finding(&server, &web, "CVE-2024-0001", "openssl").await;
    insert_finding(&server, &web, "CVE-2024-0001", "libssl3").await;
    let (_, narrow) = create_rule(
        &server,
        &server.admin,
        json!({ "vulnerability_id": "CVE-2024-0001", "package": "openssl", "reason": "first" }),
    )
    .await;
    let (_, broad) = create_rule(
        &server,
        &server.admin,
        json!({ "vulnerability_id": "CVE-2024-0001", "reason": "second" }),
    )
    .await;
    assert_eq!(broad["ignored_findings"], 1, "openssl is ignored already");

    // The broad rule also covers openssl, so deleting the narrow one keeps it ignored.
    let (code, body) = server
        .json(
            Method::DELETE,
            &format!("/api/v1/ignore-rules/{}", narrow["id"].as_str().unwrap()),
            Some(&server.admin),
            json!(null),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["restored_findings"], 0);
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "openssl").await,
        "ignored"
    );

    let (code, body) = server
        .json(
            Method::DELETE,
            &format!("/api/v1/ignore-rules/{}", broad["id"].as_str().unwrap()),
            Some(&server.admin),
            json!(null),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["restored_findings"], 2);
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "openssl").await,
        "unfixed"
    );
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "libssl3").await,
        "unfixed"
    );

    let (code, _) = server
        .json(
            Method::DELETE,
            &format!("/api/v1/ignore-rules/{}", broad["id"].as_str().unwrap()),
            Some(&server.admin),
            json!(null),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

async fn rule_applies_to_later_findings(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    create_rule(
        &server,
        &server.admin,
        json!({ "vulnerability_id": "CVE-2024-0001", "reason": "accepted" }),
    )
    .await;
    insert_finding(&server, &web, "CVE-2024-0001", "openssl").await;

    // The upload handler calls this after it stores the upload's findings.
    let mut transaction = server.state.store.pool().begin().await.unwrap();
    let at = vulnloop_server::store::now();
    let ignored = vulnloop_server::rules::apply_to_host(&mut transaction, &web, &at)
        .await
        .unwrap();
    transaction.commit().await.unwrap();
    assert_eq!(ignored, 1);
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "openssl").await,
        "ignored"
    );
}

async fn expired_rule_releases_findings(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    insert_finding(&server, &web, "CVE-2024-0001", "openssl").await;
    let expires_at = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let (code, body) = create_rule(
        &server,
        &server.admin,
        json!({ "vulnerability_id": "CVE-2024-0001", "reason": "until the window", "expires_at": expires_at }),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "openssl").await,
        "ignored"
    );

    assert_eq!(
        vulnloop_server::rules::expire(&server.state.store)
            .await
            .unwrap(),
        0,
        "not expired yet"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        vulnloop_server::rules::expire(&server.state.store)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        status(&server, &web, "CVE-2024-0001", "openssl").await,
        "unfixed"
    );
    let (_, body) = server
        .json(
            Method::GET,
            "/api/v1/ignore-rules",
            Some(&server.admin),
            json!(null),
        )
        .await;
    assert_eq!(body["ignore_rules"], json!([]));
    assert!(server
        .audit_actions()
        .await
        .contains(&"ignore_rule.expire".to_string()));
}

async fn invalid_rules_are_422(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    let cases = [
        (
            json!({ "vulnerability_id": "CVE-2024-0001" }),
            "missing field `reason`",
        ),
        (
            json!({ "vulnerability_id": "CVE-2024-0001", "reason": "  " }),
            "reason must have",
        ),
        (
            json!({ "vulnerability_id": "", "reason": "x" }),
            "vulnerability_id must have",
        ),
        (
            json!({ "vulnerability_id": "CVE-1", "reason": "x", "host_id": web, "host_group": "web" }),
            "not both",
        ),
        (
            json!({ "vulnerability_id": "CVE-1", "reason": "x", "host_id": "nope" }),
            "names no enrolled host",
        ),
        (
            json!({ "vulnerability_id": "CVE-1", "reason": "x", "expires_at": "tomorrow" }),
            "not an RFC 3339 time",
        ),
        (
            json!({ "vulnerability_id": "CVE-1", "reason": "x", "expires_at": "2020-01-01T00:00:00Z" }),
            "not in the future",
        ),
        (
            json!({ "vulnerability_id": "CVE-1", "reason": "x", "scope": "all" }),
            "unknown field",
        ),
    ];
    for (rule, message) in cases {
        let (code, body) = create_rule(&server, &server.admin, rule.clone()).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{rule}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(message),
            "{rule}: {body}"
        );
    }
}

async fn viewer_reads_but_cannot_change_rules(backend: Backend) {
    let server = Server::new(backend).await;
    let viewer = server.user("vera", "viewer").await;
    let (web, _) = server.agent("web1").await;
    let (code, _) = create_rule(
        &server,
        &viewer,
        json!({ "vulnerability_id": "CVE-1", "reason": "x" }),
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = server
        .json(
            Method::PUT,
            &format!("/api/v1/hosts/{web}/group"),
            Some(&viewer),
            json!({ "group": "web" }),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    let (_, rule) = create_rule(
        &server,
        &server.admin,
        json!({ "vulnerability_id": "CVE-1", "reason": "x" }),
    )
    .await;
    let (code, body) = server
        .json(
            Method::GET,
            "/api/v1/ignore-rules",
            Some(&viewer),
            json!(null),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["ignore_rules"][0]["id"], rule["id"]);
    assert_eq!(body["ignore_rules"][0]["reason"], "x");
    let (code, _) = server
        .json(
            Method::DELETE,
            &format!("/api/v1/ignore-rules/{}", rule["id"].as_str().unwrap()),
            Some(&viewer),
            json!(null),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
}

async fn rule_changes_are_audited(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    server
        .json(
            Method::PUT,
            &format!("/api/v1/hosts/{web}/group"),
            Some(&server.admin),
            json!({ "group": "web" }),
        )
        .await;
    let (_, rule) = create_rule(
        &server,
        &server.admin,
        json!({ "vulnerability_id": "CVE-1", "reason": "x" }),
    )
    .await;
    server
        .json(
            Method::DELETE,
            &format!("/api/v1/ignore-rules/{}", rule["id"].as_str().unwrap()),
            Some(&server.admin),
            json!(null),
        )
        .await;
    let actions = server.audit_actions().await;
    assert_eq!(
        actions[actions.len() - 3..],
        ["host.group.set", "ignore_rule.create", "ignore_rule.delete"]
    );
}

async fn unknown_host_group_is_404(backend: Backend) {
    let server = Server::new(backend).await;
    let (code, _) = server
        .json(
            Method::PUT,
            "/api/v1/hosts/nope/group",
            Some(&server.admin),
            json!({ "group": "web" }),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

async fn group_change_keeps_other_rules(backend: Backend) {
    let server = Server::new(backend).await;
    let (web, _) = server.agent("web1").await;
    insert_finding(&server, &web, "CVE-2024-0001", "openssl").await;
    server
        .json(
            Method::PUT,
            &format!("/api/v1/hosts/{web}/group"),
            Some(&server.admin),
            json!({ "group": "web" }),
        )
        .await;
    let group_rule =
        json!({ "vulnerability_id": "CVE-2024-0001", "host_group": "web", "reason": "group" });
    let (_, first) = create_rule(&server, &server.admin, group_rule).await;
    assert_eq!(first["ignored_findings"], 1);
    let all_rule = json!({ "vulnerability_id": "CVE-2024-0001", "reason": "everywhere" });
    let (_, second) = create_rule(&server, &server.admin, all_rule).await;
    assert_eq!(second["ignored_findings"], 0);

    // Leaving the group hands the finding to the all-hosts rule; its status stays.
    let changed_before: String = sqlx::query("SELECT status_changed_at FROM findings")
        .fetch_one(server.state.store.pool())
        .await
        .unwrap()
        .try_get("status_changed_at")
        .unwrap();
    server
        .json(
            Method::PUT,
            &format!("/api/v1/hosts/{web}/group"),
            Some(&server.admin),
            json!({ "group": null }),
        )
        .await;
    let row = sqlx::query("SELECT status, ignored_by_rule, status_changed_at FROM findings")
        .fetch_one(server.state.store.pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>("status").unwrap(), "ignored");
    assert_eq!(
        row.try_get::<String, _>("ignored_by_rule").unwrap(),
        second["id"].as_str().unwrap()
    );
    assert_eq!(
        row.try_get::<String, _>("status_changed_at").unwrap(),
        changed_before
    );
}

on_each_backend!(
    rule_for_all_hosts_ignores_at_once,
    rule_for_host_and_package_is_narrow,
    rule_for_group_follows_group,
    delete_restores_findings,
    rule_applies_to_later_findings,
    expired_rule_releases_findings,
    invalid_rules_are_422,
    viewer_reads_but_cannot_change_rules,
    rule_changes_are_audited,
    unknown_host_group_is_404,
    group_change_keeps_other_rules,
);
