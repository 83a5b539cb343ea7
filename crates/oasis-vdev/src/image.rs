//! The PBL's image loader: asks for the ELF header, then the program headers, then the hash
//! segment, then every loadable segment in 4 KiB pieces — the order real boards use (QFirehose
//! logs: 0x34 @ 0, 0x80 @ 0x34, then 0x1000-byte reads) — and judges what it was sent.

/// Piece size of segment reads.
pub(crate) const PIECE: u64 = 0x1000;

/// Status codes the loader produces (docs/protocol.md §1).
pub(crate) mod status {
    pub const INVALID_HEADER_SIZE: u32 = 0x07;
    pub const UNSUPPORTED_PHDRS: u32 = 0x0E;
    pub const INVALID_PHDR_DATA_LEN: u32 = 0x0F;
    pub const INVALID_ELF_HEADER: u32 = 0x14;
    pub const HASH_TABLE_AUTH_FAILED: u32 = 0x21;
    pub const HASH_TABLE_NOT_FOUND: u32 = 0x23;
    pub const IMAGE_AUTH_FAILED: u32 = 0x25;
}

/// A byte range of the image to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub offset: u64,
    pub len: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Header,
    Phdrs,
    Segments,
}

/// What the loader wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// Ask for these bytes.
    Read(Piece),
    /// Everything is loaded; hand the image to the checker.
    Complete,
    /// The image is refused with this status.
    Fail(u32),
}

/// One program header (only the fields the loader needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub filesz: u64,
}

/// The loader state for one image.
#[derive(Debug, Clone)]
pub(crate) struct ImageLoader {
    first_read: u64,
    stage: Stage,
    elf64: bool,
    phoff: u64,
    phnum: u64,
    phentsize: u64,
    queue: std::collections::VecDeque<Piece>,
    /// Image bytes received so far, placed at their offsets (gaps are zero).
    pub image: Vec<u8>,
    pub phdrs: Vec<Phdr>,
    pub hash_segment: Option<Phdr>,
    /// Upper bound on the image size the loader accepts (a PBL has limited RAM).
    max_image: u64,
}

fn u16_at(b: &[u8], o: usize) -> u64 {
    b.get(o..o + 2)
        .map(|s| u64::from(u16::from_le_bytes([s[0], s[1]])))
        .unwrap_or(0)
}
fn u32_at(b: &[u8], o: usize) -> u64 {
    b.get(o..o + 4)
        .map(|s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
        .unwrap_or(0)
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    b.get(o..o + 8)
        .map(|s| {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            u64::from_le_bytes(w)
        })
        .unwrap_or(0)
}

/// Is this the hash segment (type NULL, flags' segment-type nibble = 2)?
pub(crate) fn is_hash_segment(p: &Phdr) -> bool {
    p.p_type == 0 && (p.flags & 0x0700_0000) == 0x0200_0000
}

impl ImageLoader {
    /// A loader whose first request is `first_read` bytes (0x34 on 32-bit-read PBLs, 0x40 on
    /// READ_DATA_64 ones).
    pub fn new(first_read: u64) -> Self {
        Self {
            first_read,
            stage: Stage::Header,
            elf64: false,
            phoff: 0,
            phnum: 0,
            phentsize: 0,
            queue: Default::default(),
            image: Vec::new(),
            phdrs: Vec::new(),
            hash_segment: None,
            max_image: 64 * 1024 * 1024,
        }
    }

    /// The first request.
    pub fn start(&self) -> Piece {
        Piece {
            offset: 0,
            len: self.first_read,
        }
    }

    fn place(&mut self, piece: Piece, data: &[u8]) {
        let Ok(off) = usize::try_from(piece.offset) else {
            return;
        };
        let end = off + data.len();
        if self.image.len() < end {
            self.image.resize(end, 0);
        }
        self.image[off..end].copy_from_slice(data);
    }

    /// The host delivered the bytes of `piece`; decide what comes next.
    pub fn deliver(&mut self, piece: Piece, data: &[u8]) -> Next {
        self.place(piece, data);
        match self.stage {
            Stage::Header => self.after_header(),
            Stage::Phdrs => self.after_phdrs(),
            Stage::Segments => self.next_piece(),
        }
    }

    fn after_header(&mut self) -> Next {
        let h = &self.image;
        if h.get(..4) != Some(b"\x7fELF") {
            return Next::Fail(status::INVALID_ELF_HEADER);
        }
        self.elf64 = match h.get(4) {
            Some(1) => false,
            Some(2) => true,
            _ => return Next::Fail(status::INVALID_ELF_HEADER),
        };
        if h.get(5) != Some(&1) {
            return Next::Fail(status::INVALID_ELF_HEADER);
        }
        let hdr_len = if self.elf64 { 0x40 } else { 0x34 };
        if (h.len() as u64) < hdr_len {
            // A 32-bit-read PBL got the first 0x34 bytes of an ELF64 image: ask for the rest.
            let have = h.len() as u64;
            return Next::Read(Piece {
                offset: have,
                len: hdr_len - have,
            });
        }
        let (phoff, phentsize, phnum) = if self.elf64 {
            (u64_at(h, 0x20), u16_at(h, 0x36), u16_at(h, 0x38))
        } else {
            (u32_at(h, 0x1c), u16_at(h, 0x2a), u16_at(h, 0x2c))
        };
        let want = if self.elf64 { 56 } else { 32 };
        if phentsize != want {
            return Next::Fail(status::INVALID_HEADER_SIZE);
        }
        if phnum == 0 || phnum > 100 {
            return Next::Fail(status::UNSUPPORTED_PHDRS);
        }
        if phoff.saturating_add(phnum * phentsize) > self.max_image {
            return Next::Fail(status::INVALID_PHDR_DATA_LEN);
        }
        self.phoff = phoff;
        self.phnum = phnum;
        self.phentsize = phentsize;
        self.stage = Stage::Phdrs;
        Next::Read(Piece {
            offset: phoff,
            len: phnum * phentsize,
        })
    }

    fn after_phdrs(&mut self) -> Next {
        let mut phdrs = Vec::new();
        for i in 0..self.phnum {
            let Ok(o) = usize::try_from(self.phoff + i * self.phentsize) else {
                return Next::Fail(status::INVALID_PHDR_DATA_LEN);
            };
            let p = if self.elf64 {
                Phdr {
                    p_type: u32_at(&self.image, o) as u32,
                    flags: u32_at(&self.image, o + 4) as u32,
                    offset: u64_at(&self.image, o + 8),
                    filesz: u64_at(&self.image, o + 32),
                }
            } else {
                Phdr {
                    p_type: u32_at(&self.image, o) as u32,
                    offset: u32_at(&self.image, o + 4),
                    filesz: u32_at(&self.image, o + 16),
                    flags: u32_at(&self.image, o + 24) as u32,
                }
            };
            if p.offset.saturating_add(p.filesz) > self.max_image {
                return Next::Fail(status::INVALID_PHDR_DATA_LEN);
            }
            phdrs.push(p);
        }
        self.hash_segment = phdrs.iter().copied().find(is_hash_segment);
        let loadable = phdrs.iter().filter(|p| p.p_type == 1 && p.filesz > 0);
        for seg in self.hash_segment.iter().chain(loadable) {
            let mut off = 0;
            while off < seg.filesz {
                let len = PIECE.min(seg.filesz - off);
                self.queue.push_back(Piece {
                    offset: seg.offset + off,
                    len,
                });
                off += len;
            }
        }
        self.phdrs = phdrs;
        if self.queue.is_empty() {
            return Next::Fail(status::UNSUPPORTED_PHDRS);
        }
        self.stage = Stage::Segments;
        self.next_piece()
    }

    fn next_piece(&mut self) -> Next {
        match self.queue.pop_front() {
            Some(p) => Next::Read(p),
            None => Next::Complete,
        }
    }

    /// True once the hash segment (if any) has been fully received: the moment a real PBL
    /// authenticates the hash table, before loading the code segments.
    pub fn hash_segment_loaded(&self) -> bool {
        match self.hash_segment {
            None => false,
            Some(h) => {
                let end = h.offset + h.filesz;
                self.stage == Stage::Segments
                    && (self.image.len() as u64) >= end
                    && !self
                        .queue
                        .iter()
                        .any(|p| p.offset < end && p.offset >= h.offset)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use oasis_testkit::programmer::ProgrammerSpec;

    fn run(file: &[u8], first: u64) -> (Vec<Piece>, Next) {
        let mut l = ImageLoader::new(first);
        let mut reqs = vec![l.start()];
        loop {
            let p = *reqs.last().unwrap();
            let end = ((p.offset + p.len) as usize).min(file.len());
            let data = file.get(p.offset as usize..end).unwrap_or_default();
            match l.deliver(p, data) {
                Next::Read(n) => reqs.push(n),
                other => return (reqs, other),
            }
        }
    }

    /// A kit-generated ELF32 programmer: header, program headers, hash segment, then the
    /// code segment in 4 KiB pieces.
    #[test]
    fn real_mdm9x07_programmer_is_read_like_a_pbl() {
        let p = ProgrammerSpec::generic().build();
        let f = &p.bytes;
        let (reqs, end) = run(f, 0x34);
        assert_eq!(end, Next::Complete);
        assert_eq!(
            reqs[0],
            Piece {
                offset: 0,
                len: 0x34
            }
        );
        assert_eq!(
            reqs[1],
            Piece {
                offset: 0x34,
                len: 3 * 0x20
            }
        );
        assert_eq!(
            reqs[2],
            Piece {
                offset: p.hash_segment.0,
                len: p.hash_segment.1
            }
        );
        assert!(reqs[2..].iter().all(|p| p.len <= 0x1000));
        let total: u64 = reqs[2..].iter().map(|p| p.len).sum();
        let code = f.len() as u64 - (p.hash_segment.0 + p.hash_segment.1).div_ceil(0x1000) * 0x1000;
        assert_eq!(total, p.hash_segment.1 + code);
        assert!(reqs.len() > 4, "the code segment comes in several pieces");
    }

    #[test]
    fn elf64_on_a_64_bit_pbl() {
        let f = ProgrammerSpec::elf64_v5(0x0008_B0E1_0031_0000, 0x31, 0)
            .build()
            .bytes;
        let (reqs, end) = run(&f, 0x40);
        assert_eq!(end, Next::Complete);
        assert_eq!(
            reqs[1],
            Piece {
                offset: 0x40,
                len: 3 * 56
            }
        );
    }

    #[test]
    fn garbage_and_raw_mbn_are_invalid_elf_headers() {
        assert_eq!(
            run(&[0xAB; 0x34], 0x34).1,
            Next::Fail(status::INVALID_ELF_HEADER)
        );
        let raw = ProgrammerSpec::raw(0x0080_50E1_0004_0002, 4, 2)
            .build()
            .bytes;
        assert_eq!(run(&raw, 0x34).1, Next::Fail(status::INVALID_ELF_HEADER));
        assert_eq!(run(&[], 0x34).1, Next::Fail(status::INVALID_ELF_HEADER));
    }
}

#[cfg(test)]
mod realworld_tests {
    use super::*;

    /// A programmer of the real-world corpus (`OASIS_REALWORLD`).
    fn fixture(name: &str) -> Vec<u8> {
        let base = std::env::var_os("OASIS_REALWORLD").unwrap_or_default();
        std::fs::read(std::path::Path::new(&base).join("loaders").join(name)).unwrap()
    }

    fn run(file: &[u8], first: u64) -> (Vec<Piece>, Next) {
        let mut l = ImageLoader::new(first);
        let mut reqs = vec![l.start()];
        loop {
            let p = *reqs.last().unwrap();
            let end = ((p.offset + p.len) as usize).min(file.len());
            let data = file.get(p.offset as usize..end).unwrap_or_default();
            match l.deliver(p, data) {
                Next::Read(n) => reqs.push(n),
                other => return (reqs, other),
            }
        }
    }

    #[test]
    #[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
    fn realworld_real_mdm9x07_programmer_is_read_like_a_pbl() {
        let Some(_corpus) =
            oasis_testkit::realworld("realworld_real_mdm9x07_programmer_is_read_like_a_pbl")
        else {
            return;
        };
        let f = fixture("000480e100000000_cc3153a80293939b_fhprg_9x07.mbn");
        let (reqs, end) = run(&f, 0x34);
        assert_eq!(end, Next::Complete);
        assert_eq!(
            reqs[0],
            Piece {
                offset: 0,
                len: 0x34
            }
        );
        assert_eq!(
            reqs[1],
            Piece {
                offset: 0x34,
                len: 0x60
            }
        );
        assert_eq!(
            reqs[2],
            Piece {
                offset: 0x1000,
                len: 0x1000
            }
        );
        assert_eq!(
            reqs[3],
            Piece {
                offset: 0x2000,
                len: 0x988
            }
        );
        assert_eq!(
            reqs[4],
            Piece {
                offset: 0x3000,
                len: 0x1000
            }
        );
        assert!(reqs[2..].iter().all(|p| p.len <= 0x1000));
        let total: u64 = reqs[2..].iter().map(|p| p.len).sum();
        assert_eq!(total, 0x1988 + 0x1d3b0);
    }

    #[test]
    #[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
    fn realworld_elf64_on_a_64_bit_pbl() {
        let Some(_corpus) = oasis_testkit::realworld("realworld_elf64_on_a_64_bit_pbl") else {
            return;
        };
        let f = fixture("0008b0e100310000_1030cd12ce708f29_fhprg.bin");
        let (reqs, end) = run(&f, 0x40);
        assert_eq!(end, Next::Complete);
        assert_eq!(
            reqs[1],
            Piece {
                offset: 0x40,
                len: 19 * 56
            }
        );
    }

    #[test]
    #[ignore = "real-world corpus: set OASIS_REALWORLD=<dir> and run with --ignored"]
    fn realworld_garbage_and_raw_mbn_are_invalid_elf_headers() {
        let Some(_corpus) =
            oasis_testkit::realworld("realworld_garbage_and_raw_mbn_are_invalid_elf_headers")
        else {
            return;
        };
        assert_eq!(
            run(&[0xAB; 0x34], 0x34).1,
            Next::Fail(status::INVALID_ELF_HEADER)
        );
        let raw = fixture("008050e100040002_6923f496fbd6fb14_fhprg.bin");
        assert_eq!(run(&raw, 0x34).1, Next::Fail(status::INVALID_ELF_HEADER));
        assert_eq!(run(&[], 0x34).1, Next::Fail(status::INVALID_ELF_HEADER));
    }
}
