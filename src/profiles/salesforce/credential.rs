//! Salesforce's credential: a static session token, or an OAuth 2.0 token (client
//! credentials or JWT bearer flow, [`crate::profiles::oauth`]) that is renewed when
//! Salesforce answers 401 `INVALID_SESSION_ID` (a session that timed out or was revoked).
//! It must never read more of a 401 than its error codes, nor show the token anywhere.

use std::sync::Arc;

use serde::Deserialize;

use crate::profiles::credential;
use crate::stages::vendor::{CredentialInputs, CredentialSource};

/// The credential `[upstream]` configures, renewed on an expired session.
pub(super) fn configured(inputs: CredentialInputs) -> Arc<dyn CredentialSource> {
    credential::configured(inputs, session_expired)
}

/// One entry of Salesforce's error array; only its code is read.
#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
}

/// Whether a 401's body says the session is no longer valid.
pub(super) fn session_expired(body: &[u8]) -> bool {
    serde_json::from_slice::<Vec<ErrorEntry>>(body)
        .map(|entries| {
            entries
                .iter()
                .any(|e| e.error_code.as_deref() == Some("INVALID_SESSION_ID"))
        })
        .unwrap_or(false)
}
