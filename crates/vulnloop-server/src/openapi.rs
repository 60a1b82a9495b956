//! The OpenAPI 3.1 document of the routes in [`crate::app`], written by hand.
//!
//! A test checks that every route in [`ROUTES`] and in the document exists in
//! the router. A new route must be added to both by hand, because no test
//! lists the router's routes.

use serde_json::{json, Value};

/// Paths and methods that the document describes, in the order of [`document`].
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/health"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/users"),
    ("post", "/api/v1/enrollment-tokens"),
    ("post", "/api/v1/agents/enroll"),
    ("put", "/api/v1/agents/self/inventory"),
    ("get", "/api/v1/hosts"),
    ("get", "/api/v1/hosts/{id}/findings"),
    ("get", "/api/v1/vulnerabilities/{id}"),
    ("post", "/api/v1/tasks"),
    ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{id}"),
    ("get", "/api/v1/agents/self/tasks"),
    ("post", "/api/v1/agents/self/tasks/{id}/result"),
    ("put", "/api/v1/hosts/{id}/group"),
    ("post", "/api/v1/ignore-rules"),
    ("get", "/api/v1/ignore-rules"),
    ("delete", "/api/v1/ignore-rules/{id}"),
    ("get", "/api/v1/settings"),
    ("put", "/api/v1/settings"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("get", "/api/v1/job-runs"),
];

fn error_responses(codes: &[&str]) -> Value {
    let mut responses = serde_json::Map::new();
    for code in codes {
        responses.insert(
            code.to_string(),
            json!({ "$ref": format!("#/components/responses/Error{code}") }),
        );
    }
    Value::Object(responses)
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    base
}

fn id_parameter(description: &str) -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "description": description, "schema": { "type": "string" } }])
}

/// Builds the document.
pub fn document() -> Value {
    let error_components = ["400", "401", "403", "404", "409", "413", "422", "503"]
        .iter()
        .map(|code| {
            (format!("Error{code}"), json!({
                "description": format!("HTTP {code}"),
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
            }))
        })
        .collect::<serde_json::Map<_, _>>();

    json!({
        "openapi": "3.1.0",
        "info": { "title": "vulnloop fleet server", "version": env!("CARGO_PKG_VERSION") },
        "security": [{ "bearer": [] }],
        "paths": {
            "/api/v1/health": { "get": {
                "summary": "Check that the server and its database respond.",
                "security": [],
                "responses": { "200": { "description": "The server is up." } }
            }},
            "/api/v1/openapi.json": { "get": {
                "summary": "This document.",
                "security": [],
                "responses": { "200": { "description": "The OpenAPI document." } }
            }},
            "/api/v1/users": { "post": {
                "summary": "Create a user with a role and its first API token (admin).",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewUser" } } } },
                "responses": merge(
                    json!({ "201": { "description": "The user and its API token, shown only in this response." } }),
                    error_responses(&["401", "403", "409", "422"])),
            }},
            "/api/v1/enrollment-tokens": { "post": {
                "summary": "Create an enrollment token for agents (admin).",
                "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewEnrollmentToken" } } } },
                "responses": merge(
                    json!({ "201": { "description": "The token, shown only in this response.",
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EnrollmentToken" } } } } }),
                    error_responses(&["401", "403", "422"])),
            }},
            "/api/v1/agents/enroll": { "post": {
                "summary": "Register a host with an enrollment token and receive its agent token.",
                "security": [],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EnrollRequest" } } } },
                "responses": merge(
                    json!({ "201": { "description": "The host id and its agent token, shown only in this response.",
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Enrolled" } } } } }),
                    error_responses(&["401", "403", "422"])),
            }},
            "/api/v1/agents/self/inventory": { "put": {
                "summary": "Upload the agent's host inventory (agent token); the server matches it and records findings.",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "description": "Inventory JSON as written by `vulnloop inventory --format json`, at most 16 MiB." } } } },
                "responses": merge(
                    json!({ "200": { "description": "Counts of packages and findings, and the matcher's coverage." } }),
                    error_responses(&["400", "401", "403", "413", "422", "503"])),
            }},
            "/api/v1/hosts": { "get": {
                "summary": "List the enrolled hosts (viewer).",
                "responses": merge(json!({ "200": { "description": "The hosts." } }), error_responses(&["401", "403"])),
            }},
            "/api/v1/hosts/{id}/findings": { "get": {
                "summary": "List one host's findings with their lifecycle status (viewer, or that host's agent).",
                "parameters": id_parameter("Host id."),
                "responses": merge(json!({ "200": { "description": "The findings." } }), error_responses(&["401", "403", "404"])),
            }},
            "/api/v1/vulnerabilities/{id}": { "get": {
                "summary": "List the hosts and packages that a vulnerability or advisory id affects (viewer).",
                "parameters": id_parameter("CVE id or advisory id."),
                "responses": merge(json!({ "200": { "description": "Affected hosts and their findings." } }), error_responses(&["401", "403"])),
            }},
            "/api/v1/tasks": {
                "post": {
                    "summary": "Queue a scan, fix or verify task for a host (operator); fix and verify tasks move their findings to fixing or verifying.",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewTask" } } } },
                    "responses": merge(
                        json!({ "201": { "description": "The queued task.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Task" } } } } }),
                        error_responses(&["400", "401", "403", "404", "409", "422"])),
                },
                "get": {
                    "summary": "List tasks, newest first, at most 1000 (viewer).",
                    "parameters": [
                        { "name": "host_id", "in": "query", "required": false, "schema": { "type": "string" } },
                        { "name": "state", "in": "query", "required": false,
                          "schema": { "type": "string", "enum": ["queued", "running", "succeeded", "failed"] } }
                    ],
                    "responses": merge(json!({ "200": { "description": "The tasks." } }), error_responses(&["400", "401", "403", "422"])),
                }
            },
            "/api/v1/tasks/{id}": { "get": {
                "summary": "Read one task with its payload, result and findings (viewer).",
                "parameters": id_parameter("Task id."),
                "responses": merge(
                    json!({ "200": { "description": "The task.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Task" } } } } }),
                    error_responses(&["401", "403", "404"])),
            }},
            "/api/v1/agents/self/tasks": { "get": {
                "summary": "Claim the agent's queued tasks (agent token): they move to running and are returned once.",
                "responses": merge(json!({ "200": { "description": "The claimed tasks, oldest first; empty when none is queued." } }),
                    error_responses(&["401", "403"])),
            }},
            "/api/v1/agents/self/tasks/{id}/result": { "post": {
                "summary": "Report the outcome of a running task of the agent's host (agent token); moves the task's findings.",
                "parameters": id_parameter("Task id."),
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TaskResult" } } } },
                "responses": merge(
                    json!({ "200": { "description": "The finished task.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Task" } } } } }),
                    error_responses(&["400", "401", "403", "404", "409", "422"])),
            }},
            "/api/v1/hosts/{id}/group": { "put": {
                "summary": "Set or remove a host's group, the scope of group ignore rules and scan schedules (operator).",
                "parameters": id_parameter("Host id."),
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/HostGroup" } } } },
                "responses": merge(json!({ "200": { "description": "The host id and its group." } }), error_responses(&["401", "403", "404", "422"])),
            }},
            "/api/v1/ignore-rules": {
                "post": {
                    "summary": "Create an ignore rule; its open findings become ignored at once (operator).",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewIgnoreRule" } } } },
                    "responses": merge(
                        json!({ "201": { "description": "The rule, with ignored_findings: how many findings became ignored." } }),
                        error_responses(&["401", "403", "422"])),
                },
                "get": {
                    "summary": "List the ignore rules with the number of findings each ignores (viewer).",
                    "responses": merge(json!({ "200": { "description": "The rules." } }), error_responses(&["401", "403"])),
                }
            },
            "/api/v1/ignore-rules/{id}": { "delete": {
                "summary": "Delete an ignore rule; its findings go back to unfixed unless another rule covers them (operator).",
                "parameters": id_parameter("Rule id."),
                "responses": merge(
                    json!({ "200": { "description": "The rule id and restored_findings: how many findings went back to unfixed." } }),
                    error_responses(&["401", "403", "404"])),
            }},
            "/api/v1/settings": {
                "get": {
                    "summary": "Read the settings of the background jobs, defaults filled in (viewer).",
                    "responses": merge(json!({ "200": { "description": "The settings.",
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Settings" } } } } }),
                        error_responses(&["401", "403"])),
                },
                "put": {
                    "summary": "Change settings: absent fields stay, null restores the default (admin).",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Settings" } } } },
                    "responses": merge(json!({ "200": { "description": "The settings after the change.",
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Settings" } } } } }),
                        error_responses(&["401", "403", "422"])),
                }
            },
            "/api/v1/webhooks": {
                "post": {
                    "summary": "Register a webhook URL and the secret that signs its deliveries (admin).",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewWebhook" } } } },
                    "responses": merge(json!({ "201": { "description": "The webhook, without its secret." } }),
                        error_responses(&["401", "403", "422"])),
                },
                "get": {
                    "summary": "List the webhooks with their pending, delivered and failed delivery counts (admin).",
                    "responses": merge(json!({ "200": { "description": "The webhooks, without secrets." } }), error_responses(&["401", "403"])),
                }
            },
            "/api/v1/webhooks/{id}": { "delete": {
                "summary": "Delete a webhook and its undelivered events (admin).",
                "parameters": id_parameter("Webhook id."),
                "responses": merge(json!({ "204": { "description": "Deleted." } }), error_responses(&["401", "403", "404"])),
            }},
            "/api/v1/job-runs": { "get": {
                "summary": "List the latest 500 background job runs, newest first: job, server instance, start, end, outcome (admin).",
                "parameters": [{ "name": "job", "in": "query", "required": false, "description": "Only runs of this job.",
                    "schema": { "type": "string" } }],
                "responses": merge(json!({ "200": { "description": "The runs." } }), error_responses(&["400", "401", "403"])),
            }}
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "responses": error_components,
            "schemas": {
                "NewUser": { "type": "object", "additionalProperties": false, "required": ["name", "role"], "properties": {
                    "name": { "type": "string", "minLength": 1, "maxLength": 100 },
                    "role": { "type": "string", "enum": ["admin", "operator", "viewer"] } } },
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
                "NewEnrollmentToken": { "type": "object", "additionalProperties": false, "properties": {
                    "expires_in_hours": { "type": "integer", "minimum": 1, "maximum": 720, "default": 24 },
                    "max_uses": { "type": "integer", "minimum": 1, "default": 1 } } },
                "EnrollmentToken": { "type": "object", "properties": {
                    "id": { "type": "string" }, "token": { "type": "string" },
                    "expires_at": { "type": "string", "format": "date-time" }, "max_uses": { "type": "integer" } } },
                "EnrollRequest": { "type": "object", "additionalProperties": false, "required": ["enrollment_token", "name"], "properties": {
                    "enrollment_token": { "type": "string" }, "name": { "type": "string", "minLength": 1, "maxLength": 253 } } },
                "Enrolled": { "type": "object", "properties": { "host_id": { "type": "string" }, "agent_token": { "type": "string" } } },
                "FindingRef": { "type": "object", "additionalProperties": false, "required": ["vulnerability_id", "package"], "properties": {
                    "vulnerability_id": { "type": "string" }, "package": { "type": "string" } } },
                "NewTask": { "type": "object", "additionalProperties": false, "required": ["host_id", "kind"], "properties": {
                    "host_id": { "type": "string" },
                    "kind": { "type": "string", "enum": ["scan", "fix", "verify"] },
                    "findings": { "type": "array", "maxItems": 1000, "items": { "$ref": "#/components/schemas/FindingRef" },
                        "description": "Required and non-empty for fix and verify, absent or empty for scan." } } },
                "Task": { "type": "object", "properties": {
                    "id": { "type": "string" }, "host_id": { "type": "string" },
                    "kind": { "type": "string", "enum": ["scan", "fix", "verify"] },
                    "state": { "type": "string", "enum": ["queued", "running", "succeeded", "failed"] },
                    "payload": { "type": "object", "description": "Fix: package_manager, os and packages with installed and target versions and the vulnerabilities they fix. Verify: packages. Scan: empty." },
                    "result": { "type": ["object", "null"], "description": "The agent's TaskResult with server_notes, finding_statuses and, after a successful fix, verify_task_id." },
                    "created_by": { "type": "string" }, "created_at": { "type": "string" }, "updated_at": { "type": "string" },
                    "claimed_at": { "type": ["string", "null"] }, "finished_at": { "type": ["string", "null"] },
                    "parent_task_id": { "type": ["string", "null"] },
                    "findings": { "type": "array", "items": { "$ref": "#/components/schemas/FindingRef" } } } },
                "TaskResult": { "type": "object", "additionalProperties": false, "required": ["outcome"], "properties": {
                    "outcome": { "type": "string", "enum": ["succeeded", "failed", "refused"] },
                    "dry_run": { "type": "boolean", "default": false },
                    "messages": { "type": "array", "maxItems": 100, "items": { "type": "string", "maxLength": 4096 } },
                    "commands": { "type": "array", "maxItems": 100, "items": { "type": "array", "items": { "type": "string" } } },
                    "packages": { "type": "array", "items": { "type": "object", "required": ["name"], "properties": {
                        "name": { "type": "string" }, "arch": { "type": ["string", "null"] },
                        "before": { "type": ["string", "null"] }, "after": { "type": ["string", "null"] } } } },
                    "restart_needed": { "type": "boolean", "default": false } } },
                "HostGroup": { "type": "object", "additionalProperties": false, "required": ["group"], "properties": {
                    "group": { "type": ["string", "null"], "minLength": 1, "maxLength": 200 } } },
                "NewIgnoreRule": { "type": "object", "additionalProperties": false, "required": ["vulnerability_id", "reason"],
                    "description": "Without host_id and host_group the rule applies to all hosts; giving both is rejected.",
                    "properties": {
                        "vulnerability_id": { "type": "string", "minLength": 1, "maxLength": 200 },
                        "package": { "type": "string", "minLength": 1, "maxLength": 200, "description": "Only this package; every package when absent." },
                        "host_id": { "type": "string" },
                        "host_group": { "type": "string", "minLength": 1, "maxLength": 200 },
                        "reason": { "type": "string", "minLength": 1, "maxLength": 2000 },
                        "expires_at": { "type": "string", "format": "date-time", "description": "RFC 3339 time in the future; the rule stops applying then." } } },
                "Settings": { "type": "object", "additionalProperties": false, "properties": {
                    "finding_expiry_days": { "type": ["integer", "null"], "minimum": 1, "maximum": 3650, "default": 30,
                        "description": "Days without an upload reporting a finding before it becomes expired." },
                    "host_stale_hours": { "type": ["integer", "null"], "minimum": 1, "maximum": 87600, "default": 48,
                        "description": "Hours without an upload before GET /hosts shows the host as stopped uploading." },
                    "scan_interval_hours": { "type": ["integer", "null"], "minimum": 1, "maximum": 87600,
                        "description": "Hours between scheduled scan tasks of every host; null means none." },
                    "scan_interval_hours_by_group": { "type": ["object", "null"], "additionalProperties": { "type": "integer", "minimum": 1 },
                        "description": "Hours between scheduled scan tasks per host group, overriding scan_interval_hours." } } },
                "NewWebhook": { "type": "object", "additionalProperties": false, "required": ["url", "secret"], "properties": {
                    "url": { "type": "string", "format": "uri", "description": "An http or https URL." },
                    "secret": { "type": "string", "minLength": 1, "maxLength": 200,
                        "description": "Key of the X-Vulnloop-Signature header: sha256= and the hex HMAC-SHA256 of the body." } } }
            }
        }
    })
}
