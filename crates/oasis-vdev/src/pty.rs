//! A virtual board on a pseudo-terminal: any serial tool (Oasis itself, QFirehose-style hosts,
//! minicom) can open LINK and talk to it as to a COM port — byte-stream framing, host writes
//! arriving in any split. After a reset the same pty carries the AT modem (or the next EDL
//! session); when the board is gone the service ends. Unix only.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::VdevError;
use crate::board::VirtualBoard;
use crate::fault::FaultSpec;
use crate::options::BoardOptions;
use crate::profile::Profile;

/// A running pty service. Dropping it stops the device thread and removes the link.
#[derive(Debug)]
pub struct PtyService {
    link: PathBuf,
    slave_path: String,
    board: VirtualBoard,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Our own handle on the slave side, so the tty stays up (and keeps what the board has
    /// written) while no client has it open. A plain file: no flock, so clients can lock it.
    _slave: Option<std::fs::File>,
}

impl PtyService {
    /// The symlink path clients open.
    pub fn link(&self) -> &Path {
        &self.link
    }

    /// The pty slave device the link points to (e.g. `/dev/pts/7`).
    pub fn slave_path(&self) -> &str {
        &self.slave_path
    }

    /// The board behind the pty (inspect storage, state, notes).
    pub fn board(&self) -> &VirtualBoard {
        &self.board
    }

    /// Whether the device thread still runs (false once the board is gone for good).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stop the service now (same as dropping it).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Remove the link only if it is still ours.
        if std::fs::read_link(&self.link).is_ok_and(|t| t == Path::new(&self.slave_path)) {
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

impl Drop for PtyService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Serve a virtual board with `profile` on a new pseudo-terminal whose slave is symlinked at
/// `link` (a stale symlink there is replaced; any other file is refused). `faults` are added
/// to `options.faults`; the link framing is always a byte stream.
pub fn serve_pty(
    link: &Path,
    profile: Profile,
    faults: Vec<FaultSpec>,
    options: BoardOptions,
) -> Result<PtyService, VdevError> {
    #[cfg(unix)]
    {
        unix::serve(link, profile, faults, options)
    }
    #[cfg(not(unix))]
    {
        let _ = (link, profile, faults, options);
        Err(VdevError::Unsupported)
    }
}

#[cfg(unix)]
mod unix {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::Duration;

    use oasis_transport::{LinkKind, Transport, TransportErrorKind};
    use serialport::{SerialPort, TTYPort};

    use super::{Arc, AtomicBool, FaultSpec, Ordering, Path, PtyService};
    use crate::VdevError;
    use crate::board::{AfterReset, VirtualBoard, VirtualLink};
    use crate::options::BoardOptions;
    use crate::profile::Profile;

    fn pty_err(op: &'static str, path: &Path, e: impl std::fmt::Display) -> VdevError {
        VdevError::Pty {
            op,
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    }

    fn clear_link(link: &Path) -> Result<(), VdevError> {
        match std::fs::symlink_metadata(link) {
            Ok(m) if m.file_type().is_symlink() => {
                std::fs::remove_file(link).map_err(|e| pty_err("remove stale link", link, e))
            }
            Ok(_) => Err(VdevError::LinkPathOccupied {
                path: link.display().to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(pty_err("inspect link", link, e)),
        }
    }

    pub(super) fn serve(
        link: &Path,
        profile: Profile,
        faults: Vec<FaultSpec>,
        mut options: BoardOptions,
    ) -> Result<PtyService, VdevError> {
        clear_link(link)?;
        options.faults.extend(faults);
        options.link = Some(LinkKind::Stream);
        let (mut master, slave) = TTYPort::pair().map_err(|e| pty_err("open pair", link, e))?;
        let slave_path = slave
            .name()
            .ok_or_else(|| pty_err("find slave name", link, "no name"))?;
        // Hold the slave open without the flock serialport put on it (clients take their own).
        let keep = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&slave_path)
            .map_err(|e| pty_err("open slave", link, e))?;
        drop(slave);
        std::os::unix::fs::symlink(&slave_path, link).map_err(|e| pty_err("symlink", link, e))?;
        master
            .set_timeout(Duration::from_millis(10))
            .map_err(|e| pty_err("set timeout", link, e))?;
        let board = VirtualBoard::new(profile, options);
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (board.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("oasis-vdev-pty".into())
            .spawn(move || run(master, b, s))
            .map_err(|e| {
                let _ = std::fs::remove_file(link);
                pty_err("spawn thread", link, e)
            })?;
        Ok(PtyService {
            link: link.to_path_buf(),
            slave_path,
            board,
            stop,
            thread: Some(thread),
            _slave: Some(keep),
        })
    }

    /// After the link went away: the next link to serve, or None when the board is gone.
    fn next_link(board: &VirtualBoard) -> Option<VirtualLink> {
        match board.after_reset() {
            Ok(AfterReset::Modem(l)) | Ok(AfterReset::Edl(l)) => Some(l),
            Ok(AfterReset::Gone) | Err(_) => None,
        }
    }

    /// How long the host may leave a full pty unread before the board's words are dropped
    /// (a host that went away for good).
    const HOST_STALL: Duration = Duration::from_secs(10);

    /// Write all of `data` to the pty. A full pty (the host has not read yet, e.g. a busy
    /// machine) is waited for, as a USB device waits for the host's next IN request; bytes are
    /// dropped only when the host read nothing for [`HOST_STALL`] or the service stops.
    fn write_out(master: &mut TTYPort, data: &[u8], stop: &AtomicBool) {
        let mut done = 0;
        let mut progress = std::time::Instant::now();
        while done < data.len() && !stop.load(Ordering::SeqCst) {
            match master.write(&data[done..]) {
                Ok(n) if n > 0 => {
                    done += n;
                    progress = std::time::Instant::now();
                    continue;
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
            if progress.elapsed() > HOST_STALL {
                return;
            }
        }
    }

    /// Move everything the board has said to the pty. False when the board is gone.
    fn pump_out(
        master: &mut TTYPort,
        vlink: &mut VirtualLink,
        board: &VirtualBoard,
        stop: &AtomicBool,
    ) -> bool {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match vlink.read(&mut buf, Duration::ZERO) {
                Ok(n) => write_out(master, &buf[..n], stop),
                Err(e) if e.kind == TransportErrorKind::Disconnected => match next_link(board) {
                    Some(l) => *vlink = l,
                    None => return false,
                },
                Err(_) => return true,
            }
        }
    }

    fn run(mut master: TTYPort, board: VirtualBoard, stop: Arc<AtomicBool>) {
        let mut vlink = board.connect();
        let mut buf = vec![0u8; 64 * 1024];
        while !stop.load(Ordering::SeqCst) {
            if !pump_out(&mut master, &mut vlink, &board, &stop) {
                return;
            }
            match master.read(&mut buf) {
                Ok(0) => {}
                Ok(n) => {
                    if let Err(e) = vlink.write_all(&buf[..n], Duration::from_secs(1))
                        && e.kind == TransportErrorKind::Disconnected
                    {
                        match next_link(&board) {
                            Some(l) => vlink = l,
                            None => return,
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}
