//! Self-hosted practices in the directory: each read from its own address
//! (`GET /api/v1/listing`) on a schedule, with its ETag, a time limit and a size limit,
//! never following a redirect, and checked before anything of it is shown.
//!
//! One reading of each address per [`FETCH_EVERY`] across every process (the store hands
//! each due address to one caller), at most [`AT_ONCE`] readings at a time. A practice that
//! stops answering keeps its last listing, with when the directory last heard from it; its
//! free times stop counting after `STALE_AFTER_HOURS`, so it leaves searches for a
//! consultation soon until it answers again.
//!
//! A listing may name the therapist's portrait on the practice's own site. The directory
//! reads it from that same address (never another host), within the same time limit and a
//! size limit, decodes and encodes it again as an upload is, and keeps the copy, so its
//! pages show the portrait from the directory's own host and visitors' browsers load
//! nothing from elsewhere. The copy is read again only when the listing names another
//! (the address changes with the content); another description is taken as it is.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use domain::directory::{FreeTimes, Listing, ListingPortrait};
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
/// The largest portrait read (a practice names a JPEG at most 1024 pixels wide: about
/// 150 KB).
const MAX_PORTRAIT_BYTES: usize = 2 * 1024 * 1024;
/// The most pixels of a portrait read (a 1024-pixel-wide portrait is about 1.3 million): a
/// small file that claims a huge picture is refused before it is decoded.
const MAX_PORTRAIT_PIXELS: u64 = 4_000_000;
/// How long a portrait that could not be read is left before it is tried again (sooner if
/// the listing names another).
const PORTRAIT_RETRY: jiff::SignedDuration = jiff::SignedDuration::from_hours(6);

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

/// One reading of `address`, sending `etag` back; never longer than `timeout`. Also gives
/// the machine it reached, if it reached one: the portrait is read from that same machine,
/// so a name that points elsewhere a moment later cannot send the directory to another.
pub async fn fetch(
    address: &Address,
    etag: Option<&str>,
    timeout: Duration,
) -> (FetchOutcome, Option<SocketAddr>) {
    let reading = async {
        let to = tokio::net::lookup_host((address.host.as_str(), address.port))
            .await
            .ok()
            .and_then(|mut found| found.next())
            .ok_or_else(|| "It could not be reached: its name was not found".to_owned())?;
        read(address, to, etag).await.map(|outcome| (outcome, to))
    };
    match tokio::time::timeout(timeout, reading).await {
        Ok(Ok((outcome, to))) => (outcome, Some(to)),
        Ok(Err(error)) => (FetchOutcome::Failed(error), None),
        Err(_) => (
            FetchOutcome::Failed(format!(
                "It did not answer within {} seconds",
                timeout.as_secs().max(1)
            )),
            None,
        ),
    }
}

/// What one reading found: its status and ETag, and (for a 200) its body.
struct Answer {
    status: StatusCode,
    etag: Option<String>,
    body: Bytes,
}

/// `GET path` from `address` (at the machine `to`), sending `etag` back; a 200's body is
/// read up to `max` bytes.
async fn get(
    address: &Address,
    to: SocketAddr,
    path: &str,
    accept: &'static str,
    etag: Option<&str>,
    max: usize,
) -> Result<Answer, String> {
    let tcp = TcpStream::connect(to)
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
    let mut request = Request::get(path)
        .header(HOST, address.host_header())
        .header(ACCEPT, accept)
        .header(USER_AGENT, "Anteroom directory");
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|_| "The request could not be made".to_owned())?;
    let answer = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|_| "It closed the connection without an answer".to_owned())?;
        let status = response.status();
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 200)
            .map(str::to_owned);
        let body = if status == StatusCode::OK {
            Limited::new(response.into_body(), max)
                .collect()
                .await
                .map_err(|_| format!("Its answer was larger than {} KB, or broke off", max / 1024))?
                .to_bytes()
        } else {
            Bytes::new()
        };
        Ok(Answer { status, etag, body })
    }
    .await;
    connection.abort();
    answer
}

async fn read(
    address: &Address,
    to: SocketAddr,
    etag: Option<&str>,
) -> Result<FetchOutcome, String> {
    let answer = get(
        address,
        to,
        "/api/v1/listing",
        "application/json",
        etag,
        MAX_BYTES,
    )
    .await?;
    match answer.status {
        StatusCode::NOT_MODIFIED => Ok(FetchOutcome::NotModified),
        StatusCode::OK => {
            let doc = checked(&answer.body, &address.host)?;
            let document = serde_json::to_string(&doc)
                .map_err(|_| "The listing could not be kept".to_owned())?;
            Ok(FetchOutcome::Listing {
                document,
                etag: answer.etag,
            })
        }
        StatusCode::NOT_FOUND => Err("It has not turned its directory listing on".to_owned()),
        s => Err(unexpected(s)),
    }
}

fn unexpected(status: StatusCode) -> String {
    if status.is_redirection() {
        "It answered with a redirect; the directory reads only the practice's own address"
            .to_owned()
    } else {
        format!("It answered {}", status.as_u16())
    }
}

/// What to do about a remote's portrait after a reading.
enum PortraitChange {
    /// Keep what is kept.
    Keep,
    /// Its listing names none (any longer).
    Remove,
    /// The same photo, described again.
    Describe(String),
    /// What reading the one it names gave.
    Read {
        source: String,
        image: Result<store::NewImage, String>,
    },
}

/// The portrait a remote's listing names, read and made ours if it is not the one kept:
/// from the machine the listing came from and the listing's own origin (the path checked),
/// within [`FETCH_TIMEOUT`], [`MAX_PORTRAIT_BYTES`] and [`MAX_PORTRAIT_PIXELS`], then
/// decoded and encoded again like an upload (so nothing of the file read is kept) in the
/// same one-at-a-time line. One that could not be read is tried again after
/// [`PORTRAIT_RETRY`].
async fn portrait_change(
    state: &AppState,
    remote: &RemoteListing,
    outcome: &FetchOutcome,
    to: Option<SocketAddr>,
) -> store::StoreResult<PortraitChange> {
    let document = match outcome {
        FetchOutcome::Listing { document, .. } => Some(document.as_str()),
        FetchOutcome::NotModified => remote.document.as_deref(),
        // An address that did not answer keeps its last listing, and its portrait.
        FetchOutcome::Failed(_) => return Ok(PortraitChange::Keep),
    };
    let (Some(to), Ok(address)) = (to, Address::parse(&remote.address)) else {
        return Ok(PortraitChange::Keep);
    };
    let named = document
        .and_then(stored_document)
        .and_then(|doc| doc.listing.portrait);
    let kept = state.store().remote_portrait(remote.id).await?;
    let Some(named) = named else {
        return Ok(if kept.is_some() {
            PortraitChange::Remove
        } else {
            PortraitChange::Keep
        });
    };
    if let Some(kept) = &kept
        && kept.source == named.url
    {
        match &kept.image {
            Ok(image) if image.alt == named.alt => return Ok(PortraitChange::Keep),
            Ok(_) => return Ok(PortraitChange::Describe(named.alt)),
            Err(_) if kept.read_at + PORTRAIT_RETRY > state.now() => {
                return Ok(PortraitChange::Keep);
            }
            Err(_) => {}
        }
    }
    let image = read_portrait(state, &address, to, &named).await;
    Ok(PortraitChange::Read {
        source: named.url,
        image,
    })
}

/// The path of a listing's portrait when it is at the listing's own address (the same
/// scheme, host and port, however written), and plain (see `ListingPortrait::path`).
fn portrait_path<'a>(address: &Address, portrait: &'a ListingPortrait) -> Option<&'a str> {
    let path = portrait.path(&address.host)?;
    let origin = Address::parse(portrait.url.strip_suffix(path)?).ok()?;
    (origin == *address).then_some(path)
}

async fn read_portrait(
    state: &AppState,
    address: &Address,
    to: SocketAddr,
    named: &ListingPortrait,
) -> Result<store::NewImage, String> {
    let path = portrait_path(address, named)
        .ok_or_else(|| format!("Its portrait is not at {}", address.text()))?;
    let reading = get(
        address,
        to,
        path,
        "image/jpeg, image/webp, image/png",
        None,
        MAX_PORTRAIT_BYTES,
    );
    let answer = match tokio::time::timeout(FETCH_TIMEOUT, reading).await {
        Ok(answer) => answer?,
        Err(_) => {
            return Err(format!(
                "Its portrait did not come within {} seconds",
                FETCH_TIMEOUT.as_secs()
            ));
        }
    };
    if answer.status != StatusCode::OK {
        return Err(format!(
            "Its portrait could not be read: {}",
            unexpected(answer.status)
        ));
    }
    let processed = state
        .photo_jobs()
        .process_read(answer.body.to_vec(), MAX_PORTRAIT_PIXELS)
        .await;
    match processed {
        Ok(Ok(processed)) => Ok(crate::photos::new_image(
            store::ImageRole::Portrait,
            named.alt.clone(),
            processed,
        )),
        Ok(Err(refusal)) => {
            let why = refusal.to_string();
            let mut chars = why.chars();
            let first = chars.next().map(|c| c.to_lowercase().collect::<String>());
            Err(format!(
                "Its portrait was refused: {}{}",
                first.unwrap_or_default(),
                chars.as_str()
            ))
        }
        Err(_) => Err("Its portrait could not be processed just now".to_owned()),
    }
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
            let state = state.clone();
            readings.spawn(async move {
                let (outcome, to) = match Address::parse(&remote.address) {
                    Ok(address) => fetch(&address, remote.etag.as_deref(), timeout).await,
                    Err(error) => (FetchOutcome::Failed(error), None),
                };
                let portrait = portrait_change(&state, &remote, &outcome, to).await;
                (remote.id, outcome, portrait)
            });
        }
        let Some(done) = readings.join_next().await else {
            break;
        };
        if let Ok((id, outcome, portrait)) = done {
            if let FetchOutcome::Failed(error) = &outcome {
                tracing::info!(remote = id, %error, "a directory listing could not be read");
            }
            let now = state.now();
            state.store().record_fetch(id, &outcome, now).await?;
            match portrait? {
                PortraitChange::Keep => {}
                PortraitChange::Remove => state.store().set_remote_portrait(id, None, now).await?,
                PortraitChange::Describe(alt) => {
                    state.store().set_remote_portrait_alt(id, &alt).await?;
                }
                PortraitChange::Read { source, image } => {
                    if let Err(error) = &image {
                        tracing::info!(remote = id, %error, "a directory portrait could not be read");
                    }
                    let image = image.as_ref().map_err(String::as_str);
                    state
                        .store()
                        .set_remote_portrait(id, Some((&source, image)), now)
                        .await?;
                }
            }
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
