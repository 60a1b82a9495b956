use std::fmt::Write;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use vulnloop_db::{Database, DatabaseChange, FeedOrigin, FetchStatus, Progress, UpdateReport};

use crate::cli::{InventoryFormat, UpdateArgs};
use crate::exit::Code;
use crate::output::{plural, print_stdout};

/// `vulnloop db update`: build a new database and swap it in.
pub fn update(args: &UpdateArgs, db_path: &Path) -> anyhow::Result<Code> {
    let origin = match (&args.from, &args.mirror) {
        (Some(from), _) => feed_origin(from),
        (None, Some(url)) => FeedOrigin::Mirror(url.clone()),
        (None, None) => FeedOrigin::Official,
    };
    let mut progress = BarProgress::new();
    let report = vulnloop_db::update(db_path, &origin, &mut progress)?;
    progress.bar.finish_and_clear();

    print_update_report(&report, db_path, "error")?;
    Ok(if report.failures.is_empty() {
        Code::Clean
    } else {
        Code::Failure
    })
}

/// Reads `--from DIR|FILE|URL`: an `http://` or `https://` URL is a mirror, anything else a path.
pub(super) fn feed_origin(from: &Path) -> FeedOrigin {
    match from.to_str() {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            FeedOrigin::Mirror(url.to_string())
        }
        _ => FeedOrigin::Directory(from.to_path_buf()),
    }
}

/// Prints what an update did on stderr: each download, each import, each failure and the outcome.
///
/// `failure_label` starts each failed feed's line: `error` for `db update`,
/// `warning` before a scan, which goes on.
pub(super) fn print_update_report(
    report: &UpdateReport,
    db_path: &Path,
    failure_label: &str,
) -> anyhow::Result<()> {
    for fetch in &report.fetches {
        match &fetch.status {
            FetchStatus::Downloaded { bytes } => eprintln!(
                "downloaded {} ({})",
                fetch.url,
                plural(*bytes as usize, "byte")
            ),
            FetchStatus::Unchanged => eprintln!("unchanged {} (304 Not Modified)", fetch.url),
            FetchStatus::Failed(why) => eprintln!("failed {}: {why}", fetch.url),
        }
    }
    let records: usize = report.imported.iter().map(|(_, _, n)| n).sum();
    for (file, kind, count) in &report.imported {
        eprintln!("imported {} from {file} ({kind})", plural(*count, "record"));
    }
    for file in &report.unrecognized {
        tracing::info!(file, "not a feed format this version reads; skipped");
    }
    if !report.skipped_records.is_empty() {
        eprintln!("some records inside imported feeds were skipped (run with -v to list them)");
        for skipped in &report.skipped_records {
            tracing::info!("{skipped}");
        }
    }
    for failure in &report.failures {
        eprintln!(
            "{failure_label}: feed {} was not imported: {}",
            failure.file, failure.error
        );
        if failure.carried_over > 0 {
            eprintln!(
                "  kept its {} records from the previous database",
                failure.carried_over
            );
        }
        let mut source = failure.error.source();
        while let Some(cause) = source {
            eprintln!("  Caused by: {cause}");
            source = cause.source();
        }
    }
    match report.database {
        DatabaseChange::Rebuilt => eprintln!(
            "database {} updated: {} from {}",
            db_path.display(),
            plural(records, "record"),
            plural(report.imported.len(), "feed file")
        ),
        DatabaseChange::UpToDate => {
            let metadata = Database::open(db_path)?.metadata()?;
            eprintln!(
                "database {} is up to date: no feed file changed since it was built at {} (checked at {})",
                db_path.display(),
                metadata.built_at,
                metadata.checked_at.as_deref().unwrap_or("-")
            );
        }
        DatabaseChange::Kept => eprintln!(
            "database {} kept as it was: the other feed files did not change, and the failed ones were not checked; \
             run `vulnloop db update` again when the source is reachable",
            db_path.display()
        ),
    }
    Ok(())
}

/// `vulnloop db export`: write the database as a bundle.
pub fn export(bundle: &Path, db_path: &Path) -> anyhow::Result<Code> {
    let manifest = vulnloop_db::export(db_path, bundle)?;
    eprintln!(
        "exported {} (built {}) to {}; SHA-256 of the database {}",
        db_path.display(),
        manifest.built_at,
        bundle.display(),
        manifest.sha256
    );
    Ok(Code::Clean)
}

/// `vulnloop db import`: replace the database with a bundle's.
pub fn import(bundle: &Path, db_path: &Path) -> anyhow::Result<Code> {
    let manifest = vulnloop_db::import(bundle, db_path)?;
    eprintln!(
        "imported {} into {} (database built {})",
        bundle.display(),
        db_path.display(),
        manifest.built_at
    );
    Ok(Code::Clean)
}

/// `vulnloop db status`: sources, snapshot dates and counts.
pub fn status(format: InventoryFormat, db_path: &Path) -> anyhow::Result<Code> {
    let database = Database::open(db_path)?;
    let metadata = database.metadata()?;
    let sources = database.sources()?;
    let text = match format {
        InventoryFormat::Json => {
            serde_json::to_string_pretty(
                &serde_json::json!({ "database": metadata, "sources": sources }),
            )? + "\n"
        }
        InventoryFormat::Table => {
            let mut out = String::new();
            let _ = writeln!(out, "database: {}", metadata.path.display());
            let _ = writeln!(out, "built: {} by {}", metadata.built_at, metadata.built_by);
            if let Some(checked_at) = &metadata.checked_at {
                let _ = writeln!(out, "checked unchanged: {checked_at}");
            }
            let _ = writeln!(out, "schema version: {}", metadata.schema_version);
            let name_width = sources
                .iter()
                .map(|s| s.name.len())
                .chain([6])
                .max()
                .unwrap_or(6);
            let snapshot_width = sources
                .iter()
                .filter_map(|s| s.snapshot.as_ref())
                .map(String::len)
                .chain([8])
                .max()
                .unwrap_or(8);
            let _ = writeln!(
                out,
                "{:<name_width$}  {:>8}  {:<snapshot_width$}  RELEASES",
                "SOURCE", "RECORDS", "SNAPSHOT"
            );
            for source in &sources {
                let _ = writeln!(
                    out,
                    "{:<name_width$}  {:>8}  {:<snapshot_width$}  {}",
                    source.name,
                    source.records,
                    source.snapshot.as_deref().unwrap_or("-"),
                    source.ecosystems.join(", ")
                );
            }
            for failed in database.failed_files()? {
                let _ = writeln!(
                    out,
                    "failed in the last update: {} ({}), {} records kept from the database before",
                    failed.file, failed.source, failed.carried_over
                );
            }
            out
        }
    };
    print_stdout(&text)?;
    Ok(Code::Clean)
}

/// Draws feed progress on stderr; indicatif hides it when stderr is not a terminal.
pub(super) struct BarProgress {
    pub(super) bar: ProgressBar,
}

impl BarProgress {
    pub(super) fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {bytes}/{total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Self { bar }
    }
}

impl Progress for BarProgress {
    fn file_started(&mut self, name: &str, size: Option<u64>) {
        self.bar.set_position(0);
        self.bar.set_length(size.unwrap_or(0));
        self.bar.set_message(name.to_string());
    }

    fn bytes_downloaded(&mut self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn file_finished(&mut self, name: &str, records: usize) {
        tracing::debug!(feed = name, records, "feed file done");
        self.bar.tick();
    }
}
