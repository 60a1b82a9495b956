//! Feeds arbitrary bytes to the systeminfo parser and the inventory format
//! detection that `scan --inventory` runs first. Neither may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = vulnloop_windows::systeminfo::SystemInfo::parse(data, "fuzz.txt") {
        let host = info.to_host();
        let _ = vulnloop_windows::matcher::host_product_key(&host);
    }
    let _ = vulnloop_windows::inventory_from_bytes(data, "fuzz");
});
