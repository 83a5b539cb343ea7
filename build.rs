//! Build script of the desktop app: the git commit for the About box (`OASIS_GIT_COMMIT`, as
//! `oasis-cli --version` has it), and the icon and version resources on Windows.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown (not built from a git checkout)".to_owned());
    println!("cargo:rustc-env=OASIS_GIT_COMMIT={commit}");
    if std::path::Path::new(".git/HEAD").exists() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Ok(text) = std::fs::read_to_string(".git/HEAD")
            && let Some(r) = text.trim().strip_prefix("ref: ")
        {
            println!("cargo:rerun-if-changed=.git/{r}");
        }
    }
    println!("cargo:rerun-if-changed=packaging/windows/oasis.ico");
    #[cfg(windows)]
    windows_resources();
}

#[cfg(windows)]
fn windows_resources() {
    let mut res = winresource::WindowsResource::new();
    res.set_icon("packaging/windows/oasis.ico");
    res.set("FileDescription", "Oasis cellular module flasher");
    res.set("ProductName", "Oasis");
    if let Err(e) = res.compile() {
        println!("cargo:warning=could not embed Windows resources: {e}");
    }
}
