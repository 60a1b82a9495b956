//! The read-only commands that collect a host's inventory over SSH.
//!
//! Every remote command is a fixed string of this module, listed in
//! docs/ssh.md. None writes anything or needs root: the package lists are
//! world-readable on the supported distributions.

use vulnloop_collect::{
    apply_alpine_repositories, detect_os_from_texts, remote_inventory, DetectedOs, PackageListing,
    RemoteFacts, RPM_QUERY_FORMAT, RPM_QUERY_FORMAT_WITHOUT_MODULES,
};
use vulnloop_inventory::Inventory;
use vulnloop_platform::{Family, ReleaseFile, RELEASE_FILES};

use super::transport::{Session, SshError};

/// The kernel's host name. `uname` is in every Linux base system, unlike `hostname`.
const HOSTNAME_COMMAND: &str = "uname -n";

/// The running kernel's release.
const KERNEL_COMMAND: &str = "uname -r";

const DPKG_STATUS_COMMAND: &str = "cat /var/lib/dpkg/status";

const APK_INSTALLED_COMMAND: &str = "cat /lib/apk/db/installed";

const APK_REPOSITORIES_COMMAND: &str = "cat /etc/apk/repositories";

/// A step of the collection, shown in the host's progress bar.
pub trait Progress {
    fn step(&self, message: &str);
}

/// Collects the inventory of the session's host.
pub fn fetch_inventory(
    session: &Session<'_>,
    progress: &dyn Progress,
) -> Result<Inventory, SshError> {
    progress.step("connecting");
    let hostname = required_text(session, HOSTNAME_COMMAND)?;
    let kernel_release = required_text(session, KERNEL_COMMAND)?;

    progress.step("reading the OS release");
    let mut os = detect_os(session)?;
    let packages = match os.family() {
        Family::Debian => {
            progress.step("reading the dpkg status");
            PackageListing::DpkgStatus(required_output(session, DPKG_STATUS_COMMAND)?)
        }
        Family::RedHat | Family::Suse => {
            progress.step("running rpm -qa");
            rpm_query(session)?
        }
        Family::Alpine => {
            progress.step("reading the apk database");
            if let Some(text) = optional_file(session, APK_REPOSITORIES_COMMAND)? {
                apply_alpine_repositories(&text, &mut os);
            }
            PackageListing::ApkInstalled(required_output(session, APK_INSTALLED_COMMAND)?)
        }
        Family::Other => PackageListing::Unsupported,
    };
    Ok(remote_inventory(RemoteFacts {
        hostname: Some(hostname),
        kernel_release: Some(kernel_release),
        os,
        packages,
    }))
}

/// Reads the release files in the local collector's order and detects the OS.
///
/// Reading stops at the first file that names a distribution with a
/// version, because the detection uses no other file then. Otherwise every
/// file is read. Either way the result is the same as for a local scan.
fn detect_os(session: &Session<'_>) -> Result<DetectedOs, SshError> {
    let mut texts: Vec<(ReleaseFile, String)> = Vec::new();
    for file in RELEASE_FILES {
        let command = format!("cat {}", file.path);
        if let Some(text) = optional_file(session, &command)? {
            texts.push((*file, text));
        }
        let settled =
            detect_os_from_texts(&texts).is_some_and(|detected| detected.os.version_id.is_some());
        if settled {
            break;
        }
    }
    detect_os_from_texts(&texts).ok_or_else(|| SshError::Remote {
        target: session.target().to_string(),
        command: "cat /etc/os-release".to_string(),
        status: 0,
        message: format!(
            "none of {} names a distribution, so the host's packages cannot be judged",
            RELEASE_FILES
                .iter()
                .map(|file| file.path)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Runs `rpm -qa` with the full query format, and again without module
/// labels when this rpm does not know the tag.
fn rpm_query(session: &Session<'_>) -> Result<PackageListing, SshError> {
    let command = format!("rpm -qa --queryformat '{RPM_QUERY_FORMAT}'");
    let output = session.run(&command)?;
    if output.status == 0 {
        return Ok(PackageListing::RpmQuery {
            command,
            output: String::from_utf8_lossy(&output.stdout).into_owned(),
        });
    }
    if !output.stderr.contains("MODULARITYLABEL") {
        return Err(remote_failure(
            session,
            &command,
            output.status,
            &output.stderr,
        ));
    }
    let command = format!("rpm -qa --queryformat '{RPM_QUERY_FORMAT_WITHOUT_MODULES}'");
    let output = required_output(session, &command)?;
    Ok(PackageListing::RpmQuery {
        command,
        output: String::from_utf8_lossy(&output).into_owned(),
    })
}

/// Runs a command that must succeed and returns its trimmed output.
fn required_text(session: &Session<'_>, command: &str) -> Result<String, SshError> {
    let bytes = required_output(session, command)?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_string())
}

/// Runs a command that must succeed and returns its output.
fn required_output(session: &Session<'_>, command: &str) -> Result<Vec<u8>, SshError> {
    let output = session.run(command)?;
    if output.status != 0 {
        return Err(remote_failure(
            session,
            command,
            output.status,
            &output.stderr,
        ));
    }
    Ok(output.stdout)
}

/// Runs `cat FILE` and returns `None` when the file does not exist.
fn optional_file(session: &Session<'_>, command: &str) -> Result<Option<String>, SshError> {
    let output = session.run(command)?;
    match output.status {
        0 => Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned())),
        _ if output.stderr.contains("No such file or directory") => Ok(None),
        status => Err(remote_failure(session, command, status, &output.stderr)),
    }
}

fn remote_failure(session: &Session<'_>, command: &str, status: i32, stderr: &str) -> SshError {
    let message = stderr
        .lines()
        .map(str::trim)
        .rev()
        .find(|line| !line.is_empty())
        .unwrap_or("no message");
    SshError::Remote {
        target: session.target().to_string(),
        command: command.to_string(),
        status,
        message: message.to_string(),
    }
}
