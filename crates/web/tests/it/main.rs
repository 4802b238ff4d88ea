//! Integration tests: the real app on a loopback port, driven over HTTP like a browser.
//!
//! One binary (so it links once); each test spawns its own [`helpers::TestApp`].

extern crate anteroom_web as web;

mod access;
mod api;
mod audit;
mod booking;
mod connections;
mod directory;
mod enquiries;
mod hardening;
mod helpers;
mod hsds;
mod jobs;
mod keys;
mod look;
mod measures;
mod office_auth;
mod office_booking;
mod office_clients;
mod office_content;
mod office_security;
mod office_therapy;
mod operations;
mod operator;
mod photos;
mod portal;
mod public_site;
mod rights;
mod structured_data;
