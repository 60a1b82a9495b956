//! SSH targets: `ssh://` URLs on the command line and the `--targets` TOML file.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::Deserialize;

/// One host to scan over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// Host name or IP address, without brackets for IPv6.
    pub host: String,
    /// TCP port [default: ssh's, 22 unless ssh_config sets another].
    pub port: Option<u16>,
    /// Login name [default: ssh's, the local user unless ssh_config sets another].
    pub user: Option<String>,
    /// Private key file for this host.
    pub key: Option<PathBuf>,
    /// Jump host, passed to ssh as `-J` (`[USER@]HOST[:PORT]`).
    pub jump: Option<String>,
    /// Labels from the targets file, copied into the JSON report.
    pub tags: Vec<String>,
}

impl SshTarget {
    fn new(host: String) -> Self {
        Self {
            host,
            port: None,
            user: None,
            key: None,
            jump: None,
            tags: Vec::new(),
        }
    }
}

/// Formats the target as an `ssh://` URL, the name used in progress bars, reports and errors.
impl fmt::Display for SshTarget {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ssh://")?;
        if let Some(user) = &self.user {
            write!(formatter, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(formatter, "[{}]", self.host)?;
        } else {
            formatter.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(formatter, ":{port}")?;
        }
        Ok(())
    }
}

/// Parses `ssh://[USER@]HOST[:PORT]`, with an IPv6 address in brackets.
pub fn parse_url(text: &str) -> anyhow::Result<SshTarget> {
    let invalid = |reason: &str| {
        anyhow::anyhow!(
            "invalid SSH target {text:?}: {reason}; expected ssh://[USER@]HOST[:PORT], \
             for example ssh://admin@web1 or ssh://root@[::1]:2222"
        )
    };
    let rest = text
        .strip_prefix("ssh://")
        .ok_or_else(|| invalid("it does not start with ssh://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) {
        return Err(invalid("a path, query or fragment is not allowed"));
    }
    let (user, address) = match rest.rsplit_once('@') {
        Some((user, address)) => (Some(user), address),
        None => (None, rest),
    };
    let (host, port) = split_host_port(address).map_err(|reason| invalid(&reason))?;

    let mut target = SshTarget::new(host);
    if let Some(user) = user {
        check_user(user).map_err(|reason| invalid(&reason))?;
        target.user = Some(user.to_string());
    }
    target.port = port;
    Ok(target)
}

/// Splits `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT`.
fn split_host_port(address: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(bracketed) = address.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or("the IPv6 address has no closing bracket")?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or("only :PORT may follow the IPv6 address")?,
                ),
            ),
        }
    } else if address.matches(':').count() > 1 {
        return Err("an IPv6 address must be in brackets, as in ssh://[::1]:22".to_string());
    } else {
        match address.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    check_host(host)?;
    let port = match port {
        Some(text) => Some(parse_port(text)?),
        None => None,
    };
    Ok((host.to_string(), port))
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("the port {text:?} is not a number from 1 to 65535")),
    }
}

/// Rejects host names that ssh would read as an option or that contain spaces or control characters.
fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("the host is empty".to_string());
    }
    if host.starts_with('-') {
        return Err(format!("the host {host:?} starts with '-'"));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | '[' | ']' | '/'))
    {
        return Err(format!(
            "the host {host:?} contains a character that is not allowed in a host name"
        ));
    }
    Ok(())
}

fn check_user(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("the user before '@' is empty".to_string());
    }
    if user.starts_with('-')
        || user
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        return Err(format!("the user {user:?} is not a valid login name"));
    }
    Ok(())
}

/// The `--targets` file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    #[serde(default)]
    target: Vec<RawTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    host: String,
    port: Option<u16>,
    user: Option<String>,
    key: Option<PathBuf>,
    jump: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// Reads a targets file: `[[target]]` tables with `host` and optional
/// `port`, `user`, `key`, `jump` and `tags`.
///
/// Unknown keys and invalid values are errors that name the file and, for
/// TOML errors, the line and column. Every invalid target is listed, not
/// only the first. A relative `key` path is relative to the file's directory.
pub fn read_targets_file(path: &Path) -> anyhow::Result<Vec<SshTarget>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read the targets file {}", path.display()))?;
    let file: TargetsFile = toml::from_str(&text)
        .with_context(|| format!("invalid targets file {}", path.display()))?;
    if file.target.is_empty() {
        bail!(
            "the targets file {} lists no [[target]] table",
            path.display()
        );
    }

    let base = path.parent().unwrap_or(Path::new("."));
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in file.target.into_iter().enumerate() {
        match convert(raw, base) {
            Ok(target) => targets.push(target),
            Err(reason) => errors.push(format!("[[target]] number {}: {reason}", index + 1)),
        }
    }
    if !errors.is_empty() {
        bail!(
            "invalid targets file {}:\n  {}",
            path.display(),
            errors.join("\n  ")
        );
    }
    Ok(targets)
}

fn convert(raw: RawTarget, base: &Path) -> Result<SshTarget, String> {
    check_host(&raw.host)?;
    if let Some(user) = &raw.user {
        check_user(user)?;
    }
    if raw.port == Some(0) {
        return Err("port 0 is not a valid port".to_string());
    }
    if let Some(jump) = &raw.jump {
        if jump.is_empty()
            || jump.starts_with('-')
            || jump.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!("the jump host {jump:?} is not [USER@]HOST[:PORT]"));
        }
    }
    Ok(SshTarget {
        host: raw.host,
        port: raw.port,
        user: raw.user,
        key: raw.key.map(|key| {
            if key.is_relative() {
                base.join(key)
            } else {
                key
            }
        }),
        jump: raw.jump,
        tags: raw.tags,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn url_with_user_and_port() {
        let target = parse_url("ssh://admin@web1.example.org:2222").unwrap();
        assert_eq!(target.host, "web1.example.org");
        assert_eq!(target.user.as_deref(), Some("admin"));
        assert_eq!(target.port, Some(2222));
        assert_eq!(target.to_string(), "ssh://admin@web1.example.org:2222");
    }

    #[test]
    fn url_with_ipv6() {
        let target = parse_url("ssh://root@[::1]:22").unwrap();
        assert_eq!(target.host, "::1");
        assert_eq!(target.port, Some(22));
        assert_eq!(target.to_string(), "ssh://root@[::1]:22");
        assert_eq!(parse_url("ssh://[fe80::1]").unwrap().port, None);
    }

    #[test]
    fn url_host_only() {
        let target = parse_url("ssh://db1/").unwrap();
        assert_eq!(target.host, "db1");
        assert_eq!(target.user, None);
        assert_eq!(target.port, None);
    }

    #[test]
    fn targets_file_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts.toml");
        let text = "[[target]]\nhost = \"web1\"\n\n\
                    [[target]]\nhost = \"::1\"\nport = 2222\nuser = \"root\"\nkey = \"keys/id\"\n\
                    jump = \"admin@bastion\"\ntags = [\"db\"]\n";
        std::fs::write(&path, text).unwrap();

        let targets = read_targets_file(&path).unwrap();

        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0], SshTarget::new("web1".to_string()));
        assert_eq!(targets[1].to_string(), "ssh://root@[::1]:2222");
        assert_eq!(
            targets[1].key.as_deref(),
            Some(dir.path().join("keys/id").as_path())
        );
        assert_eq!(targets[1].jump.as_deref(), Some("admin@bastion"));
        assert_eq!(targets[1].tags, ["db"]);
    }

    #[test]
    fn targets_file_lists_every_invalid_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts.toml");
        std::fs::write(&path, "[[target]]\nhost = \"\"\n\n[[target]]\nhost = \"ok\"\n\n[[target]]\nhost = \"db\"\nport = 0\n").unwrap();

        let message = read_targets_file(&path).unwrap_err().to_string();

        assert!(
            message.contains("[[target]] number 1: the host is empty"),
            "{message}"
        );
        assert!(message.contains("[[target]] number 3: port 0"), "{message}");
        assert!(!message.contains("number 2"), "{message}");
    }

    #[test]
    fn invalid_urls_rejected() {
        let cases = [
            ("web1", "does not start with ssh://"),
            ("ssh://", "the host is empty"),
            ("ssh://web1:0", "not a number from 1 to 65535"),
            ("ssh://web1:ssh", "not a number from 1 to 65535"),
            ("ssh://[::1", "no closing bracket"),
            ("ssh://::1", "must be in brackets"),
            ("ssh://-oProxyCommand=x", "starts with '-'"),
            ("ssh://@web1", "user before '@' is empty"),
            ("ssh://web1/etc", "path, query or fragment"),
        ];
        for (text, expected) in cases {
            let message = parse_url(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.contains(text), "{text}: {message}");
        }
    }
}
