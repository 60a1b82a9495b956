//! Arbitrary and damaged input never panics, and errors name the input.

use proptest::prelude::*;
use vulnloop_windows::systeminfo::SystemInfo;
use vulnloop_windows::{collector, hotfix_list, inventory_from_bytes, msrc, wesng};

const SAMPLE: &str = concat!(
    "Host Name:                 WIN-1\r\n",
    "OS Name:                   Microsoft Windows Server 2019 Datacenter\r\n",
    "OS Version:                10.0.17763 N/A Build 17763\r\n",
    "System Type:               x64-based PC\r\n",
    "Hotfix(s):                 2 Hotfix(s) Installed.\r\n",
    "                           [01]: KB4470788\r\n",
    "                           [02]: KB4480116\r\n",
    "Network Card(s):           1 NIC(s) Installed.\r\n",
    "                           [01]: Intel(R) 82574L Gigabit Network Connection\r\n",
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = SystemInfo::parse(&bytes, "fuzz.txt");
        let _ = hotfix_list::parse(&bytes, "fuzz.txt");
        let _ = collector::parse(&bytes, "fuzz.json");
        let _ = inventory_from_bytes(&bytes, "fuzz");
        let _ = msrc::parse_reader(Box::new(bytes.as_slice()), "fuzz.xml", &mut |_| {});
        let _ = wesng::parse_csv(bytes.as_slice(), "fuzz.csv", &mut |_| {});
    }

    #[test]
    fn damaged_systeminfo_never_panics(cut in 0..SAMPLE.len(), insert in "[\\x00-\\x7f\\u{a0}-\\u{ff}:\\[\\]]{0,12}") {
        let mut text = SAMPLE.as_bytes()[..cut].to_vec();
        text.extend_from_slice(insert.as_bytes());
        text.extend_from_slice(&SAMPLE.as_bytes()[cut..]);
        if let Err(error) = SystemInfo::parse(&text, "damaged.txt") {
            prop_assert!(error.to_string().contains("damaged.txt"));
        }
    }

    #[test]
    fn utf16_systeminfo_reads_like_utf8(with_bom in any::<bool>()) {
        let mut bytes = if with_bom { vec![0xff, 0xfe] } else { Vec::new() };
        bytes.extend(SAMPLE.encode_utf16().flat_map(u16::to_le_bytes));
        let info = SystemInfo::parse(&bytes, "utf16.txt").unwrap();
        prop_assert_eq!(info.hotfixes, vec!["KB4470788".to_string(), "KB4480116".to_string()]);
        prop_assert_eq!(info.build, 17763);
    }
}

#[test]
fn msrc_xml_error_names_file_and_line() {
    let xml =
        "<cvrf:cvrfdoc xmlns:cvrf=\"c\">\n<cvrf:DocumentTitle>x</cvrf:Wrong>\n</cvrf:cvrfdoc>";
    let error = msrc::parse_reader(Box::new(xml.as_bytes()), "2024-Jan.xml", &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("2024-Jan.xml:2:"), "{error}");
}

#[test]
fn wesng_without_columns_rejected() {
    let error = wesng::parse_csv("a,b\n1,2\n".as_bytes(), "CVEs.csv", &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("CVEs.csv"), "{error}");
    assert!(error.contains("DatePosted"), "{error}");
}
