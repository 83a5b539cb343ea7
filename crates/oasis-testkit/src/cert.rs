//! X.509 certificates shaped like those of signed Firehose programmers: a root CA, optionally an
//! intermediate CA, and an attestation certificate whose subject OUs carry the identity fields
//! (`01 … SW_ID`, `02 <16 hex> HW_ID`, `04 xxxx OEM_ID`, `06 xxxx MODEL_ID`, `07 0001 SHA256`).
//!
//! The signatures are filler bytes: the parser never verifies them (see docs/protocol.md).

use crate::der;

/// Attribute types used in subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    /// commonName (2.5.4.3).
    Cn,
    /// organizationalUnitName (2.5.4.11).
    Ou,
    /// organizationName (2.5.4.10).
    O,
    /// countryName (2.5.4.6).
    C,
}

impl Attr {
    fn oid(self) -> &'static [u8] {
        match self {
            Attr::Cn => &[0x55, 0x04, 0x03],
            Attr::Ou => &[0x55, 0x04, 0x0B],
            Attr::O => &[0x55, 0x04, 0x0A],
            Attr::C => &[0x55, 0x04, 0x06],
        }
    }
}

/// A distinguished name: attributes in encoded order, one per RDN.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Name(pub Vec<(Attr, String)>);

impl Name {
    /// `CN=<cn>, O=<o>`.
    pub fn cn_o(cn: &str, o: &str) -> Self {
        Self(vec![(Attr::Cn, cn.to_owned()), (Attr::O, o.to_owned())])
    }

    /// DER encoding.
    pub fn der(&self) -> Vec<u8> {
        let rdns: Vec<Vec<u8>> = self
            .0
            .iter()
            .map(|(a, v)| {
                let value = if *a == Attr::C {
                    der::printable(v)
                } else {
                    der::utf8(v)
                };
                der::set(&[der::seq(&[der::oid(a.oid()), value])])
            })
            .collect();
        der::seq(&rdns)
    }
}

/// One certificate to encode.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// Serial number.
    pub serial: u64,
    /// Subject.
    pub subject: Name,
    /// Issuer (equal to the subject for a self-signed root).
    pub issuer: Name,
    /// Public-key bytes (filler; their length sets the certificate size).
    pub key_len: usize,
    /// A seed that makes the key and signature bytes of this certificate unique.
    pub seed: String,
}

/// sha256WithRSAEncryption.
const SHA256_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
/// rsaEncryption.
const RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];

impl CertSpec {
    /// DER encoding of the whole certificate.
    pub fn der(&self) -> Vec<u8> {
        let alg = der::seq(&[der::oid(SHA256_RSA), der::null()]);
        let key = crate::pseudo_random(&format!("key:{}", self.seed), self.key_len);
        let spki = der::seq(&[
            der::seq(&[der::oid(RSA), der::null()]),
            der::bit_string(&key),
        ]);
        let tbs = der::seq(&[
            der::tlv(0xA0, &der::integer(2)),
            der::integer(self.serial),
            alg.clone(),
            self.issuer.der(),
            der::seq(&[
                der::utc_time("200101000000Z"),
                der::utc_time("401231235959Z"),
            ]),
            self.subject.der(),
            spki,
        ]);
        let sig = crate::pseudo_random(&format!("sig:{}", self.seed), 256);
        der::seq(&[tbs, alg, der::bit_string(&sig)])
    }
}
