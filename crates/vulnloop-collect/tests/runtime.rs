//! Runtime exposure on the live host: a Python process listening on loopback
//! must appear with its listener and the packages of the files it maps.
//!
//! This test needs a Debian-family host with `/usr/bin/python3`, `dpkg` and
//! `/proc`, and root to read every process. It fails when any is missing.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use vulnloop_collect::{collect, CollectOptions};

const PYTHON: &str = "/usr/bin/python3";

/// Binds a TCP socket on 127.0.0.1, prints its port, and listens until killed.
const LISTENER_SCRIPT: &str = "import socket, sys, time\n\
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n\
s.bind(('127.0.0.1', 0))\n\
s.listen(1)\n\
print(s.getsockname()[1], flush=True)\n\
time.sleep(600)\n";

/// A child process that is killed, by its pid, when the guard is dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Returns the package that owns `path`, as `dpkg -S` reports it.
fn dpkg_owner(path: &str) -> String {
    let output = Command::new("dpkg").arg("-S").arg(path).output().expect("failed to run dpkg -S; is dpkg installed?");
    assert!(output.status.success(), "dpkg -S {path} failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    // `python3.11-minimal: /usr/bin/python3.11`, or `libc6:amd64: …` for Multi-Arch: same packages.
    let (packages, _) = stdout.trim().rsplit_once(": ").expect("dpkg -S prints PACKAGE: PATH");
    let first = packages.split(", ").next().unwrap_or(packages);
    first.split(':').next().unwrap_or(first).to_string()
}

#[test]
fn listening_python_process_exposed() {
    assert!(PathBuf::from("/proc/self/maps").is_file(), "/proc is not mounted");
    assert!(PathBuf::from(PYTHON).exists(), "{PYTHON} is missing; install python3");

    let child = Command::new(PYTHON)
        .arg("-c")
        .arg(LISTENER_SCRIPT)
        .stdout(Stdio::piped())
        .spawn()
        .expect("failed to start python3");
    let mut child = KillOnDrop(child);
    let pid = child.0.id();
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("python printed {line:?}, not a port"));

    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let python_package = dpkg_owner(exe.to_str().unwrap());

    let options = CollectOptions { root: PathBuf::from("/"), os_override: None };
    let inventory = collect(&options).unwrap();

    let runtime = inventory.runtime.expect("the live host has a runtime");
    let process = runtime
        .processes
        .iter()
        .find(|process| process.pid == pid)
        .unwrap_or_else(|| panic!("python3 child {pid} not among {} processes", runtime.processes.len()));
    assert!(process.command.starts_with("python3"), "{}", process.command);
    let listeners: Vec<String> = process.listening.iter().map(ToString::to_string).collect();
    assert_eq!(listeners, [format!("tcp 127.0.0.1:{port}")]);
    assert!(process.packages.contains(&python_package), "{python_package} not in {:?}", process.packages);
    assert!(process.packages.iter().any(|name| name == "libc6"), "libc6 not in {:?}", process.packages);
    assert!(process.packages.windows(2).all(|pair| pair[0] < pair[1]), "not sorted and unique: {:?}", process.packages);
}

#[test]
fn root_directory_has_no_runtime() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
    std::fs::write(dir.path().join("etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\n").unwrap();
    std::fs::write(
        dir.path().join("var/lib/dpkg/status"),
        "Package: dpkg\nStatus: install ok installed\nVersion: 1.21.22\nArchitecture: amd64\n\n",
    )
    .unwrap();

    let options = CollectOptions { root: dir.path().to_path_buf(), os_override: None };
    let inventory = collect(&options).unwrap();

    assert_eq!(inventory.packages.len(), 1);
    assert_eq!(inventory.runtime, None);
}
