//! Parses the enrichment feed files named on the command line and prints
//! one summary line per file with its record count and parse time.
//!
//! Used to time the parsers on real data:
//!
//! ```text
//! cargo run --release -p vulnloop-feeds --example parse_enrichment -- FILE...
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use vulnloop_advisory::Enrichment;
use vulnloop_feeds::{detect, parse_enrichment_file};

fn main() -> ExitCode {
    let started = Instant::now();
    let mut records = 0;
    let mut vectors = 0;
    let mut failed = false;
    for argument in std::env::args().skip(1) {
        let path = Path::new(&argument);
        let Some(kind) = detect(path).filter(|kind| kind.is_enrichment()) else {
            eprintln!("{argument}: not an enrichment feed, passed over");
            continue;
        };
        let file_started = Instant::now();
        let mut count_vectors = |record: Enrichment| {
            if let Enrichment::Cve(record) = record {
                vectors += record.cvss.len();
            }
        };
        match parse_enrichment_file(path, kind, &mut count_vectors) {
            Ok(summary) => {
                records += summary.records;
                println!(
                    "{argument}: {kind}, {} records, snapshot {}, {} skip reasons, {:.2?}",
                    summary.records,
                    summary.snapshot.as_deref().unwrap_or("none"),
                    summary.skipped.len(),
                    file_started.elapsed()
                );
                for line in &summary.skipped {
                    println!("  skipped: {line}");
                }
            }
            Err(error) => {
                eprintln!("error: {error}");
                failed = true;
            }
        }
    }
    println!(
        "total: {records} records, {vectors} CVSS vectors, {:.2?}",
        started.elapsed()
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
