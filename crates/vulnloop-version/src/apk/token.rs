//! The tokenizer of apk-tools' `version.c`, as a list of typed values.

use std::cmp::Ordering;

/// Pre-release suffixes, oldest first. Their values are -4 to -1.
const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
/// Post-release suffixes, oldest first. Their values are 0 to 4.
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

/// Maximum length of a digit run, so that every number fits an `i64`.
const MAX_DIGITS: usize = 18;

/// Token kinds in apk-tools' order, which decides what may follow what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// A digit run after `.`, where leading zeros count specially.
    DigitOrZero,
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    Revision,
    End,
}

/// One token: its kind and the value compared between versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub value: i64,
}

impl Token {
    /// Rank used when two versions have different kinds at the same place.
    ///
    /// apk-tools orders a pre-release suffix before everything, then the
    /// kinds from `End` down to `DigitOrZero`: the shorter version is older
    /// unless the longer one continues with a pre-release suffix.
    fn rank(self) -> i8 {
        if self.kind == Kind::Suffix && self.value < 0 {
            return -1;
        }
        Kind::End as i8 - self.kind as i8
    }

    /// Compares two tokens at the same position, as the loop of
    /// `apk_version_compare_blob` does.
    pub fn compare(self, other: Self) -> Ordering {
        if self.kind == other.kind {
            self.value.cmp(&other.value)
        } else {
            self.rank().cmp(&other.rank())
        }
    }
}

/// Splits `text` into tokens ending with `End`, or returns why apk-tools
/// would call the version invalid.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, &'static str> {
    let bytes = text.as_bytes();
    let mut position = 0;
    let mut kind = Kind::Digit;
    let mut tokens = Vec::new();

    loop {
        let (value, length, forced) = read_value(kind, &bytes[position..])?;
        tokens.push(Token { kind, value });
        position += length;
        if position == bytes.len() {
            tokens.push(Token {
                kind: Kind::End,
                value: 0,
            });
            return Ok(tokens);
        }
        kind = match forced {
            Some(next) => next,
            None => {
                let (next, skipped) = next_kind(kind, &bytes[position..])?;
                position += skipped;
                if position == bytes.len() {
                    // apk-tools reads `1.` as `1.0` and `1-r` as `1-r0`; no
                    // real package ends this way, so reject it as a typo.
                    return Err("version ends with `.`, `_` or `-r`");
                }
                next
            }
        };
    }
}

/// Reads the value of a token of `kind` at the start of `rest`.
///
/// Returns the value, the bytes it used, and the kind of the next token when
/// apk-tools sets it without looking at the next byte.
fn read_value(kind: Kind, rest: &[u8]) -> Result<(i64, usize, Option<Kind>), &'static str> {
    match kind {
        Kind::DigitOrZero if rest.first() == Some(&b'0') => {
            // Leading zeros after a dot count as a negative value, so that
            // `1.01 < 1.1` and `1.001 < 1.01`, and the digits after them
            // become a separate token.
            let zeros = rest.iter().take_while(|&&byte| byte == b'0').count();
            let value = i64::try_from(zeros).map_err(|_| "too many leading zeros")?;
            Ok((-value, zeros, Some(Kind::Digit)))
        }
        Kind::DigitOrZero | Kind::Digit | Kind::SuffixNumber | Kind::Revision => {
            let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
            Ok((parse_number(&rest[..digits])?, digits, None))
        }
        Kind::Letter => Ok((i64::from(rest[0]), 1, None)),
        Kind::Suffix => read_suffix(rest),
        Kind::End => Err("text after the end of the version"),
    }
}

fn parse_number(digits: &[u8]) -> Result<i64, &'static str> {
    if digits.len() > MAX_DIGITS {
        return Err("number with more than 18 digits");
    }
    Ok(digits
        .iter()
        .fold(0, |value, digit| value * 10 + i64::from(digit - b'0')))
}

/// Reads a suffix name after `_`, matched as a prefix as apk-tools does.
fn read_suffix(rest: &[u8]) -> Result<(i64, usize, Option<Kind>), &'static str> {
    for (index, name) in PRE_SUFFIXES.iter().enumerate() {
        if rest.starts_with(name.as_bytes()) {
            return Ok((index as i64 - PRE_SUFFIXES.len() as i64, name.len(), None));
        }
    }
    for (index, name) in POST_SUFFIXES.iter().enumerate() {
        if rest.starts_with(name.as_bytes()) {
            return Ok((index as i64, name.len(), None));
        }
    }
    Err("unknown suffix after `_`, expected alpha, beta, pre, rc, cvs, svn, git, hg or p")
}

/// Decides the kind of the next token from the bytes after a value, as
/// apk-tools' `next_token` does, and returns how many separator bytes it used.
fn next_kind(current: Kind, rest: &[u8]) -> Result<(Kind, usize), &'static str> {
    let byte = rest[0];
    let (next, skipped) =
        if matches!(current, Kind::Digit | Kind::DigitOrZero) && byte.is_ascii_lowercase() {
            (Kind::Letter, 0)
        } else if current == Kind::Letter && byte.is_ascii_digit() {
            (Kind::Digit, 0)
        } else if current == Kind::Suffix && byte.is_ascii_digit() {
            (Kind::SuffixNumber, 0)
        } else {
            match (byte, rest.get(1)) {
                (b'.', _) => (Kind::DigitOrZero, 1),
                (b'_', _) => (Kind::Suffix, 1),
                (b'-', Some(b'r')) => (Kind::Revision, 2),
                (b'-', _) => return Err("hyphen not followed by `r`"),
                _ => return Err("unexpected character"),
            }
        };

    // Parts come in order (digits, letter, suffixes, revision), with the
    // few steps back that apk-tools allows.
    let allowed_back = matches!(
        (next, current),
        (Kind::DigitOrZero, Kind::Digit)
            | (Kind::Suffix, Kind::SuffixNumber)
            | (Kind::Digit, Kind::Letter)
    );
    if next < current && !allowed_back {
        return Err(out_of_order(next));
    }
    Ok((next, skipped))
}

fn out_of_order(next: Kind) -> &'static str {
    match next {
        Kind::DigitOrZero => "`.` after a letter, suffix or revision",
        Kind::Digit => "digit in the wrong place",
        Kind::Letter => "letter after a suffix or revision",
        Kind::Suffix => "`_` suffix after the revision",
        _ => "version parts out of order",
    }
}
