//! The Quectel NAND package layout: partition_nand.xml, the MIBIB, rawprogram and patch XMLs,
//! contents.xml and md5.txt with their Windows habits.

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
