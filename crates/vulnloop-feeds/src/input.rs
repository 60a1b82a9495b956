//! Opening feed files: the decompressor is chosen by the file name's
//! extension, and tar archives are walked entry by entry.

use std::io::{Cursor, Read};

use crate::FeedError;

/// Compression named by a file's last extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Plain,
    Zstd,
    Gzip,
    Bzip2,
    /// A zip archive of one file, read by [`with_decompressed`] only.
    Zip,
}

/// The packing of a file (compression and tar), read from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Packing {
    pub(crate) compression: Compression,
    /// The decompressed bytes are a tar archive.
    pub(crate) tar: bool,
}

/// Reads the packing from a file name, rejecting formats this crate does not read.
pub(crate) fn packing(name: &str) -> Result<Packing, FeedError> {
    let lower = name.to_ascii_lowercase();
    for (extension, format) in [(".xz", "xz"), (".7z", "7z")] {
        if lower.ends_with(extension) {
            return Err(FeedError::UnsupportedFormat {
                file: name.to_string(),
                format,
            });
        }
    }
    if lower.ends_with(".tgz") {
        return Ok(Packing {
            compression: Compression::Gzip,
            tar: true,
        });
    }
    let (compression, inner) = split_compression(&lower);
    Ok(Packing {
        compression,
        tar: inner.ends_with(".tar"),
    })
}

/// Splits a lowercase file name into its compression and the name without that extension.
pub(crate) fn split_compression(lower: &str) -> (Compression, &str) {
    for (extension, compression) in [
        (".zst", Compression::Zstd),
        (".gz", Compression::Gzip),
        (".bz2", Compression::Bzip2),
        (".zip", Compression::Zip),
    ] {
        if let Some(inner) = lower.strip_suffix(extension) {
            return (compression, inner);
        }
    }
    (Compression::Plain, lower)
}

/// Wraps `reader` in the decompressor for `compression`.
pub(crate) fn decompress(
    reader: Box<dyn Read>,
    name: &str,
    compression: Compression,
) -> Result<Box<dyn Read>, FeedError> {
    Ok(match compression {
        Compression::Plain => reader,
        Compression::Zstd => {
            Box::new(zstd::Decoder::new(reader).map_err(|error| FeedError::read(name, error))?)
        }
        // The multi-member decoders also read files that parallel compressors
        // (pigz, pbzip2) write as several concatenated streams.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
        Compression::Zip => {
            return Err(FeedError::UnsupportedFormat {
                file: name.to_string(),
                format: "zip",
            })
        }
    })
}

/// Calls `read` with the decompressed content, zip archives of one file included.
///
/// A zip member's size is stored after its data and in the central
/// directory at the end of the archive, so a zip cannot be read as a
/// stream: its compressed bytes are held in memory while the member is
/// decompressed as a stream. Other compressions stream as [`decompress`] does.
pub(crate) fn with_decompressed<T>(
    reader: Box<dyn Read>,
    name: &str,
    compression: Compression,
    read: impl FnOnce(Box<dyn Read + '_>) -> Result<T, FeedError>,
) -> Result<T, FeedError> {
    if compression != Compression::Zip {
        return read(decompress(reader, name, compression)?);
    }
    let zip_error = |error: zip::result::ZipError| FeedError::Archive {
        file: name.to_string(),
        source: std::io::Error::other(error),
    };
    let bytes = read_all(reader, name)?;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    let files: Vec<usize> = (0..archive.len())
        .filter(|&index| {
            let path = archive.name_for_index(index);
            path.is_some_and(|path| path.is_ok_and(|path| !path.ends_with('/')))
        })
        .collect();
    let [index] = files[..] else {
        return Err(FeedError::not_feed(
            name,
            "a zip archive of one file",
            format!(
                "the archive holds {} files; unpack it and pass each file",
                files.len()
            ),
        ));
    };
    let member = archive.by_index(index).map_err(zip_error)?;
    read(Box::new(member))
}

/// Reads the whole decompressed content into memory.
pub(crate) fn read_all(mut reader: Box<dyn Read + '_>, name: &str) -> Result<Vec<u8>, FeedError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|error| FeedError::read(name, error))?;
    Ok(bytes)
}

/// Calls `visit` with the path and content of each regular file in a tar
/// archive for which `wanted` returns true, in archive order.
///
/// Entries are read one at a time, so memory contains one entry's content.
pub(crate) fn for_each_entry(
    reader: Box<dyn Read + '_>,
    name: &str,
    wanted: impl Fn(&str) -> bool,
    mut visit: impl FnMut(&str, Vec<u8>) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    let archive_error = |source| FeedError::Archive {
        file: name.to_string(),
        source,
    };
    let mut archive = tar::Archive::new(reader);

    for entry in archive.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(archive_error)?
            .to_string_lossy()
            .into_owned();
        if !wanted(&path) {
            continue;
        }
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(archive_error)?;
        visit(&path, content)?;
    }
    Ok(())
}

/// Returns whether an archive entry is a JSON document; macOS resource-fork
/// entries (`._name.json`) are not.
pub(crate) fn is_json_entry(path: &str) -> bool {
    let name = base_name(path);
    name.to_ascii_lowercase().ends_with(".json") && !name.starts_with("._")
}

/// Returns the last path component of an archive entry or file name.
pub(crate) fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_reads_extensions() {
        let tar_zst = packing("feed.tar.zst").ok();
        assert_eq!(
            tar_zst,
            Some(Packing {
                compression: Compression::Zstd,
                tar: true
            })
        );
        let bz2 = packing("oval-definitions-bookworm.xml.bz2").ok();
        assert_eq!(
            bz2,
            Some(Packing {
                compression: Compression::Bzip2,
                tar: false
            })
        );
        let tgz = packing("feed.TGZ").ok();
        assert_eq!(
            tgz,
            Some(Packing {
                compression: Compression::Gzip,
                tar: true
            })
        );
        let zip = packing("nvdcve-1.1-2019.json.zip").ok();
        assert_eq!(
            zip,
            Some(Packing {
                compression: Compression::Zip,
                tar: false
            })
        );
        assert!(packing("osv-all.tar.xz").is_err());
    }

    #[test]
    fn base_name_drops_directories() {
        assert_eq!(base_name("a/b/USN-1.json"), "USN-1.json");
        assert_eq!(base_name("USN-1.json"), "USN-1.json");
    }
}
