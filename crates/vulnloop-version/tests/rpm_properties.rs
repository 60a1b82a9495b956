//! Order laws and the `Display` round trip of `RpmVersion`, on EVRs built
//! from a small alphabet so that generated versions often share prefixes or
//! are equal, which is where ordering bugs hide.

use std::cmp::Ordering;

use proptest::prelude::*;
use vulnloop_version::RpmVersion;

/// One piece of a version or release, without `-` and `:`.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        "0|00|1|01|2|9|10|099",
        "[abZ]|el|git",
        "[._+]",
        Just("~".to_string()),
        Just("^".to_string()),
    ]
}

fn part() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 1..6).prop_map(|tokens| tokens.concat())
}

fn version_text() -> impl Strategy<Value = String> {
    (prop::option::of(0_u32..3), part(), prop::option::of(part())).prop_map(
        |(epoch, version, release)| {
            let mut text = String::new();
            if let Some(epoch) = epoch {
                text.push_str(&format!("{epoch}:"));
            }
            text.push_str(&version);
            if let Some(release) = release {
                text.push('-');
                text.push_str(&release);
            }
            text
        },
    )
}

/// A version close to `text`: the same, an equal respelling, one more
/// token at the end, or an unrelated version.
fn related(text: String) -> impl Strategy<Value = String> {
    let respelled = if text.contains(':') {
        text.clone()
    } else {
        format!("0:{text}")
    };
    let extended = token().prop_map({
        let text = text.clone();
        move |token| format!("{text}{token}")
    });
    prop_oneof![Just(text), Just(respelled), extended, version_text()]
}

fn parse(text: &str) -> RpmVersion {
    text.parse()
        .unwrap_or_else(|error| panic!("generator made an invalid version: {error}"))
}

fn close_pair() -> impl Strategy<Value = (RpmVersion, RpmVersion)> {
    version_text()
        .prop_flat_map(|a| (Just(a.clone()), related(a)))
        .prop_map(|(a, b)| (parse(&a), parse(&b)))
}

fn close_triple() -> impl Strategy<Value = (RpmVersion, RpmVersion, RpmVersion)> {
    version_text()
        .prop_flat_map(|a| (Just(a.clone()), related(a)))
        .prop_flat_map(|(a, b)| (Just(a), Just(b.clone()), related(b)))
        .prop_map(|(a, b, c)| (parse(&a), parse(&b), parse(&c)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn generated_versions_parse(text in version_text()) {
        prop_assert!(text.parse::<RpmVersion>().is_ok(), "{:?} rejected", text);
    }

    #[test]
    fn reflexive(text in version_text()) {
        let a = parse(&text);
        prop_assert_eq!(a.cmp(&a.clone()), Ordering::Equal, "{}", text);
    }

    #[test]
    fn antisymmetric((a, b) in close_pair()) {
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse(), "{} vs {}", a, b);
    }

    #[test]
    fn transitive((a, b, c) in close_triple()) {
        for (x, y, z) in [(&a, &b, &c), (&a, &c, &b), (&b, &a, &c), (&b, &c, &a), (&c, &a, &b), (&c, &b, &a)] {
            if x <= y && y <= z {
                prop_assert!(x <= z, "{} <= {} <= {} but not {} <= {}", x, y, z, x, z);
            }
            if x < y && y <= z {
                prop_assert!(x < z, "{} < {} <= {} but not {} < {}", x, y, z, x, z);
            }
        }
    }

    #[test]
    fn eq_consistent_with_ord((a, b) in close_pair()) {
        prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal, "{} vs {}", a, b);
    }

    #[test]
    fn display_round_trip(text in version_text()) {
        let a = parse(&text);
        let displayed = a.to_string();
        prop_assert_eq!(&displayed, &text);
        let parsed = parse(&displayed);
        prop_assert_eq!(parsed.epoch(), a.epoch(), "epoch of {:?}", displayed);
        prop_assert_eq!(parsed.version(), a.version(), "version of {:?}", displayed);
        prop_assert_eq!(parsed.release(), a.release(), "release of {:?}", displayed);
    }

    #[test]
    fn parse_never_panics(text in "[0-9a~^:.-]{0,12}|\\PC{0,12}") {
        let _ = text.parse::<RpmVersion>();
    }
}
