//! The app's real-board path over the virtual bus: a board plugged in while the app runs is
//! diagnosed, switched, flashed, confirmed and unplugged; every diagnosis state is reached from
//! what a host sees of the scenario boards on the bus; an open port keeps probes off, and the
//! app's own probes of one board take turns.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use oasis_engine::diag::timeline::TimelineKind;
use std::time::Duration;

use common::{app, click, flash, run_until, temp_dir, verdict};
use egui_kittest::kittest::Queryable;
use oasis::backend::engine::EngineBackend;
use oasis::backend::engine_boards::{
    Label, Virtual, demo_boards, diagnosis_view, evidence_on, label, probe_device, real_boards,
};
use oasis::backend::engine_serial::with_port;
use oasis::backend::{BoardMode, BoardState, BoardStateText};
use oasis_engine::diag::timeline::{FlapConfig, Timeline, TimelineEvent};
use oasis_transport::{BusHandle, TransportErrorKind};
use oasis_vdev::{BoardOptions, BusTiming, Profile, VirtualBoard, VirtualBus};

/// The real-board path of the app, end to end, on a board that is plugged in while the app
/// runs: it appears on the bus running its firmware, is diagnosed over its AT port, switched
/// over its DM port (it leaves the bus and comes back as 05C6:9008), flashed, confirmed on
/// its AT port after the restart, and leaves the list when it is pulled out. Nothing in the
/// app touches the board except through the bus.
#[test]
fn a_board_plugged_in_is_diagnosed_switched_flashed_confirmed_and_unplugged() {
    let dir = temp_dir("engine-plug");
    let package = oasis::demo::install(&dir).unwrap_or_else(|e| panic!("demo package: {e}"));
    let backend = EngineBackend::with_virtuals(Vec::new(), false);
    let socket = backend.socket();
    let mut h = app(Box::new(backend), &dir, Some(package));
    run_until(&mut h, 20, "the package", |h| {
        h.state().state.package.summary.is_some()
    });
    assert!(h.state().state.boards.is_empty());
    // Plug.
    let board = oasis_vdev::bus::board_for("bg95@normal", "bg95").unwrap();
    socket.plug(Virtual::new("virtual:7", "Plugged BG95", board.clone()));
    run_until(&mut h, 20, "the plugged board, asked on AT", |h| {
        h.state()
            .state
            .boards
            .iter()
            .any(|b| b.id == "virtual:7" && b.mode == BoardMode::Normal && b.revision.is_some())
    });
    let before = h.state().state.boards[0].revision.clone().unwrap();
    assert_eq!(before, board.revision());
    // Diagnose.
    click(&mut h, "Diagnostics");
    click(&mut h, "Plugged BG95");
    run_until(&mut h, 20, "the diagnosis", |h| {
        matches!(&h.state().state.diag.diagnosis, Some(Ok(_)))
    });
    let d = h.state().state.diag.diagnosis.clone().unwrap().unwrap();
    assert_eq!(d.state, BoardState::NormalAtOk, "{d:?}");
    assert!(
        d.devices.iter().any(|u| u.port_path == "virtual:7"),
        "{d:?}"
    );
    // Every line names the board as the list does, not by its path on the virtual bus.
    let lines = || d.evidence.iter().chain(std::iter::once(&d.summary));
    assert!(lines().any(|l| l.contains("virtual:7")), "{d:?}");
    assert!(!lines().any(|l| l.contains("USB port 0-")), "{d:?}");
    // Switch.
    click(&mut h, "Switch to download mode");
    run_until(&mut h, 20, "the switch", |h| {
        h.state().state.diag.switched.is_some()
    });
    let text = h.state().state.diag.switched.clone().unwrap().unwrap();
    assert!(text.contains("DM port"), "{text}");
    run_until(&mut h, 20, "the board back in download mode", |h| {
        h.state()
            .state
            .boards
            .first()
            .is_some_and(|b| b.mode == BoardMode::Edl)
    });
    let timeline = h.state().state.timeline.clone();
    assert!(
        timeline.iter().any(
            |e| matches!(&e.kind, TimelineKind::Appeared { port_path, device }
                if port_path == "virtual:7" && device.mode == Some(BoardMode::Edl))
        ),
        "{timeline:?}"
    );
    // Flash and confirm.
    click(&mut h, "Flash");
    flash(&mut h, "Plugged BG95");
    h.get_by_label("Flash succeeded");
    let v = verdict(&h);
    assert!(v.confirmed, "{v:?}");
    assert_eq!(v.running_revision.as_deref(), Some(oasis::demo::NAME));
    assert_eq!(board.revision(), oasis::demo::NAME);
    run_until(
        &mut h,
        20,
        "the board in normal mode with the new revision",
        |h| {
            h.state().state.boards.first().is_some_and(|b| {
                b.mode == BoardMode::Normal && b.revision.as_deref() == Some(oasis::demo::NAME)
            })
        },
    );
    // Unplug.
    assert!(socket.unplug("virtual:7"));
    run_until(&mut h, 20, "the board gone from the list", |h| {
        h.state().state.boards.is_empty()
    });
    assert!(
        h.state()
            .state
            .timeline
            .iter()
            .any(|e| matches!(&e.kind, TimelineKind::Disappeared { port_path, .. } if port_path == "virtual:7"))
    );
}

/// A board switched to download mode leaves the bus for a moment and comes back on the same
/// port: it stays the selected board (another board on the bench does not take its place) and
/// the Diagnostics pane looks at it again in its new mode.
#[test]
fn a_board_that_comes_back_in_another_mode_stays_selected_and_is_diagnosed_again() {
    let dir = temp_dir("engine-reselect");
    let backend = EngineBackend::with_virtuals(Vec::new(), false);
    let socket = backend.socket();
    let mut h = app(Box::new(backend), &dir, None);
    socket.plug(Virtual::new(
        "virtual:6",
        "Waiting BG95",
        oasis_vdev::scenarios::healthy_bg95(),
    ));
    let board = oasis_vdev::bus::board_for("bg95@normal", "bg95").unwrap();
    socket.plug(Virtual::new("virtual:7", "Running BG95", board));
    run_until(
        &mut h,
        20,
        "both boards, the running one asked on AT",
        |h| {
            let boards = &h.state().state.boards;
            boards.len() == 2
                && boards
                    .iter()
                    .any(|b| b.id == "virtual:7" && b.revision.is_some())
        },
    );
    click(&mut h, "Diagnostics");
    click(&mut h, "Running BG95");
    run_until(
        &mut h,
        20,
        "the diagnosis in normal mode",
        |h| matches!(&h.state().state.diag.diagnosis, Some(Ok(d)) if d.state == BoardState::NormalAtOk),
    );
    click(&mut h, "Switch to download mode");
    run_until(&mut h, 20, "the board back in download mode", |h| {
        let b = h.state().state.boards.iter().find(|b| b.id == "virtual:7");
        b.is_some_and(|b| b.mode == BoardMode::Edl)
    });
    assert_eq!(h.state().state.selected.as_deref(), Some("virtual:7"));
    run_until(
        &mut h,
        20,
        "the diagnosis in download mode",
        |h| matches!(&h.state().state.diag.diagnosis, Some(Ok(d)) if d.state == BoardState::EdlWaiting),
    );
    let d = h.state().state.diag.diagnosis.clone().unwrap().unwrap();
    assert!(
        d.devices.iter().all(|u| u.port_path == "virtual:7"),
        "{d:?}"
    );
}

/// The diagnosis a technician expects for each of oasis-vdev's scenario boards.
fn expected_state(scenario: &str) -> BoardState {
    match scenario {
        "healthy-bg95" | "failing-flash-bg95" => BoardState::EdlWaiting,
        "normal-eg25" => BoardState::NormalAtOk,
        "silent-eg25" => BoardState::NormalAtSilent,
        "programmer-bg95" => BoardState::EdlProgrammerRunning,
        "dump-bg95" => BoardState::MemoryDump,
        "claimed-bg95" => BoardState::ClaimedByDriver,
        "no-permission-bg95" => BoardState::NoPermission,
        "unplugged-eg25" => BoardState::NotOnUsb,
        "flapping-bg95" => BoardState::Flapping,
        "ec200t" => BoardState::NotFirehoseModule,
        other => panic!("a scenario this test does not know: {other}"),
    }
}

/// One virtual board per scenario, listed as `virtual:s1`…, titled with its sentence, with
/// the diagnosis expected for it.
fn state_boards() -> Vec<(Virtual, BoardState)> {
    oasis_vdev::scenarios()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = Virtual::new(format!("virtual:s{}", i + 1), s.description, (s.build)());
            (v, expected_state(s.name))
        })
        .collect()
}

/// The hot-plug history of the bus sampled for `secs` (one look when 0), as the watcher keeps
/// it.
fn sampled_timeline(bus: &BusHandle, secs: f64) -> Vec<TimelineEvent> {
    let mut tl = Timeline::new(FlapConfig::default());
    let start = std::time::Instant::now();
    loop {
        let t = start.elapsed().as_secs_f64();
        tl.observe(t, &bus.snapshot());
        if t >= secs {
            return tl.events().to_vec();
        }
        std::thread::sleep(Duration::from_millis(4));
    }
}

/// `v` alone on a virtual bus, with its label.
fn on_a_bus(v: &Virtual) -> (VirtualBus, Label) {
    let vbus = VirtualBus::new(BusTiming::default());
    let n = vbus.plug_as(v.board.clone(), Some(&v.id));
    let l = Label {
        port_path: VirtualBus::port_path(n),
        id: v.id.clone(),
        title: v.title.clone(),
    };
    (vbus, l)
}

/// Every state the diagnosis knows is reached from what a host can see of the scenario
/// boards on the bus (their USB listing, AT answers and hot-plug history), except a
/// programmer already running: on USB it looks exactly like a boot ROM waiting (05C6:9008),
/// and is diagnosed so.
#[test]
fn every_diagnosis_state_is_reached_through_the_bus() {
    let mut reached = Vec::new();
    for (v, want) in state_boards() {
        let (v, look) = if want == BoardState::Flapping {
            // The scenario flaps every second; the same board on a 400 ms cycle (longer than the
            // bus's re-enumeration gap) keeps this short.
            let opts = BoardOptions {
                flap: Some(Duration::from_millis(400)),
                ..BoardOptions::default()
            };
            let b = VirtualBoard::new(Profile::bg95(), opts);
            (Virtual::new(v.id, v.title, b), 3.5)
        } else {
            (v, 0.0)
        };
        let (vbus, l) = on_a_bus(&v);
        let bus = vbus.handle();
        let timeline = sampled_timeline(&bus, look);
        let snap = bus.snapshot();
        let want = if want == BoardState::EdlProgrammerRunning {
            BoardState::EdlWaiting
        } else {
            want
        };
        let d = match snap.usb.first() {
            Some(dev) => {
                oasis_engine::diag::diagnose(&evidence_on(&bus, snap.clone(), dev, Some(timeline)))
            }
            None => oasis_engine::diag::diagnose(&oasis_engine::diag::Evidence {
                snapshot: snap.clone(),
                timeline: Some(timeline),
                ..Default::default()
            }),
        };
        assert_eq!(d.state, want, "{}: {d:#?}", v.title);
        // The board list agrees where it can tell without asking the board.
        if !matches!(
            want,
            BoardState::Flapping | BoardState::NormalAtSilent | BoardState::NormalAtOk
        ) && let Some(dev) = snap.usb.first()
        {
            let mut list = real_boards(&snap);
            label(&mut list, &[l]);
            let view = diagnosis_view(&d, &dev.port_path, &v.id);
            assert_eq!(list[0].state, view.state, "list entry of {}", v.title);
        }
        reached.push(want);
    }
    for s in BoardState::ALL {
        assert_eq!(
            reached.contains(&s),
            s != BoardState::EdlProgrammerRunning,
            "{s:?} in {reached:?}"
        );
    }
}

/// A port another job has open is busy to a probe, as the OS answers for a real one; once it
/// is let go, the probe answers.
#[test]
fn an_open_port_keeps_probes_off_the_board() {
    let v = demo_boards().swap_remove(1);
    let (vbus, _) = on_a_bus(&v);
    let bus = vbus.handle();
    let dev = bus.snapshot().usb[0].clone();
    assert!(probe_device(&bus, &dev).iter().any(|(p, _)| p.answered));
    // Another program has the board's AT interpreter open (its AT and modem ports share it).
    let held = bus.open_serial("vtty1.2").unwrap();
    let probes = probe_device(&bus, &dev);
    assert!(!probes.is_empty());
    for (p, _) in &probes {
        assert!(!p.answered);
        assert_eq!(
            p.error.as_ref().map(|e| e.kind),
            Some(TransportErrorKind::Busy)
        );
    }
    drop(held);
    assert!(probe_device(&bus, &dev).iter().any(|(p, _)| p.answered));
}

/// Why the Diagnostics test once failed under load: the compatibility check and the diagnosis
/// probed the same AT port at once and read each other's answers. Probes now take turns.
#[test]
fn probes_on_one_board_take_turns() {
    let v = demo_boards().swap_remove(1);
    let (vbus, _) = on_a_bus(&v);
    let bus = vbus.handle();
    let tty = "vtty1.2".to_owned();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (bus, tty) = (bus.clone(), tty.clone());
            std::thread::Builder::new()
                .name(format!("probe-{i}"))
                .spawn(move || {
                    with_port(&tty, || {
                        oasis_engine::diag::at::probe_on(
                            &bus,
                            &tty,
                            &oasis::backend::engine_boards::at_config(),
                        )
                    })
                })
                .unwrap()
        })
        .collect();
    for t in threads {
        let p = t.join().unwrap();
        assert!(p.answered, "{p:?}");
        assert_eq!(p.model.as_deref(), Some("EG25"), "{p:?}");
        assert!(p.full_revision.is_some(), "{p:?}");
    }
}
