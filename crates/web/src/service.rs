//! One process as it runs: the site, the mail worker and the jobs, built in one place and
//! started and stopped together. The binary and the tests both use it, so what the tests
//! run is what a practice runs.

use std::{future::Future, sync::Arc, time::Duration};

use store::Store;
use tokio::sync::{Notify, watch};

use crate::{AppState, Clock, Config, Resolver, ServeOptions};

/// Everything one process runs, ready to start.
pub struct Service {
    state: AppState,
    mailer: Option<mail::Mailer>,
    jobs_every: Duration,
    job_runs: watch::Sender<u64>,
    metrics: Option<tokio::net::TcpListener>,
}

impl Service {
    /// The app over `store`, its practices found by `resolver`. With `smtp`, a mail worker
    /// sends the outbox (and `config.mail_configured` is set to say so); without, messages
    /// wait in the outbox.
    pub fn new(
        store: Arc<dyn Store>,
        resolver: Resolver,
        clock: Clock,
        mut config: Config,
        smtp: Option<mail::SmtpSettings>,
    ) -> anyhow::Result<Self> {
        config.mail_configured = smtp.is_some();
        let wake = Arc::new(Notify::new());
        let state = AppState::new(
            store.clone(),
            resolver,
            clock.clone(),
            config,
            Some(wake.clone()),
        )?;
        let mailer = smtp.map(|smtp| {
            let sealed = state.clone();
            mail::Mailer::new(store, smtp, Arc::new(move || clock.now()), wake).with_prepare(
                Arc::new(move |message| {
                    let sealed = sealed.clone();
                    Box::pin(async move { sealed.prepare_outgoing(&message).await })
                }),
            )
        });
        Ok(Self {
            state,
            mailer,
            jobs_every: crate::jobs::EVERY,
            job_runs: watch::Sender::new(0),
            metrics: None,
        })
    }

    /// How often the jobs run (once at start, then at this interval). The tests run them
    /// rarely, so that what a test counts is what it ran itself.
    #[must_use]
    pub fn jobs_every(mut self, every: Duration) -> Self {
        self.jobs_every = every;
        self
    }

    /// Serve the metrics (`GET /metrics`, [`crate::metrics_app`]) on `listener` too, for
    /// as long as the app.
    #[must_use]
    pub fn metrics_on(mut self, listener: tokio::net::TcpListener) -> Self {
        self.metrics = Some(listener);
        self
    }

    /// The state the app runs with (for jobs and checks from outside a request).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// How many runs of the jobs have finished (the first starts with the service).
    pub fn job_runs(&self) -> watch::Receiver<u64> {
        self.job_runs.subscribe()
    }

    /// Serve on `listener` until `shutdown` resolves, with the mail worker and the jobs
    /// beside it; then let requests in flight finish (at most `options.shutdown_grace`) and
    /// stop the worker and the jobs, each after the piece of work it is doing.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        options: ServeOptions,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut stop: watch::Receiver<bool>| async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        // Other processes on the same database: drop what their changes make stale.
        if let Err(error) = self.state.follow_changes().await {
            tracing::error!(%error, "cannot follow other processes' changes");
        }
        // Hosted mode: the host directory before the first request and the first jobs,
        // then again every few seconds (another process may have changed it).
        if let Err(error) = self.state.reload_hosts().await {
            tracing::error!(%error, "cannot read the host directory");
        }
        let hosts = tokio::spawn(reload_hosts_every(
            self.state.clone(),
            stopped(stop_rx.clone()),
        ));
        let directory = tokio::spawn(crate::directory::keep_fresh(
            self.state.clone(),
            stopped(stop_rx.clone()),
        ));
        let mailer = self
            .mailer
            .map(|mailer| tokio::spawn(mailer.run(stopped(stop_rx.clone()))));
        let metrics = self.metrics.map(|listener| {
            tokio::spawn(crate::server::serve(
                listener,
                crate::metrics_app(self.state.clone()),
                options.clone(),
                stopped(stop_rx.clone()),
            ))
        });
        let jobs = tokio::spawn(crate::jobs::run_every(
            self.state.clone(),
            self.jobs_every,
            self.job_runs,
            stopped(stop_rx),
        ));
        let served = crate::serve_with(listener, self.state, options, shutdown).await;
        let _ = stop_tx.send(true);
        let _ = jobs.await;
        let _ = hosts.await;
        let _ = directory.await;
        if let Some(metrics) = metrics
            && let Ok(Err(error)) = metrics.await
        {
            tracing::error!(%error, "the metrics listener failed");
        }
        if let Some(mailer) = mailer {
            let _ = mailer.await;
        }
        served
    }
}

/// Reload the host directory every [`crate::HOSTS_EVERY`] until `stop` (hosted mode only).
async fn reload_hosts_every(state: AppState, stop: impl Future<Output = ()>) {
    if !matches!(state.resolver(), Resolver::Hosted(_)) {
        return;
    }
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(crate::HOSTS_EVERY) => {}
        }
        if let Err(error) = state.reload_hosts().await {
            tracing::warn!(%error, "cannot reload the host directory; keeping the last one");
        }
    }
}
