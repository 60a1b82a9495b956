//! Agentless scanning over SSH: targets, the ssh client and the remote commands.

mod fetch;
mod target;
mod transport;

pub use fetch::{fetch_inventory, Progress};
pub use target::{parse_url, read_targets_file, SshTarget};
pub use transport::{Session, SshSettings};
