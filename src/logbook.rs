//! The run's log: every line the app, the boards and the jobs produce, kept in memory for the
//! log pane's filter and appended to a per-run file in the data folder as it arrives. The file
//! is written by a thread of its own (`oasis-logbook`): the UI thread only sends the line over
//! a channel, so a slow or full disk never stalls a frame.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};

/// How important a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Bytes-level chatter (device log lines).
    Detail,
    /// Normal progress.
    Info,
    /// Something the user may want to know.
    Warn,
    /// A failure.
    Error,
}

impl Severity {
    /// Fixed-width tag for the file and the pane.
    pub fn tag(self) -> &'static str {
        match self {
            Severity::Detail => "DETAIL",
            Severity::Info => "INFO ",
            Severity::Warn => "WARN ",
            Severity::Error => "ERROR",
        }
    }
}

/// One log line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Seconds since the app started.
    pub t: f64,
    /// Severity.
    pub severity: Severity,
    /// Where it came from: "app", "board 1-1.4", "job 3".
    pub source: String,
    /// The text.
    pub text: String,
}

impl LogLine {
    /// The line as written to the file and copied to the clipboard.
    pub fn render(&self) -> String {
        format!(
            "{:9.3} {} [{}] {}",
            self.t,
            self.severity.tag(),
            self.source,
            self.text
        )
    }
}

/// What the UI thread asks of the writer thread.
#[derive(Debug)]
enum ToWriter {
    /// Append this rendered line.
    Line(String),
    /// Flush, then answer (tests, and the app before it exits).
    Sync(Sender<()>),
}

/// Lines in memory plus the per-run file.
#[derive(Debug)]
pub struct Logbook {
    started: Instant,
    lines: Vec<LogLine>,
    writer: Option<Sender<ToWriter>>,
    path: Option<PathBuf>,
    errors: Option<Receiver<String>>,
    file_error: RefCell<Option<String>>,
}

/// The writer thread: create the file, append lines, flush whenever the queue runs dry. The
/// first error is reported once and ends the thread (the log stays in memory).
fn write_lines(path: &Path, rx: &Receiver<ToWriter>, errors: &Sender<String>) {
    let created = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| File::create(path));
    let mut file = match created {
        Ok(f) => BufWriter::new(f),
        Err(e) => {
            let _ = errors.send(format!("{}: {e}", path.display()));
            return;
        }
    };
    while let Ok(msg) = rx.recv() {
        let result = match msg {
            ToWriter::Line(text) => writeln!(file, "{text}")
                .and_then(|()| if rx.is_empty() { file.flush() } else { Ok(()) }),
            ToWriter::Sync(done) => {
                let r = file.flush();
                let _ = done.send(());
                r
            }
        };
        if let Err(e) = result {
            let _ = errors.send(format!("{}: {e}", path.display()));
            return;
        }
    }
    let _ = file.flush();
}

/// Most lines kept in memory (the file keeps all).
const MAX_LINES: usize = 50_000;

impl Logbook {
    /// A log that writes to `dir/oasis-<UTC date>-<time>.log` (created as needed); with `None`
    /// it stays in memory.
    pub fn new(dir: Option<&Path>) -> Logbook {
        let mut log = Logbook {
            started: Instant::now(),
            lines: Vec::new(),
            writer: None,
            path: None,
            errors: None,
            file_error: RefCell::new(None),
        };
        if let Some(dir) = dir {
            let path = dir.join(format!("oasis-{}.log", utc_stamp(SystemTime::now())));
            let (tx, rx) = crossbeam_channel::unbounded();
            let (err_tx, err_rx) = crossbeam_channel::bounded(1);
            let at = path.clone();
            let spawned = std::thread::Builder::new()
                .name("oasis-logbook".into())
                .spawn(move || write_lines(&at, &rx, &err_tx));
            match spawned {
                Ok(_) => {
                    log.writer = Some(tx);
                    log.errors = Some(err_rx);
                    log.path = Some(path);
                }
                Err(e) => *log.file_error.get_mut() = Some(format!("{}: {e}", path.display())),
            }
        }
        log
    }

    /// Append a line (the writer thread appends it to the file).
    pub fn push(&mut self, severity: Severity, source: &str, text: impl Into<String>) {
        let line = LogLine {
            t: self.started.elapsed().as_secs_f64(),
            severity,
            source: source.to_owned(),
            text: text.into(),
        };
        if let Some(w) = &self.writer
            && w.send(ToWriter::Line(line.render())).is_err()
        {
            // The writer ended on an error; `file_error` says which.
            self.writer = None;
        }
        self.lines.push(line);
        if self.lines.len() > MAX_LINES {
            self.lines.drain(..MAX_LINES / 10);
        }
    }

    /// All lines in memory.
    pub fn lines(&self) -> &[LogLine] {
        &self.lines
    }

    /// Lines whose source or text contains `needle` (case-insensitive) at `min` or above.
    pub fn filtered<'a>(
        &'a self,
        needle: &'a str,
        min: Severity,
    ) -> impl Iterator<Item = &'a LogLine> + 'a {
        let needle = needle.to_lowercase();
        self.lines.iter().filter(move |l| {
            l.severity >= min
                && (needle.is_empty()
                    || l.text.to_lowercase().contains(&needle)
                    || l.source.to_lowercase().contains(&needle))
        })
    }

    /// Lines of one source, rendered (the "raw log" behind a verdict).
    pub fn of_source(&self, source: &str) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.source == source)
            .map(LogLine::render)
            .collect()
    }

    /// The per-run file, when it could be created.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Why the file could not be written, if it could not.
    pub fn file_error(&self) -> Option<String> {
        if let Some(e) = self.errors.as_ref().and_then(|rx| rx.try_recv().ok()) {
            *self.file_error.borrow_mut() = Some(e);
        }
        self.file_error.borrow().clone()
    }

    /// Wait until every line pushed so far is in the file (tests; the app before it exits).
    pub fn sync(&self) {
        let Some(w) = &self.writer else {
            return;
        };
        let (tx, rx) = crossbeam_channel::bounded(1);
        if w.send(ToWriter::Sync(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

/// `YYYYMMDD-HHMMSS` in UTC, for file names.
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps_are_calendar_dates() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // 2024-02-29 12:34:56
        assert_eq!(utc_stamp(t), "20240229-123456");
    }

    #[test]
    fn lines_go_to_the_file_and_filter_by_text_and_severity() {
        let dir = std::env::temp_dir().join(format!("oasis-log-{}", std::process::id()));
        let mut log = Logbook::new(Some(&dir));
        log.push(Severity::Info, "app", "started");
        log.push(Severity::Error, "job 1", "NAK on modem");
        log.push(Severity::Detail, "job 1", "device: hello");
        log.sync();
        let path = log.path().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains("ERROR [job 1] NAK on modem"));
        assert_eq!(log.filtered("nak", Severity::Detail).count(), 1);
        assert_eq!(log.filtered("JOB", Severity::Info).count(), 1);
        assert_eq!(log.filtered("", Severity::Detail).count(), 3);
        assert_eq!(log.of_source("job 1").len(), 2);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_folder_that_cannot_be_made_is_reported_and_the_log_stays_in_memory() {
        let base = std::env::temp_dir().join(format!("oasis-log-bad-{}", std::process::id()));
        std::fs::write(&base, b"a file, not a folder").unwrap();
        let mut log = Logbook::new(Some(&base.join("sub")));
        log.push(Severity::Info, "app", "still kept");
        log.sync();
        // The writer reports asynchronously; give it the time it needs, boundedly.
        let mut err = log.file_error();
        for _ in 0..200 {
            if err.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            err = log.file_error();
        }
        assert!(err.is_some_and(|e| e.contains("sub")));
        assert_eq!(log.lines().len(), 1);
        let _ = std::fs::remove_file(base);
    }
}
