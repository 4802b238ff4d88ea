//! A tiny SMTP server that accepts every message and keeps it for the test to read (or,
//! while told to, refuses every one for now with a temporary failure, as a mail server
//! having an outage does). Used by the mail worker's tests and by the web tests' running
//! app; never by the product.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// One message as the sink received it.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// The `MAIL FROM` address.
    pub mail_from: String,
    /// Every `RCPT TO` address.
    pub rcpt_to: Vec<String>,
    /// The message itself (headers and body), CRLF line endings, dot-unstuffed.
    pub data: String,
}

impl Received {
    /// A header's value (unfolded), by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.data.split_once("\r\n\r\n")?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The body, with LF line endings.
    pub fn body(&self) -> String {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.replace("\r\n", "\n"))
            .unwrap_or_default()
    }
}

/// A running sink on `127.0.0.1`.
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    refusing: Arc<AtomicBool>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let refusing = Arc::new(AtomicBool::new(false));
        let (store, refuse) = (received.clone(), refusing.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, store.clone(), refuse.clone()));
            }
        });
        Self {
            port,
            received,
            refusing,
        }
    }

    /// From now on, refuse every message with `451` (try again later), or accept them again.
    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }

    /// `smtp://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("sink lock").clone()
    }
}

async fn session(stream: TcpStream, store: Arc<Mutex<Vec<Received>>>, refusing: Arc<AtomicBool>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut current = Received::default();
    if write
        .write_all(b"220 sink.test ESMTP ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        quick_ack(&lines);
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 sink.test\r\n",
            "MAIL" if refusing.load(Ordering::SeqCst) => {
                b"451 4.3.0 Mail server busy, try again later\r\n"
            }
            "MAIL" => {
                current = Received {
                    mail_from: address(&command),
                    ..Received::default()
                };
                b"250 OK\r\n"
            }
            "RCPT" => {
                current.rcpt_to.push(address(&command));
                b"250 OK\r\n"
            }
            "DATA" => {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    quick_ack(&lines);
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                current.data = data;
                store
                    .lock()
                    .expect("sink lock")
                    .push(std::mem::take(&mut current));
                b"250 OK: queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            }
            _ => b"250 OK\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Acknowledge what arrives at once. A client that writes a message in two parts (the text,
/// then the closing dot) waits for the first to be acknowledged before sending the second
/// (Nagle's algorithm), and Linux would hold that acknowledgement back for 40 ms: 40 ms a
/// message, which a test sending a thousand cannot afford. The setting does not last, so it
/// is made before every read.
fn quick_ack(lines: &BufReader<tokio::net::tcp::OwnedReadHalf>) {
    let stream: &TcpStream = lines.get_ref().as_ref();
    let _ = stream.set_quickack(true);
}

/// The address in `MAIL FROM:<a@b>` or `RCPT TO:<a@b>`.
fn address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}
