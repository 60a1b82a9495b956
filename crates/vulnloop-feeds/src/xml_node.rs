//! A streaming XML reader that builds small element trees one record at a time.
//!
//! Feeds such as OVAL are large documents made of many small records. The
//! reader walks the document with quick-xml and turns only the record at hand
//! (one definition, one test) into a [`Node`] tree, so memory contains the input
//! bytes and one record, never a tree of the whole document.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::FeedError;

/// One XML element with its attributes, text and child elements.
///
/// Names are local names: namespace prefixes (`linux:`, `ind-def:`) are
/// dropped, because OVAL files write the same element with or without them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    pub(crate) name: String,
    attributes: Vec<(String, String)>,
    /// The element's own text, trimmed, with its parts joined.
    pub(crate) text: String,
    pub(crate) children: Vec<Node>,
}

impl Node {
    /// Returns the value of the attribute with this local name.
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the first child element with this local name.
    pub(crate) fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|child| child.name == name)
    }

    /// Returns the child elements with this local name.
    pub(crate) fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// Returns the text of the first child with this local name, when it is not empty.
    pub(crate) fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|child| child.text.as_str())
            .filter(|text| !text.is_empty())
    }

    /// Collects every element below this one with this local name, depth first.
    pub(crate) fn descendants<'a>(&'a self, name: &str, found: &mut Vec<&'a Node>) {
        for child in &self.children {
            if child.name == name {
                found.push(child);
            }
            child.descendants(name, found);
        }
    }
}

/// A quick-xml reader over bytes held in memory, with errors that name the file and line.
pub(crate) struct XmlReader<'a> {
    reader: Reader<&'a [u8]>,
    bytes: &'a [u8],
    file: &'a str,
}

impl<'a> XmlReader<'a> {
    /// Starts reading `bytes`; `file` names the input in errors.
    pub(crate) fn new(bytes: &'a [u8], file: &'a str) -> Self {
        let mut reader = Reader::from_reader(bytes);
        reader.config_mut().trim_text(true);
        Self {
            reader,
            bytes,
            file,
        }
    }

    /// Reads the next event.
    pub(crate) fn next(&mut self) -> Result<Event<'a>, FeedError> {
        self.reader.read_event().map_err(|error| {
            let position = self.reader.error_position();
            self.error_at(position, error.to_string())
        })
    }

    /// Skips the rest of the element that `start` opened.
    pub(crate) fn skip(&mut self, start: &BytesStart<'_>) -> Result<(), FeedError> {
        // quick-xml leaves the error position at 0 when the end tag is
        // missing, so the error is reported where reading stopped.
        self.reader
            .read_to_end(start.name())
            .map(|_| ())
            .map_err(|error| self.error(error.to_string()))
    }

    /// Reads the element that `start` opened, up to its end tag, into a tree.
    pub(crate) fn read_node(&mut self, start: &BytesStart<'_>) -> Result<Node, FeedError> {
        // An explicit stack instead of recursion: deeply nested input cannot
        // overflow the call stack.
        let mut stack = vec![self.node_from(start)?];
        loop {
            match self.next()? {
                Event::Start(child) => {
                    let node = self.node_from(&child)?;
                    stack.push(node);
                }
                Event::Empty(child) => {
                    let node = self.node_from(&child)?;
                    push_child(&mut stack, node);
                }
                Event::Text(text) => {
                    let text = text
                        .unescape()
                        .map_err(|error| self.error(error.to_string()))?;
                    append_text(&mut stack, &text);
                }
                Event::CData(data) => {
                    let text = String::from_utf8_lossy(&data.into_inner()).into_owned();
                    append_text(&mut stack, &text);
                }
                Event::End(_) => {
                    let Some(done) = stack.pop() else {
                        return Err(self.error("an end tag without a start tag"));
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Eof => {
                    let open = stack
                        .first()
                        .map(|node| node.name.clone())
                        .unwrap_or_default();
                    return Err(self.error(format!("the file ends inside <{open}>")));
                }
                _ => {}
            }
        }
    }

    /// Builds a childless node from a start or empty tag.
    pub(crate) fn node_from(&self, start: &BytesStart<'_>) -> Result<Node, FeedError> {
        let mut node = Node {
            name: local_name(start),
            ..Node::default()
        };
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|error| self.error(error.to_string()))?;
            let key = attribute.key;
            if key.as_ref().starts_with(b"xmlns") {
                continue;
            }
            let value = attribute
                .unescape_value()
                .map_err(|error| self.error(error.to_string()))?;
            let key = String::from_utf8_lossy(key.local_name().as_ref()).into_owned();
            node.attributes.push((key, value.into_owned()));
        }
        Ok(node)
    }

    /// Builds an XML error at the current position.
    pub(crate) fn error(&self, message: impl Into<String>) -> FeedError {
        self.error_at(self.reader.buffer_position(), message.into())
    }

    fn error_at(&self, position: u64, message: String) -> FeedError {
        FeedError::Xml {
            file: self.file.to_string(),
            line: self.line_at(position),
            message,
        }
    }

    /// Returns the 1-based line of a byte position.
    pub(crate) fn line_at(&self, position: u64) -> usize {
        let end = usize::try_from(position)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        self.bytes[..end]
            .iter()
            .filter(|byte| **byte == b'\n')
            .count()
            + 1
    }

    /// Returns the 1-based line of the current position.
    pub(crate) fn line(&self) -> usize {
        self.line_at(self.reader.buffer_position())
    }
}

/// Returns an element's local name as text.
pub(crate) fn local_name(start: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(start.local_name().as_ref()).into_owned()
}

fn push_child(stack: &mut [Node], node: Node) {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(node);
    }
}

fn append_text(stack: &mut [Node], text: &str) {
    let Some(node) = stack.last_mut() else { return };
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if !node.text.is_empty() {
        node.text.push(' ');
    }
    node.text.push_str(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_node(xml: &str) -> Result<Node, FeedError> {
        let mut reader = XmlReader::new(xml.as_bytes(), "test.xml");
        loop {
            match reader.next()? {
                Event::Start(start) => return reader.read_node(&start),
                Event::Eof => return Err(reader.error("no element")),
                _ => {}
            }
        }
    }

    #[test]
    fn node_keeps_local_names_and_text() {
        let xml = r#"<a:root xmlns:a="x" id="1"><a:child k="v">text &amp; more</a:child><empty/></a:root>"#;
        let node = first_node(xml).ok();
        let node = node.as_ref();
        assert_eq!(node.map(|n| n.name.as_str()), Some("root"));
        assert_eq!(node.and_then(|n| n.attribute("id")), Some("1"));
        assert_eq!(
            node.and_then(|n| n.child_text("child")),
            Some("text & more")
        );
        assert_eq!(
            node.and_then(|n| n.child("child"))
                .and_then(|c| c.attribute("k")),
            Some("v")
        );
        assert!(node.and_then(|n| n.child("empty")).is_some());
    }

    #[test]
    fn unclosed_element_reports_line() {
        let error = first_node("<root>\n<child>\n").err();
        let line = match error {
            Some(FeedError::Xml { line, .. }) => Some(line),
            _ => None,
        };
        assert_eq!(line, Some(3));
    }
}
