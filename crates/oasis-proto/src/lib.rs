//! oasis-proto: the sans-IO Sahara and Firehose protocol core. Bytes in, actions out: no I/O,
//! no threads, no clock (the driver reports silence), no printing.
//!
//! # Sahara (boot ROM, uploads the programmer) — [`sahara`]
//! A driver owns the transport and loops:
//! 1. `let mut h = SaharaHost::new(goal, Some(programmer_bytes));`
//! 2. read with a timeout (≈1 s); on bytes call `h.feed(&bytes)?`, on a timeout `h.on_silence()?`;
//! 3. perform the returned [`sahara::HostAction`]s in order: `Send(b)` → write `b`;
//!    `ExpectRaw(n)` → the board now sends `n` headerless bytes (read at least that much);
//!    `Finished(outcome)` → stop. An `Err` ends the session (errors name packet/offset/status
//!    and offer advice through [`Help`]).
//!
//! Input may arrive as one packet per USB transfer or as a split/glued byte stream.
//! [`sahara::Outcome`] is `Uploaded` (programmer runs; `trailing` bytes belong to Firehose),
//! `FirehoseAlreadyRunning { received }` (first bytes were `<?xml`), or `IdentityRead`
//! (goal `IdentityOnly`: the board re-sends HELLO and waits; feed `trailing` to the next
//! `SaharaHost`). [`sahara::packet`] is the codec the virtual device shares.
//!
//! # Firehose (the programmer's XML protocol) — [`firehose`]
//! Keep one [`firehose::XmlStream`] per session and push every read into it (seed it with the
//! Sahara `trailing`/`received` bytes). Then:
//! 1. drain start-up logs with a [`firehose::Transaction`] (or parse documents yourself) and
//!    read facts with [`firehose::logs`] (`supported_functions`, `chip_serial`);
//! 2. `let (mut neg, cmd) = ConfigureNegotiation::start("nand", 4096);` send `cmd.encode()?`,
//!    feed each reply from `Transaction::poll` to `neg.on_reply(reply)?` until
//!    `ConfigureStep::Done(negotiated)` (`negotiated.payload` is the raw chunk size);
//! 3. per command: `let (mut op, doc) = Op::start(&cmd)?;` write `doc`, then after each read
//!    `op.poll(&mut stream)?` yields [`firehose::OpEvent`]s: `Log`, `SendRaw { bytes }`
//!    (program: write the data in [`firehose::raw_chunks`], then `op.raw_sent()?`),
//!    `RawData` (read), `Done(reply)`. A NAK is `FirehoseError::Nak` with the board's logs;
//!    the driver reports silence as a timeout itself. Digest and storage info come from the
//!    final reply ([`firehose::ops::digest_from`], [`firehose::ops::storage_info_from`]).
//!
//! The device side parses host documents with [`firehose::parse_document`] and
//! [`firehose::Command::from_element`]. `benchmark` can be neither encoded nor parsed.
#![deny(missing_docs)]

pub mod firehose;
pub mod hdlc;
mod help;
pub mod sahara;

pub use help::Help;
