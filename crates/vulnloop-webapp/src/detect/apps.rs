//! Web applications recognized by a version file at a fixed place in their tree.

use std::sync::OnceLock;

use regex::Regex;
use vulnloop_inventory::{AppEcosystem, ApplicationKind};

use super::{capture, check_version, Detected, Directory, MAX_MARKER_BYTES};
use crate::error::DetectError;

/// One way to recognize an application: a file below its directory and the
/// pattern whose first group is the version.
struct Marker {
    /// Name in the ecosystem's advisories (the Packagist name where there is one).
    name: &'static str,
    ecosystem: AppEcosystem,
    file: &'static str,
    pattern: &'static str,
}

/// The markers, newest layout of each application first. Packagist names
/// are those of the FriendsOfPHP advisories (`mediawiki/core`,
/// `drupal/core` for Drupal 8 and later, `drupal/drupal` for Drupal 7).
const MARKERS: &[Marker] = &[
    Marker {
        name: "wordpress",
        ecosystem: AppEcosystem::WordpressCore,
        file: "wp-includes/version.php",
        pattern: r#"\$wp_version\s*=\s*['"]([^'"]*)['"]"#,
    },
    Marker {
        name: "phpmyadmin/phpmyadmin",
        ecosystem: AppEcosystem::Packagist,
        file: "libraries/classes/Version.php",
        pattern: r#"const\s+VERSION\s*=\s*['"]([^'"]*)['"]"#,
    },
    Marker {
        name: "phpmyadmin/phpmyadmin",
        ecosystem: AppEcosystem::Packagist,
        file: "libraries/Config.php",
        pattern: r#"'PMA_VERSION'\s*,\s*'([^']*)'"#,
    },
    Marker {
        name: "mediawiki/core",
        ecosystem: AppEcosystem::Packagist,
        file: "includes/Defines.php",
        pattern: r#"define\(\s*'MW_VERSION'\s*,\s*'([^']*)'"#,
    },
    Marker {
        name: "mediawiki/core",
        ecosystem: AppEcosystem::Packagist,
        file: "includes/DefaultSettings.php",
        pattern: r#"\$wgVersion\s*=\s*'([^']*)'"#,
    },
    Marker {
        name: "roundcube/roundcubemail",
        ecosystem: AppEcosystem::Unmatched,
        file: "program/include/iniset.php",
        pattern: r#"define\(\s*'RCMAIL_VERSION'\s*,\s*'([^']*)'"#,
    },
    Marker {
        name: "drupal/core",
        ecosystem: AppEcosystem::Packagist,
        file: "core/lib/Drupal.php",
        pattern: r#"const\s+VERSION\s*=\s*'([^']*)'"#,
    },
    Marker {
        name: "drupal/drupal",
        ecosystem: AppEcosystem::Packagist,
        file: "includes/bootstrap.inc",
        pattern: r#"define\(\s*'VERSION'\s*,\s*'([^']*)'"#,
    },
    Marker {
        name: "joomla/joomla-cms",
        ecosystem: AppEcosystem::Unmatched,
        file: "administrator/manifests/files/joomla.xml",
        pattern: r"<version>([^<]*)</version>",
    },
    Marker {
        name: "nextcloud/server",
        ecosystem: AppEcosystem::Unmatched,
        file: "version.php",
        pattern: r#"\$OC_VersionString\s*=\s*'([^']*)'"#,
    },
    Marker {
        name: "magento/product-community-edition",
        ecosystem: AppEcosystem::Packagist,
        file: "vendor/magento/magento2-base/composer.json",
        pattern: r#""version"\s*:\s*"([^"]*)""#,
    },
    Marker {
        name: "typo3/cms-core",
        ecosystem: AppEcosystem::Packagist,
        file: "typo3/sysext/core/Classes/Information/Typo3Version.php",
        pattern: r#"const\s+VERSION\s*=\s*'([^']*)'"#,
    },
    Marker {
        name: "typo3/cms",
        ecosystem: AppEcosystem::Packagist,
        file: "typo3/sysext/core/Classes/Core/SystemEnvironmentBuilder.php",
        pattern: r#"define\(\s*'TYPO3_version'\s*,\s*'([^']*)'"#,
    },
];

fn patterns() -> &'static Vec<Regex> {
    static PATTERNS: OnceLock<Vec<Regex>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        MARKERS
            .iter()
            .map(|marker| Regex::new(marker.pattern).expect("marker patterns are valid"))
            .collect()
    })
}

/// Recognizes the application whose tree starts at `dir`, if any.
pub fn detect(dir: &Directory<'_>) -> Result<Vec<Detected>, DetectError> {
    for (marker, pattern) in MARKERS.iter().zip(patterns()) {
        let Some((path, text)) = dir.read(marker.file, MAX_MARKER_BYTES)? else {
            continue;
        };
        // ownCloud ships the same version.php; only Nextcloud's names its vendor.
        if marker.file == "version.php" && !text.contains("'nextcloud'") {
            continue;
        }
        let Some((version, line)) = capture(&text, pattern) else {
            return Err(DetectError::new(
                &path,
                format!(
                    "no version found for {} (expected {})",
                    marker.name, marker.pattern
                ),
            ));
        };
        let version = check_version(&version, &format!("{path}:{line}"))?;
        return Ok(vec![Detected {
            kind: ApplicationKind::Application,
            name: marker.name.to_string(),
            version,
            ecosystem: marker.ecosystem,
            path,
            archive: None,
        }]);
    }
    magento1(dir)
}

/// Magento 1 states its version as an array in `app/Mage.php`.
fn magento1(dir: &Directory<'_>) -> Result<Vec<Detected>, DetectError> {
    let Some((path, text)) = dir.read("app/Mage.php", MAX_MARKER_BYTES)? else {
        return Ok(Vec::new());
    };
    let part = |key: &str| {
        let pattern = Regex::new(&format!(r"'{key}'\s*=>\s*'(\d*)'")).expect("valid pattern");
        capture(&text, &pattern).map(|(value, _)| value)
    };
    let (Some(major), Some(minor), Some(revision), Some(patch)) = (
        part("major"),
        part("minor"),
        part("revision"),
        part("patch"),
    ) else {
        return Err(DetectError::new(&path, "no version found for Magento 1 (expected 'major', 'minor', 'revision' and 'patch' in getVersionInfo)"));
    };
    Ok(vec![Detected {
        kind: ApplicationKind::Application,
        name: "magento/magento1ce".to_string(),
        version: format!("{major}.{minor}.{revision}.{patch}"),
        ecosystem: AppEcosystem::Packagist,
        path,
        archive: None,
    }])
}
