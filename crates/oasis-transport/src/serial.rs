//! Serial-port transport (COM, ttyUSB/ttyACM, cu.*, pseudo-terminals) over the `serialport`
//! crate: 115200 8N1, no flow control, DTR and RTS asserted, nothing flushed on open.
//!
//! A serial link is a byte stream ([`LinkKind::Stream`]): Sahara packets and Firehose documents
//! may arrive split or glued; framing is the caller's business.

use std::io;
use std::time::{Duration, Instant};

use serialport::{DataBits, FlowControl, Parity, SerialPort, StopBits};

use crate::{LinkKind, Transport, TransportError, TransportErrorKind};

/// Baud rate used for every EDL / AT serial link (the QDLoader driver ignores it, real UARTs
/// and some driver builds need it set).
pub const BAUD_RATE: u32 = 115_200;

/// A serial port opened for Sahara/Firehose or AT traffic.
pub struct SerialTransport {
    port: Box<dyn SerialPort>,
    name: String,
    /// Whether the driver behind the port ends full-packet transfers with a ZLP.
    zlp: bool,
}

impl std::fmt::Debug for SerialTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialTransport")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SerialTransport {
    /// Open a port by the name the OS uses (`COM7`, `/dev/ttyUSB0`, `/dev/pts/3`, ...).
    ///
    /// The receive buffer is left alone: a Sahara HELLO that arrived before the open is
    /// delivered by the first [`Transport::read`]. On Windows only the transmit buffer is
    /// purged, as the QDLoader driver may hold stale output.
    pub fn open(name: &str) -> Result<Self, TransportError> {
        let builder = serialport::new(name, open_baud_rate())
            .data_bits(DataBits::Eight)
            .parity(Parity::None)
            .stop_bits(StopBits::One)
            .flow_control(FlowControl::None)
            .timeout(Duration::from_secs(1))
            .dtr_on_open(true);
        let mut port = open_port(builder).map_err(|e| map_open_error(&e, name))?;
        finish_open(port.as_mut()).map_err(|e| map_open_error(&e, name))?;
        // Best effort: ptys and some USB serial drivers refuse modem-control ioctls.
        let _ = port.write_request_to_send(true);
        let _ = port.write_data_terminal_ready(true);
        Ok(Self {
            port,
            name: name.to_string(),
            zlp: cfg!(windows) && is_qdloader_port(name),
        })
    }

    /// The port name it was opened with.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Unix: serialport leaves the tty blocking, and a blocking `write` of a large buffer waits until
/// the device has taken every byte, whatever the timeout. Non-blocking mode makes serialport's
/// poll-then-write honour the timeout (partial writes are looped by [`write_loop`]).
#[cfg(unix)]
fn open_port(builder: serialport::SerialPortBuilder) -> serialport::Result<Box<dyn SerialPort>> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use std::os::fd::AsRawFd;
    let port = builder.open_native()?;
    let fd = port.as_raw_fd();
    let flags = fcntl(fd, FcntlArg::F_GETFL)?;
    fcntl(
        fd,
        FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
    )?;
    Ok(Box::new(port))
}
#[cfg(not(unix))]
fn open_port(builder: serialport::SerialPortBuilder) -> serialport::Result<Box<dyn SerialPort>> {
    builder.open()
}

/// macOS: serialport flushes both buffers when it sets a baud rate during open, which would
/// drop a waiting HELLO. Open with rate 0 (no flush) and set the rate afterwards.
#[cfg(any(target_os = "macos", target_os = "ios"))]
fn open_baud_rate() -> u32 {
    0
}
#[cfg(not(any(target_os = "macos", target_os = "ios")))]
fn open_baud_rate() -> u32 {
    BAUD_RATE
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
fn finish_open(port: &mut dyn SerialPort) -> serialport::Result<()> {
    // ptys refuse IOSSIOSPEED; a pty has no baud rate to set.
    let _ = port.set_baud_rate(BAUD_RATE);
    Ok(())
}
#[cfg(windows)]
fn finish_open(port: &mut dyn SerialPort) -> serialport::Result<()> {
    // Purge only TX: the HELLO is usually already in the driver's RX buffer, sent once.
    port.clear(serialport::ClearBuffer::Output)
}
#[cfg(not(any(target_os = "macos", target_os = "ios", windows)))]
fn finish_open(_port: &mut dyn SerialPort) -> serialport::Result<()> {
    // Linux and other Unixes: nothing is purged.
    Ok(())
}

impl Transport for SerialTransport {
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError> {
        let deadline = Instant::now() + timeout;
        let mut io = PortIo(self.port.as_mut());
        write_loop(&mut io, buf, deadline)
            .map_err(|(written, e)| map_io_error(&e, "write", &self.name).with_written(written))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = Instant::now() + timeout;
        let mut io = PortIo(self.port.as_mut());
        loop {
            match prompt_read(&mut io, buf, deadline) {
                // A tty in raw mode only returns 0 after poll said readable on hang-up.
                Ok(0) => {
                    return Err(TransportError::new(
                        TransportErrorKind::Disconnected,
                        "read",
                        self.name.clone(),
                    )
                    .with_detail("end of file: the other side closed the port"));
                }
                Ok(n) => return Ok(n),
                // Non-blocking fd: poll said readable but another reader was faster.
                Err(e) if retryable(&e) && Instant::now() < deadline => continue,
                Err(e) => return Err(map_io_error(&e, "read", &self.name)),
            }
        }
    }

    fn link_kind(&self) -> LinkKind {
        LinkKind::Stream
    }

    fn sends_zlp(&self) -> bool {
        // A Windows COM port of Qualcomm's QDLoader driver (USB 05C6) ends full-packet
        // transfers with a ZLP (QFIL configures ZlpAwareHost=1 there); a Linux qcserial or
        // macOS tty does not, and neither does a COM port with no USB identity (a UART adapter,
        // Wine's mapping of a pseudo-terminal): a plain byte stream.
        self.zlp
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// Whether the OS lists `name` as a port of a Qualcomm USB device (the QDLoader driver).
fn is_qdloader_port(name: &str) -> bool {
    qdloader(
        crate::scan::serial_ports()
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name)),
    )
}

/// The decision of [`is_qdloader_port`] on what the OS said about the port.
fn qdloader(info: Option<&crate::enumerate::SerialPortInfo>) -> bool {
    info.is_some_and(|p| p.vid == Some(crate::usb::QUALCOMM_VID))
}

/// The two calls the write loop needs, so it can be tested without a port.
pub(crate) trait TimedWrite {
    /// Write some bytes, waiting at most `timeout`.
    fn write_some(&mut self, buf: &[u8], timeout: Duration) -> io::Result<usize>;
}

/// The two calls the read path needs, so it can be tested without a port.
pub(crate) trait TimedRead {
    /// Bytes the driver holds for us now (Windows `ClearCommError` `cbInQue`, Unix `FIONREAD`).
    fn waiting(&mut self) -> io::Result<usize>;
    /// Read into `buf`, waiting at most `timeout` (a timeout is an error).
    fn read_some(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
}

struct PortIo<'a>(&'a mut dyn SerialPort);

impl PortIo<'_> {
    /// Set the port's timeout only when it changes (each set is a system call; on Windows it
    /// rewrites the COMMTIMEOUTS).
    fn timeout(&mut self, timeout: Duration) -> io::Result<()> {
        if self.0.timeout() != timeout {
            self.0.set_timeout(timeout).map_err(io::Error::from)?;
        }
        Ok(())
    }
}

impl TimedWrite for PortIo<'_> {
    fn write_some(&mut self, buf: &[u8], timeout: Duration) -> io::Result<usize> {
        self.timeout(timeout)?;
        self.0.write(buf)
    }
}

impl TimedRead for PortIo<'_> {
    fn waiting(&mut self) -> io::Result<usize> {
        self.0
            .bytes_to_read()
            .map(|n| n as usize)
            .map_err(io::Error::from)
    }

    fn read_some(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.timeout(timeout)?;
        self.0.read(buf)
    }
}

/// Shortest wait given to a read of bytes that are already waiting (a zero timeout means
/// "return at once, even with nothing" on Windows only with other COMMTIMEOUTS than
/// serialport's, so it is never used).
const READ_FLOOR: Duration = Duration::from_millis(1);

/// Read what has arrived, returning as soon as anything is there, whatever the OS.
///
/// serialport opens Windows ports with `ReadIntervalTimeout = ReadTotalTimeoutMultiplier =
/// MAXDWORD` and the timeout as `ReadTotalTimeoutConstant`: on Windows that returns as soon as
/// one byte is there; Wine (8.0) does not implement that combination and lets a read wait until
/// the whole buffer is filled or the timeout ran out (measured: a flash over COMn at 800 B/s).
/// So a read never asks for more than the driver holds: bytes waiting are read at once;
/// with none, one byte is awaited (which returns the moment it arrives on every OS and under
/// Wine) and whatever followed it is taken too.
pub(crate) fn prompt_read(
    r: &mut dyn TimedRead,
    buf: &mut [u8],
    deadline: Instant,
) -> io::Result<usize> {
    let left = || deadline.saturating_duration_since(Instant::now());
    let waiting = match r.waiting() {
        Ok(n) => n,
        // A driver that cannot tell: one plain read (it returns with what arrived on Unix and
        // real Windows drivers).
        Err(_) => return r.read_some(buf, left()),
    };
    if waiting > 0 {
        let n = waiting.min(buf.len());
        return r.read_some(&mut buf[..n], left().max(READ_FLOOR));
    }
    let Some((first, rest)) = buf.split_first_mut() else {
        return Ok(0);
    };
    let got = r.read_some(std::slice::from_mut(first), left())?;
    if got == 0 || rest.is_empty() {
        return Ok(got);
    }
    // Whatever arrived with the first byte (a packet rarely comes one byte at a time).
    let more = r.waiting().unwrap_or(0).min(rest.len());
    if more == 0 {
        return Ok(1);
    }
    match r.read_some(&mut rest[..more], left().max(READ_FLOOR)) {
        Ok(n) => Ok(1 + n),
        // The first byte is ours already: report it, the next read sees the error again.
        Err(_) => Ok(1),
    }
}

/// Write all of `buf` before `deadline`, looping over partial writes. On failure returns how
/// many bytes went out and the error.
pub(crate) fn write_loop(
    w: &mut dyn TimedWrite,
    buf: &[u8],
    deadline: Instant,
) -> Result<(), (usize, io::Error)> {
    let mut written = 0;
    while let Some(rest) = buf.get(written..).filter(|r| !r.is_empty()) {
        let now = Instant::now();
        if now >= deadline && written > 0 {
            return Err((
                written,
                io::Error::new(io::ErrorKind::TimedOut, "write did not complete in time"),
            ));
        }
        match w.write_some(rest, deadline.saturating_duration_since(now)) {
            Ok(0) => {
                return Err((
                    written,
                    io::Error::new(io::ErrorKind::WriteZero, "the port accepted no bytes"),
                ));
            }
            Ok(n) => written += n,
            Err(e) if retryable(&e) && Instant::now() < deadline => continue,
            Err(e) => return Err((written, e)),
        }
    }
    Ok(())
}

/// EINTR, or EAGAIN on the non-blocking fd (serialport reports EAGAIN as `WouldBlock`).
fn retryable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    )
}

/// Map an error from opening or configuring a port.
pub(crate) fn map_open_error(e: &serialport::Error, name: &str) -> TransportError {
    use serialport::ErrorKind as K;
    let text = e.description.clone();
    let lower = text.to_ascii_lowercase();
    let kind = match e.kind() {
        K::NoDevice if windows_access_denied(&lower) => TransportErrorKind::Busy,
        K::NoDevice if lower.contains("lock") || lower.contains("busy") => TransportErrorKind::Busy,
        K::NoDevice => TransportErrorKind::NotFound,
        K::InvalidInput => TransportErrorKind::NotFound,
        K::Io(io::ErrorKind::NotFound) => TransportErrorKind::NotFound,
        K::Io(io::ErrorKind::PermissionDenied) => TransportErrorKind::PermissionDenied,
        K::Io(io::ErrorKind::TimedOut) => TransportErrorKind::Timeout,
        K::Io(_) | K::Unknown => classify_text(&lower, TransportErrorKind::NotFound),
    };
    let mut err = TransportError::new(kind, "open", name).with_detail(text);
    if lower.contains("inappropriate ioctl") || lower.contains("not a typewriter") {
        err.kind = TransportErrorKind::Io;
        err.detail = Some(format!("{}: not a serial port", e.description));
    }
    err
}

fn windows_access_denied(lower: &str) -> bool {
    cfg!(windows) && lower.contains("denied")
}

/// Map an I/O error from an open port (read, write, set timeout).
pub(crate) fn map_io_error(e: &io::Error, op: &'static str, name: &str) -> TransportError {
    let text = e.to_string();
    let kind = match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportErrorKind::Timeout,
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::NotConnected
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotFound => TransportErrorKind::Disconnected,
        io::ErrorKind::PermissionDenied => TransportErrorKind::PermissionDenied,
        _ => match windows_disconnect_code(e) {
            true => TransportErrorKind::Disconnected,
            false => classify_text(&text.to_ascii_lowercase(), TransportErrorKind::Io),
        },
    };
    TransportError::new(kind, op, name).with_detail(text)
}

/// EIO / ENXIO / ENODEV texts (as nix and libc word them) mean the device went away once the
/// port is open; before it is open they mean there is no such device.
fn classify_text(lower: &str, absent: TransportErrorKind) -> TransportErrorKind {
    const GONE: [&str; 5] = [
        "input/output error",
        "i/o error",
        "no such device",
        "device not configured",
        "broken pipe",
    ];
    if GONE.iter().any(|g| lower.contains(g)) {
        match absent {
            TransportErrorKind::Io => TransportErrorKind::Disconnected,
            other => other,
        }
    } else if lower.contains("permission denied") {
        TransportErrorKind::PermissionDenied
    } else if lower.contains("busy") {
        TransportErrorKind::Busy
    } else {
        TransportErrorKind::Io
    }
}

/// Windows codes seen when a USB serial device is unplugged under an open handle.
#[cfg(windows)]
fn windows_disconnect_code(e: &io::Error) -> bool {
    // ERROR_BAD_COMMAND, ERROR_GEN_FAILURE, ERROR_OPERATION_ABORTED, ERROR_DEVICE_NOT_CONNECTED,
    // ERROR_ACCESS_DENIED (a vanished QDLoader port answers with it).
    matches!(e.raw_os_error(), Some(22 | 31 | 995 | 1167 | 5))
}
#[cfg(not(windows))]
fn windows_disconnect_code(_e: &io::Error) -> bool {
    false
}

#[cfg(test)]
#[path = "serial_tests.rs"]
mod tests;
