//! Jobs on named worker threads: spawning, cancelling, joining, and turning a worker panic into
//! `Failed(Internal)` so every job ends with exactly one terminal event.
//!
//! One spawn entry per job kind ([`spawn_flash`], [`spawn_backup`], [`spawn_restore`],
//! [`spawn_dump`], [`spawn_ramdump`](crate::spawn_ramdump)), each taking the request and a
//! sink ([`event_channel`] makes one with its channel). Every job opens its port on the
//! request's bus; a link the caller opened itself (a test's virtual board, a replayed
//! transcript) travels there too, held by an [`oasis_transport::LinkBus`] under the request's
//! port name.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;

use crate::bundle::Timeline;
use crate::bundle::run;
use crate::error::EngineError;
use crate::event::{ErrorReport, Event, Verdict};
use crate::options::FlashRequest;
use crate::progress::{Emitter, Sink};
use crate::restore::{BackupRequest, RestoreRequest};

/// A running job. Dropping it does not stop the job; call [`JobHandle::cancel`].
#[derive(Debug)]
pub struct JobHandle {
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Verdict, ErrorReport>>>,
    not_started: Option<ErrorReport>,
}

impl JobHandle {
    /// Ask the job to stop at the next chunk boundary. It ends with `Failed(Cancelled)`.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// A clone of the cancel flag (for a Ctrl-C handler).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// True once the job sent its terminal event.
    pub fn is_finished(&self) -> bool {
        self.not_started.is_some() || self.done.load(Ordering::Acquire)
    }

    /// Wait for the job and return its outcome (the same as its terminal event).
    pub fn join(mut self) -> Result<Verdict, ErrorReport> {
        if let Some(report) = self.not_started.take() {
            return Err(report);
        }
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|p| {
                Err(EngineError::Internal(panic_text(p.as_ref())).into_report(None, None))
            }),
            None => Err(EngineError::Internal("job joined twice".into()).into_report(None, None)),
        }
    }
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("the flash worker crashed: {what}")
}

/// Thread name for a job on `port`: `oasis-flash-<port>`.
pub(crate) fn thread_name(kind: &str, port: &str) -> String {
    let clean: String = port
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    format!("oasis-{kind}-{clean}")
}

/// Run `work` on a named thread, reporting to `sink`.
pub(crate) fn spawn_job<F>(name: String, sink: Sink, work: F) -> JobHandle
where
    F: FnOnce(&mut Emitter) -> Result<Verdict, EngineError> + Send + 'static,
{
    let cancel = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    // The sink sits in a shared slot so it can still report if the thread cannot be spawned.
    let slot: Arc<Mutex<Option<Sink>>> = Arc::new(Mutex::new(Some(sink)));
    let (c2, d2, s2) = (Arc::clone(&cancel), Arc::clone(&done), Arc::clone(&slot));
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let sink = s2
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_else(|| Box::new(|_| {}));
        let mut em = Emitter::new(sink, c2);
        let outcome = run_guarded(&mut em, work);
        d2.store(true, Ordering::Release);
        outcome
    });
    match spawned {
        Ok(t) => JobHandle {
            cancel,
            done,
            thread: Some(t),
            not_started: None,
        },
        Err(e) => {
            let report = EngineError::Internal(format!("could not start the worker thread: {e}"))
                .into_report(None, None);
            let sink = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(sink) = sink {
                let mut em = Emitter::new(sink, Arc::clone(&cancel));
                em.failed(report.clone());
            }
            JobHandle {
                cancel,
                done,
                thread: None,
                not_started: Some(report),
            }
        }
    }
}

/// Run `work`, then send exactly one terminal event for its outcome (a panic included).
pub(crate) fn run_guarded<F>(em: &mut Emitter, work: F) -> Result<Verdict, ErrorReport>
where
    F: FnOnce(&mut Emitter) -> Result<Verdict, EngineError>,
{
    let result = catch_unwind(AssertUnwindSafe(|| work(&mut *em)));
    let outcome = match result {
        Ok(Ok(verdict)) => Ok(verdict),
        Ok(Err(e)) => Err(e.into_report(em.phase(), em.partition())),
        Err(p) => Err(EngineError::Internal(panic_text(p.as_ref())).into_report(em.phase(), None)),
    };
    match &outcome {
        Ok(v) => em.finished(v.clone()),
        Err(r) => em.failed(r.clone()),
    }
    outcome
}

/// The sink and timeline of a flash job (a timeline only when it writes a bundle).
fn bundling(req: &FlashRequest, sink: Sink) -> (Sink, Option<Timeline>) {
    let timeline = run::wanted(&req.options).then(Timeline::default);
    (run::tee(sink, timeline.clone()), timeline)
}

/// Start a flash job on its own thread (`oasis-flash-<port>`); events go to `sink`.
///
/// The sink is called on the worker thread; a GUI forwards the event and wakes its UI from it.
/// With `options.bundle` (or `bundle_on_failure`) the session is recorded and a support bundle
/// written when the job ends; [`Event::BundleWritten`] names it, just before the terminal
/// event.
pub fn spawn_flash(req: FlashRequest, sink: Box<dyn FnMut(Event) + Send>) -> JobHandle {
    let name = thread_name("flash", &req.port);
    let (sink, tl) = bundling(&req, sink);
    spawn_job(name, sink, move |em| {
        run::with_bundle(&req, tl.as_ref(), em, |em, rec| {
            crate::flow::flash(&req, em, rec)
        })
    })
}

/// A sink and the channel its events arrive on (unbounded; a receiver that went away only
/// means nobody listens any more). Any spawn function takes the sink:
/// `let (sink, events) = event_channel(); let job = spawn_flash(req, sink);`.
pub fn event_channel() -> (Box<dyn FnMut(Event) + Send>, Receiver<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let sink = Box::new(move |ev| {
        let _ = tx.send(ev);
    });
    (sink, rx)
}

/// Start a backup job (`oasis-backup-<port>`): read the board-unique regions into
/// `req.out`; the board stays in download mode.
pub fn spawn_backup(req: BackupRequest, sink: Box<dyn FnMut(Event) + Send>) -> JobHandle {
    let name = thread_name("backup", &req.port);
    spawn_job(name, sink, move |em| crate::restore::backup_job(&req, em))
}

/// Start a restore job (`oasis-restore-<port>`): write a backup back onto the board it was
/// taken from (refused for another chip serial), verify it, reset.
pub fn spawn_restore(req: RestoreRequest, sink: Box<dyn FnMut(Event) + Send>) -> JobHandle {
    let name = thread_name("restore", &req.port);
    spawn_job(name, sink, move |em| crate::restore::restore_job(&req, em))
}

/// Start a read-back job (`oasis-dump-<port>`): read partitions (by label) or sector ranges
/// into `req.out` with a manifest; nothing is written to the board, which stays in download
/// mode.
pub fn spawn_dump(req: crate::dump::DumpRequest, sink: Box<dyn FnMut(Event) + Send>) -> JobHandle {
    let name = thread_name("dump", &req.port);
    spawn_job(name, sink, move |em| crate::dump::dump_job(&req, em))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ErrorKind, Phase};

    fn verdict() -> Verdict {
        Verdict {
            summary: "done".into(),
            verified: vec![],
            skipped: vec![],
            bytes: 0,
            seconds: 0.0,
            confirmed: false,
            running_revision: None,
        }
    }

    fn run<F>(work: F) -> (Result<Verdict, ErrorReport>, Vec<Event>, String)
    where
        F: FnOnce(&mut Emitter) -> Result<Verdict, EngineError> + Send + 'static,
    {
        let (sink, rx) = event_channel();
        let h = spawn_job(thread_name("test", "virtual:eg25"), sink, move |em| {
            let name = std::thread::current().name().unwrap_or_default().to_owned();
            em.info(name);
            work(em)
        });
        let out = h.join();
        let events: Vec<Event> = rx.try_iter().collect();
        let name = match &events[1] {
            Event::Info { message } => message.clone(),
            other => panic!("{other:?}"),
        };
        (out, events, name)
    }

    #[test]
    fn worker_is_named_and_success_ends_with_finished() {
        let (out, events, name) = run(|em| {
            em.plan_ready(vec![], 0, 0);
            em.start_phase(Phase::Connect, 0);
            Ok(verdict())
        });
        assert_eq!(name, "oasis-test-virtual:eg25");
        assert!(out.is_ok());
        assert!(matches!(events.last(), Some(Event::Finished(_))));
        assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1);
    }

    #[test]
    fn a_worker_panic_becomes_failed_internal() {
        let (out, events, _) = run(|em| {
            em.plan_ready(vec![], 0, 0);
            em.start_phase(Phase::Program, 10);
            let v: Vec<u8> = Vec::new();
            let i = v.len() + 3;
            #[allow(clippy::indexing_slicing)]
            let _ = v[i];
            Ok(verdict())
        });
        let r = out.unwrap_err();
        assert_eq!(r.kind, ErrorKind::Internal);
        assert!(r.message.contains("crashed"), "{}", r.message);
        assert!(matches!(events.last(), Some(Event::Failed(_))));
        assert!(events.iter().any(|e| matches!(
            e,
            Event::PhaseFinished {
                phase: Phase::Program
            }
        )));
    }

    #[test]
    fn cancel_is_seen_by_the_worker() {
        let (tx, rx) = crossbeam_channel::bounded::<()>(0);
        let h = spawn_job("oasis-test-cancel".into(), Box::new(|_| {}), move |em| {
            let _ = rx.recv();
            em.check_cancel()?;
            Ok(verdict())
        });
        h.cancel();
        tx.send(()).unwrap();
        let r = h.join().unwrap_err();
        assert_eq!(r.kind, ErrorKind::Cancelled);
    }
}
