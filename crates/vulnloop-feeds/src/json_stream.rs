//! Streams the records of a large JSON document. The elements of one array
//! under the top-level object are deserialized one at a time, so memory
//! contains one record, never the whole document.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufReader, Read};
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::FeedError;

/// Size of the read buffer under the JSON reader.
const BUFFER_BYTES: usize = 256 * 1024;

/// The layout of a document: which array contains the records and which
/// top-level fields to keep.
pub(crate) struct Layout {
    /// Format name for errors, such as `NVD JSON 1.1`.
    pub(crate) expected: &'static str,
    /// The top-level key of the record array, such as `CVE_Items`.
    pub(crate) array_key: &'static str,
    /// Top-level keys whose string or number values are returned.
    pub(crate) header_keys: &'static [&'static str],
}

/// Reads `reader` as a JSON object, calls `visit` with each element of the
/// array under `layout.array_key`, and returns the header fields found.
///
/// An element whose JSON does not fit `T` fails the whole file, with the
/// line and column of the problem, because the stream cannot resume after it.
pub(crate) fn stream_records<T: DeserializeOwned>(
    reader: Box<dyn Read + '_>,
    name: &str,
    layout: &Layout,
    mut visit: impl FnMut(T),
) -> Result<BTreeMap<&'static str, String>, FeedError> {
    let buffered = BufReader::with_capacity(BUFFER_BYTES, reader);
    let mut deserializer = serde_json::Deserializer::from_reader(buffered);
    let mut header = BTreeMap::new();
    let mut found_array = false;
    let document = Document {
        layout,
        visit: &mut visit,
        header: &mut header,
        found_array: &mut found_array,
        record: PhantomData,
    };
    let json_error = |error| FeedError::json(name, layout.expected, error);
    document
        .deserialize(&mut deserializer)
        .map_err(json_error)?;
    deserializer.end().map_err(json_error)?;

    if !found_array {
        return Err(FeedError::not_feed(
            name,
            layout.expected,
            format!("the top-level object has no {} array", layout.array_key),
        ));
    }
    Ok(header)
}

struct Document<'a, T, F> {
    layout: &'a Layout,
    visit: &'a mut F,
    header: &'a mut BTreeMap<&'static str, String>,
    found_array: &'a mut bool,
    record: PhantomData<T>,
}

impl<'de, T: DeserializeOwned, F: FnMut(T)> DeserializeSeed<'de> for Document<'_, T, F> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned, F: FnMut(T)> Visitor<'de> for Document<'_, T, F> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "a JSON object with a {} array",
            self.layout.array_key
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == self.layout.array_key {
                map.next_value_seed(Records {
                    visit: &mut *self.visit,
                    record: PhantomData,
                })?;
                *self.found_array = true;
            } else if let Some(&known) = self.layout.header_keys.iter().find(|known| **known == key)
            {
                let value: serde_json::Value = map.next_value()?;
                let text = match value {
                    serde_json::Value::String(text) => text,
                    serde_json::Value::Number(number) => number.to_string(),
                    _ => continue,
                };
                self.header.insert(known, text);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Records<'a, T, F> {
    visit: &'a mut F,
    record: PhantomData<T>,
}

impl<'de, T: DeserializeOwned, F: FnMut(T)> DeserializeSeed<'de> for Records<'_, T, F> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned, F: FnMut(T)> Visitor<'de> for Records<'_, T, F> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<T>()? {
            (self.visit)(record);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: Layout = Layout {
        expected: "test JSON",
        array_key: "items",
        header_keys: &["stamp", "count"],
    };

    fn run(json: &str) -> Result<(Vec<u32>, BTreeMap<&'static str, String>), FeedError> {
        let mut seen = Vec::new();
        let reader = Box::new(std::io::Cursor::new(json.as_bytes().to_vec()));
        let header = stream_records(reader, "t.json", &LAYOUT, |item: u32| seen.push(item))?;
        Ok((seen, header))
    }

    #[test]
    fn records_and_header_read_in_any_order() {
        let parsed =
            run(r#"{"items": [1, 2, 3], "stamp": "2024-01-01", "count": 3, "x": {"y": []}}"#);
        let Ok((items, header)) = parsed else {
            panic!("the document was not read: {parsed:?}");
        };
        assert_eq!(items, [1, 2, 3]);
        assert_eq!(header.get("stamp").map(String::as_str), Some("2024-01-01"));
        assert_eq!(header.get("count").map(String::as_str), Some("3"));
    }

    #[test]
    fn missing_array_and_trailing_bytes_rejected() {
        let missing = run(r#"{"stamp": "x"}"#)
            .err()
            .map(|error| error.to_string());
        assert!(missing.is_some_and(|message| message.contains("no items array")));
        assert!(run(r#"{"items": []} {"#).is_err());
        assert!(run(r#"[1, 2]"#).is_err());
    }
}
