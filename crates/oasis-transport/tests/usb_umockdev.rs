//! UsbTransport and USB enumeration against umockdev: the real rusb → libusb → usbfs path with a
//! fake 05C6:9008 (descriptors generated from the EC25-AU's documented layout) whose traffic is a
//! synthetic usbmon capture.
//!
//! Each outer `#[test]` writes a device description and a pcap, then re-runs this binary under
//! `umockdev-run` for one `#[ignore]`d inner test and asserts that it passed. Without
//! `umockdev-run` the outer tests print SKIP and pass.
// umockdev fakes Linux sysfs and usbfs: these tests exist only on Linux.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod umock;

use std::time::Duration;

use oasis_transport::enumerate::{self, Accessibility};
use oasis_transport::usb::UsbTransport;
use oasis_transport::{Help, LinkKind, PortSpec, Transport, TransportErrorKind, UsbSelector};
use umock::{Node, Pcap, render};

const EDL_SYS: &str = "/devices/pci0000:00/0000:00:14.0/usb1/1-1";
const T: Duration = Duration::from_secs(2);

fn edl_nodes(product: &str) -> Vec<Node> {
    vec![
        umock::usb_interface("1-1", 0, [0xff, 0xff, 0xff], 2, None),
        umock::usb_device(
            "1-1",
            2,
            &umock::ec25_edl_descriptors(),
            &[
                ("manufacturer", "Qualcomm CDMA Technologies MSM"),
                ("product", product),
            ],
        ),
    ]
}

fn strings(p: &mut Pcap, product: &str) {
    p.languages()
        .string(1, 0x0409, "Qualcomm CDMA Technologies MSM")
        .string(2, 0x0409, product);
}

#[test]
fn enumerate_open_claim_and_strings() {
    if umock::skip("enumerate_open_claim_and_strings") {
        return;
    }
    let mut p = Pcap::new(2);
    strings(&mut p, "QUSB__BULK"); // libusb_devices() opens for strings
    strings(&mut p, "QUSB__BULK"); // UsbTransport::strings()
    let r = umock::run_inner(
        "inner_enumerate_open_claim_and_strings",
        &render(&edl_nodes("QUSB__BULK")),
        Some((EDL_SYS, &p)),
    );
    umock::assert_inner_passed("inner_enumerate_open_claim_and_strings", r);
}

#[test]
#[ignore = "runs under umockdev-run, started by enumerate_open_claim_and_strings"]
fn inner_enumerate_open_claim_and_strings() {
    if !umock::inner() {
        return;
    }
    let snap = enumerate::snapshot();
    assert_eq!(snap.usb_error, None);
    assert_eq!(snap.usb.len(), 1, "{snap:#?}");
    let d = &snap.usb[0];
    assert_eq!((d.vid, d.pid, d.bus, d.address), (0x05c6, 0x9008, 1, 2));
    assert_eq!(d.port_path, "1-1");
    assert_eq!(d.product.as_deref(), Some("QUSB__BULK"));
    assert_eq!(d.speed.as_deref(), Some("high (480 Mbit/s)"));
    assert_eq!(d.interfaces.len(), 1);
    let i = &d.interfaces[0];
    assert_eq!(
        (i.number, i.class, i.subclass, i.protocol, i.endpoints),
        (0, 0xff, 0xff, 0xff, 2)
    );
    assert_eq!(d.access, Accessibility::Accessible);

    let via_libusb = enumerate::libusb_devices(&[]).unwrap();
    assert_eq!(via_libusb.len(), 1, "{via_libusb:#?}");
    assert_eq!(via_libusb[0].product.as_deref(), Some("QUSB__BULK"));
    assert_eq!(
        via_libusb[0].manufacturer.as_deref(),
        Some("Qualcomm CDMA Technologies MSM")
    );
    assert_eq!(via_libusb[0].port_path, "1-1");

    let t = UsbTransport::open(&UsbSelector::Any).expect("open + claim");
    assert_eq!(t.max_packet_size(), 512);
    assert_eq!(t.link_kind(), LinkKind::Packet);
    assert_eq!(t.describe(), "usb 1-1 (05c6:9008)");
    let s = t.strings(T).unwrap();
    assert_eq!(s.product.as_deref(), Some("QUSB__BULK"));
    assert_eq!(s.serial, None, "the EC25-AU has no iSerialNumber");
    println!("INNER-DONE inner_enumerate_open_claim_and_strings");
}

fn le(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// HELLO, HELLO_RESP, READ_DATA, image bytes, END_IMAGE_TX.
type SaharaScript = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

fn sahara_script() -> SaharaScript {
    let hello = le(&[1, 0x30, 2, 1, 0x400, 0, 0, 0, 0, 0, 0, 0]);
    let hello_resp = le(&[2, 0x30, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    let read_data = le(&[3, 0x14, 0x0d, 0, 4096]);
    let image: Vec<u8> = (0..4096u32).map(|i| (i % 253) as u8).collect();
    let end_tx = le(&[4, 0x10, 0x0d, 0]);
    (hello, hello_resp, read_data, image, end_tx)
}

const CONFIGURE: &str = r#"<?xml version="1.0" ?><data><configure MemoryName="nand" MaxPayloadSizeToTargetInBytes="8192" ZlpAwareHost="1" SkipStorageInit="0" /></data>"#;
const CONFIGURE_ACK: &str = r#"<?xml version="1.0" encoding="UTF-8" ?><data><response value="ACK" MemoryName="NAND" MaxPayloadSizeToTargetInBytes="8192" /></data>"#;
const PROGRAM: &str = r#"<?xml version="1.0" ?><data><program SECTOR_SIZE_IN_BYTES="2048" num_partition_sectors="1" physical_partition_number="0" start_sector="0" filename="sbl1.mbn" /></data>"#;
const RAW_ACK: &str = r#"<?xml version="1.0" encoding="UTF-8" ?><data><response value="ACK" rawmode="true" /></data>"#;
const DONE_ACK: &str = r#"<?xml version="1.0" encoding="UTF-8" ?><data><response value="ACK" rawmode="false" /></data>"#;

fn log_doc(text: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<data>\n<log value=\"{text}\" />\n</data>"
    )
    .into_bytes()
}

#[test]
fn sahara_and_firehose_bulk_exchange() {
    if umock::skip("sahara_and_firehose_bulk_exchange") {
        return;
    }
    let (hello, hello_resp, read_data, image, end_tx) = sahara_script();
    let sector: Vec<u8> = (0..2048u32).map(|i| (i * 31 % 256) as u8).collect();
    let mut p = Pcap::new(2);
    p.bulk_in(1, 4096, &hello)
        .bulk_out(1, &hello_resp)
        .bulk_in(1, 4096, &read_data)
        .bulk_out(1, &image)
        .bulk_out(1, &[]) // ZLP: 4096 is a multiple of 512
        .bulk_in(1, 4096, &end_tx)
        .bulk_out(1, &le(&[5, 8]))
        .bulk_in(1, 4096, &le(&[6, 0x0c, 1]))
        // Firehose: a log, a ZLP from the device (swallowed), then configure / ACK.
        .bulk_in(
            1,
            4096,
            &log_doc("Chip serial num: 2882400001 (0xabcdef01)"),
        )
        .bulk_in(1, 4096, &[])
        .bulk_in(
            1,
            4096,
            &log_doc("Supported Functions: program configure nop"),
        )
        .bulk_out(1, CONFIGURE.as_bytes())
        .bulk_in(1, 4096, CONFIGURE_ACK.as_bytes())
        .bulk_out(1, PROGRAM.as_bytes())
        .bulk_in(1, 4096, RAW_ACK.as_bytes())
        .bulk_out(1, &sector)
        .bulk_out(1, &[]) // ZLP after 2048 bytes
        // The final ACK read with a 40-byte buffer: one 512-byte URB, the rest kept.
        .bulk_in(1, 512, DONE_ACK.as_bytes());
    let r = umock::run_inner(
        "inner_sahara_and_firehose_bulk_exchange",
        &render(&edl_nodes("QUSB__BULK")),
        Some((EDL_SYS, &p)),
    );
    umock::assert_inner_passed("inner_sahara_and_firehose_bulk_exchange", r);
}

/// Read one transfer with a 4 KiB buffer.
fn read_one(t: &mut dyn Transport) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let n = t.read(&mut buf, T).expect("bulk read");
    buf.truncate(n);
    buf
}

#[test]
#[ignore = "runs under umockdev-run, started by sahara_and_firehose_bulk_exchange"]
fn inner_sahara_and_firehose_bulk_exchange() {
    if !umock::inner() {
        return;
    }
    let (hello, hello_resp, read_data, image, end_tx) = sahara_script();
    let mut t = oasis_transport::open(&PortSpec::parse("usb")).expect("open usb");
    assert_eq!(read_one(t.as_mut()), hello, "one read = one HELLO packet");
    t.write_all(&hello_resp, T).unwrap();
    assert_eq!(read_one(t.as_mut()), read_data);
    t.write_all(&image, T).expect("image bytes + ZLP");
    assert_eq!(read_one(t.as_mut()), end_tx);
    t.write_all(&le(&[5, 8]), T).unwrap();
    assert_eq!(read_one(t.as_mut()), le(&[6, 0x0c, 1]));

    assert!(read_one(t.as_mut()).starts_with(b"<?xml"));
    let second = read_one(t.as_mut());
    assert!(
        String::from_utf8_lossy(&second).contains("Supported Functions"),
        "the ZLP was not swallowed"
    );
    t.write_all(CONFIGURE.as_bytes(), T).unwrap();
    assert_eq!(read_one(t.as_mut()), CONFIGURE_ACK.as_bytes());
    t.write_all(PROGRAM.as_bytes(), T).unwrap();
    assert_eq!(read_one(t.as_mut()), RAW_ACK.as_bytes());
    let sector: Vec<u8> = (0..2048u32).map(|i| (i * 31 % 256) as u8).collect();
    t.write_all(&sector, T).expect("raw sector + ZLP");
    let mut small = [0u8; 40];
    let n1 = t.read(&mut small, T).unwrap();
    let mut got = small[..n1].to_vec();
    while got.len() < DONE_ACK.len() {
        let n = t
            .read(&mut small, T)
            .expect("rest of the transfer comes from the kept bytes");
        got.extend_from_slice(&small[..n]);
    }
    assert_eq!(n1, 40);
    assert_eq!(got, DONE_ACK.as_bytes());
    println!("INNER-DONE inner_sahara_and_firehose_bulk_exchange");
}

#[test]
fn unplug_mid_session_is_disconnected() {
    if umock::skip("unplug_mid_session_is_disconnected") {
        return;
    }
    let (hello, hello_resp, ..) = sahara_script();
    let mut p = Pcap::new(2);
    p.bulk_in(1, 4096, &hello)
        .bulk_out(1, &hello_resp)
        .bulk_in_error(1, 4096, 19);
    let r = umock::run_inner(
        "inner_unplug_mid_session_is_disconnected",
        &render(&edl_nodes("QUSB__BULK")),
        Some((EDL_SYS, &p)),
    );
    umock::assert_inner_passed("inner_unplug_mid_session_is_disconnected", r);
}

#[test]
#[ignore = "runs under umockdev-run, started by unplug_mid_session_is_disconnected"]
fn inner_unplug_mid_session_is_disconnected() {
    if !umock::inner() {
        return;
    }
    let (hello, hello_resp, ..) = sahara_script();
    let mut t = UsbTransport::open(&UsbSelector::Path("1-1".into())).unwrap();
    assert_eq!(read_one(&mut t), hello);
    t.write_all(&hello_resp, T).unwrap();
    let err = t.read(&mut [0u8; 4096], T).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Disconnected, "{err}");
    assert_eq!(err.op, "read");
    assert!(err.help().is_some());
    println!("INNER-DONE inner_unplug_mid_session_is_disconnected");
}

#[test]
fn a_silent_device_times_out() {
    if umock::skip("a_silent_device_times_out") {
        return;
    }
    // Nothing is recorded: the read URB never completes.
    let p = Pcap::new(2);
    let r = umock::run_inner(
        "inner_a_silent_device_times_out",
        &render(&edl_nodes("QUSB__BULK")),
        Some((EDL_SYS, &p)),
    );
    umock::assert_inner_passed("inner_a_silent_device_times_out", r);
}

#[test]
#[ignore = "runs under umockdev-run, started by a_silent_device_times_out"]
fn inner_a_silent_device_times_out() {
    if !umock::inner() {
        return;
    }
    let mut t = UsbTransport::open(&UsbSelector::Any).unwrap();
    let err = t
        .read(&mut [0u8; 4096], Duration::from_millis(200))
        .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    println!("INNER-DONE inner_a_silent_device_times_out");
}

fn mouse() -> Node {
    let d = umock::descriptors(
        0x046d,
        0xc52b,
        0x1201,
        [1, 2, 0],
        &[(0, [3, 1, 2], &[(0x81, 3, 8)])],
    );
    umock::usb_device("1-3", 5, &d, &[("product", "USB Receiver")])
}

#[test]
fn nothing_attached_is_not_found() {
    if umock::skip("nothing_attached_is_not_found") {
        return;
    }
    let r = umock::run_inner(
        "inner_nothing_attached_is_not_found",
        &render(&[mouse()]),
        None,
    );
    umock::assert_inner_passed("inner_nothing_attached_is_not_found", r);
}

#[test]
#[ignore = "runs under umockdev-run, started by nothing_attached_is_not_found"]
fn inner_nothing_attached_is_not_found() {
    if !umock::inner() {
        return;
    }
    let err = UsbTransport::open(&UsbSelector::Any).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("05c6:9008"), "{err}");
    let snap = enumerate::snapshot();
    assert!(snap.usb.is_empty(), "a mouse is not of interest: {snap:#?}");
    assert_eq!(snap.usb_error, None);
    println!("INNER-DONE inner_nothing_attached_is_not_found");
}

fn second_edl(product: &str) -> Vec<Node> {
    vec![
        Node::new(&format!("{}/1-2/1-2:1.0", umock::HUB))
            .e("DEVTYPE", "usb_interface")
            .e("SUBSYSTEM", "usb")
            .a("bInterfaceNumber", "00")
            .a("bInterfaceClass", "ff")
            .a("bInterfaceSubClass", "ff")
            .a("bInterfaceProtocol", "11")
            .a("bNumEndpoints", "02"),
        umock::usb_device(
            "1-2",
            3,
            &umock::descriptors(
                0x05c6,
                0x9008,
                0,
                [1, 2, 0],
                &[(0, [0xff, 0xff, 0x11], &[(0x81, 2, 512), (0x01, 2, 512)])],
            ),
            &[("product", product)],
        ),
    ]
}

#[test]
fn selection_by_path_serial_and_ambiguity() {
    if umock::skip("selection_by_path_serial_and_ambiguity") {
        return;
    }
    let mut nodes = edl_nodes("QUSB__BULK");
    nodes.extend(second_edl("QUSB__BULK_SN:0AB1C2D3"));
    let r = umock::run_inner(
        "inner_selection_by_path_serial_and_ambiguity",
        &render(&nodes),
        None,
    );
    umock::assert_inner_passed("inner_selection_by_path_serial_and_ambiguity", r);
}

#[test]
#[ignore = "runs under umockdev-run, started by selection_by_path_serial_and_ambiguity"]
fn inner_selection_by_path_serial_and_ambiguity() {
    if !umock::inner() {
        return;
    }
    let err = UsbTransport::open(&UsbSelector::Any).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Ambiguous);
    assert!(err.help().unwrap().contains("usb:BUS-PORT"));
    let text = err.to_string();
    assert!(
        text.contains("usb:1-1 (05c6:9008)") && text.contains("usb:1-2 (05c6:9008)"),
        "{text}"
    );

    let t = UsbTransport::open(&UsbSelector::Serial("0ab1c2d3".into())).expect("by _SN: serial");
    assert_eq!(t.describe(), "usb 1-2 (05c6:9008)");
    drop(t);
    let t = UsbTransport::open(&UsbSelector::Path("1-1".into())).expect("by port path");
    assert_eq!(t.describe(), "usb 1-1 (05c6:9008)");
    let err = UsbTransport::open(&UsbSelector::Path("2-9".into())).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::NotFound);
    assert!(
        err.to_string().contains("usb:1-2"),
        "lists what is attached: {err}"
    );

    let snap = enumerate::snapshot();
    assert_eq!(snap.usb.len(), 2);
    assert_eq!(
        snap.usb[1].interfaces[0].protocol, 0x11,
        "newer PBL protocol 0x11"
    );
    println!("INNER-DONE inner_selection_by_path_serial_and_ambiguity");
}

fn quectel_ec25() -> Vec<Node> {
    let bulk = |n: u8| [(0x81 + n, 2u8, 512u16), (0x01 + n, 2, 512)];
    let (b0, b1, b2, b3, b4) = (bulk(0), bulk(1), bulk(2), bulk(3), bulk(4));
    let d = umock::descriptors(
        0x2c7c,
        0x0125,
        0x0318,
        [1, 2, 3],
        &[
            (0, [0xff, 0xff, 0xff], &b0),
            (1, [0xff, 0x00, 0x00], &b1),
            (2, [0xff, 0x00, 0x00], &b2),
            (3, [0xff, 0x00, 0x00], &b3),
            (4, [0xff, 0xff, 0xff], &b4),
        ],
    );
    let mut nodes = Vec::new();
    for (n, tty) in [
        (0u8, "ttyUSB0"),
        (1, "ttyUSB1"),
        (2, "ttyUSB2"),
        (3, "ttyUSB3"),
    ] {
        nodes.extend(umock::tty_usb("1-4", n, tty));
        let class = if n == 0 {
            [0xff, 0xff, 0xff]
        } else {
            [0xff, 0, 0]
        };
        nodes.push(umock::usb_interface("1-4", n, class, 2, Some("option")));
    }
    nodes.push(umock::usb_interface(
        "1-4",
        4,
        [0xff, 0xff, 0xff],
        3,
        Some("qmi_wwan"),
    ));
    nodes.push(umock::usb_device(
        "1-4",
        4,
        &d,
        &[
            ("manufacturer", "Quectel"),
            ("product", "EC25-E"),
            ("serial", "0123456789ABCDEF"),
        ],
    ));
    nodes
}

#[test]
fn quectel_composite_enumerates_with_ttys() {
    if umock::skip("quectel_composite_enumerates_with_ttys") {
        return;
    }
    let r = umock::run_inner(
        "inner_quectel_composite_enumerates_with_ttys",
        &render(&quectel_ec25()),
        None,
    );
    umock::assert_inner_passed("inner_quectel_composite_enumerates_with_ttys", r);
}

#[test]
#[ignore = "runs under umockdev-run, started by quectel_composite_enumerates_with_ttys"]
fn inner_quectel_composite_enumerates_with_ttys() {
    if !umock::inner() {
        return;
    }
    let snap = enumerate::snapshot();
    assert_eq!(snap.usb.len(), 1, "{snap:#?}");
    let d = &snap.usb[0];
    assert_eq!((d.vid, d.pid, d.bcd_device), (0x2c7c, 0x0125, 0x0318));
    assert_eq!(d.product.as_deref(), Some("EC25-E"));
    assert_eq!(d.serial.as_deref(), Some("0123456789ABCDEF"));
    assert_eq!(d.interfaces.len(), 5);
    let at = &d.interfaces[2];
    assert_eq!(at.tty.as_deref(), Some("/dev/ttyUSB2"));
    assert_eq!(at.driver.as_deref(), Some("option"));
    assert_eq!(d.interfaces[4].driver.as_deref(), Some("qmi_wwan"));
    assert_eq!(d.interfaces[4].tty, None);
    // Interface 0 and 4 are ff/ff/ff on a normal-mode Quectel composite: not an EDL device
    // to libusb selection (VID is not Qualcomm).
    assert_eq!(
        UsbTransport::open(&UsbSelector::Any).unwrap_err().kind,
        TransportErrorKind::NotFound
    );
    let at_port = snap
        .serial
        .iter()
        .find(|p| p.name == "/dev/ttyUSB2")
        .unwrap_or_else(|| panic!("ttyUSB2 listed: {:#?}", snap.serial));
    assert_eq!(
        (at_port.vid, at_port.pid, at_port.interface),
        (Some(0x2c7c), Some(0x0125), Some(2))
    );
    assert_eq!(at_port.product.as_deref(), Some("EC25-E"));
    println!("INNER-DONE inner_quectel_composite_enumerates_with_ttys");
}
