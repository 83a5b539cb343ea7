//! Flash benchmarks on the in-process virtual board (run: `cargo bench -p oasis-engine --bench
//! flash [-- throughput|link|overhead|multi]`). Prints each figure with what it was measured
//! against and the goal from the issue; it never asserts a timing. Results and how to read
//! them: BENCHMARKS.md.
//!
//! - throughput: 1 GiB of images (sparse files) onto a UFS board over an unlimited link.
//! - link: USB 2.0 high-speed model (40 MB/s), NAND at 4 MB/s with 8 KiB payloads, and UFS
//!   with 1 MiB payloads; Oasis's time divided by the ideal time for the same bytes and
//!   exchanges on that model.
//! - overhead: open → first device step, last step → verdict (no backup, verify or reboot wait).
//! - multi: 16 boards flashed at once from one process; aggregate throughput.

mod support;

use std::time::{Duration, Instant};

use oasis_engine::{Event, Phase};
use oasis_vdev::{BoardOptions, LinkModel, Profile, VirtualBoard};
use support::{BoxError, Counting, Fill, GenPackage, Layout, Timed, mb_per_s, run_timed};

const MIB: u64 = 1024 * 1024;

fn main() -> Result<(), BoxError> {
    let picked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| picked.is_empty() || picked.iter().any(|p| name.contains(p.as_str()));
    println!(
        "oasis flash benchmarks ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    if want("throughput") {
        throughput()?;
    }
    if want("link") {
        link_efficiency()?;
    }
    if want("overhead") {
        fixed_overhead()?;
    }
    if want("multi") {
        multi_board()?;
    }
    Ok(())
}

fn board(profile: &str, model: LinkModel) -> Result<VirtualBoard, BoxError> {
    let opts = BoardOptions {
        model,
        ..BoardOptions::default()
    };
    Ok(VirtualBoard::new(Profile::by_name(profile)?, opts))
}

fn phase_span(t: &Timed, phase: Phase) -> Option<Duration> {
    let a = t.first(|e| matches!(e, Event::PhaseStarted { phase: p } if *p == phase))?;
    let b = t.last(|e| matches!(e, Event::PhaseFinished { phase: p } if *p == phase))?;
    Some(b.saturating_duration_since(a))
}

fn throughput() -> Result<(), BoxError> {
    let t0 = Instant::now();
    let pkg = GenPackage::new(Layout::Ufs, 4, 256 * MIB, Fill::Sparse)?;
    let gen_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    pkg.warm_cache()?;
    println!(
        "\n[throughput] package: 4 x 256 MiB sparse images (4 KiB of data per MiB), generated in {gen_s:.1} s, \
         read once into the page cache in {:.2} s",
        t1.elapsed().as_secs_f64()
    );
    for verify in [false, true] {
        let b = board(pkg.profile, LinkModel::default())?;
        let mut req = pkg.request();
        req.options.verify = verify;
        let t = run_timed(req, Box::new(b.connect()));
        let v = t.verdict()?;
        let total = t.last(Event::is_terminal).unwrap_or(t.start) - t.start;
        let program = phase_span(&t, Phase::Program).unwrap_or_default();
        println!(
            "  host throughput, 1 GiB onto in-process virtual '{}' (unlimited link, 1 MiB payload, verify {}): \
             program phase {:.2} s = {:.0} MB/s; whole job {:.2} s = {:.0} MB/s  (goal >= 1000 MB/s)",
            pkg.profile,
            if verify {
                "on (SHA-256 on both sides)"
            } else {
                "off"
            },
            program.as_secs_f64(),
            mb_per_s(v.bytes, program),
            total.as_secs_f64(),
            mb_per_s(v.bytes, total),
        );
        if let Some(vs) = phase_span(&t, Phase::Verify) {
            println!(
                "    verify phase {:.2} s = {:.0} MB/s",
                vs.as_secs_f64(),
                mb_per_s(v.bytes, vs)
            );
        }
    }
    Ok(())
}

/// SHA-256 bytes per second on this CPU (the rate the virtual board digests at).
fn sha256_rate() -> f64 {
    use sha2::Digest;
    let buf = vec![0x5Au8; 32 * MIB as usize];
    let start = Instant::now();
    let mut h = sha2::Sha256::new();
    for _ in 0..2 {
        h.update(&buf);
    }
    std::hint::black_box(h.finalize());
    (2 * buf.len()) as f64 / start.elapsed().as_secs_f64()
}

/// One link-efficiency run: Oasis's wall time against the ideal for the same traffic.
fn link_case(name: &str, pkg: &GenPackage, model: LinkModel, verify: bool) -> Result<(), BoxError> {
    let b = board(pkg.profile, model)?;
    let (link, counts) = Counting::new(b.connect());
    let mut req = pkg.request();
    req.options.verify = verify;
    let t = run_timed(req, Box::new(link));
    let v = t.verdict()?;
    let total = t.last(Event::is_terminal).unwrap_or(t.start) - t.start;
    let c = *counts.lock().map_err(|_| "counts poisoned")?;
    let rate = model.throughput.unwrap_or(u64::MAX) as f64;
    let lat = model.latency.unwrap_or_default().as_secs_f64();
    let nand = model
        .nand_program_rate
        .map_or(0.0, |r| v.bytes as f64 / r as f64);
    // The virtual board digests on this CPU: that time is the board's, not the link's.
    let digest = if verify {
        v.bytes as f64 / sha256_rate()
    } else {
        0.0
    };
    let ideal =
        (c.host_bytes + c.board_bytes) as f64 / rate + nand + digest + c.turnarounds as f64 * lat;
    println!(
        "  {name}: {:.1} MiB programmed{}, {} answers waited for, {:.1} MiB host->board, {:.1} KiB board->host; \
         board digest {:.3} s; Oasis {:.3} s, ideal {:.3} s => ratio {:.3}  (goal <= 1.03)",
        v.bytes as f64 / MIB as f64,
        if verify {
            " + verified"
        } else {
            " (verify off)"
        },
        c.turnarounds,
        c.host_bytes as f64 / MIB as f64,
        c.board_bytes as f64 / 1024.0,
        digest,
        total.as_secs_f64(),
        ideal,
        total.as_secs_f64() / ideal,
    );
    let negotiated = t.events.iter().find_map(|(_, e)| match e {
        Event::Info { message } if message.starts_with("configured for") => Some(message.clone()),
        _ => None,
    });
    if let Some(m) = negotiated {
        println!("    {m}");
    }
    Ok(())
}

fn link_efficiency() -> Result<(), BoxError> {
    println!("\n[link] virtual board with a link model (sleeps in the in-process link)");
    let nand = GenPackage::new(Layout::Nand, 4, 2 * MIB, Fill::Dense)?;
    let nand_model = LinkModel {
        throughput: Some(40_000_000),
        latency: Some(Duration::from_millis(2)),
        nand_program_rate: Some(4_000_000),
    };
    link_case(
        "NAND eg25, USB 2.0 HS 40 MB/s, NAND 4 MB/s, 2 ms/command, 8 KiB payload",
        &nand,
        nand_model,
        true,
    )?;
    let ufs = GenPackage::new(Layout::Ufs, 2, 32 * MIB, Fill::Dense)?;
    let ufs_model = LinkModel {
        throughput: Some(40_000_000),
        latency: Some(Duration::from_millis(1)),
        nand_program_rate: None,
    };
    let name = "UFS, USB 2.0 HS 40 MB/s, 1 ms/command, 1 MiB payload";
    link_case(name, &ufs, ufs_model, true)?;
    link_case(name, &ufs, ufs_model, false)?;
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn fixed_overhead() -> Result<(), BoxError> {
    let pkg = GenPackage::new(Layout::Ufs, 2, MIB, Fill::Dense)?;
    // First device step: the start of the first erase/program; last data step: the end of the
    // program phase (patches, set-bootable and the power reset count as tail overhead).
    let first_step = |e: &Event| {
        matches!(
            e,
            Event::PhaseStarted {
                phase: Phase::Erase | Phase::Program
            }
        )
    };
    let last_step = |e: &Event| {
        matches!(
            e,
            Event::PhaseFinished {
                phase: Phase::Program
            }
        )
    };
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let b = board(pkg.profile, LinkModel::default())?;
        let mut req = pkg.request();
        req.options.verify = false;
        let t = run_timed(req, Box::new(b.connect()));
        t.verdict()?;
        let open = t
            .first(|e| {
                matches!(
                    e,
                    Event::PhaseStarted {
                        phase: Phase::Connect
                    }
                )
            })
            .ok_or("no Connect")?;
        let first = t.first(first_step).ok_or("no program phase")?;
        let last = t.last(last_step).ok_or("no program phase")?;
        let verdict = t.last(Event::is_terminal).ok_or("no verdict")?;
        head.push(first - open);
        tail.push(verdict - last);
        if std::env::var_os("OASIS_BENCH_TRACE").is_some() {
            for (at, e) in &t.events {
                println!("    {:8.3} ms  {e:?}", (*at - t.start).as_secs_f64() * 1e3);
            }
        }
    }
    println!(
        "\n[overhead] UFS package 2 x 1 MiB, in-process virtual board, verify off, median of 7:\n  \
         open port -> first program step {:.2} ms; end of last program step -> verdict (set-bootable, power reset ACK; no reboot wait) {:.2} ms  (goal < 50 ms each)",
        median(head).as_secs_f64() * 1e3,
        median(tail).as_secs_f64() * 1e3,
    );
    Ok(())
}

fn multi_board() -> Result<(), BoxError> {
    let pkg = GenPackage::new(Layout::Ufs, 1, 64 * MIB, Fill::Sparse)?;
    let start = Instant::now();
    let mut jobs = Vec::new();
    for i in 0..16 {
        let b = board(pkg.profile, LinkModel::default())?;
        let mut req = pkg.request();
        req.port = format!("virtual:ufs-{i}");
        let link = b.connect();
        let h = std::thread::Builder::new()
            .name(format!("bench-board-{i}"))
            .spawn(move || run_timed(req, Box::new(link)))?;
        jobs.push((b, h));
    }
    let mut bytes = 0u64;
    let mut verified = 0;
    for (i, (_board, h)) in jobs.into_iter().enumerate() {
        let t = h
            .join()
            .map_err(|_| format!("board {i}: bench thread panicked"))?;
        let v = t.verdict()?;
        bytes += v.bytes;
        verified += usize::from(!v.verified.is_empty());
    }
    let wall = start.elapsed();
    println!(
        "\n[multi] 16 virtual UFS boards at once from one process, 64 MiB each (sparse), verify on: \
         {verified}/16 verified, {:.0} MiB in {:.2} s = {:.0} MB/s aggregate",
        bytes as f64 / MIB as f64,
        wall.as_secs_f64(),
        mb_per_s(bytes, wall),
    );
    Ok(())
}
