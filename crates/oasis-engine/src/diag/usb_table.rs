//! The one table of known USB identities (VID:PID → mode, module family, chip, interface
//! layout) and the rules that give each interface a role. Pure data and lookups; no I/O.
//!
//! Sources: docs/protocol.md §5 (Qualcomm 05C6 states, Quectel 2C7C PIDs, interface
//! layouts). Entries whose meaning is not confirmed say so in `note`.

use oasis_transport::enumerate::{UsbDeviceInfo, UsbInterfaceInfo};
use serde::{Deserialize, Serialize};

/// Qualcomm's USB vendor id.
pub(crate) const VID_QUALCOMM: u16 = 0x05C6;
/// Quectel's USB vendor id.
pub(crate) const VID_QUECTEL: u16 = 0x2C7C;
/// Emergency download mode (PBL Sahara) product id.
pub(crate) const PID_EDL: u16 = 0x9008;
/// Crash / memory-dump product id.
pub(crate) const PID_MEMORY_DUMP: u16 = 0x900E;

/// What a USB identity says about the board's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsbMode {
    /// Emergency download mode (05C6:9008): waiting for a programmer, or running one.
    Edl,
    /// Crash / memory-dump mode (05C6:900E): the boot ROM offers a RAM dump.
    MemoryDump,
    /// Normal operation: the module's own firmware runs (AT, DIAG, network ports).
    Normal,
    /// A module that is not a Qualcomm Firehose target (ASR, UNISOC, HiSilicon platforms).
    NotFirehose,
}

impl UsbMode {
    /// Plain words for the mode.
    pub fn describe(self) -> &'static str {
        match self {
            UsbMode::Edl => "download mode",
            UsbMode::MemoryDump => "crash-dump mode",
            UsbMode::Normal => "normal mode",
            UsbMode::NotFirehose => "normal mode (not a Qualcomm module)",
        }
    }
}

/// The kind of network interface a module exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetKind {
    /// Qualcomm QMI (qmi_wwan).
    Qmi,
    /// CDC ECM.
    Ecm,
    /// CDC MBIM.
    Mbim,
    /// RmNet (QMI with protocol 0x50 on newer modules).
    Rmnet,
    /// RNDIS.
    Rndis,
    /// A network interface of unknown kind.
    Unknown,
}

/// What one USB interface is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "role", content = "kind")]
pub enum Role {
    /// Qualcomm DM/DIAG port (the one that accepts the switch-to-download command).
    Diag,
    /// GNSS NMEA port.
    Nmea,
    /// AT command port.
    At,
    /// Modem/PPP port (also answers AT).
    Modem,
    /// Network interface.
    Network(NetKind),
    /// Emergency download (Sahara/Firehose) bulk interface.
    Edl,
    /// Memory-dump bulk interface.
    MemoryDump,
    /// Android debug bridge.
    Adb,
    /// Not known.
    Unknown,
}

impl Role {
    /// Plain words for the role.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Diag => "DM/DIAG port",
            Role::Nmea => "GNSS (NMEA) port",
            Role::At => "AT command port",
            Role::Modem => "modem port",
            Role::Network(NetKind::Qmi) => "network (QMI)",
            Role::Network(NetKind::Ecm) => "network (ECM)",
            Role::Network(NetKind::Mbim) => "network (MBIM)",
            Role::Network(NetKind::Rmnet) => "network (RmNet)",
            Role::Network(NetKind::Rndis) => "network (RNDIS)",
            Role::Network(NetKind::Unknown) => "network",
            Role::Edl => "download-mode interface",
            Role::MemoryDump => "crash-dump interface",
            Role::Adb => "ADB",
            Role::Unknown => "unknown",
        }
    }
}

/// How a product's interfaces are numbered in normal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// EC2x/EG9x/BG96 and most LTE modules: If0 DIAG, If1 NMEA, If2 AT, If3 modem, If4 network.
    Quectel,
    /// BG95/BG77: If0 DIAG, If1 NMEA, If2 AT, If3 ECM/QMI network, If4 second modem.
    Bg95,
    /// RM500Q/RM520N: If0 DIAG (ff/ff/30), If1 NMEA (ff/00/40), If2 AT, If3 modem, If4 RmNet.
    Rm5xx,
    /// Only the DM/DIAG interface number is known (laptop PIDs).
    DiagOn(u8),
    /// Qualcomm-VID normal compositions: DIAG on interface 0, the rest unknown.
    DiagFirst,
    /// One bulk interface: download mode.
    SingleEdl,
    /// One bulk interface: memory dump.
    SingleDump,
    /// Nothing known.
    Unknown,
}

/// One row of the identity table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownUsbId {
    /// USB vendor id.
    pub vid: u16,
    /// USB product id.
    pub pid: u16,
    /// What the id says about the board's state.
    pub mode: UsbMode,
    /// Module family or state name shown to the user.
    pub family: &'static str,
    /// Chip, where known.
    pub chip: Option<&'static str>,
    /// Interface layout in this mode.
    pub layout: Layout,
    /// Caveat about the entry (unconfirmed meaning, platform).
    pub note: Option<&'static str>,
}

const fn row(
    vid: u16,
    pid: u16,
    mode: UsbMode,
    family: &'static str,
    chip: Option<&'static str>,
    layout: Layout,
    note: Option<&'static str>,
) -> KnownUsbId {
    KnownUsbId {
        vid,
        pid,
        mode,
        family,
        chip,
        layout,
        note,
    }
}

const Q: u16 = VID_QUECTEL;
const QC: u16 = VID_QUALCOMM;
const N: UsbMode = UsbMode::Normal;
const NF: UsbMode = UsbMode::NotFirehose;
const NOT_FH: Option<&str> = Some("not a Qualcomm Firehose module (ASR/UNISOC platform)");
const EM05: &str = "EM05 (laptop card)";

/// Every known USB identity. One row per VID:PID.
#[rustfmt::skip]
pub(crate) static KNOWN: &[KnownUsbId] = &[
    row(QC, PID_EDL, UsbMode::Edl, "Qualcomm download mode (EDL)", None, Layout::SingleEdl, None),
    row(QC, PID_MEMORY_DUMP, UsbMode::MemoryDump, "Qualcomm crash-dump mode", None, Layout::SingleDump, None),
    row(QC, 0x9006, UsbMode::MemoryDump, "Qualcomm memory-debug mode", None, Layout::SingleDump, Some("listed as a memory-debug id by edl's udev rules; meaning not confirmed")),
    row(QC, 0x9091, N, "Qualcomm-based module", None, Layout::DiagFirst, None),
    row(QC, 0x9092, N, "Qualcomm-based module", None, Layout::DiagFirst, None),
    row(QC, 0x901D, N, "Qualcomm-based module", None, Layout::DiagFirst, None),
    row(QC, 0x901F, N, "Qualcomm-based module", None, Layout::DiagFirst, Some("meaning not confirmed")),
    row(QC, 0x9025, N, "Qualcomm-based module", None, Layout::DiagFirst, Some("in edl's download-capable list; meaning not confirmed")),
    row(QC, 0x9003, N, "Quectel UC20", None, Layout::Unknown, Some("old 3G module with the Qualcomm vendor id")),
    row(QC, 0x9090, N, "Quectel UC15", None, Layout::Unknown, Some("old 3G module with the Qualcomm vendor id")),
    row(QC, 0x9201, NF, "Gobi QDL download mode", None, Layout::Unknown, Some("old Gobi streaming download, not Sahara/Firehose")),
    row(QC, 0x9221, NF, "Gobi QDL download mode", None, Layout::Unknown, Some("old Gobi streaming download, not Sahara/Firehose")),
    row(QC, 0x9231, NF, "Gobi QDL download mode", None, Layout::Unknown, Some("old Gobi streaming download, not Sahara/Firehose")),
    row(Q, 0x0121, N, "EC21", Some("MDM9x07"), Layout::Quectel, None),
    row(Q, 0x0125, N, "EC25 / EG25-G", Some("MDM9207"), Layout::Quectel, None),
    row(Q, 0x0191, N, "EG91", Some("MDM9x07"), Layout::Quectel, None),
    row(Q, 0x0195, N, "EG95", Some("MDM9x07"), Layout::Quectel, None),
    row(Q, 0x0296, N, "BG96", Some("MDM9206"), Layout::Quectel, Some("chip not confirmed")),
    row(Q, 0x0700, N, "BG95", Some("MDM9205"), Layout::Bg95, None),
    row(Q, 0x0306, N, "EP06 / EG06 / EM06", None, Layout::Quectel, None),
    row(Q, 0x0512, N, "EM12 / EG12", None, Layout::Quectel, None),
    row(Q, 0x0620, N, "EM160R-GL / EM20-G", Some("SDX24"), Layout::Quectel, None),
    row(Q, 0x0800, N, "RM500Q / RM502Q / RG50xQ", Some("SDX55"), Layout::Rm5xx, None),
    row(Q, 0x0801, N, "RM520N", Some("SDX62"), Layout::Rm5xx, None),
    row(Q, 0x0803, N, "RM520N-GL (laptop card)", Some("SDX62"), Layout::DiagOn(3), None),
    row(Q, 0x030A, N, EM05, None, Layout::DiagOn(3), Some("EM05-G")),
    row(Q, 0x0309, N, EM05, None, Layout::DiagOn(3), Some("EM05E-EDU")),
    row(Q, 0x030D, N, EM05, None, Layout::DiagOn(3), Some("EM05G-FCCL")),
    row(Q, 0x0310, N, EM05, None, Layout::DiagOn(3), Some("EM05-CN")),
    row(Q, 0x0311, N, EM05, None, Layout::DiagOn(3), Some("EM05-G-SE10")),
    row(Q, 0x0315, N, EM05, None, Layout::DiagOn(3), Some("EM05-G STD")),
    row(Q, 0x0127, N, EM05, None, Layout::DiagOn(3), Some("EM05-CE")),
    row(Q, 0x030B, N, "EM060K", None, Layout::DiagOn(3), None),
    row(Q, 0x0128, N, "EM060K (laptop card)", None, Layout::DiagOn(3), None),
    row(Q, 0x0129, N, "EM060K", None, Layout::DiagOn(3), None),
    row(Q, 0x012A, N, "EM060K", None, Layout::DiagOn(3), None),
    row(Q, 0x012B, N, "EM060K", None, Layout::DiagOn(3), None),
    row(Q, 0x012C, N, "EM060K", None, Layout::DiagOn(3), None),
    row(Q, 0x6008, N, "EM061K-GL", None, Layout::DiagOn(3), None),
    row(Q, 0x6009, N, "EM061K-GL", None, Layout::DiagOn(3), None),
    row(Q, 0x0514, N, "EG060K-EA", None, Layout::DiagOn(2), None),
    row(Q, 0x0316, N, "RG255C", Some("SDX35"), Layout::Quectel, None),
    row(Q, 0x6001, NF, "EG912Y", None, Layout::Unknown, NOT_FH),
    row(Q, 0x6002, NF, "EC200S", None, Layout::Unknown, NOT_FH),
    row(Q, 0x6005, NF, "EC200A", None, Layout::Unknown, NOT_FH),
    row(Q, 0x6026, NF, "EC200T", None, Layout::Unknown, NOT_FH),
    row(Q, 0x0901, NF, "EC200U", None, Layout::Unknown, NOT_FH),
    row(Q, 0x0900, NF, "RM500U-CN", None, Layout::Unknown, NOT_FH),
    row(Q, 0x7001, NF, "RM500K", None, Layout::Unknown, Some("not a Qualcomm Firehose module")),
];

/// Known chips by the MSM part (top 32 bits) of a Sahara HW ID.
static CHIPS: &[(u32, &str)] = &[
    (0x0004_80E1, "MDM9207"),
    (0x0010_70E1, "MDM9205"),
    (0x0019_90E1, "SDX62"),
    (0x000C_F0E1, "SDX55"),
    (0x0005_E0E1, "MSM8998"),
    (0x0070_50E1, "MSM8916"),
    (0x0008_B0E1, "SDM845"),
];

/// The table row for a VID:PID, if known.
pub fn identify(vid: u16, pid: u16) -> Option<&'static KnownUsbId> {
    KNOWN.iter().find(|k| k.vid == vid && k.pid == pid)
}

/// Chip name for the MSM part of a HW ID (`0x000480E1` → "MDM9207").
pub(crate) fn chip_name(msm_id: u32) -> Option<&'static str> {
    CHIPS.iter().find(|(id, _)| *id == msm_id).map(|(_, n)| *n)
}

/// Chip name for a 16-hex-digit HW ID string (`000480e100000000` → "MDM9207").
pub(crate) fn chip_name_for_hw_id(hw_id: &str) -> Option<&'static str> {
    let msm = hw_id.trim_start_matches("0x").get(..8)?;
    chip_name(u32::from_str_radix(msm, 16).ok()?)
}

/// True for the EDL signature interface: class ff, subclass ff, protocol ff/10/11/13.
pub(crate) fn is_edl_signature(iface: &UsbInterfaceInfo) -> bool {
    iface.class == 0xFF
        && iface.subclass == 0xFF
        && matches!(iface.protocol, 0xFF | 0x10 | 0x11 | 0x13)
}

/// Roles that follow from the interface descriptor or its driver alone, whatever the product.
fn role_by_descriptor(iface: &UsbInterfaceInfo) -> Option<Role> {
    match iface.driver.as_deref() {
        Some("qmi_wwan") => return Some(Role::Network(NetKind::Qmi)),
        Some("cdc_ether") => return Some(Role::Network(NetKind::Ecm)),
        Some("cdc_mbim") => return Some(Role::Network(NetKind::Mbim)),
        Some("rndis_host") => return Some(Role::Network(NetKind::Rndis)),
        _ => {}
    }
    match (iface.class, iface.subclass, iface.protocol) {
        (0x02, 0x06, _) => Some(Role::Network(NetKind::Ecm)),
        (0x02, 0x0E, _) => Some(Role::Network(NetKind::Mbim)),
        (0x0A, _, _) => Some(Role::Network(NetKind::Unknown)),
        (0xE0, 0x01, 0x03) | (0xEF, 0x04, 0x01) => Some(Role::Network(NetKind::Rndis)),
        (0xFF, 0x42, 0x01) => Some(Role::Adb),
        // Newer modules mark their interfaces by protocol (RM5xx, EM05-G, RM520N-GL).
        (0xFF, 0xFF, 0x30) => Some(Role::Diag),
        (0xFF, 0x00, 0x40) => Some(Role::Nmea),
        (0xFF, 0xFF, 0x50) => Some(Role::Network(NetKind::Rmnet)),
        _ => None,
    }
}

fn role_by_layout(layout: Layout, number: u8) -> Role {
    match (layout, number) {
        (Layout::Quectel | Layout::Bg95 | Layout::Rm5xx | Layout::DiagFirst, 0) => Role::Diag,
        (Layout::Quectel | Layout::Bg95 | Layout::Rm5xx, 1) => Role::Nmea,
        (Layout::Quectel | Layout::Bg95 | Layout::Rm5xx, 2) => Role::At,
        (Layout::Quectel | Layout::Rm5xx, 3) | (Layout::Bg95, 4) => Role::Modem,
        (Layout::Quectel, 4) => Role::Network(NetKind::Qmi),
        (Layout::Rm5xx, 4) => Role::Network(NetKind::Rmnet),
        (Layout::Bg95, 3) => Role::Network(NetKind::Unknown),
        (Layout::DiagOn(n), m) if n == m => Role::Diag,
        (Layout::SingleEdl, 0) => Role::Edl,
        (Layout::SingleDump, 0) => Role::MemoryDump,
        _ => Role::Unknown,
    }
}

/// The role of one interface of a VID:PID.
///
/// Rules, in order: the driver or class says it (qmi_wwan, CDC ECM/MBIM, ADB, protocol 0x30 =
/// DIAG, 0x40 = NMEA, 0x50 = RmNet); else the product's layout from the table; else unknown.
/// The single-interface 05C6 download-mode fallback needs the whole device: see
/// [`device_roles`].
pub(crate) fn role_of(vid: u16, pid: u16, iface: &UsbInterfaceInfo) -> Role {
    let known = identify(vid, pid);
    if let Some(k) = known {
        match k.layout {
            Layout::SingleEdl if is_edl_signature(iface) => return Role::Edl,
            Layout::SingleDump if iface.class == 0xFF => return Role::MemoryDump,
            _ => {}
        }
    }
    if let Some(role) = role_by_descriptor(iface) {
        return role;
    }
    match known {
        Some(k) => role_by_layout(k.layout, iface.number),
        None if vid == VID_QUECTEL => role_by_layout(Layout::Quectel, iface.number),
        None => Role::Unknown,
    }
}

/// What a whole device is, after the table and the fallback rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdentity {
    /// The board's state as the USB identity tells it.
    pub mode: UsbMode,
    /// Module family or state name.
    pub family: String,
    /// Chip, where known.
    pub chip: Option<String>,
    /// True when the VID:PID is in the table; false when a fallback rule decided.
    pub known: bool,
    /// Caveat or the rule that decided, in plain words.
    pub note: Option<String>,
}

fn single_edl_interface(dev: &UsbDeviceInfo) -> bool {
    dev.interfaces.len() == 1 && dev.interfaces.first().is_some_and(is_edl_signature)
}

/// Identify a device; `None` when it is not a device Oasis cares about.
///
/// Fallbacks: a 05C6 device with one ff/ff/ff interface is in download mode; 2C7C:0800 with
/// a single interface is a 5G module in crash-dump mode; 2C7C:6xxx/8xxx (except 6008/6009)
/// are ASR/HiSilicon platforms; another vendor with one download-signature interface under
/// PID 9008/900E is treated as that Qualcomm state, with a note.
pub fn identify_device(dev: &UsbDeviceInfo) -> Option<DeviceIdentity> {
    let single = single_edl_interface(dev);
    if dev.vid == VID_QUECTEL && dev.pid == 0x0800 && single {
        return Some(fallback(
            UsbMode::MemoryDump,
            "RM500Q-class 5G module in crash-dump mode",
            "2C7C:0800 with a single interface is a 5G module in crash-dump mode",
        ));
    }
    if let Some(k) = identify(dev.vid, dev.pid) {
        return Some(DeviceIdentity {
            mode: k.mode,
            family: k.family.to_string(),
            chip: k.chip.map(str::to_string),
            known: true,
            note: k.note.map(str::to_string),
        });
    }
    match dev.vid {
        VID_QUALCOMM if single => Some(fallback(
            UsbMode::Edl,
            "Qualcomm download mode (EDL)",
            "unlisted Qualcomm id with one download-mode interface",
        )),
        VID_QUALCOMM => Some(fallback(
            UsbMode::Normal,
            "Qualcomm-based device",
            "unlisted Qualcomm id",
        )),
        VID_QUECTEL if matches!(dev.pid >> 12, 0x6 | 0x8) => Some(fallback(
            UsbMode::NotFirehose,
            "Quectel module (ASR/HiSilicon platform)",
            "Quectel ids 6xxx/8xxx are ASR or HiSilicon platforms, not Qualcomm Firehose modules",
        )),
        VID_QUECTEL => Some(fallback(
            UsbMode::Normal,
            "Quectel module (model not in the table)",
            "unlisted Quectel id",
        )),
        _ if single && dev.pid == PID_EDL => Some(fallback(
            UsbMode::Edl,
            "download mode (EDL), other vendor id",
            "another vendor's id with Qualcomm's download-mode product id and interface",
        )),
        _ if single && dev.pid == PID_MEMORY_DUMP => Some(fallback(
            UsbMode::MemoryDump,
            "crash-dump mode, other vendor id",
            "another vendor's id with Qualcomm's crash-dump product id and interface",
        )),
        _ => None,
    }
}

fn fallback(mode: UsbMode, family: &str, note: &str) -> DeviceIdentity {
    DeviceIdentity {
        mode,
        family: family.to_string(),
        chip: None,
        known: false,
        note: Some(note.to_string()),
    }
}

/// The role of every interface of a device, in interface order, with the whole-device rules
/// applied (a single download-signature interface in download or dump mode).
pub fn device_roles(dev: &UsbDeviceInfo) -> Vec<(u8, Role)> {
    let mode = identify_device(dev).map(|i| i.mode);
    let single = single_edl_interface(dev);
    dev.interfaces
        .iter()
        .map(|i| {
            let role = match mode {
                Some(UsbMode::Edl) if single => Role::Edl,
                Some(UsbMode::MemoryDump) if dev.interfaces.len() == 1 && i.class == 0xFF => {
                    Role::MemoryDump
                }
                _ => role_of(dev.vid, dev.pid, i),
            };
            (i.number, role)
        })
        .collect()
}

/// The USB_BOOT (forced download) contact of a module family, in the words of its hardware
/// guide, where known.
pub(crate) fn boot_pin(family: &str) -> Option<&'static str> {
    let f = family.to_ascii_uppercase();
    if f.starts_with("BG95") || f.starts_with("BG96") {
        Some("the USB_BOOT pin")
    } else if ["EC2", "EG2", "EG9", "EC25"]
        .iter()
        .any(|p| f.starts_with(p))
    {
        Some("the USB_BOOT pad")
    } else if f.starts_with("RM5") || f.starts_with("RG5") {
        Some("the USB_BOOT test point")
    } else {
        None
    }
}
