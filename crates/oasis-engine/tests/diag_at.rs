//! The AT probe against a scripted modem on a pseudo-terminal, answering with the real
//! BG95-M3 and EG25-G transcripts (the real-world corpus, `OASIS_REALWORLD`), with echo on and
//! off, URCs interleaved, ERROR replies, and a silent port.
// Pseudo-terminals (openpty) exist only on Unix, so these tests are not built on Windows.
#![cfg(unix)]
// Helpers outside #[test] functions unwrap too: a failed fixture read is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oasis_engine::diag::at::parse::{
    is_read_only, parse_cfun, parse_cpin, parse_imei, parse_qgmr, parse_usbcfg, parse_usbnet,
};
use oasis_engine::diag::at::{AtProbe, ProbeConfig, SimState, UsbNet, probe};
use oasis_transport::serial::SerialTransport;
use serialport::{SerialPort, TTYPort};

/// The real-world corpus (`OASIS_REALWORLD`); read only by the ignored `realworld_*` tests.
fn fix() -> String {
    std::env::var("OASIS_REALWORLD").unwrap_or_default()
}

/// `### CMD` headings followed by a fenced block → CMD → lines.
fn transcript(file: &str) -> HashMap<String, Vec<String>> {
    let text = std::fs::read_to_string(format!("{}/transcripts/at/{file}", fix())).unwrap();
    let mut out = HashMap::new();
    let mut cmd: Option<String> = None;
    let mut body: Option<Vec<String>> = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            cmd = Some(h.trim().to_string());
        } else if line.starts_with("```") {
            match body.take() {
                Some(lines) => {
                    if let Some(c) = cmd.take() {
                        out.insert(c, lines);
                    }
                }
                None => body = Some(Vec::new()),
            }
        } else if let Some(b) = body.as_mut() {
            b.push(line.to_string());
        }
    }
    out
}

/// What the scripted modem says.
#[derive(Clone, Default)]
struct Script {
    echo: bool,
    silent: bool,
    /// Sent as soon as the modem starts (boot URCs).
    boot: Vec<String>,
    /// Command → information lines; the final code is `OK` unless given as the last line.
    replies: HashMap<String, Vec<String>>,
    /// Command → URCs sent just before its reply.
    urcs: HashMap<String, Vec<String>>,
}

struct Modem {
    heard: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Modem {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn reply_bytes(s: &Script, cmd: &str) -> Vec<u8> {
    let mut out = String::new();
    if s.echo {
        out.push_str(cmd);
        out.push('\r');
    }
    for u in s.urcs.get(cmd).into_iter().flatten() {
        out.push_str(&format!("\r\n{u}\r\n"));
    }
    let Some(lines) = s.replies.get(cmd) else {
        out.push_str("\r\nERROR\r\n");
        return out.into_bytes();
    };
    let finals = ["OK", "ERROR"];
    let (info, fin) = match lines.last() {
        Some(l) if finals.contains(&l.as_str()) || l.starts_with("+CME ERROR") => {
            (&lines[..lines.len() - 1], l.as_str())
        }
        _ => (&lines[..], "OK"),
    };
    if !info.is_empty() {
        out.push_str("\r\n");
        for l in info {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("\r\n{fin}\r\n"));
    out.into_bytes()
}

fn serve(
    mut master: TTYPort,
    script: Script,
    heard: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) {
    master.set_timeout(Duration::from_millis(20)).unwrap();
    for b in &script.boot {
        master.write_all(format!("\r\n{b}\r\n").as_bytes()).unwrap();
    }
    let mut pending = Vec::new();
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::SeqCst) {
        match master.read(&mut buf) {
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => return,
        }
        while let Some(end) = pending.iter().position(|b| *b == b'\r') {
            let cmd = String::from_utf8_lossy(&pending[..end]).trim().to_string();
            pending.drain(..=end);
            heard.lock().unwrap().push(cmd.clone());
            if !script.silent {
                master.write_all(&reply_bytes(&script, &cmd)).unwrap();
            }
        }
    }
}

/// Start the modem on a pty master; returns it and the slave path to open.
fn modem(script: Script) -> (Modem, TTYPort, String) {
    let (master, slave) = TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (h, s) = (Arc::clone(&heard), Arc::clone(&stop));
    let thread = std::thread::Builder::new()
        .name("scripted-modem".into())
        .spawn(move || serve(master, script, h, s))
        .unwrap();
    (
        Modem {
            heard,
            stop,
            thread: Some(thread),
        },
        slave,
        path,
    )
}

fn run(script: Script) -> (AtProbe, Vec<String>, Duration) {
    let (m, _slave, path) = modem(script);
    let mut port = SerialTransport::open(&path).unwrap();
    let start = Instant::now();
    let result = probe(&mut port, &path, &ProbeConfig::default());
    let took = start.elapsed();
    let heard = m.heard.lock().unwrap().clone();
    (result, heard, took)
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn position(heard: &[String], cmd: &str) -> usize {
    heard
        .iter()
        .position(|h| h == cmd)
        .unwrap_or_else(|| panic!("{cmd} not sent: {heard:?}"))
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_bg95_m3_with_echo_and_interleaved_urcs() {
    let Some(_corpus) =
        oasis_testkit::realworld("realworld_diag_bg95_m3_with_echo_and_interleaved_urcs")
    else {
        return;
    };
    let t = transcript("lukejenkins-cwd_BG95M3LAR02A03_01.011.01.011.md");
    let mut s = Script {
        echo: true,
        boot: lines(&["RDY", "APP RDY"]),
        ..Script::default()
    };
    s.replies.insert("AT".into(), vec![]);
    s.replies.insert("ATI".into(), t["ATI"].clone());
    s.replies.insert("AT+QGMR".into(), t["AT+QGMR"].clone());
    // Zephyr PR 93068: the same module family's AT+CGMR answer.
    s.replies
        .insert("AT+CGMR".into(), lines(&["BG95M3LAR02A03"]));
    s.urcs
        .insert("ATI".into(), lines(&["+QIURC: \"pdpdeact\",1"]));
    s.urcs.insert("AT+QGMR".into(), lines(&["+CPIN: READY"]));

    let (p, heard, took) = run(s);
    assert!(p.answered);
    assert_eq!(p.manufacturer.as_deref(), Some("Quectel"));
    assert_eq!(p.model.as_deref(), Some("BG95-M3"));
    assert_eq!(p.revision.as_deref(), Some("BG95M3LAR02A03"));
    assert_eq!(
        p.full_revision.as_deref(),
        Some("BG95M3LAR02A03_01.011.01.011")
    );
    assert_eq!(p.echo, Some(true));
    for u in ["RDY", "APP RDY", "+QIURC: \"pdpdeact\",1", "+CPIN: READY"] {
        assert!(
            p.urcs.iter().any(|x| x == u),
            "{u} missing from {:?}",
            p.urcs
        );
    }
    // Unsolicited +CPIN during AT+QGMR is not the SIM answer, and ERROR replies leave fields empty.
    assert_eq!(p.sim, None);
    assert_eq!(
        (p.imei.as_ref(), p.cfun, p.usbnet.as_ref(), p.secure_boot),
        (None, None, None, None)
    );
    assert!(p.raw.iter().any(|(c, l)| c == "AT+CGSN" && l == &["ERROR"]));
    assert!(heard.contains(&"AT+GSN".to_string()), "IMEI fallback asked");
    // BG95: the QCFGEXT form first; both secure-boot forms tried.
    assert!(position(&heard, "AT+QCFGEXT=\"usbnet\"") < position(&heard, "AT+QCFG=\"usbnet\""));
    position(&heard, "AT+QSECBOOT=\"status\"");
    assert!(
        heard.iter().all(|c| is_read_only(c)),
        "a set command was sent: {heard:?}"
    );
    let _ = took;
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_eg25_g_without_echo_and_secure_boot_from_fwupd_recording() {
    let Some(_corpus) = oasis_testkit::realworld(
        "realworld_diag_eg25_g_without_echo_and_secure_boot_from_fwupd_recording",
    ) else {
        return;
    };
    let t = transcript("lukejenkins-cwd_EG25GGBR07A08M2G_01.002.01.002.md");
    let mut s = Script::default();
    s.replies.insert("AT".into(), vec![]);
    s.replies.insert("ATI".into(), t["ATI"].clone());
    s.replies.insert("AT+QGMR".into(), t["AT+QGMR"].clone());
    s.replies
        .insert("AT+CPIN?".into(), lines(&["+CPIN: READY"]));
    // fwupd's recorded EG25-G reply (usb/fwupd-emulation/qc-eg25ggc-fastboot-setup.json).
    s.replies.insert(
        "AT+QCFG=\"secbootstat\"".into(),
        lines(&["+QCFG: \"secbootstat\",0"]),
    );

    let (p, heard, _) = run(s);
    assert!(p.answered);
    assert_eq!(p.echo, Some(false));
    assert_eq!(p.model.as_deref(), Some("EG25"));
    assert_eq!(p.revision.as_deref(), Some("EG25GGBR07A08M2G"));
    assert_eq!(
        p.full_revision.as_deref(),
        Some("EG25GGBR07A08M2G_01.002.01.002")
    );
    assert_eq!(p.sim, Some(SimState::Ready));
    assert_eq!(p.secure_boot, Some(false));
    assert!(
        !heard.contains(&"AT+QSECBOOT=\"status\"".to_string()),
        "answered by the first form"
    );
    assert!(position(&heard, "AT+QCFG=\"usbnet\"") < position(&heard, "AT+QCFGEXT=\"usbnet\""));
    assert!(heard.iter().all(|c| is_read_only(c)));
}

#[test]
fn diag_sim_missing_is_read_from_the_cme_error() {
    let mut s = Script {
        echo: true,
        ..Script::default()
    };
    s.replies.insert("AT".into(), vec![]);
    s.replies
        .insert("AT+CPIN?".into(), lines(&["+CME ERROR: 10"]));
    s.replies.insert("AT+CFUN?".into(), lines(&["+CFUN: 4"]));
    s.replies
        .insert("AT+QCFG=\"usbnet\"".into(), lines(&["+QCFG: \"usbnet\",1"]));
    let (p, _, _) = run(s);
    assert_eq!(p.sim, Some(SimState::NotInserted));
    assert_eq!(p.cfun, Some(4));
    assert_eq!(p.usbnet, Some(UsbNet::Ecm));
}

#[test]
fn diag_silent_port_is_not_answered_within_the_bound() {
    let (p, heard, took) = run(Script {
        silent: true,
        ..Script::default()
    });
    assert!(!p.answered);
    // A module that has just booted loses input and answers late: three tries (at least 3 s),
    // then nothing else.
    assert_eq!(heard, ["AT", "AT", "AT"], "three tries, then nothing else");
    assert!(
        took >= Duration::from_millis(2900),
        "each try waited its second: {took:?}"
    );
    assert_eq!(p.raw, vec![("AT".to_string(), vec![]); 3]);
}

#[test]
fn diag_pure_parsers_on_documented_replies() {
    let cfg = parse_usbcfg(&lines(&["+QCFG: \"usbcfg\",0x2C7C,0x0125,1,1,1,1,1,0,0"])).unwrap();
    assert_eq!((cfg.vid, cfg.pid), (0x2C7C, 0x0125));
    assert_eq!(cfg.named_ec25()[4], ("net", true));
    assert_eq!(cfg.named_ec25()[5], ("adb", false));
    assert_eq!(
        parse_usbnet(&lines(&["+QCFGEXT: \"usbnet\",\"ecm\""])),
        Some(UsbNet::Ecm)
    );
    assert_eq!(
        parse_usbnet(&lines(&["+QCFGEXT: \"usbnet\",\"modem\""])),
        Some(UsbNet::Modem)
    );
    assert_eq!(
        parse_usbnet(&lines(&["+QCFG: \"usbnet\",0"])),
        Some(UsbNet::Rmnet)
    );
    assert_eq!(
        parse_qgmr(&lines(&["+QGMR: RM551EGL00AAR01A03M8G_A0.001.A0.001"])).as_deref(),
        Some("RM551EGL00AAR01A03M8G_A0.001.A0.001")
    );
    assert_eq!(
        parse_imei(&lines(&["867698041234567"])).as_deref(),
        Some("867698041234567")
    );
    assert_eq!(
        parse_imei(&lines(&["+CGSN: \"867698041234567\""])).as_deref(),
        Some("867698041234567")
    );
    assert_eq!(parse_imei(&lines(&["86769804123456"])), None, "14 digits");
    assert_eq!(parse_cfun(&lines(&["+CFUN: 1"])), Some(1));
    assert_eq!(
        parse_cpin(&lines(&["+CPIN: SIM PUK"]), Some("OK")),
        Some(SimState::PukRequired)
    );
}

#[test]
#[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
fn realworld_diag_ati_of_a_real_bg96_serial_log() {
    let Some(_corpus) = oasis_testkit::realworld("realworld_diag_ati_of_a_real_bg96_serial_log")
    else {
        return;
    };
    // The BG96 serial log from TinyGSM issue 157 (timestamps cut off).
    let log = std::fs::read_to_string(format!(
        "{}/transcripts/at/tinygsm-issue157-bg96-serial-log.txt",
        fix()
    ))
    .unwrap();
    let ati: Vec<String> = log
        .lines()
        .skip_while(|l| !l.ends_with("-> ATI"))
        .skip(1)
        .take_while(|l| !l.ends_with("-> OK"))
        .filter_map(|l| l.split_once("-> ").map(|(_, v)| v.to_string()))
        .collect();
    let a = oasis_engine::diag::at::parse::parse_ati(&ati);
    assert_eq!(
        (a.manufacturer.as_deref(), a.model.as_deref()),
        (Some("Quectel"), Some("BG96"))
    );
    assert_eq!(a.revision.as_deref(), Some("BG96MAR02A07M1G"));
}

#[test]
fn diag_missing_port_is_reported_not_panicked() {
    let p = oasis_engine::diag::at::probe_on(
        &oasis_transport::BusHandle::system(),
        "/dev/oasis-no-such-port",
        &ProbeConfig::default(),
    );
    assert!(!p.answered);
    let e = p.error.expect("open error recorded");
    assert_eq!(
        e.kind,
        oasis_transport::TransportErrorKind::NotFound,
        "{}",
        e.message
    );
    assert!(p.raw.is_empty(), "nothing was sent");
}
