//! Operating system detection from the release files a system contains.

use crate::identity::OsIdentity;
use crate::release_files::ReleaseFile;

/// The identity detection settled on, with the files it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The operating system.
    pub identity: OsIdentity,
    /// Paths of the files that gave the identity, the main one first.
    pub sources: Vec<&'static str>,
}

/// Detects the operating system from release files and their text.
///
/// `files` lists the files that exist, in [`crate::RELEASE_FILES`] order.
/// The first file that names a distribution gives the identity. When that
/// file has no `VERSION_ID`, the next file naming the same distribution
/// fills the gaps: a distroless Debian image has an os-release without
/// `VERSION_ID` and a `/etc/debian_version` with `10.8`. Debian testing has
/// no release number in any file, so its `version_id` stays `None`.
pub fn detect(files: &[(ReleaseFile, &str)]) -> Option<Detection> {
    let mut parsed = files.iter().filter_map(|(file, text)| {
        file.format
            .parse(text)
            .map(|identity| (file.path, identity))
    });
    let (path, mut identity) = parsed.next()?;
    let mut sources = vec![path];

    if identity.version_id.is_none() {
        let same_os = parsed.find(|(_, other)| other.id == identity.id);
        if let Some((other_path, other)) = same_os {
            fill_gaps(&mut identity, other);
            sources.push(other_path);
        }
    }

    identity.fill_codename();
    Some(Detection { identity, sources })
}

fn fill_gaps(identity: &mut OsIdentity, other: OsIdentity) {
    identity.version_id = identity.version_id.take().or(other.version_id);
    identity.codename = identity.codename.take().or(other.codename);
    identity.pretty_name = identity.pretty_name.take().or(other.pretty_name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release_files::RELEASE_FILES;

    fn file(path: &str) -> ReleaseFile {
        *RELEASE_FILES
            .iter()
            .find(|file| file.path == path)
            .expect("known release file")
    }

    #[test]
    fn os_release_wins() {
        let files = [
            (file("/etc/os-release"), "ID=ubuntu\nVERSION_ID=22.04\n"),
            (file("/etc/debian_version"), "bookworm/sid\n"),
        ];
        let detection = detect(&files).expect("detects");
        assert_eq!(detection.identity.id, "ubuntu");
        assert_eq!(detection.identity.codename.as_deref(), Some("jammy"));
        assert_eq!(detection.sources, ["/etc/os-release"]);
    }

    #[test]
    fn debian_version_completes_os_release() {
        let files = [
            (
                file("/etc/os-release"),
                "ID=\"debian\"\nPRETTY_NAME=\"Distroless\"\n",
            ),
            (file("/etc/debian_version"), "10.8\n"),
        ];
        let detection = detect(&files).expect("detects");
        assert_eq!(detection.identity.version_id.as_deref(), Some("10"));
        assert_eq!(detection.identity.codename.as_deref(), Some("buster"));
        assert_eq!(
            detection.identity.pretty_name.as_deref(),
            Some("Distroless")
        );
        assert_eq!(
            detection.sources,
            ["/etc/os-release", "/etc/debian_version"]
        );
    }

    #[test]
    fn debian_testing_has_no_version() {
        let files = [
            (
                file("/etc/os-release"),
                "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\nVERSION_CODENAME=trixie\n",
            ),
            (file("/etc/debian_version"), "trixie/sid\n"),
        ];
        let detection = detect(&files).expect("detects");
        assert_eq!(detection.identity.version_id, None);
        assert_eq!(detection.identity.codename.as_deref(), Some("trixie"));
    }

    #[test]
    fn other_distribution_does_not_complete() {
        let files = [
            (file("/etc/os-release"), "ID=alpine\n"),
            (file("/etc/debian_version"), "12.7\n"),
        ];
        let detection = detect(&files).expect("detects");
        assert_eq!(detection.identity.version_id, None);
        assert_eq!(detection.sources, ["/etc/os-release"]);
    }

    #[test]
    fn empty_os_release_falls_through() {
        let files = [
            (file("/etc/os-release"), ""),
            (file("/etc/redhat-release"), "CentOS release 5.7 (Final)\n"),
        ];
        let detection = detect(&files).expect("detects");
        assert_eq!(detection.identity.id, "centos");
        assert_eq!(detection.sources, ["/etc/redhat-release"]);
    }

    #[test]
    fn nothing_identifies() {
        assert_eq!(detect(&[(file("/etc/os-release"), "NAME=x\n")]), None);
        assert_eq!(detect(&[]), None);
    }
}
