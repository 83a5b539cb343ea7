//! The command-line contract of `oasis-cli` (clap derive). Changing a name here breaks scripts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Version line: version, git commit, target, build profile.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("OASIS_GIT_COMMIT"),
    ", ",
    env!("OASIS_TARGET"),
    ", ",
    env!("OASIS_PROFILE"),
    " build)"
);

/// Flasher and rescue kit for Qualcomm-based cellular modules (Quectel BG95/BG96/EC2x/EG9x/EM/RM).
///
/// PORT is a serial port (/dev/ttyUSB0, /dev/pts/4, COM7), `usb`, `usb:BUS-PORTPATH`,
/// `usb:SERIAL`, or `virtual[:PROFILE]` for the built-in virtual board.
///
/// Exit status: 0 success; 1 the board or link failed (NAK, timeout, disconnect, verify
/// mismatch); 2 bad input (usage, package errors, missing images); 3 refused by a safety check.
///
/// Safety net: `flash --backup DIR` (or `backup`) saves the board's calibration first and
/// `restore` puts it back; `--at-port`/`--confirm` follow the board after the reset and check
/// the revision it runs; `--resume` skips what is already on the board; on any failure a
/// support bundle (zip) is written into the data dir and named, and `replay BUNDLE` re-runs it
/// offline. Bundles mask the IMEI, ICCID and chip serial (a short hash and the last 4
/// characters) unless `flash --include-identifiers`. `dump` reads partitions back into files.
///
/// Environment: OASIS_TIMEOUT_SCALE multiplies every board timeout (e.g. 3 for a slow link,
/// 0.2 in tests that inject stalls); OASIS_DATA_DIR moves the data dir (default
/// ~/.local/share/oasis, %LOCALAPPDATA%\Oasis, ~/Library/Application Support/Oasis);
/// OASIS_BUNDLE_CAP_MB caps its bundles folder (default 256; the oldest bundles go first).
#[derive(Debug, Parser)]
#[command(name = "oasis-cli", version = LONG_VERSION, long_version = LONG_VERSION)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a package (or a single programmer file) contains, and what is wrong with it.
    Info(InfoArgs),
    /// Flash a package onto a board in download mode.
    Flash(FlashArgs),
    /// Read the chip identity (serial, HW ID, PK hash) in Sahara command mode.
    Chipinfo(ChipinfoArgs),
    /// Run a virtual board on a pseudo-terminal until interrupted.
    Emulate(EmulateArgs),
    /// List attached boards and ports.
    Devices(DevicesArgs),
    /// Say what state a board is in and what to do next.
    Diagnose(DiagnoseArgs),
    /// Back up the board's calibration (EFS2/NV, modemst, fsg, persist) into a folder.
    Backup(BackupArgs),
    /// Write a backup back onto the board it was taken from (refused on another board).
    Restore(RestoreArgs),
    /// Re-run the job of a support bundle offline, with its transcript as the board.
    Replay(ReplayArgs),
    /// Collect the RAM dump of a crashed module (05C6:900E, Sahara memory debug) into a
    /// folder, then reset it.
    Ramdump(RamdumpArgs),
    /// Read partitions (by label) or sector ranges back from a board into files, with a
    /// manifest (SHA-256 of each). Nothing is written to the board.
    Dump(DumpArgs),
}

/// `info` arguments.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Package folder or .zip, or a single programmer file.
    #[arg(value_name = "PACKAGE")]
    pub package: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Use this programmer instead of the package's.
    #[arg(long, value_name = "FILE")]
    pub programmer: Option<PathBuf>,
    /// Use this rawprogram XML instead of the package's.
    #[arg(long, value_name = "FILE")]
    pub rawprogram: Option<PathBuf>,
}

/// `flash` arguments.
#[derive(Debug, Args)]
pub struct FlashArgs {
    /// Package folder or .zip.
    #[arg(value_name = "PACKAGE")]
    pub package: PathBuf,
    /// The board's port.
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// Print the engine's events as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
    /// Do not verify what was written.
    #[arg(long)]
    pub no_verify: bool,
    /// Allow steps that erase data the package does not rewrite (whole disk, EFS/NV).
    #[arg(long)]
    pub allow_full_erase: bool,
    /// Flash even when md5.txt does not match the files.
    #[arg(long)]
    pub skip_md5: bool,
    /// Leave the board in download mode at the end.
    #[arg(long)]
    pub no_reset: bool,
    /// Use this programmer instead of the package's.
    #[arg(long, value_name = "FILE")]
    pub programmer: Option<PathBuf>,
    /// Use this rawprogram XML instead of the package's.
    #[arg(long, value_name = "FILE")]
    pub rawprogram: Option<PathBuf>,
    /// After the reset, follow the board on this AT port and check the revision it runs
    /// (`virtual` for a `virtual:` port; the same link for `oasis-cli emulate`).
    #[arg(long, value_name = "PORT")]
    pub at_port: Option<String>,
    /// After the reset, follow the board and check the revision it runs: with `--port usb` its
    /// AT port is found on USB; with `virtual:` ports the virtual board is followed. (Destructive
    /// steps need `--allow-full-erase` or `--backup`; this flag does not allow them.)
    #[arg(long)]
    pub confirm: bool,
    /// Write a support bundle (zip: log, events, devices, package hashes, identity, byte
    /// transcript) to this file, whatever the outcome. Without it, a failure writes one into
    /// the data dir's `bundles` folder.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Back up the board's calibration into this new folder before writing (allows a
    /// destructive plan without --allow-full-erase).
    #[arg(long, value_name = "DIR")]
    pub backup: Option<PathBuf>,
    /// Skip partitions the board already holds (on-device digest): finish an interrupted flash.
    #[arg(long)]
    pub resume: bool,
    /// Longest wait, in seconds, for the board to come back after the reset (default 60).
    #[arg(long, value_name = "SECS")]
    pub boot_wait: Option<u64>,
    /// Write no support bundle on failure.
    #[arg(long)]
    pub no_bundle: bool,
    /// Keep the IMEI, ICCID and chip serial in the support bundle (by default they are masked:
    /// a short hash and the last 4 characters).
    #[arg(long)]
    pub include_identifiers: bool,
    /// Skip Sahara command mode (no chip identity, no programmer check against it): for a
    /// boot ROM known to ignore command mode.
    #[arg(long)]
    pub no_identity: bool,
    /// ZlpAwareHost for the programmer: `on` or `off` (default: follows the link, on for USB,
    /// off for a Linux/macOS serial port, on for a Windows QDLoader COM port (USB 05C6), off for other COM ports).
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    pub zlp: Option<bool>,
}

/// `dump` arguments.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The board's port.
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// The package made for the module (its programmer and partition table).
    #[arg(long, value_name = "PACKAGE")]
    pub package: PathBuf,
    /// The output folder (created; must be new or empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A partition to read, by label (repeatable).
    #[arg(long = "partition", value_name = "LABEL")]
    pub partitions: Vec<String>,
    /// Read every partition of the board's (or the package's) table.
    #[arg(long)]
    pub all: bool,
    /// A sector range to read: START:SECTORS, or LUN:START:SECTORS (repeatable).
    #[arg(long = "raw", value_name = "START:SECTORS")]
    pub raw: Vec<String>,
    /// Use this programmer instead of the package's.
    #[arg(long, value_name = "FILE")]
    pub programmer: Option<PathBuf>,
    /// Print the engine's events as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `on`/`off` (also 1/0, true/false, yes/no).
fn parse_on_off(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "1" | "true" | "yes" => Ok(true),
        "off" | "0" | "false" | "no" => Ok(false),
        other => Err(format!("expected on or off, not {other:?}")),
    }
}

/// `backup` arguments.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The board's port.
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// The package made for the module (its programmer and partition table).
    #[arg(long, value_name = "PACKAGE")]
    pub package: Option<PathBuf>,
    /// The backup folder itself (created; must be new or empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Use this programmer (required without --package).
    #[arg(long, value_name = "FILE")]
    pub programmer: Option<PathBuf>,
    /// Storage type without --package (emmc or ufs; NAND needs the package's table).
    #[arg(long, value_name = "TYPE")]
    pub memory: Option<String>,
    /// Print the engine's events as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `restore` arguments.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup folder (holding manifest.json).
    #[arg(value_name = "BACKUP_DIR")]
    pub backup: PathBuf,
    /// The board's port.
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// Use this programmer instead of the copy in the backup.
    #[arg(long, value_name = "FILE")]
    pub programmer: Option<PathBuf>,
    /// Leave the board in download mode at the end.
    #[arg(long)]
    pub no_reset: bool,
    /// Print the engine's events as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `replay` arguments.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The support bundle (.zip).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// The package, when it is no longer where the bundle recorded it.
    #[arg(long, value_name = "PACKAGE")]
    pub package: Option<PathBuf>,
    /// Print the replayed events and the result as JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// `ramdump` arguments.
#[derive(Debug, Args)]
pub struct RamdumpArgs {
    /// The crashed board's port (05C6:900E; `virtual:bg95@dump` for the virtual one).
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// The dump folder (created; must be new or empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Collect only this region (repeatable): its file name, description, or file name
    /// without extension, e.g. `--region DDRCS0`.
    #[arg(long = "region", value_name = "NAME")]
    pub regions: Vec<String>,
    /// Print the engine's events and the result as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `chipinfo` arguments.
#[derive(Debug, Args)]
pub struct ChipinfoArgs {
    /// The board's port.
    #[arg(long, value_name = "PORT")]
    pub port: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `emulate` arguments.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Path of the symlink to create to the pseudo-terminal.
    #[arg(long, value_name = "LINK")]
    pub pty: PathBuf,
    /// Board profile (bg95, eg25, sdx55, ufs, emmc).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Inject a fault (repeatable), e.g. `nak:program`.
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<String>,
    /// Show a real board's behaviour (repeatable), e.g. `no-command-mode`; see docs/protocol.md.
    #[arg(long = "quirk", value_name = "NAME")]
    pub quirks: Vec<String>,
    /// What the board does after a reset: normal (boots, AT answers), never (does not come
    /// back), edl (back in 9008), silent (boots, AT never answers).
    #[arg(long, value_name = "HOW", default_value = "normal")]
    pub after_reset: String,
    /// Revision the AT modem reports after a reset (default: found in what was flashed).
    #[arg(long, value_name = "REV")]
    pub revision_after_reset: Option<String>,
    /// The state the board starts in: edl (Sahara HELLO waiting), programmer (a Firehose
    /// programmer already running), normal (its AT port answers), silent (normal mode, AT
    /// never answers), dump (memory-dump mode, Sahara HELLO mode 2).
    #[arg(long, value_name = "STATE", default_value = "edl")]
    pub start: String,
}

/// `devices` arguments.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Print one JSON document (a list).
    #[arg(long)]
    pub json: bool,
}

/// `diagnose` arguments.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Look at this port in particular.
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,
    /// Diagnose from a USB listing saved elsewhere (a lab's `usb-devices` or `lsusb -v`
    /// output, fwupd emulation JSON, or a raw descriptor dump) instead of this computer's USB.
    #[arg(long, value_name = "FILE", conflicts_with = "port")]
    pub usb_dump: Option<PathBuf>,
    /// Check this package against the board.
    #[arg(long, value_name = "PACKAGE")]
    pub package: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_contract_parses() {
        Cli::command().debug_assert();
        let c = Cli::try_parse_from([
            "oasis-cli",
            "flash",
            "pkg",
            "--port",
            "virtual:eg25",
            "--json",
            "--no-verify",
            "--allow-full-erase",
            "--skip-md5",
            "--no-reset",
            "--programmer",
            "p.mbn",
            "--rawprogram",
            "r.xml",
            "--at-port",
            "/dev/ttyUSB2",
            "--confirm",
            "--bundle",
            "b.zip",
            "--backup",
            "bk",
            "--resume",
            "--boot-wait",
            "5",
        ])
        .unwrap();
        let Command::Flash(f) = c.command else {
            panic!("not flash")
        };
        assert!(f.json && f.no_verify && f.allow_full_erase && f.skip_md5 && f.no_reset);
        assert_eq!(f.port, "virtual:eg25");
        assert_eq!(f.at_port.as_deref(), Some("/dev/ttyUSB2"));
        assert!(f.resume && f.backup.is_some() && f.boot_wait == Some(5));
        let r = Cli::try_parse_from(["oasis-cli", "restore", "--port", "usb", "bk"]).unwrap();
        let Command::Restore(r) = r.command else {
            panic!("not restore")
        };
        assert_eq!(r.backup, PathBuf::from("bk"));
        assert!(Cli::try_parse_from(["oasis-cli", "backup", "--port", "usb"]).is_err());
        assert!(Cli::try_parse_from(["oasis-cli", "replay", "b.zip", "--json"]).is_ok());
        let e = Cli::try_parse_from([
            "oasis-cli",
            "emulate",
            "--pty",
            "l",
            "--fault",
            "a",
            "--fault",
            "b",
        ])
        .unwrap();
        let Command::Emulate(e) = e.command else {
            panic!("not emulate")
        };
        assert_eq!(e.faults, vec!["a".to_owned(), "b".to_owned()]);
        assert!(Cli::try_parse_from(["oasis-cli", "flash", "pkg"]).is_err());
        let r = Cli::try_parse_from([
            "oasis-cli",
            "ramdump",
            "--port",
            "virtual:bg95@dump",
            "--out",
            "d",
            "--region",
            "DDRCS0",
            "--region",
            "OCIMEM.BIN",
            "--json",
        ])
        .unwrap();
        let Command::Ramdump(r) = r.command else {
            panic!("not ramdump")
        };
        assert_eq!(
            r.regions,
            vec!["DDRCS0".to_owned(), "OCIMEM.BIN".to_owned()]
        );
        assert!(r.json && r.out == std::path::Path::new("d"));
        assert!(Cli::try_parse_from(["oasis-cli", "ramdump", "--port", "usb"]).is_err());
        let d = Cli::try_parse_from([
            "oasis-cli",
            "dump",
            "--port",
            "virtual:bg95",
            "--package",
            "pkg",
            "--out",
            "d",
            "--partition",
            "SBL",
            "--partition",
            "EFS2",
            "--raw",
            "0:640:64",
            "--all",
            "--json",
        ])
        .unwrap();
        let Command::Dump(d) = d.command else {
            panic!("not dump")
        };
        assert_eq!(d.partitions, vec!["SBL".to_owned(), "EFS2".to_owned()]);
        assert!(d.all && d.json && d.raw == vec!["0:640:64".to_owned()]);
        assert!(Cli::try_parse_from(["oasis-cli", "dump", "--port", "usb", "--out", "d"]).is_err());
    }
}
