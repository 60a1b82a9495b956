//! Running fixed read-only commands on a host through the system's OpenSSH client.
//!
//! `ssh` brings known_hosts checking, the SSH agent, keys, ProxyJump and
//! the user's ssh_config, so vulnloop implements none of them. It runs
//! without a local shell, from an argument vector. The first command opens
//! a control master in a private directory (`ControlMaster=auto`), and the
//! later commands reuse its connection, so a host costs one SSH connection.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::target::SshTarget;

/// The OpenSSH client, found in `PATH`.
const SSH_PROGRAM: &str = "ssh";

/// Exit status with which ssh reports its own failures, as opposed to the remote command's.
const SSH_FAILURE_STATUS: i32 = 255;

/// Seconds an idle control master stays up. The scanner closes it with
/// `ssh -O exit` when it is done, so this bounds only a master left by a
/// scanner that was killed.
const CONTROL_PERSIST_SECONDS: u32 = 60;

/// Largest output kept from one remote command; a dpkg status file of a
/// host with 5,000 packages is about 10 MiB.
const MAX_OUTPUT_BYTES: u64 = 512 * 1024 * 1024;

/// Settings of the ssh client, shared by every host of a scan.
#[derive(Debug, Clone)]
pub struct SshSettings {
    /// known_hosts file (`UserKnownHostsFile`), else ssh's default.
    pub known_hosts: Option<PathBuf>,
    /// Accept and record the key of a host not yet known (`StrictHostKeyChecking=accept-new`).
    pub accept_new_host_keys: bool,
    /// Key for targets that name none.
    pub identity: Option<PathBuf>,
    /// Client configuration file (`-F`), else ssh's default.
    pub config: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub host_timeout: Duration,
}

impl SshSettings {
    /// Returns the known_hosts file for messages.
    fn known_hosts_name(&self) -> String {
        match &self.known_hosts {
            Some(path) => path.display().to_string(),
            None => "~/.ssh/known_hosts (or the UserKnownHostsFile of your ssh_config)".to_string(),
        }
    }
}

/// Errors that stop the collection of one host.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("failed to start the ssh client ({SSH_PROGRAM}); install OpenSSH's client (Debian package openssh-client)")]
    Start(#[source] std::io::Error),

    #[error(
        "the host key of {target} is not in {known_hosts}, so the host cannot be verified; \
         check the key's fingerprint with the host's administrator and add it (ssh-keyscan prints it), \
         or pass --accept-new-host-keys to trust it on first use"
    )]
    UnknownHostKey { target: String, known_hosts: String },

    #[error(
        "the host key of {target} has CHANGED since it was recorded in {known_hosts}; this can be \
         an attack or a reinstalled host. Check the new key with the host's administrator, then \
         remove the old entry (ssh-keygen -R HOST -f FILE)"
    )]
    HostKeyChanged { target: String, known_hosts: String },

    #[error("authentication to {target} failed ({detail}); check the user, the key (--identity or the targets file's key) and the SSH agent")]
    Authentication { target: String, detail: String },

    #[error(
        "the connection to {target} through its jump host {jump} failed; ssh hides the jump \
         host's own error when the connection is shared, so run `ssh -J {jump} HOST true` to see it, \
         and check the jump host's IdentityFile and UserKnownHostsFile in ssh_config"
    )]
    JumpFailed { target: String, jump: String },

    #[error("connection to {target} refused; check the host and port, and that sshd runs there")]
    ConnectionRefused { target: String },

    #[error("connection to {target} timed out after {seconds} seconds (--connect-timeout); check the host, the port and the firewall")]
    ConnectTimeout { target: String, seconds: u64 },

    #[error("host name of {target} could not be resolved; check the name")]
    UnknownHost { target: String },

    #[error("ssh to {target} failed: {message}")]
    Ssh { target: String, message: String },

    #[error("`{command}` on {target} timed out after {seconds} seconds (--command-timeout)")]
    CommandTimedOut {
        target: String,
        command: String,
        seconds: u64,
    },

    #[error("{target} took longer than {seconds} seconds (--host-timeout); the scan of this host stopped at `{command}`")]
    HostTimedOut {
        target: String,
        command: String,
        seconds: u64,
    },

    #[error("`{command}` failed on {target} with exit status {status}: {message}")]
    Remote {
        target: String,
        command: String,
        status: i32,
        message: String,
    },

    #[error("the output of `{command}` on {target} is larger than {MAX_OUTPUT_BYTES} bytes")]
    OutputTooLarge { target: String, command: String },
}

/// Output of a remote command that ran.
#[derive(Debug)]
pub struct RemoteOutput {
    /// The remote command's exit status.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// The SSH connection to one host, and the private directory of its control socket.
pub struct Session<'a> {
    target: &'a SshTarget,
    settings: &'a SshSettings,
    control_dir: tempfile::TempDir,
    deadline: Instant,
}

impl<'a> Session<'a> {
    /// Prepares a session; the connection opens with the first command.
    pub fn new(target: &'a SshTarget, settings: &'a SshSettings) -> std::io::Result<Self> {
        // A Unix socket path is limited to 108 bytes, so the directory is
        // created in /tmp rather than in a possibly long TMPDIR.
        let control_dir = tempfile::Builder::new()
            .prefix("vulnloop-ssh-")
            .tempdir_in("/tmp")?;
        Ok(Self {
            target,
            settings,
            control_dir,
            deadline: Instant::now() + settings.host_timeout,
        })
    }

    /// Runs `command`, a fixed string of the scanner, on the host.
    ///
    /// Returns the output of the remote command whatever its exit status.
    /// Fails when ssh itself fails (exit status 255), with the cause read
    /// from ssh's messages, or when the command or the host time limit expires.
    pub fn run(&self, command: &str) -> Result<RemoteOutput, SshError> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let limit = remaining.min(self.settings.command_timeout);
        let host_limited = remaining <= self.settings.command_timeout;

        let mut ssh = Command::new(SSH_PROGRAM);
        ssh.args(self.arguments())
            .arg("--")
            .arg(&self.target.host)
            .arg(command);
        ssh.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        tracing::debug!(target = %self.target, command, "running a remote command");
        let child = ssh.spawn().map_err(SshError::Start)?;

        let Some(finished) = wait_with_limit(child, limit).map_err(SshError::Start)? else {
            let target = self.target.to_string();
            let command = command.to_string();
            return Err(if host_limited {
                SshError::HostTimedOut {
                    target,
                    command,
                    seconds: self.settings.host_timeout.as_secs(),
                }
            } else {
                SshError::CommandTimedOut {
                    target,
                    command,
                    seconds: self.settings.command_timeout.as_secs(),
                }
            });
        };
        if finished.truncated {
            return Err(SshError::OutputTooLarge {
                target: self.target.to_string(),
                command: command.to_string(),
            });
        }
        if finished.status == SSH_FAILURE_STATUS {
            return Err(classify(&finished.stderr, self.target, self.settings));
        }
        Ok(RemoteOutput {
            status: finished.status,
            stdout: finished.stdout,
            stderr: finished.stderr,
        })
    }

    /// Returns the host this session reads.
    pub fn target(&self) -> &SshTarget {
        self.target
    }

    /// Asks the control master to exit. A master that never started is no error.
    pub fn close(self) {
        let mut ssh = Command::new(SSH_PROGRAM);
        ssh.args(self.arguments())
            .args(["-O", "exit", "--"])
            .arg(&self.target.host);
        ssh.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Err(error) = ssh.status() {
            tracing::warn!(target = %self.target, %error, "failed to stop the ssh control master; it exits by itself after {CONTROL_PERSIST_SECONDS} idle seconds");
        }
    }

    /// Returns the ssh options for this target, before `--` and the host.
    fn arguments(&self) -> Vec<OsString> {
        let settings = self.settings;
        let mut args: Vec<OsString> = Vec::new();
        let mut option = |text: String| {
            args.push("-o".into());
            args.push(text.into());
        };
        let checking = if settings.accept_new_host_keys {
            "accept-new"
        } else {
            "yes"
        };
        option("BatchMode=yes".into());
        option(format!("StrictHostKeyChecking={checking}"));
        option(format!(
            "ConnectTimeout={}",
            settings.connect_timeout.as_secs()
        ));
        option("ControlMaster=auto".into());
        option(format!(
            "ControlPath={}",
            self.control_dir.path().join("master").display()
        ));
        option(format!("ControlPersist={CONTROL_PERSIST_SECONDS}"));
        option("ClearAllForwardings=yes".into());
        option("ForwardAgent=no".into());
        option("ForwardX11=no".into());
        option("RequestTTY=no".into());
        if let Some(file) = &settings.known_hosts {
            option(format!("UserKnownHostsFile={}", file.display()));
        }
        let key = self.target.key.as_ref().or(settings.identity.as_ref());
        if key.is_some() {
            // With a named key, ssh offers only that key (from the file or the agent).
            option("IdentitiesOnly=yes".into());
        }

        if let Some(config) = &settings.config {
            args.extend(["-F".into(), config.clone().into_os_string()]);
        }
        if let Some(key) = key {
            args.extend(["-i".into(), key.clone().into_os_string()]);
        }
        if let Some(port) = self.target.port {
            args.extend(["-p".into(), port.to_string().into()]);
        }
        if let Some(user) = &self.target.user {
            args.extend(["-l".into(), user.into()]);
        }
        if let Some(jump) = &self.target.jump {
            args.extend(["-J".into(), jump.into()]);
        }
        args
    }
}

/// Turns ssh's messages (exit status 255) into an error with the next step for the user.
///
/// The texts matched are those that OpenSSH 9.2p1 prints. The SSH tests
/// check the host key, authentication, refused and jump cases against it.
fn classify(stderr: &str, target: &SshTarget, settings: &SshSettings) -> SshError {
    let target_name = target.to_string();
    let known_hosts = settings.known_hosts_name();

    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        // ssh names the entry that no longer matches: "Offending ED25519 key in FILE:LINE".
        let offending = stderr
            .lines()
            .find_map(|line| {
                line.trim()
                    .split_once(" key in ")
                    .filter(|(head, _)| head.starts_with("Offending"))
            })
            .map(|(_, place)| place.trim().to_string());
        return SshError::HostKeyChanged {
            target: target_name,
            known_hosts: offending.unwrap_or(known_hosts),
        };
    }

    if stderr.contains("host key is known for") || stderr.contains("Host key verification failed") {
        return SshError::UnknownHostKey {
            target: target_name,
            known_hosts,
        };
    }
    if let Some(line) = stderr
        .lines()
        .find(|line| line.contains("Permission denied"))
    {
        return SshError::Authentication {
            target: target_name,
            detail: line.trim().to_string(),
        };
    }

    // With ControlPersist, ssh sends the jump connection's messages to
    // /dev/null, so a failed jump shows only as a proxy connection that
    // closed ("UNKNOWN port 65535").
    if let Some(jump) = &target.jump {
        if stderr.contains("UNKNOWN port 65535") || stderr.contains("kex_exchange_identification") {
            return SshError::JumpFailed {
                target: target_name,
                jump: jump.clone(),
            };
        }
    }

    if stderr.contains("Connection refused") {
        return SshError::ConnectionRefused {
            target: target_name,
        };
    }
    if stderr.contains("timed out") {
        return SshError::ConnectTimeout {
            target: target_name,
            seconds: settings.connect_timeout.as_secs(),
        };
    }
    if stderr.contains("Could not resolve hostname") || stderr.contains("Name or service not known")
    {
        return SshError::UnknownHost {
            target: target_name,
        };
    }

    let message = stderr
        .lines()
        .map(str::trim)
        .rev()
        .find(|line| !line.is_empty())
        .unwrap_or("no message");
    SshError::Ssh {
        target: target_name,
        message: message.to_string(),
    }
}

/// Output of a finished ssh client.
struct Finished {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
    /// Whether stdout exceeded [`MAX_OUTPUT_BYTES`].
    truncated: bool,
}

/// Waits for `child` at most `limit`, reading its output on two threads.
///
/// Returns `None` when the limit expired, after killing the child's process
/// group with SIGKILL. The group id is the pid of a child not yet reaped,
/// so it cannot name an unrelated process. A control master that ssh
/// forked into the background has left the group with `setsid` and lives on
/// until [`Session::close`].
fn wait_with_limit(mut child: Child, limit: Duration) -> std::io::Result<Option<Finished>> {
    let stdout = child
        .stdout
        .take()
        .map(|stream| read_all(stream, MAX_OUTPUT_BYTES));
    let stderr = child
        .stderr
        .take()
        .map(|stream| read_all(stream, 1024 * 1024));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            if let Ok(pid) = i32::try_from(child.id()) {
                if let Err(error) = killpg(Pid::from_raw(pid), Signal::SIGKILL) {
                    tracing::warn!(pid, %error, "failed to kill the timed-out ssh client");
                }
            }
            child.wait()?;
            // The reader threads are left to finish on their own: a client of
            // a control master hands its stdout and stderr to the master,
            // which keeps them open until the remote command ends or the
            // master exits in `Session::close`.
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (stdout, truncated) = join(stdout);
    let (stderr, _) = join(stderr);
    Ok(Some(Finished {
        status: status.code().unwrap_or(SSH_FAILURE_STATUS),
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        truncated,
    }))
}

/// Reads a stream to its end on a thread and keeps at most `max` bytes.
/// The flag is set when the stream was longer.
fn read_all(stream: impl Read + Send + 'static, max: u64) -> JoinHandle<(Vec<u8>, bool)> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut limited = stream.take(max + 1);
        let _ = limited.read_to_end(&mut bytes);
        let truncated = bytes.len() as u64 > max;
        if truncated {
            // Drain the rest so that the client is not blocked on a full pipe.
            let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
        }
        (bytes, truncated)
    })
}

fn join(handle: Option<JoinHandle<(Vec<u8>, bool)>>) -> (Vec<u8>, bool) {
    handle
        .and_then(|handle| handle.join().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn settings() -> SshSettings {
        SshSettings {
            known_hosts: Some(PathBuf::from("/tmp/known_hosts")),
            accept_new_host_keys: false,
            identity: None,
            config: None,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(120),
            host_timeout: Duration::from_secs(600),
        }
    }

    fn target() -> SshTarget {
        super::super::target::parse_url("ssh://root@127.0.0.1:2222").unwrap()
    }

    #[test]
    fn changed_key_names_offending_line() {
        let stderr = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                      @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                      Offending ED25519 key in /tmp/known_hosts:3\n\
                      Host key verification failed.\n";
        let error = classify(stderr, &target(), &settings());
        let message = error.to_string();
        assert!(
            matches!(error, SshError::HostKeyChanged { .. }),
            "{message}"
        );
        assert!(message.contains("/tmp/known_hosts:3"), "{message}");
        assert!(message.contains("ssh://root@127.0.0.1:2222"), "{message}");
    }

    #[test]
    fn unknown_key_suggests_flag() {
        let stderr = "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\n\
                      Host key verification failed.\n";
        let message = classify(stderr, &target(), &settings()).to_string();
        assert!(message.contains("--accept-new-host-keys"), "{message}");
        assert!(message.contains("/tmp/known_hosts"), "{message}");
    }

    #[test]
    fn other_failures_classified() {
        let cases = [
            (
                "root@127.0.0.1: Permission denied (publickey).",
                "authentication",
            ),
            (
                "ssh: connect to host 127.0.0.1 port 2222: Connection refused",
                "refused",
            ),
            (
                "ssh: connect to host 10.0.0.1 port 22: Connection timed out",
                "timed out after 10 seconds",
            ),
            (
                "ssh: Could not resolve hostname nowhere: Name or service not known",
                "could not be resolved",
            ),
            (
                "kex_exchange_identification: read: Connection reset by peer",
                "Connection reset by peer",
            ),
        ];
        for (stderr, expected) in cases {
            let message = classify(stderr, &target(), &settings()).to_string();
            assert!(message.contains(expected), "{stderr}: {message}");
        }
    }
}
