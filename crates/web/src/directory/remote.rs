//! Self-hosted practices in the directory: each read from its own address
//! (`GET /api/v1/listing`) on a schedule, with its ETag, a time limit and a size limit,
//! never following a redirect, and checked before anything of it is shown.
//!
//! One reading of each address per [`FETCH_EVERY`] across every process (the store hands
//! each due address to one caller), at most [`AT_ONCE`] readings at a time. A practice that
//! stops answering keeps its last listing, with when the directory last heard from it; its
//! free times stop counting after `STALE_AFTER_HOURS`, so it leaves searches for a
//! consultation soon until it answers again.

use std::{sync::Arc, time::Duration};

use domain::directory::{FreeTimes, Listing};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{
    Request, StatusCode,
    body::Bytes,
    header::{ACCEPT, ETAG, HOST, IF_NONE_MATCH, USER_AGENT},
};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use store::{FetchOutcome, RemoteListing};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
    task::JoinSet,
};

use crate::AppState;

/// How often each address is read.
pub const FETCH_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);
/// The longest one reading may take, connecting included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Readings in flight at once.
const AT_ONCE: usize = 8;
/// Addresses taken per round.
const PER_ROUND: u32 = 200;
/// The largest listing document read.
const MAX_BYTES: usize = 256 * 1024;

/// An address the directory reads: `scheme://host[:port]`, lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    https: bool,
    host: String,
    port: u16,
}

impl Address {
    /// Read an address typed by an operator: `https://` (or `http://`) and a host, with a
    /// port if it is not the usual one, and nothing after it but an optional `/`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim().to_ascii_lowercase();
        let (https, rest) = if let Some(rest) = raw.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = raw.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(
                "Enter the practice's address starting https://, like https://therapy.example.org"
                    .into(),
            );
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err("Enter just the practice's address, like https://therapy.example.org, with nothing after it".into());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or("The port after the colon is not a number from 1 to 65535")?,
            ),
            None => (authority, if https { 443 } else { 80 }),
        };
        let labels_ok = host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if host.len() > 253 || !labels_ok {
            return Err("That is not a host name, like therapy.example.org".into());
        }
        Ok(Self {
            https,
            host: host.to_owned(),
            port,
        })
    }

    /// As stored and shown: `scheme://host[:port]`.
    pub fn text(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match (self.https, self.port) {
            (true, 443) | (false, 80) => format!("{scheme}://{}", self.host),
            _ => format!("{scheme}://{}:{}", self.host, self.port),
        }
    }

    fn host_header(&self) -> String {
        match (self.https, self.port) {
            (true, 443) | (false, 80) => self.host.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// The document a practice publishes at `/api/v1/listing`.
#[derive(Serialize, Deserialize)]
pub(crate) struct Document {
    pub format: String,
    pub listing: Listing,
    pub free_consultations: FreeTimes,
}

/// Read a fetched body: the right format, and a listing that passes its checks.
fn checked(body: &[u8], host: &str) -> Result<Document, String> {
    let doc: Document = serde_json::from_slice(body)
        .map_err(|_| "What it sent is not a listing the directory can read".to_owned())?;
    if doc.format != crate::api::listing::FORMAT {
        return Err(format!(
            "It sent format {:?}, not {}",
            doc.format,
            crate::api::listing::FORMAT
        ));
    }
    doc.listing
        .check(host, &doc.free_consultations)
        .map_err(|e| format!("Its listing was refused: {e}"))?;
    Ok(doc)
}

/// A stored document read back (it passed [`checked`] when it was stored).
pub(crate) fn stored_document(text: &str) -> Option<Document> {
    serde_json::from_str(text).ok()
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// The TLS settings of every reading: the web's usual roots, TLS 1.2 and 1.3 (made once).
fn tls() -> Result<tokio_rustls::TlsConnector, String> {
    static CONNECTOR: std::sync::OnceLock<Option<tokio_rustls::TlsConnector>> =
        std::sync::OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            use tokio_rustls::rustls;
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .ok()
            .map(|builder| {
                let config = builder.with_root_certificates(roots).with_no_client_auth();
                tokio_rustls::TlsConnector::from(Arc::new(config))
            })
        })
        .clone()
        .ok_or_else(|| "Secure connections are not available here".to_owned())
}

/// One reading of `address`, sending `etag` back; never longer than `timeout`.
pub async fn fetch(address: &Address, etag: Option<&str>, timeout: Duration) -> FetchOutcome {
    match tokio::time::timeout(timeout, read(address, etag)).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => FetchOutcome::Failed(error),
        Err(_) => FetchOutcome::Failed(format!(
            "It did not answer within {} seconds",
            timeout.as_secs().max(1)
        )),
    }
}

async fn read(address: &Address, etag: Option<&str>) -> Result<FetchOutcome, String> {
    let tcp = TcpStream::connect((address.host.as_str(), address.port))
        .await
        .map_err(|_| "It could not be reached".to_owned())?;
    let stream: Box<dyn Stream> = if address.https {
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(address.host.clone())
            .map_err(|_| "Its host name cannot be used for a secure connection".to_owned())?;
        Box::new(
            tls()?
                .connect(name, tcp)
                .await
                .map_err(|e| format!("Its secure connection failed: {e}"))?,
        )
    } else {
        Box::new(tcp)
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| "It did not speak HTTP".to_owned())?;
    let connection = tokio::spawn(connection);
    let mut request = Request::get("/api/v1/listing")
        .header(HOST, address.host_header())
        .header(ACCEPT, "application/json")
        .header(USER_AGENT, "Anteroom directory");
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|_| "The request could not be made".to_owned())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|_| "It closed the connection without an answer".to_owned())?;
    let status = response.status();
    let new_etag = response
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 200)
        .map(str::to_owned);
    let outcome = match status {
        StatusCode::NOT_MODIFIED => Ok(FetchOutcome::NotModified),
        StatusCode::OK => {
            let body = Limited::new(response.into_body(), MAX_BYTES)
                .collect()
                .await
                .map_err(|_| {
                    format!(
                        "Its answer was larger than {} KB, or broke off",
                        MAX_BYTES / 1024
                    )
                })?
                .to_bytes();
            let doc = checked(&body, &address.host)?;
            let document = serde_json::to_string(&doc)
                .map_err(|_| "The listing could not be kept".to_owned())?;
            Ok(FetchOutcome::Listing {
                document,
                etag: new_etag,
            })
        }
        StatusCode::NOT_FOUND => Err("It has not turned its directory listing on".to_owned()),
        s if s.is_redirection() => Err(
            "It answered with a redirect; the directory reads only the practice's own address"
                .to_owned(),
        ),
        s => Err(format!("It answered {}", s.as_u16())),
    };
    connection.abort();
    outcome
}

/// Read every address that is due (in this process, those no other process took), and
/// record what each reading found. Returns how many were read.
pub async fn fetch_due(state: &AppState, timeout: Duration) -> store::StoreResult<usize> {
    let due: Vec<RemoteListing> = state
        .store()
        .claim_remote_fetches(state.now(), FETCH_EVERY, PER_ROUND)
        .await?;
    let count = due.len();
    let mut readings = JoinSet::new();
    let mut due = due.into_iter();
    loop {
        while readings.len() < AT_ONCE {
            let Some(remote) = due.next() else { break };
            readings.spawn(async move {
                let outcome = match Address::parse(&remote.address) {
                    Ok(address) => fetch(&address, remote.etag.as_deref(), timeout).await,
                    Err(error) => FetchOutcome::Failed(error),
                };
                (remote.id, outcome)
            });
        }
        let Some(done) = readings.join_next().await else {
            break;
        };
        if let Ok((id, outcome)) = done {
            if let FetchOutcome::Failed(error) = &outcome {
                tracing::info!(remote = id, %error, "a directory listing could not be read");
            }
            state
                .store()
                .record_fetch(id, &outcome, state.now())
                .await?;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_a_scheme_and_a_host() {
        let a = Address::parse(" HTTPS://Therapy.Example.org/ ").unwrap();
        assert_eq!(a.text(), "https://therapy.example.org");
        assert_eq!(
            Address::parse("http://127.0.0.1:8080").unwrap().text(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            Address::parse("https://a.example:443").unwrap().text(),
            "https://a.example"
        );
        for bad in [
            "therapy.example.org",
            "ftp://a.example",
            "https://",
            "https://a.example/listing",
            "https://user@a.example",
            "https://a.example:0",
            "https://a.example:99999",
            "https://-a.example",
            "https://a..example",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }
}
