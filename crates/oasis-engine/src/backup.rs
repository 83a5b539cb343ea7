//! Backups of what is unique to a board (EFS2/NV/calibration): the Backup phase of a flash and
//! the `backup` job. Each region becomes a raw, uncompressed `<name>.bin` in the backup folder,
//! next to `manifest.json` (board serial, HW ID, IMEI when known, regions, SHA-256 of each
//! file) and a copy of the programmer that read it (so `restore` needs nothing else).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use oasis_package::PartitionTable;
use serde::{Deserialize, Serialize};

use crate::connect::ProgrammerImage;
use crate::error::EngineError;
use crate::event::{ChipIdentity, Phase};
use crate::options::Timeouts;
use crate::paths;
use crate::progress::Emitter;
use crate::regions::{self, Located, Region};
use crate::session::{self, BoardReader, Session};

/// File name of the manifest inside a backup folder.
pub const MANIFEST: &str = "manifest.json";
/// Version of the manifest format.
pub const FORMAT: u32 = 1;

/// The board a backup was taken from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardInfo {
    /// Chip serial (8 lower-case hex digits), the key `restore` checks.
    pub serial: Option<String>,
    /// HW ID (16 hex digits).
    pub hw_id: Option<String>,
    /// Chip family, where known.
    pub chip: Option<String>,
    /// OEM PK hash.
    pub pk_hash: Option<String>,
    /// IMEI, when known (only a board seen in normal mode tells it).
    pub imei: Option<String>,
}

impl BoardInfo {
    /// From a chip identity (and an IMEI, if known).
    pub(crate) fn from_identity(id: Option<&ChipIdentity>, imei: Option<String>) -> Self {
        Self {
            serial: id.and_then(|i| i.serial.clone()),
            hw_id: id.and_then(|i| i.hw_id.clone()),
            chip: id.and_then(|i| i.chip.clone()),
            pk_hash: id.and_then(|i| i.pk_hash.clone()),
            imei,
        }
    }
}

/// One region in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackedUp {
    /// Where it lives on the board.
    #[serde(flatten)]
    pub region: Region,
    /// File in the backup folder.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file (lower-case hex).
    pub sha256: String,
}

/// A copied file (the programmer) with its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopiedFile {
    /// File in the backup folder.
    pub file: String,
    /// Where it came from.
    pub original: String,
    /// SHA-256 (lower-case hex).
    pub sha256: String,
}

/// `manifest.json` of a backup folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// When it was taken (UTC, ISO 8601).
    pub created: String,
    /// The tool and version that took it.
    pub tool: String,
    /// The board.
    pub board: BoardInfo,
    /// Storage type (`nand`, `emmc`, `ufs`).
    pub memory: String,
    /// Sector (page) size.
    pub sector_size: u32,
    /// Pages per erase block (NAND).
    pub pages_per_block: Option<u32>,
    /// Where the region locations came from.
    pub table_source: String,
    /// NAND: the first page of the MIBIB (restore checks the board's table there).
    #[serde(default)]
    pub mibib_start: Option<u64>,
    /// The package used, if any.
    pub package: Option<String>,
    /// The programmer used (a copy is in the folder).
    pub programmer: Option<CopiedFile>,
    /// The regions, in the order they were read.
    pub regions: Vec<BackedUp>,
    /// Facts noted while locating the regions.
    pub notes: Vec<String>,
}

impl Manifest {
    /// Load `manifest.json` from a backup folder.
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| EngineError::Backup {
            what: format!("{} is not a backup folder: {e}", dir.display()),
            help: format!(
                "name the folder `oasis-cli backup` (or a flash with --backup) wrote; it holds {MANIFEST}"
            ),
        })?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| EngineError::Backup {
            what: format!("{} is not a valid backup manifest: {e}", path.display()),
            help: "the backup folder was altered or damaged; use another backup".to_owned(),
        })?;
        if m.format != FORMAT {
            return Err(EngineError::Backup {
                what: format!(
                    "{} has manifest format {}, this Oasis reads format {FORMAT}",
                    path.display(),
                    m.format
                ),
                help: "restore it with the Oasis version that took it".to_owned(),
            });
        }
        Ok(m)
    }

    /// Total bytes of the regions.
    pub fn total_bytes(&self) -> u64 {
        self.regions.iter().map(|r| r.bytes).sum()
    }
}

/// What a backup needs to know besides the board.
#[derive(Debug, Clone)]
pub(crate) struct BackupContext<'a> {
    /// The package's partition table, if any.
    pub table: Option<&'a PartitionTable>,
    /// Storage type.
    pub memory: &'a str,
    /// Sector (page) size.
    pub sector_size: u32,
    /// Pages per erase block (NAND).
    pub pages_per_block: Option<u32>,
    /// The programmer in use.
    pub programmer: &'a ProgrammerImage,
    /// The package, for the manifest.
    pub package: Option<String>,
    /// IMEI, if known.
    pub imei: Option<String>,
}

fn io_err(what: String) -> EngineError {
    EngineError::Backup {
        what,
        help: "choose a writable folder on a disk with free space (an empty or new folder)"
            .to_owned(),
    }
}

/// Create `dir` (it must not exist, or be empty).
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), EngineError> {
    crate::paths::fresh_dir(dir, "backup")
}

fn locate(
    s: &mut Session,
    ctx: &BackupContext<'_>,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Located, EngineError> {
    let mut reader = BoardReader {
        fh: &mut s.fh,
        em,
        t,
    };
    if ctx.memory.eq_ignore_ascii_case("nand") {
        let ppb = ctx.pages_per_block.unwrap_or(64);
        return regions::locate_nand(ctx.table, ctx.sector_size, ppb, &mut reader);
    }
    let mut luns: Vec<u32> = ctx
        .table
        .map(|t| {
            t.partitions
                .iter()
                .map(|p| p.physical_partition_number)
                .collect()
        })
        .unwrap_or_default();
    if luns.is_empty() && ctx.memory.eq_ignore_ascii_case("ufs") {
        luns.extend(0..6);
    }
    luns.push(0);
    luns.sort_unstable();
    luns.dedup();
    regions::locate_gpt(ctx.table, ctx.sector_size, &luns, &mut reader)
}

fn file_name(r: &Region, taken: &[BackedUp]) -> String {
    let clean: String = r
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if clean.is_empty() {
        "region".to_owned()
    } else {
        clean
    };
    let mut name = format!("{base}.bin");
    let mut n = 2;
    while taken.iter().any(|b| b.file.eq_ignore_ascii_case(&name)) {
        name = format!("{base}-{n}.bin");
        n += 1;
    }
    name
}

/// The Backup phase: locate the regions, read each into `dir`, write the manifest.
pub(crate) fn take(
    s: &mut Session,
    ctx: &BackupContext<'_>,
    dir: &Path,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Manifest, EngineError> {
    prepare_dir(dir)?;
    em.start_phase(Phase::Backup, 0);
    let found = locate(s, ctx, t, em)?;
    for n in &found.notes {
        em.info(n.clone());
    }
    if found.regions.is_empty() {
        return Err(EngineError::Backup {
            what: format!("{} names no calibration (EFS/NV) region to back up", found.source),
            help: "check that the package is made for this module; pass --allow-full-erase to flash without a backup".to_owned(),
        });
    }
    let total: u64 = found.regions.iter().map(Region::bytes).sum();
    em.set_phase_total(total);
    let done = read_regions(s, &found.regions, dir, t, em)?;
    let manifest = Manifest {
        format: FORMAT,
        created: paths::iso8601(paths::now_unix()),
        tool: format!("oasis {}", env!("CARGO_PKG_VERSION")),
        board: BoardInfo::from_identity(s.identity.as_ref(), ctx.imei.clone()),
        memory: ctx.memory.to_ascii_lowercase(),
        sector_size: ctx.sector_size,
        pages_per_block: ctx.pages_per_block,
        table_source: found.source.clone(),
        mibib_start: ctx
            .table
            .filter(|_| ctx.memory.eq_ignore_ascii_case("nand"))
            .and_then(|t| t.find("MIBIB"))
            .map(|p| p.start_sector),
        package: ctx.package.clone(),
        programmer: Some(copy_programmer(ctx.programmer, dir)?),
        regions: done,
        notes: found.notes,
    };
    write_manifest(&manifest, dir)?;
    em.info(format!(
        "backup of {} region(s) ({} bytes: {}) written to {}",
        manifest.regions.len(),
        manifest.total_bytes(),
        names(&manifest),
        dir.display()
    ));
    if manifest.board.serial.is_none() {
        em.info("the board's chip serial is unknown (the programmer was already running): restore cannot check that this backup belongs to the board it is restored onto");
    }
    Ok(manifest)
}

/// Read each region into its own raw file in `dir`.
fn read_regions(
    s: &mut Session,
    regions: &[Region],
    dir: &Path,
    t: &Timeouts,
    em: &mut Emitter,
) -> Result<Vec<BackedUp>, EngineError> {
    let mut done = Vec::new();
    for r in regions {
        em.check_cancel()?;
        em.set_partition(Some(&r.name));
        let file = file_name(r, &done);
        let path = dir.join(&file);
        let f = File::create(&path)
            .map_err(|e| io_err(format!("cannot create {}: {e}", path.display())))?;
        let mut w = BufWriter::new(f);
        let sha = session::read_range(
            &mut s.fh,
            em,
            &r.name,
            r.physical_partition,
            r.start_sector,
            r.sectors,
            r.sector_size,
            t,
            &mut w,
        )?;
        w.flush()
            .map_err(|e| io_err(format!("cannot write {}: {e}", path.display())))?;
        done.push(BackedUp {
            region: r.clone(),
            file,
            bytes: r.bytes(),
            sha256: hex::encode(sha),
        });
    }
    Ok(done)
}

/// Region names of a manifest, comma-separated.
pub fn names(m: &Manifest) -> String {
    m.regions
        .iter()
        .map(|r| r.region.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn copy_programmer(p: &ProgrammerImage, dir: &Path) -> Result<CopiedFile, EngineError> {
    use sha2::{Digest, Sha256};
    let base = Path::new(&p.name).file_name().map_or_else(
        || "programmer.mbn".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let file = format!("programmer-{base}");
    let path: PathBuf = dir.join(&file);
    std::fs::write(&path, &p.bytes)
        .map_err(|e| io_err(format!("cannot write {}: {e}", path.display())))?;
    Ok(CopiedFile {
        file,
        original: p.name.clone(),
        sha256: hex::encode(Sha256::digest(&p.bytes)),
    })
}

fn write_manifest(m: &Manifest, dir: &Path) -> Result<(), EngineError> {
    let path = dir.join(MANIFEST);
    let text = serde_json::to_string_pretty(m)
        .map_err(|e| EngineError::Internal(format!("manifest not serialisable: {e}")))?;
    std::fs::write(&path, text + "\n")
        .map_err(|e| io_err(format!("cannot write {}: {e}", path.display())))
}

/// Check every region file of a backup against its size and SHA-256.
pub(crate) fn check_files(m: &Manifest, dir: &Path) -> Result<(), EngineError> {
    use sha2::{Digest, Sha256};
    for r in &m.regions {
        let path = dir.join(&r.file);
        if Path::new(&r.file).components().count() != 1 {
            return Err(damaged(format!(
                "the manifest names a file outside the folder: {}",
                r.file
            )));
        }
        let mut f = File::open(&path)
            .map_err(|e| damaged(format!("{} cannot be read: {e}", path.display())))?;
        let mut h = Sha256::new();
        let n = std::io::copy(&mut f, &mut h)
            .map_err(|e| damaged(format!("{} cannot be read: {e}", path.display())))?;
        let sha = hex::encode(h.finalize());
        if n != r.bytes || n != r.region.bytes() || !sha.eq_ignore_ascii_case(&r.sha256) {
            return Err(damaged(format!(
                "{} does not match the manifest: {n} bytes with SHA-256 {sha}, expected {} bytes with SHA-256 {}",
                path.display(),
                r.bytes,
                r.sha256
            )));
        }
    }
    Ok(())
}

fn damaged(what: String) -> EngineError {
    EngineError::Backup {
        what: format!("the backup is damaged: {what}"),
        help: "nothing was written; use another backup of this board".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(dir: &Path, data: &[u8]) -> Manifest {
        use sha2::{Digest, Sha256};
        std::fs::write(dir.join("EFS2.bin"), data).unwrap();
        Manifest {
            format: FORMAT,
            created: "2026-01-01T00:00:00Z".into(),
            tool: "oasis test".into(),
            board: BoardInfo {
                serial: Some("0cf94c64".into()),
                ..BoardInfo::default()
            },
            memory: "nand".into(),
            sector_size: 2048,
            pages_per_block: Some(64),
            table_source: "test".into(),
            mibib_start: Some(640),
            package: None,
            programmer: None,
            regions: vec![BackedUp {
                region: Region {
                    name: "EFS2".into(),
                    what: "modem EFS/NV".into(),
                    physical_partition: 0,
                    start_sector: 640,
                    sectors: 2,
                    sector_size: 2048,
                },
                file: "EFS2.bin".into(),
                bytes: 4096,
                sha256: hex::encode(Sha256::digest(data)),
            }],
            notes: vec![],
        }
    }

    #[test]
    fn manifest_round_trips_and_files_are_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let m = manifest(tmp.path(), &[7u8; 4096]);
        write_manifest(&m, tmp.path()).unwrap();
        let back = Manifest::load(tmp.path()).unwrap();
        assert_eq!(back, m);
        check_files(&back, tmp.path()).unwrap();
        let text = std::fs::read_to_string(tmp.path().join(MANIFEST)).unwrap();
        assert!(text.contains("\"start_sector\": 640"), "{text}");
        std::fs::write(tmp.path().join("EFS2.bin"), [8u8; 4096]).unwrap();
        let e = check_files(&back, tmp.path()).unwrap_err();
        assert!(e.to_string().contains("does not match the manifest"), "{e}");
    }

    #[test]
    fn a_used_folder_is_refused_and_a_missing_manifest_named() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("x"), b"x").unwrap();
        let e = prepare_dir(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("is not empty"), "{e}");
        let e = Manifest::load(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("is not a backup folder"), "{e}");
        prepare_dir(&tmp.path().join("new/deeper")).unwrap();
    }
}
