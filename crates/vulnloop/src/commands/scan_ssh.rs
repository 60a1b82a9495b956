//! `vulnloop scan ssh://…`: collect several hosts over SSH in parallel, then
//! match, record and report each one.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use vulnloop_db::Database;
use vulnloop_inventory::Inventory;
use vulnloop_report::ScanReport;

use crate::cli::{ReportFormat, ScanArgs};
use crate::exit::Code;
use crate::output::{plural, print_stdout};

use super::scan::{build_report, exit_code, ReportSettings};
use super::ssh::{
    fetch_inventory, parse_url, read_targets_file, Progress, Session, SshSettings, SshTarget,
};
use super::{pipeline, state};

/// Version of the JSON document that `scan --format json` prints for SSH targets.
const SSH_REPORT_SCHEMA_VERSION: u32 = 1;

/// The outcome of one host.
enum HostOutcome {
    Scanned(Box<ScanReport>),
    Failed(anyhow::Error),
}

/// One host in the JSON output.
#[derive(Serialize)]
struct HostEntry<'a> {
    /// The target as an `ssh://` URL.
    target: String,
    tags: &'a [String],
    /// `scanned` or `failed`.
    status: &'static str,
    /// The error and its causes, for a failed host.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<&'a ScanReport>,
}

#[derive(Serialize)]
struct SshScanDocument<'a> {
    schema_version: u32,
    hosts: Vec<HostEntry<'a>>,
}

/// Scans the SSH targets of `args` and returns the exit code: 2 when a host
/// failed or its coverage is incomplete, else the findings code when a host
/// has findings, else 0.
pub fn run(args: &ScanArgs, db_path: &Path, state_path: &Path) -> anyhow::Result<Code> {
    let targets = targets(args)?;
    let settings = ReportSettings::from_args(args)?;
    let ssh_settings = ssh_settings(args);
    super::auto_update::refresh_if_due(&args.auto_update, db_path);
    // Opened here so that a missing or broken database fails before any host is contacted.
    drop(Database::open(db_path)?);
    let matcher = Matcher {
        db_path,
        max_db_age: args.max_db_age,
    };

    let analyses = analyze_all(
        &targets,
        &ssh_settings,
        &matcher,
        usize::from(args.ssh.parallel),
    );

    // The history is written from this thread only, one host after the other.
    let mut state = state::open(state_path);
    let ignores =
        state::Ignores::load(state.as_ref(), args.ignore_file.as_deref(), settings.today)?;
    let outcomes: Vec<HostOutcome> = analyses
        .into_iter()
        .map(|analysis| match analysis {
            Ok(analysis) => HostOutcome::Scanned(Box::new(build_report(
                analysis,
                &settings,
                &ignores,
                state.as_mut(),
            ))),
            Err(error) => HostOutcome::Failed(error),
        })
        .collect();

    let text = match args.format {
        ReportFormat::Table => render_table(&targets, &outcomes),
        ReportFormat::Json => render_json(&targets, &outcomes)?,
    };
    print_stdout(&text)?;
    if matches!(args.format, ReportFormat::Json) {
        eprint!("{}", summary(&targets, &outcomes));
    }
    Ok(combined_exit_code(&outcomes, args.exit_code))
}

/// Returns the targets of the command line followed by those of `--targets`.
fn targets(args: &ScanArgs) -> anyhow::Result<Vec<SshTarget>> {
    let mut targets = Vec::new();
    for text in &args.targets {
        targets.push(parse_url(text)?);
    }
    if let Some(path) = &args.ssh.targets_file {
        targets.extend(read_targets_file(path)?);
    }
    Ok(targets)
}

fn ssh_settings(args: &ScanArgs) -> SshSettings {
    let ssh = &args.ssh;
    SshSettings {
        known_hosts: ssh.known_hosts.clone(),
        accept_new_host_keys: ssh.accept_new_host_keys,
        identity: ssh.identity.clone(),
        config: ssh.ssh_config.clone(),
        connect_timeout: Duration::from_secs(ssh.connect_timeout),
        command_timeout: Duration::from_secs(ssh.command_timeout),
        host_timeout: Duration::from_secs(ssh.host_timeout),
    }
}

/// The database that each worker matches its hosts against.
struct Matcher<'a> {
    db_path: &'a Path,
    max_db_age: u32,
}

/// Collects and matches every target with at most `parallel` hosts at a
/// time. The results are in the order of `targets`.
///
/// Each worker opens its own connection to the database, because a SQLite
/// connection cannot be shared between threads.
fn analyze_all(
    targets: &[SshTarget],
    settings: &SshSettings,
    matcher: &Matcher<'_>,
    parallel: usize,
) -> Vec<anyhow::Result<pipeline::Analysis>> {
    let bars = Bars::new();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<anyhow::Result<pipeline::Analysis>>>> =
        Mutex::new(targets.iter().map(|_| None).collect());
    let workers = parallel.min(targets.len()).max(1);

    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut database = None;
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(index) else {
                        break;
                    };
                    let bar = bars.add(target);
                    let result = collect_one(target, settings, &bar).and_then(|inventory| {
                        bar.step("matching");
                        analyze(inventory, matcher, &mut database)
                    });
                    bar.finish(result.as_ref().err());
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(result);
                    }
                }
            });
        }
    });

    let results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| Err(anyhow::anyhow!("the worker scanning this host stopped")))
        })
        .collect()
}

/// Matches one host's inventory, opening the worker's database connection on first use.
fn analyze(
    inventory: Inventory,
    matcher: &Matcher<'_>,
    database: &mut Option<Database>,
) -> anyhow::Result<pipeline::Analysis> {
    let database = match database {
        Some(database) => database,
        None => database.insert(Database::open(matcher.db_path)?),
    };
    pipeline::analyze_inventory(inventory, database, matcher.db_path, matcher.max_db_age)
}

fn collect_one(
    target: &SshTarget,
    settings: &SshSettings,
    bar: &HostBar,
) -> anyhow::Result<Inventory> {
    let session = Session::new(target, settings)
        .with_context(|| format!("failed to create the ssh control directory for {target}"))?;
    let inventory = fetch_inventory(&session, bar);
    session.close();
    tracing::info!(target = %target, ok = inventory.is_ok(), "collection over SSH finished");
    Ok(inventory?)
}

/// The progress bars, one per host, drawn only when stderr is a terminal.
struct Bars {
    multi: MultiProgress,
}

impl Bars {
    fn new() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
        }
    }

    fn add(&self, target: &SshTarget) -> HostBar {
        let bar = self.multi.add(ProgressBar::new_spinner());
        let style = ProgressStyle::with_template("{spinner} {prefix} {wide_msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(target.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        HostBar { bar }
    }
}

/// The progress bar of one host.
struct HostBar {
    bar: ProgressBar,
}

impl HostBar {
    fn finish(&self, error: Option<&anyhow::Error>) {
        match error {
            None => self.bar.finish_with_message("collected"),
            Some(_) => self.bar.finish_with_message("failed"),
        }
    }
}

impl Progress for HostBar {
    fn step(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }
}

/// Renders one block per host, each a full scan table or the error, then the summary.
fn render_table(targets: &[SshTarget], outcomes: &[HostOutcome]) -> String {
    let mut out = String::new();
    for (target, outcome) in targets.iter().zip(outcomes) {
        out.push_str(&format!("=== {target} ===\n"));
        match outcome {
            HostOutcome::Scanned(report) => out.push_str(&vulnloop_report::render_table(report)),
            HostOutcome::Failed(error) => {
                out.push_str(&format!("error: {}\n", error_lines(error).join("\n  ")))
            }
        }
        out.push('\n');
    }
    out.push_str(&summary(targets, outcomes));
    out
}

fn render_json(targets: &[SshTarget], outcomes: &[HostOutcome]) -> anyhow::Result<String> {
    let hosts = targets
        .iter()
        .zip(outcomes)
        .map(|(target, outcome)| match outcome {
            HostOutcome::Scanned(report) => HostEntry {
                target: target.to_string(),
                tags: &target.tags,
                status: "scanned",
                error: None,
                report: Some(report),
            },
            HostOutcome::Failed(error) => HostEntry {
                target: target.to_string(),
                tags: &target.tags,
                status: "failed",
                error: Some(error_lines(error)),
                report: None,
            },
        })
        .collect();
    let document = SshScanDocument {
        schema_version: SSH_REPORT_SCHEMA_VERSION,
        hosts,
    };
    Ok(serde_json::to_string_pretty(&document)? + "\n")
}

/// Returns one line per host and a total line.
fn summary(targets: &[SshTarget], outcomes: &[HostOutcome]) -> String {
    let mut out = String::from("summary:\n");
    let mut failed = 0;
    for (target, outcome) in targets.iter().zip(outcomes) {
        let line = match outcome {
            HostOutcome::Scanned(report) => {
                let coverage = if report.coverage.complete {
                    ""
                } else {
                    ", coverage incomplete"
                };
                format!(
                    "ok      {target}: {}{coverage}",
                    plural(report.summary.findings, "finding")
                )
            }
            HostOutcome::Failed(error) => {
                failed += 1;
                format!("failed  {target}: {error:#}")
            }
        };
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str(&format!(
        "{} scanned, {} failed\n",
        plural(targets.len() - failed, "host"),
        failed
    ));
    out
}

fn error_lines(error: &anyhow::Error) -> Vec<String> {
    error.chain().map(ToString::to_string).collect()
}

fn combined_exit_code(outcomes: &[HostOutcome], findings_code: u8) -> Code {
    let mut combined = Code::Clean;
    for outcome in outcomes {
        match outcome {
            HostOutcome::Failed(_) => return Code::Failure,
            HostOutcome::Scanned(report) => match exit_code(report, findings_code) {
                Code::Failure => return Code::Failure,
                Code::Findings(code) => combined = Code::Findings(code),
                Code::Clean => {}
            },
        }
    }
    combined
}
