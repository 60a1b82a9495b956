//! Parses arbitrary bytes as an rpm header blob, as every rpmdb backend
//! stores it. Parsing must never panic, and a header it accepts must have
//! the name, version and release that every package has. Reading the file
//! list must not panic either, and cannot yield more paths than the blob
//! has bytes, since each file name ends with its own NUL.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vulnloop_collect::{parse_header, read_file_paths, to_package};

fuzz_target!(|bytes: &[u8]| {
    let mut paths = 0usize;
    let _ = read_file_paths(bytes, |_| paths += 1);
    assert!(paths <= bytes.len(), "{paths} paths from a {} byte blob", bytes.len());

    let Ok(header) = parse_header(bytes) else {
        return;
    };
    assert!(!header.name.is_empty(), "header accepted without a name");
    assert!(
        !header.version.is_empty(),
        "header accepted without a version"
    );
    assert!(
        !header.release.is_empty(),
        "header accepted without a release"
    );

    if let Some(package) = to_package(header, "/var/lib/rpm/rpmdb.sqlite") {
        assert!(
            package.version.contains('-'),
            "version without release: {package:?}"
        );
    }
});
