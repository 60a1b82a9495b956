//! PHP's `version_compare()`, the ordering of WordPress, its plugins and
//! themes, and of Composer packages in the FriendsOfPHP advisories.
//!
//! This follows `php_version_compare()` of PHP's `ext/standard/versioning.c`,
//! and the `php_differential` test checks it against the `php` CLI (PHP 8.2
//! on Debian 12). A version is first canonicalized:
//! `-`, `_` and `+` become `.`, and a `.` is inserted wherever a digit
//! meets a non-digit (`1.0rc1` becomes `1.0.rc.1`). The parts are then
//! compared one by one: numbers as numbers, words by their rank
//! (any other word < `dev` < `alpha` = `a` < `beta` = `b` < `RC` = `rc` <
//! a number < `pl` = `p`), matched by prefix as PHP does. Every string is a
//! valid PHP version, so comparison never fails.

use std::cmp::Ordering;

/// Compares two versions as PHP's `version_compare($a, $b)` does.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    compare_canonical(&canonicalize(a.as_bytes()), &canonicalize(b.as_bytes()))
}

/// Rewrites a version into dot-separated parts, as `php_canonicalize_version()` does.
///
/// PHP leaves a version that starts with `#` as it is: that is the marker
/// `#N#` it compares leftover parts against.
fn canonicalize(version: &[u8]) -> Vec<u8> {
    let Some((&first, rest)) = version.split_first() else {
        return Vec::new();
    };
    if first == b'#' {
        return version.to_vec();
    }
    let mut out = Vec::with_capacity(version.len() * 2);
    out.push(first);
    let mut previous = first;
    // PHP's isdig and isndig both exclude '.', so a dot never counts as a
    // digit/non-digit transition.
    let is_digit = |c: u8| c.is_ascii_digit();
    let is_non_digit = |c: u8| !c.is_ascii_digit() && c != b'.';
    for &c in rest {
        let last_is_dot = out.last() == Some(&b'.');
        if matches!(c, b'-' | b'_' | b'+') {
            if !last_is_dot {
                out.push(b'.');
            }
        } else if (is_non_digit(previous) && is_digit(c)) || (is_digit(previous) && is_non_digit(c))
        {
            if !last_is_dot {
                out.push(b'.');
            }
            out.push(c);
        } else if !c.is_ascii_alphanumeric() {
            if !last_is_dot {
                out.push(b'.');
            }
        } else {
            out.push(c);
        }
        previous = c;
    }
    out
}

/// Compares two canonical versions part by part.
fn compare_canonical(v1: &[u8], v2: &[u8]) -> Ordering {
    let (mut p1, mut p2) = (0, 0);
    // Whether the part just compared was followed by a dot. PHP starts with
    // both set, so a version that is empty here counts as having more parts.
    let (mut more1, mut more2) = (true, true);
    let mut order = Ordering::Equal;
    while p1 < v1.len() && p2 < v2.len() && more1 && more2 {
        let dot1 = find_dot(v1, p1);
        let dot2 = find_dot(v2, p2);
        more1 = dot1.is_some();
        more2 = dot2.is_some();
        order = compare_parts(
            &v1[p1..dot1.unwrap_or(v1.len())],
            &v2[p2..dot2.unwrap_or(v2.len())],
        );
        if order != Ordering::Equal {
            break;
        }
        if let Some(dot) = dot1 {
            p1 = dot + 1;
        }
        if let Some(dot) = dot2 {
            p2 = dot + 1;
        }
    }
    if order != Ordering::Equal {
        return order;
    }

    // One version has parts left: a number there makes it newer, and a word
    // is ranked against a number.
    if more1 {
        let rest = &v1[p1..];
        if rest.first().is_some_and(u8::is_ascii_digit) {
            Ordering::Greater
        } else {
            compare_bytes(rest, b"#N#")
        }
    } else if more2 {
        let rest = &v2[p2..];
        if rest.first().is_some_and(u8::is_ascii_digit) {
            Ordering::Less
        } else {
            compare_bytes(b"#N#", rest)
        }
    } else {
        Ordering::Equal
    }
}

/// `php_version_compare()` on raw bytes, for the recursive step.
fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => compare_canonical(&canonicalize(a), &canonicalize(b)),
    }
}

fn find_dot(version: &[u8], from: usize) -> Option<usize> {
    version[from..]
        .iter()
        .position(|&c| c == b'.')
        .map(|offset| from + offset)
}

fn compare_parts(a: &[u8], b: &[u8]) -> Ordering {
    let a_digit = a.first().is_some_and(u8::is_ascii_digit);
    let b_digit = b.first().is_some_and(u8::is_ascii_digit);
    match (a_digit, b_digit) {
        (true, true) => number(a).cmp(&number(b)),
        (false, false) => special_rank(a).cmp(&special_rank(b)),
        (true, false) => special_rank(b"#N#").cmp(&special_rank(b)),
        (false, true) => special_rank(a).cmp(&special_rank(b"#N#")),
    }
}

/// The leading digits as a number, saturating as C's `strtol` does.
fn number(part: &[u8]) -> i64 {
    part.iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i64, |value, &c| {
            value.saturating_mul(10).saturating_add(i64::from(c - b'0'))
        })
}

/// Rank of a word part; PHP matches the first form the part starts with.
fn special_rank(part: &[u8]) -> i32 {
    const FORMS: [(&[u8], i32); 10] = [
        (b"dev", 0),
        (b"alpha", 1),
        (b"a", 1),
        (b"beta", 2),
        (b"b", 2),
        (b"RC", 3),
        (b"rc", 3),
        (b"#", 4),
        (b"pl", 5),
        (b"p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| part.starts_with(form))
        .map_or(-1, |&(_, rank)| rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_numerically() {
        assert_eq!(compare("6.1.9", "6.1.10"), Ordering::Less);
        assert_eq!(compare("6.3.1.1", "6.3.1"), Ordering::Greater);
        assert_eq!(compare("5.0", "5.0.0"), Ordering::Less);
    }

    #[test]
    fn pre_releases_before_release() {
        assert_eq!(compare("1.0rc1", "1.0"), Ordering::Less);
        assert_eq!(compare("1.0-beta", "1.0-RC1"), Ordering::Less);
        assert_eq!(compare("1.0-dev", "1.0-alpha"), Ordering::Less);
        assert_eq!(compare("1.0pl1", "1.0"), Ordering::Greater);
    }

    #[test]
    fn empty_versions() {
        assert_eq!(compare("", ""), Ordering::Equal);
        assert_eq!(compare("", "1"), Ordering::Less);
    }
}
