//! Kernel rules: the running kernel decides, not every installed one.
//!
//! A host keeps several kernel images, plus headers, `linux-libc-dev` and
//! tools that are built from the same source package. Only the kernel image
//! that runs can be exploited now; an installed image that is newer and fixed
//! means the fix waits for a reboot.

use vulnloop_inventory::Package;

/// Source packages that build Ubuntu kernel flavours; `linux-firmware` and
/// friends are not kernels.
const UBUNTU_KERNEL_PREFIXES: &[&str] = &[
    "linux-aws",
    "linux-azure",
    "linux-gcp",
    "linux-gke",
    "linux-hwe",
    "linux-ibm",
    "linux-intel",
    "linux-kvm",
    "linux-lowlatency",
    "linux-nvidia",
    "linux-oem",
    "linux-oracle",
    "linux-raspi",
    "linux-realtime",
    "linux-riscv",
    "linux-xilinx",
    "linux-bluefield",
    "linux-fips",
];

/// Returns whether a source package builds a kernel image.
///
/// Debian builds kernels from `linux` (and the `linux-signed-*` wrappers, and
/// `linux-5.10`-style backports in older releases); Ubuntu also from flavour
/// sources such as `linux-aws` or `linux-hwe-6.8`.
pub fn is_kernel_source(name: &str) -> bool {
    if name == "linux" || name.starts_with("linux-signed") {
        return true;
    }
    if let Some(rest) = name.strip_prefix("linux-") {
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            return true;
        }
    }
    UBUNTU_KERNEL_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Returns whether a binary package is a versioned kernel image (`linux-image-6.1.0-28-amd64`),
/// not a metapackage (`linux-image-amd64`) or headers.
pub fn is_kernel_image(name: &str) -> bool {
    let rest = match name.strip_prefix("linux-image-") {
        Some(rest) => rest.strip_prefix("unsigned-").unwrap_or(rest),
        None => return false,
    };
    rest.starts_with(|c: char| c.is_ascii_digit())
}

/// Returns the image package of the running kernel release, if one is installed.
pub fn running_image<'a>(packages: &'a [Package], release: &str) -> Option<&'a Package> {
    let signed = format!("linux-image-{release}");
    let unsigned = format!("linux-image-unsigned-{release}");
    packages
        .iter()
        .find(|p| p.name == signed)
        .or_else(|| packages.iter().find(|p| p.name == unsigned))
}

/// Returns the names under which advisories list a kernel image's source.
///
/// Debian's advisories name `linux` even for images built by the
/// `linux-signed-amd64` wrapper; Ubuntu's drop `-signed` from flavour names.
pub fn advisory_names(source: &str) -> Vec<String> {
    let mut names = vec![source.to_string()];
    if let Some(rest) = source.strip_prefix("linux-signed") {
        let unsigned = format!("linux{rest}");
        names.push(unsigned);
        names.push("linux".to_string());
    }
    names.dedup();
    names
}

/// Returns the kernel release a versioned image package carries
/// (`linux-image-5.15.0-91-generic` → `5.15.0-91-generic`).
pub fn image_release(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("linux-image-")?;
    let rest = rest.strip_prefix("unsigned-").unwrap_or(rest);
    rest.starts_with(|c: char| c.is_ascii_digit())
        .then_some(rest)
}

/// Returns the ABI version of a kernel release (`5.15.0-91-generic` → `5.15.0-91`),
/// which Ubuntu's kernel checks compare with their fixed version.
pub fn abi_version(release: &str) -> Option<&str> {
    let (base, rest) = release.split_once('-')?;
    let abi_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    (abi_digits > 0).then(|| &release[..base.len() + 1 + abi_digits])
}

/// Returns whether a kernel release matches an Ubuntu check's expression as a whole.
pub fn release_matches(expression: &str, release: &str) -> Result<bool, regex::Error> {
    let anchored = regex::Regex::new(&format!("^(?:{expression})$"))?;
    Ok(anchored.is_match(release))
}

/// rpm packages that contain a bootable kernel (`kernel-devel`, `kernel-headers`
/// and `kernel-tools` do not).
const RPM_KERNELS: &[&str] = &[
    "kernel",
    "kernel-core",
    "kernel-64k",
    "kernel-64k-core",
    "kernel-rt",
    "kernel-rt-core",
    "kernel-uek",
    "kernel-uek-core",
    "kernel-default",
    "kernel-azure",
    "kernel-preempt",
    "kernel-lpae",
];

/// Returns whether an rpm package contains a bootable kernel.
pub fn is_rpm_kernel(name: &str) -> bool {
    RPM_KERNELS.contains(&name)
}

/// Returns whether an installed rpm kernel package is the kernel `uname -r` names.
///
/// Red Hat-family releases read `VERSION-RELEASE.ARCH`
/// (`5.14.0-362.8.1.el9_3.x86_64`); SUSE's drop the last release component
/// and append the flavour (`kernel-default` 5.14.21-150500.55.39.1 runs as
/// `5.14.21-150500.55.39-default`).
pub fn rpm_kernel_runs(package: &Package, running: &str) -> bool {
    let evr = package
        .version
        .split_once(':')
        .map_or(package.version.as_str(), |(_, rest)| rest);
    if running == evr {
        return true;
    }
    if let Some(arch) = &package.arch {
        if running == format!("{evr}.{arch}") {
            return true;
        }
    }
    let flavour = package.name.strip_prefix("kernel-").unwrap_or("");
    match evr.rsplit_once('.') {
        Some((trimmed, _)) if !flavour.is_empty() => running == format!("{trimmed}-{flavour}"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_sources_recognized() {
        assert!(is_kernel_source("linux"));
        assert!(is_kernel_source("linux-signed-amd64"));
        assert!(is_kernel_source("linux-5.10"));
        assert!(is_kernel_source("linux-aws"));
        assert!(!is_kernel_source("linux-firmware"));
        assert!(!is_kernel_source("linux-base"));
        assert!(!is_kernel_source("util-linux"));
    }

    #[test]
    fn only_versioned_images_count() {
        assert!(is_kernel_image("linux-image-6.1.0-28-amd64"));
        assert!(is_kernel_image("linux-image-unsigned-5.15.0-91-generic"));
        assert!(!is_kernel_image("linux-image-amd64"));
        assert!(!is_kernel_image("linux-headers-6.1.0-28-amd64"));
        assert!(!is_kernel_image("linux-libc-dev"));
    }

    #[test]
    fn release_and_abi_read_from_image_name() {
        assert_eq!(
            image_release("linux-image-unsigned-5.15.0-91-generic"),
            Some("5.15.0-91-generic")
        );
        assert_eq!(image_release("linux-image-generic"), None);
        assert_eq!(abi_version("5.15.0-1005-raspi"), Some("5.15.0-1005"));
        assert_eq!(abi_version("6.1.0-28-amd64"), Some("6.1.0-28"));
        assert_eq!(abi_version("6.18.44"), None);
    }

    #[test]
    fn check_expression_anchored() {
        assert_eq!(
            release_matches(r"5.15.0-\d+(-raspi|-raspi-nolpae)", "5.15.0-1005-raspi").ok(),
            Some(true)
        );
        assert_eq!(
            release_matches(r"5.15.0-\d+(-raspi)", "5.15.0-1005-raspi-nolpae").ok(),
            Some(false)
        );
        assert!(release_matches("(", "x").is_err());
    }

    #[test]
    fn signed_wrapper_maps_to_linux() {
        assert_eq!(
            advisory_names("linux-signed-amd64"),
            vec!["linux-signed-amd64", "linux-amd64", "linux"]
        );
        assert_eq!(advisory_names("linux"), vec!["linux"]);
    }
}
