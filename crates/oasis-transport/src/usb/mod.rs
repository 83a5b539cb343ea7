//! USB bulk transport to a Qualcomm EDL device (05C6:9008 and any 05C6 device with an EDL
//! interface) through rusb/libusb: selection, kernel-driver detach, claim, bulk I/O with ZLPs.
//!
//! Each `read` returns one bulk transfer ([`LinkKind::Packet`]); zero-length packets are
//! swallowed. A write whose total length is a multiple of wMaxPacketSize is followed by a ZLP
//! (ZlpAwareHost=1, as qdl and QFirehose do).

mod find;

use std::time::{Duration, Instant};

use rusb::{Context, DeviceHandle, Direction, TransferType};

pub use find::{
    EDL_PID, QUALCOMM_VID, QUECTEL_VID, UsbStrings, is_edl_interface, serial_from_product,
};
pub(crate) use find::{context, map_rusb, port_path, read_strings};

use crate::spec::UsbSelector;
use crate::{LinkKind, Transport, TransportError, TransportErrorKind};

/// Largest single bulk OUT submission; longer writes are split (one ZLP at the very end).
pub const MAX_CHUNK: usize = 1024 * 1024;

/// An opened, claimed EDL interface.
pub struct UsbTransport {
    handle: DeviceHandle<Context>,
    interface: u8,
    ep_in: u8,
    ep_out: u8,
    mps_in: usize,
    mps_out: usize,
    reattach: bool,
    link: String,
    /// Bytes of the last transfer that did not fit the caller's buffer.
    pending: Vec<u8>,
    staging: Vec<u8>,
}

impl std::fmt::Debug for UsbTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsbTransport")
            .field("link", &self.link)
            .field("interface", &self.interface)
            .field("ep_in", &self.ep_in)
            .field("ep_out", &self.ep_out)
            .field("mps_out", &self.mps_out)
            .finish_non_exhaustive()
    }
}

/// Bulk endpoints of an interface: (in address, in max packet, out address, out max packet).
fn bulk_endpoints(device: &rusb::Device<Context>, interface: u8) -> Option<(u8, usize, u8, usize)> {
    let config = device
        .active_config_descriptor()
        .or_else(|_| device.config_descriptor(0))
        .ok()?;
    let iface = config.interfaces().find(|i| i.number() == interface)?;
    let alt = iface.descriptors().next()?;
    let mut ep_in = None;
    let mut ep_out = None;
    for ep in alt.endpoint_descriptors() {
        if ep.transfer_type() != TransferType::Bulk {
            continue;
        }
        let mps = usize::from(ep.max_packet_size() & 0x7FF).max(1);
        match ep.direction() {
            Direction::In => ep_in = ep_in.or(Some((ep.address(), mps))),
            Direction::Out => ep_out = ep_out.or(Some((ep.address(), mps))),
        }
    }
    let ((i, mi), (o, mo)) = (ep_in?, ep_out?);
    Some((i, mi, o, mo))
}

impl UsbTransport {
    /// Find, open and claim the EDL device `selector` names.
    pub fn open(selector: &UsbSelector) -> Result<Self, TransportError> {
        let spec = crate::PortSpec::Usb(selector.clone()).to_string();
        let ctx = context(&spec)?;
        let found = find::candidates(&ctx)?;
        let chosen = find::select(found, selector)?;
        let link = format!(
            "usb {} ({:04x}:{:04x})",
            chosen.port_path, chosen.vid, chosen.pid
        );
        let (ep_in, mps_in, ep_out, mps_out) = bulk_endpoints(&chosen.device, chosen.interface)
            .ok_or_else(|| {
                TransportError::new(TransportErrorKind::Unsupported, "open", link.clone())
                    .with_detail(format!(
                        "EDL interface {} has no bulk IN/OUT endpoint pair",
                        chosen.interface
                    ))
            })?;
        let handle = chosen
            .device
            .open()
            .map_err(|e| map_rusb(e, "open", &link))?;
        let reattach = detach_kernel_driver(&handle, chosen.interface, &link)?;
        handle
            .claim_interface(chosen.interface)
            .map_err(|e| map_rusb(e, "claim interface", &link))?;
        Ok(Self {
            handle,
            interface: chosen.interface,
            ep_in,
            ep_out,
            mps_in,
            mps_out,
            reattach,
            link,
            pending: Vec::new(),
            staging: Vec::new(),
        })
    }

    /// wMaxPacketSize of the bulk OUT endpoint (512 on USB 2 high speed).
    pub fn max_packet_size(&self) -> usize {
        self.mps_out
    }

    /// Read the manufacturer, product and serial strings (control transfers).
    pub fn strings(&self, timeout: Duration) -> Result<UsbStrings, TransportError> {
        let device = self.handle.device();
        let desc = device
            .device_descriptor()
            .map_err(|e| map_rusb(e, "read device descriptor", &self.link))?;
        Ok(read_strings(&self.handle, &desc, timeout))
    }

    fn bulk_out(&self, data: &[u8], deadline: Instant) -> Result<usize, rusb::Error> {
        self.handle
            .write_bulk(self.ep_out, data, remaining(deadline)?)
    }
}

/// Time left before `deadline` as a libusb timeout: at least 1 ms (0 means "forever" to libusb).
fn remaining(deadline: Instant) -> Result<Duration, rusb::Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(rusb::Error::Timeout);
    }
    Ok(left.max(Duration::from_millis(1)))
}

/// Detach qcserial (or any kernel driver) from the EDL interface. Returns whether one was.
fn detach_kernel_driver(
    handle: &DeviceHandle<Context>,
    interface: u8,
    link: &str,
) -> Result<bool, TransportError> {
    if !cfg!(target_os = "linux") {
        return Ok(false);
    }
    // Unknown (e.g. the query is unsupported) counts as "no driver": claim will tell.
    if !handle.kernel_driver_active(interface).unwrap_or(false) {
        return Ok(false);
    }
    handle
        .detach_kernel_driver(interface)
        .map_err(|e| map_rusb(e, "detach kernel driver (qcserial)", link))?;
    Ok(true)
}

impl Drop for UsbTransport {
    fn drop(&mut self) {
        // Give the interface back (and qcserial, if we took it away); no device traffic.
        let _ = self.handle.release_interface(self.interface);
        if self.reattach {
            let _ = self.handle.attach_kernel_driver(self.interface);
        }
    }
}

impl Transport for UsbTransport {
    fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), TransportError> {
        let deadline = Instant::now() + timeout;
        let mut written = 0;
        for chunk in buf.chunks(MAX_CHUNK) {
            let mut off = 0;
            while off < chunk.len() {
                let part = chunk.get(off..).unwrap_or_default();
                match self.bulk_out(part, deadline) {
                    Ok(0) => {
                        return Err(TransportError::new(
                            TransportErrorKind::Io,
                            "write",
                            self.link.clone(),
                        )
                        .with_detail("bulk OUT accepted no bytes")
                        .with_written(written));
                    }
                    Ok(n) => {
                        off += n;
                        written += n;
                    }
                    Err(e) => return Err(map_rusb(e, "write", &self.link).with_written(written)),
                }
            }
        }
        if !buf.is_empty() && buf.len().is_multiple_of(self.mps_out) {
            self.bulk_out(&[], deadline).map_err(|e| {
                map_rusb(e, "write zero-length packet", &self.link).with_written(written)
            })?;
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.pending.is_empty() {
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        let deadline = Instant::now() + timeout;
        // libusb needs whole packets: a buffer that is not a multiple of wMaxPacketSize could
        // overflow on a full-size packet, so read into a rounded-up staging buffer then.
        let want = buf.len().div_ceil(self.mps_in) * self.mps_in;
        loop {
            let t = remaining(deadline).map_err(|e| map_rusb(e, "read", &self.link))?;
            let got = if want == buf.len() {
                self.handle.read_bulk(self.ep_in, buf, t)
            } else {
                self.staging.resize(want, 0);
                self.handle.read_bulk(self.ep_in, &mut self.staging, t)
            };
            let n = got.map_err(|e| map_rusb(e, "read", &self.link))?;
            if n == 0 {
                continue; // a ZLP ends the previous transfer; not data
            }
            if want != buf.len() {
                let take = n.min(buf.len());
                buf[..take].copy_from_slice(&self.staging[..take]);
                self.pending.extend_from_slice(&self.staging[take..n]);
                return Ok(take);
            }
            return Ok(n);
        }
    }

    fn link_kind(&self) -> LinkKind {
        LinkKind::Packet
    }

    fn describe(&self) -> String {
        self.link.clone()
    }
}
