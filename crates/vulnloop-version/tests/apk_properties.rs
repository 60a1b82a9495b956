//! Order laws and the `Display` round trip of `ApkVersion`, on versions
//! built from apk's grammar `digits{.digits}[letter]{_suffix[digits]}[-rN]`
//! with few choices per part, so that generated versions often share
//! prefixes or are equal.

use std::cmp::Ordering;

use proptest::prelude::*;
use vulnloop_version::ApkVersion;

fn number() -> impl Strategy<Value = String> {
    "0|00|1|01|2|9|10|001".prop_map(String::from)
}

fn suffix() -> impl Strategy<Value = String> {
    (
        "alpha|beta|pre|rc|cvs|svn|git|hg|p",
        prop::option::of("0|1|2|10"),
    )
        .prop_map(|(name, number)| format!("_{name}{}", number.unwrap_or_default()))
}

fn version_text() -> impl Strategy<Value = String> {
    (
        "[0-9]|1[0-9]",
        prop::collection::vec(number(), 0..4),
        prop::option::of("[a-c]"),
        prop::collection::vec(suffix(), 0..3),
        prop::option::of("0|1|2|10|00"),
    )
        .prop_map(|(first, dotted, letter, suffixes, release)| {
            let mut text = first;
            for number in dotted {
                text.push('.');
                text.push_str(&number);
            }
            text.push_str(&letter.unwrap_or_default());
            text.push_str(&suffixes.concat());
            if let Some(release) = release {
                text.push_str(&format!("-r{release}"));
            }
            text
        })
}

/// A version close to `text`: the same, with one more part, or unrelated.
fn related(text: String) -> impl Strategy<Value = String> {
    let with_suffix = suffix().prop_map({
        let text = text.clone();
        // A suffix cannot follow `-rN`, so insert it before the release.
        move |suffix| match text.split_once("-r") {
            Some((base, release)) => format!("{base}{suffix}-r{release}"),
            None => format!("{text}{suffix}"),
        }
    });
    prop_oneof![Just(text), with_suffix, version_text()]
}

fn parse(text: &str) -> ApkVersion {
    text.parse()
        .unwrap_or_else(|error| panic!("generator made an invalid version: {error}"))
}

fn close_pair() -> impl Strategy<Value = (ApkVersion, ApkVersion)> {
    version_text()
        .prop_flat_map(|a| (Just(a.clone()), related(a)))
        .prop_map(|(a, b)| (parse(&a), parse(&b)))
}

fn close_triple() -> impl Strategy<Value = (ApkVersion, ApkVersion, ApkVersion)> {
    version_text()
        .prop_flat_map(|a| (Just(a.clone()), related(a)))
        .prop_flat_map(|(a, b)| (Just(a), Just(b.clone()), related(b)))
        .prop_map(|(a, b, c)| (parse(&a), parse(&b), parse(&c)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn generated_versions_parse(text in version_text()) {
        prop_assert!(text.parse::<ApkVersion>().is_ok(), "{:?} rejected", text);
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
        prop_assert_eq!(parse(&displayed).cmp(&a), Ordering::Equal, "{}", displayed);
    }

    #[test]
    fn parse_never_panics(text in "[0-9a-z._-]{0,14}|\\PC{0,12}") {
        let _ = text.parse::<ApkVersion>();
    }
}
