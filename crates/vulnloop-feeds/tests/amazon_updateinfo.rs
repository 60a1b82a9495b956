//! Amazon Linux `updateinfo.xml` on the vuls-data-update format samples:
//! Amazon Linux AMI, 2 (with the kernel-5.15 extras topic), 2022 and 2023
//! (with the kernel-livepatch and nvidia repositories). Expected values were
//! read from the XML with Python's ElementTree.

mod support;

use support::{entry, format_samples, read_path, sample};
use vulnloop_advisory::{Advisory, PackageKind, Severity, Status};
use vulnloop_feeds::{detect, FeedKind, FeedSummary};

const DIR: &str = "pkg/fetch/amazon/testdata/fixtures";

fn fixed(version: &str) -> Status {
    Status::Fixed {
        fixed: version.to_string(),
    }
}

fn read_sample(name: &str) -> (FeedSummary, Advisory) {
    let dir = format_samples();
    let path = sample(&dir, &format!("{DIR}/{name}"));
    assert_eq!(detect(&path), Some(FeedKind::AmazonUpdateinfo), "{name}");
    let (summary, mut advisories) = read_path(&path, FeedKind::AmazonUpdateinfo);
    assert_eq!(advisories.len(), 1, "{name}");
    (summary, advisories.remove(0))
}

#[test]
fn al2023_update_has_all_fields() {
    let (summary, advisory) = read_sample("updateinfo_2023.xml.gz");

    assert_eq!(summary.kind, FeedKind::AmazonUpdateinfo);
    assert_eq!(summary.records, 1);
    assert_eq!(summary.skipped, Vec::<String>::new());
    assert_eq!(summary.snapshot.as_deref(), Some("2023-02-22"));
    assert_eq!(advisory.id, "ALAS2023-2023-001");
    assert_eq!(advisory.source, "amazon-updateinfo");
    assert_eq!(advisory.cves, ["CVE-2014-3634", "CVE-2022-24903"]);
    assert_eq!(advisory.severity, Severity::High);
    assert_eq!(advisory.severity_raw.as_deref(), Some("Important"));
    assert_eq!(advisory.published.as_deref(), Some("2023-02-17"));
    assert_eq!(advisory.affected.len(), 21);
    let rsyslog = entry(&advisory, "rsyslog", "amzn:2023");
    assert_eq!(rsyslog.kind, PackageKind::Binary);
    assert_eq!(rsyslog.status, fixed("8.2204.0-3.amzn2023.0.2"));
    assert_eq!(rsyslog.channel, None);
}

#[test]
fn al2_kernel_update() {
    let (_, advisory) = read_sample("updateinfo_2.xml.gz");
    assert_eq!(advisory.id, "ALAS2-2018-939");
    assert_eq!(advisory.severity, Severity::Critical);
    assert_eq!(advisory.cves, ["CVE-2017-5715", "CVE-2017-5754"]);
    let kernel = entry(&advisory, "kernel", "amzn:2");
    assert_eq!(kernel.status, fixed("4.9.76-38.79.amzn2"));
}

#[test]
fn al2_extras_topic_is_channel() {
    let (_, advisory) = read_sample("updateinfo_2_kernel-5.15.xml.gz");
    assert_eq!(advisory.id, "ALAS2KERNEL-5.15-2022-001");
    assert_eq!(advisory.cves.len(), 13);
    assert_eq!(advisory.affected.len(), 16);
    let bpftool = entry(&advisory, "bpftool", "amzn:2");
    assert_eq!(bpftool.status, fixed("5.15.43-20.123.amzn2"));
    assert_eq!(bpftool.channel.as_deref(), Some("kernel-5.15"));
}

#[test]
fn al2023_livepatch_and_nvidia_channels() {
    let (_, livepatch) = read_sample("updateinfo_2023_kernel-livepatch.xml.gz");
    let package = entry(&livepatch, "kernel-livepatch-6.1.12-19.43", "amzn:2023");
    assert_eq!(package.status, fixed("1.0-1.amzn2023"));
    assert_eq!(package.channel.as_deref(), Some("kernel-livepatch"));

    let (_, nvidia) = read_sample("updateinfo_2023_nvidia.xml.gz");
    assert_eq!(nvidia.affected.len(), 6);
    let devel = entry(&nvidia, "libnvidia-container-devel", "amzn:2023");
    assert_eq!(devel.status, fixed("1.17.4-1"));
    assert_eq!(devel.channel.as_deref(), Some("nvidia"));
}

#[test]
fn al1_and_al2022_releases() {
    let (_, ami) = read_sample("updateinfo_1.xml.gz");
    let httpd = entry(&ami, "httpd-devel", "amzn:1");
    assert_eq!(httpd.status, fixed("2.2.21-1.18.amzn1"));
    assert_eq!(ami.severity, Severity::Medium);

    let (_, al2022) = read_sample("updateinfo_2022.xml.gz");
    let vim = entry(&al2022, "vim-X11-debuginfo", "amzn:2022");
    assert_eq!(vim.status, fixed("2:8.2.3512-1.amzn2022"));
}

#[test]
fn other_vendors_updateinfo_is_not_detected() {
    let dir = format_samples();
    let rocky = "pkg/fetch/rocky/updateinfo/testdata/fixtures/happy/pub/rocky/9/BaseOS/x86_64/os/repodata/aaaa587b7c2316f0b357a284fc32836ceee13fe54e277cc841b30ecefb7cbb42a-updateinfo.xml.gz";
    assert_eq!(detect(&sample(&dir, rocky)), None);
}
