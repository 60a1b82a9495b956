//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Host vulnerability scanner: find which installed packages are vulnerable and how to fix them.
#[derive(Debug, Parser)]
#[command(name = "vulnloop", version, about, propagate_version = true)]
pub struct Cli {
    /// Advisory database file [default: ~/.local/share/vulnloop/advisories.db].
    #[arg(long, global = true, env = "VULNLOOP_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// Finding history file: scans, each finding's lifecycle and ignore rules
    /// [default: ~/.local/state/vulnloop/state.db].
    #[arg(long, global = true, env = "VULNLOOP_STATE", value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Log more (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan this host, a root filesystem or an inventory file for vulnerabilities.
    Scan(ScanArgs),
    /// Plan the upgrades that fix the findings; a dry run unless --apply is given.
    Fix(FixArgs),
    /// Rescan the packages of the last `fix --apply` run and report which findings it fixed.
    Verify(VerifyArgs),
    /// Print what the collector finds: OS identity, packages and kernel.
    Inventory(InventoryArgs),
    /// Show the recorded scans, or the lifecycle of findings with --finding or --status.
    History(HistoryArgs),
    /// List the findings that are new or resolved between two recorded scans.
    Diff(DiffArgs),
    /// Accept findings with a reason and an optional expiry, so scans and fix plans leave them out.
    #[command(subcommand)]
    Ignore(IgnoreCommand),
    /// Build, update and inspect the advisory database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Run the fleet server: agents upload inventories, the server matches them and serves /api/v1.
    Server(ServerArgs),
    /// Run the fleet agent: enroll with a server and upload this host's inventory.
    Agent(AgentArgs),
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address and port to listen on, for example 127.0.0.1:8443 or 0.0.0.0:8443.
    #[arg(long, value_name = "ADDR")]
    pub bind: std::net::SocketAddr,

    /// Directory for the server database (server.db) when --database is not given.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Server database URL (sqlite://FILE or postgres://…) [default: sqlite in --data-dir].
    #[arg(long, value_name = "URL", env = "VULNLOOP_SERVER_DATABASE")]
    pub database: Option<String>,

    /// Advisory database to match uploaded inventories against; without it inventories are stored unmatched.
    #[arg(long, value_name = "FILE")]
    pub advisory_db: Option<PathBuf>,

    /// PEM certificate chain for TLS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for TLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve plain HTTP on a non-loopback address (tokens then cross the network in clear).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure_http: bool,

    /// Run every background job each SECONDS instead of at its own interval (for tests).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub job_interval: Option<u64>,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Server base URL, for example https://vulnloop.example.org:8443.
    #[arg(long, value_name = "URL")]
    pub server: String,

    /// Enrollment token from an admin; needed only until the agent has enrolled.
    #[arg(long, value_name = "TOKEN", env = "VULNLOOP_ENROLLMENT_TOKEN")]
    pub enroll: Option<String>,

    /// Directory for the agent token and the upload spool.
    #[arg(long, value_name = "DIR")]
    pub state_dir: PathBuf,

    /// Upload once, run the queued tasks until none is left, and exit.
    #[arg(long)]
    pub once: bool,

    /// Seconds between uploads; the agent also uploads when a poll finds the inventory changed.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(10..))]
    pub interval: u64,

    /// Seconds between polls for tasks (each poll also collects the inventory to see whether it changed).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub poll: u64,

    /// Local policy file that decides whether fix tasks run [default: /etc/vulnloop/agent-policy.toml; a missing file refuses fixes].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Upload this inventory JSON file instead of collecting one.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["root", "os"])]
    pub inventory: Option<PathBuf>,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Host name to enroll with [default: the inventory's host name].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Allow an http:// server URL that is not on loopback (the agent token then crosses the network in clear).
    #[arg(long)]
    pub insecure_http: bool,
}

/// Source of the inventory.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Read the root filesystem mounted at DIR instead of the running system.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Use this OS identity (ID:VERSION, for example debian:12) instead of detecting it.
    #[arg(long, value_name = "ID:VERSION")]
    pub os: Option<String>,

    /// Also look for web applications in DIR (a path inside --root; repeatable).
    #[arg(long = "web-root", value_name = "DIR")]
    pub web_roots: Vec<String>,

    /// Do not look for web applications (nginx and Apache web roots, /var/www, /srv, /usr/share).
    #[arg(long, conflicts_with = "web_roots")]
    pub no_webapps: bool,

    /// Directory entries listed at most while looking for web applications.
    #[arg(long, value_name = "N", default_value_t = vulnloop_webapp::DiscoveryOptions::DEFAULT_MAX_ENTRIES)]
    pub webapp_max_entries: usize,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("ssh_targets").args(["targets", "targets_file"]).multiple(true)))]
pub struct ScanArgs {
    /// Remote hosts to scan over SSH, as ssh://[USER@]HOST[:PORT] (IPv6 in brackets: ssh://[::1]:2222).
    #[arg(value_name = "ssh://[USER@]HOST[:PORT]", conflicts_with_all = ["root", "os", "inventory"])]
    pub targets: Vec<String>,

    #[command(flatten)]
    pub ssh: SshArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Scan an inventory JSON file written by `vulnloop inventory --format json` or an agent.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["root", "os"])]
    pub inventory: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// Show only these severities (comma-separated: critical,high,medium,low,negligible,unknown).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub severity: Vec<String>,

    /// Hide vulnerabilities that the vendor has not fixed (no fix yet, will not fix, postponed).
    #[arg(long)]
    pub ignore_unfixed: bool,

    /// Show only these priorities (comma-separated: fix-now,fix-later,no-need-to-fix).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub priority: Vec<String>,

    /// Show only vulnerabilities in CISA's Known Exploited Vulnerabilities catalog.
    #[arg(long)]
    pub kev: bool,

    /// How much this host matters to you (low, normal, high); raises or lowers every priority by one point.
    #[arg(
        long,
        default_value = "normal",
        env = "VULNLOOP_ASSET_IMPORTANCE",
        value_name = "LEVEL"
    )]
    pub asset_importance: String,

    /// Exit code when findings are shown [0 to always succeed on findings].
    #[arg(long, default_value_t = 1, value_name = "CODE")]
    pub exit_code: u8,

    /// Maximum age of the database in days before results count as incomplete (0: no limit).
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    pub max_db_age: u32,

    /// Ignore file (TOML, `[[ignore]]` tables with id, reason and optional package, target,
    /// expires); used together with the rules of `vulnloop ignore add`.
    #[arg(long, env = "VULNLOOP_IGNORE_FILE", value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,

    #[command(flatten)]
    pub auto_update: AutoUpdateArgs,
}

/// Options of scans over SSH; docs/ssh.md describes them.
#[derive(Debug, Args)]
pub struct SshArgs {
    /// Scan the hosts listed in this TOML file (`[[target]]` tables with host, port, user, key, jump, tags).
    #[arg(long = "targets", value_name = "FILE", conflicts_with_all = ["root", "os", "inventory"])]
    pub targets_file: Option<PathBuf>,

    /// Number of hosts scanned at the same time.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256), requires = "ssh_targets")]
    pub parallel: u16,

    /// known_hosts file that host keys are checked against [default: ssh's, ~/.ssh/known_hosts].
    #[arg(long, value_name = "FILE", requires = "ssh_targets")]
    pub known_hosts: Option<PathBuf>,

    /// Trust the host key of a host that the known_hosts file does not list yet, and add it there
    /// (ssh's StrictHostKeyChecking=accept-new). A changed key is still rejected.
    #[arg(long, requires = "ssh_targets")]
    pub accept_new_host_keys: bool,

    /// Private key file for every host that sets no `key` in the targets file
    /// [default: the SSH agent and ssh's default keys].
    #[arg(long, short = 'i', value_name = "FILE", requires = "ssh_targets")]
    pub identity: Option<PathBuf>,

    /// ssh client configuration file, passed to ssh as -F [default: ~/.ssh/config and /etc/ssh/ssh_config].
    #[arg(long, value_name = "FILE", requires = "ssh_targets")]
    pub ssh_config: Option<PathBuf>,

    /// Time limit in seconds for opening the SSH connection to a host.
    #[arg(long, default_value_t = 10, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), requires = "ssh_targets")]
    pub connect_timeout: u64,

    /// Time limit in seconds of each remote command.
    #[arg(long, default_value_t = 120, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), requires = "ssh_targets")]
    pub command_timeout: u64,

    /// Time limit in seconds for everything fetched from one host; the host is reported failed after it.
    #[arg(long, default_value_t = 600, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), requires = "ssh_targets")]
    pub host_timeout: u64,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("change").args(["apply", "rollback"])))]
pub struct FixArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Plan for an inventory JSON file written by `vulnloop inventory --format json` or an agent.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["root", "os"])]
    pub inventory: Option<PathBuf>,

    /// Output format (the JSON layout is described in docs/fix-plan.md).
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// Plan only for findings of these priorities (comma-separated: fix-now,fix-later,no-need-to-fix).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub priority: Vec<String>,

    /// Plan only for these vulnerabilities (comma-separated CVE, vulnerability or advisory ids).
    #[arg(long = "cve", value_delimiter = ',', value_name = "LIST")]
    pub cves: Vec<String>,

    /// Plan only for these packages (comma-separated source or binary package names).
    #[arg(long = "package", value_delimiter = ',', value_name = "LIST")]
    pub packages: Vec<String>,

    /// How much this host matters to you (low, normal, high); raises or lowers every priority by one point.
    #[arg(
        long,
        default_value = "normal",
        env = "VULNLOOP_ASSET_IMPORTANCE",
        value_name = "LEVEL"
    )]
    pub asset_importance: String,

    /// Ignore file (TOML, `[[ignore]]` tables with id, reason and optional package, target,
    /// expires). The plan leaves out its findings and those of `vulnloop ignore add`.
    #[arg(long, env = "VULNLOOP_IGNORE_FILE", value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,

    /// Maximum age of the database in days before the plan counts as incomplete (0: no limit).
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    pub max_db_age: u32,

    /// Run the plan's upgrade commands (apt only), inside --root with chroot when it is given.
    #[arg(long, conflicts_with_all = ["inventory", "format"])]
    pub apply: bool,

    /// Return the packages of the last applied run (or of --journal) to their versions before it,
    /// in the root the journal records.
    #[arg(long, conflicts_with_all = ["inventory", "format", "priority", "cves", "packages"])]
    pub rollback: bool,

    /// Journal of the applied run to roll back [default: the newest apply journal in --journal-dir].
    #[arg(long, value_name = "FILE", requires = "rollback")]
    pub journal: Option<PathBuf>,

    /// Run `apt-get update` before the first step, so that fixes published since the
    /// last update of the package index can be installed.
    #[arg(long, requires = "apply")]
    pub refresh: bool,

    /// Apply or roll back without asking for confirmation on the terminal.
    #[arg(long, requires = "change")]
    pub yes: bool,

    /// Time limit of each upgrade or rollback command in seconds; the command is killed when it expires.
    #[arg(long, default_value_t = 1800, value_name = "SECONDS", requires = "change", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Directory of the apply journals [default: ~/.local/state/vulnloop/journal].
    #[arg(long, env = "VULNLOOP_JOURNAL_DIR", value_name = "DIR")]
    pub journal_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Root filesystem to rescan; it must be the root the journal records [default: that root].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Inventory collected after the fix (systeminfo output, the Windows collector's JSON or
    /// inventory JSON), compared with --before instead of a journal's steps.
    #[arg(long, value_name = "FILE", requires = "before", conflicts_with_all = ["root", "journal", "journal_dir"])]
    pub inventory: Option<PathBuf>,

    /// Inventory collected before the fix, whose findings --inventory is checked for.
    #[arg(long, value_name = "FILE", requires = "inventory")]
    pub before: Option<PathBuf>,

    /// Journal of the run to verify [default: the newest apply journal in --journal-dir].
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,

    /// Directory of the apply journals [default: ~/.local/state/vulnloop/journal].
    #[arg(
        long,
        env = "VULNLOOP_JOURNAL_DIR",
        value_name = "DIR",
        conflicts_with = "journal"
    )]
    pub journal_dir: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = InventoryFormat::Table)]
    pub format: InventoryFormat,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Show only this target: a host name, or `host:root` for a root filesystem, as the scans list prints it.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,

    /// Show the lifecycle events of the findings with this vulnerability id or package name.
    #[arg(long, value_name = "ID|PACKAGE", conflicts_with = "status")]
    pub finding: Option<String>,

    /// Show the current status of each finding.
    #[arg(long)]
    pub status: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Earlier scan number [default: the scan before TO of the same target].
    #[arg(value_name = "FROM")]
    pub from: Option<i64>,

    /// Later scan number [default: the newest scan of --target, or the newest scan].
    #[arg(value_name = "TO")]
    pub to: Option<i64>,

    /// Target whose newest scans to compare when no scan numbers are given.
    #[arg(long, value_name = "TARGET", conflicts_with = "from")]
    pub target: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

#[derive(Debug, Subcommand)]
pub enum IgnoreCommand {
    /// Add an ignore rule to the state database.
    Add(IgnoreAddArgs),
    /// List the ignore rules of the state database, and of --ignore-file when given.
    List {
        /// Also list the rules of this ignore file.
        #[arg(long, env = "VULNLOOP_IGNORE_FILE", value_name = "FILE")]
        ignore_file: Option<PathBuf>,

        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
    },
    /// Remove the ignore rule with this number.
    Remove {
        /// Rule number, as `vulnloop ignore list` prints it.
        #[arg(value_name = "NUMBER")]
        number: i64,
    },
}

#[derive(Debug, Args)]
pub struct IgnoreAddArgs {
    /// CVE, vulnerability or advisory id to ignore.
    #[arg(value_name = "ID")]
    pub id: String,

    /// Reason for accepting the finding, shown in every report that hides it.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,

    /// Last day the rule applies (YYYY-MM-DD); after it the findings show again.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,

    /// Ignore the id only in this source or binary package.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,

    /// Ignore the id only on this target (a host name also covers its root filesystems).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Build a new database from feed files and replace the old one atomically.
    ///
    /// Without --from or --mirror it downloads the official feeds: Debian and Ubuntu advisories, NVD, CISA KEV and EPSS.
    Update(UpdateArgs),
    /// Write the database as one compressed bundle, for sites without feed access.
    Export {
        /// Bundle file to write (a zstd-compressed tar archive).
        #[arg(value_name = "FILE")]
        bundle: PathBuf,
    },
    /// Replace the database with the one in a bundle written by `db export`.
    Import {
        /// Bundle file to read.
        #[arg(value_name = "FILE")]
        bundle: PathBuf,
    },
    /// Show the database's sources, snapshot dates and record counts.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = InventoryFormat::Table)]
        format: InventoryFormat,
    },
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Read feed files from DIR (searched recursively), from one FILE, or from a mirror URL.
    /// Compressed files and archives are read as published. An http:// or https:// URL is a
    /// mirror, as with --mirror.
    #[arg(long, value_name = "DIR|FILE|URL", conflicts_with = "mirror")]
    pub from: Option<PathBuf>,

    /// Download from a mirror: a base URL that serves a SHA256SUMS index and the files it lists.
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
}

/// Refreshing the database before a scan.
#[derive(Debug, Args)]
pub struct AutoUpdateArgs {
    /// Update the database before scanning when it was last refreshed more than HOURS ago
    /// (0: check on every scan).
    #[arg(
        long,
        env = "VULNLOOP_AUTO_UPDATE_AFTER",
        default_value_t = 24,
        value_name = "HOURS"
    )]
    pub auto_update_after: u32,

    /// Feed source of the automatic update: a directory, a file or a mirror URL, as with
    /// `db update --from` [default: the official feed URLs].
    #[arg(long, env = "VULNLOOP_UPDATE_FROM", value_name = "DIR|URL")]
    pub update_from: Option<PathBuf>,

    /// Never update the database before scanning (VULNLOOP_OFFLINE=1 sets it too).
    #[arg(long, env = "VULNLOOP_OFFLINE", value_parser = clap::builder::BoolishValueParser::new())]
    pub offline: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InventoryFormat {
    Table,
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
