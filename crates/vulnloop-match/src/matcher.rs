//! The matching pass: group packages, look up statements, judge, merge.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use vulnloop_advisory::{Ecosystem, PackageKind, Status, RUNNING_KERNEL_PREFIX};
use vulnloop_inventory::{Inventory, Package, PackageManager};
use vulnloop_version::Scheme;

use crate::channel::{channel_rule, ChannelRule};
use crate::finding::{Coverage, CoverageNote, MatchReport};
use crate::index::{AdvisoryIndex, Candidate};
use crate::kernel;
use crate::vendor;
use crate::verdict::{Outcome, Verdict};

/// Errors of a matching pass: only the index can fail.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("failed to read advisories for {package} ({ecosystem})")]
    Index {
        ecosystem: String,
        package: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Matches every package of `inventory` against the advisories in `index`.
pub fn match_inventory<I: AdvisoryIndex>(
    inventory: &Inventory,
    index: &I,
) -> Result<MatchReport, MatchError> {
    let mut pass = Pass::new(inventory, index)?;
    if pass.can_judge() {
        pass.judge_source_groups()?;
        pass.judge_binaries()?;
        pass.judge_running_kernel()?;
        pass.judge_rpm_kernels()?;
    }
    Ok(pass.finish())
}

struct Pass<'a, I> {
    inventory: &'a Inventory,
    index: &'a I,
    ecosystem: Option<Ecosystem>,
    sources: Vec<String>,
    snapshots: HashMap<String, String>,
    /// Pattern statements of the release, fetched once.
    patterns: Vec<Candidate>,
    notes: Vec<CoverageNote>,
    verdicts: Vec<Verdict<'a>>,
}

impl<'a, I: AdvisoryIndex> Pass<'a, I> {
    fn new(inventory: &'a Inventory, index: &'a I) -> Result<Self, MatchError> {
        let mut pass = Pass {
            inventory,
            index,
            ecosystem: None,
            sources: Vec::new(),
            snapshots: HashMap::new(),
            patterns: Vec::new(),
            notes: Vec::new(),
            verdicts: Vec::new(),
        };
        pass.note_inventory_problems();
        pass.resolve_ecosystem()?;
        Ok(pass)
    }

    fn note(&mut self, incomplete: bool, message: String) {
        if !self.notes.iter().any(|n| n.message == message) {
            self.notes.push(CoverageNote {
                incomplete,
                message,
            });
        }
    }

    fn note_inventory_problems(&mut self) {
        for problem in &self.inventory.problems {
            let message = format!(
                "inventory incomplete: {}: {}",
                problem.location, problem.message
            );
            self.note(true, message);
        }
    }

    fn resolve_ecosystem(&mut self) -> Result<(), MatchError> {
        let os = &self.inventory.host.os;
        let Some(release) = os.version_id.as_deref() else {
            self.note(
                true,
                format!(
                    "the release of {} is unknown ({} has no VERSION_ID); pass --os ID:VERSION",
                    os.id, os.source
                ),
            );
            return Ok(());
        };
        let ecosystem = Ecosystem::new(&os.id, &release_key(&os.id, release));
        let sources = self
            .index
            .sources_for(&ecosystem)
            .map_err(|e| index_error(&ecosystem, "*", e))?;
        if sources.is_empty() {
            self.note(
                true,
                format!(
                    "no advisory data for {ecosystem} in the database: the release is not supported, \
                     or its feeds were not imported (run `vulnloop db update`)"
                ),
            );
        }
        for source in sources {
            self.snapshots
                .insert(source.name.clone(), source.snapshot.unwrap_or_default());
            self.sources.push(source.name);
        }
        self.sources.sort();
        self.patterns = self
            .index
            .pattern_candidates(&ecosystem)
            .map_err(|e| index_error(&ecosystem, "*", e))?;
        self.ecosystem = Some(ecosystem);
        Ok(())
    }

    fn can_judge(&self) -> bool {
        self.ecosystem.is_some() && !self.sources.is_empty()
    }

    fn dpkg_packages(&self) -> impl Iterator<Item = &'a Package> {
        self.inventory
            .packages
            .iter()
            .filter(|p| p.manager == PackageManager::Dpkg)
    }

    /// Packages judged by name: every package except kernels, which only
    /// count when they run, and rpm packages of other vendors.
    fn ordinary_packages(&mut self) -> Vec<&'a Package> {
        let os_id = self.inventory.host.os.id.clone();
        let mut foreign = Vec::new();
        let packages: Vec<&'a Package> = self
            .inventory
            .packages
            .iter()
            .filter(|p| {
                !kernel::is_kernel_source(p.source_name()) && !kernel::is_rpm_kernel(&p.name)
            })
            .filter(|p| {
                let ours = vendor::is_distribution_package(&os_id, p);
                if !ours {
                    foreign.push(*p);
                }
                ours
            })
            .collect();
        if let Some(example) = foreign.first() {
            let message = format!(
                "{} packages from other vendors were not judged by {} advisories, for example {} ({})",
                foreign.len(),
                os_id,
                example.name,
                example.vendor.as_deref().unwrap_or("unknown vendor")
            );
            self.note(false, message);
        }
        packages
    }

    /// Judges source-package statements against each (source, source version) group.
    fn judge_source_groups(&mut self) -> Result<(), MatchError> {
        let mut groups: BTreeMap<(&'a str, &'a str), Vec<&'a Package>> = BTreeMap::new();
        for package in self.ordinary_packages() {
            groups
                .entry((package.source_name(), package.source_version()))
                .or_default()
                .push(package);
        }
        let ecosystem = self.ecosystem.clone().expect("checked by can_judge");
        let patterns = std::mem::take(&mut self.patterns);

        for ((source, version), binaries) in groups {
            let binaries: Rc<[&'a Package]> = binaries.into();
            let mut candidates = self
                .index
                .candidates(&ecosystem, PackageKind::Source, source)
                .map_err(|e| index_error(&ecosystem, source, e))?;
            candidates.extend(
                patterns
                    .iter()
                    .filter(|c| pattern_matches(&c.affected.package, source))
                    .cloned(),
            );
            for candidate in candidates {
                self.judge(candidate, source, version, &binaries, None);
            }
        }
        self.patterns = patterns;
        Ok(())
    }

    /// Judges binary-package statements (Ubuntu USN OVAL) against each binary.
    fn judge_binaries(&mut self) -> Result<(), MatchError> {
        let ecosystem = self.ecosystem.clone().expect("checked by can_judge");
        for package in self.ordinary_packages() {
            let candidates = self
                .index
                .candidates(&ecosystem, PackageKind::Binary, &package.name)
                .map_err(|e| index_error(&ecosystem, &package.name, e))?;
            let binaries: Rc<[&'a Package]> = Rc::new([package]);
            for candidate in candidates {
                self.judge(candidate, &package.name, &package.version, &binaries, None);
            }
        }
        Ok(())
    }

    /// Judges kernel statements against the running kernel's image only.
    fn judge_running_kernel(&mut self) -> Result<(), MatchError> {
        let packages = &self.inventory.packages;
        let images: Vec<&Package> = self
            .dpkg_packages()
            .filter(|p| kernel::is_kernel_image(&p.name))
            .collect();
        let decisive = match &self.inventory.host.kernel {
            Some(running) => match kernel::running_image(packages, &running.release) {
                Some(image) => image,
                None => {
                    self.note(
                        false,
                        format!(
                            "the running kernel {} is not installed from a package; \
                             distribution kernel advisories do not apply to it and were not evaluated",
                            running.release
                        ),
                    );
                    return Ok(());
                }
            },
            None => match newest_image(&images) {
                Some(image) => {
                    self.note(
                        false,
                        format!(
                            "the running kernel is unknown (root filesystem scan): kernel advisories \
                             were judged against the newest installed image, {} {}",
                            image.name, image.version
                        ),
                    );
                    image
                }
                None => return Ok(()),
            },
        };
        let booted = self.inventory.host.kernel.is_some();
        let others: Vec<&Package> = images
            .into_iter()
            .filter(|p| p.name != decisive.name)
            .collect();
        let ecosystem = self.ecosystem.clone().expect("checked by can_judge");

        let mut candidates = Vec::new();
        for name in kernel::advisory_names(decisive.source_name()) {
            candidates.extend(
                self.index
                    .candidates(&ecosystem, PackageKind::Source, &name)
                    .map_err(|e| index_error(&ecosystem, &name, e))?,
            );
        }
        candidates.extend(
            self.index
                .candidates(&ecosystem, PackageKind::Binary, &decisive.name)
                .map_err(|e| index_error(&ecosystem, &decisive.name, e))?,
        );
        let reboot_into = if booted {
            Some(others.as_slice())
        } else {
            None
        };
        let binaries: Rc<[&'a Package]> = Rc::new([decisive]);
        for candidate in candidates {
            self.judge(
                candidate,
                &decisive.name,
                &decisive.version,
                &binaries,
                reboot_into,
            );
        }
        self.judge_kernel_checks(decisive, reboot_into);
        Ok(())
    }

    /// Judges rpm kernel packages: only the instance that runs, or the newest
    /// one for a root filesystem scan. Other instances can only make a fix
    /// wait for a reboot.
    fn judge_rpm_kernels(&mut self) -> Result<(), MatchError> {
        let mut by_name: BTreeMap<&str, Vec<&'a Package>> = BTreeMap::new();
        for package in &self.inventory.packages {
            if package.manager == PackageManager::Rpm && kernel::is_rpm_kernel(&package.name) {
                by_name.entry(&package.name).or_default().push(package);
            }
        }
        let running = self
            .inventory
            .host
            .kernel
            .as_ref()
            .map(|k| k.release.clone());
        let ecosystem = self.ecosystem.clone().expect("checked by can_judge");
        for (name, instances) in by_name {
            let decisive = match &running {
                Some(release) => instances
                    .iter()
                    .copied()
                    .find(|p| kernel::rpm_kernel_runs(p, release)),
                None => newest_instance(&instances),
            };
            let Some(decisive) = decisive else {
                let message = match &running {
                    Some(release) => format!(
                        "the running kernel {release} is not an installed {name} package; its advisories were not evaluated"
                    ),
                    None => format!("no installed {name} package could be ordered; its advisories were not evaluated"),
                };
                self.note(false, message);
                continue;
            };
            let others: Vec<&'a Package> = instances
                .iter()
                .copied()
                .filter(|p| !std::ptr::eq(*p, decisive))
                .collect();
            let reboot_into = running.is_some().then_some(others.as_slice());
            let candidates = self
                .index
                .candidates(&ecosystem, PackageKind::Binary, name)
                .map_err(|e| index_error(&ecosystem, name, e))?;
            let binaries: Rc<[&'a Package]> = Rc::new([decisive]);
            for candidate in candidates {
                self.judge(candidate, name, &decisive.version, &binaries, reboot_into);
            }
        }
        Ok(())
    }

    /// Judges Ubuntu's running-kernel checks, which name a `uname -r` pattern
    /// and an ABI version instead of a package.
    fn judge_kernel_checks(&mut self, image: &'a Package, reboot_into: Option<&[&'a Package]>) {
        let Some(release) = kernel::image_release(&image.name) else {
            return;
        };
        let Some(abi) = kernel::abi_version(release) else {
            return;
        };
        // NOTE: livepatch checks (`livepatch-module:` statements of LSN
        // advisories) need the loaded modules of a live host and are not judged.
        let checks: Vec<Candidate> = self
            .patterns
            .iter()
            .filter(|c| c.affected.package.starts_with(RUNNING_KERNEL_PREFIX))
            .cloned()
            .collect();
        for candidate in checks {
            let expression = &candidate.affected.package[RUNNING_KERNEL_PREFIX.len()..];
            match kernel::release_matches(expression, release) {
                Ok(true) => {
                    let binaries: Rc<[&'a Package]> = Rc::new([image]);
                    self.judge(candidate, &image.name, abi, &binaries, reboot_into);
                }
                Ok(false) => {}
                Err(error) => self.note(
                    false,
                    format!(
                        "kernel check of {} ({}) was not judged: {error}",
                        candidate.advisory.id, candidate.advisory.source
                    ),
                ),
            }
        }
    }

    /// Judges one statement against one installed version and records the verdict.
    ///
    /// `reboot_into` lists other installed kernel images; a fixed one among
    /// them turns "vulnerable" into "fixed, reboot pending". Texts for the
    /// evidence are only built in [`Pass::finish`], for the verdicts that are
    /// reported, because most statements clear the package.
    fn judge(
        &mut self,
        candidate: Candidate,
        group: &'a str,
        installed: &'a str,
        binaries: &Rc<[&'a Package]>,
        reboot_into: Option<&[&'a Package]>,
    ) {
        let Some(first) = binaries.first() else {
            return;
        };
        let scheme = scheme_for(first.manager);
        let module = first.module.as_deref();
        let channel_note =
            match channel_rule(installed, module, candidate.affected.channel.as_deref()) {
                ChannelRule::Applies => None,
                ChannelRule::AppliesWithNote(note) => Some(note),
                ChannelRule::Skip => return,
            };
        let outcome = match &candidate.affected.status {
            Status::Fixed { fixed } => match scheme.compare(installed, fixed) {
                Ok(Ordering::Less) => match fixed_elsewhere(reboot_into, fixed, scheme) {
                    Some(image) => Outcome::RebootPending(image),
                    None => Outcome::Below,
                },
                Ok(_) => Outcome::Cleared,
                Err(error) => {
                    let message = format!(
                        "advisory {} ({}) was not judged: {error}",
                        candidate.advisory.id, candidate.advisory.source
                    );
                    self.note(false, message);
                    return;
                }
            },
            Status::NotAffected => Outcome::Cleared,
            _ => Outcome::VendorStatus,
        };
        self.verdicts.push(Verdict {
            candidate,
            group,
            installed,
            binaries: Rc::clone(binaries),
            outcome,
            channel_note,
            scheme,
        });
    }

    /// Merges the verdicts per (package group, vulnerability) and builds the report.
    ///
    /// Only keys with at least one finding among their statements are
    /// merged; the statements of other keys all cleared the package.
    fn finish(self) -> MatchReport {
        let Pass {
            inventory,
            ecosystem,
            sources,
            snapshots,
            notes,
            verdicts,
            ..
        } = self;
        let groups: Vec<Vec<usize>> = {
            let mut merged: HashMap<(&str, &str, &str), Vec<usize>> = HashMap::new();
            for verdict in verdicts.iter().filter(|v| v.outcome.is_finding()) {
                merged.entry(verdict.key()).or_default();
            }
            for (index, verdict) in verdicts.iter().enumerate() {
                if let Some(members) = merged.get_mut(&verdict.key()) {
                    members.push(index);
                }
            }
            let mut merged: Vec<_> = merged.into_iter().collect();
            merged.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            merged.into_iter().map(|(_, members)| members).collect()
        };
        // The `YYYY-MM-DD` snapshot date of a verdict's feed, empty when unknown.
        let freshness = |verdict: &Verdict<'_>| -> String {
            snapshots
                .get(&verdict.candidate.advisory.source)
                .map(|s| date_part(s).to_string())
                .unwrap_or_default()
        };
        let mut verdicts: Vec<Option<Verdict<'a>>> = verdicts.into_iter().map(Some).collect();
        let mut findings = Vec::new();
        for members in groups {
            let mut group: Vec<(String, Verdict<'a>)> = members
                .into_iter()
                .filter_map(|index| verdicts[index].take())
                .map(|verdict| (freshness(&verdict), verdict))
                .collect();
            // The freshest feed decides; among equally fresh ones, a finding wins
            // over a clearing statement, so a conflict is never silently dropped.
            group.sort_by(|(a_fresh, a), (b_fresh, b)| {
                b_fresh
                    .cmp(a_fresh)
                    .then_with(|| b.outcome.is_finding().cmp(&a.outcome.is_finding()))
            });
            let mut group = group.into_iter().map(|(_, verdict)| verdict);
            let Some(winner) = group.next() else {
                continue;
            };
            if !winner.outcome.is_finding() {
                continue;
            }
            let others: Vec<String> = group.map(|v| v.summary()).collect();
            let snapshot = snapshots
                .get(&winner.candidate.advisory.source)
                .cloned()
                .unwrap_or_default();
            let mut finding = winner.into_finding(&snapshot);
            finding.evidence.other_records = others;
            findings.push(finding);
        }
        findings.sort_by(|a, b| a.package.cmp(&b.package).then_with(|| a.id.cmp(&b.id)));

        let complete = !notes.iter().any(|n| n.incomplete);
        MatchReport {
            findings,
            coverage: Coverage {
                ecosystem: ecosystem.map(|e| e.to_string()).unwrap_or_default(),
                sources,
                packages: inventory.packages.len(),
                complete,
                notes,
            },
        }
    }
}

fn index_error<E: std::error::Error + Send + Sync + 'static>(
    ecosystem: &Ecosystem,
    package: &str,
    error: E,
) -> MatchError {
    MatchError::Index {
        ecosystem: ecosystem.to_string(),
        package: package.to_string(),
        source: Box::new(error),
    }
}

/// Returns whether a pattern from Debian's security-support lists names a package.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    pattern
        .strip_suffix(".*")
        .is_some_and(|prefix| name.starts_with(prefix))
}

/// Returns the release part of the advisory key for an os-release `VERSION_ID`.
///
/// Red Hat-family advisories are per major release (`9.3` → `9`), Alpine's
/// per branch (`3.19.1` → `3.19`), and Amazon Linux 1 hosts report a date
/// (`2018.03`) where advisories use `1`. Debian, Ubuntu and SUSE keep theirs.
pub fn release_key(os_id: &str, version_id: &str) -> String {
    let mut parts = version_id.split('.');
    let major = parts.next().unwrap_or(version_id);
    match os_id {
        "rhel" | "centos" | "almalinux" | "rocky" | "ol" | "fedora" => major.to_string(),
        "amzn" if major.len() == 4 && version_id.contains('.') => "1".to_string(),
        // Edge reports the next release with a suffix (`3.21_alpha20241115`).
        "alpine" if version_id.contains('_') => "edge".to_string(),
        "alpine" => match parts.next() {
            Some(minor) => format!("{major}.{minor}"),
            None => version_id.to_string(),
        },
        _ => version_id.to_string(),
    }
}

/// Returns the version ordering of a package manager.
pub fn scheme_for(manager: PackageManager) -> Scheme {
    match manager {
        PackageManager::Dpkg => Scheme::Dpkg,
        PackageManager::Rpm => Scheme::Rpm,
        PackageManager::Apk => Scheme::Apk,
        // Windows builds are dotted numbers (`10.0.17763.5329`), which rpm's
        // segment-wise numeric comparison orders correctly.
        PackageManager::Windows => Scheme::Rpm,
    }
}

fn fixed_elsewhere<'p>(
    images: Option<&[&'p Package]>,
    fixed: &str,
    scheme: Scheme,
) -> Option<&'p Package> {
    images?.iter().copied().find(|image| {
        matches!(
            scheme.compare(&image.version, fixed),
            Ok(Ordering::Greater | Ordering::Equal)
        )
    })
}

/// Returns the newest instance of an rpm kernel package by rpm ordering.
fn newest_instance<'p>(instances: &[&'p Package]) -> Option<&'p Package> {
    let scheme = scheme_for(PackageManager::Rpm);
    instances.iter().copied().max_by(|a, b| {
        scheme
            .compare(&a.version, &b.version)
            .unwrap_or(Ordering::Equal)
    })
}

fn newest_image<'p>(images: &[&'p Package]) -> Option<&'p Package> {
    images.iter().copied().max_by(|a, b| {
        Scheme::Dpkg
            .compare(&a.version, &b.version)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.name.cmp(&b.name))
    })
}

/// Returns the `YYYY-MM-DD` prefix of a date, so dates in different formats compare.
fn date_part(date: &str) -> &str {
    date.get(..10).unwrap_or(date)
}
