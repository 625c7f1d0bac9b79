//! The local server's connection handling (in Lambda, the Function URL
//! owns connections): a cap on open connections, in all and per peer
//! address, a deadline for each request's headers (which also closes a
//! keep-alive connection idle that long), and a deadline for a stalled
//! write (a client that stops reading its answer). A connection over a cap
//! is closed at once, so slow or idle clients from one address hold at most
//! their share and are dropped at the deadline, while everyone else is
//! served (tested by `slow_clients_never_starve_the_others`).

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Connection limits of the local server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one peer address.
    pub max_connections_per_peer: usize,
    /// Time for a request's headers to arrive, counted from the moment the
    /// connection waits for them (so also the keep-alive idle timeout).
    pub header_timeout: Duration,
    /// Longest a write may stall (the client not reading) before the
    /// connection is dropped.
    pub write_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 1024,
            max_connections_per_peer: 64,
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Open connections, in all and per peer.
#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
}

#[derive(Debug, Default)]
struct Counts(Mutex<Open>);

impl Counts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for one more connection from `peer`, if the caps allow it.
    fn admit(self: &Arc<Self>, peer: IpAddr, limits: &ConnectionLimits) -> Option<Place> {
        let mut open = self.lock();
        let from_peer = open.per_peer.get(&peer).copied().unwrap_or(0);
        if open.total >= limits.max_connections || from_peer >= limits.max_connections_per_peer {
            return None;
        }
        open.total += 1;
        open.per_peer.insert(peer, from_peer + 1);
        Some(Place {
            counts: self.clone(),
            peer,
        })
    }
}

/// One open connection; dropping it gives the place back.
struct Place {
    counts: Arc<Counts>,
    peer: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self.counts.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.per_peer.remove(&self.peer);
            }
        }
    }
}

/// A stream whose writes fail once they have made no progress for the
/// write timeout.
struct StallGuard<S> {
    inner: S,
    timeout: Duration,
    stalled_since: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for StallGuard<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> StallGuard<S> {
    fn watch<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled_since = None;
            return polled;
        }
        let timeout = self.timeout;
        let deadline = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallGuard<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, polled)
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes;
/// then stops accepting and gives open connections up to 10 s to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let counts = Arc::new(Counts::default());
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused: u64 = 0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait, never spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(place) = counts.admit(peer.ip(), &limits) else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    peer = %peer.ip(),
                    refused,
                    max_connections = limits.max_connections,
                    max_connections_per_peer = limits.max_connections_per_peer,
                    "connection refused: over the connection cap"
                );
            }
            drop(stream);
            continue;
        };
        tokio::spawn(serve_connection(stream, peer, app.clone(), limits, place));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while counts.lock().total > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, app: Router, limits: ConnectionLimits, place: Place) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(StallGuard {
        inner: stream,
        timeout: limits.write_timeout,
        stalled_since: None,
    });
    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024)
        .serve_connection(io, service);
    if let Err(e) = connection.await {
        tracing::debug!(peer = %peer, error = %e, "connection closed");
    }
    drop(place);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_in_all_and_per_peer_and_places_come_back() {
        let counts = Arc::new(Counts::default());
        let limits = ConnectionLimits {
            max_connections: 3,
            max_connections_per_peer: 2,
            ..ConnectionLimits::default()
        };
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let a1 = counts.admit(a, &limits).unwrap();
        let _a2 = counts.admit(a, &limits).unwrap();
        assert!(counts.admit(a, &limits).is_none(), "per-peer cap");
        let _b1 = counts.admit(b, &limits).unwrap();
        assert!(counts.admit(b, &limits).is_none(), "total cap");
        drop(a1);
        assert!(counts.admit(b, &limits).is_some());
    }
}
