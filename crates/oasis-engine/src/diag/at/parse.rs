//! Pure parsers for the answers to Oasis's read-only AT probes. Each takes the information
//! lines of one reply (echo, URCs and the final `OK` already removed) and returns `None` when
//! the answer is not there.

use serde::{Deserialize, Serialize};

/// What `ATI` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ati {
    /// First line, e.g. "Quectel".
    pub manufacturer: Option<String>,
    /// Second line, e.g. "BG95-M3", "EG25".
    pub model: Option<String>,
    /// After `Revision: `, e.g. "BG95M3LAR02A03".
    pub revision: Option<String>,
}

/// Parse `ATI`: manufacturer, model, then `Revision: …`.
pub fn parse_ati(lines: &[String]) -> Ati {
    let mut out = Ati::default();
    let mut plain = Vec::new();
    for l in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if let Some(rev) = strip_prefix_ci(l, "Revision:") {
            out.revision = Some(rev.trim().to_string()).filter(|r| !r.is_empty());
        } else {
            plain.push(l);
        }
    }
    let mut it = plain.into_iter();
    out.manufacturer = it.next().map(str::to_string);
    out.model = it.next().map(str::to_string);
    out
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The first non-empty line, without an optional `+PREFIX:` (e.g. `+QGMR: `) and quotes.
fn single_value(lines: &[String], prefix: &str) -> Option<String> {
    lines.iter().find_map(|l| {
        let l = l.trim();
        let v = strip_prefix_ci(l, prefix)
            .unwrap_or(l)
            .trim()
            .trim_matches('"');
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// Parse `AT+QGMR`: the full version, e.g. `BG95M3LAR02A03_01.011.01.011` (an optional
/// `+QGMR: ` prefix is accepted).
pub fn parse_qgmr(lines: &[String]) -> Option<String> {
    single_value(lines, "+QGMR:")
}

/// Parse `AT+CGMR`: the short revision, e.g. `BG95M3LAR02A03` (accepts `+CGMR: ` and
/// `Revision: ` prefixes).
pub(crate) fn parse_cgmr(lines: &[String]) -> Option<String> {
    let v = single_value(lines, "+CGMR:")?;
    Some(strip_prefix_ci(&v, "Revision:").map_or(v.clone(), |r| r.trim().to_string()))
}

/// Parse `AT+QCCID` / `AT+CCID`: the SIM's ICCID (19 or 20 digits from `89`, an `F` pad
/// dropped).
pub(crate) fn parse_iccid(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|l| {
        let l = l.trim();
        let v = ["+QCCID:", "+CCID:", "+ICCID:"]
            .iter()
            .find_map(|p| strip_prefix_ci(l, p))
            .unwrap_or(l)
            .trim()
            .trim_matches('"')
            .trim_end_matches(['F', 'f']);
        ((19..=20).contains(&v.len())
            && v.starts_with("89")
            && v.bytes().all(|b| b.is_ascii_digit()))
        .then(|| v.to_string())
    })
}

/// Parse `AT+CGSN` / `AT+GSN`: a 15-digit IMEI (prefix and quotes tolerated).
pub fn parse_imei(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|l| {
        let l = l.trim();
        let v = ["+CGSN:", "+GSN:"]
            .iter()
            .find_map(|p| strip_prefix_ci(l, p))
            .unwrap_or(l)
            .trim()
            .trim_matches('"');
        (v.len() == 15 && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.to_string())
    })
}

/// Parse `AT+CFUN?`: `+CFUN: 1` → 1 (0 minimum, 1 full, 4 radio off).
pub fn parse_cfun(lines: &[String]) -> Option<u8> {
    lines.iter().find_map(|l| {
        let v = strip_prefix_ci(l.trim(), "+CFUN:")?;
        v.split(',').next()?.trim().parse().ok()
    })
}

/// SIM state from `AT+CPIN?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum SimState {
    /// `+CPIN: READY`.
    Ready,
    /// `+CPIN: SIM PIN`.
    PinRequired,
    /// `+CPIN: SIM PUK`.
    PukRequired,
    /// `+CME ERROR: 10` / "SIM not inserted".
    NotInserted,
    /// `+CME ERROR: 13` / "SIM failure".
    Failure,
    /// `+CME ERROR: 14` / "SIM busy".
    Busy,
    /// Anything else, verbatim.
    Other(String),
}

/// Parse `AT+CPIN?` from its information lines, or from the `+CME ERROR` final line.
pub fn parse_cpin(lines: &[String], final_line: Option<&str>) -> Option<SimState> {
    if let Some(v) = lines
        .iter()
        .find_map(|l| strip_prefix_ci(l.trim(), "+CPIN:"))
    {
        let v = v.trim();
        return Some(match v.to_ascii_uppercase().as_str() {
            "READY" => SimState::Ready,
            "SIM PIN" => SimState::PinRequired,
            "SIM PUK" => SimState::PukRequired,
            _ => SimState::Other(v.to_string()),
        });
    }
    let err = strip_prefix_ci(final_line?.trim(), "+CME ERROR:")?.trim();
    Some(match err.to_ascii_lowercase().as_str() {
        "10" | "sim not inserted" => SimState::NotInserted,
        "13" | "sim failure" => SimState::Failure,
        "14" | "sim busy" => SimState::Busy,
        other => SimState::Other(format!("+CME ERROR: {other}")),
    })
}

/// The fields of a `+QCFG: "name",a,b,…` / `+QCFGEXT: "name",…` reply for `name`.
fn qcfg_fields(lines: &[String], name: &str) -> Option<Vec<String>> {
    lines.iter().find_map(|l| {
        let l = l.trim();
        let body = strip_prefix_ci(l, "+QCFG:").or_else(|| strip_prefix_ci(l, "+QCFGEXT:"))?;
        let mut parts = body
            .split(',')
            .map(|p| p.trim().trim_matches('"').to_string());
        let first = parts.next()?;
        first.eq_ignore_ascii_case(name).then(|| parts.collect())
    })
}

/// USB composition from `AT+QCFG="usbcfg"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsbCfg {
    /// USB vendor id the module will present.
    pub vid: u16,
    /// USB product id.
    pub pid: u16,
    /// Per-function enables, in the module's order (EC25/EG25: DIAG, NMEA, AT, modem, network,
    /// ADB, UAC; other models may differ).
    pub functions: Vec<u8>,
}

impl UsbCfg {
    /// Function names in the EC25/EG25 order, paired with their enable flag.
    pub fn named_ec25(&self) -> Vec<(&'static str, bool)> {
        const NAMES: [&str; 7] = ["diag", "nmea", "at", "modem", "net", "adb", "uac"];
        NAMES
            .iter()
            .zip(&self.functions)
            .map(|(n, f)| (*n, *f != 0))
            .collect()
    }
}

/// Parse `AT+QCFG="usbcfg"`: `+QCFG: "usbcfg",0x2C7C,0x0125,1,1,1,1,1,0,0`.
pub fn parse_usbcfg(lines: &[String]) -> Option<UsbCfg> {
    let f = qcfg_fields(lines, "usbcfg")?;
    let hex = |s: &String| {
        u16::from_str_radix(s.trim_start_matches("0x").trim_start_matches("0X"), 16).ok()
    };
    let vid = hex(f.first()?)?;
    let pid = hex(f.get(1)?)?;
    let functions = f
        .iter()
        .skip(2)
        .map(|s| s.parse().ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(UsbCfg {
        vid,
        pid,
        functions,
    })
}

/// Network function mode from `AT+QCFG="usbnet"` / `AT+QCFGEXT="usbnet"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "detail")]
pub enum UsbNet {
    /// 0: RmNet / QMI.
    Rmnet,
    /// 1: ECM.
    Ecm,
    /// 2: MBIM.
    Mbim,
    /// 3: RNDIS.
    Rndis,
    /// BG95 "modem" (second modem port instead of a network interface).
    Modem,
    /// Anything else, verbatim.
    Other(String),
}

/// Parse `+QCFG: "usbnet",0` or `+QCFGEXT: "usbnet","ecm"`.
pub fn parse_usbnet(lines: &[String]) -> Option<UsbNet> {
    let f = qcfg_fields(lines, "usbnet")?;
    let v = f.first()?.to_ascii_lowercase();
    Some(match v.as_str() {
        "0" | "rmnet" | "qmi" => UsbNet::Rmnet,
        "1" | "ecm" => UsbNet::Ecm,
        "2" | "mbim" => UsbNet::Mbim,
        "3" | "rndis" => UsbNet::Rndis,
        "modem" => UsbNet::Modem,
        _ => UsbNet::Other(f.join(",")),
    })
}

/// Parse `+QCFG: "secbootstat",1` or `+QSECBOOT: "status",1` → secure boot on.
pub fn parse_secure_boot(lines: &[String]) -> Option<bool> {
    let from_qcfg = qcfg_fields(lines, "secbootstat").and_then(|f| f.first().cloned());
    let v = from_qcfg.or_else(|| {
        lines.iter().find_map(|l| {
            let body = strip_prefix_ci(l.trim(), "+QSECBOOT:")?;
            let mut parts = body.split(',').map(|p| p.trim().trim_matches('"'));
            parts
                .next()?
                .eq_ignore_ascii_case("status")
                .then(|| parts.next().map(str::to_string))?
        })
    })?;
    match v.trim() {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// Identity commands that take no argument and only report.
const INFO_COMMANDS: &[&str] = &[
    "", "I", "+CGMR", "+GMR", "+QGMR", "+CGSN", "+GSN", "+CGMI", "+CGMM", "+GMI", "+GMM", "+QCCID",
    "+CCID",
];

/// Commands whose `="name"` form reads a setting rather than changing anything.
const QUERY_BY_NAME: &[&str] = &["+QCFG", "+QCFGEXT", "+QSECBOOT"];

/// True for a command that only reads: an identity command (`ATI`, `AT+CGMR`, ...), a read
/// (`AT+X?`) or test (`AT+X=?`) form, or `AT+QCFG="name"`-style queries with one quoted name
/// and no value. Oasis's probe sends nothing else.
pub fn is_read_only(cmd: &str) -> bool {
    let c = cmd.trim().to_ascii_uppercase();
    let Some(body) = c.strip_prefix("AT") else {
        return false;
    };
    if body.contains([';', '&']) {
        return false;
    }
    if INFO_COMMANDS.contains(&body) || (body.starts_with('+') && body.ends_with('?')) {
        return true;
    }
    let Some((name, arg)) = body.split_once('=') else {
        return false;
    };
    let quoted_name = arg.len() >= 2
        && arg.starts_with('"')
        && arg.ends_with('"')
        && arg[1..arg.len() - 1]
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '/');
    QUERY_BY_NAME.contains(&name) && quoted_name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn iccid_forms() {
        assert_eq!(
            parse_iccid(&v(&["+QCCID: 89860318760251234567F"])).as_deref(),
            Some("89860318760251234567")
        );
        assert_eq!(
            parse_iccid(&v(&["+CCID: \"8949020000123456789\""])).as_deref(),
            Some("8949020000123456789")
        );
        assert_eq!(parse_iccid(&v(&["+QCCID: 1234"])), None);
        assert_eq!(parse_iccid(&v(&["ERROR"])), None);
    }

    #[test]
    fn sim_from_cme_error() {
        assert_eq!(
            parse_cpin(&[], Some("+CME ERROR: 10")),
            Some(SimState::NotInserted)
        );
        assert_eq!(
            parse_cpin(&[], Some("+CME ERROR: SIM busy")),
            Some(SimState::Busy)
        );
        assert_eq!(
            parse_cpin(&v(&["+CPIN: SIM PIN"]), Some("OK")),
            Some(SimState::PinRequired)
        );
        assert_eq!(parse_cpin(&[], Some("ERROR")), None);
    }

    #[test]
    fn read_only_rule() {
        for c in [
            "AT",
            "ATI",
            "AT+CGMR",
            "AT+CFUN?",
            "AT+QCFG=\"usbcfg\"",
            "AT+QSECBOOT=\"status\"",
            "AT+QCCID",
        ] {
            assert!(is_read_only(c), "{c}");
        }
        for c in [
            "AT+CFUN=1,1",
            "AT+QCFG=\"usbnet\",1",
            "ATE0",
            "AT&F",
            "AT+QFASTBOOT",
            "AT+QPOWD",
            "AT+QFDEL=\"x\"",
            "AT+CGMR;+CFUN=0",
            "XYZ",
        ] {
            assert!(!is_read_only(c), "{c}");
        }
    }

    #[test]
    fn usbcfg_rejects_garbage() {
        assert_eq!(parse_usbcfg(&v(&["+QCFG: \"usbcfg\",0x2C7C,zz,1"])), None);
        assert_eq!(parse_usbnet(&v(&["+QCFG: \"band\",0"])), None);
        assert_eq!(parse_secure_boot(&v(&["+QSECBOOT: \"status\",7"])), None);
    }
}
