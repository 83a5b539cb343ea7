//! SerialTransport against real pseudo-terminals: the test plays the board on the master side.
// Pseudo-terminals (openpty) exist only on Unix, so these tests are not built on Windows.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use oasis_transport::serial::SerialTransport;
use oasis_transport::{Help, LinkKind, PortSpec, Transport, TransportErrorKind};
use serialport::{SerialPort, TTYPort};

/// A Sahara HELLO as an MDM9x07 PBL sends it (v2, min 1, max cmd 0x400, mode 0).
fn hello() -> Vec<u8> {
    let mut p = Vec::new();
    for v in [1u32, 0x30, 2, 1, 0x400, 0, 0, 0, 0, 0, 0, 0] {
        p.extend_from_slice(&v.to_le_bytes());
    }
    p
}

fn pty() -> (TTYPort, TTYPort, String) {
    let (master, slave) = TTYPort::pair().expect("openpty");
    let name = slave.name().expect("slave name");
    (master, slave, name)
}

/// Read exactly `n` bytes from the transport, in as many reads as it takes.
fn read_n(t: &mut dyn Transport, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    while out.len() < n {
        let k = t.read(&mut buf, Duration::from_secs(2)).expect("read");
        assert!(k >= 1, "read never returns Ok(0)");
        out.extend_from_slice(&buf[..k]);
    }
    out
}

fn master_read_n(m: &mut TTYPort, n: usize) -> Vec<u8> {
    m.set_timeout(Duration::from_secs(2)).unwrap();
    let mut out = vec![0u8; n];
    m.read_exact(&mut out).expect("master read");
    out
}

#[test]
fn hello_waiting_before_open_is_delivered() {
    let (mut master, _slave, name) = pty();
    master.write_all(&hello()).unwrap();
    master.flush().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let mut t = SerialTransport::open(&name).expect("open pty by path");
    assert_eq!(t.link_kind(), LinkKind::Stream);
    assert_eq!(t.describe(), name);
    assert_eq!(read_n(&mut t, 48), hello());
}

#[test]
fn split_and_glued_device_writes_arrive_as_one_stream() {
    let (mut master, _slave, name) = pty();
    let mut t = oasis_transport::open(&PortSpec::parse(&name)).expect("open via PortSpec");
    let read_data = [3u32, 0x14, 0x0d, 0, 0x50]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect::<Vec<u8>>();
    // Split: the HELLO in three pieces with pauses.
    let h = hello();
    for part in [&h[..5], &h[5..30], &h[30..]] {
        master.write_all(part).unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(read_n(t.as_mut(), 48), h);
    // Glued: two packets in one write.
    let glued = [h.clone(), read_data.clone()].concat();
    master.write_all(&glued).unwrap();
    assert_eq!(read_n(t.as_mut(), glued.len()), glued);
    // Host to device, both a single write and two back-to-back writes.
    t.write_all(&h, Duration::from_secs(1)).unwrap();
    t.write_all(&read_data[..7], Duration::from_secs(1))
        .unwrap();
    t.write_all(&read_data[7..], Duration::from_secs(1))
        .unwrap();
    assert_eq!(master_read_n(&mut master, 48 + 20), [h, read_data].concat());
}

#[test]
fn read_timeout_yields_timeout_kind() {
    let (_master, _slave, name) = pty();
    let mut t = SerialTransport::open(&name).unwrap();
    let start = Instant::now();
    let err = t
        .read(&mut [0u8; 16], Duration::from_millis(150))
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(err.is_timeout());
    assert!(
        took >= Duration::from_millis(140),
        "returned early: {took:?}"
    );
}

#[test]
fn other_side_closing_is_disconnected() {
    let (master, slave, name) = pty();
    let mut t = SerialTransport::open(&name).unwrap();
    drop(slave);
    drop(master);
    let err = t
        .read(&mut [0u8; 16], Duration::from_millis(500))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Disconnected, "{err}");
    let err = t
        .write_all(b"AT\r", Duration::from_millis(200))
        .unwrap_err();
    assert!(
        matches!(
            err.kind,
            TransportErrorKind::Disconnected | TransportErrorKind::Io
        ),
        "{err}"
    );
}

#[test]
fn big_write_is_looped_to_completion_while_the_device_reads() {
    let (mut master, _slave, name) = pty();
    let mut t = SerialTransport::open(&name).unwrap();
    let data: Vec<u8> = (0..256 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let want = data.len();
    let reader = std::thread::Builder::new()
        .name("pty-device".into())
        .spawn(move || master_read_n(&mut master, want))
        .unwrap();
    t.write_all(&data, Duration::from_secs(10))
        .expect("write 256 KiB");
    assert_eq!(reader.join().unwrap(), data);
}

#[test]
fn write_that_cannot_finish_times_out_with_bytes_written() {
    let (_master, _slave, name) = pty();
    let mut t = SerialTransport::open(&name).unwrap();
    let data = vec![0x5Au8; 1024 * 1024];
    let err = t.write_all(&data, Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    let written = err.written.expect("a failed write says how much went out");
    assert!(written > 0 && written < data.len(), "written = {written}");
    assert!(
        err.to_string()
            .contains("bytes were written before the failure"),
        "{err}"
    );
}

#[test]
fn missing_port_is_not_found_and_second_open_is_busy() {
    let err = SerialTransport::open("/dev/ttyOASIS_DOES_NOT_EXIST").unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::NotFound, "{err}");
    assert!(
        err.detail.as_deref().unwrap_or("").contains("No such file"),
        "{err}"
    );

    let (_master, _slave, name) = pty();
    let _first = SerialTransport::open(&name).unwrap();
    let err = SerialTransport::open(&name).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Busy, "{err}");
    assert!(err.help().is_some());
}

#[test]
fn a_regular_file_is_not_a_serial_port() {
    let f = tempfile::NamedTempFile::new().unwrap();
    let err = SerialTransport::open(f.path().to_str().unwrap()).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Io, "{err}");
    assert!(err.to_string().contains("not a serial port"), "{err}");
}

/// A read with room for far more than arrived returns what arrived, and returns it while the
/// board still waits for an answer: the board here sends its next bytes only after the host
/// answered, so a read that waited for its buffer to fill would time out instead.
#[test]
fn a_read_returns_what_arrived_without_filling_its_buffer() {
    let (mut master, _slave, name) = pty();
    let mut t = SerialTransport::open(&name).expect("open pty");
    let board = std::thread::Builder::new()
        .name("test-board".into())
        .spawn(move || {
            master.write_all(&hello()).unwrap();
            master.flush().unwrap();
            let answer = master_read_n(&mut master, 4);
            master.write_all(b"DONE").unwrap();
            master.flush().unwrap();
            (answer, master)
        })
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = Vec::new();
    while got.len() < 48 {
        let n = t.read(&mut buf, Duration::from_secs(20)).expect("hello");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, hello());
    t.write_all(b"ACK!", Duration::from_secs(2)).unwrap();
    let mut rest = Vec::new();
    while rest.len() < 4 {
        let n = t
            .read(&mut buf, Duration::from_secs(20))
            .expect("second answer");
        rest.extend_from_slice(&buf[..n]);
    }
    assert_eq!(rest, b"DONE");
    let (answer, _master) = board.join().unwrap();
    assert_eq!(answer, b"ACK!");
}
