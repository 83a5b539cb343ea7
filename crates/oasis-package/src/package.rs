//! [`Package`]: a firmware folder or zip read into one model — files found, XML parsed, md5 checked,
//! partition table, programmer identity and the ordered flash plan — plus streaming step readers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::contents::ContentsInfo;
use crate::data::PieceReader;
pub use crate::discover::Choice;
use crate::discover::{self, Found};
use crate::error::PackageError;
use crate::jail::Jail;
use crate::md5sum::{self, Md5Report};
use crate::naming::{FirmwareName, StorageType};
use crate::nand::{NandPartitionXml, PartitionTable, UsrEntry};
use crate::patch::{IgnoredPatch, PatchFile};
pub use crate::plan::SkippedEntry;
use crate::plan::{MissingImage, OversizedImage, PlanInput, PlanStep, StepOp};
use crate::programmer::{ProgrammerIdentity, ProgrammerKind};
use crate::rawprogram::RawProgramFile;

/// How to open a package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Use this programmer instead of searching the package.
    pub programmer: Option<PathBuf>,
    /// Use this rawprogram XML instead of choosing one.
    pub rawprogram: Option<PathBuf>,
    /// Prefer `*_factory.xml` over `*_update.xml`.
    pub prefer_factory: bool,
}

/// The layout the package was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageKind {
    /// Quectel firmware folder: `<PKG>/update/firehose/...`.
    Quectel,
    /// Qualcomm flat build: programmer + rawprogram*.xml + patch*.xml in one folder.
    FlatBuild,
    /// Qualcomm meta build: contents.xml pointing at the XMLs.
    MetaBuild,
}

/// The chosen programmer and what its bytes say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgrammerInfo {
    /// The file.
    pub path: PathBuf,
    /// Given by the user rather than found.
    pub given: bool,
    /// Identity, when the file could be read.
    pub identity: Option<ProgrammerIdentity>,
    /// Why the identity could not be read (a finding, not fatal for `info`).
    pub error: Option<String>,
}

/// A firmware package, opened and checked.
#[derive(Debug, Clone)]
pub struct Package {
    /// The package root (canonical; inside the private temp folder for zips).
    pub root: PathBuf,
    /// What was opened (folder, zip or XML path as given).
    pub source: PathBuf,
    /// Layout.
    pub kind: PackageKind,
    /// Whether it was unpacked from a zip.
    pub from_zip: bool,
    /// Model, revision and version from the folder/zip name.
    pub name: Option<FirmwareName>,
    /// Storage type.
    pub storage: StorageType,
    /// Sector size of the entries (NAND: page size).
    pub sector_size: Option<u32>,
    /// NAND pages per block.
    pub pages_per_block: Option<u32>,
    /// The Firehose programmer.
    pub programmer: Option<ProgrammerInfo>,
    /// Rawprogram XMLs used, in order.
    pub rawprogram: Vec<PathBuf>,
    /// Patch XMLs used, in order.
    pub patch: Vec<PathBuf>,
    /// contents.xml, if present.
    pub contents: Option<ContentsInfo>,
    /// Partition table (NAND MIBIB / partition_nand.xml; eMMC/UFS from rawprogram labels).
    pub partitions: Option<PartitionTable>,
    /// `partition_nand.xml`, if present.
    pub nand_xml: Option<NandPartitionXml>,
    /// `partition.mbn` (user table), if present.
    pub usr_table: Option<Vec<UsrEntry>>,
    /// md5.txt verdicts (empty report when there is no md5.txt).
    pub md5: Md5Report,
    /// Images the plan needs that are absent.
    pub missing_images: Vec<MissingImage>,
    /// Images larger than the partition their entry gives them (a flash refuses them).
    pub oversized: Vec<OversizedImage>,
    /// XML entries that produced no step.
    pub skipped: Vec<SkippedEntry>,
    /// File-targeted patches (listed, not applied).
    pub ignored_patches: Vec<IgnoredPatch>,
    /// The ordered device steps.
    pub plan: Vec<PlanStep>,
    /// Plain-sentence warnings.
    pub warnings: Vec<String>,
    /// What was chosen and why.
    pub choices: Vec<Choice>,
    /// Keeps the unpacked zip alive as long as any clone of the package.
    unpacked: Option<Arc<tempfile::TempDir>>,
    /// Size and modification time of every file the package was read from, when it was opened.
    stamps: Vec<FileStamp>,
}

/// What a file looked like when the package was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    path: PathBuf,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(FileStamp {
            path: path.to_path_buf(),
            len: m.len(),
            modified: m.modified().ok(),
        })
    }
}

impl Package {
    /// Open a package folder, a `.zip`, or a rawprogram XML inside a package.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Package, PackageError> {
        if !path.exists() {
            return Err(PackageError::NotFound {
                what: "package",
                path: path.to_path_buf(),
            });
        }
        let mut options = options.clone();
        let (start, unpacked) = if crate::archive::is_zip(path) {
            let dir = crate::archive::unpack(path)?;
            (dir.path().to_path_buf(), Some(Arc::new(dir)))
        } else if path.is_file() {
            let is_xml = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
            if !is_xml {
                return Err(PackageError::NotAPackage {
                    path: path.to_path_buf(),
                    reason: "a file that is neither a .zip nor a rawprogram XML".into(),
                });
            }
            options.rawprogram.get_or_insert_with(|| path.to_path_buf());
            (package_root_of_xml(path), None)
        } else {
            (path.to_path_buf(), None)
        };
        let mut found = Found::default();
        let root = discover::unwrap_root(&start, &mut found);
        found.root = root
            .canonicalize()
            .map_err(|e| crate::fsutil::io_err(&root, e))?;
        let mut pkg = open_root(found, &options)?;
        pkg.source = path.to_path_buf();
        pkg.from_zip = unpacked.is_some();
        pkg.unpacked = unpacked;
        pkg.stamps = pkg.files_read().filter_map(|f| FileStamp::of(&f)).collect();
        if pkg.name.is_none() {
            pkg.name = path
                .file_name()
                .and_then(|n| crate::naming::parse_firmware_name(&n.to_string_lossy()));
        }
        Ok(pkg)
    }

    /// Every file the package is read from: the images its plan writes, the programmer, the
    /// rawprogram and patch XMLs, md5.txt.
    fn files_read(&self) -> impl Iterator<Item = PathBuf> + '_ {
        let mut files: Vec<PathBuf> = self.plan.iter().filter_map(|s| s.path.clone()).collect();
        files.extend(self.programmer.iter().map(|p| p.path.clone()));
        files.extend(self.rawprogram.iter().cloned());
        files.extend(self.patch.iter().cloned());
        files.push(self.root.join("md5.txt"));
        files.sort();
        files.dedup();
        files.into_iter()
    }

    /// The first file the package was read from that has changed on disk since it was opened
    /// (another size or modification time, or gone), if any: a package opened earlier and kept
    /// (the app opens one when it is picked) is opened again before it is flashed when this
    /// says so.
    pub fn changed_on_disk(&self) -> Option<PathBuf> {
        self.stamps
            .iter()
            .find(|s| FileStamp::of(&s.path).as_ref() != Some(*s))
            .map(|s| s.path.clone())
    }

    /// Model (`EG25`), if the name told.
    pub fn model(&self) -> Option<&str> {
        self.name.as_ref().map(|n| n.model.as_str())
    }

    /// Revision (`EG25GGBR07A08M2G`), if the name told.
    pub fn revision(&self) -> Option<&str> {
        self.name.as_ref().map(|n| n.revision.as_str())
    }

    /// Application version (`30.006.30.006`), if the name told.
    pub fn version(&self) -> Option<&str> {
        self.name.as_ref().and_then(|n| n.version.as_deref())
    }

    /// Bytes the program steps send (steps whose image is present).
    pub fn total_bytes(&self) -> u64 {
        self.plan
            .iter()
            .filter(|s| s.op == StepOp::Program)
            .filter_map(|s| s.data.as_ref().map(|d| d.total_bytes))
            .sum()
    }

    /// The package-relative form of a path inside it.
    pub fn relative(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.to_string_lossy().replace('\\', "/")
    }

    /// A reader yielding exactly `sectors × sector_size` bytes of a program step (zero-padded),
    /// streaming from the files. Errors for non-program steps and missing images.
    pub fn open_reader(&self, step: &PlanStep) -> Result<PieceReader, PackageError> {
        match (&step.op, &step.data) {
            (StepOp::Program, Some(data)) => Ok(data.reader().keeping(self.unpacked.clone())),
            _ => Err(PackageError::MissingImages {
                count: 1,
                first: step
                    .path
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(&step.label)),
            }),
        }
    }

    /// Partitions holding board-unique data (EFS2/NV, modemst, FSG, calibration) per the
    /// partition table, with what each holds: the regions a backup must save before flashing.
    pub fn board_data_regions(&self) -> Vec<(&crate::nand::Partition, &'static str)> {
        self.partitions
            .iter()
            .flat_map(|t| &t.partitions)
            .filter_map(|p| crate::plan::is_protected_name(&p.name).map(|what| (p, what)))
            .collect()
    }

    /// Whether the package can be flashed as it is: a programmer, every image present, md5 clean.
    pub fn ensure_flashable(&self) -> Result<(), PackageError> {
        if self.programmer.is_none() {
            return Err(PackageError::NoProgrammer {
                root: self.root.clone(),
            });
        }
        self.md5.check()?;
        if let Some(first) = self.missing_images.first() {
            return Err(PackageError::MissingImages {
                count: self.missing_images.len(),
                first: self.root.join(&first.path),
            });
        }
        Ok(())
    }

    /// The summary for `oasis-cli info --json`.
    pub fn summary_json(&self) -> serde_json::Value {
        crate::summary::summary(self)
    }
}

/// For a rawprogram XML given directly: its package root (above `update/firehose`, else its folder).
fn package_root_of_xml(xml: &Path) -> PathBuf {
    let dir = xml.parent().unwrap_or(Path::new(".")).to_path_buf();
    let is = |p: &Path, n: &str| p.file_name().is_some_and(|f| f.eq_ignore_ascii_case(n));
    if is(&dir, "firehose")
        && let Some(update) = dir.parent()
        && is(update, "update")
        && let Some(root) = update.parent()
    {
        return root.to_path_buf();
    }
    dir
}

fn read_contents(found: &mut Found) {
    let path = found.root.join("contents.xml");
    if !path.is_file() {
        return;
    }
    match ContentsInfo::from_path(&path) {
        Ok(c) => found.contents = Some(c),
        Err(e) => found.warnings.push(format!("contents.xml ignored: {e}")),
    }
}

fn choose_files(found: &mut Found, options: &OpenOptions) -> Result<PathBuf, PackageError> {
    let xml_dir = match &options.rawprogram {
        Some(raw) => {
            if !raw.is_file() {
                return Err(PackageError::NotFound {
                    what: "rawprogram file",
                    path: raw.clone(),
                });
            }
            let raw = raw
                .canonicalize()
                .map_err(|e| crate::fsutil::io_err(raw, e))?;
            let dir = raw.parent().unwrap_or(&found.root).to_path_buf();
            if !raw.starts_with(&found.root) {
                found.warnings.push(format!(
                    "{} is outside the package; the files it names are looked up beside it",
                    raw.display()
                ));
                found.root = dir.clone();
            }
            found.quectel_layout = dir.ends_with("update/firehose");
            let shown = found.root.clone();
            found.choices.push(Choice {
                what: "rawprogram".into(),
                chosen: raw
                    .strip_prefix(&shown)
                    .unwrap_or(&raw)
                    .to_string_lossy()
                    .into_owned(),
                reason: "given by the user".into(),
                alternatives: vec![],
            });
            found.rawprogram.push(raw);
            dir
        }
        None => discover::find_rawprogram(found, options.prefer_factory)?,
    };
    discover::find_patches(found);
    match &options.programmer {
        Some(p) => {
            if !p.is_file() {
                return Err(PackageError::NotFound {
                    what: "programmer",
                    path: p.clone(),
                });
            }
            found.choices.push(Choice {
                what: "programmer".into(),
                chosen: p.display().to_string(),
                reason: "given by the user".into(),
                alternatives: vec![],
            });
            found.programmer = Some(p.clone());
        }
        None => discover::find_programmer(found, &xml_dir),
    }
    let md5 = found.root.join("md5.txt");
    found.md5 = md5.is_file().then_some(md5);
    Ok(xml_dir)
}

fn parse_xmls(found: &Found) -> Result<(Vec<RawProgramFile>, Vec<PatchFile>), PackageError> {
    let raws = found
        .rawprogram
        .iter()
        .map(|p| RawProgramFile::from_path(p));
    let patches = found.patch.iter().map(|p| PatchFile::from_path(p));
    Ok((
        raws.collect::<Result<_, _>>()?,
        patches.collect::<Result<_, _>>()?,
    ))
}

fn kind_of(found: &Found) -> PackageKind {
    if found.quectel_layout {
        PackageKind::Quectel
    } else if found.meta_build {
        PackageKind::MetaBuild
    } else {
        PackageKind::FlatBuild
    }
}

fn open_root(mut found: Found, options: &OpenOptions) -> Result<Package, PackageError> {
    read_contents(&mut found);
    let xml_dir = choose_files(&mut found, options)?;
    let (raws, patches) = parse_xmls(&found)?;
    let facts = crate::facts::storage_facts(&found, &raws);
    let jail = Jail::new(&found.root)?;
    let tables = crate::facts::partition_tables(&found, &xml_dir, &raws, &facts);
    found.warnings.extend(tables.warnings.iter().cloned());
    let output = crate::plan::build(PlanInput {
        jail: &jail,
        raws: &raws,
        patches: &patches,
        storage: facts.storage,
        table: tables.table.as_ref(),
    })?;
    let md5 = match &found.md5 {
        Some(path) => md5sum::verify(&jail, path)?,
        None => Md5Report::default(),
    };
    let programmer = found
        .programmer
        .clone()
        .map(|path| identify(&path, &options.programmer, &mut found));
    let name = crate::facts::firmware_name(&found.root, &xml_dir);
    let kind = kind_of(&found);
    let mut warnings = found.warnings;
    warnings.extend(facts.warnings);
    warnings.extend(output.warnings);
    if !output.missing_images.is_empty() {
        warnings.push(format!(
            "{} image(s) named by the XML are not in the package; it cannot be flashed as it is",
            output.missing_images.len()
        ));
    }
    let mut choices = found.choices;
    choices.extend(facts.choices);
    Ok(Package {
        root: found.root,
        source: PathBuf::new(),
        kind,
        from_zip: false,
        name,
        storage: facts.storage,
        sector_size: facts.sector_size,
        pages_per_block: facts.pages_per_block,
        programmer,
        rawprogram: found.rawprogram,
        patch: found.patch,
        contents: found.contents,
        partitions: tables.table,
        nand_xml: tables.nand_xml,
        usr_table: tables.usr_table,
        md5,
        missing_images: output.missing_images,
        oversized: output.oversized,
        skipped: output.skipped,
        ignored_patches: output.ignored_patches,
        stamps: Vec::new(),
        plan: output.steps,
        warnings,
        choices,
        unpacked: None,
    })
}

fn identify(path: &Path, given: &Option<PathBuf>, found: &mut Found) -> ProgrammerInfo {
    let (identity, error) = match ProgrammerIdentity::from_path(path) {
        Ok(id) => {
            if matches!(id.kind, ProgrammerKind::Nprg | ProgrammerKind::Enprg) {
                found.warnings.push(format!(
                    "{} is a streaming-download (NPRG/ENPRG) programmer, not Firehose; flashing with it will fail",
                    path.display()
                ));
            }
            (Some(id), None)
        }
        Err(e) => (None, Some(e.to_string())),
    };
    ProgrammerInfo {
        path: path.to_path_buf(),
        given: given.is_some(),
        identity,
        error,
    }
}
