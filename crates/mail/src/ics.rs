//! iCalendar (RFC 5545) for booking emails, downloads and the therapist's feed.
//!
//! Hand-written rather than a crate: every event is a single VEVENT with times in UTC
//! (so no VTIMEZONE is needed), text is escaped (RFC 5545 §3.3.11), lines end in CRLF and
//! are folded at 75 octets without splitting a UTF-8 character (§3.1).

use jiff::Timestamp;

/// What the calendar should do with the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Add or update (with a higher SEQUENCE) the event.
    Request,
    /// Remove the event.
    Cancel,
    /// A plain calendar file for download or a subscription feed.
    Publish,
}

impl Method {
    /// The METHOD value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
            Self::Publish => "PUBLISH",
        }
    }
}

/// One appointment as a calendar event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stable for the appointment's whole life.
    pub uid: String,
    /// Increases with every change.
    pub sequence: u32,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: String,
    pub location: String,
    pub description: String,
    /// `CONFIRMED`, `TENTATIVE` or `CANCELLED`.
    pub status: &'static str,
    /// Who organises it: (name, email).
    pub organizer: Option<(String, String)>,
    /// Who attends: (name, email).
    pub attendee: Option<(String, String)>,
}

fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escape TEXT values: backslash, semicolon, comma and newlines. Carriage returns and the
/// other control characters RFC 5545 does not allow in text (all but tab) are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push(c),
            c if c.is_ascii_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Append one content line, folded at 75 octets, ending in CRLF.
fn line(out: &mut String, text: &str) {
    let mut width = 0;
    for c in text.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// `CN="name":mailto:email`: a quoted parameter value may hold neither `"` nor a control
/// character other than tab, and an address none at all (nor could a line break end the
/// property early).
fn mailto(name: &str, email: &str) -> String {
    let name: String = name
        .chars()
        .filter(|&c| c != '"' && (c == '\t' || !c.is_ascii_control()))
        .collect();
    let email: String = email.chars().filter(|c| !c.is_ascii_control()).collect();
    format!("CN=\"{name}\":mailto:{email}")
}

/// A VCALENDAR holding `events`, stamped `now`.
pub fn calendar(method: Method, events: &[Event], now: Timestamp, name: Option<&str>) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Anteroom//Practice calendar//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, &format!("METHOD:{}", method.as_str()));
    if let Some(name) = name {
        line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    }
    for event in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", escape(&event.uid)));
        line(&mut out, &format!("SEQUENCE:{}", event.sequence));
        line(&mut out, &format!("DTSTAMP:{}", utc(now)));
        line(&mut out, &format!("DTSTART:{}", utc(event.start)));
        line(&mut out, &format!("DTEND:{}", utc(event.end)));
        line(&mut out, &format!("SUMMARY:{}", escape(&event.summary)));
        if !event.location.is_empty() {
            line(&mut out, &format!("LOCATION:{}", escape(&event.location)));
        }
        if !event.description.is_empty() {
            line(
                &mut out,
                &format!("DESCRIPTION:{}", escape(&event.description)),
            );
        }
        line(&mut out, &format!("STATUS:{}", event.status));
        if let Some((name, email)) = &event.organizer {
            line(&mut out, &format!("ORGANIZER;{}", mailto(name, email)));
        }
        if let Some((name, email)) = &event.attendee {
            line(
                &mut out,
                &format!(
                    "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;{}",
                    mailto(name, email)
                ),
            );
        }
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            uid: "booking-1f2e@anteroom".into(),
            sequence: 0,
            start: "2027-03-29T08:00:00Z".parse().unwrap(),
            end: "2027-03-29T08:50:00Z".parse().unwrap(),
            summary: "First consultation, Adeyemi-Holt Psychotherapy".into(),
            location: "Ground floor, 27 Larchwood Mews, Balham, London SW12 9RT".into(),
            description:
                "Manage or cancel: https://example.com/booking/abc\nSee you then; ring the bell."
                    .into(),
            status: "CONFIRMED",
            organizer: Some((
                "Dr Tamsin Adeyemi-Holt".into(),
                "enquiries@example.com".into(),
            )),
            attendee: Some(("Sam Jones".into(), "sam@example.com".into())),
        }
    }

    #[test]
    fn snapshot() {
        let ics = calendar(
            Method::Request,
            &[event()],
            "2027-03-25T09:00:00Z".parse().unwrap(),
            None,
        );
        let expected = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Anteroom//Practice calendar//EN\r\nCALSCALE:GREGORIAN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:booking-1f2e@anteroom\r\nSEQUENCE:0\r\nDTSTAMP:20270325T090000Z\r\nDTSTART:20270329T080000Z\r\nDTEND:20270329T085000Z\r\nSUMMARY:First consultation\\, Adeyemi-Holt Psychotherapy\r\nLOCATION:Ground floor\\, 27 Larchwood Mews\\, Balham\\, London SW12 9RT\r\nDESCRIPTION:Manage or cancel: https://example.com/booking/abc\\nSee you then\r\n \\; ring the bell.\r\nSTATUS:CONFIRMED\r\nORGANIZER;CN=\"Dr Tamsin Adeyemi-Holt\":mailto:enquiries@example.com\r\nATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=\"Sam Jones\":mailto:sam@e\r\n xample.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(ics, expected);
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let mut e = event();
        e.description = "é".repeat(100);
        let ics = calendar(Method::Cancel, &[e], Timestamp::UNIX_EPOCH, None);
        for l in ics.split("\r\n") {
            assert!(l.len() <= 75, "{l:?} is {} octets", l.len());
        }
        assert!(ics.contains("METHOD:CANCEL"));
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("DESCRIPTION:{}", "é".repeat(100))));
    }

    /// Found by the `ics` fuzz target: control characters went into the file as they were,
    /// and a line break in an address would have ended the property early.
    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(escape("a\u{0}b\u{7}c\u{1b}d\u{7f}\te\r\nf"), "abcd\te\\nf");
        assert_eq!(
            mailto("Sam\u{1}\r\n \"J\"", "sam@example.com\r\nATTENDEE:x"),
            "CN=\"Sam J\":mailto:sam@example.comATTENDEE:x"
        );
    }
}
