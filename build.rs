//! Build script of the desktop app: embeds the icon and version resources on Windows.
//! Everything else is plain Cargo; other platforms do nothing here.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
