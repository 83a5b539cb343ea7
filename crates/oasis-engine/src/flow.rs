//! The flash flow: package → plan → connect → Sahara → Firehose → erase/program/verify/patch →
//! reset. Runs on the job's worker thread and reports through the [`Emitter`].

use crate::error::EngineError;
use crate::event::Verdict;
use crate::options::FlashRequest;
use crate::progress::Emitter;

/// Run one flash job.
pub(crate) fn flash(req: &FlashRequest, em: &mut Emitter) -> Result<Verdict, EngineError> {
    em.check_cancel()?;
    Err(EngineError::Internal(format!(
        "flashing {} is not available in this build yet",
        req.package.display()
    )))
}
