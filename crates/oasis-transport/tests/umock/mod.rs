//! Test support for running USB code under umockdev: device descriptions (`*.umockdev`),
//! synthetic usbmon pcaps (`DLT_USB_LINUX_MMAPPED`) and the outer/inner test runner.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the inner test's environment so it knows it runs under the preload.
pub const INNER_ENV: &str = "OASIS_UMOCKDEV_INNER";

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// One sysfs device of a umockdev description.
pub struct Node {
    pub path: String,
    pub lines: Vec<String>,
}

impl Node {
    pub fn new(path: &str) -> Self {
        Node {
            path: path.to_string(),
            lines: Vec::new(),
        }
    }
    pub fn e(mut self, k: &str, v: &str) -> Self {
        self.lines.push(format!("E: {k}={v}"));
        self
    }
    pub fn a(mut self, k: &str, v: &str) -> Self {
        self.lines.push(format!("A: {k}={v}"));
        self
    }
    pub fn h(mut self, k: &str, v: &[u8]) -> Self {
        self.lines.push(format!("H: {k}={}", hex(v)));
        self
    }
    pub fn l(mut self, k: &str, v: &str) -> Self {
        self.lines.push(format!("L: {k}={v}"));
        self
    }
    pub fn n(mut self, devname: &str, contents: &[u8]) -> Self {
        if contents.is_empty() {
            self.lines.push(format!("N: {devname}"));
        } else {
            self.lines.push(format!("N: {devname}={}", hex(contents)));
        }
        self
    }
}

/// Render nodes as a umockdev description (children listed before their parents).
pub fn render(nodes: &[Node]) -> String {
    let mut out = String::new();
    for n in nodes {
        writeln!(out, "P: {}", n.path).unwrap();
        for l in &n.lines {
            writeln!(out, "{l}").unwrap();
        }
        out.push('\n');
    }
    out
}

pub const HUB: &str = "/devices/pci0000:00/0000:00:14.0/usb1";

/// A USB device node under the root hub at `port` (e.g. "1-1") with the given descriptors.
pub fn usb_device(port: &str, devnum: u8, descriptors: &[u8], attrs: &[(&str, &str)]) -> Node {
    let dev = descriptors;
    let word = |i: usize| u16::from_le_bytes([dev[i], dev[i + 1]]);
    let mut n = Node::new(&format!("{HUB}/{port}"))
        .n(&format!("bus/usb/001/{devnum:03}"), descriptors)
        .e("DEVNAME", &format!("/dev/bus/usb/001/{devnum:03}"))
        .e("DEVTYPE", "usb_device")
        .e("DRIVER", "usb")
        .e(
            "PRODUCT",
            &format!("{:x}/{:x}/{:x}", word(8), word(10), word(12)),
        )
        .e("SUBSYSTEM", "usb")
        .e("BUSNUM", "001")
        .e("DEVNUM", &format!("{devnum:03}"))
        .a("busnum", "1")
        .a("devnum", &devnum.to_string())
        .a("speed", "480")
        .a("idVendor", &format!("{:04x}", word(8)))
        .a("idProduct", &format!("{:04x}", word(10)))
        .a("bcdDevice", &format!("{:04x}", word(12)))
        .a(
            "bNumInterfaces",
            &format!("{:2}", dev.get(18 + 4).copied().unwrap_or(1)),
        )
        .a("bConfigurationValue", "1");
    for (k, v) in attrs {
        n = n.a(k, v);
    }
    n.h("descriptors", descriptors)
}

/// An interface node `port:1.N`.
pub fn usb_interface(
    port: &str,
    number: u8,
    class: [u8; 3],
    eps: u8,
    driver: Option<&str>,
) -> Node {
    let mut n = Node::new(&format!("{HUB}/{port}/{port}:1.{number}"))
        .e("DEVTYPE", "usb_interface")
        .e("SUBSYSTEM", "usb")
        .e(
            "INTERFACE",
            &format!("{}/{}/{}", class[0], class[1], class[2]),
        )
        .a("bInterfaceNumber", &format!("{number:02x}"))
        .a("bInterfaceClass", &format!("{:02x}", class[0]))
        .a("bInterfaceSubClass", &format!("{:02x}", class[1]))
        .a("bInterfaceProtocol", &format!("{:02x}", class[2]))
        .a("bNumEndpoints", &format!("{eps:02x}"))
        .a("bAlternateSetting", " 0");
    if let Some(d) = driver {
        n = n
            .e("DRIVER", d)
            .l("driver", &format!("../../../../../../bus/usb/drivers/{d}"));
    }
    n
}

/// A usb-serial port `ttyUSBn` on interface `port:1.N` (usb-serial node + tty class node).
pub fn tty_usb(port: &str, number: u8, tty: &str) -> [Node; 2] {
    let base = format!("{HUB}/{port}/{port}:1.{number}/{tty}");
    [
        Node::new(&format!("{base}/tty/{tty}"))
            .n(tty, b"")
            .e("DEVNAME", &format!("/dev/{tty}"))
            .e("SUBSYSTEM", "tty")
            .a("dev", "188:0")
            .l("device", &format!("../../../{tty}")),
        Node::new(&base)
            .e("SUBSYSTEM", "usb-serial")
            .e("DRIVER", "option1")
            .a("port_number", "0"),
    ]
}

/// Endpoint: (bEndpointAddress, bmAttributes, wMaxPacketSize).
pub type Ep = (u8, u8, u16);
/// Interface: (bInterfaceNumber, class/subclass/protocol, endpoints).
pub type Iface<'a> = (u8, [u8; 3], &'a [Ep]);

/// Device + configuration descriptors.
pub fn descriptors(
    vid: u16,
    pid: u16,
    bcd: u16,
    strings: [u8; 3],
    ifaces: &[Iface<'_>],
) -> Vec<u8> {
    let mut d = vec![18, 1, 0x00, 0x02, 0, 0, 0, 64];
    d.extend_from_slice(&vid.to_le_bytes());
    d.extend_from_slice(&pid.to_le_bytes());
    d.extend_from_slice(&bcd.to_le_bytes());
    d.extend_from_slice(&strings);
    d.push(1);
    let mut body = Vec::new();
    for (num, class, eps) in ifaces {
        body.extend_from_slice(&[
            9,
            4,
            *num,
            0,
            eps.len() as u8,
            class[0],
            class[1],
            class[2],
            0,
        ]);
        for (addr, attr, mps) in *eps {
            body.extend_from_slice(&[7, 5, *addr, *attr]);
            body.extend_from_slice(&mps.to_le_bytes());
            body.push(if *attr == 3 { 9 } else { 0 });
        }
    }
    let total = (9 + body.len()) as u16;
    d.extend_from_slice(&[9, 2]);
    d.extend_from_slice(&total.to_le_bytes());
    d.extend_from_slice(&[ifaces.len() as u8, 1, 0, 0x80, 250]);
    d.extend(body);
    d
}

/// The descriptors of a Quectel module in download mode (05C6:9008), generated here from the
/// documented layout of the EC25-AU's (see docs/protocol.md): bcdDevice 0000, strings 1 and 2
/// and no serial, one configuration (bmAttributes 0x80, MaxPower 2 mA) with one ff/ff/ff
/// interface and bulk endpoints 0x81 and 0x01 of 512 bytes.
pub fn ec25_edl_descriptors() -> Vec<u8> {
    let mut d = descriptors(
        0x05C6,
        0x9008,
        0x0000,
        [1, 2, 0],
        &[(0, [0xff, 0xff, 0xff], &[(0x81, 2, 512), (0x01, 2, 512)])],
    );
    // Configuration descriptor (after the 18-byte device descriptor): MaxPower in 2 mA units.
    d[18 + 8] = 1;
    d
}

/// A usbmon capture the replay plays in order.
pub struct Pcap {
    bytes: Vec<u8>,
    next_id: u64,
    bus: u16,
    dev: u8,
    usec: u32,
}

const IN: u8 = 0x80;

impl Pcap {
    pub fn new(dev: u8) -> Self {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&0i32.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&262_144u32.to_le_bytes());
        bytes.extend_from_slice(&220u32.to_le_bytes());
        Pcap {
            bytes,
            next_id: 0xffff_8880_0000_1000,
            bus: 1,
            dev,
            usec: 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        id: u64,
        ev: u8,
        xfer: u8,
        ep: u8,
        setup: Option<[u8; 8]>,
        data_flag: u8,
        status: i32,
        urb_len: u32,
        data: &[u8],
    ) {
        self.usec += 10;
        let mut h = Vec::with_capacity(64);
        h.extend_from_slice(&id.to_le_bytes());
        h.extend_from_slice(&[ev, xfer, ep, self.dev]);
        h.extend_from_slice(&self.bus.to_le_bytes());
        h.push(if setup.is_some() { 0 } else { b'-' });
        h.push(data_flag);
        h.extend_from_slice(&0i64.to_le_bytes());
        h.extend_from_slice(&(self.usec as i32).to_le_bytes());
        h.extend_from_slice(&status.to_le_bytes());
        h.extend_from_slice(&urb_len.to_le_bytes());
        h.extend_from_slice(&(data.len() as u32).to_le_bytes());
        h.extend_from_slice(&setup.unwrap_or([0; 8]));
        h.extend_from_slice(&[0u8; 16]);
        assert_eq!(h.len(), 64);
        let len = (h.len() + data.len()) as u32;
        for v in [0u32, self.usec, len, len] {
            self.bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.bytes.extend(h);
        self.bytes.extend_from_slice(data);
    }

    fn id(&mut self) -> u64 {
        self.next_id += 0x100;
        self.next_id
    }

    /// A control IN transfer (setup packet as the host sends it) answered with `reply`.
    pub fn control_in(&mut self, setup: [u8; 8], reply: &[u8]) -> &mut Self {
        let id = self.id();
        let wlen = u16::from_le_bytes([setup[6], setup[7]]);
        self.record(
            id,
            b'S',
            2,
            IN,
            Some(setup),
            b'<',
            -115,
            u32::from(wlen),
            &[],
        );
        self.record(id, b'C', 2, IN, None, 0, 0, reply.len() as u32, reply);
        self
    }

    /// GET_DESCRIPTOR(string `index`, `lang`) with a 255-byte buffer, answered with `text`.
    pub fn string(&mut self, index: u8, lang: u16, text: &str) -> &mut Self {
        let mut d = vec![0u8, 3];
        for u in text.encode_utf16() {
            d.extend_from_slice(&u.to_le_bytes());
        }
        d[0] = d.len() as u8;
        let l = lang.to_le_bytes();
        self.control_in([0x80, 6, index, 3, l[0], l[1], 255, 0], &d)
    }

    /// The language table (US English).
    pub fn languages(&mut self) -> &mut Self {
        self.control_in([0x80, 6, 0, 3, 0, 0, 255, 0], &[4, 3, 0x09, 0x04])
    }

    /// A bulk IN URB of `buf_len` bytes that completes with `data` (empty = a ZLP).
    pub fn bulk_in(&mut self, ep: u8, buf_len: u32, data: &[u8]) -> &mut Self {
        let id = self.id();
        self.record(id, b'S', 3, ep | IN, None, b'<', -115, buf_len, &[]);
        self.record(id, b'C', 3, ep | IN, None, 0, 0, data.len() as u32, data);
        self
    }

    /// A bulk IN URB that fails with `-errno` (e.g. -19 ENODEV when the device is unplugged).
    pub fn bulk_in_error(&mut self, ep: u8, buf_len: u32, errno: i32) -> &mut Self {
        let id = self.id();
        self.record(id, b'S', 3, ep | IN, None, b'<', -115, buf_len, &[]);
        self.record(id, b'C', 3, ep | IN, None, b'<', -errno, 0, &[]);
        self
    }

    /// A bulk OUT URB carrying `data` (empty = a ZLP).
    pub fn bulk_out(&mut self, ep: u8, data: &[u8]) -> &mut Self {
        let id = self.id();
        self.record(id, b'S', 3, ep, None, 0, -115, data.len() as u32, data);
        self.record(id, b'C', 3, ep, None, b'>', 0, data.len() as u32, &[]);
        self
    }

    pub fn write(&self, path: &Path) {
        std::fs::write(path, &self.bytes).unwrap();
    }
}

/// True (after printing a SKIP line) when `umockdev-run` is not installed: outer tests call this
/// first, before building any device description or capture.
pub fn skip(outer: &str) -> bool {
    if umockdev_run().is_some() {
        return false;
    }
    println!("SKIP {outer}: umockdev-run is not installed (apt-get install umockdev)");
    true
}

/// `umockdev-run` on PATH, or None (the caller prints a skip message).
pub fn umockdev_run() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("umockdev-run"))
        .find(|p| p.is_file())
}

/// Run the ignored inner test `inner` of this test binary under umockdev with `devices` and,
/// optionally, a pcap replayed for the device at sysfs path `pcap.0`. Returns (success,
/// stdout+stderr). None = umockdev is not installed (skip).
pub fn run_inner(
    inner: &str,
    devices: &str,
    pcap: Option<(&str, &Pcap)>,
) -> Option<(bool, String)> {
    let Some(run) = umockdev_run() else {
        println!("SKIP {inner}: umockdev-run is not installed (apt-get install umockdev)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let dev_file = dir.path().join("devices.umockdev");
    std::fs::write(&dev_file, devices).unwrap();
    let mut cmd = Command::new(run);
    cmd.arg("-d").arg(&dev_file);
    if let Some((sys, p)) = pcap {
        let f = dir.path().join("traffic.pcap");
        p.write(&f);
        cmd.arg("-p").arg(format!("/sys{sys}={}", f.display()));
    }
    let exe = std::env::current_exe().unwrap();
    cmd.arg("--").arg(exe).args([
        "--ignored",
        "--exact",
        inner,
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd.env(INNER_ENV, "1");
    let out = cmd.output().unwrap();
    let text = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

/// Assert the inner test ran to its end marker and passed.
pub fn assert_inner_passed(inner: &str, result: Option<(bool, String)>) {
    let Some((ok, text)) = result else {
        return;
    };
    println!("{text}");
    assert!(ok, "inner test {inner} failed under umockdev:\n{text}");
    assert!(
        text.contains(&format!("INNER-DONE {inner}")),
        "inner test {inner} did not run to the end:\n{text}"
    );
}

/// True when running inside umockdev-run (the inner half of a test).
pub fn inner() -> bool {
    std::env::var_os(INNER_ENV).is_some()
}
