//! Server settings that change at run time, stored as JSON values in the
//! `settings` table. A missing key means the default.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use crate::error::ApiError;
use crate::store::{audit, now};
use crate::Store;

/// Days without an upload reporting a finding before the expiry job sets it to `expired`.
pub const FINDING_EXPIRY_DAYS: &str = "finding_expiry_days";
/// Hours without an upload before a host is shown as stopped uploading.
pub const HOST_STALE_HOURS: &str = "host_stale_hours";
/// Hours between scheduled scans of every host; absent means no scheduled scans.
pub const SCAN_INTERVAL_HOURS: &str = "scan_interval_hours";
/// Hours between scheduled scans per host group, overriding `scan_interval_hours`.
pub const SCAN_INTERVAL_HOURS_BY_GROUP: &str = "scan_interval_hours_by_group";

const DEFAULT_FINDING_EXPIRY_DAYS: i64 = 30;
const DEFAULT_HOST_STALE_HOURS: i64 = 48;
/// Upper bound of every duration setting: ten years, in hours.
const MAX_HOURS: i64 = 24 * 3650;

/// A settings change. Absent fields stay as they are; `null` restores the
/// default (for scan intervals: no scheduled scans).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    #[serde(default, deserialize_with = "present")]
    finding_expiry_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    host_stale_hours: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    scan_interval_hours: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    scan_interval_hours_by_group: Option<Option<BTreeMap<String, i64>>>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The effective settings, defaults filled in.
#[derive(Debug, Clone)]
pub struct Settings {
    pub finding_expiry_days: i64,
    pub host_stale_hours: i64,
    pub scan_interval_hours: Option<i64>,
    pub scan_interval_hours_by_group: BTreeMap<String, i64>,
}

impl Settings {
    pub fn to_json(&self) -> Value {
        json!({
            FINDING_EXPIRY_DAYS: self.finding_expiry_days,
            HOST_STALE_HOURS: self.host_stale_hours,
            SCAN_INTERVAL_HOURS: self.scan_interval_hours,
            SCAN_INTERVAL_HOURS_BY_GROUP: self.scan_interval_hours_by_group,
        })
    }
}

/// Reads the settings; a stored value of the wrong type is an error, not a default.
pub async fn load(store: &Store) -> anyhow::Result<Settings> {
    let rows = sqlx::query("SELECT key, value_json FROM settings")
        .fetch_all(store.pool())
        .await?;
    let mut stored = BTreeMap::new();
    for row in &rows {
        let key: String = row.try_get("key")?;
        let value: String = row.try_get("value_json")?;
        stored.insert(key, serde_json::from_str::<Value>(&value)?);
    }
    let integer = |key: &str| -> anyhow::Result<Option<i64>> {
        match stored.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| anyhow::anyhow!("setting {key} is not an integer: {value}")),
        }
    };
    let by_group = match stored.get(SCAN_INTERVAL_HOURS_BY_GROUP) {
        None => BTreeMap::new(),
        Some(value) => serde_json::from_value(value.clone()).map_err(|error| {
            anyhow::anyhow!("setting {SCAN_INTERVAL_HOURS_BY_GROUP} is invalid: {error}")
        })?,
    };
    Ok(Settings {
        finding_expiry_days: integer(FINDING_EXPIRY_DAYS)?.unwrap_or(DEFAULT_FINDING_EXPIRY_DAYS),
        host_stale_hours: integer(HOST_STALE_HOURS)?.unwrap_or(DEFAULT_HOST_STALE_HOURS),
        scan_interval_hours: integer(SCAN_INTERVAL_HOURS)?,
        scan_interval_hours_by_group: by_group,
    })
}

fn check_range(key: &str, value: i64, max: i64) -> Result<(), ApiError> {
    if !(1..=max).contains(&value) {
        return Err(ApiError::Unprocessable(format!(
            "{key} must be between 1 and {max}, not {value}"
        )));
    }
    Ok(())
}

/// Validates and stores a change, in one transaction with an audit row.
pub async fn update(
    store: &Store,
    actor: &str,
    update: SettingsUpdate,
) -> Result<Settings, ApiError> {
    let mut changes: Vec<(&str, Option<Value>)> = Vec::new();
    if let Some(days) = update.finding_expiry_days {
        if let Some(days) = days {
            check_range(FINDING_EXPIRY_DAYS, days, MAX_HOURS / 24)?;
        }
        changes.push((FINDING_EXPIRY_DAYS, days.map(Value::from)));
    }
    if let Some(hours) = update.host_stale_hours {
        if let Some(hours) = hours {
            check_range(HOST_STALE_HOURS, hours, MAX_HOURS)?;
        }
        changes.push((HOST_STALE_HOURS, hours.map(Value::from)));
    }
    if let Some(hours) = update.scan_interval_hours {
        if let Some(hours) = hours {
            check_range(SCAN_INTERVAL_HOURS, hours, MAX_HOURS)?;
        }
        changes.push((SCAN_INTERVAL_HOURS, hours.map(Value::from)));
    }
    if let Some(by_group) = update.scan_interval_hours_by_group {
        if let Some(by_group) = &by_group {
            for (group, hours) in by_group {
                if group.trim().is_empty() {
                    return Err(ApiError::Unprocessable(format!(
                        "{SCAN_INTERVAL_HOURS_BY_GROUP} has an empty group name"
                    )));
                }
                check_range(
                    &format!("{SCAN_INTERVAL_HOURS_BY_GROUP}.{group}"),
                    *hours,
                    MAX_HOURS,
                )?;
            }
        }
        changes.push((
            SCAN_INTERVAL_HOURS_BY_GROUP,
            by_group.map(|by_group| json!(by_group)),
        ));
    }

    let at = now();
    let mut transaction = store.pool().begin().await?;
    for (key, value) in &changes {
        sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(*key)
            .execute(&mut *transaction)
            .await?;
        if let Some(value) = value {
            sqlx::query("INSERT INTO settings (key, value_json, updated_by, updated_at) VALUES ($1, $2, $3, $4)")
                .bind(*key)
                .bind(value.to_string())
                .bind(actor)
                .bind(&at)
                .execute(&mut *transaction)
                .await?;
        }
    }
    let detail: serde_json::Map<String, Value> = changes
        .iter()
        .map(|(key, value)| (key.to_string(), value.clone().unwrap_or(Value::Null)))
        .collect();
    audit(
        &mut transaction,
        actor,
        "settings.update",
        None,
        Value::Object(detail),
    )
    .await?;
    transaction.commit().await?;
    Ok(load(store).await?)
}
