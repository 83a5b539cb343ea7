//! Helpers for the `oasis-cli` tests: run the binary, read its JSON lines, and make the
//! kit-generated packages (oasis-testkit) flashable by generating their absent images in a temp dir.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use md5::{Digest, Md5};
use serde_json::Value;

/// The binary under test.
pub fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oasis-cli"));
    // Faults are injected in these tests: keep every board timeout short.
    c.env("OASIS_TIMEOUT_SCALE", "0.2");
    // Automatic support bundles of failing runs go to a scratch data dir, not the user's.
    c.env("OASIS_DATA_DIR", scratch_data_dir());
    c
}

/// The data dir of these tests (bundles written on failure land in `bundles/` here; one
/// folder for every run, so runs do not pile up folders).
pub fn scratch_data_dir() -> PathBuf {
    std::env::temp_dir().join("oasis-cli-tests-data")
}

/// The kit-generated fixture tree (oasis-testkit: `packages/…`, `programmers/…`). Read-only.
pub fn fixtures() -> PathBuf {
    oasis_testkit::corpus::dir()
}

/// A kit package folder by its old fixture name or kit name (`quectel-eg25g-nand-2022`,
/// `uz801-emmc`, `qdl-tests-ufs`, or `quectel-nand`, `emmc`, `ufs`). Read-only.
pub fn kit_package(name: &str) -> PathBuf {
    oasis_testkit::corpus::package(name)
}

/// The real-world corpus folder (`OASIS_REALWORLD`); only for the ignored `realworld_*` tests.
pub fn realworld_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("OASIS_REALWORLD").unwrap_or_default())
}

/// stdout as JSON lines.
pub fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The one JSON object on stdout.
pub fn json_one(out: &Output) -> Value {
    let mut v = json_lines(out);
    assert_eq!(
        v.len(),
        1,
        "expected one JSON document, stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    v.remove(0)
}

/// Text of a run, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The revision string embedded in one generated image (and used as a package name).
pub const REVISION: &str = "EG25GGBR07A08M2G_30.006.30.006";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

fn pseudo_random(seed: &str, len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in seed.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
    }
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Sizes of the program entries in a rawprogram XML: file name → bytes (0 = size of file).
fn partition_sizes(xml: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for tag in xml.split("<program").skip(1) {
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            tag.find(&key).map(|i| {
                let rest = &tag[i + key.len()..];
                rest[..rest.find('"').unwrap()].to_owned()
            })
        };
        let (Some(file), Some(n), Some(ss)) = (
            attr("filename"),
            attr("num_partition_sectors"),
            attr("SECTOR_SIZE_IN_BYTES"),
        ) else {
            continue;
        };
        let file = file.replace('\\', "/");
        let name = file.rsplit('/').next().unwrap().to_owned();
        out.push((
            name,
            n.parse::<u64>().unwrap_or(0) * ss.parse::<u64>().unwrap_or(0),
        ));
    }
    out
}

/// A copy of kit package `name` (see [`kit_package`]) under `<tmp>/<dir_name>` with every absent image
/// generated (≤ its partition, ≤ 96 KiB, pseudo-random, the first one carrying
/// [`REVISION`]) and md5.txt entries of generated files rewritten to their real md5.
pub fn flashable_package(name: &str, dir_name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join(dir_name);
    copy_dir(&kit_package(name), &root);
    let mut generated: Vec<(String, Vec<u8>)> = Vec::new();
    let mut xmls = Vec::new();
    find_rawprograms(&root, &mut xmls);
    for xml in xmls {
        let dir = xml.parent().unwrap().to_path_buf();
        let text = std::fs::read_to_string(&xml).unwrap();
        for tag in text.split("<program").skip(1) {
            let Some(i) = tag.find("filename=\"") else {
                continue;
            };
            let rest = &tag[i + 10..];
            let file = rest[..rest.find('"').unwrap()].replace('\\', "/");
            if file.is_empty() {
                continue;
            }
            let path = dir.join(&file);
            if path.exists() {
                continue;
            }
            let base = file.rsplit('/').next().unwrap().to_owned();
            let part = partition_sizes(&text)
                .into_iter()
                .find(|(n, _)| *n == base)
                .map_or(0, |(_, b)| b);
            let part = if part == 0 { 64 * 1024 } else { part };
            let len = (part.min(96 * 1024) - 100.min(part - 1)) as usize;
            let mut data = pseudo_random(&file, len);
            if generated.is_empty() && data.len() > REVISION.len() + 64 {
                data[64..64 + REVISION.len()].copy_from_slice(REVISION.as_bytes());
            }
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &data).unwrap();
            generated.push((base, data));
        }
    }
    rewrite_md5(&root, &generated);
    (tmp, root)
}

fn find_rawprograms(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            find_rawprograms(&p, out);
        } else if p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("rawprogram")
        {
            out.push(p);
        }
    }
}

fn rewrite_md5(root: &Path, generated: &[(String, Vec<u8>)]) {
    let md5_txt = root.join("md5.txt");
    let Ok(text) = std::fs::read_to_string(&md5_txt) else {
        return;
    };
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        let hit = body.rsplit_once(':').and_then(|(head, _)| {
            let base = head.replace('\\', "/");
            let base = base.rsplit('/').next().unwrap().to_owned();
            generated
                .iter()
                .find(|(n, _)| *n == base)
                .map(|(_, d)| (head, d))
        });
        match hit {
            Some((head, data)) => {
                out.push_str(&format!(
                    "{head}:{}{ending}",
                    hex::encode_upper(Md5::digest(data))
                ));
            }
            None => out.push_str(line),
        }
    }
    std::fs::write(md5_txt, out).unwrap();
}

/// An `oasis-cli emulate` child serving a virtual board on a pseudo-terminal, stopped (by its
/// own id) when dropped.
#[cfg(unix)]
pub struct Emulator {
    /// The `emulate` process.
    pub child: std::process::Child,
    /// The symbolic link to the pty (what `--port` names).
    pub link: PathBuf,
    _dir: tempfile::TempDir,
}

#[cfg(unix)]
impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `oasis-cli emulate --pty <temp>/link ARGS...`, returned once its pty link exists. The wait is
/// a guard against a hang (60 s), not a timing assertion.
#[cfg(unix)]
pub fn emulate_args(args: &[&str]) -> Emulator {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link");
    let child = cli()
        .arg("emulate")
        .arg("--pty")
        .arg(&link)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut emu = Emulator {
        child,
        link,
        _dir: dir,
    };
    let start = Instant::now();
    while !emu.link.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the pty link never appeared"
        );
        if let Ok(Some(status)) = emu.child.try_wait() {
            panic!("emulate exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    emu
}

/// `--flag value` for each value (`--fault`, `--quirk`).
#[cfg(unix)]
pub fn repeated<'a>(flag: &'a str, values: &[&'a str]) -> Vec<&'a str> {
    values.iter().flat_map(|v| [flag, *v]).collect()
}
