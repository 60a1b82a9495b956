//! Maven's version ordering, for Java libraries found in JARs.
//!
//! This follows the version order rules of the Maven POM reference: a
//! version splits into numbers and qualifiers at `.`, `-` and at each
//! switch between digits and letters (which counts as `-`). Trailing
//! "null" items (`0`, `ga`, `final`, `release`, the empty qualifier) are
//! dropped before each `-` and at the end. Items then compare pairwise,
//! the shorter side padded with null items: qualifiers rank
//! `alpha` < `beta` < `milestone` < `rc` = `cr` < `snapshot` < release <
//! `sp` < any other word (those in lexical order), and
//! `.qualifier` = `-qualifier` < `-number` < `.number`.
//!
//! NOTE: written from those rules as documented, not ported from Maven's
//! `ComparableVersion` and not checked against Maven itself, so unusual
//! spellings may order differently.

use std::cmp::Ordering;

/// Compares two Maven versions (`2.0-beta9` < `2.0-rc1` < `2.0` < `2.0-sp1`).
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (items(a), items(b));
    for index in 0..a.len().max(b.len()) {
        let left = a
            .get(index)
            .cloned()
            .unwrap_or_else(|| null_like(&b[index]));
        let right = b
            .get(index)
            .cloned()
            .unwrap_or_else(|| null_like(&a[index]));
        let order = compare_items(&left, &right);
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A number and whether a `.` (rather than `-`) came before it.
    Number { value: u128, after_dot: bool },
    /// A qualifier, lowercase, with the `a1`/`b1`/`m1` short forms expanded.
    Qualifier(String),
}

/// The null item that pads the shorter version against `other`.
fn null_like(other: &Item) -> Item {
    match other {
        Item::Number { after_dot, .. } => Item::Number {
            value: 0,
            after_dot: *after_dot,
        },
        Item::Qualifier(_) => Item::Qualifier(String::new()),
    }
}

fn is_null(item: &Item) -> bool {
    match item {
        Item::Number { value, .. } => *value == 0,
        Item::Qualifier(word) => matches!(word.as_str(), "" | "ga" | "final" | "release"),
    }
}

fn items(version: &str) -> Vec<Item> {
    let lower = version.trim().to_ascii_lowercase();
    let mut items = Vec::new();
    let mut token = String::new();
    let mut separator = '.';
    let chars: Vec<char> = lower.chars().collect();
    for (index, &c) in chars.iter().enumerate() {
        if c == '.' || c == '-' {
            push_token(&mut items, &token, separator, chars.get(index + 1));
            if c == '-' {
                trim_nulls(&mut items);
            }
            token.clear();
            separator = c;
            continue;
        }
        let switches = token
            .chars()
            .last()
            .is_some_and(|last| last.is_ascii_digit() != c.is_ascii_digit());
        if switches {
            push_token(&mut items, &token, separator, Some(&c));
            token.clear();
            separator = '-';
        }
        token.push(c);
    }
    push_token(&mut items, &token, separator, None);
    trim_nulls(&mut items);
    items
}

fn push_token(items: &mut Vec<Item>, token: &str, separator: char, next: Option<&char>) {
    if token.is_empty() {
        items.push(Item::Number {
            value: 0,
            after_dot: separator == '.',
        });
        return;
    }
    if token.bytes().all(|b| b.is_ascii_digit()) {
        let value = token.parse().unwrap_or(u128::MAX);
        items.push(Item::Number {
            value,
            after_dot: separator == '.',
        });
        return;
    }
    // `a1`, `b1` and `m1` are short for alpha, beta and milestone only when a digit follows.
    let followed_by_digit = next.is_some_and(char::is_ascii_digit);
    let word = match token {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "cr" => "rc",
        other => other,
    };
    items.push(Item::Qualifier(word.to_string()));
}

fn trim_nulls(items: &mut Vec<Item>) {
    while items.last().is_some_and(is_null) {
        items.pop();
    }
}

fn compare_items(a: &Item, b: &Item) -> Ordering {
    match (a, b) {
        (
            Item::Number {
                value: x,
                after_dot: dot_x,
            },
            Item::Number {
                value: y,
                after_dot: dot_y,
            },
        ) => dot_x.cmp(dot_y).then(x.cmp(y)),
        (Item::Number { .. }, Item::Qualifier(_)) => Ordering::Greater,
        (Item::Qualifier(_), Item::Number { .. }) => Ordering::Less,
        (Item::Qualifier(x), Item::Qualifier(y)) => qualifier_rank(x).cmp(&qualifier_rank(y)),
    }
}

/// Rank of a qualifier; unknown words sort after `sp`, among themselves lexically.
fn qualifier_rank(word: &str) -> (u8, &str) {
    let rank = match word {
        "alpha" => 0,
        "beta" => 1,
        "milestone" => 2,
        "rc" => 3,
        "snapshot" => 4,
        "" | "ga" | "final" | "release" => 5,
        "sp" => 6,
        _ => 7,
    };
    (rank, if rank == 7 { word } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row is in ascending order; the examples of the Maven POM reference.
    #[test]
    fn specification_examples() {
        let ascending = [
            ["1", "1.1"],
            ["1-snapshot", "1"],
            ["1", "1-sp"],
            ["1-foo2", "1-foo10"],
            ["1-foo", "1-1"],
            ["1-1", "1.1"],
            ["1-ga", "1-sp"],
            ["1-ga.1", "1-sp.1"],
            ["2.0-beta9", "2.0-rc1"],
            ["2.0-rc1", "2.0"],
            ["2.14.1", "2.15.0"],
            ["2.17.0", "2.17.1"],
        ];
        for [lower, higher] in ascending {
            assert_eq!(compare(lower, higher), Ordering::Less, "{lower} < {higher}");
            assert_eq!(
                compare(higher, lower),
                Ordering::Greater,
                "{higher} > {lower}"
            );
        }
    }

    #[test]
    fn equal_spellings() {
        for [a, b] in [
            ["1.ga", "1"],
            ["1-ga", "1"],
            ["1-0", "1"],
            ["1.0", "1"],
            ["1-a1", "1-alpha-1"],
            ["1.foo", "1-foo"],
            ["1.0-CR1", "1.0-rc1"],
        ] {
            assert_eq!(compare(a, b), Ordering::Equal, "{a} = {b}");
        }
    }
}
