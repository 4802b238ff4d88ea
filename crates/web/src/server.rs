//! The accept loop: every connection served by hyper's HTTP/1 with time limits.
//!
//! `axum::serve` gives hyper no timer, so a client that opened a connection and sent half a
//! request head was never closed: enough of them used up the process's open files and
//! everyone else's requests waited. Here each connection has a header-read timeout, which
//! hyper (1.12, `proto/h1/conn.rs`) starts when the connection opens and again each time a
//! kept-alive connection goes idle after a response, so it also bounds how long an idle
//! connection is kept. A request whose head has arrived is bounded by the app's own
//! request timeout (`TimeoutLayer` in [`crate::app`]).
//!
//! Shutting down stops accepting at once, lets requests in flight finish (each connection
//! closes after its current response), and waits at most [`ServeOptions::shutdown_grace`].

use std::{future::Future, io, net::SocketAddr, pin::pin, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};
use tower::ServiceExt as _;

/// How long connections may take, and how long shutting down may wait.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// A client must send a request's whole head (request line and headers) within this
    /// long of connecting, or of the previous response on a kept-alive connection; otherwise
    /// the connection is closed. So it is also how long an idle connection is kept open.
    pub header_timeout: Duration,
    /// After shutdown starts, how long requests in flight may take to finish before the
    /// connections still open are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The first pause after `accept` fails for a reason that is not the client's (say, too
/// many open files); it doubles while the failures go on, up to [`MAX_ACCEPT_PAUSE`].
const FIRST_ACCEPT_PAUSE: Duration = Duration::from_millis(50);
const MAX_ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// Serve `app` on `listener` until `shutdown` resolves, then drain as [`ServeOptions`] says.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut shutdown = pin!(shutdown);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut failures: u64 = 0;
    let mut pause = FIRST_ACCEPT_PAUSE;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            // Forget connections that have ended, so the set stays as large as what is open.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                if failures > 0 {
                    tracing::info!(failures, "accepting connections again");
                    failures = 0;
                    pause = FIRST_ACCEPT_PAUSE;
                }
                connections.spawn(connection(
                    stream,
                    peer,
                    app.clone(),
                    options.header_timeout,
                    stopping.clone(),
                ));
            }
            // The client gave up before we took its connection: nothing to wait for.
            Err(error) if is_the_clients(&error) => {}
            Err(error) => {
                failures += 1;
                if failures == 1 {
                    // Once per run of failures, not once per attempt: while the process is
                    // out of open files, every attempt fails the same way.
                    tracing::error!(
                        %error,
                        "cannot accept new connections (out of open files?); pausing and trying again"
                    );
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(MAX_ACCEPT_PAUSE);
            }
        }
    }
    // Stop accepting: new connections are refused from here on.
    drop(listener);
    stop.send_replace(true);
    let drained = tokio::time::timeout(options.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "closing connections still busy after the shutdown grace period"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Errors that concern one connection only (it was reset or aborted before we took it).
fn is_the_clients(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serve one connection until the client or the timeouts close it, or shutdown asks it to
/// finish its current request and close.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    header_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    // Small writes (a redirect, a 304) go out at once instead of waiting for an ACK.
    let _ = stream.set_nodelay(true);
    // Handlers read the peer address as `ConnectInfo<SocketAddr>`, as with
    // `into_make_service_with_connect_info`.
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        () = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
            conn.as_mut().graceful_shutdown();
            if let Err(error) = conn.await {
                tracing::debug!(%error, "connection ended with an error while shutting down");
            }
        }
    }
}
