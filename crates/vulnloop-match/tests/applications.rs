//! Application matching rules on hand-written advisories.

use std::collections::HashMap;

use vulnloop_advisory::{AppAdvisory, Bound, Operator, Severity, VersionRange};
use vulnloop_inventory::{
    AppEcosystem, Application, ApplicationKind, OwningPackage, PackageManager,
};
use vulnloop_match::{match_applications, AppAdvisoryIndex, AppFindingStatus};

#[derive(Default)]
struct Index(HashMap<(AppEcosystem, String), Vec<AppAdvisory>>);

impl AppAdvisoryIndex for Index {
    type Error = std::io::Error;

    fn app_advisories(
        &self,
        ecosystem: AppEcosystem,
        package: &str,
    ) -> Result<Vec<AppAdvisory>, Self::Error> {
        Ok(self
            .0
            .get(&(ecosystem, package.to_string()))
            .cloned()
            .unwrap_or_default())
    }

    fn has_app_feed(&self, ecosystem: AppEcosystem) -> Result<bool, Self::Error> {
        Ok(self.0.keys().any(|(e, _)| *e == ecosystem))
    }
}

fn advisory(
    ecosystem: AppEcosystem,
    package: &str,
    id: &str,
    ranges: &[&[(Operator, &str)]],
) -> AppAdvisory {
    AppAdvisory {
        source: "test".into(),
        id: id.into(),
        cves: vec![format!("CVE-2099-{id}")],
        title: None,
        severity: Severity::High,
        severity_raw: None,
        url: None,
        modified: None,
        ecosystem,
        package: package.into(),
        ranges: ranges
            .iter()
            .map(|bounds| VersionRange {
                bounds: bounds
                    .iter()
                    .map(|(operator, version)| Bound {
                        operator: *operator,
                        version: version.to_string(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn app(ecosystem: AppEcosystem, name: &str, version: &str) -> Application {
    Application {
        kind: ApplicationKind::Plugin,
        name: name.into(),
        version: version.into(),
        ecosystem,
        path: format!("/srv/{name}/readme.txt"),
        owner: None,
        bundled_in: None,
    }
}

fn index() -> Index {
    let mut index = Index::default();
    let plugin = AppEcosystem::WordpressPlugin;
    index.0.insert(
        (plugin, "contact-form-7".into()),
        vec![
            advisory(
                plugin,
                "contact-form-7",
                "1",
                &[&[(Operator::Less, "5.3.2")]],
            ),
            advisory(
                plugin,
                "contact-form-7",
                "2",
                &[&[(Operator::LessOrEqual, "5.8.3")]],
            ),
            advisory(
                plugin,
                "contact-form-7",
                "3",
                &[
                    &[(Operator::GreaterOrEqual, "4.0"), (Operator::Less, "4.1")],
                    &[(Operator::GreaterOrEqual, "5.0")],
                ],
            ),
        ],
    );
    index.0.insert(
        (AppEcosystem::Npm, "lodash".into()),
        vec![advisory(
            AppEcosystem::Npm,
            "lodash",
            "4",
            &[&[(Operator::Less, "4.17.21")]],
        )],
    );
    index
}

#[test]
fn vulnerable_plugin_reported() {
    let report = match_applications(
        &[app(
            AppEcosystem::WordpressPlugin,
            "contact-form-7",
            "5.3.1",
        )],
        &index(),
    )
    .unwrap();
    let statuses: Vec<(&str, &AppFindingStatus)> = report
        .findings
        .iter()
        .map(|f| (f.advisory_id.as_str(), &f.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (
                "1",
                &AppFindingStatus::FixAvailable {
                    fixed: "5.3.2".into()
                }
            ),
            (
                "2",
                &AppFindingStatus::FixedAfter {
                    last_affected: "5.8.3".into()
                }
            ),
            ("3", &AppFindingStatus::NoFixYet),
        ]
    );
    assert_eq!(
        report.findings[0].evidence.comparison,
        "installed 5.3.1 < fixed 5.3.2 (PHP version_compare ordering)"
    );
}

#[test]
fn newer_plugin_only_open_range() {
    let report = match_applications(
        &[app(AppEcosystem::WordpressPlugin, "contact-form-7", "5.9")],
        &index(),
    )
    .unwrap();
    let ids: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.advisory_id.as_str())
        .collect();
    assert_eq!(ids, ["3"]);
    let report = match_applications(
        &[app(AppEcosystem::WordpressPlugin, "contact-form-7", "4.5")],
        &index(),
    )
    .unwrap();
    let ids: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.advisory_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["1", "2"],
        "4.5 is past the 4.0 branch range and before the open 5.0 range"
    );
}

#[test]
fn packaged_application_left_to_distribution() {
    let mut packaged = app(AppEcosystem::WordpressPlugin, "contact-form-7", "5.3.1");
    packaged.owner = Some(OwningPackage {
        manager: PackageManager::Dpkg,
        name: "wordpress".into(),
        version: "6.1.9+dfsg1-0+deb12u1".into(),
    });
    let report = match_applications(&[packaged], &index()).unwrap();
    assert_eq!(report.findings.len(), 3);
    for finding in &report.findings {
        assert!(!finding.is_actionable());
        assert_eq!(
            finding.status,
            AppFindingStatus::DistributionDecides {
                package: "wordpress".into(),
                package_version: "6.1.9+dfsg1-0+deb12u1".into()
            }
        );
    }
}

#[test]
fn semver_and_unmatched_notes() {
    let applications = [
        app(AppEcosystem::Npm, "lodash", "4.17.20"),
        app(AppEcosystem::Npm, "lodash", "not-semver"),
        app(AppEcosystem::Unmatched, "roundcube/roundcubemail", "1.6.5"),
        app(AppEcosystem::Pypi, "django", "4.2.1"),
    ];
    let report = match_applications(&applications, &index()).unwrap();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(
        report.findings[0].status,
        AppFindingStatus::FixAvailable {
            fixed: "4.17.21".into()
        }
    );
    let notes: Vec<&str> = report.notes.iter().map(|n| n.message.as_str()).collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes[0].contains("invalid semver version \"not-semver\""),
        "{notes:?}"
    );
    assert!(
        notes[1].contains("roundcube/roundcubemail 1.6.5") && notes[1].contains("no advisory feed"),
        "{notes:?}"
    );
    assert!(notes[2].contains("pypi ecosystem"), "{notes:?}");
    assert!(
        report.notes[0].incomplete && !report.notes[1].incomplete && report.notes[2].incomplete
    );
}
