//! The priority model: points from severity, exploitation, exposure, age,
//! vendor status and asset importance; the sum decides the level.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use vulnloop_advisory::{CveFacts, Severity};
use vulnloop_inventory::Inventory;
use vulnloop_match::{Finding, FindingStatus};

use crate::exposure::{exposure_of, Exposure};
use crate::intel::{intel_of, Intel};

/// The three priority levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriorityLevel {
    /// Risk is low enough to accept for now.
    NoNeedToFix,
    /// Fix in the next regular maintenance window.
    FixLater,
    /// Fix as soon as possible.
    FixNow,
}

impl PriorityLevel {
    /// Every level, most urgent first.
    pub const ALL: [PriorityLevel; 3] = [
        PriorityLevel::FixNow,
        PriorityLevel::FixLater,
        PriorityLevel::NoNeedToFix,
    ];

    /// Returns the name used in output and on the command line (`fix-now`).
    pub fn as_str(self) -> &'static str {
        match self {
            PriorityLevel::FixNow => "fix-now",
            PriorityLevel::FixLater => "fix-later",
            PriorityLevel::NoNeedToFix => "no-need-to-fix",
        }
    }

    /// Parses a name written by [`PriorityLevel::as_str`] (also its serde
    /// form); `_` may stand for `-`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|level| level.as_str() == text)
    }
}

/// How much the host matters, as the user states it (`--asset-importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetImportance {
    /// A test or throwaway machine.
    Low,
    #[default]
    Normal,
    /// A production, internet-facing or data-holding machine.
    High,
}

impl AssetImportance {
    /// Parses `low`, `normal` or `high`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "low" => Some(AssetImportance::Low),
            "normal" => Some(AssetImportance::Normal),
            "high" => Some(AssetImportance::High),
            _ => None,
        }
    }
}

/// Inputs of the model besides the finding.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The scanned host, for its kernel and runtime data.
    pub inventory: &'a Inventory,
    /// Facts of the CVEs, keyed by CVE id.
    pub facts: &'a BTreeMap<String, CveFacts>,
    /// Importance of the host.
    pub importance: AssetImportance,
    /// The day of the scan, for the age of publications.
    pub today: NaiveDate,
}

/// A priority level with the points and reasons behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Priority {
    pub level: PriorityLevel,
    /// Sum of the points; 4 or more is fix now, 0 or less no need to fix.
    pub score: i32,
    /// One entry per fact that counted, `+1 …` or `-1 …`, or `0 …` for
    /// facts shown for context.
    pub reasons: Vec<String>,
}

/// The model's output for one finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// Facts of the finding's CVEs.
    pub intel: Intel,
    /// Use of the package on the host.
    pub exposure: Exposure,
    /// Severity the model used: the vendor's, else the CVSS rating.
    pub effective_severity: Severity,
    pub priority: Priority,
}

/// Score at or above which a finding is *fix now*.
pub const FIX_NOW_AT: i32 = 4;
/// Score at or below which a finding is *no need to fix*.
pub const NO_NEED_AT: i32 = 0;
/// EPSS probability from which exploitation counts as likely.
pub const EPSS_LIKELY: f64 = 0.1;
/// Days after publication during which a vulnerability counts as new.
pub const NEW_DAYS: i64 = 30;

/// Ranks one finding.
pub fn assess(finding: &Finding, context: &Context<'_>) -> Assessment {
    let intel = intel_of(finding, context.facts);
    let exposure = exposure_of(finding, context.inventory);
    let mut points = Points::default();

    let effective_severity = severity_points(finding, &intel, &mut points);
    exploitation_points(&intel, &mut points);
    exposure_points(&exposure, &mut points);
    age_points(&intel, context.today, &mut points);
    status_points(finding, &mut points);
    match context.importance {
        AssetImportance::High => points.add(1, "the host's importance is high".into()),
        AssetImportance::Low => points.add(-1, "the host's importance is low".into()),
        AssetImportance::Normal => {}
    }

    let level = if points.score >= FIX_NOW_AT {
        PriorityLevel::FixNow
    } else if points.score <= NO_NEED_AT {
        PriorityLevel::NoNeedToFix
    } else {
        PriorityLevel::FixLater
    };
    let priority = Priority {
        level,
        score: points.score,
        reasons: points.reasons,
    };
    Assessment {
        intel,
        exposure,
        effective_severity,
        priority,
    }
}

#[derive(Default)]
struct Points {
    score: i32,
    reasons: Vec<String>,
}

impl Points {
    fn add(&mut self, points: i32, reason: String) {
        self.score += points;
        self.reasons.push(format!("{points:+} {reason}"));
    }

    fn note(&mut self, reason: String) {
        self.reasons.push(format!("0 {reason}"));
    }
}

/// Base points from the severity. The vendor's rating of its own package
/// wins over CVSS, which scores the upstream software; both are shown.
fn severity_points(finding: &Finding, intel: &Intel, points: &mut Points) -> Severity {
    let cvss = intel.cvss.as_ref().map(|fact| {
        format!(
            "CVSS {} {:.1} ({}, {} by {})",
            fact.cvss.version.as_str(),
            fact.cvss.base_score,
            fact.rating,
            fact.cve,
            fact.cvss.scored_by
        )
    });
    let (severity, reason) = match (finding.severity, &cvss, &intel.cvss) {
        (Severity::Unknown, Some(cvss), Some(fact)) => (
            fact.rating,
            format!(
                "severity {} from {cvss}; the vendor gives none",
                fact.rating
            ),
        ),
        (Severity::Unknown, _, _) => (
            Severity::Unknown,
            "no severity from the vendor or CVSS; counted as medium".into(),
        ),
        (vendor, Some(cvss), Some(fact)) if fact.rating != vendor => (
            vendor,
            format!("vendor severity {vendor} (decides over {cvss})"),
        ),
        (vendor, Some(cvss), _) => (vendor, format!("vendor severity {vendor}, {cvss}")),
        (vendor, None, _) => (vendor, format!("vendor severity {vendor}")),
    };
    let base = match severity {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium | Severity::Unknown => 2,
        Severity::Low => 1,
        Severity::Negligible => 0,
    };
    points.add(base, reason);
    severity
}

fn exploitation_points(intel: &Intel, points: &mut Points) {
    if let Some(kev) = &intel.kev {
        let mut reason = format!(
            "{} is in CISA's Known Exploited Vulnerabilities catalog since {}",
            kev.cve, kev.date_added
        );
        if let Some(due) = &kev.due_date {
            reason.push_str(&format!(" (due {due})"));
        }
        if kev.known_ransomware_use == Some(true) {
            reason.push_str("; used in ransomware campaigns");
        }
        points.add(3, reason);
    }
    if let Some(epss) = &intel.epss {
        let percentile = epss
            .percentile
            .map(|p| format!(", percentile {:.0}", p * 100.0))
            .unwrap_or_default();
        let date = epss
            .date
            .as_deref()
            .map(|d| format!(" on {d}"))
            .unwrap_or_default();
        let text = format!("EPSS {:.3}{percentile} for {}{date}", epss.score, epss.cve);
        if epss.score >= EPSS_LIKELY {
            points.add(
                1,
                format!("{text}: exploitation in the next 30 days is likely"),
            );
        } else {
            points.note(text);
        }
    }
}

fn exposure_points(exposure: &Exposure, points: &mut Points) {
    match exposure {
        Exposure::Unknown => points.note("exposure unknown: no runtime data for this host".into()),
        Exposure::NotRunning => points.add(-1, "no running process uses the package".into()),
        Exposure::Loaded { processes } => points.note(format!(
            "used by {}, not listening on the network",
            processes.join(", ")
        )),
        Exposure::Listening { processes, sockets } => points.add(
            1,
            format!(
                "used by {}, which listen on {}",
                processes.join(", "),
                sockets.join(", ")
            ),
        ),
        Exposure::RunningKernel => points.add(1, "it is the running kernel".into()),
    }
}

fn age_points(intel: &Intel, today: NaiveDate, points: &mut Points) {
    let Some(published) = intel.published.as_deref() else {
        return;
    };
    let Some(date) = published
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    else {
        return;
    };
    let days = (today - date).num_days();
    if (0..=NEW_DAYS).contains(&days) {
        points.add(
            1,
            format!("published {days} days ago; attacks often follow within weeks"),
        );
    } else {
        points.note(format!("published {}", &published[..10]));
    }
}

fn status_points(finding: &Finding, points: &mut Points) {
    let note = finding
        .note
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    match &finding.status {
        FindingStatus::WillNotFix => points.add(-2, format!("the vendor will not fix it{note}")),
        FindingStatus::Postponed => points.add(-1, format!("the vendor postponed the fix{note}")),
        FindingStatus::FixedRebootPending { fixed } => points.note(format!(
            "kernel {fixed} with the fix is installed: reboot into it"
        )),
        FindingStatus::Undetermined { reason } => points.note(format!("undetermined: {reason}")),
        FindingStatus::FixAvailable { .. }
        | FindingStatus::NoFixYet
        | FindingStatus::Unsupported => {}
    }
}
