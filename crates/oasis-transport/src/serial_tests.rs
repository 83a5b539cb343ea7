//! Tests of the serial transport: write and read loops on mock ports, open errors, ZLPs.
use super::*;

fn port(name: &str, vid: Option<u16>) -> crate::enumerate::SerialPortInfo {
    crate::enumerate::SerialPortInfo {
        name: name.into(),
        vid,
        pid: vid.map(|_| 0x9008),
        interface: None,
        serial_number: None,
        manufacturer: None,
        product: None,
    }
}

#[test]
fn only_a_qualcomm_com_port_is_taken_for_the_qdloader_driver() {
    // Qualcomm HS-USB QDLoader 9008 (COMn): the driver sends ZLPs.
    assert!(qdloader(Some(&port("COM7", Some(0x05C6)))));
    // A Quectel port, a UART adapter, a COM port with no USB identity (Wine's pty mapping),
    // or a port the OS does not list: a plain byte stream, no ZLPs.
    assert!(!qdloader(Some(&port("COM8", Some(0x2C7C)))));
    assert!(!qdloader(Some(&port("COM3", Some(0x0403)))));
    assert!(!qdloader(Some(&port("COM7", None))));
    assert!(!qdloader(None));
}

/// Accepts `step` bytes per call until `fail_after` bytes, then fails with `fail`.
struct Chunky {
    step: usize,
    fail_after: usize,
    fail: io::ErrorKind,
    got: Vec<u8>,
}

impl TimedWrite for Chunky {
    fn write_some(&mut self, buf: &[u8], _t: Duration) -> io::Result<usize> {
        if self.got.len() >= self.fail_after {
            return Err(io::Error::new(self.fail, "Input/output error"));
        }
        let n = buf
            .len()
            .min(self.step)
            .min(self.fail_after - self.got.len());
        self.got.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// A port as Wine emulates serialport's COMMTIMEOUTS: a read returns early only when it
/// got every byte it asked for; asking for more than has arrived waits the whole timeout
/// (counted in `waited_out`, then it returns what it has). `arrivals` come one chunk per
/// wait.
struct WineLike {
    queued: std::collections::VecDeque<u8>,
    arrivals: std::collections::VecDeque<Vec<u8>>,
    waited_out: usize,
    asked: Vec<usize>,
}

impl WineLike {
    fn new(now: &[u8], later: &[&[u8]]) -> WineLike {
        WineLike {
            queued: now.iter().copied().collect(),
            arrivals: later.iter().map(|c| c.to_vec()).collect(),
            waited_out: 0,
            asked: Vec::new(),
        }
    }
}

impl TimedRead for WineLike {
    fn waiting(&mut self) -> io::Result<usize> {
        Ok(self.queued.len())
    }
    fn read_some(&mut self, buf: &mut [u8], _t: Duration) -> io::Result<usize> {
        self.asked.push(buf.len());
        if self.queued.len() < buf.len() {
            // Wait: the next chunk arrives, and if that is still not enough the whole
            // timeout runs out.
            if let Some(c) = self.arrivals.pop_front() {
                self.queued.extend(c);
            }
            if self.queued.len() < buf.len() {
                self.waited_out += 1;
            }
        }
        let n = buf.len().min(self.queued.len());
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "Operation timed out",
            ));
        }
        for b in &mut buf[..n] {
            *b = self.queued.pop_front().unwrap_or_default();
        }
        Ok(n)
    }
}

#[test]
fn reads_never_ask_for_more_than_has_arrived() {
    let hello = [0x01u8; 48];
    let mut port = WineLike::new(&hello, &[b"0123456789", b"xy"]);
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = || Instant::now() + Duration::from_secs(30);
    // Waiting bytes are taken at once.
    assert_eq!(prompt_read(&mut port, &mut buf, deadline()).unwrap(), 48);
    assert_eq!(&buf[..48], &hello);
    // Nothing waiting: one byte is awaited, then what came with it.
    assert_eq!(prompt_read(&mut port, &mut buf, deadline()).unwrap(), 10);
    assert_eq!(&buf[..10], b"0123456789");
    assert_eq!(prompt_read(&mut port, &mut buf, deadline()).unwrap(), 2);
    assert_eq!(&buf[..2], b"xy");
    assert_eq!(port.waited_out, 0, "asked for: {:?}", port.asked);
    // Nothing comes: the one-byte wait times out and says so.
    let e = prompt_read(&mut port, &mut buf, deadline()).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert_eq!(
        map_io_error(&e, "read", "COM7").kind,
        TransportErrorKind::Timeout
    );
}

#[test]
fn a_small_buffer_takes_only_what_fits() {
    let mut port = WineLike::new(b"abcdef", &[]);
    let mut buf = [0u8; 4];
    let deadline = Instant::now() + Duration::from_secs(30);
    assert_eq!(prompt_read(&mut port, &mut buf, deadline).unwrap(), 4);
    assert_eq!(&buf, b"abcd");
    assert_eq!(prompt_read(&mut port, &mut buf, deadline).unwrap(), 2);
    assert_eq!(&buf[..2], b"ef");
    assert_eq!(port.waited_out, 0, "asked for: {:?}", port.asked);
}

#[test]
fn the_plain_whole_buffer_read_is_what_stalls_under_wine() {
    // The model itself: the read serialport's callers used to make (the whole buffer)
    // waits out its timeout when fewer bytes arrived, which `prompt_read` avoids.
    let mut port = WineLike::new(b"abc", &[]);
    let mut buf = [0u8; 512];
    assert_eq!(port.read_some(&mut buf, Duration::from_secs(1)).unwrap(), 3);
    assert_eq!(port.waited_out, 1);
}

#[test]
fn partial_writes_are_looped_until_done() {
    let mut w = Chunky {
        step: 7,
        fail_after: usize::MAX,
        fail: io::ErrorKind::Other,
        got: vec![],
    };
    let data: Vec<u8> = (0..100u8).collect();
    write_loop(&mut w, &data, Instant::now() + Duration::from_secs(5)).unwrap();
    assert_eq!(w.got, data);
}

#[test]
fn failure_reports_bytes_written_and_maps_eio_to_disconnected() {
    let mut w = Chunky {
        step: 5,
        fail_after: 12,
        fail: io::ErrorKind::Other,
        got: vec![],
    };
    let data = [0xAAu8; 40];
    let (written, e) =
        write_loop(&mut w, &data, Instant::now() + Duration::from_secs(5)).unwrap_err();
    assert_eq!(written, 12);
    let err = map_io_error(&e, "write", "/dev/ttyUSB0").with_written(written);
    assert_eq!(err.kind, TransportErrorKind::Disconnected);
    assert_eq!(err.written, Some(12));
    assert!(err.to_string().contains("12 bytes were written"), "{err}");
    assert!(err.to_string().contains("Input/output error"), "{err}");
}

#[test]
fn open_errors_map_to_kinds_keeping_os_text() {
    use serialport::{Error, ErrorKind as K};
    let cases = [
        (
            Error::new(K::Io(io::ErrorKind::NotFound), "No such file or directory"),
            TransportErrorKind::NotFound,
        ),
        (
            Error::new(K::Io(io::ErrorKind::PermissionDenied), "Permission denied"),
            TransportErrorKind::PermissionDenied,
        ),
        (
            Error::new(K::NoDevice, "Device or resource busy"),
            TransportErrorKind::Busy,
        ),
        (
            Error::new(
                K::NoDevice,
                "Unable to acquire exclusive lock on serial port",
            ),
            TransportErrorKind::Busy,
        ),
        (
            Error::new(K::Unknown, "No such device or address"),
            TransportErrorKind::NotFound,
        ),
        (
            Error::new(K::Unknown, "Inappropriate ioctl for device"),
            TransportErrorKind::Io,
        ),
    ];
    for (e, want) in cases {
        let got = map_open_error(&e, "/dev/ttyUSB9");
        assert_eq!(got.kind, want, "{e:?}");
        assert_eq!(got.op, "open");
        assert!(
            got.detail.as_deref().unwrap_or("").contains(&e.description),
            "{got}"
        );
    }
}

#[test]
fn io_errors_after_open_map_to_kinds() {
    let cases = [
        (
            io::Error::new(io::ErrorKind::TimedOut, "Operation timed out"),
            TransportErrorKind::Timeout,
        ),
        (
            io::Error::new(io::ErrorKind::BrokenPipe, "Broken pipe"),
            TransportErrorKind::Disconnected,
        ),
        (
            io::Error::other("I/O error"),
            TransportErrorKind::Disconnected,
        ),
        (
            io::Error::other("No such device or address"),
            TransportErrorKind::Disconnected,
        ),
        (io::Error::other("flush failed"), TransportErrorKind::Io),
    ];
    for (e, want) in cases {
        assert_eq!(map_io_error(&e, "read", "COM7").kind, want, "{e}");
    }
}
