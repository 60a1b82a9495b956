//! The glue between the commands and the local state database: target
//! names, ignore rules and lifecycle updates.
//!
//! The state is a record, not a gate: when it cannot be opened or written,
//! the command warns and goes on, because the scan report and the apply
//! journal already hold what happened.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use vulnloop_inventory::Inventory;
use vulnloop_match::Finding;
use vulnloop_state::{FindingKey, IgnoreFile, IgnoreRule, RuleSource, StateDb, Status};

/// Returns the state file: `--state`, else the default path.
pub fn path(requested: Option<&Path>) -> PathBuf {
    requested
        .map(Path::to_path_buf)
        .unwrap_or_else(vulnloop_state::default_path)
}

/// Returns the target name of an inventory: the host name, followed by
/// `:ROOT` for a root filesystem other than `/`.
pub fn target_of(inventory: &Inventory) -> String {
    let host = inventory
        .host
        .hostname
        .as_deref()
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    match inventory.host.root.as_deref().filter(|root| *root != "/") {
        Some(root) => {
            let root = std::fs::canonicalize(root)
                .map_or_else(|_| root.to_string(), |p| p.display().to_string());
            format!("{host}:{root}")
        }
        None => host.to_string(),
    }
}

/// Returns the key the state database stores a finding under.
pub fn key_of(finding: &Finding) -> FindingKey {
    FindingKey {
        id: finding.id.clone(),
        package: finding.package.clone(),
    }
}

/// Opens the state database, warning and returning `None` when it cannot be opened.
pub fn open(path: &Path) -> Option<StateDb> {
    match StateDb::open(path) {
        Ok(state) => Some(state),
        Err(error) => {
            eprintln!("warning: the finding history is not recorded: {error}");
            None
        }
    }
}

/// The ignore rules in force for one command.
pub struct Ignores {
    rules: Vec<IgnoreRule>,
    today: NaiveDate,
}

/// A finding that an ignore rule hides.
pub struct IgnoredFinding {
    pub finding: Finding,
    pub rule: IgnoreRule,
}

impl Ignores {
    /// Loads the rules of the state database and of `file`.
    ///
    /// An unreadable or invalid ignore file is an error, because without it
    /// findings the user accepted would show up as new. A state database
    /// that cannot be read only loses its own rules, with a warning.
    pub fn load(
        state: Option<&StateDb>,
        file: Option<&Path>,
        today: NaiveDate,
    ) -> anyhow::Result<Self> {
        let mut rules = match state.map(StateDb::ignores) {
            Some(Ok(rules)) => rules,
            Some(Err(error)) => {
                eprintln!(
                    "warning: the ignore rules of the state database are not applied: {error}"
                );
                Vec::new()
            }
            None => Vec::new(),
        };
        if let Some(file) = file {
            rules.extend(IgnoreFile::read(file)?.rules);
        }
        Ok(Self { rules, today })
    }

    /// Splits `findings` of `target` into those shown and those an active
    /// rule ignores. Prints a warning for each expired rule that would
    /// have matched, since its findings show up again.
    pub fn split(
        &self,
        findings: Vec<Finding>,
        target: &str,
    ) -> (Vec<Finding>, Vec<IgnoredFinding>) {
        let mut shown = Vec::new();
        let mut ignored = Vec::new();
        let mut warned: Vec<&IgnoreRule> = Vec::new();
        for finding in findings {
            let ids = finding_ids(&finding);
            let packages = package_names(&finding);
            let matching = self
                .rules
                .iter()
                .filter(|rule| rule.matches(&ids, &packages, target));
            let (active, expired): (Vec<&IgnoreRule>, Vec<&IgnoreRule>) =
                matching.partition(|rule| rule.is_active(self.today));
            match active.first() {
                Some(rule) => ignored.push(IgnoredFinding {
                    finding,
                    rule: (*rule).clone(),
                }),
                None => {
                    for rule in expired {
                        if !warned.contains(&rule) {
                            warn_expired(rule);
                            warned.push(rule);
                        }
                    }
                    shown.push(finding);
                }
            }
        }
        (shown, ignored)
    }
}

fn finding_ids(finding: &Finding) -> Vec<&str> {
    let mut ids = vec![finding.id.as_str(), finding.advisory_id.as_str()];
    ids.extend(finding.cves.iter().map(String::as_str));
    ids
}

fn package_names(finding: &Finding) -> Vec<&str> {
    let mut names = vec![finding.package.as_str()];
    names.extend(finding.binaries.iter().map(|b| b.name.as_str()));
    names
}

fn warn_expired(rule: &IgnoreRule) {
    let expires = rule.expires.map(|d| d.to_string()).unwrap_or_default();
    eprintln!(
        "warning: the ignore rule for {} ({}) expired on {expires}, so its findings are shown again; \
         renew it with a later expiry or fix them",
        rule.id,
        describe_source(&rule.source)
    );
}

/// Describes where a rule comes from, as messages and reports name it.
pub fn describe_source(source: &RuleSource) -> String {
    match source {
        RuleSource::State(number) => format!("rule {number} of `vulnloop ignore list`"),
        RuleSource::File(path) => format!("ignore file {}", path.display()),
    }
}

/// Updates the lifecycle of findings, warning when the state cannot be written.
pub fn set_status(
    state: Option<&mut StateDb>,
    target: &str,
    keys: &[FindingKey],
    status: Status,
    detail: &str,
    journal: Option<&Path>,
) {
    let Some(state) = state else { return };
    let journal = journal.map(|p| p.display().to_string());
    if let Err(error) = state.set_status(target, keys, status, detail, journal.as_deref()) {
        eprintln!("warning: the finding history is not updated: {error}");
    }
}
