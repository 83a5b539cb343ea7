//! Recorded hot-plug timelines (normal → gone → 9008 → gone → normal, a USB3 path change, a
//! flapping port) through the pure timeline and the diagnosis, and the poller thread.
// Helpers outside #[test] functions unwrap too: a failed fixture read is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oasis_engine::diag::classify::{Evidence, State, diagnose};
use oasis_engine::diag::timeline::{
    FlapConfig, PollEvent, Poller, PollerConfig, Timeline, TimelineEvent, TimelineKind, describe,
};
use oasis_engine::diag::usb_table::UsbMode;
use oasis_transport::enumerate::{Accessibility, Snapshot, UsbDeviceInfo, UsbInterfaceInfo};

fn dev(vid: u16, pid: u16, path: &str) -> UsbDeviceInfo {
    let n = if pid == 0x9008 { 1 } else { 5 };
    UsbDeviceInfo {
        vid,
        pid,
        bcd_device: 0,
        bus: 1,
        address: 5,
        port_path: path.into(),
        speed: None,
        manufacturer: None,
        product: None,
        serial: None,
        interfaces: (0..n)
            .map(|number| UsbInterfaceInfo {
                number,
                class: 0xFF,
                subclass: 0xFF,
                protocol: 0xFF,
                endpoints: 2,
                driver: None,
                tty: None,
            })
            .collect(),
        access: Accessibility::Accessible,
    }
}

fn snap(devs: &[UsbDeviceInfo]) -> Snapshot {
    Snapshot {
        usb: devs.to_vec(),
        ..Snapshot::default()
    }
}

fn kinds(evs: &[TimelineEvent]) -> Vec<&'static str> {
    evs.iter()
        .map(|e| match e.kind {
            TimelineKind::Appeared { .. } => "appeared",
            TimelineKind::Disappeared { .. } => "disappeared",
            TimelineKind::ModeChanged { .. } => "mode_changed",
            TimelineKind::Flapping { .. } => "flapping",
            TimelineKind::Settled { .. } => "settled",
            TimelineKind::UsbUnavailable { .. } => "usb_unavailable",
        })
        .collect()
}

#[test]
fn diag_normal_to_download_mode_and_back() {
    let normal = dev(0x2C7C, 0x0125, "1-1.4");
    let edl = dev(0x05C6, 0x9008, "1-1.4");
    let mouse = dev(0x046D, 0xC52B, "1-2");
    let mut tl = Timeline::new(FlapConfig::default());
    let script: [(f64, Vec<UsbDeviceInfo>); 6] = [
        (0.0, vec![normal.clone(), mouse.clone()]),
        (2.0, vec![mouse.clone()]),
        (5.5, vec![edl.clone(), mouse.clone()]),
        (40.0, vec![mouse.clone()]),
        (62.0, vec![normal.clone(), mouse.clone()]),
        (63.0, vec![normal.clone(), mouse.clone()]),
    ];
    let mut per_step = Vec::new();
    for (t, devs) in &script {
        per_step.push(tl.observe(*t, &snap(devs)));
    }
    assert_eq!(
        kinds(&per_step[0]),
        ["appeared"],
        "the mouse is not a board"
    );
    assert_eq!(kinds(&per_step[1]), ["disappeared"]);
    assert_eq!(kinds(&per_step[2]), ["appeared", "mode_changed"]);
    match &per_step[2][1].kind {
        TimelineKind::ModeChanged {
            from,
            to,
            gone_s,
            from_path,
            to_path,
        } => {
            assert_eq!(from.mode, Some(UsbMode::Normal));
            assert_eq!(to.mode, Some(UsbMode::Edl));
            assert!((gone_s - 3.5).abs() < 1e-9);
            assert_eq!((from_path.as_str(), to_path.as_str()), ("1-1.4", "1-1.4"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(kinds(&per_step[4]), ["appeared", "mode_changed"]);
    assert!(per_step[5].is_empty(), "nothing changed");
    assert_eq!(
        tl.flapping_paths().count(),
        0,
        "two returns are a flash, not flapping"
    );
    let text = describe(&per_step[2][1]);
    assert!(
        text.contains("2C7C:0125 (normal mode) to 05C6:9008 (download mode) on USB port 1-1.4"),
        "{text}"
    );

    // A diagnosis taken while the board is away says so.
    let mut tl2 = Timeline::new(FlapConfig::default());
    tl2.observe(0.0, &snap(&[normal]));
    tl2.observe(1.0, &snap(&[]));
    let d = diagnose(&Evidence {
        timeline: Some(tl2.events().to_vec()),
        ..Evidence::default()
    });
    assert_eq!(d.state, State::NotOnUsb);
    assert!(
        d.next_steps[0].text.contains("15 to 30 seconds"),
        "{:?}",
        d.next_steps[0]
    );
}

#[test]
fn diag_usb3_host_moves_the_board_to_a_new_path() {
    let mut tl = Timeline::new(FlapConfig::default());
    tl.observe(0.0, &snap(&[dev(0x2C7C, 0x0700, "2-1")]));
    tl.observe(1.0, &snap(&[]));
    let evs = tl.observe(3.0, &snap(&[dev(0x05C6, 0x9008, "3-1")]));
    let Some(TimelineKind::ModeChanged {
        from_path, to_path, ..
    }) = evs.get(1).map(|e| &e.kind)
    else {
        panic!("{evs:?}")
    };
    assert_eq!((from_path.as_str(), to_path.as_str()), ("2-1", "3-1"));
    // Too late to be the same board: no mode change.
    let mut tl = Timeline::new(FlapConfig::default());
    tl.observe(0.0, &snap(&[dev(0x2C7C, 0x0700, "2-1")]));
    tl.observe(1.0, &snap(&[]));
    let evs = tl.observe(100.0, &snap(&[dev(0x05C6, 0x9008, "3-1")]));
    assert_eq!(kinds(&evs), ["appeared"]);
}

#[test]
fn diag_flapping_port_is_detected_once_and_cleared_when_quiet() {
    let board = dev(0x2C7C, 0x0125, "1-3");
    let mut tl = Timeline::new(FlapConfig::default());
    let mut flaps = Vec::new();
    for i in 0..5 {
        let t = f64::from(i) * 4.0;
        flaps.extend(tl.observe(t, &snap(std::slice::from_ref(&board))));
        flaps.extend(tl.observe(t + 2.0, &snap(&[])));
    }
    let found: Vec<&TimelineEvent> = flaps
        .iter()
        .filter(|e| matches!(e.kind, TimelineKind::Flapping { .. }))
        .collect();
    assert_eq!(found.len(), 1, "reported once while it lasts");
    assert!(
        matches!(&found[0].kind, TimelineKind::Flapping { port_path, cycles: 3, .. } if port_path == "1-3")
    );
    assert_eq!(found[0].at_s, 12.0, "third return at t=12");
    assert_eq!(tl.flapping_paths().collect::<Vec<_>>(), ["1-3"]);

    let mut ev = Evidence {
        snapshot: snap(std::slice::from_ref(&board)),
        timeline: Some(tl.events().to_vec()),
        ..Evidence::default()
    };
    let d = diagnose(&ev);
    assert_eq!(d.state, State::Flapping);
    assert_eq!(d.port_path.as_deref(), Some("1-3"));
    assert!(
        d.summary.contains("3 times within 30 seconds"),
        "{}",
        d.summary
    );

    // Quiet for longer than the window: no longer flapping, and the diagnosis moves on.
    tl.observe(20.0, &snap(std::slice::from_ref(&board)));
    assert_eq!(kinds(&tl.observe(120.0, &snap(&[board]))), ["settled"]);
    assert_eq!(tl.flapping_paths().count(), 0);
    ev.timeline = Some(tl.events().to_vec());
    assert_eq!(diagnose(&ev).state, State::NormalAtSilent);
}

#[test]
fn diag_usb_listing_failure_keeps_presence() {
    let board = dev(0x05C6, 0x9008, "1-1");
    let mut tl = Timeline::new(FlapConfig::default());
    tl.observe(0.0, &snap(std::slice::from_ref(&board)));
    let broken = Snapshot {
        usb_error: Some("USB subsystem not available".into()),
        ..Snapshot::default()
    };
    assert_eq!(kinds(&tl.observe(1.0, &broken)), ["usb_unavailable"]);
    assert!(tl.observe(2.0, &broken).is_empty(), "reported once");
    assert!(
        tl.observe(3.0, &snap(&[board])).is_empty(),
        "the board never left"
    );
}

#[test]
fn diag_poller_sends_changes_and_stops() {
    let calls = Arc::new(AtomicUsize::new(0));
    let notified = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let script = [
        snap(&[dev(0x2C7C, 0x0125, "1-4")]),
        snap(&[]),
        snap(&[dev(0x05C6, 0x9008, "1-4")]),
    ];
    let n = Arc::clone(&notified);
    let config = PollerConfig {
        interval: Duration::from_millis(5),
        flap: FlapConfig::default(),
    };
    let poller = Poller::start(
        config,
        move || {
            let i = c.fetch_add(1, Ordering::SeqCst);
            script[i.min(script.len() - 1)].clone()
        },
        Some(Box::new(move || {
            n.fetch_add(1, Ordering::SeqCst);
        })),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    while Instant::now() < deadline {
        if let Ok(ev) = poller.receiver().recv_timeout(Duration::from_millis(100)) {
            let done = matches!(
                &ev,
                PollEvent::Timeline(TimelineEvent {
                    kind: TimelineKind::ModeChanged { .. },
                    ..
                })
            );
            got.push(ev);
            if done {
                break;
            }
        }
    }
    let snapshots = got
        .iter()
        .filter(|e| matches!(e, PollEvent::Snapshot { .. }))
        .count();
    assert_eq!(snapshots, 3, "one per change: {got:?}");
    assert!(got.iter().any(|e| matches!(
        e,
        PollEvent::Timeline(TimelineEvent {
            kind: TimelineKind::ModeChanged { .. },
            ..
        })
    )));
    assert!(notified.load(Ordering::SeqCst) >= 3);
    poller.stop();
    let after = calls.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(calls.load(Ordering::SeqCst), after, "no polling after stop");
}

#[test]
fn diag_dropping_the_poller_ends_its_thread() {
    let alive = Arc::new(());
    let held = Arc::clone(&alive);
    let poller = Poller::start(
        PollerConfig::default(),
        move || {
            let _keep = &held;
            Snapshot::default()
        },
        None,
    )
    .unwrap();
    assert!(matches!(
        poller.receiver().recv_timeout(Duration::from_secs(2)),
        Ok(PollEvent::Snapshot { .. })
    ));
    drop(poller);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Arc::strong_count(&alive) > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        Arc::strong_count(&alive),
        1,
        "the thread released its closure"
    );
}
