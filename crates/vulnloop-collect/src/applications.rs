//! Links discovered web applications to the OS packages that own their files.
//!
//! Debian's `wordpress`, `phpmyadmin`, `mediawiki` and `roundcube-core`
//! install the upstream trees under `/usr/share`, and the version file
//! states the upstream version. The distribution backports fixes without
//! changing that string, so an application owned by a package is judged by
//! the distribution's advisories for that package, and the matcher needs
//! to know the owner.

use vulnloop_inventory::{Application, OwningPackage, Package};
use vulnloop_webapp::Discovery;

use crate::runtime::FileOwners;

/// Returns the files on disk whose owners to look up: each application's
/// version file, or the archive a library was read from.
pub(crate) fn version_files(discovery: &Discovery) -> Vec<String> {
    let mut files: Vec<String> = discovery
        .applications
        .iter()
        .map(|app| on_disk(&app.path).to_string())
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Returns the part of an application path that is a file on disk (`shop.war` of `shop.war!WEB-INF/lib/a.jar!…`).
fn on_disk(path: &str) -> &str {
    path.split('!').next().unwrap_or(path)
}

/// Fills in the owning package of each application.
pub(crate) fn with_owners(
    mut applications: Vec<Application>,
    packages: &[Package],
    owners: Option<&FileOwners>,
) -> Vec<Application> {
    let Some(owners) = owners else {
        return applications;
    };
    for application in &mut applications {
        let Some(name) = owners.owners(on_disk(&application.path)).first() else {
            continue;
        };
        if let Some(package) = packages.iter().find(|package| &package.name == name) {
            application.owner = Some(OwningPackage {
                manager: package.manager,
                name: package.name.clone(),
                version: package.version.clone(),
            });
        }
    }
    applications
}
