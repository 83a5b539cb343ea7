//! Starting a flash from the app: the engine options a job asks for, and the job itself on the
//! link the board is reached by. The refusals that need the board (the demo package on
//! hardware, a module running another model's firmware) are the engine's
//! (`oasis_engine::refuse`), made before anything is written.

use std::sync::Arc;

use oasis_engine::{FlashOptions as EngineOptions, FlashRequest};
use oasis_package::Package;
use oasis_transport::BusHandle;

use super::super::engine_serial::link_for;

use super::super::{BackendMsg, FlashJob};
use super::{Reply, Target};

/// Engine options for a job: the job's own (from the settings) plus what the app always asks.
pub(super) fn engine_options(job: &FlashJob) -> EngineOptions {
    let mut o = job.options.clone();
    // The user confirmed the destructive steps, named one by one, in the dialog before this.
    o.allow_full_erase = true;
    o.no_reset = false;
    o.demo_only_on_virtual = true;
    o
}

/// Start the engine's flash job for `job` on the board's link on `bus`, with the package as the
/// app opened it when it was picked (when it is that one). The engine makes every
/// refusal that needs the board (the demo package on hardware, a module of another model)
/// before anything is written.
pub(super) fn start_job(
    bus: &BusHandle,
    job: FlashJob,
    package: Option<Arc<Package>>,
    target: Target,
    reply: &Reply,
) -> oasis_engine::JobHandle {
    let id = job.job;
    let mut options = engine_options(&job);
    let port = match &target {
        // The COM/tty port where a serial driver holds the board, else libusb; a board in
        // normal mode is found on the bus and switched by the engine.
        Target::Usb { device, .. } => link_for(device),
        Target::Serial(b) => {
            if b.follow_same_port && options.confirm {
                // One wire carries everything (UART adapter, pty): the module's AT commands
                // come back on the port the flash used.
                options.at_port = Some(b.flash_port.clone());
            }
            b.flash_port.clone()
        }
    };
    let mut req = FlashRequest::new(&job.package, port)
        .on_bus(bus.clone())
        .with_options(options);
    if let Some(p) = package {
        // The package as the user saw it when it was picked, not opened a second time.
        req = req.with_package(p);
    }
    let to = reply.clone();
    let sink = Box::new(move |event| to.send(BackendMsg::Job { job: id, event }));
    oasis_engine::spawn_flash(req, sink)
}
