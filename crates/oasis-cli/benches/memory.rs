//! Memory benchmark of the real command line (run: `cargo bench -p oasis-cli --bench memory`):
//! peak resident memory of an `oasis-cli flash` process writing a 1 GiB and a 2 GiB package
//! (sparse files) onto a virtual UFS board served by another process (`oasis-cli emulate
//! --pty`). The figure is VmHWM, read with `/usr/bin/time -v` when installed, else by polling
//! /proc/<pid>/status. Prints the figures against the goal; asserts nothing about them.

#[path = "../../oasis-engine/benches/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{BoxError, Fill, GenPackage, Layout, mb_per_s};

const CLI: &str = env!("CARGO_BIN_EXE_oasis-cli");
const MIB: u64 = 1024 * 1024;

/// An `oasis-cli emulate` child, killed by its own id when dropped.
struct Emulator {
    child: Child,
    link: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulate(profile: &str) -> Result<Emulator, BoxError> {
    let dir = tempfile::tempdir()?;
    let link = dir.path().join("board");
    let child = Command::new(CLI)
        .args(["emulate", "--profile", profile, "--pty"])
        .arg(&link)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut emu = Emulator {
        child,
        link,
        _dir: dir,
    };
    let start = Instant::now();
    while !emu.link.exists() {
        if start.elapsed() > Duration::from_secs(10) {
            return Err("the emulator's pty link never appeared".into());
        }
        if let Some(status) = emu.child.try_wait()? {
            return Err(format!("emulate exited early: {status}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(emu)
}

fn kib_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(field))
        .and_then(|v| {
            v.trim_start_matches(':')
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
}

/// Run `oasis-cli flash`, returning (peak RSS KiB, wall time, exit ok).
fn flash_peak(pkg: &Path, port: &Path) -> Result<(u64, Duration, bool), BoxError> {
    let time_v = Path::new("/usr/bin/time");
    let mut cmd = if time_v.exists() {
        let mut c = Command::new(time_v);
        c.arg("-v").arg(CLI);
        c
    } else {
        Command::new(CLI)
    };
    cmd.arg("flash")
        .arg(pkg)
        .arg("--port")
        .arg(port)
        .arg("--programmer")
        .arg(pkg.join("prog_firehose_bench.mbn"))
        .arg("--json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    // Poll the child's VmHWM as a fallback (with time -v the child is `time`, so this is
    // only used without it).
    let mut polled = 0u64;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if !time_v.exists()
            && let Ok(t) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        {
            polled = polled.max(kib_field(&t, "VmHWM").unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = start.elapsed();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err)?;
    }
    let peak = kib_field(&err, "Maximum resident set size (kbytes)").unwrap_or(polled);
    Ok((peak, took, status.success()))
}

fn main() -> Result<(), BoxError> {
    println!(
        "oasis-cli memory benchmark ({} build of oasis-cli)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    for gib in [1u32, 2] {
        let t0 = Instant::now();
        let pkg = GenPackage::new(Layout::Ufs, 4 * gib, 256 * MIB, Fill::Sparse)?;
        let gen_s = t0.elapsed().as_secs_f64();
        let emu = emulate("ufs")?;
        let (peak, took, ok) = flash_peak(pkg.root(), &emu.link)?;
        println!(
            "  {gib} GiB package (sparse, generated in {gen_s:.1} s) onto `oasis-cli emulate --pty --profile ufs` \
             in another process: flash {} in {:.1} s ({:.0} MB/s over the pty); peak RSS of `oasis-cli flash` \
             {:.1} MiB  (goal < 64 MiB, independent of size)",
            if ok { "verified" } else { "FAILED" },
            took.as_secs_f64(),
            mb_per_s(pkg.total, took),
            peak as f64 / 1024.0,
        );
    }
    Ok(())
}
