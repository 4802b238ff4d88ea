//! Integration tests for the outbox worker, against a real (tiny) SMTP server.

extern crate anteroom_mail as mail;

mod delivery;

use test_sink as smtp_sink;
