//! File choice behind a trait: the real picker runs rfd's dialog on a named thread (it may
//! return `None` at once where no desktop portal exists, so the UI always has a path field too);
//! tests use [`NoPicker`] or [`FixedPicker`].

use std::path::PathBuf;

use crossbeam_channel::Sender;

use crate::backend::Waker;

/// What the chosen path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickPurpose {
    /// A package folder.
    PackageFolder,
    /// A zipped package.
    PackageZip,
    /// Where to save the bench report.
    Report,
    /// Where to save a copy of a support bundle.
    Bundle,
}

/// The answer of a picker.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    /// What it was for.
    pub purpose: PickPurpose,
    /// The path, or `None` when cancelled or when no dialog is available.
    pub path: Option<PathBuf>,
}

/// Shows file dialogs without blocking the UI; the answer goes to `reply`.
pub trait Picker {
    /// Ask for a path for `purpose`, starting in `start` (a folder) with `name` as the suggested
    /// file name when saving.
    fn pick(&self, purpose: PickPurpose, start: Option<PathBuf>, name: &str, reply: Sender<Picked>);
}

/// The rfd dialogs, on a named thread.
pub struct RfdPicker {
    waker: Waker,
}

impl std::fmt::Debug for RfdPicker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RfdPicker")
    }
}

impl RfdPicker {
    /// A picker that wakes the UI with `waker` when the user answered.
    pub fn new(waker: Waker) -> RfdPicker {
        RfdPicker { waker }
    }
}

impl Picker for RfdPicker {
    fn pick(
        &self,
        purpose: PickPurpose,
        start: Option<PathBuf>,
        name: &str,
        reply: Sender<Picked>,
    ) {
        let waker = std::sync::Arc::clone(&self.waker);
        let name = name.to_owned();
        let run = move || {
            let mut dialog = rfd::FileDialog::new();
            if let Some(dir) = start.filter(|d| d.is_dir()) {
                dialog = dialog.set_directory(dir);
            }
            let path = match purpose {
                PickPurpose::PackageFolder => {
                    dialog.set_title("Open a firmware package").pick_folder()
                }
                PickPurpose::PackageZip => dialog
                    .set_title("Open a zipped firmware package")
                    .add_filter("zip", &["zip"])
                    .pick_file(),
                PickPurpose::Report => dialog
                    .set_title("Save the bench report")
                    .set_file_name(&name)
                    .save_file(),
                PickPurpose::Bundle => dialog
                    .set_title("Save the support bundle")
                    .add_filter("zip", &["zip"])
                    .set_file_name(&name)
                    .save_file(),
            };
            let _ = reply.send(Picked { purpose, path });
            waker();
        };
        // macOS wants dialogs on the main thread; everywhere else a worker keeps the UI live.
        if cfg!(target_os = "macos") {
            run();
        } else {
            // If no thread can be started the request is dropped; the path field still works.
            let _ = std::thread::Builder::new()
                .name("oasis-file-dialog".into())
                .spawn(run);
        }
    }
}

/// A picker that never shows a dialog (as rfd behaves without a desktop portal).
#[derive(Debug, Default)]
pub struct NoPicker;

impl Picker for NoPicker {
    fn pick(
        &self,
        purpose: PickPurpose,
        _start: Option<PathBuf>,
        _name: &str,
        reply: Sender<Picked>,
    ) {
        let _ = reply.send(Picked {
            purpose,
            path: None,
        });
    }
}

/// A picker that always answers with one path (tests).
#[derive(Debug)]
pub struct FixedPicker(pub PathBuf);

impl Picker for FixedPicker {
    fn pick(
        &self,
        purpose: PickPurpose,
        _start: Option<PathBuf>,
        _name: &str,
        reply: Sender<Picked>,
    ) {
        let _ = reply.send(Picked {
            purpose,
            path: Some(self.0.clone()),
        });
    }
}
