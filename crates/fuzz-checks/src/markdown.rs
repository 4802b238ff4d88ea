//! Markdown to HTML (`domain::markdown`): articles, the FAQ, profiles, imported files.
//!
//! Properties: never panics; the HTML holds only the tags and attributes Markdown itself
//! produces (raw HTML in the input comes out as text), no `<h1>` (the page title is the only
//! one), every `href`/`src` passes `is_safe_url`, and the plain text and reading time are
//! computed without panicking.

use domain::markdown::{is_safe_url, plain_text, reading_minutes, to_html};

const TAGS: [&str; 29] = [
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "em",
    "strong",
    "del",
    "a",
    "img",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sup",
    "div",
    "span",
    "input",
];
const ATTRIBUTES: [&str; 7] = ["href", "src", "alt", "title", "style", "start", "class"];

fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Check one tag, `rest` starting just after its `<`; returns the bytes it took.
fn tag(rest: &str, html: &str) -> usize {
    let end = rest
        .find('>')
        .unwrap_or_else(|| panic!("an unclosed tag in {html:?}"));
    let inner = &rest[..end];
    let inner = inner.strip_suffix('/').unwrap_or(inner).trim_end();
    let inner = inner.strip_prefix('/').unwrap_or(inner);
    let (name, mut attrs) = inner.split_once(' ').unwrap_or((inner, ""));
    assert!(TAGS.contains(&name), "tag <{name}> in {html:?}");
    while !attrs.trim().is_empty() {
        let a = attrs.trim_start();
        let (attr, value_and_rest) = a
            .split_once("=\"")
            .unwrap_or_else(|| panic!("a malformed attribute {a:?} in {html:?}"));
        assert!(ATTRIBUTES.contains(&attr), "attribute {attr} in {html:?}");
        let close = value_and_rest
            .find('"')
            .unwrap_or_else(|| panic!("an unclosed attribute in {html:?}"));
        let value = unescape(&value_and_rest[..close]);
        match attr {
            "href" | "src" => assert!(is_safe_url(&value), "unsafe {attr}={value:?} in {html:?}"),
            "style" => assert!(
                value.starts_with("text-align: "),
                "style {value:?} in {html:?}"
            ),
            _ => {}
        }
        attrs = &value_and_rest[close + 1..];
    }
    end + 1
}

pub fn check(data: &[u8]) {
    let markdown = String::from_utf8_lossy(data);
    let html = to_html(&markdown);
    let mut rest = html.as_str();
    while let Some(open) = rest.find('<') {
        let taken = tag(&rest[open + 1..], &html);
        rest = &rest[open + 1 + taken..];
    }
    let words = plain_text(&markdown);
    assert!(
        !words.contains("  "),
        "plain text keeps runs of spaces: {words:?}"
    );
    assert!(reading_minutes(&markdown) >= 1);
}
