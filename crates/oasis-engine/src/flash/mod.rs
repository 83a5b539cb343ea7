//! The flash pipeline, one file a stage: `flow` (one job: package → connect → Sahara →
//! Firehose → (backup) → (resume) → erase/program/verify/patch → reset → (confirm)), `pkgmap`
//! (the package checked and mapped to a job plan), `refuse` (refusals that need the board),
//! `plan` (phase choice), `execute`/`steps`/`pump` (the plan run with streaming and hashing),
//! `resume` (pre-verify), `confirm` (the board followed after its reset).

pub(crate) mod confirm;
pub(crate) mod execute;
pub(crate) mod flow;
pub(crate) mod pkgmap;
pub(crate) mod plan;
pub(crate) mod pump;
pub mod refuse;
pub(crate) mod resume;
pub(crate) mod steps;
