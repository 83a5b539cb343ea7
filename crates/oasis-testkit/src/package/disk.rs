//! eMMC and multi-LUN UFS packages: rawprogramN.xml + patchN.xml per LUN (the GPT DISK patch
//! set) and images, sparse ones included.

use std::fmt::Write as _;
use std::path::Path;

use crate::programmer::ProgrammerSpec;
use crate::{pseudo_random, put};

/// One program entry of a disk (eMMC/UFS) package.
#[derive(Debug, Clone)]
pub struct DiskEntry {
    /// Label.
    pub label: String,
    /// LUN.
    pub lun: u32,
    /// Start sector as written (may be `NUM_DISK_SECTORS-5.`).
    pub start: String,
    /// Sectors.
    pub sectors: u64,
    /// File name (empty: nothing to write).
    pub file: String,
    /// Sparse image.
    pub sparse: bool,
}

/// A generated eMMC or UFS package (rawprogramN.xml + patchN.xml per LUN and images).
#[derive(Debug, Clone)]
pub struct DiskPackage {
    /// Sector size (512 eMMC, 4096 UFS).
    pub sector_size: u64,
    /// Entries.
    pub entries: Vec<DiskEntry>,
    /// Bytes of each file written (name, bytes).
    pub files: Vec<(String, Vec<u8>)>,
    /// Number of LUNs (one rawprogram and patch per LUN).
    pub luns: u32,
    /// DISK patches per LUN (`CRC32(...)` and `NUM_DISK_SECTORS` values).
    pub disk_patches: bool,
    /// A programmer shipped in the package folder (file name, spec).
    pub programmer: Option<(String, ProgrammerSpec)>,
}

impl DiskPackage {
    /// An eMMC package like an edl dump: 512-byte sectors, labelled programs with
    /// `size_in_KB`, calibration partitions (modemst1, modemst2, fsc, fsg, persist) dumped too,
    /// a sparse system image, backup GPT at `NUM_DISK_SECTORS-33.` and an empty
    /// patch0.xml.
    pub fn emmc() -> Self {
        let mut p = Self {
            sector_size: 512,
            entries: Vec::new(),
            files: Vec::new(),
            luns: 1,
            disk_patches: false,
            programmer: Some((
                "oasis_emmc_fhprg.bin".to_owned(),
                ProgrammerSpec {
                    seed: "emmc".to_owned(),
                    ..ProgrammerSpec::for_hw(0x0070_50E1_0000_0000, 0, 0)
                },
            )),
        };
        let mut at = 131_072u64;
        for (label, kb, file) in [
            ("modem", 4096u64, "modem.bin"),
            ("sbl1", 512, "sbl1.bin"),
            ("sbl1bak", 512, "sbl1bak.bin"),
            ("aboot", 1024, "aboot.bin"),
            ("abootbak", 1024, "abootbak.bin"),
            ("rpm", 512, "rpm.bin"),
            ("rpmbak", 512, "rpmbak.bin"),
            ("tz", 1024, "tz.bin"),
            ("tzbak", 1024, "tzbak.bin"),
            ("pad", 1024, "pad.bin"),
            ("modemst1", 1536, "modemst1.bin"),
            ("modemst2", 1536, "modemst2.bin"),
            ("misc", 1024, "misc.bin"),
            ("fsc", 1, "fsc.bin"),
            ("ssd", 8, "ssd.bin"),
            ("splash", 1024, "splash.bin"),
            ("DDR", 32, "DDR.bin"),
            ("fsg", 1536, "fsg.bin"),
            ("sec", 16, "sec.bin"),
            ("boot", 8192, "boot.img"),
            ("persist", 8192, "persist.bin"),
            ("recovery", 8192, "recovery.img"),
            ("devinfo", 1024, "devinfo.bin"),
            ("keystore", 512, "keystore.bin"),
            ("config", 32, "config.bin"),
            ("oem", 1024, "oem.bin"),
            ("system", 16384, "system.img"),
        ] {
            let sectors = kb * 2;
            p.entries.push(DiskEntry {
                label: label.to_owned(),
                lun: 0,
                start: at.to_string(),
                sectors,
                file: file.to_owned(),
                sparse: label == "system",
            });
            at += sectors;
        }
        p.entries.push(DiskEntry {
            label: "PrimaryGPT".into(),
            lun: 0,
            start: "0".into(),
            sectors: 34,
            file: "gpt_main0.bin".into(),
            sparse: false,
        });
        p.entries.push(DiskEntry {
            label: "BackupGPT".into(),
            lun: 0,
            start: "NUM_DISK_SECTORS-33.".into(),
            sectors: 33,
            file: "gpt_backup0.bin".into(),
            sparse: false,
        });
        p
    }

    /// A UFS package: 4096-byte sectors, LUN 0 and LUN 1, an empty filename and a zero-size
    /// entry, backup GPT at `NUM_DISK_SECTORS-5.`, DISK patches with CRC32 and NUM_DISK_SECTORS.
    pub fn ufs() -> Self {
        let mut p = Self {
            sector_size: 4096,
            entries: Vec::new(),
            files: Vec::new(),
            luns: 2,
            disk_patches: true,
            programmer: None,
        };
        for lun in 0..2u32 {
            let mut e = |label: &str, start: &str, sectors: u64, file: &str| {
                p.entries.push(DiskEntry {
                    label: label.to_owned(),
                    lun,
                    start: start.to_owned(),
                    sectors,
                    file: file.to_owned(),
                    sparse: false,
                })
            };
            if lun == 0 {
                e("efi", "6", 16, "efi.bin");
                e("rootfs", "22", 0, "rootfs.img");
            } else {
                e("xbl_a", "6", 8, "xbl.elf");
                e("xbl_config_a", "14", 4, "");
                e("last_parti", "18", 0, "");
            }
            e("PrimaryGPT", "0", 6, &format!("gpt_main{lun}.bin"));
            e(
                "BackupGPT",
                "NUM_DISK_SECTORS-5.",
                5,
                &format!("gpt_backup{lun}.bin"),
            );
        }
        p
    }

    /// Write rawprogram/patch XMLs and every image under `root`; records the bytes written.
    pub fn write(&mut self, root: &Path) {
        let ss = self.sector_size;
        self.files.clear();
        for lun in 0..self.luns {
            let mut xml = format!(
                "<?xml version=\"1.0\" ?>\n<data>\n  <!--NOTE: Sector size is {ss}bytes-->\n"
            );
            for e in self.entries.iter().filter(|e| e.lun == lun) {
                let start_byte = match e.start.strip_prefix("NUM_DISK_SECTORS-") {
                    Some(n) => format!(
                        "({ss}*NUM_DISK_SECTORS)-{}.",
                        n.trim_end_matches('.').parse::<u64>().unwrap_or(0) * ss
                    ),
                    None => format!("{:#x}", e.start.parse::<u64>().unwrap_or(0) * ss),
                };
                let kb = e.sectors * ss / 1024;
                let _ = writeln!(
                    xml,
                    "  <program SECTOR_SIZE_IN_BYTES=\"{ss}\" file_sector_offset=\"0\" filename=\"{}\" label=\"{}\" num_partition_sectors=\"{}\" partofsingleimage=\"{}\" physical_partition_number=\"{lun}\" readbackverify=\"false\" size_in_KB=\"{kb}.0\" sparse=\"{}\" start_byte_hex=\"{start_byte}\" start_sector=\"{}\"/>",
                    e.file,
                    e.label,
                    e.sectors,
                    e.label.ends_with("GPT"),
                    e.sparse,
                    e.start
                );
                if e.file.is_empty() {
                    continue;
                }
                let max = if e.sectors == 0 {
                    3 * ss
                } else {
                    e.sectors * ss
                };
                let data = if e.sparse {
                    let bs = 4096u32;
                    let blocks = (max / u64::from(bs)).max(4) as u32;
                    let raw = pseudo_random(&format!("sparse:{}", e.label), bs as usize * 2);
                    crate::sparse::build(
                        bs,
                        &[
                            crate::sparse::Chunk::Raw(raw),
                            crate::sparse::Chunk::Fill(0xDEAD_BEEF, 1),
                            crate::sparse::Chunk::DontCare(blocks.min(64) - 3),
                        ],
                    )
                    .0
                } else {
                    let len = max.min(96 * 1024)
                        - if e.label.ends_with("GPT") {
                            0
                        } else {
                            100.min(max - 1)
                        };
                    pseudo_random(&format!("disk:{}:{}", e.lun, e.file), len as usize)
                };
                self.files.push((e.file.clone(), data));
            }
            xml.push_str("</data>\n");
            put(root, &format!("rawprogram{lun}.xml"), xml.as_bytes());
            let mut patch = String::from("<?xml version=\"1.0\" ?>\n<patches>\n");
            if self.disk_patches {
                let last = self
                    .entries
                    .iter()
                    .filter(|e| e.lun == lun && !e.label.ends_with("GPT"))
                    .count()
                    .saturating_sub(1);
                for target in [None, Some(lun)] {
                    patch.push_str(&gpt_patches(ss, lun, last, target));
                }
            }
            patch.push_str("</patches>\n");
            put(root, &format!("patch{lun}.xml"), patch.as_bytes());
        }
        if let Some((name, spec)) = &self.programmer {
            self.files.push((name.clone(), spec.build().bytes));
        }
        for (name, data) in &self.files {
            put(root, name, data);
        }
    }
}

/// The patches that fix a GPT after the disk size is known (primary header at LBA 1, 16 KiB
/// of partition entries from LBA 2, the backup entries and header at the end): the last
/// partition's end, the headers' backup / last-usable / entries LBAs, then the CRCs (entries,
/// then each header after zeroing its CRC field). `file`: `Some(lun)` targets the disk (`DISK`),
/// `None` the `gpt_main<lun>.bin` / `gpt_backup<lun>.bin` files. Written from the UEFI GPT layout
/// (docs/protocol.md).
pub fn gpt_patches(ss: u64, lun: u32, last_index: usize, disk: Option<u32>) -> String {
    let (main, backup) = match disk {
        Some(_) => ("DISK".to_owned(), "DISK".to_owned()),
        None => (format!("gpt_main{lun}.bin"), format!("gpt_backup{lun}.bin")),
    };
    let (main, backup) = (main.as_str(), backup.as_str());
    // 128 entries of 128 bytes; the backup entries sit just before the backup header. The entry
    // CRC covers the first sector of entries (as generated sets for 4096-byte sectors do).
    let entries = (16384 / ss).max(1);
    let last_usable = format!("NUM_DISK_SECTORS-{}.", entries + 2);
    let backup_entries = format!("NUM_DISK_SECTORS-{}.", entries + 1);
    let entry_at = 2 + (last_index as u64 * 128) / ss;
    let entry_off = (last_index as u64 * 128) % ss + 40;
    let (b_hdr, b_ent) = if disk.is_some() {
        ("NUM_DISK_SECTORS-1.".to_owned(), backup_entries.clone())
    } else {
        (entries.to_string(), "0".to_owned())
    };
    let rows: Vec<(&str, String, u64, u64, String, &str)> = vec![
        (
            main,
            entry_at.to_string(),
            entry_off,
            8,
            last_usable.clone(),
            "last partition end, primary entries",
        ),
        (
            backup,
            b_ent.clone(),
            entry_off,
            8,
            last_usable.clone(),
            "last partition end, backup entries",
        ),
        (
            main,
            "1".to_owned(),
            48,
            8,
            last_usable.clone(),
            "last usable LBA, primary header",
        ),
        (
            backup,
            b_hdr.clone(),
            48,
            8,
            last_usable.clone(),
            "last usable LBA, backup header",
        ),
        (
            main,
            "1".to_owned(),
            32,
            8,
            "NUM_DISK_SECTORS-1.".to_owned(),
            "backup LBA, primary header",
        ),
        (
            backup,
            b_hdr.clone(),
            24,
            8,
            "NUM_DISK_SECTORS-1.".to_owned(),
            "own LBA, backup header",
        ),
        (
            backup,
            b_hdr.clone(),
            72,
            8,
            backup_entries.clone(),
            "entries LBA, backup header",
        ),
        (
            main,
            "1".to_owned(),
            88,
            4,
            format!("CRC32(2,{ss})"),
            "entries CRC, primary header",
        ),
        (
            backup,
            b_hdr.clone(),
            88,
            4,
            format!("CRC32({backup_entries},{ss})"),
            "entries CRC, backup header",
        ),
        (
            main,
            "1".to_owned(),
            16,
            4,
            "0".to_owned(),
            "zero the primary header CRC",
        ),
        (
            main,
            "1".to_owned(),
            16,
            4,
            "CRC32(1,92)".to_owned(),
            "primary header CRC",
        ),
        (
            backup,
            b_hdr.clone(),
            16,
            4,
            "0".to_owned(),
            "zero the backup header CRC",
        ),
        (
            backup,
            b_hdr.clone(),
            16,
            4,
            format!("CRC32({b_hdr},92)"),
            "backup header CRC",
        ),
    ];
    let mut out = String::new();
    for (file, start, off, size, value, what) in rows {
        let _ = writeln!(
            out,
            "  <patch start_sector=\"{start}\" byte_offset=\"{off}\" physical_partition_number=\"{lun}\" size_in_bytes=\"{size}\" value=\"{value}\" filename=\"{file}\" SECTOR_SIZE_IN_BYTES=\"{ss}\" what=\"{what}\"/>"
        );
    }
    out
}
