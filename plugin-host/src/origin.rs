//! Where a stage's processor comes from. Below both the libraries that
//! load plugins and the errors that name them, so neither imports the other.

/// How a library is hosted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    /// Linked into the program and handed to the host (the standard
    /// processors and the Java grammar).
    Builtin,
    /// A native `cdylib`: trusted, full speed, no deadline.
    Native,
    /// A WASM module: sandboxed, with a deadline and a memory limit.
    Wasm,
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginKind::Builtin => "builtin",
            PluginKind::Native => "native",
            PluginKind::Wasm => "wasm",
        })
    }
}

/// Where a stage's processor comes from: its kind and, unless built in, its
/// file. Errors carry it whole, so a caller that needs the file alone (the
/// Python `PluginError.source`) does not parse it back out of the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginOrigin {
    pub kind: PluginKind,
    /// `None` for built-ins.
    pub path: Option<std::path::PathBuf>,
}

impl std::fmt::Display for PluginOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{} plugin {}", self.kind, p.display()),
            None => f.write_str("builtin"),
        }
    }
}
