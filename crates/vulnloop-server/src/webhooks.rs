//! Webhooks: an admin registers URLs with a secret, and events are POSTed to
//! them as JSON with an HMAC-SHA256 signature.
//!
//! Events go to an outbox table in the transaction of the change that caused
//! them. The webhook job delivers them, so one server process sends each row
//! and a restart loses none.

use serde_json::{json, Value};
use sqlx::{Any, Row, Transaction};

use crate::error::ApiError;
use crate::secret;
use crate::store::{now, text};

/// A finding was reported for the first time.
pub const FINDING_OPENED: &str = "finding.opened";
/// A finding's lifecycle status changed.
pub const FINDING_STATUS_CHANGED: &str = "finding.status_changed";
/// A task reached `succeeded` or `failed`.
pub const TASK_FINISHED: &str = "task.finished";
/// A host's last upload became older than the stale-host setting.
pub const HOST_STOPPED_UPLOADING: &str = "host.stopped_uploading";

/// Queues `event` with `payload` for every registered webhook, inside
/// `transaction`, so the event exists exactly when the change commits.
pub async fn enqueue(
    transaction: &mut Transaction<'_, Any>,
    event: &str,
    payload: &Value,
) -> Result<u64, ApiError> {
    let webhooks = webhook_ids(transaction).await?;
    enqueue_for(transaction, &webhooks, event, payload).await?;
    Ok(webhooks.len() as u64)
}

async fn webhook_ids(transaction: &mut Transaction<'_, Any>) -> Result<Vec<String>, ApiError> {
    let rows = sqlx::query("SELECT id FROM webhooks")
        .fetch_all(&mut **transaction)
        .await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()?)
}

async fn enqueue_for(
    transaction: &mut Transaction<'_, Any>,
    webhooks: &[String],
    event: &str,
    payload: &Value,
) -> Result<(), ApiError> {
    let at = now();
    let body = json!({ "event": event, "at": at, "data": payload }).to_string();
    for webhook in webhooks {
        sqlx::query(
            "INSERT INTO webhook_outbox (id, webhook_id, event, payload_json, created_at, attempts, next_attempt_at, state)
             VALUES ($1, $2, $3, $4, $5, 0, $5, 'pending')",
        )
        .bind(secret::new_id()?)
        .bind(webhook)
        .bind(event)
        .bind(&body)
        .bind(&at)
        .execute(&mut **transaction)
        .await?;
    }
    Ok(())
}

/// Queues `finding.opened` and `finding.status_changed` events for the
/// findings whose `status_changed_at` is `at`, the time stamp that the
/// caller's transaction wrote. Returns the number of events per webhook.
///
/// A finding first seen at `at` is `finding.opened`; any other is
/// `finding.status_changed`.
pub async fn enqueue_status_changes(
    transaction: &mut Transaction<'_, Any>,
    at: &str,
) -> Result<u64, ApiError> {
    let webhooks = webhook_ids(transaction).await?;
    if webhooks.is_empty() {
        return Ok(0);
    }
    let rows = sqlx::query(
        "SELECT host_id, vulnerability_id, package, status, first_seen_at FROM findings
         WHERE status_changed_at = $1 ORDER BY host_id, vulnerability_id, package",
    )
    .bind(at)
    .fetch_all(&mut **transaction)
    .await?;
    for row in &rows {
        let first_seen_at = text(row, "first_seen_at")?;
        let event = if first_seen_at.as_deref() == Some(at) {
            FINDING_OPENED
        } else {
            FINDING_STATUS_CHANGED
        };
        let payload = json!({
            "host_id": text(row, "host_id")?,
            "vulnerability_id": text(row, "vulnerability_id")?,
            "package": text(row, "package")?,
            "status": text(row, "status")?,
        });
        enqueue_for(transaction, &webhooks, event, &payload).await?;
    }
    Ok(rows.len() as u64)
}

/// Deliveries a webhook job run sends at most; the rest wait for the next run.
const BATCH: i64 = 100;
/// Attempts before a delivery is given up and marked `failed`.
const MAX_ATTEMPTS: i64 = 10;
/// Wait before the first retry; each later retry waits twice as long, at
/// most [`MAX_RETRY_DELAY`]. Ten attempts span about 85 minutes.
const FIRST_RETRY_DELAY: chrono::Duration = chrono::Duration::seconds(5);
const MAX_RETRY_DELAY: chrono::Duration = chrono::Duration::hours(1);
/// How long a claimed delivery is hidden from other runs; longer than the
/// request timeout, so a delivery in flight is never claimed twice.
const CLAIM_LEASE: chrono::Duration = chrono::Duration::seconds(60);
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Longest accepted webhook URL and secret, in bytes.
const MAX_URL_BYTES: usize = 2000;
const MAX_SECRET_BYTES: usize = 200;

/// The signature header: `sha256=` and the hex HMAC-SHA256 of the body,
/// keyed with the webhook's secret.
pub const SIGNATURE_HEADER: &str = "X-Vulnloop-Signature";

/// A request to register a webhook.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
}

/// Checks that `url` is an absolute http or https URL with a host.
fn check_url(url: &str) -> Result<String, ApiError> {
    if url.len() > MAX_URL_BYTES {
        return Err(ApiError::Unprocessable(format!(
            "url must have at most {MAX_URL_BYTES} bytes"
        )));
    }
    let parsed = url::Url::parse(url)
        .map_err(|error| ApiError::Unprocessable(format!("url {url:?} is invalid: {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::Unprocessable(format!(
            "url must use http or https, not {}",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::Unprocessable(format!("url {url:?} has no host")));
    }
    Ok(parsed.to_string())
}

/// Registers a webhook, in one transaction with an audit row. The secret is
/// returned by no route after this.
pub async fn create(
    store: &crate::Store,
    actor: &str,
    request: NewWebhook,
) -> Result<Value, ApiError> {
    let url = check_url(request.url.trim())?;
    if request.secret.is_empty() || request.secret.len() > MAX_SECRET_BYTES {
        return Err(ApiError::Unprocessable(format!(
            "secret must have 1 to {MAX_SECRET_BYTES} bytes"
        )));
    }
    let id = secret::new_id()?;
    let at = now();
    let mut transaction = store.pool().begin().await?;
    sqlx::query("INSERT INTO webhooks (id, url, secret, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(&url)
        .bind(&request.secret)
        .bind(actor)
        .bind(&at)
        .execute(&mut *transaction)
        .await?;
    crate::store::audit(
        &mut transaction,
        actor,
        "webhook.create",
        Some(&id),
        json!({ "url": url }),
    )
    .await?;
    transaction.commit().await?;
    Ok(json!({ "id": id, "url": url, "created_by": actor, "created_at": at }))
}

/// Lists the webhooks with their delivery counts, without secrets.
pub async fn list(store: &crate::Store) -> Result<Vec<Value>, ApiError> {
    let rows = sqlx::query(
        "SELECT w.id, w.url, w.created_by, w.created_at,
                (SELECT COUNT(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.state = 'pending') AS pending,
                (SELECT COUNT(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.state = 'delivered') AS delivered,
                (SELECT COUNT(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.state = 'failed') AS failed
         FROM webhooks w ORDER BY w.created_at, w.id",
    )
    .fetch_all(store.pool())
    .await?;
    let mut webhooks = Vec::with_capacity(rows.len());
    for row in &rows {
        webhooks.push(json!({
            "id": text(row, "id")?,
            "url": text(row, "url")?,
            "created_by": text(row, "created_by")?,
            "created_at": text(row, "created_at")?,
            "deliveries": {
                "pending": row.try_get::<i64, _>("pending")?,
                "delivered": row.try_get::<i64, _>("delivered")?,
                "failed": row.try_get::<i64, _>("failed")?,
            },
        }));
    }
    Ok(webhooks)
}

/// Deletes a webhook and its queued deliveries, in one transaction with an
/// audit row. Returns `false` when no webhook has that id.
pub async fn delete(store: &crate::Store, actor: &str, id: &str) -> Result<bool, ApiError> {
    let mut transaction = store.pool().begin().await?;
    sqlx::query("DELETE FROM webhook_outbox WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *transaction)
        .await?;
    let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(&mut *transaction)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(false);
    }
    crate::store::audit(
        &mut transaction,
        actor,
        "webhook.delete",
        Some(id),
        json!({}),
    )
    .await?;
    transaction.commit().await?;
    Ok(true)
}

/// Returns the value of the signature header for `body`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    // HMAC accepts keys of any length, so new_from_slice cannot fail.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

/// Sends the due deliveries of the outbox, the work of the `webhooks` job.
///
/// Each row is claimed with a conditional UPDATE that moves its
/// `next_attempt_at` past the request timeout, so two servers never send
/// the same row at once. NOTE: a server that stops between a receiver's
/// 2xx answer and the UPDATE that records it sends that event again after
/// the lease; receivers can drop repeats by the `X-Vulnloop-Delivery` id.
pub async fn deliver_due(store: crate::Store) -> anyhow::Result<Value> {
    let at = now();
    let rows = sqlx::query(
        "SELECT o.id, o.event, o.payload_json, o.attempts, o.next_attempt_at, w.url, w.secret
         FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id
         WHERE o.state = 'pending' AND o.next_attempt_at <= $1
         ORDER BY o.next_attempt_at, o.id LIMIT $2",
    )
    .bind(&at)
    .bind(BATCH)
    .fetch_all(store.pool())
    .await?;

    let (mut delivered, mut retried, mut failed) = (0, 0, 0);
    for row in &rows {
        let id: String = row.try_get("id")?;
        let lease =
            (chrono::Utc::now() + CLAIM_LEASE).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let claimed = sqlx::query("UPDATE webhook_outbox SET next_attempt_at = $1 WHERE id = $2 AND next_attempt_at = $3 AND state = 'pending'")
            .bind(&lease)
            .bind(&id)
            .bind(row.try_get::<String, _>("next_attempt_at")?)
            .execute(store.pool())
            .await?
            .rows_affected();
        if claimed == 0 {
            continue;
        }

        let url: String = row.try_get("url")?;
        let event: String = row.try_get("event")?;
        let body: String = row.try_get("payload_json")?;
        let secret: String = row.try_get("secret")?;
        let attempts = row.try_get::<i64, _>("attempts")? + 1;
        let outcome = send(url.clone(), id.clone(), event.clone(), body, secret).await;
        match outcome {
            Ok(()) => {
                sqlx::query("UPDATE webhook_outbox SET state = 'delivered', attempts = $1, delivered_at = $2, last_error = NULL WHERE id = $3")
                    .bind(attempts)
                    .bind(now())
                    .bind(&id)
                    .execute(store.pool())
                    .await?;
                delivered += 1;
            }
            Err(error) => {
                let give_up = attempts >= MAX_ATTEMPTS;
                let delay = retry_delay(attempts);
                let next = (chrono::Utc::now() + delay)
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                tracing::warn!(delivery = %id, %event, %url, attempts, give_up, %error, "webhook delivery failed");
                sqlx::query("UPDATE webhook_outbox SET state = $1, attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $5")
                    .bind(if give_up { "failed" } else { "pending" })
                    .bind(attempts)
                    .bind(&next)
                    .bind(&error)
                    .bind(&id)
                    .execute(store.pool())
                    .await?;
                if give_up {
                    failed += 1;
                } else {
                    retried += 1;
                }
            }
        }
    }
    Ok(json!({ "delivered": delivered, "retried": retried, "failed": failed }))
}

/// Returns the wait after failed attempt number `attempts` (1 for the first).
fn retry_delay(attempts: i64) -> chrono::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    let delay = FIRST_RETRY_DELAY * 2_i32.pow(doublings);
    delay.min(MAX_RETRY_DELAY)
}

/// POSTs one delivery on a blocking thread, because ureq is synchronous.
/// Redirects are not followed. Returns the error text for `last_error`.
async fn send(
    url: String,
    delivery: String,
    event: String,
    body: String,
    secret: String,
) -> Result<(), String> {
    let task = tokio::task::spawn_blocking(move || {
        let agent = ureq::AgentBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .redirects(0)
            .build();
        let result = agent
            .post(&url)
            .set("Content-Type", "application/json")
            .set(
                "User-Agent",
                concat!("vulnloop/", env!("CARGO_PKG_VERSION")),
            )
            .set("X-Vulnloop-Event", &event)
            .set("X-Vulnloop-Delivery", &delivery)
            .set(SIGNATURE_HEADER, &signature(&secret, body.as_bytes()))
            .send_string(&body);
        match result {
            Ok(response) if (200..300).contains(&response.status()) => Ok(()),
            Ok(response) => Err(format!("the receiver returned HTTP {}", response.status())),
            Err(ureq::Error::Status(code, _)) => Err(format!("the receiver returned HTTP {code}")),
            Err(error) => Err(format!("the request failed: {error}")),
        }
    });
    task.await
        .unwrap_or_else(|error| Err(format!("the delivery task failed: {error}")))
}
