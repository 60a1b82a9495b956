//! The output of `rpm -qa --queryformat`, for hosts read over SSH.
//!
//! Reading the database file needs a copy of it, and a copy of a live
//! SQLite or Berkeley DB file taken while rpm writes can be torn. Asking
//! the host's own rpm avoids both, as Vuls does. The query format prints
//! the same header tags that the database reader takes, one package per
//! line and tab-separated, and each line becomes a package through
//! [`to_package`], so both paths give the same inventory.

use vulnloop_inventory::Problem;

use super::{to_package, RpmHeader, RpmPackages};

/// Query format of `rpm -qa --queryformat`: NAME, EPOCH, VERSION, RELEASE,
/// ARCH, SOURCERPM, VENDOR and MODULARITYLABEL, tab-separated.
///
/// rpm prints `(none)` for a tag the header lacks. rpm before 4.14 (RHEL 7)
/// does not know `MODULARITYLABEL` and rejects the whole format, so
/// [`RPM_QUERY_FORMAT_WITHOUT_MODULES`] is the fallback.
pub const RPM_QUERY_FORMAT: &str = r"%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{VENDOR}\t%{MODULARITYLABEL}\n";

/// [`RPM_QUERY_FORMAT`] without `MODULARITYLABEL`, for rpm releases that
/// predate modules.
pub const RPM_QUERY_FORMAT_WITHOUT_MODULES: &str =
    r"%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{VENDOR}\n";

/// Text that rpm prints in place of a tag that the header lacks.
const NO_VALUE: &str = "(none)";

/// Parses the output of `rpm -qa` with [`RPM_QUERY_FORMAT`] or
/// [`RPM_QUERY_FORMAT_WITHOUT_MODULES`].
///
/// `origin` names the command in package origins and problem locations. A
/// line with the wrong number of fields or a bad epoch is skipped with a
/// problem. Output that lists no package is a problem too, because an
/// rpm-based system always has some.
pub fn parse_rpm_query(text: &str, origin: &str) -> RpmPackages {
    let mut result = RpmPackages::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(header) => result.packages.extend(to_package(header, origin)),
            Err(reason) => result.problems.push(Problem {
                location: format!("{origin}, output line {}", index + 1),
                message: format!("{reason}; the package on this line is skipped"),
            }),
        }
    }
    if result.packages.is_empty() && result.problems.is_empty() {
        result.problems.push(Problem {
            location: origin.to_string(),
            message: "rpm lists no packages, but an rpm-based system always has some; \
                      its database is damaged or rpm failed"
                .to_string(),
        });
    }
    result
}

/// Reads one output line into the header fields that [`to_package`] uses.
fn parse_line(line: &str) -> Result<RpmHeader, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    if !(7..=8).contains(&fields.len()) {
        return Err(format!(
            "expected 7 or 8 tab-separated fields, found {}",
            fields.len()
        ));
    }
    let value = |index: usize| {
        fields
            .get(index)
            .map(|field| field.trim())
            .filter(|field| !field.is_empty() && *field != NO_VALUE)
            .map(str::to_string)
    };
    let name = value(0).ok_or("the package name is empty")?;
    let version = value(2).ok_or_else(|| format!("package {name} has no version"))?;
    let release = value(3).ok_or_else(|| format!("package {name} has no release"))?;
    let epoch = match value(1) {
        Some(text) => Some(
            text.parse::<u32>()
                .map_err(|_| format!("package {name} has an invalid epoch {text:?}"))?,
        ),
        None => None,
    };
    Ok(RpmHeader {
        name,
        epoch,
        version,
        release,
        arch: value(4),
        source_rpm: value(5),
        vendor: value(6),
        modularity_label: value(7),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ORIGIN: &str = "rpm -qa";

    #[test]
    fn line_with_epoch_and_module() {
        let text = "nginx\t1\t1.20.1\t14.module_el9.2.0+1\tx86_64\tnginx-1.20.1-14.module_el9.2.0+1.src.rpm\tAlmaLinux\tnginx:1.22:9020020230419:f1a2b3c4\n";
        let parsed = parse_rpm_query(text, ORIGIN);
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let package = &parsed.packages[0];
        assert_eq!(package.name, "nginx");
        assert_eq!(package.version, "1:1.20.1-14.module_el9.2.0+1");
        assert_eq!(package.arch.as_deref(), Some("x86_64"));
        assert_eq!(package.source_name.as_deref(), Some("nginx"));
        assert_eq!(
            package.source_version.as_deref(),
            Some("1.20.1-14.module_el9.2.0+1")
        );
        assert_eq!(package.vendor.as_deref(), Some("AlmaLinux"));
        assert_eq!(
            package.module.as_deref(),
            Some("nginx:1.22:9020020230419:f1a2b3c4")
        );
        assert_eq!(package.origin, ORIGIN);
    }

    #[test]
    fn missing_tags_and_old_format() {
        let text = "bash\t(none)\t5.1.8\t9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm\t(none)\n";
        let parsed = parse_rpm_query(text, ORIGIN);
        let package = &parsed.packages[0];
        assert_eq!(package.version, "5.1.8-9.el9");
        assert_eq!(package.vendor, None);
        assert_eq!(package.module, None);
    }

    #[test]
    fn gpg_pubkey_left_out() {
        let text = "gpg-pubkey\t(none)\tfd431d51\t4ae0493b\t(none)\t(none)\t(none)\t(none)\n\
                    bash\t(none)\t5.1.8\t9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm\tRed Hat, Inc.\t(none)\n";
        let parsed = parse_rpm_query(text, ORIGIN);
        let names: Vec<&str> = parsed.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["bash"]);
    }

    #[test]
    fn bad_lines_become_problems() {
        let text = "bash\t5.1.8\n\
                    zlib\tone\t1.2.11\t40.el9\tx86_64\tzlib-1.2.11-40.el9.src.rpm\t(none)\t(none)\n\
                    glibc\t(none)\t2.34\t100.el9\tx86_64\tglibc-2.34-100.el9.src.rpm\t(none)\t(none)\n";
        let parsed = parse_rpm_query(text, ORIGIN);
        assert_eq!(parsed.packages.len(), 1);
        assert_eq!(parsed.problems.len(), 2);
        assert_eq!(parsed.problems[0].location, "rpm -qa, output line 1");
        assert!(
            parsed.problems[1].message.contains("invalid epoch"),
            "{}",
            parsed.problems[1].message
        );
    }

    #[test]
    fn empty_output_is_a_problem() {
        let parsed = parse_rpm_query("", ORIGIN);
        assert!(parsed.packages.is_empty());
        assert_eq!(parsed.problems.len(), 1);
    }
}
