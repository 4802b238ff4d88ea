//! Serving a practice: the listener, the app, the mail worker and the jobs, started and
//! stopped together. The app itself is built by `web::Service`, as the tests build it.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use anyhow::{Context, bail};
use store::{PracticeId, Store};
use web::{Clock, Config, RateLimits};

use crate::cli::{ServeArgs, ServerArgs, UsageError};
use crate::files;
use crate::keys::host_key;
use crate::location::{Mode, open_store, practice_of};

/// `--public-url`, or `http://` and the address the server is listening on (with the port
/// the system chose, for `--listen 127.0.0.1:0`).
fn public_url(server: &ServerArgs, listening: SocketAddr) -> anyhow::Result<String> {
    let url = server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{listening}"));
    let url = url.trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.contains(char::is_whitespace)
    {
        bail!("--public-url must start with http:// or https://, like https://therapy.example.com");
    }
    Ok(url)
}

/// What a server serves.
pub enum Serving {
    /// One practice, on every host (self-hosted).
    One(PracticeId),
    /// Every practice in the database, each at `NAME.base_domain` or its own domains, and
    /// the operator console on `operator_host` and the directory on `directory_host` if
    /// there are (its nearness by the centroid file, if one was given).
    Hosted {
        base_domain: String,
        operator_host: Option<String>,
        directory_host: Option<String>,
        outcode_centroids: Option<std::path::PathBuf>,
    },
}

/// Hosted mode's addresses: `https` without a port, unless `--public-url` says otherwise
/// (only its scheme and port are used), or the server listens on this machine only, when
/// they are `http` and the port it listens on (a demo at `alex.localhost:8080`).
fn hosted_scheme(
    server: &ServerArgs,
    listening: SocketAddr,
) -> anyhow::Result<(bool, Option<u16>)> {
    match &server.public_url {
        Some(url) => {
            let https = url.starts_with("https://");
            if !https && !url.starts_with("http://") {
                bail!("--public-url must start with http:// or https://");
            }
            let authority = url
                .split_once("://")
                .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
            let port = authority
                .rsplit_once(':')
                .and_then(|(_, port)| port.parse::<u16>().ok());
            Ok((https, port))
        }
        None if listening.ip().is_loopback() => Ok((false, Some(listening.port()))),
        None => Ok((true, None)),
    }
}

/// Serve from `store` until Ctrl+C or SIGTERM, with the mail worker (when SMTP is
/// configured) and the jobs; `banner` is told the public URL once the listener is up (in
/// hosted mode, the base domain's). The caller opened the store and closes it after.
pub async fn run_server(
    store: Arc<dyn Store>,
    serving: Serving,
    clock: Clock,
    server: ServerArgs,
    key: crypto::MasterKey,
    banner: impl FnOnce(&str),
) -> anyhow::Result<()> {
    // A key file other than the one the database's keys are wrapped with is refused before
    // anything is served; one practice's key is opened (or made) now, so that a key file
    // that cannot open its secrets stops the start, not a therapist's first note.
    web::keys::check_host_key(store.as_ref(), &key).await?;
    if let Serving::One(practice) = &serving {
        web::keys::open_or_adopt(store.as_ref(), &key, *practice, clock.now()).await?;
    }
    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is something else using it?)",
                server.listen
            )
        })?;
    let listening = listener.local_addr()?;
    let (public_url, resolver, operator, directory_host, outcode_centroids) = match serving {
        Serving::One(practice) => (
            public_url(&server, listening)?,
            web::Resolver::Single(practice),
            None,
            None,
            None,
        ),
        Serving::Hosted {
            base_domain,
            operator_host,
            directory_host,
            outcode_centroids,
        } => {
            let (https, port) = hosted_scheme(&server, listening)?;
            let sites = web::HostedSites::new(&base_domain, https, port);
            let base = sites.address_of(&base_domain);
            let operator = match operator_host {
                Some(host) => Some(
                    web::OperatorConsole::new(&host, crate::content::embedded_practice("starter")?)
                        .ok_or_else(|| {
                            UsageError(
                                "--operator-host: give a host name, like operator.anteroom.example"
                                    .into(),
                            )
                        })?,
                ),
                None => None,
            };
            if let Some(console) = &operator {
                tracing::info!(url = sites.address_of(&console.host), "operator console");
            }
            let directory_host = match directory_host {
                Some(host) => Some(domain::hosting::request_host(&host).ok_or_else(|| {
                    UsageError(
                        "--directory-host: give a host name, like find.anteroom.example".into(),
                    )
                })?),
                None => None,
            };
            if let Some(host) = &directory_host {
                tracing::info!(url = sites.address_of(host), "directory");
            }
            let centroids = match &outcode_centroids {
                Some(path) => {
                    let text = std::fs::read_to_string(path).with_context(|| {
                        format!("--outcode-centroids: cannot read {}", path.display())
                    })?;
                    let centroids =
                        domain::directory::Centroids::parse_csv(&text).map_err(|e| {
                            UsageError(format!("--outcode-centroids {}: {e}", path.display()))
                        })?;
                    tracing::info!(outcodes = centroids.len(), "outcode centroids loaded");
                    Some(Arc::new(centroids))
                }
                None => None,
            };
            (
                base,
                web::Resolver::Hosted(Arc::new(sites)),
                operator,
                directory_host,
                centroids,
            )
        }
    };
    // Without --mail-from, each message is sent as its own practice.
    let smtp = match (&server.smtp_url, &server.mail_from) {
        (Some(url), Some(from)) => Some(mail::SmtpSettings::parse(url, from)?),
        (Some(url), None) => Some(mail::SmtpSettings::each_practice(url)?),
        (None, _) => None,
    };
    let config = Config {
        public_url: public_url.clone(),
        trust_proxy: server.trust_proxy,
        rate_limits: RateLimits {
            disabled: server.no_rate_limits,
            in_flight: usize::from(server.max_requests),
            ..RateLimits::default()
        },
        theme_dir: server.theme_dir.clone(),
        // Set by the service from whether it has SMTP settings.
        mail_configured: false,
        host_key: Some(Arc::new(key)),
        operator,
        directory_host,
        outcode_centroids,
    };
    if let Some(dir) = &server.theme_dir
        && !dir.is_dir()
    {
        bail!("--theme-dir {} is not a folder", dir.display());
    }
    if smtp.is_none() {
        let waiting = store.pending_count().await.unwrap_or(0);
        tracing::warn!(
            waiting,
            "email is not configured (--smtp-url): messages will wait in the outbox"
        );
    }
    let mut service = web::Service::new(store, resolver, clock, config, smtp)?;
    if let Some(address) = server.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| {
                format!("cannot listen on {address} for metrics (is something else using it?)")
            })?;
        let at = metrics.local_addr()?;
        if !at.ip().is_loopback() {
            tracing::warn!(
                address = %at,
                "metrics are served on a public address: let only your monitoring reach it"
            );
        }
        tracing::info!(url = format!("http://{at}/metrics"), "metrics");
        service = service.metrics_on(metrics);
    }
    if !server.listen.ip().is_loopback() && !public_url.starts_with("https://") {
        tracing::warn!(
            "serving plain HTTP on a public address: put Anteroom behind a reverse proxy with TLS and set --public-url https://…"
        );
    }
    // Ctrl+C (SIGINT) or SIGTERM stops the server gracefully. Both are caught from here on,
    // before the banner says we are serving: a stop sent at once must not meet the default
    // action, which ends the process without closing the database.
    let shutdown = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("stopping");
        }
    };
    banner(&public_url);
    service
        .run(listener, web::ServeOptions::default(), shutdown)
        .await?;
    Ok(())
}

/// `anteroom serve`: an existing practice, never a new one.
pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let location = args.data.location()?;
    // SQLite only: the database file's mode.
    if let Some(path) = location.sqlite_file()
        && path.is_file()
        && let Some(warning) = files::open_to_others(&path)
    {
        tracing::warn!("{warning}");
    }
    let base_domain = match (&args.hosted.base_domain, args.hosted.hosted) {
        (Some(domain), true) => Some(
            domain::hosting::request_host(domain)
                .filter(|d| !d.contains(':'))
                .ok_or_else(|| {
                    UsageError("--base-domain: give a domain only, like anteroom.example".into())
                })?,
        ),
        (None, true) => {
            return Err(UsageError(
                "--hosted needs --base-domain DOMAIN (practices are at NAME.DOMAIN)".into(),
            )
            .into());
        }
        (Some(_), false) => {
            return Err(UsageError("--base-domain goes with --hosted".into()).into());
        }
        (None, false) => None,
    };
    if args.hosted.operator_host.is_some() && !args.hosted.hosted {
        return Err(UsageError("--operator-host goes with --hosted".into()).into());
    }
    if args.hosted.directory_host.is_some() && !args.hosted.hosted {
        return Err(UsageError("--directory-host goes with --hosted".into()).into());
    }
    if args.hosted.outcode_centroids.is_some() && args.hosted.directory_host.is_none() {
        return Err(UsageError("--outcode-centroids goes with --directory-host".into()).into());
    }
    let store = open_store(&location, Mode::Existing).await?;
    let serving = match base_domain {
        Some(base_domain) => Serving::Hosted {
            base_domain,
            operator_host: args.hosted.operator_host.clone(),
            directory_host: args.hosted.directory_host.clone(),
            outcode_centroids: args.hosted.outcode_centroids.clone(),
        },
        None => Serving::One(practice_of(&*store).await?),
    };
    let clock = match args.now {
        Some(now) if cfg!(debug_assertions) => Clock::pinned(now),
        Some(_) => bail!("--now is only for the demo and test builds"),
        None => Clock::System,
    };
    let key = host_key(&location, args.key_file.as_deref())?;
    let served = run_server(store.shared(), serving, clock, args.server, key, |url| {
        tracing::info!(url, "serving");
    })
    .await;
    store.close().await;
    served?;
    Ok(ExitCode::SUCCESS)
}
