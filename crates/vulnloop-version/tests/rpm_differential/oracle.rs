//! librpm's own comparison, through `rpm.labelCompare` of python3-rpm.

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

use vulnloop_version::RpmVersion;

/// The Debian interpreter, which has the `rpm` module from python3-rpm.
/// A `python3` earlier on `PATH` (pyenv, a virtualenv) usually does not.
const PYTHON: &str = "/usr/bin/python3";

/// Reads one JSON line per pair: the two texts and their `[epoch, version,
/// release]` triples. Prints `rpm.labelCompare` of the triples and the
/// comparison of `rpm.ver` objects, which librpm parses from the texts.
const SCRIPT: &str = r#"
import json, sys, rpm
out = []
for line in sys.stdin:
    text_a, text_b, a, b = json.loads(line)
    ver_a, ver_b = rpm.ver(text_a), rpm.ver(text_b)
    by_ver = (ver_a > ver_b) - (ver_a < ver_b)
    out.append("%d %d" % (rpm.labelCompare(tuple(a), tuple(b)), by_ver))
print("\n".join(out))
"#;

/// Returns librpm's version, to print beside the test results.
pub fn librpm_version() -> String {
    let output = Command::new(PYTHON)
        .args(["-c", "import rpm; print(rpm.__version__)"])
        .output()
        .unwrap_or_else(|error| panic!("failed to run {PYTHON}: {error}"));
    assert!(
        output.status.success(),
        "{PYTHON} cannot import rpm; install python3-rpm: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn triple(version: &RpmVersion) -> serde_json::Value {
    let epoch = version.has_epoch().then(|| version.epoch().to_string());
    serde_json::json!([epoch, version.version(), version.release()])
}

/// librpm's verdicts on one pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// `rpm.labelCompare` on the epoch, version and release parsed by vulnloop.
    pub label_compare: Ordering,
    /// `rpm.ver` comparison, on the texts parsed by librpm.
    pub ver: Ordering,
}

fn ordering(number: &str) -> Ordering {
    match number {
        "-1" => Ordering::Less,
        "0" => Ordering::Equal,
        "1" => Ordering::Greater,
        other => panic!("unexpected comparison result {other:?} from python3-rpm"),
    }
}

/// Returns librpm's verdicts on each pair, from one python3 process.
pub fn librpm_verdicts(pairs: &[(RpmVersion, RpmVersion)]) -> Vec<Verdict> {
    let mut input = String::new();
    for (a, b) in pairs {
        let line = serde_json::json!([a.to_string(), b.to_string(), triple(a), triple(b)]);
        input.push_str(&line.to_string());
        input.push('\n');
    }

    let mut child = Command::new(PYTHON)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("failed to run {PYTHON}: {error}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Write from another thread so that a full stdout pipe cannot block both sides.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("python3 output");
    writer
        .join()
        .expect("writer thread")
        .expect("write pairs to python3");
    assert!(
        output.status.success(),
        "python3 rpm.labelCompare failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let verdicts: Vec<Verdict> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let (label_compare, ver) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("unexpected python3-rpm output line {line:?}"));
            Verdict {
                label_compare: ordering(label_compare),
                ver: ordering(ver),
            }
        })
        .collect();
    assert_eq!(
        verdicts.len(),
        pairs.len(),
        "librpm verdicts for {} pairs",
        pairs.len()
    );
    verdicts
}
