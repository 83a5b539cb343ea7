//! Opening the port a user named: serial or USB through oasis-transport under a [`PortLock`],
//! `virtual[:PROFILE]` as an in-process virtual board, a module in normal mode switched to
//! download mode first (`--port usb`), and the optional session transcript (support bundle).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use oasis_transport::lock::PortLock;
use oasis_transport::recording::RecordingTransport;
use oasis_transport::{PortSpec, Transport, TransportErrorKind};
use oasis_vdev::{BoardOptions, Profile, VirtualBoard};

use crate::error::EngineError;
use crate::options::Timeouts;
use crate::progress::Emitter;

/// An open port.
pub struct OpenedPort {
    /// The link to the board.
    pub link: Box<dyn Transport>,
    /// The virtual board, when the port is `virtual[:PROFILE]`.
    pub board: Option<VirtualBoard>,
    /// The claim on the port, held as long as the link.
    pub lock: Option<PortLock>,
}

impl std::fmt::Debug for OpenedPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedPort")
            .field("link", &self.link.describe())
            .field("virtual", &self.board.is_some())
            .finish_non_exhaustive()
    }
}

/// The virtual profile that fits a package: its storage and sector size.
pub fn default_profile(memory: &str, sector_size: u32) -> &'static str {
    match (memory, sector_size) {
        ("nand", 4096) => "sdx55",
        ("nand", _) => "eg25",
        ("emmc", _) => "emmc",
        ("ufs", _) => "ufs",
        _ => "bg95",
    }
}

/// Build the in-process virtual board for `virtual[:PROFILE]`.
pub fn virtual_board(profile: Option<&str>, fallback: &str) -> Result<VirtualBoard, EngineError> {
    let name = profile.unwrap_or(fallback);
    let profile = Profile::by_name(name).map_err(|e| EngineError::BadInput {
        what: e.to_string(),
        help: Some(format!("virtual profiles: {}", Profile::NAMES.join(", "))),
    })?;
    Ok(VirtualBoard::new(profile, BoardOptions::default()))
}

/// Open `port`. `fallback_profile` names the virtual board used for a bare `virtual`.
pub fn open(
    port: &str,
    fallback_profile: &str,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<OpenedPort, EngineError> {
    let spec = PortSpec::parse(port);
    match &spec {
        PortSpec::Virtual(profile) => {
            let board = virtual_board(profile.as_deref(), fallback_profile)?;
            em.info(format!(
                "virtual board '{}' ({})",
                board.profile().name,
                board.profile().model
            ));
            Ok(OpenedPort {
                link: Box::new(board.connect()),
                board: Some(board),
                lock: None,
            })
        }
        PortSpec::Serial(_) => {
            let lock = PortLock::acquire(port)?;
            let link = oasis_transport::open(&spec)?;
            Ok(OpenedPort {
                link,
                board: None,
                lock: Some(lock),
            })
        }
        PortSpec::Usb(selector) => {
            let lock = PortLock::acquire(&spec.to_string())?;
            let link = match oasis_transport::open(&spec) {
                Ok(l) => l,
                Err(e) if e.kind == TransportErrorKind::NotFound => {
                    crate::usbswitch::switch_and_open(selector, t, em)
                        .map_err(|why| why.unwrap_or_else(|| EngineError::from(e)))?
                }
                Err(e) => return Err(e.into()),
            };
            Ok(OpenedPort {
                link,
                board: None,
                lock: Some(lock),
            })
        }
    }
}

/// Wrap `link` so every byte is written to a transcript at `path` (the support bundle).
pub fn record(link: Box<dyn Transport>, path: &Path) -> Result<Box<dyn Transport>, EngineError> {
    let file = File::create(path).map_err(|e| EngineError::BadInput {
        what: format!("cannot create the support bundle {}: {e}", path.display()),
        help: Some("choose a writable path for --bundle".to_owned()),
    })?;
    Ok(Box::new(RecordingTransport::new(
        link,
        BufWriter::new(file),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_profile_follows_the_package() {
        assert_eq!(default_profile("nand", 2048), "eg25");
        assert_eq!(default_profile("nand", 4096), "sdx55");
        assert_eq!(default_profile("ufs", 4096), "ufs");
        assert_eq!(default_profile("emmc", 512), "emmc");
        assert!(virtual_board(Some("nosuch"), "eg25").is_err());
        assert_eq!(virtual_board(None, "emmc").unwrap().profile().name, "emmc");
    }
}
