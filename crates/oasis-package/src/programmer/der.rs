//! Minimal DER reader: walks a certificate chain by lengths and reads each certificate's subject and issuer.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::ProgrammerError;

/// At most this many certificates in one chain (real chains hold 2 or 3).
const MAX_CERTS: usize = 16;

/// One certificate of the chain, as found in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// File offset of the certificate's first byte (the 0x30).
    pub offset: u64,
    /// Length of the whole DER encoding (header included).
    pub der_len: u64,
    /// Subject common names, in order.
    pub subject_cn: Vec<String>,
    /// Subject organisational units, in order (identity fields live here).
    pub subject_ou: Vec<String>,
    /// The subject as `CN=…, OU=…, O=…` (attributes in encoded order).
    pub subject: String,
    /// The issuer, same form.
    pub issuer: String,
    /// Subject and issuer are byte-identical.
    pub self_signed: bool,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
}

/// A DER element: tag, where its content starts (relative to the buffer), and its content.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    /// Header length + content length.
    total: usize,
    content: &'a [u8],
    /// Offset of the content within the buffer the element was read from.
    content_at: usize,
}

/// A DER problem: offset relative to the buffer read, and what was wrong.
type DerFault = (usize, String);

/// Read the element at `pos` of `buf`, checking that it fits.
fn read_tlv(buf: &[u8], pos: usize) -> Result<Tlv<'_>, DerFault> {
    let tag = *buf
        .get(pos)
        .ok_or((pos, "element starts past the end".to_owned()))?;
    if tag & 0x1F == 0x1F {
        return Err((
            pos,
            format!("high-tag-number form (tag {tag:#04x}) is not used in certificates"),
        ));
    }
    let first = *buf
        .get(pos + 1)
        .ok_or((pos, "missing length byte".to_owned()))?;
    let (len, len_bytes) = match first {
        0..=0x7F => (usize::from(first), 1),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7F);
            let bytes = buf
                .get(pos + 2..pos + 2 + n)
                .ok_or((pos, format!("length needs {n} more bytes past the end")))?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 1 + n)
        }
        0x80 => return Err((pos, "indefinite length (0x80) is not DER".to_owned())),
        _ => return Err((pos, format!("length form {first:#04x} is too long"))),
    };
    let content_at = pos + 1 + len_bytes;
    let end = content_at
        .checked_add(len)
        .filter(|e| *e <= buf.len())
        .ok_or((
            pos,
            format!(
                "length {len} runs past the end ({} bytes left)",
                buf.len() - content_at.min(buf.len())
            ),
        ))?;
    Ok(Tlv {
        tag,
        total: end - pos,
        content: &buf[content_at..end],
        content_at,
    })
}

/// Read the element at `pos` and require `tag`.
fn expect<'a>(buf: &'a [u8], pos: usize, tag: u8, what: &str) -> Result<Tlv<'a>, DerFault> {
    let t = read_tlv(buf, pos)?;
    if t.tag != tag {
        return Err((
            pos,
            format!("expected {what} (tag {tag:#04x}), saw tag {:#04x}", t.tag),
        ));
    }
    Ok(t)
}

/// Walk the chain at file region (`chain_off`, `chain.len()`): certificates back to back, then padding.
///
/// Stops at the first padding byte (0xFF or 0x00). A length that runs past the chain, a certificate
/// that does not parse, or any other byte where a certificate should start is an error.
pub(super) fn walk_chain(
    chain: &[u8],
    chain_off: u64,
) -> Result<Vec<(CertificateInfo, &[u8])>, ProgrammerError> {
    let fault = |(at, what): DerFault| ProgrammerError::CorruptDer {
        file: None,
        offset: chain_off + at as u64,
        what,
    };
    let mut certs = Vec::new();
    let mut pos = 0usize;
    while let Some(&b) = chain.get(pos) {
        if b == 0xFF || b == 0x00 {
            break;
        }
        if b != 0x30 {
            return Err(fault((
                pos,
                format!("expected a certificate SEQUENCE (0x30) or padding, saw {b:#04x}"),
            )));
        }
        if certs.len() == MAX_CERTS {
            return Err(fault((
                pos,
                format!("more than {MAX_CERTS} certificates in one chain"),
            )));
        }
        let outer = read_tlv(chain, pos).map_err(fault)?;
        let der = &chain[pos..pos + outer.total];
        let info = parse_certificate(der, chain_off + pos as u64)
            .map_err(|(at, what)| fault((pos + at, what)))?;
        certs.push((info, der));
        pos += outer.total;
    }
    if certs.is_empty() && !chain.is_empty() {
        let first = chain.first().copied().unwrap_or(0);
        return Err(fault((
            0,
            format!(
                "a {}-byte certificate chain holds no certificate (first byte {first:#04x})",
                chain.len()
            ),
        )));
    }
    Ok(certs)
}

/// Parse one certificate (`der` = its whole encoding) far enough to read subject and issuer.
fn parse_certificate(der: &[u8], offset: u64) -> Result<CertificateInfo, DerFault> {
    let cert = expect(der, 0, 0x30, "Certificate SEQUENCE")?;
    let tbs = expect(der, cert.content_at, 0x30, "TBSCertificate SEQUENCE")?;
    let body = tbs.content;
    let at = tbs.content_at;
    let fix = |(p, w): DerFault| (at + p, w);
    let mut pos = 0;
    let first = read_tlv(body, pos).map_err(fix)?;
    if first.tag == 0xA0 {
        pos += first.total; // [0] version
    }
    pos += expect(body, pos, 0x02, "serialNumber INTEGER")
        .map_err(fix)?
        .total;
    pos += expect(body, pos, 0x30, "signature AlgorithmIdentifier")
        .map_err(fix)?
        .total;
    let issuer = expect(body, pos, 0x30, "issuer Name").map_err(fix)?;
    pos += issuer.total;
    pos += expect(body, pos, 0x30, "validity SEQUENCE")
        .map_err(fix)?
        .total;
    let subject = expect(body, pos, 0x30, "subject Name").map_err(fix)?;
    let subject_attrs =
        read_name(subject.content).map_err(|(p, w)| (at + subject.content_at + p, w))?;
    let issuer_attrs =
        read_name(issuer.content).map_err(|(p, w)| (at + issuer.content_at + p, w))?;
    let pick = |key: &str| -> Vec<String> {
        subject_attrs
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .collect()
    };
    Ok(CertificateInfo {
        offset,
        der_len: der.len() as u64,
        subject_cn: pick("CN"),
        subject_ou: pick("OU"),
        subject: render(&subject_attrs),
        issuer: render(&issuer_attrs),
        self_signed: subject.content == issuer.content,
        sha256: hex::encode(Sha256::digest(der)),
    })
}

fn render(attrs: &[(String, String)]) -> String {
    attrs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Name ::= SEQUENCE OF SET OF SEQUENCE { OID, value }; returns (short name, text) pairs.
fn read_name(name: &[u8]) -> Result<Vec<(String, String)>, DerFault> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < name.len() {
        let set = expect(name, pos, 0x31, "RelativeDistinguishedName SET")?;
        let mut inner = 0;
        while inner < set.content.len() {
            let fix = |(p, w): DerFault| (set.content_at + p, w);
            let atv =
                expect(set.content, inner, 0x30, "AttributeTypeAndValue SEQUENCE").map_err(fix)?;
            let fix2 = |(p, w): DerFault| (set.content_at + atv.content_at + p, w);
            let oid = expect(atv.content, 0, 0x06, "attribute OID").map_err(fix2)?;
            let value = read_tlv(atv.content, oid.total).map_err(fix2)?;
            out.push((
                oid_name(oid.content),
                decode_string(value.tag, value.content),
            ));
            inner += atv.total;
        }
        pos += set.total;
    }
    Ok(out)
}

/// Short names for the attribute types seen in programmer certificates; others as dotted OIDs.
fn oid_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".to_owned(),
        [0x55, 0x04, 0x06] => "C".to_owned(),
        [0x55, 0x04, 0x07] => "L".to_owned(),
        [0x55, 0x04, 0x08] => "ST".to_owned(),
        [0x55, 0x04, 0x0A] => "O".to_owned(),
        [0x55, 0x04, 0x0B] => "OU".to_owned(),
        [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x01] => "emailAddress".to_owned(),
        other => dotted(other),
    }
}

fn dotted(oid: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for b in oid {
        acc = (acc << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = (acc / 40).min(2);
                parts.push(first);
                parts.push(acc - first * 40);
            } else {
                parts.push(acc);
            }
            acc = 0;
        }
        if parts.len() > 32 {
            break;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// Text of a DirectoryString; BMPString as UTF-16BE, anything else as (lossy) UTF-8.
fn decode_string(tag: u8, content: &[u8]) -> String {
    if tag == 0x1E {
        let units: Vec<u16> = content
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    String::from_utf8_lossy(content).into_owned()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// DER element with a minimal-form length.
    pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = content.len();
        if n < 0x80 {
            v.push(n as u8);
        } else if n < 0x100 {
            v.extend([0x81, n as u8]);
        } else {
            v.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(content);
        v
    }

    fn name(attrs: &[(&[u8], &str)]) -> Vec<u8> {
        let mut sets = Vec::new();
        for (oid, val) in attrs {
            let atv = [tlv(0x06, oid), tlv(0x0C, val.as_bytes())].concat();
            sets.extend(tlv(0x31, &tlv(0x30, &atv)));
        }
        tlv(0x30, &sets)
    }

    /// A structurally valid certificate with the given subject and issuer attributes.
    pub(crate) fn cert(subject: &[(&[u8], &str)], issuer: &[(&[u8], &str)]) -> Vec<u8> {
        let tbs = [
            tlv(0xA0, &tlv(0x02, &[2])),
            tlv(0x02, &[1]),
            tlv(0x30, &tlv(0x06, &[0x2A, 0x86, 0x48])),
            name(issuer),
            tlv(0x30, &[]),
            name(subject),
            tlv(0x30, &[]),
        ]
        .concat();
        let body = [tlv(0x30, &tbs), tlv(0x30, &[]), tlv(0x03, &[0])].concat();
        tlv(0x30, &body)
    }

    pub(crate) const CN: &[u8] = &[0x55, 0x04, 0x03];
    pub(crate) const OU: &[u8] = &[0x55, 0x04, 0x0B];

    #[test]
    fn chain_walk_reads_subjects_and_stops_at_padding() {
        let a = cert(
            &[(CN, "Att"), (OU, "02 0000000000000000 HW_ID")],
            &[(CN, "Root")],
        );
        let r = cert(&[(CN, "Root"), (OU, "Test")], &[(CN, "Root"), (OU, "Test")]);
        let mut chain = [a.clone(), r.clone()].concat();
        chain.resize(chain.len() + 40, 0xFF);
        let certs = walk_chain(&chain, 0x1000).map_err(|e| e.to_string());
        let Ok(certs) = certs else {
            panic!("{certs:?}")
        };
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].0.offset, 0x1000);
        assert_eq!(certs[1].0.offset, 0x1000 + a.len() as u64);
        assert_eq!(
            certs[0].0.subject_ou,
            vec!["02 0000000000000000 HW_ID".to_owned()]
        );
        assert_eq!(certs[1].0.subject, "CN=Root, OU=Test");
        assert!(!certs[0].0.self_signed);
        assert!(certs[1].0.self_signed);
        assert_eq!(certs[1].1, &r[..]);
    }

    #[test]
    fn length_past_the_chain_is_corrupt_der_with_offset() {
        let a = cert(&[(CN, "Att")], &[(CN, "Root")]);
        let cut = &a[..a.len() - 5];
        let e = walk_chain(cut, 0x200)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("corrupt certificate DER at offset 0x200"), "{e}");
        assert!(e.contains("runs past the end"), "{e}");
        let e = walk_chain(&[0x30, 0x80, 0, 0], 0)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("indefinite length"), "{e}");
        let e = walk_chain(&[0x30, 0x89, 1, 2, 3], 0)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("too long"), "{e}");
        let e = walk_chain(&[0x42, 0, 0], 0x10)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("saw 0x42"), "{e}");
        let e = walk_chain(&[0xFF; 8], 0x10)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("holds no certificate"), "{e}");
    }

    #[test]
    fn long_form_lengths_and_other_strings() {
        // 0x84 four-byte length form for a short element is still accepted.
        let t = read_tlv(&[0x04, 0x84, 0, 0, 0, 2, 9, 9], 0).map(|t| (t.total, t.content.to_vec()));
        assert_eq!(t.ok(), Some((8, vec![9, 9])));
        assert_eq!(decode_string(0x1E, &[0, b'H', 0, b'i']), "Hi");
        assert_eq!(
            dotted(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D]),
            "1.2.840.113549"
        );
    }
}
