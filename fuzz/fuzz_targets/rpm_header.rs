//! Parses arbitrary bytes as an rpm header blob, as every rpmdb backend
//! stores it. Parsing must never panic, and a header it accepts must have
//! the name, version and release that every package has.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vulnloop_collect::{parse_header, to_package};

fuzz_target!(|bytes: &[u8]| {
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
