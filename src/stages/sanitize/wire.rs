//! What hyper's HTTP/1 parser hides: the request heads as they came over the wire.
//!
//! hyper folds two `Content-Length` lines with the same value into one header before the
//! request reaches crmgate, so the sanitize stage cannot see the duplicate. [`watch`] wraps
//! a connection's byte stream and reads every HTTP/1 request head with the parser hyper
//! itself uses (`httparse`), following the message framing (Content-Length and chunked
//! bodies) from one head to the next. The service asks, per request it receives,
//! [`Wire::next_request`]; the answer travels with the request as a [`RawFraming`]
//! extension, and [`super::check`] refuses the request when the raw head had a problem.
//!
//! HTTP/1 requests on a connection reach the service in order, each only after its head
//! passed through here, so request *n* is matched with head *n*. An HTTP/2 connection (its
//! preface) is left alone: HTTP/2 has no such folding, its header map shows duplicates.
//! When the framing cannot be followed, every later request on the connection is refused
//! (fail closed); hyper closes the connection after a framing refusal anyway.
//!
//! It must never change the bytes it watches; when it loses track of the framing, every later request on the connection is refused.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The HTTP/2 connection preface (RFC 9113 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// More header lines than the listener accepts (hyper refuses those itself): a head this
/// parser cannot hold is never one hyper serves.
const MAX_HEADERS: usize = 128;
/// Larger than the listener's read buffer (64 KiB), for the same reason.
const MAX_HEAD_BYTES: usize = 80 * 1024;
/// A chunk-size line or the end of a chunk: hyper allows far less.
const MAX_CHUNK_LINE: usize = 4096;
const MAX_TRAILER_BYTES: usize = 64 * 1024;
const NONE: usize = usize::MAX;

/// The raw-head verdict for one request, as a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFraming(pub Option<&'static str>);

/// What the byte stream of one connection showed, shared with its service.
#[derive(Debug)]
pub struct Wire {
    /// Request heads read so far.
    heads: AtomicUsize,
    /// Index of the first head with a problem ([`NONE`]: none so far).
    first_bad: AtomicUsize,
    reason: OnceLock<&'static str>,
    /// Requests handed to the service so far.
    served: AtomicUsize,
}

impl Wire {
    fn new() -> Wire {
        Wire {
            heads: AtomicUsize::new(0),
            first_bad: AtomicUsize::new(NONE),
            reason: OnceLock::new(),
            served: AtomicUsize::new(0),
        }
    }

    /// The verdict for the next request the service receives on this connection.
    pub fn next_request(&self) -> RawFraming {
        let index = self.served.fetch_add(1, Ordering::SeqCst);
        if self.first_bad.load(Ordering::SeqCst) <= index {
            // fail closed: a problem without its text is a problem all the same.
            RawFraming(Some(
                self.reason
                    .get()
                    .copied()
                    .unwrap_or("the request framing could not be read"),
            ))
        } else {
            RawFraming(None)
        }
    }

    /// Head `index` (and every later one) is refused, for `reason`.
    fn refuse_from(&self, index: usize, reason: &'static str) {
        let _ = self.reason.set(reason);
        self.first_bad.fetch_min(index, Ordering::SeqCst);
    }
}

/// Wrap a connection's stream; the [`Wire`] answers for its requests.
pub fn watch<S>(inner: S) -> (Watched<S>, Arc<Wire>) {
    let wire = Arc::new(Wire::new());
    (
        Watched {
            inner,
            parser: Parser::new(wire.clone()),
        },
        wire,
    )
}

/// A stream whose incoming bytes are read by a [`Parser`] on their way to hyper.
#[derive(Debug)]
pub struct Watched<S> {
    inner: S,
    parser: Parser,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.parser
                .feed(buf.filled().get(before..).unwrap_or_default());
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a request head.
    Head,
    /// Content-Length body bytes left.
    Body(u64),
    /// In a chunk-size line: the size so far, hex digits read, bytes of the line read.
    ChunkSize {
        size: u64,
        digits: usize,
        len: usize,
    },
    ChunkData(u64),
    /// The line end after a chunk's data: bytes read.
    ChunkEnd(usize),
    /// Trailer lines after the last chunk: bytes of the current line, of all lines.
    Trailers {
        line: usize,
        total: usize,
    },
    /// Nothing more to check: HTTP/2, or the connection is refused from here on.
    Off,
}

enum Step {
    Consumed(usize),
    /// The head is complete; these bytes followed it.
    Rest(Vec<u8>),
    Stop,
}

/// Follows HTTP/1 message framing through a byte stream.
#[derive(Debug)]
struct Parser {
    wire: Arc<Wire>,
    state: State,
    head: Vec<u8>,
}

impl Parser {
    fn new(wire: Arc<Wire>) -> Parser {
        Parser {
            wire,
            state: State::Head,
            head: Vec::new(),
        }
    }

    fn feed(&mut self, input: &[u8]) {
        let mut owned: Option<Vec<u8>> = None;
        let mut pos = 0usize;
        loop {
            let data = match &owned {
                Some(v) => v.get(pos..).unwrap_or_default(),
                None => input.get(pos..).unwrap_or_default(),
            };
            if data.is_empty() {
                return;
            }
            match self.step(data) {
                Step::Consumed(n) => pos += n.max(1),
                Step::Rest(rest) => {
                    owned = Some(rest);
                    pos = 0;
                }
                Step::Stop => return,
            }
        }
    }

    /// The framing cannot be followed: every later request on the connection is refused.
    fn lost(&mut self) -> Step {
        let next = self.wire.heads.load(Ordering::SeqCst);
        self.wire
            .refuse_from(next, "the request framing could not be followed");
        self.off()
    }

    fn off(&mut self) -> Step {
        self.state = State::Off;
        self.head = Vec::new();
        Step::Stop
    }

    fn step(&mut self, data: &[u8]) -> Step {
        match self.state {
            State::Off => Step::Stop,
            State::Head => {
                self.head.extend_from_slice(data);
                self.read_head(data.len())
            }
            State::Body(left) => {
                let n = left.min(data.len() as u64);
                self.state = match left - n {
                    0 => State::Head,
                    rest => State::Body(rest),
                };
                Step::Consumed(usize::try_from(n).unwrap_or(data.len()))
            }
            State::ChunkData(left) => {
                let n = left.min(data.len() as u64);
                self.state = match left - n {
                    0 => State::ChunkEnd(0),
                    rest => State::ChunkData(rest),
                };
                Step::Consumed(usize::try_from(n).unwrap_or(data.len()))
            }
            State::ChunkSize { size, digits, len } => {
                let Some(&b) = data.first() else {
                    return Step::Stop;
                };
                if len >= MAX_CHUNK_LINE {
                    return self.lost();
                }
                let len = len + 1;
                let past_digits = digits == usize::MAX;
                self.state = match (b, char::from(b).to_digit(16)) {
                    (b'\n', _) if digits == 0 => return self.lost(),
                    (b'\n', _) if size == 0 => State::Trailers { line: 0, total: 0 },
                    (b'\n', _) => State::ChunkData(size),
                    (_, Some(d)) if !past_digits => {
                        let Some(size) = size.checked_mul(16).and_then(|s| s.checked_add(d.into()))
                        else {
                            return self.lost();
                        };
                        State::ChunkSize {
                            size,
                            digits: digits + 1,
                            len,
                        }
                    }
                    // After the digits: whitespace, extensions, CR. Once past the digits
                    // no more digits count (`digits` = MAX marks that).
                    _ if digits == 0 => return self.lost(),
                    _ => State::ChunkSize {
                        size,
                        digits: usize::MAX,
                        len,
                    },
                };
                Step::Consumed(1)
            }
            State::ChunkEnd(read) => {
                let Some(&b) = data.first() else {
                    return Step::Stop;
                };
                self.state = match b {
                    b'\n' => State::ChunkSize {
                        size: 0,
                        digits: 0,
                        len: 0,
                    },
                    b'\r' if read == 0 => State::ChunkEnd(1),
                    _ => return self.lost(),
                };
                Step::Consumed(1)
            }
            State::Trailers { line, total } => {
                let Some(&b) = data.first() else {
                    return Step::Stop;
                };
                if total >= MAX_TRAILER_BYTES {
                    return self.lost();
                }
                self.state = match b {
                    b'\n' if line == 0 => State::Head,
                    b'\n' => State::Trailers {
                        line: 0,
                        total: total + 1,
                    },
                    b'\r' => State::Trailers {
                        line,
                        total: total + 1,
                    },
                    _ => State::Trailers {
                        line: line + 1,
                        total: total + 1,
                    },
                };
                Step::Consumed(1)
            }
        }
    }

    /// `appended` bytes were just added to the head buffer.
    fn read_head(&mut self, appended: usize) -> Step {
        if self.wire.heads.load(Ordering::SeqCst) == 0 {
            if self.head.starts_with(H2_PREFACE) {
                // HTTP/2: its header map shows every field as sent.
                self.off();
                return Step::Stop;
            }
            if H2_PREFACE.starts_with(&self.head) {
                return Step::Consumed(appended);
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let len = match req.parse(&self.head) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if self.head.len() <= MAX_HEAD_BYTES => {
                return Step::Consumed(appended)
            }
            // hyper refuses these heads itself (and closes the connection).
            Ok(httparse::Status::Partial) | Err(_) => return self.lost(),
        };
        let index = self.wire.heads.fetch_add(1, Ordering::SeqCst);
        let mut lengths = Vec::new();
        let mut chunked = None;
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                lengths.push(h.value);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // As hyper reads it: the last coding of the last field decides.
                chunked = Some(
                    h.value
                        .rsplit(|&b| b == b',')
                        .next()
                        .map(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"))
                        .unwrap_or(false),
                );
            }
        }
        if lengths.len() > 1 {
            self.wire
                .refuse_from(index, "more than one Content-Length header");
            return self.off();
        }
        let next = match (chunked, lengths.first()) {
            (Some(true), _) => State::ChunkSize {
                size: 0,
                digits: 0,
                len: 0,
            },
            // hyper refuses a Transfer-Encoding that does not end in chunked.
            (Some(false), _) => return self.lost(),
            (None, Some(value)) => match digits(value) {
                Some(0) => State::Head,
                Some(n) => State::Body(n),
                None => return self.lost(),
            },
            (None, None) => State::Head,
        };
        let rest = self.head.split_off(len);
        self.head.clear();
        self.state = next;
        Step::Rest(rest)
    }
}

/// A Content-Length value as hyper reads it: decimal digits only.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Feed `bytes` in pieces of `step` bytes; the verdicts of `requests` requests.
    fn verdicts(bytes: &[u8], step: usize, requests: usize) -> Vec<Option<&'static str>> {
        let wire = Arc::new(Wire::new());
        let mut p = Parser::new(wire.clone());
        for chunk in bytes.chunks(step) {
            p.feed(chunk);
        }
        (0..requests).map(|_| wire.next_request().0).collect()
    }

    const GET: &str = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    #[test]
    fn framing_is_followed_across_bodies_in_any_split() {
        let chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
                       4;ext=1\r\nWiki\r\n5\r\npedia\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";
        // A body that looks like a head, then an empty line (skipped, as hyper does).
        let sized = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 30\r\n\r\n\
                     Content-Length: 1\r\n\r\nxxxxxxxxx";
        let dup = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}";
        let all = format!("{GET}{chunked}{sized}\r\n{GET}{dup}{GET}");
        for step in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(
                verdicts(all.as_bytes(), step, 6),
                vec![
                    None,
                    None,
                    None,
                    None,
                    Some("more than one Content-Length header"),
                    Some("more than one Content-Length header"),
                ],
                "split every {step} bytes"
            );
        }
    }

    #[test]
    fn http2_is_left_alone_and_lost_framing_refuses_what_follows() {
        let h2 = [H2_PREFACE, b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"].concat();
        assert_eq!(verdicts(&h2, 5, 2), vec![None, None]);
        let bad_chunk =
            format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{GET}");
        assert_eq!(
            verdicts(bad_chunk.as_bytes(), 9, 2),
            vec![None, Some("the request framing could not be followed")]
        );
    }
}
