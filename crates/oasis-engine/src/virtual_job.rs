//! Flash jobs on a caller-owned virtual board, the whole way a module goes: a board that runs
//! its firmware is switched to download mode through its DM port (diag's download-mode
//! command) and followed until it is back as 05C6:9008, then flashed, reset, and followed to
//! its AT port to confirm the revision it now runs (`options.confirm`).
//!
//! The job is the normal flash flow ([`crate::flow::flash`]) handed the board, so the switch
//! happens inside the Connect phase after the package was checked, and the bundle, backup,
//! resume and confirm options work as for any other port.

use oasis_vdev::VirtualBoard;

use crate::bundle::Timeline;
use crate::bundle::run;
use crate::event::Event;
use crate::job::{JobHandle, spawn_job, thread_name};
use crate::options::FlashRequest;

/// Start a flash job (`oasis-flash-<port>`) on `board`, which the caller keeps a handle to
/// (clones share the board). `req.port` only names the job (e.g. the board's id in a list).
///
/// A board in normal mode is switched to download mode first (bounded by
/// `timeouts.edl_switch`); one that is neither in normal nor in download mode fails the
/// Connect phase with the reason. With `options.confirm` the Confirm phase follows the board
/// through its reset (`after_reset()`), asks ATI and AT+QGMR and compares the revision with
/// the package's, so the verdict says `confirmed` with the revision the board reports.
pub fn spawn_flash_virtual(
    req: FlashRequest,
    board: VirtualBoard,
    sink: Box<dyn FnMut(Event) + Send>,
) -> JobHandle {
    let name = thread_name("flash", &req.port);
    let timeline = run::wanted(&req.options).then(Timeline::default);
    let sink = run::tee(sink, timeline.clone());
    spawn_job(name, sink, move |em| {
        run::with_bundle(&req, timeline.as_ref(), em, |em, rec| {
            crate::flow::flash(&req, Some(board), em, rec)
        })
    })
}
