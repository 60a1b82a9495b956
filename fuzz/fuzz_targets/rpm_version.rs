//! Parses two arbitrary strings as rpm EVRs. Parsing must never panic, and
//! when both parse, the ordering must be antisymmetric, agree with `Eq`,
//! and `Display` must round-trip. `rpmvercmp` on the raw strings must not
//! panic either.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vulnloop_version::rpm::rpmvercmp;
use vulnloop_version::RpmVersion;

fuzz_target!(|texts: (&str, &str)| {
    let raw = rpmvercmp(texts.0, texts.1);
    assert_eq!(
        raw,
        rpmvercmp(texts.1, texts.0).reverse(),
        "rpmvercmp antisymmetry of {texts:?}"
    );

    let (Ok(a), Ok(b)) = (texts.0.parse::<RpmVersion>(), texts.1.parse::<RpmVersion>()) else {
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

    // Display may differ from the input (`01:1.0` shows as `1:1.0`) but
    // must parse back to an equal version with the same parts.
    let displayed = a.to_string();
    let parsed: RpmVersion = displayed
        .parse()
        .unwrap_or_else(|error| panic!("{displayed:?} does not parse: {error}"));
    assert_eq!(parsed, a, "display round trip of {displayed:?}");
    assert_eq!(parsed.version(), a.version(), "version of {displayed:?}");
    assert_eq!(parsed.release(), a.release(), "release of {displayed:?}");
});
