//! rpm's NDB backend, `Packages.db` (rpm's `lib/backend/ndb/rpmpkg.c`).
//!
//! The file starts with slot pages. The first 32 bytes are the database
//! header (magic `RpmP`, version, generation, number of slot pages), and
//! 16-byte slots follow. Each slot names a package index and the block
//! offset and block count of its blob, and a block offset of 0 marks a free
//! slot. Blocks are 16 bytes. A blob starts with a 16-byte head (magic
//! `BlbS`, package index, timestamp, length), then come the header blob,
//! padding, and a 12-byte tail (Adler-32 of everything before the tail,
//! length, magic `BlbE`). All integers are little-endian.

use super::{RpmDatabaseError, StoredHeader};

const PAGE_SIZE: usize = 4096;
const SLOT_SIZE: usize = 16;
const BLOCK_SIZE: usize = 16;
const DB_HEADER_SIZE: usize = 32;
const BLOB_HEAD_SIZE: usize = 16;
const BLOB_TAIL_SIZE: usize = 12;

const DB_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_HEAD_MAGIC: &[u8; 4] = b"BlbS";
const BLOB_TAIL_MAGIC: &[u8; 4] = b"BlbE";

/// Reads the header blobs of an NDB `Packages.db`, in slot order.
///
/// `path` names the file in errors.
pub(crate) fn read_ndb(bytes: &[u8], path: &str) -> Result<Vec<StoredHeader>, RpmDatabaseError> {
    let corrupt = |offset: usize, reason: String| RpmDatabaseError::Corrupt {
        backend: "NDB",
        path: path.to_string(),
        offset: offset as u64,
        reason,
    };

    if bytes.get(0..4) != Some(DB_MAGIC.as_slice()) {
        return Err(corrupt(
            0,
            "the file does not start with the NDB magic `RpmP`".to_string(),
        ));
    }
    let version =
        le_u32(bytes, 4).ok_or_else(|| corrupt(4, "truncated database header".to_string()))?;
    if version != 0 {
        return Err(corrupt(
            4,
            format!("unsupported NDB version {version}, expected 0"),
        ));
    }
    let slot_pages =
        le_u32(bytes, 12).ok_or_else(|| corrupt(12, "truncated database header".to_string()))?;
    let slots_end = (slot_pages as usize)
        .checked_mul(PAGE_SIZE)
        .filter(|end| slot_pages > 0 && *end <= bytes.len())
        .ok_or_else(|| {
            corrupt(
                12,
                format!(
                    "{slot_pages} slot pages do not fit in the {} byte file",
                    bytes.len()
                ),
            )
        })?;

    let mut headers = Vec::new();
    for slot_offset in (DB_HEADER_SIZE..slots_end).step_by(SLOT_SIZE) {
        if let Some(header) = read_slot(bytes, slot_offset, slots_end)
            .map_err(|(offset, reason)| corrupt(offset, reason))?
        {
            headers.push(header);
        }
    }
    Ok(headers)
}

/// Reads the blob a slot points to, or returns `None` for a free slot.
fn read_slot(
    bytes: &[u8],
    slot: usize,
    slots_end: usize,
) -> Result<Option<StoredHeader>, (usize, String)> {
    let field = |at: usize| le_u32(bytes, slot + at).ok_or((slot, "truncated slot".to_string()));
    if bytes.get(slot..slot + 4) != Some(SLOT_MAGIC.as_slice()) {
        return Err((
            slot,
            "slot does not start with the magic `Slot`".to_string(),
        ));
    }
    let block_offset = field(8)? as usize;
    if block_offset == 0 {
        return Ok(None);
    }
    let package_index = field(4)?;
    let block_count = field(12)? as usize;
    if package_index == 0 || block_count == 0 {
        return Err((
            slot,
            format!("used slot has package index {package_index} and {block_count} blocks"),
        ));
    }

    let start = block_offset.saturating_mul(BLOCK_SIZE);
    let end = block_count
        .checked_mul(BLOCK_SIZE)
        .and_then(|len| start.checked_add(len))
        .filter(|end| start >= slots_end && *end <= bytes.len() && *end >= start.saturating_add(BLOB_HEAD_SIZE + BLOB_TAIL_SIZE))
        .ok_or((slot, format!("package {package_index} has blocks {block_offset}+{block_count} outside the blob area")))?;
    let area = bytes
        .get(start..end)
        .ok_or((slot, "blob outside the file".to_string()))?;
    let blob = read_blob(area, package_index).map_err(|reason| (start, reason))?;
    Ok(Some(StoredHeader {
        id: package_index,
        blob: blob.to_vec(),
    }))
}

/// Checks a blob's head, tail and checksum and returns the header blob inside it.
fn read_blob(area: &[u8], package_index: u32) -> Result<&[u8], String> {
    let truncated = || format!("blob of package {package_index} is truncated");
    if area.get(0..4) != Some(BLOB_HEAD_MAGIC.as_slice()) {
        return Err(format!(
            "blob of package {package_index} does not start with the magic `BlbS`"
        ));
    }
    let stored_index = le_u32(area, 4).ok_or_else(truncated)?;
    if stored_index != package_index {
        return Err(format!(
            "blob names package {stored_index}, but its slot names package {package_index}"
        ));
    }
    let length = le_u32(area, 12).ok_or_else(truncated)? as usize;

    let tail = area
        .len()
        .checked_sub(BLOB_TAIL_SIZE)
        .ok_or_else(truncated)?;
    if area.get(tail + 8..) != Some(BLOB_TAIL_MAGIC.as_slice()) {
        return Err(format!(
            "blob of package {package_index} does not end with the magic `BlbE`"
        ));
    }
    let checksum = le_u32(area, tail).ok_or_else(truncated)?;
    let tail_length = le_u32(area, tail + 4).ok_or_else(truncated)? as usize;
    if tail_length != length || BLOB_HEAD_SIZE.saturating_add(length) > tail {
        return Err(format!(
            "blob of package {package_index} has inconsistent lengths {length} and {tail_length}"
        ));
    }
    let covered = area.get(..tail).ok_or_else(truncated)?;
    if adler32(covered) != checksum {
        return Err(format!(
            "blob of package {package_index} fails its Adler-32 checksum"
        ));
    }
    area.get(BLOB_HEAD_SIZE..BLOB_HEAD_SIZE + length)
        .ok_or_else(truncated)
}

/// Computes the Adler-32 checksum (RFC 1950) that NDB stores in each blob tail.
fn adler32(bytes: &[u8]) -> u32 {
    const MODULUS: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the longest run whose sums cannot overflow a u32 before reduction (NMAX in RFC 1950 code).
    for chunk in bytes.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MODULUS;
        b %= MODULUS;
    }
    (b << 16) | a
}

fn le_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let array: [u8; 4] = bytes.get(offset..offset.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(array))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_of_wikipedia() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
