//! Bundled libraries: Composer and npm lock files, npm package manifests
//! in `node_modules`, Python `*.dist-info` metadata and Java archives.

use serde_json::Value;
use vulnloop_inventory::{AppEcosystem, ApplicationKind};

use super::{jar, read_file, Detected, Directory, MAX_LOCK_BYTES, MAX_MARKER_BYTES};
use crate::error::DetectError;
use crate::rootfs::child;

/// Runs the library detectors on one directory. A broken file is reported
/// and the other files of the directory are still read.
pub fn detect(dir: &Directory<'_>) -> Result<Vec<Detected>, DetectError> {
    let mut found = Vec::new();
    let mut first_error = None;
    let mut run = |result: Result<Vec<Detected>, DetectError>| match result {
        Ok(items) => found.extend(items),
        Err(error) => {
            tracing::debug!(%error, "library detector failed");
            first_error.get_or_insert(error);
        }
    };
    if dir.names.contains("composer.lock") {
        run(composer_lock(dir));
    }
    if dir.name() == "composer"
        && dir.parents().0 == "vendor"
        && dir.names.contains("installed.json")
    {
        run(composer_installed(dir));
    }
    if dir.names.contains("package-lock.json") {
        run(npm_lock(dir));
    }
    if dir.names.contains("package.json") && in_node_modules(dir) {
        run(npm_manifest(dir));
    }
    let name = dir.name();
    if name.ends_with(".dist-info") && dir.names.contains("METADATA") {
        run(python_metadata(dir, "METADATA"));
    } else if name.ends_with(".egg-info") && dir.names.contains("PKG-INFO") {
        run(python_metadata(dir, "PKG-INFO"));
    }
    let mut archives: Vec<&String> = dir
        .names
        .iter()
        .filter(|name| jar::is_archive_name(name))
        .collect();
    archives.sort();
    for archive in archives {
        run(jar::scan_file(dir.root, &child(dir.path, archive)));
    }
    match first_error {
        // Items found next to the broken file are kept by reporting them
        // with the error: the caller records both.
        Some(error) if found.is_empty() => Err(error),
        Some(error) => {
            tracing::warn!(%error, "library file skipped");
            Ok(found)
        }
        None => Ok(found),
    }
}

fn library(ecosystem: AppEcosystem, name: &str, version: &str, path: &str) -> Detected {
    let version = version.trim();
    Detected {
        kind: ApplicationKind::Library,
        name: name.to_string(),
        version: version.strip_prefix('v').unwrap_or(version).to_string(),
        ecosystem,
        path: path.to_string(),
        archive: None,
    }
}

fn read_json(dir: &Directory<'_>, relative: &str) -> Result<Option<(String, Value)>, DetectError> {
    let Some((path, text)) = read_file(dir.root, &child(dir.path, relative), MAX_LOCK_BYTES)?
    else {
        return Ok(None);
    };
    let value = serde_json::from_str(&text).map_err(|error| DetectError::json(&path, &error))?;
    Ok(Some((path, value)))
}

/// Reads `packages` and `packages-dev` of a `composer.lock`.
fn composer_lock(dir: &Directory<'_>) -> Result<Vec<Detected>, DetectError> {
    let Some((path, value)) = read_json(dir, "composer.lock")? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for key in ["packages", "packages-dev"] {
        found.extend(composer_packages(value.get(key), &path)?);
    }
    Ok(found)
}

/// Reads `vendor/composer/installed.json`: an array (Composer 1) or an
/// object with `packages` (Composer 2).
fn composer_installed(dir: &Directory<'_>) -> Result<Vec<Detected>, DetectError> {
    let Some((path, value)) = read_json(dir, "installed.json")? else {
        return Ok(Vec::new());
    };
    let packages = if value.is_array() {
        Some(&value)
    } else {
        value.get("packages")
    };
    composer_packages(packages, &path)
}

fn composer_packages(packages: Option<&Value>, path: &str) -> Result<Vec<Detected>, DetectError> {
    let Some(packages) = packages else {
        return Ok(Vec::new());
    };
    let Some(packages) = packages.as_array() else {
        return Err(DetectError::new(path, "\"packages\" is not an array"));
    };
    let mut found = Vec::new();
    for (index, package) in packages.iter().enumerate() {
        let name = package.get("name").and_then(Value::as_str);
        let version = package.get("version").and_then(Value::as_str);
        match (name, version) {
            (Some(name), Some(version)) => {
                found.push(library(AppEcosystem::Packagist, name, version, path))
            }
            _ => {
                return Err(DetectError::new(
                    path,
                    format!("package {index} has no \"name\" or \"version\" string"),
                ))
            }
        }
    }
    Ok(found)
}

/// Reads an npm `package-lock.json`: `packages` (lockfile versions 2 and
/// 3) or the nested `dependencies` (version 1).
fn npm_lock(dir: &Directory<'_>) -> Result<Vec<Detected>, DetectError> {
    let Some((path, value)) = read_json(dir, "package-lock.json")? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    if let Some(packages) = value.get("packages").and_then(Value::as_object) {
        for (key, package) in packages {
            // The empty key is the project itself; links point at workspace folders.
            let Some((_, name)) = key.rsplit_once("node_modules/") else {
                continue;
            };
            if package.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let Some(version) = package.get("version").and_then(Value::as_str) else {
                return Err(DetectError::new(
                    &path,
                    format!("package {key:?} has no \"version\" string"),
                ));
            };
            found.push(library(AppEcosystem::Npm, name, version, &path));
        }
    } else if let Some(dependencies) = value.get("dependencies") {
        npm_lock_v1(dependencies, &path, &mut found, 0)?;
    }
    Ok(found)
}

fn npm_lock_v1(
    dependencies: &Value,
    path: &str,
    found: &mut Vec<Detected>,
    depth: usize,
) -> Result<(), DetectError> {
    // npm nests a dependency only where versions conflict; 64 levels is far beyond real trees.
    let Some(dependencies) = dependencies.as_object().filter(|_| depth < 64) else {
        return Ok(());
    };
    for (name, dependency) in dependencies {
        let Some(version) = dependency.get("version").and_then(Value::as_str) else {
            return Err(DetectError::new(
                path,
                format!("dependency {name:?} has no \"version\" string"),
            ));
        };
        // A `file:` or git dependency has no registry version to compare.
        if version.starts_with(|c: char| c.is_ascii_digit()) {
            found.push(library(AppEcosystem::Npm, name, version, path));
        }
        if let Some(nested) = dependency.get("dependencies") {
            npm_lock_v1(nested, path, found, depth + 1)?;
        }
    }
    Ok(())
}

fn in_node_modules(dir: &Directory<'_>) -> bool {
    let (parent, grandparent) = dir.parents();
    parent == "node_modules" || (parent.starts_with('@') && grandparent == "node_modules")
}

/// Reads the `package.json` of a package installed in `node_modules`.
fn npm_manifest(dir: &Directory<'_>) -> Result<Vec<Detected>, DetectError> {
    let Some((path, value)) = read_json(dir, "package.json")? else {
        return Ok(Vec::new());
    };
    let name = value.get("name").and_then(Value::as_str);
    let version = value.get("version").and_then(Value::as_str);
    match (name, version) {
        (Some(name), Some(version)) => Ok(vec![library(AppEcosystem::Npm, name, version, &path)]),
        // Some packages ship partial manifests in subfolders; without both fields there is nothing to match.
        _ => Ok(Vec::new()),
    }
}

/// Reads `Name:` and `Version:` of Python core metadata (`METADATA`, `PKG-INFO`).
fn python_metadata(dir: &Directory<'_>, file: &str) -> Result<Vec<Detected>, DetectError> {
    let Some((path, text)) = read_file(dir.root, &child(dir.path, file), MAX_MARKER_BYTES)? else {
        return Ok(Vec::new());
    };
    let mut name = None;
    let mut version = None;
    // The headers end at the first empty line; the description follows.
    for line in text.lines().take_while(|line| !line.trim().is_empty()) {
        if let Some(value) = line.strip_prefix("Name:") {
            name = Some(value.trim().to_string());
        } else if let Some(value) = line.strip_prefix("Version:") {
            version = Some(value.trim().to_string());
        }
    }
    match (name, version) {
        (Some(name), Some(version)) if !name.is_empty() && !version.is_empty() => {
            Ok(vec![library(
                AppEcosystem::Pypi,
                &normalize_python_name(&name),
                &version,
                &path,
            )])
        }
        _ => Err(DetectError::new(&path, "missing Name: or Version: header")),
    }
}

/// Normalizes a Python project name as PEP 503 does (`Foo_Bar` → `foo-bar`).
fn normalize_python_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}
