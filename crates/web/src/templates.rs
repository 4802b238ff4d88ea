//! Templates: embedded in the binary, each overridable from a theme folder.

use std::path::Path;

use std::fmt;

use minijinja::{
    AutoEscape, Environment, Error, Output, State, UndefinedBehavior, Value, escape_formatter,
    value::{Serde, ValueKind},
};

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = embedded![
    "layout.html",
    "macros.html",
    "crisis.html",
    "site/home.html",
    "site/about.html",
    "site/approaches.html",
    "site/approach.html",
    "site/articles.html",
    "site/article.html",
    "site/tags.html",
    "site/tag.html",
    "site/faq.html",
    "site/locations.html",
    "site/fees.html",
    "site/privacy.html",
    "site/urgent_help.html",
    "site/contact.html",
    "site/contact_thanks.html",
    "site/error.html",
    "site/feed.xml",
    "site/sitemap.xml",
    "booking/location.html",
    "booking/times.html",
    "booking/details.html",
    "booking/check.html",
    "booking/manage.html",
    "booking/cancel.html",
    "booking/taken.html",
    "booking/move.html",
    "booking/already.html",
    "office/layout.html",
    "office/sign_in.html",
    "office/sign_in_code.html",
    "office/set_up_authenticator.html",
    "office/recovery_codes.html",
    "office/security.html",
    "office/security_confirm.html",
    "office/dashboard.html",
    "office/articles.html",
    "office/article_form.html",
    "office/confirm_delete.html",
    "office/enquiries.html",
    "office/enquiry.html",
    "office/outbox.html",
    "office/settings.html",
    "office/photos.html",
    "office/photo_upload.html",
    "office/photo.html",
    "office/look.html",
    "office/settings_form.html",
    "office/list_form.html",
    "office/hours_form.html",
    "office/away.html",
    "office/calendar.html",
    "office/booking.html",
    "office/booking_words.html",
    "office/calendar_feed.html",
    "office/move.html",
    "office/move_confirm.html",
    "office/invoices.html",
    "office/invoice.html",
    "office/audit_log.html",
    "office/password_link.html",
    "operator/layout.html",
    "operator/directory.html",
    "directory/layout.html",
    "directory/error.html",
    "directory/search.html",
    "directory/result.html",
    "directory/listing.html",
    "directory/ordering.html",
    "operator/sign_in.html",
    "operator/code.html",
    "operator/set_up.html",
    "operator/error.html",
    "operator/practices.html",
    "operator/new.html",
    "operator/practice.html",
    "operator/listing_review.html",
    "operator/remote.html",
    "operator/export.html",
    "operator/close.html",
    "operator/closed.html",
    "invoice/document.html",
    "invoice/public.html",
    "portal/layout.html",
    "portal/nav.html",
    "portal/sign_in.html",
    "portal/check_email.html",
    "portal/continue.html",
    "portal/link_gone.html",
    "portal/other_browser.html",
    "portal/home.html",
    "portal/cancel.html",
    "portal/invoices.html",
    "portal/invoice.html",
    "portal/details.html",
    "site/guide.html",
    "portal/questionnaire.html",
    "portal/questionnaire_done.html",
    "questionnaire_items.html",
    "office/clients/measures.html",
    "office/clients/measures_form.html",
    "office/clients/scores.html",
    "office/clients/enter_answers.html",
    "office/questionnaire.html",
    "office/outcomes.html",
    "office/measures_settings.html",
    "portal/email_confirm.html",
    "portal/email_changed.html",
    "portal/email_not_changed.html",
    "portal/email_link_gone.html",
    "office/clients/list.html",
    "office/clients/client.html",
    "office/clients/client_form.html",
    "office/clients/contract_form.html",
    "office/clients/outcome.html",
    "office/clients/session.html",
    "office/rights/subject_access.html",
    "office/rights/extend.html",
    "office/rights/decision.html",
    "office/rights/erase.html",
    "office/rights/review.html",
    "rights/export.html",
];

/// Write `text` with `&`, `<`, `>`, `"` and `'` escaped: enough for HTML text and quoted
/// attribute values and for XML, so nothing a visitor or the practice typed can open a tag
/// or leave an attribute. `/` is written as it is (minijinja's own escaping writes it
/// `&#x2f;`, which is valid but which some sitemap and feed readers do not decode).
pub(crate) fn write_escaped(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    let mut written = 0;
    for (i, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        // Each of those is one ASCII byte, so `i` is on a character boundary.
        out.write_str(&text[written..i])?;
        out.write_str(entity)?;
        written = i + 1;
    }
    out.write_str(&text[written..])
}

/// How every `{{ value }}` is written: for HTML and XML templates (auto-escaped by their
/// extension) through [`write_escaped`]; safe strings, numbers and everything in other
/// templates as minijinja writes them.
fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    if *state.auto_escape() == AutoEscape::Html && !value.is_safe() {
        if let Some(text) = value.as_str() {
            return write_escaped(out, text).map_err(Error::from);
        }
        if !matches!(
            value.kind(),
            ValueKind::Undefined | ValueKind::None | ValueKind::Bool | ValueKind::Number
        ) {
            return write_escaped(out, &value.to_string()).map_err(Error::from);
        }
    }
    escape_formatter(out, state, value)
}

/// The `escape` (`e`) filter, escaping as [`formatter`] does.
fn escape(value: &Value) -> Value {
    if value.is_safe() {
        return value.clone();
    }
    let text = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    let mut escaped = String::with_capacity(text.len());
    let _ = write_escaped(&mut escaped, &text);
    Value::from_safe_string(escaped)
}

pub(crate) struct Templates {
    env: Environment<'static>,
}

fn markdown(text: &str) -> Value {
    Value::from_safe_string(domain::markdown::to_html(text))
}

fn money(pence: u32) -> String {
    domain::Pence::new(pence).to_string()
}

/// `2026-05-14` → `14 May 2026`.
fn long_date(text: &str) -> String {
    match text
        .get(..10)
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
    {
        Some(date) => crate::words::date(date),
        None => text.to_owned(),
    }
}

fn tag_label(slug: &str) -> String {
    slug.replace('-', " ")
}

impl Templates {
    /// Load the built-in templates, replacing any that `theme` provides.
    pub fn load(theme: Option<&Path>) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_formatter(formatter);
        env.add_filter("escape", escape);
        env.add_filter("e", escape);
        for (name, source) in TEMPLATES {
            let themed = theme
                .map(|dir| dir.join(name))
                .filter(|path| path.is_file());
            match themed {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        anyhow::anyhow!("cannot read theme template {}: {e}", path.display())
                    })?;
                    env.add_template_owned(*name, text).map_err(|e| {
                        anyhow::anyhow!("theme template {} has an error: {e}", path.display())
                    })?;
                }
                None => env.add_template(name, source)?,
            }
        }
        env.add_global(
            "css_href",
            format!("/assets/site.css?v={}", crate::site::feeds::css_version()),
        );
        env.add_global(
            "notes_js_href",
            format!(
                "/assets/notes.js?v={}",
                crate::site::feeds::notes_js_version()
            ),
        );
        env.add_filter("markdown", markdown);
        env.add_filter("markdown_html", |text: &str| {
            domain::markdown::to_html(text)
        });
        env.add_filter("money", money);
        env.add_filter("long_date", long_date);
        env.add_filter("tag_label", tag_label);
        Ok(Self { env })
    }

    /// Render a template with a context.
    pub fn render(&self, name: &str, context: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
}

/// Turn any serialisable value into a template value.
pub(crate) fn value<T: serde::Serialize>(data: &T) -> Value {
    Value::from(Serde(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A theme folder's template replaces the built-in one and still gets the practice's
    /// chosen stylesheet through the built-in layout.
    #[test]
    fn a_theme_folder_overrides_a_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("site")).unwrap();
        std::fs::write(
            dir.path().join("site/home.html"),
            "{% extends \"layout.html\" %}{% block title %}Home{% endblock %}\
             {% block main %}<p>My own home page</p>{% endblock %}",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let site = minijinja::context! {
            name => "Practice",
            css_href => "/assets/theme.css?t=warm&a=a84a2a&v=1",
            photos => minijinja::context! {},
        };
        let html = templates
            .render("site/home.html", minijinja::context! { site })
            .unwrap();
        assert!(html.contains("<p>My own home page</p>"), "{html}");
        assert!(
            html.contains(r#"href="/assets/theme.css?t=warm&amp;a=a84a2a&amp;v=1""#),
            "{html}"
        );
        let broken = tempfile::tempdir().unwrap();
        std::fs::create_dir(broken.path().join("site")).unwrap();
        std::fs::write(broken.path().join("site/home.html"), "{% if %}").unwrap();
        assert!(Templates::load(Some(broken.path())).is_err());
    }

    #[test]
    fn every_template_compiles() {
        let templates = Templates::load(None).unwrap();
        for (name, _) in TEMPLATES {
            assert!(
                templates.env.get_template(name).is_ok(),
                "{name} does not compile"
            );
        }
    }

    #[test]
    fn escaping_leaves_slashes_and_still_closes_every_way_out_of_text_and_attributes() {
        let mut templates = Templates::load(None).unwrap();
        templates
            .env
            .add_template(
                "probe.html",
                r#"<a href="{{ url }}" title='{{ text }}'>{{ text }}</a>{{ text|e }}{{ n }}{{ safe }}"#,
            )
            .unwrap();
        let page = templates
            .render(
                "probe.html",
                minijinja::context! {
                    url => "https://example.com/articles/a-b?x=1&y=2",
                    text => r#"" onmouseover="x" ' <script>/</script> &amp;"#,
                    n => 42,
                    safe => Value::from_safe_string("<b>kept</b>".into()),
                },
            )
            .unwrap();
        let text =
            "&quot; onmouseover=&quot;x&quot; &#x27; &lt;script&gt;/&lt;/script&gt; &amp;amp;";
        assert_eq!(
            page,
            format!(
                r#"<a href="https://example.com/articles/a-b?x=1&amp;y=2" title='{text}'>{text}</a>{text}42<b>kept</b>"#
            )
        );
        assert!(!page.contains("&#x2f;"));
    }

    #[test]
    fn filters() {
        assert_eq!(long_date("2026-05-14"), "14 May 2026");
        assert_eq!(money(6250), "£62.50");
        assert_eq!(
            markdown("<b>x</b>").to_string(),
            "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
        );
    }

    /// The form macros tie each error to its field: the summary links to an id on the page, the
    /// group or control names its hint and error, and a radio's id is `{name}-{value}`.
    #[test]
    fn form_macros_link_errors_to_their_fields() {
        let mut templates = Templates::load(None).unwrap();
        templates
            .env
            .add_template(
                "probe.html",
                r#"{% import "macros.html" as f %}{{ f.error_summary_one("way-" ~ ways[0][0], error) }}{{ f.radios("way", "How?", ways, "phone", hint="Pick one", error=error) }}{{ f.radios("place", "Where?", [{"value": "leeds", "label": "Leeds", "hint": "1 Road"}], "") }}{{ f.select("day", "Day", [("mon", "Monday"), ("tue", "Tuesday")], "tue", error=error, placeholder="Choose a day") }}"#,
            )
            .unwrap();
        let ways = [("email", "Email"), ("phone", "Phone")];
        let page = templates
            .render(
                "probe.html",
                minijinja::context! { ways => ways, error => "Choose <one>" },
            )
            .unwrap();
        let squashed = page.split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in [
            r##"<li><a href="#way-email">Choose &lt;one&gt;</a></li>"##,
            r#"<fieldset class="fieldset" id="way" aria-describedby="way-hint way-error">"#,
            r#"<p class="error-message" id="way-error"><span class="visually-hidden">Error:</span> Choose &lt;one&gt;</p>"#,
            r#"<input id="way-email" name="way" type="radio" value="email">"#,
            r#"<input id="way-phone" name="way" type="radio" value="phone" checked>"#,
            r#"<label for="way-phone">Phone</label>"#,
            r#"<div class="radio radio-hint"> <input id="place-leeds" name="place" type="radio" value="leeds" aria-describedby="place-leeds-hint">"#,
            r#"<p class="hint" id="place-leeds-hint">1 Road</p>"#,
            r#"<select class="select" id="day" name="day" aria-describedby="day-error" aria-invalid="true">"#,
            r#"<option value="">Choose a day</option>"#,
            r#"<option value="tue" selected>Tuesday</option>"#,
        ] {
            assert!(
                squashed.contains(expected),
                "missing {expected} in {squashed}"
            );
        }

        let calm = templates
            .render(
                "probe.html",
                minijinja::context! { ways => ways, error => "" },
            )
            .unwrap();
        assert!(
            !calm.contains("error"),
            "no error markup without an error: {calm}"
        );
    }
}
