//! The vendor credential crmgate injects: a static bearer token read at start-up. It must
//! never show the token in a log or an error (it is a [`Secret`]).

use http::header::HeaderValue;

use crate::error::RequestError;
use crate::secret::Secret;
use crate::stages::vendor::{CredentialSource, HeaderFuture};

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
