//! The automatic database update that `vulnloop scan` runs first.
//!
//! The database is refreshed when it was last refreshed (built, or checked
//! unchanged) longer ago than `--auto-update-after` hours, or when it is
//! missing or unreadable. A failed update only prints a warning: the scan
//! goes on with the database as it is, and the staleness check of the scan
//! reports an old database.

use std::path::Path;

use chrono::{DateTime, Utc};
use vulnloop_db::{Database, FeedOrigin};

use crate::cli::AutoUpdateArgs;

/// Updates the database at `db_path` when the options and its age call for it.
pub fn refresh_if_due(args: &AutoUpdateArgs, db_path: &Path) {
    if args.offline {
        return;
    }
    let refreshed_at = last_refreshed(db_path);
    if !is_due(refreshed_at, args.auto_update_after, Utc::now()) {
        return;
    }

    let origin = match &args.update_from {
        Some(from) => super::db::feed_origin(from),
        None => FeedOrigin::Official,
    };
    let source = describe(&origin);
    match refreshed_at {
        Some(at) => eprintln!("the advisory database was last refreshed at {at}; updating it from {source} before the scan"),
        None => eprintln!("no usable advisory database at {}; building it from {source} before the scan", db_path.display()),
    }
    let mut progress = super::db::BarProgress::new();
    let result = vulnloop_db::update(db_path, &origin, &mut progress);
    progress.bar.finish_and_clear();

    match result {
        Ok(report) => {
            if let Err(error) = super::db::print_update_report(&report, db_path, "warning") {
                eprintln!("warning: {error:#}");
            }
        }
        Err(error) => eprintln!(
            "warning: the automatic database update from {source} failed: {error}; \
             the scan uses the existing database (pass --offline or set VULNLOOP_OFFLINE=1 to skip the update)"
        ),
    }
}

/// Returns when the database was last refreshed, or `None` when it is missing or unreadable.
fn last_refreshed(db_path: &Path) -> Option<DateTime<Utc>> {
    let database = Database::open(db_path).ok()?;
    database.metadata().ok()?.refreshed_at()
}

/// Returns whether an update is due: always with a limit of 0 hours or without a database.
fn is_due(refreshed_at: Option<DateTime<Utc>>, after_hours: u32, now: DateTime<Utc>) -> bool {
    match refreshed_at {
        None => true,
        Some(_) if after_hours == 0 => true,
        Some(at) => {
            now.signed_duration_since(at) >= chrono::Duration::hours(i64::from(after_hours))
        }
    }
}

fn describe(origin: &FeedOrigin) -> String {
    match origin {
        FeedOrigin::Directory(path) => path.display().to_string(),
        FeedOrigin::Mirror(url) => url.clone(),
        FeedOrigin::Official => "the official feed URLs".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn due_after_limit() {
        let now = at("2026-12-04T12:00:00Z");
        assert!(
            !is_due(Some(at("2026-12-04T00:00:00Z")), 24, now),
            "12 hours old, limit 24"
        );
        assert!(
            is_due(Some(at("2026-12-03T12:00:00Z")), 24, now),
            "exactly 24 hours old"
        );
        assert!(
            is_due(Some(at("2026-12-04T11:59:00Z")), 0, now),
            "0 checks every time"
        );
        assert!(is_due(None, 24, now), "no database");
    }
}
