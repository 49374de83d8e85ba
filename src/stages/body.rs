//! Stages 9–10 → 1: the body of every response crmgate sends, and what it holds until sent.
//!
//! A filtered response is a buffer in memory. Its budget (a permit of the pipeline's
//! buffering bound, `limits.max_buffered_responses`) must last as long as that buffer, which
//! is until the client has taken the body, not until the handler returns: a slow reader (or
//! many HTTP/2 streams whose window is never opened) would otherwise pin any number of
//! released bodies. So the permit travels inside the body and is let go when the last chunk
//! is handed to the connection, or when the body is dropped (connection cut). The body is
//! handed out in chunks so that HTTP/1 write buffers and HTTP/2 flow control hold it back
//! in crmgate's own accounting, where the listen stage's send timeout can see it.
//!
//! This type must never be built from anything but a complete, already filtered buffer:
//! it does no filtering and never reads from the upstream.

use std::any::Any;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;

/// Largest frame handed to the connection at once.
const CHUNK: usize = 64 * 1024;

/// A complete response body, sent in chunks, holding its memory budget and any guards the
/// listen stage attaches (in-flight and send-deadline bookkeeping) until it is done.
#[derive(Default)]
pub struct ResponseBody {
    data: Bytes,
    permit: Option<OwnedSemaphorePermit>,
    guards: Vec<Box<dyn Any + Send>>,
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("remaining", &self.data.len())
            .field("holds_budget", &self.permit.is_some())
            .finish_non_exhaustive()
    }
}

impl ResponseBody {
    pub fn new(data: impl Into<Bytes>) -> ResponseBody {
        ResponseBody {
            data: data.into(),
            permit: None,
            guards: Vec::new(),
        }
    }

    /// A body that holds `permit` until it has been handed out entirely (or dropped).
    pub fn with_budget(data: Bytes, permit: Option<OwnedSemaphorePermit>) -> ResponseBody {
        ResponseBody {
            data,
            permit,
            guards: Vec::new(),
        }
    }

    /// Keep `guard` alive until the body is dropped (the connection is done with it).
    pub fn hold(&mut self, guard: Box<dyn Any + Send>) {
        self.guards.push(guard);
    }

    /// Whether this body still holds a buffering permit.
    pub fn holds_budget(&self) -> bool {
        self.permit.is_some()
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.data.is_empty() {
            this.permit = None;
            return Poll::Ready(None);
        }
        let chunk = this.data.split_to(this.data.len().min(CHUNK));
        if this.data.is_empty() {
            // The last chunk is the connection's now (bounded by its own write buffer).
            this.permit = None;
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.len() as u64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    #[tokio::test]
    async fn the_budget_is_held_until_the_last_chunk_is_taken() {
        let sem = Arc::new(Semaphore::new(1));
        let permit = sem.clone().try_acquire_owned().unwrap();
        let mut body =
            ResponseBody::with_budget(Bytes::from(vec![7u8; CHUNK * 2 + 1]), Some(permit));
        let mut got = 0;
        let mut frames = 0;
        while let Some(f) = body.frame().await {
            frames += 1;
            // Until the last chunk has been handed out, the permit is still taken.
            if !body.is_end_stream() {
                assert_eq!(sem.available_permits(), 0);
            }
            got += f.unwrap().into_data().unwrap().len();
        }
        assert_eq!((got, frames), (CHUNK * 2 + 1, 3));
        assert_eq!(sem.available_permits(), 1);
    }

    #[tokio::test]
    async fn a_dropped_body_gives_its_budget_back() {
        let sem = Arc::new(Semaphore::new(1));
        let permit = sem.clone().try_acquire_owned().unwrap();
        let body = ResponseBody::with_budget(Bytes::from_static(b"{}"), Some(permit));
        assert!(body.holds_budget());
        assert_eq!(sem.available_permits(), 0);
        drop(body);
        assert_eq!(sem.available_permits(), 1);
    }
}
