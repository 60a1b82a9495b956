//! Operating system identity and release naming.
//!
//! Feeds name releases in different ways (`bookworm`, `Debian GNU/Linux 12`,
//! `Ubuntu:22.04:LTS`); inventories carry os-release's `ID` and `VERSION_ID`.
//! This crate maps between them so both meet on one key.

mod release;

pub use release::{debian_codename, debian_release, ubuntu_codename, ubuntu_release};
