//! Decoding of text that Windows tools write: UTF-16 with or without a byte
//! order mark, UTF-8, and the legacy code pages of a console.

use encoding_rs::{Encoding, GBK, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

/// Code page 850 (the western European OEM code page of a console),
/// bytes 0x80 to 0xFF. `encoding_rs` implements only the WHATWG encodings,
/// which leave it out.
const CP850_HIGH: [char; 128] = [
    '\u{00c7}', '\u{00fc}', '\u{00e9}', '\u{00e2}', '\u{00e4}', '\u{00e0}', '\u{00e5}', '\u{00e7}',
    '\u{00ea}', '\u{00eb}', '\u{00e8}', '\u{00ef}', '\u{00ee}', '\u{00ec}', '\u{00c4}', '\u{00c5}',
    '\u{00c9}', '\u{00e6}', '\u{00c6}', '\u{00f4}', '\u{00f6}', '\u{00f2}', '\u{00fb}', '\u{00f9}',
    '\u{00ff}', '\u{00d6}', '\u{00dc}', '\u{00f8}', '\u{00a3}', '\u{00d8}', '\u{00d7}', '\u{0192}',
    '\u{00e1}', '\u{00ed}', '\u{00f3}', '\u{00fa}', '\u{00f1}', '\u{00d1}', '\u{00aa}', '\u{00ba}',
    '\u{00bf}', '\u{00ae}', '\u{00ac}', '\u{00bd}', '\u{00bc}', '\u{00a1}', '\u{00ab}', '\u{00bb}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{00c1}', '\u{00c2}', '\u{00c0}',
    '\u{00a9}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255d}', '\u{00a2}', '\u{00a5}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252c}', '\u{251c}', '\u{2500}', '\u{253c}', '\u{00e3}', '\u{00c3}',
    '\u{255a}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256c}', '\u{00a4}',
    '\u{00f0}', '\u{00d0}', '\u{00ca}', '\u{00cb}', '\u{00c8}', '\u{0131}', '\u{00cd}', '\u{00ce}',
    '\u{00cf}', '\u{2518}', '\u{250c}', '\u{2588}', '\u{2584}', '\u{00a6}', '\u{00cc}', '\u{2580}',
    '\u{00d3}', '\u{00df}', '\u{00d4}', '\u{00d2}', '\u{00f5}', '\u{00d5}', '\u{00b5}', '\u{00fe}',
    '\u{00de}', '\u{00da}', '\u{00db}', '\u{00d9}', '\u{00fd}', '\u{00dd}', '\u{00af}', '\u{00b4}',
    '\u{00ad}', '\u{00b1}', '\u{2017}', '\u{00be}', '\u{00b6}', '\u{00a7}', '\u{00f7}', '\u{00b8}',
    '\u{00b0}', '\u{00a8}', '\u{00b7}', '\u{00b9}', '\u{00b3}', '\u{00b2}', '\u{25a0}', '\u{00a0}',
];

/// Text decoded from bytes, with the encoding that was detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text with line ends normalized to `\n`.
    pub text: String,
    /// Name of the detected encoding (`UTF-16LE`, `UTF-8`, `GBK`, `windows-1252`).
    pub encoding: &'static str,
}

/// Decodes the output of a Windows tool.
///
/// A byte order mark decides first. Without one, a NUL in every other byte
/// of the start means UTF-16 (PowerShell 5 redirects write UTF-16LE). Valid
/// UTF-8 is taken as such. Other bytes come from a legacy code page, which
/// the file does not name: GBK is chosen when it decodes without errors and
/// yields CJK characters, else windows-1252.
///
/// NOTE: of the OEM code pages only 850 is recognized. Text in another one
/// (437, 852, 866) decodes with wrong letters in labels, but the values the
/// parser reads (product names, versions, KB ids) are ASCII and stay intact.
pub fn decode(bytes: &[u8]) -> Decoded {
    if let Some(start) = utf16_after_ascii(bytes) {
        // `wmic` on Windows XP prints `Please wait while WMIC is being
        // installed.` in the code page, then its table in UTF-16LE.
        let (head, _, _) = WINDOWS_1252.decode(&bytes[..start]);
        let (tail, _, _) = UTF_16LE.decode(&bytes[start..]);
        let text = format!("{head}\n{tail}")
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        return Decoded {
            text,
            encoding: "windows-1252 then UTF-16LE",
        };
    }
    let encoding = detect(bytes);
    let (text, name) = if encoding == WINDOWS_1252 {
        western(bytes)
    } else {
        (encoding.decode(bytes).0.into_owned(), encoding.name())
    };
    // systeminfo pads with no-break spaces in some code pages (`Windows\u{a0}7`).
    let text = text
        .trim_start_matches('\u{feff}')
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\u{a0}', " ");
    Decoded {
        text,
        encoding: name,
    }
}

/// Decodes single-byte western text as code page 850 or windows-1252,
/// whichever yields more letters and fewer symbols: a console's `systeminfo > FILE` writes the
/// OEM code page, other tools the ANSI one.
fn western(bytes: &[u8]) -> (String, &'static str) {
    let oem: String = bytes
        .iter()
        .map(|&b| {
            if b < 0x80 {
                char::from(b)
            } else {
                CP850_HIGH[usize::from(b - 0x80)]
            }
        })
        .collect();
    let ansi = WINDOWS_1252.decode(bytes).0.into_owned();
    let score = |text: &str| -> i64 {
        text.chars()
            .filter(|c| !c.is_ascii())
            .map(|c| {
                if c.is_alphabetic() {
                    1
                } else if c.is_whitespace() {
                    0
                } else {
                    -1
                }
            })
            .sum()
    };
    if score(&oem) > score(&ansi) {
        (oem, "IBM850")
    } else {
        (ansi, "windows-1252")
    }
}

fn detect(bytes: &[u8]) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        return encoding;
    }
    let head = &bytes[..bytes.len().min(512)];
    let pairs = head.len() / 2;
    if pairs >= 2 {
        let odd_nuls = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
        let even_nuls = head.iter().step_by(2).filter(|b| **b == 0).count();
        if odd_nuls * 10 >= pairs * 4 && even_nuls * 10 < pairs {
            return UTF_16LE;
        }
        if even_nuls * 10 >= pairs * 4 && odd_nuls * 10 < pairs {
            return UTF_16BE;
        }
    }
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    if looks_like_gbk(bytes) {
        return GBK;
    }
    WINDOWS_1252
}

/// Returns where UTF-16LE text starts after a line of single-byte text,
/// when the file starts with single-byte text and has no byte order mark.
fn utf16_after_ascii(bytes: &[u8]) -> Option<usize> {
    if Encoding::for_bom(bytes).is_some() || bytes.len() < 8 || bytes[1] == 0 {
        return None;
    }
    let limit = bytes.len().min(4096) - 6;
    let start = (0..limit)
        .find(|&i| bytes[i] != 0 && bytes[i + 1] == 0 && bytes[i + 3] == 0 && bytes[i + 5] == 0)?;
    bytes[..start]
        .iter()
        .all(|b| *b != 0 && b.is_ascii())
        .then_some(start)
}

fn looks_like_gbk(bytes: &[u8]) -> bool {
    let (text, had_errors) = GBK.decode_without_bom_handling(bytes);
    if had_errors {
        return false;
    }
    let cjk = text
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    let other = text
        .chars()
        .filter(|c| !c.is_ascii() && !('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    cjk >= 4 && cjk > other * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16le_without_bom_detected() {
        let bytes: Vec<u8> = "Host Name: A\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let decoded = decode(&bytes);
        assert_eq!(decoded.encoding, "UTF-16LE");
        assert_eq!(decoded.text, "Host Name: A\n");
    }

    #[test]
    fn ascii_then_utf16_split() {
        let mut bytes = b"Please wait.".to_vec();
        bytes.extend("HotFixID\r\n".encode_utf16().flat_map(u16::to_le_bytes));
        let decoded = decode(&bytes);
        assert_eq!(decoded.text, "Please wait.\nHotFixID\n");
    }

    #[test]
    fn latin1_falls_back_to_windows_1252() {
        let decoded = decode(b"Versi\xf3n: 10.0\r\n");
        assert_eq!(decoded.encoding, "windows-1252");
        assert_eq!(decoded.text, "Versión: 10.0\n");
    }

    #[test]
    fn console_code_page_850_detected() {
        let decoded =
            decode(b"Versi\xa2n del sistema: 6.1\r\nMicrosoft Windows\xff7 Entreprise\r\n");
        assert_eq!(decoded.encoding, "IBM850");
        assert_eq!(
            decoded.text,
            "Versión del sistema: 6.1\nMicrosoft Windows 7 Entreprise\n"
        );
    }
}
