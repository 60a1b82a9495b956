//! Parses arbitrary bytes as a dpkg status file, both as the main database
//! and as a distroless `status.d` file. Parsing must never panic, every
//! listed package must carry a version that dpkg accepts, and every origin
//! and problem must name the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vulnloop_collect::{parse_status, StatusFile, STATUS_PATH};
use vulnloop_version::DpkgVersion;

fuzz_target!(|bytes: &[u8]| {
    for kind in [StatusFile::Database, StatusFile::Distroless] {
        let parsed = parse_status(bytes, STATUS_PATH, kind);
        for package in &parsed.packages {
            assert!(
                package.version.parse::<DpkgVersion>().is_ok(),
                "invalid version kept: {package:?}"
            );
            assert!(
                package.origin.starts_with(STATUS_PATH),
                "origin without file: {package:?}"
            );
        }
        for problem in &parsed.problems {
            assert!(
                problem.location.starts_with(STATUS_PATH),
                "problem without file: {problem:?}"
            );
        }
    }
});
