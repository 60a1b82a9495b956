//! One module per subcommand.

mod agent;
mod apply;
mod auto_update;
mod db;
mod execute;
mod fix;
mod history;
mod ignore;
mod inventory;
mod journal;
mod pipeline;
mod rollback;
mod scan;
mod scan_ssh;
mod server;
mod ssh;
mod state;
mod verify;
mod verify_inventory;

use std::path::PathBuf;

use anyhow::Context;
use vulnloop_collect::CollectOptions;
use vulnloop_inventory::Inventory;

use crate::cli::{Cli, Command, DbCommand, SourceArgs};
use crate::exit::Code;

/// Runs the parsed command and returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<Code> {
    let db_path = cli.db.clone().unwrap_or_else(vulnloop_db::default_path);
    let state_path = state::path(cli.state.as_deref());
    match cli.command {
        Command::Scan(args) => scan::run(&args, &db_path, &state_path),
        Command::Fix(args) => fix::run(&args, &db_path, &state_path),
        Command::Verify(args) => verify::run(&args, &db_path, &state_path),
        Command::History(args) => history::history(&args, &state_path),
        Command::Diff(args) => history::diff(&args, &state_path),
        Command::Ignore(command) => ignore::run(command, &state_path),
        Command::Inventory(args) => inventory::run(&args),
        Command::Db(DbCommand::Update(args)) => db::update(&args, &db_path),
        Command::Db(DbCommand::Status { format }) => db::status(format, &db_path),
        Command::Db(DbCommand::Export { bundle }) => db::export(&bundle, &db_path),
        Command::Db(DbCommand::Import { bundle }) => db::import(&bundle, &db_path),
        Command::Server(args) => server::run(args),
        Command::Agent(args) => agent::run(&args),
    }
}

/// Collects the inventory of the running system or of `--root`.
fn collect(source: &SourceArgs) -> anyhow::Result<Inventory> {
    let root = source.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let options = CollectOptions {
        root: root.clone(),
        os_override: source.os.clone(),
    };
    let collected = if source.no_webapps {
        vulnloop_collect::collect(&options)
    } else {
        let mut discovery = vulnloop_webapp::DiscoveryOptions::new(root.clone());
        discovery.web_roots = source.web_roots.clone();
        discovery.max_entries = source.webapp_max_entries;
        vulnloop_collect::collect_with_applications(&options, &discovery)
    };
    collected.with_context(|| format!("failed to collect the inventory of {}", root.display()))
}
