//! Opening the port a user named: serial or USB through oasis-transport under a [`PortLock`],
//! `virtual[:PROFILE[@STATE]]` as an in-process virtual board, a caller-owned virtual board
//! handed to the job ([`open_virtual`]), a module in normal mode switched to download mode
//! first (`--port usb` over its DM port; a virtual board over its virtual DM port), and the
//! optional session transcript (support bundle).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant};

use oasis_transport::lock::PortLock;
use oasis_transport::recording::RecordingTransport;
use oasis_transport::{PortSpec, Transport, TransportErrorKind};
use oasis_vdev::{BoardOptions, BoardState, Profile, Quirks, StartIn, VirtualBoard};

use crate::Help;
use crate::bundle::elide::{CompactWriter, ELIDE_ABOVE};
use crate::diag::DiagError;
use crate::diag::at::{AtProbe, ProbeConfig, probe};
use crate::diag::dload::{SwitchOutcome, switch_to_edl};
use crate::error::EngineError;
use crate::options::Timeouts;
use crate::progress::Emitter;

/// How often a virtual board is looked at while it restarts into download mode.
const VIRTUAL_POLL: Duration = Duration::from_millis(10);

/// States a `virtual:PROFILE@STATE` board can start in.
const START_STATES: &str = "edl, normal, programmer, dump";

/// An open port.
pub struct OpenedPort {
    /// The link to the board.
    pub link: Box<dyn Transport>,
    /// The virtual board, when the port is `virtual[:PROFILE]`.
    pub board: Option<VirtualBoard>,
    /// The claim on the port, held as long as the link.
    pub lock: Option<PortLock>,
    /// What the module said on its AT port before it was switched to download mode
    /// (`--port usb` on a module in normal mode): its revision then, and its IMEI.
    pub before: Option<crate::diag::at::AtProbe>,
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

/// Where a `virtual:PROFILE@STATE` board starts.
fn start_state(word: &str) -> Result<StartIn, EngineError> {
    match word.trim().to_ascii_lowercase().as_str() {
        "" | "edl" | "9008" | "download" => Ok(StartIn::Edl),
        "normal" | "running" => Ok(StartIn::Normal),
        "programmer" | "firehose" => Ok(StartIn::Firehose),
        "dump" | "memory-dump" | "900e" => Ok(StartIn::MemoryDump),
        other => Err(EngineError::BadInput {
            what: format!("unknown virtual board state '@{other}'"),
            help: Some(format!(
                "write virtual:PROFILE@STATE with STATE one of {START_STATES}, e.g. virtual:eg25@normal"
            )),
        }),
    }
}

/// Build the in-process virtual board for `virtual[:PROFILE[@STATE]]` (`virtual:eg25@normal`
/// is an EG25-G running its firmware, which the flash switches to download mode first).
pub fn virtual_board(profile: Option<&str>, fallback: &str) -> Result<VirtualBoard, EngineError> {
    let given = profile.unwrap_or_default();
    // `PROFILE[@STATE][+QUIRK...]`: quirks follow the state, each after a `+`.
    let mut parts = given.split('+');
    let head = parts.next().unwrap_or_default();
    let quirk_names: Vec<&str> = parts.collect();
    let quirks = Quirks::parse(&quirk_names).map_err(|e| EngineError::BadInput {
        what: e.to_string(),
        help: Some(
            "write virtual:PROFILE@STATE+QUIRK+QUIRK, e.g. virtual:eg25+no-command-mode".into(),
        ),
    })?;
    let (name, state) = head.split_once('@').unwrap_or((head, ""));
    let name = if name.trim().is_empty() {
        fallback
    } else {
        name.trim()
    };
    let profile = Profile::by_name(name).map_err(|e| EngineError::BadInput {
        what: e.to_string(),
        help: Some(format!("virtual profiles: {}", Profile::NAMES.join(", "))),
    })?;
    let opts = BoardOptions {
        start_in: start_state(state)?,
        quirks,
        ..BoardOptions::default()
    };
    Ok(VirtualBoard::new(profile, opts))
}

fn diag_failed(e: &DiagError) -> EngineError {
    EngineError::Protocol {
        what: format!("switching the virtual board to download mode: {e}"),
        device_log: Vec::new(),
        help: e.help().map(String::from),
    }
}

/// Follow a virtual board that was told to restart into download mode, bounded by `wait`.
fn follow_virtual_to_edl(
    board: &VirtualBoard,
    wait: Duration,
    em: &mut Emitter,
) -> Result<(), EngineError> {
    let start = Instant::now();
    loop {
        em.check_cancel()?;
        let state = board.state();
        if matches!(state, BoardState::Sahara | BoardState::Firehose) {
            return Ok(());
        }
        if start.elapsed() >= wait {
            return Err(diag_failed(&DiagError::EdlNotSeen {
                waited_s: start.elapsed().as_secs_f64(),
                prefer_path: None,
                last_seen: vec![format!("the virtual board is {state:?}")],
            }));
        }
        std::thread::sleep(VIRTUAL_POLL);
    }
}

/// A virtual board in normal mode: send diag's download-mode command on its DM port and
/// follow it (bounded) until it is back in download mode, as `--port usb` does with a module.
fn switch_virtual(board: &VirtualBoard, t: &Timeouts, em: &mut Emitter) -> Result<(), EngineError> {
    let p = board.profile();
    em.info(format!(
        "virtual {} ({:04X}:{:04X}) runs its firmware (normal mode): switching it to download mode through its DM port",
        p.model, 0x2C7C, p.usb_pid
    ));
    let mut dm = board.connect_dm().map_err(|e| EngineError::Refused {
        reason: format!("the board cannot be switched to download mode: {e}"),
        help: e
            .help()
            .map_or_else(|| "flash a board in download mode".to_owned(), String::from),
    })?;
    let outcome = switch_to_edl(&mut dm, t.command);
    drop(dm);
    em.info(match outcome {
        Ok(SwitchOutcome::Echoed) => "the module echoed the download-mode command; it restarts",
        Ok(SwitchOutcome::PortGone) => {
            "the DM port went away before the echo: the module restarts"
        }
        // Not every module echoes: look for 9008 anyway, as QFirehose does.
        Err(DiagError::NoEcho { .. }) => {
            "the module did not echo the download-mode command; looking for it in download mode anyway"
        }
        Err(e) => return Err(diag_failed(&e)),
    });
    follow_virtual_to_edl(board, t.edl_switch, em)?;
    em.info("the board is back in download mode (05C6:9008)");
    Ok(())
}

/// Ask a virtual board's AT port (read-only commands) what it runs before it is switched, as
/// `--port usb` asks a module: its revision then and its IMEI.
fn ask_virtual_before_switch(board: &VirtualBoard, em: &mut Emitter) -> Option<AtProbe> {
    let mut at = board.connect();
    let name = at.describe();
    let p = probe(&mut at, &name, &ProbeConfig::default());
    if !p.answered {
        em.info("the module's AT port did not answer before the switch");
        return None;
    }
    let rev = p.full_revision.clone().or_else(|| p.revision.clone());
    em.info(format!(
        "before the switch the module runs {}{}",
        rev.as_deref().unwrap_or("an unreported revision"),
        p.ids_suffix()
    ));
    Some(p)
}

/// Connect to a virtual board, switching it to download mode first when it runs its firmware.
pub(crate) fn open_virtual(
    board: VirtualBoard,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<OpenedPort, EngineError> {
    let mut before = None;
    if board.state() == BoardState::Normal {
        before = ask_virtual_before_switch(&board, em);
        switch_virtual(&board, t, em)?;
    }
    let link = open_retrying(&board, em)?;
    Ok(OpenedPort {
        link: Box::new(link),
        board: Some(board),
        lock: None,
        before,
    })
}

/// How long a download-mode port that refuses to open (Busy, permission) is retried: udev
/// and ModemManager race the first opens (QFirehose tries 30 times, qdl every 250 ms).
pub(crate) const OPEN_RETRY: Duration = Duration::from_secs(5);

/// How often the open is retried.
pub(crate) const OPEN_RETRY_EVERY: Duration = Duration::from_millis(250);

/// Whether an open that failed this way is worth retrying.
pub(crate) fn open_retryable(kind: TransportErrorKind) -> bool {
    matches!(
        kind,
        TransportErrorKind::Busy | TransportErrorKind::PermissionDenied
    )
}

/// Open a virtual board's link, retrying (bounded) while it refuses to open.
fn open_retrying(
    board: &VirtualBoard,
    em: &mut Emitter,
) -> Result<oasis_vdev::VirtualLink, EngineError> {
    let start = Instant::now();
    let mut told = false;
    loop {
        match board.try_connect() {
            Ok(l) => return Ok(l),
            Err(e) if open_retryable(e.kind) && start.elapsed() < OPEN_RETRY => {
                if !told {
                    em.info(format!(
                        "{e}; retrying the open for up to {} s",
                        OPEN_RETRY.as_secs()
                    ));
                    told = true;
                }
                em.check_cancel()?;
                std::thread::sleep(OPEN_RETRY_EVERY);
            }
            Err(e) => return Err(e.into()),
        }
    }
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
            open_virtual(board, t, em)
        }
        PortSpec::Serial(_) => {
            let lock = PortLock::acquire(port)?;
            let link = oasis_transport::open(&spec)?;
            Ok(OpenedPort {
                link,
                board: None,
                lock: Some(lock),
                before: None,
            })
        }
        PortSpec::Usb(selector) => {
            let lock = PortLock::acquire(&spec.to_string())?;
            let (link, before) = match oasis_transport::open(&spec) {
                Ok(l) => (l, None),
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
                before,
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
    // Past a few MiB the raw data is kept as its length and hash only (see bundle::elide).
    let out = CompactWriter::new(BufWriter::new(file), ELIDE_ABOVE);
    Ok(Box::new(RecordingTransport::new(link, out)))
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

    #[test]
    fn a_virtual_board_can_start_in_another_state() {
        let b = virtual_board(Some("eg25@normal"), "bg95").unwrap();
        assert_eq!(
            (b.profile().name.as_str(), b.state()),
            ("eg25", BoardState::Normal)
        );
        let b = virtual_board(Some("@programmer"), "bg95").unwrap();
        assert_eq!(
            (b.profile().name.as_str(), b.state()),
            ("bg95", BoardState::Firehose)
        );
        assert_eq!(
            virtual_board(Some("bg95@dump"), "eg25").unwrap().state(),
            BoardState::MemoryDump
        );
        let e = virtual_board(Some("eg25@sleeping"), "bg95").unwrap_err();
        assert!(e.to_string().contains("@sleeping"), "{e}");
        assert!(e.help().unwrap().contains("virtual:eg25@normal"));
    }

    fn emitter() -> (Emitter, crossbeam_channel::Receiver<crate::event::Event>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let sink = Box::new(move |e| {
            let _ = tx.send(e);
        });
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        (Emitter::new(sink, cancel), rx)
    }

    #[test]
    fn a_caller_board_in_normal_mode_is_switched() {
        let (mut em, rx) = emitter();
        let board = virtual_board(Some("eg25@normal"), "bg95").unwrap();
        let opened = open_virtual(board.clone(), &Timeouts::default(), &mut em).unwrap();
        assert_eq!(board.state(), BoardState::Sahara);
        assert!(opened.board.is_some());
        assert!(
            opened.link.describe().contains("9008"),
            "{}",
            opened.link.describe()
        );
        let infos: Vec<String> = rx
            .try_iter()
            .filter_map(|e| match e {
                crate::event::Event::Info { message } => Some(message),
                _ => None,
            })
            .collect();
        assert!(infos.iter().any(|m| m.contains("DM port")), "{infos:?}");
        assert!(infos.iter().any(|m| m.contains("echoed")), "{infos:?}");
        assert!(
            infos
                .iter()
                .any(|m| m.contains("runs EG25GGBR07A08M2G_01.002.01.002 (IMEI 867698041234562)")),
            "{infos:?}"
        );
        let before = opened.before.as_ref().unwrap();
        assert_eq!(before.imei.as_deref(), Some("867698041234562"));
        // A port name that is not a profile is refused with the profiles named.
        let e = open("virtual:2", "bg95", &Timeouts::default(), &mut em).unwrap_err();
        assert!(e.to_string().contains("profile \"2\""), "{e}");
    }

    #[test]
    fn a_board_without_a_dm_port_is_refused_with_a_reason() {
        let (mut em, _rx) = emitter();
        let board = virtual_board(Some("ec200t@normal"), "bg95").unwrap();
        let e = open_virtual(board, &Timeouts::default(), &mut em).unwrap_err();
        assert!(e.to_string().contains("not a Qualcomm module"), "{e}");
    }
}
