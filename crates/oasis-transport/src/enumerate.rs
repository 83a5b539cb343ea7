//! What is attached: USB devices of interest and serial ports, listed without opening anything
//! that could disturb a board. Never panics on machines without USB or tty sysfs.
//!
//! The types here are the evidence the diagnosis (oasis-engine `diag`) classifies.

use serde::{Deserialize, Serialize};

/// Whether Oasis can open a device it sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum Accessibility {
    /// Openable (or not yet tried, for devices Oasis does not need to open).
    Accessible,
    /// The OS refused to open it (udev rule, group, driver); detail = OS text.
    PermissionDenied(String),
    /// Another driver or program holds it (qcserial, option, ModemManager, QPST); detail names it
    /// when known.
    Busy(String),
    /// Not checked.
    Unknown,
}

/// One USB interface of a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsbInterfaceInfo {
    /// bInterfaceNumber.
    pub number: u8,
    /// bInterfaceClass.
    pub class: u8,
    /// bInterfaceSubClass.
    pub subclass: u8,
    /// bInterfaceProtocol.
    pub protocol: u8,
    /// Number of endpoints.
    pub endpoints: u8,
    /// Kernel driver bound to it, where the platform tells (Linux sysfs `driver`).
    pub driver: Option<String>,
    /// Serial port this interface appears as (`/dev/ttyUSB2`, `COM7`), where known.
    pub tty: Option<String>,
}

impl UsbInterfaceInfo {
    /// A vendor-style interface with two endpoints (the shape of every serial interface of a
    /// module): its number, class/subclass/protocol, the driver bound and the tty it appears as.
    pub fn serial(
        number: u8,
        class: (u8, u8, u8),
        driver: Option<&str>,
        tty: Option<&str>,
    ) -> Self {
        Self {
            number,
            class: class.0,
            subclass: class.1,
            protocol: class.2,
            endpoints: 2,
            driver: driver.map(str::to_owned),
            tty: tty.map(str::to_owned),
        }
    }
}

/// One USB device with VID 05C6 (Qualcomm) or 2C7C (Quectel), or any device with an EDL
/// signature interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsbDeviceInfo {
    /// idVendor.
    pub vid: u16,
    /// idProduct.
    pub pid: u16,
    /// bcdDevice.
    pub bcd_device: u16,
    /// Bus number.
    pub bus: u8,
    /// Device address on the bus.
    pub address: u8,
    /// Physical port path, e.g. `1-1.4` (stable across re-enumeration on the same socket).
    pub port_path: String,
    /// Link speed, e.g. "high (480 Mbit/s)".
    pub speed: Option<String>,
    /// iManufacturer string.
    pub manufacturer: Option<String>,
    /// iProduct string (9008: `QUSB__BULK` or `QUSB__BULK_SN:<serial>`).
    pub product: Option<String>,
    /// iSerialNumber string.
    pub serial: Option<String>,
    /// Interfaces of the active configuration.
    pub interfaces: Vec<UsbInterfaceInfo>,
    /// Whether Oasis can open it.
    pub access: Accessibility,
}

/// A serial port, with its USB identity when it sits on USB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialPortInfo {
    /// Port name as the OS opens it (`/dev/ttyUSB2`, `COM7`, `/dev/cu.usbmodem1`).
    pub name: String,
    /// USB VID, if a USB port.
    pub vid: Option<u16>,
    /// USB PID, if a USB port.
    pub pid: Option<u16>,
    /// USB interface number, if known.
    pub interface: Option<u8>,
    /// USB serial number string.
    pub serial_number: Option<String>,
    /// USB manufacturer string.
    pub manufacturer: Option<String>,
    /// USB product string (Windows: the driver's friendly name, e.g. "Quectel USB AT Port").
    pub product: Option<String>,
}

impl SerialPortInfo {
    /// A port known by its name alone (no USB identity): a UART, a pty, a port the user typed.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            vid: None,
            pid: None,
            interface: None,
            serial_number: None,
            manufacturer: None,
            product: None,
        }
    }
}

/// Everything seen at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// USB devices of interest.
    pub usb: Vec<UsbDeviceInfo>,
    /// Serial ports.
    pub serial: Vec<SerialPortInfo>,
    /// Why USB could not be listed, if it could not (e.g. "USB subsystem not available").
    pub usb_error: Option<String>,
}

/// What is attached now: USB devices of interest (VID 05C6 / 2C7C, or any device with an EDL
/// interface) and serial ports.
///
/// On Linux everything comes from sysfs (`/sys/bus/usb/devices`), so no device is opened; only
/// the usbfs node of an EDL device is test-opened to tell [`Accessibility::PermissionDenied`].
/// Elsewhere libusb lists the devices and opens them to read their strings. A machine without
/// a USB subsystem gives an empty list and [`Snapshot::usb_error`], never a panic.
pub fn snapshot() -> Snapshot {
    crate::scan::snapshot()
}

pub use crate::scan::{PortRole, board_port_role, libusb_devices};
