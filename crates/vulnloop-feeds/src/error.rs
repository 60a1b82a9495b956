use std::io;

use crate::FeedKind;

/// A feed file that could not be read as a whole.
///
/// Every variant names the file. A single bad record inside a readable file is
/// not an error: it is listed in [`crate::FeedSummary::skipped`] instead.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The file could not be opened or its bytes could not be read or decompressed.
    #[error(
        "failed to read {file}: {source}; the file may be truncated or not compressed the way \
         its name says, so download it again"
    )]
    Read {
        /// File name or path as given.
        file: String,
        /// The I/O or decompression error.
        #[source]
        source: io::Error,
    },

    /// The file name's extension names a compression or archive format this crate does not read.
    #[error(
        "cannot read {file}: {format} files are not supported; unpack it and pass the files inside"
    )]
    UnsupportedFormat {
        /// File name or path as given.
        file: String,
        /// The format named by the extension, such as `zip`.
        format: &'static str,
    },

    /// A tar archive is damaged.
    #[error("failed to read the tar archive {file}: {source}; download it again")]
    Archive {
        /// File name or path as given.
        file: String,
        /// The error from the tar reader.
        #[source]
        source: io::Error,
    },

    /// The content is not the feed format that the file name or the caller claims.
    #[error(
        "{file} is not {expected}: {found}; check the file or remove it from the feed directory"
    )]
    NotFeed {
        /// File name or path as given.
        file: String,
        /// The format that was expected, such as `Debian OVAL XML`.
        expected: &'static str,
        /// The content found instead, with its position.
        found: String,
    },

    /// The XML is malformed or ends early.
    #[error(
        "{file} line {line}: invalid XML: {message}; the file may be truncated, download it again"
    )]
    Xml {
        /// File name or path as given.
        file: String,
        /// Line of the error, counted from 1.
        line: usize,
        /// The XML reader's message.
        message: String,
    },

    /// The JSON is malformed or has the wrong shape.
    #[error("{file} line {line} column {column}: invalid {expected}: {message}; check the file or download it again")]
    Json {
        /// File name or path as given, with the archive entry when there is one.
        file: String,
        /// The format that was expected, such as `OSV JSON`.
        expected: &'static str,
        /// Line of the error, counted from 1.
        line: usize,
        /// Column of the error, counted from 1.
        column: usize,
        /// The JSON reader's message.
        message: String,
    },

    /// A line of a CSV feed (EPSS scores) does not parse.
    #[error(
        "{file} line {line}: invalid EPSS CSV: {message}; check the file or download it again"
    )]
    Csv {
        /// File name or path as given.
        file: String,
        /// Line of the error, counted from 1.
        line: usize,
        /// The problem found in the line, with the offending value.
        message: String,
    },

    /// Neither the name nor the content of a file names its release.
    #[error("cannot tell which {distribution} release {file} is for: {reason}")]
    UnknownRelease {
        /// File name or path as given.
        file: String,
        /// `Debian` or `Ubuntu`.
        distribution: &'static str,
        /// The missing information and how to supply it.
        reason: String,
    },

    /// The caller asked for a feed kind that does not fit this file's layout.
    #[error("{file} cannot be read as {kind}: {reason}")]
    WrongLayout {
        /// File name or path as given.
        file: String,
        /// The requested kind.
        kind: FeedKind,
        /// The reason the layout does not fit, and what to pass instead.
        reason: &'static str,
    },
}

impl FeedError {
    /// Wraps an I/O error met while reading `file`.
    pub(crate) fn read(file: &str, source: io::Error) -> Self {
        FeedError::Read {
            file: file.to_string(),
            source,
        }
    }

    /// Wraps a serde_json error met while reading `file` as `expected`.
    ///
    /// An I/O error under the JSON reader (a truncated download) becomes [`FeedError::Read`].
    pub(crate) fn json(file: &str, expected: &'static str, error: serde_json::Error) -> Self {
        if error.is_io() {
            return FeedError::read(file, std::io::Error::from(error));
        }
        FeedError::Json {
            file: file.to_string(),
            expected,
            line: error.line(),
            column: error.column(),
            message: json_message(&error),
        }
    }

    /// Reports content that is not the `expected` format.
    pub(crate) fn not_feed(file: &str, expected: &'static str, found: impl Into<String>) -> Self {
        FeedError::NotFeed {
            file: file.to_string(),
            expected,
            found: found.into(),
        }
    }
}

/// Returns serde_json's message without the position it appends, which the
/// `Json` variant already carries.
fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_string(),
        None => text,
    }
}
