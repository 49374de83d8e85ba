//! What a permit obliges besides allowing: the mask kinds a `@mask("…")` policy annotation
//! can ask for, ordered so that the most restrictive of several wins.
//!
//! Only the names and their order live here (the policy loader reads them, the filter
//! applies them); this module must never mask a value itself, and never order a kind as less
//! restrictive than one it reveals more than.

use std::fmt;
use std::str::FromStr;

/// Mask kinds, ordered from least to most restrictive: when several satisfied permits carry
/// masks, the greatest one applies (XACML-style obligations, most restrictive wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MaskKind {
    /// Dates: only day and month (`--12-24`), for birthday greetings.
    MonthDay,
    /// Dates: only the year (`1985`).
    Year,
    /// A hint of the value: `s***@northpole.example`, `***1234`, `E***`.
    Partial,
    /// A keyed pseudonym (HMAC-SHA256, one key per purpose): stable, joinable within a
    /// purpose, not across purposes, not reversible without the key.
    Hash,
    /// A fixed placeholder.
    Redact,
    /// JSON `null`.
    Null,
}

impl MaskKind {
    pub const ALL: [MaskKind; 6] = [
        MaskKind::MonthDay,
        MaskKind::Year,
        MaskKind::Partial,
        MaskKind::Hash,
        MaskKind::Redact,
        MaskKind::Null,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MaskKind::MonthDay => "month_day",
            MaskKind::Year => "year",
            MaskKind::Partial => "partial",
            MaskKind::Hash => "hash",
            MaskKind::Redact => "redact",
            MaskKind::Null => "null",
        }
    }
}

impl fmt::Display for MaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MaskKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MaskKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = MaskKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown mask `{s}`; known masks: {}", known.join(", "))
            })
    }
}
