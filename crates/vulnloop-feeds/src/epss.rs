//! FIRST EPSS score files (`epss_scores-YYYY-MM-DD.csv.gz`), read line by line.
//!
//! A file may start with a comment line such as
//! `#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000`, then
//! has the header `cve,epss` (files before September 2021) or
//! `cve,epss,percentile`. The score date comes from `score_date` in the
//! comment, else from the `YYYY-MM-DD` in the file name.
//!
//! The files are generated whole, so a line that does not parse means the
//! file is damaged. Such a line (wrong column count, an invalid CVE id or
//! number, a probability outside 0 to 1) fails the whole file with its line
//! number instead of being skipped.

use std::io::{BufRead, BufReader, Read};

use vulnloop_advisory::{Enrichment, EpssScore};

use crate::enrichment::{is_cve_id, Output};
use crate::{input, FeedError};

/// Reads the scores and returns the score date as the snapshot.
pub(crate) fn parse(
    reader: Box<dyn Read + '_>,
    name: &str,
    output: &mut Output<'_>,
) -> Result<Option<String>, FeedError> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut date = date_from_name(name);
    let mut columns: Option<usize> = None;
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|error| FeedError::read(name, error))?;
        if read == 0 {
            break;
        }
        number += 1;
        let invalid = |message: String| FeedError::Csv {
            file: name.to_string(),
            line: number,
            message,
        };
        let text =
            std::str::from_utf8(&line).map_err(|_| invalid("the line is not UTF-8".into()))?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }

        if let Some(comment) = text.strip_prefix('#') {
            if columns.is_none() {
                date = date_from_comment(comment).or(date);
            }
            continue;
        }
        let Some(expected) = columns else {
            columns = Some(header_columns(text).ok_or_else(|| {
                invalid(format!(
                    "expected the header cve,epss or cve,epss,percentile, found {text:?}"
                ))
            })?);
            continue;
        };
        let score = parse_row(text, expected, &date).map_err(invalid)?;
        output.emit(Enrichment::Epss(score));
    }
    if columns.is_none() {
        return Err(FeedError::not_feed(
            name,
            "EPSS CSV",
            "the file has no cve,epss header line",
        ));
    }
    Ok(date)
}

/// Returns the column count of a valid header line.
fn header_columns(line: &str) -> Option<usize> {
    match line.to_ascii_lowercase().as_str() {
        "cve,epss" => Some(2),
        "cve,epss,percentile" => Some(3),
        _ => None,
    }
}

fn parse_row(line: &str, columns: usize, date: &Option<String>) -> Result<EpssScore, String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if fields.len() != columns {
        return Err(format!(
            "expected {columns} columns, found {} in {line:?}",
            fields.len()
        ));
    }
    let cve = fields[0];
    if !is_cve_id(cve) {
        return Err(format!("invalid CVE id {cve:?}"));
    }
    let score = probability("epss", fields[1])?;
    let percentile = match fields.get(2) {
        Some(text) => Some(probability("percentile", text)?),
        None => None,
    };
    Ok(EpssScore {
        cve: cve.to_string(),
        score,
        percentile,
        date: date.clone(),
    })
}

/// Parses a number from 0 to 1.
fn probability(column: &str, text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("invalid {column} value {text:?}: expected a number from 0 to 1"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("{column} value {text} is outside 0 to 1"));
    }
    Ok(value)
}

/// Reads `score_date:2023-03-07T00:00:00+0000` from the comment line.
fn date_from_comment(comment: &str) -> Option<String> {
    comment.split(',').find_map(|field| {
        let (key, value) = field.split_once(':')?;
        (key.trim() == "score_date")
            .then(|| value.trim().get(..10))
            .flatten()
            .filter(|date| is_date(date))
            .map(str::to_string)
    })
}

/// Reads the `YYYY-MM-DD` at the end of a name such as `epss_scores-2023-03-07.csv.gz`.
fn date_from_name(name: &str) -> Option<String> {
    let lower = input::base_name(name).to_ascii_lowercase();
    let (_, inner) = input::split_compression(&lower);
    let stem = inner.strip_suffix(".csv").unwrap_or(inner);
    let date = stem.get(stem.len().checked_sub(10)?..)?;
    is_date(date).then(|| date.to_string())
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_from_comment_and_name() {
        let comment = "model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000";
        assert_eq!(date_from_comment(comment).as_deref(), Some("2023-03-07"));
        assert_eq!(date_from_comment("model_version:v1"), None);
        assert_eq!(
            date_from_name("dir/epss_scores-2021-04-14.csv.gz").as_deref(),
            Some("2021-04-14")
        );
        assert_eq!(date_from_name("epss_scores-current.csv"), None);
    }

    #[test]
    fn rows_checked() {
        let date = Some("2023-03-07".to_string());
        let row = parse_row("CVE-2020-5902,0.97567,0.99995", 3, &date);
        assert_eq!(
            row.as_ref().map(|score| score.percentile),
            Ok(Some(0.99995))
        );
        assert!(parse_row("CVE-2020-5902,high,0.9", 3, &date).is_err());
        assert!(parse_row("CVE-2020-5902,1.5", 2, &date).is_err());
        assert!(parse_row("CVE-2020-5902,0.5", 3, &date).is_err());
        assert!(parse_row("nonsense,0.5", 2, &date).is_err());
    }
}
