//! Java archives (JAR, WAR, EAR): Maven coordinates from
//! `META-INF/maven/GROUP/ARTIFACT/pom.properties`, else the manifest, and
//! the archives nested inside (`WEB-INF/lib/*.jar` in a WAR).

use std::io::{Cursor, Read, Seek};

use vulnloop_inventory::{AppEcosystem, ApplicationKind};

use super::Detected;
use crate::error::DetectError;
use crate::rootfs::Root;

/// Levels of archives inside archives read at most (an EAR contains WARs that contain JARs).
const MAX_NESTING: usize = 3;
/// Size of a nested archive read into memory at most, in bytes.
const MAX_NESTED_BYTES: u64 = 64 * 1024 * 1024;
/// Size of a `pom.properties` or manifest read at most, in bytes.
const MAX_ENTRY_BYTES: u64 = 1024 * 1024;
/// Size of an archive on disk opened at most, in bytes.
const MAX_ARCHIVE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Returns whether a file name is a Java archive.
pub fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".jar") || lower.ends_with(".war") || lower.ends_with(".ear")
}

/// Reads the archive at `inner` in the root.
pub fn scan_file(root: &Root, inner: &str) -> Result<Vec<Detected>, DetectError> {
    let Ok(real) = root.resolve(inner) else {
        return Ok(Vec::new());
    };
    let host = root.host_path(&real);
    let file = match std::fs::File::open(&host) {
        Ok(file) => file,
        Err(error) => return Err(DetectError::new(&real, format!("failed to open: {error}"))),
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(Vec::new());
    }
    if size > MAX_ARCHIVE_BYTES {
        return Err(DetectError::new(
            &real,
            format!("archive is {size} bytes, larger than the {MAX_ARCHIVE_BYTES} bytes read"),
        ));
    }
    let mut found = Vec::new();
    scan_archive(std::io::BufReader::new(file), &real, 0, &mut found)?;
    Ok(found)
}

/// Reads an archive from bytes, named `location` in results and errors.
pub fn scan_bytes(bytes: &[u8], location: &str) -> Result<Vec<Detected>, DetectError> {
    let mut found = Vec::new();
    scan_archive(Cursor::new(bytes), location, 0, &mut found)?;
    Ok(found)
}

fn scan_archive<R: Read + Seek>(
    reader: R,
    location: &str,
    depth: usize,
    found: &mut Vec<Detected>,
) -> Result<(), DetectError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|error| {
        DetectError::new(location, format!("not a readable zip archive: {error}"))
    })?;
    let names: Vec<String> = archive
        .file_names()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| {
            DetectError::new(
                location,
                format!("invalid entry name in zip archive: {error}"),
            )
        })?
        .into_iter()
        .map(|name| name.into_owned())
        .collect();

    let mut from_poms = 0;
    for name in names.iter().filter(|name| is_pom_properties(name)) {
        let text = read_entry(&mut archive, name, location, MAX_ENTRY_BYTES)?;
        let entry = format!("{location}!{name}");
        if let Some(detected) = pom_properties(&text, &entry)? {
            found.push(detected);
            from_poms += 1;
        }
    }
    if from_poms == 0 {
        if let Some(name) = names
            .iter()
            .find(|name| name.eq_ignore_ascii_case("META-INF/MANIFEST.MF"))
        {
            let text = read_entry(&mut archive, name, location, MAX_ENTRY_BYTES)?;
            if let Some(detected) = manifest(&text, &format!("{location}!{name}")) {
                found.push(detected);
            }
        }
    }

    if depth + 1 >= MAX_NESTING {
        return Ok(());
    }
    for name in names.iter().filter(|name| is_archive_name(name)) {
        let bytes = match read_entry_bytes(&mut archive, name, location, MAX_NESTED_BYTES) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::warn!(%error, "nested archive skipped");
                continue;
            }
        };
        let nested = format!("{location}!{name}");
        if let Err(error) = scan_archive(Cursor::new(bytes), &nested, depth + 1, found) {
            tracing::warn!(%error, "nested archive skipped");
        }
    }
    Ok(())
}

fn is_pom_properties(name: &str) -> bool {
    name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties")
}

fn read_entry_bytes<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
    location: &str,
    max: u64,
) -> Result<Vec<u8>, DetectError> {
    let entry_error = |message: String| DetectError::new(format!("{location}!{name}"), message);
    let entry = archive
        .by_name(name)
        .map_err(|error| entry_error(format!("failed to read entry: {error}")))?;
    if entry.size() > max {
        return Err(entry_error(format!(
            "entry is {} bytes, larger than the {max} bytes read",
            entry.size()
        )));
    }
    let mut bytes = Vec::new();
    // The stated size can lie; never read more than the limit.
    entry
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| entry_error(format!("failed to decompress: {error}")))?;
    if bytes.len() as u64 > max {
        return Err(entry_error(format!(
            "entry is larger than the {max} bytes read"
        )));
    }
    Ok(bytes)
}

fn read_entry<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
    location: &str,
    max: u64,
) -> Result<String, DetectError> {
    Ok(String::from_utf8_lossy(&read_entry_bytes(archive, name, location, max)?).into_owned())
}

/// Parses a `pom.properties` (`groupId`, `artifactId`, `version`).
pub fn pom_properties(text: &str, location: &str) -> Result<Option<Detected>, DetectError> {
    let mut group = None;
    let mut artifact = None;
    let mut version = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        let value = Some(value.trim().to_string()).filter(|value| !value.is_empty());
        match key.trim() {
            "groupId" => group = value,
            "artifactId" => artifact = value,
            "version" => version = value,
            _ => {}
        }
    }
    match (group, artifact, version) {
        (Some(group), Some(artifact), Some(version)) => Ok(Some(Detected {
            kind: ApplicationKind::Library,
            name: format!("{group}:{artifact}"),
            version,
            ecosystem: AppEcosystem::Maven,
            path: location.to_string(),
            archive: location
                .rsplit_once('!')
                .map(|(archive, _)| archive.to_string()),
        })),
        (None, None, None) => Ok(None),
        _ => Err(DetectError::new(
            location,
            "pom.properties lacks groupId, artifactId or version",
        )),
    }
}

/// Reads a JAR manifest's bundle or implementation name and version.
/// Returns `None` when it names no version.
pub fn manifest(text: &str, location: &str) -> Option<Detected> {
    // Lines longer than 72 bytes continue on the next line after one space.
    let mut unfolded: Vec<String> = Vec::new();
    for line in text.lines() {
        match (line.strip_prefix(' '), unfolded.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest.trim_end_matches('\r')),
            _ => unfolded.push(line.trim_end_matches('\r').to_string()),
        }
    }
    let header = |key: &str| {
        unfolded.iter().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case(key)
                .then(|| value.trim().to_string())
        })
    };
    let name = header("Bundle-SymbolicName")
        .map(|name| {
            name.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .or_else(|| header("Implementation-Title"))?;
    let version = header("Bundle-Version").or_else(|| header("Implementation-Version"))?;
    Some(Detected {
        kind: ApplicationKind::Library,
        name,
        version,
        ecosystem: AppEcosystem::Maven,
        path: location.to_string(),
        archive: location
            .rsplit_once('!')
            .map(|(archive, _)| archive.to_string()),
    })
}
