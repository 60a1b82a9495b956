//! Detection on a Windows host.
//!
//! For each vulnerability that the feeds fix on the host's product:
//!
//! 1. Build: when the host's revision (UBR) is known, stated by the host or
//!    implied by an installed update whose fixed build MSRC states, it is
//!    compared with the revision the fixing update brings on the same
//!    `major.minor.build`. At or above it is fixed, below it is missing.
//! 2. KBs: a fixing KB that is installed, or superseded (directly or through
//!    a chain) by an installed KB, makes it fixed. Supersedence comes from
//!    both feeds.
//! 3. Cumulative updates: a cumulative update contains every earlier one of
//!    its product. The newest one the host has (installed, superseded, or
//!    reached by the host's revision) therefore fixes every cumulative fix
//!    released up to its date. This settles CVEs where a chain of
//!    supersedence breaks or a fix statement has no build.
//! 4. Otherwise the finding is missing when the host's list of installed
//!    updates is known and the feeds know at least one of its KBs (so the
//!    chains reach the host's patch level), and *undetermined* when the list
//!    was not collected or none of its KBs is known: an update newer than the
//!    database could contain the fix.

use std::collections::{BTreeMap, HashMap, HashSet};

use vulnloop_advisory::{PackageKind, Severity};
use vulnloop_inventory::{Inventory, PackageManager, WindowsHost};
use vulnloop_match::{
    Coverage, CoverageNote, Evidence, Finding, FindingStatus, InstalledBinary, MatchReport,
    WindowsUpdate,
};

use crate::intel::{FixSource, WindowsFix};
use crate::product::product_key;

/// Returns the product key of a host, see [`crate::product::product_key`].
pub fn host_product_key(host: &WindowsHost) -> Option<String> {
    let mut name = host.product.clone();
    if host.build >= 22000 && name.contains("Windows 10") && !name.contains("Server") {
        // The registry's ProductName still reads Windows 10 on Windows 11.
        name = name.replace("Windows 10", "Windows 11");
    }
    product_key(
        &name,
        Some(host.build),
        host.service_pack.as_deref(),
        host.architecture.as_deref(),
    )
}

/// Matches a Windows inventory against the fixes of its product.
///
/// `fixes` contains every fix statement of the host's product key (see
/// [`host_product_key`]), from either feed, and `supersedence` more (newer
/// KB, superseded KB) edges of that key. `sources` names the feeds in the
/// database with their snapshot dates, for the coverage.
pub fn match_windows(
    inventory: &Inventory,
    fixes: &[WindowsFix],
    supersedence: &[(String, String)],
    sources: Vec<String>,
) -> MatchReport {
    let mut notes = Vec::new();
    let Some(host) = inventory.windows.as_ref() else {
        notes.push(incomplete(
            "the inventory has no Windows host description".into(),
        ));
        return report(Vec::new(), "windows".into(), sources, notes);
    };
    let Some(key) = host_product_key(host) else {
        let message = format!(
            "{} (build {}) is not a Windows release that the Microsoft feeds name, so no update was checked",
            host.product, host.build
        );
        notes.push(incomplete(message));
        return report(Vec::new(), "windows".into(), sources, notes);
    };
    let ecosystem = format!("windows:{key}");
    if fixes.is_empty() {
        notes.push(incomplete(format!(
            "the database has no MSRC or wesng fixes for {key} ({}); add the Windows feeds with `vulnloop db update --from DIR`",
            host.product
        )));
        return report(Vec::new(), ecosystem, sources, notes);
    }

    let state = HostState::new(host, fixes, supersedence);
    notes.extend(state.notes(host));
    let mut by_cve: BTreeMap<&str, Vec<&WindowsFix>> = BTreeMap::new();
    for fix in fixes {
        by_cve.entry(fix.cve.as_str()).or_default().push(fix);
    }
    let mut findings = Vec::new();
    let mut undetermined = 0;
    for (cve, rows) in by_cve {
        if let Some(finding) = judge(cve, &rows, host, &state, inventory) {
            undetermined +=
                usize::from(matches!(finding.status, FindingStatus::Undetermined { .. }));
            findings.push(finding);
        }
    }
    if undetermined > 0 {
        notes.push(incomplete(format!(
            "{undetermined} vulnerabilities are undetermined: neither the build nor the installed KBs show whether their fix is installed"
        )));
    }
    findings.sort_by(|a, b| a.package.cmp(&b.package).then_with(|| a.id.cmp(&b.id)));
    report(findings, ecosystem, sources, notes)
}

/// Patch level of a host, as its build and updates imply it.
struct HostState {
    installed: HashSet<String>,
    /// Installed KBs and every KB they supersede, directly or through a chain.
    covered: HashSet<String>,
    /// The revision the host states, or the highest one an installed update brings.
    revision: Option<u32>,
    /// The installed update that implies `revision`, when the host did not state it.
    revision_from: Option<String>,
    /// Whether the feeds know at least one installed KB.
    known_patch_level: bool,
    /// Release date of the newest cumulative update the host has.
    cumulative_through: Option<String>,
    /// Release date of each KB, see [`release_dates`].
    kb_released: HashMap<String, String>,
}

impl HostState {
    fn new(host: &WindowsHost, fixes: &[WindowsFix], edges: &[(String, String)]) -> Self {
        let installed: HashSet<String> = host.installed_kb_numbers().into_iter().collect();
        let mut supersedes: HashMap<&str, HashSet<&str>> = HashMap::new();
        let mut known: HashSet<&str> = HashSet::new();
        for fix in fixes {
            known.insert(&fix.kb);
            let entry = supersedes.entry(fix.kb.as_str()).or_default();
            for old in &fix.supersedes {
                entry.insert(old);
                known.insert(old);
            }
        }
        for (newer, older) in edges {
            supersedes.entry(newer.as_str()).or_default().insert(older);
            known.insert(newer);
            known.insert(older);
        }
        let mut covered: HashSet<String> = HashSet::new();
        let mut queue: Vec<&str> = installed.iter().map(String::as_str).collect();
        while let Some(kb) = queue.pop() {
            if covered.insert(kb.to_string()) {
                queue.extend(supersedes.get(kb).into_iter().flatten().copied());
            }
        }

        let implied = fixes
            .iter()
            .filter(|fix| installed.contains(&fix.kb))
            .filter_map(|fix| {
                fix.fixed_revision_on(&host.version)
                    .map(|revision| (revision, &fix.kb))
            })
            .max();
        let (revision, revision_from) = match (host.ubr, implied) {
            (Some(stated), Some((implied, kb))) if implied > stated => {
                (Some(implied), Some(kb.clone()))
            }
            (Some(stated), _) => (Some(stated), None),
            (None, Some((implied, kb))) => (Some(implied), Some(kb.clone())),
            (None, None) => (None, None),
        };
        let known_patch_level = installed.iter().any(|kb| known.contains(kb.as_str()));
        let kb_released = release_dates(fixes);
        let cumulative_through = fixes
            .iter()
            .filter(|fix| is_cumulative(fix))
            .filter(|fix| {
                let reached = revision
                    .zip(fix.fixed_revision_on(&host.version))
                    .is_some_and(|(have, fixed)| have >= fixed);
                covered.contains(&fix.kb) || reached
            })
            .filter_map(|fix| kb_released.get(&fix.kb).cloned())
            .max();
        HostState {
            installed,
            covered,
            revision,
            revision_from,
            known_patch_level,
            cumulative_through,
            kb_released,
        }
    }

    fn notes(&self, host: &WindowsHost) -> Vec<CoverageNote> {
        let mut notes = Vec::new();
        match (&self.revision_from, host.ubr) {
            (Some(kb), None) => notes.push(caveat(format!(
                "{} does not state the build revision (UBR); installed KB{kb} implies {}.{}",
                host.source_format,
                host.version,
                self.revision.unwrap_or_default()
            ))),
            (None, None) => notes.push(caveat(format!(
                "{} does not state the build revision (UBR); detection relies on the installed KBs and supersedence",
                host.source_format
            ))),
            _ => {}
        }
        if host.updates_listed && !self.installed.is_empty() && !self.known_patch_level {
            notes.push(incomplete(format!(
                "none of the {} installed KBs is known to the database, which may be older than the host's updates; \
                 refresh it with `vulnloop db update`",
                self.installed.len()
            )));
        }
        notes
    }
}

/// Returns the release date of each KB: the date of the MSRC document that
/// names it most often, which is its own month's. Other documents name it
/// too: an earlier month's CVE whose fix was revised (CVE-2019-0555 of
/// 2019-Jan names KB4487044 of 2019-Feb), or a later CVE fixed by an older
/// update. wesng's `DatePosted` dates a row's last change, so it serves only
/// for KBs that MSRC does not name.
fn release_dates(fixes: &[WindowsFix]) -> HashMap<String, String> {
    let mut counts: HashMap<(&str, &str), (usize, bool)> = HashMap::new();
    for fix in fixes {
        if let Some(released) = &fix.released {
            let entry = counts
                .entry((fix.kb.as_str(), released.as_str()))
                .or_default();
            entry.0 += 1;
            entry.1 |= fix.source == FixSource::MsrcCvrf;
        }
    }
    let mut best: HashMap<String, (bool, usize, String)> = HashMap::new();
    for ((kb, released), (count, msrc)) in counts {
        let candidate = (msrc, count, released.to_string());
        let entry = best
            .entry(kb.to_string())
            .or_insert_with(|| candidate.clone());
        if candidate > *entry {
            *entry = candidate;
        }
    }
    best.into_iter()
        .map(|(kb, (_, _, released))| (kb, released))
        .collect()
}

/// Judges one vulnerability; `None` when a fix is installed.
fn judge(
    cve: &str,
    rows: &[&WindowsFix],
    host: &WindowsHost,
    state: &HostState,
    inventory: &Inventory,
) -> Option<Finding> {
    if rows.iter().any(|fix| state.covered.contains(&fix.kb)) {
        return None;
    }
    let with_build: Vec<(&WindowsFix, u32)> = rows
        .iter()
        .filter_map(|fix| {
            fix.fixed_revision_on(&host.version)
                .map(|revision| (*fix, revision))
        })
        .collect();
    if let Some(revision) = state.revision {
        if with_build.iter().any(|(_, fixed)| revision >= *fixed) {
            return None;
        }
    }
    if let Some(through) = &state.cumulative_through {
        let contained = |fix: &&&WindowsFix| {
            state
                .kb_released
                .get(&fix.kb)
                .is_some_and(|released| released <= through)
        };
        if rows
            .iter()
            .filter(|fix| is_cumulative(fix))
            .any(|fix| contained(&fix))
        {
            return None;
        }
    }

    let chosen = choose_update(rows)?;
    let (status, comparison) = match (state.revision, with_build.iter().min_by_key(|(_, fixed)| *fixed)) {
        (Some(revision), Some((fix, fixed))) => (
            FindingStatus::FixAvailable { fixed: format!("KB{}", fix.kb) },
            format!(
                "build {}.{revision} < {}.{fixed} that KB{} brings (Windows build ordering)",
                host.version, host.version, fix.kb
            ),
        ),
        _ if host.updates_listed && (state.installed.is_empty() || state.known_patch_level) => (
            FindingStatus::FixAvailable { fixed: format!("KB{}", chosen.kb) },
            format!(
                "none of the {} installed KBs is {} or supersedes it (supersedence from msrc-cvrf and wesng)",
                state.installed.len(),
                kb_list(rows)
            ),
        ),
        _ => {
            let reason = if host.updates_listed {
                "no installed KB is known to the database, so supersedence cannot show whether a newer update contains the fix"
            } else {
                "the inventory lists no installed updates and states no build revision"
            };
            (FindingStatus::Undetermined { reason: reason.into() }, format!("fixed by {}; {reason}", kb_list(rows)))
        }
    };
    Some(finding(
        cve, chosen, status, comparison, host, inventory, rows,
    ))
}

/// Picks the update to name: MSRC over wesng, a cumulative update over
/// others, then the newest release.
fn choose_update<'a>(rows: &[&'a WindowsFix]) -> Option<&'a WindowsFix> {
    let rank = |fix: &WindowsFix| {
        (
            fix.source == FixSource::MsrcCvrf,
            is_cumulative(fix),
            fix.released.clone(),
            !fix.product.contains("Server Core"),
            fix.kb.clone(),
        )
    };
    rows.iter().copied().max_by_key(|fix| rank(fix))
}

/// Returns whether an update contains every earlier one of its product:
/// MSRC's `Monthly Rollup`, and the `Security Update` of Windows 10, 11 and
/// Server 2016 and later, which is the cumulative update.
pub fn is_cumulative(fix: &WindowsFix) -> bool {
    match fix.subtype.as_deref() {
        Some("Monthly Rollup") => true,
        Some("Security Update") => {
            let key = fix.product_key.as_str();
            key.starts_with("windows-10-")
                || key.starts_with("windows-11-")
                || [
                    "2016", "2019", "2022", "2025", "1709", "1803", "1903", "1909", "2004", "20h2",
                ]
                .iter()
                .any(|release| key.starts_with(&format!("windows-server-{release}")))
        }
        _ => false,
    }
}

fn kb_list(rows: &[&WindowsFix]) -> String {
    let mut kbs: Vec<String> = rows.iter().map(|fix| format!("KB{}", fix.kb)).collect();
    kbs.sort_unstable();
    kbs.dedup();
    kbs.join(", ")
}

fn finding(
    cve: &str,
    fix: &WindowsFix,
    status: FindingStatus,
    comparison: String,
    host: &WindowsHost,
    inventory: &Inventory,
    rows: &[&WindowsFix],
) -> Finding {
    let origin = inventory.host.os.source.clone();
    let restart = match fix.restart_required {
        Some(true) => Some("restart required"),
        Some(false) => Some("no restart required"),
        None => None,
    };
    let note = [fix.impact.as_deref(), restart]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
    let other_records = rows
        .iter()
        .filter(|other| other.source != fix.source || other.kb != fix.kb)
        .map(|other| {
            format!(
                "{} {} KB{}",
                other.source.as_str(),
                other.document,
                other.kb
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Finding {
        id: cve.to_string(),
        advisory_id: format!("KB{}", fix.kb),
        source: fix.source.as_str().to_string(),
        cves: if cve.starts_with("CVE-") {
            vec![cve.to_string()]
        } else {
            Vec::new()
        },
        title: fix.title.clone(),
        severity: severity(fix.severity.as_deref()),
        severity_raw: fix.severity.clone(),
        url: fix.url.clone(),
        published: fix.released.clone(),
        package: display_product(&fix.product),
        package_kind: PackageKind::Binary,
        manager: PackageManager::Windows,
        installed_version: host.full_build(),
        binaries: vec![InstalledBinary {
            name: host.product.clone(),
            version: host.full_build(),
            arch: host.architecture.clone(),
            origin: origin.clone(),
        }],
        status,
        note: Some(note).filter(|n| !n.is_empty()),
        evidence: Evidence {
            found_in: vec![format!("{origin} ({})", host.source_format)],
            record: format!("{} {} KB{}", fix.source.as_str(), fix.document, fix.kb),
            comparison,
            other_records,
        },
        windows_update: Some(WindowsUpdate {
            kb: format!("KB{}", fix.kb),
            cumulative: is_cumulative(fix),
            released: fix.released.clone(),
            fixed_build: fix.fixed_build.clone(),
            restart_required: fix.restart_required,
            url: fix.url.clone(),
        }),
    }
}

/// Returns the product name without MSRC's installation note, so that the
/// findings of one release group together: Server Core gets the same updates.
fn display_product(product: &str) -> String {
    let name = product
        .replace("(Server Core installation)", "")
        .replace("(Server Core Installation)", "");
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Maps MSRC's severity words onto the common scale.
fn severity(word: Option<&str>) -> Severity {
    match word.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => Severity::Critical,
        Some("important") => Severity::High,
        Some("moderate") => Severity::Medium,
        Some("low") => Severity::Low,
        _ => Severity::Unknown,
    }
}

fn incomplete(message: String) -> CoverageNote {
    CoverageNote {
        incomplete: true,
        message,
    }
}

fn caveat(message: String) -> CoverageNote {
    CoverageNote {
        incomplete: false,
        message,
    }
}

fn report(
    findings: Vec<Finding>,
    ecosystem: String,
    sources: Vec<String>,
    notes: Vec<CoverageNote>,
) -> MatchReport {
    let complete = !notes.iter().any(|note| note.incomplete);
    MatchReport {
        findings,
        coverage: Coverage {
            ecosystem,
            sources,
            packages: 1,
            complete,
            notes,
        },
    }
}
