//! Named board profiles: chip identity, Sahara dialect, storage geometry and the firmware a
//! virtual board starts with.

use crate::VdevError;

/// Qualcomm "old" test root (MDM9x07 boards such as EC25/EG25 report it when not fused).
pub const TEST_ROOT_MDM9X07: &str =
    "cc3153a80293939b90d02d3bf8b23e0292e452fef662c74998421adad42a380f";
/// Qualcomm `secboot_sha2_root` test root (SHA-256).
pub const TEST_ROOT_SHA2: &str = "7be49b72f9e4337223ccb84d6eccca4e61ce16e3602ac2008cb18b75babe6d09";
/// Qualcomm `secboot_sha2_pss_subca2` test root (SHA-384), reported by MDM9205 and SDX55 boards.
pub const TEST_ROOT_SHA384: &str = "d40eee56f3194665574109a39267724ae7944134cd53cb767e293d3c40497955bc8a4519ff992b031fadc6355015ac87";

/// The fifteen functions the SDX55 NAND programmer (RM500Q, devprg build of Apr 19 2020) lists
/// at start-up (QFirehose log of an RM500Q-GL flash).
const SDX55_FUNCTIONS: [&str; 15] = [
    "program",
    "read",
    "nop",
    "patch",
    "configure",
    "setbootablestoragedrive",
    "erase",
    "power",
    "firmwarewrite",
    "getstorageinfo",
    "benchmark",
    "emmc",
    "ufs",
    "fixgpt",
    "getsha256digest",
];

/// The functions the MDM9x05 (BG95) NAND programmer `prog_firehose_nand_mdm9x05.elf` has
/// handlers for, in its own order (its handler table): no getsha256digest.
const MDM9X05_FUNCTIONS: [&str; 12] = [
    "program",
    "read",
    "nop",
    "patch",
    "configure",
    "setbootablestoragedrive",
    "erase",
    "power",
    "firmwarewrite",
    "getstorageinfo",
    "benchmark",
    "fixgpt",
];

/// The functions the EG25-G NAND programmer `prog_nand_firehose_9x07.mbn` announces (one line,
/// older generation): no getsha256digest, patch or setbootablestoragedrive.
const MDM9X07_FUNCTIONS: [&str; 8] = [
    "program",
    "configure",
    "power",
    "benchmark",
    "read",
    "getstorageinfo",
    "erase",
    "nop",
];

/// The functions the older MSM8916-era programmer lists (one line).
const OLD_FUNCTIONS: [&str; 18] = [
    "configure",
    "program",
    "firmwarewrite",
    "patch",
    "setbootablestoragedrive",
    "ufs",
    "emmc",
    "power",
    "benchmark",
    "read",
    "getstorageinfo",
    "getcrc16digest",
    "getsha256digest",
    "erase",
    "peek",
    "poke",
    "nop",
    "xml",
];

/// Storage behind the programmer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageKind {
    /// Raw NAND: one sector is one page; erase works on whole blocks; erased bytes read 0xFF.
    Nand {
        /// Page size in bytes (2048 or 4096).
        page_size: u32,
        /// Pages per erase block (64 on every Quectel module seen).
        pages_per_block: u32,
        /// Number of erase blocks.
        total_blocks: u32,
    },
    /// eMMC: 512-byte sectors; physical partitions 0 user, 1/2 boot, 3 RPMB (sizes in sectors).
    Emmc {
        /// Sector count of each physical partition 0..=3.
        partitions: Vec<u64>,
    },
    /// UFS: 4096-byte sectors; one LUN per entry (sizes in sectors).
    Ufs {
        /// Sector count of each LUN 0..
        luns: Vec<u64>,
    },
}

impl StorageKind {
    /// Firehose `MemoryName` of this storage (as the programmer reports it).
    pub fn memory_name(&self) -> &'static str {
        match self {
            Self::Nand { .. } => "nand",
            Self::Emmc { .. } => "eMMC",
            Self::Ufs { .. } => "UFS",
        }
    }
    /// Sector size in bytes.
    pub fn sector_size(&self) -> u32 {
        match self {
            Self::Nand { page_size, .. } => *page_size,
            Self::Emmc { .. } => 512,
            Self::Ufs { .. } => 4096,
        }
    }
    /// Number of physical partitions (LUNs).
    pub fn partitions(&self) -> u32 {
        match self {
            Self::Nand { .. } => 1,
            Self::Emmc { partitions } => partitions.len() as u32,
            Self::Ufs { luns } => luns.len() as u32,
        }
    }
    /// Sector count of physical partition `lun`, if it exists.
    pub fn sectors(&self, lun: u32) -> Option<u64> {
        match self {
            Self::Nand {
                pages_per_block,
                total_blocks,
                ..
            } => (lun == 0).then_some(u64::from(*pages_per_block) * u64::from(*total_blocks)),
            Self::Emmc { partitions } => partitions.get(lun as usize).copied(),
            Self::Ufs { luns } => luns.get(lun as usize).copied(),
        }
    }
    /// Pages per block for NAND, `None` otherwise.
    pub fn pages_per_block(&self) -> Option<u32> {
        match self {
            Self::Nand {
                pages_per_block, ..
            } => Some(*pages_per_block),
            _ => None,
        }
    }
    /// The byte value an erased (or never written) sector reads as.
    pub fn erased_byte(&self) -> u8 {
        match self {
            Self::Nand { .. } => 0xFF,
            _ => 0x00,
        }
    }
}

/// Everything that makes one kind of board: identity, Sahara dialect, storage, firmware.
///
/// Fields are public so callers can start from a named profile and change one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Profile name (`bg95`, `eg25`, `sdx55`, `ufs`, `emmc`).
    pub name: String,
    /// Module model as `ATI` prints it, e.g. `BG95-M3`.
    pub model: String,
    /// Model as `ATI` / `AT+CGMM` print it (the EG25-G says `EG25`).
    pub at_model: String,
    /// Chip name, e.g. `MDM9205`.
    pub chip: String,
    /// JTAG MSM ID (HWID bits 63..32), e.g. 0x001070E1.
    pub msm_id: u32,
    /// OEM ID (HWID bits 31..16).
    pub oem_id: u16,
    /// Model ID (HWID bits 15..0).
    pub model_id: u16,
    /// Chip serial number (Sahara SERIAL_NUM_READ, Firehose `Chip serial num`).
    pub serial: u32,
    /// IMEI the AT modem reports.
    pub imei: String,
    /// ICCID of the SIM the AT modem reports (`AT+QCCID`); `None`: no SIM inserted.
    pub iccid: Option<String>,
    /// USB product ID in normal mode (VID 0x2C7C).
    pub usb_pid: u16,
    /// Sahara protocol version in HELLO (2 for MDM9x07/9205 class, 3 for the newest).
    pub sahara_version: u32,
    /// Sahara minimum supported version in HELLO.
    pub sahara_min_version: u32,
    /// HELLO `max_cmd_packet_len`.
    pub max_cmd_packet_len: u32,
    /// Whether the PBL asks for image bytes with READ_DATA_64 (SDX55, UFS SoCs).
    pub read_data_64: bool,
    /// How many times MSM_HW_ID_READ repeats the 8-byte HWID (1, or 3 on some targets).
    pub hwid_repeat: u8,
    /// The root-key hash fused into the chip; `None` = not fused (any programmer boots).
    pub fused_root: Option<Vec<u8>>,
    /// The PK hash an unfused board reports (a Qualcomm test root).
    pub test_root: Vec<u8>,
    /// Pad OEM_PK_HASH_READ data with zeros up to this many bytes (SDX55 sends 48 + zeros).
    pub pk_hash_pad_to: Option<usize>,
    /// GET_SOFTWARE_VERSION_SBL answer.
    pub sbl_version: u32,
    /// Storage geometry.
    pub storage: StorageKind,
    /// Largest raw payload the programmer accepts (`MaxPayloadSizeToTargetInBytes`).
    pub max_payload: u32,
    /// Functions listed at programmer start-up.
    pub supported_functions: Vec<String>,
    /// Old programmers list the functions on one line (`Supported Functions: a b c`).
    pub old_function_log: bool,
    /// Programmer build date as logged, e.g. `Apr 19 2020 @ 17:49:11`.
    pub build_date: String,
    /// Firehose `TargetName` attribute in the configure reply (older builds send it).
    pub target_name: Option<String>,
    /// Full firmware revision the board starts with (`AT+QGMR`), e.g. `BG95M3LAR02A03_01.011.01.011`.
    pub revision: String,
    /// Whether the AT modem uses `AT+QCFGEXT="usbnet"` (BG95) instead of `AT+QCFG="usbnet"`.
    pub usbnet_ext: bool,
    /// Whether the module has a Qualcomm DM (DIAG) port in normal mode (false for ASR/UNISOC
    /// modules, which are not Firehose targets and have no EDL).
    pub diag_port: bool,
}

fn hex_bytes(s: &str) -> Vec<u8> {
    // Constants above are valid hex; an invalid one would give an empty hash, never a panic.
    hex::decode(s).unwrap_or_default()
}

fn functions(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

impl Profile {
    /// Names of all built-in profiles.
    pub const NAMES: [&'static str; 6] = ["bg95", "eg25", "sdx55", "ufs", "emmc", "ec200t"];

    /// A built-in profile by name (case-insensitive).
    pub fn by_name(name: &str) -> Result<Self, VdevError> {
        match name.to_ascii_lowercase().as_str() {
            "bg95" => Ok(Self::bg95()),
            "eg25" => Ok(Self::eg25()),
            "sdx55" => Ok(Self::sdx55()),
            "ufs" => Ok(Self::ufs()),
            "emmc" => Ok(Self::emmc()),
            "ec200t" => Ok(Self::ec200t()),
            _ => Err(VdevError::UnknownProfile {
                name: name.to_string(),
                known: Self::NAMES.join(", "),
            }),
        }
    }

    /// 64-bit HWID as Sahara reports it: MSM_ID | OEM_ID | MODEL_ID.
    pub fn hwid(&self) -> u64 {
        (u64::from(self.msm_id) << 32) | (u64::from(self.oem_id) << 16) | u64::from(self.model_id)
    }

    /// The PK hash the board reports: its fused root, or the test root when unfused.
    pub fn reported_pk_hash(&self) -> &[u8] {
        self.fused_root.as_deref().unwrap_or(&self.test_root)
    }

    /// Short revision (`AT+CGMR`, `ATI`): the part before the first `_`.
    pub fn short_revision(&self) -> &str {
        self.revision.split('_').next().unwrap_or(&self.revision)
    }

    /// Quectel BG95-M3 (MDM9205): NAND 2 KiB pages, 64 pages/block, Sahara v2, 32-bit reads.
    pub fn bg95() -> Self {
        Self {
            name: "bg95".into(),
            model: "BG95-M3".into(),
            at_model: "BG95-M3".into(),
            chip: "MDM9205".into(),
            msm_id: 0x0010_70E1,
            oem_id: 0,
            model_id: 0,
            serial: 0x1a2b_3c4d,
            imei: "866425051234567".into(),
            iccid: Some("89860318760251234567".into()),
            usb_pid: 0x0700,
            sahara_version: 2,
            sahara_min_version: 1,
            max_cmd_packet_len: 0x400,
            read_data_64: false,
            hwid_repeat: 1,
            fused_root: None,
            test_root: hex_bytes(TEST_ROOT_SHA384),
            pk_hash_pad_to: None,
            sbl_version: 0,
            storage: StorageKind::Nand {
                page_size: 2048,
                pages_per_block: 64,
                total_blocks: 2048,
            },
            max_payload: 8192,
            supported_functions: functions(&MDM9X05_FUNCTIONS),
            old_function_log: false,
            build_date: "Jun 10 2021 @ 09:12:44".into(),
            target_name: None,
            revision: "BG95M3LAR02A03_01.011.01.011".into(),
            usbnet_ext: true,
            diag_port: true,
        }
    }

    /// Quectel EG25-G (MDM9207): NAND 2 KiB pages, 128 KiB blocks like the EG25-G package.
    pub fn eg25() -> Self {
        Self {
            name: "eg25".into(),
            model: "EG25-G".into(),
            at_model: "EG25".into(),
            chip: "MDM9207".into(),
            msm_id: 0x0004_80E1,
            serial: 0x0cf9_4c64,
            imei: "867698041234562".into(),
            iccid: Some("8949020000123456789".into()),
            usb_pid: 0x0125,
            test_root: hex_bytes(TEST_ROOT_MDM9X07),
            build_date: "Sep 22 2020 @ 14:33:10".into(),
            supported_functions: functions(&MDM9X07_FUNCTIONS),
            old_function_log: true,
            revision: "EG25GGBR07A08M2G_01.002.01.002".into(),
            usbnet_ext: false,
            ..Self::bg95()
        }
        .renamed("eg25")
    }

    /// Quectel RM500Q-GL (SDX55): NAND 4 KiB pages, 256 KiB blocks, READ_DATA_64, padded
    /// SHA-384 PK hash like the real SDX55 log.
    pub fn sdx55() -> Self {
        Self {
            name: "sdx55".into(),
            model: "RM500Q-GL".into(),
            at_model: "RM500Q-GL".into(),
            chip: "SDX55".into(),
            msm_id: 0x000C_F0E1,
            model_id: 0x98a9,
            serial: 0x7512_103a,
            imei: "869710030123458".into(),
            usb_pid: 0x0800,
            read_data_64: true,
            test_root: hex_bytes(TEST_ROOT_SHA384),
            pk_hash_pad_to: Some(128),
            storage: StorageKind::Nand {
                page_size: 4096,
                pages_per_block: 64,
                total_blocks: 2048,
            },
            build_date: "Apr 19 2020 @ 17:49:11".into(),
            supported_functions: functions(&SDX55_FUNCTIONS),
            revision: "RM500QGLABR11A06M4G_01.001.01.001".into(),
            usbnet_ext: false,
            ..Self::bg95()
        }
    }

    /// A UFS board (virtual SoC, MSM ID invented for the demo): 4096-byte sectors, LUNs 0..5,
    /// 1 MiB payloads, Sahara v3 (MSM_HW_ID_READ refused, READ_CHIP_ID_V3 answered).
    pub fn ufs() -> Self {
        Self {
            name: "ufs".into(),
            model: "VIRT-UFS".into(),
            at_model: "VIRT-UFS".into(),
            chip: "UFS SoC (virtual)".into(),
            msm_id: 0x0019_E0E1,
            serial: 0x5eed_0001,
            imei: "350000000000006".into(),
            usb_pid: 0x0801,
            sahara_version: 3,
            read_data_64: true,
            test_root: hex_bytes(TEST_ROOT_SHA2),
            storage: StorageKind::Ufs {
                luns: vec![524_288, 2048, 2048, 2048, 262_144, 16_384],
            },
            max_payload: 1024 * 1024,
            supported_functions: functions(&SDX55_FUNCTIONS),
            build_date: "Mar  2 2023 @ 10:01:02".into(),
            revision: "VIRTUFSR01A01_01.001.01.001".into(),
            usbnet_ext: false,
            ..Self::bg95()
        }
    }

    /// An MSM8916 eMMC board: 512-byte sectors, an older programmer (one-line function
    /// list, `TargetName`), HWID repeated 3 times in MSM_HW_ID_READ.
    pub fn emmc() -> Self {
        Self {
            name: "emmc".into(),
            model: "UZ801".into(),
            at_model: "UZ801".into(),
            chip: "MSM8916".into(),
            msm_id: 0x0070_50E1,
            serial: 0x2345_6789,
            imei: "860000000000008".into(),
            usb_pid: 0x9091,
            hwid_repeat: 3,
            test_root: hex_bytes(TEST_ROOT_SHA2),
            storage: StorageKind::Emmc {
                partitions: vec![7_634_944, 8192, 8192, 8192],
            },
            max_payload: 1024 * 1024,
            supported_functions: functions(&OLD_FUNCTIONS),
            old_function_log: true,
            build_date: "Nov 11 2015 @ 20:10:05".into(),
            target_name: Some("MSM8916".into()),
            revision: "UZ801R01A01_01.001.01.001".into(),
            usbnet_ext: false,
            ..Self::bg95()
        }
    }

    /// Quectel EC200T (2C7C:6026): an ASR-based LTE Cat 1 module, not a Qualcomm Firehose
    /// target. It answers AT, has no DM (DIAG) port and no EDL; the chip fields are
    /// placeholders (nothing of Qualcomm's applies).
    pub fn ec200t() -> Self {
        Self {
            name: "ec200t".into(),
            model: "EC200T-CN".into(),
            at_model: "EC200T".into(),
            chip: "ASR (not Qualcomm)".into(),
            msm_id: 0,
            serial: 0x2000_0026,
            imei: "864000000000025".into(),
            usb_pid: 0x6026,
            build_date: String::new(),
            revision: "EC200TCNDAR02A09M16_01.200.01.200".into(),
            usbnet_ext: false,
            diag_port: false,
            ..Self::bg95()
        }
    }

    fn renamed(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_name_knows_all_and_rejects_others() {
        for n in Profile::NAMES {
            assert_eq!(Profile::by_name(n).unwrap().name, n);
        }
        let e = Profile::by_name("bg77").unwrap_err();
        assert!(e.to_string().contains("bg77") && e.to_string().contains("sdx55"));
    }

    #[test]
    fn identities_match_the_real_boards() {
        assert_eq!(Profile::eg25().hwid(), 0x0004_80e1_0000_0000);
        assert_eq!(Profile::sdx55().hwid(), 0x000c_f0e1_0000_98a9);
        assert_eq!(
            hex::encode(Profile::eg25().reported_pk_hash()),
            TEST_ROOT_MDM9X07
        );
        assert_eq!(Profile::bg95().reported_pk_hash().len(), 48);
        assert_eq!(Profile::bg95().short_revision(), "BG95M3LAR02A03");
        assert_eq!(Profile::sdx55().storage.sectors(0), Some(131_072));
        assert_eq!(Profile::ufs().storage.partitions(), 6);
        assert!(Profile::eg25().diag_port && !Profile::ec200t().diag_port);
        assert_eq!(Profile::ec200t().usb_pid, 0x6026);
    }
}
