//! Firmware packages, generated: the Quectel NAND layout (contents.xml with a BOM and mixed line
//! endings, md5.txt with CRLF, backslash paths and upper-case sums, `update/firehose/` with the
//! rawprogram and patch XMLs, the compiled MIBIB and the programmer, `update/partition_nand.xml`
//! and `partition.mbn`), and eMMC / multi-LUN UFS rawprogram+patch sets with sparse images.
//!
//! Each builder returns a description of what it wrote so tests compute expectations from it.

use std::fmt::Write as _;
use std::path::Path;

use crate::programmer::{Programmer, ProgrammerSpec};
use crate::{md5_upper, pseudo_random, put};

/// How a `partition_nand.xml` entry gives its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NandSize {
    /// `size_blks` + `pad_blks`.
    Blocks(u64, u64),
    /// `size_kb` + `pad_kb`.
    Kb(u64, u64),
    /// `<flags>0xFFFFFFFF</flags>`: grows to the end.
    Grow,
}

/// One NAND partition of the layout.
#[derive(Debug, Clone)]
pub struct NandPart {
    /// Name as in the tables (`0:SBL`).
    pub name: &'static str,
    /// Size.
    pub size: NandSize,
    /// Image file under `update/` (None: nothing is flashed there, e.g. EFS2).
    pub image: Option<&'static str>,
    /// `<attr>` bytes.
    pub attrs: [u8; 4],
}

/// A Quectel NAND layout: 2 KiB pages, 64 pages per block (128 KiB blocks).
#[derive(Debug, Clone)]
pub struct NandLayout {
    /// Page (sector) size.
    pub page_size: u64,
    /// Pages per block.
    pub pages_per_block: u64,
    /// Partitions in flash order.
    pub parts: Vec<NandPart>,
    /// Blocks programmed into the growing last partition.
    pub grow_blocks: u64,
}

impl Default for NandLayout {
    fn default() -> Self {
        let p = |name, size, image, attrs| NandPart {
            name,
            size,
            image,
            attrs,
        };
        Self {
            page_size: 2048,
            pages_per_block: 64,
            parts: vec![
                p(
                    "0:SBL",
                    NandSize::Blocks(8, 2),
                    Some("sbl1.mbn"),
                    [0xFF, 1, 0, 0xFE],
                ),
                p(
                    "0:MIBIB",
                    NandSize::Blocks(6, 4),
                    Some("partition.mbn"),
                    [0xFF, 1, 0xFF, 0xFE],
                ),
                p(
                    "0:EFS2",
                    NandSize::Kb(12288, 1024),
                    None,
                    [0xFF, 1, 0xFF, 0xFF],
                ),
                p(
                    "0:TZ",
                    NandSize::Kb(1024, 256),
                    Some("tz.mbn"),
                    [0xFF, 1, 0, 0xFF],
                ),
                p(
                    "0:RPM",
                    NandSize::Kb(768, 256),
                    Some("rpm.mbn"),
                    [0xFF, 1, 0, 0xFF],
                ),
                p(
                    "0:aboot",
                    NandSize::Kb(768, 256),
                    Some("appsboot.mbn"),
                    [0xFF, 1, 0, 0xFF],
                ),
                p(
                    "0:boot",
                    NandSize::Kb(8192, 512),
                    Some("oasis-boot.img"),
                    [0xFF, 1, 0, 0xFF],
                ),
                p(
                    "0:recovery",
                    NandSize::Kb(8192, 512),
                    Some("oasis-recovery.img"),
                    [0xFF, 1, 0, 0xFF],
                ),
                p(
                    "0:modem",
                    NandSize::Kb(24576, 1024),
                    Some("NON-HLOS.ubi"),
                    [0xFF, 1, 0, 0xFF],
                ),
                p(
                    "0:usrdata",
                    NandSize::Kb(12288, 1024),
                    Some("usrdata.ubi"),
                    [0xFF, 1, 0, 0xFF],
                ),
                p(
                    "0:system",
                    NandSize::Grow,
                    Some("oasis-sysfs.ubi"),
                    [0xFF, 1, 0, 0xFF],
                ),
            ],
            grow_blocks: 160,
        }
    }
}

impl NandLayout {
    /// Bytes per block.
    pub fn block_bytes(&self) -> u64 {
        self.page_size * self.pages_per_block
    }

    /// (start block, blocks) of every partition; the growing one gets `grow_blocks`.
    pub fn blocks(&self) -> Vec<(u64, u64)> {
        let mut at = 0;
        self.parts
            .iter()
            .map(|p| {
                let n = match p.size {
                    NandSize::Blocks(s, pad) => s + pad,
                    NandSize::Kb(s, pad) => ((s + pad) * 1024).div_ceil(self.block_bytes()),
                    NandSize::Grow => self.grow_blocks,
                };
                let r = (at, n);
                at += n;
                r
            })
            .collect()
    }

    /// (start sector, sectors) of partition `short` (`SBL`, `EFS2`...).
    pub fn sectors_of(&self, short: &str) -> Option<(u64, u64)> {
        let i = self
            .parts
            .iter()
            .position(|p| p.name.trim_start_matches("0:") == short)?;
        let (b, n) = self.blocks()[i];
        Some((b * self.pages_per_block, n * self.pages_per_block))
    }

    /// The compiled MIBIB (`partition_complete_*.mbn`): a header page, then the table page.
    pub fn mibib(&self) -> Vec<u8> {
        let ps = self.page_size as usize;
        let mut out = vec![0xFFu8; 4 * ps];
        let w = |out: &mut Vec<u8>, at: usize, v: u32| {
            out[at..at + 4].copy_from_slice(&v.to_le_bytes());
        };
        w(&mut out, 0, 0xFE56_9FAC);
        w(&mut out, 4, 0xCD7F_127A);
        w(&mut out, 8, 4);
        w(&mut out, 12, 1);
        let t = ps;
        w(&mut out, t, 0x55EE_73AA);
        w(&mut out, t + 4, 0xE35E_BDDB);
        w(&mut out, t + 8, 4);
        w(&mut out, t + 12, self.parts.len() as u32);
        for (i, (p, (start, n))) in self.parts.iter().zip(self.blocks()).enumerate() {
            let at = t + 16 + i * 28;
            out[at..at + 16].fill(0);
            out[at..at + p.name.len()].copy_from_slice(p.name.as_bytes());
            w(&mut out, at + 16, start as u32);
            let len = if p.size == NandSize::Grow {
                u32::MAX
            } else {
                n as u32
            };
            w(&mut out, at + 20, len);
            out[at + 24..at + 27].copy_from_slice(&p.attrs[..3]);
            out[at + 27] = 0;
        }
        out
    }

    /// The user partition table `partition.mbn` (0xAA7D1B9A 0x1F7D48BC).
    pub fn usr_table(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [0xAA7D_1B9Au32, 0x1F7D_48BC, 4, self.parts.len() as u32] {
            out.extend(v.to_le_bytes());
        }
        for p in &self.parts {
            let mut name = [0u8; 16];
            name[..p.name.len()].copy_from_slice(p.name.as_bytes());
            out.extend(name);
            let (size, pad) = match p.size {
                NandSize::Blocks(s, pad) | NandSize::Kb(s, pad) => (s as u32, pad as u16),
                NandSize::Grow => (u32::MAX, 0),
            };
            out.extend(size.to_le_bytes());
            out.extend(pad.to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(p.attrs);
        }
        out
    }

    /// `partition_nand.xml` (tabs, the magic numbers, sizes in blocks or KiB, grow flag).
    pub fn partition_nand_xml(&self) -> String {
        let mut s = String::from(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<nandboot>\n\t<magic_numbers>\n\t\t<usr_part_magic1>0xAA7D1B9A</usr_part_magic1>\n\t\t<usr_part_magic2>0x1F7D48BC</usr_part_magic2>\n\t</magic_numbers>\n\t<partition_version length=\"4\">0x4</partition_version>\n\t<partitions>\n",
        );
        for p in &self.parts {
            let _ = writeln!(s, "\t\t<partition>");
            let _ = writeln!(
                s,
                "\t\t\t<name length=\"16\" type=\"string\">{}</name>",
                p.name
            );
            match p.size {
                NandSize::Blocks(n, pad) => {
                    let _ = writeln!(s, "\t\t\t<size_blks length=\"4\">{n:#x}</size_blks>");
                    let _ = writeln!(s, "\t\t\t<pad_blks length=\"4\">{pad:#x}</pad_blks>");
                }
                NandSize::Kb(n, pad) => {
                    let _ = writeln!(s, "\t\t\t<size_kb length=\"4\">{n}</size_kb>");
                    let _ = writeln!(s, "\t\t\t<pad_kb length=\"4\">{pad}</pad_kb>");
                }
                NandSize::Grow => {
                    let _ = writeln!(s, "\t\t\t<size_kb length=\"4\">0</size_kb>");
                    let _ = writeln!(s, "\t\t\t<pad_kb length=\"4\">0</pad_kb>");
                    let _ = writeln!(s, "\t\t\t<flags>0xFFFFFFFF</flags>");
                }
            }
            let _ = writeln!(s, "\t\t\t<which_flash>0</which_flash>");
            for a in p.attrs {
                let _ = writeln!(s, "\t\t\t<attr>{a:#04X}</attr>");
            }
            if let Some(img) = p.image {
                let _ = writeln!(s, "\t\t\t<img_name type=\"string\">{img}</img_name>");
            }
            let _ = writeln!(s, "\t\t</partition>");
        }
        s.push_str("\t</partitions>\n</nandboot>\n");
        s.replace("0X", "0x")
    }
}

/// A generated Quectel NAND package.
#[derive(Debug, Clone)]
pub struct QuectelNand {
    /// Layout.
    pub layout: NandLayout,
    /// Write the flash images (false: md5.txt lists them but they are absent, like a package
    /// whose large images were left out).
    pub with_images: bool,
    /// The programmer in `update/firehose/`.
    pub programmer: ProgrammerSpec,
    /// A revision string embedded in the modem image.
    pub revision: String,
    /// Geometry tag in file names (`p2K_b128K`).
    pub geometry: &'static str,
}

impl Default for QuectelNand {
    fn default() -> Self {
        Self {
            layout: NandLayout::default(),
            with_images: false,
            programmer: ProgrammerSpec::unsigned(),
            revision: "EG25GGBR07A08M2G_01.300.01.300".to_owned(),
            geometry: "p2K_b128K",
        }
    }
}

/// What [`QuectelNand::write`] produced.
#[derive(Debug, Clone)]
pub struct NandPackage {
    /// Relative path of the rawprogram XML.
    pub rawprogram: String,
    /// Relative path of the patch XML.
    pub patch: String,
    /// The programmer written into the package.
    pub programmer: Programmer,
    /// Relative path of the programmer.
    pub programmer_path: String,
    /// Relative paths of the flash images (under `update/`), present or not.
    pub images: Vec<String>,
    /// md5.txt entries (relative path with `/`, present on disk).
    pub md5_entries: Vec<(String, bool)>,
    /// (op, start sector, sectors, file) of each rawprogram entry, in file order.
    pub entries: Vec<(&'static str, u64, u64, Option<String>)>,
}

impl QuectelNand {
    /// Image bytes for `file` of partition `sectors` (never more than 96 KiB, not page aligned).
    pub fn image(&self, file: &str, max: u64) -> Vec<u8> {
        let len = max.min(96 * 1024).saturating_sub(100) as usize;
        let mut d = pseudo_random(&format!("img:{file}"), len);
        if file == "NON-HLOS.ubi" && d.len() > self.revision.len() + 64 {
            d[64..64 + self.revision.len()].copy_from_slice(self.revision.as_bytes());
        }
        d
    }

    /// Write the package under `root`.
    pub fn write(&self, root: &Path) -> NandPackage {
        let l = &self.layout;
        let g = self.geometry;
        let fh = "update/firehose";
        let ss = l.page_size;
        let ppb = l.pages_per_block;
        let blocks = l.blocks();
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut missing: Vec<(String, Vec<u8>)> = Vec::new();
        let mut entries = Vec::new();
        let mut images = Vec::new();
        // rawprogram: SBL, MIBIB and TZ programmed, then erase/program pairs, and last the
        // erases of SBL, TZ and MIBIB, sectors already programmed above.
        let mut xml = format!(
            "<?xml version=\"1.0\" ?>\n<data>\n  <!--NOTE: This is an ** Autogenerated file **-->\n  <!--BlockSize = {} KB-->\n  <!--PageSize  = {} KB-->\n",
            l.block_bytes() / 1024,
            ss / 1024
        );
        let mut line = |op: &'static str,
                        start: u64,
                        n: u64,
                        file: Option<String>,
                        xml: &mut String| {
            let f = file
                .as_ref()
                .map(|f| format!(" filename=\"{f}\""))
                .unwrap_or_default();
            let _ = writeln!(
                xml,
                "  <{op} PAGES_PER_BLOCK=\"{ppb}\" SECTOR_SIZE_IN_BYTES=\"{ss}\"{f} num_partition_sectors=\"{n}\" physical_partition_number=\"0\" start_sector=\"{start}\"/>"
            );
            entries.push((op, start, n, file));
        };
        for (p, (b, n)) in l.parts.iter().zip(&blocks) {
            let (start, count) = (b * ppb, n * ppb);
            let short = p.name.trim_start_matches("0:");
            let Some(img) = p.image else { continue };
            let file = if short == "MIBIB" {
                let name = format!("partition_complete_{g}.mbn");
                files.push((format!("{fh}/{name}"), l.mibib()));
                name
            } else {
                let data = self.image(img, count * ss);
                images.push(format!("update/{img}"));
                if self.with_images {
                    files.push((format!("update/{img}"), data));
                } else {
                    missing.push((format!("update/{img}"), data));
                }
                format!("..\\{img}")
            };
            if !matches!(short, "SBL" | "MIBIB" | "TZ") {
                line("erase", start, count, None, &mut xml);
            }
            line("program", start, count, Some(file), &mut xml);
        }
        // The boot regions programmed above without an erase are erased at the end of the file
        // (the host moves every erase before the first program).
        for short in ["SBL", "TZ", "MIBIB"] {
            if let Some((start, n)) = l.sectors_of(short) {
                line("erase", start, n, None, &mut xml);
            }
        }
        xml.push_str("</data>\n");
        let rawprogram = format!("{fh}/rawprogram_nand_{g}_update.xml");
        files.push((rawprogram.clone(), xml.into_bytes()));
        // Patches that edit the MIBIB file (not the DISK): the host ignores them.
        let last = blocks.last().map_or(0, |(b, _)| *b);
        let patch = format!(
            "<?xml version=\"1.0\" ?>\n<patches>\n  <!--NOTE: This is an ** Autogenerated file **-->\n  <patch SECTOR_SIZE_IN_BYTES=\"{ss}\" byte_offset=\"{}\" filename=\"partition_complete_{g}.mbn\" physical_partition_number=\"0\" size_in_bytes=\"4\" start_sector=\"1\" value=\"NUM_DISK_BLOCKS-{last}.\" what=\"Update MIBIB last partition length\"/>\n  <patch SECTOR_SIZE_IN_BYTES=\"{ss}\" byte_offset=\"12\" filename=\"partition_complete_{g}.mbn\" physical_partition_number=\"0\" size_in_bytes=\"4\" start_sector=\"3\" value=\"CRC32(0,4096)\" what=\"Update MIBIB CRC\"/>\n</patches>\n",
            16 + (l.parts.len() - 1) * 28 + 20
        );
        let patch_path = format!("{fh}/patch_{g}.xml");
        files.push((patch_path.clone(), patch.into_bytes()));
        let programmer = self.programmer.build();
        let programmer_path = format!("{fh}/prog_nand_firehose_9x07.mbn");
        files.push((programmer_path.clone(), programmer.bytes.clone()));
        files.push((
            "update/partition_nand.xml".to_owned(),
            l.partition_nand_xml().into_bytes(),
        ));
        files.push(("update/partition.mbn".to_owned(), l.usr_table()));
        files.push(("contents.xml".to_owned(), contents_xml().into_bytes()));
        // The old streaming programmer contents.xml names is absent, like the big images.
        missing.push((
            "update/NPRG9x07.mbn".to_owned(),
            ProgrammerSpec::nprg().build().bytes,
        ));
        for (rel, data) in &files {
            put(root, rel, data);
        }
        // md5.txt: CRLF, backslash paths, upper-case sums, sorted like the vendor tool's.
        let mut all: Vec<(String, String, bool)> = files
            .iter()
            .map(|(r, d)| (r.clone(), md5_upper(d), true))
            .chain(
                missing
                    .iter()
                    .map(|(r, d)| (r.clone(), md5_upper(d), false)),
            )
            .collect();
        all.sort_by_key(|(r, ..)| r.to_ascii_lowercase());
        let mut md5 = String::from("VERSION:1.0\r\nFILE:START\r\n");
        for (rel, sum, _) in &all {
            let _ = write!(md5, "FILE:\\{}:{sum}\r\n", rel.replace('/', "\\"));
        }
        md5.push_str("FILE:END\r\n");
        put(root, "md5.txt", md5.as_bytes());
        NandPackage {
            rawprogram,
            patch: patch_path,
            programmer,
            programmer_path,
            images,
            md5_entries: all.into_iter().map(|(r, _, p)| (r, p)).collect(),
            entries,
        }
    }
}

/// `contents.xml` of a Quectel package: UTF-8 BOM, CRLF and LF mixed, the partition file in
/// the common build and the (absent) streaming programmer as `flash_programmer`.
pub fn contents_xml() -> String {
    let body = [
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
        "<!-- contents.xml: component builds of this target (generated by oasis-testkit) -->",
        "<contents>",
        "  <product_info>",
        "    <product_name>MDM9607.LE.OASIS</product_name>",
        "    <hlos_type cmm_var=\"HLOS_TYPE\">LE</hlos_type>",
        "    <chipid cmm_var=\"CHIPID\">MDM9607</chipid>",
        "  </product_info>",
        "  <builds_flat>",
        "    <build>",
        "      <name>common</name>",
        "      <role>common</role>",
        "      <chipset>MDM9607</chipset>",
        "      <windows_root_path>.\\</windows_root_path>",
        "      <linux_root_path>./</linux_root_path>",
        "      <image_dir>update</image_dir>",
        "      <partition_file>",
        "        <file_name >partition_nand.xml</file_name>",
        "        <file_path>update/</file_path>",
        "      </partition_file>",
        "    </build>",
        "    <build>",
        "      <name>boot</name>",
        "      <role>boot</role>",
        "      <chipset>MDM9607</chipset>",
        "      <image_dir>boot_images</image_dir>",
        "      <flash_programmer minimized=\"true\">",
        "        <file_name>NPRG9x07.mbn</file_name>",
        "        <file_path>update/</file_path>",
        "      </flash_programmer>",
        "      <download_file minimized=\"true\">",
        "        <file_name>sbl1.mbn</file_name>",
        "        <file_path>update/</file_path>",
        "      </download_file>",
        "    </build>",
        "    <build>",
        "      <name>tz</name>",
        "      <role>tz</role>",
        "      <chipset>MDM9607</chipset>",
        "      <image_dir>update</image_dir>",
        "      <download_file minimized=\"true\">",
        "        <file_name>tz.mbn</file_name>",
        "        <file_path>update/</file_path>",
        "      </download_file>",
        "    </build>",
        "  </builds_flat>",
        "</contents>",
    ];
    let mut s = String::from("\u{feff}");
    for (i, l) in body.iter().enumerate() {
        s.push_str(l);
        s.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
    }
    s
}

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
