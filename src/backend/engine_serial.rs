//! Boards seen through their serial ports: a board in download mode that Windows shows only as
//! "Qualcomm HS-USB QDLoader 9008 (COMn)" (no WinUSB driver, so libusb cannot open it), a
//! module whose USB device Oasis cannot list, or a port the user added by hand in Settings (a
//! UART adapter on the module's main UART, a port without USB ids).
//!
//! Ports that sit on a USB device the enumeration lists belong to that device's row (see
//! [`link_for`]: which link a flash of a USB row uses); the rest are grouped here into one
//! row per board, described by the USB device they stand for so the engine's diagnosis gives
//! them their state badge like any other board. A port that is not Qualcomm/Quectel is never a
//! board unless the user added it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use oasis_engine::diag::usb_table::{Role, device_roles};
use oasis_transport::enumerate::{
    Accessibility, PortRole, SerialPortInfo, Snapshot, UsbDeviceInfo, UsbInterfaceInfo,
    board_port_role,
};

use super::engine_boards::real_boards;
use super::{BoardInfo, ManualPort, ManualPortKind};

/// The id prefix of boards seen only as serial ports (`serial:COM7`).
pub const SERIAL_PREFIX: &str = "serial:";

/// A board reachable only through serial ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialBoard {
    /// Its id in the list, `serial:<first port>`.
    pub id: String,
    /// The USB device its ports stand for (ids from the OS, or from what the user said), with
    /// one interface per port; `port_path` is the id. Evidence for the diagnosis.
    pub device: UsbDeviceInfo,
    /// The port a flash opens: the download-mode port, or the module's DM port.
    pub flash_port: String,
    /// The OS's name for it (Windows friendly name), when it gave one.
    pub friendly: Option<String>,
    /// Added by hand in Settings.
    pub manual: bool,
    /// After the reset the module's AT commands come back on the same port (a port added by
    /// hand without USB ids: a UART adapter, a pseudo-terminal), so the confirmation asks there.
    pub follow_same_port: bool,
}

/// Run `work` with the serial port `name` to ourselves among the backend's short sessions (AT
/// probes, identity reads, switches): a port opens once, so a diagnosis and a probe asked for
/// together take turns instead of one of them finding the port busy.
pub fn with_port<T>(name: &str, work: impl FnOnce() -> T) -> T {
    static PORTS: OnceLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> = OnceLock::new();
    let lock = {
        let mut map = PORTS
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(name.to_owned()).or_default())
    };
    let _turn = lock.lock().unwrap_or_else(PoisonError::into_inner);
    work()
}

/// How a flash of a USB board reaches it: the serial port of its download-mode interface when
/// a serial driver holds the device (Windows QDLoader, Linux qcserial) and the OS names that
/// port; libusb otherwise.
pub fn link_for(dev: &UsbDeviceInfo) -> String {
    let edl_tty = dev
        .interfaces
        .iter()
        .zip(device_roles(dev))
        .find(|(_, (_, role))| matches!(role, Role::Edl | Role::MemoryDump))
        .and_then(|(i, _)| i.tty.clone());
    match (&dev.access, edl_tty) {
        (Accessibility::Accessible, _) | (_, None) => format!("usb:{}", dev.port_path),
        (_, Some(tty)) => tty,
    }
}

/// Plain words for a link: "COM7 (serial driver)" or "USB (libusb)".
pub fn describe_link(link: &str) -> String {
    if link.starts_with("usb:") {
        "USB (libusb)".to_owned()
    } else {
        format!("{link} (serial port)")
    }
}

fn serial_iface(number: u8, class: (u8, u8, u8), tty: &str) -> UsbInterfaceInfo {
    UsbInterfaceInfo::serial(number, class, None, Some(tty))
}

/// The USB device a group of ports stands for.
fn stand_in(id: &str, role: PortRole, ports: &[&SerialPortInfo]) -> UsbDeviceInfo {
    let first = ports.first().copied();
    let ids = first.and_then(|p| p.vid.zip(p.pid));
    let (vid, pid) = ids.unwrap_or(match role {
        PortRole::Download => (0x05C6, 0x9008),
        PortRole::MemoryDump => (0x05C6, 0x900E),
        PortRole::Module => (0x2C7C, 0x0000),
    });
    let interfaces = match role {
        PortRole::Download | PortRole::MemoryDump => first
            .map(|p| vec![serial_iface(0, (0xFF, 0xFF, 0xFF), &p.name)])
            .unwrap_or_default(),
        // A module's ports by interface number (Quectel layout: 0 DM, 1 NMEA, 2 AT, 3 modem);
        // a port without one by its Windows name, else as the AT port.
        PortRole::Module => ports
            .iter()
            .map(|p| {
                let n = p
                    .interface
                    .unwrap_or_else(|| interface_by_name(p.product.as_deref()));
                let class = if n == 0 {
                    (0xFF, 0xFF, 0xFF)
                } else {
                    (0xFF, 0x00, 0x00)
                };
                serial_iface(n, class, &p.name)
            })
            .collect(),
    };
    UsbDeviceInfo {
        vid,
        pid,
        bcd_device: 0,
        bus: 0,
        address: 0,
        port_path: id.to_owned(),
        speed: None,
        manufacturer: first.and_then(|p| p.manufacturer.clone()),
        product: first.and_then(|p| p.product.clone()),
        serial: first.and_then(|p| p.serial_number.clone()),
        interfaces,
        access: Accessibility::Accessible,
    }
}

/// The Quectel interface a port stands for, from its Windows friendly name ("Quectel USB DM
/// Port (COM11)"); the AT port when the name does not say.
fn interface_by_name(name: Option<&str>) -> u8 {
    let name = name.unwrap_or("").to_ascii_lowercase();
    if name.contains(" dm ") || name.contains("diag") {
        0
    } else if name.contains("nmea") || name.contains("gps") {
        1
    } else if name.contains("modem") {
        3
    } else {
        2
    }
}

/// The port a flash of this device opens.
fn flash_port(dev: &UsbDeviceInfo) -> Option<String> {
    let roles = device_roles(dev);
    let pick = |want: &dyn Fn(Role) -> bool| {
        dev.interfaces
            .iter()
            .zip(&roles)
            .find(|(_, (_, r))| want(*r))
            .and_then(|(i, _)| i.tty.clone())
    };
    pick(&|r| matches!(r, Role::Edl | Role::MemoryDump))
        .or_else(|| pick(&|r| r == Role::Diag))
        .or_else(|| pick(&|r| r == Role::At))
        .or_else(|| dev.interfaces.first().and_then(|i| i.tty.clone()))
}

/// Ports of one board: USB ids and serial number (or the port name, for a port without them).
type GroupKey = (Option<u16>, Option<u16>, String);

/// The boards seen only through serial ports: the listed Qualcomm/Quectel ports that no listed
/// USB device owns (grouped by USB ids and serial number, one row per board), then the ports
/// added by hand.
pub fn serial_boards(snap: &Snapshot, manual: &[ManualPort]) -> Vec<SerialBoard> {
    let owned = |name: &str| {
        snap.usb
            .iter()
            .flat_map(|d| &d.interfaces)
            .any(|i| i.tty.as_deref() == Some(name))
    };
    let by_hand = |name: &str| manual.iter().any(|m| m.name == name);
    let mut groups: BTreeMap<GroupKey, (PortRole, Vec<&SerialPortInfo>)> = BTreeMap::new();
    for p in &snap.serial {
        let Some(role) = board_port_role(p) else {
            continue;
        };
        if owned(&p.name) || by_hand(&p.name) {
            continue;
        }
        // Ports with the same USB ids and serial number are one board (two identical modules
        // without serial numbers would look like one: the OS gives nothing to tell them
        // apart); a port without USB ids is its own board.
        let who = match p.vid {
            Some(_) => p.serial_number.clone().unwrap_or_default(),
            None => p.name.clone(),
        };
        groups
            .entry((p.vid, p.pid, who))
            .or_insert_with(|| (role, Vec::new()))
            .1
            .push(p);
    }
    let mut out = Vec::new();
    for (_, (role, mut ports)) in groups {
        ports.sort_by_key(|p| p.interface);
        let Some(first) = ports.first() else {
            continue;
        };
        let id = format!("{SERIAL_PREFIX}{}", first.name);
        let device = stand_in(&id, role, &ports);
        let Some(port) = flash_port(&device) else {
            continue;
        };
        out.push(SerialBoard {
            id,
            flash_port: port,
            friendly: first.product.clone(),
            manual: false,
            // The OS listed it as one port of a USB device: after the reset the module's AT
            // port is another port, found by the engine's own search.
            follow_same_port: false,
            device,
        });
    }
    for m in manual {
        let id = format!("{SERIAL_PREFIX}{}", m.name);
        let listed = snap.serial.iter().find(|p| p.name == m.name);
        let port = listed
            .cloned()
            .unwrap_or_else(|| SerialPortInfo::named(m.name.clone()));
        let role = match m.kind {
            ManualPortKind::Download => PortRole::Download,
            ManualPortKind::At => PortRole::Module,
        };
        let device = stand_in(&id, role, &[&port]);
        out.push(SerialBoard {
            id,
            flash_port: m.name.clone(),
            friendly: port.product.clone(),
            manual: true,
            follow_same_port: port.vid.is_none(),
            device,
        });
    }
    out
}

/// The list row of a serial board, with the state the engine's diagnosis gives the device it
/// stands for.
pub fn serial_board_info(b: &SerialBoard) -> Option<BoardInfo> {
    let snap = Snapshot {
        usb: vec![b.device.clone()],
        ..Snapshot::default()
    };
    let mut info = real_boards(&snap).into_iter().next()?;
    let ids = format!("{:04X}:{:04X}", b.device.vid, b.device.pid);
    info.title = match (&b.friendly, b.manual) {
        (Some(name), _) => name.clone(),
        (None, true) => format!("{} (added in Settings)", b.flash_port),
        (None, false) => format!("{} on {}", info.title, b.flash_port),
    };
    info.detail = if b.manual {
        format!(
            "serial port {} · added in Settings · via {}",
            b.flash_port,
            describe_link(&b.flash_port)
        )
    } else {
        format!(
            "{ids} · serial port only (no USB device seen) · via {}",
            describe_link(&b.flash_port)
        )
    };
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BoardMode, BoardState};

    fn com(
        name: &str,
        ids: Option<(u16, u16)>,
        iface: Option<u8>,
        product: &str,
    ) -> SerialPortInfo {
        SerialPortInfo {
            name: name.into(),
            vid: ids.map(|i| i.0),
            pid: ids.map(|i| i.1),
            interface: iface,
            serial_number: None,
            manufacturer: None,
            product: (!product.is_empty()).then(|| product.into()),
        }
    }

    /// What Windows lists on a lab PC: a board in download mode with the QDLoader driver, a
    /// running EG25-G's four ports, an FTDI adapter and the PC's own COM1.
    fn lab_pc() -> Snapshot {
        Snapshot {
            usb: Vec::new(),
            serial: vec![
                com(
                    "COM7",
                    Some((0x05C6, 0x9008)),
                    None,
                    "Qualcomm HS-USB QDLoader 9008 (COM7)",
                ),
                com(
                    "COM9",
                    Some((0x2C7C, 0x0125)),
                    Some(0),
                    "Quectel USB DM Port (COM9)",
                ),
                com(
                    "COM10",
                    Some((0x2C7C, 0x0125)),
                    Some(1),
                    "Quectel USB NMEA Port (COM10)",
                ),
                com(
                    "COM11",
                    Some((0x2C7C, 0x0125)),
                    Some(2),
                    "Quectel USB AT Port (COM11)",
                ),
                com(
                    "COM12",
                    Some((0x2C7C, 0x0125)),
                    Some(3),
                    "Quectel USB Modem (COM12)",
                ),
                com(
                    "COM3",
                    Some((0x0403, 0x6001)),
                    None,
                    "USB Serial Port (COM3)",
                ),
                com("COM1", None, None, "Communications Port (COM1)"),
            ],
            usb_error: Some("libusb: no WinUSB driver".into()),
        }
    }

    #[test]
    fn com_ports_become_one_row_per_board_and_foreign_ports_none() {
        let boards = serial_boards(&lab_pc(), &[]);
        let ids: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["serial:COM7", "serial:COM9"], "{boards:#?}");
        let edl = serial_board_info(&boards[0]).unwrap();
        assert_eq!(edl.mode, BoardMode::Edl);
        assert_eq!(edl.state, BoardState::EdlWaiting);
        assert_eq!(edl.title, "Qualcomm HS-USB QDLoader 9008 (COM7)");
        assert!(
            edl.detail.contains("via COM7 (serial port)"),
            "{}",
            edl.detail
        );
        assert_eq!(boards[0].flash_port, "COM7");
        assert!(!boards[0].follow_same_port);
        // The running module's four ports are one board, flashed through its DM port.
        let module = serial_board_info(&boards[1]).unwrap();
        assert_eq!(module.mode, BoardMode::Normal);
        assert_eq!(boards[1].device.interfaces.len(), 4);
        assert_eq!(boards[1].flash_port, "COM9");
    }

    #[test]
    fn a_port_owned_by_a_listed_usb_device_is_that_devices_row() {
        let mut snap = lab_pc();
        snap.usb.push(UsbDeviceInfo {
            vid: 0x05C6,
            pid: 0x9008,
            bcd_device: 0,
            bus: 1,
            address: 4,
            port_path: "1-4".into(),
            speed: None,
            manufacturer: None,
            product: Some("QUSB__BULK".into()),
            serial: None,
            interfaces: vec![serial_iface(0, (0xFF, 0xFF, 0xFF), "COM7")],
            access: Accessibility::Busy("another driver (QDLoader) owns it".into()),
        });
        let ids: Vec<String> = serial_boards(&snap, &[])
            .into_iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(ids, ["serial:COM9"]);
        // No WinUSB driver: the USB row is flashed through its COM port; with one, over USB.
        assert_eq!(link_for(&snap.usb[0]), "COM7");
        snap.usb[0].access = Accessibility::Accessible;
        assert_eq!(link_for(&snap.usb[0]), "usb:1-4");
        snap.usb[0].access = Accessibility::Busy("qcserial".into());
        snap.usb[0].interfaces[0].tty = None;
        assert_eq!(link_for(&snap.usb[0]), "usb:1-4");
    }

    #[test]
    fn ports_added_by_hand_are_boards_of_the_kind_the_user_said() {
        let manual = [
            ManualPort {
                name: "/dev/ttyUSB5".into(),
                kind: ManualPortKind::At,
            },
            ManualPort {
                name: "COM1".into(),
                kind: ManualPortKind::Download,
            },
        ];
        let boards = serial_boards(&lab_pc(), &manual);
        let by_hand: Vec<&SerialBoard> = boards.iter().filter(|b| b.manual).collect();
        assert_eq!(by_hand.len(), 2);
        let at = serial_board_info(by_hand[0]).unwrap();
        assert_eq!(at.id, "serial:/dev/ttyUSB5");
        assert_eq!(at.mode, BoardMode::Normal);
        assert_eq!(at.title, "/dev/ttyUSB5 (added in Settings)");
        assert!(by_hand[0].follow_same_port);
        let edl = serial_board_info(by_hand[1]).unwrap();
        assert_eq!(edl.mode, BoardMode::Edl);
        assert_eq!(edl.title, "Communications Port (COM1)");
        assert!(edl.detail.contains("added in Settings"), "{}", edl.detail);
        assert_eq!(by_hand[1].flash_port, "COM1");
    }

    #[test]
    fn ports_without_interface_numbers_take_their_role_from_their_windows_name() {
        let snap = Snapshot {
            serial: vec![com("COM11", None, None, "Quectel USB DM Port (COM11)")],
            ..Snapshot::default()
        };
        let boards = serial_boards(&snap, &[]);
        assert_eq!(boards.len(), 1);
        assert_eq!(boards[0].device.interfaces[0].number, 0);
        assert_eq!(boards[0].flash_port, "COM11");
        assert!(!boards[0].follow_same_port);
        assert_eq!(interface_by_name(Some("Quectel USB NMEA Port (COM12)")), 1);
        assert_eq!(interface_by_name(Some("Quectel USB AT Port (COM13)")), 2);
        assert_eq!(interface_by_name(Some("Quectel USB Modem (COM14)")), 3);
        assert_eq!(interface_by_name(None), 2);
    }
}
