//! The subject-access export (UK GDPR art. 15; SECURITY.md R16): everything held about one
//! client, as a zip with machine-readable JSON (`data.json`) and a readable page (`index.html`).
//!
//! The rows come from the store as typed values under kinds of record (`store::rights`),
//! found by the backend from its own description of its tables, so this module names no
//! table: it gives each kind of record a heading and renders the values. Secrets (token and
//! password hashes, the wrapped key) never leave the store; notes come as ids, are opened
//! and their text put in their place, because the client has a right to what is written
//! about them. The therapist reviews the export for other people's information before
//! sending it (the office says so). Used by the office and by the client portal's
//! "download my data".

use std::collections::HashMap;

use jiff::tz::TimeZone;
use minijinja::context;
use serde_json::{Map, Value as Json, json};
use store::{
    ClientId, NoteId,
    rights::{ClientRows, Kind, Record, Value},
};

use crate::{Here, WebError, error::WebResult, words};

/// How the export shows one kind of record.
struct Shown {
    heading: &'static str,
    about: &'static str,
    /// How its rows were found, in words.
    found_by: &'static str,
}

const OWN_ID: &str = "rows with the client's id";
const BELONGING: &str = "rows belonging to the records above";

/// The heading, a line of explanation and how the rows were found, for each kind of record
/// (every kind is listed: a new one does not compile until it has its words here).
fn shown(record: Record) -> Shown {
    let (heading, about, found_by) = match record {
        Record::Client => (
            "Your details",
            "Your name and how to contact you.",
            "the client's own record",
        ),
        Record::Consultation => (
            "Your first consultation",
            "The consultation you booked, and what came of it.",
            "the consultation the work came from, and bookings made with the client's \
             email address",
        ),
        Record::Contract => (
            "What we agreed",
            "The contracts for our work together.",
            OWN_ID,
        ),
        Record::ContractVersion => (
            "Each version of what we agreed",
            "Every change to a contract is kept as a new version.",
            BELONGING,
        ),
        Record::Session => (
            "Sessions",
            "Each session, when and where it was, and what happened.",
            OWN_ID,
        ),
        Record::Charge => (
            "Charges",
            "What each session cost under the cancellation policy, and any waived.",
            OWN_ID,
        ),
        Record::Invoice => ("Invoices", "Invoices sent to you.", OWN_ID),
        Record::InvoiceLine => ("Invoice lines", "What each invoice was for.", BELONGING),
        Record::Note => (
            "Notes",
            "The therapist's notes. They are stored encrypted; here is their text.",
            OWN_ID,
        ),
        Record::MeasurePlan => (
            "Questionnaires agreed",
            "Which questionnaires your contract asks for, and when.",
            BELONGING,
        ),
        Record::Questionnaire => (
            "Questionnaires",
            "Each questionnaire asked for or filled in, with your answers (each the number of \
             the option chosen, 0 for the first), their total score, and any note made when an \
             answer needed attention.",
            OWN_ID,
        ),
        Record::MeasureStop => (
            "Asked not to be sent questionnaires",
            "When you asked to stop being sent questionnaires.",
            OWN_ID,
        ),
        Record::DataKey => (
            "Your encryption key",
            "When the key for your notes was made. The key itself is a secret and is not \
             included.",
            OWN_ID,
        ),
        Record::BreakNotice => (
            "Notices of breaks",
            "When you were told about a break.",
            OWN_ID,
        ),
        Record::PortalLink => (
            "Sign-in links",
            "Each link to sign in to your portal that you asked for, and when it was used. \
             The links themselves are secrets and are not included.",
            OWN_ID,
        ),
        Record::PortalSession => (
            "Portal sign-ins",
            "Each time you were signed in to your portal, and when you last used it.",
            OWN_ID,
        ),
        Record::EmailChange => (
            "Changes of your email address",
            "Each time you asked in the portal for your email address to change, and when the \
             new address was confirmed. The links sent to confirm them are secrets and are not \
             included.",
            OWN_ID,
        ),
        Record::Email => (
            "Emails",
            "Emails sent to you, or that mention you.",
            "emails to the client, the practice's notices naming them, and links sent to \
             confirm a new address",
        ),
        Record::Enquiry => (
            "Messages from the contact form",
            "Messages sent from your email address.",
            "messages sent from the client's email address",
        ),
        Record::AuditEntry => (
            "Who has seen or changed your record",
            "Every time your record was opened or changed, by whom and from where.",
            OWN_ID,
        ),
        Record::SubjectAccessRequest => (
            "Your requests for your data",
            "When you asked for a copy of your data, and when it was answered.",
            OWN_ID,
        ),
        Record::RetentionDecision => (
            "Decisions about keeping your record",
            "Why your record was kept, and until when.",
            OWN_ID,
        ),
        Record::Erasure => ("Erasure", "Only present if your record was erased.", OWN_ID),
    };
    Shown {
        heading,
        about,
        found_by,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A value in `data.json`: instants in UTC (RFC 3339), dates as `YYYY-MM-DD`.
fn json_value(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Text(text) => json!(text),
        Value::Integer(n) => json!(n),
        Value::Bool(yes) => json!(yes),
        Value::Instant(at) => json!(at.to_string()),
        Value::Date(day) => json!(day.to_string()),
        Value::Bytes(bytes) => json!(hex(bytes)),
        // Opened before rendering (`open_notes`); a note still sealed shows nothing.
        Value::Note(_) => Json::Null,
    }
}

/// A value on the readable page: instants in the practice's time zone, dates in words.
fn text_value(zone: &TimeZone, column: &str, value: &Value) -> String {
    match value {
        Value::Null | Value::Note(_) => String::new(),
        Value::Text(text) if column == "action" => store::audit::label_of(text).to_owned(),
        Value::Text(text) => text.clone(),
        Value::Integer(n) => n.to_string(),
        Value::Bool(yes) => if *yes { "yes" } else { "no" }.to_owned(),
        Value::Instant(at) => words::date_and_time(zone.to_datetime(*at)),
        Value::Date(day) => words::date(*day),
        Value::Bytes(bytes) => hex(bytes),
    }
}

/// Put each note's text in place of its id.
async fn open_notes(state: &Here, client: ClientId, records: &mut [ClientRows]) -> WebResult<()> {
    let sealed = |v: &Value| matches!(v, Value::Note(_));
    if !records
        .iter()
        .any(|r| r.rows.iter().any(|row| row.iter().any(sealed)))
    {
        return Ok(());
    }
    let opened: HashMap<NoteId, String> = crate::notes::all(state, client)
        .await?
        .into_iter()
        .map(|n| (n.id, n.text))
        .collect();
    for value in records.iter_mut().flat_map(|r| r.rows.iter_mut().flatten()) {
        if let Value::Note(id) = value {
            let text = opened.get(id).cloned().ok_or_else(|| {
                WebError::Internal(anyhow::anyhow!("note {id} could not be opened"))
            })?;
            *value = Value::Text(text);
        }
    }
    Ok(())
}

/// What the client's own download says about the therapist's notes.
const NOTES_NOT_INCLUDED: &str = "Your therapist's notes are not in this download. You have \
    a right to them too: ask the practice for a copy and they will send it within one \
    calendar month, after reading it through for anything about other people.";

/// Who an export is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// The practice, answering a subject access request: everything, notes decrypted, for
    /// the therapist to read through before sending it.
    Practice,
    /// The client themselves, from the portal, straight away: everything except the
    /// therapist's notes (and the addresses staff worked from).
    Client,
}

/// Replace every private link in `text` (`/booking/…`, `/invoice/…`, `/portal/link/…`,
/// `/portal/email/…` followed by a 64-digit secret) by the path without its secret.
pub(crate) fn without_private_links(text: &str) -> String {
    const PREFIXES: [&str; 4] = ["/booking/", "/invoice/", "/portal/link/", "/portal/email/"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for prefix in PREFIXES {
            if let Some(after) = rest.strip_prefix(prefix) {
                let secret = after.bytes().take_while(u8::is_ascii_hexdigit).count();
                if secret >= 32 {
                    out.push_str(prefix);
                    out.push_str("[private link removed]");
                    rest = &after[secret..];
                    continue 'scan;
                }
            }
        }
        let next = rest.chars().next().map_or(1, char::len_utf8);
        out.push_str(&rest[..next]);
        rest = &rest[next..];
    }
    out
}

/// The export as a download: `client-<id>-data-<date>.zip`.
pub(crate) async fn export_download(
    state: &Here,
    client: ClientId,
    audience: Audience,
) -> WebResult<axum::response::Response> {
    use axum::{
        http::{HeaderValue, header},
        response::IntoResponse,
    };
    let bytes = export_zip(state, client, audience).await?;
    let view = crate::therapy::PracticeView::load(state).await?;
    let file = format!(
        "attachment; filename=\"client-{client}-data-{}.zip\"",
        view.today(state.now())
    );
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = HeaderValue::from_str(&file) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The export of everything held about one of the practice's clients, as zip bytes.
/// Another practice's client, or none, is `NotFound`.
pub(crate) async fn export_zip(
    state: &Here,
    client: ClientId,
    audience: Audience,
) -> WebResult<Vec<u8>> {
    let practice_id = state.practice_id();
    let mut records = state.store().client_rows(practice_id, client).await?;
    match audience {
        Audience::Practice => open_notes(state, client, &mut records).await?,
        Audience::Client => {
            // The therapist's notes go to a client only through a request the therapist
            // reviews first; what is the practice's (the addresses staff worked from) is
            // not the client's data.
            records.retain(|r| !r.columns.iter().any(|c| c.kind == Kind::Note));
            for record in &mut records {
                for (at, _) in record
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !c.to_client)
                {
                    for row in &mut record.rows {
                        row[at] = Value::Null;
                    }
                }
            }
        }
    }
    // A live private link (a booking's manage link, an invoice link) in an email's text is
    // a key to that page: an export can travel, so the links are taken out.
    for value in records.iter_mut().flat_map(|r| r.rows.iter_mut().flatten()) {
        if let Value::Text(text) = value {
            *text = without_private_links(text);
        }
    }
    let practice = state.store().practice(practice_id).await?;
    let zone =
        TimeZone::get(&practice.details.time_zone).map_err(|e| WebError::Internal(e.into()))?;
    let client_row = state.store().client(practice_id, client).await?;
    let now = state.now();

    let mut json_records = Map::new();
    let mut sections = Vec::new();
    for record in &records {
        let shown = shown(record.record);
        let key = record.record.key();
        let rows: Vec<Json> = record
            .rows
            .iter()
            .map(|row| {
                Json::Object(
                    record
                        .columns
                        .iter()
                        .zip(row)
                        .map(|(column, value)| (column.name.to_owned(), json_value(value)))
                        .collect(),
                )
            })
            .collect();
        json_records.insert(
            key.to_owned(),
            json!({
                "found_by": shown.found_by,
                "withheld_columns": record.withheld,
                "rows": rows,
            }),
        );
        if !record.rows.is_empty() {
            let rows: Vec<Vec<String>> = record
                .rows
                .iter()
                .map(|row| {
                    record
                        .columns
                        .iter()
                        .zip(row)
                        .map(|(column, value)| text_value(&zone, column.name, value))
                        .collect()
                })
                .collect();
            sections.push(context! {
                table => key,
                heading => shown.heading,
                about => shown.about,
                columns => record.columns.iter().map(|c| c.name.replace('_', " ")).collect::<Vec<_>>(),
                rows,
            });
        }
    }
    let exported = zone.to_datetime(now);
    let data = json!({
        "format": "anteroom-subject-access-export",
        "version": 2,
        "practice": practice.details.name,
        "controller": practice.privacy.controller,
        "client_id": client.get(),
        "exported_at": now.to_string(),
        "about": "Every record this practice holds about you, table by table, as stored. \
                  Times are in UTC, dates are year-month-day. Secrets (the hashes of links, \
                  private links in emails and the key that encrypts your notes) are left out.",
        "notes": match audience {
            Audience::Practice => "Included, decrypted.",
            Audience::Client => NOTES_NOT_INCLUDED,
        },
        "tables": json_records,
    });
    let json_text =
        serde_json::to_string_pretty(&data).map_err(|e| WebError::Internal(e.into()))?;
    let html = state.templates().render(
        "rights/export.html",
        context! {
            practice => practice.details.name.as_str(),
            controller => practice.privacy.controller.as_str(),
            ico_registration => practice.privacy.ico_registration.as_str(),
            name => client_row.name.as_str(),
            notes_left_out => (audience == Audience::Client).then_some(NOTES_NOT_INCLUDED),
            exported => words::date_at_time(exported),
            sections,
        },
    )?;
    // Completed questionnaires again, as FHIR R4 for another system.
    let (catalogue, questionnaires) =
        tokio::try_join!(crate::measures::Catalogue::load(state), async {
            Ok(state.store().questionnaires(practice_id, client).await?)
        },)?;
    let fhir = crate::measures::fhir::bundle(&catalogue, &questionnaires, now)?;
    let fhir_text =
        serde_json::to_string_pretty(&fhir).map_err(|e| WebError::Internal(e.into()))?;
    zip_stored(
        &[
            ("data.json", json_text.as_bytes()),
            ("index.html", html.as_bytes()),
            ("questionnaires.fhir.json", fhir_text.as_bytes()),
        ],
        exported,
    )
}

// ---- A zip file, stored without compression (PKWARE APPNOTE.TXT §4.3) -----------------------

/// CRC-32 as zip uses it (IEEE 802.3, reflected, polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |crc, b| {
        TABLE[((crc ^ u32::from(*b)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

/// MS-DOS time and date, the only times a basic zip entry holds (local time, 2-second steps).
fn dos_time(at: jiff::civil::DateTime) -> (u16, u16) {
    let year = u16::try_from(at.year().clamp(1980, 2107) - 1980).unwrap_or(0);
    let month = u16::try_from(at.month()).unwrap_or(1);
    let day = u16::try_from(at.day()).unwrap_or(1);
    let hour = u16::try_from(at.hour()).unwrap_or(0);
    let minute = u16::try_from(at.minute()).unwrap_or(0);
    let second = u16::try_from(at.second()).unwrap_or(0);
    (
        (hour << 11) | (minute << 5) | (second / 2),
        (year << 9) | (month << 5) | day,
    )
}

/// A zip archive of `files`, each stored as is. Names are UTF-8 (flag bit 11).
fn zip_stored(files: &[(&str, &[u8])], at: jiff::civil::DateTime) -> WebResult<Vec<u8>> {
    let too_big = || WebError::Internal(anyhow::anyhow!("the export is too large for a zip file"));
    let (time, date) = dos_time(at);
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, content) in files {
        let offset = u32::try_from(out.len()).map_err(|_| too_big())?;
        let size = u32::try_from(content.len()).map_err(|_| too_big())?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_big())?;
        let crc = crc32(content);
        // The fields both headers share, from "version needed" to "extra field length".
        let mut common = Vec::new();
        common.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        common.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
        common.extend_from_slice(&0u16.to_le_bytes()); // stored
        common.extend_from_slice(&time.to_le_bytes());
        common.extend_from_slice(&date.to_le_bytes());
        common.extend_from_slice(&crc.to_le_bytes());
        common.extend_from_slice(&size.to_le_bytes()); // compressed
        common.extend_from_slice(&size.to_le_bytes()); // uncompressed
        common.extend_from_slice(&name_len.to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // extra field length

        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&common);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(content);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&common);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        central.extend_from_slice(&0u16.to_le_bytes()); // disk number
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = u32::try_from(out.len()).map_err(|_| too_big())?;
    let central_size = u32::try_from(central.len()).map_err(|_| too_big())?;
    let count = u16::try_from(files.len()).map_err(|_| too_big())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // this disk
    out.extend_from_slice(&0u16.to_le_bytes()); // disk with the central directory
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_links_are_taken_out_of_exported_text() {
        let secret = "ab".repeat(32);
        let text = format!(
            "Manage it: https://x.example/booking/{secret}?new=1\nInvoice /invoice/{secret}. Café /booking/short"
        );
        let cleaned = without_private_links(&text);
        assert!(!cleaned.contains(&secret), "{cleaned}");
        assert_eq!(
            cleaned,
            "Manage it: https://x.example/booking/[private link removed]?new=1\nInvoice /invoice/[private link removed]. Café /booking/short"
        );
    }

    #[test]
    fn crc32_matches_the_check_value() {
        // The standard check value for CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_zip_ends_with_its_directory() {
        let at = jiff::civil::date(2027, 3, 25).at(10, 30, 14, 0);
        let zip = zip_stored(&[("a.txt", b"hello"), ("b.txt", b"")], at).unwrap();
        assert_eq!(&zip[..4], b"PK\x03\x04");
        let end = &zip[zip.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2, "two entries");
        assert_eq!(
            dos_time(at),
            ((10 << 11) | (30 << 5) | 7, (47 << 9) | (3 << 5) | 25)
        );
    }
}
