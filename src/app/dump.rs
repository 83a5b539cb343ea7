//! "Collect crash dump": start the job for a board in memory-dump mode (05C6:900E) into a fresh
//! folder under the data folder, with a support bundle that references it, and follow its
//! events.

use oasis_engine::event::Event;

use super::OasisApp;
use crate::backend::{DumpJob, JobId};
use crate::logbook::Severity;
use crate::state::Tab;
use crate::ui::dump::DumpView;

impl OasisApp {
    /// Start collecting the crash dump of board `id` (ignored while one runs).
    pub(super) fn start_dump(&mut self, id: &str) {
        if self.state.dump.running {
            return;
        }
        let Some(board) = self.state.boards.iter().find(|b| b.id == id).cloned() else {
            return;
        };
        let job = self.next_job;
        self.next_job += 1;
        let dir = self
            .data_dir
            .clone()
            .unwrap_or_else(oasis_engine::paths::data_dir);
        let stamp = oasis_engine::paths::compact_stamp(oasis_engine::paths::now_unix());
        let who = board.serial.clone().unwrap_or_else(|| "board".to_owned());
        let out = dir
            .join("crashdumps")
            .join(format!("{who}-{stamp}-job{job}"));
        let bundle = dir
            .join("bundles")
            .join(format!("oasis-{stamp}-crashdump-job{job}.zip"));
        self.log.push(
            Severity::Info,
            &format!("job {job}"),
            format!(
                "collecting the crash dump of {} into {}",
                board.title,
                out.display()
            ),
        );
        self.state.selected = Some(board.id.clone());
        self.state.tab = Tab::Diagnostics;
        self.state.dump = DumpView {
            job: Some(job),
            board: board.title.clone(),
            running: true,
            out: Some(out.clone()),
            ..DumpView::default()
        };
        self.backend.collect_dump(DumpJob {
            job,
            board: board.id,
            out,
            bundle: Some(bundle),
        });
    }

    /// One event of the crash-dump job.
    pub(super) fn dump_event(&mut self, job: JobId, ev: &Event) {
        let source = format!("job {job}");
        match ev {
            Event::Info { message } => self.log.push(Severity::Info, &source, message.clone()),
            Event::Finished(v) => {
                self.log.push(Severity::Info, &source, v.summary.clone());
                self.state.status = Some(format!(
                    "Crash dump of {}: {}",
                    self.state.dump.board, v.summary
                ));
            }
            Event::Failed(r) => {
                self.log.push(Severity::Error, &source, r.message.clone());
                self.state.status = Some(format!(
                    "Crash dump of {} failed: {}",
                    self.state.dump.board, r.message
                ));
            }
            _ => {}
        }
        self.state.dump.apply(ev);
    }
}
