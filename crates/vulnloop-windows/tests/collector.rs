//! The output of scripts/collect-windows.ps1, as a Windows host or a
//! Windows OpenSSH server returns it.
//!
//! No Windows machine is available to the tests, so the fixture was written
//! by hand following the script: the members and their order are the
//! script's `[ordered]` table, and the layout is that of ConvertTo-Json on
//! Windows PowerShell 5.1.

use vulnloop_windows::{collector, detect_format, inventory_from_bytes, InventoryFormat};

const FIXTURE: &str = include_str!("fixtures/collector-server-2019.json");

#[test]
fn collector_output_read() {
    let host = collector::parse(FIXTURE.as_bytes(), "collector.json").unwrap();
    assert_eq!(host.product, "Microsoft Windows Server 2019 Datacenter");
    assert_eq!(host.edition.as_deref(), Some("ServerDatacenter"));
    assert_eq!(host.release.as_deref(), Some("1809"));
    assert_eq!(host.build, 17763);
    assert_eq!(host.ubr, Some(5329));
    assert_eq!(host.full_build(), "10.0.17763.5329");
    assert_eq!(host.architecture.as_deref(), Some("x64"));
    assert_eq!(host.servicing_stack.as_deref(), Some("10.0.17763.5320"));
    assert_eq!(host.installed_kb_numbers(), ["5033915", "5034127"]);
    assert_eq!(
        host.installed_updates[1].description.as_deref(),
        Some("Security Update")
    );
    assert_eq!(
        vulnloop_windows::matcher::host_product_key(&host).as_deref(),
        Some("windows-server-2019")
    );
}

#[test]
fn collector_output_recognized_over_ssh_encodings() {
    // Windows PowerShell 5.1 redirections write UTF-16LE with a byte order mark.
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(FIXTURE.encode_utf16().flat_map(u16::to_le_bytes));
    for bytes in [FIXTURE.as_bytes().to_vec(), utf16] {
        assert_eq!(detect_format(&bytes), InventoryFormat::CollectorJson);
        let inventory = inventory_from_bytes(&bytes, "collector.json").unwrap();
        assert_eq!(inventory.host.os.id, "windows");
        assert_eq!(inventory.host.hostname.as_deref(), Some("WIN-O863JARO7CM"));
        assert_eq!(inventory.windows.unwrap().ubr, Some(5329));
    }
}

#[test]
fn collector_errors_name_file_and_field() {
    let truncated = &FIXTURE[..FIXTURE.len() / 2];
    let error = collector::parse(truncated.as_bytes(), "cut.json")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("cut.json:"), "{error}");

    let newer = FIXTURE.replace("\"format_version\":  1", "\"format_version\":  2");
    let error = collector::parse(newer.as_bytes(), "new.json")
        .unwrap_err()
        .to_string();
    assert!(error.contains("new.json"), "{error}");
    assert!(error.contains("format"), "{error}");
    assert!(error.contains("collect-windows.ps1"), "{error}");

    let bad_version = FIXTURE.replace("\"10.0.17763\"", "\"10.0\"");
    let error = collector::parse(bad_version.as_bytes(), "v.json")
        .unwrap_err()
        .to_string();
    assert!(error.contains("\"10.0\""), "{error}");
}

#[test]
fn script_writes_the_members_the_parser_reads() {
    let script = std::fs::read_to_string(
        vulnloop_testdata::workspace_root().join("scripts/collect-windows.ps1"),
    )
    .unwrap();
    let document: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    for member in document.as_object().unwrap().keys() {
        assert!(
            script.contains(&format!("    {member} ")),
            "the script does not write {member}"
        );
    }
    assert!(script.contains(collector::FORMAT));
}
