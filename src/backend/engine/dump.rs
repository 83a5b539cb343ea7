//! The engine backend's crash-dump jobs: the board's download-mode link on the backend's bus
//! (a real module or a virtual board in memory-dump mode alike).

use oasis_engine::ramdump::RamdumpRequest;

use super::super::{BackendMsg, DumpJob};
use super::{EngineBackend, Target};

impl EngineBackend {
    /// Start [`oasis_engine::spawn_ramdump`] for `job`; its events arrive as
    /// [`BackendMsg::Job`].
    pub(super) fn start_dump(&mut self, job: DumpJob) {
        let id = job.job;
        let Some(target) = self.job_target(id, &job.board) else {
            return;
        };
        let mut req = RamdumpRequest::new(job.board.clone(), &job.out);
        req.bundle = job.bundle.clone();
        req.bus = self.bus.clone();
        // The COM/tty port where a serial driver holds the board, else libusb.
        req.port = match &target {
            Target::Usb { device, .. } => super::link_for(device),
            Target::Serial(b) => b.flash_port.clone(),
        };
        let to = self.reply();
        let sink = Box::new(move |event| to.send(BackendMsg::Job { job: id, event }));
        let handle = oasis_engine::spawn_ramdump(req, sink);
        self.jobs.retain(|_, h| !h.is_finished());
        self.jobs.insert(id, handle);
    }
}
