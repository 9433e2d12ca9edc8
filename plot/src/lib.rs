//! # logitloom's figures
//!
//! Small and free of the model stack (no libtorch), so every crate that
//! draws — the CLI's `plot-entropy`, the benchmark report, the trainer's
//! loss curves — can share one look without pulling in the others.
//!
//! * [`style`]: the embedded font, the palette and [`style::save`], which
//!   writes any [`style::Figure`] as PNG or SVG by file extension.
//! * [`trace`]: reads the entropy records of a `generate --trace` file.
//! * [`spikes`]: flags entropy spikes against a running level.
//! * [`entropy`]: the entropy-against-position figure.
//!
//! ## Design choices
//!
//! * **No system fonts.** plotters' default text backend needs fontconfig
//!   and installed fonts, which CI images lack; DejaVu Sans (Bitstream Vera
//!   licence, `assets/DejaVu-LICENSE.txt`) is compiled in and drawn with
//!   ab_glyph.
//! * **Figures are values.** A figure is a struct implementing
//!   [`style::Figure`]; drawing is generic over the plotters backend, so the
//!   PNG and the SVG come from the same code.

pub mod entropy;
pub mod spikes;
pub mod style;
pub mod trace;

/// Everything that can go wrong reading a trace or writing a figure.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    // The I/O error is part of the message, not a `source`, so chained
    // printers (anyhow's `{:#}`) do not print it twice.
    #[error("cannot read {path}: {error}")]
    Read { path: std::path::PathBuf, error: std::io::Error },
    #[error("{path}:{line}: not a JSON trace record: {message}")]
    BadRecord { path: std::path::PathBuf, line: usize, message: String },
    #[error("{path}: no entropy records (add an `entropy_logger` stage to the chain and pass --trace)")]
    NoEntropy { path: std::path::PathBuf },
    #[error("{path}: output must end in .png or .svg")]
    UnknownFormat { path: std::path::PathBuf },
    #[error("cannot draw {path}: {message}")]
    Draw { path: std::path::PathBuf, message: String },
}
