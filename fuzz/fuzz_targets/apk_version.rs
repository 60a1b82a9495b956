//! Parses two arbitrary strings as apk versions. Parsing must never panic,
//! and when both parse, the ordering must be antisymmetric, agree with `Eq`,
//! and `Display` must round-trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vulnloop_version::ApkVersion;

fuzz_target!(|texts: (&str, &str)| {
    let (Ok(a), Ok(b)) = (texts.0.parse::<ApkVersion>(), texts.1.parse::<ApkVersion>()) else {
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
    let parsed: ApkVersion = displayed
        .parse()
        .unwrap_or_else(|error| panic!("{displayed:?} does not parse: {error}"));
    assert_eq!(parsed, a, "display round trip of {displayed:?}");
});
