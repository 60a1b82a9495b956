//! librpm's `rpmvercmp`, the comparison of one version or release string.
//!
//! Both strings split into segments: maximal runs of ASCII digits or of
//! ASCII letters. Every other byte is a separator, except `~` and `^`:
//!
//! - `~` sorts before everything, the end of the string included, so
//!   `1.0~rc1 < 1.0`;
//! - `^` sorts after the end of the string but before any other segment, so
//!   `1.0 < 1.0^git1 < 1.0.1`;
//! - a digit segment is newer than a letter segment;
//! - digit segments compare as numbers (leading zeros dropped), letter
//!   segments byte by byte;
//! - when all segments are equal, the string with a segment left over is
//!   newer, and separators alone never make a difference (`1.0 == 1_0`).
//!
//! This is a port of librpm's `rpmvercmp` as of rpm 4.15, which added `^`.
//! The differential test in `tests/rpm_differential.rs` checks it against
//! `rpm.labelCompare` of python3-rpm.

use std::cmp::Ordering;

/// Compares two version or release strings as librpm's `rpmvercmp` does.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);

    while i < a.len() || j < b.len() {
        i = skip_separators(a, i);
        j = skip_separators(b, j);
        let (x, y) = (a.get(i).copied(), b.get(j).copied());

        if x == Some(b'~') || y == Some(b'~') {
            if x != Some(b'~') {
                return Ordering::Greater;
            }
            if y != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }

        // A caret is newer than the end of the string, older than anything else.
        if x == Some(b'^') || y == Some(b'^') {
            match (x, y) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(x), _) if x != b'^' => return Ordering::Greater,
                (_, Some(y)) if y != b'^' => return Ordering::Less,
                _ => {}
            }
            i += 1;
            j += 1;
            continue;
        }

        let (Some(x), Some(_)) = (x, y) else { break };
        let is_digit = x.is_ascii_digit();
        let class = |byte: &u8| {
            if is_digit {
                byte.is_ascii_digit()
            } else {
                byte.is_ascii_alphabetic()
            }
        };
        let segment_a = segment(a, i, class);
        let segment_b = segment(b, j, class);

        // The second string has a segment of the other kind here, and
        // digits are newer than letters.
        if segment_b.is_empty() {
            return if is_digit {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ordering = if is_digit {
            compare_numbers(segment_a, segment_b)
        } else {
            segment_a.cmp(segment_b)
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
        i += segment_a.len();
        j += segment_b.len();
    }

    let (rest_a, rest_b) = (i < a.len(), j < b.len());
    rest_a.cmp(&rest_b)
}

/// Moves past bytes that are neither ASCII letters, digits, `~` nor `^`.
fn skip_separators(text: &[u8], mut index: usize) -> usize {
    while let Some(&byte) = text.get(index) {
        if byte.is_ascii_alphanumeric() || byte == b'~' || byte == b'^' {
            break;
        }
        index += 1;
    }
    index
}

/// Returns the run of bytes of one class that starts at `start`.
fn segment(text: &[u8], start: usize, class: impl Fn(&u8) -> bool) -> &[u8] {
    let rest = &text[start..];
    let length = rest.iter().take_while(|byte| class(byte)).count();
    &rest[..length]
}

/// Compares two digit runs as numbers of any length.
fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_zeros(a);
    let b = strip_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&byte| byte == b'0').count();
    &digits[zeros..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_loop_compares_leftovers() {
        assert_eq!(rpmvercmp("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.0.", "1.0"), Ordering::Equal);
    }
}
