//! Why a query was refused: the construct, where it starts, and a message in the house's
//! style. A message must never quote a string literal of the query (it may hold a
//! customer's value); it names keywords, functions and fields only.

use std::fmt;

/// A query the governed subset does not hold, or that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    /// The construct refused (`GROUP BY`, `subquery`, `bind variable`) or `syntax`.
    pub construct: &'static str,
    /// Where it starts: 1-based character position in the query text.
    pub position: usize,
    /// Lowercase, no final period, names in backticks.
    pub message: String,
}

impl SoqlError {
    pub(super) fn new(construct: &'static str, position: usize, message: String) -> SoqlError {
        SoqlError {
            construct,
            position,
            message,
        }
    }

    /// A construct outside the governed subset.
    pub(super) fn unsupported(construct: &'static str, position: usize) -> SoqlError {
        SoqlError::new(
            construct,
            position,
            format!("`{construct}` is not supported by crmgate's query subset"),
        )
    }

    /// Text that is not well-formed where it stands.
    pub(super) fn syntax(position: usize, message: String) -> SoqlError {
        SoqlError::new("syntax", position, message)
    }
}

impl fmt::Display for SoqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.position)
    }
}

impl std::error::Error for SoqlError {}
