//! Web roots named by nginx and Apache httpd configurations.
//!
//! nginx: `root` and `alias` directives, following `include` (with `*`
//! and `?` wildcards, relative to the directory of `nginx.conf`).
//! Apache: `DocumentRoot` and `Alias`/`AliasMatch` targets, following
//! `Include` and `IncludeOptional` (wildcards, or a whole directory),
//! relative to `ServerRoot`. Variables (`$document_root`, `${APACHE_…}`)
//! cannot be resolved without running the server, so paths that use them
//! are skipped.

use std::collections::BTreeSet;

use crate::rootfs::{child, Root};

/// Main configuration files read, with the directory relative includes start from.
const NGINX_MAIN: &[(&str, &str)] = &[
    ("/etc/nginx/nginx.conf", "/etc/nginx"),
    ("/usr/local/nginx/conf/nginx.conf", "/usr/local/nginx/conf"),
];
const APACHE_MAIN: &[(&str, &str)] = &[
    ("/etc/apache2/apache2.conf", "/etc/apache2"),
    ("/etc/httpd/conf/httpd.conf", "/etc/httpd"),
    ("/usr/local/apache2/conf/httpd.conf", "/usr/local/apache2"),
];

/// Configuration files read at most, against include loops and include storms.
const MAX_CONFIG_FILES: usize = 1000;
/// Size of one configuration file read at most, in bytes.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// A web root and the configuration line that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredRoot {
    /// Directory, as a path inside the scanned root.
    pub path: String,
    /// `FILE:LINE` of the directive.
    pub source: String,
}

/// Reads the nginx and Apache configurations under `root` and returns the web roots they name.
pub fn configured_roots(root: &Root) -> Vec<ConfiguredRoot> {
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    for (main, base) in NGINX_MAIN {
        read_config(root, main, base, Dialect::Nginx, &mut seen, &mut found);
    }
    for (main, base) in APACHE_MAIN {
        read_config(root, main, base, Dialect::Apache, &mut seen, &mut found);
    }
    found
}

#[derive(Debug, Clone, Copy)]
enum Dialect {
    Nginx,
    Apache,
}

fn read_config(
    root: &Root,
    file: &str,
    base: &str,
    dialect: Dialect,
    seen: &mut BTreeSet<String>,
    found: &mut Vec<ConfiguredRoot>,
) {
    if seen.len() >= MAX_CONFIG_FILES || !seen.insert(file.to_string()) {
        return;
    }
    let host = root.host_path(file);
    let Ok(metadata) = std::fs::metadata(&host) else {
        return;
    };
    if !metadata.is_file() || metadata.len() > MAX_CONFIG_BYTES {
        tracing::debug!(
            file,
            "configuration file skipped: not a regular file or too large"
        );
        return;
    }
    let Ok(bytes) = std::fs::read(&host) else {
        tracing::debug!(file, "configuration file could not be read");
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut base = base.to_string();
    for (line_number, directive, arguments) in directives(&text, dialect) {
        let source = format!("{file}:{line_number}");
        match (dialect, directive.to_ascii_lowercase().as_str()) {
            (Dialect::Nginx, "root") | (Dialect::Nginx, "alias") => {
                push_root(found, arguments.first(), &source)
            }
            (Dialect::Apache, "documentroot") => push_root(found, arguments.first(), &source),
            (Dialect::Apache, "alias")
            | (Dialect::Apache, "aliasmatch")
            | (Dialect::Apache, "scriptalias") => push_root(found, arguments.get(1), &source),
            (Dialect::Apache, "serverroot") => {
                if let Some(path) = arguments.first() {
                    base = path.clone();
                }
            }
            (Dialect::Nginx, "include")
            | (Dialect::Apache, "include")
            | (Dialect::Apache, "includeoptional") => {
                for pattern in arguments.iter().take(1) {
                    let absolute = if pattern.starts_with('/') {
                        pattern.clone()
                    } else {
                        child(&base, pattern)
                    };
                    for included in expand(root, &absolute) {
                        read_config(root, &included, &base, dialect, seen, found);
                    }
                }
            }
            _ => {}
        }
    }
}

fn push_root(found: &mut Vec<ConfiguredRoot>, path: Option<&String>, source: &str) {
    let Some(path) = path else { return };
    // A variable, or a regular expression capture in an AliasMatch target.
    if !path.starts_with('/') || path.contains('$') {
        tracing::debug!(path, source, "web root with a variable skipped");
        return;
    }
    let path = path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    found.push(ConfiguredRoot {
        path: path.to_string(),
        source: source.to_string(),
    });
}

/// Splits a configuration into directives: `(line, name, arguments)`.
///
/// nginx directives end with `;` and blocks open with `{`; Apache
/// directives take one line (a trailing `\` continues it), and section
/// tags (`<VirtualHost …>`) are not directives. Both use `#` comments and
/// single or double quotes.
fn directives(text: &str, dialect: Dialect) -> Vec<(usize, String, Vec<String>)> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut start_line = 1;
    let mut line = 1;
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    let flush_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            } else if c == q {
                quote = None;
            } else {
                if c == '\n' {
                    line += 1;
                }
                word.push(c);
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                if words.is_empty() && !in_word {
                    start_line = line;
                }
                quote = Some(c);
                in_word = true;
            }
            '#' if !in_word => {
                for next in chars.by_ref() {
                    if next == '\n' {
                        break;
                    }
                }
                line += 1;
                if let Dialect::Apache = dialect {
                    flush_word(&mut word, &mut in_word, &mut words);
                    end_directive(&mut out, &mut words, start_line);
                }
            }
            '\\' if matches!(dialect, Dialect::Apache) && chars.peek() == Some(&'\n') => {
                chars.next();
                line += 1;
                flush_word(&mut word, &mut in_word, &mut words);
            }
            '\n' => {
                flush_word(&mut word, &mut in_word, &mut words);
                if let Dialect::Apache = dialect {
                    end_directive(&mut out, &mut words, start_line);
                }
                line += 1;
            }
            ';' | '{' | '}' if matches!(dialect, Dialect::Nginx) => {
                flush_word(&mut word, &mut in_word, &mut words);
                end_directive(&mut out, &mut words, start_line);
            }
            c if c.is_whitespace() => flush_word(&mut word, &mut in_word, &mut words),
            c => {
                if words.is_empty() && !in_word {
                    start_line = line;
                }
                in_word = true;
                word.push(c);
            }
        }
    }
    flush_word(&mut word, &mut in_word, &mut words);
    end_directive(&mut out, &mut words, start_line);
    out
}

fn end_directive(
    out: &mut Vec<(usize, String, Vec<String>)>,
    words: &mut Vec<String>,
    line: usize,
) {
    if words.is_empty() {
        return;
    }
    let mut taken = std::mem::take(words);
    let name = taken.remove(0);
    if name.starts_with('<') {
        return;
    }
    out.push((line, name, taken));
}

/// Expands `*` and `?` in the components of an absolute pattern into the
/// files that exist, in name order. A directory matched by an Apache
/// include is read whole, which the caller does through this same function.
fn expand(root: &Root, pattern: &str) -> Vec<String> {
    let mut current = vec!["/".to_string()];
    for part in pattern.split('/').filter(|part| !part.is_empty()) {
        let mut next = Vec::new();
        for dir in &current {
            if part.contains(['*', '?', '[']) {
                let Ok(entries) = std::fs::read_dir(root.host_path(dir)) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .flatten()
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| !name.starts_with('.') && wildcard_match(part, name))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|name| child(dir, &name)));
            } else {
                next.push(child(dir, part));
            }
        }
        current = next;
    }
    // A directory stands for every file in it (Apache's `Include conf.d/`).
    let mut files = Vec::new();
    for path in current {
        let host = root.host_path(&path);
        if host.is_dir() {
            let Ok(entries) = std::fs::read_dir(&host) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            files.extend(names.into_iter().map(|name| child(&path, &name)));
        } else if host.exists() {
            files.push(path);
        }
    }
    files
}

/// Matches a shell wildcard with `*` and `?` (a `[` class is treated as a literal).
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let (mut star, mut star_n) = (None, 0);
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            star_n = n;
            p += 1;
        } else if let Some(star_p) = star {
            p = star_p + 1;
            star_n += 1;
            n = star_n;
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == '*' {
        p += 1;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, path: &str, text: &str) {
        let path = dir.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn nginx_roots_through_includes() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "/etc/nginx/nginx.conf",
            "http {\n  include /etc/nginx/sites-enabled/*;\n  include conf.d/*.conf;\n}\n",
        );
        write(dir.path(), "/etc/nginx/sites-enabled/blog", "server {\n  listen 80; # comment; root /nope;\n  root \"/srv/blog\";\n  location /static/ { alias /srv/static/; }\n  location /x { root $document_root/x; }\n}\n");
        write(
            dir.path(),
            "/etc/nginx/conf.d/shop.conf",
            "server { root /var/www/shop; }",
        );
        write(
            dir.path(),
            "/etc/nginx/conf.d/ignored.txt",
            "server { root /var/www/ignored; }",
        );
        let roots = configured_roots(&Root::new(dir.path()));
        let paths: Vec<&str> = roots.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/srv/blog", "/srv/static", "/var/www/shop"]);
        assert_eq!(roots[0].source, "/etc/nginx/sites-enabled/blog:3");
    }

    #[test]
    fn apache_roots_and_aliases() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "/etc/apache2/apache2.conf",
            "IncludeOptional conf-enabled/*.conf\nInclude sites-enabled/\n",
        );
        write(
            dir.path(),
            "/etc/apache2/conf-enabled/wiki.conf",
            "Alias /mediawiki /var/lib/mediawiki\n",
        );
        write(dir.path(), "/etc/apache2/sites-enabled/000-default.conf", "<VirtualHost *:80>\n\tDocumentRoot \"/var/www/html\"\n\tDocumentRoot ${APACHE_ROOT}/x\n</VirtualHost>\n");
        let roots = configured_roots(&Root::new(dir.path()));
        let paths: Vec<&str> = roots.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/var/lib/mediawiki", "/var/www/html"]);
        assert_eq!(
            roots[1].source,
            "/etc/apache2/sites-enabled/000-default.conf:2"
        );
    }

    #[test]
    fn include_loop_terminates() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "/etc/nginx/nginx.conf",
            "include nginx.conf; root /srv/a;",
        );
        let roots = configured_roots(&Root::new(dir.path()));
        assert_eq!(roots.len(), 1);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.conf", "a.conf"));
        assert!(!wildcard_match("*.conf", "a.conf.bak"));
        assert!(wildcard_match("s?te*", "site-1"));
        assert!(wildcard_match("*", "x"));
    }
}
