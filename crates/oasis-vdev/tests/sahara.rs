//! Sahara target against host packets built with oasis-proto's encoders, packets from public
//! logs, and kit-generated programmers (oasis-testkit).
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{T, drain, programmer, read1};
use oasis_proto::sahara::{SaharaPacket, exec, mode};
use oasis_testkit::programmer::ProgrammerSpec;
use oasis_transport::{Transport, TransportErrorKind};
use oasis_vdev::{BoardOptions, FaultSpec, Profile, VirtualBoard, VirtualLink};

fn board(profile: Profile, faults: &[&str]) -> (VirtualBoard, VirtualLink) {
    let b = VirtualBoard::new(
        profile,
        BoardOptions::with_faults(FaultSpec::parse_all(faults).unwrap()),
    );
    let l = b.connect();
    (b, l)
}

fn packet(link: &mut VirtualLink) -> SaharaPacket {
    let bytes = read1(link).expect("a packet");
    let (p, n) = SaharaPacket::decode(&bytes).unwrap().unwrap();
    assert_eq!(n, bytes.len(), "one packet per transfer");
    p
}

fn send(link: &mut VirtualLink, p: SaharaPacket) {
    link.write_all(&p.encode(), T).unwrap();
}

fn fused(mut p: Profile, root_hex: &str) -> Profile {
    p.fused_root = Some(hex::decode(root_hex).unwrap());
    p
}

/// Upload `image` the way a host does; returns the READ requests and the final packet.
fn upload(link: &mut VirtualLink, image: &[u8]) -> (Vec<(u64, u64)>, SaharaPacket) {
    assert!(matches!(packet(link), SaharaPacket::Hello { .. }));
    send(link, SaharaPacket::hello_resp(mode::IMAGE_TX_PENDING));
    let mut reqs = Vec::new();
    loop {
        let (off, len) = match packet(link) {
            SaharaPacket::ReadData {
                image_id,
                offset,
                length,
            } => {
                assert_eq!(image_id, 13);
                (u64::from(offset), u64::from(length))
            }
            SaharaPacket::ReadData64 {
                image_id,
                offset,
                length,
            } => {
                assert_eq!(image_id, 13);
                (offset, length)
            }
            other => return (reqs, other),
        };
        reqs.push((off, len));
        let end = ((off + len) as usize).min(image.len());
        let mut chunk = image.get(off as usize..end).unwrap_or_default().to_vec();
        chunk.resize(len as usize, 0xFF);
        link.write_all(&chunk, T).unwrap();
    }
}

#[test]
fn hello_is_golden_equal_to_the_real_board_after_switch_mode_3() {
    // The edl capture: the host sent SWITCH_MODE(3) (TX 0c000000 0c000000 03000000) and the
    // board answered with this HELLO (version 2, min 1, max cmd len 0x400, mode 3).
    // From edl's debug log in bkerler/edl issue 342 (see docs/protocol.md): the TX line is
    // SWITCH_MODE(3), the RX line the 48-byte HELLO that followed.
    let text = "DeviceClass - [LIB]: TX:0c0000000c00000003000000\n\
                DeviceClass - [LIB]: RX:010000003000000002000000010000000004000003000000000000000000000000000000000000000000000000000000\n";
    let rx = text
        .split("RX:")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let golden = hex::decode(rx).unwrap();
    let tx = text
        .split("TX:")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let (mut _b, mut l) = board(Profile::eg25(), &[]);
    let first = read1(&mut l).unwrap();
    assert_eq!(&first[..16], &golden[..16], "version, min, max len");
    assert_eq!(first[24..], golden[24..]);
    assert_eq!(u32::from_le_bytes(first[16..20].try_into().unwrap()), 0x400);
    send(&mut l, SaharaPacket::hello_resp(mode::COMMAND));
    assert_eq!(packet(&mut l), SaharaPacket::CmdReady);
    l.write_all(&hex::decode(tx).unwrap(), T).unwrap();
    assert_eq!(read1(&mut l).unwrap(), golden);
}

fn execute(l: &mut VirtualLink, cmd: u32) -> Result<Vec<u8>, SaharaPacket> {
    send(l, SaharaPacket::CmdExecute { client_cmd: cmd });
    match packet(l) {
        SaharaPacket::CmdExecuteResp {
            client_cmd,
            data_length,
        } => {
            assert_eq!(client_cmd, cmd);
            send(l, SaharaPacket::CmdExecuteData { client_cmd: cmd });
            if data_length == 0 {
                return Ok(Vec::new());
            }
            let d = read1(l).unwrap();
            assert_eq!(d.len(), data_length as usize);
            Ok(d)
        }
        other => Err(other),
    }
}

fn command_mode(p: Profile) -> VirtualLink {
    let (_b, mut l) = board(p, &[]);
    packet(&mut l);
    send(&mut l, SaharaPacket::hello_resp(mode::COMMAND));
    assert_eq!(packet(&mut l), SaharaPacket::CmdReady);
    l
}

#[test]
fn command_mode_reports_identity_like_real_boards() {
    let mut l = command_mode(Profile::eg25());
    assert_eq!(
        execute(&mut l, exec::SERIAL_NUM_READ).unwrap(),
        0x0cf9_4c64u32.to_le_bytes()
    );
    let hw = execute(&mut l, exec::MSM_HW_ID_READ).unwrap();
    assert_eq!(
        u64::from_le_bytes(hw.try_into().unwrap()),
        0x0004_80e1_0000_0000
    );
    let pk = execute(&mut l, exec::OEM_PK_HASH_READ).unwrap();
    assert_eq!(hex::encode(pk), oasis_vdev::profile::TEST_ROOT_MDM9X07);
    assert_eq!(
        execute(&mut l, exec::GET_SOFTWARE_VERSION_SBL)
            .unwrap()
            .len(),
        4
    );
    // v2 boards do not know READ_CHIP_ID_V3.
    assert_eq!(
        execute(&mut l, exec::READ_CHIP_ID_V3),
        Err(SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0x1F
        })
    );
    // SWITCH_MODE(0) returns to image transfer with a fresh HELLO.
    send(&mut l, SaharaPacket::CmdSwitchMode { mode: 0 });
    assert!(matches!(
        packet(&mut l),
        SaharaPacket::Hello {
            mode: 0,
            version: 2,
            ..
        }
    ));
}

#[test]
fn sdx55_pads_its_sha384_hash_and_emmc_repeats_the_hwid() {
    let mut l = command_mode(Profile::sdx55());
    let pk = execute(&mut l, exec::OEM_PK_HASH_READ).unwrap();
    assert_eq!(pk.len(), 128);
    assert_eq!(
        hex::encode(&pk[..48]),
        oasis_vdev::profile::TEST_ROOT_SHA384
    );
    assert!(pk[48..].iter().all(|b| *b == 0));
    let hw = execute(&mut l, exec::MSM_HW_ID_READ).unwrap();
    assert_eq!(hex::encode(&hw[..8]), "a9980000e1f00c00");

    let mut l = command_mode(Profile::emmc());
    let hw = execute(&mut l, exec::MSM_HW_ID_READ).unwrap();
    assert_eq!(hw.len(), 24);
    assert_eq!(hw[..8], hw[16..]);
}

#[test]
fn v3_board_refuses_hwid_and_answers_chip_id_v3() {
    let mut l = command_mode(Profile::ufs());
    assert_eq!(
        execute(&mut l, exec::MSM_HW_ID_READ),
        Err(SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0x1F
        })
    );
    let id = execute(&mut l, exec::READ_CHIP_ID_V3).unwrap();
    assert!(id.len() >= 44);
    assert_eq!(u32::from_le_bytes(id[36..40].try_into().unwrap()), 0x19E0E1);
}

#[test]
fn real_programmer_is_read_by_its_elf_headers_then_done() {
    let kit = ProgrammerSpec::generic().build();
    let image = kit.bytes.clone();
    let (b, mut l) = board(Profile::eg25(), &[]);
    let (reqs, end) = upload(&mut l, &image);
    assert_eq!(
        end,
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0
        }
    );
    assert_eq!(
        reqs[0],
        (0, 0x34),
        "ELF header first, like the QFirehose logs"
    );
    assert_eq!(reqs[1], (0x34, 3 * 0x20), "then the program headers");
    assert_eq!(reqs[2], kit.hash_segment, "then the hash segment");
    assert!(reqs[2..].iter().all(|(_, n)| *n <= 0x1000));
    send(&mut l, SaharaPacket::Done);
    assert_eq!(
        packet(&mut l),
        SaharaPacket::DoneResp { image_tx_status: 1 }
    );
    let logs = common::logs(&common::docs(&mut l));
    assert!(
        logs.iter()
            .any(|s| s.contains("Chip serial num: 217664612 (0xcf94c64)")),
        "{logs:?}"
    );
    // This programmer (MDM9x07) logs its eight functions on one line.
    assert!(
        logs.iter().any(|s| s.trim_end()
            == "Supported Functions: program configure power benchmark read getstorageinfo erase nop"),
        "{logs:?}"
    );
    assert_eq!(b.state(), oasis_vdev::BoardState::Firehose);
}

#[test]
fn sdx55_asks_with_read_data_64_and_0x40_first() {
    let image = programmer(&ProgrammerSpec::elf64_v5(0x0008_B0E1_0031_0000, 0x31, 0));
    let (_b, mut l) = board(Profile::sdx55(), &[]);
    packet(&mut l);
    send(&mut l, SaharaPacket::hello_resp(0));
    assert_eq!(
        packet(&mut l),
        SaharaPacket::ReadData64 {
            image_id: 13,
            offset: 0,
            length: 0x40
        }
    );
    l.write_all(&image[..0x40], T).unwrap();
    assert_eq!(
        packet(&mut l),
        SaharaPacket::ReadData64 {
            image_id: 13,
            offset: 0x40,
            length: 3 * 56
        }
    );
}

#[test]
fn garbage_image_gets_invalid_elf_header() {
    let (_b, mut l) = board(Profile::bg95(), &[]);
    let (reqs, end) = upload(
        &mut l,
        b"this is not an ELF file at all, just text............",
    );
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        end,
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0x14
        }
    );
}

#[test]
fn fused_board_accepts_only_its_root() {
    let kit = ProgrammerSpec::generic().build();
    let signed = kit.bytes.clone();
    let root_hex = kit.pk_sha256();
    let root = root_hex.as_str();
    let code_at = (kit.hash_segment.0 + kit.hash_segment.1).div_ceil(0x1000) * 0x1000;
    let (_b, mut l) = board(fused(Profile::eg25(), root), &[]);
    assert_eq!(
        upload(&mut l, &signed).1,
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0
        }
    );

    let other = "11".repeat(32);
    let (_b, mut l) = board(fused(Profile::eg25(), &other), &[]);
    let (reqs, end) = upload(&mut l, &signed);
    assert_eq!(
        end,
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0x21
        }
    );
    assert!(
        reqs.iter().all(|(o, _)| *o < code_at),
        "rejected before the code segments: {reqs:x?}"
    );

    let unsigned = programmer(&ProgrammerSpec::unsigned());
    let (_b, mut l) = board(fused(Profile::eg25(), root), &[]);
    assert_eq!(
        upload(&mut l, &unsigned).1,
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0x23
        }
    );
    // Unfused: anything that is an ELF boots.
    let (_b, mut l) = board(Profile::eg25(), &[]);
    assert_eq!(
        upload(&mut l, &unsigned).1,
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0
        }
    );
}

#[test]
fn programmer_for_another_msm_is_refused() {
    // An OEM-signed MSM8916 programmer (HW_ID 007050e1…); on an MDM9207 fused with that same
    // root the HW_ID check fails.
    let kit = ProgrammerSpec::for_hw(0x0070_50E1_0004_0000, 0x0004, 0).build();
    let zte = kit.bytes.clone();
    let root_hex = kit.pk_sha256();
    let root = root_hex.as_str();
    let (_b, mut l) = board(fused(Profile::eg25(), root), &[]);
    assert_eq!(
        upload(&mut l, &zte).1,
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0x25
        }
    );
    let (_b, mut l) = board(fused(Profile::emmc(), root), &[]);
    assert_eq!(
        upload(&mut l, &zte).1,
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0
        }
    );
}

#[test]
fn sahara_faults() {
    let elf = programmer(&ProgrammerSpec::generic());
    let (_b, mut l) = board(Profile::eg25(), &["sahara-status:0x22"]);
    assert_eq!(
        upload(&mut l, &elf).1,
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0x22
        }
    );

    let (b, mut l) = board(Profile::eg25(), &["no-programmer"]);
    upload(&mut l, &elf);
    send(&mut l, SaharaPacket::Done);
    assert_eq!(
        packet(&mut l),
        SaharaPacket::DoneResp { image_tx_status: 1 }
    );
    assert!(drain(&mut l).is_empty());
    assert_eq!(b.state(), oasis_vdev::BoardState::ProgrammerDead);

    let (_b, mut l) = board(Profile::eg25(), &["sahara-reset:read-data#3"]);
    let (reqs, end) = upload(&mut l, &elf);
    assert_eq!(reqs.len(), 2);
    assert!(matches!(end, SaharaPacket::Hello { .. }));

    let (_b, mut l) = board(Profile::eg25(), &["sahara-wrong:read-data#2"]);
    let (_, end) = upload(&mut l, &elf);
    assert!(matches!(end, SaharaPacket::MemoryDebug { .. }));

    let (_b, mut l) = board(Profile::eg25(), &["stall:hello"]);
    assert_eq!(read1(&mut l), Err(TransportErrorKind::Timeout));

    let (_b, mut l) = board(Profile::eg25(), &["garbage:hello"]);
    let g = read1(&mut l).unwrap();
    assert_eq!(g.len(), 48);
    assert_ne!(g[0], 1);
}

#[test]
fn reset_answers_and_reboots() {
    let (b, mut l) = board(Profile::bg95(), &[]);
    packet(&mut l);
    send(&mut l, SaharaPacket::Reset);
    assert_eq!(packet(&mut l), SaharaPacket::ResetResp);
    assert_eq!(read1(&mut l), Err(TransportErrorKind::Disconnected));
    assert!(matches!(
        b.after_reset().unwrap(),
        oasis_vdev::AfterReset::Modem(_)
    ));
}

#[test]
fn wrong_packet_in_state_gets_invalid_command() {
    let (_b, mut l) = board(Profile::bg95(), &[]);
    packet(&mut l);
    send(&mut l, SaharaPacket::Done);
    assert_eq!(
        packet(&mut l),
        SaharaPacket::EndImageTx {
            image_id: 13,
            status: 0x01
        }
    );
    assert!(!_b.host_notes().is_empty());
}
