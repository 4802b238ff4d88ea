//! Serving a practice: the listener, the app, the mail worker and the jobs, started and
//! stopped together. The app itself is built by `web::Service`, as the tests build it.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use anyhow::{Context, bail};
use store::{PracticeId, Store};
use web::{Clock, Config, RateLimits};

use crate::cli::{ServeArgs, ServerArgs};
use crate::files;
use crate::keys::master_key;
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

/// Serve `practice` from `store` until Ctrl+C or SIGTERM, with the mail worker (when SMTP is
/// configured) and the jobs; `banner` is told the public URL once the listener is up. The
/// caller opened the store and closes it after.
pub async fn run_server(
    store: Arc<dyn Store>,
    practice: PracticeId,
    clock: Clock,
    server: ServerArgs,
    key: crypto::MasterKey,
    banner: impl FnOnce(&str),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is something else using it?)",
                server.listen
            )
        })?;
    let public_url = public_url(&server, listener.local_addr()?)?;
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
            ..RateLimits::default()
        },
        theme_dir: server.theme_dir.clone(),
        // Set by the service from whether it has SMTP settings.
        mail_configured: false,
        master_key: Some(Arc::new(key)),
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
    let service = web::Service::new(store, web::Resolver::Single(practice), clock, config, smtp)?;
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
    let store = open_store(&location, Mode::Existing).await?;
    let practice = practice_of(&*store).await?;
    let clock = match args.now {
        Some(now) if cfg!(debug_assertions) => Clock::pinned(now),
        Some(_) => bail!("--now is only for the demo and test builds"),
        None => Clock::System,
    };
    let key = master_key(&location, args.key_file.as_deref())?;
    let served = run_server(store.shared(), practice, clock, args.server, key, |url| {
        tracing::info!(url, "serving");
    })
    .await;
    store.close().await;
    served?;
    Ok(ExitCode::SUCCESS)
}
