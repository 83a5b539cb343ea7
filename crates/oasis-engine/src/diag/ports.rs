//! Which serial port of a board plays which role: the DM/DIAG port the download-mode switch
//! is sent on, and the AT ports the probe asks. Pure lookups over a snapshot.
//!
//! A port is matched by the interface's own tty (Linux sysfs), else by a serial port with the
//! board's VID:PID and interface number, else (Windows) by the driver's friendly name, e.g.
//! "Quectel USB DM Port (COM5)".

use oasis_transport::enumerate::{SerialPortInfo, Snapshot, UsbDeviceInfo};

use super::usb_table::{Role, device_roles};

/// Windows friendly-name fragments per role (Quectel driver names).
fn friendly(role: Role) -> &'static [&'static str] {
    match role {
        Role::Diag => &["DM Port", "Diagnostics"],
        Role::At => &["AT Port"],
        Role::Modem => &["Modem"],
        Role::Nmea => &["NMEA"],
        _ => &[],
    }
}

/// True when a serial port belongs to this device (same ids, and same serial number when both
/// are known).
fn same_board(s: &SerialPortInfo, dev: &UsbDeviceInfo) -> bool {
    let serial_ok = match (&s.serial_number, &dev.serial) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    s.vid == Some(dev.vid) && s.pid == Some(dev.pid) && serial_ok
}

/// Every serial port of `dev` with `role`, in interface order.
pub(crate) fn ports_for_role(snap: &Snapshot, dev: &UsbDeviceInfo, role: Role) -> Vec<String> {
    let mut out = Vec::new();
    for (iface, (number, r)) in dev.interfaces.iter().zip(device_roles(dev)) {
        if r != role {
            continue;
        }
        if let Some(tty) = &iface.tty {
            out.push(tty.clone());
        } else if let Some(s) = snap
            .serial
            .iter()
            .find(|s| same_board(s, dev) && s.interface == Some(number))
        {
            out.push(s.name.clone());
        }
    }
    if out.is_empty() {
        out.extend(
            snap.serial
                .iter()
                .filter(|s| same_board(s, dev) && s.interface.is_none())
                .filter(|s| {
                    let p = s.product.as_deref().unwrap_or("");
                    friendly(role).iter().any(|f| p.contains(f))
                })
                .map(|s| s.name.clone()),
        );
    }
    out
}

/// The DM/DIAG port of a board in normal mode, where the download-mode switch goes.
pub fn dm_port(snap: &Snapshot, dev: &UsbDeviceInfo) -> Option<String> {
    ports_for_role(snap, dev, Role::Diag).into_iter().next()
}

/// The ports that answer AT, best first: the AT port(s), then the modem port(s).
pub fn at_ports(snap: &Snapshot, dev: &UsbDeviceInfo) -> Vec<String> {
    let mut out = ports_for_role(snap, dev, Role::At);
    out.extend(ports_for_role(snap, dev, Role::Modem));
    out
}
