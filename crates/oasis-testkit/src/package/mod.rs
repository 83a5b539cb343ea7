//! Firmware packages, generated: the Quectel NAND layout (contents.xml with a BOM and mixed line
//! endings, md5.txt with CRLF, backslash paths and upper-case sums, `update/firehose/` with the
//! rawprogram and patch XMLs, the compiled MIBIB and the programmer, `update/partition_nand.xml`
//! and `partition.mbn`), and eMMC / multi-LUN UFS rawprogram+patch sets with sparse images.
//!
//! Each builder returns a description of what it wrote so tests compute expectations from it.

mod disk;
mod nand;

pub use disk::{DiskEntry, DiskPackage, gpt_patches};
pub use nand::{NandLayout, NandPackage, NandPart, NandSize, QuectelNand, contents_xml};
