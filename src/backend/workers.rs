//! The app's worker threads, bounded and de-duplicated: a request that is already running for
//! the same board (a second "Probe AT" click, a diagnosis asked again while the first still
//! runs) is not started twice, and no more than [`MAX_WORKERS`] run at once. The registry lives
//! on the UI thread and takes no lock: a worker reports its end over a channel that the next
//! request drains.

use std::collections::HashSet;

use crossbeam_channel::{Receiver, Sender, unbounded};

/// Most worker threads running at once (each holds a port or a package at most briefly).
pub const MAX_WORKERS: usize = 16;

/// What is running, by key (`"at-probe:<board>"`).
#[derive(Debug)]
pub struct Workers {
    running: HashSet<String>,
    done_tx: Sender<String>,
    done_rx: Receiver<String>,
}

/// Why a request was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStarted {
    /// The same request for the same board is still running; its answer will come.
    AlreadyRunning,
    /// Too many workers run at once.
    Busy,
}

impl Default for Workers {
    fn default() -> Self {
        let (done_tx, done_rx) = unbounded();
        Workers {
            running: HashSet::new(),
            done_tx,
            done_rx,
        }
    }
}

impl Workers {
    /// Claim `key`: a sender the worker uses to say it ended (send the key back), or why not.
    pub fn begin(&mut self, key: &str) -> Result<Finished, NotStarted> {
        while let Ok(k) = self.done_rx.try_recv() {
            self.running.remove(&k);
        }
        if self.running.contains(key) {
            return Err(NotStarted::AlreadyRunning);
        }
        if self.running.len() >= MAX_WORKERS {
            return Err(NotStarted::Busy);
        }
        self.running.insert(key.to_owned());
        Ok(Finished {
            key: key.to_owned(),
            tx: self.done_tx.clone(),
        })
    }

    /// How many are running (as far as the UI thread knows).
    #[cfg(test)]
    pub fn running(&self) -> usize {
        self.running.len()
    }
}

/// Held by a worker; dropping it (the worker ended, or could not start) frees its key.
#[derive(Debug)]
pub struct Finished {
    key: String,
    tx: Sender<String>,
}

impl Drop for Finished {
    fn drop(&mut self) {
        let _ = self.tx.send(std::mem::take(&mut self.key));
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_is_not_started_twice_until_the_first_ends() {
        let mut w = Workers::default();
        let first = w.begin("at-probe:1-1");
        assert!(first.is_ok());
        assert_eq!(
            w.begin("at-probe:1-1").err(),
            Some(NotStarted::AlreadyRunning)
        );
        // Another board, or another request on the same board, runs alongside.
        let other = w.begin("at-probe:1-2");
        let diag = w.begin("diagnose:1-1");
        assert!(other.is_ok() && diag.is_ok());
        drop(first);
        assert!(w.begin("at-probe:1-1").is_ok());
    }

    #[test]
    fn no_more_than_the_bound_run_at_once() {
        let mut w = Workers::default();
        let held: Vec<Finished> = (0..MAX_WORKERS)
            .map(|i| w.begin(&format!("diagnose:{i}")).expect("under the bound"))
            .collect();
        assert_eq!(w.begin("diagnose:one-more").err(), Some(NotStarted::Busy));
        drop(held);
        assert!(w.begin("diagnose:one-more").is_ok());
        assert_eq!(w.running(), 1);
    }

    #[test]
    fn a_worker_thread_frees_its_key_when_it_ends() {
        let mut w = Workers::default();
        let done = w.begin("switch:1-1").expect("free");
        let t = std::thread::Builder::new()
            .name("test-worker".into())
            .spawn(move || drop(done))
            .expect("spawn");
        t.join().expect("worker thread");
        assert!(w.begin("switch:1-1").is_ok());
    }
}
