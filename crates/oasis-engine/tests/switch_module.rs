//! The engine's download-mode switch on its own (the app's Diagnostics "Switch to download
//! mode"): the command goes to the module's DM port found from its interface roles on the bus,
//! nothing is followed, and the module comes back as 05C6:9008 by itself. A device without a
//! DM port is named, not guessed at.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::time::{Duration, Instant};

use oasis_engine::{EngineError, Help, Sent, switch_module};
use oasis_vdev::{BoardOptions, BusTiming, Profile, StartIn, VirtualBoard, VirtualBus};

fn running_bg95() -> VirtualBoard {
    let opts = BoardOptions {
        start_in: StartIn::Normal,
        ..BoardOptions::default()
    };
    VirtualBoard::new(Profile::bg95(), opts)
}

#[test]
fn a_running_module_is_sent_to_download_mode_over_its_dm_port() {
    let vbus = VirtualBus::new(BusTiming::default());
    vbus.plug(running_bg95());
    let bus = vbus.handle();
    let dev = bus.snapshot().usb[0].clone();
    assert_eq!(dev.vid, 0x2C7C);
    let (dm, sent) = switch_module(&bus, &dev, Duration::from_secs(5)).unwrap();
    assert_eq!(dm, "vtty1.0", "interface 0 is the DM port");
    assert_eq!(sent, Sent::Echoed);
    // It restarts by itself and comes back on the same USB path in download mode.
    let start = Instant::now();
    loop {
        let snap = bus.snapshot();
        if let Some(d) = snap.usb.iter().find(|d| d.port_path == dev.port_path)
            && (d.vid, d.pid) == (0x05C6, 0x9008)
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{snap:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_device_without_a_dm_port_is_named() {
    let vbus = VirtualBus::new(BusTiming::default());
    vbus.plug(VirtualBoard::new(Profile::bg95(), BoardOptions::default()));
    let bus = vbus.handle();
    // In download mode: one bulk interface, no DM/DIAG port.
    let dev = bus.snapshot().usb[0].clone();
    let e = switch_module(&bus, &dev, Duration::from_secs(1)).unwrap_err();
    assert!(matches!(e, EngineError::BadInput { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("05C6:9008"), "{text}");
    assert!(text.contains("DM/DIAG"), "{text}");
    assert!(e.help().is_some_and(|h| h.contains("USB_BOOT")), "{e:?}");
}
