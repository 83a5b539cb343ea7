//! The `oasis` binary: parses a few flags and opens the window. Everything else is in the library.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;

use eframe::Renderer;
use oasis::{AppOptions, OasisApp};

const USAGE: &str = "usage: oasis [--package PATH] [--demo] [--version]

  --package PATH   open this firmware package (folder or .zip) at start
  --demo           only the virtual demo boards, no real USB boards (demos and training)
  --version        print the version and exit

environment: OASIS_RENDERER=glow|wgpu picks the renderer (default: wgpu, falling back to
OpenGL when it cannot start)";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    /// Open the window.
    Run {
        /// `--package PATH`.
        package: Option<PathBuf>,
        /// `--demo` (or its old name `--scripted`): the virtual demo boards only.
        demo: bool,
    },
    /// `--version`.
    Version,
    /// Anything else: print the usage.
    Usage,
}

fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Command {
    let mut package = None;
    let mut demo = false;
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("--package") => match args.next() {
                Some(p) => package = Some(PathBuf::from(p)),
                None => return Command::Usage,
            },
            // `--scripted` is the old name of `--demo` (kept for scripts; not in the usage).
            Some("--demo" | "--scripted") => demo = true,
            Some("--version") => return Command::Version,
            _ => return Command::Usage,
        }
    }
    Command::Run { package, demo }
}

fn main() -> eframe::Result {
    let (package, demo) = match parse_args(std::env::args_os().skip(1)) {
        Command::Run { package, demo } => (package, demo),
        Command::Version => {
            println!("oasis {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Command::Usage => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let forced = std::env::var("OASIS_RENDERER").ok();
    let (first, why) = first_renderer(forced.as_deref(), under_wine());
    let started = run(first, &package, demo, why);
    match started {
        // No DirectX 12 / Vulkan (old lab PCs, virtual machines): draw with OpenGL instead of
        // giving up.
        Err(e) if matches!(first, Renderer::Wgpu) && forced.is_none() => {
            let why = format!(
                "Renderer: OpenGL (glow), because the default renderer (wgpu: DirectX 12, Vulkan \
                 or Metal) could not start: {e}"
            );
            eprintln!("oasis: {why}");
            run(Renderer::Glow, &package, demo, why)
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
fn run(renderer: Renderer, package: &Option<PathBuf>, demo: bool, note: String) -> eframe::Result {
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
            let backend = if demo {
                oasis::backend::demo_backend()
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

    fn parse(args: &[&str]) -> Command {
        parse_args(args.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn demo_and_its_old_name_scripted_pick_the_demo_boards() {
        let demo = Command::Run {
            package: None,
            demo: true,
        };
        assert_eq!(parse(&["--demo"]), demo);
        assert_eq!(parse(&["--scripted"]), demo);
        assert_eq!(
            parse(&[]),
            Command::Run {
                package: None,
                demo: false
            }
        );
        assert_eq!(
            parse(&["--package", "fw.zip", "--demo"]),
            Command::Run {
                package: Some(PathBuf::from("fw.zip")),
                demo: true
            }
        );
        assert_eq!(parse(&["--version"]), Command::Version);
        assert_eq!(parse(&["--package"]), Command::Usage);
        assert_eq!(parse(&["--bogus"]), Command::Usage);
        // Only the new name is documented.
        assert!(USAGE.contains("--demo"));
        assert!(!USAGE.contains("--scripted"));
    }

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
