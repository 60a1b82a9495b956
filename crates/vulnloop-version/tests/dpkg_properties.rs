//! Order laws and the `Display` round trip of `DpkgVersion`, on versions
//! generated from the grammar of deb-version(7).
//!
//! The alphabet is small (epochs 0 to 2, a few digit runs, letters and
//! symbols) so that generated versions often share prefixes or are equal,
//! which is where ordering bugs hide.

use std::cmp::Ordering;

use proptest::prelude::*;
use vulnloop_version::DpkgVersion;

/// One run of an upstream version or a revision, without `-` and `:`.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        "0|00|1|01|2|9|10|099|100",
        "[abZ]",
        "[.+~]",
        Just("~~".to_string()),
    ]
}

fn tokens(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..max).prop_map(|tokens| tokens.concat())
}

/// Epoch text as dpkg accepts it: plain, zero-padded, signed, or the largest.
fn epoch() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0_u32..3).prop_map(|epoch| epoch.to_string()),
        1 => (0_u32..3).prop_map(|epoch| format!("0{epoch}")),
        1 => (0_u32..3).prop_map(|epoch| format!("+{epoch}")),
        1 => Just("-0".to_string()),
        1 => Just(i32::MAX.to_string()),
    ]
}

/// A valid version: `[epoch:]upstream[-revision]`. The upstream part may
/// contain `:` only after an epoch and `-` only before a revision.
fn version_text() -> impl Strategy<Value = String> {
    let parts = (
        prop::option::of(epoch()),
        "[0-9]",
        tokens(6),
        prop::option::of(tokens(4)),
        prop::option::of("[0-9a~]{1,2}"),
    );
    parts.prop_map(|(epoch, first, upstream, extra, revision)| {
        let mut text = String::new();
        if let Some(epoch) = &epoch {
            text.push_str(&format!("{epoch}:"));
        }
        text.push_str(&first);
        text.push_str(&upstream);
        if let Some(extra) = extra {
            // A colon needs an epoch before it, a hyphen a revision after it.
            let separator = match (&epoch, &revision) {
                (Some(_), _) => ":",
                (None, Some(_)) => "-",
                (None, None) => ".",
            };
            text.push_str(separator);
            text.push_str(&extra);
        }
        if let Some(revision) = revision {
            text.push('-');
            text.push_str(&revision);
        }
        text
    })
}

/// Spells `text` differently without changing its value: a `0:` epoch, a
/// zero-padded epoch or first digit run, a `-0` revision, or blanks around it.
fn respell(text: &str, variant: usize) -> String {
    let starts_with_digit = text.starts_with(|c: char| c.is_ascii_digit());
    match variant % 4 {
        0 if !text.contains(':') => format!("0:{text}"),
        1 if starts_with_digit => format!("0{text}"),
        2 if !text.contains('-') => format!("{text}-0"),
        _ => format!(" {text}\t"),
    }
}

/// A version close to `text`: the same text, an equal spelling, the text
/// with one more run, or an unrelated version.
fn related(text: String) -> impl Strategy<Value = String> {
    // Edit the text without the blanks a previous respelling may have added.
    let bare = text.trim_matches([' ', '\t']).to_string();
    let respelled = (0_usize..4).prop_map({
        let bare = bare.clone();
        move |variant| respell(&bare, variant)
    });
    let extended = token().prop_map(move |token| format!("{bare}{token}"));
    prop_oneof![Just(text), respelled, extended, version_text()]
}

fn parse(text: &str) -> DpkgVersion {
    text.parse::<DpkgVersion>()
        .unwrap_or_else(|error| panic!("generator made an invalid version: {error}"))
}

fn version() -> impl Strategy<Value = DpkgVersion> {
    version_text().prop_map(|text| parse(&text))
}

/// Two versions, often equal or close.
fn close_pair() -> impl Strategy<Value = (DpkgVersion, DpkgVersion)> {
    version_text()
        .prop_flat_map(|a| (Just(a.clone()), related(a)))
        .prop_map(|(a, b)| (parse(&a), parse(&b)))
}

/// Three versions, each close to the one before.
fn close_triple() -> impl Strategy<Value = (DpkgVersion, DpkgVersion, DpkgVersion)> {
    version_text()
        .prop_flat_map(|a| (Just(a.clone()), related(a)))
        .prop_flat_map(|(a, b)| (Just(a), Just(b.clone()), related(b)))
        .prop_map(|(a, b, c)| (parse(&a), parse(&b), parse(&c)))
}

fn all_orders<T>(a: T, b: T, c: T) -> [(T, T, T); 6]
where
    T: Copy,
{
    [
        (a, b, c),
        (a, c, b),
        (b, a, c),
        (b, c, a),
        (c, a, b),
        (c, b, a),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn generated_versions_parse(text in version_text()) {
        prop_assert!(text.parse::<DpkgVersion>().is_ok(), "{:?} rejected", text);
    }

    #[test]
    fn reflexive(a in version()) {
        prop_assert_eq!(a.cmp(&a), Ordering::Equal);
        prop_assert_eq!(a.cmp(&a.clone()), Ordering::Equal);
    }

    #[test]
    fn antisymmetric((a, b) in close_pair()) {
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse(), "{} vs {}", a, b);
    }

    #[test]
    fn transitive((a, b, c) in close_triple()) {
        for (x, y, z) in all_orders(&a, &b, &c) {
            if x <= y && y <= z {
                prop_assert!(x <= z, "{} <= {} <= {} but not {} <= {}", x, y, z, x, z);
            }
            if x < y && y <= z {
                prop_assert!(x < z, "{} < {} <= {} but not {} < {}", x, y, z, x, z);
            }
            if x == y && y == z {
                prop_assert!(x == z, "{} == {} == {} but not {} == {}", x, y, z, x, z);
            }
        }
    }

    #[test]
    fn display_round_trip(a in version()) {
        let displayed = a.to_string();
        let parsed = displayed.parse::<DpkgVersion>();
        prop_assert!(parsed.is_ok(), "display output {:?} rejected: {:?}", displayed, parsed);
        let parsed = parsed.expect("checked above");
        prop_assert_eq!(&parsed, &a, "{:?}", displayed);
        prop_assert_eq!(parsed.epoch(), a.epoch(), "epoch of {:?}", displayed);
        prop_assert_eq!(parsed.upstream(), a.upstream(), "upstream of {:?}", displayed);
        prop_assert_eq!(parsed.revision(), a.revision(), "revision of {:?}", displayed);
    }

    #[test]
    fn eq_consistent_with_ord((a, b) in close_pair()) {
        prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal, "{} vs {}", a, b);
        prop_assert_eq!(a != b, a.cmp(&b) != Ordering::Equal, "{} vs {}", a, b);
        prop_assert_eq!(a.partial_cmp(&b), Some(a.cmp(&b)), "{} vs {}", a, b);
    }

    #[test]
    fn parse_never_panics(text in "[ \t0-9a~+.:-]{0,12}|\\PC{0,12}") {
        let _ = text.parse::<DpkgVersion>();
    }
}

#[test]
fn generator_makes_equal_pairs() {
    // Eq and transitivity need equal versions to be tested at all; check the
    // generator makes them, with a fixed seed.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = close_pair();
    let equal = (0..2_000)
        .filter(|_| {
            let (a, b) = strategy
                .new_tree(&mut runner)
                .expect("value tree")
                .current();
            a == b
        })
        .count();

    assert!(equal >= 400, "only {equal} equal pairs in 2,000");
}
