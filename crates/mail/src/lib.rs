//! Email delivery: the outbox worker.
//!
//! Messages are written to the outbox in the same transaction as the change that causes
//! them (an enquiry, a booking), so nothing is lost if the SMTP server is down or the
//! process stops. This worker delivers them: at least once, each with a Message-ID fixed
//! when it was queued (so a resend after a crash is recognisably the same message),
//! retrying with exponential backoff and giving up after about a day.
//!
//! Several workers may deliver from one outbox (hosted mode runs several processes on one
//! database): each claims the messages it sends for a lease ([`LEASE`]), so no two send the
//! same message, and a message whose worker stopped mid-send is sent when the lease ends.
#![forbid(unsafe_code)]

pub mod ics;

use std::{pin::Pin, sync::Arc, time::Duration};

use jiff::{SignedDuration, Timestamp};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType},
};
use store::{OutboxMessage, Store};
use tokio::sync::Notify;

/// Attempts before a message is marked failed (retries span about 18 hours).
pub const MAX_ATTEMPTS: u32 = 16;

/// Messages claimed at a time.
const BATCH: u32 = 20;

/// How long a claim keeps a message from other workers: comfortably longer than sending a
/// whole batch, even at the SMTP timeout.
pub const LEASE: SignedDuration = SignedDuration::from_mins(15);

/// Time kept in hand: a message whose claim ends sooner than this is not sent but left for
/// the next claim, so it is never sent after another worker may have taken it.
const MARGIN: SignedDuration = SignedDuration::from_mins(1);

/// How long to wait after the `attempts`-th failed attempt, or `None` to give up.
///
/// One minute, doubling each time, never more than two hours between attempts.
pub fn retry_delay(attempts: u32) -> Option<SignedDuration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let minutes = 1_i64 << attempts.saturating_sub(1).min(7);
    Some(SignedDuration::from_mins(minutes.min(120)))
}

/// Why the mail settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error(
        "the SMTP URL is not valid ({0}); use a form like smtp://127.0.0.1:2525 or smtps://user:password@mail.example.com"
    )]
    Url(String),
    #[error(
        "the sender address {0:?} is not valid; use a form like \"Practice name <practice@example.com>\""
    )]
    From(String),
}

/// Where and as whom to send.
#[derive(Clone)]
pub struct SmtpSettings {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// One sender for every message, or `None`: each practice's own name and notification
    /// address (one database may hold several practices).
    from: Option<Mailbox>,
}

impl SmtpSettings {
    /// Parse `smtp://host:port`, `smtp://…?tls=required` (STARTTLS) or `smtps://…` (TLS),
    /// with optional `user:password@`, and a sender such as `Name <address>`.
    pub fn parse(url: &str, from: &str) -> Result<Self, MailConfigError> {
        let mut settings = Self::each_practice(url)?;
        settings.from = Some(
            from.parse::<Mailbox>()
                .map_err(|_| MailConfigError::From(from.to_owned()))?,
        );
        Ok(settings)
    }

    /// Like [`SmtpSettings::parse`], but each message is sent as its practice: the
    /// practice's name and notification address.
    pub fn each_practice(url: &str) -> Result<Self, MailConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailConfigError::Url(e.to_string()))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Self {
            transport,
            from: None,
        })
    }
}

/// Where the worker gets "now" from (the app's clock, so pinned demos behave).
pub type Now = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The outbox delivery worker.
pub struct Mailer {
    store: Arc<dyn Store>,
    smtp: SmtpSettings,
    now: Now,
    wake: Arc<Notify>,
    prepare: Option<Prepare>,
}

/// Turns a stored body into the body sent (opening secrets sealed in it); an error keeps the
/// message in the outbox as a failed attempt.
pub type Prepare = Arc<
    dyn Fn(OutboxMessage) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>>
        + Send
        + Sync,
>;

/// Build an email from an outbox row.
pub fn build_message(message: &OutboxMessage, from: &Mailbox) -> Result<Message, String> {
    let to: Mailbox = message
        .to
        .as_str()
        .parse()
        .map_err(|e| format!("bad recipient: {e}"))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(message.message_id.clone()));
    let built = match &message.calendar {
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(message.body_text.clone()),
        // multipart/mixed { text/plain, text/calendar; method=… } with the calendar also
        // offered as invite.ics: what Outlook, Gmail and Apple Mail all understand.
        Some(calendar) => {
            let method = if calendar.method == "CANCEL" {
                "CANCEL"
            } else {
                "REQUEST"
            };
            let calendar_type =
                ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                    .map_err(|e| format!("bad calendar content type: {e}"))?;
            let attachment =
                Attachment::new("invite.ics".to_owned()).body(calendar.ics.clone(), calendar_type);
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(message.body_text.clone()))
                    .singlepart(attachment),
            )
        }
    };
    built.map_err(|e| format!("could not build the message: {e}"))
}

impl Mailer {
    /// A worker that sends through `smtp`; `wake` is notified when a message is queued.
    pub fn new(store: Arc<dyn Store>, smtp: SmtpSettings, now: Now, wake: Arc<Notify>) -> Self {
        Self {
            store,
            smtp,
            now,
            wake,
            prepare: None,
        }
    }

    /// Make every body ready just before sending with `prepare` (given the whole message).
    #[must_use]
    pub fn with_prepare(mut self, prepare: Prepare) -> Self {
        self.prepare = Some(prepare);
        self
    }

    /// Who a message is from: the configured sender, or its practice.
    async fn sender(&self, message: &OutboxMessage) -> Result<Mailbox, String> {
        if let Some(from) = &self.smtp.from {
            return Ok(from.clone());
        }
        let practice = self
            .store
            .practice(message.practice)
            .await
            .map_err(|e| format!("could not read the practice: {e}"))?;
        let address = practice
            .details
            .notify_email
            .as_str()
            .parse()
            .map_err(|e| format!("the practice's notification address: {e}"))?;
        Ok(Mailbox::new(Some(practice.details.name.clone()), address))
    }

    /// The message as it is sent.
    async fn prepared(&self, message: &OutboxMessage) -> Result<Message, String> {
        let from = self.sender(message).await?;
        match &self.prepare {
            None => build_message(message, &from),
            Some(prepare) => {
                let body_text = prepare(message.clone()).await?;
                let ready = OutboxMessage {
                    body_text,
                    ..message.clone()
                };
                build_message(&ready, &from)
            }
        }
    }

    /// Try every message that is due once. Returns how many were sent.
    pub async fn deliver_due(&self) -> Result<usize, store::StoreError> {
        let mut sent = 0;
        loop {
            let due = self.store.claim_due((self.now)(), LEASE, BATCH).await?;
            if due.is_empty() {
                return Ok(sent);
            }
            let mut progressed = false;
            for message in &due {
                let running_out = message
                    .claimed_until
                    .is_none_or(|until| until.duration_since((self.now)()) < MARGIN);
                if running_out {
                    // A server so slow that the batch outlived its lease: the rest are
                    // claimed again (here or by another worker) when the lease ends.
                    tracing::warn!(message = message.id.get(), "claim ran out before sending");
                    return Ok(sent);
                }
                let outcome = match self.prepared(message).await {
                    Ok(email) => self
                        .smtp
                        .transport
                        .send(email)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                    Err(reason) => Err(reason),
                };
                match outcome {
                    Ok(()) => {
                        self.store.mark_sent(message.id, (self.now)()).await?;
                        tracing::info!(
                            message = message.id.get(),
                            kind = message.kind,
                            "email sent"
                        );
                        sent += 1;
                        progressed = true;
                    }
                    Err(reason) => {
                        let attempts = message.attempts + 1;
                        let retry_at =
                            retry_delay(attempts).and_then(|d| (self.now)().checked_add(d).ok());
                        tracing::warn!(
                            message = message.id.get(),
                            attempts,
                            error = reason,
                            "email not sent; will retry"
                        );
                        self.store
                            .mark_failed(message.id, &reason, retry_at)
                            .await?;
                    }
                }
            }
            if !progressed {
                return Ok(sent);
            }
        }
    }

    /// Deliver until `shutdown` resolves: on every wake-up and at least every 15 seconds.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(error) = self.deliver_due().await {
                tracing::error!(error = %error, "the outbox could not be read");
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(15)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps_then_gives_up() {
        let minutes: Vec<_> = (1..=MAX_ATTEMPTS)
            .map(|n| retry_delay(n).map(|d| d.as_mins()))
            .collect();
        assert_eq!(
            minutes[..8],
            [
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(64),
                Some(120)
            ]
        );
        assert_eq!(minutes[10], Some(120));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
        let total: i64 = (1..MAX_ATTEMPTS)
            .filter_map(retry_delay)
            .map(|d| d.as_mins())
            .sum();
        assert!(
            (12 * 60..=26 * 60).contains(&total),
            "retries span about a day, got {total} minutes"
        );
    }

    #[test]
    fn settings_are_checked() {
        assert!(SmtpSettings::parse("smtp://127.0.0.1:2525", "Practice <p@example.com>").is_ok());
        assert!(SmtpSettings::parse("smtps://u:p@mail.example.com", "p@example.com").is_ok());
        assert!(matches!(
            SmtpSettings::parse("http://x", "p@example.com"),
            Err(MailConfigError::Url(_))
        ));
        assert!(matches!(
            SmtpSettings::parse("smtp://127.0.0.1:25", "not an address"),
            Err(MailConfigError::From(_))
        ));
    }
}
