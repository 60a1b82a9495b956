//! Fix steps for web applications and bundled libraries.
//!
//! A step is data: the program and its arguments, the directory it works
//! on, and the version it should reach. WordPress core, plugins and themes
//! are updated with WP-CLI, Composer packages with `composer update`, and
//! npm packages with `npm install NAME@VERSION`. Applications and libraries
//! without such a tool (phpMyAdmin, MediaWiki, a JAR inside a WAR) get the
//! version to deploy. `vulnloop fix --apply` runs none of them: a site's
//! update touches its database and files in ways only its owner can judge.
//!
//! Findings on applications that an OS package owns get no step here, since
//! upgrading that package through the package manager is the fix.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use vulnloop_inventory::{AppEcosystem, Application, ApplicationKind};
use vulnloop_match::{compare_app_versions, AppFinding, AppFindingStatus};

/// How to fix the findings of one application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppFixStep {
    /// Application or library name.
    pub name: String,
    pub ecosystem: AppEcosystem,
    /// Version file of the application.
    pub path: String,
    pub installed_version: String,
    /// Version that fixes every finding of the step, or `None` when an
    /// advisory names only its last affected version or no fix: then the
    /// newest release is the target.
    pub target_version: Option<String>,
    /// Program and arguments, run in no shell; empty when no tool applies.
    pub command: Vec<String>,
    /// Instruction for a person, in a sentence, also when there is no command.
    pub instruction: String,
    /// Vulnerability ids the step closes.
    pub closes: Vec<String>,
}

/// Builds one step per application with actionable findings, in path order.
pub fn app_steps(findings: &[AppFinding]) -> Vec<AppFixStep> {
    let mut by_application: BTreeMap<(&str, &str), Vec<&AppFinding>> = BTreeMap::new();
    for finding in findings.iter().filter(|finding| finding.is_actionable()) {
        by_application
            .entry((&finding.application.path, &finding.application.name))
            .or_default()
            .push(finding);
    }
    by_application.into_values().map(step).collect()
}

fn step(findings: Vec<&AppFinding>) -> AppFixStep {
    let application = &findings[0].application;
    let target_version = target(application.ecosystem, &findings);
    let (command, instruction) = command(application, target_version.as_deref());
    let mut closes: Vec<String> = findings.iter().map(|finding| finding.id.clone()).collect();
    closes.sort();
    closes.dedup();
    AppFixStep {
        name: application.name.clone(),
        ecosystem: application.ecosystem,
        path: application.path.clone(),
        installed_version: application.version.clone(),
        target_version,
        command,
        instruction,
        closes,
    }
}

/// The highest fixed version, unless some finding has no fixed version.
fn target(ecosystem: AppEcosystem, findings: &[&AppFinding]) -> Option<String> {
    let mut highest: Option<&str> = None;
    for finding in findings {
        let AppFindingStatus::FixAvailable { fixed } = &finding.status else {
            return None;
        };
        let higher = highest.is_none_or(|current| {
            compare_app_versions(ecosystem, fixed, current) == Some(std::cmp::Ordering::Greater)
        });
        if higher {
            highest = Some(fixed);
        }
    }
    highest.map(str::to_string)
}

/// Returns whether a name can be passed as an argument: no option look-alike, no spaces.
fn is_safe_argument(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '@' | '+' | ':' | '~')
        })
}

fn parent(path: &str, levels: usize) -> String {
    let mut current = Path::new(path);
    for _ in 0..levels {
        current = current.parent().unwrap_or(current);
    }
    current.display().to_string()
}

fn command(application: &Application, target: Option<&str>) -> (Vec<String>, String) {
    let name = &application.name;
    let version_text = target.map_or("the newest release".to_string(), |version| {
        format!("version {version} or later")
    });
    let deploy = || {
        (
            Vec::new(),
            format!(
                "deploy {version_text} of {name} (found at {})",
                application.path
            ),
        )
    };
    if !is_safe_argument(name) || target.is_some_and(|version| !is_safe_argument(version)) {
        return deploy();
    }
    let wordpress_dir = |levels| {
        application
            .bundled_in
            .clone()
            .unwrap_or_else(|| parent(&application.path, levels))
    };
    let mut argv: Vec<String> = match (application.ecosystem, application.kind) {
        (AppEcosystem::WordpressCore, _) => {
            let mut argv = vec!["wp".into(), "core".into(), "update".into()];
            argv.extend(target.map(|version| format!("--version={version}")));
            argv.push(format!("--path={}", parent(&application.path, 2)));
            argv
        }
        (AppEcosystem::WordpressPlugin, _) | (AppEcosystem::WordpressTheme, _) => {
            let noun = if application.ecosystem == AppEcosystem::WordpressPlugin {
                "plugin"
            } else {
                "theme"
            };
            // The version file is wp-content/plugins/SLUG/FILE: four levels below the site.
            let mut argv = vec!["wp".into(), noun.into(), "update".into(), name.clone()];
            argv.extend(target.map(|version| format!("--version={version}")));
            argv.push(format!("--path={}", wordpress_dir(4)));
            argv
        }
        (AppEcosystem::Packagist, ApplicationKind::Library) if !application.path.contains('!') => {
            let project = composer_project(&application.path);
            vec![
                "composer".into(),
                "update".into(),
                name.clone(),
                "--with-dependencies".into(),
                format!("--working-dir={project}"),
            ]
        }
        (AppEcosystem::Npm, _) if !application.path.contains('!') => {
            let spec = match target {
                Some(version) => format!("{name}@{version}"),
                None => format!("{name}@latest"),
            };
            vec![
                "npm".into(),
                "install".into(),
                spec,
                "--prefix".into(),
                npm_project(&application.path),
            ]
        }
        _ => return deploy(),
    };
    let instruction = format!("update {name} to {version_text}");
    argv.shrink_to_fit();
    (argv, instruction)
}

/// Returns the project directory of a Composer lock file or of `vendor/composer/installed.json`.
fn composer_project(path: &str) -> String {
    if path.ends_with("/vendor/composer/installed.json") {
        parent(path, 3)
    } else {
        parent(path, 1)
    }
}

/// Returns the project directory of `package-lock.json` or of `node_modules/NAME/package.json`.
fn npm_project(path: &str) -> String {
    match path.find("/node_modules/") {
        Some(index) => path[..index].to_string(),
        None => parent(path, 1),
    }
}

#[cfg(test)]
mod tests {
    use vulnloop_advisory::Severity;
    use vulnloop_match::Evidence;

    use super::*;

    fn finding(application: &Application, id: &str, status: AppFindingStatus) -> AppFinding {
        AppFinding {
            id: id.into(),
            advisory_id: id.into(),
            source: "test".into(),
            cves: vec![],
            title: None,
            severity: Severity::High,
            severity_raw: None,
            url: None,
            application: application.clone(),
            status,
            affected_range: "< 1".into(),
            evidence: Evidence {
                found_in: vec![],
                record: String::new(),
                comparison: String::new(),
                other_records: vec![],
            },
        }
    }

    fn app(ecosystem: AppEcosystem, kind: ApplicationKind, name: &str, path: &str) -> Application {
        Application {
            kind,
            name: name.into(),
            version: "1.0".into(),
            ecosystem,
            path: path.into(),
            owner: None,
            bundled_in: None,
        }
    }

    #[test]
    fn wordpress_core_highest_fix() {
        let core = app(
            AppEcosystem::WordpressCore,
            ApplicationKind::Application,
            "wordpress",
            "/srv/blog/wp-includes/version.php",
        );
        let findings = [
            finding(
                &core,
                "CVE-1",
                AppFindingStatus::FixAvailable {
                    fixed: "6.1.10".into(),
                },
            ),
            finding(
                &core,
                "CVE-2",
                AppFindingStatus::FixAvailable {
                    fixed: "6.1.9".into(),
                },
            ),
        ];
        let steps = app_steps(&findings);
        assert_eq!(steps.len(), 1);
        assert_eq!(
            steps[0].command,
            [
                "wp",
                "core",
                "update",
                "--version=6.1.10",
                "--path=/srv/blog"
            ]
        );
        assert_eq!(steps[0].closes, ["CVE-1", "CVE-2"]);
    }

    #[test]
    fn plugin_without_fixed_version_goes_latest() {
        let mut plugin = app(
            AppEcosystem::WordpressPlugin,
            ApplicationKind::Plugin,
            "akismet",
            "/srv/blog/wp-content/plugins/akismet/readme.txt",
        );
        plugin.bundled_in = Some("/srv/blog".into());
        let findings = [
            finding(
                &plugin,
                "CVE-1",
                AppFindingStatus::FixAvailable {
                    fixed: "3.1.5".into(),
                },
            ),
            finding(
                &plugin,
                "CVE-2",
                AppFindingStatus::FixedAfter {
                    last_affected: "5.0".into(),
                },
            ),
        ];
        let steps = app_steps(&findings);
        assert_eq!(steps[0].target_version, None);
        assert_eq!(
            steps[0].command,
            ["wp", "plugin", "update", "akismet", "--path=/srv/blog"]
        );
    }

    #[test]
    fn libraries_and_deploy_only() {
        let composer = app(
            AppEcosystem::Packagist,
            ApplicationKind::Library,
            "guzzlehttp/guzzle",
            "/srv/app/vendor/composer/installed.json",
        );
        let npm = app(
            AppEcosystem::Npm,
            ApplicationKind::Library,
            "lodash",
            "/srv/js/node_modules/lodash/package.json",
        );
        let pma = app(
            AppEcosystem::Packagist,
            ApplicationKind::Application,
            "phpmyadmin/phpmyadmin",
            "/srv/pma/libraries/classes/Version.php",
        );
        let evil = app(
            AppEcosystem::Npm,
            ApplicationKind::Library,
            "--global",
            "/srv/x/package-lock.json",
        );
        let fixed = |version: &str| AppFindingStatus::FixAvailable {
            fixed: version.into(),
        };
        let findings = [
            finding(&composer, "A", fixed("7.4.5")),
            finding(&npm, "B", fixed("4.17.21")),
            finding(&pma, "C", fixed("5.2.2")),
            finding(&evil, "D", fixed("1.0.1")),
        ];
        let steps = app_steps(&findings);
        let by_name = |name: &str| steps.iter().find(|s| s.name == name).expect("step");
        assert_eq!(
            by_name("guzzlehttp/guzzle").command,
            [
                "composer",
                "update",
                "guzzlehttp/guzzle",
                "--with-dependencies",
                "--working-dir=/srv/app"
            ]
        );
        assert_eq!(
            by_name("lodash").command,
            ["npm", "install", "lodash@4.17.21", "--prefix", "/srv/js"]
        );
        assert!(by_name("phpmyadmin/phpmyadmin").command.is_empty());
        assert!(by_name("phpmyadmin/phpmyadmin")
            .instruction
            .starts_with("deploy version 5.2.2 or later of phpmyadmin/phpmyadmin"));
        assert!(
            by_name("--global").command.is_empty(),
            "a name that looks like an option is never an argument"
        );
    }

    #[test]
    fn packaged_findings_get_no_step() {
        let mut core = app(
            AppEcosystem::WordpressCore,
            ApplicationKind::Application,
            "wordpress",
            "/usr/share/wordpress/wp-includes/version.php",
        );
        core.owner = Some(vulnloop_inventory::OwningPackage {
            manager: vulnloop_inventory::PackageManager::Dpkg,
            name: "wordpress".into(),
            version: "6.1.9".into(),
        });
        let findings = [finding(
            &core,
            "CVE-1",
            AppFindingStatus::DistributionDecides {
                package: "wordpress".into(),
                package_version: "6.1.9".into(),
            },
        )];
        assert!(app_steps(&findings).is_empty());
    }
}
