use std::fmt::Write;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use vulnloop_db::{Database, FeedOrigin, Progress};

use crate::cli::{InventoryFormat, UpdateArgs};
use crate::exit::Code;
use crate::output::{plural, print_stdout};

/// `vulnloop db update`: build a new database and swap it in.
pub fn update(args: &UpdateArgs, db_path: &Path) -> anyhow::Result<Code> {
    let origin = match (&args.from, &args.mirror) {
        (Some(dir), _) => FeedOrigin::Directory(dir.clone()),
        (None, Some(url)) => FeedOrigin::Mirror(url.clone()),
        (None, None) => FeedOrigin::Official,
    };
    let mut progress = BarProgress::new();
    let report = vulnloop_db::update(db_path, &origin, &mut progress)?;
    progress.bar.finish_and_clear();

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
        eprintln!("error: feed {} was not imported: {}", failure.file, failure.error);
        if failure.carried_over > 0 {
            eprintln!("  kept its {} records from the previous database", failure.carried_over);
        }
        let mut source = failure.error.source();
        while let Some(cause) = source {
            eprintln!("  Caused by: {cause}");
            source = cause.source();
        }
    }
    eprintln!(
        "database {} updated: {} from {}",
        db_path.display(),
        plural(records, "record"),
        plural(report.imported.len(), "feed file")
    );
    Ok(if report.failures.is_empty() { Code::Clean } else { Code::Failure })
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
    eprintln!("imported {} into {} (database built {})", bundle.display(), db_path.display(), manifest.built_at);
    Ok(Code::Clean)
}

/// `vulnloop db status`: sources, snapshot dates and counts.
pub fn status(format: InventoryFormat, db_path: &Path) -> anyhow::Result<Code> {
    let database = Database::open(db_path)?;
    let metadata = database.metadata()?;
    let sources = database.sources()?;
    let text = match format {
        InventoryFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({ "database": metadata, "sources": sources }))? + "\n"
        }
        InventoryFormat::Table => {
            let mut out = String::new();
            let _ = writeln!(out, "database: {}", metadata.path.display());
            let _ = writeln!(out, "built: {} by {}", metadata.built_at, metadata.built_by);
            let _ = writeln!(out, "schema version: {}", metadata.schema_version);
            let name_width = sources.iter().map(|s| s.name.len()).chain([6]).max().unwrap_or(6);
            let snapshot_width = sources.iter().filter_map(|s| s.snapshot.as_ref()).map(String::len).chain([8]).max().unwrap_or(8);
            let _ = writeln!(out, "{:<name_width$}  {:>8}  {:<snapshot_width$}  RELEASES", "SOURCE", "RECORDS", "SNAPSHOT");
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
struct BarProgress {
    bar: ProgressBar,
}

impl BarProgress {
    fn new() -> Self {
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
