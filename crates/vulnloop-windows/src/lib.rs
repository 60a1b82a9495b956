//! Windows hosts and Microsoft's vulnerability data.
//!
//! - Host descriptions: `systeminfo` output in any UI language and encoding
//!   ([`systeminfo`]), `wmic qfe` and `Get-HotFix` lists ([`hotfix_list`]),
//!   and the JSON of `scripts/collect-windows.ps1` ([`collector`]), read
//!   into a [`vulnloop_inventory::WindowsHost`].
//! - Feeds: the MSRC CVRF documents ([`msrc`]) and the wesng CVE→KB table
//!   ([`wesng`]), read into [`WindowsFix`] rows keyed by a normalized
//!   product ([`product`]).
//! - Detection ([`matcher`]): the host's build and revision against the
//!   build each cumulative update brings, then its installed KBs with
//!   supersedence; *undetermined* when neither settles it.
//!
//! The crate does no I/O apart from reading the files it is given.

pub mod collector;
mod error;
pub mod hotfix_list;
mod intel;
mod inventory_file;
pub mod matcher;
pub mod msrc;
pub mod product;
pub mod systeminfo;
mod text;
pub mod wesng;

pub use error::WindowsError;
pub use intel::{catalog_url, FixSource, WindowsFix};
pub use inventory_file::{
    detect_format, inventory_from_bytes, read_inventory_file, windows_inventory,
    InventoryFileError, InventoryFormat,
};
pub use matcher::match_windows;
pub use text::{decode, Decoded};
