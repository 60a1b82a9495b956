//! PEP 440 ordering against Python's `packaging` library (Debian's
//! python3-packaging for /usr/bin/python3, which `.ci/run` installs).

use std::cmp::Ordering;
use std::process::Command;

use vulnloop_version::pep440;

const VERSIONS: &[&str] = &[
    "1.0",
    "1.0.0",
    "1.0a1",
    "1.0a2",
    "1.0b1",
    "1.0rc1",
    "1.0c2",
    "1.0.post1",
    "1.0.dev1",
    "1.0a1.dev1",
    "1.0+local.1",
    "1.0+local.2",
    "1!0.1",
    "2.0",
    "2.0.1",
    "10.0",
    "1.0.post1.dev2",
    "0.9",
    "1.1rc1",
    "3.2.15",
    "4.2",
    "4.2.1",
    "1.0-1",
    "v1.0",
    "1.0_rc1",
];

#[test]
fn packaging_agrees() {
    let script = "import sys\nfrom packaging.version import Version\nvs=sys.argv[1:]\nfor a in vs:\n  for b in vs:\n    x,y=Version(a),Version(b)\n    print((x>y)-(x<y))\n";
    let output = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(VERSIONS)
        .output()
        .expect("/usr/bin/python3 not found: install python3-packaging (Debian)");
    assert!(
        output.status.success(),
        "python3 -c failed (is python3-packaging installed?): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected: Vec<i32> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.parse().expect("-1, 0 or 1"))
        .collect();
    let mut index = 0;
    for a in VERSIONS {
        for b in VERSIONS {
            let order = pep440::compare(a, b).expect("valid PEP 440 version");
            let sign = match order {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            };
            assert_eq!(sign, expected[index], "compare({a:?}, {b:?})");
            index += 1;
        }
    }
}
