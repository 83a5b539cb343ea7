//! Firehose XML documents, both directions: a tolerant parser into elements (tag + ordered,
//! unescaped attributes) and the escaping used when writing them.
//!
//! Real programmers are not strict XML writers, so the parser accepts: no `<?xml` prolog, a
//! BOM, CR/LF anywhere, comments, single or double quotes, `<`/`>` inside quoted values,
//! unknown entities (kept literally), and non-UTF-8 bytes (replaced). It rejects, with a
//! specific [`FirehoseError::Malformed`], what cannot be read: no `<data>` root, an unclosed
//! tag or quote, a missing `</data>`.

use super::error::FirehoseError;

/// One element inside `<data>`: tag and attributes in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Tag name as written (e.g. `response`, `log`, `program`).
    pub tag: String,
    /// Attributes in document order, values unescaped.
    pub attrs: Vec<(String, String)>,
}

impl Element {
    /// A new element with no attributes.
    pub fn new(tag: impl Into<String>) -> Self {
        Self {
            tag: tag.into(),
            attrs: Vec::new(),
        }
    }

    /// Builder: append an attribute.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attrs.push((name.into(), value.into()));
        self
    }

    /// First attribute whose name matches `name` case-insensitively (programmers match
    /// attribute names case-insensitively, and tools disagree on `ZLPAwareHost` spelling).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Case-insensitive tag comparison.
    pub fn is(&self, tag: &str) -> bool {
        self.tag.eq_ignore_ascii_case(tag)
    }

    /// Attribute parsed as a Firehose number (decimal or `0x` hex).
    /// `Ok(None)` when absent, an error naming element and attribute when not a number.
    pub fn attr_u64(&self, name: &str) -> Result<Option<u64>, FirehoseError> {
        match self.attr(name) {
            None => Ok(None),
            Some(v) => parse_number(v)
                .map(Some)
                .ok_or_else(|| FirehoseError::BadNumber {
                    element: self.tag.clone(),
                    attribute: name.to_string(),
                    value: v.to_string(),
                }),
        }
    }

    /// Write this element as `<tag a="v" ... />` with every value escaped.
    pub fn write_to(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.tag);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_into(v, out);
            out.push('"');
        }
        out.push_str(" />");
    }
}

/// A parsed Firehose document: the children of `<data>` in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// Elements inside `<data>`, in document order.
    pub elements: Vec<Element>,
}

impl Document {
    /// Encode as one host document: `<?xml version="1.0" ?><data>…</data>`.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::from("<?xml version=\"1.0\" ?><data>");
        for e in &self.elements {
            e.write_to(&mut s);
        }
        s.push_str("</data>");
        s.into_bytes()
    }

    /// First element with this tag (case-insensitive).
    pub fn find(&self, tag: &str) -> Option<&Element> {
        self.elements.iter().find(|e| e.is(tag))
    }
}

/// Parse a Firehose number: decimal, or hex with a `0x`/`0X` prefix; surrounding blanks and a
/// trailing `.` (decimal marker used in rawprogram files) are accepted.
pub fn parse_number(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t.strip_suffix('.').unwrap_or(t);
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        t.parse().ok()
    }
}

/// Escape `& < > " '` for an attribute value.
pub fn escape(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    escape_into(value, &mut s);
    s
}

fn escape_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
}

/// Unescape the five XML entities and numeric references; anything else is kept as written.
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|&j| j <= 12).and_then(|j| {
            let ent = &rest[1..j];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let num = if let Some(h) =
                        ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X"))
                    {
                        u32::from_str_radix(h, 16).ok()
                    } else {
                        ent.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    num.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, j + 1))
        });
        match decoded {
            Some((c, n)) => {
                out.push(c);
                rest = &rest[n..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parse one Firehose document (either direction).
pub fn parse_document(bytes: &[u8]) -> Result<Document, FirehoseError> {
    let text = String::from_utf8_lossy(bytes);
    Parser { s: &text, pos: 0 }.document()
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

/// True when `name` is usable as an XML tag or attribute name.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_') && chars.all(is_name_char)
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    fn err(&self, reason: impl Into<String>) -> FirehoseError {
        let start = floor_char(self.s, self.pos.saturating_sub(20));
        let end = floor_char(self.s, (self.pos + 40).min(self.s.len()));
        FirehoseError::Malformed {
            offset: self.pos,
            reason: reason.into(),
            excerpt: self.s.get(start..end).unwrap_or_default().to_string(),
        }
    }

    fn skip_ws(&mut self) {
        let r = self.rest();
        let t = r.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '\0');
        self.pos += r.len() - t.len();
    }

    /// Skip whitespace, comments, processing instructions and stray text until a `<` that
    /// opens an element or end tag. Returns false at end of input.
    fn skip_misc(&mut self, allow_text: bool) -> Result<bool, FirehoseError> {
        loop {
            self.skip_ws();
            let r = self.rest();
            if r.is_empty() {
                return Ok(false);
            }
            if let Some(body) = r.strip_prefix("<!--") {
                let end = body
                    .find("-->")
                    .ok_or_else(|| self.err("unclosed comment"))?;
                self.pos += 4 + end + 3;
            } else if r.starts_with("<?") {
                let end = r
                    .find("?>")
                    .ok_or_else(|| self.err("unclosed `<?` declaration"))?;
                self.pos += end + 2;
            } else if r.starts_with("<!") {
                let end = r
                    .find('>')
                    .ok_or_else(|| self.err("unclosed `<!` declaration"))?;
                self.pos += end + 1;
            } else if r.starts_with('<') {
                return Ok(true);
            } else if allow_text {
                self.pos += r.find('<').unwrap_or(r.len());
            } else {
                return Err(self.err("text where an element was expected"));
            }
        }
    }

    fn name(&mut self) -> Result<&'a str, FirehoseError> {
        let r = self.rest();
        let end = r.find(|c: char| !is_name_char(c)).unwrap_or(r.len());
        if end == 0 {
            return Err(self.err("expected a name"));
        }
        self.pos += end;
        Ok(&r[..end])
    }

    /// Parse `<tag attrs... (/>|>)` with pos at `<`. Returns the element and whether it
    /// was self-closing.
    fn start_tag(&mut self) -> Result<(Element, bool), FirehoseError> {
        self.pos += 1;
        let mut el = Element::new(self.name()?);
        loop {
            self.skip_ws();
            let r = self.rest();
            if r.starts_with("/>") {
                self.pos += 2;
                return Ok((el, true));
            }
            if r.starts_with('>') {
                self.pos += 1;
                return Ok((el, false));
            }
            if r.is_empty() {
                return Err(self.err(format!("unclosed <{}> tag", el.tag)));
            }
            let name = self.name()?;
            self.skip_ws();
            if !self.rest().starts_with('=') {
                return Err(self.err(format!("attribute `{name}` of <{}> has no `=`", el.tag)));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(name)?;
            el.attrs.push((name.to_string(), unescape(value)));
        }
    }

    fn value(&mut self, name: &str) -> Result<&'a str, FirehoseError> {
        let r = self.rest();
        match r.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let end = r[1..].find(q).ok_or_else(|| {
                    self.err(format!(
                        "value of attribute `{name}` never closes its quote"
                    ))
                })?;
                self.pos += end + 2;
                Ok(&r[1..1 + end])
            }
            Some(_) => {
                // Unquoted value: tolerated, up to whitespace or the tag end.
                let end = r
                    .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                    .unwrap_or(r.len());
                if end == 0 {
                    return Err(self.err(format!("attribute `{name}` has an empty unquoted value")));
                }
                self.pos += end;
                Ok(&r[..end])
            }
            None => Err(self.err(format!("document ends inside attribute `{name}`"))),
        }
    }

    /// Skip the content of a non-self-closing element up to its matching end tag.
    fn skip_content(&mut self, tag: &str) -> Result<(), FirehoseError> {
        let mut depth = 1usize;
        while depth > 0 {
            if !self.skip_misc(true)? {
                return Err(self.err(format!("<{tag}> is never closed")));
            }
            if self.rest().starts_with("</") {
                self.end_tag()?;
                depth -= 1;
            } else {
                let (_, self_closing) = self.start_tag()?;
                if !self_closing {
                    depth += 1;
                }
            }
        }
        Ok(())
    }

    fn end_tag(&mut self) -> Result<&'a str, FirehoseError> {
        self.pos += 2;
        let name = self.name()?;
        self.skip_ws();
        if !self.rest().starts_with('>') {
            return Err(self.err(format!("end tag </{name}> is not closed")));
        }
        self.pos += 1;
        Ok(name)
    }

    fn document(mut self) -> Result<Document, FirehoseError> {
        if !self.skip_misc(false)? {
            return Err(self.err("empty document: no <data> element"));
        }
        if self.rest().starts_with("</") {
            return Err(self.err("end tag before any <data>"));
        }
        let (root, self_closing) = self.start_tag()?;
        if !root.is("data") {
            return Err(self.err(format!("root element is <{}>, expected <data>", root.tag)));
        }
        let mut doc = Document::default();
        if self_closing {
            return Ok(doc);
        }
        loop {
            if !self.skip_misc(true)? {
                return Err(self.err("document ends before </data>"));
            }
            if self.rest().starts_with("</") {
                let name = self.end_tag()?;
                if !name.eq_ignore_ascii_case("data") {
                    return Err(self.err(format!("unexpected end tag </{name}> inside <data>")));
                }
                return Ok(doc);
            }
            let (el, self_closing) = self.start_tag()?;
            if !self_closing {
                self.skip_content(&el.tag)?;
            }
            doc.elements.push(el);
        }
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_target_response_with_logs_and_crlf() {
        let doc = parse_document(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<data>\r\n<log value=\"a &amp; b &quot;c&quot; &bogus; x<y\" />\r\n<response value='ACK' rawmode=\"true\"/>\r\n</data>",
        )
        .unwrap();
        assert_eq!(doc.elements.len(), 2);
        assert_eq!(
            doc.elements[0].attr("VALUE"),
            Some("a & b \"c\" &bogus; x<y")
        );
        assert_eq!(doc.elements[1].attr("rawmode"), Some("true"));
    }

    #[test]
    fn no_prolog_nested_and_empty() {
        let doc = parse_document(b"<data><response value=\"ACK\"><x/></response></data>").unwrap();
        assert_eq!(doc.elements[0].tag, "response");
        assert!(parse_document(b"<data/>").unwrap().elements.is_empty());
    }

    #[test]
    fn malformed_documents_are_specific() {
        for (bad, needle) in [
            (&b""[..], "empty"),
            (b"<?xml ?><root/>", "root element"),
            (b"<data><log value=\"x /></data>", "quote"),
            (b"<data><log value=\"x\" />", "before </data>"),
            (b"<data><log value /></data>", "no `=`"),
            (b"<data><log", "unclosed"),
        ] {
            let e = parse_document(bad).unwrap_err();
            assert!(
                e.to_string().contains(needle),
                "{e} should mention {needle}"
            );
        }
    }

    #[test]
    fn escape_round_trip() {
        let v = "a&b<c>d\"e'f";
        assert_eq!(escape(v), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        assert_eq!(unescape(&escape(v)), v);
        assert_eq!(unescape("&#65;&#x42;&"), "AB&");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x2000"), Some(8192));
        assert_eq!(parse_number(" 8192 "), Some(8192));
        assert_eq!(parse_number("5."), Some(5));
        assert_eq!(parse_number("NUM_DISK_SECTORS-5."), None);
    }
}
