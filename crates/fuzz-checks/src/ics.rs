//! Calendar files (`mail::ics`), read back by a strict parser of our own (RFC 5545).
//!
//! Properties: every line ends in CRLF, no physical line is longer than 75 octets, no
//! control character other than tab is left in the text; unfolded, the file is one
//! VCALENDAR of well-formed content lines holding one VEVENT per event, and every text
//! value unescapes to exactly what was given (carriage returns, and other control
//! characters, dropped), with the times to the second and the people's names and addresses.

use jiff::Timestamp;
use mail::ics::{Event, Method, calendar};

use crate::Input;

const STATUSES: [&str; 3] = ["CONFIRMED", "TENTATIVE", "CANCELLED"];
/// 1900-01-01 and 2200-01-01, in seconds from 1970.
const FIRST: i64 = -2_208_988_800;
const SPAN: u64 = 9_467_280_000;

fn timestamp(input: &mut Input<'_>) -> Timestamp {
    let seconds = FIRST + i64::try_from(u64::from(input.u32()) * 3 % SPAN).unwrap_or(0);
    let nanos = i32::try_from(input.u32() % 1_000_000_000).unwrap_or(0);
    Timestamp::new(seconds, nanos).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// What a TEXT value should read back as.
fn expected(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_ascii_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// A TEXT value unescaped (RFC 5545 §3.3.11); unescaped `,` `;` or a stray `\` fail.
fn unescape(value: &str, ics: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some(';') => out.push(';'),
                Some(',') => out.push(','),
                Some('n' | 'N') => out.push('\n'),
                other => panic!("a bad escape \\{other:?} in {value:?}\n{ics}"),
            },
            ';' | ',' => panic!("an unescaped {c:?} in {value:?}\n{ics}"),
            c => out.push(c),
        }
    }
    out
}

/// A content line: name, parameters (name, value) and value.
struct Line {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

fn content_line(line: &str, ics: &str) -> Line {
    let name_end = line
        .find([';', ':'])
        .unwrap_or_else(|| panic!("no ':' in {line:?}\n{ics}"));
    let name = &line[..name_end];
    assert!(
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'-'),
        "a bad property name {name:?}\n{ics}"
    );
    let mut rest = &line[name_end..];
    let mut params = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let (param, value_etc) = after
            .split_once('=')
            .unwrap_or_else(|| panic!("a parameter without '=' in {line:?}\n{ics}"));
        let (value, remaining) = if let Some(quoted) = value_etc.strip_prefix('"') {
            let close = quoted
                .find('"')
                .unwrap_or_else(|| panic!("an unclosed quote in {line:?}\n{ics}"));
            (&quoted[..close], &quoted[close + 1..])
        } else {
            let end = value_etc
                .find([';', ':', ','])
                .unwrap_or_else(|| panic!("a parameter runs to the end of {line:?}\n{ics}"));
            (&value_etc[..end], &value_etc[end..])
        };
        params.push((param.to_owned(), value.to_owned()));
        rest = remaining;
    }
    let value = rest
        .strip_prefix(':')
        .unwrap_or_else(|| panic!("no ':' after the parameters of {line:?}\n{ics}"));
    Line {
        name: name.to_owned(),
        params,
        value: value.to_owned(),
    }
}

fn person(line: &Line, who: &(String, String), ics: &str) {
    let cn = line
        .params
        .iter()
        .find(|(k, _)| k == "CN")
        .map(|(_, v)| v.as_str());
    let name: String = expected(&who.0).replace(['"', '\n'], "");
    assert_eq!(cn, Some(name.as_str()), "CN of {who:?}\n{ics}");
    assert_eq!(
        line.value,
        format!("mailto:{}", expected(&who.1).replace(['\n', '\t'], "")),
        "{ics}"
    );
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let method = [Method::Request, Method::Cancel, Method::Publish][input.below(3) as usize];
    let now = timestamp(&mut input);
    let count = input.below(4) as usize;
    let name = input.bool().then(|| input.text());
    let events: Vec<Event> = (0..count)
        .map(|_| {
            let start = timestamp(&mut input);
            let end = timestamp(&mut input);
            let sequence = input.u32();
            let status = STATUSES[input.below(3) as usize];
            let uid = input.text();
            let summary = input.text();
            let location = input.text();
            let description = input.text();
            let organizer = input.bool().then(|| (input.text(), input.text()));
            let attendee = input.bool().then(|| (input.text(), input.text()));
            Event {
                uid,
                sequence,
                start,
                end,
                summary,
                location,
                description,
                status,
                organizer,
                attendee,
            }
        })
        .collect();
    let ics = calendar(method, &events, now, name.as_deref());

    assert!(ics.ends_with("\r\n"), "{ics}");
    let physical: Vec<&str> = ics[..ics.len() - 2].split("\r\n").collect();
    for line in &physical {
        assert!(line.len() <= 75, "{line:?} is {} octets\n{ics}", line.len());
        assert!(
            !line.chars().any(|c| c.is_ascii_control() && c != '\t'),
            "a control character in {line:?}\n{ics}"
        );
    }
    let mut logical: Vec<String> = Vec::new();
    for line in physical {
        match line.strip_prefix(' ') {
            Some(more) => logical
                .last_mut()
                .unwrap_or_else(|| panic!("the file starts with a continuation\n{ics}"))
                .push_str(more),
            None => logical.push(line.to_owned()),
        }
    }
    let lines: Vec<Line> = logical.iter().map(|l| content_line(l, &ics)).collect();
    let at = |i: usize| lines.get(i).map(|l| (l.name.as_str(), l.value.as_str()));
    assert_eq!(at(0), Some(("BEGIN", "VCALENDAR")), "{ics}");
    assert_eq!(at(lines.len() - 1), Some(("END", "VCALENDAR")), "{ics}");
    let property = |from: usize, name: &str| -> Option<&Line> {
        lines[from..]
            .iter()
            .take_while(|l| !(l.name == "END" && l.value == "VEVENT"))
            .find(|l| l.name == name)
    };
    assert!(
        lines
            .iter()
            .any(|l| l.name == "METHOD" && l.value == method.as_str())
    );
    if let Some(name) = &name {
        let cal = property(0, "X-WR-CALNAME").expect("the calendar's name");
        assert_eq!(unescape(&cal.value, &ics), expected(name), "{ics}");
    }
    let begins: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.name == "BEGIN" && l.value == "VEVENT")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(begins.len(), events.len(), "{ics}");
    let utc = |t: Timestamp| t.strftime("%Y%m%dT%H%M%SZ").to_string();
    for (&begin, event) in begins.iter().zip(&events) {
        let text = |name: &str| property(begin, name).map(|l| unescape(&l.value, &ics));
        assert_eq!(text("UID"), Some(expected(&event.uid)), "{ics}");
        assert_eq!(text("SUMMARY"), Some(expected(&event.summary)), "{ics}");
        let or_none = |t: &str| (!t.is_empty()).then(|| expected(t));
        assert_eq!(text("LOCATION"), or_none(&event.location), "{ics}");
        assert_eq!(text("DESCRIPTION"), or_none(&event.description), "{ics}");
        let value = |name: &str| property(begin, name).map(|l| l.value.clone());
        assert_eq!(value("SEQUENCE"), Some(event.sequence.to_string()));
        assert_eq!(value("STATUS").as_deref(), Some(event.status));
        for (name, at) in [
            ("DTSTART", event.start),
            ("DTEND", event.end),
            ("DTSTAMP", now),
        ] {
            let written = value(name).unwrap_or_default();
            assert_eq!(written.len(), 16, "{name}:{written}\n{ics}");
            let second =
                Timestamp::from_second(at.as_second() - i64::from(at.subsec_nanosecond() < 0))
                    .unwrap_or(at);
            assert_eq!(written, utc(second), "{ics}");
        }
        for (name, who) in [
            ("ORGANIZER", &event.organizer),
            ("ATTENDEE", &event.attendee),
        ] {
            match (property(begin, name), who) {
                (Some(line), Some(who)) => person(line, who, &ics),
                (None, None) => {}
                (line, who) => panic!("{name}: {:?} for {who:?}\n{ics}", line.map(|l| &l.value)),
            }
        }
    }
}
