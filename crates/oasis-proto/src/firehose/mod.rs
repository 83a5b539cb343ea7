//! Firehose: the XML protocol spoken by the uploaded programmer (protocols.md §2).
//!
//! [`xml`] parses any document (both directions), [`stream`] splits a byte stream into
//! documents and raw runs, [`command`] encodes host commands (and parses them back, for a
//! device). Nothing here does I/O.

pub mod command;
mod command_parse;
pub mod error;
pub mod stream;
pub mod xml;

pub use command::{Command, Configure, Patch, PowerAction, Region, VendorCommand};
pub use error::FirehoseError;
pub use stream::{StreamItem, XmlStream};
pub use xml::{Document, Element, parse_document};
