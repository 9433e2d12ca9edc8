//! The shared look: font, palette, sizes, and output by file extension.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::PlotError;

/// The family name every figure uses; [`register_font`] binds it to the
/// embedded font.
pub const FONT: &str = "sans-serif";

const FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Makes [`FONT`] draw with the embedded font (bold text too: one file
/// keeps the binary small). Idempotent; [`save`] calls it, so only code
/// drawing on its own backend needs it.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // Only fails on a corrupt font file, and this one is compiled in.
            plotters::style::register_font(FONT, style, FONT_BYTES)
                .unwrap_or_else(|_| panic!("embedded font is invalid"));
        }
    });
}

/// Colour-blind-safe Okabe-Ito colours, then plotters' palette beyond eight
/// (yellow, hard to see on white, is moved last).
pub fn colour(i: usize) -> RGBColor {
    const OKABE_ITO: [RGBColor; 7] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(230, 159, 0),
        RGBColor(0, 0, 0),
    ];
    OKABE_ITO.get(i).copied().unwrap_or_else(|| {
        let (r, g, b) = Palette99::pick(i - OKABE_ITO.len()).rgb();
        RGBColor(r, g, b)
    })
}

/// Grid lines: visible but quieter than the data.
pub const GRID_BOLD: RGBColor = RGBColor(200, 200, 200);
pub const GRID_LIGHT: RGBColor = RGBColor(236, 236, 236);

/// A figure drawable on any plotters backend.
pub trait Figure {
    /// Pixel size of the canvas.
    fn size(&self) -> (u32, u32) {
        (1280, 640)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Writes `figure` to `path`, as PNG or SVG by the extension.
pub fn save(figure: &impl Figure, path: &Path) -> Result<(), PlotError> {
    register_font();
    let fail = |message: String| PlotError::Draw { path: path.to_path_buf(), message };
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => {
            let root = BitMapBackend::new(path, figure.size()).into_drawing_area();
            figure.draw(&root).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        Some("svg") => {
            let root = SVGBackend::new(path, figure.size()).into_drawing_area();
            figure.draw(&root).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        _ => Err(PlotError::UnknownFormat { path: path.to_path_buf() }),
    }
}
