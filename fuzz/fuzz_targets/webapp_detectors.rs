//! Writes arbitrary bytes to one of the files the web application
//! detectors read (a version marker, a plugin readme, a lock file, Python
//! metadata, a JAR) and runs discovery over it. Detection must never panic:
//! bad input becomes a problem naming the file. Also checks that PHP's
//! `version_compare` port is antisymmetric on the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vulnloop_webapp::{discover, DiscoveryOptions};

const TARGETS: [&str; 10] = [
    "srv/site/wp-includes/version.php",
    "srv/site/wp-content/plugins/p/readme.txt",
    "srv/site/wp-content/plugins/p/p.php",
    "srv/site/composer.lock",
    "srv/site/vendor/composer/installed.json",
    "srv/site/package-lock.json",
    "srv/site/node_modules/x/package.json",
    "srv/site/lib/x-1.0.dist-info/METADATA",
    "srv/site/app.war",
    "etc/nginx/nginx.conf",
];

fuzz_target!(|input: (u8, &[u8])| {
    let (selector, bytes) = input;
    let text = String::from_utf8_lossy(bytes);
    let (a, b) = text.split_once('\n').unwrap_or((&text, ""));
    let order = vulnloop_version::php::compare(a, b);
    assert_eq!(order, vulnloop_version::php::compare(b, a).reverse(), "antisymmetry of {a:?} and {b:?}");

    let Ok(dir) = tempfile::tempdir() else { return };
    let target = dir.path().join(TARGETS[usize::from(selector) % TARGETS.len()]);
    let Some(parent) = target.parent() else { return };
    if std::fs::create_dir_all(parent).and_then(|()| std::fs::write(&target, bytes)).is_err() {
        return;
    }
    let mut options = DiscoveryOptions::new(dir.path().to_path_buf());
    options.common_locations = false;
    options.web_roots = vec!["/srv".to_string()];
    let _ = discover(&options);
});
