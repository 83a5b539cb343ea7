//! The Firehose programmer (device side): start-up logs, one XML command per document, raw
//! data phases, and the host-judging a real programmer does (chunk sizes, sector sizes,
//! alignment), answered with the logs and NAKs a real board sends.

mod cmds;
mod expr;

use oasis_proto::firehose::xml::{Element, parse_document};
use oasis_proto::firehose::{StreamItem, XmlStream};

use crate::device::{Ctx, Transition};
use crate::fault::FaultKind;
use crate::profile::Profile;
use crate::quirks::ProgrammerQuirks;

/// USB 2.0 high-speed bulk max packet size: a transfer of a multiple of it ends with a ZLP.
const ZLP_PACKET: usize = 512;

/// Largest XML document the programmer takes (it announces MaxXMLSizeInBytes=4096).
pub(crate) const MAX_XML: usize = 4096;

/// A `<program>` whose raw data is arriving.
#[derive(Debug, Clone)]
pub(crate) struct RawIn {
    pub lun: u32,
    pub next_sector: u64,
    pub remaining: u64,
    /// Bytes of an incomplete sector (byte-stream links only).
    pub partial: Vec<u8>,
    /// Injected failure: NAK with this log once the data is in.
    pub fail_log: Option<String>,
    /// Injected unplug after this many raw bytes.
    pub unplug_after: Option<u64>,
    /// Injected failure in the middle of the data: NAK (with this log) once this many raw
    /// bytes are in, and take no more of them.
    pub nak_after: Option<(u64, String)>,
    pub received: u64,
}

/// The programmer's state.
#[derive(Debug)]
pub(crate) struct FirehoseTarget {
    stream: XmlStream,
    /// Negotiated MaxPayloadSizeToTargetInBytes.
    pub payload: u64,
    raw: Option<RawIn>,
    /// Raw bytes still to swallow after a refused data phase.
    discard: u64,
    /// The output fault armed for the next answer of the current command.
    out_fault: Option<FaultKind>,
    nand_open: bool,
    quirks: ProgrammerQuirks,
    /// The command being handled (for logs after its ACK).
    current: String,
    /// Whether a `configure` has been answered (storage initialised).
    configured: bool,
    /// It NAKed in the middle of raw data: no more data until the host has read the NAK.
    held: bool,
    /// `ZlpAwareHost` as configured (the programmer's default is 1).
    pub(crate) zlp_aware: bool,
    /// Stuck in a raw-data read that waits for a zero-length packet a serial link never
    /// delivers (ZlpAwareHost=1 on a tty): everything is swallowed, nothing is answered.
    zlp_stuck: bool,
}

/// Encode one device document holding one element.
fn doc(el: &Element) -> Vec<u8> {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<data>\n");
    el.write_to(&mut s);
    s.push_str("\n</data>");
    s.into_bytes()
}

impl FirehoseTarget {
    pub fn new(profile: &Profile, quirks: &ProgrammerQuirks) -> Self {
        Self {
            quirks: quirks.clone(),
            current: String::new(),
            configured: false,
            held: false,
            stream: XmlStream::new(),
            payload: u64::from(profile.max_payload),
            raw: None,
            discard: 0,
            out_fault: None,
            nand_open: false,
            zlp_aware: true,
            zlp_stuck: false,
        }
    }

    /// The programmer has just started: its spontaneous start-up logs.
    pub fn start(&mut self, ctx: &mut Ctx<'_>) {
        self.out_fault = ctx.faults.hit("startup");
        if self.out_fault == Some(FaultKind::Stall) {
            ctx.out.stall();
            return;
        }
        let p = ctx.profile;
        let mut lines = vec![
            format!("INFO: Binary build date: {}", p.build_date),
            format!("INFO: Binary build date: {}.", p.build_date),
            format!("INFO: Chip serial num: {} (0x{:x})", p.serial, p.serial),
        ];
        let n = p.supported_functions.len();
        if p.old_function_log {
            lines.push(format!(
                "Supported Functions: {} ",
                p.supported_functions.join(" ")
            ));
        } else {
            lines.push(format!("INFO: Supported Functions ({n}):"));
            lines.extend(p.supported_functions.iter().map(|f| format!("INFO: {f}")));
            lines.push(format!("INFO: End of supported functions {n}"));
        }
        for l in lines {
            self.log(ctx, &l);
        }
    }

    /// Queue a `<log value=…/>` document.
    pub(crate) fn log(&mut self, ctx: &mut Ctx<'_>, msg: &str) {
        let d = doc(&Element::new("log").with("value", msg));
        let f = self.out_fault.take();
        ctx.out.send(f.as_ref(), d);
    }

    /// Queue a `<response …/>` document.
    pub(crate) fn respond(&mut self, ctx: &mut Ctx<'_>, ack: bool, attrs: &[(&str, String)]) {
        let mut el = Element::new("response").with("value", if ack { "ACK" } else { "NAK" });
        for (k, v) in attrs {
            el = el.with(*k, v.clone());
        }
        let f = self.out_fault.take();
        let raw_read =
            self.current == "read" && attrs.iter().any(|(k, v)| *k == "rawmode" && v == "true");
        let slow = self.quirks.slow_configure && self.current == "configure" && !self.configured;
        let saved = ctx.out.ready_at;
        if slow {
            // Storage initialisation: the answer comes seconds later.
            let base = saved.unwrap_or_else(std::time::Instant::now);
            ctx.out.ready_at = Some(base + ProgrammerQuirks::SLOW_CONFIGURE);
        }
        if self.current == "configure" {
            self.configured = true;
        }
        ctx.out.send(f.as_ref(), doc(&el));
        if ack && self.quirks.logs_after_ack && !raw_read {
            let tag = self.current.clone();
            let l =
                doc(&Element::new("log").with("value", format!("INFO: Finished handling <{tag}>")));
            ctx.out.push(l);
        }
        ctx.out.ready_at = saved;
    }

    /// Whether the programmer takes no new data until the host has read what it sent.
    pub(crate) fn holds_input(&self) -> bool {
        self.quirks.single_threaded || self.held
    }

    /// `<response value=… rawmode="false"/>` after an optional log.
    pub(crate) fn finish(&mut self, ctx: &mut Ctx<'_>, ack: bool, log: Option<&str>) {
        if let Some(l) = log {
            self.log(ctx, l);
        }
        self.respond(ctx, ack, &[("rawmode", "false".into())]);
    }

    /// Host bytes. Returns how many were taken and what the board does next.
    pub fn feed(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> (usize, Transition) {
        if ctx.packet {
            self.feed_transfer(ctx, data)
        } else {
            self.feed_stream(ctx, data)
        }
    }

    /// One USB transfer: either raw data of the running phase or one whole XML document.
    fn feed_transfer(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> (usize, Transition) {
        if self.discard > 0 {
            let n = (data.len() as u64).min(self.discard);
            self.discard -= n;
            return (data.len(), Transition::Stay);
        }
        if let Some(raw) = &self.raw {
            let remaining = raw.remaining;
            let ss = ctx.storage.sector_size() as u64;
            let len = data.len() as u64;
            let why = if len > remaining {
                Some(format!(
                    "ERROR: Received {len} bytes but only {remaining} bytes of raw data were left for this <program>"
                ))
            } else if len > self.payload {
                Some(format!(
                    "ERROR: Received a raw data packet of {len} bytes, larger than MaxPayloadSizeToTargetInBytes={}",
                    self.payload
                ))
            } else if !len.is_multiple_of(ss) {
                Some(format!(
                    "ERROR: Received {len} bytes of raw data, not a multiple of the sector size {ss}: the host must send whole sectors (zero-pad the last one)"
                ))
            } else {
                None
            };
            if let Some(why) = why {
                ctx.note(why.clone());
                self.raw = None;
                self.discard = remaining.saturating_sub(len);
                self.finish(ctx, false, Some(&why));
                return (data.len(), Transition::Stay);
            }
            return self.raw_data(ctx, data);
        }
        if data.len() > MAX_XML {
            let why = format!(
                "ERROR: XML packet of {} bytes is larger than MaxXMLSizeInBytes={MAX_XML}",
                data.len()
            );
            ctx.note(why.clone());
            self.finish(ctx, false, Some(&why));
            return (data.len(), Transition::Stay);
        }
        (data.len(), self.document(ctx, data))
    }

    /// A byte stream (COM port): documents and raw data may be split or glued.
    fn feed_stream(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> (usize, Transition) {
        self.stream.push(data);
        loop {
            match self.stream.next_item() {
                Ok(None) => return (data.len(), Transition::Stay),
                Ok(Some(StreamItem::Document(d))) => {
                    let t = self.document(ctx, &d);
                    if let Some(raw) = &self.raw {
                        self.stream.expect_raw(raw.remaining);
                    }
                    if t != Transition::Stay {
                        return (data.len(), t);
                    }
                }
                Ok(Some(StreamItem::Raw(r))) => {
                    if self.raw.is_none() || self.zlp_stuck {
                        continue;
                    }
                    if self.zlp_aware {
                        // Raw data is whole sectors, so every transfer the host sends is a
                        // multiple of the max packet size. Told the host sends ZLPs, the
                        // programmer ends such a read only on one; a tty cannot carry it, so
                        // the read never completes.
                        self.zlp_stuck = true;
                        ctx.note(format!(
                            "programmer: ZlpAwareHost=1 on a serial link: raw data comes in multiples of {ZLP_PACKET} bytes and the zero-length packet that would end the transfer never comes; the <program> never completes"
                        ));
                        continue;
                    }
                    let (n, t) = self.raw_data(ctx, &r);
                    if t == Transition::Unplug {
                        let unused = (r.len() - n) + self.stream.buffered();
                        return (data.len().saturating_sub(unused), t);
                    }
                }
                Err(e) => {
                    let why = format!("ERROR: XML not formed correctly: {e}");
                    ctx.note(why.clone());
                    self.finish(ctx, false, Some(&why));
                }
            }
        }
    }

    /// Raw `<program>` data (already judged). Returns bytes taken and the transition.
    fn raw_data(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> (usize, Transition) {
        let Some(mut raw) = self.raw.take() else {
            return (data.len(), Transition::Stay);
        };
        let mut data = data;
        let mut unplug = false;
        if let Some(limit) = raw.unplug_after {
            let left = limit.saturating_sub(raw.received) as usize;
            if data.len() >= left {
                data = &data[..left];
                unplug = true;
            }
        }
        if let Some((at, log)) = raw.nak_after.clone()
            && raw.received + data.len() as u64 >= at
            && raw.remaining > data.len() as u64
        {
            // The storage failed under this chunk: say so now and take no more of the data
            // until the host has read why; what it sends after that is swallowed.
            let take = (at.saturating_sub(raw.received) as usize).min(data.len());
            raw.received += take as u64;
            cmds::store_raw(self, ctx, &mut raw, &data[..take]);
            ctx.note(format!("NAK in the middle of raw data: {log}"));
            self.discard = raw.remaining.saturating_sub((data.len() - take) as u64);
            self.held = true;
            self.finish(ctx, false, Some(&log));
            return (data.len(), Transition::Stay);
        }
        raw.received += data.len() as u64;
        cmds::store_raw(self, ctx, &mut raw, data);
        if unplug {
            return (data.len(), Transition::Unplug);
        }
        if raw.remaining == 0 {
            let ok = raw.fail_log.is_none();
            let log = raw.fail_log.clone();
            self.finish(ctx, ok, log.as_deref());
        } else {
            self.raw = Some(raw);
        }
        (data.len(), Transition::Stay)
    }

    fn document(&mut self, ctx: &mut Ctx<'_>, bytes: &[u8]) -> Transition {
        let parsed = match parse_document(bytes) {
            Ok(d) => d,
            Err(e) => {
                let why = format!("ERROR: XML not formed correctly: {e}");
                ctx.note(why.clone());
                self.finish(ctx, false, Some(&why));
                return Transition::Stay;
            }
        };
        let Some(el) = parsed.elements.first() else {
            self.finish(ctx, false, Some("ERROR: No XML tag found inside <data>"));
            return Transition::Stay;
        };
        if parsed.elements.len() > 1 {
            ctx.note(format!(
                "host sent {} commands in one document; only <{}> is executed",
                parsed.elements.len(),
                el.tag
            ));
        }
        let tag = el.tag.to_ascii_lowercase();
        self.current.clone_from(&tag);
        self.held = false;
        let fault = ctx.faults.hit(&tag);
        if fault == Some(FaultKind::Stall) {
            ctx.out.stall();
            return Transition::Stay;
        }
        self.out_fault = fault
            .clone()
            .filter(|f| matches!(f, FaultKind::Garbage | FaultKind::Truncate));
        let t = cmds::dispatch(self, ctx, el, &tag, fault.as_ref());
        self.out_fault = None;
        t
    }

    pub(crate) fn start_raw(&mut self, raw: RawIn) {
        self.raw = Some(raw);
    }

    pub(crate) fn nand_opened(&mut self) -> bool {
        std::mem::replace(&mut self.nand_open, true)
    }
}
