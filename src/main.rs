//! The `oasis` binary: parses a few flags and opens the window. Everything else is in the library.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;
use std::time::Duration;

use eframe::Renderer;
use oasis::backend::Backend;
use oasis::backend::fake::FakeBackend;
use oasis::{AppOptions, OasisApp};

const USAGE: &str = "usage: oasis [--package PATH] [--scripted] [--version]

  --package PATH   open this firmware package (folder or .zip) at start
  --scripted       use scripted boards instead of the engine (demo without the engine)
  --version        print the version and exit

environment: OASIS_RENDERER=glow|wgpu picks the renderer (default: wgpu, falling back to
OpenGL when it cannot start)";

fn main() -> eframe::Result {
    let mut package = None;
    let mut scripted = false;
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("--package") => package = args.next().map(PathBuf::from),
            Some("--scripted") => scripted = true,
            Some("--version") => {
                println!("oasis {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let forced = std::env::var("OASIS_RENDERER").ok();
    let (first, why) = first_renderer(forced.as_deref(), under_wine());
    let started = run(first, &package, scripted, why);
    match started {
        // No DirectX 12 / Vulkan (old lab PCs, virtual machines): draw with OpenGL instead of
        // giving up.
        Err(e) if matches!(first, Renderer::Wgpu) && forced.is_none() => {
            let why = format!(
                "Renderer: OpenGL (glow), because the default renderer (wgpu: DirectX 12, Vulkan \
                 or Metal) could not start: {e}"
            );
            eprintln!("oasis: {why}");
            run(Renderer::Glow, &package, scripted, why)
        }
        other => other,
    }
}

/// The renderer to try first and the log line that says why. `OASIS_RENDERER=glow|wgpu`
/// decides when set. Under Wine the default is OpenGL: Wine's DirectX 12 (vkd3d) aborts the
/// process inside wgpu's start-up, where nothing can catch it.
fn first_renderer(forced: Option<&str>, wine: bool) -> (Renderer, String) {
    match forced.map(str::to_ascii_lowercase).as_deref() {
        Some("glow" | "gl" | "opengl") => (
            Renderer::Glow,
            "Renderer: OpenGL (glow), as OASIS_RENDERER asks".to_owned(),
        ),
        Some("wgpu") => (
            Renderer::Wgpu,
            "Renderer: wgpu, as OASIS_RENDERER asks".to_owned(),
        ),
        _ if wine => (
            Renderer::Glow,
            "Renderer: OpenGL (glow), because this is Wine (its DirectX 12 aborts wgpu)".to_owned(),
        ),
        _ => (Renderer::Wgpu, "Renderer: wgpu (the default)".to_owned()),
    }
}

/// Whether this Windows build runs under Wine (its prefix has Wine's own tools in system32).
fn under_wine() -> bool {
    cfg!(windows)
        && std::env::var_os("SystemRoot").is_some_and(|root| {
            std::path::Path::new(&root)
                .join("system32")
                .join("winecfg.exe")
                .exists()
        })
}

/// Open the window with this renderer; `note` goes into the app's log.
fn run(
    renderer: Renderer,
    package: &Option<PathBuf>,
    scripted: bool,
    note: String,
) -> eframe::Result {
    let package = package.clone();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Oasis")
        .with_app_id("oasis")
        .with_inner_size([1100.0, 760.0])
        .with_min_inner_size([720.0, 480.0])
        .with_drag_and_drop(true);
    if let Ok(icon) = oasis::assets::window_icon() {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        renderer,
        ..Default::default()
    };
    eframe::run_native(
        "Oasis",
        options,
        Box::new(move |cc| {
            let backend: Box<dyn Backend> = if scripted {
                Box::new(FakeBackend::new(
                    FakeBackend::demo_boards(),
                    Duration::from_millis(250),
                ))
            } else {
                oasis::backend::default_backend()
            };
            let data_dir = oasis::settings::data_dir();
            let mut app = OasisApp::new(
                cc,
                AppOptions {
                    backend,
                    data_dir,
                    package,
                    picker: None,
                },
            );
            app.note_renderer(note);
            Ok(Box::new(app))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wine_and_the_setting_pick_opengl_and_wgpu_is_the_default() {
        assert!(matches!(first_renderer(None, false).0, Renderer::Wgpu));
        let (r, why) = first_renderer(None, true);
        assert!(matches!(r, Renderer::Glow));
        assert!(why.contains("Wine"), "{why}");
        assert!(matches!(
            first_renderer(Some("GLOW"), false).0,
            Renderer::Glow
        ));
        assert!(matches!(
            first_renderer(Some("wgpu"), true).0,
            Renderer::Wgpu
        ));
        assert!(matches!(
            first_renderer(Some("other"), false).0,
            Renderer::Wgpu
        ));
        // Linux and macOS never think they are Wine.
        if !cfg!(windows) {
            assert!(!under_wine());
        }
    }
}
