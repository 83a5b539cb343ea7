//! Test-signed Firehose programmers, generated: an ELF (32 or 64 bit) whose hash segment holds an
//! MBN header of the chosen version (3, 5, 6 with OEM metadata, 7 with common metadata), a hash
//! table, a filler signature and a certificate chain (attestation, optional CA, root); or the old
//! raw image with the 80-byte header. The test chooses the root and the identity fields, and
//! reads the expected PK hash from [`Programmer::pk_sha256`] / [`Programmer::pk_sha384`].
//!
//! Layouts follow what the parser in `oasis-package/src/programmer/` reads; the format is
//! described in docs/protocol.md.

use sha2::{Digest, Sha256, Sha384};

use crate::cert::{Attr, CertSpec, Name};

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// 32-bit little-endian ELF.
    Elf32,
    /// 64-bit little-endian ELF.
    Elf64,
    /// The old raw image with the 80-byte header (0x844BDCD1).
    Raw,
}

/// MBN v6 OEM metadata (layout 0.0, 120 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OemMetadata {
    /// Software id (3 = Firehose programmer).
    pub sw_id: u32,
    /// JTAG MSM id (0 = any).
    pub hw_id: u32,
    /// OEM id.
    pub oem_id: u32,
    /// Model id.
    pub model_id: u32,
    /// Flags (bit 1: bound to SoC hardware versions; bits 8-9 debug).
    pub flags: u32,
    /// SoC hardware versions (at most 12).
    pub soc_vers: Vec<u32>,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct ProgrammerSpec {
    /// File format.
    pub container: Container,
    /// MBN header version in the hash segment (3, 5, 6 or 7); ignored for [`Container::Raw`].
    pub mbn_version: u32,
    /// Word 0 of the header: the image id (13 = Firehose, 7 = NPRG, 11 = ENPRG).
    pub image_id: u32,
    /// `p_flags` of the hash segment's program header.
    pub hash_flags: u32,
    /// Sign (certificate chain present) or leave unsigned (sig and chain sizes 0).
    pub signed: bool,
    /// Common name of the self-signed root.
    pub root_cn: String,
    /// Put an intermediate CA between attestation certificate and root.
    pub intermediate: bool,
    /// Subject OUs of the attestation certificate, in order (see [`ou_fields`]).
    pub attestation_ou: Vec<String>,
    /// v6 OEM metadata (only written for version 6).
    pub oem_metadata: Option<OemMetadata>,
    /// Code bytes (the loadable segment); the Firehose marker and version string are added.
    pub code_len: usize,
    /// Include the string a Firehose programmer carries (`MaxPayloadSizeToTargetInBytes`).
    pub firehose_strings: bool,
    /// A `QC_IMAGE_VERSION_STRING=` value to embed.
    pub version_string: Option<String>,
    /// Seed for the filler bytes (different seeds give different files).
    pub seed: String,
}

/// The attestation OU fields: `01 <sw> SW_ID`, `02 <hw> HW_ID`, `04 <oem> OEM_ID`,
/// `06 <model> MODEL_ID`, `07 0001 SHA256` (or `07 0002 SHA384` when `sha384`).
pub fn ou_fields(hw_id: u64, oem_id: u16, model_id: u16, sha384: bool) -> Vec<String> {
    vec![
        "01 0000000000000003 SW_ID".to_owned(),
        format!("02 {hw_id:016X} HW_ID"),
        "03 0000000000000000 DEBUG".to_owned(),
        format!("04 {oem_id:04X} OEM_ID"),
        "05 0000000000000000 SW_SIZE".to_owned(),
        format!("06 {model_id:04X} MODEL_ID"),
        if sha384 {
            "07 0002 SHA384".to_owned()
        } else {
            "07 0001 SHA256".to_owned()
        },
    ]
}

/// The common name of the kit's test root.
pub const TEST_ROOT_CN: &str = "Oasis Testkit Root CA";

impl ProgrammerSpec {
    /// ELF32, MBN v3, test-signed, HW-agnostic (`HW_ID 0000000000000000`), image id 13: the
    /// shape of the modem programmers (MDM9x07 class).
    pub fn generic() -> Self {
        Self {
            container: Container::Elf32,
            mbn_version: 3,
            image_id: 13,
            hash_flags: 0x0220_0000,
            signed: true,
            root_cn: TEST_ROOT_CN.to_owned(),
            intermediate: true,
            attestation_ou: ou_fields(0, 0, 0, false),
            oem_metadata: None,
            code_len: 0xC000,
            firehose_strings: true,
            version_string: Some("OASIS.TESTKIT.FH.1.0-00001".to_owned()),
            seed: "generic".to_owned(),
        }
    }

    /// Signed for one chip and OEM (OU fields), ELF32 v3.
    pub fn for_hw(hw_id: u64, oem_id: u16, model_id: u16) -> Self {
        Self {
            attestation_ou: ou_fields(hw_id, oem_id, model_id, false),
            root_cn: format!("Oasis OEM {oem_id:04X} Root CA"),
            seed: format!("hw-{hw_id:016x}"),
            ..Self::generic()
        }
    }

    /// ELF64, MBN v5 (QTI sizes present, zero), OU fields in reverse order.
    pub fn elf64_v5(hw_id: u64, oem_id: u16, model_id: u16) -> Self {
        let mut ou = ou_fields(hw_id, oem_id, model_id, false);
        ou.reverse();
        Self {
            container: Container::Elf64,
            mbn_version: 5,
            attestation_ou: ou,
            root_cn: format!("Oasis OEM {oem_id:04X} Root CA"),
            seed: format!("v5-{hw_id:016x}"),
            ..Self::generic()
        }
    }

    /// ELF32, MBN v6, no OU fields: the identity lives in the OEM metadata (SHA-384 root hash).
    pub fn v6_metadata(hw_id: u32, oem_id: u32, model_id: u32) -> Self {
        Self {
            mbn_version: 6,
            image_id: 0,
            attestation_ou: Vec::new(),
            oem_metadata: Some(OemMetadata {
                sw_id: 3,
                hw_id,
                oem_id,
                model_id,
                ..OemMetadata::default()
            }),
            seed: format!("v6-{hw_id:08x}"),
            ..Self::generic()
        }
    }

    /// ELF32, MBN v7 with common metadata (layout from public signing tools; unconfirmed).
    pub fn v7() -> Self {
        Self {
            mbn_version: 7,
            image_id: 0,
            seed: "v7".to_owned(),
            ..Self::generic()
        }
    }

    /// The old raw image with the 80-byte header, OEM-signed with OU fields.
    pub fn raw(hw_id: u64, oem_id: u16, model_id: u16) -> Self {
        Self {
            container: Container::Raw,
            seed: format!("raw-{hw_id:016x}"),
            ..Self::for_hw(hw_id, oem_id, model_id)
        }
    }

    /// A hash segment but no signature and no chain (`sig_size 0`, `cert_chain_size 0`).
    pub fn unsigned() -> Self {
        Self {
            signed: false,
            seed: "unsigned".to_owned(),
            ..Self::generic()
        }
    }

    /// A streaming-download (NPRG, image id 7) programmer: not Firehose.
    pub fn nprg() -> Self {
        Self {
            image_id: 7,
            firehose_strings: false,
            version_string: None,
            seed: "nprg".to_owned(),
            ..Self::generic()
        }
    }

    /// Generate the file.
    pub fn build(&self) -> Programmer {
        let certs = self.chain();
        let root_der = certs.last().cloned().unwrap_or_default();
        let attestation_der = certs.first().cloned().unwrap_or_default();
        let chain: Vec<u8> = certs.concat();
        let code = self.code();
        match self.container {
            Container::Raw => build_raw(self, &code, &chain, root_der, attestation_der),
            _ => build_elf(self, &code, &chain, root_der, attestation_der),
        }
    }

    fn chain(&self) -> Vec<Vec<u8>> {
        if !self.signed {
            return Vec::new();
        }
        let root_name = Name(vec![
            (Attr::C, "XX".to_owned()),
            (Attr::O, "Oasis Testkit".to_owned()),
            (Attr::Cn, self.root_cn.clone()),
        ]);
        let ca_name = Name::cn_o("Oasis Testkit Attestation CA", "Oasis Testkit");
        let issuer = if self.intermediate {
            ca_name.clone()
        } else {
            root_name.clone()
        };
        let mut subject = vec![(Attr::C, "XX".to_owned())];
        for ou in &self.attestation_ou {
            subject.push((Attr::Ou, ou.clone()));
        }
        subject.push((Attr::O, "Oasis Testkit".to_owned()));
        subject.push((Attr::Cn, "Oasis Testkit Attestation".to_owned()));
        let mut out = vec![
            CertSpec {
                serial: 3,
                subject: Name(subject),
                issuer,
                key_len: 140,
                seed: format!("{}:att", self.seed),
            }
            .der(),
        ];
        if self.intermediate {
            out.push(
                CertSpec {
                    serial: 2,
                    subject: ca_name,
                    issuer: root_name.clone(),
                    key_len: 270,
                    seed: format!("{}:ca", self.root_cn),
                }
                .der(),
            );
        }
        out.push(
            CertSpec {
                serial: 1,
                subject: root_name.clone(),
                issuer: root_name,
                key_len: 270,
                seed: format!("{}:root", self.root_cn),
            }
            .der(),
        );
        out
    }

    fn code(&self) -> Vec<u8> {
        let mut code = crate::pseudo_random(&format!("code:{}", self.seed), self.code_len);
        // Keep the filler free of the version-key and marker letters' accidental matches.
        let mut at = 0x40.min(code.len());
        let mut put = |bytes: &[u8], code: &mut Vec<u8>| {
            if at + bytes.len() < code.len() {
                code[at..at + bytes.len()].copy_from_slice(bytes);
                code[at + bytes.len()] = 0;
                at += bytes.len() + 16;
            }
        };
        if self.firehose_strings {
            put(b"MaxPayloadSizeToTargetInBytes", &mut code);
            put(b"MaxPayloadSizeToTargetInBytesSupported", &mut code);
        }
        if let Some(v) = &self.version_string {
            put(format!("QC_IMAGE_VERSION_STRING={v}").as_bytes(), &mut code);
        }
        code
    }
}

/// A generated programmer and the facts a test needs about it.
#[derive(Debug, Clone)]
pub struct Programmer {
    /// The whole file.
    pub bytes: Vec<u8>,
    /// DER of the root certificate (empty when unsigned).
    pub root_der: Vec<u8>,
    /// DER of the attestation certificate (empty when unsigned).
    pub attestation_der: Vec<u8>,
    /// File offset and size of the hash segment (ELF) or of the signed body (raw).
    pub hash_segment: (u64, u64),
    /// File offset and allocated size of the certificate chain.
    pub chain: (u64, u64),
    /// Number of certificates.
    pub cert_count: usize,
}

impl Programmer {
    /// SHA-256 of the root certificate's DER, lower-case hex (the PK hash).
    pub fn pk_sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.root_der))
    }

    /// SHA-384 of the root certificate's DER, lower-case hex.
    pub fn pk_sha384(&self) -> String {
        hex::encode(Sha384::digest(&self.root_der))
    }

    /// SHA-256 digest bytes of the root (what a fused board reports).
    pub fn pk_sha256_bytes(&self) -> Vec<u8> {
        Sha256::digest(&self.root_der).to_vec()
    }

    /// SHA-384 digest bytes of the root.
    pub fn pk_sha384_bytes(&self) -> Vec<u8> {
        Sha384::digest(&self.root_der).to_vec()
    }

    /// Write the file to `path`.
    pub fn write(&self, path: &std::path::Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, &self.bytes)
    }
}

fn le32(v: &mut Vec<u8>, w: u32) {
    v.extend_from_slice(&w.to_le_bytes());
}

fn align(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

const SIG_LEN: usize = 256;

/// The chain, padded with 0xFF to a multiple of 256 (real images allocate more than they use).
fn padded_chain(chain: &[u8]) -> Vec<u8> {
    if chain.is_empty() {
        return Vec::new();
    }
    let mut c = chain.to_vec();
    c.resize(align(chain.len() + 1, 256), 0xFF);
    c
}

fn build_elf(
    spec: &ProgrammerSpec,
    code: &[u8],
    chain: &[u8],
    root_der: Vec<u8>,
    attestation_der: Vec<u8>,
) -> Programmer {
    let elf64 = spec.container == Container::Elf64;
    let (ehsize, phentsize) = if elf64 { (64usize, 56usize) } else { (52, 32) };
    let phnum = 3usize;
    let phdr_end = ehsize + phnum * phentsize;
    let hash_off = 0x1000usize;
    let chain = padded_chain(chain);
    let sig = if spec.signed {
        crate::pseudo_random(&format!("osig:{}", spec.seed), SIG_LEN)
    } else {
        Vec::new()
    };
    let digest_len = if spec.mbn_version >= 6 { 48 } else { 32 };
    let hash_table_len = digest_len * phnum;
    // The hash segment body.
    let mut seg = Vec::new();
    let meta_len = if spec.mbn_version == 6 { 120u32 } else { 0 };
    let image_size = (hash_table_len + sig.len() + chain.len()) as u32;
    match spec.mbn_version {
        7 => {
            for w in [
                spec.image_id,
                7,
                24,
                0,
                0,
                hash_table_len as u32,
                0,
                0,
                sig.len() as u32,
                chain.len() as u32,
            ] {
                le32(&mut seg, w);
            }
            for w in [0u32, 0, 3, 0, 3, 0] {
                le32(&mut seg, w);
            }
        }
        v => {
            let dest = 0x0800_0000u32 + hash_off as u32;
            let words = [
                spec.image_id,
                v,
                0,
                if v >= 5 { 0 } else { dest },
                image_size,
                hash_table_len as u32,
                dest + 40 + hash_table_len as u32,
                sig.len() as u32,
                dest + 40 + (hash_table_len + sig.len()) as u32,
                chain.len() as u32,
            ];
            for w in words {
                le32(&mut seg, w);
            }
            if v == 6 {
                le32(&mut seg, 0);
                le32(&mut seg, meta_len);
                let m = spec.oem_metadata.clone().unwrap_or_default();
                let mut words = vec![0, 0, m.sw_id, m.hw_id, m.oem_id, m.model_id, 0, m.flags];
                let mut soc = m.soc_vers.clone();
                soc.resize(12, 0);
                words.extend(soc);
                words.extend([0u32; 8]);
                words.extend([0, 0]);
                for w in words {
                    le32(&mut seg, w);
                }
            }
        }
    }
    let table_at = seg.len();
    seg.resize(table_at + hash_table_len, 0);
    seg.extend_from_slice(&sig);
    let chain_off = (hash_off + seg.len()) as u64;
    seg.extend_from_slice(&chain);
    let code_off = align(hash_off + seg.len(), 0x1000);
    // Hash table: one digest per segment (the hash segment's own entry is zeros).
    let mut file = vec![0u8; code_off + code.len()];
    file[code_off..].copy_from_slice(code);
    let code_digest: Vec<u8> = if digest_len == 48 {
        Sha384::digest(code).to_vec()
    } else {
        Sha256::digest(code).to_vec()
    };
    seg[table_at + 2 * digest_len..table_at + 3 * digest_len].copy_from_slice(&code_digest);
    // ELF header.
    let mut h = Vec::new();
    h.extend_from_slice(b"\x7fELF");
    h.extend([if elf64 { 2 } else { 1 }, 1, 1, 0]);
    h.resize(16, 0);
    h.extend(2u16.to_le_bytes()); // ET_EXEC
    h.extend((if elf64 { 0xB7u16 } else { 0x28 }).to_le_bytes()); // AArch64 / ARM
    le32(&mut h, 1);
    if elf64 {
        h.extend(0x0800_0000u64.to_le_bytes()); // entry
        h.extend((ehsize as u64).to_le_bytes()); // phoff
        h.extend(0u64.to_le_bytes()); // shoff
    } else {
        le32(&mut h, 0x0800_0000);
        le32(&mut h, ehsize as u32);
        le32(&mut h, 0);
    }
    le32(&mut h, 0); // flags
    h.extend((ehsize as u16).to_le_bytes());
    h.extend((phentsize as u16).to_le_bytes());
    h.extend((phnum as u16).to_le_bytes());
    h.extend([0u8; 6]); // shentsize, shnum, shstrndx
    debug_assert_eq!(h.len(), ehsize);
    // Program headers: (type, flags, offset, vaddr, filesz, memsz, align).
    let phdrs: [(u32, u32, u64, u64, u64, u64, u64); 3] = [
        (0, 0x0700_0000, 0, 0, phdr_end as u64, 0, 0),
        (
            0,
            spec.hash_flags,
            hash_off as u64,
            0x0800_0000 + hash_off as u64,
            seg.len() as u64,
            align(seg.len(), 0x1000) as u64,
            0x1000,
        ),
        (
            1,
            5,
            code_off as u64,
            0x0800_0000 + code_off as u64,
            code.len() as u64,
            code.len() as u64,
            0x1000,
        ),
    ];
    for (t, f, off, va, fsz, msz, al) in phdrs {
        if elf64 {
            le32(&mut h, t);
            le32(&mut h, f);
            for v in [off, va, va, fsz, msz, al] {
                h.extend(v.to_le_bytes());
            }
        } else {
            for v in [
                t, off as u32, va as u32, va as u32, fsz as u32, msz as u32, f, al as u32,
            ] {
                le32(&mut h, v);
            }
        }
    }
    file[..h.len()].copy_from_slice(&h);
    file[hash_off..hash_off + seg.len()].copy_from_slice(&seg);
    let cert_count = usize::from(spec.signed) * if spec.intermediate { 3 } else { 2 };
    Programmer {
        bytes: file,
        root_der,
        attestation_der,
        hash_segment: (hash_off as u64, seg.len() as u64),
        chain: (chain_off, chain.len() as u64),
        cert_count,
    }
}

fn build_raw(
    spec: &ProgrammerSpec,
    code: &[u8],
    chain: &[u8],
    root_der: Vec<u8>,
    attestation_der: Vec<u8>,
) -> Programmer {
    let chain = padded_chain(chain);
    let sig = if spec.signed {
        crate::pseudo_random(&format!("osig:{}", spec.seed), SIG_LEN)
    } else {
        Vec::new()
    };
    let dest = 0xF800_C050u32;
    let code_size = code.len() as u32;
    let mut h = Vec::new();
    for w in [
        0x844B_DCD1,
        0x73D7_1034,
        spec.image_id,
        0xFFFF_FFFF,
        0xFFFF_FFFF,
        0x50,
        dest,
        code_size + (sig.len() + chain.len()) as u32,
        code_size,
        dest + code_size,
        sig.len() as u32,
        dest + code_size + sig.len() as u32,
        chain.len() as u32,
    ] {
        le32(&mut h, w);
    }
    h.resize(80, 0xFF);
    let chain_off = (80 + code.len() + sig.len()) as u64;
    let mut file = h;
    file.extend_from_slice(code);
    file.extend_from_slice(&sig);
    file.extend_from_slice(&chain);
    let cert_count = usize::from(spec.signed) * if spec.intermediate { 3 } else { 2 };
    Programmer {
        hash_segment: (80, (file.len() - 80) as u64),
        bytes: file,
        root_der,
        attestation_der,
        chain: (chain_off, chain.len() as u64),
        cert_count,
    }
}
