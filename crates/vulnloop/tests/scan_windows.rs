//! Acceptance tests of Windows hosts: `db update` with the MSRC and wesng
//! feeds, then `scan`, `fix` and `verify` on real systeminfo output.

mod common;

use common::{build_db, code, feed_dir, stderr, stdout, vulnloop};

const FEEDS: &[&str] = &[
    "feeds/windows-msrc-cvrf/msrc-cvrf-snapshot-20260706T222806Z.tar",
    "feeds/windows-wesng/wesng-definitions.zip",
];
const SAMPLES: &str = "inventories/windows/wesng-validation-systeminfo-qfe.tar.zst";

#[test]
fn windows_scan_fix_and_verify() {
    let feeds = feed_dir(FEEDS);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let db = db.to_str().unwrap();
    let samples = vulnloop_testdata::unpack(SAMPLES);
    let server = samples
        .path()
        .join("srv_2019_rtm_datacenter_en-us_systeminfo.txt");
    let server = server.to_str().unwrap();

    // The table names the host, a CVE, its KB and its severity.
    let output = vulnloop(&["scan", "--inventory", server, "--db", db]);
    assert_eq!(
        code(&output),
        1,
        "findings give exit code 1: {}",
        stderr(&output)
    );
    let table = stdout(&output);
    assert!(
        table.contains("Microsoft Windows Server 2019 Datacenter"),
        "{table}"
    );
    assert!(table.contains("CVE-2019-0630"), "{table}");
    assert!(table.contains("KB4487044"), "{table}");
    assert!(table.contains("critical"), "{table}");
    assert!(
        table.contains("does not state the build revision"),
        "{table}"
    );

    // The JSON report gives each finding's update and evidence.
    let output = vulnloop(&[
        "scan",
        "--inventory",
        server,
        "--db",
        db,
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let findings: Vec<&serde_json::Value> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["findings"].as_array().unwrap())
        .collect();
    let smb = findings
        .iter()
        .find(|f| f["id"] == "CVE-2019-0630")
        .expect("CVE-2019-0630 reported");
    assert_eq!(smb["advisory_id"], "KB4487044");
    assert_eq!(smb["source"], "msrc-cvrf");
    assert_eq!(smb["manager"], "windows");
    assert_eq!(smb["status"]["status"], "fix_available");
    assert_eq!(smb["windows_update"]["cumulative"], true);
    assert!(
        findings.iter().all(|f| f["id"] != "CVE-2018-8477"),
        "fixed by December 2018's update, which KB4480116 supersedes"
    );

    // The plan installs the newest cumulative update and restarts.
    let output = vulnloop(&["fix", "--inventory", server, "--db", db, "--format", "json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let managers = plan["plan"]["managers"]
        .as_array()
        .or_else(|| plan["managers"].as_array())
        .expect("managers in the plan");
    let wusa = managers
        .iter()
        .find(|m| m["tool"] == "wusa")
        .expect("a wusa.exe step");
    let first = &wusa["steps"][0];
    assert_eq!(first["command"][0], "wusa.exe");
    assert_eq!(first["command"][2], "/quiet");
    assert_eq!(first["reboot_needed"], true);
    assert!(first["closes"].as_array().unwrap().len() > 1000);

    // The collector's output of January 2024 closes most findings of the 2019 sample.
    let after = vulnloop_testdata::workspace_root()
        .join("crates/vulnloop-windows/tests/fixtures/collector-server-2019.json");
    let output = vulnloop(&[
        "verify",
        "--before",
        server,
        "--inventory",
        after.to_str().unwrap(),
        "--db",
        db,
        "--format",
        "json",
    ]);
    assert_eq!(
        code(&output),
        1,
        "findings after January 2024 remain: {}",
        stderr(&output)
    );
    let verified: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let verdicts = verified["findings"].as_array().unwrap();
    let smb = verdicts
        .iter()
        .find(|v| v["id"] == "CVE-2019-0630")
        .unwrap();
    assert_eq!(smb["verdict"], "fixed");
    assert!(verdicts.iter().any(|v| v["verdict"] == "fix_failed"));
}

#[test]
fn windows_bad_inventories_explained() {
    let feeds = feed_dir(&FEEDS[..1]);
    let work = tempfile::tempdir().unwrap();
    let db = build_db(feeds.path(), work.path());
    let samples = vulnloop_testdata::unpack(SAMPLES);

    let qfe = samples.path().join("srv_2012r2_u1_qfe.txt");
    let output = vulnloop(&[
        "scan",
        "--inventory",
        qfe.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("names no Windows release"),
        "{}",
        stderr(&output)
    );

    let cut = work.path().join("cut.txt");
    std::fs::write(
        &cut,
        "Host Name:   WIN\r\nOS Name:     Microsoft Windows Server 2019 Datacenter\r\n",
    )
    .unwrap();
    let output = vulnloop(&[
        "scan",
        "--inventory",
        cut.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("cut.txt") && stderr(&output).contains("OS Version"),
        "{}",
        stderr(&output)
    );
}
