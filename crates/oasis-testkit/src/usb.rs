//! USB device dumps in the Linux `usb-devices` text format (T:/D:/P:/S:/C:/I:/E: lines), written
//! from a description, for the diagnosis tests.

use std::fmt::Write as _;

/// One interface: number, class/subclass/protocol, bound driver, endpoints (address, bulk?).
#[derive(Debug, Clone)]
pub struct Interface {
    /// bInterfaceNumber.
    pub number: u8,
    /// Class, subclass, protocol.
    pub class: [u8; 3],
    /// Driver name (`option`, `qmi_wwan`, `qcserial`).
    pub driver: &'static str,
    /// Endpoints: (address, bulk = true / interrupt = false).
    pub endpoints: Vec<(u8, bool)>,
}

/// A device.
#[derive(Debug, Clone)]
pub struct Device {
    /// Bus and device number.
    pub bus: u8,
    /// Device number.
    pub dev: u8,
    /// Vendor and product id.
    pub vid: u16,
    /// Product id.
    pub pid: u16,
    /// Manufacturer string.
    pub manufacturer: &'static str,
    /// Product string.
    pub product: &'static str,
    /// Serial number string.
    pub serial: &'static str,
    /// Interfaces.
    pub interfaces: Vec<Interface>,
}

impl Device {
    /// A Quectel LPWA module (2C7C:0700) in the USB layout `AT+QCFGEXT="usbnet","modem"`
    /// gives: DM (0), NMEA (1), AT (2) and a second modem port on interface 4 (subclass fe);
    /// there is no interface 3.
    pub fn bg95_modem_mode() -> Self {
        let vendor = |number, sub, eps: Vec<(u8, bool)>| Interface {
            number,
            class: [0xff, sub, 0xff],
            driver: "option",
            endpoints: eps,
        };
        Self {
            bus: 1,
            dev: 3,
            vid: 0x2C7C,
            pid: 0x0700,
            manufacturer: "Quectel, Incorporated",
            product: "Quectel LPWA Module",
            serial: "884328a2",
            interfaces: vec![
                vendor(0, 0xff, vec![(0x81, true), (0x01, true)]),
                vendor(1, 0xff, vec![(0x82, true), (0x02, true)]),
                vendor(2, 0xff, vec![(0x83, false), (0x84, true), (0x03, true)]),
                vendor(4, 0xfe, vec![(0x85, false), (0x86, true), (0x04, true)]),
            ],
        }
    }

    /// The `usb-devices` text of this device.
    pub fn usb_devices_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "T:  Bus={:02} Lev=02 Prnt=02 Port=01 Cnt=01 Dev#={:3} Spd=480  MxCh= 0",
            self.bus, self.dev
        );
        let _ = writeln!(
            s,
            "D:  Ver= 2.00 Cls=00(>ifc ) Sub=00 Prot=00 MxPS=64 #Cfgs=  1"
        );
        let _ = writeln!(
            s,
            "P:  Vendor={:04x} ProdID={:04x} Rev= 0.00",
            self.vid, self.pid
        );
        let _ = writeln!(s, "S:  Manufacturer={}", self.manufacturer);
        let _ = writeln!(s, "S:  Product={}", self.product);
        let _ = writeln!(s, "S:  SerialNumber={}", self.serial);
        let _ = writeln!(
            s,
            "C:* #Ifs={:2} Cfg#= 1 Atr=e0 MxPwr=500mA",
            self.interfaces.len()
        );
        for i in &self.interfaces {
            let _ = writeln!(
                s,
                "I:* If#={:2} Alt= 0 #EPs={:2} Cls={:02x}(vend.) Sub={:02x} Prot={:02x} Driver={}",
                i.number,
                i.endpoints.len(),
                i.class[0],
                i.class[1],
                i.class[2],
                i.driver
            );
            for (addr, bulk) in &i.endpoints {
                let dir = if addr & 0x80 != 0 { "I" } else { "O" };
                let (atr, mps, ivl) = if *bulk {
                    ("02(Bulk)", 512, "0ms")
                } else {
                    ("03(Int.)", 64, "2ms")
                };
                let _ = writeln!(
                    s,
                    "E:  Ad={addr:02x}({dir}) Atr={atr} MxPS={mps:4} Ivl={ivl}"
                );
            }
        }
        s
    }
}
