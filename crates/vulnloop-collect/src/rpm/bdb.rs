//! Berkeley DB hash databases, rpm's `Packages` file before rpm 4.16.
//!
//! Page 0 is the hash metadata page: its magic (0x061561) at byte 12 also
//! gives the byte order, and the page size is at byte 20. Every other page
//! starts with a 26-byte page header: next page number at byte 16, entry
//! count at byte 20, the free-space offset at byte 22 (on overflow pages,
//! the bytes used) and the page type at byte 25. A database with page
//! checksums has 6 more header bytes. Hash pages contain an array of 16-bit
//! item offsets after the header, key and data alternating. rpm's keys are
//! 4-byte header numbers, and its data items are header blobs. A blob is
//! usually too large for the page, so it is stored on a chain of overflow
//! pages, and the data item is an `H_OFFPAGE` item (type, 3 unused bytes,
//! first page, total length). The layout follows Berkeley DB's `dbinc/db_page.h`.
//!
//! The reader walks all hash pages in file order rather than the bucket
//! table, because every live item sits on exactly one hash page.

use super::{RpmDatabaseError, StoredHeader};

const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER_SIZE: usize = 26;

/// Page header size with checksums: 2 bytes of alignment and a 4-byte checksum (`PG_CHKSUM`).
const CHECKSUM_PAGE_HEADER_SIZE: usize = 32;

/// Metadata flag of databases with page checksums (`DBMETA_CHKSUM`).
const DBMETA_CHKSUM: u8 = 0x01;

/// Page types (`P_*` in `db_page.h`).
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;

/// Item types on hash pages (`H_*` in `db_page.h`).
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

/// Smallest and largest page sizes Berkeley DB allows.
const MIN_PAGE_SIZE: usize = 512;
const MAX_PAGE_SIZE: usize = 65536;

/// Byte order of the database, from the metadata magic.
#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

/// A database file split into pages.
struct Pages<'a> {
    bytes: &'a [u8],
    page_size: usize,
    /// Offset of the item offsets on hash pages and of the data on overflow pages.
    header_size: usize,
    order: Order,
    path: &'a str,
}

/// Reads the header blobs of a Berkeley DB hash `Packages` file, in page order.
///
/// `path` names the file in errors. Record 0, where rpm keeps a 4-byte counter,
/// is not a header and is skipped.
pub(crate) fn read_bdb(bytes: &[u8], path: &str) -> Result<Vec<StoredHeader>, RpmDatabaseError> {
    let pages = Pages::open(bytes, path)?;
    let page_count = bytes.len() / pages.page_size;

    let mut headers = Vec::new();
    for page in 1..page_count {
        let start = page * pages.page_size;
        let page_type = bytes.get(start + 25).copied().unwrap_or_default();
        if matches!(page_type, P_HASH | P_HASH_UNSORTED) {
            pages.read_hash_page(page, &mut headers)?;
        }
    }
    Ok(headers)
}

impl<'a> Pages<'a> {
    /// Checks the metadata page and returns the page layout.
    fn open(bytes: &'a [u8], path: &'a str) -> Result<Self, RpmDatabaseError> {
        let mut pages = Self {
            bytes,
            page_size: MIN_PAGE_SIZE,
            header_size: PAGE_HEADER_SIZE,
            order: Order::Little,
            path,
        };
        let magic = pages.u32_at(12).ok_or_else(|| {
            pages.corrupt(
                0,
                "the file is too short for a Berkeley DB metadata page".into(),
            )
        })?;
        pages.order = if magic == HASH_MAGIC {
            Order::Little
        } else if magic.swap_bytes() == HASH_MAGIC {
            Order::Big
        } else {
            return Err(pages.corrupt(
                12,
                format!("magic {magic:#x} is not that of a Berkeley DB hash database (0x61561)"),
            ));
        };

        let page_size = pages.u32_at(20).unwrap_or_default() as usize;
        if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(pages.corrupt(20, format!("invalid page size {page_size}")));
        }
        pages.page_size = page_size;
        if !bytes.len().is_multiple_of(page_size) {
            return Err(pages.corrupt(bytes.len(), format!("the file length is not a multiple of the page size {page_size}, so it is truncated")));
        }
        if bytes.get(24).copied().unwrap_or_default() != 0 {
            return Err(pages.corrupt(24, "the database is encrypted".into()));
        }
        // NOTE: the checksum layout follows Berkeley DB's `db_page.h`; no
        // checksummed rpm database was at hand to test it, and checksums are not verified.
        if bytes.get(26).copied().unwrap_or_default() & DBMETA_CHKSUM != 0 {
            pages.header_size = CHECKSUM_PAGE_HEADER_SIZE;
        }
        Ok(pages)
    }

    /// Reads the key/data pairs of one hash page.
    fn read_hash_page(
        &self,
        page: usize,
        headers: &mut Vec<StoredHeader>,
    ) -> Result<(), RpmDatabaseError> {
        let start = page * self.page_size;
        let entries = self.u16_at(start + 20).unwrap_or_default() as usize;
        let offsets: Vec<usize> = (0..entries)
            .map(|index| {
                self.u16_at(start + self.header_size + 2 * index)
                    .map(usize::from)
            })
            .collect::<Option<_>>()
            .ok_or_else(|| {
                self.corrupt(
                    start,
                    format!("hash page {page} lists more items than fit in it"),
                )
            })?;

        for pair in 0..entries / 2 {
            let key = self.item(page, &offsets, 2 * pair)?;
            let data = self.item(page, &offsets, 2 * pair + 1)?;
            let Some(id) = self.key_id(page, key)? else {
                continue;
            };
            let blob = self.data_blob(page, data)?;
            headers.push(StoredHeader { id, blob });
        }
        Ok(())
    }

    /// Returns item `index` of a hash page. Items are packed from the page end
    /// downwards, so an item ends where the previous one starts.
    fn item(
        &self,
        page: usize,
        offsets: &[usize],
        index: usize,
    ) -> Result<&'a [u8], RpmDatabaseError> {
        let start = page * self.page_size;
        let end = match index.checked_sub(1) {
            None => self.page_size,
            Some(previous) => offsets.get(previous).copied().unwrap_or_default(),
        };
        let offset = offsets.get(index).copied().unwrap_or_default();
        if offset < self.header_size || offset >= end || end > self.page_size {
            return Err(self.corrupt(
                start,
                format!("hash page {page} item {index} has invalid offset {offset}"),
            ));
        }
        self.bytes.get(start + offset..start + end).ok_or_else(|| {
            self.corrupt(
                start,
                format!("hash page {page} item {index} lies outside the file"),
            )
        })
    }

    /// Returns the header number of a key item, or `None` for rpm's record 0.
    fn key_id(&self, page: usize, key: &[u8]) -> Result<Option<u32>, RpmDatabaseError> {
        let start = page * self.page_size;
        if key.first() != Some(&H_KEYDATA) || key.len() != 5 {
            return Err(self.corrupt(
                start,
                format!("hash page {page} has a key that is not a 4-byte header number"),
            ));
        }
        let id = self.read_u32(key, 1).unwrap_or_default();
        Ok((id != 0).then_some(id))
    }

    /// Returns the bytes of a data item, following overflow pages.
    fn data_blob(&self, page: usize, data: &[u8]) -> Result<Vec<u8>, RpmDatabaseError> {
        let start = page * self.page_size;
        match data.first() {
            Some(&H_KEYDATA) => Ok(data.get(1..).unwrap_or_default().to_vec()),
            Some(&H_OFFPAGE) => {
                let first = self.read_u32(data, 4);
                let length = self.read_u32(data, 8);
                match (first, length) {
                    (Some(first), Some(length)) => self.overflow_chain(first, length as usize),
                    _ => Err(self.corrupt(
                        start,
                        format!("hash page {page} has a truncated off-page item"),
                    )),
                }
            }
            other => Err(self.corrupt(
                start,
                format!("hash page {page} has a data item of unsupported type {other:?}"),
            )),
        }
    }

    /// Concatenates `length` bytes from the chain of overflow pages starting at `first`.
    fn overflow_chain(&self, first: u32, length: usize) -> Result<Vec<u8>, RpmDatabaseError> {
        let page_count = self.bytes.len() / self.page_size;
        let mut blob = Vec::with_capacity(length.min(self.bytes.len()));
        let mut page = first as usize;
        // A chain never visits a page twice, so more steps than pages means a loop.
        for _ in 0..page_count {
            if page == 0 || page >= page_count {
                return Err(self.corrupt(0, format!("overflow chain points to page {page}, outside the file's {page_count} pages")));
            }
            let start = page * self.page_size;
            if self.bytes.get(start + 25) != Some(&P_OVERFLOW) {
                return Err(self.corrupt(
                    start,
                    format!("page {page} in an overflow chain is not an overflow page"),
                ));
            }
            let used = self.u16_at(start + 22).unwrap_or_default() as usize;
            let take = used.min(length - blob.len());
            let chunk = self
                .bytes
                .get(start + self.header_size..start + self.header_size + take)
                .filter(|_| self.header_size + used <= self.page_size)
                .ok_or_else(|| {
                    self.corrupt(
                        start,
                        format!("overflow page {page} claims {used} bytes, more than fit"),
                    )
                })?;
            blob.extend_from_slice(chunk);
            if blob.len() >= length {
                return Ok(blob);
            }
            page = self.u32_at(start + 16).unwrap_or_default() as usize;
        }
        Err(self.corrupt(
            0,
            format!("overflow chain starting at page {first} loops or ends before {length} bytes"),
        ))
    }

    fn u32_at(&self, offset: usize) -> Option<u32> {
        self.read_u32(self.bytes, offset)
    }

    fn read_u32(&self, bytes: &[u8], offset: usize) -> Option<u32> {
        let array: [u8; 4] = bytes.get(offset..offset.checked_add(4)?)?.try_into().ok()?;
        Some(match self.order {
            Order::Little => u32::from_le_bytes(array),
            Order::Big => u32::from_be_bytes(array),
        })
    }

    fn u16_at(&self, offset: usize) -> Option<u16> {
        let array: [u8; 2] = self
            .bytes
            .get(offset..offset.checked_add(2)?)?
            .try_into()
            .ok()?;
        Some(match self.order {
            Order::Little => u16::from_le_bytes(array),
            Order::Big => u16::from_be_bytes(array),
        })
    }

    fn corrupt(&self, offset: usize, reason: String) -> RpmDatabaseError {
        RpmDatabaseError::Corrupt {
            backend: "Berkeley DB",
            path: self.path.to_string(),
            offset: offset as u64,
            reason,
        }
    }
}
