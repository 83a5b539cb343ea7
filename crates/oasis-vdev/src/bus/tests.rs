//! The virtual bus as a host sees it: listings, opens, claims, re-enumeration, aliases.
use super::*;
use crate::options::BoardOptions;

fn fast() -> BusTiming {
    BusTiming {
        reenumerate: Duration::from_millis(50),
    }
}

fn wait_for(bus: &VirtualBus, what: &str, pred: impl Fn(&Snapshot) -> bool) -> Snapshot {
    // Bounded by a count of polls, not a clock: the board must show up eventually.
    for _ in 0..2000 {
        let s = bus.snapshot();
        if pred(&s) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("never saw {what}");
}

#[test]
fn a_board_in_download_mode_is_a_9008_device_with_one_tty() {
    let bus = VirtualBus::new(fast());
    let n = bus.plug(board_for("bg95", "bg95").unwrap());
    let s = bus.snapshot();
    assert_eq!(s.usb.len(), 1);
    let d = &s.usb[0];
    assert_eq!((d.vid, d.pid), (0x05C6, 0x9008));
    assert_eq!(d.port_path, format!("0-{n}"));
    assert!(d.product.as_deref().unwrap().starts_with("QUSB__BULK_SN:"));
    assert_eq!(d.interfaces.len(), 1);
    assert_eq!(d.interfaces[0].tty.as_deref(), Some("vtty1.0"));
    assert_eq!(s.serial.len(), 1);
    assert_eq!(s.serial[0].pid, Some(0x9008));
}

#[test]
fn a_module_in_normal_mode_shows_dm_nmea_at_and_modem() {
    let bus = VirtualBus::new(fast());
    bus.plug(board_for("eg25@normal", "bg95").unwrap());
    let s = bus.snapshot();
    let d = &s.usb[0];
    assert_eq!((d.vid, d.pid), (0x2C7C, 0x0125));
    let ttys: Vec<&str> = d
        .interfaces
        .iter()
        .filter_map(|i| i.tty.as_deref())
        .collect();
    assert_eq!(ttys, ["vtty1.0", "vtty1.1", "vtty1.2", "vtty1.3"]);
    assert_eq!(
        (d.interfaces[0].class, d.interfaces[0].subclass),
        (0xff, 0xff)
    );
    // The AT port answers AT; the USB device is not in download mode.
    let mut at = bus.open(&PortSpec::Serial("vtty1.2".into())).unwrap();
    at.link
        .write_all(b"AT\r", Duration::from_millis(100))
        .unwrap();
    let mut buf = [0u8; 256];
    let mut got = Vec::new();
    for _ in 0..50 {
        if let Ok(k) = at.link.read(&mut buf, Duration::from_millis(20)) {
            got.extend_from_slice(&buf[..k]);
        }
        if String::from_utf8_lossy(&got).contains("OK") {
            break;
        }
    }
    assert!(String::from_utf8_lossy(&got).contains("OK"), "{got:?}");
    let e = bus.open(&PortSpec::parse("usb:0-1")).unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::NotFound);
    assert!(e.to_string().contains("not in download mode"), "{e}");
}

#[test]
fn usb_opens_as_packets_the_tty_as_a_stream_and_a_second_open_is_busy() {
    let bus = VirtualBus::new(fast());
    bus.plug(board_for("bg95", "bg95").unwrap());
    let usb = bus.open(&PortSpec::parse("usb")).unwrap();
    assert_eq!(usb.link.link_kind(), LinkKind::Packet);
    let e = bus.open(&PortSpec::Serial("vtty1.0".into())).unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::Busy, "{e}");
    drop(usb);
    let tty = bus.open(&PortSpec::Serial("vtty1.0".into())).unwrap();
    assert_eq!(tty.link.link_kind(), LinkKind::Stream);
    let e = bus.open(&PortSpec::Serial("vtty7.0".into())).unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::NotFound);
}

#[test]
fn usb_any_with_two_boards_in_download_mode_names_them() {
    let bus = VirtualBus::new(fast());
    bus.plug(board_for("bg95", "bg95").unwrap());
    bus.plug(board_for("eg25", "bg95").unwrap());
    let e = bus.open(&PortSpec::parse("usb")).unwrap_err();
    assert!(e.to_string().contains("usb:0-1, usb:0-2"), "{e}");
    assert!(bus.open(&PortSpec::parse("usb:0-2")).is_ok());
}

#[test]
fn a_switched_module_leaves_the_bus_and_comes_back_as_9008() {
    let bus = VirtualBus::new(fast());
    bus.plug(board_for("eg25@normal", "bg95").unwrap());
    assert_eq!(bus.snapshot().usb[0].pid, 0x0125);
    {
        let mut dm = bus.open(&PortSpec::Serial("vtty1.0".into())).unwrap();
        dm.link
            .write_all(
                &[0x4B, 0x65, 0x01, 0x00, 0x54, 0x0F, 0x7E],
                Duration::from_millis(100),
            )
            .unwrap();
        let mut buf = [0u8; 16];
        let _ = dm.link.read(&mut buf, Duration::from_millis(100));
    }
    // Right after the switch the module is off the bus; opens fail NotFound.
    let gone = bus.snapshot();
    assert!(gone.usb.is_empty(), "{gone:?}");
    assert_eq!(
        bus.open(&PortSpec::parse("usb:0-1")).unwrap_err().kind,
        TransportErrorKind::NotFound
    );
    let back = wait_for(&bus, "9008", |s| s.usb.iter().any(|d| d.pid == 0x9008));
    assert_eq!(back.usb[0].port_path, "0-1");
    assert!(bus.open(&PortSpec::parse("usb:0-1")).is_ok());
}

#[test]
fn an_alias_names_the_board_made_for_it_and_unplugging_removes_it() {
    let (bus, board) = VirtualBus::for_port("virtual:eg25@normal", "bg95", fast())
        .unwrap()
        .unwrap();
    assert_eq!(board.state(), BoardState::Normal);
    assert_eq!(
        bus.alias("Virtual:EG25@normal").unwrap().as_deref(),
        Some("usb:0-1")
    );
    assert_eq!(bus.alias("virtual:bg95").unwrap(), None);
    assert!(
        VirtualBus::for_port("/dev/ttyUSB0", "bg95", fast())
            .unwrap()
            .is_none()
    );
    let e = VirtualBus::for_port("virtual:eg25@sleeping", "bg95", fast()).unwrap_err();
    assert!(e.to_string().contains("@sleeping"), "{e}");
    let e = VirtualBus::for_port("virtual:nosuch", "bg95", fast()).unwrap_err();
    assert!(e.to_string().contains("nosuch"), "{e}");
    assert!(bus.unplug(1));
    assert!(bus.snapshot().usb.is_empty());
    assert!(!bus.unplug(9));
}

#[test]
fn an_on_demand_bus_makes_the_board_a_name_asks_for_once() {
    let bus = VirtualBus::on_demand(fast());
    assert_eq!(bus.alias("/dev/ttyUSB0").unwrap(), None);
    assert_eq!(
        bus.alias("virtual:eg25@normal").unwrap().as_deref(),
        Some("usb:0-1")
    );
    assert_eq!(
        bus.alias("virtual:eg25@normal").unwrap().as_deref(),
        Some("usb:0-1")
    );
    assert_eq!(bus.alias("virtual").unwrap().as_deref(), Some("usb:0-2"));
    assert_eq!(bus.board(2).unwrap().profile().name, "bg95");
    let e = bus.alias("virtual:2").unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::NotFound);
    assert!(e.to_string().contains("profile \"2\""), "{e}");
    assert!(e.to_string().contains("eg25"), "{e}");
    assert_eq!(bus.boards().len(), 2);
}

#[test]
fn a_board_claimed_by_another_program_is_listed_busy_and_refuses_the_open() {
    let bus = VirtualBus::new(fast());
    let opts = BoardOptions {
        access: HostAccess::ClaimedBy("ModemManager".into()),
        ..BoardOptions::default()
    };
    bus.plug(VirtualBoard::new(Profile::bg95(), opts));
    let s = bus.snapshot();
    assert_eq!(s.usb[0].access, Accessibility::Busy("ModemManager".into()));
    let e = bus.open(&PortSpec::parse("usb")).unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::Busy);
}
