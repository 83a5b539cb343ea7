//! One process at a time per port: an exclusive lock on a file in the temp directory, named
//! after the port, holding the owner's pid and command. Released when the [`PortLock`] drops.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{TransportError, TransportErrorKind};

/// An exclusive claim on one port name, held until dropped.
#[derive(Debug)]
pub struct PortLock {
    file: File,
    path: PathBuf,
    port: String,
}

/// The lock file name for a port: `oasis-port-<sanitised name>.lock`. A port given as an
/// existing path is resolved first, so `/dev/serial/by-id/…` and the `/dev/ttyUSBn` it points
/// to share one lock.
pub fn lock_file_name(port: &str) -> String {
    let resolved = match port.starts_with('/') {
        true => std::fs::canonicalize(port)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| port.to_string()),
        false => port.to_string(),
    };
    let clean: String = resolved
        .trim_start_matches(['/', '\\', '.'])
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("oasis-port-{}.lock", clean.to_ascii_lowercase())
}

impl PortLock {
    /// Take the lock for `port` in the system temp directory.
    pub fn acquire(port: &str) -> Result<PortLock, TransportError> {
        Self::acquire_in(&std::env::temp_dir(), port)
    }

    /// Take the lock for `port` with the lock file in `dir`.
    pub fn acquire_in(dir: &Path, port: &str) -> Result<PortLock, TransportError> {
        let path = dir.join(lock_file_name(port));
        let io_err = |e: std::io::Error| {
            TransportError::new(TransportErrorKind::Io, "lock", port)
                .with_detail(format!("{}: {e}", path.display()))
        };
        // Not truncated on open: a holder's pid must stay readable for the refusal message.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file);
                return Err(TransportError::new(TransportErrorKind::Busy, "lock", port)
                    .with_detail(format!("{holder}; lock file {}", path.display())));
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        let record = format!("{}\n{}\n", std::process::id(), command_name());
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(record.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(io_err)?;
        Ok(PortLock {
            file,
            path,
            port: port.to_string(),
        })
    }

    /// The port name this lock is for.
    pub fn port(&self) -> &str {
        &self.port
    }

    /// Where the lock file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PortLock {
    fn drop(&mut self) {
        // Empty the record so a stale file names nobody; the OS drops the lock with the handle.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn command_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown".into())
}

/// "held by process PID (command)" from the lock file, as far as it is readable.
fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    // Some platforms refuse reads of a locked range; then the holder stays anonymous.
    if file.seek(SeekFrom::Start(0)).is_err() || file.take(4096).read_to_string(&mut text).is_err()
    {
        return "held by another process".into();
    }
    let mut lines = text.lines();
    match (
        lines.next().and_then(|l| l.trim().parse::<u32>().ok()),
        lines.next(),
    ) {
        (Some(pid), Some(cmd)) if !cmd.trim().is_empty() => {
            format!("held by process {pid} ({})", cmd.trim())
        }
        (Some(pid), _) => format!("held by process {pid}"),
        _ => "held by another process".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised_and_distinct() {
        assert_eq!(
            lock_file_name("/dev/ttyUSB0"),
            "oasis-port-dev_ttyusb0.lock"
        );
        assert_eq!(lock_file_name("COM7"), "oasis-port-com7.lock");
        assert_eq!(lock_file_name("usb:1-1.4"), "oasis-port-usb_1-1_4.lock");
        assert_ne!(
            lock_file_name("/dev/ttyUSB0"),
            lock_file_name("/dev/ttyUSB1")
        );
        assert!(!lock_file_name("../../etc/passwd").contains('/'));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_shares_the_lock_of_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("ttyUSB7");
        std::fs::write(&target, b"").unwrap();
        let link = dir.path().join("by-id-quectel-if02");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let (t, l) = (target.to_str().unwrap(), link.to_str().unwrap());
        assert_eq!(lock_file_name(t), lock_file_name(l));
        let _held = PortLock::acquire_in(dir.path(), t).unwrap();
        let err = PortLock::acquire_in(dir.path(), l).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Busy);
    }

    #[test]
    fn second_acquire_is_busy_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = PortLock::acquire_in(dir.path(), "/dev/ttyUSB2").unwrap();
        let err = PortLock::acquire_in(dir.path(), "/dev/ttyUSB2").unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Busy);
        let text = err.to_string();
        assert!(
            text.contains(&format!("held by process {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains(&command_name()), "{text}");
        // Another port is independent.
        let other = PortLock::acquire_in(dir.path(), "/dev/ttyUSB3").unwrap();
        assert_eq!(other.port(), "/dev/ttyUSB3");
        drop(first);
        let again = PortLock::acquire_in(dir.path(), "/dev/ttyUSB2").unwrap();
        assert!(again.path().exists());
    }

    #[test]
    fn unreadable_record_still_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let first = PortLock::acquire_in(dir.path(), "COM3").unwrap();
        std::fs::write(first.path(), b"garbage").unwrap();
        let err = PortLock::acquire_in(dir.path(), "COM3").unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Busy);
        assert!(err.to_string().contains("held by another process"), "{err}");
    }
}
