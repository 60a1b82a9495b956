//! Ignore rules: findings the user accepted, each with a reason and an
//! optional expiry date.
//!
//! Rules come from the state database (`vulnloop ignore add`) or from an
//! ignore file in TOML:
//!
//! ```toml
//! [[ignore]]
//! id = "CVE-2023-4911"       # CVE, vulnerability or advisory id
//! package = "glibc"          # optional: source or binary package name
//! target = "web-1"           # optional: host name or target as `vulnloop history` prints it
//! reason = "no setuid binaries run on this host"
//! expires = 2027-03-31       # optional: the last day the rule applies
//! ```

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::StateError;

/// Origin of an ignore rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum RuleSource {
    /// The state database, with the rule's number.
    State(i64),
    /// An ignore file.
    File(PathBuf),
}

/// One ignore rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoreRule {
    /// CVE, vulnerability or advisory id, compared without regard to case.
    pub id: String,
    /// Source or binary package name; `None` matches every package.
    pub package: Option<String>,
    /// Target (host name, or `host:root`); `None` matches every target.
    pub target: Option<String>,
    pub reason: String,
    /// Last day the rule applies; `None` for no expiry.
    pub expires: Option<NaiveDate>,
    pub source: RuleSource,
}

impl IgnoreRule {
    /// Checks the fields that every rule needs, whatever its source.
    pub fn validate(&self) -> Result<(), StateError> {
        if self.id.trim().is_empty() {
            return Err(StateError::InvalidRule(
                "the id is empty; give a CVE, vulnerability or advisory id".into(),
            ));
        }
        if self.reason.trim().is_empty() {
            return Err(StateError::InvalidRule(format!(
                "the rule for {} has no reason; say why the finding is accepted",
                self.id
            )));
        }
        Ok(())
    }

    /// Returns whether the rule still applies on `today`.
    pub fn is_active(&self, today: NaiveDate) -> bool {
        self.expires.is_none_or(|expires| today <= expires)
    }

    /// Returns whether the rule names a finding with these ids (vulnerability,
    /// advisory and CVE ids) and package names on `target`, whether or not it
    /// has expired.
    pub fn matches(&self, ids: &[&str], packages: &[&str], target: &str) -> bool {
        let id_ok = ids.iter().any(|id| id.eq_ignore_ascii_case(&self.id));
        let package_ok = self
            .package
            .as_deref()
            .is_none_or(|name| packages.contains(&name));
        let target_ok = self
            .target
            .as_deref()
            .is_none_or(|expected| target_matches(expected, target));
        id_ok && package_ok && target_ok
    }
}

/// Returns whether a rule's `expected` target names `target`: the same
/// string, or the host name part of a `host:root` target.
fn target_matches(expected: &str, target: &str) -> bool {
    expected == target
        || (!expected.contains(':')
            && target
                .split_once(':')
                .is_some_and(|(host, _)| host == expected))
}

/// The rules of one ignore file.
#[derive(Debug, Clone)]
pub struct IgnoreFile {
    pub path: PathBuf,
    pub rules: Vec<IgnoreRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLayout {
    #[serde(default)]
    ignore: Vec<FileRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    id: String,
    package: Option<String>,
    target: Option<String>,
    reason: Option<String>,
    expires: Option<toml::Value>,
}

impl IgnoreFile {
    /// Reads and checks an ignore file.
    pub fn read(path: &Path) -> Result<Self, StateError> {
        let text = std::fs::read_to_string(path).map_err(|source| StateError::ReadIgnoreFile {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the TOML text of an ignore file read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, StateError> {
        let invalid = |message: String| StateError::InvalidIgnoreFile {
            path: path.to_path_buf(),
            message,
        };
        let layout: FileLayout =
            toml::from_str(text).map_err(|error| invalid(toml_error(text, &error)))?;
        let mut rules = Vec::with_capacity(layout.ignore.len());
        for (index, rule) in layout.ignore.into_iter().enumerate() {
            let position = format!("[[ignore]] number {} (id {:?})", index + 1, rule.id);
            let expires = match rule.expires {
                None => None,
                Some(value) => Some(expiry_date(&value).ok_or_else(|| {
                    invalid(format!(
                        "{position}: invalid expires {value}; write a date such as 2027-03-31"
                    ))
                })?),
            };
            let rule = IgnoreRule {
                id: rule.id.trim().to_string(),
                package: rule.package,
                target: rule.target,
                reason: rule.reason.unwrap_or_default(),
                expires,
                source: RuleSource::File(path.to_path_buf()),
            };
            rule.validate()
                .map_err(|error| invalid(format!("{position}: {error}")))?;
            rules.push(rule);
        }
        Ok(Self {
            path: path.to_path_buf(),
            rules,
        })
    }
}

/// Reads an expiry written as a TOML date or as a `YYYY-MM-DD` string.
fn expiry_date(value: &toml::Value) -> Option<NaiveDate> {
    let text = match value {
        toml::Value::Datetime(datetime) => {
            let date = datetime.date?;
            if datetime.time.is_some() {
                return None;
            }
            return NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            );
        }
        toml::Value::String(text) => text,
        _ => return None,
    };
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Formats a TOML error with the line number, because the error's own text
/// spans several lines.
fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim();
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        id: &str,
        package: Option<&str>,
        target: Option<&str>,
        expires: Option<&str>,
    ) -> IgnoreRule {
        IgnoreRule {
            id: id.into(),
            package: package.map(String::from),
            target: target.map(String::from),
            reason: "accepted".into(),
            expires: expires.map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap_or_default()),
            source: RuleSource::State(1),
        }
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn rule_matches_cve_of_finding() {
        let rule = rule("cve-2024-0001", None, None, None);
        assert!(rule.matches(&["DSA-1-1", "CVE-2024-0001"], &["openssl"], "web-1"));
        assert!(!rule.matches(&["CVE-2024-0002"], &["openssl"], "web-1"));
    }

    #[test]
    fn rule_narrowed_to_package() {
        let rule = rule("CVE-2024-0001", Some("libssl3"), None, None);
        assert!(rule.matches(&["CVE-2024-0001"], &["openssl", "libssl3"], "web-1"));
        assert!(!rule.matches(&["CVE-2024-0001"], &["curl"], "web-1"));
    }

    #[test]
    fn rule_host_matches_its_roots() {
        let rule = rule("CVE-2024-0001", None, Some("web-1"), None);
        assert!(rule.matches(&["CVE-2024-0001"], &[], "web-1"));
        assert!(rule.matches(&["CVE-2024-0001"], &[], "web-1:/srv/chroot"));
        assert!(!rule.matches(&["CVE-2024-0001"], &[], "web-2"));
    }

    #[test]
    fn expiry_day_is_last_active() {
        let rule = rule("CVE-2024-0001", None, None, Some("2027-03-31"));
        assert!(rule.is_active(day("2027-03-31")));
        assert!(!rule.is_active(day("2027-04-01")));
    }

    #[test]
    fn file_with_dates_parses() {
        let text = r#"
[[ignore]]
id = "CVE-2023-4911"
package = "glibc"
reason = "no setuid binaries"
expires = 2027-03-31

[[ignore]]
id = "CVE-2024-0001"
reason = "mitigated by the firewall"
expires = "2026-12-31"
"#;
        let file =
            IgnoreFile::parse(text, Path::new("ignore.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.rules.len(), 2);
        assert_eq!(file.rules[0].expires, Some(day("2027-03-31")));
        assert_eq!(file.rules[0].package.as_deref(), Some("glibc"));
        assert_eq!(file.rules[1].expires, Some(day("2026-12-31")));
    }

    #[test]
    fn file_rule_without_reason_rejected() {
        let text = "[[ignore]]\nid = \"CVE-2023-4911\"\n";
        let error = IgnoreFile::parse(text, Path::new("ignore.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("ignore.toml"), "{error}");
        assert!(error.contains("number 1"), "{error}");
        assert!(error.contains("no reason"), "{error}");
    }

    #[test]
    fn file_bad_date_names_value() {
        let text = "[[ignore]]\nid = \"CVE-1\"\nreason = \"r\"\nexpires = \"31/03/2027\"\n";
        let error = IgnoreFile::parse(text, Path::new("ignore.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("\"31/03/2027\""), "{error}");
    }

    #[test]
    fn file_syntax_error_names_line() {
        let text = "[[ignore]]\nid = \"CVE-1\"\nreason = \n";
        let error = IgnoreFile::parse(text, Path::new("ignore.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("line 3"), "{error}");
    }

    #[test]
    fn file_unknown_key_rejected() {
        let text = "[[ignore]]\nid = \"CVE-1\"\nreason = \"r\"\nexpiry = 2027-01-01\n";
        let error = IgnoreFile::parse(text, Path::new("ignore.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("expiry"), "{error}");
    }
}
