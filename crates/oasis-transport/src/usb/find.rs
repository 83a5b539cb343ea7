//! Finding the EDL device to open: the EDL interface signature, port paths, the serial from
//! iSerialNumber or `QUSB__BULK_SN:`, selection by [`UsbSelector`], and rusb error mapping.

use std::path::Path;
use std::time::Duration;

use rusb::{Context, Device, DeviceHandle, UsbContext};

use crate::spec::UsbSelector;
use crate::sysfs;
use crate::{TransportError, TransportErrorKind};

/// Qualcomm's USB vendor id.
pub const QUALCOMM_VID: u16 = 0x05C6;
/// Quectel's USB vendor id.
pub const QUECTEL_VID: u16 = 0x2C7C;
/// The EDL (Sahara/Firehose download mode) product id.
pub const EDL_PID: u16 = 0x9008;

/// Whether an interface carries the EDL signature: class ff, subclass ff, protocol ff (older
/// PBLs) or 0x10/0x11/0x13 (newer ones).
pub fn is_edl_interface(class: u8, subclass: u8, protocol: u8) -> bool {
    class == 0xFF && subclass == 0xFF && matches!(protocol, 0xFF | 0x10 | 0x11 | 0x13)
}

/// The serial a 9008 device carries in its product string: `QUSB__BULK_SN:0AB1C2D3` gives
/// `0AB1C2D3`.
pub fn serial_from_product(product: &str) -> Option<&str> {
    let (_, sn) = product.split_once("_SN:")?;
    let sn = sn.trim();
    (!sn.is_empty()).then_some(sn)
}

/// `bus-port.port…` as Linux names the socket.
pub(crate) fn port_path(bus: u8, ports: &[u8]) -> String {
    let chain: Vec<String> = ports.iter().map(u8::to_string).collect();
    if chain.is_empty() {
        format!("{bus}-0")
    } else {
        format!("{bus}-{}", chain.join("."))
    }
}

/// Map a libusb error, keeping its text.
pub(crate) fn map_rusb(e: rusb::Error, op: &'static str, link: &str) -> TransportError {
    let kind = match e {
        rusb::Error::NotFound => TransportErrorKind::NotFound,
        rusb::Error::Access => TransportErrorKind::PermissionDenied,
        rusb::Error::Busy => TransportErrorKind::Busy,
        rusb::Error::NoDevice => TransportErrorKind::Disconnected,
        rusb::Error::Timeout => TransportErrorKind::Timeout,
        rusb::Error::NotSupported => TransportErrorKind::Unsupported,
        _ => TransportErrorKind::Io,
    };
    TransportError::new(kind, op, link).with_detail(e.to_string())
}

/// A libusb context, or `Unsupported` where the OS has no USB subsystem (containers, VMs
/// without usbfs). Never uses rusb's global context, whose helpers panic there.
pub(crate) fn context(link: &str) -> Result<Context, TransportError> {
    // The bundled libusb (netlink backend) refuses to initialise without usbfs, but a system
    // libusb built with udev initialises fine and then sees nothing: ask sysfs first so both
    // builds say the same thing.
    if cfg!(target_os = "linux") && !Path::new(sysfs::USB_DEVICES).is_dir() {
        return Err(
            TransportError::new(TransportErrorKind::Unsupported, "open", link).with_detail(
                format!(
                    "USB subsystem not available ({} is missing)",
                    sysfs::USB_DEVICES
                ),
            ),
        );
    }
    Context::new().map_err(|e| {
        TransportError::new(TransportErrorKind::Unsupported, "open", link)
            .with_detail(format!("USB subsystem not available: {e}"))
    })
}

/// An EDL-capable device found on the bus.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub device: Device<Context>,
    pub vid: u16,
    pub pid: u16,
    pub port_path: String,
    /// bInterfaceNumber of the EDL interface.
    pub interface: u8,
    /// Serials from sysfs (iSerial and the `_SN:` of iProduct), where sysfs tells.
    pub sysfs_serials: Vec<String>,
}

impl Candidate {
    pub fn label(&self) -> String {
        format!("usb:{} ({:04x}:{:04x})", self.port_path, self.vid, self.pid)
    }
}

/// The first EDL interface of the active (else first) configuration.
pub(crate) fn edl_interface(device: &Device<Context>) -> Option<u8> {
    let config = device
        .active_config_descriptor()
        .or_else(|_| device.config_descriptor(0))
        .ok()?;
    config.interfaces().find_map(|iface| {
        iface.descriptors().find_map(|d| {
            is_edl_interface(d.class_code(), d.sub_class_code(), d.protocol_code())
                .then_some(d.interface_number())
        })
    })
}

/// Every Qualcomm-VID device with an EDL interface.
pub(crate) fn candidates(ctx: &Context) -> Result<Vec<Candidate>, TransportError> {
    let list = ctx
        .devices()
        .map_err(|e| map_rusb(e, "list devices", "usb"))?;
    let mut out = Vec::new();
    for device in list.iter() {
        let Ok(desc) = device.device_descriptor() else {
            continue;
        };
        if desc.vendor_id() != QUALCOMM_VID {
            continue;
        }
        let Some(interface) = edl_interface(&device) else {
            continue;
        };
        let ports = device.port_numbers().unwrap_or_default();
        let port_path = port_path(device.bus_number(), &ports);
        let sysfs_serials = sysfs_serials(&port_path);
        out.push(Candidate {
            vid: desc.vendor_id(),
            pid: desc.product_id(),
            port_path,
            interface,
            sysfs_serials,
            device,
        });
    }
    Ok(out)
}

fn sysfs_serials(port_path: &str) -> Vec<String> {
    if !cfg!(target_os = "linux") {
        return Vec::new();
    }
    let dir = Path::new(sysfs::USB_DEVICES).join(port_path);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let serial = read("serial").map(|s| s.trim().to_string());
    let from_product = read("product").and_then(|p| serial_from_product(&p).map(str::to_string));
    serial
        .into_iter()
        .chain(from_product)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Pick the device `selector` names among `found`.
pub(crate) fn select(
    found: Vec<Candidate>,
    selector: &UsbSelector,
) -> Result<Candidate, TransportError> {
    let spec = crate::PortSpec::Usb(selector.clone()).to_string();
    let listing = |c: &[Candidate]| {
        c.iter()
            .map(Candidate::label)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match selector {
        UsbSelector::Any => match found.len() {
            0 => Err(not_found(&spec)),
            1 => found.into_iter().next().ok_or_else(|| not_found(&spec)),
            _ => Err(
                TransportError::new(TransportErrorKind::Ambiguous, "open", spec).with_detail(
                    format!(
                        "{} EDL devices attached ({}); name one with usb:BUS-PORT or usb:SERIAL",
                        found.len(),
                        listing(&found)
                    ),
                ),
            ),
        },
        UsbSelector::Path(path) => {
            let seen = listing(&found);
            found
                .into_iter()
                .find(|c| c.port_path == *path)
                .ok_or_else(|| not_found_among(&spec, &seen))
        }
        UsbSelector::Serial(serial) => {
            let seen = listing(&found);
            for c in found {
                let serials = match c.sysfs_serials.is_empty() {
                    true => serials_by_open(&c),
                    false => c.sysfs_serials.clone(),
                };
                if serials.iter().any(|s| s.eq_ignore_ascii_case(serial)) {
                    return Ok(c);
                }
            }
            Err(not_found_among(&spec, &seen))
        }
    }
}

fn not_found(spec: &str) -> TransportError {
    TransportError::new(TransportErrorKind::NotFound, "open", spec)
        .with_detail("no Qualcomm EDL device (05c6:9008 or an ff/ff/ff interface) is attached")
}

fn not_found_among(spec: &str, seen: &str) -> TransportError {
    let seen = if seen.is_empty() { "none" } else { seen };
    TransportError::new(TransportErrorKind::NotFound, "open", spec).with_detail(format!(
        "no matching EDL device; attached EDL devices: {seen}"
    ))
}

/// iSerial and the `_SN:` of iProduct, read by opening the device (where sysfs does not tell).
fn serials_by_open(c: &Candidate) -> Vec<String> {
    let (Ok(handle), Ok(desc)) = (c.device.open(), c.device.device_descriptor()) else {
        return Vec::new();
    };
    let s = read_strings(&handle, &desc, Duration::from_millis(500));
    let from_product = s
        .product
        .as_deref()
        .and_then(serial_from_product)
        .map(str::to_string);
    s.serial.into_iter().chain(from_product).collect()
}

/// The three identity strings of a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsbStrings {
    /// iManufacturer.
    pub manufacturer: Option<String>,
    /// iProduct.
    pub product: Option<String>,
    /// iSerialNumber.
    pub serial: Option<String>,
}

const GET_DESCRIPTOR: u8 = 0x06;
const DT_STRING: u16 = 0x03;
const STD_DEVICE_IN: u8 = 0x80;
const ENGLISH_US: u16 = 0x0409;

/// Read one string descriptor with a fixed 255-byte request (the same setup packet whatever
/// libusb version is linked).
pub(crate) fn read_string(
    handle: &DeviceHandle<Context>,
    index: u8,
    lang: u16,
    timeout: Duration,
) -> rusb::Result<String> {
    let mut buf = [0u8; 255];
    let n = handle.read_control(
        STD_DEVICE_IN,
        GET_DESCRIPTOR,
        (DT_STRING << 8) | u16::from(index),
        lang,
        &mut buf,
        timeout,
    )?;
    let body = buf.get(..n).ok_or(rusb::Error::BadDescriptor)?;
    decode_string_descriptor(body).ok_or(rusb::Error::BadDescriptor)
}

/// bLength, bDescriptorType 3, UTF-16LE text.
pub(crate) fn decode_string_descriptor(body: &[u8]) -> Option<String> {
    let (&len, rest) = body.split_first()?;
    let (&kind, text) = rest.split_first()?;
    if kind != 0x03 || usize::from(len) > body.len() || len < 2 {
        return None;
    }
    let text = text.get(..usize::from(len) - 2)?;
    let units: Vec<u16> = text
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Some(String::from_utf16_lossy(&units))
}

/// First language of the device's table, or US English.
pub(crate) fn first_language(
    handle: &DeviceHandle<Context>,
    timeout: Duration,
) -> rusb::Result<u16> {
    let mut buf = [0u8; 255];
    let n = handle.read_control(
        STD_DEVICE_IN,
        GET_DESCRIPTOR,
        DT_STRING << 8,
        0,
        &mut buf,
        timeout,
    )?;
    match buf.get(2..4).filter(|_| n >= 4) {
        Some(&[lo, hi]) => Ok(u16::from_le_bytes([lo, hi])),
        _ => Ok(ENGLISH_US),
    }
}

/// Read manufacturer, product and serial strings; a string that cannot be read is `None`.
pub(crate) fn read_strings(
    handle: &DeviceHandle<Context>,
    desc: &rusb::DeviceDescriptor,
    timeout: Duration,
) -> UsbStrings {
    let indexes = [
        desc.manufacturer_string_index(),
        desc.product_string_index(),
        desc.serial_number_string_index(),
    ];
    if indexes.iter().all(|i| i.unwrap_or(0) == 0) {
        return UsbStrings::default();
    }
    let lang = first_language(handle, timeout).unwrap_or(ENGLISH_US);
    let get = |i: Option<u8>| {
        i.filter(|&i| i != 0)
            .and_then(|i| read_string(handle, i, lang, timeout).ok())
    };
    UsbStrings {
        manufacturer: get(indexes[0]),
        product: get(indexes[1]),
        serial: get(indexes[2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edl_signature() {
        for p in [0xFF, 0x10, 0x11, 0x13] {
            assert!(is_edl_interface(0xFF, 0xFF, p));
        }
        assert!(
            !is_edl_interface(0xFF, 0xFF, 0x30),
            "DIAG on newer modules is ff/ff/30"
        );
        assert!(!is_edl_interface(0xFF, 0x00, 0x00), "AT port");
        assert!(!is_edl_interface(0x02, 0xFF, 0xFF));
    }

    #[test]
    fn serial_from_product_string() {
        assert_eq!(
            serial_from_product("QUSB__BULK_SN:0AB1C2D3"),
            Some("0AB1C2D3")
        );
        assert_eq!(serial_from_product("QUSB__BULK"), None);
        assert_eq!(serial_from_product("QHSUSB__BULK"), None);
        assert_eq!(serial_from_product("QUSB__BULK_SN:"), None);
    }

    #[test]
    fn port_paths() {
        assert_eq!(port_path(1, &[1, 4]), "1-1.4");
        assert_eq!(port_path(3, &[2]), "3-2");
    }

    #[test]
    fn rusb_errors_keep_kind_and_text() {
        let cases = [
            (rusb::Error::NotFound, TransportErrorKind::NotFound),
            (rusb::Error::Access, TransportErrorKind::PermissionDenied),
            (rusb::Error::Busy, TransportErrorKind::Busy),
            (rusb::Error::NoDevice, TransportErrorKind::Disconnected),
            (rusb::Error::Timeout, TransportErrorKind::Timeout),
            (rusb::Error::Pipe, TransportErrorKind::Io),
            (rusb::Error::Io, TransportErrorKind::Io),
        ];
        for (e, want) in cases {
            let got = map_rusb(e, "claim interface", "usb 1-1 (05c6:9008)");
            assert_eq!(got.kind, want);
            assert_eq!(got.detail.as_deref(), Some(e.to_string().as_str()));
            assert!(
                got.to_string().starts_with("claim interface on usb 1-1"),
                "{got}"
            );
        }
    }

    #[test]
    fn string_descriptor_decoding() {
        let mut d = vec![0u8, 3];
        for u in "QUSB__BULK".encode_utf16() {
            d.extend_from_slice(&u.to_le_bytes());
        }
        d[0] = d.len() as u8;
        assert_eq!(decode_string_descriptor(&d).as_deref(), Some("QUSB__BULK"));
        assert_eq!(
            decode_string_descriptor(&[4, 2, 0x41, 0]),
            None,
            "wrong descriptor type"
        );
        assert_eq!(
            decode_string_descriptor(&[40, 3, 0x41, 0]),
            None,
            "bLength beyond data"
        );
        assert_eq!(decode_string_descriptor(&[]), None);
    }
}
