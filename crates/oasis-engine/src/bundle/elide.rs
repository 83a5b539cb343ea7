//! Keeping bundles small: a long session's transcript is mostly the package's own bytes
//! (programmer and partition images, which the supporter has). Above a size, host writes of
//! raw data are stored as zeros of the same length with their SHA-256, so the zip stays small
//! and the replay (then lenient about host bytes) still gets every answer of the board.

use std::io::{BufRead, Write};

use sha2::{Digest, Sha256};

/// Transcripts larger than this have their raw host writes elided.
pub const ELIDE_ABOVE: u64 = 8 * 1024 * 1024;
/// Host writes of at least this many bytes count as raw data (commands are far shorter).
pub const RAW_MIN: usize = 4096;

/// Copy a transcript (JSON lines), eliding raw host writes when `elide`. Returns how many
/// records were elided.
pub fn copy_transcript(
    src: &mut dyn BufRead,
    dst: &mut dyn Write,
    elide: bool,
) -> std::io::Result<u64> {
    let mut elided = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if src.read_line(&mut line)? == 0 {
            return Ok(elided);
        }
        let body = line.trim_end();
        match elide.then(|| elided_line(body)).flatten() {
            Some(short) => {
                elided += 1;
                writeln!(dst, "{short}")?;
            }
            None => writeln!(dst, "{body}")?,
        }
    }
}

fn elided_line(body: &str) -> Option<String> {
    if !body.contains("\"tx\"") {
        return None;
    }
    let mut v: serde_json::Value = serde_json::from_str(body).ok()?;
    let map = v.as_object_mut()?;
    if map.get("dir")?.as_str()? != "tx" {
        return None;
    }
    let bytes = hex::decode(map.get("hex")?.as_str()?).ok()?;
    if bytes.len() < RAW_MIN {
        return None;
    }
    map.insert(
        "elided_sha256".into(),
        serde_json::json!(hex::encode(Sha256::digest(&bytes))),
    );
    map.insert("hex".into(), serde_json::json!("00".repeat(bytes.len())));
    Some(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oasis_transport::transcript::{Event, Transcript};

    #[test]
    fn raw_writes_become_zeros_with_their_hash_and_the_rest_stays() {
        let big = hex::encode(vec![0xA5u8; RAW_MIN]);
        let text = format!(
            "{{\"t\":0.0,\"dir\":\"open\",\"link\":\"x\",\"link_kind\":\"Stream\"}}\n\
             {{\"t\":0.1,\"dir\":\"tx\",\"hex\":\"3c3f786d6c\"}}\n\
             {{\"t\":0.2,\"dir\":\"tx\",\"hex\":\"{big}\"}}\n\
             {{\"t\":0.3,\"dir\":\"rx\",\"hex\":\"{big}\"}}\n"
        );
        let mut out = Vec::new();
        let n = copy_transcript(&mut text.as_bytes(), &mut out, true).unwrap();
        assert_eq!(n, 1);
        let t = Transcript::from_reader(&out[..], std::path::Path::new("t")).unwrap();
        assert_eq!(t.records.len(), 3);
        assert_eq!(t.records[0].event, Event::Tx(b"<?xml".to_vec()));
        assert_eq!(t.records[1].event, Event::Tx(vec![0; RAW_MIN]));
        assert_eq!(
            t.records[2].event,
            Event::Rx(vec![0xA5; RAW_MIN]),
            "board bytes are kept"
        );
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains(&hex::encode(Sha256::digest(vec![0xA5u8; RAW_MIN]))));
        let mut same = Vec::new();
        assert_eq!(
            copy_transcript(&mut text.as_bytes(), &mut same, false).unwrap(),
            0
        );
        assert_eq!(String::from_utf8(same).unwrap(), text);
    }
}
