//! The `oasis` binary: parses a few flags and opens the window. Everything else is in the library.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;
use std::time::Duration;

use oasis::backend::Backend;
use oasis::backend::fake::FakeBackend;
use oasis::{AppOptions, OasisApp};

const USAGE: &str = "usage: oasis [--package PATH] [--scripted] [--version]

  --package PATH   open this firmware package (folder or .zip) at start
  --scripted       use scripted boards instead of the engine (demo without the engine)
  --version        print the version and exit";

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
    let backend: Box<dyn Backend> = if scripted {
        Box::new(FakeBackend::new(
            FakeBackend::demo_boards(),
            Duration::from_millis(250),
        ))
    } else {
        oasis::backend::default_backend()
    };
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
        ..Default::default()
    };
    eframe::run_native(
        "Oasis",
        options,
        Box::new(move |cc| {
            let data_dir = oasis::settings::data_dir();
            Ok(Box::new(OasisApp::new(
                cc,
                AppOptions {
                    backend,
                    data_dir,
                    package,
                    picker: None,
                },
            )))
        }),
    )
}
