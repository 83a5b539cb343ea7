//! Bench mode's model: one slot per physical USB port path, following its board through
//! normal → 9008 → normal, auto-starting flashes when armed, and the CSV/JSON report.
//! No drawing here (see `ui::bench`).

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::backend::{BoardInfo, BoardMode, JobId};
use crate::error::UiError;
use crate::job::{JobOutcome, JobProgress};
use crate::settings::ReportFormat;

/// Where a slot stands.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotStatus {
    /// A board is there and has not been flashed yet.
    Ready,
    /// A flash is running.
    Running,
    /// The last flash succeeded.
    Passed,
    /// The last flash failed, with the cause.
    Failed(String),
}

/// One USB socket of the bench.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Physical port path: the slot's identity.
    pub port_path: String,
    /// The board id the backend uses for it now.
    pub board: String,
    /// What the board is.
    pub title: String,
    /// Whether the board is on USB now.
    pub present: bool,
    /// Its mode now.
    pub mode: BoardMode,
    /// Where the slot stands.
    pub status: SlotStatus,
    /// The current or last job.
    pub job: Option<JobId>,
    /// Progress of that job.
    pub progress: JobProgress,
    /// IMEI, read over AT before the flash.
    pub imei: Option<String>,
    /// Revision before the flash.
    pub old_revision: Option<String>,
    /// Revision after the flash.
    pub new_revision: Option<String>,
    /// Seconds the last flash took.
    pub duration_s: Option<f64>,
    /// Flashes started on this slot for the current board.
    pub attempts: u32,
    started: Option<Instant>,
}

/// One row of the bench report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// USB port path.
    pub port: String,
    /// Chip serial from Sahara.
    pub chip_serial: String,
    /// IMEI.
    pub imei: String,
    /// Revision before.
    pub old_revision: String,
    /// Revision after.
    pub new_revision: String,
    /// "passed", "failed: …", "running", "not run".
    pub result: String,
    /// Seconds, with one decimal.
    pub duration_s: String,
}

/// All slots of the bench.
#[derive(Debug, Default)]
pub struct Bench {
    /// Start a flash as soon as a board is plugged in.
    pub armed: bool,
    slots: Vec<Slot>,
}

impl Bench {
    /// The slots, ordered by port path.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Take a new board list; returns the port paths to start now (when armed).
    pub fn on_boards(&mut self, boards: &[BoardInfo]) -> Vec<String> {
        for s in &mut self.slots {
            s.present = boards.iter().any(|b| b.port_path == s.port_path);
        }
        for b in boards {
            let idx = match self.slots.iter().position(|s| s.port_path == b.port_path) {
                Some(i) => i,
                None => {
                    self.slots.push(Slot::new(b));
                    self.slots.sort_by(|a, b| a.port_path.cmp(&b.port_path));
                    self.slots
                        .iter()
                        .position(|s| s.port_path == b.port_path)
                        .unwrap_or(0)
                }
            };
            self.slots[idx].follow(b);
        }
        if !self.armed {
            return Vec::new();
        }
        self.slots
            .iter()
            .filter(|s| s.status == SlotStatus::Ready && s.present && s.flashable())
            .map(|s| s.port_path.clone())
            .collect()
    }

    /// Mark a slot as running `job`; returns the board id to flash, if the slot can start.
    pub fn start(&mut self, port_path: &str, job: JobId) -> Option<String> {
        let s = self.slots.iter_mut().find(|s| s.port_path == port_path)?;
        if s.status == SlotStatus::Running || !s.present || !s.flashable() {
            return None;
        }
        s.status = SlotStatus::Running;
        s.job = Some(job);
        s.progress = JobProgress::default();
        s.new_revision = None;
        s.duration_s = None;
        s.attempts += 1;
        s.started = Some(Instant::now());
        Some(s.board.clone())
    }

    /// Feed a job event; returns true when the job belongs to the bench.
    pub fn on_event(&mut self, job: JobId, ev: &oasis_engine::event::Event) -> bool {
        let Some(s) = self.slots.iter_mut().find(|s| s.job == Some(job)) else {
            return false;
        };
        s.progress.apply(ev);
        match &s.progress.outcome {
            Some(JobOutcome::Finished(v)) if s.status == SlotStatus::Running => {
                s.status = SlotStatus::Passed;
                s.new_revision.clone_from(&v.running_revision);
                s.duration_s = Some(v.seconds);
            }
            Some(JobOutcome::Failed(r)) if s.status == SlotStatus::Running => {
                s.status = SlotStatus::Failed(r.message.clone());
                s.duration_s = s.started.map(|t| t.elapsed().as_secs_f64());
            }
            _ => {}
        }
        true
    }

    /// Put failed slots whose board is present back to ready; returns their port paths.
    pub fn retry_failed(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &mut self.slots {
            if matches!(s.status, SlotStatus::Failed(_)) && s.present {
                s.status = SlotStatus::Ready;
                out.push(s.port_path.clone());
            }
        }
        out
    }

    /// Start a slot over for the next board (after the user swapped it by hand).
    pub fn reset_slot(&mut self, port_path: &str) {
        if let Some(s) = self.slots.iter_mut().find(|s| s.port_path == port_path)
            && s.status != SlotStatus::Running
        {
            let present = s.present;
            *s = Slot {
                present,
                ..Slot::new_from(s)
            };
        }
    }

    /// Jobs still running.
    pub fn running_jobs(&self) -> Vec<JobId> {
        self.slots
            .iter()
            .filter(|s| s.status == SlotStatus::Running)
            .filter_map(|s| s.job)
            .collect()
    }

    /// True while a running slot's board must not be unplugged.
    pub fn any_critical(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.status == SlotStatus::Running && s.progress.critical)
    }

    /// The report, one row per slot.
    pub fn report(&self) -> Vec<ReportRow> {
        self.slots.iter().map(Slot::row).collect()
    }
}

impl Slot {
    fn new(b: &BoardInfo) -> Slot {
        Slot {
            port_path: b.port_path.clone(),
            board: b.id.clone(),
            title: b.title.clone(),
            present: true,
            mode: b.mode,
            status: SlotStatus::Ready,
            job: None,
            progress: JobProgress::default(),
            imei: None,
            old_revision: None,
            new_revision: None,
            duration_s: None,
            attempts: 0,
            started: None,
        }
    }

    fn new_from(old: &Slot) -> Slot {
        Slot {
            port_path: old.port_path.clone(),
            board: old.board.clone(),
            title: old.title.clone(),
            present: old.present,
            mode: old.mode,
            status: SlotStatus::Ready,
            job: None,
            progress: JobProgress::default(),
            imei: None,
            old_revision: None,
            new_revision: None,
            duration_s: None,
            attempts: 0,
            started: None,
        }
    }

    fn flashable(&self) -> bool {
        matches!(self.mode, BoardMode::Normal | BoardMode::Edl)
    }

    /// Follow the board on this socket: its id and mode change as it re-enumerates. A finished
    /// slot starts over only when the board on it is provably another one (a different IMEI or
    /// chip serial): a board rebooting after its flash must never be flashed again by itself.
    fn follow(&mut self, b: &BoardInfo) {
        let known_serial = self
            .progress
            .identity
            .as_ref()
            .and_then(|i| i.serial.as_ref());
        // Serials compare without case: USB says `_SN:5E6F7A8B`, Sahara `0x5e6f7a8b`.
        let differs = |seen: &Option<String>, known: Option<&String>| matches!((seen, known), (Some(a), Some(k)) if !a.eq_ignore_ascii_case(k));
        let finished = matches!(self.status, SlotStatus::Passed | SlotStatus::Failed(_));
        if finished && (differs(&b.imei, self.imei.as_ref()) || differs(&b.serial, known_serial)) {
            *self = Slot::new(b);
        }
        self.board.clone_from(&b.id);
        self.title.clone_from(&b.title);
        self.mode = b.mode;
        if self.imei.is_none() && b.imei.is_some() {
            self.imei.clone_from(&b.imei);
        }
        let normal = b.mode == BoardMode::Normal && b.revision.is_some();
        if self.attempts == 0 && normal {
            // Before any flash: what the board runs now is the "old" revision.
            self.old_revision.clone_from(&b.revision);
        } else if self.status == SlotStatus::Passed && self.new_revision.is_none() && normal {
            // The engine could not confirm it; the board reports it since its restart.
            self.new_revision.clone_from(&b.revision);
        }
    }

    fn row(&self) -> ReportRow {
        let result = match &self.status {
            SlotStatus::Ready if self.attempts == 0 => "not run".to_owned(),
            SlotStatus::Ready => "waiting to retry".to_owned(),
            SlotStatus::Running => "running".to_owned(),
            SlotStatus::Passed => "passed".to_owned(),
            SlotStatus::Failed(why) => format!("failed: {why}"),
        };
        let serial = self
            .progress
            .identity
            .as_ref()
            .and_then(|i| i.serial.clone());
        ReportRow {
            port: self.port_path.clone(),
            chip_serial: serial.unwrap_or_default(),
            imei: self.imei.clone().unwrap_or_default(),
            old_revision: self.old_revision.clone().unwrap_or_default(),
            new_revision: self.new_revision.clone().unwrap_or_default(),
            result,
            duration_s: self
                .duration_s
                .map(|d| format!("{d:.1}"))
                .unwrap_or_default(),
        }
    }
}

/// The report as CSV (RFC 4180 quoting), with a header line.
pub fn to_csv(rows: &[ReportRow]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    let mut out =
        String::from("port,chip_serial,imei,old_revision,new_revision,result,duration_s\n");
    for r in rows {
        let cells = [
            &r.port,
            &r.chip_serial,
            &r.imei,
            &r.old_revision,
            &r.new_revision,
            &r.result,
            &r.duration_s,
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Write the report to `path` in `format`.
pub fn write_report(path: &Path, rows: &[ReportRow], format: ReportFormat) -> Result<(), UiError> {
    let text = match format {
        ReportFormat::Csv => to_csv(rows),
        ReportFormat::Json => {
            serde_json::to_string_pretty(rows).map_err(|e| UiError::WriteFile {
                path: path.to_owned(),
                reason: e.to_string(),
            })?
        }
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| UiError::WriteFile {
            path: dir.to_owned(),
            reason: e.to_string(),
        })?;
    }
    std::fs::write(path, text).map_err(|e| UiError::WriteFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BoardState;

    fn board(port: &str, mode: BoardMode) -> BoardInfo {
        BoardInfo {
            id: format!("id-{port}-{mode:?}"),
            port_path: port.into(),
            title: "BG95".into(),
            mode,
            state: BoardState::EdlWaiting,
            detail: String::new(),
            is_virtual: false,
            revision: (mode == BoardMode::Normal).then(|| "OLD01".into()),
            imei: (mode == BoardMode::Normal).then(|| "861234567890123".into()),
            serial: None,
        }
    }

    #[test]
    fn a_slot_follows_its_board_across_modes_and_starts_only_when_armed() {
        let mut b = Bench::default();
        assert!(b.on_boards(&[board("1-1", BoardMode::Normal)]).is_empty());
        b.armed = true;
        assert_eq!(b.on_boards(&[board("1-1", BoardMode::Normal)]), vec!["1-1"]);
        assert_eq!(b.start("1-1", 7).as_deref(), Some("id-1-1-Normal"));
        // Re-enumerates as 9008 on the same socket: same slot, new id, still running.
        assert!(b.on_boards(&[board("1-1", BoardMode::Edl)]).is_empty());
        assert_eq!(b.slots().len(), 1);
        assert_eq!(b.slots()[0].board, "id-1-1-Edl");
        assert_eq!(b.slots()[0].status, SlotStatus::Running);
        assert_eq!(b.slots()[0].old_revision.as_deref(), Some("OLD01"));
        assert_eq!(
            b.start("1-1", 8),
            None,
            "a running slot is not started twice"
        );
        assert_eq!(b.running_jobs(), vec![7]);
    }

    #[test]
    fn a_finished_slot_restarts_only_for_a_different_board() {
        let mut b = Bench {
            armed: true,
            ..Bench::default()
        };
        b.on_boards(&[board("2-1", BoardMode::Normal)]);
        b.start("2-1", 1);
        let done = oasis_engine::event::Event::Finished(oasis_engine::event::Verdict {
            summary: "ok".into(),
            verified: vec![],
            skipped: vec![],
            bytes: 1,
            seconds: 2.0,
            confirmed: true,
            running_revision: Some("NEW02".into()),
        });
        assert!(b.on_event(1, &done));
        assert!(!b.on_event(99, &done), "foreign jobs are not the bench's");
        // The same board comes back after its reset: not flashed again, and what it reports now
        // is the new revision (not the old one).
        assert!(b.on_boards(&[]).is_empty());
        assert_eq!(b.slots()[0].old_revision.as_deref(), Some("OLD01"));
        assert!(b.on_boards(&[board("2-1", BoardMode::Normal)]).is_empty());
        let row = &b.report()[0];
        assert_eq!(
            (
                row.old_revision.as_str(),
                row.new_revision.as_str(),
                row.result.as_str()
            ),
            ("OLD01", "NEW02", "passed")
        );
        assert_eq!(row.duration_s, "2.0");
        // Another board (another IMEI) on the same socket: a fresh slot, started at once.
        let mut other = board("2-1", BoardMode::Normal);
        other.imei = Some("869999999999999".into());
        assert_eq!(b.on_boards(&[other]), vec!["2-1"]);
        assert_eq!(b.report()[0].result, "not run");
    }

    #[test]
    fn csv_quotes_fields_that_need_it() {
        let row = ReportRow {
            port: "1-1".into(),
            chip_serial: "0a1b2c3d".into(),
            imei: String::new(),
            old_revision: "A".into(),
            new_revision: "B".into(),
            result: "failed: board said \"no\", twice".into(),
            duration_s: "3.5".into(),
        };
        let csv = to_csv(&[row]);
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("port,chip_serial,imei,old_revision,new_revision,result,duration_s")
        );
        assert_eq!(
            lines.next(),
            Some("1-1,0a1b2c3d,,A,B,\"failed: board said \"\"no\"\", twice\",3.5")
        );
    }
}
