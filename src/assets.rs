//! Pictures built into the binary (include_bytes!, so an installed app needs no assets folder):
//! the window icon and one illustration per board state, decoded with the `image` crate.

use std::collections::HashMap;

use crate::backend::{BoardState, BoardStateText};
use crate::error::UiError;

/// The window icon (256×256 PNG).
pub const ICON_PNG: &[u8] = include_bytes!("../assets/icon.png");

/// The PNG of a board state's illustration.
pub fn state_png(state: BoardState) -> &'static [u8] {
    match state {
        BoardState::NormalAtOk => include_bytes!("../assets/states/normal_at_ok.png"),
        BoardState::NormalAtSilent => include_bytes!("../assets/states/normal_at_silent.png"),
        BoardState::EdlWaiting => include_bytes!("../assets/states/edl_waiting.png"),
        BoardState::EdlProgrammerRunning => {
            include_bytes!("../assets/states/edl_programmer_running.png")
        }
        BoardState::MemoryDump => include_bytes!("../assets/states/memory_dump.png"),
        BoardState::ClaimedByDriver => include_bytes!("../assets/states/claimed_by_driver.png"),
        BoardState::NoPermission => include_bytes!("../assets/states/no_permission.png"),
        BoardState::NotOnUsb => include_bytes!("../assets/states/not_on_usb.png"),
        BoardState::Flapping => include_bytes!("../assets/states/flapping.png"),
        BoardState::NotFirehoseModule => {
            include_bytes!("../assets/states/not_firehose_module.png")
        }
    }
}

/// Decode a PNG to RGBA: (width, height, pixels).
pub fn decode(name: &'static str, png: &[u8]) -> Result<(u32, u32, Vec<u8>), UiError> {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .map_err(|e| UiError::Picture {
            name,
            reason: e.to_string(),
        })?
        .to_rgba8();
    Ok((img.width(), img.height(), img.into_raw()))
}

/// The window icon for `ViewportBuilder::with_icon`.
pub fn window_icon() -> Result<egui::IconData, UiError> {
    let (width, height, rgba) = decode("icon.png", ICON_PNG)?;
    Ok(egui::IconData {
        rgba,
        width,
        height,
    })
}

/// State pictures uploaded as textures on first use.
#[derive(Default)]
pub struct Pictures {
    textures: HashMap<BoardState, egui::TextureHandle>,
}

impl std::fmt::Debug for Pictures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pictures")
            .field("loaded", &self.textures.len())
            .finish()
    }
}

impl Pictures {
    /// The texture for a state (decoded and uploaded once).
    pub fn state(
        &mut self,
        ctx: &egui::Context,
        state: BoardState,
    ) -> Result<egui::TextureHandle, UiError> {
        if let Some(t) = self.textures.get(&state) {
            return Ok(t.clone());
        }
        let (w, h, rgba) = decode(state.slug(), state_png(state))?;
        let image = egui::ColorImage::from_rgba_unmultiplied([w as usize, h as usize], &rgba);
        let tex = ctx.load_texture(
            format!("state-{}", state.slug()),
            image,
            egui::TextureOptions::LINEAR,
        );
        self.textures.insert(state, tex.clone());
        Ok(tex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_picture_decodes() {
        let (w, h, px) = decode("icon.png", ICON_PNG).unwrap();
        assert_eq!((w, h), (256, 256));
        assert_eq!(px.len(), 256 * 256 * 4);
        for s in BoardState::ALL {
            let (w, h, _) = decode(s.slug(), state_png(s)).unwrap();
            assert!(w >= 200 && h >= 100, "{} is {w}x{h}", s.slug());
        }
        assert!(decode("garbage", b"not a png").is_err());
    }
}
