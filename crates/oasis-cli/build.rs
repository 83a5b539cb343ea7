//! Build facts for `oasis-cli --version`: git commit (when built from a git checkout), target
//! triple and build profile.

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=OASIS_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=OASIS_TARGET={target}");
    println!("cargo:rustc-env=OASIS_PROFILE={profile}");
    println!("cargo:rerun-if-changed=build.rs");
    // Rebuild when the checked-out commit changes: HEAD, and the branch file it points to.
    let head = std::path::Path::new("../../.git/HEAD");
    if head.exists() {
        println!("cargo:rerun-if-changed=../../.git/HEAD");
        if let Ok(text) = std::fs::read_to_string(head)
            && let Some(r) = text.trim().strip_prefix("ref: ")
        {
            println!("cargo:rerun-if-changed=../../.git/{r}");
        }
    }
}
