//! `vulnloop ignore`: manage the ignore rules of the state database.

use std::path::Path;

use anyhow::Context as _;
use chrono::NaiveDate;
use serde::Serialize;
use vulnloop_state::{IgnoreFile, IgnoreRule, RuleSource, StateDb};

use crate::cli::{IgnoreAddArgs, IgnoreCommand, ReportFormat};
use crate::exit::Code;
use crate::output::{columns, print_stdout};

use super::state::describe_source;

pub fn run(command: IgnoreCommand, state_path: &Path) -> anyhow::Result<Code> {
    match command {
        IgnoreCommand::Add(args) => add(&args, state_path),
        IgnoreCommand::List {
            ignore_file,
            format,
        } => list(ignore_file.as_deref(), format, state_path),
        IgnoreCommand::Remove { number } => {
            let mut state = StateDb::open(state_path)?;
            let rule = state.remove_ignore(number)?;
            println!("removed ignore rule {number} for {}", rule.id);
            Ok(Code::Clean)
        }
    }
}

fn add(args: &IgnoreAddArgs, state_path: &Path) -> anyhow::Result<Code> {
    let expires = args
        .expires
        .as_deref()
        .map(|text| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").with_context(|| {
                format!("invalid --expires {text:?}; write a date such as 2027-03-31")
            })
        })
        .transpose()?;
    let today = chrono::Utc::now().date_naive();
    if let Some(date) = expires.filter(|date| *date < today) {
        anyhow::bail!(
            "invalid --expires {date}: the date has passed, so the rule would never apply"
        );
    }
    let rule = IgnoreRule {
        id: args.id.trim().to_string(),
        package: args.package.clone(),
        target: args.target.clone(),
        reason: args.reason.trim().to_string(),
        expires,
        source: RuleSource::State(0),
    };
    let mut state = StateDb::open(state_path)?;
    let number = state.add_ignore(&rule)?;
    let until = expires.map(|d| format!(" until {d}")).unwrap_or_default();
    println!("added ignore rule {number} for {}{until}", rule.id);
    Ok(Code::Clean)
}

#[derive(Serialize)]
struct RulesDocument<'a> {
    rules: &'a [IgnoreRule],
}

fn list(
    ignore_file: Option<&Path>,
    format: ReportFormat,
    state_path: &Path,
) -> anyhow::Result<Code> {
    let mut rules = if state_path.exists() {
        StateDb::open(state_path)?.ignores()?
    } else {
        Vec::new()
    };
    if let Some(file) = ignore_file {
        rules.extend(IgnoreFile::read(file)?.rules);
    }
    let text = match format {
        ReportFormat::Json => {
            serde_json::to_string_pretty(&RulesDocument { rules: &rules })? + "\n"
        }
        ReportFormat::Table => render(&rules),
    };
    print_stdout(&text)?;
    Ok(Code::Clean)
}

fn render(rules: &[IgnoreRule]) -> String {
    if rules.is_empty() {
        return "no ignore rules\n".to_string();
    }
    let today = chrono::Utc::now().date_naive();
    let mut rows = vec![["RULE", "ID", "PACKAGE", "TARGET", "EXPIRES", "REASON"]
        .map(String::from)
        .to_vec()];
    for rule in rules {
        let number = match &rule.source {
            RuleSource::State(number) => number.to_string(),
            RuleSource::File(_) => "file".to_string(),
        };
        let expires = match rule.expires {
            Some(date) if !rule.is_active(today) => format!("{date} (expired)"),
            Some(date) => date.to_string(),
            None => "never".to_string(),
        };
        rows.push(vec![
            number,
            rule.id.clone(),
            rule.package.clone().unwrap_or_else(|| "any".into()),
            rule.target.clone().unwrap_or_else(|| "any".into()),
            expires,
            rule.reason.clone(),
        ]);
    }
    let mut out = columns(&rows, "");
    let files: Vec<String> = rules
        .iter()
        .filter(|rule| matches!(rule.source, RuleSource::File(_)))
        .map(|rule| describe_source(&rule.source))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for file in files {
        out.push_str(&format!("rules marked file come from the {file}\n"));
    }
    out
}
