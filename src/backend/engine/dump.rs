//! The engine backend's crash-dump jobs: a virtual board's own link, or `usb:<port path>` for
//! a real module in memory-dump mode.

use oasis_engine::Help;
use oasis_engine::ramdump::RamdumpRequest;
use oasis_engine::{ErrorKind, ErrorReport, Event};

use super::super::{BackendMsg, DumpJob};
use super::{EngineBackend, JobSlot, Target, lock_jobs};

impl EngineBackend {
    /// Start [`oasis_engine::spawn_ramdump`] for `job`; its events arrive as
    /// [`BackendMsg::Job`].
    pub(super) fn start_dump(&mut self, job: DumpJob) {
        let id = job.job;
        let target = match self.target(&job.board) {
            Ok(t) => t,
            Err(e) => {
                self.reply().send(BackendMsg::Job {
                    job: id,
                    event: Event::Failed(ErrorReport {
                        kind: ErrorKind::Port,
                        message: e.to_string(),
                        hint: e.help().map(String::from),
                        phase: None,
                        partition: None,
                        device_log: Vec::new(),
                    }),
                });
                return;
            }
        };
        let mut req = RamdumpRequest::new(job.board.clone(), &job.out);
        req.bundle = job.bundle.clone();
        let to = self.reply();
        let handle = match target {
            Target::Virtual(v) => {
                req.port.clone_from(&v.id);
                // Marked busy like a flash, so the board list's probes leave its port alone.
                let guard = v.port.clone();
                guard.set_flashing(true);
                let sink = Box::new(move |event: Event| {
                    if event.is_terminal() {
                        guard.set_flashing(false);
                    }
                    to.send(BackendMsg::Job { job: id, event });
                });
                oasis_engine::spawn_ramdump_on(req, Box::new(v.board.connect()), sink)
            }
            Target::Real(d) => {
                // The COM/tty port where a serial driver holds the board, else libusb.
                req.port = super::link_for(&d);
                let sink = Box::new(move |event| to.send(BackendMsg::Job { job: id, event }));
                oasis_engine::spawn_ramdump(req, sink)
            }
            Target::Serial(b) => {
                req.port.clone_from(&b.flash_port);
                let sink = Box::new(move |event| to.send(BackendMsg::Job { job: id, event }));
                oasis_engine::spawn_ramdump(req, sink)
            }
        };
        lock_jobs(&self.jobs).insert(id, JobSlot::Running(handle));
    }
}
