//! Operating system identity and release naming.
//!
//! Feeds name releases in different ways (`bookworm`, `Debian GNU/Linux 12`,
//! `Ubuntu:22.04:LTS`); inventories carry os-release's `ID` and `VERSION_ID`.
//! This crate maps between them so both meet on one key.
//!
//! It also reads the release files of a system (`/etc/os-release` and the
//! older ones) into an [`OsIdentity`]. The caller reads the files and passes
//! their text, so this crate does no I/O.

mod detect;
mod identity;
mod os_release;
mod release;
mod release_files;

pub use detect::{detect, Detection};
pub use identity::{parse_os_spec, Family, OsIdentity};
pub use os_release::OsRelease;
pub use release::{debian_codename, debian_release, ubuntu_codename, ubuntu_release};
pub use release_files::{
    parse_alpine_release, parse_debian_version, parse_lsb_release, parse_os_release,
    parse_release_line, parse_system_release_cpe, ReleaseFile, ReleaseFormat, RELEASE_FILES,
};
