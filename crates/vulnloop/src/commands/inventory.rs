use std::fmt::Write;

use crate::cli::{InventoryArgs, InventoryFormat};
use crate::exit::Code;
use crate::output::print_stdout;

/// `vulnloop inventory`: print what the collector finds.
pub fn run(args: &InventoryArgs) -> anyhow::Result<Code> {
    let inventory = super::collect(&args.source)?;
    let text = match args.format {
        InventoryFormat::Json => serde_json::to_string_pretty(&inventory)? + "\n",
        InventoryFormat::Table => render(&inventory),
    };
    print_stdout(&text)?;
    for problem in &inventory.problems {
        eprintln!("warning: {}: {}", problem.location, problem.message);
    }
    Ok(if inventory.is_complete() {
        Code::Clean
    } else {
        Code::Failure
    })
}

fn render(inventory: &vulnloop_inventory::Inventory) -> String {
    let mut out = String::new();
    let os = &inventory.host.os;
    let _ = writeln!(
        out,
        "os: {} {} ({}, from {})",
        os.id,
        os.version_id.as_deref().unwrap_or("(no version)"),
        os.pretty_name.as_deref().unwrap_or("-"),
        os.source
    );
    let kernel = inventory
        .host
        .kernel
        .as_ref()
        .map_or("unknown (not the running system)", |k| k.release.as_str());
    let _ = writeln!(out, "kernel: {kernel}");
    let _ = writeln!(out, "packages: {}", inventory.packages.len());
    let width = inventory
        .packages
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    for package in &inventory.packages {
        let source = match (&package.source_name, &package.source_version) {
            (Some(name), Some(version)) => format!("  (source {name} {version})"),
            (Some(name), None) => format!("  (source {name})"),
            _ => String::new(),
        };
        let arch = package.arch.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "  {:<width$}  {}  {arch}{source}",
            package.name, package.version
        );
    }
    let _ = writeln!(out, "web applications: {}", inventory.applications.len());
    for app in &inventory.applications {
        let owner = app
            .owner
            .as_ref()
            .map(|owner| format!("  (package {} {})", owner.name, owner.version))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} [{}] {}{owner}",
            app.name,
            app.version,
            app.ecosystem.as_str(),
            app.path
        );
    }
    out
}
