//! The agent's local policy file, which decides whether fix tasks from the
//! server may run on this host.
//!
//! The file belongs to the host's administrator, so the server cannot widen
//! it. A missing file refuses every fix.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default location of the policy file (`--policy`).
pub const DEFAULT_POLICY: &str = "/etc/vulnloop/agent-policy.toml";

/// Default of `max_packages`.
const DEFAULT_MAX_PACKAGES: usize = 10;

/// Executor of an allowed fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Executor {
    /// Run the upgrade with the package manager, as `vulnloop fix --apply` does.
    Apply,
    /// Report the commands that would run, and run nothing.
    DryRun,
}

/// The policy file's contents.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Whether fix tasks may run at all.
    pub allow_fixes: bool,
    pub executor: Executor,
    /// Upgrade tools a fix may use: `apt`, `dnf`, `yum`, `zypper`.
    pub package_managers: Vec<String>,
    /// When present, the only packages (as the advisories name them, such as
    /// Debian source packages) that a fix may upgrade.
    #[serde(default)]
    pub packages: Option<Vec<String>>,
    /// Most packages one fix task may upgrade.
    #[serde(default = "default_max_packages")]
    pub max_packages: usize,
    /// Time limit of one upgrade command, in seconds.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

fn default_max_packages() -> usize {
    DEFAULT_MAX_PACKAGES
}

fn default_timeout_seconds() -> u64 {
    1800
}

/// The policy as loaded: a file's contents, or the reason every fix is refused.
#[derive(Debug, Clone)]
pub enum Loaded {
    Policy(Policy),
    /// No file, or one that cannot be read or parsed; the reason names the path.
    Refuse(String),
}

/// Reads the policy file at `path`. A missing or invalid file rejects every
/// fix, with a reason that names the file, so the server's task result shows it.
pub fn load(path: &Path) -> Loaded {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Loaded::Refuse(format!(
                "no policy file at {}, so this agent refuses fixes",
                path.display()
            ));
        }
        Err(error) => {
            return Loaded::Refuse(format!(
                "failed to read the policy file {}: {error}",
                path.display()
            ))
        }
    };
    match toml::from_str::<Policy>(&text) {
        Ok(policy) => Loaded::Policy(policy),
        Err(error) => Loaded::Refuse(format!("invalid policy file {}: {error}", path.display())),
    }
}

impl Policy {
    /// Returns why the policy refuses a fix with `package_manager` of
    /// `packages`, or `None` when it allows it.
    pub fn refusal(&self, path: &Path, package_manager: &str, packages: &[&str]) -> Option<String> {
        let path = path.display();
        if !self.allow_fixes {
            return Some(format!("the policy file {path} sets allow_fixes = false"));
        }
        if !self
            .package_managers
            .iter()
            .any(|allowed| allowed == package_manager)
        {
            return Some(format!(
                "the policy file {path} does not allow the package manager {package_manager}"
            ));
        }
        if packages.len() > self.max_packages {
            return Some(format!(
                "the fix upgrades {} packages, more than max_packages = {} in {path}",
                packages.len(),
                self.max_packages
            ));
        }
        if let Some(allowed) = &self.packages {
            let denied: Vec<&str> = packages
                .iter()
                .copied()
                .filter(|name| !allowed.iter().any(|a| a == name))
                .collect();
            if !denied.is_empty() {
                return Some(format!(
                    "the policy file {path} does not list the packages {}",
                    denied.join(", ")
                ));
            }
        }
        None
    }
}

/// Returns the policy path from `--policy`, or the default.
pub fn path(requested: Option<&Path>) -> PathBuf {
    requested.map_or_else(|| PathBuf::from(DEFAULT_POLICY), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn policy(text: &str) -> Policy {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn allows_listed_manager_and_package() {
        let policy = policy("allow_fixes = true\nexecutor = \"apply\"\npackage_managers = [\"apt\"]\npackages = [\"openssl\"]\n");
        assert_eq!(
            policy.refusal(Path::new("p.toml"), "apt", &["openssl"]),
            None
        );
        assert_eq!(policy.executor, Executor::Apply);
        assert_eq!(policy.max_packages, DEFAULT_MAX_PACKAGES);
    }

    #[test]
    fn refuses_outside_policy() {
        let policy = policy("allow_fixes = true\nexecutor = \"dry-run\"\npackage_managers = [\"apt\"]\npackages = [\"openssl\"]\nmax_packages = 1\n");
        let path = Path::new("p.toml");
        assert!(policy
            .refusal(path, "dnf", &["openssl"])
            .unwrap()
            .contains("package manager dnf"));
        assert!(policy
            .refusal(path, "apt", &["curl"])
            .unwrap()
            .contains("curl"));
        assert!(policy
            .refusal(path, "apt", &["openssl", "curl"])
            .unwrap()
            .contains("max_packages = 1"));
    }

    #[test]
    fn fixes_disabled_refuse() {
        let policy =
            policy("allow_fixes = false\nexecutor = \"apply\"\npackage_managers = [\"apt\"]\n");
        assert!(policy
            .refusal(Path::new("p.toml"), "apt", &["openssl"])
            .unwrap()
            .contains("allow_fixes = false"));
    }

    #[test]
    fn unknown_key_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(
            &path,
            "allow_fixes = true\nexecutor = \"apply\"\npackage_managers = []\nshell = \"rm\"\n",
        )
        .unwrap();
        match load(&path) {
            Loaded::Refuse(reason) => assert!(reason.contains("invalid policy file"), "{reason}"),
            Loaded::Policy(_) => panic!("an unknown key was accepted"),
        }
        match load(&dir.path().join("missing.toml")) {
            Loaded::Refuse(reason) => assert!(reason.contains("no policy file"), "{reason}"),
            Loaded::Policy(_) => panic!("a missing file gave a policy"),
        }
    }
}
