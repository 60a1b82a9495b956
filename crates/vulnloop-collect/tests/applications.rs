//! Web applications on this machine, owned by Debian packages.
//!
//! `.ci/run` installs Debian's `wordpress`, `phpmyadmin`, `mediawiki` and
//! `roundcube-core`; the test fails when they are missing rather than
//! passing on nothing.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use vulnloop_collect::{collect_with_applications, CollectOptions};
use vulnloop_inventory::{AppEcosystem, PackageManager};
use vulnloop_webapp::DiscoveryOptions;

#[test]
fn debian_packaged_applications_found() {
    for file in [
        "/usr/share/wordpress/wp-includes/version.php",
        "/usr/share/phpmyadmin/libraries/classes/Version.php",
        "/usr/share/mediawiki/includes/Defines.php",
        "/usr/share/roundcube/program/include/iniset.php",
    ] {
        assert!(
            std::path::Path::new(file).is_file(),
            "{file} is missing: install Debian's wordpress, phpmyadmin, mediawiki and roundcube-core (see .ci/run)"
        );
    }
    let options = CollectOptions {
        root: PathBuf::from("/"),
        os_override: None,
    };
    let inventory =
        collect_with_applications(&options, &DiscoveryOptions::new(PathBuf::from("/"))).unwrap();

    let installed = |name: &str| {
        inventory
            .packages
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .version
            .clone()
    };
    let expected = [
        (
            "wordpress",
            AppEcosystem::WordpressCore,
            "/usr/share/wordpress/wp-includes/version.php",
            "wordpress",
        ),
        (
            "phpmyadmin/phpmyadmin",
            AppEcosystem::Packagist,
            "/usr/share/phpmyadmin/libraries/classes/Version.php",
            "phpmyadmin",
        ),
        (
            "mediawiki/core",
            AppEcosystem::Packagist,
            "/usr/share/mediawiki/includes/Defines.php",
            "mediawiki",
        ),
        (
            "roundcube/roundcubemail",
            AppEcosystem::Unmatched,
            "/usr/share/roundcube/program/include/iniset.php",
            "roundcube-core",
        ),
    ];
    for (name, ecosystem, path, package) in expected {
        let app = inventory
            .applications
            .iter()
            .find(|app| app.name == name && app.path == path)
            .unwrap_or_else(|| {
                panic!(
                    "{name} at {path} not found in {:#?}",
                    inventory.applications
                )
            });
        assert_eq!(app.ecosystem, ecosystem);
        let owner = app
            .owner
            .as_ref()
            .unwrap_or_else(|| panic!("{name} has no owner"));
        assert_eq!(owner.manager, PackageManager::Dpkg);
        assert_eq!(owner.name, package);
        assert_eq!(owner.version, installed(package));
        // The upstream version is the start of the Debian one (after any epoch).
        let upstream = owner
            .version
            .split_once(':')
            .map_or(owner.version.as_str(), |(_, rest)| rest);
        assert!(
            upstream.starts_with(&app.version),
            "{name}: {} vs package {}",
            app.version,
            owner.version
        );
    }
    let akismet = inventory
        .applications
        .iter()
        .find(|app| app.name == "akismet")
        .expect("akismet plugin");
    assert_eq!(
        akismet.owner.as_ref().map(|o| o.name.as_str()),
        Some("wordpress")
    );
}
