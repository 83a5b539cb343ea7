//! Facts read out of a programmer's `<log>` lines: supported functions (both formats), chip
//! serial, SHA-256 digests and the getstorageinfo JSON (docs/protocol.md §2, §2, §2).

use serde_json::Value;

use super::error::FirehoseError;

/// A log line without its level prefix (`INFO: `, `ERROR: `, `WARN: `, `DEBUG: `), trimmed.
pub fn strip_level(line: &str) -> &str {
    let t = line.trim();
    for p in ["INFO:", "ERROR:", "WARN:", "WARNING:", "DEBUG:", "LOG:"] {
        if let Some(head) = t.get(..p.len())
            && head.eq_ignore_ascii_case(p)
        {
            return t.get(p.len()..).unwrap_or_default().trim();
        }
    }
    t
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Split a one-line function list (`program configure nop`, `configure,program,...`).
pub fn split_function_list(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| is_word(w))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Functions a programmer announces at start-up or after `<nop>`, lower-case, in order.
///
/// Both formats: `Supported Functions (n):` then one log per function up to
/// `End of supported functions n`; or one line `Supported Functions: program configure …`
/// (spaces or commas). `None` when no list was announced. Lines inside a per-line list that
/// are not a single word (interleaved messages) are skipped.
pub fn supported_functions<S: AsRef<str>>(logs: &[S]) -> Option<Vec<String>> {
    let mut out: Option<Vec<String>> = None;
    let mut listing = false;
    for line in logs {
        let l = strip_level(line.as_ref());
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("end of supported functions") {
            listing = false;
        } else if let Some(rest) = lower.strip_prefix("supported functions") {
            let list = out.get_or_insert_with(Vec::new);
            list.clear();
            let rest = rest.trim_start();
            let rest = match rest.strip_prefix('(') {
                Some(r) => r.split_once(')').map_or("", |(_, t)| t),
                None => rest,
            };
            let inline = split_function_list(rest.trim_start_matches([':', ' ']));
            listing = inline.is_empty();
            list.extend(inline);
        } else if listing && is_word(&lower) {
            out.get_or_insert_with(Vec::new).push(lower);
        }
    }
    out
}

/// `Chip serial num: N (0xN)` → N.
pub fn chip_serial<S: AsRef<str>>(logs: &[S]) -> Option<u32> {
    logs.iter().find_map(|line| {
        let l = strip_level(line.as_ref());
        let at = l.to_ascii_lowercase().find("chip serial num:")?;
        let rest = l.get(at + "chip serial num:".len()..)?.trim();
        let dec: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = dec.parse() {
            return Some(n);
        }
        let hex = rest.split_once("0x")?.1;
        let hex: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
        u32::from_str_radix(&hex, 16).ok()
    })
}

fn hex_runs(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() == 64)
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The SHA-256 a `<getsha256digest>` logged: a `Digest <64 hex>` line when present, else the
/// last run of exactly 64 hex digits in any log.
pub fn sha256_digest<S: AsRef<str>>(logs: &[S]) -> Option<[u8; 32]> {
    let tagged = logs.iter().find_map(|l| {
        let t = strip_level(l.as_ref());
        let at = t.to_ascii_lowercase().find("digest")?;
        hex_runs(t.get(at..)?).next().and_then(decode_hex32)
    });
    tagged.or_else(|| {
        logs.iter()
            .rev()
            .find_map(|l| hex_runs(l.as_ref()).last().and_then(decode_hex32))
    })
}

/// What `<getstorageinfo>` reports in its `{"storage_info": {…}}` log. Fields the
/// programmer left out stay `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageInfo {
    /// `total_blocks`.
    pub total_blocks: Option<u64>,
    /// `block_size` (in pages/sectors for NAND, bytes otherwise, as the programmer says).
    pub block_size: Option<u64>,
    /// `page_size` (sector size in bytes).
    pub page_size: Option<u64>,
    /// `num_physical` (physical partitions / LUNs).
    pub num_physical: Option<u64>,
    /// `manufacturer_id`.
    pub manufacturer_id: Option<u64>,
    /// `serial_num`.
    pub serial_num: Option<u64>,
    /// `fw_version`.
    pub fw_version: Option<String>,
    /// `mem_type` (e.g. NAND, eMMC, UFS).
    pub mem_type: Option<String>,
    /// `prod_name`.
    pub prod_name: Option<String>,
}

fn num_field(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => super::xml::parse_number(s),
        _ => None,
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Find and read the storage-info JSON in the logs. `Ok(None)` when no log carries it;
/// an error naming the text when it is there but unreadable. Quotes escaped as `&quot;`
/// (once or twice) are accepted.
pub fn storage_info<S: AsRef<str>>(logs: &[S]) -> Result<Option<StorageInfo>, FirehoseError> {
    let Some(text) = logs
        .iter()
        .map(|l| l.as_ref())
        .find(|l| l.contains("storage_info"))
    else {
        return Ok(None);
    };
    let text = text.replace("&amp;quot;", "\"").replace("&quot;", "\"");
    let bad = |reason: String| FirehoseError::StorageInfo {
        reason,
        excerpt: text.chars().take(120).collect(),
    };
    let start = text.find('{').ok_or_else(|| bad("no `{`".into()))?;
    let end = text
        .rfind('}')
        .filter(|&e| e > start)
        .ok_or_else(|| bad("no closing `}`".into()))?;
    let json = text
        .get(start..=end)
        .ok_or_else(|| bad("bad JSON bounds".into()))?;
    let v: Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    let si = v
        .get("storage_info")
        .ok_or_else(|| bad("no `storage_info` object".into()))?;
    Ok(Some(StorageInfo {
        total_blocks: num_field(si, "total_blocks"),
        block_size: num_field(si, "block_size"),
        page_size: num_field(si, "page_size"),
        num_physical: num_field(si, "num_physical"),
        manufacturer_id: num_field(si, "manufacturer_id"),
        serial_num: num_field(si, "serial_num"),
        fw_version: str_field(si, "fw_version"),
        mem_type: str_field(si, "mem_type"),
        prod_name: str_field(si, "prod_name"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_functions_formats() {
        let per_line = [
            "INFO: Binary build date: Jun 1 2020",
            "INFO: Supported Functions (3):",
            "INFO: program",
            "INFO: Calling something else",
            "INFO: Nop",
            "INFO: End of supported functions 3",
            "INFO: later",
        ];
        assert_eq!(supported_functions(&per_line).unwrap(), ["program", "nop"]);
        let one = ["Supported Functions: program read nop getsha256digest "];
        assert_eq!(
            supported_functions(&one).unwrap(),
            ["program", "read", "nop", "getsha256digest"]
        );
        let commas = ["INFO: Supported Functions: configure,program, erase"];
        assert_eq!(
            supported_functions(&commas).unwrap(),
            ["configure", "program", "erase"]
        );
        assert_eq!(supported_functions(&["hello"]), None);
    }

    #[test]
    fn serial_and_digest() {
        assert_eq!(
            chip_serial(&["INFO: Chip serial num: 3446789217 (0xcd71cd61)"]),
            Some(3_446_789_217)
        );
        assert_eq!(chip_serial(&["Chip serial num: x (0x1f)"]), Some(0x1f));
        assert_eq!(chip_serial(&["nothing"]), None);
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d = sha256_digest(&[format!("INFO: Digest {hex}")]).unwrap();
        assert_eq!(d[0], 0xe3);
        assert_eq!(d[31], 0x55);
        let d2 = sha256_digest(&[
            "other".to_string(),
            format!("INFO: sha256 of range: {hex}."),
        ])
        .unwrap();
        assert_eq!(d, d2);
        assert_eq!(sha256_digest(&[format!("{hex}00")]), None);
    }

    #[test]
    fn storage_info_json() {
        let log = r#"INFO: {&quot;storage_info&quot;: {&quot;total_blocks&quot;:2048, &quot;block_size&quot;:64, &quot;page_size&quot;:4096, &quot;num_physical&quot;:1, &quot;manufacturer_id&quot;:152, &quot;serial_num&quot;:0, &quot;fw_version&quot;:&quot;0&quot;, &quot;mem_type&quot;:&quot;NAND&quot;, &quot;prod_name&quot;:&quot;KSLCMBL2VA2M2A&quot;}}"#;
        let si = storage_info(&[log]).unwrap().unwrap();
        assert_eq!(si.total_blocks, Some(2048));
        assert_eq!(si.page_size, Some(4096));
        assert_eq!(si.mem_type.as_deref(), Some("NAND"));
        assert_eq!(si.prod_name.as_deref(), Some("KSLCMBL2VA2M2A"));
        assert_eq!(storage_info(&["nothing"]).unwrap(), None);
        assert!(matches!(
            storage_info(&["{\"storage_info\": {\"total_blocks\": }"]),
            Err(FirehoseError::StorageInfo { .. })
        ));
    }
}
