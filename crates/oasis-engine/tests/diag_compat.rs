//! Compatibility verdicts (green, amber, red), each with its reasons, on facts taken from
//! kit-generated programmers and packages (oasis-testkit) and real board reports (ATI/QGMR
//! replies, the EC25 Sahara identity from a public EDL log; see docs/protocol.md).
// Helpers outside #[test] functions unwrap too: a failed fixture read is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oasis_engine::diag::compat::{
    BoardFacts, Level, PackageFacts, ProgrammerFacts, ProgrammerKind, Storage, check,
};

/// EC25 test root as the board reports it (a public EDL log of an EC25-E, see docs/protocol.md).
const EC25_PK: &str = "cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f";

/// Programmer facts of a kit-generated programmer (oasis-testkit) standing in for the file
/// named: parsed with oasis-package, the file name kept (it carries the chip and storage hints).
fn programmer(file_suffix: &str) -> ProgrammerFacts {
    use oasis_testkit::programmer::ProgrammerSpec;
    let file = file_suffix.rsplit('/').next().unwrap().to_string();
    let spec = if file_suffix.ends_with("prog_nand_firehose_9x07.mbn") {
        ProgrammerSpec::unsigned()
    } else if file_suffix.ends_with("mdm9x05.elf") {
        ProgrammerSpec::v6_metadata(0, 0, 0)
    } else if file_suffix.starts_with("0008b0e1") {
        ProgrammerSpec::elf64_v5(0x0008_B0E1_0031_0000, 0x0031, 0)
    } else if file_suffix.starts_with("NPRG") {
        ProgrammerSpec::nprg()
    } else {
        panic!("no kit programmer for {file_suffix}")
    };
    let id =
        oasis_package::programmer::ProgrammerIdentity::from_bytes(&spec.build().bytes).unwrap();
    ProgrammerFacts {
        kind: match id.image_id {
            Some(7) => ProgrammerKind::Streaming,
            _ => ProgrammerKind::Firehose,
        },
        hw_id: id.hw_id.clone(),
        signed: Some(id.signed),
        root_sha256: id.pk_hash_sha256.clone(),
        root_sha384: id.pk_hash_sha384.clone(),
        storage: file.contains("nand").then_some(Storage::Nand),
        file: Some(file),
    }
}

fn eg25_board() -> BoardFacts {
    BoardFacts {
        model: Some("EG25".into()),
        revision: Some("EG25GGBR07A08M2G_01.002.01.002".into()),
        hw_id: Some("000480e100000000".into()),
        pk_hash: Some(EC25_PK.into()),
        ..BoardFacts::default()
    }
}

fn eg25_package() -> PackageFacts {
    PackageFacts {
        model: None,
        revision: Some("EG25GGBR07A08M2G_30.006.30.006".into()),
        storage: Some(Storage::Nand),
        programmer: Some(programmer(
            "quectel-eg25g-nand-2022/update/firehose/prog_nand_firehose_9x07.mbn",
        )),
    }
}

fn status(c: &oasis_engine::diag::compat::Compat, name: &str) -> Level {
    c.checks.iter().find(|k| k.name == name).unwrap().status
}

#[test]
fn diag_eg25_package_on_an_unfused_eg25_is_green() {
    let c = check(&eg25_package(), &eg25_board());
    assert_eq!(c.overall, Level::Green, "{c:#?}");
    assert!(
        c.answer
            .starts_with("Yes: this firmware is made for this EG25"),
        "{}",
        c.answer
    );
    // The unsigned Quectel programmer names no chip; its file name says 9x07.
    let chip = c.checks.iter().find(|k| k.name == "chip").unwrap();
    assert!(chip.reason.contains("9x07"), "{}", chip.reason);
    assert!(
        c.checks
            .iter()
            .find(|k| k.name == "key")
            .unwrap()
            .reason
            .contains("test key")
    );
    assert_eq!(c.checks.len(), 6);
    assert!(c.checks.iter().all(|k| !k.reason.is_empty()));
}

#[test]
fn diag_bg95_package_with_the_mdm9x05_programmer_is_green_on_a_test_key_board() {
    let pkg = PackageFacts {
        model: Some("BG95-M3".into()),
        revision: Some("BG95M3LAR02A03_01.204.01.204".into()),
        storage: Some(Storage::Nand),
        programmer: Some(programmer("prog_firehose_nand_mdm9x05.elf")),
    };
    let board = BoardFacts {
        model: Some("BG95-M3".into()),
        revision: Some("BG95M3LAR02A03_01.011.01.011".into()),
        hw_id: Some("001070e100000000".into()),
        // SHA-384 test root, as the BG95 reported it (the d40eee56 in the loader's name).
        pk_hash: Some("d40eee56f3194665574109a39267724ae7944134cd53cb767e293d3c40497955bc8a4519ff992b031fadc6355015ac87".into()),
        ..BoardFacts::default()
    };
    let c = check(&pkg, &board);
    assert_eq!(c.overall, Level::Green, "{c:#?}");
    assert_eq!(status(&c, "chip"), Level::Green, "HW ID 0 fits any chip");

    // The same board fused to an OEM key (SHA-384 length): the programmer is refused.
    let fused = BoardFacts {
        pk_hash: Some("974359c4290cac7f9f0dc9a802815b5e2b376b7a7c1be92c1e816b5287f186105830f3b5c0e4be308cf48802ae4c8447".into()),
        ..board
    };
    let c = check(&pkg, &fused);
    assert_eq!(c.overall, Level::Red);
    assert_eq!(status(&c, "key"), Level::Red);
    assert!(
        c.answer
            .starts_with("No: the programmer is signed with another key"),
        "{}",
        c.answer
    );
}

#[test]
fn diag_wrong_model_wrong_chip_and_streaming_programmer_are_red() {
    let ec25_e = BoardFacts {
        model: Some("EC25".into()),
        revision: Some("EC25EFAR06A06M4G".into()),
        ..eg25_board()
    };
    let c = check(&eg25_package(), &ec25_e);
    assert_eq!(status(&c, "model"), Level::Red, "{c:#?}");
    assert!(
        c.answer.contains("EG25GGB") && c.answer.contains("EC25EFA"),
        "{}",
        c.answer
    );

    let mut sdm845 = eg25_package();
    sdm845.programmer = Some(programmer("0008b0e100310000_1030cd12ce708f29_fhprg.bin"));
    let c = check(&sdm845, &eg25_board());
    assert_eq!(status(&c, "chip"), Level::Red);
    let reason = &c.checks.iter().find(|k| k.name == "chip").unwrap().reason;
    assert!(
        reason.contains("SDM845") && reason.contains("MDM9207"),
        "{reason}"
    );

    let mut nprg = eg25_package();
    nprg.programmer = Some(programmer("NPRG9x06_bg96.mbn"));
    let c = check(&nprg, &eg25_board());
    assert_eq!(status(&c, "programmer"), Level::Red);
    assert_eq!(c.overall, Level::Red);

    let mut none = eg25_package();
    none.programmer = None;
    assert_eq!(check(&none, &eg25_board()).overall, Level::Red);
}

#[test]
fn diag_unsigned_programmer_on_a_fused_board_is_red() {
    let board = BoardFacts {
        pk_hash: Some("6923f496fbd6fb14762fcc7ae29dd4fc347044cf79e8091dbcab98bdb137cabb".into()),
        ..eg25_board()
    };
    let c = check(&eg25_package(), &board);
    assert_eq!(status(&c, "key"), Level::Red);
    assert!(c.answer.contains("unsigned"), "{}", c.answer);
}

#[test]
fn diag_unknown_board_and_downgrade_are_amber_with_reasons() {
    let c = check(&eg25_package(), &BoardFacts::default());
    assert_eq!(c.overall, Level::Amber, "{c:#?}");
    assert!(
        c.answer.starts_with("Probably, but not confirmed:"),
        "{}",
        c.answer
    );
    assert!(c.answer.contains("ask it over AT"), "{}", c.answer);
    assert!(c.answer.contains("chip identity"), "{}", c.answer);

    let mut older = eg25_package();
    older.revision = Some("EG25GGBR07A02M2G".into());
    let c = check(&older, &eg25_board());
    assert_eq!(c.overall, Level::Amber);
    assert!(c.answer.contains("downgrade"), "{}", c.answer);

    // Secure boot reported off over AT is enough for the key check.
    let at_only = BoardFacts {
        pk_hash: None,
        secure_boot: Some(false),
        ..eg25_board()
    };
    assert_eq!(
        status(&check(&eg25_package(), &at_only), "key"),
        Level::Green
    );
}

#[test]
fn diag_storage_mismatch_is_red() {
    let mut emmc_prog = eg25_package();
    if let Some(p) = emmc_prog.programmer.as_mut() {
        p.storage = Some(Storage::Emmc);
    }
    let c = check(&emmc_prog, &eg25_board());
    assert_eq!(status(&c, "storage"), Level::Red);
    assert!(
        c.answer.contains("NAND") && c.answer.contains("eMMC"),
        "{}",
        c.answer
    );
}

#[test]
fn diag_real_eg25_package_maps_onto_compat_facts() {
    use oasis_engine::diag::compat::PackageFacts;
    use oasis_package::{OpenOptions, Package};
    let root = oasis_testkit::corpus::package("quectel-eg25g-nand-2022");
    let pkg = Package::open(&root, &OpenOptions::default()).unwrap();
    let facts = PackageFacts::from_package(&pkg);
    let prog = facts.programmer.clone().unwrap();
    assert_eq!(prog.file.as_deref(), Some("prog_nand_firehose_9x07.mbn"));
    assert_eq!(prog.kind, ProgrammerKind::Firehose);
    assert_eq!(
        prog.signed,
        Some(false),
        "the package's programmer is unsigned, like the real Quectel one"
    );
    assert_eq!(prog.hw_id, None);
    assert_eq!(prog.storage, Some(Storage::Nand));
    assert_eq!(facts.storage, Some(Storage::Nand));
    let c = check(&facts, &eg25_board());
    assert_eq!(status(&c, "chip"), Level::Green, "{c:#?}");
    assert_eq!(status(&c, "key"), Level::Green, "{c:#?}");
    // The fixture folder is not named after the firmware, so the model stays unconfirmed.
    assert_eq!(facts.model, None);
    assert_eq!(c.overall, Level::Amber);
    assert!(
        c.answer.contains("does not say which module"),
        "{}",
        c.answer
    );
}
