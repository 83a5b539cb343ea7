//! A crashed board with a hostile region table (zero and huge lengths, overlaps, names with
//! path characters): the bad entries are refused with a reason, names are made plain, and no
//! file is ever written outside the dump folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod link_support;

use std::collections::VecDeque;
use std::time::Duration;

use link_support::OnLink;
use oasis_engine::ramdump::{DumpManifest, DumpStatus, RamdumpRequest};
use oasis_engine::spawn_ramdump;
use oasis_proto::sahara::SaharaPacket;
use oasis_proto::sahara::memdebug::{RawRegion, TableWidth, encode_table};
use oasis_transport::{LinkKind, Transport, TransportError, TransportErrorKind};

const TABLE: u64 = 0x100;

/// A scripted memory-debug target serving `table`; memory reads get `byte(addr)`.
struct Board {
    table: Vec<u8>,
    out: VecDeque<Vec<u8>>,
}

fn byte(addr: u64) -> u8 {
    (addr as u8) ^ ((addr >> 8) as u8)
}

impl Board {
    fn new(regions: &[RawRegion]) -> Self {
        let hello = SaharaPacket::Hello {
            version: 2,
            version_supported: 1,
            max_cmd_packet_len: 0x400,
            mode: 2,
            reserved: [0; 6],
        };
        Self {
            table: encode_table(regions, TableWidth::Bits32),
            out: VecDeque::from([hello.encode()]),
        }
    }
}

impl Transport for Board {
    fn write_all(&mut self, buf: &[u8], _t: Duration) -> Result<(), TransportError> {
        let (p, _) = SaharaPacket::decode(buf).unwrap().unwrap();
        match p {
            SaharaPacket::HelloResp { .. } => self.out.push_back(
                SaharaPacket::MemoryDebug {
                    table_addr: TABLE as u32,
                    table_len: self.table.len() as u32,
                }
                .encode(),
            ),
            SaharaPacket::MemoryRead { addr, length } if u64::from(addr) == TABLE => {
                assert_eq!(length as usize, self.table.len());
                self.out.push_back(self.table.clone());
            }
            SaharaPacket::MemoryRead { addr, length } => {
                assert!(u64::from(length) <= 512 * 1024, "bounded reads");
                let a = u64::from(addr);
                self.out
                    .push_back((a..a + u64::from(length)).map(byte).collect());
            }
            SaharaPacket::Reset => self.out.push_back(SaharaPacket::ResetResp.encode()),
            other => panic!("unexpected {other:?}"),
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], _t: Duration) -> Result<usize, TransportError> {
        let Some(mut next) = self.out.pop_front() else {
            return Err(TransportError::new(
                TransportErrorKind::Timeout,
                "read",
                "scripted",
            ));
        };
        let n = next.len().min(buf.len());
        buf[..n].copy_from_slice(&next[..n]);
        if n < next.len() {
            self.out.push_front(next.split_off(n));
        }
        Ok(n)
    }

    fn link_kind(&self) -> LinkKind {
        LinkKind::Packet
    }

    fn describe(&self) -> String {
        "scripted crashed board".to_owned()
    }
}

fn region(index: usize, base: u64, length: u64, name: &str) -> RawRegion {
    RawRegion {
        index,
        save_pref: 0,
        base,
        length,
        description: format!("region {index}"),
        filename: name.to_owned(),
    }
}

#[test]
fn a_hostile_table_is_refused_or_sanitised_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dump");
    let table = [
        region(0, 0x1000, 0x900, "GOOD.BIN"),
        region(1, 0x4000, 0x100, "../../escaped.bin"),
        region(2, 0x5000, 0x100, "/etc/passwd"),
        region(3, 0x6000, 0, "ZERO.BIN"),
        region(4, 0x7000, 0xFFFF_FFFF, "HUGE.BIN"),
        region(5, 0x1800, 0x100, "OVERLAP.BIN"),
        region(6, 0x8000, 0x100, "..\\..\\win.bin"),
    ];
    let h = spawn_ramdump(
        RamdumpRequest::new("scripted", &dir).on_link(Box::new(Board::new(&table))),
        Box::new(|_| {}),
    );
    let v = h.join().unwrap();
    assert!(v.summary.contains("4 of 4 regions"), "{}", v.summary);
    let m = DumpManifest::load(&dir).unwrap();
    assert_eq!(m.status, DumpStatus::Complete);
    let files: Vec<&str> = m.regions.iter().map(|r| r.file.as_str()).collect();
    assert_eq!(
        files,
        vec!["GOOD.BIN", "escaped.bin", "etc_passwd", "win.bin"]
    );
    let refused: Vec<&str> = m.refused.iter().map(|r| r.name.as_str()).collect();
    // HUGE fits a 32-bit table but runs past 4 GiB from 0x7000.
    assert_eq!(refused, vec!["ZERO.BIN", "HUGE.BIN", "OVERLAP.BIN"]);
    assert!(m.refused.iter().all(|r| !r.reason.is_empty()));
    assert!(m.notes.iter().any(|n| n.contains("../../escaped.bin")));
    // Only the dump folder was written to.
    let beside: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, vec!["dump".to_owned()]);
    let good = std::fs::read(dir.join("GOOD.BIN")).unwrap();
    let want: Vec<u8> = (0x1000..0x1900u64).map(byte).collect();
    assert_eq!(good, want);
    let mut in_dir: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    in_dir.sort();
    assert_eq!(
        in_dir,
        vec![
            "GOOD.BIN",
            "escaped.bin",
            "etc_passwd",
            "manifest.json",
            "win.bin"
        ]
    );
}
