//! WordPress plugins and themes: directories under `wp-content/plugins` and
//! `wp-content/themes`, named by their wordpress.org slug.
//!
//! The installed version is the `Version:` header of the plugin's main PHP
//! file or the theme's `style.css`. Without it, the `Stable tag:` of
//! `readme.txt` is used: that is the version wordpress.org distributes,
//! which is the installed one unless the site was edited by hand.

use std::sync::OnceLock;

use regex::Regex;
use vulnloop_inventory::{AppEcosystem, ApplicationKind};

use super::{capture, check_version, read_file, Detected, Directory, MAX_MARKER_BYTES};
use crate::error::DetectError;
use crate::rootfs::child;

/// Bytes of a PHP file searched for the plugin header; WordPress reads 8 KiB.
const HEADER_BYTES: usize = 8 * 1024;

fn header(name: &str) -> Regex {
    Regex::new(&format!(r"(?mi)^[ \t/*#@]*{name}:[ \t]*([^\r\n]*)")).expect("valid header pattern")
}

fn version_header() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| header("Version"))
}

fn plugin_name_header() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| header("Plugin Name"))
}

fn stable_tag() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| header("Stable tag"))
}

/// Recognizes a plugin or theme directory.
pub fn detect(dir: &Directory<'_>) -> Result<Vec<Detected>, DetectError> {
    let (parent, grandparent) = dir.parents();
    if grandparent != "wp-content" {
        return Ok(Vec::new());
    }
    let (kind, ecosystem, main_file) = match parent {
        "plugins" => (
            ApplicationKind::Plugin,
            AppEcosystem::WordpressPlugin,
            plugin_main_file(dir)?,
        ),
        "themes" => (
            ApplicationKind::Theme,
            AppEcosystem::WordpressTheme,
            Some("style.css".to_string()),
        ),
        _ => return Ok(Vec::new()),
    };

    let from_header = match main_file {
        Some(file) => match dir.read(&file, MAX_MARKER_BYTES)? {
            Some((path, text)) => {
                capture(head(&text), version_header()).map(|(version, line)| (path, version, line))
            }
            None => None,
        },
        None => None,
    };
    let found = match from_header {
        Some(found) => Some(found),
        None => match dir.read("readme.txt", MAX_MARKER_BYTES)? {
            Some((path, text)) => capture(&text, stable_tag())
                .filter(|(tag, _)| !tag.eq_ignore_ascii_case("trunk"))
                .map(|(version, line)| (path, version, line)),
            None => None,
        },
    };
    let Some((path, version, line)) = found else {
        return Ok(Vec::new());
    };
    let version = check_version(&version, &format!("{path}:{line}"))?;
    Ok(vec![Detected {
        kind,
        name: dir.name().to_string(),
        version,
        ecosystem,
        path,
        archive: None,
    }])
}

/// Finds the PHP file in the plugin directory with a `Plugin Name:` header.
fn plugin_main_file(dir: &Directory<'_>) -> Result<Option<String>, DetectError> {
    let mut candidates: Vec<&String> = dir
        .names
        .iter()
        .filter(|name| name.ends_with(".php"))
        .collect();
    candidates.sort();
    // The main file is usually named after the slug; look at it first.
    let preferred = format!("{}.php", dir.name());
    candidates.sort_by_key(|name| **name != preferred);
    for name in candidates.into_iter().take(50) {
        if let Some((_, text)) = read_file(dir.root, &child(dir.path, name), MAX_MARKER_BYTES)? {
            if plugin_name_header().is_match(head(&text)) {
                return Ok(Some(name.clone()));
            }
        }
    }
    Ok(None)
}

fn head(text: &str) -> &str {
    let mut end = text.len().min(HEADER_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
