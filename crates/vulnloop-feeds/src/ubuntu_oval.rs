//! Ubuntu USN OVAL (`com.ubuntu.<codename>.usn.oval.xml`).
//!
//! One `patch` definition per USN or LSN (title `USN-5181-1 -- jQuery UI
//! vulnerability`). The criteria hold three kinds of check, each resolved
//! through the document's ids rather than through comments:
//!
//! - Packages: a `dpkginfo_test` whose object takes its names from a
//!   `constant_variable` listing BINARY package names, and whose state is
//!   `evr` "less than" the fixed version. Each name becomes a
//!   [`PackageKind::Binary`] entry with [`Status::Fixed`].
//! - Kernels: a criteria block joining a `uname_test` (the running kernel's
//!   release must match a regular expression such as
//!   `5.15.0-\d+(-raspi|-raspi-nolpae)`) and a `variable_test` comparing the
//!   running kernel's version (`5.15.0-1005`, captured from `uname -r`) with
//!   a "less than" state. It becomes one entry whose package is
//!   [`crate::RUNNING_KERNEL_PREFIX`] followed by the expression.
//! - Livepatch (LSN): a `textfilecontent54_test` on `/proc/modules` whose
//!   patterns capture a livepatch level compared "less than" a number. Each
//!   pattern becomes an entry whose package is
//!   [`crate::LIVEPATCH_MODULE_PREFIX`] followed by the pattern, in the
//!   `livepatch` channel. The `file_test` beside it only checks that the
//!   Livepatch client is installed and adds no entry.
//!
//! Packages available only with Ubuntu Pro get the channel `esm`. The file
//! marks them only by the comment "Available with Ubuntu Pro" on their test,
//! object and state, so that comment is what this parser reads.

use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind, Severity, Status};

use crate::oval::{self, OvalIndex};
use crate::skipped::Skipped;
use crate::xml_node::Node;
use crate::{
    dpkg, FeedError, FeedKind, FeedSummary, LIVEPATCH_MODULE_PREFIX, RUNNING_KERNEL_PREFIX,
};

const EXPECTED: &str = "Ubuntu USN OVAL XML";

/// Generator name of the USN flavour; the CVE and package flavours are not read.
const USN_GENERATOR: &str = "Canonical USN OVAL Generator";

/// Comment text that marks tests of packages that need Ubuntu Pro.
const PRO_MARKER: &str = "Ubuntu Pro";

/// Parses a decompressed Ubuntu USN OVAL document.
pub(crate) fn parse(
    bytes: &[u8],
    file: &str,
    sink: &mut dyn FnMut(Advisory),
) -> Result<FeedSummary, FeedError> {
    let (generator, index) = oval::read_index(bytes, file, EXPECTED)?;
    if generator.product_name.as_deref() != Some(USN_GENERATOR) {
        let product = generator.product_name.as_deref().unwrap_or("missing");
        let found = format!("the generator is {product:?}, not {USN_GENERATOR:?}");
        return Err(FeedError::not_feed(file, EXPECTED, found));
    }
    let file_codename = codename_from_file_name(file);

    let mut skipped = Skipped::default();
    let mut records = 0;
    oval::for_each_definition(bytes, file, EXPECTED, |definition| {
        if definition.attribute("class") == Some("inventory") {
            // The release check that patch definitions extend; not an advisory.
            return;
        }
        let id = oval::id_of(&definition).to_string();
        match advisory(&definition, &index, file_codename.as_deref(), &mut skipped) {
            Ok(advisory) => {
                sink(advisory);
                records += 1;
            }
            Err(reason) => skipped.add(reason, &id),
        }
    })?;

    Ok(FeedSummary {
        kind: FeedKind::UbuntuOval,
        snapshot: generator.timestamp.as_deref().map(oval::snapshot),
        records,
        skipped: skipped.into_lines(),
    })
}

/// Reads the code name from `com.ubuntu.jammy.usn.oval.xml.zst` (or with an `oci.` prefix).
fn codename_from_file_name(file: &str) -> Option<String> {
    let name = crate::input::base_name(file);
    let name = name.strip_prefix("oci.").unwrap_or(name);
    let codename = name.strip_prefix("com.ubuntu.")?.split('.').next()?;
    Some(codename.to_string())
}

/// Reads the code name from a definition id such as `oval:com.ubuntu.jammy:def:51811000000`.
fn codename_from_id(id: &str) -> Option<&str> {
    id.strip_prefix("oval:com.ubuntu.")?.split(':').next()
}

/// The release and what one definition's entries share.
struct Context<'a> {
    index: &'a OvalIndex,
    ecosystem: Ecosystem,
    definition_id: &'a str,
}

fn advisory(
    definition: &Node,
    index: &OvalIndex,
    file_codename: Option<&str>,
    skipped: &mut Skipped,
) -> Result<Advisory, String> {
    let definition_id = oval::id_of(definition);
    let metadata = definition
        .child("metadata")
        .ok_or("definition without <metadata>")?;
    let title = metadata
        .child_text("title")
        .ok_or("definition without a title")?;
    let id = title.split_whitespace().next().unwrap_or(title);

    let codename = codename_from_id(definition_id).or(file_codename);
    let release = codename.and_then(vulnloop_platform::ubuntu_release);
    let Some(release) = release else {
        return Err(format!(
            "release code name {codename:?} is not a known Ubuntu release"
        ));
    };
    let context = Context {
        index,
        ecosystem: Ecosystem::new("ubuntu", release),
        definition_id,
    };

    let mut advisory = Advisory::new(id, FeedKind::UbuntuOval.source_name());
    advisory.title = Some(title.to_string());
    read_metadata(metadata, &mut advisory);

    let criteria = definition
        .child("criteria")
        .ok_or("definition without <criteria>")?;
    let mut problems = Vec::new();
    collect_affected(criteria, &context, &mut advisory.affected, &mut problems);
    for problem in problems {
        skipped.add(format!("check skipped: {problem}"), id);
    }
    if advisory.affected.is_empty() {
        return Err(
            "definition has no package, kernel or livepatch check that could be read".to_string(),
        );
    }
    Ok(advisory)
}

/// Copies the CVEs, severity, issue date and USN link into the advisory.
fn read_metadata(metadata: &Node, advisory: &mut Advisory) {
    for reference in oval::references(metadata) {
        match reference.source {
            "CVE" => advisory.cves.push(reference.ref_id.to_string()),
            "USN" => advisory.url = reference.ref_url.map(str::to_string),
            _ => {}
        }
    }
    if let Some(details) = metadata.child("advisory") {
        let cves = details.children_named("cve").map(|cve| cve.text.clone());
        advisory
            .cves
            .extend(cves.filter(|cve| cve.starts_with("CVE-")));
        if let Some(severity) = details.child_text("severity") {
            advisory.severity = Severity::from_vendor(severity);
            advisory.severity_raw = Some(severity.to_string());
        }
        advisory.published = details
            .child("issued")
            .and_then(|issued| issued.attribute("date"))
            .map(str::to_string);
    }
    // Some notices (LSN-0087-1, USN-5441-1) name their CVEs only in the
    // description text, as "(CVE-2022-1966)".
    if advisory.cves.is_empty() {
        if let Some(description) = metadata.child_text("description") {
            advisory.cves = cve_ids_in_text(description);
        }
    }
    advisory.normalize();
}

/// Finds the `CVE-YYYY-NNNN` ids written in a text.
fn cve_ids_in_text(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("CVE-") {
        let candidate = &rest[start..];
        let length = candidate
            .bytes()
            .skip(4)
            .take_while(|byte| byte.is_ascii_digit() || *byte == b'-')
            .count()
            + 4;
        let id = candidate[..length].trim_end_matches('-');
        if is_cve_id(id) {
            ids.push(id.to_string());
        }
        rest = &candidate[4..];
    }
    ids
}

/// Checks the shape `CVE-` four digits `-` four or more digits.
fn is_cve_id(id: &str) -> bool {
    let Some((year, number)) = id
        .strip_prefix("CVE-")
        .and_then(|rest| rest.split_once('-'))
    else {
        return false;
    };
    let digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());
    year.len() == 4 && number.len() >= 4 && digits(year) && digits(number)
}

/// Walks a criteria tree and adds an entry for each check it can resolve.
fn collect_affected(
    criteria: &Node,
    context: &Context<'_>,
    out: &mut Vec<Affected>,
    problems: &mut Vec<String>,
) {
    let mut kernel = KernelCheck::default();
    for child in &criteria.children {
        match child.name.as_str() {
            "criteria" => collect_affected(child, context, out, problems),
            "criterion" => {
                if let Err(problem) = read_criterion(child, context, out, &mut kernel) {
                    problems.push(format!("{}: {problem}", context.definition_id));
                }
            }
            _ => {}
        }
    }
    match kernel.into_entry(context) {
        Ok(Some(entry)) => out.push(entry),
        Ok(None) => {}
        Err(problem) => problems.push(format!("{}: {problem}", context.definition_id)),
    }
}

fn read_criterion(
    criterion: &Node,
    context: &Context<'_>,
    out: &mut Vec<Affected>,
    kernel: &mut KernelCheck,
) -> Result<(), String> {
    let test_ref = criterion
        .attribute("test_ref")
        .ok_or("criterion without test_ref")?;
    let test = context
        .index
        .get(test_ref)
        .ok_or_else(|| format!("missing test {test_ref}"))?;
    if criterion.attribute("negate") == Some("true") {
        return Err(format!("negated test {test_ref}"));
    }
    match test.name.as_str() {
        "dpkginfo_test" => out.extend(package_entries(test, context)?),
        "uname_test" => kernel.pattern = Some(kernel_pattern(test, context.index)?),
        "variable_test" => kernel.fixed = Some(less_than_value(test, context.index, "value")?),
        "textfilecontent54_test" => out.extend(text_file_entries(test, context)?),
        // The Livepatch client check that LSN criteria join with the module test.
        "file_test" => {}
        other => return Err(format!("test {test_ref} is a {other}, which is not read")),
    }
    Ok(())
}

/// Reads a `dpkginfo_test`: one fixed entry per binary package name.
fn package_entries(test: &Node, context: &Context<'_>) -> Result<Vec<Affected>, String> {
    let object = context.index.follow(test, "object_ref")?;
    let names = object_values(object, "name", context.index)?;
    let state = context.index.follow(test, "state_ref")?;
    let fixed = less_than_value(test, context.index, "evr")?;
    let channel = [test, object, state]
        .iter()
        .any(|node| is_pro(node))
        .then(|| "esm".to_string());

    let entries = names.into_iter().map(|package| Affected {
        ecosystem: context.ecosystem.clone(),
        package,
        kind: PackageKind::Binary,
        status: Status::Fixed {
            fixed: fixed.clone(),
        },
        channel: channel.clone(),
        note: None,
    });
    Ok(entries.collect())
}

/// Reads a `textfilecontent54_test`: livepatch modules in `/proc/modules`,
/// or packages in the `manifest` file of the OCI flavour.
fn text_file_entries(test: &Node, context: &Context<'_>) -> Result<Vec<Affected>, String> {
    let object = context.index.follow(test, "object_ref")?;
    if object.child_text("filepath") == Some("/proc/modules") {
        return livepatch_entries(test, object, context);
    }
    if object.child_text("filename") == Some("manifest") {
        return manifest_entries(test, object, context);
    }
    Err(format!(
        "text file test {} reads neither /proc/modules nor a manifest",
        oval::id_of(test)
    ))
}

/// Reads a livepatch check: one entry per module pattern.
fn livepatch_entries(
    test: &Node,
    object: &Node,
    context: &Context<'_>,
) -> Result<Vec<Affected>, String> {
    let patterns = object_values(object, "pattern", context.index)?;
    let state = context.index.follow(test, "state_ref")?;
    let level = less_than_text(state, "subexpression")?;

    let note = format!(
        "affected while a loaded livepatch module matching the pattern has a patch level below {level}"
    );
    let entries = patterns.into_iter().map(|pattern| Affected {
        ecosystem: context.ecosystem.clone(),
        package: format!("{LIVEPATCH_MODULE_PREFIX}{pattern}"),
        kind: PackageKind::Binary,
        status: Status::Fixed {
            fixed: level.clone(),
        },
        channel: Some("livepatch".to_string()),
        note: Some(note.clone()),
    });
    Ok(entries.collect())
}

/// Reads a package check of the OCI flavour, which matches lines of an
/// image's package `manifest` (`name version`) with one pattern per binary
/// package, such as `^libssh-4(?::\w+|)\s+(.*)$`, and compares the captured
/// version "less than" the fixed version.
fn manifest_entries(
    test: &Node,
    object: &Node,
    context: &Context<'_>,
) -> Result<Vec<Affected>, String> {
    let patterns = object_values(object, "pattern", context.index)?;
    let names: Result<Vec<String>, String> = patterns
        .iter()
        .map(|pattern| manifest_package(pattern))
        .collect();
    let state = context.index.follow(test, "state_ref")?;
    let fixed = less_than_value(test, context.index, "subexpression")?;
    let channel = [test, object, state]
        .iter()
        .any(|node| is_pro(node))
        .then(|| "esm".to_string());

    let entries = names?.into_iter().map(|package| Affected {
        ecosystem: context.ecosystem.clone(),
        package,
        kind: PackageKind::Binary,
        status: Status::Fixed {
            fixed: fixed.clone(),
        },
        channel: channel.clone(),
        note: None,
    });
    Ok(entries.collect())
}

/// The end of every manifest pattern: an optional `:arch`, spaces, the captured version.
const MANIFEST_PATTERN_END: &str = r"(?::\w+|)\s+(.*)$";

/// Reads the package name out of a manifest pattern, rejecting patterns that
/// match more than one literal name.
fn manifest_package(pattern: &str) -> Result<String, String> {
    let body = pattern
        .strip_prefix('^')
        .and_then(|rest| rest.strip_suffix(MANIFEST_PATTERN_END));
    let Some(body) = body else {
        return Err(format!(
            "manifest pattern {pattern:?} does not have the form ^NAME(?::\\w+|)\\s+(.*)$"
        ));
    };
    // Package names use letters, digits and `.+-`; a backslash only escapes
    // one of them. Any other regular expression syntax is rejected.
    let name: String = body
        .chars()
        .filter(|character| *character != '\\')
        .collect();
    let literal = name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || ".+-".contains(character));
    if name.is_empty() || !literal {
        return Err(format!(
            "manifest pattern {pattern:?} is not a single package name"
        ));
    }
    Ok(name)
}

/// The two halves of a running-kernel check, met in one criteria block.
#[derive(Default)]
struct KernelCheck {
    pattern: Option<String>,
    fixed: Option<String>,
}

impl KernelCheck {
    fn into_entry(self, context: &Context<'_>) -> Result<Option<Affected>, String> {
        match (self.pattern, self.fixed) {
            (Some(pattern), Some(fixed)) => Ok(Some(Affected {
                ecosystem: context.ecosystem.clone(),
                package: format!("{RUNNING_KERNEL_PREFIX}{pattern}"),
                kind: PackageKind::Binary,
                status: Status::Fixed { fixed },
                channel: None,
                note: Some(
                    "affected while the running kernel's release (uname -r) matches the pattern \
                     and its version part is below the fixed version"
                        .to_string(),
                ),
            })),
            (None, None) => Ok(None),
            (Some(pattern), None) => Err(format!(
                "kernel check {pattern:?} has no version comparison"
            )),
            (None, Some(fixed)) => Err(format!(
                "kernel version comparison {fixed:?} has no kernel name check"
            )),
        }
    }
}

/// Reads the regular expression a `uname_test` matches the kernel release against.
fn kernel_pattern(test: &Node, index: &OvalIndex) -> Result<String, String> {
    let state = index.follow(test, "state_ref")?;
    let release = state
        .child("os_release")
        .ok_or_else(|| format!("uname state {} has no os_release", oval::id_of(state)))?;
    if release.attribute("operation") != Some("pattern match") {
        return Err(format!(
            "uname state {} does not use a pattern match",
            oval::id_of(state)
        ));
    }
    Ok(release.text.clone())
}

/// Reads the fixed version of a test whose state compares `element` "less than" an EVR.
fn less_than_value(test: &Node, index: &OvalIndex, element: &str) -> Result<String, String> {
    let state = index.follow(test, "state_ref")?;
    let text = less_than_text(state, element)?;
    dpkg::fixed_version(&text).map_err(|reason| format!("state {}: {reason}", oval::id_of(state)))
}

fn less_than_text(state: &Node, element: &str) -> Result<String, String> {
    let id = oval::id_of(state);
    let value = state
        .child(element)
        .ok_or_else(|| format!("state {id} has no {element}"))?;
    if value.attribute("operation") != Some("less than") {
        return Err(format!(
            "state {id} compares with {:?}, not \"less than\"",
            value.attribute("operation")
        ));
    }
    Ok(value.text.clone())
}

/// Reads the values of an object's `element`: its text, or the values of the
/// `constant_variable` its `var_ref` names.
fn object_values(object: &Node, element: &str, index: &OvalIndex) -> Result<Vec<String>, String> {
    let id = oval::id_of(object);
    let field = object
        .child(element)
        .ok_or_else(|| format!("object {id} has no {element}"))?;
    let Some(var_ref) = field.attribute("var_ref") else {
        return match field.text.is_empty() {
            true => Err(format!("object {id} has an empty {element}")),
            false => Ok(vec![field.text.clone()]),
        };
    };
    let variable = index
        .get(var_ref)
        .ok_or_else(|| format!("object {id} refers to the missing variable {var_ref}"))?;
    if variable.name != "constant_variable" {
        return Err(format!(
            "variable {var_ref} is a {}, not a constant_variable",
            variable.name
        ));
    }
    let values: Vec<String> = variable
        .children_named("value")
        .map(|value| value.text.clone())
        .collect();
    if values.is_empty() {
        return Err(format!("variable {var_ref} lists no values"));
    }
    Ok(values)
}

fn is_pro(node: &Node) -> bool {
    node.attribute("comment")
        .is_some_and(|comment| comment.contains(PRO_MARKER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_patterns_give_package_names() {
        assert_eq!(
            manifest_package(r"^libssh-4(?::\w+|)\s+(.*)$"),
            Ok("libssh-4".to_string())
        );
        assert_eq!(
            manifest_package(r"^libstdc\+\+6(?::\w+|)\s+(.*)$"),
            Ok("libstdc++6".to_string())
        );
        assert!(manifest_package(r"^lib.*(?::\w+|)\s+(.*)$").is_err());
        assert!(manifest_package("libssh-4").is_err());
    }

    #[test]
    fn cve_ids_are_found_in_descriptions() {
        let text = "a flaw (CVE-2022-1966) and CVE-2022-1972. Not CVE-22-1 or CVE-2022-.";
        assert_eq!(cve_ids_in_text(text), ["CVE-2022-1966", "CVE-2022-1972"]);
    }

    #[test]
    fn code_names_come_from_ids_and_file_names() {
        assert_eq!(
            codename_from_id("oval:com.ubuntu.jammy:def:51811000000"),
            Some("jammy")
        );
        assert_eq!(
            codename_from_file_name("a/com.ubuntu.noble.usn.oval.xml.zst").as_deref(),
            Some("noble")
        );
        assert_eq!(
            codename_from_file_name("oci.com.ubuntu.jammy.usn.oval.xml.bz2").as_deref(),
            Some("jammy")
        );
    }
}
