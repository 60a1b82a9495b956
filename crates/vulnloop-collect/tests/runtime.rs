//! Runtime exposure on the live host: a Python process listening on loopback
//! must appear with its listener and the packages of the files it maps.
//!
//! This test needs a Debian-family host with `/usr/bin/python3`, `dpkg` and
//! `/proc`, and fails when any is missing. It does not need root, because
//! the child runs as the test's own user.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use vulnloop_collect::{collect, CollectOptions};

const PYTHON: &str = "/usr/bin/python3";

/// Listens on a TCP port and binds a UDP port on 127.0.0.1, prints both
/// port numbers on one line, and sleeps until killed.
const LISTENER_SCRIPT: &str = "import socket, time\n\
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n\
tcp.bind(('127.0.0.1', 0))\n\
tcp.listen(1)\n\
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
udp.bind(('127.0.0.1', 0))\n\
print(tcp.getsockname()[1], udp.getsockname()[1], flush=True)\n\
time.sleep(600)\n";

/// A child process that is killed, by its pid, when the guard is dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Returns the packages that own `path`, as `dpkg -S` reports them, or
/// `None` when no package in the dpkg database lists that path.
fn dpkg_owners(path: &str) -> Option<Vec<String>> {
    let output = Command::new("dpkg")
        .arg("-S")
        .arg(path)
        .output()
        .expect("failed to run dpkg -S; is dpkg installed?");
    if !output.status.success() {
        return None;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // `python3.11-minimal: /usr/bin/python3.11`, or `libc6:amd64: …` for Multi-Arch: same packages.
    let (packages, _) = stdout
        .trim()
        .rsplit_once(": ")
        .expect("dpkg -S prints PACKAGE: PATH");
    let names = packages
        .split(", ")
        .map(|package| package.split(':').next().unwrap_or(package).to_string());
    Some(names.collect())
}

/// Returns the files a process maps, read from `/proc/PID/maps` apart from the collector.
fn mapped_files(pid: u32) -> BTreeSet<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.starts_with('/'))
        .map(str::to_string)
        .collect()
}

#[test]
fn listening_python_process_exposed() {
    assert!(
        PathBuf::from("/proc/self/maps").is_file(),
        "/proc is not mounted"
    );
    assert!(
        PathBuf::from(PYTHON).exists(),
        "{PYTHON} is missing; install python3"
    );

    let child = Command::new(PYTHON)
        .arg("-c")
        .arg(LISTENER_SCRIPT)
        .stdout(Stdio::piped())
        .spawn()
        .expect("failed to start python3");
    let mut child = KillOnDrop(child);
    let pid = child.0.id();
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ports: Vec<u16> = line
        .split_whitespace()
        .filter_map(|port| port.parse().ok())
        .collect();
    let [tcp_port, udp_port] = ports[..] else {
        panic!("python printed {line:?}, not two port numbers");
    };

    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let python_packages =
        dpkg_owners(exe.to_str().unwrap()).expect("dpkg -S finds the python executable");
    // On merged-/usr Debian, packages built before the merge list `/lib/…`
    // where the kernel reports `/usr/lib/…`, and `dpkg -S` finds only the former.
    let mut expected = BTreeSet::new();
    let mut found_under_alias = 0;
    for path in mapped_files(pid) {
        let owners = match dpkg_owners(&path) {
            Some(owners) => owners,
            None => match path.strip_prefix("/usr").and_then(dpkg_owners) {
                Some(owners) => {
                    found_under_alias += 1;
                    owners
                }
                None => continue,
            },
        };
        expected.extend(owners);
    }
    assert!(
        found_under_alias > 0,
        "no mapped file is listed under its pre-merge path, so the alias is not tested"
    );

    let options = CollectOptions {
        root: PathBuf::from("/"),
        os_override: None,
    };
    let inventory = collect(&options).unwrap();

    let runtime = inventory.runtime.expect("the live host has a runtime");
    let process = runtime
        .processes
        .iter()
        .find(|process| process.pid == pid)
        .unwrap_or_else(|| {
            panic!(
                "python3 child {pid} not among {} processes",
                runtime.processes.len()
            )
        });
    assert!(
        process.command.starts_with("python3"),
        "{}",
        process.command
    );
    let listeners: Vec<String> = process.listening.iter().map(ToString::to_string).collect();
    assert_eq!(
        listeners,
        [
            format!("tcp 127.0.0.1:{tcp_port}"),
            format!("udp 127.0.0.1:{udp_port}")
        ]
    );
    for package in &python_packages {
        assert!(
            process.packages.contains(package),
            "{package} not in {:?}",
            process.packages
        );
    }
    assert!(
        process.packages.iter().any(|name| name == "libc6"),
        "libc6 not in {:?}",
        process.packages
    );
    assert!(
        process.packages.windows(2).all(|pair| pair[0] < pair[1]),
        "not sorted and unique: {:?}",
        process.packages
    );
    assert_eq!(process.packages, expected.into_iter().collect::<Vec<_>>());
}

#[test]
fn root_directory_has_no_runtime() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
    std::fs::write(
        dir.path().join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("var/lib/dpkg/status"),
        "Package: dpkg\nStatus: install ok installed\nVersion: 1.21.22\nArchitecture: amd64\n\n",
    )
    .unwrap();

    let options = CollectOptions {
        root: dir.path().to_path_buf(),
        os_override: None,
    };
    let inventory = collect(&options).unwrap();

    assert_eq!(inventory.packages.len(), 1);
    assert_eq!(inventory.runtime, None);
}
