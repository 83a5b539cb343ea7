//! The pty service end to end with a small raw serial client (Unix only).
// Pseudo-terminals (openpty) exist only on Unix, so these tests are not built on Windows.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::Write;
use std::time::{Duration, Instant};

use oasis_proto::sahara::{SaharaPacket, mode};
use oasis_vdev::{BoardOptions, FaultSpec, Profile, serve_pty};

fn read_for(port: &mut dyn serialport::SerialPort, want: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !want(&got) {
        if let Ok(n) = port.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    got
}

#[test]
fn pty_serves_sahara_firehose_then_the_at_modem() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyVIRT");
    let svc = serve_pty(&link, Profile::bg95(), Vec::new(), BoardOptions::default()).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let mut port = serialport::new(link.to_string_lossy(), 115_200)
        .timeout(Duration::from_millis(50))
        .open()
        .unwrap();
    let hello = read_for(port.as_mut(), |b| b.len() >= 48);
    assert_eq!(hello.len(), 48);
    assert!(matches!(
        SaharaPacket::decode(&hello).unwrap().unwrap().0,
        SaharaPacket::Hello { .. }
    ));
    // Command mode over the stream, the response packet written in two pieces.
    let resp = SaharaPacket::hello_resp(mode::COMMAND).encode();
    port.write_all(&resp[..5]).unwrap();
    port.flush().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    port.write_all(&resp[5..]).unwrap();
    let ready = read_for(port.as_mut(), |b| b.len() >= 8);
    assert_eq!(ready, SaharaPacket::CmdReady.encode());
    port.write_all(&SaharaPacket::Reset.encode()).unwrap();
    // RESET_RESP, then (same pty, possibly in the same read) the modem's RDY.
    let rr = read_for(port.as_mut(), |b| b.ends_with(b"RDY\r\n"));
    assert!(rr.starts_with(&SaharaPacket::ResetResp.encode()));
    assert!(
        rr.ends_with(b"\r\nRDY\r\n"),
        "{:?}",
        String::from_utf8_lossy(&rr)
    );
    port.write_all(b"AT+CGMR\r").unwrap();
    let ans = read_for(port.as_mut(), |b| b.ends_with(b"OK\r\n"));
    assert!(String::from_utf8_lossy(&ans).contains("\r\nBG95M3LAR02A03\r\n"));
    drop(port);
    svc.stop();
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "link removed on stop"
    );
}

#[test]
fn pty_refuses_to_replace_a_regular_file_and_replaces_stale_links() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("occupied");
    std::fs::write(&file, b"keep me").unwrap();
    let e = serve_pty(&file, Profile::bg95(), Vec::new(), BoardOptions::default()).unwrap_err();
    assert!(e.to_string().contains("not a symbolic link"));
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    let stale = dir.path().join("stale");
    std::os::unix::fs::symlink("/nonexistent/pts/99", &stale).unwrap();
    let svc = serve_pty(&stale, Profile::eg25(), Vec::new(), BoardOptions::default()).unwrap();
    assert_eq!(
        std::fs::read_link(&stale).unwrap().to_string_lossy(),
        svc.slave_path()
    );
}

#[test]
fn pty_service_ends_when_the_board_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyGONE");
    let faults = FaultSpec::parse_all(&["unplug@10"]).unwrap();
    let svc = serve_pty(&link, Profile::bg95(), faults, BoardOptions::default()).unwrap();
    let mut port = serialport::new(link.to_string_lossy(), 115_200)
        .timeout(Duration::from_millis(50))
        .open()
        .unwrap();
    read_for(port.as_mut(), |b| b.len() >= 48);
    port.write_all(&[0u8; 20]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while svc.is_running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!svc.is_running());
}
