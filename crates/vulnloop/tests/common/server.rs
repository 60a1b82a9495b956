//! Starting `vulnloop server` as a child process in tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A started server and what it printed before it listened.
pub struct Started {
    pub child: Child,
    /// The base URL from the `listening on` line.
    pub url: String,
    /// The first admin's token, printed on a first start only.
    pub admin_token: Option<String>,
    /// Lines printed on stdout before the `listening on` line.
    pub announced: Vec<String>,
}

/// Spawns `command`, a `vulnloop server` invocation bound to 127.0.0.1,
/// with a clean log and database environment, and reads its stdout up to
/// the line that names the address it listens on.
pub fn start(command: &mut Command) -> Started {
    let mut child = command
        .env_remove("RUST_LOG")
        .env_remove("VULNLOOP_SERVER_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // The server prints the admin token and then the address it listens on.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut admin_token = None;
    let mut announced = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .expect("the server exited before it listened")
            .unwrap();
        if let Some(token) = line.strip_prefix("admin token: ") {
            admin_token = Some(token.to_string());
        }
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_string();
        }
        announced.push(line);
    };
    Started {
        child,
        url,
        admin_token,
        announced,
    }
}
