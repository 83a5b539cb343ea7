//! Backup and restore on virtual boards: calibration regions survive an update flash (and are
//! backed up before it), come back byte for byte after a destructive flash with restore, and a
//! backup is refused on another board.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;
mod link_support;
mod safety_support;

use common::{package_copy, pseudo_random};
use link_support::OnLink;
use oasis_engine::backup::{MANIFEST, Manifest};
use oasis_engine::{
    BackupRequest, ErrorKind, FlashOptions, FlashRequest, Phase, RestoreRequest, spawn_backup,
    spawn_flash, spawn_restore,
};
use oasis_package::{OpenOptions, Package};
use oasis_vdev::{BoardOptions, Profile, VirtualBoard};
use safety_support::{board, infos, phases, power_cycle, quick, run, sha256};

/// Where a partition of the package's table is: (start sector, sectors).
fn place(root: &std::path::Path, name: &str) -> (u64, u64) {
    let pkg = Package::open(root, &OpenOptions::default()).unwrap();
    let p = pkg.partitions.as_ref().unwrap().find(name).unwrap().clone();
    (p.start_sector, p.sectors.unwrap())
}

#[test]
fn nand_update_keeps_efs2_and_backs_it_up_first() {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let (efs, efs_len) = place(&root, "EFS2");
    let b = board("eg25");
    let cal = pseudo_random("eg25 calibration", 40 * 2048);
    b.write_storage(0, efs, &cal).unwrap();
    let dir = tmp.path().join("backup");
    let mut o = FlashOptions::default();
    o.backup = Some(dir.clone());
    o.timeouts = quick();
    let req = FlashRequest::new(&root, "virtual:eg25")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, events) = run(|sink| spawn_flash(req.on_link(Box::new(b.connect())), sink));
    let v = out.unwrap_or_else(|r| panic!("{r:?}"));
    // Backup runs after Configure and before anything is erased.
    let ph = phases(&events);
    let at = |p| ph.iter().position(|x| *x == p).unwrap();
    assert!(at(Phase::Configure) < at(Phase::Backup) && at(Phase::Backup) < at(Phase::Erase));
    // The update did not touch EFS2.
    assert_eq!(b.read_storage(0, efs, 40), cal);
    assert!(v.verified.len() >= 9);
    // The backup holds the region raw, named in the manifest with its hash and the serial.
    let m = Manifest::load(&dir).unwrap();
    assert_eq!(m.board.serial.as_deref(), Some("0cf94c64"));
    assert_eq!(m.board.hw_id.as_deref(), Some("000480e100000000"));
    assert_eq!(m.memory, "nand");
    let r = m.regions.iter().find(|r| r.region.name == "EFS2").unwrap();
    assert_eq!((r.region.start_sector, r.region.sectors), (efs, efs_len));
    let file = std::fs::read(dir.join(&r.file)).unwrap();
    assert_eq!(file.len() as u64, efs_len * 2048);
    assert_eq!(&file[..cal.len()], &cal[..]);
    assert!(
        file[cal.len()..].iter().all(|b| *b == 0xFF),
        "erased pages read as 0xFF"
    );
    assert_eq!(sha256(&file), r.sha256);
    assert!(dir.join(&m.programmer.as_ref().unwrap().file).is_file());
    let text = infos(&events).join("\n");
    assert!(
        text.contains("did not read back with a valid magic"),
        "{text}"
    );
    assert!(
        text.contains(&format!("written to {}", dir.display())),
        "{text}"
    );
}

#[test]
fn after_one_flash_the_boards_mibib_confirms_the_efs2_location() {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let b = board("eg25");
    let flash = |dir: Option<std::path::PathBuf>| {
        let mut o = FlashOptions::default();
        o.backup = dir;
        o.timeouts = quick();
        o.no_reset = true;
        let req = FlashRequest::new(&root, "virtual:eg25")
            .on_bus(oasis_vdev::bus::demand())
            .with_options(o);
        let b2 = power_cycle(&b, BoardOptions::default());
        let out = run(|sink| spawn_flash(req.on_link(Box::new(b2.connect())), sink));
        (out, b2)
    };
    let ((first, _), flashed) = flash(None);
    first.unwrap();
    let dir = tmp.path().join("second");
    let mut o = FlashOptions::default();
    o.backup = Some(dir.clone());
    o.timeouts = quick();
    let req = FlashRequest::new(&root, "virtual:eg25")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let again = power_cycle(&flashed, BoardOptions::default());
    let (out, events) = run(|sink| spawn_flash(req.on_link(Box::new(again.connect())), sink));
    out.unwrap();
    let text = infos(&events).join("\n");
    assert!(text.contains("the board's MIBIB agrees"), "{text}");
}

/// The eMMC calibration regions of the uz801 package, filled with board-unique bytes.
fn calibrated_emmc(root: &std::path::Path) -> (VirtualBoard, Vec<(String, u64, Vec<u8>)>) {
    let b = board("emmc");
    let mut cal = Vec::new();
    for name in ["modemst1", "modemst2", "fsg", "persist"] {
        let (start, _) = place(root, name);
        let data = pseudo_random(&format!("unique {name}"), 16 * 512);
        b.write_storage(0, start, &data).unwrap();
        cal.push((name.to_owned(), start, data));
    }
    (b, cal)
}

#[test]
fn a_destructive_flash_needs_a_backup_and_restore_brings_calibration_back() {
    let (tmp, root) = package_copy("uz801-emmc");
    let (b, cal) = calibrated_emmc(&root);
    // Without a backup (and without --allow-full-erase) the plan is refused before the port.
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    let req = FlashRequest::new(&root, "virtual:emmc")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o.clone());
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(b.connect())), sink));
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::Refused);
    assert!(r.hint.unwrap().contains("--backup DIR"));
    // With a fresh backup it runs, and overwrites the board's own data.
    let dir = tmp.path().join("uz801-backup");
    o.backup = Some(dir.clone());
    o.no_reset = true;
    let req = FlashRequest::new(&root, "virtual:emmc")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(b.connect())), sink));
    out.unwrap_or_else(|r| panic!("{r:?}"));
    for (name, start, data) in &cal {
        assert_ne!(&b.read_storage(0, *start, 16), data, "{name} was rewritten");
    }
    let m = Manifest::load(&dir).unwrap();
    let names: Vec<&str> = m.regions.iter().map(|r| r.region.name.as_str()).collect();
    for (name, ..) in &cal {
        assert!(names.contains(&name.as_str()), "{name} not in {names:?}");
    }
    // Power-cycle into download mode, then restore: every region comes back byte for byte.
    let fresh = power_cycle(&b, BoardOptions::default());
    let mut req = RestoreRequest::new("virtual:emmc", &dir);
    req.bus = oasis_vdev::bus::demand();
    req.timeouts = quick();
    let (out, events) = run(|sink| spawn_restore(req.on_link(Box::new(fresh.connect())), sink));
    let v = out.unwrap_or_else(|r| panic!("{r:?}"));
    for (name, start, data) in &cal {
        assert_eq!(&fresh.read_storage(0, *start, 16), data, "{name} restored");
    }
    assert_eq!(v.verified.len(), m.regions.len());
    assert!(
        v.summary.starts_with("restored and verified"),
        "{}",
        v.summary
    );
    assert!(phases(&events).contains(&Phase::Verify));
}

#[test]
fn restore_refuses_a_backup_from_another_board() {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let b = board("eg25");
    let dir = tmp.path().join("bk");
    let mut req = BackupRequest::new("virtual:eg25", &dir);
    req.bus = oasis_vdev::bus::demand();
    req.package = Some(root.clone());
    req.timeouts = quick();
    let (out, events) = run(|sink| spawn_backup(req.on_link(Box::new(b.connect())), sink));
    let v = out.unwrap_or_else(|r| panic!("{r:?}"));
    assert!(v.summary.starts_with("backed up EFS2 ("), "{}", v.summary);
    assert!(
        v.verified.is_empty() && v.bytes == 0,
        "a backup writes nothing"
    );
    assert!(phases(&events).ends_with(&[Phase::Configure, Phase::Backup]));
    assert!(dir.join(MANIFEST).is_file());
    // Another board of the same kind, with another chip serial.
    let mut other = Profile::by_name("eg25").unwrap();
    other.serial = 0x1234_5678;
    let other = VirtualBoard::new(other, BoardOptions::default());
    let mut req = RestoreRequest::new("virtual:eg25", &dir);
    req.bus = oasis_vdev::bus::demand();
    req.timeouts = quick();
    let (out, _) = run(|sink| spawn_restore(req.on_link(Box::new(other.connect())), sink));
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::Refused);
    assert!(
        r.message.contains("0cf94c64") && r.message.contains("12345678"),
        "{}",
        r.message
    );
    assert!(other.written_ranges().is_empty(), "nothing was written");
    // A damaged backup file is refused before the port is touched.
    let m = Manifest::load(&dir).unwrap();
    std::fs::write(dir.join(&m.regions[0].file), b"short").unwrap();
    let mut req = RestoreRequest::new("virtual:eg25", &dir);
    req.bus = oasis_vdev::bus::demand();
    req.timeouts = quick();
    let (out, _) = run(|sink| spawn_restore(req.on_link(Box::new(b.connect())), sink));
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::BadInput);
    assert!(
        r.message.contains("does not match the manifest"),
        "{}",
        r.message
    );
}

#[test]
fn a_nand_restore_erases_then_writes_efs2_back_byte_for_byte() {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let (efs, _) = place(&root, "EFS2");
    let b = board("eg25");
    let cal = pseudo_random("eg25 NV items", 24 * 2048);
    b.write_storage(0, efs, &cal).unwrap();
    let dir = tmp.path().join("nand-bk");
    let mut req = BackupRequest::new("virtual:eg25", &dir);
    req.bus = oasis_vdev::bus::demand();
    req.package = Some(root.clone());
    req.timeouts = quick();
    let (out, _) = run(|sink| spawn_backup(req.on_link(Box::new(b.connect())), sink));
    out.unwrap_or_else(|r| panic!("{r:?}"));
    // Something wiped and rewrote EFS2 (a factory package, a bad tool).
    let garbage = pseudo_random("someone else's EFS", 24 * 2048);
    b.write_storage(0, efs, &garbage).unwrap();
    let fresh = power_cycle(&b, BoardOptions::default());
    assert_eq!(fresh.read_storage(0, efs, 24), garbage);
    let mut req = RestoreRequest::new("virtual:eg25", &dir);
    req.bus = oasis_vdev::bus::demand();
    req.timeouts = quick();
    let (out, events) = run(|sink| spawn_restore(req.on_link(Box::new(fresh.connect())), sink));
    out.unwrap_or_else(|r| panic!("{r:?}"));
    assert_eq!(fresh.read_storage(0, efs, 24), cal);
    assert_eq!(
        fresh.nand_overwrites(),
        0,
        "every page was erased before it was programmed"
    );
    let ph = phases(&events);
    assert!(
        ph.contains(&Phase::Erase) && ph.contains(&Phase::Program) && ph.contains(&Phase::Reset)
    );
}

#[test]
fn a_backup_of_a_module_found_in_normal_mode_records_its_imei() {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let dir = tmp.path().join("from-normal");
    let mut req = BackupRequest::new("virtual:eg25@normal", &dir);
    req.bus = oasis_vdev::bus::demand();
    req.package = Some(root);
    req.timeouts = quick();
    let (out, events) = run(|sink| oasis_engine::spawn_backup(req, sink));
    out.unwrap_or_else(|r| panic!("{r:?}"));
    let m = Manifest::load(&dir).unwrap();
    let imei = Profile::by_name("eg25").unwrap().imei;
    assert_eq!(m.board.imei.as_deref(), Some(imei.as_str()));
    assert_eq!(m.board.serial.as_deref(), Some("0cf94c64"));
    let text = infos(&events).join("\n");
    assert!(text.contains(&format!("(IMEI {imei})")), "{text}");
}

/// Move the `0:EFS2` entry of the MIBIB stored at page `start` by one block.
fn move_efs2_in_mibib(b: &VirtualBoard, start: u64) {
    let mut pages = b.read_storage(0, start, 64);
    let table = (0..pages.len())
        .step_by(512)
        .find(|&o| pages[o..o + 4] == 0x55EE_73AAu32.to_le_bytes())
        .expect("a MIBIB table page");
    let count = u32::from_le_bytes(pages[table + 12..table + 16].try_into().unwrap()) as usize;
    let entry = (0..count)
        .map(|i| table + 16 + i * 28)
        .find(|&e| pages[e..e + 16].starts_with(b"0:EFS2\0"))
        .expect("an EFS2 entry");
    let off = u32::from_le_bytes(pages[entry + 16..entry + 20].try_into().unwrap());
    pages[entry + 16..entry + 20].copy_from_slice(&(off + 1).to_le_bytes());
    b.write_storage(0, start, &pages).unwrap();
}

#[test]
fn restore_checks_the_boards_own_table_before_writing() {
    let (tmp, root) = package_copy("quectel-eg25g-nand-2022");
    let (efs, _) = place(&root, "EFS2");
    let (mibib, _) = place(&root, "MIBIB");
    // A board flashed with the package holds its MIBIB.
    let b = board("eg25");
    let mut o = FlashOptions::default();
    o.timeouts = quick();
    o.no_reset = true;
    let req = FlashRequest::new(&root, "virtual:eg25")
        .on_bus(oasis_vdev::bus::demand())
        .with_options(o);
    let (out, _) = run(|sink| spawn_flash(req.on_link(Box::new(b.connect())), sink));
    out.unwrap();
    let b = power_cycle(&b, BoardOptions::default());
    b.write_storage(0, efs, &pseudo_random("cal", 8 * 2048))
        .unwrap();
    let dir = tmp.path().join("bk");
    let mut req = BackupRequest::new("virtual:eg25", &dir);
    req.bus = oasis_vdev::bus::demand();
    req.package = Some(root.clone());
    req.timeouts = quick();
    let (out, events) = run(|sink| spawn_backup(req.on_link(Box::new(b.connect())), sink));
    out.unwrap();
    assert!(
        infos(&events)
            .join("\n")
            .contains("the board's MIBIB agrees")
    );
    assert_eq!(Manifest::load(&dir).unwrap().mibib_start, Some(mibib));
    let restore = |board: &VirtualBoard| {
        let mut req = RestoreRequest::new("virtual:eg25", &dir);
        req.bus = oasis_vdev::bus::demand();
        req.timeouts = quick();
        run(|sink| spawn_restore(req.on_link(Box::new(board.connect())), sink))
    };
    // Same layout: restored.
    let same = power_cycle(&b, BoardOptions::default());
    let (out, events) = restore(&same);
    out.unwrap_or_else(|r| panic!("{r:?}"));
    assert!(
        infos(&events)
            .join("\n")
            .contains("match the board's partition table")
    );
    // The board's table moved EFS2 since: refused, nothing written.
    let moved = power_cycle(&b, BoardOptions::default());
    move_efs2_in_mibib(&moved, mibib);
    let before = moved.written_ranges();
    let (out, _) = restore(&moved);
    let r = out.unwrap_err();
    assert_eq!(r.kind, ErrorKind::Refused);
    assert!(r.message.contains("now puts 'EFS2'"), "{}", r.message);
    assert_eq!(moved.written_ranges(), before, "nothing was written");
}
