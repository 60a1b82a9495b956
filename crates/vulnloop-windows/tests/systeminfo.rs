//! Every systeminfo and hotfix list of the wesng validation set, in nine UI
//! languages and several encodings.

use std::path::Path;

use vulnloop_windows::systeminfo::SystemInfo;
use vulnloop_windows::{hotfix_list, inventory_from_bytes, matcher::host_product_key};

const SAMPLES: &str = "inventories/windows/wesng-validation-systeminfo-qfe.tar.zst";

fn files(dir: &Path, suffix: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().to_string_lossy().contains(suffix))
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Parses every systeminfo sample and prints a table of the fields, so that
/// `cargo test -- --nocapture` lists them all.
#[test]
fn every_systeminfo_sample_parses() {
    let dir = vulnloop_testdata::unpack(SAMPLES);
    let samples = files(dir.path(), "systeminfo");
    // 47 systeminfo outputs, one of them also saved from cmd and from PowerShell.
    assert_eq!(samples.len(), 49, "systeminfo files in the archive");
    for (name, bytes) in &samples {
        let info = SystemInfo::parse(bytes, name).unwrap_or_else(|error| panic!("{name}: {error}"));
        let host = info.to_host();
        let key = host_product_key(&host);
        println!(
            "{name:60} {:22} {:42} {:10} {:>5} {:16} {:>3} KBs (stated {:?}) key {:?}",
            info.encoding,
            info.os_name,
            info.os_version,
            info.build,
            info.service_pack.as_deref().unwrap_or("-"),
            host.installed_kb_numbers().len(),
            info.hotfix_count_stated,
            key
        );
        assert!(
            info.os_name.contains("Windows "),
            "{name}: {}",
            info.os_name
        );
        assert!(info.os_version.ends_with(&info.build.to_string()), "{name}");
        assert!(key.is_some(), "{name}: no product key for {}", info.os_name);
        if let Some(stated) = info.hotfix_count_stated {
            // systeminfo lists fewer items than its count on hosts with many updates.
            assert!(
                info.hotfixes.len() <= stated,
                "{name}: {} items, count {stated}",
                info.hotfixes.len()
            );
            assert!(
                !info.hotfixes.is_empty(),
                "{name}: count {stated} but no items"
            );
        }
    }
}

#[test]
fn samples_of_each_language_read() {
    let dir = vulnloop_testdata::unpack(SAMPLES);
    let cases = [
        (
            "srv_2019_rtm_datacenter_en-us_systeminfo.txt",
            "Microsoft Windows Server 2019 Datacenter",
            17763,
            5,
            "windows-server-2019",
        ),
        (
            "10_1809_x64_enterprise_zh-cn_systeminfo.txt",
            "Microsoft Windows 10 企业版 LTSC",
            17763,
            1,
            "windows-10-1809-x64",
        ),
        (
            "srv_2012r2_x64_standard_ru_systeminfo.txt",
            "Майкрософт Ознакомительная версия Windows Server 2012 R2 Standard",
            9600,
            7,
            "windows-server-2012-r2",
        ),
        (
            "7_sp1_x64_enterprise_fr_systeminfo_powershell.txt",
            "Microsoft Windows 7 Entreprise N",
            7601,
            93,
            "windows-7-sp1-x64",
        ),
        (
            "10_1803_x64_pro_it_systeminfo.txt",
            "Microsoft Windows 10 Pro",
            17134,
            10,
            "windows-10-1803-x64",
        ),
        (
            "10_1809_x64_education_es_systeminfo.txt",
            "Microsoft Windows 10 Education",
            17763,
            9,
            "windows-10-1809-x64",
        ),
        (
            "srv_2008_rtm_x64_standard_en-us_systeminfo.txt",
            "Microsoft Windows Server 2008 Standard",
            6001,
            1,
            "windows-server-2008-sp1-x64",
        ),
        (
            "11_24H2_x64_enterprise_systeminfo.txt",
            "Microsoft Windows 11 Enterprise LTSC",
            26100,
            3,
            "windows-11-24h2-x64",
        ),
    ];
    for (name, os_name, build, kbs, key) in cases {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        let info = SystemInfo::parse(&bytes, name).unwrap();
        assert_eq!(info.os_name, os_name, "{name}");
        assert_eq!(info.build, build, "{name}");
        assert_eq!(info.hotfixes.len(), kbs, "{name}");
        assert_eq!(
            host_product_key(&info.to_host()).as_deref(),
            Some(key),
            "{name}"
        );
    }
}

#[test]
fn empty_hotfix_field_is_an_empty_list() {
    let dir = vulnloop_testdata::unpack(SAMPLES);
    let name = "10_1803_x64_proforworkstations_en-us_systeminfo.txt";
    let info = SystemInfo::parse(&std::fs::read(dir.path().join(name)).unwrap(), name).unwrap();
    assert!(info.hotfixes.is_empty());
    assert!(info.to_host().updates_listed);
}

#[test]
fn every_hotfix_list_parses() {
    let dir = vulnloop_testdata::unpack(SAMPLES);
    let lists = files(dir.path(), "_qfe");
    assert_eq!(lists.len(), 15, "qfe lists in the archive");
    for (name, bytes) in &lists {
        let list =
            hotfix_list::parse(bytes, name).unwrap_or_else(|error| panic!("{name}: {error}"));
        println!(
            "{name:60} {:10} {} updates",
            list.format,
            list.updates.len()
        );
        assert!(
            list.updates
                .iter()
                .all(|u| !u.id.is_empty() && !u.id.contains(' ')),
            "{name}"
        );
        // Rows with an update id, counted apart from the parser: `KB2849697`,
        // `KB893803v2`, `Q147222`, and on Vista a bare number (`943729`) or a
        // GUID. Windows XP rows whose id is the placeholder `File 1` are no update.
        let is_id = |word: &str| {
            let leading_digits = |text: &str| text.chars().take_while(char::is_ascii_digit).count();
            match word.strip_prefix("KB").or_else(|| word.strip_prefix('Q')) {
                Some(rest) => leading_digits(rest) >= 4,
                None => {
                    (word.len() >= 6 && leading_digits(word) == word.len())
                        || (word.starts_with('{') && word.ends_with('}'))
                }
            }
        };
        let decoded = vulnloop_windows::decode(bytes).text;
        let rows = decoded
            .lines()
            .filter(|line| !line.contains(" File 1 "))
            .filter(|line| line.split_whitespace().any(is_id))
            .count();
        // Other ids (`MSCompPackV1`) are updates too, but the count above has no rule for them.
        let listed = list
            .updates
            .iter()
            .filter(|update| is_id(&update.id))
            .count();
        assert_eq!(listed, rows, "{name}");
    }
}

#[test]
fn hotfix_list_alone_rejected_with_hint() {
    let dir = vulnloop_testdata::unpack(SAMPLES);
    let name = "srv_2012r2_u1_qfe.txt";
    let error =
        inventory_from_bytes(&std::fs::read(dir.path().join(name)).unwrap(), name).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("names no Windows release"), "{message}");
    assert!(message.contains("systeminfo"), "{message}");
}

#[test]
fn truncated_systeminfo_names_missing_field() {
    let text = "Host Name:   WIN\r\nOS Name:     Microsoft Windows Server 2019 Datacenter\r\n";
    let error = SystemInfo::parse(text.as_bytes(), "cut.txt")
        .unwrap_err()
        .to_string();
    assert!(error.contains("cut.txt"), "{error}");
    assert!(error.contains("OS Version"), "{error}");
    let text = "Host Name:   WIN\r\nOS Name:     Microsoft Windows Server 2019 Datacenter\r\nOS Version:  10.0.17763 N/A Build 17763\r\n";
    let error = SystemInfo::parse(text.as_bytes(), "cut.txt")
        .unwrap_err()
        .to_string();
    assert!(error.contains("Hotfix(s)"), "{error}");
}
