//! A statement-by-statement port of apk-tools' version comparison, kept
//! apart from `ApkVersion` so that the two implementations check each other.
//!
//! Source: `src/version.c` of alpinelinux/apk-tools 2.x, functions
//! `next_token`, `get_token` and `apk_version_compare_blob_fuzzy` (without
//! fuzzy matching), at commit 010497cb5ae50713f0ed4e4c4bf3b860bf751da7.
//! Numbers are `i64` here where apk-tools uses `int`.

use std::cmp::Ordering;

const INVALID: i32 = -1;
const DIGIT_OR_ZERO: i32 = 0;
const DIGIT: i32 = 1;
const LETTER: i32 = 2;
const SUFFIX: i32 = 3;
const SUFFIX_NO: i32 = 4;
const REVISION_NO: i32 = 5;
const END: i32 = 6;

const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

fn next_token(kind: &mut i32, blob: &mut &[u8]) {
    let mut n = INVALID;
    if blob.is_empty() || blob[0] == 0 {
        n = END;
    } else if (*kind == DIGIT || *kind == DIGIT_OR_ZERO) && blob[0].is_ascii_lowercase() {
        n = LETTER;
    } else if *kind == LETTER && blob[0].is_ascii_digit() {
        n = DIGIT;
    } else if *kind == SUFFIX && blob[0].is_ascii_digit() {
        n = SUFFIX_NO;
    } else {
        match blob[0] {
            b'.' => n = DIGIT_OR_ZERO,
            b'_' => n = SUFFIX,
            b'-' if blob.len() > 1 && blob[1] == b'r' => {
                n = REVISION_NO;
                *blob = &blob[1..];
            }
            _ => {}
        }
        *blob = &blob[1..];
    }
    if n < *kind
        && !((n == DIGIT_OR_ZERO && *kind == DIGIT)
            || (n == SUFFIX && *kind == SUFFIX_NO)
            || (n == DIGIT && *kind == LETTER))
    {
        n = INVALID;
    }
    *kind = n;
}

fn get_token(kind: &mut i32, blob: &mut &[u8]) -> i64 {
    let mut value: i64 = 0;
    let mut i = 0;
    let mut next = INVALID;
    if blob.is_empty() {
        *kind = END;
        return 0;
    }
    let mut digits = *kind == DIGIT || *kind == SUFFIX_NO || *kind == REVISION_NO;
    if *kind == DIGIT_OR_ZERO {
        if blob[0] == b'0' {
            while i < blob.len() && blob[i] == b'0' {
                i += 1;
            }
            next = DIGIT;
            value = -(i as i64);
        } else {
            digits = true;
        }
    }
    if digits {
        while i < blob.len() && blob[i].is_ascii_digit() {
            value = value * 10 + i64::from(blob[i] - b'0');
            i += 1;
        }
    } else if *kind == LETTER {
        value = i64::from(blob[0]);
        i = 1;
    } else if *kind == SUFFIX {
        let pre = PRE_SUFFIXES
            .iter()
            .position(|name| blob.starts_with(name.as_bytes()));
        let post = POST_SUFFIXES
            .iter()
            .position(|name| blob.starts_with(name.as_bytes()));
        match (pre, post) {
            (Some(index), _) => {
                value = index as i64 - 4;
                i = PRE_SUFFIXES[index].len();
            }
            (None, Some(index)) => {
                value = index as i64;
                i = POST_SUFFIXES[index].len();
            }
            (None, None) => {
                *kind = INVALID;
                return -1;
            }
        }
    } else if *kind != DIGIT_OR_ZERO {
        *kind = INVALID;
        return -1;
    }
    *blob = &blob[i..];
    if blob.is_empty() {
        *kind = END;
    } else if next != INVALID {
        *kind = next;
    } else {
        next_token(kind, blob);
    }
    value
}

/// Compares two versions as `apk_version_compare_blob` does.
pub fn apk_compare(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let (mut at, mut bt) = (DIGIT, DIGIT);
    let (mut av, mut bv) = (0, 0);
    while at == bt && at != END && at != INVALID && av == bv {
        av = get_token(&mut at, &mut a);
        bv = get_token(&mut bt, &mut b);
    }
    if av != bv {
        return av.cmp(&bv);
    }
    if at == bt {
        return Ordering::Equal;
    }
    let mut peek = at;
    if at == SUFFIX && get_token(&mut peek, &mut a) < 0 {
        return Ordering::Less;
    }
    peek = bt;
    if bt == SUFFIX && get_token(&mut peek, &mut b) < 0 {
        return Ordering::Greater;
    }
    bt.cmp(&at)
}

/// Returns whether apk-tools' `apk_version_validate` accepts `text`.
pub fn apk_validate(text: &str) -> bool {
    let mut blob = text.as_bytes();
    let mut kind = DIGIT;
    while kind != END && kind != INVALID {
        get_token(&mut kind, &mut blob);
    }
    kind == END
}
