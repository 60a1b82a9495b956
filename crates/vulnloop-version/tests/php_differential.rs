//! PHP's `version_compare` against the real `php` CLI.
//!
//! `php_versions/cases.txt` holds hard cases with the result PHP 8.2 gave
//! (`A B -1|0|1`); the test checks the port against the file and, with the
//! `php` binary (Debian's php-cli, which `.ci/run` installs), against PHP
//! itself on the same cases and on generated ones.

use std::cmp::Ordering;
use std::process::Command;

use vulnloop_version::php;

fn sign(order: Ordering) -> i32 {
    match order {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

fn recorded_cases() -> Vec<(String, String, i32)> {
    include_str!("php_versions/cases.txt")
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let [a, b, expected] = fields.as_slice() else {
                panic!("bad case line {line:?}")
            };
            (
                a.to_string(),
                b.to_string(),
                expected.parse().expect("expected result is -1, 0 or 1"),
            )
        })
        .collect()
}

#[test]
fn recorded_cases_match() {
    for (a, b, expected) in recorded_cases() {
        assert_eq!(
            sign(php::compare(&a, &b)),
            expected,
            "version_compare({a:?}, {b:?})"
        );
    }
}

/// Builds version strings from parts that exercise canonicalization.
fn generated_versions() -> Vec<String> {
    let parts = [
        "1", "0", "10", "2", "rc1", "RC", "beta", "b2", "a", "alpha", "dev", "pl", "p1", "x",
        "foo", "#",
    ];
    let separators = [".", "-", "_", "+", ""];
    let mut versions = Vec::new();
    let mut seed: u32 = 12345;
    let mut next = |bound: usize| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (seed >> 16) as usize % bound
    };
    for _ in 0..400 {
        let count = 1 + next(4);
        let mut version = String::new();
        for index in 0..count {
            if index > 0 {
                version.push_str(separators[next(separators.len())]);
            }
            version.push_str(parts[next(parts.len())]);
        }
        versions.push(version);
    }
    versions
}

#[test]
fn php_cli_agrees() {
    let mut pairs: Vec<(String, String)> = recorded_cases()
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect();
    let versions = generated_versions();
    pairs.extend(
        versions
            .chunks(2)
            .map(|pair| (pair[0].clone(), pair[1].clone())),
    );

    let input: String = pairs.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    let script = "while (($l = fgets(STDIN)) !== false) { [$a, $b] = explode(' ', rtrim($l, \"\\n\")); echo version_compare($a, $b), \"\\n\"; }";
    let mut child = Command::new("php")
        .args(["-r", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect(
            "php CLI not found: install php-cli (Debian) to compare with PHP's version_compare",
        );
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write to php");
    }
    let output = child.wait_with_output().expect("php runs");
    assert!(output.status.success(), "php failed: {output:?}");
    let results: Vec<i32> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.parse().expect("php prints -1, 0 or 1"))
        .collect();
    assert_eq!(results.len(), pairs.len());
    for ((a, b), expected) in pairs.iter().zip(results) {
        assert_eq!(
            sign(php::compare(a, b)),
            expected,
            "version_compare({a:?}, {b:?})"
        );
    }
}
