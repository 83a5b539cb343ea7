//! Finding a package's files the way QFirehose does (§3.4): the XML folder, the rawprogram and
//! patch files and the Firehose programmer. Every choice among several candidates is recorded with
//! its reason. contents.xml is a hint only; its NPRG `flash_programmer` is never taken.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::contents::ContentsInfo;
use crate::error::PackageError;
use crate::fsutil::glob_match;

/// A decision taken while reading the package, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// What was chosen ("programmer", "rawprogram", "patch", "package root", ...).
    pub what: String,
    /// The choice (package-relative path or value).
    pub chosen: String,
    /// Why, in a plain sentence.
    pub reason: String,
    /// Candidates not taken.
    pub alternatives: Vec<String>,
}

/// Firehose programmer names, in QFirehose's order, then other common Qualcomm/edl names.
const PROGRAMMER_PATTERNS: &[&str] = &[
    "prog_nand_firehose_*.mbn",
    "prog_emmc_firehose_*.mbn",
    "prog_firehose_*.mbn",
    "prog_firehose_*.elf",
    "firehose-prog*.mbn",
    "prog_*.mbn",
    "xbl_s_devprg_ns_SA52X*.melf",
    "prog_*.elf",
    "prog_*.melf",
    "xbl_s_devprg*.melf",
    "*firehose*.mbn",
    "*firehose*.elf",
    "*firehose*.bin",
    "*fhprg*.bin",
    "*fhprg*.mbn",
    "*fhprg*.elf",
];

/// Rawprogram variants that wipe or blank storage: never picked automatically.
const DANGEROUS_RAWPROGRAM: &[&str] = &["blank_gpt", "wipe_partitions", "erase"];

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The package root (canonical).
    pub root: PathBuf,
    /// contents.xml, when present and readable.
    pub contents: Option<ContentsInfo>,
    /// The rawprogram files, in flashing order.
    pub rawprogram: Vec<PathBuf>,
    /// The patch files, in order.
    pub patch: Vec<PathBuf>,
    /// The programmer.
    pub programmer: Option<PathBuf>,
    /// md5.txt.
    pub md5: Option<PathBuf>,
    /// Whether the `update/firehose` layout was found.
    pub quectel_layout: bool,
    /// Whether contents.xml pointed at the XMLs.
    pub meta_build: bool,
    /// Decisions and their reasons.
    pub choices: Vec<Choice>,
    /// Plain-sentence warnings.
    pub warnings: Vec<String>,
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names
}

fn rel(root: &Path, p: &Path) -> String {
    let r = p
        .strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/");
    if r.is_empty() { ".".to_string() } else { r }
}

/// `rawprogramN.xml` → N.
fn lun_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    lower
        .strip_prefix("rawprogram")?
        .strip_suffix(".xml")?
        .parse()
        .ok()
}

fn is_rawprogram(name: &str) -> bool {
    glob_match("rawprogram*.xml", name) || glob_match("firehose-rawprogram*.xml", name)
}

fn is_patch(name: &str) -> bool {
    glob_match("patch_*.xml", name)
        || glob_match("patch-*.xml", name)
        || glob_match("patch*.xml", name)
}

impl Found {
    fn choose(
        &mut self,
        what: &str,
        chosen: String,
        reason: impl Into<String>,
        alternatives: Vec<String>,
    ) {
        self.choices.push(Choice {
            what: what.to_string(),
            chosen,
            reason: reason.into(),
            alternatives,
        });
    }
}

/// Descend through wrapper folders (a zip holding one top folder) and return the real root.
pub fn unwrap_root(root: &Path, found: &mut Found) -> PathBuf {
    let mut cur = root.to_path_buf();
    for _ in 0..3 {
        let entries: Vec<_> = std::fs::read_dir(&cur)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                !n.starts_with('.') && n != "__MACOSX"
            })
            .collect();
        // A package root (update/ beside it) or its update/ folder is never a wrapper.
        let is_update = |e: &std::fs::DirEntry| e.file_name().eq_ignore_ascii_case("update");
        match entries.as_slice() {
            [only] if only.file_type().is_ok_and(|t| t.is_dir()) && !is_update(only) => {
                cur = only.path();
                found.choose(
                    "package root",
                    rel(root, &cur),
                    "the archive/folder holds only this folder",
                    vec![],
                );
            }
            _ => break,
        }
    }
    cur
}

/// Folders that hold rawprogram files, in order of preference.
fn xml_dir_candidates(
    root: &Path,
    contents: Option<&ContentsInfo>,
) -> Vec<(PathBuf, &'static str)> {
    let mut dirs = vec![
        (
            root.join("update").join("firehose"),
            "Quectel layout <package>/update/firehose",
        ),
        (root.to_path_buf(), "rawprogram files at the package root"),
    ];
    for b in contents.into_iter().flat_map(|c| &c.builds) {
        for f in &b.partition_files {
            let p = root.join(f);
            if p.file_name()
                .is_some_and(|n| is_rawprogram(&n.to_string_lossy()))
                && let Some(parent) = p.parent()
            {
                dirs.push((
                    parent.to_path_buf(),
                    "named by contents.xml <partition_file>",
                ));
            }
        }
    }
    dirs
}

/// Bounded search for folders holding rawprogram files (no symlinks followed).
fn search_dirs(root: &Path, depth: usize, budget: &mut usize, out: &mut Vec<PathBuf>) {
    if depth == 0 || *budget == 0 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    let mut subdirs = Vec::new();
    let mut has = false;
    for e in rd.flatten() {
        *budget = budget.saturating_sub(1);
        if *budget == 0 {
            break;
        }
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            subdirs.push(e.path());
        } else if t.is_file() && is_rawprogram(&e.file_name().to_string_lossy()) {
            has = true;
        }
    }
    if has {
        out.push(root.to_path_buf());
    }
    subdirs.sort();
    for d in subdirs {
        search_dirs(&d, depth - 1, budget, out);
    }
}

/// Find the XML folder and choose the rawprogram files.
pub fn find_rawprogram(found: &mut Found, prefer_factory: bool) -> Result<PathBuf, PackageError> {
    let root = found.root.clone();
    let mut dir = None;
    for (d, why) in xml_dir_candidates(&root, found.contents.as_ref()) {
        if d.is_dir() && file_names(&d).iter().any(|n| is_rawprogram(n)) {
            found.quectel_layout = why.starts_with("Quectel");
            found.meta_build = why.contains("contents.xml");
            found.choose("xml folder", rel(&root, &d), why, vec![]);
            dir = Some(d);
            break;
        }
    }
    if dir.is_none() {
        let mut hits = Vec::new();
        let mut budget = 5000;
        search_dirs(&root, 6, &mut budget, &mut hits);
        if let Some(first) = hits.first().cloned() {
            let others = hits
                .iter()
                .skip(1)
                .map(|h| rel(&root, h))
                .collect::<Vec<_>>();
            if !others.is_empty() {
                found.warnings.push(format!(
                    "rawprogram files were found in several folders; using {} (pass --rawprogram to pick another)",
                    rel(&root, &first)
                ));
            }
            found.choose(
                "xml folder",
                rel(&root, &first),
                "first folder holding rawprogram files",
                others,
            );
            dir = Some(first);
        }
    }
    let dir = dir.ok_or_else(|| PackageError::NotAPackage {
        path: root.clone(),
        reason: "no rawprogram*.xml found (looked in update/firehose, the root and subfolders)"
            .into(),
    })?;
    choose_rawprogram(found, &dir, prefer_factory);
    Ok(dir)
}

/// One Quectel-style rawprogram file: `*_update.xml` unless the factory file is preferred.
fn pick_single(
    safe: &[String],
    prefer_factory: bool,
    warnings: &mut Vec<String>,
) -> (Vec<String>, String) {
    let ends = |suffix: &str| -> Vec<&String> {
        safe.iter()
            .filter(|n| n.to_ascii_lowercase().ends_with(suffix))
            .collect()
    };
    let (update, factory) = (ends("_update.xml"), ends("_factory.xml"));
    let (pool, why) = match (update.is_empty(), factory.is_empty(), prefer_factory) {
        (false, false, false) => (
            update,
            "*_update.xml preferred over *_factory.xml by default (ask for the factory file explicitly)",
        ),
        (false, false, true) => (
            factory,
            "*_factory.xml chosen because the factory file was asked for",
        ),
        _ => (
            safe.iter().collect(),
            "the only rawprogram file of this kind",
        ),
    };
    let pick = pool.first().map(|s| (*s).clone());
    if pool.len() > 1 {
        warnings.push(format!(
            "several rawprogram files fit; using {} (pass --rawprogram to pick another)",
            pick.clone().unwrap_or_default()
        ));
    }
    (pick.into_iter().collect(), why.to_string())
}

fn choose_rawprogram(found: &mut Found, dir: &Path, prefer_factory: bool) {
    let root = found.root.clone();
    let all: Vec<String> = file_names(dir)
        .into_iter()
        .filter(|n| is_rawprogram(n))
        .collect();
    let (dangerous, safe): (Vec<String>, Vec<String>) = all.into_iter().partition(|n| {
        let l = n.to_ascii_lowercase();
        DANGEROUS_RAWPROGRAM.iter().any(|d| l.contains(d))
    });
    let mut numbered: Vec<(u32, String)> = safe
        .iter()
        .filter_map(|n| lun_number(n).map(|k| (k, n.clone())))
        .collect();
    numbered.sort();
    let (chosen, reason) = if numbered.is_empty() {
        pick_single(&safe, prefer_factory, &mut found.warnings)
    } else {
        let names = numbered.into_iter().map(|(_, n)| n).collect();
        (
            names,
            "one rawprogramN.xml per physical partition, all used in order".to_string(),
        )
    };
    let alternatives: Vec<String> = safe
        .iter()
        .chain(dangerous.iter())
        .filter(|n| !chosen.contains(n))
        .map(|n| rel(&root, &dir.join(n)))
        .collect();
    if !dangerous.is_empty() {
        found.warnings.push(format!(
            "not using {} (blank/wipe variants are never chosen automatically)",
            dangerous.join(", ")
        ));
    }
    for name in &chosen {
        found.rawprogram.push(dir.join(name));
    }
    let shown = chosen
        .iter()
        .map(|n| rel(&root, &dir.join(n)))
        .collect::<Vec<_>>()
        .join(", ");
    found.choose("rawprogram", shown, reason, alternatives);
}

/// Choose patch files to go with the chosen rawprogram files.
pub fn find_patches(found: &mut Found) {
    let root = found.root.clone();
    let raws = found.rawprogram.clone();
    for raw in &raws {
        let Some(dir) = raw.parent() else { continue };
        let raw_name = raw
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let patches: Vec<String> = file_names(dir)
            .into_iter()
            .filter(|n| is_patch(n))
            .collect();
        let pick = if let Some(k) = lun_number(&raw_name) {
            let want = format!("patch{k}.xml");
            patches
                .iter()
                .find(|p| p.eq_ignore_ascii_case(&want))
                .cloned()
                .map(|p| (p, "patchN.xml pairs with rawprogramN.xml"))
        } else {
            let geometry = crate::naming::geometry_from_name(&raw_name);
            let by_geometry = patches
                .iter()
                .find(|p| geometry.is_some() && crate::naming::geometry_from_name(p) == geometry)
                .cloned();
            match by_geometry {
                Some(p) => Some((p, "same NAND geometry (pNK_bNK) as the rawprogram file")),
                None if patches.len() == 1 => patches
                    .first()
                    .cloned()
                    .map(|p| (p, "the only patch file beside it")),
                None => None,
            }
        };
        if let Some((name, why)) = pick {
            let path = dir.join(&name);
            if !found.patch.contains(&path) {
                let others = patches
                    .iter()
                    .filter(|p| **p != name)
                    .map(|p| rel(&root, &dir.join(p)))
                    .collect();
                found.choose("patch", rel(&root, &path), why, others);
                found.patch.push(path);
            }
        } else if !patches.is_empty() {
            found.warnings.push(format!(
                "no patch file clearly belongs to {raw_name}; none used (candidates: {})",
                patches.join(", ")
            ));
        }
    }
}

fn is_nprg(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.starts_with("nprg") || l.starts_with("enprg")
}

/// The `<device_programmer>` contents.xml names, if it exists inside the package and is not NPRG.
fn contents_programmer(found: &mut Found) -> Option<PathBuf> {
    let named = found
        .contents
        .as_ref()
        .and_then(|c| c.builds.iter().find_map(|b| b.device_programmer.clone()))
        .filter(|p| !is_nprg(p.rsplit('/').next().unwrap_or(p)))?;
    let contents = found.root.join("contents.xml");
    let origin = crate::jail::PathOrigin {
        file: &contents,
        line: 0,
        attribute: "device_programmer",
    };
    let resolved =
        crate::jail::Jail::new(&found.root).and_then(|j| j.resolve(j.root(), &named, origin));
    match resolved {
        Ok(p) if p.is_file() => Some(p),
        Ok(_) => None,
        Err(e) => {
            found
                .warnings
                .push(format!("contents.xml <device_programmer> ignored: {e}"));
            None
        }
    }
}

/// Programmer candidates in one folder: (pattern, name) in pattern order, NPRG/ENPRG excluded.
fn programmer_hits(dir: &Path) -> Vec<(&'static str, String)> {
    let names: Vec<String> = file_names(dir)
        .into_iter()
        .filter(|n| !is_nprg(n))
        .collect();
    let mut hits: Vec<(&'static str, String)> = Vec::new();
    for pat in PROGRAMMER_PATTERNS {
        for n in names.iter().filter(|n| glob_match(pat, n)) {
            if !hits.iter().any(|(_, h)| h == n) {
                hits.push((pat, n.clone()));
            }
        }
    }
    hits
}

/// Find the Firehose programmer near the XMLs (never contents.xml's NPRG `flash_programmer`).
pub fn find_programmer(found: &mut Found, xml_dir: &Path) {
    let root = found.root.clone();
    if let Some(nprg) = found
        .contents
        .as_ref()
        .and_then(ContentsInfo::flash_programmer)
    {
        let why = "ignored: it names the old streaming-download (NPRG) programmer, not a Firehose programmer";
        found.choose(
            "contents.xml flash_programmer",
            nprg.to_string(),
            why,
            vec![],
        );
    }
    if let Some(p) = contents_programmer(found) {
        found.choose(
            "programmer",
            rel(&root, &p),
            "named by contents.xml <device_programmer>",
            vec![],
        );
        found.programmer = Some(p);
        return;
    }
    let mut dirs = vec![xml_dir.to_path_buf()];
    for d in [
        root.join("update").join("firehose"),
        root.join("update"),
        root.clone(),
    ] {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        let hits = programmer_hits(dir);
        if let Some((pat, first)) = hits.first() {
            let path = dir.join(first);
            let others = hits
                .iter()
                .skip(1)
                .map(|(_, n)| rel(&root, &dir.join(n)))
                .collect();
            let why = format!("first match of `{pat}` in {}", rel(&root, dir));
            found.choose("programmer", rel(&root, &path), why, others);
            found.programmer = Some(path);
            return;
        }
    }
    found
        .warnings
        .push("no Firehose programmer found in the package; pass --programmer".into());
}
