//! The `KEY=value` syntax of os-release(5), also used by `/etc/lsb-release`.
//!
//! Values may be unquoted, "double-quoted" or 'single-quoted', with the
//! shell escapes that os-release(5) allows (`\"`, `\\`, `\$`, `` \` ``).
//! Blank lines and lines starting with `#` are ignored. A line that is not a
//! valid assignment (no `=`, an invalid name, an unterminated quote) is
//! skipped.

/// The assignments of an os-release style file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    fields: Vec<(String, String)>,
}

impl OsRelease {
    /// Parses the text of an os-release style file.
    pub fn parse(text: &str) -> Self {
        let fields = text.lines().filter_map(parse_assignment).collect();
        Self { fields }
    }

    /// Returns the value of `key`, the last assignment winning as in a shell.
    ///
    /// An empty value (`VERSION_CODENAME=""`) counts as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }
}

/// Parses one `KEY=value` line, or returns `None` for comments and invalid lines.
fn parse_assignment(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (key, raw_value) = line.split_once('=')?;
    if !is_variable_name(key) {
        return None;
    }
    let value = unquote(raw_value)?;
    Some((key.to_string(), value))
}

fn is_variable_name(key: &str) -> bool {
    let mut chars = key.chars();
    let first_valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_valid && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// Removes shell quoting from a value, or returns `None` when a quote is not closed.
///
/// Unquoted whitespace ends the value, so a trailing `# comment` is dropped.
fn unquote(raw: &str) -> Option<String> {
    let mut value = String::with_capacity(raw.len());
    let mut quote = Quote::None;
    let mut chars = raw.chars();

    while let Some(c) = chars.next() {
        match (quote, c) {
            (Quote::None, c) if c.is_whitespace() => break,
            (Quote::None, '"') => quote = Quote::Double,
            (Quote::None, '\'') => quote = Quote::Single,
            (Quote::None, '\\') => value.extend(chars.next()),
            (Quote::Double, '"') | (Quote::Single, '\'') => quote = Quote::None,
            (Quote::Double, '\\') => match chars.next() {
                Some(escaped @ ('"' | '\\' | '$' | '`')) => value.push(escaped),
                Some(other) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            },
            (_, c) => value.push(c),
        }
    }

    (quote == Quote::None).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_value() {
        let release = OsRelease::parse("ID=debian\n");
        assert_eq!(release.get("ID"), Some("debian"));
    }

    #[test]
    fn double_quoted_value_with_spaces() {
        let release = OsRelease::parse("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");
        assert_eq!(
            release.get("PRETTY_NAME"),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn single_quoted_value_keeps_backslash() {
        let release = OsRelease::parse("NAME='a\\b \"c\"'\n");
        assert_eq!(release.get("NAME"), Some("a\\b \"c\""));
    }

    #[test]
    fn double_quote_escapes() {
        let release = OsRelease::parse(r#"NAME="say \"hi\" \$HOME \\ \`x\` \n""#);
        assert_eq!(release.get("NAME"), Some(r#"say "hi" $HOME \ `x` \n"#));
    }

    #[test]
    fn unquoted_escape_and_trailing_comment() {
        let release = OsRelease::parse("NAME=a\\ b # comment\n");
        assert_eq!(release.get("NAME"), Some("a b"));
    }

    #[test]
    fn comments_and_blank_lines_ignored() {
        let release = OsRelease::parse("# ID=wrong\n\n   \nID=right\n");
        assert_eq!(release.get("ID"), Some("right"));
    }

    #[test]
    fn commented_out_key_is_absent() {
        let release = OsRelease::parse("# VERSION=\"20220412\"\n");
        assert_eq!(release.get("VERSION"), None);
    }

    #[test]
    fn unterminated_quote_skips_line() {
        let release = OsRelease::parse("NAME=\"broken\nID=debian\n");
        assert_eq!(release.get("NAME"), None);
        assert_eq!(release.get("ID"), Some("debian"));
    }

    #[test]
    fn invalid_names_skipped() {
        let release = OsRelease::parse("1ID=x\nMY-ID=y\n=z\nno equals sign\n");
        assert_eq!(release, OsRelease::default());
    }

    #[test]
    fn empty_value_is_absent() {
        let release = OsRelease::parse("VERSION_CODENAME=\"\"\n");
        assert_eq!(release.get("VERSION_CODENAME"), None);
    }

    #[test]
    fn last_assignment_wins() {
        let release = OsRelease::parse("ID=first\nID=second\n");
        assert_eq!(release.get("ID"), Some("second"));
    }

    #[test]
    fn crlf_line_endings() {
        let release = OsRelease::parse("ID=debian\r\nVERSION_ID=\"12\"\r\n");
        assert_eq!(release.get("ID"), Some("debian"));
        assert_eq!(release.get("VERSION_ID"), Some("12"));
    }
}
