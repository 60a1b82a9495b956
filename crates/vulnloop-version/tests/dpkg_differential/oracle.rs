//! Verdicts of the real `dpkg --compare-versions`.
//!
//! dpkg compares one pair per process, so each verdict costs one or two dpkg
//! runs (about 2 ms each with dpkg 1.21 on the 2-core development machine).
//! One `sh` per worker reads pairs from its standard input and runs dpkg for
//! each, so the test starts only `WORKERS` processes itself and the workers
//! run side by side.

use std::cmp::Ordering;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;

use super::pairs::Pair;

const DPKG: &str = "/usr/bin/dpkg";

/// Shell processes run at once; each takes one share of the pairs.
const WORKERS: usize = 2;

/// Prints `lt`, `eq`, `gt` or `error STATUS` for each `a b` line of input.
/// The `--` lets a version start with `-`; exit status 1 means "false".
const SCRIPT: &str = r#"
verdict() {
  "$DPKG" --compare-versions -- "$1" lt "$2"
  status=$?
  if [ "$status" -eq 0 ]; then echo lt; return; fi
  if [ "$status" -ne 1 ]; then echo "error $status"; return; fi
  "$DPKG" --compare-versions -- "$1" eq "$2"
  status=$?
  if [ "$status" -eq 0 ]; then echo eq; return; fi
  if [ "$status" -ne 1 ]; then echo "error $status"; return; fi
  echo gt
}
while read -r a b; do verdict "$a" "$b"; done
"#;

/// What dpkg printed about one version: the reason of its "has bad syntax"
/// message, or `None` when it printed nothing.
pub struct DpkgCheck {
    pub reason: Option<String>,
    pub stderr: String,
}

/// Returns dpkg's ordering of each pair, in order.
///
/// Panics with the pair and dpkg's output when dpkg is missing, fails, or
/// prints anything on standard error.
pub fn dpkg_verdicts(pairs: &[Pair]) -> Vec<Ordering> {
    assert_dpkg_present();
    let share = pairs.len().div_ceil(WORKERS).max(1);
    let outputs: Vec<(&[Pair], Output)> = thread::scope(|scope| {
        let handles: Vec<_> = pairs
            .chunks(share)
            .map(|chunk| scope.spawn(move || (chunk, run_script(chunk))))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("dpkg worker thread"))
            .collect()
    });
    outputs
        .iter()
        .flat_map(|(chunk, output)| read_verdicts(chunk, output))
        .collect()
}

fn assert_dpkg_present() {
    assert!(
        Path::new(DPKG).is_file(),
        "{DPKG} not found: the differential tests need Debian's dpkg (apt-get install dpkg)"
    );
}

fn run_script(pairs: &[Pair]) -> Output {
    let mut input = String::new();
    for pair in pairs {
        input.push_str(&format!("{} {}\n", pair.a, pair.b));
    }
    let mut child = Command::new("sh")
        .args(["-c", SCRIPT])
        .env("DPKG", DPKG)
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to start sh for the dpkg script");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Write from another thread so that a full stdout pipe cannot block us.
    let writer = thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .expect("failed to wait for the dpkg script");
    writer
        .join()
        .expect("stdin writer thread")
        .expect("failed to write pairs to the dpkg script");
    output
}

fn read_verdicts(pairs: &[Pair], output: &Output) -> Vec<Ordering> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "dpkg script failed ({}): {stderr}",
        output.status
    );
    assert!(
        stderr.is_empty(),
        "dpkg printed on standard error: {stderr}"
    );

    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        pairs.len(),
        "dpkg script printed one line per pair"
    );
    pairs
        .iter()
        .zip(lines)
        .map(|(pair, line)| match line {
            "lt" => Ordering::Less,
            "eq" => Ordering::Equal,
            "gt" => Ordering::Greater,
            other => panic!("dpkg --compare-versions {} ? {}: {other}", pair.a, pair.b),
        })
        .collect()
}

/// Runs `dpkg --compare-versions -- VERSION eq 0` and reads the reason of its
/// error or warning.
pub fn dpkg_check(version: &str) -> DpkgCheck {
    let output = run_dpkg(&["--compare-versions", "--", version, "eq", "0"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    // The version itself may hold a newline, so take the last message's reason.
    let reason = stderr
        .rsplit_once("has bad syntax: ")
        .map(|(_, reason)| reason.trim_end().to_string());
    DpkgCheck { reason, stderr }
}

/// Returns dpkg's ordering of `a` and `b`, with any standard error output.
pub fn dpkg_compare(a: &str, b: &str) -> (Option<Ordering>, String) {
    let mut stderr = String::new();
    for (operator, ordering) in [
        ("lt", Ordering::Less),
        ("eq", Ordering::Equal),
        ("gt", Ordering::Greater),
    ] {
        let output = run_dpkg(&["--compare-versions", "--", a, operator, b]);
        stderr.push_str(&String::from_utf8_lossy(&output.stderr));
        if output.status.success() {
            return (Some(ordering), stderr);
        }
    }
    (None, stderr)
}

fn run_dpkg(args: &[&str]) -> Output {
    assert_dpkg_present();
    Command::new(DPKG)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|error| panic!("failed to run {DPKG}: {error}"))
}
