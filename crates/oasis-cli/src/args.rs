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
/// Environment: OASIS_TIMEOUT_SCALE multiplies every board timeout (e.g. 3 for a slow link,
/// 0.2 in tests that inject stalls).
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
    /// AT port of the module, to confirm the new revision after reset.
    #[arg(long, value_name = "PORT")]
    pub at_port: Option<String>,
    /// Confirm the destructive steps the plan names.
    #[arg(long)]
    pub confirm: bool,
    /// Write a support bundle (session transcript) to this file.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
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
        ])
        .unwrap();
        let Command::Flash(f) = c.command else {
            panic!("not flash")
        };
        assert!(f.json && f.no_verify && f.allow_full_erase && f.skip_md5 && f.no_reset);
        assert_eq!(f.port, "virtual:eg25");
        assert_eq!(f.at_port.as_deref(), Some("/dev/ttyUSB2"));
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
    }
}
