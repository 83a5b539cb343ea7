//! Target → host messages: `<response>` ACK/NAK with all attributes, and the `<log>` lines
//! around it, collected per command by [`Transaction`] so a NAK keeps the board's own words.

use super::error::FirehoseError;
use super::stream::{StreamItem, XmlStream};
use super::xml::{Document, Element, parse_document, parse_number};

/// The board's answer to one command, with the log lines that came before it (and in the
/// same document after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `value="ACK"`.
    Ack {
        /// All attributes of the `<response>`, in order.
        attrs: Vec<(String, String)>,
        /// The board's log lines for this command.
        logs: Vec<String>,
        /// `rawmode="true"`: raw data follows (program: host sends; read: board sends).
        rawmode: bool,
    },
    /// `value="NAK"` (or any value other than ACK).
    Nak {
        /// The board's log lines for this command (they say why).
        logs: Vec<String>,
        /// All attributes of the `<response>`, in order.
        attrs: Vec<(String, String)>,
    },
}

fn find<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Reply {
    /// Build from a `<response>` element and the logs collected so far.
    pub fn from_element(el: &Element, logs: Vec<String>) -> Self {
        let attrs = el.attrs.clone();
        if el
            .attr("value")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("ACK"))
        {
            let rawmode = el
                .attr("rawmode")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            Reply::Ack {
                attrs,
                logs,
                rawmode,
            }
        } else {
            Reply::Nak { logs, attrs }
        }
    }

    /// True for ACK.
    pub fn is_ack(&self) -> bool {
        matches!(self, Reply::Ack { .. })
    }

    /// True for an ACK with `rawmode="true"`.
    pub fn rawmode(&self) -> bool {
        matches!(self, Reply::Ack { rawmode: true, .. })
    }

    /// Attributes of the response.
    pub fn attrs(&self) -> &[(String, String)] {
        match self {
            Reply::Ack { attrs, .. } | Reply::Nak { attrs, .. } => attrs,
        }
    }

    /// The board's log lines.
    pub fn logs(&self) -> &[String] {
        match self {
            Reply::Ack { logs, .. } | Reply::Nak { logs, .. } => logs,
        }
    }

    /// Append log lines that arrived after the response (drained by the driver).
    pub fn add_logs(&mut self, more: impl IntoIterator<Item = String>) {
        match self {
            Reply::Ack { logs, .. } | Reply::Nak { logs, .. } => logs.extend(more),
        }
    }

    /// Attribute by name, case-insensitively.
    pub fn attr(&self, name: &str) -> Option<&str> {
        find(self.attrs(), name)
    }

    /// Attribute as a Firehose number (decimal or `0x` hex); `None` when absent or not a number.
    pub fn attr_u64(&self, name: &str) -> Option<u64> {
        self.attr(name).and_then(parse_number)
    }

    /// `AttemptRetry="1"` (transport trouble on the board side).
    pub fn attempt_retry(&self) -> bool {
        self.attr("AttemptRetry").is_some_and(|v| v.trim() == "1")
    }

    /// ACK → `Ok(self)`; NAK → [`FirehoseError::Nak`] naming `command` with the board's logs.
    pub fn into_result(self, command: &str) -> Result<Reply, FirehoseError> {
        match self {
            Reply::Nak { logs, attrs } => Err(FirehoseError::Nak {
                command: command.to_string(),
                logs,
                attrs,
            }),
            ack => Ok(ack),
        }
    }
}

/// Text of a `<log value="…"/>` element.
pub fn log_text(el: &Element) -> Option<&str> {
    if el.is("log") { el.attr("value") } else { None }
}

/// Collects the documents answering one command until its `<response>`.
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    command: String,
    logs: Vec<String>,
}

impl Transaction {
    /// A transaction for the command with this tag (used in error messages).
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            logs: Vec::new(),
        }
    }

    /// The command tag.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Logs collected so far (before the response).
    pub fn logs(&self) -> &[String] {
        &self.logs
    }

    /// Take one parsed document. Returns the reply when the document holds a `<response>`;
    /// its log lines (also those after the response in the same document) go with it.
    pub fn on_document(&mut self, doc: &Document) -> Option<Reply> {
        let mut response = None;
        for el in &doc.elements {
            if let Some(text) = log_text(el) {
                self.logs.push(text.to_string());
            } else if el.is("response") && response.is_none() {
                response = Some(el);
            }
        }
        response.map(|el| Reply::from_element(el, std::mem::take(&mut self.logs)))
    }

    /// Pull documents out of `stream` until a reply is complete (`Ok(None)`: need more
    /// bytes). Raw items are not expected here and are an error naming the command.
    pub fn poll(&mut self, stream: &mut XmlStream) -> Result<Option<Reply>, FirehoseError> {
        while let Some(item) = stream.next_item()? {
            match item {
                StreamItem::Document(bytes) => {
                    if let Some(reply) = self.on_document(&parse_document(&bytes)?) {
                        return Ok(Some(reply));
                    }
                }
                StreamItem::Raw(raw) => {
                    return Err(FirehoseError::RawLength {
                        command: self.command.clone(),
                        expected: 0,
                        got: raw.len() as u64,
                    });
                }
            }
        }
        Ok(None)
    }
}
