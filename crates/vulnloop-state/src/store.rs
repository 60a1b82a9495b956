//! The SQLite file behind [`StateDb`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::ignore::{IgnoreRule, RuleSource};
use crate::{StateError, Status};

/// Version of the table layout, kept in SQLite's `user_version`.
const LAYOUT_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    os TEXT NOT NULL,
    database_built_at TEXT,
    complete INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    new INTEGER NOT NULL,
    resolved INTEGER NOT NULL
);
CREATE INDEX scans_by_target ON scans (target, id);
CREATE TABLE scan_findings (
    scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    package TEXT NOT NULL,
    installed_version TEXT NOT NULL,
    fixed_version TEXT,
    severity TEXT NOT NULL,
    priority TEXT,
    ignored_by TEXT,
    PRIMARY KEY (scan_id, id, package)
) WITHOUT ROWID;
CREATE TABLE findings (
    target TEXT NOT NULL,
    id TEXT NOT NULL,
    package TEXT NOT NULL,
    status TEXT NOT NULL,
    since TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT,
    detail TEXT,
    PRIMARY KEY (target, id, package)
) WITHOUT ROWID;
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    id TEXT NOT NULL,
    package TEXT NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    scan_id INTEGER,
    journal TEXT
);
CREATE INDEX events_by_finding ON events (target, id, package);
CREATE TABLE ignores (
    number INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    package TEXT,
    target TEXT,
    reason TEXT NOT NULL,
    expires TEXT,
    created_at TEXT NOT NULL
);
";

/// Returns the default state file, `~/.local/state/vulnloop/state.db`.
pub fn default_path() -> PathBuf {
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|home| home.join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("vulnloop")
        .join("state.db")
}

/// A finding's identity within a target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FindingKey {
    /// Vulnerability id: the CVE, else the advisory id.
    pub id: String,
    /// Package the advisory names.
    pub package: String,
}

/// One finding as a scan reported it.
#[derive(Debug, Clone, Serialize)]
pub struct ScanFinding {
    #[serde(flatten)]
    pub key: FindingKey,
    pub installed_version: String,
    pub fixed_version: Option<String>,
    pub severity: String,
    pub priority: Option<String>,
    /// Reason of the ignore rule that applies to it.
    pub ignored_by: Option<String>,
}

/// A scan to record.
#[derive(Debug, Clone)]
pub struct ScanInput {
    pub target: String,
    /// RFC 3339 time of the scan.
    pub scanned_at: String,
    /// OS as reports print it (`debian 12`).
    pub os: String,
    pub database_built_at: Option<String>,
    /// Whether the database covered the whole system. An incomplete scan
    /// moves no finding to `no_longer_present`, because a finding missing
    /// for lack of advisory data would look resolved.
    pub complete: bool,
    pub findings: Vec<ScanFinding>,
}

/// A finding whose status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    #[serde(flatten)]
    pub key: FindingKey,
    pub from: Option<Status>,
    pub to: Status,
}

/// Result of recording a scan.
#[derive(Debug, Clone)]
pub struct ScanRecorded {
    pub scan: i64,
    /// Findings the target's previous scan did not report.
    pub new: usize,
    /// Findings the target's previous scan reported and this one does not.
    pub resolved: usize,
    pub changes: Vec<StatusChange>,
}

/// One recorded scan.
#[derive(Debug, Clone, Serialize)]
pub struct ScanRow {
    pub scan: i64,
    pub target: String,
    pub scanned_at: String,
    pub os: String,
    pub database_built_at: Option<String>,
    pub complete: bool,
    pub findings: usize,
    pub new: usize,
    pub resolved: usize,
}

/// One change in a finding's lifecycle.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub target: String,
    #[serde(flatten)]
    pub key: FindingKey,
    pub at: String,
    pub status: Status,
    pub detail: String,
    /// Scan that caused the change.
    pub scan: Option<i64>,
    /// Journal of the `fix --apply` or `fix --rollback` run that caused it.
    pub journal: Option<String>,
}

/// Current status of a finding.
#[derive(Debug, Clone, Serialize)]
pub struct FindingState {
    pub target: String,
    #[serde(flatten)]
    pub key: FindingKey,
    pub status: Status,
    /// When the finding reached its status.
    pub since: String,
    pub first_seen: String,
    pub last_seen: Option<String>,
    pub detail: Option<String>,
}

/// One finding in a diff: how the scan that has it reported it.
pub type DiffEntry = ScanFinding;

/// The findings that differ between two scans.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub from: ScanRow,
    pub to: ScanRow,
    /// Reported by `to` and not by `from`.
    pub new: Vec<DiffEntry>,
    /// Reported by `from` and not by `to`.
    pub resolved: Vec<DiffEntry>,
}

/// The state database.
pub struct StateDb {
    path: PathBuf,
    connection: Connection,
}

impl StateDb {
    /// Opens the state file at `path`, creating it and its directory when missing.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        if let Some(parent) = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty() && !p.exists())
        {
            create_private_dir(parent)?;
        }
        let open_error = |source| StateError::Open {
            path: path.to_path_buf(),
            source,
        };
        let connection = Connection::open(path).map_err(open_error)?;
        connection
            .busy_timeout(Duration::from_secs(30))
            .map_err(open_error)?;
        connection
            .pragma_update(None, "foreign_keys", true)
            .map_err(open_error)?;
        let mut state = Self {
            path: path.to_path_buf(),
            connection,
        };
        state.migrate()?;
        Ok(state)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        |source| StateError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&mut self) -> Result<(), StateError> {
        let path = self.path.clone();
        let sql = |source| StateError::Sql {
            path: path.clone(),
            source,
        };
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let version: i64 = transaction
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(sql)?;
        match version {
            0 => {
                transaction.execute_batch(SCHEMA).map_err(sql)?;
                transaction
                    .pragma_update(None, "user_version", LAYOUT_VERSION)
                    .map_err(sql)?;
            }
            LAYOUT_VERSION => {}
            found => {
                return Err(StateError::NewerLayout {
                    path: path.clone(),
                    found,
                    supported: LAYOUT_VERSION,
                });
            }
        }
        transaction.commit().map_err(sql)
    }

    /// Records a scan of a target and moves each finding's lifecycle on, in
    /// one transaction.
    pub fn record_scan(&mut self, input: &ScanInput) -> Result<ScanRecorded, StateError> {
        let path = self.path.clone();
        let sql = |source| StateError::Sql {
            path: path.clone(),
            source,
        };
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;

        let previous: Option<i64> = transaction
            .query_row(
                "SELECT max(id) FROM scans WHERE target = ?1",
                [&input.target],
                |row| row.get(0),
            )
            .map_err(sql)?;
        let before: BTreeSet<FindingKey> = match previous {
            Some(scan) => scan_keys(&transaction, scan).map_err(sql)?,
            None => BTreeSet::new(),
        };
        let mut reported: BTreeMap<FindingKey, &ScanFinding> = BTreeMap::new();
        for finding in &input.findings {
            reported.entry(finding.key.clone()).or_insert(finding);
        }
        let new = reported.keys().filter(|key| !before.contains(*key)).count();
        let resolved = before
            .iter()
            .filter(|key| !reported.contains_key(*key))
            .count();

        transaction
            .execute(
                "INSERT INTO scans (target, scanned_at, os, database_built_at, complete, findings, new, resolved)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    input.target,
                    input.scanned_at,
                    input.os,
                    input.database_built_at,
                    input.complete,
                    reported.len(),
                    new,
                    resolved
                ],
            )
            .map_err(sql)?;
        let scan = transaction.last_insert_rowid();

        let mut changes = Vec::new();
        {
            let mut insert = transaction
                .prepare(
                    "INSERT INTO scan_findings
                     (scan_id, id, package, installed_version, fixed_version, severity, priority, ignored_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(sql)?;
            for finding in reported.values() {
                insert
                    .execute(params![
                        scan,
                        finding.key.id,
                        finding.key.package,
                        finding.installed_version,
                        finding.fixed_version,
                        finding.severity,
                        finding.priority,
                        finding.ignored_by
                    ])
                    .map_err(sql)?;
            }

            let current = current_statuses(&transaction, &input.target).map_err(sql)?;
            let at = input.scanned_at.as_str();
            for (key, finding) in &reported {
                let ignored = finding.ignored_by.is_some();
                let next = match current.get(key) {
                    None => Some(if ignored {
                        Status::Ignored
                    } else {
                        Status::Unfixed
                    }),
                    Some(status) => status.on_reported(ignored),
                };
                let from = current.get(key).copied();
                if let Some(to) = next {
                    let detail = match (&finding.ignored_by, from) {
                        (Some(reason), _) => format!("ignored: {reason}"),
                        (None, None) => format!("first reported by scan {scan}"),
                        (None, Some(Status::Fixed)) => {
                            format!("still reported by scan {scan} after the fix")
                        }
                        (None, Some(Status::Ignored)) => {
                            format!("reported by scan {scan}; no ignore rule applies now")
                        }
                        (None, Some(_)) => format!("reported again by scan {scan}"),
                    };
                    let change = Change {
                        target: &input.target,
                        key,
                        to,
                        at,
                        detail: &detail,
                        scan: Some(scan),
                        journal: None,
                    };
                    change.write(&transaction).map_err(sql)?;
                    changes.push(StatusChange {
                        key: key.clone(),
                        from,
                        to,
                    });
                }
                transaction
                    .execute(
                        "UPDATE findings SET last_seen = ?4 WHERE target = ?1 AND id = ?2 AND package = ?3",
                        params![input.target, key.id, key.package, at],
                    )
                    .map_err(sql)?;
            }
            if input.complete {
                for (key, status) in &current {
                    if reported.contains_key(key) {
                        continue;
                    }
                    if let Some(to) = status.on_absent() {
                        let detail = format!("not reported by scan {scan}");
                        let change = Change {
                            target: &input.target,
                            key,
                            to,
                            at,
                            detail: &detail,
                            scan: Some(scan),
                            journal: None,
                        };
                        change.write(&transaction).map_err(sql)?;
                        changes.push(StatusChange {
                            key: key.clone(),
                            from: Some(*status),
                            to,
                        });
                    }
                }
            }
        }
        transaction.commit().map_err(sql)?;
        Ok(ScanRecorded {
            scan,
            new,
            resolved,
            changes,
        })
    }

    /// Moves the findings `keys` of `target` to `status`, recording `detail`
    /// and the journal of the run that caused it. A finding no scan has
    /// recorded yet is added.
    pub fn set_status(
        &mut self,
        target: &str,
        keys: &[FindingKey],
        status: Status,
        detail: &str,
        journal: Option<&str>,
    ) -> Result<Vec<StatusChange>, StateError> {
        let path = self.path.clone();
        let sql = |source| StateError::Sql {
            path: path.clone(),
            source,
        };
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let current = current_statuses(&transaction, target).map_err(sql)?;
        let at = now();
        let mut changes = Vec::new();
        for key in keys.iter().collect::<BTreeSet<_>>() {
            let from = current.get(key).copied();
            let change = Change {
                target,
                key,
                to: status,
                at: &at,
                detail,
                scan: None,
                journal,
            };
            change.write(&transaction).map_err(sql)?;
            changes.push(StatusChange {
                key: key.clone(),
                from,
                to: status,
            });
        }
        transaction.commit().map_err(sql)?;
        Ok(changes)
    }

    /// Returns the recorded scans, oldest first, of `target` or of every target.
    pub fn scans(&self, target: Option<&str>) -> Result<Vec<ScanRow>, StateError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT id, target, scanned_at, os, database_built_at, complete, findings, new, resolved
                 FROM scans WHERE ?1 IS NULL OR target = ?1 ORDER BY id",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map([target], scan_row)
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Returns one recorded scan.
    pub fn scan(&self, scan: i64) -> Result<ScanRow, StateError> {
        self.connection
            .query_row(
                "SELECT id, target, scanned_at, os, database_built_at, complete, findings, new, resolved
                 FROM scans WHERE id = ?1",
                [scan],
                scan_row,
            )
            .optional()
            .map_err(self.sql())?
            .ok_or(StateError::NoSuchScan(scan))
    }

    /// Returns the lifecycle events, oldest first, narrowed to a target and
    /// to findings whose id or package is `id_or_package`.
    pub fn events(
        &self,
        target: Option<&str>,
        id_or_package: Option<&str>,
    ) -> Result<Vec<Event>, StateError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT target, id, package, at, status, detail, scan_id, journal FROM events
                 WHERE (?1 IS NULL OR target = ?1) AND (?2 IS NULL OR id = ?2 COLLATE NOCASE OR package = ?2)
                 ORDER BY seq",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map(params![target, id_or_package], |row| {
                Ok(Event {
                    target: row.get(0)?,
                    key: FindingKey {
                        id: row.get(1)?,
                        package: row.get(2)?,
                    },
                    at: row.get(3)?,
                    status: status_column(row, 4)?,
                    detail: row.get(5)?,
                    scan: row.get(6)?,
                    journal: row.get(7)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Returns the current status of each finding of `target` (or of every target).
    pub fn findings(&self, target: Option<&str>) -> Result<Vec<FindingState>, StateError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT target, id, package, status, since, first_seen, last_seen, detail FROM findings
                 WHERE ?1 IS NULL OR target = ?1 ORDER BY target, package, id",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map([target], |row| {
                Ok(FindingState {
                    target: row.get(0)?,
                    key: FindingKey {
                        id: row.get(1)?,
                        package: row.get(2)?,
                    },
                    status: status_column(row, 3)?,
                    since: row.get(4)?,
                    first_seen: row.get(5)?,
                    last_seen: row.get(6)?,
                    detail: row.get(7)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Compares two scans. They may be of different targets, for example a
    /// host before and after a rebuild under a new name.
    pub fn diff(&self, from: i64, to: i64) -> Result<Diff, StateError> {
        let from_row = self.scan(from)?;
        let to_row = self.scan(to)?;
        let before = self.scan_findings(from)?;
        let after = self.scan_findings(to)?;
        let new = after
            .iter()
            .filter(|(key, _)| !before.contains_key(*key))
            .map(|(_, f)| f.clone())
            .collect();
        let resolved = before
            .iter()
            .filter(|(key, _)| !after.contains_key(*key))
            .map(|(_, f)| f.clone())
            .collect();
        Ok(Diff {
            from: from_row,
            to: to_row,
            new,
            resolved,
        })
    }

    fn scan_findings(&self, scan: i64) -> Result<BTreeMap<FindingKey, ScanFinding>, StateError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT id, package, installed_version, fixed_version, severity, priority, ignored_by
                 FROM scan_findings WHERE scan_id = ?1",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map([scan], |row| {
                let key = FindingKey {
                    id: row.get(0)?,
                    package: row.get(1)?,
                };
                Ok((
                    key.clone(),
                    ScanFinding {
                        key,
                        installed_version: row.get(2)?,
                        fixed_version: row.get(3)?,
                        severity: row.get(4)?,
                        priority: row.get(5)?,
                        ignored_by: row.get(6)?,
                    },
                ))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Adds an ignore rule and returns its number.
    pub fn add_ignore(&mut self, rule: &IgnoreRule) -> Result<i64, StateError> {
        rule.validate()?;
        self.connection
            .execute(
                "INSERT INTO ignores (id, package, target, reason, expires, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    rule.id,
                    rule.package,
                    rule.target,
                    rule.reason,
                    rule.expires.map(|d| d.format("%Y-%m-%d").to_string()),
                    now()
                ],
            )
            .map_err(self.sql())?;
        Ok(self.connection.last_insert_rowid())
    }

    /// Removes the ignore rule numbered `number` and returns it.
    pub fn remove_ignore(&mut self, number: i64) -> Result<IgnoreRule, StateError> {
        let rule = self
            .ignores()?
            .into_iter()
            .find(|rule| rule.source == RuleSource::State(number));
        let rule = rule.ok_or(StateError::NoSuchRule(number))?;
        self.connection
            .execute("DELETE FROM ignores WHERE number = ?1", [number])
            .map_err(self.sql())?;
        Ok(rule)
    }

    /// Returns the ignore rules of the state database, expired ones included.
    pub fn ignores(&self) -> Result<Vec<IgnoreRule>, StateError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT number, id, package, target, reason, expires FROM ignores ORDER BY number",
            )
            .map_err(self.sql())?;
        let rows = statement
            .query_map([], |row| {
                let expires: Option<String> = row.get(5)?;
                Ok(IgnoreRule {
                    source: RuleSource::State(row.get(0)?),
                    id: row.get(1)?,
                    package: row.get(2)?,
                    target: row.get(3)?,
                    reason: row.get(4)?,
                    expires: expires
                        .and_then(|text| NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()),
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }
}

/// A status change to write: the finding row and its event.
struct Change<'a> {
    target: &'a str,
    key: &'a FindingKey,
    to: Status,
    at: &'a str,
    detail: &'a str,
    scan: Option<i64>,
    journal: Option<&'a str>,
}

impl Change<'_> {
    fn write(&self, connection: &Connection) -> rusqlite::Result<()> {
        connection.execute(
            "INSERT INTO findings (target, id, package, status, since, first_seen, last_seen, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, NULL, ?6)
             ON CONFLICT (target, id, package) DO UPDATE SET status = ?4, since = ?5, detail = ?6",
            params![self.target, self.key.id, self.key.package, self.to.as_str(), self.at, self.detail],
        )?;
        connection.execute(
            "INSERT INTO events (target, id, package, at, status, detail, scan_id, journal)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                self.target,
                self.key.id,
                self.key.package,
                self.at,
                self.to.as_str(),
                self.detail,
                self.scan,
                self.journal
            ],
        )?;
        Ok(())
    }
}

fn scan_keys(connection: &Connection, scan: i64) -> rusqlite::Result<BTreeSet<FindingKey>> {
    let mut statement =
        connection.prepare("SELECT id, package FROM scan_findings WHERE scan_id = ?1")?;
    let rows = statement.query_map([scan], |row| {
        Ok(FindingKey {
            id: row.get(0)?,
            package: row.get(1)?,
        })
    })?;
    rows.collect()
}

fn current_statuses(
    connection: &Connection,
    target: &str,
) -> rusqlite::Result<BTreeMap<FindingKey, Status>> {
    let mut statement =
        connection.prepare("SELECT id, package, status FROM findings WHERE target = ?1")?;
    let rows = statement.query_map([target], |row| {
        Ok((
            FindingKey {
                id: row.get(0)?,
                package: row.get(1)?,
            },
            status_column(row, 2)?,
        ))
    })?;
    rows.collect()
}

fn scan_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ScanRow> {
    Ok(ScanRow {
        scan: row.get(0)?,
        target: row.get(1)?,
        scanned_at: row.get(2)?,
        os: row.get(3)?,
        database_built_at: row.get(4)?,
        complete: row.get(5)?,
        findings: row.get(6)?,
        new: row.get(7)?,
        resolved: row.get(8)?,
    })
}

fn status_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Status> {
    let text: String = row.get(index)?;
    Status::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown finding status {text:?}").into(),
        )
    })
}

fn create_private_dir(path: &Path) -> Result<(), StateError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| StateError::CreateDir {
            path: path.to_path_buf(),
            source,
        })
}

/// Returns the current time as RFC 3339 with seconds, as events store it.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
