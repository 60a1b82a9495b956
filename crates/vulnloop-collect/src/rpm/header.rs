//! The rpm header blob that every rpmdb backend stores per package.
//!
//! A blob is the on-disk form of an rpm header without the 8-byte magic of
//! package files. It starts with a big-endian count of index entries (`il`)
//! and the length of the data store (`dl`). Then come `il` entries of 16
//! bytes (tag, type, offset, count) and `dl` bytes of data.
//!
//! The first entry is usually a region tag. Its data is a trailer entry that
//! marks the immutable part of the header, the one the package was signed
//! with. Entries after the region ("dribbles", added by rpm at install time)
//! replace entries of the same tag inside it, so the last entry of a tag wins here.
//!
//! [`parse_header`] reads the package fields only. The file list, which is
//! most of a header's data, is read by [`read_file_paths`] when runtime
//! exposure needs it.

/// Tags read from a header (rpm's `rpmtag.h`).
mod tag {
    pub(super) const HEADER_IMAGE: u32 = 61;
    pub(super) const HEADER_SIGNATURES: u32 = 62;
    pub(super) const HEADER_IMMUTABLE: u32 = 63;
    pub(super) const NAME: u32 = 1000;
    pub(super) const VERSION: u32 = 1001;
    pub(super) const RELEASE: u32 = 1002;
    pub(super) const EPOCH: u32 = 1003;
    pub(super) const VENDOR: u32 = 1011;
    pub(super) const ARCH: u32 = 1022;
    pub(super) const SOURCERPM: u32 = 1044;
    pub(super) const OLDFILENAMES: u32 = 1027;
    pub(super) const DIRINDEXES: u32 = 1116;
    pub(super) const BASENAMES: u32 = 1117;
    pub(super) const DIRNAMES: u32 = 1118;
    pub(super) const MODULARITYLABEL: u32 = 5096;
}

/// Data types of index entries (rpm's `rpmTagType`).
mod kind {
    pub(super) const INT32: u32 = 4;
    pub(super) const STRING: u32 = 6;
    pub(super) const BIN: u32 = 7;
    pub(super) const STRING_ARRAY: u32 = 8;
    pub(super) const I18NSTRING: u32 = 9;
}

/// Size of one index entry in bytes.
const ENTRY_SIZE: usize = 16;

/// Largest index entry count rpm accepts (`hdrchkTags` in rpm's `lib/header_internal.h`).
const MAX_ENTRIES: u32 = 0xffff;

/// Largest data store rpm accepts, just under 16 MiB (`hdrchkData` in rpm's `lib/header_internal.h`).
const MAX_DATA_BYTES: u32 = 0x00ff_ffff;

/// The package fields read from one rpm header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    /// `NAME`.
    pub name: String,
    /// `EPOCH`, only when the header has the tag (an explicit 0 is kept).
    pub epoch: Option<u32>,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `ARCH`; source-less pseudo-packages such as `gpg-pubkey` have none.
    pub arch: Option<String>,
    /// `SOURCERPM`, the file name of the source package (`openssl-3.0.7-24.el9.src.rpm`).
    pub source_rpm: Option<String>,
    /// `VENDOR`.
    pub vendor: Option<String>,
    /// `MODULARITYLABEL`, the module stream (`name:stream:version:context`).
    pub modularity_label: Option<String>,
}

/// Errors reading a header blob. Offsets count from the start of the blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The blob is shorter than its own counts declare.
    #[error("header blob is {len} bytes, too short for {needed} bytes of index and data")]
    Truncated { len: usize, needed: usize },

    /// The entry count or data length is beyond rpm's limits.
    #[error("header blob declares {entries} index entries and {data_len} data bytes, beyond rpm's limits")]
    TooLarge { entries: u32, data_len: u32 },

    /// An index entry points outside the data store or at data of the wrong shape.
    #[error("header index entry {index} (tag {tag}, type {kind}) at blob offset {entry_offset}: {reason}")]
    BadEntry {
        index: usize,
        tag: u32,
        kind: u32,
        entry_offset: usize,
        reason: &'static str,
    },

    /// The region trailer does not match its region tag.
    #[error("header region tag {tag} has an invalid trailer at data offset {offset}: {reason}")]
    BadRegion {
        tag: u32,
        offset: usize,
        reason: &'static str,
    },

    /// A tag every package has is missing.
    #[error("header has no {0} tag")]
    MissingTag(&'static str),
}

/// One index entry as stored.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    kind: u32,
    offset: u32,
    count: u32,
}

/// A header blob whose index and data store were split and bounds-checked.
struct Blob<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

/// Parses an rpm header blob and returns the package fields.
///
/// Every offset and count is checked against the blob; a damaged blob
/// returns an error, never a panic.
pub fn parse_header(bytes: &[u8]) -> Result<RpmHeader, HeaderError> {
    let blob = split(bytes)?;
    blob.check_region()?;

    let mut header = RpmHeader::default();
    for (index, entry) in blob.entries.iter().enumerate() {
        let string = |entry: &Entry| blob.string(index, entry);
        match entry.tag {
            tag::NAME => header.name = string(entry)?,
            tag::VERSION => header.version = string(entry)?,
            tag::RELEASE => header.release = string(entry)?,
            tag::EPOCH => header.epoch = Some(blob.int32(index, entry)?),
            tag::ARCH => header.arch = Some(string(entry)?),
            tag::SOURCERPM => header.source_rpm = Some(string(entry)?),
            tag::VENDOR => header.vendor = Some(string(entry)?),
            tag::MODULARITYLABEL => header.modularity_label = Some(string(entry)?),
            _ => {}
        }
    }

    if header.name.is_empty() {
        return Err(HeaderError::MissingTag("NAME"));
    }
    if header.version.is_empty() {
        return Err(HeaderError::MissingTag("VERSION"));
    }
    if header.release.is_empty() {
        return Err(HeaderError::MissingTag("RELEASE"));
    }
    Ok(header)
}

/// Calls `visit` with the absolute path of each file the header lists.
///
/// Headers since rpm 4 store each path as `DIRNAMES[DIRINDEXES[i]]` (which
/// ends with `/`) followed by `BASENAMES[i]`. Headers of older packages
/// list whole paths in `OLDFILENAMES`. A header with neither lists no files.
pub fn read_file_paths(bytes: &[u8], mut visit: impl FnMut(&str)) -> Result<(), HeaderError> {
    let blob = split(bytes)?;
    blob.check_region()?;

    let last = |wanted: u32| {
        blob.entries
            .iter()
            .enumerate()
            .rev()
            .find(|(_, entry)| entry.tag == wanted)
    };
    if let Some((index, entry)) = last(tag::BASENAMES) {
        let basenames = blob.strings(index, entry)?;
        let (dir_index, dir_entry) =
            last(tag::DIRNAMES).ok_or(HeaderError::MissingTag("DIRNAMES"))?;
        let dirnames = blob.strings(dir_index, dir_entry)?;
        let (indexes_index, indexes_entry) =
            last(tag::DIRINDEXES).ok_or(HeaderError::MissingTag("DIRINDEXES"))?;
        let indexes = blob.int32_array(indexes_index, indexes_entry)?;
        if indexes.len() != basenames.len() {
            return Err(blob.bad(
                indexes_index,
                indexes_entry,
                "DIRINDEXES and BASENAMES differ in length",
            ));
        }

        let mut path = String::new();
        for (basename, dir) in basenames.iter().zip(indexes) {
            let dirname = dirnames.get(dir as usize).ok_or(blob.bad(
                indexes_index,
                indexes_entry,
                "a directory index is beyond DIRNAMES",
            ))?;
            path.clear();
            path.push_str(dirname);
            path.push_str(basename);
            visit(&path);
        }
    } else if let Some((index, entry)) = last(tag::OLDFILENAMES) {
        for path in blob.strings(index, entry)? {
            visit(&path);
        }
    }
    Ok(())
}

/// Splits a blob into index entries and data store, checking both lengths.
fn split(bytes: &[u8]) -> Result<Blob<'_>, HeaderError> {
    let truncated = |needed| HeaderError::Truncated {
        len: bytes.len(),
        needed,
    };
    let (Some(entry_count), Some(data_len)) = (be_u32(bytes, 0), be_u32(bytes, 4)) else {
        return Err(truncated(8));
    };
    if entry_count > MAX_ENTRIES || data_len > MAX_DATA_BYTES || entry_count == 0 {
        return Err(HeaderError::TooLarge {
            entries: entry_count,
            data_len,
        });
    }

    // Both values are within rpm's limits above, so the sum cannot overflow.
    let index_end = 8 + entry_count as usize * ENTRY_SIZE;
    let data_end = index_end + data_len as usize;
    if bytes.len() < data_end {
        return Err(truncated(data_end));
    }

    let mut entries = Vec::with_capacity(entry_count as usize);
    for start in (8..index_end).step_by(ENTRY_SIZE) {
        let field = |at: usize| be_u32(bytes, start + at).ok_or(truncated(index_end));
        entries.push(Entry {
            tag: field(0)?,
            kind: field(4)?,
            offset: field(8)?,
            count: field(12)?,
        });
    }
    let data = bytes.get(index_end..data_end).ok_or(truncated(data_end))?;
    Ok(Blob { entries, data })
}

impl Blob<'_> {
    /// Checks the region trailer when the first entry is a region tag.
    ///
    /// The trailer is a 16-byte entry in the data store that repeats the
    /// region tag, and whose offset is minus the size of the region's index.
    fn check_region(&self) -> Result<(), HeaderError> {
        let Some(first) = self.entries.first() else {
            return Ok(());
        };
        if !matches!(
            first.tag,
            tag::HEADER_IMAGE | tag::HEADER_SIGNATURES | tag::HEADER_IMMUTABLE
        ) {
            return Ok(());
        }
        let offset = first.offset as usize;
        let bad = |reason| HeaderError::BadRegion {
            tag: first.tag,
            offset,
            reason,
        };
        if first.kind != kind::BIN || first.count as usize != ENTRY_SIZE {
            return Err(bad("the region entry is not 16 bytes of binary data"));
        }
        let trailer = offset
            .checked_add(ENTRY_SIZE)
            .and_then(|end| self.data.get(offset..end))
            .ok_or(bad("the trailer lies outside the data store"))?;
        let trailer_tag = be_u32(trailer, 0).ok_or(bad("truncated trailer"))?;
        let trailer_offset = be_u32(trailer, 8).ok_or(bad("truncated trailer"))?;
        if trailer_tag != first.tag {
            return Err(bad("the trailer names another tag"));
        }

        // The trailer offset is stored negated: -(entries in the region * 16).
        let region_bytes = trailer_offset.wrapping_neg() as usize;
        let region_entries = region_bytes / ENTRY_SIZE;
        if !region_bytes.is_multiple_of(ENTRY_SIZE)
            || region_entries == 0
            || region_entries > self.entries.len()
        {
            return Err(bad("the trailer's region size does not match the index"));
        }
        Ok(())
    }

    /// Returns the data of an entry, checking that `len` bytes fit after its offset.
    fn slice(&self, index: usize, entry: &Entry, len: usize) -> Result<&[u8], HeaderError> {
        let offset = entry.offset as usize;
        offset
            .checked_add(len)
            .and_then(|end| self.data.get(offset..end))
            .ok_or(self.bad(index, entry, "data lies outside the data store"))
    }

    /// Reads the first string of a STRING, I18NSTRING or STRING_ARRAY entry.
    fn string(&self, index: usize, entry: &Entry) -> Result<String, HeaderError> {
        if !matches!(
            entry.kind,
            kind::STRING | kind::I18NSTRING | kind::STRING_ARRAY
        ) {
            return Err(self.bad(index, entry, "expected a string type"));
        }
        if entry.count == 0 || (entry.kind == kind::STRING && entry.count != 1) {
            return Err(self.bad(index, entry, "invalid string count"));
        }
        let rest = self.data.get(entry.offset as usize..).ok_or(self.bad(
            index,
            entry,
            "data lies outside the data store",
        ))?;
        let Some(end) = rest.iter().position(|&byte| byte == 0) else {
            return Err(self.bad(
                index,
                entry,
                "string has no terminating NUL inside the data store",
            ));
        };
        let text = rest.get(..end).unwrap_or_default();
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    /// Reads all strings of a STRING_ARRAY entry.
    fn strings(&self, index: usize, entry: &Entry) -> Result<Vec<String>, HeaderError> {
        if entry.kind != kind::STRING_ARRAY {
            return Err(self.bad(index, entry, "expected a string array"));
        }
        let mut rest = self.data.get(entry.offset as usize..).ok_or(self.bad(
            index,
            entry,
            "data lies outside the data store",
        ))?;
        // Each string takes at least its NUL, so a count beyond the data is damage, not a reason to allocate.
        if entry.count as usize > rest.len() {
            return Err(self.bad(index, entry, "string count exceeds the data store"));
        }
        let mut strings = Vec::with_capacity(entry.count as usize);
        for _ in 0..entry.count {
            let end = rest.iter().position(|&byte| byte == 0).ok_or(self.bad(
                index,
                entry,
                "string has no terminating NUL inside the data store",
            ))?;
            strings.push(String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned());
            rest = rest.get(end + 1..).unwrap_or_default();
        }
        Ok(strings)
    }

    /// Reads all values of an INT32 entry.
    fn int32_array(&self, index: usize, entry: &Entry) -> Result<Vec<u32>, HeaderError> {
        if entry.kind != kind::INT32 {
            return Err(self.bad(index, entry, "expected 32-bit integers"));
        }
        let len = (entry.count as usize).checked_mul(4).ok_or(self.bad(
            index,
            entry,
            "data lies outside the data store",
        ))?;
        let bytes = self.slice(index, entry, len)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|chunk| u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
            .collect())
    }

    /// Reads the first value of an INT32 entry.
    fn int32(&self, index: usize, entry: &Entry) -> Result<u32, HeaderError> {
        if entry.kind != kind::INT32 || entry.count == 0 {
            return Err(self.bad(index, entry, "expected at least one 32-bit integer"));
        }
        let bytes = self.slice(index, entry, 4)?;
        be_u32(bytes, 0).ok_or(self.bad(index, entry, "data lies outside the data store"))
    }

    fn bad(&self, index: usize, entry: &Entry, reason: &'static str) -> HeaderError {
        HeaderError::BadEntry {
            index,
            tag: entry.tag,
            kind: entry.kind,
            entry_offset: 8 + index * ENTRY_SIZE,
            reason,
        }
    }
}

/// Reads a big-endian `u32` at `offset`, or `None` past the end.
fn be_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let end = offset.checked_add(4)?;
    let array: [u8; 4] = bytes.get(offset..end)?.try_into().ok()?;
    Some(u32::from_be_bytes(array))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Builds a blob without a region from (tag, type, count, data) entries.
    fn blob(entries: &[(u32, u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, kind, count, bytes) in entries {
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&kind.to_be_bytes());
            index.extend_from_slice(&(data.len() as u32).to_be_bytes());
            index.extend_from_slice(&count.to_be_bytes());
            data.extend_from_slice(bytes);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&data);
        blob
    }

    const NAME: (u32, u32, u32, &[u8]) = (tag::NAME, kind::STRING, 1, b"nodejs\0");
    const VERSION: (u32, u32, u32, &[u8]) = (tag::VERSION, kind::STRING, 1, b"18.14.2\0");
    const RELEASE: (u32, u32, u32, &[u8]) = (tag::RELEASE, kind::STRING, 1, b"2.module+el8.7.0\0");

    #[test]
    fn modularity_label_and_epoch() {
        let bytes = blob(&[
            NAME,
            VERSION,
            RELEASE,
            (tag::EPOCH, kind::INT32, 1, &1u32.to_be_bytes()),
            (
                tag::MODULARITYLABEL,
                kind::STRING,
                1,
                b"nodejs:18:8070020230306170042:ad008a3a\0",
            ),
        ]);
        let header = parse_header(&bytes).unwrap();
        assert_eq!(header.epoch, Some(1));
        assert_eq!(
            header.modularity_label.as_deref(),
            Some("nodejs:18:8070020230306170042:ad008a3a")
        );
    }

    #[test]
    fn later_entry_replaces_earlier() {
        let bytes = blob(&[
            NAME,
            VERSION,
            RELEASE,
            (tag::VENDOR, kind::STRING, 1, b"old\0"),
            (tag::VENDOR, kind::STRING, 1, b"new\0"),
        ]);
        assert_eq!(parse_header(&bytes).unwrap().vendor.as_deref(), Some("new"));
    }

    #[test]
    fn string_without_nul_is_error() {
        let bytes = blob(&[VERSION, RELEASE, (tag::NAME, kind::STRING, 1, b"nodejs")]);
        let error = parse_header(&bytes).unwrap_err();
        assert!(error.to_string().contains("NUL"), "{error}");
    }

    #[test]
    fn epoch_of_wrong_type_is_error() {
        let bytes = blob(&[
            NAME,
            VERSION,
            RELEASE,
            (tag::EPOCH, kind::STRING, 1, b"1\0"),
        ]);
        let error = parse_header(&bytes).unwrap_err();
        assert!(
            matches!(
                error,
                HeaderError::BadEntry {
                    tag: tag::EPOCH,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn missing_name_is_error() {
        let bytes = blob(&[VERSION, RELEASE]);
        assert_eq!(parse_header(&bytes), Err(HeaderError::MissingTag("NAME")));
    }

    fn files_of(bytes: &[u8]) -> Result<Vec<String>, HeaderError> {
        let mut paths = Vec::new();
        read_file_paths(bytes, |path| paths.push(path.to_string()))?;
        Ok(paths)
    }

    fn int32s(values: &[u32]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|value| value.to_be_bytes())
            .collect()
    }

    #[test]
    fn file_paths_joined_from_dirnames() {
        let indexes = int32s(&[0, 1, 1]);
        let bytes = blob(&[
            NAME,
            VERSION,
            RELEASE,
            (tag::DIRINDEXES, kind::INT32, 3, &indexes),
            (
                tag::BASENAMES,
                kind::STRING_ARRAY,
                3,
                b"node\0libnode.so.108\0node_modules\0",
            ),
            (
                tag::DIRNAMES,
                kind::STRING_ARRAY,
                2,
                b"/usr/bin/\0/usr/lib64/\0",
            ),
        ]);
        assert_eq!(
            files_of(&bytes).unwrap(),
            [
                "/usr/bin/node",
                "/usr/lib64/libnode.so.108",
                "/usr/lib64/node_modules"
            ]
        );
        // The package fields are read as before.
        assert_eq!(parse_header(&bytes).unwrap().name, "nodejs");
    }

    #[test]
    fn old_file_names_read() {
        let bytes = blob(&[
            NAME,
            VERSION,
            RELEASE,
            (
                tag::OLDFILENAMES,
                kind::STRING_ARRAY,
                2,
                b"/bin/sh\0/etc/profile\0",
            ),
        ]);
        assert_eq!(files_of(&bytes).unwrap(), ["/bin/sh", "/etc/profile"]);
    }

    #[test]
    fn header_without_files_lists_none() {
        let bytes = blob(&[NAME, VERSION, RELEASE]);
        assert!(files_of(&bytes).unwrap().is_empty());
    }

    #[test]
    fn directory_index_out_of_range_is_error() {
        let indexes = int32s(&[0, 5]);
        let bytes = blob(&[
            NAME,
            (tag::DIRINDEXES, kind::INT32, 2, &indexes),
            (tag::BASENAMES, kind::STRING_ARRAY, 2, b"a\0b\0"),
            (tag::DIRNAMES, kind::STRING_ARRAY, 1, b"/usr/bin/\0"),
        ]);
        let error = files_of(&bytes).unwrap_err();
        assert!(error.to_string().contains("beyond DIRNAMES"), "{error}");
    }

    #[test]
    fn file_list_count_mismatch_is_error() {
        let indexes = int32s(&[0]);
        let bytes = blob(&[
            NAME,
            (tag::DIRINDEXES, kind::INT32, 1, &indexes),
            (tag::BASENAMES, kind::STRING_ARRAY, 2, b"a\0b\0"),
            (tag::DIRNAMES, kind::STRING_ARRAY, 1, b"/usr/bin/\0"),
        ]);
        assert!(files_of(&bytes).is_err());
    }

    #[test]
    fn huge_string_count_is_error() {
        let indexes = int32s(&[0]);
        let bytes = blob(&[
            NAME,
            (tag::DIRINDEXES, kind::INT32, 1, &indexes),
            (tag::BASENAMES, kind::STRING_ARRAY, u32::MAX, b"a\0"),
            (tag::DIRNAMES, kind::STRING_ARRAY, 1, b"/usr/bin/\0"),
        ]);
        let error = files_of(&bytes).unwrap_err();
        assert!(error.to_string().contains("count exceeds"), "{error}");
    }

    #[test]
    fn missing_dirnames_is_error() {
        let indexes = int32s(&[0]);
        let bytes = blob(&[
            NAME,
            (tag::DIRINDEXES, kind::INT32, 1, &indexes),
            (tag::BASENAMES, kind::STRING_ARRAY, 1, b"a\0"),
        ]);
        assert_eq!(files_of(&bytes), Err(HeaderError::MissingTag("DIRNAMES")));
    }

    #[test]
    fn empty_input_is_error() {
        assert!(matches!(
            parse_header(&[]),
            Err(HeaderError::Truncated { .. })
        ));
    }
}
