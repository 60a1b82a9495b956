//! One stanza of the dpkg database turned into an installed package.
//!
//! # Which packages count as installed
//!
//! The third word of `Status` is the package's state (dpkg-query(1)). A
//! package is listed when its files are on disk at the version the stanza
//! states:
//!
//! | state | dpkg-query `-l` | listed |
//! |---|---|---|
//! | `installed`, `triggers-pending`, `triggers-awaited` | `ii`, `it`, `iW` | yes |
//! | `half-configured`, `unpacked` | `iF`, `iU` | yes: unpacked but not configured, the files are there |
//! | `half-installed` | `iH` | no, and a problem is recorded: an install or removal stopped midway, so the files on disk may belong to either version |
//! | `config-files`, `not-installed` | `rc`, `pn` | no: only configuration files remain |
//!
//! The first word (the selection: `install`, `hold`, `deinstall`, `purge`)
//! does not decide anything, because `deinstall ok installed` is a package
//! marked for removal that is still installed.

use vulnloop_inventory::{Package, PackageManager};
use vulnloop_version::DpkgVersion;

use super::stanza::{Field, Stanza};

/// Whether stanzas must carry a `Status` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFile {
    /// `/var/lib/dpkg/status`, written by dpkg: every stanza has `Status`.
    Database,
    /// A file in `/var/lib/dpkg/status.d/` of a distroless image. Such files
    /// are written by image build tools and list only installed packages,
    /// usually without `Status`.
    Distroless,
}

/// The outcome of reading one stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StanzaOutcome {
    /// The package is installed.
    Installed(Package),
    /// The package is known to dpkg but not installed.
    NotInstalled,
}

/// Files of the package may be on disk.
enum State {
    Present,
    Absent,
    HalfInstalled,
}

/// Reads one stanza. `origin` is the file path and stanza line, such as
/// `/var/lib/dpkg/status:1234`. An error message means the stanza was skipped.
pub(crate) fn read_stanza(
    stanza: &Stanza<'_>,
    kind: StatusFile,
    origin: String,
) -> Result<StanzaOutcome, String> {
    let status = single_field(stanza, "Status")?;
    let state = match status {
        Some(value) => parse_state(value)?,
        None if kind == StatusFile::Distroless => State::Present,
        None => return Err("stanza has no Status field; skipped".to_string()),
    };
    if matches!(state, State::Absent) {
        return Ok(StanzaOutcome::NotInstalled);
    }

    let name = package_name(stanza)?;
    if matches!(state, State::HalfInstalled) {
        return Err(format!(
            "package {name} is half-installed (an install, upgrade or removal stopped midway), so which \
             version's files are on disk is unknown; skipped. Run `dpkg --audit` on the system"
        ));
    }
    let version = required_version(stanza, &name)?;
    let (source_name, source_version) = source(stanza, &name)?;
    let arch = single_field(stanza, "Architecture")?.filter(|arch| !arch.is_empty());

    Ok(StanzaOutcome::Installed(Package {
        manager: PackageManager::Dpkg,
        name,
        version,
        arch: arch.map(str::to_string),
        source_name,
        source_version,
        origin,
        vendor: None,
        module: None,
        repository: None,
    }))
}

/// Returns the value of a field that may appear once, or an error when it repeats.
fn single_field<'a>(stanza: &Stanza<'a>, name: &str) -> Result<Option<&'a str>, String> {
    let mut fields = stanza.fields_named(name);
    let first: Option<&Field<'a>> = fields.next();
    if fields.next().is_some() {
        return Err(format!("stanza has more than one {name} field; skipped"));
    }
    Ok(first.map(|field| field.value))
}

/// Parses `Status: want eflag state` into whether the package's files are present.
fn parse_state(value: &str) -> Result<State, String> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let invalid = || {
        format!("invalid Status value {value:?}: expected three words such as `install ok installed`; skipped")
    };
    let [want, eflag, state] = words[..] else {
        return Err(invalid());
    };
    let valid_want = matches!(want, "unknown" | "install" | "hold" | "deinstall" | "purge");
    let valid_eflag = matches!(eflag, "ok" | "reinstreq" | "hold" | "hold-reinstreq");
    if !valid_want || !valid_eflag {
        return Err(invalid());
    }
    match state {
        "installed" | "triggers-pending" | "triggers-awaited" | "half-configured" | "unpacked" => {
            Ok(State::Present)
        }
        "config-files" | "not-installed" => Ok(State::Absent),
        "half-installed" => Ok(State::HalfInstalled),
        _ => Err(invalid()),
    }
}

/// Returns the package name, lowercased as dpkg stores it.
fn package_name(stanza: &Stanza<'_>) -> Result<String, String> {
    match single_field(stanza, "Package")? {
        None | Some("") => Err("stanza has no Package name; skipped".to_string()),
        Some(name) => validate_name(name, "Package").map(|()| name.to_ascii_lowercase()),
    }
}

/// Checks a package name with dpkg's rules: an ASCII letter or digit first,
/// then letters, digits, `+`, `-`, `.` and `_` (`pkg_name_is_illegal` in
/// dpkg's `lib/dpkg/parsehelp.c`).
fn validate_name(name: &str, field: &str) -> Result<(), String> {
    let first_valid = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_valid = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+-._".contains(&b));
    if first_valid && rest_valid {
        Ok(())
    } else {
        Err(format!(
            "invalid package name {name:?} in {field} field; skipped"
        ))
    }
}

fn required_version(stanza: &Stanza<'_>, name: &str) -> Result<String, String> {
    let Some(version) = single_field(stanza, "Version")?.filter(|version| !version.is_empty())
    else {
        return Err(format!("package {name} has no Version field; skipped"));
    };
    validate_version(version, name, "Version")?;
    Ok(version.to_string())
}

fn validate_version(version: &str, name: &str, field: &str) -> Result<(), String> {
    match version.parse::<DpkgVersion>() {
        Ok(_) => Ok(()),
        Err(error) => Err(format!(
            "package {name} has an invalid {field} field: {error}; skipped"
        )),
    }
}

/// Parses `Source: name` or `Source: name (version)`.
///
/// The version is present only when it differs from the binary version:
/// after a binNMU (`bash` 5.2.15-2+b8 from source 5.2.15-2), or when the
/// binary package sets its own version or epoch (`gcc` 4:12.2.0-3 from
/// `gcc-defaults` 1.203). Without it, the source version is the binary version.
fn source(stanza: &Stanza<'_>, name: &str) -> Result<(Option<String>, Option<String>), String> {
    let Some(value) = single_field(stanza, "Source")?.filter(|value| !value.is_empty()) else {
        return Ok((None, None));
    };
    let (source_name, source_version) = match value.split_once('(') {
        None => (value, None),
        Some((source_name, rest)) => {
            let Some(version) = rest.strip_suffix(')') else {
                return Err(format!(
                    "package {name} has a Source field {value:?} without a closing `)`; skipped"
                ));
            };
            (source_name.trim_end(), Some(version.trim()))
        }
    };
    validate_name(source_name, "Source")?;
    if let Some(version) = source_version {
        validate_version(version, name, "Source")?;
    }
    Ok((
        Some(source_name.to_string()),
        source_version.map(str::to_string),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::dpkg::stanza::parse_stanzas;

    fn read(text: &str, kind: StatusFile) -> Result<StanzaOutcome, String> {
        let parsed = parse_stanzas(text);
        assert!(parsed.malformed.is_empty(), "{:?}", parsed.malformed);
        read_stanza(&parsed.stanzas[0], kind, "/status:1".to_string())
    }

    fn installed(text: &str) -> Package {
        match read(text, StatusFile::Database) {
            Ok(StanzaOutcome::Installed(package)) => package,
            other => panic!("expected an installed package, got {other:?}"),
        }
    }

    const BASE: &str = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.19-1~deb12u2\n";

    #[test]
    fn plain_source() {
        let package = installed(&format!("{BASE}Source: openssl\n"));
        assert_eq!(package.source_name.as_deref(), Some("openssl"));
        assert_eq!(package.source_version, None);
        assert_eq!(package.source_version(), "3.0.19-1~deb12u2");
    }

    #[test]
    fn source_with_version() {
        let package = installed(&format!("{BASE}Source: openssl (3.0.19-1~deb12u1)\n"));
        assert_eq!(package.source_name.as_deref(), Some("openssl"));
        assert_eq!(package.source_version.as_deref(), Some("3.0.19-1~deb12u1"));
    }

    #[test]
    fn source_without_closing_parenthesis() {
        let error = read(
            &format!("{BASE}Source: openssl (3.0\n"),
            StatusFile::Database,
        )
        .unwrap_err();
        assert!(error.contains("closing"), "{error}");
    }

    #[test]
    fn hold_and_deinstall_still_installed() {
        for status in [
            "hold ok installed",
            "deinstall ok installed",
            "install ok unpacked",
            "install ok triggers-pending",
        ] {
            let text = format!("Package: a\nStatus: {status}\nVersion: 1.0\n");
            let outcome = read(&text, StatusFile::Database);
            assert!(
                matches!(outcome, Ok(StanzaOutcome::Installed(_))),
                "{status}: {outcome:?}"
            );
        }
    }

    #[test]
    fn config_files_not_installed() {
        let outcome = read(
            "Package: a\nStatus: deinstall ok config-files\nVersion: 1.0\n",
            StatusFile::Database,
        );
        assert_eq!(outcome, Ok(StanzaOutcome::NotInstalled));
    }

    #[test]
    fn half_installed_is_problem() {
        let error = read(
            "Package: a\nStatus: install reinstreq half-installed\nVersion: 1.0\n",
            StatusFile::Database,
        )
        .unwrap_err();
        assert!(error.contains("half-installed"), "{error}");
    }

    #[test]
    fn invalid_status_is_problem() {
        let error = read(
            "Package: a\nStatus: install ok\nVersion: 1.0\n",
            StatusFile::Database,
        )
        .unwrap_err();
        assert!(error.contains("invalid Status"), "{error}");
    }

    #[test]
    fn missing_status_depends_on_file() {
        let text = "Package: a\nVersion: 1.0\n";
        assert!(read(text, StatusFile::Database).is_err());
        assert!(matches!(
            read(text, StatusFile::Distroless),
            Ok(StanzaOutcome::Installed(_))
        ));
    }

    #[test]
    fn invalid_version_is_problem() {
        let error = read(
            "Package: a\nStatus: install ok installed\nVersion: a1.0\n",
            StatusFile::Database,
        )
        .unwrap_err();
        assert!(error.contains("invalid Version"), "{error}");
    }

    #[test]
    fn name_lowercased() {
        let package = installed("Package: LibFoo\nStatus: install ok installed\nVersion: 1.0\n");
        assert_eq!(package.name, "libfoo");
    }

    #[test]
    fn invalid_name_is_problem() {
        let error = read(
            "Package: -a\nStatus: install ok installed\nVersion: 1.0\n",
            StatusFile::Database,
        )
        .unwrap_err();
        assert!(error.contains("invalid package name"), "{error}");
    }

    #[test]
    fn duplicate_version_is_problem() {
        let error = read(&format!("{BASE}Version: 1.0\n"), StatusFile::Database).unwrap_err();
        assert!(error.contains("more than one Version"), "{error}");
    }
}
