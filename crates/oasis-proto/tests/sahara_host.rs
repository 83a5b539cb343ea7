//! Sahara host machine scenarios driven by hand-made device packets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use oasis_proto::Help;
use oasis_proto::sahara::{
    HostAction, HostGoal, Outcome, SaharaError, SaharaHost, SaharaPacket, SaharaStatus, exec,
};

fn image(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn hello(version: u32, mode: u32) -> Vec<u8> {
    SaharaPacket::Hello {
        version,
        version_supported: 1,
        max_cmd_packet_len: 0x400,
        mode,
        reserved: [0; 6],
    }
    .encode()
}

fn rd(image_id: u32, offset: u32, length: u32) -> Vec<u8> {
    SaharaPacket::ReadData {
        image_id,
        offset,
        length,
    }
    .encode()
}

fn rd64(image_id: u64, offset: u64, length: u64) -> Vec<u8> {
    SaharaPacket::ReadData64 {
        image_id,
        offset,
        length,
    }
    .encode()
}

fn end(image_id: u32, status: u32) -> Vec<u8> {
    SaharaPacket::EndImageTx { image_id, status }.encode()
}

fn done_resp(s: u32) -> Vec<u8> {
    SaharaPacket::DoneResp { image_tx_status: s }.encode()
}

fn exec_resp(client_cmd: u32, data_length: u32) -> Vec<u8> {
    SaharaPacket::CmdExecuteResp {
        client_cmd,
        data_length,
    }
    .encode()
}

/// The single Send of a step, decoded as a Sahara packet.
fn sent_packet(actions: &[HostAction]) -> SaharaPacket {
    match actions {
        [HostAction::Send(b), ..] => SaharaPacket::decode(b).unwrap().unwrap().0,
        other => panic!("expected a Send, got {other:?}"),
    }
}

fn sent_raw(actions: &[HostAction]) -> Vec<u8> {
    match actions {
        [HostAction::Send(b)] => b.clone(),
        other => panic!("expected one Send, got {other:?}"),
    }
}

fn finished(actions: &[HostAction]) -> Outcome {
    match actions.last() {
        Some(HostAction::Finished(o)) => o.clone(),
        other => panic!("expected Finished, got {other:?}"),
    }
}

/// Serve a 0x34-byte header then 4 KiB pieces, END_IMAGE_TX, DONE, DONE_RESP.
fn upload_rest(h: &mut SaharaHost, img: &[u8], use64: bool, done_status: u32) -> Outcome {
    let mut off = 0usize;
    while off < img.len() {
        let len = if off == 0 {
            0x34
        } else {
            0x1000.min(img.len() - off)
        };
        let req = if use64 {
            rd64(13, off as u64, len as u64)
        } else {
            rd(13, off as u32, len as u32)
        };
        let a = h.feed(&req).unwrap();
        assert_eq!(sent_raw(&a), img[off..off + len], "bytes at {off:#x}");
        off += len;
    }
    assert_eq!(h.progress(), (img.len() as u64, img.len() as u64));
    let a = h.feed(&end(13, 0)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::Done);
    finished(&h.feed(&done_resp(done_status)).unwrap())
}

#[test]
fn full_upload_32_and_64_bit_reads() {
    for use64 in [false, true] {
        let img = image(0x2345);
        let mut h = SaharaHost::new(HostGoal::Upload, Some(img.clone()));
        let a = h.feed(&hello(2, 0)).unwrap();
        assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
        match upload_rest(&mut h, &img, use64, 1) {
            Outcome::Uploaded {
                image_id,
                bytes_served,
                pending_accepted,
                identity,
                ..
            } => {
                assert_eq!(
                    (image_id, bytes_served, pending_accepted),
                    (13, 0x2345, false)
                );
                assert!(identity.is_none());
            }
            o => panic!("{o:?}"),
        }
        assert!(h.is_over());
        assert_eq!(h.feed(&[0]), Err(SaharaError::Finished));
    }
}

#[test]
fn pending_quirk_accepted_only_for_known_image_ids() {
    let img = image(0x100);
    let mut h = SaharaHost::new(HostGoal::Upload, Some(img.clone()));
    h.feed(&hello(2, 0)).unwrap();
    match upload_rest(&mut h, &img, false, 0) {
        Outcome::Uploaded {
            pending_accepted, ..
        } => assert!(pending_accepted),
        o => panic!("{o:?}"),
    }

    let mut h = SaharaHost::new(HostGoal::Upload, Some(img.clone()));
    h.feed(&hello(2, 0)).unwrap();
    h.feed(&rd(0x1b, 0, 0x100)).unwrap();
    h.feed(&end(0x1b, 0)).unwrap();
    assert_eq!(
        h.feed(&done_resp(0)),
        Err(SaharaError::NotComplete {
            image_id: 0x1b,
            status: 0
        })
    );
}

/// Answer the identity queries of a v2 board. The SBL version (0x07) is never asked: edl
/// leaves it out because some boot ROMs then fail the upload.
fn identity_v2(h: &mut SaharaHost) -> Vec<HostAction> {
    let a = h.feed(&hello(2, 0)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(3));
    let a = h.feed(&SaharaPacket::CmdReady.encode()).unwrap();
    assert_eq!(
        sent_packet(&a),
        SaharaPacket::CmdExecute {
            client_cmd: exec::SERIAL_NUM_READ
        }
    );
    let a = h.feed(&exec_resp(exec::SERIAL_NUM_READ, 4)).unwrap();
    assert_eq!(
        sent_packet(&a),
        SaharaPacket::CmdExecuteData { client_cmd: 1 }
    );
    assert_eq!(a[1], HostAction::ExpectRaw(4));
    let a = h.feed(&0x1b02_62c4u32.to_le_bytes()).unwrap();
    assert_eq!(
        sent_packet(&a),
        SaharaPacket::CmdExecute {
            client_cmd: exec::MSM_HW_ID_READ
        }
    );
    h.feed(&exec_resp(exec::MSM_HW_ID_READ, 24)).unwrap();
    let a = h
        .feed(&0x0005_e0e1_0001_0004u64.to_le_bytes().repeat(3))
        .unwrap();
    assert_eq!(
        sent_packet(&a),
        SaharaPacket::CmdExecute {
            client_cmd: exec::OEM_PK_HASH_READ
        }
    );
    h.feed(&exec_resp(exec::OEM_PK_HASH_READ, 64)).unwrap();
    let a = h.feed(&[0xc3u8; 32].repeat(2)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::CmdSwitchMode { mode: 0 });
    a
}

#[test]
fn identity_v2_then_switch_back_and_upload() {
    let img = image(0x800);
    let mut h = SaharaHost::new(HostGoal::IdentityThenUpload, Some(img.clone()));
    identity_v2(&mut h);
    let a = h.feed(&hello(2, 0)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
    let Outcome::Uploaded { identity, .. } = upload_rest(&mut h, &img, false, 1) else {
        panic!()
    };
    let id = identity.unwrap();
    assert_eq!(id.serial, Some(0x1b02_62c4));
    assert_eq!(id.hw_id_hex().as_deref(), Some("0005e0e100010004"));
    assert_eq!(
        (id.msm_id(), id.oem_id(), id.model_id()),
        (Some(0x0005_e0e1), Some(1), Some(4))
    );
    assert_eq!(id.pk_hash, Some(vec![0xc3; 32]));
    assert_eq!(id.sbl_version, None);
    assert_eq!(id.refused, vec![]);
    assert_eq!(id.sahara_version, 2);
}

#[test]
fn identity_v3_uses_chip_id_and_zero_length_refusal() {
    let mut h = SaharaHost::new(HostGoal::IdentityOnly, None);
    let a = h.feed(&hello(3, 0)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(3));
    h.feed(&SaharaPacket::CmdReady.encode()).unwrap();
    h.feed(&exec_resp(1, 4)).unwrap();
    let a = h.feed(&7u32.to_le_bytes()).unwrap();
    assert_eq!(
        sent_packet(&a),
        SaharaPacket::CmdExecute {
            client_cmd: exec::READ_CHIP_ID_V3
        }
    );
    let mut chip = vec![0u8; 48];
    chip[36..40].copy_from_slice(&0x0019_90e1u32.to_le_bytes());
    chip[40..42].copy_from_slice(&0x0051u16.to_le_bytes());
    chip[42..44].copy_from_slice(&0x0002u16.to_le_bytes());
    h.feed(&exec_resp(exec::READ_CHIP_ID_V3, 48)).unwrap();
    h.feed(&chip).unwrap();
    // PK hash refused with an empty answer, and the re-sent HELLO glued behind it; the SBL
    // version is not asked.
    let mut glued = exec_resp(exec::OEM_PK_HASH_READ, 0);
    glued.extend(hello(3, 0));
    let a = h.feed(&glued).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::CmdSwitchMode { mode: 0 });
    let Outcome::IdentityRead { identity, trailing } = finished(&a) else {
        panic!()
    };
    assert_eq!(trailing, hello(3, 0));
    assert_eq!(identity.hw_id, Some(0x0019_90e1_0051_0002));
    assert_eq!(identity.chip_id_v3.as_deref(), Some(&chip[..]));
    assert_eq!(identity.sbl_version, None);
    assert_eq!(identity.refused, vec![(exec::OEM_PK_HASH_READ, None)]);

    // A fresh upload session picks the handed-over HELLO up.
    let img = image(0x40);
    let mut up = SaharaHost::new(HostGoal::Upload, Some(img.clone()));
    let a = up.feed(&trailing).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
}

#[test]
fn command_mode_refused_then_upload() {
    let img = image(0x200);
    let mut h = SaharaHost::new(HostGoal::IdentityThenUpload, Some(img.clone()));
    h.feed(&hello(2, 0)).unwrap();
    assert!(h.feed(&end(0, 0x18)).unwrap().is_empty());
    let a = h.feed(&hello(2, 0)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
    let Outcome::Uploaded { identity, .. } = upload_rest(&mut h, &img, true, 1) else {
        panic!()
    };
    assert_eq!(
        identity.unwrap().command_mode_refused,
        Some(SaharaStatus(0x18))
    );
}

#[test]
fn auth_failures_carry_the_plain_explanation() {
    for (status, text) in [
        (0x21, "hash table authentication failed"),
        (0x25, "image authentication failure"),
    ] {
        let img = image(0x100);
        let mut h = SaharaHost::new(HostGoal::Upload, Some(img));
        h.feed(&hello(2, 0)).unwrap();
        h.feed(&rd(13, 0, 0x34)).unwrap();
        let e = h.feed(&end(13, status)).unwrap_err();
        assert_eq!(
            e,
            SaharaError::ImageRejected {
                image_id: 13,
                status: SaharaStatus(status)
            }
        );
        assert!(e.to_string().contains(text), "{e}");
        assert!(e.help().unwrap().contains("not signed for this board"));
        assert!(h.is_over());
    }
}

#[test]
fn stream_framing_split_byte_by_byte_and_glued() {
    let img = image(0x1100);
    // Byte by byte.
    let mut h = SaharaHost::new(HostGoal::Upload, Some(img.clone()));
    let mut sent = Vec::new();
    let mut script = hello(2, 0);
    script.extend(rd(13, 0, 0x34));
    script.extend(rd64(13, 0x34, 0x10cc));
    script.extend(end(13, 0));
    script.extend(done_resp(1));
    script.extend(b"<?xml version=\"1.0\" ?><data>");
    let mut outcome = None;
    for b in &script {
        for a in h.feed(&[*b]).unwrap() {
            match a {
                HostAction::Send(s) => sent.push(s),
                HostAction::Finished(o) => outcome = Some(o),
                HostAction::ExpectRaw(_) => panic!(),
            }
        }
        if outcome.is_some() {
            break;
        }
    }
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[1], img[..0x34]);
    assert_eq!(sent[2], img[0x34..]);
    // Glued: everything at once gives the same sends, and the trailing XML is handed over.
    let mut g = SaharaHost::new(HostGoal::Upload, Some(img));
    let actions = g.feed(&script).unwrap();
    let sends: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            HostAction::Send(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(sends, sent);
    let Outcome::Uploaded { trailing, .. } = finished(&actions) else {
        panic!()
    };
    assert_eq!(trailing, b"<?xml version=\"1.0\" ?><data>");
    // Byte-by-byte run ended at DONE_RESP without the trailing bytes; none were lost there.
    assert!(matches!(outcome, Some(Outcome::Uploaded { .. })));
}

#[test]
fn xml_first_means_firehose_already_running() {
    let mut h = SaharaHost::new(HostGoal::Upload, Some(image(8)));
    assert!(h.feed(b"<?x").unwrap().is_empty());
    let a = h.feed(b"ml version=\"1.0\" ?>").unwrap();
    assert_eq!(
        finished(&a),
        Outcome::FirehoseAlreadyRunning {
            received: b"<?xml version=\"1.0\" ?>".to_vec()
        }
    );
}

#[test]
fn silence_nudges_once_then_times_out() {
    let img = image(0x40);
    let mut h = SaharaHost::new(HostGoal::Upload, Some(img.clone()));
    let a = h.on_silence().unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
    // The board was waiting for exactly that and now asks for the image.
    let a = h.feed(&rd(13, 0, 0x40)).unwrap();
    assert_eq!(sent_raw(&a), img);

    let mut h = SaharaHost::new(HostGoal::IdentityThenUpload, Some(img));
    assert_eq!(
        sent_packet(&h.on_silence().unwrap()),
        SaharaPacket::hello_resp(3)
    );
    // No CMD_READY either: the identity is given up once and the image transfer asked for.
    assert_eq!(
        sent_packet(&h.on_silence().unwrap()),
        SaharaPacket::hello_resp(0)
    );
    let e = h.on_silence().unwrap_err();
    assert!(matches!(e, SaharaError::Timeout { .. }), "{e}");
    assert!(e.help().is_some());
}

/// A board that does not answer command mode at all, or leaves one EXECUTE unanswered, still
/// gets its programmer: the host records what it could not read and goes on with the upload.
#[test]
fn silence_in_command_mode_falls_back_to_the_upload() {
    let img = image(0x40);
    // HELLO_RESP mode 3 ignored: the host sends HELLO_RESP mode 0 and serves READ_DATA.
    let mut h = SaharaHost::new(HostGoal::IdentityThenUpload, Some(img.clone()));
    assert_eq!(
        sent_packet(&h.feed(&hello(2, 0)).unwrap()),
        SaharaPacket::hello_resp(3)
    );
    assert_eq!(
        sent_packet(&h.on_silence().unwrap()),
        SaharaPacket::hello_resp(0)
    );
    assert_eq!(sent_raw(&h.feed(&rd(13, 0, 0x40)).unwrap()), img);
    assert!(h.identity().is_some_and(|id| id.command_mode_silent));

    // The first EXECUTE (serial number) unanswered: SWITCH_MODE(0), then a fresh HELLO and the
    // upload; the unanswered query is recorded as refused, and it happens once only.
    let mut h = SaharaHost::new(HostGoal::IdentityThenUpload, Some(img.clone()));
    h.feed(&hello(2, 0)).unwrap();
    let a = h.feed(&SaharaPacket::CmdReady.encode()).unwrap();
    assert_eq!(
        sent_packet(&a),
        SaharaPacket::CmdExecute {
            client_cmd: oasis_proto::sahara::exec::SERIAL_NUM_READ
        }
    );
    assert_eq!(
        sent_packet(&h.on_silence().unwrap()),
        SaharaPacket::CmdSwitchMode { mode: 0 }
    );
    let id = h.identity().unwrap();
    assert_eq!(
        id.refused,
        vec![(oasis_proto::sahara::exec::SERIAL_NUM_READ, None)]
    );
    assert_eq!(
        sent_packet(&h.feed(&hello(2, 0)).unwrap()),
        SaharaPacket::hello_resp(0)
    );
    assert_eq!(sent_raw(&h.feed(&rd(13, 0, 0x40)).unwrap()), img);
}

#[test]
fn unexpected_packet_resets_then_fails() {
    let mut h = SaharaHost::new(HostGoal::Upload, Some(image(0x40)));
    h.feed(&hello(2, 0)).unwrap();
    let a = h.feed(&done_resp(1)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::Reset);
    let e = h.feed(&SaharaPacket::ResetResp.encode()).unwrap_err();
    assert_eq!(
        e,
        SaharaError::Unexpected {
            state: "serving the programmer (READ_DATA)",
            got: "DONE_RESP"
        }
    );
}

#[test]
fn read_past_end_and_missing_image_are_errors() {
    let mut h = SaharaHost::new(HostGoal::Upload, Some(image(0x40)));
    h.feed(&hello(2, 0)).unwrap();
    let e = h.feed(&rd(13, 0x30, 0x20)).unwrap_err();
    assert_eq!(
        e,
        SaharaError::ReadPastEnd {
            image_id: 13,
            offset: 0x30,
            length: 0x20,
            image_len: 0x40
        }
    );
    let mut h = SaharaHost::new(HostGoal::Upload, Some(image(0x40)));
    h.feed(&hello(2, 0)).unwrap();
    assert!(matches!(
        h.feed(&rd64(13, u64::MAX, 2)),
        Err(SaharaError::ReadPastEnd { .. })
    ));
    let mut h = SaharaHost::new(HostGoal::Upload, None);
    h.feed(&hello(2, 0)).unwrap();
    assert_eq!(
        h.feed(&rd(13, 0, 4)),
        Err(SaharaError::NoImage { image_id: 13 })
    );
}

#[test]
fn memory_debug_mode_is_reported() {
    let mut h = SaharaHost::new(HostGoal::Upload, Some(image(8)));
    assert_eq!(h.feed(&hello(2, 2)), Err(SaharaError::MemoryDebugMode));
}

/// The engine reads the identity in a session of its own (IdentityOnly). A boot ROM that
/// ignores command mode must not fail it: silence while waiting for CMD_READY answers the
/// boot ROM for image transfer and ends the session with "command mode silent".
#[test]
fn identity_only_silence_answers_for_image_transfer() {
    let mut h = SaharaHost::new(HostGoal::IdentityOnly, None);
    assert_eq!(
        sent_packet(&h.feed(&hello(2, 0)).unwrap()),
        SaharaPacket::hello_resp(3)
    );
    let a = h.on_silence().unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
    let Outcome::IdentityRead { identity, .. } = finished(&a) else {
        panic!("{a:?}")
    };
    assert!(identity.command_mode_silent);
    assert_eq!(identity.hw_id, None);
}

/// A boot ROM that drops HELLO_RESP mode 3 and starts over with a fresh HELLO is answered for
/// image transfer (not asked for command mode again, not reset), in both goals.
#[test]
fn a_repeated_hello_in_command_mode_is_answered_for_image_transfer() {
    let mut h = SaharaHost::new(HostGoal::IdentityOnly, None);
    h.feed(&hello(2, 0)).unwrap();
    let a = h.feed(&hello(2, 0)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
    let Outcome::IdentityRead { identity, .. } = finished(&a) else {
        panic!("{a:?}")
    };
    assert!(identity.command_mode_silent);

    let img = image(0x40);
    let mut h = SaharaHost::new(HostGoal::IdentityThenUpload, Some(img.clone()));
    h.feed(&hello(2, 0)).unwrap();
    let a = h.feed(&hello(2, 0)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
    assert_eq!(sent_raw(&h.feed(&rd(13, 0, 0x20)).unwrap()), img[..0x20]);
    // The boot ROM restarts mid-upload: the HELLO is answered again, not met with a RESET.
    let a = h.feed(&hello(2, 0)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
    assert!(matches!(
        upload_rest(&mut h, &img, false, 1),
        Outcome::Uploaded { .. }
    ));
}

/// A boot ROM that starts over in the middle of the EXECUTE queries: what it told is kept,
/// the unanswered query is recorded as refused, and the identity session hands over.
#[test]
fn a_hello_between_executes_keeps_what_was_read() {
    let mut h = SaharaHost::new(HostGoal::IdentityOnly, None);
    h.feed(&hello(2, 0)).unwrap();
    h.feed(&SaharaPacket::CmdReady.encode()).unwrap();
    h.feed(&exec_resp(exec::SERIAL_NUM_READ, 4)).unwrap();
    let a = h.feed(&0x1234_5678u32.to_le_bytes()).unwrap();
    assert_eq!(
        sent_packet(&a),
        SaharaPacket::CmdExecute {
            client_cmd: exec::MSM_HW_ID_READ
        }
    );
    let a = h.feed(&hello(2, 0)).unwrap();
    assert_eq!(sent_packet(&a), SaharaPacket::hello_resp(0));
    let Outcome::IdentityRead { identity, .. } = finished(&a) else {
        panic!("{a:?}")
    };
    assert_eq!(identity.serial, Some(0x1234_5678));
    assert!(!identity.command_mode_silent);
    assert_eq!(identity.refused, vec![(exec::MSM_HW_ID_READ, None)]);
}

/// A boot ROM that keeps starting over is given up on after a bounded number of HELLOs.
#[test]
fn endless_hellos_end_the_session() {
    let mut h = SaharaHost::new(HostGoal::Upload, Some(image(0x40)));
    let mut failed = false;
    for _ in 0..40 {
        match h.feed(&hello(2, 0)) {
            Ok(a)
                if a.iter().any(
                    |x| matches!(x, HostAction::Send(b) if b == &SaharaPacket::Reset.encode()),
                ) =>
            {
                failed = h.feed(&SaharaPacket::ResetResp.encode()).is_err();
                break;
            }
            Ok(_) => {}
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the host answered HELLO forever");
}
