//! What one client can hold open, bounded in the server itself (not only behind nginx:
//! `pos dev` and LAN installs face clients directly).
//!
//! - [`ConnectionLimits`]: at most N open connections per client IP address. actix-web has
//!   no hook to refuse a connection at accept, so [`ConnectionLimits::on_connect`] counts it
//!   and [`guard`] answers its first request with 429 and `Connection: close` when it is
//!   over the limit; a connection that never sends a head is closed by actix's
//!   `client_request_timeout`.
//! - A deadline on the request body: actix-web bounds only the head. [`guard`] wraps the
//!   body so that a read still unfinished `body_timeout` after the head arrived fails; the
//!   request is answered 408 and the connection closed. A body the handler never read
//!   (and so could stall forever) closes the connection after the response as well.
//!
//! Without these, connections whose bodies stall pile up until the process runs out of file
//! descriptors and stops answering anyone, `/api/health` included.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage};
use futures_util::Stream;

use crate::error::ProblemDetails;

/// How long a request body may take to arrive, by default.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Open connections one client address may hold, by default: far more than a terminal
/// or a benchmark machine (200 streams and 32 clients) opens, and half a 1,024-descriptor
/// limit, so one address alone cannot exhaust it.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 512;

/// The limits [`guard`] enforces; one value shared by every worker.
#[derive(Debug, Clone)]
pub struct Limits {
    pub body_timeout: Duration,
    pub connections: ConnectionLimits,
}

/// Open connections per client address, across every worker.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// `None`: unlimited (behind a proxy, every connection comes from its address).
    max_per_ip: Option<usize>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ConnectionLimits {
    pub fn new(max_per_ip: Option<usize>) -> ConnectionLimits {
        ConnectionLimits {
            max_per_ip,
            open: Arc::default(),
        }
    }

    /// For `HttpServer::on_connect`: counts the connection against its peer's address
    /// until it closes (the slot lives in the connection's data, dropped with it).
    pub fn on_connect(&self, connection: &dyn Any, data: &mut Extensions) {
        let Some(max) = self.max_per_ip else { return };
        let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let Ok(peer) = stream.peer_addr() else { return };
        let ip = peer.ip();
        let open = {
            let mut counts = lock(&self.open);
            let count = counts.entry(ip).or_insert(0);
            *count += 1;
            *count
        };
        data.insert(ConnectionSlot {
            ip,
            over_limit: open > max,
            open: Arc::clone(&self.open),
        });
    }

    /// Connections counted for `ip` right now.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        lock(&self.open).get(&ip).copied().unwrap_or(0)
    }
}

fn lock(open: &Mutex<HashMap<IpAddr, usize>>) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
    // A panic while holding the lock left plain counts behind, still usable.
    open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One counted connection; uncounted when the connection (and so this) is dropped.
struct ConnectionSlot {
    ip: IpAddr,
    over_limit: bool,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = lock(&self.open);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// The middleware: refuses requests on connections over their address's limit, and puts
/// the body deadline on the rest. Wrap it outermost, with the [`Limits`] in a closure.
pub async fn guard(
    limits: Limits,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if req
        .conn_data::<ConnectionSlot>()
        .is_some_and(|slot| slot.over_limit)
    {
        tracing::warn!(
            peer = ?req.peer_addr().map(|a| a.ip()),
            "too many connections from one address; refused"
        );
        let response = ProblemDetails::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            "too many open connections from this address",
            None,
        )
        .into_response(StatusCode::TOO_MANY_REQUESTS);
        let unread = Rc::new(RefCell::new(req.take_payload()));
        let (request, _) = req.into_parts();
        return Ok(closing(request, response, unread).map_into_right_body());
    }
    if !has_body(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }

    let progress = Arc::new(BodyProgress::default());
    let body = Rc::new(RefCell::new(req.take_payload()));
    req.set_payload(Payload::Stream {
        payload: Box::pin(Deadline {
            inner: Rc::clone(&body),
            timer: Box::pin(tokio::time::sleep(limits.body_timeout)),
            progress: Arc::clone(&progress),
            done: false,
        }),
    });
    let (request, response) = next.call(req).await?.into_parts();
    let timed_out = progress.timed_out.load(Ordering::Relaxed);
    if progress.finished.load(Ordering::Relaxed) && !timed_out {
        return Ok(ServiceResponse::new(request, response).map_into_left_body());
    }
    let response = if timed_out {
        tracing::info!(
            timeout_secs = limits.body_timeout.as_secs(),
            "request body not received in time; closing the connection"
        );
        let detail = format!(
            "the request body did not arrive within {} seconds",
            limits.body_timeout.as_secs()
        );
        ProblemDetails::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", detail, None)
            .into_response(StatusCode::REQUEST_TIMEOUT)
    } else {
        response.map_into_boxed_body()
    };
    Ok(closing(request, response, body).map_into_right_body())
}

/// `response`, after which the connection is closed. The rest of the request body may
/// never come: while it is still referenced, actix closes the connection once the answer is
/// written; dropped, a chunked one would be drained first, for as long as the client cares
/// to stall. So the answer's body holds it until it is written.
fn closing(
    request: actix_web::HttpRequest,
    response: actix_web::HttpResponse,
    unread: Rc<RefCell<Payload>>,
) -> ServiceResponse {
    let mut response = ServiceResponse::new(request, response).map_body(|_, answer| {
        BoxBody::new(HoldingUnreadBody {
            answer,
            _unread: unread,
        })
    });
    close_after(&mut response);
    response
}

/// An answer's body that keeps the unfinished request body referenced until it is written.
struct HoldingUnreadBody {
    answer: BoxBody,
    _unread: Rc<RefCell<Payload>>,
}

impl MessageBody for HoldingUnreadBody {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.answer.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().answer).poll_next(cx)
    }
}

/// `Connection: close`: actix closes the connection once this response is written.
fn close_after<B>(response: &mut ServiceResponse<B>) {
    response
        .response_mut()
        .head_mut()
        .set_connection_type(ConnectionType::Close);
}

/// A body is announced by a non-zero `Content-Length` or by chunked transfer encoding.
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    let chunked = headers
        .get(header::TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    chunked || length > 0
}

#[derive(Debug, Default)]
struct BodyProgress {
    finished: AtomicBool,
    timed_out: AtomicBool,
}

/// The request body, failing once the deadline has passed.
struct Deadline {
    inner: Rc<RefCell<Payload>>,
    timer: Pin<Box<tokio::time::Sleep>>,
    progress: Arc<BodyProgress>,
    done: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut *self.inner.borrow_mut()).poll_next(cx);
        match polled {
            Poll::Ready(None) => {
                self.done = true;
                self.progress.finished.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    self.progress.timed_out.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "request body timed out",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn slots_count_per_address_and_free_on_drop() {
        let limits = ConnectionLimits::new(Some(1));
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let slot = |over_limit| ConnectionSlot {
            ip,
            over_limit,
            open: Arc::clone(&limits.open),
        };
        lock(&limits.open).insert(ip, 2);
        let (first, second) = (slot(false), slot(true));
        assert_eq!(limits.open_from(ip), 2);
        drop(first);
        assert_eq!(limits.open_from(ip), 1);
        drop(second);
        assert_eq!(limits.open_from(ip), 0);
        assert!(lock(&limits.open).is_empty(), "no entry left for a gone address");
    }
}
