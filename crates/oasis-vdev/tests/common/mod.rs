//! Helpers shared by the integration tests: kit-generated programmers, the real-world corpus
//! (`OASIS_REALWORLD`), reading transfers, Firehose documents.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use oasis_proto::firehose::xml::{Element, parse_document};
use oasis_transport::{Transport, TransportErrorKind};
use oasis_vdev::{BoardOptions, FaultSpec, Profile, StartIn, VirtualBoard, VirtualLink};

pub const T: Duration = Duration::from_millis(200);

/// A file of the real-world corpus (`OASIS_REALWORLD`); only the ignored `realworld_*` tests
/// call this, after checking the variable is set.
pub fn fixture(rel: &str) -> Vec<u8> {
    let base = std::env::var_os("OASIS_REALWORLD").unwrap_or_default();
    let p = std::path::Path::new(&base).join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A kit-generated programmer (oasis-testkit), whole.
pub fn programmer(spec: &oasis_testkit::programmer::ProgrammerSpec) -> Vec<u8> {
    spec.build().bytes
}

/// Read one transfer.
pub fn read1(link: &mut impl Transport) -> Result<Vec<u8>, TransportErrorKind> {
    let mut buf = vec![0u8; 1 << 20];
    link.read(&mut buf, T)
        .map(|n| buf[..n].to_vec())
        .map_err(|e| e.kind)
}

/// Read every queued transfer.
pub fn drain(link: &mut impl Transport) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| read1(link).ok()).collect()
}

/// Read every queued transfer as a Firehose document's first element.
pub fn docs(link: &mut impl Transport) -> Vec<Element> {
    drain(link)
        .iter()
        .map(|d| {
            parse_document(d)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(d)))
                .elements
                .into_iter()
                .next()
                .unwrap()
        })
        .collect()
}

pub fn logs(els: &[Element]) -> Vec<String> {
    els.iter()
        .filter(|e| e.is("log"))
        .map(|e| e.attr("value").unwrap_or_default().to_string())
        .collect()
}

pub fn responses(els: &[Element]) -> Vec<&Element> {
    els.iter().filter(|e| e.is("response")).collect()
}

/// Send one host document.
pub fn send(link: &mut impl Transport, xml: &str) {
    let doc = format!("<?xml version=\"1.0\" ?><data>{xml}</data>");
    link.write_all(doc.as_bytes(), T).unwrap();
}

/// Send a command and collect the answer.
pub fn cmd(link: &mut impl Transport, xml: &str) -> Vec<Element> {
    send(link, xml);
    docs(link)
}

pub fn is_ack(e: &Element) -> bool {
    e.attr("value") == Some("ACK")
}

/// A board whose programmer already runs (no start-up logs queued).
pub fn firehose(profile: Profile, faults: &[&str]) -> (VirtualBoard, VirtualLink) {
    let opts = BoardOptions {
        start_in: StartIn::Firehose,
        faults: FaultSpec::parse_all(faults).unwrap(),
        ..BoardOptions::default()
    };
    let b = VirtualBoard::new(profile, opts);
    let l = b.connect();
    (b, l)
}

/// Program `data` (whole sectors) at `start` in chunks of `chunk` bytes; returns the answers
/// to the command and to the data.
pub fn program(
    link: &mut impl Transport,
    ss: usize,
    lun: u32,
    start: &str,
    data: &[u8],
    chunk: usize,
) -> (Vec<Element>, Vec<Element>) {
    let n = data.len() / ss;
    let first = cmd(
        link,
        &format!(
            "<program SECTOR_SIZE_IN_BYTES=\"{ss}\" num_partition_sectors=\"{n}\" physical_partition_number=\"{lun}\" start_sector=\"{start}\" filename=\"x.bin\"/>"
        ),
    );
    if !responses(&first)
        .iter()
        .any(|r| r.attr("rawmode") == Some("true"))
    {
        return (first, Vec::new());
    }
    for c in data.chunks(chunk) {
        if link.write_all(c, T).is_err() {
            break;
        }
    }
    (first, docs(link))
}
