//! Parses two arbitrary strings as dpkg versions. Parsing must never panic,
//! and when both parse, the ordering must be antisymmetric and `Display`
//! must round-trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vulnloop_version::DpkgVersion;

fuzz_target!(|texts: (&str, &str)| {
    let (Ok(a), Ok(b)) = (
        texts.0.parse::<DpkgVersion>(),
        texts.1.parse::<DpkgVersion>(),
    ) else {
        return;
    };

    assert_eq!(
        a.cmp(&b),
        b.cmp(&a).reverse(),
        "antisymmetry of {a} and {b}"
    );
    assert_eq!(
        a == b,
        a.cmp(&b).is_eq(),
        "Eq and Ord disagree on {a} and {b}"
    );

    let displayed = a.to_string();
    let parsed: DpkgVersion = displayed
        .parse()
        .unwrap_or_else(|error| panic!("{displayed:?} does not parse: {error}"));
    assert_eq!(parsed, a, "display round trip of {displayed:?}");
});
