//! What the board has said and the host has not read yet: transfers in order, with the time
//! each becomes visible (simulated latency), plus lazily produced `<read>` data so a big read
//! never sits in memory as a whole.

use std::collections::VecDeque;
use std::time::Instant;

use crate::fault::FaultKind;
use crate::storage::Storage;

/// Sector data of a Firehose `<read>`, produced chunk by chunk as the host reads.
#[derive(Debug, Clone)]
pub(crate) struct ReadJob {
    pub lun: u32,
    pub next: u64,
    pub remaining: u64,
    pub chunk_sectors: u64,
    /// Unplug after this many bytes have been handed out.
    pub unplug_after: Option<u64>,
    pub sent: u64,
}

#[derive(Debug, Clone)]
enum Item {
    Bytes(Vec<u8>),
    Read(ReadJob),
    /// The board leaves the bus once everything before this was read.
    Unplug,
}

/// Result of taking the next transfer.
#[derive(Debug)]
pub(crate) enum Pop {
    /// A transfer.
    Data(Vec<u8>),
    /// The next transfer exists but becomes visible only at this instant.
    NotYet(Instant),
    /// Nothing queued.
    Empty,
    /// A read job reached its unplug point.
    Unplug,
}

/// The outgoing queue of one board.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    items: VecDeque<(Option<Instant>, Item)>,
    stalled: bool,
    /// Visibility stamp for items pushed from now on.
    pub ready_at: Option<Instant>,
}

/// Deterministic noise for the `garbage` fault (never starts with `<` or a Sahara command).
pub(crate) fn noise(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len.max(8))
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if i == 0 { 0xA5 } else { (x >> 24) as u8 }
        })
        .collect()
}

impl Outbox {
    /// Queue a transfer (dropped when the board has stalled).
    pub fn push(&mut self, bytes: Vec<u8>) {
        if !self.stalled && !bytes.is_empty() {
            self.items.push_back((self.ready_at, Item::Bytes(bytes)));
        }
    }

    /// The board leaves the bus once what is queued now was read (an unplug mid-transfer).
    pub fn push_unplug(&mut self) {
        if !self.stalled {
            self.items.push_back((self.ready_at, Item::Unplug));
        }
    }

    /// Queue the data of a `<read>`.
    pub fn push_read(&mut self, job: ReadJob) {
        if !self.stalled && job.remaining > 0 {
            self.items.push_back((self.ready_at, Item::Read(job)));
        }
    }

    /// Queue `bytes` as changed by an output fault: stall (nothing, ever again), garbage
    /// (noise of the same length) or truncate (first half, then stall). Other faults and no
    /// fault send it as is.
    pub fn send(&mut self, fault: Option<&FaultKind>, bytes: Vec<u8>) {
        match fault {
            Some(FaultKind::Stall) => self.stall(),
            Some(FaultKind::Garbage) => self.push(noise(bytes.len())),
            Some(FaultKind::Truncate) => {
                let half = bytes.len() / 2;
                self.push(bytes[..half.max(1)].to_vec());
                self.stall();
            }
            _ => self.push(bytes),
        }
    }

    /// From now on the board says nothing.
    pub fn stall(&mut self) {
        self.stalled = true;
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the board has stalled.
    pub fn is_stalled(&self) -> bool {
        self.stalled
    }

    /// Drop everything queued (the link went away).
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Take the next transfer, producing `<read>` data from `storage` on demand.
    pub fn pop(&mut self, storage: &Storage, now: Instant) -> Pop {
        let Some((ready, item)) = self.items.front_mut() else {
            return Pop::Empty;
        };
        if let Some(t) = *ready
            && t > now
        {
            return Pop::NotYet(t);
        }
        match item {
            Item::Unplug => Pop::Unplug,
            Item::Bytes(_) => match self.items.pop_front() {
                Some((_, Item::Bytes(b))) => Pop::Data(b),
                _ => Pop::Empty,
            },
            Item::Read(job) => {
                let n = job.chunk_sectors.min(job.remaining);
                let mut data = storage.read(job.lun, job.next, n);
                if let Some(limit) = job.unplug_after {
                    let left = limit.saturating_sub(job.sent) as usize;
                    if left == 0 {
                        return Pop::Unplug;
                    }
                    data.truncate(left);
                }
                job.sent += data.len() as u64;
                job.next += n;
                job.remaining -= n;
                if job.remaining == 0 && job.unplug_after.is_none() {
                    self.items.pop_front();
                }
                Pop::Data(data)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::StorageKind;

    #[test]
    fn faults_change_what_is_sent() {
        let mut o = Outbox::default();
        let s = Storage::new(StorageKind::Emmc {
            partitions: vec![16],
        });
        o.send(Some(&FaultKind::Garbage), b"<data>hello</data>".to_vec());
        let Pop::Data(g) = o.pop(&s, Instant::now()) else {
            panic!()
        };
        assert_eq!(g.len(), 18);
        assert_ne!(g[0], b'<');
        o.send(Some(&FaultKind::Truncate), b"abcdefgh".to_vec());
        o.push(b"later".to_vec());
        assert!(matches!(o.pop(&s, Instant::now()), Pop::Data(d) if d == b"abcd"));
        assert!(matches!(o.pop(&s, Instant::now()), Pop::Empty));
    }

    #[test]
    fn read_jobs_are_chunked_lazily() {
        let mut o = Outbox::default();
        let mut s = Storage::new(StorageKind::Emmc {
            partitions: vec![16],
        });
        s.write(0, 2, &[9u8; 512]).unwrap();
        o.push_read(ReadJob {
            lun: 0,
            next: 0,
            remaining: 5,
            chunk_sectors: 2,
            unplug_after: None,
            sent: 0,
        });
        o.push(b"ack".to_vec());
        let sizes: Vec<usize> = std::iter::from_fn(|| match o.pop(&s, Instant::now()) {
            Pop::Data(d) => Some(d.len()),
            _ => None,
        })
        .collect();
        assert_eq!(sizes, vec![1024, 1024, 512, 3]);
    }

    #[test]
    fn latency_hides_items_until_ready() {
        let mut o = Outbox::default();
        let s = Storage::new(StorageKind::Emmc {
            partitions: vec![16],
        });
        let later = Instant::now() + std::time::Duration::from_secs(5);
        o.ready_at = Some(later);
        o.push(b"x".to_vec());
        assert!(matches!(o.pop(&s, Instant::now()), Pop::NotYet(t) if t == later));
    }
}
