//! Discovery and detectors on real version files and on trees built here.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;

use vulnloop_inventory::{AppEcosystem, Application, ApplicationKind};
use vulnloop_webapp::{discover, DiscoveryOptions};

fn write(root: &Path, inner: &str, text: &str) {
    let path = root.join(inner.trim_start_matches('/'));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Discovery of the given web roots only, without configurations or common locations.
fn options(root: &Path, web_roots: &[&str]) -> DiscoveryOptions {
    let mut options = DiscoveryOptions::new(root.to_path_buf());
    options.read_configs = false;
    options.common_locations = false;
    options.web_roots = web_roots.iter().map(|s| s.to_string()).collect();
    options
}

fn find<'a>(applications: &'a [Application], name: &str) -> &'a Application {
    applications
        .iter()
        .find(|app| app.name == name)
        .unwrap_or_else(|| panic!("{name} not found in {applications:#?}"))
}

/// Unpacks the Debian bookworm version files into `/srv/NAME` of a new root.
fn debian_markers() -> tempfile::TempDir {
    let markers = vulnloop_testdata::unpack("inventories/webapps-debian12-version-markers.tar.zst");
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("srv")).unwrap();
    for entry in std::fs::read_dir(markers.path().join("webapp-version-markers")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            std::fs::rename(
                entry.path(),
                root.path().join("srv").join(entry.file_name()),
            )
            .unwrap();
        }
    }
    root
}

#[test]
fn debian_version_markers_detected() {
    let root = debian_markers();
    let found = discover(&options(root.path(), &["/srv"]));
    assert!(found.problems.is_empty(), "{:?}", found.problems);

    let wordpress = find(&found.applications, "wordpress");
    assert_eq!(wordpress.version, "6.1.9");
    assert_eq!(wordpress.ecosystem, AppEcosystem::WordpressCore);
    assert_eq!(
        wordpress.path,
        "/srv/wordpress-6.1.9-debian12/wp-includes/version.php"
    );

    let akismet = find(&found.applications, "akismet");
    assert_eq!(akismet.kind, ApplicationKind::Plugin);
    assert_eq!(akismet.version, "5.0.2");
    assert_eq!(
        akismet.bundled_in.as_deref(),
        Some("/srv/wordpress-6.1.9-debian12")
    );

    assert_eq!(
        find(&found.applications, "phpmyadmin/phpmyadmin").version,
        "5.2.1"
    );
    assert_eq!(
        find(&found.applications, "mediawiki/core").version,
        "1.39.17"
    );
    let roundcube = find(&found.applications, "roundcube/roundcubemail");
    assert_eq!(roundcube.version, "1.6.5");
    assert_eq!(roundcube.ecosystem, AppEcosystem::Unmatched);
    assert_eq!(found.applications.len(), 5, "{:#?}", found.applications);
}

#[test]
fn nginx_root_walked() {
    let root = debian_markers();
    write(
        root.path(),
        "/etc/nginx/nginx.conf",
        "http { include sites-enabled/*; }",
    );
    write(
        root.path(),
        "/etc/nginx/sites-enabled/blog",
        "server {\n    root /srv/wordpress-6.1.9-debian12;\n}\n",
    );
    let mut options = options(root.path(), &[]);
    options.read_configs = true;
    let found = discover(&options);
    assert_eq!(found.configured_roots.len(), 1);
    assert_eq!(
        found.configured_roots[0].source,
        "/etc/nginx/sites-enabled/blog:2"
    );
    assert_eq!(find(&found.applications, "wordpress").version, "6.1.9");
    // Only the configured root is walked: the other applications stay unseen.
    assert!(found
        .applications
        .iter()
        .all(|app| app.name != "mediawiki/core"));
}

#[test]
fn other_cms_markers() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/srv/drupal/core/lib/Drupal.php",
        "<?php\nclass Drupal {\n  const VERSION = '10.1.2';\n}\n",
    );
    write(
        r,
        "/srv/drupal7/includes/bootstrap.inc",
        "<?php\ndefine('VERSION', '7.98');\n",
    );
    write(
        r,
        "/srv/joomla/administrator/manifests/files/joomla.xml",
        "<extension>\n<version>4.3.4</version>\n</extension>\n",
    );
    write(r, "/srv/cloud/version.php", "<?php\n$OC_Version = array(27,1,3,2);\n$OC_VersionString = '27.1.3';\n$vendor = 'nextcloud';\n");
    write(
        r,
        "/srv/owncloud/version.php",
        "<?php\n$OC_VersionString = '10.13.0';\n$vendor = 'owncloud';\n",
    );
    write(
        r,
        "/srv/shop/vendor/magento/magento2-base/composer.json",
        "{\"name\": \"magento/magento2-base\", \"version\": \"2.4.6-p3\"}",
    );
    write(r, "/srv/mage1/app/Mage.php", "<?php\n  return array(\n 'major' => '1',\n 'minor' => '9',\n 'revision' => '4',\n 'patch' => '5',\n);\n");
    write(
        r,
        "/srv/typo3/typo3/sysext/core/Classes/Information/Typo3Version.php",
        "<?php\n    protected const VERSION = '12.4.8';\n",
    );
    let found = discover(&options(r, &["/srv"]));
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(find(&found.applications, "drupal/core").version, "10.1.2");
    assert_eq!(find(&found.applications, "drupal/drupal").version, "7.98");
    assert_eq!(
        find(&found.applications, "joomla/joomla-cms").version,
        "4.3.4"
    );
    assert_eq!(
        find(&found.applications, "nextcloud/server").version,
        "27.1.3"
    );
    assert_eq!(
        find(&found.applications, "magento/product-community-edition").version,
        "2.4.6-p3"
    );
    assert_eq!(
        find(&found.applications, "magento/magento1ce").version,
        "1.9.4.5"
    );
    assert_eq!(
        find(&found.applications, "typo3/cms-core").version,
        "12.4.8"
    );
    assert_eq!(
        found.applications.len(),
        7,
        "ownCloud is not Nextcloud: {:#?}",
        found.applications
    );
}

#[test]
fn plugin_header_beats_readme() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/srv/wp/wp-content/plugins/contact-form-7/readme.txt",
        "=== Contact Form 7 ===\nStable tag: 5.7\n",
    );
    write(
        r,
        "/srv/wp/wp-content/plugins/contact-form-7/wp-contact-form-7.php",
        "<?php\n/*\n * Plugin Name: Contact Form 7\n * Version: 5.7.1\n */\n",
    );
    write(
        r,
        "/srv/wp/wp-content/plugins/trunk-only/readme.txt",
        "Stable tag: trunk\n",
    );
    write(
        r,
        "/srv/wp/wp-content/themes/twentytwenty/style.css",
        "/*\nTheme Name: Twenty Twenty\nVersion: 2.1\n*/\n",
    );
    let found = discover(&options(r, &["/srv"]));
    let plugin = find(&found.applications, "contact-form-7");
    assert_eq!(plugin.version, "5.7.1");
    assert!(
        plugin.path.ends_with("wp-contact-form-7.php"),
        "{}",
        plugin.path
    );
    let theme = find(&found.applications, "twentytwenty");
    assert_eq!(theme.kind, ApplicationKind::Theme);
    assert_eq!(theme.version, "2.1");
    assert!(found
        .applications
        .iter()
        .all(|app| app.name != "trunk-only"));
}

#[test]
fn lock_files_and_manifests() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/srv/app/composer.lock",
        r#"{"packages": [{"name": "guzzlehttp/guzzle", "version": "7.4.4"}], "packages-dev": [{"name": "phpunit/phpunit", "version": "v9.5.0"}]}"#,
    );
    write(
        r,
        "/srv/app/vendor/composer/installed.json",
        r#"{"packages": [{"name": "symfony/http-kernel", "version": "v5.4.1"}]}"#,
    );
    write(
        r,
        "/srv/js/package-lock.json",
        r#"{"lockfileVersion": 3, "packages": {"": {"name": "site"}, "node_modules/lodash": {"version": "4.17.20"}, "node_modules/a/node_modules/@scope/b": {"version": "1.0.0"}}}"#,
    );
    write(
        r,
        "/srv/old/package-lock.json",
        r#"{"lockfileVersion": 1, "dependencies": {"minimist": {"version": "1.2.5", "dependencies": {"nested": {"version": "0.1.0"}}}, "local": {"version": "file:../local"}}}"#,
    );
    write(
        r,
        "/srv/js/node_modules/@types/node/package.json",
        r#"{"name": "@types/node", "version": "20.1.0"}"#,
    );
    write(
        r,
        "/srv/py/lib/Django-4.2.1.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: Django\nVersion: 4.2.1\n\nName: not a header\n",
    );
    let found = discover(&options(r, &["/srv"]));
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let version = |name: &str| find(&found.applications, name).version.clone();
    assert_eq!(version("guzzlehttp/guzzle"), "7.4.4");
    assert_eq!(version("phpunit/phpunit"), "9.5.0");
    assert_eq!(version("symfony/http-kernel"), "5.4.1");
    assert_eq!(version("lodash"), "4.17.20");
    assert_eq!(version("@scope/b"), "1.0.0");
    assert_eq!(version("minimist"), "1.2.5");
    assert_eq!(version("nested"), "0.1.0");
    assert_eq!(version("@types/node"), "20.1.0");
    assert_eq!(version("django"), "4.2.1");
    assert!(found.applications.iter().all(|app| app.name != "local"));
    assert_eq!(
        find(&found.applications, "django").ecosystem,
        AppEcosystem::Pypi
    );
}

fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        for (name, bytes) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap();
    }
    buffer.into_inner()
}

#[test]
fn log4j_inside_war_found() {
    let log4j = zip_bytes(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nBundle-SymbolicName: org.apache.logging.log4j.core\r\nBundle-Version: 2.14.1\r\n"),
        (
            "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
            b"#Created by Apache Maven 3.6.3\nversion=2.14.1\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n",
        ),
        ("org/apache/logging/log4j/core/lookup/JndiLookup.class", b"\xca\xfe\xba\xbe"),
    ]);
    let war = zip_bytes(&[
        ("WEB-INF/web.xml", b"<web-app/>"),
        ("WEB-INF/lib/log4j-core-2.14.1.jar", &log4j),
    ]);
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("srv/tomcat/webapps")).unwrap();
    std::fs::write(root.path().join("srv/tomcat/webapps/shop.war"), war).unwrap();

    let found = discover(&options(root.path(), &["/srv"]));
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let log4j = find(&found.applications, "org.apache.logging.log4j:log4j-core");
    assert_eq!(log4j.version, "2.14.1");
    assert_eq!(log4j.ecosystem, AppEcosystem::Maven);
    assert_eq!(
        log4j.path,
        "/srv/tomcat/webapps/shop.war!WEB-INF/lib/log4j-core-2.14.1.jar!META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties"
    );
    assert_eq!(
        log4j.bundled_in.as_deref(),
        Some("/srv/tomcat/webapps/shop.war!WEB-INF/lib/log4j-core-2.14.1.jar")
    );
}

#[test]
fn broken_files_name_location() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/srv/app/composer.lock",
        "{\n  \"packages\": [\n    {\"name\": \"a/b\", \"version\": }\n",
    );
    write(
        r,
        "/srv/wp/wp-includes/version.php",
        "<?php\n$wp_version = 'six point one';\n",
    );
    write(r, "/srv/java/broken.jar", "not a zip");
    let found = discover(&options(r, &["/srv"]));
    let messages: Vec<String> = found
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.location, p.message))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("/srv/app/composer.lock:3: invalid JSON")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m
            .starts_with("/srv/wp/wp-includes/version.php:2: invalid version \"six point one\"")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("/srv/java/broken.jar: not a readable zip archive")),
        "{messages:?}"
    );
    assert!(found.applications.is_empty());
}

#[test]
fn symlink_loop_walked_once() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/srv/site/wp-includes/version.php",
        "<?php $wp_version = '6.4.2';",
    );
    std::os::unix::fs::symlink("/srv", r.join("srv/site/up")).unwrap();
    std::os::unix::fs::symlink("../..", r.join("srv/site/wp-includes/parent")).unwrap();
    std::os::unix::fs::symlink("self", r.join("srv/site/self")).unwrap();
    let found = discover(&options(r, &["/srv", "/srv/site/up/site"]));
    assert_eq!(found.applications.len(), 1, "{:#?}", found.applications);
    assert!(found.entries < 20, "entries listed: {}", found.entries);
}

#[test]
fn entry_limit_reported() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for index in 0..50 {
        write(r, &format!("/srv/files/{index}/a.txt"), "");
    }
    let mut options = options(r, &["/srv"]);
    options.max_entries = 20;
    let found = discover(&options);
    assert_eq!(found.problems.len(), 1);
    assert!(
        found.problems[0]
            .message
            .contains("stopped after listing 20 directory entries"),
        "{:?}",
        found.problems
    );
}

#[test]
fn depth_limit_stops_descent() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/srv/a/b/c/d/wp-includes/version.php",
        "<?php $wp_version = '6.4.2';",
    );
    let mut shallow = options(r, &["/srv"]);
    shallow.max_depth = 3;
    assert!(discover(&shallow).applications.is_empty());
    let mut deep = options(r, &["/srv"]);
    deep.max_depth = 4;
    assert_eq!(discover(&deep).applications.len(), 1);
}
