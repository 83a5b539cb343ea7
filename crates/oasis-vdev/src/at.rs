//! The device side of a Quectel AT port: what a module in normal mode answers on interface 2.
//!
//! Replies follow the real format: echo of the command line (unless `ATE0`), then
//! `\r\n<info>\r\n\r\nOK\r\n`, or `\r\nERROR\r\n` for anything unknown. `RDY` is sent at boot.

use crate::profile::Profile;

/// A module in normal mode answering AT commands (device side, byte in / byte out).
#[derive(Debug, Clone)]
pub struct AtModem {
    model: String,
    revision: String,
    imei: String,
    iccid: Option<String>,
    usb_pid: u16,
    usbnet_ext: bool,
    newer_firmware: bool,
    secure_boot: bool,
    echo: bool,
    cfun: u8,
    usbnet: String,
    silent: bool,
    line: Vec<u8>,
    out: Vec<u8>,
    reboots: u32,
}

impl AtModem {
    /// A modem for this profile running firmware `revision` (full, `AT+QGMR` form). It has just
    /// booted: `RDY` is waiting to be read.
    pub fn new(profile: &Profile, revision: impl Into<String>) -> Self {
        let mut m = Self {
            model: profile.at_model.clone(),
            revision: revision.into(),
            imei: profile.imei.clone(),
            iccid: profile.iccid.clone(),
            usb_pid: profile.usb_pid,
            usbnet_ext: profile.usbnet_ext,
            newer_firmware: profile.read_data_64,
            secure_boot: profile.fused_root.is_some(),
            echo: true,
            cfun: 1,
            usbnet: if profile.usbnet_ext {
                "modem".into()
            } else {
                "0".into()
            },
            silent: false,
            line: Vec::new(),
            out: Vec::new(),
            reboots: 0,
        };
        m.boot();
        m
    }

    /// A modem that accepts bytes but never answers (the "AT silent" state).
    pub fn silent(mut self) -> Self {
        self.silent = true;
        self.out.clear();
        self
    }

    /// The full firmware revision it reports (`AT+QGMR`).
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// How many times `AT+CFUN=1,1` rebooted it.
    pub fn reboots(&self) -> u32 {
        self.reboots
    }

    fn boot(&mut self) {
        self.echo = true;
        self.out.extend_from_slice(b"\r\nRDY\r\n");
    }

    /// Bytes the host wrote to the AT port. Answers are collected for [`AtModem::take_output`].
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.silent {
                continue;
            }
            if self.echo {
                self.out.push(b);
            }
            match b {
                b'\r' => {
                    let line = std::mem::take(&mut self.line);
                    let text = String::from_utf8_lossy(&line).trim().to_string();
                    if !text.is_empty() {
                        self.command(&text);
                    }
                }
                b'\n' => {}
                // Backspace edits the line like a real modem.
                8 => {
                    self.line.pop();
                }
                _ if self.line.len() < 4096 => self.line.push(b),
                _ => {}
            }
        }
    }

    /// Everything the modem has said since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn ok(&mut self, info: &[String]) {
        for l in info {
            self.out.extend_from_slice(b"\r\n");
            self.out.extend_from_slice(l.as_bytes());
        }
        if !info.is_empty() {
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b"\r\nOK\r\n");
    }

    fn error(&mut self) {
        self.out.extend_from_slice(b"\r\nERROR\r\n");
    }

    /// `+CME ERROR: <code>` (10: SIM not inserted).
    fn cme_error(&mut self, code: u32) {
        self.out
            .extend_from_slice(format!("\r\n+CME ERROR: {code}\r\n").as_bytes());
    }

    fn short_revision(&self) -> String {
        self.revision
            .split('_')
            .next()
            .unwrap_or(&self.revision)
            .to_string()
    }

    fn command(&mut self, text: &str) {
        let upper = text.to_ascii_uppercase();
        let Some(cmd) = upper.strip_prefix("AT") else {
            return self.error();
        };
        let one = |s: String| vec![s];
        match cmd {
            "" => self.ok(&[]),
            "E0" => {
                self.echo = false;
                self.ok(&[]);
            }
            "E" | "E1" => {
                self.echo = true;
                self.ok(&[]);
            }
            "I" | "I0" => {
                let info = vec![
                    "Quectel".to_string(),
                    self.model.clone(),
                    format!("Revision: {}", self.short_revision()),
                ];
                self.ok(&info);
            }
            "+CGMI" | "+GMI" => self.ok(&one("Quectel".into())),
            "+CGMM" | "+GMM" => self.ok(&one(self.model.clone())),
            "+CGMR" | "+GMR" => self.ok(&one(self.short_revision())),
            "+QGMR" => self.ok(&one(self.revision.clone())),
            "+CGSN" | "+GSN" => self.ok(&one(self.imei.clone())),
            "+CFUN?" => self.ok(&one(format!("+CFUN: {}", self.cfun))),
            "+CPIN?" => match &self.iccid {
                Some(_) => self.ok(&one("+CPIN: READY".into())),
                None => self.cme_error(10),
            },
            "+QCCID" | "+CCID" => match self.iccid.clone() {
                Some(i) => {
                    let name = if cmd == "+QCCID" { "+QCCID" } else { "+CCID" };
                    self.ok(&one(format!("{name}: {i}")))
                }
                None => self.cme_error(10),
            },
            _ => self.extended(cmd),
        }
    }

    fn extended(&mut self, cmd: &str) {
        let one = |s: String| vec![s];
        if let Some(arg) = cmd.strip_prefix("+CFUN=") {
            return self.cfun_set(arg);
        }
        if let Some(arg) = cmd.strip_prefix("+QCFG=") {
            return self.qcfg(arg);
        }
        if let Some(arg) = cmd.strip_prefix("+QCFGEXT=") {
            if !self.usbnet_ext {
                return self.error();
            }
            let mut parts = arg.splitn(2, ',');
            return match (parts.next(), parts.next()) {
                (Some("\"USBNET\""), None) => {
                    let v = format!("+QCFGEXT: \"usbnet\",\"{}\"", self.usbnet);
                    self.ok(&one(v));
                }
                (Some("\"USBNET\""), Some(v)) => {
                    self.usbnet = v.trim_matches('"').to_ascii_lowercase();
                    self.ok(&[]);
                }
                _ => self.error(),
            };
        }
        if cmd == "+QSECBOOT=\"STATUS\"" && self.newer_firmware {
            let v = format!("+QSECBOOT: \"status\",{}", u8::from(self.secure_boot));
            return self.ok(&one(v));
        }
        self.error();
    }

    fn cfun_set(&mut self, arg: &str) {
        let mut it = arg.split(',').map(str::trim);
        let fun = it.next().and_then(|s| s.parse::<u8>().ok());
        let rst = it.next().map(|s| s.parse::<u8>().ok());
        match (fun, rst) {
            (Some(f @ (0 | 1 | 4)), None | Some(Some(0))) => {
                self.cfun = f;
                self.ok(&[]);
            }
            (Some(1), Some(Some(1))) => {
                self.ok(&[]);
                self.reboots += 1;
                self.cfun = 1;
                self.boot();
            }
            _ => self.error(),
        }
    }

    fn qcfg(&mut self, arg: &str) {
        let one = |s: String| vec![s];
        let mut parts = arg.splitn(2, ',');
        match (parts.next(), parts.next()) {
            (Some("\"USBCFG\""), None) => {
                let v = format!(
                    "+QCFG: \"usbcfg\",0x2C7C,0x{:04X},1,1,1,1,1,0,0",
                    self.usb_pid
                );
                self.ok(&one(v));
            }
            (Some("\"USBNET\""), None) if !self.usbnet_ext => {
                let v = format!("+QCFG: \"usbnet\",{}", self.usbnet);
                self.ok(&one(v));
            }
            (Some("\"USBNET\""), Some(v)) if !self.usbnet_ext => match v.trim() {
                n @ ("0" | "1" | "2" | "3") => {
                    self.usbnet = n.to_string();
                    self.ok(&[]);
                }
                _ => self.error(),
            },
            (Some("\"SECBOOTSTAT\""), None) => {
                let v = format!("+QCFG: \"secbootstat\",{}", u8::from(self.secure_boot));
                self.ok(&one(v));
            }
            _ => self.error(),
        }
    }
}

/// Find a Quectel revision string `<MODEL>…R##A##…_xx.xxx.xx.xxx` for `model` (e.g. `BG95-M3`)
/// in `hay`. The model is matched without its dash (`BG95M3…`) and by its family prefix
/// (`BG95…`), so a package for a sibling variant is still found.
pub fn find_revision(hay: &[u8], model: &str) -> Option<String> {
    let family: String = model
        .split('-')
        .next()
        .unwrap_or(model)
        .to_ascii_uppercase();
    if family.len() < 3 {
        return None;
    }
    let fam = family.as_bytes();
    let mut i = 0;
    while i + fam.len() <= hay.len() {
        if hay[i..].starts_with(fam)
            && let Some(rev) = revision_at(&hay[i..])
        {
            return Some(rev);
        }
        i += 1;
    }
    None
}

/// Match `[A-Z0-9]{6,40}` containing `R##A##`, then `_`, then `XX.XXX.XX.XXX` at the start.
fn revision_at(s: &[u8]) -> Option<String> {
    let alnum = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let head = s.iter().take(41).take_while(|b| alnum(b)).count();
    if !(6..=40).contains(&head) || s.get(head) != Some(&b'_') {
        return None;
    }
    let h = &s[..head];
    let has_ra = h.windows(6).any(|w| {
        w[0] == b'R'
            && w[1].is_ascii_digit()
            && w[2].is_ascii_digit()
            && w[3] == b'A'
            && w[4].is_ascii_digit()
            && w[5].is_ascii_digit()
    });
    if !has_ra {
        return None;
    }
    let tail = s.get(head + 1..head + 14)?;
    let shape = [2usize, 3, 2, 3];
    let mut pos = 0;
    for (k, n) in shape.iter().enumerate() {
        if !tail.get(pos..pos + n)?.iter().all(alnum) {
            return None;
        }
        pos += n;
        if k < 3 {
            if tail.get(pos) != Some(&b'.') {
                return None;
            }
            pos += 1;
        }
    }
    if s.get(head + 14).is_some_and(alnum) {
        return None;
    }
    std::str::from_utf8(&s[..head + 14])
        .ok()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk(m: &mut AtModem, cmd: &str) -> String {
        m.feed(cmd.as_bytes());
        String::from_utf8(m.take_output()).unwrap()
    }

    #[test]
    fn boots_with_rdy_and_echoes() {
        let mut m = AtModem::new(&Profile::bg95(), "BG95M3LAR02A03_01.011.01.011");
        assert_eq!(m.take_output(), b"\r\nRDY\r\n");
        assert_eq!(talk(&mut m, "AT\r"), "AT\r\r\nOK\r\n");
        assert_eq!(talk(&mut m, "ATE0\r"), "ATE0\r\r\nOK\r\n");
        assert_eq!(talk(&mut m, "AT\r"), "\r\nOK\r\n");
    }

    #[test]
    fn identity_like_the_real_bg95() {
        let mut m = AtModem::new(&Profile::bg95(), "BG95M3LAR02A03_01.204.01.204");
        m.take_output();
        talk(&mut m, "ATE0\r");
        assert_eq!(
            talk(&mut m, "ATI\r"),
            "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n"
        );
        assert_eq!(
            talk(&mut m, "AT+CGMR\r"),
            "\r\nBG95M3LAR02A03\r\n\r\nOK\r\n"
        );
        assert_eq!(
            talk(&mut m, "at+qgmr\r"),
            "\r\nBG95M3LAR02A03_01.204.01.204\r\n\r\nOK\r\n"
        );
        assert_eq!(talk(&mut m, "AT+QCFG=\"usbnet\"\r"), "\r\nERROR\r\n");
        assert!(talk(&mut m, "AT+QCFGEXT=\"usbnet\"\r").contains("+QCFGEXT: \"usbnet\",\"modem\""));
        assert_eq!(talk(&mut m, "AT+FOO\r"), "\r\nERROR\r\n");
    }

    #[test]
    fn eg25_qcfg_and_reboot() {
        let mut m = AtModem::new(&Profile::eg25(), "EG25GGBR07A08M2G_01.002.01.002");
        m.take_output();
        talk(&mut m, "ATE0\r");
        assert!(
            talk(&mut m, "AT+QCFG=\"usbcfg\"\r")
                .contains("+QCFG: \"usbcfg\",0x2C7C,0x0125,1,1,1,1,1,0,0")
        );
        assert!(talk(&mut m, "AT+QCFG=\"usbnet\"\r").contains("+QCFG: \"usbnet\",0"));
        assert!(talk(&mut m, "AT+QCFG=\"secbootstat\"\r").contains("+QCFG: \"secbootstat\",0"));
        assert!(talk(&mut m, "AT+CPIN?\r").contains("+CPIN: READY"));
        assert!(talk(&mut m, "AT+CFUN?\r").contains("+CFUN: 1"));
        assert_eq!(
            talk(&mut m, "AT+CGSN\r"),
            "\r\n867698041234562\r\n\r\nOK\r\n"
        );
        assert_eq!(talk(&mut m, "AT+CFUN=1,1\r"), "\r\nOK\r\n\r\nRDY\r\n");
        assert_eq!(m.reboots(), 1);
    }

    #[test]
    fn silent_modem_says_nothing() {
        let mut m = AtModem::new(&Profile::bg95(), "X").silent();
        assert_eq!(talk(&mut m, "ATI\r"), "");
    }

    #[test]
    fn finds_revisions_in_images() {
        let img = b"\0\0junk BG95M3LAR02A03_01.200.01.200\0more";
        assert_eq!(
            find_revision(img, "BG95-M3").as_deref(),
            Some("BG95M3LAR02A03_01.200.01.200")
        );
        let rm = b"xxRM551EGL00AAR01A03M8G_A0.001.A0.001 ";
        assert_eq!(
            find_revision(rm, "RM551E-GL").as_deref(),
            Some("RM551EGL00AAR01A03M8G_A0.001.A0.001")
        );
        assert_eq!(find_revision(b"BG95M3LA_01.200.01.200", "BG95-M3"), None);
        assert_eq!(
            find_revision(b"EG25GGBR07A08M2G_30.006.30.0067", "EG25-G"),
            None
        );
        assert_eq!(find_revision(b"BG95", "BG95-M3"), None);
    }
}
