//! The `vulnloop` command line: argument parsing, the pipeline glue and the
//! exit code contract. Each stage lives in its own crate.

mod cli;
mod commands;
mod exit;
mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    match commands::run(cli) {
        Ok(code) => code.into(),
        Err(error) => {
            if output::is_broken_pipe(&error) {
                return exit::Code::Clean.into();
            }
            output::print_error(&error);
            exit::Code::Failure.into()
        }
    }
}

/// Logs to stderr; `-v` raises the level, `RUST_LOG` overrides it.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .init();
}
