//! Re-matching after an advisory database update: find the package names
//! whose advisory records changed, and match again only the hosts that have
//! one.
//!
//! The matcher looks a package up by (release, kind, name). Each host row
//! stores the release and the package names of its last matched upload
//! (`package_release`, `package_names`); every name is compared in both
//! kinds. A release whose feeds or pattern records changed affects every
//! host of that release, and a host whose names are not stored is matched
//! again after any change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::Row;
use vulnloop_advisory::{Ecosystem, PackageKind};
use vulnloop_db::Database;
use vulnloop_inventory::Inventory;
use vulnloop_match::{AdvisoryIndex, Candidate};

use crate::matching::{FileStamp, OpenDatabase};
use crate::store::{audit, now, text};
use crate::{ingest, secret, AppState};

/// Result of one re-matching run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RematchSummary {
    /// Package names held by some host whose advisory records differ
    /// between the databases, counted once per release.
    pub changed_packages: usize,
    /// Releases whose feeds or pattern records differ, so all their hosts were matched again.
    pub changed_releases: usize,
    /// Hosts matched again.
    pub hosts_rematched: usize,
    /// Hosts that hold a stored inventory but were left alone.
    pub hosts_unchanged: usize,
    /// Hosts that could not be matched again; the log names each one and its error.
    pub hosts_failed: usize,
}

/// The release key of an inventory and the names under which the matcher
/// looks up its packages: each package's binary and source name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageNames {
    /// The release key, such as `debian:12`.
    pub release: String,
    pub names: BTreeSet<String>,
}

impl PackageNames {
    /// Returns the names of `inventory`, or `None` when its OS has no
    /// version, so that no release key exists.
    ///
    /// A name with a line break cannot be stored one per line; no feed
    /// names such a package, so it is left out.
    pub fn of(inventory: &Inventory) -> Option<Self> {
        let os = &inventory.host.os;
        let release = os.version_id.as_deref()?;
        let ecosystem = Ecosystem::new(&os.id, &vulnloop_match::release_key(&os.id, release));
        let names = inventory
            .packages
            .iter()
            .flat_map(|package| [package.name.as_str(), package.source_name()])
            .filter(|name| !name.contains('\n'))
            .map(str::to_string)
            .collect();
        Some(Self {
            release: ecosystem.as_str().to_string(),
            names,
        })
    }

    /// Returns the names as `hosts.package_names` stores them: sorted, one per line.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for name in &self.names {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(name);
        }
        text
    }
}

/// Reads the names of a `hosts.package_names` value.
fn stored_names(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|name| !name.is_empty())
}

/// Re-matches the hosts affected by the change from the database `old` to the
/// database at `new_path`, and returns what it did.
///
/// Each host's findings are updated in its own transaction, with the same
/// status rules as an upload and an audit row `host.rematch`. This is the
/// entry point for a background job runner.
pub async fn rematch_changed(
    state: &AppState,
    old_path: &Path,
    new_path: &Path,
) -> anyhow::Result<RematchSummary> {
    let old = Database::open(old_path).with_context(|| {
        format!(
            "failed to open the old advisory database {}",
            old_path.display()
        )
    })?;
    rematch_from(state, old, new_path).await
}

/// Like [`rematch_changed`], with the old database already open. An open
/// handle keeps reading the file it opened even after `vulnloop db update`
/// renamed a new file over its path.
pub async fn rematch_from(
    state: &AppState,
    old: Database,
    new_path: &Path,
) -> anyhow::Result<RematchSummary> {
    let keys = stored_keys(state).await?;
    let new_path = new_path.to_path_buf();
    let (changed_keys, changed_releases) = tokio::task::spawn_blocking(move || {
        let new = Database::open(&new_path).with_context(|| {
            format!(
                "failed to open the new advisory database {}",
                new_path.display()
            )
        })?;
        changed_keys(&old, &new, &keys)
    })
    .await
    .context("comparison task failed")??;

    let hosts = affected_hosts(state, &changed_keys, &changed_releases).await?;
    let total: i64 = sqlx::query("SELECT COUNT(*) FROM hosts WHERE inventory_json IS NOT NULL")
        .fetch_one(state.store.pool())
        .await?
        .try_get(0)?;
    let mut summary = RematchSummary {
        changed_packages: changed_keys.values().map(BTreeSet::len).sum(),
        changed_releases: changed_releases.len(),
        ..RematchSummary::default()
    };
    for host_id in &hosts {
        match rematch_host(state, host_id).await {
            Ok(()) => summary.hosts_rematched += 1,
            Err(error) => {
                summary.hosts_failed += 1;
                tracing::error!(host = %host_id, error = format!("{error:#}"), "re-matching a host failed");
            }
        }
    }
    summary.hosts_unchanged = usize::try_from(total)
        .unwrap_or(0)
        .saturating_sub(hosts.len());
    tracing::info!(?summary, "re-matching finished");
    Ok(summary)
}

/// Returns every stored package name, grouped by release.
///
/// This and [`affected_hosts`] read every host row, so they use the reader
/// pool: on SQLite, uploads then do not wait for the scan.
async fn stored_keys(state: &AppState) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut rows = sqlx::query(
        "SELECT package_release, package_names FROM hosts
         WHERE package_release IS NOT NULL AND package_names IS NOT NULL",
    )
    .fetch(state.store.reader());
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    while let Some(row) = rows.try_next().await? {
        let release: String = row.try_get("package_release")?;
        let names: String = row.try_get("package_names")?;
        let known = keys.entry(release).or_default();
        for name in stored_names(&names) {
            if !known.contains(name) {
                known.insert(name.to_string());
            }
        }
    }
    Ok(keys)
}

/// Compares the records of every stored name, in both kinds, in both
/// databases. Returns the changed names by release and the releases that
/// changed as a whole.
fn changed_keys(
    old: &Database,
    new: &Database,
    keys: &BTreeMap<String, BTreeSet<String>>,
) -> anyhow::Result<(BTreeMap<String, BTreeSet<String>>, BTreeSet<String>)> {
    let mut changed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut releases = BTreeSet::new();
    for (release, names) in keys {
        let ecosystem = Ecosystem::parse(release)
            .with_context(|| format!("a host holds the invalid release {release:?}"))?;
        let sources = |database: &Database| -> anyhow::Result<Vec<(String, Option<String>)>> {
            Ok(database
                .sources_for(&ecosystem)?
                .into_iter()
                .map(|source| (source.name, source.snapshot))
                .collect())
        };
        let release_changed = sources(old)? != sources(new)?
            || canonical(old.pattern_candidates(&ecosystem)?)
                != canonical(new.pattern_candidates(&ecosystem)?);
        if release_changed {
            releases.insert(release.clone());
            continue;
        }
        for name in names {
            for kind in [PackageKind::Binary, PackageKind::Source] {
                let before = canonical(old.candidates(&ecosystem, kind, name)?);
                let after = canonical(new.candidates(&ecosystem, kind, name)?);
                if before != after {
                    changed
                        .entry(release.clone())
                        .or_default()
                        .insert(name.clone());
                    break;
                }
            }
        }
    }
    Ok((changed, releases))
}

/// Returns candidates in a form that compares equal when the records are the
/// same, whatever their order or the database's row ids.
fn canonical(candidates: Vec<Candidate>) -> Vec<String> {
    let mut texts: Vec<String> = candidates
        .iter()
        .map(|candidate| format!("{:?}|{:?}", candidate.advisory, candidate.affected))
        .collect();
    texts.sort_unstable();
    texts
}

/// Returns the hosts with a stored inventory that hold a changed name or
/// belong to a changed release, and those whose names are not stored.
async fn affected_hosts(
    state: &AppState,
    changed: &BTreeMap<String, BTreeSet<String>>,
    releases: &BTreeSet<String>,
) -> anyhow::Result<BTreeSet<String>> {
    let mut rows = sqlx::query(
        "SELECT id, package_release, package_names FROM hosts WHERE inventory_json IS NOT NULL",
    )
    .fetch(state.store.reader());
    let mut hosts = BTreeSet::new();
    while let Some(row) = rows.try_next().await? {
        let (Some(release), Some(names)) =
            (text(&row, "package_release")?, text(&row, "package_names")?)
        else {
            hosts.insert(row.try_get("id")?);
            continue;
        };
        let affected = releases.contains(&release)
            || changed
                .get(&release)
                .is_some_and(|changed| stored_names(&names).any(|name| changed.contains(name)));
        if affected {
            hosts.insert(row.try_get("id")?);
        }
    }
    Ok(hosts)
}

/// Matches a host's stored inventory again and records the findings.
async fn rematch_host(state: &AppState, host_id: &str) -> anyhow::Result<()> {
    let matcher = state
        .matcher
        .as_ref()
        .context("the server has no advisory database")?;
    let row = sqlx::query("SELECT inventory_json FROM hosts WHERE id = $1")
        .bind(host_id)
        .fetch_one(state.store.pool())
        .await?;
    let text: Option<String> = row.try_get("inventory_json")?;
    let text = text.context("the host has no stored inventory")?;
    let inventory = Inventory::from_json(&text, "stored inventory")
        .context("the stored inventory is invalid")?;
    let inventory = std::sync::Arc::new(inventory);
    let (report, _) = matcher
        .match_inventory(std::sync::Arc::clone(&inventory))
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;

    let match_id = secret::new_id()?;
    let at = now();
    let mut transaction = state.store.pool().begin().await?;
    // The names are those of the same inventory; they are written for the
    // hosts whose names are not stored yet.
    let names = PackageNames::of(&inventory);
    sqlx::query(
        "UPDATE hosts SET last_upload_id = $1, package_release = $2, package_names = $3 WHERE id = $4",
    )
    .bind(&match_id)
    .bind(names.as_ref().map(|names| names.release.clone()))
    .bind(names.as_ref().map(PackageNames::text))
    .bind(host_id)
    .execute(&mut *transaction)
    .await?;
    let summary = ingest::record_findings(
        &mut transaction,
        host_id,
        &inventory,
        &report,
        &match_id,
        &at,
    )
    .await
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    audit(
        &mut transaction,
        "server",
        "host.rematch",
        Some(host_id),
        summary,
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Watches the advisory database file and re-matches after each change,
/// checking every `interval`. Runs until the server stops.
///
/// A file replaced by a rename (what `vulnloop db update` does) is compared
/// with the handle opened before the change. A file rewritten in place left
/// no old copy to compare with, so every host with a stored inventory is
/// matched again.
pub async fn watch(state: AppState, interval: Duration) {
    let Some(matcher) = state.matcher.clone() else {
        return;
    };
    let path = matcher.path().to_path_buf();
    let instance_id = match secret::new_id() {
        Ok(id) => id,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "cannot watch the advisory database"
            );
            return;
        }
    };
    let mut baseline = match open_baseline(&path).await {
        Ok(baseline) => baseline,
        Err(error) => {
            tracing::error!(path = %path.display(), error = format!("{error:#}"), "cannot watch the advisory database");
            return;
        }
    };
    loop {
        tokio::time::sleep(interval).await;
        let stamp = match FileStamp::of(&path) {
            Ok(stamp) => stamp,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read the advisory database file; checking again later");
                continue;
            }
        };
        if stamp == baseline.stamp {
            continue;
        }
        tracing::info!(path = %path.display(), "advisory database changed; re-matching affected hosts");
        let next = match open_baseline(&path).await {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(path = %path.display(), error = format!("{error:#}"), "cannot open the changed advisory database; checking again later");
                continue;
            }
        };
        let built_at = match next.database.metadata() {
            Ok(metadata) => metadata.built_at,
            Err(error) => {
                tracing::error!(%error, "cannot read the build time of the changed advisory database; checking again later");
                continue;
            }
        };
        match claim(&state, &built_at, &instance_id).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!("another server re-matches the hosts for this advisory database");
                baseline = next;
                continue;
            }
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "cannot claim the re-matching; checking again later"
                );
                continue;
            }
        }
        let result = if stamp.same_file(&baseline.stamp) {
            rematch_all(&state).await
        } else {
            rematch_from(&state, baseline.database, &path).await
        };
        if let Err(error) = result {
            tracing::error!(
                error = format!("{error:#}"),
                "re-matching after an advisory database change failed"
            );
        }
        baseline = next;
    }
}

/// Claims the re-matching for the advisory database built at `built_at` in
/// the server database, so that of several servers sharing it only one
/// re-matches. Returns whether this server got the claim.
async fn claim(state: &AppState, built_at: &str, instance_id: &str) -> anyhow::Result<bool> {
    let claimed = sqlx::query(
        "INSERT INTO rematch_claims (database_built_at, instance_id, claimed_at) VALUES ($1, $2, $3)
         ON CONFLICT (database_built_at) DO NOTHING",
    )
    .bind(built_at)
    .bind(instance_id)
    .bind(now())
    .execute(state.store.pool())
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

async fn open_baseline(path: &Path) -> anyhow::Result<OpenDatabase> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let stamp = FileStamp::of(&path)?;
        let database = Database::open(&path)?;
        anyhow::Ok(OpenDatabase { stamp, database })
    })
    .await?
}

/// Re-matches every host with a stored inventory.
pub async fn rematch_all(state: &AppState) -> anyhow::Result<RematchSummary> {
    let rows = sqlx::query("SELECT id FROM hosts WHERE inventory_json IS NOT NULL ORDER BY id")
        .fetch_all(state.store.pool())
        .await?;
    let mut summary = RematchSummary::default();
    for row in rows {
        let host_id: String = row.try_get("id")?;
        match rematch_host(state, &host_id).await {
            Ok(()) => summary.hosts_rematched += 1,
            Err(error) => {
                summary.hosts_failed += 1;
                tracing::error!(host = %host_id, error = format!("{error:#}"), "re-matching a host failed");
            }
        }
    }
    Ok(summary)
}

/// Starts [`watch`] on the server's runtime.
pub fn spawn_watch(state: &AppState, interval: Duration) -> Option<tokio::task::JoinHandle<()>> {
    state.matcher.as_ref()?;
    let state = state.clone();
    Some(tokio::spawn(async move { watch(state, interval).await }))
}
