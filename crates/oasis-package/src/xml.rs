//! A small, bounded XML tree built with quick-xml: BOM and CRLF tolerant, line numbers kept,
//! no DTDs and no entities beyond the five predefined ones (nothing is ever expanded or fetched).

use std::path::{Path, PathBuf};

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::error::PackageError;

/// Largest XML file read (real ones are a few KiB; big eMMC layouts well under 1 MiB).
pub const MAX_XML_BYTES: u64 = 16 * 1024 * 1024;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
const MAX_ELEMENTS: usize = 200_000;

/// One element with its attributes (in document order, unescaped), children and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Element name as written.
    pub name: String,
    /// Attributes in document order.
    pub attrs: Vec<(String, String)>,
    /// Child elements.
    pub children: Vec<Element>,
    /// Concatenated text content (trimmed).
    pub text: String,
    /// 1-based line of the start tag.
    pub line: u32,
}

impl Element {
    /// The value of an attribute, matched case-insensitively (as the programmers do).
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The first child with this name (case-insensitive).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// All children with this name (case-insensitive).
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }

    /// Trimmed text of the first child with this name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// A parsed document: its root element and the file it came from.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file the document was read from (for error messages).
    pub file: PathBuf,
    /// The root element.
    pub root: Element,
    /// Whether the file started with a UTF-8 BOM.
    pub had_bom: bool,
}

/// Read and parse an XML file.
pub fn parse_file(path: &Path) -> Result<Document, PackageError> {
    let bytes = crate::fsutil::read_limited(path, MAX_XML_BYTES)?;
    parse_bytes(path, &bytes)
}

/// Parse XML bytes; `file` is only used in errors.
pub fn parse_bytes(file: &Path, bytes: &[u8]) -> Result<Document, PackageError> {
    let (had_bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let text = std::str::from_utf8(body).map_err(|e| PackageError::XmlEncoding {
        file: file.to_path_buf(),
        offset: e.valid_up_to() + usize::from(had_bom) * 3,
    })?;
    let root = TreeBuilder::new(file, text).run()?;
    Ok(Document {
        file: file.to_path_buf(),
        root,
        had_bom,
    })
}

/// Maps byte offsets to 1-based line numbers.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { starts }
    }

    fn line(&self, offset: u64) -> u32 {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let idx = self.starts.partition_point(|&s| s <= offset);
        u32::try_from(idx.max(1)).unwrap_or(u32::MAX)
    }
}

struct TreeBuilder<'a> {
    file: &'a Path,
    text: &'a str,
    lines: Lines,
    stack: Vec<Element>,
    root: Option<Element>,
    count: usize,
}

impl<'a> TreeBuilder<'a> {
    fn new(file: &'a Path, text: &'a str) -> Self {
        TreeBuilder {
            file,
            text,
            lines: Lines::new(text),
            stack: Vec::new(),
            root: None,
            count: 0,
        }
    }

    fn syntax(&self, offset: u64, message: String) -> PackageError {
        PackageError::XmlSyntax {
            file: self.file.to_path_buf(),
            line: self.lines.line(offset),
            message,
        }
    }

    fn run(mut self) -> Result<Element, PackageError> {
        let mut reader = quick_xml::Reader::from_str(self.text);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        loop {
            let pos = reader.buffer_position();
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => return Err(self.read_error(reader.error_position(), &e)),
            };
            match event {
                Event::Start(start) => self.open(&start, pos, false)?,
                Event::Empty(start) => self.open(&start, pos, true)?,
                Event::End(_) => self.close(pos)?,
                Event::Text(t) => self.add_text(&t.xml10_content(), pos)?,
                Event::CData(t) => self.add_text(&t.xml10_content(), pos)?,
                Event::GeneralRef(r) => self.general_ref(&r, pos)?,
                Event::DocType(_) => {
                    return Err(PackageError::DtdNotAllowed {
                        file: self.file.to_path_buf(),
                        line: self.lines.line(pos),
                    });
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
                Event::Eof => return self.finish(pos),
            }
        }
    }

    fn read_error(&self, pos: u64, e: &quick_xml::Error) -> PackageError {
        if let Some(open) = self.stack.last() {
            let eof = matches!(e, quick_xml::Error::Syntax(_))
                && usize::try_from(pos)
                    .is_ok_and(|p| self.text[p.min(self.text.len())..].find('>').is_none());
            if eof {
                return PackageError::XmlTruncated {
                    file: self.file.to_path_buf(),
                    line: open.line,
                    element: open.name.clone(),
                };
            }
        }
        self.syntax(pos, e.to_string())
    }

    fn open(&mut self, start: &BytesStart<'_>, pos: u64, empty: bool) -> Result<(), PackageError> {
        let line = self.lines.line(pos);
        self.count += 1;
        if self.count > MAX_ELEMENTS {
            return Err(self.too_complex(line, "elements", MAX_ELEMENTS));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.too_complex(line, "nesting levels", MAX_DEPTH));
        }
        if self.stack.is_empty() && self.root.is_some() {
            return Err(self.syntax(pos, "more than one root element".into()));
        }
        let name = start.name().as_ref().to_string();
        let mut attrs = Vec::new();
        for attr in start.attributes().with_checks(true) {
            let attr = attr.map_err(|e| self.syntax(pos, format!("in <{name}>: {e}")))?;
            let key = attr.key.as_ref().to_string();
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.entity_error(line, &attr.value, &e))?;
            attrs.push((key, value.into_owned()));
        }
        let element = Element {
            name,
            attrs,
            children: Vec::new(),
            text: String::new(),
            line,
        };
        if empty {
            self.attach(element);
        } else {
            self.stack.push(element);
        }
        Ok(())
    }

    fn entity_error(&self, line: u32, raw: &str, e: &quick_xml::Error) -> PackageError {
        // Name the first entity reference that is not predefined or a character reference.
        let entity = raw
            .split('&')
            .skip(1)
            .filter_map(|s| s.split(';').next())
            .find(|s| !s.starts_with('#') && !matches!(*s, "lt" | "gt" | "amp" | "apos" | "quot"));
        match entity {
            Some(entity) => PackageError::EntityNotAllowed {
                file: self.file.to_path_buf(),
                line,
                entity: entity.to_string(),
            },
            None => PackageError::XmlSyntax {
                file: self.file.to_path_buf(),
                line,
                message: e.to_string(),
            },
        }
    }

    fn too_complex(&self, line: u32, what: &'static str, limit: usize) -> PackageError {
        PackageError::XmlTooComplex {
            file: self.file.to_path_buf(),
            line,
            what,
            limit,
        }
    }

    fn attach(&mut self, element: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
    }

    fn close(&mut self, pos: u64) -> Result<(), PackageError> {
        let mut element = self
            .stack
            .pop()
            .ok_or_else(|| self.syntax(pos, "closing tag without an open element".into()))?;
        element.text = element.text.trim().to_string();
        self.attach(element);
        Ok(())
    }

    fn add_text(&mut self, text: &str, pos: u64) -> Result<(), PackageError> {
        match self.stack.last_mut() {
            Some(top) => top.text.push_str(text),
            None if text.trim().is_empty() => {}
            None => return Err(self.syntax(pos, "text outside the root element".into())),
        }
        Ok(())
    }

    fn general_ref(
        &mut self,
        r: &quick_xml::events::BytesRef<'_>,
        pos: u64,
    ) -> Result<(), PackageError> {
        let line = self.lines.line(pos);
        let resolved: Option<String> = if r.is_char_ref() {
            r.resolve_char_ref().ok().flatten().map(String::from)
        } else {
            quick_xml::escape::resolve_predefined_entity(&r.xml10_content()).map(str::to_string)
        };
        match resolved {
            Some(s) => self.add_text(&s, pos),
            None => Err(PackageError::EntityNotAllowed {
                file: self.file.to_path_buf(),
                line,
                entity: r.xml10_content().into_owned(),
            }),
        }
    }

    fn finish(mut self, pos: u64) -> Result<Element, PackageError> {
        if let Some(open) = self.stack.pop() {
            return Err(PackageError::XmlTruncated {
                file: self.file.to_path_buf(),
                line: open.line,
                element: open.name,
            });
        }
        self.root
            .take()
            .ok_or_else(|| self.syntax(pos, "no root element (empty or truncated file)".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Document, PackageError> {
        parse_bytes(Path::new("t.xml"), s.as_bytes())
    }

    #[test]
    fn lines_attributes_and_bom() {
        let doc = parse("\u{feff}<?xml version=\"1.0\"?>\r\n<data>\n <!-- c -->\r\n <program a=\"1\" B='x&amp;y'/>\n</data>\n").unwrap();
        assert!(doc.had_bom);
        assert_eq!(doc.root.name, "data");
        let p = &doc.root.children[0];
        assert_eq!(p.line, 4);
        assert_eq!(p.attr("A"), Some("1"));
        assert_eq!(p.attr("b"), Some("x&y"));
    }

    #[test]
    fn truncated_names_open_element() {
        let e = parse("<data>\n<program a=\"1\"/>\n<prog").unwrap_err();
        assert!(
            matches!(e, PackageError::XmlTruncated { ref element, line: 1, .. } if element == "data"),
            "{e:?}"
        );
        let e = parse("<data>\n<program a=\"1\"/>\n").unwrap_err();
        assert!(
            matches!(e, PackageError::XmlTruncated { ref element, .. } if element == "data"),
            "{e:?}"
        );
    }

    #[test]
    fn doctype_and_custom_entities_refused() {
        let e = parse("<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY a \"x\">]>\n<data/>")
            .unwrap_err();
        assert!(
            matches!(e, PackageError::DtdNotAllowed { line: 2, .. }),
            "{e:?}"
        );
        let e = parse("<data>\n<p v=\"&a;\"/></data>").unwrap_err();
        assert!(
            matches!(e, PackageError::EntityNotAllowed { ref entity, line: 2, .. } if entity == "a"),
            "{e:?}"
        );
        let e = parse("<data>&xxe;</data>").unwrap_err();
        assert!(
            matches!(e, PackageError::EntityNotAllowed { ref entity, .. } if entity == "xxe"),
            "{e:?}"
        );
    }

    #[test]
    fn empty_and_garbage() {
        assert!(matches!(
            parse("").unwrap_err(),
            PackageError::XmlSyntax { .. }
        ));
        assert!(matches!(
            parse("<a></b>").unwrap_err(),
            PackageError::XmlSyntax { .. }
        ));
        let e = parse_bytes(Path::new("t.xml"), b"<a>\xff</a>").unwrap_err();
        assert!(
            matches!(e, PackageError::XmlEncoding { offset: 3, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn depth_limit() {
        let s = "<a>".repeat(100);
        let e = parse(&s).unwrap_err();
        assert!(
            matches!(
                e,
                PackageError::XmlTooComplex {
                    what: "nesting levels",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
