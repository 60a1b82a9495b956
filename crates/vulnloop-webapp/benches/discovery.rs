//! Discovery of a generated web root: 100,000 files in 1,000 directories,
//! a WordPress install with plugins, and a symbolic link loop.

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use vulnloop_webapp::{discover, DiscoveryOptions};

fn main_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("var/www/site");
    for d in 0..1000 {
        let sub = web.join(format!(
            "wp-content/uploads/{}/{:02}",
            2000 + d / 100,
            d % 100
        ));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..100 {
            std::fs::write(sub.join(format!("image-{f}.jpg")), b"").unwrap();
        }
    }
    std::fs::create_dir_all(web.join("wp-includes")).unwrap();
    std::fs::write(
        web.join("wp-includes/version.php"),
        "<?php\n$wp_version = '6.1.9';\n",
    )
    .unwrap();
    for plugin in ["akismet", "contact-form-7", "woocommerce"] {
        let dir = web.join("wp-content/plugins").join(plugin);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("readme.txt"),
            "=== Plugin ===\nStable tag: 1.0.0\n",
        )
        .unwrap();
    }
    // A loop: the tree links back to its own top.
    std::os::unix::fs::symlink("/var/www/site", web.join("wp-content/uploads/loop")).unwrap();
    dir
}

fn bench(c: &mut Criterion) {
    let tree = main_tree();
    let mut options = DiscoveryOptions::new(tree.path().to_path_buf());
    options.read_configs = false;
    options.common_locations = false;
    options.web_roots = vec!["/var/www".to_string()];
    let found = discover(&options);
    assert_eq!(found.applications.len(), 4);
    // 100,000 files, 1,019 directories below /var/www and the plugin readmes, version.php and the link.
    assert_eq!(found.entries, 101_023);

    let mut group = c.benchmark_group("discovery");
    group.sample_size(10);
    group.bench_function("100k_files_with_symlink_loop", |b| {
        b.iter(|| discover(&options))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
