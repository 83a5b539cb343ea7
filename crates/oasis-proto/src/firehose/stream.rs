//! Splits a Firehose byte stream into whole documents and raw-data runs.
//!
//! Reads from a COM port (or a USB pipe) may cut a document anywhere or glue several together,
//! and after a `rawmode="true"` ACK of a `<read>` the next N bytes are raw sector data. Feed
//! bytes with [`XmlStream::push`], say how many raw bytes to expect with
//! [`XmlStream::expect_raw`], and pull [`StreamItem`]s with [`XmlStream::next_item`].

use super::error::FirehoseError;

/// Largest document the splitter buffers before giving up on finding `</data>`.
/// Programmers announce MaxXMLSizeInBytes = 4096; logs are one line each.
pub const MAX_DOCUMENT_LEN: usize = 64 * 1024;

const END: &[u8] = b"</data>";

/// One unit taken from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// A complete document, from its first `<` to the end of `</data>` (or `<data/>`).
    Document(Vec<u8>),
    /// Raw bytes (part of the run announced with [`XmlStream::expect_raw`]).
    Raw(Vec<u8>),
}

/// Buffering splitter for Firehose input.
#[derive(Debug, Default, Clone)]
pub struct XmlStream {
    buf: Vec<u8>,
    raw_remaining: u64,
    junk_skipped: u64,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Position of the next document start (`<?xml` or `<data`) at or after `from`.
fn find_start(hay: &[u8], from: usize) -> Option<usize> {
    let a = find(hay, b"<?xml", from);
    let b = find(hay, b"<data", from);
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl XmlStream {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next `n` bytes of the stream are raw data (added to any raw run still pending).
    pub fn expect_raw(&mut self, n: u64) {
        self.raw_remaining = self.raw_remaining.saturating_add(n);
    }

    /// Raw bytes still expected.
    pub fn raw_remaining(&self) -> u64 {
        self.raw_remaining
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Count of junk bytes dropped between documents so far.
    pub fn junk_skipped(&self) -> u64 {
        self.junk_skipped
    }

    /// Take everything buffered (e.g. to hand the rest of a stream to another parser).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Next complete item, `Ok(None)` when more bytes are needed.
    ///
    /// Errors: [`FirehoseError::Truncated`] when a new document begins before the previous
    /// one's `</data>` (the cut document is dropped; the stream resynchronises on the new one),
    /// [`FirehoseError::TooLarge`] when [`MAX_DOCUMENT_LEN`] bytes hold no `</data>` (the
    /// buffer is dropped).
    pub fn next_item(&mut self) -> Result<Option<StreamItem>, FirehoseError> {
        if self.raw_remaining > 0 {
            if self.buf.is_empty() {
                return Ok(None);
            }
            let n = usize::try_from(self.raw_remaining)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            let rest = self.buf.split_off(n);
            let raw = std::mem::replace(&mut self.buf, rest);
            self.raw_remaining -= n as u64;
            return Ok(Some(StreamItem::Raw(raw)));
        }
        self.next_document()
    }

    fn skip_junk(&mut self) -> bool {
        match find_start(&self.buf, 0) {
            Some(start) => {
                self.junk_skipped += start as u64;
                self.buf.drain(..start);
                true
            }
            None => {
                // Keep a tail that may be the beginning of `<?xml` / `<data`.
                let keep = self
                    .buf
                    .iter()
                    .rposition(|&b| b == b'<')
                    .filter(|&p| self.buf.len() - p < 5)
                    .unwrap_or(self.buf.len());
                self.junk_skipped += keep as u64;
                self.buf.drain(..keep);
                false
            }
        }
    }

    fn next_document(&mut self) -> Result<Option<StreamItem>, FirehoseError> {
        if !self.skip_junk() {
            return Ok(None);
        }
        let body = find(&self.buf, b"<data", 0);
        let mut next = find_start(&self.buf, 1);
        if self.buf.starts_with(b"<?xml") && body.is_some() && next == body {
            // The `<data` right after our own prolog is part of this document.
            next = body.and_then(|b| find_start(&self.buf, b + 1));
        }
        let end = body.and_then(|b| self.document_end(b));
        match (end, next) {
            (Some(end), next) if next.is_none_or(|n| n >= end) => {
                let rest = self.buf.split_off(end);
                let doc = std::mem::replace(&mut self.buf, rest);
                Ok(Some(StreamItem::Document(doc)))
            }
            (_, Some(n)) => {
                let rest = self.buf.split_off(n);
                let cut = std::mem::replace(&mut self.buf, rest);
                Err(FirehoseError::Truncated {
                    len: cut.len(),
                    excerpt: String::from_utf8_lossy(cut.get(..80).unwrap_or(&cut)).into_owned(),
                })
            }
            _ if self.buf.len() > MAX_DOCUMENT_LEN => {
                let len = self.buf.len();
                self.buf.clear();
                Err(FirehoseError::TooLarge {
                    len,
                    max: MAX_DOCUMENT_LEN,
                })
            }
            _ => Ok(None),
        }
    }

    /// End offset (exclusive) of the document whose root `<data` is at `data`, if complete.
    fn document_end(&self, data: usize) -> Option<usize> {
        // `<data/>` (empty, self-closing root): find the root tag's own `>`.
        let gt = data + self.buf.get(data..)?.iter().position(|&b| b == b'>')?;
        if gt > 0 && self.buf.get(gt - 1) == Some(&b'/') {
            return Some(gt + 1);
        }
        find(&self.buf, END, gt).map(|p| p + END.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(s: &mut XmlStream) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(item) = s.next_item().unwrap() {
            match item {
                StreamItem::Document(d) => out.push(String::from_utf8(d).unwrap()),
                StreamItem::Raw(r) => out.push(format!("RAW{}", r.len())),
            }
        }
        out
    }

    #[test]
    fn glued_split_and_junk() {
        let a = "<?xml version=\"1.0\" ?>\n<data>\n<log value=\"x\" />\n</data>";
        let b = "<data><response value=\"ACK\" /></data>";
        let all = format!("\r\n\0junk{a}\r\n{b}  ");
        let mut s = XmlStream::new();
        let mut got = Vec::new();
        for byte in all.as_bytes() {
            s.push(&[*byte]);
            got.extend(docs(&mut s));
        }
        assert_eq!(got, vec![a.to_string(), b.to_string()]);
    }

    #[test]
    fn raw_run_between_documents() {
        let mut s = XmlStream::new();
        s.push(b"<data><response value=\"ACK\" rawmode=\"true\" /></data>");
        assert_eq!(docs(&mut s).len(), 1);
        s.expect_raw(6);
        s.push(b"<data>\0<?xml version=\"1.0\" ?><data><response value=\"ACK\" /></data>");
        assert_eq!(
            docs(&mut s),
            vec![
                "RAW6".to_string(),
                "<?xml version=\"1.0\" ?><data><response value=\"ACK\" /></data>".into()
            ]
        );
        assert_eq!(s.raw_remaining(), 0);
    }

    #[test]
    fn truncated_document_resynchronises() {
        let mut s = XmlStream::new();
        s.push(b"<?xml version=\"1.0\" ?><data><log value=\"cut<?xml version=\"1.0\" ?><data><log value=\"ok\" /></data>");
        assert!(matches!(
            s.next_item(),
            Err(FirehoseError::Truncated { .. })
        ));
        assert_eq!(docs(&mut s).len(), 1);
    }

    #[test]
    fn oversize_is_reported() {
        let mut s = XmlStream::new();
        s.push(b"<data>");
        s.push(&vec![b'a'; MAX_DOCUMENT_LEN + 1]);
        assert!(matches!(s.next_item(), Err(FirehoseError::TooLarge { .. })));
        assert_eq!(s.buffered(), 0);
    }
}
