//! Fault injection: what can go wrong on a virtual board, parsed from short text specs.
//!
//! Grammar (one fault per spec; several specs can be given):
//!
//! ```text
//! nak:TAG[#N]                NAK the Nth (default 1st) Firehose <TAG> with a believable log;
//!                            for program/read the data phase still happens and the final
//!                            response is the NAK (a write/read failure)
//! nak-in-data:TAG[#N]        NAK the Nth <TAG> (program) in the middle of its raw data:
//!                            half of the data in, the board logs why, NAKs, and takes no
//!                            more data until the host has read the NAK
//! stall:POINT[#N]            stop answering at POINT (nothing more ever arrives)
//! garbage:POINT[#N]          send noise bytes instead of the answer at POINT
//! truncate:POINT[#N]         send only the first half of the answer at POINT, then nothing
//! short-reads:BYTES          deliver every transfer in pieces of at most BYTES
//! unplug@OFFSET              the board disappears once the host has written OFFSET bytes
//! unplug:TAG[#N][@BYTES]     disappear during the raw data of the Nth <TAG> (program or read)
//!                            after BYTES raw bytes (default: half of it)
//! sahara-status:CODE         END_IMAGE_TX carries status CODE (e.g. 0x21) instead of 0
//! no-programmer              after DONE_RESP the programmer never starts (nothing arrives)
//! sahara-reset[:POINT][#N]   at POINT (default read-data) the target restarts: a new HELLO
//! sahara-wrong:POINT[#N]     at POINT the target sends a command the host did not expect
//! ```
//!
//! POINT is a Sahara point — `hello`, `cmd-ready`, `execute`, `read-data`, `end-image`,
//! `done-resp`, `memory-read` (crash-dump mode: `nak:`/`unplug:memory-read#N`, see `dump`) — or `startup` (programmer start-up logs), or a Firehose tag (`configure`,
//! `program`, `erase`, `read`, `patch`, `getsha256digest`, `power`, ...). N counts from 1.
//! Numbers are decimal or `0x` hex. Faults arm the board's current boot only: a reboot
//! (power reset, Sahara RESET) clears them, so the session after a reset is healthy.

use crate::VdevError;

/// The kind of a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// NAK the command.
    Nak,
    /// NAK in the middle of the raw data (after half of it).
    NakInData,
    /// Stop answering.
    Stall,
    /// Noise instead of the answer.
    Garbage,
    /// Half of the answer, then nothing.
    Truncate,
    /// Every transfer split into pieces of at most this many bytes.
    ShortReads(usize),
    /// Disappear once the host has written this many bytes in total.
    UnplugAtByte(u64),
    /// Disappear during the raw data of a command, after this many raw bytes (None = half).
    UnplugInData(Option<u64>),
    /// END_IMAGE_TX with this status.
    SaharaStatus(u32),
    /// The programmer never starts after DONE_RESP.
    NoProgrammer,
    /// The Sahara target restarts (re-sends HELLO).
    SaharaReset,
    /// The Sahara target sends an unexpected command.
    SaharaWrong,
}

/// One parsed fault: what, where, and on which occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    /// What happens.
    pub kind: FaultKind,
    /// Where (Sahara point, `startup`, or Firehose tag), lower-case; `None` = everywhere.
    pub point: Option<String>,
    /// Which occurrence of the point (1-based).
    pub nth: u32,
}

const SAHARA_POINTS: [&str; 7] = [
    "hello",
    "memory-read",
    "cmd-ready",
    "execute",
    "read-data",
    "end-image",
    "done-resp",
];

fn bad(spec: &str, reason: impl Into<String>) -> VdevError {
    VdevError::BadFault {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

/// Parse a decimal or `0x` hex number.
pub(crate) fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

fn valid_point(p: &str) -> bool {
    SAHARA_POINTS.contains(&p)
        || p == "startup"
        || (!p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

impl FaultSpec {
    /// Parse one spec (see the module docs for the grammar).
    pub fn parse(spec: &str) -> Result<Self, VdevError> {
        let (kind, arg, nth, at) = split(spec)?;
        let (kind, point) = kind_of(spec, &kind, arg, at)?;
        Ok(Self { kind, point, nth })
    }

    /// Parse several specs, naming the first bad one.
    pub fn parse_all<S: AsRef<str>>(specs: &[S]) -> Result<Vec<Self>, VdevError> {
        specs.iter().map(|s| Self::parse(s.as_ref())).collect()
    }
}

/// Split `KIND[:ARG][#N][@OFFSET]` into its parts (kind and arg lower-cased).
fn split(spec: &str) -> Result<(String, Option<String>, u32, Option<u64>), VdevError> {
    let s = spec.trim();
    let (head, at) = match s.split_once('@') {
        Some((h, a)) => {
            let n = parse_num(a).ok_or_else(|| bad(spec, format!("{a:?} is not a byte count")))?;
            (h, Some(n))
        }
        None => (s, None),
    };
    let (head, nth) = match head.split_once('#') {
        Some((h, n)) => {
            let n = parse_num(n)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad(spec, format!("occurrence {n:?} must be a number >= 1")))?;
            (h, n)
        }
        None => (head, 1),
    };
    let (kind, arg) = match head.split_once(':') {
        Some((k, a)) => (
            k.trim().to_ascii_lowercase(),
            Some(a.trim().to_ascii_lowercase()),
        ),
        None => (head.trim().to_ascii_lowercase(), None),
    };
    if at.is_some() && kind != "unplug" {
        return Err(bad(spec, "only unplug takes an @offset"));
    }
    Ok((kind, arg, nth, at))
}

fn need_point(spec: &str, kind: &str, arg: Option<String>) -> Result<Option<String>, VdevError> {
    match arg {
        Some(p) if valid_point(&p) => Ok(Some(p)),
        Some(p) => Err(bad(
            spec,
            format!("{p:?} is not a Sahara point or Firehose tag"),
        )),
        None => Err(bad(
            spec,
            format!("{kind} needs a point, e.g. {kind}:program"),
        )),
    }
}

fn number_arg(spec: &str, arg: Option<&str>, what: &str) -> Result<u64, VdevError> {
    arg.and_then(parse_num)
        .ok_or_else(|| bad(spec, what.to_string()))
}

/// The fault kind and point of a split spec.
fn kind_of(
    spec: &str,
    kind: &str,
    arg: Option<String>,
    at: Option<u64>,
) -> Result<(FaultKind, Option<String>), VdevError> {
    let point = |arg| need_point(spec, kind, arg);
    Ok(match kind {
        "nak" => (FaultKind::Nak, point(arg)?),
        "nak-in-data" => (FaultKind::NakInData, point(arg)?),
        "stall" => (FaultKind::Stall, point(arg)?),
        "garbage" => (FaultKind::Garbage, point(arg)?),
        "truncate" => (FaultKind::Truncate, point(arg)?),
        "short-reads" => {
            let n = number_arg(
                spec,
                arg.as_deref(),
                "short-reads needs a piece size >= 1, e.g. short-reads:7",
            )?;
            let n = usize::try_from(n).ok().filter(|n| *n >= 1);
            let n = n.ok_or_else(|| bad(spec, "short-reads needs a piece size >= 1"))?;
            (FaultKind::ShortReads(n), None)
        }
        "unplug" => match (arg, at) {
            (None, Some(off)) => (FaultKind::UnplugAtByte(off), None),
            (Some(p), at) => (FaultKind::UnplugInData(at), point(Some(p))?),
            (None, None) => {
                return Err(bad(
                    spec,
                    "unplug needs @OFFSET or a command, e.g. unplug:program#2",
                ));
            }
        },
        "sahara-status" => {
            let code = number_arg(
                spec,
                arg.as_deref(),
                "sahara-status needs a status code, e.g. sahara-status:0x21",
            )?;
            let code = u32::try_from(code).map_err(|_| bad(spec, "status code too large"))?;
            (FaultKind::SaharaStatus(code), None)
        }
        "no-programmer" => (FaultKind::NoProgrammer, None),
        "sahara-reset" => (
            FaultKind::SaharaReset,
            point(arg.or(Some("read-data".into())))?,
        ),
        "sahara-wrong" => (FaultKind::SaharaWrong, point(arg)?),
        other => return Err(bad(spec, format!("unknown fault kind {other:?}"))),
    })
}

/// Faults armed on a board, with occurrence counters per point.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultPlan {
    faults: Vec<(FaultSpec, bool)>,
    counts: std::collections::HashMap<String, u32>,
}

impl FaultPlan {
    pub(crate) fn new(faults: Vec<FaultSpec>) -> Self {
        Self {
            faults: faults.into_iter().map(|f| (f, false)).collect(),
            counts: Default::default(),
        }
    }

    /// Count one occurrence of `point` and return the fault armed for it, if any (each fault
    /// fires once).
    pub(crate) fn hit(&mut self, point: &str) -> Option<FaultKind> {
        let c = self.counts.entry(point.to_string()).or_insert(0);
        *c += 1;
        let n = *c;
        for (f, fired) in &mut self.faults {
            if !*fired && f.point.as_deref() == Some(point) && f.nth == n {
                *fired = true;
                return Some(f.kind.clone());
            }
        }
        None
    }

    pub(crate) fn short_reads(&self) -> Option<usize> {
        self.faults.iter().find_map(|(f, _)| match f.kind {
            FaultKind::ShortReads(n) => Some(n),
            _ => None,
        })
    }

    pub(crate) fn unplug_at_byte(&self) -> Option<u64> {
        self.faults.iter().find_map(|(f, _)| match f.kind {
            FaultKind::UnplugAtByte(n) => Some(n),
            _ => None,
        })
    }

    pub(crate) fn sahara_status(&self) -> Option<u32> {
        self.faults.iter().find_map(|(f, _)| match f.kind {
            FaultKind::SaharaStatus(n) => Some(n),
            _ => None,
        })
    }

    pub(crate) fn no_programmer(&self) -> bool {
        self.faults
            .iter()
            .any(|(f, _)| f.kind == FaultKind::NoProgrammer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        let p = FaultSpec::parse("nak:program#2").unwrap();
        assert_eq!(
            (p.kind, p.point.as_deref(), p.nth),
            (FaultKind::Nak, Some("program"), 2)
        );
        assert_eq!(
            FaultSpec::parse("stall:configure").unwrap().kind,
            FaultKind::Stall
        );
        assert_eq!(
            FaultSpec::parse("garbage:hello").unwrap().point.as_deref(),
            Some("hello")
        );
        assert_eq!(
            FaultSpec::parse("truncate:read").unwrap().kind,
            FaultKind::Truncate
        );
        assert_eq!(
            FaultSpec::parse("short-reads:7").unwrap().kind,
            FaultKind::ShortReads(7)
        );
        assert_eq!(
            FaultSpec::parse("unplug@0x10000").unwrap().kind,
            FaultKind::UnplugAtByte(65536)
        );
        let u = FaultSpec::parse("unplug:program#3@4096").unwrap();
        assert_eq!((u.kind, u.nth), (FaultKind::UnplugInData(Some(4096)), 3));
        assert_eq!(
            FaultSpec::parse("sahara-status:0x21").unwrap().kind,
            FaultKind::SaharaStatus(0x21)
        );
        assert_eq!(
            FaultSpec::parse("no-programmer").unwrap().kind,
            FaultKind::NoProgrammer
        );
        assert_eq!(
            FaultSpec::parse("sahara-reset").unwrap().point.as_deref(),
            Some("read-data")
        );
        assert_eq!(
            FaultSpec::parse("sahara-wrong:done-resp").unwrap().kind,
            FaultKind::SaharaWrong
        );
    }

    #[test]
    fn errors_name_the_bad_spec() {
        for bad in [
            "nak",
            "frobnicate:x",
            "nak:program#0",
            "stall:pro gram",
            "short-reads:0",
            "unplug",
            "nak:x@5",
            "sahara-status:zz",
        ] {
            let e = FaultSpec::parse(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn plan_fires_on_the_nth_occurrence_once() {
        let mut plan = FaultPlan::new(vec![FaultSpec::parse("nak:program#2").unwrap()]);
        assert_eq!(plan.hit("program"), None);
        assert_eq!(plan.hit("erase"), None);
        assert_eq!(plan.hit("program"), Some(FaultKind::Nak));
        assert_eq!(plan.hit("program"), None);
    }
}
