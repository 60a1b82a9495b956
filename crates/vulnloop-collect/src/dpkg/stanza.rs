//! The deb822 control-file syntax of the dpkg database (deb822(5)).
//!
//! A file is a sequence of stanzas separated by blank lines. Each stanza is
//! a sequence of `Field: value` lines, and a line starting with a space or a
//! tab continues the value of the field above it. Lines that end in CRLF are
//! accepted.

/// One `Field: value` line. Continuation lines are not kept, because the
/// fields the collector reads are single-line fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
}

/// One stanza and the line (1-based) it starts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Stanza<'a> {
    pub(crate) line: usize,
    pub(crate) fields: Vec<Field<'a>>,
}

/// A line that is neither a field, a continuation nor a blank line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MalformedLine {
    pub(crate) line: usize,
    pub(crate) message: String,
}

/// The stanzas of a file and the lines that could not be read.
#[derive(Debug, Default)]
pub(crate) struct Stanzas<'a> {
    pub(crate) stanzas: Vec<Stanza<'a>>,
    pub(crate) malformed: Vec<MalformedLine>,
}

impl<'a> Stanza<'a> {
    /// Returns the fields named `name`, compared case-insensitively as deb822 requires.
    pub(crate) fn fields_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Field<'a>> + 's {
        self.fields
            .iter()
            .filter(move |field| field.name.eq_ignore_ascii_case(name))
    }
}

/// Splits deb822 text into stanzas, recording each malformed line and skipping it.
pub(crate) fn parse_stanzas(text: &str) -> Stanzas<'_> {
    let mut result = Stanzas::default();
    let mut current: Option<Stanza<'_>> = None;

    for (index, raw_line) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);

        if line.trim_matches([' ', '\t']).is_empty() {
            result.stanzas.extend(current.take());
        } else if line.starts_with([' ', '\t']) {
            // A stanza exists only once a field line has started it.
            if current.is_none() {
                result.malformed.push(MalformedLine {
                    line: number,
                    message: "continuation line does not follow a field".to_string(),
                });
            }
        } else if let Some(field) = parse_field(line) {
            current
                .get_or_insert_with(|| Stanza {
                    line: number,
                    fields: Vec::new(),
                })
                .fields
                .push(field);
        } else {
            result.malformed.push(MalformedLine {
                line: number,
                message: describe_malformed(line),
            });
        }
    }
    result.stanzas.extend(current);
    result
}

/// Parses `Name: value`. A field name is printable ASCII other than `:`
/// and must not start with `#` or `-` (deb822(5)).
fn parse_field(line: &str) -> Option<Field<'_>> {
    let (name, value) = line.split_once(':')?;
    let valid_name = !name.is_empty()
        && !name.starts_with(['#', '-'])
        && name.bytes().all(|b| b.is_ascii_graphic());
    valid_name.then(|| Field {
        name,
        value: value.trim(),
    })
}

/// Describes a malformed line, quoting its start so the reader can find it.
fn describe_malformed(line: &str) -> String {
    let excerpt: String = line.chars().take(40).collect();
    let ellipsis = if line.chars().count() > 40 { "…" } else { "" };
    format!(
        "line {excerpt:?}{ellipsis} is neither a `Field: value` line nor a continuation line starting with a space; skipped"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_stanzas_with_continuation() {
        let text = "Package: a\nDescription: x\n more\n .\n\nPackage: b\n";
        let parsed = parse_stanzas(text);
        assert_eq!(parsed.stanzas.len(), 2);
        assert_eq!(parsed.stanzas[1].line, 6);
        assert_eq!(parsed.stanzas[0].fields.len(), 2);
        assert!(parsed.malformed.is_empty(), "{:?}", parsed.malformed);
    }

    #[test]
    fn crlf_and_whitespace_separator() {
        let text = "Package: a\r\nVersion: 1\r\n \t\r\nPackage: b\r\n";
        let parsed = parse_stanzas(text);
        assert_eq!(parsed.stanzas.len(), 2);
        assert_eq!(
            parsed.stanzas[0].fields[1],
            Field {
                name: "Version",
                value: "1"
            }
        );
    }

    #[test]
    fn field_names_case_insensitive() {
        let parsed = parse_stanzas("PACKAGE: a\n");
        assert_eq!(parsed.stanzas[0].fields_named("Package").count(), 1);
    }

    #[test]
    fn malformed_line_recorded() {
        let parsed = parse_stanzas("Package: a\nno colon here\n");
        assert_eq!(parsed.malformed.len(), 1);
        assert_eq!(parsed.malformed[0].line, 2);
        assert!(
            parsed.malformed[0].message.contains("no colon here"),
            "{}",
            parsed.malformed[0].message
        );
    }

    #[test]
    fn leading_continuation_recorded() {
        let parsed = parse_stanzas(" orphan\nPackage: a\n");
        assert_eq!(parsed.malformed.len(), 1);
        assert_eq!(parsed.malformed[0].line, 1);
    }

    #[test]
    fn comment_and_dash_names_malformed() {
        let parsed = parse_stanzas("#Package: a\n-Package: b\nPack age: c\n");
        assert_eq!(parsed.malformed.len(), 3);
        assert!(parsed.stanzas.is_empty());
    }
}
