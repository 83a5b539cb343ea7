//! Firehose: the XML protocol spoken by the uploaded programmer (docs/protocol.md §2).
//!
//! [`xml`] parses any document (both directions), [`stream`] splits a byte stream into
//! documents and raw runs, [`command`] encodes host commands (and parses them back, for a
//! device), [`response`] turns `<response>`/`<log>` into a [`Reply`], [`configure`]
//! negotiates the payload size, [`ops`] runs one command to its final response, and
//! [`logs`] reads facts out of log lines. Nothing here does I/O.

pub mod command;
mod command_parse;
pub mod configure;
pub mod error;
pub mod logs;
pub mod ops;
pub mod response;
pub mod stream;
pub mod xml;

pub use command::{Command, Configure, Patch, PowerAction, Region, VendorCommand};
pub use configure::{ConfigureNegotiation, ConfigureStep, Negotiated};
pub use error::FirehoseError;
pub use logs::StorageInfo;
pub use ops::{Op, OpEvent, RawChunk, raw_chunks};
pub use response::{Reply, Transaction};
pub use stream::{StreamItem, XmlStream};
pub use xml::{Document, Element, parse_document};
