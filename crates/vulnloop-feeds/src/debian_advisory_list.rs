//! Debian DSA and DLA lists (`data/DSA/list`, `data/DLA/list` of the security tracker).
//!
//! Each advisory starts with a header line and continues with indented lines:
//!
//! ```text
//! [29 Mar 2023] DSA-5380-1 xorg-server - security update
//!     {CVE-2023-1393}
//!     [bullseye] - xorg-server 2:1.20.11-1+deb11u6
//!     NOTE: fixed in testing at time of DSA
//! ```
//!
//! A release line gives [`Status::Fixed`] for a version, and keeps the
//! tracker's tags: `<not-affected>` gives [`Status::NotAffected`],
//! `<unfixed>` gives [`Status::Affected`] and `<end-of-life>` gives
//! [`Status::Unsupported`]. A trailing parenthesis (`(medium)`,
//! `(bug #322591; medium)`, `(Vulnerable code not present)`) becomes the
//! note. Releases without a number in the release table (woody to squeeze,
//! Debian 3.0 to 6.0) are skipped and counted.
//!
//! The list is read line by line, so memory contains one advisory at a time.

use std::io::{BufRead, BufReader, Read};

use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Status};

use crate::skipped::Skipped;
use crate::{dpkg, FeedError, FeedKind, FeedSummary};

const EXPECTED: &str = "a Debian DSA or DLA list";

/// Parses a DSA or DLA list from a decompressed stream.
pub(crate) fn parse(
    reader: Box<dyn Read>,
    name: &str,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let mut state = State {
        sink,
        current: None,
        release_lines: 0,
        records: 0,
        headers: 0,
        newest: None,
        skipped: Skipped::default(),
    };

    // Lines are split as bytes and decoded leniently, so that a stray
    // non-UTF-8 byte in one advisory does not end the whole list.
    for (index, line) in BufReader::new(reader).split(b'\n').enumerate() {
        let line = line.map_err(|error| FeedError::read(name, error))?;
        if let Err(found) = state.line(&String::from_utf8_lossy(&line)) {
            let found = format!("{found} at line {}", index + 1);
            return Err(FeedError::not_feed(name, EXPECTED, found));
        }
    }
    state.finish();
    if state.headers == 0 {
        return Err(FeedError::not_feed(
            name,
            EXPECTED,
            "the file has no advisory header line",
        ));
    }

    Ok(FeedSummary {
        kind: FeedKind::DebianAdvisoryList,
        snapshot: state.newest,
        records: state.records,
        skipped: state.skipped.into_lines(),
    })
}

struct State<'a> {
    sink: &'a mut dyn FnMut(Advisory),
    current: Option<Advisory>,
    /// Release lines of the current advisory, read or skipped.
    release_lines: usize,
    records: usize,
    headers: usize,
    /// The newest advisory date, as the snapshot date.
    newest: Option<String>,
    skipped: Skipped,
}

impl State<'_> {
    /// Reads one line; an error describes a line that does not belong in a list.
    fn line(&mut self, line: &str) -> Result<(), String> {
        if line.trim().is_empty() {
            return Ok(());
        }
        if line.starts_with('[') {
            self.finish();
            let advisory = header(line)?;
            self.headers += 1;
            if advisory.published > self.newest {
                self.newest.clone_from(&advisory.published);
            }
            self.current = Some(advisory);
            return Ok(());
        }
        let Some(advisory) = self.current.as_mut() else {
            return Err("an indented line before the first advisory header".to_string());
        };
        let line = line.trim();
        if line.starts_with('[') {
            self.release_lines += 1;
        }
        body_line(line, advisory, &mut self.skipped);
        Ok(())
    }

    /// Hands the advisory read so far to the sink, when it has entries.
    fn finish(&mut self) {
        let release_lines = std::mem::take(&mut self.release_lines);
        let Some(mut advisory) = self.current.take() else {
            return;
        };
        if release_lines == 0 {
            // End-of-life notices and key changes name no package.
            self.skipped
                .add("announcement without a package line", &advisory.id);
            return;
        }
        if advisory.affected.is_empty() {
            self.skipped.add(
                "advisory has no release line that could be read",
                &advisory.id,
            );
            return;
        }
        advisory.normalize();
        self.records += 1;
        (self.sink)(advisory);
    }
}

/// Reads `[29 Mar 2023] DSA-5380-1 xorg-server - security update`.
fn header(line: &str) -> Result<Advisory, String> {
    let (date, rest) = line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .ok_or_else(|| format!("header {line:?} has no [date]"))?;
    let date =
        iso_date(date).ok_or_else(|| format!("header date {date:?} is not like 29 Mar 2023"))?;
    let rest = rest.trim();
    let (id, title) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if !(id.starts_with("DSA-") || id.starts_with("DLA-") || id.starts_with("DTSA-")) {
        return Err(format!("header id {id:?} is not a DSA, DLA or DTSA id"));
    }

    let mut advisory = Advisory::new(id, FeedKind::DebianAdvisoryList.source_name());
    advisory.title = Some(title.trim().to_string()).filter(|title| !title.is_empty());
    advisory.published = Some(date);
    advisory.url = Some(format!("https://security-tracker.debian.org/tracker/{id}"));
    Ok(advisory)
}

/// Turns `29 Mar 2023` into `2023-03-29`.
fn iso_date(text: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = text.split_whitespace();
    let day: u8 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|name| *name == month_name)?;
    let year: u16 = parts.next()?.parse().ok()?;
    Some(format!("{year:04}-{:02}-{day:02}", month + 1))
}

/// Reads a `{CVE …}`, `[release] - package version` or `NOTE:` line.
fn body_line(line: &str, advisory: &mut Advisory, skipped: &mut Skipped) {
    if let Some(ids) = line
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
    {
        let cves = ids.split_whitespace().filter(|id| id.starts_with("CVE-"));
        advisory.cves.extend(cves.map(str::to_string));
    } else if line.starts_with('[') {
        match release_entry(line) {
            Ok(entry) => advisory.affected.push(entry),
            Err(reason) => skipped.add(reason, &advisory.id),
        }
    } else if !line.starts_with("NOTE:") {
        skipped.add(format!("unrecognized line {line:?}"), &advisory.id);
    }
}

/// Reads `[bullseye] - xorg-server 2:1.20.11-1+deb11u6 (medium)`.
fn release_entry(line: &str) -> Result<Affected, String> {
    let (codename, rest) = line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .ok_or_else(|| format!("release line {line:?} has no [release]"))?;
    let Some(number) = vulnloop_platform::debian_release(codename) else {
        return Err(format!("release {codename} has no release number"));
    };
    let rest = rest
        .trim_start()
        .strip_prefix('-')
        .ok_or_else(|| format!("release line {line:?} has no ' - '"))?;
    let (package, rest) = rest
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("release line {line:?} has no version"))?;
    let rest = rest.trim();
    let (version, note) = match rest.split_once('(') {
        Some((version, note)) => (
            version.trim(),
            Some(note.trim_end_matches(')').trim().to_string()),
        ),
        None => (rest, None),
    };

    let status = match version {
        "<not-affected>" => Status::NotAffected,
        "<unfixed>" => Status::Affected,
        "<end-of-life>" => Status::Unsupported,
        version => Status::Fixed {
            fixed: dpkg::fixed_version(version).map_err(|reason| format!("{package}: {reason}"))?,
        },
    };
    Ok(Affected {
        ecosystem: Ecosystem::new("debian", number),
        package: package.to_string(),
        kind: PackageKind::Source,
        status,
        channel: None,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_iso() {
        assert_eq!(iso_date("29 Mar 2023").as_deref(), Some("2023-03-29"));
        assert_eq!(iso_date("01 Dec 1999").as_deref(), Some("1999-12-01"));
        assert_eq!(iso_date("29 March 2023"), None);
    }

    #[test]
    fn release_lines_keep_tags_and_notes() {
        let fixed =
            release_entry("[bullseye] - xorg-server 2:1.20.11-1+deb11u6").map(|entry| entry.status);
        assert_eq!(
            fixed,
            Ok(Status::Fixed {
                fixed: "2:1.20.11-1+deb11u6".into()
            })
        );
        let not_affected =
            release_entry("[buster] - xpdf <not-affected> (Vulnerable code not present)");
        let not_affected = not_affected.map(|entry| (entry.status, entry.note));
        assert_eq!(
            not_affected,
            Ok((
                Status::NotAffected,
                Some("Vulnerable code not present".to_string())
            ))
        );
        assert!(release_entry("[woody] - ssh 1.0-1").is_err());
    }
}
