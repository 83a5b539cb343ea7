//! The app's own error type: what can go wrong in the window itself (files it writes, pictures
//! it loads). Board, package and engine failures arrive as `BackendError` / `ErrorReport`.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

use oasis_engine::Help;

/// A failure of the desktop app itself.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UiError {
    /// A file the user asked for (report, log copy) could not be written.
    WriteFile {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// A picture built into the app could not be decoded.
    Picture {
        /// Its name in assets/.
        name: &'static str,
        /// What the decoder said.
        reason: String,
    },
}

/// Every app error has advice: [`Help::help`] is never `None` here.
impl Help for UiError {
    /// What the user can do about it.
    fn help(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(match self {
            UiError::WriteFile { .. } => {
                "Pick another folder in Settings (one you can write to) and try again."
            }
            UiError::Picture { .. } => "This is a bug in the Oasis build; please report it.",
        }))
    }
}

impl fmt::Display for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UiError::WriteFile { path, reason } => {
                write!(f, "could not write {}: {reason}", path.display())
            }
            UiError::Picture { name, reason } => {
                write!(f, "built-in picture {name} is unreadable: {reason}")
            }
        }
    }
}

impl std::error::Error for UiError {}
