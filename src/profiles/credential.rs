//! The vendor credential crmgate injects: a static bearer token read at start-up, or an
//! OAuth 2.0 token ([`super::oauth`]). It must never show the token in a log or an error
//! (it is a [`Secret`]).

use std::sync::Arc;

use http::header::HeaderValue;

use super::oauth::{ExpiredAnswer, OAuthSource};
use crate::error::RequestError;
use crate::secret::Secret;
use crate::stages::vendor::{CredentialInputs, CredentialSource, HeaderFuture};

/// The credential `[upstream]` configures: an OAuth 2.0 grant if there is one (`expired`
/// reads the vendor's 401 that refuses an expired token), else the static token, if any.
pub fn configured(inputs: CredentialInputs, expired: ExpiredAnswer) -> Arc<dyn CredentialSource> {
    match inputs.oauth {
        Some(oauth) => Arc::new(OAuthSource::new(
            oauth,
            inputs.post,
            inputs.metrics,
            expired,
        )),
        None => Arc::new(StaticBearer(inputs.secret)),
    }
}

/// A static bearer token (`Authorization: Bearer …`), or no credential at all.
#[derive(Debug)]
pub struct StaticBearer(pub Option<Secret>);

impl CredentialSource for StaticBearer {
    fn header(&self) -> HeaderFuture<'_> {
        let header = self
            .0
            .as_ref()
            .map(|token| {
                let mut v =
                    HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                        RequestError::Internal(
                            "the upstream credential is not a valid header value".into(),
                        )
                    })?;
                v.set_sensitive(true);
                Ok(v)
            })
            .transpose();
        Box::pin(std::future::ready(header))
    }
}
