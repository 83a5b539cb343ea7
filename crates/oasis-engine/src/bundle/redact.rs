//! Keeping a board's identifiers out of what users share: support bundles and the ticket
//! summary mask the IMEI, the ICCID and the chip serial by default.
//!
//! A mask is a short keyed hash plus the last four characters (`[IMEI 3fa2c1d9..4567]`): two
//! bundles of one board, written on one computer, carry the same mask, so a supporter can still
//! tell "the same board again" without seeing the number. The key is a random value kept in the
//! data dir (`KEY_FILE`); without it an IMEI could be recovered from an unkeyed hash by trying
//! the few thousand numbers its model code and last digits leave open.
//!
//! What is found: IMEIs (a standalone run of exactly 15 digits), ICCIDs (19 or 20 digits
//! starting with `89`, an `F` pad allowed) and the chip serials the session named (identity
//! events, the programmer's `Chip serial num` log line), in their hex (with or without leading
//! zeros) and decimal spellings. Backups are not redacted (they are the user's own restore
//! data and `restore` checks the serial).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use sha2::{Digest, Sha256};

/// File in the data dir holding the key of the masks (hex).
pub(crate) const KEY_FILE: &str = "identifier-key";

/// Which identifier a mask stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The modem's IMEI.
    Imei,
    /// The SIM's ICCID.
    Iccid,
    /// The chip serial (Sahara serial number).
    Serial,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Imei => "IMEI",
            Self::Iccid => "ICCID",
            Self::Serial => "serial",
        }
    }
}

/// Masks identifiers in text and in recorded bytes.
#[derive(Debug, Clone)]
pub struct Redactor {
    key: Vec<u8>,
    /// Chip serials as numbers (every spelling is derived from them).
    serials: Vec<u32>,
}

fn random_key() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let mut h = Sha256::new();
    for i in 0..8u64 {
        let mut s = std::collections::hash_map::RandomState::new().build_hasher();
        s.write_u64(i);
        h.update(s.finish().to_le_bytes());
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.finalize().to_vec()
}

/// Keys already read in this process, by data dir.
fn keys() -> &'static Mutex<HashMap<PathBuf, Vec<u8>>> {
    static KEYS: OnceLock<Mutex<HashMap<PathBuf, Vec<u8>>>> = OnceLock::new();
    KEYS.get_or_init(Mutex::default)
}

/// The key of `data_dir` when this process already read it (no file access).
pub(crate) fn cached_key(data_dir: &Path) -> Option<Vec<u8>> {
    keys()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(data_dir)
        .cloned()
}

/// The key kept in `data_dir` (created there on first use; remembered for this process).
/// When it cannot be stored, a key for this process only is used: masks then differ between
/// runs, but nothing leaks.
pub(crate) fn load_key(data_dir: &Path) -> Vec<u8> {
    if let Some(k) = cached_key(data_dir) {
        return k;
    }
    let k = read_or_make_key(data_dir);
    keys()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(data_dir.to_path_buf(), k.clone());
    k
}

fn read_or_make_key(data_dir: &Path) -> Vec<u8> {
    let path = data_dir.join(KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(k) = hex::decode(text.trim())
        && k.len() >= 16
    {
        return k;
    }
    let key = random_key();
    let _ = std::fs::create_dir_all(data_dir);
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    if let Ok(mut f) = open.open(&path) {
        use std::io::Write;
        let _ = f.write_all(hex::encode(&key).as_bytes());
    } else if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(k) = hex::decode(text.trim())
        && k.len() >= 16
    {
        // Another job created it meanwhile: use that one, so both bundles match.
        return k;
    }
    key
}

/// Parse a chip serial as the engine spells it (`0cf94c64`, `0x0CF94C64`).
fn parse_serial(s: &str) -> Option<u32> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if t.is_empty() || t.len() > 8 {
        return None;
    }
    u32::from_str_radix(t, 16).ok()
}

impl Redactor {
    /// A redactor with the data dir's key.
    pub fn new(data_dir: &Path) -> Self {
        Self::with_key(load_key(data_dir))
    }

    /// A redactor that touches no file (for a UI thread): the data dir's key when a job of this
    /// process already read it (every job that wrote a bundle did), else a key for this
    /// process only (its masks then differ from the bundles', but nothing leaks).
    pub fn without_io(data_dir: &Path) -> Self {
        static PROCESS: OnceLock<Vec<u8>> = OnceLock::new();
        let key = cached_key(data_dir).unwrap_or_else(|| PROCESS.get_or_init(random_key).clone());
        Self::with_key(key)
    }

    /// A redactor with this key (tests).
    pub(crate) fn with_key(key: Vec<u8>) -> Self {
        Self {
            key,
            serials: Vec::new(),
        }
    }

    /// Also mask this chip serial (hex, as in `ChipIdentity::serial`).
    pub fn add_serial(&mut self, serial: &str) {
        if let Some(n) = parse_serial(serial)
            && n != 0
            && !self.serials.contains(&n)
        {
            self.serials.push(n);
        }
    }

    /// Also mask the serials a programmer's start-up log names.
    pub fn add_serials_from_log<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>) {
        let lines: Vec<String> = lines.into_iter().map(str::to_owned).collect();
        if let Some(s) = crate::firehose::startup_serial(&lines) {
            self.add_serial(&s);
        }
    }

    /// The short keyed hash of a value (8 hex digits).
    fn hash(&self, kind: Kind, canonical: &str) -> String {
        let mut h = Sha256::new();
        h.update(&self.key);
        h.update(kind.name().as_bytes());
        h.update([0]);
        h.update(canonical.as_bytes());
        let d = h.finalize();
        hex::encode(d.get(..4).unwrap_or_default())
    }

    /// The mask of one identifier: `[IMEI 3fa2c1d9..4567]`.
    pub fn mask(&self, kind: Kind, value: &str) -> String {
        let canonical = match kind {
            Kind::Serial => parse_serial(value)
                .map_or_else(|| value.to_ascii_lowercase(), |n| format!("{n:08x}")),
            Kind::Imei | Kind::Iccid => value.to_ascii_uppercase(),
        };
        let tail: String = {
            let c: Vec<char> = canonical.chars().collect();
            c.get(c.len().saturating_sub(4)..)
                .unwrap_or_default()
                .iter()
                .collect()
        };
        format!("[{} {}..{tail}]", kind.name(), self.hash(kind, &canonical))
    }

    /// Every identifier in `text` replaced by its mask.
    pub fn text(&self, text: &str) -> String {
        let found = self.find(text.as_bytes());
        if found.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, kind, canonical) in found {
            out.push_str(text.get(at..start).unwrap_or_default());
            out.push_str(&self.mask(kind, &canonical));
            at = end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        out
    }

    /// Identifiers in recorded bytes (a board's answers) replaced in place, keeping the length
    /// (a replay reads the same number of bytes): the text forms by `X`s ending in the last
    /// four characters, a chip serial in a short binary packet (Sahara) by zeros. Bytes that
    /// are mostly not text (partition data read back) are left alone: a replay hashes them.
    pub fn bytes(&self, data: &mut [u8]) -> usize {
        let mut n = 0;
        let textual = data
            .iter()
            .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
            .count()
            * 10
            >= data.len() * 9;
        let spans = if textual { self.find(data) } else { Vec::new() };
        for (start, end, _, canonical) in spans {
            let keep: Vec<u8> = canonical.bytes().rev().take(4).collect();
            if let Some(span) = data.get_mut(start..end) {
                let len = span.len();
                for (i, b) in span.iter_mut().enumerate() {
                    let from_end = len - 1 - i;
                    *b = if from_end < keep.len().min(len.saturating_sub(1)) {
                        keep.get(from_end).copied().unwrap_or(b'X')
                    } else {
                        b'X'
                    };
                }
                n += 1;
            }
        }
        if data.len() <= 64 {
            for s in &self.serials {
                let le = s.to_le_bytes();
                let mut i = 0;
                while i + 4 <= data.len() {
                    if data.get(i..i + 4) == Some(&le[..]) {
                        if let Some(span) = data.get_mut(i..i + 4) {
                            span.fill(0);
                        }
                        n += 1;
                        i += 4;
                    } else {
                        i += 1;
                    }
                }
            }
        }
        n
    }

    /// Spans of identifiers in `b`: (start, end, kind, canonical value), in order, not
    /// overlapping.
    fn find(&self, b: &[u8]) -> Vec<(usize, usize, Kind, String)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match self.at(b, i) {
                Some((end, kind, canonical)) => {
                    out.push((i, end, kind, canonical));
                    i = end;
                }
                None => {
                    // Skip the rest of a run of word characters: matches start on a boundary.
                    let w = b.get(i).copied().unwrap_or(0);
                    i += 1;
                    if w.is_ascii_alphanumeric() && w != b'x' && w != b'X' {
                        while b
                            .get(i)
                            .is_some_and(|c| c.is_ascii_alphanumeric() && *c != b'x' && *c != b'X')
                        {
                            i += 1;
                        }
                    }
                }
            }
        }
        out
    }

    /// An identifier starting at `i` (on a boundary): (end, kind, canonical).
    fn at(&self, b: &[u8], i: usize) -> Option<(usize, Kind, String)> {
        let prev = i.checked_sub(1).and_then(|p| b.get(p)).copied();
        // Not in the middle of a number, a word or a decimal fraction.
        if prev.is_some_and(|c| c.is_ascii_alphanumeric() && c != b'x' && c != b'X')
            || prev == Some(b'.')
        {
            return None;
        }
        let hex_end = i + b
            .get(i..)?
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if hex_end == i {
            return None;
        }
        let next = b.get(hex_end).copied();
        let bounded = !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
        let run = std::str::from_utf8(b.get(i..hex_end)?).ok()?;
        let digits = run.bytes().all(|c| c.is_ascii_digit());
        // ICCID: 19-20 digits starting with 89, maybe an F pad.
        if run.starts_with("89") {
            let core = run.trim_end_matches(['F', 'f']);
            if bounded
                && (19..=20).contains(&core.len())
                && core.bytes().all(|c| c.is_ascii_digit())
                && run.len() - core.len() <= 1
            {
                return Some((hex_end, Kind::Iccid, core.to_owned()));
            }
        }
        if digits && bounded && run.len() == 15 && next != Some(b'.') {
            return Some((hex_end, Kind::Imei, run.to_owned()));
        }
        // `QUSB__BULK_CID:0416_SN:0CF94C64`: the USB name of a board in download mode.
        let sn = i >= 3
            && b.get(i - 3..i)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"SN:"));
        if bounded && sn && run.len() == 8 {
            return Some((hex_end, Kind::Serial, run.to_ascii_lowercase()));
        }
        if !bounded || self.serials.is_empty() {
            return None;
        }
        // Chip serial, hex (after 0x or alone) or decimal.
        let after_0x = prev == Some(b'x') || prev == Some(b'X');
        for s in &self.serials {
            let hex_ok = u32::from_str_radix(run, 16).ok() == Some(*s) && run.len() <= 8;
            let dec_ok = digits && run.parse::<u64>().ok() == Some(u64::from(*s));
            if (hex_ok && (after_0x || run.len() >= 6)) || dec_ok {
                return Some((hex_end, Kind::Serial, format!("{s:08x}")));
            }
        }
        None
    }
}

/// Mask the strings of a JSON value (numbers and keys stay as they are).
pub fn json(r: &Redactor, v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            let m = r.text(s);
            if m != *s {
                *s = m;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| json(r, x)),
        Value::Object(o) => o.values_mut().for_each(|x| json(r, x)),
        _ => {}
    }
}

/// One line of a JSON-lines member masked: its strings, or (a transcript's `rx` line) the
/// board's bytes in `hex`, length kept. A line that is no JSON is masked as text.
pub(crate) fn json_line(r: &Redactor, line: &str) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(line) else {
        return r.text(line);
    };
    if let serde_json::Value::Object(m) = &mut v
        && m.get("dir").and_then(serde_json::Value::as_str) == Some("rx")
    {
        if let Some(mut bytes) = m
            .get("hex")
            .and_then(serde_json::Value::as_str)
            .and_then(|h| hex::decode(h).ok())
            && r.bytes(&mut bytes) > 0
        {
            m.insert("hex".into(), serde_json::json!(hex::encode(&bytes)));
            return v.to_string();
        }
        return line.to_owned();
    }
    if let serde_json::Value::Object(m) = &mut v {
        // Host bytes carry no identifier (and the replay compares them): leave them.
        for (k, x) in m.iter_mut() {
            if k != "hex" {
                json(r, x);
            }
        }
    }
    let out = v.to_string();
    if serde_json::from_str::<serde_json::Value>(line).ok() == serde_json::from_str(&out).ok() {
        line.to_owned()
    } else {
        out
    }
}

/// A bundle member masked by its kind: `.json` by its strings, `.jsonl` line by line, text
/// otherwise.
pub fn member(r: &Redactor, name: &str, bytes: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        let mut b = bytes.to_vec();
        r.bytes(&mut b);
        return b;
    };
    if name.ends_with(".jsonl") {
        let mut out = String::with_capacity(text.len());
        for l in text.lines() {
            out.push_str(&json_line(r, l));
            out.push('\n');
        }
        return out.into_bytes();
    }
    if name.ends_with(".json")
        && let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text)
    {
        json(r, &mut v);
        return serde_json::to_vec_pretty(&v).unwrap_or_else(|_| bytes.to_vec());
    }
    r.text(text).into_bytes()
}

/// A writer masking a JSON-lines stream (the transcript) line by line on its way to `inner`.
pub(crate) struct LineWriter<'a, W: std::io::Write> {
    inner: W,
    r: &'a Redactor,
    line: Vec<u8>,
}

impl<W: std::io::Write> std::fmt::Debug for LineWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineWriter").finish_non_exhaustive()
    }
}

impl<'a, W: std::io::Write> LineWriter<'a, W> {
    /// Mask what is written with `r`, then pass it to `inner`.
    pub fn new(inner: W, r: &'a Redactor) -> Self {
        Self {
            inner,
            r,
            line: Vec::new(),
        }
    }

    fn emit(&mut self) -> std::io::Result<()> {
        let raw = std::mem::take(&mut self.line);
        let text = String::from_utf8_lossy(&raw);
        let body = text.trim_end_matches(['\n', '\r']);
        let masked = json_line(self.r, body);
        self.inner.write_all(masked.as_bytes())?;
        if text.ends_with('\n') {
            self.inner.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl<W: std::io::Write> std::io::Write for LineWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            self.line.push(b);
            if b == b'\n' {
                self.emit()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            self.emit()?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Redactor {
        let mut r = Redactor::with_key(b"test key of sixteen+".to_vec());
        r.add_serial("0cf94c64");
        r
    }

    #[test]
    fn imei_iccid_and_serial_spellings_are_masked_stably() {
        let r = r();
        let t = "runs X (IMEI 867698041234562); ICCID 89860318760251234567F; \
                 INFO: Chip serial num: 217664612 (0xcf94c64); serial `0cf94c64`";
        let out = r.text(t);
        for secret in [
            "867698041234562",
            "89860318760251234567",
            "217664612",
            "cf94c64",
        ] {
            assert!(!out.contains(secret), "{secret} left in {out}");
        }
        assert!(out.contains("..4562]") && out.contains("[IMEI "), "{out}");
        assert!(out.contains("[ICCID ") && out.contains("..4567]"), "{out}");
        assert_eq!(out.matches("[serial ").count(), 3, "{out}");
        // Stable: the same value gets the same mask; another key another one.
        assert_eq!(r.text(t), out);
        let other = Redactor::with_key(b"another key, sixteen".to_vec());
        assert_ne!(
            other.mask(Kind::Imei, "867698041234562"),
            r.mask(Kind::Imei, "867698041234562")
        );
    }

    #[test]
    fn the_key_is_made_once_and_kept_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let k = load_key(&dir);
        assert_eq!(k.len(), 32);
        assert_eq!(load_key(&dir), k);
        assert_ne!(load_key(&tmp.path().join("other")), k);
        // Remembered: no file access the second time, and a UI thread gets the same masks.
        assert_eq!(cached_key(&dir), Some(k.clone()));
        let r = Redactor::without_io(&dir);
        assert_eq!(
            r.mask(Kind::Imei, "867698041234562"),
            Redactor::with_key(k).mask(Kind::Imei, "867698041234562")
        );
        let unknown = tmp.path().join("never-read");
        let _ = Redactor::without_io(&unknown);
        assert!(!unknown.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }

    #[test]
    fn numbers_that_are_no_identifiers_stay() {
        let r = r();
        for t in [
            r#"{"t":0.123456789012345,"bytes":1234567890123456}"#,
            "sha256 9a3f0cf94c64aa00 and 12345678901234",
            "hw id 000480e100000000",
        ] {
            assert_eq!(r.text(t), t);
        }
    }

    #[test]
    fn bytes_keep_their_length() {
        let r = r();
        let mut b = b"<log value=\"INFO: Chip serial num: 217664612 (0xcf94c64)\"/>".to_vec();
        let len = b.len();
        assert_eq!(r.bytes(&mut b), 2);
        assert_eq!(b.len(), len);
        let s = String::from_utf8(b).unwrap();
        assert!(!s.contains("217664612") && !s.contains("cf94c64"), "{s}");
        let mut sahara = 0x0cf9_4c64u32.to_le_bytes().to_vec();
        assert_eq!(r.bytes(&mut sahara), 1);
        assert_eq!(sahara, vec![0, 0, 0, 0]);
        // Partition data read back (not text) is left as it is, even with a digit run in it.
        let mut image = vec![0u8; 4096];
        image[100..115].copy_from_slice(b"867698041234562");
        let copy = image.clone();
        assert_eq!(r.bytes(&mut image), 0);
        assert_eq!(image, copy);
    }
}
