//! The bus every command works on: this computer's USB and serial ports, joined with a bus of
//! virtual boards made on demand, so `--port virtual:eg25@normal` is a board the engine finds
//! and opens the way it finds and opens a real one (USB listing, DM switch, 9008).

use oasis_transport::{BusHandle, JoinedBus};
use oasis_vdev::{BusTiming, VirtualBus};

/// The virtual boards the command's port names ask for, then this computer (asked second,
/// so its own answer is the one a user sees for a port neither has).
pub fn cli_bus() -> BusHandle {
    BusHandle::new(JoinedBus::new(vec![
        VirtualBus::on_demand(BusTiming::default()).handle(),
        BusHandle::system(),
    ]))
}
