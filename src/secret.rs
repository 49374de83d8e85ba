//! A leaf of shared vocabulary: [`Secret`], a value (credential, key, connection URL) that
//! is held but never shown.
//!
//! It must never import anything of the crate, and a secret's value must never reach a
//! log, a message or a `Debug` print: only [`Secret::expose`] reads it.

use std::fmt;
use std::path::Path;

/// A secret value: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A secret kept in a file (a mounted secret), without surrounding whitespace.
    pub fn read_file(path: &Path) -> Result<Secret, String> {
        std::fs::read_to_string(path)
            .map(|s| Secret::new(s.trim().to_string()))
            .map_err(|e| format!("cannot read secret file `{}`: {e}", path.display()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
    }
}
