//! File work the user asks for (copy a support bundle, write a bench report) runs on a short
//! thread of its own, never on the UI thread; the answer comes back over a channel that the UI
//! thread drains each frame, and the thread asks for a repaint when it is done.

use std::path::{Path, PathBuf};

use crossbeam_channel::Sender;

use crate::bench::{ReportRow, write_report};
use crate::settings::ReportFormat;
use crate::state::ErrorView;
use oasis_engine::Help;

/// A finished piece of file work.
#[derive(Debug)]
pub(crate) enum FileDone {
    /// The support bundle was copied (to this path), or why not.
    BundleCopied(Result<PathBuf, String>),
    /// The bench report was written (to this path), or why not.
    ReportWritten(Result<PathBuf, ErrorView>),
    /// The demo package was written out (its folder), or why not.
    DemoInstalled(Result<PathBuf, ErrorView>),
}

/// Run `work` on a thread named `oasis-files`; its answer goes to `tx` and the UI repaints.
/// When no thread can be started, `failed` turns the reason into the answer instead.
fn spawn(
    ctx: &egui::Context,
    tx: &Sender<FileDone>,
    work: impl FnOnce() -> FileDone + Send + 'static,
    failed: impl FnOnce(String) -> FileDone,
) {
    let (thread_ctx, thread_tx) = (ctx.clone(), tx.clone());
    let spawned = std::thread::Builder::new()
        .name("oasis-files".into())
        .spawn(move || {
            let _ = thread_tx.send(work());
            thread_ctx.request_repaint();
        });
    if let Err(e) = spawned {
        let _ = tx.send(failed(format!(
            "no thread could be started for the file work: {e}"
        )));
    }
}

/// Copy the bundle at `from` to `to`.
pub(crate) fn copy_bundle(ctx: &egui::Context, tx: &Sender<FileDone>, from: PathBuf, to: PathBuf) {
    spawn(
        ctx,
        tx,
        move || {
            let result = if from == to {
                Ok(to)
            } else {
                std::fs::copy(&from, &to)
                    .map(|_| to.clone())
                    .map_err(|e| format!("The bundle could not be copied to {}: {e}", to.display()))
            };
            FileDone::BundleCopied(result)
        },
        |e| FileDone::BundleCopied(Err(e)),
    );
}

/// Write the bench report `rows` to `path` in `format`.
pub(crate) fn write_bench_report(
    ctx: &egui::Context,
    tx: &Sender<FileDone>,
    path: PathBuf,
    rows: Vec<ReportRow>,
    format: ReportFormat,
) {
    spawn(
        ctx,
        tx,
        move || {
            let result = write_report(Path::new(&path), &rows, format)
                .map(|()| path.clone())
                .map_err(|e| ErrorView {
                    message: e.to_string(),
                    help: e.help().map(String::from).unwrap_or_default(),
                });
            FileDone::ReportWritten(result)
        },
        |e| {
            FileDone::ReportWritten(Err(ErrorView {
                message: e,
                help: "Try again; if it persists, restart Oasis.".into(),
            }))
        },
    );
}

/// Write the built-in demo package under `dir` (kept when already there).
pub(crate) fn install_demo(ctx: &egui::Context, tx: &Sender<FileDone>, dir: PathBuf) {
    spawn(
        ctx,
        tx,
        move || {
            FileDone::DemoInstalled(crate::demo::install(&dir).map_err(|e| ErrorView {
                message: e.to_string(),
                help: e.help().map(String::from).unwrap_or_default(),
            }))
        },
        |e| {
            FileDone::DemoInstalled(Err(ErrorView {
                message: e,
                help: "Open a package folder instead.".into(),
            }))
        },
    );
}
