//! Running one upgrade command: without a shell, with a time limit, and
//! keeping the tails of its output for the journal.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::{geteuid, Pid};

/// Number of output lines kept per stream for the journal and error messages.
const TAIL_LINES: usize = 40;

/// Exit status and output tails of a finished command.
#[derive(Debug)]
pub struct Finished {
    /// Exit status; `None` when a signal ended the command.
    pub exit_code: Option<i32>,
    /// Signal that ended the command, when one did.
    pub signal: Option<i32>,
    /// Whether the time limit expired and the command was killed.
    pub timed_out: bool,
    pub stdout_tail: String,
    pub stderr_tail: String,
}

/// Runs `argv` (program first) and waits at most `timeout` for it.
///
/// The command gets an empty stdin, so it can never wait for input, and
/// runs in a process group of its own. On expiry the whole group is killed
/// with SIGKILL, by the group id that equals the child's pid, because
/// apt-get leaves dpkg and maintainer scripts running when only apt-get dies.
pub fn run(
    argv: &[String],
    environment: &[(&str, &str)],
    timeout: Duration,
) -> anyhow::Result<Finished> {
    let (program, arguments) = argv.split_first().context("the command is empty")?;
    let mut command = Command::new(program);
    command
        .args(arguments)
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to start {program}"))?;
    let stdout = child.stdout.take().map(read_tail);
    let stderr = child.stderr.take().map(read_tail);

    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("failed to wait for {program}"))?
        {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            kill_group(child.id());
            break child
                .wait()
                .with_context(|| format!("failed to wait for {program} after killing it"))?;
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    Ok(Finished {
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout_tail: join_tail(stdout),
        stderr_tail: join_tail(stderr),
    })
}

/// Sends SIGKILL to the process group led by `pid`.
///
/// The group id is the pid of a child that this process started and has
/// not yet reaped, so the id cannot belong to an unrelated process.
fn kill_group(pid: u32) {
    let Ok(raw) = i32::try_from(pid) else {
        return;
    };
    if let Err(error) = killpg(Pid::from_raw(raw), Signal::SIGKILL) {
        tracing::warn!(pid, %error, "failed to kill the timed-out command's process group");
    }
}

/// Reads a stream to its end on a thread, keeping its last [`TAIL_LINES`] lines.
fn read_tail(stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut tail = VecDeque::with_capacity(TAIL_LINES);
        let mut reader = BufReader::new(stream);
        let mut buffer = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buffer), Ok(read) if read > 0) {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(String::from_utf8_lossy(&buffer).trim_end().to_string());
            buffer.clear();
        }
        tail.into_iter().map(|line| line + "\n").collect()
    })
}

fn join_tail(reader: Option<JoinHandle<String>>) -> String {
    reader
        .and_then(|handle| handle.join().ok())
        .unwrap_or_default()
}

/// Returns the pid of the process that holds a write lock on `path`, or
/// `None` when the file is missing or unlocked.
///
/// apt and dpkg lock `/var/lib/dpkg/lock-frontend` and `/var/lib/dpkg/lock`
/// with `fcntl` record locks. `F_GETLK` returns the holder of a
/// conflicting lock without taking the lock. The pid is as seen from this process: a lock held
/// inside a chroot shows the holder's host pid.
pub fn lock_holder(path: &Path) -> anyhow::Result<Option<u32>> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error)
                .with_context(|| format!("failed to open the lock file {}", path.display()))
        }
    };
    let mut query = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    fcntl(file.as_fd(), FcntlArg::F_GETLK(&mut query))
        .with_context(|| format!("failed to query the lock on {}", path.display()))?;
    if query.l_type == libc::F_UNLCK as libc::c_short {
        return Ok(None);
    }
    Ok(Some(u32::try_from(query.l_pid).unwrap_or(0)))
}

/// Returns whether this process runs with effective user id 0.
pub fn is_root() -> bool {
    geteuid().is_root()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn run_keeps_exit_code_and_tails() {
        let script = "for i in $(seq 1 100); do echo out$i; done; echo err >&2; exit 3";
        let finished = run(&argv(&["sh", "-c", script]), &[], Duration::from_secs(30)).unwrap();
        assert_eq!(finished.exit_code, Some(3));
        assert!(!finished.timed_out);
        assert_eq!(finished.stdout_tail.lines().count(), TAIL_LINES);
        assert!(
            finished.stdout_tail.ends_with("out100\n"),
            "{}",
            finished.stdout_tail
        );
        assert_eq!(finished.stderr_tail, "err\n");
    }

    #[test]
    fn run_kills_on_timeout() {
        let started = Instant::now();
        let finished = run(&argv(&["sleep", "30"]), &[], Duration::from_millis(300)).unwrap();
        assert!(finished.timed_out);
        assert_eq!(finished.exit_code, None);
        assert_eq!(finished.signal, Some(libc::SIGKILL));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn run_missing_program_fails() {
        let error = run(
            &argv(&["/nonexistent/vulnloop-test-program"]),
            &[],
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(error.to_string().contains("failed to start"), "{error}");
    }

    #[test]
    fn lock_holder_of_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            lock_holder(&dir.path().join("lock-frontend")).unwrap(),
            None
        );
        std::fs::write(dir.path().join("lock"), "").unwrap();
        assert_eq!(
            lock_holder(&dir.path().join("lock")).unwrap(),
            None,
            "an unlocked file"
        );
    }
}
