//! OVAL definitions documents, read in two streaming passes.
//!
//! An OVAL document lists its definitions first and the tests, objects,
//! states and variables that the definitions' criteria refer to afterwards.
//! The first pass keeps those referenced elements by id (small: a few tens of
//! thousands of short elements for a whole Debian release) and the generator
//! header. The second pass hands each definition to the caller as soon as it
//! is read, so no definition outlives its turn.

use std::collections::HashMap;

use quick_xml::events::Event;

use crate::xml_node::{local_name, Node, XmlReader};
use crate::FeedError;

/// The `<generator>` header of an OVAL document.
#[derive(Debug, Default)]
pub(crate) struct Generator {
    /// `oval:product_name`, such as `Debian` or `Canonical USN OVAL Generator`.
    pub(crate) product_name: Option<String>,
    /// `oval:timestamp` as written.
    pub(crate) timestamp: Option<String>,
}

/// Tests, objects, states and variables of a document, by OVAL id.
#[derive(Debug, Default)]
pub(crate) struct OvalIndex {
    elements: HashMap<String, Node>,
}

impl OvalIndex {
    /// Returns the element with this OVAL id.
    pub(crate) fn get(&self, id: &str) -> Option<&Node> {
        self.elements.get(id)
    }

    /// Follows the attribute `reference` of `node` (such as `object_ref`) on a
    /// child element to the element it names.
    pub(crate) fn follow<'a>(
        &'a self,
        node: &'a Node,
        reference: &str,
    ) -> Result<&'a Node, String> {
        let id = node
            .children
            .iter()
            .find_map(|child| child.attribute(reference))
            .ok_or_else(|| format!("{} {} has no {reference}", node.name, id_of(node)))?;
        self.get(id).ok_or_else(|| {
            format!(
                "{} {} refers to the missing element {id}",
                node.name,
                id_of(node)
            )
        })
    }
}

/// Returns the `id` attribute of an element, or `?` when it has none.
pub(crate) fn id_of(node: &Node) -> &str {
    node.attribute("id").unwrap_or("?")
}

/// Sections below the root whose children are kept by id in the first pass.
const INDEXED_SECTIONS: [&str; 4] = ["tests", "objects", "states", "variables"];

/// Reads the generator header and the referenced elements; this pass reads the
/// whole document, so it also finds truncation and XML errors.
pub(crate) fn read_index(
    bytes: &[u8],
    file: &str,
    expected: &'static str,
) -> Result<(Generator, OvalIndex), FeedError> {
    let mut xml = XmlReader::new(bytes, file);
    expect_root(&mut xml, file, expected)?;
    let mut generator = Generator::default();
    let mut index = OvalIndex::default();

    loop {
        match xml.next()? {
            Event::Start(start) => match local_name(&start).as_str() {
                "generator" => generator = read_generator(&xml.read_node(&start)?),
                name if INDEXED_SECTIONS.contains(&name) => read_section(&mut xml, &mut index)?,
                _ => xml.skip(&start)?,
            },
            Event::End(_) => return Ok((generator, index)),
            Event::Eof => return Err(xml.error("the file ends before </oval_definitions>")),
            _ => {}
        }
    }
}

/// Calls `visit` with each `<definition>` in document order.
pub(crate) fn for_each_definition(
    bytes: &[u8],
    file: &str,
    expected: &'static str,
    mut visit: impl FnMut(Node),
) -> Result<(), FeedError> {
    let mut xml = XmlReader::new(bytes, file);
    expect_root(&mut xml, file, expected)?;

    loop {
        match xml.next()? {
            Event::Start(start) if local_name(&start) == "definitions" => {
                return read_definitions(&mut xml, &mut visit);
            }
            Event::Start(start) => xml.skip(&start)?,
            Event::End(_) | Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

fn read_definitions(
    xml: &mut XmlReader<'_>,
    visit: &mut impl FnMut(Node),
) -> Result<(), FeedError> {
    loop {
        match xml.next()? {
            Event::Start(start) => visit(xml.read_node(&start)?),
            Event::End(_) => return Ok(()),
            Event::Eof => return Err(xml.error("the file ends inside <definitions>")),
            _ => {}
        }
    }
}

/// Reads up to the root element and checks that it is `<oval_definitions>`.
fn expect_root(
    xml: &mut XmlReader<'_>,
    file: &str,
    expected: &'static str,
) -> Result<(), FeedError> {
    loop {
        let event = xml
            .next()
            .map_err(|error| FeedError::not_feed(file, expected, error.to_string()))?;
        match event {
            Event::Start(start) if local_name(&start) == "oval_definitions" => return Ok(()),
            Event::Start(start) | Event::Empty(start) => {
                let found = format!("the root element is <{}>", local_name(&start));
                return Err(FeedError::not_feed(file, expected, found));
            }
            Event::Text(_) | Event::CData(_) => {
                let found = format!("text instead of an XML root element at line {}", xml.line());
                return Err(FeedError::not_feed(file, expected, found));
            }
            Event::Eof => {
                return Err(FeedError::not_feed(
                    file,
                    expected,
                    "the file has no XML element",
                ))
            }
            _ => {}
        }
    }
}

fn read_section(xml: &mut XmlReader<'_>, index: &mut OvalIndex) -> Result<(), FeedError> {
    loop {
        let node = match xml.next()? {
            Event::Start(start) => xml.read_node(&start)?,
            Event::Empty(start) => xml.node_from(&start)?,
            Event::End(_) => return Ok(()),
            Event::Eof => return Err(xml.error("the file ends inside an OVAL section")),
            _ => continue,
        };
        if let Some(id) = node.attribute("id") {
            index.elements.insert(id.to_string(), node);
        }
    }
}

fn read_generator(node: &Node) -> Generator {
    Generator {
        product_name: node.child_text("product_name").map(str::to_string),
        timestamp: node.child_text("timestamp").map(str::to_string),
    }
}

/// Turns a generator timestamp into a snapshot date.
///
/// A timestamp with a UTC offset is RFC 3339 and kept as written. Canonical
/// writes its timestamps without an offset (`2023-10-09T06:42:29`), and the
/// file does not say which time zone that is, so only the date is kept.
pub(crate) fn snapshot(timestamp: &str) -> String {
    let Some((date, time)) = timestamp.split_once('T') else {
        return timestamp.to_string();
    };
    let has_offset = time.ends_with('Z') || time.contains('+') || time.contains('-');
    if has_offset {
        timestamp.to_string()
    } else {
        date.to_string()
    }
}

/// One `<reference>` of a definition's metadata.
#[derive(Debug)]
pub(crate) struct Reference<'a> {
    pub(crate) source: &'a str,
    pub(crate) ref_id: &'a str,
    pub(crate) ref_url: Option<&'a str>,
}

/// Returns the `<reference>` elements of a definition's metadata.
pub(crate) fn references(metadata: &Node) -> Vec<Reference<'_>> {
    metadata
        .children_named("reference")
        .filter_map(|reference| {
            Some(Reference {
                source: reference.attribute("source")?,
                ref_id: reference.attribute("ref_id")?,
                ref_url: reference.attribute("ref_url"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_keeps_offsets_and_drops_unzoned_time() {
        assert_eq!(
            snapshot("2023-07-14T03:39:10.188-04:00"),
            "2023-07-14T03:39:10.188-04:00"
        );
        assert_eq!(snapshot("2023-10-09T06:42:29Z"), "2023-10-09T06:42:29Z");
        assert_eq!(snapshot("2023-10-09T06:42:29"), "2023-10-09");
    }

    #[test]
    fn root_must_be_oval_definitions() {
        let error = read_index(b"<feed/>", "x.xml", "OVAL").err();
        assert!(matches!(error, Some(FeedError::NotFeed { .. })));
        let error = read_index(b"{\"id\": 1}", "x.xml", "OVAL").err();
        assert!(matches!(error, Some(FeedError::NotFeed { .. })));
    }

    #[test]
    fn truncated_document_is_an_error() {
        let error = read_index(
            b"<oval_definitions><definitions><definition>",
            "x.xml",
            "OVAL",
        )
        .err();
        assert!(matches!(error, Some(FeedError::Xml { .. })));
    }
}
