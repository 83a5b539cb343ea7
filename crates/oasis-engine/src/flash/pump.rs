//! Streaming a program step's raw data: whole-sector chunks of the negotiated payload are read
//! from the package reader and written to the board while a helper thread hashes the chunks
//! already sent. A small pool of payload-sized buffers circulates between the two, and is kept
//! across steps: memory does not grow with image size and nothing is allocated per chunk.

use std::io::Read;

use crossbeam_channel::{Receiver, Sender, bounded};
use sha2::{Digest, Sha256};

use crate::error::EngineError;
use crate::progress::Emitter;

/// Buffers in circulation: one being filled and written, the others with the hasher.
const DEPTH: usize = 3;

/// Reusable payload buffers.
#[derive(Debug, Default)]
pub(crate) struct BufferPool {
    bufs: Vec<Vec<u8>>,
}

impl BufferPool {
    /// `DEPTH` buffers of `payload` bytes, reusing earlier ones.
    fn take(&mut self, payload: usize) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = std::mem::take(&mut self.bufs);
        out.resize_with(DEPTH, Vec::new);
        for b in &mut out {
            b.resize(payload, 0);
        }
        out
    }

    fn give_back(&mut self, bufs: Vec<Vec<u8>>) {
        self.bufs = bufs;
        self.bufs.truncate(DEPTH);
    }
}

/// What to stream.
pub(crate) struct Source<'a> {
    /// The step's data (exactly `total` bytes, zero-padded by the package reader).
    pub reader: &'a mut dyn Read,
    /// Bytes to send.
    pub total: u64,
    /// Partition label, for errors.
    pub label: &'a str,
    /// Bytes per write (a whole number of sectors).
    pub payload: usize,
    /// Compute the SHA-256 of what is sent.
    pub hash: bool,
}

/// The sink of the raw data (the board).
pub type Write<'a> = &'a mut dyn FnMut(&mut Emitter, &[u8]) -> Result<(), EngineError>;

/// Stream `src` through `write`; returns the SHA-256 of every byte written when asked.
pub fn stream(
    src: Source<'_>,
    pool: &mut BufferPool,
    em: &mut Emitter,
    write: Write<'_>,
) -> Result<Option<[u8; 32]>, EngineError> {
    let mut bufs = pool.take(src.payload.max(1));
    let result = if src.hash {
        hashed(src, &mut bufs, em, write)
    } else {
        plain(src, &mut bufs, em, write).map(|()| None)
    };
    pool.give_back(bufs);
    result
}

fn fill(reader: &mut dyn Read, buf: &mut [u8], label: &str) -> Result<(), EngineError> {
    reader.read_exact(buf).map_err(|e| EngineError::Io {
        file: label.to_owned(),
        source: e,
    })
}

fn plain(
    src: Source<'_>,
    bufs: &mut [Vec<u8>],
    em: &mut Emitter,
    write: Write<'_>,
) -> Result<(), EngineError> {
    let Some(buf) = bufs.first_mut() else {
        return Err(EngineError::Internal("no stream buffer".into()));
    };
    let mut left = src.total;
    while left > 0 {
        em.check_cancel()?;
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        fill(src.reader, chunk, src.label)?;
        write(em, chunk)?;
        left -= n as u64;
        em.advance(n as u64);
        em.add_written(n as u64);
    }
    Ok(())
}

fn stopped() -> EngineError {
    EngineError::Internal("the hashing thread stopped".into())
}

fn hashed(
    src: Source<'_>,
    bufs: &mut Vec<Vec<u8>>,
    em: &mut Emitter,
    write: Write<'_>,
) -> Result<Option<[u8; 32]>, EngineError> {
    let (full_tx, full_rx) = bounded::<(Vec<u8>, usize)>(DEPTH);
    let (free_tx, free_rx) = bounded::<Vec<u8>>(DEPTH);
    for b in bufs.drain(..) {
        free_tx.send(b).map_err(|_| stopped())?;
    }
    std::thread::scope(|s| {
        let hasher = std::thread::Builder::new()
            .name("oasis-sha256".into())
            .spawn_scoped(s, move || {
                let mut h = Sha256::new();
                for (buf, n) in full_rx.iter() {
                    h.update(buf.get(..n).unwrap_or_default());
                    if free_tx.send(buf).is_err() {
                        break;
                    }
                }
                <[u8; 32]>::from(h.finalize())
            })
            .map_err(|e| EngineError::Internal(format!("cannot start the hashing thread: {e}")))?;
        let sent = feed(src, &free_rx, &full_tx, em, write);
        drop(full_tx);
        let digest = hasher.join().map_err(|_| stopped());
        bufs.extend(free_rx.try_iter());
        sent?;
        digest.map(Some)
    })
}

fn feed(
    src: Source<'_>,
    free: &Receiver<Vec<u8>>,
    full: &Sender<(Vec<u8>, usize)>,
    em: &mut Emitter,
    write: Write<'_>,
) -> Result<(), EngineError> {
    let mut left = src.total;
    while left > 0 {
        em.check_cancel()?;
        let mut buf = free.recv().map_err(|_| stopped())?;
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        fill(src.reader, chunk, src.label)?;
        write(em, chunk)?;
        left -= n as u64;
        em.advance(n as u64);
        em.add_written(n as u64);
        full.send((buf, n)).map_err(|_| stopped())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_exactly_what_was_written_in_payload_chunks() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut pool = BufferPool::default();
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let mut write = |_: &mut Emitter, c: &[u8]| {
            sizes.push(c.len());
            seen.extend_from_slice(c);
            Ok(())
        };
        let mut reader: &[u8] = &data;
        let src = Source {
            reader: &mut reader,
            total: data.len() as u64,
            label: "x",
            payload: 4096,
            hash: true,
        };
        let digest = stream(src, &mut pool, &mut Emitter::quiet(), &mut write)
            .unwrap()
            .unwrap();
        assert_eq!(seen, data);
        assert!(sizes.iter().all(|&n| n <= 4096));
        assert_eq!(sizes.len(), data.len().div_ceil(4096));
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(&data)));
        assert_eq!(pool.bufs.len(), DEPTH, "buffers come back to the pool");
    }

    #[test]
    fn a_failed_write_stops_the_stream() {
        let data = vec![1u8; 10_000];
        let mut pool = BufferPool::default();
        let mut calls = 0;
        let mut write = |_: &mut Emitter, _: &[u8]| {
            calls += 1;
            if calls == 2 {
                Err(EngineError::Cancelled)
            } else {
                Ok(())
            }
        };
        let mut reader: &[u8] = &data;
        let src = Source {
            reader: &mut reader,
            total: data.len() as u64,
            label: "x",
            payload: 1000,
            hash: true,
        };
        let r = stream(src, &mut pool, &mut Emitter::quiet(), &mut write);
        assert!(matches!(r, Err(EngineError::Cancelled)));
        assert_eq!(calls, 2);
        let mut short: &[u8] = &data[..10];
        let src = Source {
            reader: &mut short,
            total: 100,
            label: "img",
            payload: 64,
            hash: false,
        };
        let r = stream(src, &mut pool, &mut Emitter::quiet(), &mut |_, _| Ok(()));
        assert!(matches!(r, Err(EngineError::Io { .. })));
    }
}
