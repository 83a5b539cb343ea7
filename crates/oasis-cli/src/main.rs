//! `oasis-cli`: the headless front-end. Parses the command line, runs one command, prints human
//! output or JSON, and turns the outcome into the documented exit status
//! (0 success, 1 board or link failed, 2 bad input, 3 refused by a safety check).

mod args;
mod bus;
mod diagnose;
mod dump;
mod emulate;
mod flash;
mod info;
mod output;
mod progress;
mod ramdump;
mod safety;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Info(a) => info::run(&a),
        Command::Flash(a) => flash::run_flash(a),
        Command::Chipinfo(a) => flash::run_chipinfo(&a),
        Command::Emulate(a) => emulate::run(&a),
        Command::Devices(a) => diagnose::run_devices(&a),
        Command::Diagnose(a) => diagnose::run_diagnose(&a),
        Command::Backup(a) => safety::run_backup(a),
        Command::Restore(a) => safety::run_restore(a),
        Command::Replay(a) => safety::run_replay(&a),
        Command::Ramdump(a) => ramdump::run(a),
        Command::Dump(a) => dump::run(a),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `oasis-cli info PKG | head` closes stdout early; `println!` then panics with "Broken pipe".
/// A command-line tool ends quietly instead, as if killed by SIGPIPE (status 141 in shells).
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
