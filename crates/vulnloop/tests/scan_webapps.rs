//! Acceptance tests of web application scanning: Debian's packaged
//! applications on this machine, and WordPress in a web root that an nginx
//! configuration names, matched against the real Wordfence records.

mod common;

use std::path::Path;

use common::{build_db, code, feed_dir, stderr, stdout, vulnloop};
use serde_json::Value;

const FEEDS: [&str; 3] = [
    "feeds/wordpress-wordfence/wordfence-vulns-from-nuclei-wordfence-cve.jsonl.zst",
    "feeds/composer-friendsofphp/friendsofphp-security-advisories.tar.zst",
    "feeds/debian12-changelog-osv/debian12-changelog-osv.tar.zst",
];

const DPKG_STATUS: &str =
    "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.21.99\n\n";

const DEBIAN_12: &str = "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";

fn write(root: &Path, inner: &str, text: &str) {
    let path = root.join(inner.trim_start_matches('/'));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A Debian 12 root without packages whose nginx serves `/srv/blog`, which
/// contains the WordPress 6.1.9 files of Debian's package, a plugin with a
/// vulnerable Stable tag (akismet 3.1.4, fixed in 3.1.5) and a newer one.
fn blog_root() -> tempfile::TempDir {
    let root = common::rootfs(DEBIAN_12, DPKG_STATUS);
    std::fs::create_dir_all(root.path().join("var/lib/dpkg/info")).unwrap();
    write(
        root.path(),
        "/var/lib/dpkg/info/dpkg.list",
        "/usr/bin/dpkg\n",
    );
    let markers = vulnloop_testdata::unpack("inventories/webapps-debian12-version-markers.tar.zst");
    std::fs::create_dir_all(root.path().join("srv")).unwrap();
    std::fs::rename(
        markers
            .path()
            .join("webapp-version-markers/wordpress-6.1.9-debian12"),
        root.path().join("srv/blog"),
    )
    .unwrap();
    write(
        root.path(),
        "/srv/blog/wp-content/plugins/akismet/readme.txt",
        "=== Akismet ===\nStable tag: 3.1.4\n",
    );
    write(
        root.path(),
        "/srv/blog/wp-content/plugins/hello-dolly/readme.txt",
        "=== Hello Dolly ===\nStable tag: 1.7.2\n",
    );
    write(
        root.path(),
        "/etc/nginx/nginx.conf",
        "http {\n    include /etc/nginx/sites-enabled/*;\n}\n",
    );
    write(
        root.path(),
        "/etc/nginx/sites-enabled/blog",
        "server {\n    listen 80;\n    root /srv/blog;\n}\n",
    );
    root
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("no JSON ({e}); stderr: {}", stderr(output)))
}

fn group<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["applications"]
        .as_array()?
        .iter()
        .find(|group| group["application"]["name"] == name)
}

#[test]
fn wordpress_in_nginx_root_reported_with_fix() {
    let feeds = feed_dir(&FEEDS);
    let db_dir = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), db_dir.path());
    let root = blog_root();
    let root_arg = root.path().to_str().unwrap();
    let db_arg = db.to_str().unwrap();

    let output = vulnloop(&[
        "scan",
        "--root",
        root_arg,
        "--db",
        db_arg,
        "--format",
        "json",
        "--max-db-age",
        "0",
    ]);
    assert_eq!(
        code(&output),
        1,
        "findings exit 1; stderr: {}",
        stderr(&output)
    );
    let report = json(&output);

    let core = group(&report, "wordpress").expect("WordPress core group");
    assert_eq!(core["application"]["version"], "6.1.9");
    assert_eq!(
        core["application"]["path"],
        "/srv/blog/wp-includes/version.php"
    );
    assert!(
        core["application"].get("owner").is_none(),
        "no package owns /srv/blog"
    );
    let findings = core["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings
        .iter()
        .all(|f| f["source"] == "wordfence" && f["status"] != "distribution_decides"));
    // CVE-2012-6707: "WordPress Core - Informational < 6.8 - Weak Hashing Algorithm".
    let hashing = findings
        .iter()
        .find(|f| f["id"] == "CVE-2012-6707")
        .expect("CVE-2012-6707");
    assert_eq!(hashing["status"], "fix_available");
    assert_eq!(hashing["fixed"], "6.8");
    assert_eq!(
        hashing["evidence"]["comparison"],
        "installed 6.1.9 < fixed 6.8 (PHP version_compare ordering)"
    );
    let fix = &core["fix"];
    let command: Vec<&str> = fix["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(command[..3], ["wp", "core", "update"]);
    assert_eq!(command.last(), Some(&"--path=/srv/blog"));

    let akismet = group(&report, "akismet").expect("vulnerable plugin reported");
    let akismet_findings = akismet["findings"].as_array().unwrap();
    assert!(
        akismet_findings
            .iter()
            .any(|f| f["status"] == "fix_available" && f["fixed"] == "3.1.5"),
        "{akismet_findings:#?}"
    );
    assert_eq!(akismet["application"]["bundled_in"], "/srv/blog");
    assert!(
        group(&report, "hello-dolly").is_none(),
        "the newer plugin has no finding"
    );
}

#[test]
fn fix_prints_wp_commands_and_apply_refuses() {
    let feeds = feed_dir(&FEEDS);
    let db_dir = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), db_dir.path());
    let root = blog_root();
    let root_arg = root.path().to_str().unwrap();
    let db_arg = db.to_str().unwrap();

    let output = vulnloop(&[
        "fix",
        "--root",
        root_arg,
        "--db",
        db_arg,
        "--max-db-age",
        "0",
    ]);
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("web applications (run these yourself"),
        "{text}"
    );
    assert!(
        text.contains("wp plugin update akismet --version=3.1.5 --path=/srv/blog"),
        "{text}"
    );
    assert!(text.contains("wp core update"), "{text}");

    let output = vulnloop(&[
        "fix",
        "--apply",
        "--root",
        root_arg,
        "--db",
        db_arg,
        "--max-db-age",
        "0",
    ]);
    assert_eq!(code(&output), 2, "stdout: {}", stdout(&output));
    assert!(
        stderr(&output).contains("fix --apply does not run the 2 web application steps"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn no_webapps_flag_skips_discovery() {
    let root = blog_root();
    let output = vulnloop(&[
        "inventory",
        "--root",
        root.path().to_str().unwrap(),
        "--format",
        "json",
        "--no-webapps",
    ]);
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    assert!(json(&output).get("applications").is_none());
}

#[test]
fn debian_packages_found_with_owner() {
    let output = vulnloop(&["inventory", "--format", "json"]);
    let inventory = json(&output);
    let applications = inventory["applications"].as_array().expect("applications on this machine: install Debian's wordpress, phpmyadmin, mediawiki and roundcube-core (see .ci/run)");
    for (name, path, package) in [
        (
            "wordpress",
            "/usr/share/wordpress/wp-includes/version.php",
            "wordpress",
        ),
        (
            "phpmyadmin/phpmyadmin",
            "/usr/share/phpmyadmin/libraries/classes/Version.php",
            "phpmyadmin",
        ),
        (
            "mediawiki/core",
            "/usr/share/mediawiki/includes/Defines.php",
            "mediawiki",
        ),
        (
            "roundcube/roundcubemail",
            "/usr/share/roundcube/program/include/iniset.php",
            "roundcube-core",
        ),
    ] {
        let app = applications
            .iter()
            .find(|app| app["name"] == name && app["path"] == path)
            .unwrap_or_else(|| panic!("{name} not found at {path}"));
        assert_eq!(app["owner"]["name"], package, "{app}");
        assert_eq!(app["owner"]["manager"], "dpkg");
        assert!(
            app["version"]
                .as_str()
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())),
            "{app}"
        );
    }
}
