//! A link the test opened itself (an in-process virtual board, a tap on one) put on the job
//! request's bus under the request's port name, in front of the bus the request already has:
//! the job then opens it the way it opens any port.

use oasis_engine::{BackupRequest, DumpRequest, FlashRequest, RamdumpRequest, RestoreRequest};
use oasis_transport::{LinkBus, Transport};

/// A job request whose port can be a link the caller holds.
pub trait OnLink: Sized {
    /// The request with `link` on its bus under its port name.
    fn on_link(self, link: Box<dyn Transport>) -> Self;
}

macro_rules! on_link {
    ($($t:ty),*) => {$(
        impl OnLink for $t {
            fn on_link(mut self, link: Box<dyn Transport>) -> Self {
                self.bus = LinkBus::before(self.port.clone(), link, self.bus.clone());
                self
            }
        }
    )*};
}

on_link!(
    FlashRequest,
    BackupRequest,
    RestoreRequest,
    DumpRequest,
    RamdumpRequest
);
