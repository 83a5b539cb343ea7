//! Android sparse images (magic 0xED26FF3A, v1.0): raw, fill and don't-care chunks.

/// One chunk.
#[derive(Debug, Clone)]
pub enum Chunk {
    /// Raw data (a whole number of blocks).
    Raw(Vec<u8>),
    /// `blocks` blocks filled with a 32-bit pattern.
    Fill(u32, u32),
    /// `blocks` blocks of nothing.
    DontCare(u32),
}

/// Encode a sparse image with `block_size` and `chunks`; returns (sparse bytes, expanded bytes,
/// where don't-care blocks expand to zeros).
pub fn build(block_size: u32, chunks: &[Chunk]) -> (Vec<u8>, Vec<u8>) {
    let bs = block_size as usize;
    let mut body = Vec::new();
    let mut expanded = Vec::new();
    let mut total_blocks = 0u32;
    for c in chunks {
        let (kind, blocks, data): (u16, u32, Vec<u8>) = match c {
            Chunk::Raw(d) => {
                assert!(d.len() % bs == 0, "raw chunk is not whole blocks");
                expanded.extend_from_slice(d);
                (0xCAC1, (d.len() / bs) as u32, d.clone())
            }
            Chunk::Fill(pattern, n) => {
                for _ in 0..(*n as usize * bs / 4) {
                    expanded.extend_from_slice(&pattern.to_le_bytes());
                }
                (0xCAC2, *n, pattern.to_le_bytes().to_vec())
            }
            Chunk::DontCare(n) => {
                expanded.resize(expanded.len() + *n as usize * bs, 0);
                (0xCAC3, *n, Vec::new())
            }
        };
        body.extend(kind.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend(blocks.to_le_bytes());
        body.extend((12 + data.len() as u32).to_le_bytes());
        body.extend(data);
        total_blocks += blocks;
    }
    let mut out = Vec::new();
    out.extend(0xED26_FF3Au32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(28u16.to_le_bytes());
    out.extend(12u16.to_le_bytes());
    out.extend(block_size.to_le_bytes());
    out.extend(total_blocks.to_le_bytes());
    out.extend((chunks.len() as u32).to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(body);
    (out, expanded)
}
