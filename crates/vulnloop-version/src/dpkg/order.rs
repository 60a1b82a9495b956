//! The ordering of upstream versions and revisions, dpkg's `verrevcmp`.

use std::cmp::Ordering;

/// Compares an upstream version or a revision by dpkg's `verrevcmp` rules.
///
/// Both strings are split into alternating runs, starting with a (possibly
/// empty) non-digit run. Non-digit runs compare by [`weight`], digit runs by
/// numeric value, and the first difference decides.
pub(super) fn compare_part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        let (a_text, a_rest) = split_run(a, |c| !c.is_ascii_digit());
        let (b_text, b_rest) = split_run(b, |c| !c.is_ascii_digit());
        let by_text = compare_non_digits(a_text, b_text);
        if by_text != Ordering::Equal {
            return by_text;
        }

        let (a_number, a_rest) = split_run(a_rest, |c| c.is_ascii_digit());
        let (b_number, b_rest) = split_run(b_rest, |c| c.is_ascii_digit());
        let by_number = compare_digits(a_number, b_number);
        if by_number != Ordering::Equal {
            return by_number;
        }

        (a, b) = (a_rest, b_rest);
    }
    Ordering::Equal
}

/// Splits `text` after its longest prefix whose bytes all match `in_run`.
fn split_run(text: &[u8], in_run: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let end = text.iter().position(|&c| !in_run(c)).unwrap_or(text.len());
    text.split_at(end)
}

/// Compares two non-digit runs byte by byte. A shorter run is padded with the
/// weight of its end, so `~` sorts before the end and letters after it.
fn compare_non_digits(a: &[u8], b: &[u8]) -> Ordering {
    let length = a.len().max(b.len());
    (0..length)
        .map(|index| weight(a.get(index).copied()).cmp(&weight(b.get(index).copied())))
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Sort weight of one byte of a non-digit run; `None` is the end of the run.
///
/// The end of the run weighs 0, `~` less, letters their ASCII code, and every
/// other byte its code plus 256, so that letters sort before symbols.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Compares two digit runs as numbers of any length: leading zeros do not
/// count, then the longer number is bigger, then the first differing digit
/// decides. An empty run is 0.
fn compare_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_leading_zeros(a);
    let b = strip_leading_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_leading_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&c| c != b'0')
        .unwrap_or(digits.len());
    &digits[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_before_end_before_letter_before_symbol() {
        assert_eq!(compare_part("1~", "1"), Ordering::Less);
        assert_eq!(compare_part("1", "1a"), Ordering::Less);
        assert_eq!(compare_part("1a", "1+"), Ordering::Less);
        assert_eq!(compare_part("1Z", "1a"), Ordering::Less);
    }

    #[test]
    fn empty_digit_run_is_zero() {
        assert_eq!(compare_part("", "0"), Ordering::Equal);
        assert_eq!(compare_part("a", "a0"), Ordering::Equal);
    }

    #[test]
    fn digit_runs_of_any_length() {
        let long = "1".repeat(40);
        let longer = format!("{long}0");
        assert_eq!(compare_part(&long, &longer), Ordering::Less);
    }
}
